r"""Notebook 02 (saturation): the bookkeeping behind saturated units, initialisation ranges and output losses.

* :func:`derivative_two_ways`: :math:`\tanh'` or :math:`\sigma'` computed from the unit's output
  (:math:`1 - a^2`, :math:`a(1 - a)`) and from z (:math:`1/\cosh^2 z`, :math:`e^{-|z|}/(1 + e^{-|z|})^2`).
* :func:`layer_profile` and :func:`init_statistics`: one forward and one backward pass through a deep MLP,
  read layer by layer (activation spread and histogram, saturated fraction, backward signal
  :math:`\lVert\partial L/\partial z_l\rVert`, weight-gradient norm); :func:`variance_gain` is the forward
  gain :math:`n_\text{in}\operatorname{Var}[W]` of an initializer.
* :func:`output_gradients`, :func:`output_unit_training`, :func:`output_loss_comparison`: the gradient a
  sigmoid output receives under MSE, :math:`(\sigma(z) - t)\,\sigma'(z)`, and under cross-entropy,
  :math:`\sigma(z) - t`, and one unit trained from a saturated, wrong start.

This module imports numpy only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import _validate as check
from .. import scenarios
from ..activations import Activation, make_activation
from ..diagnostics import activation_range, gradient_norms, histogram, saturated_fraction
from ..layers import Dense, Sequential
from ..losses import make_loss
from ..models import mlp
from ..optim import SGD
from ..train import fit

__all__ = [
    "INIT_ACTIVATIONS", "INIT_SCHEMES", "OUTPUT_LOSSES", "InitStatistics", "OutputComparison", "OutputGradients",
    "OutputTraining", "derivative_two_ways", "init_label", "init_statistics", "layer_profile", "output_gradients",
    "output_loss_comparison", "output_unit_training", "variance_gain",
]

NOTEBOOK = "02"

SATURATING = ("tanh", "sigmoid")
INIT_ACTIVATIONS = ("tanh", "sigmoid", "relu")
"""Hidden activations of :func:`init_statistics`: the two that saturate, and relu for contrast."""
INIT_SCHEMES = ("uniform", "glorot_uniform", "he_uniform")
"""Initializers of :func:`init_statistics` (``uniform`` takes a ``limit``)."""
CHUNK = 32
"""Rows per forward and backward pass in :func:`layer_profile`."""


# --- where the derivative becomes exactly 0 -------------------------------------------------------------------------

def derivative_two_ways(activation: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(from_output, from_z)``: the derivative at z, in z's float type, computed two ways.

    From the output a = f(z), as a backward pass that keeps only a can: :math:`1 - a^2` (tanh) and
    :math:`a(1 - a)` (sigmoid, with :math:`a = 1/(1 + e^{-z})`). From z: :math:`1/\cosh^2 z` (the reciprocal
    taken before squaring, since :math:`\cosh^2` overflows first) and :math:`e^{-|z|}/(1 + e^{-|z|})^2`.
    Mathematically the same positive numbers; in floating point the first is exactly 0 once a rounds to 1.
    """
    check.choice("activation", activation, SATURATING)
    z = np.asarray(z)
    if z.dtype not in (np.float16, np.float32, np.float64):
        z = z.astype(np.float64)
    one = z.dtype.type(1)
    with np.errstate(over="ignore", under="ignore"):  # exp and cosh overflow only where the result is 0 anyway
        if activation == "tanh":
            a = np.tanh(z)
            sech = one / np.cosh(z)
            return one - a * a, sech * sech
        a = one / (one + np.exp(-z))
        e = np.exp(-np.abs(z))
        return a * (one - a), e / ((one + e) * (one + e))


# --- initialisation: one forward and one backward pass, read per layer ---------------------------------------------

