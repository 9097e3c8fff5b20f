"""The Architecture page in AppTest: a click on a collapsed block opens it, and a failing dot
is one line on the page, which still shows the layer details."""

from __future__ import annotations

import stat

import pytest
from test_graph_layout import residual_cnn

from apptest_support import new_app, selected
from components.inspect.dot_layout import DOT_ENV
from components.text_safety import escape_markdown

PAGE = "views/architecture.py"


@pytest.fixture(scope="module")
def residual_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("model") / "residual.keras"
    residual_cnn().save(path)
    return path.read_bytes()


@pytest.fixture(autouse=True)
def fresh_caches():
    """Layouts are cached per model in the process: each test computes its own."""
    from components.ui.loaders import graph_image_for, layout_for

    layout_for.clear()
    graph_image_for.clear()
    yield
    layout_for.clear()
    graph_image_for.clear()


def chart_ids(at) -> set[str]:
    import json

    (chart,) = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    layers = next(t for t in figure["data"] if t.get("name") == "layers")
    return set(layers["customdata"])


def test_a_click_on_a_collapsed_block_opens_it(residual_bytes):
    at = new_app(timeout=180)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("residual.keras", residual_bytes).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert {"block0_a", "block1_add"} <= chart_ids(at)
    next(t for t in at.toggle if t.label == "Collapse repeated blocks").set_value(True).run()
    assert not at.exception
    ids = chart_ids(at)
    assert {"/block/block0", "/block/block1", "/block/block2"} <= ids and "block1_add" not in ids
    (chart,) = at.get("plotly_chart")
    selected(at, chart, {"points": [{"customdata": "/block/block1"}]})
    assert not at.exception
    ids = chart_ids(at)
    assert {"block1_a", "block1_b", "block1_add", "/block/block0", "/block/block2"} <= ids
    assert "/block/block1" not in ids
    assert next(m for m in at.multiselect if m.label == "Open blocks").value == [
        "/block/block1"]
    at.run()  # the selection persists over reruns: the block is opened once, not again
    assert next(m for m in at.multiselect if m.label == "Open blocks").value == [
        "/block/block1"]


def test_a_failing_dot_is_one_line_and_the_page_goes_on(tmp_path, monkeypatch):
    dot = tmp_path / "dot"
    dot.write_text("#!/bin/sh\necho 'Error: boom\nsecond line' >&2\nexit 1\n")
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(DOT_ENV, str(dot))
    at = new_app()
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        escape_markdown("Graphviz could not draw the layer graph (Error: boom)")]
    assert not at.get("plotly_chart")
    picker = next(s for s in at.selectbox if s.label == "Layer details")
    picker.select("encoder/dense").run()
    assert not at.exception and at.json[0].value  # the layer's configuration is still shown
