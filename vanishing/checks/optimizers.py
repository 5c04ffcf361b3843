"""Self-checks of notebook 07 (optimizers)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._core import CheckResult, _fmt, _kind, call_learner, is_placeholder

NOTEBOOK = "07"
__all__ = ["check_adam_step", "check_rosenbrock_settings"]


# --- the Adam step ---------------------------------------------------------------------------------------------------

ADAM_RUNS = (
    # (lr, beta1, beta2, eps): the defaults first, then settings that expose hard-coded constants
    (0.01, 0.9, 0.999, 1e-8),
    (0.1, 0.5, 0.8, 1e-3),
)


def _adam_gradients() -> np.ndarray:
    """Eight steps of gradients for three weights: ordinary, one that is exactly 0 at first, one far below eps."""
    return np.array([
        [0.5, 0.0, 2e-9],
        [-0.2, 0.0, 2e-9],
        [0.3, 1.0, -1e-9],
        [0.1, -1.0, 3e-9],
        [-0.4, 0.5, 2e-9],
        [0.25, 0.0, 0.0],
        [-0.05, 2.0, 1e-9],
        [0.6, -0.5, 2e-9],
    ])


def _variant(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float, beta1: float,
             beta2: float, eps: float, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A common slip in the Adam step, for naming what a wrong answer did."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * (g if kind == "v_from_g" else g * g)
    tt = {"t_plus_1": t + 1, "t_minus_1": max(t - 1, 1)}.get(kind, t)
    m_hat, v_hat = m / (1 - beta1 ** tt), v / (1 - beta2 ** tt)
    if kind == "no_correction":
        m_hat, v_hat = m, v
    if kind == "eps_inside":
        return w - lr * m_hat / np.sqrt(v_hat + eps), m, v
    if kind == "v_from_g":
        return w - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


_SLIPS = {
    "no_correction": "it matches Adam without bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t) "
                     "before the update",
    "eps_inside": "it matches eps added inside the square root; the engine adds eps after it: sqrt(v_hat) + eps",
    "t_plus_1": "it matches bias correction with t + 1: the first step is t = 1, so use beta1**t and beta2**t",
    "t_minus_1": "it matches bias correction with t - 1: the first step is t = 1, so use beta1**t and beta2**t",
    "v_from_g": "it matches v averaged from g instead of g**2: v = beta2 * v + (1 - beta2) * g * g",
}


def _name_slip(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, settings: tuple, got: Any,
               which: int) -> str | None:
    for kind, text in _SLIPS.items():
        try:
            candidate = _variant(w, g, m, v, t, *settings, kind=kind)[which]
        except FloatingPointError:
            continue
        if np.allclose(np.asarray(got, dtype=np.float64), candidate, rtol=1e-9, atol=0.0):
            return text
    return None


def check_adam_step(fn: Any) -> CheckResult:
    r"""Notebook 07: ``adam_step(w, g, m, v, t, lr, beta1, beta2, eps) -> (w, m, v)`` does what the engine's Adam does.

    The learner's function is run on eight steps of gradients, twice (the
    default settings, then ``lr=0.1, beta1=0.5, beta2=0.8, eps=1e-3``),
    feeding its own ``m`` and ``v`` into the next step as a training loop
    would. After every step its ``(w, m, v)`` is compared with the engine's
    (:class:`vanishing.optim.Adam` on a :class:`~vanishing.layers.Parameters`
    point). The verdict names the first step that differs, which of w, m, v
    differs, and, when the answer matches a common slip (no bias correction,
    ε inside the square root, t off by one, v from g instead of g²), says so.
    """
    from ..layers import Parameters
    from ..optim import Adam

    name = "adam_step"
    todo = "define adam_step(w, g, m, v, t, lr, beta1, beta2, eps) above, run the cell, then run this check"
    hint = ("m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g**2; m_hat = m/(1-beta1**t); "
            "v_hat = v/(1-beta2**t); w = w - lr*m_hat/(sqrt(v_hat) + eps); return w, m, v")
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}",
                           hint="pass the function itself: check_adam_step(adam_step)")
    gradients = _adam_gradients()
    for run, settings in enumerate(ADAM_RUNS, start=1):
        lr, beta1, beta2, eps = settings
        point = Parameters(np.array([1.0, -0.5, 0.25]))
        engine = Adam(point, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
        w = point.params["w"].copy()
        m, v = np.zeros(3), np.zeros(3)
        where = f"lr={lr:g}, beta1={beta1:g}, beta2={beta2:g}, eps={eps:g}"
        for t, g in enumerate(gradients, start=1):
            before = (w.copy(), g.copy(), m.copy(), v.copy())
            with np.errstate(all="ignore"):
                out, verdict = call_learner(fn, (w.copy(), g.copy(), m.copy(), v.copy(), t, lr, beta1, beta2, eps),
                                            name=name, todo=todo, hint=hint, where=f"at step t={t} ({where})")
            if verdict is not None:
                return verdict
            if not isinstance(out, (tuple, list)) or len(out) != 3:
                return CheckResult(False, name, f"your function returned {_kind(out)}; expected a tuple (w, m, v)",
                                   hint="end with: return w, m, v")
            point.grads["w"][...] = g
            engine.step()
            expected = (point.params["w"], engine.state["w"]["m"], engine.state["w"]["v"])
            for which, (label, got, want) in enumerate(zip("wmv", out, expected, strict=True)):
                try:
                    got_arr = np.asarray(got, dtype=np.float64)
                except (TypeError, ValueError):
                    return CheckResult(False, name, f"at step t={t} ({where}) your {label} is {_kind(got)}, "
                                                    "not an array of numbers", hint=hint)
                if got_arr.shape != want.shape:
                    return CheckResult(False, name, f"at step t={t} your {label} has shape {got_arr.shape}; "
                                                    f"expected {want.shape}", hint=hint)
                if not np.allclose(got_arr, want, rtol=1e-9, atol=1e-15):
                    i = int(np.flatnonzero(~np.isclose(got_arr, want, rtol=1e-9, atol=1e-15))[0])
                    slip = _name_slip(*before, t, settings, got_arr, which)
                    message = (f"first difference at step t={t} (run {run}: {where}), in {label}[{i}]: "
                               f"yours {_fmt(float(got_arr[i]))}, the engine's {_fmt(float(want[i]))} "
                               f"(gradient g[{i}] = {_fmt(float(g[i]))})")
                    if slip:
                        message += f"; {slip}"
                    return CheckResult(False, name, message, hint=hint)
            w, m, v = (np.array(x, dtype=np.float64) for x in out)
    return CheckResult(True, name, f"matches the engine's Adam at every one of {len(gradients)} steps, "
                                   f"with both settings ({len(ADAM_RUNS)} runs).")


# --- the Rosenbrock valley -------------------------------------------------------------------------------------------

def check_rosenbrock_settings(settings: Any) -> CheckResult:
    """Notebook 07: optimizer settings that bring the Rosenbrock run within 0.05 of (1, 1) in 500 steps.

    ``settings`` is a dict with ``"method"`` (``"sgd"``, ``"momentum"``,
    ``"nesterov"``, ``"rmsprop"``, ``"adam"``), ``"lr"``, and optionally the
    method's own settings (``"momentum"``, ``"beta1"``, ``"beta2"``, ``"rho"``,
    ``"eps"``). The check runs
    :func:`vanishing.experiments.optimizers.rosenbrock_attempt` from (−1.2, 1)
    and reports the final distance to the minimum.
    """
    from ..experiments.optimizers import OPTIMIZER_METHODS, ROSENBROCK_BUDGET, ROSENBROCK_TOLERANCE, rosenbrock_attempt

    name = "rosenbrock_settings"
    example = '{"method": "momentum", "lr": 0.001, "momentum": 0.9}'
    if is_placeholder(settings):
        return CheckResult(None, name, f"not attempted yet: set rosenbrock_settings to a dict such as {example}")
    if not isinstance(settings, dict):
        return CheckResult(False, name, f"expected a dict such as {example}, got {_kind(settings)}")
    options = dict(settings)
    method = options.pop("method", None)
    lr = options.pop("lr", None)
    if method not in OPTIMIZER_METHODS:
        return CheckResult(False, name, f"'method' is {method!r}; allowed: {', '.join(map(repr, OPTIMIZER_METHODS))}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        return CheckResult(False, name, f"'lr' is {lr!r}; it must be a positive number")
    try:
        run = rosenbrock_attempt(method, float(lr), **options)
    except (TypeError, ValueError) as error:
        return CheckResult(False, name, f"these settings do not work: {error}")
    distance = run.distance_to_minimum()
    where = f"{run.label} from (-1.2, 1)"
    if run.left_at > 0:
        return CheckResult(False, name, f"{where} left the window at step {run.left_at}: it diverged",
                           hint="the learning rate is too large for this valley's steep walls; try one 3-10x smaller")
    if distance < ROSENBROCK_TOLERANCE:
        return CheckResult(True, name, f"{where} ends {distance:.2g} from (1, 1) after {ROSENBROCK_BUDGET} steps "
                                       f"(f = {run.values[-1]:.2g}).")
    hint = {
        "sgd": "plain SGD cannot: an lr small enough for the steep walls crawls along the floor. Add momentum",
        "rmsprop": "RMSProp without momentum keeps bouncing at a step of about lr; try Adam or momentum",
    }.get(method, "in the widget, try larger learning rates (until the path starts to leave the window) and "
                  "a momentum or beta1 close to 1")
    return CheckResult(False, name, f"{where} ends {distance:.2g} from (1, 1) after {ROSENBROCK_BUDGET} steps; "
                                    f"it needs to be below {ROSENBROCK_TOLERANCE:g}", hint=hint)
