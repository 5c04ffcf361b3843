"""Notebook 07 (optimizers): the experiments give the numbers the notebook relies on, with the engine's optimizers."""

import numpy as np
import pytest

import vanishing as vn
from vanishing.checks import check_adam_step, check_rosenbrock_settings
from vanishing.experiments import optimizers as O
from vanishing.layers import Parameters
from vanishing.optim import Adam

THREE = ("sgd", "momentum", "adam")


# --- surfaces -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(O.LOSS_SURFACES))
def test_surface_gradients_match_finite_differences(name):
    surface = O.LOSS_SURFACES[name]
    points = [(-1.3, 0.7), (0.4, -1.1), (1.7, 2.2), (2.0, 1.5)]  # away from the plateau's kink at x = 0
    h = 1e-6
    for x, y in points:
        gx, gy = surface.gradient(x, y)
        nx = (surface.value(x + h, y) - surface.value(x - h, y)) / (2 * h)
        ny = (surface.value(x, y + h) - surface.value(x, y - h)) / (2 * h)
        np.testing.assert_allclose([gx, gy], [nx, ny], rtol=1e-6, atol=1e-8)


def test_surface_minima_have_zero_gradient_and_the_stated_value():
    for surface in O.LOSS_SURFACES.values():
        if surface.minimum is None:
            continue
        assert surface.value(*surface.minimum) == surface.f_min
        assert surface.gradient(*surface.minimum) == (0.0, 0.0)
    assert O.LOSS_SURFACES["saddle"].gradient(0.0, 0.0) == (0.0, 0.0)


def test_sgd_on_the_quadratic_follows_the_closed_form():
    lr, steps = 0.036, 30
    run = O.run_trajectory("ill_conditioned", "sgd", lr=lr, steps=steps, start=(-2.8, 1.0))
    t = np.arange(steps + 1)
    np.testing.assert_allclose(run.path[:, 0], -2.8 * (1 - lr) ** t, rtol=1e-12)
    np.testing.assert_allclose(run.path[:, 1], (1 - lr * O.VALLEY_KAPPA) ** t, rtol=1e-10)
    np.testing.assert_allclose(run.values, O.LOSS_SURFACES["ill_conditioned"].value(run.path[:, 0], run.path[:, 1]))


def test_trajectory_uses_the_engine_step_for_step():
    """The path is what the engine's Adam gives when stepped by hand on the same gradients."""
    run = O.run_trajectory("rosenbrock", "adam", lr=0.05, steps=20)
    surface = O.LOSS_SURFACES["rosenbrock"]
    point = Parameters(np.array(surface.start))
    opt = Adam(point, lr=0.05)
    for t in range(1, 21):
        point.grads["w"][...] = surface.grad(point.params["w"])
        opt.step()
        np.testing.assert_array_equal(point.params["w"], run.path[t])


# --- the ill-conditioned valley and the Rosenbrock valley -----------------------------------------------------------

def test_valley_sgd_zigzags_momentum_and_adam_do_not():
    valley = O.compare_optimizers("ill_conditioned", THREE, lrs={"momentum": 0.0036})
    sgd, momentum, adam = (valley[m] for m in THREE)
    assert sgd.reversal_fraction(20) > 0.7
    assert momentum.reversal_fraction(20) == 0.0 and adam.reversal_fraction(20) == 0.0
    assert sgd.gap[-1] > 10 * momentum.gap[-1] and sgd.gap[-1] > 10 * adam.gap[-1]
    assert sgd.path_length > momentum.path_length > adam.path_length


def test_nesterov_diverges_at_sgds_learning_rate_where_momentum_converges():
    nesterov = O.run_trajectory("ill_conditioned", "nesterov", lr=0.036, momentum=0.9)
    momentum = O.run_trajectory("ill_conditioned", "momentum", lr=0.036, momentum=0.9)
    assert nesterov.left_at > 0
    assert momentum.left_at == -1 and momentum.gap[-1] < 1e-4


def test_rosenbrock_defaults_none_reaches_the_minimum_momentum_gets_closest():
    rosenbrock = O.compare_optimizers("rosenbrock", O.OPTIMIZER_METHODS)
    distance = {m: r.distance_to_minimum() for m, r in rosenbrock.runs.items()}
    assert all(d > O.ROSENBROCK_TOLERANCE for d in distance.values())
    assert distance["sgd"] > 1 and distance["rmsprop"] > 1
    assert min(distance, key=distance.get) == "momentum"


