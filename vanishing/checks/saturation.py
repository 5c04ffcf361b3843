"""Self-checks of notebook 02 (saturation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._core import Args, CheckResult, _fmt, check_function, is_placeholder

NOTEBOOK = "02"
__all__ = ["check_tanh_init", "check_z_change"]


def _z_change(x: np.ndarray, delta: float, lr: float) -> float:
    """Reference, by the engine: a Dense(D, 1) unit takes one SGD step on the example x, and z changes by ..."""
    from ..layers import Dense
    from ..optim import SGD

    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    unit = Dense(x.shape[1], 1, rng=np.random.default_rng(0), bias=0.3)
    before = float(unit.forward(x)[0, 0])
    unit.backward(np.array([[float(delta)]]))  # dL/dz = delta for this one example
    SGD(unit, lr=lr).step()
    return float(unit.forward(x)[0, 0]) - before


def _z_change_hint(x: np.ndarray, delta: float, lr: float, got: float) -> str:
    """What a wrong change of z most likely misses."""
    norm2 = float(np.dot(x, x))
    if np.isclose(got, -lr * delta * norm2, rtol=1e-6):
        return "the bias takes a step too: b changes by -lr * delta, and that adds -lr * delta to z (the + 1)"
    if np.isclose(got, lr * delta * (norm2 + 1), rtol=1e-6):
        return "check the sign: SGD moves against the gradient, w <- w - lr * dL/dw"
    if np.isclose(abs(got), lr * abs(delta) * (np.sqrt(norm2) + 1), rtol=1e-6):
        return "dL/dw = delta * x, and z changes by x · (change of w): that is a sum of squares, ||x||², not ||x||"
    return ("dL/dw = delta * x and dL/db = delta; after w <- w - lr * dL/dw and b <- b - lr * dL/db, "
            "z = x · w + b changes by x · (change of w) + (change of b)")


def check_z_change(fn: Any) -> CheckResult:
    r"""Notebook 02: ``z_change(x, delta, lr)``, the change of a unit's pre-activation on one example after one
    SGD step on that example: :math:`\Delta z = -\eta\,\delta\,(\lVert x\rVert^2 + 1)`.

    Compared with the engine (a ``Dense(D, 1)`` layer, its backward of ``delta``, one ``SGD`` step, the
    forward again) on inputs of 1, 3, 64 and 784 features; a wrong answer gets a hint for a missing bias,
    a wrong sign or :math:`\lVert x\rVert` in place of :math:`\lVert x\rVert^2`.
    """
    name = "z_change"
    rng = np.random.default_rng(4)
    inputs = [Args(np.array([2.0]), 0.5, 0.1), Args(np.array([1.0, -2.0, 0.5]), -0.3, 0.01),
              Args(rng.normal(size=64), 0.2, 0.1), Args(rng.normal(size=784), 0.2, 0.1)]
    result = check_function(fn, _z_change, inputs, rtol=1e-6, atol=1e-12, name=name, check_dtype=False,
                            hint="dL/dw = delta * x and dL/db = delta; one SGD step moves both")
    if result.passed is False and "your function returned" in result.message:
        for test in inputs:  # the first input that differs gets the specific hint
            try:
                got = float(fn(*test.args))
            except Exception:  # noqa: BLE001 - the verdict above already reports the learner's error
                break
            if not np.isclose(got, _z_change(*test.args), rtol=1e-6, atol=1e-12):
                return CheckResult(False, name, result.message, hint=_z_change_hint(*test.args, got))
    if result.passed is True:
        return CheckResult(True, name, "matches the engine's SGD step on 1, 3, 64 and 784 inputs.")
    return result


TANH_STD_BAND = (0.4, 0.8)
"""Notebook 02 exercise: every hidden layer's activation std must lie in this band ..."""
TANH_MAX_SATURATED = 0.10
"""... and at most this fraction of its outputs may be saturated."""


def check_tanh_init(choice: Any, *, band: tuple[float, float] = TANH_STD_BAND,
                    max_saturated: float = TANH_MAX_SATURATED) -> CheckResult:
    """Notebook 02: an initialisation that keeps a 10 × 64 tanh net's activations in a band.

    ``choice`` is a dict ``{"init": name, "limit": bound}`` (``limit`` only for
    ``"uniform"``). The check runs :func:`vanishing.experiments.init_statistics`
    (tanh, 10 hidden layers of 64 units, the digits, seed 0) and requires every
    layer's activation standard deviation within ``band`` and at most
    ``max_saturated`` of its outputs saturated; it reports the per-layer values.
    """
    name = "tanh_init"
    if is_placeholder(choice):
        return CheckResult(None, name, 'not attempted yet: set choice = {"init": ..., "limit": ...} and run the cell')
    from ..experiments.saturation import INIT_SCHEMES, init_statistics

    if not isinstance(choice, Mapping) or "init" not in choice:
        return CheckResult(False, name, f"expected a dict with the key 'init' (and 'limit' for 'uniform'), "
                                        f"got {_fmt(choice)}", hint='for example {"init": "uniform", "limit": 0.5}')
    init, limit = choice["init"], choice.get("limit", 1.0)
    if is_placeholder(init) or (init == "uniform" and is_placeholder(limit)):
        return CheckResult(None, name, "not attempted yet: fill in the init name (and the limit for 'uniform')")
    if init not in INIT_SCHEMES:
        return CheckResult(False, name, f"init={init!r} is not one of {', '.join(map(repr, INIT_SCHEMES))}")
    try:
        stats = init_statistics("tanh", init, limit=limit, depth=10, width=64, rng=np.random.default_rng(0))
    except (TypeError, ValueError) as error:
        return CheckResult(False, name, f"the experiment rejected this choice: {error}")
    low, high = band
    stds = ", ".join(f"{s:.2f}" for s in stats.act_std)
    sat = ", ".join(f"{s:.0%}" for s in stats.saturated)
    report = f"activation std per layer: {stds}; saturated: {sat}"
    bad_std = [i + 1 for i, s in enumerate(stats.act_std) if not low <= s <= high]
    bad_sat = [i + 1 for i, s in enumerate(stats.saturated) if s > max_saturated]
    if not bad_std and not bad_sat:
        return CheckResult(True, name, f"{stats.label} keeps every layer in the band. {report}.")
    problems = []
    if bad_std:
        side = "below" if stats.act_std[bad_std[0] - 1] < low else "above"
        problems.append(f"layer(s) {bad_std} have a std outside [{low:g}, {high:g}] (layer {bad_std[0]} is {side})")
    if bad_sat:
        problems.append(f"layer(s) {bad_sat} have more than {max_saturated:.0%} saturated outputs")
    hint = ("fan_in × Var[W] decides the forward gain: U(±r) has Var = r²/3. Too small and tanh's activations "
            "fade layer by layer; too large and the units saturate. A gain a bit above 1 keeps tanh steady")
    return CheckResult(False, name, f"{stats.label}: {'; '.join(problems)}. {report}.", hint=hint)


