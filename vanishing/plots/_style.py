"""The shared look of every figure: palette, fonts, grid, PNG export, log-axis labels.

Figures are :class:`matplotlib.figure.Figure` objects with an Agg canvas, made
without pyplot, so drawing never touches global state (no figure is left open,
no backend is switched) and works the same in a notebook, a widget and a test.

Use :func:`new_figure` to make a figure and :func:`styled` (or the
:func:`style` context manager) around a plot function, so that titles and
labels added after the figure is made get the same fonts.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from ._canvas import CourseCanvas

# Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision deficiencies.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = list(OKABE_ITO.values())
"""Colours in the order series get them (blue, orange, green, vermillion, purple, sky, yellow, black)."""

GREY = "#7f7f7f"

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    # a fixed title position: otherwise matplotlib measures every tick label at each draw to dodge them
    "axes.titley": 1.0,
    "axes.titlepad": 6.0,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    # glyphs rendered without FreeType's hinting: a fifth less drawing time for a widget's figure (measured on
    # notebook 02's output_loss, 114 -> 90 ms), with text that looks the same at 100 dpi
    "text.hinting": "no_hinting",
    # a white, borderless legend box, so reference lines passing behind it do not cross the text
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "white",
    "legend.fancybox": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "lines.linewidth": 1.8,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
}
"""matplotlib settings applied while a figure is made and drawn."""

DEFAULT_WIDTH = 6.4
"""Inches; at 100 dpi a figure is 640 pixels wide, which fits a notebook column."""

MARGINS = {"left": 0.7, "right": 0.15, "bottom": 0.55, "top": 0.4}
"""Inches around the axes when :func:`new_figure` uses fixed margins."""

F = TypeVar("F", bound=Callable[..., Any])


class CourseFigure(Figure):
    """A matplotlib Figure that shows itself as a PNG in Jupyter.

    Without pyplot, Jupyter has no display rule for a bare Figure and prints
    ``<Figure size ...>``; ``_repr_png_`` makes a plot function's return value
    show as the picture (and be stored as ``image/png``, which GitHub shows).
    """

    def _repr_png_(self) -> bytes:
        return to_png(self)


_DRAWING = threading.RLock()
"""Held while the course draws: matplotlib's settings are global, and a widget draws in a thread of its own."""


@contextmanager
def style() -> Iterator[None]:
    """Apply :data:`RC` within a ``with`` block (restores the previous settings after).

    One thread at a time: a second thread waits at the ``with`` until the first is done, so that two
    ``rc_context`` blocks never interleave (each restores what it found, which would then be the other's).
    """
    with _DRAWING, matplotlib.rc_context(RC):
        yield


def styled(function: F) -> F:
    """Decorator: run a plot function inside :func:`style`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class View:
    """A figure made once and then changed in place: what a widget redraws at every move of a slider.

    A subclass makes its figure and every artist it will need in ``__init__`` (decorated with
    :func:`styled`) and, in :meth:`update`, changes their data, limits and texts for a new result.
    :meth:`show` does that in the course style and returns the figure. A plot function that a widget
    draws is ``SomeView().show(result)``: the figure of a notebook's static cell and the widget's live
    figure come from the same code, and the widget keeps its view from one change to the next.
    """

    figure: Figure

    def update(self, result: Any) -> None:
        """Change the figure's artists to show ``result``."""
        raise NotImplementedError

    def show(self, result: Any) -> Figure:
        """Show ``result`` (in the course style) and return the figure."""
        with style():
            self.update(result)
        return self.figure


def pin_x_labels(fig: Figure) -> None:
    """Keep every x-axis label where the figure's last drawing put it.

    matplotlib places an axis label below the tick labels by measuring them at every drawing; an x axis's
    tick labels are one line high whatever they say, so a figure that is drawn again and again (a widget's)
    can keep its labels where the first drawing put them and skip the measuring (a tenth of a redraw).
    """
    for ax in fig.axes:
        label = ax.xaxis.label
        if label.get_visible() and label.get_text() and ax.bbox.height > 0:
            _, y = ax.transAxes.inverted().transform(label.get_position())
            ax.xaxis.set_label_coords(0.5, y)


def _look(artist: Any) -> tuple:
    """What a legend copies from an artist when it is made: colours, line style and width, marker."""
    getters = ("get_color", "get_linestyle", "get_linewidth", "get_marker", "get_facecolor", "get_alpha")
    return tuple(repr(getattr(artist, name)()) for name in getters if hasattr(artist, name))


