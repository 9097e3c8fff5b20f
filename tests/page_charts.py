"""The Plotly charts an AppTest page drew: `st.plotly_chart` elements and kept charts
(`components.ui.kept_chart`, the Explain page's panels and agreement heatmap).

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
    """The page's Plotly charts: `st.plotly_chart`s first, then kept charts, each in page
    order."""
    drawn = [Chart(c.key, c.proto.spec) for c in at.get("plotly_chart")]
    return drawn + [Chart(c.key, json.loads(c.proto.json)["figure"])
                    for c in at.get("bidi_component")
                    if c.proto.component_name.endswith("glassbox_kept_chart")]


def kept(at: Any, prefix: str) -> Any:
    """The kept chart whose key starts with ``prefix`` (its AppTest element)."""
    return next(c for c in at.get("bidi_component")
                if c.proto.component_name.endswith("glassbox_kept_chart")
                and (c.key or "").startswith(prefix))


def kept_data(element: Any) -> dict[str, Any]:
    """What a kept chart was sent: ``figure`` (JSON), ``digest``, ``layout`` (the update
    drawn over the figure, e.g. the map's ring), ``clickable``."""
    return json.loads(element.proto.json)
