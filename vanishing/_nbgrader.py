"""The graded release of the course: an nbgrader course folder written from ``solutions/``.

``python -m vanishing.authoring nbgrader OUTDIR`` writes ``OUTDIR/nbgrader_config.py`` and, for every
solution notebook with at least one exercise, ``OUTDIR/source/NN_name/NN_name.ipynb``: the notebook as
nbgrader's ``generate_assignment`` expects it. Everything is derived from what the cells contain:

* A code cell with a solution region becomes an *autograded answer* cell. Its ``grade_id`` is the
  notebook's number and the names that the learner's version of the region defines, e.g.
  ``03-dead_fraction`` (the function a placeholder sits in, or the variables it assigns).
* A call ``vn.checks.check_<name>(...)`` whose arguments read a name defined by an answer cell is an
  *exercise*. Its cell becomes a locked *autograder tests* cell worth one point, ``grade_id``
  ``NN-check_<name>`` (followed by the call's string arguments, e.g. ``08-check_diagnosis-A``, and by the
  answer names if that is still not unique). Below the visible call, hidden tests call the same check
  again and assert that its verdict passed (``CheckResult.passed is True``): the same reference values
  and the same recognised wrong answers as the self-check, whatever its message says. A cell holding
  several exercise calls and nothing else is cut into one grade cell per call; a check call that follows
  a solution region in the same cell is cut off into a grade cell of its own.
* Markdown and every other cell are copied unchanged; outputs are cleared.

nbgrader replaces a solution region by one stub line (``ClearSolutions.code_stub``, which the written
configuration sets to an empty line) at the region's indentation. So that the learner still gets the
course's own placeholder, the source notebook carries the ``#| `` placeholder lines as code outside the
region: before it, where the solution then overrides them (``answer = None`` followed by the solution's
``answer = ...``), or after it when the placeholder returns or raises (a ``return None`` after a solution
that has already returned). The learner's cell is then the one ``notebooks/`` shows, plus a blank line
where the solution was cut out; the instructor's source notebook still runs as the solution.

This module needs the standard library only; nbgrader is needed to use what it writes.
"""

from __future__ import annotations

import ast
import copy
import itertools
import json
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .authoring import (
    BEGIN,
    END,
    SOURCE_DIR,
    TIMING_KEYS,
    AuthoringError,
    Region,
    _lines,
    _sources,
    _text,
    dumps,
    regions,
)

COURSE_ID = "vanishing-gradients"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
POINTS = 1  # per exercise
SCHEMA_VERSION = 3  # of nbgrader's cell metadata
CONFIG_NAME = "nbgrader_config.py"
CONFIG = '''\
"""nbgrader's configuration for the Vanishing Gradients course.

Written by `python -m vanishing.authoring nbgrader`; run nbgrader's commands in this folder.
"""

c = get_config()  # noqa: F821 - nbgrader provides get_config() when it loads this file

c.CourseDirectory.course_id = {course_id!r}

# A solution region becomes this one (empty) line in the learner's notebook. The course's own placeholder
# lines stand outside the region in source/, so the learner gets the placeholder the course shows.
c.ClearSolutions.code_stub = {{"python": ""}}

# Seconds one cell may run while autograding (nbgrader's default is 30). Some cells and checks train small
# networks; on a loaded machine a few take tens of seconds.
c.Execute.timeout = 600

# nbgrader zip_collect (submissions gathered without a hub): a file named <student>_NN_name.ipynb, such as
# alice_03_dying_relu.ipynb, is student alice's 03_dying_relu.ipynb. Whatever an LMS puts between the two parts
# (alice_12345_03_dying_relu.ipynb) is ignored; student names must not contain "_".
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/_]+)_(?:.*_)?(?P<file_id>\\d\\d_[A-Za-z0-9_]+\\.ipynb)$"

# On a JupyterHub, release_assignment, fetch_assignment, submit and collect go through an exchange folder
# that must exist and be writable by everyone; nbgrader's default is this one.
# c.Exchange.root = "/usr/local/share/nbgrader/exchange"
'''


