"""The graded release: ``python -m vanishing.authoring nbgrader OUTDIR``, then nbgrader's own commands.

The round trip works in a temporary folder: the generate command, ``nbgrader generate_assignment`` for every
notebook, then one ``nbgrader autograde`` of these submissions of every notebook:

* ``solution``: the instructor's source notebook, submitted as INSTRUCTORS.md tells a grader to try it: full
  marks, and no cell raises;
* ``unanswered``: the released notebook as a student receives it: 0 points, and every cell runs (only the
  grade cells' assertions fail);
* ``wrong-<grade_id>``, one for every exercise: the released notebook with every answer cell solved except
  the one that exercise reads, which holds its typical wrong answer from tests/grading_wrong_answers.py.
  That exercise scores 0, its grade cell failing on the assertion (its check ran and did not pass), and
  every other exercise gets full marks.

The points per notebook are printed and shown in pytest's warnings summary. The round trip autogrades 48
notebooks (9 solutions, 9 releases, 30 wrong answers) and needs 4.5-5.5 minutes of CPU time. On a 2-core
machine shared with other work that took 7.5 minutes of wall time at a load near 4, 15 minutes under
pytest -n 2 and 17.5 minutes alone at a load near 8.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from grading_wrong_answers import WRONG_ANSWERS
from vanishing import authoring
from vanishing._nbgrader import CONFIG_NAME, GradedNotebook, graded_notebook, graded_notebooks, write_course


class PointsTable(UserWarning):
    """The round trip's points per notebook: a warning, so that pytest's summary shows it when the test passes."""


def code_cell(source: str, cell_id: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {}, "outputs": [],
            "source": source}


def notebook(*sources: str) -> dict[str, Any]:
    cells = [code_cell(source, f"c{i}") for i, source in enumerate(sources)]
    cells.insert(0, {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# A notebook"})
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}


def sources(graded: GradedNotebook) -> list[tuple[str | None, str]]:
    """(grade_id or None, source) of every code cell."""
    return [(cell["metadata"].get("nbgrader", {}).get("grade_id"), "".join(cell["source"]))
            for cell in graded.notebook["cells"] if cell["cell_type"] == "code"]


FUNCTION_EXERCISE = ("def double(x):\n"
                     "    ### BEGIN SOLUTION\n"
                     "    #| return None  # TODO: twice x\n"
                     "    return 2 * x\n"
                     "    ### END SOLUTION")
VALUE_EXERCISE = ("### BEGIN SOLUTION\n"
                  "#| answer = None  # TODO: a number\n"
                  "answer = 42\n"
                  "### END SOLUTION")


# --- the generator on small notebooks ------------------------------------------------------------------------------

def test_answer_and_grade_cells_get_nbgrader_metadata():
    graded = graded_notebook(notebook(FUNCTION_EXERCISE, "vn.checks.check_double(double)"), "07_demo")
    answer, grade = (cell for cell in graded.notebook["cells"] if cell["cell_type"] == "code")
    assert answer["metadata"]["nbgrader"] == {"schema_version": 3, "grade": False, "solution": True, "locked": False,
                                              "task": False, "grade_id": "07-double"}
    assert grade["metadata"]["nbgrader"] == {"schema_version": 3, "grade": True, "solution": False, "locked": True,
                                             "task": False, "grade_id": "07-check_double", "points": 1}
    assert "".join(grade["source"]) == ("vn.checks.check_double(double)\n"
                                        "### BEGIN HIDDEN TESTS\n"
                                        "_verdict = vn.checks.check_double(double)\n"
                                        'assert _verdict.passed is True, f"check_double: {_verdict}"\n'
                                        "### END HIDDEN TESTS")
    assert [(e.grade_id, e.check, e.answers) for e in graded.exercises] == [("07-check_double", "check_double",
                                                                             ("07-double",))]
    assert graded.notebook["cells"][0] == notebook()["cells"][0]  # markdown unchanged


def test_placeholder_goes_before_the_solution_or_after_one_that_returns():
    graded = graded_notebook(notebook(VALUE_EXERCISE, FUNCTION_EXERCISE), "03_demo")
    (_, value), (_, function) = sources(graded)
    assert value == "answer = None  # TODO: a number\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"
    assert function == ("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
                        "    return None  # TODO: twice x")
    namespace: dict[str, Any] = {}
    exec(value + "\n" + function, namespace)  # the instructor's source still computes the solution
    assert namespace["answer"] == 42 and namespace["double"](4) == 8


def test_placeholder_that_returns_needs_a_solution_that_returns():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    #| return None  # TODO\n    y = 2 * x\n"
              "    ### END SOLUTION\n    return y")
    with pytest.raises(authoring.AuthoringError, match=r"05_demo, cell 1, line 2: the placeholder returns or raises"):
        graded_notebook(notebook(source), "05_demo")


def test_check_after_a_region_is_cut_into_its_own_grade_cell():
    graded = graded_notebook(notebook(VALUE_EXERCISE + "\n\nvn.checks.check_answer(answer)\n"
                                      "vn.checks.check_again(answer)"), "02_demo")
    assert [grade_id for grade_id, _ in sources(graded)] == ["02-answer", "02-check_answer", "02-check_again"]
    ids = [cell["id"] for cell in graded.notebook["cells"]]
    assert ids == ["intro", "c0", "c0-2", "c0-3"]
    assert sources(graded)[1][1].startswith("vn.checks.check_answer(answer)\n### BEGIN HIDDEN TESTS")


def test_check_before_a_region_is_refused():
    source = "vn.checks.check_answer(answer)\n" + VALUE_EXERCISE
    with pytest.raises(authoring.AuthoringError, match="cell 2: a check call stands before"):
        graded_notebook(notebook(VALUE_EXERCISE, source), "02_demo")


def test_checks_without_an_answer_are_not_graded_and_ids_name_string_arguments():
    graded = graded_notebook(notebook("vn.checks.check_environment()", VALUE_EXERCISE,
                                      'vn.checks.check_pick("A", answer)', 'vn.checks.check_pick("B", answer)',
                                      "print(vn.checks.check_pick('A', 3))"), "08_demo")
    assert [e.grade_id for e in graded.exercises] == ["08-check_pick-A", "08-check_pick-B"]
    assert sources(graded)[0] == (None, "vn.checks.check_environment()")
    assert sources(graded)[-1] == (None, "print(vn.checks.check_pick('A', 3))")


def test_same_check_on_other_answers_is_told_apart_by_the_answer_names():
    second = VALUE_EXERCISE.replace("answer", "other")
    graded = graded_notebook(notebook(VALUE_EXERCISE, second, "vn.checks.check_value(answer)",
                                      "vn.checks.check_value(other)"), "04_demo")
    assert [e.grade_id for e in graded.exercises] == ["04-check_value-answer", "04-check_value-other"]


def test_grade_ids_do_not_depend_on_cell_positions(repo_root):
    path = repo_root / "solutions" / "03_dying_relu.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    before = graded_notebook(nb, path.stem)
    nb["cells"][1:1] = [code_cell("x = 1", "new-1"), {"cell_type": "markdown", "id": "new-2", "metadata": {},
                                                       "source": "More text."}]
    after = graded_notebook(nb, path.stem)
    assert [e.grade_id for e in after.exercises] == [e.grade_id for e in before.exercises]
    assert [a.grade_id for a in after.answers] == [a.grade_id for a in before.answers]


# --- the course folder ---------------------------------------------------------------------------------------------

CHECK_CALL = re.compile(r"vn\.checks\.(check_\w+)\((?!\))")  # a self-check that is passed something


def check_calls_with_arguments(nb: dict[str, Any]) -> list[str]:
    """The self-checks a notebook calls with an argument, in order: each must be a graded exercise."""
    return [name for cell in nb["cells"] if cell["cell_type"] == "code"
            for name in CHECK_CALL.findall("".join(cell["source"]))]


def test_course_folder_has_every_notebook_with_exercises(repo_root, tmp_path):
    lines = write_course(repo_root, tmp_path / "course", course_id="demo-course")
    config = (tmp_path / "course" / CONFIG_NAME).read_text(encoding="utf-8")
    assert "c.CourseDirectory.course_id = 'demo-course'" in config
    assert 'c.ClearSolutions.code_stub = {"python": ""}' in config
    solutions = sorted((repo_root / "solutions").glob("*.ipynb"))
    graded = {nb.name: nb for nb in graded_notebooks(repo_root)}
    for path in solutions:
        calls = check_calls_with_arguments(json.loads(path.read_text(encoding="utf-8")))
        if not calls:
            assert path.stem not in graded, f"{path.stem} has no exercise, so no assignment"
            continue
        exercises = [exercise.check for exercise in graded[path.stem].exercises] if path.stem in graded else []
        assert exercises == calls, (f"{path.stem}: these self-checks are called with an argument {calls}, these are "
                                    f"graded {exercises}: a check whose arguments read no name that a solution "
                                    "region's placeholder defines is not graded")
        source = tmp_path / "course" / "source" / path.stem / path.name
        assert json.loads(source.read_text(encoding="utf-8")) == graded[path.stem].notebook
    assert len(lines) == len(graded) + 1
    config_path = tmp_path / "course" / CONFIG_NAME
    config_path.write_text(config + "c.Exchange.root = '/srv/exchange'\n", encoding="utf-8")
    assert "kept" in write_course(repo_root, tmp_path / "course")[0]  # the instructor's own settings stay
    assert config_path.read_text(encoding="utf-8").endswith("'/srv/exchange'\n")


def test_every_exercise_has_a_wrong_answer(repo_root):
    problems = wrong_answer_problems(graded_notebooks(repo_root))
    assert not problems, "\n".join(problems)


def wrong_answer_problems(plan: list[GradedNotebook]) -> list[str]:
    exercises = {exercise.grade_id: exercise for nb in plan for exercise in nb.exercises}
    problems = [f"exercise {grade_id} ({exercise.call}) has no entry in tests/grading_wrong_answers.py: add a typical "
                f"wrong answer for its answer cell {', '.join(exercise.answers)}"
                for grade_id, exercise in exercises.items() if grade_id not in WRONG_ANSWERS]
    problems += [f"tests/grading_wrong_answers.py has an entry {grade_id!r}, but no exercise has that grade_id any "
                 "more: rename or remove it" for grade_id in WRONG_ANSWERS if grade_id not in exercises]
    for grade_id, entry in WRONG_ANSWERS.items():
        exercise = exercises.get(grade_id)
        if exercise and isinstance(entry, str) and len(exercise.answers) != 1:
            problems.append(f"{grade_id} reads the answer cells {exercise.answers}: give a dict of their codes")
        if exercise and isinstance(entry, dict) and set(entry) - set(exercise.answers):
            problems.append(f"{grade_id}: {sorted(set(entry) - set(exercise.answers))} are not answer cells it reads")
    return problems


# --- the round trip through nbgrader -------------------------------------------------------------------------------

def with_scripts(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with this Python's scripts folder first on PATH: nbgrader's gradebook runs the ``alembic`` command."""
    return {**env, "PATH": os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))}


