"""Notebook 07 (optimizers): figures for :mod:`vanishing.experiments.optimizers`.

Trajectories are drawn over contour lines of the 2-D loss, with a second
panel of the loss against the step (log scale: the distance to the minimum
spans many decades). Colours follow the method, the same in every figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from ..experiments import optimizers as ex
from ._style import GREY, OKABE_ITO, LegendSlot, View, colour, new_figure, power_of_ten, styled

__all__ = [
    "OPTIMIZER_COLOURS", "TrajectoryView", "bias_correction_plot", "dead_unit_plot", "decay_plot", "paths_grid",
    "step_size_plot", "trajectory_plot", "update_ratio_plot",
]

NOTEBOOK = "07"

OPTIMIZER_COLOURS = {
    "sgd": OKABE_ITO["vermillion"],
    "momentum": OKABE_ITO["blue"],
    "nesterov": OKABE_ITO["sky"],
    "rmsprop": OKABE_ITO["purple"],
    "adam": OKABE_ITO["green"],
}
"""One colour per method of :data:`vanishing.experiments.optimizers.OPTIMIZER_METHODS`."""

GRID_POINTS = 161
"""Contour grid resolution per axis."""

FLOOR = 1e-16
"""Losses below this (down to exact 0) are drawn at this value on the log axis."""


def _decade_label(value: float, _position: object = None) -> str:
    """``10⁻⁶`` for a tick at 1e-6: plain unicode, which lays out much faster than mathtext."""
    if value <= 0:
        return ""
    exponent = np.log10(value)
    return power_of_ten(exponent) if abs(exponent - round(exponent)) < 1e-9 else ""


def _check(result: object, kind: type, producer: str) -> None:
    if not isinstance(result, kind):
        raise TypeError(f"expected a {kind.__name__} from {producer}, got {type(result).__name__}")


@lru_cache(maxsize=16)
def _grid(name: str, window: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contour grid of a surface over a window (cached: a widget redraws the same surface many times)."""
    surface = ex.LOSS_SURFACES[name]
    x0, x1, y0, y1 = window
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID_POINTS), np.linspace(y0, y1, GRID_POINTS))
    return gx, gy, np.asarray(surface.value(gx, gy))


def _levels(name: str, values: np.ndarray) -> np.ndarray:
    """Contour levels: geometric where the loss spans decades, even on the saddle and the plateau."""
    if name == "saddle":
        return np.linspace(-4.0, 4.0, 17)
    if name == "plateau":
        return np.linspace(0.125, 2.0, 8) ** 2 / 2  # f is close to y²/2 there: lines at |y| = 0.125, 0.375, ...
    top = float(values.max())
    if name == "rosenbrock":
        return np.geomspace(0.05, top, 12)
    return np.geomspace(0.02, top, 12)


WINDOW_STEP = 0.5
"""A window enlarged for a start point outside it grows in steps of this size (see :func:`_window`)."""


def _window(surface: ex.LossSurface, starts: Sequence[np.ndarray]) -> tuple[float, float, float, float]:
    """The surface's window, enlarged to include every start point (with a margin).

    An enlarged side moves out to a multiple of :data:`WINDOW_STEP`: a start dragged outside the window
    gives a few windows (and contour sets) rather than a new one at every step of the slider.
    """
    x0, x1, y0, y1 = surface.window
    for s in starts:
        x, y = float(s[0]), float(s[1])
        mx, my = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
        if x - mx < x0:
            x0 = WINDOW_STEP * np.floor((x - mx) / WINDOW_STEP)
        if x + mx > x1:
            x1 = WINDOW_STEP * np.ceil((x + mx) / WINDOW_STEP)
        if y - my < y0:
            y0 = WINDOW_STEP * np.floor((y - my) / WINDOW_STEP)
        if y + my > y1:
            y1 = WINDOW_STEP * np.ceil((y + my) / WINDOW_STEP)
    return float(x0), float(x1), float(y0), float(y1)


def _run_label(run: ex.SurfacePath) -> str:
    """A short legend entry: method, lr, and how the run ended (the legend's title says what the number is)."""
    label = f"{ex.OPTIMIZER_LABELS[run.method]} lr {run.settings['lr']:.2g}"
    if run.method == "adam" and not run.settings["bias_correction"]:
        label += " (no bias corr.)"
    return f"{label}: {_outcome(run)}"


