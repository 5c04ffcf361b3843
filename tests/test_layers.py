"""Residual blocks, LayerNorm and nested hooks: forward values, shapes, modes and the identity path."""

import numpy as np
import pytest

import vanishing as vn
from vanishing.diagnostics import collect_activations, layer_names
from vanishing.gradcheck import check_layer, check_model
from vanishing.layers import Dense, LayerNorm, Residual, Sequential

TOL = 1e-7


def residual_net(depth=3, width=5, *, scale=1.0, rng):
    blocks = [Residual([Dense(width, width, rng=rng), vn.activations.Tanh()], scale=scale) for _ in range(depth)]
    return Sequential([Dense(3, width, rng=rng), *blocks, Dense(width, 2, rng=rng)])


def test_residual_adds_the_block_output_to_its_input():
    rng = np.random.default_rng(0)
    block = Sequential([Dense(4, 4, rng=rng), vn.activations.Tanh()])
    x = rng.standard_normal((6, 4))
    expected = x + 0.5 * block.forward(x)
    assert np.allclose(Residual(block, scale=0.5).forward(x), expected)


def test_residual_with_a_zero_branch_is_the_identity_forward_and_backward():
    rng = np.random.default_rng(1)
    dense = Dense(4, 4, rng=rng)
    dense.params["W"][:] = 0.0
    layer = Residual([dense])
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(dout), dout)  # the identity path carries the gradient unchanged


def test_residual_refuses_a_block_that_changes_the_width():
    with pytest.raises(ValueError, match="block maps width 4 to width 3"):
        Residual([Dense(4, 3, rng=np.random.default_rng(0))])


def test_residual_params_are_the_blocks_arrays_and_reach_the_optimizer():
    rng = np.random.default_rng(2)
    model = residual_net(2, rng=rng)
    assert "1.0.W" in model.params and model.params["1.0.W"] is model[1].block[0].params["W"]
    assert set(model.grads) == set(model.params)
    before = model.params["1.0.W"].copy()
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    vn.fit(model, "softmax_ce", vn.optim.SGD(model, lr=0.1), x, y, steps=1, batch_size=8, rng=rng)
    assert not np.array_equal(model.params["1.0.W"], before)


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_residual_network_gradients_match_finite_differences(scale):
    rng = np.random.default_rng(3)
    model = residual_net(3, scale=scale, rng=rng)
    errors = check_model(model, vn.make_loss("softmax_ce"), rng.standard_normal((6, 3)), rng.integers(0, 2, 6))
    assert max(errors.values()) < TOL, errors


def test_residual_block_with_batchnorm_switches_modes_with_the_network():
    rng = np.random.default_rng(4)
    model = Sequential([Dense(3, 4, rng=rng), Residual([Dense(4, 4, rng=rng), vn.BatchNorm(4)])])
    model.eval()
    assert not model[1].block[1].training
    model.train()
    assert model[1].block[1].training
    assert set(model.buffers) == {"1.1.running_mean", "1.1.running_var"}


def test_hooks_and_diagnostics_see_the_layers_inside_residual_blocks():
    rng = np.random.default_rng(5)
    model = residual_net(2, rng=rng)
    assert layer_names(model) == ["Dense 1", "Dense 2", "Tanh 1", "Dense 3", "Tanh 2", "Dense 4"]
    acts = collect_activations(model, rng.standard_normal((7, 3)))
    assert [a.name for a in acts] == layer_names(model)
    model.forward(rng.standard_normal((7, 3)))
    model.backward(np.ones((7, 2)))
    assert len(vn.diagnostics.gradient_norms(model)) == 4


def test_layernorm_normalises_each_example_over_its_units():
    rng = np.random.default_rng(6)
    x = 3.0 * rng.standard_normal((5, 8)) + rng.standard_normal((5, 1)) * 10
    out = LayerNorm(8).forward(x)
    assert np.allclose(out.mean(axis=1), 0.0, atol=1e-12)
    assert np.allclose(out.var(axis=1), 1.0, atol=1e-4)