def variance_gain(init: str, fan_in: int, fan_out: int, limit: float = 1.0, gain: float = 1.0) -> float:
    r""":math:`n_\text{in}\operatorname{Var}[W]`: the factor by which a layer multiplies :math:`E[a^2]` forward.

    ``uniform``: :math:`\operatorname{Var}[W] = \text{limit}^2/3`; Glorot:
    :math:`\text{gain}^2 \cdot 2/(n_\text{in}+n_\text{out})`; He: :math:`\text{gain}^2 \cdot 2/n_\text{in}`.
    """
    check.choice("init", init, INIT_SCHEMES)
    check.positive("fan_in", fan_in, integer=True)
    check.positive("fan_out", fan_out, integer=True)
    if init == "uniform":
        return fan_in * check.non_negative("limit", limit) ** 2 / 3
    scale = 2.0 / (fan_in + fan_out) if init == "glorot_uniform" else 2.0 / fan_in
    return fan_in * check.positive("gain", gain) ** 2 * scale


def init_label(init: str, limit: float | None = None) -> str:
    """``"U(±1)"``, ``"Glorot"``, ``"He"``: how the figures name an initialisation."""
    if init == "uniform":
        return f"U(±{limit:g})"
    return {"glorot_uniform": "Glorot", "he_uniform": "He"}.get(init, init)


@dataclass(frozen=True)
class InitStatistics:
    r"""A deep MLP's hidden layers after one forward and one backward pass (layers 1..depth from the input).

    Attributes
    ----------
    activation, label, depth, width
        The hidden activation's name, a name for the initialisation (``"Glorot"``), the number of hidden
        layers and the width of the first.
    forward_gain
        :math:`n_\text{in}\operatorname{Var}[W]` of the hidden-to-hidden layers (nan if not given).
    act_std, act_mean
        ``(depth,)``: standard deviation and mean of each hidden layer's outputs.
    saturated
        ``(depth,)``: fraction of each layer's outputs that are saturated
        (:func:`vanishing.diagnostics.saturated_fraction`; for relu, the fraction at 0).
    act_hist, hist_edges
        ``(depth, bins)`` fractions of each layer's outputs per bin, and the ``(bins + 1,)`` bin edges.
    signal
        ``(depth + 1,)``: the backward signal :math:`\lVert\partial L/\partial z\rVert` at every Dense
        layer's output, the output layer last.
    grad_norm
        ``(depth + 1,)``: :math:`\lVert\partial L/\partial W\rVert` of every Dense layer, the output layer last.
    steps, lr
        SGD steps taken before measuring (0: at initialisation) and their learning rate.
    """

    activation: str
    label: str
    depth: int
    width: int
    forward_gain: float
    act_std: np.ndarray
    act_mean: np.ndarray
    saturated: np.ndarray
    act_hist: np.ndarray
    hist_edges: np.ndarray
    signal: np.ndarray
    grad_norm: np.ndarray
    steps: int = 0
    lr: float = 0.0

    @property
    def gradient_ratio(self) -> float:
        """``grad_norm`` of the first hidden layer over that of the last hidden layer (1: steady)."""
        last = self.grad_norm[self.depth - 1]
        return float(self.grad_norm[0] / last) if last else float("nan")

    @property
    def signal_ratio(self) -> float:
        """``signal`` at the first hidden layer over that at the last hidden layer (1: steady)."""
        last = self.signal[self.depth - 1]
        return float(self.signal[0] / last) if last else float("nan")


