"""Notebook 08 (capstone): the gradient-health dashboard, one figure of six panels.

:func:`dashboard` draws a :class:`vanishing.experiments.DashboardRun`, finished
or still training (the widget redraws it as the run goes on):

* loss (training, every step) and test accuracy (at every probe);
* the backward signal ‖∂L/∂z_l‖ of every Dense layer over the steps (the gradient
  arriving at the layer's output; vn.diagnostics.BackwardSignal);
* the update-to-data ratio ‖ΔW‖/‖W‖ of every Dense layer over the steps;
* the activation histograms of every hidden activation layer over the steps,
  as one image (a band per layer, the output range bottom to top);
* the saturated (sigmoid, tanh) or dead (ReLU) fraction of every layer;
* by layer, at the first step and at the latest record: the backward signal
  ‖∂L/∂z_l‖ beside the weight gradient ‖∂L/∂W_l‖ = ‖a_{l-1}ᵀ ∂L/∂z_l‖, which also
  carries the size of the layer's input a_{l-1}.

Layers are coloured from dark (input side) to light (output side) with the
colour-blind-safe viridis map; training-time panels share the step axis.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..experiments.capstone import DashboardRun
from ._style import GREY, OKABE_ITO, log_decades, log_y, new_figure, styled

__all__ = ["dashboard", "mystery_dashboard"]

NOTEBOOK = "08"

FIGSIZE = (11.0, 6.6)
_LAYER_MAP = matplotlib.colormaps["viridis"]
_IMAGE_MAP = matplotlib.colormaps["magma_r"]
_HEALTHY_UPDATE_RATIO = 1e-3
_WARNING = OKABE_ITO["vermillion"]
HISTOGRAM_FLOOR = 1e-3
"""Shares of a layer's outputs below this get the lightest colour of the histogram image (log scale)."""


def _layer_colours(count: int) -> list[tuple[float, ...]]:
    """Dark (input side) to light (output side); the lightest yellow is left out, it vanishes on white."""
    return [_LAYER_MAP(0.85 * i / max(count - 1, 1)) for i in range(count)]


def _scale_y(ax: Axes, values: np.ndarray) -> bool:
    """Log y axis when the positive finite values span a decade or more, linear otherwise; True if log."""
    if log_decades(values) >= 1:
        log_y(ax, values)
        return True
    return False


def _positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: 0 and non-finite entries become nan (not drawn)."""
    values = np.array(values, dtype=np.float64)
    values[~np.isfinite(values) | (values <= 0)] = np.nan
    return values


def _note(ax: Axes, text: str, *, colour: str = GREY) -> None:
    """A message in the middle of a panel that has no data to show (fixed limits: nothing left from a redraw)."""
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=colour, fontsize=9,
            wrap=True)


def _zero_layers(values: np.ndarray) -> str:
    """ "layer 2", "layers 1–4", "layers 1, 3"...: the layers (1 = input side) exactly 0 in every row; "" if none."""
    zero = [k + 1 for k in range(values.shape[1]) if values.shape[0] and np.all(values[:, k] == 0)]
    runs: list[list[int]] = []
    for k in zero:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    text = ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)
    return "" if not zero else f"layer {text}" if len(zero) == 1 else f"layers {text}"


def _steps_axis(ax: Axes, run: DashboardRun) -> None:
    # while training, the axis spans the planned run (the curves grow into it); afterwards the steps done
    ax.set_xlim(0, max(run.settings.steps if not run.complete else run.steps, 1))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10], integer=True))
    ax.set_xlabel("step")


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Running mean over ``window`` steps (shorter at the start), ignoring non-finite entries."""
    finite = np.isfinite(values)
    # a diverging loss reaches 1e300: the running sums may overflow, which only hides points that blew up anyway
    with np.errstate(all="ignore"):
        total = np.cumsum(np.where(finite, values, 0.0))
        count = np.cumsum(finite)
        total[window:] = total[window:] - total[:-window]
        count[window:] = count[window:] - count[:-window]
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _loss_panel(ax: Axes, run: DashboardRun) -> None:
    steps = np.arange(1, len(run.loss) + 1)
    loss = _positive(run.loss)
    if np.isfinite(loss).any():
        ax.plot(steps, loss, color=OKABE_ITO["sky"], linewidth=0.6, alpha=0.7)
        window = max(run.settings.steps // 30, 1)
        ax.plot(steps, _smooth(loss, window), color=OKABE_ITO["blue"], linewidth=1.6)
        logarithmic = _scale_y(ax, loss)
        if not logarithmic:  # a loss within a decade: a few short linear ticks
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.3g}"))
    else:
        logarithmic = False
        ax.set_ylim(0, 1)
    ax.set_ylabel("training loss" + (" (log scale)" if logarithmic else ""), color=OKABE_ITO["blue"])
    _steps_axis(ax, run)
    if run.diverged:
        ax.axvline(run.steps, color=_WARNING, linewidth=1.2, linestyle=":")
        ax.text(0.03, 0.95, f"loss or weights not finite\nat step {run.steps}", transform=ax.transAxes,
                ha="left", va="top", color=_WARNING, fontsize=9)
    twin = ax.twinx()
    twin.grid(False)
    twin.spines["right"].set_visible(True)
    twin.plot(run.probe_steps, run.test_accuracy, color=OKABE_ITO["orange"], linewidth=1.8)
    twin.set_ylim(0, 1.02)
    twin.set_yticks([0, 0.25, 0.5, 0.75, 1])
    twin.set_ylabel("test accuracy", color=OKABE_ITO["orange"])
    ax.set_title("training loss and test accuracy")


