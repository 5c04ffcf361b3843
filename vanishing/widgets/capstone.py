"""Notebook 08 (capstone): the gradient-health dashboard, live while it trains, with a Stop button.

How the live view works
-----------------------
Press **Run** and the network trains in a background thread, so that the
kernel stays free to receive the clicks of the widget's buttons. A callback
of :func:`vanishing.train.fit` moves the progress bar every
:data:`PROGRESS_INTERVAL` seconds of wall time and, :data:`FRAME_INTERVAL`
seconds after the last frame was shown, hands a snapshot of what has been
recorded to a second thread that draws the dashboard and puts the PNG into
the widget's image. Training never waits for a drawing, so the progress bar
keeps moving while a frame is drawn; a slow drawing (a busy machine) means
fewer frames, not a stalled bar. Changes of a widget's value made from a
thread reach the browser at once (ipykernel sends them on its IOPub thread).

**Stop** calls the trainer's ``request_stop()``, which sets a flag; a
callback reads it after every step and sets ``state.stop``, so
:func:`~vanishing.train.fit` ends after that step. The click is handled by
the kernel's main thread, which is idle while the training thread runs, so it
takes effect at the next step end. The final figure is then drawn (the
progress bar says "drawing" meanwhile).

Where no kernel runs the widget (a test, a script), Run trains in the calling
thread and returns when the run has ended, without live frames, so that
results are deterministic and a test can inspect them at once. Set
``app.background`` and ``app.live`` to force either behaviour.

One process draws with matplotlib in the drawing thread while the training
runs: avoid running other plotting cells during a run (matplotlib's style
settings are global).
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets

from ..activations import ACTIVATIONS
from ..experiments.capstone import (
    DASHBOARD_DATASETS,
    MYSTERIES,
    SCENARIOS,
    DashboardRun,
    DashboardSettings,
    DashboardTrainer,
)
from ..init import INITIALIZERS
from ..models import BATCHNORM_POSITIONS
from ..optim import OPTIMIZERS
from ..plots.capstone import dashboard
from ..train import Callback, TrainState
from ._app import App, Redraw, kernel_is_running

__all__ = ["DashboardApp", "gradient_dashboard"]

NOTEBOOK = "08"

PROGRESS_INTERVAL = 0.1
"""Seconds of wall time between two moves of the progress bar during training."""

FRAME_INTERVAL = 0.4
"""Seconds of wall time from the end of one live frame to the request for the next."""

BATCH_SIZES = (16, 32, 64, 128)

PRESETS: dict[str, dict[str, Any]] = {
    **{name: settings.as_dict() for name, settings in SCENARIOS.items()},
    **{f"mystery {name}": settings.as_dict() for name, settings in MYSTERIES.items()},
}
"""The scenario menu: settings from the earlier notebooks, and the notebook's mystery networks."""

_WARNING = "#D55E00"  # Okabe–Ito vermillion, as the App's messages
_NOTE = "#7f7f7f"