class LegendSlot:
    """A legend (of an axes, or of a figure) whose entries come and go with the result.

    :meth:`show` makes the legend anew only when its artists change, or their look (a legend copies a line's
    colour and style when it is made); when only the texts do (a number in a label), it sets them, which costs
    nothing until the figure is drawn.
    """

    def __init__(self, owner: Axes | Figure, *, one_row: bool = False, **options: Any) -> None:
        self.owner = owner
        self.one_row = one_row  # as many columns as entries
        self.options = options
        self.legend: Any = None
        self._handles: list[Any] | None = None

    def show(self, entries: list[tuple[Any, str]], loc: str | None = None) -> None:
        """Show ``(artist, label)`` entries; ``loc``, if given, moves the legend there."""
        handles = [artist for artist, _ in entries]
        labels = [label for _, label in entries]
        looks = [(artist, _look(artist)) for artist in handles]
        if self.legend is None or looks != self._handles:
            if self.legend is not None:
                self.legend.remove()
            columns = {"ncols": max(len(handles), 1)} if self.one_row else {}
            self.legend = self.owner.legend(handles, labels, **columns, **self.options)
            self._handles = looks
        else:
            for text, label in zip(self.legend.get_texts(), labels, strict=True):
                text.set_text(label)
        if loc is not None:
            self.legend.set_loc(loc)


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None, *,
               sharex: bool = False, sharey: bool = False, layout: str | None = None,
               **subplot_kw: Any) -> Figure:
    """A new figure with ``nrows x ncols`` axes, in the course style.

    Parameters
    ----------
    nrows, ncols
        Grid of axes; reach them as ``fig.axes`` (row by row).
    figsize
        (width, height) in inches; default :data:`DEFAULT_WIDTH` wide, 3.2 inches per row.
    sharex, sharey
        Share the x or y axis between the axes.
    layout
        ``None`` (default): fixed margins in inches, which leave room for a title
        and axis labels and cost nothing at draw time; ``"constrained"``: let
        matplotlib fit the margins (better for crowded figures, but it measures
        every label at each draw, which a widget feels).
    subplot_kw
        Passed to every axes (``projection=...``).

    Returns
    -------
    CourseFigure
        A :class:`matplotlib.figure.Figure` that Jupyter shows as a PNG. Not
        registered with pyplot: nothing to close, nothing global.
    """
    for label, value in (("nrows", nrows), ("ncols", ncols)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label}={value!r} must be a positive integer")
    if layout not in (None, "constrained", "tight"):
        raise ValueError(f"layout={layout!r} is not known; allowed: None, 'constrained', 'tight'")
    if figsize is None:
        figsize = (DEFAULT_WIDTH, 0.4 + 3.2 * nrows)
    width, height = figsize
    with style():
        fig = CourseFigure(figsize=figsize, layout=layout)
        CourseCanvas(fig)
        fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False, subplot_kw=subplot_kw or None)
        if layout is None:
            fig.subplots_adjust(left=MARGINS["left"] / width, right=1 - MARGINS["right"] / width,
                                bottom=MARGINS["bottom"] / height, top=1 - MARGINS["top"] / height,
                                wspace=0.35, hspace=0.6)
    return fig


def to_png(fig: Figure, *, dpi: float | None = None, fast: bool = False) -> bytes:
    """The figure as PNG bytes (for an ``ipywidgets.Image`` or a notebook output).

    ``fast=True`` compresses less (zlib level 1): a larger PNG, encoded in about
    a third of the time, for a widget's live updates that are never stored.
    """
    buffer = io.BytesIO()
    with style():
        fig.savefig(buffer, format="png", dpi=dpi or RC["savefig.dpi"], facecolor="white",
                    pil_kwargs={"compress_level": 1} if fast else None)
    return buffer.getvalue()


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(exponent: float) -> str:
    """``"10⁻²⁰"`` for -20: a power of ten in plain unicode (mathtext is slow to lay out); "" if not finite."""
    if not np.isfinite(exponent):  # a tick beyond the float range has no label
        return ""
    k = round(exponent)
    if k == 0:
        return "1"
    if k == 1:
        return "10"
    return "10" + str(k).translate(_SUPERSCRIPT)


def _power_of_ten_tick(value: float, _position: Any = None) -> str:
    return power_of_ten(value) if abs(value - round(value)) < 1e-9 else ""


