"""The base of every widget: controls -> experiment -> figure, and never a traceback.

An :class:`App` holds

* ``controls``: name -> ipywidgets control; the names are the keyword
  arguments of the compute function;
* ``image``: an ``ipywidgets.Image`` with the current figure as PNG;
* ``message``: an ``ipywidgets.HTML`` that shows a short message in place of the
  figure when a setting is invalid or training diverges;
* ``result``: the last value the compute function returned (with ``figure``
  and ``png`` drawn from it);
* ``timings``: seconds spent in the last compute and draw (for benchmarks);
* ``widget``: the container to display.

``update()`` calls ``compute(**values)`` (a function from
:mod:`vanishing.experiments`, usually wrapped by the builder to turn a seed
into a ``rng``), then ``draw(result)`` (a function from :mod:`vanishing.plots`
returning a Figure), and puts the PNG into ``image``. Every control change
calls ``update()``, unless the app has a Run button (for experiments that
train): then only the button does.

Displaying an App shows the live widget where a kernel runs it, and the
current figure as a plain PNG elsewhere (GitHub, nbviewer), because its
``_repr_mimebundle_`` carries both.
"""

from __future__ import annotations

import base64
import difflib
import html
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets
from matplotlib.figure import Figure
from traitlets import TraitError

from ..plots import to_png
from ..plots._style import recycling

__all__ = ["App"]

SLIDER_WIDTH_PX = 300
"""ipywidgets' default width of a slider with its label and readout (the ``--jp-widgets-inline-width``)."""

_SLIDERS = (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.IntRangeSlider,
            ipywidgets.FloatRangeSlider, ipywidgets.SelectionSlider)


def _label_px(text: str) -> int:
    """An estimate of a label's width in JupyterLab's 13 px interface font (7.5 px a character, rounded up)."""
    return -(-15 * len(text) // 2)


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, FloatingPointError, OverflowError)
"""Errors that mean "this setting does not work" rather than a bug: shown as a plain message."""

_WARNING_COLOUR = "#D55E00"  # Okabe–Ito vermillion
_NOTE_COLOUR = "#7f7f7f"


def _divergence_error() -> type[BaseException] | None:
    """``vanishing.train.DivergenceError`` if that module is importable (imported only when needed)."""
    try:
        from ..train import DivergenceError
    except Exception:  # noqa: BLE001 - a missing or broken train module just means no such error type
        return None
    return DivergenceError


def _describe_error(error: BaseException) -> str:
    """A one-line explanation of an error for the message area."""
    diverged = _divergence_error()
    text = str(error).strip() or type(error).__name__
    if diverged is not None and isinstance(error, diverged):
        return f"Training diverged: {text.rstrip('.')}. Try a smaller learning rate or another setting."
    if isinstance(error, EXPECTED_ERRORS):
        return f"This setting does not work: {text}"
    return f"Unexpected error: {type(error).__name__}: {text}"


