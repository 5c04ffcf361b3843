r"""Diagnostics: per-layer numbers that show how a network trains.

Everything here watches a :class:`~vanishing.layers.Sequential` from outside:
one-off functions read a model (after a forward or a backward), and recorders
are :func:`vanishing.train.fit` callbacks (some also use the model's forward
hooks). They record numbers only (numpy arrays); :mod:`vanishing.plots` draws them.

One-off functions
-----------------
* :func:`gradient_norms`, :func:`weight_norms`: :math:`\|dW\|_2` and :math:`\|W\|_2` per Dense layer;
* :func:`backward_signal`: :math:`\|\partial L/\partial z_l\|_2`, the gradient arriving at each Dense layer's output;
* :func:`update_ratio`: :math:`\|\Delta W\| / \|W\|` of one update;
* :func:`saturated_fraction`, :func:`dead_fraction`, :func:`alive_units`: of a batch of activations;
* :func:`collect_activations`: every layer's input and output for one forward, leaving the model untouched.

"Every layer" means ``model.leaves()``: the layers inside residual blocks count in their place.

Definitions
-----------
* A sigmoid or tanh unit is **saturated** on an example when its output lies
  within :data:`SATURATION_MARGIN` = 0.01 of an end of its range: sigmoid
  ``a < 0.01`` or ``a > 0.99``; tanh ``|a| > 0.99`` (there σ′ < 0.0099 and
  tanh′ < 0.0199). The saturated fraction counts over units x examples.
* A ReLU unit is **dead** on a probe batch when its output is 0 for *every*
  example of the batch (so all its weight gradients from that batch are 0):
  :func:`alive_units` is the one definition the course uses.

Recorders and when they record
------------------------------
Every recorder has ``every`` (record one step in ``every``), ``steps`` (what
was recorded when), ``layer_names`` and ``history`` (an array, records x layers).

* Step recorders (:class:`GradientNorms`, :class:`BackwardSignal`,
  :class:`UpdateRatio`, and :class:`ActivationStats` / :class:`SaturationFraction`
  on the training batches) record during steps 1, 1 + every, 1 + 2·every, ...:
  the gradients and activations of step s come from the parameters after s − 1 updates.
* Probes (:class:`Probe` with any ``measure(model)``, :class:`WeightNorms`,
  :class:`DeadFraction`, and the activation recorders given a ``probe_X``)
  record the model before training (step 0), after every ``every``-th update,
  and at the end: ``steps`` holds the number of updates done.

A probe forward never disturbs training: the mode of every layer, BatchNorm's
running statistics, the layers' caches and RReLU's random generator are all
restored afterwards, so a run with recorders gives bit-for-bit the same
training as a run without.

Each :func:`~vanishing.train.fit` call starts a recorder afresh.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as check
from .activations import Activation, ReLU, Sigmoid, Tanh
from .layers import Dense, Layer, Sequential
from .train import Callback, TrainState, _get_modes, _set_modes

SATURATION_MARGIN = 0.01
"""A sigmoid/tanh output within this distance of an end of its range counts as saturated."""

SATURATION_RANGES: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
"""The output ranges of the saturating activations: saturated means ``a < low + margin`` or ``a > high - margin``."""

HISTOGRAM_BINS = 40
"""Default number of histogram bins of :class:`ActivationStats`."""

UNBOUNDED_HISTOGRAM_LIMIT = 4.0
"""Histograms of unbounded activations (ReLU, ELU...) span their output up to this value (and down to f(-4))."""


# --- layers and names ----------------------------------------------------------------------------------------------

def _check_sequential(model: Any, name: str = "model") -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"{name}={model!r} must be a vanishing.layers.Sequential (for example from vanishing.mlp)")
    return model


def layer_names(model: Sequential) -> list[str]:
    """A readable, unique name for every layer of ``model.leaves()``: ``"Dense 1"``, ``"Tanh 1"``, ``"Dense 2"``, ...

    Layers are numbered by kind, from the input side, so that ``"Dense 1"`` is
    the first weight layer whatever else sits between the weight layers (the
    layers inside residual blocks count in their place).
    """
    _check_sequential(model)
    counts: dict[str, int] = {}
    names = []
    for layer in model.leaves():
        kind = type(layer).__name__
        counts[kind] = counts.get(kind, 0) + 1
        names.append(f"{kind} {counts[kind]}")
    return names


def _indices(model: Sequential, kinds: tuple[type, ...]) -> list[int]:
    """Positions in ``model.leaves()`` of the layers of these kinds."""
    return [i for i, layer in enumerate(model.leaves()) if isinstance(layer, kinds)]


# --- one-off functions ---------------------------------------------------------------------------------------------

def _param_norms(model: Sequential, source: str, param: str) -> np.ndarray:
    _check_sequential(model)
    check.choice("param", param, ("W", "b"))
    return np.array([float(np.linalg.norm(getattr(layer, source)[param]))
                     for layer in model.leaves() if isinstance(layer, Dense)])


def gradient_norms(model: Sequential, param: str = "W") -> np.ndarray:
    r"""L2 (Frobenius) norm of the gradient of each Dense layer's ``W`` (or ``b``), in order.

    Read after a backward: :math:`\|\partial L/\partial W_l\|_2` for l = 1..L,
    shape (number of Dense layers,). Vanishing gradients show as norms that
    shrink towards the input layer.
    """
    return _param_norms(model, "grads", param)


def weight_norms(model: Sequential, param: str = "W") -> np.ndarray:
    """L2 (Frobenius) norm of each Dense layer's ``W`` (or ``b``), shape (number of Dense layers,)."""
    return _param_norms(model, "params", param)


