r"""Notebook 05 (ELU): what the notebook's cells, its widget and its self-check share.

The notebook writes most of its experiments in its own cells. This module keeps:

* :data:`INIT_RULES`, :data:`ACTIVATION_INITS`: He normal :math:`N(0, 2/n_\text{in})` and LeCun normal
  :math:`N(0, 1/n_\text{in})`, and which one each activation gets;
* :func:`bias_shift_layers`: per-layer mean and spread of a deep MLP's activations at initialisation;
  :func:`bias_shift_setup`, the network and inputs of the notebook's exercise;
* :func:`zigzag_inputs`, :func:`zigzag_descent`, :func:`zigzag_fastest`: gradient descent on a linear unit
  :math:`\hat y = w \cdot x` whose inputs are outputs of an activation;
* :func:`gradient_sign_patterns`: how often a hidden layer's weight-gradient columns have one sign;
* :func:`elu_explorer_state`: the widget's computation.

This module imports numpy only.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _validate as check
from ..activations import ELU, Activation, make_activation
from ..data import load
from ..diagnostics import collect_activations
from ..layers import Dense, Parameters, Sequential
from ..losses import make_loss
from ..models import mlp
from ..optim import SGD

__all__ = [
    "ACTIVATION_INITS", "BIAS_SHIFT_ACTIVATIONS", "INIT_RULES", "ZIGZAG_MODES", "BiasShiftLayers", "EluExplorerState",
    "ZigZagRun", "bias_shift_layers", "bias_shift_setup", "elu_explorer_state", "gradient_sign_patterns",
    "zigzag_descent", "zigzag_fastest", "zigzag_inputs",
]

NOTEBOOK = "05"

BIAS_SHIFT_ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu")
"""The activations this notebook compares."""

INIT_RULES: dict[str, tuple[str, dict[str, float]]] = {
    "he": ("he_normal", {}),
    # LeCun normal, N(0, 1/fan_in): He normal has Var = gain^2 * 2 / fan_in, so gain^2 = 1/2
    "lecun": ("he_normal", {"gain": float(np.sqrt(0.5))}),
}
"""Initialisation rules by name, as ``(vn.init name, its options)``: He normal and LeCun normal."""

ACTIVATION_INITS = {"relu": "he", "leaky_relu": "he", "elu": "he", "selu": "lecun"}
"""The initialisation each activation gets by default: SELU's is the one Klambauer et al. (2017) prescribe."""

ZIGZAG_MODES = ("per_example", "full_batch")
"""Gradient descent on one example per step, or on the mean gradient of all examples."""


def _activation(name: str, alpha: float = 1.0) -> Activation:
    """An activation by name; ``alpha`` is ELU's saturation value (the others ignore it)."""
    return ELU(alpha=alpha) if name == "elu" else make_activation(name)


# --- bias shift: per-layer means of a deep MLP ----------------------------------------------------------------------

@dataclass(frozen=True)
class BiasShiftLayers:
    """Per-layer statistics of a deep MLP's hidden activations at initialisation (:func:`bias_shift_layers`).

    Attributes
    ----------
    activation, alpha, init, depth, width, n
        The settings (``alpha`` is ELU's; ``init`` a key of :data:`INIT_RULES`).
    mean, std
        ``(depth,)`` mean and standard deviation of each hidden layer's outputs (over examples and units).
    unit_mean_low, unit_mean_high
        ``(depth,)`` the 10th and 90th percentile over the units of each unit's mean output.
    negative_units
        ``(depth,)`` the fraction of units whose mean output is below 0.
    """

    activation: str
    alpha: float
    init: str
    depth: int
    width: int
    n: int
    mean: np.ndarray
    std: np.ndarray
    unit_mean_low: np.ndarray
    unit_mean_high: np.ndarray
    negative_units: np.ndarray

    @property
    def mean_over_std(self) -> np.ndarray:
        """``(depth,)`` mean / std per layer: the mean in units of the spread."""
        return self.mean / self.std


