"""Self-checks: a right answer passes, a wrong one names the input that shows it, nothing raises."""

from __future__ import annotations

import numpy as np
import pytest

from vanishing import checks
from vanishing.activations import Sigmoid
from vanishing.checks import Args, CheckResult, check_chain_product, check_function, check_value


def square(x):
    return x * x


def correct_chain_product(z):
    return np.prod(Sigmoid().derivative(z))


# --------------------------------------------------------------------------------------------- check_function


def test_correct_function_passes():
    result = check_function(square, square, [np.arange(3.0), 2.0])
    assert result.passed is True
    assert "correct on all 2 test inputs" in result.message


def test_wrong_answer_reports_the_first_input_that_differs():
    def wrong(x):
        return x + x  # equals x*x at 0 and 2 only

    result = check_function(wrong, square, [np.array([0.0, 2.0]), np.array([1.0, 3.0]), np.array([5.0])],
                            name="square", hint="multiply, do not add")
    assert result.passed is False
    assert "x=array([1., 3.])" in result.message
    assert "your function returned 2 at index 0; expected 1 (2 of 2 values differ)" in result.message
    assert "multiply, do not add" in str(result)


def test_exception_in_learner_function_is_reported_not_raised():
    def broken(x):
        return x / 0 if isinstance(x, int) else {}["missing"]

    result = check_function(broken, square, [np.array([1.0, 2.0])])
    assert result.passed is False
    assert result.message.startswith("your function raised KeyError: 'missing' for input x=array([1., 2.])")


@pytest.mark.parametrize("placeholder", [None, ...])
def test_placeholder_is_not_attempted(placeholder):
    result = check_function(placeholder, square, [1.0], name="square", todo="write square(x)")
    assert result.passed is None
    assert result.message == "not attempted yet: write square(x)"


def test_function_returning_none_is_not_attempted():
    def learner(x):
        pass  # the learner's placeholder body

    result = check_function(learner, square, [1.0])
    assert result.passed is None
    assert "not attempted yet" in result.message


def test_not_implemented_error_is_not_attempted():
    def learner(x):
        raise NotImplementedError

    assert check_function(learner, square, [1.0]).passed is None


def test_shape_mismatch_is_reported():
    result = check_function(lambda z: Sigmoid().derivative(z), correct_chain_product, [np.zeros(3)])
    assert result.passed is False
    assert "returned shape (3,); expected shape ()" in result.message


def test_dtype_mismatch_is_reported_and_can_be_switched_off():
    def as_float64(x):
        return (x * x).astype(np.float64)

    x = np.array([1.5, 2.0], dtype=np.float32)
    result = check_function(as_float64, square, [x])
    assert result.passed is False
    assert "returned dtype float64; expected dtype float32" in result.message
    assert check_function(as_float64, square, [x], check_dtype=False).passed is True


def test_changing_the_input_in_place_is_reported():
    def in_place(x):
        x *= x
        return x

    result = check_function(in_place, square, [np.array([3.0])])
    assert result.passed is False
    assert "changed its input in place" in result.message
    assert check_function(in_place, square, [np.array([3.0])], inplace_ok=True).passed is True


def test_learner_cannot_corrupt_the_reference_input():
    seen = []

    def reference(x):
        seen.append(x.copy())
        return x * 2

    def in_place(x):
        x[:] = 100.0
        return x * 2

    check_function(in_place, reference, [np.array([1.0])], inplace_ok=True)
    assert seen[0][0] == 1.0


def test_several_arguments_and_keywords():
    def affine(x, W, b=0.0):
        return x @ W + b

    x, W = np.ones((2, 3)), np.arange(6.0).reshape(3, 2)
    assert check_function(affine, affine, [Args(x, W, b=1.0)]).passed is True
    result = check_function(lambda x, W, b=0.0: x @ W, affine, [Args(x, W, b=1.0)])
    assert result.passed is False
    assert "b=1" in result.message and "W=array" in result.message


def test_not_a_function():
    result = check_function(0.25, square, [1.0], name="square")
    assert result.passed is False
    assert "expected a function, got a float" in result.message


def test_nan_where_a_number_is_expected_fails():
    result = check_function(lambda x: x * np.nan, square, [np.array([1.0, 2.0])])
    assert result.passed is False
    assert "returned nan" in result.message


def test_large_arrays_are_summarised_not_printed():
    x = np.linspace(-1.0, 1.0, 1000)
    result = check_function(lambda v: v, square, [x])
    assert "x=array([-1." in result.message and "...," in result.message and "of shape (1000,)" in result.message
    assert len(result.message) < 300


