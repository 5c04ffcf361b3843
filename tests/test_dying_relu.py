"""Notebook 03 (dying ReLU): the dead network, the runs the notebook repeats, its self-checks and figures."""

from __future__ import annotations

import numpy as np
import pytest

import vanishing as vn
from vanishing.experiments import dying_relu as ex
from vanishing.scenarios import dead_network, dead_setup, kill_units, pre_activations


def rng(seed=0):
    return np.random.default_rng(seed)


# --- the dead network (vanishing.scenarios) -----------------------------------------------------------------------

@pytest.mark.parametrize("task", ["binary", "regression"])
def test_dead_setup_is_dead_on_every_input(task):
    setup = dead_setup(task, rng=rng())
    z = pre_activations(setup.model, setup.X)
    assert z.max() < 0
    np.testing.assert_allclose(z.max(axis=0), -1.0, atol=1e-12)  # the margin
    assert vn.diagnostics.dead_fraction(np.maximum(z, 0)) == 1.0


def test_dead_setup_binary_prior_and_size():
    setup = dead_setup("binary", n=200, rng=rng())
    assert setup.X.shape == (200, 2) and setup.y.shape == (200,)
    assert setup.y.mean() == pytest.approx(0.4)


def test_dead_network_gradients_are_exactly_zero_except_the_output_bias():
    setup = dead_setup("regression", rng=rng())
    loss = vn.make_loss(setup.loss)
    loss.forward(setup.model.forward(setup.X), setup.y)
    setup.model.backward(loss.backward())
    grads = setup.model.grads
    for name in ("0.W", "0.b", "2.W"):
        assert not np.any(grads[name]), name
    assert np.abs(grads["2.b"]).max() > 0.1


def test_dead_network_other_activation_has_the_same_parameters():
    X = rng(1).standard_normal((50, 3))
    relu = dead_network(X, 8, rng=rng(2))
    leaky = dead_network(X, 8, rng=rng(2), activation="leaky_relu", activation_options={"alpha": 0.1})
    for name, p in relu.params.items():
        np.testing.assert_array_equal(p, leaky.params[name])


def test_kill_units_kills_only_the_chosen_units():
    generator = rng(3)
    X = generator.standard_normal((40, 2))
    model = vn.mlp([2, 6, 1], "relu", rng=generator, init="he_uniform")
    before = pre_activations(model, X)
    assert list(kill_units(model, X, [1, 4], margin=0.5)) == [1, 4]
    after = pre_activations(model, X)
    np.testing.assert_allclose(after[:, [1, 4]].max(axis=0), -0.5, atol=1e-12)
    np.testing.assert_array_equal(after[:, [0, 2, 3, 5]], before[:, [0, 2, 3, 5]])


# --- reading a network ---------------------------------------------------------------------------------------------

def test_same_bits_tells_signed_zeros_and_dtypes_apart():
    assert ex.same_bits(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    assert not ex.same_bits(np.array([0.0]), np.array([-0.0]))
    assert not ex.same_bits(np.array([1.0]), np.array([1.0], dtype=np.float32))
    assert not ex.same_bits(np.zeros(2), np.zeros((1, 2)))


def test_best_constant_values():
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    logit, entropy = ex.best_constant("binary", y)
    assert logit == pytest.approx(np.log(0.4 / 0.6))
    assert entropy == pytest.approx(-(0.4 * np.log(0.4) + 0.6 * np.log(0.6)))
    assert ex.best_constant("regression", np.array([1.0, 3.0])) == (2.0, 0.5)
    with pytest.raises(ValueError, match="class-1 fraction 1"):
        ex.best_constant("binary", np.ones(4))
    with pytest.raises(ValueError, match="task"):
        ex.best_constant("ranking", y)


def test_relu_inputs_and_alive_per_layer():
    setup = dead_setup("binary", rng=rng())
    np.testing.assert_array_equal(ex.relu_inputs(setup.model, setup.X), pre_activations(setup.model, setup.X))
    model = vn.mlp([2, 5, 3, 1], "relu", rng=rng(1), init="he_uniform")
    kill_units(model, setup.X, [0, 2], layer=0)
    assert ex.relu_inputs(model, setup.X).shape == (200, 8)
    assert ex.alive_per_layer(model, setup.X)[0] == 3
    with pytest.raises(ValueError, match="no ReLU"):
        ex.relu_inputs(vn.mlp([2, 3, 1], "tanh", rng=rng()), setup.X)


# --- the dead network under one optimizer ---------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [{"optimizer": "sgd", "lr": 0.5},
                                      {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9},
                                      {"optimizer": "adam", "lr": 0.03}])
