"""The Plotly charts an AppTest page drew: `st.plotly_chart` elements and kept charts
(`components.ui.kept_chart`: the Explain and What-if pages' panels, the agreement heatmap
and the sample map).

A kept chart is a custom component in AppTest (an unknown element whose data carries the
figure's JSON), so tests read both kinds through `charts`: each chart's key and spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Chart:
    key: str | None
    spec: str  # the figure's JSON

    @property
    def figure(self) -> dict[str, Any]:
        return json.loads(self.spec)


def charts(at: Any) -> list[Chart]:
    """The page's Plotly charts, both kinds, in page order (main area, then sidebar)."""
    drawn = []
    for node in _walk(at._tree):  # AppTest's element tree (its `get` walks it the same way)
        kind = getattr(node, "type", None)
        if kind == "plotly_chart":
            drawn.append(Chart(node.key, node.proto.spec))
        elif kind == "bidi_component" and _kept(node):
            drawn.append(Chart(node.key, json.loads(node.proto.json)["figure"]))
    return drawn


def _walk(node: Any) -> Any:
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from _walk(child)


def _kept(element: Any) -> bool:
    return element.proto.component_name.endswith("glassbox_kept_chart")


def kept(at: Any, prefix: str) -> Any:
    """The kept chart whose key starts with ``prefix`` (its AppTest element)."""
    return next(c for c in at.get("bidi_component")
                if _kept(c) and (c.key or "").startswith(prefix))


def kept_data(element: Any) -> dict[str, Any]:
    """What a kept chart was sent: ``figure`` (JSON), ``digest``, ``layout`` (the update
    drawn over the figure, e.g. the map's ring), ``clickable``."""
    return json.loads(element.proto.json)