def test_rosenbrock_exercise_has_solutions_and_plain_sgd_is_not_one():
    for method, lr, extra in (("momentum", 0.002, {"momentum": 0.95}), ("adam", 0.3, {})):
        assert O.rosenbrock_attempt(method, lr, **extra).distance_to_minimum() < O.ROSENBROCK_TOLERANCE
    for lr in (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3):  # the check's hint says plain SGD cannot
        run = O.rosenbrock_attempt("sgd", lr)
        assert run.left_at > 0 or run.distance_to_minimum() > O.ROSENBROCK_TOLERANCE


# --- the saddle and the plateau -------------------------------------------------------------------------------------

def test_on_the_ridge_every_optimizer_stays_on_it_and_goes_to_the_saddle():
    for method in O.OPTIMIZER_METHODS:
        run = O.run_trajectory("saddle", method, steps=150, start=(1.5, 0.0))
        assert np.all(run.path[:, 1] == 0.0), method
        # RMSProp without momentum keeps hovering within about lr (0.05) of the saddle point
        assert run.left_at == -1 and abs(run.final[0]) < 0.05, method


def test_off_the_ridge_sgd_grows_the_offset_by_one_plus_two_lr_and_adam_escapes_first():
    run = O.run_trajectory("saddle", "sgd", lr=0.1, steps=50, start=(1.5, 1e-8))
    np.testing.assert_allclose(run.path[:, 1], 1e-8 * 1.2 ** np.arange(51), rtol=1e-12)
    off = O.compare_optimizers("saddle", THREE, start=(1.5, 1e-8), steps=150)
    escape = {m: off[m].first_step_below(-1.0) for m in THREE}
    assert 0 < escape["adam"] < escape["momentum"] < escape["sgd"]
    noisy = O.compare_optimizers("saddle", THREE, steps=150, noise=0.01, seed=1)
    assert all(0 < noisy[m].first_step_below(-1.0) < 60 for m in THREE)


def test_plateau_sgd_moves_lr_times_c_per_step_adam_about_lr():
    progress = O.plateau_progress(noises=(0.0, 1e-2), methods=("sgd", "adam"), seeds=10)
    assert progress.progress["sgd"][0] == pytest.approx(150 * 0.1 * O.PLATEAU_SLOPE, rel=1e-9)
    assert progress.progress["adam"][0] > 2.0  # from x = 2 into the flat region
    # noise ten times the slope: Adam's steps stay large but their direction along x is mostly noise
    assert progress.progress["adam"][1] < 0.5 * progress.progress["adam"][0]
    assert progress.spread["adam"][1] > progress.progress["adam"][1]


# --- step sizes, bias correction, the Adam step ---------------------------------------------------------------------

def test_step_sizes_sgd_proportional_adam_constant_until_eps():
    result = O.step_size_by_gradient_scale(steps=50)
    g = result.scales
    np.testing.assert_allclose(result.last["sgd"], g, rtol=1e-12)
    np.testing.assert_allclose(result.last["momentum"], g * (1 - 0.9 ** 50) / (1 - 0.9), rtol=1e-9)
    large = g >= 1e-6
    assert np.all(np.abs(result.last["adam"][large] - 1) < 0.011)
    tiny = g <= 1e-10
    np.testing.assert_allclose(result.last["adam"][tiny], g[tiny] / (g[tiny] + 1e-8), rtol=1e-6)


def test_bias_correction_factor_matches_the_engine():
    result = O.bias_correction_steps(((0.9, 0.999), (0.9, 0.9)), steps=300)
    for pair in result.corrected:
        np.testing.assert_allclose(result.corrected[pair], 1.0, rtol=1e-7)
        # the factor ignores eps; eps / sqrt(v) is at most about 3e-7 here
        np.testing.assert_allclose(result.uncorrected[pair], result.factor[pair], rtol=1e-6)
    usual = result.uncorrected[(0.9, 0.999)]
    # the engine's docstring: too large with the usual betas (3.2 lr at t = 1), too small when beta2 = beta1
    assert usual[0] == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-6) and usual.max() > 6.5
    assert result.uncorrected[(0.9, 0.9)][0] == pytest.approx(0.1 / np.sqrt(0.1), rel=1e-6)


