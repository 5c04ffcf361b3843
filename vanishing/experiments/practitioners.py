r"""Notebook 09 (what practitioners do): the bookkeeping behind residual networks, clipping and normalization.

The networks are :func:`vanishing.models.deep_mlp` (plain or residual blocks, with an optional
BatchNorm or LayerNorm) and :func:`vanishing.mlp`; the training is :func:`vanishing.fit`. What the
notebook would otherwise repeat lives here:

* :func:`residual_stream`: the stream :math:`x_0, x_1, \dots, x_L` of a :func:`~vanishing.models.deep_mlp`
  network (the output of its first layer and of every block), for one batch;
* :func:`mean_cosine`: how alike the rows of a batch of representations are;
* :func:`flat_gradient`, :func:`cosine`: gradients as one vector, and the angle between two;
* :func:`explore_run`: the widget's run (a deep network, plain or residual, normalized or not, trained
  with or without clipping; its backward signal recorded per layer).

This module imports numpy and the engine only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as check
from ..diagnostics import BackwardSignal, preserved
from ..layers import Sequential
from ..models import deep_mlp
from ..optim import SGD
from ..scenarios import digits_split
from ..train import GradientClipping, accuracy, fit_or_diverge

__all__ = ["BLOCKS", "ExploreRun", "cosine", "explore_run", "flat_gradient", "mean_cosine", "residual_stream"]

NOTEBOOK = "09"


def residual_stream(model: Sequential, X: np.ndarray) -> list[np.ndarray]:
    r"""The stream of a :func:`~vanishing.models.deep_mlp` network on ``X``: :math:`x_0, x_1, \dots, x_L`.

    :math:`x_0` is the output of the first Dense layer and :math:`x_l` the
    output of block l (every layer but the last two, the head). Each array has
    shape (N, width). One forward in training mode (as a training step sees it);
    the model is left exactly as it was.
    """
    if not isinstance(model, Sequential) or len(model) < 3:
        raise TypeError(f"model={model!r} must be a network from vanishing.models.deep_mlp")
    x = check.array("X", X, ndim=2)
    stream = []
    with preserved(model):
        model.train()
        for layer in model.layers[:-2]:
            x = layer.forward(x)
            stream.append(x)
    return stream


def mean_cosine(h: np.ndarray) -> float:
    r"""The mean cosine similarity :math:`\cos(h_i, h_j)` over every pair i < j of the rows of ``h`` (N, D).

    Near 1: the network maps every input to nearly the same direction, so its
    output can hardly tell the inputs apart. A row of zeros counts as similarity 0.
    """
    h = check.array("h", h, ndim=2, finite=False)
    if len(h) < 2:
        raise ValueError(f"h has shape {h.shape}; allowed: at least 2 rows (one pair)")
    norms = np.linalg.norm(h, axis=1, keepdims=True)
    unit = np.divide(h, norms, out=np.zeros_like(h, dtype=np.float64), where=norms > 0)
    similarity = unit @ unit.T
    pairs = np.triu_indices(len(h), k=1)
    return float(similarity[pairs].mean())


def flat_gradient(grads: Mapping[str, np.ndarray]) -> np.ndarray:
    """Gradients (a model's ``grads``, or a copy of them) as one float64 vector, in their order."""
    if not isinstance(grads, Mapping) or not grads:
        raise TypeError(f"grads must be a non-empty dict name -> array (a model's grads), got {type(grads).__name__}")
    return np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in grads.values()])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    r""":math:`a\cdot b / (\|a\|\,\|b\|)` of two vectors of the same shape: 1 when they point the same way."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a has {a.size} entries but b has {b.size}; they must have the same number")
    size = float(np.linalg.norm(a) * np.linalg.norm(b))
    if size == 0:
        raise ValueError("a or b is all zeros: a zero vector has no direction")
    return float(a @ b / size)


# --- the widget's run ------------------------------------------------------------------------------------------------

BLOCKS = {"plain": {"residual": False}, "residual": {}, "residual, s = 1/√L": {"scale": None},
          "residual, zero-initialised": {"zero_init": True}}
"""The block kinds of :func:`explore_run`: name -> :func:`~vanishing.models.deep_mlp` options (None: 1/sqrt(depth))."""


@dataclass
class ExploreRun:
    r"""What :func:`explore_run` measured.

    ``settings``: the run's arguments (depth, block, norm, max_norm, activation, lr, steps). ``signal``
    (records, Dense layers): :math:`\|\partial L/\partial z_l\|` of every Dense layer at the steps
    ``signal_steps`` (1, 1 + every, ...); ``loss`` per step; ``clipped_fraction``: the share of steps whose
    gradient was clipped (0 without clipping); ``test_accuracy`` (nan while training or after a divergence);
    ``divergence``: the :class:`~vanishing.train.DivergenceError` message, or None.
    """

    settings: dict[str, Any]
    signal_steps: np.ndarray
    signal: np.ndarray
    loss: np.ndarray
    clipped_fraction: float
    test_accuracy: float = np.nan
    divergence: str | None = None


def explore_run(depth: int = 30, block: str = "residual", norm: str = "none", max_norm: float | None = None, *,
                activation: str = "relu", lr: float = 0.05, steps: int = 80, every: int = 10,
                rng: np.random.Generator, live: Callable[..., Any] | None = None) -> ExploreRun:
    """Train a :func:`~vanishing.models.deep_mlp` on the digits with SGD; record its backward signal per layer.

    ``depth`` blocks of 32 units of the kind ``block`` (a key of :data:`BLOCKS`), the normalization ``norm``
    at the start of every block, Glorot-uniform weights for tanh and He-uniform otherwise, global-norm
    clipping at ``max_norm`` (None: none), batches of 64. The weights and the batch order come from two
    generators spawned from ``rng``. ``live(steps, snapshot)``, if given, makes one more callback for
    :func:`~vanishing.train.fit` (a widget's live view); ``snapshot(state)`` returns the run so far.
    """
    options = dict(check.lookup("block", block, BLOCKS))
    check.positive("depth", depth, integer=True)
    check.positive("steps", steps, integer=True)
    check.rng("rng", rng)
    if options.get("scale", 1.0) is None:
        options["scale"] = 1.0 / np.sqrt(depth)
    X_train, X_test, y_train, y_test = digits_split(rng=np.random.default_rng(0))
    weights_rng, order_rng = rng.spawn(2)
    init = "glorot_uniform" if activation == "tanh" else "he_uniform"
    model = deep_mlp(64, 32, depth, 10, activation, rng=weights_rng, norm=norm, init=init, **options)
    signal = BackwardSignal(every=every)
    clip = [GradientClipping(max_norm=max_norm)] if max_norm is not None else []
    settings = {"depth": depth, "block": block, "norm": norm, "max_norm": max_norm, "activation": activation,
                "lr": lr, "steps": steps}

    def result(loss: list[float]) -> ExploreRun:
        rows = min(len(signal.steps), len(signal.history))
        return ExploreRun(settings=settings, signal_steps=np.array(signal.steps[:rows]), signal=signal.history[:rows],
                          loss=np.array(loss), clipped_fraction=clip[0].clipped_fraction if clip else 0.0)

    extra = [live(steps, lambda state: result(list(state.history.loss)))] if live is not None else []
    history = fit_or_diverge(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train, batch_size=64, steps=steps,
                             rng=order_rng, callbacks=[signal, *clip, *extra])
    run = result(history.loss)
    run.divergence = history.divergence
    if not history.diverged:
        run.test_accuracy = accuracy(model, "softmax_ce", X_test, y_test)
    return run
