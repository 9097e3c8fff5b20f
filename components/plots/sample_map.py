"""The sample map of the explanation page: 2-D coordinates in, a clickable plotly Figure out.

Every point's ``customdata`` is [row], so `clicked_row` turns a click into the dataset
row. The selected row's ring is not in the figure: `ring` gives it as a layout update (one
shape), so a pick redraws the ring, not the map. No Streamlit here. Class names, labels and
the title are user text: they reach Plotly (which reads HTML in labels) through
`components.plots.text.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from plotly.colors import qualitative

from components.inspect.sample_map import SPACES
from components.plots import margins
from components.plots.text import escape

COLOR_BY: tuple[str, ...] = ("prediction", "error", "confidence")
GL_ABOVE = 2000  # more points than this draw with WebGL (Scattergl), numbers only
CORRECT_COLOR, WRONG_COLOR, RING_COLOR = "#9db4cc", "#d62728", "#111111"
TITLE_STANDOFF = 10  # px between an axis's numbers and its title


def class_palette(n: int) -> list[str]:
    """One colour per class index, stable across filters: Plotly's 10, or Alphabet's 26."""
    colors = qualitative.Plotly if n <= len(qualitative.Plotly) else qualitative.Alphabet
    return [colors[i % len(colors)] for i in range(n)]


# A continuous colour bar leaves the top of the right margin free (where a legend would go).
COLORBAR = {"len": 0.78, "y": 0, "yanchor": "bottom"}


def sample_map(coords: ArrayLike, *, rows: ArrayLike, color: ArrayLike, color_by: str,
               class_names: Sequence[str] = (), title: str = "", space: str = "inputs",
               prediction: Sequence | None = None, label: Sequence | None = None) -> go.Figure:
    """One marker per sample at ``coords`` (N, 2); ``rows`` (N,) are their dataset rows.

    ``color_by`` says what ``color`` (N,) holds: "prediction" — predicted class indices,
    one legend entry per class of ``class_names`` (with no class names, e.g. regression,
    the predicted values on a continuous scale); "error" — ``correct`` as bool (two traces,
    correct / misclassified) or absolute errors (continuous); "confidence" — 0..1
    (continuous). ``prediction``/``label`` (N,) are display values for the hover, which
    always names the row. Above `GL_ABOVE` points the traces are WebGL (Scattergl) and carry
    numbers only (coordinates, rows as customdata: typed arrays), their hover the row and
    what the colour shows. ``space`` titles the axes: "PC 1" or "activation PC 1".
    A click on a point is an event only (``clickmode="event"``): no selection dims the
    other points; the page marks the picked row with `ring`.
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"unknown color_by {color_by!r}; expected one of {', '.join(COLOR_BY)}")
    if space not in SPACES:
        raise ValueError(f"unknown space {space!r}; expected one of {', '.join(SPACES)}")
    coords = np.asarray(coords, dtype=float).reshape(-1, 2)
    rows = np.asarray(rows).astype(int).reshape(-1)
    color = np.asarray(color).reshape(-1)
    prediction = None if prediction is None else list(prediction)  # positions, not labels
    label = None if label is None else list(label)
    for name, values in (("rows", rows), ("color", color), ("prediction", prediction),
                         ("label", label)):
        if values is not None and len(values) != len(coords):
            raise ValueError(f"{len(values)} {name} for {len(coords)} points")
    big = len(coords) > GL_ABOVE
    hover = None if big else _hover(rows, prediction, label)
    scatter = go.Scattergl if big else go.Scatter
    common = {"mode": "markers", "hoverinfo": "text"}

    def points(mask: np.ndarray, said: str, **kwargs: Any) -> go.Scatter | go.Scattergl:
        if big:  # numbers only: typed arrays, no per-point strings (100,000 took 5 s more)
            return scatter(x=coords[mask, 0], y=coords[mask, 1], mode="markers",
                           customdata=rows[mask].reshape(-1, 1), **kwargs,
                           hovertemplate=f"row %{{customdata[0]}}<br>{said}<extra></extra>")
        return scatter(x=coords[mask, 0], y=coords[mask, 1],
                       customdata=[[int(r)] for r in rows[mask]],
                       hovertext=[hover[i] for i in np.flatnonzero(mask)], **common, **kwargs)

    traces = []
    if color_by == "prediction" and len(class_names):
        palette = class_palette(len(class_names))
        for k, name in enumerate(class_names):
            traces.append(points(color.astype(int) == k, f"prediction: {_literal(name)}",
                                 name=escape(name),
                                 marker={"color": palette[k], "size": 7, "opacity": 0.8}))
    elif color_by == "error" and color.dtype == bool:
        traces.append(points(color, "correct", name="correct",
                             marker={"color": CORRECT_COLOR, "size": 7, "opacity": 0.7}))
        traces.append(points(~color, "misclassified", name="misclassified",
                             marker={"color": WRONG_COLOR, "size": 8, "opacity": 0.9}))
    else:
        scale = {"prediction": ("Viridis", "prediction"), "error": ("Reds", "abs error"),
                 "confidence": ("Viridis", "confidence")}[color_by]
        marker = {"color": color.astype(float), "colorscale": scale[0], "size": 7,
                  "opacity": 0.8, "showscale": True, "colorbar": COLORBAR | {
                      "title": {"text": scale[1]}}}
        if color_by == "confidence":
            marker |= {"cmin": 0.0, "cmax": 1.0}
        traces.append(points(np.ones(len(coords), dtype=bool),
                             f"{scale[1]}: %{{marker.color:.4g}}", name=scale[1], marker=marker,
                             showlegend=False))
    fig = go.Figure(traces)
    prefix = "activation PC" if space == "activations" else "PC"
    fig.update_xaxes(title_text=f"{prefix} 1", zeroline=False, title_standoff=TITLE_STANDOFF)
    fig.update_yaxes(title_text=f"{prefix} 2", zeroline=False, title_standoff=TITLE_STANDOFF)
    # The page keeps this drawing across picks (only the ring moves), so zoom and legend
    # toggles stay while rows are picked; uirevision names the view for a Plotly.react.
    fig.update_layout(title={"text": escape(title)}, clickmode="event",
                      hovermode="closest", uirevision=f"sample-map-{space}",
                      legend={"itemsizing": "constant"}, height=480)
    return _margins(fig, coords)


