"""Builders for the networks the course trains.

:func:`mlp` builds a multi-layer perceptron as a :class:`~vanishing.layers.Sequential`
of ``Dense -> [BatchNorm] -> activation -> [BatchNorm]`` blocks and a final ``Dense``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _validate as check
from .activations import make_activation
from .layers import BatchNorm, Dense, Layer, Sequential

BATCHNORM_POSITIONS = ("none", "before", "after")
"""Where :func:`mlp` puts batch normalization relative to each hidden activation."""


def mlp(sizes: Sequence[int], activation: str = "tanh", *, rng: np.random.Generator,
        init: str = "glorot_uniform", init_options: dict[str, Any] | None = None,
        batchnorm: str = "none", bias: float = 0.0, dtype: Any = np.float64,
        output_activation: str | None = None, activation_options: dict[str, Any] | None = None) -> Sequential:
    """A fully connected network.

    Parameters
    ----------
    sizes
        Layer widths from input to output, for example ``[2, 64, 64, 1]``: two
        hidden layers of 64 units.
    activation
        Name of the hidden activation (see :data:`vanishing.activations.ACTIVATIONS`).
    rng
        Generator for the initial weights (and RReLU's slopes).
    init, init_options
        Weight initializer name and its options (``{"limit": 0.1}`` for ``"uniform"``).
    batchnorm
        ``"none"``, ``"before"`` (Dense -> BatchNorm -> activation) or
        ``"after"`` (Dense -> activation -> BatchNorm).
    bias
        Initial value of every hidden bias (a negative bias starts ReLU units dead).
    dtype
        Parameter dtype; inputs must have the same dtype.
    output_activation
        Optional activation after the last Dense (``"sigmoid"`` for the digit
        classifier with MSE); ``None`` leaves logits.
    activation_options
        Keyword arguments of the hidden activation (``{"alpha": 0.1}``).
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes={sizes!r} needs at least an input and an output width")
    for i, width in enumerate(sizes):
        check.positive(f"sizes[{i}]", width, integer=True)
    check.choice("batchnorm", batchnorm, BATCHNORM_POSITIONS)
    check.rng("rng", rng)
    init_options = dict(init_options or {})
    activation_options = dict(activation_options or {})
    layers: list[Layer] = []
    for fan_in, fan_out in itertools.pairwise(sizes[:-1]):
        layers.append(Dense(fan_in, fan_out, rng=rng, init=init, dtype=dtype, bias=bias, **init_options))
        if batchnorm == "before":
            layers.append(BatchNorm(fan_out, dtype=dtype))
        layers.append(make_activation(activation, width=fan_out, rng=rng, dtype=dtype, **activation_options))
        if batchnorm == "after":
            layers.append(BatchNorm(fan_out, dtype=dtype))
    layers.append(Dense(sizes[-2], sizes[-1], rng=rng, init=init, dtype=dtype, **init_options))
    if output_activation is not None:
        layers.append(make_activation(output_activation, width=sizes[-1], rng=rng, dtype=dtype))
    return Sequential(layers)


def dense_layers(model: Sequential) -> list[tuple[int, Dense]]:
    """(index, layer) of every Dense layer of a Sequential, in order."""
    return [(i, layer) for i, layer in enumerate(model) if isinstance(layer, Dense)]
