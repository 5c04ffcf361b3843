"""Self-checks of notebook 04 (leaky variants)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._core import Args, CheckResult, _fmt, check_function, is_placeholder

NOTEBOOK = "04"
__all__ = ["SLOPE_MAX_DEAD", "SLOPE_MAX_LOSS", "SLOPE_SEEDS", "check_prelu_dalpha", "check_slope_choice"]


def _dalpha_by_finite_differences(z: np.ndarray, dout: np.ndarray) -> np.ndarray:
    r"""Reference: :math:`\partial/\partial\alpha_j` of :math:`\sum_{n,j} dout_{nj}\,\mathrm{PReLU}(z)_{nj}`,
    by centred finite differences (:func:`vanishing.gradcheck.numerical_gradient`) on the engine's PReLU.

    The function is linear in every :math:`\alpha_j`, so the centred difference
    is exact up to rounding (relative error about 1e-10).
    """
    from ..activations import PReLU
    from ..gradcheck import numerical_gradient

    layer = PReLU(num_units=z.shape[1], alpha=0.25)
    return numerical_gradient(lambda: float(np.sum(layer.fn(z) * dout)), layer.params["alpha"])


def _prelu_inputs() -> list[Args]:
    """Test inputs, simplest first: one row; all positive; a batch; shapes whose axes cannot be confused."""
    rng = np.random.default_rng(4)
    return [
        Args(np.array([[-2.0, 1.0, -0.5]]), np.array([[1.0, 1.0, 1.0]])),
        Args(np.array([[0.5, 2.0], [1.5, 0.1]]), np.array([[0.3, -1.0], [2.0, 0.7]])),
        Args(np.array([[-1.0, 2.0], [-3.0, -0.5], [0.5, -2.0]]), np.array([[0.5, 1.0], [-1.0, 2.0], [3.0, 0.25]])),
        Args(rng.normal(0.0, 1.5, size=(6, 4)), rng.normal(0.0, 1.0, size=(6, 4))),
        Args(rng.normal(-0.5, 1.0, size=(3, 7)), rng.normal(0.0, 1.0, size=(3, 7))),
    ]


def check_prelu_dalpha(fn: Any) -> CheckResult:
    r"""Notebook 04: ``prelu_dalpha(z, dout)`` returns :math:`\partial L/\partial\alpha` of a PReLU layer, shape (D,).

    ``z`` (N, D) is the layer's input and ``dout`` (N, D) the gradient of the
    loss with respect to its output. The reference is a finite-difference
    gradient (:func:`vanishing.gradcheck.numerical_gradient`) of
    :math:`\sum dout \cdot \mathrm{PReLU}(z)` with respect to the slopes of the
    engine's PReLU, on one row, on an all-positive batch (the answer is 0),
    on mixed batches, and on shapes where summing over the wrong axis gives
    the wrong shape. The verdict names the first input that differs.
    """
    return check_function(
        fn, _dalpha_by_finite_differences, _prelu_inputs(), rtol=1e-6, atol=1e-8, name="prelu_dalpha",
        check_dtype=False, todo="define prelu_dalpha(z, dout) in the cell above and run it, then run this check",
        hint="out = alpha * z where z <= 0 and z elsewhere, so d out / d alpha_j = min(0, z_nj); sum "
             "dout_nj * min(0, z_nj) over the batch (axis 0), one number per unit",
    )


SLOPE_SEEDS = (0, 1, 2, 3, 4)
"""Notebook 04 exercise: the seeds the slope is tried with ..."""
SLOPE_MAX_LOSS = 0.35
"""... every seed must end below this loss on the whole data set ..."""
SLOPE_MAX_DEAD = 0.2
"""... with at most this fraction of hidden units dead (mean over the layers), and no divergence."""


def check_slope_choice(alpha: Any, *, seeds: tuple[int, ...] = SLOPE_SEEDS, max_loss: float = SLOPE_MAX_LOSS,
                       max_dead: float = SLOPE_MAX_DEAD) -> CheckResult:
    """Notebook 04: a Leaky ReLU slope that rescues the comparison's deep network from its bad start.

    Runs :func:`vanishing.experiments.train_variant` (6 hidden layers of 16
    Leaky ReLU units, every hidden bias starting at −1, 80 SGD steps at
    learning rate 0.1 with momentum 0.9) with slope ``alpha`` for each seed,
    and requires every run to finish without diverging, with a loss below
    ``max_loss`` and at most ``max_dead`` of its hidden units dead (z ≤ 0 on
    every input, mean over the layers). Reports each seed's numbers.
    """
    name = "slope_choice"
    if is_placeholder(alpha):
        return CheckResult(None, name, "not attempted yet: set alpha to the slope you chose and run the cell")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        return CheckResult(False, name, f"expected a number, got {_fmt(alpha)}", hint="for example alpha = 0.1")
    if alpha < 0:
        return CheckResult(False, name, f"alpha = {alpha:g} is negative: the negative side would slope downwards "
                                        "and the unit would no longer be monotonic",
                           hint="Leaky ReLU slopes lie between 0 (ReLU) and 1 (the identity)")
    from ..experiments.leaky import train_variant

    runs = [train_variant("leaky_relu", {"alpha": float(alpha)}, seed=s) for s in seeds]
    report = "; ".join(
        f"seed {s}: diverged" if r.diverged else f"seed {s}: loss {r.final_loss:.3f}, dead {r.final_dead:.0%}"
        for s, r in zip(seeds, runs, strict=True))
    diverged = [s for s, r in zip(seeds, runs, strict=True) if r.diverged]
    stuck = [s for s, r in zip(seeds, runs, strict=True) if not r.diverged and r.final_dead > max_dead]
    high = [s for s, r in zip(seeds, runs, strict=True)
            if not r.diverged and s not in stuck and not r.final_loss < max_loss]
    if not diverged and not stuck and not high:
        return CheckResult(True, name, f"α = {alpha:g} brings every seed back: {report}.")
    if diverged:
        problem = f"seed(s) {diverged} diverged"
        hint = ("too large: the weights were drawn at He's scale, which is made for ReLU; with a slope near 1 "
                "every layer is almost linear, and at this learning rate the activations and the steps grow "
                "layer by layer")
    elif stuck:
        problem = f"seed(s) {stuck} have more than {max_dead:.0%} of their hidden units dead at the end"
        hint = ("too small: in a layer whose units are all on their negative side, the gradient is multiplied "
                "by α on its way down, and several such layers multiply α several times")
    else:
        problem = f"seed(s) {high} end with a loss of {max_loss:g} or more although few units are dead"
        hint = ("compare the widget's loss curves for smaller and larger slopes: too small a slope leaves units "
                "stuck, too large a one makes training erratic (the initialisation is scaled for ReLU)")
    return CheckResult(False, name, f"α = {alpha:g}: {problem}. {report}.", hint=hint)
