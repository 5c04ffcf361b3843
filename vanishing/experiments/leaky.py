r"""Notebook 04 (leaky variants): Leaky ReLU, PReLU and Randomized ReLU keep a gradient on the negative side.

All three replace ReLU's flat negative half by a line through the origin:

.. math::

    f(z) = \begin{cases} z & z > 0 \\ s\,z & z \le 0 \end{cases}, \qquad
    f'(z) = \begin{cases} 1 & z > 0 \\ s & z \le 0 \end{cases}

with a negative-side slope :math:`s` that is a fixed constant :math:`\alpha` (Leaky ReLU, Maas et al.
2013), a learned parameter :math:`\alpha_j` per unit (PReLU, He et al. 2015), or :math:`1/a` with a random
divisor :math:`a \sim U(l, u)` drawn afresh in training and fixed at :math:`(l + u)/2` in evaluation
(Randomized ReLU, Xu et al. 2015).

The experiments, each a function returning a small result object:

* :func:`leaky_derivative_check`: the derivative against finite differences, and against the claim
  :math:`\alpha e^z`; :func:`leaky_mean_output`: :math:`E[f(z)]` for :math:`z \sim N(0, 1)`;
* :func:`prelu_gradient_check`, :func:`prelu_training`, :func:`prelu_parameter_count`: PReLU's slope gradient,
  the slopes it learns, and what it adds to a network;
* :func:`rrelu_slopes`, :func:`rrelu_train_eval`: RReLU's slope distribution, and one network in training
  and in evaluation mode;
* :func:`revive_dead_network`: notebook 03's dead network with its ReLU switched to Leaky ReLU;
* :func:`train_variant`, :func:`variant_comparison`: deep networks from a bad start (negative biases),
  over several seeds;
* :func:`explore_variant`: the widget's computation.

A unit counts as *dead* on a probe batch when its pre-activation is :math:`\le 0` for every example
(:func:`dead_fraction_of`). For ReLU that means zero output and zero gradient; a leaky unit in the same
state still passes :math:`s` times the gradient.

This module imports numpy only.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _validate as check
from ..activations import Activation, LeakyReLU, PReLU, ReLU, RReLU, make_activation
from ..data import standardize, two_moons
from ..diagnostics import collect_activations
from ..gradcheck import check_layer, numerical_gradient, rel_error
from ..layers import Dense, Sequential
from ..losses import make_loss
from ..models import dense_layers, mlp
from ..optim import SGD
from ..scenarios import dead_setup
from ..train import Callback, DivergenceError, StopAfter, TrainState, fit

__all__ = [
    "LEAKY_COMPARISON", "LEAKY_VARIANTS", "LeakyDerivativeCheck", "LeakyExploration", "LeakyMean", "LeakyRevival",
    "PReLUTraining", "RReLUModes", "RReLUSlopes", "VariantComparison", "VariantRun", "dead_fraction_of",
    "explore_variant", "leaky_data", "leaky_derivative_check", "leaky_mean_output", "prelu_gradient_check",
    "prelu_parameter_count", "prelu_training", "revive_dead_network", "rrelu_slopes", "rrelu_train_eval",
    "switch_activation", "train_variant", "variant_comparison", "variant_label", "variant_table",
]

NOTEBOOK = "04"

LEAKY_VARIANTS = ("relu", "leaky_relu", "prelu", "rrelu")
"""The activations this notebook compares (names of :data:`vanishing.activations.ACTIVATIONS`)."""

LEAKY_COMPARISON: dict[str, tuple[str, dict[str, float]]] = {
    "ReLU": ("relu", {}),
    "Leaky ReLU α=0.01": ("leaky_relu", {"alpha": 0.01}),
    "Leaky ReLU α=0.2": ("leaky_relu", {"alpha": 0.2}),
    "PReLU (α starts at 0.25)": ("prelu", {"alpha": 0.25}),
    "RReLU (a ~ U(3, 8))": ("rrelu", {"lower": 3.0, "upper": 8.0}),
}
"""The variants of :func:`variant_comparison`: label -> (activation name, its options)."""


def variant_label(activation: str, options: Mapping[str, float] | None = None) -> str:
    """A short legend label: ``"Leaky ReLU α=0.2"``, ``"PReLU (α starts at 0.25)"``..."""
    options = dict(options or {})
    if activation == "relu":
        return "ReLU"
    if activation == "leaky_relu":
        return f"Leaky ReLU α={options.get('alpha', 0.01):g}"
    if activation == "prelu":
        return f"PReLU (α starts at {options.get('alpha', 0.25):g})"
    if activation == "rrelu":
        return f"RReLU (a ~ U({options.get('lower', 3.0):g}, {options.get('upper', 8.0):g}))"
    return activation


def dead_fraction_of(z: np.ndarray) -> float:
    r"""Fraction of units whose pre-activation is :math:`\le 0` on every row of ``z`` (N, D).

    For ReLU these units output 0 on every example and get no gradient at all
    (:func:`vanishing.diagnostics.dead_fraction` counts the same units from the
    outputs). The count is made on the pre-activations so that it means the same
    for every variant: a leaky unit in this state is not silent, it passes
    :math:`s` times the gradient.
    """
    z = check.array("z", z, ndim=2, finite=False)
    return float(np.mean(np.all(z <= 0, axis=0)))


# --- 1. Leaky ReLU's derivative ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeakyDerivativeCheck:
    r"""Leaky ReLU's derivative three ways, and the claim :math:`\alpha e^z`, at points ``z``.

    Attributes
    ----------
    alpha
        The slope.
    z
        ``(P,)`` the points, none within 0.01 of the kink at 0.
    finite_difference
        ``(P,)`` :math:`(f(z + h) - f(z - h))/2h` (:func:`vanishing.gradcheck.numerical_gradient`).
    engine_backward
        ``(P,)`` what ``LeakyReLU.backward`` passes back for ``dout = 1``.
    claimed
        ``(P,)`` 1 for z > 0 and :math:`\alpha e^z` for z ≤ 0.
    error_engine, error_claim
        :func:`vanishing.gradcheck.rel_error` of each against the finite differences on the
        negative side (z < 0), where the two rules differ; for z > 0 both give 1.
    layer_errors
        :func:`vanishing.gradcheck.check_layer` on a random batch: ``{"x": error}``.
    """

    alpha: float
    z: np.ndarray
    finite_difference: np.ndarray
    engine_backward: np.ndarray
    claimed: np.ndarray
    error_engine: float
    error_claim: float
    layer_errors: dict[str, float]

    @property
    def negative(self) -> np.ndarray:
        """Mask of the points with z < 0."""
        return self.z < 0

    def claim_ratio(self, z: float) -> float:
        """How many times smaller :math:`\\alpha e^z` is than the true derivative α at a point z < 0."""
        return float(1.0 / np.exp(z))


def _away_from_zero(z: np.ndarray, gap: float) -> np.ndarray:
    """``z`` with every entry closer than ``gap`` to the kink at 0 moved out to ±gap (0 goes to +gap)."""
    return np.where(np.abs(z) < gap, np.where(z < 0, -gap, gap), z)


def leaky_derivative_check(alpha: float = 0.01, *, z: np.ndarray | None = None, h: float = 1e-6,
                           rng: np.random.Generator) -> LeakyDerivativeCheck:
    r"""Compare Leaky ReLU's backward with centred finite differences, and with the claim :math:`\alpha e^z`.

    The numerical derivative of the scalar :math:`\sum_i f(z_i)` with respect to
    :math:`z_i` is :math:`f'(z_i)`, so one call of
    :func:`vanishing.gradcheck.numerical_gradient` gives the derivative at every
    point. Points are moved at least 0.01 away from the kink (the finite
    difference straddles it otherwise). ``rng`` draws the batch of
    :func:`vanishing.gradcheck.check_layer`.
    """
    check.non_negative("alpha", alpha)
    check.rng("rng", rng)
    if z is None:
        z = np.linspace(-5.0, 3.0, 33)
    z = _away_from_zero(np.array(check.array("z", np.asarray(z, dtype=np.float64), ndim=1), copy=True), 0.01)
    layer = LeakyReLU(alpha)
    probe = z.copy()
    finite = numerical_gradient(lambda: float(np.sum(layer.fn(probe))), probe, h)
    layer.forward(z[None, :])
    engine = layer.backward(np.ones((1, z.size)))[0]
    claimed = np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))
    batch = _away_from_zero(rng.normal(0.0, 2.0, size=(8, 5)), 0.01)
    return LeakyDerivativeCheck(
        alpha=float(alpha), z=z, finite_difference=finite, engine_backward=engine, claimed=claimed,
        error_engine=rel_error(engine[z < 0], finite[z < 0]), error_claim=rel_error(claimed[z < 0], finite[z < 0]),
        layer_errors=check_layer(LeakyReLU(alpha), batch, rng=rng),
    )


@dataclass(frozen=True)
class LeakyMean:
    r""":math:`E[f(z)]` for :math:`z \sim N(0, 1)`, exact and sampled, for several slopes.

    Exact: :math:`E[f(z)] = (1 - \alpha)\,E[\max(0, z)] = (1 - \alpha)/\sqrt{2\pi}`, since
    :math:`f(z) = \max(0, z) + \alpha \min(0, z)` and :math:`E[\min(0, z)] = -1/\sqrt{2\pi}`.
    """

    alphas: np.ndarray
    exact: np.ndarray
    sampled: np.ndarray
    standard_error: np.ndarray
    n: int


def leaky_mean_output(alphas: Sequence[float] = (0.0, 0.01, 0.2, 0.25, 1.0), *, n: int = 200_000,
                      rng: np.random.Generator) -> LeakyMean:
    r"""The mean output of Leaky ReLU on standard normal inputs, exact and measured with the engine.

    Zero-centred outputs need :math:`\alpha = 1`, the identity: any slope below 1
    leaves a positive mean, and :math:`\alpha = 0.01` changes ReLU's mean by 1 %.
    """
    check.positive("n", n, integer=True)
    check.rng("rng", rng)
    alphas = np.array([check.non_negative(f"alphas[{i}]", a) for i, a in enumerate(alphas)], dtype=np.float64)
    z = rng.standard_normal(n)
    outputs = [LeakyReLU(a).fn(z) for a in alphas]
    return LeakyMean(alphas=alphas, exact=(1.0 - alphas) / math.sqrt(2.0 * math.pi),
                     sampled=np.array([o.mean() for o in outputs]),
                     standard_error=np.array([o.std() / math.sqrt(n) for o in outputs]), n=n)


# --- 2. PReLU ------------------------------------------------------------------------------------------------------

def prelu_gradient_check(*, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    r"""``check_layer`` on PReLU with one slope per unit and with one shared slope.

    Returns ``{"per unit": {"x": err, "alpha": err}, "shared": {...}}``: the
    relative errors of ``backward`` (dx and :math:`\partial L/\partial\alpha`)
    against finite differences. The slopes are random, some negative.
    """
    check.rng("rng", rng)
    batch = _away_from_zero(rng.normal(0.0, 1.5, size=(6, 4)), 0.01)
    per_unit = PReLU(num_units=4)
    per_unit.params["alpha"][...] = rng.uniform(-0.5, 1.0, size=4)
    shared = PReLU(num_units=1, alpha=0.3)
    return {"per unit": check_layer(per_unit, batch, rng=rng), "shared": check_layer(shared, batch, rng=rng)}


def prelu_parameter_count(sizes: Sequence[int]) -> dict[str, int]:
    """How many parameters PReLU adds to an MLP with these layer widths (one slope per hidden unit).

    Returns ``{"dense": weights and biases, "prelu": slopes}``, counted from
    a network built by :func:`vanishing.mlp`.
    """
    model = mlp(list(sizes), "prelu", rng=np.random.default_rng(0))
    dense = sum(p.size for i, layer in dense_layers(model) for p in layer.params.values())
    slopes = sum(layer.params["alpha"].size for layer in model if isinstance(layer, PReLU))
    return {"dense": int(dense), "prelu": int(slopes)}


@dataclass(frozen=True)
class PReLUTraining:
    """What :func:`prelu_training` measured.

    Attributes
    ----------
    alpha_start
        The slope every unit starts with.
    alphas
        Per hidden layer, ``(width,)`` the learned slopes after training.
    alpha_path
        ``(steps + 1, width)`` the slopes of hidden layer 1 before training and after every step.
    loss
        ``(steps,)`` the training loss of every step.
    final_loss, accuracy
        On the whole training set, in evaluation mode, after training.
    sizes, steps, lr
        The settings.
    """

    alpha_start: float
    alphas: list[np.ndarray]
    alpha_path: np.ndarray
    loss: np.ndarray
    final_loss: float
    accuracy: float
    sizes: tuple[int, ...]
    steps: int
    lr: float


class _SlopeRecorder(Callback):
    """Copies the slopes of one PReLU layer before training and after every step."""

    def __init__(self, layer: PReLU) -> None:
        self.layer = layer
        self.rows: list[np.ndarray] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.rows = [self.layer.params["alpha"].copy()]

    def on_step_end(self, state: TrainState) -> None:
        self.rows.append(self.layer.params["alpha"].copy())


def prelu_training(*, depth: int = 4, width: int = 24, alpha: float = 0.25, epochs: int = 40, lr: float = 0.05,
                   seed: int = 0) -> PReLUTraining:
    """Train a PReLU MLP on two moons (He init, SGD with momentum 0.9) and return the slopes it learned.

    The data are :func:`leaky_data`; the network is ``depth`` hidden layers
    of ``width`` PReLU units whose slopes all start at ``alpha``, trained for
    ``epochs`` epochs of batches of 50 with learning rate ``lr``. Weights and
    batch order come from ``numpy.random.default_rng(seed)``.
    """
    check.positive("depth", depth, integer=True)
    check.positive("width", width, integer=True)
    check.number("alpha", alpha)
    check.positive("epochs", epochs, integer=True)
    check.non_negative("seed", seed, integer=True)
    X, y = leaky_data()
    rng = np.random.default_rng(seed)
    sizes = (X.shape[1],) + (width,) * depth + (1,)
    model = mlp(sizes, "prelu", rng=rng, init="he_uniform", activation_options={"alpha": alpha})
    slopes = [layer for layer in model if isinstance(layer, PReLU)]
    recorder = _SlopeRecorder(slopes[0])
    history = fit(model, "bce_logits", SGD(model, lr=lr, momentum=0.9), X, y, epochs=epochs, batch_size=50,
                  rng=rng, callbacks=[recorder])
    loss = make_loss("bce_logits")
    model.eval()
    out = model.forward(X)
    final = loss.forward(out, y)
    return PReLUTraining(alpha_start=float(alpha), alphas=[layer.params["alpha"].copy() for layer in slopes],
                         alpha_path=np.array(recorder.rows), loss=np.array(history.loss), final_loss=final,
                         accuracy=float(np.mean((out > 0) == (y > 0.5))), sizes=sizes, steps=history.steps, lr=lr)


# --- 3. Randomized ReLU --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RReLUSlopes:
    r"""RReLU's negative-side slopes, as the engine draws them, and the numbers around them.

    Attributes
    ----------
    lower, upper
        The divisor's range: :math:`a \sim U(l, u)` in training, slope :math:`1/a`.
    samples
        ``(n,)`` slopes the engine drew in one training-mode forward (from :math:`-f(-1)`).
    eval_slope
        The engine's evaluation slope, :math:`2/(l + u)` (1/5.5 for l = 3, u = 8).
    mean_slope_exact
        :math:`E[1/a] = \ln(u/l)/(u - l)`: the mean slope *during training*.
    mean_slope_sampled, mean_slope_se
        The mean of ``samples`` and its standard error.
    other_samples
        ``(n,)`` slopes drawn from :math:`U(1/u, 1/l)`, the other convention (slope uniform).
    other_mean
        :math:`(1/u + 1/l)/2`, that convention's mean and evaluation slope.
    claim_mean, claim_negative_fraction
        The seed text's two descriptions: a slope from :math:`U(0, 1)` has mean 1/2; a uniform slope with
        mean 0 and standard deviation 1 is :math:`U(-\sqrt3, \sqrt3)`, negative half of the time.
    """

    lower: float
    upper: float
    samples: np.ndarray
    eval_slope: float
    mean_slope_exact: float
    mean_slope_sampled: float
    mean_slope_se: float
    other_samples: np.ndarray
    other_mean: float
    claim_mean: float
    claim_negative_fraction: float

    @property
    def slope_range(self) -> tuple[float, float]:
        """(min, max) of the slopes: (1/u, 1/l)."""
        return 1.0 / self.upper, 1.0 / self.lower

    def density(self, s: np.ndarray) -> np.ndarray:
        r"""The density of the slope :math:`s = 1/a`: :math:`1/((u - l)s^2)` on :math:`[1/u, 1/l]`."""
        s = np.asarray(s, dtype=np.float64)
        inside = (s >= 1.0 / self.upper) & (s <= 1.0 / self.lower)
        return np.where(inside, 1.0 / ((self.upper - self.lower) * np.maximum(s, 1e-300) ** 2), 0.0)


def rrelu_slopes(lower: float = 3.0, upper: float = 8.0, *, n: int = 100_000,
                 rng: np.random.Generator) -> RReLUSlopes:
    r"""Draw ``n`` slopes with the engine's RReLU (Xu et al. 2015: :math:`a \sim U(l, u)`, slope :math:`1/a`).

    One training-mode forward of a column of −1s gives :math:`f(-1) = -1/a`, so
    the slopes are read from the layer's own output. The same number of slopes
    is drawn from :math:`U(1/u, 1/l)` for comparison.
    """
    check.positive("n", n, integer=True)
    check.rng("rng", rng)
    layer = RReLU(lower, upper, rng=rng)
    samples = -layer.forward(-np.ones((n, 1)))[:, 0]
    lower, upper = layer.lower, layer.upper
    mean_exact = math.log(upper / lower) / (upper - lower) if upper > lower else 1.0 / lower
    return RReLUSlopes(
        lower=lower, upper=upper, samples=samples, eval_slope=layer.eval_slope, mean_slope_exact=mean_exact,
        mean_slope_sampled=float(samples.mean()), mean_slope_se=float(samples.std() / math.sqrt(n)),
        other_samples=rng.uniform(1.0 / upper, 1.0 / lower, size=n), other_mean=(1.0 / upper + 1.0 / lower) / 2,
        claim_mean=0.5, claim_negative_fraction=0.5,
    )


@dataclass(frozen=True)
class RReLUModes:
    """One trained RReLU network run on the same inputs in training mode (several times) and in evaluation mode.

    Attributes
    ----------
    eval_output
        ``(m,)`` the logits of the first ``m`` examples in evaluation mode.
    eval_repeat_identical
        True when a second evaluation-mode forward gives bit-for-bit the same outputs.
    train_outputs
        ``(draws, m)`` the same logits in training mode, one row per forward (fresh slopes each time).
    eval_loss
        The loss on the whole data set in evaluation mode.
    train_losses
        ``(draws,)`` the loss on the whole data set in training mode, one per forward.
    final_step_loss
        The last training-step loss :func:`vanishing.fit` reported (a training-mode number, on one batch).
    """

    eval_output: np.ndarray
    eval_repeat_identical: bool
    train_outputs: np.ndarray
    eval_loss: float
    train_losses: np.ndarray
    final_step_loss: float

    @property
    def output_spread(self) -> np.ndarray:
        """``(m,)`` max − min of each example's training-mode outputs."""
        return self.train_outputs.max(axis=0) - self.train_outputs.min(axis=0)