def test_without_decay_a_dead_start_stays_bit_for_bit(settings):
    run = ex.dead_run(**settings, steps=100, rng=rng())
    assert not run.hidden_moved and run.first_alive is None
    assert np.all(run.relu_max == run.relu_max[0]) and run.alive.shape == (101, 16)
    assert run.relu_max[0] == pytest.approx(-1.0, abs=1e-12)
    assert run.loss[-1] < run.loss[0]  # the output bias still learns


def test_the_hook_records_what_a_probe_after_t_updates_sees():
    long = ex.dead_run("adam", lr=0.03, weight_decay=0.01, steps=120, rng=rng())
    short = ex.dead_run("adam", lr=0.03, weight_decay=0.01, steps=100, rng=rng())
    z = ex.relu_inputs(short.setup.model, short.setup.X).max(axis=0)
    np.testing.assert_array_equal(long.alive[100], z > 0)
    assert long.relu_max[100] == z.max()


def test_sgd_l2_decay_scales_every_pre_activation_by_the_same_factor():
    run = ex.dead_run("sgd", lr=0.5, weight_decay=0.01, steps=200, rng=rng())
    assert run.hidden_moved and run.first_alive is None
    # every unit's largest pre-activation starts at -margin = -1, so the largest over units is -a_t
    np.testing.assert_allclose(run.relu_max, -ex.shrink_factors(0.5, 0.01, steps=200), rtol=1e-9)


def test_adam_l2_revives_whatever_the_decay_strength_and_adamw_does_not():
    strong = ex.dead_run("adam", lr=0.03, weight_decay=0.01, rng=rng())
    weak = ex.dead_run("adam", lr=0.03, weight_decay=1e-4, rng=rng())
    assert strong.first_alive is not None and weak.first_alive is not None
    assert abs(strong.first_alive - weak.first_alive) <= 5
    assert strong.loss[-1] < strong.constant_loss
    adamw = ex.dead_run("adam", lr=0.03, decoupled_weight_decay=0.01, rng=rng())
    assert adamw.hidden_moved and adamw.first_alive is None and -1.0 < adamw.relu_max[-1] < 0


def test_batchnorm_before_relu_is_alive_before_the_first_update():
    run = ex.dead_run("sgd", lr=0.5, batchnorm="before", steps=20, rng=rng())
    assert run.first_alive == 0 and run.alive[0].all()


def test_dead_run_rejects_bad_settings():
    with pytest.raises(ValueError, match="optimizer"):
        ex.dead_run("lbfgs", lr=0.1, rng=rng())
    with pytest.raises(ValueError, match="steps"):
        ex.dead_run("sgd", lr=0.1, steps=0, rng=rng())
    with pytest.raises(TypeError, match="rng"):
        ex.dead_run("sgd", lr=0.1, rng=0)


@pytest.mark.parametrize(("lr", "decay", "momentum", "flips"), [
    (0.5, 0.01, 0.9, True),    # eta*lambda = 0.005 > (1 - sqrt(0.9))^2 = 0.0026: complex roots, overshoot
    (0.5, 0.001, 0.9, False),  # 0.0005 < 0.0026: real roots, no sign change
    (0.5, 0.01, 0.0, False),   # plain decay: (1 - 0.005)^t > 0
    (1.0, 1.5, 0.0, True),     # eta*lambda > 1: the factor is negative at once
])
def test_sign_flip_prediction_matches_the_engine(lr, decay, momentum, flips):
    predicted = ex.sign_flip_step(lr, decay, momentum, steps=200)
    run = ex.dead_run("sgd", lr=lr, momentum=momentum, weight_decay=decay, steps=200, rng=rng())
    assert (predicted is not None) == flips
    assert run.first_alive == predicted


def test_shrink_factors_without_momentum_are_powers():
    np.testing.assert_allclose(ex.shrink_factors(0.5, 0.1, steps=5), 0.95 ** np.arange(6))
    with pytest.raises(ValueError, match="momentum"):
        ex.shrink_factors(0.5, 0.1, momentum=1.0)


def test_underflow_float32_outputs_subnormals_but_gradients_stay_zero():
    grads = vn.diagnostics.GradientNorms()
    run = ex.dead_run("sgd", lr=1.0, weight_decay=0.5, steps=200, dtype="float32", rng=rng(), callbacks=[grads])
    first = run.first_alive
    assert first is not None and 140 <= first <= 155  # the subnormal floor: about 151 updates
    out = np.maximum(pre_activations(run.setup.model, run.setup.X), 0)
    assert 0 < out.max() < np.finfo(np.float32).smallest_normal
    assert grads.history[first:, 0].max() == 0 and grads.bias_history[first:, 0].max() == 0
    assert run.loss[-1] == run.loss[first]


