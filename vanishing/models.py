"""Builders for the networks the course trains.

:func:`mlp` builds a multi-layer perceptron as a :class:`~vanishing.layers.Sequential`
of ``Dense -> [BatchNorm] -> activation -> [BatchNorm]`` blocks and a final ``Dense``.
:func:`deep_mlp` builds a deep network of equal-width blocks, plain or with
residual connections (:class:`~vanishing.layers.Residual`), with an optional
BatchNorm or LayerNorm in every block.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _validate as check
from . import activations
from ._fast import speed_up
from .layers import BatchNorm, Dense, Layer, LayerNorm, Residual, Sequential


def _activation(name: str, **options: Any) -> Layer:
    """An activation layer by name; a sigmoid comes as its faster twin (the same numbers, see ``_fast``)."""
    return speed_up(activations.make_activation(name, **options))


BATCHNORM_POSITIONS = ("none", "before", "after")
"""Where :func:`mlp` puts batch normalization relative to each hidden activation."""

NORMALIZATIONS = {"none": None, "batchnorm": BatchNorm, "layernorm": LayerNorm}
"""The normalization :func:`deep_mlp` puts at the start of every block: name -> layer class."""


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
        layers.append(_activation(activation, width=fan_out, rng=rng, dtype=dtype, **activation_options))
        if batchnorm == "after":
            layers.append(BatchNorm(fan_out, dtype=dtype))
    layers.append(Dense(sizes[-2], sizes[-1], rng=rng, init=init, dtype=dtype, **init_options))
    if output_activation is not None:
        layers.append(_activation(output_activation, width=sizes[-1], rng=rng, dtype=dtype))
    return Sequential(layers)


def deep_mlp(in_features: int, width: int, depth: int, out_features: int, activation: str = "relu", *,
             rng: np.random.Generator, residual: bool = True, norm: str = "none", scale: float = 1.0,
             zero_init: bool = False, init: str = "he_uniform", init_options: dict[str, Any] | None = None,
             dtype: Any = np.float64) -> Sequential:
    r"""A deep network of ``depth`` equal-width blocks, plain or residual.

    ``Dense(in_features, width) -> depth blocks -> activation -> Dense(width, out_features)``,
    where every block is ``[norm] -> activation -> Dense(width, width)`` (the
    normalization, then the activation, then the weights: the "pre-activation"
    order of He et al., 2016b). With ``residual=True`` every block is a
    :class:`~vanishing.layers.Residual`, :math:`x_{l+1} = x_l + s\,F_l(x_l)`;
    with ``residual=False`` the blocks are chained, :math:`x_{l+1} = F_l(x_l)`,
    which is an ordinary MLP with ``depth + 2`` Dense layers. Both draw the same
    weights from the same ``rng``, so the two differ only in the skip connections.

    Parameters
    ----------
    in_features, width, depth, out_features
        Input width, width of every block, number of blocks, output width.
    activation
        Name of the activation (see :data:`vanishing.activations.ACTIVATIONS`).
    rng
        Generator for the initial weights.
    residual
        Skip connections around every block, or none.
    norm
        ``"none"``, ``"batchnorm"`` or ``"layernorm"``: the first layer of every block.
    scale
        The branch scale s of every residual block (1 / sqrt(depth) keeps the
        forward variance from growing with depth); only with ``residual=True``.
    zero_init
        Start the Dense layer of every block at W = 0 (its bias is 0 anyway), so
        that every residual block starts as the identity (as in SkipInit and
        Fixup); only with ``residual=True`` (a plain network would output a constant).
    init, init_options
        Weight initializer and its options, for every Dense layer that is not zero-initialised.
    dtype
        Parameter dtype; inputs must have the same dtype.
    """
    for name, value in (("in_features", in_features), ("width", width), ("depth", depth),
                        ("out_features", out_features)):
        check.positive(name, value, integer=True)
    norm_layer = check.lookup("norm", norm, NORMALIZATIONS)
    check.rng("rng", rng)
    check.number("scale", scale)
    if not residual and (scale != 1.0 or zero_init):
        raise ValueError(f"scale={scale!r}, zero_init={zero_init!r} with residual=False: a branch scale and a "
                         "zero-initialised branch need residual blocks; allowed: scale=1.0, zero_init=False")
    options = {"rng": rng, "init": init, "dtype": dtype, **(init_options or {})}
    blocks: list[Layer] = []
    for _ in range(depth):
        dense = Dense(width, width, **options)
        if zero_init:
            dense.params["W"][...] = 0.0
        block = [norm_layer(width, dtype=dtype)] if norm_layer is not None else []
        block += [_activation(activation, width=width, rng=rng, dtype=dtype), dense]
        blocks += [Residual(block, scale=scale)] if residual else block
    head = [_activation(activation, width=width, rng=rng, dtype=dtype), Dense(width, out_features, **options)]
    return Sequential([Dense(in_features, width, **options), *blocks, *head])


def dense_layers(model: Sequential) -> list[tuple[int, Dense]]:
    """(index, layer) of every Dense layer of a Sequential, in order."""
    return [(i, layer) for i, layer in enumerate(model) if isinstance(layer, Dense)]
