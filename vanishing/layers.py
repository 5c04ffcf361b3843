r"""Layers: the building blocks of every network in the course.

The shared interface
--------------------
Every layer has

* ``forward(x) -> out``: computes the output and keeps what ``backward`` needs
  in ``self.cache`` (a dict with named entries, never a positional tuple);
* ``backward(dout) -> dx``: given dL/d(out), fills ``self.grads`` (same keys as
  ``self.params``) and returns dL/dx;
* ``params``: name -> array of learnable parameters, updated in place by the
  optimizers in :mod:`vanishing.optim`;
* ``grads``: name -> array, the gradients of the last ``backward``;
* ``buffers``: name -> array of state that is not learned (BatchNorm's running
  statistics);
* ``train()`` / ``eval()``: switch the mode (``self.training``); only layers
  that behave differently (BatchNorm, RReLU) look at it;
* ``in_features`` / ``out_features``: the widths the layer takes and gives
  (None: any width, and the output as wide as the input).

Shapes: a batch is ``(N, D)``: N examples, D features.

The layers here: :class:`Dense`, :class:`BatchNorm`, :class:`LayerNorm`,
:class:`Sequential` (a chain), :class:`Residual` (``x + block(x)``) and
:class:`Parameters` (a bare point for the optimizers' 2-D experiments). The
activations are layers too (:mod:`vanishing.activations`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from . import _validate as check


class Layer:
    """Base class: no parameters, identity forward and backward."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.cache: dict[str, Any] = {}
        self.training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout

    @property
    def in_features(self) -> int | None:
        """The input width this layer requires (None: any)."""
        return None

    @property
    def out_features(self) -> int | None:
        """The output width this layer produces (None: the same as its input)."""
        return None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def train(self) -> Layer:
        """Switch to training mode; returns the layer."""
        self.training = True
        return self

    def eval(self) -> Layer:
        """Switch to evaluation mode; returns the layer."""
        self.training = False
        return self

    def zero_grads(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def _init_grads(self) -> None:
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _check_input(self, x: np.ndarray, features: int | None, dtype: np.dtype | None = None,
                     name: str = "x") -> None:
        """Cheap checks on a forward input: a 2-D array with the right width (and dtype, when given)."""
        layer = type(self).__name__
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{layer}.forward: {name} must be a numpy array, got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(f"{layer}.forward: {name} has shape {x.shape}; expected 2 dimensions (N, D)")
        if features is not None and x.shape[1] != features:
            raise ValueError(
                f"{layer}.forward: {name} has shape {x.shape} but the layer expects "
                f"(N, {features}): the input width {x.shape[1]} does not match {features}"
            )
        if dtype is not None and x.dtype != dtype:
            raise TypeError(
                f"{layer}.forward: {name} has dtype {x.dtype} but the layer's parameters are "
                f"{dtype}; allowed: {dtype} (convert with {name}.astype(numpy.{dtype}))"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Dense(Layer):
    r"""Fully connected layer: ``out = x @ W + b``.

    Shapes: ``x`` (N, D_in), ``W`` (D_in, D_out), ``b`` (D_out,), ``out`` (N, D_out).

    Backward: :math:`\partial L/\partial W = x^T\,dout`,
    :math:`\partial L/\partial b = \sum_n dout_n`, :math:`dx = dout\,W^T`.

    Parameters
    ----------
    in_features, out_features
        Widths of the input and output.
    init
        Name of a weight initializer from :data:`vanishing.init.INITIALIZERS`.
    rng
        The generator that draws the initial weights.
    dtype
        float16, float32 or float64.
    bias
        Initial value of every bias entry.
    **init_kwargs
        Passed to the initializer (``limit`` for ``"uniform"``, ``std`` for
        ``"normal"``, ``gain`` for Glorot and He).
    """

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator,
                 init: str = "glorot_uniform", dtype: Any = np.float64, bias: float = 0.0,
                 **init_kwargs: Any) -> None:
        super().__init__()
        from .init import initialize  # init imports nothing from here; kept local for clarity

        check.positive("in_features", in_features, integer=True)
        check.positive("out_features", out_features, integer=True)
        check.rng("rng", rng)
        check.number("bias", bias)
        self.dtype = check.float_dtype("dtype", dtype)
        self.init = init
        W = initialize(init, (in_features, out_features), rng=rng, **init_kwargs)
        self.params = {"W": W.astype(self.dtype), "b": np.full(out_features, bias, dtype=self.dtype)}
        self._init_grads()

    @property
    def in_features(self) -> int:
        return self.params["W"].shape[0]

    @property
    def out_features(self) -> int:
        return self.params["W"].shape[1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, self.in_features, self.dtype)
        self.cache["x"] = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.grads["W"][...] = self.cache["x"].T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T

    def __repr__(self) -> str:
        return f"Dense({self.in_features}, {self.out_features}, init={self.init!r}, dtype={self.dtype})"


class _Normalization(Layer):
    r"""What BatchNorm and LayerNorm share: learnable :math:`\gamma`, :math:`\beta` (D,) and the affine output.

    Both compute :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}` and return
    :math:`\gamma \hat x + \beta`; they differ in the axis the statistics run over.
    """

    def __init__(self, num_features: int, *, eps: float, dtype: Any) -> None:
        super().__init__()
        check.positive("num_features", num_features, integer=True)
        check.positive("eps", eps)
        self.dtype = check.float_dtype("dtype", dtype)
        self.eps = eps
        self.params = {"gamma": np.ones(num_features, self.dtype), "beta": np.zeros(num_features, self.dtype)}
        self._init_grads()

    @property
    def num_features(self) -> int:
        return self.params["gamma"].shape[0]

    @property
    def in_features(self) -> int:
        return self.num_features

    def _affine(self, x_hat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
        self.cache["x_hat"], self.cache["inv_std"] = x_hat, inv_std
        return self.params["gamma"] * x_hat + self.params["beta"]

    def _affine_backward(self, dout: np.ndarray) -> np.ndarray:
        """Fill ``grads`` and return :math:`g = dout \\cdot \\gamma`, the gradient with respect to :math:`\\hat x`."""
        self.grads["gamma"][...] = np.sum(dout * self.cache["x_hat"], axis=0)
        self.grads["beta"][...] = np.sum(dout, axis=0)
        return dout * self.params["gamma"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_features}, eps={self.eps})"


def _normalization_dx(g: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axis: int) -> np.ndarray:
    r"""dL/dx of :math:`\hat x = (x - \mu)/\sigma` with :math:`\mu, \sigma` over ``axis``, given :math:`g = dL/d\hat x`.

    :math:`dx = \frac{1}{M\sigma}\,(M g - \sum g - \hat x \sum g\hat x)`, the sums
    over the M entries along ``axis`` (the batch for BatchNorm, the units for LayerNorm).
    """
    m = g.shape[axis]
    sum_g = g.sum(axis=axis, keepdims=True)
    sum_gx = (g * x_hat).sum(axis=axis, keepdims=True)
    return (inv_std / m) * (m * g - sum_g - x_hat * sum_gx)


class BatchNorm(_Normalization):
    r"""Batch normalization over the batch axis (Ioffe and Szegedy, 2015).

    Training mode: normalise each unit with the batch mean and variance,
    :math:`\hat x = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`, output
    :math:`\gamma \hat x + \beta`, and update the running statistics
    ``running_mean <- (1 - momentum) * running_mean + momentum * mu_B`` (and the
    same for the unbiased batch variance).

    Evaluation mode: normalise with the running statistics, which are never
    updated there. They are buffers (``self.buffers``), not parameters: the
    optimizer never touches them.

    Backward (training mode), with :math:`g = dout\cdot\gamma`:
    :math:`dx = \frac{1}{N\sigma}\,(N g - \sum_n g - \hat x \sum_n g\hat x)`.
    In evaluation mode the normalisation is a fixed affine map, so
    :math:`dx = g/\sqrt{\text{running\_var} + \epsilon}`.

    Shapes: ``x`` (N, D), ``gamma``/``beta``/running statistics (D,).
    """

    def __init__(self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: Any = np.float64) -> None:
        super().__init__(num_features, eps=eps, dtype=dtype)
        self.momentum = check.number("momentum", momentum, low=0, high=1)
        self.buffers = {"running_mean": np.zeros(num_features, self.dtype),
                        "running_var": np.ones(num_features, self.dtype)}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, self.num_features, self.dtype)
        if self.training:
            mean, var = self._batch_statistics(x)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.cache["training"] = self.training
        inv_std = 1.0 / np.sqrt(var + self.eps)
        return self._affine((x - mean) * inv_std, inv_std)

    def _batch_statistics(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and (biased) variance of each unit over the batch; updates the running statistics."""
        n = x.shape[0]
        if n < 2:
            raise ValueError(
                f"BatchNorm.forward: x has shape {x.shape}; training mode needs a batch of at least 2 "
                "examples to estimate a variance (use eval() for single examples)"
            )
        mean, var = x.mean(axis=0), x.var(axis=0)
        m = self.momentum
        self.buffers["running_mean"][...] = (1 - m) * self.buffers["running_mean"] + m * mean
        self.buffers["running_var"][...] = (1 - m) * self.buffers["running_var"] + m * var * n / (n - 1)
        return mean, var

    def backward(self, dout: np.ndarray) -> np.ndarray:
        g = self._affine_backward(dout)
        if not self.cache["training"]:
            return g * self.cache["inv_std"]
        return _normalization_dx(g, self.cache["x_hat"], self.cache["inv_std"], axis=0)

    def __repr__(self) -> str:
        return f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps})"


class LayerNorm(_Normalization):
    r"""Layer normalization over the units of each example (Ba, Kiros and Hinton, 2016).

    Every example n is normalised with its own mean and variance over its D units,
    :math:`\hat x_{n} = (x_{n} - \mu_n)/\sqrt{\sigma_n^2 + \epsilon}`, and the
    output is :math:`\gamma \hat x + \beta`. No batch statistics and no running
    statistics: the layer computes the same in training and in evaluation mode,
    and works on a batch of one example.

    Backward, with :math:`g = dout\cdot\gamma`:
    :math:`dx_n = \frac{1}{D\sigma_n}\,(D g_n - \sum_j g_{nj} - \hat x_n \sum_j g_{nj}\hat x_{nj})`.

    Shapes: ``x`` (N, D), ``gamma``/``beta`` (D,).
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, dtype: Any = np.float64) -> None:
        super().__init__(num_features, eps=eps, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, self.num_features, self.dtype)
        mean = x.mean(axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + self.eps)
        return self._affine((x - mean) * inv_std, inv_std)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        g = self._affine_backward(dout)
        return _normalization_dx(g, self.cache["x_hat"], self.cache["inv_std"], axis=1)