def label_log10_axis(ax: Axes, axis: str = "x", *, max_ticks: int = 7) -> None:
    """Label an axis whose data are log10 values as powers of ten.

    For quantities that span hundreds of decades (products of derivatives), a
    log scale on the values themselves underflows; plot ``log10(value)`` on a
    linear axis instead and call this to read the ticks as 10^k.
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis={axis!r} is not known; allowed: 'x', 'y'")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(nbins=max_ticks, integer=True))
    target.set_major_formatter(FuncFormatter(_power_of_ten_tick))


def log_axis(ax: Axes, axis: str = "y", *, label: str | None = None) -> None:
    """Put an axis on a log scale (base 10), with an optional label that says so."""
    if axis not in ("x", "y"):
        raise ValueError(f"axis={axis!r} is not known; allowed: 'x', 'y'")
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=10)
    if label is not None:
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(f"{label} (log scale)")


def message_figure(text: str, *, figsize: tuple[float, float] = (DEFAULT_WIDTH, 1.2)) -> Figure:
    """A small figure that only holds a line of text (for "nothing to draw" cases)."""
    fig = CourseFigure(figsize=figsize)
    CourseCanvas(fig)
    with style():
        fig.text(0.5, 0.5, text, ha="center", va="center", color=GREY, wrap=True)
    return fig


def colour(i: int) -> str:
    """The i-th palette colour (wrapping around)."""
    return PALETTE[int(i) % len(PALETTE)]


def finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the finite entries of ``values``, or None if there are none."""
    finite = np.asarray(values)[np.isfinite(values)]
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


LOG_FLOOR, LOG_CEILING = 1e-150, 1e150
"""The widest range a log axis is given. matplotlib's LogLocator places ticks up to a stride of decades past
the limits, and over 300 decades that stride is about 100: ticks past 1e308 overflow float64."""


def log_decades(values: np.ndarray) -> float:
    """How many decades the positive finite entries of ``values`` span (0 if fewer than two differ).

    Computed from log10 of the values: the ratio max/min of a diverged loss (1e300 over 1e-20) overflows.
    """
    values = np.asarray(values, dtype=np.float64)
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return 0.0
    return float(np.log10(positive.max()) - np.log10(positive.min()))


def clamp_log_limits(ax: Axes, values: np.ndarray, axis: str = "y", *, margin: float = 0.05) -> None:
    """Limit a log axis to the positive finite ``values``, widened by ``margin`` of their span in decades.

    The limits stay within [LOG_FLOOR, LOG_CEILING], so that a diverging run (a loss near 1e300) still gets
    an axis whose ticks can be placed and labelled (values beyond are drawn off the axis). Does nothing
    when no value is positive and finite.
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis={axis!r} is not known; allowed: 'x', 'y'")
    values = np.asarray(values, dtype=np.float64)
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return
    low, high = np.log10(positive.min()), np.log10(positive.max())
    pad = max(margin * (high - low), 0.05)
    low = max(low - pad, np.log10(LOG_FLOOR))
    high = min(high + pad, np.log10(LOG_CEILING))
    (ax.set_xlim if axis == "x" else ax.set_ylim)(10.0 ** low, 10.0 ** high)


def log_tick_label(value: float, _position: object = None, *, plain_decades: bool = False) -> str:
    """``10⁻³``, ``2·10⁻⁵``, ``0.5``, ``20``: log-axis tick labels in plain unicode (mathtext is slow to lay out).

    Between 0.01 and 999 values other than powers of ten are written plainly; with ``plain_decades`` the
    powers of ten there too (``0.1``, ``1``, ``10``), so that 1-2-5 ticks read as one series.
    """
    if value <= 0 or not math.isfinite(value):
        return ""
    k = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10.0 ** k, 6)
    if mantissa == 1 and not (plain_decades and -2 <= k <= 2):
        return power_of_ten(k)
    if -2 <= k <= 2:
        return f"{value:.3g}"
    return f"{mantissa:g}·{power_of_ten(k)}"


def log_y(ax: Axes, values: np.ndarray, *, numticks: int = 5) -> None:
    """A log y axis fitted to ``values``, with enough labelled ticks to read it.

    Decade ticks when the values span two decades or more; 1-2-5 ticks within two decades (decade ticks alone
    would label one or two points); a few plain ticks within one. Limits from :func:`clamp_log_limits`, set
    first: the log scale autoscales at once, which overflows for a diverged run.
    """
    clamp_log_limits(ax, values)
    ax.set_yscale("log")
    decades = log_decades(values)
    if decades < 1:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    else:
        subs = (1.0, 2.0, 5.0) if decades < 2 else (1.0,)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs, numticks=numticks))
    ax.yaxis.set_major_formatter(FuncFormatter(functools.partial(log_tick_label, plain_decades=decades < 2)))
    ax.yaxis.set_minor_locator(NullLocator())


def decade_label(value: float, _position: object = None) -> str:
    """``10⁻³`` for 0.001: a tick label at an exact power of ten, in plain unicode; "" for any other value."""
    if not value > 0 or not math.isfinite(value):
        return ""
    k = math.log10(value)
    return power_of_ten(k) if abs(k - round(k)) < 1e-9 else ""


def decade_log_y(ax: Axes, numticks: int = 6) -> None:
    """A log10 y axis with decade ticks only (at most ``numticks``), labelled by :func:`decade_label`."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=numticks))
    ax.yaxis.set_major_formatter(FuncFormatter(decade_label))
    ax.yaxis.set_minor_locator(NullLocator())
