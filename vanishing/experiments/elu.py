r"""Notebook 05 (ELU): zero-centred activations, bias shift, the zig-zag of same-sign updates, and the cost of e^z.

The experiments, each a function returning a small result object:

* :func:`elu_derivative_forms`, :func:`elu_backward_zero`: ELU,
  :math:`f(z) = z` for :math:`z > 0` and :math:`\alpha(e^z - 1)` otherwise, has
  :math:`f'(z) = \alpha e^z = f(z) + \alpha` for :math:`z \le 0`. The engine's
  backward uses the second form (no exponential); how close the two forms
  are in floating point, and where the backward factor becomes exactly 0.
* :func:`saturation_sides`: which side each activation saturates on
  (:math:`f'(z) \to 0`), and its output range.
* :func:`gaussian_moments`: :math:`E[f(z)]` and :math:`\operatorname{sd}[f(z)]`
  for :math:`z \sim N(0, s^2)`, by quadrature; the ELU :math:`\alpha` that makes
  the mean 0 at :math:`s = 1`.
* :func:`bias_shift_layers`, :func:`bias_shift_comparison`: per-layer mean and
  spread of the activations of a deep MLP at initialisation.
* :func:`zigzag_inputs`, :func:`zigzag_descent`, :func:`zigzag_fastest`,
  :func:`zigzag_comparison`, :func:`zigzag_by_width`: a linear unit
  :math:`\hat y = w \cdot x` fitted by gradient descent. Per example,
  :math:`\partial L/\partial w_i = \delta\, x_i`, so with all-positive inputs
  every update moves both weights the same way; on average, the inputs' mean
  makes the loss surface elongated (LeCun et al., 1998).
* :func:`gradient_sign_patterns`: the same-sign rule in a real layer, per
  example and per mini-batch.
* :func:`time_activations`, :func:`time_training_steps`: wall-clock cost of
  ELU against ReLU and Leaky ReLU (not deterministic; used by the benchmarks too).
* :func:`activation_training`: ReLU, Leaky ReLU, ELU and SELU trained on the
  same task from several seeds.

This module imports numpy only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import _validate as check
from ..activations import ELU, SELU, Activation, make_activation
from ..data import load, train_test_split
from ..diagnostics import collect_activations
from ..layers import Dense, Parameters, Sequential
from ..losses import make_loss
from ..models import mlp
from ..optim import SGD, make_optimizer
from ..tables import text_table
from ..train import DivergenceError, evaluate, fit

__all__ = [
    "ACTIVATION_INITS", "BIAS_SHIFT_ACTIVATIONS", "INIT_RULES", "SIDE_ACTIVATIONS", "ZIGZAG_MODES",
    "ActivationTiming", "ActivationTraining", "BiasShiftLayers", "EluBackwardZero", "EluDerivativeForms",
    "EluExplorerState", "GaussianMoments", "SaturationSide", "SignPatterns", "StepTiming", "WidthConditioning",
    "ZigZagComparison", "ZigZagRun", "activation_training", "bias_shift_comparison", "bias_shift_layers",
    "bias_shift_setup", "bias_shift_table", "elu_backward_zero", "elu_derivative_forms", "elu_derivative_table",
    "elu_explorer_state", "gaussian_moments", "gradient_sign_patterns", "moments_table", "saturation_sides",
    "saturation_table", "time_activations", "time_training_steps", "timing_table", "training_table", "width_table",
    "zigzag_by_width", "zigzag_comparison", "zigzag_descent", "zigzag_fastest", "zigzag_inputs", "zigzag_table",
]

NOTEBOOK = "05"

BIAS_SHIFT_ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu")
"""The activations this notebook compares."""

SIDE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu")
"""The activations of the one-sided / two-sided saturation table."""

INIT_RULES: dict[str, tuple[str, dict[str, float]]] = {
    "he": ("he_normal", {}),
    # LeCun normal, N(0, 1/fan_in): He normal has Var = gain^2 * 2 / fan_in, so gain^2 = 1/2
    "lecun": ("he_normal", {"gain": float(np.sqrt(0.5))}),
}
"""Initialisation rules by name: He normal N(0, 2/fan_in) and LeCun normal N(0, 1/fan_in)."""

ACTIVATION_INITS = {"relu": "he", "leaky_relu": "he", "elu": "he", "selu": "lecun"}
"""The initialisation each activation gets by default: SELU's is the one Klambauer et al. (2017) prescribe."""

ZIGZAG_MODES = ("per_example", "full_batch")
"""Gradient descent on one example per step, or on the mean gradient of all examples."""


def _build(activation: str, alpha: float = 1.0) -> Activation:
    """An activation by name; ``alpha`` is ELU's saturation value (ignored by the others)."""
    check.choice("activation", activation, SIDE_ACTIVATIONS + ("identity",))
    if activation == "elu":
        return ELU(alpha=alpha)
    return make_activation(activation)


# --- ELU's derivative from its output -------------------------------------------------------------------------------

@dataclass(frozen=True)
class EluDerivativeForms:
    r"""ELU's derivative for :math:`z \le 0` computed two ways, at a few z.

    Attributes
    ----------
    alpha
        ELU's :math:`\alpha`.
    z
        The probe points (all :math:`\le 0`), shape (K,).
    exact
        :math:`\alpha e^z`, from ``ELU.derivative``.
    from_output
        :math:`f(z) + \alpha`, computed from the forward output as the engine's
        ``backward`` does (forward on z, backward of 1).
    abs_error, rel_error
        :math:`|\text{from\_output} - \text{exact}|` and that divided by ``exact``.
    max_abs_error
        The largest absolute difference on a fine grid over [z_min, 0].
    """

    alpha: float
    z: np.ndarray
    exact: np.ndarray
    from_output: np.ndarray
    abs_error: np.ndarray
    rel_error: np.ndarray
    max_abs_error: float


def _backward_factor(layer: Activation, z: np.ndarray) -> np.ndarray:
    """What the layer's backward multiplies an incoming gradient of 1 by, for each z (1-D)."""
    layer.forward(z[:, None])
    return layer.backward(np.ones((z.shape[0], 1), dtype=z.dtype))[:, 0]


def elu_derivative_forms(alpha: float = 1.0, z: Sequence[float] = (-0.5, -2.0, -10.0, -20.0, -30.0, -40.0), *,
                         z_min: float = -50.0) -> EluDerivativeForms:
    r"""Compare :math:`\alpha e^z` with :math:`f(z) + \alpha` (what backward computes) for :math:`z \le 0`.

    In exact arithmetic they are equal. In floating point, :math:`f(z) + \alpha`
    subtracts two numbers close to :math:`\alpha` once :math:`e^z` is small, so
    its *relative* error grows as z goes down, while its *absolute* error stays
    below about one rounding error of :math:`\alpha`.
    """
    check.positive("alpha", alpha)
    check.number("z_min", z_min, high=0, high_open=True)
    z_arr = np.asarray(z, dtype=np.float64)
    if z_arr.ndim != 1 or z_arr.size == 0 or np.any(z_arr > 0) or not np.all(np.isfinite(z_arr)):
        raise ValueError(f"z={tuple(z)!r} must be a non-empty sequence of finite numbers <= 0")
    layer = ELU(alpha)
    exact = layer.derivative(z_arr)
    from_output = _backward_factor(layer, z_arr)
    abs_error = np.abs(from_output - exact)
    rel_error = abs_error / exact
    grid = np.linspace(z_min, 0.0, 5001)
    max_abs = float(np.max(np.abs(_backward_factor(layer, grid) - layer.derivative(grid))))
    return EluDerivativeForms(alpha=float(alpha), z=z_arr, exact=exact, from_output=from_output, abs_error=abs_error,
                              rel_error=rel_error, max_abs_error=max_abs)


