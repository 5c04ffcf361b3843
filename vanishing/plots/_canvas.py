"""The canvas of every course figure: matplotlib's Agg, with each rendered glyph kept for the next drawing.

Why
---
matplotlib 3.11 draws text one glyph at a time: for every character of every
tick label, legend entry and title it sets the font's size and position, asks
FreeType to rasterize the glyph and blends the bitmap into the image. In a
widget's figure that is half of a redraw (measured on ``start_here``'s figure:
60 ms per drawing, 28 ms of them in text). Yet a widget redraws the same few
dozen characters again and again, at the same few positions.

How
---
:class:`CourseRenderer` draws text as matplotlib does, with one change and two
stores that only save work:

* each text starts at a whole pixel: its origin is rounded to the nearest pixel
  (moving it by at most half a pixel), so that a string drawn again, anywhere,
  needs the same glyphs at the same fractions of a pixel;
* the layout of a string (which glyph of which font goes where, relative to the
  text's origin) is kept, per string, font file, size, dpi and hinting;
* the bitmap of a glyph is kept, per font file, size, dpi, rotation, hinting and
  the glyph's position *within a pixel* (FreeType places glyphs in 1/64 of a
  pixel). Moved by a whole number of pixels, a glyph's bitmap is the same bitmap
  moved, so one bitmap serves every place with the same fraction.

Measured on ``start_here``'s figure, redrawn for 60 random settings: 93 ms per
drawing with matplotlib's renderer, 73 ms with the stores alone (a tick label
moves with the axis limits, so its fractions change), 48 ms with the rounding too.
Apart from the rounding, the pixels are those matplotlib draws, bit for bit
(``tests/test_widgets.py`` compares them with matplotlib's own renderer given the
same rounded origins). Mathtext, and a matplotlib whose text drawing differs from
3.11's (checked at import: the private functions this relies on must be there),
go through matplotlib's own code unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import get_font

try:
    from matplotlib.ft2font import FT2Font, RenderMode
except ImportError:  # pragma: no cover - a matplotlib before 3.10
    FT2Font = RenderMode = None

__all__ = ["CourseCanvas", "CourseRenderer", "GLYPHS_KEPT"]

GLYPHS_KEPT = all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph", "_set_transform")) and \
    hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
"""True when this matplotlib draws text glyph by glyph, as 3.11 does, and the renderer keeps glyphs."""

MAX_KEPT = 50_000
"""Bitmaps kept at most (a glyph is a few hundred bytes); beyond, the store starts again empty."""

_LAYOUTS: dict[tuple[Any, ...], list[tuple[str, int, float, float]]] = {}
_BITMAPS: dict[tuple[Any, ...], tuple[np.ndarray, int, int]] = {}


class CourseRenderer(RendererAgg):
    """Agg's renderer, drawing each glyph from a stored bitmap when it has drawn it before (see module)."""

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, ismath: Any = False,
                  mtext: Any = None) -> None:
        if ismath or not GLYPHS_KEPT:
            return super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        x, y = round(x), round(y)  # each text at a whole pixel: see the module's docstring
        flags = get_hinting_flag()
        size = prop.get_size_in_points()
        antialiased = gc.get_antialiased()
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        # as matplotlib's _draw_text_glyphs_and_boxes: FreeType's 16.16 rotation, positions in 1/64 pixel
        rotation = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
        turn = tuple(rotation.ravel())
        for fname, index, dx, dy in self._layout(s, prop, mtext, flags):
            px = round(0x40 * (x + dx * cos - dy * sin))
            py = round(0x40 * (self.height - y + dx * sin + dy * cos))  # FreeType's y is upwards
            key = (fname, size, self.dpi, index, turn, px & 0x3F, py & 0x3F, antialiased, flags)
            kept = _BITMAPS.get(key)
            if kept is None:
                kept = _render(fname, size, self.dpi, index, rotation, (px & 0x3F, py & 0x3F), antialiased, flags)
                if len(_BITMAPS) >= MAX_KEPT:
                    _BITMAPS.clear()
                _BITMAPS[key] = kept
            bitmap, left, top = kept
            # draw_text_image's y is downwards, at the bitmap's bottom side
            self._renderer.draw_text_image(bitmap, left + (px >> 6),
                                           int(self.height) - (top + (py >> 6)) + bitmap.shape[0], 0, gc)
        return None

    def _layout(self, s: str, prop: Any, mtext: Any, flags: Any) -> list[tuple[str, int, float, float]]:
        """(font file, glyph index, x, y) of each glyph of ``s``, relative to the text's origin, in pixels."""
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        font = self._prepare_font(prop)
        key = (s, font.fname, prop.get_size_in_points(), self.dpi, flags,
               tuple(features) if features is not None else None, language)
        layout = _LAYOUTS.get(key)
        if layout is None:
            items = font._layout(s, flags=flags, features=features, language=language)
            layout = [(item.ft_object.fname, item.glyph_index, item.x, item.y) for item in items]
            if len(_LAYOUTS) >= MAX_KEPT:
                _LAYOUTS.clear()
            _LAYOUTS[key] = layout
        return layout


def _render(fname: str, size: float, dpi: float, index: int, rotation: np.ndarray, fraction: tuple[int, int],
            antialiased: bool, flags: Any) -> tuple[np.ndarray, int, int]:
    """A glyph's bitmap, placed at ``fraction`` (1/64 pixel) within a pixel: (bitmap, left, top)."""
    font = get_font(fname)  # this thread's font object: FreeType's are not shared between threads
    font.set_size(size, dpi)
    font._set_transform(rotation, list(fraction))
    glyph = font._render_glyph(index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
    bitmap = np.array(glyph.buffer)  # a copy: the font reuses its buffer
    if not antialiased:
        bitmap *= 0xFF
    return bitmap, glyph.left, glyph.top


class CourseCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer is a :class:`CourseRenderer`."""

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = width, height, self.figure.dpi
        if self._lastKey != key:  # as FigureCanvasAgg: a new renderer only when the size changes
            self.renderer = CourseRenderer(width, height, self.figure.dpi)
            self._lastKey = key
        return self.renderer
