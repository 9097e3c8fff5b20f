"""What a layout check reads from a rendered page, and the rules it holds the page to.

The browser side is one script (`PAGE_FACTS`) run in the page: it returns plain data (the
viewport, elements wider than it, each Plotly chart's text boxes, the visible text and the
page heading). The rules (`problems`) are plain Python over that data, so they can be read
and tested without a browser.
"""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any

# Raw values that leaked into the page unformatted: Python's None, numpy's nan, JavaScript's
# undefined, and floats in scientific notation (1e-06, 2.5E+07). A word is flagged only as a
# value of its own: not inside a longer word or number, not continued by a lowercase word
# ("None of the rows" is English) and not a label's head ("None: upload below" names a choice).
RAW_VALUE = re.compile(
    r"(?<![\w.\-])(None|NaN|nan|undefined)(?![\w:])(?! [a-z])"
    r"|(?<![\w.])[-+]?\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])")
# A table cell that is nothing but one of these. (Numbers are not read from tables: their
# accessible copy is the raw value, not what the canvas shows. A missing value, which the
# canvas draws as "None", is an empty cell there and cannot be told from an empty string.)
RAW_WORDS = frozenset({"None", "NaN", "nan", "undefined", "null"})
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
FILE_NAME = re.compile(r"\.(keras|h5|hdf5|csv|npz|npy|json|zip)\b", re.IGNORECASE)
SLACK_PX = 1.0  # sub-pixel rounding: boxes that touch within this do not count as overlapping
INK_ABOVE, INK_BELOW = 0.2, 0.1  # share of a text box's height above / below its glyphs

# Runs in the page. Returns everything the rules need as JSON-able data.
PAGE_FACTS = r"""
() => {
  const vw = window.innerWidth;
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
            width: r.width, height: r.height}; };
  const shown = (el) => { const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity) > 0
      && r.width > 0 && r.height > 0; };
  const name = (el) => { const id = el.getAttribute('data-testid');
    const cls = (el.getAttribute('class') || '').toString().split(' ').slice(0, 2).join('.');
    return el.tagName.toLowerCase() + (id ? '[' + id + ']' : '') + (cls ? '.' + cls : ''); };
  // An element inside a container that scrolls or clips sideways (a dataframe, a code block)
  // is that container's business: only the container itself must fit the viewport. The
  // page's own scrollers (main, the app view) do not count: content wider than them is what
  // this check looks for.
  const pageScrollers = new Set([document.documentElement, document.body,
    document.querySelector('[data-testid="stMain"]'),
    document.querySelector('[data-testid="stAppViewContainer"]'),
    document.querySelector('[data-testid="stApp"]')]);
  const clipped = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
      if (pageScrollers.has(p)) return false;
      const o = getComputedStyle(p).overflowX;
      if (o !== 'visible') return true; }
    return false; };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 && !clipped(el)) {
      wide.push({element: name(el), right: Math.round(r.right),
                 text: (el.innerText || el.textContent || '').trim().slice(0, 60)});
    }
  }
  const kinds = [
    ['title', '.g-gtitle text'], ['axis title', '.infolayer text[class*="title"]'],
    ['legend', '.legend text'], ['colorbar', '.colorbar text'],
    ['annotation', '.annotation-text'], ['label', '.textpoint text'],
    ['tick', '.xtick text, .ytick text'],
  ];
  // A point's label drawn clipped to its plot area (Plotly's cliponaxis) is cut at that
  // area's edge, not at the figure's: the box of the subplot's drag cover is that area.
  const clipOf = (el) => {
    for (let p = el.parentElement; p && p.tagName !== 'svg'; p = p.parentElement) {
      if (!p.getAttribute('clip-path')) continue;
      const subplot = el.closest('g.subplot');
      const plot = el.closest('.js-plotly-plot');
      if (!subplot || !plot) return null;
      const id = Array.from(subplot.classList).find((c) => c !== 'subplot');
      const cover = plot.querySelector('.draglayer .' + id + ' .nsewdrag');
      return cover ? box(cover) : null;
    }
    return null;
  };
  const charts = [];
  document.querySelectorAll('.js-plotly-plot').forEach((plot, index) => {
    const svg = plot.querySelector('svg.main-svg');
    if (!svg || !shown(plot)) return;
    const texts = []; const seen = new Set();
    for (const [kind, selector] of kinds) {
      for (const el of plot.querySelectorAll(selector)) {
        if (seen.has(el)) continue;
        seen.add(el);
        const text = (el.textContent || '').trim();
        if (!text || !shown(el)) continue;
        texts.push({kind, text: text.slice(0, 80), box: box(el), clip: clipOf(el)});
      }
    }
    const title = plot.querySelector('.g-gtitle text');
    charts.push({index, title: title ? title.textContent.trim() : '', box: box(svg), texts});
  });
  // A table is drawn on a canvas; its accessible copy holds each cell's value (numbers raw,
  // as the canvas does not show them; text as shown).
  const cells = [];
  document.querySelectorAll('[data-testid="stDataFrame"]').forEach((table, index) => {
    for (const cell of table.querySelectorAll('[role="gridcell"], [role="columnheader"]')) {
      cells.push({table: index, text: (cell.textContent || '').trim()});
    }
  });
  // A widget's label cut to "…" (its column too narrow): the text overflows its box.
  const truncated = [];
  document.querySelectorAll('[data-testid="stWidgetLabel"] *').forEach((el) => {
    if (!shown(el) || getComputedStyle(el).textOverflow !== 'ellipsis') return;
    if (el.scrollWidth > el.clientWidth + 1) truncated.push((el.textContent || '').trim());
  });
  const main = document.querySelector('[data-testid="stMain"]');
  const heading = main ? main.querySelector('h1') : null;
  return {
    viewport: {width: vw, height: window.innerHeight},
    scrollWidth: document.documentElement.scrollWidth,
    mainScroll: main ? {scrollWidth: main.scrollWidth, clientWidth: main.clientWidth} : null,
    wide, charts, cells, truncated,
    text: document.body.innerText,
    heading: heading ? heading.innerText.trim() : null,
    headings: main ? Array.from(main.querySelectorAll('h1, h2, h3, h4'))
      .map((h) => h.innerText.trim()).filter((t) => t) : [],
  };
}
"""


