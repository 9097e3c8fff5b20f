"""Pure figure builders for the model views: arrays and graphs in, Plotly figures out.

Layer, class, weight and token names come from the uploaded file: every one is passed
through `components.plots.text.escape` before Plotly draws it (Plotly reads HTML in labels).
Node ids stay raw in ``customdata`` (a click returns them; no template shows them).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative, sequential, unlabel_rgb
from plotly.subplots import make_subplots

from components.errors import excerpt
from components.inspect.blocks import BLOCK_CLASS
from components.inspect.dot_layout import FONT_PT, GraphLayout, label_lines, label_text, render
from components.inspect.graph import LayerGraph, Node
from components.plots.text import escape

COLOR_BY = ("type", "params", "output size")
VIEW_PX = 800  # the graph's viewport: a fixed height, panned and zoomed inside
MIN_VIEW_PX = 320  # a small graph's chart is as tall as the graph, but not less than this
MAX_FIT_ZOOM = 1.5  # "fit" enlarges a small graph at most this much
VIEW_MARGIN = {"l": 4, "r": 4, "t": 4, "b": 4}
FIT_WIDTH_PX = 900.0  # the plot width assumed when fitting the graph (the page stretches it)
VIEW_PAD_PT = 12.0  # room around the graph when it is fitted
MIN_LABEL_PX = 6.0  # smaller labels cannot be read: then the hover names the box
LABEL_FONT = "Helvetica, Arial, 'Liberation Sans', sans-serif"  # what dot measured boxes in
LABEL_DROP_PT = 1.0  # see _label_trace
LABEL_COLOUR, TYPE_COLOUR = "#1f2328", "#57606a"
SELECTED, MATCHED = "#d62728", "#ff7f0e"
EDGE_COLOUR, BOX_LINE = "#7d8590", "#5f6b7a"
UNKNOWN_COLOUR = "#e1e4e8"
BLOCK_COLOUR = "#d8dee4"  # a collapsed repeated block: neutral, apart from the types' colours
MAX_HOVER = 120  # characters of a node id in its hover (a name may be 10,000)
MAX_CLICK_PX = 60  # a box's invisible click marker at most this wide (a marker is a square)
# Light fills, so the black label stays readable on every box.
TYPE_PALETTE = tuple(dict.fromkeys(qualitative.Pastel1[:8] + qualitative.Pastel2[:7]
                                   + qualitative.Set3))
PARAM_BINS = ((0, "no parameters"), (1, "1 – 999 parameters"), (1_000, "1k – 10k parameters"),
              (10_000, "10k – 100k parameters"), (100_000, "100k – 1M parameters"),
              (1_000_000, "1M parameters or more"))
SIZE_BINS = ((0, "under 100 values"), (100, "100 – 1k values"), (1_000, "1k – 10k values"),
             (10_000, "10k – 100k values"), (100_000, "100k – 1M values"),
             (1_000_000, "1M values or more"))
BIN_PALETTE = sequential.YlGnBu[:6]  # light to mid: black text reads on all of them


@dataclass(frozen=True)
class ColourKey:
    """One legend entry: a plain-text label (escaped when drawn) and a "#rrggbb" fill."""

    label: str
    colour: str


def node_colours(graph: LayerGraph, color_by: str = "type",
                 full: LayerGraph | None = None) -> dict[str, ColourKey]:
    """Each node's fill: by layer type, by parameter count or by output size (values per
    sample), the counts in decades. The page's figure and the exported SVG/PNG share it.

    Types take the palette in name order over ``full`` (the graph before its blocks were
    collapsed, default ``graph``), and a collapsed block has a colour of its own: collapsing
    or opening a block leaves every layer type its colour."""
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_BY)}, not {color_by!r}")
    nodes = graph.nodes.values()
    if color_by == "type":
        every = [*(full or graph).nodes.values(), *nodes]
        kinds = sorted({n.class_name for n in every} - {BLOCK_CLASS})
        keys = {k: ColourKey(k, _hex(TYPE_PALETTE[i % len(TYPE_PALETTE)]))
                for i, k in enumerate(kinds)}
        keys[BLOCK_CLASS] = ColourKey(BLOCK_CLASS, BLOCK_COLOUR)
        return {n.id: keys[n.class_name] for n in nodes}
    if color_by == "params":
        return {n.id: _binned(n.params, PARAM_BINS) for n in nodes}
    return {n.id: _binned(output_values(n.output_shape), SIZE_BINS) for n in nodes}


def _binned(value: int | None, bins: tuple[tuple[int, str], ...]) -> ColourKey:
    if value is None:
        return ColourKey("size unknown", UNKNOWN_COLOUR)
    index = max(i for i, (low, _) in enumerate(bins) if value >= low)
    return ColourKey(bins[index][1], _hex(BIN_PALETTE[index]))


def output_values(shape: tuple | None) -> int | None:
    """Values one sample makes at a layer: the product of its output shape past the batch
    axis (summed over several outputs); None when unknown (a free length, a shared layer)."""
    if shape is None or not shape:
        return None
    if isinstance(shape[0], (list, tuple)):
        parts = [output_values(s) for s in shape]
        return None if any(p is None for p in parts) else sum(parts)
    dims = shape[1:]
    if any(d is None for d in dims):
        return None
    return int(np.prod(dims, dtype=np.int64)) if dims else 1


def _hex(colour: str) -> str:
    """"rgb(r,g,b)" or "#rrggbb" as "#rrggbb" (what DOT takes)."""
    if colour.startswith("#"):
        return colour.lower()
    r, g, b = (int(float(v)) for v in unlabel_rgb(colour))
    return f"#{r:02x}{g:02x}{b:02x}"


def architecture_figure(graph: LayerGraph, layout: GraphLayout, *, color_by: str = "type",
                        highlight: Collection[str] = (), selected: str | None = None,
                        zoom: float | None = 1.0, focus: str | None = None,
                        full: LayerGraph | None = None) -> go.Figure:
    """The laid-out layer graph in a `VIEW_PX`-high viewport that pans and zooms.

    Each node is a filled box (one trace per colour, so the legend is the colour key) with its
    name, type and output shape; edges are dot's routed splines with arrowheads; expanded
    submodels are dashed clusters. ``zoom`` is pixels per point: at 1.0 the labels are drawn
    at the size dot measured them (`FONT_PT` px); None fits the whole graph (labels only if
    still readable, `MIN_LABEL_PX`). The view opens centred on box ``focus``, else on the top
    of the graph. An invisible marker over each box carries its node id in ``customdata``
    (what a click selection returns); ``highlight`` boxes are outlined orange, ``selected``
    red. ``full``: the graph before blocks were collapsed, which fixes the types' colours.
    """
    colours = node_colours(graph, color_by, full)
    scale = view_scale(layout, zoom)
    fig = go.Figure()
    for shape in _cluster_shapes(layout):
        fig.add_shape(**shape)
    fig.add_traces([_edge_trace(layout), _arrow_trace(layout)])
    fig.add_traces(_box_traces(layout, colours))
    fig.add_traces(_outline_traces(layout, highlight, selected))
    if FONT_PT * scale >= MIN_LABEL_PX:
        fig.add_trace(_label_trace(graph, layout, FONT_PT * scale))
    fig.add_trace(_click_trace(graph, layout, scale))
    _viewport(fig, layout, zoom, focus)
    return fig


def architecture_image(graph: LayerGraph, fmt: str, color_by: str = "type",
                       full: LayerGraph | None = None) -> bytes:
    """The whole graph as an SVG or PNG file (``fmt``), boxes filled as on the page; drawn
    by dot from the DOT source the page's layout came from (bounded, one-line errors)."""
    fills = {node_id: key.colour
             for node_id, key in node_colours(graph, color_by, full).items()}
    return render(graph, fmt, fills)


