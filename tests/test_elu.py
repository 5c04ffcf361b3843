"""Notebook 05 (ELU): the experiments' numbers, the self-checks, the figures and the widget."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from vanishing import checks
from vanishing.activations import ELU, SELU
from vanishing.experiments import elu as ex
from vanishing.plots import elu as plots

# --- ELU's derivative from its output -------------------------------------------------------------------------------


def test_derivative_from_the_output_equals_alpha_exp_z_to_rounding():
    forms = ex.elu_derivative_forms(alpha=1.0)
    assert forms.max_abs_error <= 2 * np.finfo(np.float64).eps
    assert forms.abs_error[0] == 0.0  # z = -0.5: the same number
    # at z = -40, e^z - 1 rounds to -1, so f(z) + 1 is exactly 0 while e^-40 is not
    assert forms.z[-1] == -40.0 and forms.from_output[-1] == 0.0 and forms.exact[-1] > 0
    assert forms.rel_error[-1] == 1.0
    assert np.all(np.diff(forms.rel_error[2:]) > 0)  # the relative error grows as z goes down
    table = ex.elu_derivative_table(forms)
    assert "NO" not in table and "0 (exactly)" in table  # every difference within eps * e^-z


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_derivative_forms_other_alphas(alpha):
    forms = ex.elu_derivative_forms(alpha=alpha, z=(-1.0, -3.0))
    assert np.allclose(forms.exact, alpha * np.exp([-1.0, -3.0]), rtol=1e-15)
    assert forms.max_abs_error <= 2 * np.spacing(alpha)


@pytest.mark.parametrize(("dtype", "bits"), [("float64", 52), ("float32", 23), ("float16", 10)])
def test_backward_zero_is_where_e_to_the_z_minus_1_rounds_to_minus_1(dtype, bits):
    result = ex.elu_backward_zero(dtype)
    assert result.predicted == pytest.approx(-(bits + 2) * math.log(2))
    assert abs(result.backward_zero - result.predicted) <= 0.011  # one grid step
    # the exponential itself underflows far later: below half the smallest subnormal
    log_half_tiny = math.log(float(np.finfo(np.dtype(dtype)).smallest_subnormal)) - math.log(2)
    assert abs(result.derivative_zero - log_half_tiny) <= 0.02
    assert result.derivative_zero < result.backward_zero


def test_derivative_forms_reject_positive_z():
    with pytest.raises(ValueError, match="<= 0"):
        ex.elu_derivative_forms(z=(-1.0, 2.0))


# --- saturation sides, Gaussian moments -----------------------------------------------------------------------------


def test_saturation_sides():
    sides = {s.activation: s for s in ex.saturation_sides()}
    assert sides["sigmoid"].sides == "both" and sides["tanh"].sides == "both"
    for name in ("relu", "elu", "selu"):
        assert sides[name].sides == "negative only"
    assert sides["leaky_relu"].sides == "neither"
    assert sides["leaky_relu"].derivative[0] == pytest.approx(0.01)  # a constant slope, not alpha * e^z
    assert sides["elu"].output_range == "(-1, inf)"
    assert sides["selu"].lower == pytest.approx(-SELU.scale * SELU.alpha)
    assert sides["sigmoid"].output_range == "(0, 1)" and sides["relu"].output_range == "(0, inf)"
    table = ex.saturation_table(list(sides.values()))
    assert "negative only" in table and "leaky_relu" in table


def _phi_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def test_gaussian_moments_against_closed_forms():
    m = ex.gaussian_moments(spreads=(1.0, 2.0))
    rows = {name: i for i, name in enumerate(m.activations)}
    density0 = 1 / math.sqrt(2 * math.pi)
    assert m.mean[rows["relu"], 0] == pytest.approx(density0, abs=1e-7)
    assert m.mean[rows["relu"], 1] == pytest.approx(2 * density0, abs=1e-7)
    assert m.std[rows["relu"], 0] == pytest.approx(math.sqrt(0.5 - density0**2), abs=1e-7)
    elu_mean = density0 + (math.exp(0.5) * _phi_cdf(-1.0) - 0.5)
    assert m.mean[rows["elu"], 0] == pytest.approx(elu_mean, abs=1e-7)
    assert m.mean[rows["leaky_relu"], 0] == pytest.approx(0.99 * density0, abs=1e-7)
    assert abs(m.mean[rows["tanh"], 0]) < 1e-12
    # SELU's constants make N(0, 1) a fixed point: mean 0, sd 1
    assert abs(m.mean[rows["selu"], 0]) < 1e-6 and m.std[rows["selu"], 0] == pytest.approx(1.0, abs=1e-5)
    assert m.elu_zero_mean_alpha == pytest.approx(SELU.alpha, rel=1e-6)
    assert "+0.399 (0.584)" in ex.moments_table(m)


def test_moments_table_prints_a_mean_that_rounds_to_zero_without_a_minus_sign():
    """tanh's mean is 0 up to the last bit, whose sign differs between numpy builds; the table must not."""
    m = ex.gaussian_moments(spreads=(1.0,))
    tanh = m.activations.index("tanh")

    def tanh_mean_shown(value: float) -> str:
        mean = m.mean.copy()
        mean[tanh, 0] = value
        table = ex.moments_table(dataclasses.replace(m, mean=mean))
        return next(line for line in table.splitlines() if line.startswith("tanh")).split()[1]

    for tiny in (-1e-17, 0.0, -0.0, 1e-17, -4e-4):
        assert tanh_mean_shown(tiny) == "+0.000", tiny
    assert tanh_mean_shown(-6e-4) == "-0.001"


