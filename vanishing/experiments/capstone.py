r"""Notebook 08 (capstone): a gradient-health dashboard, and broken networks to diagnose with it.

One training run of any network the course has met (data set, depth, width,
activation, initialisation and its scale, hidden bias, batch normalization,
optimizer and its settings) with every diagnostic of :mod:`vanishing.diagnostics`
recorded as it trains:

* the loss of every step, and the test loss and accuracy at every probe;
* per Dense layer, the weight-gradient norm :math:`\|\partial L/\partial W_l\|_2`
  and the update-to-data ratio :math:`\|\Delta W_l\|_2 / \|W_l\|_2` of every
  ``every``-th step;
* per hidden activation layer, on a fixed probe batch of training examples: a
  histogram of its outputs over a fixed interval (:func:`vanishing.diagnostics.activation_range`),
  their mean and standard deviation, the saturated fraction (sigmoid, tanh) and
  the dead fraction (ReLU: units that output 0 for every probe example).

:class:`DashboardSettings` holds one configuration; :class:`DashboardTrainer`
trains it and can hand out a :class:`DashboardRun` of what it has recorded so
far at any moment (:meth:`DashboardTrainer.snapshot`, for live redraws), or
stop early (:meth:`DashboardTrainer.request_stop`); :func:`train_dashboard`
does both steps at once. A run that diverges does not raise: its
:class:`DashboardRun` keeps everything recorded up to the failing step and the
:class:`~vanishing.train.DivergenceError` message.

:data:`SCENARIOS` are settings from the earlier notebooks; :data:`MYSTERIES`
are networks that fail, each for one of the course's reasons, for the learner
to diagnose (:data:`CAUSES` lists the reasons to choose from);
:func:`symptoms` and :func:`symptom_table` condense a run into the numbers a
diagnosis rests on.

This module imports numpy only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .. import _validate as check
from ..activations import ACTIVATIONS, Activation, ReLU, Sigmoid, Tanh
from ..data import TASKS, digits, load, standardize, train_test_split
from ..diagnostics import (
    GradientNorms,
    UpdateRatio,
    activation_range,
    alive_units,
    collect_activations,
    histogram,
    layer_names,
    saturated_fraction,
)
from ..init import INITIALIZERS
from ..models import BATCHNORM_POSITIONS, mlp
from ..optim import OPTIMIZERS, Optimizer, make_optimizer
from ..tables import text_table
from ..train import Callback, DivergenceError, TrainState, _batch_bounds, evaluate, fit

__all__ = [
    "CAUSES", "DASHBOARD_DATASETS", "DashboardRun", "DashboardSettings", "DashboardTrainer", "FIX_ACCURACY",
    "FIXED_FOR_FIX", "MYSTERIES", "SCENARIOS", "Symptoms", "causes_table", "dashboard_data", "fixed_settings",
    "init_options", "mystery", "mystery_run", "optimizer_options", "symptom_table", "symptoms", "train_dashboard",
]

NOTEBOOK = "08"

DASHBOARD_DATASETS = ("two_moons", "two_spirals", "circles", "xor", "blobs", "digits")
"""The classification data sets the dashboard offers (``teacher`` is regression: no accuracy to show)."""

DATA_SEED = 0
"""Every run of a data set sees the same examples and the same train/test split; ``seed`` varies the rest."""

SYNTHETIC_EXAMPLES = 400
DIGIT_EXAMPLES = 597
"""597 digits split into 448 training images, a multiple of the batch sizes 16, 32 and 64: no epoch ends with a
batch of two images, whose BatchNorm statistics give wild gradients (notebook 06, section 5)."""
TEST_FRACTION = 0.25
PROBE_EXAMPLES = 128
"""Training examples the activation statistics are measured on (the same ones at every probe)."""

GRADIENT_RECORDS = 100
"""About this many records of the gradient norms and update ratios per run, whatever its length."""

PROBE_RECORDS = 50
"""About this many probes of the activations (and test evaluations) per run."""

HISTOGRAM_BINS = 24


def init_options(init: str, scale: float) -> dict[str, float]:
    """The keyword the initializer takes for ``scale``: ``limit`` (uniform), ``std`` (normal), ``gain`` (the rest).

    So ``scale`` is the bound of U(−scale, scale), the standard deviation of
    N(0, scale²), or a multiplier of the Glorot or He spread (1 = the scheme itself).
    """
    check.choice("init", init, INITIALIZERS)
    key = {"uniform": "limit", "normal": "std"}.get(init, "gain")
    return {key: float(scale)}


def optimizer_options(optimizer: str, *, lr: float, momentum: float, beta1: float, beta2: float,
                      weight_decay: float) -> dict[str, float]:
    """The keyword arguments of :func:`vanishing.make_optimizer` for the dashboard's settings.

    ``momentum`` is used by SGD only; ``beta1`` and ``beta2`` by Adam and AdamW;
    RMSProp takes ``beta2`` as its averaging constant ρ. ``weight_decay`` is L2
    (added to the gradient) for SGD, RMSProp and Adam, and decoupled for AdamW.
    """
    check.choice("optimizer", optimizer, OPTIMIZERS)
    options: dict[str, float] = {"lr": lr}
    if optimizer == "sgd":
        options["momentum"] = momentum
    elif optimizer == "rmsprop":
        options["rho"] = beta2
    else:
        options.update(beta1=beta1, beta2=beta2)
    options["decoupled_weight_decay" if optimizer == "adamw" else "weight_decay"] = weight_decay
    return options


@dataclass(frozen=True)
class DashboardSettings:
    """One configuration of the dashboard: the data, the network, its training.

    Attributes
    ----------
    dataset
        One of :data:`DASHBOARD_DATASETS` (400 examples; 597 for the digits),
        standardized, a quarter held out as the test split.
    depth, width
        Hidden layers (1-20) and units per hidden layer (1-256).
    activation
        Hidden activation, a key of :data:`vanishing.ACTIVATIONS`.
    init, scale
        Weight initializer (:data:`vanishing.INITIALIZERS`) and its scale (see :func:`init_options`).
    bias
        Initial value of every hidden bias (negative values start ReLU units dead).
    batchnorm
        ``"none"``, ``"before"`` or ``"after"`` each hidden activation.
    optimizer, lr, momentum, beta1, beta2, weight_decay
        See :func:`optimizer_options`.
    batch_size, steps
        Examples per step; number of updates (the run stops after ``steps`` updates).
    seed
        Draws the initial weights and the order of the examples.
    """

    dataset: str = "two_moons"
    depth: int = 4
    width: int = 32
    activation: str = "relu"
    init: str = "he_uniform"
    scale: float = 1.0
    bias: float = 0.0
    batchnorm: str = "none"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    batch_size: int = 32
    steps: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        check.choice("dataset", self.dataset, DASHBOARD_DATASETS)
        check.number("depth", self.depth, low=1, high=20, integer=True)
        check.number("width", self.width, low=1, high=256, integer=True)
        check.choice("activation", self.activation, ACTIVATIONS)
        check.choice("init", self.init, INITIALIZERS)
        check.number("scale", self.scale, low=0, high=100, low_open=True)
        check.number("bias", self.bias, low=-100, high=100)
        check.choice("batchnorm", self.batchnorm, BATCHNORM_POSITIONS)
        check.choice("optimizer", self.optimizer, OPTIMIZERS)
        check.number("lr", self.lr, low=0, high=1000, low_open=True)
        check.number("momentum", self.momentum, low=0, high=1, high_open=True)
        check.number("beta1", self.beta1, low=0, high=1, high_open=True)
        check.number("beta2", self.beta2, low=0, high=1, high_open=True)
        check.number("weight_decay", self.weight_decay, low=0, high=10)
        check.number("batch_size", self.batch_size, low=2, high=1000, integer=True)
        check.number("steps", self.steps, low=1, high=100_000, integer=True)
        check.non_negative("seed", self.seed, integer=True)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The setting names, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> DashboardSettings:
        """A copy with some settings changed; an unknown name raises ``TypeError`` listing the allowed ones."""
        unknown = [key for key in changes if key not in self.names()]
        if unknown:
            raise TypeError(f"unknown setting(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(self.names())}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """A one-line summary, e.g. ``"two_moons · 4 × 32 relu · he_uniform ×1 · sgd lr 0.1"``."""
        parts = [self.dataset, f"{self.depth} × {self.width} {self.activation}", f"{self.init} ×{self.scale:g}"]
        if self.bias:
            parts.append(f"bias {self.bias:g}")
        if self.batchnorm != "none":
            parts.append(f"batchnorm {self.batchnorm}")
        opt = f"{self.optimizer} lr {self.lr:g}"
        if self.optimizer == "sgd" and self.momentum:
            opt += f" momentum {self.momentum:g}"
        if self.optimizer in ("adam", "adamw") and (self.beta1, self.beta2) != (0.9, 0.999):
            opt += f" β {self.beta1:g}/{self.beta2:g}"
        if self.weight_decay:
            opt += f" wd {self.weight_decay:g}"
        parts.append(opt)
        parts.append(f"batch {self.batch_size}")
        return " · ".join(parts)


# --- data ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DashboardData:
    """A standardized train/test split and the loss that fits the task."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int
    loss: str
    outputs: int


