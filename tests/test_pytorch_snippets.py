"""The "In PyTorch" sections: every notebook from 01 on ends with the same idea in PyTorch, and the code runs.

Each such section is markdown (PyTorch is not a dependency of the course, so the
notebooks never import it); its ```python blocks hold the code, and each block
asserts what the text around it claims. Where PyTorch is installed
(``pip install torch==2.13.0``, the CPU build) this test runs every block of a
notebook in a fresh interpreter, in order; elsewhere it is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
NOTEBOOKS = sorted(p for p in SOLUTIONS.glob("*.ipynb") if p.name[:2] != "00")
HEADING = re.compile(r"^#+\s.*\bIn PyTorch\b", re.MULTILINE)
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def pytorch_section(path: Path) -> list[str]:
    """The ```python blocks of the markdown cells from the "In PyTorch" heading to the next heading of its level."""
    cells = [("".join(c["source"]), c["cell_type"]) for c in json.loads(path.read_text())["cells"]]
    blocks: list[str] = []
    level = None
    for text, kind in cells:
        if kind != "markdown":
            continue
        heading = HEADING.search(text)
        if heading:
            level = len(heading.group(0)) - len(heading.group(0).lstrip("#"))
            text = text[heading.start():]
        elif level is not None and re.match(rf"^#{{1,{level}}}\s", text):
            break
        if level is not None:
            blocks += BLOCK.findall(text)
    return blocks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_a_pytorch_section_whose_blocks_assert_their_claims(path):
    blocks = pytorch_section(path)
    assert blocks, f"{path.name} has no '## In PyTorch' section with a ```python block"
    for block in blocks:
        assert re.search(r"^\s*assert\b", block, re.MULTILINE), f"{path.name}: a block asserts nothing:\n{block}"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed "
                    "(pip install torch==2.13.0 to run the notebooks' PyTorch code)")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pytorch_code_of_each_notebook_runs_and_its_assertions_hold(path):
    code = "\n\n".join(pytorch_section(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{path.name}: the PyTorch code failed:\n{done.stderr[-3000:]}"