def elu_derivative_table(forms: EluDerivativeForms) -> str:
    r""":func:`elu_derivative_forms` as a text table, printed so that it reads the same on every machine.

    The relative difference of :math:`f(z) + \alpha` from :math:`\alpha e^z` is compared with the bound
    :math:`\varepsilon e^{-z}` (:math:`\varepsilon` = float64's machine epsilon): one rounding error of
    :math:`\alpha` divided by :math:`\alpha e^z`. The backward value is shown with only as many digits as
    that bound leaves trustworthy, so that a last-bit difference between maths libraries cannot change the text.
    """
    eps = float(np.finfo(np.float64).eps)
    rows = []
    for z, exact, out, rel in zip(forms.z, forms.exact, forms.from_output, forms.rel_error, strict=True):
        bound = eps * float(np.exp(-z))
        if out == 0:
            shown = "0 (exactly)"
        else:
            digits = int(max(1, min(4, np.floor(-np.log10(bound)) - 1)))
            shown = f"{out:.{digits - 1}e}"
        rows.append([f"{z:g}", f"{exact:.3e}", shown, f"{bound:.1e}", "yes" if rel <= bound else "NO"])
    header = ["z", "alpha*e^z (exact)", "f(z)+alpha (backward)", "bound eps*e^-z", "relative difference within it"]
    return text_table(header, rows)


@dataclass(frozen=True)
class EluBackwardZero:
    r"""Where the backward factor of ELU (α = 1) first comes out as exactly 0.

    Attributes
    ----------
    dtype
        The float type.
    backward_zero
        The largest z on the grid (step ``step``) at which ``backward`` (from
        :math:`f(z) + \alpha`) gives exactly 0: :math:`e^z - 1` has rounded to −1.
    predicted
        Where that should happen: :math:`e^z - 1` rounds to −1 once :math:`e^z`
        is at most half the spacing of the float numbers just below 1,
        :math:`2^{-(p+2)}` with p the number of stored mantissa bits, so
        :math:`z \le -(p + 2)\ln 2`.
    derivative_zero
        The largest z on the grid at which ``derivative(z)`` (:math:`e^z`) is 0:
        the exponential underflows.
    """

    dtype: str
    backward_zero: float
    predicted: float
    derivative_zero: float


def _first_zero(values: np.ndarray, z: np.ndarray) -> float:
    hits = np.flatnonzero(values == 0)
    return float(z[hits[0]]) if hits.size else float("nan")


def elu_backward_zero(dtype: str = "float64", *, step: float = 0.01, z_min: float = -800.0) -> EluBackwardZero:
    """Scan z from 0 down to ``z_min`` and find where ELU's backward and derivative become exactly 0 (α = 1)."""
    dt = check.float_dtype("dtype", dtype)
    check.positive("step", step)
    check.number("z_min", z_min, high=-1)
    z = -np.arange(0.0, -z_min + step / 2, step)
    layer = ELU(1.0)
    zt = z.astype(dt)
    with np.errstate(under="ignore"):  # the exact zeros are what is measured
        backward = _backward_factor(layer, zt)
        derivative = layer.derivative(zt)
    bits = np.finfo(dt).nmant
    return EluBackwardZero(dtype=dt.name, backward_zero=_first_zero(backward, z), predicted=-(bits + 2) * np.log(2.0),
                           derivative_zero=_first_zero(derivative, z))


# --- which side saturates -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaturationSide:
    r"""How an activation behaves far out on each side.

    Attributes
    ----------
    activation, alpha
        The name, and ELU's α (unused by the others).
    probe, derivative
        Points z and :math:`f'(z)` there (from the engine's ``derivative``).
    lower, upper
        :math:`f(-10^4)` and :math:`f(10^4)`; ``lower_bounded``/``upper_bounded``
        say whether f has stopped moving there (:math:`|f(\mp 10^4) - f(\mp 10^3)| < 10^{-9}`).
    saturates_negative, saturates_positive
        :math:`f'(\mp 30) < 10^{-6}`: the derivative goes to 0 on that side.
    """

    activation: str
    alpha: float
    probe: np.ndarray
    derivative: np.ndarray
    lower: float
    upper: float
    lower_bounded: bool
    upper_bounded: bool
    saturates_negative: bool
    saturates_positive: bool

    @property
    def sides(self) -> str:
        """"both", "negative only", "positive only" or "neither"."""
        neg, pos = self.saturates_negative, self.saturates_positive
        return {(True, True): "both", (True, False): "negative only", (False, True): "positive only",
                (False, False): "neither"}[(neg, pos)]

    @property
    def output_range(self) -> str:
        low = f"{self.lower:.4g}" if self.lower_bounded else "-inf"
        high = f"{self.upper:.4g}" if self.upper_bounded else "inf"
        return f"({low}, {high})"


def saturation_sides(activations: Sequence[str] = SIDE_ACTIVATIONS, *, alpha: float = 1.0,
                     probe: Sequence[float] = (-30.0, -5.0, 5.0, 30.0)) -> list[SaturationSide]:
    """The saturation sides and output range of each activation (ELU with ``alpha``; Leaky ReLU slope 0.01)."""
    check.positive("alpha", alpha)
    probe_arr = np.asarray(probe, dtype=np.float64)
    out = []
    for name in activations:
        f = _build(name, alpha)
        far = f.fn(np.array([-1e4, -1e3, 1e3, 1e4]))
        with np.errstate(under="ignore"):
            d = f.derivative(probe_arr)
            d_far = f.derivative(np.array([-30.0, 30.0]))
        out.append(SaturationSide(
            activation=name, alpha=float(alpha), probe=probe_arr, derivative=d, lower=float(far[0]),
            upper=float(far[3]),
            lower_bounded=bool(abs(far[0] - far[1]) < 1e-9), upper_bounded=bool(abs(far[3] - far[2]) < 1e-9),
            saturates_negative=bool(d_far[0] < 1e-6), saturates_positive=bool(d_far[1] < 1e-6)))
    return out


def saturation_table(sides: list[SaturationSide]) -> str:
    """:func:`saturation_sides` as a text table."""
    probe = sides[0].probe
    header = ["unit", *[f"f'({z:g})" for z in probe], "output range", "saturates (f' -> 0)"]
    rows = [[s.activation, *[f"{d:.2g}" for d in s.derivative], s.output_range, s.sides] for s in sides]
    return text_table(header, rows)


# --- mean and spread of f(z) for Gaussian z -------------------------------------------------------------------------

@dataclass(frozen=True)
class GaussianMoments:
    r""":math:`E[f(z)]` and :math:`\operatorname{sd}[f(z)]` for :math:`z \sim N(0, s^2)`.

    Attributes
    ----------
    activations, spreads
        Rows and columns of the arrays.
    mean, std
        Shape (len(activations), len(spreads)).
    alpha
        ELU's α used for the ``"elu"`` row.
    elu_zero_mean_alpha
        The α for which :math:`E[\mathrm{ELU}_\alpha(z)] = 0` at s = 1:
        :math:`\alpha_0 = E[\max(z,0)] / E[1 - e^{z};\, z < 0]`.
    selu_alpha
        SELU's α (Klambauer et al., 2017), for comparison.
    """

    activations: tuple[str, ...]
    spreads: tuple[float, ...]
    mean: np.ndarray
    std: np.ndarray
    alpha: float
    elu_zero_mean_alpha: float
    selu_alpha: float