def fit_scale(layout: GraphLayout) -> float:
    """Pixels per point at which the whole graph fits the viewport (of `FIT_WIDTH_PX`)."""
    plot_h = VIEW_PX - VIEW_MARGIN["t"] - VIEW_MARGIN["b"]
    return min(plot_h / (layout.height + 2 * VIEW_PAD_PT),
               FIT_WIDTH_PX / (layout.width + 2 * VIEW_PAD_PT))


def _rect(bounds: tuple[float, float, float, float]) -> tuple[list, list]:
    """A closed rectangle's x and y lists, ending in a gap (None) for the next one."""
    x0, y0, x1, y1 = bounds
    return [x0, x1, x1, x0, x0, None], [y0, y0, y1, y1, y0, None]


def _edge_trace(layout: GraphLayout) -> go.Scatter:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in layout.edges:
        xs += [*edge.xs, None]
        ys += [*edge.ys, None]
    return go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                      line={"color": EDGE_COLOUR, "width": 1.2}, name="edges")


def _arrow_trace(layout: GraphLayout) -> go.Scatter:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in layout.edges:
        if edge.head:
            xs += [p[0] for p in edge.head] + [edge.head[0][0], None]
            ys += [p[1] for p in edge.head] + [edge.head[0][1], None]
    return go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=EDGE_COLOUR,
                      line={"color": EDGE_COLOUR, "width": 0.5}, hoverinfo="skip",
                      showlegend=False, name="arrowheads")


