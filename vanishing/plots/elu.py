"""Notebook 05 (ELU): figures for :mod:`vanishing.experiments.elu`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..activations import ELU, ReLU, make_activation
from ..experiments import elu as ex
from ._style import GREY, OKABE_ITO, View, colour, new_figure, styled

__all__ = ["EluExplorerView", "bias_shift_plot", "elu_curves", "elu_explorer_plot", "saturation_sides_plot",
           "training_plot", "zigzag_plot"]

NOTEBOOK = "05"

ACTIVATION_COLOURS = {"relu": OKABE_ITO["vermillion"], "leaky_relu": OKABE_ITO["orange"], "elu": OKABE_ITO["blue"],
                      "selu": OKABE_ITO["green"], "tanh": OKABE_ITO["purple"], "sigmoid": OKABE_ITO["sky"]}
ACTIVATION_LABELS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU (0.01)", "elu": "ELU", "selu": "SELU",
                     "tanh": "tanh", "sigmoid": "sigmoid"}
_FLAT = OKABE_ITO["vermillion"]


def _check(result: object, kind: type, producer: str) -> None:
    if not isinstance(result, kind):
        raise TypeError(f"expected a {kind.__name__} from {producer}, got {type(result).__name__}")


@styled
def elu_curves(alphas: Sequence[float] = (0.5, 1.0, 2.0), *, z_range: tuple[float, float] = (-6.0, 3.0)) -> Figure:
    r"""ELU for several α beside ReLU (left), and its derivative two ways (right).

    Right panel: lines are :math:`\alpha e^z` (the engine's ``derivative``); the
    dots are :math:`f(z) + \alpha` computed from the forward output, as the
    engine's ``backward`` does. They coincide for z ≤ 0.
    """
    if len(alphas) == 0:
        raise ValueError("alphas is empty; give at least one positive number")
    low, high = z_range
    if not low < 0 < high:
        raise ValueError(f"z_range={z_range!r} must run from a negative to a positive number")
    fig = new_figure(1, 2, figsize=(9.0, 3.6))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.88, wspace=0.22)
    left, right = fig.axes
    z = np.linspace(low, high, 601)
    dots = np.linspace(low, 0.0, 13)
    left.plot(z, ReLU().fn(z), color=GREY, linestyle="--", linewidth=1.4, label="ReLU")
    right.plot(z, ReLU().derivative(z), color=GREY, linestyle="--", linewidth=1.4, label="ReLU′")
    for i, alpha in enumerate(alphas):
        f = ELU(float(alpha))
        c = colour(i)
        left.plot(z, f.fn(z), color=c, label=f"ELU, α = {alpha:g}")
        left.axhline(-alpha, color=c, linewidth=0.8, linestyle=":")
        right.plot(z, f.derivative(z), color=c, label=f"α·eᶻ, α = {alpha:g}")
        right.plot(dots, f.fn(dots) + alpha, "o", color=c, markersize=4, markerfacecolor="white",
                   label="f(z) + α (from the output)" if i == 0 else None)
    left.axhline(0, color=GREY, linewidth=0.6)
    left.set_xlim(low, high)
    left.set_xlabel("pre-activation z")
    left.set_ylabel("f(z)")
    left.set_title("ELU saturates to −α (dotted) for z → −∞", fontsize=10)
    left.legend(loc="upper left", fontsize=8)
    right.set_xlim(low, high)
    right.set_ylim(-0.05, max(2.2, max(alphas) * 1.1))
    right.set_xlabel("pre-activation z")
    right.set_ylabel("f′(z)")
    right.set_title("f′(z) = α·eᶻ = f(z) + α for z ≤ 0, 1 for z > 0", fontsize=10)
    right.legend(loc="upper left", fontsize=8)
    return fig


@styled
def saturation_sides_plot(sides: Sequence[ex.SaturationSide], *, z_max: float = 8.0) -> Figure:
    """One panel per activation: f and f′, with the ranges where f′ is below 1 % of its largest value shaded."""
    if not sides or not all(isinstance(s, ex.SaturationSide) for s in sides):
        raise TypeError("sides must be the list returned by saturation_sides()")
    ncols = 3
    nrows = -(-len(sides) // ncols)
    fig = new_figure(nrows, ncols, figsize=(9.0, 0.5 + 2.6 * nrows), sharex=True, sharey=True)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.93, wspace=0.1, hspace=0.3)
    z = np.linspace(-z_max, z_max, 801)
    for ax, side in zip(fig.axes, sides, strict=False):
        f = ELU(side.alpha) if side.activation == "elu" else make_activation(side.activation)
        with np.errstate(under="ignore"):
            d = f.derivative(z)
        flat = d < 0.01 * d.max()
        edges = np.flatnonzero(np.diff(flat.astype(int)))
        bounds = np.concatenate([[0], edges + 1, [z.size]])
        first = True
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if flat[a]:
                ax.axvspan(z[a], z[b - 1], color=_FLAT, alpha=0.12, linewidth=0,
                           label="f′ < 1 % of max" if first else None)
                first = False
        ax.plot(z, f.fn(z), color=OKABE_ITO["blue"], label="f(z)")
        ax.plot(z, d, color=OKABE_ITO["orange"], label="f′(z)")
        ax.axhline(0, color=GREY, linewidth=0.6)
        ax.set_title(f"{ACTIVATION_LABELS.get(side.activation, side.activation)}: saturates {side.sides}",
                     fontsize=9.5)
    for ax in fig.axes[len(sides):]:
        ax.set_visible(False)
    fig.axes[0].set_ylim(-2.0, 2.6)
    fig.axes[0].set_xlim(-z_max, z_max)
    for ax in fig.axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("z")
    fig.axes[0].legend(loc="upper left", fontsize=7.5)
    return fig


def _mantissa_label(value: float, _position: object = None) -> str:
    """Plain-number tick labels on a log axis: 0.5, 1, 2, 5, 10 (other minor ticks unlabelled)."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** np.floor(np.log10(value) + 1e-9)
    return f"{value:g}" if any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5)) else ""


