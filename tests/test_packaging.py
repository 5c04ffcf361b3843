"""Packaging and launch files: pyproject.toml, environment.yml, postBuild, README.md and the notebook test set-up."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from test_browser import api, running_jupyterlab

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

# pyproject.toml name -> the conda-forge packages that provide it.
CONDA_NAMES = {"matplotlib": {"matplotlib", "matplotlib-base"}}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")
CONDA_SPEC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(==|=|>=|<=|>|<|!=)\s*([0-9][0-9A-Za-z.*]*))?\s*$")
BINDER = re.compile(r"https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/HEAD\?urlpath=lab/tree/([\w./-]+\.ipynb)")


def parse_simple_yaml(text: str) -> dict[str, object]:
    """Parse the small YAML subset environment.yml uses: top-level ``key: scalar`` and ``key:`` + ``- item`` lists.

    A list item that is itself ``name:`` followed by a deeper list (conda's ``- pip:``) becomes
    ``{name: [items]}``. Anything else is a ValueError, so that the file stays this simple.
    """
    data: dict[str, object] = {}
    key = None
    nested: list[str] | None = None
    nested_indent = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0:
            match = re.fullmatch(r"([\w-]+):\s*(.*)", body)
            if not match:
                raise ValueError(f"line {lineno}: expected 'key: value' or 'key:', got {raw!r}")
            key, value = match.groups()
            data[key] = value if value else []
            nested = None
        elif body.startswith("- ") and key is not None and isinstance(data[key], list):
            item = body[2:].strip()
            if nested is not None and indent > nested_indent:
                nested.append(item)
            elif item.endswith(":"):
                nested, nested_indent = [], indent
                data[key].append({item[:-1]: nested})
            else:
                nested = None
                data[key].append(item)
        else:
            raise ValueError(f"line {lineno}: not in the simple format this file keeps: {raw!r}")
    return data


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


@pytest.fixture(scope="module")
def pyproject(repo_root: Path) -> dict:
    return tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def conda_env(repo_root: Path) -> dict:
    return parse_simple_yaml((repo_root / "environment.yml").read_text(encoding="utf-8"))


def conda_specs(conda_env: dict) -> dict[str, tuple[str | None, str | None]]:
    specs = {}
    for item in conda_env["dependencies"]:
        if isinstance(item, dict):  # a `- pip:` list: pip packages are not conda packages
            continue
        match = CONDA_SPEC.match(item)
        assert match, f"environment.yml: cannot read the dependency {item!r}"
        name, op, version = match.groups()
        assert name not in specs, f"environment.yml lists {name} twice"
        specs[name] = (op, version)
    return specs


def test_simple_yaml_parser():
    text = "name: env  # a comment\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - pip\n  - pip:\n" \
           "      - nbval\n  - numpy=2\n"
    assert parse_simple_yaml(text) == {"name": "env", "channels": ["conda-forge"],
                                       "dependencies": ["python=3.12", "pip", {"pip": ["nbval"]}, "numpy=2"]}
    with pytest.raises(ValueError, match="line 2"):
        parse_simple_yaml("dependencies:\n  numpy: {version: 2}\n")


def test_environment_uses_conda_forge_only(conda_env):
    assert conda_env["channels"] == ["conda-forge"]
    assert isinstance(conda_env["name"], str) and conda_env["name"]


def test_environment_pins_python_to_one_version(conda_env, pyproject):
    op, version = conda_specs(conda_env)["python"]
    assert op in ("=", "==") and version and "*" not in version, f"python must be pinned exactly, got {op}{version}"
    assert len(version_tuple(version)) == 2, f"pin python to one minor version (like 3.12), got {version}"
    lowest = version_tuple(pyproject["project"]["requires-python"].removeprefix(">="))
    assert version_tuple(version) >= lowest, "the pinned python must satisfy requires-python"


def test_environment_lists_every_runtime_dependency(conda_env, pyproject):
    specs = conda_specs(conda_env)
    for requirement in pyproject["project"]["dependencies"]:
        name, _extras, constraint, _marker = REQUIREMENT.match(requirement).groups()
        candidates = CONDA_NAMES.get(name.lower(), {name.lower()}) & specs.keys()
        assert candidates, f"environment.yml does not list {name} (from pyproject.toml: {requirement!r})"
        op, version = specs[candidates.pop()]
        lower = re.fullmatch(r">=\s*([0-9.]+)", constraint)
        assert lower, f"pyproject.toml: give {name} a plain lower bound (>=), got {constraint!r}"
        if op in ("=", "==", ">="):
            # conda's `numpy=2` means 2.*: it agrees with `numpy>=2` when its version, cut to its own length,
            # is not below the lower bound cut to the same length.
            pinned = version_tuple(version)
            assert pinned >= version_tuple(lower.group(1))[: len(pinned)], \
                f"environment.yml pins {name}{op}{version}, below pyproject.toml's {requirement!r}"


def test_runtime_dependencies_are_the_course_stack(pyproject):
    names = {REQUIREMENT.match(r).group(1).lower() for r in pyproject["project"]["dependencies"]}
    assert names == {"numpy", "matplotlib", "ipywidgets", "jupyterlab"}
    extras = pyproject["project"]["optional-dependencies"]
    test_names = {REQUIREMENT.match(r).group(1).lower() for r in extras["test"]}
    assert {"pytest", "nbval", "pytest-xdist", "nbformat", "nbclient", "ipykernel", "ruff"} <= test_names
    assert "vanishing[test]" in extras["dev"]


def test_postbuild_is_executable_and_installs_the_package(repo_root):
    path = repo_root / "postBuild"
    assert os.access(path, os.X_OK), "postBuild must be executable"
    git = shutil.which("git")
    if git and (repo_root / ".git").exists():
        staged = subprocess.run([git, "ls-files", "-s", "postBuild"], cwd=repo_root, capture_output=True, text=True)
        if staged.stdout:
            assert staged.stdout.startswith("100755"), "postBuild must be committed as executable (git mode 100755)"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] in ("#!/usr/bin/env bash", "#!/bin/bash")
    commands = [line for line in lines[1:] if line and not line.startswith("#")]
    assert commands[0] == "set -euo pipefail"
    assert "python -m pip install --no-deps -e ." in commands


def test_wheel_holds_every_module_and_the_data(repo_root, tmp_path, pyproject):
    """Build the wheel offline (no build isolation) and look inside."""
    setuptools = pytest.importorskip("setuptools", reason="the `test` extra installs setuptools")
    assert version_tuple(setuptools.__version__)[:1] >= (77,), "pyproject.toml's build backend needs setuptools>=77"
    shutil.copytree(repo_root, tmp_path / "src", ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "notebooks",
        "solutions", "benchmarks"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path / "dist"), str(tmp_path / "src")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("vanishing-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    package = repo_root / "vanishing"
    modules = {p.relative_to(repo_root).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - names == set(), "modules missing from the wheel"
    data = {p.relative_to(repo_root).as_posix() for p in (package / "_data").glob("*")
            if p.name.endswith(".csv.gz") or p.name == "README.md"}
    assert data - names == set(), "data files missing from the wheel"
    assert not any(name.startswith(("tests/", "solutions/", "notebooks/")) for name in names)
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)

    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    for requirement in pyproject["project"]["dependencies"]:
        assert f"Requires-Dist: {requirement}" in text


def test_readme_binder_badge_opens_start_notebook(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    links = BINDER.findall(readme)
    assert links, "README.md has no Binder link"
    for org, repo, target in links:
        assert (org, repo) == ("vanishing-gradients", "vanishing-gradients")
        assert target == "notebooks/00_start_here.ipynb"
    assert "https://mybinder.org/badge_logo.svg" in readme
    assert (repo_root / "notebooks" / "00_start_here.ipynb").is_file(), "the Binder badge opens a missing notebook"


def test_readme_course_map_covers_every_notebook(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\|\s*(\d\d)\s*\|", readme, flags=re.MULTILINE))
    assert rows == {f"{n:02d}" for n in range(10)}
    for path in (repo_root / "solutions").glob("*.ipynb"):
        assert path.name[:2] in rows, f"{path.name} is not in README.md's course map"


def quick_start_commands(repo_root: Path) -> list[str]:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_quick_start_is_two_commands(repo_root):
    commands = quick_start_commands(repo_root)
    assert len(commands) == 2, commands
    setup, _, open_lab = commands[0].rpartition(" && ")
    assert setup == "python3 -m venv .venv && .venv/bin/python -m pip install -e .", setup
    assert open_lab.startswith(".venv/bin/jupyter lab ") and open_lab.endswith(" notebooks/00_start_here.ipynb")
    assert commands[1] == "bash .ci/run"


def test_readme_open_command_serves_the_repository_and_opens_start_here(repo_root, tmp_path, subprocess_env):
    """The server that the README's first command starts, with its own arguments (in this environment).

    The learner's browser lands on notebooks/00_start_here.ipynb, and the file browser can reach
    solutions/ too: given only a notebook, JupyterLab would serve that notebook's folder alone.
    """
    args = shlex.split(quick_start_commands(repo_root)[0].rpartition(" && ")[2])[2:]  # after ".venv/bin/jupyter lab"
    runtime = tmp_path / "runtime"
    env = {**subprocess_env, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    with running_jupyterlab(args, cwd=repo_root, env=env, log_path=tmp_path / "server.log") as base:
        root = api(base, "/api/contents/")
        assert {"notebooks", "solutions"} <= {item["name"] for item in root["content"]}, root["content"]
        pages = list(runtime.glob("jpserver-file-to-run-*-open.html"))
        assert len(pages) == 1, pages
        port = base.rpartition(":")[2]
        assert f":{port}/lab/tree/notebooks/00_start_here.ipynb\"" in pages[0].read_text(encoding="utf-8")


def test_nbval_runs_notebooks_in_their_folder_with_inline_figures(repo_root, tmp_path, subprocess_env):
    """nbval, as the test command runs it, starts each kernel in the notebook's folder, with the inline backend.

    The conftest sets MPLBACKEND=Agg for this process; learners' kernels never see that, and neither may
    the kernels that test their notebooks.
    """
    folder = tmp_path / "probe_folder"
    folder.mkdir()
    expected = "probe_folder module://matplotlib_inline.backend_inline\n"
    cell = {"cell_type": "code", "execution_count": 1, "id": "probe", "metadata": {},
            "source": ["# NBVAL_CHECK_OUTPUT\n", "import os\n", "import matplotlib\n",
                       "print(os.path.basename(os.getcwd()), matplotlib.get_backend())"],
            "outputs": [{"name": "stdout", "output_type": "stream", "text": [expected]}]}
    nb = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "probe_notebook.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    env = {**subprocess_env, "MPLBACKEND": "Agg"}
    # tests/ is passed so that its conftest is loaded, as in the real run; -k keeps only the probe's cell.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(repo_root / "pyproject.toml"),
         "--rootdir", str(repo_root), "--nbval-lax", "--nbval-current-env", "-k", "probe_notebook",
         str(repo_root / "tests"), str(folder / "probe_notebook.ipynb")],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout[-3000:]
