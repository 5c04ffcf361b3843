"""One set of times: each notebook's header states its time, and the README and INSTRUCTORS.md agree with it.

The header of every solution notebook has the line ``**Time:** about NN minutes.`` (a first pass with the
exercises, on your own); that is the one place a time is decided. The README's course map, the per-notebook
headings of INSTRUCTORS.md (``### NN · Title (NN min)``) and its summary line must give the same numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "solutions").glob("*.ipynb"))


def header_minutes(path: Path) -> int:
    text = "".join(json.loads(path.read_text())["cells"][0]["source"])
    found = re.findall(r"\*\*Time:\*\* about (\d+) minutes[.,]", text)
    assert len(found) == 1, f"{path.name}: the first cell needs exactly one '**Time:** about NN minutes.' line"
    return int(found[0])


def readme_minutes() -> dict[str, int]:
    rows = re.findall(r"^\| (\d\d) \| \[.*?\]\(notebooks/.*?\) \|.*\| (\d+) min \|", (REPO / "README.md").read_text(),
                      re.MULTILINE)
    return {number: int(minutes) for number, minutes in rows}


def instructors_minutes() -> dict[str, int]:
    headings = re.findall(r"^### (\d\d) · .*\((\d+) min\)$", (REPO / "INSTRUCTORS.md").read_text(), re.MULTILINE)
    return {number: int(minutes) for number, minutes in headings}


def instructors_summary() -> dict[str, int]:
    line = re.search(r"^The notebooks state their own time estimates.*?in all\.", (REPO / "INSTRUCTORS.md").read_text(),
                     re.MULTILINE | re.DOTALL)
    assert line, "INSTRUCTORS.md lost its summary of the notebook times"
    return {number: int(minutes) for number, minutes in re.findall(r"\b(\d\d) (\d+)(?: min)?\b", line.group(0))}


HEADERS = {path.name[:2]: header_minutes(path) for path in NOTEBOOKS}


@pytest.mark.parametrize("source", [readme_minutes, instructors_minutes, instructors_summary],
                         ids=["README course map", "INSTRUCTORS headings", "INSTRUCTORS summary"])
def test_times_agree_with_the_notebook_headers(source):
    assert source() == HEADERS


def test_instructors_total_is_the_sum_of_the_notebook_times():
    text = (REPO / "INSTRUCTORS.md").read_text()
    total = re.search(r"about ([\d.]+) hours in all", text)
    assert total and float(total.group(1)) == round(sum(HEADERS.values()) / 60 * 2) / 2, \
        f"INSTRUCTORS.md says {total and total.group(1)} hours; the notebooks add up to {sum(HEADERS.values())} min"
