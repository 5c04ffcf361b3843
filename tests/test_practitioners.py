"""Notebook 09 (what practitioners do): its experiment helpers, the widget's run, the self-checks and the figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing as vn
from vanishing.checks import practitioners as checks
from vanishing.experiments import practitioners as ex


def rng(seed=0):
    return np.random.default_rng(seed)


def digits():
    return vn.scenarios.digits_split(rng=rng())


# --- vanishing.train.fit_or_diverge -----------------------------------------------------------------------------------

def linear_net(gain=1.1):
    return vn.mlp([64] + [32] * 10 + [10], "identity", rng=rng(), init="glorot_normal", init_options={"gain": gain})


def test_fit_or_diverge_is_fit_when_training_goes_well():
    X, _, y, _ = digits()
    a, b = linear_net(), linear_net()
    history = vn.train.fit_or_diverge(a, "softmax_ce", vn.optim.SGD(a, lr=0.03), X, y, batch_size=64, steps=20,
                                      rng=rng(1))
    reference = vn.fit(b, "softmax_ce", vn.optim.SGD(b, lr=0.03), X, y, batch_size=64, steps=20, rng=rng(1))
    assert history.loss == reference.loss and not history.diverged


def test_fit_or_diverge_returns_the_history_up_to_the_divergence():
    X, _, y, _ = digits()
    net = linear_net()
    history = vn.train.fit_or_diverge(net, "softmax_ce", vn.optim.SGD(net, lr=0.1), X, y, batch_size=64, steps=150,
                                      rng=rng(1))
    assert history.diverged and history.steps < 150 and len(history.loss) == history.steps
    assert "learning rate 0.1 is probably too high" in history.divergence
    with pytest.raises(vn.DivergenceError):
        other = linear_net()
        vn.fit(other, "softmax_ce", vn.optim.SGD(other, lr=0.1), X, y, batch_size=64, steps=150, rng=rng(1))


# --- the residual stream ---------------------------------------------------------------------------------------------

def test_residual_stream_is_the_input_layer_and_every_block_and_leaves_the_model_alone():
    X = digits()[0][:32]
    model = vn.models.deep_mlp(64, 8, 5, 10, "relu", rng=rng(), norm="batchnorm")
    buffers = {name: value.copy() for name, value in model.buffers.items()}
    stream = ex.residual_stream(model, X)
    assert all(np.array_equal(model.buffers[name], value) for name, value in buffers.items())
    assert len(stream) == 6 and all(x.shape == (32, 8) for x in stream)
    assert np.allclose(stream[1], stream[0] + model[1].block.forward(stream[0]))


@pytest.mark.parametrize("scale, zero_init, low, high", [(1.0, False, 2**50 / 1e4, 2**50 * 10),
                                                          (1 / np.sqrt(50), False, 2.0, 3.5), (1.0, True, 1.0, 1.0)])
def test_the_stream_variance_grows_as_one_plus_s_squared_per_block(scale, zero_init, low, high):
    X = digits()[0][:256]
    model = vn.models.deep_mlp(64, 32, 50, 10, "relu", rng=rng(), scale=scale, zero_init=zero_init)
    stream = ex.residual_stream(model, X)
    growth = stream[-1].var() / stream[0].var()
    assert low <= growth <= high


def test_residual_stream_refuses_other_models():
    with pytest.raises(TypeError, match="deep_mlp"):
        ex.residual_stream(vn.Dense(2, 2, rng=rng()), np.zeros((3, 2)))


def test_mean_cosine_of_known_rows():
    assert ex.mean_cosine(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])) == pytest.approx(1.0)
    assert ex.mean_cosine(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(0.0)
    assert ex.mean_cosine(np.array([[1.0, 1.0], [-1.0, -1.0]])) == pytest.approx(-1.0)
    assert ex.mean_cosine(np.array([[0.0, 0.0], [1.0, 0.0]])) == 0.0
    with pytest.raises(ValueError, match="at least 2 rows"):
        ex.mean_cosine(np.ones((1, 3)))


def test_plain_relu_blocks_map_every_digit_to_nearly_one_direction_and_residual_ones_do_not():
    X = digits()[0][:128]
    plain = ex.residual_stream(vn.models.deep_mlp(64, 32, 50, 10, "relu", rng=rng(), residual=False), X)[-1]
    fixed = ex.residual_stream(vn.models.deep_mlp(64, 32, 50, 10, "relu", rng=rng(), zero_init=True), X)[-1]
    assert ex.mean_cosine(plain) > 0.95 and ex.mean_cosine(fixed) < 0.1


# --- gradients as vectors --------------------------------------------------------------------------------------------

def test_flat_gradient_and_cosine_see_that_norm_clipping_keeps_the_direction_and_value_clipping_does_not():
    grads = {"a": np.array([[6.0, -0.5]]), "b": np.array([0.2])}
    by_norm = {name: g.copy() for name, g in grads.items()}
    by_value = {name: g.copy() for name, g in grads.items()}
    vn.optim.clip_grad_norm(by_norm, 1.0)
    vn.optim.clip_grad_value(by_value, 1.0)
    g = ex.flat_gradient(grads)
    assert g.tolist() == [6.0, -0.5, 0.2]
    assert ex.cosine(g, ex.flat_gradient(by_norm)) == pytest.approx(1.0)
    expected = (6.0 + 0.25 + 0.04) / (np.sqrt(36.29) * np.sqrt(1.29))
    assert ex.cosine(g, ex.flat_gradient(by_value)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="zeros"):
        ex.cosine(np.zeros(3), g)
    with pytest.raises(ValueError, match="same number"):
        ex.cosine(np.ones(2), g)
    with pytest.raises(TypeError, match="grads"):
        ex.flat_gradient([np.ones(2)])


# --- the widget's run ------------------------------------------------------------------------------------------------

def test_explore_run_records_the_signal_per_dense_layer_and_the_loss():
    run = ex.explore_run(10, "residual, s = 1/√L", "layernorm", 1.0, activation="tanh", steps=12, every=5, rng=rng())
    assert run.signal.shape == (3, 12) and run.signal_steps.tolist() == [1, 6, 11]
    assert run.loss.shape == (12,) and run.divergence is None and 0 <= run.test_accuracy <= 1
    assert 0 <= run.clipped_fraction <= 1 and run.settings["block"] == "residual, s = 1/√L"


def test_explore_run_signal_at_step_one_is_the_backward_signal_of_the_model_it_trains():
    run = ex.explore_run(6, "plain", steps=1, rng=rng(3))
    weights, _ = rng(3).spawn(2)
    model = vn.models.deep_mlp(64, 32, 6, 10, "relu", rng=weights, residual=False)
    X, _, y, _ = digits()
    order = rng(3).spawn(2)[1]
    batch = next(vn.train.batches(X, y, 64, rng=order, steps=1))
    assert np.allclose(run.signal[0], vn.diagnostics.backward_signal(model, "softmax_ce", batch[1], batch[2]))


def test_explore_run_reports_a_divergence_and_clipping_prevents_it():
    exploding = ex.explore_run(50, "residual", steps=10, rng=rng())
    assert exploding.divergence is not None and np.isnan(exploding.test_accuracy) and len(exploding.loss) < 10
    clipped = ex.explore_run(50, "residual", max_norm=1.0, steps=10, rng=rng())
    assert clipped.divergence is None and clipped.clipped_fraction == 1.0


def test_explore_run_refuses_an_unknown_block_kind():
    with pytest.raises(ValueError, match="'dense'"):
        ex.explore_run(5, "dense", rng=rng())


def test_the_widget_trains_as_the_experiment():
    from vanishing.widgets import practitioners_explorer

    app = practitioners_explorer(preset="tanh, 50 residual blocks", depth=10, seed=4)
    v = app.values
    reference = ex.explore_run(v["depth"], v["block"], v["norm"], v["max_norm"] or None, activation=v["activation"],
                               lr=v["lr"], steps=60, rng=rng(4))
    assert np.array_equal(app.result.loss, reference.loss) and np.array_equal(app.result.signal, reference.signal)


def test_the_widget_shows_a_divergence_as_a_message_with_the_figure():
    from vanishing.widgets import practitioners_explorer

    app = practitioners_explorer(preset="ReLU, 50 residual blocks: the stream explodes")
    assert app.result.divergence is not None and "Training diverged" in app.message.value
    assert app.png.startswith(b"\x89PNG")


# --- the self-checks -------------------------------------------------------------------------------------------------

def residual_backward(x, W, b, dout):
    h = np.tanh(x)
    return dout + (dout @ W.T) * (1 - h**2), h.T @ dout, dout.sum(axis=0)


@pytest.mark.parametrize("wrong, words", [
    (lambda x, W, b, d: ((d @ W.T) * (1 - np.tanh(x) ** 2), np.tanh(x).T @ d, d.sum(0)), "identity term"),
    (lambda x, W, b, d: (d + d @ W.T, np.tanh(x).T @ d, d.sum(0)), "tanh'(x)"),
    (lambda x, W, b, d: (d + (d @ W) * (1 - np.tanh(x) ** 2), np.tanh(x).T @ d, d.sum(0)), "W.T"),
    (lambda x, W, b, d: residual_backward(x, W, b, d)[:1] + (x.T @ d, d.sum(0)), "your dW"),
    (lambda x, W, b, d: residual_backward(x, W, b, d)[:2] + (d.mean(0),), "your db"),
])
def test_check_residual_backward_names_the_mistake(wrong, words):
    result = checks.check_residual_backward(wrong)
    assert result.passed is False and words in str(result)


def test_check_residual_backward_right_placeholder_and_broken():
    assert checks.check_residual_backward(residual_backward).passed is True
    assert checks.check_residual_backward(None).passed is None
    assert checks.check_residual_backward(lambda x, W, b, d: None).passed is None
    broken = checks.check_residual_backward(lambda x, W, b, d: 1 / 0)
    assert broken.passed is False and "ZeroDivisionError" in broken.message
    assert checks.check_residual_backward(lambda x, W, b, d: d).passed is False
    assert checks.check_residual_backward(3).passed is False


def test_check_clipped_steps():
    g = checks.CLIP_GRADIENT
    right_norm, right_value = -0.1 * g / np.linalg.norm(g), -0.1 * np.clip(g, -1, 1)
    passed = checks.check_clipped_steps(right_norm, right_value)
    assert passed.passed is True and "23.2°" in passed.message
    assert checks.check_clipped_steps(None, right_value).passed is None
    for step_norm, step_value, words in [
        (-right_norm, right_value, "+lr"),
        (right_norm * 10, right_value, "no learning rate"),
        (right_norm, -np.clip(g, -1, 1), "step_value"),
        (-0.1 * g, right_value, "unclipped"),
        (right_value, right_value, "value-clipped"),
        (right_norm, right_norm, "norm-clipped"),
        (right_norm, [1, 2], "shape"),
        (right_norm, "steps", "expected an array"),
    ]:
        result = checks.check_clipped_steps(step_norm, step_value)
        assert result.passed is False and words in str(result), (words, str(result))


def test_check_branch_scale():
    right = checks.check_branch_scale(np.sqrt(2 ** (1 / 50) - 1))
    assert right.passed is True and "1.9" in right.message
    too_large = checks.check_branch_scale(1 / np.sqrt(50))
    assert too_large.passed is False and "more than doubled" in too_large.message and too_large.hint
    too_small = checks.check_branch_scale(0.01)
    assert too_small.passed is False and "hardly add" in too_small.message
    assert checks.check_branch_scale(None).passed is None
    assert checks.check_branch_scale("0.1").passed is False
    assert checks.check_branch_scale(-1.0).passed is False


# --- the figures -----------------------------------------------------------------------------------------------------

def test_figures_draw_from_the_notebooks_results():
    signals = {"plain": np.array([1e-3, 1e-2, 1e-1]), "residual": np.array([1.0, 0.5, 0.1])}
    assert isinstance(vn.plots.signal_plot(signals, pairs=True), Figure)
    losses = {"a": [2.3, 2.0, 1.5] * 10, "b": [2.3, 1e300, np.nan]}
    assert isinstance(vn.plots.loss_curves_plot(losses, diverged={"b": True}), Figure)
    growth = {"s = 1": 2.0 ** np.arange(5)}
    assert isinstance(vn.plots.stream_variance_plot(growth, growth, predicted_label="(1 + s²)^l"), Figure)
    assert isinstance(vn.plots.clipping_plot(losses, {"a": np.linspace(20, 2, 30)}), Figure)
    assert isinstance(vn.plots.activation_derivatives_plot(), Figure)
    run = ex.explore_run(5, "plain", steps=3, every=2, rng=rng())
    figure = vn.plots.explorer_plot(run)
    assert isinstance(figure, Figure) and "5 ReLU blocks" in figure.get_suptitle()


def test_figures_refuse_bad_input():
    with pytest.raises(TypeError, match="non-empty dict"):
        vn.plots.signal_plot({})
    with pytest.raises(ValueError, match="1-D"):
        vn.plots.loss_curves_plot({"a": np.ones((2, 2))})
    with pytest.raises(TypeError, match="ExploreRun"):
        vn.plots.explorer_plot({"loss": [1.0]})


def test_every_drop_down_of_the_widget_shows_a_choice_for_each_preset():
    import ipywidgets

    from vanishing.widgets import practitioners_explorer

    for preset in [None, *practitioners_explorer().presets]:
        app = practitioners_explorer(**({"preset": preset} if preset else {}))
        for name, control in app.controls.items():
            if isinstance(control, ipywidgets.Dropdown):
                assert control.index is not None and control.label, (preset, name)
