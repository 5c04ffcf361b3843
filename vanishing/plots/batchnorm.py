"""Notebook 06 (batch normalization): gradient flow with and without BatchNorm, its position, batch size, eval mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..experiments.batchnorm import BatchNormRun, BatchSizeRun, BatchStatistics, EvalModeBug, ReluPositionRun
from ._style import GREY, OKABE_ITO, View, colour, log_y, new_figure, styled

__all__ = ["BatchNormFlowView", "batch_noise_plot", "batch_size_plot", "batchnorm_flow_plot", "covariate_shift_plot",
           "eval_bug_plot", "relu_position_plot"]

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
    """Per-layer weight-gradient norms (at step 1 and late in training) and the loss curves of one or more runs.

    Parameters
    ----------
    runs
        One :class:`~vanishing.experiments.BatchNormRun` (the widget) or a dict
        label -> run (the output of :func:`vanishing.experiments.batchnorm_comparison`).
    """
    return BatchNormFlowView().show(runs)


class BatchNormFlowView(View):
    """The figure of :func:`batchnorm_flow_plot`, kept by the ``batchnorm_flow`` widget and changed in place.

    Each run has its lines (two of gradient norms, one of loss, a mark where it diverged); they are made
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
        norm_ax.set_ylabel("‖∂L/∂W‖ (log scale)")
        norm_ax.set_title("weight-gradient norm per layer", fontsize=10)
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
            layers = np.arange(1, run.grad_norms.shape[1] + 1)
            for key, norms in (("init", run.init_norms), ("late", run.late_norms)):
                lines[key].set_data(layers, np.where(norms > 0, norms, np.nan))
            lines["loss"].set_data(*_smoothed(run.loss))
        log_y(norm_ax, np.concatenate([np.concatenate([r.init_norms, r.late_norms]) for r in runs.values()]))
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


@styled
def relu_position_plot(scenarios: Mapping[str, Mapping[str, ReluPositionRun]]) -> Figure:
    """Dead ReLU units and the loss, for BatchNorm nowhere, before and after the ReLU; one row per scenario.

    Parameters
    ----------
    scenarios
        Title -> the output of :func:`vanishing.experiments.relu_batchnorm_positions`.
    """
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise TypeError("scenarios must be a non-empty dict: title -> relu_batchnorm_positions() result")
    rows = len(scenarios)
    height = 0.9 + 2.8 * rows
    fig = new_figure(rows, 2, figsize=(9.6, height))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.55 / height, top=1 - 0.35 / height, wspace=0.25,
                        hspace=0.42)
    axes = np.array(fig.axes).reshape(rows, 2)
    for r, (title, runs) in enumerate(scenarios.items()):
        dead_ax, loss_ax = axes[r]
        for position, run in runs.items():
            if not isinstance(run, ReluPositionRun):
                raise TypeError(f"scenarios[{title!r}][{position!r}] is not a ReluPositionRun")
            # "after" dashed, so that it stays visible where it lies on top of another line
            style = {"color": _POSITION_COLOURS.get(position, GREY), "label": _POSITION_LABELS.get(position),
                     "linestyle": "--" if position == "after" else "-"}
            dead_ax.plot(run.record_steps, run.dead.mean(axis=1), **style)
            steps, smooth = _smoothed(run.loss)
            loss_ax.plot(steps, smooth, **style)
        dead_ax.set_ylim(-0.03, 1.03)
        dead_ax.set_ylabel("dead units\n(all ReLU layers)")
        dead_ax.set_title(f"{title}: dead units", fontsize=10)
        _loss_limits(loss_ax, [run.loss for run in runs.values()])
        loss_ax.set_ylabel(f"loss (mean of {SMOOTHING} steps)")
        loss_ax.set_title(f"{title}: training loss", fontsize=10)
        if r == rows - 1:
            dead_ax.set_xlabel("training step")
            loss_ax.set_xlabel("training step")
    axes[0, 1].legend(fontsize=8, loc="best")
    return fig


