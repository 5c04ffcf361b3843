"""Notebook 05 (ELU): the shared experiments, the self-checks, the figures and the widget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from vanishing import checks
from vanishing.activations import ELU, SELU
from vanishing.experiments import elu as ex
from vanishing.plots import elu as plots

# --- bias shift -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shift():
    return {name: ex.bias_shift_layers(name, depth=12, n=256, rng=np.random.default_rng(0))
            for name in ex.BIAS_SHIFT_ACTIVATIONS}


def test_relu_units_never_have_a_negative_mean(shift):
    relu = shift["relu"]
    assert np.all(relu.negative_units == 0) and np.all(relu.mean > 0)
    assert np.all(relu.mean_over_std > 0.4)


def test_elu_and_selu_sit_closer_to_zero_than_relu(shift):
    relu, elu, selu = shift["relu"], shift["elu"], shift["selu"]
    assert np.all(elu.mean_over_std < relu.mean_over_std)
    assert np.all(np.abs(selu.mean_over_std) < 0.1)
    assert np.all(np.abs(selu.std - 1) < 0.15)  # self-normalising with LeCun init
    assert elu.negative_units.mean() > 0.1 and selu.negative_units.mean() > 0.3


def test_bias_shift_same_draws_for_relu_and_leaky(shift):
    # Leaky ReLU with slope 0.01 starts from the same weights: its first layer is ReLU's plus 1 % of the negative side
    assert shift["leaky_relu"].mean[0] == pytest.approx(shift["relu"].mean[0], rel=0.03)
    assert shift["selu"].init == "lecun" and shift["elu"].init == "he"


def test_bias_shift_is_deterministic_and_validates():
    a = ex.bias_shift_layers("elu", depth=3, width=8, n=16, rng=np.random.default_rng(5))
    b = ex.bias_shift_layers("elu", depth=3, width=8, n=16, rng=np.random.default_rng(5))
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)
    with pytest.raises(ValueError, match="activation='swish'"):
        ex.bias_shift_layers("swish", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="init='glorot'"):
        ex.bias_shift_layers("relu", init="glorot", rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        ex.bias_shift_layers("relu", rng=0)
    with pytest.raises(ValueError, match="depth=0"):
        ex.bias_shift_layers("relu", depth=0, rng=np.random.default_rng(0))


# --- the zig-zag toy ------------------------------------------------------------------------------------------------


def test_zigzag_first_step_is_the_engine_sgd_step():
    X = np.array([[1.0, 2.0], [0.5, 0.25]])
    run = ex.zigzag_descent(X, lr=0.1, steps=1, mode="full_batch", rng=np.random.default_rng(0))
    w_star = np.array([1.0, -1.0])
    grad = X.T @ (X @ np.zeros(2) - X @ w_star) / 2
    assert np.allclose(run.path[1], -0.1 * grad, rtol=0, atol=1e-15)
    assert run.loss[0] == pytest.approx(0.5 * np.mean((X @ w_star) ** 2))


def test_positive_inputs_give_only_same_sign_updates():
    rng = np.random.default_rng(1)
    X = ex.zigzag_inputs("relu", 64, rng=rng)
    assert X.min() >= 0
    run = ex.zigzag_descent(X, lr=0.3, steps=200, rng=rng)
    assert run.same_sign == 1.0 and run.opposite_sign == 0.0
    centred = ex.zigzag_descent(X - X.mean(axis=0), lr=0.3, steps=200, rng=np.random.default_rng(1))
    assert centred.opposite_sign > 0.2


def test_steps_to_tol_is_the_first_step_inside_the_ball():
    X = ex.zigzag_inputs("elu", 32, rng=np.random.default_rng(2))
    run = ex.zigzag_descent(X, lr=0.5, steps=300, tol=1e-3, rng=np.random.default_rng(3))
    k = run.steps_to_tol
    distance = np.linalg.norm(run.path - run.w_star, axis=1)
    assert k > 0 and distance[k] < 1e-3 and np.all(distance[:k] >= 1e-3)
    assert len(run.path) == 301  # without stop_at_tol the run goes on


def test_full_batch_diverges_above_two_over_lambda_max():
    X = ex.zigzag_inputs("relu", 64, rng=np.random.default_rng(4))
    lam = np.linalg.eigvalsh(X.T @ X / 64)[-1]
    stable = ex.zigzag_descent(X, lr=1.9 / lam, steps=2000, mode="full_batch", rng=np.random.default_rng(0))
    unstable = ex.zigzag_descent(X, lr=2.1 / lam, steps=2000, mode="full_batch", rng=np.random.default_rng(0))
    assert not stable.diverged and stable.steps_to_tol > 0
    assert unstable.diverged and np.all(np.isfinite(unstable.loss[:-1]))


@pytest.mark.parametrize("mode", ex.ZIGZAG_MODES)
def test_fastest_matches_a_search_without_pruning(mode):
    X = ex.zigzag_inputs("relu", 32, rng=np.random.default_rng(6))
    factors = (0.1, 0.3, 0.6, 1.0, 1.5, 2.5)
    best = ex.zigzag_fastest(X, lr_factors=factors, mode=mode, rng=np.random.default_rng(7))
    seed = int(np.random.default_rng(7).integers(2**32))
    scale = np.mean(np.sum(X * X, axis=1))
    steps = []
    for c in factors:
        run = ex.zigzag_descent(X, lr=c / scale, mode=mode, rng=np.random.default_rng(seed))
        steps.append(run.steps_to_tol if run.steps_to_tol > 0 else 10**9)
    assert best.steps_to_tol == min(steps)
    assert best.lr == pytest.approx(factors[int(np.argmin(steps))] / scale)


def _median_runs(activation, centre, mode, draws=7):
    """The notebook's toy: for draw k, z from default_rng(k), the fastest run on the grid."""
    runs = []
    for k in range(draws):
        rng = np.random.default_rng(k)
        runs.append(ex.zigzag_fastest(ex.zigzag_inputs(activation, 64, centre=centre, rng=rng), mode=mode, rng=rng))
    return runs


