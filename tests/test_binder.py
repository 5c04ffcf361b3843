"""Binder and JupyterHub readiness, beyond the file checks of tests/test_packaging.py.

tests/test_packaging.py reads environment.yml with a small parser and checks its channels, the Python pin
and the runtime dependencies, and that postBuild holds the install command. Here:

- environment.yml is read by a real YAML parser and gives the same data as that small parser;
- every module the package and the notebooks import at run time comes with the environment (the standard
  library, the runtime dependencies and what they depend on), so a Binder launch downloads nothing;
- every notebook runs in the ``python3`` kernel a Binder or JupyterHub image has;
- postBuild, run the way Binder runs it (``./postBuild`` in the repository folder), installs the package;
- ``jupyter-repo2docker --no-build`` (the tool Binder builds images with) accepts the repository, picks
  the conda environment with the pinned Python, and its build script runs postBuild after copying the
  repository (skipped with the reason when repo2docker is not installed);
- README.md links every notebook of the course map to Binder, and shows an nbgitpuller link for a
  JupyterHub that opens notebooks/00_start_here.ipynb.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from test_packaging import REQUIREMENT, conda_specs, parse_simple_yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
ORG_REPO = "vanishing-gradients/vanishing-gradients"
COURSE = {
    "00": "00_start_here.ipynb",
    "01": "01_products_of_derivatives.ipynb",
    "02": "02_saturation.ipynb",
    "03": "03_dying_relu.ipynb",
    "04": "04_leaky_variants.ipynb",
    "05": "05_elu.ipynb",
    "06": "06_batch_normalization.ipynb",
    "07": "07_optimizers.ipynb",
    "08": "08_capstone.ipynb",
    "09": "09_what_practitioners_do.ipynb",
}
"""The course map: number -> the notebook's file name (in notebooks/ and solutions/)."""

BINDER_LINK = re.compile(r"https://mybinder\.org/v2/gh/[^\s)\]\"'>]+")
NBGITPULLER_LINK = re.compile(r"https://\S+?/hub/user-redirect/git-pull\?[^\s)\]\"'`]+")


def readme() -> str:
    return (REPO_ROOT / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------ environment


def test_environment_yml_is_yaml_that_the_simple_parser_reads_alike():
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with jupyterlab (jupyter_events)")
    text = (REPO_ROOT / "environment.yml").read_text(encoding="utf-8")
    real = yaml.safe_load(text)
    simple = parse_simple_yaml(text)
    # YAML reads `python=3.12` as a string, as conda does; the small parser must agree item by item
    assert real == simple
    assert set(real) <= {"name", "channels", "dependencies"}, f"unexpected keys in environment.yml: {set(real)}"


def _function_bodies(tree: ast.Module) -> set[int]:
    return {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f) if n is not f}


