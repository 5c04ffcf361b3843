"""Notebook 06 (batch normalization): the experiments, their plots, the self-checks and the widget."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing as vn
from vanishing import checks
from vanishing.experiments import batchnorm as bn_exp
from vanishing.gradcheck import check_layer
from vanishing.layers import BatchNorm
from vanishing.plots import batchnorm as bn_plots

# --------------------------------------------------------------------------------------------- section 1-2


def test_backward_properties_follow_from_the_formula():
    p = bn_exp.batchnorm_backward_properties(n=8, d=4, scale=10.0, shift=5.0, rng=np.random.default_rng(0))
    assert p.dx_norm > 1.0
    assert p.sum_dx < 1e-12 * p.dx_norm  # no component along "shift the batch"
    assert p.sum_dx_xhat < 1e-4 * p.dx_norm  # none along "stretch the batch" (up to eps)
    assert p.constant_dout_dx < 1e-12  # a uniform push passes nothing back
    assert p.output_change < 1e-4  # BN(10 x + 5) == BN(x) up to eps
    assert abs(p.dx_scale_ratio - 1.0) < 1e-4  # dx shrinks as 1 / scale
    assert p.bias_grad < 1e-12 < 0.1 < p.weight_grad  # a bias straight before BatchNorm learns nothing


def test_engine_batchnorm_passes_gradcheck_in_both_modes():
    errors = bn_exp.batchnorm_gradcheck(n=6, d=4, rng=np.random.default_rng(1))
    assert set(errors) == {"train", "eval"}
    for mode in errors.values():
        assert set(mode) == {"x", "gamma", "beta"}
        assert max(mode.values()) < 1e-7


def test_eval_mode_is_the_affine_map_of_the_running_statistics_and_does_not_update_them():
    layer = BatchNorm(3)
    rng = np.random.default_rng(2)
    for _ in range(5):
        layer.forward(rng.normal(2.0, 3.0, (16, 3)))
    mean, var = layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy()
    x = rng.normal(0.0, 1.0, (1, 3))
    out = layer.eval().forward(x)
    assert np.allclose(out, (x - mean) / np.sqrt(var + layer.eps))
    assert np.array_equal(layer.buffers["running_mean"], mean) and np.array_equal(layer.buffers["running_var"], var)


# --------------------------------------------------------------------------------------------- RandomShift


def test_random_shift_moves_the_whole_batch_by_one_draw_per_unit_and_is_the_identity_in_eval_mode():
    layer = bn_exp.RandomShift(4, 1.0, rng=np.random.default_rng(3))
    x = np.random.default_rng(4).normal(0.0, 1.0, (10, 4))
    out = layer.forward(x)
    scale, shift = layer.cache["scale"], layer.cache["shift"]
    assert np.all((scale >= 0.5) & (scale <= 1.5)) and np.all(np.abs(shift) <= 1.0)
    assert np.allclose(out, x * scale + shift)
    assert not np.allclose(layer.forward(x), out)  # a fresh draw at every forward
    assert np.array_equal(layer.eval().forward(x), x)
    assert np.array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_random_shift_gradcheck_with_frozen_noise():
    layer = bn_exp.RandomShift(3, 1.2, rng=np.random.default_rng(5))
    errors = check_layer(layer, np.random.default_rng(6).normal(0.0, 1.0, (5, 3)), rng=np.random.default_rng(7))
    assert errors["x"] < 1e-7


def test_random_shift_rejects_bad_levels_and_noise_without_batchnorm():
    with pytest.raises(ValueError, match="level=2.0 is out of range"):
        bn_exp.RandomShift(3, 2.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="batchnorm='none' has none"):
        bn_exp.batchnorm_mlp("tanh", "none", noise=0.5, rng=np.random.default_rng(0),
                             noise_rng=np.random.default_rng(1))


def test_noise_layers_leave_the_weights_as_without_noise():
    clean = bn_exp.batchnorm_mlp("sigmoid", "before", depth=3, rng=np.random.default_rng(0))
    noisy = bn_exp.batchnorm_mlp("sigmoid", "before", depth=3, noise=1.0, rng=np.random.default_rng(0),
                                 noise_rng=np.random.default_rng(1))
    assert sum(isinstance(layer, bn_exp.RandomShift) for layer in noisy) == 3
    assert all(np.array_equal(a.params["W"], b.params["W"])
               for (_, a), (_, b) in zip(vn.models.dense_layers(clean), vn.models.dense_layers(noisy), strict=True))


# --------------------------------------------------------------------------------------------- section 3 and 6


@pytest.fixture(scope="module")
def sigmoid_runs():
    options = {"depth": 10, "width": 32, "batch_size": 32, "lr": 0.1, "steps": 60, "probe": 64, "probe_every": 10}
    return {
        "none": bn_exp.batchnorm_training("sigmoid", "none", **options),
        "before": bn_exp.batchnorm_training("sigmoid", "before", **options),
        "noisy": bn_exp.batchnorm_training("sigmoid", "before", noise=1.0, **options),
    }


def test_batchnorm_training_records_shapes(sigmoid_runs):
    run = sigmoid_runs["before"]
    assert run.steps == 60 and run.loss.shape == (60,) and run.grad_norms.shape == (60, 11)
    assert run.layer_names[0] == "Dense 1" and len(run.layer_names) == 11
    assert list(run.probe_steps) == [0, 10, 20, 30, 40, 50, 60]
    assert run.input_mean.shape == (7, 10, 32) and run.input_std.shape == (7, 10, 32)
    assert run.label == "sigmoid, BN before" and sigmoid_runs["noisy"].label == "sigmoid, BN before + noise 1"


def test_batchnorm_before_sigmoid_keeps_the_gradient_and_the_plain_network_loses_it(sigmoid_runs):
    none, before = sigmoid_runs["none"], sigmoid_runs["before"]
    assert none.ratio("init") < 1e-4 and none.ratio("late") < 1e-4  # notebook 01's vanishing gradient
    assert 0.1 < before.ratio("init") < 10 and 0.1 < before.ratio("late") < 10
    assert none.mean_loss("last") > 2.2  # chance level is ln 10 = 2.30
    assert before.mean_loss("last") < before.mean_loss("first") - 0.5
    assert before.test_accuracy > 0.5 > none.test_accuracy


def test_noisy_batchnorm_moves_the_layer_inputs_far_more_and_still_trains(sigmoid_runs):
    none, before, noisy = sigmoid_runs["none"], sigmoid_runs["before"], sigmoid_runs["noisy"]
    assert np.median(noisy.drift) > 10 * max(np.median(before.drift), np.median(none.drift))
    assert noisy.mean_loss("last") < none.mean_loss("last") - 0.3


def test_batchnorm_training_is_deterministic_and_probe_free_runs_train_identically():
    a = bn_exp.batchnorm_training("tanh", "after", depth=3, steps=15, probe=0)
    b = bn_exp.batchnorm_training("tanh", "after", depth=3, steps=15, probe=32)
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.grad_norms, b.grad_norms)
    assert a.input_mean.shape == (0, 3, 32) and a.drift.size == 0


def test_batchnorm_training_reports_divergence():
    run = bn_exp.batchnorm_training("relu", "after", depth=4, lr=100.0, steps=100, probe=0)
    assert run.diverged and run.steps < 100 and np.isnan(run.test_accuracy)
    assert run.grad_norms.shape[0] == run.steps
    assert isinstance(bn_plots.batchnorm_flow_plot(run), Figure)  # the plot marks where it diverged


@pytest.mark.parametrize("bad", [{"activation": "elu"}, {"batchnorm": "middle"}, {"depth": 0}, {"batch_size": 1},
                                 {"noise": 2.0}, {"probe": 1}, {"seed": -1}, {"lr": 0.0}])
def test_batchnorm_training_rejects_bad_settings(bad):
    with pytest.raises((ValueError, TypeError), match=next(iter(bad))):
        bn_exp.batchnorm_training(**{"steps": 2, **bad})


def test_tables_name_every_run(sigmoid_runs):
    text = bn_exp.batchnorm_table({r.label: r for r in sigmoid_runs.values()})
    assert "sigmoid, no BN" in text and "test accuracy" in text
    assert "input-mean change per 10 steps" in bn_exp.covariate_shift_table({r.label: r for r in sigmoid_runs.values()})


# --------------------------------------------------------------------------------------------- section 4


@pytest.fixture(scope="module")
def dead_start():
    return bn_exp.relu_batchnorm_positions(bias=-3.0, lr=0.1, steps=40, every=10, probe=128)


def test_negative_bias_kills_the_plain_relu_net_and_batchnorm_before_revives_it(dead_start):
    none, before, after = dead_start["none"], dead_start["before"], dead_start["after"]
    assert np.all(none.dead[:, 1:] == 1.0)  # layers 2.. dead at the start and stay dead
    assert np.all(before.dead == 0.0)
    assert before.inactive[0].mean() == pytest.approx(0.5, abs=0.05)  # zero-centred: about half the outputs at 0
    assert after.inactive[0].mean() > 0.9  # after the ReLU, BatchNorm comes too late
    assert np.mean(before.loss[-10:]) < np.mean(none.loss[-10:]) - 0.5


def test_batchnorm_before_relu_cancels_the_bias(dead_start):
    zero = bn_exp.relu_batchnorm_positions(("before",), bias=0.0, lr=0.1, steps=40, every=10, probe=128)
    assert np.max(np.abs(zero["before"].loss - dead_start["before"].loss)) < 1e-10
    assert "dead units per layer" in bn_exp.relu_position_table(dead_start)


# --------------------------------------------------------------------------------------------- section 5


def test_batch_statistics_follow_theory():
    stats = bn_exp.batch_statistics_noise((2, 4, 16, 64, 256), trials=4000, rng=np.random.default_rng(0))
    assert np.allclose(stats.sd_mean, stats.theory_sd_mean, rtol=0.1)
    assert np.allclose(stats.sd_var, stats.theory_sd_var, rtol=0.2)
    typical, extreme = stats.example_xhat[0], stats.example_xhat[1]
    assert stats.example_xhat_population[0] == pytest.approx(1.0, abs=0.05)
    assert np.allclose(np.abs(typical[[0, 2], 0]), 1.0, atol=0.01)  # a batch of two: +1 or -1
    assert typical[0, 0] < 0 < typical[2, 0]
    assert np.all(extreme <= np.sqrt(stats.batch_sizes - 1) + 1e-9)  # |x_hat| <= sqrt(B - 1)
    assert "theory" in bn_exp.batch_statistics_table(stats)


def test_small_batches_open_a_gap_between_train_and_eval_mode():
    runs = {r.batch_size: r for r in bn_exp.batch_size_gap((4, 128), steps=100)}
    assert runs[4].gap > 0.1
    assert abs(runs[128].gap) < 0.05
    assert "gap" in bn_exp.batch_size_table(list(runs.values()))


@pytest.fixture(scope="module")
def bug():
    return bn_exp.eval_mode_bug((2, 32, 449), compositions=10, steps=100)


def test_eval_mode_does_not_depend_on_the_batch_and_train_mode_does(bug):
    assert np.all(bug.eval_batched_accuracy == bug.eval_accuracy)
    assert bug.train_mode_accuracy[0] < bug.eval_accuracy - 0.3
    assert bug.sorted_accuracy < 0.5 < bug.eval_accuracy
    assert np.ptp(bug.example_probs) > 0.01  # one image, different batch partners, different predictions
    assert bug.eval_leaves_buffers


def test_a_training_mode_evaluation_moves_the_running_statistics(bug):
    assert len(bug.running_trace) == len(bug.batch_means) + 1 == len(bug.batch_labels) + 1
    assert list(bug.batch_labels) == sorted(bug.batch_labels)
    assert bug.running_shift[0] > 0.05
    assert "training mode (bug)" in bn_exp.eval_mode_table(bug)


def test_train_mode_pass_restores_or_keeps_the_running_statistics():
    model = bn_exp.batchnorm_mlp("relu", "before", depth=2, rng=np.random.default_rng(0))
    model.eval()
    X_train, X_test, _, y_test = vn.scenarios.digits_split(rng=np.random.default_rng(0))
    before = {k: v.copy() for k, v in model.buffers.items()}
    bn_exp.train_mode_pass(model, X_test, y_test, 32)
    assert all(np.array_equal(v, before[k]) for k, v in model.buffers.items()) and not model.training
    _, _, trace, means = bn_exp.train_mode_pass(model, X_test, y_test, 32, update_running=True, watch=(1, 0))
    assert not np.array_equal(model.buffers["1.running_mean"], before["1.running_mean"])
    assert not model.training and not model[1].training
    # 449 = 14 x 32 + 1: the lone last image joins the 14th batch
    assert trace[-1] == model.buffers["1.running_mean"][0] and len(means) == 14
    with pytest.raises(ValueError, match="not a BatchNorm"):
        bn_exp.train_mode_pass(model, X_test, y_test, 32, watch=(0, 0))


# --------------------------------------------------------------------------------------------- plots


def test_plots_return_figures(sigmoid_runs, dead_start, bug):
    stats = bn_exp.batch_statistics_noise((2, 8, 32), trials=50, rng=np.random.default_rng(0))
    figures = [
        bn_plots.batchnorm_flow_plot({r.label: r for r in sigmoid_runs.values()}),
        bn_plots.batchnorm_flow_plot(sigmoid_runs["before"]),
        bn_plots.covariate_shift_plot({r.label: r for r in sigmoid_runs.values()}),
        bn_plots.relu_position_plot({"dead start": dead_start}),
        bn_plots.batch_noise_plot(stats),
        bn_plots.batch_size_plot(bn_exp.batch_size_gap((8, 16), steps=5)),
        bn_plots.eval_bug_plot(bug),
    ]
    assert all(isinstance(f, Figure) for f in figures)


def test_plots_reject_wrong_inputs(sigmoid_runs):
    with pytest.raises(TypeError, match="BatchNormRun"):
        bn_plots.batchnorm_flow_plot({})
    with pytest.raises(TypeError, match="batch_statistics_noise"):
        bn_plots.batch_noise_plot(None)
    with pytest.raises(ValueError, match="layer=1 is out of range"):
        bn_plots.covariate_shift_plot({"x": sigmoid_runs["none"]}, layer=1)
    no_probe = bn_exp.batchnorm_training("tanh", "none", depth=2, steps=3, probe=0)
    with pytest.raises(ValueError, match="without a probe"):
        bn_plots.covariate_shift_plot({"x": no_probe})


# --------------------------------------------------------------------------------------------- self-checks


def _backward(dout, x_hat, inv_std, gamma):
    n = dout.shape[0]
    g = dout * gamma
    dx = inv_std / n * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _without_gamma(dout, x_hat, inv_std, gamma):
    return _backward(dout, x_hat, inv_std, np.ones_like(gamma))[0], *_backward(dout, x_hat, inv_std, gamma)[1:]


def _without_mean_term(dout, x_hat, inv_std, gamma):
    n = dout.shape[0]
    g = dout * gamma
    return inv_std / n * (n * g - x_hat * (g * x_hat).sum(axis=0)), (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _swapped(dout, x_hat, inv_std, gamma):
    dx, dgamma, dbeta = _backward(dout, x_hat, inv_std, gamma)
    return dx, dbeta, dgamma


def test_check_batchnorm_backward_passes_the_formula():
    result = checks.check_batchnorm_backward(_backward)
    assert result.passed is True, result.message


@pytest.mark.parametrize("wrong, what", [(_without_gamma, "dx is wrong for the batch 'N=8"),
                                         (_without_mean_term, "dx is wrong for the batch 'N=4"),
                                         (_swapped, "dgamma is wrong"),
                                         (lambda *a: (1, 2), "returned 2 items")])
def test_check_batchnorm_backward_names_what_is_wrong(wrong, what):
    result = checks.check_batchnorm_backward(wrong)
    assert result.passed is False and what in result.message
    assert result.hint


def test_check_batchnorm_backward_placeholders():
    assert checks.check_batchnorm_backward(None).passed is None
    assert checks.check_batchnorm_backward(lambda *a: None).passed is None

    def raises(*args):
        raise NotImplementedError

    assert checks.check_batchnorm_backward(raises).passed is None
    assert checks.check_batchnorm_backward(3).passed is False


def _eval(x, running_mean, running_var, gamma, beta, eps):
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta


def test_check_batchnorm_eval():
    assert checks.check_batchnorm_eval(_eval).passed is True
    assert checks.check_batchnorm_eval(None).passed is None
    no_eps = checks.check_batchnorm_eval(lambda x, m, v, g, b, eps: g * (x - m) / np.sqrt(v) + b)
    assert no_eps.passed is False and "running_var=array([1.e-06" in no_eps.message
    batch_stats = checks.check_batchnorm_eval(lambda x, m, v, g, b, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
                                              + b)
    assert batch_stats.passed is False


# --------------------------------------------------------------------------------------------- widget


def test_widget_controls_reach_the_experiment():
    app = vn.widgets.batchnorm_flow(activation="relu", batchnorm="after", depth=3, batch_size=8, lr=1.0, steps=20)
    r = app.result
    assert (r.activation, r.batchnorm, r.depth, r.batch_size, r.lr, r.steps) == ("relu", "after", 3, 8, 1.0, 20)
    app.controls["batchnorm"].value = "before"
    assert app.result is r and app.stale  # a Run button: nothing recomputed yet
    app.run_button.click()
    assert app.result.batchnorm == "before" and not app.stale


def test_check_batchnorm_eval_prediction_names_the_usual_slips():
    assert checks.check_batchnorm_eval_prediction(None).passed is None
    assert checks.check_batchnorm_eval_prediction(2.5).passed is True
    assert "square root" in checks.check_batchnorm_eval_prediction(1.5).message
    assert "running mean" in checks.check_batchnorm_eval_prediction(3.5).message
    assert "beta" in checks.check_batchnorm_eval_prediction(2.0).message
    assert "own statistics" in checks.check_batchnorm_eval_prediction(0.5).message
    assert checks.check_batchnorm_eval_prediction("2.5?").passed is False
