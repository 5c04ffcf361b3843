r"""Activation functions, each a layer and each with its derivative as a plain function.

The shared interface
--------------------
Every activation is a :class:`~vanishing.layers.Layer` (``forward``/``backward``
on a batch ``(N, D)``, same shape out) and also offers

* ``fn(z)``: the function itself, on an array of any shape;
* ``derivative(z)``: :math:`f'(z)`, elementwise, on an array of any shape (for plots
  and for the course's products of derivatives).

Neither ``fn`` nor ``derivative`` changes the layer. At a kink (z = 0 for ReLU
and its relatives) the derivative takes the value of the left piece.

Numerical stability: tanh, ELU and SELU never compute ``exp`` of a positive
number, and sigmoid lets ``exp(-z)`` overflow only where the exact answer is 0
to working precision (silencing that one expected warning), so inputs up to
|z| = 1e4 in float16, float32 and float64 give no overflow warning and no NaN.

:data:`ACTIVATIONS` maps names to classes (it feeds the widgets' dropdowns);
:func:`make_activation` builds one by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as check
from .layers import Layer


class Activation(Layer):
    """Base class: ``forward`` stores ``z`` and ``out``; ``backward`` is ``dout * f'(z)``."""

    name = "activation"

    def fn(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, z: np.ndarray) -> np.ndarray:
        out = self.fn(z)
        self.cache["z"] = z
        self.cache["out"] = out
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.derivative(self.cache["z"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Identity(Activation):
    r""":math:`f(z) = z`, :math:`f'(z) = 1`."""

    name = "identity"

    def fn(self, z: np.ndarray) -> np.ndarray:
        return z

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.ones_like(z)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout


class Sigmoid(Activation):
    r"""Logistic sigmoid :math:`\sigma(z) = 1/(1 + e^{-z})`.

    Derivative :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z)) \le 1/4`, with the
    maximum 1/4 at z = 0.

    Computed as ``1 / (1 + exp(-z))``: for very negative z, ``exp(-z)``
    overflows to inf and the result is exactly 0, which is the correctly
    rounded answer to within the subnormal range (σ(−z) ≈ e^{−z}); the overflow
    is expected there and its warning is silenced. Small outputs keep full
    relative precision (σ(−40) ≈ 4.25e-18, not 0). float16 is computed in
    float32 and rounded back, so that float16's narrow exponent range does not
    zero outputs (σ(−12) ≈ 6e-6) that float16 can represent.
    """

    name = "sigmoid"

    def fn(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
        work = z.astype(np.float32) if dtype == np.float16 else z
        with np.errstate(over="ignore"):
            out = np.asarray(np.exp(-work))  # asarray: for a 0-d z, exp returns a scalar, which cannot take out=
        out += 1.0
        np.reciprocal(out, out=out)
        return out.astype(dtype, copy=False)

    def forward(self, z: np.ndarray) -> np.ndarray:
        if z.dtype.type not in (np.float32, np.float64):
            return super().forward(z)
        # the same ufuncs as fn, without its conversions: this runs at every layer of every step
        out = np.negative(z)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)
        self.cache["z"] = z
        self.cache["out"] = out
        return out

    def derivative(self, z: np.ndarray) -> np.ndarray:
        # sigma' is even: sigma'(z) = sigma'(-|z|). Computing from the small side keeps relative
        # precision for large |z| (for z = 40, 1 - sigma(z) would round to 0).
        z = np.asarray(z)
        s = self.fn(-np.abs(z))
        return s * (1 - s)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        s = self.cache["out"]
        dz = 1 - s
        dz *= s
        dz *= dout
        return dz


class Tanh(Activation):
    r"""Hyperbolic tangent; :math:`\tanh'(z) = 1 - \tanh^2(z) \le 1`, maximum 1 at z = 0."""

    name = "tanh"

    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        t = np.tanh(z)
        return 1 - t * t

    def backward(self, dout: np.ndarray) -> np.ndarray:
        t = self.cache["out"]
        dz = t * t
        np.subtract(1, dz, out=dz)
        dz *= dout
        return dz


class ReLU(Activation):
    r""":math:`f(z) = \max(0, z)`; :math:`f'(z) = 1` for z > 0 and 0 for z ≤ 0."""

    name = "relu"

    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        return (z > 0).astype(z.dtype if z.dtype.kind == "f" else np.float64)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (self.cache["z"] > 0)


class LeakyReLU(Activation):
    r""":math:`f(z) = z` for z > 0 and :math:`\alpha z` for z ≤ 0 (Maas et al., 2013).

    Derivative: 1 for z > 0 and the constant :math:`\alpha` for z ≤ 0 (not
    :math:`\alpha e^z`: that is ELU's).
    """

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = check.non_negative("alpha", alpha)

    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.alpha * z).astype(np.result_type(z, np.float16), copy=False)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        dtype = z.dtype if z.dtype.kind == "f" else np.float64
        return np.where(z > 0, 1.0, self.alpha).astype(dtype)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z = self.cache["z"]
        return np.where(z > 0, dout, self.alpha * dout)

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

    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.params["alpha"] * z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        return np.where(z > 0, 1.0, self.params["alpha"]) * np.ones_like(z, dtype=np.result_type(z, self.dtype))

    @property
    def in_features(self) -> int | None:
        units = self.params["alpha"].shape[0]
        return None if units == 1 else units

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._check_input(z, None, name="z")
        units = self.params["alpha"].shape[0]
        if units != 1 and z.shape[1] != units:
            raise ValueError(
                f"PReLU.forward: z has shape {z.shape} but the layer has {units} slopes; "
                f"allowed: (N, {units}) or a PReLU with num_units=1"
            )
        return super().forward(z)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z = self.cache["z"]
        negative_part = np.minimum(z, 0)
        dalpha = np.sum(dout * negative_part, axis=0)
        self.grads["alpha"][...] = dalpha.sum() if self.params["alpha"].shape[0] == 1 else dalpha
        return np.where(z > 0, dout, self.params["alpha"] * dout)

    def __repr__(self) -> str:
        return f"PReLU(num_units={self.params['alpha'].shape[0]})"


class RReLU(Activation):
    r"""Randomized leaky ReLU, parametrised as in Xu et al. (2015).

    For z ≤ 0, :math:`f(z) = z / a`. In training mode a fresh divisor
    :math:`a \sim U(\text{lower}, \text{upper})` is drawn for every element of
    every batch; in evaluation mode the divisor is fixed at its mean
    :math:`(\text{lower} + \text{upper})/2`. With the paper's lower = 3,
    upper = 8, the evaluation slope is 1/5.5 ≈ 0.182.

    (Some libraries instead draw the *slope* from U(1/8, 1/3) and evaluate with
    the mean slope (1/8 + 1/3)/2 ≈ 0.229; that is a different rule.)

    ``derivative(z)`` is the evaluation-mode derivative: 1 for z > 0, 2/(lower + upper) otherwise.
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

    def fn(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.eval_slope * z).astype(np.result_type(z, np.float16), copy=False)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        dtype = z.dtype if z.dtype.kind == "f" else np.float64
        return np.where(z > 0, 1.0, self.eval_slope).astype(dtype)

    def forward(self, z: np.ndarray) -> np.ndarray:
        if self.training:
            slope = (1.0 / self.rng.uniform(self.lower, self.upper, size=np.shape(z))).astype(z.dtype)
        else:
            slope = np.asarray(self.eval_slope, dtype=z.dtype)
        self.cache["z"] = z
        self.cache["slope"] = slope
        out = np.where(z > 0, z, slope * z)
        self.cache["out"] = out
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.cache["z"] > 0, dout, self.cache["slope"] * dout)

    def __repr__(self) -> str:
        return f"RReLU(lower={self.lower}, upper={self.upper})"


class ELU(Activation):
    r"""Exponential linear unit (Clevert et al., 2016).

    :math:`f(z) = z` for z > 0 and :math:`\alpha(e^z - 1)` for z ≤ 0, which
    saturates to :math:`-\alpha` as z → −∞.

    Derivative: 1 for z > 0 and :math:`\alpha e^z = f(z) + \alpha` for z ≤ 0;
    ``backward`` uses the second form, reusing the forward output.
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check.non_negative("alpha", alpha)

    def fn(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        # expm1 of a non-positive number: no overflow, accurate near 0
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0))).astype(
            z.dtype if z.dtype.kind == "f" else np.float64, copy=False)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0))).astype(
            z.dtype if z.dtype.kind == "f" else np.float64, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z, out = self.cache["z"], self.cache["out"]
        return np.where(z > 0, dout, dout * (out + self.alpha))

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha})"


