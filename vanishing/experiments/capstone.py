r"""Notebook 08 (capstone): a gradient-health dashboard, and broken networks to diagnose with it.

:class:`DashboardSettings` holds one configuration; :class:`DashboardTrainer` trains it with
:func:`vanishing.fit` and the recorders of :mod:`vanishing.diagnostics` attached, and hands out a
:class:`DashboardRun` of what has been recorded so far (``snapshot()``, for live redraws) or stops after
the current step (``request_stop()``); :func:`train_dashboard` does both at once. A run that diverges
returns what it recorded up to the failing step, with the :class:`~vanishing.train.DivergenceError` message.
:data:`SCENARIOS` come from the earlier notebooks; :data:`MYSTERIES` fail, each for one of the
:data:`CAUSES` (:mod:`vanishing.tables.capstone` condenses a run into a few numbers). numpy only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import numpy as np

from .. import _validate as check
from .. import diagnostics
from ..activations import ACTIVATIONS, Activation, ReLU, Sigmoid, Tanh
from ..data import TASKS, digits, load, standardize, train_test_split
from ..init import INITIALIZERS
from ..models import BATCHNORM_POSITIONS, mlp
from ..optim import OPTIMIZERS, Optimizer, make_optimizer
from ..train import Callback, TrainState, evaluate, fit_or_diverge

__all__ = [
    "CAUSES", "DASHBOARD_DATASETS", "DashboardData", "DashboardRun", "DashboardSettings", "DashboardTrainer",
    "FIX_ACCURACY", "FIXED_FOR_FIX", "MYSTERIES", "SCENARIOS", "dashboard_data", "fixed_settings", "init_options",
    "mystery", "mystery_run", "optimizer_options", "train_dashboard",
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
"""About this many records of the gradients and update ratios per run, whatever its length."""
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

    ``dataset``: one of :data:`DASHBOARD_DATASETS` (400 examples, 597 digits;
    standardized, a quarter held out). ``depth``, ``width``: hidden layers and
    units per layer. ``activation``: a key of :data:`vanishing.ACTIVATIONS`.
    ``init``, ``scale``: see :func:`init_options`. ``bias``: the initial value
    of every hidden bias. ``batchnorm``: ``"none"``, ``"before"`` or ``"after"``
    each hidden activation. ``optimizer`` ... ``weight_decay``: see
    :func:`optimizer_options`. ``batch_size``, ``steps``: examples per update,
    number of updates. ``seed``: :class:`DashboardTrainer` draws the initial
    weights and the order of the examples from ``default_rng(seed)``. A number,
    not a generator: a settings record names one run, so the same record (a
    scenario, a mystery) trains the same network every time it is trained.
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
        check.positive("depth", self.depth, integer=True)
        check.positive("width", self.width, integer=True)
        check.choice("activation", self.activation, ACTIVATIONS)
        check.choice("init", self.init, INITIALIZERS)
        check.positive("scale", self.scale)
        check.number("bias", self.bias)
        check.choice("batchnorm", self.batchnorm, BATCHNORM_POSITIONS)
        check.choice("optimizer", self.optimizer, OPTIMIZERS)
        check.positive("lr", self.lr)
        for name in ("momentum", "beta1", "beta2"):
            check.number(name, getattr(self, name), low=0, high=1, high_open=True)
        check.non_negative("weight_decay", self.weight_decay)
        check.positive("batch_size", self.batch_size, integer=True)
        check.positive("steps", self.steps, integer=True)
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
        """A one-line summary, e.g. ``"two_moons · 4 × 32 relu · he_uniform ×1 · sgd lr 0.1 · batch 32"``."""
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
        return " · ".join([*parts, opt, f"batch {self.batch_size}"])


@dataclass(frozen=True)
class DashboardData:
    """A standardized train/test split, the loss that fits the task, and the number of outputs."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    loss: str
    outputs: int


