"""The layer graph, its layout and figure, on tiny models with exact expectations."""

from __future__ import annotations

import keras
import pytest

from components.inspect.graph import build_graph, find_nodes, layout
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


def test_layout_is_top_down_by_generation(branched):
    graph = build_graph(branched)
    pos = layout(graph)
    assert pos["a"][1] == pos["b"][1] == 0.0  # inputs on top
    assert pos["shared"][1] == -1.0 and pos["cat"][1] == -2.0 and pos["o1"][1] == -3.0
    for src, dst in graph.edges:
        assert pos[dst][1] < pos[src][1]  # every edge points down


def test_figure_carries_node_ids_and_edges(branched):
    graph = build_graph(branched)
    fig = architecture_figure(graph, layout(graph), highlight=["cat"], selected="o1")
    edges, *nodes = fig.data
    assert len(edges.x) == 3 * len(graph.edges)  # start, end, gap per edge
    ids = [i for trace in nodes for i in trace.customdata]
    assert sorted(ids) == sorted(graph.nodes)
    assert {t.name for t in nodes} == {"InputLayer", "Dense", "Concatenate", "Functional", "Add"}
    dense = next(t for t in nodes if t.name == "Dense")
    sizes = dict(zip(dense.customdata, dense.marker.size, strict=True))
    assert sizes["o1"] == 18 and sizes["shared"] == 13
    with pytest.raises(ValueError, match="color_by must be one of type, params"):
        architecture_figure(graph, layout(graph), color_by="depth")


def test_the_rightmost_names_fit_in_the_figure():
    """Names are drawn right of their markers: the x range ends where the longest name
    beside the rightmost node ends, for a plot area of 700 px (the upload's 'tanh_branch'
    was cut to 'tanh_brai' at the edge)."""
    inp = keras.Input((3,), name="x")
    left = keras.layers.Dense(2, name="l")(inp)
    right = keras.layers.Dense(2, name="a_rather_long_branch_name")(inp)
    model = keras.Model(inp, keras.layers.Concatenate(name="c")([left, right]))
    graph = build_graph(model)
    pos = layout(graph)
    lo, hi = architecture_figure(graph, pos).layout.xaxis.range
    x = pos["a_rather_long_branch_name"][0]
    px_per_unit = 700 / (hi - lo)
    assert (hi - x) * px_per_unit >= 7 * len("a_rather_long_branch_name") + 14 - 1e-6


def test_hover_text_escapes_layer_names():
    # Keras forbids '/' in names (so path ids are unambiguous), but '<' and '>' pass
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="<img src=x>")])
    fig = architecture_view(model).figure
    hovers = [h for t in fig.data[1:] for h in t.hovertext]
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


def test_three_hundred_layers_build(tmp_path):
    inp = keras.Input((8,))
    x = inp
    for i in range(100):
        y = keras.layers.Dense(8, name=f"d{i}")(x)
        z = keras.layers.Dense(8, name=f"e{i}")(x)
        x = keras.layers.Add(name=f"add{i}")([y, z])
    graph = build_graph(keras.Model(inp, x))
    assert len(graph.nodes) == 301 and len(graph.edges) == 400
    fig = architecture_figure(graph, layout(graph))
    assert fig.data[1].mode == "markers"  # labels on hover only past 80 nodes
