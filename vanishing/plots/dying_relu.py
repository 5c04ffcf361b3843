"""Notebook 03 (dying ReLU): figures for the notebook's experiments and :mod:`vanishing.experiments.dying_relu`.

A dead unit's quantities are often exactly 0; on a log axis they have no place, so
exact zeros are drawn as their own cell and labelled "0".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..experiments import dying_relu as ex
from ._style import GREY, OKABE_ITO, View, colour, log_decades, log_y, new_figure, styled

__all__ = [
    "DyingView", "batchnorm_plot", "born_dead_plot", "dead_layer_plot", "dead_revival_plot", "dead_units_plot",
    "dying_dashboard", "dying_grid_plot", "frozen_plot", "momentum_plot", "shrink_plot",
]

NOTEBOOK = "03"

_ALIVE_MAP = ListedColormap(["#f2f2f2", OKABE_ITO["blue"]])  # dead: light grey, alive: blue


def _loss_axis(ax: object, values: np.ndarray) -> str:
    """Log scale for a loss that spans more than a decade, linear otherwise; returns the label suffix."""
    if log_decades(values) > 1:
        log_y(ax, values, numticks=6)
        return " (log scale)"
    return ""


def _check(result: object, kind: type, producer: str) -> None:
    if not isinstance(result, kind):
        raise TypeError(f"expected a {kind.__name__} from {producer}, got {type(result).__name__}")


def _check_mapping(results: object, kind: type, producer: str) -> None:
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"expected the non-empty dict returned by {producer}, got {type(results).__name__}")
    for value in results.values():
        _check(value, kind, producer)


def _curve(name: str, values: object, length: int | None = None) -> np.ndarray:
    """A 1-D float array of finite-or-not numbers, with ``length`` entries if given."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or (length is not None and values.size != length):
        want = f"{length} values" if length is not None else "a non-empty 1-D sequence"
        raise ValueError(f"{name} has shape {values.shape}; allowed: {want}")
    return values


@styled
def frozen_plot(loss: Sequence[float], output_bias: Sequence[float], constant: float, constant_loss: float, *,
                what: str = "log-odds of the class prior") -> Figure:
    """The dead network in training: the loss against the best constant's, and the output bias c.

    Parameters
    ----------
    loss
        The loss of every step, shape (steps,).
    output_bias
        The output bias c before training and after every update, shape (steps + 1,).
    constant, constant_loss
        The best constant output and its loss (:func:`vanishing.experiments.best_constant`).
    what
        What the best constant is, for its label.
    """
    loss = _curve("loss", loss)
    output_bias = _curve("output_bias", output_bias, loss.size + 1)
    fig = new_figure(1, 2, figsize=(9.0, 3.5))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.8, wspace=0.28)
    left, right = fig.axes
    left.plot(np.arange(1, loss.size + 1), loss, color=OKABE_ITO["blue"], label="training loss")
    left.axhline(constant_loss, color="black", linestyle="--", linewidth=1.0,
                 label=f"best constant output: {constant_loss:.4f}")
    left.set_xscale("log")
    left.set_xlabel("step (log scale)")
    left.set_ylabel("loss")
    left.set_title("loss")
    left.legend(loc="upper right")
    right.plot(np.arange(output_bias.size), output_bias, color=OKABE_ITO["orange"])
    right.axhline(constant, color="black", linestyle="--", linewidth=1.0)
    span = float(np.ptp(output_bias)) or 1.0
    below = constant < output_bias[0]
    right.text(0.98, constant + (0.04 if below else -0.04) * span, f"{what}: {constant:.4f}",
               transform=right.get_yaxis_transform(), ha="right", va="bottom" if below else "top", fontsize=9)
    right.set_xscale("symlog", linthresh=1.0)
    right.set_xlim(0, output_bias.size - 1)
    right.set_xlabel("update (log scale)")
    right.set_ylabel("output bias c")
    right.set_title("the output bias c")
    fig.suptitle("The dead network under plain SGD, full batch: ŷ = h · v + c with h = 0 on every input",
                 fontsize=10, y=0.97)
    return fig


_SCENARIO_STYLES = ("-", "--", ":", "-", "-", "--", "-.", "-")
_SCENARIO_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["vermillion"],
                     OKABE_ITO["purple"], OKABE_ITO["sky"], GREY, "black")


