r"""Notebook 02 (saturation): where tanh and sigmoid units stop passing gradient, and what decides it.

Four experiments, each a function returning a small result object:

* :func:`saturation_onsets` and :func:`derivative_zeros`: where a unit counts as
  saturated, how small the derivative is there, and where floating point turns
  it into an exact 0;
* :func:`init_statistics` and :func:`init_comparison`: one forward and one
  backward pass through a deep MLP at initialisation, per-layer activation
  statistics, saturated fractions and gradient norms, for the variance rule

  .. math::

      \operatorname{Var}[z_{l+1}] = n_\text{in}\,\operatorname{Var}[W]\,E[a_l^2], \qquad
      \operatorname{Var}[\delta_l] = n_\text{out}\operatorname{Var}[W]\,E[f'(z_l)^2]\,\operatorname{Var}[\delta_{l+1}];

* :func:`output_gradients` and :func:`output_unit_training`: the gradient a
  sigmoid output receives under MSE, :math:`(\sigma(z) - t)\,\sigma'(z)`, and under
  cross-entropy, :math:`\sigma(z) - t`, and training from a saturated wrong start.

This module imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as check
from .. import scenarios
from ..activations import Activation, make_activation
from ..data import one_hot
from ..diagnostics import (
    SATURATION_MARGIN,
    SATURATION_RANGES,
    SaturationFraction,
    activation_range,
    collect_activations,
    gradient_norms,
    histogram,
    saturated_fraction,
)
from ..layers import Dense, Sequential
from ..losses import make_loss
from ..models import mlp
from ..optim import SGD
from ..tables import text_table
from ..train import Callback, DivergenceError, fit

__all__ = [
    "DerivativeZeros", "DigitsRun", "InitStatistics", "LearningRateRun", "OutputComparison", "OutputGradients",
    "OutputTraining", "SaturationOnset", "derivative_zeros", "digits_grid", "digits_run", "digits_split",
    "digits_table", "init_comparison", "init_statistics", "init_table", "layer_saturation", "lr_saturation",
    "lr_table", "onset_table", "output_gradients", "output_loss_comparison", "output_table", "output_unit_training",
    "saturation_onsets", "variance_gain", "zeros_table",
]

NOTEBOOK = "02"

SATURATING = ("tanh", "sigmoid")
"""The activations this notebook studies; ``relu`` is allowed where noted, for contrast."""

INIT_ACTIVATIONS = ("tanh", "sigmoid", "relu")
INIT_SCHEMES = ("uniform", "glorot_uniform", "he_uniform")


def layer_saturation(activation: str, a: np.ndarray) -> float:
    """Fraction of a layer's outputs ``a`` (N, D) that are saturated, as :mod:`vanishing.diagnostics` defines it.

    tanh: :math:`|a| > 0.99`; sigmoid: :math:`a < 0.01` or :math:`a > 0.99`
    (:func:`vanishing.diagnostics.saturated_fraction`). For relu, which has no
    saturated end in this sense, the fraction of outputs exactly at 0 (the flat side).
    """
    check.choice("activation", activation, INIT_ACTIVATIONS)
    if activation == "relu":
        return float(np.mean(np.asarray(a) <= 0))
    return saturated_fraction(activation, a)


# --- where saturation starts ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaturationOnset:
    r"""Where a tanh or sigmoid unit starts to count as saturated.

    Attributes
    ----------
    activation
        ``"tanh"`` or ``"sigmoid"``.
    rule
        The threshold in words, e.g. ``"|a| > 0.99"``.
    z_onset
        The smallest :math:`|z|` at which the output crosses the threshold:
        :math:`\operatorname{atanh}(0.99)` for tanh, :math:`\ln 99` for sigmoid.
    derivative_at_onset
        :math:`f'(z_\text{onset})`.
    derivative_max
        The largest value of :math:`f'` (at z = 0): 1 for tanh, 1/4 for sigmoid.
    fraction_of_max
        ``derivative_at_onset / derivative_max``: how much of the best-case
        gradient a unit passes back once it is saturated (and less further out).
    """

    activation: str
    rule: str
    z_onset: float
    derivative_at_onset: float
    derivative_max: float
    fraction_of_max: float


def saturation_onsets() -> dict[str, SaturationOnset]:
    r"""The saturation onset of tanh and sigmoid, computed from the thresholds.

    tanh: :math:`|\tanh z| > 0.99 \iff |z| > \operatorname{atanh}(0.99)`.
    sigmoid: :math:`\sigma(z) > 0.99 \iff z > \ln(0.99/0.01) = \ln 99`, and
    symmetrically :math:`\sigma(z) < 0.01 \iff z < -\ln 99`.

    The derivatives come from the engine's activations (``derivative``), the
    maxima from the derivative at 0.
    """
    m = SATURATION_MARGIN
    high = SATURATION_RANGES["tanh"][1] - m
    low_s, high_s = SATURATION_RANGES["sigmoid"][0] + m, SATURATION_RANGES["sigmoid"][1] - m
    onsets = {
        # tanh(z) = high  <=>  z = atanh(high)
        "tanh": (f"|a| > {high:g}", float(np.arctanh(high))),
        # sigma(z) = high  <=>  e^z = high / (1 - high)  <=>  z = ln(high / (1 - high)), = ln 99 for high = 0.99
        "sigmoid": (f"a < {low_s:g} or a > {high_s:g}", float(np.log(high_s / (1 - high_s)))),
    }
    out = {}
    for name, (rule, z) in onsets.items():
        f = make_activation(name)
        d_onset = float(f.derivative(np.array([z]))[0])
        d_max = float(f.derivative(np.zeros(1))[0])
        out[name] = SaturationOnset(activation=name, rule=rule, z_onset=z, derivative_at_onset=d_onset,
                                    derivative_max=d_max, fraction_of_max=d_onset / d_max)
    return out


@dataclass(frozen=True)
class DerivativeZeros:
    r"""Where the factor an activation passes back first comes out as exactly 0.

    Two places compute :math:`f'(z)` in the engine, and they need not agree far
    out: the layer's ``backward`` (what backpropagation multiplies by, computed
    from the forward output: :math:`1 - a^2` for tanh, :math:`a(1 - a)` for the
    sigmoid) and the plain function ``derivative(z)``.

    Attributes
    ----------
    activation, dtype
        The settings.
    z_positive, z_negative
        The smallest z > 0 (largest z < 0) on a grid of step ``step`` at which
        ``backward`` passes back exactly 0 (forward on z, backward of 1) in
        ``dtype``; ``nan`` if it never does up to ``z_max``.
    derivative_zero
        The smallest :math:`|z|` on the grid at which ``derivative(z)`` or
        ``derivative(-z)`` is exactly 0 (``nan`` if never).
    underflow_z
        The :math:`|z|` beyond which the *exact* derivative is below half the
        smallest positive number of ``dtype`` (subnormals included), so that even a
        correctly rounded result is 0: :math:`\ln(8/\text{tiny})/2` for tanh
        (:math:`\operatorname{sech}^2 z \approx 4e^{-2|z|}`) and :math:`\ln(2/\text{tiny})` for
        sigmoid (:math:`\sigma'(z) \approx e^{-|z|}`).
    probe_z, probe_backward
        A few z values and what ``backward`` passes back there (in ``dtype``), for a table.
    """

    activation: str
    dtype: str
    z_positive: float
    z_negative: float
    derivative_zero: float
    underflow_z: float
    probe_z: np.ndarray
    probe_backward: np.ndarray


def _backward_factor(f: Activation, z: np.ndarray) -> np.ndarray:
    """What the layer's backward multiplies an incoming gradient of 1 by, for each z (1-D)."""
    f.forward(z[:, None])
    return f.backward(np.ones((z.shape[0], 1), dtype=z.dtype))[:, 0]


