"""Widgets without a browser: set control values, check what was recomputed and shown.

The generic tests run for every builder in ``vanishing.widgets.WIDGETS``; the
App tests use a tiny compute function and view; then come ``start_here``'s own
tests, the kept figures and glyphs, the worker that computes a drag (newest value
only), and the widgets' own computations against the experiment functions.
"""

from __future__ import annotations

import base64
import html
import time

import ipywidgets
import numpy as np
import pytest

from vanishing.plots import new_figure
from vanishing.plots._style import View
from vanishing.widgets import WIDGETS, App, start_here

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def another_value(control: ipywidgets.Widget):
    """A valid value for ``control`` that differs from its current one."""
    value = control.value
    if isinstance(control, ipywidgets.Checkbox):
        return not value
    options = getattr(control, "_options_values", None)
    if options is not None:
        return next(v for v in options if v != value)
    if isinstance(control, ipywidgets.FloatLogSlider):
        low, high = control.base ** control.min, control.base ** control.max
        return low if value != low else high
    if hasattr(control, "min") and hasattr(control, "max"):
        return control.min if value != control.min else control.max
    if isinstance(control, (ipywidgets.IntText, ipywidgets.FloatText)):
        return value + 1
    raise AssertionError(f"the tests do not know how to change a {type(control).__name__}")


def recompute(app: App) -> None:
    if app.run_button is not None:
        app.run_button.click()


@pytest.fixture(params=list(WIDGETS))
def builder(request):
    return WIDGETS[request.param]


# --------------------------------------------------------------------------------------------- every builder


def test_builder_with_defaults_computes_a_result_and_a_png(builder):
    app = builder()
    assert isinstance(app, App)
    assert app.error is None, app.message.value
    assert app.result is not None
    assert app.png.startswith(PNG_MAGIC)
    assert app.image.value == app.png
    assert app.message.value == ""
    assert app.timings["compute"] >= 0 and app.timings["draw"] >= 0


@pytest.mark.parametrize("which", [0, -1])
def test_setting_a_control_recomputes(builder, which):
    app = builder()
    name, control = list(app.controls.items())[which]
    before_result, before_values = app.result, app.values
    control.value = another_value(control)  # through the widget, as a learner's click would
    recompute(app)
    assert app.values[name] != before_values[name]
    assert app.error is None, app.message.value
    assert app.result is not before_result


def test_invalid_setting_shows_a_message_not_an_exception(builder, monkeypatch):
    app = builder()
    if app.invalid_example:
        for name, value in app.invalid_example.items():
            app.controls[name].value = value
        recompute(app)
        assert isinstance(app.error, (ValueError, TypeError))
    else:  # no control value is invalid: check the App's message path with a failing computation
        def rejects(**values):
            raise ValueError("this setting is not allowed")

        monkeypatch.setattr(app, "_compute", rejects)
        assert app.update() is False
    assert app.message.value.count("⚠") == 1 and "Traceback" not in app.message.value
    assert app.image.layout.display == "none"


def test_recovers_after_an_invalid_setting(builder):
    app = builder()
    if not app.invalid_example:
        pytest.skip("this widget declares no invalid setting")
    good = {name: app.controls[name].value for name in app.invalid_example}
    app.set(**app.invalid_example)
    recompute(app)
    assert app.error is not None
    app.set(**good)
    recompute(app)
    assert app.error is None and app.message.value == "" and app.image.layout.display is None


def test_unknown_initial_value_name_raises_type_error(builder):
    with pytest.raises(TypeError, match="allowed: ") as info:
        builder(no_such_control=1)
    for name in builder().controls:
        assert name in str(info.value)


def test_initial_values_set_every_control(builder):
    defaults = builder()
    chosen = {name: another_value(control) for name, control in defaults.controls.items()}
    app = builder(**chosen)
    assert app.values == chosen


def test_mimebundle_has_widget_png_and_text(builder):
    app = builder()
    bundle = app._repr_mimebundle_()
    # the stored PNG is compressed fully, the live one fast: the same picture either way
    assert np.array_equal(pixels(base64.b64decode(bundle["image/png"])), pixels(app.png))
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.widget.model_id
    assert bundle["text/plain"].startswith(app.name + "(")


