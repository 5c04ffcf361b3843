"""Notebook 07 (optimizers): the experiments give the numbers the notebook relies on, with the engine's optimizers."""

import numpy as np
import pytest

import vanishing as vn
from vanishing.checks import check_adam_step, check_stability_limits
from vanishing.checks.optimizers import stability_limits
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

def _path_length(run):
    return np.linalg.norm(np.diff(run.path, axis=0), axis=1).sum()


def test_valley_at_equal_effective_step_sgd_zigzags_momentum_and_adam_do_not():
    valley = O.compare_optimizers("ill_conditioned", THREE, lrs={"momentum": 0.0036})  # 0.0036 / (1 - 0.9) = 0.036
    sgd, momentum, adam = (valley[m] for m in THREE)
    assert sgd.reversal_fraction(20) > 0.7
    assert momentum.reversal_fraction(20) == 0.0 and adam.reversal_fraction(20) == 0.0
    assert sgd.gap[-1] > 10 * momentum.gap[-1] and sgd.gap[-1] > 10 * adam.gap[-1]
    assert _path_length(sgd) > _path_length(momentum) > _path_length(adam)


def _valley_distance(method, lr, steps=1000):
    point = Parameters(np.array([-2.8, 1.0]))
    opt = O.make_surface_optimizer(method, point, lr=lr, momentum=0.9)
    w, g = point.params["w"], point.grads["w"]
    for _ in range(steps):
        g[...] = w * [1.0, O.VALLEY_KAPPA]
        opt.step()
        if np.abs(w).max() > 1e3:
            return np.inf
    return float(np.linalg.norm(w))


@pytest.mark.parametrize("method", ["sgd", "momentum", "nesterov"])
def test_stability_limits_are_where_the_engine_stops_converging(method):
    limit = stability_limits()[method]
    assert _valley_distance(method, 0.98 * limit) < 1e-6
    assert _valley_distance(method, 1.02 * limit) == np.inf


def test_nesterov_diverges_at_sgds_learning_rate_where_momentum_converges():
    nesterov = O.run_trajectory("ill_conditioned", "nesterov", lr=0.036, momentum=0.9)
    momentum = O.run_trajectory("ill_conditioned", "momentum", lr=0.036, momentum=0.9)
    assert nesterov.left_at > 0
    assert momentum.left_at == -1 and momentum.gap[-1] < 1e-4


def test_rosenbrock_defaults_none_reaches_the_minimum_momentum_gets_closest():
    rosenbrock = O.compare_optimizers("rosenbrock", O.OPTIMIZER_METHODS)
    distance = {m: r.distance_to_minimum() for m, r in rosenbrock.runs.items()}
    assert all(d > 0.05 for d in distance.values())
    assert distance["sgd"] > 1 and distance["rmsprop"] > 1
    assert min(distance, key=distance.get) == "momentum"
    assert O.run_trajectory("rosenbrock", "sgd", lr=0.01).left_at > 0  # SGD at momentum's effective step


def test_rosenbrock_can_be_reached_in_500_steps():
    for method, lr, extra in (("momentum", 0.002, {"momentum": 0.95}), ("adam", 0.3, {})):
        assert O.run_trajectory("rosenbrock", method, lr=lr, **extra).distance_to_minimum() < 0.05


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
    off = O.compare_optimizers("saddle", THREE, start=(1.5, 1e-8), steps=150, lrs={"momentum": 0.01})
    escape = {m: off[m].first_step_below(-1.0) for m in THREE}
    assert 0 < escape["adam"] < escape["sgd"] and escape["momentum"] == -1  # equal effective step: momentum last
    faster = O.run_trajectory("saddle", "momentum", lr=0.1, steps=150, start=(1.5, 1e-8))
    assert 0 < faster.first_step_below(-1.0) < escape["sgd"]  # ten times the effective step: before SGD
    noisy = O.compare_optimizers("saddle", THREE, steps=150, noise=0.01, rng=np.random.default_rng(1))
    assert all(0 < noisy[m].first_step_below(-1.0) < 60 for m in THREE)


def test_plateau_sgd_moves_lr_times_c_per_step_momentum_the_same_adam_about_lr():
    plateau = O.compare_optimizers("plateau", THREE, lrs={"momentum": 0.01})
    moved = {m: 2.0 - plateau[m].final[0] for m in THREE}
    assert moved["sgd"] == pytest.approx(150 * 0.1 * O.PLATEAU_SLOPE, rel=1e-9)
    assert 0.9 * moved["sgd"] < moved["momentum"] < moved["sgd"]  # the same effective step, after a build-up
    assert moved["adam"] > 2.0  # from x = 2 into the flat region
    # noise ten times the slope: Adam's steps stay large but their direction along x is mostly noise
    noisy = [2.0 - O.run_trajectory("plateau", "adam", noise=0.01, rng=np.random.default_rng(s)).final[0]
             for s in range(10)]
    assert np.mean(noisy) < 0.5 * moved["adam"] and np.std(noisy) > np.mean(noisy)


