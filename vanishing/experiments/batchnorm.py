r"""Notebook 06 (batch normalization): the pieces its experiments and its widget share.

* :class:`RandomShift`: random noise after a BatchNorm, drawn afresh at every step
  (the "noisy BatchNorm" of Santurkar et al., 2018);
* :func:`batchnorm_mlp`: the notebook's MLPs, with BatchNorm nowhere, before or
  after every activation, and optional :class:`RandomShift` noise;
* :func:`batchnorm_training` and :class:`BatchNormRun`: one training run on the
  digits with every Dense layer's gradient norm per step (the widget ``batchnorm_flow``);
* :func:`train_mode_pass`: a classifier evaluated in training mode, batch by
  batch: the classic evaluation bug, with or without its side effect on the running statistics;
* :func:`batch_statistics`: how much the batch mean and variance of a set of
  values scatter over random batches, measured and from theory.

This module imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as check
from ..diagnostics import BackwardSignal, Probe, collect_activations
from ..layers import BatchNorm, Layer, Sequential
from ..losses import make_loss
from ..models import BATCHNORM_POSITIONS, dense_layers, mlp
from ..optim import SGD
from ..scenarios import digits_split
from ..train import evaluate, fit_or_diverge

__all__ = ["BATCHNORM_ACTIVATIONS", "BatchNormRun", "RandomShift", "batch_statistics", "batchnorm_mlp",
           "batchnorm_training", "train_mode_pass"]

NOTEBOOK = "06"

BATCHNORM_ACTIVATIONS = ("sigmoid", "tanh", "relu")
"""The hidden activations the experiments of this notebook build networks with."""

MAX_NOISE = 1.5
"""Largest :class:`RandomShift` level: scales stay in (0.25, 1.75), so no unit's sign flips."""


class RandomShift(Layer):
    r"""Noise after a BatchNorm: every unit is rescaled and shifted by random amounts drawn afresh at each forward.

    Training mode: :math:`y = s \odot x + m` with, per unit and per forward pass,
    :math:`s_j \sim U(1 - \nu/2,\, 1 + \nu/2)` and :math:`m_j \sim U(-\nu, \nu)`
    (:math:`\nu` = ``level``), the same for every example of the batch.
    Evaluation mode: the identity. Backward: :math:`dx = s \odot dout` (no
    parameters). The generator is kept as ``self.rng`` so that probes and
    gradient checks can freeze and restore it.

    Shapes: ``x`` (N, D); ``s``, ``m`` (D,).
    """

    def __init__(self, num_features: int, level: float, *, rng: np.random.Generator, dtype: Any = np.float64) -> None:
        super().__init__()
        self.num = check.positive("num_features", num_features, integer=True)
        self.level = float(check.number("level", level, low=0.0, high=MAX_NOISE))
        self.rng = check.rng("rng", rng)
        self.dtype = check.float_dtype("dtype", dtype)

    @property
    def in_features(self) -> int:
        return self.num

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, self.num)
        if not self.training:
            self.cache = {"scale": None}
            return x
        half = self.level / 2
        scale = self.rng.uniform(1.0 - half, 1.0 + half, self.num).astype(self.dtype)
        shift = self.rng.uniform(-self.level, self.level, self.num).astype(self.dtype)
        self.cache = {"scale": scale, "shift": shift}
        return x * scale + shift

    def backward(self, dout: np.ndarray) -> np.ndarray:
        scale = self.cache["scale"]
        return dout if scale is None else dout * scale

    def __repr__(self) -> str:
        return f"RandomShift({self.num}, level={self.level:g})"


def batchnorm_mlp(activation: str, batchnorm: str = "none", *, depth: int = 10, width: int = 32, noise: float = 0.0,
                  sizes: tuple[int, int] = (64, 10), rng: np.random.Generator,
                  noise_rng: np.random.Generator | None = None, bias: float = 0.0) -> Sequential:
    """An MLP ``sizes[0] -> depth x width -> sizes[1]`` with BatchNorm ``"none"``, ``"before"`` or ``"after"``.

    Glorot uniform weights for sigmoid and tanh, He uniform for ReLU; every
    hidden bias starts at ``bias``. With ``noise > 0`` a :class:`RandomShift`
    of that level follows every BatchNorm; its draws come from ``noise_rng``,
    so that the weights are the same as without noise.
    """
    check.choice("activation", activation, BATCHNORM_ACTIVATIONS)
    check.choice("batchnorm", batchnorm, BATCHNORM_POSITIONS)
    check.positive("depth", depth, integer=True)
    check.positive("width", width, integer=True)
    check.number("noise", noise, low=0.0, high=MAX_NOISE)
    init = "he_uniform" if activation == "relu" else "glorot_uniform"
    model = mlp([sizes[0], *[width] * depth, sizes[1]], activation, rng=rng, init=init, batchnorm=batchnorm,
                bias=bias)
    if noise == 0:
        return model
    if batchnorm == "none":
        raise ValueError(f"noise={noise!r} is added after every BatchNorm, but batchnorm='none' has none; "
                         "allowed: noise=0 with 'none', or batchnorm 'before' or 'after'")
    if noise_rng is None:
        raise TypeError("noise_rng=None: noise > 0 needs a numpy.random.Generator for the RandomShift layers")
    layers: list[Layer] = []
    for layer in model:
        layers.append(layer)
        if isinstance(layer, BatchNorm):
            layers.append(RandomShift(layer.num_features, noise, rng=noise_rng))
    return Sequential(layers)


