"""Benchmarks: speed and memory of the engine, the notebooks and the widgets.

Run from the repository root::

    python benchmarks/run.py                 # everything (needs `vanishing` installed: pip install -e .)
    python -m benchmarks.run                 # the same, without installing
    python benchmarks/run.py --quick         # fewer steps and updates, a rough look in well under a minute
    python benchmarks/run.py --only engine   # one part: engine, notebooks, widgets or memory
    python benchmarks/run.py --repeat 60     # more rounds (see --help)

These are measurements, not tests: nothing here fails a build. See README.md
for what each part measures and the figures measured on the project's machine.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import datetime
import gc
import glob
import io
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent

try:
    import vanishing as vn
    from vanishing import activations, layers, losses, optim
except ModuleNotFoundError as error:  # pragma: no cover - depends on how the script is started
    if error.name != "vanishing":
        raise
    if __name__ == "__main__" and not __package__ and (REPO / "vanishing" / "__init__.py").exists():
        # Started as `python benchmarks/run.py` without the package installed: run the module form from the
        # repository root, where `vanishing` is importable (the working tree is what gets measured).
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "benchmarks.run", *sys.argv[1:]])
    sys.exit("benchmarks/run.py: the package `vanishing` is not importable. From the repository root either install "
             "it (pip install -e .) or run `python -m benchmarks.run`.")

# --------------------------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------------------------

BATCH = 128  # examples per step
IN_FEATURES = 64  # digits-sized input (8x8 images)
CLASSES = 10  # digit classes; softmax cross-entropy on the logits
LR = 0.01  # plain SGD, no momentum, no weight decay
POOL = 8  # distinct batches cycled through, the same sequence for every implementation
ENGINE_TARGET = 1.15  # engine step time / bare numpy step time must stay below this
TORCH_TARGET = 1.5  # torch step time / engine step time must reach this
WIDGET_LIMIT_MS = 80.0  # a widget update (recompute + redraw) slower than this at the 95th percentile is flagged
RUN_LIMIT_MS = 600.0  # a widget that trains: one Run of its default setting slower than this (p95) is flagged
TRAINING_RUNS = 20  # Runs of the default setting timed per widget that trains
PROGRESS_GAP_S = 0.5  # the dashboard's view must change at least this often while it trains


@dataclass(frozen=True)
class NetSpec:
    """A reference MLP: ``depth`` hidden layers of ``width`` units with one activation."""

    name: str
    depth: int
    width: int
    activation: str

    @property
    def sizes(self) -> list[int]:
        return [IN_FEATURES] + [self.width] * self.depth + [CLASSES]


NETS = (NetSpec("8x64 tanh", 8, 64, "tanh"), NetSpec("20x32 sigmoid", 20, 32, "sigmoid"))
DTYPES = (np.float32, np.float64)


@dataclass(frozen=True)
class Settings:
    rounds: int  # interleaved rounds of the engine benchmark
    steps: int  # timed steps of each implementation in one round
    warmup: int  # untimed steps before timing
    notebook_runs: int  # executions of each notebook
    widget_updates: int  # control changes timed for each widget
    memory_steps: int  # steps traced by tracemalloc


def settings_for(quick: bool, repeat: int | None) -> Settings:
    if quick:
        base = Settings(rounds=6, steps=10, warmup=10, notebook_runs=1, widget_updates=12, memory_steps=5)
    else:
        base = Settings(rounds=60, steps=10, warmup=30, notebook_runs=1, widget_updates=30, memory_steps=20)
    if repeat is None:
        return base
    return Settings(rounds=repeat, steps=base.steps, warmup=base.warmup, notebook_runs=repeat,
                    widget_updates=repeat, memory_steps=base.memory_steps)


# --------------------------------------------------------------------------------------------------------------------
# Small helpers: statistics, tables, threads, memory
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    median: float
    q1: float
    q3: float
    p95: float
    n: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def summarize(values: list[float] | np.ndarray) -> Summary:
    v = np.asarray(values, dtype=np.float64)
    q1, median, q3, p95 = np.percentile(v, [25, 50, 75, 95])
    return Summary(float(median), float(q1), float(q3), float(p95), int(v.size))


def table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    """A fixed-width text table; the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers] + rows) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        parts = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in pairs]
        return indent + "  ".join(parts).rstrip()

    rule = indent + "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(r) for r in rows])


def heading(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))