@styled
def batch_noise_plot(stats: BatchStatistics) -> Figure:
    """How noisy batch statistics are: spread of the batch mean and variance, and one image's normalised value.

    Parameters
    ----------
    stats
        The output of :func:`vanishing.experiments.batch_statistics_noise`.
    """
    if not isinstance(stats, BatchStatistics):
        raise TypeError("stats must be the BatchStatistics returned by batch_statistics_noise()")
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.14, top=0.86, wspace=0.25)
    spread_ax, xhat_ax = fig.axes
    b = stats.batch_sizes
    sigma = np.sqrt(stats.population_var)
    spread_ax.plot(b, stats.sd_mean / sigma, "o", color=OKABE_ITO["blue"], label="sd of batch mean / σ")
    spread_ax.plot(b, stats.theory_sd_mean / sigma, "-", color=OKABE_ITO["blue"], alpha=0.6, label="theory 1/√B")
    spread_ax.plot(b, stats.sd_var / stats.population_var, "s", color=OKABE_ITO["orange"],
                   label="sd of batch variance / σ²")
    spread_ax.plot(b, stats.theory_sd_var / stats.population_var, "-", color=OKABE_ITO["orange"], alpha=0.6,
                   label="theory (from μ₄)")
    spread_ax.set_xscale("log", base=2)
    spread_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
    spread_ax.xaxis.set_minor_locator(NullLocator())
    log_y(spread_ax, np.concatenate([stats.sd_mean / sigma, stats.theory_sd_mean / sigma,
                                     stats.sd_var / stats.population_var,
                                     stats.theory_sd_var / stats.population_var]))
    spread_ax.set_xlabel("batch size B (log scale)")
    spread_ax.set_ylabel("spread over batches (log scale)")
    spread_ax.set_title(f"batch statistics of one unit\n({stats.trials} random batches per size)", fontsize=10)
    spread_ax.legend(fontsize=8, loc="lower left")
    names = ("typical image", "most extreme image")
    for e, name in enumerate(names):
        c = (OKABE_ITO["green"], OKABE_ITO["purple"])[e]
        low, mid, high = stats.example_xhat[e]
        xhat_ax.fill_between(b, low, high, color=c, alpha=0.25, linewidth=0)
        xhat_ax.plot(b, mid, "o-", color=c, markersize=3.5, label=f"{name}: median, 10-90 %")
        xhat_ax.axhline(stats.example_xhat_population[e], color=c, linestyle="--", linewidth=1)
    bound = np.geomspace(b.min(), b.max(), 60)
    xhat_ax.plot(bound, np.sqrt(bound - 1), ":", color=GREY, label="bound √(B − 1)")
    xhat_ax.set_xscale("log", base=2)
    xhat_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
    xhat_ax.xaxis.set_minor_locator(NullLocator())
    top = float(max(stats.example_xhat_population.max(), stats.example_xhat.max())) * 1.1
    xhat_ax.set_ylim(min(-1.2, float(stats.example_xhat.min()) - 0.2), top)
    xhat_ax.set_xlabel("batch size B (log scale)")
    xhat_ax.set_ylabel("normalised value x̂ of the image")
    xhat_ax.set_title("one image, normalised in random batches\n(dashed: with the population statistics)",
                      fontsize=10)
    xhat_ax.legend(fontsize=8, loc="upper left")
    return fig


