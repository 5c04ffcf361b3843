r"""Notebook 03 (dying ReLU): what stops, what still learns, and what can bring a unit back.

A ReLU unit :math:`a = \max(0, z)`, :math:`z = x\cdot w + b`, passes the gradient
:math:`\partial L/\partial z = \partial L/\partial a \cdot \mathbb 1[z > 0]`. When
:math:`z \le 0` for every input, every weight gradient of the unit is exactly 0:

.. math::

    \frac{\partial L}{\partial w} = \sum_n x_n\, \frac{\partial L}{\partial a_n}\,\mathbb 1[z_n > 0] = 0,
    \qquad \frac{\partial L}{\partial b} = 0 .

The network pieces (used by later notebooks too):

* :func:`kill_units`: shift the biases of chosen units of a Dense layer so that
  their pre-activation is at most ``-margin`` on every row of a data set;
* :func:`dead_network`: a one-hidden-layer network whose hidden layer is dead
  on every input of the data set (:math:`XW + B < 0` everywhere);
* :func:`dead_setup`: that network together with its data and loss.

The experiments, each a function returning a small result object:

* :func:`frozen_training`, :func:`flat_neighbourhood`: what stops and what still learns;
* :func:`revival_run`, :func:`revival_table`, :func:`shrink_factors`, :func:`sign_flip_step`,
  :func:`underflow_revival`, :func:`momentum_deaths`: what momentum, weight decay, Adam and
  batch normalization do to a dead unit;
* :func:`dead_units_sweep`, :func:`dead_layer`: one dead unit against a dead layer;
* :func:`dying_run`, :func:`dying_grid`, :func:`dead_after_training`,
  :func:`born_dead_probability`: how units die in practice, and at initialisation;
* :func:`batchnorm_dead`: batch normalization before the ReLU, in training and evaluation mode.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .. import _validate as check
from .. import scenarios
from ..activations import ReLU
from ..data import two_moons
from ..diagnostics import DeadFraction, alive_units, collect_activations
from ..layers import Layer, Sequential
from ..losses import make_loss
from ..models import dense_layers, mlp
from ..optim import SGD, Adam, RMSProp
from ..scenarios import TASKS, DeadSetup, dead_network, kill_units, pre_activations
from ..train import Callback, DivergenceError, StopAfter, TrainState, accuracy, fit

__all__ = [
    "OPTIMIZER_CHOICES", "REVIVAL_QUESTIONS", "REVIVAL_SCENARIOS", "BatchNormDead", "BornDead", "DeadLayer",
    "DeadSetup", "DeadUnitsSweep", "DyingRun", "FrozenRun", "MomentumDeaths", "RevivalRun", "UnderflowRevival",
    "batchnorm_dead", "best_constant", "born_dead_probability", "dead_after_training", "dead_layer", "dead_network",
    "dead_setup", "dead_units_sweep", "dying_grid", "dying_run", "flat_neighbourhood", "frozen_training",
    "kill_units", "momentum_deaths", "pre_activations", "revival_run", "revival_table", "shrink_factors",
    "sign_flip_step", "underflow_revival",
]

NOTEBOOK = "03"

def dead_setup(task: str = "binary", *, seed: int = 0, **options: Any) -> DeadSetup:
    """:func:`vanishing.scenarios.dead_setup` drawn from ``numpy.random.default_rng(seed)``."""
    check.non_negative("seed", seed, integer=True)
    return scenarios.dead_setup(task, rng=np.random.default_rng(seed), **options)


# --- watching a full-batch run ----------------------------------------------------------------------------------

class _ReluWatch(Callback):
    """Records, at every step of a full-batch run, what the training forward shows of each ReLU layer.

    In full-batch training the training forward *is* a forward on the whole
    data set, so it shows which units are alive on every example at no extra
    cost: ``alive`` (steps, units), ``z_max`` (steps,): the largest ReLU input
    over the data and units. With ``grads=True`` also the largest |gradient|
    of every parameter over the run (``max_grad``).
    """

    def __init__(self, *, grads: bool = False) -> None:
        self.alive: list[np.ndarray] = []
        self.z_max: list[float] = []
        self.max_grad: dict[str, float] = {}
        self._grads = grads
        self._remove: Any = None
        self._relus: list[int] = []
        self._rows: dict[int, tuple[np.ndarray, float]] = {}

    def on_train_begin(self, state: TrainState) -> None:
        model = state.model
        self._relus = [layer for layer in model if isinstance(layer, ReLU)]
        self.max_grad = dict.fromkeys(model.params, 0.0)
        self._remove = model.add_forward_hook(self._hook)

    def _hook(self, layer: Layer, x: np.ndarray, out: np.ndarray) -> None:
        if layer in self._relus:
            self._rows[id(layer)] = (out.any(axis=0), float(x.max()))

    def on_after_backward(self, state: TrainState) -> None:
        rows = [self._rows[id(layer)] for layer in self._relus]
        self.alive.append(rows[0][0] if len(rows) == 1 else np.concatenate([r[0] for r in rows]))
        self.z_max.append(max(r[1] for r in rows))
        if self._grads:
            for name, g in state.model.grads.items():
                self.max_grad[name] = max(self.max_grad[name], float(np.abs(g).max()))

    def on_train_end(self, state: TrainState) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None


def _full_batch(model: Sequential, loss: str, optimizer: Any, X: np.ndarray, y: np.ndarray, steps: int,
                callbacks: Sequence[Any] = ()) -> list[float]:
    """``steps`` full-batch steps with :func:`vanishing.fit` (one step per epoch, no shuffling); the losses."""
    history = fit(model, loss, optimizer, X, y, epochs=steps, batch_size=len(X), rng=np.random.default_rng(0),
                  callbacks=list(callbacks), shuffle=False)
    return history.loss


def _snapshot(model: Sequential) -> dict[str, np.ndarray]:
    return {name: p.copy() for name, p in model.params.items()}


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two arrays hold the same bits (so -0.0 differs from 0.0, and every rounding counts)."""
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def best_constant(task: str, y: np.ndarray) -> tuple[float, float]:
    r"""The constant output that minimises the loss over ``y``, and that loss.

    MSE (``task="regression"``): the mean :math:`\bar y`, loss :math:`\tfrac12\operatorname{Var}(y)`.
    Binary cross-entropy on a logit (``task="binary"``): the log-odds of the
    class prior :math:`p = \bar y`, :math:`\log\frac{p}{1-p}`, loss the entropy
    :math:`-p\log p - (1-p)\log(1-p)`.
    """
    check.choice("task", task, TASKS)
    y = np.asarray(y, dtype=np.float64)
    p = float(y.mean())
    if task == "regression":
        return p, float(0.5 * y.var())
    return float(np.log(p / (1 - p))), float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))