def numpy_blas_threads() -> tuple[int, str]:
    """Threads numpy's BLAS uses, and how that was found out."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                       "openblas_get_num_threads64_", "openblas_get_num_threads"):
            getter = getattr(lib, symbol, None)
            if getter is not None:
                return int(getter()), f"asked OpenBLAS ({symbol})"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), f"from ${var}"
    return os.cpu_count() or 1, "assumed: one per core"


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes)
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2
    return resource.getrusage(who).ru_maxrss * scale


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other processes on the machine make every timing noisier."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                return text.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def try_import_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


# --------------------------------------------------------------------------------------------------------------------
# Part 1: the three implementations of one training step
# --------------------------------------------------------------------------------------------------------------------


def make_data(dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """POOL batches of standard normal inputs (POOL, BATCH, IN_FEATURES) and integer class labels (POOL, BATCH)."""
    rng = np.random.default_rng(2024)
    X = rng.standard_normal((POOL, BATCH, IN_FEATURES)).astype(dtype)
    y = rng.integers(0, CLASSES, size=(POOL, BATCH))
    return X, y


class EngineRunner:
    """One training step with the vanishing engine: forward, loss, backward, SGD step."""

    label = "engine"

    def __init__(self, spec: NetSpec, dtype: Any, seed: int = 7, readable: bool = False) -> None:
        self.model = vn.mlp(spec.sizes, spec.activation, rng=np.random.default_rng(seed), dtype=dtype)
        if readable:  # the layers of vanishing.activations, without the faster twins of vanishing._fast
            self.model = layers.Sequential([activations.make_activation(spec.activation)
                                               if isinstance(layer, activations.Activation) else layer
                                               for layer in self.model])
        self.loss = losses.SoftmaxCrossEntropy()
        self.opt = optim.SGD(self.model, lr=LR)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        out = self.model.forward(x)
        value = self.loss.forward(out, y)
        self.model.backward(self.loss.backward())
        self.opt.step()
        return value

    def phases(self, x: np.ndarray, y: np.ndarray, clock: Callable[[], float] = time.perf_counter) -> list[float]:
        """The same step, timed in five phases (seconds)."""
        t0 = clock()
        out = self.model.forward(x)
        t1 = clock()
        self.loss.forward(out, y)
        t2 = clock()
        dout = self.loss.backward()
        t3 = clock()
        self.model.backward(dout)
        t4 = clock()
        self.opt.step()
        t5 = clock()
        return [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(layer.params["W"], layer.params["b"]) for layer in self.model if isinstance(layer, layers.Dense)]


PHASES = ("forward", "loss forward", "loss backward", "backward", "optimizer step")


class BareRunner:
    """The same step written directly in numpy: matmuls, the activation, softmax cross-entropy, backprop, update.

    ``derivatives="accurate"`` (the reference of the 1.15 bar) computes what the engine computes, with the
    engine's formulas written out: the activation's derivative from the pre-activation z, in the form that stays
    accurate for large |z| (tanh' = 1/cosh²(z); σ and σ' from e = exp(-|z|)). ``derivatives="textbook"`` is the
    loop most tutorials write, 1/(1 + exp(-z)) and the derivative from the saved output (1 - h², h(1 - h)),
    which rounds to 0 for |z| above about 19 (tanh) or 37 (sigmoid) in float64: it shows what accuracy costs.
    """

    label = "bare numpy"

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], activation: str,
                 derivatives: str = "accurate") -> None:
        self.W = [W.copy() for W, _ in weights]
        self.b = [b.copy() for _, b in weights]
        self.activation = activation
        self.accurate = derivatives == "accurate"
        self.rows = np.arange(BATCH)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.h, self.z = [x], [None]
        for W, b in zip(self.W[:-1], self.b[:-1], strict=True):
            z = x @ W + b
            if self.activation == "tanh":
                x = np.tanh(z)
            elif self.accurate:
                e = np.exp(-np.abs(z))
                x = np.where(z < 0, e, 1) / (1 + e)
            else:
                x = 1 / (1 + np.exp(-z))
            self.h.append(x)
            self.z.append(z)
        return x @ self.W[-1] + self.b[-1]

    def derivative(self, i: int) -> np.ndarray:
        """f'(z) of hidden layer i."""
        if not self.accurate:
            h = self.h[i]
            return 1 - h * h if self.activation == "tanh" else h * (1 - h)
        z = self.z[i]
        if self.activation == "tanh":
            with np.errstate(over="ignore"):
                sech = 1 / np.cosh(z)
            return sech * sech
        e = np.exp(-np.abs(z))
        return e / (1 + e) ** 2

    def loss_forward(self, logits: np.ndarray, y: np.ndarray) -> float:
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        self.prob = exp / total
        self.y = y
        return float(np.sum(np.log(total[:, 0]) - shifted[self.rows, y]) / len(y))

    def loss_backward(self) -> np.ndarray:
        dz = self.prob.copy()
        dz[self.rows, self.y] -= 1
        return dz / len(self.y)

    def backward(self, dz: np.ndarray) -> None:
        self.dW = [None] * len(self.W)
        self.db = [None] * len(self.W)
        for i in range(len(self.W) - 1, -1, -1):
            self.dW[i] = self.h[i].T @ dz
            self.db[i] = dz.sum(axis=0)
            dh = dz @ self.W[i].T
            if i:
                dz = dh * self.derivative(i)

    def update(self) -> None:
        for W, b, dW, db in zip(self.W, self.b, self.dW, self.db, strict=True):
            W -= LR * dW
            b -= LR * db

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        value = self.loss_forward(self.forward(x), y)
        self.backward(self.loss_backward())
        self.update()
        return value

    def phases(self, x: np.ndarray, y: np.ndarray, clock: Callable[[], float] = time.perf_counter) -> list[float]:
        t0 = clock()
        logits = self.forward(x)
        t1 = clock()
        self.loss_forward(logits, y)
        t2 = clock()
        dz = self.loss_backward()
        t3 = clock()
        self.backward(dz)
        t4 = clock()
        self.update()
        t5 = clock()
        return [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(self.W, self.b, strict=True))


