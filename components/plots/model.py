"""Pure figure builders for the model views: arrays and graphs in, Plotly figures out.

Layer, class, weight and token names come from the uploaded file: every one is passed
through `components.plots.text.escape` before Plotly draws it (Plotly reads HTML in labels).
Node ids stay raw in ``customdata`` (a click returns them; no template shows them).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from components.inspect.graph import LayerGraph, Node
from components.plots.text import escape

COLOR_BY = ("type", "params")
LABELS_UP_TO = 80  # more nodes than this: names on hover only, so the graph stays legible
HIGHLIGHT = "#d62728"


def architecture_figure(graph: LayerGraph, positions: dict[str, tuple[float, float]], *,
                        color_by: str = "type", highlight: Collection[str] = (),
                        selected: str | None = None) -> go.Figure:
    """The layer DAG, top-down. One scatter trace per layer type (so the legend is the colour
    key); every marker's ``customdata`` is its node id, which a click selection returns."""
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_BY)}, not {color_by!r}")
    fig = go.Figure()
    for box in _group_boxes(graph, positions):
        fig.add_shape(**box)
    fig.add_trace(_edge_trace(graph, positions))
    show_text = len(graph.nodes) <= LABELS_UP_TO
    marks = set(highlight) | ({selected} if selected else set())
    for trace in _node_traces(graph, positions, color_by, marks, show_text):
        fig.add_trace(trace)
    _style(fig, graph, positions)
    return fig


def _edge_trace(graph: LayerGraph, pos: dict[str, tuple[float, float]]) -> go.Scatter:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for src, dst in graph.edges:
        xs += [pos[src][0], pos[dst][0], None]
        ys += [pos[src][1], pos[dst][1], None]
    return go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                      line={"color": "#9aa0a6", "width": 1.2}, name="edges")


def _node_traces(graph: LayerGraph, pos, color_by: str, marks: set[str], show_text: bool):
    by_type: dict[str, list[Node]] = {}
    for node in graph.nodes.values():
        by_type.setdefault(node.class_name, []).append(node)
    palette = qualitative.Plotly + qualitative.D3
    max_params = max((n.params for n in graph.nodes.values()), default=0) or 1
    for i, (cls, nodes) in enumerate(sorted(by_type.items())):
        color = (palette[i % len(palette)] if color_by == "type"
                 else [n.params / max_params for n in nodes])
        yield go.Scatter(
            x=[pos[n.id][0] for n in nodes], y=[pos[n.id][1] for n in nodes],
            mode="markers+text" if show_text else "markers", name=escape(cls),
            text=[escape(n.name) for n in nodes], textposition="middle right",
            customdata=[n.id for n in nodes], hovertext=[_hover(n) for n in nodes],
            hoverinfo="text",
            marker={"size": [18 if n.id in marks else 13 for n in nodes], "color": color,
                    "colorscale": "Viridis", "cmin": 0, "cmax": 1,
                    "symbol": ["square" if n.is_group else "circle" for n in nodes],
                    "line": {"width": [3 if n.id in marks else 0.5 for n in nodes],
                             "color": [HIGHLIGHT if n.id in marks else "#444" for n in nodes]}})


def _hover(node: Node) -> str:
    kind = f"{node.class_name} (submodel, collapsed)" if node.is_group else node.class_name
    shape = "shared/several" if node.output_shape is None else str(node.output_shape)
    return (f"<b>{escape(node.id)}</b><br>{escape(kind)}<br>output {escape(shape)}<br>"
            f"{node.params:,} params")


def _group_boxes(graph: LayerGraph, pos) -> list[dict]:
    boxes = []
    for group, members in graph.groups.items():
        pts = [pos[m] for m in members if m in pos]
        if not pts:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        boxes.append({"type": "rect", "x0": min(xs) - 0.4, "x1": max(xs) + 0.4,
                      "y0": min(ys) - 0.4, "y1": max(ys) + 0.4, "layer": "below",
                      "line": {"color": "#7f7f7f", "dash": "dot"},
                      "fillcolor": "rgba(127,127,127,0.06)", "label": {
                          "text": escape(group), "textposition": "top left"}})
    return boxes


def _style(fig: go.Figure, graph: LayerGraph, pos) -> None:
    depth = -min((p[1] for p in pos.values()), default=0) + 1
    xaxis = {"visible": False}
    if len(graph.nodes) <= LABELS_UP_TO and pos:
        xaxis["range"] = _x_range_with_labels(graph, pos)
    fig.update_layout(
        height=int(min(max(360, 70 * depth), 4000)), dragmode="pan", clickmode="event+select",
        margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"title": "Layer type"},
        xaxis=xaxis, yaxis={"visible": False}, hovermode="closest",
        plot_bgcolor="white")


LABEL_CHAR_PX, LABEL_GAP_PX = 7.0, 14.0  # a node name's width: 12 px text, after the marker
PLOT_PX = 700.0  # the narrowest plot area the graph is drawn in (the page stretches it)


def _x_range_with_labels(graph: LayerGraph, pos) -> list[float]:
    """An x range whose right end leaves room for every node's name (drawn to the right of
    its marker): with the range [lo, hi] drawn over PLOT_PX, a name of L px after x needs
    hi >= x + L (hi - lo) / PLOT_PX. Without it the rightmost names were cut at the edge."""
    lo = min(p[0] for p in pos.values()) - 0.5
    hi = max(p[0] for p in pos.values()) + 0.5
    for node in graph.nodes.values():
        share = min(0.5, (LABEL_GAP_PX + LABEL_CHAR_PX * len(node.name)) / PLOT_PX)
        hi = max(hi, (pos[node.id][0] - share * lo) / (1 - share))
    return [lo, hi]


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
