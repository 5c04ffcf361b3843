"""One typical wrong answer for every exercise of the nbgrader release, for tests/test_nbgrader.py.

``WRONG_ANSWERS`` is keyed by the exercise's ``grade_id`` (``NN-check_<name>``, followed by the check's string
arguments: see ``vanishing/_nbgrader.py``). Each value is the code a student would submit in the answer cell
that the exercise reads; for an exercise that reads several answer cells, a dict from each answer cell's
``grade_id`` to its code. The round trip puts it into the released notebook, with every other answer cell
solved, and requires nbgrader to give that exercise 0 points and every other exercise full marks. So an entry
replaces the whole answer cell: what else the cell defines stays right (01's gradient-ratio cell also builds the
``model`` and ``loss`` that the next cells measure), and where one answer cell serves two exercises, the entry
keeps the other exercise's part right.

Each wrong answer is a slip that the check's hints, crafted inputs or named mistakes point at (the comment above
it says which), and the check must return a verdict that did not pass (not raise). When you add an exercise or
change one, add or update its entry here: the round trip names every exercise without one.
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
    # the textbook formula e^-z / (1 + e^-z)^2, the check's crafted input z = -750: exp(750) overflows to inf,
    # and inf / inf is nan
    "01-check_sigmoid_prime": '''
def sigmoid_prime(z):
    """Derivative of the logistic sigmoid, elementwise."""
    e = np.exp(-z)
    return e / (1.0 + e) ** 2
''',
    # round(c * k) computed in float64, the double rounding that the notebook and the check's hint name: for 0.9
    # stored in float64, c * 5 rounds to exactly 4.5 before round() sees it, which goes to 4, so the answer is 4
    # where the product stops at 5
    "01-check_stall_multiple": '''
def stall_multiple(c):
    """The k at which c**L, multiplied out in a float type, stops at k times the smallest subnormal (0: at 0)."""
    if round(c) != 1:  # c * s rounds to 0 (round() sends the tie 0.5 to the even 0)
        return 0
    k = 1
    while round(c * (k + 1)) == k + 1:
        k += 1
    return k
''',
    # the ratio upside down, last layer over first: the check's hint says to divide first by last
    "01-check_gradient_ratio": '''
model = vn.mlp([2] + [32] * 10 + [1], "sigmoid", rng=np.random.default_rng(1))
loss = vn.make_loss("bce_logits")

predicted_log10_ratio = -6


def first_last_ratio(model, loss, X, y):
    """||dW|| of the first Dense layer divided by ||dW|| of the last, after one backward pass."""
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    dense = vn.models.dense_layers(model)
    first, last = dense[0][1], dense[-1][1]
    return np.linalg.norm(last.grads["W"]) / np.linalg.norm(first.grads["W"])
''',
    # --- 02 saturation --------------------------------------------------------------------------------------------
    # Glorot, the textbook initialisation for tanh, which the exercise says does not manage it: a forward gain of 1
    # lets the activations fade below the band by layer 10 (the check's hint: "too small ... fade layer by layer")
    "02-check_tanh_init": '''
choice = {"init": "glorot_uniform"}
''',
    # only the weights' step: the check's first named slip, the bias takes a step too (the + 1)
    "02-check_z_change": '''
def z_change(x, delta, lr):
    """The change of z = x . w + b on the example x after one SGD step with dL/dz = delta."""
    return -lr * delta * np.dot(x, x)
''',
    # --- 03 dying ReLU --------------------------------------------------------------------------------------------
    # "weight decay only shrinks": nothing revives (the check's hint asks what multiplies p, and whether W and b
    # are treated alike)
    "03-check_revival_predictions": '''
predictions = {
    "RMSProp + L2 decay 0.01": False,
    "SGD + momentum 0.9 + L2 decay 0.01": False,
    "SGD + momentum 0.9 + L2 decay 0.001": False,
    "AdamW (decoupled decay 0.1)": False,
}
''',
    # the right direction w_0, but one step along it: x · w_0 + b_0 = |w_0|^2 + b_0 is still negative (the check's
    # hint: "how far along w_0 must you go?")
    "03-check_alive_input": '''
x_alive = setup.hidden.params["W"][:, 0].copy()
''',
    # the learning rate the notebook's table shows killing many units, not searched for a crossing: more than
    # half die already at 3 / 1.25 = 2.4 (the check's "already at the smaller learning rate")
    "03-check_dying_lr": '''
lr_half_dead = 3.0
''',
    # --- 04 leaky variants ----------------------------------------------------------------------------------------
    # z instead of min(0, z): alpha multiplies the negative entries only (the check's hint); its first input, one
    # row with a positive entry, shows it
    "04-check_prelu_dalpha": '''
def prelu_dalpha(z, dout):
    """dL/dalpha of a PReLU layer with one slope per unit; z and dout have shape (N, D), the result (D,)."""
    return np.sum(dout * z, axis=0)
''',
    # the usual default 0.01: as stuck as ReLU from this start (the check's "too small" hint)
    "04-check_slope_choice": '''
alpha_choice = 0.01
''',
    # 1 + alpha where the negative half contributes alpha^2: one of the check's named slips
    "04-check_leaky_he_std": '''
def leaky_he_std(alpha, fan_in):
    """Standard deviation of a Leaky ReLU layer's weights that keeps the second moment steady across layers."""
    return np.sqrt(2.0 / ((1.0 + alpha) * fan_in))
