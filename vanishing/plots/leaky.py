"""Notebook 04 (leaky variants): figures for :mod:`vanishing.experiments.leaky`.

Every function takes the result object of the matching experiment and returns a
Figure. Variants keep the same colour in every figure (:data:`VARIANT_COLOURS`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..experiments import leaky as ex
from ._style import GREY, OKABE_ITO, LegendSlot, View, decade_log_y, new_figure, styled

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
def leaky_derivative_plot(result: ex.LeakyDerivativeCheck) -> Figure:
    """Leaky ReLU, its derivative from the engine and from finite differences, and the claim α·e^z.

    Left: f and f′ on the whole range. Right: the negative side on a log
    axis, where α and α·e^z can be told apart.
    """
    _check(result, ex.LeakyDerivativeCheck, "leaky_derivative_check")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.25)
    left, right = fig.axes
    a = result.alpha
    grid = np.linspace(result.z.min(), result.z.max(), 401)
    left.plot(grid, np.where(grid > 0, grid, a * grid), color=OKABE_ITO["blue"], label="f(z)")
    left.plot(grid, np.where(grid > 0, 1.0, a), color=OKABE_ITO["orange"], label="f′(z), engine backward")
    left.plot(result.z, result.finite_difference, "o", color="black", markersize=3.5, label="finite differences")
    left.plot(grid, np.where(grid > 0, 1.0, a * np.exp(np.minimum(grid, 0))), color=OKABE_ITO["vermillion"],
              linestyle="--", linewidth=1.3, label="claim: α·e^z for z < 0")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.set_xlabel("pre-activation z")
    left.set_ylabel("value")
    left.set_ylim(-0.3, 1.6)
    left.set_title(f"Leaky ReLU, α = {a:g}")
    left.legend(loc="upper left", fontsize=8)

    negative = result.z < 0
    zn = grid[grid < 0]
    right.plot(zn, np.full_like(zn, a), color=OKABE_ITO["orange"], label=f"engine: α = {a:g}")
    right.plot(result.z[negative], result.finite_difference[negative], "o", color="black", markersize=3.5,
               label=f"finite differences (rel. error {result.error_engine:.0e})")
    right.plot(zn, a * np.exp(zn), color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.3,
               label=f"claim α·e^z (rel. error {result.error_claim:.2f})")
    decade_log_y(right)
    right.set_ylim(a * np.exp(zn.min()) / 2, a * 3)
    right.set_xlabel("pre-activation z < 0")
    right.set_ylabel("f′(z) (log scale)")
    right.set_title("negative side: the derivative is the constant α")
    right.legend(loc="lower right", fontsize=8)
    return fig


# --- 2. PReLU ------------------------------------------------------------------------------------------------------

@styled
def prelu_slopes_plot(result: ex.PReLUTraining) -> Figure:
    """PReLU's slopes: how those of hidden layer 1 move during training, and where every layer's end up."""
    _check(result, ex.PReLUTraining, "prelu_training")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.22)
    left, right = fig.axes
    steps = np.arange(result.alpha_path.shape[0])
    left.plot(steps, result.alpha_path, color=OKABE_ITO["green"], linewidth=0.9, alpha=0.6)
    left.axhline(result.alpha_start, color="black", linestyle="--", linewidth=1.0,
                 label=f"start: α = {result.alpha_start:g}")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.set_xlabel("training step")
    left.set_ylabel("slope α of one unit")
    left.set_title(f"hidden layer 1: the {result.alpha_path.shape[1]} slopes during training")
    left.legend(loc="upper left", fontsize=8)

    rng = np.random.default_rng(0)  # horizontal jitter only, so that the dots do not hide each other
    for k, alphas in enumerate(result.alphas, start=1):
        x = k + rng.uniform(-0.18, 0.18, size=alphas.size)
        right.plot(x, alphas, "o", color=OKABE_ITO["green"], markersize=4, alpha=0.75,
                   label="learned slope of a unit" if k == 1 else None)
        right.plot([k - 0.3, k + 0.3], [np.median(alphas)] * 2, color="black", linewidth=2.0,
                   label="median of the layer" if k == 1 else None)
    right.axhline(result.alpha_start, color="black", linestyle="--", linewidth=1.0)
    right.axhline(0, color=GREY, linewidth=0.8)
    _layer_axis(right, len(result.alphas))
    right.set_ylabel("learned slope α")
    right.set_title(f"after {result.steps} steps (final loss {result.final_loss:.3f})")
    right.legend(loc="upper right", fontsize=8)
    low = min(float(np.min(result.alpha_path)), min(float(a.min()) for a in result.alphas), 0.0)
    high = max(float(np.max(result.alpha_path)), max(float(a.max()) for a in result.alphas))
    for ax in (left, right):
        ax.set_ylim(low - 0.08, high + 0.15)
    return fig


# --- 3. Randomized ReLU --------------------------------------------------------------------------------------------

@styled
def rrelu_slopes_plot(result: ex.RReLUSlopes, *, fan: int = 25) -> Figure:
    """RReLU in training mode (a fan of sampled slopes) and the distribution of its slopes against the alternatives."""
    _check(result, ex.RReLUSlopes, "rrelu_slopes")
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    fig.subplots_adjust(left=0.085, right=0.98, bottom=0.14, top=0.86, wspace=0.22)
    left, right = fig.axes
    x = np.linspace(-3.0, 1.0, 81)
    # one Line2D for the whole fan (NaN rows separate the lines): cheaper to draw than one artist per line
    drawn = result.samples[:fan]
    fan_x = np.tile(np.append(x, np.nan), drawn.size)
    fan_y = np.concatenate([np.append(np.where(x > 0, x, s * x), np.nan) for s in drawn])
    left.plot(fan_x, fan_y, color=OKABE_ITO["purple"], linewidth=0.7, alpha=0.5,
              label="training: slope 1/a, a ~ U(l, u)")
    left.plot(x, np.where(x > 0, x, result.eval_slope * x), color="black", linewidth=1.8,
              label=f"evaluation: slope 2/(l + u) = {result.eval_slope:.3f}")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.axvline(0, color=GREY, linewidth=0.8)
    left.set_xlabel("input x")
    left.set_ylabel("RReLU(x)")
    left.set_title(f"RReLU, l = {result.lower:g}, u = {result.upper:g}: {fan} training draws")
    left.legend(loc="upper left", fontsize=8)

    lo, hi = result.slope_range
    other_lo, other_hi = 1.0 / result.upper, 1.0 / result.lower
    bins = np.linspace(lo, hi, 51)
    # "stepfilled" and "step" draw one patch per histogram instead of one per bin: much faster to render
    right.hist(result.samples, bins=bins, density=True, histtype="stepfilled", color=OKABE_ITO["purple"],
               alpha=0.45, label=f"engine: 1/a, a ~ U({result.lower:g}, {result.upper:g})")
    s = np.linspace(lo, hi, 200)
    right.plot(s, result.density(s), color=OKABE_ITO["purple"], linewidth=1.4, label="density 1/((u − l) s²)")
    right.hist(result.other_samples, bins=bins, density=True, histtype="step", color=OKABE_ITO["orange"],
               linewidth=1.4, label=f"other rule: slope ~ U(1/{result.upper:g}, 1/{result.lower:g})")
    marks = [(result.eval_slope, "black", "-", f"1/5.5 = {result.eval_slope:.3f} (eval)"),
             (result.mean_slope_exact, OKABE_ITO["purple"], "--", f"E[1/a] = {result.mean_slope_exact:.3f}"),
             (result.other_mean, OKABE_ITO["orange"], "--", f"other rule's mean {result.other_mean:.3f}")]
    for value, colour, style, label in marks:
        right.axvline(value, color=colour, linestyle=style, linewidth=1.3, label=label)
    right.set_xlim(other_lo - 0.03, other_hi + 0.03)
    right.set_ylim(0, float(result.density(np.array([lo]))[0]) * 1.75)
    right.set_xlabel("negative-side slope s")
    right.set_ylabel("density")
    right.set_title(f"{result.samples.size:,} slopes drawn in training mode")
    right.legend(loc="upper right", fontsize=7.5)
    return fig


@styled
def rrelu_modes_plot(result: ex.RReLUModes) -> Figure:
    """One trained RReLU network: outputs and loss in training mode (many draws) against evaluation mode."""
    _check(result, ex.RReLUModes, "rrelu_train_eval")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.22)
    left, right = fig.axes
    draws, m = result.train_outputs.shape
    index = np.arange(1, m + 1)
    rng = np.random.default_rng(0)  # jitter only
    jittered = index + rng.uniform(-0.15, 0.15, size=(draws, m))
    left.plot(jittered.ravel(), result.train_outputs.ravel(), "o", color=OKABE_ITO["purple"], markersize=2.5,
              alpha=0.5, label=f"training mode ({draws} forwards)")
    left.plot(index, result.eval_output, "D", color="black", markersize=5, label="evaluation mode")
    left.axhline(0, color=GREY, linewidth=0.8)
    left.set_xticks(index)
    left.set_xlabel("example")
    left.set_ylabel("output logit")
    left.set_title("the same network, the same inputs")
    low, high = float(np.min(result.train_outputs)), float(np.max(result.train_outputs))
    left.set_ylim(low - 0.5, high + 0.3 * (high - low) + 0.5)  # room for the legend above the points
    left.legend(loc="upper left", fontsize=8, ncols=2)

    right.hist(result.train_losses, bins=12, histtype="stepfilled", color=OKABE_ITO["purple"], alpha=0.5,
               label=f"training mode, {draws} forwards")
    right.axvline(result.eval_loss, color="black", linewidth=1.8, label=f"evaluation mode: {result.eval_loss:.4f}")
    right.set_xlabel("loss on the whole data set")
    right.set_ylabel("number of forwards")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title("loss: random in training mode, fixed in evaluation")
    right.legend(loc="upper right", fontsize=8)
    return fig


# --- 4. reviving the dead network ----------------------------------------------------------------------------------

@styled
def leaky_revival_plot(result: ex.LeakyRevival) -> Figure:
    """Notebook 03's dead network with ReLU and with Leaky ReLU: loss, hidden-layer gradient, units back alive."""
    _check(result, ex.LeakyRevival, "revive_dead_network")
    fig = new_figure(1, 3, figsize=(11.0, 3.8))
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.27, top=0.88, wspace=0.3)
    loss_ax, grad_ax, alive_ax = fig.axes
    steps = result.record_steps
    for k, label in enumerate(result.labels):
        style = _variant_style(label)
        loss_ax.plot(steps, result.loss[k], label=label, **style)
        grads = result.hidden_grad[k]
        if np.all(grads == 0):
            grad_ax.text(0.5, 0.04, f"{label}: exactly 0 at every step", transform=grad_ax.transAxes,
                         ha="center", color=style["color"], fontsize=9)
        else:
            grad_ax.plot(steps, np.where(grads > 0, grads, np.nan), **style)
        alive_ax.plot(steps, result.alive[k], **style)
    loss_ax.axhline(result.prior_loss, color=GREY, linestyle=":", linewidth=1.2,
                    label=f"class frequency only ({result.prior_loss:.3f})")
    loss_ax.axhline(result.linear_loss, color=GREY, linestyle="--", linewidth=1.2,
                    label=f"a linear model ({result.linear_loss:.3f})")
    loss_ax.set_ylim(0, max(0.75, float(np.nanmax(result.loss)) * 1.05))
    loss_ax.set_xlabel("training step")
    loss_ax.set_ylabel("loss on all 200 points")
    loss_ax.set_title("loss")
    decade_log_y(grad_ax)
    positive = result.hidden_grad[result.hidden_grad > 0]
    if positive.size:
        # room below the curves for the note about the runs whose gradient is exactly 0
        grad_ax.set_ylim(positive.min() / 10, positive.max() * 2)
    grad_ax.set_xlabel("training step")
    grad_ax.set_ylabel("‖∂L/∂W‖ on all points (log scale)")
    grad_ax.set_title("gradient reaching the hidden layer")
    alive_ax.set_ylim(-0.03, 1.03)
    alive_ax.set_xlabel("training step")
    alive_ax.set_ylabel("fraction of hidden units")
    alive_ax.set_title("units with z > 0 on some input")
    handles, names = loss_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=3, fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig


