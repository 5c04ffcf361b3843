"""Notebook 04 (leaky variants): its figures.

The static figures take the arrays the notebook's cells compute; :func:`leaky_explorer_plot` draws the
widget's :class:`vanishing.experiments.LeakyExploration`. Variants keep one colour per kind in the widget
(:data:`VARIANT_COLOURS`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..activations import LeakyReLU
from ..experiments import leaky as ex
from ._style import GREY, OKABE_ITO, LegendSlot, View, colour, decade_log_y, new_figure, styled

__all__ = [
    "LeakyExplorerView", "VARIANT_COLOURS", "leaky_derivative_plot", "leaky_explorer_plot", "leaky_revival_plot",
    "prelu_slopes_plot", "rrelu_modes_plot", "rrelu_slopes_plot", "variant_comparison_plot",
]

NOTEBOOK = "04"

VARIANT_COLOURS = {
    "relu": OKABE_ITO["black"],
    "leaky_small": OKABE_ITO["orange"],
    "leaky_large": OKABE_ITO["blue"],
    "prelu": OKABE_ITO["green"],
    "rrelu": OKABE_ITO["purple"],
}
"""Colour per kind of variant: ReLU, Leaky ReLU with α < 0.1 and ≥ 0.1, PReLU, RReLU."""


def _variant_colour(label: str) -> str:
    if label.startswith("ReLU"):
        return VARIANT_COLOURS["relu"]
    if label.startswith("Leaky"):
        alpha = float(label.split("=")[-1])
        return VARIANT_COLOURS["leaky_small" if alpha < 0.1 else "leaky_large"]
    if label.startswith("PReLU"):
        return VARIANT_COLOURS["prelu"]
    if label.startswith("RReLU"):
        return VARIANT_COLOURS["rrelu"]
    return GREY


def _variant_style(label: str) -> dict[str, object]:
    """ReLU dashed and drawn under the others, so that a variant that follows it exactly stays visible."""
    if label.startswith("ReLU"):
        return {"color": _variant_colour(label), "linestyle": (0, (5, 2)), "linewidth": 2.6, "zorder": 2}
    return {"color": _variant_colour(label), "linestyle": "-", "linewidth": 1.6, "zorder": 3}


def _check(result: object, kind: type, producer: str) -> None:
    if not isinstance(result, kind):
        raise TypeError(f"expected a {kind.__name__} from {producer}(), got {type(result).__name__}")


def _band(ax: Axes, x: np.ndarray, median: np.ndarray, low: np.ndarray, high: np.ndarray, label: str,
          marker: str | None = None) -> None:
    style = _variant_style(label)
    ax.fill_between(x, low, high, color=style["color"], alpha=0.15, linewidth=0, zorder=1)
    ax.plot(x, median, label=label, marker=marker, markersize=4, **style)


def _layer_axis(ax: Axes, layers: int) -> None:
    ax.set_xticks(range(1, layers + 1))
    ax.set_xlabel("hidden layer (1 = next to the input)")


# --- 1. Leaky ReLU's derivative ------------------------------------------------------------------------------------

@styled
def leaky_derivative_plot(z: np.ndarray, finite_difference: np.ndarray, *, alpha: float) -> Figure:
    """Leaky ReLU, its derivative (engine) and finite differences at points ``z``, and the claim α·e^z.

    Left: f and f′ on the whole range. Right: the negative side on a log
    axis, where α and α·e^z can be told apart.
    """
    z, fd = np.asarray(z, dtype=np.float64), np.asarray(finite_difference, dtype=np.float64)
    if z.shape != fd.shape or z.ndim != 1:
        raise ValueError(f"z and finite_difference must be 1-D of one shape; got {z.shape} and {fd.shape}")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.25)
    left, right = fig.axes
    layer = LeakyReLU(alpha)
    grid = np.linspace(z.min(), z.max(), 401)
    claim = np.where(grid > 0, 1.0, alpha * np.exp(np.minimum(grid, 0)))
    left.plot(grid, layer.fn(grid), color=OKABE_ITO["blue"], label="f(z)")
    left.plot(grid, layer.derivative(grid), color=OKABE_ITO["orange"], label="f′(z), the engine")
    left.plot(z, fd, "o", color="black", markersize=3.5, label="finite differences")
    left.plot(grid, claim, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.3,
              label="claim: α·e^z for z < 0")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.set_xlabel("pre-activation z")
    left.set_ylabel("value")
    left.set_ylim(-0.3, 1.6)
    left.set_title(f"Leaky ReLU, α = {alpha:g}")
    left.legend(loc="upper left", fontsize=8)

    zn = grid[grid < 0]
    right.plot(zn, np.full_like(zn, alpha), color=OKABE_ITO["orange"], label=f"the engine: α = {alpha:g}")
    right.plot(z[z < 0], fd[z < 0], "o", color="black", markersize=3.5, label="finite differences")
    right.plot(zn, alpha * np.exp(zn), color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.3,
               label="claim: α·e^z")
    decade_log_y(right)
    right.set_ylim(alpha * np.exp(zn.min()) / 2, alpha * 3)
    right.set_xlabel("pre-activation z < 0")
    right.set_ylabel("f′(z) (log scale)")
    right.set_title("negative side: the derivative is the constant α")
    right.legend(loc="lower right", fontsize=8)
    return fig


# --- 2. PReLU ------------------------------------------------------------------------------------------------------

@styled
def prelu_slopes_plot(steps: np.ndarray, path: np.ndarray, alphas: Sequence[np.ndarray], *,
                      alpha_start: float) -> Figure:
    """PReLU's slopes: those of hidden layer 1 during training (``path``, records x units, at ``steps``),
    and every hidden layer's slopes at the end (``alphas``, one array per layer)."""
    steps, path = np.asarray(steps), np.asarray(path)
    if path.ndim != 2 or path.shape[0] != steps.shape[0]:
        raise ValueError(f"path must have one row per step; got steps {steps.shape} and path {path.shape}")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.22)
    left, right = fig.axes
    left.plot(steps, path, color=OKABE_ITO["green"], linewidth=0.9, alpha=0.6)
    left.axhline(alpha_start, color="black", linestyle="--", linewidth=1.0, label=f"start: α = {alpha_start:g}")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.set_xlabel("training step")
    left.set_ylabel("slope α of one unit")
    left.set_title(f"hidden layer 1: its {path.shape[1]} slopes during training")
    left.legend(loc="upper left", fontsize=8)
    rng = np.random.default_rng(0)  # horizontal jitter only, so that the dots do not hide each other
    for k, values in enumerate(alphas, start=1):
        right.plot(k + rng.uniform(-0.18, 0.18, size=values.size), values, "o", color=OKABE_ITO["green"],
                   markersize=4, alpha=0.75, label="learned slope of a unit" if k == 1 else None)
        right.plot([k - 0.3, k + 0.3], [np.median(values)] * 2, color="black", linewidth=2.0,
                   label="median of the layer" if k == 1 else None)
    right.axhline(alpha_start, color="black", linestyle="--", linewidth=1.0)
    right.axhline(0, color=GREY, linewidth=0.8)
    _layer_axis(right, len(alphas))
    right.set_ylabel("learned slope α")
    right.set_title(f"every hidden layer after {int(steps[-1])} steps")
    right.legend(loc="upper right", fontsize=8)
    low = min(float(path.min()), *(float(a.min()) for a in alphas), 0.0)
    high = max(float(path.max()), *(float(a.max()) for a in alphas))
    for ax in (left, right):
        ax.set_ylim(low - 0.08, high + 0.15)
    return fig