# --------------------------------------------------------------------------------------------- check_value


def test_check_value_number_and_tolerance():
    assert check_value(0.1 + 0.2, 0.3, name="sum").passed is True
    result = check_value(0.31, 0.3, name="sum", hint="add them")
    assert result.passed is False
    assert "your answer returned 0.31; expected 0.3" in result.message


@pytest.mark.parametrize("placeholder", [None, ...])
def test_check_value_placeholder(placeholder):
    result = check_value(placeholder, 1.0, name="depth")
    assert result.passed is None
    assert result.message.startswith("not attempted yet")


def test_check_value_strings_and_containers():
    assert check_value("sigmoid", "sigmoid").passed is True
    assert check_value("tanh", "sigmoid").passed is False
    assert check_value({"a": 1.0, "b": np.ones(2)}, {"a": 1.0, "b": np.ones(2)}).passed is True
    wrong = check_value({"a": 1.0, "b": np.zeros(2)}, {"a": 1.0, "b": np.ones(2)})
    assert wrong.passed is False and "['b']" in wrong.message
    assert "expected keys" in check_value({"a": 1.0}, {"a": 1.0, "b": 2.0}).message
    assert "item 1" in check_value((1.0, 3.0), (1.0, 2.0)).message


def test_check_value_predicate():
    assert check_value(3, predicate=lambda v: v > 2).passed is True
    assert check_value(1, predicate=lambda v: v > 2).passed is False
    explained = check_value(1, predicate=lambda v: True if v > 2 else "too small: more than 2 layers")
    assert explained.passed is False and explained.message == "too small: more than 2 layers"
    broken = check_value("x", predicate=lambda v: v > 2)
    assert broken.passed is False and "TypeError" in broken.message


# --------------------------------------------------------------------------------------------- display


def test_rendering_of_each_outcome():
    good = CheckResult(True, "f", "correct.")
    bad = CheckResult(False, "f", "x < 0 <b>", hint="look again")
    todo = CheckResult(None, "f", "not attempted yet: write f")
    assert str(good) == "✔ f: correct." and repr(good) == str(good)
    assert str(bad) == "✘ f: x < 0 <b>\n  Hint: look again"
    assert str(todo).startswith("○ f: not attempted yet")
    html = bad._repr_html_()
    assert "✘" in html and "&lt;b&gt;" in html and "<b>" not in html.replace("&lt;b&gt;", "")
    assert "Hint" not in good._repr_html_() and "not attempted yet" in todo._repr_html_()
    assert good.status == "correct" and bad.status == "wrong" and todo.status == "not attempted yet"


def test_hint_is_shown_only_on_failure():
    assert "Hint" not in str(CheckResult(True, "f", "ok", hint="secret"))
    assert "Hint" not in str(CheckResult(None, "f", "not attempted yet", hint="secret"))


def test_passed_must_be_true_false_or_none():
    with pytest.raises(TypeError):
        CheckResult("yes", "f", "ok")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- notebook 00


def test_chain_product_check_passes_the_solution():
    assert check_chain_product(correct_chain_product).passed is True


def test_chain_product_check_learner_placeholder_runs():
    # the learner's cell: the solution region replaced by its placeholder line
    def chain_product(z):
        return None

    result = check_chain_product(chain_product)
    assert result.passed is None and "not attempted yet" in str(result)


@pytest.mark.parametrize("wrong, words", [
    (lambda z: np.sum(Sigmoid().derivative(z)), "for input z=array([0., 0., 0., 0., 0., 0., 0., 0., 0., 0.])"),
    (lambda z: np.prod(Sigmoid().fn(z)), "for input z=array([0.])"),
    (lambda z: 0.25 ** len(z), "for input z=array([-2. ,  0.5,  3. ])"),
])
def test_chain_product_check_catches_common_mistakes(wrong, words):
    result = check_chain_product(wrong)
    assert result.passed is False
    assert words in result.message
    assert "np.prod" in str(result)


def test_environment_check_passes_here():
    result = checks.check_environment()
    assert result.passed is True, str(result)
    assert "numpy" in result.message and "ipywidgets" in result.message


def test_environment_check_reports_a_missing_package():
    result = checks.check_environment({"numpy": "1.0", "no_such_package_for_the_course": "1.0"})
    assert result.passed is False
    assert "no_such_package_for_the_course is missing" in result.message


def test_environment_check_reports_an_old_version():
    result = checks.check_environment({"numpy": "999.0"})
    assert result.passed is False and "older than 999.0" in result.message