@dataclass(frozen=True)
class Answer:
    """An autograded answer cell: its ``grade_id``, the names its placeholder defines, its solution source."""

    grade_id: str
    names: tuple[str, ...]
    source: str  # as it stands in the nbgrader source notebook: placeholder, markers and solution


@dataclass(frozen=True)
class Exercise:
    """One graded self-check call: its ``grade_id``, the check's name, the call's text, the answers it reads."""

    grade_id: str
    check: str
    call: str
    answers: tuple[str, ...]  # grade_ids of the answer cells whose names the call reads
    points: int = POINTS


@dataclass
class GradedNotebook:
    """The nbgrader source of one solution notebook, with its answer cells and exercises."""

    name: str  # the notebook's file name without .ipynb, also the nbgrader assignment's name
    notebook: dict[str, Any]
    answers: list[Answer] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(exercise.points for exercise in self.exercises)


# --- one cell ------------------------------------------------------------------------------------------------------

def _parse(source: str, where: str) -> ast.Module:
    """Parse a cell's Python, with IPython's ``%magic`` and ``!shell`` lines blanked (line numbers kept)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as error:
        raise AuthoringError(f"{where}: not valid Python ({error.msg}, line {error.lineno})") from error


def _ends_the_path(lines: list[str], where: str, *, last_only: bool) -> bool:
    """Does this block (at one indentation) return or raise: in any top-level statement, or in its last?"""
    body = _parse(textwrap.dedent("\n".join(lines)), where).body
    stops = (ast.Return, ast.Raise, ast.Break, ast.Continue)
    if last_only:
        return bool(body) and isinstance(body[-1], stops)
    return any(isinstance(statement, stops) for statement in body)


def nbgrader_region(region: Region, where: str) -> list[str]:
    """The lines that stand for one solution region in the nbgrader source notebook.

    The placeholder goes before the marked solution, which then overrides what it assigned; a placeholder
    that returns or raises goes after the solution, which must then itself end by returning or raising.
    """
    marked = [region.indent + BEGIN, *region.solution, region.indent + END]
    if not _ends_the_path(region.placeholder, where, last_only=False):
        return [*region.placeholder, *marked]
    if not _ends_the_path(region.solution, where, last_only=True):
        raise AuthoringError(f"{where}, line {region.start}: the placeholder returns or raises, so the nbgrader "
                             "source puts it after the solution; the solution must then end with return or raise, "
                             "or the instructor's notebook would reach the placeholder")
    return [*marked, *region.placeholder]


def _learner_lines(parts: list[str | Region]) -> tuple[list[str], set[int]]:
    """The learner's lines of a cell, and the 1-based numbers of those that are placeholder lines."""
    lines: list[str] = []
    placeholders: set[int] = set()
    for part in parts:
        if isinstance(part, Region):
            placeholders.update(range(len(lines) + 1, len(lines) + len(part.placeholder) + 1))
            lines.extend(part.placeholder)
        else:
            lines.append(part)
    return lines, placeholders


def _defined_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    names: list[str] = []
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
    return names


def _answer_names(tree: ast.Module, placeholders: set[int]) -> list[str]:
    """Names defined by the top-level statements that hold a placeholder line."""
    names: list[str] = []
    for statement in tree.body:
        if placeholders & set(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)):
            names.extend(name for name in _defined_names(statement) if name not in names)
    return names