@cache
def dashboard_data(dataset: str) -> DashboardData:
    """The data of ``dataset`` as every dashboard run sees it (drawn once with :data:`DATA_SEED`).

    Binary problems get one logit and ``"bce_logits"`` (targets of shape (N, 1));
    multiclass problems one logit per class and ``"softmax_ce"``.
    """
    check.choice("dataset", dataset, DASHBOARD_DATASETS)
    rng = np.random.default_rng(DATA_SEED)
    if dataset == "digits":
        X, y = digits(DIGIT_EXAMPLES, rng=rng)
    else:
        X, y = load(dataset, n=SYNTHETIC_EXAMPLES, rng=rng)
    X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, rng=rng)
    X_train, X_test = standardize(X_train, X_test)
    classes = int(y.max()) + 1
    if TASKS[dataset] == "binary":
        y_train, y_test = y_train[:, None].astype(np.float64), y_test[:, None].astype(np.float64)
        loss, outputs = "bce_logits", 1
    else:
        loss, outputs = "softmax_ce", classes
    for array in (X_train, X_test, y_train, y_test):
        array.setflags(write=False)
    return DashboardData(X_train, y_train, X_test, y_test, classes, loss, outputs)


# --- what a run records ----------------------------------------------------------------------------------------------

def _kind(layer: Activation) -> str:
    """Which unit-health measure applies: "saturated" (sigmoid, tanh), "dead" (ReLU) or "" (none)."""
    if isinstance(layer, (Sigmoid, Tanh)):
        return "saturated"
    if isinstance(layer, ReLU):
        return "dead"
    return ""