# --- the Adam step and weight decay, on the engine's optimizers ----------------------------------------------------

def test_bias_correction_makes_the_first_steps_exactly_lr():
    for beta1, beta2 in ((0.9, 0.999), (0.9, 0.9)):
        for corrected in (True, False):
            point = Parameters(np.zeros(1))
            adam = Adam(point, lr=1.0, beta1=beta1, beta2=beta2, bias_correction=corrected)
            point.grads["w"][...] = 1.0
            for t in range(1, 21):
                before = point.params["w"][0]
                adam.step()
                factor = 1.0 if corrected else (1 - beta1 ** t) / np.sqrt(1 - beta2 ** t)
                assert abs(before - point.params["w"][0]) == pytest.approx(factor, rel=1e-6)


def test_l2_and_decoupled_decay_agree_for_sgd_and_not_for_adam():
    sizes = np.array([0.0, 1e-3, 1e-1, 1.0, 10.0])
    final = {}
    for method, kind in (("sgd", "weight_decay"), ("sgd", "decoupled_weight_decay"), ("adam", "weight_decay"),
                         ("adam", "decoupled_weight_decay")):
        point = Parameters(np.ones(5))
        opt = O.make_surface_optimizer(method, point, lr=0.01, **{kind: 0.1})
        for step in range(400):
            point.grads["w"][...] = sizes if step % 2 == 0 else -sizes
            opt.step()
        final[method, kind] = point.params["w"].copy()
    np.testing.assert_allclose(final["sgd", "weight_decay"], final["sgd", "decoupled_weight_decay"], atol=1e-12)
    expected = (1 - 0.01 * 0.1) ** 400
    assert final["sgd", "weight_decay"][0] == pytest.approx(expected, rel=1e-12)  # no data gradient: pure decay
    adamw = final["adam", "decoupled_weight_decay"]
    assert np.ptp(adamw) < 0.02 and abs(adamw[0] - expected) < 1e-9
    adam_l2 = final["adam", "weight_decay"]
    assert abs(adam_l2[0]) < 0.01 and abs(adam_l2[1]) < 0.01  # dragged to 0
    assert adam_l2[-1] > 0.9  # a large data gradient: hardly any decay
    assert np.all(np.diff(adam_l2[1:]) > 0)


# --- deep nets ------------------------------------------------------------------------------------------------------

def _train_sigmoid(make_optimizer, *, frozen=0, steps=120, callbacks=()):
    X_train, _, y_train, _ = vn.scenarios.digits_split(rng=np.random.default_rng(0))
    model = vn.mlp([64, *[32] * 6, 10], "sigmoid", rng=np.random.default_rng(0))
    history = vn.fit(model, "softmax_ce", make_optimizer(vn.Sequential(model.layers[2 * frozen:])), X_train, y_train,
                     batch_size=32, steps=steps, rng=np.random.default_rng(1), callbacks=callbacks)
    return np.asarray(history.loss)


def test_adam_equalises_the_update_ratio_and_learns_through_the_early_layers():
    ratios = {"sgd": vn.diagnostics.UpdateRatio(), "adam": vn.diagnostics.UpdateRatio()}
    sgd = _train_sigmoid(lambda p: vn.optim.SGD(p, lr=0.5), callbacks=[ratios["sgd"]])
    adam = _train_sigmoid(lambda p: vn.optim.Adam(p, lr=0.01), callbacks=[ratios["adam"]])
    frozen = _train_sigmoid(lambda p: vn.optim.Adam(p, lr=0.01), frozen=3)
    sgd_ratio, adam_ratio = (np.median(r.history, axis=0) for r in ratios.values())
    assert sgd_ratio[-1] / sgd_ratio[0] > 1e3  # SGD: the first layer barely moves
    assert adam_ratio.max() / adam_ratio.min() < 5  # Adam: about the same in every layer
    assert np.mean(sgd[-10:]) > 2.25 and np.mean(frozen[-10:]) > 2.25  # chance level is ln 10 = 2.30
    assert np.mean(adam[-10:]) < 2.0


# --- a dead ReLU unit -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dead():
    return O.dead_unit_updates(steps=300, warmup=10, rng=np.random.default_rng(0))


def test_dead_unit_gets_exactly_zero_gradient_while_dead_and_only_adam_with_l2_revives_it(dead):
    assert all(run.gradients_zero for run in dead.values())
    revived = {label: run.revived_at for label, run in dead.items() if run.revived_at > 0}
    assert list(revived) == ["Adam + L2 decay 0.01"] and 50 < revived["Adam + L2 decay 0.01"] < 300