def layer_profile(model: Sequential, X: np.ndarray, y: np.ndarray, *, loss: str = "softmax_ce",
                  label: str = "", forward_gain: float = float("nan"), bins: int = 40,
                  chunk: int = CHUNK) -> InitStatistics:
    """Read every hidden layer of ``model`` in one forward and one backward pass of ``loss`` on ``(X, y)``.

    ``model`` is an MLP (Dense, activation, ..., Dense) without an output activation; the hidden layers are
    its activation layers. A forward hook keeps their outputs and a backward hook the gradient arriving at
    every Dense output. The batch goes through in pieces of ``chunk`` rows, each piece's loss gradient
    weighted by its share of the batch, so the result is that of one pass over the whole batch (and the
    model's weight gradients are left as that pass would set them); small pieces keep OpenBLAS on one
    thread, which on a busy two-core machine is several times faster than two.
    """
    check.positive("bins", bins, integer=True)
    check.positive("chunk", chunk, integer=True)
    hidden = [layer for layer in model.layers if isinstance(layer, Activation)]
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    if not hidden:
        raise ValueError("model has no activation layer; expected an MLP such as vn.mlp([64, 64, 10], 'tanh')")
    outputs: dict[int, list[np.ndarray]] = {id(layer): [] for layer in hidden}
    squares = dict.fromkeys(map(id, dense), 0.0)  # sum over the pieces of ||dL/dz||^2, per Dense layer
    grads = [np.zeros_like(layer.params["W"]) for layer in dense]

    def keep_output(layer: Any, x: np.ndarray, out: np.ndarray) -> None:
        if id(layer) in outputs:
            outputs[id(layer)].append(out)

    def keep_signal(layer: Any, dout: np.ndarray) -> None:
        if id(layer) in squares:
            squares[id(layer)] += float(np.sum(dout * dout))

    removers = [model.add_forward_hook(keep_output), model.add_backward_hook(keep_signal)]
    try:
        loss_fn = make_loss(loss)
        for start in range(0, len(X), chunk):
            rows = slice(start, start + chunk)
            loss_fn.forward(model.forward(X[rows]), y[rows])
            model.backward(loss_fn.backward() * (len(X[rows]) / len(X)))
            for total, layer in zip(grads, dense, strict=True):
                total += layer.grads["W"]
    finally:
        for remove in removers:
            remove()
    for total, layer in zip(grads, dense, strict=True):
        layer.grads["W"][...] = total
    name = hidden[0].name
    lo, hi = activation_range(hidden[0])
    outs = [np.concatenate(outputs[id(layer)]) for layer in hidden]
    saturated = [np.mean(a <= 0) if name == "relu" else saturated_fraction(name, a) for a in outs]
    return InitStatistics(
        activation=name, label=label, depth=len(hidden), width=dense[0].out_features, forward_gain=forward_gain,
        act_std=np.array([a.std() for a in outs]), act_mean=np.array([a.mean() for a in outs]),
        saturated=np.array(saturated, dtype=np.float64), hist_edges=np.linspace(lo, hi, bins + 1),
        act_hist=np.array([histogram(a, lo, hi, bins) / a.size for a in outs]),
        signal=np.sqrt([squares[id(layer)] for layer in dense]), grad_norm=gradient_norms(model),
    )


def init_statistics(activation: str = "tanh", init: str = "glorot_uniform", *, limit: float = 1.0,
                    depth: int = 10, width: int = 64, batch: int = 256, steps: int = 0, lr: float = 0.1,
                    rng: np.random.Generator, bins: int = 40) -> InitStatistics:
    """:func:`layer_profile` of a deep MLP on the digits, at initialisation or after ``steps`` SGD steps.

    The network maps the 64 standardized pixels through ``depth`` hidden layers of ``width`` units to 10
    logits (``vn.mlp``, initializer ``init``, with ``limit`` for ``"uniform"``), with the softmax
    cross-entropy; the first ``batch`` test images of :func:`vanishing.scenarios.digits_split` (seed 0) are
    measured. With ``steps > 0`` it first takes that many SGD steps (mini-batches of 32 training images,
    learning rate ``lr``) with :func:`vanishing.train.fit`. ``rng`` draws the weights, then the batches.

    Raises :class:`vanishing.train.DivergenceError` if training diverges, and ``ValueError`` if the
    measured activations or gradients overflow float64 (finite weights can still be that large).
    """
    check.choice("activation", activation, INIT_ACTIVATIONS)
    check.choice("init", init, INIT_SCHEMES)
    check.positive("depth", depth, integer=True)
    check.positive("width", width, integer=True)
    check.non_negative("steps", steps, integer=True)
    check.positive("lr", lr)
    check.rng("rng", rng)
    X_train, X_test, y_train, y_test = scenarios.digits_split(rng=np.random.default_rng(0))
    check.number("batch", batch, low=2, high=len(X_test), integer=True)
    options = {"limit": check.non_negative("limit", limit)} if init == "uniform" else {}
    model = mlp([X_train.shape[1]] + [width] * depth + [10], activation, rng=rng, init=init, init_options=options)
    if steps > 0:
        fit(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, batch_size=32, steps=steps, rng=rng)
    with np.errstate(over="ignore", invalid="ignore"):
        stats = layer_profile(model, X_test[:batch], y_test[:batch], label=init_label(init, limit),
                              forward_gain=variance_gain(init, width, width, limit), bins=bins)
    if not all(np.isfinite(v).all() for v in (stats.act_std, stats.signal, stats.grad_norm)):
        when = f"after {steps} SGD steps at learning rate {lr:g}" if steps else "at initialisation"
        raise ValueError(f"the activations or gradients overflowed float64 {when}; "
                         + ("try a smaller learning rate" if steps else "try a smaller init range or fewer layers"))
    return replace(stats, steps=int(steps), lr=float(lr) if steps else 0.0)