def derivative_zeros(activation: str, dtype: str = "float64", *, step: float = 0.01, z_max: float = 1000.0,
                     probe: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0)) -> DerivativeZeros:
    r"""Measure where the engine's activation passes back exactly 0.

    Mathematically :math:`\tanh'(z) = 1 - \tanh^2 z` and :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`
    are positive for every z. In floating point, a backward pass that starts
    from the output :math:`a` gets exactly 0 once :math:`a` rounds to 1 (the
    subtraction ``1 - 1``), long before the true value underflows. Where
    :math:`a` is small instead (the sigmoid's negative side) it keeps its
    relative precision, and the factor survives until it underflows.

    Parameters
    ----------
    activation
        ``"tanh"`` or ``"sigmoid"``.
    dtype
        ``"float16"``, ``"float32"`` or ``"float64"``.
    step, z_max
        The grid ``0, step, 2 step, ..., z_max`` (and its negative) that is searched.
    probe
        z values at which to report the backward factor.
    """
    check.choice("activation", activation, SATURATING)
    dt = check.float_dtype("dtype", dtype)
    check.positive("step", step)
    check.number("z_max", z_max, low=step)
    f = make_activation(activation)
    grid = np.arange(0.0, z_max + step / 2, step)

    def first(zero: np.ndarray, z: np.ndarray) -> float:
        return float(z[np.argmax(zero)]) if zero.any() else float("nan")

    with np.errstate(under="ignore"):
        positive, negative = grid.astype(dt), (-grid).astype(dt)
        z_positive = first(_backward_factor(f, positive) == 0, positive)
        z_negative = first(_backward_factor(f, negative) == 0, negative)
        derivative_zero = first((f.derivative(positive) == 0) | (f.derivative(negative) == 0), positive)
        probe_z = np.asarray(probe, dtype=np.float64)
        probe_backward = _backward_factor(f, probe_z.astype(dt))
    # ln(tiny / 2) from logs: tiny / 2 itself rounds to 0, and 1 / tiny overflows
    log_half_tiny = float(np.log(float(np.finfo(dt).smallest_subnormal))) - float(np.log(2.0))  # in float64
    if activation == "tanh":
        underflow = (float(np.log(4.0)) - log_half_tiny) / 2
    else:
        underflow = -log_half_tiny
    return DerivativeZeros(activation=activation, dtype=dt.name, z_positive=z_positive, z_negative=z_negative,
                           derivative_zero=derivative_zero, underflow_z=underflow, probe_z=probe_z,
                           probe_backward=probe_backward)


# --- initialisation: one forward and one backward pass --------------------------------------------------------------

def variance_gain(init: str, fan_in: int, fan_out: int, limit: float = 1.0) -> float:
    r""":math:`n_\text{in}\operatorname{Var}[W]` of an initializer: the factor by which a layer multiplies
    :math:`E[a^2]` on the way forward.

    ``uniform``: :math:`\operatorname{Var}[W] = \text{limit}^2/3`; Glorot: :math:`2/(n_\text{in}+n_\text{out})`;
    He: :math:`2/n_\text{in}`.
    """
    check.choice("init", init, INIT_SCHEMES)
    check.positive("fan_in", fan_in, integer=True)
    check.positive("fan_out", fan_out, integer=True)
    if init == "uniform":
        var = check.non_negative("limit", limit) ** 2 / 3
    elif init == "glorot_uniform":
        var = 2.0 / (fan_in + fan_out)
    else:
        var = 2.0 / fan_in
    return fan_in * var


