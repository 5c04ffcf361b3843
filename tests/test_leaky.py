"""Notebook 04 (leaky variants): the shared training runs, the self-checks and the figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

import vanishing as vn
import vanishing.checks as checks
from vanishing.activations import LeakyReLU, PReLU
from vanishing.experiments import leaky as ex
from vanishing.plots import leaky as plots

LONG = {"steps": 500, "every": 10, "batch_size": 100, "until_flat": True}
"""Section 5's run: SGD until the loss curve is flat (fitted or stalled), batches of 100."""


def seeded(seed):
    """The generators of the notebook's seed ``seed`` (section 5): weights from seed, batch order from seed + 10000."""
    return {"rng": np.random.default_rng(seed), "order_rng": np.random.default_rng(seed + 10_000)}

# --------------------------------------------------------------------------------------------- data and measures


def test_leaky_data_draws_from_rng_and_is_standardised():
    X, y = ex.leaky_data(rng=np.random.default_rng(0))
    assert X.shape == (200, 2) and y.shape == (200, 1)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-12)
    again, _ = ex.leaky_data(rng=np.random.default_rng(0))
    np.testing.assert_array_equal(X, again)
    with pytest.raises(TypeError, match="rng"):
        ex.leaky_data(rng=0)


def test_whole_data_measures_count_units_negative_on_every_row_as_dead():
    X, y = ex.leaky_data(rng=np.random.default_rng(0), n=40)
    model = vn.mlp([2, 5, 5, 1], "leaky_relu", rng=np.random.default_rng(1), activation_options={"alpha": 0.2})
    model[0].params["b"][:2] = -100.0  # units 0 and 1 of the first layer: z < 0 everywhere
    model[0].params["b"][2:] = 100.0
    loss, dead, mean = ex.whole_data_measures(model, X, y)
    assert dead.shape == mean.shape == (2,)
    assert dead[0] == pytest.approx(0.4)
    z = X @ model[0].params["W"] + model[0].params["b"]
    assert mean[0] == pytest.approx(LeakyReLU(0.2).fn(z).mean())
    assert loss == pytest.approx(vn.train.evaluate(model, "bce_logits", X, y).loss)


def test_stop_when_flat_stops_a_fitted_and_a_stalled_run_and_names_why():
    fitted = ex.train_variant("prelu", {"alpha": 0.25}, **seeded(0), **LONG)
    assert fitted.stopped == "fitted" and fitted.final_loss < 0.05
    assert np.all(fitted.loss[:-1] >= 0.05)  # it stopped at the first record below the threshold
    stalled = ex.train_variant("relu", **seeded(0), **LONG)
    assert stalled.stopped == "stalled" and stalled.record_steps[-1] == 100
    assert abs(stalled.loss[-1] - stalled.loss[0]) < 1e-4
    with pytest.raises(TypeError, match="Probe"):
        ex.StopWhenFlat(object())
    with pytest.raises(ValueError, match="window"):
        ex.StopWhenFlat(vn.diagnostics.Probe(lambda m: 0.0), window=0)


def test_stop_when_flat_reads_a_plain_number_from_the_probe():
    X, y = ex.leaky_data(rng=np.random.default_rng(0))
    model = vn.mlp([2, 8, 1], "relu", rng=np.random.default_rng(0))
    probe = vn.diagnostics.Probe(lambda m: vn.train.evaluate(m, "bce_logits", X, y).loss, every=5)
    flat = ex.StopWhenFlat(probe, fitted=0.6)
    history = vn.fit(model, "bce_logits", vn.optim.SGD(model, lr=0.1), X, y, batch_size=50,
                     rng=np.random.default_rng(0), steps=400, callbacks=[probe, flat])
    assert flat.reason == "fitted" and history.steps == probe.steps[-1] < 400 and probe.values[-1] < 0.6


# --------------------------------------------------------------------------------------------- train_variant


def _notebook_run(activation, options, seed):
    """Section 5's cell, as the notebook writes it: train_variant must give the same run."""
    X, y = ex.leaky_data(rng=np.random.default_rng(0))
    model = vn.mlp([2] + [16] * 6 + [1], activation, rng=np.random.default_rng(seed), init="he_uniform", bias=-1.0,
                   activation_options=options)
    probe = vn.diagnostics.Probe(lambda m: ex.whole_data_measures(m, X, y), every=10)
    flat = ex.StopWhenFlat(probe, fitted=0.05, window=100, tol=1e-4)
    vn.fit(model, "bce_logits", vn.optim.SGD(model, lr=0.1, momentum=0.9), X, y, batch_size=100,
           rng=np.random.default_rng(seed + 10_000), steps=500, callbacks=[probe, flat])
    loss, dead, _ = map(np.array, zip(*probe.values, strict=True))
    return np.array(probe.steps), loss, dead, flat.reason