def _outcome(run: ex.SurfacePath) -> str:
    """How the run ended: f (saddle) or f − f_min after the last step, or where it left the window."""
    if run.left_at > 0:
        return f"left at step {run.left_at}"
    if run.surface == "saddle":
        return f"{run.values[-1]:.2g}"
    return f"{run.gap[-1]:.1e}"


def _results_text(comparison: ex.OptimizerComparison) -> str:
    """One or two lines: each method's learning rate and outcome."""
    what = "f" if ex.LOSS_SURFACES[comparison.surface].f_min is None else "f − f_min"
    parts = [f"{ex.OPTIMIZER_LABELS[m]} (lr {run.settings['lr']:.2g}) {_outcome(run)}"
             for m, run in comparison.runs.items()]
    lines = [", ".join(parts[i:i + 3]) for i in range(0, len(parts), 3)]
    noise = f" (gradient noise σ = {comparison.noise:g})" if comparison.noise > 0 else ""
    return f"after {comparison.steps} steps{noise}, {what}: " + "\n".join(lines)


def _settings_text(comparison: ex.OptimizerComparison) -> str:
    """The shared settings of the methods shown (μ, β1, β2), for a title."""
    parts = []
    methods = set(comparison.runs)
    if methods & {"momentum", "nesterov"}:
        run = comparison.runs.get("momentum") or comparison.runs["nesterov"]
        parts.append(f"μ = {run.settings['momentum']:g}")
    if "adam" in methods:
        run = comparison.runs["adam"]
        parts.append(f"β₁ = {run.settings['beta1']:g}, β₂ = {run.settings['beta2']:g}")
    if "rmsprop" in methods:
        parts.append(f"ρ = {comparison.runs['rmsprop'].settings['rho']:g}")
    return "; ".join(parts)


SURFACES_KEPT = 8
"""Surfaces (and windows) whose contours a :class:`TrajectoryView` keeps."""

TRAJECTORY_FIGSIZE = (9.6, 4.2)
"""Inches of :func:`trajectory_plot`'s figure."""

_TRAJECTORY_LAYOUT = {"left": 0.07, "right": 0.98, "bottom": 0.25, "top": 0.9, "wspace": 0.22}


def _static_panel(ax: Axes, surface: ex.LossSurface, window: tuple[float, float, float, float], *,
                  annotate: bool = True) -> None:
    """What a path panel shows before any path: contours, shading, limits, ticks and the x label."""
    gx, gy, gz = _grid(surface.name, window)
    ax.contour(gx, gy, gz, levels=_levels(surface.name, gz), colors=GREY, linewidths=0.6)
    if surface.name == "plateau":
        ax.axvspan(window[0], 0.0, color=OKABE_ITO["green"], alpha=0.08, linewidth=0)
    if surface.name == "plateau" and annotate:
        box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5}
        ax.text(window[0] + 0.05, window[2] + 0.1, "flat (slope 0):\nminimum on y = 0", va="bottom", fontsize=8,
                color=GREY, bbox=box)
        ax.text(0.6, window[2] + 0.1, f"slope {ex.PLATEAU_SLOPE:g} along x", va="bottom", fontsize=8, color=GREY,
                bbox=box)
    ax.xaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
    ax.set_xlim(window[0], window[1])
    ax.set_ylim(window[2], window[3])
    ax.set_xlabel("x")


def _loss_range(comparison: ex.OptimizerComparison) -> tuple[float, float]:
    """Limits of the loss axis, chosen so that they rarely change while a widget's sliders move.

    Log scale (f − f_min) where there is a minimum: the top is the power of ten
    above the largest loss in the window (a run that climbs higher is cut off
    there, and soon leaves the box anyway); the bottom is a multiple of eight
    decades below the smallest loss reached, at least :data:`FLOOR`. On the
    saddle, linear over the range of f in the box the runs stay in.
    """
    surface = ex.LOSS_SURFACES[comparison.surface]
    if surface.f_min is None:
        x0, x1, y0, y1 = surface.box
        corners = [surface.value(x, y) for x in (x0, x1, 0.0) for y in (y0, y1, 0.0)]
        return float(min(corners)), float(max(corners))
    window = _window(surface, [np.asarray(comparison.start)])
    top = np.ceil(np.log10(max(float(_grid(surface.name, window)[2].max()) - surface.f_min, 1.0)))
    smallest = min(float(np.min(run.gap)) for run in comparison.runs.values())
    bottom = 8 * np.floor(np.log10(max(smallest, FLOOR)) / 8) if np.isfinite(smallest) else np.log10(FLOOR)
    return float(10.0 ** max(bottom, np.log10(FLOOR))), float(10.0 ** top)


