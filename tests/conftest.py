"""Shared test set-up.

- Figures drawn by the test process use matplotlib's Agg backend: no display is needed, none is opened.
- Notebooks run by nbval (``--nbval-lax``) start their kernels in the notebook's own folder (nbval's
  default, checked in tests/test_packaging.py) and with the environment a JupyterLab user has: the
  ``MPLBACKEND`` set here is kept out of their kernels, so figures are drawn inline as learners see them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before anything imports matplotlib, in this process and in every subprocess a test starts.
os.environ["MPLBACKEND"] = "Agg"

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (the one holding pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def subprocess_env() -> dict[str, str]:
    """Environment for a Python subprocess that must import the same ``vanishing`` as this test run.

    It is the installed package when there is one, else the one beside tests/ (``python -m pytest`` from
    the repository root imports it from there without an install).
    """
    import vanishing

    package_parent = str(Path(vanishing.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}


class _NotebookKernelEnvironment:
    """Start nbval's kernels without this process's ``MPLBACKEND``.

    ipykernel picks the inline backend only when ``MPLBACKEND`` is unset; with Agg inherited, pyplot
    figures would silently not be shown, and the notebook under test would differ from the learner's.
    A plugin object (not a conftest hook) so that it also applies to notebooks outside tests/.
    """

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        # nbval starts a notebook's kernel while setting up the notebook's first cell.
        if type(item).__module__.split(".")[0] != "nbval":
            yield
            return
        saved = os.environ.pop("MPLBACKEND", None)
        try:
            yield
        finally:
            if saved is not None:
                os.environ["MPLBACKEND"] = saved


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_NotebookKernelEnvironment(), "vanishing-notebook-kernel-environment")
