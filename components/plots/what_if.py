"""The what-if page's figure: how each method's attribution of each feature moved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.explain.agreement import method_label
from components.explain.methods.base import Attribution
from components.plots.explain import NEGATIVE_COLOR, POSITIVE_COLOR, ZERO_COLOR, ZERO_LINE
from components.plots.text import escape


def change_bars(changes: Mapping[str, Attribution], order: Sequence[int],
                feature_names: Sequence[str] | None = None,
                edited: Sequence[int] = ()) -> go.Figure:
    """One panel per method (each its own x scale: methods have different units), bars of
    the change in attribution for the features in ``order`` top-down; the ``edited``
    features are marked "(edited)". Red: the feature now pushes the output up more."""
    methods = list(changes)
    if not methods:
        raise ValueError("change_bars needs at least one method")
    n = np.size(next(iter(changes.values())).values)
    names = list(feature_names) if feature_names is not None and len(feature_names) == n \
        else [f"feature {i}" for i in range(n)]
    marked = set(edited)
    labels = [escape(names[i]) + (" (edited)" if i in marked else "") for i in order]
    fig = make_subplots(rows=1, cols=len(methods), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[escape(method_label(m)) for m in methods])
    for col, name in enumerate(methods, start=1):
        values = np.asarray(changes[name].values, dtype="float64").ravel()[list(order)]
        fig.add_trace(go.Bar(
            x=values, y=labels, orientation="h", name=escape(method_label(name)),
            customdata=list(order), marker_color=[_sign_color(v) for v in values],
            hovertemplate="%{y}<br>change %{x:.4g}<extra>" + escape(method_label(name))
                          + "</extra>"), row=1, col=col)
        fig.add_vline(x=0, line=ZERO_LINE, row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category")
    return fig.update_layout(
        showlegend=False, height=max(240, 26 * len(order) + 120),
        title="Change in attribution, edited minus original (red: pushes the output up more)",
        margin={"l": 10, "r": 10, "t": 80, "b": 30})


def _sign_color(value: float) -> str:
    return POSITIVE_COLOR if value > 0 else NEGATIVE_COLOR if value < 0 else ZERO_COLOR
