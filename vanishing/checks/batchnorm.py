"""Self-checks of notebook 06 (batch normalization)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._core import Args, CheckResult, _fmt, _kind, call_learner, check_function, is_placeholder

NOTEBOOK = "06"
__all__ = ["check_batchnorm_backward", "check_batchnorm_eval", "check_running_mean_steps"]

_BACKWARD_TODO = "define batchnorm_backward(dout, x_hat, inv_std, gamma) above, run it, then run this check again"
_BACKWARD_HINT = ("with g = dout * gamma: dx = inv_std / N * (N * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0)),"
                  " dgamma = (dout * x_hat).sum(axis=0), dbeta = dout.sum(axis=0); every sum runs over the batch "
                  "axis 0")


def _backward_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Test inputs, simplest first: (description, x, dout, gamma, beta)."""
    rng = np.random.default_rng(6)
    cases = []
    x = rng.normal(0.0, 1.0, (4, 3))
    cases.append(("N=4, D=3, gamma = 1", x, rng.normal(0.0, 1.0, (4, 3)), np.ones(3), np.zeros(3)))
    x = rng.normal(0.0, 1.0, (8, 5)) * np.array([0.1, 1.0, 5.0, 20.0, 2.0]) + np.array([3.0, -1.0, 0.0, 50.0, 7.0])
    cases.append(("N=8, D=5, features on different scales, gamma of both signs", x,
                  rng.normal(0.0, 1.0, (8, 5)), np.array([1.5, -0.7, 2.0, 0.3, -1.2]), rng.normal(0.0, 1.0, 5)))
    x = rng.normal(0.0, 1.0, (16, 2))
    cases.append(("N=16, D=2, dout the same for every example (dx must be 0)", x,
                  np.tile(np.array([[0.8, -1.3]]), (16, 1)), np.array([2.0, 0.5]), np.zeros(2)))
    cases.append(("N=2, D=4, the smallest batch", rng.normal(0.0, 2.0, (2, 4)), rng.normal(0.0, 1.0, (2, 4)),
                  rng.uniform(0.5, 2.0, 4), rng.normal(0.0, 1.0, 4)))
    return cases


def _numerical(x: np.ndarray, dout: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
               eps: float) -> dict[str, np.ndarray]:
    """Finite-difference gradients of sum(BN(x) * dout) (train mode) with respect to x, gamma and beta."""
    from ..gradcheck import numerical_gradient
    from ..layers import BatchNorm

    bn = BatchNorm(x.shape[1], eps=eps)
    bn.params["gamma"][:] = gamma
    bn.params["beta"][:] = beta
    x = x.copy()

    def scalar() -> float:
        return float(np.sum(bn.forward(x) * dout))

    return {"dx": numerical_gradient(scalar, x), "dgamma": numerical_gradient(scalar, bn.params["gamma"]),
            "dbeta": numerical_gradient(scalar, bn.params["beta"])}


