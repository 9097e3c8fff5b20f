"""The Graphviz layout of the layer graph: boxes apart, skip edges routed round the chain they
skip, clusters around their members, hostile names laid out as text, dot's failures as one
line, repeated blocks collapsed, and the exports."""

from __future__ import annotations

import itertools
import json
import stat
import xml.etree.ElementTree as ET

import keras
import networkx as nx
import pytest

from components.errors import GlassboxError
from components.inspect import dot_layout
from components.inspect.blocks import collapse_blocks, find_drawn, is_block, repeated_blocks
from components.inspect.dot_layout import (
    DOT_ENV,
    MAX_LABEL,
    dot_source,
    graph_layout,
    label_lines,
    render,
    run_dot,
    safe_svg,
)
from components.inspect.graph import LayerGraph, Node, build_graph
from components.plots.model import (
    BLOCK_COLOUR,
    architecture_figure,
    fit_scale,
    node_colours,
    view_scale,
)
from components.plots.text import escape

HOSTILE_NAMES = ['"; rankdir=LR; x [label="', "<script>alert(1)", "<img src=x onerror=alert(1)>",
                 "a\\", "back\\N\\G\\l", "&lt;b&gt; & c", "line\nbreak\u202eevil", "x" * 10_000]


def residual_cnn() -> keras.Model:
    """A stem, three residual blocks (two convolutions skipped by an Add), a head."""
    inp = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="stem")(inp)
    for i in range(3):
        y = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name=f"block{i}_a")(x)
        y = keras.layers.Conv2D(8, 3, padding="same", name=f"block{i}_b")(y)
        x = keras.layers.Add(name=f"block{i}_add")([x, y])
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inp, keras.layers.Dense(4, name="head")(x), name="residual")


@pytest.fixture(scope="module")
def residual():
    graph = build_graph(residual_cnn())
    return graph, graph_layout(graph)


@pytest.fixture(scope="module")
def nested():
    """An encoder (itself holding a block) nested in a model, every submodel expanded."""
    block_in = keras.Input((6,), name="b_in")
    block = keras.Model(block_in, keras.layers.Dense(6, name="b_dense")(block_in), name="block")
    enc_in = keras.Input((6,), name="e_in")
    encoder = keras.Model(enc_in, block(keras.layers.Dense(6, name="e_dense")(enc_in)),
                          name="encoder")
    inp = keras.Input((6,), name="x")
    model = keras.Model(inp, keras.layers.Dense(2, name="out")(encoder(inp)), name="outer")
    graph = build_graph(model, ["encoder", "encoder/block"])
    return graph, graph_layout(graph)


def overlap(a: tuple, b: tuple) -> bool:
    """Do rectangles (x0, y0, x1, y1) share any area?"""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def segment_enters(p: tuple, q: tuple, rect: tuple) -> bool:
    """Does segment p-q pass through the open rectangle (x0, y0, x1, y1)? (Liang-Barsky)"""
    x0, y0, x1, y1 = rect
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if pk == 0:
            if qk <= 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def crossings(xs: tuple, ys: tuple, y: float) -> list[float]:
    """The x of every point where the polyline crosses height ``y``."""
    found = []
    for (xa, ya), (xb, yb) in itertools.pairwise(zip(xs, ys, strict=True)):
        if min(ya, yb) <= y <= max(ya, yb) and ya != yb:
            found.append(xa + (y - ya) / (yb - ya) * (xb - xa))
    return found


def shrunk(bounds: tuple, by: float = 1.0) -> tuple:
    return bounds[0] + by, bounds[1] + by, bounds[2] - by, bounds[3] - by


# ---------------------------------------------------------------- geometry


def test_boxes_do_not_overlap_and_edges_point_down(residual):
    graph, layout = residual
    assert set(layout.boxes) == set(graph.nodes)
    for (a, box_a), (b, box_b) in itertools.combinations(layout.boxes.items(), 2):
        assert not overlap(box_a.bounds, box_b.bounds), (a, b)
    for edge in layout.edges:
        source, target = layout.boxes[edge.source], layout.boxes[edge.target]
        assert target.y < source.y  # top-down: every edge goes down a rank
        # the drawn path starts at the source box and its arrow's tip is on the target box
        assert abs(edge.ys[0] - source.bounds[1]) < 3
        assert abs(edge.ys[-1] - target.bounds[3]) < 3
        assert edge.head and edge.head[0] == (edge.xs[-1], edge.ys[-1])
    assert len(layout.edges) == len(graph.edges)


