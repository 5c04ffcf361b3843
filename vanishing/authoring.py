"""Turn the solution notebooks into the learners' notebooks.

``solutions/NN_name.ipynb`` are the sources: complete, stored executed, so that GitHub shows every
figure. ``notebooks/NN_name.ipynb`` are what learners open: generated from the sources, never edited
by hand. In a code cell of a source, a solution region looks like this::

    ### BEGIN SOLUTION
    #| answer = None  # TODO: the fraction of dead units
    answer = (pre_activations < 0).all(axis=0).mean()
    ### END SOLUTION

The learner's notebook gets the ``#| `` placeholder lines, with ``#| `` removed and the region's
indentation kept, in place of the whole region (markers and solution lines). Every region needs at least
one non-blank placeholder line, so the learner's cell still runs. Outputs and execution counts are
cleared, execution timing is dropped from cell metadata and saved widget state from the notebook
metadata; markdown and raw cells are copied unchanged.

Commands, run from the repository root::

    python -m vanishing.authoring build            # write notebooks/ from solutions/
    python -m vanishing.authoring check            # fail if notebooks/ differs from what build would write
    python -m vanishing.authoring execute [NAME]   # run solutions/ in place to store fresh outputs, then build
    python -m vanishing.authoring nbgrader OUTDIR  # write an nbgrader course folder for graded use (see _nbgrader)

``build``, ``check`` and ``nbgrader`` need the standard library only; ``execute`` needs nbclient and ipykernel
(the ``test`` extra). Notebooks are written as Jupyter writes them (JSON, one-space indent, sorted keys,
non-ASCII kept, trailing newline), so a rebuild that changes nothing leaves git clean.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
PLACEHOLDER = "#|"
SOURCE_DIR = "solutions"
TARGET_DIR = "notebooks"
# Cell metadata written by JupyterLab's and nbclient's timing records (and the older ExecuteTime extension).
TIMING_KEYS = ("execution", "ExecuteTime")
# nbval's comment marker for a cell that is meant to raise; nbclient only knows the tag.
RAISES_MARKER = "# NBVAL_RAISES_EXCEPTION"
RAISES_TAG = "raises-exception"

__all__ = ["AuthoringError", "Region", "build", "check", "dumps", "execute", "expected_notebooks", "learner_notebook",
           "main", "regions", "strip_solutions"]


class AuthoringError(ValueError):
    """A solution notebook that cannot be turned into a learner's notebook, or a missing folder."""


@dataclass
class Region:
    """One solution region of a code cell: where it starts, its indentation, its placeholder and solution lines."""

    start: int  # the 1-based line of its BEGIN marker
    indent: str
    placeholder: list[str] = field(default_factory=list)  # the learner's lines, ``#| `` removed, at ``indent``
    solution: list[str] = field(default_factory=list)  # the solution lines, as written


def regions(source: str, where: str = "cell") -> list[str | Region]:
    """Split one code cell's source into its lines outside solution regions (str) and its regions, in order.

    Raises
    ------
    AuthoringError
        As :func:`strip_solutions` does, for every malformed region.
    """
    parts: list[str | Region] = []
    region: Region | None = None
    for lineno, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        here = line[: len(line) - len(line.lstrip())]
        if stripped == BEGIN:
            if region:
                raise AuthoringError(f"{where}, line {lineno}: {BEGIN!r} inside the region opened at line "
                                     f"{region.start}; solution regions cannot be nested")
            region = Region(lineno, here)
        elif stripped == END:
            if not region:
                raise AuthoringError(f"{where}, line {lineno}: {END!r} without a {BEGIN!r} before it")
            if here != region.indent:
                raise AuthoringError(f"{where}, line {lineno}: {END!r} is indented by {here!r} but the region was "
                                     f"opened at line {region.start} with indentation {region.indent!r}; indent "
                                     "both markers alike")
            if not any(text.strip() for text in region.placeholder):
                raise AuthoringError(f"{where}, line {region.start}: the solution region (lines {region.start}-"
                                     f"{lineno}) has no placeholder line; add one such as '#| answer = None  # TODO' "
                                     "so the learner's cell still runs")
            parts.append(region)
            region = None
        elif "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            raise AuthoringError(f"{where}, line {lineno}: {stripped!r} looks like a solution marker but is not "
                                 f"exactly {BEGIN!r} or {END!r}")
        elif region and stripped.startswith(PLACEHOLDER):
            region.placeholder.append(_placeholder_line(line, region, lineno, where))
        elif region:
            region.solution.append(line)
        else:
            parts.append(line)
    if region:
        raise AuthoringError(f"{where}, line {region.start}: the solution region opened here is never closed with "
                             f"{END!r}")
    return parts