class SELU(Activation):
    r"""Scaled ELU (Klambauer et al., 2017): :math:`\lambda\,\mathrm{ELU}_\alpha(z)`.

    With :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507`
    (the paper's fixed point for zero mean and unit variance).
    Derivative: :math:`\lambda` for z > 0 and :math:`\lambda\alpha e^z` for z ≤ 0.
    """

    name = "selu"
    alpha = 1.6732632423543772
    scale = 1.0507009873554805

    def fn(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        neg = self.alpha * np.expm1(np.minimum(z, 0))
        return (self.scale * np.where(z > 0, z, neg)).astype(z.dtype if z.dtype.kind == "f" else np.float64,
                                                               copy=False)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z)
        return (self.scale * np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0)))).astype(
            z.dtype if z.dtype.kind == "f" else np.float64, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z, out = self.cache["z"], self.cache["out"]
        # for z <= 0: f'(z) = scale * alpha * e^z = out + scale * alpha
        return np.where(z > 0, self.scale * dout, dout * (out + self.scale * self.alpha))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, PReLU, RReLU, ELU, SELU)
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
    if cls is PReLU:
        return PReLU(num_units=width, dtype=dtype, **kwargs)
    if cls is RReLU:
        if rng is None:
            raise TypeError("rng=None: the 'rrelu' activation draws random slopes and needs a numpy.random.Generator")
        return RReLU(rng=rng, **kwargs)
    return cls(**kwargs)
