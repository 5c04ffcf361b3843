r"""Activation functions, each a layer and each with its derivative as a plain function.

The shared interface
--------------------
Every activation is a :class:`~vanishing.layers.Layer` and has two formulas:

* ``fn(z)``: the function itself, elementwise, on an array of any shape;
* ``derivative(z)``: :math:`f'(z)`, elementwise, on an array of any shape (for plots, for the
  course's products of derivatives, and for ``backward``).

The layer methods are the same for all of them (:class:`Activation`): ``forward(z)`` keeps ``z`` in
``self.cache["z"]`` and returns ``fn(z)``; ``backward(dout)`` returns ``dout * derivative(z)``.
Only PReLU (the gradient of its slopes) and RReLU (its random slopes in training) add to them.
At a kink (z = 0 for ReLU and its relatives) the derivative takes the value of the left piece.

Dtypes: a float array keeps its dtype; anything else (integers, lists, Python numbers) is computed
in float64 (:func:`_dtype_rule`).

Accuracy: for every finite z in float16, float32 and float64, ``fn`` and ``derivative`` are within a
few ulp of the exact value (float16: half an ulp, since it is computed in float32 and rounded once;
float32 and float64: at most 8 ulp, and 10 for GELU in float64, see :class:`GELU`), and 0 only where
the exact value rounds to 0; no finite input gives an overflow warning or a NaN. Near the zero of
GELU' (z ≈ -0.75) and of SiLU' (z ≈ -1.28) the two terms of the formula cancel, and the error is
that many ulp of the terms rather than of their sum. ``tests/test_activations.py`` measures all of
this against a 60-digit reference.

:data:`ACTIVATIONS` maps names to classes (it feeds the widgets' dropdowns);
:func:`make_activation` builds one by name.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _validate as check
from ._normal import SQRT_2, SQRT_2PI, erfcx, times_gaussian
from .layers import Layer

Formula = Callable[[Any, np.ndarray], np.ndarray]


def _dtype_rule(formula: Formula) -> Formula:
    """Give an ``fn`` or ``derivative`` the module's dtype rule.

    The result has z's dtype if z is a float array, and float64 otherwise. float16 is computed in
    float32 and rounded once at the end: float16's narrow range (largest 65504, smallest positive
    6e-8) would otherwise turn intermediate values such as e^-20 into 0 even where the result is
    representable.
    """

    @functools.wraps(formula)
    def apply(self: Any, z: Any) -> np.ndarray:
        z = np.asarray(z)
        dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
        work = np.dtype(np.float32) if dtype == np.float16 else dtype
        result = np.asarray(formula(self, z.astype(work, copy=False)))
        if result.dtype == dtype:
            return result
        with np.errstate(over="ignore"):  # a float16 result beyond 65504 becomes inf: that is its correct rounding
            return result.astype(dtype)

    return apply


def _times_exp(c: np.ndarray, t: np.ndarray) -> np.ndarray:
    r""":math:`c\,e^t` for t ≤ 0, rounded once at the end: :math:`(c\,e^{t/2})\,e^{t/2}`.

    ``c * np.exp(t)`` rounds :math:`e^t` first; where it is subnormal, that rounding loses the
    precision of the product (or gives 0 although the product is representable).
    """
    half = np.exp(t / 2)
    return (c * half) * half


class Activation(Layer):
    """Base class: ``forward`` caches ``z`` and returns ``fn(z)``; ``backward`` is ``dout * derivative(z)``."""

    name = "activation"

    def fn(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, z: np.ndarray) -> np.ndarray:
        out = self.fn(z)
        self.cache["z"] = z
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.derivative(self.cache["z"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Identity(Activation):
    r""":math:`f(z) = z`, :math:`f'(z) = 1`."""

    name = "identity"

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return z

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.ones_like(z)


class Sigmoid(Activation):
    r"""Logistic sigmoid :math:`\sigma(z) = 1/(1 + e^{-z})`.

    Derivative :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z)) = \sigma(z)\,\sigma(-z) \le 1/4`, with the
    maximum 1/4 at z = 0.

    No exponential of a positive number is taken, so nothing overflows. With :math:`e = e^{-|z|}`,
    ``fn`` is :math:`1/(1 + e)` for z ≥ 0 and :math:`e/(1 + e)` for z < 0 (the same value as
    :math:`e^z/(1 + e^z)`), so small outputs keep their relative precision
    (σ(−40) ≈ 4.25e-18, not 0). ``derivative`` is the even form
    :math:`\sigma'(z) = e^{-|z|}/(1 + e^{-|z|})^2`: σ(z)(1 − σ(z)) would round 1 − σ(z), and with
    it the derivative, to 0 for z above about 37 in float64.
    """

    name = "sigmoid"

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(z))
        return np.where(z < 0, e, 1) / (1 + e)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(z))
        return e / (1 + e) ** 2


class Tanh(Activation):
    r"""Hyperbolic tangent; :math:`\tanh'(z) = 1 - \tanh^2(z) = 1/\cosh^2(z) \le 1`, maximum 1 at z = 0.

    ``derivative`` uses :math:`1/\cosh^2`: :math:`1 - \tanh^2` rounds to 0 from |z| ≈ 19 in float64
    although the exact value stays representable up to |z| ≈ 373. The reciprocal is taken before
    squaring, since :math:`\cosh^2` overflows long before :math:`1/\cosh^2` underflows.
    """

    name = "tanh"

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # cosh overflows only where 1/cosh² is below every float: 0 is right
            sech = 1 / np.cosh(z)
        return sech * sech


class ReLU(Activation):
    r""":math:`f(z) = \max(0, z)`; :math:`f'(z) = 1` for z > 0 and 0 for z ≤ 0."""

    name = "relu"

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, 0.0)


class LeakyReLU(Activation):
    r""":math:`f(z) = z` for z > 0 and :math:`\alpha z` for z ≤ 0 (Maas et al., 2013).

    Derivative: 1 for z > 0 and the constant :math:`\alpha` for z ≤ 0 (not
    :math:`\alpha e^z`: that is ELU's).
    """

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = check.non_negative("alpha", alpha)

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.alpha * z)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, self.alpha)

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha})"


class PReLU(Activation):
    r"""Parametric ReLU (He et al., 2015): Leaky ReLU whose slope is learned.

    :math:`f(z) = z` for z > 0 and :math:`\alpha_j z` for z ≤ 0, one
    :math:`\alpha_j` per unit j (``num_units=1`` shares one slope across units).

    Gradients: :math:`\partial f/\partial z = 1` or :math:`\alpha_j`;
    :math:`\partial L/\partial\alpha_j = \sum_n dout_{nj}\, \min(0, z_{nj})`.

    ``params = {"alpha": (num_units,)}``, initialised to ``alpha`` (0.25 in the paper).
    """

    name = "prelu"

    def __init__(self, num_units: int = 1, alpha: float = 0.25, dtype: Any = np.float64) -> None:
        super().__init__()
        check.positive("num_units", num_units, integer=True)
        check.number("alpha", alpha)
        self.dtype = check.float_dtype("dtype", dtype)
        self.params = {"alpha": np.full(num_units, alpha, dtype=self.dtype)}
        self._init_grads()

    def _slopes(self) -> np.ndarray:
        """The slopes as they broadcast against z: a 0-d view when all units share one, else ``(num_units,)``."""
        alpha = self.params["alpha"]
        return alpha.reshape(()) if alpha.shape == (1,) else alpha

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self._slopes() * z)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, self._slopes())

    @property
    def in_features(self) -> int | None:
        units = self.params["alpha"].shape[0]
        return None if units == 1 else units

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._check_input(z, None, name="z")
        units = self.in_features
        if units is not None and z.shape[1] != units:
            raise ValueError(
                f"PReLU.forward: z has shape {z.shape} but the layer has {units} slopes; "
                f"allowed: (N, {units}) or a PReLU with num_units=1"
            )
        return super().forward(z)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dalpha = np.sum(dout * np.minimum(self.cache["z"], 0), axis=0)
        self.grads["alpha"][...] = dalpha.sum() if self.params["alpha"].shape[0] == 1 else dalpha
        return super().backward(dout)

    def __repr__(self) -> str:
        return f"PReLU(num_units={self.params['alpha'].shape[0]})"


class RReLU(Activation):
    r"""Randomized leaky ReLU, parametrised as in Xu et al. (2015).

    For z ≤ 0, :math:`f(z) = z / a`. In training mode a fresh divisor
    :math:`a \sim U(\text{lower}, \text{upper})` is drawn for every element of
    every batch, and the derivative there is that element's slope 1/a; in evaluation
    mode the divisor is fixed at its mean :math:`(\text{lower} + \text{upper})/2`.
    With the paper's lower = 3, upper = 8, the evaluation slope is 1/5.5 ≈ 0.182.

    (Some libraries instead draw the *slope* from U(1/8, 1/3) and evaluate with
    the mean slope (1/8 + 1/3)/2 ≈ 0.229; that is a different rule.)

    ``fn`` and ``derivative`` are the evaluation-mode ones: slope 2/(lower + upper) for z ≤ 0, and
    in evaluation mode the layer uses them like any activation. In training mode ``forward`` keeps
    the slopes it drew in ``self.cache["slope"]``, and ``backward`` multiplies by them.
    """

    name = "rrelu"

    def __init__(self, lower: float = 3.0, upper: float = 8.0, *, rng: np.random.Generator) -> None:
        super().__init__()
        check.number("lower", lower, low=1)
        check.number("upper", upper, low=lower)
        self.lower, self.upper = float(lower), float(upper)
        self.rng = check.rng("rng", rng)

    @property
    def eval_slope(self) -> float:
        return 2.0 / (self.lower + self.upper)

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.eval_slope * z)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, self.eval_slope)

    def forward(self, z: np.ndarray) -> np.ndarray:
        if not self.training:
            self.cache["slope"] = None  # evaluation: fn(z) forward and dout * derivative(z) back, as any activation
            return super().forward(z)
        # training: a fresh divisor a ~ U(lower, upper) for every element, whose slope 1/a is f'(z) there
        slope = (1 / self.rng.uniform(self.lower, self.upper, size=np.shape(z))).astype(z.dtype)
        out = np.where(z > 0, z, slope * z)
        self.cache.update(z=z, slope=slope, out=out)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.cache["slope"] is None:
            return super().backward(dout)
        return dout * np.where(self.cache["z"] > 0, 1, self.cache["slope"])

    def __repr__(self) -> str:
        return f"RReLU(lower={self.lower}, upper={self.upper})"


class ELU(Activation):
    r"""Exponential linear unit (Clevert et al., 2016).

    :math:`f(z) = z` for z > 0 and :math:`\alpha(e^z - 1)` for z ≤ 0, which
    saturates to :math:`-\alpha` as z → −∞.

    Derivative: 1 for z > 0 and :math:`\alpha e^z` for z ≤ 0. That also equals
    :math:`f(z) + \alpha`, but computed from the output that form rounds to exactly 0 once
    :math:`e^z` is below half the spacing of the floats next to α (with α = 1: from z ≈ −37.4
    in float64, −17.3 in float32, −8.3 in float16), while :math:`\alpha e^z` is a float down to
    z ≈ −745 (−104 in float32, −17.3 in float16): ``derivative`` computes :math:`\alpha e^z` itself.
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check.non_negative("alpha", alpha)

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0)))  # expm1: accurate near 0

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, _times_exp(self.alpha, np.minimum(z, 0)))

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha})"


