r"""Notebook 07 (optimizers): how momentum, RMSProp, Adam and weight decay reshape a gradient step.

Every experiment runs the engine's optimizers (:mod:`vanishing.optim`) unchanged:
on a bare point (:class:`~vanishing.layers.Parameters`) for the 2-D loss
surfaces, on :class:`~vanishing.layers.Sequential` networks for the rest.

* :data:`LOSS_SURFACES`: four 2-D losses with analytic gradients, an ill-conditioned
  quadratic :math:`\tfrac12(x^2 + \kappa y^2)`, the Rosenbrock valley, the saddle
  :math:`x^2 - y^2` and the plateau :math:`c\max(0, x) + \tfrac12 y^2`;
  :func:`run_trajectory` and :func:`compare_optimizers` follow optimizers on them,
  :func:`plateau_progress` measures how gradient noise slows Adam on the plateau.
* :func:`step_size_by_gradient_scale`: the step each optimizer takes for a
  constant gradient of a given size (SGD's grows with it, Adam's does not,
  until the gradient falls below Adam's :math:`\epsilon`).
* :func:`bias_correction_steps`: Adam's first steps with and without bias
  correction; without it they are off by :math:`(1-\beta_1^t)/\sqrt{1-\beta_2^t}`.
* :func:`decay_by_gradient_scale`: L2 weight decay (added to the gradient) against
  decoupled weight decay, on weights whose data gradient has different sizes.
* :func:`update_ratios_by_layer`: the per-layer update-to-data ratio of a deep
  sigmoid MLP trained with SGD and with Adam (:class:`vanishing.diagnostics.UpdateRatio`).
* :func:`dead_unit_updates`: which optimizer settings move a ReLU unit that died
  during training (killed with notebook 03's ``kill_units``), whose every
  gradient entry is then exactly 0.

This module imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as check
from ..data import two_moons
from ..diagnostics import GradientNorms, UpdateRatio
from ..layers import Parameters, Sequential
from ..losses import make_loss
from ..models import dense_layers, mlp
from ..optim import SGD, Adam, Optimizer, RMSProp, make_optimizer
from ..scenarios import kill_units
from ..tables import text_table
from ..train import fit

__all__ = [
    "DEAD_UNIT_MARGIN", "DEAD_UNIT_SETTINGS", "LOSS_SURFACES", "OPTIMIZER_LABELS", "OPTIMIZER_METHODS", "PLATEAU_SLOPE",
    "ROSENBROCK_BUDGET", "ROSENBROCK_TOLERANCE", "VALLEY_KAPPA", "BiasCorrection", "DeadUnitRun", "DecayComparison",
    "LayerUpdates", "LossSurface", "OptimizerComparison", "PlateauProgress", "StepSizes", "SurfacePath",
    "adam_reference_step", "bias_correction_steps", "bias_correction_table", "compare_optimizers", "dead_unit_setup",
    "dead_unit_table", "dead_unit_updates", "decay_by_gradient_scale", "decay_table", "make_surface_optimizer",
    "minimum_distance_table", "optimizer_table", "plateau_progress", "plateau_table", "rosenbrock_attempt",
    "run_trajectory", "saddle_table", "step_size_by_gradient_scale", "step_size_table", "update_ratio_table",
    "update_ratios_by_layer",
]

NOTEBOOK = "07"


# --- the 2-D loss surfaces -------------------------------------------------------------------------------------------

VALLEY_KAPPA = 50.0
"""Condition number of the ill-conditioned quadratic: its curvature along y is 50 times that along x."""

PLATEAU_SLOPE = 1e-3
"""The slope c of the plateau :math:`c\\max(0, x) + \\tfrac12 y^2` for x > 0."""


def _quadratic(x: Any, y: Any) -> Any:
    return 0.5 * (x * x + VALLEY_KAPPA * y * y)


def _quadratic_grad(x: float, y: float) -> tuple[float, float]:
    return x, VALLEY_KAPPA * y


def _rosenbrock(x: Any, y: Any) -> Any:
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(x: float, y: float) -> tuple[float, float]:
    r = y - x * x
    return -2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r


def _saddle(x: Any, y: Any) -> Any:
    return x * x - y * y


def _saddle_grad(x: float, y: float) -> tuple[float, float]:
    return 2.0 * x, -2.0 * y


def _plateau(x: Any, y: Any) -> Any:
    return PLATEAU_SLOPE * np.maximum(0.0, x) + 0.5 * y * y


def _plateau_grad(x: float, y: float) -> tuple[float, float]:
    # the kink at x = 0 gets the derivative 0, like the engine's ReLU at 0
    return (PLATEAU_SLOPE if x > 0 else 0.0), y


@dataclass(frozen=True)
class LossSurface:
    r"""A 2-D loss :math:`f(x, y)` with its analytic gradient, a plotting window and default settings.

    Attributes
    ----------
    name, formula
        The key in :data:`LOSS_SURFACES` and the formula as plain text (for titles).
    value
        ``value(x, y)``: f, elementwise on arrays (for contour grids) or on floats.
    gradient
        ``gradient(x, y) -> (df/dx, df/dy)`` at one point (floats).
    window
        ``(x_min, x_max, y_min, y_max)``: the region drawn. A run that leaves the
        window enlarged by half its size on every side is stopped (it diverged,
        or, on the saddle, escaped).
    start
        The default starting point.
    minimum, f_min
        A minimiser and the minimum value, or None (the saddle is unbounded below).
    lr, adaptive_lr, steps
        Default learning rate of SGD, momentum and Nesterov; of RMSProp and Adam; and number of steps.
    """

    name: str
    formula: str
    value: Callable[[Any, Any], Any]
    gradient: Callable[[float, float], tuple[float, float]]
    window: tuple[float, float, float, float]
    start: tuple[float, float]
    minimum: tuple[float, float] | None
    f_min: float | None
    lr: float
    adaptive_lr: float
    steps: int

    def grad(self, w: np.ndarray) -> np.ndarray:
        """The gradient at the point ``w`` (2,), as an array."""
        return np.array(self.gradient(float(w[0]), float(w[1])))

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The window enlarged by half its width and height on each side: runs stop when they leave it."""
        x0, x1, y0, y1 = self.window
        dx, dy = (x1 - x0) / 2, (y1 - y0) / 2
        return x0 - dx, x1 + dx, y0 - dy, y1 + dy


