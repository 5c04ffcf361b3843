"""A faster forward and backward pass for the sigmoid, where deep sigmoid networks spend most of their time.

Nothing here defines what the engine computes: :mod:`vanishing.activations` does, one formula per
activation. :class:`Sigmoid` below gives the same numbers as that formula, bit for bit
(``tests/test_fast.py`` checks it over the whole range of float32 and float64), and only changes when and how
they are computed:

* the derivative is computed in ``forward``, sharing the exponential e^-|z| with the function value, and
  kept for ``backward`` (the readable layer computes e^-|z| twice: once in ``fn``, once in ``derivative``);
* float32 and float64 arrays skip the dtype rule's conversions, and temporaries are reused in place.

Tanh has no twin: computing 1/cosh^2(z) in forward instead of backward measured no faster. The column
"readable/engine" of ``python benchmarks/run.py --only engine`` times the engine with and without the twin
(on the project's machine: 1.20-1.23 for the 20x32 sigmoid network, 1.00 for the 8x64 tanh network, which
has nothing swapped).

:func:`speed_up` swaps it into a network built by :func:`vanishing.models.mlp`. Any other input (float16,
integers, a single number) goes to the readable formulas.
"""

from __future__ import annotations

import numpy as np

from . import activations
from .layers import Layer

_FAST_DTYPES = (np.float32, np.float64)


class Sigmoid(activations.Sigmoid):
    """:class:`vanishing.activations.Sigmoid` with e^-|z| computed once per forward, for value and derivative."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        if not (isinstance(z, np.ndarray) and z.dtype.type in _FAST_DTYPES):
            self.cache.pop("derivative", None)
            return super().forward(z)
        e = np.abs(z)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e^-|z|, never above 1
        d = e + 1
        out = np.maximum(e, z >= 0)  # where(z < 0, e, 1): the numerator of Sigmoid.fn
        out /= d
        derivative = d * d
        np.divide(e, derivative, out=derivative)  # e / (1 + e)^2, Sigmoid.derivative
        self.cache["z"], self.cache["derivative"] = z, derivative
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        derivative = self.cache.get("derivative")
        return super().backward(dout) if derivative is None else dout * derivative

    def __repr__(self) -> str:
        return "Sigmoid()"


_FASTER = {activations.Sigmoid: Sigmoid}


def speed_up(layer: Layer) -> Layer:
    """The faster twin of a plain Sigmoid or Tanh layer (the same numbers); any other layer as it is."""
    faster = _FASTER.get(type(layer))
    return faster() if faster is not None else layer
