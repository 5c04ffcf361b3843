"""The math modules stay light: importing them never pulls in matplotlib or ipywidgets.

Each check runs in a fresh interpreter, because this test process has long
imported everything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def imported_after(statement: str, watched: tuple[str, ...]) -> list[str]:
    """Run ``statement`` in a new interpreter; return which of ``watched`` it imported."""
    code = (
        f"import sys\n{statement}\n"
        f"print(','.join(m for m in {watched!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


@pytest.mark.parametrize("statement", [
    "import vanishing",
    "import vanishing, vanishing.layers, vanishing.experiments",
    "import vanishing.checks",
    "import vanishing.experiments.start",
])
def test_math_modules_do_not_import_display_libraries(statement):
    assert imported_after(statement, ("matplotlib", "ipywidgets")) == []


def test_the_check_itself_can_fail():
    assert imported_after("import vanishing.plots", ("matplotlib", "ipywidgets")) == ["matplotlib"]


@pytest.mark.parametrize("statement", ["import vanishing.plots", "import vanishing.widgets"])
def test_display_modules_do_not_use_pyplot(statement):
    # pyplot holds global figure state and picks a backend: the course's figures never need it
    assert imported_after(statement, ("matplotlib.pyplot",)) == []


@pytest.mark.parametrize("package", ["experiments", "plots", "widgets", "checks"])
def test_notebook_modules_export_distinct_names(package):
    """Each package re-exports its modules' names; two modules exporting one name would shadow each other."""
    import importlib
    import pkgutil

    parent = importlib.import_module(f"vanishing.{package}")
    owners: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(parent.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"vanishing.{package}.{info.name}")
        for name in getattr(module, "__all__", ()):
            owners.setdefault(name, []).append(info.name)
    clashes = {name: mods for name, mods in owners.items() if len(mods) > 1}
    assert not clashes, f"names exported by more than one module of vanishing.{package}: {clashes}"
