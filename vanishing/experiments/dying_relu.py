r"""Notebook 03 (dying ReLU): the runs the notebook repeats, and the experiment of its widget.

* :func:`best_constant`: the constant output a network with a dead hidden layer converges to, and its loss;
* :func:`relu_inputs`, :func:`alive_per_layer`, :func:`same_bits`: what the notebook reads off a network;
* :func:`dead_run`: train the dead network of :func:`vanishing.scenarios.dead_setup` full batch under
  one optimizer, recording what its ReLU receives after every update (:data:`REVIVAL_QUESTIONS`:
  the settings of the notebook's prediction exercise);
* :func:`shrink_factors`, :func:`sign_flip_step`: the common factor of a dead unit's parameters under
  SGD with L2 decay (and momentum);
* :func:`momentum_revivals`: units that die during full-batch training with momentum, and each death's
  outcome predicted from the velocity it leaves behind;
* :func:`dying_run`, :func:`dead_after_training`: the dead units of a deeper ReLU network during
  mini-batch training (the widget ``dying_explorer`` draws :func:`dying_run`);
* :func:`born_dead_probability`: how often a deep, narrow ReLU network is dead at initialisation.

The dead network itself, :func:`~vanishing.scenarios.kill_units` and
:func:`~vanishing.scenarios.pre_activations` live in :mod:`vanishing.scenarios`. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .. import _validate as check
from ..activations import ReLU
from ..data import two_moons
from ..diagnostics import DeadFraction, Probe, alive_units, collect_activations
from ..layers import Sequential
from ..models import dense_layers, mlp
from ..optim import SGD, make_optimizer
from ..scenarios import TASKS, DeadSetup, dead_setup
from ..train import accuracy, fit, fit_or_diverge

__all__ = [
    "OPTIMIZER_CHOICES", "REVIVAL_QUESTIONS", "DeadRun", "DyingRun", "alive_per_layer", "best_constant",
    "born_dead_probability", "dead_after_training", "dead_run", "dying_run", "momentum_revivals", "relu_inputs",
    "same_bits", "shrink_factors", "sign_flip_step",
]

NOTEBOOK = "03"


# --- reading a network --------------------------------------------------------------------------------------------

def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two arrays hold the same bits: same shape, dtype and bytes (-0.0 differs from 0.0)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def best_constant(task: str, y: np.ndarray) -> tuple[float, float]:
    r"""The constant output that minimises the loss over ``y`` (shape (N,) or (N, 1)), and that loss.

    ``task="regression"`` (MSE, :math:`\tfrac12(\hat y - y)^2`): the mean :math:`\bar y`, loss
    :math:`\tfrac12\operatorname{Var}(y)`. ``task="binary"`` (cross-entropy on a logit, labels 0/1):
    the log-odds :math:`\log\frac{p}{1-p}` of :math:`p = \bar y`, loss the entropy
    :math:`-p\log p - (1-p)\log(1-p)`.
    """
    check.choice("task", task, TASKS)
    y = np.asarray(y, dtype=np.float64)
    p = float(y.mean())
    if task == "regression":
        return p, float(0.5 * y.var())
    if not 0 < p < 1:
        raise ValueError(f"y has class-1 fraction {p:g}; allowed: labels 0/1 with both classes present")
    return float(np.log(p / (1 - p))), float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))


def relu_inputs(model: Sequential, X: np.ndarray, *, train_mode: bool = True) -> np.ndarray:
    """What every ReLU unit of ``model`` receives on ``X``: shape (N, total ReLU units), layer after layer.

    One forward in training mode (batch statistics, as a full-batch training step
    sees them) unless ``train_mode=False``; the model is left exactly as it was.
    A unit is alive on ``X`` when its column holds a positive value.
    """
    z = [a.x for a in collect_activations(model, X, train_mode=train_mode) if isinstance(a.layer, ReLU)]
    if not z:
        raise ValueError("model has no ReLU layer; allowed: a Sequential with at least one ReLU")
    return np.concatenate(z, axis=1)


def alive_per_layer(model: Sequential, X: np.ndarray) -> tuple[int, ...]:
    """The number of alive units (non-zero output on some row of ``X``) in each ReLU layer, evaluation mode."""
    acts = collect_activations(model, X)
    return tuple(int(alive_units(a.out).sum()) for a in acts if isinstance(a.layer, ReLU))


# --- the dead network under one optimizer -------------------------------------------------------------------------

REVIVAL_QUESTIONS: dict[str, dict[str, Any]] = {
    "RMSProp + L2 decay 0.01": {"optimizer": "rmsprop", "lr": 0.02, "weight_decay": 0.01},
    "SGD + momentum 0.9 + L2 decay 0.01": {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.01},
    "SGD + momentum 0.9 + L2 decay 0.001": {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.001},
    "AdamW (decoupled decay 0.1)": {"optimizer": "adam", "lr": 0.03, "decoupled_weight_decay": 0.1},
}
"""The settings of the notebook's prediction exercise: keyword arguments of :func:`dead_run` (150 updates)."""


