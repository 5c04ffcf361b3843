"""Tests of the diagnostics: one-off functions and recorders on hand-built cases with known answers."""

import numpy as np
import pytest

import vanishing as vn
from vanishing import diagnostics as dg
from vanishing import train
from vanishing.activations import Identity, ReLU, RReLU, Sigmoid, Tanh
from vanishing.layers import BatchNorm, Dense, Sequential
from vanishing.optim import SGD


def dense(W, b):
    W = np.asarray(W, dtype=np.float64)
    layer = Dense(W.shape[0], W.shape[1], rng=np.random.default_rng(0))
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    return layer


def one_step(model, X, y, callbacks, lr=0.1, loss="mse", epochs=1):
    """Full-batch training without shuffling: the numbers are known in advance."""
    return train.fit(model, loss, SGD(model, lr=lr), X, y, epochs=epochs, batch_size=len(X),
                     rng=np.random.default_rng(0), callbacks=callbacks, shuffle=False)


# --- names ---------------------------------------------------------------------------------------------------------

def test_layer_names_number_each_kind_from_the_input():
    model = vn.mlp([2, 3, 3, 1], "relu", rng=np.random.default_rng(0), batchnorm="before",
                   output_activation="sigmoid")
    assert dg.layer_names(model) == ["Dense 1", "BatchNorm 1", "ReLU 1", "Dense 2", "BatchNorm 2", "ReLU 2",
                                     "Dense 3", "Sigmoid 1"]


# --- gradient norms, weight norms, update ratio --------------------------------------------------------------------

def test_gradient_norms_after_a_backward():
    layer = dense([[0.0], [0.0]], [0.0])
    model = Sequential([layer])
    model.forward(np.array([[3.0, 4.0]]))
    model.backward(np.array([[1.0]]))  # dW = x^T dout = [[3], [4]], db = [1]
    np.testing.assert_allclose(dg.gradient_norms(model), [5.0])
    np.testing.assert_allclose(dg.gradient_norms(model, "b"), [1.0])
    with pytest.raises(ValueError, match="param='gamma'"):
        dg.gradient_norms(model, "gamma")


def test_gradient_norms_recorder_matches_hand_computed_gradient():
    # MSE (1/2 mean) of w*x + b with w = b = 0 on x = (1, 2), t = (1, 2):
    # dpred = (pred - t)/N = (-0.5, -1); dW = 1*(-0.5) + 2*(-1) = -2.5; db = -1.5
    model = Sequential([dense([[0.0]], [0.0])])
    rec = dg.GradientNorms()
    one_step(model, np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]]), [rec])
    assert rec.steps == [1]
    assert rec.layer_names == ["Dense 1"]
    np.testing.assert_allclose(rec.history, [[2.5]])
    np.testing.assert_allclose(rec.bias_history, [[1.5]])


def test_update_ratio_for_plain_sgd_on_a_known_gradient():
    # w = 1, b = 0, x = (1, 2), t = (3, 6): dpred = (-1, -2), dW = -5; lr = 0.1 -> dW step 0.5, ratio 0.5 / 1
    model = Sequential([dense([[1.0]], [0.0])])
    rec = dg.UpdateRatio()
    one_step(model, np.array([[1.0], [2.0]]), np.array([[3.0], [6.0]]), [rec], lr=0.1)
    assert rec.steps == [1]
    np.testing.assert_allclose(rec.history, [[0.5]])


def test_update_ratio_equals_lr_times_gradient_norm_over_weight_norm_for_sgd():
    rng = np.random.default_rng(3)
    model = vn.mlp([3, 5, 4, 2], "tanh", rng=rng)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    grads, ratios, weights = dg.GradientNorms(), dg.UpdateRatio(), dg.WeightNorms()
    one_step(model, X, y, [grads, ratios, weights], lr=0.05)
    # step 1 updates the weights recorded at step 0 by -lr * dW
    np.testing.assert_allclose(ratios.history[0], 0.05 * grads.history[0] / weights.history[0], rtol=1e-12)
    np.testing.assert_allclose(weights.history[1], dg.weight_norms(model))


def test_update_ratio_of_zero_weights():
    assert dg.update_ratio(np.zeros(3), np.ones(3)) == np.inf
    assert np.isnan(dg.update_ratio(np.zeros(3), np.zeros(3)))
    assert dg.update_ratio(np.array([3.0, 4.0]), np.array([3.0, 4.5])) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="before has shape"):
        dg.update_ratio(np.zeros(3), np.zeros(2))