# --- 1. the exact scenario --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FrozenRun:
    r"""Training the dead network of :func:`dead_setup`: what moved and what did not.

    Attributes
    ----------
    task, optimizer, steps, lr
        The setting (full-batch steps).
    loss
        The loss at every step, shape (steps,).
    output_bias
        The output bias before training and after every step, shape (steps + 1,).
    max_abs_grad
        Parameter name -> the largest :math:`|\partial L/\partial p|` seen over all steps
        (``"0.W"``, ``"0.b"``: hidden layer; ``"2.W"``, ``"2.b"``: output layer).
    unchanged
        Parameter name -> True when the parameter holds the same bits after training as before.
    constant, constant_loss
        The best constant output and its loss (:func:`best_constant`).
    output_spread
        max - min of the trained network's output over the data: 0 means one
        output for every input.
    """

    task: str
    optimizer: str
    steps: int
    lr: float
    loss: np.ndarray
    output_bias: np.ndarray
    max_abs_grad: dict[str, float]
    unchanged: dict[str, bool]
    constant: float
    constant_loss: float
    output_spread: float


def frozen_training(task: str = "binary", *, steps: int = 500, lr: float = 0.5, momentum: float = 0.0,
                    seed: int = 0) -> FrozenRun:
    r"""Train :func:`dead_setup`'s network with full-batch SGD and record what changes.

    The hidden layer is dead on every input, so :math:`h = 0`,
    :math:`\partial L/\partial W_1 = \partial L/\partial b_1 = 0` and
    :math:`\partial L/\partial W_2 = h^T\,\delta = 0`: only the output bias
    :math:`b_2` gets a gradient, and the output is :math:`b_2` for every input.
    Gradient descent on :math:`b_2` alone converges to the best constant.
    """
    check.positive("steps", steps, integer=True)
    check.positive("lr", lr)
    setup = dead_setup(task, seed=seed)
    before = _snapshot(setup.model)
    watch = _ReluWatch(grads=True)
    bias_track = _OutputBias()
    optimizer = SGD(setup.model, lr=lr, momentum=momentum)
    losses = _full_batch(setup.model, setup.loss, optimizer, setup.X, setup.y, steps, [watch, bias_track])
    constant, constant_loss = best_constant(task, setup.y)
    out = setup.model.forward(setup.X)
    return FrozenRun(task=task, optimizer="sgd" if not momentum else f"sgd, momentum {momentum:g}", steps=steps,
                     lr=lr, loss=np.array(losses), output_bias=np.array(bias_track.values),
                     max_abs_grad=dict(watch.max_grad),
                     unchanged={k: _bitwise_equal(before[k], p) for k, p in setup.model.params.items()},
                     constant=constant, constant_loss=constant_loss, output_spread=float(np.ptp(out)))


class _OutputBias(Callback):
    """The output layer's bias (first entry) before training and after every update."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def _bias(self, state: TrainState) -> float:
        return float(dense_layers(state.model)[-1][1].params["b"][0])

    def on_train_begin(self, state: TrainState) -> None:
        self.values = [self._bias(state)]

    def on_step_end(self, state: TrainState) -> None:
        self.values.append(self._bias(state))


def flat_neighbourhood(radius: float = 0.1, *, trials: int = 20, seed: int = 0) -> tuple[int, int]:
    r"""Perturb the dead hidden layer's parameters at random: how often is the loss exactly unchanged?

    Every entry of :math:`W_1` and :math:`b_1` gets an independent
    :math:`U(-r, r)` perturbation. While :math:`r\,(1 + \max_n \|x_n\|_1)` stays below the
    margin (1), every pre-activation stays negative, the hidden output stays
    exactly 0 and the loss cannot change: not only the gradient but every
    higher derivative (the Hessian too) is 0 there. A flat plateau, not a saddle.

    Returns (number of perturbations that left the loss bit for bit equal, trials).
    """
    check.positive("radius", radius)
    check.positive("trials", trials, integer=True)
    setup = dead_setup("binary", seed=seed)
    loss = make_loss(setup.loss)
    reference = loss.forward(setup.model.forward(setup.X), setup.y)
    rng = np.random.default_rng(seed + 1)
    hidden = setup.hidden.params
    start = {k: v.copy() for k, v in hidden.items()}
    same = 0
    for _ in range(trials):
        for k, v in hidden.items():
            v[...] = start[k] + rng.uniform(-radius, radius, v.shape)
        same += loss.forward(setup.model.forward(setup.X), setup.y) == reference
    for k, v in hidden.items():
        v[...] = start[k]
    return int(same), trials


# --- 2. what can move the weights out ---------------------------------------------------------------------------

REVIVAL_SCENARIOS: dict[str, dict[str, Any]] = {
    "SGD": {"optimizer": "sgd", "lr": 0.5},
    "SGD + momentum 0.9": {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9},
    "SGD + L2 decay 0.01": {"optimizer": "sgd", "lr": 0.5, "weight_decay": 0.01},
    "Adam": {"optimizer": "adam", "lr": 0.03},
    "Adam + L2 decay 0.01": {"optimizer": "adam", "lr": 0.03, "weight_decay": 0.01},
    "Adam + L2 decay 0.0001": {"optimizer": "adam", "lr": 0.03, "weight_decay": 1e-4},
    "AdamW (decoupled decay 0.01)": {"optimizer": "adam", "lr": 0.03, "decoupled_weight_decay": 0.01},
    "BatchNorm before ReLU, SGD": {"optimizer": "sgd", "lr": 0.5, "batchnorm": True},
}
"""Name -> settings of :func:`revival_run`: optimizer, lr, and any of momentum, weight_decay,
decoupled_weight_decay, batchnorm."""

REVIVAL_QUESTIONS: dict[str, dict[str, Any]] = {
    "RMSProp + L2 decay 0.01": {"optimizer": "rmsprop", "lr": 0.02, "weight_decay": 0.01},
    "SGD + momentum 0.9 + L2 decay 0.01": {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.01},
    "SGD + momentum 0.9 + L2 decay 0.001": {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.001},
    "AdamW (decoupled decay 0.1)": {"optimizer": "adam", "lr": 0.03, "decoupled_weight_decay": 0.1},
}
"""Scenarios of the notebook's prediction exercise (settings of :func:`revival_run`, 150 steps)."""


