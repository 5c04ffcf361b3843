"""The course in a real browser: JupyterLab, headless Chromium, every notebook run as a learner runs it.

For every notebook in ``notebooks/`` and ``solutions/`` (whatever exists when the test starts), in one
JupyterLab server and one browser, one notebook after the other:

1. open it in JupyterLab and wait until its kernel is idle;
2. run all cells (JupyterLab's own "Run All Cells" command) and wait until they are done and the kernel is
   idle again (when no cell has run a minute after the command, the notebook is opened once more with a new
   kernel, and the test says so);
3. assert that every code cell ran and no output is an error (an ``error`` output, or a traceback in a
   stream); the self-checks' "not attempted yet" verdicts in the learners' notebooks are ordinary outputs;
4. assert that every widget output was rendered by the widget manager (no "Error displaying widget",
   no "model not found") and that every widget figure (the App's ``Image``) was loaded by the browser;
5. assert that each slider's track is at least 80 px wide as laid out (a long label takes its width out
   of the control's); for every widget with a figure: move a slider one step with the keyboard (or change
   a dropdown, and press Run when the widget has a Run button) and assert that the figure (the ``<img>``'s
   ``src``) changes within 2 s; a widget passes when one of its first few controls does that;
6. for every widget without a Run button (those that recompute at every change): drag its first slider
   across its range in small steps (mouse down on the knob, to the left end, then in small moves to the
   right end, release) and assert that at least 3 different figures appeared before the release, and that
   the figure of the released value (checked in the kernel: the App whose figure is shown has that
   slider at its maximum) appeared within 300 ms after it;
7. keep a screenshot of the notebook's first widget, before and after that change (and of each dragged
   widget during and after its drag), in a temporary folder whose path is printed, for a person to look at.

Run it alone with::

    python -m pytest -m browser tests/test_browser.py

It needs Playwright (``pip install playwright``, in the ``test`` extra; never ``playwright install``: the
test drives the system's Chromium, Debian's package ``chromium``, at ``/usr/bin/chromium`` or at the path
in ``VANISHING_CHROMIUM``). Without Chromium or Playwright the test is skipped with the reason, except
in CI (``CI=true``), where it fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.relative_to(REPO_ROOT).as_posix() for folder in ("notebooks", "solutions")
                   for p in (REPO_ROOT / folder).glob("*.ipynb"))

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT = 120  # s: JupyterLab's server answering /api/status
KERNEL_READY_TIMEOUT = 180_000  # ms: page loaded, notebook open, kernel started and idle
RUN_ALL_TIMEOUT = 900_000  # ms: all cells of one notebook (nbval allows 600 s for one cell)
# ms: from Run All Cells to the first cell's reply (a first cell takes about a second). Once in 18 notebooks, on
# Python 3.10, the kernel got no request at all: idle, no CPU time, no cell run after 15 minutes. JupyterLab's
# frontend has had such stalls of its kernel connection; the notebook is then opened once more, with a new kernel.
RUN_START_TIMEOUT = 60_000
RENDER_TIMEOUT = 60_000  # ms: widget views and their images in the page after the run
FIGURE_CHANGE_TIMEOUT = 2_000  # ms: a widget's figure after a control changes (the course's promise)
CONTROLS_TRIED = 3  # controls tried per widget before it fails the change check
DRAG_MOVES = 60  # mouse moves from one end of a slider's track to the other
DRAG_MOVE_MS = 30  # ms between two moves: a 1.8 s drag
FIGURES_WHILE_DRAGGING = 3  # different figures that must appear before the release
RELEASED_FIGURE_MS = 300  # the released value's figure must appear within this time after the release
SETTLED_MS = 1_500  # no new figure for this long after the release: the drag's figures are all in
MIN_TRACK_PX = 80  # a slider's track narrower than this is hard to drag (a long label once left a bare knob)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip, or fail in CI, where the browser test must run."""
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so the browser test fails instead of skipping "
                    "(.ci/run installs Debian's chromium with apt-get and Playwright with the test extra)")
    pytest.skip(reason)