def test_adam_reference_step_is_the_formula_and_leaves_inputs_alone():
    rng = np.random.default_rng(0)
    w, g, m, v = rng.normal(size=(4, 5))
    v = np.abs(v)
    before = [a.copy() for a in (w, g, m, v)]
    new_w, new_m, new_v = O.adam_reference_step(w, g, m, v, 3, 0.01, 0.9, 0.99, 1e-8)
    m2 = 0.9 * m + 0.1 * g
    v2 = 0.99 * v + 0.01 * g * g
    expected = w - 0.01 * (m2 / (1 - 0.9 ** 3)) / (np.sqrt(v2 / (1 - 0.99 ** 3)) + 1e-8)
    np.testing.assert_allclose(new_w, expected, rtol=1e-12)
    np.testing.assert_allclose(new_m, m2, rtol=1e-12)
    np.testing.assert_allclose(new_v, v2, rtol=1e-12)
    for a, b in zip((w, g, m, v), before, strict=True):
        np.testing.assert_array_equal(a, b)


# --- weight decay ---------------------------------------------------------------------------------------------------

def test_l2_and_decoupled_decay_agree_for_sgd_and_not_for_adam():
    result = O.decay_by_gradient_scale(scales=(0.0, 1e-3, 1e-1, 1.0, 10.0), weight_decay=0.1, lr=0.01, steps=400)
    np.testing.assert_allclose(result.final["SGD + L2"], result.final["SGD, decoupled"], rtol=0, atol=1e-12)
    expected = (1 - 0.01 * 0.1) ** 400
    assert result.final["SGD + L2"][0] == pytest.approx(expected, rel=1e-12)  # no data gradient: pure decay
    adamw = result.final["AdamW (decoupled)"]
    assert np.ptp(adamw) < 0.02 and abs(adamw[0] - expected) < 1e-9
    adam_l2 = result.final["Adam + L2"]
    assert abs(adam_l2[0]) < 0.01 and abs(adam_l2[1]) < 0.01  # dragged to 0
    assert adam_l2[-1] > 0.9  # a large data gradient: hardly any decay
    assert np.all(np.diff(adam_l2[1:]) > 0)


# --- deep nets ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def layer_updates():
    X, y = vn.data.two_moons(200, noise=0.1, rng=np.random.default_rng(0))
    return O.update_ratios_by_layer(X, y, depth=14, width=32, epochs=6, batch_size=50)


def test_sgd_update_ratio_spans_decades_adam_is_flat_above_eps(layer_updates):
    sgd, adam, adam_small_eps = (layer_updates.ratio[label] for label in layer_updates.labels)
    assert sgd[-1] / sgd[0] > 1e7  # the first layer barely moves under SGD
    assert adam_small_eps.max() / adam_small_eps.min() < 10  # with eps below every gradient: flat
    # where the gradient entries are below eps = 1e-8, Adam's ratio falls with them
    low = layer_updates.grad_rms[layer_updates.labels[1]] < 1e-9
    assert low[0] and np.all(adam[low] < 0.1 * adam_small_eps[low])
    assert np.all(adam[~low] > 1e-3)


def test_update_ratios_start_from_the_same_network(layer_updates):
    first_losses = {label: loss[0] for label, loss in layer_updates.loss.items()}
    assert len(set(first_losses.values())) == 1
    assert layer_updates.steps == 24


# --- a dead ReLU unit -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dead():
    return O.dead_unit_updates(steps=150, warmup=10)


def test_dead_unit_gets_exactly_zero_gradient_while_dead_and_only_adam_with_l2_revives_it(dead):
    assert all(run.gradients_zero for run in dead.values())
    revived = {label: run.revived_at for label, run in dead.items() if run.revived_at > 0}
    assert list(revived) == ["Adam + L2 decay 0.01"] and 50 < revived["Adam + L2 decay 0.01"] < 150


def test_only_optimizer_state_or_decay_moves_a_dead_unit(dead):
    unchanged = {label for label, run in dead.items() if run.unchanged}
    assert unchanged == {"SGD", "SGD + momentum 0.9, new optimizer", "Adam"}
    carried = dead["SGD + momentum 0.9, velocity from before"]
    # the old velocity dies out: the last steps are tiny next to the first
    assert np.linalg.norm(carried.params[-1] - carried.params[-2]) < 1e-6 * np.linalg.norm(
        carried.params[1] - carried.params[0])


