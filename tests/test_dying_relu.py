"""Notebook 03 (dying ReLU): the dead network and the experiments the notebook's claims rest on."""

from __future__ import annotations

import numpy as np
import pytest

import vanishing as vn
from vanishing.experiments import dying_relu
from vanishing.experiments.dying_relu import dead_network, dead_setup, kill_units, pre_activations


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_dead_setup_is_dead_on_every_input(task):
    setup = dead_setup(task)
    z = pre_activations(setup.model, setup.X)
    assert z.max() < 0
    np.testing.assert_allclose(z.max(axis=0), -1.0, atol=1e-12)  # the margin
    assert vn.diagnostics.dead_fraction(np.maximum(z, 0)) == 1.0


def test_dead_setup_binary_prior_and_size():
    setup = dead_setup("binary", n=200)
    assert setup.X.shape == (200, 2) and setup.y.shape == (200,)
    assert setup.y.mean() == pytest.approx(0.4)


def test_dead_network_gradients_are_exactly_zero_except_the_output_bias():
    setup = dead_setup("regression")
    loss = vn.make_loss(setup.loss)
    loss.forward(setup.model.forward(setup.X), setup.y)
    setup.model.backward(loss.backward())
    grads = setup.model.grads
    for name in ("0.W", "0.b", "2.W"):
        assert not np.any(grads[name]), name
    assert np.abs(grads["2.b"]).max() > 0.1


def test_dead_network_other_activation_has_the_same_parameters():
    X = np.random.default_rng(1).standard_normal((50, 3))
    relu = dead_network(X, 8, rng=np.random.default_rng(2))
    leaky = dead_network(X, 8, rng=np.random.default_rng(2), activation="leaky_relu",
                         activation_options={"alpha": 0.1})
    for name, p in relu.params.items():
        np.testing.assert_array_equal(p, leaky.params[name])


def test_kill_units_kills_only_the_chosen_units():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 2))
    model = vn.mlp([2, 6, 1], "relu", rng=rng, init="he_uniform")
    before = pre_activations(model, X)
    killed = kill_units(model, X, [1, 4], margin=0.5)
    after = pre_activations(model, X)
    assert list(killed) == [1, 4]
    np.testing.assert_allclose(after[:, [1, 4]].max(axis=0), -0.5, atol=1e-12)
    np.testing.assert_array_equal(after[:, [0, 2, 3, 5]], before[:, [0, 2, 3, 5]])


def test_kill_units_rejects_bad_units_and_margin():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 2))
    model = vn.mlp([2, 3, 1], "relu", rng=rng)
    with pytest.raises(ValueError, match="units"):
        kill_units(model, X, [3])
    with pytest.raises(ValueError, match="margin"):
        kill_units(model, X, margin=0.0)


# --- what stops, what learns -------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["binary", "regression"])
def test_frozen_training_only_the_output_bias_moves_and_it_reaches_the_best_constant(task):
    run = dying_relu.frozen_training(task, steps=300)
    assert run.max_abs_grad["0.W"] == run.max_abs_grad["0.b"] == run.max_abs_grad["2.W"] == 0.0
    assert run.max_abs_grad["2.b"] > 0
    assert run.unchanged == {"0.W": True, "0.b": True, "2.W": True, "2.b": False}
    assert run.output_bias[-1] == pytest.approx(run.constant, abs=1e-9)
    assert run.loss[-1] == pytest.approx(run.constant_loss, abs=1e-12)
    assert run.output_spread == 0.0


def test_best_constant_values():
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    logit, entropy = dying_relu.best_constant("binary", y)
    assert logit == pytest.approx(np.log(0.4 / 0.6))
    assert entropy == pytest.approx(-(0.4 * np.log(0.4) + 0.6 * np.log(0.6)))
    mean, half_var = dying_relu.best_constant("regression", np.array([1.0, 3.0]))
    assert (mean, half_var) == (2.0, 0.5)