@dataclass(frozen=True)
class RevivalRun:
    r"""Full-batch training of the dead network under one optimizer setting.

    Attributes
    ----------
    name, settings
        The scenario and its settings.
    loss
        Loss at every step, shape (steps,).
    dead
        Fraction of hidden units dead on the whole data set at every step
        (seen by that step's training forward), shape (steps,).
    z_max
        The largest ReLU input over all data and units at every step, shape
        (steps,): negative while every unit is dead.
    first_alive
        The first step at which some hidden unit outputs a non-zero value on some example (None: never).
    hidden_unchanged
        True when :math:`W_1` and :math:`b_1` hold the same bits after training as before.
    constant_loss
        The loss of the best constant output (:func:`best_constant`).
    """

    name: str
    settings: dict[str, Any]
    loss: np.ndarray
    dead: np.ndarray
    z_max: np.ndarray
    first_alive: int | None
    hidden_unchanged: bool
    constant_loss: float

    @property
    def revived(self) -> bool:
        """True when some unit came alive at some step."""
        return self.first_alive is not None


def _make_optimizer(model: Sequential, optimizer: str, lr: float, momentum: float = 0.0,
                    weight_decay: float = 0.0, decoupled_weight_decay: float = 0.0) -> Any:
    decay = {"weight_decay": weight_decay, "decoupled_weight_decay": decoupled_weight_decay}
    check.choice("optimizer", optimizer, ("sgd", "adam", "rmsprop"))
    if optimizer == "sgd":
        return SGD(model, lr=lr, momentum=momentum, **decay)
    if momentum:
        raise ValueError(f"momentum={momentum!r} applies to optimizer='sgd' only; allowed with {optimizer!r}: 0")
    return (Adam if optimizer == "adam" else RMSProp)(model, lr=lr, **decay)


def revival_run(name: str = "SGD", *, steps: int = 150, seed: int = 0, task: str = "binary",
                dtype: Any = np.float64, **settings: Any) -> RevivalRun:
    r"""Train :func:`dead_setup`'s dead network, full batch, and watch for any unit coming back to life.

    ``name`` picks a scenario of :data:`REVIVAL_SCENARIOS` or :data:`REVIVAL_QUESTIONS`; keyword ``settings``
    override it (``optimizer`` "sgd", "adam" or "rmsprop", ``lr``, ``momentum``,
    ``weight_decay``, ``decoupled_weight_decay``, ``batchnorm``). What each
    update rule does to a dead unit's parameters p (gradient g = 0):

    * SGD: :math:`p \leftarrow p`; momentum from a dead start: v stays 0; Adam: m = v = 0, the step is 0/ε = 0;
    * L2 decay λ under SGD, and decoupled decay: :math:`p \leftarrow (1 - \eta\lambda)\,p`, so every
      pre-activation :math:`z = xW + b` scales by the same positive factor and stays negative
      (for :math:`\eta\lambda < 1`); with momentum the factor follows a damped oscillation
      (:func:`shrink_factors`) and can turn negative;
    * L2 decay under Adam or RMSProp: the gradient is :math:`\lambda p`, and the optimizer divides it by
      its own size, :math:`\hat m/\sqrt{\hat v} \approx \operatorname{sign}(p)`: every parameter moves
      towards 0 by about η per step whatever its size, so W and b no longer shrink in
      proportion and the sign of z can change;
    * batch normalization before the ReLU removes the bias: in training mode each unit's input
      has batch mean β = 0 and standard deviation γ = 1.

    Results are cached: the same arguments return the same (frozen) result object,
    so a self-check and a notebook cell that ask for the same run share it.
    """
    settings = {**check.lookup("name", name, {**REVIVAL_SCENARIOS, **REVIVAL_QUESTIONS}), **settings}
    check.positive("steps", steps, integer=True)
    check.non_negative("seed", seed, integer=True)
    check.choice("task", task, TASKS)
    return _revival_run(name, steps, seed, task, check.float_dtype("dtype", dtype).name,
                        tuple(sorted(settings.items())))


@lru_cache(maxsize=64)
def _revival_run(name: str, steps: int, seed: int, task: str, dtype: str,
                 settings_items: tuple[tuple[str, Any], ...]) -> RevivalRun:
    settings = dict(settings_items)
    batchnorm = bool(settings.pop("batchnorm", False))
    setup = dead_setup(task, seed=seed, dtype=dtype, batchnorm="before" if batchnorm else "none")
    hidden = setup.hidden.params
    start = {k: v.copy() for k, v in hidden.items()}
    optimizer = _make_optimizer(setup.model, **settings)
    watch = _ReluWatch()
    losses = _full_batch(setup.model, setup.loss, optimizer, setup.X, setup.y, steps, [watch])
    alive = np.array(watch.alive)
    ever = np.flatnonzero(alive.any(axis=1))
    settings["batchnorm"] = batchnorm
    return RevivalRun(name=name, settings=settings, loss=np.array(losses), dead=1.0 - alive.mean(axis=1),
                      z_max=np.array(watch.z_max),
                      first_alive=int(ever[0]) + 1 if ever.size else None,
                      hidden_unchanged=all(_bitwise_equal(start[k], v) for k, v in hidden.items()),
                      constant_loss=best_constant(task, setup.y)[1])