def test_sliders_update_while_dragged_and_number_boxes_when_typed(builder):
    app = builder()
    for control in app.controls.values():
        if isinstance(control, (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider)):
            assert control.continuous_update is True
        elif hasattr(control, "continuous_update"):  # a seed box: "12" would compute "1" first
            assert control.continuous_update is False


def test_presets_set_their_values(builder):
    app = builder()
    for name, values in app.presets.items():
        app.preset_picker.value = name
        recompute(app)
        assert {key: app.values[key] for key in values} == values
        assert app.error is None, (name, app.message.value)
    if app.presets:
        control_name, control = next(iter(app.controls.items()))
        control.value = another_value(control)
        assert app.preset_picker.value is None  # the settings left the scenario


# --------------------------------------------------------------------------------------------- the App itself


def toy_app(**options):
    calls = []

    def compute(n, scale, **extra):
        calls.append((n, scale))
        if n < 0:
            raise ValueError(f"n={n} must be non-negative")
        if "progress" in extra:
            extra["progress"](0.5)
        return np.arange(n) * scale

    controls = {"n": ipywidgets.IntText(value=3), "scale": ipywidgets.FloatSlider(value=1.0, min=0.0, max=2.0)}
    return App(controls, compute, ToyView, name="toy", **options), calls


class ToyView(View):
    """One line, made once; ``made`` counts the views made."""

    made = 0

    def __init__(self):
        ToyView.made += 1
        self.figure = new_figure()
        self.line = self.figure.axes[0].plot([], [])[0]

    def update(self, result):
        self.line.set_data(np.arange(len(result)), result)
        self.figure.axes[0].set_xlim(0, max(len(result), 1))
        self.figure.axes[0].set_ylim(-1, 1 + (result.max() if len(result) else 0))


def test_app_run_button_mode_computes_only_on_click():
    app, calls = toy_app(run_button=True)
    assert len(calls) == 1  # the default figure is drawn at once
    app.controls["n"].value = 5
    app.controls["scale"].value = 2.0
    assert len(calls) == 1 and app.stale and "press Run" in app.message.value
    app.run_button.click()
    assert calls[-1] == (5, 2.0) and len(calls) == 2 and not app.stale
    assert np.array_equal(app.result, np.arange(5) * 2.0)
    assert app.run_button.description == "Run" and not app.run_button.disabled


def test_app_set_updates_once():
    app, calls = toy_app()
    app.set(n=4, scale=0.5)
    assert calls[-1] == (4, 0.5) and len(calls) == 2


def test_app_out_of_range_and_wrong_option_raise_value_error():
    with pytest.raises(ValueError, match=r"scale=5.0 is out of the control's range; allowed: \[0, 2\]"):
        toy_app(initial_values={"scale": 5.0})
    app = start_here()
    with pytest.raises(ValueError, match="allowed: 'identity', 'sigmoid'"):
        app.set(activation="swish")


def test_app_unexpected_error_is_a_short_message():
    app, _ = toy_app()
    app._compute = lambda **values: {}["boom"]
    assert app.update() is False
    assert "Unexpected error: KeyError: 'boom'" in html.unescape(app.message.value)
    assert isinstance(app.error, KeyError)
    assert "image/png" not in app._repr_mimebundle_()
    assert "Unexpected error" in app._repr_mimebundle_()["text/plain"]


def test_app_view_that_returns_no_figure_is_reported(monkeypatch):
    app, _ = toy_app()
    monkeypatch.setattr(ToyView, "show", lambda self, result: None)
    assert app.update() is False
    assert "not a matplotlib Figure" in app.message.value


def test_app_makes_its_view_once_and_keeps_its_figure():
    before = ToyView.made
    app, _ = toy_app()
    figure = app.figure
    for scale in (0.5, 1.5, 2.0):
        app.controls["scale"].value = scale
    app.controls["n"].value = -1  # an error on the way changes nothing
    app.controls["n"].value = 4
    assert ToyView.made == before + 1 and app.figure is figure
    assert np.array_equal(app.result, np.arange(4) * 2.0)


def test_app_reports_divergence():
    train = pytest.importorskip("vanishing.train")

    def diverging(n, scale):
        raise train.DivergenceError("loss became inf at step 7.", step=7, epoch=1, loss=float("inf"), history=None)

    app, _ = toy_app()
    app._compute = diverging
    assert app.update() is False
    assert "Training diverged: loss became inf at step 7. Try a smaller learning rate" in app.message.value