def test_flat_neighbourhood_small_perturbations_leave_the_loss_bit_for_bit():
    assert dying_relu.flat_neighbourhood(0.1, trials=10) == (10, 10)
    same, trials = dying_relu.flat_neighbourhood(2.0, trials=10)
    assert same < trials


# --- what can move the weights -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["SGD", "SGD + momentum 0.9", "Adam"])
def test_without_decay_a_dead_start_stays_bit_for_bit(name):
    run = dying_relu.revival_run(name, steps=100)
    assert run.hidden_unchanged and not run.revived
    assert np.all(run.dead == 1.0)
    assert run.loss[-1] < run.loss[0]  # the output bias still learns


def test_sgd_l2_decay_scales_every_pre_activation_by_the_same_factor():
    run = dying_relu.revival_run("SGD + L2 decay 0.01", steps=200)
    assert not run.hidden_unchanged and not run.revived
    factors = dying_relu.shrink_factors(0.5, 0.01, steps=199)  # step s sees the parameters after s - 1 updates
    # every unit's largest pre-activation starts at -margin = -1, so the largest over units is -a_t
    np.testing.assert_allclose(run.z_max, -factors, rtol=1e-9)


def test_adam_l2_revives_whatever_the_decay_strength():
    strong = dying_relu.revival_run("Adam + L2 decay 0.01")
    weak = dying_relu.revival_run("Adam + L2 decay 0.0001")
    assert strong.revived and weak.revived
    assert abs(strong.first_alive - weak.first_alive) <= 5
    assert strong.loss[-1] < strong.constant_loss


def test_decoupled_decay_under_adam_does_not_revive():
    run = dying_relu.revival_run("AdamW (decoupled decay 0.01)")
    assert not run.hidden_unchanged and not run.revived
    assert -1.0 < run.z_max[-1] < 0


def test_batchnorm_before_relu_is_alive_at_the_first_step():
    run = dying_relu.revival_run("BatchNorm before ReLU, SGD", steps=20)
    assert run.first_alive == 1 and run.dead[0] == 0.0


def test_revival_run_is_cached_and_rejects_unknown_settings():
    assert dying_relu.revival_run("SGD", steps=10) is dying_relu.revival_run("SGD", steps=10)
    with pytest.raises(ValueError, match="name"):
        dying_relu.revival_run("no such scenario")
    with pytest.raises(ValueError, match="optimizer"):
        dying_relu.revival_run("SGD", optimizer="lbfgs", steps=5)


@pytest.mark.parametrize(("lr", "decay", "momentum", "flips"), [
    (0.5, 0.01, 0.9, True),    # eta*lambda = 0.005 > (1 - sqrt(0.9))^2 = 0.0026: complex roots, overshoot
    (0.5, 0.001, 0.9, False),  # 0.0005 < 0.0026: real roots, no sign change
    (0.5, 0.01, 0.0, False),   # plain decay: (1 - 0.005)^t > 0
    (1.0, 1.5, 0.0, True),     # eta*lambda > 1: the factor is negative at once
])
def test_sign_flip_prediction_matches_the_engine(lr, decay, momentum, flips):
    predicted = dying_relu.sign_flip_step(lr, decay, momentum, steps=200)
    run = dying_relu.revival_run("SGD", lr=lr, momentum=momentum, weight_decay=decay, steps=200)
    assert (predicted is not None) == flips
    assert run.first_alive == predicted


def test_shrink_factors_without_momentum_are_powers():
    np.testing.assert_allclose(dying_relu.shrink_factors(0.5, 0.1, steps=5), 0.95 ** np.arange(6))


def test_underflow_revival_float32_outputs_subnormals_but_gradients_stay_zero():
    result = dying_relu.underflow_revival(np.float32, steps=200)
    assert result.first_alive is not None
    assert abs(result.first_alive - result.predicted_step) <= 3
    assert result.alive_units > 0
    assert 0 < result.alive_output < np.finfo(np.float32).smallest_normal
    assert result.hidden_grad == 0.0 and result.loss_change == 0.0


