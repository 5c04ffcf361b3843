"""Every layer, activation, loss and whole model against centred finite differences in float64."""

import numpy as np
import pytest

import vanishing as vn
from vanishing.gradcheck import check_layer, check_model, numerical_gradient, rel_error

TOL = 1e-7


def away_from_kinks(rng, shape, margin=0.05):
    """Inputs whose entries are at least `margin` from 0, so the finite difference never crosses a kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin, x)


@pytest.mark.parametrize("name", list(vn.ACTIVATIONS))
@pytest.mark.parametrize("training", [True, False])
def test_activation_backward_matches_finite_differences(name, training):
    rng = np.random.default_rng(1)
    layer = vn.make_activation(name, width=5, rng=np.random.default_rng(2))
    if name == "prelu":
        layer.params["alpha"][:] = rng.uniform(0.05, 0.5, size=5)
    layer.train() if training else layer.eval()
    errors = check_layer(layer, away_from_kinks(rng, (7, 5)), rng=rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("name", [n for n in vn.ACTIVATIONS if n != "rrelu"])
def test_derivative_function_matches_finite_differences_of_fn(name):
    rng = np.random.default_rng(3)
    act = vn.make_activation(name, width=1)
    z = away_from_kinks(rng, (200,))
    h = 1e-6
    numeric = (act.fn(z + h) - act.fn(z - h)) / (2 * h)
    assert rel_error(act.derivative(z), numeric) < TOL


def test_rrelu_derivative_function_is_the_evaluation_slope():
    act = vn.activations.RReLU(rng=np.random.default_rng(0))
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(act.derivative(z), [1 / 5.5, 1 / 5.5, 1, 1])


def test_dense_gradients():
    rng = np.random.default_rng(4)
    layer = vn.Dense(6, 4, rng=rng, init="he_normal")
    layer.params["b"][:] = rng.standard_normal(4)
    errors = check_layer(layer, rng.standard_normal((5, 6)), rng=rng)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(training):
    rng = np.random.default_rng(5)
    layer = vn.BatchNorm(4)
    layer.params["gamma"][:] = rng.uniform(0.5, 2, 4)
    layer.params["beta"][:] = rng.standard_normal(4)
    layer.buffers["running_mean"][:] = rng.standard_normal(4)
    layer.buffers["running_var"][:] = rng.uniform(0.5, 2, 4)
    layer.train() if training else layer.eval()
    errors = check_layer(layer, 3 * rng.standard_normal((8, 4)) + 1, rng=rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("name", ["mse", "bce_logits", "bce", "softmax_ce"])
def test_loss_gradients(name):
    rng = np.random.default_rng(6)
    n, c = 6, 3
    if name == "softmax_ce":
        pred, target = rng.standard_normal((n, c)), rng.integers(0, c, n)
    elif name == "bce":
        pred, target = rng.uniform(0.1, 0.9, (n, c)), (rng.random((n, c)) > 0.5).astype(float)
    elif name == "bce_logits":
        pred, target = 3 * rng.standard_normal((n, c)), rng.random((n, c))
    else:
        pred, target = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    loss = vn.make_loss(name)
    loss.forward(pred, target)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(pred, target), pred)
    assert rel_error(analytic, numeric) < TOL


@pytest.mark.parametrize("activation", list(vn.ACTIVATIONS))
@pytest.mark.parametrize("batchnorm", ["none", "before", "after"])
def test_whole_model_gradients(activation, batchnorm):
    rng = np.random.default_rng(7)
    model = vn.mlp([3, 5, 4, 2], activation, rng=rng, batchnorm=batchnorm, bias=0.1)
    x = rng.standard_normal((6, 3))
    errors = check_model(model, vn.make_loss("softmax_ce"), x, rng.integers(0, 2, 6))
    assert max(errors.values()) < TOL, errors
    if batchnorm == "before":
        # a bias straight before BatchNorm is cancelled by the mean subtraction: its gradient is exactly 0
        assert np.abs(model.grads["0.b"]).max() < 1e-12


def test_rel_error_detects_a_wrong_gradient():
    """The check must be able to fail: a backward off by 1% is caught."""
    rng = np.random.default_rng(8)
    layer = vn.Dense(4, 3, rng=rng)
    x = rng.standard_normal((5, 4))
    layer.forward(x)
    layer.backward(np.ones((5, 3)))
    analytic = layer.grads["W"] * 1.01
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(x))), layer.params["W"])
    assert rel_error(analytic, numeric) > 1e-3


def test_numerical_gradient_restores_the_array_exactly():
    rng = np.random.default_rng(9)
    w = rng.standard_normal((3, 3))
    before = w.copy()
    numerical_gradient(lambda: float(np.sum(w**3)), w)
    assert np.array_equal(w, before)