# --- saturation ----------------------------------------------------------------------------------------------------

def test_saturation_threshold_constants():
    assert dg.SATURATION_MARGIN == 0.01
    assert dg.SATURATION_RANGES == {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def test_saturated_fraction_tanh():
    out = np.array([[0.995, 0.5], [-0.999, 0.99]])  # |a| > 0.99: yes, no / yes, no (0.99 itself is not)
    assert dg.saturated_fraction("tanh", out) == pytest.approx(0.5)
    np.testing.assert_allclose(dg.saturated_fraction(Tanh(), out, per_unit=True), [1.0, 0.0])


def test_saturated_fraction_sigmoid():
    out = np.array([[0.005, 0.5, 0.3], [0.995, 0.01, 0.999]])  # a < 0.01 or a > 0.99
    assert dg.saturated_fraction(Sigmoid(), out) == pytest.approx(3 / 6)
    np.testing.assert_allclose(dg.saturated_fraction("sigmoid", out, per_unit=True), [1.0, 0.0, 0.5])


def test_saturated_fraction_rejects_non_saturating_activations():
    with pytest.raises(ValueError, match="allowed: 'sigmoid', 'tanh'"):
        dg.saturated_fraction("relu", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="does not saturate"):
        dg.saturated_fraction(ReLU(), np.zeros((2, 2)))


def test_saturation_recorder_on_a_tanh_layer_with_one_saturated_unit():
    # unit 0: tanh(10 x) with x in [1, 2] -> > 0.99999; unit 1: tanh(0.1 x) <= 0.2
    model = Sequential([dense([[10.0, 0.1]], [0.0, 0.0]), Tanh(), dense([[1.0], [1.0]], [0.0])])
    X = np.linspace(1, 2, 8)[:, None]
    rec = dg.SaturationFraction()
    one_step(model, X, np.zeros((8, 1)), [rec], lr=1e-3)
    assert rec.steps == [1]
    assert rec.layer_names == ["Tanh 1"]
    np.testing.assert_allclose(rec.history, [[0.5]])
    np.testing.assert_allclose(rec.per_unit["Tanh 1"], [[1.0, 0.0]])


# --- dead units ----------------------------------------------------------------------------------------------------

def relu_net_with_dead_unit():
    # for x >= 0: unit 0 = x1 + x2 (alive), unit 1 = -(x1 + x2) - 10 < 0 (dead), unit 2 = 0.5 (x1 + x2) (alive)
    first = dense([[1.0, -1.0, 0.5], [1.0, -1.0, 0.5]], [0.0, -10.0, 0.0])
    return Sequential([first, ReLU(), dense([[1.0], [1.0], [1.0]], [0.0])])


def test_dead_fraction_and_alive_units():
    out = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    assert dg.dead_fraction(out) == pytest.approx(1 / 3)
    np.testing.assert_array_equal(dg.alive_units(out), [False, True, True])


def test_dead_fraction_recorder_finds_the_dead_unit_and_plain_sgd_keeps_it_dead():
    model = relu_net_with_dead_unit()
    X = np.random.default_rng(0).uniform(0, 1, size=(20, 2))
    y = np.ones((20, 1))
    dead_weights = model[0].params["W"][:, 1].copy()
    rec = dg.DeadFraction(X, every=2)
    one_step(model, X, y, [rec], lr=0.01, epochs=5)
    assert rec.steps == [0, 2, 4, 5]  # before training, every 2nd update, and the end
    assert rec.layer_names == ["ReLU 1"]
    np.testing.assert_allclose(rec.history, np.full((4, 1), 1 / 3))
    np.testing.assert_array_equal(rec.alive["ReLU 1"], np.tile([True, False, True], (4, 1)))
    # no gradient reaches a dead unit: plain SGD leaves its weights unchanged bit for bit
    np.testing.assert_array_equal(model[0].params["W"][:, 1], dead_weights)


def test_dead_fraction_needs_a_probe():
    with pytest.raises(ValueError, match="probe_X"):
        dg.DeadFraction(None)
    with pytest.raises(ValueError, match="probe_X contains"):
        dg.DeadFraction(np.array([[np.nan, 0.0]]))


# --- activation statistics -----------------------------------------------------------------------------------------

def test_activation_ranges():
    assert dg.activation_range(Tanh()) == (-1.0, 1.0)
    assert dg.activation_range(Sigmoid()) == (0.0, 1.0)
    assert dg.activation_range(ReLU()) == (0.0, 4.0)
    assert dg.activation_range(Identity()) == (-4.0, 4.0)
    low, high = dg.activation_range(vn.activations.ELU())
    assert low == pytest.approx(np.expm1(-4.0)) and high == 4.0


def test_histogram_counts_with_clipping_and_nan():
    values = np.array([-5.0, -0.5, 0.5, 3.9, 4.0, np.nan])
    counts = dg.histogram(values, -4.0, 4.0, 8)
    np.testing.assert_array_equal(counts, [1, 0, 0, 1, 1, 0, 0, 2])


def test_activation_stats_recorder_on_known_outputs():
    # identity activation after w = 1, b = 0: the outputs are the inputs
    model = Sequential([dense([[1.0]], [0.0]), Identity(), dense([[0.0]], [0.0])])
    X = np.array([[-5.0], [-0.5], [0.5], [3.9], [4.0]])
    rec = dg.ActivationStats(bins=8)
    one_step(model, X, np.zeros((5, 1)), [rec], lr=1e-3)
    assert rec.steps == [1] and rec.layer_names == ["Identity 1"]
    np.testing.assert_allclose(rec.edges, [np.arange(-4.0, 4.5, 1.0)])
    np.testing.assert_allclose(rec.mean, [[X.mean()]])
    np.testing.assert_allclose(rec.std, [[X.std()]])
    np.testing.assert_array_equal(rec.histograms, [[[1, 0, 0, 1, 1, 0, 0, 2]]])


def test_activation_stats_on_batches_ignore_validation_forwards():
    rng = np.random.default_rng(0)
    model = vn.mlp([2, 6, 6, 1], "tanh", rng=rng)
    X, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    rec = dg.ActivationStats(every=3)
    train.fit(model, "mse", SGD(model, lr=0.01), X, y, epochs=3, batch_size=10, rng=rng, callbacks=[rec],
              X_val=X[:5], y_val=y[:5])
    assert rec.steps == [1, 4, 7, 10]
    assert rec.histograms.shape == (4, 2, dg.HISTOGRAM_BINS)
    assert (rec.histograms.sum(axis=2) == 10 * 6).all()  # one training batch of 10 x 6 units each time
    model.forward(X)  # the hook is gone after training
    assert len(rec.steps) == 4


def test_activation_stats_on_a_probe_match_collect_activations():
    rng = np.random.default_rng(1)
    model = vn.mlp([2, 5, 1], "relu", rng=rng)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    probe = X[:12]
    rec = dg.ActivationStats(probe_X=probe, every=4)
    train.fit(model, "mse", SGD(model, lr=0.01), X, y, epochs=1, batch_size=5, rng=rng, callbacks=[rec])
    assert rec.steps == [0, 4, 6]
    out = dg.collect_activations(model, probe, train_mode=True)[1].out
    assert rec.mean[-1, 0] == pytest.approx(out.mean())
    assert rec.std[-1, 0] == pytest.approx(out.std())


# --- probes leave the model alone ----------------------------------------------------------------------------------

def bn_rrelu_net(seed=0):
    rng = np.random.default_rng(seed)
    return vn.mlp([2, 6, 6, 1], "rrelu", rng=rng, batchnorm="before")


def test_collect_activations_gives_inputs_and_outputs_and_restores_everything():
    model = bn_rrelu_net()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 2))
    model.forward(X)  # fills the caches and moves the running statistics
    buffers = {k: v.copy() for k, v in model.buffers.items()}
    caches = [dict(layer.cache) for layer in model]
    rrelu_state = model[2].rng.bit_generator.state
    for train_mode in (True, False):
        acts = dg.collect_activations(model, 3 * rng.normal(size=(8, 2)) + 1, train_mode=train_mode)
        assert [a.name for a in acts] == dg.layer_names(model)
        for a, b in zip(acts[:-1], acts[1:], strict=True):
            assert b.x is a.out
        bn = model[1]
        if train_mode:  # batch statistics: each normalised column has mean 0
            np.testing.assert_allclose(acts[1].out.mean(axis=0), 0.0, atol=1e-12)
        else:  # running statistics
            expected = (acts[1].x - bn.buffers["running_mean"]) / np.sqrt(bn.buffers["running_var"] + bn.eps)
            np.testing.assert_allclose(acts[1].out, expected)
        assert model.training and all(layer.training for layer in model)
        for k, v in model.buffers.items():
            np.testing.assert_array_equal(v, buffers[k])
        for layer, cache in zip(model, caches, strict=True):
            assert layer.cache.keys() == cache.keys()
            assert all(layer.cache[k] is cache[k] for k in cache)
        assert model[2].rng.bit_generator.state == rrelu_state
    model.eval()
    dg.collect_activations(model, X, train_mode=True)
    assert not model.training and not any(layer.training for layer in model)