# --- bias shift -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shift():
    return ex.bias_shift_comparison(depth=12, n=256, seed=0)


def test_relu_units_never_have_a_negative_mean(shift):
    relu = shift["relu"]
    assert np.all(relu.negative_units == 0) and np.all(relu.mean > 0)
    assert np.all(relu.mean_over_std > 0.4)


def test_elu_and_selu_sit_closer_to_zero_than_relu(shift):
    relu, elu, selu = shift["relu"], shift["elu"], shift["selu"]
    assert np.all(elu.mean_over_std < relu.mean_over_std)
    assert np.all(np.abs(selu.mean_over_std) < 0.1)
    assert np.all(np.abs(selu.std - 1) < 0.15)  # self-normalising with LeCun init
    assert elu.negative_units.mean() > 0.1 and selu.negative_units.mean() > 0.3


def test_bias_shift_same_draws_for_relu_and_leaky(shift):
    # Leaky ReLU with slope 0.01 starts from the same weights: its first layer is ReLU's plus 1 % of the negative side
    assert shift["leaky_relu"].mean[0] == pytest.approx(shift["relu"].mean[0], rel=0.03)
    assert shift["selu"].init == "lecun" and shift["elu"].init == "he"


def test_bias_shift_is_deterministic_and_validates():
    a = ex.bias_shift_layers("elu", depth=3, width=8, n=16, rng=np.random.default_rng(5))
    b = ex.bias_shift_layers("elu", depth=3, width=8, n=16, rng=np.random.default_rng(5))
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)
    with pytest.raises(ValueError, match="activation='swish'"):
        ex.bias_shift_layers("swish", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="init='glorot'"):
        ex.bias_shift_layers("relu", init="glorot", rng=np.random.default_rng(0))
    table = ex.bias_shift_table({"elu": a}, layers=(1, 3))
    assert "layer 3" in table
    with pytest.raises(ValueError, match="allowed: 1..3"):
        ex.bias_shift_table({"elu": a}, layers=(4,))


# --- the zig-zag toy ------------------------------------------------------------------------------------------------


def test_zigzag_first_step_is_the_engine_sgd_step():
    X = np.array([[1.0, 2.0], [0.5, 0.25]])
    run = ex.zigzag_descent(X, lr=0.1, steps=1, mode="full_batch", rng=np.random.default_rng(0))
    w_star = np.array([1.0, -1.0])
    grad = X.T @ (X @ np.zeros(2) - X @ w_star) / 2
    assert np.allclose(run.path[1], -0.1 * grad, rtol=0, atol=1e-15)
    assert run.loss[0] == pytest.approx(0.5 * np.mean((X @ w_star) ** 2))


def test_positive_inputs_give_only_same_sign_updates():
    rng = np.random.default_rng(1)
    X = ex.zigzag_inputs("relu", 64, rng=rng)
    assert X.min() >= 0
    run = ex.zigzag_descent(X, lr=0.3, steps=200, rng=rng)
    assert run.same_sign == 1.0 and run.opposite_sign == 0.0
    centred = ex.zigzag_descent(X - X.mean(axis=0), lr=0.3, steps=200, rng=np.random.default_rng(1))
    assert centred.opposite_sign > 0.2


def test_steps_to_tol_is_the_first_step_inside_the_ball():
    X = ex.zigzag_inputs("elu", 32, rng=np.random.default_rng(2))
    run = ex.zigzag_descent(X, lr=0.5, steps=300, tol=1e-3, rng=np.random.default_rng(3))
    k = run.steps_to_tol
    distance = np.linalg.norm(run.path - run.w_star, axis=1)
    assert k > 0 and distance[k] < 1e-3 and np.all(distance[:k] >= 1e-3)
    assert len(run.path) == 301  # without stop_at_tol the run goes on


def test_full_batch_diverges_above_two_over_lambda_max():
    X = ex.zigzag_inputs("relu", 64, rng=np.random.default_rng(4))
    lam = np.linalg.eigvalsh(X.T @ X / 64)[-1]
    stable = ex.zigzag_descent(X, lr=1.9 / lam, steps=2000, mode="full_batch", rng=np.random.default_rng(0))
    unstable = ex.zigzag_descent(X, lr=2.1 / lam, steps=2000, mode="full_batch", rng=np.random.default_rng(0))
    assert not stable.diverged and stable.steps_to_tol > 0
    assert unstable.diverged and np.all(np.isfinite(unstable.loss[:-1]))


@pytest.mark.parametrize("mode", ex.ZIGZAG_MODES)
def test_fastest_matches_a_search_without_pruning(mode):
    X = ex.zigzag_inputs("relu", 32, rng=np.random.default_rng(6))
    factors = (0.1, 0.3, 0.6, 1.0, 1.5, 2.5)
    best = ex.zigzag_fastest(X, lr_factors=factors, mode=mode, rng=np.random.default_rng(7))
    seed = int(np.random.default_rng(7).integers(2**32))
    scale = np.mean(np.sum(X * X, axis=1))
    steps = []
    for c in factors:
        run = ex.zigzag_descent(X, lr=c / scale, mode=mode, rng=np.random.default_rng(seed))
        steps.append(run.steps_to_tol if run.steps_to_tol > 0 else 10**9)
    assert best.steps_to_tol == min(steps)
    assert best.lr == pytest.approx(factors[int(np.argmin(steps))] / scale)


@pytest.fixture(scope="module")
def zigzag():
    return ex.zigzag_comparison(mode="per_example"), ex.zigzag_comparison(mode="full_batch")


def test_zigzag_comparison_what_the_notebook_states(zigzag):
    per_example, full_batch = zigzag
    labels = per_example.labels
    relu, elu, centred = (labels.index(k) for k in ("ReLU outputs", "ELU outputs", "ReLU outputs, centred"))
    for result in (per_example, full_batch):
        assert result.reached.all()
        median = result.median_steps()
        assert median[relu] > median[centred] and median[relu] > median[elu]
    assert np.all(per_example.same_sign[relu] == 1.0)
    assert np.all(per_example.same_sign[centred] < 0.9)
    assert per_example.mean_input[relu] > 0.3 and abs(per_example.mean_input[centred]) < 1e-12
    assert set(per_example.examples) == set(labels)
    assert "median steps (per-example)" in ex.zigzag_table(per_example, full_batch)


def test_condition_number_grows_with_width_for_uncentred_inputs():
    result = ex.zigzag_by_width(widths=(2, 8, 32, 128), n=512)
    relu, elu, centred = result.condition
    assert np.all(np.diff(relu) > 0)
    assert np.all(relu > elu) and np.all(relu[1:] > centred[1:])
    # iid inputs with mean mu and variance var: the largest eigenvalue is about var + d mu^2 (along the mean),
    # the smallest about var (1 - sqrt(d / n))^2 (the sample's own spread, Marchenko-Pastur)
    mu, var = 1 / math.sqrt(2 * math.pi), 0.5 - 1 / (2 * math.pi)
    for d, kappa in zip(result.widths, relu, strict=True):
        assert kappa == pytest.approx((var + d * mu**2) / (var * (1 - math.sqrt(d / 512)) ** 2), rel=0.25)
    assert np.all(result.steps > 0)
    assert result.steps[0, -1] > 5 * result.steps[2, -1]
    assert "d = 128" in ex.width_table(result)


# --- sign patterns in a real layer ----------------------------------------------------------------------------------


def test_sign_patterns_relu_per_unit_not_per_layer():
    p = ex.gradient_sign_patterns("relu", rng=np.random.default_rng(0))
    assert p.input_negative == 0.0
    assert p.unit_one_signed_per_example == 1.0  # each unit's column has one sign in every example
    assert p.layer_one_signed_per_example < 0.1  # but not the whole layer
    assert p.units_both_signs_per_example > 0.9
    assert p.unit_one_signed_batch < 0.8  # a mini-batch sums examples with different deltas
    assert p.batch_matches_examples < 1e-12


def test_sign_patterns_elu_inputs_have_both_signs():
    p = ex.gradient_sign_patterns("elu", rng=np.random.default_rng(0))
    assert p.input_negative > 0.3
    assert p.unit_one_signed_per_example < 0.05


# --- timing and training --------------------------------------------------------------------------------------------


def test_timing_functions_return_positive_times():
    t = ex.time_activations(("relu", "elu"), shape=(8, 4), rounds=2, number=2, rng=np.random.default_rng(0))
    assert t.forward.shape == (2,) and np.all(t.forward > 0) and np.all(t.backward > 0)
    assert t.ratio("relu") == 1.0 and t.ratio("elu", part="backward") > 0
    s = ex.time_training_steps(("relu", "elu"), sizes=(4, 4, 2), batch=8, rounds=2, number=1,
                               rng=np.random.default_rng(0))
    assert s.step.shape == (2,) and np.all(s.step > 0)
    assert "forward / relu" in ex.timing_table(t) and "step / relu" in ex.timing_table(t, s)
    with pytest.raises(ValueError, match="part='sideways'"):
        t.ratio("elu", part="sideways")


@pytest.fixture(scope="module")
def small_training():
    return ex.activation_training(seeds=2, n=80, depth=3, width=8, epochs=4, batch_size=20)


def test_activation_training_shapes_and_pairing(small_training):
    r = small_training
    assert r.epoch_loss.shape == (4, 2, 4) and r.test_accuracy.shape == (4, 2)
    assert not r.diverged.any() and np.all(np.isfinite(r.epoch_loss))
    i, j = r.activations.index("relu"), r.activations.index("leaky_relu")
    # the same seed gives the same initial weights: the starting layer means nearly agree
    assert np.allclose(r.layer_mean_start[i], r.layer_mean_start[j], rtol=0.1)
    assert "test accuracy" in ex.training_table(r)
    low, high = r.band(0)
    assert np.all(low <= r.median_curve(0)) and np.all(r.median_curve(0) <= high)


def test_activation_training_is_deterministic(small_training):
    again = ex.activation_training(seeds=2, n=80, depth=3, width=8, epochs=4, batch_size=20)
    assert np.array_equal(again.epoch_loss, small_training.epoch_loss)


def test_activation_training_records_divergence():
    r = ex.activation_training(("leaky_relu",), seeds=1, n=40, depth=2, width=8, epochs=3, batch_size=10, lr=1e6,
                               momentum=0.0)
    assert r.diverged[0, 0] and np.isnan(r.test_loss[0, 0])
    assert "1 of 1" in ex.training_table(r)


def test_explorer_state_reference():
    state = ex.elu_explorer_state("elu", depth=3, seed=1)
    assert state.reference is not None and state.reference.activation == "relu"
    assert ex.elu_explorer_state("relu", depth=3).reference is None
    with pytest.raises(ValueError, match="seed=-1"):
        ex.elu_explorer_state("elu", seed=-1)


# --- self-checks ----------------------------------------------------------------------------------------------------


def test_check_elu_grad_from_output():
    assert checks.check_elu_grad_from_output(None).passed is None
    good = checks.check_elu_grad_from_output(lambda out, z, alpha: np.where(z > 0, 1.0, out + alpha))
    assert good.passed is True and "Note" not in good.message
    plus_one = checks.check_elu_grad_from_output(lambda out, z, alpha: np.where(z > 0, 1.0, out + 1.0))
    assert plus_one.passed is False and "alpha=0.5" in plus_one.message
    everywhere = checks.check_elu_grad_from_output(lambda out, z, alpha: out + alpha)
    assert everywhere.passed is False and "ordinary inputs" in everywhere.message
    recomputed = checks.check_elu_grad_from_output(lambda out, z, alpha: np.where(z > 0, 1.0, alpha * np.exp(z)))
    assert recomputed.passed is True and "reuse the forward output" in recomputed.message


def test_check_elu_grad_names_a_nan_at_large_z():
    def naive(out, z, alpha):
        e = np.exp(z)
        return np.where(z > 0, e / e, alpha * e)  # inf / inf = nan at z = 800

    result = checks.check_elu_grad_from_output(naive)
    assert result.passed is False and "large |z|" in result.message


def _hidden_means(model, X):
    from vanishing.activations import Activation

    means, a = [], X
    for layer in model:
        a = layer.forward(a)
        if isinstance(layer, Activation):
            means.append(a.mean())
    return np.array(means)


def test_check_hidden_means():
    assert checks.check_hidden_means(None).passed is None
    assert checks.check_hidden_means(_hidden_means).passed is True

    def per_unit(model, X):
        from vanishing.activations import Activation

        out, a = [], X
        for layer in model:
            a = layer.forward(a)
            if isinstance(layer, Activation):
                out.append(a.mean(axis=0))
        return np.array(out)

    result = checks.check_hidden_means(per_unit)
    assert result.passed is False and "one mean per unit" in result.message
    shifted = checks.check_hidden_means(lambda model, X: _hidden_means(model, X) + 1e-3)
    assert shifted.passed is False and "relu" in shifted.message
    crashed = checks.check_hidden_means(lambda model, X: 1 / 0)
    assert crashed.passed is False and "ZeroDivisionError" in crashed.message


def test_setup_matches_the_layer_statistics():
    model, X = ex.bias_shift_setup("elu", depth=4, width=8, n=16, seed=3)
    stats = ex.bias_shift_layers("elu", depth=4, width=8, n=16, rng=np.random.default_rng(3))
    assert np.allclose(_hidden_means(model, X), stats.mean, rtol=1e-12, atol=0)


# --- figures and widget ---------------------------------------------------------------------------------------------


def test_plots_return_figures(zigzag, small_training):
    figures = [
        plots.elu_curves(),
        plots.saturation_sides_plot(ex.saturation_sides()),
        plots.bias_shift_plot(ex.bias_shift_comparison(depth=4, n=32)),
        plots.zigzag_plot(zigzag[0]),
        plots.training_plot(small_training),
        plots.elu_explorer_plot(ex.elu_explorer_state("elu", depth=4)),
    ]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.axes
    with pytest.raises(TypeError, match="zigzag_comparison"):
        plots.zigzag_plot({"not": "a result"})


def test_widget_is_registered_and_controls_reach_the_experiment():
    from vanishing.widgets import WIDGETS

    app = WIDGETS["elu_explorer"](activation="relu", depth=5, seed=2)
    assert app.error is None
    assert app.result.layers.activation == "relu" and app.result.layers.depth == 5
    assert app.result.zigzag.same_sign == 1.0  # ReLU outputs feed the toy: every update is same-signed
    app.set(activation="elu", alpha=2.0, centre=True)
    assert app.result.layers.alpha == 2.0 and app.result.centre
    assert abs(app.result.zigzag.X.mean()) < 1e-12


def test_elu_engine_derivative_is_what_the_check_compares_with():
    z = np.array([-3.0, -0.1, 0.7])
    assert np.allclose(ELU(1.5).derivative(z), [1.5 * np.exp(-3.0), 1.5 * np.exp(-0.1), 1.0])
