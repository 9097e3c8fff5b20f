"""The layer graph laid out by Graphviz ``dot``: labelled boxes, routed edges, clusters.

`graph_layout` turns a `LayerGraph` (pure data, no model) into a `GraphLayout`: each node a
box sized for its three label lines (name, type, output shape), each edge the spline ``dot``
routed around the boxes (skip and merge edges go round the chain they skip), each expanded
submodel a cluster drawn around its members. `render` draws the same DOT source to SVG or PNG
for export, and `safe_svg` makes that SVG fit to inline in an HTML page.

Layer names come from an uploaded, possibly hostile file, so:

* no name is ever a DOT identifier: nodes are ``n0, n1, …`` and clusters ``cluster_0, …``;
  names travel only as label strings, cut to `MAX_LABEL` characters, control and bidi
  characters escaped visibly, backslashes doubled and "&" written as an entity (so ``\\N``,
  ``\\G`` and ``&lt;`` show as typed) and marked non-HTML (a ``<…>`` name is not an HTML
  label), then quoted by the graphviz package;
* ``dot`` runs as a child process with no shell, a wall-clock timeout, and CPU-time and
  address-space limits set on it before it reads its input; any failure is one
  `GlassboxError` line, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import graphviz
import numpy as np

from components.errors import GlassboxError, excerpt, first_line
from components.inspect.graph import LayerGraph, Node
from components.inspect.overview import shape_text

DOT_ENV = "GLASSBOX_DOT"  # the dot executable, when not /usr/bin/dot or on PATH
DOT_SECONDS = 20.0  # wall clock for one dot run: a 500-layer graph takes ~2 s
DOT_MEMORY_MB = 1024  # address space of one dot run: a 500-layer graph needs ~60 MiB
MISSING = "drawing the layer graph needs Graphviz's dot: apt-get install graphviz"
MAX_LABEL = 40  # characters per label line; a longer name is cut with "…"
FONT = "Helvetica"  # Liberation Sans where Helvetica is missing: Arial's metrics
FONT_PT = 12  # label size in points; the figure draws it at 1 px per point at 100 %
POINTS_PER_INCH = 72.0  # dot gives node sizes in inches, positions in points
CURVE_SAMPLES = 8  # points per cubic Bezier piece of an edge
ARROW_HALF_WIDTH = 0.35  # an arrowhead's half-width, as a share of its length
FILL = "#eef2f7"  # a box's fill when no colours are given
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Box:
    """A node's box: centre and size in points, y growing upwards (the graph's top is the
    largest y)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1)."""
        return (self.x - self.width / 2, self.y - self.height / 2,
                self.x + self.width / 2, self.y + self.height / 2)


@dataclass(frozen=True)
class EdgePath:
    """One edge as drawn: the routed spline sampled to a polyline ending at the arrow's tip,
    and the arrowhead triangle (points)."""

    source: str
    target: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    head: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class GraphLayout:
    """Where everything goes, in points: boxes by node id, edges in graph order, clusters
    (expanded submodels) by group id as (x0, y0, x1, y1), and the whole drawing's size."""

    boxes: dict[str, Box]
    edges: tuple[EdgePath, ...]
    clusters: dict[str, tuple[float, float, float, float]]
    width: float
    height: float


@dataclass(frozen=True)
class DotSource:
    """DOT text and how its generated ids map back: ``n3`` -> node id, ``cluster_1`` ->
    group id."""

    text: str
    nodes: dict[str, str]
    clusters: dict[str, str]


# ---------------------------------------------------------------- labels and DOT source


def label_lines(node: Node) -> tuple[str, str, str]:
    """A box's three lines as plain text: name, type, output shape; each cut to MAX_LABEL
    characters with control/bidi characters escaped visibly. The figure draws these same
    lines, so the box dot sized fits the text drawn in it."""
    block = node.class_name == "Block"  # a collapsed repeated block (`blocks.BLOCK_CLASS`)
    kind = f"{node.class_name} (collapsed)" if node.is_group and not block else node.class_name
    shape = shape_text(node.output_shape) if node.output_shape is not None else "shared"
    return label_text(node.name), label_text(kind), label_text(shape)


def label_text(text: str) -> str:
    """``text`` as one label line: cut to MAX_LABEL characters with "…", control and bidi
    characters escaped visibly, a lone surrogate replaced."""
    # A lone surrogate (JSON "\ud800" decodes to one) cannot be written as UTF-8: replace it.
    clean = str(text)[:MAX_LABEL + 1].encode("utf-8", "replace").decode("utf-8")
    return excerpt(clean, MAX_LABEL)


