"""Self-checks of notebook 05 (ELU and zero-centred activations)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._core import Args, CheckResult, _difference, _kind, call_learner, check_function, is_placeholder

NOTEBOOK = "05"
__all__ = ["check_elu_grad_from_output", "check_hidden_means"]


def _elu_derivative(out: np.ndarray, z: np.ndarray, alpha: float) -> np.ndarray:
    r"""Reference: the engine's :math:`f'(z)`, 1 for z > 0 and :math:`\alpha e^z` otherwise (``out`` unused)."""
    from ..activations import ELU

    return ELU(alpha).derivative(np.asarray(z, dtype=np.float64))


def _elu_case(z: list[float], alpha: float) -> Args:
    from ..activations import ELU

    z_arr = np.array(z, dtype=np.float64)
    return Args(ELU(alpha).fn(z_arr), z_arr, alpha)


def check_elu_grad_from_output(fn: Any) -> CheckResult:
    r"""Notebook 05: ``elu_grad_from_output(out, z, alpha)`` returns ELU's :math:`f'(z)` from the forward output.

    Compared with the engine's ``ELU(alpha).derivative(z)`` (:math:`\alpha e^z`
    for :math:`z \le 0`, 1 for :math:`z > 0`) on ordinary inputs with
    α = 1, then α = 0.5 and 2 (a formula that only works for α = 1 fails
    there), then large negative z (−40, −800) and large positive z (800).
    z = 0 itself (the kink) is not tested. The tolerance is absolute
    :math:`10^{-12}` plus relative :math:`10^{-6}`: :math:`f(z) + \alpha` loses
    relative precision for very negative z, where :math:`\alpha e^z` is tiny,
    but not absolute precision. Overflow warnings are silenced while the
    learner's function runs: the verdict names the input instead.
    """
    stages = [
        ("ordinary inputs, alpha = 1", [_elu_case([-2.0, -0.5, 0.5, 2.0], 1.0), _elu_case([-1.0, 3.0], 1.0)],
         "for z <= 0, f(z) = alpha * (e^z - 1), so alpha * e^z = f(z) + alpha; for z > 0 the derivative is 1"),
        ("alpha = 0.5 and alpha = 2", [_elu_case([-2.0, -0.5, 0.5, 2.0], 0.5), _elu_case([-2.0, -0.5, 0.5, 2.0], 2.0)],
         "on the negative side alpha * e^z = out + alpha: add alpha itself (not 1), and do not multiply by it"),
        ("large |z|", [_elu_case([-40.0, -800.0, 800.0], 1.0), _elu_case([-40.0, -800.0, 5.0, 800.0], 1.5)],
         "use np.where(z > 0, 1.0, out + alpha): it needs no exponential at all, so nothing can overflow"),
    ]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for label, inputs, hint in stages:
            result = check_function(fn, _elu_derivative, inputs, rtol=1e-6, atol=1e-12, name="elu_grad_from_output",
                                    check_dtype=False, hint=hint)
            if result.passed is not True:
                if result.passed is False:
                    result.message = f"[{label}] {result.message}"
                return result
    text = "correct for alpha = 0.5, 1, 1.5 and 2, and for z from -800 to 800."
    if not _uses_output(fn):
        text += (" Note: your result does not change when out changes, so it recomputes e^z; the point of the "
                 "exercise is that backward can reuse the forward output (out + alpha) and skip the exponential.")
    return CheckResult(True, "elu_grad_from_output", text)


def _uses_output(fn: Any) -> bool:
    """Does the learner's result on the negative side depend on ``out``? (Called only after the check passed.)"""
    case = _elu_case([-2.0, -0.5, 1.0], 1.0)
    out, z, alpha = case.args
    try:
        with np.errstate(all="ignore"):
            plain = np.asarray(fn(out.copy(), z.copy(), alpha), dtype=np.float64)
            shifted = np.asarray(fn(out + 0.25, z.copy(), alpha), dtype=np.float64)
    except Exception:  # noqa: BLE001 - only a remark depends on this; the verdict is already given
        return True
    return not np.array_equal(plain, shifted)


def _hidden_means(model: Any, X: np.ndarray) -> np.ndarray:
    """Reference: each activation layer's mean output, from :func:`vanishing.diagnostics.collect_activations`."""
    from ..activations import Activation
    from ..diagnostics import collect_activations

    return np.array([la.out.mean() for la in collect_activations(model, X) if isinstance(la.layer, Activation)])


def check_hidden_means(fn: Any) -> CheckResult:
    r"""Notebook 05: ``hidden_means(model, X)`` returns the mean output of each hidden activation layer, shape (depth,).

    Run on the networks of :func:`vanishing.experiments.bias_shift_setup` for
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
        model, X = bias_shift_setup(activation)
        expected = _hidden_means(model, X)
        where = f"the {activation} network of vn.experiments.bias_shift_setup({activation!r})"
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
