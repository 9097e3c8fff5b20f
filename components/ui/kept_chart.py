"""Plotly charts the browser keeps: a chart drawn once is shown again without redrawing it.

`st.plotly_chart` names its element by the figure itself, so the browser tears a chart down
and draws it anew (`Plotly.newPlot`) whenever its figure changes. A row picked again on the
Explain page redrew every panel: 7-9 charts, about 0.3 s of the browser's time on 2 cores,
the whole budget of a cached pick. `kept_chart` draws the same figure with the same
plotly.js and Streamlit's own chart theme, but keys each drawing by the SHA-256 of the
figure's JSON: the page keeps the last `KEPT` drawings, and a figure it has drawn before is
put back in place as it was (a DOM move, no Plotly call). Only an unseen figure is drawn.

What changes on every pick but is small (the sample map's ring on the selected row) goes in
``layout``: a Plotly layout update applied over the kept drawing, which redraws only what it
names (a shape: ~2 ms, where redrawing a 1,797-point map took ~130 ms in Chromium here).

plotly.js is the Python `plotly` package's own copy (the version its figures are written
for), served with the theme by Streamlit's component file route, loaded once per page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from streamlit.components.v1 import declare_component

KEPT = 96  # drawings a page keeps: 9 panels for each of the last ~10 rows
DEFAULT_HEIGHT = 450  # px, as st.plotly_chart draws a figure with no height
CLICK = "click"  # the trigger a click on a point sets: {"points": [{"customdata", ...}]}

# Registered only for their file routes: /component/<module>.<name>/<file>. The theme is the
# template Streamlit's frontend gives a figure under theme="streamlit" (light), read from a
# chart it drew, so these charts look like every other chart of the app.
PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"  # holds plotly.min.js
ASSETS_DIR = Path(__file__).parent / "chart_assets"  # holds streamlit_plotly_theme.json
declare_component("plotly_js", path=str(PLOTLY_JS_DIR))
declare_component("chart_assets", path=str(ASSETS_DIR))

_JS = """
const PLOTLY = 'component/__MODULE__.plotly_js/plotly.min.js';
const THEME = 'component/__MODULE__.chart_assets/streamlit_plotly_theme.json';
const KEPT = __KEPT__;
// st.plotly_chart's own settings: no logo, no lasso/box select, the mode bar on hover.
const CONFIG = {displaylogo: false, displayModeBar: 'hover', responsive: false,
                modeBarButtonsToRemove: ['lasso2d', 'select2d', 'sendChartToCloud']};
const store = window.__glassboxCharts || (window.__glassboxCharts = {kept: new Map()});

function ready() {
  if (!store.ready) {
    const script = window.Plotly ? Promise.resolve() : new Promise((ok, fail) => {
      const tag = document.createElement('script');
      tag.src = new URL(PLOTLY, document.baseURI).href;
      tag.onload = ok;
      tag.onerror = () => fail(new Error('plotly.js did not load'));
      document.head.appendChild(tag);
    });
    const theme = fetch(new URL(THEME, document.baseURI).href).then((r) => r.json());
    store.ready = Promise.all([script, theme]).then(([, t]) => { store.theme = t; })
      .catch((error) => { store.ready = null; throw error; });
  }
  return store.ready;
}

// Most recently shown last; the oldest drawings not on screen are dropped beyond KEPT.
function keep(digest, chart) {
  store.kept.delete(digest);
  store.kept.set(digest, chart);
  for (const [old, gone] of store.kept) {
    if (store.kept.size <= KEPT) break;
    if (gone.isConnected) continue;
    store.kept.delete(old);
    window.Plotly.purge(gone);
  }
}

// A kept drawing was made at the width its column had then: follow the column's width now.
// The width comes from the host's ResizeObserver, not from clientWidth: reading layout right
// after moving a chart in forces the browser to lay the page out, once per chart.
function fit(chart, width) {
  if (width > 0 && chart._fullLayout && Math.abs(chart._fullLayout.width - width) > 1) {
    window.Plotly.relayout(chart, {width: width});
  }
}

// The small update over the drawing (the map's ring), when it is not the one applied.
function update(chart, layout) {
  const text = JSON.stringify(layout || {});
  if ((chart.__glassboxLayout || '{}') !== text) {
    chart.__glassboxLayout = text;
    window.Plotly.relayout(chart, layout || {});
  }
}