def test_only_optimizer_state_or_decay_moves_a_dead_unit(dead):
    unchanged = {label for label, run in dead.items() if run.unchanged}
    assert unchanged == {"SGD, lr 0.1", "momentum 0.9, lr 0.01, new optimizer", "Adam, lr 0.03"}
    carried = dead["momentum 0.9, lr 0.01, velocity from before"]
    # the old velocity dies out: the last steps are tiny next to the first
    assert np.linalg.norm(carried.params[-1] - carried.params[-2]) < 1e-6 * np.linalg.norm(
        carried.params[1] - carried.params[0])


def test_decay_shrinks_proportionally_except_adam_with_l2(dead):
    np.testing.assert_allclose(dead["SGD + L2 decay 0.01"].ratio, (1 - 0.1 * 0.01) ** 300, rtol=1e-10)
    np.testing.assert_allclose(dead["AdamW, decoupled decay 0.01"].ratio, (1 - 0.03 * 0.01) ** 300, rtol=1e-10)
    adam_l2 = dead["Adam + L2 decay 0.01"]
    # m / sqrt(v) of a pure decay gradient is +-1: the first step is lr, towards 0, for every parameter
    np.testing.assert_allclose(adam_l2.first_step, -np.sign(adam_l2.params[0]), rtol=1e-4)  # eps: 1 - 3e-5
    # not in proportion: the weights reach 0 long before the bias does
    w, b = np.abs(adam_l2.params[:, :2]).max(axis=1), np.abs(adam_l2.params[:, 2])
    assert w[0] > 0.2 * b[0] and np.any((w < 0.05 * b) & (b > 0.5))


def test_dead_unit_settings_compare_momentum_at_sgds_effective_step():
    sgd_lr = O.DEAD_UNIT_SETTINGS["SGD, lr 0.1"][1]["lr"]
    for _, options, _ in O.DEAD_UNIT_SETTINGS.values():
        if options.get("momentum"):
            assert options["lr"] / (1 - options["momentum"]) == pytest.approx(sgd_lr)


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


def test_check_stability_limits():
    right = {"sgd": 0.04, "momentum": 0.076, "nesterov": 0.02714}
    assert check_stability_limits(right).passed is True
    assert check_stability_limits({**right, "momentum": 0.0755}).passed is True  # within 2 %
    assert check_stability_limits(None).passed is None
    assert check_stability_limits(...).passed is None
    assert "effective" in check_stability_limits({**right, "momentum": 0.004}).message
    assert "window" in check_stability_limits({**right, "momentum": 0.0695}).message
    assert "heavy-ball" in check_stability_limits({**right, "nesterov": 0.076}).message
    assert "fastest" in check_stability_limits({**right, "sgd": 0.02}).message
    assert "diverges" in check_stability_limits({**right, "sgd": 0.06}).message
    assert "still converges" in check_stability_limits({**right, "nesterov": 0.01}).message
    for wrong in ({"sgd": 0.04}, [0.04, 0.076, 0.027], {**right, "sgd": "0.04"}):
        assert check_stability_limits(wrong).passed is False


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
    with pytest.raises(TypeError, match="rng"):
        O.compare_optimizers("saddle", noise=0.1)  # noise needs a generator to draw from
    with pytest.raises(ValueError, match="noise"):
        O.compare_optimizers("saddle", noise=-0.1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="unit=8 is out of range"):
        O.dead_unit_updates(unit=8, rng=np.random.default_rng(0))


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
              "noise": O.compare_optimizers("saddle", THREE, steps=20, noise=0.01, rng=np.random.default_rng(0))}
    scales = np.array([1e-9, 1e-3, 1.0])
    curves = (np.ones(5), np.linspace(3, 1, 5), np.linspace(3, 1, 5))
    figures = [
        plots.trajectory_plot(saddle["ridge"]), plots.paths_grid(saddle),
        plots.step_size_plot(scales, {"sgd": scales, "adam": np.ones(3)}, eps=1e-8, after=5),
        plots.bias_correction_plot(np.arange(1, 6), {(0.9, 0.999): curves}),
        plots.decay_plot(scales, {"SGD + L2": np.ones(3) * 0.7, "Adam + L2": np.array([0.0, 0.5, 0.9])},
                         expected=0.7, weight_decay=0.1, lr=0.01, steps=10),
        plots.update_ratio_plot({"SGD": (np.ones((4, 3)) * [1e-5, 1e-3, 1e-1], np.ones(4)),
                                 "frozen": (np.ones((4, 3)) * [0.0, 1e-2, 1e-2], np.ones(4))}, title="t"),
        plots.dead_unit_plot(O.dead_unit_updates(steps=5, warmup=2, rng=np.random.default_rng(0))),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    with pytest.raises(TypeError, match="compare_optimizers"):
        plots.trajectory_plot("not a comparison")
    with pytest.raises(TypeError, match="steps must be"):
        plots.step_size_plot(scales, {}, eps=1e-8, after=5)
    with pytest.raises(TypeError, match="runs must be"):
        plots.update_ratio_plot([])


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
