r"""Notebook 01 (products of derivatives): the bookkeeping behind products of many small factors.

* :func:`gamma_cdf`, :func:`gamma_median`: :math:`-\ln P_L \sim \text{Gamma}(L, 1)` for a product
  :math:`P_L` of L numbers from U(0, 1), so these give exact probabilities about :math:`P_L`;
  :func:`exact_zero_fraction` is the probability that :math:`P_L` lies below half the smallest
  subnormal number of a float type (where rounding to nearest gives 0).
* :func:`derivative_factors`: :math:`\sigma'(z)` and :math:`\tanh'(z)`, accurate for every z.
* :func:`build_chain`, :func:`chain_closed_form`, :func:`chain_gradients`: the single-neuron chain
  :math:`o_1 = w_1`, :math:`o_i = f(w_i o_{i-1})`, :math:`F = o_L`, as engine layers and in closed form.
* :func:`repeated_product`: :math:`c^L` by repeated multiplication in a float type, until it is 0 or
  stops changing.
* :func:`product_distribution`: products of random factors computed in a float type (the widget).

Underflow is the subject here: where a computation rounds to 0 or to a subnormal on purpose, numpy's
underflow warning is silenced (``np.errstate(under="ignore")``). This module imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as check
from ..activations import make_activation
from ..layers import Dense, Sequential

__all__ = [
    "PRODUCT_DTYPES", "PRODUCT_FACTORS", "FloatLimits", "ProductDistribution", "build_chain", "chain_closed_form",
    "chain_gradients", "derivative_factors", "exact_zero_fraction", "float_limits", "gamma_cdf", "gamma_median",
    "product_distribution", "repeated_product",
]

NOTEBOOK = "01"

PRODUCT_FACTORS = ("uniform", "sigmoid", "tanh", "relu")
"""Factor distributions of :func:`product_distribution`: U(0,1), σ′(z), tanh′(z), ReLU′ (1 with probability p)."""

PRODUCT_DTYPES = ("float16", "float32", "float64")
"""The floating-point types the products are computed in."""

CHAIN_ACTIVATIONS = ("sigmoid", "tanh")


# --- the exact distribution of a product of uniforms -----------------------------------------------------------------

def _log_factorials(n: int) -> np.ndarray:
    """``(n,)``: ln k! for k = 0 .. n-1."""
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, max(n, 1), dtype=np.float64)))])[:n]


def gamma_cdf(x: float | np.ndarray, shape: int) -> np.ndarray:
    r""":math:`P(G \le x)` for :math:`G \sim \text{Gamma}(L, 1)` with integer shape L (as an array like x).

    For integer L the L-th arrival of a unit-rate Poisson process comes before time x exactly when at
    least L arrivals happen by x, so :math:`P(G \le x) = 1 - \sum_{k=0}^{L-1} e^{-x} x^k / k!`. The terms
    are summed from their logs, so x of several hundred (where :math:`e^{-x}` underflows) is fine.

    Parameters
    ----------
    x
        Finite, non-negative value(s).
    shape
        L, a positive integer.
    """
    check.positive("shape", shape, integer=True)
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError(f"x={x!r} must be finite and non-negative")
    out = np.zeros_like(x)  # P(G <= 0) = 0
    positive = x > 0
    xp = x[positive][:, None]
    log_terms = np.arange(shape) * np.log(xp) - xp - _log_factorials(shape)
    top = log_terms.max(axis=1, keepdims=True)
    log_sum = top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1))
    out[positive] = np.clip(-np.expm1(log_sum), 0.0, 1.0)
    return out


def gamma_median(shape: int) -> float:
    """The median of Gamma(shape, 1), by bisection on :func:`gamma_cdf`."""
    lo, hi = 0.0, shape + 10.0 * math.sqrt(shape) + 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gamma_cdf(mid, shape)[0] < 0.5 else (lo, mid)
    return 0.5 * (lo + hi)


def exact_zero_fraction(dtype: str, max_depth: int) -> np.ndarray:
    r"""``(max_depth,)``: for L = 1 .. max_depth, :math:`P(P_L < s/2)`, s the smallest subnormal of ``dtype``.

    That is the probability that the exact product of L numbers from U(0, 1) rounds to 0 in ``dtype``:
    :math:`P(\text{Gamma}(L, 1) > -\ln(s/2)) = P(\text{Poisson}(-\ln(s/2)) \le L - 1)`, a running sum of
    Poisson probabilities computed from their logs.
    """
    dt = check.float_dtype("dtype", dtype)
    check.positive("max_depth", max_depth, integer=True)
    cut = math.log(2.0) - math.log(float(np.finfo(dt).smallest_subnormal))  # -ln(s/2); s/2 itself is 0 in float64
    k = np.arange(max_depth, dtype=np.float64)
    return np.minimum(np.cumsum(np.exp(k * math.log(cut) - cut - _log_factorials(max_depth))), 1.0)


# --- derivative factors and the single-neuron chain ------------------------------------------------------------------

def derivative_factors(kind: str, z: np.ndarray) -> np.ndarray:
    r"""The factor :math:`\sigma'(z)` or :math:`\tanh'(z)` (float64, same shape as z), accurate for every z.

    Both derivatives are even, so they are evaluated at :math:`-|z|`, where nothing cancels:
    :math:`\sigma'(z) = e^{-|z|}/(1 + e^{-|z|})^2` and :math:`\tanh'(z) = 4\,\sigma'(2z)`
    (since :math:`\tanh z = 2\sigma(2z) - 1`). :math:`\sigma(z)(1 - \sigma(z))` instead is exactly 0 once
    :math:`\sigma(z)` rounds to 1 (z above about 37 in float64), although the true value is about :math:`e^{-z}`.
    """
    check.choice("kind", kind, CHAIN_ACTIVATIONS)
    a = np.abs(np.asarray(z, dtype=np.float64))
    if kind == "tanh":
        a = 2.0 * a
    e = np.exp(-a)
    factor = e / (1.0 + e) ** 2
    return factor if kind == "sigmoid" else 4.0 * factor


def build_chain(weights: np.ndarray | list[float], activation: str = "sigmoid") -> Sequential:
    r"""The chain :math:`o_1 = w_1`, :math:`o_i = f(w_i o_{i-1})` as engine layers, to be fed the input x = 1.

    Layers: ``Dense(1, 1)`` holding :math:`w_1`, then ``Dense(1, 1)`` holding :math:`w_i` and the activation,
    for i = 2 .. L; every bias is 0. The first Dense outputs :math:`o_1 = w_1`, so after a backward pass
    of 1 from the output, ``model.grads["0.W"]`` is :math:`dF/dw_1`.
    """
    weights = check.array("weights", np.asarray(weights, dtype=np.float64), ndim=1)
    check.choice("activation", activation, CHAIN_ACTIVATIONS)
    rng = np.random.default_rng(0)  # the initializer's draw is overwritten at once
    layers = []
    for i, w in enumerate(weights):
        dense = Dense(1, 1, rng=rng, init="uniform")
        dense.params["W"][0, 0] = w
        layers.append(dense)
        if i > 0:
            layers.append(make_activation(activation))
    return Sequential(layers)


def chain_closed_form(weights: np.ndarray | list[float], activation: str = "sigmoid") -> float:
    r""":math:`dF/dw_1 = \prod_{i=2}^L w_i\,f'(w_i o_{i-1})`, by a plain loop (no engine layers).

    The outputs :math:`o_i` come from numpy's ``tanh`` or :math:`1/(1 + e^{-z})`, the factors from
    :func:`derivative_factors`.
    """
    weights = check.array("weights", np.asarray(weights, dtype=np.float64), ndim=1)
    check.choice("activation", activation, CHAIN_ACTIVATIONS)
    o, product = weights[0], 1.0
    with np.errstate(over="ignore"):  # 1 / (1 + e^{-z}) is 0 where e^{-z} overflows: right
        for w in weights[1:]:
            z = w * o
            product *= w * float(derivative_factors(activation, z))
            o = np.tanh(z) if activation == "tanh" else 1.0 / (1.0 + np.exp(-z))
    return float(product)


def chain_gradients(weight: float, max_depth: int = 30, *, first_weight: float = 1.0,
                    activation: str = "sigmoid") -> tuple[np.ndarray, np.ndarray]:
    r"""dF/dw1 of the chains with :math:`w_1` = ``first_weight`` and every later :math:`w_i` = ``weight``.

    Returns ``(engine, closed_form)``, each ``(max_depth,)``: entry L - 1 belongs to the chain of L
    layers, by the engine's backward pass and by :func:`chain_closed_form`.
    """
    check.number("weight", weight)
    check.positive("max_depth", max_depth, integer=True)
    weights = np.r_[float(first_weight), np.full(max_depth - 1, float(weight))]
    full = build_chain(weights, activation)
    engine = np.empty(max_depth)
    for L in range(1, max_depth + 1):
        chain = Sequential(full.layers[:2 * L - 1])  # Dense, then (Dense, f) per further layer
        chain.forward(np.ones((1, 1)))
        chain.backward(np.ones((1, 1)))
        engine[L - 1] = chain.grads["0.W"][0, 0]
    closed = np.array([chain_closed_form(weights[:L], activation) for L in range(1, max_depth + 1)])
    return engine, closed


# --- floating point --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FloatLimits:
    """The limits of a float type that decide when a product becomes 0 (from ``numpy.finfo``).

    ``smallest_normal`` (below it numbers are subnormal), ``smallest_subnormal`` (the smallest positive
    number s; a result below s/2, or exactly s/2, rounds to 0) and ``eps`` (the gap between 1 and the
    next number), all as Python floats.
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


