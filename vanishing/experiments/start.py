r"""Notebook 00 (start here): the product of derivatives along a chain of units.

Backpropagation through a chain of single units, :math:`z_{l+1} = w\,f(z_l)`,
multiplies the gradient by one factor per unit:

.. math::

    \frac{\partial z_{L+1}}{\partial z_1} = \prod_{l=1}^{L} w\, f'(z_l).

:func:`derivative_chain` draws the pre-activations :math:`z_l` independently
from :math:`N(0, s^2)` and returns the distribution of :math:`\log_{10}` of the
product's magnitude over many draws. Drawing the :math:`z_l` independently is
the preview's simplification: in a real network :math:`z_{l+1}` depends on
:math:`z_l` (notebooks 01 and 02 follow that). This module imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as check
from ..activations import ACTIVATIONS, make_activation

__all__ = ["ChainResult", "derivative_chain"]

NOTEBOOK = "00"


@dataclass(frozen=True)
class ChainResult:
    r"""What :func:`derivative_chain` computed.

    Attributes
    ----------
    depth, activation, z_spread, weight, n_draws
        The settings.
    log10_product
        ``(n_draws,)``: :math:`\log_{10}|\prod_l w f'(z_l)|` per draw, ``-inf``
        where the product is exactly 0 (a factor was exactly 0 in float64).
    zero_fraction
        Fraction of draws whose product is exactly 0.
    quantiles
        5th, 50th and 95th percentile of ``log10_product`` (they may be ``-inf``).
    largest_log10
        :math:`L \log_{10}(|w| \max_z f'(z))`: the largest the product can be.
    z_grid, derivative_grid
        ``(G,)``: :math:`f'(z)` on a grid, for drawing the derivative.
    """

    depth: int
    activation: str
    z_spread: float
    weight: float
    n_draws: int
    log10_product: np.ndarray
    zero_fraction: float
    quantiles: tuple[float, float, float]
    largest_log10: float
    z_grid: np.ndarray
    derivative_grid: np.ndarray

    @property
    def median_log10(self) -> float:
        """Median of ``log10_product``."""
        return self.quantiles[1]


def derivative_chain(depth: int = 10, activation: str = "sigmoid", z_spread: float = 1.0, weight: float = 1.0,
                     n_draws: int = 2000, *, rng: np.random.Generator) -> ChainResult:
    r"""Distribution of :math:`\prod_{l=1}^{L} w f'(z_l)` with :math:`z_l \sim N(0, s^2)` independent.

    Parameters
    ----------
    depth
        L, the number of units in the chain (1 to 10000).
    activation
        A name from :data:`vanishing.activations.ACTIVATIONS`; its ``derivative`` gives :math:`f'`.
    z_spread
        s, the standard deviation of the pre-activations (0 to 1000).
    weight
        w, the same weight at every link of the chain.
    n_draws
        How many chains to draw (1 to 10**6).
    rng
        Generator for the pre-activations.

    Returns
    -------
    ChainResult
        The log10 magnitudes of the ``n_draws`` products, computed as sums of
        logs so that no product underflows (exact zeros stay zero).
    """
    check.number("depth", depth, low=1, high=10_000, integer=True)
    check.choice("activation", activation, ACTIVATIONS)
    check.number("z_spread", z_spread, low=0, high=1000)
    check.number("weight", weight)
    check.number("n_draws", n_draws, low=1, high=1_000_000, integer=True)
    check.rng("rng", rng)
    f = make_activation(activation, rng=rng)
    z = rng.normal(0.0, z_spread, size=(n_draws, depth)) if z_spread > 0 else np.zeros((n_draws, depth))
    factors = np.abs(weight * f.derivative(z))
    is_zero = (factors == 0).any(axis=1)
    # sum of logs instead of a product: a product of 100 factors of 1e-4 would underflow float64
    with np.errstate(divide="ignore"):
        logs = np.log10(factors)
    log10_product = np.where(is_zero, -np.inf, np.where(factors > 0, logs, 0.0).sum(axis=1))
    q = np.quantile(log10_product, [0.05, 0.5, 0.95], method="inverted_cdf")
    z_grid = np.linspace(-6.0, 6.0, 601)
    derivative_grid = np.asarray(f.derivative(z_grid), dtype=np.float64)
    peak = max(float(np.max(derivative_grid)), float(f.derivative(np.zeros(1))[0]))
    with np.errstate(divide="ignore"):
        largest = depth * float(np.log10(abs(weight) * peak))
    return ChainResult(
        depth=int(depth), activation=activation, z_spread=float(z_spread), weight=float(weight),
        n_draws=int(n_draws), log10_product=log10_product, zero_fraction=float(is_zero.mean()),
        quantiles=(float(q[0]), float(q[1]), float(q[2])), largest_log10=largest,
        z_grid=z_grid, derivative_grid=derivative_grid,
    )
