"""Tests of the data sets: shapes, labels, balance, determinism, geometry, the digits, helpers, registry."""

from pathlib import Path

import numpy as np
import pytest

import vanishing as vn
from vanishing import data

BINARY = [data.two_moons, data.two_spirals, data.circles, data.xor]
SYNTHETIC = BINARY + [data.blobs, data.teacher]


def rng(seed=0):
    return np.random.default_rng(seed)


# --- every synthetic generator -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [1 * 3 * 4, 101])
def test_shapes_and_dtypes(make, n):
    X, y = make(n, noise=0.1, rng=rng())
    assert X.shape == (n, 2) and X.dtype == np.float64
    if make is data.teacher:
        assert y.shape == (n, 1) and y.dtype == np.float64
    else:
        assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all() and np.isfinite(y).all()


@pytest.mark.parametrize("make", BINARY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [2, 100, 101])
def test_binary_labels_are_balanced(make, n):
    _, y = make(n, noise=0.1, rng=rng())
    assert set(np.unique(y)) == {0, 1}
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_blobs_labels_are_balanced():
    _, y = data.blobs(100, centers=3, rng=rng())
    np.testing.assert_array_equal(np.bincount(y), [34, 33, 33])


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(50, noise=0.1, rng=rng(7))
    X2, y2 = make(50, noise=0.1, rng=rng(7))
    X3, _ = make(50, noise=0.1, rng=rng(8))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_noise_changes_the_points(make):
    X0, _ = make(40, noise=0.0, rng=rng(1))
    X1, _ = make(40, noise=0.3, rng=rng(1))
    if make is data.teacher:  # the noise goes to the targets there
        _, y0 = make(40, noise=0.0, rng=rng(1))
        _, y1 = make(40, noise=0.3, rng=rng(1))
        np.testing.assert_array_equal(X0, X1)
        assert 0.15 < np.std(y1 - y0) < 0.45
    else:
        assert not np.allclose(X0, X1)


def test_rows_are_shuffled():
    _, y = data.two_moons(200, noise=0.1, rng=rng())
    assert not (np.all(y[:100] == 0) or np.all(y[:100] == 1))


# --- geometry without noise ----------------------------------------------------------------------------------------

def test_moons_lie_on_their_half_circles():
    X, y = data.two_moons(300, noise=0.0, rng=rng())
    P = X + np.array([0.5, 0.25])  # undo the centring
    upper, lower = P[y == 0], P[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert (upper[:, 1] >= 0).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert (lower[:, 1] <= 0.5).all()


def test_circles_radii():
    X, y = data.circles(200, noise=0.0, factor=0.3, rng=rng())
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)


def test_xor_label_is_sign_agreement():
    X, y = data.xor(400, noise=0.0, rng=rng())
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(int))
    assert np.abs(X).max() <= 1


def test_spirals_radius_range_and_symmetry():
    X, y = data.two_spirals(400, noise=0.0, rng=rng())
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0.05 and radius.max() <= 1.0
    # class 1 is class 0 turned by pi: a point of class 1 at radius r sits at the angle of class 0 plus pi
    turns = 1.5
    angle = np.arctan2(X[:, 1], X[:, 0])
    phase = np.mod(angle - 2 * np.pi * turns * radius, 2 * np.pi)
    np.testing.assert_allclose(np.minimum(phase[y == 0], 2 * np.pi - phase[y == 0]), 0.0, atol=1e-9)
    np.testing.assert_allclose(phase[y == 1], np.pi, atol=1e-9)


def test_blobs_with_zero_spread_sit_on_the_centres():
    centers = np.array([[0.0, 0.0, 1.0], [5.0, 5.0, 5.0]])
    X, y = data.blobs(10, centers=centers, std=0.0, rng=rng())
    assert X.shape == (10, 3)
    np.testing.assert_array_equal(X, centers[y])
    X, y = data.blobs(8, centers=4, std=0.0, rng=rng())
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), 1.0)
    assert len(np.unique(X.round(12), axis=0)) == 4


