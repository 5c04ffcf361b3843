"""Notebook 00 (start here): the distribution of a product of derivatives."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..experiments.start import ChainResult
from ._style import GREY, OKABE_ITO, LegendSlot, View, label_log10_axis, new_figure, power_of_ten, styled

__all__ = ["ChainView", "chain_distribution"]

NOTEBOOK = "00"


def chain_distribution(result: ChainResult) -> Figure:
    """Two panels: the factor per unit, |w| f'(z), and the histogram of log10 |product|.

    Parameters
    ----------
    result
        The output of :func:`vanishing.experiments.derivative_chain`.
    """
    return ChainView().show(result)


class ChainView(View):
    """The figure of :func:`chain_distribution`, kept by the ``start_here`` widget and changed at every update."""

    @styled
    def __init__(self) -> None:
        self.figure = new_figure(1, 2, figsize=(8.0, 3.4))
        left, right = self.figure.axes
        # left: the factor each unit multiplies the gradient by, and where the z values fall
        self.factor = left.plot([], [], color=OKABE_ITO["blue"])[0]
        self.one = left.axhline(1.0, color=GREY, linestyle=":", linewidth=1.2)
        self.spread = left.fill_between([0.0, 1.0], 0, 0, color=OKABE_ITO["orange"], alpha=0.25, linewidth=0)
        self.at_zero = left.axvline(0.0, color=OKABE_ITO["orange"], linewidth=2, alpha=0.6)
        left.set_xlabel("pre-activation z")
        left.set_ylabel("factor per unit")
        self.left_legend = LegendSlot(left, loc="upper left")
        # right: log10 of the product over the chain, one value per draw
        self.bars = right.stairs([0.0], [0.0, 1.0], fill=True, color=OKABE_ITO["blue"], alpha=0.8)
        self.median = right.axvline(0.0, color=OKABE_ITO["vermillion"], linewidth=1.8)
        self.largest = right.axvline(0.0, color="black", linestyle="--", linewidth=1.2)
        self.unit = right.axvline(0.0, color=GREY, linestyle=":", linewidth=1.2)
        self.zeros = right.plot([], [], " ")[0]  # a legend entry without a line: zeros have no place on a log axis
        label_log10_axis(right, "x")
        self.right_legend = LegendSlot(right)

    def update(self, result: ChainResult) -> None:
        if not isinstance(result, ChainResult):
            raise TypeError(f"result must be a ChainResult from derivative_chain, got {type(result).__name__}")
        self._factor_panel(result)
        self._product_panel(result)

    def _factor_panel(self, result: ChainResult) -> None:
        left = self.figure.axes[0]
        w, s = abs(result.weight), result.z_spread
        factor = w * result.derivative_grid
        top = max(1.0, float(np.max(factor)))
        self.factor.set_data(result.z_grid, factor)
        entries = [(self.factor, f"|w| f′(z), w = {w:g}"), (self.one, "factor 1 (no change)")]
        self.spread.set_visible(s > 0)
        self.at_zero.set_visible(s <= 0)
        if s > 0:
            density = np.exp(-0.5 * (result.z_grid / s) ** 2)
            self.spread.set_data(result.z_grid, 0, 0.35 * top * density)
            entries.append((self.spread, f"where z falls: N(0, {s:g}²)"))
        else:
            entries.append((self.at_zero, "every z = 0"))
        left.set_xlim(result.z_grid[0], result.z_grid[-1])
        left.set_ylim(0, 1.55 * top)  # room for the legend above the curves
        left.set_title(f"{result.activation}: one factor per unit")
        self.left_legend.show(entries)

    def _product_panel(self, result: ChainResult) -> None:
        right = self.figure.axes[1]
        finite = result.log10_product[np.isfinite(result.log10_product)]
        n = result.n_draws
        marks = [0.0] + ([result.largest_log10] if np.isfinite(result.largest_log10) else [])
        entries = []
        self.bars.set_visible(finite.size > 0)
        self.median.set_visible(finite.size > 0 and np.isfinite(result.median_log10))
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            bins = 40
            if high - low < 0.5:  # all draws (nearly) equal: one bar half a decade wide
                low, high, bins = (low + high) / 2 - 0.25, (low + high) / 2 + 0.25, 1
            counts, edges = np.histogram(finite, bins=bins, range=(low, high))
            self.bars.set_data(counts / n, edges)
            right.set_ylim(0, 1.7 * counts.max() / n)  # room for the legend above the bars
            marks += [low, high]
            if self.median.get_visible():
                self.median.set_xdata([result.median_log10] * 2)
                entries.append((self.median, f"median ≈ {_approx(result.median_log10)}"))
        else:
            right.set_ylim(0, 1)
        self.largest.set_visible(bool(np.isfinite(result.largest_log10)))
        if self.largest.get_visible():
            self.largest.set_xdata([result.largest_log10] * 2)
            entries.append((self.largest, f"largest possible ≈ {_approx(result.largest_log10)}"))
        entries.append((self.unit, "1"))
        if result.zero_fraction > 0:
            entries.append((self.zeros, f"{result.zero_fraction:.1%} of draws: exactly 0 (not drawn)"))
        pad = max(1.0, 0.06 * (max(marks) - min(marks)))
        right.set_xlim(min(marks) - pad, max(marks) + pad)
        right.set_xlabel(f"|product of {result.depth} factors| (log scale)")
        right.set_ylabel(f"fraction of {n} draws")
        right.set_title(f"product along a chain of {result.depth} units")
        # the legend goes on the side away from the bulk of the draws
        centre = float(np.median(finite)) if finite.size else 0.0
        self.right_legend.show(entries, loc="upper left" if centre > np.mean(right.get_xlim()) else "upper right")


def _approx(log10_value: float) -> str:
    """``"2.1·10⁻²¹"`` for a log10 value: mantissa and power of ten."""
    exponent = int(np.floor(log10_value))
    mantissa = 10 ** (log10_value - exponent)
    if mantissa >= 9.95:  # rounds up to the next power
        mantissa, exponent = 1.0, exponent + 1
    if -3 <= exponent <= 3:
        return f"{10 ** log10_value:.3g}"
    return f"{mantissa:.1f}·{power_of_ten(exponent)}"