def shrink_factors(lr: float, weight_decay: float, momentum: float = 0.0, steps: int = 300) -> np.ndarray:
    r"""The factor :math:`a_t` with :math:`p_t = a_t\,p_0` for a dead unit's parameters under SGD with L2 decay.

    With zero gradient the update is linear and the same for every parameter:
    :math:`v_t = \mu v_{t-1} + \lambda p_{t-1}`, :math:`p_t = p_{t-1} - \eta v_t`,
    :math:`v_0 = 0`; so :math:`p_t = a_t p_0` with one scalar sequence, and every
    pre-activation is :math:`z_t(x) = a_t z_0(x)`. Without momentum :math:`a_t = (1 - \eta\lambda)^t`.
    With momentum the sequence is a damped oscillation when the roots of
    :math:`r^2 - (1 + \mu - \eta\lambda) r + \mu = 0` are complex, i.e. when
    :math:`\eta\lambda > (1 - \sqrt\mu)^2`: then :math:`a_t` turns negative, and at that
    step :math:`z_t = a_t z_0 > 0` for every input: every dead unit comes alive at once.

    Returns :math:`a_0, \dots, a_{steps}`, shape (steps + 1,).
    """
    check.positive("lr", lr)
    check.non_negative("weight_decay", weight_decay)
    check.number("momentum", momentum, low=0, high=1, high_open=True)
    check.positive("steps", steps, integer=True)
    a, v = 1.0, 0.0
    out = [a]
    for _ in range(steps):
        v = momentum * v + weight_decay * a
        a = a - lr * v
        out.append(a)
    return np.array(out)


def sign_flip_step(lr: float, weight_decay: float, momentum: float = 0.0, steps: int = 300) -> int | None:
    """The training step at which a dead unit comes alive through :func:`shrink_factors` turning negative.

    Step s runs its forward on the parameters after s - 1 updates, so the answer
    is 1 + the first t with a_t < 0 (None: not within ``steps``).
    """
    negative = np.flatnonzero(shrink_factors(lr, weight_decay, momentum, steps) < 0)
    return int(negative[0]) + 1 if negative.size else None


def revival_table(names: Sequence[str] | None = None, *, steps: int = 150, seed: int = 0) -> dict[str, RevivalRun]:
    """:func:`revival_run` for every scenario of :data:`REVIVAL_SCENARIOS` (or those named, from it or from
    :data:`REVIVAL_QUESTIONS`), with the same steps and seed."""
    names = list(REVIVAL_SCENARIOS) if names is None else list(names)
    return {name: revival_run(name, steps=steps, seed=seed) for name in names}


@dataclass(frozen=True)
class UnderflowRevival:
    r"""SGD with L2 decay on the dead network until floating point, not the update rule, changes the picture.

    Attributes
    ----------
    dtype, lr, weight_decay
        The setting; each step multiplies every hidden parameter by about :math:`1 - \eta\lambda`.
    predicted_step
        When the largest hidden parameter reaches the dtype's smallest subnormal number
        :math:`s`: :math:`\ln(s/|p|_{max}) / \ln(1 - \eta\lambda)`.
    first_alive
        The first step at which some hidden unit outputs a non-zero number (None: never within ``steps``).
    alive_output
        The largest hidden output at the end (a few multiples of :math:`s`).
    alive_units
        Units alive (non-zero output on some example) at the end.
    hidden_grad
        The largest |gradient| of :math:`W_1` and :math:`b_1` over the steps after ``first_alive``:
        0 when the products that form it underflow too.
    stuck_values
        The distinct |values| of the hidden parameters at the end, in units of :math:`s`, ascending.
    loss_change
        |last loss - loss at first_alive|: what the "revived" units changed.
    """

    dtype: str
    lr: float
    weight_decay: float
    steps: int
    predicted_step: float
    first_alive: int | None
    alive_output: float
    alive_units: int
    hidden_grad: float
    stuck_values: tuple[int, ...]
    loss_change: float


def underflow_revival(dtype: Any = np.float64, *, lr: float = 1.0, weight_decay: float = 0.5, steps: int = 1200,
                      seed: int = 0) -> UnderflowRevival:
    r"""SGD with L2 weight decay on :func:`dead_setup`'s network, long enough for the parameters to underflow.

    In exact arithmetic :math:`z_t = (1 - \eta\lambda)^t z_0 < 0` forever. In floating point the
    parameters fall into the subnormal range, where a product is rounded to a multiple of the
    smallest subnormal :math:`s`. For :math:`\eta\lambda \le 1/2` the decay step :math:`\eta\lambda p`
    then rounds to 0 and each parameter stops at a few :math:`s`, all of about the same size: the
    proportions between W and b are lost, and :math:`xW + b` can come out positive. For larger
    :math:`\eta\lambda` the step rounds up to the whole parameter, which becomes exactly 0 (and
    :math:`z = 0` is dead). ``steps`` must cover ``predicted_step``.
    """
    check.positive("steps", steps, integer=True)
    setup = dead_setup("binary", seed=seed, dtype=dtype)
    dt = setup.model.dtype
    tiny = float(np.finfo(dt).smallest_subnormal)
    hidden = setup.hidden.params
    largest = max(float(np.abs(v).max()) for v in hidden.values())
    factor = 1.0 - lr * weight_decay
    if not 0 < factor < 1:
        raise ValueError(f"lr * weight_decay = {lr * weight_decay:g} must lie in (0, 1) for a decay")
    watch = _ReluWatch()
    grads = _HiddenGradAfterAlive()
    losses = _full_batch(setup.model, setup.loss, SGD(setup.model, lr=lr, weight_decay=weight_decay), setup.X,
                         setup.y, steps, [watch, grads])
    alive = np.array(watch.alive)
    ever = np.flatnonzero(alive.any(axis=1))
    first = int(ever[0]) + 1 if ever.size else None
    hidden_out = np.maximum(pre_activations(setup.model, setup.X), 0)
    values = np.unique(np.concatenate([np.abs(v).ravel() for v in hidden.values()]))
    return UnderflowRevival(
        dtype=dt.name, lr=lr, weight_decay=weight_decay, steps=steps,
        predicted_step=float((np.log(tiny) - np.log(largest)) / np.log(factor)), first_alive=first,
        alive_output=float(hidden_out.max()), alive_units=int(hidden_out.any(axis=0).sum()),
        hidden_grad=grads.largest, stuck_values=tuple(int(v) for v in np.round(values / tiny)),
        loss_change=abs(losses[-1] - losses[first - 1]) if first else 0.0)


class _HiddenGradAfterAlive(Callback):
    """The largest |gradient| of the first Dense layer at the steps where some hidden unit is alive."""

    def __init__(self) -> None:
        self.largest = 0.0

    def on_after_backward(self, state: TrainState) -> None:
        model = state.model
        relu = next(layer for layer in model if isinstance(layer, ReLU))
        if np.any(relu.cache["out"] != 0):
            grads = dense_layers(model)[0][1].grads
            self.largest = max(self.largest, max(float(np.abs(g).max()) for g in grads.values()))


