"""Self-checks of notebook 03 (dying ReLU)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..diagnostics import dead_fraction as _dead_fraction
from ._core import CheckResult, _kind, check_function, check_value, is_placeholder

NOTEBOOK = "03"
__all__ = ["check_dead_fraction", "check_dying_lr", "check_revival_predictions"]


def _reference_dead_fraction(out: np.ndarray) -> float:
    """Reference: :func:`vanishing.diagnostics.dead_fraction`."""
    return _dead_fraction(out)


def _dead_fraction_inputs() -> list[np.ndarray]:
    """Crafted ReLU outputs (N examples x D units), simplest first; each catches a common slip."""
    return [
        np.array([[0.0, 1.0], [0.0, 2.0]]),                       # one dead unit of two
        np.array([[0.5, 1.0, 2.0], [0.1, 0.0, 3.0]]),             # none dead, one zero output
        np.array([[0.0, 0.0, 3.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]),  # alive on one example only
        np.array([[0.0, 1.0], [0.0, 0.0], [0.0, 2.0], [0.0, 0.0]]),       # N != D: the axis matters
        np.array([[0.0, 5e-324, 0.0], [0.0, 0.0, 0.0]]),          # a subnormal output is still non-zero
        np.array([[-0.0, 0.0, 1.0]]),                             # one example; -0.0 is a zero
        np.zeros((3, 4)),                                         # everything dead
        np.array([[0.0, 0.25], [0.0, 0.0]], dtype=np.float32),    # float32
    ]


def check_dead_fraction(fn: Any) -> CheckResult:
    r"""Notebook 03: ``dead_fraction(out)`` returns the fraction of units (columns) that are 0 on every example.

    Compared with :func:`vanishing.diagnostics.dead_fraction` on crafted
    inputs: a unit alive on a single example, a subnormal output (non-zero,
    so alive), non-square inputs (the axis matters), -0.0, one example, float32.
    The first input on which the learner's function differs is reported.
    """
    return check_function(
        fn, _reference_dead_fraction, _dead_fraction_inputs(), rtol=1e-12, atol=1e-12, name="dead_fraction",
        check_dtype=False,
        hint="a unit is one column of out (N examples x D units); it is dead when every entry of its column is "
             "exactly 0, and alive if even one entry is non-zero, however small: look down each column "
             "(axis=0), then take the mean over the columns",
    )


def check_dying_lr(lr: Any, *, ratio: float = 1.25) -> CheckResult:
    r"""Notebook 03: a learning rate at which more than half of the units die, but not at ``lr / ratio``.

    Runs :func:`vanishing.experiments.dead_after_training` (3 hidden layers of
    16 ReLU units, plain SGD, 100 updates, mean over 3 seeds) at ``lr`` and at
    ``lr / ratio``: passes when the first is above 1/2 and the second is not.
    """
    from ..experiments.dying_relu import dead_after_training  # numpy-only, imported when the check runs

    name = "dying_lr"
    todo = "set lr_half_dead to the learning rate you found and run this check again"
    if is_placeholder(lr):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (int, float, np.integer, np.floating)):
        return CheckResult(False, name, f"expected a number, got {_kind(lr)}",
                           hint="give the learning rate itself, e.g. lr_half_dead = 2.5")
    lr = float(lr)
    if not np.isfinite(lr) or lr <= 0 or lr > 100:
        return CheckResult(False, name, f"lr = {lr:g} is not a learning rate this experiment can use; "
                           "allowed: 0 < lr <= 100", hint="the interesting range lies between 0.1 and 10")
    at = dead_after_training(lr)
    below = dead_after_training(lr / ratio)
    text = f"at lr = {lr:.3g}, {at:.0%} of the units are dead after training; at lr / {ratio:g} = " \
           f"{lr / ratio:.3g}, {below:.0%}"
    if at > 0.5 and below <= 0.5:
        return CheckResult(True, name, f"{text}: more than half die at your learning rate and not just below it.")
    if at <= 0.5:
        return CheckResult(False, name, f"{text}: at your learning rate no more than half die.",
                           hint="try larger learning rates: dead_after_training(lr) rises with lr on the "
                                "whole, though not smoothly")
    return CheckResult(False, name, f"{text}: more than half die already at the smaller learning rate.",
                       hint=f"look lower: you want the first point of a grid with ratio {ratio:g} where "
                            "more than half die")


def _revival_reasons() -> dict[str, tuple[bool, str]]:
    """Scenario -> (revives?, why), for the scenarios of ``REVIVAL_QUESTIONS``; measured with the engine."""
    from ..experiments.dying_relu import REVIVAL_QUESTIONS, revival_run, sign_flip_step

    why = {
        "RMSProp + L2 decay 0.01": "RMSProp divides the decay gradient λp by its own running size, about λ|p|, so "
                                   "every parameter moves towards 0 by about η per step whatever its size, as "
                                   "under Adam: W and b stop shrinking in proportion and xW + b changes sign",
        "SGD + momentum 0.9 + L2 decay 0.01": "with zero gradient every parameter follows p_t = a_t p_0 with one "
                                              "scalar a_t, a damped oscillation when ηλ > (1 − √μ)² (0.005 > "
                                              "0.0026 here): a_t overshoots below 0, and then z = a_t z_0 > 0 for "
                                              "every input (predicted step {flip})",
        "SGD + momentum 0.9 + L2 decay 0.001": "ηλ = 0.0005 < (1 − √μ)² ≈ 0.0026: the common factor a_t decays "
                                               "to 0 without changing sign, so every z = a_t z_0 stays negative",
        "AdamW (decoupled decay 0.1)": "decoupled decay multiplies every parameter by (1 − ηλ), and Adam's own step "
                                       "is 0/ε = 0 (its m and v stay 0 with zero gradients): a proportional "
                                       "shrink, like SGD + L2, which never changes the sign of xW + b",
    }
    answers = {}
    for name, settings in REVIVAL_QUESTIONS.items():
        run = revival_run(name)
        flip = sign_flip_step(settings["lr"], settings.get("weight_decay", 0.0), settings.get("momentum", 0.0))
        when = f"first alive at step {run.first_alive}" if run.revived else f"no unit alive in {len(run.loss)} steps"
        answers[name] = (run.revived, f"{why[name].format(flip=flip)} (measured: {when})")
    return answers


def check_revival_predictions(predictions: Any) -> CheckResult:
    """Notebook 03: predict, for each scenario of ``REVIVAL_QUESTIONS``, whether a unit of the dead network revives.

    ``predictions`` maps each scenario name to True (some unit comes back to
    life within 150 full-batch steps) or False. The check trains the dead
    network in each scenario and explains every wrong prediction from the
    update rule.
    """
    from ..experiments.dying_relu import REVIVAL_QUESTIONS

    name = "revival_predictions"
    todo = "replace each None in predictions with True (revives) or False (stays dead)"
    if is_placeholder(predictions):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not isinstance(predictions, Mapping):
        return CheckResult(False, name, f"expected a dict of scenario -> True/False, got {_kind(predictions)}",
                           hint="start from the dict in the cell and replace each None")
    unknown = [k for k in predictions if k not in REVIVAL_QUESTIONS]
    if unknown:
        return CheckResult(False, name, f"unknown scenario name(s) {unknown}; allowed: {list(REVIVAL_QUESTIONS)}",
                           hint="keep the keys of the dict as they are in the cell")
    missing = [k for k in REVIVAL_QUESTIONS if is_placeholder(predictions.get(k))]
    if len(missing) == len(REVIVAL_QUESTIONS):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if missing:
        return CheckResult(None, name, f"not attempted yet for: {', '.join(missing)}")
    bad = [k for k, v in predictions.items() if not isinstance(v, (bool, np.bool_))]
    if bad:
        return CheckResult(False, name, f"the prediction for {bad[0]!r} is {predictions[bad[0]]!r}; "
                           "expected True or False", hint="write True (revives) or False (stays dead)")
    answers = _revival_reasons()
    wrong = [k for k in REVIVAL_QUESTIONS if bool(predictions[k]) != answers[k][0]]
    if not wrong:
        detail = "; ".join(f"{k}: {'revives' if answers[k][0] else 'stays dead'}" for k in REVIVAL_QUESTIONS)
        return CheckResult(True, name, f"all {len(REVIVAL_QUESTIONS)} predictions are right ({detail}).")
    first = wrong[0]
    verb = "revives" if answers[first][0] else "stays dead"
    return check_value(
        predictions, predicate=lambda _v: f"{len(wrong)} of {len(REVIVAL_QUESTIONS)} wrong; first: {first!r} "
                                          f"{verb}: {answers[first][1]}",
        name=name, hint="write the update of a parameter p whose gradient is 0: what multiplies p, and does it "
                        "treat W and b alike?")