def _draw_runs(ax: Axes, comparison: ex.OptimizerComparison) -> list[Line2D]:
    """Every run's path, the start and the minimum (or the saddle point) on ``ax``; returns legend handles."""
    surface = ex.LOSS_SURFACES[comparison.surface]
    handles = []
    for method, run in comparison.runs.items():
        c = OPTIMIZER_COLOURS[method]
        path = run.path
        marker = "o" if len(path) <= 200 else None  # dots show the step lengths; too dense beyond that
        ax.plot(path[:, 0], path[:, 1], color=c, linewidth=1.3, marker=marker, markersize=2.2, alpha=0.9)
        if run.left_at > 0:
            ax.plot(path[-1, 0], path[-1, 1], marker="x", color=c, markersize=8, markeredgewidth=2)
        handles.append(Line2D([], [], color=c, label=_run_label(run)))
    ax.plot(*comparison.start, marker="o", color="black", markersize=6, linestyle="none", zorder=5)
    centre = surface.minimum if surface.minimum is not None else (0.0, 0.0)
    ax.plot(*centre, marker="+", color="black", markersize=12, markeredgewidth=2, zorder=5)
    return handles


class TrajectoryView(View):
    """The figure of :func:`trajectory_plot`, kept by the ``optimizer_paths`` widget and changed in place.

    The contour lines are made again only when the surface or its window changes; the paths, the loss
    curves, the limits and the texts are changed at every update.
    """

    @styled
    def __init__(self, title: str | None = None) -> None:
        self.title = title
        self.figure = new_figure(1, 2, figsize=TRAJECTORY_FIGSIZE)
        self.figure.subplots_adjust(**_TRAJECTORY_LAYOUT)
        left, right = self.figure.axes
        self._surfaces: dict[tuple, list] = {}  # (surface, window) -> its contour set, shading and notes
        self.paths = {m: left.plot([], [], color=c, linewidth=1.3, markersize=2.2, alpha=0.9)[0]
                      for m, c in OPTIMIZER_COLOURS.items()}
        self.exits = {m: left.plot([], [], marker="x", color=c, markersize=8, markeredgewidth=2)[0]
                      for m, c in OPTIMIZER_COLOURS.items()}
        self.start = left.plot([], [], marker="o", color="black", markersize=6, linestyle="none", zorder=5)[0]
        self.centre = left.plot([], [], marker="+", color="black", markersize=12, markeredgewidth=2, zorder=5)[0]
        left.xaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
        left.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
        left.set_xlabel("x")
        left.set_ylabel("y")
        self.losses = {m: right.plot([], [], color=c)[0] for m, c in OPTIMIZER_COLOURS.items()}
        self.saddle_level = right.axhline(0.0, color=GREY, linewidth=0.8)
        right.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        right.set_xlabel("step")
        self.legend = LegendSlot(self.figure, one_row=True, loc="lower center", fontsize=8.5,
                                 bbox_to_anchor=(0.5, 0.07))
        self.results = self.figure.text(0.5, 0.02, "", ha="center", va="bottom", fontsize=8)

    def update(self, comparison: ex.OptimizerComparison) -> None:
        _check(comparison, ex.OptimizerComparison, "compare_optimizers")
        surface = ex.LOSS_SURFACES[comparison.surface]
        left, right = self.figure.axes
        window = _window(surface, [np.asarray(comparison.start)])
        self._surface(surface, window)
        for method, line in self.paths.items():
            run = comparison.runs.get(method)
            line.set_visible(run is not None)
            self.exits[method].set_visible(run is not None and run.left_at > 0)
            if run is not None:
                line.set_data(run.path[:, 0], run.path[:, 1])
                line.set_marker("o" if len(run.path) <= 200 else "")  # dots show the steps; too dense beyond
                self.exits[method].set_data([run.path[-1, 0]], [run.path[-1, 1]])
        self.start.set_data([comparison.start[0]], [comparison.start[1]])
        centre = surface.minimum if surface.minimum is not None else (0.0, 0.0)
        self.centre.set_data([centre[0]], [centre[1]])
        self._loss_panel(comparison, surface)
        self.legend.show([(self.losses[m], ex.OPTIMIZER_LABELS[m]) for m in comparison.runs])
        self.results.set_text(_results_text(comparison))

    def _surface(self, surface: ex.LossSurface, window: tuple[float, float, float, float]) -> None:
        """Contours, shading, limits and title of the path panel: made once per surface and window.

        The artists of the last :data:`SURFACES_KEPT` surfaces and windows are kept (hidden when not shown),
        so that going back to a surface costs nothing.
        """
        left = self.figure.axes[0]
        key = (surface.name, window)
        if key not in self._surfaces:
            before = {*left.collections, *left.patches, *left.texts}
            _static_panel(left, surface, window)
            self._surfaces[key] = [a for a in (*left.collections, *left.patches, *left.texts) if a not in before]
            while len(self._surfaces) > SURFACES_KEPT:
                for artist in self._surfaces.pop(next(iter(self._surfaces))):
                    artist.remove()
        for shown, artists in self._surfaces.items():
            for artist in artists:
                artist.set_visible(shown == key)
        left.set_xlim(window[0], window[1])
        left.set_ylim(window[2], window[3])
        left.set_title(self.title or f"f = {surface.formula}", fontsize=10)

    def _loss_panel(self, comparison: ex.OptimizerComparison, surface: ex.LossSurface) -> None:
        right = self.figure.axes[1]
        for method, line in self.losses.items():
            run = comparison.runs.get(method)
            line.set_visible(run is not None)
            if run is not None:
                values = run.values if surface.f_min is None else np.maximum(run.gap, FLOOR)
                line.set_data(np.arange(len(values)), values)
        self.saddle_level.set_visible(surface.f_min is None)
        limits = _loss_range(comparison)
        if surface.f_min is None:
            right.set_yscale("linear")
            right.set_ylabel("f (the saddle point has f = 0)")
        elif right.get_yscale() != "log":
            right.set_ylim(*limits)  # positive limits first: a log scale would not take the linear ones
            right.set_yscale("log")
            right.yaxis.set_major_locator(LogLocator(numticks=7))
            right.yaxis.set_minor_locator(NullLocator())
            right.yaxis.set_major_formatter(FuncFormatter(_decade_label))
        if surface.f_min is not None:
            right.set_ylabel("f − f_min (log scale)")
        right.set_ylim(*limits)
        right.set_xlim(0, comparison.steps)
        settings = _settings_text(comparison)
        right.set_title("loss against step" + (f" ({settings})" if settings else ""), fontsize=10)


