"""Bad input gets a clear error: the exception type, and a message naming the argument, the value and what is allowed.

Each row: (description, a function that makes the bad call, the exception type, words the message must contain).
"""

import numpy as np
import pytest

import vanishing as vn
from vanishing import activations, init, losses, optim
from vanishing.layers import BatchNorm, Dense, LayerNorm, Parameters, Residual, Sequential


def rng():
    return np.random.default_rng(0)


def dense():
    return Dense(3, 2, rng=rng())


def net():
    return vn.mlp([3, 4, 2], "relu", rng=rng())


def point():
    return Parameters(np.zeros(2))


def fit(X, y, **kwargs):
    model = vn.mlp([2, 3, 2], "tanh", rng=rng())
    options = {"epochs": 1, "batch_size": 2, "rng": rng(), **kwargs}
    return vn.fit(model, "softmax_ce", vn.optim.SGD(model), X, y, **options)


ROWS = [
    # names
    ("unknown activation", lambda: vn.make_activation("swish"), ValueError, ["activation", "'swish'", "'relu'"]),
    ("gelu with an option it does not take", lambda: vn.make_activation("gelu", approximate="tanh"), TypeError,
     ["approximate", "'tanh'", "GELU", "allowed: none"]),
    ("silu with an option it does not take", lambda: vn.make_activation("silu", beta=2.0), TypeError,
     ["beta", "2.0", "SiLU", "allowed: none"]),
    ("option of another activation", lambda: vn.make_activation("elu", slope=0.1), TypeError,
     ["slope", "0.1", "ELU", "allowed: alpha"]),
    ("unknown initializer", lambda: Dense(2, 2, rng=rng(), init="xavier"), ValueError,
     ["init", "'xavier'", "'glorot_uniform'"]),
    ("unknown optimizer", lambda: vn.make_optimizer("adagrad", point()), ValueError,
     ["optimizer", "'adagrad'", "'adam'"]),
    ("unknown loss", lambda: vn.make_loss("hinge"), ValueError, ["loss", "'hinge'", "'mse'"]),
    ("unknown batchnorm position", lambda: vn.mlp([2, 2], rng=rng(), batchnorm="middle"), ValueError,
     ["batchnorm", "'middle'", "'before'"]),
    ("initializer option of another scheme", lambda: init.initialize("glorot_uniform", (2, 2), rng=rng(), std=1),
     TypeError, ["glorot_uniform", "std", "gain"]),
    ("unknown dataset", lambda: vn.data.load("mnist", n=10, rng=rng()), ValueError,
     ["name", "'mnist'", "'two_moons'"]),
    # shapes
    ("dense input width mismatch", lambda: dense().forward(np.zeros((4, 5))), ValueError, ["(4, 5)", "(N, 3)"]),
    ("dense input not 2-D", lambda: dense().forward(np.zeros(3)), ValueError, ["x", "(3,)", "2 dimensions"]),
    ("batchnorm width mismatch", lambda: BatchNorm(3).forward(np.zeros((4, 2))), ValueError, ["(4, 2)", "(N, 3)"]),
    ("batchnorm train mode with one example", lambda: BatchNorm(2).forward(np.zeros((1, 2))), ValueError,
     ["(1, 2)", "at least 2"]),
    ("prelu slopes vs width", lambda: activations.PReLU(3).forward(np.zeros((2, 4))), ValueError,
     ["(2, 4)", "3 slopes"]),
    ("mse target shape", lambda: losses.MSE().forward(np.zeros((4, 2)), np.zeros((4, 3))), ValueError,
     ["(4, 3)", "(4, 2)"]),
    ("softmax target shape", lambda: losses.SoftmaxCrossEntropy().forward(np.zeros((4, 3)), np.zeros(5, int)),
     ValueError, ["(5,)", "(4, 3)", "(4,)"]),
    ("fewer targets than examples", lambda: fit(np.zeros((4, 2)), np.zeros(3, int)), ValueError,
     ["X", "(4, 2)", "y", "(3,)", "same number of rows"]),
    ("rel_error shapes", lambda: vn.gradcheck.rel_error(np.zeros(2), np.zeros(3)), ValueError, ["(2,)", "(3,)"]),
    ("init shape not a pair", lambda: init.he_normal((3,), rng=rng()), ValueError, ["shape", "(3,)", "fan_in"]),
    # dtypes
    ("integer input to dense", lambda: dense().forward(np.zeros((2, 3), dtype=int)), TypeError,
     ["dtype", "int64", "float64"]),
    ("float32 input to a float64 layer", lambda: dense().forward(np.zeros((2, 3), np.float32)), TypeError,
     ["float32", "float64"]),
    ("dtype that is not a float", lambda: Dense(2, 2, rng=rng(), dtype=np.int32), TypeError,
     ["dtype", "int32", "float16, float32, float64"]),
    ("a list instead of an array", lambda: dense().forward([[1.0, 2.0, 3.0]]), TypeError, ["x", "numpy array", "list"]),
    ("softmax labels that are floats", lambda: losses.SoftmaxCrossEntropy().forward(np.zeros((2, 3)),
                                                                                     np.array([0.0, 1.0])),
     TypeError, ["target", "float64", "integer class indices"]),
    ("rng that is not a Generator", lambda: Dense(2, 2, rng=42), TypeError, ["rng", "42", "numpy.random.Generator"]),
    ("legacy RandomState as rng", lambda: init.normal((2, 2), rng=np.random.RandomState(0)), TypeError,
     ["rng", "numpy.random.Generator"]),
    # sizes and ranges
    ("zero width", lambda: Dense(0, 2, rng=rng()), ValueError, ["in_features", "0", "(0, inf)"]),
    ("negative width in mlp", lambda: vn.mlp([2, -4, 1], rng=rng()), ValueError, ["sizes[1]", "-4", "(0, inf)"]),
    ("non-integer width", lambda: Dense(2.5, 2, rng=rng()), TypeError, ["in_features", "2.5", "integer"]),
    ("zero learning rate", lambda: optim.SGD(point(), lr=0.0), ValueError, ["lr", "0.0", "(0, inf)"]),
    ("negative learning rate", lambda: optim.Adam(point(), lr=-0.1), ValueError, ["lr", "-0.1", "(0, inf)"]),
    ("nan learning rate", lambda: optim.SGD(point(), lr=float("nan")), ValueError, ["lr", "nan", "finite"]),
    ("string learning rate", lambda: optim.SGD(point(), lr="0.1"), TypeError, ["lr", "'0.1'", "a number"]),
    ("dataset of zero examples", lambda: vn.data.two_moons(0, rng=rng()), ValueError, ["n", "0", "(0, inf)"]),
    ("negative dataset noise", lambda: vn.data.two_moons(10, noise=-1, rng=rng()), ValueError,
     ["noise", "-1", "[0, inf)"]),
    ("zero batch size", lambda: fit(np.zeros((4, 2)), np.zeros(4, int), batch_size=0), ValueError,
     ["batch_size", "0", "(0, inf)"]),
    ("zero epochs", lambda: fit(np.zeros((4, 2)), np.zeros(4, int), epochs=0), ValueError,
     ["epochs", "0", "(0, inf)"]),
    ("momentum of 1", lambda: optim.SGD(point(), lr=0.1, momentum=1.0), ValueError, ["momentum", "1.0", "[0, 1)"]),
    ("beta2 above 1", lambda: optim.Adam(point(), beta2=1.5), ValueError, ["beta2", "1.5", "[0, 1)"]),
    ("negative weight decay", lambda: optim.SGD(point(), weight_decay=-1e-4), ValueError,
     ["weight_decay", "-0.0001", "[0, inf)"]),
    ("nesterov without momentum", lambda: optim.SGD(point(), nesterov=True), ValueError, ["nesterov", "momentum"]),
    ("rrelu bounds reversed", lambda: activations.RReLU(8, 3, rng=rng()), ValueError, ["upper", "3", "[8, inf)"]),
    ("batchnorm momentum above 1", lambda: BatchNorm(2, momentum=2.0), ValueError, ["momentum", "2.0", "[0, 1]"]),
    ("negative uniform limit", lambda: init.uniform((2, 2), rng=rng(), limit=-1), ValueError,
     ["limit", "-1", "[0, inf)"]),
    # data content
    ("empty batch", lambda: losses.MSE().forward(np.zeros((0, 2)), np.zeros((0, 2))), ValueError,
     ["pred", "empty", "(0, 2)"]),
    ("NaN in the training data", lambda: fit(np.array([[np.nan, 0.0], [1.0, 1.0]]), np.array([0, 1])), ValueError,
     ["X", "NaN", "finite"]),
    ("empty training data", lambda: fit(np.zeros((0, 2)), np.zeros(0, int)), ValueError, ["X", "empty", "(0, 2)"]),
    ("empty Sequential", lambda: Sequential([]), ValueError, ["layers", "empty"]),
    ("widths that do not chain in Sequential", lambda: Sequential([Dense(3, 4, rng=rng()), vn.make_activation("tanh"),
                                                                  Dense(5, 2, rng=rng())]),
     ValueError, ["layers[2]", "width 5", "layers[0]", "width 4"]),
    ("dtypes that differ in Sequential", lambda: Sequential([Dense(3, 4, rng=rng()),
                                                             Dense(4, 2, rng=rng(), dtype=np.float32)]),
     TypeError, ["layers[1]", "float32", "float64"]),
    ("not a layer in Sequential", lambda: Sequential([dense(), "relu"]), TypeError, ["layers[1]", "'relu'", "Layer"]),
    ("NaN in a start point", lambda: Parameters(np.array([0.0, np.nan])), ValueError, ["w", "NaN", "finite"]),
    # labels of the wrong kind
    ("bce with class indices", lambda: losses.BCEWithLogits().forward(np.zeros((3, 1)), np.array([0, 1, 2])),
     ValueError, ["target", "[0, 2]", "[0, 1]", "softmax_ce"]),
    ("bce with logits instead of probabilities", lambda: losses.BCE().forward(np.array([[3.0]]), np.array([1.0])),
     ValueError, ["pred", "[3, 3]", "probabilities in [0, 1]", "bce_logits"]),
    ("softmax class index out of range", lambda: losses.SoftmaxCrossEntropy().forward(np.zeros((2, 3)),
                                                                                       np.array([0, 3])),
     ValueError, ["target", "[0, 3]", "0..2"]),
    ("optimizer on something with no parameters", lambda: optim.SGD(object()), TypeError, ["model", "params"]),
    # residual blocks, LayerNorm, clipping, deep networks
    ("residual block that changes the width", lambda: Residual([Dense(4, 3, rng=rng())]), ValueError,
     ["block", "width 4", "width 3", "same shape"]),
    ("residual block of things that are not layers", lambda: Residual(["relu"]), TypeError,
     ["layers[0]", "'relu'", "Layer"]),
    ("residual branch scale that is not a number", lambda: Residual([Dense(3, 3, rng=rng())], scale="half"),
     TypeError, ["scale", "'half'", "a number"]),
    ("residual input of the wrong width", lambda: Residual([Dense(3, 3, rng=rng())]).forward(np.zeros((2, 4))),
     ValueError, ["(2, 4)", "(N, 3)"]),
    ("layernorm width mismatch", lambda: LayerNorm(3).forward(np.zeros((4, 2))), ValueError, ["(4, 2)", "(N, 3)"]),
    ("layernorm of zero features", lambda: LayerNorm(0), ValueError, ["num_features", "0", "(0, inf)"]),
    ("layernorm negative eps", lambda: LayerNorm(3, eps=-1e-5), ValueError, ["eps", "-1e-05", "(0, inf)"]),
    ("layernorm float32 input to float64 parameters", lambda: LayerNorm(3).forward(np.zeros((2, 3), np.float32)),
     TypeError, ["float32", "float64"]),
    ("clipping with both thresholds", lambda: vn.train.GradientClipping(max_norm=1.0, max_value=1.0), ValueError,
     ["max_norm=1.0", "max_value=1.0", "exactly one"]),
    ("clipping with no threshold", lambda: vn.train.GradientClipping(), ValueError, ["max_norm=None", "exactly one"]),
    ("clipping at a negative norm", lambda: vn.train.GradientClipping(max_norm=-1.0), ValueError,
     ["max_norm", "-1.0", "(0, inf)"]),
    ("clip_grad_value at zero", lambda: optim.clip_grad_value({"w": np.ones(2)}, 0.0), ValueError,
     ["max_value", "0.0", "(0, inf)"]),
    ("clip_grad_norm with a nan threshold", lambda: optim.clip_grad_norm({"w": np.ones(2)}, float("nan")),
     ValueError, ["max_norm", "nan", "finite"]),
    ("unknown normalization in deep_mlp", lambda: vn.models.deep_mlp(2, 3, 2, 1, rng=rng(), norm="groupnorm"),
     ValueError, ["norm", "'groupnorm'", "'layernorm'"]),
    ("deep_mlp of zero blocks", lambda: vn.models.deep_mlp(2, 3, 0, 1, rng=rng()), ValueError,
     ["depth", "0", "(0, inf)"]),
    ("branch scale on a plain deep_mlp", lambda: vn.models.deep_mlp(2, 3, 2, 1, rng=rng(), residual=False,
                                                                    scale=0.5),
     ValueError, ["scale=0.5", "residual=False", "allowed"]),
]


@pytest.mark.parametrize("description, call, error, words", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_raises_a_clear_error(description, call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{description}: {word!r} missing from {message!r}"


def test_the_table_is_large_enough():
    assert len(ROWS) >= 25
