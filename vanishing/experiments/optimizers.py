r"""Notebook 07 (optimizers): the engine's optimizers on 2-D loss surfaces, and on a unit that died.

* :data:`LOSS_SURFACES`: four 2-D losses with analytic gradients, the
  ill-conditioned quadratic :math:`\tfrac12(x^2 + \kappa y^2)`, the Rosenbrock
  valley, the saddle :math:`x^2 - y^2` and the plateau :math:`c\max(0, x) + \tfrac12 y^2`;
* :func:`make_surface_optimizer`: one of :data:`OPTIMIZER_METHODS` by name, with its settings;
* :func:`run_trajectory` follows one optimizer on a surface, :func:`compare_optimizers`
  several from the same start (the widget ``optimizer_paths``);
* :func:`dead_unit_updates`: what each optimizer setting does to a ReLU unit that
  died during training, whose every gradient entry is then exactly 0.

Every run calls the engine's optimizers (:mod:`vanishing.optim`) unchanged, on
a :class:`~vanishing.layers.Parameters` point for the surfaces. numpy only.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as check
from ..data import two_moons
from ..layers import Parameters
from ..losses import make_loss
from ..models import mlp
from ..optim import SGD, Adam, Optimizer, RMSProp, make_optimizer
from ..scenarios import kill_units

__all__ = [
    "DEAD_UNIT_SETTINGS", "LOSS_SURFACES", "OPTIMIZER_LABELS", "OPTIMIZER_METHODS", "PLATEAU_SLOPE", "VALLEY_KAPPA",
    "DeadUnitRun", "LossSurface", "OptimizerComparison", "SurfacePath", "compare_optimizers", "dead_unit_updates",
    "make_surface_optimizer", "run_trajectory",
]

NOTEBOOK = "07"

# --- the 2-D loss surfaces -------------------------------------------------------------------------------------------

VALLEY_KAPPA = 50.0
"""Condition number of the ill-conditioned quadratic: its curvature along y is 50 times that along x."""

PLATEAU_SLOPE = 1e-3
"""The slope c of the plateau :math:`c\\max(0, x) + \\tfrac12 y^2` for x > 0."""


@dataclass(frozen=True)
class LossSurface:
    r"""A 2-D loss :math:`f(x, y)` with its analytic gradient, a plotting window and default settings.

    ``value(x, y)`` works elementwise on arrays (contour grids) and on floats;
    ``gradient(x, y)`` returns ``(df/dx, df/dy)`` at one point. ``window`` is
    ``(x_min, x_max, y_min, y_max)``, the region drawn; a run that leaves the
    window enlarged by half its size on every side (:attr:`box`) is stopped.
    ``minimum`` and ``f_min`` are None on the saddle (unbounded below). ``lr``
    is the default learning rate of SGD, momentum and Nesterov, ``adaptive_lr``
    that of RMSProp and Adam.
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


def _rosenbrock_grad(x: float, y: float) -> tuple[float, float]:
    r = y - x * x
    return -2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r


LOSS_SURFACES: dict[str, LossSurface] = {
    "ill_conditioned": LossSurface(
        "ill_conditioned", f"½(x² + {VALLEY_KAPPA:g}·y²)", lambda x, y: 0.5 * (x * x + VALLEY_KAPPA * y * y),
        lambda x, y: (x, VALLEY_KAPPA * y), (-3.0, 3.0, -1.5, 1.5), (-2.8, 1.0), (0.0, 0.0), 0.0,
        lr=0.036, adaptive_lr=0.1, steps=150),
    "rosenbrock": LossSurface(
        "rosenbrock", "(1 − x)² + 100·(y − x²)²", lambda x, y: (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2,
        _rosenbrock_grad, (-2.0, 2.0, -1.0, 3.0), (-1.2, 1.0), (1.0, 1.0), 0.0, lr=1e-3, adaptive_lr=0.1, steps=500),
    "saddle": LossSurface(
        "saddle", "x² − y²", lambda x, y: x * x - y * y, lambda x, y: (2.0 * x, -2.0 * y), (-2.0, 2.0, -2.0, 2.0),
        (1.5, 0.0), None, None, lr=0.1, adaptive_lr=0.05, steps=100),
    "plateau": LossSurface(
        # the kink at x = 0 gets the derivative 0, like the engine's ReLU at 0
        "plateau", f"{PLATEAU_SLOPE:g}·max(0, x) + ½y²", lambda x, y: PLATEAU_SLOPE * np.maximum(0.0, x) + 0.5 * y * y,
        lambda x, y: (PLATEAU_SLOPE if x > 0 else 0.0, y), (-1.0, 2.5, -2.0, 2.0), (2.0, 1.5), (0.0, 0.0), 0.0,
        lr=0.1, adaptive_lr=0.05, steps=150),
}
"""The 2-D losses of the notebook, by name."""


# --- optimizers on a point ------------------------------------------------------------------------------------------

OPTIMIZER_METHODS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
"""The optimizers followed on the surfaces (see :func:`make_surface_optimizer`)."""

OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "momentum", "nesterov": "Nesterov", "rmsprop": "RMSProp", "adam": "Adam"}

