"""Widgets without a browser: set control values, check what was recomputed and shown.

The generic tests run for every builder in ``vanishing.widgets.WIDGETS``; the
App tests use a tiny compute and draw function; the last ones are specific to
notebook 00's ``start_here``.
"""

from __future__ import annotations

import base64
import html

import ipywidgets
import numpy as np
import pytest

from vanishing.plots import new_figure
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


def test_text_controls_and_sliders_do_not_update_while_typing_or_dragging(builder):
    app = builder()
    for control in app.controls.values():
        if hasattr(control, "continuous_update"):
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

    def draw(result):
        fig = new_figure()
        fig.axes[0].plot(result)
        return fig

    controls = {"n": ipywidgets.IntText(value=3), "scale": ipywidgets.FloatSlider(value=1.0, min=0.0, max=2.0)}
    return App(controls, compute, draw, name="toy", **options), calls


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


def test_app_draw_that_returns_no_figure_is_reported():
    app, _ = toy_app()
    app._draw = lambda result: None
    assert app.update() is False
    assert "not a matplotlib Figure" in app.message.value


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


def test_recycled_figures_draw_the_same_pixels_as_new_ones(builder):
    """A widget redraws into the figure it made before (faster); the picture must not depend on that."""
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
        recycled = pixels(to_png(app.figure))
        fresh = pixels(to_png(app._draw(app.result)))
        assert recycled.shape == fresh.shape, (name, value)
        assert np.array_equal(recycled, fresh), f"{name}={value!r}: the recycled figure differs from a new one"
