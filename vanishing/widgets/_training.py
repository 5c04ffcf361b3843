"""Widgets that train: Run trains in the background, the figure follows the run, Stop ends it.

How the live view works
-----------------------
Press **Run** and the network trains in a background thread, so that the
kernel stays free to receive the clicks of the widget's buttons. The compute
function gets a :class:`Session` as its ``live`` argument; a callback it makes
with ``live.callback(...)`` (and hands to :func:`vanishing.train.fit`) moves the
progress bar every :data:`PROGRESS_INTERVAL` seconds of wall time and,
:data:`FRAME_INTERVAL` seconds after the last frame was shown, hands a snapshot
of what has been recorded to a second thread that draws it into the widget's
figure (the App's view, the figure the final result is drawn into too).
Training never waits for a drawing, so the progress bar keeps moving while a
frame is drawn; a slow drawing (a busy machine) means fewer frames, not a
stalled bar. No frame is asked for when training would likely end before it is
drawn: the final figure would wait for it. Changes of a widget's value made
from a thread reach the browser at once (ipykernel sends them on its IOPub
thread).

**Stop** sets a flag; the callback reads it after every step and ends
:func:`~vanishing.train.fit` there (a compute that trains several networks one
after the other also checks ``live.stop_requested`` between them). The click
is handled by the kernel's main thread, which is idle while the training thread
runs, so it takes effect at the next step end. The final figure is then drawn
(the progress bar says "drawing" meanwhile), with a note that says where the
run was stopped, or that it diverged.

Where no kernel runs the widget (a test, a script, a benchmark), Run trains in
the calling thread and returns when the run has ended, without live frames, so
that results are deterministic and a test can inspect them at once. Set
``app.background`` and ``app.live`` to force either behaviour.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets

from ..train import Callback, TrainState
from ._app import _WARNING_COLOUR, App, kernel_is_running

__all__ = ["FRAME_INTERVAL", "PROGRESS_INTERVAL", "Session", "TrainingApp"]

PROGRESS_INTERVAL = 0.1
"""Seconds of wall time between two moves of the progress bar during training."""

FRAME_INTERVAL = 0.4
"""Seconds of wall time from the end of one live frame to the request for the next."""


class _Frames:
    """The drawing thread of a run: draws the newest snapshot it is given, one at a time."""

    def __init__(self, app: TrainingApp) -> None:
        self.app = app
        self.last = time.perf_counter()  # the first frame FRAME_INTERVAL after the start
        # how long a frame takes to draw: at first the App's last full drawing, then the last frame's
        self.seconds: float | None = (app.timings or {}).get("draw")
        self._pending: Any = None
        self._wake = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._draw_frames, name=f"{app.name}-frames", daemon=True)
        self._thread.start()

    def offer(self, snapshot: Callable[[], Any], now: float) -> None:
        """Hand ``snapshot()`` to the drawing thread if it has taken the last one (else do nothing)."""
        with self._wake:
            if self._pending is None and not self._done:
                self.last = now
                self._pending = snapshot()
                self._wake.notify()

    def _draw_frames(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._done:
                    self._wake.wait()
                if self._pending is None:
                    return
                snapshot = self._pending
            began = time.perf_counter()
            self.app._show_frame(snapshot)
            self.seconds = time.perf_counter() - began
            with self._wake:
                self._pending = None
                # the next frame waits FRAME_INTERVAL after this one is done: however slow a drawing is, the
                # training thread keeps most of the time (and the progress bar keeps moving)
                self.last = time.perf_counter()

    def close(self) -> None:
        """Drop a frame not begun, and wait for one being drawn (the final figure goes into the same figure)."""
        with self._wake:
            self._done = True
            self._pending = None
            self._wake.notify()
        self._thread.join()


class Session:
    """One press of Run, as the compute function sees it: its ``live`` argument.

    ``callback(steps, snapshot)`` makes a :class:`~vanishing.train.Callback`
    for :func:`~vanishing.train.fit` that moves the progress bar, asks for live
    frames (``snapshot(state)``, given fit's :class:`~vanishing.train.TrainState`,
    returns what to draw: a result as far as it goes) and ends the run when Stop
    is pressed. A compute that trains several networks
    one after the other gives each its place in the whole (``before``,
    ``total``), checks ``stop_requested`` between them and may offer a frame
    with :meth:`offer_frame`. It sets ``stopped`` or ``diverged`` to a sentence
    that the widget shows under its figure.
    """

    def __init__(self, app: TrainingApp, frames: bool) -> None:
        self.app = app
        self.stop_requested = False
        self.stopped: str | None = None
        self.diverged: str | None = None
        self._on_stop: list[Callable[[], Any]] = []
        self._frames = _Frames(app) if frames else None
        self._started = time.perf_counter()
        self._last_progress = -float("inf")

    def progress(self, fraction: float) -> None:
        """Move the progress bar to ``fraction`` of the run (at most every PROGRESS_INTERVAL s, and at the end)."""
        now = time.perf_counter()
        if now - self._last_progress >= PROGRESS_INTERVAL or fraction >= 1.0:
            self._last_progress = now
            self.app.report_progress(fraction)

    def offer_frame(self, snapshot: Callable[[], Any], fraction: float) -> None:
        """Ask for a frame of ``snapshot()`` if one is due and the run, ``fraction`` done, will not end first."""
        now = time.perf_counter()
        if self._frames is not None and now - self._frames.last >= FRAME_INTERVAL \
                and not self._ends_first(fraction, now):
            self._frames.offer(snapshot, now)

    def _ends_first(self, fraction: float, now: float) -> bool:
        """True if training will likely end before a frame asked for now is drawn.

        Such a frame would be out of date at once, and the final figure would wait for it: the time from the
        last step to the final figure would be two drawings instead of one. The estimate assumes the rest
        takes as long per step as the part done, and a drawing slows training down (both threads share the
        interpreter), hence the margin.
        """
        seconds = self._frames.seconds if self._frames is not None else None
        if seconds is None or fraction <= 0:
            return False
        left = (now - self._started) / fraction * (1.0 - fraction)
        return left < 1.5 * seconds

    def callback(self, steps: int, snapshot: Callable[[TrainState], Any], *, before: int = 0,
                 total: int | None = None) -> Callback:
        """A callback for a fit of ``steps`` updates, the ``before``-th to ``before + steps``-th of ``total``."""
        return _Live(self, steps, snapshot, before, total if total is not None else steps)

    def when_stopped(self, hook: Callable[[], Any]) -> None:
        """Call ``hook()`` when Stop is pressed (at once if it has been)."""
        self._on_stop.append(hook)
        if self.stop_requested:
            hook()

    def stop(self) -> None:
        self.stop_requested = True
        for hook in self._on_stop:
            hook()

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()


class _Live(Callback):
    """During fit: move the progress bar, ask for frames, stop on request (see :meth:`Session.callback`)."""

    def __init__(self, session: Session, steps: int, snapshot: Callable[[TrainState], Any], before: int,
                 total: int) -> None:
        self.session = session
        self.steps = steps
        self.snapshot = snapshot
        self.before = before
        self.total = max(total, 1)

    def on_train_begin(self, state: TrainState) -> None:
        self.session.progress(self.before / self.total)

    def on_step_end(self, state: TrainState) -> None:
        fraction = (self.before + state.step) / self.total
        self.session.progress(fraction)
        self.session.offer_frame(lambda: self.snapshot(state), fraction)
        if self.session.stop_requested:
            if self.session.stopped is None:
                self.session.stopped = f"Stopped at step {self.before + state.step} of {self.total}."
            state.stop = True


class TrainingApp(App):
    """An :class:`~vanishing.widgets._app.App` that trains in the background, redraws live, and can be stopped.

    ``compute(live=session, **values)`` receives a :class:`Session`.

    Attributes (besides those of App)
    ---------------------------------
    stop_button
        Ends the run after the current step.
    background, live
        None (default): train in a thread and draw live frames when a Jupyter
        kernel runs the widget, in the calling thread without frames otherwise;
        True or False to force either.
    progress_times, frame_times
        ``time.perf_counter()`` of every progress-bar move and every live
        frame of the last run (to measure how often the view changes).
    """

    def __init__(self, controls: Mapping[str, ipywidgets.ValueWidget], compute: Callable[..., Any],
                 view: Callable[[], Any], **options: Any) -> None:
        self.stop_button = ipywidgets.Button(description="Stop", icon="stop", button_style="warning",
                                             disabled=True, tooltip="end training after the current step")
        self.live: bool | None = None
        self.progress_times: list[float] = []
        self.frame_times: list[float] = []
        self._session: Session | None = None
        self._thread: threading.Thread | None = None
        self._building = True
        super().__init__(controls, compute, view, run_button=True, **options)
        self._building = False
        bar = next(child for child in self.widget.children
                   if isinstance(child, ipywidgets.HBox) and self.run_button in child.children)
        children = list(bar.children)
        children.insert(children.index(self.run_button) + 1, self.stop_button)
        bar.children = tuple(children)
        self.stop_button.on_click(lambda _button: self.stop())
        self.progress.description = "training"

    # ------------------------------------------------------------------------------------------
    # running

    @property
    def running(self) -> bool:
        """True while a background run is in progress."""
        return self._thread is not None and self._thread.is_alive()

    def _in_background(self) -> bool:
        return kernel_is_running() if self.background is None else bool(self.background)

    def _live_frames(self) -> bool:
        if self._building:
            return False  # the first figure is drawn once, when the widget is built
        return kernel_is_running() if self.live is None else bool(self.live)

    def run(self) -> bool:
        """Train with the current settings (the Run button).

        In the background (see ``background``) this returns True at once and
        the run goes on in a thread (``wait()`` joins it); otherwise it returns
        when the run has ended, True on success.
        """
        if self.running:
            return False
        self._begin()
        if not self._in_background():
            try:
                return self.update()
            finally:
                self._end()
        self._thread = threading.Thread(target=self._run_in_thread, name=f"{self.name}-training", daemon=True)
        self._thread.start()
        return True

    def _run_in_thread(self) -> None:
        try:
            self.update()
        finally:
            self._end()

    def _begin(self) -> None:
        self.progress_times = []
        self.frame_times = []
        self._show_note("Training: the figure follows the run; Stop ends it after the current step.")
        if self.run_button is not None:
            self.run_button.disabled = True
            self.run_button.description = "Running…"
        self.stop_button.disabled = False

    def _end(self) -> None:
        self.stop_button.disabled = True
        if self.run_button is not None:
            self.run_button.disabled = False
            self.run_button.description = "Run"

    def stop(self) -> None:
        """End the current run after its current step (the Stop button)."""
        session = self._session
        if session is not None:
            session.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; returns False if it is still running after ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def report_progress(self, fraction: float) -> None:
        self.progress_times.append(time.perf_counter())
        super().report_progress(fraction)

    # ------------------------------------------------------------------------------------------
    # computing and drawing

    def _call_compute(self, values: dict[str, Any]) -> Any:
        """Train with a new :class:`Session`; stop its drawing thread before the final figure is drawn."""
        session = Session(self, frames=self._live_frames())
        self._session = session
        self.progress.description = "training"
        try:
            result = self._compute(live=session, **values)
            # training is over; a frame may still be on its way, and the final figure takes a moment to draw:
            # the bar says so until the figure is shown
            self.progress.description = "drawing"
            self.report_progress(1.0)
            return result
        finally:
            session.close()

    def _show_frame(self, snapshot: Any) -> None:
        """Draw a snapshot of a run in progress into the widget's image (called by the drawing thread)."""
        try:
            _figure, png = self._draw(snapshot)
        except Exception:  # noqa: BLE001 - a frame that cannot be drawn is skipped; the final figure reports
            return
        self._show_png(png)
        self.frame_times.append(time.perf_counter())

    def update(self) -> bool:
        """Train and draw now (in the calling thread); then say how the run ended, if not normally."""
        values = self.values
        ok = super().update()
        session = self._session
        if not ok or session is None:
            return ok
        if session.diverged:
            self.message.value = (
                f'<div style="color: {_WARNING_COLOUR}; border-left: 4px solid {_WARNING_COLOUR}; '
                f'padding: 0.4em 0.8em; margin: 0.3em 0;">⚠ {html.escape("Training diverged: " + session.diverged)} '
                f"The figure shows the run up to that step.</div>")
        elif session.stopped:
            self._show_note(session.stopped)
        if self.values != values:  # a control moved while the run was going on
            self.stale = True
            self._show_note("Settings changed during the run: press Run to train with them.")
        return ok
