"""The layer graph, its layout and figure, on tiny models with exact expectations."""

from __future__ import annotations

import keras
import pytest

from components.inspect.dot_layout import graph_layout
from components.inspect.graph import build_graph, find_nodes
from components.inspect.layer_details import layer_details
from components.plots.model import architecture_figure
from components.plots.model_views import architecture_view, clicked_node


@pytest.fixture(scope="module")
def branched():
    """Two inputs; a layer shared by both; a merge; two outputs; a nested Functional."""
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    si = keras.Input((4,), name="si")
    inner = keras.Model(si, keras.layers.Dense(2, name="in_d")(
        keras.layers.Dense(3, name="in_c")(si)), name="inner")
    shared = keras.layers.Dense(3, name="shared")
    merged = keras.layers.Concatenate(name="cat")([shared(a), shared(b)])
    added = keras.layers.Add(name="add")([inner(a), keras.layers.Dense(2, name="side")(b)])
    return keras.Model([a, b], [keras.layers.Dense(1, name="o1")(merged), added], name="m")


def test_collapsed_graph_nodes_and_edges(branched):
    graph = build_graph(branched)
    assert set(graph.nodes) == {"a", "b", "shared", "cat", "o1", "inner", "side", "add"}
    assert set(graph.edges) == {("a", "shared"), ("b", "shared"), ("shared", "cat"),
                                ("cat", "o1"), ("a", "inner"), ("b", "side"),
                                ("inner", "add"), ("side", "add")}
    assert len(graph.edges) == 8
    assert graph.nodes["inner"].is_group and graph.submodels == ("inner",)
    assert graph.nodes["shared"].params == 4 * 3 + 3


def test_expanded_submodel_is_rewired_to_its_entry_and_exit(branched):
    graph = build_graph(branched, expanded=["inner"])
    assert len(graph.nodes) == 10 and "inner" not in graph.nodes
    assert graph.groups == {"inner": ("inner/si", "inner/in_c", "inner/in_d")}
    assert {("a", "inner/si"), ("inner/si", "inner/in_c"), ("inner/in_c", "inner/in_d"),
            ("inner/in_d", "add")} <= set(graph.edges)
    assert not any(e == "inner" for edge in graph.edges for e in edge)
    assert len(graph.edges) == 10
    assert graph.nodes["inner/in_d"].parent == "inner"


def test_sequential_is_a_chain_with_its_input():
    model = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(2, name="h"),
                              keras.layers.Dense(1, name="y")], name="s")
    graph = build_graph(model)
    assert list(graph.nodes) == ["x", "h", "y"]
    assert graph.edges == (("x", "h"), ("h", "y"))


def test_layout_is_top_down(branched):
    graph = build_graph(branched)
    boxes = graph_layout(graph).boxes
    assert boxes["a"].y == boxes["b"].y == max(b.y for b in boxes.values())  # inputs on top
    assert boxes["shared"].y > boxes["cat"].y > boxes["o1"].y
    for src, dst in graph.edges:
        assert boxes[dst].y < boxes[src].y  # every edge points down


def test_figure_carries_node_ids_edges_and_a_legend_per_type(branched):
    graph = build_graph(branched)
    layout = graph_layout(graph)
    fig = architecture_figure(graph, layout, highlight=["cat"], selected="o1")
    edges = next(t for t in fig.data if t.name == "edges")
    assert list(edges.x).count(None) == len(graph.edges)  # one path per edge
    layers = next(t for t in fig.data if t.name == "layers")
    assert set(layers.customdata) == set(graph.nodes)
    legend = {t.name for t in fig.data if t.legendgroup == "boxes"}
    assert legend == {"InputLayer", "Dense", "Concatenate", "Functional", "Add"}
    outlines = {t.name for t in fig.data if t.name in ("selected", "search matches")}
    assert outlines == {"selected", "search matches"}
    with pytest.raises(ValueError, match="color_by must be one of type, params"):
        architecture_figure(graph, layout, color_by="depth")


def test_hover_text_escapes_layer_names():
    # Keras forbids '/' in names (so path ids are unambiguous), but '<' and '>' pass
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="<img src=x>")])
    graph = build_graph(model)
    fig = architecture_view(graph, graph_layout(graph)).figure
    hovers = list(next(t for t in fig.data if t.name == "layers").hovertext)
    assert any("&lt;img src=x&gt;" in h for h in hovers)
    assert not any("<img" in h for h in hovers)


def test_search_and_click_parsing(branched):
    graph = build_graph(branched)
    assert sorted(find_nodes(graph, "DENSE")) == ["o1", "shared", "side"]
    assert find_nodes(graph, "  ") == []
    assert clicked_node({"selection": {"points": [{"customdata": "cat"}]}}) == "cat"
    assert clicked_node({"selection": {"points": [{"customdata": ["o1"]}]}}) == "o1"
    assert clicked_node({"selection": {"points": []}}) is None
    assert clicked_node(None) is None


def test_layer_details(branched):
    details = layer_details(branched, "inner/in_c")
    assert (details.class_name, details.params, details.trainable_params) == ("Dense", 15, 15)
    assert details.config["units"] == 3 and "name" not in details.config
    assert details.input_shape == [None, 4] and details.output_shape == [None, 3]
    assert [(shape, t) for _, shape, t in details.weights] == [((4, 3), True), ((3,), True)]


def test_three_hundred_layers_build_and_lay_out():
    inp = keras.Input((8,))
    x = inp
    for i in range(100):
        y = keras.layers.Dense(8, name=f"d{i}")(x)
        z = keras.layers.Dense(8, name=f"e{i}")(x)
        x = keras.layers.Add(name=f"add{i}")([y, z])
    graph = build_graph(keras.Model(inp, x))
    assert len(graph.nodes) == 301 and len(graph.edges) == 400
    layout = graph_layout(graph)
    assert len(layout.boxes) == 301 and len(layout.edges) == 400
    fig = architecture_figure(graph, layout)
    labels = next(t for t in fig.data if t.name == "labels")
    assert len(labels.text) == 301  # every box labelled: the view shows a part at 1 px a point
    assert fig.layout.height == 800
