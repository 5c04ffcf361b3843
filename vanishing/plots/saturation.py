"""Notebook 02 (saturation): figures for saturated units, initialisation ranges and output losses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..activations import make_activation
from ..experiments.saturation import InitStatistics, OutputComparison
from ._style import GREY, OKABE_ITO, LegendSlot, View, colour, decade_label, decade_log_y, new_figure, styled

__all__ = ["LayerStatisticsView", "OutputLossView", "activation_saturation", "digits_training", "init_histograms",
           "init_profiles", "layer_statistics", "lr_saturation_curves", "output_loss"]

NOTEBOOK = "02"

_SATURATED = OKABE_ITO["vermillion"]
_LOSS_COLOURS = {"mse": OKABE_ITO["vermillion"], "bce": OKABE_ITO["sky"], "bce_logits": OKABE_ITO["blue"]}
_LOSS_LABELS = {"mse": "MSE on σ(z)", "bce": "cross-entropy on σ(z) ('bce')", "bce_logits": "cross-entropy on z"}


def _check_type(name: str, value: object, kind: type, source: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} from {source}, got {type(value).__name__}")


@styled
def activation_saturation(onsets: Mapping[str, float], *, z_max: float = 10.0) -> Figure:
    """tanh and sigmoid with their derivatives; the saturated ranges (|z| beyond ``onsets[name]``) shaded.

    Parameters
    ----------
    onsets
        ``{"tanh": z, "sigmoid": z}``: the smallest |z| at which each unit counts as saturated.
    z_max
        The plotted range is [−z_max, z_max].
    """
    if set(onsets) != {"tanh", "sigmoid"}:
        raise TypeError("onsets must map 'tanh' and 'sigmoid' to the |z| where saturation starts")
    fig = new_figure(1, 2, figsize=(9.0, 3.6))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.84, wspace=0.18)
    z = np.linspace(-z_max, z_max, 801)
    symbols = {"tanh": "tanh", "sigmoid": "σ"}
    for ax, name in zip(fig.axes, ("tanh", "sigmoid"), strict=True):
        onset = float(onsets[name])
        f = make_activation(name)
        sym = symbols[name]
        at_onset = float(f.derivative(np.array([onset]))[0])
        peak = float(f.derivative(np.zeros(1))[0])
        for side in (-1, 1):
            lo, hi = sorted((side * onset, side * z_max))
            ax.axvspan(lo, hi, color=_SATURATED, alpha=0.10, linewidth=0, label="saturated" if side == 1 else None)
        ax.plot(z, f.fn(z), color=OKABE_ITO["blue"], label=f"{sym}(z)")
        ax.plot(z, f.derivative(z), color=OKABE_ITO["orange"], label=f"{sym}′(z)")
        ax.plot([onset, -onset], [at_onset] * 2, "o", color=_SATURATED, markersize=5)
        text_y = -0.55 if name == "tanh" else 0.45
        ax.annotate(f"{sym}′ = {at_onset:.3g}\n({at_onset / peak:.1%} of max)", xy=(onset, at_onset),
                    xytext=(onset + 0.4, text_y), fontsize=8, color=_SATURATED,
                    arrowprops={"arrowstyle": "-", "color": _SATURATED, "linewidth": 0.8})
        ax.axhline(0, color=GREY, linewidth=0.8)
        ax.set_xlim(-z_max, z_max)
        ax.set_xlabel("pre-activation z")
        ax.set_title(f"{name}: saturated for |z| > {onset:.3g}", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.axes[0].set_ylim(-1.1, 1.6)
    fig.axes[1].set_ylim(-0.05, 1.3)
    fig.axes[0].set_ylabel("value")
    return fig


def _heatmap(ax: Axes, stats: InitStatistics, *, vmax: float | None = None) -> object:
    """Per-layer activation histograms as one image: layer on y (1 at the top), activation value on x."""
    edges = stats.hist_edges
    image = ax.imshow(stats.act_hist, aspect="auto", origin="upper", cmap="viridis", vmin=0,
                      vmax=vmax if vmax is not None else max(float(stats.act_hist.max()), 1e-9),
                      extent=(edges[0], edges[-1], stats.depth + 0.5, 0.5), interpolation="nearest")
    ax.set_yticks(range(1, stats.depth + 1, max(1, stats.depth // 5)))
    ax.set_xticks([edges[0], (edges[0] + edges[-1]) / 2, edges[-1]])
    ax.grid(False)
    return image


@styled
def init_histograms(comparison: dict[tuple[str, str], InitStatistics]) -> Figure:
    """A grid of per-layer activation histograms: one row per activation, one column per initialisation.

    ``comparison`` maps (activation, label) to :class:`InitStatistics` (from :func:`layer_profile`).
    """
    if not isinstance(comparison, dict) or not comparison:
        raise TypeError("comparison must be a non-empty dict (activation, label) -> InitStatistics")
    activations = list(dict.fromkeys(k[0] for k in comparison))
    labels = list(dict.fromkeys(k[1] for k in comparison))
    fig = new_figure(len(activations), len(labels), figsize=(9.0, 0.4 + 2.5 * len(activations)), sharey=True)
    fig.subplots_adjust(left=0.07, right=0.87, bottom=0.11, top=0.94, wspace=0.25, hspace=0.35)
    axes = np.array(fig.axes).reshape(len(activations), len(labels))
    image = None
    for r, activation in enumerate(activations):
        for c, label in enumerate(labels):
            ax = axes[r, c]
            stats = comparison.get((activation, label))
            if stats is None:
                ax.set_visible(False)
                continue
            image = _heatmap(ax, stats, vmax=0.25)
            ax.set_title(f"{activation}, {label}", fontsize=10)
            if c == 0:
                ax.set_ylabel("hidden layer")
            if r == len(activations) - 1:
                ax.set_xlabel("activation value a")
            ax.text(0.5, 0.02, f"saturated {stats.saturated.mean():.0%}", transform=ax.transAxes, ha="center",
                    va="bottom", fontsize=8, color="white")
    if image is not None:
        bar = fig.colorbar(image, cax=fig.add_axes((0.90, 0.2, 0.015, 0.65)), extend="max")
        bar.set_label("fraction of the layer's outputs in the bin")
    return fig


@styled
def init_profiles(comparison: dict[tuple[str, str], InitStatistics]) -> Figure:
    """Per-layer activation std, saturated fraction and backward signal; one line per initialisation.

    ``comparison`` maps (activation, label) to :class:`InitStatistics`; one row per activation. The backward
    signal, the gradient arriving at each hidden layer's pre-activations, is on a log axis.
    """
    if not isinstance(comparison, dict) or not comparison:
        raise TypeError("comparison must be a non-empty dict (activation, label) -> InitStatistics")
    activations = list(dict.fromkeys(k[0] for k in comparison))
    labels = list(dict.fromkeys(k[1] for k in comparison))
    fig = new_figure(len(activations), 3, figsize=(9.6, 0.8 + 2.8 * len(activations)))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.17, top=0.95, wspace=0.3, hspace=0.5)
    axes = np.array(fig.axes).reshape(len(activations), 3)
    for r, activation in enumerate(activations):
        std_ax, sat_ax, grad_ax = axes[r]
        for i, label in enumerate(labels):
            stats = comparison.get((activation, label))
            if stats is None:
                continue
            layers = np.arange(1, stats.depth + 1)
            style = {"color": colour(i), "marker": "o", "markersize": 3.5, "label": label}
            std_ax.plot(layers, stats.act_std, **style)
            sat_ax.plot(layers, stats.saturated, **style)
            signal = stats.signal[: stats.depth]
            grad_ax.plot(layers, np.where(signal > 0, signal, np.nan), **style)
        std_ax.set_title(f"{activation}: std of activations")
        sat_ax.set_title(f"{activation}: fraction saturated")
        grad_ax.set_title(f"{activation}: backward signal ‖∂L/∂z‖")
        std_ax.set_ylim(bottom=0)
        sat_ax.set_ylim(-0.02, 1.02)
        decade_log_y(grad_ax)
        for ax in (std_ax, sat_ax, grad_ax):
            ax.set_xlabel("hidden layer (1 = next to the input)")
        grad_ax.set_ylabel("norm (log scale)")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=len(names), title="initialisation",
               fontsize=8.5, title_fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig


def layer_statistics(stats: InitStatistics) -> Figure:
    """The widget's figure: activation histogram per layer, saturated fraction and backward signal per layer.

    Drawn for speed, since the widget redraws it on every change: fixed margins,
    one shared layer axis (labelled once), few ticks, no colour bar, and a
    linear axis of log10 values instead of a log axis.
    """
    return LayerStatisticsView().show(stats)


def _bar_steps(layers: np.ndarray, values: np.ndarray, base: float, height: float = 0.7
               ) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal bars of thickness ``height`` centred on ``layers``, as one step outline: (values, edges).

    Between two bars the outline steps back to ``base`` (the bars' left end), which leaves the gap empty.
    """
    edges = np.column_stack([layers - height / 2, layers + height / 2]).ravel()
    steps = np.column_stack([values, np.full(values.shape, base)]).ravel()[:-1]
    return steps, edges


