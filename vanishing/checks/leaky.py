"""Self-checks of notebook 04 (leaky variants)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._core import Args, CheckResult, _fmt, check_function, is_placeholder

NOTEBOOK = "04"
__all__ = ["SLOPE_FIT_STEPS", "SLOPE_SEEDS", "check_leaky_he_std", "check_prelu_dalpha", "check_slope_choice"]


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
"""Notebook 04, Exercise 2: the seeds the slope is tried with ..."""
SLOPE_FIT_STEPS = 150
"""... each run must be fitted (loss below 0.05 on all points) within this many steps, without diverging."""


def check_slope_choice(alpha: Any, *, seeds: tuple[int, ...] = SLOPE_SEEDS,
                       fit_steps: int = SLOPE_FIT_STEPS) -> CheckResult:
    """Notebook 04, Exercise 2: a Leaky ReLU slope that gets section 5's deep network out of its bad start fast.

    Trains :func:`vanishing.experiments.train_variant` (6 hidden layers of 16
    Leaky ReLU units, every hidden bias starting at −1, SGD with learning rate 0.1
    and momentum 0.9, batches of 100, :class:`vanishing.experiments.StopWhenFlat`)
    with slope ``alpha`` for each seed, for at most ``fit_steps`` steps, and
    requires every run to end *fitted* (loss on all points below 0.05) without
    diverging. Reports each seed's outcome.
    """
    name = "slope_choice"
    if is_placeholder(alpha):
        return CheckResult(None, name, "not attempted yet: set alpha_choice to the slope you chose and run the cell")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        return CheckResult(False, name, f"expected a number, got {_fmt(alpha)}", hint="for example alpha_choice = 0.1")
    if alpha < 0:
        return CheckResult(False, name, f"alpha = {alpha:g} is negative: the negative side would slope downwards "
                                        "and the unit would no longer be monotonic",
                           hint="Leaky ReLU slopes lie between 0 (ReLU) and 1 (the identity)")
    from ..experiments.leaky import train_variant

    # seed s as in the notebook's train_from_bad_start: weights from default_rng(s), batches from s + 10_000
    runs = {s: train_variant("leaky_relu", {"alpha": float(alpha)}, rng=np.random.default_rng(s),
                             order_rng=np.random.default_rng(s + 10_000), steps=fit_steps, every=10,
                             batch_size=100, until_flat=True) for s in seeds}

    def outcome(run: Any) -> str:
        if run.diverged:
            return "diverged"
        if run.stopped == "fitted":
            return f"fitted at step {int(run.record_steps[-1])}"
        if run.stopped == "stalled":
            return f"stalled at loss {run.final_loss:.3f}"
        return f"loss {run.final_loss:.3f} at step {fit_steps}"

    report = "; ".join(f"seed {s}: {outcome(r)}" for s, r in runs.items())
    diverged = [s for s, r in runs.items() if r.diverged]
    stalled = [s for s, r in runs.items() if r.stopped == "stalled"]
    slow = [s for s, r in runs.items() if not r.diverged and r.stopped is None]
    if not diverged and not stalled and not slow:
        return CheckResult(True, name, f"α = {alpha:g} gets every seed fitted within {fit_steps} steps: {report}.")
    if diverged:
        problem = f"seed(s) {diverged} diverged"
        hint = ("too large: the weights were drawn at He's scale for ReLU; with a larger slope more of each layer's "
                "input passes, the activations grow from layer to layer, and at this learning rate the steps blow "
                "up (Exercise 3 works out by how much)")
    elif stalled:
        problem = f"seed(s) {stalled} stalled at the start"
        hint = ("too small: in a layer whose units are all on their negative side, the gradient is multiplied by α "
                "on its way down, and six such layers multiply α six times (section 5's first table)")
    else:
        problem = f"seed(s) {slow} escaped too slowly to be fitted within {fit_steps} steps"
        hint = ("a little larger: section 5's table shows how much sooner 0.25 escapes than 0.2; the product "
                "α^k grows fast with α")
    return CheckResult(False, name, f"α = {alpha:g}: {problem}. {report}.", hint=hint)


def _he_std(alpha: float, fan_in: int) -> float:
    r"""Reference: :math:`\sqrt{2 / ((1 + \alpha^2)\,n_\text{in})}` (He et al. 2015, eq. 15 with slope α)."""
    return float(np.sqrt(2.0 / ((1.0 + alpha**2) * fan_in)))


def _second_moment_growth(std: float, alpha: float, *, depth: int = 20, width: int = 256) -> float:
    """E[z^2] at the last of ``depth`` Leaky ReLU layers over E[z^2] at the first, weights N(0, std^2), seeded."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((512, width))
    first = None
    for _ in range(depth):
        a = np.where(z > 0, z, alpha * z)
        z = a @ rng.normal(0.0, std, size=(width, width))
        first = float(np.mean(z * z)) if first is None else first
    return float(np.mean(z * z)) / first


def check_leaky_he_std(fn: Any) -> CheckResult:
    r"""Notebook 04, Exercise 3: ``leaky_he_std(alpha, fan_in)``, the weights' standard deviation for Leaky ReLU.

    The reference is :math:`\sqrt{2/((1 + \alpha^2) n_\text{in})}`: for a
    symmetric :math:`z`, :math:`E[f(z)^2] = \tfrac12(1 + \alpha^2)\operatorname{Var}[z]`.
    Tried on α = 0 (ReLU: He's 2/n), 0.25, 0.5 and 1 (the identity: LeCun's
    1/n) with several fan-ins. Specific hints for ReLU's scale kept, for 1 + α
    instead of 1 + α², and for a variance returned instead of a standard
    deviation. On a pass, the verdict compares the second moment after 20
    layers (α = 0.5) at the learner's scale and at ReLU's.
    """
    name = "leaky_he_std"
    cases = [(0.0, 100), (0.25, 64), (0.5, 16), (1.0, 10), (0.5, 256)]
    hint = ("for z symmetric around 0, each half carries half of Var[z]: the positive half passes z^2, the "
            "negative half (alpha z)^2; set n_in * Var[w] * E[f(z)^2] = Var[z] and return the square root of Var[w]")
    if is_placeholder(fn):
        return CheckResult(None, name, "not attempted yet: define leaky_he_std(alpha, fan_in) above and run it, "
                                       "then run this check")
    result = check_function(fn, _he_std, [Args(a, n) for a, n in cases], rtol=1e-6, atol=0.0, name=name, hint=hint,
                            check_dtype=False)
    if result.passed is not False:
        if result.passed:
            ours, relu = _second_moment_growth(fn(0.5, 256), 0.5), _second_moment_growth(_he_std(0.0, 256), 0.5)
            result.message += (f" Through 20 layers of Leaky ReLU (α = 0.5), the second moment of the "
                               f"pre-activations changes by a factor {ours:.2f} at your scale and {relu:.1f} at "
                               "ReLU's He scale.")
        return result
    try:
        got = float(fn(0.5, 16))
    except Exception:  # noqa: BLE001 - the general verdict above already names the failure
        return result
    specific = {
        _he_std(0.0, 16): "this is ReLU's He scale: the slope α is missing, but the negative half passes (αz)^2",
        float(np.sqrt(2.0 / ((1.5) * 16))): "1 + α appears where the negative half contributes α^2: use 1 + α^2",
        _he_std(0.5, 16) ** 2: "this is the variance Var[w]; return its square root, the standard deviation",
    }
    for value, text in specific.items():
        if np.isclose(got, value, rtol=1e-6):
            result.hint = text
    return result
