"""User text reaches every Plotly figure as text, never as Plotly's label HTML.

Plotly.js reads a subset of HTML in trace text, hover text, legend names, tick labels, titles
and annotations: a layer, class, feature or column name like ``<a href=...>`` would become a
clickable link. Each figure is built through its public builder with hostile names; its JSON
(as the browser receives it) must carry them only as entities. ``customdata`` is left out of
that check: it is click data, kept raw so a click maps back to its node or row, and it is
rendered only through a hover or text template, which no figure here uses on it.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from components.data.evaluation import CalibrationCurve, PrCurve, RocCurve
from components.inspect.dot_layout import graph_layout
from components.inspect.graph import LayerGraph, Node, build_graph
from components.inspect.history import TrainingHistory
from components.plots import explain as plots_explain
from components.plots import model as plots_model
from components.plots.metrics import (
    calibration_figure,
    clicked_cell,
    confusion_matrix_figure,
    pr_figure,
    roc_figure,
    training_curves,
)
from components.plots.model_views import architecture_view, clicked_node, weights_view
from components.plots.sample_map import clicked_row, sample_map
from components.plots.text import escape

LINK = '<a href="https://evil.example">x</a>'
IMG = "<img src=x onerror=alert(1)>"
BOLD = "<b>bold</b>"
HOSTILE = (LINK, IMG, BOLD)
# Keras forbids "/" in layer names; these still carry a link, an image and bold text
LAYER_LINK = '<a href="https:evil.example">x'
LAYER_BOLD = "<b>bold"
# Raw markup that must not survive. Not a bare "<b>": the graph's hover bolds node ids itself.
FORBIDDEN = ("<a", "<img", "<b>bold")


def rendered(fig: go.Figure) -> str:
    """The figure as sent to the browser, decoded ("<" is "\\u003c" in ``to_json``), less
    ``customdata``, which must then be used by no template."""
    data = json.loads(fig.to_json())
    for trace in data["data"]:
        if trace.pop("customdata", None) is not None:
            templates = f"{trace.get('hovertemplate', '')}{trace.get('texttemplate', '')}"
            assert "customdata" not in templates, trace
    return json.dumps(data, ensure_ascii=False)


def encoded(text: str) -> str:
    """``text`` as it appears inside a JSON string ('"' as '\\"')."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def assert_text_only(fig: go.Figure, shown=HOSTILE) -> str:
    text = rendered(fig)
    for raw in FORBIDDEN:
        assert raw not in text, f"{raw!r} reaches the figure unescaped"
    for value in shown:
        assert encoded(escape(value)) in text, f"{escape(value)!r} not shown"
    return text


def test_escape_is_shared_and_plotly_safe():
    assert plots_explain.escape is escape
    assert escape(LINK) == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    assert escape("a & b") == "a &amp; b"  # "&lt;" typed by a user stays "&lt;" on screen
    assert escape("&lt;") == "&amp;lt;"


# ---------------------------------------------------------------- architecture


def test_architecture_figure_labels_legend_hover_and_cluster():
    nodes = {
        LINK: Node(id=LINK, name=LINK, class_name="InputLayer", parent=None,
                   output_shape=(None, 3), params=0),
        IMG: Node(id=IMG, name=IMG, class_name=BOLD, parent=None, output_shape=None,
                  params=8),
        "g/in": Node(id="g/in", name=BOLD, class_name=IMG, parent=BOLD, output_shape=(None, 2),
                     params=6),
    }
    graph = LayerGraph(nodes=nodes, edges=((LINK, IMG), (IMG, "g/in")),
                       groups={BOLD: ("g/in",)}, submodels=(BOLD,))
    layout = graph_layout(graph)
    assert set(layout.clusters) == {BOLD}  # the submodel's cluster, its label from the file
    fig = plots_model.architecture_figure(graph, layout, highlight=[IMG], selected=LINK)
    text = assert_text_only(fig)
    assert encoded(escape(f"{BOLD} (submodel")) not in text  # not a group node: plain class name
    assert encoded(escape(BOLD)) in json.dumps([s.label.text for s in fig.layout.shapes])
    legend = {t.name for t in fig.data if t.legendgroup == "boxes"}
    assert legend == {"InputLayer", escape(BOLD), escape(IMG)}
    # clicks still return the raw node id, which the page looks up in the graph
    ids = set(next(t for t in fig.data if t.name == "layers").customdata)
    assert ids == set(nodes)
    assert clicked_node({"selection": {"points": [{"customdata": [LINK]}]}}) == LINK


def test_architecture_view_of_a_model_with_hostile_layer_names():
    model = keras.Sequential([keras.Input((3,), name=IMG),
                              keras.layers.Dense(2, name=LAYER_LINK),
                              keras.layers.Dense(1, name=LAYER_BOLD)])
    graph = build_graph(model)
    view = architecture_view(graph, graph_layout(graph), query="dense", selected=LAYER_LINK)
    assert_text_only(view.figure, shown=(IMG, LAYER_LINK, LAYER_BOLD))
    ids = set(next(t for t in view.figure.data if t.name == "layers").customdata)
    assert ids == {IMG, LAYER_LINK, LAYER_BOLD}