def _check_name(node: ast.AST) -> str | None:
    """``"check_x"`` for a call such as ``vn.checks.check_x(...)`` (or ``checks.check_x(...)``), else None."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    owner = node.func.value
    owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
    return node.func.attr if owner_name == "checks" and node.func.attr.startswith("check_") else None


def _read_names(call: ast.Call) -> list[str]:
    names: list[str] = []
    for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
        for node in ast.walk(argument):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in names:
                names.append(node.id)
    return names


@dataclass
class _Call:
    check: str
    call: str
    strings: list[str]  # the call's string-literal positional arguments, for its grade_id
    names: list[str]  # the answer names it reads
    answers: list[str]  # the grade_ids of the answer cells those names come from


def _exercise_calls(statement: ast.stmt, source: str, defined: dict[str, str]) -> list[_Call]:
    """The check calls in one top-level statement that read a name an answer cell defined."""
    calls = []
    for node in ast.walk(statement):
        check = _check_name(node)
        if check is None:
            continue
        names = [name for name in _read_names(node) if name in defined]
        if names:
            strings = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            answers = list(dict.fromkeys(defined[name] for name in names))
            calls.append(_Call(check, ast.get_source_segment(source, node) or check, strings, names, answers))
    return calls


def _is_bare_call(statement: ast.stmt, calls: list[_Call]) -> bool:
    return isinstance(statement, ast.Expr) and _check_name(statement.value) is not None and len(calls) == 1


# --- one notebook --------------------------------------------------------------------------------------------------

@dataclass
class _Piece:
    """A cell of the nbgrader source notebook before it gets its grade_id."""

    source: str
    answer_names: list[str] = field(default_factory=list)  # an answer cell when non-empty
    calls: list[_Call] = field(default_factory=list)  # a grade cell when non-empty


def _cut(lines: list[str], starts: list[int]) -> list[str]:
    """Cut ``lines`` before each 0-based line of ``starts``; each piece without its leading and trailing blank lines."""
    return ["\n".join(lines[begin:end]).strip("\n") for begin, end in itertools.pairwise([0, *starts, len(lines)])]


def _code_pieces(source: str, defined: dict[str, str], name: str, where: str) -> list[_Piece]:
    """Turn one code cell into the cells of the nbgrader source (usually one)."""
    parts = regions(source, where)
    has_region = any(isinstance(part, Region) for part in parts)
    learner, placeholders = _learner_lines(parts)
    learner_source = "\n".join(learner)
    tree = _parse(learner_source, where)
    names = _answer_names(tree, placeholders) if has_region else []
    if has_region and not names:
        raise AuthoringError(f"{where}: the placeholder of its solution region defines no name (no variable and no "
                             "enclosing function) that a check could read, so the answer cell cannot be named")
    answer_id = f"{_prefix(name)}-{'-'.join(names)}"
    reachable = {**defined, **dict.fromkeys(names, answer_id)}
    calls = [_exercise_calls(statement, learner_source, reachable) for statement in tree.body]
    if not any(calls):
        defined.update(dict.fromkeys(names, answer_id))
        return [_Piece(_nbgrader_source(parts, where) if has_region else source, names)]
    first = next(i for i, found in enumerate(calls) if found)
    trailing = all(_is_bare_call(s, c) for s, c in zip(tree.body[first:], calls[first:], strict=True))
    if has_region and not trailing:
        raise AuthoringError(f"{where}: a check call stands before or among other code in a cell with a solution "
                             "region; put the check calls at the end of the cell, or in a cell of their own")
    defined.update(dict.fromkeys(names, answer_id))
    if not trailing:  # a cell of other code that also calls checks: one grade cell for all of it
        return [_Piece(source, calls=[call for found in calls for call in found])]
    statements = tree.body[first:]
    if has_region and statements[0].lineno <= max(placeholders):
        raise AuthoringError(f"{where}: a check call stands before the end of a solution region's placeholder")
    # the learner's lines after the last region are the source's own last lines, so the cut can count from the end
    source_lines = (_nbgrader_source(parts, where) if has_region else source).split("\n")
    offset = len(source_lines) - len(learner)
    starts = [statement.lineno - 1 + offset for statement in statements]
    if not has_region:
        starts[0] = 0
    pieces = _cut(source_lines, starts)
    graded = [_Piece(text, calls=found) for text, found in zip(pieces[1:], calls[first:], strict=True)]
    return ([_Piece(pieces[0], names)] if has_region else []) + graded


def _nbgrader_source(parts: list[str | Region], where: str) -> str:
    lines: list[str] = []
    for part in parts:
        lines.extend(nbgrader_region(part, where) if isinstance(part, Region) else [part])
    return "\n".join(lines)


def _prefix(name: str) -> str:
    """The notebook's number (``"03"`` for ``03_dying_relu``), or its whole name when it has none."""
    match = re.match(r"(\d+)_", name)
    return match.group(1) if match else _slug(name)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"