@dataclass(frozen=True)
class DeadRun:
    """One full-batch run of the dead network (:func:`dead_run`).

    ``loss`` (steps,): the loss of every step. ``relu_max`` (steps + 1,): the largest
    ReLU input over the examples and units after t updates (negative: every unit dead).
    ``alive`` (steps + 1, units): unit alive on some example after t updates.
    ``hidden_moved``: the hidden weights or biases no longer hold their initial bits.
    ``constant_loss``: the loss of the best constant output. ``setup``: the trained network and its data.
    """

    loss: np.ndarray
    relu_max: np.ndarray
    alive: np.ndarray
    hidden_moved: bool
    constant_loss: float
    setup: DeadSetup

    @property
    def first_alive(self) -> int | None:
        """The number of updates after which some unit was first alive (None: never)."""
        ever = np.flatnonzero(self.alive.any(axis=1))
        return int(ever[0]) if ever.size else None


def dead_run(optimizer: str = "sgd", *, rng: np.random.Generator, steps: int = 150, task: str = "binary",
             batchnorm: str = "none", dtype: Any = np.float64, callbacks: Iterable[Any] = (),
             **options: Any) -> DeadRun:
    r"""Train :func:`vanishing.scenarios.dead_setup`'s network (:math:`XW + B < 0` everywhere) full batch.

    ``optimizer`` and ``options`` go to :func:`vanishing.make_optimizer` (``lr``,
    ``momentum``, ``weight_decay`` (L2, added to the gradient), ``decoupled_weight_decay``...);
    ``batchnorm="before"`` puts BatchNorm between the hidden Dense layer and its ReLU;
    ``callbacks`` are handed to :func:`vanishing.fit`. The data and the weights are drawn
    from ``rng`` (the course uses ``default_rng(0)``). What the ReLU units receive on the
    whole data set is recorded before training and after every update (see :class:`DeadRun`):
    a full-batch training forward runs on exactly that, so a forward hook reads it there.
    """
    check.positive("steps", steps, integer=True)
    setup = dead_setup(task, rng=rng, batchnorm=batchnorm, dtype=dtype)
    start = [p.copy() for p in setup.hidden.params.values()]
    opt = make_optimizer(optimizer, setup.model, **options)
    received: list[np.ndarray] = []  # each full-batch training forward sees the parameters after t updates

    def keep(layer: Any, x: np.ndarray, out: np.ndarray) -> None:
        if isinstance(layer, ReLU):
            received.append(x.max(axis=0))

    remove = setup.model.add_forward_hook(keep)
    try:
        history = fit(setup.model, setup.loss, opt, setup.X, setup.y, batch_size=len(setup.X), steps=steps,
                      rng=rng, shuffle=False, callbacks=list(callbacks))
    finally:
        remove()
    received.append(relu_inputs(setup.model, setup.X).max(axis=0))  # after the last update
    z_max = np.array(received)
    moved = not all(same_bits(a, b) for a, b in zip(start, setup.hidden.params.values(), strict=True))
    return DeadRun(loss=np.array(history.loss), relu_max=z_max.max(axis=1), alive=z_max > 0, hidden_moved=moved,
                   constant_loss=best_constant(task, setup.y)[1], setup=setup)