def test_layernorm_is_the_same_in_training_and_evaluation_and_works_on_one_example():
    rng = np.random.default_rng(7)
    layer = LayerNorm(6)
    layer.params["gamma"][:] = rng.uniform(0.5, 2, 6)
    x = rng.standard_normal((4, 6))
    train_out = layer.train().forward(x)
    eval_out = layer.eval().forward(x)
    assert np.array_equal(train_out, eval_out)
    assert np.allclose(layer.forward(x[:1]), train_out[:1])  # each example on its own gives the same
    assert layer.buffers == {}


def test_layernorm_gradients_match_finite_differences():
    rng = np.random.default_rng(8)
    layer = LayerNorm(5)
    layer.params["gamma"][:] = rng.uniform(0.5, 2, 5)
    layer.params["beta"][:] = rng.standard_normal(5)
    errors = check_layer(layer, 3 * rng.standard_normal((4, 5)) + 1, rng=rng)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < TOL, errors


def test_layernorm_rejects_a_wrong_width_and_dtype():
    with pytest.raises(ValueError, match=r"\(2, 3\).*expects \(N, 4\)"):
        LayerNorm(4).forward(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="dtype float32"):
        LayerNorm(4).forward(np.zeros((2, 4), dtype=np.float32))


# --- vanishing.models.deep_mlp: deep networks of residual (or plain) blocks ----------------------------------------

def test_deep_mlp_plain_and_residual_draw_the_same_weights_and_differ_in_the_skips_only():
    plain = vn.models.deep_mlp(4, 6, 3, 2, "tanh", rng=np.random.default_rng(0), residual=False)
    residual = vn.models.deep_mlp(4, 6, 3, 2, "tanh", rng=np.random.default_rng(0))
    assert len(plain) == 1 + 3 * 2 + 2 and len(residual) == 1 + 3 + 2
    assert all(isinstance(layer, Residual) for layer in residual.layers[1:4])
    assert [layer.params["W"].tolist() for layer in plain.leaves() if isinstance(layer, Dense)] == \
        [layer.params["W"].tolist() for layer in residual.leaves() if isinstance(layer, Dense)]
    x = np.random.default_rng(1).standard_normal((5, 4))
    stream = plain[0].forward(x)
    for block in residual.layers[1:4]:
        stream = stream + block.block.forward(stream)  # x + F(x) with F = tanh -> Dense
    expected = residual[-1].forward(residual[-2].forward(stream))
    assert np.allclose(residual.forward(x), expected)


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_deep_mlp_puts_the_normalization_first_in_every_block(norm):
    model = vn.models.deep_mlp(3, 4, 2, 2, "relu", rng=np.random.default_rng(0), norm=norm)
    kind = vn.models.NORMALIZATIONS[norm]
    for block in model.layers[1:3]:
        assert [type(layer) for layer in block.block] == [kind, vn.activations.ReLU, Dense]


def test_deep_mlp_zero_init_starts_every_block_as_the_identity_and_scale_shrinks_the_branch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3))
    model = vn.models.deep_mlp(3, 5, 4, 2, "relu", rng=np.random.default_rng(0), zero_init=True)
    first = model[0].forward(x)
    for block in model.layers[1:5]:
        assert np.array_equal(block.forward(first), first)
    scaled = vn.models.deep_mlp(3, 5, 4, 2, "relu", rng=np.random.default_rng(0), scale=0.25)
    assert all(block.scale == 0.25 for block in scaled.layers[1:5])


def test_deep_mlp_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    model = vn.models.deep_mlp(3, 4, 3, 2, "tanh", rng=rng, norm="layernorm", scale=0.5)
    for layer in model.leaves():
        if isinstance(layer, LayerNorm):
            layer.params["gamma"][:] = rng.uniform(0.5, 2.0, 4)
            layer.params["beta"][:] = rng.standard_normal(4)
    errors = check_model(model, vn.make_loss("softmax_ce"), rng.standard_normal((5, 3)), rng.integers(0, 2, 5))
    assert max(errors.values()) < TOL, errors


def test_deep_mlp_refuses_a_branch_scale_or_zero_init_without_residual_blocks():
    with pytest.raises(ValueError, match="scale=0.5.*residual=False"):
        vn.models.deep_mlp(3, 4, 2, 2, rng=np.random.default_rng(0), residual=False, scale=0.5)
    with pytest.raises(ValueError, match="zero_init=True"):
        vn.models.deep_mlp(3, 4, 2, 2, rng=np.random.default_rng(0), residual=False, zero_init=True)
