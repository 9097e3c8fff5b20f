"""Browser test: the Architecture page draws a residual CNN and MobileNetV2 readably.

The real app serves two models from a model folder (``?file=NAME``) to Debian's headless
chromium. From the chart's own data, read in the page: no two boxes overlap, every label is
drawn inside its box at 12 px (legible at the opening zoom), each residual edge runs beside
the layers it skips, a click on a box opens its layer. The screenshots are written to pytest's
temporary folder and their paths printed (``-s`` shows them).
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from test_graph_layout import crossings, overlap, residual_cnn

from browser_support import BOX_CENTRE, CHROMIUM, running_app, whole_page_screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
    pytest.mark.skipif(shutil.which("dot") is None,
                       reason="Graphviz's dot is not installed (make graphviz)"),
]

VIEWPORT = {"width": 1600, "height": 1000}
# Layer names the app accepts (no "/" or "\\": those are refused at the scan) that would be
# DOT syntax, markup or an entity if they were not handled as text
HOSTILE = ['"; rankdir=LR; x [label="', "<script>alert(1)", "<img src=x onerror=alert(1)>",
           "&lt;b&gt; & c", "x" * 10_000]
WAIT_S = 180
BUSY = ('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stSpinner"], '
        '[data-testid="stSkeleton"], [data-stale="true"]')

# The chart as drawn: boxes and edges in data units (points), the click markers, each label's
# rendered box in page pixels with its anchor, and the axes' mapping.
FIGURE = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  const data = plot.data, xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
  const frame = plot.getBoundingClientRect();
  const boxes = [];
  data.filter((t) => t.legendgroup === 'boxes').forEach((t) => {
    for (let i = 0; i + 4 < t.x.length; i += 6) {
      const xs = t.x.slice(i, i + 4), ys = t.y.slice(i, i + 4);
      boxes.push([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
    }
  });
  const layers = data.find((t) => t.name === 'layers');
  const markers = layers.x.map((x, i) => [x, layers.y[i], layers.customdata[i]]);
  const edges = []; let path = [];
  const e = data.find((t) => t.name === 'edges');
  e.x.forEach((x, i) => { if (x === null) { edges.push(path); path = []; }
                          else path.push([x, e.y[i]]); });
  const index = data.findIndex((t) => t.name === 'labels');
  const labels = [];
  if (index >= 0) {
    const trace = plot.querySelectorAll('.scatterlayer .trace')[index];
    trace.querySelectorAll('g.textpoint text').forEach((el, i) => {
      const r = el.getBoundingClientRect();
      labels.push({x: data[index].x[i], y: data[index].y[i],
                   box: [r.left, r.top, r.right, r.bottom]});
    });
  }
  return {boxes, markers, edges, labels,
          font: index >= 0 ? data[index].textfont.size : null,
          x0: frame.left + xa._offset, y0: frame.top + ya._offset,
          x_range: xa.range, y_range: ya.range, width: xa._length, height: ya._length};
}"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A model folder with the residual CNN and MobileNetV2 (224x224, 5 classes)."""
    import keras

    folder = tmp_path_factory.mktemp("models")
    residual_cnn().save(folder / "residual.keras")
    keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=5).save(
        folder / "mobilenetv2.keras")
    keras.Sequential([keras.Input((3,), name="in")]
                     + [keras.layers.Dense(2, name=n) for n in HOSTILE], name="hostile").save(
        folder / "hostile.keras")
    return folder