# --- 3. Randomized ReLU --------------------------------------------------------------------------------------------

@styled
def rrelu_slopes_plot(slopes: np.ndarray, *, lower: float, upper: float, fan: int = 25) -> Figure:
    """RReLU's training-mode slopes ``slopes`` = 1/a, a ~ U(lower, upper): a fan of them, and their histogram
    against the density 1/((u − l) s²), the evaluation slope 2/(l + u) and the rule that draws the slope itself."""
    slopes = np.asarray(slopes, dtype=np.float64)
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    fig.subplots_adjust(left=0.085, right=0.98, bottom=0.14, top=0.86, wspace=0.22)
    left, right = fig.axes
    eval_slope, lo, hi = 2.0 / (lower + upper), 1.0 / upper, 1.0 / lower
    x = np.linspace(-3.0, 1.0, 81)
    # one Line2D for the whole fan (NaN rows separate the lines): cheaper to draw than one artist per line
    fan_x = np.tile(np.append(x, np.nan), min(fan, slopes.size))
    fan_y = np.concatenate([np.append(np.where(x > 0, x, s * x), np.nan) for s in slopes[:fan]])
    left.plot(fan_x, fan_y, color=OKABE_ITO["purple"], linewidth=0.7, alpha=0.5, label="training: slope 1/a")
    left.plot(x, np.where(x > 0, x, eval_slope * x), color="black", linewidth=1.8,
              label=f"evaluation: slope 2/(l + u) = {eval_slope:.3f}")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.axvline(0, color=GREY, linewidth=0.8)
    left.set_xlabel("input x")
    left.set_ylabel("RReLU(x)")
    left.set_title(f"RReLU, a ~ U({lower:g}, {upper:g}): {min(fan, slopes.size)} training draws")
    left.legend(loc="upper left", fontsize=8)

    # "stepfilled" draws one patch per histogram instead of one per bin: much faster to render
    right.hist(slopes, bins=np.linspace(lo, hi, 51), density=True, histtype="stepfilled", color=OKABE_ITO["purple"],
               alpha=0.45, label=f"the engine: 1/a, a ~ U({lower:g}, {upper:g})")
    s = np.linspace(lo, hi, 200)
    right.plot(s, 1.0 / ((upper - lower) * s**2), color=OKABE_ITO["purple"], linewidth=1.4,
               label="density 1/((u − l) s²)")
    right.plot([lo, lo, hi, hi], [0, 1 / (hi - lo), 1 / (hi - lo), 0], color=OKABE_ITO["orange"], linewidth=1.4,
               label=f"the slope drawn from U(1/{upper:g}, 1/{lower:g})")
    mean_slope = np.log(upper / lower) / (upper - lower)
    marks = [(eval_slope, "black", "-", f"evaluation: 2/(l + u) = {eval_slope:.3f}"),
             (mean_slope, OKABE_ITO["purple"], "--", f"E[1/a] = {mean_slope:.3f}"),
             ((lo + hi) / 2, OKABE_ITO["orange"], "--", f"mean of the uniform slope {(lo + hi) / 2:.3f}")]
    for value, colour_, line, label in marks:
        right.axvline(value, color=colour_, linestyle=line, linewidth=1.3, label=label)
    right.set_xlim(lo - 0.03, hi + 0.03)
    right.set_ylim(0, 1.0 / ((upper - lower) * lo**2) * 1.75)
    right.set_xlabel("negative-side slope s")
    right.set_ylabel("density")
    right.set_title(f"{slopes.size:,} slopes drawn in training mode")
    right.legend(loc="upper right", fontsize=7.5)
    return fig


