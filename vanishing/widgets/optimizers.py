"""Notebook 07 (optimizers): optimizers' paths on 2-D loss surfaces, side by side."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.optimizers import LOSS_SURFACES, OPTIMIZER_METHODS, OptimizerComparison, compare_optimizers
from ..plots.optimizers import TrajectoryView
from ._app import App

__all__ = ["optimizer_paths"]

NOTEBOOK = "07"

METHOD_SETS = {
    "SGD, momentum, Adam": ("sgd", "momentum", "adam"),
    "all five": OPTIMIZER_METHODS,
    "SGD, momentum, Nesterov": ("sgd", "momentum", "nesterov"),
    "RMSProp, Adam": ("rmsprop", "adam"),
    "SGD": ("sgd",),
    "momentum": ("momentum",),
    "Nesterov": ("nesterov",),
    "RMSProp": ("rmsprop",),
    "Adam": ("adam",),
}
"""The ``methods`` dropdown: which optimizers to overlay."""

SURFACE_CHOICES = {
    "ill-conditioned quadratic": "ill_conditioned",
    "Rosenbrock valley": "rosenbrock",
    "saddle x² − y²": "saddle",
    "plateau c·max(0, x) + y²/2": "plateau",
}

PRESETS = {
    "ravine: SGD zig-zags": {"surface": "ill_conditioned", "methods": "SGD, momentum, Adam", "lr": 0.036,
                             "momentum": 0.9},
    "ravine: Nesterov at SGD's lr diverges": {"surface": "ill_conditioned", "methods": "SGD, momentum, Nesterov",
                                              "lr": 0.036, "momentum": 0.9},
    "Rosenbrock: all five": {"surface": "rosenbrock", "methods": "all five", "steps": 500},
    "saddle: start on the ridge": {"surface": "saddle", "methods": "SGD, momentum, Adam", "y0": 0.0, "noise": 0.0},
    "saddle: ridge + gradient noise": {"surface": "saddle", "methods": "SGD, momentum, Adam", "y0": 0.0,
                                       "noise": 0.01},
    "saddle: start 1e-8 off the ridge": {"surface": "saddle", "methods": "SGD, momentum, Adam", "y0": 1e-8,
                                         "noise": 0.0},
    "plateau: SGD crawls": {"surface": "plateau", "methods": "SGD, momentum, Adam", "noise": 0.0},
    "plateau + noise: Adam slows down": {"surface": "plateau", "methods": "SGD, momentum, Adam", "noise": 0.05},
}
"""Scenarios for a live demo: ``optimizer_paths(preset="saddle: start on the ridge")``."""


def _compute(surface: str, methods: str, lr: float, adaptive_lr: float, momentum: float, beta1: float,
             beta2: float, x0: float, y0: float, noise: float, steps: int, seed: int) -> OptimizerComparison:
    check.non_negative("seed", seed, integer=True)
    return compare_optimizers(surface, check.lookup("methods", methods, METHOD_SETS), start=(x0, y0), steps=steps,
                              lr=lr, adaptive_lr=adaptive_lr, momentum=momentum, beta1=beta1, beta2=beta2,
                              noise=noise, rng=np.random.default_rng(seed))


def optimizer_paths(**initial_values: Any) -> App:
    """Widget: several optimizers from the same start on a 2-D loss surface; paths and loss against step.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``surface`` (``"ill_conditioned"``, ``"rosenbrock"``, ``"saddle"``,
    ``"plateau"``), ``methods`` (a set from :data:`METHOD_SETS`), ``lr`` (SGD,
    momentum and Nesterov), ``adaptive_lr`` (RMSProp and Adam), ``momentum``
    (μ), ``beta1``, ``beta2`` (Adam), ``x0``, ``y0`` (the start), ``noise``
    (σ of Gaussian noise added to every gradient component), ``steps``,
    ``seed`` (of the noise). Choosing a surface resets the start, both
    learning rates and the number of steps to that surface's defaults.
    Computes :func:`vanishing.experiments.compare_optimizers` and draws
    :func:`vanishing.plots.trajectory_plot`.

    Example: ``optimizer_paths(surface="saddle", noise=0.01)``.
    """
    first = LOSS_SURFACES["ill_conditioned"]
    controls = {
        "surface": ipywidgets.Dropdown(options=list(SURFACE_CHOICES.items()), value="ill_conditioned",
                                       description="surface"),
        "methods": ipywidgets.Dropdown(options=list(METHOD_SETS), value="SGD, momentum, Adam",
                                       description="optimizers"),
        "lr": ipywidgets.FloatLogSlider(value=first.lr, base=10, min=-4, max=0, step=0.05, readout_format=".2g",
                                        description="lr (SGD, momentum, Nesterov)"),
        "adaptive_lr": ipywidgets.FloatLogSlider(value=first.adaptive_lr, base=10, min=-4, max=0, step=0.05,
                                                 readout_format=".2g", description="lr (RMSProp, Adam)"),
        "momentum": ipywidgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum μ"),
        "beta1": ipywidgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="Adam β₁"),
        "beta2": ipywidgets.FloatSlider(value=0.999, min=0.5, max=0.9999, step=0.0001, readout_format=".4f",
                                        description="Adam β₂"),
        "x0": ipywidgets.FloatSlider(value=first.start[0], min=-3.0, max=3.0, step=0.05, readout_format=".3g",
                                     description="start x"),
        "y0": ipywidgets.FloatSlider(value=first.start[1], min=-3.0, max=3.0, step=0.05, readout_format=".3g",
                                     description="start y"),
        "noise": ipywidgets.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.01, description="gradient noise σ"),
        "steps": ipywidgets.IntSlider(value=first.steps, min=10, max=500, step=10, description="steps"),
        "seed": ipywidgets.IntText(value=0, description="noise seed", layout=ipywidgets.Layout(width="12em")),
    }
    holder: list[App] = []
    # the surface first: choosing it resets the start and learning rates, which later keys may then override
    initial_values = dict(sorted(initial_values.items(), key=lambda item: item[0] not in ("preset", "surface")))

    def follow_surface(change: dict[str, Any]) -> None:
        # a new surface starts from its own start point, learning rates and length, in one update
        surface = LOSS_SURFACES[change["new"]]
        app = holder[0] if holder else None
        holding = app._holding if app is not None else False  # App.set (a scenario) may be holding already
        if app is not None:
            app._holding = True
        try:
            controls["x0"].value, controls["y0"].value = surface.start
            controls["lr"].value = surface.lr
            controls["adaptive_lr"].value = surface.adaptive_lr
            controls["steps"].value = surface.steps
        finally:
            if app is not None:
                app._holding = holding

    # registered before the App's own observer, so the App's update sees the new defaults
    controls["surface"].observe(follow_surface, names="value")
    app = App(
        controls, _compute, TrajectoryView, name="optimizer_paths",
        title="<b>Optimizers on a 2-D loss.</b> All start from the black dot; the + marks the minimum (or the "
              "saddle point). SGD, momentum and Nesterov use the first learning rate, RMSProp and Adam the second: "
              "an SGD step is lr × gradient, an Adam step is about lr. A path that leaves the window stops with a ×.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )
    holder.append(app)
    return app


WIDGETS = {"optimizer_paths": optimizer_paths}