def test_decay_shrinks_proportionally_except_adam_with_l2(dead):
    sgd_l2 = dead["SGD + L2 decay 0.01"]
    np.testing.assert_allclose(sgd_l2.ratio, (1 - 0.1 * 0.01) ** 150, rtol=1e-10)
    adamw = dead["AdamW, decoupled decay 0.01"]
    np.testing.assert_allclose(adamw.ratio, (1 - 0.03 * 0.01) ** 150, rtol=1e-10)
    adam_l2 = dead["Adam + L2 decay 0.01"]
    # m / sqrt(v) of a pure decay gradient is +-1: the first step is lr, towards 0, for every parameter
    np.testing.assert_allclose(adam_l2.first_step, -np.sign(adam_l2.params[0]), rtol=1e-4)  # eps: 1 - 3e-5
    # not in proportion: the weights reach 0 long before the bias does
    w, b = np.abs(adam_l2.params[:, :2]).max(axis=1), np.abs(adam_l2.params[:, 2])
    assert w[0] > 0.2 * b[0] and np.any((w < 0.05 * b) & (b > 0.5))


def test_dead_unit_setup_is_alive_until_notebook_03s_kill_units_lowers_its_bias():
    from vanishing.scenarios import kill_units

    setup = O.dead_unit_setup(0)
    W, b = setup.model[0].params["W"], setup.model[0].params["b"]
    assert np.any(setup.X @ W[:, setup.unit] + b[setup.unit] > 0)
    kill_units(setup.model, setup.X, [setup.unit], margin=O.DEAD_UNIT_MARGIN)
    np.testing.assert_allclose(np.max(setup.X @ W[:, setup.unit] + b[setup.unit]), -O.DEAD_UNIT_MARGIN)


# --- self-checks ----------------------------------------------------------------------------------------------------

def _adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), m, v


def test_check_adam_step_passes_the_formula_and_names_common_slips():
    assert check_adam_step(_adam_step).passed is True
    assert check_adam_step(None).passed is None
    assert check_adam_step(lambda *args: None).passed is None

    def no_correction(w, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return w - lr * m / (np.sqrt(v) + eps), m, v

    result = check_adam_step(no_correction)
    assert result.passed is False and "t=1" in result.message and "without bias correction" in result.message

    def eps_inside(w, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return w - lr * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t) + eps), m, v

    assert "inside the square root" in check_adam_step(eps_inside).message

    def fixed_beta1(w, g, m, v, t, lr, beta1, beta2, eps):
        return _adam_step(w, g, m, v, t, lr, 0.9, beta2, eps)

    result = check_adam_step(fixed_beta1)
    assert result.passed is False and "run 2" in result.message

    def crashes(*args):
        raise ZeroDivisionError("oops")

    assert check_adam_step(crashes).passed is False


def test_check_rosenbrock_settings():
    assert check_rosenbrock_settings(None).passed is None
    assert check_rosenbrock_settings({"method": "momentum", "lr": 0.002, "momentum": 0.95}).passed is True
    slow = check_rosenbrock_settings({"method": "sgd", "lr": 0.001})
    assert slow.passed is False and "momentum" in slow.hint
    assert "diverged" in check_rosenbrock_settings({"method": "momentum", "lr": 0.01}).message
    assert check_rosenbrock_settings({"method": "adamw", "lr": 0.1}).passed is False
    assert check_rosenbrock_settings({"method": "adam", "lr": -1}).passed is False
    assert check_rosenbrock_settings({"method": "adam", "lr": 0.1, "speed": 2}).passed is False
    assert check_rosenbrock_settings(["adam"]).passed is False


# --- bad input ------------------------------------------------------------------------------------------------------

def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="surface='bowl' is not known; allowed: 'ill_conditioned'"):
        O.run_trajectory("bowl", "sgd")
    with pytest.raises(ValueError, match="method='lbfgs' is not known"):
        O.run_trajectory("saddle", "lbfgs")
    with pytest.raises(ValueError, match="start"):
        O.run_trajectory("saddle", "sgd", start=(1.0, 2.0, 3.0))
    with pytest.raises(TypeError, match="rng"):
        O.run_trajectory("saddle", "sgd", noise=0.1)
    with pytest.raises(ValueError, match="methods is empty"):
        O.compare_optimizers("saddle", ())
    with pytest.raises(ValueError, match="lrs key"):
        O.compare_optimizers("saddle", ("sgd",), lrs={"adam": 0.1})
    with pytest.raises(ValueError, match="seed"):
        O.compare_optimizers("saddle", seed=-1)
    with pytest.raises(TypeError, match="unknown setting"):
        O.rosenbrock_attempt("adam", 0.1, gamma=2)