def _plain_log_ticks(ax: Axes) -> None:
    """Label a log y axis with plain numbers (0.5, 1, 2) instead of 5×10⁻¹."""
    ax.yaxis.set_major_formatter(FuncFormatter(_mantissa_label))
    ax.yaxis.set_minor_formatter(FuncFormatter(_mantissa_label))


@styled
def bias_shift_plot(results: Mapping[str, ex.BiasShiftLayers]) -> Figure:
    """Per-layer mean of the activations in units of their spread, the share of units with a negative mean, the spread.

    Left: mean / sd of each hidden layer's outputs. Middle: the fraction of
    units whose mean output is below 0 (only those offset the others in the
    next layer's sums). Right: the sd itself, on a log scale.
    """
    if not results or not all(isinstance(r, ex.BiasShiftLayers) for r in results.values()):
        raise TypeError("results must be the dict returned by bias_shift_comparison()")
    fig = new_figure(1, 3, figsize=(10.0, 3.7))
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.25, top=0.86, wspace=0.3)
    mean_ax, neg_ax, std_ax = fig.axes
    for r in results.values():
        c = ACTIVATION_COLOURS.get(r.activation, GREY)
        layers = np.arange(1, r.depth + 1)
        label = f"{ACTIVATION_LABELS.get(r.activation, r.activation)}, {r.init} init"
        if r.activation == "elu" and r.alpha != 1.0:
            label = f"ELU (α = {r.alpha:g}), {r.init} init"
        style = "--" if r.activation == "leaky_relu" else "-"
        mean_ax.plot(layers, r.mean_over_std, style, color=c, marker="o", markersize=3, label=label)
        neg_ax.plot(layers, r.negative_units, style, color=c, marker="o", markersize=3, label=label)
        std_ax.plot(layers, r.std, style, color=c, marker="o", markersize=3, label=label)
    mean_ax.axhline(0, color="black", linewidth=0.8)
    depth = max(r.depth for r in results.values())
    for ax in fig.axes:
        ax.set_xlabel("hidden layer")
        ax.set_xlim(0.5, depth + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    mean_ax.set_ylabel("mean / sd")
    mean_ax.set_title("mean of a layer's outputs,\nin units of their sd", fontsize=10)
    neg_ax.set_ylim(-0.03, 0.75)
    neg_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0%}"))
    neg_ax.set_ylabel("units with a negative mean")
    neg_ax.set_title("share of units whose mean\noutput is below 0", fontsize=10)
    std_ax.set_yscale("log")
    _plain_log_ticks(std_ax)
    std_ax.set_ylabel("sd (log scale)")
    std_ax.set_title("spread of a layer's outputs", fontsize=10)
    handles, names = mean_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=len(names), fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig


def _zigzag_limits(runs: Sequence[ex.ZigZagRun]) -> tuple[float, float, float, float]:
    points = np.vstack([np.vstack([r.path, r.w_star[None, :]]) for r in runs])
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    half = max(float(np.max(high - low)) / 2 * 1.15, 0.5)
    return centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half


def _draw_zigzag(ax: Axes, run: ex.ZigZagRun, limits: tuple[float, float, float, float], c: str, *,
                 levels: int = 10) -> None:
    x0, x1, y0, y1 = limits
    grid = 90 if levels >= 10 else 64
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    H = run.X.T @ run.X / run.X.shape[0]
    dx, dy = gx - run.w_star[0], gy - run.w_star[1]
    loss = 0.5 * (H[0, 0] * dx * dx + 2 * H[0, 1] * dx * dy + H[1, 1] * dy * dy)
    top = float(loss.max())
    ax.contour(gx, gy, loss, levels=top * np.geomspace(1e-3, 1.0, levels), colors=GREY, linewidths=0.6, alpha=0.8)
    path = run.path
    ax.plot(path[:, 0], path[:, 1], "-", color=c, linewidth=1.1, marker="o", markersize=2.2)
    ax.plot(*run.start, "o", color="black", markersize=5, label="start")
    ax.plot(*run.w_star, "*", color=OKABE_ITO["vermillion"], markersize=11, label="optimum w*")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("w₁")


def _zigzag_title(label: str, run: ex.ZigZagRun) -> str:
    reached = f"{run.steps_to_tol} steps" if run.steps_to_tol > 0 else f"not within {len(run.path) - 1} steps"
    opposite = "" if not np.isfinite(run.opposite_sign) else f"; w₁, w₂ moved opposite ways: {run.opposite_sign:.0%}"
    return f"{label} (mean x = {run.X.mean():+.2f})\n{reached} to ‖w − w*‖ < {run.tol:g}{opposite}"


@styled
def zigzag_plot(comparison: ex.ZigZagComparison) -> Figure:
    """The example paths of :func:`zigzag_comparison` over the loss contours, one panel per kind of input.

    Each title gives the steps to the tolerance and the share of updates
    (before reaching it) that moved the two weights in opposite directions,
    which is the direction from the start to the optimum.
    """
    _check(comparison, ex.ZigZagComparison, "zigzag_comparison()")
    runs = list(comparison.examples.values())
    k = len(runs)
    fig = new_figure(1, k, figsize=(3.5 * k, 4.2))
    fig.subplots_adjust(left=0.065, right=0.99, bottom=0.12, top=0.8, wspace=0.22)
    limits = _zigzag_limits(runs)
    for i, (ax, (label, run)) in enumerate(zip(fig.axes, comparison.examples.items(), strict=True)):
        _draw_zigzag(ax, run, limits, colour(i))
        ax.set_title(_zigzag_title(label, run).replace("; w₁", "\nw₁"), fontsize=9)
    fig.axes[0].set_ylabel("w₂")
    fig.axes[0].legend(loc="lower left", fontsize=7.5)
    mode = comparison.mode.replace("_", "-")
    fig.suptitle(f"{mode} gradient descent on a linear unit with two weights, each at its fastest learning rate",
                 fontsize=10.5, y=0.985)
    return fig


