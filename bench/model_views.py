"""Server-side render times of the model views on large models, and the Architecture page's
settle time in a browser.

    .venv/bin/python bench/model_views.py [--repeats 5] [--browser]

- the architecture of a 302-layer functional model (100 branch-and-merge blocks, one nested
  submodel, collapsed and expanded), MobileNetV2 224x224 (156 layers), ResNet50 (177 layers)
  and a 4-block transformer encoder: read the graph (`build_graph`, where the model lives),
  lay it out (Graphviz dot, `graph_layout`), draw the figure and serialise it as Streamlit
  does (`to_json`); the layout with repeated blocks collapsed; the SVG and PNG exports;
- a 10-million-parameter Dense layer: its weights view (block-averaged heatmap, histogram of a
  1M sample, statistics) and the all-layers statistics table;
- with ``--browser``: the real app (Debian chromium) opening the Architecture page for
  MobileNetV2 and ResNet50 from a model folder: the first open (scan, load in a worker,
  graph, layout, figure), then colouring by parameters (a new figure and SVG), fitting the
  whole graph, and collapsing the repeated blocks (a new layout): each until the chart is
  drawn and the page has stopped running.
Prints the median of each over the repeats (the browser figures once each).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

from components.inspect.blocks import collapse_blocks  # noqa: E402
from components.inspect.dot_layout import graph_layout  # noqa: E402
from components.inspect.graph import build_graph  # noqa: E402
from components.inspect.weights import all_layers_table  # noqa: E402
from components.plots.model import architecture_image  # noqa: E402
from components.plots.model_views import architecture_view, weights_view  # noqa: E402


def deep_model(blocks: int = 100) -> keras.Model:
    inner = keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, name="inner_a"),
                              keras.layers.Dense(16, name="inner_b")], name="nested")
    inp = keras.Input((16,), name="x")
    x = inner(inp)
    for i in range(blocks):
        left = keras.layers.Dense(16, name=f"left{i}")(x)
        right = keras.layers.Dense(16, name=f"right{i}")(x)
        x = keras.layers.Add(name=f"merge{i}")([left, right])
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="out")(x))


def transformer_encoder(blocks: int = 4, length: int = 64, vocab: int = 1000,
                        width: int = 64) -> keras.Model:
    """Token ids -> embedding + positions -> ``blocks`` post-norm encoder blocks (self-
    attention, add & norm, feed-forward, add & norm) -> pooled -> 2 classes."""
    ids = keras.Input((length,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab, width, name="token_embedding")(ids)
    positions = keras.layers.Embedding(length, width, name="position_embedding")(
        keras.ops.arange(length))
    x = keras.layers.Add(name="embeddings")([x, positions])
    for i in range(blocks):
        attended = keras.layers.MultiHeadAttention(4, width // 4, name=f"encoder_{i}_attention")(
            x, x)
        x = keras.layers.LayerNormalization(name=f"encoder_{i}_attention_norm")(
            keras.layers.Add(name=f"encoder_{i}_attention_add")([x, attended]))
        hidden = keras.layers.Dense(4 * width, activation="gelu", name=f"encoder_{i}_ff_in")(x)
        hidden = keras.layers.Dense(width, name=f"encoder_{i}_ff_out")(hidden)
        x = keras.layers.LayerNormalization(name=f"encoder_{i}_ff_norm")(
            keras.layers.Add(name=f"encoder_{i}_ff_add")([x, hidden]))
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(ids, keras.layers.Dense(2, activation="softmax", name="classes")(x),
                       name="transformer_encoder")


def wide_model() -> keras.Model:
    return keras.Sequential([keras.Input((3200,)), keras.layers.Dense(3125, name="wide")])


def applications() -> dict[str, keras.Model]:
    return {"MobileNetV2 224": keras.applications.MobileNetV2(
                weights=None, input_shape=(224, 224, 3), classes=5),
            "ResNet50": keras.applications.ResNet50(weights=None, classes=5)}


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def architecture(label: str, model: keras.Model, repeats: int,
                 expanded: tuple[str, ...] = ()) -> None:
    """The architecture view's stages on ``model``, each a median over ``repeats``."""
    graph_s = median_seconds(lambda: build_graph(model, expanded), repeats)
    graph = build_graph(model, expanded)
    layout_s = median_seconds(lambda: graph_layout(graph), repeats)
    layout = graph_layout(graph)
    figure_s = median_seconds(lambda: architecture_view(graph, layout, color_by="params")
                              .figure.to_json(), repeats)
    collapsed = collapse_blocks(graph)
    collapsed_s = median_seconds(lambda: graph_layout(collapse_blocks(graph)), repeats)
    svg_s = median_seconds(lambda: architecture_image(graph, "svg"), repeats)
    png_s = median_seconds(lambda: architecture_image(graph, "png"), repeats)
    print(f"architecture, {label}, {len(graph.nodes)} nodes, {len(graph.edges)} edges: "
          f"graph {graph_s:.3f} s, layout (dot) {layout_s:.3f} s, figure + to_json "
          f"{figure_s:.3f} s; blocks collapsed ({len(collapsed.nodes)} nodes): collapse + "
          f"layout {collapsed_s:.3f} s; export SVG {svg_s:.3f} s, PNG {png_s:.3f} s")