@dataclass(frozen=True)
class MomentumDeaths:
    r"""Units that die during full-batch training with momentum, and how many come back.

    After a unit dies on the whole data set its gradient is 0, so with momentum μ its velocity
    only decays, :math:`v_t = \mu^t v`, and its parameters slide along a straight line by
    :math:`\eta\mu v/(1 - \mu)` in total. The largest pre-activation over the data is convex
    along that line, so the unit comes back exactly when the end of the line is alive for
    some example: a prediction made from the velocity at the moment of death.

    Attributes
    ----------
    momenta, lr, seeds, steps, hidden
        The setting: one hidden layer of ``hidden`` ReLU units on the two moons of
        :func:`dead_setup`, He-uniform weights, zero biases (alive at the start).
    deaths, revivals
        Per momentum: deaths (a unit alive on some example at one step and on none
        at the next) and revivals (the reverse), summed over the seeds.
    predicted
        Per momentum: revivals predicted from the velocity at each death (a death
        counts at most one revival, the next one).
    agree
        Per momentum: deaths whose predicted and measured outcome (revived before
        the end of training or not) agree.
    dead_end
        Per momentum: fraction of units dead at the end, mean over the seeds.
    """

    momenta: tuple[float, ...]
    lr: float
    seeds: int
    steps: int
    hidden: int
    deaths: np.ndarray
    revivals: np.ndarray
    predicted: np.ndarray
    agree: np.ndarray
    dead_end: np.ndarray


def momentum_deaths(momenta: Sequence[float] = (0.0, 0.9, 0.99), *, lr: float = 1.0, hidden: int = 64,
                    steps: int = 200, seeds: int = 2) -> MomentumDeaths:
    r"""Count deaths and revivals of hidden units in full-batch training with SGD at each momentum.

    The data are :func:`dead_setup`'s two moons; the network is a fresh
    ``[2, hidden, 1]`` ReLU MLP (He uniform, zero biases) for each seed, so the
    units start alive and die (or not) on their own. At each death the outcome
    is predicted from the velocity: a unit that died at step i, where its
    velocity was v, sits at :math:`p_i - \eta\,v\sum_{k=1}^{K}\mu^k` at the last step
    (K steps later) if it stays dead; it revives before the end exactly when
    that point is alive on some example. See :class:`MomentumDeaths`.
    """
    check.positive("steps", steps, integer=True)
    check.positive("seeds", seeds, integer=True)
    check.positive("lr", lr)
    data = dead_setup("binary")
    X, y = data.X, data.y
    loss = make_loss("bce_logits")
    rows = []
    for mu in momenta:
        check.number("momentum", mu, low=0, high=1, high_open=True)
        events: list[list[bool]] = []  # [predicted, measured] per death
        dead_end = []
        for seed in range(seeds):
            model = mlp([X.shape[1], hidden, 1], "relu", rng=np.random.default_rng(seed), init="he_uniform")
            optimizer = SGD(model, lr=lr, momentum=mu)
            open_death: dict[int, list[bool]] = {}
            previous = None
            with np.errstate(over="ignore", invalid="ignore"):
                for i in range(steps):
                    if not np.isfinite(loss.forward(model.forward(X), y)):
                        break
                    alive = model[1].cache["out"].any(axis=0)
                    if previous is not None:
                        for j in np.flatnonzero(previous & ~alive):
                            event = [_revives_by_momentum(model, optimizer, X, j, steps - 1 - i), False]
                            events.append(event)
                            open_death[j] = event
                        for j in np.flatnonzero(~previous & alive):
                            open_death.pop(j)[1] = True
                    previous = alive
                    model.backward(loss.backward())
                    optimizer.step()
            dead_end.append(1.0 - float(previous.mean()))
        table = np.array(events, dtype=bool).reshape(-1, 2)
        rows.append((len(table), int(table[:, 1].sum()), int(table[:, 0].sum()),
                     int((table[:, 0] == table[:, 1]).sum()), float(np.mean(dead_end))))
    deaths, revivals, predicted, agree, dead_end = (np.array(col) for col in zip(*rows, strict=True))
    return MomentumDeaths(momenta=tuple(float(m) for m in momenta), lr=lr, seeds=seeds, steps=steps, hidden=hidden,
                          deaths=deaths, revivals=revivals, predicted=predicted, agree=agree, dead_end=dead_end)


def _revives_by_momentum(model: Sequential, optimizer: SGD, X: np.ndarray, unit: int, remaining: int) -> bool:
    """Will hidden unit ``unit``, dead now, be alive on some example within ``remaining`` more steps?

    With zero gradient its velocity decays as mu^k, so after K more steps its parameters are
    ``p - lr * v * (mu + ... + mu^K)``; alive there on some example <=> it revives by then
    (the largest pre-activation over the examples is convex along the line, and dead at its start).
    """
    mu = optimizer.momentum
    if mu == 0 or remaining <= 0:
        return False
    state = optimizer.state
    if "velocity" not in state.get("0.W", {}):
        return False
    travel = optimizer.lr * mu * (1 - mu ** remaining) / (1 - mu)
    w = model.params["0.W"][:, unit] - travel * state["0.W"]["velocity"][:, unit]
    b = model.params["0.b"][unit] - travel * state["0.b"]["velocity"][unit]
    return bool(np.max(X @ w + b) > 0)


# --- 3. one dead unit vs a dead layer ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DeadUnitsSweep:
    """A one-hidden-layer network with some of its units killed at the start, trained full batch.

    Attributes
    ----------
    killed
        Number of units killed before training (the first ``k`` of ``hidden``).
    loss
        Loss at every step for each ``k``, shape (len(killed), steps).
    accuracy
        Training accuracy at the end, per ``k``.
    killed_unchanged
        Per ``k``: the killed units' weights and biases hold the same bits after training.
    alive_end
        Per ``k``: units alive on some example at the end.
    constant_loss
        The best constant's loss: where a network with every unit dead ends.
    """

    hidden: int
    killed: tuple[int, ...]
    steps: int
    lr: float
    loss: np.ndarray
    accuracy: np.ndarray
    killed_unchanged: np.ndarray
    alive_end: np.ndarray
    constant_loss: float


