"""Self-checks of notebook 01 (products of derivatives)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._core import CheckResult, _difference, _kind, call_learner, check_function, is_placeholder

NOTEBOOK = "01"
__all__ = ["check_gradient_ratio", "check_sigmoid_prime", "check_stall_multiple"]


def _sigmoid_prime(z: np.ndarray) -> np.ndarray:
    r"""Reference: :math:`\sigma'(z) = e^{-|z|}/(1 + e^{-|z|})^2`, which holds for every z because σ′ is even."""
    e = np.exp(-np.abs(np.asarray(z, dtype=np.float64)))
    return e / (1.0 + e) ** 2


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


STALL_CASES = (("float32", 0.9), ("float16", 0.9), ("float64", 0.9), ("float32", 0.75), ("float32", 0.5),
               ("float32", 0.3), ("float32", 0.99), ("float64", 0.625))
"""(dtype, factor) pairs of :func:`check_stall_multiple`: the factor as that dtype stores it is the input."""


def _measured_stall(dtype: str, factor: float) -> tuple[float, int]:
    """(the factor as ``dtype`` stores it, the multiple k of the smallest subnormal where factor**L stops; 0 if 0)."""
    from ..experiments.products import repeated_product  # numpy-only, imported when the check runs

    c = float(np.dtype(dtype).type(factor))
    _, stalled = repeated_product(c, dtype)
    return c, round(stalled / float(np.finfo(np.dtype(dtype)).smallest_subnormal))


def _stall_hint(c: float, got: int, expected: int) -> str:
    """What a wrong stall multiple most likely misses."""
    if expected == 0:
        return (f"for c = {c!r} <= 1/2, c·s is at most s/2, and s/2 rounds to 0 (a tie goes to the even "
                f"neighbour, which is 0): the product reaches 0")
    if got == expected - 1 and (1 - c) * expected == 0.5:
        return (f"a tie: c·{expected} lies exactly halfway between {expected - 1} and {expected}, and round-to-"
                f"nearest-even keeps the even one, so {expected} is a fixed point when it is even")
    if got == 1:
        return ("c·s does round back to s, but the product stops before it gets there: at the largest k with "
                "round(c·k) = k, the first such multiple it lands on from above")
    if got == expected - 1 and c * expected == expected - 0.5 and (1 - c) * expected < 0.5:
        return (f"double rounding: c·{expected} computed in float64 is rounded once before you round it to a "
                f"whole number. Compare (1 - c)·k with 1/2 instead (1 - c is exact here), or use fractions.Fraction(c)")
    return "the product stops at the largest k with (1 - c)·k < 1/2, or (1 - c)·k = 1/2 and k even"


def check_stall_multiple(fn: Any) -> CheckResult:
    r"""Notebook 01: ``stall_multiple(c)``, the multiple k of the smallest subnormal at which :math:`c^L` stops.

    ``c`` is a factor as a float type stores it (a Python float); the answer is 0 when repeated
    multiplication reaches exactly 0. The expected values are measured by multiplying in that type
    (:func:`vanishing.experiments.repeated_product`); the verdict names the first factor that differs,
    with a hint for the usual slips (k = 1 from "c·s rounds back to s", ties, double rounding in float64).
    """
    name = "stall_multiple"
    todo = "define stall_multiple(c) in the cell above and run it, then run this check again"
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}",
                           hint="pass the function itself: check_stall_multiple(stall_multiple)")
    for dtype, factor in STALL_CASES:
        c, expected = _measured_stall(dtype, factor)
        where = f"for c = {c!r} ({factor} stored in {dtype})"
        got, verdict = call_learner(fn, (c,), name=name, todo=todo, hint=None, where=where)
        if verdict is not None:
            return verdict
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer, float, np.floating)) \
                or float(got) != int(got):
            return CheckResult(False, name, f"{where} your function returned {got!r}; expected a whole number k",
                               hint="return the multiple k of the smallest subnormal s (the product stops at k·s)")
        if int(got) != expected:
            truth = f"the product stops at {expected}·s" if expected else "the product reaches exactly 0"
            return CheckResult(False, name, f"{where} your function returned {int(got)}; {truth}",
                               hint=_stall_hint(c, int(got), expected))
    return CheckResult(True, name, f"correct for all {len(STALL_CASES)} factors, float16, float32 and float64.")


def _gradient_ratio_setup(depth: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """The notebook's exercise network: a sigmoid MLP, ``depth`` hidden layers of 32, at initialisation, two moons."""
    from ..data import two_moons
    from ..losses import make_loss
    from ..models import mlp

    X, y = two_moons(200, noise=0.1, rng=np.random.default_rng(0))
    model = mlp([2] + [32] * depth + [1], "sigmoid", rng=np.random.default_rng(1))
    return model, make_loss("bce_logits"), X, y


def _first_last_ratio(model: Any, loss: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Reference: forward, loss, backward; ||dW of the first Dense|| / ||dW of the last Dense||."""
    from ..layers import Dense

    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    dense = [layer for layer in model if isinstance(layer, Dense)]
    return float(np.linalg.norm(dense[0].grads["W"]) / np.linalg.norm(dense[-1].grads["W"]))


def check_gradient_ratio(fn: Any, prediction: Any = None) -> CheckResult:
    r"""Notebook 01: ``first_last_ratio(model, loss, X, y)`` measures :math:`\lVert dW_1\rVert / \lVert dW_L\rVert`.

    The learner's function is run on two sigmoid MLPs at initialisation (3 and 10 hidden layers of 32
    units, weights from ``default_rng(1)``, 200 two-moons points from ``default_rng(0)``, the notebook's
    setting) and compared with the engine's own measurement. When it passes and a ``prediction`` (of
    :math:`\log_{10}` of the ratio for 10 hidden layers) is given, the verdict says how far it was.
    """
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
        setup = _gradient_ratio_setup(depth)
        expected = _first_last_ratio(*copy.deepcopy(setup))
        where = f"on the sigmoid MLP with {depth} hidden layers of 32 units"
        got, verdict = call_learner(fn, setup, name=name, todo=todo, hint=hint, where=where)
        if verdict is not None:
            return verdict
        problem = _difference(got, expected, rtol=1e-6, atol=0.0, check_dtype=False)
        if problem:
            return CheckResult(False, name, f"{where}, your function {problem}", hint=hint)
        measured[depth] = expected
    log_ratio = float(np.log10(measured[10]))
    text = f"matches the engine on both networks; for 10 hidden layers log10(ratio) = {log_ratio:.2f}"
    if is_placeholder(prediction):
        return CheckResult(True, name, text + " (no prediction given).")
    try:
        guess = float(prediction)
    except (TypeError, ValueError):
        return CheckResult(True, name, text + f"; your prediction {prediction!r} is not a number.")
    return CheckResult(True, name,
                       text + f"; your prediction {guess:.2f} was {abs(guess - log_ratio):.1f} decades away.")