def test_collect_activations_checks_x():
    model = bn_rrelu_net()
    with pytest.raises(ValueError, match="X contains"):
        dg.collect_activations(model, np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="Sequential"):
        dg.collect_activations(Dense(2, 2, rng=np.random.default_rng(0)), np.zeros((2, 2)))


def test_batchnorm_buffers_unchanged_after_probe_recorders():
    rng = np.random.default_rng(0)
    model = vn.mlp([2, 4, 1], "relu", rng=rng, batchnorm="before")
    bn = model[1]
    assert isinstance(bn, BatchNorm)
    probe = rng.normal(size=(10, 2)) + 5.0  # far from the data: would move the running mean if it leaked
    rec = dg.DeadFraction(probe)
    rec.on_train_begin(train.TrainState(model=model, optimizer=None, loss_fn=None, history=train.History()))
    np.testing.assert_array_equal(bn.buffers["running_mean"], np.zeros(4))
    np.testing.assert_array_equal(bn.buffers["running_var"], np.ones(4))
    assert rec.steps == [0]


def test_training_is_identical_with_and_without_recorders():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(48, 2)), rng.normal(size=(48, 1))
    runs = []
    for with_recorders in (False, True):
        model = bn_rrelu_net(seed=4)
        callbacks = []
        if with_recorders:
            callbacks = [dg.GradientNorms(), dg.UpdateRatio(), dg.WeightNorms(), dg.ActivationStats(),
                         dg.ActivationStats(probe_X=X[:10]), dg.SaturationFraction(probe_X=X[:10]),
                         dg.DeadFraction(X[:10])]
        history = train.fit(model, "mse", vn.optim.Adam(model, lr=0.01), X, y, epochs=3, batch_size=8,
                            rng=np.random.default_rng(7), callbacks=callbacks)
        runs.append((history.loss, {k: v.copy() for k, v in model.params.items()},
                     {k: v.copy() for k, v in model.buffers.items()}))
    assert runs[0][0] == runs[1][0]
    for i in (1, 2):
        for k in runs[0][i]:
            np.testing.assert_array_equal(runs[0][i][k], runs[1][i][k])