def ring(coords: ArrayLike, rows: ArrayLike, selected: int | None) -> dict[str, Any]:
    """The layout update that rings row ``selected`` on the map of ``coords`` (N, 2) with
    dataset ``rows`` (N,): one circle shape, 18 px across whatever the zoom, labelled
    "row N" above it; no shape when the row is not on the map. Redrawing a shape is ~2 ms where
    the points of a 1,797-point map are ~130 ms, so the ring moves and the map stays."""
    coords = np.asarray(coords, dtype=float).reshape(-1, 2)
    at = np.flatnonzero(np.asarray(rows).astype(int).reshape(-1) == int(selected)) \
        if selected is not None else np.array([], dtype=int)
    if not at.size:
        return {"shapes": []}
    x, y = (float(v) for v in coords[int(at[0])])
    return {"shapes": [{
        "type": "circle", "xref": "x", "yref": "y", "xsizemode": "pixel",
        "ysizemode": "pixel", "xanchor": x, "yanchor": y, "x0": -9, "x1": 9, "y0": -9, "y1": 9,
        "line": {"width": 3, "color": RING_COLOR},
        # above the ring, not across it: the text's foot on the ring's top edge
        "label": {"text": f"<b>row {int(selected)}</b>", "textposition": "top center",
                  "yanchor": "bottom", "padding": 4,
                  "font": {"size": 13, "color": RING_COLOR}}}]}


def _margins(fig: go.Figure, coords: np.ndarray) -> go.Figure:
    """Margins sized for the axes' numbers and titles: automargin would draw the map twice
    (see `components.plots.margins`), and it is drawn anew for every view and colouring."""
    lo = coords.min(axis=0) if len(coords) else np.zeros(2)
    hi = coords.max(axis=0) if len(coords) else np.ones(2)
    pad = (hi - lo) * 0.1  # Plotly's autorange pads the data
    y_numbers = margins.widest_px(margins.number_labels(lo[1] - pad[1], hi[1] + pad[1]))
    axis_title = margins.TITLE_PX * margins.LINE + TITLE_STANDOFF + margins.AXIS_PAD
    return margins.fixed_margins(
        fig, left=y_numbers + axis_title, right=10, top=50,
        bottom=margins.TICK_PX * margins.LINE + axis_title)


def _literal(text: str) -> str:
    """User text inside a hover template: HTML-escaped, and no ``%{`` that Plotly would read
    as a field."""
    return escape(text).replace("%", "&#37;")


def _hover(rows: np.ndarray, prediction, label) -> list[str]:
    """Hover lines per point; user values (class names, labels) are HTML-escaped."""
    out = []
    for i, row in enumerate(rows):
        lines = [f"row {int(row)}"]
        if prediction is not None:
            lines.append(f"prediction: {_show(prediction[i])}")
        if label is not None:
            lines.append(f"label: {_show(label[i])}")
        out.append("<br>".join(lines))
    return out


def _show(value) -> str:
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return "—"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return escape(value)


def clicked_row(points: list[dict] | None) -> int | None:
    """The dataset row of the first clicked map point, or None.

    A point's ``customdata`` holds the row: as a number or string, a list [row, ...], or an
    object keyed "0", "1" (a typed array as Plotly sends it back).
    """
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(custom, dict):
            custom = custom.get("0")
        elif isinstance(custom, (list, tuple)):
            custom = custom[0] if custom else None
        if isinstance(custom, bool) or custom is None:
            continue
        try:
            number = float(custom)
        except (TypeError, ValueError):
            continue
        if number.is_integer() and number >= 0:
            return int(number)
    return None