class _ActivationProbe(Callback):
    """One probe forward (training mode, model left untouched) per record: histograms, spread, unit health.

    Also evaluates the test split at the same moments. Records before
    training (step 0), after every ``every``-th update, and at the end.
    """

    def __init__(self, data: DashboardData, every: int, bins: int = HISTOGRAM_BINS) -> None:
        self.data = data
        self.every = every
        self.bins = bins
        self.probe_X = data.X_train[:PROBE_EXAMPLES]
        self.steps: list[int] = []
        self.hist: list[np.ndarray] = []
        self.mean: list[np.ndarray] = []
        self.std: list[np.ndarray] = []
        self.health: list[np.ndarray] = []
        self.test_loss: list[float] = []
        self.test_accuracy: list[float] = []
        self.indices: list[int] = []
        self.kinds: list[str] = []
        self.edges = np.empty((0, bins + 1))

    def on_train_begin(self, state: TrainState) -> None:
        model = state.model
        self.indices = [i for i, layer in enumerate(model) if isinstance(layer, Activation)]
        self.kinds = [_kind(model[i]) for i in self.indices]
        self.edges = np.array([np.linspace(*activation_range(model[i]), self.bins + 1) for i in self.indices])
        self.edges = self.edges.reshape(len(self.indices), self.bins + 1)
        self._record(state, 0)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._record(state, state.step)

    def on_train_end(self, state: TrainState) -> None:
        done = state.step - (1 if state.history.diverged and not math.isfinite(state.loss) else 0)
        if self.steps and self.steps[-1] != done:
            self._record(state, done)

    def _record(self, state: TrainState, step: int) -> None:
        # a diverged model gives inf and nan everywhere: the records show that, without warnings
        with np.errstate(all="ignore"):
            layers = collect_activations(state.model, self.probe_X, train_mode=True)
            hist, mean, std, health = [], [], [], []
            for i, kind, edges in zip(self.indices, self.kinds, self.edges, strict=True):
                out = layers[i].out
                counts = histogram(out, edges[0], edges[-1], self.bins)
                hist.append(counts / max(out.size, 1))
                mean.append(float(out.mean()))
                std.append(float(out.std()))
                if kind == "saturated":
                    health.append(saturated_fraction(layers[i].layer, out))
                elif kind == "dead":
                    health.append(1.0 - float(alive_units(out).mean()))
                else:
                    health.append(math.nan)
            result = evaluate(state.model, self.data.loss, self.data.X_test, self.data.y_test)
        self.steps.append(step)
        self.hist.append(np.array(hist).reshape(len(self.indices), self.bins))
        self.mean.append(np.array(mean))
        self.std.append(np.array(std))
        self.health.append(np.array(health))
        self.test_loss.append(float(result.loss))
        self.test_accuracy.append(float(result.accuracy) if math.isfinite(result.loss) else math.nan)


