r"""Notebook 06 (batch normalization): forward, backward, train vs eval mode, and gradient flow in deep nets.

Batch normalization (Ioffe and Szegedy, 2015) standardises every unit over the
mini-batch and then rescales it with learned :math:`\gamma, \beta`:

.. math::

    \mu_B = \tfrac1N \sum_n x_n, \quad \sigma_B^2 = \tfrac1N \sum_n (x_n - \mu_B)^2, \quad
    \hat x_n = \frac{x_n - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \quad y_n = \gamma \hat x_n + \beta .

Its backward pass, with :math:`g = dout\cdot\gamma`, is
:math:`dx = \frac{1}{N}\,\text{inv\_std}\,(N g - \sum g - \hat x \sum g \hat x)`.

The experiments, each a function returning a small result object:

* :func:`batchnorm_backward_properties`, :func:`batchnorm_gradcheck`: what the
  backward formula implies (the gradient sums to 0 over the batch, is
  orthogonal to :math:`\hat x`, scales as 1/scale of the input; a bias straight
  before BatchNorm gets no gradient) and the finite-difference check of the
  engine's layer in both modes;
* :func:`batchnorm_training`, :func:`batchnorm_comparison`: deep sigmoid, tanh
  or ReLU MLPs on the digits with and without BatchNorm, with per-layer gradient
  norms (:class:`vanishing.diagnostics.GradientNorms`), loss curves and the
  statistics of every layer's input on a probe batch; optional
  :class:`RandomShift` noise after every BatchNorm (the experiment of Santurkar
  et al., 2018);
* :func:`relu_batchnorm_positions`: BatchNorm before or after ReLU, with the
  dead fraction of every ReLU layer (:class:`vanishing.diagnostics.DeadFraction`);
* :func:`batch_statistics_noise`: the spread of the batch mean and variance
  against the batch size, measured and from theory;
* :func:`batch_size_gap`: train-mode against eval-mode accuracy after training
  with small and large batches;
* :func:`eval_mode_bug`: what goes wrong when a network is evaluated in
  training mode (predictions depend on the batch, running statistics drift),
  and the fix, ``model.eval()``.

This module imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as check
from ..activations import ReLU
from ..diagnostics import DeadFraction, GradientNorms, collect_activations, preserved
from ..gradcheck import check_layer
from ..layers import BatchNorm, Dense, Layer, Sequential
from ..losses import make_loss
from ..models import BATCHNORM_POSITIONS, dense_layers, mlp
from ..optim import SGD
from ..scenarios import digits_split as _digits_split
from ..tables import text_table
from ..train import Callback, DivergenceError, StopAfter, TrainState, evaluate, fit

__all__ = [
    "BATCHNORM_ACTIVATIONS", "BackwardProperties", "BatchNormRun", "BatchSizeRun", "BatchStatistics", "EvalModeBug",
    "RandomShift", "ReluPositionRun", "batch_size_gap", "batch_size_table", "batch_statistics_noise",
    "batch_statistics_table", "batchnorm_backward_properties", "batchnorm_comparison", "batchnorm_gradcheck",
    "batchnorm_mlp", "batchnorm_table", "batchnorm_training", "covariate_shift_table", "eval_mode_bug",
    "eval_mode_table", "relu_batchnorm_positions", "relu_position_table", "train_mode_pass",
]

NOTEBOOK = "06"

BATCHNORM_ACTIVATIONS = ("sigmoid", "tanh", "relu")
"""The hidden activations the experiments of this notebook build networks with."""

MAX_NOISE = 1.5
"""Largest :class:`RandomShift` level: scales stay in (0.25, 1.75), shifts in (−1.5, 1.5)."""


def _init_for(activation: str) -> str:
    """Glorot for sigmoid and tanh, He for ReLU: the initialisations notebook 02 recommends for each."""
    return "he_uniform" if activation == "relu" else "glorot_uniform"


def _seeds(seed: int, count: int) -> list[np.random.Generator]:
    """Independent generators from one seed: weights, batch order and noise never share a stream."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


# --- 1. what the backward formula implies ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BackwardProperties:
    r"""Consequences of the BatchNorm backward formula, measured on random inputs (train mode).

    Attributes
    ----------
    n, d
        Batch size and number of features.
    dx_norm
        :math:`\|dx\|`, the size against which the sums below are small.
    sum_dx
        :math:`\max_j |\sum_n dx_{nj}|`: the gradient has no component that would
        shift the batch mean (0 up to rounding).
    sum_dx_xhat
        :math:`\max_j |\sum_n dx_{nj}\hat x_{nj}|`: nor one that would stretch the
        batch about its mean (0 up to rounding).
    constant_dout_dx
        :math:`\max |dx|` when ``dout`` is the same for every example: a uniform
        push on the outputs is absorbed by :math:`\beta` and passes nothing back.
    scale, shift
        The input is transformed as ``scale * x + shift`` below.
    output_change
        :math:`\max |BN(\text{scale}\,x + \text{shift}) - BN(x)|`: the output does
        not see the transformation (up to the :math:`\epsilon` in the square root).
    dx_scale_ratio
        :math:`\text{scale}\cdot\|dx(\text{scale}\,x)\| / \|dx(x)\|`: 1 when the input
        gradient shrinks exactly as 1/scale.
    bias_grad, weight_grad
        :math:`\|db\|` and :math:`\|dW\|` of a Dense layer straight before a
        BatchNorm: the bias is cancelled by the mean subtraction, so its gradient is 0
        up to rounding, while the weights get an ordinary gradient.
    """

    n: int
    d: int
    dx_norm: float
    sum_dx: float
    sum_dx_xhat: float
    constant_dout_dx: float
    scale: float
    shift: float
    output_change: float
    dx_scale_ratio: float
    bias_grad: float
    weight_grad: float


def _random_batchnorm(d: int, rng: np.random.Generator) -> BatchNorm:
    bn = BatchNorm(d)
    bn.params["gamma"][:] = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    bn.params["beta"][:] = rng.normal(0.0, 1.0, d)
    return bn