def bias_shift_setup(activation: str = "relu", *, depth: int = 8, width: int = 32, n: int = 128, alpha: float = 1.0,
                     init: str | None = None, rng: np.random.Generator) -> tuple[Sequential, np.ndarray]:
    """A deep MLP at initialisation and zero-centred inputs: ``(model, X)``.

    ``X`` is N(0, 1) of shape ``(n, width)``, drawn from ``rng`` first; then
    ``model = mlp([width] * (depth + 1) + [1], activation)`` with biases 0 and
    the weights of ``init`` (:data:`INIT_RULES`; None: :data:`ACTIVATION_INITS`),
    drawn from ``rng``. The same generator state gives every activation the same
    inputs and the same weight draws (up to the initialisation's scale).
    """
    check.choice("activation", activation, BIAS_SHIFT_ACTIVATIONS)
    for name, value in (("depth", depth), ("width", width), ("n", n)):
        check.positive(name, value, integer=True)
    check.positive("alpha", alpha)
    init = ACTIVATION_INITS[activation] if init is None else init
    scheme, options = check.lookup("init", init, INIT_RULES)
    X = check.rng("rng", rng).standard_normal((n, width))
    model = mlp([width] * (depth + 1) + [1], activation, rng=rng, init=scheme, init_options=options,
                activation_options={"alpha": alpha} if activation == "elu" else None)
    return model, X


def bias_shift_layers(activation: str = "relu", *, depth: int = 20, width: int = 64, n: int = 256,
                      alpha: float = 1.0, init: str | None = None, rng: np.random.Generator) -> BiasShiftLayers:
    """Mean and spread of each hidden layer's outputs for :func:`bias_shift_setup`'s network and inputs."""
    init = ACTIVATION_INITS.get(activation, "he") if init is None else init
    model, X = bias_shift_setup(activation, depth=depth, width=width, n=n, alpha=alpha, init=init, rng=rng)
    with np.errstate(over="ignore", invalid="ignore"):  # a huge initialisation is a setting to look at here
        outs = [la.out for la in collect_activations(model, X) if isinstance(la.layer, Activation)]
    unit_means = np.array([o.mean(axis=0) for o in outs])  # (depth, width)
    return BiasShiftLayers(
        activation=activation, alpha=float(alpha), init=init, depth=int(depth), width=int(width), n=int(n),
        mean=np.array([o.mean() for o in outs]), std=np.array([o.std() for o in outs]),
        unit_mean_low=np.percentile(unit_means, 10, axis=1), unit_mean_high=np.percentile(unit_means, 90, axis=1),
        negative_units=np.mean(unit_means < 0, axis=1))


# --- the zig-zag toy ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZigZagRun:
    r"""Gradient descent on a linear unit :math:`\hat y = w \cdot x` with loss
    :math:`\frac{1}{2N}\sum_n (w \cdot x_n - y_n)^2`, :math:`y_n = w^\ast \cdot x_n` (:func:`zigzag_descent`).

    Attributes
    ----------
    X
        ``(N, d)`` the inputs.
    w_star, start, lr, mode, tol
        The settings.
    path
        ``(steps + 1, d)`` the weights, from ``start``, after every step.
    loss
        ``(steps + 1,)`` the loss along the path.
    steps_to_tol
        The first step after which :math:`\lVert w - w^\ast\rVert <` tol (−1 if never).
    same_sign, opposite_sign
        With two inputs: among the updates before reaching tol whose components are both
        non-zero, the fraction with the same sign / opposite signs (NaN if none).
    diverged
        True if the weights blew up (the run stops there).
    """

    X: np.ndarray
    w_star: np.ndarray
    start: np.ndarray
    lr: float
    mode: str
    tol: float
    path: np.ndarray
    loss: np.ndarray
    steps_to_tol: int
    same_sign: float
    opposite_sign: float
    diverged: bool

    @property
    def condition(self) -> float:
        """Condition number of the loss's Hessian :math:`X^\\top X / N` (1 = round contours)."""
        eig = np.linalg.eigvalsh(self.X.T @ self.X / self.X.shape[0])
        return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


