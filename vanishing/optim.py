r"""Optimizers.

The shared interface
--------------------
``opt = Name(model, lr=..., ...)`` where ``model`` is anything with ``params``
and ``grads`` dicts under the same keys (a layer, a :class:`~vanishing.layers.Sequential`,
or a :class:`~vanishing.layers.Parameters` point for the 2-D surfaces).
``opt.step()`` reads the current gradients and updates every parameter in place.

Every optimizer takes two kinds of weight decay:

* ``weight_decay`` (λ): L2 regularisation added to the gradient,
  :math:`g \leftarrow g + \lambda w`, *before* momentum or adaptive scaling;
* ``decoupled_weight_decay`` (λ): the weights shrink directly,
  :math:`w \leftarrow w - \eta\lambda w`, independent of the gradient and of any
  adaptive scaling (Loshchilov and Hutter, 2019).

Under plain SGD the two are the same rule; under Adam they differ, because
Adam divides the L2 term by :math:`\sqrt{\hat v}` too.

Gradient clipping (Pascanu et al., 2013) acts on the gradients between the
backward and the step: :func:`clip_grad_norm` rescales every gradient so that
their global norm is at most ``max_norm`` (the direction of the step is kept);
:func:`clip_grad_value` cuts every entry to ``[-max_value, max_value]`` (the
direction changes). :class:`vanishing.train.GradientClipping` calls them in
:func:`vanishing.train.fit`.

State is inspectable: ``opt.state[name]`` is a dict of arrays for each
parameter (``"velocity"`` for SGD with momentum, ``"square_avg"`` for RMSProp,
``"m"`` and ``"v"`` for Adam), and ``opt.t`` counts the steps taken.

:data:`OPTIMIZERS` maps names to classes; :func:`make_optimizer` builds one by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as check


class Optimizer:
    """Base class: validation, weight decay and the step counter."""

    name = "optimizer"

    def __init__(self, model: Any, lr: float, *, weight_decay: float = 0.0,
                 decoupled_weight_decay: float = 0.0) -> None:
        if not (hasattr(model, "params") and hasattr(model, "grads")):
            raise TypeError(f"model={model!r} has no params/grads; allowed: a vanishing layer or Sequential")
        self.model = model
        self.lr = check.positive("lr", lr)
        self.weight_decay = check.non_negative("weight_decay", weight_decay)
        self.decoupled_weight_decay = check.non_negative("decoupled_weight_decay", decoupled_weight_decay)
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {name: {} for name in model.params}

    def step(self) -> None:
        """Apply one update to every parameter, in place."""
        self.t += 1
        params, grads = self.model.params, self.model.grads
        for name, p in params.items():
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.decoupled_weight_decay:
                p -= (self.lr * self.decoupled_weight_decay) * p
            self._update(name, p, g)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _zeros(self, name: str, key: str, p: np.ndarray) -> np.ndarray:
        state = self.state.setdefault(name, {})
        if key not in state:
            state[key] = np.zeros_like(p)
        return state[key]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    Plain: :math:`w \leftarrow w - \eta g`.
    Momentum μ: :math:`v \leftarrow \mu v + g`, :math:`w \leftarrow w - \eta v`
    (so a velocity built earlier keeps moving w after g becomes 0).
    Nesterov: :math:`w \leftarrow w - \eta (g + \mu v)` with the new v.
    """

    name = "sgd"

    def __init__(self, model: Any, lr: float = 0.1, *, momentum: float = 0.0, nesterov: bool = False,
                 **decay: float) -> None:
        super().__init__(model, lr, **decay)
        self.momentum = check.number("momentum", momentum, low=0, high=1, high_open=True)
        if nesterov and not momentum:
            raise ValueError("nesterov=True needs momentum > 0; allowed: momentum in (0, 1)")
        self.nesterov = bool(nesterov)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        if not self.momentum:
            p -= self.lr * g
            return
        v = self._zeros(name, "velocity", p)
        v *= self.momentum
        v += g
        p -= self.lr * (g + self.momentum * v if self.nesterov else v)


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman and Hinton, 2012).

    :math:`s \leftarrow \rho s + (1-\rho) g^2`,
    :math:`w \leftarrow w - \eta\, g / (\sqrt{s} + \epsilon)`.
    """

    name = "rmsprop"

    def __init__(self, model: Any, lr: float = 0.01, *, rho: float = 0.9, eps: float = 1e-8,
                 **decay: float) -> None:
        super().__init__(model, lr, **decay)
        self.rho = check.number("rho", rho, low=0, high=1, high_open=True)
        self.eps = check.positive("eps", eps)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        s = self._zeros(name, "square_avg", p)
        s *= self.rho
        s += (1 - self.rho) * (g * g)
        p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015).

    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`,
    :math:`w \leftarrow w - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)`.

    Without the bias correction (``bias_correction=False``) the first steps
    are off, because m and v start at 0: for a constant gradient the step is
    η (1 − β1^t)/√(1 − β2^t) instead of η, too large with the usual
    β1 = 0.9, β2 = 0.999 (3.2 η at t = 1), too small when β2 = β1.
    """

    name = "adam"

    def __init__(self, model: Any, lr: float = 0.001, *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, bias_correction: bool = True, **decay: float) -> None:
        super().__init__(model, lr, **decay)
        self.beta1 = check.number("beta1", beta1, low=0, high=1, high_open=True)
        self.beta2 = check.number("beta2", beta2, low=0, high=1, high_open=True)
        self.eps = check.positive("eps", eps)
        self.bias_correction = bool(bias_correction)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        m = self._zeros(name, "m", p)
        v = self._zeros(name, "v", p)
        b1, b2 = self.beta1, self.beta2
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        if self.bias_correction:
            step = self.lr / (1 - b1 ** self.t)
            denom = np.sqrt(v / (1 - b2 ** self.t))
        else:
            step = self.lr
            denom = np.sqrt(v)
        denom += self.eps
        p -= step * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019); default λ = 0.01."""

    name = "adamw"

    def __init__(self, model: Any, lr: float = 0.001, *, decoupled_weight_decay: float = 0.01,
                 **kwargs: Any) -> None:
        super().__init__(model, lr, decoupled_weight_decay=decoupled_weight_decay, **kwargs)


def global_norm(grads: dict[str, np.ndarray]) -> float:
    r"""The norm of all gradients as one vector: :math:`\sqrt{\sum_p \|g_p\|_2^2}`."""
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    r"""Scale every gradient in place by :math:`\min(1, \text{max\_norm}/\|g\|)`; return :math:`\|g\|` before.

    :math:`\|g\|` is :func:`global_norm`. After the call the global norm is at
    most ``max_norm`` and every gradient points where it pointed before.
    """
    check.positive("max_norm", max_norm)
    norm = global_norm(grads)
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


def clip_grad_value(grads: dict[str, np.ndarray], max_value: float) -> float:
    """Cut every gradient entry in place to ``[-max_value, max_value]``; return the fraction of entries cut."""
    check.positive("max_value", max_value)
    cut = sum(int(np.count_nonzero(np.abs(g) > max_value)) for g in grads.values())
    total = sum(g.size for g in grads.values())
    for g in grads.values():
        np.clip(g, -max_value, max_value, out=g)
    return cut / total if total else 0.0


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, RMSProp, Adam, AdamW)}
"""Name -> optimizer class."""


def make_optimizer(name: str, model: Any, **kwargs: Any) -> Optimizer:
    """Build an optimizer by name ('sgd', 'rmsprop', 'adam', 'adamw')."""
    return check.lookup("optimizer", name, OPTIMIZERS)(model, **kwargs)
