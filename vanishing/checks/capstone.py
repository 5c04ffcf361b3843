"""Self-checks of notebook 08 (capstone): measure the backward signal with a hook, name a mystery's cause, fix it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._core import CheckResult, _fmt, is_placeholder

NOTEBOOK = "08"
__all__ = ["check_diagnosis", "check_fix", "check_signal_norms"]


# --- the backward signal, measured with a hook -----------------------------------------------------------------------

def _signal_cases() -> list[tuple[str, Any, np.ndarray, np.ndarray]]:
    """Networks at initialisation on the two-moons training data: (description, model, X, y)."""
    from ..experiments.capstone import dashboard_data
    from ..models import mlp

    data = dashboard_data("two_moons")
    X, y = data.X_train[:64], data.y_train[:64]
    return [
        ("a 4-layer ReLU network with He x 0.5 weights",
         mlp([2, 16, 16, 16, 16, 1], "relu", rng=np.random.default_rng(1), init="he_uniform",
             init_options={"gain": 0.5}), X, y),
        ("a 3-layer sigmoid network with Glorot weights",
         mlp([2, 8, 8, 8, 1], "sigmoid", rng=np.random.default_rng(2), init="glorot_uniform"), X, y),
    ]


def _hooks_left(model: Any) -> int:
    return sum(len(chain.backward_hooks) + len(chain.forward_hooks) for chain in model.chains())


def check_signal_norms(fn: Callable[..., Any]) -> CheckResult:
    """Notebook 08: ``fn(model, X, y)`` returns ‖∂L/∂z_l‖ of every Dense layer, input side first.

    The loss is ``"bce_logits"``. The reference is
    :func:`vanishing.diagnostics.backward_signal`; the check also wants the hook
    removed afterwards, so that the model is left as it was found.
    """
    from ..diagnostics import backward_signal, gradient_norms

    name = "signal_norms"
    if is_placeholder(fn):
        return CheckResult(None, name, "not attempted yet: write signal_norms(model, X, y) and run the cell")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function signal_norms(model, X, y), got {_fmt(fn)}")
    for description, model, X, y in _signal_cases():
        expected = backward_signal(model, "bce_logits", X, y)
        try:
            got = fn(model, X, y)
        except NotImplementedError:
            return CheckResult(None, name, "not attempted yet: the function still raises NotImplementedError")
        except Exception as error:  # noqa: BLE001 - the learner's code may raise anything; report it
            return CheckResult(False, name, f"on {description} your function raised {type(error).__name__}: "
                                            f"{error}", hint="add the hook, run one forward and one backward, "
                                                             "then remove the hook")
        if got is None:
            return CheckResult(None, name, "not attempted yet: the function returns None")
        got = np.asarray(got, dtype=np.float64).ravel()
        where = f"on {description} ({len(expected)} Dense layers)"
        if got.shape != expected.shape:
            return CheckResult(False, name, f"{where} you returned {got.size} numbers, one per Dense layer is "
                                            f"{expected.size}", hint="keep the norm only where the hook's layer "
                                                                     "is a vn.layers.Dense")
        if np.allclose(got, expected[::-1], rtol=1e-9) and not np.allclose(got, expected, rtol=1e-9):
            return CheckResult(False, name, f"{where} your norms are right but in reverse order",
                               hint="the backward pass visits the layers from the output side: reverse the list")
        if np.allclose(got, gradient_norms(model), rtol=1e-9):
            return CheckResult(False, name, f"{where} you returned ‖∂L/∂W_l‖, the weight gradients",
                               hint="the hook's dout is ∂L/∂z_l, the gradient at the layer's output: take its norm")
        if not np.allclose(got, expected, rtol=1e-9, atol=0):
            return CheckResult(False, name, f"{where} you returned {np.array2string(got, precision=3)}; "
                                            f"expected {np.array2string(expected, precision=3)}",
                               hint="np.linalg.norm(dout) of every Dense layer, from one forward and one backward "
                                    "with vn.make_loss('bce_logits')")
        if _hooks_left(model):
            return CheckResult(False, name, f"{where} the norms are right, but the hook is still attached to the "
                                            "model", hint="add_backward_hook returns a function that removes the "
                                                          "hook: call it before returning")
    return CheckResult(True, name, "your hook measures the backward signal ‖∂L/∂z_l‖ of every Dense layer, as "
                                   "vn.diagnostics.backward_signal does.")


# --- the mysteries ---------------------------------------------------------------------------------------------------

_ANSWERS = {
    "A": "learning rate too high",
    "B": "dead ReLUs",
    "C": "saturated units",
    "D": "weights too small",
    "E": "deep sigmoid stack",
}

_EVIDENCE = {
    "A": "the loss and every gradient grow by orders of magnitude and training stops with a DivergenceError, "
         "although at step 1 the backward signal reached the first layer at about half its size at the last",
    "B": "the last hidden layer is 100 % dead from step 0, so the backward signal below it is exactly 0 and no "
         "weight ever moves",
    "C": "the outputs sit at the lower end of their range (mean near -1), where tanh' is below 0.02, so the "
         "backward signal shrinks by orders of magnitude on its way to the input",
    "D": "the outputs fade layer by layer to a line at 0, and the backward signal fades as fast on its way "
         "back, while nothing is saturated or dead; ‖∂L/∂W‖ looks even across the layers only because each "
         "layer's tiny backward signal meets a large input, or its large one a tiny input",
    "E": "nothing is saturated or dead and the outputs keep their spread, all positive around 0.5, yet the "
         "backward signal shrinks by about 1/4 per layer towards the input: σ' is at most 1/4",
}

_WRONG = {
    "A": {
        "learning rate too low": "a learning rate too low makes tiny steps: how long did this run last, and what "
                                 "did the loss do?",
        "saturated units": "ReLU units do not saturate (the panel counts dead units); what did the loss do before "
                           "the run ended?",
        "dead ReLUs": "units die here only after the loss has started to explode; at step 1 the backward signal "
                      "reaches every layer. What ended the run?",
        "weights too small": "at step 1 the backward signal reaches the first layer at about half its size at "
                             "the last, and the outputs grow rather than fade; what did the loss do?",
        "deep sigmoid stack": "there is no sigmoid unit here (the histograms span 0 to 4, the health panel counts "
                              "dead units); what did the loss do?",
    },
    "B": {
        "learning rate too high": "large steps can kill ReLUs, but these were dead before the first update (the "
                                  "dead fraction at step 0) and no weight ever moved: no step size did this",
        "learning rate too low": "a small step times a gradient of exactly 0 is still 0: the backward signal is "
                                 "exactly 0 below the last hidden layer. What do that layer's units output?",
        "saturated units": "ReLU units do not saturate; look at the unit-health panel and at the last histogram "
                           "band, a line at 0",
        "weights too small": "small weights shrink the signal but leave it non-zero; here the backward signal "
                             "below the last hidden layer is exactly 0. What do that layer's units output?",
        "deep sigmoid stack": "there is no sigmoid unit here, and the backward signal does not shrink by a "
                              "factor per layer: it is exactly 0 below one layer. Why?",
    },
    "C": {
        "learning rate too high": "the loss never grows and the run does not diverge",
        "learning rate too low": "with a healthy network and small steps, the backward signal would reach the "
                                 "first layer; here it falls to about 10⁻⁶ of its size at the last. Where in "
                                 "their range do the outputs sit?",
        "dead ReLUs": "these are not ReLU units (the histograms span -1 to 1); where in that range do the outputs "
                      "sit, and what does the unit-health panel count?",
        "weights too small": "small weights pull every output towards 0; here the outputs sit near -1, at an end "
                             "of the range (the output mean). What is the derivative there?",
        "deep sigmoid stack": "the histograms span -1 to 1: tanh units, zero-centred, whose derivative reaches 1 "
                              "at 0. Why is it tiny here?",
    },
    "D": {
        "learning rate too high": "the loss never grows and the run does not diverge",
        "learning rate too low": "the backward signal falls to about 10⁻⁵ of its size on its way to the first "
                                 "layer, and the outputs fade layer by layer: larger steps do not change that. "
                                 "(‖∂L/∂W‖ looks even across the layers: why does it not show this?)",
        "saturated units": "nothing is saturated (0 %): the outputs sit at 0, the middle of the range, where tanh' "
                           "is 1",
        "dead ReLUs": "these are not ReLU units (the histograms span -1 to 1), and no gradient is exactly 0",
        "deep sigmoid stack": "these are tanh units (the histograms span -1 to 1), with a derivative near 1 where "
                              "the outputs sit; what shrinks the signal in every layer, forward and backward?",
    },
    "E": {
        "learning rate too high": "the loss never grows and the run does not diverge",
        "learning rate too low": "with small steps alone the backward signal would reach the first layer; here it "
                                 "falls to about 2·10⁻⁴ of its size over six layers. By what factor per layer?",
        "saturated units": "0 % of the outputs are saturated: they sit around 0.5, where the derivative is at its "
                           "largest",
        "dead ReLUs": "the histograms span 0 to 1: sigmoid units, which never output exactly 0",
        "weights too small": "small weights would fade the outputs too, but these keep a spread of about 0.1 in "
                             "every layer; compare the backward signal's fall per layer with this activation's "
                             "largest derivative",
    },
}

_FIX_HINTS = {
    "A": "with momentum 0.9 a step grows to about lr / (1 - 0.9) = 10 lr once the velocity builds up; a learning "
         "rate 10 times smaller still kills the ReLU units here (watch the dead fraction): go further down",
    "B": "start the hidden biases at 0 (with He init the units then respond to about half the inputs), or put "
         "batchnorm before each ReLU",
    "C": "the bias of -3 holds every pre-activation far below 0, where tanh is flat: start the hidden biases at 0",
    "D": "an init whose forward gain n_in·Var[W] is about 1 (Glorot, or a uniform bound near sqrt(3/n_in))",
    "E": "batchnorm before each sigmoid, or an activation whose derivative reaches 1 (tanh with Glorot, ReLU "
         "with He)",
}


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _mystery_name(mystery: Any) -> str | None:
    if isinstance(mystery, str) and mystery.strip().upper() in _ANSWERS:
        return mystery.strip().upper()
    return None


def check_diagnosis(mystery: Any, cause: Any) -> CheckResult:
    """Notebook 08: ``cause`` names why mystery network ``mystery`` ("A" ... "E") fails.

    ``cause`` is one of the names in :data:`vanishing.experiments.CAUSES`
    (case, underscores and hyphens do not matter). Each wrong name gets its own
    hint: what that cause would show on the dashboard, and what this one shows instead.
    """
    from ..experiments.capstone import CAUSES

    name = _mystery_name(mystery)
    check_name = f"diagnosis of mystery {name or mystery}"
    if name is None:
        return CheckResult(False, "diagnosis", f"mystery={_fmt(mystery)} is not one of "
                                               f"{', '.join(map(repr, _ANSWERS))}")
    if is_placeholder(cause):
        return CheckResult(None, check_name, "not attempted yet: set the diagnosis to one of the names in "
                                             "vn.experiments.CAUSES and run the cell")
    known = {_normalise(c): c for c in CAUSES}
    if not isinstance(cause, str) or _normalise(cause) not in known:
        return CheckResult(False, check_name, f"{_fmt(cause)} is not one of the cause names; choose one of "
                                              f"{', '.join(map(repr, CAUSES))}")
    chosen = known[_normalise(cause)]
    if chosen == _ANSWERS[name]:
        return CheckResult(True, check_name, f"{chosen!r} is right: {_EVIDENCE[name]}.")
    return CheckResult(False, check_name, f"{chosen!r} does not explain this dashboard.", hint=_WRONG[name][chosen])


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