class TorchRunner:
    """The same step in PyTorch on the CPU (nn.Linear, cross_entropy, optim.SGD), from the same initial weights."""

    label = "torch"

    def __init__(self, torch: Any, weights: list[tuple[np.ndarray, np.ndarray]], activation: str) -> None:
        self.torch = torch
        act = torch.nn.Tanh if activation == "tanh" else torch.nn.Sigmoid
        modules: list[Any] = []
        for i, (W, b) in enumerate(weights):
            linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.from_numpy(W).dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))  # torch stores (out, in)
                linear.bias.copy_(torch.from_numpy(b.copy()))
            modules.append(linear)
            if i < len(weights) - 1:
                modules.append(act())
        self.net = torch.nn.Sequential(*modules)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=LR)
        self.cross_entropy = torch.nn.functional.cross_entropy

    def step(self, x: Any, y: Any) -> float:
        self.opt.zero_grad()
        loss = self.cross_entropy(self.net(x), y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        linears = [m for m in self.net if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linears]


def same_math_check(spec: NetSpec, dtype: Any, torch: Any, steps: int = 5) -> dict[str, float]:
    """Largest relative difference from the engine, over the losses and the final weights of a few steps."""
    X, y = make_data(dtype)
    engine = EngineRunner(spec, dtype)
    others: dict[str, Any] = {"bare": BareRunner([(W.copy(), b.copy()) for W, b in engine.weights()],
                                                 spec.activation)}
    if torch is not None:
        others["torch"] = TorchRunner(torch, engine.weights(), spec.activation)
    inputs = {"bare": (X, y)}
    if torch is not None:
        inputs["torch"] = (torch.from_numpy(X), torch.from_numpy(y))
    reference = [engine.step(X[k], y[k]) for k in range(steps)]
    result = {}
    for name, runner in others.items():
        xs, ys = inputs[name]
        values = [runner.step(xs[k], ys[k]) for k in range(steps)]
        worst = max(abs(a - b) / abs(a) for a, b in zip(reference, values, strict=True))
        for (W0, b0), (W1, b1) in zip(engine.weights(), runner.weights(), strict=True):
            scale_W, scale_b = np.max(np.abs(W0)), max(np.max(np.abs(b0)), 1e-12)
            worst = max(worst, float(np.max(np.abs(W0 - W1)) / scale_W), float(np.max(np.abs(b0 - b1)) / scale_b))
        result[name] = worst
    return result


def interleave(runners: Mapping[str, Callable[[Any, Any], Any]], batches: Mapping[str, tuple[Any, Any]],
               rounds: int, steps: int, warmup: int) -> dict[str, list[list[float]]]:
    """Step times (seconds) of each runner, per round: ``steps`` steps of each runner in turn, rotating the order."""
    names = list(runners)
    for name in names:
        xs, ys = batches[name]
        for k in range(warmup):
            runners[name](xs[k % POOL], ys[k % POOL])
    times: dict[str, list[list[float]]] = {name: [] for name in names}
    clock = time.perf_counter
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            step, (xs, ys) = runners[name], batches[name]
            block = []
            for k in range(steps):
                x, y = xs[k % POOL], ys[k % POOL]
                t0 = clock()
                step(x, y)
                block.append(clock() - t0)
            times[name].append(block)
    return times


@dataclass
class EngineResult:
    spec: NetSpec
    dtype: Any
    times: dict[str, list[list[float]]]
    check: dict[str, float]

    def summary(self, name: str) -> Summary:
        return summarize([t for block in self.times[name] for t in block])

    def ratio(self, top: str, bottom: str) -> tuple[float, Summary]:
        """Median over rounds of (median step of ``top`` / median step of ``bottom`` in that round), and its spread.

        Pairing the two implementations round by round keeps a burst of load from other processes, which hits
        both alike, out of the ratio.
        """
        pairs = zip(self.times[top], self.times[bottom], strict=True)
        per_round = summarize([np.median(a) / np.median(b) for a, b in pairs])
        return per_round.median, per_round


def run_engine(settings: Settings, torch: Any, threads: int) -> list[EngineResult]:
    heading("1. Engine training step (forward + loss + backward + SGD step)")
    print(f"  batch {BATCH}, input {IN_FEATURES}, {CLASSES} classes, softmax cross-entropy, SGD lr={LR}; "
          f"{settings.rounds} interleaved rounds x {settings.steps} steps per implementation after "
          f"{settings.warmup} warm-up steps; times in ms, median [IQR]")
    if torch is None:
        print("  PyTorch is not installed: the torch column is skipped (pip install torch==2.13.0 to add it).")
    else:
        torch.set_num_threads(threads)
        print(f"  PyTorch {torch.__version__}, torch.set_num_threads({threads}) (numpy's BLAS uses {threads})")
    results = []
    for spec in NETS:
        for dtype in DTYPES:
            X, y = make_data(dtype)
            engine = EngineRunner(spec, dtype)
            bare = BareRunner([(W.copy(), b.copy()) for W, b in engine.weights()], spec.activation)
            textbook = BareRunner(engine.weights(), spec.activation, derivatives="textbook")
            readable = EngineRunner(spec, dtype, readable=True)
            runners: dict[str, Callable[[Any, Any], Any]] = {"engine": engine.step, "bare": bare.step,
                                                             "textbook": textbook.step, "readable": readable.step}
            batches: dict[str, tuple[Any, Any]] = {name: (X, y) for name in runners}
            if torch is not None:
                runners["torch"] = TorchRunner(torch, engine.weights(), spec.activation).step
                batches["torch"] = (torch.from_numpy(X), torch.from_numpy(y))
            times = interleave(runners, batches, settings.rounds, settings.steps, settings.warmup)
            results.append(EngineResult(spec, dtype, times, same_math_check(spec, dtype, torch)))

    headers = ["net", "dtype", "engine ms", "bare numpy ms", "textbook ms", "torch ms", "engine/bare",
               "engine/textbook", "readable/engine", "torch/engine", "targets"]
    rows = []
    for res in results:
        engine_s, bare_s = res.summary("engine"), res.summary("bare")
        eb, eb_rounds = res.ratio("engine", "bare")
        et, et_rounds = res.ratio("engine", "textbook")
        re_, re_rounds = res.ratio("readable", "engine")
        cells = [res.spec.name, np.dtype(res.dtype).name, fmt_ms(engine_s), fmt_ms(bare_s),
                 fmt_ms(res.summary("textbook"))]
        verdict = ["<=1.15 yes" if eb <= ENGINE_TARGET else "<=1.15 NO"]
        if "torch" in res.times:
            te, te_rounds = res.ratio("torch", "engine")
            cells.append(fmt_ms(res.summary("torch")))
            cells += [fmt_ratio(eb, eb_rounds), fmt_ratio(et, et_rounds), fmt_ratio(re_, re_rounds),
                      fmt_ratio(te, te_rounds)]
            verdict.append(">=1.5 yes" if te >= TORCH_TARGET else ">=1.5 NO")
        else:
            cells += ["-", fmt_ratio(eb, eb_rounds), fmt_ratio(et, et_rounds), fmt_ratio(re_, re_rounds), "-"]
        rows.append(cells + [", ".join(verdict)])
    print()
    print(table(headers, rows))
    print("  ratios: median over rounds of the per-round ratio of median step times [IQR over rounds]; bare numpy "
          "computes the engine's accurate derivatives, textbook the derivatives from the saved output (no bar); "
          "readable is the engine with the plain layers of vanishing.activations instead of the sigmoid twin of "
          "vanishing._fast (no bar: what the twin saves)")
    checks = []
    for res in results:
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in res.check.items())
        checks.append(f"{res.spec.name} {np.dtype(res.dtype).name}: {diffs}")
    print("  same math: largest relative difference from the engine over 5 steps (losses and final weights):")
    for text in checks:
        print("    " + text)
    return results


