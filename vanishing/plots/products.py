"""Notebook 01 (products of derivatives): its figures.

Products span hundreds of decades, so most panels plot :math:`\\log_{10}` of a value on a linear axis
with ticks labelled as powers of ten (:func:`label_log10_axis`); exact zeros have no place on such an
axis and are reported in the legend or as a bar of their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..experiments import products as ex
from ._style import GREY, OKABE_ITO, LegendSlot, View, colour, label_log10_axis, new_figure, power_of_ten, styled

__all__ = [
    "chain_gradient_plot", "derivative_products_plot", "exceedance_plot", "gradient_ratio_plot", "lost_updates_plot",
    "ProductView", "product_histogram", "stop_rule_plot", "underflow_plot", "uniform_products_plot",
    "zero_fraction_plot",
]

NOTEBOOK = "01"

LN10 = math.log(10.0)
DTYPE_COLOURS = {"float16": OKABE_ITO["vermillion"], "float32": OKABE_ITO["blue"], "float64": OKABE_ITO["green"]}


def approx(log10_value: float) -> str:
    """``"2.7·10⁻²²"`` for a log10 value (plain numbers between 0.001 and 1000)."""
    if not np.isfinite(log10_value):
        return "0" if log10_value < 0 else "inf"
    exponent = math.floor(log10_value)
    mantissa = 10 ** (log10_value - exponent)
    if mantissa >= 9.95:
        mantissa, exponent = 1.0, exponent + 1
    if -3 <= exponent <= 3:
        return f"{10 ** log10_value:.3g}"
    return f"{mantissa:.1f}·{power_of_ten(exponent)}"


def _check(result: object, kind: type, producer: str) -> None:
    if not isinstance(result, kind):
        raise TypeError(f"expected a {kind.__name__} from {producer}, got {type(result).__name__}")


def _array(name: str, value: object, ndim: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    return array


@styled
def uniform_products_plot(ln_p: np.ndarray) -> Figure:
    r"""Products of L numbers from U(0, 1): the measured spread of :math:`\ln P_L` against :math:`-L \pm \sqrt L`.

    ``ln_p`` is ``(max_depth, trials)``: row L - 1 holds :math:`\ln P_L` of every trial. Left:
    :math:`\log_{10} P_L` (5–95 % band, median, mean) with the theory. Right: the measured mean and
    standard deviation of :math:`\ln P_L` divided by their predictions.
    """
    ln_p = _array("ln_p", ln_p, 2)
    L = np.arange(1, ln_p.shape[0] + 1)
    q = np.quantile(ln_p, [0.05, 0.5, 0.95], axis=1) / LN10
    mean, std = ln_p.mean(axis=1), ln_p.std(axis=1, ddof=1)
    fig = new_figure(1, 2, figsize=(9.0, 3.6))
    left, right = fig.axes
    left.fill_between(L, q[0], q[2], color=OKABE_ITO["sky"], alpha=0.35, linewidth=0, label="5–95 % of trials")
    left.plot(L, q[1], color=OKABE_ITO["blue"], label="median")
    left.plot(L, mean / LN10, color=OKABE_ITO["orange"], linestyle="none", marker="o", markersize=3,
              markevery=max(1, len(L) // 20), label="measured mean of ln P")
    left.plot(L, -L / LN10, color="black", linestyle="--", linewidth=1.2, label="theory: e^(−L)")
    for sign in (-1, 1):
        left.plot(L, (-L + sign * np.sqrt(L)) / LN10, color="black", linestyle=":", linewidth=1.0,
                  label="theory: e^(−L ± √L)" if sign > 0 else None)
    label_log10_axis(left, "y")
    left.set_xlabel("number of factors L")
    left.set_ylabel("product P (log scale)")
    left.set_title(f"product of L numbers from U(0,1), {ln_p.shape[1]} trials")
    left.legend(loc="lower left")
    right.plot(L, -mean / L, color=OKABE_ITO["orange"], label="mean of ln P  /  (−L)")
    right.plot(L, std / np.sqrt(L), color=OKABE_ITO["blue"], label="std of ln P  /  √L")
    right.axhline(1.0, color="black", linestyle="--", linewidth=1.0, label="theory (= 1)")
    right.set_ylim(0.9, 1.1)
    right.set_xlabel("number of factors L")
    right.set_ylabel("measured / predicted")
    right.set_title("mean −L and spread √L, measured")
    right.legend(loc="upper right")
    return fig


@styled
def exceedance_plot(log10_products: np.ndarray, *, depth: int, threshold_log10: float) -> Figure:
    """Histogram of log10 of products of ``depth`` uniforms, split at the threshold, with median and mean."""
    x = _array("log10_products", log10_products, 1)
    t = float(threshold_log10)
    above = int(np.count_nonzero(x > t))
    mean_log10 = -depth * math.log10(2.0)  # E[P_L] = 2^-L
    fig = new_figure(1, 1, figsize=(6.4, 3.6))
    ax = fig.axes[0]
    width = 0.5  # bins of half a decade with an edge exactly at the threshold: no bar straddles it
    edges = t + width * np.arange(math.floor((x.min() - t) / width), math.ceil((max(x.max(), t + 1) - t) / width) + 1)
    counts, edges = np.histogram(x, bins=edges)
    frac = counts / x.size
    below = edges[:-1] < t
    ax.stairs(np.where(below, frac, 0), edges, fill=True, color=OKABE_ITO["sky"], alpha=0.8, label=f"P ≤ {approx(t)}")
    ax.stairs(np.where(below, 0, frac), edges, fill=True, color=OKABE_ITO["vermillion"], alpha=0.8,
              label=f"P > {approx(t)}: {above} of {x.size} ({above / x.size:.1%})")
    ax.axvline(t, color="black", linestyle="--", linewidth=1.2, label=f"threshold {approx(t)}")
    median = float(np.median(x))
    ax.axvline(median, color=OKABE_ITO["blue"], linewidth=1.5, label=f"median ≈ {approx(median)}")
    ax.axvline(mean_log10, color=OKABE_ITO["green"], linestyle="-.", linewidth=1.5,
               label=f"mean 2^(−{depth}) ≈ {approx(mean_log10)}")
    label_log10_axis(ax, "x")
    ax.set_xlabel(f"product of {depth} numbers from U(0,1) (log scale)")
    ax.set_ylabel(f"fraction of {x.size} trials")
    ax.set_title(f"how often does the product of {depth} uniforms exceed {approx(t)}?")
    ax.set_ylim(0, 1.45 * frac.max())
    ax.legend(loc="upper left")
    return fig


@styled
def derivative_products_plot(products: Mapping[tuple[str, float], np.ndarray]) -> Figure:
    r"""One panel per activation: the product of L derivatives at z ~ N(0, s²), median and 10–90 % band per s.

    ``products[(kind, s)]`` is ``(max_depth, trials)``: :math:`\log_{10}` of the product of the first L
    factors in row L - 1. The dashed line is the largest possible product (:math:`4^{-L}` for sigmoid,
    1 for tanh).
    """
    if not products:
        raise ValueError("products is empty; pass (kind, spread) -> log10 products")
    kinds = list(dict.fromkeys(kind for kind, _ in products))
    fig = new_figure(1, len(kinds), figsize=(4.6 * len(kinds), 3.6), sharey=True)
    for ax, kind in zip(fig.axes, kinds, strict=True):
        spreads = [s for k, s in products if k == kind]
        for i, s in enumerate(spreads):
            log10_p = _array(f"products[{kind!r}, {s!r}]", products[kind, s], 2)
            L = np.arange(1, log10_p.shape[0] + 1)
            q = np.quantile(log10_p, [0.1, 0.5, 0.9], axis=1)
            ax.fill_between(L, q[0], q[2], color=colour(i), alpha=0.18, linewidth=0)
            ax.plot(L, q[1], color=colour(i), label=f"z ~ N(0, {s:g}²)")
        peak, name = (0.25, "σ′") if kind == "sigmoid" else (1.0, "tanh′")
        bound = "4^(−L): every z = 0" if kind == "sigmoid" else "1: every z = 0"
        ax.plot(L, L * math.log10(peak), color="black", linestyle="--", linewidth=1.2, label=f"largest, {bound}")
        label_log10_axis(ax, "y")
        ax.set_xlabel("number of factors L")
        ax.set_title(f"product of L values of {name}(z)")
        ax.legend(loc="lower left", title="median, 10–90 % band")
    fig.axes[0].set_ylabel("product (log scale)")
    return fig


@styled
def chain_gradient_plot(chains: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    r"""|dF/dw1| of single-neuron chains against their length: engine backward (markers), closed form (line).

    ``chains[label]`` is ``(engine, closed_form)`` from :func:`vanishing.experiments.chain_gradients`.
    """
    if not chains:
        raise ValueError("chains is empty; pass label -> (engine, closed_form)")
    fig = new_figure(1, 1, figsize=(9.0, 3.8))
    ax = fig.axes[0]
    for i, (label, (engine, closed)) in enumerate(chains.items()):
        depth = np.arange(1, len(engine) + 1)
        with np.errstate(divide="ignore"):
            ax.plot(depth, np.log10(np.abs(closed)), color=colour(i), label=label)
            ax.plot(depth, np.log10(np.abs(engine)), color=colour(i), linestyle="none", marker="o", markersize=3.5,
                    markerfacecolor="none")
    ax.axhline(0.0, color=GREY, linestyle=":", linewidth=1.0)
    ax.plot([], [], color="black", label="closed form ∏ wᵢ f′(wᵢ oᵢ₋₁)")
    ax.plot([], [], color="black", linestyle="none", marker="o", markersize=3.5, markerfacecolor="none",
            label="engine backward pass")
    label_log10_axis(ax, "y")
    ax.set_xlabel("chain length L")
    ax.set_ylabel("|dF/dw₁|, F = last output (log scale)")
    ax.set_title("single-neuron chain: o₁ = w₁, oᵢ = f(wᵢ·oᵢ₋₁)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.subplots_adjust(left=0.09, right=0.64)
    return fig


@styled
def underflow_plot(stored: Mapping[str, np.ndarray], factor: float) -> Figure:
    """One panel per float type: ``factor``^L as stored after repeated multiplication, until it is 0.

    ``stored[dtype]`` holds the products for L = 1, 2, ... in that dtype (exact zeros at the end).
    Each panel has its own depth axis, so that float16's few factors are as visible as float64's many;
    the dashed and dotted lines are the type's smallest normal and smallest subnormal numbers.
    """
    if not stored:
        raise ValueError("stored is empty; pass dtype name -> stored products")
    fig = new_figure(1, len(stored), figsize=(3.3 * len(stored), 3.5))
    for ax, (name, values) in zip(fig.axes, stored.items(), strict=True):
        values = np.asarray(values)
        info = np.finfo(values.dtype)
        zero = np.flatnonzero(values == 0)
        end = int(zero[0]) + 1 if zero.size else values.size  # first L with an exact 0
        L = np.arange(1, end + 1)
        kept = values[: end - 1] if zero.size else values
        c = DTYPE_COLOURS.get(name, GREY)
        ax.plot(L[: kept.size], np.log10(kept.astype(np.float64)), color=c, linewidth=1.5,
                marker="o" if kept.size <= 100 else None, markersize=2.5)
        normal, subnormal = math.log10(float(info.smallest_normal)), math.log10(float(info.smallest_subnormal))
        ax.axhline(normal, color="black", linestyle="--", linewidth=1.0, label="smallest normal")
        ax.axhline(subnormal, color="black", linestyle=":", linewidth=1.2, label="smallest subnormal")
        if zero.size:
            ax.plot([end], [subnormal], marker="x", color="black", markersize=8, markeredgewidth=2, linestyle="none",
                    label=f"exactly 0 at L = {end}")
        label_log10_axis(ax, "y", max_ticks=5)
        ax.set_xlim(0, 1.08 * end)
        ax.set_xlabel("number of factors L")
        ax.set_title(f"{name}: {factor:g}^L as stored", color=c)
        ax.legend(loc="upper right", fontsize=8)
    fig.axes[0].set_ylabel("product (log scale)")
    fig.subplots_adjust(wspace=0.35)
    return fig


@styled
def zero_fraction_plot(measured: Mapping[str, np.ndarray], predicted: Mapping[str, np.ndarray],
                       trials: int) -> Figure:
    """Fraction of products of L uniforms that are exactly 0, per float type: measured and predicted."""
    fig = new_figure(1, 1, figsize=(6.4, 3.4))
    ax = fig.axes[0]
    for name, fractions in measured.items():
        L = np.arange(1, len(fractions) + 1)
        ax.plot(L, fractions, color=DTYPE_COLOURS.get(name, GREY), linewidth=2.2, label=f"{name}, measured")
        ax.plot(L, predicted[name], color="black", linestyle="--", linewidth=1.0)
    ax.plot([], [], color="black", linestyle="--", linewidth=1.0, label="predicted: exact product < s/2")
    ax.set_xscale("log")
    ax.set_xlabel("number of factors L (log scale)")
    ax.set_ylabel(f"fraction exactly 0 ({trials} trials)")
    ax.set_title("products of U(0,1) numbers that are exactly 0")
    ax.legend(loc="upper left")
    return fig


@styled
def lost_updates_plot(before: Sequence[np.ndarray], steps: Sequence[np.ndarray], unchanged: Sequence[np.ndarray], *,
                      lr: float) -> Figure:
    r"""One SGD step on a deep network: which weights did not change at all.

    ``before[l]``, ``steps[l]`` (:math:`\eta g`, in the network's dtype) and ``unchanged[l]`` (bool) are the
    weights of Dense layer l. Left: :math:`|\eta g|` against :math:`|w|` for the first and the last layer,
    with the line of half an ulp of w. Right: per layer, the fraction of weights unchanged and the
    fraction the half-ulp rule predicts.
    """
    dtype = np.asarray(before[0]).dtype
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    left, right = fig.axes
    for index, c, label in ((0, OKABE_ITO["vermillion"], "first layer"), (-1, OKABE_ITO["blue"], "last layer")):
        w, step = (np.abs(np.asarray(a, dtype=np.float64)).ravel() for a in (before[index], steps[index]))
        keep = (w > 0) & (step > 0)
        left.scatter(np.log10(w[keep]), np.log10(step[keep]), s=6, color=c, alpha=0.6, linewidths=0, label=label)
    ws = np.abs(np.concatenate([np.ravel(before[0]), np.ravel(before[-1])]).astype(np.float64))
    ws = ws[ws > 0]
    grid = np.logspace(np.log10(ws.min()), np.log10(ws.max()), 400).astype(dtype)
    left.plot(np.log10(grid.astype(np.float64)), np.log10(np.spacing(grid).astype(np.float64) / 2), color="black",
              linewidth=1.4, label=f"½ ulp of w ({dtype.name}): below = lost")
    label_log10_axis(left, "x", max_ticks=5)
    label_log10_axis(left, "y")
    left.set_xlabel("|w| (log scale)")
    left.set_ylabel("|lr · g| (log scale)")
    left.set_title(f"one SGD step, lr = {lr:g}, {dtype.name}")
    left.legend(loc="center right", markerscale=2.5)
    layers = np.arange(1, len(before) + 1)
    predicted = [np.mean(np.abs(np.asarray(s, np.float64)) < np.spacing(np.abs(w)).astype(np.float64) / 2)
                 for s, w in zip(steps, before, strict=True)]
    right.bar(layers, [np.mean(u) for u in unchanged], color=OKABE_ITO["vermillion"], label="unchanged after the step")
    right.plot(layers, predicted, color="black", marker="_", markersize=14, linestyle="none", markeredgewidth=2,
               label="predicted: |lr·g| < ½ ulp(w)")
    right.set_ylim(0, 1.15)
    right.set_xticks(layers)
    right.set_xlabel("Dense layer (1 = next to the input)")
    right.set_ylabel("fraction of weights unchanged")
    right.set_title(f"{len(before)} Dense layers")
    right.legend(loc="upper right")
    return fig


@styled
def stop_rule_plot(ramp: tuple[np.ndarray, int | None], saddle: Mapping[str, tuple[np.ndarray, int | None]], *,
                   c: float, tol: float) -> Figure:
    r"""Gradient descent with the stop rule "the step is smaller than tol".

    ``ramp`` and each ``saddle[label]`` are ``(path, stopped_at)``: the points visited, ``(T + 1, d)``, and the
    step at which the rule fired (None if it never did). Left: :math:`f(x) = \max(0, cx)` with the start and
    the last point. Right: the paths on :math:`f(x, y) = x^2 - y^2`.
    """
    path, stopped = ramp
    path = _array("ramp path", path, 2)
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    left, right = fig.axes
    x0, x1 = float(path[0, 0]), float(path[-1, 0])
    xs = np.linspace(-0.3 * abs(x0) - 1, 1.2 * abs(x0) + 1, 200)
    f = np.maximum(0.0, c * xs)
    left.plot(xs, f, color=OKABE_ITO["blue"], label=f"f(x) = max(0, c·x), c = {c:g}")
    left.axvspan(xs[0], 0, color=OKABE_ITO["green"], alpha=0.15, linewidth=0, label="minimum f = 0: every x ≤ 0")
    left.plot([x0], [max(0.0, c * x0)], marker="o", color="black", linestyle="none",
              label=f"start x = {x0:g}, f = {max(0.0, c * x0):g}")
    when = f"stopped at step {stopped}" if stopped else f"after {len(path) - 1} steps"
    left.plot([x1], [max(0.0, c * x1)], marker="x", markersize=9, markeredgewidth=2, color=OKABE_ITO["vermillion"],
              linestyle="none", label=f"{when}: moved {abs(x1 - x0):.2g}")
    left.set_xlabel("x")
    left.set_ylabel("f(x)")
    left.set_title(f"tiny gradient far from the minimum (tol = {tol:g})")
    left.set_ylim(-0.04 * f.max(), 1.6 * f.max())  # room above the line for the legend
    left.legend(loc="upper left", fontsize=8)

    grid = np.linspace(-1.2, 1.2, 121)
    gx, gy = np.meshgrid(grid, grid)
    right.contour(gx, gy, gx ** 2 - gy ** 2, levels=np.linspace(-1.2, 1.2, 13), colors=GREY, linewidths=0.6)
    runs = list(saddle.items())
    for i, (label, (run, run_stopped)) in reversed(list(enumerate(runs))):  # the first run on top, and wider
        run = _array(f"saddle[{label!r}]", run, 2)
        inside = np.all(np.abs(run) <= 1.2, axis=1)
        end = f"stopped at step {run_stopped}" if run_stopped else \
            f"left the saddle, f = {run[-1, 0] ** 2 - run[-1, 1] ** 2:.3g}"
        right.plot(run[inside, 0], run[inside, 1], color=colour(i + 1), marker="o", markersize=4.5 - 2 * min(i, 1),
                   linewidth=2.6 - 1.4 * min(i, 1), label=f"{label}: {end}")
    right.plot([0], [0], marker="+", color="black", markersize=14, markeredgewidth=2.2, linestyle="none",
               label="saddle (0, 0): gradient 0", zorder=5)
    handles, labels = right.get_legend_handles_labels()
    order = [len(labels) - 1, *reversed(range(len(labels) - 1))]  # the saddle first, then the runs in order
    right.set_xlim(-1.2, 1.2)
    right.set_ylim(-1.2, 1.2)
    right.set_aspect("equal")
    right.set_xlabel("x")
    right.set_ylabel("y")
    right.set_title("f(x, y) = x² − y²: gradient descent paths")
    right.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left", fontsize=8)
    return fig


@styled
def gradient_ratio_plot(layer_norms: Mapping[int, np.ndarray], show_depth: int | None = None) -> Figure:
    """Left: the per-layer weight-gradient norms of one network. Right: first/last ratio against depth.

    ``layer_norms[depth]`` is ``(depth + 1,)``: every Dense layer's ‖dW‖ (first layer first) of the network
    with ``depth`` hidden layers.
    """
    if not layer_norms:
        raise ValueError("layer_norms is empty; pass depth -> per-layer gradient norms")
    depths = np.array(sorted(layer_norms))
    show = int(depths[-1]) if show_depth is None else int(show_depth)
    if show not in layer_norms:
        raise ValueError(f"show_depth={show_depth!r} is not among the depths; allowed: {depths.tolist()}")
    ratio = np.log10([layer_norms[d][0] / layer_norms[d][-1] for d in depths])
    fig = new_figure(1, 2, figsize=(9.6, 3.6))
    left, right = fig.axes
    norms = np.asarray(layer_norms[show])
    layers = np.arange(1, norms.shape[0] + 1)
    left.plot(layers, np.log10(norms), color=OKABE_ITO["blue"], marker="o")
    label_log10_axis(left, "y")
    left.set_xticks(layers)
    left.set_xlabel("Dense layer (1 = next to the input)")
    left.set_ylabel("‖dW‖, median over steps (log scale)")
    left.set_title(f"sigmoid MLP with {show} hidden layers, during training")
    right.plot(depths, ratio, color=OKABE_ITO["vermillion"], marker="o", label="‖dW first‖ / ‖dW last‖")
    # a guide with the slope of one factor 1/4 per extra layer, through the shallowest network's point
    right.plot(depths, ratio[0] + (depths - depths[0]) * np.log10(0.25), color="black", linestyle="--",
               linewidth=1.0, label="slope: × 1/4 per layer")
    right.axhline(0.0, color=GREY, linestyle=":", linewidth=1.0, label="equal norms")
    label_log10_axis(right, "y")
    right.set_xticks(depths)
    right.set_xlabel("number of hidden layers")
    right.set_ylabel("ratio (log scale)")
    right.set_title("first-to-last gradient ratio by depth")
    right.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9))
    return fig


def product_histogram(result: ex.ProductDistribution) -> Figure:
    """The widget's figure: histogram of log10 of the stored products, with the exact zeros as a bar of their own.

    log10(0) = -inf has no place on the axis, so the zeros get a bar left of a break
    in the axis, labelled 0. Vertical lines mark the smallest normal and the
    smallest subnormal number of the dtype, the median of the exact (unrounded)
    products, and for sigmoid factors the largest possible product :math:`4^{-L}`.
    """
    return ProductView().show(result)


class ProductView(View):
    """The figure of :func:`product_histogram`, kept by the ``product_underflow`` widget and changed in place."""

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 1, figsize=(6.8, 3.3))
        ax = self.figure.axes[0]
        # no legend entry for the bars: they are the products, and the zeros' share is written on their own bar
        self.bars = ax.stairs([0.0], [0.0, 1.0], fill=True, color=OKABE_ITO["blue"], alpha=0.8)
        self.zeros = ax.bar([0.0], [0.0], color=OKABE_ITO["vermillion"])[0]
        self.zero_share = ax.annotate("", (0.0, 0.0), textcoords="offset points", xytext=(0, 3), ha="center",
                                      va="bottom", color=OKABE_ITO["vermillion"], fontsize=9)
        self.normal = ax.axvline(0.0, color="black", linestyle="--", linewidth=1.2)
        self.subnormal = ax.axvline(0.0, color="black", linestyle=":", linewidth=1.5)
        self.median = ax.axvline(0.0, color=OKABE_ITO["orange"], linewidth=1.8)
        self.bound = ax.axvline(0.0, color=OKABE_ITO["green"], linestyle="-.", linewidth=1.4)
        # the break: the axis between the zeros and the smallest plotted decade is not to scale
        self.gap = ax.axvspan(0.0, 1.0, color="white", zorder=3)
        self.cuts = [ax.plot([0.0, 1.0], [-0.02, 0.02], transform=ax.get_xaxis_transform(), color="black",
                             linewidth=1.0, clip_on=False, zorder=4)[0] for _ in range(2)]
        ax.set_xlabel("stored product, log scale (0: left of the break)")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
        self.legend = LegendSlot(ax)

    def update(self, result: ex.ProductDistribution) -> None:
        _check(result, ex.ProductDistribution, "product_distribution")
        ax = self.figure.axes[0]
        normal, subnormal = math.log10(result.limits.smallest_normal), math.log10(result.limits.smallest_subnormal)
        median = result.exact_log10_quantiles[1]
        finite = result.log10_nonzero
        marks = [normal, subnormal, 0.0, *([median] if np.isfinite(median) else []),
                 *([result.bound_log10] if result.factor == "sigmoid" else []),
                 *([float(finite.min()), float(finite.max())] if finite.size else [])]
        lo, hi = min(marks), max(marks)
        span = hi - lo
        pad = max(1.0, 0.04 * span)
        zero_x = lo - pad - 0.1 * span - 1.0  # the zeros' bar sits left of the break
        crowd, top = self._bars(result, span + 2 * pad)
        self.zeros.set_x(zero_x - (0.03 * span + 0.5))
        self.zeros.set_width(0.06 * span + 1.0)
        self.zeros.set_height(result.zero_fraction)
        self.zero_share.xy = (zero_x, result.zero_fraction)
        self.zero_share.set_text(f"{result.zero_fraction:.1%}")
        ax.set_xlim(zero_x - 0.05 * span - 1.0, hi + pad)
        ax.set_ylim(0, 1.45 * top + 1e-9)
        self._break(lo - pad - 0.05 * span - 0.5, span)
        # ticks: whole decades over the data, plus "0" under the zeros' bar
        width = hi - lo + 2 * pad
        step = next(k for k in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if width / k <= 6.5)
        decades = np.arange(np.ceil((lo - pad) / step) * step, hi + pad + 1e-9, step)
        ax.set_xticks([zero_x, *decades], ["0", *(power_of_ten(d) for d in decades)])
        # short texts: every glyph costs drawing time, and this figure is redrawn at every widget change
        what = {"uniform": "U(0,1)", "sigmoid": f"σ′(z), z ~ N(0, {result.spread:g}²)",
                "tanh": f"tanh′(z), z ~ N(0, {result.spread:g}²)", "relu": f"ReLU′, P(active) = {result.p_active:g}"}
        ax.set_ylabel(f"fraction of {result.trials}")
        ax.set_title(f"{result.depth} × {what[result.factor]}, in {result.dtype}")
        entries = self._lines(result, normal, subnormal, median)
        crowd += [line.get_xdata()[0] for line, _ in entries]
        if result.zero_fraction > 0.4 * top:
            crowd += [zero_x] * 3
        self.legend.show(entries, loc=_emptiest_corner(ax, crowd))

    def _bars(self, result: ex.ProductDistribution, width: float) -> tuple[list[float], float]:
        """The histogram of the non-zero products; returns the left edges of its tall bins and the tallest bar."""
        finite = result.log10_nonzero
        top = result.zero_fraction
        self.bars.set_visible(finite.size > 0)
        if not finite.size:
            return [], top
        narrow = width / 80  # a bar at least this wide stays visible (ReLU: every product is 1)
        if np.ptp(finite) > narrow:
            bins = np.linspace(float(finite.min()), float(finite.max()), 41)
        else:
            centre = 0.5 * (float(finite.min()) + float(finite.max()))
            bins = np.array([centre - narrow / 2, centre + narrow / 2])
        counts, edges = np.histogram(finite, bins=bins)
        self.bars.set_data(counts / result.trials, edges)
        top = max(top, float(counts.max()) / result.trials)
        return list(edges[:-1][counts > 0.4 * top * result.trials]), top

    def _lines(self, result: ex.ProductDistribution, normal: float, subnormal: float,
               median: float) -> list[tuple[Any, str]]:
        """Place the marked lines; returns the visible ones with their legend labels."""
        entries = [(self.normal, normal, f"smallest normal {approx(normal)}"),
                   (self.subnormal, subnormal, f"smallest subnormal {approx(subnormal)}")]
        if np.isfinite(median):
            entries.append((self.median, median, f"exact median {approx(median)}"))
        if result.factor == "sigmoid":
            entries.append((self.bound, result.bound_log10, f"4^(−L) = {approx(result.bound_log10)}"))
        shown = {line for line, _, _ in entries}
        for line in (self.normal, self.subnormal, self.median, self.bound):
            line.set_visible(line in shown)
        for line, x, _ in entries:
            line.set_xdata([x, x])
        return [(line, label) for line, _, label in entries]

    def _break(self, x: float, span: float) -> None:
        """The white gap and its two slanted cuts at ``x``: the axis left of it is not to scale."""
        half = 0.01 * span + 0.2
        self.gap.set_x(x - half)
        self.gap.set_width(2 * half)
        for cut, dx in zip(self.cuts, (-half, half), strict=True):
            cut.set_xdata([x + dx - 0.008 * span - 0.15, x + dx + 0.008 * span + 0.15])


def _emptiest_corner(ax: Axes, crowd: list[float]) -> str:
    """Where the legend hides least: the upper place over the fewest of the ``crowd``'s x positions.

    Counts the marked lines, the tall histogram bins and a tall bar of zeros under each candidate place (in
    axes fractions) and takes the emptiest, the right one on a tie.
    """
    x0, x1 = ax.get_xlim()
    fractions = [(m - x0) / (x1 - x0) for m in crowd]
    places = {"upper right": (0.52, 1.0), "upper left": (0.0, 0.48), "upper center": (0.26, 0.74)}
    return min(places, key=lambda k: (sum(places[k][0] <= f <= places[k][1] for f in fractions),
                                      k != "upper right"))