@styled
def batch_size_plot(runs: Sequence[BatchSizeRun]) -> Figure:
    """Test accuracy in evaluation mode and in training mode against the training batch size.

    Parameters
    ----------
    runs
        The output of :func:`vanishing.experiments.batch_size_gap`.
    """
    runs = list(runs)
    if not runs or not all(isinstance(r, BatchSizeRun) for r in runs):
        raise TypeError("runs must be the non-empty list returned by batch_size_gap()")
    fig = new_figure(1, 1, figsize=(6.4, 3.4))
    ax = fig.axes[0]
    b = np.array([r.batch_size for r in runs])
    ax.plot(b, [r.eval_accuracy for r in runs], "o-", color=OKABE_ITO["blue"],
            label="model.eval(): running statistics")
    ax.plot(b, [r.train_mode_accuracy for r in runs], "s--", color=OKABE_ITO["vermillion"],
            label="training mode: statistics of each batch")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(b))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("batch size, in training and in the training-mode evaluation (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"same network, {runs[0].steps} SGD steps at each batch size", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig


@styled
def eval_bug_plot(bug: EvalModeBug) -> Figure:
    """The evaluation bug: accuracy against evaluation batch size, and the running mean drifting during evaluation.

    Parameters
    ----------
    bug
        The output of :func:`vanishing.experiments.eval_mode_bug`.
    """
    if not isinstance(bug, EvalModeBug):
        raise TypeError("bug must be the EvalModeBug returned by eval_mode_bug()")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.17, top=0.84, wspace=0.25)
    acc_ax, drift_ax = fig.axes
    b = bug.batch_sizes
    acc_ax.plot(b, bug.eval_batched_accuracy, "o-", color=OKABE_ITO["blue"], label="model.eval()")
    acc_ax.plot(b, bug.train_mode_accuracy, "s--", color=OKABE_ITO["vermillion"], label="training mode, shuffled")
    acc_ax.plot([bug.sorted_batch_size], [bug.sorted_accuracy], "v", color=OKABE_ITO["purple"], markersize=8,
                label=f"training mode, sorted by label (batch {bug.sorted_batch_size})")
    acc_ax.set_xscale("log", base=2)
    acc_ax.xaxis.set_major_locator(FixedLocator(b))
    acc_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}"))
    acc_ax.xaxis.set_minor_locator(NullLocator())
    acc_ax.set_ylim(0, 1.02)
    acc_ax.set_xlabel("evaluation batch size (log scale)")
    acc_ax.set_ylabel("test accuracy")
    acc_ax.set_title("the same trained network, evaluated two ways", fontsize=10)
    acc_ax.legend(fontsize=8, loc="center right")
    batches = np.arange(1, len(bug.batch_means) + 1)
    drift_ax.plot(batches, bug.batch_means, "o", color=GREY, markersize=4, label="mean of the unit in the batch")
    drift_ax.step(np.arange(0, len(bug.running_trace)), bug.running_trace, where="post", color=OKABE_ITO["vermillion"],
                  label="running mean (updated by the evaluation)")
    drift_ax.axhline(bug.train_mean, color=OKABE_ITO["blue"], linestyle="--", linewidth=1,
                     label="mean over the training images")
    # label the batches by the digit they hold
    firsts = [i for i in range(len(bug.batch_labels)) if i == 0 or bug.batch_labels[i] != bug.batch_labels[i - 1]]
    drift_ax.xaxis.set_major_locator(FixedLocator([i + 1 for i in firsts]))
    drift_ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _p: str(bug.batch_labels[int(round(v)) - 1]) if 1 <= round(v) <= len(bug.batch_labels) else ""))
    drift_ax.set_xlabel(f"evaluation batch ({bug.sorted_batch_size} test images, sorted: digit shown)")
    drift_ax.set_ylabel(f"unit {bug.watch_unit} of the first BatchNorm")
    drift_ax.set_title("running mean during a training-mode evaluation", fontsize=10)
    # room above the data for the legend
    values = np.concatenate([bug.batch_means, bug.running_trace, [bug.train_mean]])
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 1e-9)
    drift_ax.set_ylim(low - 0.08 * span, high + 0.55 * span)
    drift_ax.legend(fontsize=7.5, loc="upper center", ncols=1)
    return fig


@styled
def covariate_shift_plot(runs: Mapping[str, BatchNormRun], *, layer: int | None = None, unit: int = 0) -> Figure:
    """One unit's input distribution during training (mean ± one standard deviation) and the loss curves.

    Parameters
    ----------
    runs
        Label -> :class:`~vanishing.experiments.BatchNormRun` recorded with a probe
        (``probe > 0``), e.g. no BN, BN, and BN with :class:`~vanishing.experiments.RandomShift` noise.
    layer
        Which Dense layer's input to follow (2 .. depth + 1); default: the middle hidden layer.
    unit
        Which of its input units.
    """
    runs = _as_runs(runs, "runs")
    first = next(iter(runs.values()))
    if first.input_mean.shape[0] == 0:
        raise ValueError("the runs were recorded without a probe (probe=0); run batchnorm_training with probe > 0")
    layer = first.depth // 2 + 1 if layer is None else layer
    if not 2 <= layer <= first.depth + 1:
        raise ValueError(f"layer={layer!r} is out of range; allowed: 2..{first.depth + 1} (the Dense layers whose "
                         "input is a hidden layer's output)")
    if not 0 <= unit < first.width:
        raise ValueError(f"unit={unit!r} is out of range; allowed: 0..{first.width - 1}")
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.15, top=0.84, wspace=0.25)
    dist_ax, loss_ax = fig.axes
    for i, (label, run) in enumerate(runs.items()):
        c = colour(i)
        mean = run.input_mean[:, layer - 2, unit]
        std = run.input_std[:, layer - 2, unit]
        dist_ax.fill_between(run.probe_steps, mean - std, mean + std, color=c, alpha=0.18, linewidth=0)
        dist_ax.plot(run.probe_steps, mean, color=c, marker="o", markersize=2.5, label=label)
        steps, smooth = _smoothed(run.loss)
        loss_ax.plot(steps, smooth, color=c, label=label)
    dist_ax.set_xlabel("training step")
    dist_ax.set_ylabel(f"input {unit} of Dense layer {layer}")
    dist_ax.set_title("one unit's input on fixed probe images\n(line: mean, band: ± 1 sd)", fontsize=10)
    loss_ax.set_xlabel("training step")
    loss_ax.set_ylabel(f"cross-entropy (mean of {SMOOTHING} steps)")
    loss_ax.set_title("training loss", fontsize=10)
    _loss_limits(loss_ax, [run.loss for run in runs.values()])
    loss_ax.legend(fontsize=8, loc="best")
    return fig