def _exercise_ids(name: str, calls: list[_Call], where: str) -> list[str]:
    """A grade_id for each exercise call: the check's name, then its string arguments, then the answer names."""
    ids = [f"{_prefix(name)}-{call.check}" + "".join(f"-{_slug(s)}" for s in call.strings) for call in calls]
    ids = [base if ids.count(base) == 1 else f"{base}-{'-'.join(call.names)}"
           for base, call in zip(ids, calls, strict=True)]
    repeated = sorted({grade_id for grade_id in ids if ids.count(grade_id) > 1})
    if repeated:
        raise AuthoringError(f"{where}: several exercises would share the grade_id {repeated[0]!r}: the same check "
                             "is called twice on the same answers")
    return ids


def _cell(template: dict[str, Any], source: str, cell_id: str, nbgrader: dict[str, Any]) -> dict[str, Any]:
    cell = copy.deepcopy(template)
    cell.update(source=_lines(source), outputs=[], execution_count=None, id=cell_id[:64])
    metadata = cell.setdefault("metadata", {})
    for key in TIMING_KEYS:
        metadata.pop(key, None)
    metadata["nbgrader"] = {"schema_version": SCHEMA_VERSION, "task": False, **nbgrader}
    return cell


def graded_notebook(nb: dict[str, Any], name: str, where: str | None = None) -> GradedNotebook:
    """The nbgrader source of one solution notebook (``nb`` is not changed).

    Raises
    ------
    AuthoringError
        Listing every cell that cannot be turned into an answer or grade cell.
    """
    where = where or name
    out = copy.deepcopy(nb)
    out.get("metadata", {}).pop("widgets", None)
    out["cells"], defined, errors = [], {}, []
    graded = GradedNotebook(name, out)
    pending: list[tuple[dict[str, Any], _Piece]] = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            pending.append((cell, _Piece(_text(cell.get("source", "")))))
            continue
        try:
            pending.extend((cell, piece) for piece in _code_pieces(_text(cell.get("source", "")), defined, name,
                                                                      f"{where}, cell {index}"))
        except AuthoringError as error:
            errors.append(str(error))
    calls = [call for _cell_, piece in pending for call in piece.calls]
    try:
        ids = iter(_exercise_ids(name, calls, where))
    except AuthoringError as error:
        errors.append(str(error))
    if errors:
        raise AuthoringError("\n".join(errors))
    seen: dict[str, int] = {}
    for template, piece in pending:
        base_id = template.get("id", "cell")
        seen[base_id] = seen.get(base_id, 0) + 1
        cell_id = base_id if seen[base_id] == 1 else f"{base_id}-{seen[base_id]}"
        out["cells"].append(_graded_cell(template, piece, cell_id, ids, graded))
    grade_ids = [answer.grade_id for answer in graded.answers] + [exercise.grade_id for exercise in graded.exercises]
    repeated = sorted({grade_id for grade_id in grade_ids if grade_ids.count(grade_id) > 1})
    if repeated:
        raise AuthoringError(f"{where}: two answer cells would share the grade_id {repeated[0]!r}: their "
                             "placeholders define the same names")
    return graded


