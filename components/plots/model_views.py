"""What the model-view pages draw: the architecture graph (with search matches and the
selection) and one layer's weights, each as a dataclass of figures and tables.

The weights view runs where the model lives (``runner.run(weights_view, ...)``): the tensors
are read from the model by `components.inspect`, drawn by the pure builders in
`components.plots.model`, and only the figures travel back to the server. The architecture
is split: only the `LayerGraph` (pure data) is read where the model lives
(``runner.run(build_graph, expanded)``); the server lays it out with Graphviz
(`components.inspect.dot_layout`) and `architecture_view` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from components.inspect.blocks import find_drawn
from components.inspect.dot_layout import GraphLayout
from components.inspect.graph import LayerGraph
from components.inspect.layer_details import find_layer
from components.inspect.weights import (
    STAT_COLUMNS,
    WeightTensor,
    for_display,
    input_reader,
    layer_weights,
    per_column_layer,
    tensor_stats,
    vocabulary,
)
from components.plots import model as plots


@dataclass(frozen=True)
class ArchitectureView:
    graph: LayerGraph
    figure: go.Figure
    matches: list[str]  # node ids matching the search, in graph order


def architecture_view(graph: LayerGraph, layout: GraphLayout, *, query: str = "",
                      color_by: str = "type", selected: str | None = None,
                      zoom: float | None = 1.0, focus: str | None = None,
                      full: LayerGraph | None = None) -> ArchitectureView:
    """Draw the laid-out graph; outline search matches and the selection. ``zoom`` (pixels
    per point, None: fit the whole graph) and ``focus`` (a node id to centre on) set the
    opening view (`components.plots.model.architecture_figure`). ``full`` is the graph
    before its repeated blocks were collapsed: a block holding a match is a match."""
    matches = find_drawn(full or graph, graph, query)
    figure = plots.architecture_figure(graph, layout, color_by=color_by, highlight=matches,
                                       selected=selected, zoom=zoom, focus=focus, full=full)
    return ArchitectureView(graph=graph, figure=figure, matches=matches)


@dataclass(frozen=True)
class WeightsView:
    layer: str
    class_name: str
    figures: list[go.Figure]
    stats: pd.DataFrame  # this layer's rows of `weight_summary`
    in_channels: int | None  # for the conv channel picker


def weights_view(model: Any, node_id: str, *, feature_names: tuple[str, ...] | None = None,
                 channel: str | int = "mean") -> WeightsView:
    """Figures for layer ``node_id``: kernels as heatmaps (conv: a filter grid), embeddings
    with a PCA map, 1-D vectors as bars, and a histogram per tensor."""
    layer = find_layer(model, node_id)
    tensors = layer_weights(model, node_id)
    names = list(feature_names or ())
    labels = names if names and input_reader(model, len(names)) == node_id else None
    columns = names if names and per_column_layer(model, node_id, len(names)) else None
    figures = _main_figures(model, node_id, tensors, labels, channel, columns)
    figures += [plots.weight_histogram(t.values, title=f"{node_id} {t.name}: distribution")
                for t in tensors if t.values.size > 1]
    kernel = next((t.values for t in tensors if t.name == "kernel" and t.values.ndim == 4), None)
    stats = for_display(pd.DataFrame([tensor_stats(node_id, t) for t in tensors],
                                     columns=STAT_COLUMNS))
    return WeightsView(layer=node_id, class_name=type(layer).__name__, figures=figures,
                       stats=stats, in_channels=None if kernel is None else kernel.shape[2])


def _main_figures(model: Any, node_id: str, tensors: list[WeightTensor],
                  labels: list[str] | None, channel: str | int,
                  columns: list[str] | None = None) -> list[go.Figure]:
    """``labels`` name a kernel's rows; ``columns`` the entries of per-column vectors."""
    by_name = {t.name: t.values for t in tensors}
    vectors = {t.name: t.values for t in tensors if t.values.ndim == 1 and t.values.size > 1}
    figures: list[go.Figure] = []
    if "embeddings" in by_name:
        emb = by_name["embeddings"]
        figures += [plots.weight_heatmap(emb, layer=node_id, weight="embeddings"),
                    plots.embedding_projection(emb, layer=node_id, tokens=vocabulary(model))]
    kernel = by_name.get("kernel")
    if kernel is not None and kernel.ndim == 4:
        figures.append(plots.conv_filter_grid(kernel, layer=node_id, channel=channel))
    elif kernel is not None and kernel.ndim >= 2:
        flat = kernel.reshape(-1, kernel.shape[-1])
        figures.append(plots.weight_heatmap(flat, layer=node_id,
                                            row_labels=labels if kernel.ndim == 2 else None))
    if "bias" in vectors and kernel is not None:
        figures.append(plots.bias_bar(vectors.pop("bias"), layer=node_id))
    if vectors:
        figures.append(plots.vector_bars(vectors, layer=node_id, labels=columns))
    return figures


def clicked_node(selection: Any) -> str | None:
    """The node id of the first clicked point in a `st.plotly_chart` selection state."""
    try:
        points = selection["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, list):
            custom = custom[0] if custom else None
        if isinstance(custom, str):
            return custom
    return None