LOSS_SURFACES: dict[str, LossSurface] = {
    "ill_conditioned": LossSurface(
        "ill_conditioned", f"½(x² + {VALLEY_KAPPA:g}·y²)", _quadratic, _quadratic_grad, (-3.0, 3.0, -1.5, 1.5),
        (-2.8, 1.0), (0.0, 0.0), 0.0, lr=0.036, adaptive_lr=0.1, steps=150),
    "rosenbrock": LossSurface(
        "rosenbrock", "(1 − x)² + 100·(y − x²)²", _rosenbrock, _rosenbrock_grad, (-2.0, 2.0, -1.0, 3.0),
        (-1.2, 1.0), (1.0, 1.0), 0.0, lr=1e-3, adaptive_lr=0.1, steps=500),
    "saddle": LossSurface(
        "saddle", "x² − y²", _saddle, _saddle_grad, (-2.0, 2.0, -2.0, 2.0),
        (1.5, 0.0), None, None, lr=0.1, adaptive_lr=0.05, steps=100),
    "plateau": LossSurface(
        "plateau", f"{PLATEAU_SLOPE:g}·max(0, x) + ½y²", _plateau, _plateau_grad, (-1.0, 2.5, -2.0, 2.0),
        (2.0, 1.5), (0.0, 0.0), 0.0, lr=0.1, adaptive_lr=0.05, steps=150),
}
"""The 2-D losses of the notebook, by name."""


# --- optimizers on a point ------------------------------------------------------------------------------------------

OPTIMIZER_METHODS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
"""The optimizers followed on the surfaces: engine classes with the settings named in :func:`make_surface_optimizer`."""

OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "momentum", "nesterov": "Nesterov", "rmsprop": "RMSProp", "adam": "Adam"}

ADAPTIVE = ("rmsprop", "adam")


def make_surface_optimizer(method: str, model: Any, *, lr: float, momentum: float = 0.9, beta1: float = 0.9,
                beta2: float = 0.999, rho: float = 0.9, eps: float = 1e-8, bias_correction: bool = True,
                weight_decay: float = 0.0, decoupled_weight_decay: float = 0.0) -> Optimizer:
    """Build the engine optimizer for one of :data:`OPTIMIZER_METHODS` on ``model``.

    ``"sgd"``: :class:`~vanishing.optim.SGD`; ``"momentum"`` and ``"nesterov"``:
    SGD with ``momentum`` (Nesterov's variant for the second); ``"rmsprop"``:
    :class:`~vanishing.optim.RMSProp` with ``rho`` and ``eps``; ``"adam"``:
    :class:`~vanishing.optim.Adam` with ``beta1``, ``beta2``, ``eps`` and
    ``bias_correction``. Every one takes both kinds of weight decay.
    """
    check.choice("method", method, OPTIMIZER_METHODS)
    decay = {"weight_decay": weight_decay, "decoupled_weight_decay": decoupled_weight_decay}
    if method == "sgd":
        return SGD(model, lr=lr, **decay)
    if method in ("momentum", "nesterov"):
        return SGD(model, lr=lr, momentum=momentum, nesterov=method == "nesterov", **decay)
    if method == "rmsprop":
        return RMSProp(model, lr=lr, rho=rho, eps=eps, **decay)
    return Adam(model, lr=lr, beta1=beta1, beta2=beta2, eps=eps, bias_correction=bias_correction, **decay)


@dataclass(frozen=True)
class SurfacePath:
    r"""One optimizer's path on a surface.

    Attributes
    ----------
    surface, method, label
        The surface name, the method (one of :data:`OPTIMIZER_METHODS`) and a label for legends.
    settings
        The optimizer settings used (lr and the method's own).
    path
        ``(T+1, 2)``: the points visited, the start first. Shorter than
        ``steps + 1`` when the run left the surface's box.
    values
        ``(T+1,)``: f at each point.
    steps
        The number of steps asked for.
    left_at
        The step after which the point was outside :attr:`LossSurface.box` (the run
        stopped there), or -1.
    noise
        Standard deviation of the Gaussian noise added to each gradient component.
    """

    surface: str
    method: str
    label: str
    settings: dict[str, float]
    path: np.ndarray
    values: np.ndarray
    steps: int
    left_at: int = -1
    noise: float = 0.0

    @property
    def final(self) -> np.ndarray:
        return self.path[-1]

    @property
    def gap(self) -> np.ndarray:
        """f − f_min at each point (f itself on the saddle, which has no minimum)."""
        f_min = LOSS_SURFACES[self.surface].f_min
        return self.values - f_min if f_min is not None else self.values

    def distance_to_minimum(self) -> float:
        """Euclidean distance from the last point to the surface's minimiser (nan on the saddle)."""
        minimum = LOSS_SURFACES[self.surface].minimum
        if minimum is None:
            return math.nan
        if self.surface == "plateau":  # every x <= 0 on the line y = 0 is a minimiser
            return float(math.hypot(max(float(self.final[0]), 0.0), float(self.final[1])))
        return float(np.linalg.norm(self.final - np.asarray(minimum)))

    def first_step_below(self, level: float) -> int:
        """The first step at which :attr:`gap` < level (0 is the start), or -1 if never."""
        below = np.flatnonzero(self.gap < level)
        return int(below[0]) if below.size else -1

    def settled_step(self, level: float) -> int:
        """The first step from which :attr:`gap` stays below ``level`` to the end of the run, or -1."""
        above = np.flatnonzero(~(self.gap < level))
        if above.size == 0:
            return 0
        last = int(above[-1])
        return last + 1 if last + 1 < len(self.gap) else -1

    @property
    def path_length(self) -> float:
        """Total distance travelled, the sum of the step lengths."""
        return float(np.linalg.norm(np.diff(self.path, axis=0), axis=1).sum())

    def reversal_fraction(self, steps: int | None = None) -> float:
        r"""Fraction of consecutive step pairs that point in opposing directions
        (:math:`\Delta_t \cdot \Delta_{t-1} < 0`): 1 for a zig-zag, 0 for a path that never turns back.

        Over the first ``steps`` steps (all by default).
        """
        d = np.diff(self.path[: None if steps is None else steps + 1], axis=0)
        if len(d) < 2:
            return math.nan
        return float(np.mean(np.sum(d[1:] * d[:-1], axis=1) < 0))


