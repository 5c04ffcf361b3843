"""Notebook 09 (what practitioners do): figures for residual networks, clipping, normalization and activations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..activations import make_activation
from ..experiments.practitioners import ExploreRun
from ._style import GREY, OKABE_ITO, View, colour, log_decades, log_y, new_figure, styled

__all__ = ["ExplorerView", "activation_derivatives_plot", "clipping_plot", "explorer_plot", "loss_curves_plot",
           "signal_plot", "stream_variance_plot"]

NOTEBOOK = "09"

SMOOTHING = 10
"""Loss curves show the mean of this many consecutive steps (a mini-batch loss is noisy)."""


def _series(name: str, values: object) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} has shape {values.shape}; allowed: a non-empty 1-D sequence")
    return values


def _mapping(name: str, series: object) -> dict[str, np.ndarray]:
    if not isinstance(series, Mapping) or not series:
        raise TypeError(f"{name} must be a non-empty dict label -> 1-D sequence, got {type(series).__name__}")
    return {str(label): _series(f"{name}[{label!r}]", values) for label, values in series.items()}


def _smoothed(loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps, running mean of SMOOTHING steps) of a per-step loss, steps counted from 1."""
    if loss.size < SMOOTHING:
        return np.arange(1, loss.size + 1), loss
    return np.arange(SMOOTHING, loss.size + 1), np.convolve(loss, np.ones(SMOOTHING) / SMOOTHING, mode="valid")