def fmt_ms(s: Summary) -> str:
    return f"{s.median * 1e3:.3f} [{s.iqr * 1e3:.3f}]"


def fmt_ratio(value: float, spread: Summary) -> str:
    return f"{value:.2f} [{spread.q1:.2f}-{spread.q3:.2f}]"


# --------------------------------------------------------------------------------------------------------------------
# Part 1b: where the engine spends its time (run when it misses the 1.15x target)
# --------------------------------------------------------------------------------------------------------------------


def profile_engine(result: EngineResult, settings: Settings) -> None:
    """cProfile of the engine's steps: own time per function per step (numpy operators count as their caller's)."""
    spec, dtype = result.spec, result.dtype
    print()
    print(f"  Profile of {spec.name} {np.dtype(dtype).name} "
          f"(engine/bare {result.ratio('engine', 'bare')[0]:.2f} > {ENGINE_TARGET})")
    X, y = make_data(dtype)
    engine = EngineRunner(spec, dtype)
    steps = max(settings.rounds * settings.steps // 2, 50)
    profiler = cProfile.Profile()
    profiler.enable()
    for k in range(steps):
        engine.step(X[k % POOL], y[k % POOL])
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(filename).name}:{line} {func}" if filename != "~" else func
        entries.append((tottime, cumtime, ncalls, where))
    entries.sort(reverse=True)
    print(f"  cProfile over {steps} steps, the top functions by own time (the profiler adds time to every call)")
    rows = [[where, f"{ncalls / steps:.0f}", f"{tot / steps * 1e6:.1f}", f"{cum / steps * 1e6:.1f}"]
            for tot, cum, ncalls, where in entries[:10]]
    print(table(["function", "calls/step", "own us/step", "cumulative us/step"], rows, indent="    "))