def _check_start(start: Any) -> np.ndarray:
    point = check.array("start", np.asarray(start, dtype=np.float64), ndim=1)
    if point.shape != (2,):
        raise ValueError(f"start={tuple(np.ravel(start))!r} has {point.size} coordinates; a 2-D surface needs 2")
    return point


def _method_settings(method: str, lr: float, momentum: float, beta1: float, beta2: float, rho: float, eps: float,
                     bias_correction: bool) -> dict[str, float]:
    settings: dict[str, Any] = {"lr": float(lr)}
    if method in ("momentum", "nesterov"):
        settings["momentum"] = float(momentum)
    elif method == "rmsprop":
        settings.update(rho=float(rho), eps=float(eps))
    elif method == "adam":
        settings.update(beta1=float(beta1), beta2=float(beta2), eps=float(eps), bias_correction=bool(bias_correction))
    return settings


def _label(method: str, settings: Mapping[str, Any]) -> str:
    label = OPTIMIZER_LABELS[method]
    if method in ("momentum", "nesterov"):
        label += f" μ={settings['momentum']:g}"
    elif method == "adam":
        label += f" β₁={settings['beta1']:g}, β₂={settings['beta2']:g}"
        if not settings["bias_correction"]:
            label += ", no bias correction"
    return label + f", lr={settings['lr']:g}"


def run_trajectory(surface: str, method: str, *, start: Sequence[float] | None = None, steps: int | None = None,
                   lr: float | None = None, momentum: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
                   rho: float = 0.9, eps: float = 1e-8, bias_correction: bool = True, noise: float = 0.0,
                   rng: np.random.Generator | None = None, label: str | None = None,
                   noise_draws: np.ndarray | None = None) -> SurfacePath:
    r"""Follow one engine optimizer on a surface.

    The point is a :class:`~vanishing.layers.Parameters`; at each step its
    gradient is set to :math:`\nabla f(w) + \sigma\,\xi` (:math:`\xi \sim N(0, I)`,
    σ = ``noise``) and ``optimizer.step()`` is called.

    Parameters
    ----------
    surface
        A name in :data:`LOSS_SURFACES`.
    method
        One of :data:`OPTIMIZER_METHODS` (see :func:`make_surface_optimizer`).
    start, steps, lr
        Starting point (2,), number of steps (1 to 5000) and learning rate; None
        takes the surface's default (``lr`` for SGD/momentum/Nesterov,
        ``adaptive_lr`` for RMSProp/Adam).
    momentum, beta1, beta2, rho, eps, bias_correction
        The optimizer's settings (only those of ``method`` are used).
    noise
        σ of the gradient noise (0 to 10); needs ``rng`` when positive.
    rng
        Generator for the noise.
    label
        Legend label (default: method and settings).
    noise_draws
        ``(steps, 2)`` standard normal draws to use instead of drawing from ``rng``
        (:func:`compare_optimizers` gives every optimizer the same noise).

    Returns
    -------
    SurfacePath
        The run stops early if the point leaves :attr:`LossSurface.box`.
    """
    surf = check.lookup("surface", surface, LOSS_SURFACES)
    check.choice("method", method, OPTIMIZER_METHODS)
    point = _check_start(surf.start if start is None else start).copy()
    steps = surf.steps if steps is None else check.number("steps", steps, low=1, high=5000, integer=True)
    if lr is None:
        lr = surf.adaptive_lr if method in ADAPTIVE else surf.lr
    check.number("noise", noise, low=0.0, high=10.0)
    if noise > 0 and noise_draws is None:
        check.rng("rng", rng)
        noise_draws = rng.standard_normal((steps, 2))
    params = Parameters(point)
    opt = make_surface_optimizer(method, params, lr=lr, momentum=momentum, beta1=beta1, beta2=beta2, rho=rho, eps=eps,
                      bias_correction=bias_correction)
    w, g = params.params["w"], params.grads["w"]
    x_lo, x_hi, y_lo, y_hi = surf.box
    path = np.empty((steps + 1, 2))
    path[0] = w
    left_at = -1
    taken = steps
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g[0], g[1] = surf.gradient(float(w[0]), float(w[1]))
            if noise > 0:
                g += noise * noise_draws[t - 1]
            opt.step()
            path[t] = w
            x, y = path[t]
            if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi):  # also catches nan
                left_at, taken = t, t
                break
    path = path[: taken + 1]
    with np.errstate(over="ignore", invalid="ignore"):
        values = surf.value(path[:, 0], path[:, 1])
    settings = _method_settings(method, lr, momentum, beta1, beta2, rho, eps, bias_correction)
    return SurfacePath(surface=surface, method=method, label=label or _label(method, settings), settings=settings,
                      path=path, values=np.asarray(values, dtype=np.float64), steps=int(steps), left_at=left_at,
                      noise=float(noise))


@dataclass(frozen=True)
class OptimizerComparison:
    """Several optimizers from the same start on the same surface (:func:`compare_optimizers`).

    ``runs`` maps each method to its :class:`SurfacePath`; ``start``, ``steps``
    and ``noise`` are shared by all.
    """

    surface: str
    runs: dict[str, SurfacePath]
    start: tuple[float, float]
    steps: int
    noise: float = 0.0

    def __getitem__(self, method: str) -> SurfacePath:
        return self.runs[method]


