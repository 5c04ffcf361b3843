"""Notebook 00 (start here): the distribution of a product of derivatives."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..experiments.start import ChainResult
from ._style import GREY, OKABE_ITO, label_log10_axis, new_figure, power_of_ten, styled

__all__ = ["chain_distribution"]

NOTEBOOK = "00"


@styled
def chain_distribution(result: ChainResult) -> Figure:
    """Two panels: the factor per unit, |w| f'(z), and the histogram of log10 |product|.

    Parameters
    ----------
    result
        The output of :func:`vanishing.experiments.derivative_chain`.
    """
    if not isinstance(result, ChainResult):
        raise TypeError(f"result must be a ChainResult from derivative_chain, got {type(result).__name__}")
    fig = new_figure(1, 2, figsize=(8.0, 3.4))
    left, right = fig.axes
    w = abs(result.weight)
    s = result.z_spread

    # left: the factor each unit multiplies the gradient by, and where the z values fall
    factor = w * result.derivative_grid
    top = max(1.0, float(np.max(factor)))
    left.plot(result.z_grid, factor, color=OKABE_ITO["blue"], label=f"|w| f′(z), w = {w:g}")
    left.axhline(1.0, color=GREY, linestyle=":", linewidth=1.2, label="factor 1 (no change)")
    if s > 0:
        density = np.exp(-0.5 * (result.z_grid / s) ** 2)
        left.fill_between(result.z_grid, 0, 0.35 * top * density, color=OKABE_ITO["orange"], alpha=0.25,
                          linewidth=0, label=f"where z falls: N(0, {s:g}²)")
    else:
        left.axvline(0.0, color=OKABE_ITO["orange"], linewidth=2, alpha=0.6, label="every z = 0")
    left.set_ylim(0, 1.55 * top)  # room for the legend above the curves
    left.set_xlabel("pre-activation z")
    left.set_ylabel("factor per unit")
    left.set_title(f"{result.activation}: one factor per unit")
    left.legend(loc="upper left")

    # right: log10 of the product over the chain, one value per draw
    finite = result.log10_product[np.isfinite(result.log10_product)]
    n = result.n_draws
    marks = [0.0] + ([result.largest_log10] if np.isfinite(result.largest_log10) else [])
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        bins = 40
        if high - low < 0.5:  # all draws (nearly) equal: one bar half a decade wide
            low, high, bins = (low + high) / 2 - 0.25, (low + high) / 2 + 0.25, 1
        counts, edges = np.histogram(finite, bins=bins, range=(low, high))
        # one stairs artist instead of 40 bar patches: the same picture, drawn several times faster
        right.stairs(counts / n, edges, fill=True, color=OKABE_ITO["blue"], alpha=0.8)
        right.set_ylim(0, 1.7 * counts.max() / n)  # room for the legend above the bars
        marks += [low, high]
        median = result.median_log10
        if np.isfinite(median):
            right.axvline(median, color=OKABE_ITO["vermillion"], linewidth=1.8, label=f"median ≈ {_approx(median)}")
    else:
        right.set_ylim(0, 1)
    if np.isfinite(result.largest_log10):
        right.axvline(result.largest_log10, color="black", linestyle="--", linewidth=1.2,
                      label=f"largest possible ≈ {_approx(result.largest_log10)}")
    right.axvline(0.0, color=GREY, linestyle=":", linewidth=1.2, label="1")
    if result.zero_fraction > 0:
        # a legend entry without a line: the exact zeros have no place on a log axis
        right.plot([], [], " ", label=f"{result.zero_fraction:.1%} of draws: exactly 0 (not drawn)")
    pad = max(1.0, 0.06 * (max(marks) - min(marks)))
    right.set_xlim(min(marks) - pad, max(marks) + pad)
    label_log10_axis(right, "x")
    right.set_xlabel(f"|product of {result.depth} factors| (log scale)")
    right.set_ylabel(f"fraction of {n} draws")
    right.set_title(f"product along a chain of {result.depth} units")
    # the legend goes on the side away from the bulk of the draws
    centre = float(np.median(finite)) if finite.size else 0.0
    right.legend(loc="upper left" if centre > np.mean(right.get_xlim()) else "upper right")
    return fig


def _approx(log10_value: float) -> str:
    """``"2.1·10⁻²¹"`` for a log10 value: mantissa and power of ten."""
    exponent = int(np.floor(log10_value))
    mantissa = 10 ** (log10_value - exponent)
    if mantissa >= 9.95:  # rounds up to the next power
        mantissa, exponent = 1.0, exponent + 1
    if -3 <= exponent <= 3:
        return f"{10 ** log10_value:.3g}"
    return f"{mantissa:.1f}·{power_of_ten(exponent)}"