def _per_layer_lines(ax: Axes, run: DashboardRun, values: np.ndarray, *, title: str, ylabel: str,
                     zero_note: str) -> bool:
    """One line per Dense layer on a log axis; a note instead when there is nothing positive to draw."""
    ax.set_title(title)
    _steps_axis(ax, run)
    if values.size and np.isfinite(_positive(values)).any():
        marker = "o" if len(run.grad_steps) == 1 else None  # one recorded step: a line of one point is invisible
        for j, c in enumerate(_layer_colours(len(run.dense_names))):
            ax.plot(run.grad_steps, _positive(values[:, j]), color=c, linewidth=1.1, marker=marker, markersize=3)
        log_y(ax, _positive(values))
        ax.set_ylabel(f"{ylabel} (log scale)")
        zero = _zero_layers(values)
        if zero:  # a log axis cannot show them: say so
            ax.text(0.02, 0.03, f"exactly 0 in {zero}", transform=ax.transAxes, color=_WARNING, fontsize=8)
        return True
    ax.set_ylabel(ylabel)
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite == 0):
        _note(ax, zero_note, colour=_WARNING)
    else:
        _note(ax, "nothing recorded yet" if not values.size else "no finite value recorded")
    return False


def _gradient_panel(ax: Axes, run: DashboardRun) -> None:
    _per_layer_lines(ax, run, run.backward_signal, title="backward signal per layer", ylabel="‖∂L/∂z‖",
                     zero_note="no gradient reaches\nany Dense layer's output")


def _update_panel(ax: Axes, run: DashboardRun) -> None:
    if _per_layer_lines(ax, run, run.update_ratio, title="update-to-data ratio per layer",
                        ylabel="‖ΔW‖ / ‖W‖ per step", zero_note="no weight moved:\nevery update is exactly 0"):
        ax.axhline(_HEALTHY_UPDATE_RATIO, color=GREY, linestyle="--", linewidth=1.0)
        ax.set_xlabel("step  (dashed: 10⁻³, a rule of thumb)")


