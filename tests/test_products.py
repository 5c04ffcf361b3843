"""Notebook 01 (products of derivatives): the experiments give the numbers the notebook relies on."""

import math
import warnings

import numpy as np
import pytest

from vanishing.activations import Sigmoid, Tanh
from vanishing.experiments import products as P


def rng(seed=0):
    return np.random.default_rng(seed)


# --- products of uniforms ---------------------------------------------------------------------------------------------

def test_gamma_cdf_matches_closed_forms():
    # shape 1: exponential, P(G <= x) = 1 - e^-x; shape 2: 1 - e^-x (1 + x)
    x = np.array([0.0, 0.5, 1.0, 3.0, 10.0])
    np.testing.assert_allclose(P.gamma_cdf(x, 1), 1 - np.exp(-x), atol=1e-15)
    np.testing.assert_allclose(P.gamma_cdf(x, 2), 1 - np.exp(-x) * (1 + x), atol=1e-15)
    # far in the tail, where e^-x underflows float64, the sum in log space still gives a value in [0, 1]
    assert P.gamma_cdf(800.0, 750)[0] == pytest.approx(0.966, abs=0.01)


def test_log_product_of_uniforms_has_mean_minus_L_and_std_sqrt_L():
    r = P.uniform_log_products(100, 20_000, rng=rng())
    # mean within 4 standard errors at every depth
    assert r.max_mean_error() < 4.0
    np.testing.assert_allclose(r.std_ln, np.sqrt(r.depths), rtol=0.04)
    assert r.mean_ln[99] == pytest.approx(-100, abs=0.3)


def test_uniform_log_products_rejects_bad_input():
    with pytest.raises(ValueError, match="max_depth"):
        P.uniform_log_products(0, 10, rng=rng())
    with pytest.raises(TypeError, match="rng"):
        P.uniform_log_products(10, 10, rng=0)


def test_fraction_of_products_above_1e_18_matches_the_gamma_tail():
    r = P.product_exceedance(50, 1e-18, 100_000, rng=rng(1))
    # seed 003 says "never": about one product in ten exceeds it
    assert 0.09 < r.exact_fraction < 0.12
    assert abs(r.fraction_above - r.exact_fraction) < 4 * r.standard_error
    assert r.count_above > 5000
    # the median is near e^-50 (about 10^-21.6) and far below the mean 2^-50
    assert r.exact_median_log10 == pytest.approx(-49.67 / math.log(10), abs=0.01)
    assert abs(r.median_log10 - r.exact_median_log10) < 0.05
    assert r.mean_product == 2.0 ** -50
    assert 0.6 < r.chance_of_seeing_one(10) < 0.75


# --- derivative products and the chain ------------------------------------------------------------------------------

def test_derivative_factors_agree_with_the_engine_and_stay_accurate_far_out():
    z = np.linspace(-8, 8, 161)
    np.testing.assert_allclose(P.derivative_factors("sigmoid", z), Sigmoid().derivative(z), rtol=1e-12)
    np.testing.assert_allclose(P.derivative_factors("tanh", z), Tanh().derivative(z), rtol=1e-9)
    far = np.array([40.0, -40.0, 300.0])
    np.testing.assert_allclose(P.derivative_factors("sigmoid", far), np.exp(-np.abs(far)), rtol=1e-12)
    np.testing.assert_allclose(P.derivative_factors("tanh", far[:2]), 4 * np.exp(-80.0), rtol=1e-12)


def test_sigmoid_products_never_beat_4_to_the_minus_L():
    r = P.derivative_log_products("sigmoid", (0.5, 2.0), 50, 2000, rng=rng())
    assert np.all(r.quantiles_log10[:, 2, :] <= r.bound_log10 + 1e-9)
    # a wider spread of z saturates more units: smaller products
    assert r.median_log10(1, 50) < r.median_log10(0, 50) - 5


def test_chain_backward_equals_closed_form():
    w = rng(3).normal(0, 1, size=12)
    for activation in ("sigmoid", "tanh"):
        r = P.single_neuron_chain(w, activation)
        assert r.relative_error < 1e-12
        assert r.engine == pytest.approx(np.prod(r.factors), rel=1e-12)
        assert r.outputs[0] == w[0]


def test_chain_closed_form_by_hand_for_two_layers():
    w1, w2 = 0.7, -1.3
    s = 1 / (1 + np.exp(-w2 * w1))
    r = P.single_neuron_chain([w1, w2], "sigmoid")
    assert r.engine == pytest.approx(w2 * s * (1 - s), rel=1e-14)
    assert r.outputs[-1] == pytest.approx(s, rel=1e-14)


def test_sigmoid_chain_vanishes_and_tanh_chain_can_explode():
    sig = P.chain_gradients(1.0, 30)
    assert abs(sig[-1].engine) < 4.0 ** -29
    tanh = P.chain_gradients(1.5, 30, first_weight=0.0, activation="tanh")
    assert tanh[-1].engine == pytest.approx(1.5 ** 29, rel=1e-12)
    assert all(r.relative_error < 1e-12 for r in sig + tanh)


