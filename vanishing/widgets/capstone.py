"""Notebook 08 (capstone): the gradient-health dashboard, live while it trains, with a Stop button.

Press **Run** and the network trains in the background while the dashboard
follows it; **Stop** ends the run after the current step (see
:mod:`vanishing.widgets._training` for how the live view works). Where no
kernel runs the widget (a test, a script), Run trains in the calling thread and
returns when the run has ended, without live frames.
"""

from __future__ import annotations

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
from ..plots.capstone import DashboardView
from ._training import Session, TrainingApp

__all__ = ["DashboardApp", "gradient_dashboard"]

NOTEBOOK = "08"

BATCH_SIZES = (16, 32, 64, 128)

PRESETS: dict[str, dict[str, Any]] = {
    **{name: settings.as_dict() for name, settings in SCENARIOS.items()},
    **{f"mystery {name}": settings.as_dict() for name, settings in MYSTERIES.items()},
}
"""The scenario menu: settings from the earlier notebooks, and the notebook's mystery networks."""


def _train(live: Session, **values: Any) -> DashboardRun:
    """Train one dashboard run, live: frames of the trainer's snapshots, Stop through its request_stop."""
    settings = DashboardSettings(**values)
    trainer = DashboardTrainer(settings)
    live.when_stopped(trainer.request_stop)
    run = trainer.run(callbacks=[live.callback(settings.steps, lambda _state: trainer.snapshot())])
    if run.diverged:
        live.diverged = run.divergence or "the loss or a weight became non-finite."
    elif run.stopped:
        live.stopped = f"Stopped at step {run.steps} of {settings.steps}."
    return run


class DashboardApp(TrainingApp):
    """The dashboard's :class:`~vanishing.widgets._training.TrainingApp`: trains a :class:`DashboardTrainer`."""

    def __init__(self, controls: dict[str, ipywidgets.ValueWidget], **options: Any) -> None:
        super().__init__(controls, _train, DashboardView, **options)


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