def test_app_invalid_value_message_and_recovery():
    app, _ = toy_app()
    app.controls["n"].value = -2
    assert "This setting does not work: n=-2 must be non-negative" in app.message.value
    app.controls["n"].value = 2
    assert app.message.value == "" and np.array_equal(app.result, [0.0, 1.0])


def test_app_progress_hook():
    app, _ = toy_app(pass_progress=True)
    assert app.error is None
    assert app.progress.value == 0.5
    assert app.progress.layout.display == "none"  # hidden again once the computation is done


def test_app_presets_and_preset_keyword():
    presets = {"big": {"n": 10, "scale": 2.0}}
    app, calls = toy_app(presets=presets, initial_values={"preset": "big"})
    assert app.values == {"n": 10, "scale": 2.0} and app.preset_picker.value == "big"
    assert calls == [(10, 2.0)]
    with pytest.raises(ValueError, match="preset='small' is not known; allowed: 'big'"):
        toy_app(presets=presets, initial_values={"preset": "small"})
    with pytest.raises(TypeError, match="preset 'bad' got unknown control name"):
        toy_app(presets={"bad": {"m": 1}})


def test_unknown_name_suggests_the_close_one():
    with pytest.raises(TypeError, match="did you mean 'depth' for 'dept'"):
        start_here(dept=3)


# --------------------------------------------------------------------------------------------- start_here


def test_start_here_controls_reach_the_experiment():
    app = start_here(depth=7, activation="tanh", z_spread=0.5, weight=2.0, seed=3)
    r = app.result
    assert (r.depth, r.activation, r.z_spread, r.weight, r.n_draws) == (7, "tanh", 0.5, 2.0, 2000)
    app.controls["depth"].value = 40
    assert app.result.depth == 40 and app.result.log10_product.shape == (2000,)
    first = app.result.log10_product.copy()
    app.controls["seed"].value = 4
    assert not np.array_equal(first, app.result.log10_product)
    app.controls["seed"].value = 3
    assert np.array_equal(first, app.result.log10_product)  # the same seed gives the same draws


def test_start_here_relu_preset_shows_exact_zeros():
    app = start_here(preset="ReLU: all or nothing")
    assert 0.9 < app.result.zero_fraction < 1.0
    assert np.all(app.result.log10_product[np.isfinite(app.result.log10_product)] == 0.0)


def test_start_here_negative_seed_message_names_the_setting():
    app = start_here(seed=-1)
    assert app.result is None and app.png is None
    assert "seed=-1" in app.message.value
    assert "image/png" not in app._repr_mimebundle_()


def pixels(png: bytes) -> np.ndarray:
    import io

    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def test_kept_figure_draws_the_same_pixels_as_a_new_one(builder):
    """A widget changes the figure it made at its first update; the picture must not depend on what it showed before."""
    from vanishing.plots import to_png

    app = builder()
    controls = list(app.controls.items())
    for step in range(6):
        name, control = controls[step % len(controls)]
        value = another_value(control)
        if value is None:
            continue
        control.value = value
        recompute(app)
        if app.error is not None:
            continue
        assert app.figure is not None
        kept = pixels(to_png(app.figure))
        fresh = pixels(to_png(app._make_view().show(app.result)))
        assert kept.shape == fresh.shape, (name, value)
        assert np.array_equal(kept, fresh), f"{name}={value!r}: the kept figure differs from a new one"


# --------------------------------------------------------------------------------------------- live updates


def slow_app(seconds: float = 0.05):
    """A toy App whose compute takes ``seconds`` and records the scale it computed."""
    computed = []

    def compute(n, scale):
        computed.append(scale)
        time.sleep(seconds)
        return np.arange(n) * scale

    controls = {"n": ipywidgets.IntText(value=3), "scale": ipywidgets.FloatSlider(value=0.0, min=0.0, max=2.0,
                                                                                  step=0.01)}
    return App(controls, compute, ToyView, name="slow"), computed


