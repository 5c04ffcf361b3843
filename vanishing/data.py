r"""Data sets: small synthetic problems, and the handwritten digits.

The shared interface
--------------------
Every synthetic generator is ``name(n, *, noise, rng, ...) -> (X, y)``:

* ``n``: the number of examples (a positive integer);
* ``noise``: the standard deviation of Gaussian noise added to every input
  coordinate (to the targets, for the regression problem ``teacher``);
* ``rng``: the ``numpy.random.Generator`` that draws everything, so that a
  seed gives the same data every time;
* ``X``: float64, shape (n, d); ``y``: int64 class labels, shape (n,), for
  classification (0/1 for the binary problems), or float64 targets (n, k) for
  regression.

Classes are balanced (sizes differ by at most one) and the rows are shuffled.
The 2-D problems are centred near the origin with coordinates of order 1, the
scale a tanh or ReLU network with Glorot/He initialization expects.

:data:`DATASETS` maps names to functions (it feeds the widgets' dropdowns) and
:data:`TASKS` says what each is ("binary", "multiclass" or "regression");
:func:`load` builds one by name. Helpers: :func:`one_hot`,
:func:`train_test_split`, :func:`standardize`.

Nothing is downloaded: the digits ship with the package (``vanishing/_data``).
"""

from __future__ import annotations

import gzip
import inspect
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from . import _validate as check


def _check_common(n: Any, noise: Any, rng: Any, *, classes: int = 1) -> None:
    check.positive("n", n, integer=True)
    if n < classes:
        raise ValueError(f"n={n} is too small: this data set has {classes} classes and needs n >= {classes}")
    check.non_negative("noise", noise)
    check.rng("rng", rng)


