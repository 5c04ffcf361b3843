r"""Notebook 03 (dying ReLU): what stops, what still learns, and what can bring a unit back.

A ReLU unit :math:`a = \max(0, z)`, :math:`z = x\cdot w + b`, passes the gradient
:math:`\partial L/\partial z = \partial L/\partial a \cdot \mathbb 1[z > 0]`. When
:math:`z \le 0` for every input, every weight gradient of the unit is exactly 0:

.. math::

    \frac{\partial L}{\partial w} = \sum_n x_n\, \frac{\partial L}{\partial a_n}\,\mathbb 1[z_n > 0] = 0,
    \qquad \frac{\partial L}{\partial b} = 0 .

The network pieces (used by later notebooks too):

* :func:`kill_units`: shift the biases of chosen units of a Dense layer so that
  their pre-activation is at most ``-margin`` on every row of a data set;
* :func:`dead_network`: a one-hidden-layer network whose hidden layer is dead
  on every input of the data set (:math:`XW + B < 0` everywhere);
* :func:`dead_setup`: that network together with its data and loss.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as check
from ..data import two_moons
from ..diagnostics import collect_activations
from ..layers import Dense, Sequential
from ..models import dense_layers, mlp

__all__ = ["DeadSetup", "dead_network", "dead_setup", "kill_units", "pre_activations"]

NOTEBOOK = "03"

TASKS = {"binary": "bce_logits", "regression": "mse"}
"""The tasks of :func:`dead_setup` and their losses."""


# --- dead networks ----------------------------------------------------------------------------------------------

def pre_activations(model: Sequential, X: np.ndarray, layer: int = 0) -> np.ndarray:
    """The output of the ``layer``-th Dense layer (counting Dense layers only) on ``X``, shape (N, width).

    One forward in evaluation mode (:func:`vanishing.diagnostics.collect_activations`):
    the model is left exactly as it was.
    """
    dense = dense_layers(model)
    check.number("layer", layer, low=0, high=len(dense) - 1, integer=True)
    return collect_activations(model, X)[dense[layer][0]].out


def kill_units(model: Sequential, X: np.ndarray, units: Sequence[int] | None = None, *, layer: int = 0,
               margin: float = 1.0) -> np.ndarray:
    r"""Lower the biases of some units of a Dense layer until they are dead on every row of ``X``.

    For each chosen unit j of the ``layer``-th Dense layer (0 = the first),
    :math:`b_j \leftarrow b_j - \max_n z_{nj} - \text{margin}`, where :math:`z`
    is that layer's output on ``X``. Afterwards :math:`\max_n z_{nj} = -\text{margin}`
    (up to rounding): the unit's ReLU outputs 0 on every example. The weights
    are not touched. Changes ``model`` in place.

    Parameters
    ----------
    model
        A Sequential with Dense layers (e.g. from :func:`vanishing.mlp`).
    X
        The inputs the units must be dead on, shape (N, D).
    units
        Indices of the units to kill; ``None`` kills the whole layer.
    layer
        Which Dense layer, counting Dense layers only.
    margin
        How far below 0 the largest pre-activation ends (> 0).

    Returns
    -------
    numpy.ndarray
        The indices of the units that were killed.
    """
    check.positive("margin", margin)
    z = pre_activations(model, X, layer)
    width = z.shape[1]
    chosen = np.arange(width) if units is None else np.asarray(units, dtype=np.intp).ravel()
    if chosen.size and (chosen.min() < 0 or chosen.max() >= width):
        raise ValueError(f"units={list(chosen)!r} is out of range; allowed: unit indices 0..{width - 1}")
    b = dense_layers(model)[layer][1].params["b"]
    b[chosen] -= z[:, chosen].max(axis=0) + margin
    return chosen


def dead_network(X: np.ndarray, hidden: int = 16, outputs: int = 1, *, rng: np.random.Generator,
                 margin: float = 1.0, init: str = "he_uniform", activation: str = "relu",
                 activation_options: dict[str, Any] | None = None, dtype: Any = np.float64) -> Sequential:
    r"""A one-hidden-layer network ``Dense -> activation -> Dense`` whose hidden layer is dead on all of ``X``.

    The weights are drawn as usual (``init``, from ``rng``); then every hidden
    bias is lowered (:func:`kill_units`) so that :math:`XW + B \le -\text{margin} < 0`
    for every row of ``X`` and every hidden unit. With ``activation="relu"``
    every hidden output is 0 and every gradient of the hidden layer, and of the
    output layer's weights, is exactly 0. Other activations (``"leaky_relu"``,
    ``"elu"``...) give the same weights and biases, for comparison.

    Shapes: ``X`` (N, D); the model maps (N, D) -> (N, outputs).
    """
    X = check.array("X", X, ndim=2)
    check.positive("hidden", hidden, integer=True)
    check.positive("outputs", outputs, integer=True)
    model = mlp([X.shape[1], hidden, outputs], activation, rng=rng, init=init, dtype=dtype,
                activation_options=activation_options)
    kill_units(model, X.astype(model.dtype, copy=False), margin=margin)
    return model


@dataclass
class DeadSetup:
    """A data set, a network whose hidden layer is dead on all of it, and the loss to train it with.

    ``X`` (N, 2) and ``y`` (N,) for ``task="binary"`` (two moons, 0/1 labels,
    ``loss="bce_logits"``), or ``y`` (N, 1) for ``task="regression"``
    (``loss="mse"``, targets with a non-zero mean).
    """

    task: str
    X: np.ndarray
    y: np.ndarray
    model: Sequential
    loss: str

    @property
    def hidden(self) -> Dense:
        """The dead hidden Dense layer."""
        return dense_layers(self.model)[0][1]

    @property
    def output(self) -> Dense:
        """The output Dense layer."""
        return dense_layers(self.model)[-1][1]


def dead_setup(task: str = "binary", *, n: int = 200, hidden: int = 16, margin: float = 1.0,
               activation: str = "relu", activation_options: dict[str, Any] | None = None,
               seed: int = 0) -> DeadSetup:
    r"""The exact scenario of the notebook: a one-hidden-layer network with :math:`XW + B < 0` for every input.

    ``task="binary"``: two moons (``n`` points, noise 0.1), labels 0/1 with
    60 % of class 0 and 40 % of class 1, so that the class prior is not 1/2; the loss is
    binary cross-entropy on the logit. ``task="regression"``: inputs N(0, 1)
    in 2-D, target :math:`y = 2 + \sin(2x_1) + 0.5x_2` (mean about 2), MSE.

    Everything is drawn from ``numpy.random.default_rng(seed)``.
    """
    check.choice("task", task, TASKS)
    check.positive("n", n, integer=True)
    check.non_negative("seed", seed, integer=True)
    rng = np.random.default_rng(seed)
    if task == "binary":
        X, y = two_moons(2 * n, noise=0.1, rng=rng)
        # 60 % of the points from class 0, 40 % from class 1: a class prior of 0.4 rather than 1/2
        ones = round(0.4 * n)
        keep = np.sort(np.concatenate([np.flatnonzero(y == 0)[:n - ones], np.flatnonzero(y == 1)[:ones]]))
        X, y = X[keep], y[keep].astype(np.float64)
    else:
        X = rng.standard_normal((n, 2))
        y = (2.0 + np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1])[:, None]
    model = dead_network(X, hidden, 1, rng=rng, margin=margin, activation=activation,
                         activation_options=activation_options)
    return DeadSetup(task=task, X=X, y=y, model=model, loss=TASKS[task])
