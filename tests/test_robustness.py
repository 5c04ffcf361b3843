"""What a learner can do to the course: any setting of any widget, a notebook run twice, warnings.

1. **Fuzzing every widget** in ``vanishing.widgets.WIDGETS``: at least 200 control settings per widget,
   drawn by a seeded ``numpy.random.Generator``. The first settings are the extremes (every control at its
   minimum, then at its maximum: the largest learning rate, the deepest network, the smallest batch; then
   each control alone at each end and each option of each drop-down, the others random); the rest are
   random, each numeric control at one of its ends one time in five. A setting is applied as a learner's
   clicks would be, with ``App.set`` (and the Run button for a widget that has one), so it runs the
   widget's compute and its draw. The first two settings (every control at its minimum, at its maximum)
   and every tenth one (``RENDER_EVERY``) are encoded as PNG, as in the notebook; the others lay the figure
   out completely (every artist, tick and text placed: ``Figure.draw_without_rendering``) without
   rasterising it, which halves the cost of a setting for the widgets whose time goes into drawing and
   keeps CI within its time. Each setting must end in a figure (``app.error`` is None, ``app.png`` a PNG)
   or in a short message (non-empty, no traceback, under 300 characters) caused by an error the App
   expects from a setting (ValueError, TypeError, FloatingPointError, OverflowError, ``DivergenceError``);
   any other error is a bug in the widget. No exception may escape, and after an error the widget's
   default setting must give a figure again. An error raised while drawing (in matplotlib or
   ``vanishing.plots``) is a bug whatever its type. A warning raised on the way fails the test too (each
   kind once, with the first setting that raised it): in a live kernel it reaches the log rather than the
   figure, but it means a setting the code does not handle. Each widget is a test of its own, in a class
   of its own, so that ``pytest -n 2 --dist loadscope`` (as in ``.ci/run``) spreads the widgets over the
   workers.
2. **Determinism**: each solution notebook, executed twice in fresh kernels, gives identical text outputs
   (streams and ``text/plain``; widget model ids are ignored, and so is a cell tagged ``nondeterministic``
   or whose first line is ``# NBVAL_IGNORE_OUTPUT``).
3. **No warnings** in the notebooks' outputs: no ``RuntimeWarning``, ``DeprecationWarning`` or other
   ``...Warning:`` in a stream, neither in the stored outputs of ``solutions/`` nor in a fresh execution.

``VANISHING_FUZZ_SETTINGS`` (default 200) sets the number of settings per widget; the tests refuse fewer
than 200 unless ``VANISHING_FUZZ_ALLOW_FEW=1`` (for a quick look while developing a widget).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets
import numpy as np
import pytest
from matplotlib.figure import Figure

from vanishing.plots._style import style
from vanishing.widgets import WIDGETS, App
from vanishing.widgets import _app as app_module
from vanishing.widgets._app import EXPECTED_ERRORS

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO_ROOT / "solutions").glob("*.ipynb"))

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N_SETTINGS = int(os.environ.get("VANISHING_FUZZ_SETTINGS", "200"))
MAX_MESSAGE = 300
EXTREME_PROBABILITY = 0.2
FUZZ_SEED = 20240601
SEED_RANGE = 2**31  # seed boxes get seeds in [0, SEED_RANGE)
RENDER_EVERY = 10  # every 10th random setting is encoded as PNG; the others are laid out in full
WARNING_TEXT = re.compile(r"\b\w*Warning\b:|\bwarnings\.warn\b")


# ------------------------------------------------------------------------------------------------ settings


def _is_numeric_range(control: ipywidgets.Widget) -> bool:
    return hasattr(control, "min") and hasattr(control, "max") and not isinstance(control, ipywidgets.FloatProgress)


def _grid(control: ipywidgets.Widget) -> list[Any]:
    """The values a learner can reach on a bounded numeric control, in order (for a log slider: base**k)."""
    step = getattr(control, "step", None) or 1
    low, high = control.min, control.max
    count = int(np.floor((high - low) / step + 1e-9)) + 1
    if isinstance(control, (ipywidgets.IntSlider, ipywidgets.BoundedIntText, ipywidgets.IntRangeSlider)):
        points = [int(low + k * step) for k in range(count)]
    else:
        points = [float(round(low + k * step, 10)) for k in range(count)]
        if points[-1] < high - 1e-9 * max(1.0, abs(high)):
            points.append(float(high))
    points = [min(max(p, low), high) for p in points]
    if isinstance(control, ipywidgets.FloatLogSlider):
        values = [control.base ** p for p in points]
        # the App checks base**min <= value <= base**max: the ends exactly as it computes them
        values[0], values[-1] = control.base ** control.min, control.base ** control.max
        return values
    return points


def control_values(control: ipywidgets.Widget) -> list[Any] | None:
    """Every value a control offers (a drop-down's options, a checkbox's two states, a slider's grid).

    None for an unbounded number box (a seed) and for controls the fuzzer leaves alone (free text).
    """
    options = getattr(control, "_options_values", None)
    if options is not None:
        return list(options)
    if isinstance(control, (ipywidgets.Checkbox, ipywidgets.ToggleButton)):
        return [False, True]
    if _is_numeric_range(control):
        grid = _grid(control)
        if isinstance(control.value, tuple):  # a range slider: (low, high) pairs
            return [(a, b) for i, a in enumerate(grid) for b in grid[i:]]
        return grid
    return None


def random_value(name: str, control: ipywidgets.Widget, rng: np.random.Generator, extreme: str | None = None) -> Any:
    """A value the learner could set: ``extreme`` is "min" or "max" for a numeric control's ends."""
    values = control_values(control)
    if values is not None:
        if extreme is not None and _is_numeric_range(control):
            return values[0] if extreme == "min" else values[-1]
        return values[int(rng.integers(len(values)))]
    if isinstance(control, ipywidgets.IntText):
        if "seed" in name:
            return {"min": 0, "max": SEED_RANGE - 1}.get(extreme) if extreme else int(rng.integers(SEED_RANGE))
        return int(rng.integers(0, max(10, 2 * abs(int(control.value))) + 1))
    if isinstance(control, ipywidgets.FloatText):
        return float(rng.uniform(0.0, max(1.0, 2 * abs(float(control.value)))))
    return control.value  # free text and anything else: left as it is


def fuzz_settings(app: App, count: int, rng: np.random.Generator, *, extremes_only: bool = False
                  ) -> list[dict[str, Any]]:
    """``count`` settings (name -> value for every control): the extremes first, then random ones.

    ``extremes_only=True`` returns just the extremes (however many there are).
    """
    names = list(app.controls)

    def setting(**fixed: Any) -> dict[str, Any]:
        values = {}
        for name in names:
            control = app.controls[name]
            if name in fixed:
                values[name] = fixed[name]
                continue
            numeric = _is_numeric_range(control) or isinstance(control, (ipywidgets.IntText, ipywidgets.FloatText))
            end = None
            if numeric and rng.random() < EXTREME_PROBABILITY:
                end = "min" if rng.random() < 0.5 else "max"
            values[name] = random_value(name, control, rng, end)
        return values

    ends = {end: {name: random_value(name, control, rng, end) for name, control in app.controls.items()
                  if _is_numeric_range(control) or isinstance(control, (ipywidgets.IntText, ipywidgets.FloatText))}
            for end in ("min", "max")}
    settings = [setting(**ends["min"]), setting(**ends["max"])]
    for name, control in app.controls.items():
        if name in ends["min"]:
            settings += [setting(**{name: ends["min"][name]}), setting(**{name: ends["max"][name]})]
        elif (options := control_values(control)) is not None:
            settings += [setting(**{name: option}) for option in options]
    if extremes_only:
        return settings
    settings = settings[:count]
    while len(settings) < count:
        settings.append(setting())
    return settings


# ------------------------------------------------------------------------------------------------ outcomes


def message_text(app: App) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", app.message.value)).strip()


def raised_while_drawing(error: BaseException) -> bool:
    """True if the error came from matplotlib or the course's plots: a figure that cannot be drawn is a bug.

    (An axis that overflows on a diverged loss once showed "cannot convert float infinity to integer".)
    """
    frames = traceback.extract_tb(error.__traceback__)
    return any(f"{os.sep}matplotlib{os.sep}" in frame.filename
               or f"{os.sep}vanishing{os.sep}plots{os.sep}" in frame.filename for frame in frames)


def expected_error(error: BaseException) -> bool:
    from vanishing.train import DivergenceError

    return isinstance(error, (*EXPECTED_ERRORS, DivergenceError)) and not raised_while_drawing(error)


def apply(app: App, values: dict[str, Any]) -> None:
    """Set the controls as a learner would and compute: the Run button, if the widget has one."""
    app.set(**values)
    if app.run_button is not None:
        app.run_button.click()


def outcome_problem(app: App) -> str | None:
    """What is wrong with the widget's state after a setting, or None."""
    if app.error is None:
        if not (isinstance(app.png, bytes) and app.png.startswith(PNG_MAGIC)):
            return "no error, but no PNG"
        if app.image.value != app.png or app.image.layout.display == "none":
            return "no error, but the image does not show the new PNG"
        if app.stale:
            return "still marked out of date after computing"
        return None
    text = message_text(app)
    if not text:
        return f"{type(app.error).__name__} ({app.error}) with an empty message"
    if "Traceback" in text or len(text) >= MAX_MESSAGE:
        return f"message too long ({len(text)} characters) or with a traceback: {text[:400]!r}"
    if not expected_error(app.error):
        return f"a bug, not a setting: {type(app.error).__name__}: {app.error}"
    return None


@contextlib.contextmanager
def layout_only() -> Iterator[None]:
    """While active, the App lays its figure out in full instead of encoding it (see the module docstring).

    The App still gets PNG bytes (a blank figure's, made once), so that everything after the drawing runs.
    """
    real = app_module.to_png
    blank = real(Figure(figsize=(1, 1)))

    def lay_out(figure: Figure, **_options: Any) -> bytes:
        with style():
            figure.draw_without_rendering()
        return blank

    app_module.to_png = lay_out
    try:
        yield
    finally:
        app_module.to_png = real


def fuzz_widget(name: str) -> None:
    if N_SETTINGS < 200 and os.environ.get("VANISHING_FUZZ_ALLOW_FEW") != "1":
        pytest.fail(f"VANISHING_FUZZ_SETTINGS={N_SETTINGS}: the fuzz test needs at least 200 settings per widget")
    rng = np.random.default_rng([FUZZ_SEED, *name.encode()])
    builder = WIDGETS[name]
    app = builder()
    assert app.error is None, f"{name}() with its defaults shows a message: {message_text(app)}"
    defaults = app.values
    failures: list[str] = []
    outcomes = {"figure": 0, "message": 0}
    started = time.perf_counter()
    slowest = (0.0, None)
    settings = fuzz_settings(app, N_SETTINGS, rng)
    rendered = 0
    warned: dict[str, int] = {}  # warning -> the first setting that raised it
    for number, values in enumerate(settings):
        tick = time.perf_counter()
        render = number < 2 or number % RENDER_EVERY == 0  # all controls at their minimum / maximum, and every 10th
        rendered += render
        with warnings.catch_warnings(record=True) as caught, \
                (contextlib.nullcontext() if render else layout_only()):
            warnings.simplefilter("always")
            try:
                apply(app, values)
            except Exception as error:  # noqa: BLE001 - an escaping exception is what the test looks for
                failures.append(f"setting {number} {values}: {type(error).__name__} escaped: {error}")
                if len(failures) >= 10:
                    break
                continue
        seconds = time.perf_counter() - tick
        slowest = max(slowest, (seconds, number))
        problem = outcome_problem(app)
        for caught_warning in caught:
            warned.setdefault(f"{caught_warning.category.__name__}: {caught_warning.message}", number)
        if problem:
            failures.append(f"setting {number} {values}: {problem}")
        outcomes["figure" if app.error is None else "message"] += 1
        if app.error is not None:
            # not stuck: the defaults give a figure again
            apply(app, defaults)
            if app.error is not None or outcome_problem(app):
                failures.append(f"after setting {number} {values}, the defaults give no figure: {message_text(app)}")
        if len(failures) >= 10:
            break
    elapsed = time.perf_counter() - started
    print(f"{name}: {len(settings)} settings ({rendered} encoded as PNG) in {elapsed:.1f} s "
          f"({outcomes['figure']} figures, {outcomes['message']} messages); "
          f"slowest: setting {slowest[1]} in {slowest[0]:.2f} s")
    app.close()
    for text, number in warned.items():
        # in a live kernel a warning goes to the log, not the figure; but it has each time pointed at a setting
        # the code did not handle (an overflowing log axis), so it fails the test like a traceback would
        failures.append(f"setting {number} {settings[number]}: {text}")
    assert not failures, f"{name}: {len(failures)} failing setting(s) (stopped at 10):\n" + "\n".join(failures)


def _fuzz_class(widget: str) -> type:
    """A test class for one widget: with --dist loadscope each class is a unit a worker takes on its own."""

    def test_every_setting_gives_a_figure_or_a_short_message(self) -> None:
        fuzz_widget(widget)

    return type(f"TestFuzz_{widget}", (), {
        "__doc__": f"Fuzz the {widget} widget.",
        "test_every_setting_gives_a_figure_or_a_short_message": test_every_setting_gives_a_figure_or_a_short_message,
    })


# Later notebooks' widgets train more: defined first, they are handed out first and do not finish last.
for _widget in reversed(WIDGETS):
    globals()[f"TestFuzz_{_widget}"] = _fuzz_class(_widget)
del _widget


def test_settings_include_the_extremes():
    """The generator itself: every slider's ends and every option come up in the first settings."""
    for name, builder in WIDGETS.items():
        app = builder()
        count = max(N_SETTINGS, 200)
        assert len(fuzz_settings(app, 0, np.random.default_rng(0), extremes_only=True)) <= count, name
        settings = fuzz_settings(app, count, np.random.default_rng(0))
        assert len(settings) == count
        for key, control in app.controls.items():
            seen = [s[key] for s in settings]
            values = control_values(control)
            if values is None:
                continue
            if _is_numeric_range(control):
                assert values[0] in seen and values[-1] in seen, (name, key)
                assert all(values[0] <= v <= values[-1] for v in seen), (name, key)
            else:
                assert set(values) <= set(seen), (name, key)
        app.close()


def test_outcome_check_catches_bad_states():
    """The checks of a widget's state can fail: a long message, a traceback, an unexpected error type."""
    app = WIDGETS[next(iter(WIDGETS))]()
    assert outcome_problem(app) is None
    app.error = ValueError("bad")
    app.message.value = "<div>⚠ " + "x" * 400 + "</div>"
    assert "too long" in outcome_problem(app)
    app.message.value = "<div>Traceback (most recent call last)</div>"
    assert "traceback" in outcome_problem(app)
    app.message.value = "<div>⚠ Unexpected error: IndexError: 3</div>"
    app.error = IndexError(3)
    assert "a bug" in outcome_problem(app)
    app.message.value = ""
    assert "empty message" in outcome_problem(app)
    app.close()


# ------------------------------------------------------------------------------------------------ notebooks

IGNORE_MARKER = "# NBVAL_IGNORE_OUTPUT"
IGNORE_TAG = "nondeterministic"
MODEL_ID = re.compile(r"\b[0-9a-f]{32}\b")
ADDRESS = re.compile(r"\bat 0x[0-9a-f]+\b")


def ignored(cell: dict) -> bool:
    first = "".join(cell.get("source", "")).lstrip().splitlines()[:1]
    return IGNORE_TAG in cell.get("metadata", {}).get("tags", []) or first == [IGNORE_MARKER]


def text_outputs(nb: dict) -> list[tuple[int, str, str]]:
    """(cell index, kind, text) for every stream and text/plain output of the code cells not ignored."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or ignored(cell):
            continue
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                text = "".join(output["text"])
                if found and found[-1][:2] == (index, output["name"]):
                    # a kernel splits one stream into messages as its buffer flushes: join them back
                    found[-1] = (index, output["name"], found[-1][2] + text)
                else:
                    found.append((index, output["name"], text))
            elif "text/plain" in output.get("data", {}):
                text = "".join(output["data"]["text/plain"])
                found.append((index, "text/plain", ADDRESS.sub("at 0x…", MODEL_ID.sub("<id>", text))))
            elif output["output_type"] == "error":
                found.append((index, "error", f"{output['ename']}: {output['evalue']}"))
    return found


def warnings_in(nb: dict) -> list[str]:
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if output["output_type"] == "stream":
                text = "".join(output["text"])
                if WARNING_TEXT.search(text) or (output["name"] == "stderr" and "Warning" in text):
                    found.append(f"cell {index} ({output['name']}): {text.strip()[:300]}")
    return found


def execute(path: Path, env: dict[str, str]) -> dict:
    """Run the notebook (in memory) in a fresh kernel, in the notebook's own folder, as a learner's kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    return json.loads(nbformat.writes(nb))


@pytest.fixture(scope="module")
def executions(subprocess_env: dict[str, str]):
    """Fresh executions of each solution notebook (cached: the determinism and warning tests share them)."""
    # the kernels import this test run's vanishing, without the tests' MPLBACKEND (inline figures, as a learner's)
    env = {key: value for key, value in subprocess_env.items() if key != "MPLBACKEND"}
    cache: dict[tuple[str, int], dict] = {}

    def run(path: Path, number: int) -> dict:
        key = (path.name, number)
        if key not in cache:
            cache[key] = execute(path, env)
        return cache[key]

    return run


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_solution_notebook_gives_the_same_text_twice(path: Path, executions) -> None:
    first, second = executions(path, 1), executions(path, 2)
    a, b = text_outputs(first), text_outputs(second)
    differences = [f"cell {x[0]} {x[1]}:\n--- first run\n{x[2][:600]}\n--- second run\n{y[2][:600]}"
                   for x, y in zip(a, b, strict=False) if x != y]
    assert len(a) == len(b) and not differences, (
        f"{path.name}: the text outputs of two runs differ ({len(a)} vs {len(b)} outputs). Seed the randomness, "
        f"or tag the cell '{IGNORE_TAG}' if it shows timing:\n" + "\n".join(differences[:5]))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_stored_solution_outputs_have_no_warnings(path: Path) -> None:
    found = warnings_in(json.loads(path.read_text(encoding="utf-8")))
    assert not found, f"{path.name}: warnings in the stored outputs:\n" + "\n".join(found)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_fresh_execution_has_no_warnings(path: Path, executions) -> None:
    found = warnings_in(executions(path, 1))
    assert not found, f"{path.name}: warnings in a fresh execution:\n" + "\n".join(found)


def test_warning_and_difference_checks_can_fail():
    nb = {"cells": [
        {"cell_type": "code", "source": "x", "metadata": {}, "outputs": [
            {"output_type": "stream", "name": "stderr",
             "text": "/x.py:3: RuntimeWarning: overflow encountered in exp\n"},
            {"output_type": "execute_result", "data": {"text/plain": "<Widget 0123456789abcdef0123456789abcdef>"}}]},
        {"cell_type": "code", "source": "# NBVAL_IGNORE_OUTPUT\nt", "metadata": {}, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "took 0.31 s\n"}]},
    ]}
    assert len(warnings_in(nb)) == 1
    assert text_outputs(nb) == [(0, "stderr", "/x.py:3: RuntimeWarning: overflow encountered in exp\n"),
                                (0, "text/plain", "<Widget <id>>")]