@styled
def training_plot(result: ex.ActivationTraining) -> Figure:
    """Training loss per epoch (median over seeds, band: lowest to highest) and test accuracy per seed."""
    _check(result, ex.ActivationTraining, "activation_training()")
    fig = new_figure(1, 2, figsize=(9.0, 3.7))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.86, wspace=0.28)
    loss_ax, acc_ax = fig.axes
    epochs = np.arange(1, result.epoch_loss.shape[2] + 1)
    for i, name in enumerate(result.activations):
        c = ACTIVATION_COLOURS.get(name, colour(i))
        low, high = result.band(i)
        loss_ax.fill_between(epochs, low, high, color=c, alpha=0.15, linewidth=0)
        loss_ax.plot(epochs, result.median_curve(i), color=c, label=ACTIVATION_LABELS.get(name, name))
        acc = result.test_accuracy[i]
        jitter = np.linspace(-0.15, 0.15, acc.size)
        acc_ax.plot(i + jitter, acc, "o", color=c, markersize=5, alpha=0.8)
        if np.any(np.isfinite(acc)):
            acc_ax.plot([i - 0.28, i + 0.28], [np.nanmedian(acc)] * 2, color="black", linewidth=1.6)
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss (log scale)")
    s = result.settings
    loss_ax.set_title(f"{s['dataset']}, {s['depth']} hidden layers of {s['width']}: median of "
                      f"{len(result.seeds)} seeds", fontsize=10)
    loss_ax.legend(loc="lower left", fontsize=8)
    acc_ax.set_xticks(range(len(result.activations)))
    acc_ax.set_xticklabels([ACTIVATION_LABELS.get(a, a).replace(" (0.01)", "") for a in result.activations])
    acc_ax.set_xlim(-0.6, len(result.activations) - 0.4)
    acc_ax.set_ylabel("test accuracy")
    acc_ax.set_title("test accuracy, one dot per seed (bar: median)", fontsize=10)
    acc_ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    acc_ax.grid(axis="x", visible=False)
    return fig


def elu_explorer_plot(state: ex.EluExplorerState) -> Figure:
    """The widget's figure: per-layer mean and spread of the chosen activation, and the zig-zag toy on its outputs.

    Left: mean (solid) and sd (dotted) of each hidden layer's outputs, the band spanning the 10th to 90th
    percentile of the units' own means; ReLU with He init in grey. Right: the toy's path over its loss
    contours (● start, ★ optimum); the title gives the steps to the tolerance and the share of updates
    that moved the two weights in opposite directions.
    """
    return EluExplorerView().show(state)


def _loss_ellipses(run: ex.ZigZagRun, limits: tuple[float, float, float, float], levels: int,
                   points: int = 120) -> list[np.ndarray]:
    """Contour lines of the toy's loss, ``0.5 (w − w*)ᵀ H (w − w*)`` with ``H = XᵀX / N``: ellipses around w*.

    The levels are those of :func:`_draw_zigzag`: ``levels`` values from 1/1000 of the window's highest loss
    (at a corner) to that loss, geometrically spaced. An ellipse of level c has semi-axes ``√(2c / λ)``
    along H's eigenvectors (a direction with λ near 0 gives a long ellipse: nearly parallel lines).
    """
    x0, x1, y0, y1 = limits
    H = run.X.T @ run.X / run.X.shape[0]
    corners = np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]]) - run.w_star
    top = float(np.max(0.5 * np.einsum("ni,ij,nj->n", corners, H, corners)))
    eigenvalues, vectors = np.linalg.eigh(H)
    eigenvalues = np.maximum(eigenvalues, 1e-12 * max(float(eigenvalues.max()), 1e-300))
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return [run.w_star + (vectors @ (np.sqrt(2.0 * c / eigenvalues)[:, None] * circle)).T
            for c in top * np.geomspace(1e-3, 1.0, levels)]


