"""Every activation's fn, derivative and backward against an exact reference, over each float dtype's whole range.

The reference is the textbook formula evaluated with Python's ``decimal`` at 60 significant digits (and an exponent
range far beyond any float's), so its own error is negligible. Each value the engine returns is compared with it in
units of the last place (ulp) of the exact value in the dtype under test; in the subnormal range that unit is the
smallest subnormal. GELU's Φ comes from an erfc written here with ``decimal`` (a power series, and a continued
fraction in the tail), checked against ``math.erfc``.
"""

from __future__ import annotations

import decimal
import functools
import math
import warnings
from decimal import Decimal

import numpy as np
import pytest

import vanishing as vn
from vanishing import activations as A

DTYPES = [np.float16, np.float32, np.float64]
NAMES = list(vn.ACTIVATIONS)

# Largest error allowed, in ulp of the exact value. float16 is computed in float32 (GELU in float64) and rounded once,
# so it is within half an ulp (plus a trace). float32 and float64 use numpy's exp, tanh, expm1 and cosh, themselves
# up to about 2 ulp off in float32 (0.6 in float64), and a formula adds a few roundings: over 12,000 random inputs per
# function the largest errors measured were 6.4 ulp in float32 (tanh', SiLU') and 5.3 in float64 (SiLU'). GELU in
# float64 has its own bound (its docstring says why): 7.5 ulp measured over 80,000 inputs.
TOLERANCE = {np.float16: 0.51, np.float32: 8.0, np.float64: 8.0}
GELU_TOLERANCE = {np.float16: 0.51, np.float32: 0.51, np.float64: 10.0}  # computed in float64 and rounded once


def tolerance(name: str, dtype: type) -> float:
    return (GELU_TOLERANCE if name == "gelu" else TOLERANCE)[dtype]


# ---------------------------------------------------------------------------------------------------------------------
# The exact reference
# ---------------------------------------------------------------------------------------------------------------------

CONTEXT = decimal.Context(prec=60, Emin=-10**8, Emax=10**8, traps=[decimal.InvalidOperation, decimal.DivisionByZero])
PI = Decimal("3.141592653589793238462643383279502884197169399375105820974944592307816406286208998628")
ONE, ZERO = Decimal(1), Decimal(0)


def exp(y: Decimal) -> Decimal:
    """e^y; beyond |y| = 1e6 (e^±434294...) the value is 0 or inf as far as any float is concerned."""
    if y > 10**6:
        return Decimal("Infinity")
    if y < -10**6:
        return ZERO
    return CONTEXT.exp(y)


def expm1(y: Decimal) -> Decimal:
    """e^y - 1 without cancellation near 0 (Taylor series there)."""
    if abs(y) >= Decimal("1e-6"):
        return CONTEXT.subtract(exp(y), ONE)
    term = total = y
    for k in range(2, 12):
        term = CONTEXT.divide(CONTEXT.multiply(term, y), k)
        total = CONTEXT.add(total, term)
    return total


def erfc(t: Decimal) -> Decimal:
    """Complementary error function, to about 40 significant digits (see the test that checks it)."""
    if t < 0:
        return CONTEXT.subtract(2, erfc(-t))
    with decimal.localcontext(CONTEXT) as ctx:
        if t <= 6:
            # erf(t) = 2/√π Σ (-1)^n t^(2n+1) / (n! (2n+1)); the alternating terms reach about 1e13 and
            # erfc(6) ≈ 2e-17, so 40 more digits keep 60 in the result
            ctx.prec += 40
            term = total = t
            n = 0
            while abs(term) > Decimal(10) ** -(ctx.prec + 2) or n < 3:
                n += 1
                term = -term * t * t / n
                total += term / (2 * n + 1)
            return +(1 - 2 / PI.sqrt() * total)
        # erfc(t) = e^(-t²)/√π · 1/(t + (1/2)/(t + 1/(t + (3/2)/(t + ...)))), evaluated from the bottom
        tail = ZERO
        for n in range(400, 0, -1):
            tail = (Decimal(n) / 2) / (t + tail)
        return exp(-t * t) / PI.sqrt() / (t + tail)


