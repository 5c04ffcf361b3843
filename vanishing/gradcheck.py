r"""Gradient checking with centred finite differences.

The numerical derivative of a scalar function f at x along coordinate i is

.. math:: \frac{f(x + h e_i) - f(x - h e_i)}{2h},

whose error is O(h²). In float64 with h = 1e-6 a correct backward pass agrees
with it to a relative error near 1e-9 or below; a wrong one is off by far more.

:func:`rel_error` compares two arrays as ``‖a − b‖ / max(‖a‖ + ‖b‖, tiny)``,
one number for the whole array (so a tiny entry cannot dominate). Gradients that
are zero on both sides (below ``ZERO_TOL`` = 1e-8) count as agreeing.

:func:`check_layer` and :func:`check_model` return the relative error of every
parameter gradient and of the input gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validate as check


def rel_error(a: np.ndarray, b: np.ndarray, *, zero_tol: float = 0.0) -> float:
    """Relative error ‖a − b‖ / max(‖a‖ + ‖b‖, 1e-300) of two arrays of the same shape.

    When both norms are at most ``zero_tol`` the two are taken to agree (error 0):
    an exactly zero gradient (a bias straight before BatchNorm) against a finite
    difference that is zero up to rounding noise (about 1e-10 with h = 1e-6).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a has shape {a.shape} but b has shape {b.shape}; they must match")
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a <= zero_tol and norm_b <= zero_tol:
        return 0.0
    return float(np.linalg.norm(a - b) / max(norm_a + norm_b, 1e-300))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of ``f()`` with respect to the array ``x``, changed in place.

    ``f`` takes no argument: it reads ``x`` (for example a layer's weight
    array) each time it is called. ``x`` is restored exactly after each probe.
    """
    check.array("x", x, finite=True)
    check.positive("h", h)
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _frozen_randomness(layer: Any) -> Callable[[], None]:
    """Return a function that resets every generator in the layer to its present state.

    A layer that draws random numbers in forward (RReLU in training mode) must
    see the same draws on every probe, or the finite differences are noise.
    """
    layers = list(layer) if hasattr(layer, "layers") else [layer]
    saved = [(lay.rng, lay.rng.bit_generator.state) for lay in layers if isinstance(getattr(lay, "rng", None),
                                                                                    np.random.Generator)]

    def reset() -> None:
        for gen, state in saved:
            gen.bit_generator.state = state

    return reset


ZERO_TOL = 1e-8
"""Gradients whose analytic and numerical norms are both below this count as agreeing zeros."""


def check_layer(layer: Any, x: np.ndarray, *, rng: np.random.Generator, h: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``layer.backward`` against finite differences.

    The scalar checked is ``sum(forward(x) * R)`` with a fixed random R, so every
    output contributes. Returns ``{"x": err, "<param>": err, ...}``. Use float64.
    """
    check.rng("rng", rng)
    reset = _frozen_randomness(layer)
    reset()
    out = layer.forward(x)
    weights = rng.standard_normal(out.shape)

    def scalar() -> float:
        reset()
        return float(np.sum(layer.forward(x) * weights))

    reset()
    layer.forward(x)
    dx = layer.backward(weights.astype(out.dtype))
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    errors = {"x": rel_error(dx, numerical_gradient(scalar, x, h), zero_tol=ZERO_TOL)}
    for name, p in layer.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(scalar, p, h), zero_tol=ZERO_TOL)
    return errors


def check_model(model: Any, loss: Any, x: np.ndarray, target: np.ndarray, *, h: float = 1e-6) -> dict[str, float]:
    """Relative errors of a model's gradients of ``loss(model(x), target)``.

    Returns ``{"x": err, "<param>": err, ...}`` for every parameter of the model.
    """
    reset = _frozen_randomness(model)

    def scalar() -> float:
        reset()
        return loss.forward(model.forward(x), target)

    scalar()
    dx = model.backward(loss.backward())
    analytic = {name: g.copy() for name, g in model.grads.items()}
    errors = {"x": rel_error(dx, numerical_gradient(scalar, x, h), zero_tol=ZERO_TOL)}
    for name, p in model.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(scalar, p, h), zero_tol=ZERO_TOL)
    return errors
