r"""Weight initializers.

The shared interface
--------------------
Every initializer is a function ``f(shape, *, rng, **options) -> ndarray`` that
draws a float64 array of ``shape = (fan_in, fan_out)`` from ``rng`` (a
``numpy.random.Generator``: there is no global randomness).

Variance rules, for a layer with ``fan_in`` inputs and ``fan_out`` outputs:

* Glorot/Xavier (Glorot and Bengio, 2010): Var[W] = gain² · 2 / (fan_in + fan_out),
  so that both the forward activations and the backward gradients keep their
  variance across layers of a tanh network near z = 0.
  Uniform: limit = gain · sqrt(6 / (fan_in + fan_out)).
* He/Kaiming (He et al., 2015): Var[W] = gain² · 2 / fan_in, which compensates
  ReLU zeroing half of its inputs. Uniform: limit = gain · sqrt(6 / fan_in).
* ``uniform``: U(−limit, limit), Var = limit²/3; ``normal``: N(0, std²).

:data:`INITIALIZERS` maps names to functions; :func:`initialize` draws by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validate as check


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"shape={shape!r} must be a tuple (fan_in, fan_out) of two positive integers")
    fan_in, fan_out = shape
    check.positive("shape[0] (fan_in)", fan_in, integer=True)
    check.positive("shape[1] (fan_out)", fan_out, integer=True)
    return fan_in, fan_out


def uniform(shape: tuple[int, int], *, rng: np.random.Generator, limit: float = 1.0) -> np.ndarray:
    """U(−limit, limit); Var = limit² / 3."""
    _fans(shape)
    check.rng("rng", rng)
    check.non_negative("limit", limit)
    return rng.uniform(-limit, limit, size=shape)


def normal(shape: tuple[int, int], *, rng: np.random.Generator, std: float = 1.0) -> np.ndarray:
    """N(0, std²)."""
    _fans(shape)
    check.rng("rng", rng)
    check.non_negative("std", std)
    return rng.normal(0.0, std, size=shape)


def glorot_uniform_limit(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """gain · sqrt(6 / (fan_in + fan_out)): the Glorot uniform bound."""
    return gain * float(np.sqrt(6.0 / (fan_in + fan_out)))


def glorot_uniform(shape: tuple[int, int], *, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier uniform: U(±gain·sqrt(6/(fan_in+fan_out)))."""
    fan_in, fan_out = _fans(shape)
    check.positive("gain", gain)
    return uniform(shape, rng=rng, limit=glorot_uniform_limit(fan_in, fan_out, gain))


def glorot_normal(shape: tuple[int, int], *, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier normal: N(0, gain²·2/(fan_in+fan_out))."""
    fan_in, fan_out = _fans(shape)
    check.positive("gain", gain)
    return normal(shape, rng=rng, std=gain * float(np.sqrt(2.0 / (fan_in + fan_out))))


def he_uniform(shape: tuple[int, int], *, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """He/Kaiming uniform: U(±gain·sqrt(6/fan_in))."""
    fan_in, _ = _fans(shape)
    check.positive("gain", gain)
    return uniform(shape, rng=rng, limit=gain * float(np.sqrt(6.0 / fan_in)))


def he_normal(shape: tuple[int, int], *, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """He/Kaiming normal: N(0, gain²·2/fan_in)."""
    fan_in, _ = _fans(shape)
    check.positive("gain", gain)
    return normal(shape, rng=rng, std=gain * float(np.sqrt(2.0 / fan_in)))


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "uniform": uniform,
    "normal": normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}
"""Name -> initializer function."""

_OPTIONS = {"uniform": {"limit"}, "normal": {"std"}}


def initialize(name: str, shape: tuple[int, int], *, rng: np.random.Generator, **options: Any) -> np.ndarray:
    """Draw an array by initializer name; ``options`` are that initializer's keywords.

    ``uniform`` takes ``limit``, ``normal`` takes ``std``, the Glorot and He
    schemes take ``gain``.
    """
    fn = check.lookup("init", name, INITIALIZERS)
    allowed = _OPTIONS.get(name, {"gain"})
    for key in options:
        if key not in allowed:
            raise TypeError(f"init={name!r} does not take the option {key!r}; allowed: {', '.join(sorted(allowed))}")
    return fn(shape, rng=rng, **options)