def test_teacher_targets_come_from_an_mlp_drawn_first():
    X, y = data.teacher(30, noise=0.0, sizes=(3, 5, 2), activation="relu", rng=rng(4))
    again = rng(4)
    net = vn.mlp([3, 5, 2], "relu", rng=again)
    X_expected = again.standard_normal((30, 3))
    np.testing.assert_array_equal(X, X_expected)
    np.testing.assert_allclose(y, net.forward(X_expected))
    assert y.shape == (30, 2)


# --- argument checks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_bad_arguments(make):
    with pytest.raises(ValueError, match="n=0"):
        make(0, noise=0.1, rng=rng())
    with pytest.raises(TypeError, match="n=2.5"):
        make(2.5, noise=0.1, rng=rng())
    with pytest.raises(ValueError, match="noise=-0.1"):
        make(10, noise=-0.1, rng=rng())
    with pytest.raises(TypeError, match="rng=42"):
        make(10, noise=0.1, rng=42)


def test_n_smaller_than_the_number_of_classes():
    with pytest.raises(ValueError, match="n=1 is too small"):
        data.two_moons(1, rng=rng())
    with pytest.raises(ValueError, match="n=2 is too small"):
        data.blobs(2, centers=3, rng=rng())


def test_option_checks():
    with pytest.raises(ValueError, match="factor=1.5"):
        data.circles(10, factor=1.5, rng=rng())
    with pytest.raises(ValueError, match="turns=0"):
        data.two_spirals(10, turns=0, rng=rng())
    with pytest.raises(ValueError, match="std=-1"):
        data.blobs(10, std=-1, rng=rng())


# --- digits --------------------------------------------------------------------------------------------------------

def test_digits_shape_labels_and_pixel_range():
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype.kind == "i"
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    # pixels were counts 0..16
    np.testing.assert_array_equal(X * 16, np.round(X * 16))
    counts = np.bincount(y)
    assert counts.sum() == 1797 and counts.min() >= 170


def test_digits_first_image_is_a_zero():
    # the first row of the file: 0,0,5,13,9,1,0,0, ... , label 0
    X, y = data.digits()
    assert y[0] == 0
    np.testing.assert_array_equal(X[0, :8] * 16, [0, 0, 5, 13, 9, 1, 0, 0])


def test_digits_returns_fresh_arrays():
    X, y = data.digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = data.digits()
    assert X2.min() == 0.0 and y2.min() == 0


def test_digits_subset():
    X, y = data.digits(100, rng=rng(3))
    X2, y2 = data.digits(100, rng=rng(3))
    assert X.shape == (100, 64) and y.shape == (100,)
    np.testing.assert_array_equal(X, X2)
    full_X, full_y = data.digits()
    # every row of the subset is a row of the full set with the same label
    matches = [np.flatnonzero((full_X == row).all(axis=1)) for row in X]
    assert all(full_y[m].tolist().count(label) >= 1 for m, label in zip(matches, y, strict=True))
    with pytest.raises(ValueError, match="n=1798"):
        data.digits(1798, rng=rng())
    with pytest.raises(TypeError, match="rng=None"):
        data.digits(10)


def test_digits_file_and_credit_ship_with_the_package():
    folder = Path(data.__file__).parent / "_data"
    assert (folder / "digits.csv.gz").is_file()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "Alpaydin" in readme and "Kaynak" in readme
    assert "CC BY 4.0" in data.digits.__doc__ and "Alpaydin" in data.digits.__doc__


# --- helpers -------------------------------------------------------------------------------------------------------

def test_one_hot():
    out = data.one_hot(np.array([2, 0, 1, 2]), 4)
    np.testing.assert_array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    assert out.dtype == np.float64
    assert data.one_hot(np.array([0, 1])).shape == (2, 2)
    with pytest.raises(ValueError, match="classes=3"):
        data.one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="integer class labels"):
        data.one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="negative label"):
        data.one_hot(np.array([-1, 1]), 2)