def _box_traces(layout: GraphLayout, colours: dict[str, ColourKey]) -> list[go.Scatter]:
    """One filled trace per colour, in legend order (types by name, bins by size)."""
    by_key: dict[ColourKey, list[str]] = {}
    for node_id in layout.boxes:
        by_key.setdefault(colours[node_id], []).append(node_id)
    ordered = sorted(by_key, key=_legend_order)
    traces = []
    for key in ordered:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for node_id in by_key[key]:
            rx, ry = _rect(layout.boxes[node_id].bounds)
            xs += rx
            ys += ry
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", fill="toself",
                                 fillcolor=key.colour, line={"color": BOX_LINE, "width": 1},
                                 name=escape(key.label), hoverinfo="skip", legendgroup="boxes"))
    return traces


def _legend_order(key: ColourKey) -> tuple[int, str]:
    for bins in (PARAM_BINS, SIZE_BINS):
        labels = [label for _, label in bins]
        if key.label in labels:
            return labels.index(key.label), key.label
    return (len(PARAM_BINS), key.label)  # types by name; "size unknown" after the bins


def _outline_traces(layout: GraphLayout, highlight: Collection[str],
                    selected: str | None) -> list[go.Scatter]:
    traces = []
    for ids, colour, width, name in (([h for h in highlight if h != selected], MATCHED, 2.5,
                                       "search matches"),
                                     ([selected] if selected else [], SELECTED, 3.5,
                                      "selected")):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for node_id in ids:
            if node_id in layout.boxes:
                rx, ry = _rect(layout.boxes[node_id].bounds)
                xs += rx
                ys += ry
        if xs:
            traces.append(go.Scatter(x=xs, y=ys, mode="lines", name=name, hoverinfo="skip",
                                     showlegend=False, line={"color": colour, "width": width}))
    return traces


def _label_trace(graph: LayerGraph, layout: GraphLayout, font_px: float) -> go.Scatter:
    """Each box's three lines, escaped (Plotly reads HTML in text), the type in grey."""
    ids = list(layout.boxes)
    text = []
    for node_id in ids:
        name, kind, shape = label_lines(graph.nodes[node_id])
        text.append(f"{escape(name)}<br><span style=\"color:{TYPE_COLOUR}\">{escape(kind)}"
                    f"</span><br>{escape(shape)}")
    font = {"family": LABEL_FONT, "size": round(font_px, 2), "color": LABEL_COLOUR}
    # Plotly sets a three-line block ~1 px above the centre: lowered by LABEL_DROP_PT
    ys = [layout.boxes[i].y - LABEL_DROP_PT for i in ids]
    return go.Scatter(x=[layout.boxes[i].x for i in ids], y=ys, mode="text", text=text,
                      textposition="middle center", textfont=font, hoverinfo="skip",
                      showlegend=False, name="labels",
                      # a click selection dims unselected text: keep the labels as they are
                      selected={"textfont": {"color": LABEL_COLOUR}},
                      unselected={"textfont": {"color": LABEL_COLOUR}})