@cache
def dashboard_data(dataset: str) -> DashboardData:
    """The data of ``dataset`` as every dashboard run sees it (drawn once, from :data:`DATA_SEED`; read-only).

    Binary problems get one logit and ``"bce_logits"`` (targets of shape (N, 1));
    multiclass problems one logit per class and ``"softmax_ce"`` (targets (N,)).
    """
    check.choice("dataset", dataset, DASHBOARD_DATASETS)
    rng = np.random.default_rng(DATA_SEED)
    X, y = digits(DIGIT_EXAMPLES, rng=rng) if dataset == "digits" else load(dataset, n=SYNTHETIC_EXAMPLES, rng=rng)
    X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, rng=rng)
    X_train, X_test = standardize(X_train, X_test)
    if TASKS[dataset] == "binary":
        y_train, y_test = y_train[:, None].astype(np.float64), y_test[:, None].astype(np.float64)
        loss, outputs = "bce_logits", 1
    else:
        loss, outputs = "softmax_ce", int(y.max()) + 1
    for array in (X_train, X_test, y_train, y_test):
        array.setflags(write=False)
    return DashboardData(X_train, y_train, X_test, y_test, loss, outputs)


@dataclass(frozen=True)
class DashboardRun:
    """Everything one dashboard run recorded (possibly a run still in progress: see ``complete``).

    Shapes: D Dense layers, A hidden activation layers, R gradient records, P probes, B histogram bins.

    ``loss`` (steps,): the training loss of every step (one more when the last one was not finite).
    ``grad_steps`` (R,): the steps of the gradient records; ``grad_norms`` (R, D): ‖∂L/∂W_l‖;
    ``backward_signal`` (R, D): ‖∂L/∂z_l‖, the gradient arriving at each Dense layer's output;
    ``update_ratio`` (R, D): ‖ΔW_l‖/‖W_l‖ (nan for an update that made the weights non-finite).
    ``probe_steps`` (P,): updates done at each probe; on the probe examples, ``histograms`` (P, A, B)
    the fraction of each layer's outputs in each bin of ``hist_edges`` (A, B + 1), ``act_mean`` and
    ``act_std`` (P, A), ``health`` (P, A) the saturated (sigmoid, tanh) or dead (ReLU) fraction as
    ``health_kinds`` says (nan where it is ""); ``test_loss``, ``test_accuracy`` (P,) on the test split.
    ``steps``: updates done; ``diverged`` and ``divergence`` (the message); ``stopped`` (on request);
    ``seconds``: wall-clock time of the training (not deterministic).
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
    backward_signal: np.ndarray
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
        if self.diverged:
            return f"diverged at step {self.steps}"
        if self.stopped:
            return f"stopped at step {self.steps} of {self.settings.steps}"
        if not self.complete:
            return f"training: step {self.steps} of {self.settings.steps}"
        return f"{self.steps} steps"

    def __repr__(self) -> str:
        return f"DashboardRun({self.settings.describe()}; {self.status}; test accuracy {self.final_accuracy:.3g})"


def _health_kind(layer: Activation) -> str:
    """Which unit-health measure applies: "saturated" (sigmoid, tanh), "dead" (ReLU) or "" (none)."""
    return "saturated" if isinstance(layer, (Sigmoid, Tanh)) else "dead" if isinstance(layer, ReLU) else ""


def _probe(model: Any, *, data: DashboardData, edges: np.ndarray, kinds: tuple[str, ...]) -> tuple[Any, ...]:
    """One probe: per activation layer the histogram shares, mean, std and health; then test loss, accuracy."""
    # a diverged model gives inf and nan everywhere: the records show that, without warnings
    with np.errstate(all="ignore"):
        outputs = [a for a in diagnostics.collect_activations(model, data.X_train[:PROBE_EXAMPLES], train_mode=True)
                   if isinstance(a.layer, Activation)]
        bins = edges.shape[1] - 1
        hist = np.array([diagnostics.histogram(a.out, e[0], e[-1], bins) / max(a.out.size, 1)
                         for a, e in zip(outputs, edges, strict=True)]).reshape(len(outputs), bins)
        health = [diagnostics.saturated_fraction(a.layer, a.out) if kind == "saturated" else
                  float(1 - diagnostics.alive_units(a.out).mean()) if kind == "dead" else math.nan
                  for a, kind in zip(outputs, kinds, strict=True)]
        test = evaluate(model, data.loss, data.X_test, data.y_test)
        return (hist, np.array([a.out.mean() for a in outputs]), np.array([a.out.std() for a in outputs]),
                np.array(health), float(test.loss), float(test.accuracy) if math.isfinite(test.loss) else math.nan)


class _Control(Callback):
    """Keeps the trainer's step and history current, and ends training after a step when a stop was requested."""

    def __init__(self, trainer: DashboardTrainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, state: TrainState) -> None:
        self.trainer.history = state.history

    def on_step_end(self, state: TrainState) -> None:
        self.trainer.step = state.step
        if self.trainer.stop_requested and state.step < self.trainer.settings.steps:
            self.trainer.stopped = state.stop = True


