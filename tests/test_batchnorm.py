"""Notebook 06 (batch normalization): the experiments module, its plots, the self-checks and the widget."""

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


@pytest.fixture(scope="module")
def digits():
    return vn.scenarios.digits_split(rng=np.random.default_rng(0))


# --------------------------------------------------------------------------------------------- sections 1-2


def test_backward_properties_the_notebook_states():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, (8, 4)) * [0.5, 1.0, 3.0, 10.0] + [2.0, -1.0, 0.0, 30.0]
    dout = rng.normal(0.0, 1.0, (8, 4))
    bn = BatchNorm(4)
    out, dx = bn.forward(x), bn.backward(dout)
    size = np.linalg.norm(dx)
    assert np.abs(dx.sum(axis=0)).max() < 1e-12 * size  # no component along "shift the batch"
    assert np.abs((dx * bn.cache["x_hat"]).sum(axis=0)).max() < 1e-4 * size  # none along "stretch it" (up to eps)
    bn.forward(x)
    assert np.abs(bn.backward(np.tile(dout[:1], (8, 1)))).max() < 1e-12  # a uniform push passes nothing back
    moved = bn.forward(10 * x + 5)
    assert np.abs(moved - out).max() < 1e-3  # BN(10 x + 5) == BN(x) up to eps
    assert 10 * np.linalg.norm(bn.backward(dout)) / size == pytest.approx(1.0, abs=1e-4)  # dx shrinks as 1/10
    pair = vn.Sequential([vn.Dense(3, 4, rng=rng, bias=0.5), BatchNorm(4)])
    pair.forward(rng.normal(0.0, 1.0, (8, 3)))
    pair.backward(dout)
    assert np.linalg.norm(pair[0].grads["b"]) < 1e-12 < 0.1 < np.linalg.norm(pair[0].grads["W"])


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
    assert max(check_layer(layer, rng.normal(0.0, 1.0, (4, 3)), rng=rng).values()) < 1e-7


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
    with pytest.raises(TypeError, match="noise_rng=None"):
        bn_exp.batchnorm_mlp("tanh", "before", noise=0.5, rng=np.random.default_rng(0))


def test_noise_layers_leave_the_weights_as_without_noise():
    clean = bn_exp.batchnorm_mlp("sigmoid", "before", depth=3, rng=np.random.default_rng(0))
    noisy = bn_exp.batchnorm_mlp("sigmoid", "before", depth=3, noise=1.0, rng=np.random.default_rng(0),
                                 noise_rng=np.random.default_rng(1))
    assert sum(isinstance(layer, bn_exp.RandomShift) for layer in noisy) == 3
    assert all(np.array_equal(a.params["W"], b.params["W"])
               for (_, a), (_, b) in zip(vn.models.dense_layers(clean), vn.models.dense_layers(noisy), strict=True))


def test_batchnorm_mlp_uses_he_for_relu_and_the_given_bias():
    relu = bn_exp.batchnorm_mlp("relu", "before", depth=2, bias=-3.0, rng=np.random.default_rng(0))
    glorot = bn_exp.batchnorm_mlp("tanh", "before", depth=2, rng=np.random.default_rng(0))
    first_relu, first_tanh = relu[0].params["W"], glorot[0].params["W"]
    assert np.abs(first_relu).max() <= np.sqrt(6 / 64) + 1e-12 < np.abs(first_relu).max() * 1.1
    assert np.abs(first_tanh).max() <= np.sqrt(6 / (64 + 32)) + 1e-12
    assert np.all(relu[0].params["b"] == -3.0) and np.all(relu[-1].params["b"] == 0.0)


# --------------------------------------------------------------------------------------------- the widget's run


@pytest.fixture(scope="module")
def sigmoid_runs():
    options = {"depth": 10, "width": 32, "batch_size": 32, "lr": 0.1, "steps": 60, "probe": 64, "probe_every": 10}
    return {
        "none": bn_exp.batchnorm_training("sigmoid", "none", **options, rng=np.random.default_rng(0)),
        "before": bn_exp.batchnorm_training("sigmoid", "before", **options, rng=np.random.default_rng(0)),
        "noisy": bn_exp.batchnorm_training("sigmoid", "before", noise=1.0, **options, rng=np.random.default_rng(0)),
    }


def test_batchnorm_training_records_shapes(sigmoid_runs):
    run = sigmoid_runs["before"]
    assert run.steps == 60 and run.loss.shape == (60,) and run.signal.shape == (60, 11)
    assert run.layer_names[0] == "Dense 1" and len(run.layer_names) == 11
    assert list(run.probe_steps) == [0, 10, 20, 30, 40, 50, 60]
    assert run.input_mean.shape == (7, 10, 32) and run.input_std.shape == (7, 10, 32)
    assert run.label == "sigmoid, BN before" and sigmoid_runs["noisy"].label == "sigmoid, BN before + noise 1"
    assert np.array_equal(run.init_signal, run.signal[0])
    assert np.array_equal(run.late_signal, np.median(run.signal[30:], axis=0))


