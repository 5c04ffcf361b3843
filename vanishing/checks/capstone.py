"""Self-checks of notebook 08 (capstone): name the cause of a mystery network's failure, then fix it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._core import CheckResult, _fmt, is_placeholder

NOTEBOOK = "08"
__all__ = ["check_diagnosis", "check_fix"]

_ANSWERS = {
    "A": "learning rate too high",
    "B": "dead ReLU",
    "C": "saturation",
    "D": "weights too small",
    "E": "missing normalization",
}

_EVIDENCE = {
    "A": "the loss and the gradient norms grow by many orders of magnitude within ten steps, and training stops "
         "with a DivergenceError",
    "B": "every unit of the last hidden layer is dead (0 for every input), so no gradient reaches any weight below "
         "it and every update is exactly 0",
    "C": "almost every tanh output sits within 0.01 of ±1 (the histograms pile up at the ends of each band), so "
         "the units pass back little gradient and the test accuracy stays near chance",
    "D": "the activations shrink layer by layer to a spike at 0 and the gradients of every layer are tiny, while "
         "no unit is saturated or dead",
    "E": "no unit is saturated or dead and the activations keep their spread, yet the gradient norm shrinks by a "
         "steady factor per layer towards the input, so the first layers barely move",
}

_HINTS = {
    "A": "read the message above the figure and the loss panel: how many steps did this network train?",
    "B": "look at the unit-health panel (bottom middle) and at the gradient panels: what fraction of the units "
         "still respond to any input, and how large are the gradients?",
    "C": "look at where the outputs sit in the activation histograms, and at the bottom-middle panel",
    "D": "compare the activation spread of the first and the last hidden layer, and look at the histogram "
         "bands: is anything saturated or dead? Would a 10 times larger step change the picture?",
    "E": "nothing is saturated or dead: compare the gradient norms of the first and the last layer "
         "(the profile, bottom right) and their update ratios",
}

_FIX_HINTS = {
    "A": "with momentum 0.9 a step grows to about lr / (1 - 0.9) = 10 lr once the velocity builds up; a learning "
         "rate 10 times smaller still kills the ReLU units here (watch the dead fraction): go further down",
    "B": "start the hidden biases at 0 (with He init the units then respond to about half the inputs), or put "
         "batchnorm before each ReLU",
    "C": "an init whose forward gain n_in·Var[W] is about 1 (Glorot) keeps tanh in its sensitive range",
    "D": "an init whose forward gain n_in·Var[W] is about 1 (Glorot, or a uniform bound near sqrt(3/n_in))",
    "E": "batchnorm before each sigmoid, or an activation and init that pass the gradient through (ReLU with He, "
         "tanh with Glorot)",
}


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _mystery_name(mystery: Any) -> str | None:
    from ..experiments.capstone import MYSTERIES

    if isinstance(mystery, str) and mystery.strip().upper() in MYSTERIES:
        return mystery.strip().upper()
    return None


def check_diagnosis(mystery: Any, cause: Any) -> CheckResult:
    """Notebook 08: ``cause`` names why mystery network ``mystery`` ("A" ... "E") fails.

    ``cause`` is one of the names in :data:`vanishing.experiments.CAUSES`
    (case, underscores and hyphens do not matter). A wrong name gets a hint
    about which panel of the dashboard to read.
    """
    from ..experiments.capstone import CAUSES, MYSTERIES

    name = _mystery_name(mystery)
    check_name = f"diagnosis of mystery {name or mystery}"
    if name is None:
        return CheckResult(False, "diagnosis", f"mystery={_fmt(mystery)} is not one of "
                                               f"{', '.join(map(repr, MYSTERIES))}")
    if is_placeholder(cause):
        return CheckResult(None, check_name, "not attempted yet: set the diagnosis to one of the cause names "
                                             "printed by vn.experiments.causes_table() and run the cell")
    known = {_normalise(c): c for c in CAUSES}
    if not isinstance(cause, str) or _normalise(cause) not in known:
        return CheckResult(False, check_name, f"{_fmt(cause)} is not one of the cause names; choose one of "
                                              f"{', '.join(map(repr, CAUSES))}")
    chosen = known[_normalise(cause)]
    answer = _ANSWERS[name]
    if chosen == answer:
        return CheckResult(True, check_name, f"{chosen!r} is right: {_EVIDENCE[name]}.")
    return CheckResult(False, check_name, f"{chosen!r} does not explain what this dashboard shows.",
                       hint=_HINTS[name])


def check_fix(mystery: Any, changes: Any) -> CheckResult:
    """Notebook 08: the settings ``changes`` repair mystery network ``mystery``.

    ``changes`` is a dict of dashboard settings to change (``{"lr": 0.05}``);
    the data set, depth, width, batch size, number of steps and seed stay as
    they are (:data:`vanishing.experiments.FIXED_FOR_FIX`). The check trains
    the repaired network for the mystery's number of steps, reports the test
    accuracy it reaches, and passes at :data:`vanishing.experiments.FIX_ACCURACY`
    or more.
    """
    from ..experiments.capstone import FIX_ACCURACY, MYSTERIES, fixed_settings, train_dashboard

    name = _mystery_name(mystery)
    check_name = f"fix of mystery {name or mystery}"
    if name is None:
        return CheckResult(False, "fix", f"mystery={_fmt(mystery)} is not one of {', '.join(map(repr, MYSTERIES))}")
    if is_placeholder(changes):
        return CheckResult(None, check_name, 'not attempted yet: set the fix to a dict of settings to change, '
                                             'such as {"lr": 0.05}, and run the cell')
    if not isinstance(changes, Mapping):
        return CheckResult(False, check_name, f"expected a dict of settings to change, got {_fmt(changes)}",
                           hint='for example {"init": "glorot_uniform", "scale": 1.0}')
    base = MYSTERIES[name]
    real = {key: value for key, value in changes.items() if getattr(base, key, object()) != value}
    if not real:
        return CheckResult(False, check_name, "these settings are the mystery network's own: nothing changed",
                           hint=_FIX_HINTS[name])
    try:
        settings = fixed_settings(name, changes)
    except (TypeError, ValueError) as error:
        return CheckResult(False, check_name, f"these settings cannot be used: {error}")
    run = train_dashboard(settings, record=False)  # the same training, recording only its end
    changed = ", ".join(f"{key}={value!r}" for key, value in real.items())
    if run.diverged:
        return CheckResult(False, check_name, f"with {changed} the training diverged at step {run.steps}",
                           hint=_FIX_HINTS[name])
    accuracy = run.final_accuracy
    summary = f"with {changed}, {run.steps} steps reach a test accuracy of {accuracy:.0%}"
    if accuracy >= FIX_ACCURACY:
        return CheckResult(True, check_name, f"{summary} (at least {FIX_ACCURACY:.0%} needed).")
    return CheckResult(False, check_name, f"{summary}; at least {FIX_ACCURACY:.0%} is needed.",
                       hint=_FIX_HINTS[name])