def check_batchnorm_backward(fn: Any) -> CheckResult:
    r"""Notebook 06: ``batchnorm_backward(dout, x_hat, inv_std, gamma) -> (dx, dgamma, dbeta)`` in training mode.

    The inputs are what the engine's ``BatchNorm.forward`` keeps in its cache
    (``x_hat`` (N, D), ``inv_std`` (D,)) and the layer's ``gamma`` (D,). On four
    batches (simplest first, including a constant ``dout``, whose ``dx`` is 0,
    and a batch of two) the three results are compared with centred finite
    differences of the engine's forward pass (a gradient check, relative
    error below 1e-6) and with the engine's own backward. The verdict names
    the first batch and the first of dx, dgamma, dbeta that is wrong.
    """
    from ..gradcheck import rel_error
    from ..layers import BatchNorm

    name = "batchnorm_backward"
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {_BACKWARD_TODO}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}",
                           hint="pass the function itself: check_batchnorm_backward(batchnorm_backward)")
    cases = _backward_cases()
    for description, x, dout, gamma, beta in cases:
        bn = BatchNorm(x.shape[1])
        bn.params["gamma"][:] = gamma
        bn.params["beta"][:] = beta
        bn.forward(x)
        x_hat, inv_std = bn.cache["x_hat"].copy(), bn.cache["inv_std"].copy()
        engine = dict(zip(("dx", "dgamma", "dbeta"),
                          (bn.backward(dout), bn.grads["gamma"].copy(), bn.grads["beta"].copy()), strict=True))
        args = (dout.copy(), x_hat.copy(), inv_std.copy(), gamma.copy())
        given = copy.deepcopy(args)
        result, verdict = call_learner(fn, tuple(given), name=name, todo=_BACKWARD_TODO, hint=_BACKWARD_HINT,
                                       where=f"(batch: {description})")
        if verdict is not None:
            return verdict
        if any(not np.array_equal(a, b) for a, b in zip(given, args, strict=True)):
            return CheckResult(False, name, f"your function changed one of its inputs in place ({description})",
                               hint="compute new arrays instead of assigning into dout, x_hat, inv_std or gamma")
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            what = f"{len(result)} items" if isinstance(result, (tuple, list)) else _kind(result)
            return CheckResult(False, name, f"returned {what}; expected three: (dx, dgamma, dbeta)",
                               hint="end with: return dx, dgamma, dbeta")
        numerical = _numerical(x, dout, gamma, beta, bn.eps)
        for key, got in zip(("dx", "dgamma", "dbeta"), result, strict=True):
            want = engine[key]
            got_arr = np.asarray(got) if isinstance(got, (np.ndarray, list, tuple, float, int)) else None
            if got_arr is None or got_arr.dtype.kind not in "iuf":
                return CheckResult(False, name, f"{key} is {_kind(got)}; expected an array of shape {want.shape} "
                                                f"(batch: {description})", hint=_BACKWARD_HINT)
            if got_arr.shape != want.shape:
                return CheckResult(False, name, f"{key} has shape {got_arr.shape}; expected {want.shape} "
                                                f"(batch: {description})", hint=_BACKWARD_HINT)
            error = rel_error(got_arr, numerical[key], zero_tol=1e-8)
            if error > 1e-6:
                return CheckResult(False, name, f"{key} is wrong for the batch '{description}': relative error "
                                                f"{error:.1e} against finite differences (a correct backward gives "
                                                f"below 1e-6); yours {_fmt(got_arr)}, expected {_fmt(want)}",
                                   hint=_BACKWARD_HINT)
    return CheckResult(True, name, f"dx, dgamma and dbeta agree with finite differences (relative error < 1e-6) "
                                   f"and with the engine on all {len(cases)} batches.")


