r"""The training loop: mini-batch gradient descent with callbacks.

The shared interface
--------------------
:func:`fit` trains a model in place for a budget of ``steps=`` updates or
``epochs=`` passes over the data, and returns a :class:`History`. The loop is
the textbook one; every step is

1. ``on_step_begin(state)``: ``state.x``, ``state.y`` hold the mini-batch;
2. ``out = model.forward(x)``, ``loss = loss_fn.forward(out, y)``;
3. ``model.backward(loss_fn.backward())``;
4. ``on_after_backward(state)``: the gradients of this step are in ``model.grads``
   and the parameters are not yet updated (gradient clipping happens here);
5. ``optimizer.step()``;
6. ``on_step_end(state)``: the parameters are updated.

Around the steps come ``on_train_begin(state)``, ``on_epoch_end(state)`` (also
after the last, possibly partial, epoch) and ``on_train_end(state)``. A
callback is any object with some of these methods (:class:`Callback` has them
all as no-ops, to subclass). All receive the same :class:`TrainState`; a
callback stops training by setting ``state.stop = True`` (a widget's stop
button does this): the loop ends after the current step.

Steps are numbered from 1: during step ``s``, ``state.step == s``, and after it
``s`` updates have been applied.

What :func:`fit` adds by itself, as callbacks that run before yours:

* :class:`DivergenceGuard`: after the backward, the loss must be finite; after
  the update, every parameter must be. If not, training stops at once with a
  :class:`DivergenceError` whose message names the step and the likely cause,
  and which carries the partial history (numpy's overflow warnings are silenced
  inside :func:`fit`: the error says more);
* :class:`EpochMetrics`: the loss and accuracy of every epoch, from the steps' batches;
* :class:`Validation`: loss and accuracy on ``(X_val, y_val)`` after every epoch, when given.

:func:`fit_or_diverge` is :func:`fit` for experiments in which a divergence is a result: it returns the
history up to the failing step (``diverged``, ``divergence``) instead of raising.

:class:`GradientClipping` is the one place where gradients are clipped (by
global norm or by value, :func:`vanishing.optim.clip_grad_norm` and
:func:`vanishing.optim.clip_grad_value`); pass it in ``callbacks``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validate as check
from .activations import Sigmoid
from .layers import Layer, Sequential
from .losses import BCE, MSE, BCEWithLogits, Loss, SoftmaxCrossEntropy, make_loss
from .optim import clip_grad_norm, clip_grad_value, global_norm

CALLBACK_EVENTS = ("on_train_begin", "on_step_begin", "on_after_backward", "on_step_end", "on_epoch_end",
                   "on_train_end")
"""The names of the methods :func:`fit` calls on its callbacks, in the order they first occur."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or parameter.

    Attributes
    ----------
    step, epoch
        Where it happened (steps and epochs are numbered from 1).
    loss
        The loss value of that step (possibly inf or nan).
    parameter
        The name of the first parameter that became non-finite (``"0.W"``), or
        None when the loss went non-finite first.
    cause
        A short description, e.g. ``"loss became inf"``.
    history
        The :class:`History` up to and including the failing step.
    """

    def __init__(self, message: str, *, step: int, epoch: int, loss: float, history: History,
                 parameter: str | None = None, cause: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.history = history
        self.parameter = parameter
        self.cause = cause


@dataclass
class History:
    """What :func:`fit` measured.

    Attributes
    ----------
    loss
        The training loss of every step (the loss of the mini-batch, before that step's update).
    epoch_loss, epoch_accuracy
        Per epoch: the mean of the step losses weighted by batch size, and the
        fraction of training examples classified correctly during the epoch
        (measured on each batch before its update, so it lags slightly behind the model).
        ``epoch_accuracy`` stays empty when accuracy is not meaningful (regression).
    val_loss, val_accuracy
        Per epoch, on ``(X_val, y_val)`` in evaluation mode (empty without validation data).
    steps, epochs
        Steps taken and epochs started.
    stopped_early
        True when a callback set ``state.stop``.
    diverged, divergence
        True, and the :class:`DivergenceError` message, when training diverged.
    """

    loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    epoch_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    steps: int = 0
    epochs: int = 0
    stopped_early: bool = False
    diverged: bool = False
    divergence: str | None = None

    @property
    def has_accuracy(self) -> bool:
        return bool(self.epoch_accuracy)

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.4g}" if self.loss else "-"
        flags = " stopped early" if self.stopped_early else ""
        flags += " DIVERGED" if self.diverged else ""
        return f"History(steps={self.steps}, epochs={self.epochs}, last loss={last}{flags})"


@dataclass
class TrainState:
    """The state shared with every callback during :func:`fit`.

    ``loss`` is the float loss value of the current step, ``loss_fn`` the loss
    object; ``x`` and ``y`` are the current mini-batch and ``out`` the model's output on it. Set ``stop = True`` to
    end training after the current step.
    """

    model: Any
    optimizer: Any
    loss_fn: Loss
    history: History
    step: int = 0
    epoch: int = 0
    loss: float = math.nan
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    out: np.ndarray | None = None
    stop: bool = False


class Callback:
    """Base class for callbacks: every event is a no-op; override the ones you need."""

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_step_begin(self, state: TrainState) -> None:
        pass

    def on_after_backward(self, state: TrainState) -> None:
        pass

    def on_step_end(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`: mean loss, and accuracy (None when not meaningful)."""

    loss: float
    accuracy: float | None


# --- accuracy ------------------------------------------------------------------------------------------------------

class AccuracyRule:
    """How to read class predictions from a model's output, and class labels from targets.

    ``labels(target)`` and ``predict(pred)`` return arrays of the same shape;
    accuracy is the fraction of their entries that agree.
    """

    def __init__(self, kind: str, threshold: float = 0.5) -> None:
        self.kind = kind  # "index" (class indices), "one_hot" or "threshold"
        self.threshold = threshold

    def labels(self, target: np.ndarray) -> np.ndarray:
        if self.kind == "index":
            return target
        if self.kind == "one_hot":
            return target.argmax(axis=1)
        return target.reshape(len(target), -1) > 0.5

    def predict(self, pred: np.ndarray) -> np.ndarray:
        if self.kind == "threshold":
            return pred.reshape(len(pred), -1) > self.threshold
        return pred.argmax(axis=1)

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Fraction of entries where the predicted label equals the target label."""
        labels = self.labels(target)
        return float(np.count_nonzero(self.predict(pred) == labels) / labels.size)

    def __repr__(self) -> str:
        extra = f", threshold={self.threshold}" if self.kind == "threshold" else ""
        return f"AccuracyRule({self.kind!r}{extra})"


def _last_layer(model: Any) -> Layer:
    return model.layers[-1] if isinstance(model, Sequential) else model


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.all((y == 0) | (y == 1)))


def _is_one_hot(y: np.ndarray) -> bool:
    return y.ndim == 2 and y.shape[1] >= 2 and _is_binary(y) and bool(np.all(y.sum(axis=1) == 1))


def accuracy_rule(loss: Loss, model: Any, y: np.ndarray) -> AccuracyRule | None:
    """How to count correct predictions for this loss, model and targets; None for regression.

    * ``softmax_ce``: the argmax of the logits is the class;
    * ``bce_logits``: logit > 0 (probability > 0.5) predicts 1;
    * ``bce``: probability > 0.5 predicts 1;
    * ``mse`` with one-hot targets (the digits): argmax of the output against argmax of the target;
    * ``mse`` with 0/1 targets and a Sigmoid output layer: output > 0.5 predicts 1;
    * anything else (``mse`` on real-valued targets): None.

    With several binary outputs every output counts as one prediction.
    """
    if isinstance(loss, SoftmaxCrossEntropy):
        return AccuracyRule("index")
    if isinstance(loss, BCEWithLogits):
        return AccuracyRule("threshold", 0.0)
    if isinstance(loss, BCE):
        return AccuracyRule("threshold", 0.5)
    if isinstance(loss, MSE):
        if _is_one_hot(y):
            return AccuracyRule("one_hot")
        if isinstance(_last_layer(model), Sigmoid) and _is_binary(y):
            return AccuracyRule("threshold", 0.5)
    return None


# --- argument checks -----------------------------------------------------------------------------------------------

def _as_loss(loss: Loss | str) -> Loss:
    if isinstance(loss, str):
        return make_loss(loss)
    if not isinstance(loss, Loss):
        raise TypeError(f"loss={loss!r} must be a vanishing.losses.Loss or a loss name such as 'mse'")
    return loss


def _check_model(model: Any) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"model={model!r} must be a vanishing layer or Sequential (for example from vanishing.mlp)")


def _check_data(X: Any, y: Any, model: Any, x_name: str = "X", y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Validate a data set and cast X to the model's dtype."""
    X = check.array(x_name, X, ndim=2)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{y_name} must be a numpy array, got {type(y).__name__}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(
            f"{x_name} has shape {X.shape} but {y_name} has shape {y.shape}; "
            f"they need the same number of rows (one target per example)"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{y_name} contains NaN or infinite values; all targets must be finite")
    dtype = getattr(model, "dtype", None)
    if dtype is not None and X.dtype != dtype:
        # the layers refuse a dtype mismatch; cast once here rather than at every step
        X = X.astype(dtype)
    return X, y


def _check_callbacks(callbacks: Iterable[Any]) -> list[Any]:
    if callbacks is None:
        return []
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not any(callable(getattr(cb, event, None)) for event in CALLBACK_EVENTS):
            raise TypeError(
                f"callbacks[{i}]={cb!r} has none of the callback methods; allowed: objects with one or more of "
                f"{', '.join(CALLBACK_EVENTS)} (subclass vanishing.train.Callback)"
            )
    return callbacks


def _check_parameters_finite(model: Any) -> None:
    for name, p in model.params.items():
        if not np.isfinite(p).all():
            raise ValueError(f"model parameter {name!r} contains NaN or infinite values before training; "
                             "re-create the model")


def _first_non_finite(items: Sequence[tuple[str, np.ndarray]]) -> str | None:
    """Name of the first non-finite parameter, or None.

    The sum of an array is finite only if every entry is (a NaN or inf entry
    makes the sum NaN or inf), so one reduction per array is a cheap test.
    The converse does not hold: finite entries near the float maximum can sum
    to inf, so a non-finite sum triggers a full elementwise check.
    """
    reduce = np.add.reduce
    for name, p in items:
        if not math.isfinite(reduce(p, None)) and not np.isfinite(p).all():
            return name
    return None


# --- divergence messages -------------------------------------------------------------------------------------------

def _advice(optimizer: Any, model: Any) -> str:
    lr = getattr(optimizer, "lr", None)
    if lr is not None:
        text = (f"the learning rate {lr:g} is probably too high for this network; "
                f"try a value 10x smaller ({lr / 10:g})")
    else:
        text = "the step size is probably too large for this network; try a 10x smaller one"
    if getattr(model, "dtype", None) == np.float16:
        text += " (float16 overflows above 65504: float32 gives more room)"
    return text


def _loss_message(value: float, step: int, epoch: int, optimizer: Any, model: Any) -> str:
    where = f"loss became {value} at step {step} (epoch {epoch})"
    if step == 1:
        cause = ("before any update: the initial weights or the inputs are too large for this network"
                 + (" (float16 overflows above 65504)" if getattr(model, "dtype", None) == np.float16 else ""))
        return f"{where}, {cause}"
    return f"{where}: {_advice(optimizer, model)}"


def _parameter_message(name: str, value: float, step: int, epoch: int, optimizer: Any, model: Any) -> str:
    p = model.params[name]
    kind = "nan" if np.isnan(p).any() else "inf"
    grad = model.grads.get(name)
    source = ""
    if grad is not None and not np.isfinite(grad).all():
        source = " (its gradient was already non-finite)"
    return (f"parameter {name!r} became {kind} in the update of step {step} (epoch {epoch}){source}, "
            f"while the loss was {value:.4g}: {_advice(optimizer, model)}")


# --- the callbacks fit adds ----------------------------------------------------------------------------------------

class DivergenceGuard(Callback):
    """Stops training with a :class:`DivergenceError` at the first non-finite loss or parameter."""

    def on_train_begin(self, state: TrainState) -> None:
        # the arrays are updated in place by the optimizers, so the list stays valid for the whole run
        self.params = list(state.model.params.items())

    def on_after_backward(self, state: TrainState) -> None:
        if not math.isfinite(state.loss):
            message = _loss_message(state.loss, state.step, state.epoch, state.optimizer, state.model)
            raise _diverged(state, message, None, f"loss became {state.loss}")

    def on_step_end(self, state: TrainState) -> None:
        bad = _first_non_finite(self.params)
        if bad is not None:
            message = _parameter_message(bad, state.loss, state.step, state.epoch, state.optimizer, state.model)
            raise _diverged(state, message, bad, f"parameter {bad!r} became non-finite")


def _diverged(state: TrainState, message: str, parameter: str | None, cause: str) -> DivergenceError:
    state.history.diverged = True
    state.history.divergence = message
    return DivergenceError(message, step=state.step, epoch=state.epoch, loss=state.loss, history=state.history,
                           parameter=parameter, cause=cause)


class EpochMetrics(Callback):
    """The loss of every epoch (the batch-size-weighted mean of its steps' losses) and its accuracy.

    Accuracy counts the predictions of every step's forward, made before that
    step's update, so it lags slightly behind the model; ``rule=None`` (regression)
    records no accuracy.
    """

    def __init__(self, rule: AccuracyRule | None) -> None:
        self.rule = rule
        self.loss_sum = self.examples = self.correct = self.labels = 0

    def on_after_backward(self, state: TrainState) -> None:
        n = len(state.y)
        self.loss_sum += state.loss * n
        self.examples += n
        if self.rule is not None:
            labels = self.rule.labels(state.y)
            self.correct += np.count_nonzero(self.rule.predict(state.out) == labels)
            self.labels += labels.size

    def on_epoch_end(self, state: TrainState) -> None:
        state.history.epoch_loss.append(self.loss_sum / self.examples)
        if self.rule is not None:
            state.history.epoch_accuracy.append(self.correct / self.labels)
        self.loss_sum = self.examples = self.correct = self.labels = 0


class Validation(Callback):
    """Loss and accuracy on ``(X, y)`` in evaluation mode after every epoch (``history.val_loss``, ``val_accuracy``)."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y

    def on_epoch_end(self, state: TrainState) -> None:
        result = _evaluate(state.model, state.loss_fn, self.X, self.y)
        state.history.val_loss.append(result.loss)
        if result.accuracy is not None:
            state.history.val_accuracy.append(result.accuracy)


class GradientClipping(Callback):
    r"""Clip the gradients after every backward, before the update (Pascanu et al., 2013).

    ``max_norm``: if the global norm :math:`\|g\| = \sqrt{\sum_p \|g_p\|^2}` over
    every parameter exceeds it, every gradient is scaled by ``max_norm / ||g||``:
    the step keeps its direction and gets shorter. ``max_value``: every entry is
    clipped to ``[-max_value, max_value]``: large entries are cut, small ones
    kept, so the step changes direction. Give one of the two.

    Records per step: ``norms`` (the global norm before clipping) and
    ``clipped`` (with ``max_norm``: 1.0 if that step was rescaled, else 0.0;
    with ``max_value``: the fraction of gradient entries that were cut).
    ``clipped_fraction`` is the mean of ``clipped`` over the run.
    """

    def __init__(self, max_norm: float | None = None, max_value: float | None = None) -> None:
        if (max_norm is None) == (max_value is None):
            raise ValueError(f"max_norm={max_norm!r}, max_value={max_value!r}: give exactly one of the two")
        self.max_norm = None if max_norm is None else check.positive("max_norm", max_norm)
        self.max_value = None if max_value is None else check.positive("max_value", max_value)
        self.norms: list[float] = []
        self.clipped: list[float] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.norms, self.clipped = [], []

    def on_after_backward(self, state: TrainState) -> None:
        grads = state.model.grads
        if self.max_norm is not None:
            norm = clip_grad_norm(grads, self.max_norm)
            self.clipped.append(float(norm > self.max_norm))
        else:
            norm = global_norm(grads)
            self.clipped.append(clip_grad_value(grads, self.max_value))
        self.norms.append(norm)

    @property
    def clipped_fraction(self) -> float:
        return float(np.mean(self.clipped)) if self.clipped else 0.0

    def __repr__(self) -> str:
        which = f"max_norm={self.max_norm}" if self.max_norm is not None else f"max_value={self.max_value}"
        return f"GradientClipping({which})"


# --- the loop ------------------------------------------------------------------------------------------------------

def _batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each mini-batch; a last batch of one example joins the one before.

    BatchNorm cannot estimate a variance from one example, so a lone final
    example is merged into the previous batch rather than given its own step.
    """
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def batches(X: np.ndarray, y: np.ndarray, batch_size: int, *, rng: np.random.Generator, shuffle: bool = True,
            steps: int | None = None, epochs: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray, bool]]:
    """Mini-batches ``(epoch, x, y, last_of_epoch)`` until ``steps`` batches or ``epochs`` passes are done.

    Every epoch draws a new order of the examples from ``rng`` (unless
    ``shuffle=False``). When the step budget ends inside an epoch, its last
    batch is marked ``last_of_epoch`` too.
    """
    bounds = _batch_bounds(len(X), batch_size)
    step = 0
    for epoch in itertools.count(1):
        if epochs is not None and epoch > epochs:
            return
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        X_epoch, y_epoch = X[order], y[order]  # one gather per epoch; every batch is then a contiguous view
        for i, (start, stop) in enumerate(bounds):
            step += 1
            yield epoch, X_epoch[start:stop], y_epoch[start:stop], i == len(bounds) - 1 or step == steps
            if step == steps:
                return


def fit(model: Any, loss: Loss | str, optimizer: Any, X: np.ndarray, y: np.ndarray, *, batch_size: int,
        rng: np.random.Generator, steps: int | None = None, epochs: int | None = None,
        callbacks: Iterable[Any] = (), X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
        shuffle: bool = True) -> History:
    """Train ``model`` in place by mini-batch gradient descent, for ``steps`` updates or ``epochs`` passes.

    Parameters
    ----------
    model
        A :class:`~vanishing.layers.Sequential` (or any layer); left in training mode.
    loss
        A :class:`~vanishing.losses.Loss` or its name (``"mse"``, ``"softmax_ce"``...).
    optimizer
        An optimizer built on ``model`` (:mod:`vanishing.optim`).
    X, y
        Training data, ``X`` of shape (N, D), finite floats (cast to the model's
        dtype if needed); ``y`` with N rows in the form the loss expects.
    batch_size
        Examples per step (a batch larger than N means one step per epoch). A
        final batch of one example joins the previous one.
    rng
        Draws the order of the examples in every epoch (``shuffle=True``).
    steps, epochs
        The budget: give exactly one.
    callbacks
        Objects with some of the methods in :data:`CALLBACK_EVENTS` (see the module docstring).
    X_val, y_val
        Optional validation data, evaluated at the end of every epoch.
    shuffle
        If False, the batches follow the order of ``X`` (``rng`` is not used).

    Returns
    -------
    History
        Per-step losses, per-epoch losses and accuracies (see :class:`History`).

    Raises
    ------
    DivergenceError
        At the first step whose loss, or whose updated parameters, are not finite.
    """
    loss, X, y, callbacks = _checked_arguments(model, loss, optimizer, X, y, batch_size, rng, steps, epochs,
                                               callbacks, X_val, y_val)
    history = History()
    state = TrainState(model=model, optimizer=optimizer, loss_fn=loss, history=history)
    handlers = {event: [getattr(cb, event) for cb in callbacks if hasattr(cb, event)] for event in CALLBACK_EVENTS}

    def emit(event: str) -> None:
        for handler in handlers[event]:
            handler(state)

    model.train()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            emit("on_train_begin")
            for state.epoch, state.x, state.y, last_of_epoch in batches(
                    X, y, batch_size, rng=rng, shuffle=shuffle, steps=steps, epochs=epochs):
                if state.stop:  # set before any step (in on_train_begin, or by a stop button)
                    break
                state.step = history.steps = state.step + 1
                history.epochs = state.epoch
                emit("on_step_begin")
                state.out = model.forward(state.x)
                state.loss = loss.forward(state.out, state.y)
                history.loss.append(state.loss)
                model.backward(loss.backward())
                emit("on_after_backward")
                optimizer.step()
                emit("on_step_end")
                if last_of_epoch or state.stop:
                    emit("on_epoch_end")
                if state.stop:
                    break
    finally:
        history.stopped_early = state.stop
        emit("on_train_end")
    return history


def fit_or_diverge(model: Any, loss: Loss | str, optimizer: Any, X: np.ndarray, y: np.ndarray,
                   **fit_options: Any) -> History:
    """Train as :func:`fit` does; if training diverges, return the history up to that step instead of raising.

    The returned :class:`History` then has ``diverged=True``, the :class:`DivergenceError` message in
    ``divergence``, and in ``loss`` every step up to and including the one that diverged (``steps`` of them).
    """
    try:
        return fit(model, loss, optimizer, X, y, **fit_options)
    except DivergenceError as error:
        return error.history


def _checked_arguments(model: Any, loss: Loss | str, optimizer: Any, X: Any, y: Any, batch_size: int,
                       rng: Any, steps: int | None, epochs: int | None, callbacks: Iterable[Any],
                       X_val: Any, y_val: Any) -> tuple[Loss, np.ndarray, np.ndarray, list[Any]]:
    """Check :func:`fit`'s arguments; return the loss, the data cast to the model's dtype, and every callback."""
    _check_model(model)
    loss = _as_loss(loss)
    if not (hasattr(optimizer, "step") and callable(optimizer.step)):
        raise TypeError(f"optimizer={optimizer!r} must have a step() method (see vanishing.optim)")
    X, y = _check_data(X, y, model)
    if (steps is None) == (epochs is None):
        raise ValueError(f"steps={steps!r}, epochs={epochs!r}: give exactly one budget, steps= or epochs=")
    if epochs is None:
        check.positive("steps", steps, integer=True)
    else:
        check.positive("epochs", epochs, integer=True)
    check.positive("batch_size", batch_size, integer=True)
    check.rng("rng", rng)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together (or neither)")
    _check_parameters_finite(model)
    own: list[Any] = [DivergenceGuard(), EpochMetrics(accuracy_rule(loss, model, y))]
    if X_val is not None:
        own.append(Validation(*_check_data(X_val, y_val, model, "X_val", "y_val")))
    return loss, X, y, own + _check_callbacks(callbacks)


# --- evaluation ----------------------------------------------------------------------------------------------------

def _every_layer(model: Any) -> list[Layer]:
    """The model and every layer inside it, residual blocks included (each once)."""
    if not isinstance(model, Sequential):
        return [model]
    return list(dict.fromkeys(layer for chain in model.chains() for layer in (chain, *chain.layers)))


def _get_modes(model: Any) -> list[bool]:
    return [layer.training for layer in _every_layer(model)]


def _set_modes(model: Any, modes: list[bool]) -> None:
    for layer, mode in zip(_every_layer(model), modes, strict=True):
        layer.training = mode


def predict(model: Any, X: np.ndarray) -> np.ndarray:
    """The model's output on ``X`` in evaluation mode; the previous mode of every layer is restored."""
    _check_model(model)
    X = check.array("X", X, ndim=2)
    dtype = getattr(model, "dtype", None)
    if dtype is not None and X.dtype != dtype:
        X = X.astype(dtype)
    return _predict(model, X)


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    modes = _get_modes(model)
    model.eval()
    try:
        return model.forward(X)
    finally:
        _set_modes(model, modes)


def evaluate(model: Any, loss: Loss | str, X: np.ndarray, y: np.ndarray) -> Evaluation:
    """Loss and accuracy of ``model`` on ``(X, y)`` in evaluation mode.

    BatchNorm uses (and does not update) its running statistics; RReLU uses its
    mean slope. The previous mode of every layer is restored afterwards.
    Accuracy follows :func:`accuracy_rule` (None for regression).
    """
    _check_model(model)
    loss = _as_loss(loss)
    X, y = _check_data(X, y, model)
    return _evaluate(model, loss, X, y)


def _evaluate(model: Any, loss: Loss, X: np.ndarray, y: np.ndarray) -> Evaluation:
    """:func:`evaluate` on arguments already checked."""
    out = _predict(model, X)
    value = loss.forward(out, y)
    rule = accuracy_rule(loss, model, y)
    acc = None if rule is None else rule.accuracy(out, y)
    return Evaluation(loss=value, accuracy=acc)


def accuracy(model: Any, loss: Loss | str, X: np.ndarray, y: np.ndarray) -> float | None:
    """Fraction of ``(X, y)`` classified correctly in evaluation mode (None for regression).

    How a prediction is read depends on the loss; see :func:`accuracy_rule`.
    """
    return evaluate(model, loss, X, y).accuracy