def imports_of(source: str) -> set[str]:
    tree = ast.parse(source)
    inside = _function_bodies(tree)  # imports inside functions are optional tools (e.g. authoring's nbclient)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def notebook_code(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            # IPython magics and shell lines are not Python
            lines += [line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def top_level_modules(distribution: importlib.metadata.Distribution) -> set[str]:
    """The import names a distribution provides: its top_level.txt, else the top of the paths it installed.

    (Python 3.10's ``packages_distributions`` reads top_level.txt alone, which wheels built without
    setuptools, numpy's and matplotlib's among them, do not have.)
    """
    listed = distribution.read_text("top_level.txt")
    if listed:
        return set(listed.split())
    names = set()
    for path in distribution.files or []:
        top = path.parts[0]
        if top == ".." or top.endswith((".dist-info", ".data", ".pth")) or top == "__pycache__":
            continue
        if len(path.parts) > 1:
            names.add(top)
        elif path.suffix in {".py", ".so", ".pyd"}:
            names.add(top.split(".")[0])
    return names


def runtime_modules(pyproject_dependencies: list[str]) -> set[str]:
    """Import names provided by the runtime dependencies and, recursively, by what they require."""
    by_distribution: dict[str, set[str]] = {}
    for distribution in importlib.metadata.distributions():
        by_distribution.setdefault(distribution.metadata["Name"].lower().replace("_", "-"), set()).update(
            top_level_modules(distribution))
    seen: set[str] = set()
    todo = [REQUIREMENT.match(r).group(1) for r in pyproject_dependencies]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [REQUIREMENT.match(r).group(1) for r in requirements if "extra ==" not in r]
    return set().union(*(by_distribution.get(name, set()) for name in seen))


def test_everything_imported_at_run_time_comes_with_the_environment(pyproject):
    allowed = set(sys.stdlib_module_names) | {"vanishing"} | runtime_modules(pyproject["project"]["dependencies"])
    assert {"numpy", "matplotlib", "ipywidgets"} <= allowed, "the runtime dependencies are not installed here"
    missing = {}
    sources = {p.relative_to(REPO_ROOT).as_posix(): p.read_text(encoding="utf-8")
               for p in (REPO_ROOT / "vanishing").rglob("*.py")}
    sources |= {p.relative_to(REPO_ROOT).as_posix(): notebook_code(p)
                for folder in ("notebooks", "solutions") for p in (REPO_ROOT / folder).glob("*.ipynb")}
    for name, source in sources.items():
        extra = imports_of(source) - allowed
        if extra:
            missing[name] = sorted(extra)
    assert not missing, ("imported at run time but not provided by environment.yml / pyproject.toml's "
                         f"dependencies (a Binder launch would fail): {missing}")


def test_imports_of_skips_function_bodies():
    source = "import numpy\nfrom os import path\ntry:\n    import yaml\nexcept ImportError:\n    pass\n" \
             "def f():\n    import nbclient\nfrom . import x\n"
    assert imports_of(source) == {"numpy", "os", "yaml"}


@pytest.fixture(scope="module")
def pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "notebooks").glob("*.ipynb")) +
                         sorted((REPO_ROOT / "solutions").glob("*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_uses_the_python3_kernel(path: Path):
    kernelspec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec {kernelspec}; Binder and hubs have python3"
    assert kernelspec.get("language", "python") == "python"


# ------------------------------------------------------------------------------------------------ postBuild


def _installed_vanishing() -> str | None:
    """Where this environment's installed distribution of vanishing lives (None when there is none)."""
    try:
        return str(importlib.metadata.distribution("vanishing")._path)  # noqa: SLF001 - the .dist-info folder
    except importlib.metadata.PackageNotFoundError:
        return None


def test_postbuild_installs_the_package(tmp_path):
    """Run ./postBuild as Binder does, in a copy of the repository, into a separate prefix, offline."""
    setuptools = pytest.importorskip("setuptools", reason="the `test` extra installs setuptools")
    assert int(setuptools.__version__.split(".")[0]) >= 77
    source = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".benchmarks"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Binder's `python` is the environment's. A script, not a symlink: a symlink to a virtual environment's
    # python starts the base interpreter (Python finds pyvenv.cfg beside the path it was started by).
    wrapper = bin_dir / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n", encoding="utf-8")
    wrapper.chmod(0o755)
    started = subprocess.run([str(wrapper), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    assert started.stdout.strip() == sys.prefix, (started.stdout, started.stderr)
    prefix = tmp_path / "prefix"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PIP_PREFIX=str(prefix), PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1",
               # never uninstall the vanishing this environment has (pip would, before installing into the prefix)
               PIP_IGNORE_INSTALLED="1",
               # offline: build with this environment's setuptools instead of downloading one
               PIP_NO_BUILD_ISOLATION="0")
    installed_before = _installed_vanishing()
    result = subprocess.run(["./postBuild"], cwd=source, env=env, capture_output=True, text=True, timeout=300)
    assert _installed_vanishing() == installed_before, "running postBuild changed this environment's vanishing"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Uninstalling" not in result.stdout + result.stderr

    site_packages = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    assert Path(site_packages).is_dir(), f"postBuild installed nothing into {prefix}"
    # -S: no other site folder (this machine's own install of vanishing must not answer)
    probe = ("import importlib.util, site, sys; site.addsitedir(sys.argv[1]); "
             "print(importlib.util.find_spec('vanishing').origin)")
    found = subprocess.run([sys.executable, "-S", "-c", probe, site_packages], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).resolve() == (source / "vanishing" / "__init__.py").resolve(), \
        f"after postBuild, vanishing comes from {found.stdout.strip()}, not from the repository"


# ------------------------------------------------------------------------------------------------ repo2docker


def repo2docker_command() -> list[str] | None:
    for name in ("jupyter-repo2docker", "repo2docker"):
        found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
        if found:
            return [found]
    if importlib.util.find_spec("repo2docker") is not None:
        return [sys.executable, "-m", "repo2docker"]
    return None


@pytest.fixture(scope="module")
def repo2docker_build() -> str:
    """The output of ``jupyter-repo2docker --no-build --debug``: its log and the Dockerfile it would build."""
    command = repo2docker_command()
    if command is None:
        pytest.skip("jupyter-repo2docker is not installed (python -m pip install jupyter-repo2docker); "
                    "with --no-build it needs no Docker daemon")
    result = subprocess.run([*command, "--no-build", "--no-run", "--debug", "--user-id", "1000",
                             "--user-name", "jovyan", str(REPO_ROOT)],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode == 0, \
        f"repo2docker rejected the repository (status {result.returncode}):\n{output[-4000:]}"
    return output


def test_repo2docker_builds_the_conda_environment_with_the_pinned_python(repo2docker_build):
    op, version = conda_specs(parse_simple_yaml((REPO_ROOT / "environment.yml").read_text(encoding="utf-8")))["python"]
    assert f"Building conda environment for python={version}" in repo2docker_build, repo2docker_build[:2000]
    assert re.search(r'^COPY --chown=\S+ src/environment\.yml \$\{REPO_DIR\}/environment\.yml$', repo2docker_build,
                     flags=re.MULTILINE)
    assert re.search(r'env update -p \$\{NB_PYTHON_PREFIX\} --file "environment\.yml"', repo2docker_build)


def test_repo2docker_runs_postbuild_after_copying_the_repository(repo2docker_build):
    lines = repo2docker_build.splitlines()
    copy = [i for i, line in enumerate(lines) if re.fullmatch(r"COPY --chown=\S+ src/ \$\{REPO_DIR\}/", line)]
    run = [i for i, line in enumerate(lines) if line.strip() == "RUN ./postBuild"]
    assert copy and run, "the build script neither copies the repository nor runs postBuild"
    assert run[0] > copy[0], "postBuild would run before the repository (and the package) is in the image"
    # nothing else in the repository makes repo2docker take another route (a Dockerfile, requirements.txt...)
    for other in ("Dockerfile", "requirements.txt", "setup.py", "Project.toml", "install.R", "apt.txt", "runtime.txt"):
        assert not (REPO_ROOT / other).exists() and not (REPO_ROOT / "binder" / other).exists(), other


# ------------------------------------------------------------------------------------------------ README links


def binder_target(url: str) -> tuple[str, str, str]:
    """(owner/repo, ref, the path JupyterLab opens) of a Binder link; urlpath may be URL-encoded."""
    parts = urlsplit(url)
    match = re.fullmatch(r"/v2/gh/([\w.-]+/[\w.-]+)/([\w.-]+)/?", parts.path)
    assert match, f"not a Binder link to a GitHub repository: {url}"
    query = parse_qs(parts.query)
    assert set(query) == {"urlpath"}, f"{url}: expected one urlpath= parameter"
    urlpath = unquote(query["urlpath"][0])
    assert urlpath.startswith("lab/tree/"), f"{url}: open the notebook in JupyterLab (urlpath=lab/tree/...)"
    return match.group(1), match.group(2), urlpath.removeprefix("lab/tree/")


def course_map_rows() -> dict[str, str]:
    section = readme().split("## Course map", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^\|\s*(\d\d)\s*\|.*$", section, flags=re.MULTILINE)}


def test_course_map_links_every_notebook_to_binder():
    rows = course_map_rows()
    assert set(rows) == set(COURSE), f"course map rows {sorted(rows)}"
    for number, row in rows.items():
        links = BINDER_LINK.findall(row)
        assert links, f"course map row {number} has no Binder link"
        targets = {binder_target(link) for link in links}
        assert targets == {(ORG_REPO, "HEAD", f"notebooks/{COURSE[number]}")}, (number, targets)


def test_course_map_file_names_match_the_notebooks():
    for path in sorted((REPO_ROOT / "solutions").glob("*.ipynb")):
        assert COURSE.get(path.name[:2]) == path.name, f"{path.name} is not the course map's name for {path.name[:2]}"
        assert (REPO_ROOT / "notebooks" / path.name).is_file(), f"notebooks/{path.name} is missing"


def test_binder_badge_and_every_binder_link_point_at_this_repository():
    links = BINDER_LINK.findall(readme())
    badge = re.search(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\((https://mybinder\.org/[^)]+)\)",
                      readme())
    assert badge, "README.md has no Binder badge"
    assert binder_target(badge.group(1)) == (ORG_REPO, "HEAD", "notebooks/00_start_here.ipynb")
    for link in links:
        repo, _ref, target = binder_target(link)
        assert repo == ORG_REPO, link
        if (REPO_ROOT / "solutions" / Path(target).name).exists():
            assert (REPO_ROOT / target).is_file(), f"{link} opens {target}, which does not exist"


def test_readme_shows_an_nbgitpuller_link_for_a_jupyterhub():
    links = NBGITPULLER_LINK.findall(readme())
    assert links, "README.md has no nbgitpuller link (https://<hub>/hub/user-redirect/git-pull?...)"
    for link in links:
        query = parse_qs(urlsplit(link).query)
        assert query.get("repo") == [f"https://github.com/{ORG_REPO}"], link
        assert query.get("branch") == ["main"], link
        # nbgitpuller clones into a folder named after the repository
        assert query.get("urlpath") == ["lab/tree/vanishing-gradients/notebooks/00_start_here.ipynb"], link


def test_readme_links_the_instructors_guide():
    assert "(INSTRUCTORS.md)" in readme()
    assert (REPO_ROOT / "INSTRUCTORS.md").is_file()


# ------------------------------------------------------------------------------------------------ INSTRUCTORS.md

REFERENCE_START = "<!-- widget reference: start -->"
REFERENCE_END = "<!-- widget reference: end -->"


def widget_reference() -> str:
    """The widget reference of INSTRUCTORS.md, from vanishing.widgets.WIDGETS (``python tests/test_binder.py``)."""
    import ipywidgets

    from vanishing.widgets import WIDGETS

    blocks = []
    for name, builder in WIDGETS.items():
        app = builder()
        notebook = getattr(sys.modules[builder.__module__], "NOTEBOOK", "?")
        controls = []
        for key, control in app.controls.items():
            options = getattr(control, "_options_values", None)
            if options is not None:
                controls.append(f"`{key}` ({', '.join(map(repr, options))})")
            elif isinstance(control, ipywidgets.FloatLogSlider):
                controls.append(f"`{key}` ({control.base ** control.min:g} to {control.base ** control.max:g})")
            elif hasattr(control, "min") and hasattr(control, "max"):
                controls.append(f"`{key}` ({control.min:g} to {control.max:g})")
            elif isinstance(control, ipywidgets.Checkbox):
                controls.append(f"`{key}` (True or False)")
            else:
                controls.append(f"`{key}`")
        run = " It has a Run button: after changing a control, press Run." if app.run_button is not None else ""
        presets = "\n".join(f"  - `{preset!r}`" for preset in app.presets) or "  - (none)"
        blocks.append(f"- **`vn.widgets.{name}`** (notebook {notebook}).{run} Controls: {', '.join(controls)}.\n"
                      f"  Scenarios (`preset=`):\n{presets}")
        app.close()
    return "\n".join(blocks)


def instructors() -> str:
    return (REPO_ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")


def test_instructors_guide_names_every_widget_builder():
    from vanishing.widgets import WIDGETS

    text = instructors()
    missing = [name for name in WIDGETS if f"vn.widgets.{name}" not in text]
    assert not missing, (f"INSTRUCTORS.md does not mention {missing}; paste the output of "
                         f"`python tests/test_binder.py` between {REFERENCE_START!r} and {REFERENCE_END!r}")


def test_instructors_guide_names_only_scenarios_that_exist():
    """A scenario written in the guide must open: ``vn.widgets.<name>(preset=...)`` raises for an unknown one."""
    from vanishing.widgets import WIDGETS

    text = instructors()
    assert REFERENCE_START in text and REFERENCE_END in text
    reference = text.split(REFERENCE_START, 1)[1].split(REFERENCE_END, 1)[0]
    presets = {name: set(builder().presets) for name, builder in WIDGETS.items()}
    current = None
    for line in reference.splitlines():
        header = re.match(r"- \*\*`vn\.widgets\.(\w+)`\*\*", line)
        if header:
            current = header.group(1)
            assert current in WIDGETS, f"INSTRUCTORS.md describes a widget that does not exist: {current}"
        elif (quoted := re.fullmatch(r"\s+- `(['\"])(.*)\1`", line)) and current:
            assert quoted.group(2) in presets[current], \
                f"INSTRUCTORS.md lists scenario {quoted.group(2)!r} of {current}, which it does not have"
    # the examples in the text run as written
    for name, preset in re.findall(r"vn\.widgets\.(\w+)\(preset=(['\"].*?['\"])\)", text):
        assert name in WIDGETS and ast.literal_eval(preset) in presets[name], (name, preset)


if __name__ == "__main__":
    print(widget_reference())