def dead_units_sweep(killed: Sequence[int] = (0, 4, 8, 12, 15, 16), *, hidden: int = 16, steps: int = 300,
                     lr: float = 0.5, seed: int = 0) -> DeadUnitsSweep:
    """Kill the first ``k`` hidden units (margin 1) of the same network, for each ``k``, and train with SGD.

    The data are :func:`dead_setup`'s two moons. The weights are the same for
    every ``k`` (drawn from ``seed``); the killed units get their biases
    lowered by :func:`kill_units`.
    """
    check.positive("steps", steps, integer=True)
    data = dead_setup("binary", seed=seed)
    X, y = data.X, data.y
    losses, accuracies, unchanged, alive_end = [], [], [], []
    for k in killed:
        check.number("killed", k, low=0, high=hidden, integer=True)
        model = mlp([X.shape[1], hidden, 1], "relu", rng=np.random.default_rng(seed + 1), init="he_uniform")
        if k:
            kill_units(model, X, range(k))
        start = _snapshot(model)
        losses.append(_full_batch(model, "bce_logits", SGD(model, lr=lr), X, y, steps))
        accuracies.append(accuracy(model, "bce_logits", X, y))
        unchanged.append(all(_bitwise_equal(start[n][..., :k], model.params[n][..., :k]) for n in ("0.W", "0.b")))
        alive_end.append(int(np.any(pre_activations(model, X) > 0, axis=0).sum()))
    return DeadUnitsSweep(hidden=hidden, killed=tuple(int(k) for k in killed), steps=steps, lr=lr,
                          loss=np.array(losses), accuracy=np.array(accuracies), killed_unchanged=np.array(unchanged),
                          alive_end=np.array(alive_end), constant_loss=best_constant("binary", y)[1])


@dataclass(frozen=True)
class DeadLayer:
    r"""A deeper network with one hidden layer killed, before and after training.

    Attributes
    ----------
    sizes, dead_layer, killed, bias
        The network (``sizes`` widths), which hidden layer (0 = first) was
        killed, which of its units, and the initial bias of every hidden layer.
    names
        Parameter names, from the input side (``"Dense 1 W"``...).
    grad_at_start
        The largest |gradient| of each parameter at the start (one full-batch backward).
    changed
        Per parameter: does training change it at all?
    loss, constant_loss
        Loss at every step, and the best constant's loss.
    output_spread
        max - min of the trained network's output over the data (0: a constant function).
    alive_start, alive_end
        Units alive on some example in each hidden layer, before and after training.
    """

    sizes: tuple[int, ...]
    dead_layer: int
    killed: int
    bias: float
    steps: int
    names: list[str]
    grad_at_start: np.ndarray
    changed: np.ndarray
    loss: np.ndarray
    constant_loss: float
    output_spread: float
    alive_start: tuple[int, ...]
    alive_end: tuple[int, ...]


def dead_layer(killed: int | None = None, *, sizes: Sequence[int] = (2, 16, 16, 16, 1), dead: int = 1,
               bias: float = 0.0, steps: int = 300, lr: float = 0.3, seed: int = 1) -> DeadLayer:
    """Kill ``killed`` units (None: all) of hidden layer ``dead`` of a ReLU MLP; measure gradients; train.

    The data are :func:`dead_setup`'s two moons; He-uniform weights, hidden
    biases ``bias``, full-batch SGD for ``steps`` steps at ``lr``.
    """
    check.positive("steps", steps, integer=True)
    data = dead_setup("binary")
    X, y = data.X, data.y
    model = mlp(list(sizes), "relu", rng=np.random.default_rng(seed), init="he_uniform", bias=bias)
    width = sizes[dead + 1]
    kill_units(model, X, None if killed is None else range(killed), layer=dead, margin=0.1)
    loss = make_loss("bce_logits")
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    dense = dense_layers(model)
    names = [f"Dense {i + 1} {k}" for i in range(len(dense)) for k in ("W", "b")]
    grads = np.array([float(np.abs(layer.grads[k]).max()) for _, layer in dense for k in ("W", "b")])
    alive_start = _alive_per_layer(model, X)
    start = _snapshot(model)
    losses = _full_batch(model, loss, SGD(model, lr=lr), X, y, steps)
    changed = np.array([not _bitwise_equal(start[f"{i}.{k}"], model.params[f"{i}.{k}"])
                        for i, _ in dense for k in ("W", "b")])
    out = model.forward(X)
    return DeadLayer(sizes=tuple(sizes), dead_layer=dead, killed=width if killed is None else int(killed), bias=bias,
                     steps=steps, names=names, grad_at_start=grads, changed=changed, loss=np.array(losses),
                     constant_loss=best_constant("binary", y)[1], output_spread=float(np.ptp(out)),
                     alive_start=alive_start, alive_end=_alive_per_layer(model, X))


def _alive_per_layer(model: Sequential, X: np.ndarray, *, train_mode: bool = False) -> tuple[int, ...]:
    """Units alive (non-zero output on some row of X) in each ReLU layer."""
    acts = collect_activations(model, X, train_mode=train_mode)
    return tuple(int(alive_units(a.out).sum()) for a in acts if isinstance(a.layer, ReLU))


# --- 4. how units die in practice -------------------------------------------------------------------------------

OPTIMIZER_CHOICES = ("sgd", "momentum", "adam")
"""The optimizers of :func:`dying_run`: plain SGD, SGD with momentum 0.9, Adam."""


