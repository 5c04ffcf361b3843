"""The solutions/ -> notebooks/ pipeline (vanishing.authoring)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vanishing import authoring
from vanishing.authoring import AuthoringError, learner_notebook, strip_solutions

CELL_IDS = itertools.count()


def code_cell(source: str, outputs: list | None = None, count: int | None = 3, **metadata) -> dict:
    return {"cell_type": "code", "execution_count": count, "id": f"cell-{next(CELL_IDS)}",
            "metadata": metadata, "outputs": outputs or [], "source": source.splitlines(keepends=True)}


def markdown_cell(source: str) -> dict:
    return {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": source.splitlines(keepends=True)}


def notebook(*cells: dict, **metadata) -> dict:
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, **metadata}
    return {"cells": list(cells), "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


STREAM = {"name": "stdout", "output_type": "stream", "text": ["42\n"]}


# --- strip_solutions: one cell's source ---------------------------------------------------------------------------

def test_region_replaced_by_its_placeholder():
    source = ("x = 1\n"
              "### BEGIN SOLUTION\n"
              "#| answer = None  # TODO: twice x\n"
              "answer = 2 * x\n"
              "### END SOLUTION\n"
              "print(answer)")
    assert strip_solutions(source) == "x = 1\nanswer = None  # TODO: twice x\nprint(answer)"


def test_source_without_region_is_unchanged():
    source = "#| label: not-a-placeholder\nx = [1,\n     2]\n\n"
    assert strip_solutions(source) == source


def test_placeholder_keeps_region_indentation_and_relative_indentation():
    source = ("def f(x):\n"
              "    ### BEGIN SOLUTION\n"
              "    #| for v in x:\n"
              "    #|     pass  # TODO\n"
              "    #| return None\n"
              "    return [2 * v for v in x]\n"
              "    ### END SOLUTION\n")
    assert strip_solutions(source) == "def f(x):\n    for v in x:\n        pass  # TODO\n    return None\n"


def test_blank_placeholder_gives_an_empty_line_and_several_regions_in_one_cell():
    source = ("### BEGIN SOLUTION\n#| a = None\n#|\na = 1\n### END SOLUTION\n"
              "b = 2\n"
              "### BEGIN SOLUTION\n#| c = None\nc = 3\n### END SOLUTION")
    assert strip_solutions(source) == "a = None\n\nb = 2\nc = None"


def test_solution_lines_never_reach_the_learner():
    source = "### BEGIN SOLUTION\n#| y = ...\ny = secret_formula(x)\n### END SOLUTION\n"
    assert "secret_formula" not in strip_solutions(source)


@pytest.mark.parametrize(("source", "line", "words"), [
    ("a = 1\n### BEGIN SOLUTION\nanswer = 2\n### END SOLUTION\n", 2, "no placeholder"),
    ("### BEGIN SOLUTION\n#|\nanswer = 2\n### END SOLUTION\n", 1, "no placeholder"),
    ("a = 1\n\n### BEGIN SOLUTION\n#| answer = None\nanswer = 2\n", 3, "never closed"),
    ("### BEGIN SOLUTION\n#| a = None\n### BEGIN SOLUTION\n#| b = None\n### END SOLUTION\n### END SOLUTION", 3,
     "nested"),
    ("a = 1\n### END SOLUTION\n", 2, "without"),
    ("if a:\n    ### BEGIN SOLUTION\n    #| b = None\n    b = 1\n### END SOLUTION\n", 5, "indented"),
    ("### BEGIN SOLUTION\n    #| b = None\nb = 1\n### END SOLUTION\n", 2, "indentation"),
    ("### BEGIN SOLUTION\n#|b = None\nb = 1\n### END SOLUTION\n", 2, "space"),
    ("## BEGIN SOLUTION\n#| b = None\nb = 1\n### END SOLUTION\n", 1, "not exactly"),
    ("### BEGIN SOLUTION\n#| b = None\nb = 1\n### END SOLUTION (hint)\n", 4, "not exactly"),
])
def test_bad_regions_are_errors_naming_cell_and_line(source, line, words):
    with pytest.raises(AuthoringError, match="solutions/05_elu.ipynb, cell 4") as info:
        strip_solutions(source, where="solutions/05_elu.ipynb, cell 4")
    assert f"line {line}:" in str(info.value)
    assert words in str(info.value)


# --- learner_notebook: a whole notebook -----------------------------------------------------------------------------

def test_learner_notebook_clears_outputs_timing_and_widget_state():
    timing = {"iopub.execute_input": "2026-01-01T00:00:00Z", "shell.execute_reply": "2026-01-01T00:00:01Z"}
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}}
    source = notebook(
        markdown_cell("# Title\n\n### BEGIN SOLUTION\nstays in markdown\n"),
        code_cell("print(42)", outputs=[STREAM], tags=["keep"], execution=timing, ExecuteTime={"end_time": "x"}),
        code_cell("### BEGIN SOLUTION\n#| answer = None\nanswer = 42\n### END SOLUTION\n", count=7),
        widgets=widgets,
    )
    original = json.dumps(source)
    learner = learner_notebook(source, "solutions/00_start_here.ipynb")

    assert json.dumps(source) == original, "the source notebook must not be changed"
    assert learner["cells"][0] == source["cells"][0]
    assert "widgets" not in learner["metadata"]
    assert learner["metadata"]["kernelspec"] == source["metadata"]["kernelspec"]
    for cell in learner["cells"][1:]:
        assert cell["outputs"] == []
        assert cell["execution_count"] is None
    assert learner["cells"][1]["metadata"] == {"tags": ["keep"]}
    assert learner["cells"][1]["id"] == source["cells"][1]["id"]
    assert learner["cells"][2]["source"] == ["answer = None\n"]


def test_learner_notebook_lists_every_bad_cell():
    source = notebook(code_cell("ok = 1"),
                      code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
                      markdown_cell("text"),
                      code_cell("y = 1\n### BEGIN SOLUTION\n#| y = 2\n"))
    with pytest.raises(AuthoringError) as info:
        learner_notebook(source, "solutions/07_optimizers.ipynb")
    message = str(info.value)
    assert "solutions/07_optimizers.ipynb, cell 1, line 1:" in message
    assert "solutions/07_optimizers.ipynb, cell 3, line 2:" in message


def test_not_a_notebook_is_an_error():
    with pytest.raises(AuthoringError, match="nbformat 4"):
        learner_notebook({"nbformat": 3, "worksheets": []}, "old.ipynb")


def test_dumps_writes_like_jupyter():
    text = authoring.dumps(notebook(markdown_cell("Ünïcode σ′(z)")))
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "σ′(z)" in text
    assert text.startswith('{\n "cells": [\n  {\n')
    nbformat = pytest.importorskip("nbformat")
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"


# --- build and check on a throwaway repository -------------------------------------------------------------------

@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "solutions").mkdir()
    first = notebook(markdown_cell("# Start"),
                     code_cell("### BEGIN SOLUTION\n#| n = None\nn = 3\n### END SOLUTION\nprint(n)", [STREAM]))
    (tmp_path / "solutions" / "00_start_here.ipynb").write_text(authoring.dumps(first), encoding="utf-8")
    second = notebook(code_cell("import math\nmath.pi", [STREAM]))
    (tmp_path / "solutions" / "01_products.ipynb").write_text(authoring.dumps(second), encoding="utf-8")
    return tmp_path


def test_build_then_check_passes(course):
    assert authoring.check(course) == ["missing: notebooks/00_start_here.ipynb", "missing: notebooks/01_products.ipynb"]
    written = authoring.build(course)
    assert written == ["wrote notebooks/00_start_here.ipynb", "wrote notebooks/01_products.ipynb"]
    assert authoring.check(course) == []
    assert authoring.build(course) == [], "a second build changes nothing"
    learner = json.loads((course / "notebooks" / "00_start_here.ipynb").read_text(encoding="utf-8"))
    assert learner["cells"][1]["source"] == ["n = None\n", "print(n)"]


def test_check_reports_missing_stale_and_extra(course):
    authoring.build(course)
    (course / "notebooks" / "01_products.ipynb").unlink()
    stale = course / "notebooks" / "00_start_here.ipynb"
    stale.write_text(stale.read_text(encoding="utf-8").replace("n = None", "n = 3"), encoding="utf-8")
    (course / "notebooks" / "99_old.ipynb").write_text("{}", encoding="utf-8")

    problems = authoring.check(course)
    assert len(problems) == 3
    assert problems[0].startswith("stale: notebooks/00_start_here.ipynb")
    assert '-    "n = 3\\n",' in problems[0] and '+    "n = None\\n",' in problems[0]
    assert problems[1] == "missing: notebooks/01_products.ipynb"
    assert problems[2].startswith("extra: notebooks/99_old.ipynb")

    assert "removed notebooks/99_old.ipynb (no solutions/99_old.ipynb)" in authoring.build(course)
    assert authoring.check(course) == []


def test_build_writes_nothing_when_a_source_is_broken(course):
    broken = notebook(code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    (course / "solutions" / "02_broken.ipynb").write_text(authoring.dumps(broken), encoding="utf-8")
    with pytest.raises(AuthoringError, match=r"solutions/02_broken.ipynb, cell 0, line 1: .*no placeholder"):
        authoring.build(course)
    assert not (course / "notebooks").exists()


def test_empty_solutions_folder_is_an_error(tmp_path):
    (tmp_path / "solutions").mkdir()
    with pytest.raises(AuthoringError, match="no notebooks"):
        authoring.check(tmp_path)


@pytest.fixture
def run_cli(subprocess_env):
    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vanishing.authoring", *args], cwd=cwd, env=subprocess_env,
                              capture_output=True, text=True, timeout=300)
    return run


def test_cli_build_and_check(course, run_cli):
    first = run_cli("check", cwd=course)
    assert first.returncode == 1
    assert "missing: notebooks/00_start_here.ipynb" in first.stderr
    assert run_cli("build", cwd=course).returncode == 0
    second = run_cli("check", cwd=course)
    assert second.returncode == 0, second.stderr
    assert "up to date (2 notebooks from solutions/)" in second.stdout


def test_cli_reports_errors_without_traceback(course, run_cli):
    broken = notebook(code_cell("x = 0\n### BEGIN SOLUTION\n#| x = None\nx = 1\n"))
    (course / "solutions" / "03_open.ipynb").write_text(authoring.dumps(broken), encoding="utf-8")
    result = run_cli("build", cwd=course)
    assert result.returncode == 1
    assert "error: solutions/03_open.ipynb, cell 0, line 2: the solution region opened here is never closed" \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_execute_stores_outputs_then_builds(course, run_cli):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    solution = course / "solutions" / "00_start_here.ipynb"
    nb = notebook(code_cell("import os, matplotlib\nprint(os.path.basename(os.getcwd()), matplotlib.get_backend())",
                            count=None),
                  code_cell("# NBVAL_RAISES_EXCEPTION\nraise ValueError('shown on purpose')", count=None),
                  code_cell("### BEGIN SOLUTION\n#| n = None\nn = 6 * 7\n### END SOLUTION\nn", count=None),
                  code_cell("import ipywidgets\nipywidgets.IntSlider()", count=None))
    solution.write_text(authoring.dumps(nb), encoding="utf-8")

    result = run_cli("execute", "00_start_here", cwd=course)
    assert result.returncode == 0, result.stderr

    done = json.loads(solution.read_text(encoding="utf-8"))
    cwd_cell, raising_cell, answer_cell, widget_cell = done["cells"]
    # The kernel ran in the notebook's folder, with the inline backend a JupyterLab user gets.
    assert cwd_cell["outputs"][0]["text"] == ["solutions module://matplotlib_inline.backend_inline\n"]
    assert raising_cell["outputs"][0]["ename"] == "ValueError"
    assert raising_cell["metadata"] == {}, "the temporary raises-exception tag must not be stored"
    assert answer_cell["outputs"][0]["data"]["text/plain"] == ["42"]
    assert [cell["execution_count"] for cell in done["cells"]] == [1, 2, 3, 4]
    # no widget state: nbconvert would otherwise emit a script that needs the internet to show anything
    assert "application/vnd.jupyter.widget-view+json" in widget_cell["outputs"][0]["data"]
    assert "widgets" not in done["metadata"]
    assert all("execution" not in cell["metadata"] for cell in done["cells"])
    assert authoring.check(course) == []


def test_execute_leaves_a_failing_notebook_alone(course, run_cli):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    solution = course / "solutions" / "01_products.ipynb"
    nb = notebook(code_cell("1 / 0", count=None))
    solution.write_text(authoring.dumps(nb), encoding="utf-8")
    before = solution.read_text(encoding="utf-8")
    result = run_cli("execute", "01_products.ipynb", cwd=course)
    assert result.returncode == 1
    assert "did not run through" in result.stderr and "ZeroDivisionError" in result.stderr
    assert solution.read_text(encoding="utf-8") == before


# --- the repository itself --------------------------------------------------------------------------------------------

def test_repository_notebooks_are_current(repo_root):
    """notebooks/ must be what `python -m vanishing.authoring build` writes from solutions/."""
    problems = authoring.check(repo_root)
    assert not problems, "run `python -m vanishing.authoring build`:\n" + "\n".join(problems)


def test_repository_check_command_passes(repo_root, run_cli):
    result = run_cli("check", cwd=repo_root)
    assert result.returncode == 0, result.stderr