def _placeholder_line(line: str, region: Region, lineno: int, where: str) -> str:
    body = line[len(region.indent):]
    if not line.startswith(region.indent) or not body.startswith(PLACEHOLDER):
        raise AuthoringError(f"{where}, line {lineno}: placeholder line must start at the region's "
                             f"indentation {region.indent!r} (opened at line {region.start})")
    rest = body[len(PLACEHOLDER):]
    if rest.strip() and not rest.startswith(" "):
        raise AuthoringError(f"{where}, line {lineno}: write a space after '#|' in a placeholder line")
    return (region.indent + rest[1:]).rstrip() if rest.strip() else ""


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace every solution region of one code cell's source by its placeholder lines.

    Parameters
    ----------
    source : str
        The cell's source, lines separated by ``"\\n"``.
    where : str
        Names the cell in error messages, e.g. ``"solutions/03_dying_relu.ipynb, cell 7"``.

    Returns
    -------
    str
        The source the learner sees. A source without regions is returned unchanged.

    Raises
    ------
    AuthoringError
        Naming ``where`` and the 1-based line, when a region is nested, unclosed, closed at another
        indentation than it was opened, closed without being opened, has no non-blank placeholder line,
        or holds a misspelled marker or placeholder (which would otherwise leak a solution to learners).
    """
    out: list[str] = []
    for part in regions(source, where):
        out.extend(part.placeholder if isinstance(part, Region) else [part])
    return "\n".join(out)


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def _lines(text: str) -> list[str]:
    # Jupyter stores multi-line strings as a list of lines, each keeping its newline.
    return text.splitlines(keepends=True)


def learner_notebook(nb: dict[str, Any], name: str = "notebook") -> dict[str, Any]:
    """Return the learner's version of a solution notebook (a new dict; ``nb`` is not changed).

    Parameters
    ----------
    nb : dict
        A notebook in nbformat 4, as loaded by ``json.load``.
    name : str
        Names the notebook in error messages.

    Raises
    ------
    AuthoringError
        Listing every bad solution region in the notebook (cells counted from 0 over all cells,
        lines from 1), or when the notebook is not nbformat 4.
    """
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise AuthoringError(f"{name}: not a notebook in nbformat 4")
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    errors = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        try:
            cell["source"] = _lines(strip_solutions(_text(cell.get("source", "")), where=f"{name}, cell {index}"))
        except AuthoringError as error:
            errors.append(str(error))
        cell["outputs"] = []
        cell["execution_count"] = None
        for key in TIMING_KEYS:
            cell.get("metadata", {}).pop(key, None)
    if errors:
        raise AuthoringError("\n".join(errors))
    return nb


def dumps(nb: dict[str, Any]) -> str:
    """Serialise a notebook the way Jupyter saves it."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _sources(root: Path) -> list[Path]:
    folder = root / SOURCE_DIR
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise AuthoringError(f"no notebooks in {folder}; run from the repository root or pass --root")
    return paths


def expected_notebooks(root: str | os.PathLike[str] = ".") -> dict[str, str]:
    """Map each learner notebook's file name to the text ``build`` writes for it.

    Raises
    ------
    AuthoringError
        When ``root/solutions`` holds no notebook, or listing every bad region in every notebook.
    """
    root = Path(root)
    expected, errors = {}, []
    for path in _sources(root):
        name = f"{SOURCE_DIR}/{path.name}"
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            errors.append(f"{name}: not valid JSON ({error})")
            continue
        try:
            expected[path.name] = dumps(learner_notebook(nb, name))
        except AuthoringError as error:
            errors.append(str(error))
    if errors:
        raise AuthoringError("\n".join(errors))
    return expected


def build(root: str | os.PathLike[str] = ".") -> list[str]:
    """Write ``notebooks/`` from ``solutions/``; return one line per file written or removed.

    Notebooks in ``notebooks/`` without a source in ``solutions/`` are removed: the folder is generated.
    Nothing is written when any solution notebook has an error.
    """
    root = Path(root)
    expected = expected_notebooks(root)
    target = root / TARGET_DIR
    target.mkdir(exist_ok=True)
    changes = []
    for name, text in expected.items():
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changes.append(f"wrote {TARGET_DIR}/{name}")
    for path in sorted(target.glob("*.ipynb")):
        if path.name not in expected:
            path.unlink()
            changes.append(f"removed {TARGET_DIR}/{path.name} (no {SOURCE_DIR}/{path.name})")
    return changes