def test_a_drag_is_computed_by_the_worker_newest_value_only():
    app, computed = slow_app()
    app.background = True  # as for a change that comes from the browser
    computed.clear()
    started = time.perf_counter()
    for k in range(1, 101):  # a drag: 100 values while a few updates can run
        app.controls["scale"].value = k / 50
        time.sleep(0.002)
    sent = time.perf_counter() - started
    assert sent < 1.0, "setting a value waited for the computation"
    assert app.wait(5.0)
    # some values were computed while the slider moved, far fewer than were sent, the released one last
    assert 2 <= len(computed) < 60, computed
    assert computed[-1] == 2.0 and np.array_equal(app.result, np.arange(3) * 2.0)
    assert computed == sorted(computed), "an older value was computed after a newer one"
    assert app.image.value == app.png and app.error is None


def test_after_the_release_the_figure_shows_the_released_value_within_one_update():
    app, computed = slow_app(seconds=0.1)
    app.background = True
    app.controls["scale"].value = 0.5  # an update starts
    time.sleep(0.02)
    for value in (0.6, 0.7, 0.8):  # arrive while it runs
        app.controls["scale"].value = value
    released = time.perf_counter()
    assert app.wait(5.0)
    assert computed[-2:] == [0.5, 0.8]  # 0.6 and 0.7 were never computed
    assert time.perf_counter() - released < 0.35  # the update under way, then the released value's


def test_set_and_update_compute_at_once_even_with_a_worker():
    app, computed = slow_app()
    app.background = True
    app.set(scale=1.5)
    assert computed[-1] == 1.5 and np.array_equal(app.result, np.arange(3) * 1.5)
    app.controls["scale"].value = 0.25
    assert app.wait(5.0) and computed[-1] == 0.25


def test_outside_a_kernel_a_change_is_computed_at_once():
    from vanishing.widgets._app import from_browser, kernel_is_running

    assert not kernel_is_running() and not from_browser()
    app, computed = slow_app(seconds=0.0)
    app.controls["scale"].value = 1.0
    assert computed[-1] == 1.0 and not app._worker.busy


