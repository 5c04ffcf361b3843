r"""Notebook 01 (products of derivatives): how a product of many factors below 1 vanishes, and when it is 0.

Backpropagation multiplies one factor per layer. The experiments here measure
what such products do:

* :func:`uniform_log_products`, :func:`product_exceedance`: a product of L
  numbers drawn from U(0, 1). Since :math:`E[\ln U] = -1` and
  :math:`\operatorname{Var}[\ln U] = 1`, :math:`\ln P_L` has mean :math:`-L` and
  standard deviation :math:`\sqrt L`; exactly, :math:`-\ln P_L` follows a
  Gamma(L, 1) distribution (:func:`gamma_cdf`).
* :func:`derivative_log_products`: products of :math:`\sigma'(z)` or
  :math:`\tanh'(z)` with :math:`z \sim N(0, s^2)`, against the bound
  :math:`4^{-L}` (:math:`\sigma' \le 1/4`).
* :func:`single_neuron_chain`, :func:`chain_gradients`: the chain
  :math:`o_1 = w_1`, :math:`o_i = f(w_i o_{i-1})`, :math:`F = o_L`, whose
  :math:`dF/dw_1 = \prod_{i=2}^L w_i f'(w_i o_{i-1})`, computed by the engine's
  backward pass and by the closed form.
* :func:`underflow_depths`, :func:`constant_factor_products`,
  :func:`zero_fraction_by_depth`, :func:`product_distribution`: the same
  products computed in float16, float32 and float64, and the depth at which
  they round to exactly 0.
* :func:`update_is_lost`, :func:`lost_updates`: an update smaller than half an
  ulp of the weight leaves the weight unchanged, bit for bit.
* :func:`descend_with_stop_rule`: gradient descent with the stop rule "stop when the step is
  smaller than tol" on a ramp with a tiny slope and on a saddle.
* :func:`gradient_ratio_by_depth`: per-layer gradient norms of deep sigmoid
  MLPs trained with :func:`vanishing.train.fit`.

Floating-point underflow is the subject of several experiments; they compute
in the chosen dtype on purpose and silence numpy's underflow warning there
(``np.errstate(under="ignore")``): the exact zeros are the result, not an
accident. This module imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _validate as check
from .. import diagnostics, train
from ..activations import Sigmoid, Tanh, make_activation
from ..data import two_moons
from ..layers import Dense, Parameters, Sequential
from ..losses import make_loss
from ..models import dense_layers, mlp
from ..optim import make_optimizer

__all__ = [
    "PRODUCT_DTYPES", "PRODUCT_FACTORS", "STOP_RULE_SURFACES", "ChainGradient", "DescentPath", "DerivativeProducts",
    "FloatLimits", "GradientRatios", "LostUpdates", "ProductDistribution", "ProductExceedance", "RatioSetup",
    "UniformProducts", "UnderflowDepth", "ZeroFractions", "chain_gradients", "constant_factor_products",
    "derivative_factors", "derivative_log_products", "descend_with_stop_rule", "float_limits", "gamma_cdf",
    "gradient_ratio_by_depth", "gradient_ratio_setup", "lost_updates", "product_distribution", "product_exceedance",
    "single_neuron_chain", "underflow_depths", "update_is_lost", "uniform_log_products", "zero_fraction_by_depth",
]

NOTEBOOK = "01"

PRODUCT_FACTORS = ("uniform", "sigmoid", "tanh", "relu")
"""Factor distributions of :func:`product_distribution`: U(0,1), σ′(z), tanh′(z), ReLU′ (1 with probability p)."""

PRODUCT_DTYPES = ("float16", "float32", "float64")
"""The floating-point types the products are computed in."""

CHAIN_ACTIVATIONS = ("sigmoid", "tanh")


# --- the exact distribution of a product of uniforms -----------------------------------------------------------------

def gamma_cdf(x: float | np.ndarray, shape: int) -> np.ndarray:
    r""":math:`P(G \le x)` for :math:`G \sim \text{Gamma}(L, 1)` with integer shape L.

    For integer L, :math:`P(G \le x) = P(N \ge L)` with :math:`N \sim \text{Poisson}(x)`
    (the L-th arrival of a unit-rate Poisson process comes before time x exactly
    when at least L arrivals happen by x), so

    .. math:: P(G \le x) = 1 - \sum_{k=0}^{L-1} e^{-x} x^k / k!.

    The terms are summed in log space, so x of several hundred (where
    :math:`e^{-x}` underflows) is fine. Since :math:`-\ln P_L \sim \text{Gamma}(L, 1)`
    for a product of L uniforms, :math:`P(P_L > t) = \text{gamma\_cdf}(-\ln t, L)`.

    Parameters
    ----------
    x
        Non-negative value(s).
    shape
        L, a positive integer.
    """
    check.positive("shape", shape, integer=True)
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError(f"x={x!r} must be finite and non-negative")
    k = np.arange(shape, dtype=np.float64)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, shape, dtype=np.float64)))])
    out = np.zeros_like(x)  # P(G <= 0) = 0
    positive = x > 0
    xp = x[positive][:, None]
    log_terms = k * np.log(xp) - xp - log_factorial
    top = log_terms.max(axis=1, keepdims=True)
    log_sum = top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1))
    out[positive] = np.clip(-np.expm1(log_sum), 0.0, 1.0)
    return out


@dataclass(frozen=True)
class UniformProducts:
    r"""Statistics of :math:`\ln P_L`, :math:`P_L = \prod_{i=1}^L U_i`, for L = 1 .. max_depth.

    Attributes
    ----------
    depths
        ``(D,)``: 1, 2, ..., max_depth.
    trials
        Number of independent products per depth (the same draws extended: trial t at depth L+1
        is trial t at depth L times one more factor).
    mean_ln, std_ln
        ``(D,)``: measured mean and standard deviation of :math:`\ln P_L`.
    quantiles_ln
        ``(3, D)``: the 5th, 50th and 95th percentiles of :math:`\ln P_L`.
    theory_mean, theory_std
        ``(D,)``: :math:`-L` and :math:`\sqrt L`.
    """

    depths: np.ndarray
    trials: int
    mean_ln: np.ndarray
    std_ln: np.ndarray
    quantiles_ln: np.ndarray
    theory_mean: np.ndarray
    theory_std: np.ndarray

    def max_mean_error(self) -> float:
        """Largest :math:`|\\text{mean} + L| / \\sqrt{L / \\text{trials}}` over depths (in standard errors)."""
        se = np.sqrt(self.depths / self.trials)
        return float(np.max(np.abs(self.mean_ln - self.theory_mean) / se))


def uniform_log_products(max_depth: int = 100, trials: int = 20_000, *, rng: np.random.Generator) -> UniformProducts:
    r"""Draw ``trials`` chains of ``max_depth`` U(0,1) factors; summarise :math:`\ln P_L` at every depth.

    Works with :math:`\ln P_L = \sum_i \ln U_i` (float64), so nothing underflows:
    this is the exact product's distribution, not what a float type can store.

    Parameters
    ----------
    max_depth
        Largest L (1 to 10000).
    trials
        Products per depth (2 to 10**6).
    rng
        Generator for the factors.
    """
    check.number("max_depth", max_depth, low=1, high=10_000, integer=True)
    check.number("trials", trials, low=2, high=1_000_000, integer=True)
    check.rng("rng", rng)
    depths = np.arange(1, max_depth + 1)
    # 1 - U is U(0,1] (never 0), so its log is finite
    ln_u = np.log1p(-rng.random((max_depth, trials)))
    ln_p = np.cumsum(ln_u, axis=0)
    return UniformProducts(
        depths=depths, trials=int(trials), mean_ln=ln_p.mean(axis=1), std_ln=ln_p.std(axis=1, ddof=1),
        quantiles_ln=np.quantile(ln_p, [0.05, 0.5, 0.95], axis=1), theory_mean=-depths.astype(np.float64),
        theory_std=np.sqrt(depths.astype(np.float64)),
    )


@dataclass(frozen=True)
class ProductExceedance:
    r"""How often a product of L uniforms exceeds a threshold t, measured and exact.

    Attributes
    ----------
    depth, threshold, trials
        The settings: L, t, number of products drawn.
    log10_products
        ``(trials,)``: :math:`\log_{10} P_L` of every draw.
    count_above
        Number of draws with :math:`P_L > t`.
    fraction_above
        ``count_above / trials``.
    standard_error
        :math:`\sqrt{q(1-q)/n}` of that fraction.
    exact_fraction
        :math:`P(P_L > t) = P(\text{Gamma}(L,1) < -\ln t)`.
    median_log10, exact_median_log10
        Measured median of :math:`\log_{10} P_L`, and the exact one.
    mean_product
        :math:`E[P_L] = 2^{-L}` (exact): much larger than the median, because a
        few large products carry the mean.
    largest_log10
        The largest :math:`\log_{10} P_L` drawn.
    """

    depth: int
    threshold: float
    trials: int
    log10_products: np.ndarray
    count_above: int
    fraction_above: float
    standard_error: float
    exact_fraction: float
    median_log10: float
    exact_median_log10: float
    mean_product: float
    largest_log10: float

    def chance_of_seeing_one(self, attempts: int) -> float:
        """Probability that at least one of ``attempts`` independent products exceeds the threshold (exact)."""
        check.positive("attempts", attempts, integer=True)
        return float(-np.expm1(attempts * np.log1p(-self.exact_fraction)))


def _gamma_median(shape: int) -> float:
    """Median of Gamma(shape, 1), by bisection on :func:`gamma_cdf`."""
    lo, hi = 0.0, shape + 10.0 * math.sqrt(shape) + 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gamma_cdf(mid, shape)[0] < 0.5 else (lo, mid)
    return 0.5 * (lo + hi)


def product_exceedance(depth: int = 50, threshold: float = 1e-18, trials: int = 100_000, *,
                       rng: np.random.Generator) -> ProductExceedance:
    r"""Measure how often a product of ``depth`` U(0,1) numbers exceeds ``threshold``.

    Parameters
    ----------
    depth
        L (1 to 10000).
    threshold
        t in (0, 1).
    trials
        Number of products (1 to 10**7).
    rng
        Generator for the factors.
    """
    check.number("depth", depth, low=1, high=10_000, integer=True)
    check.number("threshold", threshold, low=0, high=1, low_open=True, high_open=True)
    check.number("trials", trials, low=1, high=10_000_000, integer=True)
    check.rng("rng", rng)
    ln_p = np.zeros(trials)
    for _ in range(depth):  # one factor at a time: memory stays (trials,) for any depth
        ln_p += np.log1p(-rng.random(trials))
    log10_p = ln_p / np.log(10.0)
    count = int(np.count_nonzero(ln_p > np.log(threshold)))
    q = count / trials
    return ProductExceedance(
        depth=int(depth), threshold=float(threshold), trials=int(trials), log10_products=log10_p,
        count_above=count, fraction_above=q, standard_error=math.sqrt(q * (1 - q) / trials),
        exact_fraction=float(gamma_cdf(-math.log(threshold), depth)[0]),
        median_log10=float(np.median(log10_p)), exact_median_log10=-_gamma_median(depth) / math.log(10.0),
        mean_product=0.5 ** depth, largest_log10=float(log10_p.max()),
    )


# --- derivative factors ---------------------------------------------------------------------------------------------

def derivative_factors(kind: str, z: np.ndarray) -> np.ndarray:
    r"""The factor :math:`\sigma'(z)` or :math:`\tanh'(z)`, accurate for every z (float64).

    The engine's ``Sigmoid().derivative`` computes :math:`\sigma(1 - \sigma)`,
    which is exactly 0 once :math:`\sigma(z)` rounds to 1 (z > 37 in float64),
    although the true value is :math:`\approx e^{-z}`. Both derivatives are
    even functions, so this evaluates them at :math:`-|z|`, where no
    cancellation happens:

    * :math:`\sigma'(z) = \sigma'(-|z|)` (the engine's derivative at :math:`-|z|`);
    * :math:`\tanh'(z) = 4\,\sigma'(2z)`, since :math:`\tanh z = 2\sigma(2z) - 1`.

    Parameters
    ----------
    kind
        ``"sigmoid"`` or ``"tanh"``.
    z
        Pre-activations, any shape.
    """
    check.choice("kind", kind, CHAIN_ACTIVATIONS)
    z = np.abs(np.asarray(z, dtype=np.float64))
    if kind == "sigmoid":
        return Sigmoid().derivative(-z)
    return 4.0 * Sigmoid().derivative(-2.0 * z)


def _log_factors(kind: str, shape: tuple[int, ...], *, rng: np.random.Generator, spread: float,
                 p_active: float) -> np.ndarray:
    r"""Natural logs of random factors (float64; ``-inf`` for an exact 0 factor).

    ``ln σ′(z) = -|z| - 2 ln(1 + e^{-|z|})`` and ``ln tanh′(z) = ln 4 - 2|z| - 2 ln(1 + e^{-2|z|})``
    are computed directly, so a factor never underflows before its log is taken.
    """
    if kind == "uniform":
        return np.log1p(-rng.random(shape))
    if kind == "relu":
        with np.errstate(divide="ignore"):
            return np.log((rng.random(shape) < p_active).astype(np.float64))
    a = np.abs(rng.normal(0.0, spread, size=shape))
    if kind == "sigmoid":
        return -a - 2.0 * np.log1p(np.exp(-a))
    return np.log(4.0) - 2.0 * a - 2.0 * np.log1p(np.exp(-2.0 * a))


@dataclass(frozen=True)
class DerivativeProducts:
    r"""Quantiles of :math:`\log_{10}\prod_{l=1}^L f'(z_l)`, :math:`z_l \sim N(0, s^2)`, per depth and spread.

    Attributes
    ----------
    kind
        ``"sigmoid"`` or ``"tanh"``.
    spreads
        ``(S,)``: the standard deviations s of z.
    depths
        ``(D,)``: 1 .. max_depth.
    trials
        Products per (spread, depth).
    quantiles_log10
        ``(S, 3, D)``: 10th, 50th and 90th percentile of the log10 product.
    bound_log10
        ``(D,)``: :math:`\log_{10}` of the largest possible product, :math:`L\log_{10}\max f'`
        (:math:`-L\log_{10}4` for sigmoid, 0 for tanh).
    """

    kind: str
    spreads: np.ndarray
    depths: np.ndarray
    trials: int
    quantiles_log10: np.ndarray
    bound_log10: np.ndarray

    def median_log10(self, spread_index: int, depth: int) -> float:
        """Median log10 product at one spread (by index into ``spreads``) and depth."""
        return float(self.quantiles_log10[spread_index, 1, depth - 1])


def derivative_log_products(kind: str = "sigmoid", spreads: tuple[float, ...] = (0.5, 2.0, 5.0),
                            max_depth: int = 100, trials: int = 4000, *,
                            rng: np.random.Generator) -> DerivativeProducts:
    r"""Distribution of a product of derivatives with independent :math:`z_l \sim N(0, s^2)`.

    Logs are summed in float64, so this is the exact product, before any
    float type rounds it (see :func:`product_distribution` for that).

    Parameters
    ----------
    kind
        ``"sigmoid"`` or ``"tanh"``.
    spreads
        Standard deviations s of the pre-activations (each in (0, 100]).
    max_depth
        Largest L (1 to 10000).
    trials
        Products per (spread, depth) (2 to 10**6).
    rng
        Generator for the pre-activations.
    """
    check.choice("kind", kind, CHAIN_ACTIVATIONS)
    spreads = tuple(spreads)
    if not spreads:
        raise ValueError("spreads is empty; give at least one standard deviation, e.g. (1.0,)")
    for i, s in enumerate(spreads):
        check.number(f"spreads[{i}]", s, low=0, high=100, low_open=True)
    check.number("max_depth", max_depth, low=1, high=10_000, integer=True)
    check.number("trials", trials, low=2, high=1_000_000, integer=True)
    check.rng("rng", rng)
    quantiles = np.empty((len(spreads), 3, max_depth))
    for i, s in enumerate(spreads):
        log10_p = np.cumsum(_log_factors(kind, (max_depth, trials), rng=rng, spread=s, p_active=1.0), axis=0)
        quantiles[i] = np.quantile(log10_p / np.log(10.0), [0.1, 0.5, 0.9], axis=1)
    depths = np.arange(1, max_depth + 1)
    peak = 0.25 if kind == "sigmoid" else 1.0
    return DerivativeProducts(kind=kind, spreads=np.asarray(spreads, dtype=np.float64), depths=depths,
                              trials=int(trials), quantiles_log10=quantiles,
                              bound_log10=depths * np.log10(peak))


# --- the single-neuron chain -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainGradient:
    r"""dF/dw1 of the chain :math:`o_1 = w_1`, :math:`o_i = f(w_i o_{i-1})`, :math:`F = o_L`.

    Attributes
    ----------
    weights
        ``(L,)``: :math:`w_1, \dots, w_L`.
    activation
        ``"sigmoid"`` or ``"tanh"``.
    outputs
        ``(L,)``: :math:`o_1, \dots, o_L` from the engine's forward pass.
    factors
        ``(L-1,)``: :math:`w_i f'(w_i o_{i-1})` for i = 2 .. L.
    engine
        dF/dw1 from the engine's backward pass.
    closed_form
        :math:`\prod_{i=2}^L w_i \prod_{i=2}^L f'(w_i o_{i-1})`, with the :math:`o_i`
        recomputed by a plain loop (not by the engine) and :math:`f'` from
        :func:`derivative_factors`. Where a pre-activation is so large that
        :math:`\sigma(z)` rounds to 1 (z > 37 in float64), the engine's
        :math:`\sigma(1-\sigma)` is exactly 0 and this is not: the two then differ.
    """

    weights: np.ndarray
    activation: str
    outputs: np.ndarray
    factors: np.ndarray
    engine: float
    closed_form: float

    @property
    def depth(self) -> int:
        return int(self.weights.shape[0])

    @property
    def relative_error(self) -> float:
        """:math:`|a - b| / \\max(|a|, |b|)` between the engine and the closed form (0 if both are 0)."""
        scale = max(abs(self.engine), abs(self.closed_form))
        return 0.0 if scale == 0 else abs(self.engine - self.closed_form) / scale


def build_chain(weights: np.ndarray, activation: str = "sigmoid") -> Sequential:
    """The chain as an engine network: Dense(1,1) holding w1, then (Dense(1,1) holding w_i, activation) per layer.

    Every Dense has its bias fixed at 0 (the chain has no bias; nothing here
    updates it). Fed the input x = 1, the first Dense outputs :math:`o_1 = w_1`,
    and the weight gradient of that layer is dF/dw1.
    """
    weights = check.array("weights", np.asarray(weights, dtype=np.float64), ndim=1)
    check.choice("activation", activation, CHAIN_ACTIVATIONS)
    rng = np.random.default_rng(0)  # the initializer's draw is overwritten at once
    layers = []
    for i, w in enumerate(weights):
        dense = Dense(1, 1, rng=rng, init="uniform", bias=0.0)
        dense.params["W"][0, 0] = w
        layers.append(dense)
        if i > 0:
            layers.append(make_activation(activation))
    return Sequential(layers)


def single_neuron_chain(weights: np.ndarray | list[float], activation: str = "sigmoid", *,
                        model: Sequential | None = None) -> ChainGradient:
    r"""dF/dw1 of the single-neuron chain, by the engine's backward pass and by the closed form.

    .. math::

        o_1 = w_1,\quad o_i = f(w_i o_{i-1}),\quad F = o_L,\qquad
        \frac{dF}{dw_1} = \prod_{i=2}^L w_i \prod_{i=2}^L f'(w_i o_{i-1}).

    Parameters
    ----------
    weights
        :math:`w_1, \dots, w_L` (L ≥ 1, finite).
    activation
        ``"sigmoid"`` or ``"tanh"``.
    model
        The chain as built by :func:`build_chain` for these weights (built here if not given).
    """
    weights = check.array("weights", np.asarray(weights, dtype=np.float64), ndim=1)
    check.choice("activation", activation, CHAIN_ACTIVATIONS)
    if model is None:
        model = build_chain(weights, activation)
    outputs: list[float] = []

    first = model.layers[0]

    def record(layer: Any, x: np.ndarray, out: np.ndarray) -> None:
        if layer is first or not isinstance(layer, Dense):
            outputs.append(float(out[0, 0]))

    remove = model.add_forward_hook(record)
    model.forward(np.ones((1, 1)))
    remove()
    model.backward(np.ones((1, 1)))
    engine = float(model.grads["0.W"][0, 0])

    f = Sigmoid() if activation == "sigmoid" else Tanh()
    o = weights[0]
    derivs = []
    for w in weights[1:]:  # an independent plain loop: no engine layers
        z = np.array([w * o])
        derivs.append(float(derivative_factors(activation, z)[0]))
        o = float(f.fn(z)[0])
    derivs_arr = np.asarray(derivs)
    closed = float(np.prod(weights[1:]) * np.prod(derivs_arr))
    return ChainGradient(weights=weights, activation=activation, outputs=np.asarray(outputs),
                         factors=weights[1:] * derivs_arr, engine=engine, closed_form=closed)


def chain_gradients(weight: float, max_depth: int = 30, *, first_weight: float = 1.0,
                    activation: str = "sigmoid") -> list[ChainGradient]:
    r"""The chain with :math:`w_1` = ``first_weight`` and :math:`w_i` = ``weight`` (i ≥ 2), for L = 1 .. max_depth.

    Parameters
    ----------
    weight
        The weight of every layer after the first.
    max_depth
        Largest L (1 to 500).
    first_weight
        :math:`w_1`, which is also :math:`o_1`.
    activation
        ``"sigmoid"`` or ``"tanh"``.
    """
    check.number("weight", weight)
    check.number("max_depth", max_depth, low=1, high=500, integer=True)
    check.number("first_weight", first_weight)
    check.choice("activation", activation, CHAIN_ACTIVATIONS)
    weights = np.r_[first_weight, np.full(max_depth - 1, float(weight))]
    # one chain of max_depth layers; the chain of length L is its first 2L - 1 layers (Dense, then Dense + f)
    full = build_chain(weights, activation)
    return [single_neuron_chain(weights[:L], activation, model=Sequential(full.layers[:2 * L - 1]))
            for L in range(1, max_depth + 1)]


# --- floating point --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FloatLimits:
    """The limits of a float type that decide when a product becomes 0 (from ``numpy.finfo``).

    Attributes
    ----------
    dtype
        ``"float16"``, ``"float32"`` or ``"float64"``.
    smallest_normal
        ``finfo.smallest_normal`` (also called ``tiny``): below it, numbers are
        subnormal and lose precision.
    smallest_subnormal
        ``finfo.smallest_subnormal``: the smallest positive number. A result
        below half of it rounds to 0 (exactly half rounds to 0 too: ties go to even).
    eps
        ``finfo.eps``: the gap between 1 and the next number.
    """

    dtype: str
    smallest_normal: float
    smallest_subnormal: float
    eps: float


def float_limits(dtype: str) -> FloatLimits:
    """:class:`FloatLimits` of ``dtype`` (float16, float32 or float64)."""
    dt = check.float_dtype("dtype", dtype)
    info = np.finfo(dt)
    return FloatLimits(dtype=dt.name, smallest_normal=float(info.smallest_normal),
                       smallest_subnormal=float(info.smallest_subnormal), eps=float(info.eps))


@dataclass(frozen=True)
class UnderflowDepth:
    r"""Depths at which :math:`c^L`, for a fixed factor c, leaves the normal range and becomes 0.

    Attributes
    ----------
    factor, dtype
        The settings; ``factor`` is c rounded to ``dtype``.
    subnormal_depth
        First L with :math:`c^L <` smallest normal: analytically
        :math:`\lfloor \ln(\text{normal}) / \ln c \rfloor + 1`.
    zero_depth
        First L with :math:`c^L \le` smallest subnormal / 2, where round-to-nearest
        gives 0: analytically :math:`\lceil \ln(\text{subnormal}/2) / \ln c \rceil`.
    measured_zero_depth
        First L at which repeated multiplication in ``dtype`` gives exactly 0, or -1
        if it never does.
    stalled_at
        0.0 if the product reached 0; otherwise the value at which it stopped
        changing. For c > 1/2 it stalls among the smallest subnormals: there
        :math:`c \cdot s` is closer to s than to 0, so it rounds back to s.
    """

    factor: float
    dtype: str
    subnormal_depth: int
    zero_depth: int
    measured_zero_depth: int
    stalled_at: float = 0.0


def _log_ratio(log2_value: float, factor: float) -> float:
    """log2(value)/log2(factor), snapped to an integer when it is one up to rounding (powers of two)."""
    r = log2_value / math.log2(factor)
    return float(round(r)) if abs(r - round(r)) < 1e-9 else r


def underflow_depths(factor: float = 0.25, dtypes: tuple[str, ...] = PRODUCT_DTYPES, *,
                     max_depth: int = 1_000_000) -> list[UnderflowDepth]:
    """For a fixed factor c in (0, 1), the depth at which :math:`c^L` turns subnormal and 0, per dtype.

    Parameters
    ----------
    factor
        c, in (0, 1).
    dtypes
        Names of float types.
    max_depth
        Give up measuring after this many multiplications (then ``measured_zero_depth`` is -1).
    """
    check.number("factor", factor, low=0, high=1, low_open=True, high_open=True)
    check.positive("max_depth", max_depth, integer=True)
    rows = []
    for name in dtypes:
        dt = check.float_dtype("dtypes", name)
        limits = float_limits(dt.name)
        c = dt.type(factor)
        if c == 0 or c == 1:
            raise ValueError(f"factor={factor!r} rounds to {float(c)} in {dt.name}; allowed: a factor that "
                             f"{dt.name} stores strictly between 0 and 1")
        cf = float(c)
        sub = math.floor(_log_ratio(math.log2(limits.smallest_normal), cf)) + 1
        # log2 of half the smallest subnormal (which itself is not a float64 number when dtype is float64)
        zero = math.ceil(_log_ratio(math.log2(limits.smallest_subnormal) - 1, cf))
        product, measured, stalled = dt.type(1.0), -1, 0.0
        with np.errstate(under="ignore"):  # reaching 0 is what is measured
            for depth in range(1, max_depth + 1):
                new = dt.type(product * c)
                if new == 0:
                    measured = depth
                    break
                if new == product:  # rounding returns the same number: it will never reach 0
                    stalled = float(product)
                    break
                product = new
        rows.append(UnderflowDepth(factor=cf, dtype=dt.name, subnormal_depth=sub, zero_depth=zero,
                                   measured_zero_depth=measured, stalled_at=stalled))
    return rows


def constant_factor_products(factor: float = 0.25, max_depth: int = 600,
                             dtypes: tuple[str, ...] = PRODUCT_DTYPES) -> dict[str, np.ndarray]:
    r""":math:`c^L` for L = 1 .. max_depth, by repeated multiplication in each dtype.

    Returns dtype name -> ``(max_depth,)`` array of that dtype (exact zeros once it underflows).
    """
    check.number("factor", factor, low=0, high=1, low_open=True, high_open=True)
    check.number("max_depth", max_depth, low=1, high=100_000, integer=True)
    out = {}
    for name in dtypes:
        dt = check.float_dtype("dtypes", name)
        with np.errstate(under="ignore"):  # the zeros at the end are the point
            out[dt.name] = np.multiply.accumulate(np.full(max_depth, factor, dtype=dt))
    return out


@dataclass(frozen=True)
class ZeroFractions:
    r"""Fraction of products of L uniform factors that are exactly 0 in each dtype, by depth.

    Attributes
    ----------
    depths
        ``(D,)``: 1 .. max_depth.
    trials
        Products per depth.
    measured
        dtype name -> ``(D,)``: fraction of the products, computed by repeated
        multiplication in that dtype, that are exactly 0.
    predicted
        dtype name -> ``(D,)``: :math:`P(P_L < s/2)` for the exact product, with s the
        smallest subnormal (:math:`-\ln P_L \sim \text{Gamma}(L,1)`).
    """

    depths: np.ndarray
    trials: int
    measured: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]

    def median_zero_depth(self, dtype: str) -> int:
        """The first depth at which at least half of the products are 0 (-1 if none)."""
        over = np.nonzero(self.measured[dtype] >= 0.5)[0]
        return int(self.depths[over[0]]) if over.size else -1


def zero_fraction_by_depth(max_depth: int = 900, trials: int = 2000, dtypes: tuple[str, ...] = PRODUCT_DTYPES, *,
                           rng: np.random.Generator) -> ZeroFractions:
    """Multiply U(0,1) factors one layer at a time in each dtype and count exact zeros at every depth.

    The same factors (drawn in float64, then rounded to each dtype) are used for every dtype.

    Parameters
    ----------
    max_depth
        Largest L (1 to 5000).
    trials
        Products per depth (1 to 10**5).
    dtypes
        Names of float types.
    rng
        Generator for the factors.
    """
    check.number("max_depth", max_depth, low=1, high=5000, integer=True)
    check.number("trials", trials, low=1, high=100_000, integer=True)
    check.rng("rng", rng)
    names = [check.float_dtype("dtypes", d).name for d in dtypes]
    u = 1.0 - rng.random((max_depth, trials))
    depths = np.arange(1, max_depth + 1)
    measured, predicted = {}, {}
    for name in names:
        # multiply.accumulate runs down each column one factor at a time, rounding every partial product
        # to the dtype: the same numbers as a loop over the layers, in one call
        with np.errstate(under="ignore"):  # the exact zeros are what is counted
            products = np.multiply.accumulate(u.astype(name), axis=0)
        measured[name] = np.count_nonzero(products == 0, axis=1) / trials
        cut = math.log(2.0) - math.log(float_limits(name).smallest_subnormal)  # -ln(s/2); s/2 is 0 in float64
        # P(exact product < s/2) = P(Gamma(L, 1) > cut) = P(Poisson(cut) <= L - 1): a running sum of the
        # Poisson probabilities, computed from their logs (e^-cut alone underflows for float64's cut of 745)
        k = np.arange(max_depth, dtype=np.float64)
        log_factorial = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
        predicted[name] = np.minimum(np.cumsum(np.exp(k * math.log(cut) - cut - log_factorial)), 1.0)
    return ZeroFractions(depths=depths, trials=int(trials), measured=measured, predicted=predicted)


@dataclass(frozen=True)
class ProductDistribution:
    r"""Products of ``depth`` random factors computed in a float type: what the widget shows.

    Attributes
    ----------
    depth, factor, spread, p_active, dtype, trials
        The settings.
    log10_nonzero
        ``(n,)`` float64: :math:`\log_{10}` of the products that are not 0.
    zero_count, zero_fraction
        How many products are exactly 0 (and which fraction of ``trials``).
    limits
        :class:`FloatLimits` of ``dtype``.
    bound_log10
        :math:`\log_{10}` of the largest possible product (0 for uniform, tanh and
        relu; :math:`-L\log_{10}4` for sigmoid).
    exact_log10_quantiles
        10th, 50th, 90th percentile of :math:`\log_{10}` of the exact products
        (from sums of logs of the same factors, without rounding).
    """

    depth: int
    factor: str
    spread: float
    p_active: float
    dtype: str
    trials: int
    log10_nonzero: np.ndarray
    zero_count: int
    zero_fraction: float
    limits: FloatLimits
    bound_log10: float
    exact_log10_quantiles: tuple[float, float, float] = field(default=(math.nan,) * 3)


def product_distribution(depth: int = 50, factor: str = "sigmoid", spread: float = 1.0, p_active: float = 0.5,
                         dtype: str = "float32", trials: int = 3000, *,
                         rng: np.random.Generator) -> ProductDistribution:
    r"""Multiply ``depth`` random factors in ``dtype``, ``trials`` times; count exact zeros.

    Factors: ``"uniform"`` U(0,1); ``"sigmoid"`` :math:`\sigma'(z)` and ``"tanh"``
    :math:`\tanh'(z)` with :math:`z \sim N(0, \text{spread}^2)`; ``"relu"``
    ReLU′ = 1 with probability ``p_active``, else 0. The random draws are float32
    (the same for every dtype, given the seed); each factor is computed from them
    (in float64 when ``dtype`` is float64), rounded to ``dtype``, and multiplied in
    ``dtype`` one layer at a time (each product is rounded to ``dtype``, as a
    backward pass in that dtype would). σ′ and tanh′ are evaluated as
    :math:`e^{-|z|}/(1 + e^{-|z|})^2` and :math:`4\sigma'(2z)`, which are accurate for every z.

    Parameters
    ----------
    depth
        L (1 to 2000).
    factor
        One of :data:`PRODUCT_FACTORS`.
    spread
        Standard deviation of z (0 < spread ≤ 20); used by sigmoid and tanh.
    p_active
        Probability that a ReLU unit is active, in [0, 1]; used by relu.
    dtype
        ``"float16"``, ``"float32"`` or ``"float64"``.
    trials
        Number of products (1 to 10**5).
    rng
        Generator for the factors.
    """
    check.number("depth", depth, low=1, high=2000, integer=True)
    check.choice("factor", factor, PRODUCT_FACTORS)
    check.number("spread", spread, low=0, high=20, low_open=True)
    check.probability("p_active", p_active)
    dt = check.float_dtype("dtype", dtype)
    check.number("trials", trials, low=1, high=100_000, integer=True)
    check.rng("rng", rng)
    shape = (depth, trials)
    # The draws are made in float32 whatever the dtype, so that one seed gives the same factors in every
    # dtype; float32 arithmetic is also several times faster for exp and log, which keeps the widget quick.
    if factor == "uniform":
        u = 1.0 - rng.random(shape, dtype=np.float32)  # in (0, 1]
        logs = np.log(u)
        work = u
    elif factor == "relu":
        active = rng.random(shape, dtype=np.float32) < p_active
        with np.errstate(divide="ignore"):
            logs = np.log(active.astype(np.float32))
        work = active.astype(np.float32)
    else:
        a = np.abs(rng.standard_normal(shape, dtype=np.float32))
        a *= np.float32(spread if factor == "sigmoid" else 2.0 * spread)  # tanh'(z) = 4 sigma'(2z)
        # factors in float64 only when the products are float64: a float32 factor would round the
        # smallest ones (sigma' below 1e-38) before the float64 product sees them
        a_work = a.astype(np.float64) if dt == np.float64 else a
        e = np.exp(-a_work)
        work = 1 + e
        np.square(work, out=work)
        np.divide(e, work, out=work)  # sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2
        e32 = e.astype(np.float32, copy=False)
        logs = np.log1p(e32, out=e32 if e32 is not e else None)
        logs *= -2
        logs -= a
        if factor == "tanh":
            work *= 4
            logs += np.float32(np.log(4.0))
    factors = work.astype(dt, copy=False)
    product = np.ones(trials, dtype=dt)
    # Underflow to 0 is the subject here: numpy would warn at every multiplication that rounds to a
    # subnormal or to 0, so the warning is silenced while the product is formed in the chosen dtype.
    with np.errstate(under="ignore"):
        for i, row in enumerate(factors):
            product *= row
            if i % 32 == 31 and not product.any():
                break  # every product is 0 and stays 0: the remaining factors cannot change that
    nonzero = product != 0
    exact = logs.sum(axis=0, dtype=np.float64) / math.log(10.0)
    # no interpolation between neighbours: an exact product of 0 (ReLU) has log -inf, and -inf - -inf is nan
    q = np.quantile(exact, [0.1, 0.5, 0.9], method="inverted_cdf")
    zeros = int(trials - np.count_nonzero(nonzero))
    return ProductDistribution(
        depth=int(depth), factor=factor, spread=float(spread), p_active=float(p_active), dtype=dt.name,
        trials=int(trials), log10_nonzero=np.log10(product[nonzero].astype(np.float64)), zero_count=zeros,
        zero_fraction=zeros / trials, limits=float_limits(dt.name),
        bound_log10=-depth * math.log10(4.0) if factor == "sigmoid" else 0.0,
        exact_log10_quantiles=(float(q[0]), float(q[1]), float(q[2])),
    )


# --- lost updates ----------------------------------------------------------------------------------------------------

def update_is_lost(w: Any, delta: Any, dtype: str = "float32") -> np.ndarray:
    r"""True where ``w - delta == w`` in ``dtype``: the update is too small to change the stored weight.

    That happens when :math:`|\Delta| \lesssim \tfrac12\,\text{ulp}(w)`
    (``numpy.spacing(w) / 2``): a *relative* threshold, about
    :math:`|w|\,\epsilon/2`, not the absolute machine epsilon.
    """
    dt = check.float_dtype("dtype", dtype)
    w = np.asarray(w, dtype=dt)
    delta = np.asarray(delta, dtype=dt)
    with np.errstate(under="ignore"):
        return np.asarray(w - delta == w)


@dataclass(frozen=True)
class LostUpdates:
    r"""One SGD step on a deep sigmoid MLP in float32: which weights did not change at all.

    Attributes
    ----------
    dtype, lr, depth, width
        The settings.
    unchanged_fraction
        ``(n_dense,)``: per Dense layer, the fraction of W entries that are bit for bit
        the same after the step.
    predicted_fraction
        ``(n_dense,)``: the fraction with :math:`|\eta g| < \tfrac12\,\text{ulp}(w)` (the rule).
    agreement
        Fraction of all weights on which the rule and the observed change agree.
    grad_norms
        ``(n_dense,)``: Frobenius norm of each layer's weight gradient (before the step).
    first_abs_w, first_abs_step, last_abs_w, last_abs_step
        :math:`|w|` and :math:`|\eta g|` of every W entry of the first and last Dense layer (float64).
    """

    dtype: str
    lr: float
    depth: int
    width: int
    unchanged_fraction: np.ndarray
    predicted_fraction: np.ndarray
    agreement: float
    grad_norms: np.ndarray
    first_abs_w: np.ndarray
    first_abs_step: np.ndarray
    last_abs_w: np.ndarray
    last_abs_step: np.ndarray


def lost_updates(X: np.ndarray, y: np.ndarray, *, depth: int = 10, width: int = 32, lr: float = 0.1,
                 dtype: str = "float32", loss: str = "bce_logits", rng: np.random.Generator) -> LostUpdates:
    r"""Build a deep sigmoid MLP in ``dtype``, take one SGD step on (X, y), and see which weights moved.

    The network is ``mlp([D] + [width] * depth + [1], "sigmoid")`` with Glorot
    uniform weights. The step is the engine's :class:`~vanishing.optim.SGD`:
    :math:`w \leftarrow w - \eta g`, computed in ``dtype``.

    Parameters
    ----------
    X, y
        Inputs ``(N, D)`` and targets ``(N,)`` or ``(N, 1)`` (cast to ``dtype``).
    depth, width
        Number and width of the hidden layers.
    lr
        Learning rate η.
    dtype
        Float type of the whole network.
    loss
        A loss name from :data:`vanishing.losses.LOSSES`.
    rng
        Generator for the initial weights.
    """
    check.array("X", X, ndim=2)
    check.number("depth", depth, low=1, high=100, integer=True)
    check.number("width", width, low=1, high=4096, integer=True)
    check.positive("lr", lr)
    dt = check.float_dtype("dtype", dtype)
    check.rng("rng", rng)
    model = mlp([X.shape[1]] + [width] * depth + [1], "sigmoid", rng=rng, dtype=dt)
    loss_fn = make_loss(loss)
    target = np.asarray(y).reshape(-1, 1).astype(dt)
    loss_fn.forward(model.forward(X.astype(dt)), target)
    model.backward(loss_fn.backward().astype(dt, copy=False))
    dense = dense_layers(model)
    before = [layer.params["W"].copy() for _, layer in dense]
    grads = [layer.grads["W"].copy() for _, layer in dense]
    steps = [(np.asarray(lr, dtype=dt) * g) for g in grads]  # the step SGD takes, rounded as SGD rounds it
    with np.errstate(under="ignore"):  # tiny steps of deep layers may be subnormal; that is the subject
        make_optimizer("sgd", model, lr=lr).step()
        predicted = [np.abs(s.astype(np.float64)) < np.spacing(np.abs(w)).astype(np.float64) / 2
                     for s, w in zip(steps, before, strict=True)]
    unchanged = [layer.params["W"] == w for (_, layer), w in zip(dense, before, strict=True)]
    agree = sum(int(np.count_nonzero(p == u)) for p, u in zip(predicted, unchanged, strict=True))
    total = sum(u.size for u in unchanged)
    return LostUpdates(
        dtype=dt.name, lr=float(lr), depth=int(depth), width=int(width),
        unchanged_fraction=np.array([u.mean() for u in unchanged]),
        predicted_fraction=np.array([p.mean() for p in predicted]), agreement=agree / total,
        grad_norms=np.array([float(np.linalg.norm(g.astype(np.float64))) for g in grads]),
        first_abs_w=np.abs(before[0].astype(np.float64)).ravel(),
        first_abs_step=np.abs(steps[0].astype(np.float64)).ravel(),
        last_abs_w=np.abs(before[-1].astype(np.float64)).ravel(),
        last_abs_step=np.abs(steps[-1].astype(np.float64)).ravel(),
    )


# --- small gradients are not optima ----------------------------------------------------------------------------------

def _ramp(p: np.ndarray, c: float) -> tuple[float, np.ndarray]:
    x = p[0]
    return max(0.0, c * x), np.array([c if x > 0 else 0.0])


def _saddle(p: np.ndarray, c: float) -> tuple[float, np.ndarray]:
    x, y = p
    return x * x - y * y, np.array([2.0 * x, -2.0 * y])


STOP_RULE_SURFACES = {"ramp": _ramp, "saddle": _saddle}
r"""Loss surfaces for :func:`descend_with_stop_rule`: ``"ramp"`` :math:`f(x) = \max(0, cx)` (minimum 0 for every x ≤ 0),
``"saddle"`` :math:`f(x, y) = x^2 - y^2` (a saddle at the origin, unbounded below)."""


@dataclass(frozen=True)
class DescentPath:
    r"""A gradient-descent run with the stop rule :math:`\lVert\Delta p\rVert < \text{tol}`.

    Attributes
    ----------
    surface, optimizer, lr, tol, c
        The settings.
    path
        ``(T+1, d)``: the points visited, start included.
    values
        ``(T+1,)``: the loss at each point.
    grad_norms
        ``(T+1,)``: :math:`\lVert\nabla f\rVert` at each point.
    stopped_at
        The step at which the stop rule fired (the update just taken was smaller
        than tol), or -1 if it never did within ``steps``.
    """

    surface: str
    optimizer: str
    lr: float
    tol: float
    c: float
    path: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    stopped_at: int

    @property
    def final(self) -> np.ndarray:
        return self.path[-1]


def descend_with_stop_rule(surface: str, start: tuple[float, ...], *, lr: float = 0.1, steps: int = 1000,
                           tol: float = 1e-6, c: float = 1.0, optimizer: str = "sgd",
                           stop: bool = True) -> DescentPath:
    r"""Run an engine optimizer on a :data:`STOP_RULE_SURFACES` loss from ``start``.

    The point is a :class:`~vanishing.layers.Parameters`; each step sets its
    gradient from the surface and calls ``optimizer.step()``.

    Parameters
    ----------
    surface
        ``"ramp"`` (1-D start) or ``"saddle"`` (2-D start).
    start
        The starting point.
    lr
        Learning rate.
    steps
        Largest number of steps (1 to 10**6).
    tol
        The stop rule: stop after a step with :math:`\lVert\Delta p\rVert <` tol (if ``stop``).
    c
        Slope of the ramp (ignored by the saddle).
    optimizer
        A name from :data:`vanishing.optim.OPTIMIZERS`.
    stop
        Apply the stop rule; with False the run always takes ``steps`` steps.
    """
    fn = check.lookup("surface", surface, STOP_RULE_SURFACES)
    start_arr = check.array("start", np.asarray(start, dtype=np.float64), ndim=1)
    want = 1 if surface == "ramp" else 2
    if start_arr.shape[0] != want:
        raise ValueError(f"start={tuple(start)!r} has {start_arr.shape[0]} coordinates; the {surface!r} surface "
                         f"needs {want}")
    check.positive("lr", lr)
    check.number("steps", steps, low=1, high=1_000_000, integer=True)
    check.non_negative("tol", tol)
    check.positive("c", c)
    point = Parameters(start_arr.copy())
    opt = make_optimizer(optimizer, point, lr=lr)
    path, values, norms = [start_arr.copy()], [], []
    stopped = -1
    for t in range(1, steps + 1):
        value, grad = fn(point.params["w"], c)
        values.append(value)
        norms.append(float(np.linalg.norm(grad)))
        point.grads["w"][...] = grad
        opt.step()
        path.append(point.params["w"].copy())
        if stop and np.linalg.norm(path[-1] - path[-2]) < tol:
            stopped = t
            break
    value, grad = fn(point.params["w"], c)
    values.append(value)
    norms.append(float(np.linalg.norm(grad)))
    return DescentPath(surface=surface, optimizer=optimizer, lr=float(lr), tol=float(tol), c=float(c),
                       path=np.array(path), values=np.array(values), grad_norms=np.array(norms), stopped_at=stopped)


# --- per-layer gradient norms in trained deep sigmoid MLPs -----------------------------------------------------------

@dataclass(frozen=True)
class GradientRatios:
    r"""Per-layer weight-gradient norms of deep sigmoid MLPs during training, by depth.

    Attributes
    ----------
    depths
        ``(K,)``: numbers of hidden layers.
    layer_norms
        depth -> ``(n_dense,)``: each Dense layer's weight-gradient norm, median over the
        recorded training steps (first layer first).
    ratio
        ``(K,)``: first layer's norm / last layer's norm, per depth.
    """

    depths: np.ndarray
    layer_norms: dict[int, np.ndarray]
    ratio: np.ndarray

    def log10_ratio(self, depth: int) -> float:
        return float(np.log10(self.ratio[list(self.depths).index(depth)]))


def gradient_ratio_by_depth(X: np.ndarray, y: np.ndarray, depths: tuple[int, ...] = tuple(range(2, 13)), *,
                            width: int = 16, epochs: int = 5, batch_size: int = 50, lr: float = 0.5,
                            loss: str = "bce_logits", rng: np.random.Generator) -> GradientRatios:
    """Train a sigmoid MLP of each depth with :func:`vanishing.train.fit`; record per-layer gradient norms.

    Each network is ``mlp([D] + [width] * depth + [1], "sigmoid")`` (Glorot
    uniform), trained with SGD; a :class:`vanishing.diagnostics.GradientNorms`
    callback records every Dense layer's weight-gradient norm at every step.

    Parameters
    ----------
    X, y
        Training data.
    depths
        Numbers of hidden layers to try (each 1 to 50).
    width, epochs, batch_size, lr, loss
        Network width and training settings.
    rng
        Generator for weights and batch order.
    """
    check.array("X", X, ndim=2)
    depths = tuple(depths)
    for i, d in enumerate(depths):
        check.number(f"depths[{i}]", d, low=1, high=50, integer=True)
    check.rng("rng", rng)
    norms: dict[int, np.ndarray] = {}
    ratios = []
    for depth in depths:
        model = mlp([X.shape[1]] + [width] * depth + [1], "sigmoid", rng=rng)
        recorder = diagnostics.GradientNorms()
        opt = make_optimizer("sgd", model, lr=lr)
        train.fit(model, loss, opt, X, y, epochs=epochs, batch_size=batch_size, rng=rng, callbacks=[recorder])
        per_layer = np.median(recorder.history, axis=0)
        norms[depth] = per_layer
        ratios.append(per_layer[0] / per_layer[-1])
    return GradientRatios(depths=np.asarray(depths), layer_norms=norms, ratio=np.asarray(ratios))


@dataclass
class RatioSetup:
    """A deep sigmoid MLP at initialisation and a batch of two-moons data, for measuring a gradient ratio.

    Attributes
    ----------
    model
        ``mlp([2] + [width] * depth + [1], "sigmoid")``, Glorot uniform, float64.
    loss
        Binary cross-entropy on logits.
    X, y
        ``(n, 2)`` inputs and ``(n,)`` 0/1 labels.
    depth, width
        The settings.
    """

    model: Sequential
    loss: Any
    X: np.ndarray
    y: np.ndarray
    depth: int
    width: int


def gradient_ratio_setup(depth: int = 10, width: int = 32, n: int = 200, seed: int = 0) -> RatioSetup:
    """Build the network and data of the notebook's predict-then-measure exercise (same seed, same numbers).

    Parameters
    ----------
    depth, width
        Hidden layers and their width.
    n
        Number of two-moons examples (noise 0.1).
    seed
        Seeds the data (``seed``) and the weights (``seed + 1``).
    """
    check.number("depth", depth, low=1, high=50, integer=True)
    check.positive("width", width, integer=True)
    check.positive("n", n, integer=True)
    check.non_negative("seed", seed, integer=True)
    X, y = two_moons(n, noise=0.1, rng=np.random.default_rng(seed))
    model = mlp([2] + [width] * depth + [1], "sigmoid", rng=np.random.default_rng(seed + 1))
    return RatioSetup(model=model, loss=make_loss("bce_logits"), X=X, y=y, depth=int(depth), width=int(width))