# --- the output loss: MSE keeps sigma'(z), cross-entropy cancels it --------------------------------------------------

OUTPUT_LOSSES = ("mse", "bce", "bce_logits")
"""Losses for a sigmoid output: MSE on σ(z), cross-entropy on σ(z) ("bce"), cross-entropy on z."""


@dataclass(frozen=True)
class OutputGradients:
    r"""dL/dz of one sigmoid output with target t, per example, for each loss (see :func:`output_gradients`).

    ``z`` ``(n,)`` and ``target``; ``sigma`` and ``sigma_prime`` at z; ``mse``
    :math:`(\sigma(z) - t)\,\sigma'(z)`; ``bce_logits`` :math:`\sigma(z) - t`; ``bce``, the same as
    ``bce_logits`` in exact arithmetic but 0 where :math:`\sigma(z)` was clipped to [1e-12, 1 − 1e-12].
    """

    z: np.ndarray
    target: float
    sigma: np.ndarray
    sigma_prime: np.ndarray
    mse: np.ndarray
    bce_logits: np.ndarray
    bce: np.ndarray

    def gradient(self, loss: str) -> np.ndarray:
        """dL/dz for a loss name."""
        return getattr(self, check.choice("loss", loss, OUTPUT_LOSSES))


def output_gradients(z: np.ndarray | None = None, target: float = 1.0) -> OutputGradients:
    """dL/dz of a sigmoid output under each of :data:`OUTPUT_LOSSES`, by the engine's losses and layers.

    Each z is one example; the losses average over the batch, so their gradients are multiplied back by
    the batch size. ``z`` is 1-D (default: 801 points from −12 to 12), ``target`` in [0, 1].
    """
    z = np.linspace(-12.0, 12.0, 801) if z is None else check.array("z", np.asarray(z, dtype=np.float64), ndim=1)
    check.probability("target", target)
    n = z.shape[0]
    t = np.full((n, 1), float(target))
    sig = make_activation("sigmoid")
    grads = {}
    for name in OUTPUT_LOSSES:
        loss = make_loss(name)
        if name == "bce_logits":
            loss.forward(z[:, None], t)
            grads[name] = loss.backward()[:, 0] * n
        else:
            loss.forward(sig.forward(z[:, None]), t)
            grads[name] = sig.backward(loss.backward())[:, 0] * n
    return OutputGradients(z=z, target=float(target), sigma=sig.fn(z), sigma_prime=sig.derivative(z), **grads)


@dataclass(frozen=True)
class OutputTraining:
    r"""One sigmoid unit trained from a saturated start (see :func:`output_unit_training`).

    ``loss_name, z_start, lr, steps, n``: the settings. ``loss`` ``(steps,)``: the training loss before each
    step. ``cross_entropy``, ``accuracy``, ``p_positive`` ``(steps + 1,)``: after 0, 1, ..., ``steps``
    updates, the mean cross-entropy of the predictions (the same yardstick for every loss), the fraction
    classified correctly (z > 0 predicts 1), and the mean :math:`\sigma(z)` over the examples whose target
    is 1. ``steps_to_learn``: the first number of updates after which at least 95 % are correct (None if
    never); ``final_accuracy``: the accuracy at the end.
    """

    loss_name: str
    z_start: float
    lr: float
    steps: int
    n: int
    loss: np.ndarray
    cross_entropy: np.ndarray
    accuracy: np.ndarray
    p_positive: np.ndarray
    steps_to_learn: int | None
    final_accuracy: float