@styled
def rrelu_modes_plot(train_outputs: np.ndarray, eval_outputs: np.ndarray, train_losses: np.ndarray,
                     eval_loss: float) -> Figure:
    """One trained RReLU network on the same inputs: outputs (forwards x examples in training mode, one row in
    evaluation mode) and the loss of every training-mode forward against the evaluation-mode loss."""
    train_outputs, eval_outputs = np.asarray(train_outputs), np.asarray(eval_outputs)
    if train_outputs.ndim != 2 or train_outputs.shape[1] != eval_outputs.shape[0]:
        raise ValueError(f"train_outputs (forwards, m) and eval_outputs (m,) disagree: {train_outputs.shape}, "
                         f"{eval_outputs.shape}")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.22)
    left, right = fig.axes
    draws, m = train_outputs.shape
    index = np.arange(1, m + 1)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, size=(draws, m))  # horizontal jitter only
    left.plot((index + jitter).ravel(), train_outputs.ravel(), "o", color=OKABE_ITO["purple"], markersize=2.5,
              alpha=0.5, label=f"training mode ({draws} forwards)")
    left.plot(index, eval_outputs, "D", color="black", markersize=5, label="evaluation mode")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.set_xticks(index)
    left.set_xlabel("example")
    left.set_ylabel("output logit")
    left.set_title("the same network, the same inputs")
    low, high = float(train_outputs.min()), float(train_outputs.max())
    left.set_ylim(low - 0.5, high + 0.3 * (high - low) + 0.5)  # room for the legend above the points
    left.legend(loc="upper left", fontsize=8, ncols=2)
    right.hist(train_losses, bins=12, histtype="stepfilled", color=OKABE_ITO["purple"], alpha=0.5,
               label=f"training mode, {draws} forwards")
    right.axvline(eval_loss, color="black", linewidth=1.8, label=f"evaluation mode: {eval_loss:.3f}")
    right.set_xlabel("loss on the whole data set")
    right.set_ylabel("number of forwards")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title("loss: random in training mode, fixed in evaluation")
    right.legend(loc="upper right", fontsize=8)
    return fig


# --- 4. reviving the dead network ----------------------------------------------------------------------------------