def browser_settle(models: dict[str, keras.Model]) -> None:
    """Open the Architecture page for each model in the real app and Debian chromium."""
    sys.path.insert(0, str(ROOT / "tests"))
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM, CHROMIUM_ARGS, running_app

    folder = Path(tempfile.mkdtemp(prefix="glassbox-bench-models-"))
    files = {}
    for label, model in models.items():
        files[label] = f"{model.name}.keras"
        model.save(folder / files[label])
    log = folder / "streamlit.log"
    with running_app(log, env={"GLASSBOX_MODELS_DIR": str(folder)}) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, name in files.items():
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            start = time.perf_counter()
            page.goto(f"{url}/architecture?file={name}")
            _settled(page)
            first = time.perf_counter() - start
            steps = {"colour by params": lambda p: p.get_by_text("params", exact=True).click(),
                     "fit whole graph": lambda p: p.get_by_text("Fit whole graph",
                                                                exact=True).click(),
                     "collapse repeated blocks": lambda p: p.get_by_text(
                         "Collapse repeated blocks").click()}
            timed = []
            for what, step in steps.items():
                start = time.perf_counter()
                step(page)
                _settled(page, rerun=True)
                timed.append(f"{what} {time.perf_counter() - start:.1f} s")
            page.close()
            print(f"page settle, {label}: first open {first:.1f} s (scan, load in a worker, "
                  f"graph, layout, figure); then {', '.join(timed)}")
        browser.close()


def _settled(page, timeout_s: float = 300, rerun: bool = False) -> None:
    """The chart's labels are drawn and nothing is running or stale, three polls in a row;
    with ``rerun``, first wait for the rerun the last click started to show."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    busy = ('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stSpinner"], '
            '[data-stale="true"]')
    if rerun:
        with contextlib.suppress(PlaywrightTimeout):  # a quick rerun may be over already
            page.locator(busy).first.wait_for(timeout=1_000)
    page.locator(".js-plotly-plot g.textpoint, .js-plotly-plot .main-svg").first.wait_for(
        timeout=timeout_s * 1000)
    calm, deadline = 0, time.monotonic() + timeout_s
    while calm < 3 and time.monotonic() < deadline:
        calm = calm + 1 if not page.locator(busy).count() else 0
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser", action="store_true",
                        help="also time the Architecture page in Debian chromium")
    args = parser.parse_args()
    repeats = args.repeats
    deep = deep_model()
    for label, expanded in (("300-layer branched, collapsed", ()),
                            ("300-layer branched, nested expanded", ("nested",))):
        architecture(label, deep, repeats, expanded)
    apps = applications()
    for label, model in apps.items():
        architecture(label, model, repeats)
    architecture("transformer encoder, 4 blocks", transformer_encoder(), repeats)
    wide = wide_model()
    params = wide.count_params()
    secs = median_seconds(lambda: [f.to_json() for f in weights_view(wide, "wide").figures],
                          repeats)
    print(f"weights view, {params:,}-parameter Dense layer: median {secs:.3f} s "
          "(heatmap 200x200 of block means, 1M-value histogram sample, statistics, to_json)")
    secs = median_seconds(lambda: all_layers_table(wide), repeats)
    print(f"all-layers statistics table, {params:,} parameters: median {secs:.3f} s")
    if args.browser:
        browser_settle(apps)


if __name__ == "__main__":
    main()