def _eval_reference(x: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray, gamma: np.ndarray,
                    beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Reference: the engine's BatchNorm in evaluation mode with these running statistics."""
    from ..layers import BatchNorm

    bn = BatchNorm(len(gamma), eps=eps)
    bn.params["gamma"][:] = gamma
    bn.params["beta"][:] = beta
    bn.buffers["running_mean"][:] = running_mean
    bn.buffers["running_var"][:] = running_var
    return bn.eval().forward(x)


def check_batchnorm_eval(fn: Any) -> CheckResult:
    r"""Notebook 06: ``batchnorm_eval(x, running_mean, running_var, gamma, beta, eps)`` in evaluation mode.

    Compared with the engine's ``BatchNorm`` in evaluation mode on a single
    example (where batch statistics would not even exist), on a batch whose own
    mean and variance differ from the running ones, and on a unit with a tiny
    running variance (where leaving out :math:`\epsilon` shows).
    """
    rng = np.random.default_rng(60)
    inputs = [
        Args(np.array([[3.0, -1.0]]), np.array([1.0, 0.0]), np.array([4.0, 0.25]), np.array([2.0, 1.0]),
             np.array([0.5, 0.0]), 1e-5),
        Args(rng.normal(5.0, 3.0, (6, 3)), np.array([0.5, -2.0, 10.0]), np.array([1.5, 0.3, 9.0]),
             np.array([1.0, -0.5, 2.0]), np.array([0.0, 1.0, -3.0]), 1e-5),
        Args(np.array([[0.002, 1.0], [-0.001, 2.0]]), np.array([0.0, 1.5]), np.array([1e-6, 1.0]),
             np.array([1.0, 1.0]), np.array([0.0, 0.0]), 1e-5),
    ]
    # rtol 1e-4: the first two inputs accept a formula without eps (it moves them by about 1e-5); the third,
    # whose running variance is ten times smaller than eps, does not
    return check_function(
        fn, _eval_reference, inputs, rtol=1e-4, atol=1e-9, name="batchnorm_eval", check_dtype=False,
        todo="define batchnorm_eval(x, running_mean, running_var, gamma, beta, eps) above and run it",
        hint="evaluation mode uses the running statistics, never the batch's own: "
             "gamma * (x - running_mean) / sqrt(running_var + eps) + beta, feature by feature",
    )


def _steps_to_settle(momentum: float = 0.1, target: float = 5.0, tolerance: float = 0.01) -> int:
    """Reference: training-mode forwards of the engine's BatchNorm until its running mean is within ``tolerance``."""
    from ..layers import BatchNorm

    bn = BatchNorm(1, momentum=momentum)
    batch = np.array([[target - 1.0], [target + 1.0]])  # batch mean: target
    for k in range(1, 10_000):
        bn.forward(batch)
        if abs(bn.buffers["running_mean"][0] - target) < tolerance * target:
            return k
    raise RuntimeError("the running mean never settled")  # not reached for 0 < momentum <= 1


def check_running_mean_steps(value: Any) -> CheckResult:
    r"""Notebook 06: the number of training batches after which a running mean that starts at 0 is within
    1 % of a batch mean that stays at 5, with momentum :math:`m = 0.1`.

    The reference runs the engine's ``BatchNorm``. After k batches the running
    mean is :math:`5\,(1 - (1-m)^k)`, within 1 % once :math:`(1-m)^k < 0.01`: k = 44.
    Usual slips get their own message: :math:`1/m = 10` (the time scale of the
    average, not the time to 1 %), :math:`\ln 100/m \approx 46` (the
    approximation :math:`\ln(1-m) \approx -m`), and off by one.
    """
    name = "running_mean_steps"
    if is_placeholder(value):
        return CheckResult(None, name, "not attempted yet: set steps_to_one_percent to a whole number and run the cell")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        return CheckResult(False, name, f"expected a whole number of batches, got {_kind(value)}")
    expected = _steps_to_settle()
    formula = f"0.9^{expected} = {0.9 ** expected:.4f} < 0.01 <= 0.9^{expected - 1} = {0.9 ** (expected - 1):.4f}"
    if value != int(value):
        return CheckResult(False, name, f"{value:g} is not a whole number: a running mean changes once per batch",
                           hint="find the first whole k with 0.9**k < 0.01")
    k = int(value)
    if k == expected:
        return CheckResult(True, name, f"{k} batches: the running mean is 5 (1 - 0.9^k), and {formula}. "
                                       "The engine's BatchNorm agrees.")
    slips = {
        10: "1/m = 10 batches is the time scale of the average (after 10 batches the start still weighs "
            "0.9^10 = 35 %), not the time to come within 1 %",
        46: "ln(100)/m = 46 uses ln(1 - m) ≈ -m; close, but ln(0.9) = -0.105, not -0.1",
        expected - 1: "one batch short: after that many batches 0.9^k is still above 0.01",
        expected + 1: "one batch too many: the running mean is already within 1 % a batch earlier",
    }
    if k in slips:
        why = slips[k]
    elif k < expected:
        why = f"after {k} batches the running mean is {5 * (1 - 0.9 ** k):.3f}, still more than 1 % below 5"
    else:
        why = f"after {k} batches the running mean is within 1 %, but it already was {k - expected} batches earlier"
    return CheckResult(False, name, f"{k} is not right: {why}.",
                       hint="after k batches the running mean is 5 * (1 - 0.9**k); solve 0.9**k < 0.01 for the "
                            "smallest whole k")