class LayerStatisticsView(View):
    """The figure of :func:`layer_statistics`, kept by the ``saturation_layers`` widget and changed in place."""

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 3, figsize=(9.6, 3.5), sharey=True)
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.15, top=0.80, wspace=0.2)
        hist_ax, sat_ax, grad_ax = self.figure.axes
        self.image = hist_ax.imshow(np.zeros((1, 1)), aspect="auto", origin="upper", cmap="viridis",
                                    interpolation="nearest")
        hist_ax.grid(False)
        hist_ax.set_xlabel("activation value a")
        hist_ax.set_ylabel("hidden layer (1 = next to the input)")
        # each panel's bars are one step outline (see _bar_steps): one artist, whatever the depth
        self.saturated = sat_ax.stairs([0.0], [0.0, 1.0], orientation="horizontal", fill=True, color=_SATURATED)
        sat_ax.set_xlim(0, 1)
        sat_ax.set_xticks([0, 0.5, 1])
        self.norms = grad_ax.stairs([0.0], [0.0, 1.0], orientation="horizontal", fill=True,
                                    color=OKABE_ITO["blue"])
        grad_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: decade_label(10.0**v)))
        self.zero_note = grad_ax.text(0.5, 0.5, "", transform=grad_ax.transAxes, ha="center", color=_SATURATED,
                                      fontsize=8)
        grad_ax.set_xlabel("‖∂L/∂z‖ (log scale)")

    def update(self, stats: InitStatistics) -> None:
        _check_type("stats", stats, InitStatistics, "init_statistics()")
        hist_ax, sat_ax, grad_ax = self.figure.axes
        depth = stats.depth
        edges = stats.hist_edges
        self.image.set_data(stats.act_hist)
        self.image.set_extent((edges[0], edges[-1], depth + 0.5, 0.5))
        self.image.set_clim(0, max(float(stats.act_hist.max()), 1e-9))
        hist_ax.set_xlim(edges[0], edges[-1])
        hist_ax.set_xticks([edges[0], (edges[0] + edges[-1]) / 2, edges[-1]])
        hist_ax.set_yticks(sorted({1, *range(5, depth + 1, 5), depth}))
        hist_ax.set_ylim(depth + 0.5, 0.5)
        hist_ax.set_title("activations (bright = many)", fontsize=10)
        layers = np.arange(1, depth + 1, dtype=float)
        self.saturated.set_data(*_bar_steps(layers, stats.saturated, 0.0), baseline=0.0)
        what = "at 0" if stats.activation == "relu" else "saturated"
        sat_ax.set_xlabel(f"fraction {what}")
        sat_ax.set_title(f"{what}: mean {stats.saturated.mean():.0%}", fontsize=10)
        self._backward_signal(stats, layers)
        when = "at initialisation" if stats.steps == 0 else f"after {stats.steps} SGD steps, lr {stats.lr:g}"
        self.figure.suptitle(f"{depth} hidden layers × {stats.width} units, {stats.activation}, {stats.label} "
                             f"(fan-in × Var[W] = {stats.forward_gain:.3g}), {when}", fontsize=10.5)

    def _backward_signal(self, stats: InitStatistics, layers: np.ndarray) -> None:
        grad_ax = self.figure.axes[2]
        norms = stats.signal[:stats.depth]  # the gradient at each hidden layer's pre-activations z
        positive = norms > 0
        logs = np.log10(norms, where=positive, out=np.full(norms.shape, np.nan))
        self.norms.set_visible(bool(positive.any()))
        if positive.any():
            lo, hi = float(np.nanmin(logs)), float(np.nanmax(logs))
            left = np.floor(lo - 0.5)
            right = max(np.ceil(hi + 0.5), left + 2)
            # a layer whose gradient is exactly 0 gets no bar
            self.norms.set_data(*_bar_steps(layers, np.where(positive, logs, left), left), baseline=left)
            grad_ax.set_xlim(left, right)
            step = max(1, int(np.ceil((right - left) / 4)))
            grad_ax.set_xticks(np.arange(left, right + 0.5, step))
        else:
            grad_ax.set_xlim(0, 1)
            grad_ax.set_xticks([])
        self.zero_note.set_visible(not positive.all())
        self.zero_note.set_text(f"{int((~positive).sum())} layer(s) with gradient exactly 0")
        ratio = stats.signal_ratio
        grad_ax.set_title(f"backward signal: first/last = {ratio:.2g}" if np.isfinite(ratio) else "backward signal",
                          fontsize=10)


