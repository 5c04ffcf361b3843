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

The checks of each notebook live in their own module beside this one
(``start``, ``products``, ``saturation``...); the package re-exports them, so a
notebook calls ``vn.checks.check_sigmoid_prime(...)``.
"""

from __future__ import annotations

import copy
import html
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["Args", "CheckResult", "check_function", "check_value", "is_placeholder"]

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


def call_learner(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None, *, name: str,
                 todo: str, hint: str | None, where: str) -> tuple[Any, CheckResult | None]:
    """Call a learner's function: ``(its value, None)``, or ``(None, the verdict)`` when there is no value.

    The verdict says "not attempted yet" (with ``todo``) when the function raises NotImplementedError or
    returns None, and reports any other exception as the learner's bug, followed by ``where`` (which input).
    """
    try:
        got = fn(*args, **(kwargs or {}))
    except NotImplementedError:
        return None, CheckResult(None, name, f"not attempted yet: {todo}")
    except Exception as error:  # noqa: BLE001 - a learner's bug is reported, not raised
        return None, CheckResult(False, name, f"your function raised {type(error).__name__}: {error} {where}",
                                 hint=hint)
    if got is None:
        return None, CheckResult(None, name, f"not attempted yet (your function returned None): {todo}")
    return got, None


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
        got, verdict = call_learner(fn, learner_args, learner_kwargs, name=name, todo=todo, hint=hint,
                                    where=f"for input {shown}")
        if verdict is not None:
            return verdict
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
