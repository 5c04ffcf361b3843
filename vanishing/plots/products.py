"""Notebook 01 (products of derivatives): figures for :mod:`vanishing.experiments.products`.

Products span hundreds of decades, so most panels plot :math:`\\log_{10}` of a
value on a linear axis with ticks labelled as powers of ten
(:func:`label_log10_axis`); exact zeros have no place on such an axis and are
reported in the legend or as a separate bar.
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


@styled
def uniform_products_plot(result: ex.UniformProducts) -> Figure:
    r"""ln of a product of L uniforms against L: the measured spread and the theory :math:`-L \pm \sqrt L`.

    Left: :math:`\log_{10} P_L` (5–95 % band, median, measured mean) with
    :math:`(-L \pm \sqrt L)/\ln 10`. Right: the measured mean and standard deviation of
    :math:`\ln P_L` divided by their predictions (1 = agreement).
    """
    _check(result, ex.UniformProducts, "uniform_log_products")
    fig = new_figure(1, 2, figsize=(9.0, 3.6))
    left, right = fig.axes
    L = result.depths
    q = result.quantiles_ln / LN10
    left.fill_between(L, q[0], q[2], color=OKABE_ITO["sky"], alpha=0.35, linewidth=0,
                      label="5–95 % of trials")
    left.plot(L, q[1], color=OKABE_ITO["blue"], label="median")
    left.plot(L, result.mean_ln / LN10, color=OKABE_ITO["orange"], linestyle="none", marker="o", markersize=3,
              markevery=max(1, len(L) // 20), label="measured mean of ln P")
    left.plot(L, result.theory_mean / LN10, color="black", linestyle="--", linewidth=1.2, label="theory: e^(−L)")
    for sign in (-1, 1):
        left.plot(L, (result.theory_mean + sign * result.theory_std) / LN10, color="black", linestyle=":",
                  linewidth=1.0, label="theory: e^(−L ± √L)" if sign > 0 else None)
    label_log10_axis(left, "y")
    left.set_xlabel("number of factors L")
    left.set_ylabel("product P (log scale)")
    left.set_title(f"product of L numbers from U(0,1), {result.trials} trials")
    left.legend(loc="lower left")

    right.plot(L, -result.mean_ln / L, color=OKABE_ITO["orange"], label="mean of ln P  /  (−L)")
    right.plot(L, result.std_ln / result.theory_std, color=OKABE_ITO["blue"], label="std of ln P  /  √L")
    right.axhline(1.0, color="black", linestyle="--", linewidth=1.0, label="theory (= 1)")
    right.set_ylim(0.9, 1.1)
    right.set_xlabel("number of factors L")
    right.set_ylabel("measured / predicted")
    right.set_title("mean −L and spread √L, measured")
    right.legend(loc="upper right")
    return fig


@styled
def exceedance_plot(result: ex.ProductExceedance) -> Figure:
    """Histogram of log10 of the product of L uniforms, with the threshold and the fraction above it."""
    _check(result, ex.ProductExceedance, "product_exceedance")
    fig = new_figure(1, 1, figsize=(6.4, 3.6))
    ax = fig.axes[0]
    x = result.log10_products
    t = math.log10(result.threshold)
    # bins of 1/2 decade with an edge exactly at the threshold, so that no bar straddles it
    width = 0.5
    k_lo = math.floor((x.min() - t) / width)
    k_hi = math.ceil((max(x.max(), t + 1) - t) / width)
    edges = t + width * np.arange(k_lo, k_hi + 1)
    counts, edges = np.histogram(x, bins=edges)
    frac = counts / result.trials
    below = edges[:-1] < t
    ax.stairs(np.where(below, frac, 0), edges, fill=True, color=OKABE_ITO["sky"], alpha=0.8,
              label=f"P ≤ {approx(t)}")
    ax.stairs(np.where(below, 0, frac), edges, fill=True, color=OKABE_ITO["vermillion"], alpha=0.8,
              label=f"P > {approx(t)}: {result.count_above} of {result.trials} ({result.fraction_above:.1%})")
    ax.axvline(t, color="black", linestyle="--", linewidth=1.2, label=f"threshold {approx(t)}")
    ax.axvline(result.median_log10, color=OKABE_ITO["blue"], linewidth=1.5,
               label=f"median ≈ {approx(result.median_log10)}")
    ax.axvline(math.log10(result.mean_product), color=OKABE_ITO["green"], linestyle="-.", linewidth=1.5,
               label=f"mean 2^(−{result.depth}) ≈ {approx(math.log10(result.mean_product))}")
    label_log10_axis(ax, "x")
    ax.set_xlabel(f"product of {result.depth} numbers from U(0,1) (log scale)")
    ax.set_ylabel(f"fraction of {result.trials} trials")
    ax.set_title(f"how often does the product of {result.depth} uniforms exceed {approx(t)}?")
    ax.set_ylim(0, 1.45 * frac.max())
    ax.legend(loc="upper left")
    return fig


@styled
def derivative_products_plot(results: Sequence[ex.DerivativeProducts]) -> Figure:
    r"""One panel per activation: the product of L derivatives at z ~ N(0, s²), median and 10–90 % band per s.

    The dashed line is the largest possible product (:math:`4^{-L}` for sigmoid, 1 for tanh).
    """
    results = list(results)
    if not results:
        raise ValueError("results is empty; pass at least one DerivativeProducts")
    for r in results:
        _check(r, ex.DerivativeProducts, "derivative_log_products")
    fig = new_figure(1, len(results), figsize=(4.6 * len(results), 3.6), sharey=True)
    for ax, r in zip(fig.axes, results, strict=True):
        for i, s in enumerate(r.spreads):
            q = r.quantiles_log10[i]
            c = colour(i)
            ax.fill_between(r.depths, q[0], q[2], color=c, alpha=0.18, linewidth=0)
            ax.plot(r.depths, q[1], color=c, label=f"z ~ N(0, {s:g}²)")
        name = "σ′" if r.kind == "sigmoid" else "tanh′"
        bound = "4^(−L): every z = 0" if r.kind == "sigmoid" else "1: every z = 0"
        ax.plot(r.depths, r.bound_log10, color="black", linestyle="--", linewidth=1.2, label=f"largest, {bound}")
        label_log10_axis(ax, "y")
        ax.set_xlabel("number of factors L")
        ax.set_title(f"product of L values of {name}(z)")
        ax.legend(loc="lower left", title="median, 10–90 % band")
    fig.axes[0].set_ylabel("product (log scale)")
    return fig


@styled
def chain_gradient_plot(chains: Mapping[str, Sequence[ex.ChainGradient]]) -> Figure:
    r"""|dF/dw1| of single-neuron chains against depth: engine backward (markers) and closed form (line)."""
    if not chains:
        raise ValueError("chains is empty; pass label -> list of ChainGradient")
    fig = new_figure(1, 1, figsize=(6.4, 3.8))
    ax = fig.axes[0]
    for i, (label, runs) in enumerate(chains.items()):
        for r in runs:
            _check(r, ex.ChainGradient, "chain_gradients")
        depth = np.array([r.depth for r in runs])
        with np.errstate(divide="ignore"):
            closed = np.log10(np.abs([r.closed_form for r in runs]))
            engine = np.log10(np.abs([r.engine for r in runs]))
        c = colour(i)
        ax.plot(depth, closed, color=c, label=label)
        ax.plot(depth, engine, color=c, linestyle="none", marker="o", markersize=3.5, markerfacecolor="none")
    ax.axhline(0.0, color=GREY, linestyle=":", linewidth=1.0)
    ax.plot([], [], color="black", label="closed form ∏ wᵢ f′(wᵢ oᵢ₋₁)")
    ax.plot([], [], color="black", linestyle="none", marker="o", markersize=3.5, markerfacecolor="none",
            label="engine backward pass")
    label_log10_axis(ax, "y")
    ax.set_xlabel("chain length L")
    ax.set_ylabel("|dF/dw₁|, F = last output (log scale)")
    ax.set_title("single-neuron chain: o₁ = w₁, oᵢ = f(wᵢ·oᵢ₋₁)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.set_size_inches(9.0, 3.8)
    fig.subplots_adjust(left=0.09, right=0.64)
    return fig


@styled
def underflow_plot(constant: Mapping[str, np.ndarray], depths: Sequence[ex.UnderflowDepth],
                   zeros: ex.ZeroFractions) -> Figure:
    """Left: c^L in each float type until it is 0. Right: fraction of products of uniforms that are exactly 0.

    Parameters
    ----------
    constant
        dtype name -> c^L by repeated multiplication (:func:`constant_factor_products`).
    depths
        The analytic and measured depths (:func:`underflow_depths`), for the markers.
    zeros
        :func:`zero_fraction_by_depth`.
    """
    fig = new_figure(1, 2, figsize=(9.6, 3.9))
    left, right = fig.axes
    by_dtype = {d.dtype: d for d in depths}
    factor = next(iter(by_dtype.values())).factor if by_dtype else float("nan")
    widths = {"float64": 5.0, "float32": 3.0, "float16": 1.6}
    for name, values in sorted(constant.items(), key=lambda item: -widths.get(item[0], 1.0)):
        c = DTYPE_COLOURS.get(name, GREY)
        L = np.arange(1, values.shape[0] + 1)
        nonzero = values != 0
        d = by_dtype.get(name)
        ends = f": 0 at L = {d.measured_zero_depth}" if d is not None and d.measured_zero_depth > 0 else ""
        left.plot(L[nonzero], np.log10(values[nonzero].astype(np.float64)), color=c,
                  linewidth=widths.get(name, 1.5), solid_capstyle="butt", label=f"{name}{ends}")
        subnormal = math.log10(float_limits_of(name))
        left.axhline(subnormal, color=c, linestyle=":", linewidth=1.2)
        d = by_dtype.get(name)
        if d is not None and d.measured_zero_depth > 0:
            y = float(np.log10(values[d.measured_zero_depth - 2].astype(np.float64)))
            left.plot([d.measured_zero_depth], [y], marker="x", color="black", markersize=7, markeredgewidth=1.8,
                      linestyle="none")
    left.plot([], [], color="black", marker="x", linestyle="none", label="first exact 0")
    label_log10_axis(left, "y")
    left.set_xlabel("number of factors L")
    left.set_ylabel("product as stored (log scale)")
    left.set_title(f"{factor:g}^L by repeated multiplication\n(dotted: each type's smallest subnormal)", fontsize=10)
    handles, labels = left.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: (not labels[i].startswith("float"), labels[i]))
    left.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper right")

    for name, measured in zeros.measured.items():
        c = DTYPE_COLOURS.get(name, GREY)
        right.plot(zeros.depths, measured, color=c, linewidth=3.0, alpha=0.7, label=name)
        right.plot(zeros.depths, zeros.predicted[name], color="black", linestyle="--", linewidth=1.0)
    right.plot([], [], color="black", linestyle="--", linewidth=1.0, label="predicted")
    right.set_xscale("log")
    right.set_xlabel("number of factors L (log scale)")
    right.set_ylabel(f"fraction exactly 0 ({zeros.trials} trials)")
    right.set_title("products of U(0,1) numbers that are exactly 0")
    right.legend(loc="center left", title="measured")
    return fig


def float_limits_of(dtype: str) -> float:
    """The smallest subnormal number of a dtype name."""
    return float(np.finfo(np.dtype(dtype)).smallest_subnormal)


@styled
def lost_updates_plot(result: ex.LostUpdates) -> Figure:
    r"""Left: step size :math:`|\eta g|` against :math:`|w|` for the first and last layer, with half an ulp.

    Right: per Dense layer, the fraction of weights that one SGD step left unchanged.
    """
    _check(result, ex.LostUpdates, "lost_updates")
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    left, right = fig.axes
    first, last = OKABE_ITO["vermillion"], OKABE_ITO["blue"]
    for w, step, c, label in ((result.first_abs_w, result.first_abs_step, first, "first layer"),
                              (result.last_abs_w, result.last_abs_step, last, "last layer")):
        keep = (w > 0) & (step > 0)
        left.scatter(np.log10(w[keep]), np.log10(step[keep]), s=6, color=c, alpha=0.6, linewidths=0, label=label)
    ws = np.concatenate([result.first_abs_w, result.last_abs_w])
    ws = ws[ws > 0]
    grid = np.logspace(np.log10(ws.min()), np.log10(ws.max()), 400).astype(result.dtype)
    half_ulp = np.spacing(grid).astype(np.float64) / 2
    left.plot(np.log10(grid.astype(np.float64)), np.log10(half_ulp), color="black", linewidth=1.4,
              label=f"½ ulp of w ({result.dtype}): below = lost")
    label_log10_axis(left, "x", max_ticks=5)
    label_log10_axis(left, "y")
    left.set_xlabel("|w| (log scale)")
    left.set_ylabel("|lr · g| (log scale)")
    left.set_title(f"one SGD step, lr = {result.lr:g}, {result.dtype}")
    left.legend(loc="center right", markerscale=2.5)

    n = result.unchanged_fraction.shape[0]
    layers = np.arange(1, n + 1)
    right.bar(layers, result.unchanged_fraction, color=OKABE_ITO["vermillion"], label="unchanged after the step")
    right.plot(layers, result.predicted_fraction, color="black", marker="_", markersize=14, linestyle="none",
               markeredgewidth=2, label="predicted: |lr·g| < ½ ulp(w)")
    right.set_ylim(0, 1.15)
    right.set_xticks(layers)
    right.set_xlabel("Dense layer (1 = next to the input)")
    right.set_ylabel("fraction of weights unchanged")
    right.set_title(f"sigmoid MLP, {result.depth} hidden layers of {result.width}")
    right.legend(loc="upper right")
    return fig


@styled
def stop_rule_plot(ramp: ex.DescentPath, saddle_runs: Mapping[str, ex.DescentPath]) -> Figure:
    r"""Left: the ramp :math:`\max(0, cx)` with the start and the stopping point. Right: paths on :math:`x^2 - y^2`."""
    _check(ramp, ex.DescentPath, "descend_with_stop_rule")
    fig = new_figure(1, 2, figsize=(9.6, 3.8))
    left, right = fig.axes
    x0, x1 = float(ramp.path[0, 0]), float(ramp.final[0])
    xs = np.linspace(-0.3 * abs(x0) - 1, 1.2 * abs(x0) + 1, 200)
    f = np.maximum(0.0, ramp.c * xs)
    # show f in units of a power of ten, so the axis carries no offset text that collides with the title
    k = math.floor(math.log10(f.max())) if f.max() > 0 else 0
    unit = 10.0 ** k
    left.plot(xs, f / unit, color=OKABE_ITO["blue"], label=f"f(x) = max(0, c·x), c = {ramp.c:g}")
    left.axvspan(xs[0], 0, color=OKABE_ITO["green"], alpha=0.15, linewidth=0, label="minimum: every x ≤ 0")
    left.plot([x0], [ramp.values[0] / unit], marker="o", color="black", linestyle="none", label=f"start x = {x0:g}")
    stop_text = f"stopped at step {ramp.stopped_at}" if ramp.stopped_at > 0 else f"after {len(ramp.path) - 1} steps"
    left.plot([x1], [ramp.values[-1] / unit], marker="x", markersize=9, markeredgewidth=2,
              color=OKABE_ITO["vermillion"], linestyle="none",
              label=f"{stop_text}: moved {abs(x1 - x0):.2g}")
    left.set_xlabel("x")
    left.set_ylabel(f"f(x)  (× {power_of_ten(k)})" if k else "f(x)")
    left.set_title(f"tiny gradient far from the minimum (tol = {ramp.tol:g})")
    left.legend(loc="upper left")

    grid = np.linspace(-1.2, 1.2, 121)
    gx, gy = np.meshgrid(grid, grid)
    levels = np.linspace(-1.2, 1.2, 13)
    right.contour(gx, gy, gx ** 2 - gy ** 2, levels=levels, colors=GREY, linewidths=0.6)
    runs = list(saddle_runs.items())
    for i, (label, run) in reversed(list(enumerate(runs))):  # the first run is drawn last, on top, and wider
        _check(run, ex.DescentPath, "descend_with_stop_rule")
        c = colour(i + 1)
        path = run.path
        inside = np.all(np.abs(path) <= 1.2, axis=1)
        right.plot(path[inside, 0], path[inside, 1], color=c, marker="o", markersize=4.5 - 2 * min(i, 1),
                   linewidth=2.6 - 1.4 * min(i, 1),
                   label=f"{label}: " + (f"stopped at step {run.stopped_at}" if run.stopped_at > 0
                                          else f"left the saddle, f = {run.values[-1]:.3g}"))
    right.plot([0], [0], marker="+", color="black", markersize=14, markeredgewidth=2.2, linestyle="none",
               label="saddle (0, 0): gradient 0", zorder=5)
    handles, labels = right.get_legend_handles_labels()
    order = [len(labels) - 1, *reversed(range(len(labels) - 1))]  # saddle first, then the runs in the given order
    right.set_xlim(-1.2, 1.2)
    right.set_ylim(-1.2, 1.2)
    right.set_aspect("equal")
    right.set_xlabel("x")
    right.set_ylabel("y")
    right.set_title("f(x, y) = x² − y²: gradient descent paths")
    right.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left", fontsize=8)
    return fig


@styled
def gradient_ratio_plot(result: ex.GradientRatios, show_depth: int | None = None) -> Figure:
    """Left: per-layer weight-gradient norms of one network. Right: first/last ratio against depth."""
    _check(result, ex.GradientRatios, "gradient_ratio_by_depth")
    depths = [int(d) for d in result.depths]
    show = depths[-1] if show_depth is None else int(show_depth)
    if show not in result.layer_norms:
        raise ValueError(f"show_depth={show_depth!r} was not trained; allowed: {depths}")
    fig = new_figure(1, 2, figsize=(9.6, 3.6))
    left, right = fig.axes
    norms = result.layer_norms[show]
    layers = np.arange(1, norms.shape[0] + 1)
    left.plot(layers, np.log10(norms), color=OKABE_ITO["blue"], marker="o")
    label_log10_axis(left, "y")
    left.set_xticks(layers)
    left.set_xlabel("Dense layer (1 = next to the input)")
    left.set_ylabel("‖dW‖, median over steps (log scale)")
    left.set_title(f"sigmoid MLP with {show} hidden layers, during training")

    right.plot(result.depths, np.log10(result.ratio), color=OKABE_ITO["vermillion"], marker="o",
               label="‖dW first‖ / ‖dW last‖")
    # a guide with the slope of one factor 1/4 per extra layer, through the shallowest network's point
    d0, r0 = float(result.depths[0]), float(np.log10(result.ratio[0]))
    right.plot(result.depths, r0 + (result.depths - d0) * np.log10(0.25), color="black", linestyle="--",
               linewidth=1.0, label="slope: × 1/4 per layer")
    right.axhline(0.0, color=GREY, linestyle=":", linewidth=1.0, label="equal norms")
    label_log10_axis(right, "y")
    right.set_xticks(result.depths)
    right.set_xlabel("number of hidden layers")
    right.set_ylabel("ratio (log scale)")
    right.set_title("first-to-last gradient ratio by depth")
    right.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9))  # below the line at 1, above the data
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