def output_loss(comparison: OutputComparison) -> Figure:
    """MSE vs cross-entropy for a sigmoid output: dL/dz against z, and training from a saturated start.

    Two panels (the widget redraws this figure on every change, so it stays
    small): the gradient each loss sends to the logit, for target 1, and the
    cross-entropy of the predictions during training, the same yardstick for
    every loss.

    Parameters
    ----------
    comparison
        The output of :func:`vanishing.experiments.output_loss_comparison`.
    """
    return OutputLossView().show(comparison)


_LOSS_ORDER = ("bce_logits", "mse", "bce")  # bce last and dashed: visible where it agrees with another loss


class OutputLossView(View):
    """The figure of :func:`output_loss`, kept by the ``output_loss_explorer`` widget and changed in place."""

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 2, figsize=(9.0, 3.9))
        self.figure.subplots_adjust(left=0.09, right=0.98, bottom=0.28, top=0.91, wspace=0.28)
        grad_ax, loss_ax = self.figure.axes
        self.gradients = {name: grad_ax.plot([], [], color=_LOSS_COLOURS[name], label=_LOSS_LABELS[name],
                                             **({"linestyle": "--"} if name == "bce" else {}))[0]
                          for name in ("bce_logits", "bce", "mse")}
        self.sigma_prime = grad_ax.plot([], [], color=GREY, linestyle=":", label="σ′(z): the factor MSE keeps")[0]
        # 'bce' clips sigma(z) to [1e-12, 1 - 1e-12]: there its gradient is exactly 0, which a log axis cannot show
        self.clipped = grad_ax.axvspan(0.0, 1.0, color=_LOSS_COLOURS["bce"], alpha=0.15, linewidth=0)
        self.clipped_note = grad_ax.text(0.0, 3e-3, "'bce': ∂L/∂z = 0\n(σ clipped)", fontsize=7.5,
                                         color=_LOSS_COLOURS["bce"], va="top")
        self.start = grad_ax.axvline(0.0, color="black", linewidth=0.8, linestyle="-.")
        decade_log_y(grad_ax, numticks=5)
        grad_ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        grad_ax.set_xlabel("logit z")
        grad_ax.set_title("gradient reaching the logit", fontsize=10)
        self.losses = {name: loss_ax.plot([], [], color=_LOSS_COLOURS[name],
                                          **({"linestyle": "--"} if name == "bce" else {}))[0]
                       for name in _LOSS_ORDER}
        decade_log_y(loss_ax, numticks=4)
        loss_ax.set_xlabel("SGD updates")
        loss_ax.set_ylabel("cross-entropy of the predictions (log scale)")
        self.legend = LegendSlot(self.figure, loc="lower center", ncols=3, fontsize=8.5, bbox_to_anchor=(0.5, 0.0))

    def update(self, comparison: OutputComparison) -> None:
        _check_type("comparison", comparison, OutputComparison, "output_loss_comparison()")
        grad_ax = self.figure.axes[0]
        gradients, runs = comparison.gradients, list(comparison.runs)
        z = gradients.z
        for name, line in self.gradients.items():
            g = np.abs(gradients.gradient(name))
            line.set_data(z, np.where(g > 0, g, np.nan))
        self.sigma_prime.set_data(z, gradients.sigma_prime)
        clipped = (gradients.bce == 0) & (z < 0)
        self.clipped.set_visible(bool(clipped.any()))
        self.clipped_note.set_visible(bool(clipped.any()))
        if clipped.any():
            edge = float(z[clipped].max())
            self.clipped.set_x(z[0])
            self.clipped.set_width(edge - z[0])
            self.clipped_note.set_x(edge + 0.7)
        bottom = 1e-6
        if runs:
            # reach down to the MSE gradient at the start, so that the point where training begins is on the plot
            at_start = abs(float(np.interp(runs[0].z_start, z, gradients.mse)))
            bottom = max(1e-20, min(bottom, 0.1 * at_start)) if at_start > 0 else 1e-20
        grad_ax.set_xlim(z[0] - 0.05 * (z[-1] - z[0]), z[-1] + 0.05 * (z[-1] - z[0]))
        grad_ax.set_ylim(bottom, 3)
        grad_ax.set_ylabel(f"|∂L/∂z|, target {gradients.target:g} (log scale)")
        entries = [(line, line.get_label()) for line in (*self.gradients.values(), self.sigma_prime)]
        start = runs[0].z_start if runs else None
        self.start.set_visible(start is not None and z.min() <= start <= z.max())
        if self.start.get_visible():
            self.start.set_xdata([start, start])
            entries.append((self.start, f"start: z = {start:g}"))
        self._training(runs)
        self.legend.show(entries)

    def _training(self, runs: list) -> None:
        loss_ax = self.figure.axes[1]
        by_loss = {run.loss_name: run for run in runs}
        for name, line in self.losses.items():
            line.set_visible(name in by_loss)
            if name in by_loss:
                run = by_loss[name]
                line.set_data(np.arange(0, run.steps + 1), run.cross_entropy)
        loss_ax.set_title("training", fontsize=10)
        if not runs:
            return
        values = np.concatenate([r.cross_entropy for r in runs])
        low, high = float(values.min()), float(values.max())
        if low > 0 and high < 3 * low:
            # a run that never moves (MSE from far out) would give the log axis a zero-height range
            loss_ax.set_ylim(low / 3, high * 3)
        else:
            loss_ax.set_ylim(_log_margins(low, high))
        last = max(r.steps for r in runs)
        loss_ax.set_xlim(-0.05 * last, 1.05 * last)
        loss_ax.set_xticks([0, last // 2, last])  # few ticks: every tick label costs drawing time
        loss_ax.set_title(f"training from z = {runs[0].z_start:g}, lr = {runs[0].lr:g}", fontsize=10)


def _log_margins(low: float, high: float) -> tuple[float, float]:
    """Limits of a log axis around [low, high] with matplotlib's default 5 % margins (in decades)."""
    if not (low > 0 and np.isfinite(high)):
        return (1e-3, 10.0)
    span = np.log10(high) - np.log10(low)
    return 10 ** (np.log10(low) - 0.05 * span), 10 ** (np.log10(high) + 0.05 * span)


_LR_COLOURS = [OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"], OKABE_ITO["green"],
               OKABE_ITO["purple"], OKABE_ITO["sky"]]


@styled
def lr_saturation_curves(runs: Mapping[float, tuple[Any, Any, float]]) -> Figure:
    """Saturated fraction of the hidden layers and of the outputs during training, one line per learning rate.

    ``runs[lr]`` is ``(recorder, history, test_accuracy)``: a :class:`vanishing.diagnostics.SaturationFraction`
    recorder whose last column is the sigmoid output layer, the :class:`vanishing.train.History` of the run,
    and the accuracy at the end.
    """
    if not runs:
        raise TypeError("runs must be a non-empty dict lr -> (recorder, history, accuracy)")
    fig = new_figure(1, 3, figsize=(10.0, 3.6))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.26, top=0.92, wspace=0.32)
    hidden_ax, out_ax, loss_ax = fig.axes
    for i, (lr, (recorder, history, accuracy)) in enumerate(runs.items()):
        c = _LR_COLOURS[i % len(_LR_COLOURS)]
        label = f"lr {lr:g}: test accuracy {accuracy:.0%}"
        record = np.asarray(recorder.history)
        hidden_ax.plot(recorder.steps, record[:, :-1].mean(axis=1), color=c, label=label)
        out_ax.plot(recorder.steps, record[:, -1], color=c, label=label)
        loss_ax.plot(np.arange(1, len(history.loss) + 1), history.loss, color=c, linewidth=1.0, label=label)
    hidden_ax.set_title("tanh hidden layers (mean)", fontsize=10)
    out_ax.set_title("sigmoid outputs", fontsize=10)
    for ax in (hidden_ax, out_ax):
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("SGD step")
        ax.set_ylabel("fraction saturated")
    decade_log_y(loss_ax)
    loss_ax.set_xlabel("SGD step")
    loss_ax.set_ylabel("training loss, MSE (log scale)")
    loss_ax.set_title("training loss", fontsize=10)
    handles, labels = hidden_ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    return fig


@styled
def digits_training(curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Figure:
    """Test accuracy and saturated hidden units during training, one line per setting.

    ``curves[label]`` is ``(epochs, accuracy, hidden_saturated)``, three arrays of the same length: when
    each measurement was taken (in epochs), the test accuracy and the fraction of saturated tanh outputs.
    """
    if not curves:
        raise TypeError("curves must be a non-empty dict label -> (epochs, accuracy, hidden_saturated)")
    fig = new_figure(1, 2, figsize=(9.6, 3.6))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.28, top=0.92, wspace=0.28)
    acc_ax, hid_ax = fig.axes
    styles = ["-", "--", ":", "-."]
    for i, (label, (epochs, accuracy, hidden)) in enumerate(curves.items()):
        style = {"color": colour(i // 2), "linestyle": styles[i % 2], "marker": "o", "markersize": 3, "label": label}
        acc_ax.plot(epochs, accuracy, **style)
        hid_ax.plot(epochs, hidden, **style)
    acc_ax.axhline(0.1, color=GREY, linestyle=":", linewidth=1)
    acc_ax.text(0.98, 0.1, "chance", color=GREY, fontsize=8, ha="right", va="bottom",
                transform=acc_ax.get_yaxis_transform())
    acc_ax.set_ylim(0, 1)
    acc_ax.set_ylabel("test accuracy")
    acc_ax.set_title("test accuracy", fontsize=10)
    hid_ax.set_ylim(-0.02, 1.02)
    hid_ax.set_ylabel("fraction saturated")
    hid_ax.set_title("tanh hidden units saturated", fontsize=10)
    for ax in fig.axes:
        ax.set_xlabel("epochs of training")
    handles, labels = acc_ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8.5, bbox_to_anchor=(0.5, 0.0),
               handlelength=3.5)
    return fig