# --- floating point -------------------------------------------------------------------------------------------------

def test_underflow_depth_of_one_quarter():
    rows = {r.dtype: r for r in P.underflow_depths(0.25)}
    assert {k: r.zero_depth for k, r in rows.items()} == {"float16": 13, "float32": 75, "float64": 538}
    assert all(r.measured_zero_depth == r.zero_depth for r in rows.values())
    assert rows["float32"].subnormal_depth == 64  # 4^-64 = 2^-128 < 2^-126, the smallest normal
    with np.errstate(under="ignore"):
        assert np.float32(0.25) ** 74 > 0 and np.float32(0.25) ** 75 == 0


def test_factor_above_one_half_stalls_at_a_subnormal():
    rows = {r.dtype: r for r in P.underflow_depths(0.9, ("float16",))}
    assert rows["float16"].measured_zero_depth == -1
    assert 0 < rows["float16"].stalled_at < 1e-6


def test_zero_fractions_follow_the_gamma_prediction():
    r = P.zero_fraction_by_depth(900, 1000, rng=rng())
    for name in ("float16", "float32", "float64"):
        assert np.max(np.abs(r.measured[name] - r.predicted[name])) < 0.06
    assert r.median_zero_depth("float16") < r.median_zero_depth("float32") < r.median_zero_depth("float64")
    assert 90 < r.median_zero_depth("float32") < 120


def test_product_distribution_computes_in_the_chosen_dtype_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r16 = P.product_distribution(30, "uniform", dtype="float16", trials=2000, rng=rng())
        r64 = P.product_distribution(30, "uniform", dtype="float64", trials=2000, rng=rng())
    assert r16.zero_fraction > 0.5 and r64.zero_fraction == 0
    assert r16.limits.smallest_subnormal == float(np.finfo(np.float16).smallest_subnormal)
    # same draws: the exact products agree
    assert r16.exact_log10_quantiles == r64.exact_log10_quantiles


def test_product_distribution_relu_is_all_or_nothing():
    r = P.product_distribution(10, "relu", p_active=0.5, dtype="float64", trials=4000, rng=rng())
    assert np.all(r.log10_nonzero == 0)
    assert r.zero_fraction == pytest.approx(1 - 0.5 ** 10, abs=0.01)


