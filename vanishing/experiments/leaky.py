r"""Notebook 04 (leaky variants): the training runs that the notebook, its widget and its self-check repeat.

Leaky ReLU, PReLU and Randomized ReLU give ReLU's flat negative half a slope :math:`s`:
:math:`f(z) = z` for :math:`z > 0` and :math:`s z` otherwise. The notebook writes its experiments in
its own cells; this module keeps what several of them share:

* :func:`leaky_data`: the two-moons data every run trains on;
* :func:`whole_data_measures`: loss, dead fraction and mean output of every hidden layer on a data set,
  for :class:`vanishing.diagnostics.Probe`;
* :class:`StopWhenFlat`: a callback that ends training once the loss curve is flat;
* :func:`train_variant`: one deep MLP trained from a bad start (every hidden bias negative);
* :func:`explore_variant`: the widget's computation (a variant and ReLU, from several starts).

A unit counts as *dead* on a data set when its pre-activation is :math:`\le 0` on every example:
the course's one definition, :func:`vanishing.diagnostics.dead_fraction`, applied to
:math:`\max(0, z)`. For ReLU such a unit passes no gradient at all; a leaky unit in the same
state still passes :math:`s` times the gradient.

This module imports numpy only.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import _validate as check
from ..activations import Activation, PReLU, RReLU, make_activation
from ..data import standardize, two_moons
from ..diagnostics import Probe, collect_activations, dead_fraction
from ..layers import Sequential
from ..losses import make_loss
from ..models import mlp
from ..optim import SGD
from ..train import Callback, TrainState, fit_or_diverge

__all__ = [
    "LEAKY_VARIANTS", "LeakyExploration", "StopWhenFlat", "VariantRun", "explore_variant", "leaky_data",
    "train_variant", "variant_label", "whole_data_measures",
]

NOTEBOOK = "04"

LEAKY_VARIANTS = ("relu", "leaky_relu", "prelu", "rrelu")
"""The activations this notebook compares (names of :data:`vanishing.activations.ACTIVATIONS`)."""


def variant_label(activation: str, options: Mapping[str, float] | None = None) -> str:
    """A short legend label: ``"Leaky ReLU α=0.2"``, ``"PReLU (α starts at 0.25)"``, ``"RReLU (a ~ U(3, 8))"``."""
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


def leaky_data(*, rng: np.random.Generator, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Two moons (noise 0.1) drawn from ``rng``, standardised: ``X`` (n, 2) and labels ``y`` (n, 1), 0 or 1."""
    check.positive("n", n, integer=True)
    X, y = two_moons(n, noise=0.1, rng=check.rng("rng", rng))
    X, _ = standardize(X)
    return X, y.reshape(-1, 1).astype(np.float64)