class EluExplorerView(View):
    """The figure of :func:`elu_explorer_plot`, kept by the ``elu_explorer`` widget and changed in place."""

    @styled
    def __init__(self) -> None:
        # few, short texts and a modest size: laying out and rendering glyphs is most of a redraw's cost
        self.figure = new_figure(1, 2, figsize=(8.0, 3.4))
        self.figure.subplots_adjust(left=0.075, right=0.985, bottom=0.14, top=0.85, wspace=0.22)
        left, right = self.figure.axes
        self.reference = (left.plot([], [], "-", color=GREY, linewidth=1.3)[0],
                          left.plot([], [], ":", color=GREY, linewidth=1.3)[0])
        self.band = left.fill_between([0.0, 1.0], 0, 0, alpha=0.15, linewidth=0)
        self.mean = left.plot([], [], "-o", markersize=3)[0]
        self.std = left.plot([], [], ":", linewidth=1.6)[0]
        left.axhline(0, color="black", linewidth=0.8)
        left.set_xlabel("hidden layer")
        left.set_ylabel("mean (solid), sd (dotted)")
        left.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        left.yaxis.set_major_locator(MaxNLocator(nbins=5))
        self.contours = LineCollection([], colors=GREY, linewidths=0.6, alpha=0.8)
        right.add_collection(self.contours)
        self.path = right.plot([], [], "-", linewidth=1.1, marker="o", markersize=2.2)[0]
        self.start = right.plot([], [], "o", color="black", markersize=5)[0]
        self.optimum = right.plot([], [], "*", color=OKABE_ITO["vermillion"], markersize=11)[0]
        right.set_aspect("equal", adjustable="box")
        right.set_xlabel("w₁")
        right.set_ylabel("w₂")
        right.xaxis.set_major_locator(MaxNLocator(nbins=5))
        right.yaxis.set_major_locator(MaxNLocator(nbins=5))

    def update(self, state: ex.EluExplorerState) -> None:
        _check(state, ex.EluExplorerState, "elu_explorer_state()")
        r = state.layers
        c = ACTIVATION_COLOURS.get(r.activation, OKABE_ITO["blue"])
        name = f"ELU (α = {r.alpha:g})" if r.activation == "elu" else ACTIVATION_LABELS.get(r.activation, r.activation)
        short = "Leaky ReLU" if r.activation == "leaky_relu" else name
        self._layers(state, c)
        # no legend (the widget's title says what the lines are): every text costs time at each redraw
        self.figure.axes[0].set_title(f"{short} ({r.init}): layer {r.depth} mean {r.mean[-1]:+.2f}, "
                                      f"sd {r.std[-1]:.2f}\n{r.negative_units[-1]:.0%} of its units have a mean < 0",
                                      fontsize=9)
        self._toy(state, c, short)

    def _layers(self, state: ex.EluExplorerState, c: str) -> None:
        left = self.figure.axes[0]
        r = state.layers
        layers = np.arange(1, r.depth + 1)
        for line, values in zip(self.reference, ("mean", "std"), strict=True):
            line.set_visible(state.reference is not None)
            if state.reference is not None:
                line.set_data(layers, getattr(state.reference, values))
        self.band.set_data(layers, r.unit_mean_low, r.unit_mean_high)
        self.band.set_facecolor(c)
        self.mean.set_data(layers, r.mean)
        self.std.set_data(layers, r.std)
        for line in (self.mean, self.std):
            line.set_color(c)
        left.set_xlim(0.5, r.depth + 0.5)
        stack = [r.std, r.unit_mean_high] + ([state.reference.std] if state.reference is not None else [])
        top = float(np.nanmax(np.concatenate(stack)))
        bottom = float(np.nanmin(np.concatenate([r.unit_mean_low, [0.0]])))
        if np.isfinite(top) and np.isfinite(bottom):
            left.set_ylim(bottom - 0.05 * (top - bottom) - 0.05, top * 1.3 + 0.05)
        else:
            left.set_ylim(-1.0, 1.0)

    def _toy(self, state: ex.EluExplorerState, c: str, short: str) -> None:
        right = self.figure.axes[1]
        run = state.zigzag
        limits = _zigzag_limits([run])
        self.contours.set_segments(_loss_ellipses(run, limits, levels=7))
        self.path.set_data(run.path[:, 0], run.path[:, 1])
        self.path.set_color(c)
        self.start.set_data([run.start[0]], [run.start[1]])
        self.optimum.set_data([run.w_star[0]], [run.w_star[1]])
        right.set_xlim(limits[0], limits[1])
        right.set_ylim(limits[2], limits[3])
        reached = f"{run.steps_to_tol} steps" if run.steps_to_tol > 0 else "not reached"
        opposite = f"{run.opposite_sign:.0%}" if np.isfinite(run.opposite_sign) else "-"
        centred = ", centred" if state.centre else ""
        right.set_title(f"toy on {short} outputs{centred}: {reached}\n{opposite} of the moves opposite-way",
                        fontsize=9)