def test_product_distribution_sigmoid_respects_the_bound():
    r = P.product_distribution(20, "sigmoid", spread=1.0, dtype="float64", trials=1000, rng=rng())
    assert np.all(r.log10_nonzero <= r.bound_log10 + 1e-9)


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 0}, "depth"), ({"factor": "gelu"}, "factor"), ({"spread": 0.0}, "spread"),
    ({"p_active": 1.5}, "p_active"), ({"dtype": "int8"}, "dtype"),
])
def test_product_distribution_rejects_bad_settings(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        P.product_distribution(**kwargs, rng=rng())


def test_update_is_lost_is_relative_to_the_weight():
    eps = np.finfo(np.float32).eps
    lost = P.update_is_lost([1e-3, 1.0, 1000.0], [1e-9, 1e-8, 1e-5], "float32")
    # 1e-9 < eps is kept on a small weight; 1e-5 > eps is lost on a large one
    assert lost.tolist() == [False, True, True]
    assert 1e-9 < eps < 1e-5
    w = np.float32(1.5)  # not a power of two: the gaps above and below are the same
    assert not P.update_is_lost(w, np.spacing(w) * 0.51, "float32")
    assert P.update_is_lost(w, np.spacing(w) * 0.49, "float32")


def _xor_data(n=200, seed=0):
    g = rng(seed)
    X = g.normal(size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.float64)


def test_lost_updates_hit_the_first_layer_not_the_last():
    X, y = _xor_data()
    r = P.lost_updates(X, y, depth=10, rng=rng(1))
    assert r.unchanged_fraction[0] > 0.5
    assert r.unchanged_fraction[-1] == 0.0
    assert r.agreement > 0.999  # the half-ulp rule predicts which weights stay put
    assert r.grad_norms[0] < 1e-4 * r.grad_norms[-1]


def test_lost_updates_in_float64_change_every_weight():
    X, y = _xor_data()
    r = P.lost_updates(X, y, depth=10, dtype="float64", rng=rng(1))
    assert np.all(r.unchanged_fraction == 0)


# --- stop rule ------------------------------------------------------------------------------------------------------

def test_ramp_with_tiny_slope_stops_far_from_the_minimum():
    r = P.descend_with_stop_rule("ramp", (10.0,), lr=0.1, c=1e-6, tol=1e-6)
    assert r.stopped_at == 1
    assert r.final[0] == pytest.approx(10.0 - 1e-7, abs=1e-12)
    assert r.values[-1] > 0  # not at the minimum value 0
    free = P.descend_with_stop_rule("ramp", (10.0,), lr=0.1, c=1e-6, steps=1000, stop=False)
    assert free.final[0] == pytest.approx(10.0 - 1e-4, rel=1e-9)


def test_saddle_start_on_the_axis_stops_at_the_saddle_and_a_perturbation_escapes():
    on_axis = P.descend_with_stop_rule("saddle", (1.0, 0.0), lr=0.1, tol=1e-6)
    assert on_axis.stopped_at > 0
    assert on_axis.final[1] == 0.0 and abs(on_axis.final[0]) < 1e-5
    assert on_axis.grad_norms[-1] < 1e-4
    nudged = P.descend_with_stop_rule("saddle", (1.0, 1e-8), lr=0.1, tol=1e-6, steps=150)
    assert nudged.stopped_at == -1
    assert nudged.values[-1] < -1.0  # it found lower loss than the saddle's 0


def test_descend_rejects_wrong_start():
    with pytest.raises(ValueError, match="start"):
        P.descend_with_stop_rule("saddle", (1.0,))
    with pytest.raises(ValueError, match="surface"):
        P.descend_with_stop_rule("bowl", (1.0,))


# --- trained deep sigmoid MLPs ----------------------------------------------------------------------------------------

def test_first_to_last_gradient_ratio_shrinks_with_depth():
    X, y = _xor_data()
    r = P.gradient_ratio_by_depth(X, y, depths=(2, 6, 10), epochs=2, rng=rng(1))
    assert r.ratio[0] > r.ratio[1] > r.ratio[2]
    assert r.log10_ratio(10) < -3
    assert r.layer_norms[10].shape == (11,)


def test_product_distribution_float64_products_match_the_exact_ones_when_nothing_underflows():
    r = P.product_distribution(20, "sigmoid", spread=1.0, dtype="float64", trials=1001, rng=rng())
    assert r.zero_count == 0
    assert np.median(r.log10_nonzero) == pytest.approx(r.exact_log10_quantiles[1], abs=1e-5)


# --- the notebook's self-checks ---------------------------------------------------------------------------------------

def test_check_sigmoid_prime_passes_a_stable_formula_and_names_the_failing_input():
    from vanishing import checks

    def stable(z):
        e = np.exp(-np.abs(z))
        return e / (1 + e) ** 2

    def overflowing(z):
        return np.exp(-z) / (1 + np.exp(-z)) ** 2

    assert checks.check_sigmoid_prime(stable).passed is True
    bad = checks.check_sigmoid_prime(overflowing)
    assert bad.passed is False and "-750" in bad.message and "nan" in bad.message
    wrong = checks.check_sigmoid_prime(lambda z: 1 / (1 + np.exp(-z)))
    assert wrong.passed is False and "0.5" in wrong.message
    assert checks.check_sigmoid_prime(None).passed is None


def test_check_sigmoid_prime_max():
    from vanishing import checks

    assert checks.check_sigmoid_prime_max(0.25).passed is True
    assert checks.check_sigmoid_prime_max(0.5).passed is False
    assert checks.check_sigmoid_prime_max(None).passed is None


def test_check_underflow_depth_accepts_only_the_exact_integer_and_hints():
    from vanishing import checks

    assert checks.check_underflow_depth(75).passed is True
    for wrong, says in ((538, "float64"), (13, "float16"), (64, "subnormal"), (74, "off by one"), (75.5, "whole")):
        result = checks.check_underflow_depth(wrong)
        assert result.passed is False and says in result.message
        assert "smallest_subnormal" in result.hint
    assert checks.check_underflow_depth(None).passed is None
    assert checks.check_underflow_depth(538, dtype="float64").passed is True


def test_check_gradient_ratio_compares_with_the_engine():
    from vanishing import checks
    from vanishing.models import dense_layers

    def ratio(model, loss, X, y):
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        d = dense_layers(model)
        return np.linalg.norm(d[0][1].grads["W"]) / np.linalg.norm(d[-1][1].grads["W"])

    good = checks.check_gradient_ratio(ratio, prediction=-6.0)
    assert good.passed is True and "decades away" in good.message
    assert checks.check_gradient_ratio(lambda *args: 1 / ratio(*args)).passed is False
    assert checks.check_gradient_ratio(lambda *args: None).passed is None
    assert checks.check_gradient_ratio(None).passed is None


# --- the widget ------------------------------------------------------------------------------------------------------

def test_product_underflow_widget_computes_in_the_chosen_dtype():
    from vanishing.widgets import product_underflow

    app = product_underflow(factor="uniform", depth=100, dtype="float16")
    assert app.error is None and app.result.zero_fraction == 1.0
    app.set(dtype="float64")
    assert app.result.dtype == "float64" and app.result.zero_fraction == 0.0
    app.set(factor="relu", p_active=1.0)
    assert app.result.zero_fraction == 0.0 and np.all(app.result.log10_nonzero == 0)
    app.set(seed=-1)
    assert app.error is not None and "seed" in app.message.value


def test_sigmoid_accepts_a_0d_input():
    # the engine's sigmoid on a single number (a 0-d array), as the chain's closed form evaluates it
    s = Sigmoid()
    assert float(s.fn(np.array(0.0))) == 0.5
    assert float(s.derivative(np.float64(0.0))) == 0.25
    assert float(s.fn(-800.0)) == 0.0