def _click_trace(graph: LayerGraph, layout: GraphLayout, scale: float) -> go.Scatter:
    """Invisible square markers along each box (one per box-height of its width, so a click
    anywhere on the box lands on one); ``customdata`` is the node id, the hover its facts."""
    xs, ys, ids, sizes = [], [], [], []
    for node_id, box in layout.boxes.items():
        step = box.height
        reach = max(box.width - box.height, 0.0) / 2
        count = int(reach // step)
        for k in range(-count, count + 1):
            xs.append(box.x + k * step)
            ys.append(box.y)
            ids.append(node_id)
            sizes.append(min(max(box.height * scale, 6.0), MAX_CLICK_PX))
    hover = {node_id: _hover(graph.nodes[node_id]) for node_id in layout.boxes}
    return go.Scatter(x=xs, y=ys, mode="markers", customdata=ids, name="layers",
                      hovertext=[hover[i] for i in ids], hoverinfo="text", showlegend=False,
                      marker={"size": sizes, "symbol": "square", "opacity": 0,
                              "color": BOX_LINE},
                      selected={"marker": {"opacity": 0}},
                      unselected={"marker": {"opacity": 0}})


def _hover(node: Node) -> str:
    block = node.is_group and node.class_name == BLOCK_CLASS
    kind = f"{node.class_name} (submodel, collapsed)" if node.is_group and not block \
        else node.class_name
    shape = "shared/several" if node.output_shape is None else str(node.output_shape)
    title = node.name if block else node.id  # a block's id is internal: "/block/…"
    title, kind = excerpt(title, MAX_HOVER), excerpt(kind, MAX_HOVER)
    return (f"<b>{escape(title)}</b><br>{escape(kind)}<br>output {escape(shape)}<br>"
            f"{node.params:,} params")


def _cluster_shapes(layout: GraphLayout) -> list[dict]:
    """A dashed rectangle around each expanded submodel, its id at the top left."""
    return [{"type": "rect", "x0": x0, "y0": y0, "x1": x1, "y1": y1, "layer": "below",
             "line": {"color": "#8a8f98", "dash": "dash", "width": 1},
             "fillcolor": "rgba(127,127,127,0.05)",
             "label": {"text": escape(label_text(group)), "textposition": "top left",
                       "font": {"size": 11, "color": "#555555"}}}
            for group, (x0, y0, x1, y1) in layout.clusters.items()]


def view_scale(layout: GraphLayout, zoom: float | None) -> float:
    """Pixels per point drawn: ``zoom``, or for the fitted view `fit_scale` capped at
    `MAX_FIT_ZOOM` (a five-layer graph is not blown up to fill 800 px)."""
    return zoom if zoom is not None else min(fit_scale(layout), MAX_FIT_ZOOM)


def _viewport(fig: go.Figure, layout: GraphLayout, zoom: float | None,
              focus: str | None) -> None:
    """Axis ranges in points, one scale on both axes (boxes keep their shape), and the
    chart's height: `VIEW_PX`, or less when the whole graph is shorter at this scale.

    Fitted: the whole drawing. Zoomed: the plot's height in points around ``focus`` (else
    the top of the graph). The x range is left narrow on purpose when zoomed: Plotly widens
    the narrower axis to the common scale, which fills the chart's width, whatever the page
    gives it."""
    pad, margins = VIEW_PAD_PT, VIEW_MARGIN["t"] + VIEW_MARGIN["b"]
    scale = view_scale(layout, zoom)
    whole_px = (layout.height + 2 * pad) * scale
    height = VIEW_PX if whole_px > VIEW_PX - margins else max(MIN_VIEW_PX, whole_px + margins)
    span = (height - margins) / scale  # points of height shown
    box = layout.boxes.get(focus) if focus else None
    if whole_px <= VIEW_PX - margins or not layout.boxes:
        cy = layout.height / 2  # all of it: centred
    elif box is not None:
        cy = box.y
    else:
        cy = layout.height + pad - span / 2  # the top
    if box is not None:
        cx = box.x
    elif (layout.width + 2 * pad) * scale <= FIT_WIDTH_PX or not layout.boxes:
        cx = layout.width / 2
    else:
        cx = max(layout.boxes.values(), key=lambda b: (b.y, -b.x)).x  # the topmost box
    half_x = (layout.width / 2 + pad) if zoom is None else 1.0
    axis = {"visible": False, "constrain": "range", "showgrid": False, "zeroline": False}
    fig.update_layout(
        height=int(round(height)), dragmode="pan", clickmode="event+select",
        hovermode="closest", margin=dict(VIEW_MARGIN), plot_bgcolor="white",
        paper_bgcolor="white",
        xaxis={**axis, "range": [cx - half_x, cx + half_x]},
        yaxis={**axis, "range": [cy - span / 2, cy + span / 2], "scaleanchor": "x",
               "scaleratio": 1},
        legend={"title": {"text": "Colour"}, "itemclick": False, "itemdoubleclick": False},
        # a new view (zoom, focus, another layout) resets the axes; a click on a box, which
        # only redraws the outlines, keeps where the user panned to
        uirevision=f"{zoom}|{focus}|{layout.width:.0f}x{layout.height:.0f}"
                   f"|{len(layout.boxes)}")


# ---------------------------------------------------------------- weights

MAX_SIDE = 200  # heatmap rows/columns drawn at most; larger tensors are block-averaged
HEAT_ROW_PX, HEAT_MIN_PLOT_PX, HEAT_MAX_PLOT_PX = 18, 200, 780  # a kernel heatmap's plot area
MAX_FILTERS = 64
FILTER_COLUMNS = 8
FILTER_CELL = 110  # px: the height of one filter's row for a square kernel
GRID_MARGIN = {"t": 60, "b": 10, "l": 10, "r": 10}
MIN_BAR_PX = 130  # a colour bar shorter than this stacks its tick labels (one row of filters)
BAR_ROW_PX, BAR_GAP_PX, BAR_TOP_PX = 150, 50, 90  # vector bars: a row, the titled gap, the top
MAX_HIST_VALUES = 1_000_000


def downsample(matrix: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str | None]:
    """Block-average a 2-D array to at most ``max_side`` per axis; the note says so."""
    rows, cols = matrix.shape
    fr, fc = -(-rows // max_side), -(-cols // max_side)  # ceil division
    if fr == 1 and fc == 1:
        return matrix, None
    padded = np.full((fr * -(-rows // fr), fc * -(-cols // fc)), np.nan, dtype="float64")
    padded[:rows, :cols] = matrix
    blocks = padded.reshape(padded.shape[0] // fr, fr, padded.shape[1] // fc, fc)
    note = (f"{rows}x{cols} shown as {blocks.shape[0]}x{blocks.shape[2]}: each cell is the "
            f"mean of a {fr}x{fc} block")
    return np.nanmean(blocks, axis=(1, 3)), note


def weight_heatmap(matrix: np.ndarray, *, layer: str, weight: str = "kernel",
                   row_labels: list[str] | None = None, max_side: int = MAX_SIDE) -> go.Figure:
    """A (inputs x units) kernel, diverging colours centred at 0. Large kernels are
    block-averaged and the title says so; row labels only when no rows were merged."""
    if matrix.ndim != 2:
        raise ValueError(f"weight_heatmap needs a 2-D array, got shape {matrix.shape}")
    shown, note = downsample(matrix, max_side)
    labels = ([escape(r) for r in row_labels]
              if row_labels is not None and shown.shape[0] == matrix.shape[0] else None)
    bound = float(np.nanmax(np.abs(shown))) or 1.0
    fig = go.Figure(go.Heatmap(
        z=shown, y=labels, colorscale="RdBu_r", zmid=0, zmin=-bound, zmax=bound,
        colorbar={"title": "weight"},
        hovertemplate="input %{y}<br>unit %{x}<br>w = %{z:.4f}<extra></extra>"))
    title = f"{escape(layer)} {escape(weight)} {matrix.shape[0]}x{matrix.shape[1]}" + (
        f"<br><sup>{note}</sup>" if note else "")
    # Every name on its own line: Plotly drops every other category label once rows are
    # under ~14 px, so a named kernel gets HEAT_ROW_PX a row (up to the height cap).
    rows = shown.shape[0]
    every_name = labels is not None and rows * HEAT_ROW_PX <= HEAT_MAX_PLOT_PX
    plot_px = min(HEAT_MAX_PLOT_PX, max(HEAT_MIN_PLOT_PX, HEAT_ROW_PX * rows))
    top = 90 if note else 60  # the note is a second title line
    fig.update_layout(title=title, xaxis_title="unit", yaxis_title="input",
                      yaxis={"autorange": "reversed", **({"dtick": 1} if every_name else {})},
                      margin={"t": top, "b": 60}, height=plot_px + top + 60)
    return fig


def bias_bar(bias: np.ndarray, *, layer: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=np.arange(bias.size), y=bias.ravel(),
                           marker_color=np.where(bias.ravel() >= 0, "#d6604d", "#4393c3")))
    fig.update_layout(title=f"{escape(layer)} bias", xaxis_title="unit", yaxis_title="bias",
                      height=300)
    return fig


def conv_filter_grid(kernel: np.ndarray, *, layer: str, channel: str | int = "mean",
                     max_filters: int = MAX_FILTERS) -> go.Figure:
    """One small heatmap per output filter of a (kh, kw, in, out) kernel; input channels
    averaged (``channel="mean"``) or one chosen. Shared colour scale centred at 0."""
    if kernel.ndim != 4:
        raise ValueError(f"conv_filter_grid needs a (kh, kw, in, out) kernel, got {kernel.shape}")
    if channel == "mean":
        planes = kernel.mean(axis=2)
    elif isinstance(channel, int) and 0 <= channel < kernel.shape[2]:
        planes = kernel[:, :, channel, :]
    else:
        raise ValueError(f"channel must be 'mean' or 0..{kernel.shape[2] - 1}, not {channel!r}")
    n = min(planes.shape[-1], max_filters)
    cols = min(FILTER_COLUMNS, n)
    rows = -(-n // cols)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.01,
                        vertical_spacing=min(0.02, 0.3 / rows))
    bound = float(np.abs(planes[..., :n]).max()) or 1.0
    for f in range(n):
        fig.add_trace(go.Heatmap(z=planes[:, :, f], coloraxis="coloraxis", name=f"filter {f}",
                                 hovertemplate=f"filter {f}<br>w = %{{z:.4f}}<extra></extra>"),
                      row=f // cols + 1, col=f % cols + 1)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    _square_cells(fig, n)
    shown = f" (first {n} of {planes.shape[-1]})" if n < planes.shape[-1] else ""
    what = "channels averaged" if channel == "mean" else f"input channel {channel}"
    # Explicit margins: the default 100 px top and 80 px bottom took most of a short figure
    # and left each filter a strip. A row gets FILTER_CELL px times the kernel's aspect.
    row_px = min(max(FILTER_CELL * planes.shape[0] / planes.shape[1], 40), 2 * FILTER_CELL)
    fig.update_layout(title=f"{escape(layer)}: {planes.shape[-1]} filters{shown}, {what}",
                      coloraxis={"colorscale": "RdBu_r", "cmin": -bound, "cmax": bound,
                                 "cmid": 0, "colorbar": {"title": {"text": "weight",
                                                                  "side": "right"}}},
                      margin=dict(GRID_MARGIN), height=max(int(rows * row_px), MIN_BAR_PX)
                      + GRID_MARGIN["t"] + GRID_MARGIN["b"])
    return fig


def _square_cells(fig: go.Figure, n: int) -> None:
    """Pin each subplot's y scale to its x scale, so a kernel's cells are drawn square
    whatever the chart's width (the page stretches it)."""
    for i in range(1, n + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", scaleratio=1)


def embedding_projection(matrix: np.ndarray, *, layer: str, tokens: list[str] | None = None,
                         labelled: int = 60) -> go.Figure:
    """Embedding rows projected on their first two principal components. Up to
    ``labelled`` tokens carry their text: the vocabulary's first (the most frequent, in a
    Keras vocabulary) whose label would not land on one already placed; rows past the
    vocabulary (ids no token maps to) are named in the hover only."""
    from sklearn.decomposition import PCA

    if matrix.ndim != 2 or matrix.shape[0] < 2:
        raise ValueError(f"embedding_projection needs a (tokens, dims) array, got {matrix.shape}")
    coords = PCA(n_components=2, random_state=0).fit_transform(matrix.astype("float64"))
    known = [str(t) for t in tokens[: len(matrix)]] if tokens else []
    names = known + [f"#{i}" for i in range(len(known), len(matrix))]
    shown = label_spots(coords, known, labelled)
    fig = go.Figure(go.Scatter(
        x=coords[:, 0], y=coords[:, 1], mode="markers+text",
        text=[escape(t) if i in shown else "" for i, t in enumerate(names)],
        hovertext=[escape(t) for t in names], hoverinfo="text", textposition="top center",
        marker={"size": 6, "color": np.arange(len(matrix)), "colorscale": "Viridis",
                "colorbar": {"title": "token index"}}))
    fig.update_layout(title=f"{escape(layer)}: {len(matrix)} token vectors, PCA",
                      height=PROJECTION_PX[1] + 120, margin={"t": 60, "b": 60},
                      xaxis_title="PC 1", yaxis_title="PC 2")
    return fig


LABEL_CHAR_PX = 7.0  # a token label's width per character at 12 px
PROJECTION_PX = (700, 400)  # the narrowest plot area assumed for the projection, and its height


def label_spots(coords: np.ndarray, names: list[str], limit: int,
                size: tuple[int, int] = PROJECTION_PX) -> set[int]:
    """Which of the points ``coords`` (N, 2) get their name (``names`` covers the first
    points; an empty name gets none): in order, up to ``limit``, each whose label box, drawn
    centred above its point on a ``size`` px plot area, clears every box placed before."""
    span = np.ptp(coords, axis=0)
    px = (coords - coords.min(axis=0)) / np.where(span > 0, span, 1) * size
    chosen: set[int] = set()
    placed: list[tuple[float, float, float, float]] = []
    for i, name in enumerate(names):
        if len(chosen) >= limit:
            break
        half = (LABEL_CHAR_PX * len(name) + 4) / 2
        box = (px[i, 0] - half, px[i, 0] + half, px[i, 1] + 4, px[i, 1] + 20)  # y grows up
        if name and all(box[1] <= b[0] or box[0] >= b[1] or box[3] <= b[2] or box[2] >= b[3]
                        for b in placed):
            placed.append(box)
            chosen.add(i)
    return chosen


def vector_bars(vectors: dict[str, np.ndarray], *, layer: str,
                labels: list[str] | None = None) -> go.Figure:
    """Several same-length vectors (BatchNorm gamma/beta/moving mean/variance, a
    Normalization's mean/variance) as bars, one row each. ``labels`` name the entries (the
    input columns, for a layer that reads them); otherwise the axis shows their index.

    Sizes are set in pixels: a fixed gap above each row holds its title, and the bottom
    margin holds the (slanted) feature names, so neither lands on a neighbouring plot."""
    size = next(iter(vectors.values())).size
    names = [escape(n) for n in labels] if labels is not None and len(labels) == size else None
    rows = len(vectors)
    plot_px = rows * BAR_ROW_PX + (rows - 1) * BAR_GAP_PX
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True,
                        subplot_titles=[escape(v) for v in vectors],
                        vertical_spacing=BAR_GAP_PX / plot_px if rows > 1 else 0)
    x = names if names is not None else np.arange(size)
    for i, values in enumerate(vectors.values(), start=1):
        fig.add_trace(go.Bar(x=x, y=values.ravel(), showlegend=False), row=i, col=1)
    # names: 7 px a character at 45 degrees, ~5 px down per character, capped
    bottom = 50 + (min(5 * max(len(n) for n in names), 160) if names else 0)
    fig.update_xaxes(title_text="feature" if names else "index", row=rows, col=1,
                     tickangle=-45 if names else None, automargin=True)
    fig.update_layout(title=escape(layer), height=BAR_TOP_PX + plot_px + bottom,
                      margin={"t": BAR_TOP_PX, "b": bottom})
    return fig


def weight_histogram(values: np.ndarray, *, title: str, bins: int = 60) -> go.Figure:
    """Histogram of all values; above a million values a fixed-seed sample, said in the title."""
    flat = values.ravel()
    note = ""
    if flat.size > MAX_HIST_VALUES:
        flat = np.random.default_rng(0).choice(flat, MAX_HIST_VALUES, replace=False)
        note = f" (random sample of {MAX_HIST_VALUES:,} of {values.size:,})"
    fig = go.Figure(go.Histogram(x=flat, nbinsx=bins, marker_color="#4c78a8"))
    fig.update_layout(title=f"{escape(title)}{note}", xaxis_title="value", yaxis_title="count",
                      height=300, bargap=0.02)
    return fig