def test_train_test_split_partitions_the_rows():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.3, rng=rng())
    assert len(X_test) == 3 and len(X_train) == 7
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_train[:, 0] / 2, y_train)  # rows stay with their labels
    np.testing.assert_array_equal(X_test[:, 0] / 2, y_test)
    again = data.train_test_split(X, y, 0.3, rng=rng())
    np.testing.assert_array_equal(again[1], X_test)
    # extreme fractions still leave one row on each side
    assert len(data.train_test_split(X, y, 0.01, rng=rng())[1]) == 1
    assert len(data.train_test_split(X, y, 0.99, rng=rng())[0]) == 1


def test_train_test_split_checks():
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="test_fraction=1"):
        data.train_test_split(X, y, 1, rng=rng())
    with pytest.raises(ValueError, match=r"X has shape \(10, 2\) but y has shape \(9,\)"):
        data.train_test_split(X, y[:9], 0.5, rng=rng())
    with pytest.raises(ValueError, match="at least 2"):
        data.train_test_split(X[:1], y[:1], 0.5, rng=rng())


def test_standardize_uses_training_statistics():
    r = rng()
    X_train = r.normal(3.0, 2.0, size=(50, 3))
    X_train[:, 2] = 7.0  # a constant column
    X_test = r.normal(size=(5, 3))
    train, test = data.standardize(X_train, X_test)
    np.testing.assert_allclose(train[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train[:, :2].std(axis=0), 1.0)
    np.testing.assert_array_equal(train[:, 2], 0.0)
    mean, std = X_train[:, :2].mean(axis=0), X_train[:, :2].std(axis=0)
    np.testing.assert_allclose(test[:, :2], (X_test[:, :2] - mean) / std)
    np.testing.assert_allclose(test[:, 2], X_test[:, 2] - 7.0)
    assert data.standardize(X_train)[1] is None
    with pytest.raises(ValueError, match="X_test has shape"):
        data.standardize(X_train, X_test[:, :2])


# --- registry ------------------------------------------------------------------------------------------------------

def test_registry_and_tasks_agree():
    assert list(data.DATASETS) == list(data.TASKS)
    assert set(data.TASKS.values()) == {"binary", "multiclass", "regression"}


def test_load_builds_by_name():
    X, y = data.load("two_moons", n=30, noise=0.2, rng=rng(5))
    X2, y2 = data.two_moons(30, noise=0.2, rng=rng(5))
    np.testing.assert_array_equal(X, X2)
    X3, _ = data.load("moons", n=30, noise=0.2, rng=rng(5))  # alias
    np.testing.assert_array_equal(X, X3)
    assert data.load("digits")[0].shape == (1797, 64)


def test_load_errors():
    with pytest.raises(ValueError, match="name='mnist' is not known; allowed: 'two_moons'.*'digits'"):
        data.load("mnist")
    with pytest.raises(ValueError, match="n=-5"):
        data.load("xor", n=-5, rng=rng())
    with pytest.raises(ValueError, match="noise=-1"):
        data.load("circles", n=10, noise=-1, rng=rng())
    with pytest.raises(TypeError, match="unknown option.*'factor'.*allowed: n, noise, rng"):
        data.load("xor", n=10, factor=0.5, rng=rng())
    with pytest.raises(TypeError, match="needs n=..., rng=..."):
        data.load("xor")


def test_binary_data_feed_the_losses_directly():
    # int 0/1 labels of shape (n,) are accepted by bce_logits against (n, 1) logits
    X, y = data.xor(16, rng=rng())
    loss = vn.make_loss("bce_logits")
    assert np.isfinite(loss.forward(np.zeros((16, 1)), y))
    Xd, yd = data.digits(20, rng=rng())
    assert np.isfinite(vn.make_loss("softmax_ce").forward(np.zeros((20, 10)), yd))
    assert np.isfinite(vn.make_loss("mse").forward(np.zeros((20, 10)), data.one_hot(yd, 10)))
