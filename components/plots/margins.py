"""Fixed margins for the figures redrawn on every pick, sized from their text.

Streamlit's Plotly theme turns on ``automargin`` for every axis, and Plotly then draws a
figure, measures its labels, grows the margins and draws it again (up to several rounds,
each a forced layout of the whole page). Measured in headless Chromium on the Explain page
(`bench/click_latency.py`), that doubled the cost of a bar panel (45 -> 20 ms) and made the
agreement heatmap (scale-anchored, rotated labels) take 200 ms instead of 40. The figures
drawn on each pick therefore turn it off and size their margins here, from an estimate of
the labels' width in Streamlit's chart font (Source Sans, 12 px ticks, 14 px axis titles).

The estimate errs wide: a margin a few pixels too large costs nothing, a label cut at the
figure's edge is a bug (the browser tests check every text box, ticks included).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable

import plotly.graph_objects as go

TICK_PX, TITLE_PX = 12, 14  # Streamlit's theme: tick labels and axis titles (px)
LINE = 1.25  # a text line's height, in font sizes
AXIS_PAD = 8  # the theme's margin.pad: plot area to tick labels (px)
SAFETY = 6  # px added to every estimate
_TAG = re.compile(r"<[^>]+>")
# Width of a character in Source Sans, in font sizes (measured ranges, rounded up)
_NARROW, _WIDE, _FULL = 0.32, 0.82, 1.02
_NARROW_CHARS = frozenset("iljtfrI.,:;'|!()[]{} ")
_WIDE_CHARS = frozenset("mwMW@%&")


def char_em(char: str) -> float:
    """One character's width in font sizes (em): narrow, average, wide, or full width."""
    if char in _NARROW_CHARS:
        return _NARROW
    if char in _WIDE_CHARS:
        return _WIDE
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return _FULL
    if char.isupper() or char.isdigit():
        return 0.62
    return 0.56


def text_px(text: str, size: float = TICK_PX) -> float:
    """The width (px) of ``text`` drawn at ``size`` px: its widest line, tags dropped and
    entities read (``&lt;`` is one character)."""
    lines = re.split(r"<br\s*/?>", str(text), flags=re.IGNORECASE)
    widths = [sum(char_em(c) for c in html.unescape(_TAG.sub("", line))) for line in lines]
    return size * max(widths, default=0.0)


def widest_px(labels: Iterable[object], size: float = TICK_PX) -> float:
    """The widest of ``labels`` (px) at ``size`` px; 0 for none."""
    return max((text_px(str(label), size) for label in labels), default=0.0)


def tick_labels_px(labels: Iterable[object], angle: float = 0.0,
                   size: float = TICK_PX) -> tuple[float, float]:
    """How far tick labels reach (px) across and along their axis at ``angle`` degrees:
    (width, height) of the box holding the widest one, rotated."""
    width, height = widest_px(labels, size), size * LINE
    a = math.radians(abs(angle))
    return (width * math.cos(a) + height * math.sin(a),
            width * math.sin(a) + height * math.cos(a))


def number_labels(lo: float, hi: float, count: int = 6) -> list[str]:
    """The tick labels Plotly would write at most on a linear axis from ``lo`` to ``hi``
    with about ``count`` ticks: multiples of the finest step it might choose, written with
    that step's decimals (an estimate for sizing, not Plotly's exact choice)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return ["0"]
    step = 10 ** math.floor(math.log10((hi - lo) / count))  # the finest of 1, 2, 5 x 10^k
    decimals = max(0, -math.floor(math.log10(step)))
    first, last = math.ceil(lo / step), math.floor(hi / step)
    picks = {first, last, 0 if first <= 0 <= last else first}
    return [f"{k * step:.{decimals}f}".replace("-", "\u2212") for k in sorted(picks)]


def title_lines_px(title: str, size: float = TITLE_PX) -> float:
    """The height (px) of an axis title of one or more ``<br>`` lines; a ``<sup>`` line
    counts as a smaller one."""
    if not title:
        return 0.0
    total = 0.0
    for line in re.split(r"<br\s*/?>", title, flags=re.IGNORECASE):
        total += (0.75 if line.strip().lower().startswith("<sup>") else 1.0) * size * LINE
    return total


def fixed_margins(fig: go.Figure, *, left: float, right: float, top: float,
                  bottom: float, safety: float = SAFETY) -> go.Figure:
    """``fig`` with automargin off on every axis and its title, and these margins (px,
    rounded up, ``safety`` added to those over 10 px, which hold text; 0: exactly these,
    for a figure whose parts are sized from its margins)."""
    fig.update_xaxes(automargin=False)
    fig.update_yaxes(automargin=False)
    if fig.layout.title.text:
        fig.update_layout(title_automargin=False)
    pad = [math.ceil(v + (safety if v > 10 else 0)) for v in (left, right, top, bottom)]
    return fig.update_layout(margin={"l": pad[0], "r": pad[1], "t": pad[2], "b": pad[3]})
