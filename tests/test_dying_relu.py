"""Notebook 03 (dying ReLU): the dead network and the experiments the notebook's claims rest on."""

from __future__ import annotations

import numpy as np
import pytest

import vanishing as vn
from vanishing.experiments.dying_relu import dead_network, dead_setup, kill_units, pre_activations


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_dead_setup_is_dead_on_every_input(task):
    setup = dead_setup(task)
    z = pre_activations(setup.model, setup.X)
    assert z.max() < 0
    np.testing.assert_allclose(z.max(axis=0), -1.0, atol=1e-12)  # the margin
    assert vn.diagnostics.dead_fraction(np.maximum(z, 0)) == 1.0


def test_dead_setup_binary_prior_and_size():
    setup = dead_setup("binary", n=200)
    assert setup.X.shape == (200, 2) and setup.y.shape == (200,)
    assert setup.y.mean() == pytest.approx(0.4)


def test_dead_network_gradients_are_exactly_zero_except_the_output_bias():
    setup = dead_setup("regression")
    loss = vn.make_loss(setup.loss)
    loss.forward(setup.model.forward(setup.X), setup.y)
    setup.model.backward(loss.backward())
    grads = setup.model.grads
    for name in ("0.W", "0.b", "2.W"):
        assert not np.any(grads[name]), name
    assert np.abs(grads["2.b"]).max() > 0.1


def test_dead_network_other_activation_has_the_same_parameters():
    X = np.random.default_rng(1).standard_normal((50, 3))
    relu = dead_network(X, 8, rng=np.random.default_rng(2))
    leaky = dead_network(X, 8, rng=np.random.default_rng(2), activation="leaky_relu",
                         activation_options={"alpha": 0.1})
    for name, p in relu.params.items():
        np.testing.assert_array_equal(p, leaky.params[name])


def test_kill_units_kills_only_the_chosen_units():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 2))
    model = vn.mlp([2, 6, 1], "relu", rng=rng, init="he_uniform")
    before = pre_activations(model, X)
    killed = kill_units(model, X, [1, 4], margin=0.5)
    after = pre_activations(model, X)
    assert list(killed) == [1, 4]
    np.testing.assert_allclose(after[:, [1, 4]].max(axis=0), -0.5, atol=1e-12)
    np.testing.assert_array_equal(after[:, [0, 2, 3, 5]], before[:, [0, 2, 3, 5]])


def test_kill_units_rejects_bad_units_and_margin():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 2))
    model = vn.mlp([2, 3, 1], "relu", rng=rng)
    with pytest.raises(ValueError, match="units"):
        kill_units(model, X, [3])
    with pytest.raises(ValueError, match="margin"):
        kill_units(model, X, margin=0.0)