def test_every_box_is_sized_for_its_label(residual):
    graph, layout = residual
    for node_id, box in layout.boxes.items():
        longest = max(len(line) for line in label_lines(graph.nodes[node_id]))
        assert box.width >= 0.45 * 12 * longest  # 12 pt text: > 0.45 em a character
        assert box.height >= 3 * 12  # three lines


def test_residual_edges_are_routed_apart_from_the_chain_they_skip(residual):
    graph, layout = residual
    dag = nx.DiGraph(graph.edges)
    skips = 0
    for edge in layout.edges:
        u, v = edge.source, edge.target
        dag.remove_edge(u, v)
        skipped = [w for w in dag.nodes if w not in (u, v)
                   and nx.has_path(dag, u, w) and nx.has_path(dag, w, v)]
        dag.add_edge(u, v)
        if not skipped:
            continue
        skips += 1
        for w in skipped:
            x0, y0, x1, y1 = layout.boxes[w].bounds
            for y in (y0, (y0 + y1) / 2, y1):
                xs = crossings(edge.xs, edge.ys, y)
                assert xs, f"{u}->{v} does not pass the level of {w}"
                assert all(x < x0 or x > x1 for x in xs), f"{u}->{v} runs through {w}"
    assert skips == 3  # stem->block0_add, block0_add->block1_add, block1_add->block2_add


def test_no_edge_runs_through_a_box_it_does_not_join(residual):
    _, layout = residual
    for edge in layout.edges:
        points = list(zip(edge.xs, edge.ys, strict=True))
        for node_id, box in layout.boxes.items():
            if node_id in (edge.source, edge.target):
                continue
            assert not any(segment_enters(p, q, shrunk(box.bounds))
                           for p, q in itertools.pairwise(points)), (edge.source, node_id)


def test_clusters_contain_their_members_and_nest(nested):
    graph, layout = nested
    assert set(layout.clusters) == {"encoder", "encoder/block"}
    for group, members in graph.groups.items():
        x0, y0, x1, y1 = layout.clusters[group]
        for member in members:
            bx0, by0, bx1, by1 = layout.boxes[member].bounds
            assert x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1, (group, member)
        for other in set(graph.nodes) - set(members):
            assert not overlap(layout.boxes[other].bounds, (x0, y0, x1, y1)), (group, other)
    inner, outer = layout.clusters["encoder/block"], layout.clusters["encoder"]
    assert outer[0] < inner[0] and inner[2] < outer[2] and outer[1] < inner[1] < inner[3] < outer[3]


# ---------------------------------------------------------------- hostile names


@pytest.fixture(scope="module")
def hostile():
    names = [n.replace("\n", " ") for n in HOSTILE_NAMES]  # Keras refuses no character but "/"
    model = keras.Sequential([keras.Input((3,), name="in")]
                             + [keras.layers.Dense(2, name=n) for n in names], name="h")
    graph = build_graph(model)
    return graph, graph_layout(graph)


def test_hostile_names_are_labels_never_dot_syntax(hostile):
    graph, layout = hostile
    source = dot_source(graph)
    # every statement names a generated id: no name became a node, an attribute or a graph
    # setting ("rankdir=LR" stays inside its label: the graph is still top-down)
    assert set(source.nodes) == {f"n{i}" for i in range(len(graph.nodes))}
    assert len(layout.boxes) == len(graph.nodes) == len(HOSTILE_NAMES) + 1
    chain = list(graph.nodes)
    xs = {round(layout.boxes[n].x) for n in chain}
    assert len(xs) == 1  # one column
    assert [layout.boxes[n].y for n in chain] == sorted((layout.boxes[n].y for n in chain),
                                                       reverse=True)
    assert "\nrankdir" not in source.text and "rankdir=TB" in source.text
    for line in source.text.splitlines()[1:]:
        statement = line.strip()
        assert statement in ("}", "") or statement.split(" ", 1)[0].split("[")[0] in (
            "graph", "node", "edge", *source.nodes), statement