@styled
def signal_plot(signals: Mapping[str, Sequence[float]], *, title: str = "", pairs: bool = False) -> Figure:
    r"""The backward signal :math:`\|\partial L/\partial z_l\|` of every Dense layer, one line per network.

    Parameters
    ----------
    signals
        Label -> the signal per Dense layer, input side first (from
        :func:`vanishing.diagnostics.backward_signal`).
    title
        Figure title.
    pairs
        True when the networks come in pairs (plain, then residual): the two of a pair
        share a colour, the first dashed, the second solid.
    """
    signals = _mapping("signals", signals)
    fig = new_figure(figsize=(7.2, 3.8))
    ax = fig.axes[0]
    fig.subplots_adjust(left=0.1, right=0.7, bottom=0.14, top=0.88)
    for i, (label, signal) in enumerate(signals.items()):
        c, dashed = (colour(i // 2), i % 2 == 0) if pairs else (colour(i), False)
        ax.plot(np.arange(1, signal.size + 1), signal, color=c, linestyle="--" if dashed else "-",
                marker="o", markersize=2.5, label=label)
    log_y(ax, np.concatenate(list(signals.values())))
    ax.set_xlabel("Dense layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂z‖ (log scale)")
    ax.set_title(title or "backward signal per layer, at initialisation")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


def _diverged(losses: Mapping[str, np.ndarray], diverged: Mapping[str, bool] | None) -> dict[str, bool]:
    """Label -> whether the run diverged: as given, else whether its last loss is not finite."""
    given = dict(diverged or {})
    return {label: bool(given.get(label, not np.isfinite(loss[-1]))) for label, loss in losses.items()}


def _draw_losses(ax: Axes, losses: Mapping[str, np.ndarray], diverged: Mapping[str, bool]) -> None:
    """Loss curves (mean of SMOOTHING steps) on a linear axis from 0 to a little above the first losses.

    The top is set by the runs that did not diverge: a diverging run can start at, or climb to, 1e300; its
    curve is cut at the top and a cross marks the step where it stopped.
    """
    kept = [label for label in losses if not diverged[label]] or list(losses)
    starts = [float(losses[label][0]) for label in kept if np.isfinite(losses[label][0])]
    top = 1.15 * max(starts) if starts and max(starts) > 0 else 1.0
    for i, (label, loss) in enumerate(losses.items()):
        steps, smooth = _smoothed(loss)
        ax.plot(steps, np.minimum(smooth, top), color=colour(i), label=label)
        if diverged[label]:
            ax.plot([loss.size], [0.95 * top], "x", color=colour(i), markersize=9, markeredgewidth=2)
            ax.annotate(f"diverged at step {loss.size}", (loss.size, 0.95 * top), xytext=(6, -4),
                        textcoords="offset points", color=colour(i), fontsize=8, va="top")
    ax.set_ylim(0, top)
    ax.set_xlim(0, max(loss.size for loss in losses.values()) + 1)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"loss (mean of {SMOOTHING} steps)")


@styled
def loss_curves_plot(losses: Mapping[str, Sequence[float]], *, diverged: Mapping[str, bool] | None = None,
                     title: str = "") -> Figure:
    """Training loss curves (mean of 10 steps); a run that diverged is marked where it stopped.

    The loss axis ends a little above the first-step losses of the runs that did not diverge.

    Parameters
    ----------
    losses
        Label -> the loss of every step (``History.loss``).
    diverged
        Label -> True for a run that ended in divergence (default: a run whose last loss is not finite).
    title
        Figure title.
    """
    losses = _mapping("losses", losses)
    fig = new_figure(figsize=(7.2, 3.6))
    ax = fig.axes[0]
    fig.subplots_adjust(left=0.1, right=0.7, bottom=0.15, top=0.88)
    _draw_losses(ax, losses, _diverged(losses, diverged))
    ax.set_title(title or "training loss")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


@styled
def stream_variance_plot(growth: Mapping[str, Sequence[float]],
                         predicted: Mapping[str, Sequence[float]] | None = None, *,
                         predicted_label: str = "predicted") -> Figure:
    r"""The variance of the residual stream after every block, relative to :math:`x_0`, one line per network.

    Parameters
    ----------
    growth
        Label -> :math:`\mathrm{Var}(x_l)/\mathrm{Var}(x_0)` for l = 0..L (measured).
    predicted
        Label -> the same predicted, drawn dotted in the line's colour (optional).
    predicted_label
        The legend entry of the dotted lines.
    """
    growth = _mapping("growth", growth)
    predicted = _mapping("predicted", predicted) if predicted else {}
    fig = new_figure(figsize=(7.6, 3.6))
    ax = fig.axes[0]
    fig.subplots_adjust(left=0.1, right=0.66, bottom=0.15, top=0.88)
    for i, (label, values) in enumerate(growth.items()):
        ax.plot(np.arange(values.size), values, color=colour(i), label=label)
        if label in predicted:
            ax.plot(np.arange(predicted[label].size), predicted[label], color=colour(i), linestyle=":",
                    linewidth=2.2)
    if predicted:
        ax.plot([], [], color=GREY, linestyle=":", linewidth=2.2, label=predicted_label)
    log_y(ax, np.concatenate([*growth.values(), *predicted.values()]), numticks=8)
    ax.set_xlabel("block l")
    ax.set_ylabel("Var(x_l) / Var(x_0) (log scale)")
    ax.set_title("the residual stream's variance, block after block")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


@styled
def clipping_plot(losses: Mapping[str, Sequence[float]], norms: Mapping[str, Sequence[float]], *,
                  diverged: Mapping[str, bool] | None = None) -> Figure:
    """Left: loss curves (a diverged run marked); right: the global gradient norm of every step, before clipping.

    Parameters
    ----------
    losses
        Label -> the loss of every step.
    norms
        Label -> the global gradient norm of every step before clipping (``GradientClipping.norms``);
        the runs without clipping may be left out.
    diverged
        Label -> True for a run that ended in divergence (default: a run whose last loss is not finite).
    """
    losses = _mapping("losses", losses)
    norms = _mapping("norms", norms)
    fig = new_figure(1, 2, figsize=(9.6, 3.7))
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.14, top=0.82, wspace=0.25)
    loss_ax, norm_ax = fig.axes
    _draw_losses(loss_ax, losses, _diverged(losses, diverged))
    loss_ax.set_title("training loss")
    for i, label in enumerate(losses):
        if label in norms:
            norm_ax.plot(np.arange(1, norms[label].size + 1), norms[label], color=colour(i), linewidth=1.2)
    norm_ax.axhline(1.0, color=GREY, linestyle="--", linewidth=1.0)
    log_y(norm_ax, np.concatenate([*norms.values(), [1.0]]))
    norm_ax.set_xlabel("training step")
    norm_ax.set_ylabel("‖g‖ before clipping (log scale)")
    norm_ax.set_title("global gradient norm")
    fig.legend(*loss_ax.get_legend_handles_labels(), loc="upper center", ncols=len(losses), fontsize=9,
               bbox_to_anchor=(0.5, 1.0))
    return fig