def rrelu_train_eval(*, depth: int = 3, width: int = 16, epochs: int = 20, draws: int = 30, examples: int = 12,
                     seed: int = 0) -> RReLUModes:
    """Train an RReLU MLP on :func:`leaky_data`, then run it in training and in evaluation mode.

    ``draws`` training-mode forwards of the whole data set (each draws new
    slopes) against one evaluation-mode forward (the fixed slope 2/(l + u)).
    Everything random comes from ``numpy.random.default_rng(seed)``.
    """
    check.positive("draws", draws, integer=True)
    check.positive("examples", examples, integer=True)
    check.non_negative("seed", seed, integer=True)
    X, y = leaky_data()
    rng = np.random.default_rng(seed)
    model = mlp((X.shape[1],) + (width,) * depth + (1,), "rrelu", rng=rng, init="he_uniform")
    history = fit(model, "bce_logits", SGD(model, lr=0.05, momentum=0.9), X, y, epochs=epochs, batch_size=50,
                  rng=rng)
    loss = make_loss("bce_logits")
    m = min(examples, len(X))
    model.eval()
    eval_out = model.forward(X)
    again = model.forward(X)
    eval_loss = loss.forward(eval_out, y)
    model.train()
    train_out, train_losses = [], []
    for _ in range(draws):
        out = model.forward(X)
        train_out.append(out[:m, 0])
        train_losses.append(loss.forward(out, y))
    return RReLUModes(eval_output=eval_out[:m, 0].copy(), eval_repeat_identical=bool(np.array_equal(eval_out, again)),
                      train_outputs=np.array(train_out), eval_loss=eval_loss, train_losses=np.array(train_losses),
                      final_step_loss=history.loss[-1])