def update_ratio(before: np.ndarray, after: np.ndarray) -> float:
    r"""Relative size of one update: :math:`\|W_{after} - W_{before}\|_2 / \|W_{before}\|_2`.

    Around 1e-3 per step is a common rule of thumb for a healthy layer; much
    smaller means the layer barely learns. inf when W was exactly 0 and moved,
    nan when it was 0 and stayed 0.
    """
    before = np.asarray(before)
    after = np.asarray(after)
    if before.shape != after.shape:
        raise ValueError(f"before has shape {before.shape} but after has shape {after.shape}; they must match")
    change = float(np.linalg.norm(after - before))
    size = float(np.linalg.norm(before))
    if size == 0:
        return np.inf if change > 0 else np.nan
    return change / size


def _saturation_kind(activation: Activation | str) -> str:
    if isinstance(activation, str):
        return check.choice("activation", activation, SATURATION_RANGES)
    for cls in (Sigmoid, Tanh):
        if isinstance(activation, cls):
            return cls.name
    raise ValueError(
        f"activation={activation!r} does not saturate in the sense used here; "
        f"allowed: a Sigmoid or Tanh layer, or one of {', '.join(map(repr, SATURATION_RANGES))}"
    )


def _saturated(kind: str, out: np.ndarray) -> np.ndarray:
    low, high = SATURATION_RANGES[kind]
    return (out < low + SATURATION_MARGIN) | (out > high - SATURATION_MARGIN)


def saturated_fraction(activation: Activation | str, out: np.ndarray, *,
                       per_unit: bool = False) -> float | np.ndarray:
    """Fraction of saturated outputs of a sigmoid or tanh layer.

    Saturated: sigmoid ``a < 0.01`` or ``a > 0.99``; tanh ``|a| > 0.99``
    (within :data:`SATURATION_MARGIN` of an end of the range).

    Parameters
    ----------
    activation
        The activation layer (Sigmoid or Tanh) or its name, ``"sigmoid"`` or ``"tanh"``.
    out
        Its outputs, shape (N, D).
    per_unit
        If True, return the fraction for each unit over the N examples, shape (D,);
        otherwise one number over all N x D outputs.
    """
    kind = _saturation_kind(activation)
    out = check.array("out", out, ndim=2, finite=False)
    mask = _saturated(kind, out)
    if per_unit:
        return mask.mean(axis=0)
    return float(mask.mean())


def alive_units(out: np.ndarray) -> np.ndarray:
    """Which ReLU units are alive on this batch: output non-zero for at least one example.

    ``out`` is the layer's output, shape (N, D); returns a bool array (D,).
    """
    out = check.array("out", out, ndim=2, finite=False)
    return np.any(out != 0, axis=0)


def dead_fraction(out: np.ndarray) -> float:
    """Fraction of a ReLU layer's units that output 0 for every example of the batch ``out`` (N, D)."""
    return float(1.0 - alive_units(out).mean())