@dataclass(frozen=True)
class InitStatistics:
    r"""Per-layer statistics of a deep MLP after one forward and one backward pass.

    Layers are the ``depth`` hidden layers, numbered 1..depth from the input.

    Attributes
    ----------
    activation, init, limit, depth, width, batch
        The settings (``limit`` is the uniform bound, ``None`` for Glorot and He).
    forward_gain, backward_gain
        :math:`n_\text{in}\operatorname{Var}[W]` and :math:`n_\text{out}\operatorname{Var}[W]` of the
        hidden-to-hidden layers (width × width, so the two are equal here).
    pre_std
        ``(depth,)``: standard deviation of the pre-activations :math:`z_l`.
    act_std, act_mean
        ``(depth,)``: standard deviation and mean of the activations :math:`a_l = f(z_l)`.
    saturated
        ``(depth,)``: fraction of the ``batch × width`` outputs of each layer that
        are saturated (:func:`layer_saturation`; for relu the fraction at 0).
    delta_std
        ``(depth,)``: standard deviation of the backpropagated gradient
        :math:`\delta_l = \partial L/\partial z_l`.
    grad_norm
        ``(depth + 1,)``: Frobenius norm of :math:`\partial L/\partial W` of every
        Dense layer, the output layer last.
    hist_edges, act_hist
        Bin edges ``(bins + 1,)`` and ``(depth, bins)`` fractions of the outputs
        of each layer in each bin (a histogram per layer).
    mean_derivative_sq
        ``(depth,)``: :math:`E[f'(z_l)^2]`, the activation's share of the backward factor.
    steps, lr
        Training steps taken before measuring (0: at initialisation) and their learning rate.
    """

    activation: str
    init: str
    limit: float | None
    depth: int
    width: int
    batch: int
    forward_gain: float
    backward_gain: float
    pre_std: np.ndarray
    act_std: np.ndarray
    act_mean: np.ndarray
    saturated: np.ndarray
    delta_std: np.ndarray
    grad_norm: np.ndarray
    hist_edges: np.ndarray
    act_hist: np.ndarray
    mean_derivative_sq: np.ndarray
    steps: int = 0
    lr: float = 0.0

    @property
    def label(self) -> str:
        """A short name of the initialisation, e.g. ``"U(±0.1)"`` or ``"Glorot"``."""
        return init_label(self.init, self.limit)

    @property
    def gradient_ratio(self) -> float:
        """``grad_norm`` of the first hidden layer over that of the last hidden layer (1: steady)."""
        return float(self.grad_norm[0] / self.grad_norm[self.depth - 1]) if self.grad_norm[self.depth - 1] else \
            float("nan")

    @property
    def std_ratio(self) -> float:
        """``act_std`` of the last hidden layer over that of the first (1: steady)."""
        return float(self.act_std[-1] / self.act_std[0]) if self.act_std[0] else float("nan")


def init_label(init: str, limit: float | None = None) -> str:
    """``"U(±1)"``, ``"Glorot"``, ``"He"``: how the figures name an initialisation."""
    if init == "uniform":
        return f"U(±{limit:g})"
    return {"glorot_uniform": "Glorot", "he_uniform": "He"}.get(init, init)


def build_deep_mlp(activation: str, init: str, *, depth: int, width: int, rng: np.random.Generator,
                   limit: float = 1.0, in_features: int = 64, out_features: int = 10) -> Sequential:
    """The deep MLP of the initialisation experiments: ``depth`` hidden layers of ``width`` units, logits out.

    ``in_features`` (64 pixels) → ``width`` → ... → ``width`` → ``out_features`` (10 classes);
    every hidden-to-hidden layer has ``fan_in = fan_out = width``.
    """
    check.choice("activation", activation, INIT_ACTIVATIONS)
    check.choice("init", init, INIT_SCHEMES)
    check.number("depth", depth, low=1, high=100, integer=True)
    check.number("width", width, low=1, high=1024, integer=True)
    options = {"limit": check.number("limit", limit, low=0, high=100)} if init == "uniform" else {}
    sizes = [in_features] + [width] * depth + [out_features]
    return mlp(sizes, activation, rng=rng, init=init, init_options=options)


CHUNK = 32
"""Rows per forward/backward pass when measuring a batch (see :func:`measure_layers`)."""


def measure_layers(model: Sequential, activation: str, x: np.ndarray, labels: np.ndarray, *,
                   bins: int = 40, chunk: int = CHUNK) -> dict[str, np.ndarray]:
    r"""Per-hidden-layer statistics of one forward and one backward pass of the softmax cross-entropy on ``x``.

    The batch goes through in pieces of ``chunk`` rows, and the pieces' gradients
    are weighted by their share of the batch and added up, so the result is the
    gradient of the mean loss over the whole batch. Small pieces keep every
    matrix product small enough for OpenBLAS to compute on one thread: on a busy
    2-core machine, splitting a product of 256 rows over two threads made this
    experiment several times slower, not faster.

    The backward pass is ``model.backward`` written out layer by layer, so that
    the gradient each activation passes back, :math:`\delta_l = \partial L/\partial z_l`,
    can be kept (the layers themselves keep only parameter gradients).

    Returns a dict with the arrays of :class:`InitStatistics` (``pre_std``,
    ``act_std``, ``act_mean``, ``saturated``, ``delta_std``, ``grad_norm``,
    ``hist_edges``, ``act_hist``, ``mean_derivative_sq``).
    """
    check.positive("chunk", chunk, integer=True)
    n = x.shape[0]
    loss = make_loss("softmax_ce")
    act_index = [i for i, layer in enumerate(model.layers) if isinstance(layer, Activation)]
    dense = [layer for layer in model if isinstance(layer, Dense)]
    z_parts: dict[int, list[np.ndarray]] = {i: [] for i in act_index}
    a_parts: dict[int, list[np.ndarray]] = {i: [] for i in act_index}
    delta_parts: dict[int, list[np.ndarray]] = {i: [] for i in act_index}
    weight_grads = [np.zeros_like(layer.params["W"]) for layer in dense]
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        loss.forward(model.forward(x[rows]), labels[rows])
        grad = loss.backward() * ((rows.stop - rows.start) / n)
        for index in range(len(model.layers) - 1, -1, -1):
            grad = model.layers[index].backward(grad)
            if index in delta_parts:
                delta_parts[index].append(grad)
        for i in act_index:
            z_parts[i].append(model.layers[i].cache["z"])
            a_parts[i].append(model.layers[i].cache["out"])
        for total, layer in zip(weight_grads, dense, strict=True):
            total += layer.grads["W"]
    first = model.layers[act_index[0]]
    lo, hi = activation_range(first)
    names = ("pre_std", "act_std", "act_mean", "saturated", "delta_std", "act_hist", "mean_derivative_sq")
    stats: dict[str, list] = {k: [] for k in names}
    for i in act_index:
        z, a, delta = np.concatenate(z_parts[i]), np.concatenate(a_parts[i]), np.concatenate(delta_parts[i])
        deriv = model.layers[i].derivative(z)
        stats["pre_std"].append(z.std())
        stats["act_std"].append(a.std())
        stats["act_mean"].append(a.mean())
        stats["saturated"].append(layer_saturation(activation, a))
        stats["delta_std"].append(delta.std())
        stats["act_hist"].append(histogram(a, lo, hi, bins) / a.size)
        stats["mean_derivative_sq"].append(np.mean(deriv * deriv))
    out = {k: np.asarray(v, dtype=np.float64) for k, v in stats.items()}
    for total, layer in zip(weight_grads, dense, strict=True):
        layer.grads["W"][...] = total  # leave the model as a full-batch backward would
    out["grad_norm"] = gradient_norms(model)
    out["hist_edges"] = np.linspace(lo, hi, bins + 1)
    return out