# --- schedules and errors ------------------------------------------------------------------------------------------

def test_schedules_of_step_and_state_recorders():
    rng = np.random.default_rng(0)
    model = vn.mlp([2, 3, 1], "tanh", rng=rng)
    X, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    grads, weights = dg.GradientNorms(every=4), dg.WeightNorms(every=4)
    train.fit(model, "mse", SGD(model, lr=0.01), X, y, epochs=2, batch_size=2, rng=rng, callbacks=[grads, weights])
    assert grads.steps == [1, 5, 9, 13, 17]
    assert weights.steps == [0, 4, 8, 12, 16, 20]
    # a second fit starts afresh
    train.fit(model, "mse", SGD(model, lr=0.01), X, y, epochs=1, batch_size=10, rng=rng, callbacks=[grads, weights])
    assert grads.steps == [1] and weights.steps == [0, 2]


def test_state_recorder_final_record_after_divergence():
    rng = np.random.default_rng(0)
    model = vn.mlp([2, 8, 1], "tanh", rng=rng)
    X, y = rng.normal(size=(64, 2)), 1e3 * rng.normal(size=(64, 1))
    opt = SGD(model, lr=1e6)
    weights = dg.WeightNorms(every=1000)
    with pytest.raises(train.DivergenceError):
        train.fit(model, "mse", opt, X, y, epochs=20, batch_size=8, rng=rng, callbacks=[weights])
    assert weights.steps == [0, opt.t]  # the last record is the model after the updates actually made


@pytest.mark.parametrize("make", [dg.GradientNorms, dg.UpdateRatio, dg.WeightNorms, dg.ActivationStats,
                                  dg.SaturationFraction])
def test_every_must_be_a_positive_integer(make):
    with pytest.raises(ValueError, match="every=0"):
        make(every=0)
    with pytest.raises(TypeError, match="every=1.5"):
        make(every=1.5)