def whole_data_measures(model: Sequential, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """One evaluation-mode forward on all of ``X``: the loss, and per hidden layer the dead fraction and mean output.

    ``model`` ends in a Dense layer whose logits go to binary cross-entropy
    against ``y`` (N, 1). Returns ``(loss, dead, mean)``: ``dead`` and ``mean``
    have one entry per activation layer, in order; ``dead`` is the fraction of
    its units with :math:`z \\le 0` on every row of ``X``. The model is left as
    it was (:func:`vanishing.diagnostics.collect_activations`).
    """
    layers = collect_activations(model, X)
    hidden = [la for la in layers if isinstance(la.layer, Activation)]
    dead = np.array([dead_fraction(np.maximum(la.x, 0.0)) for la in hidden])
    mean = np.array([float(la.out.mean()) for la in hidden])
    return make_loss("bce_logits").forward(layers[-1].out, y), dead, mean


class StopWhenFlat(Callback):
    """End training once a probe's loss curve is flat: fitted, or no longer moving.

    ``probe`` is a :class:`vanishing.diagnostics.Probe` listed before this
    callback, whose values start with the loss (a number, or a tuple whose first
    entry is the loss). After each record, training stops when the loss is below
    ``fitted`` (``reason = "fitted"``), or when it moved by less than ``tol``
    over the last ``window`` steps (``reason = "stalled"``).
    """

    def __init__(self, probe: Probe, *, fitted: float = 0.05, window: int = 100, tol: float = 1e-4) -> None:
        if not isinstance(probe, Probe):
            raise TypeError(f"probe={probe!r} must be a vanishing.diagnostics.Probe")
        self.probe = probe
        self.fitted = check.positive("fitted", fitted)
        self.window = check.positive("window", window, integer=True)
        self.tol = check.positive("tol", tol)
        self.reason: str | None = None

    def _loss(self, k: int) -> float:
        value = self.probe.values[k]
        return float(value[0] if isinstance(value, tuple) else value)

    def on_train_begin(self, state: TrainState) -> None:
        self.reason = None

    def on_step_end(self, state: TrainState) -> None:
        steps = self.probe.steps
        if not steps or steps[-1] != state.step:
            return
        loss = self._loss(-1)
        earlier = [k for k, s in enumerate(steps) if s <= state.step - self.window]
        if loss < self.fitted:
            self.reason = "fitted"
        elif earlier and abs(loss - self._loss(earlier[-1])) < self.tol:
            self.reason = "stalled"
        state.stop = state.stop or self.reason is not None


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
    dead, mean_activation
        ``(R, layers)`` the dead fraction and the mean output of every hidden layer.
    diverged
        True when training stopped on a non-finite loss or parameter.
    prelu_alphas
        For PReLU, the learned slopes of every hidden layer at the end (else empty).
    stopped
        ``"fitted"`` or ``"stalled"`` when :class:`StopWhenFlat` ended the run, else None.
    """

    label: str
    record_steps: np.ndarray
    loss: np.ndarray
    dead: np.ndarray
    mean_activation: np.ndarray
    diverged: bool
    prelu_alphas: list[np.ndarray] = field(default_factory=list)
    stopped: str | None = None

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    @property
    def final_dead(self) -> float:
        """The mean over hidden layers of the dead fraction at the end."""
        return float(np.mean(self.dead[-1]))


def train_variant(activation: str, options: Mapping[str, float] | None = None, *, rng: np.random.Generator,
                  order_rng: np.random.Generator, depth: int = 6, width: int = 16, bias: float = -1.0,
                  lr: float = 0.1, steps: int = 80, every: int = 4, batch_size: int = 50,
                  until_flat: bool = False) -> VariantRun:
    r"""Train one deep MLP from a bad start: every hidden bias starts at ``bias`` (< 0 pushes units off).

    ``depth`` hidden layers of ``width`` units (He uniform weights drawn from
    ``rng``, which RReLU layers also draw their training slopes from), binary
    cross-entropy on ``leaky_data(rng=default_rng(0))``, SGD with momentum 0.9
    and learning rate ``lr``, batches of ``batch_size`` in an order drawn from
    ``order_rng``, at most ``steps`` steps. Two generators, so that variants
    given generators seeded alike start from the same weights and see the same
    batches, whatever RReLU draws. :func:`whole_data_measures` is recorded
    every ``every`` steps; with ``until_flat`` a :class:`StopWhenFlat` ends the
    run early. A divergence ends the run and leaves NaN in the later records.
    """
    check.choice("activation", activation, LEAKY_VARIANTS)
    check.rng("rng", rng)
    check.rng("order_rng", order_rng)
    for name, value in (("depth", depth), ("width", width), ("steps", steps), ("every", every),
                        ("batch_size", batch_size)):
        check.positive(name, value, integer=True)
    check.number("bias", bias)
    check.positive("lr", lr)
    options = {str(k): float(check.number(f"options[{k!r}]", v)) for k, v in (options or {}).items()}
    X, y = leaky_data(rng=np.random.default_rng(0))
    model = mlp([X.shape[1]] + [width] * depth + [1], activation, rng=rng, init="he_uniform", bias=bias,
                activation_options=options)
    probe = Probe(lambda m: whole_data_measures(m, X, y), every=every)
    stop = StopWhenFlat(probe)
    # a run that blows up is a result here (the widget shows it), not a warning: its overflows stay silent
    with np.errstate(over="ignore", invalid="ignore"):
        history = fit_or_diverge(model, "bce_logits", SGD(model, lr=lr, momentum=0.9), X, y, batch_size=batch_size,
                                 rng=order_rng, steps=steps, callbacks=[probe, stop] if until_flat else [probe])
    diverged = history.diverged
    # a fixed schedule (0, every, 2 every, ..., steps) unless the run may stop early: runs stack into arrays
    record_steps = np.array(probe.steps if until_flat else sorted({*range(0, steps + 1, every), steps}))
    position = {int(s): k for k, s in enumerate(record_steps)}
    loss = np.full(len(record_steps), np.nan)
    dead, mean = np.full((len(record_steps), depth), np.nan), np.full((len(record_steps), depth), np.nan)
    for step, (value, d, m) in zip(probe.steps, probe.values, strict=True):
        if step in position and math.isfinite(value):
            loss[position[step]], dead[position[step]], mean[position[step]] = value, d, m
    alphas = [layer.params["alpha"].copy() for layer in model if isinstance(layer, PReLU)]
    return VariantRun(label=variant_label(activation, options), record_steps=record_steps, loss=loss,
                      dead=dead, mean_activation=mean, diverged=diverged, prelu_alphas=alphas, stopped=stop.reason)


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
        Per start, the :class:`VariantRun` of the variant and of ReLU from the same start.
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


def explore_variant(activation: str = "leaky_relu", alpha: float = 0.2, *, rng: np.random.Generator,
                    starts: int = 3, depth: int = 6, width: int = 16, bias: float = -1.0, steps: int = 80,
                    lr: float = 0.1,
                    after_start: Callable[[int, Callable[[], LeakyExploration]], bool] | None = None
                    ) -> LeakyExploration:
    """The widget's computation: one variant against ReLU from the same bad start, for ``starts`` starts.

    ``alpha`` is Leaky ReLU's slope, or PReLU's starting slope; RReLU uses
    Xu et al.'s :math:`a \\sim U(3, 8)` and ReLU ignores it. Each run is
    :func:`train_variant` with batches of 50, recorded every 4 steps. A start is
    a pair of generators from ``rng.spawn(2)`` (weights, batch order): the
    variant trains from copies of the pair and ReLU from the pair itself, so
    both start from the same weights and see the same batches.
    ``after_start(k, so_far)``, if given, is called after the k-th start
    (1, 2, ...) with a function that returns the exploration so far (a widget's
    live frame); when it returns False, the exploration ends there.
    """
    check.choice("activation", activation, LEAKY_VARIANTS)
    check.number("alpha", alpha)
    check.rng("rng", rng)
    check.positive("starts", starts, integer=True)
    options = {"alpha": float(alpha)} if activation in ("leaky_relu", "prelu") else {}
    layer = make_activation(activation, rng=np.random.default_rng(0), **options)
    z = np.linspace(-3.0, 3.0, 241)
    band = (1.0 / layer.upper, 1.0 / layer.lower) if isinstance(layer, RReLU) else None
    kwargs = {"depth": depth, "width": width, "bias": bias, "lr": lr, "steps": steps}
    runs: list[VariantRun] = []
    baseline: list[VariantRun] = []

    def so_far() -> LeakyExploration:
        return LeakyExploration(activation=activation, alpha=float(alpha), depth=depth, width=width,
                                bias=float(bias), label=variant_label(activation, options), z=z,
                                f=np.asarray(layer.fn(z)), derivative=np.asarray(layer.derivative(z)),
                                slope_band=band, runs=baseline if activation == "relu" else runs, baseline=baseline)

    for k in range(1, starts + 1):
        weights_rng, order_rng = rng.spawn(2)
        if activation != "relu":
            runs.append(train_variant(activation, options, rng=copy.deepcopy(weights_rng),
                                      order_rng=copy.deepcopy(order_rng), **kwargs))
        baseline.append(train_variant("relu", rng=weights_rng, order_rng=order_rng, **kwargs))
        if after_start is not None and not after_start(k, so_far):
            break
    return so_far()
