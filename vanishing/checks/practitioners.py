"""Self-checks of notebook 09 (what practitioners do)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core import CheckResult, _difference, _fmt, _kind, call_learner, is_placeholder

NOTEBOOK = "09"
__all__ = ["CLIP_GRADIENT", "CLIP_LR", "CLIP_THRESHOLD", "check_branch_scale", "check_clipped_steps",
           "check_residual_backward"]

# --- exercise 1: the backward pass of a residual block ---------------------------------------------------------------

_RESIDUAL_TODO = "define residual_backward(x, W, b, dout) above, run it, then run this check again"
_RESIDUAL_HINT = ("y = x + tanh(x) @ W + b, so with g = dout: dx = g + (g @ W.T) * (1 - tanh(x)**2), "
                  "dW = tanh(x).T @ g, db = g.sum(axis=0)")


def _residual_reference(x: np.ndarray, W: np.ndarray, b: np.ndarray, dout: np.ndarray) -> dict[str, np.ndarray]:
    """dx, dW, db of y = x + tanh(x) @ W + b, from the engine's Residual([Tanh, Dense])."""
    from ..activations import Tanh
    from ..layers import Dense, Residual

    dense = Dense(*W.shape, rng=np.random.default_rng(0))
    dense.params["W"][...] = W
    dense.params["b"][...] = b
    block = Residual([Tanh(), dense])
    block.forward(x)
    dx = block.backward(dout)
    return {"dx": dx, "dW": dense.grads["W"].copy(), "db": dense.grads["b"].copy()}