ACTIVATION_LABELS = {"relu": "ReLU", "elu": "ELU", "gelu": "GELU", "silu": "SiLU", "leaky_relu": "Leaky ReLU",
                     "tanh": "tanh"}


@styled
def activation_derivatives_plot(names: Sequence[str] = ("relu", "elu", "gelu", "silu"), *,
                                z: Sequence[float] | None = None) -> Figure:
    """Each activation f(z) (left) and its derivative f'(z) (right), from the engine's ``fn`` and ``derivative``.

    Parameters
    ----------
    names
        Activation names (:data:`vanishing.activations.ACTIVATIONS`).
    z
        Where to evaluate (default: 801 points from -5 to 3).
    """
    z = np.linspace(-5.0, 3.0, 801) if z is None else _series("z", z)
    fig = new_figure(1, 2, figsize=(9.6, 3.6))
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.14, top=0.82, wspace=0.22)
    fn_ax, d_ax = fig.axes
    styles = ("-", "--", "-", "-.", ":")
    for i, name in enumerate(names):
        act = make_activation(name)
        label = ACTIVATION_LABELS.get(name, name)
        fn_ax.plot(z, act.fn(z), color=colour(i), linestyle=styles[i % len(styles)], label=label)
        d_ax.plot(z, act.derivative(z), color=colour(i), linestyle=styles[i % len(styles)], label=label)
    for ax in (fn_ax, d_ax):
        ax.axhline(0.0, color="black", linewidth=0.7)
        ax.set_xlabel("z")
    d_ax.axhline(1.0, color=GREY, linewidth=0.8, linestyle=":")
    fn_ax.set_ylim(-1.5, 3.0)
    fn_ax.set_ylabel("f(z)")
    fn_ax.set_title("the activation")
    d_ax.set_ylabel("f′(z)")
    d_ax.set_title("its derivative f′(z), a factor of the backward pass")
    fig.legend(*fn_ax.get_legend_handles_labels(), loc="upper center", ncols=len(names), fontsize=9,
               bbox_to_anchor=(0.5, 1.0))
    d_ax.annotate("f′ < 0: GELU and SiLU dip below 0", (-1.6, -0.12), xytext=(-4.9, 0.55), fontsize=8,
                  color=OKABE_ITO["black"], arrowprops={"arrowstyle": "->", "color": GREY})
    return fig


# --- the widget's figure ---------------------------------------------------------------------------------------------

def explorer_plot(run: ExploreRun) -> Figure:
    """The backward signal per Dense layer (first and last recorded step) and the loss of one :func:`explore_run`."""
    return ExplorerView().show(run)


def _explore_title(run: ExploreRun) -> str:
    s = run.settings
    norm = {"none": "", "batchnorm": ", BatchNorm", "layernorm": ", LayerNorm"}[s["norm"]]
    clip = f", clipped at norm {s['max_norm']:g}" if s["max_norm"] is not None else ""
    if run.divergence is not None:
        outcome = f"diverged at step {len(run.loss)}"
    elif np.isfinite(run.test_accuracy):
        clipped = f", {run.clipped_fraction:.0%} of steps clipped" if s["max_norm"] is not None else ""
        outcome = f"test accuracy {run.test_accuracy:.0%}{clipped}"
    else:
        outcome = f"training: step {len(run.loss)} of {s['steps']}"
    activation = ACTIVATION_LABELS.get(s["activation"], s["activation"])
    return f"{s['depth']} {activation} blocks, {s['block']}{norm}{clip}, SGD lr {s['lr']:g}: {outcome}"