@styled
def dead_revival_plot(runs: Mapping[str, ex.DeadRun]) -> Figure:
    """Each optimizer setting on the dead network: the largest ReLU input, and the loss.

    Left: the largest ReLU input over every example and unit after each update; a
    unit is alive as soon as this is above 0. Right: the loss, with the best
    constant's loss (where a network whose hidden layer stays dead ends).

    Parameters
    ----------
    runs
        Label -> the output of :func:`vanishing.experiments.dead_run`.
    """
    _check_mapping(runs, ex.DeadRun, "dead_run")
    fig = new_figure(1, 2, figsize=(9.0, 4.1))
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.29, top=0.92, wspace=0.25)
    left, right = fig.axes
    flat = []
    for i, (name, run) in enumerate(runs.items()):
        if not run.hidden_moved:
            flat.append(name)
        style = {"color": _SCENARIO_COLOURS[i % len(_SCENARIO_COLOURS)],
                 "linestyle": _SCENARIO_STYLES[i % len(_SCENARIO_STYLES)], "label": name}
        left.plot(np.arange(run.relu_max.size), np.clip(run.relu_max, -1.5, 2.5), **style)
        right.plot(np.arange(1, run.loss.size + 1), run.loss, **style)
    left.axhline(0.0, color="black", linewidth=0.8)
    left.axhspan(0.0, 2.6, color=OKABE_ITO["green"], alpha=0.07, linewidth=0)
    left.text(0.98, 0.96, "alive on some example", transform=left.transAxes, ha="right", va="top", fontsize=8,
              color=OKABE_ITO["green"])
    left.text(0.02, -0.08, "below 0: every unit dead", transform=left.get_yaxis_transform(), ha="left", va="top",
              fontsize=8, color=GREY)
    if flat:
        left.text(0.02, -1.08, "at −1 exactly: " + ", ".join(flat), ha="left", va="top", fontsize=7, color=GREY,
                  transform=left.get_yaxis_transform())
    left.set_ylim(-1.5, 2.6)
    left.set_xlabel("update")
    left.set_ylabel("largest ReLU input\n(over examples and units; clipped at 2.5)")
    left.set_title("can a unit come back?")
    constant = next(iter(runs.values())).constant_loss
    right.axhline(constant, color="black", linestyle="--", linewidth=1.0)
    scale = _loss_axis(right, np.concatenate([run.loss for run in runs.values()]))
    right.text(0.98, constant, "best constant output", transform=right.get_yaxis_transform(), ha="right",
               va="bottom", fontsize=8)
    right.set_xlabel("step")
    right.set_ylabel(f"training loss{scale}")
    right.set_title("does the network learn again?")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, 0.01))
    return fig


@styled
def shrink_plot(factors: Mapping[str, np.ndarray]) -> Figure:
    r"""The common factor :math:`a_t` of a dead unit's parameters, :math:`p_t = a_t p_0`, against the update.

    Parameters
    ----------
    factors
        Label -> the output of :func:`vanishing.experiments.shrink_factors`.
    """
    if not isinstance(factors, Mapping) or not factors:
        raise TypeError("factors must be a non-empty dict of label -> shrink_factors(...) arrays")
    fig = new_figure(1, 1, figsize=(6.4, 3.4))
    ax = fig.axes[0]
    for i, (label, a) in enumerate(factors.items()):
        a = _curve(f"factors[{label!r}]", a)
        ax.plot(np.arange(len(a)), a, color=colour(i), label=label)
        negative = np.flatnonzero(a < 0)
        if negative.size:
            ax.plot(negative[0], a[negative[0]], "o", color=colour(i), markersize=5)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.text(0.98, 0.27, "dot: first a_t < 0, where z_t = a_t · z_0 > 0\nfor every input: every unit alive at once",
            transform=ax.transAxes, ha="right", va="center", fontsize=8, color=GREY)
    ax.set_xlabel("update t")
    ax.set_ylabel("a_t  (p_t = a_t · p_0)")
    ax.set_title("a dead unit's parameters under L2 decay: z_t(x) = a_t · z_0(x)")
    ax.legend(loc="upper right", fontsize=8)
    return fig