def init_statistics(activation: str = "tanh", init: str = "glorot_uniform", *, limit: float = 1.0,
                    depth: int = 10, width: int = 64, batch: int = 256, steps: int = 0, lr: float = 0.1,
                    rng: np.random.Generator, bins: int = 40) -> InitStatistics:
    r"""Per-layer activations and gradients of a deep MLP on the digits, at initialisation or after a few steps.

    The network (:func:`build_deep_mlp`) maps the 64 standardized pixels through
    ``depth`` hidden layers of ``width`` units to 10 logits, with the softmax
    cross-entropy loss. The first ``batch`` test images go forward once, the
    gradient of their loss goes backward once (in pieces of 32 images, see
    :func:`measure_layers`), and every hidden layer is read. With ``steps > 0``
    the network first takes that many SGD steps (mini-batches of 32 training
    images, learning rate ``lr``) by
    :func:`vanishing.train.fit`.

    Parameters
    ----------
    activation
        ``"tanh"``, ``"sigmoid"`` or ``"relu"`` (for contrast).
    init
        ``"uniform"`` (with ``limit``), ``"glorot_uniform"`` or ``"he_uniform"``.
    limit
        The bound of ``"uniform"``: weights from U(−limit, limit), 0 to 100. Ignored otherwise.
    depth, width
        Hidden layers (1 to 100) and units per hidden layer (1 to 1024).
    batch
        Test images measured (2 to 449).
    steps, lr
        SGD steps before measuring (0 to 10 000) and their learning rate (0 to 1000].
    rng
        Draws the weights, then (if ``steps > 0``) the order of the training images.
    bins
        Bins of the per-layer activation histograms.

    Raises
    ------
    vanishing.train.DivergenceError
        If the training steps make the loss or a weight non-finite.
    ValueError
        If the measured activations or gradients overflow (finite weights can still be large enough).
    """
    X_train, X_test, y_train, y_test = digits_split()
    check.number("batch", batch, low=2, high=len(X_test), integer=True)
    check.number("steps", steps, low=0, high=10_000, integer=True)
    check.number("lr", lr, low=0, high=1000, low_open=True)
    check.number("bins", bins, low=2, high=1000, integer=True)
    check.rng("rng", rng)
    model = build_deep_mlp(activation, init, depth=depth, width=width, rng=rng, limit=limit)
    if steps > 0:
        train_batch = 32
        epochs = -(-steps * train_batch // len(X_train))  # enough epochs, stopped after `steps` updates

        class Stop(Callback):
            def on_step_end(self, state):
                state.stop = state.step >= steps

        fit(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, epochs=epochs, batch_size=train_batch,
            rng=rng, callbacks=[Stop()])
    model.train()
    with np.errstate(over="ignore", invalid="ignore"):
        stats = measure_layers(model, activation, X_test[:batch], y_test[:batch], bins=bins)
    if not all(np.isfinite(stats[key]).all() for key in ("pre_std", "act_std", "delta_std", "grad_norm")):
        # finite weights can still give activations or gradients beyond float64 (a ReLU net after large steps)
        when = f"after {steps} SGD steps at learning rate {lr:g}" if steps else "at initialisation"
        raise ValueError(f"the activations or gradients overflowed float64 {when}; "
                         + ("try a smaller learning rate" if steps else "try a smaller init range or fewer layers"))
    gain = variance_gain(init, width, width, limit)
    return InitStatistics(activation=activation, init=init, limit=float(limit) if init == "uniform" else None,
                          depth=int(depth), width=int(width), batch=int(batch), forward_gain=gain,
                          backward_gain=gain, steps=int(steps), lr=float(lr) if steps else 0.0, **stats)


def init_comparison(activations: tuple[str, ...] = ("tanh", "sigmoid"),
                    schemes: tuple[tuple[str, float], ...] = (("uniform", 1.0), ("uniform", 0.1),
                                                             ("glorot_uniform", 1.0), ("he_uniform", 1.0)),
                    *, depth: int = 10, width: int = 64, batch: int = 256, seed: int = 0
                    ) -> dict[tuple[str, str], InitStatistics]:
    """:func:`init_statistics` for every activation and every (init, limit) pair.

    Each run gets its own generator ``default_rng(seed)`` and every run measures
    the same test images, so the differences come from the initialisation alone.

    Returns
    -------
    dict
        ``(activation, label) -> InitStatistics``, where ``label`` is
        ``"U(±1)"``, ``"U(±0.1)"``, ``"Glorot"``, ``"He"``.
    """
    out = {}
    for activation in activations:
        for init, limit in schemes:
            stats = init_statistics(activation, init, limit=limit, depth=depth, width=width, batch=batch,
                                    rng=np.random.default_rng(seed))
            out[(activation, stats.label)] = stats
    return out


# --- the output loss: MSE keeps sigma'(z), cross-entropy cancels it --------------------------------------------------

OUTPUT_LOSSES = ("mse", "bce", "bce_logits")
"""Losses for a sigmoid output: MSE on sigma(z), cross-entropy on sigma(z) ("bce"), cross-entropy on z."""


@dataclass(frozen=True)
class OutputGradients:
    r"""dL/dz of one sigmoid output unit with target t, per example, for each loss.

    Attributes
    ----------
    z, target
        The logits ``(n,)`` and the target.
    sigma, sigma_prime
        :math:`\sigma(z)` and :math:`\sigma'(z)`.
    mse
        :math:`(\sigma(z) - t)\,\sigma'(z)`: MSE ``"mse"`` on :math:`\sigma(z)`, back through the sigmoid.
    bce_logits
        :math:`\sigma(z) - t`: cross-entropy on the logit, ``"bce_logits"``.
    bce
        Cross-entropy on the probability, ``"bce"``, back through the sigmoid: the
        same as ``bce_logits`` in exact arithmetic, 0 where :math:`\sigma(z)` was
        clipped to [1e-12, 1 − 1e-12].
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


def _output_model(loss: str, *, w: float | np.ndarray, b: float, in_features: int) -> Sequential:
    """Dense(in_features, 1) with given weights and bias, followed by a Sigmoid unless the loss takes logits."""
    dense = Dense(in_features, 1, rng=np.random.default_rng(0), init="uniform", limit=0.0, bias=b)
    dense.params["W"][...] = np.reshape(w, (in_features, 1))
    layers = [dense] if loss == "bce_logits" else [dense, make_activation("sigmoid")]
    return Sequential(layers)


def output_gradients(z: np.ndarray | None = None, target: float = 1.0) -> OutputGradients:
    """dL/dz of a sigmoid output under MSE and cross-entropy, computed by the engine's losses and layers.

    Each z is one example; the engine's losses average over the batch, so their
    gradients are multiplied back by the batch size to give the per-example dL/dz.

    Parameters
    ----------
    z
        Logits, 1-D (default: 801 points from −12 to 12).
    target
        The target t in [0, 1] (1: the unit should be on).
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
            p = sig.forward(z[:, None])
            loss.forward(p, t)
            grads[name] = sig.backward(loss.backward())[:, 0] * n
    s = sig.fn(z)
    return OutputGradients(z=z, target=float(target), sigma=s, sigma_prime=sig.derivative(z), **grads)


@dataclass(frozen=True)
class OutputTraining:
    r"""One sigmoid unit trained from a saturated start (see :func:`output_unit_training`).

    Attributes
    ----------
    loss_name, z_start, lr, steps, n
        The settings.
    loss
        ``(steps,)``: the training loss before each step (in the loss's own units).
    cross_entropy
        ``(steps + 1,)``: the mean cross-entropy of the predictions after 0, 1, ..., ``steps``
        updates, the same yardstick for every loss.
    accuracy
        ``(steps + 1,)``: fraction of examples classified correctly (z > 0 predicts 1), at the same times.
    p_positive
        ``(steps + 1,)``: mean :math:`\sigma(z)` over the examples whose target is 1, at the same times.
    steps_to_learn
        The number of updates after which at least 95 % of the examples are
        classified correctly for the first time (``None`` if that never happens).
    final_accuracy
        Accuracy after the last update.
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


def _logistic_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, I) in 2-D, target 1 where x1 + x2 > 0: separable by one unit."""
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float64)[:, None]
    return X, y