def shrink_factors(lr: float, weight_decay: float, momentum: float = 0.0, steps: int = 300) -> np.ndarray:
    r"""The factor :math:`a_t` with :math:`p_t = a_t\,p_0` for a dead unit's parameters under SGD with L2 decay.

    With zero gradient the update of every parameter is the same linear recurrence,
    :math:`v_t = \mu v_{t-1} + \lambda p_{t-1}`, :math:`p_t = p_{t-1} - \eta v_t`, :math:`v_0 = 0`,
    so :math:`p_t = a_t p_0` and every pre-activation is :math:`z_t(x) = a_t z_0(x)`.
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
        a -= lr * v
        out.append(a)
    return np.array(out)


def sign_flip_step(lr: float, weight_decay: float, momentum: float = 0.0, steps: int = 300) -> int | None:
    """The first update count t with :math:`a_t < 0` (:func:`shrink_factors`), None if not within ``steps``.

    After that update every pre-activation :math:`a_t z_0(x)` of a dead unit is positive: it is alive.
    """
    negative = np.flatnonzero(shrink_factors(lr, weight_decay, momentum, steps) < 0)
    return int(negative[0]) if negative.size else None


# --- momentum: deaths during training, and revivals ---------------------------------------------------------------

def momentum_revivals(model: Sequential, X: np.ndarray, y: np.ndarray, *, lr: float, momentum: float,
                      steps: int = 200) -> dict[str, int]:
    r"""Train a one-hidden-layer ReLU network full batch with SGD + momentum; count deaths and revivals.

    ``model`` is ``Dense -> ReLU -> Dense`` (logit output, binary cross-entropy on
    ``X`` (N, D), ``y`` (N,)); it is trained in place. A unit *dies* at update i
    when it is alive on some example after update i - 1 and on none after update i.
    Its gradient is then 0, so its velocity only decays: K updates later its
    parameters sit at :math:`p_i - \eta v_i (\mu + \dots + \mu^K)`. The largest
    pre-activation over the examples is convex along that line and not positive at
    its start, so the unit revives before the end exactly when the line's end
    (K = the updates left) is alive: the prediction made at each death.

    Returns ``deaths``, ``revivals`` (alive again after a death, counted at every
    dead-to-alive change), ``predicted`` (deaths predicted to revive), ``agree``
    (deaths whose predicted and measured outcome agree) and ``dead_end`` (units dead at the end).
    """
    check.number("momentum", momentum, low=0, high=1, high_open=True)
    check.positive("steps", steps, integer=True)
    (index, hidden), *_ = dense_layers(model)
    opt = SGD(model, lr=lr, momentum=momentum)

    def measure(_: Sequential) -> tuple[np.ndarray, ...]:
        W, b = hidden.params["W"], hidden.params["b"]
        v = [opt.state[f"{index}.{k}"].get("velocity", np.zeros_like(p)) for k, p in (("W", W), ("b", b))]
        return alive_units(np.maximum(X @ W + b, 0)), W.copy(), b.copy(), v[0].copy(), v[1].copy()

    record = Probe(measure)
    unused = np.random.default_rng(0)  # full batch in a fixed order: fit draws nothing from it
    fit(model, "bce_logits", opt, X, y, batch_size=len(X), steps=steps, rng=unused, shuffle=False, callbacks=[record])
    alive = np.array([r[0] for r in record.values])
    travel = momentum * (1 - momentum ** (steps - np.arange(steps + 1))) / (1 - momentum) * lr
    counts = {"deaths": 0, "revivals": int(np.sum(~alive[:-1] & alive[1:])), "predicted": 0, "agree": 0}
    for i in range(1, steps + 1):
        _, W, b, vW, vb = record.values[i]
        for j in np.flatnonzero(alive[i - 1] & ~alive[i]):
            predicted = bool(np.max(X @ (W[:, j] - travel[i] * vW[:, j]) + b[j] - travel[i] * vb[j]) > 0)
            counts["deaths"] += 1
            counts["predicted"] += predicted
            counts["agree"] += predicted == bool(alive[i:, j].any())
    counts["dead_end"] = int(np.sum(~alive[-1]))
    return counts


# --- how units die in practice (the widget's experiment) ----------------------------------------------------------

OPTIMIZER_CHOICES = ("sgd", "momentum", "adam")
"""The optimizers of :func:`dying_run`: plain SGD, SGD with momentum 0.9, Adam."""


@dataclass(frozen=True)
class DyingRun:
    r"""One training run of a deeper ReLU network, with its dead units recorded after every update.

    Attributes
    ----------
    settings
        lr, bias, optimizer, weight_decay, batchnorm, depth, width, steps.
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
    divergence
        The :class:`~vanishing.train.DivergenceError` message if training diverged, else None.
    """

    settings: dict[str, Any]
    steps: np.ndarray
    dead: np.ndarray
    dead_per_layer: np.ndarray
    alive: np.ndarray
    loss: np.ndarray
    diverged: int | None
    accuracy: float
    divergence: str | None = None

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
def _moons(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` two-moons points (noise 0.1) from ``default_rng(0)``, read-only: every run trains on the same data."""
    X, y = two_moons(n, noise=0.1, rng=np.random.default_rng(0))
    X.flags.writeable = False  # shared between calls: nobody may change it
    y = y.astype(np.float64)
    y.flags.writeable = False
    return X, y


