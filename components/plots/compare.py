"""Pure figure builders for the compare page: tables and arrays in, Plotly figures out.

No Streamlit. Class and method names may come from an uploaded model, so every label goes
through `escape` (shown literally, never as Plotly's label markup).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.explain.agreement import method_label, ordered_methods
from components.plots.text import escape

SIMILARITY_STATS = ("cosine", "spearman")
STAT_TITLES = {"cosine": "cosine similarity", "spearman": "Spearman rank correlation"}
AGREE_COLOR = "#4393c3"
DISAGREE_COLOR = "#d6604d"


def crosstab_heatmap(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Counts of (A's predicted class, B's predicted class) as an annotated heatmap.

    ``table`` is `components.explain.compare.prediction_crosstab`: rows A's classes, columns B's.
    Cells off the diagonal (the classes' names differ) are where the models disagree.
    """
    z = table.to_numpy(dtype="float64")
    if z.ndim != 2 or 0 in z.shape:
        raise ValueError(f"crosstab_heatmap needs a non-empty 2-D table, got {z.shape}")
    rows = [escape(r) for r in table.index]
    cols = [escape(c) for c in table.columns]
    fig = go.Figure(go.Heatmap(
        z=z, x=cols, y=rows, text=[[f"{int(v):,}" for v in row] for row in z],
        texttemplate="%{text}", colorscale="Blues", xgap=2, ygap=2,
        hovertemplate="A predicts %{y}<br>B predicts %{x}<br>%{z:,} rows<extra></extra>",
        colorbar={"title": {"text": "rows"}, "thickness": 12}))
    fig.update_layout(
        title=escape(title), xaxis={"title": "model B predicts", "type": "category"},
        yaxis={"title": "model A predicts", "type": "category", "autorange": "reversed"},
        height=max(260, 40 * len(rows) + 140), margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return fig


def prediction_scatter(a: np.ndarray, b: np.ndarray, threshold: float,
                       title: str = "") -> go.Figure:
    """Regression: model B's prediction against model A's, one point per row (its index in
    ``customdata``), red where |A − B| > ``threshold``; the dashed line is A = B."""
    a = np.asarray(a, dtype="float64").ravel()
    b = np.asarray(b, dtype="float64").ravel()
    if a.shape != b.shape:
        raise ValueError(f"{a.size} predictions of A against {b.size} of B")
    apart = np.abs(a - b) > threshold
    fig = go.Figure(go.Scattergl(
        x=a, y=b, mode="markers", customdata=np.arange(a.size),
        marker={"color": np.where(apart, DISAGREE_COLOR, AGREE_COLOR), "size": 6,
                "opacity": 0.8},
        hovertemplate="row %{customdata}<br>A %{x:.4g}<br>B %{y:.4g}<extra></extra>"))
    if a.size:
        lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", hoverinfo="skip",
                                 line={"color": "#555555", "dash": "dash", "width": 1}))
    fig.update_layout(title=escape(title), xaxis_title="model A predicts",
                      yaxis_title="model B predicts", showlegend=False, height=380,
                      margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return fig


def similarity_box(per_method: Mapping[str, np.ndarray], rows: Sequence[int],
                   of: str = "cosine", title: str = "") -> go.Figure:
    """One box per method (registry order) of the per-row similarity between the models,
    every row drawn as a point (its row index in ``customdata``), on a fixed -1..1 axis.

    ``per_method`` maps a method name to (N, 2) [cosine, Spearman] (NaN rows left out);
    ``of`` is "cosine" or "spearman".
    """
    if of not in SIMILARITY_STATS:
        raise ValueError(f"of must be one of {', '.join(SIMILARITY_STATS)}, not {of!r}")
    column = SIMILARITY_STATS.index(of)
    rows = np.asarray(rows, dtype=int)
    fig = go.Figure()
    for name in ordered_methods(per_method):
        values = np.asarray(per_method[name], dtype="float64").reshape(-1, 2)[:, column]
        if values.size != rows.size:
            raise ValueError(f"{values.size} values for {method_label(name)}, {rows.size} rows")
        kept = ~np.isnan(values)
        fig.add_trace(go.Box(
            y=values[kept], name=escape(method_label(name)), customdata=rows[kept],
            boxpoints="all", jitter=0.4, pointpos=0, marker={"size": 4},
            hovertemplate="row %{customdata}<br>%{y:.3f}<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#999999", "width": 1})
    fig.update_layout(title=escape(title or STAT_TITLES[of]), showlegend=False,
                      yaxis={"range": [-1.05, 1.05], "title": STAT_TITLES[of]},
                      height=360, margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return fig