def test_a_10k_character_name_is_cut_and_its_box_stays_small(hostile):
    graph, layout = hostile
    long_id = "x" * 10_000
    name, _, _ = label_lines(graph.nodes[long_id])
    assert len(name) == MAX_LABEL and name.endswith("\u2026")
    assert layout.boxes[long_id].width < 12 * MAX_LABEL
    assert all(len(line) <= MAX_LABEL for n in graph.nodes.values() for line in label_lines(n))


def test_hostile_names_in_the_svg_are_text_shown_as_typed(hostile):
    graph, _ = hostile
    svg = safe_svg(render(graph, "svg"))
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("text")]
    assert '"; rankdir=LR; x [label="' in texts
    assert "<script>alert(1)" in texts and "<img src=x onerror=alert(1)>" in texts
    assert "back\\N\\G\\l" in texts and "a\\" in texts  # escapes not read by dot
    assert "&lt;b&gt; & c" in texts  # entities not decoded
    assert "<script" not in svg and "<img" not in svg
    assert "&lt;script&gt;alert(1)" in svg
    assert {e.tag for e in root.iter()} <= dot_layout.SVG_TAGS and "http" not in svg


def test_hostile_names_in_the_figure_are_escaped(hostile):
    graph, layout = hostile
    fig = architecture_figure(graph, layout)
    labels = next(t for t in fig.data if t.name == "labels")
    text = " ".join(labels.text)
    assert "<script" not in text and "<img" not in text
    assert escape("<script>alert(1)") in text and escape("&lt;b&gt; & c") in text
    layers = next(t for t in fig.data if t.name == "layers")
    assert set(layers.customdata) == set(graph.nodes)  # raw ids: a click looks them up
    assert all("<script" not in h and "<img" not in h for h in layers.hovertext)
    assert max(len(h) for h in layers.hovertext) < 400  # the 10k-character id is cut


def test_control_and_bidi_characters_are_escaped_in_labels():
    node = Node(id="n", name=HOSTILE_NAMES[6], class_name="Dense\x1b[31m", parent=None,
                output_shape=(None, 2), params=3)
    name, kind, _ = label_lines(node)
    assert name == "line\\x0abreak\\u202eevil" and kind == "Dense\\x1b[31m"
    lone = Node(id="s", name="a\ud800b", class_name="Dense", parent=None, output_shape=None,
                params=0)
    assert label_lines(lone)[0] == "a?b"  # a lone surrogate cannot reach dot as UTF-8


def test_safe_svg_refuses_scripts_and_handlers():
    base = '<svg xmlns="http://www.w3.org/2000/svg"><g>{}</g></svg>'
    for bad in ("<script>alert(1)</script>", '<polygon onload="alert(1)" points="0,0"/>',
                "<foreignObject><div/></foreignObject>",
                '<a xmlns:x="http://www.w3.org/1999/xlink" x:href="javascript:x"><text/></a>'):
        with pytest.raises(GlassboxError) as err:
            safe_svg(base.format(bad).encode())
        assert "\n" not in str(err.value)
    kept = safe_svg(base.format("<title>n0</title><text>a &lt; b</text>").encode())
    assert "<title>" not in kept and "a &lt; b" in kept


# ---------------------------------------------------------------- dot's failures


