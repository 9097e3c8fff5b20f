"""What the architecture page shows: the drawn graph, search matches, the layer list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from components.graph import LayerGraph, build_graph, find_nodes, layout
from components.plots_model import architecture_figure


@dataclass(frozen=True)
class ArchitectureView:
    graph: LayerGraph
    figure: go.Figure
    matches: list[str]  # node ids matching the search, in graph order


def architecture_view(model: Any, *, expanded: tuple[str, ...] = (), query: str = "",
                      color_by: str = "type", selected: str | None = None) -> ArchitectureView:
    """Build, lay out and draw the layer graph; highlight search matches and the selection."""
    graph = build_graph(model, expanded)
    matches = find_nodes(graph, query)
    figure = architecture_figure(graph, layout(graph), color_by=color_by, highlight=matches,
                                 selected=selected)
    return ArchitectureView(graph=graph, figure=figure, matches=matches)


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
