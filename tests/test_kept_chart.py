"""Kept charts (`components.ui.kept_chart`): what the browser is sent, built once per key,
the files it loads, and a click reaching Python. The drawing itself (kept nodes, the ring
moving over a map that is not redrawn) is checked in Chromium by test_browser_picks."""

from __future__ import annotations

import hashlib
import json

import page_charts
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from apptest_support import clicked
from components.ui import kept_chart as kc


def _bars(height: int | None = None) -> go.Figure:
    figure = go.Figure(go.Bar(x=[1.0, -2.0], y=["a", "b"], orientation="h"))
    return figure.update_layout(height=height) if height else figure


def test_the_spec_leaves_out_the_template_and_is_named_by_its_digest():
    text, digest, height = kc._spec(_bars())
    spec = json.loads(text)
    assert "template" not in spec["layout"]  # drawn in Streamlit's theme, by the page
    assert spec["data"][0]["x"] == [1.0, -2.0]
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert height == kc.DEFAULT_HEIGHT and kc._spec(_bars(300))[2] == 300
    assert kc._spec(_bars())[1] == digest  # the same figure, the same name
    assert kc._spec(_bars(300))[1] != digest


def test_a_keyed_figure_is_built_once():
    kc.chart_spec_for.clear()
    built = []

    def build() -> go.Figure:
        built.append(1)
        return _bars()

    first = kc.chart_spec_for("test-bars", build)
    assert kc.chart_spec_for("test-bars", build) == first and len(built) == 1
    kc.chart_spec_for("test-other", build)
    assert len(built) == 2


def test_plotly_js_and_the_theme_are_in_the_folders_served():
    """The page loads both through Streamlit's component file route (the Explain page's
    browser tests draw with them)."""
    assert (kc.PLOTLY_JS_DIR / "plotly.min.js").stat().st_size > 1_000_000
    theme = json.loads((kc.ASSETS_DIR / "streamlit_plotly_theme.json").read_text())
    assert theme["layout"]["font"]["family"].startswith('"Source Sans"')
    assert f"component/{kc.__name__}.plotly_js/plotly.min.js" in kc._JS
    assert f"component/{kc.__name__}.chart_assets/streamlit_plotly_theme.json" in kc._JS


def _script() -> None:
    import plotly.graph_objects as go
    import streamlit as st

    from components.ui.kept_chart import clicked_points, kept_chart

    def picked() -> None:
        st.session_state["picked"] = clicked_points("points_map")

    kept_chart(lambda: go.Figure(go.Scatter(x=[0, 1], y=[0, 1], customdata=[[7], [8]])),
               place="points_map", key="test-points", layout={"shapes": []},
               on_click=picked)
    kept_chart(lambda: go.Figure(go.Bar(x=[1])), place="plain")
    st.write(st.session_state.get("picked", "none"))


def test_the_page_is_sent_the_figure_and_a_click_reaches_the_callback():
    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception, at.exception
    sent = page_charts.kept_data(page_charts.kept(at, "points_map"))
    assert sent["clickable"] and sent["layout"] == {"shapes": []}
    assert json.loads(sent["figure"])["data"][0]["customdata"] == [[7], [8]]
    assert sent["digest"] == hashlib.sha256(sent["figure"].encode()).hexdigest()
    assert not page_charts.kept_data(page_charts.kept(at, "plain"))["clickable"]
    assert [c.key for c in page_charts.charts(at)] == ["points_map", "plain"]
    point = {"customdata": [8], "curve_number": 0, "point_number": 1}
    at = clicked(at, page_charts.kept(at, "points_map"), {"points": [point]})
    assert not at.exception, at.exception
    assert at.session_state["picked"] == [point]