@styled
def momentum_plot(effective: Sequence[float], momenta: Sequence[float], dead: np.ndarray, *, lr: float = 1.0) -> Figure:
    r"""Units dead at the end of training against the effective step :math:`\eta/(1-\mu)`, one line per momentum.

    Parameters
    ----------
    effective
        The effective steps :math:`\eta/(1-\mu)` of the rows of ``dead``.
    momenta
        The momenta μ of the columns of ``dead``.
    dead
        Fraction of hidden units dead at the end, shape (len(effective), len(momenta)).
    lr
        Runs with this learning rate η are ringed and joined (the comparison at one η, where μ also sets
        the step).
    """
    effective = _curve("effective", effective)
    momenta = _curve("momenta", momenta)
    dead = np.asarray(dead, dtype=np.float64)
    if dead.shape != (effective.size, momenta.size):
        raise ValueError(f"dead has shape {dead.shape}; allowed: (len(effective), len(momenta)) = "
                         f"{(effective.size, momenta.size)}")
    fig = new_figure(1, 1, figsize=(6.4, 3.6))
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.15, top=0.9)
    ax = fig.axes[0]
    ringed_x, ringed_y = [], []
    for j, mu in enumerate(momenta):
        ax.plot(effective, dead[:, j], "o-", color=colour(j), label=f"μ = {mu:g}  (η = step · {1 - mu:g})")
        ring = np.isclose(effective * (1 - mu), lr)
        ringed_x += list(effective[ring])
        ringed_y += list(dead[ring, j])
    order = np.argsort(ringed_x)
    ax.plot(np.array(ringed_x)[order], np.array(ringed_y)[order], "o--", color="black", markersize=13,
            markerfacecolor="none", linewidth=1.0, zorder=3, label=f"η = {lr:g}: μ and the step change together")
    ax.set_xscale("log")
    ax.set_xticks(effective)
    ax.set_xticklabels([f"{e:g}" for e in effective])
    ax.set_ylim(-0.03, 1.0)
    ax.set_xlabel("effective step η / (1 − μ)  (log scale)")
    ax.set_ylabel("fraction of hidden units\ndead at the end")
    ax.set_title("units dead after training, against the effective step")
    ax.legend(loc="upper left", fontsize=8)
    return fig


@styled
def dead_units_plot(losses: Mapping[int, Sequence[float]], accuracy: Mapping[int, float], constant_loss: float, *,
                    hidden: int = 16) -> Figure:
    """Loss curves of the same network with 0 to all of its hidden units killed at the start.

    Parameters
    ----------
    losses
        Units killed -> the loss of every step.
    accuracy
        Units killed -> training accuracy at the end.
    constant_loss
        The best constant's loss: where a network with every unit dead ends.
    hidden
        The number of hidden units.
    """
    if not isinstance(losses, Mapping) or not losses or set(losses) != set(accuracy):
        raise TypeError("losses and accuracy must be dicts with the same keys: units killed -> loss curve / accuracy")
    killed = sorted(losses)
    curves = np.array([_curve(f"losses[{k}]", losses[k]) for k in killed])
    fig = new_figure(1, 2, figsize=(9.0, 3.9))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.27, top=0.9, wspace=0.28)
    left, right = fig.axes
    steps = np.arange(1, curves.shape[1] + 1)
    for i, k in enumerate(killed):
        left.plot(steps, curves[i], color=colour(i), label=f"{k} of {hidden} dead")
    left.axhline(constant_loss, color="black", linestyle="--", linewidth=1.0, label="best constant")
    scale = _loss_axis(left, curves)
    left.set_xlabel("step")
    left.set_ylabel(f"training loss{scale}")
    left.set_title("killed at the start, then plain SGD")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, 0.0),
               handlelength=1.5, columnspacing=1.0)
    alive = hidden - np.array(killed)
    right.plot(alive, curves[:, -1], "o-", color=OKABE_ITO["blue"], label="final loss")
    right.axhline(constant_loss, color="black", linestyle="--", linewidth=1.0)
    scale = _loss_axis(right, curves[:, -1])
    right.set_xlabel("units left alive")
    right.set_ylabel(f"loss after {curves.shape[1]} steps{scale}")
    right.set_title("the living units route around the dead")
    for x, y, k in zip(alive, curves[:, -1], killed, strict=True):
        right.annotate(f"{accuracy[k]:.0%}", (x, y), textcoords="offset points", xytext=(4, 5), fontsize=8)
    right.text(0.03, 0.04, "labels: training accuracy", transform=right.transAxes, ha="left", va="bottom",
               fontsize=8, color=GREY)
    right.set_xticks(alive)
    return fig


