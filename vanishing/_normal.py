r"""The standard normal tail, accurate in float64 (used by GELU).

GELU needs :math:`\Phi(z)`, the standard normal CDF, and numpy has no error function. For u ≥ 0 the
tail is

.. math:: \Phi(-u) = \tfrac12\,\mathrm{erfc}(u/\sqrt2) = \tfrac12\,\mathrm{erfcx}(u/\sqrt2)\,e^{-u^2/2},

where :math:`\mathrm{erfcx}(t) = e^{t^2}\mathrm{erfc}(t)` falls only like :math:`1/(t\sqrt\pi)`: all the
fast decay is in :math:`e^{-u^2/2}`. Two functions compute the two factors:

* :func:`erfcx`, from W. J. Cody's rational Chebyshev approximations of erf and erfc (Cody, 1969,
  *Math. Comp.* 23, 631-637; the coefficients of his routine CALERF, Cody, 1993, *ACM TOMS* 19,
  22-32), whose own error is far below float64's rounding;
* :func:`times_gaussian` :math:`c\,e^{-x^2/2}`. A plain ``exp(-x * x / 2)`` rounds :math:`x^2` first,
  and near x = 38 that rounding alone costs hundreds of ulp of the result; here :math:`x^2` is split
  into an exact part and a small rest. The product with c is rounded once, at the end, so that a
  result in the subnormal range keeps the value it should.

Both compute in their argument's dtype; GELU calls them in float64.
"""

from __future__ import annotations

import numpy as np

INV_SQRT_PI = 0.5641895835477563  # 1/√π
SQRT_2 = 1.4142135623730951  # √2
SQRT_2PI = 2.5066282746310007  # √(2π)

# Cody's coefficients, lowest power first.
# erf(t) = t·A(t²)/B(t²) for 0 ≤ t ≤ 0.46875
ERF_NUM = (3.20937758913846947e03, 3.77485237685302021e02, 1.13864154151050156e02, 3.16112374387056560e00,
           1.85777706184603153e-1)
ERF_DEN = (2.84423683343917062e03, 1.28261652607737228e03, 2.44024637934444173e02, 2.36012909523441209e01, 1.0)
# erfcx(t) = C(t)/D(t) for 0.46875 ≤ t ≤ 4
MID_NUM = (1.23033935479799725e03, 2.05107837782607147e03, 1.71204761263407058e03, 8.81952221241769090e02,
           2.98635138197400131e02, 6.61191906371416295e01, 8.88314979438837594e00, 5.64188496988670089e-1,
           2.15311535474403846e-8)
MID_DEN = (1.23033935480374942e03, 3.43936767414372164e03, 4.36261909014324716e03, 3.29079923573345963e03,
           1.62138957456669019e03, 5.37181101862009858e02, 1.17693950891312499e02, 1.57449261107098347e01, 1.0)
# erfcx(t) = (1/√π - s·P(s)/Q(s)) / t with s = 1/t², for t ≥ 4
TAIL_NUM = (6.58749161529837803e-4, 1.60837851487422766e-2, 1.25781726111229246e-1, 3.60344899949804439e-1,
            3.05326634961232344e-1, 1.63153871373020978e-2)
TAIL_DEN = (2.33520497626869185e-3, 6.05183413124413191e-2, 5.27905102951428412e-1, 1.87295284992346047e00,
            2.56852019228982242e00, 1.0)


def _polynomial(coefficients: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    """c0 + c1·t + c2·t² + ... by Horner's rule, in t's dtype."""
    result = np.full_like(t, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = result * t + c
    return result


def erfcx(t: np.ndarray) -> np.ndarray:
    r"""The scaled complementary error function :math:`e^{t^2}\mathrm{erfc}(t)` for t ≥ 0 (any shape)."""
    # each formula on its own interval; the arguments are clipped so that none overflows where it is not used
    small = np.minimum(t, 0.46875)
    s = small * small
    below = np.exp(s) * (1 - small * _polynomial(ERF_NUM, s) / _polynomial(ERF_DEN, s))
    middle = np.clip(t, 0.46875, 4.0)
    between = _polynomial(MID_NUM, middle) / _polynomial(MID_DEN, middle)
    large = np.maximum(t, 4.0)
    s = (1 / large) ** 2
    above = (INV_SQRT_PI - s * _polynomial(TAIL_NUM, s) / _polynomial(TAIL_DEN, s)) / large
    return np.where(t < 0.46875, below, np.where(t <= 4.0, between, above))


def times_gaussian(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    r""":math:`c\,e^{-x^2/2}` for |x| ≤ 40, rounded once at the end.

    :math:`x^2 = h^2 + (x - h)(x + h)` with h = x rounded to a multiple of 1/16: :math:`h^2` is exact
    (h has at most 10 significant bits), and the rest is small, so its rounding error is too.
    :math:`e^{-h^2/2}` is applied as two factors :math:`e^{-h^2/4}`, each a normal float wherever the
    result is not 0, so that only the last multiplication can round into the subnormals.
    """
    h = np.round(x * 16) / 16
    rest = (x - h) * (x + h)
    quarter = np.exp(-h * h / 4)
    return (c * np.exp(-rest / 2) * quarter) * quarter
