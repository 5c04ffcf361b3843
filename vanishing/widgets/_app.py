"""The base of every widget: controls -> experiment -> figure, live while a slider moves, never a traceback.

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

``update()`` calls ``compute(**values)``, then shows the result in the App's
view (a :class:`vanishing.plots.View`: a figure made once, whose artists are
changed in place), and puts the PNG into ``image``. An App with a Run button
(an experiment that trains) computes only when it is pressed; any other App
computes at every change of a control, while a slider is being dragged too.

How a drag reaches the figure
-----------------------------
While a slider moves, the browser sends its value to the kernel, and the kernel
handles these messages one at a time, in its main thread; the browser itself
sends the next value only when the kernel has finished with the last one (it
keeps the newest value meanwhile). If the App computed in that handler, each
value would be computed before the next one could even arrive. So a change that
comes from the browser only records that the figure is out of date and wakes
the App's worker thread (:class:`_Newest`); the handler returns at once and
the next value arrives. The worker computes and draws with the controls' values
when it starts, and when it is done, starts again if a value came in meanwhile:
values that arrived during an update are not computed one by one, only the
newest is. No queue of old frames builds up, and after the knob is released
the figure shows the released value within one update. A change made by code
in the kernel (``app.set(...)``, a test, a benchmark) is computed at once, in
the calling thread, so that the result is there when the call returns.

Displaying an App shows the live widget where a kernel runs it, and the
current figure as a plain PNG elsewhere (GitHub, nbviewer), because its
``_repr_mimebundle_`` carries both.
"""

from __future__ import annotations

import base64
import difflib
import html
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets
from matplotlib.figure import Figure
from traitlets import TraitError

from ..plots import to_png
from ..plots._style import View, pin_x_labels, style

__all__ = ["App"]

SLIDER_WIDTH_PX = 300
"""ipywidgets' default width of a slider with its label and readout (the ``--jp-widgets-inline-width``)."""

_SLIDERS = (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.IntRangeSlider,
            ipywidgets.FloatRangeSlider, ipywidgets.SelectionSlider)

WORKER_IDLE_SECONDS = 30.0
"""An App's worker thread ends after this long without work (and starts again at the next change)."""


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


def _kernel() -> Any:
    """The Jupyter kernel running this code, or None (a script, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    return getattr(get_ipython(), "kernel", None)


def kernel_is_running() -> bool:
    """True inside a Jupyter kernel (where widget messages arrive from a browser)."""
    return _kernel() is not None


def from_browser() -> bool:
    """True while the kernel handles a message from the browser's widgets (a learner moved a control)."""
    kernel = _kernel()
    try:
        return kernel.get_parent("shell")["header"]["msg_type"] == "comm_msg"
    except Exception:  # noqa: BLE001 - no kernel, or one without get_parent: not a browser's message
        return False


class _Newest:
    """A thread that runs ``job`` when asked; asked again while running, it runs once more, not once per ask.

    ``ask()`` returns at once. The thread ends after :data:`WORKER_IDLE_SECONDS` without a request and is
    started again by the next one.
    """

    def __init__(self, job: Callable[[], Any], name: str) -> None:
        self._job = job
        self._name = name
        self._wake = threading.Condition()
        self._asked = False
        self._running = False
        self._thread: threading.Thread | None = None
        self.runs = 0  # jobs run so far

    def ask(self) -> None:
        with self._wake:
            self._asked = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()

    @property
    def busy(self) -> bool:
        """True while a job runs or a request waits."""
        with self._wake:
            return self._asked or self._running

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no job runs and none is asked for; False if still busy after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            while self._asked or self._running:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._wake.wait(left)
        return True

    def _loop(self) -> None:
        while True:
            with self._wake:
                if not self._asked:
                    self._wake.wait_for(lambda: self._asked, timeout=WORKER_IDLE_SECONDS)
                if not self._asked:
                    self._thread = None
                    return
                self._asked, self._running = False, True
                self.runs += 1
            try:
                self._job()
            finally:
                with self._wake:
                    self._running = False
                    self._wake.notify_all()


