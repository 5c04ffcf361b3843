"""Tests of the training loop: input checks, callbacks, stopping, divergence, accuracy."""

import numpy as np
import pytest

import vanishing as vn
from vanishing import data, train
from vanishing.layers import Dense, Sequential
from vanishing.optim import SGD


def xor_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float64)[:, None]
    return X, y


def small_net(seed=0, **kw):
    return vn.mlp([2, 8, 1], "tanh", rng=np.random.default_rng(seed), **kw)


class Recorder(train.Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, state):
        self.events.append(("train_begin", state.step))

    def on_step_begin(self, state):
        self.events.append(("step_begin", state.step))

    def on_after_backward(self, state):
        self.events.append(("after_backward", state.step))

    def on_step_end(self, state):
        self.events.append(("step_end", state.step))

    def on_epoch_end(self, state):
        self.events.append(("epoch_end", state.epoch))

    def on_train_end(self, state):
        self.events.append(("train_end", state.step))


# --- learning ------------------------------------------------------------------------------------------------------

def test_fit_reduces_loss_on_two_moons():
    rng = np.random.default_rng(0)
    X, y = data.two_moons(200, noise=0.1, rng=rng)
    model = vn.mlp([2, 16, 16, 1], "tanh", rng=rng)
    history = train.fit(model, "bce_logits", SGD(model, lr=0.3), X, y.astype(np.float64), epochs=30,
                        batch_size=20, rng=rng)
    assert history.steps == 30 * 10 == len(history.loss)
    assert history.epoch_loss[-1] < 0.5 * history.epoch_loss[0]
    assert history.epoch_accuracy[-1] > 0.85
    assert train.accuracy(model, "bce_logits", X, y.astype(np.float64)) > 0.85


def test_mse_on_one_hot_digits_reports_argmax_accuracy():
    rng = np.random.default_rng(0)
    X, labels = data.digits(400, rng=rng)
    Y = data.one_hot(labels, 10)
    model = vn.mlp([64, 32, 10], "tanh", rng=rng, output_activation="sigmoid")
    history = train.fit(model, "mse", SGD(model, lr=2.0), X, Y, epochs=8, batch_size=20, rng=rng)
    assert len(history.epoch_accuracy) == 8
    assert history.epoch_accuracy[-1] > history.epoch_accuracy[0]
    out = train.predict(model, X)
    assert train.accuracy(model, "mse", X, Y) == pytest.approx(np.mean(out.argmax(axis=1) == labels))


def test_fit_is_deterministic_for_a_seed():
    X, y = xor_data()
    runs = []
    for _ in range(2):
        model = small_net()
        runs.append(train.fit(model, "bce_logits", SGD(model, lr=0.5), X, y, epochs=3, batch_size=16,
                              rng=np.random.default_rng(5)).loss)
    assert runs[0] == runs[1]


def test_epoch_loss_is_batch_weighted_mean_and_batches_follow_order_without_shuffle():
    X, y = xor_data(n=10)
    model = small_net()
    sizes = []

    class Sizes(train.Callback):
        def on_step_begin(self, state):
            sizes.append(len(state.x))
            # without shuffle the batches are consecutive slices of X
            start = sum(sizes[:-1]) % 10
            np.testing.assert_array_equal(state.x, X[start:start + len(state.x)])

    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    history = train.fit(model, "mse", SGD(model, lr=0.01), X, y, epochs=1, batch_size=4, rng=rng,
                        callbacks=[Sizes()], shuffle=False)
    assert rng.bit_generator.state == before  # no shuffle: rng untouched
    # 10 = 4 + 4 + 2
    assert sizes == [4, 4, 2]
    expected = (4 * history.loss[0] + 4 * history.loss[1] + 2 * history.loss[2]) / 10
    assert history.epoch_loss[0] == pytest.approx(expected)


def test_single_example_last_batch_joins_the_previous_one():
    X, y = xor_data(n=9)
    model = small_net(batchnorm="before")  # BatchNorm cannot train on a batch of one
    history = train.fit(model, "bce_logits", SGD(model, lr=0.1), X, y, epochs=2, batch_size=4,
                        rng=np.random.default_rng(0))
    assert history.steps == 4  # batches of 4 and 5 in each epoch


def test_batch_larger_than_data_gives_one_step_per_epoch():
    X, y = xor_data(n=10)
    model = small_net()
    history = train.fit(model, "mse", SGD(model, lr=0.1), X, y, epochs=3, batch_size=100,
                        rng=np.random.default_rng(0))
    assert history.steps == 3