function draw(host, digest, figure, layout) {
  const spec = JSON.parse(figure);
  const chart = document.createElement('div');
  chart.className = 'glassbox-chart';
  chart.dataset.digest = digest;
  host.replaceChildren(chart);
  const own = Object.assign({}, spec.layout || {}, layout || {}, {template: store.theme});
  own.height = own.height || host.__glassboxHeight;
  own.width = host.__glassboxWidth || host.clientWidth || undefined;
  chart.__glassboxLayout = JSON.stringify(layout || {});
  window.Plotly.newPlot(chart, spec.data || [], own, CONFIG);
  // A click on a point goes to the element showing the chart now (kept charts move).
  chart.on('plotly_click', (event) => {
    const fire = chart.parentElement && chart.parentElement.__glassboxClick;
    if (fire) {
      fire('__CLICK__', {points: event.points.map((p) => ({
        customdata: p.customdata, curve_number: p.curveNumber, point_number: p.pointNumber}))});
    }
  });
  keep(digest, chart);
}

function show(host, digest, figure, layout) {
  let chart = host.firstElementChild;
  if (!chart || chart.dataset.digest !== digest) {
    const kept = store.kept.get(digest);
    if (!kept || kept.isConnected) {
      draw(host, digest, figure, layout);
      return;
    }
    host.replaceChildren(kept);
    keep(digest, kept);
    chart = kept;
  }
  fit(chart, host.__glassboxWidth);
  update(chart, layout);
}

export default function ({ data, parentElement, setTriggerValue }) {
  const host = parentElement;
  const { digest, figure, height, layout, clickable } = data;
  host.__glassboxWanted = digest;
  host.__glassboxHeight = height;
  host.__glassboxClick = clickable ? setTriggerValue : null;
  host.style.minHeight = height + 'px';  // the chart's room before plotly.js has loaded
  if (!host.__glassboxResize) {
    host.__glassboxResize = new ResizeObserver((entries) => {
      host.__glassboxWidth = Math.round(entries[entries.length - 1].contentRect.width);
      const chart = host.firstElementChild;
      if (chart && window.Plotly) fit(chart, host.__glassboxWidth);
    });
    host.__glassboxResize.observe(host);
  }
  if (store.theme && window.Plotly) {  // drawn now, before the browser paints again
    show(host, digest, figure, layout);
  } else {
    ready().then(() => {
      if (host.__glassboxWanted === digest) show(host, digest, figure, layout);
    }, () => { host.textContent = 'This chart could not be drawn: plotly.js did not load.'; });
  }
}
"""

_JS = _JS.replace("__MODULE__", __name__).replace("__KEPT__", str(KEPT)) \
    .replace("__CLICK__", CLICK)
_CHART = st.components.v2.component(
    "glassbox_kept_chart", js=_JS,
    isolate_styles=False)  # plotly.js styles its charts from <head>


def _spec(figure: go.Figure) -> tuple[str, str, int]:
    """The figure's JSON (its template left out: the page draws every chart in Streamlit's
    theme), that JSON's SHA-256 and the figure's height in px."""
    spec = json.loads(pio.to_json(figure, validate=False))
    layout = spec.setdefault("layout", {})
    layout.pop("template", None)
    text = json.dumps(spec, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest(), layout.get("height") or DEFAULT_HEIGHT


@st.cache_resource(max_entries=512, show_spinner=False)
def chart_spec_for(key: str, _build: Callable[[], go.Figure]) -> tuple[str, str, int]:
    """`_spec` of the figure ``_build()`` makes for ``key``, built once per key on this server:
    a row picked again is sent without building or serialising its figures."""
    return _spec(_build())


def kept_chart(build: Callable[[], go.Figure], *, place: str, key: str | None = None,
               layout: dict[str, Any] | None = None,
               on_click: Callable[[], None] | None = None) -> None:
    """Draw the figure ``build()`` makes in the element ``place`` (one per position on the
    page). With ``key`` (a string naming everything the figure shows) it is built once.

    ``layout``: a Plotly layout update drawn over the figure (small and cheap to redraw).
    ``on_click``: called when a point is clicked; `clicked_points(place)` says which.
    """
    figure, digest, height = chart_spec_for(key, build) if key is not None else _spec(build())
    data = {"digest": digest, "figure": figure, "height": height, "layout": layout or {},
            "clickable": on_click is not None}
    events = {f"on_{CLICK}_change": on_click} if on_click is not None else {}
    _CHART(key=place, data=data, height="content", **events)


def clicked_points(place: str) -> list[dict[str, Any]]:
    """The points of the last click on the kept chart ``place`` (each with its
    ``customdata``), from its ``on_click`` callback."""
    value = st.session_state[place].get(CLICK) if place in st.session_state else None
    points = value.get("points") if isinstance(value, dict) else None
    return [p for p in points if isinstance(p, dict)] if isinstance(points, list) else []