def _residual_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Test inputs, simplest first: (description, x, W, b, dout)."""
    rng = np.random.default_rng(9)
    cases = [("N=3, D=2, W = 0 (the block is the identity)", rng.normal(size=(3, 2)), np.zeros((2, 2)),
              np.zeros(2), rng.normal(size=(3, 2)))]
    cases.append(("N=4, D=3", rng.normal(size=(4, 3)), rng.normal(0, 0.6, (3, 3)), rng.normal(size=3),
                  rng.normal(size=(4, 3))))
    cases.append(("N=6, D=5, large inputs (tanh saturates)", rng.normal(0, 4, (6, 5)), rng.normal(0, 0.5, (5, 5)),
                  rng.normal(size=5), rng.normal(size=(6, 5))))
    return cases


def _residual_mistake(got: np.ndarray, x: np.ndarray, W: np.ndarray, dout: np.ndarray) -> str | None:
    """Name a known mistake in dx, if ``got`` is one of them."""
    branch = (dout @ W.T) * (1 - np.tanh(x) ** 2)
    mistakes = {
        "your dx is the branch's gradient alone: it lacks the identity term, dout itself, which the x of "
        "x + F(x) passes back unchanged": branch,
        "your dx leaves out tanh'(x) = 1 - tanh(x)**2 on the branch: the branch is tanh(x) @ W, so its "
        "gradient passes through tanh's derivative": dout + dout @ W.T,
        "your dx uses W where the backward needs W.T (dout has one column per output unit)": dout + (dout @ W) * (
            1 - np.tanh(x) ** 2) if W.shape[0] == W.shape[1] else None,
    }
    for text, wrong in mistakes.items():
        if wrong is not None and got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-6, atol=1e-12):
            return text
    return None


def check_residual_backward(fn: Any) -> CheckResult:
    r"""Notebook 09: ``residual_backward(x, W, b, dout) -> (dx, dW, db)`` for :math:`y = x + \tanh(x)W + b`.

    Compared with the engine's :class:`~vanishing.layers.Residual` block
    ``[Tanh, Dense]`` on three batches (simplest first: a zero W, where the
    block is the identity and dx must be dout). The verdict names the first
    batch and the first of dx, dW, db that is wrong, and recognises a dx
    without the identity term, without tanh', or with W for W.T.
    """
    name = "residual_backward"
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {_RESIDUAL_TODO}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}",
                           hint="pass the function itself: check_residual_backward(residual_backward)")
    for description, x, W, b, dout in _residual_cases():
        where = f"on the batch '{description}'"
        got, verdict = call_learner(fn, (x.copy(), W.copy(), b.copy(), dout.copy()), name=name,
                                    todo=_RESIDUAL_TODO, hint=_RESIDUAL_HINT, where=where)
        if verdict is not None:
            return verdict
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            return CheckResult(False, name, f"{where} your function returned {_kind(got)}; expected a tuple "
                                            "(dx, dW, db)", hint="end with: return dx, dW, db")
        expected = _residual_reference(x, W, b, dout)
        for key, value in zip(("dx", "dW", "db"), got, strict=True):
            problem = _difference(value, expected[key], rtol=1e-6, atol=1e-12, check_dtype=False)
            if problem is None:
                continue
            known = _residual_mistake(np.asarray(value, dtype=np.float64), x, W, dout) if key == "dx" else None
            return CheckResult(False, name, f"{where}, {known or f'your {key} ' + problem}", hint=_RESIDUAL_HINT)
    return CheckResult(True, name, "dx, dW and db agree with the engine's residual block on all three batches; on "
                                   "the first, with W = 0, dx is dout itself: the identity path.")


# --- exercise 2: the clipped step ------------------------------------------------------------------------------------

CLIP_GRADIENT = np.array([6.0, -0.5, 0.2])
"""The gradient of exercise 2."""

CLIP_LR = 0.1
"""The learning rate of exercise 2."""

CLIP_THRESHOLD = 1.0
"""``max_norm`` and ``max_value`` of exercise 2."""


def _angle(step: np.ndarray, g: np.ndarray) -> float:
    """Degrees between a step and the steepest-descent direction -g."""
    cos = float(-(step @ g) / (np.linalg.norm(step) * np.linalg.norm(g)))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _clip_mistakes(g: np.ndarray) -> dict[str, np.ndarray]:
    lr, c = CLIP_LR, CLIP_THRESHOLD
    norm = float(np.linalg.norm(g))
    return {
        "is +lr times the clipped gradient: a step goes against the gradient, -lr * clip(g)": lr * g * c / norm,
        "has no learning rate: the step is -lr * clip(g)": -g * c / norm,
        "is the unclipped step -lr * g": -lr * g,
        "is the value-clipped step (each entry cut to [-1, 1])": -lr * np.clip(g, -c, c),
        "is the norm-clipped step (the whole vector rescaled)": -lr * g * min(1.0, c / norm),
    }


def _check_step(name: str, value: Any, expected: np.ndarray, mistakes: dict[str, np.ndarray]) -> str | None:
    """None if ``value`` is the expected step, else what is wrong with it."""
    try:
        got = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} is {_kind(value)}; expected an array of 3 numbers"
    if got.shape != expected.shape:
        return f"{name} has shape {got.shape}; expected {expected.shape}, one entry per parameter"
    if np.allclose(got, expected, rtol=1e-6, atol=1e-12):
        return None
    for text, wrong in mistakes.items():
        if np.allclose(got, wrong, rtol=1e-6, atol=1e-12) and not np.allclose(wrong, expected):
            return f"{name} = {_fmt(got)} {text}"
    entry = int(np.argmax(~np.isclose(got, expected, rtol=1e-6, atol=1e-12)))
    return f"{name} = {_fmt(got)}; that is not the step (entry {entry} differs)"


def check_clipped_steps(step_norm: Any, step_value: Any) -> CheckResult:
    r"""Notebook 09: the SGD steps :math:`-\eta\,\mathrm{clip}(g)` for ``CLIP_GRADIENT``, clipped by norm and by value.

    ``step_norm``: clipped by global norm at ``CLIP_THRESHOLD`` (the gradient
    rescaled to that length); ``step_value``: every entry cut to
    ``[-CLIP_THRESHOLD, CLIP_THRESHOLD]``; both times the learning rate ``CLIP_LR``.
    On success the verdict gives each step's angle to :math:`-g`.
    """
    name = "clipped_steps"
    if is_placeholder(step_norm) or is_placeholder(step_value):
        return CheckResult(None, name, "not attempted yet: set step_norm and step_value to the two steps (arrays "
                                       "of 3 numbers) and run this check again")
    g, lr, c = CLIP_GRADIENT, CLIP_LR, CLIP_THRESHOLD
    expected_norm = -lr * g * min(1.0, c / float(np.linalg.norm(g)))
    expected_value = -lr * np.clip(g, -c, c)
    mistakes = _clip_mistakes(g)
    for label, value, expected in (("step_norm", step_norm, expected_norm),
                                   ("step_value", step_value, expected_value)):
        problem = _check_step(label, value, expected, mistakes)
        if problem:
            return CheckResult(False, name, problem,
                               hint=f"by norm: g * max_norm / ||g|| when ||g|| = {np.linalg.norm(g):.4g} > max_norm; "
                                    "by value: np.clip(g, -max_value, max_value); then multiply by -lr")
    length, turn = np.linalg.norm(expected_value), _angle(expected_value, g)
    return CheckResult(True, name, f"both steps are right. The norm-clipped step has length {lr * c:g} and points "
                                   f"along -g (angle {_angle(expected_norm, g):.1f}°); the value-clipped step has "
                                   f"length {length:.3g} and turns {turn:.1f}° away from -g, towards the entries "
                                   "that were not cut.")


# --- exercise 3: a branch scale --------------------------------------------------------------------------------------

BRANCH_DEPTH = 50
"""The depth of exercise 3's residual ReLU network."""