def test_x_is_cast_to_the_model_dtype():
    X, y = xor_data()
    model = small_net(dtype=np.float32)
    history = train.fit(model, "bce_logits", SGD(model, lr=0.1), X, y, epochs=2, batch_size=16,
                        rng=np.random.default_rng(0))
    assert history.steps == 8
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_validation_metrics_per_epoch():
    X, y = xor_data()
    model = small_net()
    history = train.fit(model, "bce_logits", SGD(model, lr=0.1), X, y, epochs=4, batch_size=16,
                        rng=np.random.default_rng(0), X_val=X[:20], y_val=y[:20])
    assert len(history.val_loss) == len(history.val_accuracy) == len(history.epoch_loss) == 4
    final = train.evaluate(model, "bce_logits", X[:20], y[:20])
    assert history.val_loss[-1] == pytest.approx(final.loss)
    assert history.val_accuracy[-1] == pytest.approx(final.accuracy)


def test_regression_has_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    y = X @ np.array([[1.0], [-2.0]])
    model = small_net()
    history = train.fit(model, "mse", SGD(model, lr=0.05), X, y, epochs=2, batch_size=8, rng=rng)
    assert history.epoch_accuracy == []
    assert not history.has_accuracy
    assert train.accuracy(model, "mse", X, y) is None


# --- accuracy rules ------------------------------------------------------------------------------------------------

def fixed_model(W, b):
    layer = Dense(W.shape[0], W.shape[1], rng=np.random.default_rng(0))
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    return Sequential([layer])


def test_accuracy_softmax_argmax():
    # logits = x: the predicted class is the argmax of the input row
    model = fixed_model(np.eye(3), np.zeros(3))
    X = np.array([[3.0, 1, 0], [0, 2, 1], [0, 0, 1], [5, 0, 0]])
    y = np.array([0, 1, 0, 0])
    assert train.accuracy(model, "softmax_ce", X, y) == pytest.approx(0.75)


def test_accuracy_mse_one_hot_uses_argmax():
    model = fixed_model(np.eye(3), np.zeros(3))
    X = np.array([[0.9, 0.2, 0.1], [0.1, 0.2, 0.8]])
    y = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert train.accuracy(model, "mse", X, y) == pytest.approx(0.5)


def test_accuracy_binary_thresholds():
    model = fixed_model(np.ones((1, 1)), np.zeros(1))
    X = np.array([[-2.0], [-0.1], [0.3], [0.7]])
    y = np.array([[0.0], [1.0], [1.0], [1.0]])
    # logits: > 0 predicts 1 -> correct, wrong, correct, correct
    assert train.accuracy(model, "bce_logits", X, y) == pytest.approx(0.75)
    probs = np.array([[0.1], [0.4], [0.6], [0.2]])
    # probabilities: > 0.5 predicts 1 -> correct, wrong, correct, wrong
    assert train.accuracy(model, "bce", probs, y) == pytest.approx(0.5)
    with_sigmoid = Sequential([model[0], vn.activations.Sigmoid()])
    # MSE on 0/1 targets after a sigmoid: sigmoid(x) > 0.5 <=> x > 0
    assert train.accuracy(with_sigmoid, "mse", X, y) == pytest.approx(0.75)


def test_evaluate_restores_each_layer_mode():
    model = small_net(batchnorm="before")
    X, y = xor_data()
    running = {k: v.copy() for k, v in model.buffers.items()}
    model.train()
    train.evaluate(model, "bce_logits", X, y)
    assert model.training and all(layer.training for layer in model)
    model.eval()
    train.evaluate(model, "bce_logits", X, y)
    assert not model.training and not any(layer.training for layer in model)
    for k, v in model.buffers.items():  # evaluation never updates running statistics
        np.testing.assert_array_equal(v, running[k])


# --- callbacks and stopping ----------------------------------------------------------------------------------------

def test_callback_order():
    X, y = xor_data(n=8)
    model = small_net()
    rec = Recorder()
    train.fit(model, "mse", SGD(model, lr=0.1), X, y, epochs=2, batch_size=4, rng=np.random.default_rng(0),
              callbacks=[rec])
    step = lambda s: [("step_begin", s), ("after_backward", s), ("step_end", s)]  # noqa: E731
    expected = ([("train_begin", 0)] + step(1) + step(2) + [("epoch_end", 1)] + step(3) + step(4)
                + [("epoch_end", 2), ("train_end", 4)])
    assert rec.events == expected