def test_recorders_need_a_sequential():
    layer = Dense(2, 1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Sequential"):
        train.fit(layer, "mse", SGD(layer, lr=0.1), np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, batch_size=2,
                  rng=np.random.default_rng(0), callbacks=[dg.GradientNorms()])


def test_rrelu_layer_is_watched_by_activation_stats_not_by_dead_fraction():
    model = bn_rrelu_net()
    assert isinstance(model[2], RReLU)
    X = np.random.default_rng(0).normal(size=(8, 2))
    stats, dead = dg.ActivationStats(probe_X=X), dg.DeadFraction(X)
    state = train.TrainState(model=model, optimizer=None, loss_fn=None, history=train.History())
    stats.on_train_begin(state)
    dead.on_train_begin(state)
    assert stats.layer_names == ["RReLU 1", "RReLU 2"]
    assert dead.layer_names == [] and dead.history.shape == (1, 0)


# --- the backward signal -----------------------------------------------------------------------------------------

def deep_sigmoid(depth=10, seed=0):
    return vn.mlp([4] + [16] * depth + [1], "sigmoid", rng=np.random.default_rng(seed))


def signal_and_dw(model, X, y):
    signal = dg.backward_signal(model, "bce_logits", X, y)
    loss = vn.make_loss("bce_logits")
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    return signal, dg.gradient_norms(model)


def test_backward_signal_of_a_deep_sigmoid_net_at_initialisation_falls_by_orders_of_magnitude():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 2, (64, 1)).astype(np.float64)
    signal, _ = signal_and_dw(deep_sigmoid(), X, y)
    assert signal.shape == (11,)
    # ||dL/dz_1|| / ||dL/dz_L||: every sigmoid layer passes at most 1/4 of the signal, times its weights
    assert signal[0] / signal[-1] < 1e-4


def test_weight_gradients_can_hide_a_vanishing_backward_signal():
    # tanh with tiny weights: the signal fades backwards, and the activations fade forwards, so the last
    # layer's tiny inputs make its dW = a^T delta as small as the first layer's
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((64, 2)), rng.integers(0, 2, (64, 1)).astype(np.float64)
    model = vn.mlp([2] + [32] * 6 + [1], "tanh", rng=np.random.default_rng(0), init="uniform",
                   init_options={"limit": 0.05})
    signal, dw = signal_and_dw(model, X, y)
    assert signal[0] / signal[-1] < 1e-4
    assert dw[0] / dw[-1] > 0.5


def test_backward_signal_leaves_the_model_unchanged():
    rng = np.random.default_rng(2)
    model = vn.mlp([3, 5, 5, 2], "tanh", rng=rng, batchnorm="before")
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    for g in model.grads.values():
        g[...] = 7.0
    buffers = {k: v.copy() for k, v in model.buffers.items()}
    dg.backward_signal(model, "softmax_ce", X, y)
    assert all((g == 7.0).all() for g in model.grads.values())
    assert all(np.array_equal(model.buffers[k], v) for k, v in buffers.items())


def test_backward_signal_recorder_matches_the_one_off_function_at_step_one():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((32, 4)), rng.integers(0, 2, (32, 1)).astype(np.float64)
    model = deep_sigmoid(depth=4)
    expected = dg.backward_signal(model, "bce_logits", X, y)
    recorder = dg.BackwardSignal(every=2)
    train.fit(model, "bce_logits", SGD(model, lr=0.1), X, y, steps=5, batch_size=32, rng=rng,
              callbacks=[recorder], shuffle=False)
    assert recorder.steps == [1, 3, 5] and recorder.history.shape == (3, 5)
    np.testing.assert_allclose(recorder.history[0], expected)
    assert recorder.layer_names == ["Dense 1", "Dense 2", "Dense 3", "Dense 4", "Dense 5"]


def test_probe_records_any_measure_at_its_schedule():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))
    model = vn.mlp([4, 3, 1], "tanh", rng=rng)
    probe = dg.Probe(lambda m: float(np.abs(m.params["0.W"]).sum()), every=3)
    train.fit(model, "mse", SGD(model, lr=0.05), X, y, steps=7, batch_size=16, rng=rng, callbacks=[probe])
    assert probe.steps == [0, 3, 6, 7] and len(probe.values) == 4
    assert probe.values[-1] == float(np.abs(model.params["0.W"]).sum())
