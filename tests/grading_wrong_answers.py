"""One typical wrong answer for every exercise of the nbgrader release, for tests/test_nbgrader.py.

``WRONG_ANSWERS`` is keyed by the exercise's ``grade_id`` (``NN-check_<name>``, followed by the check's string
arguments: see ``vanishing/_nbgrader.py``). Each value is the code a student would submit in the answer cell
that the exercise reads; for an exercise that reads several answer cells, a dict from each answer cell's
``grade_id`` to its code. The round trip puts it into the released notebook, with every other answer cell
solved, and requires nbgrader to give that exercise 0 points and every other exercise full marks. So where
one answer cell serves two exercises (01's ``sigmoid_prime`` and ``sigmoid_prime_max``, 08's diagnosis and
fix), the entry keeps the other part right.

Each wrong answer is a slip that the check's hints, crafted inputs or named mistakes point at. When you add an
exercise or change one, add or update its entry here: the round trip names every exercise without one.
"""

from __future__ import annotations

WRONG_ANSWERS: dict[str, str | dict[str, str]] = {
    # --- 00 start here --------------------------------------------------------------------------------------------
    # the notebook's own suggestion: np.sum instead of np.prod
    "00-check_chain_product": '''
def chain_product(z):
    """Product of sigmoid'(z_i) over a 1-D array z."""
    return np.sum(vn.activations.Sigmoid().derivative(z))
''',
    # --- 01 products of derivatives -------------------------------------------------------------------------------
    # the textbook formula e^-z / (1 + e^-z)^2: exp(750) overflows, and inf / inf is nan at z = -750
    "01-check_sigmoid_prime": '''
def sigmoid_prime(z):
    e = np.exp(-z)
    return e / (1.0 + e) ** 2


sigmoid_prime_max = 0.25
''',
    # sigma(0) itself, not the derivative's maximum
    "01-check_sigmoid_prime_max": '''
def sigmoid_prime(z):
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


sigmoid_prime_max = 0.5
''',
    # Python floats: the product runs in float64 and reaches 0 only at 538
    "01-check_underflow_depth": '''
product, depth = 1.0, 0
while product != 0:
    product = product * 0.25
    depth += 1
depth_float32 = depth
''',
    # the ratio upside down: last layer over first
    "01-check_gradient_ratio": '''
predicted_log10_ratio = -6


def first_last_ratio(model, loss, X, y):
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    dense = vn.models.dense_layers(model)
    first, last = dense[0][1], dense[-1][1]
    return np.linalg.norm(last.grads["W"]) / np.linalg.norm(first.grads["W"])
''',
    # --- 02 saturation --------------------------------------------------------------------------------------------
    # only the fan-in: right for square layers, caught on the first unequal pair
    "02-check_glorot_limit": '''
def glorot_limit(fan_in, fan_out):
    return np.sqrt(6.0 / (2 * fan_in))
''',
    # the saturated start the notebook opens with
    "02-check_tanh_init": '''
choice = {"init": "uniform", "limit": 1.0}
''',
    # >= instead of >: outputs exactly on 0.99 are not saturated
    "02-check_saturated_fraction": '''
def fraction_saturated(activation, a):
    if activation == "tanh":
        return np.mean(np.abs(a) >= 0.99)
    return np.mean((a <= 0.01) | (a >= 0.99))
''',
    # --- 03 dying ReLU --------------------------------------------------------------------------------------------
    # "weight decay only shrinks": nothing revives
    "03-check_revival_predictions": '''
predictions = {
    "RMSProp + L2 decay 0.01": False,
    "SGD + momentum 0.9 + L2 decay 0.01": False,
    "SGD + momentum 0.9 + L2 decay 0.001": False,
    "AdamW (decoupled decay 0.1)": False,
}
''',
    # along the wrong axis: rows are examples, the units are the columns
    "03-check_dead_fraction": '''
def dead_fraction(out):
    return float(np.all(out == 0, axis=1).mean())
''',
    # far past the threshold: more than half die already at lr / 1.25
    "03-check_dying_lr": '''
lr_half_dead = 10.0
''',
    # --- 04 leaky variants ----------------------------------------------------------------------------------------
    # z instead of min(0, z): alpha multiplies the negative entries only
    "04-check_prelu_dalpha": '''
def prelu_dalpha(z, dout):
    return np.sum(dout * z, axis=0)
''',
    # the usual default 0.01: as stuck as ReLU from this start
    "04-check_slope_choice": '''
alpha = 0.01
''',
    # --- 05 ELU ---------------------------------------------------------------------------------------------------
    # + 1 instead of + alpha: right for alpha = 1 only
    "05-check_elu_grad_from_output": '''
def elu_grad_from_output(out, z, alpha):
    return np.where(z > 0, 1.0, out + 1.0)
''',
    # every layer's mean, the Dense layers' too
    "05-check_hidden_means": '''
def hidden_means(model, X):
    means, a = [], X
    for layer in model:
        a = layer.forward(a)
        means.append(a.mean())
    return np.array(means)
''',
    # --- 06 batch normalization -----------------------------------------------------------------------------------
    # divided by the variance 4 instead of the standard deviation 2
    "06-check_batchnorm_eval_prediction": '''
predicted_output = 2 * (3 - 1) / 4 + 0.5
''',
    # the batch's own statistics, as in training mode
    "06-check_batchnorm_eval": '''
def batchnorm_eval(x, running_mean, running_var, gamma, beta, eps):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
''',
    # the batch mean and variance treated as constants: dx misses both correction terms
    "06-check_batchnorm_backward": '''
def batchnorm_backward(dout, x_hat, inv_std, gamma):
    dx = dout * gamma * inv_std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''',
    # --- 07 optimizers --------------------------------------------------------------------------------------------
    # plain SGD: small enough for the walls, it crawls along the valley floor
    "07-check_rosenbrock_settings": '''
rosenbrock_settings = {"method": "sgd", "lr": 0.001}
''',
    # Adam without bias correction
    "07-check_adam_step": '''
def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * m / (np.sqrt(v) + eps), m, v
''',
    # --- 08 capstone: a wrong diagnosis with the right fix, then the right diagnosis with a wrong fix ---------------
    "08-check_diagnosis-A": '''
diagnosis_a = "dead ReLU"
fix_a = {"lr": 0.05}
''',
    # 10 times smaller: with momentum 0.9 the steps still kill the ReLU units
    "08-check_fix-A": '''
diagnosis_a = "learning rate too high"
fix_a = {"lr": 0.2}
''',
    "08-check_diagnosis-B": '''
diagnosis_b = "learning rate too low"
fix_b = {"bias": 0.0}
''',
    # larger steps: a dead unit's gradient is exactly 0 whatever the step
    "08-check_fix-B": '''
diagnosis_b = "dead ReLU"
fix_b = {"lr": 0.5}
''',
    "08-check_diagnosis-C": '''
diagnosis_c = "missing normalization"
fix_c = {"init": "glorot_uniform", "scale": 1.0}
''',
    # He init, made for ReLU: a forward gain of 2 keeps tanh too close to its flat ends
    "08-check_fix-C": '''
diagnosis_c = "saturation"
fix_c = {"init": "he_normal"}
''',
    "08-check_diagnosis-D": '''
diagnosis_d = "learning rate too low"
fix_d = {"init": "glorot_uniform", "scale": 1.0}
''',
    # a 10 times larger step: the signal still fades layer by layer
    "08-check_fix-D": '''
diagnosis_d = "weights too small"
fix_d = {"lr": 1.0}
''',
    "08-check_diagnosis-E": '''
diagnosis_e = "saturation"
fix_e = {"batchnorm": "before"}
''',
    # He init without the ReLU it is made for: the sigmoids still pass little gradient
    "08-check_fix-E": '''
diagnosis_e = "missing normalization"
fix_e = {"init": "he_uniform"}
''',
    # --- 09 what practitioners do ---------------------------------------------------------------------------------
    # the branch alone: the identity path of x + F(x) is missing from dx
    "09-check_residual_backward": '''
def residual_backward(x, W, b, dout):
    h = np.tanh(x)
    return (dout @ W.T) * (1 - h**2), h.T @ dout, dout.sum(axis=0)
''',
    # the notebook's own fix 1/sqrt(50): the stream still grows 2.7-fold
    "09-check_branch_scale": '''
branch_scale = 1 / np.sqrt(50)
''',
    # both steps rescaled to length lr: value clipping taken for norm clipping
    "09-check_clipped_steps": '''
g = np.array([6.0, -0.5, 0.2])
step_norm = -0.1 * g / np.linalg.norm(g)
step_value = -0.1 * g / np.linalg.norm(g)
''',
}