# --- 4. reviving notebook 03's dead network ------------------------------------------------------------------------

def switch_activation(model: Sequential, activation: str, **options: Any) -> Sequential:
    """A copy of ``model`` whose ReLU layers are replaced by ``activation`` (same weights and biases).

    Every other layer is deep-copied, so training the copy leaves ``model``
    untouched. ``options`` go to :func:`vanishing.make_activation`
    (``alpha=0.01``); RReLU gets a generator seeded 0 unless ``rng`` is given.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model={model!r} must be a vanishing.layers.Sequential")
    rng = options.pop("rng", None)
    layers = []
    width = None
    for layer in model:
        if isinstance(layer, Dense):
            width = layer.out_features
        if isinstance(layer, ReLU):
            layers.append(make_activation(activation, width=width or 1,
                                          rng=rng if rng is not None else np.random.default_rng(0), **options))
        else:
            layers.append(copy.deepcopy(layer))
    return Sequential(layers)


@dataclass(frozen=True)
class LeakyRevival:
    """Notebook 03's dead network, trained as it is (ReLU) and with Leaky ReLU in its place.

    Attributes
    ----------
    labels
        One per run: ``"ReLU"``, ``"Leaky ReLU α=0.01"``...
    alphas
        The slope of each run (0 for ReLU).
    record_steps
        ``(R,)`` the steps after which the whole data set was probed (0 = before training).
    loss
        ``(runs, R)`` loss on the whole data set at those steps.
    hidden_grad, hidden_bias_grad
        ``(runs, R)`` :math:`\\|\\partial L/\\partial W\\|` and :math:`\\|\\partial L/\\partial b\\|` of the
        hidden layer on the whole data set.
    alive
        ``(runs, R)`` fraction of hidden units with z > 0 on at least one example.
    max_z
        The largest hidden pre-activation over all units and examples at the start (every run starts
        from the same weights).
    linear_loss
        The loss a linear model (``Dense(2, 1)``, trained the same way for twice as many steps) reaches:
        what the network can do while every hidden unit stays on its negative side.
    prior_loss
        The loss of predicting the class frequency for every example (what the output bias alone can reach).
    steps, lr
        The settings.
    """

    labels: list[str]
    alphas: list[float]
    record_steps: np.ndarray
    loss: np.ndarray
    hidden_grad: np.ndarray
    hidden_bias_grad: np.ndarray
    alive: np.ndarray
    max_z: float
    linear_loss: float
    prior_loss: float
    steps: int
    lr: float

    def at(self, step: int) -> int:
        """The column of the records taken after ``step`` steps."""
        where = np.flatnonzero(self.record_steps == step)
        if where.size == 0:
            raise ValueError(f"step={step!r} was not recorded; allowed: {self.record_steps[0]}, "
                             f"{self.record_steps[1]}, ..., {self.record_steps[-1]}")
        return int(where[0])


class _WholeDataProbe(Callback):
    """Before training and after every ``every``-th step, on the whole data set: the loss, the hidden layer's
    gradient norms (weights and bias) and the fraction of its units with z > 0 on some example.

    The probe's own forward and backward overwrite the layers' caches and
    gradients after the optimizer has used them; the next step recomputes both,
    so training is unchanged.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, every: int) -> None:
        self.X, self.y, self.every = X, y, every
        self.loss = make_loss("bce_logits")
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.alive: list[float] = []
        self.grads: list[float] = []
        self.bias_grads: list[float] = []

    def _probe(self, model: Sequential, step: int) -> None:
        self.steps.append(step)
        self.losses.append(self.loss.forward(model.forward(self.X), self.y))
        model.backward(self.loss.backward())
        hidden = model[0]
        self.grads.append(float(np.linalg.norm(hidden.grads["W"])))
        self.bias_grads.append(float(np.linalg.norm(hidden.grads["b"])))
        z = self.X @ hidden.params["W"] + hidden.params["b"]
        self.alive.append(float(np.mean(np.any(z > 0, axis=0))))

    def on_train_begin(self, state: TrainState) -> None:
        self._probe(state.model, 0)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._probe(state.model, state.step)