def test_after_backward_sees_gradients_before_the_update():
    X, y = xor_data(n=8)
    model = small_net()
    seen = {}

    class Peek(train.Callback):
        def on_after_backward(self, state):
            seen["W"] = state.model.params["0.W"].copy()
            seen["dW"] = state.model.grads["0.W"].copy()
            seen["lr"] = state.optimizer.lr

        def on_step_end(self, state):
            # plain SGD: W_new = W_old - lr * dW
            np.testing.assert_allclose(state.model.params["0.W"], seen["W"] - seen["lr"] * seen["dW"])
            seen["checked"] = seen.get("checked", 0) + 1

    train.fit(model, "mse", SGD(model, lr=0.1), X, y, epochs=1, batch_size=4, rng=np.random.default_rng(0),
              callbacks=[Peek()])
    assert seen["checked"] == 2


def test_stop_flag_ends_training_after_the_current_step():
    X, y = xor_data(n=40)
    model = small_net()
    opt = SGD(model, lr=0.1)

    class StopAt3(train.Callback):
        def on_step_end(self, state):
            if state.step == 3:
                state.stop = True

    rec = Recorder()
    history = train.fit(model, "mse", opt, X, y, epochs=5, batch_size=4, rng=np.random.default_rng(0),
                        callbacks=[StopAt3(), rec])
    assert history.steps == 3 == len(history.loss) == opt.t
    assert history.stopped_early
    assert history.epochs == 1 and len(history.epoch_loss) == 1
    assert rec.events[-1] == ("train_end", 3)


def test_stop_before_training_takes_no_step():
    X, y = xor_data(n=8)
    model = small_net()
    opt = SGD(model, lr=0.1)

    class StopNow(train.Callback):
        def on_train_begin(self, state):
            state.stop = True

    history = train.fit(model, "mse", opt, X, y, epochs=5, batch_size=4, rng=np.random.default_rng(0),
                        callbacks=[StopNow()])
    assert history.steps == 0 and opt.t == 0 and history.stopped_early


def test_callback_without_any_event_method_is_rejected():
    X, y = xor_data(n=8)
    model = small_net()
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        train.fit(model, "mse", SGD(model, lr=0.1), X, y, epochs=1, batch_size=4, rng=np.random.default_rng(0),
                  callbacks=[object()])


# --- divergence ----------------------------------------------------------------------------------------------------

def test_huge_learning_rate_raises_divergence_and_stops_at_once():
    X, y = xor_data(n=64)
    model = small_net()
    opt = SGD(model, lr=1e6)
    rec = Recorder()
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, "mse", opt, X, 1e3 * y, epochs=50, batch_size=8, rng=np.random.default_rng(0),
                  callbacks=[rec])
    err = info.value
    assert isinstance(err, RuntimeError)
    assert f"step {err.step}" in str(err)
    assert "learning rate 1e+06" in str(err) and "10x smaller" in str(err)
    # it stopped at the first bad step: nothing after it ran
    assert err.history.steps == err.step == len(err.history.loss)
    steps_ended = [s for event, s in rec.events if event == "step_end"]
    assert steps_ended == list(range(1, err.step))
    assert opt.t == (err.step if err.parameter else err.step - 1)
    assert err.history.diverged and err.history.divergence == str(err)
    assert rec.events[-1][0] == "train_end"


def test_divergence_names_the_parameter_that_overflowed():
    X, y = xor_data(n=16)
    model = small_net()
    # the first update is about 1e305 * |dW| with |dW| >> 1e3: it overflows to inf at step 1
    opt = SGD(model, lr=1e305)
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, "mse", opt, X, 1e6 * y, epochs=1, batch_size=16, rng=np.random.default_rng(0))
    err = info.value
    assert err.step == 1 and opt.t == 1
    assert err.parameter in model.params
    assert repr(err.parameter) in str(err) and "step 1" in str(err)
    assert np.isfinite(err.loss)


def test_loss_non_finite_at_the_first_step_blames_the_start_not_the_learning_rate():
    X, y = xor_data(n=16)
    model = small_net(dtype=np.float16)
    opt = SGD(model, lr=0.1)
    with pytest.raises(train.DivergenceError) as info:
        train.fit(model, "mse", opt, X, np.full_like(y, 6e4), epochs=1, batch_size=16,
                  rng=np.random.default_rng(0))
    err = info.value
    assert err.step == 1 and opt.t == 0 and err.parameter is None
    assert "before any update" in str(err) and "float16" in str(err)


