"""Layers: the building blocks of every network in the course.

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
  that behave differently (BatchNorm, RReLU) look at it.

Shapes: a batch is ``(N, D)``: N examples, D features.
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

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """``forward`` without the input checks, for a Sequential that checked its chain already."""
        return self.forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout

    def _backward_params(self, dout: np.ndarray) -> None:
        """Fill ``grads`` only, for the first layer of a network, whose input gradient nobody uses."""
        self.backward(dout)

    @property
    def in_width(self) -> int | None:
        """The input width this layer requires (None: any)."""
        return None

    @property
    def out_width(self) -> int | None:
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

    def _check_input(self, x: np.ndarray, features: int | None, name: str = "x") -> None:
        """Cheap checks on a forward input: a 2-D float array with the right width."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{type(self).__name__}.forward: {name} must be a numpy array, got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(
                f"{type(self).__name__}.forward: {name} has shape {x.shape}; expected 2 dimensions (N, D)"
            )
        if features is not None and x.shape[1] != features:
            raise ValueError(
                f"{type(self).__name__}.forward: {name} has shape {x.shape} but the layer expects "
                f"(N, {features}): the input width {x.shape[1]} does not match {features}"
            )

    def _check_dtype(self, x: np.ndarray, dtype: np.dtype, name: str = "x") -> None:
        if x.dtype != dtype:
            raise TypeError(
                f"{type(self).__name__}.forward: {name} has dtype {x.dtype} but the layer's parameters are "
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
        from . import init as initializers  # init imports nothing from here; kept local for clarity

        check.positive("in_features", in_features, integer=True)
        check.positive("out_features", out_features, integer=True)
        check.rng("rng", rng)
        check.number("bias", bias)
        self.dtype = check.float_dtype("dtype", dtype)
        self.init = init
        W = initializers.initialize(init, (in_features, out_features), rng=rng, **init_kwargs)
        self.params = {"W": W.astype(self.dtype), "b": np.full(out_features, bias, dtype=self.dtype)}
        self._init_grads()

    @property
    def in_features(self) -> int:
        return self.params["W"].shape[0]

    @property
    def out_features(self) -> int:
        return self.params["W"].shape[1]

    @property
    def in_width(self) -> int:
        return self.params["W"].shape[0]

    @property
    def out_width(self) -> int:
        return self.params["W"].shape[1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, self.in_features)
        self._check_dtype(x, self.dtype)
        return self._forward(x)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self.cache["x"] = x
        out = x @ self.params["W"]
        out += self.params["b"]
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._backward_params(dout)
        return dout @ self.params["W"].T

    def _backward_params(self, dout: np.ndarray) -> None:
        np.matmul(self.cache["x"].T, dout, out=self.grads["W"])
        dout.sum(axis=0, out=self.grads["b"])  # the method skips np.sum's Python-level dispatch

    def __repr__(self) -> str:
        return f"Dense({self.in_features}, {self.out_features}, init={self.init!r}, dtype={self.dtype})"


class BatchNorm(Layer):
    r"""Batch normalization over the batch axis (Ioffe and Szegedy, 2015).

    Training mode: normalise with the batch mean and variance,
    :math:`\hat x = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`, output
    :math:`\gamma \hat x + \beta`, and update the running statistics
    ``running_mean <- (1 - momentum) * running_mean + momentum * mu_B`` (and the
    same for the unbiased batch variance).

    Evaluation mode: normalise with the running statistics, which are never
    updated there. They are buffers (``self.buffers``), not parameters: the
    optimizer never touches them.

    Backward (training mode), with :math:`g = dout\cdot\gamma`:
    :math:`dx = \frac{1}{N\sigma}\,(N g - \sum g - \hat x \sum g\hat x)`.
    In evaluation mode the normalisation is a fixed affine map, so
    :math:`dx = g/\sqrt{\text{running\_var} + \epsilon}`.

    Shapes: ``x`` (N, D), ``gamma``/``beta``/running statistics (D,).
    """

    def __init__(self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        check.positive("num_features", num_features, integer=True)
        check.number("momentum", momentum, low=0, high=1)
        check.positive("eps", eps)
        self.dtype = check.float_dtype("dtype", dtype)
        self.momentum = momentum
        self.eps = eps
        self.params = {"gamma": np.ones(num_features, self.dtype), "beta": np.zeros(num_features, self.dtype)}
        self.buffers = {"running_mean": np.zeros(num_features, self.dtype),
                        "running_var": np.ones(num_features, self.dtype)}
        self._init_grads()

    @property
    def num_features(self) -> int:
        return self.params["gamma"].shape[0]

    @property
    def in_width(self) -> int:
        return self.num_features

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, self.num_features)
        self._check_dtype(x, self.dtype)
        return self._forward(x)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    f"BatchNorm.forward: x has shape {x.shape}; training mode needs a batch of at least 2 "
                    "examples to estimate a variance (use eval() for single examples)"
                )
            mean = x.mean(axis=0)
            centred = x - mean
            var = np.mean(centred * centred, axis=0)
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += (m * n / (n - 1)) * var
        else:
            centred = x - self.buffers["running_mean"]
            var = self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = centred * inv_std
        self.cache = {"x_hat": x_hat, "inv_std": inv_std, "training": self.training}
        return self.params["gamma"] * x_hat + self.params["beta"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self.cache["x_hat"], self.cache["inv_std"]
        gamma = self.params["gamma"]
        np.sum(dout * x_hat, axis=0, out=self.grads["gamma"])
        np.sum(dout, axis=0, out=self.grads["beta"])
        g = dout * gamma
        if not self.cache["training"]:
            return g * inv_std
        n = dout.shape[0]
        # dx = (1/N) * inv_std * (N g - sum(g) - x_hat * sum(g * x_hat))
        sum_g = self.grads["beta"] * gamma
        sum_gx = self.grads["gamma"] * gamma
        return (inv_std / n) * (n * g - sum_g - x_hat * sum_gx)

    def __repr__(self) -> str:
        return f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps})"