class SELU(Activation):
    r"""Scaled ELU (Klambauer et al., 2017): :math:`\lambda\,\mathrm{ELU}_\alpha(z)`.

    With :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507`
    (the paper's fixed point for zero mean and unit variance).
    Derivative: :math:`\lambda` for z > 0 and :math:`\lambda\alpha e^z` for z ≤ 0
    (computed as such, for the reason given under :class:`ELU`).
    """

    name = "selu"
    alpha = 1.6732632423543772
    scale = 1.0507009873554805

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # λz beyond the largest float becomes inf: that is its correct rounding
            return self.scale * np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0)))

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, self.scale, _times_exp(self.scale * self.alpha, np.minimum(z, 0)))


class GELU(Activation):
    r"""Gaussian error linear unit (Hendrycks & Gimpel, 2016): :math:`f(z) = z\,\Phi(z)`.

    :math:`\Phi` is the standard normal CDF and :math:`\varphi` its density. Derivative:
    :math:`f'(z) = \Phi(z) + z\,\varphi(z)`; it is 0 at z ≈ −0.75, negative below, and
    peaks at about 1.13 near z ≈ 1.41.

    This is the exact GELU, not the tanh approximation
    :math:`\tfrac12 z(1 + \tanh(\sqrt{2/\pi}(z + 0.044715 z^3)))` that some libraries offer as an
    option. numpy has no erf: :math:`\Phi` comes from Cody's rational approximations of erfc
    (:mod:`vanishing._normal`), through the Gaussian tail
    :math:`\Phi(-u) = \tfrac12\,\mathrm{erfcx}(u/\sqrt2)\,e^{-u^2/2}` (u = |z|), which keeps small values
    precise for z far below 0:

    * :math:`f(z) = \max(z, 0) - u\,\Phi(-u)`;
    * :math:`f'(z) = g` for z < 0 and :math:`1 - g` for z ≥ 0, with
      :math:`g = \Phi(-u) - u\,\varphi(u) = (\tfrac12\,\mathrm{erfcx}(u/\sqrt2) - u/\sqrt{2\pi})\,e^{-u^2/2}`.

    Accuracy: computed in float64 whatever the input, and rounded once to its dtype, so float16 and
    float32 results are within half an ulp (in float32 arithmetic the errors of the tail's several
    exponentials would add up to about 9 ulp). In float64 the bound is 10 ulp (7.5 measured over
    80,000 inputs): evaluating Cody's degree-8 rational function for erfcx on [0.47, 4] in float64
    rounds to about 6 ulp by itself, although the approximation it evaluates is good to 0.3 ulp.
    """

    name = "gelu"

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        u = np.minimum(np.abs(z), 40.0).astype(np.float64)  # beyond |z| = 40 the tail terms are 0 in every float
        return np.maximum(z, 0) - times_gaussian(u * erfcx(u / SQRT_2) / 2, u)

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        u = np.minimum(np.abs(z), 40.0).astype(np.float64)
        g = times_gaussian(erfcx(u / SQRT_2) / 2 - u / SQRT_2PI, u)
        return np.where(z < 0, g, 1 - g)