def chromium_path() -> str | None:
    chosen = os.environ.get("VANISHING_CHROMIUM")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api(base: str, path: str, method: str = "GET") -> object:
    request = urllib.request.Request(base + path, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


@contextlib.contextmanager
def running_jupyterlab(args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``python -m jupyterlab *args`` on a free localhost port, without browser, token or password.

    Yields the server's base URL once its ``/api/status`` answers; at the end stops the server and the
    kernels it started (they share its process group). The server's output goes to ``log_path``.
    """
    port = free_port()
    command = [sys.executable, "-m", "jupyterlab", *args, "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", "--ServerApp.allow_root=True",
               "--IdentityProvider.token=", "--ServerApp.password="]
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {server.returncode} at start:\n"
                            f"{log_path.read_text(encoding='utf-8')[-4000:]}")
            try:
                api(base, "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n"
                                f"{log_path.read_text(encoding='utf-8')[-4000:]}")
                time.sleep(0.25)
        yield base
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            if server.poll() is not None:
                break
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                break
            try:
                server.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(server.pid, signal.SIGKILL)  # kernels left behind by a server that exited
        except ProcessLookupError:
            pass


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        unavailable("Chromium not found at /usr/bin/chromium or on PATH (install Debian's package: "
                    "apt-get install chromium), nor set by VANISHING_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("Playwright is not installed (python -m pip install playwright; it uses the system Chromium)")
    return path


@pytest.fixture(scope="module")
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    """A folder that outlives the test run, so that a person can look at the screenshots."""
    folder = Path(tempfile.mkdtemp(prefix="vanishing-browser-screenshots-"))
    message = f"browser test: screenshots of each notebook's first widget go to {folder}"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message)
    else:  # an xdist worker has no terminal of its own
        print(message, file=sys.stderr)
    return folder


@pytest.fixture(scope="module")
def lab(chromium: str, tmp_path_factory: pytest.TempPathFactory, subprocess_env: dict[str, str]) -> Iterator[str]:
    """A JupyterLab server on a free localhost port, without token or password, serving copies of the notebooks.

    Its settings, workspaces, configuration and runtime files live in a temporary folder, so that a
    person's own JupyterLab settings change nothing; notebooks are laid out whole (no windowing), so
    every cell and output is in the page.
    """
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "root"
    for folder in ("notebooks", "solutions"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    settings = home / "settings"
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    # The kernels inherit this environment: without the tests' MPLBACKEND=Agg, as a learner's kernel.
    env = {key: value for key, value in subprocess_env.items() if key != "MPLBACKEND"}
    env.update(JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    with running_jupyterlab([f"--ServerApp.root_dir={root}", "--ServerApp.disable_check_xsrf=True",
                             "--ServerApp.terminals_enabled=False", "--LabApp.expose_app_in_browser=True",
                             "--LabApp.extension_manager=readonly"],
                            cwd=root, env=env, log_path=home / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser_context(chromium: str, lab: str) -> Iterator[object]:
    """One headless Chromium for all notebooks (one context: JupyterLab's assets load once)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1600})
            yield context
            context.close()
        finally:
            browser.close()


# ------------------------------------------------------------------------------------------------ page helpers

KERNEL_IDLE = """() => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!(kernel && kernel.status === 'idle' && panel.content && panel.content.model);
}"""

RUN_ALL = """() => {
    window.__vgRun = null;
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (result) => { window.__vgRun = {ok: result !== false}; },
        (error) => { window.__vgRun = {ok: false, error: String(error)}; });
}"""

ANY_CELL_RAN = """() => {
    const model = window.jupyterapp.shell.currentWidget.content.model;
    for (let i = 0; i < model.cells.length; i++) {
        const cell = model.cells.get(i);
        if (cell.type === 'code' && cell.executionCount !== null) return true;
    }
    return false;
}"""

KERNEL_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return kernel ? `kernel ${kernel.status}, connection ${kernel.connectionStatus}` : 'no kernel';
}"""

RUN_DONE = """() => {
    if (window.__vgRun === null) return false;
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!(kernel && kernel.status === 'idle');
}"""

CELLS = """() => {
    const model = window.jupyterapp.shell.currentWidget.content.model;
    const cells = [];
    for (let i = 0; i < model.cells.length; i++) cells.push(model.cells.get(i).toJSON());
    return cells;
}"""

# Marks each widget output's view with data-vg-widget="<n>" (or data-vg-widget-error) and reports them.
WIDGET_VIEWS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const views = [];
    panel.content.widgets.forEach((cell, index) => {
        if (cell.model.type !== 'code') return;
        cell.node.querySelectorAll('.jp-OutputArea-output').forEach((output) => {
            const text = output.innerText || '';
            const view = output.querySelector(':scope > .jupyter-widgets');
            if (text.includes('Error displaying widget') || text.includes('model not found')) {
                views.push({cell: index, error: text.slice(0, 300)});
            } else if (view) {
                view.setAttribute('data-vg-widget', String(views.length));
                const images = Array.from(view.querySelectorAll('img.widget-image'));
                views.push({cell: index, error: null, images: images.length,
                            loaded: images.filter((im) => im.complete && im.naturalWidth > 0
                                                  && im.src.startsWith('blob:')).length});
            }
        });
    });
    return views;
}"""

FIGURE_CHANGED = """([image, before]) => image.src !== before && image.complete && image.naturalWidth > 0"""


# Records every figure the widget's <img> shows (at its load) and the time of the mouse's release.
RECORD_FIGURES = """(image) => {
    const record = {loads: [], release: null};
    window.__vgDrag = record;
    image.addEventListener('load', () => record.loads.push({t: performance.now(), src: image.src}));
    document.addEventListener('pointerup', () => { record.release = performance.now(); },
                              {capture: true, once: true});
    return performance.now();
}"""

DISPLAYED_HASH = """async (image) => {
    const bytes = await (await fetch(image.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, '0')).join('');
}"""

# Runs code in the notebook's kernel and returns what it printed.
KERNEL_PRINT = """(code) => new Promise((resolve, reject) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({code, silent: false, store_history: false});
    let text = '';
    future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'stream') text += msg.content.text;
        if (msg.header.msg_type === 'error') reject(msg.content.ename + ': ' + msg.content.evalue);
    };
    future.done.then(() => resolve(text), reject);
})"""

# Every App in the kernel: the SHA-256 of its current PNG, how many updates its worker thread ran, and for each
# slider whether it is at its maximum.
APPS_IN_KERNEL = """
import gc as _gc, hashlib as _hashlib, json as _json
from vanishing.widgets import App as _App
def _top(_c):
    return _c.base ** _c.max if hasattr(_c, "base") else _c.max
print(_json.dumps([{"png": _hashlib.sha256(_a.png).hexdigest() if _a.png else None, "worker_runs": _a._worker.runs,
                    "at_max": {_c.description: bool(_c.value >= (1 - 1e-9) * _top(_c))
                               for _c in _a.controls.values() if hasattr(_c, "max")}}
                   for _a in _gc.get_objects() if isinstance(_a, _App)]))
"""


def error_outputs(cells: list[dict]) -> list[str]:
    """Error outputs and tracebacks printed to a stream, one line each, naming the cell."""
    found = []
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            kind = output.get("output_type")
            if kind == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif kind == "stream":
                text = "".join(output.get("text", ""))
                if "Traceback (most recent call last)" in text:
                    found.append(f"cell {index}: traceback in {output.get('name')}: {text[-500:]}")
    return found


def widget_output_cells(cells: list[dict]) -> list[int]:
    return [index for index, cell in enumerate(cells) if cell["cell_type"] == "code"
            for output in cell.get("outputs", []) if WIDGET_MIME in output.get("data", {})]


def shut_down_kernels(base: str) -> None:
    for session in api(base, "/api/sessions") or []:
        try:
            api(base, f"/api/sessions/{session['id']}", method="DELETE")
        except urllib.error.HTTPError:
            pass  # gone already


def change_figure(page, view) -> tuple[bool, list[str]]:
    """Change one control after another (at most CONTROLS_TRIED) until the widget's figure changes.

    Returns whether it changed within FIGURE_CHANGE_TIMEOUT, and what was tried.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    image = view.locator("img.widget-image").first
    run = view.locator("button", has_text="Run")
    tried: list[str] = []
    actions = []
    for handle in view.locator(".widget-slider .noUi-handle").all():
        actions.append(("slider", handle))
    for select in view.locator(".widget-dropdown").all():
        label = select.locator("label").inner_text().strip()
        actions.append(("dropdown" if label != "scenario" else "scenario", select))
    for kind, control in actions[:CONTROLS_TRIED]:
        before = image.get_attribute("src")
        image_handle = image.element_handle()
        if kind == "slider":
            name = control.locator("xpath=ancestor::div[contains(@class, 'widget-slider')]").locator(
                "label").inner_text().strip()
            at_max = float(control.get_attribute("aria-valuenow")) >= float(control.get_attribute("aria-valuemax"))
            key = "ArrowLeft" if at_max else "ArrowRight"
            control.focus()
            start = time.perf_counter()
            control.press(key)
            what = f"slider {name!r} {key}"
        else:
            select = control.locator("select")
            options = select.locator("option").all()
            current = select.evaluate("(el) => el.selectedIndex")
            index = next(i for i in range(len(options)) if i != current)
            name = control.locator("label").inner_text().strip()
            start = time.perf_counter()
            select.select_option(index=index)
            what = f"dropdown {name!r} -> {options[index].get_attribute('value')!r}"
        if run.count():
            # with a Run button the change only marks the figure out of date: the 2 s start at the click
            start = time.perf_counter()
            run.first.click()
            what += ", then Run"
        try:
            page.wait_for_function(FIGURE_CHANGED, arg=[image_handle, before], timeout=FIGURE_CHANGE_TIMEOUT,
                                   polling=50)
        except PlaywrightTimeout:
            message = view.locator(".widget-html-content").all_inner_texts()
            tried.append(f"{what}: no new figure within {FIGURE_CHANGE_TIMEOUT / 1000:g} s "
                         f"(messages: {[m for m in message if m.strip()][-1:]})")
            continue
        tried.append(f"{what}: new figure {time.perf_counter() - start:.2f} s after the "
                     f"{'click' if run.count() else 'change'}")
        return True, tried
    return False, tried or ["no slider or dropdown found"]


def drag_slider(page, view, shots: Path | None) -> str:
    """Drag the view's first slider across its range (see the module's docstring, item 6) and check the figures.

    Returns a line that says what was seen. ``shots``: where to save screenshots during and after the drag.
    """
    image = view.locator("img.widget-image").first
    handle = view.locator(".widget-slider .noUi-handle").first
    label = handle.locator("xpath=ancestor::div[contains(@class, 'widget-slider')]").locator("label").inner_text()
    label = label.strip()
    track = handle.locator("xpath=ancestor::div[contains(@class, 'noUi-target')]").bounding_box()
    knob = handle.bounding_box()
    y = knob["y"] + knob["height"] / 2
    # from the left end to the right end; the move onto the right end is the last thing before the release
    left, right = track["x"], track["x"] + track["width"]
    pressed = page.evaluate(RECORD_FIGURES, image.element_handle())
    page.mouse.move(knob["x"] + knob["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(left, y, steps=5)
    for k in range(1, DRAG_MOVES + 1):
        page.wait_for_timeout(DRAG_MOVE_MS)
        page.mouse.move(left + (right - left) * k / DRAG_MOVES, y)
        if shots is not None and k == DRAG_MOVES // 2:
            view.screenshot(path=str(shots.with_name(shots.name + "-dragging.png")), timeout=30_000)
    page.mouse.up()
    page.mouse.move(right, y + 200)  # away, so that the knob's hover state leaves the screenshot
    # wait until no figure has come for SETTLED_MS (at most 20 s)
    for _ in range(200):
        page.wait_for_timeout(100)
        record = page.evaluate("() => window.__vgDrag")
        last = record["loads"][-1]["t"] if record["loads"] else record["release"] or 0
        if record["release"] is not None and page.evaluate("performance.now()") - last > SETTLED_MS:
            break
    record = page.evaluate("() => window.__vgDrag")
    release, loads = record["release"], record["loads"]
    assert release is not None, f"slider {label!r}: the release was not seen"
    during = {load["src"] for load in loads if pressed < load["t"] <= release}
    assert len(during) >= FIGURES_WHILE_DRAGGING, (
        f"slider {label!r}: {len(during)} different figure(s) while it was dragged "
        f"({DRAG_MOVES} moves in {DRAG_MOVES * DRAG_MOVE_MS / 1000:g} s); at least {FIGURES_WHILE_DRAGGING} expected")
    after = loads[-1]["t"] - release if loads else float("-inf")
    shown = page.evaluate(DISPLAYED_HASH, image.element_handle())
    apps = json.loads(page.evaluate(KERNEL_PRINT, APPS_IN_KERNEL))
    owner = [app for app in apps if app["png"] == shown]
    assert owner, f"slider {label!r}: the figure shown is no App's current figure in the kernel"
    assert owner[0]["at_max"].get(label), (
        f"slider {label!r}: the figure shown is not that of the released value (the slider's maximum): "
        f"{owner[0]['at_max']}")
    assert owner[0]["worker_runs"] >= FIGURES_WHILE_DRAGGING, (
        f"slider {label!r}: the App's worker thread ran {owner[0]['worker_runs']} update(s): the drag was not "
        "computed by the worker (was it taken for a change made by code in the kernel?)")
    assert after <= RELEASED_FIGURE_MS, (
        f"slider {label!r}: the released value's figure appeared {after:.0f} ms after the release "
        f"(at most {RELEASED_FIGURE_MS} ms)")
    if shots is not None:
        view.screenshot(path=str(shots.with_name(shots.name + "-released.png")), timeout=30_000)
    return (f"slider {label!r} dragged: {len(during)} figures during the drag, {len(loads)} in all, "
            f"{owner[0]['worker_runs']} updates by the App's worker; "
            f"the released value's figure {max(after, 0):.0f} ms after the release")


def check_widgets(page, notebook: str, views: list[dict], screenshot_dir: Path) -> None:
    """Items 5 to 7 of the module's docstring for every rendered widget with a figure."""
    for number, view_info in enumerate(views):
        if not view_info["images"]:
            continue  # a widget without a figure: rendered is all it can show here
        view = page.locator(f'[data-vg-widget="{number}"]')
        stem = f"{notebook.replace('/', '-').removesuffix('.ipynb')}-widget{number + 1}"
        if number == 0:
            view.screenshot(path=str(screenshot_dir / f"{stem}.png"), timeout=30_000)
        changed, tried = change_figure(page, view)
        assert changed, (f"{notebook}: the widget in cell {view_info['cell']} did not show a new figure "
                         f"within {FIGURE_CHANGE_TIMEOUT / 1000:g} s of a change:\n" + "\n".join(tried))
        print(f"{notebook}, widget in cell {view_info['cell']}: {tried[-1]}")
        if number == 0:
            view.screenshot(path=str(screenshot_dir / f"{stem}-changed.png"), timeout=30_000)
        if not view.locator("button", has_text="Run").count() and view.locator(".widget-slider").count():
            print(f"{notebook}, widget in cell {view_info['cell']}: "
                  f"{drag_slider(page, view, screenshot_dir / stem)}")


# ------------------------------------------------------------------------------------------------ the test


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(notebook: str, lab: str, browser_context, screenshot_dir: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser_context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        for attempt in (1, 2):
            page.goto(f"{lab}/lab/tree/{notebook}?reset", timeout=KERNEL_READY_TIMEOUT)
            page.wait_for_function(KERNEL_IDLE, timeout=KERNEL_READY_TIMEOUT, polling=250)
            started = time.perf_counter()
            page.evaluate(RUN_ALL)
            try:
                page.wait_for_function(ANY_CELL_RAN, timeout=RUN_START_TIMEOUT, polling=250)
                break
            except PlaywrightTimeout:
                state = page.evaluate(KERNEL_STATE)
                page.screenshot(path=str(screenshot_dir / f"{notebook.replace('/', '-')}-not-started-{attempt}.png"))
                assert attempt == 1, (f"{notebook}: no cell had run {RUN_START_TIMEOUT / 1000:g} s after Run All "
                                      f"Cells, twice ({state}); screenshots in {screenshot_dir}")
                # a warning, so that the run's summary shows it even when the test then passes
                warnings.warn(f"{notebook}: no cell had run {RUN_START_TIMEOUT / 1000:g} s after Run All Cells "
                              f"({state}); opened it again with a new kernel", stacklevel=1)
                shut_down_kernels(lab)
        page.wait_for_function(RUN_DONE, timeout=RUN_ALL_TIMEOUT, polling=250)
        run_seconds = time.perf_counter() - started
        outcome = page.evaluate("() => window.__vgRun")
        cells = page.evaluate(CELLS)

        errors = error_outputs(cells)
        assert not errors, f"{notebook}: error output in JupyterLab:\n" + "\n".join(errors)
        assert outcome["ok"], f"{notebook}: Run All Cells did not complete: {outcome}"
        not_run = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"
                   and "".join(cell["source"]).strip() and cell.get("execution_count") is None]
        assert not not_run, f"{notebook}: cells {not_run} did not run (run took {run_seconds:.1f} s)"

        expected = widget_output_cells(cells)
        page.wait_for_function(f"() => ({WIDGET_VIEWS})().length >= {len(expected)}", timeout=RENDER_TIMEOUT,
                               polling=250)
        page.wait_for_function(f"() => ({WIDGET_VIEWS})().every((v) => v.error || v.loaded === v.images)",
                               timeout=RENDER_TIMEOUT, polling=250)
        views = page.evaluate(WIDGET_VIEWS)
        broken = [view for view in views if view["error"]]
        assert not broken, f"{notebook}: widgets not rendered: {broken}"
        assert [view["cell"] for view in views] == expected, \
            f"{notebook}: widget outputs in cells {expected}, rendered views in cells {[v['cell'] for v in views]}"

        tracks = page.locator(".widget-slider").evaluate_all(
            "(sliders) => sliders.map((s) => [s.querySelector('label')?.innerText ?? '',"
            " s.querySelector('.noUi-target')?.getBoundingClientRect().width ?? null])")
        narrow = [(label, width) for label, width in tracks if width is not None and width < MIN_TRACK_PX]
        assert not narrow, f"{notebook}: slider tracks under {MIN_TRACK_PX} px (label, px): {narrow}"

        check_widgets(page, notebook, views, screenshot_dir)

        # the interactions must not have put an error into the notebook either
        errors = error_outputs(page.evaluate(CELLS))
        assert not errors, f"{notebook}: error output after moving the widgets:\n" + "\n".join(errors)
        assert not page_errors, f"{notebook}: uncaught errors in the page: {page_errors[:5]}"
        print(f"{notebook}: ran in {run_seconds:.1f} s in JupyterLab; {len(views)} widget(s)")
    finally:
        page.close()
        shut_down_kernels(lab)