@pytest.fixture(scope="module")
def app(folder, tmp_path_factory):
    """The app, serving ``folder`` as its model folder."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_app(log, env={"GLASSBOX_MODELS_DIR": str(folder)}) as url:
        yield url


def settle(page) -> None:
    """The chart drawn, nothing running or stale, three polls in a row."""
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=WAIT_S * 1000)
    deadline, calm = time.monotonic() + WAIT_S, 0
    while calm < 3:
        assert time.monotonic() < deadline, "the page is still running"
        calm = calm + 1 if not page.locator(BUSY).count() else 0
        time.sleep(0.25)


def view_is(page, revision: str) -> None:
    """Wait for the chart whose view (``uirevision``: zoom|focus|layout) starts with
    ``revision``, then for the page to settle."""
    page.wait_for_function(
        "(r) => { const p = document.querySelector('.js-plotly-plot');"
        " return p && String(p._fullLayout.uirevision).startsWith(r); }", arg=revision,
        timeout=WAIT_S * 1000)
    settle(page)


def screenshot(page, path: Path) -> Path:
    print(f"screenshot: {path}")
    return whole_page_screenshot(page, path, 4000)


def node_boxes(figure: dict) -> dict[str, tuple]:
    """Node id -> its box (points), found through the click markers lying on each box."""
    out = {}
    for x, y, node_id in figure["markers"]:
        out[node_id] = next(b for b in figure["boxes"] if b[0] < x < b[2] and b[1] < y < b[3])
    return out


def edge_ends(figure: dict, boxes: dict[str, tuple]) -> list[tuple[str, str, list]]:
    """Each drawn edge as (source, target, path): it leaves its source's bottom and its
    arrow's tip touches its target's top."""
    def nearest(point: tuple, side: int) -> str:
        x, y = point
        return min((abs(b[side] - y), node_id) for node_id, b in boxes.items()
                   if b[0] - 1 <= x <= b[2] + 1)[1]

    return [(nearest(path[0], 1), nearest(path[-1], 3), path) for path in figure["edges"]]


def assert_readable(figure: dict) -> None:
    """Boxes apart; every label at 12 px inside its box, so nothing of it is hidden."""
    assert figure["font"] == 12, "labels are not at their legible size at the opening zoom"
    for a, b in itertools.combinations(figure["boxes"], 2):
        assert not overlap(a, b), (a, b)
    scale = figure["height"] / (figure["y_range"][1] - figure["y_range"][0])
    assert abs(scale - 1) < 0.02  # one pixel a point: dot sized the boxes for 12 px text

    def px(x: float, y: float) -> tuple[float, float]:
        return (figure["x0"] + (x - figure["x_range"][0]) * scale,
                figure["y0"] + (figure["y_range"][1] - y) * scale)

    assert len(figure["labels"]) == len(figure["boxes"])
    for label in figure["labels"]:
        x0, y0, x1, y1 = next(b for b in figure["boxes"]
                              if b[0] < label["x"] < b[2] and b[1] < label["y"] < b[3])
        left, top = px(x0, y1)
        right, bottom = px(x1, y0)
        text_left, text_top, text_right, text_bottom = label["box"]
        assert left <= text_left and text_right <= right, (label, (x0, y0, x1, y1))
        assert top <= text_top and text_bottom <= bottom, (label, (x0, y0, x1, y1))


def assert_skips_drawn_apart(figure: dict, graph: nx.DiGraph) -> int:
    """Each edge that skips layers runs beside each of them, at their heights; returns how
    many skip edges there are."""
    boxes = node_boxes(figure)
    skips = 0
    for u, v, path in edge_ends(figure, boxes):
        assert graph.has_edge(u, v), (u, v)
        graph.remove_edge(u, v)
        skipped = [w for w in graph if w not in (u, v)
                   and nx.has_path(graph, u, w) and nx.has_path(graph, w, v)]
        graph.add_edge(u, v)
        skips += bool(skipped)
        xs, ys = tuple(p[0] for p in path), tuple(p[1] for p in path)
        for w in skipped:
            x0, y0, x1, y1 = boxes[w]
            for y in (y0, (y0 + y1) / 2, y1):
                at = crossings(xs, ys, y)
                assert at and all(x < x0 or x > x1 for x in at), f"{u}->{v} over {w}"
    return skips


def test_residual_cnn_boxes_apart_labels_legible_skips_visible(app, browser, tmp_path):
    from components.inspect.graph import build_graph

    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{app}/architecture?file=residual.keras")
    settle(page)
    screenshot(page, tmp_path / "architecture-residual.png")
    figure = page.evaluate(FIGURE)
    assert len(figure["boxes"]) == 13  # input, stem, 3 x (a, b, add), pool, head
    assert_readable(figure)
    graph = nx.DiGraph(build_graph(residual_cnn()).edges)
    assert assert_skips_drawn_apart(figure, graph) == 3
    # the top of the graph is in view: the input's box
    boxes = node_boxes(figure)
    assert figure["y_range"][0] <= boxes["image"][1] <= boxes["image"][3] <= figure["y_range"][1]
    # a click on a box opens that layer
    x, y = page.evaluate(BOX_CENTRE, "block1_b")
    page.mouse.click(x, y)
    page.get_by_role("heading", name="block1_b · Conv2D").wait_for(timeout=60_000)
    page.get_by_test_id("stMetricValue").filter(has_text="584").first.wait_for(
        timeout=30_000)  # 3x3x8x8 + 8
    # the exports hold the whole graph, every box, not only what is in view
    with page.expect_download(timeout=60_000) as svg:
        page.get_by_role("button", name="Download the graph (SVG)").click()
    root = ET.parse(svg.value.path()).getroot()
    assert len([g for g in root.iter() if g.get("class") == "node"]) == 13
    with page.expect_download(timeout=60_000) as png:
        page.get_by_role("button", name="Download the graph (PNG)").click()
    data = Path(png.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[20:24], "big") > 800
    page.close()


def test_residual_cnn_go_to_fit_and_collapsed_blocks(app, browser, tmp_path):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{app}/architecture?file=residual.keras")
    settle(page)
    page.get_by_label("Go to layer").fill("block2_add")
    page.get_by_label("Go to layer").press("Enter")
    view_is(page, "1.0|block2_add|")  # the chart of this rerun, not the last one
    figure = page.evaluate(FIGURE)
    y0, y1 = node_boxes(figure)["block2_add"][1::2]
    assert abs((figure["y_range"][0] + figure["y_range"][1]) / 2 - (y0 + y1) / 2) < 1.5
    page.get_by_text("Fit whole graph", exact=True).click()
    view_is(page, "None|block2_add|")
    figure = page.evaluate(FIGURE)
    for x0, y0, x1, y1 in figure["boxes"]:  # the whole graph is in view
        assert figure["x_range"][0] <= x0 and x1 <= figure["x_range"][1]
        assert figure["y_range"][0] <= y0 and y1 <= figure["y_range"][1]
    screenshot(page, tmp_path / "architecture-residual-fit.png")
    page.get_by_text("Collapse repeated blocks").click()
    view_is(page, "None|/block/block2|")
    figure = page.evaluate(FIGURE)
    ids = {m[2] for m in figure["markers"]}
    assert {"/block/block0", "/block/block1", "/block/block2"} <= ids
    assert not {"block0_a", "block1_b", "block2_add"} & ids
    page.get_by_text("One box matches.").wait_for()  # block2_add, inside block2
    outline = page.evaluate("() => document.querySelector('.js-plotly-plot').data"
                            ".find((t) => t.name === 'search matches').x.slice(0, 5)")
    x0, _, x1, _ = node_boxes(figure)["/block/block2"]
    assert min(outline) == x0 and max(outline) == x1
    screenshot(page, tmp_path / "architecture-residual-blocks.png")
    page.close()


def test_mobilenetv2_is_readable_at_first_sight(app, folder, browser, tmp_path):
    import keras

    from components.inspect.graph import build_graph

    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{app}/architecture?file=mobilenetv2.keras")
    settle(page)
    screenshot(page, tmp_path / "architecture-mobilenetv2.png")
    figure = page.evaluate(FIGURE)
    assert len(figure["boxes"]) == 156
    assert_readable(figure)
    page.close()
    graph = nx.DiGraph(build_graph(keras.saving.load_model(folder / "mobilenetv2.keras")).edges)
    assert assert_skips_drawn_apart(figure, graph) == 10  # MobileNetV2's ten residual Adds


def test_hostile_layer_names_are_drawn_as_typed(app, browser, tmp_path):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{app}/architecture?file=hostile.keras")
    settle(page)
    screenshot(page, tmp_path / "architecture-hostile.png")
    chart = page.locator(".js-plotly-plot")
    names = chart.locator("g.textpoint text").evaluate_all(
        "(els) => els.map((e) => e.querySelector('tspan').textContent)")
    assert names == ["in", *HOSTILE[:4], "x" * 39 + "\u2026"]
    assert not chart.locator("script, img, foreignObject, a").count()
    figure = page.evaluate(FIGURE)
    assert_readable(figure)
    xs = {round((b[0] + b[2]) / 2) for b in figure["boxes"]}
    assert len(xs) == 1  # one top-down column: "rankdir=LR" stayed a label
    page.close()