def _graded_cell(template: dict[str, Any], piece: _Piece, cell_id: str, ids: Any,
                 graded: GradedNotebook) -> dict[str, Any]:
    """One cell of the nbgrader source: an answer cell, a grade cell, or the cell as it was."""
    if template.get("cell_type") != "code":
        return copy.deepcopy(template)
    if piece.answer_names:
        grade_id = f"{_prefix(graded.name)}-{'-'.join(piece.answer_names)}"
        graded.answers.append(Answer(grade_id, tuple(piece.answer_names), piece.source))
        return _cell(template, piece.source, cell_id, {"grade": False, "solution": True, "locked": False,
                                                       "grade_id": grade_id})
    if piece.calls:
        exercises = [Exercise(next(ids), call.check, call.call, tuple(call.answers)) for call in piece.calls]
        graded.exercises.extend(exercises)
        tests = [line for call in piece.calls for line in _hidden_test(call)]
        source = "\n".join([piece.source, HIDDEN_BEGIN, *tests, HIDDEN_END])
        return _cell(template, source, cell_id, {"grade": True, "solution": False, "locked": True,
                                                 "grade_id": exercises[0].grade_id,
                                                 "points": sum(e.points for e in exercises)})
    cell = copy.deepcopy(template)
    cell.update(source=_lines(piece.source), outputs=[], execution_count=None)
    for key in TIMING_KEYS:
        cell.get("metadata", {}).pop(key, None)
    return cell


def _hidden_test(call: _Call) -> list[str]:
    """Call the check again and assert its structured verdict; the message shows the verdict to the grader."""
    return [f"_verdict = {call.call}",
            f'assert _verdict.passed is True, f"{call.check}: {{_verdict}}"']


# --- the course folder ---------------------------------------------------------------------------------------------

def graded_notebooks(root: str | os.PathLike[str] = ".") -> list[GradedNotebook]:
    """The nbgrader source of every solution notebook that has at least one exercise, in course order.

    Raises
    ------
    AuthoringError
        When ``root/solutions`` holds no notebook, or listing every cell that cannot be graded.
    """
    graded, errors = [], []
    for path in _sources(Path(root)):
        where = f"{SOURCE_DIR}/{path.name}"
        try:
            notebook = graded_notebook(json.loads(path.read_text(encoding="utf-8")), path.stem, where)
        except (AuthoringError, json.JSONDecodeError) as error:
            errors.append(str(error) if isinstance(error, AuthoringError) else f"{where}: not valid JSON ({error})")
            continue
        if notebook.exercises:
            graded.append(notebook)
    if errors:
        raise AuthoringError("\n".join(errors))
    return graded


def write_course(root: str | os.PathLike[str], outdir: str | os.PathLike[str],
                 course_id: str = COURSE_ID) -> list[str]:
    """Write the nbgrader course folder ``outdir`` from ``root/solutions``; return one line per file.

    ``outdir/nbgrader_config.py`` is written when it does not exist yet, and left as it is otherwise (it
    may hold the instructor's own settings); ``outdir/source/NN_name/NN_name.ipynb`` is always rewritten.
    Nothing is written when any solution notebook has an error.
    """
    graded = graded_notebooks(root)
    outdir = Path(outdir)
    report = []
    config = outdir / CONFIG_NAME
    text = CONFIG.format(course_id=course_id)
    if config.exists() and config.read_text(encoding="utf-8") != text:
        report.append(f"kept {config} as it is (it differs from what this command writes; remove it to get that)")
    else:
        outdir.mkdir(parents=True, exist_ok=True)
        config.write_text(text, encoding="utf-8")
        report.append(f"wrote {config} (course_id {course_id!r})")
    for notebook in graded:
        path = outdir / "source" / notebook.name / f"{notebook.name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(notebook.notebook), encoding="utf-8")
        count, points = len(notebook.exercises), notebook.points
        report.append(f"wrote {path} ({count} exercise{'s' * (count != 1)}, {points} point{'s' * (points != 1)})")
    return report