def _stream_growth(scale: float) -> float:
    """Var(x_L) / Var(x_0) of a 50-block He-initialised residual ReLU network on 256 digits, mean over 3 networks."""
    from ..experiments.practitioners import residual_stream
    from ..models import deep_mlp
    from ..scenarios import digits_split

    X = digits_split(rng=np.random.default_rng(0))[0][:256]
    growth = []
    for seed in range(3):
        model = deep_mlp(64, 32, BRANCH_DEPTH, 10, "relu", rng=np.random.default_rng(seed), scale=scale)
        stream = residual_stream(model, X)
        growth.append(float(stream[-1].var() / stream[0].var()))
    return float(np.mean(growth))


def check_branch_scale(scale: Any) -> CheckResult:
    r"""Notebook 09: a branch scale s for which the stream's variance grows by a factor between 1.5 and 2 in 50 blocks.

    The network is :func:`~vanishing.models.deep_mlp` with 50 He-initialised
    ReLU blocks of 32 units (``scale=s``); the growth
    :math:`\mathrm{Var}(x_{50})/\mathrm{Var}(x_0)` is measured on 256 digits
    and averaged over three networks. Passes when it lies in [1.5, 2]: the
    branches still add to the stream, but its variance less than doubles.
    """
    name = "branch_scale"
    if is_placeholder(scale):
        return CheckResult(None, name, "not attempted yet: set branch_scale to your s and run this check again")
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.integer, np.floating)):
        return CheckResult(False, name, f"expected a number, got {_kind(scale)}", hint="e.g. branch_scale = 0.5")
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0 or scale > 10:
        return CheckResult(False, name, f"s = {scale:g} is not a branch scale this check can try; allowed: 0 < s <= 10",
                           hint="a scale between 0 and 1 shrinks the branch")
    growth = _stream_growth(scale)
    predicted = (1 + scale**2) ** BRANCH_DEPTH
    text = (f"with s = {scale:.4g} the variance grew {growth:.3g}-fold in {BRANCH_DEPTH} blocks "
            f"((1 + s²)^{BRANCH_DEPTH} = {predicted:.3g})")
    if 1.5 <= growth <= 2.0:
        return CheckResult(True, name, f"{text}: the stream keeps its scale within a factor of 2, and the branches "
                                       "still add to it.")
    hint = "each block multiplies the variance by about 1 + s²: solve (1 + s²)^50 = 2 for s"
    if growth > 2.0:
        return CheckResult(False, name, f"{text}: more than doubled.", hint=hint)
    return CheckResult(False, name, f"{text}: the branches hardly add anything to the stream (growth below 1.5).",
                       hint=hint)