def _dot_text(text: str) -> str:
    """``text`` as literal DOT label text: "&" as an entity (dot decodes entities in
    labels), backslashes doubled (dot reads escapes such as ``\\N`` and ``\\l``)."""
    return graphviz.escape(text.replace("&", "&amp;"))


def _label(lines: tuple[str, ...]) -> str:
    """Lines joined by DOT's centred line break, marked non-HTML for the quoting."""
    return graphviz.nohtml("\\n".join(_dot_text(line) for line in lines))


def dot_source(graph: LayerGraph, fills: Mapping[str, str] | None = None) -> DotSource:
    """The DOT digraph of ``graph``, top-down, with generated ids only. ``fills`` maps node
    ids to "#rrggbb" box colours (missing ones get `FILL`)."""
    fills = fills or {}
    ids = {node_id: f"n{i}" for i, node_id in enumerate(graph.nodes)}
    dot = graphviz.Digraph("layers", graph_attr={
        "rankdir": "TB", "nodesep": "0.25", "ranksep": "0.3", "pad": "0.15",
        "bgcolor": "white", "fontname": FONT, "fontsize": str(FONT_PT)}, node_attr={
        "shape": "box", "style": "rounded,filled", "color": "#5f6b7a", "penwidth": "1",
        "fontname": FONT, "fontsize": str(FONT_PT), "margin": "0.14,0.09"}, edge_attr={
        "color": "#7d8590", "arrowsize": "0.6", "penwidth": "1.1"})
    clusters: dict[str, str] = {}
    children = _cluster_tree(graph)
    members: dict[str | None, list[str]] = {}
    for node in graph.nodes.values():
        parent = node.parent if node.parent in graph.groups else None
        members.setdefault(parent, []).append(node.id)

    def add(into: graphviz.Digraph, group: str | None) -> None:
        for node_id in members.get(group, []):
            colour = fills.get(node_id, FILL)
            if not _HEX_COLOUR.match(colour):
                raise ValueError(f"fill colours must be #rrggbb, not {colour!r}")
            into.node(ids[node_id], label=_label(label_lines(graph.nodes[node_id])),
                      fillcolor=colour)
        for child in children.get(group, []):
            name = f"cluster_{len(clusters)}"
            clusters[name] = child
            with into.subgraph(name=name) as sub:
                sub.attr(label=_label((label_text(child),)), style="dashed,rounded",
                         color="#8a8f98", fontcolor="#555555", labeljust="l")
                add(sub, child)

    add(dot, None)
    for src, dst in graph.edges:
        dot.edge(ids[src], ids[dst])
    return DotSource(text=dot.source, nodes={v: k for k, v in ids.items()}, clusters=clusters)


def _cluster_tree(graph: LayerGraph) -> dict[str | None, list[str]]:
    """Expanded submodels by the submodel that holds them (None: the top level). Group ids
    are paths (``encoder/inner`` sits in ``encoder``)."""
    tree: dict[str | None, list[str]] = {}
    for group in graph.groups:
        parent = group.rsplit("/", 1)[0] if "/" in group else None
        while parent is not None and parent not in graph.groups:
            parent = parent.rsplit("/", 1)[0] if "/" in parent else None
        tree.setdefault(parent, []).append(group)
    return tree


# ---------------------------------------------------------------- running dot


def find_dot() -> str:
    """The dot executable: $GLASSBOX_DOT, else dot on PATH; `GlassboxError` if none."""
    configured = os.environ.get(DOT_ENV)
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise GlassboxError(f"{DOT_ENV} is {excerpt(configured)!r}, which is not an "
                            f"executable file; {MISSING}")
    found = shutil.which("dot")
    if found is None:
        raise GlassboxError(MISSING)
    return found