def trajectory_plot(comparison: ex.OptimizerComparison, *, title: str | None = None) -> Figure:
    """Left: the paths over contour lines of the loss. Right: f − f_min (or f on the saddle) against the step.

    A path that left the window ends with a ×; the start is a black dot and
    the minimum (the saddle point on the saddle) a black +. The loss axis's
    limits change in large steps only (:func:`_loss_range`).
    Under the legend, one line gives each method's learning rate and outcome.
    """
    return TrajectoryView(title).show(comparison)


@styled
def paths_grid(comparisons: Mapping[str, ex.OptimizerComparison]) -> Figure:
    """One panel of paths per comparison (titled by its key), side by side; legends under each panel.

    On the plateau the flat region (x ≤ 0, where the minimum lies) is shaded green.
    """
    if not isinstance(comparisons, Mapping) or not comparisons:
        raise TypeError("comparisons must be a non-empty dict: title -> the result of compare_optimizers()")
    for comparison in comparisons.values():
        _check(comparison, ex.OptimizerComparison, "compare_optimizers")
    n = len(comparisons)
    width, height = 3.4 * n, 4.0
    fig = new_figure(1, n, figsize=(width, height))
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.1 / width, bottom=1.35 / height, top=1 - 0.35 / height,
                        wspace=0.3)
    for ax, (title, comparison) in zip(fig.axes, comparisons.items(), strict=True):
        surface = ex.LOSS_SURFACES[comparison.surface]
        _static_panel(ax, surface, _window(surface, [np.asarray(comparison.start)]), annotate=False)
        handles = _draw_runs(ax, comparison)
        ax.set_title(title, fontsize=9.5)
        what = "f" if surface.f_min is None else "f − f_min"
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=7.5,
                  title=f"{what} after {comparison.steps} steps", title_fontsize=7.5)
    fig.axes[0].set_ylabel("y")
    return fig