def sigmoid(x: Decimal) -> Decimal:
    return ONE / (1 + exp(-x))


def normal_cdf(x: Decimal) -> Decimal:
    return erfc(-x / CONTEXT.sqrt(Decimal(2))) / 2


def normal_pdf(x: Decimal) -> Decimal:
    return exp(-x * x / 2) / CONTEXT.sqrt(2 * PI)


def tanh(x: Decimal) -> Decimal:
    m = expm1(-2 * abs(x))
    return (-m / (2 + m)).copy_sign(x)


SELU_SCALE, SELU_ALPHA = Decimal(A.SELU.scale), Decimal(A.SELU.alpha)
LEAKY, PRELU, RRELU = Decimal(0.01), Decimal(0.25), Decimal(2) / 11  # the default slopes (RReLU in evaluation mode)

# name -> (f, f', the size of the terms that cancel in f' near its zero, or None)
REFERENCE = {
    "identity": (lambda x: x, lambda x: ONE, None),
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * sigmoid(-x), None),
    "tanh": (tanh, lambda x: 4 / (exp(x) + exp(-x)) ** 2, None),
    "relu": (lambda x: max(x, ZERO), lambda x: ONE if x > 0 else ZERO, None),
    "leaky_relu": (lambda x: x if x > 0 else LEAKY * x, lambda x: ONE if x > 0 else LEAKY, None),
    "prelu": (lambda x: x if x > 0 else PRELU * x, lambda x: ONE if x > 0 else PRELU, None),
    "rrelu": (lambda x: x if x > 0 else RRELU * x, lambda x: ONE if x > 0 else RRELU, None),
    "elu": (lambda x: x if x > 0 else expm1(x), lambda x: ONE if x > 0 else exp(x), None),
    "selu": (lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * expm1(x)),
             lambda x: SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * exp(x), None),
    "gelu": (lambda x: x * normal_cdf(x), lambda x: normal_cdf(x) + x * normal_pdf(x),
             lambda x: abs(x) * normal_pdf(x)),
    "silu": (lambda x: x * sigmoid(x), lambda x: sigmoid(x) * (1 + x * sigmoid(-x)), sigmoid),
}


@functools.cache
def exact(name: str, which: int, x: float) -> tuple[Decimal, Decimal | None]:
    """(f(x) if which == 0 else f'(x), and for f' the size of its cancelling terms or None), to 60 digits."""
    value = REFERENCE[name][which](Decimal(x))
    terms = REFERENCE[name][2]
    return value, (terms(Decimal(x)) if which == 1 and terms is not None else None)


def ulp(value: Decimal, dtype: type) -> Decimal:
    """The spacing of dtype's floats at |value| (the smallest subnormal below the normal range)."""
    info = np.finfo(dtype)
    size = min(abs(value), Decimal(float(info.max)))
    if size < Decimal(float(info.smallest_normal)):
        return Decimal(float(info.smallest_subnormal))
    exponent = math.frexp(float(size))[1] - 1
    if Decimal(2.0**exponent) > size:  # float(size) rounded up to the next power of 2
        exponent -= 1
    return Decimal(2.0 ** (exponent - info.nmant))


def errors(got: np.ndarray, x: np.ndarray, name: str, which: int) -> tuple[np.ndarray, list[float]]:
    """Error of each value in ulp of the exact one, and the inputs where got is 0 though the exact value is not."""
    dtype = got.dtype.type
    info = np.finfo(dtype)
    largest, half_smallest = Decimal(float(info.max)), Decimal(float(info.smallest_subnormal)) / 2
    overflow = largest + ulp(largest, dtype) / 2
    result, wrong_zeros = [], []
    for xi, gi in zip(x.tolist(), got.tolist(), strict=True):
        e, terms = exact(name, which, xi)
        if abs(e) >= overflow:  # rounds to ±inf in this dtype
            result.append(0.0 if math.isinf(gi) and (gi > 0) == (e > 0) else math.inf)
            continue
        unit = ulp(e, dtype) if terms is None else max(ulp(e, dtype), ulp(terms, dtype))
        err = math.inf if not math.isfinite(gi) else float(abs(CONTEXT.subtract(Decimal(gi), e)) / unit)
        result.append(err)
        if gi == 0 and abs(e) > half_smallest and not (terms is not None and err <= tolerance(name, dtype)):
            wrong_zeros.append(xi)
    return np.array(result), wrong_zeros


