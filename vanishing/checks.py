"""Self-checks for the exercises: pass, or what is wrong and a hint.

The shared interface
--------------------
Every check returns a :class:`CheckResult` and never raises for an ordinary
wrong answer. Put the check on the last line of a cell: Jupyter shows the
verdict (✔ correct, ✘ what is wrong, ○ not attempted yet); ``print(result)``
gives the same text. A check has three outcomes:

* ``passed is True``: the answer matches the reference on every test input;
* ``passed is False``: the message names the first input that shows the
  difference (or the wrong shape, dtype, or the exception the learner's
  function raised) and a hint;
* ``passed is None``: not attempted yet. The learner's answer is still the
  placeholder: ``None``, ``...`` (Ellipsis), or a function that returns ``None``
  or raises ``NotImplementedError``.

Building a check
----------------
A notebook's check is a short function built from :func:`check_function`
(compare a learner's function with a reference on chosen inputs) or
:func:`check_value` (compare a number, array or string, or test it with a
predicate)::

    def check_sigmoid_prime(fn):
        z = np.array([-30.0, -2.0, 0.0, 0.5, 3.0])
        return check_function(fn, _sigmoid_prime, [z, z.astype(np.float32)],
                              name="sigmoid_prime", hint="use sigma(z) * (1 - sigma(z))")

A test input is passed as the single positional argument, or as several
arguments when wrapped in :class:`Args`. This module imports numpy only.
"""

from __future__ import annotations

import copy
import html
import importlib
import importlib.metadata
import inspect
import platform
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .activations import Sigmoid

__all__ = [
    "Args", "CheckResult", "check_chain_product", "check_environment", "check_function", "check_value",
    "is_placeholder",
]

_SYMBOLS = {True: "✔", False: "✘", None: "○"}
_COLOURS = {True: "#009E73", False: "#D55E00", None: "#7f7f7f"}  # Okabe–Ito green, vermillion; grey


class CheckResult:
    """The verdict of a self-check.

    Attributes
    ----------
    passed
        ``True`` (correct), ``False`` (wrong: see ``message``) or ``None`` (not attempted yet).
    name
        What was checked, e.g. ``"chain_product"``.
    message
        One or two sentences: what matched, or the first input that shows the
        difference, or what to write.
    hint
        Optional advice, shown only when the check failed.
    """

    def __init__(self, passed: bool | None, name: str, message: str, hint: str | None = None) -> None:
        if passed not in (True, False, None):
            raise TypeError(f"passed={passed!r} must be True, False or None")
        self.passed = passed
        self.name = name
        self.message = message
        self.hint = hint

    @property
    def status(self) -> str:
        """``"correct"``, ``"wrong"`` or ``"not attempted yet"``."""
        return {True: "correct", False: "wrong", None: "not attempted yet"}[self.passed]

    def _parts(self) -> tuple[str, str, str]:
        hint = f"Hint: {self.hint}" if self.hint and self.passed is False else ""
        return _SYMBOLS[self.passed], self.message, hint

    def __str__(self) -> str:
        symbol, message, hint = self._parts()
        return f"{symbol} {self.name}: {message}" + (f"\n  {hint}" if hint else "")

    def __repr__(self) -> str:
        # the text/plain form Jupyter falls back to: the verdict itself, not a constructor call
        return str(self)

    def _repr_html_(self) -> str:
        symbol, message, hint = self._parts()
        colour = _COLOURS[self.passed]
        hint_html = f"<br><i>{html.escape(hint)}</i>" if hint else ""
        return (
            f'<div style="border-left: 4px solid {colour}; padding: 0.25em 0.75em; margin: 0.2em 0;">'
            f'<span style="color: {colour}; font-weight: bold;">{symbol} {html.escape(self.name)}</span>: '
            f"{html.escape(message)}{hint_html}</div>"
        )