def compare_optimizers(surface: str, methods: Sequence[str] = ("sgd", "momentum", "adam"), *,
                       start: Sequence[float] | None = None, steps: int | None = None, lr: float | None = None,
                       adaptive_lr: float | None = None, momentum: float = 0.9, beta1: float = 0.9,
                       beta2: float = 0.999, noise: float = 0.0, seed: int = 0,
                       lrs: Mapping[str, float] | None = None) -> OptimizerComparison:
    """Run each of ``methods`` on ``surface`` from the same start (:func:`run_trajectory`).

    ``lr`` is the learning rate of SGD, momentum and Nesterov, ``adaptive_lr``
    that of RMSProp and Adam (None: the surface's defaults). Their units differ:
    an SGD step is lr × gradient, an Adam step is about lr whatever the
    gradient's size, so one number cannot suit both. ``lrs`` (method -> lr)
    overrides either for single methods. With ``noise`` > 0 every method gets
    the same noise draws, from ``default_rng(seed)``.
    """
    surf = check.lookup("surface", surface, LOSS_SURFACES)
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"methods is empty; allowed: one or more of {', '.join(map(repr, OPTIMIZER_METHODS))}")
    for i, method in enumerate(methods):
        check.choice(f"methods[{i}]", method, OPTIMIZER_METHODS)
    point = _check_start(surf.start if start is None else start)
    steps = surf.steps if steps is None else check.number("steps", steps, low=1, high=5000, integer=True)
    check.non_negative("seed", seed, integer=True)
    check.number("noise", noise, low=0.0, high=10.0)
    draws = np.random.default_rng(seed).standard_normal((steps, 2)) if noise > 0 else None
    lrs = dict(lrs or {})
    for key in lrs:
        check.choice("lrs key", key, methods)
    runs = {}
    for method in methods:
        rate = lrs.get(method, adaptive_lr if method in ADAPTIVE else lr)
        runs[method] = run_trajectory(surface, method, start=point, steps=steps, lr=rate, momentum=momentum,
                                      beta1=beta1, beta2=beta2, noise=noise, noise_draws=draws)
    return OptimizerComparison(surface=surface, runs=runs, start=(float(point[0]), float(point[1])), steps=int(steps),
                      noise=float(noise))


@dataclass(frozen=True)
class PlateauProgress:
    r"""How far each method gets along the plateau's slope, with gradient noise of several sizes.

    ``progress[method]`` (K,): the mean over seeds of :math:`x_0 - x_T` (how far the
    point moved towards the flat region, where the minimum is), for each noise σ
    in ``noises``; ``spread[method]`` (K,): its standard deviation over seeds.
    """

    noises: np.ndarray
    progress: dict[str, np.ndarray]
    spread: dict[str, np.ndarray]
    steps: int
    seeds: int


def plateau_progress(noises: Sequence[float] = (0.0, 1e-4, 1e-3, 1e-2), methods: Sequence[str] = ("sgd", "adam"),
                     *, steps: int = 150, seeds: int = 20) -> PlateauProgress:
    r"""Run each method on the plateau from its default start, with gradient noise σ, for ``seeds`` seeds.

    Without noise Adam's step along x is about lr, whatever the slope c. With
    noise, :math:`\sqrt{\hat v}` measures the noise too (about σ once σ ≫ c),
    so the consistent part of Adam's step shrinks, roughly by c/σ, while its
    random part stays of size lr: the scaling cannot tell a small consistent
    gradient from a large random one.
    """
    noises = check.array("noises", np.asarray(noises, dtype=np.float64), ndim=1)
    check.number("seeds", seeds, low=1, high=1000, integer=True)
    start = LOSS_SURFACES["plateau"].start[0]
    progress, spread = {}, {}
    for method in methods:
        moved = np.empty((len(noises), seeds))
        for i, sigma in enumerate(noises):
            for seed in range(seeds if sigma > 0 else 1):
                run = run_trajectory("plateau", method, steps=steps, noise=float(sigma),
                                     rng=np.random.default_rng(seed))
                moved[i, seed] = start - run.final[0]
            if sigma == 0:
                moved[i, 1:] = moved[i, 0]
        progress[method] = moved.mean(axis=1)
        spread[method] = moved.std(axis=1)
    return PlateauProgress(noises=noises, progress=progress, spread=spread, steps=int(steps), seeds=int(seeds))


def plateau_table(result: PlateauProgress) -> str:
    """Mean distance moved towards the flat region (± standard deviation over seeds), per method and noise."""
    rows = [[OPTIMIZER_LABELS[m], *[f"{p:.3f} ± {s:.3f}" for p, s in zip(result.progress[m], result.spread[m],
                                                                     strict=True)]]
            for m in result.progress]
    return text_table(["noise σ =", *[f"{n:g}" for n in result.noises]], rows)


ROSENBROCK_BUDGET = 500
"""Steps allowed in the Rosenbrock exercise."""

ROSENBROCK_TOLERANCE = 0.05
"""The exercise passes when the last point is closer than this to the minimum (1, 1)."""


def rosenbrock_attempt(method: str, lr: float, **settings: Any) -> SurfacePath:
    """Run ``method`` for :data:`ROSENBROCK_BUDGET` steps on the Rosenbrock valley from (−1.2, 1).

    ``settings`` are the method's own (``momentum``, ``beta1``, ``beta2``, ``rho``, ``eps``).
    """
    allowed = ("momentum", "beta1", "beta2", "rho", "eps")
    unknown = [key for key in settings if key not in allowed]
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")
    return run_trajectory("rosenbrock", method, steps=ROSENBROCK_BUDGET, lr=lr, **settings)


def optimizer_table(comparison: OptimizerComparison, level: float = 1e-6) -> str:
    """Per run: f − f_min at the end, the step from which it stays below ``level``, reversals, path length."""
    surface = LOSS_SURFACES[comparison.surface]
    straight = float(np.linalg.norm(np.asarray(comparison.start) - np.asarray(surface.minimum or (0.0, 0.0))))
    rows = []
    for run in comparison.runs.values():
        settled = run.settled_step(level)
        end = f"left the window at step {run.left_at}" if run.left_at > 0 else f"{run.gap[-1]:.1e}"
        rows.append([OPTIMIZER_LABELS[run.method], f"{run.settings['lr']:g}", end,
                     str(settled) if settled >= 0 else f"not in {run.steps}", f"{run.reversal_fraction(20):.0%}",
                     f"{run.path_length / straight:.1f}"])
    return text_table(["method", "lr", "f - f_min at the end", f"below {level:g} from step",
                       "reversals (steps 1-20)", "path length / straight line"], rows)


