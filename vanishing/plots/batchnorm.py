"""Notebook 06 (batch normalization): gradient flow with and without BatchNorm, its position, batch size, eval mode.

:func:`batchnorm_flow_plot` draws a :class:`~vanishing.experiments.BatchNormRun` (the widget
``batchnorm_flow``); the other figures take the arrays the notebook's own cells record
(``recorder.history``, ``history.loss``...), as documented in each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..experiments.batchnorm import BatchNormRun
from ._style import GREY, OKABE_ITO, View, colour, log_y, new_figure, styled

__all__ = ["BatchNormFlowView", "batch_noise_plot", "batch_size_plot", "batchnorm_flow_plot", "batchnorm_signal_plot",
           "covariate_shift_plot", "eval_bug_plot", "relu_position_plot"]

NOTEBOOK = "06"

_POSITION_COLOURS = {"none": OKABE_ITO["vermillion"], "before": OKABE_ITO["blue"], "after": OKABE_ITO["orange"]}
_POSITION_LABELS = {"none": "no BatchNorm", "before": "BN before ReLU", "after": "BN after ReLU"}
SMOOTHING = 10
"""Loss curves show the mean of this many consecutive steps (the raw mini-batch loss is noisy)."""


def _smoothed(loss: np.ndarray, window: int = SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """(steps, running mean of ``window`` steps) of a per-step loss; steps counted from 1."""
    loss = np.asarray(loss, dtype=np.float64)
    if loss.size < window:
        return np.arange(1, loss.size + 1), loss
    kernel = np.ones(window) / window
    return np.arange(window, loss.size + 1), np.convolve(loss, kernel, mode="valid")


def _loss_limits(ax: Axes, losses: Sequence[np.ndarray]) -> float:
    """y from 0 to a little above the highest smoothed loss, at most 4 times the highest first-step loss.

    A diverging run's loss climbs by hundreds of decades; the cap keeps the other curves readable.
    Returns the top of the axis.
    """
    tops, starts = [], []
    for loss in losses:
        smooth = _smoothed(loss)[1]
        finite = smooth[np.isfinite(smooth)]
        if finite.size and np.isfinite(loss[0]):
            tops.append(float(finite.max()))
            starts.append(float(loss[0]))
    top = min(max(tops), 4 * max(starts)) * 1.08 if tops and max(starts) > 0 else 1.0
    ax.set_ylim(0, top)
    return top


def _as_runs(runs: BatchNormRun | Mapping[str, BatchNormRun], name: str) -> dict[str, BatchNormRun]:
    if isinstance(runs, BatchNormRun):
        return {runs.label: runs}
    if not isinstance(runs, Mapping) or not runs or not all(isinstance(r, BatchNormRun) for r in runs.values()):
        raise TypeError(f"{name} must be a BatchNormRun or a non-empty dict of them "
                        "(from vanishing.experiments.batchnorm_training or batchnorm_comparison)")
    return dict(runs)


def _layer_ticks(ax: Axes, depth: int) -> None:
    """x axis of Dense layers 1 .. depth + 1, the last labelled "out"."""
    positions = sorted({1, *range(5, depth + 1, 5), depth + 1}) if depth > 8 else list(range(1, depth + 2))
    ax.xaxis.set_major_locator(FixedLocator(positions))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: "out" if round(v) == depth + 1 else f"{v:.0f}"))
    ax.set_xlim(0.5, depth + 1.5)


def batchnorm_flow_plot(runs: BatchNormRun | Mapping[str, BatchNormRun]) -> Figure:
    """The backward signal per layer (at step 1 and late in training) and the loss curves of one or more runs.

    Parameters
    ----------
    runs
        One :class:`~vanishing.experiments.BatchNormRun` (the widget) or a dict
        label -> run (the output of :func:`vanishing.experiments.batchnorm_comparison`).
    """
    return BatchNormFlowView().show(runs)


class BatchNormFlowView(View):
    """The figure of :func:`batchnorm_flow_plot`, kept by the ``batchnorm_flow`` widget and changed in place.

    Each run has its lines (two of the backward signal, one of loss, a mark where it diverged); they are made
    again only when the runs' labels change.
    """

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 2, figsize=(9.6, 3.7))
        self.figure.subplots_adjust(left=0.075, right=0.985, bottom=0.15, top=0.84, wspace=0.25)
        norm_ax, loss_ax = self.figure.axes
        self.labels: list[str] = []
        self.lines: list[dict[str, Any]] = []
        norm_ax.set_xlabel("Dense layer (1 = next to the input)")
        norm_ax.set_ylabel("‖∂L/∂z‖ (log scale)")
        norm_ax.set_title("backward signal per layer", fontsize=10)
        style_handles = [Line2D([], [], color=GREY, linestyle="--", marker="o", markersize=3, label="step 1"),
                         Line2D([], [], color=GREY, linestyle="-", marker="o", markersize=3,
                                label="median, 2nd half of training")]
        norm_ax.legend(handles=style_handles, fontsize=8, loc="best")
        loss_ax.set_xlabel("training step")
        loss_ax.set_ylabel(f"cross-entropy (mean of {SMOOTHING} steps)")
        loss_ax.set_title("training loss", fontsize=10)

    def _lines_for(self, labels: list[str]) -> None:
        norm_ax, loss_ax = self.figure.axes
        for artists in self.lines:
            for artist in artists.values():
                artist.remove()
        self.lines = []
        for i, label in enumerate(labels):
            c = colour(i)
            self.lines.append({
                "init": norm_ax.plot([], [], linestyle="--", color=c, marker="o", markersize=3)[0],
                "late": norm_ax.plot([], [], linestyle="-", color=c, marker="o", markersize=3)[0],
                "loss": loss_ax.plot([], [], color=c, label=label)[0],
                "end": loss_ax.plot([], [], "x", color=c, markersize=8)[0],
                "note": loss_ax.annotate("", (0.0, 0.0), xytext=(-4, -12), textcoords="offset points", ha="right",
                                         color=c, fontsize=8),
            })
        loss_ax.legend(fontsize=8, loc="best")
        self.labels = labels

    def update(self, runs: BatchNormRun | Mapping[str, BatchNormRun]) -> None:
        runs = _as_runs(runs, "runs")
        if list(runs) != self.labels:
            self._lines_for(list(runs))
        norm_ax, loss_ax = self.figure.axes
        depth = max(r.depth for r in runs.values())
        for lines, run in zip(self.lines, runs.values(), strict=True):
            layers = np.arange(1, run.signal.shape[1] + 1)
            for key, norms in (("init", run.init_signal), ("late", run.late_signal)):
                lines[key].set_data(layers, np.where(norms > 0, norms, np.nan))
            lines["loss"].set_data(*_smoothed(run.loss))
        log_y(norm_ax, np.concatenate([np.concatenate([r.init_signal, r.late_signal]) for r in runs.values()]))
        _layer_ticks(norm_ax, depth)
        top = _loss_limits(loss_ax, [r.loss for r in runs.values()])
        last = max(r.steps for r in runs.values())
        loss_ax.set_xlim(1 - 0.05 * last, last * 1.05)
        for lines, run in zip(self.lines, runs.values(), strict=True):
            lines["end"].set_visible(run.diverged)
            lines["note"].set_visible(run.diverged)
            if run.diverged:
                # mark where the run stopped, at the top of the axis if its loss went beyond
                where = (run.steps, min(float(run.loss[-1]), 0.95 * top) if np.isfinite(run.loss[-1]) else 0.95 * top)
                lines["end"].set_data([where[0]], [where[1]])
                lines["note"].xy = where
                lines["note"].set_text(f"diverged at step {run.steps}")
        first = next(iter(runs.values()))
        self.figure.suptitle(f"{depth} hidden layers × {first.width} units on the digits, SGD lr {first.lr:g}, "
                             f"batches of {first.batch_size}", fontsize=10.5)


def _runs_dict(runs: object, name: str, size: int) -> dict[str, tuple]:
    """Check a non-empty dict label -> tuple of ``size`` items."""
    if not isinstance(runs, Mapping) or not runs or not all(isinstance(r, tuple) and len(r) == size
                                                             for r in runs.values()):
        raise TypeError(f"{name} must be a non-empty dict: label -> a tuple of {size} items (see the docstring)")
    return dict(runs)


@styled
def batchnorm_signal_plot(runs: Mapping[str, tuple[np.ndarray, Sequence[float]]]) -> Figure:
    r"""Per Dense layer, the backward signal :math:`\|\partial L/\partial z_l\|` at step 1 and late; the loss curves.

    Parameters
    ----------
    runs
        Label -> ``(signal, loss)``: ``signal`` (steps, layers) is a
        :class:`~vanishing.diagnostics.BackwardSignal` recorder's ``history``,
        ``loss`` (steps,) the run's ``history.loss``.
    """
    runs = _runs_dict(runs, "runs", 2)
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.15, top=0.88, wspace=0.25)
    signal_ax, loss_ax = fig.axes
    shown = []
    for i, (label, (signal, loss)) in enumerate(runs.items()):
        signal = np.asarray(signal, dtype=np.float64)
        layers = np.arange(1, signal.shape[1] + 1)
        for values, style in ((signal[0], "--"), (np.median(signal[signal.shape[0] // 2:], axis=0), "-")):
            signal_ax.plot(layers, np.where(values > 0, values, np.nan), linestyle=style, color=colour(i),
                           marker="o", markersize=3)
            shown.append(values)
        loss_ax.plot(*_smoothed(np.asarray(loss)), color=colour(i), label=label)
    depth = max(np.asarray(s).shape[1] for s, _ in runs.values()) - 1
    log_y(signal_ax, np.concatenate(shown))
    _layer_ticks(signal_ax, depth)
    signal_ax.set_xlabel("Dense layer (1 = next to the input)")
    signal_ax.set_ylabel("‖∂L/∂z‖ (log scale)")
    signal_ax.set_title("backward signal at each Dense output", fontsize=10)
    signal_ax.legend(handles=[Line2D([], [], color=GREY, linestyle="--", marker="o", markersize=3, label="step 1"),
                              Line2D([], [], color=GREY, marker="o", markersize=3,
                                     label="median, 2nd half of training")], fontsize=8, loc="best")
    loss_ax.set_xlabel("training step")
    loss_ax.set_ylabel(f"cross-entropy (mean of {SMOOTHING} steps)")
    loss_ax.set_title("training loss", fontsize=10)
    _loss_limits(loss_ax, [np.asarray(loss) for _, loss in runs.values()])
    loss_ax.legend(fontsize=8, loc="best")
    return fig


@styled
def relu_position_plot(scenarios: Mapping[str, Mapping[str, tuple[Sequence[int], np.ndarray, Sequence[float]]]]
                       ) -> Figure:
    """Dead ReLU units and the loss, for BatchNorm nowhere, before and after the ReLU; one row per scenario.

    Parameters
    ----------
    scenarios
        Title -> {position -> ``(steps, dead, loss)``}: ``steps`` and ``dead``
        (records, ReLU layers) from a :class:`~vanishing.diagnostics.DeadFraction`
        recorder, ``loss`` the run's ``history.loss``. Positions "none", "before"
        and "after" get their own colours.
    """
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise TypeError("scenarios must be a non-empty dict: title -> {position -> (steps, dead, loss)}")
    rows = len(scenarios)
    height = 0.9 + 2.8 * rows
    fig = new_figure(rows, 2, figsize=(9.6, height))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.55 / height, top=1 - 0.35 / height, wspace=0.25,
                        hspace=0.42)
    axes = np.array(fig.axes).reshape(rows, 2)
    for r, (title, runs) in enumerate(scenarios.items()):
        dead_ax, loss_ax = axes[r]
        runs = _runs_dict(runs, f"scenarios[{title!r}]", 3)
        for position, (steps, dead, loss) in runs.items():
            # "after" dashed, so that it stays visible where it lies on top of another line
            style = {"color": _POSITION_COLOURS.get(position, GREY), "label": _POSITION_LABELS.get(position, position),
                     "linestyle": "--" if position == "after" else "-"}
            dead_ax.plot(steps, np.asarray(dead).mean(axis=1), **style)
            loss_ax.plot(*_smoothed(np.asarray(loss)), **style)
        dead_ax.set_ylim(-0.03, 1.03)
        dead_ax.set_ylabel("dead units\n(all ReLU layers)")
        dead_ax.set_title(f"{title}: dead units", fontsize=10)
        _loss_limits(loss_ax, [np.asarray(loss) for _, _, loss in runs.values()])
        loss_ax.set_ylabel(f"loss (mean of {SMOOTHING} steps)")
        loss_ax.set_title(f"{title}: training loss", fontsize=10)
        if r == rows - 1:
            dead_ax.set_xlabel("training step")
            loss_ax.set_xlabel("training step")
    axes[0, 1].legend(fontsize=8, loc="best")
    return fig


def _log2_batch_axis(ax: Axes, sizes: np.ndarray, label: str) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(label)


@styled
def batch_noise_plot(batch_sizes: Sequence[int], stats: Mapping[str, np.ndarray],
                     population_xhat: Sequence[float]) -> Figure:
    """How noisy batch statistics are: spread of the batch mean and variance, and two images' normalised values.

    Parameters
    ----------
    batch_sizes
        ``(K,)``.
    stats
        The dict of :func:`vanishing.experiments.batch_statistics`, for these sizes and two examples.
    population_xhat
        ``(2,)``: the two examples' values normalised with the population's mean and standard deviation.
    """
    if not isinstance(stats, Mapping) or "xhat" not in stats:
        raise TypeError("stats must be the dict returned by vanishing.experiments.batch_statistics()")
    b = np.asarray(batch_sizes)
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.14, top=0.86, wspace=0.25)
    spread_ax, xhat_ax = fig.axes
    series = [("sd_mean", "o", "blue", "sd of batch mean / σ"), ("theory_sd_mean", "-", "blue", "theory 1/√B"),
              ("sd_var", "s", "orange", "sd of batch variance / σ²"), ("theory_sd_var", "-", "orange",
                                                                         "theory (from μ₄)")]
    sigma = float(stats["sigma"])
    scaled = {key: stats[key] / (sigma if "mean" in key else sigma ** 2) for key, *_ in series}
    for key, marker, name, label in series:
        spread_ax.plot(b, scaled[key], marker, color=OKABE_ITO[name], alpha=0.6 if marker == "-" else 1.0,
                       label=label)
    _log2_batch_axis(spread_ax, b, "batch size B (log scale)")
    log_y(spread_ax, np.concatenate(list(scaled.values())))
    spread_ax.set_ylabel("spread over batches (log scale)")
    spread_ax.set_title("batch statistics of one unit", fontsize=10)
    spread_ax.legend(fontsize=8, loc="lower left")
    for e, (name, c) in enumerate(zip(("typical image", "most extreme image"),
                                      (OKABE_ITO["green"], OKABE_ITO["purple"]), strict=True)):
        low, mid, high = stats["xhat"][e]
        xhat_ax.fill_between(b, low, high, color=c, alpha=0.25, linewidth=0)
        xhat_ax.plot(b, mid, "o-", color=c, markersize=3.5, label=f"{name}: median, 10-90 %")
        xhat_ax.axhline(population_xhat[e], color=c, linestyle="--", linewidth=1)
    bound = np.geomspace(b.min(), b.max(), 60)
    xhat_ax.plot(bound, np.sqrt(bound - 1), ":", color=GREY, label="bound √(B − 1)")
    _log2_batch_axis(xhat_ax, b, "batch size B (log scale)")
    xhat_ax.set_ylim(min(-1.2, float(stats["xhat"].min()) - 0.2),
                     1.1 * float(max(np.max(population_xhat), stats["xhat"].max())))
    xhat_ax.set_ylabel("normalised value x̂ of the image")
    xhat_ax.set_title("one image, normalised in random batches\n(dashed: with the population statistics)",
                      fontsize=10)
    xhat_ax.legend(fontsize=8, loc="upper left")
    return fig


@styled
def batch_size_plot(accuracy: Mapping[int, tuple[float, float]], *, steps: int) -> Figure:
    """Test accuracy in evaluation mode and in training mode against the training batch size.

    Parameters
    ----------
    accuracy
        Batch size -> ``(evaluation-mode accuracy, training-mode accuracy)``.
    steps
        The SGD steps each network was trained for (for the title).
    """
    if not isinstance(accuracy, Mapping) or not accuracy:
        raise TypeError("accuracy must be a non-empty dict: batch size -> (eval accuracy, training-mode accuracy)")
    b = np.array(list(accuracy))
    right, wrong = np.array(list(accuracy.values()), dtype=np.float64).T
    fig = new_figure(1, 1, figsize=(6.4, 3.4))
    ax = fig.axes[0]
    ax.plot(b, right, "o-", color=OKABE_ITO["blue"], label="model.eval(): running statistics")
    ax.plot(b, wrong, "s--", color=OKABE_ITO["vermillion"], label="training mode: statistics of each batch")
    _log2_batch_axis(ax, b, "batch size, in training and in the training-mode evaluation (log scale)")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"same network, {steps} SGD steps at each batch size", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig


@styled
def eval_bug_plot(accuracy: Mapping[str, Any], drift: Mapping[str, Any]) -> Figure:
    """The evaluation bug: accuracy against evaluation batch size, and a running mean drifting during evaluation.

    Parameters
    ----------
    accuracy
        ``"batch_sizes"`` (K,), ``"eval"`` (K,) and ``"train"`` (K,): test accuracy in
        evaluation mode and in training mode per evaluation batch size;
        ``"sorted"``: ``(batch size, accuracy)`` of training mode on data sorted by label.
    drift
        ``"running"`` (batches + 1,) and ``"batch_means"`` (batches,) from
        :func:`vanishing.experiments.train_mode_pass` with ``watch``;
        ``"batch_labels"`` (batches,): the most common label of each batch;
        ``"train_mean"``: the unit's mean over the training images; ``"unit"``; ``"batch_size"``.
    """
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.17, top=0.84, wspace=0.25)
    acc_ax, drift_ax = fig.axes
    b = np.asarray(accuracy["batch_sizes"])
    acc_ax.plot(b, accuracy["eval"], "o-", color=OKABE_ITO["blue"], label="model.eval()")
    acc_ax.plot(b, accuracy["train"], "s--", color=OKABE_ITO["vermillion"], label="training mode, shuffled")
    sorted_batch, sorted_accuracy = accuracy["sorted"]
    acc_ax.plot([sorted_batch], [sorted_accuracy], "v", color=OKABE_ITO["purple"], markersize=8,
                label=f"training mode, sorted by label (batch {sorted_batch})")
    _log2_batch_axis(acc_ax, b, "evaluation batch size (log scale)")
    acc_ax.set_ylim(0, 1.02)
    acc_ax.set_ylabel("test accuracy")
    acc_ax.set_title("the same trained network, evaluated two ways", fontsize=10)
    acc_ax.legend(fontsize=8, loc="center right")
    means, running, labels = np.asarray(drift["batch_means"]), np.asarray(drift["running"]), drift["batch_labels"]
    drift_ax.plot(np.arange(1, len(means) + 1), means, "o", color=GREY, markersize=4,
                  label="mean of the unit in the batch")
    drift_ax.step(np.arange(len(running)), running, where="post", color=OKABE_ITO["vermillion"],
                  label="running mean (updated by the evaluation)")
    drift_ax.axhline(drift["train_mean"], color=OKABE_ITO["blue"], linestyle="--", linewidth=1,
                     label="mean over the training images")
    firsts = [i for i in range(len(labels)) if i == 0 or labels[i] != labels[i - 1]]  # label batches by digit
    drift_ax.xaxis.set_major_locator(FixedLocator([i + 1 for i in firsts]))
    drift_ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _p: str(labels[int(round(v)) - 1]) if 1 <= round(v) <= len(labels) else ""))
    drift_ax.set_xlabel(f"evaluation batch ({drift['batch_size']} test images, sorted: digit shown)")
    drift_ax.set_ylabel(f"unit {drift['unit']} of the first BatchNorm")
    drift_ax.set_title("running mean during a training-mode evaluation", fontsize=10)
    values = np.concatenate([means, running, [drift["train_mean"]]])
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 1e-9)
    drift_ax.set_ylim(low - 0.08 * span, high + 0.55 * span)  # room above the data for the legend
    drift_ax.legend(fontsize=7.5, loc="upper center")
    return fig


@styled
def covariate_shift_plot(runs: Mapping[str, tuple[Sequence[int], np.ndarray, Sequence[float]]], *,
                         layer: int | None = None, unit: int = 0) -> Figure:
    """One unit's input distribution during training (mean ± one standard deviation), and the loss curves.

    Parameters
    ----------
    runs
        Label -> ``(steps, inputs, loss)``: ``steps`` (records,) and ``inputs``
        (records, layers, 2, width) from a :class:`~vanishing.diagnostics.Probe` whose
        measure returns, per hidden-to-hidden Dense layer, the mean and the standard
        deviation of each input unit; ``loss`` the run's ``history.loss``.
    layer
        Which Dense layer's input to follow (2 = the first whose input is a hidden
        layer's output); default: the middle one.
    unit
        Which of its input units.
    """
    runs = _runs_dict(runs, "runs", 3)
    shape = np.asarray(next(iter(runs.values()))[1]).shape
    if len(shape) != 4 or shape[2] != 2:
        raise ValueError(f"inputs has shape {shape}; expected (records, layers, 2, width)")
    layers, width = shape[1], shape[3]
    layer = layers // 2 + 2 if layer is None else layer
    if not 2 <= layer <= layers + 1:
        raise ValueError(f"layer={layer!r} is out of range; allowed: 2..{layers + 1} (the Dense layers whose "
                         "input is a hidden layer's output)")
    if not 0 <= unit < width:
        raise ValueError(f"unit={unit!r} is out of range; allowed: 0..{width - 1}")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.15, top=0.84, wspace=0.25)
    dist_ax, loss_ax = fig.axes
    for i, (label, (steps, inputs, loss)) in enumerate(runs.items()):
        mean, std = np.asarray(inputs)[:, layer - 2, :, unit].T
        dist_ax.fill_between(steps, mean - std, mean + std, color=colour(i), alpha=0.18, linewidth=0)
        dist_ax.plot(steps, mean, color=colour(i), marker="o", markersize=2.5, label=label)
        loss_ax.plot(*_smoothed(np.asarray(loss)), color=colour(i), label=label)
    dist_ax.set_xlabel("training step")
    dist_ax.set_ylabel(f"input {unit} of Dense layer {layer}")
    dist_ax.set_title("one unit's input on fixed probe images\n(line: mean, band: ± 1 sd)", fontsize=10)
    loss_ax.set_xlabel("training step")
    loss_ax.set_ylabel(f"cross-entropy (mean of {SMOOTHING} steps)")
    loss_ax.set_title("training loss", fontsize=10)
    _loss_limits(loss_ax, [np.asarray(loss) for _, _, loss in runs.values()])
    loss_ax.legend(fontsize=8, loc="best")
    return fig