def batchnorm_backward_properties(n: int = 8, d: int = 4, *, scale: float = 10.0, shift: float = 5.0,
                                  rng: np.random.Generator) -> BackwardProperties:
    r"""Measure what :math:`dx = \frac{1}{N}\text{inv\_std}(Ng - \sum g - \hat x \sum g\hat x)` implies.

    Summing the formula over the batch gives :math:`\sum_n dx_n = 0` (because
    :math:`\sum_n \hat x_n = 0`), and multiplying by :math:`\hat x_n` first gives
    :math:`\sum_n dx_n \hat x_n = 0` (because :math:`\sum_n \hat x_n^2 = N`, up to
    :math:`\epsilon`). The layer's output is unchanged by ``x -> scale * x + shift``,
    so its input gradient must shrink by ``1/scale``.

    Parameters
    ----------
    n, d
        Batch size (at least 2) and number of features.
    scale, shift
        The affine change of the input tested for invariance (scale > 0).
    rng
        Draws the inputs, the upstream gradient and :math:`\gamma, \beta`.
    """
    check.number("n", n, low=2, high=100_000, integer=True)
    check.positive("d", d, integer=True)
    check.positive("scale", scale)
    check.number("shift", shift)
    check.rng("rng", rng)
    # features on very different scales and offsets, as pre-activations are
    x = rng.normal(0.0, 1.0, (n, d)) * rng.uniform(0.5, 3.0, d) + rng.normal(0.0, 2.0, d)
    dout = rng.normal(0.0, 1.0, (n, d))
    bn = _random_batchnorm(d, rng)
    out = bn.forward(x)
    dx = bn.backward(dout)
    x_hat = bn.cache["x_hat"]
    bn.forward(x)
    dx_constant = bn.backward(np.ones((n, 1)) * rng.normal(0.0, 1.0, d))
    out_moved = bn.forward(scale * x + shift)
    dx_moved = bn.backward(dout)
    # a Dense layer straight before the BatchNorm: its bias is subtracted away with the batch mean
    pair = Sequential([Dense(3, d, rng=rng, bias=0.5), BatchNorm(d)])
    pair.forward(rng.normal(0.0, 1.0, (n, 3)))
    pair.backward(dout)
    return BackwardProperties(
        n=int(n), d=int(d), dx_norm=float(np.linalg.norm(dx)), sum_dx=float(np.abs(dx.sum(axis=0)).max()),
        sum_dx_xhat=float(np.abs((dx * x_hat).sum(axis=0)).max()),
        constant_dout_dx=float(np.abs(dx_constant).max()), scale=float(scale), shift=float(shift),
        output_change=float(np.abs(out_moved - out).max()),
        dx_scale_ratio=float(scale * np.linalg.norm(dx_moved) / np.linalg.norm(dx)),
        bias_grad=float(np.linalg.norm(pair[0].grads["b"])), weight_grad=float(np.linalg.norm(pair[0].grads["W"])))