class _Budget(Callback):
    """Ends training after ``steps`` updates, or at the next step end after a stop request."""

    def __init__(self, trainer: DashboardTrainer) -> None:
        self.trainer = trainer

    def on_step_end(self, state: TrainState) -> None:
        self.trainer.step = state.step
        if state.step >= self.trainer.settings.steps:
            state.stop = True
        elif self.trainer.stop_requested:
            self.trainer.stopped = True
            state.stop = True


class _LiveLoss(Callback):
    """Keeps the trainer's history reference current while fit runs (for snapshots of the loss curve)."""

    def __init__(self, trainer: DashboardTrainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, state: TrainState) -> None:
        self.trainer.history = state.history


@dataclass(frozen=True)
class DashboardRun:
    """Everything one dashboard run recorded (possibly a run still in progress: see ``complete``).

    Shapes: D Dense layers, A hidden activation layers, R gradient records,
    P probes, B histogram bins.

    Attributes
    ----------
    settings
        The :class:`DashboardSettings` trained.
    loss_name
        ``"bce_logits"`` or ``"softmax_ce"``.
    dense_names, activation_names
        ``"Dense 1"``... and ``"ReLU 1"``... from the input side.
    health_kinds
        Per activation layer, ``"saturated"``, ``"dead"`` or ``""`` (not measured for that activation).
    steps
        Updates done so far (``settings.steps`` when the run completed).
    loss
        Training loss of every step, shape (steps,) (one more when the last step's loss was not finite).
    grad_steps, grad_norms, update_ratio
        Steps of the gradient records (R,), ``‖∂L/∂W‖`` (R, D) and ``‖ΔW‖/‖W‖`` (R, D); the update ratio
        of a step whose update made the weights non-finite is nan.
    probe_steps, histograms, hist_edges, act_mean, act_std, health
        Updates done at each probe (P,), the fraction of the probe outputs in each bin (P, A, B), the bin
        edges of each layer (A, B + 1), the outputs' mean and standard deviation (P, A), and the saturated
        or dead fraction (P, A; nan where ``health_kinds`` is ``""``).
    test_loss, test_accuracy
        On the test split at every probe (P,).
    complete, diverged, divergence, stopped
        Whether the run has ended; whether it diverged, and the DivergenceError message; whether it was
        stopped early on request.
    seconds
        Wall-clock time of the training so far (not deterministic).
    """

    settings: DashboardSettings
    loss_name: str
    dense_names: tuple[str, ...]
    activation_names: tuple[str, ...]
    health_kinds: tuple[str, ...]
    steps: int
    loss: np.ndarray
    grad_steps: np.ndarray
    grad_norms: np.ndarray
    update_ratio: np.ndarray
    probe_steps: np.ndarray
    histograms: np.ndarray
    hist_edges: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    health: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    complete: bool
    diverged: bool
    divergence: str | None
    stopped: bool
    seconds: float

    @property
    def final_accuracy(self) -> float:
        """Test accuracy at the last probe (nan if the run diverged)."""
        return float(self.test_accuracy[-1]) if len(self.test_accuracy) and not self.diverged else math.nan

    @property
    def status(self) -> str:
        """One line: where the run is, and how it ended."""
        planned = self.settings.steps
        if self.diverged:
            return f"diverged at step {self.steps}"
        if self.stopped:
            return f"stopped at step {self.steps} of {planned}"
        if not self.complete:
            return f"training: step {self.steps} of {planned}"
        return f"{self.steps} steps"

    def __repr__(self) -> str:
        return f"DashboardRun({self.settings.describe()}; {self.status}; test accuracy {self.final_accuracy:.3g})"