class _Live(Callback):
    """During fit: stop on request, move the progress bar, and ask the drawing thread for frames."""

    def __init__(self, app: DashboardApp, trainer: DashboardTrainer, progress: Any, draw: bool) -> None:
        self.app = app
        self.trainer = trainer
        self.progress = progress
        self.draw = draw
        self._last_progress = -float("inf")
        self._last_frame = time.perf_counter()  # the first frame after FRAME_INTERVAL of training
        self._started = self._last_frame
        # how long a frame takes to draw: at first the App's last full drawing, then the last frame's
        self._frame_seconds: float | None = (getattr(app, "timings", None) or {}).get("draw")
        self._pending: DashboardRun | None = None
        self._wake = threading.Condition()
        self._done = False
        self._drawer = threading.Thread(target=self._draw_frames, name="dashboard-frames", daemon=True) \
            if draw else None
        if self._drawer is not None:
            self._drawer.start()

    def on_train_begin(self, state: TrainState) -> None:
        self._started = time.perf_counter()
        self.progress(0.0)

    def on_step_end(self, state: TrainState) -> None:
        now = time.perf_counter()
        if now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.progress(state.step / self.trainer.settings.steps)
        if self._drawer is not None and now - self._last_frame >= FRAME_INTERVAL and not self._ends_first(state, now):
            with self._wake:
                if self._pending is None:  # the drawer has taken the last snapshot: give it a new one
                    self._last_frame = now
                    self._pending = self.trainer.snapshot()
                    self._wake.notify()

    def _ends_first(self, state: TrainState, now: float) -> bool:
        """True if training will likely end before a frame asked for now is drawn.

        Such a frame would be out of date at once, and the final figure would wait for it: the time from the
        last step to the final figure would be two drawings instead of one. The estimate assumes the steps
        left take as long as the ones so far, and a drawing slows training down (both threads share the
        interpreter), hence the margin.
        """
        if self._frame_seconds is None or state.step == 0:
            return False
        left = (now - self._started) / state.step * (self.trainer.settings.steps - state.step)
        return left < 1.5 * self._frame_seconds

    def _draw_frames(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._done:
                    self._wake.wait()
                if self._pending is None:
                    return
                run = self._pending
            began = time.perf_counter()
            self.app._show_frame(run)
            self._frame_seconds = time.perf_counter() - began
            with self._wake:
                self._pending = None
                # the next frame waits FRAME_INTERVAL after this one is done: however slow a drawing is, the
                # training thread keeps most of the time (and the progress bar keeps moving)
                self._last_frame = time.perf_counter()

    def close(self) -> None:
        """Stop the drawing thread and wait for it (before the final figure is drawn into the same figure)."""
        if self._drawer is None:
            return
        with self._wake:
            self._done = True
            self._pending = None
            self._wake.notify()
        self._drawer.join()


class DashboardApp(App):
    """An :class:`~vanishing.widgets._app.App` that trains in the background, redraws live, and can be stopped.

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

    def __init__(self, controls: dict[str, ipywidgets.ValueWidget], **options: Any) -> None:
        self.stop_button = ipywidgets.Button(description="Stop", icon="stop", button_style="warning",
                                             disabled=True, tooltip="end training after the current step")
        self.background: bool | None = None
        self.live: bool | None = None
        self.progress_times: list[float] = []
        self.frame_times: list[float] = []
        self._stop_requested = False
        self._trainer: DashboardTrainer | None = None
        self._thread: threading.Thread | None = None
        self._building = True
        super().__init__(controls, self._train, Redraw(dashboard), run_button=True, pass_progress=True, **options)
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
        if not self._in_background():
            self._begin()
            try:
                return self.update()
            finally:
                self._end()
        self._begin()
        self._thread = threading.Thread(target=self._run_in_thread, name="dashboard-training", daemon=True)
        self._thread.start()
        return True

    def _run_in_thread(self) -> None:
        try:
            self.update()
        finally:
            self._end()

    def _begin(self) -> None:
        self._stop_requested = False
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
        self._stop_requested = True
        trainer = self._trainer
        if trainer is not None:
            trainer.request_stop()

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

    def _train(self, progress: Any, **values: Any) -> DashboardRun:
        settings = DashboardSettings(**values)
        trainer = DashboardTrainer(settings)
        self._trainer = trainer
        if self._stop_requested:  # Stop pressed while the network was being built
            trainer.request_stop()
        live = _Live(self, trainer, progress, draw=self._live_frames())
        self.progress.description = "training"
        try:
            run = trainer.run(callbacks=[live])
            # training is over; a frame may still be on its way, and the final figure takes a moment to draw:
            # the bar says so until the figure is shown
            self.progress.description = "drawing"
            progress(run.steps / settings.steps)
        finally:
            live.close()
        return run

    def _show_frame(self, run: DashboardRun) -> None:
        """Draw a snapshot of a run in progress into the widget's image (called by the drawing thread)."""
        try:
            _figure, png = self._draw(run)
        except Exception:  # noqa: BLE001 - a frame that cannot be drawn is skipped; the final figure reports
            return
        self.image.value = png
        self.image.layout.display = None
        self.frame_times.append(time.perf_counter())

    def update(self) -> bool:
        """Train and draw now (in the calling thread); then say how the run ended, if not normally."""
        values = self.values
        ok = super().update()
        if not ok or not isinstance(self.result, DashboardRun):
            return ok
        run = self.result
        if run.diverged:
            self.message.value = (
                f'<div style="color: {_WARNING}; border-left: 4px solid {_WARNING}; padding: 0.4em 0.8em; '
                f'margin: 0.3em 0;">⚠ {html.escape("Training diverged: " + (run.divergence or ""))} '
                f"The dashboard shows the run up to that step.</div>")
        elif run.stopped:
            self._show_note(f"Stopped at step {run.steps} of {run.settings.steps}.")
        if self.values != values:  # a control moved while the run was going on
            self.stale = True
            self._show_note("Settings changed during the run: press Run to train with them.")
        return ok


def gradient_dashboard(**initial_values: Any) -> DashboardApp:
    """Widget: build any network of the course, train it, and watch its gradient health as it trains.

    Controls (all accepted as keyword arguments, as is ``preset``, which picks
    one of :data:`PRESETS`): ``dataset``, ``depth`` (1-12 hidden layers),
    ``width`` (4-64 units), ``activation`` (every activation of the course),
    ``init`` and ``scale`` (the bound of ``uniform``, the standard deviation of
    ``normal``, the gain of Glorot and He), ``bias`` (initial hidden bias),
    ``batchnorm`` (none, before, after), ``optimizer``, ``lr``, ``momentum``
    (SGD), ``beta1`` and ``beta2`` (Adam, AdamW; ``beta2`` is ρ for RMSProp),
    ``weight_decay`` (L2; decoupled for AdamW), ``batch_size``, ``steps``,
    ``seed``. Press **Run** to train (:class:`vanishing.experiments.DashboardTrainer`)
    and **Stop** to end early; the figure is :func:`vanishing.plots.dashboard`.

    Example: ``gradient_dashboard(preset="mystery A")``.
    """
    d = DashboardSettings()
    controls: dict[str, ipywidgets.ValueWidget] = {
        "dataset": ipywidgets.Dropdown(options=list(DASHBOARD_DATASETS), value=d.dataset, description="data"),
        "depth": ipywidgets.IntSlider(value=d.depth, min=1, max=12, description="hidden layers"),
        "width": ipywidgets.IntSlider(value=d.width, min=4, max=64, step=4, description="units per layer"),
        "activation": ipywidgets.Dropdown(options=list(ACTIVATIONS), value=d.activation, description="activation"),
        "init": ipywidgets.Dropdown(options=list(INITIALIZERS), value=d.init, description="init"),
        "scale": ipywidgets.FloatLogSlider(value=d.scale, base=10, min=-2, max=1, step=0.05,
                                           description="init scale"),
        "bias": ipywidgets.FloatSlider(value=d.bias, min=-3.0, max=1.0, step=0.1, description="hidden bias"),
        "batchnorm": ipywidgets.Dropdown(options=list(BATCHNORM_POSITIONS), value=d.batchnorm,
                                         description="batchnorm"),
        "optimizer": ipywidgets.Dropdown(options=list(OPTIMIZERS), value=d.optimizer, description="optimizer"),
        "lr": ipywidgets.FloatLogSlider(value=d.lr, base=10, min=-4, max=1, step=0.1, description="learning rate"),
        "momentum": ipywidgets.FloatSlider(value=d.momentum, min=0.0, max=0.99, step=0.01,
                                           description="momentum (SGD)"),
        "beta1": ipywidgets.FloatSlider(value=d.beta1, min=0.0, max=0.99, step=0.01, description="β1 (Adam)"),
        "beta2": ipywidgets.FloatSlider(value=d.beta2, min=0.9, max=0.9999, step=0.0001, readout_format=".4f",
                                        description="β2 (Adam) / ρ"),
        "weight_decay": ipywidgets.FloatSlider(value=d.weight_decay, min=0.0, max=0.1, step=0.001,
                                               readout_format=".3f", description="weight decay"),
        "batch_size": ipywidgets.Dropdown(options=list(BATCH_SIZES), value=d.batch_size, description="batch size"),
        "steps": ipywidgets.IntSlider(value=d.steps, min=50, max=1000, step=50, description="steps"),
        "seed": ipywidgets.IntText(value=d.seed, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return DashboardApp(
        controls, name="gradient_dashboard",
        title="<b>Gradient-health dashboard:</b> choose a network and its training, press <b>Run</b>, and watch "
              "it learn (or not); <b>Stop</b> ends the run early. <i>scenario</i> loads settings from the earlier "
              "notebooks or a mystery network. <i>init scale</i>: the bound of uniform, the standard deviation of "
              "normal, the gain of Glorot and He.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"gradient_dashboard": gradient_dashboard}