def repeated_product(factor: float, dtype: str, max_depth: int = 100_000) -> tuple[int, float]:
    """Multiply 1 by ``factor`` again and again in ``dtype`` (every product rounded to ``dtype``).

    Returns ``(zero_depth, stalled_at)``: the first L at which the product is exactly 0 and 0.0; or -1
    and the value at which a multiplication first gave back the same number (it will then never change
    again); or -1 and the last value if neither happened within ``max_depth`` multiplications.
    ``factor`` is first rounded to ``dtype``, and must stay strictly between 0 and 1 there.
    """
    dt = check.float_dtype("dtype", dtype)
    check.positive("max_depth", max_depth, integer=True)
    c = dt.type(factor)
    if not 0 < c < 1:
        raise ValueError(f"factor={factor!r} is {float(c)} in {dt.name}; allowed: a factor that {dt.name} stores "
                         f"strictly between 0 and 1")
    product = dt.type(1.0)
    with np.errstate(under="ignore"):  # reaching 0 is what is measured
        for depth in range(1, max_depth + 1):
            new = dt.type(product * c)
            if new == 0:
                return depth, 0.0
            if new == product:
                return -1, float(product)
            product = new
    return -1, float(product)


# --- the widget: random factors multiplied in a float type ----------------------------------------------------------

