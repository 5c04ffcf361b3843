"""Self-checks of notebook 01 (products of derivatives)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..activations import Sigmoid
from ._core import CheckResult, _difference, _kind, call_learner, check_function, check_value, is_placeholder

NOTEBOOK = "01"
__all__ = ['check_sigmoid_prime', 'check_sigmoid_prime_max', 'check_underflow_depth', 'check_gradient_ratio']


def _sigmoid_prime(z: np.ndarray) -> np.ndarray:
    r"""Reference: the engine's :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`."""
    return Sigmoid().derivative(np.asarray(z, dtype=np.float64))


def check_sigmoid_prime(fn: Any) -> CheckResult:
    r"""Notebook 01: ``sigmoid_prime(z)`` returns :math:`\sigma'(z)` elementwise, also at very large :math:`|z|`.

    Ordinary inputs are tried first; then inputs as large as :math:`|z| = 750`,
    where :math:`e^{-z}` overflows float64 (for z = -750) and a formula that
    divides one infinity by another gives NaN. Numpy's overflow warnings are
    silenced while the learner's function runs: the verdict names the input instead.
    """
    ordinary = [np.zeros(1), np.array([-2.0, -0.5, 0.5, 2.0]), np.linspace(-8.0, 8.0, 17)]
    extreme = [np.array([-40.0, 40.0]), np.array([-750.0, -100.0, 100.0, 750.0])]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        result = check_function(
            fn, _sigmoid_prime, ordinary, rtol=1e-6, atol=1e-12, name="sigmoid_prime", check_dtype=False,
            hint="sigma(z) = 1 / (1 + exp(-z)) and sigma'(z) = sigma(z) * (1 - sigma(z)); it is 1/4 at z = 0",
        )
        if result.passed is not True:
            return result
        result = check_function(
            fn, _sigmoid_prime, extreme, rtol=1e-6, atol=1e-12, name="sigmoid_prime", check_dtype=False,
            hint="for z = -750, exp(-z) overflows to inf, and inf / inf is nan: compute sigma(z) first "
                 "(1 / (1 + exp(-z)) is 0 there, which is right) and return sigma * (1 - sigma)",
        )
    if result.passed is True:
        return CheckResult(True, "sigmoid_prime", "correct on ordinary inputs and at |z| up to 750.")
    return result


def check_sigmoid_prime_max(value: Any) -> CheckResult:
    r"""Notebook 01: the largest value of :math:`\sigma'(z)` (1/4, at z = 0)."""
    def verdict(v: Any) -> bool | str:
        v = float(v)
        if np.isclose(v, 0.25, rtol=1e-9, atol=0.0):
            return True
        if np.isclose(v, 0.5):
            return "0.5 is sigma(0), the value of the sigmoid itself at z = 0, not of its derivative"
        if np.isclose(v, 1.0):
            return "1 is the largest value of tanh'(z), not of sigma'(z)"
        return f"{v:.6g} is not the largest value of sigma'(z) = sigma(z)(1 - sigma(z))"

    return check_value(value, predicate=verdict, name="sigmoid_prime_max",
                       hint="s(1 - s) is a parabola in s = sigma(z), largest at s = 1/2, which happens at z = 0",
                       todo="set sigmoid_prime_max to the largest value sigma'(z) can take")


def _first_zero_depth(factor: float, dtype: np.dtype, limit: int = 100_000) -> int:
    """First L at which ``factor**L``, by repeated multiplication in ``dtype``, is exactly 0 (-1 if never)."""
    c, product = dtype.type(factor), dtype.type(1.0)
    with np.errstate(under="ignore"):  # reaching 0 is what is measured
        for depth in range(1, limit + 1):
            new = dtype.type(product * c)
            if new == 0:
                return depth
            if new == product:
                return -1
            product = new
    return -1