# --------------------------------------------------------------------------------------------------------------------
# Part 2: notebooks
# --------------------------------------------------------------------------------------------------------------------


def find_notebooks() -> list[Path]:
    found: list[Path] = []
    for folder in ("solutions", "notebooks"):
        found += sorted((REPO / folder).glob("*.ipynb"))
    return found


@dataclass
class NotebookRun:
    kernel_start: float  # seconds from asking for a kernel until it answers
    execution: float  # seconds from the first cell to the end of the last one (or of the failing one)
    slowest_cell: tuple[float, int]  # (seconds, index)
    status: str


def execute_notebook(path: Path, env: dict[str, str]) -> NotebookRun:
    """Execute a temporary copy of ``path`` with nbclient, cell by cell, timing the kernel start separately."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    with tempfile.TemporaryDirectory(prefix="vanishing-bench-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        nb = nbformat.read(copy, as_version=4)
        client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": tmp}})
        status, slowest, index = "ok", (0.0, -1), -1
        t0 = time.perf_counter()
        t1 = None
        try:
            # the kernel's own stderr (a start-up notice about its TCP transport) would clutter the table
            with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
                t1 = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    tc = time.perf_counter()
                    client.execute_cell(cell, index)
                    slowest = max(slowest, (time.perf_counter() - tc, index))
        except CellExecutionError as error:
            status = f"error in cell {index}: {getattr(error, 'ename', type(error).__name__)}"
        except Exception as error:  # a kernel that dies or times out is reported, not raised
            status = f"failed: {type(error).__name__}: {str(error)[:60]}"
        t2 = time.perf_counter()
    if t1 is None:
        return NotebookRun(t2 - t0, 0.0, slowest, status)
    return NotebookRun(t1 - t0, t2 - t1, slowest, status)


def run_notebooks(settings: Settings) -> None:
    heading("2. Notebook execution (nbclient, a temporary copy of each notebook)")
    paths = find_notebooks()
    if not paths:
        print("  no notebooks found in solutions/ or notebooks/ yet")
        return
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as error:
        print(f"  skipped: {error}")
        return
    # The kernel imports this working tree's `vanishing`, installed or not.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("MPLBACKEND", "Agg")
    rows = []
    total = 0.0
    for path in paths:
        for _ in range(settings.notebook_runs):
            run = execute_notebook(path, env)
            total += run.execution
            seconds, cell = run.slowest_cell
            rows.append([f"{path.parent.name}/{path.name}", f"{run.kernel_start:.2f}", f"{run.execution:.2f}",
                         f"{seconds:.2f} (cell {cell})", run.status])
    print(table(["notebook", "kernel start s", "execution s", "slowest cell s", "status"], rows))
    print(f"  total execution (kernel starts excluded): {total:.1f} s; largest notebook kernel "
          f"(maxrss of finished child processes): {maxrss_mib(resource.RUSAGE_CHILDREN):.0f} MiB")


# --------------------------------------------------------------------------------------------------------------------
# Part 3: widgets
# --------------------------------------------------------------------------------------------------------------------


def control_settings(name: str, control: Any) -> list[tuple[str, Callable[[], None]]]:
    """A few changes to apply to one control: each returns a (description, action) pair."""

    def setter(value: Any) -> Callable[[], None]:
        def apply() -> None:
            control.value = value
        return apply

    kind = type(control).__name__
    if kind == "Button":
        return [(f"{name}: click", control.click)]
    options = getattr(control, "options", None)
    if options is not None and isinstance(getattr(control, "index", None), int):
        start, count = control.index, len(options)
        order = [(start + i) % count for i in range(1, count)] + [start]
        labels = list(getattr(control, "_options_labels", [str(o) for o in options]))

        def chooser(i: int) -> Callable[[], None]:
            def apply() -> None:
                control.index = i
            return apply

        return [(f"{name}={labels[i]}", chooser(i)) for i in order if count > 1]
    value = getattr(control, "value", None)
    if isinstance(value, bool):
        return [(f"{name}={not value}", setter(not value)), (f"{name}={value}", setter(value))]
    low, high = getattr(control, "min", None), getattr(control, "max", None)
    if isinstance(value, (int, float)) and low is not None and high is not None and high > low:
        if kind == "FloatLogSlider":  # min and max are exponents of `base`
            base = control.base
            points = [base ** (low + f * (high - low)) for f in (0.2, 0.8, 0.5, 0.35, 0.65)]
        else:
            step = getattr(control, "step", None) or 0
            points = []
            for f in (0.2, 0.8, 0.5, 0.35, 0.65):
                v = low + f * (high - low)
                if step:
                    v = low + round((v - low) / step) * step
                points.append(int(round(v)) if isinstance(value, int) else float(v))
        points = [p for p in dict.fromkeys(points) if p != value] + [value]
        return [(f"{name}={p:g}", setter(p)) for p in points]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and low is None:  # an unbounded text box
        return [(f"{name}={value + k:g}", setter(value + k)) for k in (1, 2, 0)]
    if isinstance(value, tuple) and len(value) == 2 and low is not None and high is not None:
        span = high - low
        inner = (type(value[0])(low + span * 0.25), type(value[1])(low + span * 0.75))
        return [(f"{name}={inner}", setter(inner)), (f"{name}={value}", setter(value))]
    return []


def widget_plan(app: Any, updates: int) -> tuple[list[tuple[str, Callable[[], None]]], list[str]]:
    """Round-robin over the changes of every control (and of the scenario picker) until ``updates`` are planned."""
    controls = dict(getattr(app, "controls", {}))
    per_control = {name: control_settings(name, c) for name, c in controls.items()}
    picker = getattr(app, "preset_picker", None)
    if picker is not None and getattr(app, "presets", None):
        per_control["scenario"] = [(f"scenario={key}", preset_setter(picker, key)) for key in app.presets]
    skipped = [f"{name} ({type(controls[name]).__name__})" for name, s in per_control.items() if not s]
    queues = [s for s in per_control.values() if s]
    plan: list[tuple[str, Callable[[], None]]] = []
    position = [0] * len(queues)
    while queues and len(plan) < updates:
        for q, changes in enumerate(queues):
            if len(plan) >= updates:
                break
            plan.append(changes[position[q] % len(changes)])
            position[q] += 1
    return plan, skipped


def preset_setter(picker: Any, key: str) -> Callable[[], None]:
    def apply() -> None:
        picker.value = None  # choosing the scenario shown last time would not fire
        picker.value = key
    return apply


def run_widgets(settings: Settings) -> None:
    heading("3. Widget update latency (set a control's value; recompute + redraw run in the observer)")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        from vanishing import widgets
    except ImportError as error:
        print(f"  vanishing.widgets is not importable yet ({error}); nothing to measure")
        return
    registry = getattr(widgets, "WIDGETS", None)
    if not registry:
        print("  vanishing.widgets.WIDGETS is missing or empty; nothing to measure")
        return
    print(f"  {settings.widget_updates} changes per widget, round-robin over its controls; with a Run button the "
          "time includes pressing it (Run trains in the calling thread here, without live frames: the Runs as in "
          "JupyterLab are timed below); compute and draw are the App's own timings of the same updates (draw: the "
          f"view's update, the rendering and the PNG); flagged when the 95th percentile is over {WIDGET_LIMIT_MS:.0f} "
          "ms for a widget without a Run button")
    rows, notes = [], []
    for name, builder in registry.items():
        row, widget_notes = time_widget(name, builder, settings.widget_updates)
        rows.append(row)
        notes += widget_notes
    print(table(["widget", "build ms", "updates", "median ms", "p95 ms", "compute ms (median, p95)",
                 "draw ms (median, p95)", "slowest ms (setting)", "flag"], rows))
    for note in notes:
        print("  " + note)
    run_training_widgets({name: builder for name, builder in registry.items() if name != "gradient_dashboard"})
    if "gradient_dashboard" in registry:
        run_dashboard_live(registry["gradient_dashboard"])


def time_widget(name: str, builder: Callable[..., Any], updates: int) -> tuple[list[str], list[str]]:
    """Build a widget and time ``updates`` changes of its controls: a row of the table, and notes."""
    try:
        t0 = time.perf_counter()
        app = builder()
        build = time.perf_counter() - t0
    except Exception as error:  # a builder that fails is reported and the others still run
        return [name, "-", "-", "-", "-", "-", "-", "-", f"build failed: {type(error).__name__}: {error}"[:80]], []
    plan, skipped = widget_plan(app, updates)
    run_button = getattr(app, "run_button", None)
    times: list[float] = []
    parts: dict[str, list[float]] = {}
    errors, slowest, failures = 0, (0.0, ""), []
    for label, action in plan:
        app.timings = {}
        t0 = time.perf_counter()
        try:
            action()
            if run_button is not None:
                run_button.click()
        except Exception as error:  # a widget should show a message, never raise; record it
            failures.append(f"{label}: {type(error).__name__}")
            continue
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        slowest = max(slowest, (elapsed, label))
        errors += getattr(app, "error", None) is not None
        for key, value in (getattr(app, "timings", None) or {}).items():
            if isinstance(value, float):
                parts.setdefault(key, []).append(value)
    app.close()
    notes = [f"{name}: controls not varied: {', '.join(skipped)}"] if skipped else []
    notes += [f"{name}: raised on {', '.join(failures[:5])}"] if failures else []
    if not times:
        return [name, f"{build * 1e3:.0f}", "0", "-", "-", "-", "-", "-", "no control could be changed"], notes
    s = summarize(times)
    spread = {key: f"{np.median(v) * 1e3:.0f}, {np.percentile(v, 95) * 1e3:.0f}" for key, v in parts.items()}
    if run_button is not None:  # a widget that trains: its Runs as in JupyterLab are timed below
        flag = "trains: see the Runs below"
    else:
        over = sum(t * 1e3 > WIDGET_LIMIT_MS for t in times)
        flag = f"OVER {WIDGET_LIMIT_MS:.0f} ms ({over}/{s.n} updates)" if s.p95 * 1e3 > WIDGET_LIMIT_MS \
            else f"ok (p95 <= {WIDGET_LIMIT_MS:.0f} ms)"
    if errors:
        flag += f"; {errors} showed a message"
    return [name, f"{build * 1e3:.0f}", str(s.n), f"{s.median * 1e3:.0f}", f"{s.p95 * 1e3:.0f}",
            spread.get("compute", "-"), spread.get("draw", "-"), f"{slowest[0] * 1e3:.0f} ({slowest[1]})", flag], notes


def run_training_widgets(registry: Mapping[str, Callable[..., Any]]) -> None:
    """Runs of each training widget's default setting, as JupyterLab runs them: in a thread, with live frames.

    Seeds 0, 3, 6, ... (the leaky explorer trains seeds s, s + 1, s + 2, and remembers runs it has done: a
    seed three apart is a run not done before). Timed from the click of Run to the final figure shown.
    """
    apps = {}
    for name, builder in registry.items():
        app = builder()
        if getattr(app, "stop_button", None) is None:
            app.close()
            continue
        apps[name] = app
    if not apps:
        return
    print()
    print(f"  Runs of the default setting of each widget that trains ({TRAINING_RUNS} Runs, seeds 0, 3, 6, ...), "
          "as in JupyterLab: the training in a thread, live frames drawn by a second one. From the click of Run "
          f"to the final figure shown; flagged when the 95th percentile is over {RUN_LIMIT_MS:.0f} ms.")
    rows = []
    for name, app in apps.items():
        app.background, app.live = True, True
        times, frames, parts = [], 0, {"compute": [], "draw": []}
        for k in range(TRAINING_RUNS):
            app.set(seed=3 * k)
            clicked = time.perf_counter()
            app.run_button.click()
            app.wait()
            times.append(time.perf_counter() - clicked)
            frames += len(app.frame_times)
            for key in parts:
                parts[key].append((app.timings or {}).get(key) or 0.0)
        s = summarize(times)
        flag = f"OVER {RUN_LIMIT_MS:.0f} ms" if s.p95 * 1e3 > RUN_LIMIT_MS else f"ok (p95 <= {RUN_LIMIT_MS:.0f} ms)"
        rows.append([name, str(s.n), f"{s.median * 1e3:.0f}", f"{s.p95 * 1e3:.0f}", f"{max(times) * 1e3:.0f}",
                     f"{np.median(parts['compute']) * 1e3:.0f}", f"{np.median(parts['draw']) * 1e3:.0f}",
                     str(frames), flag + ("" if app.error is None else "; the last Run showed a message")])
        app.close()
    print(table(["widget", "Runs", "median ms", "p95 ms", "slowest ms", "training ms", "final draw ms",
                 "live frames", "flag"], rows))


def run_dashboard_live(builder: Callable[..., Any]) -> None:
    """Every scenario of the dashboard trained as in a notebook: in a thread, with live frames.

    The view changes when the progress bar moves or a frame is shown. While training, the longest time
    without a change is measured from the click of Run to the bar's last move (made when training ends, as
    the bar switches to "drawing"); after it, the final figure is drawn: that time is reported on its own.
    """
    print()
    print(f"  gradient_dashboard live (a thread trains and a second one draws frames, as in JupyterLab): every "
          f"scenario run once. Training gap: the longest time without the view changing (progress bar or frame), "
          f"from the click of Run to the end of training; flagged when over {PROGRESS_GAP_S} s. Final figure: "
          f"from the end of training (the bar says 'drawing') to the figure shown.")
    app = builder()
    app.background, app.live = True, True
    picker = getattr(app, "preset_picker", None)
    largest = {"dataset": "digits", "depth": 12, "width": 64, "batchnorm": "after", "batch_size": 128,
               "steps": 1000}
    runs: list[tuple[str, Callable[[], None]]] = [(key, preset_setter(picker, key)) for key in app.presets]
    runs.append(("largest: digits, 12x64, BN after, 1000 steps", lambda: app.set(**largest)))
    rows, finals = [], []
    for key, choose in runs:
        choose()
        clicked = time.perf_counter()
        app.run_button.click()
        app.wait()
        shown = time.perf_counter()
        trained = max(app.progress_times or [clicked])
        moments = [clicked, *app.progress_times, *(t for t in app.frame_times if t <= trained)]
        gap = float(np.diff(np.sort(moments)).max()) if len(moments) > 1 else 0.0
        finals.append(shown - trained)
        run = getattr(app, "result", None)
        how = "diverged" if getattr(run, "diverged", False) else ("message" if app.error is not None else "ok")
        flag = f"OVER {PROGRESS_GAP_S} s" if gap > PROGRESS_GAP_S else "ok"
        rows.append([key, str(getattr(run, "steps", "?")), f"{shown - clicked:.2f}", str(len(app.progress_times)),
                     str(len(app.frame_times)), f"{gap:.2f}", f"{shown - trained:.2f}", f"{how}; {flag}"])
    app.close()
    print(table(["scenario", "steps", "click to figure s", "progress moves", "frames", "training gap s",
                 "final figure s", "flag"], rows))
    f = summarize(finals)
    print(f"  final figure after training: median {f.median:.2f} s, largest {max(finals):.2f} s")


# --------------------------------------------------------------------------------------------------------------------
# Part 4: memory
# --------------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """tracemalloc running inside the block; yields a function returning the peak so far (bytes)."""
    gc.collect()
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_memory(settings: Settings) -> None:
    heading("4. Peak memory of the engine benchmark (tracemalloc; numpy reports its buffers to it)")
    print(f"  peak traced memory from building the network through {settings.memory_steps} training steps "
          "(the batches are made before tracing); PyTorch's allocator is not visible to tracemalloc")
    rows = []
    for spec in NETS:
        for dtype in DTYPES:
            X, y = make_data(dtype)
            with traced() as peak:
                engine = EngineRunner(spec, dtype)
                for k in range(settings.memory_steps):
                    engine.step(X[k % POOL], y[k % POOL])
                engine_peak = peak()
            weights = [(W.copy(), b.copy()) for W, b in engine.weights()]
            param_bytes = sum(W.nbytes + b.nbytes for W, b in weights)
            with traced() as peak:
                bare = BareRunner(weights, spec.activation)
                for k in range(settings.memory_steps):
                    bare.step(X[k % POOL], y[k % POOL])
                bare_peak = peak()
            rows.append([spec.name, np.dtype(dtype).name, f"{param_bytes / 1024:.0f}", f"{engine_peak / 1024:.0f}",
                         f"{bare_peak / 1024:.0f}", f"{engine_peak / bare_peak:.2f}"])
    print(table(["net", "dtype", "parameters KiB", "engine peak KiB", "bare peak KiB", "engine/bare"], rows))


# --------------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------------

PARTS = ("engine", "notebooks", "widgets", "memory")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Speed and memory benchmarks of the vanishing engine, the course "
                                                 "notebooks and the widgets (measurements, not tests).")
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds, steps and widget updates: a rough look in well under a minute")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (may be given more than once)")
    parser.add_argument("--repeat", type=int, metavar="N",
                        help="interleaved rounds of the engine benchmark (default 60, --quick 6), executions of "
                             "each notebook (default 1) and timed updates per widget (default 30, --quick 12)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: allowed: an integer >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    settings = settings_for(args.quick, args.repeat)
    parts = args.only or list(PARTS)
    threads, how = numpy_blas_threads()
    torch = try_import_torch() if "engine" in parts else None
    started = time.perf_counter()
    print("vanishing benchmarks")
    print(f"  date {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; command: "
          f"python benchmarks/run.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"  {cpu_model()}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}, numpy "
          f"{np.__version__}, BLAS threads {threads} ({how}); vanishing {getattr(vn, '__version__', '?')}; "
          f"torch {getattr(torch, '__version__', 'not installed') if 'engine' in parts else 'not used'}")
    print(f"  load average at the start (1, 5, 15 min): {load_average()}")
    if "engine" in parts:
        results = run_engine(settings, torch, threads)
        missed = [r for r in results if r.ratio("engine", "bare")[0] > ENGINE_TARGET]
        if missed:
            print()
            print(f"  The engine misses the {ENGINE_TARGET}x target on {len(missed)} of {len(results)} "
                  "configurations; where the time goes:")
            for res in missed:
                profile_engine(res, settings)
        else:
            print(f"  The engine is within {ENGINE_TARGET}x of bare numpy everywhere.")
        print(f"  maxrss of this process after part 1: {maxrss_mib():.0f} MiB")
    if "notebooks" in parts:
        run_notebooks(settings)
    if "widgets" in parts:
        run_widgets(settings)
    if "memory" in parts:
        run_memory(settings)
    print()
    print(f"maxrss of this process: {maxrss_mib():.0f} MiB; total time {time.perf_counter() - started:.0f} s; "
          f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