class App:
    """Controls wired to an experiment and a plot.

    Parameters
    ----------
    controls
        Name -> ipywidgets control (slider, dropdown, text box, checkbox). The
        names are the compute function's keyword arguments.
    compute
        ``compute(**values) -> result``.
    draw
        ``draw(result) -> matplotlib.figure.Figure``.
    name
        The builder's name (used in messages, e.g. ``"start_here"``).
    title
        Optional HTML shown above the controls.
    initial_values
        Control values to start from (an instructor's scenario). The key
        ``"preset"`` picks one of ``presets`` first; other keys override it.
        Unknown names raise ``TypeError``; values a control cannot take raise
        ``ValueError``.
    presets
        Name -> dict of control values, offered in a "scenario" dropdown.
    run_button
        If True, changing a control only marks the figure out of date; the Run
        button computes (for experiments that train for a while).
    pass_progress
        If True, ``compute`` also receives ``progress=fraction_callback``; it
        may call it with a number in [0, 1] to move the progress bar.
    invalid_example
        Control values (reachable through the controls) that the compute
        function rejects; the tests use them to check the message path.
    """

    def __init__(self, controls: Mapping[str, ipywidgets.ValueWidget], compute: Callable[..., Any],
                 draw: Callable[[Any], Figure], *, name: str = "widget", title: str = "",
                 initial_values: Mapping[str, Any] | None = None,
                 presets: Mapping[str, Mapping[str, Any]] | None = None, run_button: bool = False,
                 pass_progress: bool = False, invalid_example: Mapping[str, Any] | None = None) -> None:
        if not controls:
            raise ValueError("controls is empty; an App needs at least one control")
        self.name = name
        self.controls: dict[str, ipywidgets.ValueWidget] = dict(controls)
        self._compute = compute
        self._draw = draw
        self.pass_progress = pass_progress
        self.presets = {key: dict(values) for key, values in (presets or {}).items()}
        for preset, values in self.presets.items():
            self._check_names(values, what=f"preset {preset!r}")
        self.invalid_example = dict(invalid_example) if invalid_example else None

        self.result: Any = None
        self.figure: Figure | None = None
        self.png: bytes | None = None
        self.error: BaseException | None = None
        self.stale = False
        self.timings: dict[str, float | None] = {"compute": None, "draw": None}
        # figures kept between redraws: see vanishing.plots._style.recycling
        self._figures: dict = {}
        self._holding = False
        self._applying_preset = False

        for key, control in self.controls.items():
            if not control.description:
                control.description = key
            if hasattr(control, "continuous_update"):
                control.continuous_update = False  # compute when a drag ends, not at every pixel
            control.style.description_width = "initial"
            if isinstance(control, _SLIDERS) and not control.layout.width:
                # the label takes its own width out of the control's: widen a control with a long label, so
                # that its track keeps about 130 px next to the readout (a 28-character label left a bare knob)
                control.layout.width = f"{max(SLIDER_WIDTH_PX, _label_px(control.description) + 200)}px"
            if not control.layout.margin:
                control.layout.margin = "2px 16px 2px 0px"  # some air between controls sharing a row

        self.image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%", height="auto"))
        self.message = ipywidgets.HTML(value="")
        self.progress = ipywidgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="progress",
                                                 layout=ipywidgets.Layout(display="none"))
        self.run_button = ipywidgets.Button(description="Run", button_style="primary", icon="play") \
            if run_button else None
        self.preset_picker = ipywidgets.Dropdown(options=list(self.presets), value=None, description="scenario",
                                                 style={"description_width": "initial"}) if self.presets else None

        top: list[ipywidgets.Widget] = []
        if title:
            top.append(ipywidgets.HTML(value=title))
        bar = [w for w in (self.preset_picker, self.run_button, self.progress) if w is not None]
        if bar:
            top.append(ipywidgets.HBox(bar))
        controls_box = ipywidgets.Box(
            list(self.controls.values()),
            layout=ipywidgets.Layout(display="flex", flex_flow="row wrap"),
        )
        self.widget = ipywidgets.VBox(top + [controls_box, self.message, self.image])

        self._set_initial(dict(initial_values or {}))
        for control in self.controls.values():
            control.observe(self._on_control_change, names="value")
        if self.preset_picker is not None:
            self.preset_picker.observe(self._on_preset, names="value")
        if self.run_button is not None:
            self.run_button.on_click(lambda _button: self.run())
        self.update()

    # ------------------------------------------------------------------------------------------
    # values

    @property
    def values(self) -> dict[str, Any]:
        """The current control values, name -> value."""
        return {key: control.value for key, control in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Set several controls at once, then update once (or mark stale with a Run button).

        Raises ``TypeError`` for an unknown name and ``ValueError`` for a value a
        control cannot take (out of a slider's range, not among a dropdown's options).
        """
        self._check_names(values, what=f"{self.name}.set()")
        self._holding = True
        try:
            for key, value in values.items():
                self._set_control(key, value)
        finally:
            self._holding = False
        self._changed()

    def _check_names(self, values: Mapping[str, Any], *, what: str) -> None:
        unknown = [key for key in values if key not in self.controls]
        if unknown:
            allowed = list(self.controls)
            guesses = [difflib.get_close_matches(key, allowed, n=1) for key in unknown]
            hints = "".join(f" (did you mean {g[0]!r} for {k!r}?)" for k, g in zip(unknown, guesses, strict=True) if g)
            raise TypeError(
                f"{what} got unknown control name(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(allowed)}{hints}"
            )

    def _set_control(self, key: str, value: Any) -> None:
        control = self.controls[key]
        low, high = _range(control)
        if low is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not low <= value <= high:
                raise ValueError(f"{key}={value!r} is out of the control's range; allowed: [{low:g}, {high:g}]")
        try:
            control.value = value
        except TraitError as error:
            options = getattr(control, "_options_values", None)
            allowed = f"; allowed: {', '.join(map(repr, options))}" if options is not None else ""
            raise ValueError(f"{key}={value!r} cannot be set on this control{allowed} ({error})") from None

    def _set_initial(self, values: dict[str, Any]) -> None:
        preset = values.pop("preset", None)
        self._check_names(values, what=f"{self.name}()")
        if preset is not None:
            if preset not in self.presets:
                raise ValueError(f"preset={preset!r} is not known; allowed: {', '.join(map(repr, self.presets))}")
            for key, value in self.presets[preset].items():
                self._set_control(key, value)
        for key, value in values.items():
            self._set_control(key, value)
        if preset is not None and not values and self.preset_picker is not None:
            self.preset_picker.value = preset

    # ------------------------------------------------------------------------------------------
    # reacting to the controls

    def _on_control_change(self, _change: Mapping[str, Any]) -> None:
        if self._holding:
            return
        self._changed()

    def _changed(self) -> None:
        if self.preset_picker is not None and not self._applying_preset:
            self.preset_picker.value = None  # the settings no longer match the chosen scenario
        if self.run_button is not None:
            self.stale = True
            self._show_note("Settings changed: press Run to compute.")
        else:
            self.update()

    def _on_preset(self, change: Mapping[str, Any]) -> None:
        name = change["new"]
        if name is None:
            return
        self._applying_preset = True
        try:
            self.set(**self.presets[name])
        finally:
            self._applying_preset = False

    def run(self) -> bool:
        """Compute now (what the Run button does); returns True on success."""
        if self.run_button is not None:
            self.run_button.disabled = True
            self.run_button.description = "Running…"
        try:
            return self.update()
        finally:
            if self.run_button is not None:
                self.run_button.disabled = False
                self.run_button.description = "Run"

    def report_progress(self, fraction: float) -> None:
        """Show the progress bar at ``fraction`` (0 to 1); compute functions call it via ``progress=``."""
        self.progress.layout.display = None
        self.progress.value = min(max(float(fraction), 0.0), 1.0)

    # ------------------------------------------------------------------------------------------
    # compute and draw

    def update(self) -> bool:
        """Recompute and redraw with the current control values.

        Returns True on success. On an error (an invalid setting, a diverging
        run, a bug) the figure is hidden and ``message`` explains in one line;
        ``error`` keeps the exception for whoever wants the details.
        """
        values = self.values
        if self.pass_progress:
            values["progress"] = self.report_progress
        start = time.perf_counter()
        try:
            result = self._compute(**values)
            computed = time.perf_counter()
            with recycling(self._figures):
                figure = self._draw(result)
            if not isinstance(figure, Figure):
                raise TypeError(f"the draw function returned {type(figure).__name__}, not a matplotlib Figure")
            png = to_png(figure, fast=True)
        except Exception as error:  # noqa: BLE001 - a teaching widget shows a message, never a traceback
            self.error = error
            self._show_error(error)
            return False
        finally:
            self.progress.layout.display = "none"
        drawn = time.perf_counter()
        self.result, self.figure, self.png, self.error, self.stale = result, figure, png, None, False
        self.timings = {"compute": computed - start, "draw": drawn - computed}
        self.image.value = png
        # show the PNG at its own pixel width (the PNG header holds it): a stretched figure looks blurred
        self.image.width = str(int.from_bytes(png[16:20], "big"))
        self.image.layout.display = None
        self.message.value = ""
        return True

    def _show_error(self, error: BaseException) -> None:
        self.image.layout.display = "none"
        self.message.value = (
            f'<div style="color: {_WARNING_COLOUR}; border-left: 4px solid {_WARNING_COLOUR}; '
            f'padding: 0.4em 0.8em; margin: 0.3em 0;">⚠ {html.escape(_describe_error(error))}</div>'
        )

    def _show_note(self, text: str) -> None:
        self.message.value = f'<div style="color: {_NOTE_COLOUR}; padding: 0.2em 0;">{html.escape(text)}</div>'

    # ------------------------------------------------------------------------------------------
    # display

    def _text(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in self.values.items())
        text = f"{self.name}({settings})"
        if self.error is not None:
            text += f"\n{_describe_error(self.error)}"
        return text

    def __repr__(self) -> str:
        return f"<App {self._text()}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The live widget, plus the current figure as PNG for readers without a kernel."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs) or {})
        if self.figure is not None and self.error is None:
            # stored in the notebook: compressed fully, unlike the live updates
            bundle["image/png"] = base64.b64encode(to_png(self.figure)).decode("ascii")
        bundle["text/plain"] = self._text()
        return bundle

    def close(self) -> None:
        """Close every widget of the app (frees the front-end models)."""
        for w in [*self.controls.values(), self.image, self.message, self.progress, self.widget,
                  self.run_button, self.preset_picker]:
            if w is not None:
                w.close()


def _range(control: ipywidgets.Widget) -> tuple[float | None, float | None]:
    """The (min, max) a numeric control can take, or (None, None)."""
    if isinstance(control, ipywidgets.FloatLogSlider):
        return control.base ** control.min, control.base ** control.max
    if hasattr(control, "min") and hasattr(control, "max") and not isinstance(control, ipywidgets.FloatProgress):
        return control.min, control.max
    return None, None