def check(root: str | os.PathLike[str] = ".", context_lines: int = 20) -> list[str]:
    """List how ``notebooks/`` differs from what ``build`` would write; an empty list when it is current.

    A stale notebook's entry shows the start of a unified diff (at most ``context_lines`` lines).
    """
    root = Path(root)
    expected = expected_notebooks(root)
    target = root / TARGET_DIR
    problems = []
    for name, text in expected.items():
        path = target / name
        if not path.exists():
            problems.append(f"missing: {TARGET_DIR}/{name}")
            continue
        current = path.read_text(encoding="utf-8")
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), f"{TARGET_DIR}/{name} (stored)",
                                        f"{TARGET_DIR}/{name} (from {SOURCE_DIR}/)", lineterm="", n=1)
            shown = "\n".join("    " + line for line in list(diff)[:context_lines])
            problems.append(f"stale: {TARGET_DIR}/{name} differs from what {SOURCE_DIR}/{name} gives\n{shown}")
    for path in sorted(target.glob("*.ipynb")) if target.is_dir() else []:
        if path.name not in expected:
            problems.append(f"extra: {TARGET_DIR}/{path.name} has no source {SOURCE_DIR}/{path.name}")
    return problems


def execute(paths: Sequence[str | os.PathLike[str]], *, timeout: int = 600, kernel_name: str = "python3") -> None:
    """Execute notebooks in place with nbclient and store their outputs.

    Each notebook runs in a fresh kernel whose working directory is the notebook's folder, with the
    environment a JupyterLab user would have (``MPLBACKEND`` unset, so figures are drawn inline).
    Neither widget state nor execution timing is stored: every widget cell also carries its figure as a
    PNG, which GitHub, nbviewer and nbconvert show, while a stored widget state would make nbconvert emit a
    script that fetches the widget library from the internet and shows nothing offline. A cell that raises
    stops the run and the notebook is left as it was, unless the cell is tagged ``raises-exception`` or
    marked ``# NBVAL_RAISES_EXCEPTION``.

    Parameters
    ----------
    paths : sequence of path-like
        The notebooks to execute.
    timeout : int
        Seconds one cell may run before the run fails.
    kernel_name : str
        The Jupyter kernel to run them in.
    """
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError
    except ImportError as error:
        raise AuthoringError(f"executing notebooks needs nbclient ({error}); install it with "
                             "`python -m pip install -e '.[test]'`") from error
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        tagged = []
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if (cell.cell_type == "code" and RAISES_TAG not in tags
                    and any(line.strip() == RAISES_MARKER for line in cell.source.splitlines())):
                cell.metadata["tags"] = [*tags, RAISES_TAG]
                tagged.append(cell)
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, record_timing=False,
                                store_widget_state=False,
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        try:
            client.execute(env=env)
        except (CellExecutionError, CellTimeoutError) as error:
            raise AuthoringError(f"{path} did not run through; it was left as it was:\n{error}") from error
        nb.metadata.pop("widgets", None)
        for cell in tagged:
            cell.metadata["tags"].remove(RAISES_TAG)
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        path.write_text(dumps(json.loads(nbformat.writes(nb))), encoding="utf-8")


def _resolve_sources(root: Path, names: Sequence[str]) -> list[Path]:
    if not names:
        return _sources(root)
    paths = []
    for name in names:
        path = root / SOURCE_DIR / Path(name).name
        if path.suffix != ".ipynb":
            path = path.with_name(path.name + ".ipynb")
        if not path.is_file():
            raise AuthoringError(f"no notebook {path}; the names come from {root / SOURCE_DIR}")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m vanishing.authoring",
                                     description="Generate the learners' notebooks/ from solutions/.")
    parser.add_argument("--root", default=".", help="the repository root (default: the current directory)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="write notebooks/ from solutions/")
    commands.add_parser("check", help="exit 1 if notebooks/ differs from what build would write")
    run = commands.add_parser("execute", help="execute solution notebooks in place, then build")
    run.add_argument("names", nargs="*", help="notebooks in solutions/ to execute (default: all)")
    run.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default: 600)")
    run.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    grade = commands.add_parser("nbgrader", help="write an nbgrader course folder (nbgrader_config.py and source/) "
                                                 "for graded use")
    grade.add_argument("outdir", help="the course folder to write, e.g. ../vanishing-nbgrader")
    grade.add_argument("--course-id", default="vanishing-gradients", help="nbgrader's course_id "
                                                                          "(default: vanishing-gradients)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    try:
        if args.command == "check":
            problems = check(root)
            if problems:
                print(f"{TARGET_DIR}/ is out of date; run `python -m vanishing.authoring build`:", file=sys.stderr)
                print("\n".join(problems), file=sys.stderr)
                return 1
            print(f"{TARGET_DIR}/ is up to date ({len(_sources(root))} notebooks from {SOURCE_DIR}/)")
            return 0
        if args.command == "nbgrader":
            from ._nbgrader import write_course  # imported here: it builds on this module

            print("\n".join(write_course(root, args.outdir, course_id=args.course_id)))
            return 0
        if args.command == "execute":
            for path in _resolve_sources(root, args.names):
                print(f"executing {SOURCE_DIR}/{path.name}", flush=True)
                execute([path], timeout=args.timeout, kernel_name=args.kernel)
        changes = build(root)
        print("\n".join(changes) if changes else f"{TARGET_DIR}/ was already up to date")
        return 0
    except AuthoringError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