@dataclass(frozen=True)
class DyingRun:
    r"""One training run of a deeper ReLU network, with its dead units recorded at every step.

    Attributes
    ----------
    settings
        lr, bias, optimizer, weight_decay, batchnorm, depth, width, steps, seed.
    steps
        The update count of each record (0 = before training), shape (records,).
    dead
        Fraction of all hidden units dead on the probe set (the training set,
        in training mode) at each record, shape (records,).
    dead_per_layer
        The same per hidden layer, shape (records, depth).
    alive
        The alive map: True where a unit outputs non-zero for some probe example,
        shape (records, depth * width), units ordered layer by layer.
    loss
        The training loss of every step (mini-batch, before its update), shape (steps done,).
    diverged
        None, or the step at which training diverged (the records stop there).
    accuracy
        Training accuracy at the end (nan if diverged).
    """

    settings: dict[str, Any]
    steps: np.ndarray
    dead: np.ndarray
    dead_per_layer: np.ndarray
    alive: np.ndarray
    loss: np.ndarray
    diverged: int | None
    accuracy: float

    @property
    def dead_end(self) -> float:
        """The dead fraction at the last record."""
        return float(self.dead[-1])

    @property
    def deaths(self) -> int:
        """How many times a unit went from alive at one record to dead at the next."""
        return int(np.sum(self.alive[:-1] & ~self.alive[1:]))

    @property
    def revivals(self) -> int:
        """How many times a unit went from dead at one record to alive at the next."""
        return int(np.sum(~self.alive[:-1] & self.alive[1:]))

    @property
    def revivals_per_layer(self) -> np.ndarray:
        """Revivals (dead at one record, alive at the next) in each hidden layer, shape (depth,)."""
        depth = self.dead_per_layer.shape[1]
        back = (~self.alive[:-1] & self.alive[1:]).sum(axis=0)
        return back.reshape(depth, -1).sum(axis=1)