class DashboardTrainer:
    """Train one :class:`DashboardSettings` with the dashboard's recorders attached.

    ``run()`` trains and returns the final :class:`DashboardRun`. From a
    callback (or another thread), ``snapshot()`` returns what has been
    recorded so far and ``request_stop()`` ends the run after the current step.
    ``step`` is the number of updates done. With ``record=False`` only the
    first step's gradients and the state before and after training are
    recorded: the same training, about three times faster (for checks that
    need the final accuracy only).
    """

    def __init__(self, settings: DashboardSettings | None = None, *, record: bool = True, **changes: Any) -> None:
        settings = settings if settings is not None else DashboardSettings()
        if not isinstance(settings, DashboardSettings):
            raise TypeError(f"settings={settings!r} must be a DashboardSettings (or None for the defaults)")
        self.settings = settings.replace(**changes) if changes else settings
        s = self.settings
        self.data = dashboard_data(s.dataset)
        rng = np.random.default_rng(s.seed)
        self.rng = rng
        sizes = [self.data.X_train.shape[1], *[s.width] * s.depth, self.data.outputs]
        self.model = mlp(sizes, s.activation, rng=rng, init=s.init, init_options=init_options(s.init, s.scale),
                         batchnorm=s.batchnorm, bias=s.bias)
        self.optimizer: Optimizer = make_optimizer(
            s.optimizer, self.model,
            **optimizer_options(s.optimizer, lr=s.lr, momentum=s.momentum, beta1=s.beta1, beta2=s.beta2,
                                weight_decay=s.weight_decay))
        # record=False: the first step's gradients and a probe before and after training only (a quick run
        # for the checks; the training is the same, since recording never disturbs it)
        grad_every = max(1, s.steps // GRADIENT_RECORDS) if record else s.steps + 1
        self.gradients = GradientNorms(grad_every)
        self.updates = UpdateRatio(grad_every)
        self.probe = _ActivationProbe(self.data, max(1, s.steps // PROBE_RECORDS) if record else s.steps + 1)
        names = layer_names(self.model)
        self.dense_names = tuple(n for n in names if n.startswith("Dense "))
        self.activation_names = tuple(names[i] for i, layer in enumerate(self.model) if isinstance(layer, Activation))
        self.step = 0
        self.stop_requested = False
        self.stopped = False
        self.history = None
        self.diverged = False
        self.divergence: str | None = None
        self.complete = False
        self._started: float | None = None
        self._seconds = 0.0

    def request_stop(self) -> None:
        """End the run after the current step (safe to call from another thread)."""
        self.stop_requested = True

    def run(self, callbacks: Iterable[Any] = ()) -> DashboardRun:
        """Train (once), then return the final :class:`DashboardRun`; extra ``callbacks`` go to :func:`fit`."""
        if self._started is not None:
            raise RuntimeError("this trainer has run already; make a new DashboardTrainer")
        s = self.settings
        steps_per_epoch = len(_batch_bounds(len(self.data.X_train), s.batch_size))
        epochs = -(-s.steps // steps_per_epoch)
        self._started = time.perf_counter()
        try:
            self.history = fit(self.model, self.data.loss, self.optimizer, self.data.X_train, self.data.y_train,
                               epochs=epochs, batch_size=s.batch_size, rng=self.rng,
                               callbacks=[_LiveLoss(self), self.gradients, self.updates, self.probe, _Budget(self),
                                          *callbacks])
        except DivergenceError as error:
            self.history = error.history
            self.diverged = True
            self.divergence = str(error)
            self.step = error.step
        self._seconds = time.perf_counter() - self._started
        self.complete = True
        return self.snapshot()

    def snapshot(self) -> DashboardRun:
        """What has been recorded so far, as a :class:`DashboardRun` (copies: training may go on)."""
        probe = self.probe
        a, b = len(probe.indices), probe.bins
        d = len(self.dense_names)
        grads = self.gradients.history.reshape(-1, d)
        r = len(grads)
        # the update of a step that diverged was never measured: its row stays nan
        ratios = np.full((r, d), np.nan)
        measured = self.updates.history.reshape(-1, d)[:r]
        ratios[:len(measured)] = measured
        p = len(probe.steps)
        seconds = self._seconds if self.complete else (
            time.perf_counter() - self._started if self._started is not None else 0.0)
        history = self.history
        loss = np.array(history.loss if history is not None else [], dtype=np.float64)
        return DashboardRun(
            settings=self.settings, loss_name=self.data.loss, dense_names=self.dense_names,
            activation_names=self.activation_names, health_kinds=tuple(probe.kinds), steps=int(self.step),
            loss=loss, grad_steps=np.array(self.gradients.steps[:r], dtype=np.int64), grad_norms=grads,
            update_ratio=ratios, probe_steps=np.array(probe.steps[:p], dtype=np.int64),
            histograms=np.array(probe.hist[:p]).reshape(p, a, b), hist_edges=probe.edges.copy(),
            act_mean=np.array(probe.mean[:p]).reshape(p, a), act_std=np.array(probe.std[:p]).reshape(p, a),
            health=np.array(probe.health[:p]).reshape(p, a),
            test_loss=np.array(probe.test_loss[:p]), test_accuracy=np.array(probe.test_accuracy[:p]),
            complete=self.complete, diverged=self.diverged, divergence=self.divergence, stopped=self.stopped,
            seconds=float(seconds),
        )


def train_dashboard(settings: DashboardSettings | None = None, *, callbacks: Iterable[Any] = (),
                    record: bool = True, **changes: Any) -> DashboardRun:
    """Train one configuration with every dashboard recorder; return the :class:`DashboardRun`.

    ``train_dashboard(depth=8, activation="sigmoid")`` changes the defaults of
    :class:`DashboardSettings`; ``train_dashboard(MYSTERIES["A"], lr=0.1)``
    changes a given configuration. A diverging run returns normally, with
    ``diverged=True`` and the DivergenceError message in ``divergence``.
    ``record=False`` records the start and the end only (see :class:`DashboardTrainer`).
    """
    trainer = DashboardTrainer(settings, record=record, **changes)
    return trainer.run(callbacks=callbacks)


# --- symptoms: the numbers a diagnosis rests on ----------------------------------------------------------------------

@dataclass(frozen=True)
class Symptoms:
    """The dashboard of one run condensed into a few numbers (see :func:`symptoms`).

    Attributes
    ----------
    loss_start, loss_end
        The training loss of step 1, and the mean loss of the last 10 steps (after a divergence: the
        last loss, inf or nan, or the last finite one when the weights went first).
    test_accuracy
        On the test split at the end (nan after a divergence).
    gradient_ratio_start, gradient_ratio_end
        ``‖∂L/∂W‖`` of the first Dense layer over that of the last one, at step 1 and at the last record
        (nan when both are 0: no gradient at all).
    saturated, dead
        The largest saturated (sigmoid, tanh) or dead (ReLU) fraction of any hidden layer at the end;
        nan where the network has no such layer.
    std_first, std_last
        The standard deviation of the first and of the last hidden activation layer's outputs at the end.
    update_ratio_first, update_ratio_last
        The median ``‖ΔW‖/‖W‖`` per step of the first and of the last Dense layer.
    diverged_at
        The step whose loss or update was not finite, or None.
    """

    loss_start: float
    loss_end: float
    test_accuracy: float
    gradient_ratio_start: float
    gradient_ratio_end: float
    saturated: float
    dead: float
    std_first: float
    std_last: float
    update_ratio_first: float
    update_ratio_last: float
    diverged_at: int | None


def _ratio(top: float, bottom: float) -> float:
    if bottom == 0 or not (math.isfinite(top) and math.isfinite(bottom)):
        return math.nan if top == 0 or not math.isfinite(top) else math.inf
    return top / bottom


def _largest(values: np.ndarray, kinds: tuple[str, ...], kind: str) -> float:
    chosen = [v for v, k in zip(values, kinds, strict=True) if k == kind]
    return float(np.nanmax(chosen)) if chosen and not np.all(np.isnan(chosen)) else math.nan


def symptoms(run: DashboardRun) -> Symptoms:
    """The numbers of :class:`Symptoms` for one run."""
    with np.errstate(all="ignore"):
        loss = run.loss
        g = run.grad_norms
        ratio = run.update_ratio
        last_health = run.health[-1] if len(run.health) else np.full(len(run.health_kinds), np.nan)
        last_std = run.act_std[-1] if len(run.act_std) else np.full(len(run.activation_names), np.nan)
        finite_ratio = [r[np.isfinite(r)] for r in (ratio[:, 0], ratio[:, -1])] if len(ratio) else [[], []]
        return Symptoms(
            loss_start=float(loss[0]) if len(loss) else math.nan,
            loss_end=(float(loss[-1]) if run.diverged else float(np.mean(loss[-10:]))) if len(loss) else math.nan,
            test_accuracy=run.final_accuracy,
            gradient_ratio_start=_ratio(g[0, 0], g[0, -1]) if len(g) else math.nan,
            gradient_ratio_end=_ratio(g[-1, 0], g[-1, -1]) if len(g) else math.nan,
            saturated=_largest(last_health, run.health_kinds, "saturated"),
            dead=_largest(last_health, run.health_kinds, "dead"),
            std_first=float(last_std[0]) if len(last_std) else math.nan,
            std_last=float(last_std[-1]) if len(last_std) else math.nan,
            update_ratio_first=float(np.median(finite_ratio[0])) if len(finite_ratio[0]) else math.nan,
            update_ratio_last=float(np.median(finite_ratio[1])) if len(finite_ratio[1]) else math.nan,
            diverged_at=run.steps if run.diverged else None,
        )


def _g(value: float, digits: int = 2) -> str:
    """A number with ``digits`` significant digits; "-" for nan (not measured, or 0/0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def symptom_table(runs: Mapping[str, DashboardRun]) -> str:
    """One row of :func:`symptoms` per run, rounded to two significant digits (safe to print in a checked cell)."""
    header = ["run", "loss step 1 -> end", "test acc", "|g1|/|gL| start -> end", "saturated", "dead",
              "act. std first -> last", "|dW|/|W| first, last", "diverged at"]
    rows = []
    for name, run in runs.items():
        s = symptoms(run)
        end = str(s.loss_end) if s.diverged_at is not None and not math.isfinite(s.loss_end) else _g(s.loss_end)
        rows.append([
            name, f"{_g(s.loss_start)} -> {end}", _percent(s.test_accuracy),
            f"{_g(s.gradient_ratio_start)} -> {_g(s.gradient_ratio_end)}", _percent(s.saturated), _percent(s.dead),
            f"{_g(s.std_first)} -> {_g(s.std_last)}",
            f"{_g(s.update_ratio_first, 1)}, {_g(s.update_ratio_last, 1)}",
            "-" if s.diverged_at is None else f"step {s.diverged_at}",
        ])
    return text_table(header, rows)


# --- scenarios from the earlier notebooks, and the mysteries ---------------------------------------------------------

_BASE = DashboardSettings()
_DEEP_SIGMOID = _BASE.replace(dataset="digits", depth=10, width=32, activation="sigmoid", init="glorot_uniform")

SCENARIOS: dict[str, DashboardSettings] = {
    "healthy baseline: ReLU, He, SGD": _BASE,
    "02: tanh with U(±1) init": _BASE.replace(dataset="digits", depth=6, width=64, activation="tanh",
                                              init="uniform", scale=1.0),
    "02: sigmoid with U(±1) init": _BASE.replace(dataset="digits", depth=6, width=64, activation="sigmoid",
                                                 init="uniform", scale=1.0),
    "02: tanh with Glorot init": _BASE.replace(dataset="digits", depth=6, width=64, activation="tanh",
                                               init="glorot_uniform"),
    "03: dead ReLU with negative bias": _BASE.replace(bias=-2.0),
    "03: the same, with Adam": _BASE.replace(bias=-2.0, optimizer="adam", lr=0.01),
    "04: leaky ReLU from the negative bias": _BASE.replace(bias=-2.0, activation="leaky_relu"),
    "05: ELU, 8 layers": _BASE.replace(depth=8, activation="elu"),
    "06: deep sigmoid, no batchnorm": _DEEP_SIGMOID,
    "06: deep sigmoid + batchnorm before": _DEEP_SIGMOID.replace(batchnorm="before"),
    "07: deep sigmoid on moons, SGD": _DEEP_SIGMOID.replace(dataset="two_moons"),
    "07: the same, with Adam": _DEEP_SIGMOID.replace(dataset="two_moons", optimizer="adam", lr=0.01),
}
"""Settings from the earlier notebooks, for the dashboard's scenario menu (name -> settings)."""

MYSTERIES: dict[str, DashboardSettings] = {
    "A": _BASE.replace(dataset="two_spirals", depth=4, width=32, lr=2.0, momentum=0.9),
    "B": _BASE.replace(depth=4, width=32, bias=-1.0),
    "C": _BASE.replace(dataset="circles", depth=5, width=32, activation="tanh", init="normal", scale=3.0),
    "D": _BASE.replace(depth=6, width=32, activation="tanh", init="uniform", scale=0.05),
    "E": _BASE.replace(depth=6, width=32, activation="sigmoid", init="glorot_uniform"),
}
"""Networks that fail, each for one of the reasons in :data:`CAUSES` (which one is for the learner to find)."""

CAUSES: dict[str, str] = {
    "learning rate too low": "the steps are tiny: the weights barely move, although the gradients flow",
    "learning rate too high": "the steps overshoot: the loss and the weights blow up",
    "saturation": "sigmoid or tanh units sit on the flat ends of their curve, where f'(z) is close to 0",
    "dead ReLU": "ReLU units output 0 for every input, so they pass no gradient at all",
    "weights too small": "every layer shrinks the signal: activations and gradients fade layer by layer",
    "missing normalization": "a deep stack of non-centred units whose gradient shrinks towards the input",
}
"""The reasons a network can fail to learn, to diagnose the :data:`MYSTERIES` with (name -> what happens)."""

FIXED_FOR_FIX = ("dataset", "depth", "width", "batch_size", "steps", "seed")
"""A fix of a mystery must keep these settings: the task and the network's size stay; what is broken changes."""

FIX_ACCURACY = 0.9
"""A fixed mystery network must reach this test accuracy within the mystery's number of steps."""


def causes_table() -> str:
    """The :data:`CAUSES`, one per line."""
    width = max(map(len, CAUSES))
    return "\n".join(f"{name.ljust(width)}  {text}" for name, text in CAUSES.items())


def mystery(name: str) -> DashboardSettings:
    """The settings of mystery ``name`` ("A", "B", ...)."""
    return check.lookup("name", name, MYSTERIES)


@cache
def mystery_run(name: str) -> DashboardRun:
    """The dashboard run of mystery ``name`` (trained once per process)."""
    return train_dashboard(mystery(name))


def fixed_settings(name: str, changes: Mapping[str, Any]) -> DashboardSettings:
    """Mystery ``name`` with ``changes`` applied, refusing changes to :data:`FIXED_FOR_FIX`.

    Raises ``TypeError`` for an unknown setting name and ``ValueError`` for a
    changed fixed setting or a value a setting cannot take.
    """
    base = mystery(name)
    if not isinstance(changes, Mapping):
        raise TypeError(f"changes={changes!r} must be a dict of settings to change, e.g. {{'lr': 0.1}}")
    moved = [key for key in FIXED_FOR_FIX if key in changes and changes[key] != getattr(base, key)]
    if moved:
        raise ValueError(f"a fix keeps {', '.join(FIXED_FOR_FIX)} as they are; this one changes "
                         f"{', '.join(f'{key} ({getattr(base, key)!r} -> {changes[key]!r})' for key in moved)}")
    return base.replace(**dict(changes))
