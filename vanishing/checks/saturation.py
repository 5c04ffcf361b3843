"""Self-checks of notebook 02 (saturation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._core import Args, CheckResult, _fmt, check_function, is_placeholder

NOTEBOOK = "02"
__all__ = ['check_glorot_limit', 'check_saturated_fraction', 'check_tanh_init']


def _glorot_limit(fan_in: int, fan_out: int) -> float:
    """Reference: the Glorot uniform bound sqrt(6 / (fan_in + fan_out)), from the engine."""
    from ..init import glorot_uniform_limit

    return glorot_uniform_limit(fan_in, fan_out)


def check_glorot_limit(fn: Any) -> CheckResult:
    r"""Notebook 02: ``glorot_limit(fan_in, fan_out)`` returns the Glorot uniform bound.

    Compared with :func:`vanishing.init.glorot_uniform_limit` on square and
    very unequal layers, so that a formula with only the fan-in (or only the
    fan-out) is caught on the first unequal pair.
    """
    pairs = [(64, 64), (784, 25), (25, 10), (1, 1), (3, 1000)]
    return check_function(
        fn, _glorot_limit, [Args(a, b) for a, b in pairs], rtol=1e-9, atol=0.0, name="glorot_limit",
        check_dtype=False,
        hint="Var[W] = 2 / (fan_in + fan_out), and U(-r, r) has variance r² / 3; solve r² / 3 = 2 / (fan_in + fan_out)",
    )


def _saturated_share(activation: str, a: np.ndarray) -> float:
    """Reference: the saturated fraction as vanishing.diagnostics defines it."""
    from ..diagnostics import saturated_fraction

    return saturated_fraction(activation, a)


def check_saturated_fraction(fn: Any) -> CheckResult:
    r"""Notebook 02: ``fraction_saturated(activation, a)`` for a tanh or sigmoid layer's outputs ``a`` (N, D).

    Compared with :func:`vanishing.diagnostics.saturated_fraction` on outputs
    that sit exactly on the thresholds (0.99 is *not* saturated), on both ends
    of the range, and on a random layer.
    """
    rng = np.random.default_rng(2)
    inputs = [
        Args("tanh", np.array([[0.0, 0.5, 0.995, -0.999]])),
        Args("tanh", np.array([[0.99, -0.99, 0.9901, -0.9901]])),
        Args("sigmoid", np.array([[0.5, 0.999, 0.001, 0.2]])),
        Args("sigmoid", np.array([[0.01, 0.99, 0.0099, 0.9901]])),
        Args("tanh", np.tanh(rng.normal(0.0, 3.0, size=(50, 8)))),
        Args("sigmoid", 1 / (1 + np.exp(-rng.normal(0.0, 5.0, size=(50, 8))))),
    ]
    return check_function(
        fn, _saturated_share, inputs, rtol=1e-12, atol=0.0, name="fraction_saturated", check_dtype=False,
        hint="tanh: saturated where |a| > 0.99; sigmoid: where a < 0.01 or a > 0.99 (strict inequalities); "
             "the fraction is the mean of that boolean array over all N x D outputs",
    )


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