def ink(box: dict[str, float]) -> dict[str, float]:
    """Where a text's glyphs are drawn: an SVG text's box is its font's whole line (ascent
    plus descent), which runs about a fifth of its height above the capitals and a tenth
    below the descenders. Two lines set flush, a colour bar's title on its top tick label,
    touch as boxes and do not touch as text."""
    height = box["bottom"] - box["top"]
    return box | {"top": box["top"] + INK_ABOVE * height,
                  "bottom": box["bottom"] - INK_BELOW * height}


def overlap(a: dict[str, float], b: dict[str, float], slack: float = SLACK_PX) -> bool:
    """Whether the glyphs of two text boxes (left, top, right, bottom in px) intersect by
    more than ``slack`` each way."""
    a, b = ink(a), ink(b)
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)


def chart_problems(chart: dict[str, Any]) -> list[str]:
    """Text boxes of one chart that intersect, or that stick out of the chart (cut off).

    Tick labels are compared with every other text but not with each other (Plotly spaces
    and rotates them itself), and must lie inside the chart like every text; legend
    entries and colour-bar labels are compared within their own legend or bar too (stacked
    ticks)."""
    name = f"chart {chart['index']} {chart['title']!r}"
    out = []
    for a, b in combinations(chart["texts"], 2):
        if a["kind"] == b["kind"] == "tick":
            continue
        if overlap(a["box"], b["box"]):
            out.append(f"{name}: {a['kind']} {a['text']!r} overlaps {b['kind']} {b['text']!r}")
    for t in chart["texts"]:
        # a tick label is never clipped to its plot area: only the chart's edge can cut it
        # (a margin sized too small for the feature names)
        box, frame = t["box"], (t.get("clip") if t["kind"] != "tick" else None) or chart["box"]
        if (box["left"] < frame["left"] - 2 or box["right"] > frame["right"] + 2
                or box["top"] < frame["top"] - 2 or box["bottom"] > frame["bottom"] + 2):
            out.append(f"{name}: {t['kind']} {t['text']!r} is cut by the chart's edge")
    return out


def raw_values(text: str) -> list[str]:
    """Each visible line that shows a raw None/NaN/undefined or a number in e-notation."""
    return [line.strip()[:120] for line in text.splitlines() if RAW_VALUE.search(line)]


def heading_problems(heading: str | None) -> list[str]:
    """The page heading must be for people: present, no file name, no snake_case name."""
    if not heading:
        return ["the page has no heading (h1)"]
    out = []
    if FILE_NAME.search(heading):
        out.append(f"the heading {heading!r} is a file name")
    if SNAKE_CASE.search(heading):
        out.append(f"the heading {heading!r} shows an identifier, not a title")
    return out


def identifier_problems(facts: dict[str, Any], identifiers: tuple[str, ...]) -> list[str]:
    """Headings and chart titles name the model by its title, never by ``identifiers`` (its
    file name, its Keras name): those are for the one caption that lists them."""
    titles = [*facts.get("headings", []), *(c["title"] for c in facts["charts"])]
    return [f"the title {title!r} names the model as {name!r}"
            for title in titles for name in identifiers if name and name in title]


def problems(facts: dict[str, Any], identifiers: tuple[str, ...] = ()) -> list[str]:
    """Every rule the page breaks, one line each; ``identifiers`` are the model's file and
    Keras names, which no title may show."""
    out = []
    width = facts["viewport"]["width"]
    if facts["scrollWidth"] > width:
        out.append(f"the page is {facts['scrollWidth']} px wide in a {width} px viewport")
    main = facts["mainScroll"]
    if main and main["scrollWidth"] > main["clientWidth"] + 1:
        out.append(f"the main area scrolls sideways ({main['scrollWidth']} px in "
                   f"{main['clientWidth']} px)")
    out += [f"{w['element']} reaches {w['right']} px > {width} px: {w['text']!r}"
            for w in facts["wide"][:10]]
    for chart in facts["charts"]:
        out += chart_problems(chart)
    out += [f"raw value in the text: {line!r}" for line in raw_values(facts["text"])]
    out += [f"table {cell['table']} shows a cell {cell['text']!r}"
            for cell in facts.get("cells", []) if cell["text"] in RAW_WORDS]
    out += [f"the label {label!r} is cut short" for label in facts.get("truncated", [])]
    out += heading_problems(facts["heading"])
    out += identifier_problems(facts, identifiers)
    return out