def output_unit_training(loss: str = "mse", *, z_start: float = -8.0, lr: float = 1.0, steps: int = 200,
                         n: int = 200, rng: np.random.Generator) -> OutputTraining:
    r"""Train one sigmoid unit whose every output starts at :math:`z = z_\text{start}`.

    Data: :math:`x \sim N(0, I)` in two dimensions, target 1 where
    :math:`x_1 + x_2 > 0`. The unit starts with weights 0 and bias
    ``z_start``: with ``z_start = -8`` every output is :math:`\sigma(-8) \approx 3\cdot 10^{-4}`,
    right for the targets 0 and saturated-wrong for the targets 1. Full-batch
    SGD with the engine's layers, loss and optimizer in a plain loop (one unit
    needs none of :func:`vanishing.train.fit`'s bookkeeping, which would triple
    the time of a widget that retrains it on every change).

    Parameters
    ----------
    loss
        ``"mse"`` (on :math:`\sigma(z)`), ``"bce"`` (cross-entropy on :math:`\sigma(z)`) or
        ``"bce_logits"`` (cross-entropy on z).
    z_start
        The initial bias, so the initial logit of every example (−50 to 50).
    lr
        SGD learning rate (0 to 100].
    steps
        Full-batch steps (1 to 10 000).
    n
        Examples (2 to 10 000).
    rng
        Draws the data.
    """
    check.choice("loss", loss, OUTPUT_LOSSES)
    check.number("z_start", z_start, low=-50, high=50)
    check.number("lr", lr, low=0, high=100, low_open=True)
    check.number("steps", steps, low=1, high=10_000, integer=True)
    check.number("n", n, low=2, high=10_000, integer=True)
    check.rng("rng", rng)
    X, y = _logistic_data(n, rng)
    model = _output_model(loss, w=np.zeros(2), b=z_start, in_features=2)
    W, b = model.layers[0].params["W"], model.layers[0].params["b"]
    positive = y[:, 0] == 1
    sigmoid = make_activation("sigmoid")
    loss_fn = make_loss(loss)
    optimizer = SGD(model, lr=lr)
    weights = np.empty((steps + 1, 2))
    biases = np.empty(steps + 1)
    losses = np.empty(steps)
    for step in range(steps):
        weights[step], biases[step] = W[:, 0], b[0]
        losses[step] = loss_fn.forward(model.forward(X), y)
        model.backward(loss_fn.backward())
        optimizer.step()
    weights[steps], biases[steps] = W[:, 0], b[0]
    # the logits of every example after 0, 1, ..., steps updates, all at once: (n, steps + 1);
    # the same yardsticks whatever the training loss
    z = X @ weights.T + biases
    cross_entropy = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=0)
    p_positive = np.mean(sigmoid.fn(z[positive]), axis=0)
    accuracy = np.mean((z > 0) == (y > 0.5), axis=0)
    learned = np.flatnonzero(accuracy >= 0.95)
    return OutputTraining(loss_name=loss, z_start=float(z_start), lr=float(lr), steps=int(steps), n=int(n),
                          loss=losses, cross_entropy=cross_entropy, accuracy=accuracy,
                          p_positive=p_positive, steps_to_learn=int(learned[0]) if learned.size else None,
                          final_accuracy=float(accuracy[-1]))