@dataclass(frozen=True)
class BatchNormRun:
    r"""One training run of a deep MLP on the digits (see :func:`batchnorm_training`).

    Attributes
    ----------
    activation, batchnorm, noise, depth, width, batch_size, lr
        The settings.
    steps
        Updates done (fewer than asked if training diverged).
    layer_names
        ``"Dense 1"`` ... ``"Dense depth+1"`` (the last is the output layer).
    signal
        ``(steps, depth + 1)``: the backward signal :math:`\|\partial L/\partial z\|_2` at every
        Dense layer's output at every step (row 0: at initialisation, before any update).
    loss
        ``(steps,)``: the training loss of every mini-batch.
    test_accuracy
        Accuracy on the test images in evaluation mode after training (nan if it diverged).
    probe_steps
        ``(records,)``: updates done when the layer inputs were recorded (0 = before training).
    input_mean, input_std
        ``(records, depth, width)``: per unit, the mean and standard deviation of the
        input of Dense layers 2 .. depth+1 on the probe images, in training mode
        (empty when no probe was asked for).
    diverged, divergence
        True if the loss or a weight became non-finite (training stopped there), and the
        :class:`~vanishing.train.DivergenceError` message (None if it did not diverge).
    """

    activation: str
    batchnorm: str
    noise: float
    depth: int
    width: int
    batch_size: int
    lr: float
    steps: int
    layer_names: tuple[str, ...]
    signal: np.ndarray
    loss: np.ndarray
    test_accuracy: float
    probe_steps: np.ndarray
    input_mean: np.ndarray
    input_std: np.ndarray
    diverged: bool = False
    divergence: str | None = None

    @property
    def label(self) -> str:
        """``"sigmoid, BN before"``, ``"tanh, no BN"``, ``"sigmoid, BN before + noise 1"``."""
        text = f"{self.activation}, " + ("no BN" if self.batchnorm == "none" else f"BN {self.batchnorm}")
        return text + (f" + noise {self.noise:g}" if self.noise else "")

    @property
    def init_signal(self) -> np.ndarray:
        """The backward signal at every Dense layer at the first step (initialisation)."""
        return self.signal[0]

    @property
    def late_signal(self) -> np.ndarray:
        """Per Dense layer, the median backward signal over the second half of the steps."""
        return np.median(self.signal[self.signal.shape[0] // 2:], axis=0)


def _layer_inputs(probe_X: np.ndarray) -> Any:
    """A measure for :class:`~vanishing.diagnostics.Probe`: per unit, mean and std of Dense layers 2.. inputs."""
    def measure(model: Sequential) -> np.ndarray:
        acts = collect_activations(model, probe_X, train_mode=True)
        inputs = [acts[i].x for i, _ in dense_layers(model)[1:]]
        return np.array([[x.mean(axis=0), x.std(axis=0)] for x in inputs])  # (layers, 2, width)
    return measure


def batchnorm_training(activation: str = "sigmoid", batchnorm: str = "none", *, depth: int = 10, width: int = 32,
                       batch_size: int = 32, lr: float = 0.1, steps: int = 100, noise: float = 0.0,
                       probe: int = 128, probe_every: int = 10, rng: np.random.Generator,
                       live: Callable[..., Any] | None = None) -> BatchNormRun:
    r"""Train :func:`batchnorm_mlp` on the digits with plain SGD; record every Dense layer's backward signal.

    64 standardized pixels -> ``depth`` x ``width`` -> 10 logits, softmax
    cross-entropy, on the training images of
    :func:`vanishing.scenarios.digits_split` (``default_rng(0)``), ``steps``
    updates of ``batch_size`` examples. A
    :class:`~vanishing.diagnostics.BackwardSignal` recorder keeps
    :math:`\|\partial L/\partial z\|` at every Dense layer's output at every step. With
    ``probe > 0`` the first ``probe`` training images are run through the
    network (training mode) before training and every ``probe_every`` updates,
    to record the statistics of every hidden-to-hidden layer's input.
    Three generators spawned from ``rng`` (``rng.spawn(3)``) draw the weights,
    the batch order and the noise, so that the noise does not change the
    weights or the batches. A run whose loss or weights become non-finite
    stops there (``diverged``). ``live(steps, snapshot)``, if given, makes one
    more callback for :func:`~vanishing.train.fit` (the widget's live view);
    ``snapshot(state)`` returns the run so far.
    """
    check.choice("activation", activation, BATCHNORM_ACTIVATIONS)
    check.choice("batchnorm", batchnorm, BATCHNORM_POSITIONS)
    X_train, X_test, y_train, y_test = digits_split(rng=np.random.default_rng(0))
    check.number("probe", probe, low=0, high=len(X_train), integer=True)
    if probe == 1:
        raise ValueError("probe=1 is too small: a training-mode forward needs at least 2 images; allowed: 0 or 2+")
    check.rng("rng", rng)
    if batchnorm != "none":
        check.number("batch_size", batch_size, low=2, integer=True)  # a batch variance needs two examples
    weights_rng, order_rng, noise_rng = rng.spawn(3)
    model = batchnorm_mlp(activation, batchnorm, depth=depth, width=width, noise=noise, rng=weights_rng,
                          noise_rng=noise_rng)
    signal = BackwardSignal()
    inputs = Probe(_layer_inputs(X_train[:probe]), every=probe_every) if probe else None

    def result(losses: list[float], accuracy: float = math.nan, divergence: str | None = None) -> BatchNormRun:
        loss = np.asarray(losses, dtype=np.float64)
        records = np.array(inputs.values) if inputs is not None else np.empty((0, depth, 2, width))
        return BatchNormRun(activation=activation, batchnorm=batchnorm, noise=float(noise), depth=int(depth),
                            width=int(width), batch_size=int(batch_size), lr=float(lr), steps=len(loss),
                            layer_names=tuple(signal.layer_names), signal=signal.history[: len(loss)], loss=loss,
                            test_accuracy=accuracy,
                            probe_steps=np.array(inputs.steps if inputs is not None else [], dtype=np.int64),
                            input_mean=records[:, :, 0], input_std=records[:, :, 1],
                            diverged=divergence is not None, divergence=divergence)

    extra = [live(steps, lambda state: result(list(state.history.loss)))] if live is not None else []
    history = fit_or_diverge(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, batch_size=batch_size,
                             steps=steps, rng=order_rng, callbacks=[signal, *([inputs] if inputs else []), *extra])
    if history.diverged:
        return result(history.loss, divergence=history.divergence)
    return result(history.loss, float(evaluate(model, "softmax_ce", X_test, y_test).accuracy))


def train_mode_pass(model: Sequential, X: np.ndarray, y: np.ndarray, batch_size: int, *,
                    order: np.ndarray | None = None, update_running: bool = False,
                    watch: tuple[int, int] | None = None) -> tuple[float, float, np.ndarray, np.ndarray]:
    r"""Evaluate a classifier *in training mode*, batch by batch: the classic evaluation bug.

    Every BatchNorm normalises with the statistics of the evaluation batch
    instead of its running statistics. With ``update_running=False`` the model
    gets its running statistics back afterwards; with True they stay as the
    buggy loop leaves them. The mode of every layer is restored either way.

    Parameters
    ----------
    model
        A Sequential ending in logits (softmax cross-entropy).
    X, y
        Images (N, D) and labels (N,).
    batch_size
        Evaluation batch size (at least 2); a last batch of one example joins the one before.
    order
        ``(N,)``: the order in which the examples are batched (default: as given).
    watch
        ``(layer index of a BatchNorm, unit)``: record that unit's running mean
        after every batch, and the mean of its input in each batch.

    Returns
    -------
    accuracy, loss, running_means, batch_means
        ``running_means`` has one entry more than there are batches (the value
        before the first batch comes first); both arrays are empty without ``watch``.
    """
    check.number("batch_size", batch_size, low=2, high=len(X), integer=True)
    order = np.arange(len(X)) if order is None else np.asarray(order)
    starts = list(range(0, len(X), batch_size))
    if len(X) - starts[-1] == 1:
        starts.pop()
    bounds = zip(starts, [*starts[1:], len(X)], strict=True)
    watched: Layer | None = None
    if watch is not None:
        watched = model[watch[0]]
        if not isinstance(watched, BatchNorm):
            raise ValueError(f"watch={watch!r}: layer {watch[0]} is {watched!r}, not a BatchNorm")
    running = [] if watched is None else [float(watched.buffers["running_mean"][watch[1]])]
    batch_means: list[float] = []

    def hook(layer: Layer, x: np.ndarray, out: np.ndarray) -> None:
        if layer is watched:
            batch_means.append(float(x[:, watch[1]].mean()))
            running.append(float(layer.buffers["running_mean"][watch[1]]))

    loss = make_loss("softmax_ce")
    modes = [(layer, layer.training) for layer in (model, *model.leaves())]
    buffers = {name: value.copy() for name, value in model.buffers.items()}
    remove = model.add_forward_hook(hook)
    correct, total = 0, 0.0
    try:
        model.train()
        for start, stop in bounds:
            rows = order[start:stop]
            out = model.forward(X[rows])
            total += loss.forward(out, y[rows]) * len(rows)
            correct += int(np.count_nonzero(out.argmax(axis=1) == y[rows]))
    finally:
        remove()
        for layer, mode in modes:
            layer.training = mode
        if not update_running:
            for name, value in model.buffers.items():
                value[...] = buffers[name]
    return correct / len(X), total / len(X), np.array(running), np.array(batch_means)


def batch_statistics(values: np.ndarray, batch_sizes: Sequence[int], *, trials: int, examples: Sequence[int] = (),
                     rng: np.random.Generator, eps: float = 1e-5) -> dict[str, np.ndarray]:
    r"""Spread of the batch mean and (biased) batch variance of ``values`` over random batches of each size.

    Batches are drawn with replacement, so the theory is exact: for a batch of
    B values from a population with variance :math:`\sigma^2` and fourth central
    moment :math:`\mu_4`, :math:`\operatorname{sd}[\mu_B] = \sigma/\sqrt B` and
    :math:`\operatorname{Var}[\sigma_B^2] = \frac{(B-1)^2}{B^3}\mu_4 - \frac{(B-1)(B-3)}{B^3}\sigma^4`.

    Parameters
    ----------
    values
        ``(N,)``: the population (e.g. one unit's pre-activation on a data set).
    batch_sizes
        ``(K,)`` sizes, each at least 2.
    trials
        Batches drawn per size.
    examples
        Indices into ``values``: each is also placed into every batch (in place of
        its first member) and normalised with that batch's statistics.

    Returns
    -------
    dict
        ``"sigma"``: the population's standard deviation;
        ``"sd_mean"``, ``"theory_sd_mean"``, ``"sd_var"``, ``"theory_sd_var"``: ``(K,)``;
        ``"xhat"``: ``(len(examples), 3, K)``, the 10 %, 50 % and 90 % quantiles of each
        example's normalised value :math:`(x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`.
    """
    values = check.array("values", values, ndim=1)
    sizes = np.array([check.number("batch_sizes[i]", b, low=2, integer=True) for b in batch_sizes])
    check.positive("trials", trials, integer=True)
    check.rng("rng", rng)
    centred = values - values.mean()
    var, m4 = float(np.mean(centred ** 2)), float(np.mean(centred ** 4))
    out: dict[str, list[Any]] = {"sd_mean": [], "sd_var": [], "xhat": []}
    for b in sizes:
        batch = values[rng.integers(0, len(values), size=(trials, b))]
        total, squares = batch.sum(axis=1), np.square(batch).sum(axis=1)
        out["sd_mean"].append((total / b).std())
        out["sd_var"].append((squares / b - (total / b) ** 2).std())
        rest, rest_squares = total - batch[:, 0], squares - np.square(batch[:, 0])  # the batch without member 0
        quantiles = []
        for example in examples:
            x0 = values[example]
            mean_b = (rest + x0) / b
            var_b = np.maximum((rest_squares + x0 * x0) / b - mean_b ** 2, 0.0)
            quantiles.append(np.quantile((x0 - mean_b) / np.sqrt(var_b + eps), [0.1, 0.5, 0.9]))
        out["xhat"].append(np.reshape(quantiles, (len(examples), 3)))
    b = sizes.astype(np.float64)
    return {"sigma": np.sqrt(var), "sd_mean": np.array(out["sd_mean"]), "theory_sd_mean": np.sqrt(var / b),
            "sd_var": np.array(out["sd_var"]),
            "theory_sd_var": np.sqrt((b - 1) ** 2 / b ** 3 * m4 - (b - 1) * (b - 3) / b ** 3 * var ** 2),
            "xhat": np.moveaxis(np.array(out["xhat"]), 0, -1)}