@styled
def leaky_revival_plot(runs: Mapping[str, Mapping[str, np.ndarray]], *, prior_loss: float,
                       linear_loss: float) -> Figure:
    """Notebook 03's dead network with ReLU and with Leaky ReLU: loss, the backward signal reaching the hidden
    layer, and its units back above 0. ``runs``: label -> {"steps", "loss", "signal", "alive"} (arrays)."""
    fig = new_figure(1, 3, figsize=(11.0, 3.8))
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.27, top=0.88, wspace=0.3)
    loss_ax, grad_ax, alive_ax = fig.axes
    positive = []
    for label, run in runs.items():
        style = _variant_style(label)
        steps, signal = np.asarray(run["steps"]), np.asarray(run["signal"])
        loss_ax.plot(steps, run["loss"], label=label, **style)
        if np.all(signal == 0):
            grad_ax.text(0.5, 0.04, f"{label}: exactly 0 at every step", transform=grad_ax.transAxes,
                         ha="center", color=style["color"], fontsize=9)
        else:
            grad_ax.plot(steps, np.where(signal > 0, signal, np.nan), **style)
            positive.append(signal[signal > 0])
        alive_ax.plot(steps, run["alive"], **style)
    loss_ax.axhline(prior_loss, color=GREY, linestyle=":", linewidth=1.2,
                    label=f"class frequency only ({prior_loss:.3f})")
    loss_ax.axhline(linear_loss, color=GREY, linestyle="--", linewidth=1.2, label=f"a linear model ({linear_loss:.3f})")
    loss_ax.set_ylim(0, 0.75)
    loss_ax.set_xlabel("training step")
    loss_ax.set_ylabel("loss on all points")
    loss_ax.set_title("loss")
    decade_log_y(grad_ax)
    if positive:
        values = np.concatenate(positive)  # room below the curves for the note about the exact zeros
        grad_ax.set_ylim(values.min() / 10, values.max() * 2)
    grad_ax.set_xlabel("training step")
    grad_ax.set_ylabel("‖∂L/∂z₁‖ on all points (log scale)")
    grad_ax.set_title("backward signal reaching the hidden layer")
    alive_ax.set_ylim(-0.03, 1.03)
    alive_ax.set_xlabel("training step")
    alive_ax.set_ylabel("fraction of hidden units")
    alive_ax.set_title("units with z > 0 on some input")
    handles, names = loss_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=3, fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig


# --- 5. deep networks from a bad start: one column per variant -------------------------------------------------------

@styled
def variant_comparison_plot(runs: Mapping[str, Sequence[Mapping[str, object]]], *, fitted: float = 0.05) -> Figure:
    """One column per variant, so that none hides another: the loss of every seed over the steps (top) and the
    dead fraction of every hidden layer when the run stopped (bottom).

    ``runs``: label -> one dict per seed with ``"steps"`` (R,), ``"loss"`` (R,), ``"dead"`` (R, layers) and
    ``"stopped"`` (``"fitted"``, ``"stalled"`` or None). A dot marks where a run was fitted (loss below
    ``fitted``), a cross where it stalled.
    """
    if not runs:
        raise ValueError("runs is empty; give label -> list of runs")
    k = len(runs)
    fig = new_figure(2, k, figsize=(1.9 * k + 0.9, 5.6), sharex="row", sharey="row")
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.09, top=0.82, wspace=0.08, hspace=0.45)
    top, bottom = fig.axes[:k], fig.axes[k:]
    longest = max(int(np.asarray(r["steps"])[-1]) for seeds in runs.values() for r in seeds)
    for i, (label, seeds) in enumerate(runs.items()):
        c = colour(i)
        for r in seeds:
            steps, loss = np.asarray(r["steps"]), np.asarray(r["loss"])
            top[i].plot(steps, loss, color=c, linewidth=1.1, alpha=0.85)
            marker = {"fitted": "o", "stalled": "x"}.get(str(r["stopped"]))
            if marker:
                top[i].plot(steps[-1], loss[-1], marker, color="black", markersize=4.5)
            dead = np.asarray(r["dead"])[-1]
            bottom[i].plot(np.arange(1, dead.size + 1), dead, "-o", color=c, markersize=3, linewidth=0.9, alpha=0.7)
        top[i].axhline(fitted, color=GREY, linestyle=":", linewidth=1.0)
        top[i].axhline(np.log(2), color=GREY, linestyle="--", linewidth=0.8)
        escaped = sum(bool(np.any(np.asarray(r["loss"]) < 0.3)) for r in seeds)
        name = label.replace(" (", "\n(")  # "PReLU\n(α starts at 0.25)": narrow panels
        top[i].set_title(f"{name}\nescaped (loss < 0.3): {escaped} of {len(seeds)}", fontsize=9)
        bottom[i].set_xticks(range(1, np.asarray(seeds[0]["dead"]).shape[1] + 1))
        bottom[i].set_xlabel("hidden layer")
    top[0].set_ylim(0, 0.9)
    top[0].set_xlim(0, longest)
    top[0].set_ylabel("loss on all points")
    bottom[0].set_ylim(-0.03, 1.03)
    bottom[0].set_ylabel("dead fraction\nwhen the run stopped")
    for ax in top:
        ax.set_xlabel("step", labelpad=1)
    n = len(next(iter(runs.values())))
    fig.suptitle(f"{n} seeds per variant, one line each; ● fitted (loss < {fitted:g}), × stalled (flat); "
                 "dashed: ln 2, a coin flip", fontsize=10, y=0.985)
    return fig