ForwardHook = Callable[[Layer, np.ndarray, np.ndarray], None]
BackwardHook = Callable[[Layer, np.ndarray], None]


class Sequential(Layer):
    """A chain of layers applied in order.

    ``params`` and ``grads`` of a Sequential are flat dicts whose keys are
    ``"<index>.<name>"`` (for example ``"0.W"``; a layer inside a residual block
    at index 3 gives ``"3.0.W"``), so an optimizer sees every parameter of the
    network under one name; the arrays are the layers' own (updating them in
    place updates the layers).

    Hooks let diagnostics watch every layer from outside the model, including
    the layers inside residual blocks: ``add_forward_hook(fn)`` calls
    ``fn(layer, x, out)`` after each layer's forward, ``add_backward_hook(fn)``
    calls ``fn(layer, dout)`` with the gradient arriving at a layer's output,
    before its backward. Both return a function that removes the hook.
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        # no Layer.__init__: params, grads and buffers are views of the layers' own dicts (properties below)
        self.cache: dict[str, Any] = {}
        self.training = True
        self.layers: tuple[Layer, ...] = tuple(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}]={layer!r} is not a Layer; allowed: instances of vanishing.layers.Layer")
        if not self.layers:
            raise ValueError("layers is empty; a Sequential needs at least one layer")
        self._check_chain()
        self.forward_hooks: list[ForwardHook] = []
        self.backward_hooks: list[BackwardHook] = []

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    @property
    def buffers(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.buffers.items()}

    @property
    def in_features(self) -> int | None:
        return next((layer.in_features for layer in self.layers if layer.in_features is not None), None)

    @property
    def out_features(self) -> int | None:
        for layer in reversed(self.layers):
            if layer.out_features is not None:
                return layer.out_features
            if layer.in_features is not None:
                return layer.in_features
        return None

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the first layer that has one (None if no layer has)."""
        return next((layer.dtype for layer in self.layers if getattr(layer, "dtype", None) is not None), None)

    def _check_chain(self) -> None:
        """Every layer's input width and dtype must match what the layer before it produces."""
        width, width_from, dtype, dtype_from = None, None, None, None
        for i, layer in enumerate(self.layers):
            need = layer.in_features
            if need is not None and width is not None and need != width:
                raise ValueError(
                    f"layers[{i}]={layer!r} expects inputs of width {need}, but layers[{width_from}] "
                    f"produces width {width}; the widths must match"
                )
            own = getattr(layer, "dtype", None)
            if own is not None:
                if dtype is not None and own != dtype:
                    raise TypeError(f"layers[{i}] has dtype {own} but layers[{dtype_from}] has dtype {dtype}; "
                                    "allowed: one dtype for the whole network")
                dtype, dtype_from = own, i
            if layer.out_features is not None or need is not None:
                width, width_from = layer.out_features or need, i

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            out = layer.forward(x)
            for hook in self.forward_hooks:
                hook(layer, x, out)
            x = out
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Backpropagate ``dout`` through every layer, last to first; return dL/dx of the input."""
        for layer in reversed(self.layers):
            for hook in self.backward_hooks:
                hook(layer, dout)
            dout = layer.backward(dout)
        return dout

    def train(self) -> Sequential:
        self.training = True
        for layer in self.layers:
            layer.train()
        return self

    def eval(self) -> Sequential:
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self

    def leaves(self) -> list[Layer]:
        """Every layer that computes something itself, in forward order, inside residual blocks too."""
        return [leaf for layer in self.layers for leaf in (layer.leaves() if hasattr(layer, "leaves") else [layer])]

    def chains(self) -> list[Sequential]:
        """This Sequential and every Sequential nested in it (the blocks of :class:`Residual` layers)."""
        return [self] + [chain for layer in self.layers if hasattr(layer, "chains") for chain in layer.chains()]

    def add_forward_hook(self, hook: ForwardHook) -> Callable[[], None]:
        """Call ``hook(layer, x, out)`` after the forward of every layer, nested ones included."""
        return _add_hook([chain.forward_hooks for chain in self.chains()], hook)

    def add_backward_hook(self, hook: BackwardHook) -> Callable[[], None]:
        """Call ``hook(layer, dout)`` before the backward of every layer, nested ones included."""
        return _add_hook([chain.backward_hooks for chain in self.chains()], hook)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer).replace("\n", "\n  ") for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"


def _add_hook(lists: list[list[Any]], hook: Any) -> Callable[[], None]:
    for hooks in lists:
        hooks.append(hook)

    def remove() -> None:
        for hooks in lists:
            if hook in hooks:
                hooks.remove(hook)

    return remove


class Residual(Layer):
    r"""A residual block (He et al., 2016): :math:`y = x + s\,F(x)`, with F a chain of layers.

    The Jacobian is :math:`\partial y/\partial x = I + s\,\partial F/\partial x`:
    whatever F does, the identity term gives the gradient a path with
    derivative 1 around the block, so :math:`dx = dout + s \cdot F'(x)^T dout`.
    ``scale`` s (default 1) shrinks the branch; a scale such as
    :math:`1/\sqrt{L}` for L blocks keeps the forward variance from growing with depth.

    ``block`` is a :class:`Sequential` (or a list of layers, made into one) that
    maps (N, D) to (N, D): its output must have the width of its input.
    ``params``, ``grads`` and ``buffers`` are the block's, under the block's names.
    """

    def __init__(self, block: Sequential | Iterable[Layer], *, scale: float = 1.0) -> None:
        # no Layer.__init__: params, grads and buffers are the block's (properties below)
        self.cache: dict[str, Any] = {}
        self.training = True
        self.block = block if isinstance(block, Sequential) else Sequential(block)
        self.scale = check.number("scale", scale)
        need, give = self.block.in_features, self.block.out_features
        if need is not None and give is not None and need != give:
            raise ValueError(
                f"block maps width {need} to width {give}; a residual block must keep the width "
                f"(x + block(x) needs the same shape)"
            )

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return self.block.params

    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return self.block.grads

    @property
    def buffers(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return self.block.buffers

    @property
    def in_features(self) -> int | None:
        return self.block.in_features

    @property
    def dtype(self) -> np.dtype | None:
        return self.block.dtype

    def forward(self, x: np.ndarray) -> np.ndarray:
        branch = self.block.forward(x)
        if branch.shape != x.shape:
            raise ValueError(f"Residual.forward: the block maps x of shape {x.shape} to shape {branch.shape}; "
                             "allowed: a block whose output has the shape of its input")
        return x + self.scale * branch

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout + self.block.backward(self.scale * dout)

    def train(self) -> Residual:
        self.training = True
        self.block.train()
        return self

    def eval(self) -> Residual:
        self.training = False
        self.block.eval()
        return self

    def leaves(self) -> list[Layer]:
        return self.block.leaves()

    def chains(self) -> list[Sequential]:
        return self.block.chains()

    def __repr__(self) -> str:
        scale = "" if self.scale == 1 else f", scale={self.scale:g}"
        return f"Residual({self.block!r}{scale})"


class Parameters(Layer):
    """A bare point in parameter space: ``params = {"w": w}`` and no forward computation.

    It lets the optimizers run on a 2-D loss surface exactly as they run on a
    network: set ``grads["w"]`` from the surface's gradient, then call ``step()``.
    """

    def __init__(self, w: np.ndarray) -> None:
        super().__init__()
        w = check.array("w", np.array(w, dtype=np.float64), ndim=1)
        self.params = {"w": w}
        self._init_grads()

    def __repr__(self) -> str:
        return f"Parameters(w={self.params['w']!r})"