def minimum_distance_table(comparison: OptimizerComparison) -> str:
    """Per run: the distance from the last point to the minimum, and f − f_min there."""
    rows = []
    for run in comparison.runs.values():
        if run.left_at > 0:
            rows.append([OPTIMIZER_LABELS[run.method], f"{run.settings['lr']:g}",
                         f"left the window at step {run.left_at}", "-"])
        else:
            rows.append([OPTIMIZER_LABELS[run.method], f"{run.settings['lr']:g}", f"{run.distance_to_minimum():.3g}",
                         f"{run.gap[-1]:.2g}"])
    return text_table(["method", "lr", f"distance to the minimum after {comparison.steps} steps", "f - f_min"], rows)


def saddle_table(comparisons: Mapping[str, OptimizerComparison], level: float = -1.0) -> str:
    """Per scenario and run on the saddle: the step at which f first fell below ``level``, or where the run ended."""
    rows = []
    for scenario, comparison in comparisons.items():
        for run in comparison.runs.values():
            below = run.first_step_below(level)
            if below >= 0:
                outcome = f"escaped: f < {level:g} at step {below}"
            else:
                x, y = run.final
                outcome = f"stuck: ended at x = {x:.1e}, y = {y:.1e}, f = {run.values[-1]:.1e}"
            rows.append([scenario, OPTIMIZER_LABELS[run.method], outcome])
    return text_table(["start", "method", f"after at most {next(iter(comparisons.values())).steps} steps"], rows)


# --- the size of a step ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepSizes:
    r"""Step length per unit learning rate, :math:`|\Delta w| / \eta`, for constant gradients of different sizes.

    ``first[method]`` and ``last[method]``, shape ``(S,)``: the first step and
    step number ``steps``, for each gradient size in ``scales``.
    """

    scales: np.ndarray
    steps: int
    first: dict[str, np.ndarray]
    last: dict[str, np.ndarray]
    eps: float


def step_size_by_gradient_scale(scales: Sequence[float] = tuple(10.0 ** np.arange(-12, 3)),
                                methods: Sequence[str] = OPTIMIZER_METHODS, *, steps: int = 50, momentum: float = 0.9,
                                eps: float = 1e-8) -> StepSizes:
    r"""Feed each optimizer the same constant gradient g for ``steps`` steps; record its step per unit lr.

    All gradient sizes run at once, as the coordinates of one point
    (every optimizer here acts coordinate by coordinate). SGD's step is
    :math:`\eta g`; momentum's grows towards :math:`\eta g/(1-\mu)`;
    RMSProp's and Adam's are :math:`\eta\,g/(\sqrt{\hat v} + \epsilon) \approx \eta`
    while :math:`g \gg \epsilon`, and :math:`\eta g/\epsilon` once :math:`g \ll \epsilon`.
    """
    scales = check.array("scales", np.asarray(scales, dtype=np.float64), ndim=1)
    if np.any(scales <= 0):
        raise ValueError("scales must all be positive")
    check.number("steps", steps, low=1, high=10_000, integer=True)
    first, last = {}, {}
    for method in methods:
        point = Parameters(np.zeros_like(scales))
        opt = make_surface_optimizer(method, point, lr=1.0, momentum=momentum, eps=eps)
        w = point.params["w"]
        point.grads["w"][...] = scales
        before = w.copy()
        for t in range(1, steps + 1):
            np.copyto(before, w)
            opt.step()
            if t == 1:
                first[method] = np.abs(w - before)
        last[method] = np.abs(w - before)
    return StepSizes(scales=scales, steps=int(steps), first=first, last=last, eps=float(eps))


def step_size_table(result: StepSizes, show: Sequence[float] = (1e-10, 1e-8, 1e-6, 1e-3, 1.0, 100.0)) -> str:
    """Step ``steps`` per unit lr for a few gradient sizes, one row per method."""
    cols = [int(np.argmin(np.abs(np.log10(result.scales) - np.log10(s)))) for s in show]
    rows = [[OPTIMIZER_LABELS[m], *[f"{result.last[m][c]:.3g}" for c in cols]] for m in result.last]
    return text_table(["|g| =", *[f"{result.scales[c]:.0e}" for c in cols]], rows)


# --- Adam's bias correction ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BiasCorrection:
    r"""Adam's step per unit lr for a constant gradient, with and without bias correction.

    ``corrected[(β1, β2)]`` and ``uncorrected[(β1, β2)]``, shape ``(T,)``: step
    t = 1..T; ``factor[(β1, β2)]``: :math:`(1-\beta_1^t)/\sqrt{1-\beta_2^t}`,
    the predicted ratio of the uncorrected to the corrected step.
    """

    steps: np.ndarray
    corrected: dict[tuple[float, float], np.ndarray]
    uncorrected: dict[tuple[float, float], np.ndarray]
    factor: dict[tuple[float, float], np.ndarray]


def bias_correction_steps(betas: Sequence[tuple[float, float]] = ((0.9, 0.999), (0.9, 0.9)), *, steps: int = 300,
                          gradient: float = 1.0) -> BiasCorrection:
    r"""Run the engine's Adam with ``bias_correction`` True and False on a constant gradient.

    :math:`m_t = (1-\beta_1^t)\,g` and :math:`v_t = (1-\beta_2^t)\,g^2` for a
    constant g, so the uncorrected step :math:`\eta\, m_t/\sqrt{v_t}` is the
    corrected one, η, times :math:`(1-\beta_1^t)/\sqrt{1-\beta_2^t}` (ignoring ε).
    """
    check.number("steps", steps, low=1, high=100_000, integer=True)
    check.positive("gradient", gradient)
    t = np.arange(1, steps + 1)
    corrected, uncorrected, factor = {}, {}, {}
    for pair in betas:
        b1, b2 = (float(b) for b in pair)
        for correct, out in ((True, corrected), (False, uncorrected)):
            point = Parameters(np.zeros(1))
            opt = Adam(point, lr=1.0, beta1=b1, beta2=b2, bias_correction=correct)
            point.grads["w"][...] = gradient
            w = point.params["w"]
            sizes = np.empty(steps)
            for i in range(steps):
                before = float(w[0])
                opt.step()
                sizes[i] = abs(float(w[0]) - before)
            out[(b1, b2)] = sizes
        factor[(b1, b2)] = (1 - b1 ** t) / np.sqrt(1 - b2 ** t)
    return BiasCorrection(steps=t, corrected=corrected, uncorrected=uncorrected, factor=factor)


