"""Notebook 01 (products of derivatives): a product of random factors, computed in float16, float32 or float64."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.products import PRODUCT_DTYPES, PRODUCT_FACTORS, ProductDistribution, float_limits
from ..plots.products import ProductView
from ._app import App

__all__ = ["product_underflow"]

NOTEBOOK = "01"

TRIALS = 2000
"""Products per update: enough for a histogram, small enough for a quick redraw at depth 800."""

PRESETS = {
    "50 uniforms (seed 003's experiment)": {"factor": "uniform", "depth": 50, "dtype": "float64"},
    "float16 runs out after ~20 factors": {"factor": "uniform", "depth": 20, "dtype": "float16"},
    "sigmoid, 100 layers, float32": {"factor": "sigmoid", "depth": 100, "spread": 1.0, "dtype": "float32"},
    "tanh near z = 0": {"factor": "tanh", "depth": 100, "spread": 0.3, "dtype": "float32"},
    "ReLU: all or nothing": {"factor": "relu", "depth": 20, "p_active": 0.9, "dtype": "float32"},
    "float64 gives out near 745 uniforms": {"factor": "uniform", "depth": 745, "dtype": "float64"},
}
"""Scenarios for a live demo: ``product_underflow(preset="ReLU: all or nothing")``."""


def _compute(depth: int, factor: str, spread: float, p_active: float, dtype: str, seed: int) -> ProductDistribution:
    """What ``product_distribution(depth, factor, spread, p_active, dtype, 2000, rng=default_rng(seed))`` returns.

    From a :class:`_Products` kept per setting of the other controls: a product of ``depth`` factors is the
    product of ``depth - 1`` factors times one more, so a drag of the depth slider only ever multiplies the
    rows not done before (and a shallower depth is a row already done).
    """
    check.non_negative("seed", seed, integer=True)
    check.number("depth", depth, low=1, high=2000, integer=True)
    check.choice("factor", factor, PRODUCT_FACTORS)
    check.number("spread", spread, low=0, high=20, low_open=True)
    check.probability("p_active", p_active)
    dt = check.float_dtype("dtype", dtype)
    # a setting that a factor does not use is left out of its key: spread is for sigmoid and tanh, p for relu
    stream = _products(factor, float(spread) if factor in ("sigmoid", "tanh") else 0.0,
                       float(p_active) if factor == "relu" else 0.0, dt.name, int(seed))
    return stream.at(int(depth), spread=float(spread), p_active=float(p_active))


@lru_cache(maxsize=2)
def _products(factor: str, spread: float, p_active: float, dtype: str, seed: int) -> _Products:
    return _Products(factor, spread, p_active, dtype, seed)


class _Products:
    """The products of one setting, depth after depth, as ``product_distribution`` forms them.

    The factors are drawn from ``default_rng(seed)`` row by row (a row: one factor of each of the 2000
    products), in float32 whatever the dtype, and multiplied in the dtype one row at a time; the exact
    product's log is the running sum of the factors' logs in float64. A numpy generator gives the same
    numbers drawn in one block or in several, so a row drawn later is the row one block would have held.
    The product and the sum after every row are kept (for 800 rows of 2000 float64 values: 25 MB; two
    settings are kept).
    """

    def __init__(self, factor: str, spread: float, p_active: float, dtype: str, seed: int) -> None:
        self.factor, self.spread, self.p_active, self.dtype = factor, spread, p_active, np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.products = np.empty((0, TRIALS), dtype=self.dtype)  # (rows done, TRIALS): the product after each row
        self.log_sums = np.empty((0, TRIALS))  # the sum of the factors' logs after each row

    def at(self, depth: int, *, spread: float, p_active: float) -> ProductDistribution:
        """The distribution after ``depth`` factors (``spread`` and ``p_active`` as the result states them)."""
        if depth > len(self.products):
            self._extend(depth - len(self.products))
        product = self.products[depth - 1]
        nonzero = product != 0
        exact = self.log_sums[depth - 1] / math.log(10.0)
        # no interpolation between neighbours: an exact product of 0 (ReLU) has log -inf, and -inf - -inf is nan
        q = np.quantile(exact, [0.1, 0.5, 0.9], method="inverted_cdf")
        zeros = int(TRIALS - np.count_nonzero(nonzero))
        return ProductDistribution(
            depth=depth, factor=self.factor, spread=spread, p_active=p_active, dtype=self.dtype.name, trials=TRIALS,
            log10_nonzero=np.log10(product[nonzero].astype(np.float64)), zero_count=zeros,
            zero_fraction=zeros / TRIALS, limits=float_limits(self.dtype.name),
            bound_log10=-depth * math.log10(4.0) if self.factor == "sigmoid" else 0.0,
            exact_log10_quantiles=(float(q[0]), float(q[1]), float(q[2])))

    def _extend(self, rows: int) -> None:
        """Draw ``rows`` more rows; keep the product and the log sum after each (one row after the other)."""
        factors, logs = self._rows(rows)  # factors in float32 (float64 for float64): rounded row by row below
        products = np.zeros((rows, TRIALS), dtype=self.dtype)
        product = self.products[-1] if len(self.products) else np.ones(TRIALS, dtype=self.dtype)
        # underflow to 0 is the subject here: numpy would warn at every product that rounds to a subnormal or to 0
        with np.errstate(under="ignore"):
            for i in range(rows):
                if not product.any():
                    break  # every product is 0 and stays 0 (the rows left are zeros already)
                product = np.multiply(product, factors[i].astype(self.dtype, copy=False), out=products[i])
        # the running sum in float64, from the last row's sum: np.add.accumulate adds one row after the other
        log_sums = logs.astype(np.float64)
        log_sums[0] += self.log_sums[-1] if len(self.log_sums) else 0.0
        np.add.accumulate(log_sums, axis=0, out=log_sums)
        self.products = np.concatenate([self.products, products]) if len(self.products) else products
        self.log_sums = np.concatenate([self.log_sums, log_sums]) if len(self.log_sums) else log_sums

    def _rows(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """``rows`` more rows of factors and of their logs (float32), drawn as the experiment does.

        The factors are float32, or float64 for the float64 products; they are rounded to the dtype when a
        row is multiplied in (rows after the products are all 0 need no rounding: float16's is slow).
        """
        shape = (rows, TRIALS)
        if self.factor == "uniform":
            u = 1.0 - self.rng.random(shape, dtype=np.float32)  # in (0, 1]
            return u, np.log(u)
        if self.factor == "relu":
            active = (self.rng.random(shape, dtype=np.float32) < self.p_active).astype(np.float32)
            with np.errstate(divide="ignore"):
                return active, np.log(active)
        a = np.abs(self.rng.standard_normal(shape, dtype=np.float32))
        a *= np.float32(self.spread if self.factor == "sigmoid" else 2.0 * self.spread)  # tanh'(z) = 4 sigma'(2z)
        # factors in float64 only when the products are float64: a float32 factor would round the smallest ones
        e = np.exp(-(a.astype(np.float64) if self.dtype == np.float64 else a))
        work = np.square(1 + e)
        np.divide(e, work, out=work)  # sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2
        logs = np.log1p(e.astype(np.float32, copy=False)) * np.float32(-2) - a
        if self.factor == "tanh":
            work *= 4
            logs += np.float32(np.log(4.0))
        return work, logs


def product_underflow(**initial_values: Any) -> App:
    """Widget: the distribution of a product of ``depth`` random factors, multiplied in the chosen float type.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``depth`` (1-800), ``factor`` (``"uniform"`` U(0,1), ``"sigmoid"`` σ′(z),
    ``"tanh"`` tanh′(z), ``"relu"`` ReLU′), ``spread`` (standard deviation of z
    for sigmoid and tanh, 0.1-10), ``p_active`` (probability that a ReLU unit
    is active), ``dtype`` (float16, float32, float64), ``seed``. Computes
    :func:`vanishing.experiments.product_distribution` with 2000 products and
    draws :func:`vanishing.plots.product_histogram`: the products that are exactly
    0 get a bar of their own; the dtype's smallest normal and smallest
    subnormal numbers are marked.

    Example: ``product_underflow(factor="sigmoid", dtype="float16")``.
    """
    controls = {
        "depth": ipywidgets.IntSlider(value=100, min=1, max=800, description="depth L (factors)"),
        "factor": ipywidgets.Dropdown(options=list(PRODUCT_FACTORS), value="uniform", description="factor"),
        "spread": ipywidgets.FloatSlider(value=1.0, min=0.1, max=10.0, step=0.1, description="spread of z"),
        "p_active": ipywidgets.FloatSlider(value=0.9, min=0.0, max=1.0, step=0.01, description="ReLU: P(active)"),
        "dtype": ipywidgets.Dropdown(options=list(PRODUCT_DTYPES), value="float32", description="dtype"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return App(
        controls, _compute, ProductView, name="product_underflow",
        title="<b>A product of random factors, stored in a float type.</b> 'spread' is used by sigmoid and "
              "tanh, 'ReLU: P(active)' by relu. Products that round to exactly 0 get a bar of their own.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"product_underflow": product_underflow}