def check_underflow_depth(depth: Any, factor: float = 0.25, dtype: str = "float32") -> CheckResult:
    r"""Notebook 01: the first depth L at which ``factor**L`` is exactly 0 in ``dtype`` (75 for 0.25 in float32).

    Only the exact integer passes. Wrong answers that are the right answer for
    another float type, the depth where the product leaves the normal range, or
    one less than the answer get a specific hint; every hint points at ``numpy.finfo``.
    """
    dt = np.dtype(dtype)
    expected = _first_zero_depth(factor, dt)
    info = np.finfo(dt)
    others = {np.dtype(t).name: _first_zero_depth(factor, np.dtype(t)) for t in ("float16", "float32", "float64")}
    normal_depth = int(np.floor(np.log(float(info.smallest_normal)) / np.log(float(dt.type(factor))))) + 1
    finfo_hint = (f"np.finfo(np.{dt.name}).smallest_subnormal = {float(info.smallest_subnormal):.3g} is the smallest "
                  f"positive {dt.name}; rounding to nearest sends a result below half of it to 0, so look for the "
                  f"first L with {factor}**L <= smallest_subnormal / 2, and compute in {dt.name}")

    def verdict(v: Any) -> bool | str:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float, np.floating)):
            return f"{v!r} is not a whole number; give the depth as an integer"
        if float(v) != int(v):
            return f"{v} is not a whole number; the depth counts factors, so it is an integer"
        v = int(v)
        if v == expected:
            return True
        for name, other in others.items():
            if name != dt.name and v == other:
                return (f"{v} is where the product becomes 0 in {name}, not {dt.name}: make the factor "
                        f"np.{dt.name}({factor}) so that every multiplication is rounded to {dt.name}")
        if v == normal_depth:
            return (f"at L = {v} the product drops below finfo.smallest_normal = {float(info.smallest_normal):.3g} "
                    f"and becomes subnormal, but it is not 0 yet")
        if v == expected - 1:
            return f"off by one: {factor}**{v} is still a positive {dt.name}; you want the first L where it is 0"
        return f"{v} is not the first depth at which {factor}**L is exactly 0 in {dt.name}"

    return check_value(depth, predicate=verdict, name=f"underflow_depth ({factor} in {dt.name})", hint=finfo_hint,
                       todo=f"set the depth to the first L at which {factor}**L == 0 in {dt.name}")


def _first_last_ratio(model: Any, loss: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Reference: forward, loss, backward; ||dW of the first Dense|| / ||dW of the last Dense||."""
    from ..layers import Dense  # the layers module is numpy-only; imported here to keep the header short

    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    dense = [layer for layer in model if isinstance(layer, Dense)]
    return float(np.linalg.norm(dense[0].grads["W"]) / np.linalg.norm(dense[-1].grads["W"]))


def check_gradient_ratio(fn: Any, prediction: Any = None) -> CheckResult:
    r"""Notebook 01: ``first_last_ratio(model, loss, X, y)`` measures :math:`\lVert dW_1\rVert / \lVert dW_L\rVert`.

    The learner's function is run on two deep sigmoid MLPs (3 and 10 hidden
    layers) from :func:`vanishing.experiments.gradient_ratio_setup` and compared
    with the engine's own measurement. When it passes and a ``prediction``
    (of :math:`\log_{10}` of the ratio for 10 hidden layers) is given, the
    verdict also says how far the prediction was from the measurement.
    """
    from ..experiments.products import gradient_ratio_setup  # numpy-only, imported when the check runs

    name = "first_last_ratio"
    todo = "define first_last_ratio(model, loss, X, y) in the cell above and run it, then run this check again"
    hint = ("run model.forward(X), loss.forward(out, y), model.backward(loss.backward()); then take np.linalg.norm "
            "of grads['W'] of the first and of the last Dense layer (vn.models.dense_layers) and divide first by last")
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}", hint=hint)
    measured = {}
    for depth in (3, 10):
        setup = gradient_ratio_setup(depth)
        expected = _first_last_ratio(*copy.deepcopy((setup.model, setup.loss, setup.X, setup.y)))
        where = f"the sigmoid MLP with {depth} hidden layers (vn.experiments.gradient_ratio_setup({depth}))"
        got, verdict = call_learner(fn, (setup.model, setup.loss, setup.X, setup.y), name=name, todo=todo, hint=hint,
                                    where=f"on {where}")
        if verdict is not None:
            return verdict
        problem = _difference(got, expected, rtol=1e-6, atol=0.0, check_dtype=False)
        if problem:
            return CheckResult(False, name, f"on {where}, your function {problem}", hint=hint)
        measured[depth] = expected
    log_ratio = float(np.log10(measured[10]))
    text = f"matches the engine on both networks; for 10 hidden layers log10(ratio) = {log_ratio:.2f}"
    if is_placeholder(prediction):
        return CheckResult(True, "first_last_ratio", text + " (no prediction given).")
    try:
        guess = float(prediction)
    except (TypeError, ValueError):
        return CheckResult(True, "first_last_ratio", text + f"; your prediction {prediction!r} is not a number.")
    return CheckResult(True, "first_last_ratio",
                       text + f"; your prediction {guess:.2f} was {abs(guess - log_ratio):.1f} decades away.")