ADAPTIVE = ("rmsprop", "adam")


def make_surface_optimizer(method: str, model: Any, *, lr: float, momentum: float = 0.9, beta1: float = 0.9,
                           beta2: float = 0.999, rho: float = 0.9, eps: float = 1e-8, bias_correction: bool = True,
                           weight_decay: float = 0.0, decoupled_weight_decay: float = 0.0) -> Optimizer:
    """The engine optimizer for one of :data:`OPTIMIZER_METHODS` on ``model``.

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

    ``path`` (T+1, 2) holds the points visited, the start first, and
    ``values`` (T+1,) f there; a run that left the surface's box stops, with
    ``left_at`` the step after which it was outside (-1 if it never left).
    ``settings`` are the optimizer's (lr and the method's own), ``steps`` the
    number of steps asked for, ``noise`` the standard deviation of the Gaussian
    noise added to each gradient component.
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
        """Distance from the last point to the nearest minimiser (nan on the saddle)."""
        minimum = LOSS_SURFACES[self.surface].minimum
        if minimum is None:
            return math.nan
        if self.surface == "plateau":  # every x <= 0 on the line y = 0 is a minimiser
            return float(math.hypot(max(float(self.final[0]), 0.0), float(self.final[1])))
        return float(np.linalg.norm(self.final - np.asarray(minimum)))

    def first_step_below(self, level: float) -> int:
        """The first step at which :attr:`gap` < ``level`` (0 is the start), or -1 if never."""
        below = np.flatnonzero(self.gap < level)
        return int(below[0]) if below.size else -1

    def reversal_fraction(self, steps: int | None = None) -> float:
        r"""Fraction of consecutive steps that point in opposing directions (:math:`\Delta_t \cdot \Delta_{t-1} < 0`).

        1 for a zig-zag, 0 for a path that never turns back; over the first ``steps`` steps (default: all).
        """
        d = np.diff(self.path[: None if steps is None else steps + 1], axis=0)
        return float(np.mean(np.sum(d[1:] * d[:-1], axis=1) < 0)) if len(d) > 1 else math.nan


def _label(method: str, settings: Mapping[str, Any]) -> str:
    label = OPTIMIZER_LABELS[method]
    if method in ("momentum", "nesterov"):
        label += f" μ={settings['momentum']:g}"
    elif method == "adam":
        label += f" β₁={settings['beta1']:g}, β₂={settings['beta2']:g}"
        label += "" if settings["bias_correction"] else ", no bias correction"
    return label + f", lr={settings['lr']:g}"


def run_trajectory(surface: str, method: str, *, start: Sequence[float] | None = None, steps: int | None = None,
                   lr: float | None = None, momentum: float = 0.9, beta1: float = 0.9, beta2: float = 0.999,
                   rho: float = 0.9, eps: float = 1e-8, bias_correction: bool = True, noise: float = 0.0,
                   rng: np.random.Generator | None = None, label: str | None = None,
                   noise_draws: np.ndarray | None = None) -> SurfacePath:
    r"""Follow one engine optimizer on a surface: set the gradient :math:`\nabla f(w) + \sigma\xi`, call ``step()``.

    ``surface`` is a name in :data:`LOSS_SURFACES`, ``method`` one of
    :data:`OPTIMIZER_METHODS`. ``start`` (2,), ``steps`` and ``lr`` default to
    the surface's (``adaptive_lr`` for RMSProp and Adam). ``momentum``,
    ``beta1``, ``beta2``, ``rho``, ``eps`` and ``bias_correction`` are the
    optimizer's settings (only those of ``method`` count). With ``noise``
    σ > 0, :math:`\xi \sim N(0, I)` is drawn from ``rng``, or taken from
    ``noise_draws`` (steps, 2) when given (so that several optimizers can share it).
    The run stops early if the point leaves the surface's :attr:`LossSurface.box`.
    """
    surf = check.lookup("surface", surface, LOSS_SURFACES)
    check.choice("method", method, OPTIMIZER_METHODS)
    point = _check_start(surf.start if start is None else start)
    steps = surf.steps if steps is None else check.positive("steps", steps, integer=True)
    lr = (surf.adaptive_lr if method in ADAPTIVE else surf.lr) if lr is None else lr
    check.non_negative("noise", noise)
    if noise > 0 and noise_draws is None:
        noise_draws = check.rng("rng", rng).standard_normal((steps, 2))
    params = Parameters(point.copy())
    opt = make_surface_optimizer(method, params, lr=lr, momentum=momentum, beta1=beta1, beta2=beta2, rho=rho,
                                 eps=eps, bias_correction=bias_correction)
    w, g = params.params["w"], params.grads["w"]
    x_lo, x_hi, y_lo, y_hi = surf.box
    path = np.empty((steps + 1, 2))
    path[0] = w
    left_at = -1
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g[0], g[1] = surf.gradient(float(w[0]), float(w[1]))
            if noise > 0:
                g += noise * noise_draws[t - 1]
            opt.step()
            path[t] = w
            if not (x_lo <= w[0] <= x_hi and y_lo <= w[1] <= y_hi):  # also catches nan
                left_at = t
                break
        path = path[: (left_at if left_at > 0 else steps) + 1]
        values = np.asarray(surf.value(path[:, 0], path[:, 1]), dtype=np.float64)
    settings: dict[str, Any] = {"lr": float(lr)}
    if method in ("momentum", "nesterov"):
        settings["momentum"] = float(momentum)
    elif method == "rmsprop":
        settings.update(rho=float(rho), eps=float(eps))
    elif method == "adam":
        settings.update(beta1=float(beta1), beta2=float(beta2), eps=float(eps), bias_correction=bool(bias_correction))
    return SurfacePath(surface=surface, method=method, label=label or _label(method, settings), settings=settings,
                       path=path, values=values, steps=int(steps), left_at=left_at, noise=float(noise))


def _check_start(start: Any) -> np.ndarray:
    point = check.array("start", np.asarray(start, dtype=np.float64), ndim=1)
    if point.shape != (2,):
        raise ValueError(f"start={tuple(np.ravel(start))!r} has {point.size} coordinates; a 2-D surface needs 2")
    return point


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
                       beta2: float = 0.999, noise: float = 0.0, rng: np.random.Generator | None = None,
                       lrs: Mapping[str, float] | None = None) -> OptimizerComparison:
    """Run each of ``methods`` on ``surface`` from the same start (:func:`run_trajectory`).

    ``lr`` is the learning rate of SGD, momentum and Nesterov, ``adaptive_lr``
    that of RMSProp and Adam (None: the surface's defaults): an SGD step is
    lr × gradient, an Adam step about lr whatever the gradient's size, so one
    number cannot suit both. ``lrs`` (method -> lr) overrides either for single
    methods. With ``noise`` > 0 every method gets the same noise draws, drawn
    from ``rng`` (which is then required; without noise it is not used).
    """
    surf = check.lookup("surface", surface, LOSS_SURFACES)
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"methods is empty; allowed: one or more of {', '.join(map(repr, OPTIMIZER_METHODS))}")
    for i, method in enumerate(methods):
        check.choice(f"methods[{i}]", method, OPTIMIZER_METHODS)
    point = _check_start(surf.start if start is None else start)
    steps = surf.steps if steps is None else check.positive("steps", steps, integer=True)
    check.non_negative("noise", noise)
    draws = check.rng("rng", rng).standard_normal((steps, 2)) if noise > 0 else None
    lrs = dict(lrs or {})
    for key in lrs:
        check.choice("lrs key", key, methods)
    runs = {method: run_trajectory(surface, method, start=point, steps=steps, momentum=momentum, beta1=beta1,
                                   beta2=beta2, noise=noise, noise_draws=draws,
                                   lr=lrs.get(method, adaptive_lr if method in ADAPTIVE else lr))
            for method in methods}
    return OptimizerComparison(surface=surface, runs=runs, start=(float(point[0]), float(point[1])),
                               steps=int(steps), noise=float(noise))


# --- a ReLU unit that died during training ----------------------------------------------------------------------------

DEAD_UNIT_SETTINGS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "SGD, lr 0.1": ("sgd", {"lr": 0.1}, False),
    "momentum 0.9, lr 0.01, new optimizer": ("sgd", {"lr": 0.01, "momentum": 0.9}, False),
    "momentum 0.9, lr 0.01, velocity from before": ("sgd", {"lr": 0.01, "momentum": 0.9}, True),
    "SGD + L2 decay 0.01": ("sgd", {"lr": 0.1, "weight_decay": 0.01}, False),
    "Adam, lr 0.03": ("adam", {"lr": 0.03}, False),
    "Adam, moments from before": ("adam", {"lr": 0.03}, True),
    "Adam + L2 decay 0.01": ("adam", {"lr": 0.03, "weight_decay": 0.01}, False),
    "AdamW, decoupled decay 0.01": ("adamw", {"lr": 0.03, "decoupled_weight_decay": 0.01}, False),
}
"""label -> (optimizer name, its keyword arguments, keep the optimizer state from before the unit died).

Momentum runs at lr 0.01, so that its step for a steady gradient, lr/(1 − μ) = 0.1, is plain SGD's."""


@dataclass(frozen=True)
class DeadUnitRun:
    r"""What one optimizer setting did to a dead unit's incoming weights and bias after it died.

    ``params`` (T+1, 3): :math:`(W_{1k}, W_{2k}, b_k)` from the moment of death on;
    ``gradients_zero``: every gradient entry of the unit was exactly 0 in every
    step while it was dead; ``revived_at``: the first step after which
    :math:`x\cdot w + b > 0` for some training input, or -1.
    """

    label: str
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


def dead_unit_updates(settings: Mapping[str, tuple[str, dict[str, Any], bool]] | None = None, *, steps: int = 300,
                      warmup: int = 10, width: int = 8, unit: int = 0,
                      rng: np.random.Generator) -> dict[str, DeadUnitRun]:
    r"""Train, kill a ReLU unit, train on; record what each optimizer setting does to the dead unit's parameters.

    The network ``mlp([2, width, 1], "relu")`` and 200 two-moons points (binary
    cross-entropy on the logit) are drawn from ``rng`` once; every setting
    starts from a copy. It takes ``warmup`` full-batch steps with hidden unit
    ``unit`` alive; then :func:`vanishing.scenarios.kill_units` lowers that
    unit's bias until :math:`x \cdot w + b \le -1` on every input, and training
    goes on for ``steps`` steps with the same optimizer (``carried`` True: its
    velocity or moments remember the steps before) or a new one. While the
    unit is dead every gradient entry of it is exactly 0: whatever moves it
    comes from the optimizer's state or from weight decay.
    """
    check.positive("steps", steps, integer=True)
    check.non_negative("warmup", warmup, integer=True)
    check.number("unit", unit, low=0, high=width - 1, integer=True)
    X, y = two_moons(200, noise=0.1, rng=check.rng("rng", rng))
    y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    start, loss = mlp([2, width, 1], "relu", rng=rng), make_loss("bce_logits")
    runs = {}
    for label, (name, options, carried) in (settings or DEAD_UNIT_SETTINGS).items():
        model = copy.deepcopy(start)
        W, b, dW, db = (model[0].params["W"], model[0].params["b"], model[0].grads["W"], model[0].grads["b"])
        opt = make_optimizer(name, model, **options)
        history = np.empty((steps + 1, 3))
        zero, revived = True, -1
        for t in range(-warmup, steps + 1):
            if t == 0:
                kill_units(model, X, [unit], margin=1.0)
                opt = opt if carried else make_optimizer(name, model, **options)
                history[0] = (W[0, unit], W[1, unit], b[unit])
                continue
            loss.forward(model.forward(X), y)
            model.backward(loss.backward())
            zero = zero and (t < 0 or revived > 0 or (not dW[:, unit].any() and db[unit] == 0))
            opt.step()
            if t > 0:
                history[t] = (W[0, unit], W[1, unit], b[unit])
                revived = t if revived < 0 and np.any(X @ W[:, unit] + b[unit] > 0) else revived
        runs[label] = DeadUnitRun(label=label, params=history, gradients_zero=bool(zero), revived_at=revived,
                                  lr=float(options["lr"]))
    return runs