# ---------------------------------------------------------------- weights


@pytest.fixture(scope="module")
def hostile_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name=LAYER_LINK),
                              keras.layers.BatchNormalization(name=LAYER_BOLD),
                              keras.layers.Dense(2, name=IMG)])
    model(np.zeros((1, 3), dtype="float32"))
    return model


def test_weights_view_figures_with_hostile_layer_and_feature_names(hostile_model):
    view = weights_view(hostile_model, LAYER_LINK, feature_names=HOSTILE)
    assert len(view.figures) >= 3  # kernel heatmap, bias, histograms
    heatmap = view.figures[0]
    assert list(heatmap.data[0].y) == [escape(h) for h in HOSTILE]  # the kernel's rows
    assert_text_only(go.Figure(data=[t for f in view.figures for t in f.data]),
                     shown=HOSTILE)
    for fig in view.figures:
        assert_text_only(fig, shown=(LAYER_LINK,))
    for name in (LAYER_BOLD, IMG):
        for fig in weights_view(hostile_model, name).figures:
            assert_text_only(fig, shown=(name,))


def test_weight_builders_with_hostile_names():
    rng = np.random.default_rng(0)
    figures = [
        plots_model.weight_heatmap(rng.normal(size=(3, 2)), layer=LINK, weight=IMG,
                                   row_labels=[BOLD, "b", "c"]),
        plots_model.bias_bar(rng.normal(size=2), layer=LINK + IMG + BOLD),
        plots_model.conv_filter_grid(rng.normal(size=(3, 3, 2, 4)),
                                     layer=LINK + IMG + BOLD),
        plots_model.embedding_projection(rng.normal(size=(5, 4)), layer=LINK,
                                         tokens=[IMG, BOLD, "ok"]),
        plots_model.vector_bars({LINK: rng.normal(size=3), IMG: rng.normal(size=3),
                                 BOLD: rng.normal(size=3)}, layer=LINK + IMG + BOLD),
        plots_model.weight_histogram(rng.normal(size=50), title=LINK + IMG + BOLD),
    ]
    for fig in figures:
        assert_text_only(fig)


# ---------------------------------------------------------------- metrics


def test_training_curves_with_hostile_column_names():
    frame = pd.DataFrame({LINK: [1.0, 0.5], f"val_{LINK}": [1.2, 0.4],
                          IMG: [0.1, 0.2], BOLD: [3.0, 2.0]})
    fig = training_curves(TrainingHistory(frame, f"{IMG}.json"), best_metric=f"val_{LINK}")
    assert_text_only(fig)
    assert [a.text for a in fig.layout.annotations] == [escape(c) for c in (LINK, IMG, BOLD)]
    assert fig.data[-1].name.startswith(f"best val_{escape(LINK)}: epoch ")


def test_confusion_matrix_ticks_and_hover_escape_class_names_clicks_stay_indices():
    fig = confusion_matrix_figure(np.arange(9).reshape(3, 3), HOSTILE, normalize=False)
    assert_text_only(fig)
    assert list(fig.layout.xaxis.ticktext) == [escape(h) for h in HOSTILE]
    assert list(fig.layout.yaxis.ticktext) == [escape(h) for h in HOSTILE]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2]
    # a click on (true 2, predicted 1) still maps back to the class indices
    point = {"customdata": list(fig.data[0].customdata[7])}
    assert clicked_cell([point]) == (2, 1)


def test_curve_legends_escape_labels():
    grid = np.linspace(0, 1, 5)
    roc = [RocCurve(label=h, fpr=grid, tpr=grid, auc=0.5) for h in HOSTILE]
    pr = [PrCurve(label=h, recall=grid, precision=grid[::-1], average_precision=0.5)
          for h in HOSTILE]
    assert_text_only(roc_figure(roc))
    assert_text_only(pr_figure(pr))
    assert_text_only(calibration_figure(CalibrationCurve(label=LINK + IMG + BOLD,
                                                         prob_pred=grid, prob_true=grid)))


# ---------------------------------------------------------------- sample map


def test_sample_map_escapes_class_names_values_and_title_clicks_stay_rows():
    coords = np.arange(12, dtype=float).reshape(6, 2)
    fig = sample_map(coords, rows=np.arange(6), color=np.array([0, 1, 2, 0, 1, 2]),
                     color_by="prediction", class_names=HOSTILE,
                     title=f"samples of {LINK}",
                     prediction=[LINK, IMG, BOLD, LINK, IMG, BOLD],
                     label=[BOLD, IMG, LINK, 'say "hi"', IMG, BOLD])
    text = assert_text_only(fig)
    assert [t.name for t in fig.data[:3]] == [escape(h) for h in HOSTILE]
    assert encoded('label: say "hi"') in text  # quotes shown as quotes, not as "&quot;"
    assert clicked_row([{"customdata": list(fig.data[1].customdata[0])}]) == 1
