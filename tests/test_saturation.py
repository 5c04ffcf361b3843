"""Notebook 02 (saturation): the experiments' numbers, against closed forms and the engine."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing as vn
from vanishing import diagnostics
from vanishing.experiments import saturation as sat
from vanishing.layers import Dense

# --------------------------------------------------------------------------------------------- where saturation starts


def test_onsets_are_where_the_outputs_cross_the_diagnostics_thresholds():
    onsets = sat.saturation_onsets()
    tanh, sig = onsets["tanh"], onsets["sigmoid"]
    assert tanh.z_onset == pytest.approx(np.arctanh(0.99), rel=1e-12)
    assert sig.z_onset == pytest.approx(np.log(99.0), rel=1e-12)
    assert np.tanh(tanh.z_onset) == pytest.approx(1 - diagnostics.SATURATION_MARGIN, rel=1e-12)
    assert 1 / (1 + np.exp(-sig.z_onset)) == pytest.approx(1 - diagnostics.SATURATION_MARGIN, rel=1e-12)
    # closed forms: tanh' = 1 - 0.99^2, sigma' = 0.99 * 0.01
    assert tanh.derivative_at_onset == pytest.approx(1 - 0.99**2, rel=1e-9)
    assert sig.derivative_at_onset == pytest.approx(0.99 * 0.01, rel=1e-9)
    assert tanh.derivative_max == 1.0 and sig.derivative_max == 0.25
    assert sig.fraction_of_max == pytest.approx(0.99 * 0.01 / 0.25, rel=1e-9)
    assert tanh.rule == "|a| > 0.99" and sig.rule == "a < 0.01 or a > 0.99"


def test_layer_saturation_is_the_diagnostics_definition():
    a = np.array([[-0.995, -0.98, 0.0, 0.991], [0.5, 0.99, -0.99, 1.0]])
    assert sat.layer_saturation("tanh", a) == pytest.approx(3 / 8)
    assert sat.layer_saturation("tanh", a) == diagnostics.saturated_fraction("tanh", a)
    s = np.array([[0.005, 0.01, 0.5, 0.995]])
    assert sat.layer_saturation("sigmoid", s) == pytest.approx(2 / 4)
    assert sat.layer_saturation("relu", np.array([[0.0, 1.0, 0.0, 2.0]])) == 0.5
    with pytest.raises(ValueError, match="activation"):
        sat.layer_saturation("elu", a)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_derivative_zeros_are_the_first_exact_zeros(activation, dtype):
    result = sat.derivative_zeros(activation, dtype)
    f = vn.make_activation(activation)
    dt = np.dtype(dtype)
    for z in (result.z_positive, result.z_negative):
        assert np.isfinite(z)
        inside = z - np.sign(z) * 0.01
        factors = sat._backward_factor(f, np.array([z, inside], dtype=dt))
        assert factors[0] == 0 and factors[1] > 0
    d = result.derivative_zero
    assert f.derivative(np.array([d, -d], dtype=dt)).min() == 0
    assert f.derivative(np.array([d - 0.01, 0.01 - d], dtype=dt)).min() > 0
    # no exact zero lies beyond the point where the exact derivative rounds to 0 (up to float16's z spacing) ...
    assert max(result.z_positive, -result.z_negative, d) < result.underflow_z + 0.05
    # ... and there the exact derivative is half the smallest subnormal
    z = result.underflow_z
    exact = 4 * np.exp(-2 * z) if activation == "tanh" else np.exp(-z)
    assert exact == pytest.approx(float(np.finfo(dt).smallest_subnormal) / 2, rel=1e-6)


def test_derivative_zeros_float64_numbers_the_notebook_states():
    tanh = sat.derivative_zeros("tanh")
    sig = sat.derivative_zeros("sigmoid")
    # backward passes back f'(z) itself, so it is exactly 0 only where the exact derivative rounds to 0 (|z| > 373.26
    # for tanh, 745.13 for the sigmoid), on both sides alike: not from where tanh z or sigma(z) rounds to 1
    for result in (tanh, sig):
        assert result.z_positive == pytest.approx(result.underflow_z, abs=0.011)  # one grid step
        assert result.z_negative == -result.z_positive and result.derivative_zero == result.z_positive
        assert np.all(result.probe_backward > 0)  # z = 2, 5, 10, 20, 40
    assert vn.make_activation("sigmoid").derivative(np.array([40.0]))[0] > 0


# --------------------------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("fan_in, fan_out", [(64, 64), (10, 90), (300, 20)])
def test_variance_gain_matches_the_initializers(fan_in, fan_out):
    rng = np.random.default_rng(1)
    for init, options in (("uniform", {"limit": 0.7}), ("glorot_uniform", {}), ("he_uniform", {})):
        W = vn.init.initialize(init, (fan_in, fan_out), rng=rng, **options)
        gain = sat.variance_gain(init, fan_in, fan_out, options.get("limit", 1.0))
        assert fan_in * W.var() == pytest.approx(gain, rel=0.05)
    assert sat.variance_gain("glorot_uniform", fan_in, fan_out) == pytest.approx(2 * fan_in / (fan_in + fan_out))
    assert sat.variance_gain("he_uniform", fan_in, fan_out) == pytest.approx(2.0)
    assert sat.variance_gain("uniform", fan_in, fan_out, 1.0) == pytest.approx(fan_in / 3)


def test_measure_layers_in_pieces_is_one_full_batch_backward():
    rng = np.random.default_rng(3)
    model = sat.build_deep_mlp("tanh", "glorot_uniform", depth=4, width=16, rng=rng, in_features=5, out_features=3)
    x = rng.normal(size=(70, 5))  # 32 + 32 + 6 rows
    labels = rng.integers(0, 3, size=70)
    stats = sat.measure_layers(model, "tanh", x, labels)
    # the reference: one forward and one backward of the whole batch
    loss = vn.make_loss("softmax_ce")
    loss.forward(model.forward(x), labels)
    model.backward(loss.backward())
    np.testing.assert_allclose(stats["grad_norm"], diagnostics.gradient_norms(model), rtol=1e-10)
    dense = [layer for layer in model if isinstance(layer, Dense)]
    acts = [layer for layer in model if isinstance(layer, vn.activations.Activation)]
    # the last hidden layer's delta: dL/dz = (dL/dlogits W_out^T) * tanh'(z)
    loss.forward(model.forward(x), labels)
    delta = (loss.backward() @ dense[-1].params["W"].T) * (1 - np.tanh(acts[-1].cache["z"]) ** 2)
    assert stats["delta_std"][-1] == pytest.approx(delta.std(), rel=1e-10)
    assert stats["act_std"][0] == pytest.approx(acts[0].cache["out"].std(), rel=1e-12)
    assert stats["act_hist"].shape == (4, 40)
    np.testing.assert_allclose(stats["act_hist"].sum(axis=1), 1.0)


def test_forward_variance_rule_holds_layer_by_layer():
    # Var[z_{l+1}] = fan_in * Var[W] * E[a_l^2] for the weights actually drawn (zero biases)
    rng = np.random.default_rng(0)
    model = sat.build_deep_mlp("tanh", "glorot_uniform", depth=6, width=128, rng=rng)
    X = sat.digits_split()[1][:400]
    model.forward(X)
    acts = [layer for layer in model if isinstance(layer, vn.activations.Activation)]
    dense = [layer for layer in model if isinstance(layer, Dense)]
    for i in range(1, len(acts)):
        a_prev = acts[i - 1].cache["out"]
        predicted = 128 * dense[i].params["W"].var() * np.mean(a_prev**2)
        assert acts[i].cache["z"].var() == pytest.approx(predicted, rel=0.15)


@pytest.fixture(scope="module")
def comparison():
    return sat.init_comparison()


def test_init_comparison_tanh(comparison):
    wide = comparison[("tanh", "U(±1)")]
    narrow = comparison[("tanh", "U(±0.1)")]
    glorot = comparison[("tanh", "Glorot")]
    assert wide.forward_gain == pytest.approx(64 / 3) and glorot.forward_gain == pytest.approx(1.0)
    assert np.all(wide.saturated > 0.4)                       # U(±1): about half the units saturated
    assert narrow.act_std[-1] < 1e-3 * narrow.act_std[0]      # U(±0.1): activations fade away
    assert np.all(glorot.saturated < 0.02)
    assert 0.3 < glorot.gradient_ratio < 3                     # Glorot: steady gradient norms
    assert wide.gradient_ratio > 10                             # U(±1): gradients grow towards the input
    # the backward factor per layer, fan_out Var[W] E[f'^2], is above 1 for U(±1) despite the saturation
    assert np.all(wide.backward_gain * wide.mean_derivative_sq > 1)


def test_init_comparison_sigmoid_gradients_shrink_even_with_glorot(comparison):
    glorot = comparison[("sigmoid", "Glorot")]
    assert np.all(glorot.mean_derivative_sq < 0.0625 + 1e-12)  # sigma' <= 1/4
    assert glorot.gradient_ratio < 1e-4
    assert np.all(np.diff(np.log(glorot.grad_norm[: glorot.depth])) > 0)  # smaller at every step towards the input
    assert glorot.act_mean.min() > 0.4                          # not zero-centred


def test_init_statistics_training_steps_with_a_large_rate_saturate():
    at_init = sat.init_statistics("tanh", "glorot_uniform", depth=6, rng=np.random.default_rng(0))
    trained = sat.init_statistics("tanh", "glorot_uniform", depth=6, steps=40, lr=3.0, rng=np.random.default_rng(0))
    assert trained.steps == 40 and trained.lr == 3.0
    assert trained.saturated.mean() > at_init.saturated.mean() + 0.3


def test_init_statistics_rejects_bad_settings():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="init="):
        sat.init_statistics("tanh", "lecun", rng=rng)
    with pytest.raises(ValueError, match="batch=1000"):
        sat.init_statistics("tanh", batch=1000, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        sat.init_statistics("tanh", rng=0)


# --------------------------------------------------------------------------------------------- the output loss


def test_output_gradients_closed_forms():
    z = np.array([-30.0, -8.0, -1.0, 0.0, 2.0])
    g = sat.output_gradients(z)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(g.mse, (s - 1) * s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(g.bce_logits, s - 1, rtol=1e-12)
    np.testing.assert_allclose(g.bce[1:], s[1:] - 1, rtol=1e-9)
    assert g.bce[0] == 0  # sigma(-30) ~ 9e-14 is clipped to 1e-12: the probability form loses the gradient
    assert g.gradient("mse") is g.mse


def test_output_training_mse_stalls_cross_entropy_learns():
    runs = {name: sat.output_unit_training(name, z_start=-8.0, lr=1.0, steps=200, rng=np.random.default_rng(0))
            for name in ("mse", "bce", "bce_logits")}
    assert runs["bce_logits"].steps_to_learn is not None and runs["bce_logits"].final_accuracy > 0.95
    assert runs["bce"].steps_to_learn == runs["bce_logits"].steps_to_learn  # same in exact arithmetic here
    assert runs["mse"].steps_to_learn is None and runs["mse"].final_accuracy < 0.6
    assert runs["mse"].p_positive[-1] < 0.01
    assert runs["mse"].p_positive.shape == (201,) and runs["mse"].loss.shape == (200,)


def test_output_training_from_minus_30_only_logits_learn():
    bce = sat.output_unit_training("bce", z_start=-30.0, lr=1.0, steps=200, rng=np.random.default_rng(0))
    logits = sat.output_unit_training("bce_logits", z_start=-30.0, lr=1.0, steps=200, rng=np.random.default_rng(0))
    assert bce.p_positive[-1] < 1e-10
    assert logits.final_accuracy > 0.95


def test_output_loss_comparison_covers_the_start():
    result = sat.output_loss_comparison(("mse",), z_start=-35.0, steps=20)
    assert result.gradients.z.min() <= -35.0
    assert [r.loss_name for r in result.runs] == ["mse"]
    with pytest.raises(ValueError, match="losses"):
        sat.output_loss_comparison(("hinge",))


# --------------------------------------------------------------------------------------------- the digits


def test_digits_split_is_standardized_and_fixed():
    X_train, X_test, y_train, y_test = sat.digits_split()
    assert X_train.shape == (1348, 64) and X_test.shape == (449, 64)
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    stds = X_train.std(axis=0)
    assert np.all((np.abs(stds - 1) < 1e-12) | (stds == 0))
    assert not X_train.flags.writeable
    assert sat.digits_split()[0] is X_train


def test_digits_run_measures_saturation_and_learns():
    wide = sat.digits_run(1.0, 0.1, epochs=1, batch_size=10, measures_per_epoch=2)
    narrow = sat.digits_run(0.1, 0.1, epochs=1, batch_size=10, measures_per_epoch=2)
    assert wide.test_accuracy.shape == (3,)
    np.testing.assert_allclose(wide.epochs_seen, [0, 0.5, 1])
    assert wide.hidden_saturated[0] > 0.4 and narrow.hidden_saturated[0] < 0.01
    assert narrow.final_accuracy > 0.5
    # fit merges a last batch of one example into the previous one: 1348 examples one at a time are 1347 updates
    assert sat._steps_per_epoch(1348, 1) == 1347 and sat._steps_per_epoch(1348, 10) == 135
    assert sat._steps_per_epoch(1341, 10) == 134
    assert 0 <= wide.output_wrong_saturated[0] <= wide.output_saturated[0]


def test_lr_saturation_large_rate_saturates():
    runs = sat.lr_saturation((0.3, 30.0), epochs=1, every=10)
    assert runs[0.3].steps[0] == 0 and runs[0.3].hidden_saturated.shape[1] == 3
    assert runs[0.3].hidden_saturated[-1].mean() < 0.1
    assert runs[30.0].hidden_saturated[-1].mean() > 0.5
    assert runs[30.0].test_accuracy < runs[0.3].test_accuracy


# --------------------------------------------------------------------------------------------- plots and widgets


def test_plots_return_figures(comparison):
    from vanishing.plots import saturation as plots

    figures = [
        plots.activation_saturation(sat.saturation_onsets()),
        plots.init_histograms(comparison),
        plots.init_profiles(comparison),
        plots.layer_statistics(comparison[("tanh", "U(±1)")]),
        plots.output_loss(sat.output_loss_comparison(steps=20)),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(TypeError, match="init_statistics"):
        plots.layer_statistics("not a result")


def test_widgets_are_registered():
    from vanishing.widgets import WIDGETS

    assert {"saturation_layers", "output_loss_explorer"} <= set(WIDGETS)
    app = WIDGETS["saturation_layers"](activation="sigmoid", init="glorot_uniform", depth=4)
    assert app.error is None and app.result.activation == "sigmoid" and app.result.depth == 4
    app.set(steps=10, lr=1.0)
    assert app.result.steps == 10


# --------------------------------------------------------------------------------------------- self-checks


def test_check_glorot_limit_passes_the_formula_and_names_a_wrong_pair():
    from vanishing import checks

    assert checks.check_glorot_limit(lambda a, b: np.sqrt(6 / (a + b))).passed is True
    assert checks.check_glorot_limit(None).passed is None
    assert checks.check_glorot_limit(lambda a, b: None).passed is None
    fan_in_only = checks.check_glorot_limit(lambda a, b: np.sqrt(3 / a))  # right on square layers only
    assert fan_in_only.passed is False and "fan_in=784, fan_out=25" in fan_in_only.message
    assert checks.check_glorot_limit(lambda a, b: np.sqrt(2 / (a + b))).passed is False


def test_check_saturated_fraction_catches_the_threshold_and_the_sigmoid():
    from vanishing import checks

    def right(activation, a):
        return np.mean(np.abs(a) > 0.99) if activation == "tanh" else np.mean((a < 0.01) | (a > 0.99))

    assert checks.check_saturated_fraction(right).passed is True
    inclusive = checks.check_saturated_fraction(lambda act, a: np.mean(np.abs(a) >= 0.99))
    assert inclusive.passed is False and "tanh" in inclusive.message
    tanh_rule_only = checks.check_saturated_fraction(lambda act, a: np.mean(np.abs(a) > 0.99))
    assert tanh_rule_only.passed is False and "sigmoid" in tanh_rule_only.message
    assert checks.check_saturated_fraction(...).passed is None


def test_check_tanh_init_runs_the_experiment():
    from vanishing import checks

    assert checks.check_tanh_init(None).passed is None
    assert checks.check_tanh_init({"init": "uniform", "limit": None}).passed is None
    assert checks.check_tanh_init({"init": "he_uniform"}).passed is True
    assert checks.check_tanh_init({"init": "uniform", "limit": 0.3}).passed is True
    glorot = checks.check_tanh_init({"init": "glorot_uniform"})
    assert glorot.passed is False and "below" in glorot.message and "0.24" in glorot.message
    wide = checks.check_tanh_init({"init": "uniform", "limit": 1.0})
    assert wide.passed is False and "saturated" in wide.message
    assert checks.check_tanh_init(("uniform", 0.3)).passed is False
    assert checks.check_tanh_init({"init": "lecun"}).passed is False


def test_init_statistics_reports_overflow_as_a_value_error(monkeypatch):
    # finite weights can still give activations beyond float64; the widget must get a message, not inf or a warning
    real = sat.measure_layers

    def overflowing(*args, **kwargs):
        stats = real(*args, **kwargs)
        stats["act_std"][-1] = np.inf
        return stats

    monkeypatch.setattr(sat, "measure_layers", overflowing)
    with pytest.raises(ValueError, match="overflowed"):
        sat.init_statistics("relu", "he_uniform", depth=3, rng=np.random.default_rng(0))
