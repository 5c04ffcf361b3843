"""Notebook 04 (leaky variants): a variant's slope, its derivative, and training from a bad start against ReLU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.leaky import LeakyExploration, explore_variant
from ..plots.leaky import LeakyExplorerView
from ._training import Session, TrainingApp

__all__ = ["leaky_explorer"]

NOTEBOOK = "04"

SEEDS_PER_RUN = 3
"""Each run trains the variant and ReLU from this many starts, drawn from ``default_rng(seed)``."""

VARIANT_CHOICES = (("Leaky ReLU", "leaky_relu"), ("PReLU", "prelu"), ("RReLU", "rrelu"), ("ReLU", "relu"))
"""The ``variant`` dropdown: label shown, activation name."""

PRESETS = {
    "Leaky α = 0.01: as stuck as ReLU": {"variant": "leaky_relu", "alpha": 0.01, "depth": 6, "bias": -1.0},
    "Leaky α = 0.2: some seeds recover": {"variant": "leaky_relu", "alpha": 0.2, "depth": 6, "bias": -1.0},
    "PReLU from α = 0.25": {"variant": "prelu", "alpha": 0.25, "depth": 6, "bias": -1.0},
    "RReLU, a ~ U(3, 8)": {"variant": "rrelu", "depth": 6, "bias": -1.0},
    "a healthy start: biases at 0": {"variant": "leaky_relu", "alpha": 0.01, "depth": 6, "bias": 0.0},
}
"""Scenarios for a live demo: ``leaky_explorer(preset="PReLU from α = 0.25")``."""


STEPS = 80
"""SGD steps of every run (batches of 50, momentum 0.9, lr 0.1: :func:`vanishing.experiments.train_variant`)."""


def _explore(live: Session, variant: str, alpha: float, depth: int, bias: float, seed: int) -> LeakyExploration:
    """The variant and ReLU from the same bad start, start after start: a frame after each pair of runs.

    :func:`~vanishing.experiments.explore_variant` with ``rng=np.random.default_rng(seed)`` and
    ``SEEDS_PER_RUN`` starts. ``alpha`` is Leaky ReLU's slope, or PReLU's starting slope; RReLU uses Xu et al.'s
    a ~ U(3, 8) and ReLU ignores it. Stop ends the exploration after the run under way (the figure shows the
    starts done).
    """
    check.non_negative("seed", seed, integer=True)
    check.number("alpha", alpha, low=0, high=1)

    def after_start(k: int, so_far: Callable[[], LeakyExploration]) -> bool:
        live.progress(k / SEEDS_PER_RUN)
        if live.stop_requested and k < SEEDS_PER_RUN:
            live.stopped = f"Stopped after {k} of {SEEDS_PER_RUN} seeds."
            return False
        live.offer_frame(so_far, k / SEEDS_PER_RUN)
        return True

    return explore_variant(variant, alpha, rng=np.random.default_rng(seed), starts=SEEDS_PER_RUN, depth=depth,
                           bias=bias, steps=STEPS, after_start=after_start)


def leaky_explorer(**initial_values: Any) -> TrainingApp:
    """Widget: pick a variant and its slope, then train it from a bad start next to ReLU (Run button).

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``variant`` (``"leaky_relu"``, ``"prelu"``, ``"rrelu"``, ``"relu"``),
    ``alpha`` (0-1: Leaky ReLU's slope, PReLU's starting slope; RReLU uses
    a ~ U(3, 8), ReLU ignores it), ``depth`` (2-10 hidden layers of 16 units),
    ``bias`` (the starting value of every hidden bias, -2 to 0.5; negative
    values start units dead), ``seed`` (draws three starts). Each run trains
    the variant and ReLU from the same weights for 80 SGD steps on two moons
    (as :func:`vanishing.experiments.explore_variant`, one start after the
    other: the figure follows, and Stop ends the exploration after the start
    under way) and draws :func:`vanishing.plots.leaky_explorer_plot`.

    Example: ``leaky_explorer(variant="prelu", depth=8)``.
    """
    controls = {
        "variant": ipywidgets.Dropdown(options=list(VARIANT_CHOICES), value="leaky_relu", description="variant"),
        "alpha": ipywidgets.FloatSlider(value=0.2, min=0.0, max=1.0, step=0.01, description="slope α",
                                        readout_format=".2f"),
        "depth": ipywidgets.IntSlider(value=6, min=2, max=10, description="hidden layers"),
        "bias": ipywidgets.FloatSlider(value=-1.0, min=-2.0, max=0.5, step=0.25, description="starting bias"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return TrainingApp(
        controls, _explore, LeakyExplorerView, name="leaky_explorer",
        title="<b>A leaky variant against ReLU, from a bad start:</b> every hidden bias starts at <i>starting "
              "bias</i>. Press <i>Run</i> to train both from the same weights (3 seeds, 80 steps). <i>slope α</i> "
              "is Leaky ReLU's slope and PReLU's starting slope; RReLU draws 1/a with a ~ U(3, 8).",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"leaky_explorer": leaky_explorer}