@styled
def step_size_plot(result: ex.StepSizes) -> Figure:
    """Step length per unit learning rate against the size of a constant gradient, log-log, one line per method."""
    _check(result, ex.StepSizes, "step_size_by_gradient_scale")
    fig = new_figure(1, 1, figsize=(6.4, 4.0))
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.9)
    ax = fig.axes[0]
    # Nesterov's steps equal momentum's and RMSProp's nearly equal Adam's: dashed, so both lines show
    dashed = {"nesterov", "rmsprop"}
    for method, sizes in result.last.items():
        ax.plot(result.scales, np.maximum(sizes, 1e-30), color=OPTIMIZER_COLOURS[method],
                marker="s" if method in dashed else "o", markersize=3.5 if method in dashed else 5,
                linestyle="--" if method in dashed else "-", linewidth=1.4 if method in dashed else 2.2,
                zorder=3 if method in dashed else 2,
                label=ex.OPTIMIZER_LABELS[method] + (" (on momentum)" if method == "nesterov" else
                                                     " (on Adam)" if method == "rmsprop" else ""))
    ax.axvline(result.eps, color=GREY, linestyle=":", linewidth=1.2)
    ax.text(result.eps * 1.5, 1e-11, f"ε = {result.eps:g}", color=GREY, fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("size of the gradient |g| (log scale)")
    ax.set_ylabel("step length / learning rate (log scale)")
    ax.set_title(f"the step after {result.steps} steps of the same gradient", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return fig


@styled
def bias_correction_plot(result: ex.BiasCorrection) -> Figure:
    """Adam's step per unit lr against the step number, with and without bias correction, one panel per (β1, β2)."""
    _check(result, ex.BiasCorrection, "bias_correction_steps")
    pairs = list(result.corrected)
    fig = new_figure(1, len(pairs), figsize=(9.6 if len(pairs) > 1 else 6.4, 3.8), sharey=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.88, wspace=0.22)
    for ax, pair in zip(fig.axes, pairs, strict=True):
        ax.plot(result.steps, result.corrected[pair], color=OKABE_ITO["green"], label="with bias correction")
        ax.plot(result.steps, result.uncorrected[pair], color=OKABE_ITO["vermillion"],
                label="without bias correction")
        ax.plot(result.steps, result.factor[pair], color="black", linestyle=":", linewidth=1.2,
                label="(1 − β₁ᵗ) / √(1 − β₂ᵗ)")
        ax.set_xscale("log")
        ax.set_xlabel("step t (log scale)")
        ax.set_title(f"β₁ = {pair[0]:g}, β₂ = {pair[1]:g}", fontsize=10)
        if result.uncorrected[pair].max() > 1.5:  # steps too large: room for the legend above the peak
            ax.set_ylim(0, 1.5 * result.uncorrected[pair].max())
            ax.legend(loc="upper right", fontsize=8)
        else:
            ax.legend(loc="lower right", fontsize=8)
    fig.axes[0].set_ylabel("step length / lr (constant gradient)")
    return fig


@styled
def decay_plot(result: ex.DecayComparison) -> Figure:
    """The weight left after decay, per decay variant, for data gradients of different sizes (grouped bars)."""
    _check(result, ex.DecayComparison, "decay_by_gradient_scale")
    fig = new_figure(1, 1, figsize=(7.6, 3.8))
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.15, top=0.88)
    ax = fig.axes[0]
    labels = list(result.final)
    n = len(labels)
    x = np.arange(len(result.scales))
    width = 0.8 / n
    for i, label in enumerate(labels):
        centres = x + (i - (n - 1) / 2) * width
        ax.bar(centres, result.final[label], width=width * 0.95, color=colour(i), label=label)
        for cx, value in zip(centres, result.final[label], strict=True):
            if abs(value) < 0.05:  # a bar too short to see: write its height
                ax.text(cx, 0.02, f"{round(float(value), 2) + 0.0:.2f}", ha="center", va="bottom", fontsize=7,
                        color=colour(i), rotation=90)
    expected = next(iter(result.expected.values()))
    ax.axhline(expected, color="black", linestyle=":", linewidth=1.2, label=f"(1 − lr·λ)^T = {expected:.3f}")
    ax.axhline(1.0, color=GREY, linewidth=0.8)
    ax.set_xticks(x, [f"{s:g}" for s in result.scales])
    ax.set_xlabel("size s of the data gradient (±s, alternating: no net direction)")
    ax.set_ylabel(f"weight after {result.steps} steps (started at 1)")
    ax.set_ylim(-0.05, 1.25)
    ax.set_title(f"weight decay λ = {result.weight_decay:g}, lr = {next(iter(result.lr.values())):g}", fontsize=10)
    ax.legend(loc="upper left", ncols=3, fontsize=8)
    return fig


@styled
def update_ratio_plot(result: ex.LayerUpdates) -> Figure:
    """Left: median update-to-data ratio per Dense layer. Right: the RMS gradient entry per layer, and Adam's ε."""
    _check(result, ex.LayerUpdates, "update_ratios_by_layer")
    fig = new_figure(1, 2, figsize=(9.6, 4.0))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.24, top=0.88, wspace=0.25)
    left, right = fig.axes
    layers = np.arange(1, len(next(iter(result.ratio.values()))) + 1)
    styles = ["-", "-", "--", ":"]
    colours = [OKABE_ITO["vermillion"], OKABE_ITO["green"], OKABE_ITO["blue"], OKABE_ITO["purple"]]
    for i, label in enumerate(result.labels):
        c = colours[i % len(colours)]
        left.plot(layers, result.ratio[label], color=c, marker="o", markersize=3.5, linestyle=styles[i % 4],
                  label=label)
        right.plot(layers, result.grad_rms[label], color=c, marker="o", markersize=3.5, linestyle=styles[i % 4])
    for label in result.labels:
        eps = result.eps[label]
        if eps is not None:
            right.axhline(eps, color=GREY, linestyle=":", linewidth=1.2)
            right.text(layers[-1], eps * 1.8, f"ε = {eps:g}", ha="right", fontsize=8, color=GREY)
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_xlabel("Dense layer (1 = next to the input)")
        ax.set_xticks(layers[:: max(1, len(layers) // 8)])
    left.set_ylabel("median |ΔW| / |W| per step (log)")
    right.set_ylabel("RMS gradient entry (log)")
    left.set_title(f"update-to-data ratio, {result.depth} sigmoid layers × {result.width}", fontsize=10)
    right.set_title("how large each layer's gradient entries are", fontsize=10)
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=len(names), fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig


@styled
def dead_unit_plot(runs: Mapping[str, ex.DeadUnitRun]) -> Figure:
    """One small panel per setting: the dead unit's two weights and its bias, divided by their values at death."""
    if not isinstance(runs, Mapping) or not runs or not all(isinstance(r, ex.DeadUnitRun) for r in runs.values()):
        raise TypeError("runs must be the dict returned by dead_unit_updates()")
    items = list(runs.items())
    ncols = 4
    nrows = -(-len(items) // ncols)
    fig = new_figure(nrows, ncols, figsize=(10.0, 0.6 + 2.3 * nrows), sharex=True, sharey=True)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.16 if nrows > 1 else 0.3, top=0.93, wspace=0.12,
                        hspace=0.45)
    names = ("W₁", "W₂", "b")
    colours = (OKABE_ITO["blue"], OKABE_ITO["orange"], "black")
    with np.errstate(divide="ignore", invalid="ignore"):
        tops = [float(np.nanmax(np.where(np.isfinite(r.params / r.params[0]), r.params / r.params[0], np.nan)))
                for r in runs.values()]
    top = max(1.8, 1.1 * max(tops))
    for ax, (label, run) in zip(fig.axes, items, strict=False):
        steps = np.arange(len(run.params))
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = run.params / run.params[0]
        for j in range(3):
            ax.plot(steps, relative[:, j], color=colours[j], linewidth=1.4, linestyle="--" if j == 2 else "-")
        ax.axhline(0.0, color=GREY, linewidth=0.6)
        if run.revived_at > 0:
            ax.axvline(run.revived_at, color=OKABE_ITO["green"], linewidth=1.0)
        ax.set_title(label.replace(", ", ",\n", 1), fontsize=8.5)
        ax.set_ylim(-0.6, top)
    for ax in fig.axes[len(items):]:
        ax.set_visible(False)
    for ax in fig.axes[::ncols]:
        ax.set_ylabel("value / value at death")
    for ax in fig.axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("steps after death")
    handles = [Line2D([], [], color=c, linestyle="--" if j == 2 else "-", label=f"{n} / {n} at death")
               for j, (n, c) in enumerate(zip(names, colours, strict=True))]
    if any(run.revived_at > 0 for run in runs.values()):
        handles.append(Line2D([], [], color=OKABE_ITO["green"], linewidth=1.0,
                              label="unit alive again (x·w + b > 0 for some input)"))
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig
