"""Notebook 02 (saturation): the experiments' numbers, against closed forms and the engine."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing as vn
from vanishing import diagnostics
from vanishing.experiments import saturation as sat


@pytest.fixture(scope="module")
def digits():
    return vn.scenarios.digits_split(rng=np.random.default_rng(0))


# --------------------------------------------------------------------------------------------- where the factor is 0


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_derivative_two_ways_agree_where_nothing_rounds_away(activation):
    z = np.linspace(-8, 8, 161)
    from_output, from_z = sat.derivative_two_ways(activation, z)
    np.testing.assert_allclose(from_output, vn.make_activation(activation).derivative(z), rtol=1e-9)
    np.testing.assert_allclose(from_z, from_output, rtol=1e-9)
    assert from_z.dtype == np.float64
    assert sat.derivative_two_ways(activation, z.astype(np.float32))[0].dtype == np.float32


@pytest.mark.parametrize("activation, dtype, output_zero, z_zero", [
    ("tanh", np.float64, 19.0, 373.26), ("tanh", np.float32, 10.0, 52.68),
    ("sigmoid", np.float64, 36.74, 745.14), ("sigmoid", np.float32, 16.64, 103.98),
])
def test_the_derivative_from_the_output_is_zero_long_before_the_one_from_z(activation, dtype, output_zero, z_zero):
    grid = np.arange(0.0, 1000.0, 0.01)
    from_output, from_z = sat.derivative_two_ways(activation, grid.astype(dtype))
    first = [grid[np.argmax(d == 0)] for d in (from_output, from_z)]
    assert first == pytest.approx([output_zero, z_zero], abs=0.006)
    # the first zero of the form from z is where the exact derivative is half the smallest subnormal
    exact = 4 * np.exp(-2 * first[1]) if activation == "tanh" else np.exp(-first[1])
    assert exact <= float(np.finfo(dtype).smallest_subnormal) / 2 * 1.05
    assert np.all(from_z[grid < first[1] - 0.01] > 0)


def test_derivative_two_ways_rejects_an_activation_without_saturation():
    with pytest.raises(ValueError, match="activation"):
        sat.derivative_two_ways("relu", np.zeros(3))


# --------------------------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("fan_in, fan_out", [(64, 64), (10, 90), (300, 20)])
def test_variance_gain_matches_the_initializers(fan_in, fan_out):
    rng = np.random.default_rng(1)
    for init, options in (("uniform", {"limit": 0.7}), ("glorot_uniform", {"gain": 5 / 3}), ("he_uniform", {})):
        W = vn.init.initialize(init, (fan_in, fan_out), rng=rng, **options)
        gain = sat.variance_gain(init, fan_in, fan_out, options.get("limit", 1.0), options.get("gain", 1.0))
        assert fan_in * W.var() == pytest.approx(gain, rel=0.06)
    assert sat.variance_gain("glorot_uniform", fan_in, fan_out) == pytest.approx(2 * fan_in / (fan_in + fan_out))
    assert sat.variance_gain("he_uniform", fan_in, fan_out) == pytest.approx(2.0)
    assert sat.variance_gain("uniform", fan_in, fan_out, 1.0) == pytest.approx(fan_in / 3)
    with pytest.raises(ValueError, match="init"):
        sat.variance_gain("lecun", fan_in, fan_out)


def test_layer_profile_in_pieces_is_one_full_batch_pass():
    rng = np.random.default_rng(3)
    model = vn.mlp([5, 16, 16, 16, 16, 3], "tanh", rng=rng)
    x = rng.normal(size=(70, 5))  # 32 + 32 + 6 rows
    labels = rng.integers(0, 3, size=70)
    profile = sat.layer_profile(model, x, labels)
    # the reference: the diagnostics on the whole batch at once
    loss = vn.make_loss("softmax_ce")
    np.testing.assert_allclose(profile.signal, diagnostics.backward_signal(model, loss, x, labels), rtol=1e-10)
    loss.forward(model.forward(x), labels)
    model.backward(loss.backward())
    np.testing.assert_allclose(profile.grad_norm, diagnostics.gradient_norms(model), rtol=1e-10)
    outs = [la.out for la in diagnostics.collect_activations(model, x) if isinstance(la.layer, vn.activations.Tanh)]
    np.testing.assert_allclose(profile.act_std, [a.std() for a in outs], rtol=1e-12)
    np.testing.assert_allclose(profile.saturated, [diagnostics.saturated_fraction("tanh", a) for a in outs])
    assert profile.depth == 4 and profile.width == 16 and profile.act_hist.shape == (4, 40)
    np.testing.assert_allclose(profile.act_hist.sum(axis=1), 1.0)
    assert profile.signal_ratio == pytest.approx(profile.signal[0] / profile.signal[3])
    with pytest.raises(ValueError, match="activation layer"):
        sat.layer_profile(vn.Sequential([vn.Dense(5, 3, rng=rng)]), x, labels)


def test_forward_variance_rule_holds_layer_by_layer(digits):
    # Var[z_{l+1}] = fan_in * Var[W] * E[a_l^2] for the weights actually drawn (zero biases)
    model = vn.mlp([64] + [128] * 6 + [10], "tanh", rng=np.random.default_rng(0))
    layers = diagnostics.collect_activations(model, digits[1][:400])
    acts = [la for la in layers if isinstance(la.layer, vn.activations.Activation)]
    dense = [layer for layer in model if isinstance(layer, vn.Dense)]
    for i in range(1, len(acts)):
        predicted = 128 * dense[i].params["W"].var() * np.mean(acts[i - 1].out ** 2)
        assert acts[i].x.var() == pytest.approx(predicted, rel=0.15)


def _profile(digits, activation, init, **options):
    model = vn.mlp([64] + [64] * 10 + [10], activation, init=init, init_options=options, rng=np.random.default_rng(0))
    return sat.layer_profile(model, digits[1][:256], digits[3][:256])


def test_tanh_initialisations(digits):
    wide = _profile(digits, "tanh", "uniform", limit=1.0)
    narrow = _profile(digits, "tanh", "uniform", limit=0.1)
    glorot = _profile(digits, "tanh", "glorot_uniform")
    he = _profile(digits, "tanh", "he_uniform")
    tanh_gain = _profile(digits, "tanh", "glorot_uniform", gain=5 / 3)
    assert np.all(wide.saturated > 0.4) and wide.signal_ratio > 10  # saturated and exploding
    assert narrow.act_std[-1] < 1e-3 * narrow.act_std[0] and narrow.signal_ratio < 1e-2  # fading
    # Glorot (gain 1): no saturation, but the spread fades and so does the backward signal
    assert np.all(glorot.saturated < 0.03) and glorot.act_std[-1] < 0.45 * glorot.act_std[0]
    assert 0.2 < glorot.signal_ratio < 0.5
    assert 0.5 < glorot.gradient_ratio < 1.5  # ... which the weight gradients hide
    # a gain above 1 holds the spread: He (2) near 0.56, 5/3 (25/9) near 0.65, after the first layers
    assert np.all(np.abs(he.act_std[3:] - 0.56) < 0.04) and 0.7 < he.signal_ratio < 1.5
    assert np.all(np.abs(tanh_gain.act_std[2:] - 0.65) < 0.04) and tanh_gain.saturated.max() < 0.1
    assert 1.5 < tanh_gain.signal_ratio < 3


def test_relu_he_holds_the_spread_and_glorot_halves_the_second_moment(digits):
    glorot = _profile(digits, "relu", "glorot_uniform")
    he = _profile(digits, "relu", "he_uniform")
    assert glorot.act_std[-1] < 0.06 * glorot.act_std[0] and glorot.signal_ratio < 0.1
    assert np.all((he.act_std > 0.7) & (he.act_std < 1.4)) and 0.7 < he.signal_ratio < 1.5
    assert np.array_equal(glorot.saturated, he.saturated)  # ReLU's zeros do not depend on the scale


def test_sigmoid_backward_signal_shrinks_even_with_glorot(digits):
    glorot = _profile(digits, "sigmoid", "glorot_uniform")
    assert glorot.signal_ratio < 1e-4
    assert np.all(np.diff(np.log(glorot.signal[: glorot.depth])) > 0)  # smaller at every step towards the input
    assert glorot.act_mean.min() > 0.4  # not zero-centred


def test_init_statistics_at_initialisation_and_after_a_large_rate():
    at_init = sat.init_statistics("tanh", "glorot_uniform", depth=6, rng=np.random.default_rng(0))
    trained = sat.init_statistics("tanh", "glorot_uniform", depth=6, steps=40, lr=3.0, rng=np.random.default_rng(0))
    assert at_init.steps == 0 and at_init.label == "Glorot" and at_init.forward_gain == pytest.approx(1.0)
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


def test_init_statistics_reports_overflow_as_a_value_error(monkeypatch):
    # finite weights can still give activations beyond float64; the widget must get a message, not inf or a warning
    real = sat.layer_profile

    def overflowing(*args, **kwargs):
        stats = real(*args, **kwargs)
        stats.act_std[-1] = np.inf
        return stats

    monkeypatch.setattr(sat, "layer_profile", overflowing)
    with pytest.raises(ValueError, match="overflowed"):
        sat.init_statistics("relu", "he_uniform", depth=3, rng=np.random.default_rng(0))


# --------------------------------------------------------------------------------------------- the learning rate


def test_a_large_learning_rate_saturates_the_hidden_layers(digits):
    X_train, X_test, y_train, _ = digits
    fractions = {}
    for lr in (0.3, 30.0):
        rng = np.random.default_rng(0)
        model = vn.mlp([64, 32, 32, 32, 10], "tanh", rng=rng, output_activation="sigmoid")
        recorder = diagnostics.SaturationFraction(every=20, probe_X=X_test[:200])
        vn.fit(model, "mse", vn.optim.SGD(model, lr=lr), X_train, vn.data.one_hot(y_train, 10), batch_size=16,
               steps=85, rng=rng, callbacks=[recorder])
        fractions[lr] = recorder.history[-1, :-1].mean()
    assert fractions[0.3] < 0.1 and fractions[30.0] > 0.5


def test_scaled_inputs_match_the_per_update_step_of_784_pixels(digits):
    X_train = digits[0]
    scale = np.sqrt(784 / np.mean(np.sum(X_train ** 2, axis=1)))
    assert np.mean(np.sum((scale * X_train) ** 2, axis=1)) == pytest.approx(784)
    # one per-example SGD step moves that example's z by -lr delta (||x||^2 + 1)
    x = scale * X_train[:1]
    unit = vn.Dense(64, 1, rng=np.random.default_rng(0), bias=0.2)
    before = unit.forward(x)[0, 0]
    unit.backward(np.array([[0.5]]))
    vn.optim.SGD(unit, lr=0.01).step()
    assert unit.forward(x)[0, 0] - before == pytest.approx(-0.01 * 0.5 * (np.sum(x ** 2) + 1), rel=1e-10)


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
    assert runs["bce_logits"].steps_to_learn == 31 and runs["bce_logits"].final_accuracy > 0.95
    assert runs["bce"].steps_to_learn == runs["bce_logits"].steps_to_learn  # same in exact arithmetic here
    assert runs["mse"].steps_to_learn is None and runs["mse"].final_accuracy < 0.6
    assert runs["mse"].p_positive[-1] < 0.01
    assert runs["mse"].p_positive.shape == (201,) and runs["mse"].loss.shape == (200,)


def test_output_training_from_minus_30_only_logits_learn():
    bce = sat.output_unit_training("bce", z_start=-30.0, lr=1.0, steps=200, rng=np.random.default_rng(0))
    logits = sat.output_unit_training("bce_logits", z_start=-30.0, lr=1.0, steps=200, rng=np.random.default_rng(0))
    assert bce.p_positive[-1] < 1e-10 and bce.steps_to_learn is None
    assert logits.steps_to_learn == 108 and logits.final_accuracy > 0.95


def test_output_loss_comparison_covers_the_start():
    result = sat.output_loss_comparison(("mse",), z_start=-35.0, steps=20, rng=np.random.default_rng(0))
    assert result.gradients.z.min() <= -35.0
    assert [r.loss_name for r in result.runs] == ["mse"]
    with pytest.raises(ValueError, match="losses"):
        sat.output_loss_comparison(("hinge",), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="losses"):
        sat.output_loss_comparison((), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        sat.output_loss_comparison(rng=0)


def test_output_loss_comparison_trains_every_loss_on_the_same_data():
    rng = np.random.default_rng(3)
    result = sat.output_loss_comparison(("mse", "bce_logits"), steps=5, rng=rng)
    for run in result.runs:  # each run alone, from a generator seeded as rng was
        alone = sat.output_unit_training(run.loss_name, steps=5, rng=np.random.default_rng(3))
        np.testing.assert_array_equal(run.loss, alone.loss)
        np.testing.assert_array_equal(run.accuracy, alone.accuracy)
    assert rng.random() == np.random.default_rng(3).random()  # rng itself was not advanced


# --------------------------------------------------------------------------------------------- plots and widgets


def test_plots_return_figures(digits):
    from vanishing.plots import saturation as plots

    profile = _profile(digits, "tanh", "glorot_uniform")
    X_train, X_test, y_train, _ = digits
    model = vn.mlp([64, 8, 10], "tanh", rng=np.random.default_rng(0), output_activation="sigmoid")
    recorder = diagnostics.SaturationFraction(every=2, probe_X=X_test[:20])
    history = vn.fit(model, "mse", vn.optim.SGD(model, lr=0.1), X_train, vn.data.one_hot(y_train, 10),
                     batch_size=16, steps=6, rng=np.random.default_rng(1), callbacks=[recorder])
    figures = [
        plots.activation_saturation({"tanh": 2.65, "sigmoid": 4.6}),
        plots.init_histograms({("tanh", "Glorot"): profile}),
        plots.init_profiles({("tanh", "Glorot"): profile}),
        plots.layer_statistics(profile),
        plots.output_loss(sat.output_loss_comparison(steps=20, rng=np.random.default_rng(0))),
        plots.lr_saturation_curves({0.1: (recorder, history, 0.5)}),
        plots.digits_training({"a": (np.linspace(0, 1, 3), np.array([0.1, 0.5, 0.8]), np.array([0.0, 0.1, 0.2]))}),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(TypeError, match="init_statistics"):
        plots.layer_statistics("not a result")
    with pytest.raises(TypeError, match="onsets"):
        plots.activation_saturation({"tanh": 2.65})


def test_widgets_are_registered():
    from vanishing.widgets import WIDGETS

    assert {"saturation_layers", "output_loss_explorer"} <= set(WIDGETS)
    app = WIDGETS["saturation_layers"](activation="sigmoid", init="glorot_uniform", depth=4)
    assert app.error is None and app.result.activation == "sigmoid" and app.result.depth == 4
    app.set(steps=10, lr=1.0)
    assert app.result.steps == 10
    app = WIDGETS["output_loss_explorer"](z_start=-30.0)
    assert app.error is None and [r.loss_name for r in app.result.runs] == ["mse", "bce", "bce_logits"]


# --------------------------------------------------------------------------------------------- self-checks


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


def test_check_z_change_passes_the_formula_and_names_each_usual_slip():
    from vanishing import checks

    assert checks.check_z_change(lambda x, d, lr: -lr * d * (np.dot(x, x) + 1)).passed is True
    no_bias = checks.check_z_change(lambda x, d, lr: -lr * d * np.dot(x, x))
    assert no_bias.passed is False and "bias" in no_bias.hint
    sign = checks.check_z_change(lambda x, d, lr: lr * d * (np.dot(x, x) + 1))
    assert sign.passed is False and "sign" in sign.hint
    norm = checks.check_z_change(lambda x, d, lr: -lr * d * (np.linalg.norm(x) + 1))
    assert norm.passed is False and "||x||²" in norm.hint
    weight_only = checks.check_z_change(lambda x, d, lr: -lr * d)
    assert weight_only.passed is False and "x=array([2.])" in weight_only.message
    assert checks.check_z_change(lambda x, d, lr: x[5]).passed is False  # a learner's exception is reported
    assert checks.check_z_change(None).passed is None
    assert checks.check_z_change(lambda x, d, lr: None).passed is None