def executable(path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text and len(text) <= 280
    return text


def test_a_dot_that_hangs_is_stopped_with_one_line(tmp_path, monkeypatch, residual):
    monkeypatch.setenv(DOT_ENV, executable(tmp_path / "dot", "sleep 30\n"))
    with pytest.raises(GlassboxError) as err:
        run_dot(dot_source(residual[0]).text, "json0", seconds=0.5)
    assert "took longer than 0.5 s" in one_line(err)


def test_a_failing_dot_is_one_line(tmp_path, monkeypatch, residual):
    monkeypatch.setenv(DOT_ENV, executable(
        tmp_path / "dot", "echo 'Error: first\nsecond line\n' >&2\nexit 3\n"))
    with pytest.raises(GlassboxError) as err:
        graph_layout(residual[0])
    assert one_line(err) == "Graphviz could not draw the layer graph (Error: first)"


def test_dot_that_prints_no_json_is_one_line(tmp_path, monkeypatch, residual):
    monkeypatch.setenv(DOT_ENV, executable(tmp_path / "dot", "cat >/dev/null\necho '{oops'\n"))
    with pytest.raises(GlassboxError) as err:
        graph_layout(residual[0])
    assert one_line(err).startswith("Graphviz's layout could not be read")


def test_missing_dot_says_how_to_install_it(monkeypatch, residual):
    monkeypatch.setenv(DOT_ENV, "/nonexistent/dot")
    with pytest.raises(GlassboxError) as err:
        graph_layout(residual[0])
    assert one_line(err).endswith("apt-get install graphviz")


def test_real_dot_errors_and_memory_limit_are_one_line():
    with pytest.raises(GlassboxError) as err:
        run_dot("digraph { a -> ", "json0")
    assert one_line(err).startswith("Graphviz could not draw the layer graph (")
    big = "digraph {" + " ".join(f"n{i} -> n{i + 1};" for i in range(3000)) + "}"
    with pytest.raises(GlassboxError) as err:
        run_dot(big, "json0", memory_mb=8)  # dot itself needs more than 8 MiB of address space
    assert "more than its 8 MiB" in one_line(err) or "more than 8 MiB" in one_line(err)


def test_dot_runs_under_cpu_and_memory_limits(tmp_path, monkeypatch, residual):
    """The child dot sees the limits set on it before it read its input."""
    out = tmp_path / "limits"
    monkeypatch.setenv(DOT_ENV, executable(
        tmp_path / "dot", f"cat >/dev/null\nulimit -t > {out}\nulimit -v >> {out}\n"
        "echo '{}'\n"))
    run_dot(dot_source(residual[0]).text, "json0", seconds=7, memory_mb=300)
    cpu, memory_kib = out.read_text().split()
    assert int(cpu) == 8 and int(memory_kib) == 300 * 1024


# ---------------------------------------------------------------- blocks


def block_graph() -> LayerGraph:
    """stem -> block_1 (expand, project) -> block_2 (expand, project, add with a skip from
    block_1_project) -> head: MobileNetV2's naming."""
    names = ["stem", "block_1_expand", "block_1_project", "block_2_expand", "block_2_project",
             "block_2_add", "head"]
    nodes = {n: Node(id=n, name=n, class_name="Dense", parent=None, output_shape=(None, i + 1),
                     params=10 * i) for i, n in enumerate(names)}
    edges = tuple(itertools.pairwise(names[:5])) + (("block_2_project", "block_2_add"),
                                                    ("block_1_project", "block_2_add"),
                                                    ("block_2_add", "head"))
    return LayerGraph(nodes=nodes, edges=edges)


def test_repeated_blocks_are_found_by_name():
    blocks = repeated_blocks(block_graph())
    assert blocks == {"/block/block_1": ("block_1_expand", "block_1_project"),
                      "/block/block_2": ("block_2_expand", "block_2_project", "block_2_add")}
    resnet = ["conv2_block1_1_conv", "conv2_block1_out", "conv2_block2_1_conv",
              "conv2_block2_out", "pool"]
    graph = LayerGraph(nodes={n: Node(n, n, "Conv2D", None, None, 0) for n in resnet},
                       edges=tuple(itertools.pairwise(resnet)))
    assert list(repeated_blocks(graph)) == ["/block/conv2_block1", "/block/conv2_block2"]
    single = LayerGraph(nodes={n: Node(n, n, "Dense", None, None, 0) for n in resnet[:2]},
                        edges=())
    assert repeated_blocks(single) == {}  # one block is not a repetition


def test_collapsed_blocks_are_group_nodes_with_rewired_edges():
    graph = block_graph()
    collapsed = collapse_blocks(graph)
    assert list(collapsed.nodes) == ["stem", "/block/block_1", "/block/block_2", "head"]
    assert collapsed.edges == (("stem", "/block/block_1"), ("/block/block_1", "/block/block_2"),
                               ("/block/block_2", "head"))
    block = collapsed.nodes["/block/block_2"]
    assert block.is_group and is_block(block.id) and block.name == "block_2 (3 layers)"
    assert block.params == 30 + 40 + 50 and block.output_shape == (None, 6)  # block_2_add
    opened = collapse_blocks(graph, keep_open=["/block/block_1"])
    assert "block_1_expand" in opened.nodes and "/block/block_2" in opened.nodes
    assert ("block_1_project", "/block/block_2") in opened.edges
    layout = graph_layout(collapsed)
    assert set(layout.boxes) == set(collapsed.nodes)


def test_search_finds_layers_inside_collapsed_blocks():
    graph = block_graph()
    collapsed = collapse_blocks(graph)
    assert find_drawn(graph, collapsed, "add") == ["/block/block_2"]
    assert find_drawn(graph, collapsed, "STEM") == ["stem"]
    assert find_drawn(graph, collapsed, "dense") == list(collapsed.nodes)
    assert find_drawn(graph, graph, "add") == ["block_2_add"]
    layout = graph_layout(collapsed)
    fig = architecture_figure(collapsed, layout, highlight=["/block/block_2"])
    layers = next(t for t in fig.data if t.name == "layers")
    hover = dict(zip(layers.customdata, layers.hovertext, strict=True))
    assert hover["/block/block_2"].startswith("<b>block_2 (3 layers)</b><br>Block<br>")


def test_collapsing_blocks_keeps_every_type_its_colour(residual):
    graph, _ = residual
    collapsed = collapse_blocks(graph)
    assert {"/block/block0", "/block/block1", "/block/block2"} <= set(collapsed.nodes)
    before = node_colours(graph)
    after = node_colours(collapsed, "type", full=graph)
    assert {n: after[n] for n in collapsed.nodes if not is_block(n)} == {
        n: before[n] for n in collapsed.nodes if not is_block(n)}
    assert after["/block/block0"].colour == BLOCK_COLOUR
    assert node_colours(collapsed)["pool"] != before["pool"]  # without ``full`` they shift


def test_a_block_whose_collapse_would_close_a_cycle_stays_open():
    names = ["block_1_a", "outside", "block_1_b", "block_2_a", "block_2_b"]
    nodes = {n: Node(n, n, "Dense", None, None, 1) for n in names}
    graph = LayerGraph(nodes=nodes, edges=tuple(itertools.pairwise(names)))
    collapsed = collapse_blocks(graph)  # block_1 -> outside -> block_1: not collapsed
    assert "block_1_a" in collapsed.nodes and "/block/block_2" in collapsed.nodes
    assert nx.is_directed_acyclic_graph(nx.DiGraph(collapsed.edges))


# ---------------------------------------------------------------- figure and export


def box_rects(fig) -> list[tuple]:
    rects = []
    for trace in fig.data:
        if trace.legendgroup == "boxes":
            for i in range(0, len(trace.x), 6):
                xs, ys = trace.x[i:i + 4], trace.y[i:i + 4]
                rects.append((min(xs), min(ys), max(xs), max(ys)))
    return rects


def test_figure_boxes_apart_one_click_target_each_and_a_legend_per_type(residual):
    graph, layout = residual
    fig = architecture_figure(graph, layout, selected="block1_add", highlight=["stem"])
    rects = box_rects(fig)
    assert len(rects) == len(graph.nodes)
    assert not [(a, b) for a, b in itertools.combinations(rects, 2) if overlap(a, b)]
    layers = next(t for t in fig.data if t.name == "layers")
    assert set(layers.customdata) == set(graph.nodes)
    for x, y, node_id in zip(layers.x, layers.y, layers.customdata, strict=True):
        x0, y0, x1, y1 = layout.boxes[node_id].bounds
        assert x0 < x < x1 and y0 < y < y1  # every click marker lies on its own box
    legend = [t.name for t in fig.data if t.legendgroup == "boxes"]
    assert legend == sorted({n.class_name for n in graph.nodes.values()})
    outlines = {t.name: t for t in fig.data if t.name in ("selected", "search matches")}
    assert set(outlines) == {"selected", "search matches"}
    assert min(outlines["selected"].x[:5]) == layout.boxes["block1_add"].bounds[0]
    with pytest.raises(ValueError, match="color_by must be one of"):
        architecture_figure(graph, layout, color_by="depth")


def test_the_view_opens_legible_at_the_top_and_centres_on_a_layer(residual):
    graph, layout = residual
    top = architecture_figure(graph, layout)
    (y0, y1) = top.layout.yaxis.range
    assert top.layout.height == 800 and top.layout.yaxis.scaleanchor == "x"
    assert y1 >= layout.boxes["image"].bounds[3] and y1 - y0 < 800  # 1 px a point: the top
    labels = next(t for t in top.data if t.name == "labels")
    assert labels.textfont.size == 12
    focused = architecture_figure(graph, layout, focus="pool")
    fy0, fy1 = focused.layout.yaxis.range
    assert abs((fy0 + fy1) / 2 - layout.boxes["pool"].y) < 1e-6
    assert focused.layout.uirevision != top.layout.uirevision  # a new view resets the axes
    fitted = architecture_figure(graph, layout, zoom=None)
    assert fitted.layout.yaxis.range[1] >= layout.height
    font = 12 * view_scale(layout, None)
    shown = [t for t in fitted.data if t.name == "labels"]
    assert (shown[0].textfont.size == round(font, 2)) if font >= 6 else not shown


def test_a_small_graph_gets_a_chart_its_height_and_fit_does_not_blow_it_up():
    model = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(2, name="h")])
    graph = build_graph(model)
    layout = graph_layout(graph)
    fig = architecture_figure(graph, layout)
    y0, y1 = fig.layout.yaxis.range
    assert fig.layout.height == 320  # the minimum: the two boxes need ~150 px
    assert y0 < 0 and y1 > layout.height  # all of it, centred
    assert abs((y1 - y0) - (320 - 8)) < 1e-6  # one pixel a point
    fitted = architecture_figure(graph, layout, zoom=None)
    assert view_scale(layout, None) == 1.5 < fit_scale(layout)
    assert next(t for t in fitted.data if t.name == "labels").textfont.size == 18


