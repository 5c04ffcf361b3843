r"""The training loop: mini-batch gradient descent with callbacks.

The shared interface
--------------------
:func:`fit` trains a model in place and returns a :class:`History`. Each step is

1. ``on_step_begin(state)``
2. ``out = model.forward(x_batch)``, ``loss_value = loss.forward(out, y_batch)``
3. ``model.backward(loss.backward())``
4. ``on_after_backward(state)``: the gradients of this step are in ``model.grads``
   and the parameters are not yet updated;
5. ``optimizer.step()``
6. ``on_step_end(state)``: the parameters are updated.

Around the steps come ``on_train_begin(state)``, ``on_epoch_end(state)`` and
``on_train_end(state)``. A callback is any object with some of these methods
(:class:`Callback` has them all as no-ops, to subclass). All receive the same
:class:`TrainState`; a callback stops training by setting ``state.stop = True``
(the stop button of a widget does this): the loop ends after the current step.

Steps are numbered from 1: during step ``s``, ``state.step == s``, and after it
``s`` updates have been applied.

Divergence
----------
After every step the loop checks that the loss and every parameter are finite.
If not, it stops at once and raises :class:`DivergenceError`, whose message
names the step and the likely cause, and which carries the partial history.
numpy's overflow warnings are silenced inside :func:`fit`: the error says more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validate as check
from .activations import Sigmoid
from .layers import Layer, Sequential
from .losses import BCE, MSE, BCEWithLogits, Loss, SoftmaxCrossEntropy, make_loss

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
    object; ``x`` and ``y`` are the current mini-batch. Set ``stop = True`` to
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


class StopAfter(Callback):
    """Ends training after ``steps`` updates (:func:`fit` counts its budget in epochs)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step_end(self, state: TrainState) -> None:
        if state.step >= self.steps:
            state.stop = True


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`: mean loss, and accuracy (None when not meaningful)."""

    loss: float
    accuracy: float | None


# --- accuracy ------------------------------------------------------------------------------------------------------

class AccuracyRule:
    """How to read class predictions from a model's output, and class labels from targets.

    ``labels(target)`` and ``predict(pred)`` return arrays of the same shape;
    accuracy is the fraction of their entries that agree. ``predict`` can
    write into a preallocated ``out`` array, so :func:`fit` pays one ufunc
    call per step for its running accuracy.
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

    def predict(self, pred: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if self.kind == "threshold":
            return np.greater(pred, self.threshold, out=out)
        return pred.argmax(axis=1, out=out)

    def empty(self, pred_shape: tuple[int, ...], n: int) -> np.ndarray:
        """A buffer for the predictions of n examples."""
        if self.kind == "threshold":
            return np.empty((n,) + tuple(pred_shape[1:]), dtype=bool)
        return np.empty(n, dtype=np.intp)

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


# --- the loop ------------------------------------------------------------------------------------------------------

def _batches(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each mini-batch; a last batch of one example joins the one before.

    BatchNorm cannot estimate a variance from one example, so a lone final
    example is merged into the previous batch rather than given its own step.
    """
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def fit(model: Any, loss: Loss | str, optimizer: Any, X: np.ndarray, y: np.ndarray, *, epochs: int,
        batch_size: int, rng: np.random.Generator, callbacks: Iterable[Any] = (),
        X_val: np.ndarray | None = None, y_val: np.ndarray | None = None, shuffle: bool = True) -> History:
    """Train ``model`` in place by mini-batch gradient descent.

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
    epochs, batch_size
        Passes over the data and examples per step (a batch larger than N means
        one step per epoch). A final batch of one example joins the previous one.
    rng
        Draws the order of the examples in every epoch (``shuffle=True``).
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
    _check_model(model)
    loss = _as_loss(loss)
    if not (hasattr(optimizer, "step") and callable(optimizer.step)):
        raise TypeError(f"optimizer={optimizer!r} must have a step() method (see vanishing.optim)")
    X, y = _check_data(X, y, model)
    check.positive("epochs", epochs, integer=True)
    check.positive("batch_size", batch_size, integer=True)
    check.rng("rng", rng)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together (or neither)")
    if X_val is not None:
        X_val, y_val = _check_data(X_val, y_val, model, "X_val", "y_val")
    callbacks = _check_callbacks(callbacks)
    _check_parameters_finite(model)

    def handlers(event: str) -> list[Callable[[TrainState], None]]:
        return [getattr(cb, event) for cb in callbacks if callable(getattr(cb, event, None))]

    train_begin, step_begin, after_backward, step_end, epoch_end, train_end = map(handlers, CALLBACK_EVENTS)

    history = History()
    state = TrainState(model=model, optimizer=optimizer, loss_fn=loss, history=history)
    rule = accuracy_rule(loss, model, y)
    # Running accuracy: each step writes its predicted labels into one buffer (a single ufunc call);
    # they are compared with the targets' labels once per epoch.
    labels = rule.labels(y) if rule is not None else None
    predicted = None
    # The arrays are updated in place by the optimizers, so the list stays valid for the whole run.
    param_items = list(model.params.items())
    sequential = isinstance(model, Sequential)
    bounds = _batches(len(X), batch_size)
    losses = history.loss
    isfinite = math.isfinite
    step = 0

    def diverge(message: str, value: float, parameter: str | None, cause: str) -> DivergenceError:
        history.diverged = True
        history.divergence = message
        for handler in train_end:
            handler(state)
        return DivergenceError(message, step=step, epoch=state.epoch, loss=value, history=history,
                               parameter=parameter, cause=cause)

    model.train()
    for handler in train_begin:
        handler(state)
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            if state.stop:  # set before any step (in on_train_begin, or by a stop button)
                history.stopped_early = True
                break
            state.epoch = epoch
            history.epochs = epoch
            if shuffle:
                # one gather per epoch, then every batch is a contiguous view
                order = rng.permutation(len(X))
                X_epoch, y_epoch = X[order], y[order]
            else:
                X_epoch, y_epoch = X, y
            loss_sum = 0.0
            seen = 0
            for start, stop in bounds:
                x_batch, y_batch = X_epoch[start:stop], y_epoch[start:stop]
                step += 1
                state.step, state.x, state.y = step, x_batch, y_batch
                for handler in step_begin:
                    handler(state)
                out = model.forward(x_batch)
                value = loss.forward(out, y_batch)
                losses.append(value)
                history.steps = step
                state.loss = value
                if not isfinite(value):
                    message = _loss_message(value, step, epoch, optimizer, model)
                    raise diverge(message, value, None, f"loss became {value}")
                loss_sum += value * (stop - start)
                seen += stop - start
                if rule is not None:
                    if predicted is None:
                        predicted = rule.empty(out.shape, len(X))
                    rule.predict(out, out=predicted[start:stop])
                if sequential:
                    model.backward(loss.backward(), input_grad=False)  # nobody needs dL/dX here
                else:
                    model.backward(loss.backward())
                for handler in after_backward:
                    handler(state)
                optimizer.step()
                bad = _first_non_finite(param_items)
                if bad is not None:
                    message = _parameter_message(bad, value, step, epoch, optimizer, model)
                    raise diverge(message, value, bad, f"parameter {bad!r} became non-finite")
                for handler in step_end:
                    handler(state)
                if state.stop:
                    break
            history.epoch_loss.append(loss_sum / seen)
            if rule is not None:
                agree = predicted[:seen] == labels[order[:seen]] if shuffle else predicted[:seen] == labels[:seen]
                history.epoch_accuracy.append(float(np.count_nonzero(agree) / agree.size))
            if X_val is not None:
                result = _evaluate(model, loss, X_val, y_val)
                history.val_loss.append(result.loss)
                if result.accuracy is not None:
                    history.val_accuracy.append(result.accuracy)
            for handler in epoch_end:
                handler(state)
            if state.stop:
                history.stopped_early = True
                break
    for handler in train_end:
        handler(state)
    return history


# --- evaluation ----------------------------------------------------------------------------------------------------

def _set_modes(model: Any, modes: list[bool]) -> None:
    layers = model.layers if isinstance(model, Sequential) else []
    model.training = modes[0]
    for layer, mode in zip(layers, modes[1:], strict=True):
        layer.training = mode


def _get_modes(model: Any) -> list[bool]:
    layers = model.layers if isinstance(model, Sequential) else []
    return [model.training] + [layer.training for layer in layers]


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