class DashboardTrainer:
    """Train one :class:`DashboardSettings` with the dashboard's recorders attached.

    ``run()`` trains and returns the final :class:`DashboardRun`. From a
    callback (or another thread), ``snapshot()`` returns what has been
    recorded so far and ``request_stop()`` ends the run after the current step;
    ``step`` is the number of updates done. With ``record=False`` only the
    first step's gradients and the state before and after training are
    recorded: the same training, faster (for checks that need the end only).
    """

    def __init__(self, settings: DashboardSettings | None = None, *, record: bool = True, **changes: Any) -> None:
        settings = settings if settings is not None else DashboardSettings()
        if not isinstance(settings, DashboardSettings):
            raise TypeError(f"settings={settings!r} must be a DashboardSettings (or None for the defaults)")
        self.settings = s = settings.replace(**changes) if changes else settings
        self.data = dashboard_data(s.dataset)
        self.rng = np.random.default_rng(s.seed)
        sizes = [self.data.X_train.shape[1], *[s.width] * s.depth, self.data.outputs]
        self.model = mlp(sizes, s.activation, rng=self.rng, init=s.init, init_options=init_options(s.init, s.scale),
                         batchnorm=s.batchnorm, bias=s.bias)
        self.optimizer: Optimizer = make_optimizer(s.optimizer, self.model, **optimizer_options(
            s.optimizer, lr=s.lr, momentum=s.momentum, beta1=s.beta1, beta2=s.beta2, weight_decay=s.weight_decay))
        names = diagnostics.layer_names(self.model)
        activations = [(name, layer) for name, layer in zip(names, self.model.leaves(), strict=True)
                       if isinstance(layer, Activation)]
        self.dense_names = tuple(name for name in names if name.startswith("Dense "))
        self.activation_names = tuple(name for name, _ in activations)
        self.health_kinds = tuple(_health_kind(layer) for _, layer in activations)
        edges = [np.linspace(*diagnostics.activation_range(layer), HISTOGRAM_BINS + 1) for _, layer in activations]
        self.edges = np.array(edges).reshape(len(activations), HISTOGRAM_BINS + 1)
        # record=False: step 1's gradients, and probes before and after training (recording never disturbs training)
        every = max(1, s.steps // GRADIENT_RECORDS) if record else s.steps + 1
        self.gradients = diagnostics.GradientNorms(every)
        self.signal = diagnostics.BackwardSignal(every)
        self.updates = diagnostics.UpdateRatio(every)
        measure = partial(_probe, data=self.data, edges=self.edges, kinds=self.health_kinds)
        self.probe = diagnostics.Probe(measure, every=max(1, s.steps // PROBE_RECORDS) if record else s.steps + 1)
        self.step = 0
        self.stop_requested = self.stopped = self.diverged = self.complete = False
        self.history = None
        self.divergence: str | None = None
        self._started: float | None = None
        self._seconds = 0.0

    def request_stop(self) -> None:
        """End the run after the current step (safe to call from another thread)."""
        self.stop_requested = True

    def run(self, callbacks: Iterable[Any] = ()) -> DashboardRun:
        """Train (once), then return the final :class:`DashboardRun`; extra ``callbacks`` go to :func:`fit` last."""
        if self._started is not None:
            raise RuntimeError("this trainer has run already; make a new DashboardTrainer")
        s = self.settings
        self._started = time.perf_counter()
        with np.errstate(all="ignore"):  # a diverging run is reported by its message, not by warnings
            history = fit_or_diverge(self.model, self.data.loss, self.optimizer, self.data.X_train, self.data.y_train,
                                     batch_size=s.batch_size, rng=self.rng, steps=s.steps,
                                     callbacks=[_Control(self), self.gradients, self.signal, self.updates, self.probe,
                                                *callbacks])
        if history.diverged:
            self.diverged, self.divergence, self.step = True, history.divergence, history.steps
        else:  # ended before its budget: stopped, by request_stop or by a callback of the caller's (a Stop button)
            self.stopped = self.step < s.steps
        self._seconds = time.perf_counter() - self._started
        self.complete = True
        return self.snapshot()

    def snapshot(self) -> DashboardRun:
        """What has been recorded so far, as a :class:`DashboardRun` (copies: training may go on)."""
        d = len(self.dense_names)
        grads = self.gradients.history.reshape(-1, d)
        r = len(grads)

        def rows(recorder: diagnostics.Recorder) -> np.ndarray:
            """The first r records, nan where none was made (the update of a step that diverged)."""
            measured, padded = recorder.history.reshape(-1, d)[:r], np.full((r, d), np.nan)
            padded[:len(measured)] = measured
            return padded

        probes = list(self.probe.values)
        p, a, b = len(probes), len(self.activation_names), HISTOGRAM_BINS
        column = [[probe[i] for probe in probes] for i in range(6)]
        seconds = self._seconds if self.complete else (
            time.perf_counter() - self._started if self._started is not None else 0.0)
        loss = np.array(self.history.loss if self.history is not None else [], dtype=np.float64)
        return DashboardRun(
            settings=self.settings, loss_name=self.data.loss, dense_names=self.dense_names,
            activation_names=self.activation_names, health_kinds=self.health_kinds, steps=int(self.step), loss=loss,
            grad_steps=np.array(self.gradients.steps[:r], dtype=np.int64), grad_norms=grads,
            backward_signal=rows(self.signal),
            update_ratio=rows(self.updates), probe_steps=np.array(self.probe.steps[:p], dtype=np.int64),
            histograms=np.array(column[0]).reshape(p, a, b), hist_edges=self.edges.copy(),
            act_mean=np.array(column[1]).reshape(p, a), act_std=np.array(column[2]).reshape(p, a),
            health=np.array(column[3]).reshape(p, a), test_loss=np.array(column[4], dtype=np.float64),
            test_accuracy=np.array(column[5], dtype=np.float64), complete=self.complete, diverged=self.diverged,
            divergence=self.divergence, stopped=self.stopped, seconds=float(seconds))


def train_dashboard(settings: DashboardSettings | None = None, *, callbacks: Iterable[Any] = (),
                    record: bool = True, **changes: Any) -> DashboardRun:
    """Train one configuration with every dashboard recorder; return its :class:`DashboardRun`.

    ``train_dashboard(depth=8, activation="sigmoid")`` changes the defaults of
    :class:`DashboardSettings`; ``train_dashboard(settings, lr=0.1)`` changes a
    given configuration. A diverging run returns normally, with ``diverged=True``.
    ``record=False``: see :class:`DashboardTrainer`.
    """
    return DashboardTrainer(settings, record=record, **changes).run(callbacks=callbacks)


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
    "A": _BASE.replace(dataset="two_spirals", lr=2.0, momentum=0.9),
    "B": _BASE.replace(bias=-1.0),
    "C": _BASE.replace(dataset="circles", depth=5, activation="tanh", init="glorot_uniform", bias=-3.0),
    "D": _BASE.replace(depth=6, activation="tanh", init="uniform", scale=0.05),
    "E": _BASE.replace(depth=6, activation="sigmoid", init="glorot_uniform"),
}
"""Networks that fail, each for one of the :data:`CAUSES` (which one is for the learner to find)."""

CAUSES: dict[str, str] = {
    "learning rate too high": "each step overshoots: the loss and the weights grow until they overflow",
    "learning rate too low": "the gradient reaches every layer, but each step moves the weights by a tiny fraction",
    "saturated units": "sigmoid or tanh pre-activations sit far from 0, on the flat ends where f′(z) ≈ 0",
    "dead ReLUs": "ReLU units output 0 for every input, so no gradient passes through them",
    "weights too small": "every layer has a gain below 1: activations fade going forward, ∂L/∂z going back",
    "deep sigmoid stack": "every sigmoid layer multiplies ∂L/∂z by σ′(z) ≤ 1/4 on the way back, and its "
                          "outputs are all positive, not zero-centred",
}
"""The causes to name a mystery's failure by (name -> what happens)."""

FIXED_FOR_FIX = ("dataset", "depth", "width", "batch_size", "steps", "seed")
"""A fix of a mystery keeps these settings: the task and the network's size stay; what is broken changes."""

FIX_ACCURACY = 0.9
"""A fixed mystery network must reach this test accuracy within the mystery's number of steps."""


def mystery(name: str) -> DashboardSettings:
    """The settings of mystery ``name`` ("A" ... "E")."""
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