@pytest.mark.parametrize(("activation", "options"), [("leaky_relu", {"alpha": 0.25}), ("rrelu", {})])
def test_train_variant_is_the_notebooks_section_5_run(activation, options):
    steps, loss, dead, reason = _notebook_run(activation, options, seed=1)
    run = ex.train_variant(activation, options, **seeded(1), **LONG)
    np.testing.assert_array_equal(run.record_steps, steps)
    np.testing.assert_array_equal(run.loss, loss)
    np.testing.assert_array_equal(run.dead, dead)
    assert run.stopped == reason == "fitted"


def test_train_variant_same_seed_same_start_for_every_variant():
    relu = ex.train_variant("relu", **seeded(1), steps=8, every=4)
    leaky = ex.train_variant("leaky_relu", {"alpha": 0.2}, **seeded(1), steps=8, every=4)
    np.testing.assert_array_equal(relu.record_steps, [0, 4, 8])
    # the same weights: the first layer's pre-activations (the only ones the activation does not feed) agree
    assert relu.dead[0, 0] == leaky.dead[0, 0]
    assert not np.array_equal(relu.dead[0], leaky.dead[0])
    assert relu.dead.shape == (3, 6) and relu.mean_activation.shape == (3, 6)
    assert relu.label == "ReLU" and leaky.label == "Leaky ReLU α=0.2"
    assert not relu.diverged and relu.stopped is None


def test_train_variant_records_the_last_step_when_it_is_off_the_schedule():
    run = ex.train_variant("prelu", **seeded(0), steps=6, every=4)
    np.testing.assert_array_equal(run.record_steps, [0, 4, 6])
    assert np.all(np.isfinite(run.loss))
    assert len(run.prelu_alphas) == 6 and run.prelu_alphas[0].shape == (16,)


def test_train_variant_divergence_leaves_nan_on_the_whole_schedule():
    run = ex.train_variant("leaky_relu", {"alpha": 1.0}, **seeded(0), steps=40)
    assert run.diverged
    assert run.loss.shape == (11,)  # the widget stacks runs: every run has the full schedule
    assert np.isfinite(run.loss[0]) and np.isnan(run.loss[-1])
    assert math.isnan(run.final_loss)


def test_train_variant_draws_the_weights_from_rng_and_the_batches_from_order_rng():
    def run(weights, order):
        return ex.train_variant("relu", rng=np.random.default_rng(weights), order_rng=np.random.default_rng(order),
                                steps=4, every=2, bias=0.0)

    first = run(2, 3)
    np.testing.assert_array_equal(run(2, 3).loss, first.loss)
    other_order, other_weights = run(2, 4), run(5, 3)
    assert other_order.loss[0] == first.loss[0] and other_order.loss[-1] != first.loss[-1]
    assert other_weights.loss[0] != first.loss[0]


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"activation": "elu"}, ValueError, ["activation", "'elu'"]),
    ({"activation": "relu", "steps": 0}, ValueError, ["steps", "0"]),
    ({"activation": "relu", "lr": -1.0}, ValueError, ["lr"]),
    ({"activation": "relu", "rng": 0}, TypeError, ["rng=0", "Generator"]),
    ({"activation": "relu", "order_rng": None}, TypeError, ["order_rng=None", "Generator"]),
    ({"activation": "leaky_relu", "options": {"alpha": "big"}}, TypeError, ["options['alpha']"]),
])
def test_train_variant_bad_input(kwargs, error, words):
    with pytest.raises(error) as raised:
        ex.train_variant(**{**seeded(0), **kwargs})
    assert all(word in str(raised.value) for word in words)


def test_explore_variant():
    result = ex.explore_variant("rrelu", 0.5, depth=2, starts=1, steps=4, rng=np.random.default_rng(0))
    assert result.slope_band == pytest.approx((1 / 8, 1 / 3))
    np.testing.assert_allclose(result.derivative[result.z < 0], 2 / 11)
    assert result.baseline[0].label == "ReLU" and result.runs[0].label.startswith("RReLU")
    relu = ex.explore_variant("relu", depth=2, starts=1, steps=4, rng=np.random.default_rng(0))
    assert relu.runs is relu.baseline
    with pytest.raises(ValueError, match="alpha"):
        ex.explore_variant("leaky_relu", -0.5, rng=np.random.default_rng(0))  # the slope cannot be negative
    with pytest.raises(ValueError, match="activation"):
        ex.explore_variant("elu", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="starts"):
        ex.explore_variant("relu", starts=0, rng=np.random.default_rng(0))


def test_explore_variant_trains_the_variant_and_relu_from_the_same_starts():
    result = ex.explore_variant("leaky_relu", 0.2, depth=3, starts=2, steps=4, rng=np.random.default_rng(1))
    starts = np.random.default_rng(1)
    for variant, relu in zip(result.runs, result.baseline, strict=True):
        weights, order = starts.spawn(2)
        alone = ex.train_variant("relu", rng=weights, order_rng=order, depth=3, steps=4)
        np.testing.assert_array_equal(relu.loss, alone.loss)
        assert variant.dead[0, 0] == relu.dead[0, 0]  # the same first-layer weights
    assert not np.array_equal(result.baseline[0].loss, result.baseline[1].loss)  # two different starts