def _bernoulli_entropy(p: float) -> float:
    return float(-(p * math.log(p) + (1 - p) * math.log(1 - p))) if 0 < p < 1 else 0.0


def revive_dead_network(alphas: Sequence[float] = (0.01, 0.2), *, steps: int = 300, lr: float = 0.1, every: int = 2,
                        dead_network: Callable[..., Any] | None = None, seed: int = 0) -> LeakyRevival:
    r"""Train notebook 03's dead network with ReLU, and with Leaky ReLU at each slope in ``alphas``.

    The network comes from :func:`vanishing.experiments.dead_setup` (notebook
    03): two moons, one hidden layer of 16 ReLU units whose biases were lowered
    until :math:`XW + B \le -1` on every input. Each run starts from a copy of
    the same weights with only the activation switched
    (:func:`switch_activation`), and trains with SGD (momentum 0.9, batches of
    50, the same batch order). The whole data set is probed before training and
    after every ``every``-th step. ``dead_network`` replaces ``dead_setup`` (a
    function of ``seed=`` returning an object with ``X``, ``y``, ``model``).
    The reference linear model trains for twice as many steps.
    """
    check.positive("steps", steps, integer=True)
    check.positive("every", every, integer=True)
    if steps % every:
        raise ValueError(f"steps={steps} is not a multiple of every={every}; allowed: steps = k * every")
    check.positive("lr", lr)
    check.non_negative("seed", seed, integer=True)
    alphas = [check.positive(f"alphas[{i}]", a) for i, a in enumerate(alphas)]
    if dead_network is None:
        setup = dead_setup(rng=np.random.default_rng(seed))
    else:
        setup = dead_network(seed=seed)
    X = setup.X
    y = setup.y.reshape(len(X), -1).astype(np.float64)
    batch = 50
    epochs = math.ceil(steps / math.ceil(len(X) / batch))
    z0 = collect_activations(setup.model, X)[0].out
    runs = [("ReLU", 0.0, switch_activation(setup.model, "relu"))]
    runs += [(f"Leaky ReLU α={a:g}", float(a), switch_activation(setup.model, "leaky_relu", alpha=a)) for a in alphas]
    labels, slopes, losses, grads, bias_grads, alive = [], [], [], [], [], []
    for label, alpha, model in runs:
        probe = _WholeDataProbe(X, y, every)
        fit(model, "bce_logits", SGD(model, lr=lr, momentum=0.9), X, y, epochs=epochs, batch_size=batch,
            rng=np.random.default_rng(seed + 1), callbacks=[probe, StopAfter(steps)])
        labels.append(label)
        slopes.append(alpha)
        losses.append(probe.losses)
        grads.append(probe.grads)
        bias_grads.append(probe.bias_grads)
        alive.append(probe.alive)
    linear = Sequential([Dense(X.shape[1], y.shape[1], rng=np.random.default_rng(seed))])
    fit(linear, "bce_logits", SGD(linear, lr=lr, momentum=0.9), X, y, epochs=2 * epochs, batch_size=batch,
        rng=np.random.default_rng(seed + 1), callbacks=[StopAfter(2 * steps)])
    linear.eval()
    return LeakyRevival(labels=labels, alphas=slopes, record_steps=np.array(probe.steps), loss=np.array(losses),
                        hidden_grad=np.array(grads), hidden_bias_grad=np.array(bias_grads), alive=np.array(alive),
                        max_z=float(z0.max()), linear_loss=make_loss("bce_logits").forward(linear.forward(X), y),
                        prior_loss=_bernoulli_entropy(float(y.mean())), steps=steps, lr=lr)