def run_nbgrader(course: Path, env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=with_scripts(env),
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, (f"nbgrader {' '.join(args)} failed with status {result.returncode}:\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-8000:]}")


@pytest.fixture(scope="module")
def course(repo_root, tmp_path_factory, subprocess_env) -> Path:
    """The generated course folder, after ``nbgrader generate_assignment`` of every notebook."""
    if os.environ.get("CI") != "true":
        pytest.importorskip("nbgrader", reason="nbgrader comes with the test extra: pip install -e '.[test]'")
    folder = tmp_path_factory.mktemp("nbgrader") / "course"
    subprocess.run([sys.executable, "-m", "vanishing.authoring", "--root", str(repo_root), "nbgrader", str(folder)],
                   check=True, env=subprocess_env, capture_output=True, text=True)
    run_nbgrader(folder, subprocess_env, "generate_assignment", "*")
    return folder


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_release_shows_the_learners_notebook(course, repo_root):
    """What nbgrader releases is the notebook of notebooks/: the same markdown and the same code lines."""
    for source in sorted((course / "source").glob("*/*.ipynb")):
        release = read(course / "release" / source.parent.name / source.name)
        learner = authoring.learner_notebook(read(repo_root / "solutions" / source.name))
        for kind in ("markdown", "code"):
            got = [line for cell in release["cells"] if cell["cell_type"] == kind
                   for line in "".join(cell["source"]).split("\n") if line.strip()]
            want = [line for cell in learner["cells"] if cell["cell_type"] == kind
                    for line in "".join(cell["source"]).split("\n") if line.strip()]
            assert got == want, f"{source.name}: the released {kind} differs from notebooks/{source.name}"
        text = json.dumps(release)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "YOUR CODE HERE" not in text


def filled(release: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """The released notebook with these answer cells' code (by grade_id) in place of the placeholders."""
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["metadata"].get("nbgrader", {}).get("solution") and grade_id in answers:
            cell["source"] = answers[grade_id].strip("\n")
    return nb


def submit(course: Path, plan: list[GradedNotebook]) -> dict[tuple[str, str], set[str]]:
    """Write every submission; map (notebook, student) to the exercises answered wrong (None: nothing answered)."""
    wrong: dict[tuple[str, str], Any] = {}

    def put(student: str, name: str, text: str) -> None:
        path = course / "submitted" / student / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")

    for nb in plan:
        release = read(course / "release" / nb.name / f"{nb.name}.ipynb")
        put("solution", nb.name, (course / "source" / nb.name / f"{nb.name}.ipynb").read_text(encoding="utf-8"))
        put("unanswered", nb.name, authoring.dumps(release))
        wrong[nb.name, "solution"], wrong[nb.name, "unanswered"] = set(), None
        for exercise in nb.exercises:
            entry = WRONG_ANSWERS[exercise.grade_id]
            answers = {answer.grade_id: answer.source for answer in nb.answers}
            answers.update(entry if isinstance(entry, dict) else {exercise.answers[0]: entry})
            put(f"wrong-{exercise.grade_id}", nb.name, authoring.dumps(filled(release, answers)))
            wrong[nb.name, f"wrong-{exercise.grade_id}"] = {exercise.grade_id}
    return wrong


def autograded(course: Path, plan: list[GradedNotebook], wrong: dict) -> dict[tuple[str, str], dict[str, Any]]:
    """Per submission: each grade cell's (score, max_score), and the errors every cell raised."""
    from nbgrader.api import Gradebook

    results: dict[tuple[str, str], dict[str, Any]] = {}
    with mock.patch.dict(os.environ, with_scripts(os.environ)), \
            Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for name, student in wrong:
            submission = gradebook.find_submission_notebook(name, name, student)
            results[name, student] = {"scores": {g.name: (g.score, g.max_score) for g in submission.grades}}
    for (name, student), result in results.items():
        nb = read(course / "autograded" / student / name / f"{name}.ipynb")
        result["errors"] = {cell["metadata"].get("nbgrader", {}).get("grade_id") or f"cell {index}":
                            [out["ename"] for out in cell["outputs"] if out["output_type"] == "error"]
                            for index, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"}
    return results


def judge(plan: list[GradedNotebook], wrong: dict, results: dict) -> list[str]:
    """Every way the autograded scores and errors differ from what each submission should get."""
    problems = []
    for (name, student), result in results.items():
        exercises = {e.grade_id for nb in plan if nb.name == name for e in nb.exercises}
        scores, errors, zero = result["scores"], result["errors"], wrong[name, student]
        where = f"{name}, submission {student!r}"
        if set(scores) != exercises:
            problems.append(f"{where}: nbgrader graded {sorted(scores)}, the exercises are {sorted(exercises)}")
        for grade_id, (score, top) in scores.items():
            want_zero = zero is None or grade_id in zero
            if score != (0 if want_zero else top):
                problems.append(f"{where}: {grade_id} got {score:g} of {top:g}, expected {0 if want_zero else top:g}")
            if want_zero and errors.get(grade_id) != ["AssertionError"]:
                problems.append(f"{where}: {grade_id} should fail on its assertion (its check ran and did not pass); "
                                f"its cell raised {errors.get(grade_id)}")
        if student in ("solution", "unanswered"):
            raised = {cell: names for cell, names in errors.items() if names and cell not in exercises}
            if raised or (student == "solution" and any(errors.values())):
                problems.append(f"{where}: cells raised errors: {raised or errors}")
    return problems


def points_table(plan: list[GradedNotebook], results: dict, seconds: float) -> str:
    def total(name: str, student: str) -> str:
        scores = results[name, student]["scores"].values()
        return f"{sum(s for s, _ in scores):g} / {sum(t for _, t in scores):g}"

    lines = [f"nbgrader round trip: points per notebook as `nbgrader autograde` gave them ({seconds:.0f} s)",
             f"{'notebook':<28} {'exercises':>9} {'solution':>9} {'unanswered':>11}  one wrong answer: the points of "
             "each such submission, in exercise order"]
    for nb in plan:
        shown = "  ".join(total(nb.name, f"wrong-{exercise.grade_id}") for exercise in nb.exercises)
        lines.append(f"{nb.name:<28} {len(nb.exercises):>9} {total(nb.name, 'solution'):>9} "
                     f"{total(nb.name, 'unanswered'):>11}  {shown}")
    points = sum(nb.points for nb in plan)
    solved = sum(s for (_, student), r in results.items() if student == "solution" for s, _ in r["scores"].values())
    lines.append(f"{'all':<28} {sum(len(nb.exercises) for nb in plan):>9} {f'{solved:g} / {points}':>9}")
    return "\n".join(lines)


def test_round_trip_solution_full_marks_release_zero_each_wrong_answer_zero(course, repo_root, subprocess_env):
    plan = graded_notebooks(repo_root)
    problems = wrong_answer_problems(plan)
    assert not problems, "\n".join(problems)
    started = time.monotonic()
    wrong = submit(course, plan)
    run_nbgrader(course, subprocess_env, "autograde", "*")
    results = autograded(course, plan, wrong)
    table = points_table(plan, results, time.monotonic() - started)
    print(table)
    warnings.warn(PointsTable(table), stacklevel=1)
    problems = judge(plan, wrong, results)
    assert not problems, "\n".join(problems)