def test_first_non_finite_handles_sums_that_overflow():
    huge = np.full(4, 1e308)  # finite entries whose sum is inf
    with np.errstate(over="ignore", invalid="ignore"):
        assert train._first_non_finite([("a", huge)]) is None
        assert train._first_non_finite([("a", huge), ("b", np.array([1.0, np.nan]))]) == "b"
        assert train._first_non_finite([("a", np.array([np.inf, -np.inf]))]) == "a"
        assert train._first_non_finite([("a", np.zeros(3))]) is None


# --- argument checks -----------------------------------------------------------------------------------------------

def fit_small(X=None, y=None, **kw):
    X0, y0 = xor_data(n=8)
    model = small_net()
    args = dict(epochs=1, batch_size=4, rng=np.random.default_rng(0))
    args.update(kw)
    return train.fit(model, "mse", SGD(model, lr=0.1), X0 if X is None else X, y0 if y is None else y, **args)


def test_nan_in_x_raises_value_error_naming_x():
    X, _ = xor_data(n=8)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"^X contains 1 NaN"):
        fit_small(X=X)


def test_nan_in_y_raises():
    _, y = xor_data(n=8)
    y[0] = np.inf
    with pytest.raises(ValueError, match=r"^y contains"):
        fit_small(y=y)


def test_length_mismatch_names_both_shapes():
    X, y = xor_data(n=8)
    with pytest.raises(ValueError, match=r"X has shape \(8, 2\) but y has shape \(7, 1\)"):
        fit_small(X=X, y=y[:7])


@pytest.mark.parametrize("bad", [
    dict(X=np.zeros((0, 2))),
    dict(X=np.zeros(8)),
])
def test_bad_x_shapes(bad):
    with pytest.raises(ValueError, match="X"):
        fit_small(**bad)


def test_integer_x_is_a_type_error():
    with pytest.raises(TypeError, match="X has dtype int"):
        fit_small(X=np.ones((8, 2), dtype=int))


@pytest.mark.parametrize("kw, error, text", [
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(epochs=1.5), TypeError, "epochs=1.5"),
    (dict(batch_size=-2), ValueError, "batch_size=-2"),
    (dict(rng=0), TypeError, "rng=0"),
])
def test_bad_arguments(kw, error, text):
    with pytest.raises(error, match=text):
        fit_small(**kw)


def test_validation_data_must_come_in_pairs():
    X, _ = xor_data(n=8)
    with pytest.raises(ValueError, match="X_val and y_val"):
        fit_small(X_val=X)


def test_non_finite_parameters_before_training_are_rejected():
    X, y = xor_data(n=8)
    model = small_net()
    model.params["0.W"][0, 0] = np.nan
    with pytest.raises(ValueError, match="'0.W'"):
        train.fit(model, "mse", SGD(model, lr=0.1), X, y, epochs=1, batch_size=4, rng=np.random.default_rng(0))


# --- step budget -----------------------------------------------------------------------------------------------------

def test_steps_budget_takes_exactly_that_many_updates_and_closes_the_partial_epoch():
    X, y = xor_data(n=64)
    model = small_net()
    events = Recorder()
    history = train.fit(model, "mse", SGD(model, lr=0.1), X, y, steps=10, batch_size=16,
                        rng=np.random.default_rng(0), callbacks=[events])
    assert history.steps == 10 and len(history.loss) == 10
    assert history.epochs == 3 and len(history.epoch_loss) == 3  # 4 + 4 + 2 steps: the third epoch is partial
    assert [e for e in events.events if e[0] == "epoch_end"] == [("epoch_end", 1), ("epoch_end", 2), ("epoch_end", 3)]
    assert not history.stopped_early


def test_steps_and_epochs_give_the_same_run_when_they_mean_the_same_budget():
    X, y = xor_data(n=64)
    runs = []
    for budget in (dict(steps=8), dict(epochs=2)):
        model = small_net(seed=3)
        runs.append(train.fit(model, "mse", SGD(model, lr=0.1), X, y, batch_size=16,
                              rng=np.random.default_rng(5), **budget))
    assert runs[0].loss == runs[1].loss and runs[0].epoch_loss == runs[1].epoch_loss