@pytest.mark.parametrize("mode", ex.ZIGZAG_MODES)
def test_zigzag_what_the_notebook_states(mode):
    relu, elu, centred = (_median_runs(a, c, mode) for a, c in (("relu", False), ("elu", False), ("relu", True)))
    steps = {name: np.median([r.steps_to_tol for r in runs]) for name, runs in
             (("relu", relu), ("elu", elu), ("centred", centred))}
    assert all(r.steps_to_tol > 0 for runs in (relu, elu, centred) for r in runs)
    assert steps["relu"] > steps["centred"] and steps["relu"] > steps["elu"]
    if mode == "per_example":
        assert all(r.same_sign == 1.0 for r in relu)
        assert all(r.same_sign < 0.9 for r in centred)
    # with an odd number of draws the median is one of the runs: the figure shows that one
    median_run = sorted(relu, key=lambda r: r.steps_to_tol)[3]
    assert median_run.steps_to_tol == steps["relu"]


def test_condition_number_grows_with_width_for_uncentred_inputs():
    mu, var = 1 / math.sqrt(2 * math.pi), 0.5 - 1 / (2 * math.pi)
    for d in (2, 8, 32, 128):
        X = ex.zigzag_inputs("relu", 512, width=d, rng=np.random.default_rng(0))
        run = ex.zigzag_descent(X, lr=1e-3, steps=1, rng=np.random.default_rng(0), w_star=np.ones(d),
                                start=np.zeros(d))
        # iid inputs with mean mu and variance var: the largest eigenvalue is about var + d mu^2 (along the mean),
        # the smallest about var (1 - sqrt(d / n))^2 (the sample's own spread, Marchenko-Pastur)
        assert run.condition == pytest.approx((var + d * mu**2) / (var * (1 - math.sqrt(d / 512)) ** 2), rel=0.25)


