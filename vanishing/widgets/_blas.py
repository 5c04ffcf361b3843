"""One BLAS thread while a widget computes.

Why
---
numpy multiplies matrices with OpenBLAS, which splits a product of more than
about 256 x 32 x 32 numbers over all the cores. That pays for large matrices;
for the course's (a batch of 256 through 64 units) it costs, as soon as another
program wants a core too: each product then waits for the thread that is not
running. A learner's browser is such a program: it draws the widget's figures
while the kernel computes the next one. Measured in this course's browser test
(JupyterLab and Chromium on two cores), dragging ``elu_explorer``'s α slider:
the figure of the released value came 329-470 ms after the release with two
BLAS threads, 53 ms with one.

How
---
:func:`one_blas_thread` sets OpenBLAS to one thread for the duration of a
``with`` block and restores the number it found afterwards (with blocks in
several threads at once: set by the first to enter, restored by the last to
leave). OpenBLAS's ``openblas_set_num_threads`` is looked up in the library
that numpy's wheels ship (``numpy.libs``, ``numpy/.dylibs``) and, on Linux, in
any OpenBLAS the process has loaded (a conda numpy). Where there is none (a numpy
built on MKL or Apple's Accelerate) the block changes nothing. Results do not
depend on it: OpenBLAS gives every thread whole blocks of the product, each
element summed in the same order (the widget tests compare the widgets'
results with the experiment functions', run with the default threads, exactly).
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["one_blas_thread"]

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")


def _candidates() -> list[str]:
    """Files that may hold numpy's OpenBLAS: those numpy's wheels ship, then those this process has loaded."""
    here = os.path.dirname(np.__file__)
    paths = [p for folder in (os.path.join(here, os.pardir, "numpy.libs"), os.path.join(here, ".dylibs"))
             for p in sorted(glob.glob(os.path.join(folder, "*openblas*")))]
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths += sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    return paths


@lru_cache(maxsize=1)
def _functions() -> tuple[Any, Any] | None:
    """OpenBLAS's (get, set) number-of-threads functions, or None."""
    for path in _candidates():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    return get, put
    return None


_LOCK = threading.Lock()
_inside = 0
_found = 1


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within this block numpy's OpenBLAS uses one thread (see the module's docstring)."""
    global _inside, _found
    functions = _functions()
    if functions is None:
        yield
        return
    get, put = functions
    with _LOCK:
        if _inside == 0:
            _found = get()
            put(1)
        _inside += 1
    try:
        yield
    finally:
        with _LOCK:
            _inside -= 1
            if _inside == 0:
                put(_found)