def dying_run(lr: float = 0.1, bias: float = 0.0, optimizer: str = "sgd", weight_decay: float = 0.0,
              batchnorm: bool = False, *, depth: int = 3, width: int = 16, steps: int = 200, batch_size: int = 20,
              n: int = 200, every: int = 1, rng: np.random.Generator,
              live: Callable[..., Any] | None = None) -> DyingRun:
    r"""Train a ReLU MLP on two moons and record its dead units with :class:`vanishing.diagnostics.DeadFraction`.

    The network: ``depth`` hidden layers of ``width`` ReLU units (He-uniform
    weights, every hidden bias ``bias``; with ``batchnorm`` a BatchNorm layer
    before each ReLU), one logit output, binary cross-entropy; ``n`` two-moons
    points (noise 0.1, drawn from ``default_rng(0)``: the same points in every
    run), mini-batches of ``batch_size``, ``steps`` updates. ``rng`` draws the
    weights, then the batch order.
    ``optimizer``: ``"sgd"``, ``"momentum"`` (SGD, μ = 0.9) or ``"adam"``;
    ``weight_decay`` is L2 added to the gradient. A unit is dead at a record
    when its output is 0 on every training example (probe in training mode,
    every ``every`` updates). A run that diverges is kept up to the divergence.
    ``live(steps, snapshot)``, if given, makes one more callback for :func:`~vanishing.train.fit` (the
    widget's live view); ``snapshot(state)`` returns the run so far.
    """
    check.positive("lr", lr)
    check.number("bias", bias)
    check.choice("optimizer", optimizer, OPTIMIZER_CHOICES)
    check.non_negative("weight_decay", weight_decay)
    check.positive("depth", depth, integer=True)
    check.positive("width", width, integer=True)
    check.positive("steps", steps, integer=True)
    check.positive("batch_size", batch_size, integer=True)
    check.rng("rng", rng)
    X, y = _moons(n)
    model = mlp([2] + [width] * depth + [1], "relu", rng=rng, init="he_uniform", bias=bias,
                batchnorm="before" if batchnorm else "none")
    options = {"momentum": 0.9} if optimizer == "momentum" else {}
    opt = make_optimizer("adam" if optimizer == "adam" else "sgd", model, lr=lr, weight_decay=weight_decay, **options)
    recorder = DeadFraction(X, every=every)
    settings = {"lr": lr, "bias": bias, "optimizer": optimizer, "weight_decay": weight_decay, "batchnorm": batchnorm,
                "depth": depth, "width": width, "steps": steps}

    def result(losses: list[float], diverged: int | None = None, acc: float = float("nan"),
               divergence: str | None = None) -> DyingRun:
        alive = np.concatenate([recorder.alive[name] for name in recorder.layer_names], axis=1)
        return DyingRun(settings=settings, steps=np.array(recorder.steps), dead=1.0 - alive.mean(axis=1),
                        dead_per_layer=recorder.history, alive=alive, loss=np.array(losses), diverged=diverged,
                        accuracy=acc, divergence=divergence)

    extra = [live(steps, lambda state: result(list(state.history.loss)))] if live is not None else []
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned about
        history = fit_or_diverge(model, "bce_logits", opt, X, y, steps=steps, batch_size=batch_size, rng=rng,
                                 callbacks=[recorder, *extra])
        if history.diverged:
            return result(history.loss, history.steps, divergence=history.divergence)
        return result(history.loss, acc=accuracy(model, "bce_logits", X, y))