# --- the widget's panels -------------------------------------------------------------------------------------------

LOSS_TOP = 1.0
"""Upper end of the loss axes: the runs start near ln 2; larger values mean a run is blowing up."""


def _spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every seed diverged: the slice stays NaN
        return np.nanmedian(values, axis=1), np.nanmin(values, axis=1), np.nanmax(values, axis=1)


def _loss_panel(ax: Axes, steps: np.ndarray, labels: Sequence[str], loss: np.ndarray) -> None:
    """Loss over steps per variant: median and min-max band over the seeds (axis 1 of ``loss``)."""
    median, low, high = _spread(loss)
    for k, label in enumerate(labels):
        _band(ax, steps, median[k], low[k], high[k], label)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss on the whole data set")
    # a fixed range: every run starts near ln 2 = 0.69; a run that blows up would squash the others flat
    ax.set_ylim(0, LOSS_TOP)
    if np.any(high[np.isfinite(high)] > LOSS_TOP):
        ax.text(0.98, 0.97, f"losses above {LOSS_TOP:g} are cut off", transform=ax.transAxes, ha="right",
                va="top", fontsize=8, color=GREY)


def _layer_panel(ax: Axes, labels: Sequence[str], values: np.ndarray) -> None:
    """A per-layer value ``(variants, seeds, layers)`` per variant: median and min-max band over the seeds."""
    median, low, high = _spread(values)
    layers = np.arange(1, values.shape[-1] + 1)
    for k, label in enumerate(labels):
        _band(ax, layers, median[k], low[k], high[k], label, marker="o")
    _layer_axis(ax, len(layers))


# --- 6. the widget ------------------------------------------------------------------------------------------------

def leaky_explorer_plot(result: ex.LeakyExploration) -> Figure:
    """The widget's figure: the activation and its derivative; loss and dead fraction against ReLU.

    Drawn with fixed margins and few elements, since the widget redraws it after every run.
    """
    return LeakyExplorerView().show(result)


class _Group:
    """One variant's runs in a panel: the band from the smallest to the largest seed, and the median line."""

    def __init__(self, ax: Axes, marker: str | None = None) -> None:
        self.band = ax.fill_between([0.0, 1.0], 0, 0, alpha=0.15, linewidth=0, zorder=1)
        self.line = ax.plot([], [], marker=marker, markersize=4)[0]

    def show(self, x: np.ndarray, values: np.ndarray | None, label: str) -> None:
        """Draw ``values`` (seeds, len(x)) as the group ``label``; None hides the group."""
        for artist in (self.band, self.line):
            artist.set_visible(values is not None)
        if values is None:
            return
        median, low, high = _spread(values[None])
        style = _variant_style(label)
        self.band.set_data(x, low[0], high[0])
        self.band.set_facecolor(style["color"])
        self.line.set_data(x, median[0])
        self.line.set(color=style["color"], linestyle=style["linestyle"], linewidth=style["linewidth"],
                      zorder=style["zorder"], label=label)


