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
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..experiments.capstone import DashboardRun
from ._style import GREY, OKABE_ITO, LegendSlot, View, log_decades, log_y, new_figure, styled

__all__ = ["DashboardView", "dashboard", "mystery_dashboard"]

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


def _positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: 0 and non-finite entries become nan (not drawn)."""
    values = np.array(values, dtype=np.float64)
    values[~np.isfinite(values) | (values <= 0)] = np.nan
    return values


def _steps_axis(ax: Axes, run: DashboardRun) -> None:
    # while training, the axis spans the planned run (the curves grow into it); afterwards the steps done
    ax.set_xlim(0, max(run.settings.steps if not run.complete else run.steps, 1))


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


def _linear_y(ax: Axes, values: np.ndarray) -> None:
    """A linear y axis over the finite ``values`` (matplotlib's 5 % margins), with a few short ticks."""
    ax.set_yscale("linear")
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.05 * (high - low) if high > low else max(0.05 * abs(low), 0.05)
    ax.set_ylim(low - pad, high + pad)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.3g}"))


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


class _Panel:
    """One panel's note: a message in the middle of the panel when it has no data to show."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax
        self.note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=9, wrap=True)
        # a log axis cannot show the layers that are exactly 0: this says which they are
        self.zeros = ax.text(0.02, 0.03, "", transform=ax.transAxes, color=_WARNING, fontsize=8)

    def show_note(self, text: str | None, colour: str = GREY) -> None:
        """Show ``text`` (fixed limits, no y ticks), or hide the note (None)."""
        self.note.set_visible(text is not None)
        if text is not None:
            self.note.set_text(text)
            self.note.set_color(colour)
            self.ax.set_yscale("linear")
            self.ax.set_ylim(0, 1)
            self.ax.set_yticks([])


class DashboardView(View):
    """The figure of :func:`dashboard`, kept by the ``gradient_dashboard`` widget and redrawn at every live frame.

    The lines of each layer are made again only when the network's number of layers changes; the activation
    histograms are one mesh, made again at each update (its size grows with the probes).
    """

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(2, 3, figsize=FIGSIZE)
        self.figure.subplots_adjust(left=0.07, right=0.985, bottom=0.08, top=0.87, wspace=0.5, hspace=0.42)
        self.axes = list(self.figure.axes)  # the six panels (the loss panel's twin comes later)
        self.panels = [_Panel(ax) for ax in self.axes]
        loss_ax, grad_ax, update_ax, hist_ax, health_ax, profile_ax = self.axes
        for ax in (loss_ax, grad_ax, update_ax, hist_ax, health_ax):
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10], integer=True))
            ax.set_xlabel("step")
        self._loss_artists(loss_ax)
        self.healthy = update_ax.axhline(_HEALTHY_UPDATE_RATIO, color=GREY, linestyle="--", linewidth=1.0)
        grad_ax.set_title("backward signal per layer")
        update_ax.set_title("update-to-data ratio per layer")
        hist_ax.set_title("activation histograms over training")
        hist_ax.grid(False)
        self.mesh: Any = None
        self.profile_lines = {  # (backward signal | weight gradient, first | latest record)
            (kind, when): profile_ax.plot([], [], color=colour, marker=marker, markersize=3.5 if first else 4,
                                          linestyle="--" if first else "-", linewidth=1.0 if first else 1.5)[0]
            for kind, colour, marker in (("z", OKABE_ITO["blue"], "o"), ("W", OKABE_ITO["orange"], "s"))
            for when, first in (("first", True), ("latest", False))}
        profile_ax.set_title("gradients by layer: ∂L/∂z and ∂L/∂W")
        profile_ax.set_xlabel("Dense layer (1 = input side)")
        self.profile_legend = LegendSlot(profile_ax, loc="best", fontsize=8)
        self.layout: tuple[int, int] = (-1, -1)
        self.layer_lines: dict[str, list[Any]] = {"grad": [], "update": [], "health": [], "bands": []}
        self.status = self.figure.text(0.01, 0.935, "", ha="left", va="center", fontsize=10, fontweight="bold")
        self.figure.text(0.99, 0.935, "layer colours: dark purple = input side … light green = output side",
                         ha="right", va="center", fontsize=9, color=_LAYER_MAP(0.0))

    def _loss_artists(self, ax: Axes) -> None:
        self.raw_loss = ax.plot([], [], color=OKABE_ITO["sky"], linewidth=0.6, alpha=0.7)[0]
        self.smooth_loss = ax.plot([], [], color=OKABE_ITO["blue"], linewidth=1.6)[0]
        self.diverged_at = ax.axvline(0.0, color=_WARNING, linewidth=1.2, linestyle=":")
        self.diverged_note = ax.text(0.03, 0.95, "", transform=ax.transAxes, ha="left", va="top", color=_WARNING,
                                     fontsize=9)
        self.twin = ax.twinx()
        self.twin.grid(False)
        self.twin.spines["right"].set_visible(True)
        self.accuracy = self.twin.plot([], [], color=OKABE_ITO["orange"], linewidth=1.8)[0]
        self.twin.set_ylim(0, 1.02)
        self.twin.set_yticks([0, 0.25, 0.5, 0.75, 1])
        self.twin.set_ylabel("test accuracy", color=OKABE_ITO["orange"])
        ax.set_title("training loss and test accuracy")

    def _lay_out_layers(self, dense: int, hidden: int) -> None:
        """Lines per Dense layer (gradient, update panels), per activation layer (health) and band separators."""
        _, grad_ax, update_ax, hist_ax, health_ax, _ = self.axes
        for artist in (artist for lines in self.layer_lines.values() for artist in lines):
            artist.remove()
        self.layer_lines = {
            "grad": [grad_ax.plot([], [], color=c, linewidth=1.1, markersize=3)[0] for c in _layer_colours(dense)],
            "update": [update_ax.plot([], [], color=c, linewidth=1.1, markersize=3)[0]
                       for c in _layer_colours(dense)],
            "health": [health_ax.plot([], [], color=c, linewidth=1.4)[0] for c in _layer_colours(hidden)],
            "bands": [hist_ax.axhline(k, color="white", linewidth=1.2, zorder=3) for k in range(1, hidden)],
        }
        self.layout = (dense, hidden)

    def update(self, run: DashboardRun) -> None:
        if not isinstance(run, DashboardRun):
            raise TypeError(f"run must be a DashboardRun from vanishing.experiments.train_dashboard, "
                            f"got {type(run).__name__}")
        if (len(run.dense_names), len(run.activation_names)) != self.layout:
            self._lay_out_layers(len(run.dense_names), len(run.activation_names))
        loss_ax, grad_ax, update_ax, hist_ax, health_ax, profile_ax = self.axes
        self._loss_panel(run)
        self._per_layer_lines(1, self.layer_lines["grad"], run, run.backward_signal, "‖∂L/∂z‖",
                              "no gradient reaches\nany Dense layer's output")
        drawn = self._per_layer_lines(2, self.layer_lines["update"], run, run.update_ratio, "‖ΔW‖ / ‖W‖ per step",
                                      "no weight moved:\nevery update is exactly 0")
        self.healthy.set_visible(drawn)
        update_ax.set_xlabel("step  (dashed: 10⁻³, a rule of thumb)" if drawn else "step")
        self._histogram_panel(run)
        self._health_panel(run)
        self._profile_panel(run)
        for ax in (loss_ax, grad_ax, update_ax, hist_ax, health_ax):
            _steps_axis(ax, run)
        self.figure.suptitle(run.settings.describe(), x=0.01, y=0.985, ha="left", fontsize=10.5)
        accuracy = "" if math.isnan(run.final_accuracy) else f" · test accuracy {run.final_accuracy:.0%}"
        self.status.set_text(run.status + accuracy)
        self.status.set_color(_WARNING if run.diverged else ("black" if run.complete else OKABE_ITO["blue"]))

    def _loss_panel(self, run: DashboardRun) -> None:
        ax = self.axes[0]
        steps = np.arange(1, len(run.loss) + 1)
        loss = _positive(run.loss)
        drawn = bool(np.isfinite(loss).any())
        for line in (self.raw_loss, self.smooth_loss):
            line.set_visible(drawn)
        logarithmic = drawn and log_decades(loss) >= 1
        if drawn:
            self.raw_loss.set_data(steps, loss)
            self.smooth_loss.set_data(steps, _smooth(loss, max(run.settings.steps // 30, 1)))
            if logarithmic:
                log_y(ax, loss)
            else:  # a loss within a decade: a few short linear ticks
                _linear_y(ax, loss)
        else:
            ax.set_yscale("linear")
            ax.set_ylim(0, 1)
        ax.set_ylabel("training loss" + (" (log scale)" if logarithmic else ""), color=OKABE_ITO["blue"])
        self.diverged_at.set_visible(run.diverged)
        self.diverged_note.set_visible(run.diverged)
        if run.diverged:
            self.diverged_at.set_xdata([run.steps, run.steps])
            self.diverged_note.set_text(f"loss or weights not finite\nat step {run.steps}")
        self.accuracy.set_data(run.probe_steps, run.test_accuracy)

    def _per_layer_lines(self, panel: int, lines: list[Any], run: DashboardRun, values: np.ndarray, ylabel: str,
                         zero_note: str) -> bool:
        """One line per Dense layer on a log axis; a note instead when there is nothing positive to draw."""
        ax = self.axes[panel]
        drawn = bool(values.size and np.isfinite(_positive(values)).any())
        for j, line in enumerate(lines):
            line.set_visible(drawn)
            if drawn:
                line.set_data(run.grad_steps, _positive(values[:, j]))
                line.set_marker("o" if len(run.grad_steps) == 1 else "")  # a line of one point is invisible
        zero = _zero_layers(values) if drawn else ""
        self.panels[panel].zeros.set_text(f"exactly 0 in {zero}" if zero else "")
        if drawn:
            self.panels[panel].show_note(None)
            log_y(ax, _positive(values))
            ax.set_ylabel(f"{ylabel} (log scale)")
            return True
        ax.set_ylabel(ylabel)
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite == 0):
            self.panels[panel].show_note(zero_note, colour=_WARNING)
        else:
            self.panels[panel].show_note("nothing recorded yet" if not values.size else "no finite value recorded")
        return False

    def _histogram_panel(self, run: DashboardRun) -> None:
        ax = self.axes[3]
        if self.mesh is not None:
            self.mesh.remove()
            self.mesh = None
        p, a, b = run.histograms.shape
        if a == 0 or p == 0:
            self.panels[3].show_note("no hidden activation layer")
            ax.set_ylabel("")
            return
        self.panels[3].show_note(None)
        # bands from the last layer (bottom) to the first (top); within a band, low outputs at the bottom
        bands = run.histograms[:, ::-1, :].transpose(1, 2, 0).reshape(a * b, p)
        # each column spans from its probe to the next one
        edges = np.append(run.probe_steps, run.probe_steps[-1] + max(run.settings.steps // 50, 1))
        if p == 1:
            edges = np.array([0.0, max(run.settings.steps / 50, 1.0)])
        self.mesh = ax.pcolormesh(edges, np.linspace(0, a, a * b + 1), np.ma.masked_less_equal(bands, 0),
                                  cmap=_IMAGE_MAP, norm=LogNorm(vmin=HISTOGRAM_FLOOR, vmax=1.0, clip=True),
                                  shading="flat")
        ax.set_ylim(0, a)
        every = max(1, math.ceil(a / 10))
        ticks = [k for k in range(a) if k % every == 0 or k == a - 1]
        ax.set_yticks([a - k - 0.5 for k in ticks], [str(k + 1) for k in ticks])
        low, high = run.hist_edges[0, 0], run.hist_edges[0, -1]
        ax.set_ylabel(f"hidden layer; in a band, output\n{low:.3g} (bottom) to {high:.3g} (top)", fontsize=9)
        ax.set_xlabel("step  (darker: more outputs in that bin, log scale)")

    def _health_panel(self, run: DashboardRun) -> None:
        ax = self.axes[4]
        kinds = [k for k in run.health_kinds if k]
        for j, line in enumerate(self.layer_lines["health"]):
            line.set_visible(bool(kinds))
            if kinds:
                line.set_data(run.probe_steps, run.health[:, j])
        if not kinds:
            ax.set_title("saturated and dead units")
            ax.set_ylabel("")
            ax.set_xlabel("step")
            self.panels[4].show_note(f"not measured for {run.settings.activation}: saturation is defined\n"
                                     "for sigmoid and tanh, death for ReLU")
            return
        self.panels[4].show_note(None)
        saturated = kinds[0] == "saturated"
        ax.set_title("saturated units per layer" if saturated else "dead units per layer")
        ax.set_ylabel("fraction of outputs saturated" if saturated else "fraction of units dead")
        ax.set_ylim(-0.03, 1.03)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
        ax.set_xlabel("step  (saturated: output within 0.01 of an end)" if saturated
                      else "step  (dead: 0 on every probe example)")

    def _profile_panel(self, run: DashboardRun) -> None:
        """‖∂L/∂z_l‖ (blue) and ‖∂L/∂W_l‖ (orange) by layer, at the first record (dashed) and the latest (solid)."""
        ax = self.axes[5]
        series = {"z": run.backward_signal, "W": run.grad_norms}
        d = len(run.dense_names)
        layers = np.arange(1, d + 1)
        ax.set_xlim(0.5, d + 0.5)
        recorded = len(run.grad_norms) > 0
        drawn = recorded and bool(np.isfinite(_positive(np.concatenate(list(series.values())))).any())
        for line in self.profile_lines.values():
            line.set_visible(drawn)
        if self.profile_legend.legend is not None:
            self.profile_legend.legend.set_visible(drawn)
        self.panels[5].zeros.set_text("")
        if not drawn:
            ax.set_ylabel("norm")
            self.panels[5].show_note("no non-zero gradient\nrecorded" if recorded else "nothing recorded yet",
                                     colour=_WARNING if recorded else GREY)
            return
        self.panels[5].show_note(None)
        names = {"z": "‖∂L/∂z‖", "W": "‖∂L/∂W‖"}
        zero = [f"{names[k]} in {_zero_layers(v[-1:])}" for k, v in series.items() if _zero_layers(v[-1:])]
        self.panels[5].zeros.set_text("exactly 0:\n" + "\n".join(zero) if zero else "")
        for (kind, when), line in self.profile_lines.items():
            record = 0 if when == "first" else -1
            line.set_data(layers, _positive(series[kind][record]))
            line.set_label(f"{names[kind]}, step {run.grad_steps[record]}")
        log_y(ax, _positive(np.array([v[i] for v in series.values() for i in (0, -1)])))
        ax.set_ylabel("norm (log scale)")
        ax.set_xticks(layers[:: math.ceil(d / 10)] if d > 12 else layers)
        self.profile_legend.show([(line, line.get_label()) for line in self.profile_lines.values()])


def dashboard(run: DashboardRun) -> Figure:
    """The six-panel gradient-health dashboard of one run (finished, stopped, diverged or still training).

    Parameters
    ----------
    run
        A :class:`vanishing.experiments.DashboardRun` (from :func:`vanishing.experiments.train_dashboard`
        or a trainer's snapshot).
    """
    return DashboardView().show(run)


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
