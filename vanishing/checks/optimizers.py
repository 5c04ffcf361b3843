"""Self-checks of notebook 07 (optimizers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core import CheckResult, _fmt, _kind, call_learner, is_placeholder

NOTEBOOK = "07"
__all__ = ["check_adam_step", "check_stability_limits"]


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


# --- the largest stable learning rate -----------------------------------------------------------------------------

def stability_limits(kappa: float = 50.0, momentum: float = 0.9) -> dict[str, float]:
    r"""The largest learning rates at which SGD, momentum and Nesterov converge on :math:`\tfrac12(x^2 + \kappa y^2)`.

    Along y a step is a linear map of :math:`(y, v)`; with :math:`a = \eta\kappa` its eigenvalues
    solve :math:`z = 1 - a` (SGD), :math:`z^2 - (1 + \mu - a)z + \mu = 0` (momentum) and
    :math:`z^2 - (1 + \mu)(1 - a)z + \mu(1 - a) = 0` (Nesterov). The run diverges once one
    eigenvalue passes -1: :math:`a = 2`, :math:`a = 2(1 + \mu)` and :math:`a = 2(1 + \mu)/(1 + 2\mu)`.
    """
    mu = momentum
    return {"sgd": 2 / kappa, "momentum": 2 * (1 + mu) / kappa, "nesterov": 2 * (1 + mu) / ((1 + 2 * mu) * kappa)}


def check_stability_limits(limits: Any) -> CheckResult:
    r"""Notebook 07: the largest stable learning rate of SGD, momentum and Nesterov (μ = 0.9) on the valley.

    ``limits`` is a dict ``{"sgd": ..., "momentum": ..., "nesterov": ...}``; each
    value must be within 2 % of the limit :func:`stability_limits` derives
    (0.04, 0.076 and 0.0271 for κ = 50). Usual slips get their own message: the
    limit of the *effective* step turned into a learning rate (0.004 for
    momentum), a run stopped by the plotting window (about 0.0695 for momentum),
    Nesterov given momentum's limit, and 1/κ for SGD (where the steep direction
    converges fastest, not where it stops converging).
    """
    name = "stability_limits"
    example = '{"sgd": ..., "momentum": ..., "nesterov": ...}'
    if is_placeholder(limits):
        return CheckResult(None, name, f"not attempted yet: set stable_limits to a dict {example} and run the cell")
    if not isinstance(limits, dict) or set(limits) != {"sgd", "momentum", "nesterov"}:
        got = sorted(limits) if isinstance(limits, dict) else _kind(limits)
        return CheckResult(False, name, f"expected a dict with the keys 'sgd', 'momentum' and 'nesterov', got {got}")
    expected = stability_limits()
    slips = {
        ("momentum", 0.1 * expected["sgd"]): "that is SGD's limit times (1 - mu): momentum's limit on the effective "
                                             "step lr/(1 - mu) is not SGD's",
        ("momentum", 0.0695): "the run probably stopped when it left the plotting window: near its limit momentum "
                              "swings far out before it converges; judge by where the run ends, without a window",
        ("nesterov", expected["momentum"]): "that is heavy-ball momentum's limit; Nesterov's look-ahead step "
                                            "reacts more strongly to the steep direction",
        ("sgd", 1 / 50): "at lr = 1/kappa the steep direction converges fastest (in one step); it stops converging "
                         "when the factor 1 - lr * kappa reaches -1",
    }
    for method in ("sgd", "momentum", "nesterov"):
        value = limits[method]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return CheckResult(False, name, f"limits[{method!r}] is {_kind(value)}; expected a number")
        if abs(value - expected[method]) <= 0.02 * expected[method]:
            continue
        why = next((text for (m, wrong), text in slips.items() if m == method and abs(value - wrong) <= 0.02 * wrong),
                   "too large: the run diverges there" if value > expected[method] else
                   "too small: the run still converges above it")
        return CheckResult(False, name, f"{method}: {value:.4g} is not the limit; {why}.",
                           hint="bisect: a run converges if its distance from the minimum shrinks; or find where an "
                                "eigenvalue of the step's linear map in (y, v) passes -1")
    return CheckResult(True, name, "right: " + ", ".join(f"{m} {v:.4g}" for m, v in expected.items()) + " (from "
                                   "where an eigenvalue of the step passes -1, for kappa = 50 and mu = 0.9).")
