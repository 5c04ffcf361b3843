"""Self-checks of notebook 03 (dying ReLU)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._core import CheckResult, _fmt, _kind, check_value, is_placeholder

NOTEBOOK = "03"
__all__ = ["check_alive_input", "check_dying_lr", "check_revival_predictions"]


def check_alive_input(x: Any, setup: Any) -> CheckResult:
    r"""Notebook 03: a point ``x``, shape (2,), where unit 0 of the dead network is alive: :math:`x\cdot w_0 + b_0 > 0`.

    ``setup`` is the notebook's :func:`vanishing.scenarios.dead_setup` result:
    unit 0 of its hidden layer must be dead on ``setup.X``. Passes when the
    unit's pre-activation at ``x`` is positive, and says how far ``x`` lies from
    the nearest training point.
    """
    name = "alive_input"
    if is_placeholder(x):
        return CheckResult(None, name, "not attempted yet: set x_alive to an array of shape (2,) and run this check "
                                       "again")
    try:
        W, b = setup.hidden.params["W"], setup.hidden.params["b"]
        data = np.asarray(setup.X, dtype=np.float64)
    except (AttributeError, KeyError, TypeError):
        return CheckResult(False, name, f"setup must be the result of vn.scenarios.dead_setup, got {_kind(setup)}",
                           hint="pass the notebook's setup as the second argument")
    w, b0 = np.asarray(W[:, 0], dtype=np.float64), float(b[0])
    if np.max(data @ w + b0) > 0:
        return CheckResult(False, name, "unit 0 of this setup is alive on its own data, so the exercise does not "
                                        "apply to it", hint="rebuild it: vn.scenarios.dead_setup('binary', "
                                                            "rng=np.random.default_rng(0))")
    try:
        point = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return CheckResult(False, name, f"expected an array of shape (2,), got {_kind(x)}",
                           hint="e.g. x_alive = np.array([1.0, 2.0])")
    if point.shape != (2,) or not np.isfinite(point).all():
        return CheckResult(False, name, f"expected an array of 2 finite numbers, got {_kind(x)}",
                           hint="one point of the plane: x_alive = np.array([x1, x2])")
    z = float(point @ w + b0)
    if z > 0:
        nearest = float(np.min(np.linalg.norm(data - point, axis=1)))
        return CheckResult(True, name, f"x · w_0 + b_0 = {z:.3g} > 0: unit 0 is alive at your point, which lies "
                                       f"{nearest:.2f} from the nearest training point; on every training point "
                                       f"it is negative (at most {np.max(data @ w + b0):.3g}).")
    return CheckResult(False, name, f"x · w_0 + b_0 = {z:.3g} at your point: unit 0 is still dead there",
                       hint=f"z(x) = x · w_0 + b_0 is linear in x and grows fastest along w_0 = {_fmt(w)}, with "
                            f"b_0 = {b0:.3g}: how far along w_0 must you go?")


def check_dying_lr(lr: Any, *, ratio: float = 1.25) -> CheckResult:
    r"""Notebook 03: a learning rate at which more than half of the units die, but not at ``lr / ratio``.

    Runs :func:`vanishing.experiments.dead_after_training` (3 hidden layers of
    16 ReLU units, plain SGD, 100 updates, mean over the 3 networks of
    ``rng=np.random.default_rng(0)``) at ``lr`` and at ``lr / ratio``: passes
    when the first is above 1/2 and the second is not.
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
    at = dead_after_training(lr, rng=np.random.default_rng(0))
    below = dead_after_training(lr / ratio, rng=np.random.default_rng(0))
    text = f"at lr = {lr:.3g}, {at:.0%} of the units are dead after training; at lr / {ratio:g} = " \
           f"{lr / ratio:.3g}, {below:.0%}"
    if at > 0.5 and below <= 0.5:
        return CheckResult(True, name, f"{text}: more than half die at your learning rate and not just below it.")
    if at <= 0.5:
        return CheckResult(False, name, f"{text}: at your learning rate no more than half die.",
                           hint="try larger learning rates: dead_after_training(lr, rng=...) rises with lr on the "
                                "whole, though not smoothly")
    return CheckResult(False, name, f"{text}: more than half die already at the smaller learning rate.",
                       hint=f"look lower: you want the first point of a grid with ratio {ratio:g} where "
                            "more than half die")


def _revival_reasons() -> dict[str, tuple[bool, str]]:
    """Scenario -> (revives?, why), for the scenarios of ``REVIVAL_QUESTIONS``, measured with :func:`dead_run`."""
    from ..experiments.dying_relu import REVIVAL_QUESTIONS, dead_run, sign_flip_step

    why = {
        "RMSProp + L2 decay 0.01": "RMSProp divides the decay gradient λp by its own running size, about λ|p|, so "
                                   "every parameter moves towards 0 by about η per step whatever its size, as "
                                   "under Adam: W and b stop shrinking in proportion and xW + b changes sign",
        "SGD + momentum 0.9 + L2 decay 0.01": "with zero gradient every parameter follows p_t = a_t p_0 with one "
                                              "scalar a_t, a damped oscillation when ηλ > (1 − √μ)² (0.005 > "
                                              "0.0026 here): a_t overshoots below 0, and then z = a_t z_0 > 0 for "
                                              "every input (predicted: after update {flip})",
        "SGD + momentum 0.9 + L2 decay 0.001": "ηλ = 0.0005 < (1 − √μ)² ≈ 0.0026: the common factor a_t decays "
                                               "to 0 without changing sign, so every z = a_t z_0 stays negative",
        "AdamW (decoupled decay 0.1)": "decoupled decay multiplies every parameter by (1 − ηλ), and Adam's own step "
                                       "is 0/ε = 0 (its m and v stay 0 with zero gradients): a proportional "
                                       "shrink, like SGD + L2, which never changes the sign of xW + b",
    }
    answers = {}
    for name, settings in REVIVAL_QUESTIONS.items():
        run = dead_run(**settings, steps=150, rng=np.random.default_rng(0))
        flip = sign_flip_step(settings["lr"], settings.get("weight_decay", 0.0), settings.get("momentum", 0.0), 150)
        first = run.first_alive
        when = f"first alive after update {first}" if first is not None else "no unit alive in 150 updates"
        answers[name] = (first is not None, f"{why[name].format(flip=flip)} (measured: {when})")
    return answers


def check_revival_predictions(predictions: Any) -> CheckResult:
    """Notebook 03: predict, for each scenario of ``REVIVAL_QUESTIONS``, whether a unit of the dead network revives.

    ``predictions`` maps each scenario name to True (some unit comes back to
    life within 150 full-batch updates) or False. The check trains the dead
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