# --- the digits: the textbook's network, and the learning rate --------------------------------------------------------

def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's digits split: :func:`vanishing.scenarios.digits_split` with ``default_rng(0)``."""
    return scenarios.digits_split(rng=np.random.default_rng(0))


@dataclass(frozen=True)
class DigitsRun:
    r"""One run of the textbook's digit classifier (see :func:`digits_grid`).

    Attributes
    ----------
    limit, lr, epochs, batch_size, hidden
        The settings: weights from U(−limit, limit), SGD learning rate.
    epochs_seen
        ``(records,)``: when each record was taken, in epochs (0 = before training;
        ``measures_per_epoch`` records per epoch).
    test_accuracy
        ``(records,)``: accuracy on the test images at those times.
    hidden_saturated, output_saturated
        ``(records,)``: fraction of saturated tanh hidden outputs and sigmoid
        outputs on the test images, at the same times.
    output_wrong_saturated
        ``(records,)``: fraction of sigmoid outputs that are saturated on the
        wrong side: :math:`\sigma > 0.99` where the target is 0, or :math:`\sigma < 0.01` where it is 1.
        Only these are stuck; an output saturated on the right side is what MSE asks for.
    diverged
        True if training stopped with a non-finite loss (the arrays then end early).
    """

    limit: float
    lr: float
    epochs: int
    batch_size: int
    hidden: int
    epochs_seen: np.ndarray
    test_accuracy: np.ndarray
    hidden_saturated: np.ndarray
    output_saturated: np.ndarray
    output_wrong_saturated: np.ndarray
    diverged: bool = False

    @property
    def final_accuracy(self) -> float:
        return float(self.test_accuracy[-1])