def _gauss_grid(points: int = 40001, half_width: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Points u and trapezoid weights of the standard normal density on [-half_width, half_width] (0 on the grid)."""
    u = np.linspace(-half_width, half_width, points)
    w = np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi) * (u[1] - u[0])
    w[[0, -1]] *= 0.5
    return u, w


def gaussian_moments(activations: Sequence[str] = ("relu", "leaky_relu", "elu", "selu", "tanh"),
                     spreads: Sequence[float] = (0.5, 1.0, 2.0), *, alpha: float = 1.0) -> GaussianMoments:
    r"""Mean and standard deviation of :math:`f(z)`, :math:`z \sim N(0, s^2)`, by the trapezoid rule.

    The integrals :math:`\int f(su)\,\varphi(u)\,du` are computed on a grid of
    40,001 points over :math:`u \in [-12, 12]` with the kink at 0 on a grid
    point: accurate to about :math:`10^{-7}`, deterministic, and using the
    engine's own ``fn``.
    """
    check.positive("alpha", alpha)
    spreads_t = tuple(float(check.positive("spreads[i]", s)) for s in spreads)
    u, w = _gauss_grid()
    mean = np.empty((len(activations), len(spreads_t)))
    std = np.empty_like(mean)
    for i, name in enumerate(activations):
        f = _build(name, alpha)
        for j, s in enumerate(spreads_t):
            a = f.fn(s * u)
            m = float(np.sum(w * a))
            mean[i, j] = m
            std[i, j] = float(np.sqrt(max(np.sum(w * (a - m) ** 2), 0.0)))
    positive_part = float(np.sum(w * np.maximum(u, 0.0)))
    negative_part = float(np.sum(w * np.where(u < 0, -np.expm1(np.minimum(u, 0.0)), 0.0)))
    return GaussianMoments(activations=tuple(activations), spreads=spreads_t, mean=mean, std=std, alpha=float(alpha),
                           elu_zero_mean_alpha=positive_part / negative_part, selu_alpha=float(SELU.alpha))


def moments_table(moments: GaussianMoments) -> str:
    """:func:`gaussian_moments` as a text table: mean (sd) for each spread."""
    header = ["unit", *[f"z ~ N(0, {s:g}^2): mean (sd)" for s in moments.spreads]]
    # round, then + 0.0: a mean that is 0 up to rounding (tanh's, by symmetry) prints as +0.000 whatever the sign
    # of its last bit, which differs between numpy builds
    rows = [[name, *[f"{round(float(m), 3) + 0.0:+.3f} ({d:.3f})"
                     for m, d in zip(moments.mean[i], moments.std[i], strict=True)]]
            for i, name in enumerate(moments.activations)]
    return text_table(header, rows)


# --- bias shift: per-layer means of a deep MLP ----------------------------------------------------------------------

@dataclass(frozen=True)
class BiasShiftLayers:
    r"""Per-layer statistics of a deep MLP's hidden activations at initialisation.

    The input is :math:`X \sim N(0, 1)` of shape (n, width), so it is zero-centred;
    every hidden layer is Dense(width, width) + activation, biases 0.

    Attributes
    ----------
    activation, alpha, init
        The settings (``alpha`` is used by ELU only; ``init`` is a key of :data:`INIT_RULES`).
    depth, width, n
        Hidden layers, units per layer, examples.
    mean, std
        Per hidden layer: mean and standard deviation of all its outputs (over examples and units).
    unit_mean_low, unit_mean_high
        Per hidden layer: the 10th and 90th percentile, over units, of each unit's mean
        output over the examples (the "bias" that unit hands to the next layer).
    negative_units
        Per hidden layer: the fraction of units whose mean output is below 0 (they
        offset the positive ones in the next layer's sums).
    """

    activation: str
    alpha: float
    init: str
    depth: int
    width: int
    n: int
    mean: np.ndarray
    std: np.ndarray
    unit_mean_low: np.ndarray
    unit_mean_high: np.ndarray
    negative_units: np.ndarray

    @property
    def mean_over_std(self) -> np.ndarray:
        """mean / std per layer: the mean measured in units of the spread (scale-free)."""
        return self.mean / self.std


def bias_shift_layers(activation: str = "relu", *, depth: int = 20, width: int = 64, n: int = 512,
                      alpha: float = 1.0, init: str | None = None, rng: np.random.Generator) -> BiasShiftLayers:
    """Measure the per-layer mean and spread of a deep MLP's activations on zero-centred Gaussian inputs.

    Parameters
    ----------
    activation
        One of :data:`BIAS_SHIFT_ACTIVATIONS` (or ``"tanh"``, for contrast).
    depth, width, n
        Hidden layers (1-100), units per layer (2-512), examples (2-10,000).
    alpha
        ELU's α.
    init
        ``"he"`` or ``"lecun"`` (:data:`INIT_RULES`); None takes :data:`ACTIVATION_INITS`
        (LeCun normal for SELU, He normal for the others).
    rng
        Draws the inputs first, then the weights: the same seed gives the same
        inputs and the same weight draws (up to the init's scale) for every activation.
    """
    check.choice("activation", activation, BIAS_SHIFT_ACTIVATIONS + ("tanh",))
    check.number("depth", depth, low=1, high=100, integer=True)
    check.number("width", width, low=2, high=512, integer=True)
    check.number("n", n, low=2, high=10_000, integer=True)
    check.positive("alpha", alpha)
    init = ACTIVATION_INITS.get(activation, "lecun") if init is None else init
    scheme, options = check.lookup("init", init, INIT_RULES)
    check.rng("rng", rng)
    X = rng.standard_normal((n, width))
    model = mlp([width] * (depth + 1) + [1], activation, rng=rng, init=scheme, init_options=options,
                activation_options={"alpha": alpha} if activation == "elu" else None)
    with np.errstate(over="ignore", invalid="ignore"):  # a huge init is a setting to look at, not an error here
        outs = [la.out for la in collect_activations(model, X) if isinstance(la.layer, Activation)]
    outs = outs[:depth]  # the hidden activations (no output activation is added)
    unit_means = np.array([o.mean(axis=0) for o in outs])
    return BiasShiftLayers(
        activation=activation, alpha=float(alpha), init=init, depth=int(depth), width=int(width), n=int(n),
        mean=np.array([o.mean() for o in outs]), std=np.array([o.std() for o in outs]),
        unit_mean_low=np.percentile(unit_means, 10, axis=1), unit_mean_high=np.percentile(unit_means, 90, axis=1),
        negative_units=np.mean(unit_means < 0, axis=1))


def bias_shift_setup(activation: str = "relu", *, depth: int = 8, width: int = 32, n: int = 128,
                     seed: int = 0) -> tuple[Sequential, np.ndarray]:
    """The network and inputs of the notebook's exercise: ``(model, X)`` as :func:`bias_shift_layers` builds them.

    ``X`` is N(0, 1) of shape (n, width); ``model`` is ``mlp([width] * (depth + 1) + [1], activation)``
    with the activation's default init (:data:`ACTIVATION_INITS`), drawn from ``default_rng(seed)``.
    """
    check.choice("activation", activation, BIAS_SHIFT_ACTIVATIONS)
    check.non_negative("seed", seed, integer=True)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    scheme, options = INIT_RULES[ACTIVATION_INITS[activation]]
    return mlp([width] * (depth + 1) + [1], activation, rng=rng, init=scheme, init_options=options), X


def bias_shift_comparison(activations: Sequence[str] = BIAS_SHIFT_ACTIVATIONS, *, depth: int = 20, width: int = 64,
                          n: int = 512, alpha: float = 1.0, seed: int = 0,
                          inits: Mapping[str, str] | None = None) -> dict[str, BiasShiftLayers]:
    """:func:`bias_shift_layers` for several activations, each from ``numpy.random.default_rng(seed)``.

    Every activation sees the same inputs and the same weight draws (SELU's
    LeCun init is the He draw scaled by 1/√2). ``inits`` overrides the default
    init per activation.
    """
    check.non_negative("seed", seed, integer=True)
    inits = dict(inits or {})
    return {name: bias_shift_layers(name, depth=depth, width=width, n=n, alpha=alpha, init=inits.get(name),
                                    rng=np.random.default_rng(seed)) for name in activations}


def bias_shift_table(comparison: Mapping[str, BiasShiftLayers], layers: Sequence[int] = (1, 5, 10, 20)) -> str:
    """Per-layer mean (sd) for chosen hidden layers (1-based), mean/sd averaged over all layers, negative-mean units."""
    header = ["unit", "init", *[f"layer {k}: mean (sd)" for k in layers], "mean/sd, all layers",
              "units with mean < 0"]
    rows = []
    for name, r in comparison.items():
        cells = []
        for k in layers:
            if not 1 <= k <= r.depth:
                raise ValueError(f"layers contains {k}; allowed: 1..{r.depth}")
            cells.append(f"{r.mean[k - 1]:+.2f} ({r.std[k - 1]:.2f})")
        rows.append([name, r.init, *cells, f"{r.mean_over_std.mean():+.2f}", f"{r.negative_units.mean():.0%}"])
    return text_table(header, rows)


# --- the zig-zag toy ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZigZagRun:
    r"""Gradient descent on a linear unit with two weights, :math:`\hat y = w \cdot x`.

    Loss :math:`L(w) = \frac{1}{2N}\sum_n (w \cdot x_n - y_n)^2` with
    :math:`y_n = w^\ast \cdot x_n` (so :math:`w^\ast` is the minimum, loss 0).
    A per-example step uses the gradient of one term, :math:`\delta_n x_n` with
    :math:`\delta_n = w\cdot x_n - y_n`; a full-batch step their mean.

    Attributes
    ----------
    X
        The inputs (N, 2).
    w_star, start, lr, mode, tol
        The settings.
    path
        The weights after every step, starting with ``start``: (steps + 1, 2).
    loss
        :math:`L(w)` along the path (steps + 1,).
    steps_to_tol
        The first step after which :math:`\lVert w - w^\ast\rVert <` tol (−1 if never).
    same_sign, opposite_sign
        Among the updates before reaching tol whose two components are both
        non-zero: the fraction in which they have the same sign / opposite signs.
    diverged
        True if the weights blew up (the run stops there).
    """

    X: np.ndarray
    w_star: np.ndarray
    start: np.ndarray
    lr: float
    mode: str
    tol: float
    path: np.ndarray
    loss: np.ndarray
    steps_to_tol: int
    same_sign: float
    opposite_sign: float
    diverged: bool

    @property
    def condition(self) -> float:
        """Condition number of the loss's Hessian :math:`X^\\top X / N` (1 = round contours)."""
        return _condition(self.X)


def _condition(X: np.ndarray) -> float:
    eig = np.linalg.eigvalsh(X.T @ X / X.shape[0])
    return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


def zigzag_inputs(activation: str = "relu", n: int = 64, *, alpha: float = 1.0, centre: bool = False,
                  width: int = 2, rng: np.random.Generator) -> np.ndarray:
    r"""Inputs of a unit that sits after a layer of ``activation`` units: :math:`x = f(z)`, :math:`z \sim N(0, 1)`.

    ``"identity"`` gives zero-mean Gaussian inputs. ``centre=True`` subtracts
    the sample mean of each input (what a normalisation layer would do), so
    only the mean differs from the uncentred inputs. Shape (n, width).
    """
    check.number("n", n, low=2, high=100_000, integer=True)
    check.number("width", width, low=1, high=4096, integer=True)
    check.rng("rng", rng)
    f = _build(activation, check.positive("alpha", alpha))
    X = f.fn(rng.standard_normal((n, width)))
    if centre:
        X = X - X.mean(axis=0)
    return X


def zigzag_descent(X: np.ndarray, *, lr: float, steps: int = 300, tol: float = 1e-3, mode: str = "per_example",
                   w_star: Sequence[float] = (1.0, -1.0), start: Sequence[float] = (0.0, 0.0),
                   stop_at_tol: bool = False, rng: np.random.Generator) -> ZigZagRun:
    """Run gradient descent with the engine's SGD on a :class:`~vanishing.layers.Parameters` point.

    Per-example mode visits the examples in a random order (``rng``), a new
    order in every pass. The run stops early when the weights leave
    :math:`\\lVert w\\rVert < 10^6` (diverged), and after reaching ``tol`` if
    ``stop_at_tol``; otherwise it runs ``steps`` steps, so that the path shows
    what happens after reaching ``tol`` too.
    """
    X = check.array("X", X, ndim=2)
    check.positive("lr", lr)
    check.number("steps", steps, low=1, high=100_000, integer=True)
    check.positive("tol", tol)
    check.choice("mode", mode, ZIGZAG_MODES)
    check.rng("rng", rng)
    w_star_arr = np.asarray(w_star, dtype=np.float64)
    start_arr = np.asarray(start, dtype=np.float64)
    d = X.shape[1]
    if w_star_arr.shape != (d,) or start_arr.shape != (d,):
        raise ValueError(f"w_star and start must have {d} coordinates (one per input column of X); "
                         f"got {w_star_arr.shape} and {start_arr.shape}")
    y = X @ w_star_arr
    n = X.shape[0]
    point = Parameters(start_arr.copy())
    opt = SGD(point, lr=lr)
    w, grad = point.params["w"], point.grads["w"]
    path = np.empty((steps + 1, d))
    path[0] = w
    order = rng.permutation(n)
    reached, same, opposite, counted, diverged, taken = -1, 0, 0, 0, False, steps
    tol2, per_example, XT = tol * tol, mode == "per_example", X.T
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if per_example:
                k = t % n
                if k == 0 and t > 0:
                    order = rng.permutation(n)
                x = X[order[k]]
                grad[...] = (x @ w - y[order[k]]) * x
            else:
                grad[...] = XT @ (X @ w - y) / n
            if reached < 0 and d == 2:
                g0, g1 = grad
                if g0 != 0 and g1 != 0:
                    counted += 1
                    if (g0 > 0) == (g1 > 0):
                        same += 1
                    else:
                        opposite += 1
            opt.step()
            path[t + 1] = w
            size = w @ w
            if not size < 1e12:  # also catches NaN
                diverged, taken = True, t + 1
                break
            if reached < 0:
                diff = w - w_star_arr
                if diff @ diff < tol2:
                    reached = t + 1
                    if stop_at_tol:
                        taken = t + 1
                        break
    path = path[:taken + 1]
    with np.errstate(over="ignore", invalid="ignore"):
        residual = path @ X.T - y  # (steps + 1, n)
        loss = 0.5 * np.mean(residual * residual, axis=1)
    return ZigZagRun(X=X, w_star=w_star_arr, start=start_arr, lr=float(lr), mode=mode, tol=float(tol), path=path,
                     loss=loss, steps_to_tol=reached, same_sign=same / counted if counted else float("nan"),
                     opposite_sign=opposite / counted if counted else float("nan"), diverged=diverged)


DEFAULT_LR_FACTORS = tuple(float(c) for c in np.geomspace(0.05, 4.0, 15))
"""Learning rates tried by :func:`zigzag_fastest`, as multiples of 1 / mean ‖x‖²."""


def zigzag_fastest(X: np.ndarray, *, lr_factors: Sequence[float] = DEFAULT_LR_FACTORS, steps: int = 300,
                   tol: float = 1e-3, mode: str = "per_example", w_star: Sequence[float] = (1.0, -1.0),
                   start: Sequence[float] = (0.0, 0.0), rng: np.random.Generator) -> ZigZagRun:
    r"""The run that reaches ``tol`` in the fewest steps over a grid of learning rates.

    The rates are ``lr_factors / mean(‖x‖²)``, so that inputs of a different
    size get a comparable grid. Every rate uses the same example order (one
    seed drawn from ``rng``); ties go to the smaller rate. If no rate reaches
    ``tol``, the run that ends closest to :math:`w^\ast` is returned. (A run is
    cut off once it needs more steps than the best so far: it could not win.)
    """
    X = check.array("X", X, ndim=2)
    check.rng("rng", rng)
    if len(lr_factors) == 0:
        raise ValueError("lr_factors is empty; give at least one positive number")
    scale = float(np.mean(np.sum(X * X, axis=1)))
    if scale <= 0:
        raise ValueError("X is all zeros: no learning rate can move the weights")
    order_seed = int(rng.integers(2**32))
    best, best_key = None, None
    # largest rates first: they finish (or blow up) quickly, and no later run needs more steps than the best so far
    for c in sorted((check.positive("lr_factors[i]", c) for c in lr_factors), reverse=True):
        budget = best.steps_to_tol if best is not None and best.steps_to_tol > 0 else steps
        run = zigzag_descent(X, lr=c / scale, steps=budget, tol=tol, mode=mode, w_star=w_star, start=start,
                             stop_at_tol=True, rng=np.random.default_rng(order_seed))
        if run.steps_to_tol > 0:
            key = (0, run.steps_to_tol, run.lr)
        else:
            key = (1, float(np.linalg.norm(run.path[-1] - run.w_star)) if not run.diverged else np.inf, run.lr)
        if best_key is None or key < best_key:
            best, best_key = run, key
    return best


@dataclass(frozen=True)
class ZigZagComparison:
    r"""Steps to reach the tolerance for several kinds of inputs, over several draws of the data.

    Attributes
    ----------
    labels
        The kinds of inputs, e.g. ``"ReLU outputs"``.
    mode
        ``"per_example"`` or ``"full_batch"``.
    steps
        (kinds, draws): steps to tol at each kind's fastest learning rate
        (``steps + 1`` where tol was never reached, so medians stay defined).
    reached
        (kinds, draws): whether tol was reached.
    same_sign
        (kinds, draws): fraction of same-sign updates (see :class:`ZigZagRun`).
    mean_input
        (kinds,): the mean input value, over draws, examples and both inputs.
    condition
        (kinds, draws): condition number of :math:`X^\top X/N`.
    examples
        kind -> the fastest run on the first draw (for the figure).
    """

    labels: tuple[str, ...]
    mode: str
    steps: np.ndarray
    reached: np.ndarray
    same_sign: np.ndarray
    mean_input: np.ndarray
    condition: np.ndarray
    examples: dict[str, ZigZagRun]

    def median_steps(self) -> np.ndarray:
        return np.median(self.steps, axis=1)


ZIGZAG_KINDS: dict[str, tuple[str, bool]] = {
    "ReLU outputs": ("relu", False),
    "ELU outputs": ("elu", False),
    "ReLU outputs, centred": ("relu", True),
}
"""The inputs of the notebook's toy: label -> (activation producing them, centred or not)."""


def zigzag_comparison(kinds: Mapping[str, tuple[str, bool]] | None = None, *, n: int = 64, draws: int = 6,
                      mode: str = "per_example", steps: int = 300, tol: float = 1e-3, alpha: float = 1.0,
                      seed: int = 0) -> ZigZagComparison:
    """:func:`zigzag_fastest` on ``draws`` fresh data sets of each kind (label -> (activation, centre)).

    Draw k of every kind uses the same pre-activations z (``default_rng(seed + k)``),
    so the kinds differ only in what the activation (and centring) does to them.
    """
    kinds = dict(ZIGZAG_KINDS if kinds is None else kinds)
    check.number("draws", draws, low=1, high=1000, integer=True)
    check.non_negative("seed", seed, integer=True)
    labels = tuple(kinds)
    shape = (len(labels), draws)
    steps_arr, reached, same, cond = np.empty(shape), np.zeros(shape, bool), np.empty(shape), np.empty(shape)
    mean_input = np.zeros(len(labels))
    examples: dict[str, ZigZagRun] = {}
    for i, label in enumerate(labels):
        activation, centre = kinds[label]
        for k in range(draws):
            rng = np.random.default_rng(seed + k)
            X = zigzag_inputs(activation, n, alpha=alpha, centre=centre, rng=rng)
            run = zigzag_fastest(X, mode=mode, steps=steps, tol=tol, rng=rng)
            reached[i, k] = run.steps_to_tol > 0
            steps_arr[i, k] = run.steps_to_tol if reached[i, k] else steps + 1
            same[i, k] = run.same_sign
            cond[i, k] = _condition(X)
            mean_input[i] += X.mean() / draws
            if k == 0:
                examples[label] = run
    return ZigZagComparison(labels=labels, mode=mode, steps=steps_arr, reached=reached, same_sign=same,
                            mean_input=mean_input, condition=cond, examples=examples)


def zigzag_table(*comparisons: ZigZagComparison) -> str:
    """One row per kind of input: mean input, condition number, same-sign updates, median steps per mode."""
    first = comparisons[0]
    header = ["inputs", "mean x", "condition number", "same-sign updates",
              *[f"median steps ({c.mode.replace('_', '-')})" for c in comparisons]]
    rows = []
    for i, label in enumerate(first.labels):
        same = first.same_sign[i]
        same_text = f"{np.nanmedian(same):.0%}" if np.any(np.isfinite(same)) else "-"
        rows.append([label, f"{first.mean_input[i]:+.2f}", f"{np.median(first.condition[i]):.2f}", same_text,
                     *[f"{np.median(c.steps[i]):.0f}" + ("" if c.reached[i].all() else " (some never)")
                       for c in comparisons]])
    return text_table(header, rows)


@dataclass(frozen=True)
class WidthConditioning:
    r"""Full-batch gradient descent on a linear unit with d inputs, at the best constant step size.

    For the quadratic loss with Hessian :math:`H = X^\top X/N`, the constant step
    :math:`\eta = 2/(\lambda_\max + \lambda_\min)` is the fastest; the error
    then shrinks by at most :math:`(\kappa - 1)/(\kappa + 1)` per step,
    :math:`\kappa = \lambda_\max/\lambda_\min`.

    Attributes
    ----------
    labels, widths
        Kinds of inputs (rows) and numbers of inputs d (columns).
    condition
        (kinds, widths): :math:`\kappa`.
    steps
        (kinds, widths): measured steps until :math:`\lVert w - w^\ast\rVert / \lVert w^\ast\rVert <` tol
        (−1 if not within ``max_steps``).
    """

    labels: tuple[str, ...]
    widths: tuple[int, ...]
    condition: np.ndarray
    steps: np.ndarray
    tol: float


def zigzag_by_width(kinds: Mapping[str, tuple[str, bool]] | None = None, widths: Sequence[int] = (2, 8, 32, 128), *,
                    n: int = 512, tol: float = 1e-3, max_steps: int = 5000, seed: int = 0) -> WidthConditioning:
    r"""How the mean of the inputs slows full-batch gradient descent as the number of inputs d grows.

    The target :math:`w^\ast` has entries ±1 in alternating order (half the
    weights must go up, half down), the start is 0. Each (kind, d) draws its
    pre-activations from ``default_rng(seed)``; the run uses the engine's SGD on
    a :class:`~vanishing.layers.Parameters` point.
    """
    kinds = dict(ZIGZAG_KINDS if kinds is None else kinds)
    check.number("n", n, low=2, high=100_000, integer=True)
    check.positive("tol", tol)
    check.number("max_steps", max_steps, low=1, high=1_000_000, integer=True)
    check.non_negative("seed", seed, integer=True)
    labels = tuple(kinds)
    widths_t = tuple(int(check.number("widths[i]", d, low=1, high=4096, integer=True)) for d in widths)
    condition = np.empty((len(labels), len(widths_t)))
    steps = np.full((len(labels), len(widths_t)), -1, dtype=np.int64)
    for i, label in enumerate(labels):
        activation, centre = kinds[label]
        for j, d in enumerate(widths_t):
            X = zigzag_inputs(activation, n, centre=centre, width=d, rng=np.random.default_rng(seed))
            eig = np.linalg.eigvalsh(X.T @ X / n)
            condition[i, j] = eig[-1] / eig[0]
            w_star = np.where(np.arange(d) % 2 == 0, 1.0, -1.0)
            y = X @ w_star
            point = Parameters(np.zeros(d))
            opt = SGD(point, lr=2.0 / (eig[-1] + eig[0]))
            w, grad = point.params["w"], point.grads["w"]
            target = tol * np.linalg.norm(w_star)
            for t in range(1, max_steps + 1):
                grad[...] = X.T @ (X @ w - y) / n
                opt.step()
                if np.linalg.norm(w - w_star) < target:
                    steps[i, j] = t
                    break
    return WidthConditioning(labels=labels, widths=widths_t, condition=condition, steps=steps, tol=float(tol))


def width_table(result: WidthConditioning) -> str:
    """:func:`zigzag_by_width` as a text table: condition number and steps for each number of inputs."""
    header = ["inputs", *[f"d = {d}: kappa / steps" for d in result.widths]]
    rows = [[label, *[f"{c:.1f} / {s if s > 0 else 'never'}" for c, s in
                      zip(result.condition[i], result.steps[i], strict=True)]]
            for i, label in enumerate(result.labels)]
    return text_table(header, rows)


# --- the same-sign rule in a real layer -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SignPatterns:
    r"""Sign patterns of a hidden Dense layer's weight gradient, per example and per mini-batch.

    The network is ``mlp([2, width, width, 1], activation)`` on two-moons
    points with binary cross-entropy; the layer studied is the second Dense
    layer, whose inputs are the first hidden layer's activations. Column j of
    its weight gradient belongs to unit j: :math:`\partial L/\partial W_{ij} = \sum_n x_{ni}\,\delta_{nj}`.
    A column is *one-signed* when its non-zero entries all have the same sign.

    Attributes
    ----------
    activation, width, batch
        The settings.
    input_negative
        Fraction of the layer's inputs (over the batch) that are negative.
    unit_one_signed_per_example
        Fraction of (example, unit) pairs whose per-example gradient column is one-signed.
    layer_one_signed_per_example
        Fraction of examples whose whole per-example weight gradient (all units) is one-signed.
    units_both_signs_per_example
        Fraction of examples in which some units' columns are all positive and others' all negative.
    unit_one_signed_batch
        Fraction of units whose mini-batch gradient column is one-signed.
    batch_matches_examples
        The mean of the per-example gradients equals the engine's batch gradient (relative difference).
    """

    activation: str
    width: int
    batch: int
    input_negative: float
    unit_one_signed_per_example: float
    layer_one_signed_per_example: float
    units_both_signs_per_example: float
    unit_one_signed_batch: float
    batch_matches_examples: float


def _one_signed(columns: np.ndarray) -> np.ndarray:
    """For each column (last axis = units, second-last = inputs): are its non-zero entries all of one sign?"""
    positive = np.any(columns > 0, axis=-2)
    negative = np.any(columns < 0, axis=-2)
    return ~(positive & negative)


def gradient_sign_patterns(activation: str = "relu", *, width: int = 32, batch: int = 32, alpha: float = 1.0,
                           rng: np.random.Generator) -> SignPatterns:
    """Measure how often a layer's weight-gradient columns are one-signed, per example and per mini-batch.

    Per-example gradients come from the engine itself: one forward and backward
    pass per example (a batch of 1).
    """
    check.choice("activation", activation, BIAS_SHIFT_ACTIVATIONS)
    check.number("width", width, low=2, high=512, integer=True)
    check.number("batch", batch, low=2, high=4096, integer=True)
    check.rng("rng", rng)
    X, y = load("moons", n=batch, rng=rng)
    scheme, options = INIT_RULES[ACTIVATION_INITS[activation]]
    model = mlp([2, width, width, 1], activation, rng=rng, init=scheme, init_options=options,
                activation_options={"alpha": alpha} if activation == "elu" else None)
    loss = make_loss("bce_logits")
    layer = model[2]
    if not isinstance(layer, Dense):
        raise RuntimeError("the second Dense layer is not where it was expected in the MLP")
    per_example = np.empty((batch, width, width))
    for k in range(batch):
        loss.forward(model.forward(X[k:k + 1]), y[k:k + 1])
        model.backward(loss.backward())
        per_example[k] = layer.grads["W"]
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    batch_grad = layer.grads["W"].copy()
    inputs = layer.cache["x"]
    unit_signed = _one_signed(per_example)  # (batch, width)
    # which units' columns are all >= 0 / all <= 0 (and non-zero) in each example
    pos = unit_signed & np.any(per_example > 0, axis=1)
    neg = unit_signed & np.any(per_example < 0, axis=1)
    mean_grad = per_example.mean(axis=0)
    return SignPatterns(
        activation=activation, width=int(width), batch=int(batch), input_negative=float(np.mean(inputs < 0)),
        unit_one_signed_per_example=float(unit_signed.mean()),
        layer_one_signed_per_example=float(np.mean(_one_signed(per_example.reshape(batch, -1, 1))[:, 0])),
        units_both_signs_per_example=float(np.mean(pos.any(axis=1) & neg.any(axis=1))),
        unit_one_signed_batch=float(_one_signed(batch_grad).mean()),
        batch_matches_examples=float(np.linalg.norm(mean_grad - batch_grad) / np.linalg.norm(batch_grad)))


# --- timing (not deterministic: notebooks show it without checking it; benchmarks/ reuse it) ------------------------

@dataclass(frozen=True)
class ActivationTiming:
    """Wall-clock time of an activation layer's forward and backward on one batch (fastest round).

    Attributes
    ----------
    names
        The activations timed.
    shape, dtype
        The batch of pre-activations (drawn from N(0, 1): half of them negative).
    forward, backward
        Seconds per call in the fastest round, one entry per name.
    rounds, number
        Interleaved rounds, and calls per name in each round.
    """

    names: tuple[str, ...]
    shape: tuple[int, int]
    dtype: str
    forward: np.ndarray
    backward: np.ndarray
    rounds: int
    number: int

    def ratio(self, name: str, reference: str = "relu", part: str = "forward") -> float:
        """Median time of ``name`` divided by that of ``reference`` for ``part`` ("forward" or "backward")."""
        values = getattr(self, check.choice("part", part, ("forward", "backward")))
        return float(values[self.names.index(name)] / values[self.names.index(reference)])


def time_activations(names: Sequence[str] = ("relu", "leaky_relu", "elu"), *, shape: tuple[int, int] = (256, 64),
                     dtype: str = "float64", rounds: int = 30, number: int = 10,
                     rng: np.random.Generator) -> ActivationTiming:
    """Time each activation layer's ``forward`` and ``backward`` (the engine's own code) on the same batch.

    The activations take turns within every round, so a burst of load from
    other programs hits them all alike. The result is the mean time per call in
    the fastest round of each: other programs can only add time, so the fastest
    round is the closest to what the code itself costs (the rule :mod:`timeit`
    follows). Timings differ between machines and between runs.
    """
    names = tuple(check.choice("names[i]", name, SIDE_ACTIVATIONS) for name in names)
    check.number("rounds", rounds, low=1, high=10_000, integer=True)
    check.number("number", number, low=1, high=10_000, integer=True)
    dt = check.float_dtype("dtype", dtype)
    z = rng.standard_normal(shape).astype(dt)
    dout = rng.standard_normal(shape).astype(dt)
    layers = [_build(name) for name in names]
    fwd = np.empty((rounds, len(names)))
    bwd = np.empty((rounds, len(names)))
    clock = time.perf_counter
    for layer in layers:  # warm-up
        layer.forward(z)
        layer.backward(dout)
    for r in range(rounds):
        for i in np.roll(np.arange(len(names)), r):
            layer = layers[i]
            start = clock()
            for _ in range(number):
                layer.forward(z)
            middle = clock()
            for _ in range(number):
                layer.backward(dout)
            end = clock()
            fwd[r, i] = (middle - start) / number
            bwd[r, i] = (end - middle) / number
    return ActivationTiming(names=names, shape=tuple(shape), dtype=dt.name, forward=fwd.min(axis=0),
                            backward=bwd.min(axis=0), rounds=int(rounds), number=int(number))


@dataclass(frozen=True)
class StepTiming:
    """Wall-clock time of one training step (forward, loss, backward, SGD) of an MLP per activation (fastest round)."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    batch: int
    step: np.ndarray

    def ratio(self, name: str, reference: str = "relu") -> float:
        return float(self.step[self.names.index(name)] / self.step[self.names.index(reference)])


def time_training_steps(names: Sequence[str] = ("relu", "leaky_relu", "elu"), *,
                        sizes: Sequence[int] = (64, 64, 64, 64, 10), batch: int = 128, rounds: int = 20,
                        number: int = 5, rng: np.random.Generator) -> StepTiming:
    """Time whole training steps of ``mlp(sizes, name)`` with softmax cross-entropy and SGD, interleaved by round.

    As in :func:`time_activations`, the result is the mean time per step in each activation's fastest round.
    """
    names = tuple(check.choice("names[i]", name, SIDE_ACTIVATIONS) for name in names)
    check.number("batch", batch, low=1, high=100_000, integer=True)
    check.number("rounds", rounds, low=1, high=10_000, integer=True)
    check.number("number", number, low=1, high=10_000, integer=True)
    sizes = tuple(sizes)
    x = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], size=batch)
    setups = []
    for name in names:
        model = mlp(sizes, name, rng=np.random.default_rng(0), init="he_normal")
        setups.append((model, make_loss("softmax_ce"), SGD(model, lr=1e-3)))

    def step(setup: tuple) -> None:
        model, loss, opt = setup
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        opt.step()

    for setup in setups:
        step(setup)
    times = np.empty((rounds, len(names)))
    clock = time.perf_counter
    for r in range(rounds):
        for i in np.roll(np.arange(len(names)), r):
            start = clock()
            for _ in range(number):
                step(setups[i])
            times[r, i] = (clock() - start) / number
    return StepTiming(names=names, sizes=sizes, batch=int(batch), step=times.min(axis=0))


def timing_table(layers: ActivationTiming, steps: StepTiming | None = None, reference: str = "relu") -> str:
    """Times in microseconds and ratios to ``reference``, rounded (they vary from run to run)."""
    header = ["unit", "forward (us)", "backward (us)", f"forward / {reference}", f"backward / {reference}"]
    if steps is not None:
        header += ["training step (us)", f"step / {reference}"]
    rows = []
    for i, name in enumerate(layers.names):
        row = [name, f"{layers.forward[i] * 1e6:.0f}", f"{layers.backward[i] * 1e6:.0f}",
               f"{layers.ratio(name, reference, 'forward'):.1f}", f"{layers.ratio(name, reference, 'backward'):.1f}"]
        if steps is not None:
            row += [f"{steps.step[steps.names.index(name)] * 1e6:.0f}", f"{steps.ratio(name, reference):.2f}"]
        rows.append(row)
    return text_table(header, rows)


# --- training the four activations on one task ----------------------------------------------------------------------

@dataclass(frozen=True)
class ActivationTraining:
    """Several activations trained on the same task from the same seeds.

    Attributes
    ----------
    activations, seeds
        Rows and columns of the arrays below.
    epoch_loss
        (activations, seeds, epochs): training loss per epoch (NaN after a divergence).
    test_loss, test_accuracy
        (activations, seeds): on the held-out quarter of the data (NaN if diverged).
    layer_mean_start, layer_mean_end, layer_std_start, layer_std_end
        (activations, seeds, depth): mean and sd of each hidden layer's outputs
        on the training inputs, before and after training (NaN if diverged).
    diverged
        (activations, seeds).
    settings
        The task and training settings, for the text.
    """

    activations: tuple[str, ...]
    seeds: tuple[int, ...]
    epoch_loss: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    layer_mean_start: np.ndarray
    layer_mean_end: np.ndarray
    layer_std_start: np.ndarray
    layer_std_end: np.ndarray
    diverged: np.ndarray
    settings: dict

    def median_curve(self, i: int) -> np.ndarray:
        return np.nanmedian(self.epoch_loss[i], axis=0)

    def band(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The lowest and highest training-loss curve over the seeds (epoch by epoch)."""
        return np.nanmin(self.epoch_loss[i], axis=0), np.nanmax(self.epoch_loss[i], axis=0)


def _hidden_moments(model: Sequential, X: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of each hidden activation layer's outputs on X."""
    outs = [la.out for la in collect_activations(model, X) if isinstance(la.layer, Activation)][:depth]
    return np.array([o.mean() for o in outs]), np.array([o.std() for o in outs])


def activation_training(activations: Sequence[str] = BIAS_SHIFT_ACTIVATIONS, *, seeds: int = 5,
                        dataset: str = "spirals", n: int = 300, depth: int = 6, width: int = 32, epochs: int = 40,
                        batch_size: int = 32, optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.9,
                        alpha: float = 1.0, data_seed: int = 0) -> ActivationTraining:
    """Train ``mlp([2] + [width] * depth + [1], activation)`` with SGD + momentum on one data set, several seeds.

    The data (``load(dataset, n=n)``, split 75/25) come from ``default_rng(data_seed)``.
    Seed s draws the initial weights from ``default_rng(s)`` (so ReLU, Leaky ReLU
    and ELU start from the same He-normal draws, SELU from the same draws scaled
    to LeCun normal) and the batch order from ``default_rng(1000 + s)``.
    Loss: binary cross-entropy on logits. A diverged run is recorded as such.
    """
    activations = tuple(check.choice("activations[i]", a, BIAS_SHIFT_ACTIVATIONS) for a in activations)
    check.number("seeds", seeds, low=1, high=100, integer=True)
    check.number("depth", depth, low=1, high=50, integer=True)
    check.number("width", width, low=1, high=512, integer=True)
    check.number("epochs", epochs, low=1, high=10_000, integer=True)
    check.positive("lr", lr)
    check.non_negative("data_seed", data_seed, integer=True)
    data_rng = np.random.default_rng(data_seed)
    X, y = load(dataset, n=n, rng=data_rng)
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, rng=data_rng)
    A, S = len(activations), seeds
    epoch_loss = np.full((A, S, epochs), np.nan)
    test_loss, test_acc = np.full((A, S), np.nan), np.full((A, S), np.nan)
    mean_start, mean_end = np.full((A, S, depth), np.nan), np.full((A, S, depth), np.nan)
    std_start, std_end = np.full((A, S, depth), np.nan), np.full((A, S, depth), np.nan)
    diverged = np.zeros((A, S), dtype=bool)
    for i, name in enumerate(activations):
        scheme, options = INIT_RULES[ACTIVATION_INITS[name]]
        for s in range(S):
            model = mlp([X.shape[1]] + [width] * depth + [1], name, rng=np.random.default_rng(s), init=scheme,
                        init_options=options, activation_options={"alpha": alpha} if name == "elu" else None)
            mean_start[i, s], std_start[i, s] = _hidden_moments(model, X_train, depth)
            opt = make_optimizer(optimizer, model, lr=lr, **({"momentum": momentum} if optimizer == "sgd" else {}))
            try:
                history = fit(model, "bce_logits", opt, X_train, y_train, epochs=epochs, batch_size=batch_size,
                              rng=np.random.default_rng(1000 + s))
            except DivergenceError as error:
                diverged[i, s] = True
                history = error.history
            epoch_loss[i, s, :len(history.epoch_loss)] = history.epoch_loss
            if not diverged[i, s]:
                result = evaluate(model, "bce_logits", X_test, y_test)
                test_loss[i, s], test_acc[i, s] = result.loss, result.accuracy
                with np.errstate(over="ignore", invalid="ignore"):
                    mean_end[i, s], std_end[i, s] = _hidden_moments(model, X_train, depth)
    settings = {"dataset": dataset, "n": n, "depth": depth, "width": width, "epochs": epochs,
                "batch_size": batch_size, "optimizer": optimizer, "lr": lr, "momentum": momentum, "alpha": alpha}
    return ActivationTraining(activations=activations, seeds=tuple(range(S)), epoch_loss=epoch_loss,
                              test_loss=test_loss, test_accuracy=test_acc, layer_mean_start=mean_start,
                              layer_mean_end=mean_end, layer_std_start=std_start, layer_std_end=std_end,
                              diverged=diverged, settings=settings)


def training_table(result: ActivationTraining) -> str:
    """Median (min-max) over seeds of the final training loss, the test loss and accuracy; mean/sd of the layers.

    The last column is the mean over hidden layers and seeds of each layer's
    mean / sd, before and after training (a scale-free measure of how far the
    activations sit from zero).
    """
    header = ["unit", "final train loss", "test loss", "test accuracy", "layer mean/sd, start -> end", "diverged"]

    def cell(values: np.ndarray, fmt: str) -> str:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return "-"
        return f"{format(np.median(finite), fmt)} ({format(finite.min(), fmt)}-{format(finite.max(), fmt)})"

    rows = []
    for i, name in enumerate(result.activations):
        final = result.epoch_loss[i, :, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            start = result.layer_mean_start[i] / result.layer_std_start[i]
            end = result.layer_mean_end[i] / result.layer_std_end[i]
        end_text = f"{np.nanmean(end):+.2f}" if np.any(np.isfinite(end)) else "-"
        # two decimals: a trained network's loss is the end of many rounded steps, and the BLAS may differ
        rows.append([name, cell(final, ".2f"), cell(result.test_loss[i], ".2f"), cell(result.test_accuracy[i], ".0%"),
                     f"{np.nanmean(start):+.2f} -> {end_text}",
                     f"{int(result.diverged[i].sum())} of {len(result.seeds)}"])
    return text_table(header, rows)


# --- the widget's computation ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EluExplorerState:
    """What the notebook's widget shows: per-layer statistics of one activation (and ReLU's), and the zig-zag toy."""

    layers: BiasShiftLayers
    reference: BiasShiftLayers | None
    zigzag: ZigZagRun
    centre: bool


def elu_explorer_state(activation: str = "elu", *, alpha: float = 1.0, depth: int = 20, init: str = "default",
                       centre: bool = False, width: int = 64, n: int = 256, toy_examples: int = 64,
                       seed: int = 0) -> EluExplorerState:
    """Per-layer mean/std of ``activation`` (and of ReLU with He init, for reference), and the zig-zag toy.

    The toy's two inputs are outputs of the same activation (ELU with ``alpha``)
    on z ~ N(0, 1), centred if ``centre``; the path shown is per-example
    gradient descent at the fastest learning rate of the grid.
    ``init="default"`` uses :data:`ACTIVATION_INITS`.

    The three parts are cached separately (the arguments fully determine them),
    so that a widget recomputes only what a changed control affects: ``centre``
    touches the toy alone, ``depth`` and ``init`` the layer statistics alone.
    The cached results are shared: do not modify their arrays.
    """
    check.non_negative("seed", seed, integer=True)
    check.choice("init", init, ("default", *INIT_RULES))
    alpha = float(check.positive("alpha", alpha))
    layers = _explorer_layers(activation, alpha if activation == "elu" else 1.0, int(depth), init, int(width),
                              int(n), int(seed))
    reference = None
    if activation != "relu" or init not in ("default", "he"):
        reference = _explorer_layers("relu", 1.0, int(depth), "he", int(width), int(n), int(seed))
    run = _explorer_toy(activation, alpha if activation == "elu" else 1.0, bool(centre), int(toy_examples),
                        int(seed))
    return EluExplorerState(layers=layers, reference=reference, zigzag=run, centre=bool(centre))


@lru_cache(maxsize=32)
def _explorer_layers(activation: str, alpha: float, depth: int, init: str, width: int, n: int,
                     seed: int) -> BiasShiftLayers:
    return bias_shift_layers(activation, depth=depth, width=width, n=n, alpha=alpha,
                             init=None if init == "default" else init, rng=np.random.default_rng(seed))


@lru_cache(maxsize=32)
def _explorer_toy(activation: str, alpha: float, centre: bool, toy_examples: int, seed: int) -> ZigZagRun:
    rng = np.random.default_rng(seed)
    X = zigzag_inputs(activation, toy_examples, alpha=alpha, centre=centre, rng=rng)
    return zigzag_fastest(X, rng=rng, steps=200)