class ExplorerView(View):
    r"""The figure of :func:`explorer_plot`, kept by the ``practitioners_explorer`` widget and changed in place.

    Left: :math:`\|\partial L/\partial z_l\|` of every Dense layer at step 1 (dashed) and at the last
    recorded step (solid), on a log axis. Right: the mini-batch loss of every step, with a cross where a run
    diverged. The loss axis spans the run's planned steps, so that a run in progress grows from the left.
    """

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 2, figsize=(9.6, 3.8))
        self.figure.subplots_adjust(left=0.075, right=0.985, bottom=0.14, top=0.8, wspace=0.24)
        signal_ax, loss_ax = self.figure.axes
        self.first = signal_ax.plot([], [], color=OKABE_ITO["blue"], linestyle="--", marker="o", markersize=2.5,
                                    label="step 1")[0]
        self.last = signal_ax.plot([], [], color=OKABE_ITO["vermillion"], marker="o", markersize=2.5,
                                   label="last recorded step")[0]
        signal_ax.legend(loc="upper right", fontsize=8)
        signal_ax.set_xlabel("Dense layer (1 = next to the input)")
        signal_ax.set_ylabel("‖∂L/∂z‖ (log scale)")
        signal_ax.set_title("backward signal per layer", fontsize=10)
        self.loss = loss_ax.plot([], [], color=OKABE_ITO["blue"], linewidth=1.0)[0]
        self.end = loss_ax.plot([], [], "x", color=OKABE_ITO["vermillion"], markersize=9, markeredgewidth=2)[0]
        loss_ax.set_xlabel("training step")
        loss_ax.set_ylabel("mini-batch loss")
        loss_ax.set_title("training loss", fontsize=10)

    def update(self, run: ExploreRun) -> None:
        if not isinstance(run, ExploreRun):
            raise TypeError(f"expected an ExploreRun from vanishing.experiments.explore_run, got {type(run).__name__}")
        signal_ax, loss_ax = self.figure.axes
        layers = np.arange(1, run.signal.shape[1] + 1) if run.signal.size else np.array([])
        first = run.signal[0] if len(run.signal) else np.array([])
        last = run.signal[-1] if len(run.signal) > 1 else np.full_like(first, np.nan)
        self.first.set_data(layers, np.where(first > 0, first, np.nan))
        self.last.set_data(layers, np.where(last > 0, last, np.nan))
        self.last.set_label(f"step {run.signal_steps[-1]}" if len(run.signal) > 1 else "later steps")
        signal_ax.legend(loc="best", fontsize=8)
        shown = np.concatenate([first, last]) if first.size else np.array([1.0])
        log_y(signal_ax, shown)
        signal_ax.set_xlim(0, max(layers.size, 1) + 1)
        self._loss(run)
        self.figure.suptitle(_explore_title(run), fontsize=10)

    def _loss(self, run: ExploreRun) -> None:
        """The loss on a linear axis, or a log axis when it spans more than two decades (a run that blows up)."""
        ax = self.figure.axes[1]
        loss = np.asarray(run.loss, dtype=np.float64)
        finite = loss[np.isfinite(loss) & (loss > 0)]
        self.loss.set_data(np.arange(1, loss.size + 1), loss)
        ax.set_xlim(0, max(int(run.settings["steps"]), loss.size) + 1)
        if finite.size and log_decades(finite) > 2:
            log_y(ax, finite)
            top = float(finite.max())
            ax.set_ylabel("mini-batch loss (log scale)")
        else:
            ax.set_yscale("linear")
            top = 1.1 * float(finite.max()) if finite.size else 1.0
            ax.set_ylim(0, top)
            ax.set_ylabel("mini-batch loss")
        self.end.set_visible(run.divergence is not None)
        if run.divergence is not None:
            self.end.set_data([loss.size], [finite[-1] if finite.size else top])