# --- momentum ------------------------------------------------------------------------------------------------------

def test_momentum_revivals_are_predicted_from_the_velocity():
    X, y = dead_setup("binary", rng=rng()).X, dead_setup("binary", rng=rng()).y
    plain = ex.momentum_revivals(vn.mlp([2, 64, 1], "relu", rng=rng(), init="he_uniform"), X, y, lr=1.0, momentum=0.0,
                                 steps=100)
    assert plain["revivals"] == 0
    heavy = ex.momentum_revivals(vn.mlp([2, 64, 1], "relu", rng=rng(), init="he_uniform"), X, y, lr=1.0,
                                 momentum=0.99, steps=150)
    assert heavy["deaths"] > 0 and heavy["revivals"] > 0
    assert heavy["agree"] == heavy["deaths"] and heavy["predicted"] == heavy["revivals"]
    assert heavy["dead_end"] == heavy["deaths"] - heavy["revivals"]  # every unit alive at the start


# --- how units die in practice --------------------------------------------------------------------------------------

def test_dying_run_records_match_a_direct_count():
    run = ex.dying_run(0.1, steps=30, rng=rng(1))
    assert run.alive.shape == (len(run.steps), 48) and run.steps[0] == 0 and run.steps[-1] == 30
    X, _ = vn.data.two_moons(200, noise=0.1, rng=rng(0))  # the same points in every run
    model = vn.mlp([2, 16, 16, 16, 1], "relu", rng=rng(1), init="he_uniform")  # rng draws the weights first
    acts = vn.diagnostics.collect_activations(model, X, train_mode=True)
    relu = [a.out for a in acts if isinstance(a.layer, vn.activations.ReLU)]
    alive = np.concatenate([vn.diagnostics.alive_units(out) for out in relu])
    np.testing.assert_array_equal(run.alive[0], alive)
    assert run.dead[0] == pytest.approx(1 - alive.mean())


def test_dying_run_keeps_a_diverged_run():
    run = ex.dying_run(10.0, weight_decay=1.0, steps=100, rng=rng())  # lr * decay = 10: the weights blow up
    assert run.diverged is not None and len(run.loss) == run.diverged
    assert run.steps[-1] == run.diverged - 1
    assert np.isnan(run.accuracy)


def test_dying_run_rejects_bad_settings():
    with pytest.raises(ValueError, match="optimizer"):
        ex.dying_run(optimizer="lbfgs", rng=rng())
    with pytest.raises(ValueError, match="lr"):
        ex.dying_run(lr=0.0, rng=rng())
    with pytest.raises(TypeError, match="rng=0"):
        ex.dying_run(rng=0)


def test_dead_after_training_is_the_mean_over_the_spawned_generators():
    value = ex.dead_after_training(0.5, rng=rng(4), runs=2, steps=20)
    runs = [ex.dying_run(0.5, steps=20, every=20, rng=g).dead_end for g in rng(4).spawn(2)]
    assert value == pytest.approx(np.mean(runs))
    assert ex.dead_after_training(0.5, rng=rng(4), runs=2, steps=20) == value
    with pytest.raises(ValueError, match="runs"):
        ex.dead_after_training(0.5, rng=rng(), runs=0)


def test_born_dead_probability_is_below_the_single_input_bound_and_grows_with_depth():
    p = ex.born_dead_probability((2, 4), depth=30, trials=400, rng=rng())
    assert p.shape == (2, 30) and np.all(np.diff(p, axis=1) >= 0)
    bound = 1 - (1 - 2.0 ** -np.array([[2], [4]])) ** np.arange(1, 31)
    assert np.all(p <= bound + 3 * np.sqrt(bound * (1 - bound) / 400) + 1 / 400)
    assert p[0, -1] > p[1, -1] and p[0, -1] > 0.9
    with pytest.raises(ValueError, match="width"):
        ex.born_dead_probability((0,), depth=3, trials=2, rng=rng())


# --- self-checks ---------------------------------------------------------------------------------------------------