def grid(dtype: type) -> np.ndarray:
    """Inputs over the whole range of dtype: every magnitude, and denser where results underflow or cancel."""
    info = np.finfo(dtype)
    if dtype == np.float16:  # one finite float16 in 11, by bit pattern
        positive = np.arange(0, 0x7C00, 11, dtype=np.uint16).view(np.float16)
        return np.unique(np.concatenate([positive, -positive, [info.max, -info.max]]))
    rng = np.random.default_rng(0)
    magnitudes = 2.0 ** rng.uniform(np.log2(float(info.smallest_subnormal)), np.log2(float(info.max)), 400)
    underflow = -math.log(float(info.smallest_subnormal))  # 103.3 in float32, 744.4 in float64
    parts = [magnitudes, -magnitudes,
             rng.uniform(-underflow - 10, -underflow / 2, 250),  # exp-like results turning subnormal, then 0
             rng.uniform(-underflow / 2 - 10, underflow / 2 + 10, 120),  # tanh' 0 from about half of that
             rng.uniform(-45, 45, 300),
             rng.uniform(-1.5, -0.5, 60),  # the zeros of GELU' (-0.75) and SiLU' (-1.28)
             [0.0, float(info.smallest_subnormal), float(info.smallest_normal), 1.0, float(info.max)]]
    values = np.concatenate(parts)
    values = values[np.abs(values) <= float(info.max)]
    return np.unique(np.concatenate([values, -values]).astype(dtype))


def layer(name: str) -> A.Activation:
    return vn.make_activation(name, rng=np.random.default_rng(0)).eval()


# ---------------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------------


def test_the_reference_erfc_agrees_with_math_erfc():
    for t in [0.0, 1e-9, 0.3, 0.46875, 1.0, 2.5, 4.0, 5.99, 6.0, 6.01, 8.0, 15.0, 26.0]:
        assert float(erfc(Decimal(t))) == pytest.approx(math.erfc(t), rel=4e-16)
        assert float(erfc(Decimal(-t))) == pytest.approx(math.erfc(-t), rel=4e-16)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_fn_derivative_and_backward_match_the_exact_values_over_the_whole_range(name, dtype):
    act = layer(name)
    z = grid(dtype)
    out, d = act.fn(z), act.derivative(z)
    assert out.dtype == dtype and d.dtype == dtype
    # the layer is exactly the two formulas: forward is fn, backward(ones) is derivative
    np.testing.assert_array_equal(act.forward(z[:, None])[:, 0], out)
    with np.errstate(over="ignore" if name == "prelu" else "raise"):
        # PReLU's slope gradient sums dout·min(z, 0) over this batch of huge inputs: beyond float16 for real
        np.testing.assert_array_equal(act.backward(np.ones((z.size, 1), dtype=dtype))[:, 0], d)
    for which, got in ((0, out), (1, d)):
        err, wrong_zeros = errors(got, z, name, which)
        label = f"{name} {'fn' if which == 0 else 'derivative'} {np.dtype(dtype).name}"
        worst = int(np.argmax(err))
        assert err[worst] <= tolerance(name, dtype), f"{label}: {err[worst]:.2f} ulp at z = {z[worst]!r}"
        assert not wrong_zeros, f"{label}: 0 where the exact value is a nonzero float, at z = {wrong_zeros[:5]}"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["elu", "selu"])