def test_zigzag_inputs_validate():
    with pytest.raises(ValueError, match="activation='swish'"):
        ex.zigzag_inputs("swish", rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        ex.zigzag_inputs("relu", rng=1)
    X = ex.zigzag_inputs("elu", 100, alpha=2.0, centre=True, width=3, rng=np.random.default_rng(0))
    assert X.shape == (100, 3) and np.allclose(X.mean(axis=0), 0, atol=1e-12)
    with pytest.raises(ValueError, match="w_star"):
        ex.zigzag_descent(X, lr=0.1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="lr_factors is empty"):
        ex.zigzag_fastest(X, lr_factors=(), rng=np.random.default_rng(0))


# --- sign patterns in a real layer ----------------------------------------------------------------------------------


def test_sign_patterns_relu_per_unit_not_per_layer():
    p = ex.gradient_sign_patterns("relu", rng=np.random.default_rng(0))
    assert p['input_negative'] == 0.0
    assert p['unit_one_signed_per_example'] == 1.0  # each unit's column has one sign in every example
    assert p['layer_one_signed_per_example'] < 0.1  # but not the whole layer
    assert p['units_both_signs_per_example'] > 0.9
    assert p['unit_one_signed_batch'] < 0.8  # a mini-batch sums examples with different deltas
    assert p['batch_matches_examples'] < 1e-12


def test_sign_patterns_elu_inputs_have_both_signs():
    p = ex.gradient_sign_patterns("elu", rng=np.random.default_rng(0))
    assert p['input_negative'] > 0.3
    assert p['unit_one_signed_per_example'] < 0.05


def test_explorer_state_reference():
    state = ex.elu_explorer_state("elu", depth=3, rng=np.random.default_rng(1))
    assert state.reference is not None and state.reference.activation == "relu"
    assert ex.elu_explorer_state("relu", depth=3, rng=np.random.default_rng(1)).reference is None
    with pytest.raises(TypeError, match="rng=1"):
        ex.elu_explorer_state("elu", rng=1)


def test_explorer_state_parts_draw_from_copies_of_rng():
    rng = np.random.default_rng(7)
    state = ex.elu_explorer_state("selu", depth=3, width=8, n=16, rng=rng)
    alone = ex.bias_shift_layers("relu", depth=3, width=8, n=16, init="he", rng=np.random.default_rng(7))
    np.testing.assert_array_equal(state.reference.mean, alone.mean)  # drawn from a copy of rng: as if alone
    assert rng.random() == np.random.default_rng(7).random()  # rng itself was not advanced


# --- self-checks ----------------------------------------------------------------------------------------------------


def test_zero_mean_alpha_is_selu_alpha_and_zeroes_the_quadrature_mean():
    assert checks.ZERO_MEAN_ALPHA == pytest.approx(SELU.alpha, rel=1e-12)
    u = np.linspace(-12, 12, 40_001)
    w = np.exp(-u**2 / 2) / math.sqrt(2 * math.pi) * (u[1] - u[0])
    w[[0, -1]] /= 2
    assert abs(np.sum(w * ELU(checks.ZERO_MEAN_ALPHA).fn(u))) < 1e-7


def test_check_zero_mean_alpha():
    assert checks.check_zero_mean_alpha(None).passed is None
    assert checks.check_zero_mean_alpha(1.6733).passed is True
    assert checks.check_zero_mean_alpha(np.float64(1.67326)).passed is True
    default = checks.check_zero_mean_alpha(1.0)
    assert default.passed is False and "larger" in default.message and "usual choice" in default.message
    mean_not_alpha = checks.check_zero_mean_alpha(0.1605)
    assert mean_not_alpha.passed is False and "not an α" in mean_not_alpha.message
    close = checks.check_zero_mean_alpha(1.69)
    assert close.passed is False and "smaller" in close.message and "within 2 %" in close.message
    assert checks.check_zero_mean_alpha(-1.0).passed is False
    assert checks.check_zero_mean_alpha("1.67").passed is False
    assert checks.check_zero_mean_alpha(float("nan")).passed is False


def _hidden_means(model, X):
    from vanishing.activations import Activation

    means, a = [], X
    for layer in model:
        a = layer.forward(a)
        if isinstance(layer, Activation):
            means.append(a.mean())
    return np.array(means)


def test_check_hidden_means():
    assert checks.check_hidden_means(None).passed is None
    assert checks.check_hidden_means(_hidden_means).passed is True

    def per_unit(model, X):
        from vanishing.activations import Activation

        out, a = [], X
        for layer in model:
            a = layer.forward(a)
            if isinstance(layer, Activation):
                out.append(a.mean(axis=0))
        return np.array(out)

    result = checks.check_hidden_means(per_unit)
    assert result.passed is False and "one mean per unit" in result.message
    shifted = checks.check_hidden_means(lambda model, X: _hidden_means(model, X) + 1e-3)
    assert shifted.passed is False and "relu" in shifted.message
    crashed = checks.check_hidden_means(lambda model, X: 1 / 0)
    assert crashed.passed is False and "ZeroDivisionError" in crashed.message


def test_setup_matches_the_layer_statistics():
    model, X = ex.bias_shift_setup("elu", depth=4, width=8, n=16, rng=np.random.default_rng(3))
    stats = ex.bias_shift_layers("elu", depth=4, width=8, n=16, rng=np.random.default_rng(3))
    assert np.allclose(_hidden_means(model, X), stats.mean, rtol=1e-12, atol=0)


# --- figures and widget ---------------------------------------------------------------------------------------------


def test_plots_return_figures():
    runs = {label: ex.zigzag_fastest(ex.zigzag_inputs(a, 32, rng=np.random.default_rng(0)),
                                     rng=np.random.default_rng(1)) for label, a in (("ReLU", "relu"), ("ELU", "elu"))}
    figures = [
        plots.elu_curves(),
        plots.saturation_sides_plot(("sigmoid", "relu", "leaky_relu", "elu")),
        plots.bias_shift_plot({name: ex.bias_shift_layers(name, depth=4, n=32, rng=np.random.default_rng(0))
                               for name in ("relu", "selu")}),
        plots.zigzag_plot(runs, note="one draw"),
        plots.training_plot({"relu": np.array([[0.7, 0.5], [0.6, 0.4]]), "elu": np.array([[0.7, 0.3], [0.6, 0.2]])},
                            {"relu": np.array([0.9, 0.8]), "elu": np.array([1.0, 0.9])}, title="test"),
        plots.elu_explorer_plot(ex.elu_explorer_state("elu", depth=4, rng=np.random.default_rng(0))),
    ]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.axes
    with pytest.raises(TypeError, match="ZigZagRun"):
        plots.zigzag_plot({"not": "a run"})
    with pytest.raises(ValueError, match="same activations"):
        plots.training_plot({"relu": np.zeros((1, 2))}, {"elu": np.zeros(1)})
    with pytest.raises(ValueError, match="empty"):
        plots.saturation_sides_plot(())


def test_widget_is_registered_and_controls_reach_the_experiment():
    from vanishing.widgets import WIDGETS

    app = WIDGETS["elu_explorer"](activation="relu", depth=5, seed=2)
    assert app.error is None
    assert app.result.layers.activation == "relu" and app.result.layers.depth == 5
    assert app.result.zigzag.same_sign == 1.0  # ReLU outputs feed the toy: every update is same-signed
    app.set(activation="elu", alpha=2.0, centre=True)
    assert app.result.layers.alpha == 2.0 and app.result.centre
    assert abs(app.result.zigzag.X.mean()) < 1e-12


def test_elu_engine_derivative_is_alpha_exp_z():
    z = np.array([-3.0, -0.1, 0.7])
    assert np.allclose(ELU(1.5).derivative(z), [1.5 * np.exp(-3.0), 1.5 * np.exp(-0.1), 1.0])