# --- 5. deep networks from a bad start -----------------------------------------------------------------------------

def leaky_data(n: int = 200, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two moons (noise 0.1), standardised; ``X`` (n, 2), ``y`` (n, 1) with labels 0/1."""
    check.positive("n", n, integer=True)
    X, y = two_moons(n, noise=0.1, rng=np.random.default_rng(seed))
    X, _ = standardize(X)
    return X, y.reshape(-1, 1).astype(np.float64)


@dataclass(frozen=True)
class VariantRun:
    """One training run of :func:`train_variant`.

    Attributes
    ----------
    label
        Legend label of the variant.
    record_steps
        ``(R,)`` the steps after which the network was measured (0 = before training).
    loss
        ``(R,)`` the loss on the whole data set (evaluation mode) at those steps; NaN after a divergence.
    dead
        ``(R, layers)`` the dead fraction of every hidden layer (:func:`dead_fraction_of`).
    mean_activation
        ``(R, layers)`` the mean output of every hidden layer.
    diverged
        True when training stopped on a non-finite loss or parameter.
    prelu_alphas
        For PReLU, the learned slopes of every hidden layer at the end (else empty).
    """

    label: str
    record_steps: np.ndarray
    loss: np.ndarray
    dead: np.ndarray
    mean_activation: np.ndarray
    diverged: bool
    prelu_alphas: list[np.ndarray] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    @property
    def final_dead(self) -> float:
        """The mean over hidden layers of the dead fraction at the end."""
        return float(np.mean(self.dead[-1]))


class _LayerProbe(Callback):
    """Every ``every`` steps: loss, dead fraction and mean output per hidden layer on the whole data set."""

    def __init__(self, X: np.ndarray, y: np.ndarray, every: int, hidden: list[int]) -> None:
        self.X, self.y, self.every, self.hidden = X, y, every, hidden
        self.loss = make_loss("bce_logits")
        self.steps: list[int] = []
        self.rows: list[tuple[float, list[float], list[float]]] = []

    def _probe(self, model: Sequential, step: int) -> None:
        layers = collect_activations(model, self.X)
        value = self.loss.forward(layers[-1].out, self.y)
        dead = [float(np.mean(np.all(layers[i].x <= 0, axis=0))) for i in self.hidden]  # dead_fraction_of
        mean = [float(layers[i].out.mean()) for i in self.hidden]
        self.steps.append(step)
        self.rows.append((value, dead, mean))

    def on_train_begin(self, state: TrainState) -> None:
        self._probe(state.model, 0)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._probe(state.model, state.step)


def train_variant(activation: str, options: Mapping[str, float] | None = None, *, seed: int = 0, depth: int = 6,
                  width: int = 16, bias: float = -1.0, lr: float = 0.1, steps: int = 80, every: int = 4,
                  data: tuple[np.ndarray, np.ndarray] | None = None) -> VariantRun:
    r"""Train one deep MLP from a bad start: every hidden bias starts at ``bias`` (< 0 pushes units off).

    ``depth`` hidden layers of ``width`` units (He uniform weights, drawn from
    ``default_rng(seed)``: every variant with the same seed starts from the same
    weights), binary cross-entropy on :func:`leaky_data`, SGD with momentum
    0.9 and learning rate ``lr``, batches of 50 in an order fixed by the seed,
    ``steps`` steps. Loss, dead fractions and mean outputs are measured on the
    whole data set in evaluation mode every ``every`` steps. A divergence ends
    the run and leaves NaN in the later records.
    """
    check.choice("activation", activation, LEAKY_VARIANTS)
    check.non_negative("seed", seed, integer=True)
    check.positive("depth", depth, integer=True)
    check.positive("width", width, integer=True)
    check.number("bias", bias)
    check.positive("lr", lr)
    check.positive("steps", steps, integer=True)
    check.positive("every", every, integer=True)
    options = dict(options or {})
    for key, value in options.items():
        check.number(f"options[{key!r}]", value)
    settings = (int(seed), int(depth), int(width), float(bias), float(lr), int(steps), int(every))
    if data is None:
        # the notebook, the widget and the self-check train the same runs again and again: keep them
        return _run_on_default_data(activation, tuple(sorted(options.items())), *settings)
    return _run_variant(activation, options, *settings, data=data)


@functools.lru_cache(maxsize=512)
def _run_on_default_data(activation: str, options: tuple[tuple[str, float], ...], seed: int, depth: int, width: int,
                         bias: float, lr: float, steps: int, every: int) -> VariantRun:
    """:func:`_run_variant` on :func:`leaky_data`, remembered: the runs are deterministic and their arrays read-only."""
    return _run_variant(activation, dict(options), seed, depth, width, bias, lr, steps, every, data=leaky_data())


def _run_variant(activation: str, options: dict[str, float], seed: int, depth: int, width: int, bias: float,
                 lr: float, steps: int, every: int, *, data: tuple[np.ndarray, np.ndarray]) -> VariantRun:
    X, y = data
    rng = np.random.default_rng(seed)
    model = mlp((X.shape[1],) + (width,) * depth + (1,), activation, rng=rng, init="he_uniform", bias=bias,
                activation_options=options)
    hidden = [i for i, layer in enumerate(model) if isinstance(layer, Activation)]
    probe = _LayerProbe(X, y, every, hidden)
    batch = 50
    epochs = math.ceil(steps / math.ceil(len(X) / batch))
    diverged = False
    # a run that blows up is a result here (the widget shows it), not a warning: its overflows stay silent,
    # in the probes too
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            fit(model, "bce_logits", SGD(model, lr=lr, momentum=0.9), X, y, epochs=epochs, batch_size=batch,
                rng=np.random.default_rng(seed + 10_000), callbacks=[probe, StopAfter(steps)])
        except DivergenceError:
            diverged = True
        if probe.steps[-1] != steps and not diverged:
            probe._probe(model, steps)
    record_steps = np.arange(0, steps + 1, every)
    if record_steps[-1] != steps:
        record_steps = np.append(record_steps, steps)
    loss = np.full(len(record_steps), np.nan)
    dead = np.full((len(record_steps), len(hidden)), np.nan)
    mean = np.full((len(record_steps), len(hidden)), np.nan)
    position = {s: k for k, s in enumerate(record_steps)}
    for step, (value, d, m) in zip(probe.steps, probe.rows, strict=True):
        if step in position and math.isfinite(value):
            k = position[step]
            loss[k], dead[k], mean[k] = value, d, m
    alphas = [layer.params["alpha"].copy() for layer in model if isinstance(layer, PReLU)]
    for array in (record_steps, loss, dead, mean, *alphas):
        array.setflags(write=False)
    return VariantRun(label=variant_label(activation, options), record_steps=record_steps, loss=loss, dead=dead,
                      mean_activation=mean, diverged=diverged, prelu_alphas=alphas)


@dataclass(frozen=True)
class VariantComparison:
    """Several variants x several seeds of :func:`train_variant`, from the same bad start.

    Attributes
    ----------
    labels
        The variants, in order.
    seeds
        The seeds (each gives every variant the same initial weights).
    record_steps
        ``(R,)`` the measurement steps.
    loss
        ``(variants, seeds, R)`` loss on the whole data set.
    dead, mean_activation
        ``(variants, seeds, R, layers)``.
    diverged
        ``(variants, seeds)`` bool.
    prelu_alphas
        For the PReLU variant (if any), per seed, the learned slopes of every hidden layer.
    settings
        depth, width, bias, lr, steps.
    """

    labels: list[str]
    seeds: list[int]
    record_steps: np.ndarray
    loss: np.ndarray
    dead: np.ndarray
    mean_activation: np.ndarray
    diverged: np.ndarray
    prelu_alphas: list[list[np.ndarray]]
    settings: dict[str, float]

    def spread(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, min, max) over the seed axis (axis 1) of a ``(variants, seeds, ...)`` array, NaN-aware."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice (every seed diverged) stays NaN
            return np.nanmedian(values, axis=1), np.nanmin(values, axis=1), np.nanmax(values, axis=1)

    @property
    def final_loss(self) -> np.ndarray:
        """``(variants, seeds)`` the loss at the last step."""
        return self.loss[:, :, -1]

    @property
    def final_dead(self) -> np.ndarray:
        """``(variants, seeds, layers)`` the dead fractions at the last step."""
        return self.dead[:, :, -1]


def variant_comparison(variants: Mapping[str, tuple[str, Mapping[str, float]]] | None = None, *,
                       seeds: Sequence[int] = (0, 1, 2, 3, 4), depth: int = 6, width: int = 16, bias: float = -1.0,
                       lr: float = 0.1, steps: int = 80, every: int = 4) -> VariantComparison:
    """Train every variant (default :data:`LEAKY_COMPARISON`) with every seed by :func:`train_variant`."""
    variants = dict(LEAKY_COMPARISON if variants is None else variants)
    if not variants:
        raise ValueError("variants is empty; give at least one label -> (activation, options)")
    seeds = [check.non_negative(f"seeds[{i}]", s, integer=True) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed")
    runs = [[train_variant(name, options, seed=s, depth=depth, width=width, bias=bias, lr=lr, steps=steps,
                           every=every) for s in seeds] for name, options in variants.values()]
    prelu = [run.prelu_alphas for row in runs for run in row if run.prelu_alphas]
    return VariantComparison(
        labels=list(variants), seeds=seeds, record_steps=runs[0][0].record_steps,
        loss=np.array([[r.loss for r in row] for row in runs]),
        dead=np.array([[r.dead for r in row] for row in runs]),
        mean_activation=np.array([[r.mean_activation for r in row] for row in runs]),
        diverged=np.array([[r.diverged for r in row] for row in runs]), prelu_alphas=prelu,
        settings={"depth": depth, "width": width, "bias": bias, "lr": lr, "steps": steps},
    )


def variant_table(comparison: VariantComparison) -> str:
    """A text table: per variant, the final loss and the dead fraction of the first and last hidden layer."""
    loss, lo, hi = comparison.spread(comparison.final_loss)
    dead, _, _ = comparison.spread(comparison.final_dead)
    rows = [f"{'variant':26s} {'final loss: median [min, max]':>30s}   dead fraction, layer 1 .. {dead.shape[1]}"]
    for k, label in enumerate(comparison.labels):
        dead_text = " ".join(f"{d:4.2f}" for d in dead[k])
        diverged = int(comparison.diverged[k].sum())
        note = f"  ({diverged} diverged)" if diverged else ""
        rows.append(f"{label:26s} {loss[k]:10.3f} [{lo[k]:.3f}, {hi[k]:.3f}]        {dead_text}{note}")
    return "\n".join(rows)


# --- 6. the widget's computation -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeakyExploration:
    """What :func:`explore_variant` computed: the activation's curves and training from a bad start.

    Attributes
    ----------
    activation, alpha, depth, width, bias
        The settings.
    label
        The variant's legend label.
    z, f, derivative
        ``(G,)`` the activation and its (evaluation-mode) derivative on a grid.
    slope_band
        For RReLU, (smallest, largest) training slope; else None.
    runs, baseline
        Per seed, the :class:`VariantRun` of the variant and of ReLU from the same start.
    """

    activation: str
    alpha: float
    depth: int
    width: int
    bias: float
    label: str
    z: np.ndarray
    f: np.ndarray
    derivative: np.ndarray
    slope_band: tuple[float, float] | None
    runs: list[VariantRun]
    baseline: list[VariantRun]


def _widget_options(activation: str, alpha: float) -> dict[str, float]:
    if activation in ("leaky_relu", "prelu"):
        return {"alpha": float(alpha)}
    return {}


def explore_variant(activation: str = "leaky_relu", alpha: float = 0.2, *, depth: int = 6, width: int = 16,
                    bias: float = -1.0, seeds: Sequence[int] = (0, 1, 2), steps: int = 80,
                    lr: float = 0.1) -> LeakyExploration:
    """The widget's computation: one variant against ReLU from the same bad start, over a few seeds.

    ``alpha`` is Leaky ReLU's slope, or PReLU's starting slope; RReLU uses
    Xu et al.'s :math:`a \\sim U(3, 8)` and ReLU ignores it.
    """
    check.choice("activation", activation, LEAKY_VARIANTS)
    check.number("alpha", alpha, low=0, high=1)
    options = _widget_options(activation, alpha)
    layer = make_activation(activation, rng=np.random.default_rng(0), **options)
    z = np.linspace(-3.0, 3.0, 241)
    band = None
    if isinstance(layer, RReLU):
        band = (1.0 / layer.upper, 1.0 / layer.lower)
    kwargs = {"depth": depth, "width": width, "bias": bias, "lr": lr, "steps": steps}
    runs = [train_variant(activation, options, seed=s, **kwargs) for s in seeds]
    baseline = runs if activation == "relu" else [train_variant("relu", seed=s, **kwargs) for s in seeds]
    return LeakyExploration(activation=activation, alpha=float(alpha), depth=depth, width=width, bias=float(bias),
                       label=variant_label(activation, options), z=z, f=np.asarray(layer.fn(z)),
                       derivative=np.asarray(layer.derivative(z)), slope_band=band, runs=runs, baseline=baseline)