def test_momentum_deaths_prediction_from_the_velocity_is_exact():
    result = dying_relu.momentum_deaths((0.0, 0.9), steps=150, seeds=1)
    np.testing.assert_array_equal(result.agree, result.deaths)
    assert result.revivals[0] == 0  # plain SGD never revives a unit dead on every example
    assert result.deaths[1] > 0


# --- one dead unit vs a dead layer -------------------------------------------------------------------------------

def test_dead_units_sweep_routes_around_and_killed_units_stay_frozen():
    result = dying_relu.dead_units_sweep((0, 8, 16), steps=150)
    assert result.killed_unchanged.all()
    np.testing.assert_array_equal(result.alive_end, [16, 8, 0])
    assert result.loss[0, -1] < result.loss[1, -1] < result.constant_loss
    assert result.loss[2, -1] == pytest.approx(result.constant_loss, abs=1e-9)


def test_a_dead_layer_blocks_everything_but_the_output_bias():
    result = dying_relu.dead_layer(steps=50)
    nonzero = [name for name, g in zip(result.names, result.grad_at_start, strict=True) if g != 0]
    assert nonzero == ["Dense 4 b"]
    assert result.output_spread == 0.0


def test_a_dead_layer_with_positive_biases_lets_downstream_learn_a_constant():
    result = dying_relu.dead_layer(bias=0.1, steps=50)
    changed = [name for name, c in zip(result.names, result.changed, strict=True) if c]
    assert changed == ["Dense 3 b", "Dense 4 W", "Dense 4 b"]
    assert result.output_spread == 0.0


def test_a_half_dead_layer_revives_through_upstream_learning():
    result = dying_relu.dead_layer(8, steps=300)
    assert np.all(result.grad_at_start > 0)
    assert result.alive_end[1] > result.alive_start[1]


# --- in practice ---------------------------------------------------------------------------------------------------

def test_dying_run_records_match_a_direct_count():
    run = dying_relu.dying_run(0.1, steps=30)
    assert run.alive.shape == (len(run.steps), 48) and run.steps[0] == 0 and run.steps[-1] == 30
    X, _ = dying_relu._moons(200, 0)
    model = vn.mlp([2, 16, 16, 16, 1], "relu", rng=np.random.default_rng(1), init="he_uniform")
    acts = vn.diagnostics.collect_activations(model, X, train_mode=True)
    relu = [a.out for a in acts if isinstance(a.layer, vn.activations.ReLU)]
    alive = np.concatenate([vn.diagnostics.alive_units(out) for out in relu])
    np.testing.assert_array_equal(run.alive[0], alive)
    assert run.dead[0] == pytest.approx(1 - alive.mean())


def test_dying_run_keeps_a_diverged_run():
    run = dying_relu.dying_run(10.0, weight_decay=1.0, steps=100)  # lr * decay = 10: the weights blow up
    assert run.diverged is not None and len(run.loss) == run.diverged
    assert run.steps[-1] == run.diverged - 1
    assert np.isnan(run.accuracy)