def run_dot(source: str, fmt: str, *, seconds: float = DOT_SECONDS,
            memory_mb: int = DOT_MEMORY_MB) -> bytes:
    """``dot -T<fmt>`` on ``source``: its output, or a one-line `GlassboxError`.

    No shell; the child gets its CPU-time and address-space limits before it is sent any
    input (it blocks reading stdin until then), and is killed after ``seconds``.
    """
    if fmt not in ("json0", "svg", "png"):
        raise ValueError(f"unsupported dot output format {fmt!r}")
    try:
        # its own process group, so a kill reaches anything it started
        proc = subprocess.Popen([find_dot(), f"-T{fmt}"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                close_fds=True, start_new_session=True)
    except OSError as err:
        raise GlassboxError(f"could not start Graphviz's dot ({first_line(err)})") from None
    try:
        _limit(proc.pid, seconds, memory_mb)
        out, err = proc.communicate(source.encode("utf-8"), timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise GlassboxError(f"Graphviz took longer than {seconds:g} s to draw the layer "
                            "graph, so it was stopped") from None
    except (OSError, ValueError) as error:  # the child died before it read its input
        _kill(proc)
        raise GlassboxError(f"Graphviz could not draw the layer graph "
                            f"({first_line(error)})") from None
    if proc.returncode != 0 or not out:
        raise GlassboxError(_failure(proc.returncode, err, seconds, memory_mb))
    return out


def _kill(proc: subprocess.Popen) -> None:
    """Kill dot's whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=5)


def _limit(pid: int, seconds: float, memory_mb: int) -> None:
    """CPU seconds and address space for the running child ``pid`` (Linux prlimit)."""
    cpu = int(seconds) + 1
    resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu))
    memory = memory_mb * 2**20
    resource.prlimit(pid, resource.RLIMIT_AS, (memory, memory))


def _failure(code: int, stderr: bytes, seconds: float, memory_mb: int) -> str:
    text = stderr.decode("utf-8", "replace")
    if code == -signal.SIGXCPU:
        return (f"Graphviz took more than {int(seconds) + 1} s of CPU time to draw the layer "
                "graph, so it was stopped")
    # dot reports a failed allocation, or crashes on one (SIGSEGV, SIGABRT, SIGBUS)
    if ("out of memory" in text.lower() or "cannot allocate" in text.lower()
            or code in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS)):
        return (f"Graphviz stopped while drawing the layer graph (signal {-code}): it "
                f"probably needed more than its {memory_mb:,} MiB" if code < 0 else
                f"Graphviz needed more than {memory_mb:,} MiB to draw the layer graph, "
                "so it was stopped")
    if code < 0:
        return f"Graphviz stopped while drawing the layer graph (signal {-code})"
    detail = first_line(RuntimeError(text), 120) if text.strip() else f"exit code {code}"
    return f"Graphviz could not draw the layer graph ({detail})"


# ---------------------------------------------------------------- reading the layout


def graph_layout(graph: LayerGraph) -> GraphLayout:
    """``graph`` laid out top-down by dot (see the module docstring for the bounds)."""
    if not graph.nodes:
        return GraphLayout(boxes={}, edges=(), clusters={}, width=0.0, height=0.0)
    source = dot_source(graph)
    try:
        data = json.loads(run_dot(source.text, "json0"))
    except json.JSONDecodeError as err:
        raise GlassboxError(f"Graphviz's layout could not be read ({first_line(err)})") from None
    return _read_layout(data, source)


def _read_layout(data: dict, source: DotSource) -> GraphLayout:
    objects = data.get("objects", [])
    by_gvid: dict[int, str] = {}
    boxes: dict[str, Box] = {}
    clusters: dict[str, tuple[float, float, float, float]] = {}
    for obj in objects:
        name = obj.get("name")
        if name in source.clusters and "bb" in obj:
            clusters[source.clusters[name]] = _floats(obj["bb"], 4)
        elif name in source.nodes and "pos" in obj:
            by_gvid[obj["_gvid"]] = source.nodes[name]
            x, y = _floats(obj["pos"], 2)
            boxes[source.nodes[name]] = Box(x, y, float(obj["width"]) * POINTS_PER_INCH,
                                            float(obj["height"]) * POINTS_PER_INCH)
    edges = tuple(_edge(by_gvid[e["tail"]], by_gvid[e["head"]], e["pos"])
                  for e in data.get("edges", []) if "pos" in e)
    _, _, width, height = _floats(data["bb"], 4)
    return GraphLayout(boxes=boxes, edges=edges, clusters=clusters, width=width,
                       height=height)


def _floats(text: str, n: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in text.split(","))
    if len(values) != n:
        raise GlassboxError(f"Graphviz's layout could not be read ({excerpt(text)!r})")
    return values


def _edge(source: str, target: str, pos: str) -> EdgePath:
    """An edge's ``pos`` ("e,x,y x0,y0 x1,y1 …": an arrow end, then 3k+1 B-spline control
    points) as a sampled polyline ending at the arrow's tip, and the arrowhead."""
    spline = pos.split(";")[0]  # several splines only for concentrated edges: not used
    tip = None
    points = []
    for token in spline.split():
        if token.startswith("e,"):
            tip = _floats(token[2:], 2)
        elif not token.startswith("s,"):
            points.append(_floats(token, 2))
    curve = _bezier(np.asarray(points, dtype=float))
    head: tuple[tuple[float, float], ...] = ()
    if tip is not None:
        head = _arrowhead(curve[-1], np.asarray(tip))
        curve = np.vstack([curve, tip])
    return EdgePath(source=source, target=target, xs=tuple(np.round(curve[:, 0], 2)),
                    ys=tuple(np.round(curve[:, 1], 2)), head=head)


def _bezier(points: np.ndarray, samples: int = CURVE_SAMPLES) -> np.ndarray:
    """Piecewise cubic Bezier control points (3k+1, 2) sampled to (k * samples + 1, 2)."""
    if len(points) < 4:
        return points
    k = (len(points) - 1) // 3
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    pieces = [((1 - t) ** 3 * points[3 * i] + 3 * (1 - t) ** 2 * t * points[3 * i + 1]
               + 3 * (1 - t) * t ** 2 * points[3 * i + 2] + t ** 3 * points[3 * i + 3])
              for i in range(k)]
    return np.vstack([*pieces, points[3 * k][None, :]])


def _arrowhead(base: np.ndarray, tip: np.ndarray) -> tuple[tuple[float, float], ...]:
    """The triangle from ``base`` (the spline's end) to ``tip``."""
    along = tip - base
    normal = np.array([-along[1], along[0]]) * ARROW_HALF_WIDTH
    corners = (tip, base + normal, base - normal)
    return tuple((round(float(x), 2), round(float(y), 2)) for x, y in corners)


# ---------------------------------------------------------------- export


def render(graph: LayerGraph, fmt: str, fills: Mapping[str, str] | None = None) -> bytes:
    """The whole graph as an SVG or PNG file (``fmt`` "svg" or "png"), drawn by dot from the
    same DOT source the layout came from, so it matches the page's drawing."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"export format must be svg or png, not {fmt!r}")
    return run_dot(dot_source(graph, fills).text, fmt)


_SVG_NS = "http://www.w3.org/2000/svg"
# What dot's SVG output is made of; anything else (script, foreignObject, image, a, use…)
# refuses the SVG instead of inlining it.
SVG_TAGS = frozenset({"svg", "g", "title", "polygon", "polyline", "path", "ellipse",
                      "text", "defs"})


def safe_svg(svg: bytes) -> str:
    """dot's SVG as markup to inline in an HTML page: prolog, doctype, comments and
    ``<title>`` tooltips (they name the generated ids) dropped, re-serialised by ElementTree
    (so every text is escaped whatever dot wrote), without the namespace declaration (an
    HTML parser puts ``<svg>`` in SVG's namespace itself, and the page then names no URL);
    `GlassboxError` if it holds any element outside `SVG_TAGS` or an event-handler or link
    attribute."""
    text = svg.decode("utf-8", "replace")
    start = text.find("<svg")
    if start < 0:
        raise GlassboxError("Graphviz's SVG could not be read (no <svg> element)")
    ET.register_namespace("", _SVG_NS)
    try:
        root = ET.fromstring(text[start:])
    except ET.ParseError as err:
        raise GlassboxError(f"Graphviz's SVG could not be read ({first_line(err)})") from None
    for parent in list(root.iter()):
        for child in list(parent):
            if _local(child.tag) == "title":
                parent.remove(child)
    for element in root.iter():
        if _local(element.tag) not in SVG_TAGS:
            raise GlassboxError(f"Graphviz's SVG holds a <{excerpt(_local(element.tag))}> "
                                "element, so it is not shown")
        for attribute in element.attrib:
            name = _local(attribute).lower()
            if name.startswith("on") or name == "href":
                raise GlassboxError(f"Graphviz's SVG holds a {excerpt(name)} attribute, so "
                                    "it is not shown")
    return ET.tostring(root, encoding="unicode").replace(f' xmlns="{_SVG_NS}"', "", 1)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
