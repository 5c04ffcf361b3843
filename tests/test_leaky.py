"""Notebook 04 (leaky variants): the numbers the notebook relies on, and its self-checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing.checks as checks
from vanishing.activations import LeakyReLU, PReLU, ReLU, RReLU
from vanishing.experiments import leaky as ex
from vanishing.plots import leaky as plots
from vanishing.scenarios import dead_setup

# --------------------------------------------------------------------------------------------- Leaky ReLU


def test_derivative_check_engine_agrees_and_the_exponential_claim_does_not():
    result = ex.leaky_derivative_check(0.01, rng=np.random.default_rng(0))
    assert result.error_engine < 1e-7
    assert result.layer_errors["x"] < 1e-7
    assert result.error_claim > 0.5
    negative = result.z < 0
    np.testing.assert_allclose(result.finite_difference[negative], 0.01, rtol=1e-6)
    np.testing.assert_allclose(result.finite_difference[~negative], 1.0, rtol=1e-6)
    assert np.min(np.abs(result.z)) >= 0.01  # no point straddles the kink


def test_derivative_check_uses_the_given_points_and_slope():
    z = np.array([-3.0, -0.001, 0.0, 2.0])
    result = ex.leaky_derivative_check(0.2, z=z, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(result.z, [-3.0, -0.01, 0.01, 2.0])
    np.testing.assert_allclose(result.engine_backward, [0.2, 0.2, 1.0, 1.0])
    np.testing.assert_allclose(result.claimed[0], 0.2 * math.exp(-3.0))


def test_leaky_mean_output_matches_the_closed_form():
    result = ex.leaky_mean_output((0.0, 0.01, 0.2, 1.0), n=100_000, rng=np.random.default_rng(2))
    np.testing.assert_allclose(result.exact, (1 - result.alphas) / math.sqrt(2 * math.pi))
    assert np.all(np.abs(result.sampled - result.exact) < 5 * result.standard_error)
    assert result.exact[1] / result.exact[0] == pytest.approx(0.99)


def test_dead_fraction_of_counts_units_non_positive_on_every_row():
    z = np.array([[-1.0, 0.0, 2.0, -3.0], [-2.0, -1.0, -1.0, 0.5]])
    assert ex.dead_fraction_of(z) == 0.5  # units 0 and 1; a single positive value keeps a unit alive
    with pytest.raises(ValueError, match="z has shape"):
        ex.dead_fraction_of(np.zeros(3))


# --------------------------------------------------------------------------------------------- PReLU


def test_prelu_gradient_check_passes_for_per_unit_and_shared_slopes():
    errors = ex.prelu_gradient_check(rng=np.random.default_rng(3))
    for kind in ("per unit", "shared"):
        assert errors[kind]["x"] < 1e-7 and errors[kind]["alpha"] < 1e-7


def test_prelu_parameter_count():
    counts = ex.prelu_parameter_count([2, 24, 24, 24, 24, 1])
    assert counts == {"dense": 2 * 24 + 24 + 3 * (24 * 24 + 24) + 24 + 1, "prelu": 4 * 24}


def test_prelu_training_learns_slopes_that_leave_their_start():
    result = ex.prelu_training(depth=2, width=8, epochs=5)
    assert len(result.alphas) == 2 and all(a.shape == (8,) for a in result.alphas)
    assert result.alpha_path.shape == (result.steps + 1, 8)
    np.testing.assert_array_equal(result.alpha_path[0], 0.25)
    np.testing.assert_array_equal(result.alpha_path[-1], result.alphas[0])
    assert np.max(np.abs(result.alphas[0] - 0.25)) > 1e-3
    assert result.loss.shape == (result.steps,)


# --------------------------------------------------------------------------------------------- RReLU


def test_rrelu_slopes_follow_xu_et_al():
    result = ex.rrelu_slopes(n=50_000, rng=np.random.default_rng(4))
    assert result.samples.min() >= 1 / 8 and result.samples.max() <= 1 / 3
    assert result.eval_slope == pytest.approx(1 / 5.5)
    assert result.mean_slope_exact == pytest.approx(math.log(8 / 3) / 5)
    assert abs(result.mean_slope_sampled - result.mean_slope_exact) < 5 * result.mean_slope_se
    assert result.other_mean == pytest.approx((1 / 8 + 1 / 3) / 2)
    assert abs(result.other_samples.mean() - result.other_mean) < 0.002
    # the density integrates to 1 over [1/u, 1/l]
    s = np.linspace(1 / 8, 1 / 3, 20_001)
    assert np.trapezoid(result.density(s), s) == pytest.approx(1.0, rel=1e-4)


def test_rrelu_train_and_eval_modes_differ_and_eval_is_the_mean_divisor_slope():
    result = ex.rrelu_train_eval(depth=2, width=8, epochs=3, draws=5, examples=6)
    assert result.eval_repeat_identical
    assert result.train_outputs.shape == (5, 6)
    assert np.all(result.output_spread >= 0) and result.output_spread.max() > 0
    assert np.ptp(result.train_losses) > 0


def test_rrelu_eval_output_equals_leaky_relu_with_slope_two_over_l_plus_u():
    rng = np.random.default_rng(5)
    layer = RReLU(3, 8, rng=rng).eval()
    z = rng.normal(size=(10, 4))
    np.testing.assert_allclose(layer.forward(z), LeakyReLU(2 / 11).fn(z), rtol=0, atol=1e-15)


# --------------------------------------------------------------------------------------------- reviving


def test_switch_activation_copies_the_weights_and_replaces_relu():
    setup = dead_setup("binary", rng=np.random.default_rng(0))
    leaky = ex.switch_activation(setup.model, "leaky_relu", alpha=0.1)
    assert isinstance(leaky[1], LeakyReLU) and leaky[1].alpha == 0.1
    for old, new in zip(setup.model, leaky, strict=True):
        for key in old.params:
            np.testing.assert_array_equal(old.params[key], new.params[key])
            assert not np.shares_memory(old.params[key], new.params[key])
    relu = ex.switch_activation(setup.model, "relu")
    assert isinstance(relu[1], ReLU)
    np.testing.assert_array_equal(relu.forward(setup.X), setup.model.forward(setup.X))
    with pytest.raises(TypeError, match="Sequential"):
        ex.switch_activation(setup.model[0], "relu")


def test_revival_relu_gets_exactly_zero_gradient_and_leaky_does_not():
    result = ex.revive_dead_network((0.01, 0.2), steps=30)
    assert result.labels == ["ReLU", "Leaky ReLU α=0.01", "Leaky ReLU α=0.2"]
    assert result.max_z < 0  # notebook 03's network: dead on every input
    assert np.all(result.hidden_grad[0] == 0) and np.all(result.hidden_bias_grad[0] == 0)
    assert np.all(result.alive[0] == 0)
    assert np.all(result.hidden_grad[1:, 0] > 0)
    assert result.hidden_grad[2, 0] > result.hidden_grad[1, 0]
    # ReLU: only the output bias learns, so the loss cannot go below the class-frequency loss
    assert result.loss[0].min() >= result.prior_loss - 1e-9
    assert result.loss[2, -1] < result.loss[2, 0] - 0.1
    assert result.loss.shape == (3, 16) and result.hidden_grad.shape == (3, 16)
    assert result.record_steps[result.at(30)] == 30
    with pytest.raises(ValueError, match="not recorded"):
        result.at(31)
    assert result.linear_loss < result.prior_loss


def test_revival_accepts_another_dead_network_builder():
    calls = []

    def builder(seed):
        calls.append(seed)
        return dead_setup("binary", n=60, hidden=4, rng=np.random.default_rng(seed))

    result = ex.revive_dead_network((0.1,), steps=5, every=1, dead_network=builder, seed=3)
    assert calls == [3] and result.loss.shape == (2, 6)
    with pytest.raises(ValueError, match="multiple"):
        ex.revive_dead_network(steps=5, every=2)


# --------------------------------------------------------------------------------------------- comparison


def test_train_variant_same_seed_same_start_for_every_variant():
    relu = ex.train_variant("relu", seed=1, steps=8, every=4)
    leaky = ex.train_variant("leaky_relu", {"alpha": 0.2}, seed=1, steps=8, every=4)
    np.testing.assert_array_equal(relu.record_steps, [0, 4, 8])
    # the same weights: the first layer's pre-activations (the only ones the activation does not feed) agree
    assert relu.dead[0, 0] == leaky.dead[0, 0]
    assert not np.array_equal(relu.dead[0], leaky.dead[0])
    assert relu.dead.shape == (3, 6) and relu.mean_activation.shape == (3, 6)
    assert np.all((relu.dead >= 0) & (relu.dead <= 1))
    assert relu.label == "ReLU" and leaky.label == "Leaky ReLU α=0.2"
    assert not relu.diverged and not leaky.diverged


def test_train_variant_records_the_last_step_when_it_is_off_the_schedule():
    run = ex.train_variant("prelu", seed=0, steps=6, every=4)
    np.testing.assert_array_equal(run.record_steps, [0, 4, 6])
    assert np.all(np.isfinite(run.loss))
    assert len(run.prelu_alphas) == 6 and run.prelu_alphas[0].shape == (16,)


def test_train_variant_divergence_leaves_nan_after_it():
    run = ex.train_variant("leaky_relu", {"alpha": 1.0}, seed=0, steps=40)
    assert run.diverged
    assert np.isfinite(run.loss[0]) and np.isnan(run.loss[-1])
    assert math.isnan(run.final_loss)


def test_relu_from_the_bad_start_stays_stuck_and_prelu_recovers():
    comparison = ex.variant_comparison({"ReLU": ("relu", {}), "PReLU": ("prelu", {"alpha": 0.25})},
                                       seeds=(0, 1), steps=80)
    assert comparison.loss.shape == (2, 2, 21)
    assert comparison.dead.shape == (2, 2, 21, 6)
    # ReLU: the deepest layers are dead for good and the loss stays at ln 2
    np.testing.assert_array_equal(comparison.final_dead[0, :, -1], 1.0)
    np.testing.assert_allclose(comparison.final_loss[0], math.log(2), atol=2e-3)
    assert np.all(comparison.final_loss[1] < 0.3)
    assert len(comparison.prelu_alphas) == 2
    median, low, high = comparison.spread(comparison.final_loss)
    np.testing.assert_allclose(low, comparison.final_loss.min(axis=1))
    np.testing.assert_allclose(high, comparison.final_loss.max(axis=1))
    assert "ReLU" in ex.variant_table(comparison)


def test_comparison_rejects_empty_settings():
    with pytest.raises(ValueError, match="variants is empty"):
        ex.variant_comparison({})
    with pytest.raises(ValueError, match="seeds is empty"):
        ex.variant_comparison(seeds=())


def test_explore_variant():
    result = ex.explore_variant("rrelu", 0.5, depth=2, seeds=(0,), steps=4)
    assert result.slope_band == pytest.approx((1 / 8, 1 / 3))
    np.testing.assert_allclose(result.derivative[result.z < 0], 2 / 11)
    assert result.baseline[0].label == "ReLU" and result.runs[0].label.startswith("RReLU")
    relu = ex.explore_variant("relu", depth=2, seeds=(0,), steps=4)
    assert relu.runs is relu.baseline
    with pytest.raises(ValueError, match="alpha"):
        ex.explore_variant("leaky_relu", 1.5)
    with pytest.raises(ValueError, match="activation"):
        ex.explore_variant("elu")


# --------------------------------------------------------------------------------------------- self-checks


def engine_dalpha(z, dout):
    layer = PReLU(num_units=z.shape[1])
    layer.forward(z)
    layer.backward(dout)
    return layer.grads["alpha"].copy()


@pytest.mark.parametrize("wrong", [
    lambda z, dout: np.sum(dout * z, axis=0),  # forgot that only the negative side depends on alpha
    lambda z, dout: np.mean(dout * np.minimum(z, 0), axis=0),  # mean instead of sum over the batch
    lambda z, dout: np.sum(dout * np.minimum(z, 0), axis=1),  # summed over units
    lambda z, dout: np.sum(dout * (z < 0), axis=0),  # the indicator without z
])
def test_check_prelu_dalpha_fails_wrong_answers(wrong):
    assert checks.check_prelu_dalpha(wrong).passed is False


def test_check_prelu_dalpha_passes_the_engine_and_waits_for_a_placeholder():
    assert checks.check_prelu_dalpha(engine_dalpha).passed is True
    assert checks.check_prelu_dalpha(None).passed is None
    assert checks.check_prelu_dalpha(lambda z, dout: None).passed is None


def test_check_slope_choice():
    assert checks.check_slope_choice(None).passed is None
    assert checks.check_slope_choice("0.3").passed is False
    assert checks.check_slope_choice(-0.1).passed is False
    small = checks.check_slope_choice(0.01)
    assert small.passed is False and "dead" in small.message
    assert checks.check_slope_choice(0.3).passed is True
    large = checks.check_slope_choice(0.9)
    assert large.passed is False and "diverged" in large.message


# --------------------------------------------------------------------------------------------- plots


def test_every_plot_returns_a_figure_and_rejects_other_results():
    figures = [
        plots.leaky_derivative_plot(ex.leaky_derivative_check(0.01, rng=np.random.default_rng(0))),
        plots.prelu_slopes_plot(ex.prelu_training(depth=2, width=4, epochs=2)),
        plots.rrelu_slopes_plot(ex.rrelu_slopes(n=1000, rng=np.random.default_rng(0))),
        plots.rrelu_modes_plot(ex.rrelu_train_eval(depth=1, width=4, epochs=1, draws=3, examples=4)),
        plots.leaky_revival_plot(ex.revive_dead_network((0.1,), steps=4)),
        plots.variant_comparison_plot(ex.variant_comparison({"ReLU": ("relu", {})}, seeds=(0,), steps=4)),
        plots.leaky_explorer_plot(ex.explore_variant("prelu", 0.25, depth=2, seeds=(0,), steps=4)),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    for plot in (plots.leaky_derivative_plot, plots.variant_comparison_plot, plots.leaky_explorer_plot,
                 plots.leaky_revival_plot):
        with pytest.raises(TypeError, match="expected"):
            plot(object())
