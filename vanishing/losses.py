r"""Loss functions.

The shared interface
--------------------
A loss is an object with

* ``forward(pred, target) -> float``: the mean loss over the batch;
* ``backward() -> dpred``: dL/d(pred), same shape as ``pred``.

All are averaged over the N examples of the batch, so the gradient carries a
factor 1/N. ``target`` is checked: its kind (class indices, 0/1 labels or real
values) and shape must match what the loss expects.

:data:`LOSSES` maps names to classes; :func:`make_loss` builds one by name.
"""

from __future__ import annotations

import numpy as np

from . import _validate as check


class Loss:
    name = "loss"

    def __init__(self) -> None:
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def _check_pred(self, pred: np.ndarray) -> None:
        check.array("pred", pred, ndim=2, finite=False)

    def _check_same_shape(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        if not isinstance(target, np.ndarray):
            raise TypeError(f"target must be a numpy array, got {type(target).__name__}")
        if target.ndim == 1 and pred.shape[1] == 1:
            target = target[:, None]
        if target.shape != pred.shape:
            raise ValueError(
                f"{type(self).__name__}: target has shape {target.shape} but pred has shape {pred.shape}; "
                "they must match"
            )
        if target.dtype.kind not in "fiub":
            raise TypeError(f"target has dtype {target.dtype}; allowed: a numeric dtype")
        return target.astype(pred.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error :math:`L = \frac{1}{N}\sum_n \sum_k \tfrac12 (y_{nk} - t_{nk})^2`.

    The ½ makes the gradient simply :math:`(y - t)/N`.
    """

    name = "mse"

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        self._check_pred(pred)
        target = self._check_same_shape(pred, target)
        diff = pred - target
        self.cache = {"diff": diff}
        return float(0.5 * np.sum(diff * diff) / pred.shape[0])

    def backward(self) -> np.ndarray:
        diff = self.cache["diff"]
        return diff / diff.shape[0]


def _check_binary(pred: np.ndarray, target: np.ndarray, loss: Loss) -> np.ndarray:
    target = loss._check_same_shape(pred, target)
    if target.size and (target.min() < 0 or target.max() > 1):
        raise ValueError(
            f"{type(loss).__name__}: target has values in [{target.min():g}, {target.max():g}]; "
            "allowed: labels in [0, 1] (for class indices 0..C-1 use 'softmax_ce')"
        )
    return target


class BCEWithLogits(Loss):
    r"""Binary cross-entropy on logits z (the sigmoid is inside the loss).

    :math:`L = \frac1N \sum [\,\max(z, 0) - z t + \log(1 + e^{-|z|})\,]`, which
    equals :math:`-[t \log\sigma(z) + (1-t)\log(1-\sigma(z))]` without ever
    forming :math:`\log 0`. Gradient: :math:`(\sigma(z) - t)/N`: no
    :math:`\sigma'(z)` factor, so a saturated wrong output still gets a full gradient.
    """

    name = "bce_logits"

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        self._check_pred(pred)
        target = _check_binary(pred, target, self)
        z = pred
        loss = np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))
        e = np.exp(-np.abs(z))
        sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        self.cache = {"sig": sig, "target": target}
        return float(np.sum(loss) / pred.shape[0])

    def backward(self) -> np.ndarray:
        sig, target = self.cache["sig"], self.cache["target"]
        return (sig - target) / sig.shape[0]


class BCE(Loss):
    r"""Binary cross-entropy on probabilities p (the output of a Sigmoid layer).

    :math:`L = -\frac1N\sum [t\log p + (1-t)\log(1-p)]`, with p clipped to
    [eps, 1 − eps] so that a saturated output gives a large finite loss rather
    than inf. Gradient: :math:`\frac{1}{N}\,\frac{p - t}{p(1-p)}` (zero where p was
    clipped). Composed with the sigmoid's σ′ = p(1 − p) this is (p − t)/N in exact
    arithmetic, but once p rounds to exactly 0 or 1 the information is gone:
    that is why :class:`BCEWithLogits` is the stable choice.
    """

    name = "bce"

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = check.number("eps", eps, low=0, high=0.5, low_open=True, high_open=True)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        self._check_pred(pred)
        target = _check_binary(pred, target, self)
        if pred.min() < 0 or pred.max() > 1:
            raise ValueError(
                f"BCE: pred has values in [{pred.min():g}, {pred.max():g}]; allowed: probabilities in [0, 1] "
                "(for logits use 'bce_logits')"
            )
        p = np.clip(pred, self.eps, 1 - self.eps)
        loss = -(target * np.log(p) + (1 - target) * np.log1p(-p))
        self.cache = {"p": p, "target": target, "inside": (pred > self.eps) & (pred < 1 - self.eps)}
        return float(np.sum(loss) / pred.shape[0])

    def backward(self) -> np.ndarray:
        p, target = self.cache["p"], self.cache["target"]
        return self.cache["inside"] * (p - target) / (p * (1 - p)) / p.shape[0]


class SoftmaxCrossEntropy(Loss):
    r"""Softmax cross-entropy on logits, targets given as class indices (N,).

    :math:`L = \frac1N\sum_n [\log\sum_k e^{z_{nk}} - z_{n,t_n}]`, computed with the
    max subtracted so that exp never overflows. Gradient:
    :math:`(\mathrm{softmax}(z) - \mathrm{onehot}(t))/N`.
    """

    name = "softmax_ce"

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        self._check_pred(pred)
        n, c = pred.shape
        if not isinstance(target, np.ndarray):
            raise TypeError(f"target must be a numpy array of class indices, got {type(target).__name__}")
        if target.dtype.kind not in "iu":
            raise TypeError(
                f"SoftmaxCrossEntropy: target has dtype {target.dtype}; allowed: integer class indices 0..{c - 1} "
                "of shape (N,)"
            )
        if target.shape != (n,):
            raise ValueError(f"SoftmaxCrossEntropy: target has shape {target.shape} but pred has shape "
                             f"{pred.shape}; allowed: target of shape ({n},)")
        if target.min() < 0 or target.max() >= c:
            raise ValueError(
                f"SoftmaxCrossEntropy: target has class indices in [{target.min()}, {target.max()}]; "
                f"allowed: 0..{c - 1} (pred has {c} columns)"
            )
        shifted = pred - pred.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_prob = shifted - np.log(total)
        self.cache = {"prob": exp / total, "target": target}
        return float(-np.sum(log_prob[np.arange(n), target]) / n)

    def backward(self) -> np.ndarray:
        prob, target = self.cache["prob"], self.cache["target"]
        n = prob.shape[0]
        grad = prob.copy()
        grad[np.arange(n), target] -= 1
        return grad / n


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (MSE, BCEWithLogits, BCE, SoftmaxCrossEntropy)}
"""Name -> loss class."""


def make_loss(name: str, **kwargs) -> Loss:
    """Build a loss by name: 'mse', 'bce_logits', 'bce' (on probabilities) or 'softmax_ce'."""
    return check.lookup("loss", name, LOSSES)(**kwargs)