class Args:
    """Several arguments for one test input of :func:`check_function`: ``Args(x, W, b)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Args({', '.join(parts)})"


def is_placeholder(value: Any) -> bool:
    """True for the learner's placeholders: ``None`` and ``...``."""
    return value is None or value is Ellipsis


# ---------------------------------------------------------------------------------------------
# describing values and differences in short, readable text


def _fmt(value: Any) -> str:
    """A short text for a value, for a verdict message."""
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype == np.float64 else f", dtype={value.dtype}"
        if value.ndim <= 1 and value.size <= 12:
            return f"array({np.array2string(value, precision=4, separator=', ')}{dtype})"
        if value.ndim == 1:
            body = np.array2string(value, precision=4, separator=", ", threshold=6, edgeitems=3)
            return f"array({body}{dtype}) of shape {value.shape}"
        flat = value.ravel()
        if value.dtype.kind in "fiu" and np.isfinite(flat).all():
            return f"array of shape {value.shape} ({value.dtype}, from {flat.min():.4g} to {flat.max():.4g})"
        return f"array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy {value.dtype} scalar"
    return f"a {type(value).__name__}"


def _difference(got: Any, expected: Any, *, rtol: float, atol: float, check_dtype: bool) -> str | None:
    """Describe how ``got`` differs from ``expected``, or None if they match.

    Arrays and numbers are compared with ``numpy.isclose(got, expected, rtol, atol)``
    (NaN matches NaN); tuples, lists and dicts item by item; anything else with ``==``.
    """
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"returned {_kind(got)}; expected a dict with keys {sorted(expected)}"
        if set(got) != set(expected):
            return f"returned a dict with keys {sorted(got)}; expected keys {sorted(expected)}"
        for key in expected:
            problem = _difference(got[key], expected[key], rtol=rtol, atol=atol, check_dtype=check_dtype)
            if problem:
                return f"[{key!r}]: {problem}"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"returned {_kind(got)}; expected a {type(expected).__name__} of {len(expected)} items"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = _difference(g, e, rtol=rtol, atol=atol, check_dtype=check_dtype)
            if problem:
                return f"item {i}: {problem}"
        return None
    numeric = isinstance(expected, (np.ndarray, np.generic, int, float)) and not isinstance(expected, bool)
    if not numeric:
        if isinstance(got, np.ndarray) or got != expected:
            return f"returned {_fmt(got)}; expected {_fmt(expected)}"
        return None
    try:
        got_arr = np.asarray(got)
    except Exception:  # noqa: BLE001 - any unconvertible object is simply a wrong answer
        return f"returned {_kind(got)}; expected {_kind(expected)}"
    exp_arr = np.asarray(expected)
    if got_arr.dtype.kind not in "biuf":
        return f"returned {_kind(got)}; expected {_kind(expected)}"
    if got_arr.shape != exp_arr.shape:
        return f"returned shape {got_arr.shape}; expected shape {exp_arr.shape}"
    if check_dtype and isinstance(expected, (np.ndarray, np.generic)) and got_arr.dtype != exp_arr.dtype:
        return f"returned dtype {got_arr.dtype}; expected dtype {exp_arr.dtype}"
    close = np.isclose(got_arr.astype(np.float64), exp_arr.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    if got_arr.ndim == 0:
        return f"returned {_fmt(got_arr[()])}; expected {_fmt(exp_arr[()])}"
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = index[0] if len(index) == 1 else index
    return (f"returned {_fmt(got_arr[index])} at index {where}; expected {_fmt(exp_arr[index])} "
            f"({int((~close).sum())} of {close.size} values differ)")


def _describe_input(reference: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``z=array([...])``: the test input with the reference's parameter names."""
    try:
        bound = inspect.signature(reference).bind(*args, **kwargs)
        return ", ".join(f"{k}={_fmt(v)}" for k, v in bound.arguments.items())
    except (TypeError, ValueError):
        return ", ".join([_fmt(a) for a in args] + [f"{k}={_fmt(v)}" for k, v in kwargs.items()])


def _same(a: Any, b: Any) -> bool:
    """True if two inputs are identical, bit for bit where they are arrays."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects without a usable == count as changed
        return False


# ---------------------------------------------------------------------------------------------
# the two building blocks


def check_function(fn: Any, reference: Callable[..., Any], inputs: Iterable[Any], *, rtol: float = 1e-6,
                   atol: float = 1e-12, name: str | None = None, hint: str | None = None,
                   todo: str | None = None, check_dtype: bool = True, inplace_ok: bool = False) -> CheckResult:
    """Compare a learner's function with a reference on test inputs.

    Parameters
    ----------
    fn
        The learner's function (``None`` or ``...``: not attempted yet).
    reference
        The correct function, called on a fresh copy of the same inputs.
    inputs
        Test inputs, in the order to try them; each is the single argument of
        the function, or an :class:`Args` for several. Put the simplest first:
        the verdict reports the first input that shows a difference.
    rtol, atol
        Tolerances of ``numpy.isclose(got, expected, rtol, atol)``.
    name
        What is checked (default: the reference's name).
    hint
        Advice shown when the check fails.
    todo
        What to write, shown while not attempted (default: "define <name>() above").
    check_dtype
        Also require the dtype of array results to match the reference's.
    inplace_ok
        Allow the function to change its input arrays (by default that is reported as wrong).

    Returns
    -------
    CheckResult
        ``passed`` True, False, or None when ``fn`` is a placeholder or returns ``None``.
    """
    name = name or getattr(reference, "__name__", "function")
    todo = todo or f"define {name}() in the cell above and run it, then run this check again"
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}",
                           hint=f"pass the function itself, e.g. check({name}), not the result of calling it")
    inputs = list(inputs)
    for test in inputs:
        args, kwargs = (test.args, test.kwargs) if isinstance(test, Args) else ((test,), {})
        shown = _describe_input(reference, args, kwargs)
        learner_args, learner_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        try:
            got = fn(*learner_args, **learner_kwargs)
        except NotImplementedError:
            return CheckResult(None, name, f"not attempted yet: {todo}")
        except Exception as error:  # noqa: BLE001 - a learner's bug is reported, not raised
            return CheckResult(False, name, f"your function raised {type(error).__name__}: {error} for input {shown}",
                               hint=hint)
        if got is None:
            return CheckResult(None, name, f"not attempted yet (your function returned None): {todo}")
        if not inplace_ok and not (_same(learner_args, args) and _same(learner_kwargs, kwargs)):
            return CheckResult(False, name, f"your function changed its input in place for input {shown}",
                               hint="compute a new array (e.g. np.where(...)) instead of assigning into the input")
        expected = reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        problem = _difference(got, expected, rtol=rtol, atol=atol, check_dtype=check_dtype)
        if problem:
            return CheckResult(False, name, f"for input {shown}, your function {problem}", hint=hint)
    count = f"all {len(inputs)} test inputs" if len(inputs) != 1 else "the test input"
    return CheckResult(True, name, f"correct on {count}.")


def check_value(value: Any, expected: Any = None, *, rtol: float = 1e-6, atol: float = 0.0,
                predicate: Callable[[Any], bool | str] | None = None, name: str = "answer",
                hint: str | None = None, todo: str | None = None, check_dtype: bool = False) -> CheckResult:
    """Compare a learner's value with the expected one, or test it with a predicate.

    Parameters
    ----------
    value
        The learner's answer (``None`` or ``...``: not attempted yet).
    expected
        The correct value: a number or array (compared with ``numpy.isclose``
        and ``rtol``, ``atol``), a string or other object (compared with ``==``),
        or a tuple, list or dict of these. Ignored when ``predicate`` is given.
    predicate
        ``predicate(value)`` returns True (correct), False (wrong), or a string
        that explains what is wrong. An exception in it counts as wrong.
    name, hint, todo
        As in :func:`check_function`.
    check_dtype
        Also require array dtypes to match.
    """
    todo = todo or f"replace the placeholder of {name} with your answer and run the cell"
    if is_placeholder(value):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if predicate is not None:
        try:
            verdict = predicate(value)
        except Exception as error:  # noqa: BLE001 - a malformed answer is reported, not raised
            return CheckResult(False, name, f"{_fmt(value)} could not be checked ({type(error).__name__}: {error})",
                               hint=hint)
        if verdict is True or (isinstance(verdict, (bool, np.bool_)) and verdict):
            return CheckResult(True, name, f"{_fmt(value)} is correct.")
        message = verdict if isinstance(verdict, str) and verdict else f"{_fmt(value)} is not right"
        return CheckResult(False, name, message, hint=hint)
    problem = _difference(value, expected, rtol=rtol, atol=atol, check_dtype=check_dtype)
    if problem:
        return CheckResult(False, name, f"your answer {problem}", hint=hint)
    return CheckResult(True, name, f"{_fmt(value)} is correct.")


# ---------------------------------------------------------------------------------------------
# notebook 00


def _chain_product(z: np.ndarray) -> float:
    r"""Reference: :math:`\prod_i \sigma'(z_i)` along a chain of sigmoid units."""
    return float(np.prod(Sigmoid().derivative(z)))


def check_chain_product(fn: Any) -> CheckResult:
    r"""Notebook 00: ``chain_product(z)`` returns :math:`\prod_i \sigma'(z_i)` for a 1-D array ``z``."""
    rng = np.random.default_rng(0)
    inputs = [np.zeros(1), np.zeros(10), np.array([-2.0, 0.5, 3.0]), rng.normal(0.0, 2.0, size=50)]
    return check_function(
        fn, _chain_product, inputs, rtol=1e-9, atol=0.0, name="chain_product", check_dtype=False,
        todo="replace the TODO line of chain_product in the cell above, run that cell, then run this one",
        hint="take the sigmoid derivative of every z_i (vn.activations.Sigmoid().derivative) and multiply "
             "them all with np.prod; the result is one number",
    )


def check_environment(minimum: Mapping[str, str] | None = None) -> CheckResult:
    """Check the Python version and the packages the course needs.

    Imports numpy, matplotlib and ipywidgets (the last two only here, when
    called), draws a small figure to PNG and builds a slider. Whether the
    browser shows widgets can only be seen in the browser: the notebook shows
    one right after this check.
    """
    minimum = dict(minimum or {"numpy": "1.24", "matplotlib": "3.6", "ipywidgets": "8.0"})
    lines = [f"python {platform.python_version()}"]
    problems = []
    if tuple(int(p) for p in platform.python_version_tuple()[:2]) < (3, 10):
        problems.append("python is older than 3.10")
    for package, least in minimum.items():
        try:
            module = importlib.import_module(package)
        except ImportError as error:
            problems.append(f"{package} is missing ({error})")
            continue
        version = getattr(module, "__version__", "unknown")
        lines.append(f"{package} {version}")
        if _version_tuple(version) < _version_tuple(least):
            problems.append(f"{package} {version} is older than {least}")
    try:
        from .plots import new_figure, to_png  # imported here: checks itself stays numpy-only

        fig = new_figure()
        fig.axes[0].plot([0, 1], [0, 1])
        if not to_png(fig).startswith(b"\x89PNG"):
            problems.append("matplotlib did not produce a PNG image")
        import ipywidgets

        ipywidgets.IntSlider(value=1, min=0, max=2)
    except Exception as error:  # noqa: BLE001 - the report says what failed instead of raising
        problems.append(f"drawing a figure or building a widget failed: {type(error).__name__}: {error}")
    try:
        lines.append(f"jupyterlab_widgets {importlib.metadata.version('jupyterlab_widgets')}")
    except importlib.metadata.PackageNotFoundError:
        lines.append("jupyterlab_widgets not found here (fine if JupyterLab runs from another environment)")
    found = "; ".join(lines)
    if problems:
        return CheckResult(False, "environment", f"{'; '.join(problems)}. Found: {found}",
                           hint="install the course environment: see README.md (environment.yml or pip)")
    return CheckResult(True, "environment", f"ready. Found: {found}")


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


# ---------------------------------------------------------------------------------------------
# --- notebook 01


def _sigmoid_prime(z: np.ndarray) -> np.ndarray:
    r"""Reference: the engine's :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`."""
    return Sigmoid().derivative(np.asarray(z, dtype=np.float64))


def check_sigmoid_prime(fn: Any) -> CheckResult:
    r"""Notebook 01: ``sigmoid_prime(z)`` returns :math:`\sigma'(z)` elementwise, also at very large :math:`|z|`.

    Ordinary inputs are tried first; then inputs as large as :math:`|z| = 750`,
    where :math:`e^{-z}` overflows float64 (for z = -750) and a formula that
    divides one infinity by another gives NaN. Numpy's overflow warnings are
    silenced while the learner's function runs: the verdict names the input instead.
    """
    ordinary = [np.zeros(1), np.array([-2.0, -0.5, 0.5, 2.0]), np.linspace(-8.0, 8.0, 17)]
    extreme = [np.array([-40.0, 40.0]), np.array([-750.0, -100.0, 100.0, 750.0])]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        result = check_function(
            fn, _sigmoid_prime, ordinary, rtol=1e-6, atol=1e-12, name="sigmoid_prime", check_dtype=False,
            hint="sigma(z) = 1 / (1 + exp(-z)) and sigma'(z) = sigma(z) * (1 - sigma(z)); it is 1/4 at z = 0",
        )
        if result.passed is not True:
            return result
        result = check_function(
            fn, _sigmoid_prime, extreme, rtol=1e-6, atol=1e-12, name="sigmoid_prime", check_dtype=False,
            hint="for z = -750, exp(-z) overflows to inf, and inf / inf is nan: compute sigma(z) first "
                 "(1 / (1 + exp(-z)) is 0 there, which is right) and return sigma * (1 - sigma)",
        )
    if result.passed is True:
        return CheckResult(True, "sigmoid_prime", "correct on ordinary inputs and at |z| up to 750.")
    return result


def check_sigmoid_prime_max(value: Any) -> CheckResult:
    r"""Notebook 01: the largest value of :math:`\sigma'(z)` (1/4, at z = 0)."""
    def verdict(v: Any) -> bool | str:
        v = float(v)
        if np.isclose(v, 0.25, rtol=1e-9, atol=0.0):
            return True
        if np.isclose(v, 0.5):
            return "0.5 is sigma(0), the value of the sigmoid itself at z = 0, not of its derivative"
        if np.isclose(v, 1.0):
            return "1 is the largest value of tanh'(z), not of sigma'(z)"
        return f"{v:.6g} is not the largest value of sigma'(z) = sigma(z)(1 - sigma(z))"

    return check_value(value, predicate=verdict, name="sigmoid_prime_max",
                       hint="s(1 - s) is a parabola in s = sigma(z), largest at s = 1/2, which happens at z = 0",
                       todo="set sigmoid_prime_max to the largest value sigma'(z) can take")


def _first_zero_depth(factor: float, dtype: np.dtype, limit: int = 100_000) -> int:
    """First L at which ``factor**L``, by repeated multiplication in ``dtype``, is exactly 0 (-1 if never)."""
    c, product = dtype.type(factor), dtype.type(1.0)
    with np.errstate(under="ignore"):  # reaching 0 is what is measured
        for depth in range(1, limit + 1):
            new = dtype.type(product * c)
            if new == 0:
                return depth
            if new == product:
                return -1
            product = new
    return -1


def check_underflow_depth(depth: Any, factor: float = 0.25, dtype: str = "float32") -> CheckResult:
    r"""Notebook 01: the first depth L at which ``factor**L`` is exactly 0 in ``dtype`` (75 for 0.25 in float32).

    Only the exact integer passes. Wrong answers that are the right answer for
    another float type, the depth where the product leaves the normal range, or
    one less than the answer get a specific hint; every hint points at ``numpy.finfo``.
    """
    dt = np.dtype(dtype)
    expected = _first_zero_depth(factor, dt)
    info = np.finfo(dt)
    others = {np.dtype(t).name: _first_zero_depth(factor, np.dtype(t)) for t in ("float16", "float32", "float64")}
    normal_depth = int(np.floor(np.log(float(info.smallest_normal)) / np.log(float(dt.type(factor))))) + 1
    finfo_hint = (f"np.finfo(np.{dt.name}).smallest_subnormal = {float(info.smallest_subnormal):.3g} is the smallest "
                  f"positive {dt.name}; rounding to nearest sends a result below half of it to 0, so look for the "
                  f"first L with {factor}**L <= smallest_subnormal / 2, and compute in {dt.name}")

    def verdict(v: Any) -> bool | str:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float, np.floating)):
            return f"{v!r} is not a whole number; give the depth as an integer"
        if float(v) != int(v):
            return f"{v} is not a whole number; the depth counts factors, so it is an integer"
        v = int(v)
        if v == expected:
            return True
        for name, other in others.items():
            if name != dt.name and v == other:
                return (f"{v} is where the product becomes 0 in {name}, not {dt.name}: make the factor "
                        f"np.{dt.name}({factor}) so that every multiplication is rounded to {dt.name}")
        if v == normal_depth:
            return (f"at L = {v} the product drops below finfo.smallest_normal = {float(info.smallest_normal):.3g} "
                    f"and becomes subnormal, but it is not 0 yet")
        if v == expected - 1:
            return f"off by one: {factor}**{v} is still a positive {dt.name}; you want the first L where it is 0"
        return f"{v} is not the first depth at which {factor}**L is exactly 0 in {dt.name}"

    return check_value(depth, predicate=verdict, name=f"underflow_depth ({factor} in {dt.name})", hint=finfo_hint,
                       todo=f"set the depth to the first L at which {factor}**L == 0 in {dt.name}")


def _first_last_ratio(model: Any, loss: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Reference: forward, loss, backward; ||dW of the first Dense|| / ||dW of the last Dense||."""
    from .layers import Dense  # the layers module is numpy-only; imported here to keep the header short

    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    dense = [layer for layer in model if isinstance(layer, Dense)]
    return float(np.linalg.norm(dense[0].grads["W"]) / np.linalg.norm(dense[-1].grads["W"]))


def check_gradient_ratio(fn: Any, prediction: Any = None) -> CheckResult:
    r"""Notebook 01: ``first_last_ratio(model, loss, X, y)`` measures :math:`\lVert dW_1\rVert / \lVert dW_L\rVert`.

    The learner's function is run on two deep sigmoid MLPs (3 and 10 hidden
    layers) from :func:`vanishing.experiments.gradient_ratio_setup` and compared
    with the engine's own measurement. When it passes and a ``prediction``
    (of :math:`\log_{10}` of the ratio for 10 hidden layers) is given, the
    verdict also says how far the prediction was from the measurement.
    """
    from .experiments.products import gradient_ratio_setup  # numpy-only, imported when the check runs

    name = "first_last_ratio"
    todo = "define first_last_ratio(model, loss, X, y) in the cell above and run it, then run this check again"
    hint = ("run model.forward(X), loss.forward(out, y), model.backward(loss.backward()); then take np.linalg.norm "
            "of grads['W'] of the first and of the last Dense layer (vn.models.dense_layers) and divide first by last")
    if is_placeholder(fn):
        return CheckResult(None, name, f"not attempted yet: {todo}")
    if not callable(fn):
        return CheckResult(False, name, f"expected a function, got {_kind(fn)}", hint=hint)
    measured = {}
    for depth in (3, 10):
        setup = gradient_ratio_setup(depth)
        expected = _first_last_ratio(*copy.deepcopy((setup.model, setup.loss, setup.X, setup.y)))
        where = f"the sigmoid MLP with {depth} hidden layers (vn.experiments.gradient_ratio_setup({depth}))"
        try:
            got = fn(setup.model, setup.loss, setup.X, setup.y)
        except NotImplementedError:
            return CheckResult(None, name, f"not attempted yet: {todo}")
        except Exception as error:  # noqa: BLE001 - a learner's bug is reported, not raised
            return CheckResult(False, name, f"your function raised {type(error).__name__}: {error} on {where}",
                               hint=hint)
        if got is None:
            return CheckResult(None, name, f"not attempted yet (your function returned None): {todo}")
        problem = _difference(got, expected, rtol=1e-6, atol=0.0, check_dtype=False)
        if problem:
            return CheckResult(False, name, f"on {where}, your function {problem}", hint=hint)
        measured[depth] = expected
    log_ratio = float(np.log10(measured[10]))
    text = f"matches the engine on both networks; for 10 hidden layers log10(ratio) = {log_ratio:.2f}"
    if is_placeholder(prediction):
        return CheckResult(True, "first_last_ratio", text + " (no prediction given).")
    try:
        guess = float(prediction)
    except (TypeError, ValueError):
        return CheckResult(True, "first_last_ratio", text + f"; your prediction {prediction!r} is not a number.")
    return CheckResult(True, "first_last_ratio",
                       text + f"; your prediction {guess:.2f} was {abs(guess - log_ratio):.1f} decades away.")


__all__ += ["check_gradient_ratio", "check_sigmoid_prime", "check_sigmoid_prime_max", "check_underflow_depth"]


# ---------------------------------------------------------------------------------------------
# --- notebook 02


def _glorot_limit(fan_in: int, fan_out: int) -> float:
    """Reference: the Glorot uniform bound sqrt(6 / (fan_in + fan_out)), from the engine."""
    from .init import glorot_uniform_limit

    return glorot_uniform_limit(fan_in, fan_out)


def check_glorot_limit(fn: Any) -> CheckResult:
    r"""Notebook 02: ``glorot_limit(fan_in, fan_out)`` returns the Glorot uniform bound.

    Compared with :func:`vanishing.init.glorot_uniform_limit` on square and
    very unequal layers, so that a formula with only the fan-in (or only the
    fan-out) is caught on the first unequal pair.
    """
    pairs = [(64, 64), (784, 25), (25, 10), (1, 1), (3, 1000)]
    return check_function(
        fn, _glorot_limit, [Args(a, b) for a, b in pairs], rtol=1e-9, atol=0.0, name="glorot_limit",
        check_dtype=False,
        hint="Var[W] = 2 / (fan_in + fan_out), and U(-r, r) has variance r² / 3; solve r² / 3 = 2 / (fan_in + fan_out)",
    )


def _saturated_share(activation: str, a: np.ndarray) -> float:
    """Reference: the saturated fraction as vanishing.diagnostics defines it."""
    from .diagnostics import saturated_fraction

    return saturated_fraction(activation, a)


def check_saturated_fraction(fn: Any) -> CheckResult:
    r"""Notebook 02: ``fraction_saturated(activation, a)`` for a tanh or sigmoid layer's outputs ``a`` (N, D).

    Compared with :func:`vanishing.diagnostics.saturated_fraction` on outputs
    that sit exactly on the thresholds (0.99 is *not* saturated), on both ends
    of the range, and on a random layer.
    """
    rng = np.random.default_rng(2)
    inputs = [
        Args("tanh", np.array([[0.0, 0.5, 0.995, -0.999]])),
        Args("tanh", np.array([[0.99, -0.99, 0.9901, -0.9901]])),
        Args("sigmoid", np.array([[0.5, 0.999, 0.001, 0.2]])),
        Args("sigmoid", np.array([[0.01, 0.99, 0.0099, 0.9901]])),
        Args("tanh", np.tanh(rng.normal(0.0, 3.0, size=(50, 8)))),
        Args("sigmoid", 1 / (1 + np.exp(-rng.normal(0.0, 5.0, size=(50, 8))))),
    ]
    return check_function(
        fn, _saturated_share, inputs, rtol=1e-12, atol=0.0, name="fraction_saturated", check_dtype=False,
        hint="tanh: saturated where |a| > 0.99; sigmoid: where a < 0.01 or a > 0.99 (strict inequalities); "
             "the fraction is the mean of that boolean array over all N x D outputs",
    )


TANH_STD_BAND = (0.4, 0.8)
"""Notebook 02 exercise: every hidden layer's activation std must lie in this band ..."""
TANH_MAX_SATURATED = 0.10
"""... and at most this fraction of its outputs may be saturated."""


def check_tanh_init(choice: Any, *, band: tuple[float, float] = TANH_STD_BAND,
                    max_saturated: float = TANH_MAX_SATURATED) -> CheckResult:
    """Notebook 02: an initialisation that keeps a 10 × 64 tanh net's activations in a band.

    ``choice`` is a dict ``{"init": name, "limit": bound}`` (``limit`` only for
    ``"uniform"``). The check runs :func:`vanishing.experiments.init_statistics`
    (tanh, 10 hidden layers of 64 units, the digits, seed 0) and requires every
    layer's activation standard deviation within ``band`` and at most
    ``max_saturated`` of its outputs saturated; it reports the per-layer values.
    """
    name = "tanh_init"
    if is_placeholder(choice):
        return CheckResult(None, name, 'not attempted yet: set choice = {"init": ..., "limit": ...} and run the cell')
    from .experiments.saturation import INIT_SCHEMES, init_statistics

    if not isinstance(choice, Mapping) or "init" not in choice:
        return CheckResult(False, name, f"expected a dict with the key 'init' (and 'limit' for 'uniform'), "
                                        f"got {_fmt(choice)}", hint='for example {"init": "uniform", "limit": 0.5}')
    init, limit = choice["init"], choice.get("limit", 1.0)
    if is_placeholder(init) or (init == "uniform" and is_placeholder(limit)):
        return CheckResult(None, name, "not attempted yet: fill in the init name (and the limit for 'uniform')")
    if init not in INIT_SCHEMES:
        return CheckResult(False, name, f"init={init!r} is not one of {', '.join(map(repr, INIT_SCHEMES))}")
    try:
        stats = init_statistics("tanh", init, limit=limit, depth=10, width=64, rng=np.random.default_rng(0))
    except (TypeError, ValueError) as error:
        return CheckResult(False, name, f"the experiment rejected this choice: {error}")
    low, high = band
    stds = ", ".join(f"{s:.2f}" for s in stats.act_std)
    sat = ", ".join(f"{s:.0%}" for s in stats.saturated)
    report = f"activation std per layer: {stds}; saturated: {sat}"
    bad_std = [i + 1 for i, s in enumerate(stats.act_std) if not low <= s <= high]
    bad_sat = [i + 1 for i, s in enumerate(stats.saturated) if s > max_saturated]
    if not bad_std and not bad_sat:
        return CheckResult(True, name, f"{stats.label} keeps every layer in the band. {report}.")
    problems = []
    if bad_std:
        side = "below" if stats.act_std[bad_std[0] - 1] < low else "above"
        problems.append(f"layer(s) {bad_std} have a std outside [{low:g}, {high:g}] (layer {bad_std[0]} is {side})")
    if bad_sat:
        problems.append(f"layer(s) {bad_sat} have more than {max_saturated:.0%} saturated outputs")
    hint = ("fan_in × Var[W] decides the forward gain: U(±r) has Var = r²/3. Too small and tanh's activations "
            "fade layer by layer; too large and the units saturate. A gain a bit above 1 keeps tanh steady")
    return CheckResult(False, name, f"{stats.label}: {'; '.join(problems)}. {report}.", hint=hint)


__all__ += ["check_glorot_limit", "check_saturated_fraction", "check_tanh_init"]
