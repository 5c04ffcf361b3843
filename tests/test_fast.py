"""The faster sigmoid of vanishing._fast gives the readable formulas' numbers, bit for bit."""

import numpy as np
import pytest

import vanishing as vn
from vanishing import _fast, activations


def grid(dtype):
    """Every sign and scale of the dtype: 0, subnormals, tiny, around 1, large, the largest finite, inf."""
    info = np.finfo(dtype)
    magnitudes = np.concatenate([[0.0, float(info.smallest_subnormal), float(info.tiny)],
                                 np.geomspace(float(info.tiny), float(info.max) / 4, 4001), [float(info.max), np.inf]])
    z = np.concatenate([-magnitudes, magnitudes, np.linspace(-40, 40, 4001)]).astype(dtype)
    return z.reshape(-1, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid"])
def test_fast_forward_and_backward_equal_the_readable_formulas_bit_for_bit(name, dtype):
    readable = activations.make_activation(name)
    fast = _fast.speed_up(readable)
    assert type(fast) is not type(readable) and isinstance(fast, type(readable))
    z = grid(dtype)
    dout = np.random.default_rng(0).standard_normal(z.shape).astype(dtype)
    with np.errstate(invalid="raise", divide="raise"):
        out = fast.forward(z)
        dz = fast.backward(dout)
    np.testing.assert_array_equal(out, readable.fn(z))
    np.testing.assert_array_equal(dz, dout * readable.derivative(z))
    assert out.dtype == dz.dtype == dtype


@pytest.mark.parametrize("name", ["sigmoid"])
def test_other_inputs_take_the_readable_path(name):
    fast = _fast.speed_up(activations.make_activation(name))
    z = np.array([[-3.0, 0.5]], dtype=np.float16)
    np.testing.assert_array_equal(fast.forward(z), fast.fn(z))
    np.testing.assert_array_equal(fast.backward(np.ones_like(z)), fast.derivative(z))


@pytest.mark.parametrize("layer", [activations.ReLU(), activations.Tanh(), activations.ELU()])
def test_speed_up_leaves_other_layers_alone(layer):
    assert _fast.speed_up(layer) is layer


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_a_network_with_the_faster_twins_trains_exactly_as_with_the_readable_layers(activation):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    fast = vn.mlp([4, 16, 16, 3], activation, rng=np.random.default_rng(2))
    plain = vn.mlp([4, 16, 16, 3], activation, rng=np.random.default_rng(2))
    readable = vn.layers.Sequential([activations.make_activation(activation)
                                     if isinstance(layer, activations.Activation) else layer for layer in plain])
    assert repr(fast) == repr(readable)
    runs = [vn.fit(model, "softmax_ce", vn.optim.SGD(model, lr=0.5), X, y, steps=20, batch_size=16,
                   rng=np.random.default_rng(3)) for model in (fast, readable)]
    assert runs[0].loss == runs[1].loss
    for name, p in fast.params.items():
        np.testing.assert_array_equal(p, readable.params[name])