ForwardHook = Callable[[int, Layer, np.ndarray, np.ndarray], None]


class Sequential(Layer):
    """A chain of layers applied in order.

    ``params`` and ``grads`` of a Sequential are flat dicts whose keys are
    ``"<index>.<name>"`` (for example ``"0.W"``), so an optimizer sees every
    parameter of the network under one name; the arrays are the layers' own
    (updating them in place updates the layers).

    Forward hooks let diagnostics watch each layer's input and output from
    outside the model: ``add_forward_hook(fn)`` calls ``fn(index, layer, x, out)``
    after every layer's forward and returns a function that removes the hook.
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        # No call to Layer.__init__: params, grads and buffers are views built
        # from the layers' own dicts (properties below), not stored here.
        self.cache: dict[str, Any] = {}
        self.training = True
        # a tuple: the chain is checked once, here, and the parameter names below are fixed with it
        self.layers: tuple[Layer, ...] = tuple(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}]={layer!r} is not a Layer; allowed: instances of vanishing.layers.Layer")
        if not self.layers:
            raise ValueError("layers is empty; a Sequential needs at least one layer")
        self._check_chain()
        self._hooks: list[ForwardHook] = []
        # (flat name, layer, name in the layer): built once, so params/grads cost one dict each step
        self._names = [(f"{i}.{k}", layer, k) for i, layer in enumerate(self.layers) for k in layer.params]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {flat: layer.params[k] for flat, layer, k in self._names}


    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {flat: layer.grads[k] for flat, layer, k in self._names}


    @property
    def buffers(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.buffers.items()}


    def _check_chain(self) -> None:
        """Every layer's input width and dtype must match what the layer before it produces.

        Checked once here, so that ``forward`` checks only the network's input
        and then runs the layers without checking each one again.
        """
        width, width_from, dtype, dtype_from = None, None, None, None
        for i, layer in enumerate(self.layers):
            need = layer.in_width
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
            if layer.out_width is not None:
                width, width_from = layer.out_width, i
            elif need is not None:
                width, width_from = need, i

    def forward(self, x: np.ndarray) -> np.ndarray:
        hooks = self._hooks
        for i, layer in enumerate(self.layers):
            # the first layer checks the network's input; the chain behind it was checked in __init__
            out = layer.forward(x) if i == 0 else layer._forward(x)
            if hooks:
                for hook in hooks:
                    hook(i, layer, x, out)
            x = out
        return x

    def backward(self, dout: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dout`` through every layer; return dL/dx of the network's input.

        ``input_grad=False`` (what :func:`vanishing.train.fit` uses) skips that
        last product, which training never needs, and returns None.
        """
        layers = self.layers
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        if input_grad:
            return layers[0].backward(dout)
        layers[0]._backward_params(dout)
        return None

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

    def add_forward_hook(self, hook: ForwardHook) -> Callable[[], None]:
        """Call ``hook(index, layer, x, out)`` after each layer's forward."""
        self._hooks.append(hook)

        def remove() -> None:
            if hook in self._hooks:
                self._hooks.remove(hook)

        return remove

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the first layer that has one (None if no layer has)."""
        for layer in self.layers:
            if hasattr(layer, "dtype"):
                return layer.dtype
        return None

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"


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