def test_batchnorm_before_sigmoid_keeps_the_gradient_and_the_plain_network_loses_it(sigmoid_runs):
    none, before = sigmoid_runs["none"], sigmoid_runs["before"]
    assert none.init_signal[0] / none.init_signal[-1] < 1e-4  # notebook 01's vanishing gradient
    assert 0.1 < before.init_signal[0] / before.init_signal[-1] < 10
    assert np.mean(none.loss[-10:]) > 2.2  # chance level is ln 10 = 2.30
    assert np.mean(before.loss[-10:]) < np.mean(before.loss[:10]) - 0.5
    assert before.test_accuracy > 0.5 > none.test_accuracy


def test_noisy_batchnorm_moves_the_layer_inputs_far_more_and_still_trains(sigmoid_runs):
    def drift(run):
        return np.median(np.abs(np.diff(run.input_mean, axis=0)).mean(axis=(1, 2)))

    none, before, noisy = sigmoid_runs["none"], sigmoid_runs["before"], sigmoid_runs["noisy"]
    assert drift(noisy) > 10 * max(drift(before), drift(none))
    assert np.mean(noisy.loss[-10:]) < np.mean(none.loss[-10:]) - 0.3


def test_batchnorm_training_is_deterministic_and_probes_do_not_disturb_it():
    a = bn_exp.batchnorm_training("tanh", "after", depth=3, steps=15, probe=0, rng=np.random.default_rng(4))
    b = bn_exp.batchnorm_training("tanh", "after", depth=3, steps=15, probe=32, rng=np.random.default_rng(4))
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.signal, b.signal)
    assert a.input_mean.shape == (0, 3, 32) and a.probe_steps.size == 0
    other = bn_exp.batchnorm_training("tanh", "after", depth=3, steps=15, probe=0, rng=np.random.default_rng(5))
    assert not np.array_equal(a.loss, other.loss)


def test_batchnorm_training_noise_changes_neither_the_weights_nor_the_batches():
    """Weights, batch order and noise come from three generators spawned from rng: a clean run and a run with
    tiny noise share the first two, so their losses agree to far below the noise's own effect."""
    clean = bn_exp.batchnorm_training("sigmoid", "before", depth=3, steps=3, probe=0, rng=np.random.default_rng(6))
    noisy = bn_exp.batchnorm_training("sigmoid", "before", depth=3, steps=3, probe=0, noise=1e-12,
                                      rng=np.random.default_rng(6))
    np.testing.assert_allclose(noisy.loss, clean.loss, rtol=1e-9)
    assert not np.array_equal(noisy.loss, clean.loss)  # the noise is there, only tiny


def test_batchnorm_training_reports_divergence():
    run = bn_exp.batchnorm_training("relu", "after", depth=4, lr=100.0, steps=100, probe=0,
                                    rng=np.random.default_rng(0))
    assert run.diverged and run.steps < 100 and np.isnan(run.test_accuracy)
    assert run.signal.shape[0] == run.steps
    assert isinstance(bn_plots.batchnorm_flow_plot(run), Figure)  # the plot marks where it diverged


@pytest.mark.parametrize("bad", [{"activation": "elu"}, {"batchnorm": "middle"}, {"depth": 0}, {"batch_size": 1},
                                 {"noise": 2.0}, {"probe": 1}, {"rng": 0}, {"lr": 0.0}])
def test_batchnorm_training_rejects_bad_settings(bad):
    with pytest.raises((ValueError, TypeError), match=next(iter(bad))):
        bn_exp.batchnorm_training(**{"steps": 2, "batchnorm": "before", "rng": np.random.default_rng(0), **bad})


# --------------------------------------------------------------------------------------------- section 4


def test_negative_bias_kills_the_plain_relu_net_and_batchnorm_before_cancels_it(digits):
    X_train, _, y_train, _ = digits
    probe = X_train[:128]
    runs = {}
    for position, bias in (("none", -3.0), ("before", -3.0), ("after", -3.0), ("zero bias", 0.0)):
        model = bn_exp.batchnorm_mlp("relu", "before" if position == "zero bias" else position, depth=4, bias=bias,
                                     rng=np.random.default_rng(0))
        dead = vn.diagnostics.DeadFraction(probe, every=10)
        history = vn.fit(model, "softmax_ce", vn.optim.SGD(model, lr=0.1), X_train, y_train, batch_size=32,
                         steps=30, rng=np.random.default_rng(1), callbacks=[dead])
        runs[position] = (dead.history, np.asarray(history.loss))
    assert np.all(runs["none"][0][:, 1:] == 1.0)  # layers 2.. dead at the start and stay dead
    assert np.all(runs["before"][0] == 0.0)
    assert np.max(np.abs(runs["zero bias"][1] - runs["before"][1])) < 1e-10  # the bias before BatchNorm does nothing
    assert np.mean(runs["before"][1][-10:]) < np.mean(runs["none"][1][-10:]) - 0.5