class SiLU(Activation):
    r"""Sigmoid-weighted linear unit, or Swish: :math:`f(z) = z\,\sigma(z)`.

    Elfwing et al. (2018) named it SiLU; Ramachandran et al. (2017) found it by search and called
    it Swish (their :math:`z\,\sigma(\beta z)` with β = 1). Derivative:
    :math:`f'(z) = \sigma(z)\,(1 + z(1 - \sigma(z))) = \sigma(z)\,(1 + z\,\sigma(-z))`;
    it is 0 at z ≈ −1.28 (the minimum of f, ≈ −0.28), negative below, and peaks at about 1.1.

    As in :class:`Sigmoid`, :math:`\sigma(z) = e^{\min(z,0)}/(1 + e^{-|z|})`; the factor
    :math:`e^{\min(z,0)}` is applied last, so that for z far below 0, where
    :math:`f(z) \approx z e^z` and :math:`f'(z) \approx (1 + z) e^z` are subnormal, they keep
    their precision.
    """

    name = "silu"

    @_dtype_rule
    def fn(self, z: np.ndarray) -> np.ndarray:
        return _times_exp(z / (1 + np.exp(-np.abs(z))), np.minimum(z, 0))

    @_dtype_rule
    def derivative(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(z))
        sigmoid_of_minus_z = np.exp(-np.maximum(z, 0)) / (1 + e)
        return _times_exp((1 + z * sigmoid_of_minus_z) / (1 + e), np.minimum(z, 0))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, PReLU, RReLU, ELU, SELU, GELU, SiLU)
}
"""Name -> activation class, in the order the course introduces them."""


def make_activation(name: str, *, width: int = 1, rng: np.random.Generator | None = None,
                    dtype: Any = np.float64, **kwargs: Any) -> Activation:
    """Build an activation by name.

    ``width`` is the number of units (used by PReLU, one slope per unit),
    ``rng`` the generator (needed by RReLU), ``dtype`` the parameter dtype
    (PReLU); other keyword arguments go to the class (``alpha``, ``lower``...).
    """
    cls = check.lookup("activation", name, ACTIVATIONS)
    options = [p for p in inspect.signature(cls).parameters if p not in ("num_units", "dtype", "rng")]
    for key, value in kwargs.items():
        if key not in options:
            raise TypeError(f"make_activation({name!r}): {key}={value!r} is not an option of {cls.__name__}; "
                            f"allowed: {', '.join(options) if options else 'none'}")
    if cls is PReLU:
        return PReLU(num_units=width, dtype=dtype, **kwargs)
    if cls is RReLU:
        if rng is None:
            raise TypeError("rng=None: the 'rrelu' activation draws random slopes and needs a numpy.random.Generator")
        return RReLU(rng=rng, **kwargs)
    return cls(**kwargs)