def _class_sizes(n: int, classes: int) -> list[int]:
    """Balanced class sizes: n // classes each, the first n % classes classes one more."""
    return [n // classes + (1 if k < n % classes else 0) for k in range(classes)]


def _finish(X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Add input noise, then shuffle the rows (the points were generated class by class)."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float64), y[order].astype(np.int64)


def _labels(sizes: Sequence[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes)), sizes)


def two_moons(n: int, *, noise: float = 0.1, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles, labels 0 and 1.

    Class 0: :math:`(\cos t, \sin t)`; class 1: :math:`(1 - \cos t, \tfrac12 - \sin t)`,
    with :math:`t \sim U(0, \pi)`, then shifted by (−0.5, −0.25) so that the
    data are centred. X (n, 2), y (n,).
    """
    _check_common(n, noise, rng, classes=2)
    n0, n1 = _class_sizes(n, 2)
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower]) - np.array([0.5, 0.25])
    return _finish(X, _labels([n0, n1]), noise, rng)


def two_spirals(n: int, *, noise: float = 0.05, turns: float = 1.5,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaved spirals, labels 0 and 1: a hard problem for a shallow network.

    Class 0 lies on :math:`r(\cos\theta, \sin\theta)` with :math:`r = t`,
    :math:`\theta = 2\pi\cdot\text{turns}\cdot t`, :math:`t \sim U(0.05, 1)`;
    class 1 is class 0 turned by half a circle. Coordinates lie in [−1, 1]
    before the noise. X (n, 2), y (n,).
    """
    _check_common(n, noise, rng, classes=2)
    check.positive("turns", turns)
    n0, n1 = _class_sizes(n, 2)
    arms = []
    for size, offset in ((n0, 0.0), (n1, np.pi)):
        t = rng.uniform(0.05, 1.0, size)
        theta = 2 * np.pi * turns * t + offset
        arms.append(np.column_stack([t * np.cos(theta), t * np.sin(theta)]))
    return _finish(np.vstack(arms), _labels([n0, n1]), noise, rng)


def circles(n: int, *, noise: float = 0.05, factor: float = 0.5,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: label 0 on the outer one (radius 1), 1 on the inner one (radius ``factor``).

    Angles are uniform on [0, 2π). No straight line separates the classes.
    X (n, 2), y (n,).
    """
    _check_common(n, noise, rng, classes=2)
    check.number("factor", factor, low=0, high=1, low_open=True, high_open=True)
    n0, n1 = _class_sizes(n, 2)
    rings = []
    for size, radius in ((n0, 1.0), (n1, factor)):
        angle = rng.uniform(0, 2 * np.pi, size)
        rings.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
    return _finish(np.vstack(rings), _labels([n0, n1]), noise, rng)


def xor(n: int, *, noise: float = 0.05, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points uniform in [−1, 1]², label 1 where x1 and x2 have the same sign.

    Each class fills its two opposite quadrants uniformly; the label is fixed
    before the noise is added, so noise blurs the quadrant borders. X (n, 2), y (n,).
    """
    _check_common(n, noise, rng, classes=2)
    sizes = _class_sizes(n, 2)
    points = []
    for label, size in enumerate(sizes):
        magnitude = rng.uniform(0, 1, (size, 2))
        sign = rng.choice([-1.0, 1.0], size)
        # label 1: same signs (quadrants 1 and 3); label 0: opposite signs (quadrants 2 and 4)
        signs = np.column_stack([sign, sign if label == 1 else -sign])
        points.append(magnitude * signs)
    return _finish(np.vstack(points), _labels(sizes), noise, rng)


def blobs(n: int, *, centers: int | np.ndarray = 3, std: float = 0.3, noise: float = 0.0,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs, one class per centre.

    Parameters
    ----------
    centers
        An integer k puts k centres evenly on the unit circle (2-D data, labels
        0..k-1); an array (k, d) gives the centres themselves (d-dimensional data).
    std
        Standard deviation of each blob around its centre.
    noise
        Extra Gaussian noise, as for the other generators (the spread becomes
        sqrt(std² + noise²)); 0 by default.
    """
    if isinstance(centers, np.ndarray):
        points = check.array("centers", centers.astype(np.float64) if centers.dtype.kind in "iu" else centers,
                             ndim=2)
    else:
        k = check.positive("centers", centers, integer=True)
        angle = 2 * np.pi * np.arange(k) / k
        points = np.column_stack([np.cos(angle), np.sin(angle)])
    k = len(points)
    _check_common(n, noise, rng, classes=k)
    check.non_negative("std", std)
    sizes = _class_sizes(n, k)
    y = _labels(sizes)
    X = points[y] + std * rng.standard_normal((n, points.shape[1]))
    return _finish(X, y, noise, rng)


def teacher(n: int, *, noise: float = 0.1, sizes: Sequence[int] = (2, 16, 1), activation: str = "tanh",
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regression on the outputs of a random "teacher" network.

    A teacher MLP (:func:`vanishing.models.mlp` with widths ``sizes`` and the
    hidden ``activation``, Glorot-uniform weights) is drawn from ``rng``; then
    ``X ~ N(0, 1)`` of shape (n, sizes[0]) and ``y = teacher(X) + noise · N(0, 1)``
    of shape (n, sizes[-1]), float64. A student with the same architecture can fit it exactly
    (up to the noise), so any failure to learn is the optimisation's fault.
    """
    from .models import mlp  # models imports the layers; kept local so that `data` loads light

    _check_common(n, noise, rng)
    net = mlp(list(sizes), activation, rng=rng)
    X = rng.standard_normal((n, sizes[0]))
    y = net.forward(X)
    y = y + noise * rng.standard_normal(y.shape)
    return X, y.astype(np.float64)


# --- the digits ----------------------------------------------------------------------------------------------------

DIGITS_FILE = "digits.csv.gz"
DIGITS_SHAPE = (1797, 64)


@lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    """The raw table (1797, 65) of integers, parsed once per process."""
    source = resources.files(__package__).joinpath("_data", DIGITS_FILE)
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    rows, cols = DIGITS_SHAPE
    if table.shape != (rows, cols + 1) or table[:, :cols].min() < 0 or table[:, :cols].max() > 16 \
            or not np.isin(table[:, cols], np.arange(10)).all():
        raise RuntimeError(f"the packaged file vanishing/_data/{DIGITS_FILE} is damaged (table of shape "
                           f"{table.shape}); reinstall the package")
    table.setflags(write=False)
    return table


def digits(n: int | None = None, *, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The handwritten digits: 1,797 images of 8×8 pixels, classes 0..9.

    Returns ``X`` float64 (1797, 64), the pixels of each image row by row,
    scaled from 0..16 to [0, 1]; and ``y`` int64 (1797,), the digit shown.
    With ``n`` (and ``rng``) a random subset of n images, in random order.

    Source: the test set of the "Optical Recognition of Handwritten Digits"
    data set, E. Alpaydin and C. Kaynak (1998), UCI Machine Learning
    Repository, licensed under CC BY 4.0
    (https://creativecommons.org/licenses/by/4.0/). Each pixel counts the
    "on" pixels of a 4×4 block of a 32×32 bitmap. The file ships with the
    package (``vanishing/_data/digits.csv.gz``) and is read with gzip and numpy.
    """
    table = _digits_table()
    X = table[:, :-1] / 16.0
    y = table[:, -1].copy()
    if n is None:
        if rng is not None:
            check.rng("rng", rng)
        return X, y
    check.positive("n", n, integer=True)
    if n > len(X):
        raise ValueError(f"n={n} is out of range; allowed: 1..{len(X)} (there are {len(X)} digit images)")
    if rng is None:
        raise TypeError("rng=None: a subset of the digits (n given) is drawn at random and needs a "
                        "numpy.random.Generator")
    check.rng("rng", rng)
    rows = rng.permutation(len(X))[:n]
    return X[rows], y[rows]


# --- helpers -------------------------------------------------------------------------------------------------------

def one_hot(y: np.ndarray, classes: int | None = None) -> np.ndarray:
    """One-hot rows: ``out[i, y[i]] = 1``, float64 (n, classes).

    ``classes`` defaults to ``y.max() + 1``. Used for MSE on the digits.
    """
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
        shown = f"array of shape {y.shape} and dtype {y.dtype}" if isinstance(y, np.ndarray) else type(y).__name__
        raise TypeError(f"y must be a 1-D numpy array of integer class labels, got {shown}")
    if y.size and y.min() < 0:
        raise ValueError(f"y has a negative label {y.min()}; allowed: labels 0..classes-1")
    if classes is None:
        classes = int(y.max()) + 1 if y.size else 0
    check.positive("classes", classes, integer=True)
    if y.size and y.max() >= classes:
        raise ValueError(f"y has label {y.max()} but classes={classes}; allowed: labels 0..{classes - 1}")
    out = np.zeros((len(y), classes))
    out[np.arange(len(y)), y] = 1.0
    return out


def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, *,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split at random into ``X_train, X_test, y_train, y_test``.

    The test part has ``round(test_fraction · n)`` rows, at least 1, and the
    training part keeps at least 1.
    """
    X = check.array("X", X, ndim=2)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"y must be a numpy array, got {type(y).__name__}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"X has shape {X.shape} but y has shape {y.shape}; they need the same number of rows")
    check.number("test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True)
    check.rng("rng", rng)
    n = len(X)
    if n < 2:
        raise ValueError(f"X has {n} row; a split needs at least 2")
    n_test = min(max(round(test_fraction * n), 1), n - 1)
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X_train: np.ndarray, X_test: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Shift and scale every column to mean 0 and standard deviation 1 *on the training set*.

    The test set is transformed with the training mean and standard deviation
    (using its own statistics would leak information about it). A constant
    column (the digits' always-blank corner pixels) has standard deviation 0; it
    is only centred. Returns ``(X_train_std, X_test_std)`` (None for a missing test set).
    """
    X_train = check.array("X_train", X_train, ndim=2)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    train = (X_train - mean) / std
    if X_test is None:
        return train, None
    X_test = check.array("X_test", X_test, ndim=2)
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test has shape {X_test.shape} but X_train has shape {X_train.shape}; "
                         "they need the same number of columns")
    return train, (X_test - mean) / std


# --- registry ------------------------------------------------------------------------------------------------------

DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "two_moons": two_moons,
    "two_spirals": two_spirals,
    "circles": circles,
    "xor": xor,
    "blobs": blobs,
    "teacher": teacher,
    "digits": digits,
}
"""Name -> generator (or loader), easiest first."""

TASKS: dict[str, str] = {
    "two_moons": "binary", "two_spirals": "binary", "circles": "binary", "xor": "binary",
    "blobs": "multiclass", "teacher": "regression", "digits": "multiclass",
}
"""Name -> "binary" (labels 0/1), "multiclass" (labels 0..k-1) or "regression" (float targets)."""

ALIASES: dict[str, str] = {"moons": "two_moons", "spirals": "two_spirals"}
"""Short names :func:`load` also accepts."""


def load(name: str, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Build the data set ``name`` (a key of :data:`DATASETS`) with keyword arguments.

    ``load("two_moons", n=200, noise=0.1, rng=rng)`` is ``two_moons(200, noise=0.1, rng=rng)``.
    An unknown name or option raises an error that lists the allowed ones.
    """
    name = ALIASES.get(name, name) if isinstance(name, str) else name
    function = check.lookup("name", name, DATASETS)
    parameters = inspect.signature(function).parameters
    unknown = [key for key in kwargs if key not in parameters]
    if unknown:
        raise TypeError(f"load({name!r}): unknown option(s) {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(parameters)}")
    missing = [key for key, p in parameters.items() if p.default is inspect.Parameter.empty and key not in kwargs]
    if missing:
        raise TypeError(f"load({name!r}) needs {', '.join(f'{key}=...' for key in missing)} "
                        f"(for example n=200, rng=numpy.random.default_rng(0))")
    return function(**kwargs)