# --- 5. the comparison ---------------------------------------------------------------------------------------------

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


@styled
def variant_comparison_plot(result: ex.VariantComparison) -> Figure:
    """Variants from the same bad start: loss curves, and dead fraction and mean output per layer at the end.

    Lines are medians over the seeds, bands span the smallest to the largest
    value. ReLU is dashed and drawn underneath, so a variant that follows it
    exactly (Leaky ReLU with a tiny slope) stays visible on top of it.
    """
    _check(result, ex.VariantComparison, "variant_comparison")
    fig = new_figure(1, 3, figsize=(11.0, 4.0))
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.3, top=0.87, wspace=0.3)
    loss_ax, dead_ax, mean_ax = fig.axes
    _loss_panel(loss_ax, result.record_steps, result.labels, result.loss)
    _layer_panel(dead_ax, result.labels, result.final_dead)
    _layer_panel(mean_ax, result.labels, result.mean_activation[:, :, -1])
    dead_ax.set_ylim(-0.03, 1.03)
    dead_ax.set_ylabel("fraction of the layer's units")
    mean_ax.axhline(0, color=GREY, linewidth=0.8)
    mean_ax.set_ylabel("mean output of the layer")
    settings = result.settings
    n = len(result.seeds)
    loss_ax.set_title(f"loss (median and range of {n} seeds)")
    dead_ax.set_title(f"dead after {settings['steps']:g} steps (z ≤ 0 on all inputs)", fontsize=10)
    mean_ax.set_title(f"mean output after {settings['steps']:g} steps")
    handles, names = loss_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=3, fontsize=8.5, bbox_to_anchor=(0.5, 0.0),
               title=f"{settings['depth']:g} hidden layers of {settings['width']:g} units, every hidden bias starts "
                     f"at {settings['bias']:g}", title_fontsize=8.5)
    return fig


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