def activation_range(layer: Activation) -> tuple[float, float]:
    """The output interval the histograms of :class:`ActivationStats` span for this activation.

    Sigmoid (0, 1) and tanh (−1, 1) exactly; an unbounded activation from
    ``min(f(−4), 0)`` to 4 (ReLU [0, 4], ELU [−0.98, 4], Leaky ReLU [−0.04, 4]
    with α = 0.01, the identity [−4, 4]). Outputs beyond the interval are
    counted in the end bins.
    """
    if isinstance(layer, Sigmoid | Tanh):
        return SATURATION_RANGES[layer.name]
    if not isinstance(layer, Activation):
        raise TypeError(f"layer={layer!r} is not an activation layer")
    limit = UNBOUNDED_HISTOGRAM_LIMIT
    low = float(np.asarray(layer.fn(np.array([[-limit]]))).ravel()[0])
    return min(low, 0.0), limit


def histogram(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """Counts of ``values`` in ``bins`` equal bins over [low, high]; outside values go to the end bins.

    Non-finite values are left out. Faster than ``numpy.histogram`` for equal bins.
    """
    values = np.asarray(values).ravel()
    if not np.isfinite(values.sum()):
        values = values[np.isfinite(values)]
    scaled = (values - low) * (bins / (high - low))
    index = np.clip(scaled, 0, bins - 1).astype(np.intp)
    return np.bincount(index, minlength=bins)


# --- probe forwards ------------------------------------------------------------------------------------------------

@contextmanager
def preserved(model: Sequential) -> Iterator[Sequential]:
    """Restore the model's modes, buffers, layer caches and layers' random generators on exit.

    Inside the block the model may be run freely (in training mode, on any
    batch): afterwards nothing shows that it was. The model's hooks are set
    aside inside the block, so a probe forward is not seen by a recorder.
    """
    layers = _check_sequential(model).leaves()
    modes = _get_modes(model)
    buffers = {name: value.copy() for name, value in model.buffers.items()}
    caches = [dict(layer.cache) for layer in layers]
    generators = [(layer.rng, layer.rng.bit_generator.state) for layer in layers
                  if isinstance(getattr(layer, "rng", None), np.random.Generator)]
    hooks = [(chain, chain.forward_hooks, chain.backward_hooks) for chain in model.chains()]
    for chain, _, _ in hooks:
        chain.forward_hooks, chain.backward_hooks = [], []
    try:
        yield model
    finally:
        _set_modes(model, modes)
        for name, value in model.buffers.items():
            value[...] = buffers[name]
        for layer, cache in zip(layers, caches, strict=True):
            layer.cache = cache
        for generator, state in generators:
            generator.bit_generator.state = state
        for chain, forward_hooks, backward_hooks in hooks:
            chain.forward_hooks, chain.backward_hooks = forward_hooks, backward_hooks


@dataclass
class LayerActivations:
    """One layer's input ``x`` and output ``out`` in a forward pass.

    For an activation layer, ``x`` is the pre-activation z and ``out`` the post-activation a.
    ``index`` is the layer's position in ``model.leaves()``.
    """

    index: int
    name: str
    layer: Layer
    x: np.ndarray
    out: np.ndarray


def collect_activations(model: Sequential, X: np.ndarray, *, train_mode: bool = False) -> list[LayerActivations]:
    """Run one forward on ``X`` and return every layer's input and output, in the order of ``model.leaves()``.

    ``train_mode=False`` runs in evaluation mode (BatchNorm uses its running
    statistics); ``train_mode=True`` runs as a training step would (batch
    statistics, random RReLU slopes). Either way the model is left exactly as
    it was (see :func:`preserved`), and the model's own hooks are not called.
    """
    _check_sequential(model)
    X = check.array("X", X, ndim=2)
    if model.dtype is not None and X.dtype != model.dtype:
        X = X.astype(model.dtype)
    leaves = model.leaves()
    position = {id(layer): i for i, layer in enumerate(leaves)}
    names = layer_names(model)
    result = []

    def keep(layer: Layer, x: np.ndarray, out: np.ndarray) -> None:
        if id(layer) in position:
            i = position[id(layer)]
            result.append(LayerActivations(i, names[i], layer, x, out))

    with preserved(model):
        model.train() if train_mode else model.eval()
        model.add_forward_hook(keep)
        model.forward(X)
    return result


def backward_signal(model: Sequential, loss: Any, X: np.ndarray, y: np.ndarray, *,
                    train_mode: bool = True) -> np.ndarray:
    r"""The backward signal :math:`\|\partial L/\partial z_l\|_2` arriving at each Dense layer's output, in order.

    :math:`z_l` is the output of the l-th Dense layer (its pre-activation).
    Unlike :math:`\|\partial L/\partial W_l\| = \|a_{l-1}^T \delta_l\|`, which also
    scales with the layer's input :math:`a_{l-1}`, this is the gradient itself as
    it travels back: a vanishing gradient shows as a signal that shrinks towards
    the first layer. One forward and backward on ``(X, y)`` with ``loss`` (a
    :class:`~vanishing.losses.Loss`); the model is left as it was (gradients included).
    """
    from .train import _as_loss

    loss = _as_loss(loss)
    X = check.array("X", X, ndim=2)
    dense = [layer for layer in _check_sequential(model).leaves() if isinstance(layer, Dense)]
    signal: dict[int, float] = {}

    def keep(layer: Layer, dout: np.ndarray) -> None:
        if isinstance(layer, Dense):
            signal[id(layer)] = float(np.linalg.norm(dout))

    grads = {name: g.copy() for name, g in model.grads.items()}
    with preserved(model):
        model.train() if train_mode else model.eval()
        model.add_backward_hook(keep)
        loss.forward(model.forward(X.astype(model.dtype or X.dtype, copy=False)), y)
        model.backward(loss.backward())
    for name, g in model.grads.items():
        g[...] = grads[name]
    return np.array([signal[id(layer)] for layer in dense])


# --- recorders -----------------------------------------------------------------------------------------------------

class Recorder(Callback):
    """Base class of the recorders: the ``every`` schedule, names, and the record arrays.

    Subclasses choose the layers they watch (``_watch``: positions in
    ``model.leaves()``) and append one row per record to ``self._rows``;
    ``history`` stacks them (records x layers).
    """

    def __init__(self, every: int = 1) -> None:
        self.every = check.positive("every", every, integer=True)
        self.model: Sequential | None = None
        self._reset()

    def _reset(self) -> None:
        self.steps: list[int] = []
        self.layer_names: list[str] = []
        self.layer_indices: list[int] = []
        self.layers: list[Layer] = []
        self._rows: list[Any] = []

    def _watch(self, model: Sequential) -> list[int]:
        return _indices(model, (Dense,))

    def _start(self, state: TrainState) -> None:
        model = _check_sequential(state.model, "state.model")
        self._reset()
        self.model = model
        self.layer_indices = self._watch(model)
        leaves, names = model.leaves(), layer_names(model)
        self.layers = [leaves[i] for i in self.layer_indices]
        self.layer_names = [names[i] for i in self.layer_indices]

    def on_train_begin(self, state: TrainState) -> None:
        self._start(state)

    def _step_due(self, step: int) -> bool:
        """Step recorders: steps 1, 1 + every, 1 + 2 every, ..."""
        return (step - 1) % self.every == 0

    @property
    def history(self) -> np.ndarray:
        """The records, shape (records, layers)."""
        return np.array(self._rows, dtype=np.float64).reshape(len(self._rows), len(self.layer_indices))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(every={self.every}, records={len(self.steps)}, layers={self.layer_names})"


class GradientNorms(Recorder):
    r"""Per Dense layer, :math:`\|dW\|_2` (``history``) and :math:`\|db\|_2` (``bias_history``).

    Recorded in ``on_after_backward`` of steps 1, 1 + every, ...
    """

    def _reset(self) -> None:
        super()._reset()
        self._bias_rows: list[np.ndarray] = []

    def on_after_backward(self, state: TrainState) -> None:
        if self._step_due(state.step):
            self.steps.append(state.step)
            self._rows.append(gradient_norms(state.model, "W"))
            self._bias_rows.append(gradient_norms(state.model, "b"))

    @property
    def bias_history(self) -> np.ndarray:
        return np.array(self._bias_rows, dtype=np.float64).reshape(len(self._bias_rows), len(self.layer_indices))


class BackwardSignal(Recorder):
    r"""Per Dense layer, the backward signal :math:`\|\partial L/\partial z_l\|_2` of steps 1, 1 + every, ...

    :math:`z_l` is the Dense layer's output; the signal is the gradient that
    arrives there during the step's backward (seen through a backward hook).
    Read gradient flow from it rather than from :class:`GradientNorms`:
    :math:`dW_l = a_{l-1}^T \delta_l` also scales with the layer's input, so
    :math:`\|dW_l\|` can look healthy while :math:`\delta_l` vanishes (see :func:`backward_signal`).
    """

    def _reset(self) -> None:
        super()._reset()
        self._pending: dict[int, float] | None = None
        self._remove_hook: Callable[[], None] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self._start(state)
        self._remove_hook = state.model.add_backward_hook(self._hook)

    def _hook(self, layer: Layer, dout: np.ndarray) -> None:
        if self._pending is not None and isinstance(layer, Dense):
            self._pending[id(layer)] = float(np.linalg.norm(dout))

    def on_step_begin(self, state: TrainState) -> None:
        if self._step_due(state.step):
            self._pending = {}

    def on_after_backward(self, state: TrainState) -> None:
        if self._pending is not None:
            self.steps.append(state.step)
            self._rows.append(np.array([self._pending[id(layer)] for layer in self.layers]))
            self._pending = None

    def on_train_end(self, state: TrainState) -> None:
        self._pending = None
        if self._remove_hook is not None:
            self._remove_hook()
            self._remove_hook = None


class UpdateRatio(Recorder):
    r"""Per Dense layer, :math:`\|\Delta W\|_2 / \|W\|_2` of the update of steps 1, 1 + every, ...

    ``W`` is copied in ``on_after_backward`` (before the update) and compared in ``on_step_end``.
    """

    def _reset(self) -> None:
        super()._reset()
        self._before: list[np.ndarray] | None = None

    def on_after_backward(self, state: TrainState) -> None:
        if self._step_due(state.step):
            self._before = [layer.params["W"].copy() for layer in self.layers]

    def on_step_end(self, state: TrainState) -> None:
        if self._before is None:
            return
        after = [layer.params["W"] for layer in self.layers]
        self._rows.append(np.array([update_ratio(b, a) for b, a in zip(self._before, after, strict=True)]))
        self.steps.append(state.step)
        self._before = None


class Probe(Recorder):
    """Records ``measure(model)`` before training (step 0), after every ``every``-th update, and at the end.

    The one way to watch a model at a schedule: ``Probe(lambda model: ..., every=10)``
    passed to :func:`~vanishing.train.fit` keeps whatever ``measure`` returns in
    ``values`` (a list) and the number of updates done at each record in
    ``steps``. A measure that runs the model should do so inside
    :func:`preserved` (as :func:`collect_activations` does), so that training is
    not disturbed. Subclasses may override ``_record`` instead of passing ``measure``.
    """

    def __init__(self, measure: Callable[[Sequential], Any] | None = None, every: int = 1) -> None:
        if measure is not None and not callable(measure):
            raise TypeError(f"measure={measure!r} must be a function of the model")
        self.measure = measure
        super().__init__(every)

    @property
    def values(self) -> list[Any]:
        """What each record measured, in order (the same length as ``steps``)."""
        return self._rows

    def _record(self, state: TrainState) -> None:
        self._rows.append(self.measure(state.model))

    def _record_at(self, state: TrainState, step: int) -> None:
        self.steps.append(step)
        self._record(state)

    def on_train_begin(self, state: TrainState) -> None:
        self._start(state)
        self._record_at(state, 0)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._record_at(state, state.step)

    def on_train_end(self, state: TrainState) -> None:
        # a step whose loss was not finite ended training before its update
        done = state.step - (1 if state.history.diverged and not math.isfinite(state.loss) else 0)
        if self.steps and self.steps[-1] != done:
            self._record_at(state, done)


class WeightNorms(Probe):
    r"""Per Dense layer, :math:`\|W\|_2` before training, after every ``every``-th update and at the end."""

    def __init__(self, every: int = 1) -> None:
        super().__init__(lambda model: weight_norms(model, "W"), every)


class _ActivationRecorder(Probe):
    """Records statistics of activation-layer outputs, on the training batches or on a probe batch.

    Without ``probe_X``: a forward hook sees the outputs of the training
    forward of steps 1, 1 + every, ... With ``probe_X``: a separate forward on
    it (in training mode unless ``train_mode=False``), on the probe schedule.
    """

    def __init__(self, every: int = 1, probe_X: np.ndarray | None = None, *, train_mode: bool = True) -> None:
        super().__init__(None, every)
        self.probe_X = None if probe_X is None else check.array("probe_X", probe_X, ndim=2)
        self.train_mode = bool(train_mode)
        self._remove_hook: Callable[[], None] | None = None

    def _reset(self) -> None:
        super()._reset()
        self._pending: dict[int, Any] | None = None

    def _measure(self, layer: Layer, out: np.ndarray) -> Any:
        """What to keep of one watched layer's output."""
        raise NotImplementedError

    def _store(self, measured: list[Any]) -> None:
        """Append one record made of the measures of every watched layer, in order."""
        raise NotImplementedError

    # probe batch
    def _record(self, state: TrainState) -> None:
        activations = collect_activations(state.model, self.probe_X, train_mode=self.train_mode)
        self._store([self._measure(activations[i].layer, activations[i].out) for i in self.layer_indices])

    # training batches
    def _hook(self, layer: Layer, x: np.ndarray, out: np.ndarray) -> None:
        if self._pending is not None and id(layer) in self._pending:
            self._pending[id(layer)] = self._measure(layer, out)

    def on_train_begin(self, state: TrainState) -> None:
        if self.probe_X is not None:
            super().on_train_begin(state)
            return
        self._start(state)
        self._remove_hook = state.model.add_forward_hook(self._hook)

    def on_step_begin(self, state: TrainState) -> None:
        if self.probe_X is None and self._step_due(state.step):
            self._pending = {id(layer): None for layer in self.layers}

    def on_after_backward(self, state: TrainState) -> None:
        if self._pending is not None:
            self.steps.append(state.step)
            self._store([self._pending[id(layer)] for layer in self.layers])
            self._pending = None

    def on_step_end(self, state: TrainState) -> None:
        if self.probe_X is not None:
            super().on_step_end(state)

    def on_train_end(self, state: TrainState) -> None:
        if self.probe_X is not None:
            super().on_train_end(state)
        self._pending = None
        if self._remove_hook is not None:
            self._remove_hook()
            self._remove_hook = None


class ActivationStats(_ActivationRecorder):
    """Per activation layer: mean, standard deviation and a histogram of the outputs.

    The histogram of each layer has ``bins`` equal bins over a fixed interval
    suited to the activation (:func:`activation_range`; ``edges`` holds them),
    so histograms at different steps can be compared bin by bin.

    Records: ``mean`` and ``std`` (records x layers, over examples x units),
    ``histograms`` (records x layers x bins, counts). ``history`` is ``mean``.

    Without ``probe_X`` the outputs are those of the training batches of steps
    1, 1 + every, ... (seen through a forward hook). With ``probe_X`` (N, D) a
    separate forward on it is recorded before training, after every
    ``every``-th update and at the end, in training mode unless ``train_mode=False``.
    """

    def __init__(self, every: int = 1, bins: int = HISTOGRAM_BINS, probe_X: np.ndarray | None = None, *,
                 train_mode: bool = True) -> None:
        self.bins = check.positive("bins", bins, integer=True)  # before the base class resets the records
        super().__init__(every, probe_X, train_mode=train_mode)

    def _reset(self) -> None:
        super()._reset()
        self.edges = np.empty((0, self.bins + 1))
        self._std_rows: list[np.ndarray] = []
        self._hist_rows: list[np.ndarray] = []

    def _watch(self, model: Sequential) -> list[int]:
        indices = _indices(model, (Activation,))
        leaves = model.leaves()
        self._edges = {id(leaves[i]): np.linspace(*activation_range(leaves[i]), self.bins + 1) for i in indices}
        self.edges = np.array(list(self._edges.values())).reshape(len(indices), self.bins + 1)
        return indices

    def _measure(self, layer: Layer, out: np.ndarray) -> tuple[float, float, np.ndarray]:
        edges = self._edges[id(layer)]
        return float(out.mean()), float(out.std()), histogram(out, edges[0], edges[-1], self.bins)

    def _store(self, measured: list[tuple[float, float, np.ndarray]]) -> None:
        self._rows.append(np.array([m[0] for m in measured]))
        self._std_rows.append(np.array([m[1] for m in measured]))
        self._hist_rows.append(np.array([m[2] for m in measured]).reshape(len(measured), self.bins))

    @property
    def mean(self) -> np.ndarray:
        return self.history

    @property
    def std(self) -> np.ndarray:
        return np.array(self._std_rows, dtype=np.float64).reshape(len(self._std_rows), len(self.layer_indices))

    @property
    def histograms(self) -> np.ndarray:
        return np.array(self._hist_rows, dtype=np.intp).reshape(len(self._hist_rows), len(self.layer_indices),
                                                                self.bins)


class SaturationFraction(_ActivationRecorder):
    """Per sigmoid/tanh layer, the fraction of saturated outputs (see :func:`saturated_fraction`).

    ``history`` (records x layers) counts over examples x units; ``per_unit[name]``
    (records x units) gives each unit's fraction over the examples.
    ``probe_X`` and ``train_mode`` work as for :class:`ActivationStats`.
    """

    def _reset(self) -> None:
        super()._reset()
        self._unit_rows: dict[int, list[np.ndarray]] = {}

    def _watch(self, model: Sequential) -> list[int]:
        indices = _indices(model, (Sigmoid, Tanh))
        self._unit_rows = {i: [] for i in indices}
        return indices

    def _measure(self, layer: Layer, out: np.ndarray) -> np.ndarray:
        return saturated_fraction(layer, out, per_unit=True)

    def _store(self, measured: list[np.ndarray]) -> None:
        self._rows.append(np.array([float(m.mean()) for m in measured]))
        for i, m in zip(self.layer_indices, measured, strict=True):
            self._unit_rows[i].append(m)

    @property
    def per_unit(self) -> dict[str, np.ndarray]:
        return {name: np.array(self._unit_rows[i]) for name, i in zip(self.layer_names, self.layer_indices,
                                                                       strict=True)}


class DeadFraction(_ActivationRecorder):
    """Per ReLU layer, the fraction of dead units on ``probe_X`` (see :func:`dead_fraction`).

    ``history`` (records x layers); ``alive[name]`` (records x units, bool) is
    the alive map: True where the unit's output is non-zero for some probe example.
    Recorded before training, after every ``every``-th update and at the end.
    ``train_mode=True`` (default) runs the probe as a training forward, which is
    where a dead unit gets no gradient.
    """

    def __init__(self, probe_X: np.ndarray, every: int = 1, *, train_mode: bool = True) -> None:
        if probe_X is None:
            raise ValueError("probe_X=None: DeadFraction needs a probe batch (N, D) to test every unit on")
        super().__init__(every, probe_X, train_mode=train_mode)

    def _reset(self) -> None:
        super()._reset()
        self._alive_rows: dict[int, list[np.ndarray]] = {}

    def _watch(self, model: Sequential) -> list[int]:
        indices = _indices(model, (ReLU,))
        self._alive_rows = {i: [] for i in indices}
        return indices

    def _measure(self, layer: Layer, out: np.ndarray) -> np.ndarray:
        return alive_units(out)

    def _store(self, measured: list[np.ndarray]) -> None:
        self._rows.append(np.array([1.0 - float(m.mean()) for m in measured]))
        for i, m in zip(self.layer_indices, measured, strict=True):
            self._alive_rows[i].append(m)

    @property
    def alive(self) -> dict[str, np.ndarray]:
        return {name: np.array(self._alive_rows[i], dtype=bool)
                for name, i in zip(self.layer_names, self.layer_indices, strict=True)}


__all__ = [
    "HISTOGRAM_BINS", "SATURATION_MARGIN", "SATURATION_RANGES", "UNBOUNDED_HISTOGRAM_LIMIT", "ActivationStats",
    "BackwardSignal", "DeadFraction", "GradientNorms", "LayerActivations", "Probe", "Recorder", "SaturationFraction",
    "UpdateRatio", "WeightNorms", "activation_range", "alive_units", "backward_signal", "collect_activations",
    "dead_fraction", "gradient_norms", "histogram", "layer_names", "preserved", "saturated_fraction", "update_ratio",
    "weight_norms",
]