def test_check_alive_input_verdicts():
    setup = dead_setup("binary", rng=rng())
    w, b = setup.hidden.params["W"][:, 0], setup.hidden.params["b"][0]
    assert vn.checks.check_alive_input(None, setup).passed is None
    right = vn.checks.check_alive_input((1.0 - b) * w / (w @ w), setup)
    assert right.passed is True and "alive at your point" in right.message
    wrong = vn.checks.check_alive_input(np.zeros(2), setup)  # z = b_0 < 0
    assert wrong.passed is False and "still dead" in wrong.message and "w_0" in wrong.hint
    inside = vn.checks.check_alive_input(setup.X[0], setup)  # a training point: dead there by construction
    assert inside.passed is False
    assert vn.checks.check_alive_input(np.zeros(3), setup).passed is False
    assert vn.checks.check_alive_input("here", setup).passed is False
    assert vn.checks.check_alive_input(np.array([np.nan, 1.0]), setup).passed is False
    assert vn.checks.check_alive_input(np.zeros(2), "setup").passed is False
    alive = vn.scenarios.dead_setup("binary", rng=rng(), margin=1.0)
    alive.hidden.params["b"][0] += 5.0
    assert "alive on its own data" in vn.checks.check_alive_input(np.zeros(2), alive).message


def test_check_dying_lr_verdicts():
    assert vn.checks.check_dying_lr(None).passed is None
    assert vn.checks.check_dying_lr("fast").passed is False
    assert vn.checks.check_dying_lr(-1.0).passed is False
    low = vn.checks.check_dying_lr(0.1)
    assert low.passed is False and "no more than half" in low.message
    lr = 1.0
    while ex.dead_after_training(lr, rng=rng(0)) <= 0.5:
        lr *= 1.25
    assert vn.checks.check_dying_lr(lr).passed is True
    high = vn.checks.check_dying_lr(20.0)
    assert high.passed is False and "already at the smaller" in high.message


def test_check_revival_predictions_verdicts():
    names = list(ex.REVIVAL_QUESTIONS)
    assert vn.checks.check_revival_predictions(None).passed is None
    assert vn.checks.check_revival_predictions(dict.fromkeys(names)).passed is None
    right = dict(zip(names, [True, True, False, False], strict=True))
    assert vn.checks.check_revival_predictions(right).passed is True
    wrong = {**right, "SGD + momentum 0.9 + L2 decay 0.01": False}
    result = vn.checks.check_revival_predictions(wrong)
    assert result.passed is False and "after update 48" in result.message
    assert vn.checks.check_revival_predictions({**right, "no such": True}).passed is False
    assert vn.checks.check_revival_predictions({**right, names[0]: "yes"}).passed is False


def test_revival_questions_measured_answers():
    runs = [ex.dead_run(**settings, rng=rng()) for settings in ex.REVIVAL_QUESTIONS.values()]
    assert [run.first_alive is not None for run in runs] == [True, True, False, False]


# --- figures -------------------------------------------------------------------------------------------------------

def test_every_plot_draws_a_figure_and_rejects_the_wrong_input():
    from matplotlib.figure import Figure

    from vanishing.plots import dying_relu as plots

    runs = {"SGD": ex.dead_run("sgd", lr=0.5, steps=20, rng=rng()),
            "Adam + L2": ex.dead_run("adam", lr=0.03, weight_decay=0.01, steps=20, rng=rng())}
    born = ex.born_dead_probability((2,), depth=5, trials=20, rng=rng())
    figures = [
        plots.frozen_plot(runs["SGD"].loss, np.linspace(0, -0.4, 21), -0.4, 0.67),
        plots.dead_revival_plot(runs),
        plots.shrink_plot({"a": ex.shrink_factors(0.5, 0.01, 0.9, 60)}),
        plots.momentum_plot((1, 10), (0.0, 0.9), np.array([[0.0, 0.0], [0.5, 0.2]])),
        plots.dead_units_plot({0: [0.7, 0.5], 16: [0.7, 0.67]}, {0: 0.9, 16: 0.6}, 0.67),
        plots.dead_layer_plot({"dead": {"0.W": 0.0, "0.b": 0.0, "2.W": 0.0, "2.b": 0.1}}),
        plots.dying_grid_plot({(0.1, 0.0): ex.dying_run(steps=10, rng=rng())}),
        plots.born_dead_plot((2,), born, trials=20, inputs=32),
        plots.batchnorm_plot({0.5: ([0, 1, 2], [0.0, 0.0, 0.0], [1.0, 0.5, 0.0])}),
        plots.dying_dashboard(ex.dying_run(steps=10, rng=rng())),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    with pytest.raises(TypeError, match="dead_run"):
        plots.dead_revival_plot({"SGD": runs["SGD"].loss})
    with pytest.raises(ValueError, match="output_bias"):
        plots.frozen_plot([0.7, 0.6], [0.0, -0.1], -0.4, 0.67)  # one bias value short
    with pytest.raises(ValueError, match="dead has shape"):
        plots.momentum_plot((1, 10), (0.0, 0.9), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="probability"):
        plots.born_dead_plot((2, 4), born, trials=20, inputs=32)