def batchnorm_gradcheck(n: int = 6, d: int = 4, *, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    r"""Relative errors of the engine's BatchNorm backward against centred finite differences, in both modes.

    Training mode: batch statistics, so every output depends on every input of
    its feature. Evaluation mode: the running statistics (set here by a few
    training-mode forwards on other batches) are constants, and the layer is the
    affine map :math:`\gamma (x - \text{running\_mean})/\sqrt{\text{running\_var} + \epsilon} + \beta`.
    Uses :func:`vanishing.gradcheck.check_layer` (float64, h = 1e-6).

    Returns ``{"train": {"x": err, "gamma": err, "beta": err}, "eval": {...}}``.
    """
    check.number("n", n, low=2, high=1000, integer=True)
    check.number("d", d, low=1, high=100, integer=True)
    check.rng("rng", rng)
    x = rng.normal(0.0, 1.0, (n, d)) * rng.uniform(0.5, 3.0, d) + rng.normal(0.0, 2.0, d)
    train_bn = _random_batchnorm(d, rng)
    errors = {"train": check_layer(train_bn, x, rng=rng)}
    eval_bn = _random_batchnorm(d, rng)
    for _ in range(3):
        eval_bn.forward(rng.normal(1.0, 2.0, (n, d)))
    eval_bn.eval()
    errors["eval"] = check_layer(eval_bn, x, rng=rng)
    return errors


# --- 3. deep networks with and without BatchNorm --------------------------------------------------------------------

class RandomShift(Layer):
    r"""Noise after a BatchNorm: every unit is rescaled and shifted by random amounts drawn afresh at each forward.

    Training mode: :math:`y = s \odot x + m` with, per unit and per forward pass,
    :math:`s_j \sim U(1 - \nu/2,\, 1 + \nu/2)` and :math:`m_j \sim U(-\nu, \nu)`,
    the same for every example of the batch: the distribution of the next
    layer's input moves at every step, by an amount the network cannot learn to
    undo. This is the "noisy BatchNorm" of Santurkar et al. (2018), here with
    uniform noise. Evaluation mode: the identity.

    Backward: :math:`dx = s \odot dout` (no parameters). The generator is kept as
    ``self.rng`` so that probes and gradient checks can freeze and restore it.

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

    Glorot uniform weights for sigmoid and tanh, He uniform for ReLU. With
    ``noise > 0`` a :class:`RandomShift` of that level follows every BatchNorm
    (it needs ``batchnorm`` "before" or "after"); its draws come from
    ``noise_rng``, so that the weights are the same as without noise.
    """
    check.choice("activation", activation, BATCHNORM_ACTIVATIONS)
    check.choice("batchnorm", batchnorm, BATCHNORM_POSITIONS)
    check.number("depth", depth, low=1, high=50, integer=True)
    check.number("width", width, low=1, high=1024, integer=True)
    check.number("noise", noise, low=0.0, high=MAX_NOISE)
    model = mlp([sizes[0], *[width] * depth, sizes[1]], activation, rng=rng, init=_init_for(activation),
                batchnorm=batchnorm, bias=bias)
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


class _LayerInputs(Callback):
    """Per-unit mean and standard deviation of every hidden-to-hidden Dense layer's input, on a probe batch.

    Recorded before training and after every ``every``-th update, with a
    training-mode forward (batch statistics, fresh noise draws), which leaves
    the model exactly as it was (:func:`vanishing.diagnostics.collect_activations`).
    """

    def __init__(self, probe_X: np.ndarray, every: int) -> None:
        self.probe_X = probe_X
        self.every = every
        self.steps: list[int] = []
        self.means: list[np.ndarray] = []
        self.stds: list[np.ndarray] = []

    def _record(self, model: Sequential, step: int) -> None:
        acts = collect_activations(model, self.probe_X, train_mode=True)
        inputs = [acts[i].x for i, _ in dense_layers(model)[1:]]
        self.steps.append(step)
        self.means.append(np.array([x.mean(axis=0) for x in inputs]))
        self.stds.append(np.array([x.std(axis=0) for x in inputs]))

    def on_train_begin(self, state: TrainState) -> None:
        self._record(state.model, 0)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._record(state.model, state.step)


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
    grad_norms
        ``(steps, depth + 1)``: :math:`\|\partial L/\partial W\|_2` of every Dense
        layer at every step (row 0: at initialisation, before any update).
    loss
        ``(steps,)``: the training loss of every mini-batch.
    test_accuracy
        Accuracy on the 449 test images in evaluation mode after training.
    probe_steps
        ``(records,)``: updates done when the layer inputs were recorded (0 = before training).
    input_mean, input_std
        ``(records, depth, width)``: per unit, the mean and standard deviation of the
        input of Dense layers 2 .. depth+1 (the outputs of the hidden blocks) on the
        probe images, in training mode. Empty when no probe was asked for.
    diverged
        True if the loss or a weight became non-finite (training stopped there).
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
    grad_norms: np.ndarray
    loss: np.ndarray
    test_accuracy: float
    probe_steps: np.ndarray
    input_mean: np.ndarray
    input_std: np.ndarray
    diverged: bool = False

    @property
    def label(self) -> str:
        """``"sigmoid, BN before"``, ``"tanh, no BN"``, ``"sigmoid, BN before + noise 1"``."""
        text = f"{self.activation}, " + ("no BN" if self.batchnorm == "none" else f"BN {self.batchnorm}")
        return text + (f" + noise {self.noise:g}" if self.noise else "")

    @property
    def init_norms(self) -> np.ndarray:
        """Gradient norm of every Dense layer at the first step (initialisation)."""
        return self.grad_norms[0]

    @property
    def late_norms(self) -> np.ndarray:
        """Per Dense layer, the median gradient norm over the second half of the steps."""
        return np.median(self.grad_norms[self.grad_norms.shape[0] // 2:], axis=0)

    def ratio(self, when: str = "init") -> float:
        """First Dense layer's gradient norm over the output layer's, at ``"init"`` or ``"late"``."""
        norms = check.lookup("when", when, {"init": self.init_norms, "late": self.late_norms})
        return float(norms[0] / norms[-1]) if norms[-1] > 0 else math.nan

    def mean_loss(self, part: str = "last", count: int = 10) -> float:
        """Mean loss of the ``"first"`` or ``"last"`` ``count`` steps."""
        check.choice("part", part, ("first", "last"))
        window = self.loss[:count] if part == "first" else self.loss[-count:]
        return float(np.mean(window))

    @property
    def drift(self) -> np.ndarray:
        r"""``(records - 1,)``: between consecutive records, the mean over units and layers of
        :math:`|\Delta \text{input\_mean}|`: how far the input distributions moved."""
        if self.input_mean.shape[0] < 2:
            return np.empty(0)
        return np.abs(np.diff(self.input_mean, axis=0)).mean(axis=(1, 2))


def batchnorm_training(activation: str = "sigmoid", batchnorm: str = "none", *, depth: int = 10, width: int = 32,
                       batch_size: int = 32, lr: float = 0.1, steps: int = 100, noise: float = 0.0,
                       probe: int = 128, probe_every: int = 10, seed: int = 0) -> BatchNormRun:
    r"""Train a deep MLP on the digits with plain SGD and record how the gradient flows through it.

    The network: 64 pixels (standardized) -> ``depth`` hidden layers of ``width``
    units -> 10 logits, softmax cross-entropy, BatchNorm ``"none"``, ``"before"``
    (Dense -> BatchNorm -> activation) or ``"after"`` (Dense -> activation ->
    BatchNorm) every hidden activation, optionally with :class:`RandomShift`
    noise after every BatchNorm. Trained on the 1348 training images for
    ``steps`` updates with :func:`vanishing.train.fit`; a
    :class:`vanishing.diagnostics.GradientNorms` recorder keeps every Dense
    layer's weight-gradient norm at every step.

    Parameters
    ----------
    activation
        ``"sigmoid"``, ``"tanh"`` or ``"relu"``.
    batchnorm
        ``"none"``, ``"before"`` or ``"after"``.
    depth, width
        Hidden layers (1-30) and units per hidden layer (4-128).
    batch_size, lr, steps
        Examples per step (2-1348), SGD learning rate ((0, 100]), updates (1-2000).
    noise
        :class:`RandomShift` level after every BatchNorm (0 = none; at most 1.5).
    probe, probe_every
        The first ``probe`` training images (0 = do not record) are run through the
        network every ``probe_every`` updates to record each layer's input statistics.
    seed
        Seeds the weights, the order of the examples and the noise (three separate streams).
    """
    check.choice("activation", activation, BATCHNORM_ACTIVATIONS)
    check.choice("batchnorm", batchnorm, BATCHNORM_POSITIONS)
    check.number("depth", depth, low=1, high=30, integer=True)
    check.number("width", width, low=4, high=128, integer=True)
    X_train, X_test, y_train, y_test = _digits_split(rng=np.random.default_rng(0))
    check.number("batch_size", batch_size, low=2, high=len(X_train), integer=True)
    check.number("lr", lr, low=0, high=100, low_open=True)
    check.number("steps", steps, low=1, high=2000, integer=True)
    check.number("noise", noise, low=0.0, high=MAX_NOISE)
    check.number("probe", probe, low=0, high=len(X_train), integer=True)
    if probe == 1:
        raise ValueError("probe=1 is too small: a training-mode forward needs at least 2 images; allowed: 0 or 2+")
    check.positive("probe_every", probe_every, integer=True)
    check.non_negative("seed", seed, integer=True)
    weights_rng, order_rng, noise_rng = _seeds(seed, 3)
    model = batchnorm_mlp(activation, batchnorm, depth=depth, width=width, noise=noise, rng=weights_rng,
                          noise_rng=noise_rng)
    norms = GradientNorms()
    callbacks: list[Callback] = [norms, StopAfter(steps)]
    inputs = _LayerInputs(X_train[:probe], probe_every) if probe else None
    if inputs is not None:
        callbacks.append(inputs)
    epochs = math.ceil(steps * batch_size / len(X_train)) + 1
    diverged = False
    try:
        history = fit(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, epochs=epochs, batch_size=batch_size,
                      rng=order_rng, callbacks=callbacks)
    except DivergenceError as error:
        history, diverged = error.history, True
    loss = np.asarray(history.loss, dtype=np.float64)
    grad_norms = norms.history[: len(loss)]
    accuracy = evaluate(model, "softmax_ce", X_test, y_test).accuracy if not diverged else math.nan
    width_shape = (0, depth, width)
    means = np.array(inputs.means) if inputs is not None and inputs.means else np.empty(width_shape)
    stds = np.array(inputs.stds) if inputs is not None and inputs.stds else np.empty(width_shape)
    probe_steps = np.array(inputs.steps if inputs is not None else [], dtype=np.int64)
    return BatchNormRun(activation=activation, batchnorm=batchnorm, noise=float(noise), depth=int(depth),
                        width=int(width), batch_size=int(batch_size), lr=float(lr), steps=len(loss),
                        layer_names=tuple(norms.layer_names), grad_norms=grad_norms, loss=loss,
                        test_accuracy=float(accuracy), probe_steps=probe_steps, input_mean=means,
                        input_std=stds, diverged=diverged)


def batchnorm_comparison(activations: Sequence[str] = ("sigmoid", "tanh"),
                         positions: Sequence[str] = ("none", "before"), **options: Any) -> dict[str, BatchNormRun]:
    """:func:`batchnorm_training` for every (activation, position) pair, same seed; keyed by the run's label."""
    runs = {}
    for activation in activations:
        for position in positions:
            run = batchnorm_training(activation, position, **options)
            runs[run.label] = run
    return runs


def batchnorm_table(runs: Mapping[str, BatchNormRun]) -> str:
    """Runs of :func:`batchnorm_training` as a text table: gradient ratios, losses, test accuracy."""
    rows = []
    for label, r in runs.items():
        rows.append([label, f"{r.ratio('init'):.2g}", f"{r.ratio('late'):.2g}",
                     f"{r.mean_loss('first'):.2f} -> {r.mean_loss('last'):.2f}",
                     "diverged" if r.diverged else f"{r.test_accuracy:.0%}"])
    header = ["network", "|dW first| / |dW out|, step 1", "late (median)", "loss, first -> last 10 steps",
              "test accuracy"]
    return text_table(header, rows)


def covariate_shift_table(runs: Mapping[str, BatchNormRun]) -> str:
    """How far the layer inputs moved per record, against how well each run trained."""
    rows = []
    for label, r in runs.items():
        drift = r.drift
        rows.append([label, f"{np.median(drift):.3f}" if drift.size else "-",
                     f"{r.mean_loss('first'):.2f} -> {r.mean_loss('last'):.2f}",
                     "diverged" if r.diverged else f"{r.test_accuracy:.0%}"])
    every = next(iter(runs.values())).probe_steps
    gap = int(every[1] - every[0]) if every.size > 1 else 0
    header = ["network", f"input-mean change per {gap} steps (median)", "loss, first -> last 10 steps",
              "test accuracy"]
    return text_table(header, rows)


# --- 4. before or after the ReLU --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReluPositionRun:
    """A ReLU MLP trained with BatchNorm at one position (see :func:`relu_batchnorm_positions`).

    Attributes
    ----------
    batchnorm, bias, lr, depth, width, steps
        The settings (``bias`` is the initial value of every hidden bias).
    record_steps
        ``(records,)``: updates done at each record (0 = before training).
    dead
        ``(records, depth)``: fraction of dead units of each ReLU layer on the probe
        images (output 0 for every probe image; a training-mode forward).
    inactive
        ``(2, depth)``: fraction of each ReLU layer's outputs (probe images x units) that
        are exactly 0, before and after training: a unit can be alive on the probe
        (non-zero for some image) and still be off for almost every image.
    loss
        ``(steps,)``: training loss of every step.
    test_accuracy
        Accuracy on the test images (evaluation mode) after training.
    """

    batchnorm: str
    bias: float
    lr: float
    depth: int
    width: int
    steps: int
    record_steps: np.ndarray
    dead: np.ndarray
    inactive: np.ndarray
    loss: np.ndarray
    test_accuracy: float
    diverged: bool = False


def _inactive(model: Sequential, X: np.ndarray) -> np.ndarray:
    """Per ReLU layer, the fraction of its outputs on X (training-mode forward) that are exactly 0."""
    acts = collect_activations(model, X, train_mode=True)
    return np.array([float(np.mean(a.out == 0)) for a in acts if isinstance(a.layer, ReLU)])


def relu_batchnorm_positions(positions: Sequence[str] = BATCHNORM_POSITIONS, *, bias: float = 0.0, lr: float = 0.1,
                             depth: int = 4, width: int = 32, batch_size: int = 32, steps: int = 100,
                             every: int = 10, probe: int = 128, seed: int = 0) -> dict[str, ReluPositionRun]:
    r"""A ReLU MLP on the digits with BatchNorm nowhere, before or after every ReLU; dead units per layer.

    Every run starts from the same weights (He uniform) and sees the same
    batches. A :class:`vanishing.diagnostics.DeadFraction` recorder runs the first
    ``probe`` training images through the network (training mode) before
    training and every ``every`` updates.

    With a negative ``bias`` every hidden unit starts with :math:`XW + b` shifted
    down: with ``bias=-3`` most units of the plain network output 0 for every
    image. Before the ReLU, BatchNorm subtracts the batch mean, bias included, so
    the ReLU sees a zero-centred input whatever ``b`` is; after the ReLU it comes
    too late.

    Parameters
    ----------
    positions
        Any of ``"none"``, ``"before"``, ``"after"``.
    bias, lr
        Initial hidden bias, SGD learning rate.
    depth, width, batch_size, steps
        Network and training sizes.
    every, probe, seed
        Record interval, number of probe images, seed of the weights and the batch order.
    """
    positions = tuple(positions)
    if not positions:
        raise ValueError("positions is empty; allowed: one or more of " + ", ".join(map(repr, BATCHNORM_POSITIONS)))
    for position in positions:
        check.choice("positions[i]", position, BATCHNORM_POSITIONS)
    check.number("bias", bias, low=-100, high=100)
    check.number("lr", lr, low=0, high=100, low_open=True)
    check.number("steps", steps, low=1, high=2000, integer=True)
    check.positive("every", every, integer=True)
    check.non_negative("seed", seed, integer=True)
    X_train, X_test, y_train, y_test = _digits_split(rng=np.random.default_rng(0))
    check.number("probe", probe, low=2, high=len(X_train), integer=True)
    check.number("batch_size", batch_size, low=2, high=len(X_train), integer=True)
    runs = {}
    for position in positions:
        weights_rng, order_rng = _seeds(seed, 2)
        model = batchnorm_mlp("relu", position, depth=depth, width=width, rng=weights_rng, bias=bias)
        dead = DeadFraction(X_train[:probe], every=every)
        inactive_start = _inactive(model, X_train[:probe])
        epochs = math.ceil(steps * batch_size / len(X_train)) + 1
        diverged = False
        try:
            history = fit(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, epochs=epochs,
                          batch_size=batch_size, rng=order_rng, callbacks=[dead, StopAfter(steps)])
        except DivergenceError as error:
            history, diverged = error.history, True
        accuracy = math.nan if diverged else evaluate(model, "softmax_ce", X_test, y_test).accuracy
        runs[position] = ReluPositionRun(batchnorm=position, bias=float(bias), lr=float(lr), depth=int(depth),
                                         width=int(width), steps=len(history.loss),
                                         record_steps=np.asarray(dead.steps), dead=dead.history,
                                         inactive=np.array([inactive_start, _inactive(model, X_train[:probe])]),
                                         loss=np.asarray(history.loss), test_accuracy=float(accuracy),
                                         diverged=diverged)
    return runs


def relu_position_table(runs: Mapping[str, ReluPositionRun]) -> str:
    """:func:`relu_batchnorm_positions` as a text table: dead fraction per layer at the start and the end."""
    rows = []
    for position, r in runs.items():
        start = " ".join(f"{f:.2f}" for f in r.dead[0])
        end = " ".join(f"{f:.2f}" for f in r.dead[-1])
        off = f"{r.inactive[0].mean():.0%} -> {r.inactive[1].mean():.0%}"
        rows.append([position, start, end, off, f"{np.mean(r.loss[:10]):.2f} -> {np.mean(r.loss[-10:]):.2f}",
                     "diverged" if r.diverged else f"{r.test_accuracy:.0%}"])
    header = ["batchnorm", "dead units per layer, start", "end", "outputs at 0", "loss, first -> last 10 steps",
              "test accuracy"]
    return text_table(header, rows)


# --- 5. batch size ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchStatistics:
    r"""How noisy the batch mean and variance of one unit are, for several batch sizes.

    The population is the pre-activation of one unit of a first Dense layer
    (64 -> 32, Glorot uniform, at initialisation) on the 1348 training images.

    Attributes
    ----------
    batch_sizes
        ``(K,)``.
    trials
        Batches drawn per size (with replacement, so that the theory is exact).
    population_mean, population_var
        :math:`\mu` and :math:`\sigma^2` of the population.
    sd_mean, theory_sd_mean
        ``(K,)``: standard deviation of the batch mean over the trials, and :math:`\sigma/\sqrt B`.
    sd_var, theory_sd_var
        ``(K,)``: standard deviation of the (biased) batch variance, and
        :math:`\sqrt{(B-1)^2\mu_4/B^3 - (B-1)(B-3)\sigma^4/B^3}` with :math:`\mu_4` the
        population's fourth central moment.
    example_xhat_population
        ``(2,)``: :math:`(x_0 - \mu)/\sigma` of two examples: a typical one (the image
        whose value is closest to :math:`\mu + \sigma`) and the most extreme one (the
        largest value).
    example_xhat
        ``(2, 3, K)``: for each of the two, the 10 %, 50 % and 90 % quantiles of its
        normalised value :math:`\hat x_0` when it is normalised with the statistics
        of a batch made of it and B - 1 other random images (:math:`\epsilon = 10^{-5}`).
        In a batch of B, :math:`|\hat x| \le \sqrt{B - 1}`.
    """

    batch_sizes: np.ndarray
    trials: int
    population_mean: float
    population_var: float
    sd_mean: np.ndarray
    theory_sd_mean: np.ndarray
    sd_var: np.ndarray
    theory_sd_var: np.ndarray
    example_xhat_population: np.ndarray
    example_xhat: np.ndarray


def batch_statistics_noise(batch_sizes: Sequence[int] = (2, 4, 8, 16, 32, 64, 128, 256), *, trials: int = 2000,
                           unit: int = 0, rng: np.random.Generator) -> BatchStatistics:
    r"""Measure the spread of the batch mean and variance of a real pre-activation, against theory.

    For a batch of B values drawn independently from a population with mean
    :math:`\mu`, variance :math:`\sigma^2` and fourth central moment :math:`\mu_4`:
    :math:`\operatorname{sd}[\mu_B] = \sigma/\sqrt B` and, for the biased variance
    :math:`\sigma_B^2 = \frac1B\sum (x - \mu_B)^2` that BatchNorm divides by,
    :math:`\operatorname{Var}[\sigma_B^2] = \frac{(B-1)^2}{B^3}\mu_4 - \frac{(B-1)(B-3)}{B^3}\sigma^4`.

    Parameters
    ----------
    batch_sizes
        Sizes to try (each at least 2).
    trials
        Batches per size (10 - 100,000).
    unit
        Which of the 32 units of the first layer (0 - 31).
    rng
        Draws the layer's weights, then the batches.
    """
    sizes = np.array([check.number("batch_sizes[i]", b, low=2, high=100_000, integer=True) for b in batch_sizes])
    if sizes.size == 0:
        raise ValueError("batch_sizes is empty; give one or more sizes of at least 2")
    check.number("trials", trials, low=10, high=100_000, integer=True)
    check.number("unit", unit, low=0, high=31, integer=True)
    check.rng("rng", rng)
    X_train = _digits_split(rng=np.random.default_rng(0))[0]
    layer = Dense(64, 32, rng=rng)
    values = layer.forward(np.ascontiguousarray(X_train))[:, unit]
    mu = float(values.mean())
    centred = values - mu
    var = float(np.mean(centred ** 2))
    m4 = float(np.mean(centred ** 4))
    examples = [int(np.argmin(np.abs(centred - np.sqrt(var)))), int(np.argmax(values))]
    sd_mean, sd_var = [], []
    xhat = np.empty((2, 3, len(sizes)))
    for k, b in enumerate(sizes):
        batch = values[rng.integers(0, len(values), size=(trials, b))]
        total, squares = batch.sum(axis=1), np.square(batch).sum(axis=1)
        batch_mean = total / b
        sd_mean.append(batch_mean.std())
        sd_var.append((squares / b - batch_mean ** 2).std())
        # the example in place of each batch's first member: the batch statistics from running sums
        rest, rest_squares = total - batch[:, 0], squares - np.square(batch[:, 0])
        for e, example in enumerate(examples):
            x0 = values[example]
            mean_b = (rest + x0) / b
            var_b = np.maximum((rest_squares + x0 * x0) / b - mean_b ** 2, 0.0)
            xhat[e, :, k] = np.quantile((x0 - mean_b) / np.sqrt(var_b + 1e-5), [0.1, 0.5, 0.9])
    b = sizes.astype(np.float64)
    theory_var = np.sqrt((b - 1) ** 2 / b ** 3 * m4 - (b - 1) * (b - 3) / b ** 3 * var ** 2)
    return BatchStatistics(batch_sizes=sizes, trials=int(trials), population_mean=mu, population_var=var,
                           sd_mean=np.array(sd_mean), theory_sd_mean=np.sqrt(var / b), sd_var=np.array(sd_var),
                           theory_sd_var=theory_var,
                           example_xhat_population=np.array([(values[e] - mu) / np.sqrt(var) for e in examples]),
                           example_xhat=xhat)


def batch_statistics_table(stats: BatchStatistics) -> str:
    """:func:`batch_statistics_noise` as a text table, relative to the population values."""
    rows = []
    for i, b in enumerate(stats.batch_sizes):
        rows.append([f"{b}", f"{stats.sd_mean[i] / np.sqrt(stats.population_var):.3f}",
                     f"{stats.theory_sd_mean[i] / np.sqrt(stats.population_var):.3f}",
                     f"{stats.sd_var[i] / stats.population_var:.3f}",
                     f"{stats.theory_sd_var[i] / stats.population_var:.3f}",
                     *[f"{stats.example_xhat[e, 0, i]:.2f} .. {stats.example_xhat[e, 2, i]:.2f}" for e in (0, 1)]])
    typical, extreme = stats.example_xhat_population
    header = ["batch", "sd(batch mean) / σ", "theory", "sd(batch var) / σ²", "theory",
              f"x̂ of a typical image ({typical:.2f}), 10-90 %", f"of the extreme one ({extreme:.2f})"]
    return text_table(header, rows)


def train_mode_pass(model: Sequential, X: np.ndarray, y: np.ndarray, batch_size: int, *,
                    order: np.ndarray | None = None, update_running: bool = False,
                    watch: tuple[int, int] | None = None) -> tuple[float, float, np.ndarray, np.ndarray]:
    r"""Evaluate a classifier *in training mode*, batch by batch: the classic evaluation bug.

    Every BatchNorm normalises with the statistics of the evaluation batch
    instead of its running statistics. With ``update_running=False`` the model
    is restored afterwards (:func:`vanishing.diagnostics.preserved`); with True
    the running statistics are left as the buggy loop leaves them.

    Parameters
    ----------
    model
        A Sequential ending in logits (softmax cross-entropy).
    X, y
        Images (N, 64) and labels (N,).
    batch_size
        Evaluation batch size; a last batch of one example is joined to the one before.
    order
        The order in which examples are batched (default: as given).
    watch
        ``(layer index of a BatchNorm, unit)``: record that unit's running mean
        after every batch and the mean of its input in each batch.

    Returns
    -------
    accuracy, loss, running_means, batch_means
        ``running_means`` has one entry more than there are batches (the value
        before the first batch comes first); both are empty without ``watch``.
    """
    check.number("batch_size", batch_size, low=2, high=len(X), integer=True)
    order = np.arange(len(X)) if order is None else np.asarray(order)
    loss = make_loss("softmax_ce")
    starts = list(range(0, len(X), batch_size))
    if len(X) - starts[-1] == 1:
        starts.pop()
    bounds = [(s, starts[i + 1] if i + 1 < len(starts) else len(X)) for i, s in enumerate(starts)]
    running, batch_means = [], []
    seen: dict[str, np.ndarray] = {}
    remove = None
    if watch is not None:
        index, unit = watch
        if not isinstance(model[index], BatchNorm):
            raise ValueError(f"watch={watch!r}: layer {index} is {model[index]!r}, not a BatchNorm")

        def hook(layer: Layer, x: np.ndarray, out: np.ndarray) -> None:
            if layer is model[index]:
                seen["x"] = x

        remove = model.add_forward_hook(hook)
        running.append(float(model[index].buffers["running_mean"][unit]))

    def run() -> tuple[float, float]:
        model.train()
        correct, total = 0, 0.0
        for start, stop in bounds:
            rows = order[start:stop]
            out = model.forward(X[rows])
            total += loss.forward(out, y[rows]) * len(rows)
            correct += int(np.count_nonzero(out.argmax(axis=1) == y[rows]))
            if watch is not None:
                running.append(float(model[watch[0]].buffers["running_mean"][watch[1]]))
                batch_means.append(float(seen["x"][:, watch[1]].mean()))
        return correct / len(X), total / len(X)

    try:
        if update_running:
            modes = [model.training] + [layer.training for layer in model]
            accuracy, mean_loss = run()
            model.training = modes[0]
            for layer, mode in zip(model, modes[1:], strict=True):
                layer.training = mode
        else:
            with preserved(model):
                accuracy, mean_loss = run()
    finally:
        if remove is not None:
            remove()
    return accuracy, mean_loss, np.array(running), np.array(batch_means)


@dataclass(frozen=True)
class BatchSizeRun:
    """One network trained with one batch size (see :func:`batch_size_gap`).

    Attributes
    ----------
    batch_size, steps
        The settings.
    eval_accuracy, eval_loss
        On the test images in evaluation mode (running statistics).
    train_mode_accuracy, train_mode_loss
        On the test images in training mode, in shuffled batches of ``batch_size``:
        what the network computes with batch statistics, as during training.
    """

    batch_size: int
    steps: int
    eval_accuracy: float
    eval_loss: float
    train_mode_accuracy: float
    train_mode_loss: float

    @property
    def gap(self) -> float:
        """``eval_accuracy - train_mode_accuracy``."""
        return self.eval_accuracy - self.train_mode_accuracy


def _trained_bn_net(batch_size: int, steps: int, lr: float, depth: int, width: int,
                    seed: int) -> tuple[Sequential, int]:
    """A ReLU net with BatchNorm before every ReLU, trained on the digits; returns (model, steps done)."""
    X_train, _, y_train, _ = _digits_split(rng=np.random.default_rng(0))
    weights_rng, order_rng = _seeds(seed, 2)
    model = batchnorm_mlp("relu", "before", depth=depth, width=width, rng=weights_rng)
    epochs = math.ceil(steps * batch_size / len(X_train)) + 1
    history = fit(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, epochs=epochs, batch_size=batch_size,
                  rng=order_rng, callbacks=[StopAfter(steps)])
    return model, history.steps


def batch_size_gap(batch_sizes: Sequence[int] = (2, 4, 8, 32, 128), *, steps: int = 150, lr: float = 0.1,
                   depth: int = 3, width: int = 32, seed: int = 0) -> list[BatchSizeRun]:
    """Train the same ReLU + BatchNorm network with each batch size; compare train-mode and eval-mode accuracy.

    Every run makes ``steps`` SGD updates from the same weights. Afterwards
    the test images are classified twice: in evaluation mode (running
    statistics) and in training mode on shuffled batches of the training batch
    size (batch statistics, what the network saw while it learned).
    """
    sizes = [check.number("batch_sizes[i]", b, low=2, high=1348, integer=True) for b in batch_sizes]
    if not sizes:
        raise ValueError("batch_sizes is empty; give one or more sizes of at least 2")
    check.number("steps", steps, low=1, high=5000, integer=True)
    check.number("lr", lr, low=0, high=100, low_open=True)
    check.non_negative("seed", seed, integer=True)
    _, X_test, _, y_test = _digits_split(rng=np.random.default_rng(0))
    order = np.random.default_rng(seed).permutation(len(X_test))
    runs = []
    for b in sizes:
        model, done = _trained_bn_net(b, steps, lr, depth, width, seed)
        result = evaluate(model, "softmax_ce", X_test, y_test)
        accuracy, loss, _, _ = train_mode_pass(model, X_test, y_test, b, order=order)
        runs.append(BatchSizeRun(batch_size=int(b), steps=int(done), eval_accuracy=float(result.accuracy),
                                 eval_loss=float(result.loss), train_mode_accuracy=accuracy, train_mode_loss=loss))
    return runs


def batch_size_table(runs: Sequence[BatchSizeRun]) -> str:
    """:func:`batch_size_gap` as a text table."""
    rows = [[f"{r.batch_size}", f"{r.eval_accuracy:.1%}", f"{r.train_mode_accuracy:.1%}", f"{r.gap:+.1%}",
             f"{r.eval_loss:.2f}", f"{r.train_mode_loss:.2f}"] for r in runs]
    header = ["batch size", "test acc, eval mode", "train mode", "gap", "test loss, eval mode", "train mode"]
    return text_table(header, rows)


@dataclass(frozen=True)
class EvalModeBug:
    r"""A trained BatchNorm network evaluated the right way and the wrong way (see :func:`eval_mode_bug`).

    Attributes
    ----------
    eval_accuracy
        Test accuracy in evaluation mode (the right way), whole test set at once.
    batch_sizes
        ``(K,)``: evaluation batch sizes tried.
    eval_batched_accuracy
        ``(K,)``: evaluation mode in batches of each size (identical to ``eval_accuracy``).
    train_mode_accuracy
        ``(K,)``: training mode in shuffled batches of each size (the bug).
    sorted_batch_size, sorted_accuracy
        Training mode on the test set sorted by label, in batches of that size.
    example, example_label, example_eval_prob
        One test image, its label, and its predicted probability of that label in evaluation mode.
    example_probs, example_predictions
        ``(C,)``: in training mode, inside C different random batches of
        ``composition_batch`` images: its probability of the true label, and the predicted class.
    composition_batch
        Batch size of those compositions.
    watch_layer, watch_unit
        The BatchNorm layer (index in the model) and unit followed during the drift.
    running_trace
        Running mean of that unit before and after every batch of the buggy sorted pass.
    batch_means, batch_labels
        Per batch of that pass: the mean of the unit's input, and the most common label.
    train_mean
        The unit's input mean over the training images (what the running mean tracked during training).
    running_shift
        ``(BatchNorm layers,)``: after the pass, the mean over units of
        :math:`|\Delta\,\text{running\_mean}| / \sqrt{\text{running\_var}}` (the variance before the
        pass): how far the running means moved, in standard deviations of each unit.
    eval_accuracy_after
        Evaluation-mode test accuracy after the buggy pass changed the running statistics.
    eval_leaves_buffers
        True if evaluating in evaluation mode left every running statistic unchanged, bit for bit.
    """

    eval_accuracy: float
    batch_sizes: np.ndarray
    eval_batched_accuracy: np.ndarray
    train_mode_accuracy: np.ndarray
    sorted_batch_size: int
    sorted_accuracy: float
    example: int
    example_label: int
    example_eval_prob: float
    example_probs: np.ndarray
    example_predictions: np.ndarray
    composition_batch: int
    watch_layer: int
    watch_unit: int
    running_trace: np.ndarray
    batch_means: np.ndarray
    batch_labels: np.ndarray
    train_mean: float
    running_shift: np.ndarray
    eval_accuracy_after: float
    eval_leaves_buffers: bool


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def eval_mode_bug(batch_sizes: Sequence[int] = (2, 8, 32, 128, 449), *, sorted_batch_size: int = 16,
                  compositions: int = 20, composition_batch: int = 16, watch_unit: int = 0, steps: int = 150,
                  lr: float = 0.1, seed: int = 0) -> EvalModeBug:
    r"""Train a ReLU + BatchNorm network, then evaluate it in training mode instead of ``model.eval()``.

    The network: 64 -> 3 x 32 (BatchNorm before every ReLU) -> 10, trained with
    batches of 32 for ``steps`` updates. Then:

    1. the test set in evaluation mode, whole and in batches (the right way);
    2. the test set in training mode, shuffled, in batches of each size: every
       prediction now depends on the other images of its batch;
    3. one test image inside ``compositions`` different random batches;
    4. a training-mode pass over the test set sorted by label (batches of one
       or two digits), *updating* the running statistics as a real buggy
       evaluation loop does; then evaluation mode again, with the drifted
       statistics.
    """
    sizes = [check.number("batch_sizes[i]", b, low=2, high=449, integer=True) for b in batch_sizes]
    check.number("sorted_batch_size", sorted_batch_size, low=2, high=449, integer=True)
    check.number("compositions", compositions, low=1, high=1000, integer=True)
    check.number("composition_batch", composition_batch, low=2, high=449, integer=True)
    check.number("watch_unit", watch_unit, low=0, high=31, integer=True)
    check.non_negative("seed", seed, integer=True)
    X_train, X_test, _, y_test = _digits_split(rng=np.random.default_rng(0))
    model, _ = _trained_bn_net(32, steps, lr, 3, 32, seed)
    rng = np.random.default_rng(seed)
    buffers_before = {name: value.copy() for name, value in model.buffers.items()}

    model.eval()
    eval_accuracy = evaluate(model, "softmax_ce", X_test, y_test).accuracy
    batched, buggy = [], []
    shuffled = rng.permutation(len(X_test))
    for b in sizes:
        predictions = np.concatenate([model.forward(X_test[shuffled[s:s + b]]).argmax(axis=1)
                                      for s in range(0, len(X_test), b)])
        batched.append(float(np.mean(predictions == y_test[shuffled])))
        buggy.append(train_mode_pass(model, X_test, y_test, b, order=shuffled)[0])
    eval_leaves_buffers = all(np.array_equal(value, buffers_before[name]) for name, value in model.buffers.items())
    sorted_accuracy = train_mode_pass(model, X_test, y_test, sorted_batch_size,
                                      order=np.argsort(y_test, kind="stable"))[0]

    # one image in many different batches
    example = int(rng.integers(len(X_test)))
    others = np.delete(np.arange(len(X_test)), example)
    example_eval_prob = float(_softmax(model.forward(X_test[example:example + 1]))[0, y_test[example]])
    probs, predicted = [], []
    with preserved(model):
        model.train()
        for _ in range(compositions):
            rows = np.concatenate([[example], rng.choice(others, composition_batch - 1, replace=False)])
            p = _softmax(model.forward(X_test[rows]))[0]
            probs.append(p[y_test[example]])
            predicted.append(int(p.argmax()))

    # the buggy loop on sorted data, updating the running statistics
    bn_indices = [i for i, layer in enumerate(model) if isinstance(layer, BatchNorm)]
    watch = (bn_indices[0], watch_unit)
    train_mean = float(model[0].forward(np.ascontiguousarray(X_train))[:, watch_unit].mean())
    sorted_order = np.argsort(y_test, kind="stable")
    _, _, trace, batch_means = train_mode_pass(model, X_test, y_test, sorted_batch_size, order=sorted_order,
                                               update_running=True, watch=watch)
    labels = y_test[sorted_order]
    batch_labels = np.array([np.bincount(labels[s:s + sorted_batch_size]).argmax()
                             for s in range(0, len(X_test), sorted_batch_size)][: len(batch_means)])
    shift = np.array([np.mean(np.abs(model[i].buffers["running_mean"] - buffers_before[f"{i}.running_mean"])
                              / np.sqrt(buffers_before[f"{i}.running_var"])) for i in bn_indices])
    model.eval()
    after = evaluate(model, "softmax_ce", X_test, y_test).accuracy
    return EvalModeBug(eval_accuracy=float(eval_accuracy), batch_sizes=np.array(sizes),
                       eval_batched_accuracy=np.array(batched), train_mode_accuracy=np.array(buggy),
                       sorted_batch_size=int(sorted_batch_size), sorted_accuracy=float(sorted_accuracy),
                       example=example, example_label=int(y_test[example]), example_eval_prob=example_eval_prob,
                       example_probs=np.array(probs), example_predictions=np.array(predicted),
                       composition_batch=int(composition_batch), watch_layer=watch[0], watch_unit=int(watch_unit),
                       running_trace=trace, batch_means=batch_means, batch_labels=batch_labels,
                       train_mean=train_mean, running_shift=shift, eval_accuracy_after=float(after),
                       eval_leaves_buffers=bool(eval_leaves_buffers))


def eval_mode_table(bug: EvalModeBug) -> str:
    """:func:`eval_mode_bug`: accuracy in evaluation mode and in training mode, per evaluation batch size."""
    rows = [[f"{b}", f"{e:.1%}", f"{t:.1%}"] for b, e, t in
            zip(bug.batch_sizes, bug.eval_batched_accuracy, bug.train_mode_accuracy, strict=True)]
    rows.append([f"{bug.sorted_batch_size}, sorted by label", "-", f"{bug.sorted_accuracy:.1%}"])
    return text_table(["eval batch size", "model.eval()", "training mode (bug)"], rows)