# --------------------------------------------------------------------------------------------- section 5


def test_batch_statistics_follow_theory(digits):
    values = vn.Dense(64, 32, rng=np.random.default_rng(0)).forward(digits[0])[:, 0]
    typical = int(np.argmin(np.abs(values - values.mean() - values.std())))
    sizes = np.array([2, 4, 16, 64, 256])
    stats = bn_exp.batch_statistics(values, sizes, trials=4000, examples=(typical, int(np.argmax(values))),
                                    rng=np.random.default_rng(0))
    assert stats["sigma"] == pytest.approx(values.std())
    assert np.allclose(stats["sd_mean"], stats["theory_sd_mean"], rtol=0.1)
    assert np.allclose(stats["sd_var"], stats["theory_sd_var"], rtol=0.2)
    assert stats["xhat"].shape == (2, 3, 5)
    typical_xhat, extreme_xhat = stats["xhat"]
    assert np.allclose(np.abs(typical_xhat[[0, 2], 0]), 1.0, atol=0.01)  # a batch of two: +1 or -1
    assert typical_xhat[0, 0] < 0 < typical_xhat[2, 0]
    assert np.all(extreme_xhat <= np.sqrt(sizes - 1) + 1e-9)  # |x_hat| <= sqrt(B - 1)


def test_batch_statistics_rejects_bad_input():
    with pytest.raises(ValueError, match="batch_sizes"):
        bn_exp.batch_statistics(np.arange(10.0), [1], trials=5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="values"):
        bn_exp.batch_statistics(np.zeros((3, 3)), [2], trials=5, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def trained(digits):
    X_train, _, y_train, _ = digits
    model = bn_exp.batchnorm_mlp("relu", "before", depth=3, rng=np.random.default_rng(0))
    vn.fit(model, "softmax_ce", vn.optim.SGD(model, lr=0.1), X_train, y_train, batch_size=32, steps=100,
           rng=np.random.default_rng(1))
    return model


def test_small_batches_and_sorted_data_break_a_training_mode_evaluation(trained, digits):
    _, X_test, _, y_test = digits
    right = vn.train.evaluate(trained, "softmax_ce", X_test, y_test).accuracy
    order = np.random.default_rng(0).permutation(len(X_test))
    assert bn_exp.train_mode_pass(trained, X_test, y_test, 2, order=order)[0] < right - 0.3
    assert abs(bn_exp.train_mode_pass(trained, X_test, y_test, 449)[0] - right) < 0.05
    assert bn_exp.train_mode_pass(trained, X_test, y_test, 16, order=np.argsort(y_test, kind="stable"))[0] < 0.5


def test_train_mode_pass_restores_or_keeps_the_running_statistics(digits):
    _, X_test, _, y_test = digits
    model = bn_exp.batchnorm_mlp("relu", "before", depth=2, rng=np.random.default_rng(0))
    model.eval()
    before = {k: v.copy() for k, v in model.buffers.items()}
    accuracy, loss, running, means = bn_exp.train_mode_pass(model, X_test, y_test, 32)
    assert all(np.array_equal(v, before[k]) for k, v in model.buffers.items()) and not model.training
    assert 0 <= accuracy <= 1 and loss > 0 and running.size == means.size == 0
    _, _, running, means = bn_exp.train_mode_pass(model, X_test, y_test, 32, update_running=True, watch=(1, 0))
    assert not np.array_equal(model.buffers["1.running_mean"], before["1.running_mean"])
    assert not model.training and not model[1].training
    # 449 = 14 x 32 + 1: the lone last image joins the 14th batch
    assert len(means) == 14 and len(running) == 15 and running[0] == before["1.running_mean"][0]
    assert running[-1] == model.buffers["1.running_mean"][0]
    x = model[0].forward(X_test[:32])[:, 0]
    assert means[0] == pytest.approx(x.mean())  # the first batch's mean of the watched unit
    assert running[1] == pytest.approx(0.9 * running[0] + 0.1 * x.mean())
    with pytest.raises(ValueError, match="not a BatchNorm"):
        bn_exp.train_mode_pass(model, X_test, y_test, 32, watch=(0, 0))
    with pytest.raises(ValueError, match="batch_size=1"):
        bn_exp.train_mode_pass(model, X_test, y_test, 1)


# --------------------------------------------------------------------------------------------- plots


def test_plots_return_figures(sigmoid_runs, digits):
    runs = sigmoid_runs.values()
    values = np.random.default_rng(0).normal(0.0, 1.0, 200)
    stats = bn_exp.batch_statistics(values, (2, 8, 32), trials=50, examples=(0, 1), rng=np.random.default_rng(0))
    dead = np.array([[0.5, 1.0], [0.5, 1.0]])
    inputs = np.stack([np.stack([r.input_mean, r.input_std], axis=2) for r in runs])  # (runs, records, L, 2, w)
    figures = [
        bn_plots.batchnorm_flow_plot({r.label: r for r in runs}),
        bn_plots.batchnorm_flow_plot(sigmoid_runs["before"]),
        bn_plots.batchnorm_signal_plot({r.label: (r.signal, r.loss) for r in runs}),
        bn_plots.covariate_shift_plot({r.label: (r.probe_steps, inputs[i], r.loss) for i, r in enumerate(runs)}),
        bn_plots.relu_position_plot({"a": {"none": ([0, 10], dead, np.ones(10)), "after": ([0, 10], dead / 2,
                                                                                          np.ones(10))}}),
        bn_plots.batch_noise_plot((2, 8, 32), stats, (values[0] / values.std(), values[1] / values.std())),
        bn_plots.batch_size_plot({2: (0.2, 0.1), 8: (0.9, 0.7)}, steps=5),
        bn_plots.eval_bug_plot({"batch_sizes": [2, 8], "eval": [0.9, 0.9], "train": [0.3, 0.8], "sorted": (16, 0.2)},
                               {"running": [0.0, 0.1, 0.2], "batch_means": [1.0, 1.0], "batch_labels": [0, 1],
                                "train_mean": 0.0, "unit": 0, "batch_size": 16}),
    ]
    assert all(isinstance(f, Figure) for f in figures)


def test_plots_reject_wrong_inputs(sigmoid_runs):
    run = sigmoid_runs["none"]
    with pytest.raises(TypeError, match="BatchNormRun"):
        bn_plots.batchnorm_flow_plot({})
    with pytest.raises(TypeError, match="batch_statistics"):
        bn_plots.batch_noise_plot((2,), None, (0.0, 1.0))
    with pytest.raises(TypeError, match="tuple of 2 items"):
        bn_plots.batchnorm_signal_plot({"x": run.signal})
    inputs = np.stack([run.input_mean, run.input_std], axis=2)
    with pytest.raises(ValueError, match="layer=1 is out of range"):
        bn_plots.covariate_shift_plot({"x": (run.probe_steps, inputs, run.loss)}, layer=1)
    with pytest.raises(ValueError, match="expected \\(records, layers, 2, width\\)"):
        bn_plots.covariate_shift_plot({"x": (run.probe_steps, run.input_mean, run.loss)})
    with pytest.raises(TypeError, match="accuracy must be"):
        bn_plots.batch_size_plot({}, steps=1)


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


def test_check_running_mean_steps_agrees_with_the_engine_and_names_the_usual_slips():
    bn, steps = BatchNorm(1), 0
    while abs(bn.buffers["running_mean"][0] - 5.0) >= 0.05:
        bn.forward(np.array([[4.0], [6.0]]))
        steps += 1
    assert steps == 44
    assert checks.check_running_mean_steps(None).passed is None
    assert checks.check_running_mean_steps(...).passed is None
    assert checks.check_running_mean_steps(44).passed is True
    assert checks.check_running_mean_steps(np.int64(44)).passed is True
    assert "time scale" in checks.check_running_mean_steps(10).message
    assert "ln(1 - m)" in checks.check_running_mean_steps(46).message
    assert "one batch short" in checks.check_running_mean_steps(43).message
    assert "still more than 1 %" in checks.check_running_mean_steps(20).message
    assert "already was" in checks.check_running_mean_steps(100).message
    assert "whole number" in checks.check_running_mean_steps(44.5).message
    for wrong in ("44", True, [44]):
        result = checks.check_running_mean_steps(wrong)
        assert result.passed is False and "whole number" in result.message


# --------------------------------------------------------------------------------------------- widget


def test_widget_controls_reach_the_experiment():
    app = vn.widgets.batchnorm_flow(activation="relu", batchnorm="after", depth=3, batch_size=8, lr=1.0, steps=20)
    r = app.result
    assert (r.activation, r.batchnorm, r.depth, r.batch_size, r.lr, r.steps) == ("relu", "after", 3, 8, 1.0, 20)
    app.controls["batchnorm"].value = "before"
    assert app.result is r and app.stale  # a Run button: nothing recomputed yet
    app.run_button.click()
    assert app.result.batchnorm == "before" and not app.stale
