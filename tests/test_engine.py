"""Behaviour of the engine's pieces: stability, modes, optimizer steps by hand, initializer statistics."""

import warnings

import numpy as np
import pytest

import vanishing as vn
from vanishing import activations as A
from vanishing import init, optim
from vanishing.layers import Parameters


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "selu"])
def test_saturating_activations_are_stable_at_huge_inputs(name, dtype):
    act = vn.make_activation(name)
    z = np.array([-1e4, -1e3, -50, -1, 0, 1, 50, 1e3, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow, invalid-value or divide warning fails the test
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            out, d = act.fn(z), act.derivative(z)
            act.forward(z[None, :])
            dz = act.backward(np.ones((1, z.size), dtype=dtype))
    for arr in (out, d, dz):
        assert arr.dtype == dtype
        assert np.isfinite(arr).all()


def test_sigmoid_values_and_bound():
    s = A.Sigmoid()
    z = np.linspace(-30, 30, 2001)
    np.testing.assert_allclose(s.fn(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    assert s.derivative(z).max() == pytest.approx(0.25)
    assert s.derivative(np.array([0.0]))[0] == 0.25
    # tiny outputs keep their relative precision: sigma(-40) is about 4.2e-18, not 0
    assert s.derivative(np.array([40.0]))[0] == pytest.approx(np.exp(-40), rel=1e-12)
    assert s.derivative(np.array([40.0]))[0] == s.derivative(np.array([-40.0]))[0]
    assert s.fn(np.array([-40.0]))[0] == pytest.approx(np.exp(-40), rel=1e-12)


def test_elu_derivative_equals_output_plus_alpha_below_zero():
    elu = A.ELU(alpha=1.5)
    z = np.linspace(-5, -0.01, 50)
    np.testing.assert_allclose(elu.derivative(z), elu.fn(z) + 1.5, rtol=1e-12)
    assert elu.fn(np.array([-1e4]))[0] == -1.5


def test_leaky_relu_derivative_is_constant_alpha_below_zero():
    leaky = A.LeakyReLU(alpha=0.01)
    z = np.array([-10.0, -1.0, -0.1])
    np.testing.assert_array_equal(leaky.derivative(z), [0.01, 0.01, 0.01])


def test_rrelu_train_draws_slopes_in_paper_range_and_eval_is_fixed():
    layer = A.RReLU(rng=np.random.default_rng(0))
    z = -np.ones((200, 50))
    out_train = layer.train().forward(z)
    slopes = -out_train
    assert slopes.min() >= 1 / 8 and slopes.max() <= 1 / 3
    assert len(np.unique(slopes)) > 1000
    out_eval = layer.eval().forward(z)
    np.testing.assert_allclose(out_eval, -1 / 5.5)


def test_prelu_shared_and_per_unit():
    shared = A.PReLU(num_units=1, alpha=0.2)
    np.testing.assert_allclose(shared.forward(np.array([[-1.0, -2.0, 3.0]])), [[-0.2, -0.4, 3.0]])
    per_unit = A.PReLU(num_units=2, alpha=0.1)
    per_unit.params["alpha"][:] = [0.1, 0.3]
    np.testing.assert_allclose(per_unit.forward(np.array([[-1.0, -1.0]])), [[-0.1, -0.3]])


def test_registry_builds_every_activation():
    for name in vn.ACTIVATIONS:
        act = vn.make_activation(name, width=3, rng=np.random.default_rng(0))
        assert isinstance(act, A.Activation)
        assert act.forward(np.zeros((2, 3))).shape == (2, 3)


def test_batchnorm_train_uses_batch_stats_and_updates_running_stats():
    rng = np.random.default_rng(0)
    bn = vn.BatchNorm(3, momentum=0.5)
    x = rng.normal(5, 2, (64, 3))
    out = bn.train().forward(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.5 * x.mean(axis=0))
    np.testing.assert_allclose(bn.buffers["running_var"], 0.5 + 0.5 * x.var(axis=0, ddof=1))
    assert set(bn.params) == {"gamma", "beta"}  # running statistics are buffers, not parameters


def test_batchnorm_eval_uses_running_stats_and_never_updates_them():
    rng = np.random.default_rng(1)
    bn = vn.BatchNorm(2)
    bn.buffers["running_mean"][:] = [1.0, -1.0]
    bn.buffers["running_var"][:] = [4.0, 9.0]
    before = {k: v.copy() for k, v in bn.buffers.items()}
    x = rng.standard_normal((10, 2))
    out = bn.eval().forward(x)
    np.testing.assert_allclose(out, (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 9.0]) + bn.eps))
    for name, value in before.items():
        assert np.array_equal(bn.buffers[name], value)


def test_sequential_params_are_the_layers_arrays():
    model = vn.mlp([2, 3, 1], "relu", rng=np.random.default_rng(0))
    assert set(model.params) == {"0.W", "0.b", "2.W", "2.b"}
    assert model.params["0.W"] is model[0].params["W"]
    assert set(model.grads) == set(model.params)


def test_forward_hook_sees_every_layer_and_can_be_removed():
    model = vn.mlp([2, 3, 1], "tanh", rng=np.random.default_rng(0))
    seen = []
    remove = model.add_forward_hook(lambda layer, x, out: seen.append((type(layer).__name__, out.shape)))
    model.forward(np.zeros((4, 2)))
    assert seen == [("Dense", (4, 3)), ("Tanh", (4, 3)), ("Dense", (4, 1))]
    remove()
    model.forward(np.zeros((4, 2)))
    assert len(seen) == 3


def test_backward_hook_sees_the_gradient_arriving_at_each_layer_output():
    rng = np.random.default_rng(3)
    model = vn.mlp([4, 6, 2], "sigmoid", rng=rng)
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    seen = {}
    remove = model.add_backward_hook(lambda layer, g: seen.setdefault(id(layer), g.copy()))
    model.forward(x)
    model.backward(dout)
    remove()
    assert np.array_equal(seen[id(model[2])], dout)  # the last Dense gets dL/d(out) itself
    sigmoid_grad = model[1].backward(model[2].backward(dout))
    assert np.allclose(seen[id(model[0])], sigmoid_grad)  # the first Dense gets dL/dz_1
    assert len(seen) == 3


def test_sequential_rejects_a_wrong_input_width_naming_the_shape():
    model = vn.mlp([4, 6, 2], "tanh", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        model.forward(np.zeros((3, 5)))


def test_dense_float32_end_to_end_keeps_dtype():
    model = vn.mlp([4, 8, 2], "sigmoid", rng=np.random.default_rng(0), dtype=np.float32)
    out = model.forward(np.ones((3, 4), np.float32))
    assert out.dtype == np.float32
    assert model.backward(np.ones_like(out)).dtype == np.float32


# --- optimizers against hand-computed steps -------------------------------------------------------

def point(w, g):
    p = Parameters(np.array(w, dtype=float))
    p.grads["w"][:] = g
    return p


def test_sgd_plain_step():
    p = point([1.0, -2.0], [0.5, 1.0])
    optim.SGD(p, lr=0.1).step()
    np.testing.assert_allclose(p.params["w"], [0.95, -2.1])


def test_sgd_momentum_keeps_moving_after_gradient_vanishes():
    p = point([0.0], [1.0])
    opt = optim.SGD(p, lr=0.1, momentum=0.9)
    opt.step()  # v = 1, w = -0.1
    p.grads["w"][:] = 0.0
    opt.step()  # v = 0.9, w = -0.19
    np.testing.assert_allclose(p.params["w"], [-0.19])
    np.testing.assert_allclose(opt.state["w"]["velocity"], [0.9])


def test_sgd_nesterov_step():
    p = point([0.0], [1.0])
    opt = optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)
    opt.step()  # v = 1; w -= 0.1 * (1 + 0.9 * 1)
    np.testing.assert_allclose(p.params["w"], [-0.19])


def test_weight_decay_l2_and_decoupled_agree_under_sgd_and_differ_under_adam():
    a, b = point([2.0], [0.0]), point([2.0], [0.0])
    optim.SGD(a, lr=0.1, weight_decay=0.5).step()
    optim.SGD(b, lr=0.1, decoupled_weight_decay=0.5).step()
    np.testing.assert_allclose(a.params["w"], [1.9])
    np.testing.assert_allclose(b.params["w"], [1.9])
    c, d = point([2.0], [0.0]), point([2.0], [0.0])
    optim.Adam(c, lr=0.1, weight_decay=0.5).step()   # L2 term normalised by Adam: a full lr-sized step
    optim.AdamW(d, lr=0.1, decoupled_weight_decay=0.5).step()  # 2 - 0.1*0.5*2 = 1.9, and no Adam step
    np.testing.assert_allclose(c.params["w"], [1.9], rtol=1e-6)
    np.testing.assert_allclose(d.params["w"], [1.9])
    c.params["w"][:] = 20.0
    d.params["w"][:] = 20.0
    c2, d2 = optim.Adam(c, lr=0.1, weight_decay=0.5), optim.AdamW(d, lr=0.1, decoupled_weight_decay=0.5)
    c2.step()
    d2.step()
    np.testing.assert_allclose(c.params["w"], [19.9], rtol=1e-6)  # Adam: step size lr whatever the weight
    np.testing.assert_allclose(d.params["w"], [19.0])  # decoupled: proportional to the weight


def test_adam_first_steps_by_hand():
    p = point([1.0], [0.2])
    opt = optim.Adam(p, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step()
    # bias-corrected m_hat = 0.2, v_hat = 0.04: step = lr * 0.2 / (0.2 + 1e-8)
    np.testing.assert_allclose(p.params["w"], [1.0 - 0.01 * 0.2 / (0.2 + 1e-8)])
    p.grads["w"][:] = -0.1
    opt.step()
    m = 0.9 * 0.02 + 0.1 * -0.1
    v = 0.999 * 0.00004 + 0.001 * 0.01
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = 1.0 - 0.01 * 0.2 / (0.2 + 1e-8) - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(p.params["w"], [expected], rtol=1e-12)
    np.testing.assert_allclose(opt.state["w"]["m"], [m])
    np.testing.assert_allclose(opt.state["w"]["v"], [v])


def test_adam_without_bias_correction_takes_a_too_large_first_step():
    p = point([1.0], [0.2])
    optim.Adam(p, lr=0.01, bias_correction=False).step()
    # m = 0.02, v = 4e-5: step = 0.01 * 0.02 / 0.006325, about 3.16 lr instead of the corrected lr
    step = 1.0 - p.params["w"][0]
    assert step == pytest.approx(0.01 * 0.02 / (np.sqrt(4e-5) + 1e-8), rel=1e-9)
    assert step == pytest.approx(0.01 * 0.1 / np.sqrt(0.001), rel=1e-5)  # eps = 1e-8 moves it by 2e-6


def test_rmsprop_step_by_hand():
    p = point([1.0], [0.5])
    optim.RMSProp(p, lr=0.01, rho=0.9, eps=1e-8).step()
    s = 0.1 * 0.25
    np.testing.assert_allclose(p.params["w"], [1.0 - 0.01 * 0.5 / (np.sqrt(s) + 1e-8)])


def test_optimizers_update_the_networks_arrays_in_place():
    model = vn.mlp([2, 4, 1], "tanh", rng=np.random.default_rng(0))
    w_before = model[0].params["W"].copy()
    arrays = {k: id(v) for k, v in model.params.items()}
    x = np.ones((3, 2))
    for name in vn.OPTIMIZERS:
        opt = vn.make_optimizer(name, model, lr=0.01)
        model.backward(np.ones_like(model.forward(x)))
        opt.step()
    assert {k: id(v) for k, v in model.params.items()} == arrays
    assert not np.array_equal(model[0].params["W"], w_before)


# --- initializers: statistics against theory -----------------------------------------------------

@pytest.mark.parametrize("name, fan_in, fan_out, expected_var", [
    ("glorot_uniform", 300, 200, 2 / 500),
    ("glorot_normal", 300, 200, 2 / 500),
    ("he_uniform", 300, 200, 2 / 300),
    ("he_normal", 300, 200, 2 / 300),
])
def test_initializer_variances(name, fan_in, fan_out, expected_var):
    w = init.initialize(name, (fan_in, fan_out), rng=np.random.default_rng(0))
    assert w.var() == pytest.approx(expected_var, rel=0.03)
    assert abs(w.mean()) < 0.01


def test_uniform_limit_and_gain():
    w = init.uniform((100, 100), rng=np.random.default_rng(0), limit=0.1)
    assert np.abs(w).max() <= 0.1 and w.var() == pytest.approx(0.01 / 3, rel=0.05)
    g = init.glorot_uniform((50, 50), rng=np.random.default_rng(0), gain=2.0)
    assert np.abs(g).max() <= init.glorot_uniform_limit(50, 50, 2.0)
    assert init.glorot_uniform_limit(50, 50, 2.0) == pytest.approx(2 * np.sqrt(6 / 100))


def test_initializers_are_reproducible_from_the_rng():
    a = init.he_normal((5, 5), rng=np.random.default_rng(42))
    b = init.he_normal((5, 5), rng=np.random.default_rng(42))
    assert np.array_equal(a, b)


# --- losses ---------------------------------------------------------------------------------------

def test_bce_logits_is_stable_for_huge_logits():
    loss = vn.make_loss("bce_logits")
    value = loss.forward(np.array([[1e4], [-1e4]]), np.array([0.0, 1.0]))
    assert value == pytest.approx(1e4)
    np.testing.assert_allclose(loss.backward(), [[0.5], [-0.5]])


def test_bce_on_probabilities_loses_the_gradient_once_the_output_saturates():
    """The reason bce_logits exists: sigma(40) rounds to 1.0 in float64, and the gradient is gone."""
    sig = A.Sigmoid()
    p = sig.forward(np.array([[40.0]]))
    assert p[0, 0] == 1.0
    loss = vn.make_loss("bce")
    loss.forward(p, np.array([0.0]))
    assert sig.backward(loss.backward())[0, 0] == 0.0
    logits = vn.make_loss("bce_logits")
    logits.forward(np.array([[40.0]]), np.array([0.0]))
    assert logits.backward()[0, 0] == pytest.approx(1.0)


def test_softmax_cross_entropy_values():
    loss = vn.make_loss("softmax_ce")
    pred = np.array([[0.0, 0.0], [1000.0, 0.0]])
    assert loss.forward(pred, np.array([0, 1])) == pytest.approx((np.log(2) + 1000) / 2)


def test_mse_value():
    assert vn.make_loss("mse").forward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])) == pytest.approx(2.5)