def _steps_per_epoch(n: int, batch_size: int) -> int:
    """Updates per epoch in :func:`vanishing.train.fit` (it merges a last batch of one example into the previous)."""
    steps = -(-n // batch_size)
    if steps > 1 and n - (steps - 1) * batch_size == 1:
        steps -= 1
    return steps


def _digit_net(hidden: int | tuple[int, ...], limit: float, rng: np.random.Generator) -> Sequential:
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    return mlp([64, *hidden, 10], "tanh", rng=rng, init="uniform", init_options={"limit": limit},
               output_activation="sigmoid")


def _outputs_in_pieces(model: Sequential, X: np.ndarray, chunk: int = CHUNK) -> list[np.ndarray]:
    """Every activation layer's output on X (evaluation mode, model untouched), computed ``chunk`` rows at a time.

    Small pieces keep OpenBLAS on one thread (see :func:`measure_layers`).
    """
    pieces = [collect_activations(model, X[start:start + chunk]) for start in range(0, len(X), chunk)]
    indices = [i for i, la in enumerate(pieces[0]) if isinstance(la.layer, Activation)]
    return [np.concatenate([piece[i].out for piece in pieces]) for i in indices]


def _digit_state(model: Sequential, X: np.ndarray, T: np.ndarray) -> tuple[float, float, float, float]:
    """(accuracy, hidden saturated, output saturated, output saturated on the wrong side) on (X, one-hot T)."""
    outputs = _outputs_in_pieces(model, X)
    out = outputs[-1]
    hidden = outputs[:-1]
    hidden_sat = float(np.mean([saturated_fraction("tanh", h) for h in hidden]))
    wrong = np.where(T > 0.5, out < SATURATION_RANGES["sigmoid"][0] + SATURATION_MARGIN,
                     out > SATURATION_RANGES["sigmoid"][1] - SATURATION_MARGIN)
    accuracy = float(np.mean(out.argmax(axis=1) == T.argmax(axis=1)))
    return accuracy, hidden_sat, saturated_fraction("sigmoid", out), float(wrong.mean())


def digits_run(limit: float, lr: float, *, hidden: int = 25, epochs: int = 1, batch_size: int = 1,
               measures_per_epoch: int = 4, seed: int = 0) -> DigitsRun:
    r"""Train the textbook's digit classifier once: 64 → ``hidden`` tanh → 10 sigmoid outputs, MSE on one-hot targets.

    Weights from U(−limit, limit) (biases 0), plain SGD on mini-batches of
    ``batch_size`` examples. The default, one example per update, is the book's
    own training loop, so its learning rates mean the same here: the engine's
    MSE averages over a batch, so on a batch of B examples a rate η moves the
    weights per epoch about as far as per-example updates with rate η/B.
    Measured on the test images before training and ``measures_per_epoch``
    times per epoch (at equal numbers of updates).

    Parameters
    ----------
    limit
        Bound of the uniform initialisation (0 to 10].
    lr
        SGD learning rate (0 to 1000].
    hidden, epochs, batch_size
        Hidden units (1 to 512), passes over the 1348 training images (1 to 100), examples per step.
    measures_per_epoch
        Test-set measurements per epoch (1 to 20).
    seed
        ``default_rng(seed)`` draws the weights, then the order of the examples.
    """
    check.number("limit", limit, low=0, high=10, low_open=True)
    check.number("lr", lr, low=0, high=1000, low_open=True)
    check.number("hidden", hidden, low=1, high=512, integer=True)
    check.number("epochs", epochs, low=1, high=100, integer=True)
    check.number("batch_size", batch_size, low=1, high=2000, integer=True)
    check.number("measures_per_epoch", measures_per_epoch, low=1, high=20, integer=True)
    check.non_negative("seed", seed, integer=True)
    X_train, X_test, y_train, y_test = digits_split()
    T_train, T_test = one_hot(y_train, 10), one_hot(y_test, 10)
    rng = np.random.default_rng(seed)
    model = _digit_net(hidden, limit, rng)
    rows = [_digit_state(model, X_test, T_test)]
    seen = [0.0]
    steps_per_epoch = _steps_per_epoch(len(X_train), batch_size)
    # measure after these updates of each epoch: equal shares, the last one at the epoch's end
    marks = {round(steps_per_epoch * k / measures_per_epoch): k for k in range(1, measures_per_epoch + 1)}

    class Measure(Callback):
        def on_step_end(self, state):
            within = state.step - (state.epoch - 1) * steps_per_epoch
            if within in marks:
                rows.append(_digit_state(state.model, X_test, T_test))
                seen.append(state.epoch - 1 + marks[within] / measures_per_epoch)

    diverged = False
    try:
        fit(model, "mse", SGD(model, lr=lr), X_train, T_train, epochs=epochs, batch_size=batch_size, rng=rng,
            callbacks=[Measure()])
    except DivergenceError:
        diverged = True
    table = np.array(rows)
    return DigitsRun(limit=float(limit), lr=float(lr), epochs=int(epochs), batch_size=int(batch_size),
                     hidden=int(hidden), epochs_seen=np.array(seen), test_accuracy=table[:, 0],
                     hidden_saturated=table[:, 1],
                     output_saturated=table[:, 2], output_wrong_saturated=table[:, 3], diverged=diverged)


def digits_grid(limits: tuple[float, ...] = (1.0, 0.1), lrs: tuple[float, ...] = (0.1, 0.01), *, hidden: int = 25,
                epochs: int = 1, batch_size: int = 1, measures_per_epoch: int = 4,
                seed: int = 0) -> dict[tuple[float, float], DigitsRun]:
    """:func:`digits_run` for every (limit, lr) pair, all from the same seed; ``(limit, lr) -> DigitsRun``."""
    return {(limit, lr): digits_run(limit, lr, hidden=hidden, epochs=epochs, batch_size=batch_size,
                                    measures_per_epoch=measures_per_epoch, seed=seed)
            for limit in limits for lr in lrs}


@dataclass(frozen=True)
class LearningRateRun:
    r"""Saturation during training at one learning rate (see :func:`lr_saturation`).

    Attributes
    ----------
    lr
        The SGD learning rate.
    steps
        ``(records,)``: updates done when each record was taken (0 = before training).
    hidden_saturated
        ``(records, hidden layers)``: fraction of saturated outputs of each tanh layer on the probe images.
    output_saturated
        ``(records,)``: fraction of saturated sigmoid outputs on the probe images.
    loss
        ``(steps,)``: training loss of every step.
    test_accuracy
        Accuracy on the test images after training.
    diverged
        True if the loss or a weight became non-finite (training stopped there).
    """

    lr: float
    steps: np.ndarray
    hidden_saturated: np.ndarray
    output_saturated: np.ndarray
    loss: np.ndarray
    test_accuracy: float
    diverged: bool = False


def lr_saturation(lrs: tuple[float, ...] = (0.3, 3.0, 30.0), *, hidden: tuple[int, ...] = (32, 32, 32),
                  epochs: int = 3, batch_size: int = 16, every: int = 5, probe: int = 200,
                  seed: int = 0) -> dict[float, LearningRateRun]:
    r"""How the learning rate drives units into saturation: the digits, tanh hidden layers, sigmoid outputs, MSE.

    For each learning rate a fresh network (Glorot uniform initialisation, the
    same weights for every rate) is trained with plain SGD by
    :func:`vanishing.train.fit`; a :class:`vanishing.diagnostics.SaturationFraction`
    recorder measures the saturated fraction of every tanh and sigmoid layer on
    ``probe`` test images before training and after every ``every``-th update.

    Parameters
    ----------
    lrs
        Learning rates (each in (0, 1000]).
    hidden
        Widths of the tanh hidden layers.
    epochs, batch_size, every, probe
        Passes over the 1348 training images, examples per step, record
        interval (updates), number of probe images.
    seed
        ``default_rng(seed)`` draws the weights and the order of the examples of each run.
    """
    check.number("epochs", epochs, low=1, high=100, integer=True)
    check.number("batch_size", batch_size, low=1, high=2000, integer=True)
    check.positive("every", every, integer=True)
    check.non_negative("seed", seed, integer=True)
    X_train, X_test, y_train, y_test = digits_split()
    check.number("probe", probe, low=2, high=len(X_test), integer=True)
    T_train, T_test = one_hot(y_train, 10), one_hot(y_test, 10)
    runs = {}
    for lr in lrs:
        check.number("lr", lr, low=0, high=1000, low_open=True)
        rng = np.random.default_rng(seed)
        model = mlp([64, *hidden, 10], "tanh", rng=rng, init="glorot_uniform", output_activation="sigmoid")
        recorder = SaturationFraction(every=every, probe_X=X_test[:probe])
        diverged = False
        try:
            history = fit(model, "mse", SGD(model, lr=lr), X_train, T_train, epochs=epochs, batch_size=batch_size,
                          rng=rng, callbacks=[recorder])
        except DivergenceError as error:
            history, diverged = error.history, True
        record = recorder.history
        accuracy = float(np.mean(_outputs_in_pieces(model, X_test)[-1].argmax(axis=1) == T_test.argmax(axis=1)))
        runs[lr] = LearningRateRun(lr=float(lr), steps=np.asarray(recorder.steps), hidden_saturated=record[:, :-1],
                                   output_saturated=record[:, -1], loss=np.asarray(history.loss),
                                   test_accuracy=accuracy, diverged=diverged)
    return runs


@dataclass(frozen=True)
class OutputComparison:
    """dL/dz curves and training runs of one sigmoid unit, for several losses (see :func:`output_loss_comparison`)."""

    gradients: OutputGradients
    runs: list[OutputTraining]


def output_loss_comparison(losses: tuple[str, ...] = OUTPUT_LOSSES, *, z_start: float = -8.0, lr: float = 1.0,
                           steps: int = 200, n: int = 200, seed: int = 0) -> OutputComparison:
    """:func:`output_gradients` (for target 1, over a z range that includes ``z_start``) and
    :func:`output_unit_training` for each loss, all on the same data (``default_rng(seed)``)."""
    losses = tuple(losses)
    if not losses:
        raise ValueError("losses is empty; allowed: one or more of " + ", ".join(map(repr, OUTPUT_LOSSES)))
    for name in losses:
        check.choice("losses[i]", name, OUTPUT_LOSSES)
    check.number("z_start", z_start, low=-50, high=50)
    check.non_negative("seed", seed, integer=True)
    low, high = min(-12.0, z_start - 2.0), max(12.0, z_start + 2.0)
    gradients = output_gradients(np.linspace(low, high, 801))
    runs = [output_unit_training(name, z_start=z_start, lr=lr, steps=steps, n=n, rng=np.random.default_rng(seed))
            for name in losses]
    return OutputComparison(gradients=gradients, runs=runs)


# --- tables: the numbers the notebook prints, rounded so that BLAS differences cannot change them -------------------


def onset_table(onsets: dict[str, SaturationOnset]) -> str:
    """The saturation onsets of :func:`saturation_onsets` as a text table."""
    rows = [[o.activation, o.rule, f"|z| > {o.z_onset:.3f}", f"{o.derivative_at_onset:.4f}", f"{o.derivative_max:g}",
             f"{o.fraction_of_max:.1%}"] for o in onsets.values()]
    return text_table(["unit", "saturated when", "that is", "f' there", "max f'", "f' / max f'"], rows)


def zeros_table(results: list[DerivativeZeros]) -> str:
    """:func:`derivative_zeros` results as a text table: the backward factor at the probe z and where it becomes 0."""
    probe = results[0].probe_z
    header = ["unit", "dtype", *[f"f'({z:g})" for z in probe], "backward 0 from z =", "and z =",
              "derivative() 0 from |z| =", "exact f' rounds to 0"]
    rows = []
    for r in results:
        rows.append([r.activation, r.dtype, *[f"{d:.2g}" for d in np.asarray(r.probe_backward, dtype=np.float64)],
                     f"{r.z_positive:.4g}", f"{r.z_negative:.4g}", f"{r.derivative_zero:.4g}",
                     f"|z| > {r.underflow_z:.4g}"])
    return text_table(header, rows)


def init_table(comparison: dict[tuple[str, str], InitStatistics]) -> str:
    """:func:`init_comparison` as a text table, one row per (activation, initialisation).

    Columns: the forward gain fan_in·Var[W]; activation std in the first and last
    hidden layer; mean saturated fraction; the mean backward factor per layer
    fan_out·Var[W]·E[f'(z)²] (above 1: gradients grow towards the input); and
    the ratio of the first to the last hidden layer's gradient norm.
    """
    rows = []
    for (activation, label), s in comparison.items():
        factor = s.backward_gain * float(np.mean(s.mean_derivative_sq))
        rows.append([activation, label, f"{s.forward_gain:.3g}", f"{s.act_std[0]:.2g} -> {s.act_std[-1]:.2g}",
                     f"{s.saturated.mean():.0%}", f"{factor:.2g}", f"{s.gradient_ratio:.2g}"])
    header = ["unit", "init", "fan_in*Var[W]", "std layer 1 -> 10", "saturated", "backward factor",
              "grad norm 1st/last"]
    return text_table(header, rows)


def lr_table(runs: dict[float, LearningRateRun]) -> str:
    """:func:`lr_saturation` as a text table: saturated fractions before and after training, test accuracy."""
    rows = []
    for lr, r in runs.items():
        rows.append([f"{lr:g}", f"{r.hidden_saturated[0].mean():.0%}", f"{r.hidden_saturated[-1].mean():.0%}",
                     f"{r.output_saturated[-1]:.0%}", f"{r.test_accuracy:.0%}", "yes" if r.diverged else "no"])
    header = ["lr", "hidden saturated at start", "at end", "outputs saturated at end", "test accuracy", "diverged"]
    return text_table(header, rows)


def digits_table(grid: dict[tuple[float, float], DigitsRun]) -> str:
    """:func:`digits_grid` as a text table: test accuracy at every measurement and the saturated fractions."""
    rows = []
    for (limit, lr), r in grid.items():
        accuracy = " ".join(f"{a:.0%}".rjust(4) for a in r.test_accuracy)
        hidden = f"{r.hidden_saturated[0]:.0%} -> {r.hidden_saturated[-1]:.0%}"
        output = f"{r.output_saturated[0]:.0%} -> {r.output_saturated[-1]:.0%}"
        wrong = f"{r.output_wrong_saturated[0]:.1%} -> {r.output_wrong_saturated[-1]:.1%}"
        rows.append([f"U(±{limit:g})", f"{lr:g}", accuracy, hidden, output, wrong])
    seen = next(iter(grid.values())).epochs_seen
    when = " ".join(f"{e:g}" for e in seen)
    header = ["init", "lr", f"test accuracy after {when} epochs", "hidden saturated", "outputs saturated",
              "saturated, wrong side"]
    return text_table(header, rows)


def output_table(comparison: OutputComparison) -> str:
    """:func:`output_loss_comparison` as a text table: how each loss trained the saturated unit."""
    rows = []
    for r in comparison.runs:
        learned = "never" if r.steps_to_learn is None else str(r.steps_to_learn)
        rows.append([r.loss_name, f"{r.p_positive[0]:.2g}", f"{r.p_positive[-1]:.2g}", learned,
                     f"{r.final_accuracy:.0%}"])
    header = ["loss", "mean σ(z), target 1, start", "after training", "updates to 95% correct", "final accuracy"]
    return text_table(header, rows)