def _histogram_panel(ax: Axes, run: DashboardRun) -> None:
    ax.set_title("activation histograms over training")
    _steps_axis(ax, run)
    p, a, b = run.histograms.shape
    if a == 0 or p == 0:
        _note(ax, "no hidden activation layer")
        return
    # bands from the last layer (bottom) to the first (top); within a band, low outputs at the bottom
    bands = run.histograms[:, ::-1, :].transpose(1, 2, 0).reshape(a * b, p)
    # each column spans from its probe to the next one
    edges = np.append(run.probe_steps, run.probe_steps[-1] + max(run.settings.steps // 50, 1))
    if p == 1:
        edges = np.array([0.0, max(run.settings.steps / 50, 1.0)])
    shares = np.ma.masked_less_equal(bands, 0)
    ax.pcolormesh(edges, np.linspace(0, a, a * b + 1), shares, cmap=_IMAGE_MAP,
                  norm=LogNorm(vmin=HISTOGRAM_FLOOR, vmax=1.0, clip=True), shading="flat")
    ax.grid(False)
    for k in range(1, a):
        ax.axhline(k, color="white", linewidth=1.2)
    ax.set_ylim(0, a)
    every = max(1, math.ceil(a / 10))
    ticks = [k for k in range(a) if k % every == 0 or k == a - 1]
    ax.set_yticks([a - k - 0.5 for k in ticks], [str(k + 1) for k in ticks])
    low, high = run.hist_edges[0, 0], run.hist_edges[0, -1]
    ax.set_ylabel(f"hidden layer; in a band, output\n{low:.3g} (bottom) to {high:.3g} (top)", fontsize=9)
    ax.set_xlabel("step  (darker: more outputs in that bin, log scale)")


def _health_panel(ax: Axes, run: DashboardRun) -> None:
    kinds = [k for k in run.health_kinds if k]
    _steps_axis(ax, run)
    if not kinds:
        ax.set_title("saturated and dead units")
        name = run.settings.activation
        _note(ax, f"not measured for {name}: saturation is defined\nfor sigmoid and tanh, death for ReLU")
        ax.set_yticks([])
        return
    kind = kinds[0]
    ax.set_title("saturated units per layer" if kind == "saturated" else "dead units per layer")
    ax.set_ylabel("fraction of outputs saturated" if kind == "saturated" else "fraction of units dead")
    colours = _layer_colours(len(run.activation_names))
    for j, c in enumerate(colours):
        ax.plot(run.probe_steps, run.health[:, j], color=c, linewidth=1.4)
    ax.set_ylim(-0.03, 1.03)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_xlabel("step  (saturated: output within 0.01 of an end)" if kind == "saturated"
                  else "step  (dead: 0 on every probe example)")


def _profile_panel(ax: Axes, run: DashboardRun) -> None:
    """‖∂L/∂z_l‖ (blue) and ‖∂L/∂W_l‖ (orange) by layer, at the first record (dashed) and the latest (solid)."""
    ax.set_title("gradients by layer: ∂L/∂z and ∂L/∂W")
    ax.set_xlabel("Dense layer (1 = input side)")
    ax.set_ylabel("norm")
    d = len(run.dense_names)
    layers = np.arange(1, d + 1)
    ax.set_xlim(0.5, d + 0.5)
    both = np.concatenate([run.backward_signal, run.grad_norms])
    if not len(run.grad_norms) or not np.isfinite(_positive(both)).any():
        _note(ax, "no non-zero gradient\nrecorded" if len(run.grad_norms) else "nothing recorded yet",
              colour=_WARNING if len(run.grad_norms) else GREY)
        return
    zero = []
    for values, colour, marker, name in ((run.backward_signal, OKABE_ITO["blue"], "o", "‖∂L/∂z‖"),
                                          (run.grad_norms, OKABE_ITO["orange"], "s", "‖∂L/∂W‖")):
        ax.plot(layers, _positive(values[0]), color=colour, linestyle="--", marker=marker, markersize=3.5,
                linewidth=1.0, label=f"{name}, step {run.grad_steps[0]}")
        ax.plot(layers, _positive(values[-1]), color=colour, marker=marker, markersize=4,
                label=f"{name}, step {run.grad_steps[-1]}")
        if _zero_layers(values[-1:]):
            zero.append(f"{name} in {_zero_layers(values[-1:])}")
    log_y(ax, _positive(np.array([values[i] for values in (run.backward_signal, run.grad_norms) for i in (0, -1)])))
    if zero:  # a log axis cannot show them: say so
        ax.text(0.03, 0.03, "exactly 0:\n" + "\n".join(zero), transform=ax.transAxes, color=_WARNING, fontsize=8)
    ax.set_ylabel("norm (log scale)")
    ax.set_xticks(layers[:: math.ceil(d / 10)] if d > 12 else layers)
    ax.legend(loc="best", fontsize=7)


@styled
def dashboard(run: DashboardRun) -> Figure:
    """The six-panel gradient-health dashboard of one run (finished, stopped, diverged or still training).

    Parameters
    ----------
    run
        A :class:`vanishing.experiments.DashboardRun` (from :func:`vanishing.experiments.train_dashboard`
        or a trainer's snapshot).
    """
    if not isinstance(run, DashboardRun):
        raise TypeError(f"run must be a DashboardRun from vanishing.experiments.train_dashboard, "
                        f"got {type(run).__name__}")
    fig = new_figure(2, 3, figsize=FIGSIZE)
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.08, top=0.87, wspace=0.5, hspace=0.42)
    loss_ax, grad_ax, update_ax, hist_ax, health_ax, profile_ax = fig.axes
    _loss_panel(loss_ax, run)
    _gradient_panel(grad_ax, run)
    _update_panel(update_ax, run)
    _histogram_panel(hist_ax, run)
    _health_panel(health_ax, run)
    _profile_panel(profile_ax, run)
    fig.suptitle(run.settings.describe(), x=0.01, y=0.985, ha="left", fontsize=10.5)
    accuracy = "" if math.isnan(run.final_accuracy) else f" · test accuracy {run.final_accuracy:.0%}"
    colour = _WARNING if run.diverged else ("black" if run.complete else OKABE_ITO["blue"])
    fig.text(0.01, 0.935, run.status + accuracy, ha="left", va="center", fontsize=10, color=colour,
             fontweight="bold")
    fig.text(0.99, 0.935, "layer colours: dark purple = input side … light green = output side", ha="right",
             va="center", fontsize=9, color=_LAYER_MAP(0.0))
    return fig


def mystery_dashboard(run: DashboardRun, name: str) -> Figure:
    """:func:`dashboard` of a mystery network, titled ``"mystery <name>"``: its settings stay hidden.

    The dashboard's own title is the run's settings, which would name what is broken.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name={name!r} must be the mystery's name, e.g. 'A'")
    fig = dashboard(run)
    fig.suptitle(f"mystery {name} (its settings are revealed after your diagnosis)", x=0.01, y=0.985, ha="left",
                 fontsize=10.5)
    return fig