''',
    # --- 05 ELU ---------------------------------------------------------------------------------------------------
    # the negative part taken as E[e^z - 1; z < 0], ELU's own negative branch, which is negative, with the formula
    # for E[1 - e^z; z < 0]: alpha comes out negative (the check's "ELU's alpha is positive")
    "05-check_zero_mean_alpha": '''
positive_part = np.sum(weights * np.maximum(u, 0.0))
negative_part = np.sum(weights * np.where(u < 0, np.expm1(np.minimum(u, 0.0)), 0.0))
zero_mean_alpha = positive_part / negative_part
''',
    # every layer's mean, the Dense layers' too: the check's "one per layer of the model"
    "05-check_hidden_means": '''
def hidden_means(model, X):
    """Mean output of each activation layer of model on the inputs X, as an array (one entry per hidden layer)."""
    means, a = [], X
    for layer in model:
        a = layer.forward(a)
        means.append(a.mean())
    return np.array(means)
''',
    # --- 06 batch normalization -----------------------------------------------------------------------------------
    # 1/m, the time scale of the average, taken for the time to come within 1 %: the check's first named slip
    "06-check_running_mean_steps": '''
steps_to_one_percent = round(1 / 0.1)
''',
    # the batch's own statistics, as in training mode: the check's single-example input shows it
    "06-check_batchnorm_eval": '''
def batchnorm_eval(x, running_mean, running_var, gamma, beta, eps):
    """BatchNorm in evaluation mode: x (N, D); the other arrays (D,)."""
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
''',
    # the batch mean and variance treated as constants: dx misses both correction terms of the check's hint, off
    # by a relative 0.57 against finite differences on its first batch
    "06-check_batchnorm_backward": '''
def batchnorm_backward(dout, x_hat, inv_std, gamma):
    """Training-mode BatchNorm backward: returns dx (N, D), dgamma (D,), dbeta (D,)."""
    dx = dout * gamma * inv_std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''',
    # --- 07 optimizers --------------------------------------------------------------------------------------------
    # SGD's limit carried over at the same effective step lr / (1 - mu): the check's first named slip (0.004 for
    # momentum)
    "07-check_stability_limits": '''
stable_limits = {"sgd": 2 / 50, "momentum": (1 - 0.9) * 2 / 50, "nesterov": (1 - 0.9) * 2 / 50}
''',
    # Adam without bias correction: one of the check's named slips
    "07-check_adam_step": '''
def adam_step(w, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step; returns the new (w, m, v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * m / (np.sqrt(v) + eps), m, v
''',
    # --- 08 capstone ----------------------------------------------------------------------------------------------
    # the norms in the order the backward pass meets the layers, output side first: the check's "right but in
    # reverse order"
    "08-check_signal_norms": '''
def signal_norms(model, X, y):
    "‖∂L/∂z_l‖ of every Dense layer of model, input side first, from one forward and backward on (X, y)."
    norms = []

    def keep(layer, dout):
        if isinstance(layer, vn.layers.Dense):
            norms.append(np.linalg.norm(dout))

    remove = model.add_backward_hook(keep)
    loss = vn.make_loss("bce_logits")
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    remove()
    return np.array(norms)
''',
    # Each wrong diagnosis is one the check answers with its own hint; each wrong fix keeps the cause in place.
    # the dead units the run ends with, which die only after the loss has started to explode
    "08-check_diagnosis-A": '''
diagnosis_a = "dead ReLUs"
''',
    # 10 times smaller, the notebook's warning: with momentum 0.9 the steps still kill the ReLU units
    "08-check_fix-A": '''
fix_a = {"lr": 0.2}
''',
    # small steps: but a small step times a gradient of exactly 0 is still 0
    "08-check_diagnosis-B": '''
diagnosis_b = "learning rate too low"
''',
    # larger steps: a dead unit's gradient is exactly 0 whatever the step
    "08-check_fix-B": '''
fix_b = {"lr": 0.5}
''',
    # the backward signal fades as in mystery D, but these outputs sit at -1, an end of tanh's range, not at 0
    "08-check_diagnosis-C": '''
diagnosis_c = "weights too small"
''',
    # the textbook cure for saturation, ReLU, which does not saturate: the bias of -3 that the check's hint names
    # stays, and every ReLU unit is dead from the start
    "08-check_fix-C": '''
fix_c = {"activation": "relu"}
''',
    # the mirror image of C: the backward signal fades, but nothing is saturated (the outputs sit at 0)
    "08-check_diagnosis-D": '''
diagnosis_d = "saturated units"
''',
    # a 10 times larger step: the signal still fades layer by layer
    "08-check_fix-D": '''
fix_d = {"lr": 1.0}
''',
    # the classic explanation of sigmoid's trouble: but 0 % of the outputs are saturated, they sit around 0.5
    "08-check_diagnosis-E": '''
diagnosis_e = "saturated units"
''',
    # He init without the ReLU it is made for: the sigmoids still pass at most 1/4 per layer
    "08-check_fix-E": '''
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