def test_colour_by_params_and_output_size(residual):
    graph, layout = residual
    by_params = architecture_figure(graph, layout, color_by="params")
    names = [t.name for t in by_params.data if t.legendgroup == "boxes"]
    assert names == ["no parameters", "1 – 999 parameters"]  # conv 3x3x8x8+8 = 584
    by_size = architecture_figure(graph, layout, color_by="output size")
    names = [t.name for t in by_size.data if t.legendgroup == "boxes"]
    assert names == ["under 100 values", "100 – 1k values", "1k – 10k values"]


def test_exports_are_the_whole_graph(residual):
    graph, layout = residual
    svg = render(graph, "svg")
    root = ET.fromstring(safe_svg(svg))
    assert len([g for g in root.iter() if g.get("class") == "node"]) == len(graph.nodes)
    width, height = (float(root.get(k).removesuffix("pt")) for k in ("width", "height"))
    assert width >= layout.width and height >= layout.height
    png = render(graph, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    png_width, png_height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert png_height >= layout.height and png_width >= layout.width  # 96 dpi over 72 pt
    with pytest.raises(ValueError):
        render(graph, "pdf")


def test_layout_json_round_trip_matches_dot(residual):
    """The layout is read from dot's own json0 output for the same source."""
    graph, layout = residual
    source = dot_source(graph)
    data = json.loads(run_dot(source.text, "json0"))
    positions = {o["name"]: o["pos"] for o in data["objects"] if "pos" in o}
    for dot_id, node_id in source.nodes.items():
        x, y = (float(v) for v in positions[dot_id].split(","))
        assert (layout.boxes[node_id].x, layout.boxes[node_id].y) == (x, y)


def test_dot_is_found_on_path(monkeypatch):
    monkeypatch.delenv(DOT_ENV, raising=False)
    assert dot_layout.find_dot().endswith("dot")