def bias_correction_table(result: BiasCorrection, show: Sequence[int] = (1, 2, 5, 10, 20, 100, 300)) -> str:
    """The step per unit lr at a few steps t, with and without correction, and the predicted factor."""
    show = [t for t in show if t <= len(result.steps)]
    rows = []
    for pair in result.corrected:
        b1, b2 = pair
        for name, sizes in (("with", result.corrected[pair]), ("without", result.uncorrected[pair])):
            rows.append([f"β₁={b1:g}, β₂={b2:g}", name, *[f"{sizes[t - 1]:.3f}" for t in show]])
        rows.append(["", "predicted", *[f"{result.factor[pair][t - 1]:.3f}" for t in show]])
    return text_table(["Adam", "correction", *[f"t={t}" for t in show]], rows)


def adam_reference_step(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
                        beta1: float, beta2: float, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""One Adam step as a pure function, computed by the engine's :class:`~vanishing.optim.Adam`.

    Returns new ``(w, m, v)`` for the step number ``t`` (1 for the first step),
    leaving the inputs untouched:
    :math:`m' = \beta_1 m + (1-\beta_1) g`, :math:`v' = \beta_2 v + (1-\beta_2) g^2`,
    :math:`w' = w - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)` with
    :math:`\hat m = m'/(1-\beta_1^t)`, :math:`\hat v = v'/(1-\beta_2^t)`.
    """
    check.positive("t", t, integer=True)
    point = Parameters(np.array(w, dtype=np.float64).ravel())
    opt = Adam(point, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    opt.state["w"] = {"m": np.array(m, dtype=np.float64).ravel(), "v": np.array(v, dtype=np.float64).ravel()}
    opt.t = t - 1
    point.grads["w"][...] = np.ravel(g)
    opt.step()
    shape = np.shape(w)
    return (point.params["w"].reshape(shape), opt.state["w"]["m"].reshape(shape), opt.state["w"]["v"].reshape(shape))


# --- L2 weight decay against decoupled weight decay ----------------------------------------------------------------

DECAY_SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "SGD + L2": ("sgd", {"weight_decay": True}),
    "SGD, decoupled": ("sgd", {"decoupled_weight_decay": True}),
    "Adam + L2": ("adam", {"weight_decay": True}),
    "AdamW (decoupled)": ("adam", {"decoupled_weight_decay": True}),
}
"""The decay variants compared by :func:`decay_by_gradient_scale`: (method, which decay)."""


@dataclass(frozen=True)
class DecayComparison:
    r"""Weights after ``steps`` steps of decay, for data gradients of different sizes.

    ``final[label]`` (S,): the weight, started at 1, for each gradient size in
    ``scales``; ``expected`` is :math:`(1 - \eta\lambda)^T`, the pure decay of
    plain SGD.
    """

    scales: np.ndarray
    final: dict[str, np.ndarray]
    lr: dict[str, float]
    weight_decay: float
    steps: int
    expected: dict[str, float]


def decay_by_gradient_scale(scales: Sequence[float] = (0.0, 1e-3, 1e-1, 1.0, 10.0), *, weight_decay: float = 0.1,
                            lr: float = 0.01, steps: int = 400,
                            settings: Mapping[str, tuple[str, dict[str, Any]]] | None = None) -> DecayComparison:
    r"""Weights that start at 1 and get a data gradient :math:`\pm s` that alternates in sign each step.

    The data gradient carries no net direction, so whatever shrinks the weight
    is the decay. Under SGD, L2 (:math:`g + \lambda w`) and decoupled decay
    (:math:`w \leftarrow w - \eta\lambda w`) are the same rule: the weight
    ends near :math:`(1-\eta\lambda)^T` for every s. Under Adam, the L2 term is
    divided by :math:`\sqrt{\hat v}`, which is set by s: the weights with a small
    data gradient are dragged to 0, those with a large one hardly decay.
    AdamW decays every weight alike. All sizes run at once, one per coordinate.
    """
    scales = check.array("scales", np.asarray(scales, dtype=np.float64), ndim=1)
    check.non_negative("weight_decay", weight_decay)
    check.positive("lr", lr)
    check.number("steps", steps, low=2, high=100_000, integer=True)
    final, rates, expected = {}, {}, {}
    for label, (method, which) in (settings or DECAY_SETTINGS).items():
        decay = {key: weight_decay for key, on in which.items() if on}
        point = Parameters(np.ones_like(scales))
        opt = make_surface_optimizer(method, point, lr=lr, **decay)
        g = point.grads["w"]
        for t in range(1, steps + 1):
            np.multiply(scales, 1.0 if t % 2 else -1.0, out=g)
            opt.step()
        final[label] = point.params["w"].copy()
        rates[label] = float(lr)
        expected[label] = float((1 - lr * weight_decay) ** steps)
    return DecayComparison(scales=scales, final=final, lr=rates, weight_decay=float(weight_decay), steps=int(steps),
                           expected=expected)


def decay_table(result: DecayComparison) -> str:
    """The final weights, one row per decay variant, one column per gradient size."""
    # round first, then add 0.0: a weight of -0.0001 prints as 0.000, not -0.000
    rows = [[label, *[f"{round(float(w), 3) + 0.0:.3f}" for w in final]] for label, final in result.final.items()]
    any_label = next(iter(result.expected))
    rows.append(["(1 - lr·λ)^T", *[f"{result.expected[any_label]:.3f}"] * len(result.scales)])
    return text_table(["weight after decay, |data gradient| =", *[f"{s:g}" for s in result.scales]], rows)


# --- deep nets: the update-to-data ratio per layer ------------------------------------------------------------------

@dataclass(frozen=True)
class LayerUpdates:
    r"""Per Dense layer (input side first), for each optimizer setting, medians over the recorded steps.

    Attributes
    ----------
    labels
        The optimizer settings, in order.
    ratio
        label -> ``(L,)``: median :math:`\lVert\Delta W\rVert / \lVert W\rVert` per step
        (:class:`vanishing.diagnostics.UpdateRatio`).
    grad_rms
        label -> ``(L,)``: median root-mean-square gradient entry,
        :math:`\lVert dW\rVert / \sqrt{\text{size}(W)}`, to compare with Adam's ε.
    loss
        label -> the training loss per step.
    eps
        label -> ε of that setting (None for SGD).
    depth, width, steps
        The network (hidden layers, units each) and the number of steps.
    """

    labels: list[str]
    ratio: dict[str, np.ndarray]
    grad_rms: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    eps: dict[str, float | None]
    depth: int
    width: int
    steps: int


UPDATE_RATIO_SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "SGD, lr 0.5": ("sgd", {"lr": 0.5}),
    "Adam, lr 0.01": ("adam", {"lr": 0.01}),
    "Adam, lr 0.01, ε = 1e-12": ("adam", {"lr": 0.01, "eps": 1e-12}),
}
"""Default settings of :func:`update_ratios_by_layer`: label -> (optimizer name, keyword arguments)."""


def update_ratios_by_layer(X: np.ndarray, y: np.ndarray, *,
                           settings: Mapping[str, tuple[str, dict[str, Any]]] | None = None, depth: int = 14,
                           width: int = 32, epochs: int = 6, batch_size: int = 50,
                           seed: int = 0) -> LayerUpdates:
    r"""Train the same deep sigmoid MLP with each optimizer setting; record every layer's update-to-data ratio.

    The network (``depth`` hidden sigmoid layers of ``width`` units, Glorot
    uniform, a logit output with binary cross-entropy) starts from the same
    weights (``default_rng(seed)``) for every setting, and sees the same
    batches (``default_rng(seed + 1)``). :class:`~vanishing.diagnostics.UpdateRatio`
    and :class:`~vanishing.diagnostics.GradientNorms` record every step.
    """
    X = check.array("X", X, ndim=2)
    check.number("depth", depth, low=1, high=40, integer=True)
    check.number("width", width, low=1, high=256, integer=True)
    check.non_negative("seed", seed, integer=True)
    targets = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    settings = dict(settings or UPDATE_RATIO_SETTINGS)
    ratio, rms, losses, eps = {}, {}, {}, {}
    steps = 0
    for label, (name, options) in settings.items():
        model = mlp([X.shape[1], *[width] * depth, targets.shape[1]], "sigmoid", rng=np.random.default_rng(seed))
        opt = make_optimizer(name, model, **options)
        ratios, norms = UpdateRatio(), GradientNorms()
        history = fit(model, "bce_logits", opt, X, targets, epochs=epochs, batch_size=batch_size,
                      rng=np.random.default_rng(seed + 1), callbacks=[ratios, norms])
        sizes = np.array([np.sqrt(layer.params["W"].size) for _, layer in dense_layers(model)])
        ratio[label] = np.median(ratios.history, axis=0)
        rms[label] = np.median(norms.history, axis=0) / sizes
        losses[label] = np.asarray(history.loss)
        eps[label] = getattr(opt, "eps", None)
        steps = history.steps
    return LayerUpdates(labels=list(settings), ratio=ratio, grad_rms=rms, loss=losses, eps=eps, depth=int(depth),
                        width=int(width), steps=int(steps))


def update_ratio_table(result: LayerUpdates, layers: Sequence[int] = (1, 4, 8, 12, 15)) -> str:
    """The median update ratio of a few Dense layers (1 = first) per setting, and the gradient RMS there."""
    layers = [k for k in layers if 1 <= k <= len(next(iter(result.ratio.values())))]
    rows = [[label, *[f"{result.ratio[label][k - 1]:.0e}" for k in layers]] for label in result.labels]
    first = result.labels[0]
    rows.append([f"RMS gradient entry ({first})", *[f"{result.grad_rms[first][k - 1]:.0e}" for k in layers]])
    return text_table(["median |ΔW|/|W| per step, Dense layer", *[str(k) for k in layers]], rows)


# --- a dead ReLU unit -----------------------------------------------------------------------------------------------

DEAD_UNIT_MARGIN = 1.0
"""How far below 0 the killed unit's largest pre-activation ends (notebook 03's :func:`kill_units`)."""

DEAD_UNIT_SETTINGS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "SGD": ("sgd", {"lr": 0.1}, False),
    "SGD + momentum 0.9, new optimizer": ("sgd", {"lr": 0.1, "momentum": 0.9}, False),
    "SGD + momentum 0.9, velocity from before": ("sgd", {"lr": 0.1, "momentum": 0.9}, True),
    "SGD + L2 decay 0.01": ("sgd", {"lr": 0.1, "weight_decay": 0.01}, False),
    "Adam": ("adam", {"lr": 0.03}, False),
    "Adam, moments from before": ("adam", {"lr": 0.03}, True),
    "Adam + L2 decay 0.01": ("adam", {"lr": 0.03, "weight_decay": 0.01}, False),
    "AdamW, decoupled decay 0.01": ("adamw", {"lr": 0.03, "decoupled_weight_decay": 0.01}, False),
}
"""label -> (optimizer name, keyword arguments, keep the optimizer state from the steps before the unit died)."""


@dataclass
class DeadUnitSetup:
    """A one-hidden-layer ReLU network on two moons, with hidden unit ``unit`` of the first Dense layer."""

    model: Sequential
    X: np.ndarray
    y: np.ndarray
    unit: int


def dead_unit_setup(seed: int = 0, *, n: int = 200, width: int = 8, unit: int = 0) -> DeadUnitSetup:
    """The network of the dead-unit experiment: ``mlp([2, width, 1], "relu")`` on ``two_moons(n)``.

    Weights from ``default_rng(seed)``, data from ``default_rng(seed + 1)``.
    Nothing is dead yet: :func:`dead_unit_updates` kills ``unit`` with notebook
    03's :func:`~vanishing.experiments.dying_relu.kill_units`.
    """
    check.non_negative("seed", seed, integer=True)
    check.number("unit", unit, low=0, high=width - 1, integer=True)
    X, y = two_moons(n, noise=0.1, rng=np.random.default_rng(seed + 1))
    model = mlp([2, width, 1], "relu", rng=np.random.default_rng(seed))
    return DeadUnitSetup(model=model, X=X, y=np.asarray(y, dtype=np.float64).reshape(-1, 1), unit=int(unit))


@dataclass(frozen=True)
class DeadUnitRun:
    r"""What one optimizer setting did to a dead unit's incoming weights and bias after it died.

    Attributes
    ----------
    label, optimizer, options, carried
        The setting; ``carried`` is True when the optimizer's state from the
        steps before the death was kept.
    params
        ``(T+1, 3)``: :math:`(W_{1k}, W_{2k}, b_k)` from the moment of death on.
    gradients_zero
        True if every gradient entry of the unit was exactly 0 in every step while
        it was dead (up to and including the step after which it revived, if it did).
    revived_at
        The first step after which the unit output something non-zero for some
        training input (:math:`XW + b > 0` somewhere), or -1.
    lr
        The learning rate.
    """

    label: str
    optimizer: str
    options: dict[str, Any]
    carried: bool
    params: np.ndarray
    gradients_zero: bool
    revived_at: int
    lr: float

    @property
    def unchanged(self) -> bool:
        """True if the weights and bias are bit for bit what they were at death."""
        return bool(np.array_equal(self.params[-1], self.params[0]))

    @property
    def first_step(self) -> np.ndarray:
        """``(3,)``: the first step's change of each parameter, divided by lr."""
        return (self.params[1] - self.params[0]) / self.lr

    @property
    def ratio(self) -> np.ndarray:
        """``(3,)``: each parameter's final value over its value at death (1 = unchanged)."""
        return self.params[-1] / self.params[0]

    @property
    def distance(self) -> float:
        """How far the three parameters moved in total, :math:`\\lVert p_T - p_0\\rVert`."""
        return float(np.linalg.norm(self.params[-1] - self.params[0]))