def test_a_diverging_run_stops_where_it_leaves_the_box():
    run = O.run_trajectory("rosenbrock", "sgd", lr=0.05, steps=100)
    assert 0 < run.left_at < 100 and len(run.path) == run.left_at + 1
    assert np.all(np.isfinite(run.path[:-1]))


# --- the widget -----------------------------------------------------------------------------------------------------

def test_widget_surface_choice_resets_start_and_learning_rates():
    from vanishing.widgets import optimizer_paths

    app = optimizer_paths()
    app.controls["surface"].value = "rosenbrock"
    assert app.result.surface == "rosenbrock" and app.result.start == (-1.2, 1.0)
    rosenbrock = O.LOSS_SURFACES["rosenbrock"]
    assert app.values["lr"] == rosenbrock.lr and app.result.steps == rosenbrock.steps
    app = optimizer_paths(x0=1.0, surface="saddle", noise=0.01)  # the surface first, whatever the order
    assert app.result.start == (1.0, 0.0) and app.result.noise == 0.01
    assert set(app.result.runs) == set(THREE)


def test_widget_presets_reproduce_the_notebook_cases():
    from vanishing.widgets import optimizer_paths

    app = optimizer_paths(preset="saddle: start on the ridge")
    assert all(np.all(run.path[:, 1] == 0) for run in app.result.runs.values())
    app = optimizer_paths(preset="ravine: Nesterov at SGD's lr diverges")
    assert app.result["nesterov"].left_at > 0 and app.error is None


# --- plots ----------------------------------------------------------------------------------------------------------

def test_trajectory_view_makes_contours_once_per_surface():
    from matplotlib.contour import ContourSet

    from vanishing.plots import optimizers as plots

    def contours(fig, visible=True):
        return [c for c in fig.axes[0].collections if isinstance(c, ContourSet) and c.get_visible() == visible]

    view = plots.TrajectoryView()
    fig = view.show(O.compare_optimizers("rosenbrock", THREE, steps=50))
    assert tuple(fig.get_size_inches()) == plots.TRAJECTORY_FIGSIZE and fig.dpi == 100
    assert fig.axes[0].get_xlim() == O.LOSS_SURFACES["rosenbrock"].window[:2]
    rosenbrock = contours(fig)
    assert len(rosenbrock) == 1
    assert view.show(O.compare_optimizers("rosenbrock", THREE, steps=80, lr=1e-4)) is fig
    assert contours(fig) == rosenbrock  # kept
    view.show(O.compare_optimizers("saddle", THREE, steps=20))
    assert len(contours(fig)) == 1 and contours(fig) != rosenbrock and contours(fig, visible=False) == rosenbrock
    assert fig.axes[1].get_yscale() == "linear"
    view.show(O.compare_optimizers("rosenbrock", THREE, steps=20))
    assert contours(fig) == rosenbrock  # shown again, not made again


def test_every_plot_function_returns_a_figure():
    from matplotlib.figure import Figure

    from vanishing.plots import optimizers as plots

    saddle = {"ridge": O.compare_optimizers("saddle", THREE, steps=20),
              "noise": O.compare_optimizers("saddle", THREE, steps=20, noise=0.01)}
    X, y = vn.data.two_moons(60, noise=0.1, rng=np.random.default_rng(0))
    figures = [
        plots.trajectory_plot(saddle["ridge"]), plots.paths_grid(saddle),
        plots.step_size_plot(O.step_size_by_gradient_scale(steps=5)),
        plots.bias_correction_plot(O.bias_correction_steps(steps=20)),
        plots.decay_plot(O.decay_by_gradient_scale(steps=20)),
        plots.update_ratio_plot(O.update_ratios_by_layer(X, y, depth=3, width=8, epochs=1, batch_size=30)),
        plots.dead_unit_plot(O.dead_unit_updates(steps=5, warmup=2)),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(TypeError, match="compare_optimizers"):
        plots.trajectory_plot("not a comparison")


def test_widget_scenario_that_changes_the_surface_computes_once():
    from vanishing.widgets import optimizer_paths

    app = optimizer_paths()
    calls = []
    compute = app._compute
    app._compute = lambda **values: calls.append(values) or compute(**values)
    app.preset_picker.value = "saddle: start 1e-8 off the ridge"
    assert len(calls) == 1 and calls[0]["surface"] == "saddle" and calls[0]["y0"] == 1e-8
    app.controls["surface"].value = "plateau"  # a plain surface change: once too, from the plateau's start
    assert len(calls) == 2 and (calls[1]["x0"], calls[1]["y0"]) == O.LOSS_SURFACES["plateau"].start