@dataclass(frozen=True)
class ProductDistribution:
    r"""Products of ``depth`` random factors computed in a float type (see :func:`product_distribution`).

    Attributes
    ----------
    depth, factor, spread, p_active, dtype, trials
        The settings.
    log10_nonzero
        ``(n,)`` float64: :math:`\log_{10}` of the products that are not 0.
    zero_count, zero_fraction
        How many products are exactly 0, and which fraction of ``trials``.
    limits
        :class:`FloatLimits` of ``dtype``.
    bound_log10
        :math:`\log_{10}` of the largest possible product (:math:`-L\log_{10}4` for sigmoid, else 0).
    exact_log10_quantiles
        10th, 50th, 90th percentile of :math:`\log_{10}` of the exact products (sums of the logs of
        the same factors, without rounding).
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
    exact_log10_quantiles: tuple[float, float, float]


def _random_factors(factor: str, shape: tuple[int, int], dt: np.dtype, spread: float, p_active: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""``(factors in dt, their natural logs in float32)``, both of ``shape``; the draws are float32.

    σ′ and tanh′ are :math:`e^{-|z|}/(1 + e^{-|z|})^2` (tanh′(z) = 4σ′(2z)), computed in float64 when
    ``dt`` is float64 (a float32 factor would round the smallest ones before the float64 product sees them);
    their logs, :math:`-|z| - 2\ln(1 + e^{-|z|})`, never underflow.
    """
    if factor == "uniform":
        u = 1.0 - rng.random(shape, dtype=np.float32)  # in (0, 1]
        return u.astype(dt), np.log(u)
    if factor == "relu":
        active = (rng.random(shape, dtype=np.float32) < p_active).astype(np.float32)
        with np.errstate(divide="ignore"):
            return active.astype(dt), np.log(active)
    a = np.abs(rng.standard_normal(shape, dtype=np.float32))
    a *= np.float32(spread if factor == "sigmoid" else 2.0 * spread)
    e = np.exp(-(a.astype(np.float64) if dt == np.float64 else a))
    factors, logs = e / (1 + e) ** 2, -2 * np.log1p(e.astype(np.float32)) - a
    if factor == "tanh":
        factors, logs = 4 * factors, logs + np.float32(math.log(4.0))
    return factors.astype(dt), logs


def product_distribution(depth: int = 50, factor: str = "sigmoid", spread: float = 1.0, p_active: float = 0.5,
                         dtype: str = "float32", trials: int = 3000, *,
                         rng: np.random.Generator) -> ProductDistribution:
    r"""Multiply ``depth`` random factors in ``dtype``, ``trials`` times; count the exact zeros.

    Factors: ``"uniform"`` U(0,1); ``"sigmoid"`` :math:`\sigma'(z)` and ``"tanh"`` :math:`\tanh'(z)` with
    :math:`z \sim N(0, \text{spread}^2)`; ``"relu"``: 1 with probability ``p_active``, else 0. The draws
    are float32 (the same for every dtype, given ``rng``'s state); the factors are rounded to ``dtype`` and
    multiplied one layer at a time, each product rounded to ``dtype`` as a backward pass in that type would.

    Parameters
    ----------
    depth
        L, a positive integer.
    factor
        One of :data:`PRODUCT_FACTORS`.
    spread
        Standard deviation of z (positive); used by sigmoid and tanh.
    p_active
        Probability in [0, 1] that a ReLU unit is active; used by relu.
    dtype
        ``"float16"``, ``"float32"`` or ``"float64"``.
    trials
        Number of products (positive).
    rng
        Generator for the factors.
    """
    check.positive("depth", depth, integer=True)
    check.choice("factor", factor, PRODUCT_FACTORS)
    check.positive("spread", spread)
    check.probability("p_active", p_active)
    dt = check.float_dtype("dtype", dtype)
    check.positive("trials", trials, integer=True)
    check.rng("rng", rng)
    factors, logs = _random_factors(factor, (depth, trials), dt, spread, p_active, rng)
    product = np.ones(trials, dtype=dt)
    with np.errstate(under="ignore"):  # products that round to subnormals or to 0 are the subject
        for i, row in enumerate(factors):
            product *= row
            if i % 32 == 31 and not product.any():
                break  # every product is 0 and stays 0
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