def dead_after_training(lr: float, *, rng: np.random.Generator, runs: int = 3, **settings: Any) -> float:
    """The dead fraction at the end of :func:`dying_run` (plain SGD by default), averaged over ``runs`` networks.

    Run k draws its weights and batches from the k-th generator of ``rng.spawn(runs)``. A fresh
    ``np.random.default_rng(0)`` at every call trains the same networks at every learning rate. The
    default is the notebook's exercise: 3 hidden layers of 16, bias 0, batches of 20, 100 updates. A
    diverged run counts with the dead fraction it had when it diverged.
    """
    check.positive("lr", lr)
    check.rng("rng", rng)
    check.positive("runs", runs, integer=True)
    settings = {"steps": 100, **settings}
    settings.setdefault("every", settings["steps"])  # only the start and the end are needed
    return float(np.mean([dying_run(lr, rng=run_rng, **settings).dead_end for run_rng in rng.spawn(runs)]))


def born_dead_probability(widths: Sequence[int], *, depth: int, trials: int, inputs: int = 32, input_dim: int = 2,
                          rng: np.random.Generator) -> np.ndarray:
    r"""How often a ReLU network with He-normal weights and zero biases is dead at initialisation.

    For each width N, ``trials`` networks of ``depth`` hidden layers are drawn
    (weights :math:`N(0, 2/\text{fan}_\text{in})`, biases 0) and run on the same
    ``inputs`` points drawn from :math:`N(0, I)` in ``input_dim`` dimensions; a
    network of depth L is dead when one of its first L layers outputs 0 on every
    point. The networks of one width run together as a stack of matrices
    (``relu(h @ W)`` per layer, numpy's batched matmul), not one engine model at a time.

    Returns the fraction of networks dead, shape (len(widths), depth): entry
    ``[i, L - 1]`` for width ``widths[i]`` and L hidden layers.
    """
    check.rng("rng", rng)
    check.positive("depth", depth, integer=True)
    check.positive("trials", trials, integer=True)
    check.positive("inputs", inputs, integer=True)
    check.positive("input_dim", input_dim, integer=True)
    X = rng.standard_normal((inputs, input_dim))
    probability = np.zeros((len(widths), depth))
    for i, width in enumerate(widths):
        check.positive("width", width, integer=True)
        h = np.broadcast_to(X, (trials, inputs, input_dim))
        dead = np.zeros(trials, dtype=bool)
        for layer in range(depth):
            W = rng.standard_normal((trials, h.shape[2], width)) * np.sqrt(2.0 / h.shape[2])
            h = np.maximum(h @ W, 0.0)
            dead |= ~h.reshape(trials, -1).any(axis=1)
            probability[i, layer] = dead.mean()
    return probability