class LeakyExplorerView(View):
    """The figure of :func:`leaky_explorer_plot`, kept by the ``leaky_explorer`` widget and changed in place."""

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 3, figsize=(11.0, 3.9))
        self.figure.subplots_adjust(left=0.055, right=0.985, bottom=0.27, top=0.87, wspace=0.3)
        fn_ax, loss_ax, dead_ax = self.figure.axes
        self.slopes = fn_ax.fill_between([0.0, 1.0], 0, 0, alpha=0.2, linewidth=0)
        self.f = fn_ax.plot([], [])[0]
        self.derivative = fn_ax.plot([], [], linestyle="--", linewidth=1.4)[0]
        fn_ax.axhline(0, color=GREY, linewidth=0.8)
        fn_ax.axvline(0, color=GREY, linewidth=0.8)
        fn_ax.set_ylim(-1.6, 3.1)
        fn_ax.set_xlabel("pre-activation z")
        self.fn_legend = LegendSlot(fn_ax, loc="upper left", fontsize=8)
        # ReLU (the baseline) and the variant, in each of the two panels of runs
        self.losses = [_Group(loss_ax), _Group(loss_ax)]
        self.dead = [_Group(dead_ax, marker="o"), _Group(dead_ax, marker="o")]
        loss_ax.set_xlabel("training step")
        loss_ax.set_ylabel("loss on the whole data set")
        # a fixed range: every run starts near ln 2 = 0.69; a run that blows up would squash the others flat
        loss_ax.set_ylim(0, LOSS_TOP)
        self.cut = loss_ax.text(0.98, 0.97, f"losses above {LOSS_TOP:g} are cut off", transform=loss_ax.transAxes,
                                ha="right", va="top", fontsize=8, color=GREY)
        dead_ax.set_ylim(-0.03, 1.03)
        dead_ax.set_ylabel("fraction of the layer's units")
        dead_ax.set_title("dead at the end (z ≤ 0 on all inputs)", fontsize=10)
        self.legend = LegendSlot(self.figure, loc="lower center", ncols=2, fontsize=8.5, bbox_to_anchor=(0.5, 0.0),
                                 title_fontsize=8.5)

    def update(self, result: ex.LeakyExploration) -> None:
        _check(result, ex.LeakyExploration, "explore_variant")
        fn_ax, loss_ax, dead_ax = self.figure.axes
        colour = _variant_colour(result.label)
        self.slopes.set_visible(result.slope_band is not None)
        entries = [(self.slopes, "training-mode range")] if result.slope_band is not None else []
        if result.slope_band is not None:
            z = result.z[result.z < 0]
            self.slopes.set_data(z, result.slope_band[0] * z, result.slope_band[1] * z)
            self.slopes.set_facecolor(colour)
        self.f.set_data(result.z, result.f)
        self.derivative.set_data(result.z, result.derivative)
        for line in (self.f, self.derivative):
            line.set_color(colour)
        fn_ax.set_xlim(result.z[0] - 0.05 * np.ptp(result.z), result.z[-1] + 0.05 * np.ptp(result.z))
        fn_ax.set_title(result.label, fontsize=10)
        self.fn_legend.show(entries + [(self.f, "f(z)"), (self.derivative, "f′(z)")])
        self._runs(result)
        diverged = sum(r.diverged for r in result.runs)
        note = f"; {diverged} of {len(result.runs)} runs diverged (curve ends)" if diverged else ""
        self.legend.legend.set_title(f"{result.depth} hidden layers of {result.width} units, every hidden bias "
                                     f"starts at {result.bias:g}{note}")

    def _runs(self, result: ex.LeakyExploration) -> None:
        _, loss_ax, dead_ax = self.figure.axes
        groups = [result.baseline] if result.activation == "relu" else [result.baseline, result.runs]
        steps = result.runs[0].record_steps
        layers = np.arange(1, result.depth + 1)
        for k in range(2):
            runs = groups[k] if k < len(groups) else None
            label = runs[0].label if runs else ""
            self.losses[k].show(steps, np.array([r.loss for r in runs]) if runs else None, label)
            self.dead[k].show(layers, np.array([r.dead[-1] for r in runs]) if runs else None, label)
        losses = np.array([[r.loss for r in g] for g in groups])
        self.cut.set_visible(bool(np.any(losses[np.isfinite(losses)] > LOSS_TOP)))
        loss_ax.set_xlim(steps[0] - 0.05 * np.ptp(steps), steps[-1] + 0.05 * np.ptp(steps))
        loss_ax.set_title(f"loss ({len(result.runs)} seeds: median, range)", fontsize=10)
        dead_ax.set_xlim(1 - 0.05 * (result.depth - 1) - 0.3, result.depth + 0.05 * (result.depth - 1) + 0.3)
        _layer_axis(dead_ax, result.depth)
        self.legend.show([(self.losses[k].line, groups[k][0].label) for k in range(len(groups))])