def _parameter_labels(names: Sequence[str]) -> list[str]:
    """``"0.W", "0.b", "2.W"...`` -> ``"layer 1 W", "layer 1 b", "layer 2 W"...`` (Dense layers counted in order)."""
    order = list(dict.fromkeys(name.split(".")[0] for name in names))
    return [f"layer {order.index(name.split('.')[0]) + 1} {name.split('.')[1]}" for name in names]


@styled
def dead_layer_plot(grads: Mapping[str, Mapping[str, float]]) -> Figure:
    """Which parameters get a gradient when (part of) a hidden layer is dead: one column per network.

    Parameters
    ----------
    grads
        Network label -> (parameter name, e.g. ``"0.W"`` -> its largest |gradient| at the start);
        every network has the same parameter names. Exact zeros are grey cells labelled 0.
    """
    if not isinstance(grads, Mapping) or not grads or not all(isinstance(g, Mapping) for g in grads.values()):
        raise TypeError("grads must be a non-empty dict: network label -> {parameter name: largest |gradient|}")
    labels = list(grads)
    names = list(next(iter(grads.values())))
    table = np.array([[float(grads[k][n]) for k in labels] for n in names])  # parameters x networks
    height = 1.1 + 0.34 * len(names)
    fig = new_figure(1, 1, figsize=(6.4, height))
    fig.subplots_adjust(left=0.25, right=0.98, bottom=0.03, top=1 - 0.95 / height)
    ax = fig.axes[0]
    cells = ListedColormap(["#d9d9d9", OKABE_ITO["sky"]])  # exactly 0: grey; non-zero: light blue
    ax.imshow((table != 0).astype(float), cmap=cells, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    for (r, c), g in np.ndenumerate(table):
        ax.text(c, r, "0" if g == 0 else f"{g:.2g}", ha="center", va="center", fontsize=9)
    for c in range(1, len(labels)):
        ax.axvline(c - 0.5, color="white", linewidth=2)
    for r in range(1, len(names)):
        ax.axhline(r - 0.5, color="white", linewidth=1)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks(range(len(names)))
    side = {0: "  (input side)", len(names) - 1: "  (output)"}
    ax.set_yticklabels([n + side.get(i, "") for i, n in enumerate(_parameter_labels(names))], fontsize=8)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle("largest |gradient| of each parameter at the start (grey: exactly 0)", fontsize=10, y=0.99)
    return fig


@styled
def dying_grid_plot(grid: Mapping[tuple[float, float], ex.DyingRun]) -> Figure:
    """Dead fraction during training: one panel per initial bias, one line per learning rate.

    Parameters
    ----------
    grid
        ``(lr, bias)`` -> the output of :func:`vanishing.experiments.dying_run` with those settings.
    """
    _check_mapping(grid, ex.DyingRun, "dying_run")
    lrs = sorted({lr for lr, _ in grid})
    biases = list(dict.fromkeys(b for _, b in grid))
    fig = new_figure(1, len(biases), figsize=(9.0, 3.5), sharey=True)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.28, top=0.86, wspace=0.12)
    for ax, bias in zip(fig.axes, biases, strict=True):
        for i, lr in enumerate(lrs):
            run = grid.get((lr, bias))
            if run is None:
                continue
            ax.plot(run.steps, run.dead, color=colour(i), label=f"lr {lr:g}")
            if run.diverged is not None:
                ax.plot(run.steps[-1], run.dead[-1], "x", color=colour(i), markersize=7)
        ax.axhline(0.5, color=GREY, linestyle=":", linewidth=1.0)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("update")
        ax.set_title(f"initial hidden bias {bias:g}")
    first = next(iter(grid.values())).settings
    fig.axes[0].set_ylabel("fraction of hidden units dead\n(on the whole training set)")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(lrs), fontsize=9, title="learning rate (plain SGD)",
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{first['depth']} hidden layers of {first['width']} ReLU units, two moons, "
                 f"recorded at every update", fontsize=10, y=0.98)
    return fig


