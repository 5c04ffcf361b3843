"""Notebook 01 (products of derivatives): the experiments' bookkeeping, its plots and its self-checks."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing as vn
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
    with pytest.raises(ValueError, match="x="):
        P.gamma_cdf(-1.0, 3)
    with pytest.raises(ValueError, match="shape"):
        P.gamma_cdf(1.0, 0)


def test_gamma_cdf_agrees_with_a_sampled_product_of_uniforms():
    # P(P_50 > 1e-18) = P(Gamma(50) < 18 ln 10): about one product in ten, not "never"
    log_p = np.log(1.0 - rng(1).random((100_000, 50))).sum(axis=1)
    measured = np.mean(log_p > -18 * np.log(10))
    exact = P.gamma_cdf(18 * np.log(10), 50)[0]
    assert 0.09 < exact < 0.12
    assert abs(measured - exact) < 4 * np.sqrt(exact * (1 - exact) / log_p.size)


def test_gamma_median_solves_the_cdf():
    for shape in (1, 10, 50):
        assert P.gamma_cdf(P.gamma_median(shape), shape)[0] == pytest.approx(0.5, abs=1e-9)
    assert P.gamma_median(1) == pytest.approx(math.log(2), rel=1e-9)  # the exponential's median


def test_exact_zero_fraction_is_the_gamma_tail_below_half_the_smallest_subnormal():
    for name in ("float16", "float32", "float64"):
        predicted = P.exact_zero_fraction(name, 900)
        cut = -math.log(float(np.finfo(name).smallest_subnormal) / 2) if name != "float64" else 1075 * math.log(2)
        for L in (10, 100, 700):
            assert predicted[L - 1] == pytest.approx(1 - P.gamma_cdf(cut, L)[0], abs=1e-12)
        assert np.all(np.diff(predicted) >= -1e-15) and predicted[-1] <= 1.0
    # the measured fraction of exact zeros follows it
    u = 1.0 - rng(5).random((200, 2000))
    with np.errstate(under="ignore"):
        zeros = np.mean(np.multiply.accumulate(u.astype(np.float32), axis=0) == 0, axis=1)
    assert np.max(np.abs(zeros - P.exact_zero_fraction("float32", 200))) < 0.05


# --- derivative factors and the chain ---------------------------------------------------------------------------------

def test_derivative_factors_agree_with_the_engine_and_stay_accurate_far_out():
    z = np.linspace(-8, 8, 161)
    np.testing.assert_allclose(P.derivative_factors("sigmoid", z), Sigmoid().derivative(z), rtol=1e-12)
    np.testing.assert_allclose(P.derivative_factors("tanh", z), Tanh().derivative(z), rtol=1e-9)
    far = np.array([40.0, -40.0, 300.0])
    np.testing.assert_allclose(P.derivative_factors("sigmoid", far), np.exp(-np.abs(far)), rtol=1e-12)
    np.testing.assert_allclose(P.derivative_factors("tanh", far[:2]), 4 * np.exp(-80.0), rtol=1e-12)
    with pytest.raises(ValueError, match="kind"):
        P.derivative_factors("relu", z)


def _engine_gradient(weights, activation):
    chain = P.build_chain(weights, activation)
    chain.forward(np.ones((1, 1)))
    chain.backward(np.ones((1, 1)))
    return chain.grads["0.W"][0, 0]


def test_chain_backward_equals_closed_form():
    w = rng(3).normal(0, 1, size=12)
    for activation in ("sigmoid", "tanh"):
        assert _engine_gradient(w, activation) == pytest.approx(P.chain_closed_form(w, activation), rel=1e-12)


def test_chain_closed_form_by_hand_for_two_layers():
    w1, w2 = 0.7, -1.3
    s = 1 / (1 + np.exp(-w2 * w1))
    assert P.chain_closed_form([w1, w2], "sigmoid") == pytest.approx(w2 * s * (1 - s), rel=1e-14)
    assert _engine_gradient([w1, w2], "sigmoid") == pytest.approx(w2 * s * (1 - s), rel=1e-14)
    assert P.chain_closed_form([w1], "sigmoid") == 1.0  # F = o_1 = w_1


def test_sigmoid_chain_vanishes_and_tanh_chain_can_explode():
    engine, closed = P.chain_gradients(1.0, 30)
    assert engine.shape == closed.shape == (30,)
    assert abs(engine[-1]) < 4.0 ** -29
    np.testing.assert_allclose(engine, closed, rtol=1e-12)
    engine, closed = P.chain_gradients(1.5, 30, first_weight=0.0, activation="tanh")
    assert engine[-1] == pytest.approx(1.5 ** 29, rel=1e-12)
    np.testing.assert_allclose(engine, closed, rtol=1e-12)


def test_chain_rejects_bad_input():
    with pytest.raises(ValueError, match="activation"):
        P.build_chain([1.0, 2.0], "relu")
    with pytest.raises(ValueError, match="weights"):
        P.chain_closed_form(np.ones((2, 2)))
    with pytest.raises(ValueError, match="max_depth"):
        P.chain_gradients(1.0, 0)


# --- floating point -------------------------------------------------------------------------------------------------

def test_repeated_product_of_one_quarter_is_zero_where_the_exact_power_is_half_the_smallest_subnormal():
    depths = {name: P.repeated_product(0.25, name) for name in ("float16", "float32", "float64")}
    assert depths == {"float16": (13, 0.0), "float32": (75, 0.0), "float64": (538, 0.0)}
    with np.errstate(under="ignore"):
        assert np.float32(0.25) ** 74 > 0 and np.float32(0.25) ** 75 == 0


def test_repeated_product_of_a_factor_above_one_half_stops_at_the_predicted_multiple():
    for name, k in (("float16", 4), ("float32", 4), ("float64", 5)):
        depth, stalled = P.repeated_product(0.9, name)
        assert depth == -1
        assert stalled == k * float(np.finfo(name).smallest_subnormal)
    # the rounding rule: round(c k) = k exactly when (1 - c) k < 1/2, ties to even
    for c in (0.75, 0.625, float(np.float32(0.99))):
        _, stalled = P.repeated_product(c, "float32")
        k = round(stalled / float(np.finfo(np.float32).smallest_subnormal))
        fixed = [j for j in range(1, 200) if round(Fraction(c) * j) == j]
        assert k == max(fixed)


def test_repeated_product_rejects_a_factor_that_rounds_to_0_or_1():
    with pytest.raises(ValueError, match="factor"):
        P.repeated_product(1.0, "float32")
    with pytest.raises(ValueError, match="factor"):
        P.repeated_product(1e-10, "float16")  # rounds to 0 in float16
    with pytest.raises(TypeError, match="dtype"):
        P.repeated_product(0.5, "int8")


def test_float_limits_come_from_finfo():
    lim = P.float_limits("float16")
    assert lim.smallest_subnormal == float(np.finfo(np.float16).smallest_subnormal)
    assert lim.smallest_normal == float(np.finfo(np.float16).smallest_normal) and lim.dtype == "float16"


def test_product_distribution_computes_in_the_chosen_dtype_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r16 = P.product_distribution(30, "uniform", dtype="float16", trials=2000, rng=rng())
        r64 = P.product_distribution(30, "uniform", dtype="float64", trials=2000, rng=rng())
        P.product_distribution(800, "sigmoid", spread=10.0, dtype="float32", trials=200, rng=rng())
    assert r16.zero_fraction > 0.5 and r64.zero_fraction == 0
    assert r16.limits.smallest_subnormal == float(np.finfo(np.float16).smallest_subnormal)
    assert r16.exact_log10_quantiles == r64.exact_log10_quantiles  # same draws: the exact products agree


def test_product_distribution_relu_is_all_or_nothing():
    r = P.product_distribution(10, "relu", p_active=0.5, dtype="float64", trials=4000, rng=rng())
    assert np.all(r.log10_nonzero == 0)
    assert r.zero_fraction == pytest.approx(1 - 0.5 ** 10, abs=0.01)


def test_product_distribution_sigmoid_and_tanh_respect_their_bounds():
    r = P.product_distribution(20, "sigmoid", spread=1.0, dtype="float64", trials=1001, rng=rng())
    assert np.all(r.log10_nonzero <= r.bound_log10 + 1e-9) and r.zero_count == 0
    # nothing underflows here, so the float64 products are the exact ones
    assert np.median(r.log10_nonzero) == pytest.approx(r.exact_log10_quantiles[1], abs=1e-5)
    t = P.product_distribution(20, "tanh", spread=1.0, dtype="float64", trials=1000, rng=rng())
    assert np.all(t.log10_nonzero <= 1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 0}, "depth"), ({"factor": "gelu"}, "factor"), ({"spread": 0.0}, "spread"),
    ({"p_active": 1.5}, "p_active"), ({"dtype": "int8"}, "dtype"), ({"trials": 0}, "trials"),
])
def test_product_distribution_rejects_bad_settings(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        P.product_distribution(**kwargs, rng=rng())


# --- plots ------------------------------------------------------------------------------------------------------------

def test_plots_return_figures_and_reject_bad_input():
    from vanishing.plots import products as plots

    ln_p = np.cumsum(np.log(1 - rng().random((20, 300))), axis=0)
    with np.errstate(under="ignore"):
        stored = {n: np.multiply.accumulate(np.full(100, 0.25, dtype=n)) for n in ("float16", "float32", "float64")}
    path = np.array([[1.0, 0.0], [0.5, 0.0]])
    figures = [
        plots.uniform_products_plot(ln_p),
        plots.exceedance_plot(ln_p[-1] / np.log(10), depth=20, threshold_log10=-8),
        plots.derivative_products_plot({("sigmoid", 1.0): ln_p / np.log(10), ("tanh", 1.0): ln_p / np.log(10)}),
        plots.chain_gradient_plot({"w = 1": P.chain_gradients(1.0, 5)}),
        plots.underflow_plot(stored, 0.25),
        plots.zero_fraction_plot({"float16": np.linspace(0, 1, 10)}, {"float16": np.linspace(0, 1, 10)}, trials=5),
        plots.stop_rule_plot((np.array([[10.0], [9.9]]), 1), {"run": (path, None)}, c=0.1, tol=1.0),
        plots.gradient_ratio_plot({2: np.array([1e-2, 1.0, 1.0]), 3: np.array([1e-3, 1.0, 1.0, 1.0])}),
        plots.product_histogram(P.product_distribution(30, "uniform", dtype="float16", trials=100, rng=rng())),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(ValueError, match="ln_p"):
        plots.uniform_products_plot(np.ones(5))
    with pytest.raises(ValueError, match="show_depth"):
        plots.gradient_ratio_plot({2: np.ones(3)}, show_depth=5)
    with pytest.raises(TypeError, match="ProductDistribution"):
        plots.product_histogram("not a result")


def test_lost_updates_plot_takes_one_step_of_a_float32_network():
    from vanishing.plots import products as plots

    model = vn.mlp([2, 8, 8, 1], "sigmoid", rng=rng(1), dtype=np.float32)
    X = rng(2).normal(size=(20, 2)).astype(np.float32)
    loss = vn.make_loss("bce_logits")
    loss.forward(model.forward(X), (X[:, :1] > 0).astype(np.float32))
    model.backward(loss.backward())
    dense = [layer for _, layer in vn.models.dense_layers(model)]
    before = [d.params["W"].copy() for d in dense]
    steps = [np.float32(0.1) * d.grads["W"] for d in dense]
    vn.make_optimizer("sgd", model, lr=0.1).step()
    unchanged = [d.params["W"] == w for d, w in zip(dense, before, strict=True)]
    assert isinstance(plots.lost_updates_plot(before, steps, unchanged, lr=0.1), Figure)


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


def _stall_by_rule(c):
    if c <= 0.5:
        return 0
    k = 1
    while (1 - c) * (k + 1) < 0.5 or ((1 - c) * (k + 1) == 0.5 and (k + 1) % 2 == 0):
        k += 1
    return k


def test_check_stall_multiple_passes_the_rule_and_names_each_usual_slip():
    from vanishing import checks

    assert checks.check_stall_multiple(_stall_by_rule).passed is True
    exact = checks.check_stall_multiple(lambda c: max((j for j in range(1, 500) if round(Fraction(c) * j) == j),
                                                      default=0))
    assert exact.passed is True  # exact rational arithmetic is right too
    always_s = checks.check_stall_multiple(lambda c: 1)
    assert always_s.passed is False and "round back to s" in always_s.hint
    strict = checks.check_stall_multiple(lambda c: 0 if c <= 0.5 else math.ceil(0.5 / (1 - c)) - 1)
    assert strict.passed is False and "0.75" in strict.message and "tie" in strict.hint
    double = checks.check_stall_multiple(lambda c: max((j for j in range(1, 500) if round(c * j) == j), default=0))
    assert double.passed is False and "0.9 stored in float64" in double.message and "double rounding" in double.hint
    never_zero = checks.check_stall_multiple(lambda c: max(1, _stall_by_rule(c)))
    assert never_zero.passed is False and "exactly 0" in never_zero.message
    not_whole = checks.check_stall_multiple(lambda c: 2.5)
    assert not_whole.passed is False and "whole number" in not_whole.message
    assert checks.check_stall_multiple(lambda c: 1 / 0).passed is False  # a learner's exception is reported
    assert checks.check_stall_multiple(None).passed is None
    assert checks.check_stall_multiple(lambda c: None).passed is None
    assert checks.check_stall_multiple(4).passed is False


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
    assert checks.check_gradient_ratio(ratio).passed is True
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