def output_unit_training(loss: str = "mse", *, z_start: float = -8.0, lr: float = 1.0, steps: int = 200,
                         n: int = 200, rng: np.random.Generator) -> OutputTraining:
    r"""Train one sigmoid unit whose every output starts at :math:`z = z_\text{start}` (full-batch SGD).

    Data: :math:`x \sim N(0, I)` in 2-D (``n`` examples from ``rng``), target 1 where :math:`x_1 + x_2 > 0`.
    The unit starts with weights 0 and bias ``z_start``. ``loss``: ``"mse"`` (on :math:`\sigma(z)`),
    ``"bce"`` (cross-entropy on :math:`\sigma(z)`) or ``"bce_logits"`` (on z). A plain loop of the engine's
    layer, loss and optimizer: one unit needs none of :func:`vanishing.train.fit`'s bookkeeping.
    """
    check.choice("loss", loss, OUTPUT_LOSSES)
    check.number("z_start", z_start)
    check.positive("lr", lr)
    check.positive("steps", steps, integer=True)
    check.number("n", n, low=2, integer=True)
    check.rng("rng", rng)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float64)[:, None]
    dense = Dense(2, 1, rng=np.random.default_rng(0), init="uniform", limit=0.0, bias=z_start)
    model = Sequential([dense] if loss == "bce_logits" else [dense, make_activation("sigmoid")])
    loss_fn, optimizer = make_loss(loss), SGD(model, lr=lr)
    weights, biases, losses = np.empty((steps + 1, 2)), np.empty(steps + 1), np.empty(steps)
    for step in range(steps):
        weights[step], biases[step] = dense.params["W"][:, 0], dense.params["b"][0]
        losses[step] = loss_fn.forward(model.forward(X), y)
        model.backward(loss_fn.backward())
        optimizer.step()
    weights[steps], biases[steps] = dense.params["W"][:, 0], dense.params["b"][0]
    z = X @ weights.T + biases  # (n, steps + 1): every example's logit after 0, 1, ..., steps updates
    cross_entropy = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=0)
    accuracy = np.mean((z > 0) == (y > 0.5), axis=0)
    learned = np.flatnonzero(accuracy >= 0.95)
    return OutputTraining(loss_name=loss, z_start=float(z_start), lr=float(lr), steps=int(steps), n=int(n),
                          loss=losses, cross_entropy=cross_entropy, accuracy=accuracy,
                          p_positive=np.mean(make_activation("sigmoid").fn(z[y[:, 0] == 1]), axis=0),
                          steps_to_learn=int(learned[0]) if learned.size else None, final_accuracy=float(accuracy[-1]))


@dataclass(frozen=True)
class OutputComparison:
    """dL/dz curves and training runs of one sigmoid unit, for several losses (see :func:`output_loss_comparison`)."""

    gradients: OutputGradients
    runs: list[OutputTraining]


def output_loss_comparison(losses: tuple[str, ...] = OUTPUT_LOSSES, *, z_start: float = -8.0, lr: float = 1.0,
                           steps: int = 200, n: int = 200, rng: np.random.Generator) -> OutputComparison:
    """:func:`output_gradients` (target 1, over a z range that includes ``z_start``) and
    :func:`output_unit_training` for each loss, all on the same data.

    Every run draws its data from its own copy of ``rng``, so every loss sees the same examples (and
    ``rng`` itself is left as it was).
    """
    losses = tuple(losses)
    if not losses:
        raise ValueError("losses is empty; allowed: one or more of " + ", ".join(map(repr, OUTPUT_LOSSES)))
    for name in losses:
        check.choice("losses[i]", name, OUTPUT_LOSSES)
    check.number("z_start", z_start)
    check.rng("rng", rng)
    gradients = output_gradients(np.linspace(min(-12.0, z_start - 2.0), max(12.0, z_start + 2.0), 801))
    runs = [output_unit_training(name, z_start=z_start, lr=lr, steps=steps, n=n, rng=copy.deepcopy(rng))
            for name in losses]
    return OutputComparison(gradients=gradients, runs=runs)