def zigzag_inputs(activation: str = "relu", n: int = 64, *, alpha: float = 1.0, centre: bool = False,
                  width: int = 2, rng: np.random.Generator) -> np.ndarray:
    r"""Inputs of a unit that sits after a layer of ``activation`` units: ``f(z)``, z ~ N(0, 1), shape (n, width).

    ``"identity"`` gives zero-mean Gaussian inputs; ``alpha`` is ELU's. ``centre=True``
    subtracts each column's sample mean (what a normalisation layer would do).
    """
    check.choice("activation", activation, (*BIAS_SHIFT_ACTIVATIONS, "sigmoid", "tanh", "identity"))
    check.positive("n", n, integer=True)
    check.positive("width", width, integer=True)
    X = _activation(activation, check.positive("alpha", alpha)).fn(check.rng("rng", rng).standard_normal((n, width)))
    return X - X.mean(axis=0) if centre else X


def _sign_counts(grad: np.ndarray) -> tuple[int, int]:
    """(same, opposite): 1 in one of them when both components of a 2-D update are non-zero."""
    if grad.shape != (2,) or grad[0] == 0 or grad[1] == 0:
        return 0, 0
    same = int((grad[0] > 0) == (grad[1] > 0))
    return same, 1 - same


def zigzag_descent(X: np.ndarray, *, lr: float, steps: int = 300, tol: float = 1e-3, mode: str = "per_example",
                   w_star: Sequence[float] = (1.0, -1.0), start: Sequence[float] = (0.0, 0.0),
                   stop_at_tol: bool = False, rng: np.random.Generator) -> ZigZagRun:
    """Gradient descent with the engine's SGD on a :class:`~vanishing.layers.Parameters` point.

    ``mode="per_example"`` steps on one example's gradient, visiting the examples in
    an order drawn from ``rng`` (a new one in every pass); ``"full_batch"`` on the mean
    gradient. The run stops when :math:`\\lVert w\\rVert \\ge 10^6` (diverged), after
    reaching ``tol`` if ``stop_at_tol``, and otherwise after ``steps`` steps.
    """
    X = check.array("X", X, ndim=2)
    check.positive("lr", lr)
    check.positive("steps", steps, integer=True)
    check.positive("tol", tol)
    check.choice("mode", mode, ZIGZAG_MODES)
    check.rng("rng", rng)
    w_star_arr, start_arr = np.asarray(w_star, dtype=np.float64), np.asarray(start, dtype=np.float64)
    n, d = X.shape
    if w_star_arr.shape != (d,) or start_arr.shape != (d,):
        raise ValueError(f"w_star and start must have {d} coordinates (one per column of X); "
                         f"got {w_star_arr.shape} and {start_arr.shape}")
    y = X @ w_star_arr
    point = Parameters(start_arr.copy())
    opt, w, grad = SGD(point, lr=lr), point.params["w"], point.grads["w"]
    path = [w.copy()]
    reached, same, opposite, diverged = -1, 0, 0, False
    order = rng.permutation(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if mode == "per_example":
                if t % n == 0 and t > 0:
                    order = rng.permutation(n)
                x = X[order[t % n]]
                grad[...] = (x @ w - y[order[t % n]]) * x
            else:
                grad[...] = X.T @ (X @ w - y) / n
            if reached < 0:
                counts = _sign_counts(grad)
                same, opposite = same + counts[0], opposite + counts[1]
            opt.step()
            path.append(w.copy())
            if not w @ w < 1e12:  # also catches NaN
                diverged = True
                break
            if reached < 0 and np.sum((w - w_star_arr) ** 2) < tol * tol:
                reached = t + 1
                if stop_at_tol:
                    break
        path_arr = np.array(path)
        residual = path_arr @ X.T - y
        loss = 0.5 * np.mean(residual * residual, axis=1)
    counted = same + opposite
    return ZigZagRun(X=X, w_star=w_star_arr, start=start_arr, lr=float(lr), mode=mode, tol=float(tol),
                     path=path_arr, loss=loss, steps_to_tol=reached,
                     same_sign=same / counted if counted else float("nan"),
                     opposite_sign=opposite / counted if counted else float("nan"), diverged=diverged)


DEFAULT_LR_FACTORS = tuple(float(c) for c in np.geomspace(0.05, 4.0, 15))
"""Learning rates tried by :func:`zigzag_fastest`, as multiples of 1 / mean ‖x‖²."""


def zigzag_fastest(X: np.ndarray, *, lr_factors: Sequence[float] = DEFAULT_LR_FACTORS, steps: int = 300,
                   tol: float = 1e-3, mode: str = "per_example", w_star: Sequence[float] = (1.0, -1.0),
                   start: Sequence[float] = (0.0, 0.0), rng: np.random.Generator) -> ZigZagRun:
    r"""The run of :func:`zigzag_descent` that reaches ``tol`` in the fewest steps, over a grid of learning rates.

    The rates are ``lr_factors / mean(‖x‖²)``, so that inputs of another size get
    a comparable grid. Every rate uses the same example order (one seed drawn from
    ``rng``); ties go to the smaller rate. If no rate reaches ``tol``, the run that
    ends closest to :math:`w^\ast` is returned.
    """
    X = check.array("X", X, ndim=2)
    check.rng("rng", rng)
    if len(lr_factors) == 0:
        raise ValueError("lr_factors is empty; give at least one positive number")
    scale = float(np.mean(np.sum(X * X, axis=1)))
    if scale <= 0:
        raise ValueError("X is all zeros: no learning rate can move the weights")
    order_seed = int(rng.integers(2**32))
    best, best_key = None, None
    # largest rates first: they finish (or blow up) soon, and no later run needs more steps than the best so far
    for c in sorted((check.positive("lr_factors[i]", c) for c in lr_factors), reverse=True):
        budget = best.steps_to_tol if best is not None and best.steps_to_tol > 0 else steps
        run = zigzag_descent(X, lr=c / scale, steps=budget, tol=tol, mode=mode, w_star=w_star, start=start,
                             stop_at_tol=True, rng=np.random.default_rng(order_seed))
        if run.steps_to_tol > 0:
            key = (0, run.steps_to_tol, run.lr)
        else:
            key = (1, float(np.linalg.norm(run.path[-1] - run.w_star)) if not run.diverged else np.inf, run.lr)
        if best_key is None or key < best_key:
            best, best_key = run, key
    return best


# --- the same-sign rule in a real layer -----------------------------------------------------------------------------

def _one_signed(columns: np.ndarray) -> np.ndarray:
    """For each column (axis −2: inputs, axis −1: units): are its non-zero entries all of one sign?"""
    return ~(np.any(columns > 0, axis=-2) & np.any(columns < 0, axis=-2))


def gradient_sign_patterns(activation: str = "relu", *, width: int = 32, batch: int = 32, alpha: float = 1.0,
                           rng: np.random.Generator) -> dict[str, float]:
    r"""Sign patterns of a hidden Dense layer's weight gradient, per example and over a batch.

    The network is ``mlp([2, width, width, 1], activation)`` (the activation's
    :data:`ACTIVATION_INITS`) on ``batch`` two-moons points drawn from ``rng``,
    binary cross-entropy; the layer is the second Dense layer, whose inputs are
    the first hidden layer's outputs. Column j of its gradient,
    :math:`\sum_n x_{ni}\,\delta_{nj}`, belongs to unit j; it is *one-signed*
    when its non-zero entries share a sign. Per-example gradients come from one
    forward and backward pass per example. Returns fractions:
    ``input_negative`` (of the layer's inputs), ``unit_one_signed_per_example``
    (of example-unit pairs), ``layer_one_signed_per_example`` (of examples),
    ``units_both_signs_per_example`` (examples in which some units' columns are all
    positive and others' all negative), ``unit_one_signed_batch`` (of units, for the
    batch gradient), and ``batch_matches_examples`` (relative difference between
    the mean per-example gradient and the batch gradient).
    """
    check.choice("activation", activation, BIAS_SHIFT_ACTIVATIONS)
    check.positive("width", width, integer=True)
    check.number("batch", batch, low=2, integer=True)
    X, y = load("moons", n=batch, rng=check.rng("rng", rng))
    scheme, options = INIT_RULES[ACTIVATION_INITS[activation]]
    model = mlp([2, width, width, 1], activation, rng=rng, init=scheme, init_options=options,
                activation_options={"alpha": alpha} if activation == "elu" else None)
    loss, layer = make_loss("bce_logits"), model[2]
    if not isinstance(layer, Dense):
        raise RuntimeError("the second Dense layer is not where it was expected in the MLP")
    inputs = collect_activations(model, X)[1].out  # the first hidden layer's outputs
    per_example = np.empty((batch, width, width))
    for k in range(batch):
        loss.forward(model.forward(X[k:k + 1]), y[k:k + 1])
        model.backward(loss.backward())
        per_example[k] = layer.grads["W"]
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    batch_grad = layer.grads["W"].copy()
    unit_signed = _one_signed(per_example)  # (batch, width)
    up, down = unit_signed & np.any(per_example > 0, axis=1), unit_signed & np.any(per_example < 0, axis=1)
    return {
        "input_negative": float(np.mean(inputs < 0)),
        "unit_one_signed_per_example": float(unit_signed.mean()),
        "layer_one_signed_per_example": float(np.mean(_one_signed(per_example.reshape(batch, -1, 1)))),
        "units_both_signs_per_example": float(np.mean(up.any(axis=1) & down.any(axis=1))),
        "unit_one_signed_batch": float(_one_signed(batch_grad).mean()),
        "batch_matches_examples": float(np.linalg.norm(per_example.mean(axis=0) - batch_grad)
                                        / np.linalg.norm(batch_grad)),
    }


# --- the widget's computation ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EluExplorerState:
    """What the notebook's widget shows: per-layer statistics of one activation (and ReLU's), and the zig-zag toy."""

    layers: BiasShiftLayers
    reference: BiasShiftLayers | None
    zigzag: ZigZagRun
    centre: bool


def elu_explorer_state(activation: str = "elu", *, alpha: float = 1.0, depth: int = 20, init: str = "default",
                       centre: bool = False, width: int = 64, n: int = 256, toy_examples: int = 64,
                       rng: np.random.Generator) -> EluExplorerState:
    """The widget's computation: :func:`bias_shift_layers` of ``activation`` (and of ReLU with He init, for
    reference), and :func:`zigzag_fastest` on ``toy_examples`` outputs of the same activation (centred if
    ``centre``). ``init="default"`` uses :data:`ACTIVATION_INITS`; ``alpha`` is ELU's.

    Each part draws from its own copy of ``rng``, so that the reference network gets the same inputs as the
    activation's network (``rng`` itself is left as it was).
    """
    check.rng("rng", rng)
    check.choice("activation", activation, BIAS_SHIFT_ACTIVATIONS)
    check.choice("init", init, ("default", *INIT_RULES))
    alpha = float(check.positive("alpha", alpha)) if activation == "elu" else 1.0
    layers = bias_shift_layers(activation, depth=depth, width=width, n=n, alpha=alpha,
                               init=None if init == "default" else init, rng=copy.deepcopy(rng))
    reference = None
    if activation != "relu" or init not in ("default", "he"):
        reference = bias_shift_layers("relu", depth=depth, width=width, n=n, init="he", rng=copy.deepcopy(rng))
    toy_rng = copy.deepcopy(rng)
    X = zigzag_inputs(activation, toy_examples, alpha=alpha, centre=bool(centre), rng=toy_rng)
    run = zigzag_fastest(X, rng=toy_rng, steps=200)
    return EluExplorerState(layers=layers, reference=reference, zigzag=run, centre=bool(centre))