@lru_cache(maxsize=4)
def _moons(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = two_moons(n, noise=0.1, rng=np.random.default_rng(seed))
    X.flags.writeable = False  # shared between calls: nobody may change it
    y = y.astype(np.float64)
    y.flags.writeable = False
    return X, y


def dying_run(lr: float = 0.1, bias: float = 0.0, optimizer: str = "sgd", weight_decay: float = 0.0,
              batchnorm: bool = False, *, depth: int = 3, width: int = 16, steps: int = 200, batch_size: int = 20,
              n: int = 200, every: int = 1, seed: int = 0) -> DyingRun:
    r"""Train a ReLU MLP on two moons and record the dead fraction with :class:`vanishing.diagnostics.DeadFraction`.

    The network: ``depth`` hidden layers of ``width`` ReLU units (He-uniform
    weights, every hidden bias ``bias``; with ``batchnorm`` a BatchNorm layer
    before each ReLU), one logit output, binary cross-entropy; ``n`` two-moons
    points (noise 0.1), mini-batches of ``batch_size``, ``steps`` updates.
    ``optimizer``: ``"sgd"``, ``"momentum"`` (SGD, μ = 0.9) or ``"adam"``;
    ``weight_decay`` is L2 added to the gradient. A unit is dead at a record
    when its output is 0 on every training example (probe in training mode,
    recorded every ``every`` updates). A run that diverges is kept up to the
    divergence (``diverged`` says when).
    """
    check.positive("lr", lr)
    check.number("bias", bias)
    check.choice("optimizer", optimizer, OPTIMIZER_CHOICES)
    check.non_negative("weight_decay", weight_decay)
    check.positive("depth", depth, integer=True)
    check.positive("width", width, integer=True)
    check.positive("steps", steps, integer=True)
    check.positive("batch_size", batch_size, integer=True)
    check.non_negative("seed", seed, integer=True)
    X, y = _moons(n, seed)
    rng = np.random.default_rng(seed + 1)
    model = mlp([2] + [width] * depth + [1], "relu", rng=rng, init="he_uniform", bias=bias,
                batchnorm="before" if batchnorm else "none")
    opt = _make_optimizer(model, "adam" if optimizer == "adam" else "sgd", lr,
                          momentum=0.9 if optimizer == "momentum" else 0.0, weight_decay=weight_decay)
    recorder = DeadFraction(X, every=every)
    epochs = -(-steps // -(-n // batch_size))
    diverged = None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned about
        try:
            history = fit(model, "bce_logits", opt, X, y, epochs=epochs, batch_size=batch_size, rng=rng,
                          callbacks=[recorder, StopAfter(steps)])
            losses = history.loss
        except DivergenceError as error:
            diverged = error.step
            losses = error.history.loss
        acc = accuracy(model, "bce_logits", X, y) if diverged is None else float("nan")
    alive = np.concatenate([recorder.alive[name] for name in recorder.layer_names], axis=1)
    settings = {"lr": lr, "bias": bias, "optimizer": optimizer, "weight_decay": weight_decay, "batchnorm": batchnorm,
                "depth": depth, "width": width, "steps": steps, "seed": seed}
    return DyingRun(settings=settings, steps=np.array(recorder.steps), dead=1.0 - alive.mean(axis=1),
                    dead_per_layer=recorder.history, alive=alive, loss=np.array(losses), diverged=diverged,
                    accuracy=acc)


def dying_grid(lrs: Sequence[float] = (0.03, 0.3, 1.0, 3.0), biases: Sequence[float] = (0.0, -0.3, 0.1),
               **settings: Any) -> dict[tuple[float, float], DyingRun]:
    """:func:`dying_run` for every (lr, bias) pair, other settings shared; keys ``(lr, bias)``."""
    return {(lr, bias): dying_run(lr, bias, **settings) for bias in biases for lr in lrs}


def dead_after_training(lr: float, *, seeds: Sequence[int] = (0, 1, 2), **settings: Any) -> float:
    """The dead fraction at the end of :func:`dying_run` (plain SGD by default), averaged over ``seeds``.

    A diverged run counts with the dead fraction it had when it diverged.
    The setting of the notebook's exercise: 3 hidden layers of 16, bias 0,
    batches of 20, 100 updates. Results are cached (the same arguments give the
    same number without training again), so a search and its self-check share runs.
    """
    check.positive("lr", lr)
    settings = {"steps": 100, **settings}
    settings.setdefault("every", settings["steps"])  # only the start and the end are needed
    return _dead_after_training(float(lr), tuple(int(s) for s in seeds), tuple(sorted(settings.items())))


@lru_cache(maxsize=256)
def _dead_after_training(lr: float, seeds: tuple[int, ...], settings_items: tuple[tuple[str, Any], ...]) -> float:
    settings = dict(settings_items)
    return float(np.mean([dying_run(lr, seed=seed, **settings).dead_end for seed in seeds]))


@dataclass(frozen=True)
class BornDead:
    r"""Monte Carlo estimate of the probability that a ReLU network is dead at initialisation.

    A network is *born dead* (Lu et al. 2019) when its output is the same for
    every input; here: when some hidden layer outputs 0 for every probe input
    (with zero biases every later layer then outputs 0 too).

    Attributes
    ----------
    widths, depths
        The grid; ``probability[i, j]`` is for ``widths[i]`` units per layer and
        ``depths[j]`` hidden layers.
    probability, standard_error
        Fraction of the ``trials`` networks born dead, and its binomial standard error.
    single_input
        :math:`1 - (1 - 2^{-N})^L`: the exact probability that one fixed input
        is zeroed by some layer. An upper bound for the whole probe set.
    """

    widths: tuple[int, ...]
    depths: np.ndarray
    trials: int
    inputs: int
    probability: np.ndarray
    standard_error: np.ndarray
    single_input: np.ndarray


def born_dead_probability(widths: Sequence[int] = (2, 3, 4, 6, 8), *, max_depth: int = 50, trials: int = 1000,
                          inputs: int = 64, input_dim: int = 2, rng: np.random.Generator) -> BornDead:
    r"""How often a deep, narrow ReLU network with He-normal weights and zero biases is dead at initialisation.

    For each width N, ``trials`` networks of ``max_depth`` hidden layers are
    drawn (weights :math:`N(0, 2/\text{fan}_\text{in})`, biases 0) and run on
    the same ``inputs`` points drawn from :math:`N(0, I)` in ``input_dim``
    dimensions; a network of depth L is dead when one of its first L layers
    outputs 0 on every point. The networks of one width are computed together
    as a stack of matrices (numpy's batched matmul) rather than one engine
    model at a time: the arithmetic is the same, ``relu(h @ W)`` per layer.

    For one input and zero biases, a layer whose input h is non-zero outputs 0
    with probability exactly :math:`2^{-N}` (each unit's :math:`h\cdot w` is symmetric
    about 0 and the units are independent), whatever h is; so one input
    survives L layers with probability :math:`(1 - 2^{-N})^L`.
    """
    check.rng("rng", rng)
    check.positive("max_depth", max_depth, integer=True)
    check.positive("trials", trials, integer=True)
    check.positive("inputs", inputs, integer=True)
    check.positive("input_dim", input_dim, integer=True)
    X = rng.standard_normal((inputs, input_dim))
    depths = np.arange(1, max_depth + 1)
    probability = []
    for width in widths:
        check.positive("width", width, integer=True)
        h = np.broadcast_to(X, (trials, inputs, input_dim))
        dead_by = np.zeros(trials, dtype=bool)
        row = []
        for _ in depths:
            fan_in = h.shape[2]
            W = rng.standard_normal((trials, fan_in, width))
            W *= np.sqrt(2.0 / fan_in)
            h = np.maximum(h @ W, 0.0)
            dead_by |= ~h.reshape(trials, -1).any(axis=1)
            row.append(dead_by.mean())
        probability.append(row)
    probability = np.array(probability)
    widths = tuple(int(w) for w in widths)
    single = 1.0 - (1.0 - 2.0 ** -np.array(widths, dtype=np.float64))[:, None] ** depths[None, :]
    return BornDead(widths=widths, depths=depths, trials=trials, inputs=inputs, probability=probability,
                    standard_error=np.sqrt(probability * (1 - probability) / trials), single_input=single)


# --- 5. batch normalization before the ReLU ---------------------------------------------------------------------

@dataclass(frozen=True)
class BatchNormDead:
    """The dead network with batch normalization between its Dense layer and its ReLU.

    Attributes
    ----------
    lr
        Learning rates, one run each.
    steps
        Update count of each record, shape (records,).
    dead_train, dead_eval
        Per lr: fraction of hidden units dead on the training set, probed in
        training mode (batch statistics) and in evaluation mode (running
        statistics), shape (len(lr), records).
    beta_min, gamma_min
        Per lr: the smallest β and γ at the end.
    loss_end
        Per lr: the last training loss.
    """

    lr: tuple[float, ...]
    steps: np.ndarray
    dead_train: np.ndarray
    dead_eval: np.ndarray
    beta_min: np.ndarray
    gamma_min: np.ndarray
    loss_end: np.ndarray


def batchnorm_dead(lrs: Sequence[float] = (0.5, 5.0), *, steps: int = 100, batch_size: int = 32,
                   seed: int = 0) -> BatchNormDead:
    r"""Train :func:`dead_setup`'s dead network with BatchNorm before the ReLU, probing dead units both ways.

    In training mode BatchNorm outputs :math:`\gamma\hat z + \beta` with :math:`\hat z`
    of batch mean 0: the Dense bias (and so the :math:`XW + B < 0`) disappears,
    and with :math:`\gamma > 0`, :math:`\beta = 0` some examples of every
    batch are positive. In evaluation mode it uses the running statistics,
    which start at mean 0 and variance 1 and move by 10 % of the way per step.
    Mini-batch SGD, ``steps`` updates for each learning rate.
    """
    check.positive("steps", steps, integer=True)
    setup0 = dead_setup("binary", seed=seed)
    X, y = setup0.X, setup0.y
    train_rows, eval_rows, beta_min, gamma_min, loss_end = [], [], [], [], []
    recorded_steps = None
    for lr in lrs:
        check.positive("lr", lr)
        setup = dead_setup("binary", seed=seed, batchnorm="before")
        model = setup.model
        in_train = DeadFraction(X)
        in_eval = DeadFraction(X, train_mode=False)
        rng = np.random.default_rng(seed + 1)
        epochs = -(-steps // -(-len(X) // batch_size))
        history = fit(model, setup.loss, SGD(model, lr=lr), X, y, epochs=epochs, batch_size=batch_size, rng=rng,
                      callbacks=[in_train, in_eval, StopAfter(steps)])
        train_rows.append(in_train.history[:, 0])
        eval_rows.append(in_eval.history[:, 0])
        recorded_steps = np.array(in_train.steps)
        bn = model[1]
        beta_min.append(float(bn.params["beta"].min()))
        gamma_min.append(float(bn.params["gamma"].min()))
        loss_end.append(history.loss[-1])
    return BatchNormDead(lr=tuple(float(v) for v in lrs), steps=recorded_steps, dead_train=np.array(train_rows),
                         dead_eval=np.array(eval_rows), beta_min=np.array(beta_min), gamma_min=np.array(gamma_min),
                         loss_end=np.array(loss_end))
