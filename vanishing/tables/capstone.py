"""Notebook 08 (capstone): a dashboard run condensed into the few numbers a diagnosis rests on.

:func:`symptoms` reads them from a :class:`vanishing.experiments.DashboardRun`;
:func:`symptom_table` prints them side by side for several runs, one row per
symptom, rounded to two significant digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..experiments.capstone import DashboardRun
from ._core import text_table

__all__ = ["symptom_table", "symptoms"]

NOTEBOOK = "08"


def _ratio(top: float, bottom: float) -> float:
    """top / bottom; nan for 0/0 or a non-finite value, inf for x/0."""
    if not (math.isfinite(top) and math.isfinite(bottom)) or top == bottom == 0:
        return math.nan
    return math.inf if bottom == 0 else float(top / bottom)


def _largest(values: np.ndarray, kinds: tuple[str, ...], kind: str) -> float:
    chosen = [v for v, k in zip(values, kinds, strict=True) if k == kind and not math.isnan(v)]
    return float(max(chosen)) if chosen else math.nan


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else math.nan


def symptoms(run: DashboardRun) -> dict[str, Any]:
    """The numbers a diagnosis rests on, by name.

    ``loss_start`` (step 1) and ``loss_end`` (mean of the last 10 steps; the last loss after a divergence);
    ``test_accuracy`` at the end (nan after a divergence); ``signal_ratio`` ‖∂L/∂z₁‖/‖∂L/∂z_L‖ and
    ``weight_ratio`` ‖∂L/∂W₁‖/‖∂L/∂W_L‖, first over last Dense layer, at step 1, and ``signal_ratio_end``
    at the last record (nan for 0/0). At the end of the run (nan after a divergence, whose model is not
    finite; nan where the network has no such layer): ``saturated`` and ``dead``, the largest fraction of
    any hidden layer; ``std_first``, ``std_last``, the spread of the outputs of the first and the last
    hidden activation layer on the probe examples; ``mean_last``, the mean of the last one's outputs.
    Over the run: ``update_first``, ``update_last``, the median ‖ΔW‖/‖W‖ per step of the first and the
    last Dense layer. ``diverged_at``: the step that diverged, or None.
    """
    nan = math.nan
    signal, weight = run.backward_signal, run.grad_norms
    ended = len(run.probe_steps) > 0 and not run.diverged
    health = run.health[-1] if ended else np.full(len(run.health_kinds), nan)
    std, mean = (run.act_std[-1], run.act_mean[-1]) if ended else ([nan], [nan])
    return {
        "loss_start": float(run.loss[0]) if len(run.loss) else nan,
        "loss_end": (float(run.loss[-1]) if run.diverged else float(np.mean(run.loss[-10:]))) if len(run.loss)
        else nan,
        "test_accuracy": run.final_accuracy,
        "signal_ratio": _ratio(signal[0, 0], signal[0, -1]) if len(signal) else nan,
        "signal_ratio_end": _ratio(signal[-1, 0], signal[-1, -1]) if ended and len(signal) else nan,
        "weight_ratio": _ratio(weight[0, 0], weight[0, -1]) if len(weight) else nan,
        "saturated": _largest(health, run.health_kinds, "saturated"),
        "dead": _largest(health, run.health_kinds, "dead"),
        "std_first": float(std[0]),
        "std_last": float(std[-1]),
        "mean_last": float(mean[-1]),
        "update_first": _median(run.update_ratio[:, 0]) if len(run.update_ratio) else nan,
        "update_last": _median(run.update_ratio[:, -1]) if len(run.update_ratio) else nan,
        "diverged_at": run.steps if run.diverged else None,
    }


def _g(value: float, digits: int = 2) -> str:
    """``value`` to ``digits`` significant digits; "-" for nan (not measured, or 0/0)."""
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "0" if value == 0 else f"{value:.{digits}g}"


def _loss(value: float) -> str:
    """A loss to 2 significant digits; "nan" or "inf" as such (a diverged run)."""
    return _g(value) if math.isfinite(value) else str(value)


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


ROWS = (
    ("loss, step 1 -> end", lambda s: f"{_g(s['loss_start'])} -> {_loss(s['loss_end'])}"),
    ("test accuracy", lambda s: _percent(s["test_accuracy"])),
    ("‖∂L/∂z₁‖ / ‖∂L/∂z_L‖, step 1 -> end", lambda s: f"{_g(s['signal_ratio'])} -> {_g(s['signal_ratio_end'])}"),
    ("‖∂L/∂W₁‖ / ‖∂L/∂W_L‖, step 1", lambda s: _g(s["weight_ratio"])),
    ("saturated, most in a layer", lambda s: _percent(s["saturated"])),
    ("dead, most in a layer", lambda s: _percent(s["dead"])),
    ("output std, first -> last layer", lambda s: f"{_g(s['std_first'])} -> {_g(s['std_last'])}"),
    ("output mean, last layer", lambda s: _g(s["mean_last"])),
    ("‖ΔW‖ / ‖W‖ per step, first, last", lambda s: f"{_g(s['update_first'], 1)}, {_g(s['update_last'], 1)}"),
    ("diverged", lambda s: "-" if s["diverged_at"] is None else f"at step {s['diverged_at']}"),
)
"""The rows of :func:`symptom_table`: a label and how to print it from :func:`symptoms`."""


def symptom_table(runs: Mapping[str, DashboardRun]) -> str:
    """The :func:`symptoms` of each run in a column under its name, one row per symptom (2 significant digits).

    "-" marks what was not measured (no such layer, 0/0, the end of a run that diverged). Output
    statistics are over the hidden activation layers' outputs on the probe examples, at the end.
    """
    if not isinstance(runs, Mapping) or not all(isinstance(r, DashboardRun) for r in runs.values()):
        raise TypeError("runs must be a dict of name -> DashboardRun (from vanishing.experiments.train_dashboard)")
    found = [symptoms(run) for run in runs.values()]
    return text_table(["", *runs], [[label, *(show(s) for s in found)] for label, show in ROWS])