@styled
def born_dead_plot(widths: Sequence[int], probability: np.ndarray, *, trials: int, inputs: int) -> Figure:
    """Probability that a ReLU network is dead at initialisation, against depth, one colour per width.

    Solid: the measured fraction (band: ± 2 standard errors); dashed: the exact
    probability :math:`1 - (1 - 2^{-N})^L` for a single input, an upper bound.

    Parameters
    ----------
    widths
        The widths N, one per row of ``probability``.
    probability
        The output of :func:`vanishing.experiments.born_dead_probability`, shape (len(widths), depth).
    trials, inputs
        Networks drawn per width, and inputs each was run on.
    """
    probability = np.asarray(probability, dtype=np.float64)
    if probability.ndim != 2 or probability.shape[0] != len(widths):
        raise ValueError(f"probability has shape {probability.shape}; allowed: (len(widths), depth) with "
                         f"len(widths) = {len(widths)}")
    fig = new_figure(1, 1, figsize=(6.4, 3.8))
    fig.subplots_adjust(left=0.1, right=0.76, bottom=0.14, top=0.9)
    ax = fig.axes[0]
    d = np.arange(1, probability.shape[1] + 1)
    for i, width in enumerate(widths):
        p = probability[i]
        se = np.sqrt(p * (1 - p) / trials)
        ax.fill_between(d, np.clip(p - 2 * se, 0, 1), np.clip(p + 2 * se, 0, 1), color=colour(i), alpha=0.2,
                        linewidth=0)
        ax.plot(d, p, color=colour(i), label=f"width {width}")
        ax.plot(d, 1 - (1 - 2.0 ** -width) ** d, color=colour(i), linestyle="--", linewidth=1.2)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="black"), Line2D([], [], color="black", linestyle="--", linewidth=1.2)]
    labels += [f"measured:\n{trials} nets,\n{inputs} inputs", "one input:\n1 − (1 − 2⁻ᴺ)ᴸ"]
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(1, d[-1])
    ax.set_xlabel("hidden layers L")
    ax.set_ylabel("P(born dead)")
    ax.set_title("He-normal weights, zero biases: some layer outputs 0 for every input")
    return fig


@styled
def batchnorm_plot(runs: Mapping[float, tuple[Sequence[int], Sequence[float], Sequence[float]]]) -> Figure:
    """Dead fraction of the dead network with BatchNorm before its ReLU, probed in training and evaluation mode.

    Parameters
    ----------
    runs
        Learning rate -> (updates of each record, dead fraction in training mode, dead fraction in
        evaluation mode), e.g. from two :class:`vanishing.diagnostics.DeadFraction` recorders.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a non-empty dict: learning rate -> (steps, dead in training, dead in evaluation)")
    fig = new_figure(1, 1, figsize=(6.4, 3.6))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.14, top=0.9)
    ax = fig.axes[0]
    for i, (lr, (steps, dead_train, dead_eval)) in enumerate(runs.items()):
        steps = _curve("steps", steps)
        ax.plot(steps, _curve("dead in training mode", dead_train, steps.size), color=colour(i),
                label=f"lr {lr:g}, training mode")
        ax.plot(steps, _curve("dead in evaluation mode", dead_eval, steps.size), color=colour(i), linestyle="--",
                label=f"lr {lr:g}, evaluation mode")
    ax.axhline(1.0, color=GREY, linestyle=":", linewidth=1.2, label="without BatchNorm (always)")
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("update")
    ax.set_ylabel("fraction of hidden units dead")
    ax.set_title("the dead network with BatchNorm between Dense and ReLU")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.06), fontsize=8)
    return fig


def dying_dashboard(run: ex.DyingRun) -> Figure:
    """One training run: dead fraction per layer, loss, and the alive map (units x updates).

    Parameters
    ----------
    run
        The output of :func:`vanishing.experiments.dying_run`.
    """
    return DyingView().show(run)


def _margins(values: np.ndarray) -> tuple[float, float]:
    """Limits around the finite ``values`` with matplotlib's default 5 % margins ((0, 1) if there are none)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    pad = 0.05 * (high - low) if high > low else max(0.05 * abs(low), 0.05)
    return low - pad, high + pad