def test_kept_glyphs_draw_the_pixels_matplotlib_draws(builder, monkeypatch):
    """The course's canvas keeps glyph bitmaps between drawings; apart from starting each text at a whole pixel,
    the picture is matplotlib's own, bit for bit (checked twice: with the glyphs drawn fresh, then kept)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    from vanishing.plots import _canvas
    from vanishing.plots._style import style

    if not _canvas.GLYPHS_KEPT:
        pytest.skip("this matplotlib draws text its own way: the course's canvas leaves it alone")
    app = builder()
    figure = app.figure

    def draw(canvas_class):
        canvas_class(figure)
        with style():
            figure.canvas.draw()
        return np.asarray(figure.canvas.buffer_rgba()).copy()

    _canvas._BITMAPS.clear()
    kept = [draw(_canvas.CourseCanvas), draw(_canvas.CourseCanvas)]
    plain_draw_text = RendererAgg.draw_text
    monkeypatch.setattr(RendererAgg, "draw_text", lambda self, gc, x, y, *rest, **options:
                        plain_draw_text(self, gc, round(x), round(y), *rest, **options))
    reference = draw(FigureCanvasAgg)
    assert np.array_equal(kept[0], reference) and np.array_equal(kept[1], reference)
    assert _canvas._BITMAPS, "no glyph was kept"


# --------------------------------------------------------------------------------------------- kept computations


def same_result(a, b) -> bool:
    """Two result dataclasses hold the same values (arrays equal element for element, nan equal to nan)."""
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray) or (isinstance(x, tuple) and all(isinstance(v, float) for v in x)):
            if not np.array_equal(np.asarray(x, dtype=float), np.asarray(y, dtype=float), equal_nan=True):
                return False
        elif hasattr(x, "__dataclass_fields__"):
            if not same_result(x, y):
                return False
        elif x != y:
            return False
    return True


def test_product_widget_gives_the_experiments_products_whatever_depths_came_before():
    from vanishing.experiments.products import product_distribution
    from vanishing.widgets.products import TRIALS, _compute

    # spread 8: tanh' products all round to 0 in float16 after a few factors (the rows after are not rounded)
    for factor, dtype, spread in (("tanh", "float64", 0.7), ("tanh", "float16", 8.0), ("sigmoid", "float16", 0.7),
                                  ("relu", "float32", 0.7), ("uniform", "float32", 0.7)):
        for depth in (60, 5, 400, 399, 60):  # deeper, shallower, deeper again: rows kept, then rows added
            kept = _compute(depth, factor, spread, 0.6, dtype, 4)
            fresh = product_distribution(depth, factor, spread, 0.6, dtype, TRIALS, rng=np.random.default_rng(4))
            assert same_result(kept, fresh), (factor, dtype, depth)


def test_elu_widget_gives_the_experiments_state_for_every_depth():
    from vanishing.experiments.elu import elu_explorer_state
    from vanishing.widgets.elu import _compute

    for activation, init, centre in (("elu", "default", False), ("relu", "lecun", True), ("selu", "default", False)):
        for depth in (5, 20, 3, 40, 12):  # deeper networks computed now and then, shallower ones sliced
            kept = _compute(activation, 1.6, depth, init, centre, 2)
            fresh = elu_explorer_state(activation, alpha=1.6, depth=depth, init=init, centre=centre,
                                       rng=np.random.default_rng(2))
            assert same_result(kept.layers, fresh.layers), (activation, depth)
            assert (kept.reference is None) == (fresh.reference is None)
            assert kept.reference is None or same_result(kept.reference, fresh.reference)
            assert np.array_equal(kept.zigzag.path, fresh.zigzag.path) and kept.centre == fresh.centre


@pytest.mark.parametrize("preset", ["SGD, lr 3: most units die", "BatchNorm, SGD lr 3", "Adam, lr 0.1"])
def test_dying_widget_trains_as_the_experiment(preset):
    from vanishing.experiments.dying_relu import dying_run
    from vanishing.widgets import dying_explorer

    app = dying_explorer(preset=preset)
    v = app.values
    fresh = dying_run(v["lr"], v["bias"], v["optimizer"], v["weight_decay"], v["batchnorm"], steps=v["steps"],
                      rng=np.random.default_rng(v["seed"]))
    assert same_result(app.result, fresh)


def test_batchnorm_widget_trains_as_the_experiment():
    from vanishing.experiments.batchnorm import batchnorm_training
    from vanishing.widgets import batchnorm_flow

    app = batchnorm_flow(preset="sigmoid, BN before", steps=40)
    v = app.values
    fresh = batchnorm_training(v["activation"], v["batchnorm"], depth=v["depth"], batch_size=v["batch_size"],
                               lr=v["lr"], steps=v["steps"], probe=0, rng=np.random.default_rng(v["seed"]))
    assert same_result(app.result, fresh)


def test_leaky_widget_explores_as_the_experiment():
    from vanishing.experiments.leaky import explore_variant
    from vanishing.widgets import leaky_explorer

    app = leaky_explorer(preset="PReLU from α = 0.25")
    v = app.values
    fresh = explore_variant(v["variant"], v["alpha"], depth=v["depth"], bias=v["bias"],
                            rng=np.random.default_rng(v["seed"]))
    kept = app.result
    assert kept.label == fresh.label and np.array_equal(kept.derivative, fresh.derivative)
    for a, b in zip(kept.runs + kept.baseline, fresh.runs + fresh.baseline, strict=True):
        assert np.array_equal(a.loss, b.loss, equal_nan=True) and np.array_equal(a.dead, b.dead, equal_nan=True)


def test_stop_between_the_seeds_of_a_leaky_exploration():
    from vanishing.widgets import leaky_explorer

    app = leaky_explorer(seed=40)
    app.controls["seed"].value = 50  # a new setting: the first run is still going when Stop is pressed
    app.background, app.live = True, False
    app.run()
    app.stop()  # at once: before the thread has even started to train
    assert app.wait(60)
    assert app.error is None and len(app.result.runs) < 3 and "Stopped after" in app.message.value


def test_one_blas_thread_while_a_widget_computes_then_as_before():
    from vanishing.widgets import _blas

    functions = _blas._functions()
    if functions is None:
        pytest.skip("no OpenBLAS found under this numpy (MKL or Accelerate): the block changes nothing")
    get, _ = functions
    before = get()
    seen = []
    app, _ = toy_app()
    app._compute = lambda **values: seen.append(get()) or np.arange(3.0)
    assert app.update() and seen == [1] and get() == before
    with _blas.one_blas_thread(), _blas.one_blas_thread():  # nested, as two threads' blocks may be
        assert get() == 1
    assert get() == before