def _train_step(model: Sequential, loss: Any, X: np.ndarray, y: np.ndarray, opt: Optimizer) -> None:
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    opt.step()


def dead_unit_updates(settings: Mapping[str, tuple[str, dict[str, Any], bool]] | None = None, *, steps: int = 150,
                      warmup: int = 10, seed: int = 0) -> dict[str, DeadUnitRun]:
    r"""Kill a ReLU unit, then train on, and record what each optimizer setting does to its weights.

    For every setting: build :func:`dead_unit_setup` (same weights each time),
    train ``warmup`` full-batch steps with the unit alive, lower its bias with
    notebook 03's :func:`~vanishing.experiments.dying_relu.kill_units` until
    :math:`XW + b \le -`:data:`DEAD_UNIT_MARGIN` on every input, and take
    ``steps`` more steps, either with the same optimizer (``carried``: its
    velocity or moments remember the steps before) or with a new one. While the
    unit is dead every gradient entry of it is exactly 0; whatever moves it
    comes from the optimizer's state or from the weight decay.
    """
    check.number("steps", steps, low=1, high=100_000, integer=True)
    check.non_negative("warmup", warmup, integer=True)
    runs = {}
    loss = make_loss("bce_logits")
    for label, (name, options, carried) in (settings or DEAD_UNIT_SETTINGS).items():
        setup = dead_unit_setup(seed)
        model, X, y, k = setup.model, setup.X, setup.y, setup.unit
        dense = model[0]
        W, b, dW, db = dense.params["W"], dense.params["b"], dense.grads["W"], dense.grads["b"]
        opt = make_optimizer(name, model, **options)
        for _ in range(warmup):
            _train_step(model, loss, X, y, opt)
        kill_units(model, X, [k], margin=DEAD_UNIT_MARGIN)
        if not carried:
            opt = make_optimizer(name, model, **options)
        history = np.empty((steps + 1, 3))
        history[0] = (W[0, k], W[1, k], b[k])
        zero = True
        revived = -1
        for t in range(1, steps + 1):
            _train_step(model, loss, X, y, opt)
            if revived < 0:  # the gradients of the steps taken while the unit was dead
                zero = zero and not dW[:, k].any() and db[k] == 0
            history[t] = (W[0, k], W[1, k], b[k])
            if revived < 0 and np.any(X @ W[:, k] + b[k] > 0):
                revived = t
        runs[label] = DeadUnitRun(label=label, optimizer=name, options=dict(options), carried=bool(carried),
                                  params=history, gradients_zero=bool(zero), revived_at=revived,
                                  lr=float(options["lr"]))
    return runs


def dead_unit_table(runs: Mapping[str, DeadUnitRun]) -> str:
    """Per setting: gradients all 0?, weights unchanged?, first step / lr, final / initial value, revived?"""
    rows = []
    for run in runs.values():
        first = " ".join(f"{float(v) + 0.0:+.2g}" for v in run.first_step)  # + 0.0: no "-0"
        ratio = " ".join(f"{round(float(v), 3) + 0.0:.3f}" for v in run.ratio)
        rows.append([run.label, "yes" if run.gradients_zero else "no", "yes" if run.unchanged else "no", first,
                     ratio, str(run.revived_at) if run.revived_at > 0 else "no"])
    steps = len(next(iter(runs.values())).params) - 1
    return text_table(["setting", "grads 0 while dead", "unchanged", "1st step / lr (W1 W2 b)",
                       f"after {steps} / at death", "revived"], rows)


# --- text tables -----------------------------------------------------------------------------------------------------


