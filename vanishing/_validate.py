"""Argument checks shared by every module.

Each check raises ``ValueError`` or ``TypeError`` with a message that names the
argument, the value received and what is allowed, so that a learner who passes
something wrong sees at once what to change.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def _show(value: Any) -> str:
    """Short repr of a value for an error message."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Check that ``value`` is one of the ``allowed`` names; return it."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={_show(value)} is not known; allowed: {', '.join(map(repr, allowed))}")
    return value


def lookup(name: str, value: Any, registry: Mapping[str, Any]) -> Any:
    """Return ``registry[value]``, or raise an error listing the allowed keys."""
    return registry[choice(name, value, registry.keys())]


def number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, integer: bool = False) -> Any:
    """Check that ``value`` is a finite real number (an integer if asked) in a range."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, (bool, np.bool_)) or not ok_type:
        raise TypeError(f"{name}={_show(value)} must be {kind}, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"{name}={_show(value)} must be finite")
    lo_bad = low is not None and (value <= low if low_open else value < low)
    hi_bad = high is not None and (value >= high if high_open else value > high)
    if lo_bad or hi_bad:
        left = "(" if low_open else "["
        right = ")" if high_open or high is None else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name}={_show(value)} is out of range; allowed: {left}{lo}, {hi}{right}")
    return value


def positive(name: str, value: Any, *, integer: bool = False) -> Any:
    """Check that ``value`` is a number strictly greater than zero."""
    return number(name, value, low=0, low_open=True, integer=integer)


def non_negative(name: str, value: Any, *, integer: bool = False) -> Any:
    """Check that ``value`` is a number greater than or equal to zero."""
    return number(name, value, low=0, integer=integer)


def probability(name: str, value: Any) -> Any:
    """Check that ``value`` lies in [0, 1]."""
    return number(name, value, low=0, high=1)


def rng(name: str, value: Any) -> np.random.Generator:
    """Check that ``value`` is a ``numpy.random.Generator``."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(
            f"{name}={_show(value)} must be a numpy.random.Generator, "
            f"for example numpy.random.default_rng(0)"
        )
    return value


def float_dtype(name: str, value: Any) -> np.dtype:
    """Check that ``value`` names float16, float32 or float64; return the dtype."""
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if dtype is None or dtype.type not in FLOAT_DTYPES:
        raise TypeError(f"{name}={_show(value)} is not an allowed dtype; allowed: float16, float32, float64")
    return dtype


def array(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None,
          floating: bool = True, finite: bool = True, nonempty: bool = True) -> np.ndarray:
    """Check an input array: a numpy array, of a floating dtype, finite, non-empty.

    Returns the array unchanged (no copy): the checks only read it.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if value.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} has shape {value.shape} ({value.ndim} dimensions); expected {want} dimensions")
    if nonempty and value.size == 0:
        raise ValueError(f"{name} is empty (shape {value.shape}); it needs at least one element")
    if floating and value.dtype.type not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} has dtype {value.dtype}; allowed: float16, float32, float64 "
            f"(convert with {name}.astype(numpy.float64))"
        )
    if finite and floating and not np.isfinite(value).all():
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all values must be finite")
    return value