def test_elu_and_selu_backward_is_alpha_exp_z_wherever_that_is_a_float(name, dtype):
    """The backward must not be f(z) + alpha from the output: that rounds to 0 from z = -8.3, -17.3, -37.4."""
    act = layer(name)
    factor = Decimal(act.alpha) * (Decimal(act.scale) if name == "selu" else 1)
    lowest = -math.log(float(np.finfo(dtype).smallest_subnormal)) + 2  # just beyond where factor·e^z rounds to 0
    z = np.unique(np.linspace(-lowest, -1e-3, 4001).astype(dtype))
    act.forward(z[:, None])
    dz = act.backward(np.ones((z.size, 1), dtype=dtype))[:, 0]
    half_smallest = Decimal(float(np.finfo(dtype).smallest_subnormal)) / 2
    for zi, gi in zip(z.tolist(), dz.tolist(), strict=True):
        e = factor * exp(Decimal(zi))
        assert abs(Decimal(gi) - e) <= Decimal(TOLERANCE[dtype]) * ulp(e, dtype), f"z = {zi!r}: {gi!r}, exact {e:.6e}"
        assert gi != 0 or e <= half_smallest, f"z = {zi!r}: 0 but alpha·e^z = {e:.6e}"
    assert dz[0] == 0  # and it does reach 0 where alpha·e^z is below every float


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_no_warning_and_no_nan_for_extreme_inputs(name, dtype):
    info = np.finfo(dtype)
    z = np.array([info.max, info.smallest_normal, info.smallest_subnormal, 0, 1, 20, 100, 1e4 if dtype != np.float16
                  else 6e4], dtype=dtype)
    z = np.concatenate([z, -z])
    act = vn.make_activation(name, rng=np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow, invalid-value or divide warning fails the test
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):  # underflow to 0 is expected
            results = [act.fn(z), act.derivative(z)]
            for mode in (act.train, act.eval):
                mode()
                for value in z:  # one input per batch: PReLU's slope gradient sums over the batch
                    results.append(act.forward(np.full((1, 1), value)))
                    results.append(act.backward(np.ones((1, 1), dtype=dtype)))
    for values in results:
        assert values.dtype == dtype
        assert not np.isnan(values).any()


@pytest.mark.parametrize("name", NAMES)
def test_one_dtype_rule_and_any_shape(name):
    act = layer(name)
    for dtype in DTYPES:
        z = np.linspace(-3, 3, 24).astype(dtype)
        for shape in [(), (24,), (4, 6), (2, 3, 4)]:
            values = z[0] if shape == () else z.reshape(shape)
            for method in (act.fn, act.derivative):
                result = method(values)
                assert isinstance(result, np.ndarray) and result.shape == shape and result.dtype == dtype
    for not_float in [np.arange(-3, 4), np.array([True, False]), [-1, 0, 2], 3, -2.5]:
        for method in (act.fn, act.derivative):
            result = method(not_float)
            assert result.dtype == np.float64 and result.shape == np.shape(not_float)
            np.testing.assert_array_equal(result, method(np.asarray(not_float, dtype=np.float64)))


def test_gelu_and_silu_are_registered_after_the_course_activations():
    names = list(vn.ACTIVATIONS)
    assert names[-2:] == ["gelu", "silu"]
    assert isinstance(vn.make_activation("gelu"), A.GELU) and isinstance(vn.make_activation("silu"), A.SiLU)


def test_gelu_and_silu_known_values():
    gelu, silu = A.GELU(), A.SiLU()
    assert gelu.fn(np.array(1.0)) == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-15)
    assert gelu.derivative(np.array(0.0)) == pytest.approx(0.5, rel=1e-15) and silu.derivative(np.array(0.0)) == 0.5
    assert silu.fn(np.array(2.0)) == pytest.approx(2 / (1 + math.exp(-2)), rel=1e-15)
    # both dip below 0 and have a derivative that crosses 0 there, unlike ReLU
    assert np.sign(gelu.derivative(np.array([-0.76, -0.74]))).tolist() == [-1.0, 1.0]
    assert np.sign(silu.derivative(np.array([-1.29, -1.27]))).tolist() == [-1.0, 1.0]
