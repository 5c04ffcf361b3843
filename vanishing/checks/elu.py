"""Self-checks of notebook 05 (ELU and zero-centred activations)."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import numpy as np

from ._core import CheckResult, _difference, _kind, call_learner, is_placeholder

NOTEBOOK = "05"
__all__ = ["ZERO_MEAN_ALPHA", "check_hidden_means", "check_zero_mean_alpha"]


def _elu_mean(alpha: float) -> float:
    r""":math:`E[\mathrm{ELU}_\alpha(z)]` for :math:`z \sim N(0, 1)`, in closed form:
    :math:`\varphi(0) - \alpha(\tfrac12 - e^{1/2}\Phi(-1))`."""
    phi0 = 1.0 / math.sqrt(2.0 * math.pi)
    return phi0 - alpha * (0.5 - math.exp(0.5) * 0.5 * math.erfc(1.0 / math.sqrt(2.0)))


ZERO_MEAN_ALPHA = (1.0 / math.sqrt(2.0 * math.pi)) / (0.5 - math.exp(0.5) * 0.5 * math.erfc(1.0 / math.sqrt(2.0)))
"""The ELU α whose mean output is 0 for standard normal inputs (about 1.6733, SELU's α)."""


def check_zero_mean_alpha(value: Any) -> CheckResult:
    r"""Notebook 05, Exercise 1: the α for which :math:`E[\mathrm{ELU}_\alpha(z)] = 0`, :math:`z \sim N(0, 1)`.

    Passes within a relative 10⁻³ of :data:`ZERO_MEAN_ALPHA`. A wrong number gets
    the mean it gives (from the closed form :func:`_elu_mean`) and which way to
    move; specific hints for α = 1, for the mean at α = 1 given instead of an α,
    for a non-positive α, and for a value within 2 % (an integral not accurate
    enough).
    """
    name = "zero_mean_alpha"
    hint = ("the mean is linear in α: E[f(z)] = E[max(z, 0)] - α E[1 - e^z; z < 0]; compute both expectations "
            "(the quadrature grid of section 3 will do) and solve for the α that makes it 0")
    if is_placeholder(value):
        return CheckResult(None, name, "not attempted yet: set zero_mean_alpha to your number and run the cell")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return CheckResult(False, name, f"expected a number, got {_kind(value)}", hint=hint)
    alpha = float(value)
    if abs(alpha / ZERO_MEAN_ALPHA - 1) <= 1e-3:
        return CheckResult(True, name, f"α = {alpha:.6f} gives E[f(z)] = {_elu_mean(alpha):+.1e} for z ~ N(0, 1).")
    if alpha <= 0:
        return CheckResult(False, name, f"α = {alpha:g}: ELU's α is positive (the negative side bends down to -α)",
                           hint=hint)
    if abs(alpha - _elu_mean(1.0)) < 5e-3:
        return CheckResult(False, name, f"{alpha:.4f} is ELU's mean output at α = 1, not an α", hint=hint)
    mean = _elu_mean(alpha)
    way = "larger" if mean > 0 else "smaller"
    message = f"at α = {alpha:g} the mean output is {mean:+.4f}, not 0: α must be {way}"
    if abs(alpha / ZERO_MEAN_ALPHA - 1) <= 0.02:
        message += " (you are within 2 %: make your integral more accurate, e.g. a finer grid or a wider range)"
    elif abs(alpha - 1.0) < 1e-9:
        message += " (α = 1 is the usual choice, and section 3's table shows its mean)"
    return CheckResult(False, name, message, hint=hint)


def _hidden_means(model: Any, X: np.ndarray) -> np.ndarray:
    """Reference: each activation layer's mean output, from :func:`vanishing.diagnostics.collect_activations`."""
    from ..activations import Activation
    from ..diagnostics import collect_activations

    return np.array([la.out.mean() for la in collect_activations(model, X) if isinstance(la.layer, Activation)])


def check_hidden_means(fn: Any) -> CheckResult:
    r"""Notebook 05: ``hidden_means(model, X)`` returns the mean output of each hidden activation layer, shape (depth,).

    Run on the networks of ``vanishing.experiments.bias_shift_setup(activation, rng=default_rng(0))`` for
    ReLU, ELU and SELU and compared with the engine's diagnostics
    (:func:`vanishing.diagnostics.collect_activations`); each call gets its own
    copy of the model. Specific hints for per-unit means (a 2-D answer), for
    means of the Dense outputs (the pre-activations), and for a list with
    every layer in it.
    """
    from ..experiments.elu import bias_shift_setup  # numpy only; imported when the check runs

    name = "hidden_means"
    todo = "define hidden_means(model, X) in the cell above and run it, then run this check again"
    hint = ("loop over the layers: a = layer.forward(a); after each layer that is an activation "
            "(isinstance(layer, vn.activations.Activation)) append a.mean(), the mean over examples and units")
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}", hint=hint)
    for activation in ("relu", "elu", "selu"):
        model, X = bias_shift_setup(activation, rng=np.random.default_rng(0))
        expected = _hidden_means(model, X)
        where = f"the {activation} network of vn.experiments.bias_shift_setup({activation!r}, rng=...)"
        got, verdict = call_learner(fn, (copy.deepcopy(model), X.copy()), name=name, todo=todo, hint=hint,
                                    where=f"on {where}")
        if verdict is not None:
            return verdict
        try:
            got_arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return CheckResult(False, name, f"on {where}, your function returned {_kind(got)}; expected "
                               f"{len(expected)} numbers, one per hidden layer", hint=hint)
        specific = _diagnose_means(got_arr, expected, model, X)
        if specific:
            return CheckResult(False, name, f"on {where}, {specific}", hint=hint)
        problem = _difference(got_arr, expected, rtol=1e-9, atol=1e-12, check_dtype=False)
        if problem:
            return CheckResult(False, name, f"on {where}, your function {problem}", hint=hint)
    return CheckResult(True, name, "matches the engine's diagnostics on the ReLU, ELU and SELU networks.")


def _diagnose_means(got: np.ndarray, expected: np.ndarray, model: Any, X: np.ndarray) -> str | None:
    """A specific explanation for the common wrong shapes and quantities, or None."""
    from ..activations import Activation
    from ..diagnostics import collect_activations

    depth = expected.shape[0]
    if got.ndim == 2 and depth in got.shape:
        return ("your answer is 2-D: it looks like one mean per unit; take the mean over the examples and the "
                "units together (a.mean()), one number per hidden layer")
    if got.shape == (2 * depth,):
        return (f"you returned {2 * depth} numbers for {depth} hidden layers: count only the activation layers' "
                "outputs, not the Dense layers'")
    layers = collect_activations(model, X)
    pre = np.array([la.x.mean() for la in layers if isinstance(la.layer, Activation)])
    if got.shape == pre.shape and np.allclose(got, pre, rtol=1e-9, atol=1e-12):
        return ("these are the means of the pre-activations z (the Dense outputs); measure the activations' "
                "outputs a = f(z)")
    everything = np.array([la.out.mean() for la in layers])
    if got.shape == everything.shape and got.shape != expected.shape:
        return (f"you returned {got.shape[0]} numbers, one per layer of the model; keep only the "
                f"{depth} activation layers")
    return None