class App:
    """Controls wired to an experiment and a figure.

    Parameters
    ----------
    controls
        Name -> ipywidgets control (slider, dropdown, text box, checkbox). The
        names are the compute function's keyword arguments.
    compute
        ``compute(**values) -> result``.
    view
        ``view() -> View``: makes the figure (once, at the first update); its
        ``show(result)`` changes it to show a result and returns it.
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

    Attributes
    ----------
    background
        None (default): a change that comes from the browser is computed by the
        App's worker thread, any other change at once; True or False to send
        every change to the worker, or none.
    """

    def __init__(self, controls: Mapping[str, ipywidgets.ValueWidget], compute: Callable[..., Any],
                 view: Callable[[], View], *, name: str = "widget", title: str = "",
                 initial_values: Mapping[str, Any] | None = None,
                 presets: Mapping[str, Mapping[str, Any]] | None = None, run_button: bool = False,
                 pass_progress: bool = False, invalid_example: Mapping[str, Any] | None = None) -> None:
        if not controls:
            raise ValueError("controls is empty; an App needs at least one control")
        self.name = name
        self.controls: dict[str, ipywidgets.ValueWidget] = dict(controls)
        self._compute = compute
        self._make_view = view
        self._view: View | None = None
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
        self.background: bool | None = None
        self._updating = threading.Lock()  # one update at a time: the worker's, or a direct call's
        self._worker = _Newest(self.update, name=f"{name}-updates")
        self._holding = False
        self._applying_preset = False

        self._lay_out(title, run_button)
        self._set_initial(dict(initial_values or {}))
        self._connect()
        self.update()

    def _lay_out(self, title: str, run_button: bool) -> None:
        """Make the figure's image, the message area, the bar of buttons, and arrange them with the controls."""
        for key, control in self.controls.items():
            _fit_control(key, control)
        self.image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%", height="auto"))
        self.message = ipywidgets.HTML(value="")
        self.progress = ipywidgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="progress",
                                                 layout=ipywidgets.Layout(display="none"))
        self.run_button = ipywidgets.Button(description="Run", button_style="primary", icon="play") \
            if run_button else None
        self.preset_picker = ipywidgets.Dropdown(options=list(self.presets), value=None, description="scenario",
                                                 style={"description_width": "initial"}) if self.presets else None
        top: list[ipywidgets.Widget] = [ipywidgets.HTML(value=title)] if title else []
        bar = [w for w in (self.preset_picker, self.run_button, self.progress) if w is not None]
        if bar:
            top.append(ipywidgets.HBox(bar))
        controls_box = ipywidgets.Box(list(self.controls.values()),
                                      layout=ipywidgets.Layout(display="flex", flex_flow="row wrap"))
        self.widget = ipywidgets.VBox(top + [controls_box, self.message, self.image])

    def _connect(self) -> None:
        for control in self.controls.values():
            control.observe(self._on_control_change, names="value")
        if self.preset_picker is not None:
            self.preset_picker.observe(self._on_preset, names="value")
        if self.run_button is not None:
            self.run_button.on_click(lambda _button: self.run())

    # ------------------------------------------------------------------------------------------
    # values

    @property
    def values(self) -> dict[str, Any]:
        """The current control values, name -> value."""
        return {key: control.value for key, control in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Set several controls at once, then update once, now (or mark stale with a Run button).

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
        self._changed(now=True)

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
        self._changed(now=False)

    def _changed(self, *, now: bool) -> None:
        """A control changed: mark the figure stale (Run button), or update it, at once or in the worker."""
        if self.preset_picker is not None and not self._applying_preset:
            self.preset_picker.value = None  # the settings no longer match the chosen scenario
        if self.run_button is not None:
            self.stale = True
            self._show_note("Settings changed: press Run to compute.")
        elif not now and (from_browser() if self.background is None else self.background):
            self._worker.ask()
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

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the worker has shown the newest values; False if it is still busy after ``timeout`` s."""
        return self._worker.wait(timeout)

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
        """Recompute and redraw with the current control values, in the calling thread.

        Returns True on success. On an error (an invalid setting, a diverging
        run, a bug) the figure is hidden and ``message`` explains in one line;
        ``error`` keeps the exception for whoever wants the details.
        """
        with self._updating:
            values = self.values
            start = time.perf_counter()
            try:
                result = self._call_compute(values)
                computed = time.perf_counter()
                figure, png = self._draw(result)
            except Exception as error:  # noqa: BLE001 - a teaching widget shows a message, never a traceback
                self.error = error
                self._show_error(error)
                return False
            finally:
                self.progress.layout.display = "none"
            drawn = time.perf_counter()
            self.result, self.figure, self.png, self.error, self.stale = result, figure, png, None, False
            self.timings = {"compute": computed - start, "draw": drawn - computed}
            self._show_png(png)
            self.message.value = ""
            return True

    def _call_compute(self, values: dict[str, Any]) -> Any:
        if self.pass_progress:
            return self._compute(**values, progress=self.report_progress)
        return self._compute(**values)

    def _draw(self, result: Any) -> tuple[Figure, bytes]:
        """Show ``result`` in the view (made at the first call) and encode the figure: (figure, PNG)."""
        with style():  # the figure's state and its PNG belong together: no other drawing in between
            first = self._view is None
            if first:
                self._view = self._make_view()
            figure = self._view.show(result)
            if not isinstance(figure, Figure):
                raise TypeError(f"the view's show() returned {type(figure).__name__}, not a matplotlib Figure")
            png = to_png(figure, fast=True)
            if first:
                pin_x_labels(figure)  # the view's figure is drawn again and again: see pin_x_labels
            return figure, png

    def _show_png(self, png: bytes) -> None:
        self.image.value = png
        # show the PNG at its own pixel width (the PNG header holds it): a stretched figure looks blurred
        self.image.width = str(int.from_bytes(png[16:20], "big"))
        self.image.layout.display = None

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


def _fit_control(key: str, control: ipywidgets.Widget) -> None:
    """Label, width, margin and update mode of a control: sliders report their value while they are dragged."""
    if not control.description:
        control.description = key
    if isinstance(control, _SLIDERS):
        control.continuous_update = True
        if not control.layout.width:
            # the label takes its own width out of the control's: widen a control with a long label, so that its
            # track keeps about 130 px next to the readout (a 28-character label left a bare knob)
            control.layout.width = f"{max(SLIDER_WIDTH_PX, _label_px(control.description) + 200)}px"
    elif hasattr(control, "continuous_update"):
        control.continuous_update = False  # a number box: computed when the typing is done (Enter or leaving it)
    control.style.description_width = "initial"
    if not control.layout.margin:
        control.layout.margin = "2px 16px 2px 0px"  # some air between controls sharing a row


def _range(control: ipywidgets.Widget) -> tuple[float | None, float | None]:
    """The (min, max) a numeric control can take, or (None, None)."""
    if isinstance(control, ipywidgets.FloatLogSlider):
        return control.base ** control.min, control.base ** control.max
    if hasattr(control, "min") and hasattr(control, "max") and not isinstance(control, ipywidgets.FloatProgress):
        return control.min, control.max
    return None, None