@pytest.mark.parametrize("budget", [dict(), dict(steps=3, epochs=2)])
def test_fit_needs_exactly_one_budget(budget):
    X, y = xor_data(n=8)
    model = small_net()
    with pytest.raises(ValueError, match="give exactly one budget"):
        train.fit(model, "mse", SGD(model, lr=0.1), X, y, batch_size=4, rng=np.random.default_rng(0), **budget)


def test_steps_must_be_a_positive_integer():
    X, y = xor_data(n=8)
    model = small_net()
    with pytest.raises(ValueError, match="steps=0"):
        train.fit(model, "mse", SGD(model, lr=0.1), X, y, steps=0, batch_size=4, rng=np.random.default_rng(0))


# --- gradient clipping ---------------------------------------------------------------------------------------------

def grads_of(**arrays):
    return {name: np.array(value, dtype=np.float64) for name, value in arrays.items()}


def test_clip_by_norm_rescales_every_gradient_and_keeps_the_direction():
    grads = grads_of(a=[3.0, 0.0], b=[[0.0], [4.0]])  # global norm 5
    norm = vn.optim.clip_grad_norm(grads, max_norm=1.0)
    assert norm == 5.0
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.0], [0.8]])
    assert np.isclose(vn.optim.global_norm(grads), 1.0)


def test_clip_by_norm_leaves_a_small_gradient_alone():
    grads = grads_of(a=[0.3, 0.4])
    assert vn.optim.clip_grad_norm(grads, max_norm=1.0) == 0.5
    np.testing.assert_array_equal(grads["a"], [0.3, 0.4])


def test_clip_by_value_cuts_entries_and_changes_the_direction():
    grads = grads_of(a=[3.0, -0.5], b=[[-2.0], [0.25]])
    fraction = vn.optim.clip_grad_value(grads, max_value=1.0)
    assert fraction == 0.5  # 3.0 and -2.0 were cut, -0.5 and 0.25 kept
    np.testing.assert_array_equal(grads["a"], [1.0, -0.5])
    np.testing.assert_array_equal(grads["b"], [[-1.0], [0.25]])


def test_gradient_clipping_callback_clips_before_the_update_and_records_it():
    # one Dense layer, full batch, no shuffle: the gradient of MSE is known and large
    X = np.array([[10.0], [10.0]])
    y = np.array([[0.0], [0.0]])
    model = Sequential([Dense(1, 1, rng=np.random.default_rng(0))])
    model.params["0.W"][:] = 1.0
    model.params["0.b"][:] = 0.0
    clip = train.GradientClipping(max_norm=1.0)
    train.fit(model, "mse", SGD(model, lr=0.1), X, y, steps=1, batch_size=2, rng=np.random.default_rng(0),
              callbacks=[clip], shuffle=False)
    # L = mean(0.5 (w x - y)^2): dL/dW = mean(x (w x - y)) = 100, dL/db = 10; norm sqrt(100**2 + 10**2)
    norm = np.hypot(100.0, 10.0)
    assert np.isclose(clip.norms[0], norm) and clip.clipped == [1.0] and clip.clipped_fraction == 1.0
    # the clipped step has length lr * 1 and the direction of the gradient
    assert np.isclose(model.params["0.W"][0, 0], 1.0 - 0.1 * 100.0 / norm)
    assert np.isclose(model.params["0.b"][0], -0.1 * 10.0 / norm)


def test_gradient_clipping_rescues_a_learning_rate_that_diverges():
    X, y = xor_data(n=64)
    with pytest.raises(train.DivergenceError):
        model = small_net(seed=1)
        train.fit(model, "mse", SGD(model, lr=50.0), X, y * 100, steps=60, batch_size=64, rng=np.random.default_rng(0))
    model = small_net(seed=1)
    clip = train.GradientClipping(max_norm=0.1)
    history = train.fit(model, "mse", SGD(model, lr=50.0), X, y * 100, steps=60, batch_size=64,
                        rng=np.random.default_rng(0), callbacks=[clip])
    assert np.isfinite(history.loss).all() and clip.clipped_fraction > 0.5


def test_gradient_clipping_needs_exactly_one_threshold():
    with pytest.raises(ValueError, match="exactly one"):
        train.GradientClipping()
    with pytest.raises(ValueError, match="max_norm=-1"):
        train.GradientClipping(max_norm=-1)