def test_from_the_bad_start_relu_stalls_and_the_slopes_escape():
    relu = ex.train_variant("relu", **seeded(0), **LONG)
    np.testing.assert_array_equal(relu.dead[-1, 4:], 1.0)  # layers 5 and 6 dead on every input: nothing passes
    assert relu.final_loss == pytest.approx(math.log(2), abs=2e-3)
    for activation, options in (("leaky_relu", {"alpha": 0.25}), ("prelu", {"alpha": 0.25})):
        assert ex.train_variant(activation, options, **seeded(0), **LONG).stopped == "fitted"


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
    assert checks.check_slope_choice(0.4).passed is True
    small = checks.check_slope_choice(0.01)
    assert small.passed is False and "stalled" in small.message and "too small" in small.hint
    slow = checks.check_slope_choice(0.25)
    assert slow.passed is False and "too slowly" in slow.message
    large = checks.check_slope_choice(0.8)
    assert large.passed is False and "diverged" in large.message


def test_check_leaky_he_std():
    assert checks.check_leaky_he_std(None).passed is None
    assert checks.check_leaky_he_std(lambda alpha, fan_in: None).passed is None
    right = checks.check_leaky_he_std(lambda alpha, fan_in: math.sqrt(2 / ((1 + alpha**2) * fan_in)))
    assert right.passed is True and "second moment" in right.message
    wrong = {
        "ReLU's He scale": lambda alpha, fan_in: math.sqrt(2 / fan_in),
        "1 + α appears": lambda alpha, fan_in: math.sqrt(2 / ((1 + alpha) * fan_in)),
        "the variance": lambda alpha, fan_in: 2 / ((1 + alpha**2) * fan_in),
    }
    for words, fn in wrong.items():
        result = checks.check_leaky_he_std(fn)
        assert result.passed is False and words in result.hint, words
    crashed = checks.check_leaky_he_std(lambda alpha, fan_in: 1 / 0)
    assert crashed.passed is False and "ZeroDivisionError" in crashed.message


# --------------------------------------------------------------------------------------------- plots


def test_every_plot_returns_a_figure():
    z = np.linspace(-5, 3, 9)
    z = z[z != 0]
    leaky = LeakyReLU(0.01)
    rng = np.random.default_rng(0)
    run = {"steps": np.array([0, 10, 20]), "loss": np.array([0.7, 0.3, 0.04]), "dead": np.zeros((3, 6)),
           "stopped": "fitted"}
    figures = [
        plots.leaky_derivative_plot(z, leaky.derivative(z), alpha=0.01),
        plots.prelu_slopes_plot(np.arange(3), np.full((3, 4), 0.25), [np.full(4, 0.25)] * 2, alpha_start=0.25),
        plots.rrelu_slopes_plot(1 / rng.uniform(3, 8, 1000), lower=3, upper=8),
        plots.rrelu_modes_plot(rng.normal(size=(5, 4)), rng.normal(size=4), rng.uniform(0.1, 0.2, 5), 0.15),
        plots.leaky_revival_plot({"ReLU": {"steps": [0, 5], "loss": [0.7, 0.6], "signal": [0.0, 0.0],
                                           "alive": [0.0, 0.0]},
                                  "Leaky ReLU α=0.2": {"steps": [0, 5], "loss": [0.6, 0.3], "signal": [0.01, 0.02],
                                                       "alive": [0.0, 0.1]}}, prior_loss=0.67, linear_loss=0.2),
        plots.variant_comparison_plot({"ReLU": [dict(run, stopped="stalled")], "PReLU (α starts at 0.25)": [run]}),
        plots.leaky_explorer_plot(ex.explore_variant("prelu", 0.25, depth=2, starts=1, steps=4,
                                                     rng=np.random.default_rng(0))),
    ]
    assert all(isinstance(f, Figure) for f in figures)


def test_plots_reject_mismatched_arrays():
    with pytest.raises(ValueError, match="finite_difference"):
        plots.leaky_derivative_plot(np.zeros(3), np.zeros(4), alpha=0.1)
    with pytest.raises(ValueError, match="one row per step"):
        plots.prelu_slopes_plot(np.arange(3), np.zeros((2, 4)), [np.zeros(4)], alpha_start=0.25)
    with pytest.raises(ValueError, match="disagree"):
        plots.rrelu_modes_plot(np.zeros((3, 4)), np.zeros(5), np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="empty"):
        plots.variant_comparison_plot({})
    with pytest.raises(TypeError, match="expected"):
        plots.leaky_explorer_plot(object())