def test_dying_run_rejects_bad_settings():
    with pytest.raises(ValueError, match="optimizer"):
        dying_relu.dying_run(optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        dying_relu.dying_run(lr=0.0)


def test_born_dead_probability_is_below_the_single_input_bound_and_grows_with_depth():
    result = dying_relu.born_dead_probability((2, 4), max_depth=30, trials=400, rng=np.random.default_rng(0))
    assert np.all(np.diff(result.probability, axis=1) >= 0)
    bound = result.single_input
    assert np.all(result.probability <= bound + 3 * np.sqrt(bound * (1 - bound) / result.trials) + 1 / result.trials)
    assert result.probability[0, -1] > result.probability[1, -1]
    assert result.probability[0, -1] > 0.9


def test_batchnorm_dead_train_mode_alive_eval_mode_dead_at_first():
    result = dying_relu.batchnorm_dead((0.5,), steps=30)
    assert np.all(result.dead_train[0] == 0.0)
    assert result.dead_eval[0, 0] == 1.0 and result.dead_eval[0, -1] == 0.0


# --- self-checks ---------------------------------------------------------------------------------------------------

def _correct_dead_fraction(out):
    return float(1.0 - np.any(out != 0, axis=0).mean())


@pytest.mark.parametrize(("fn", "passed", "shown"), [
    (None, None, "not attempted"),
    (lambda out: None, None, "not attempted"),
    (_correct_dead_fraction, True, "all 8"),
    (lambda out: float((out == 0).mean()), False, "shape (2, 3)"),                  # per entry, not per unit
    (lambda out: float((out.max(axis=0) < 1e-12).mean()), False, "4.941e-324"),     # a threshold misses subnormals
    (lambda out: float(1 - np.any(out != 0, axis=1).mean()), False, "shape (2, 2)"),  # the wrong axis
])
def test_check_dead_fraction_verdicts(fn, passed, shown):
    result = vn.checks.check_dead_fraction(fn)
    assert result.passed is passed
    assert shown in result.message


def test_check_dying_lr_verdicts():
    assert vn.checks.check_dying_lr(None).passed is None
    assert vn.checks.check_dying_lr("fast").passed is False
    assert vn.checks.check_dying_lr(-1.0).passed is False
    low = vn.checks.check_dying_lr(0.1)
    assert low.passed is False and "no more than half" in low.message
    lr = 1.0
    while dying_relu.dead_after_training(lr) <= 0.5:
        lr *= 1.25
    assert vn.checks.check_dying_lr(lr).passed is True
    high = vn.checks.check_dying_lr(20.0)
    assert high.passed is False and "already at the smaller" in high.message


def test_check_revival_predictions_verdicts():
    names = list(dying_relu.REVIVAL_QUESTIONS)
    assert vn.checks.check_revival_predictions(None).passed is None
    assert vn.checks.check_revival_predictions(dict.fromkeys(names)).passed is None
    right = dict(zip(names, [True, True, False, False], strict=True))
    assert vn.checks.check_revival_predictions(right).passed is True
    wrong = {**right, "SGD + momentum 0.9 + L2 decay 0.01": False}
    result = vn.checks.check_revival_predictions(wrong)
    assert result.passed is False and "step 49" in result.message
    assert vn.checks.check_revival_predictions({**right, "no such": True}).passed is False
    assert vn.checks.check_revival_predictions({**right, names[0]: "yes"}).passed is False


def test_revival_questions_measured_answers():
    runs = {name: dying_relu.revival_run(name) for name in dying_relu.REVIVAL_QUESTIONS}
    assert [run.revived for run in runs.values()] == [True, True, False, False]


# --- figures -------------------------------------------------------------------------------------------------------

def test_every_plot_draws_a_figure_and_rejects_the_wrong_result():
    from matplotlib.figure import Figure

    from vanishing.plots import dying_relu as plots

    table = dying_relu.revival_table(["SGD", "Adam + L2 decay 0.01"], steps=20)
    figures = [
        plots.frozen_plot(dying_relu.frozen_training(steps=20)),
        plots.dead_revival_plot(table),
        plots.shrink_plot({"a": dying_relu.shrink_factors(0.5, 0.01, 0.9, 60)}),
        plots.dead_units_plot(dying_relu.dead_units_sweep((0, 16), steps=10)),
        plots.dead_layer_plot({"dead": dying_relu.dead_layer(steps=5)}),
        plots.dying_grid_plot(dying_relu.dying_grid((0.1,), (0.0,), steps=10)),
        plots.born_dead_plot(dying_relu.born_dead_probability((2,), max_depth=5, trials=20,
                                                              rng=np.random.default_rng(0))),
        plots.batchnorm_plot(dying_relu.batchnorm_dead((0.5,), steps=5)),
        plots.dying_dashboard(dying_relu.dying_run(steps=10)),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    with pytest.raises(TypeError, match="frozen_training"):
        plots.frozen_plot(table)
    with pytest.raises(TypeError, match="revival_table"):
        plots.dead_revival_plot({})