class DyingView(View):
    """The figure of :func:`dying_dashboard`, kept by the ``dying_explorer`` widget and changed in place.

    The update axis always spans the run's planned updates, so that a run in progress (a live frame) grows
    from the left. The per-layer lines and the alive map's layer separators are made again for a new depth.
    """

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(2, 2, figsize=(9.0, 6.0))
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.09, top=0.9, wspace=0.25, hspace=0.45)
        top_left, top_right, bottom, spare = self.figure.axes
        spare.set_visible(False)
        pos_l, pos_r = bottom.get_position(), spare.get_position()
        bottom.set_position([pos_l.x0, pos_l.y0, pos_r.x1 - pos_l.x0, pos_l.height])
        self.depth = 0
        self.layers: list[Line2D] = []
        self.separators: list[Line2D] = []
        self.all_units = top_left.plot([], [], color="black", linewidth=2.0)[0]
        top_left.set_ylim(-0.03, 1.32)  # the room above 1 holds the legend, clear of the data
        top_left.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
        top_left.set_xlabel("update")
        top_left.set_ylabel("fraction dead")
        top_left.set_title("dead units (whole training set)")
        self.loss = top_right.plot([], [], color=OKABE_ITO["blue"], linewidth=1.0)[0]
        top_right.set_xlabel("update")
        self.alive = bottom.imshow(np.zeros((1, 1)), aspect="auto", cmap=_ALIVE_MAP, vmin=0, vmax=1,
                                   interpolation="nearest")
        bottom.grid(False)
        bottom.set_xlabel("update")
        bottom.set_title("alive map: blue = alive (non-zero output on some example), grey = dead")

    def _layout(self, depth: int, width: int) -> None:
        """The per-layer lines, their legend and the alive map's layer separators, for ``depth`` layers."""
        top_left, _, bottom, _ = self.figure.axes
        for artist in self.layers + self.separators:
            artist.remove()
        self.layers = [top_left.plot([], [], color=colour(layer + 1), linewidth=1.2, label=f"layer {layer + 1}")[0]
                       for layer in range(depth)]
        self.separators = [bottom.axhline(layer * width - 0.5, color="black", linewidth=0.8)
                           for layer in range(1, depth)]
        top_left.legend([*self.layers, self.all_units], [*(f"layer {k + 1}" for k in range(depth)), "all"],
                        loc="upper center", fontsize=8, ncol=depth + 1, handlelength=1.2, columnspacing=0.8)
        bottom.set_yticks([layer * width + (width - 1) / 2 for layer in range(depth)],
                          [f"layer {layer + 1}" for layer in range(depth)])
        self.depth = depth

    def update(self, run: ex.DyingRun) -> None:
        _check(run, ex.DyingRun, "dying_run")
        s = run.settings
        depth = run.dead_per_layer.shape[1]
        width = run.alive.shape[1] // depth if depth else 0
        if depth != self.depth:
            self._layout(depth, width)
        top_left, top_right, bottom, _ = self.figure.axes
        span = (-0.5, max(int(s["steps"]), int(run.steps[-1])) + 0.5)
        for layer, line in enumerate(self.layers):
            line.set_data(run.steps, run.dead_per_layer[:, layer])
        self.all_units.set_data(run.steps, run.dead)
        top_left.set_xlim(*span)
        self._loss(run, span)
        self.alive.set_data(run.alive.T)
        self.alive.set_extent((run.steps[0] - 0.5, run.steps[-1] + 0.5, run.alive.shape[1] - 0.5, -0.5))
        bottom.set_xlim(*span)
        bottom.set_ylim(run.alive.shape[1] - 0.5, -0.5)
        opt = {"sgd": "SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"}[s["optimizer"]]
        extra = f", L2 decay {s['weight_decay']:g}" if s["weight_decay"] else ""
        bn = ", BatchNorm before ReLU" if s["batchnorm"] else ""
        diverged = f" — diverged at update {run.diverged}" if run.diverged is not None else ""
        now = "at the end" if len(run.steps) and run.steps[-1] >= s["steps"] or run.diverged is not None \
            else f"at update {run.steps[-1]}"
        self.figure.suptitle(f"{opt}, lr {s['lr']:g}, initial bias {s['bias']:g}{extra}{bn}: "
                             f"{run.dead[0]:.0%} dead at the start, {run.dead[-1]:.0%} {now}{diverged}",
                             fontsize=10, y=0.98)

    def _loss(self, run: ex.DyingRun, span: tuple[float, float]) -> None:
        ax = self.figure.axes[1]
        self.loss.set_data(np.arange(1, len(run.loss) + 1), run.loss)
        ax.set_xlim(*span)
        scale = ""
        if len(run.loss) and log_decades(run.loss) > 1:
            log_y(ax, run.loss, numticks=6)
            scale = " (log scale)"
        else:
            ax.set_yscale("linear")
            ax.set_ylim(*_margins(np.asarray(run.loss, dtype=np.float64)))
        ax.set_ylabel(f"mini-batch loss{scale}")
        if run.diverged is not None:
            acc = "diverged"
        elif np.isfinite(run.accuracy):
            acc = f"training accuracy {run.accuracy:.0%}"
        else:
            acc = "training…"
        ax.set_title(f"loss ({acc})")
