"""Pure figure builders for the global page: arrays in, Plotly figures out, no Streamlit.

Feature importance (mean |SHAP| beside permutation importance, one feature order), the
SHAP beeswarm, dependence plots, partial dependence with ICE curves, class-average
attribution maps and the top tokens per class. Attribution colours keep the explain page's
meaning (red pushes the explained output up, blue down, "RdBu_r"); a feature's *value*
goes from blue (low) to red-magenta (high), shap's own beeswarm colours. Every text that
comes from the user (feature names, class names, tokens) is escaped for Plotly's label
markup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.plots.explain import DIVERGING, NEGATIVE_COLOR, POSITIVE_COLOR, ZERO_LINE
from components.plots.text import escape

SHAP_COLOR = "#4c78a8"
PERMUTATION_COLOR = "#f58518"
VALUE_SCALE = [[0.0, "#008bfb"], [1.0, "#ff0051"]]  # shap's blue (low) to red (high)
ICE_COLOR = "rgba(120, 120, 120, 0.25)"
PDP_COLOR = "#d62728"
MAP_MODES = ("signed", "absolute")


# ---------------------------------------------------------------- importance


def importance_order(importance: np.ndarray) -> list[int]:
    """Feature indices by decreasing importance (ties: lower index first); NaN last."""
    values = np.nan_to_num(np.asarray(importance, dtype=np.float64), nan=-np.inf)
    return [int(i) for i in np.lexsort((np.arange(len(values)), -values))]


def feature_labels(names: Sequence[str] | None, n: int) -> list[str]:
    """Escaped, unique labels: "feature i" without names, repeats get " [i]"."""
    raw = [str(v) for v in names] if names is not None and len(names) == n else \
        [f"feature {i}" for i in range(n)]
    counts: dict[str, int] = {}
    for name in raw:
        counts[name] = counts.get(name, 0) + 1
    return [escape(name if counts[name] == 1 else f"{name} [{i}]") for i, name in enumerate(raw)]


def importance_bars(names: Sequence[str] | None, shap_importance: np.ndarray,
                    permutation_mean: np.ndarray, permutation_std: np.ndarray | None = None,
                    *, top_k: int | None = None, permutation_label: str = "score drop",
                    shap_label: str = "mean |SHAP value|") -> go.Figure:
    """Two bar charts side by side, one feature order (by mean |SHAP|, largest on top).

    Left: mean |SHAP| per feature; right: permutation importance (mean score drop, with
    ±std error bars when given). ``top_k`` keeps the first k features of that order.
    Each bar's ``customdata`` is its feature index.
    """
    shap_importance = np.asarray(shap_importance, dtype=np.float64).ravel()
    permutation_mean = np.asarray(permutation_mean, dtype=np.float64).ravel()
    n = shap_importance.size
    if permutation_mean.size != n:
        raise ValueError(f"{n} SHAP importances but {permutation_mean.size} permutation ones")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer or None, not {top_k!r}")
    order = importance_order(shap_importance)[:top_k]
    labels = feature_labels(names, n)
    shown = [labels[i] for i in order]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("SHAP: " + shap_label,
                                        "Permutation: " + escape(permutation_label)))
    fig.add_trace(go.Bar(x=shap_importance[order], y=shown, orientation="h", name="SHAP",
                         marker_color=SHAP_COLOR, customdata=order,
                         hovertemplate="%{y}<br>mean |SHAP| %{x:.4g}<extra></extra>"),
                  row=1, col=1)
    error = None
    if permutation_std is not None:
        std = np.asarray(permutation_std, dtype=np.float64).ravel()
        error = {"type": "data", "array": std[order], "visible": True, "thickness": 1}
    fig.add_trace(go.Bar(x=permutation_mean[order], y=shown, orientation="h",
                         name="permutation", marker_color=PERMUTATION_COLOR, error_x=error,
                         customdata=order,
                         hovertemplate="%{y}<br>score drop %{x:.4g}<extra></extra>"),
                  row=1, col=2)
    fig.add_vline(x=0, line=ZERO_LINE, row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=1)
    return fig.update_layout(showlegend=False, height=max(260, 24 * len(order) + 110),
                             margin={"l": 10, "r": 10, "t": 50, "b": 30})


def batch_importance(names: Sequence[str] | None, means: dict[str, np.ndarray],
                     labels: dict[str, str], *, top_k: int = 20,
                     order_by: str | None = None) -> go.Figure:
    """Mean |attribution| per feature over a batch job's rows: one panel per method, side by
    side, one feature order (``order_by``'s, else the first method's; largest on top), at
    most ``top_k`` features. ``means`` maps a method to its (features,) means; ``labels``
    its title."""
    if not means:
        raise ValueError("no method to draw")
    methods = list(means)
    first = np.asarray(means[order_by if order_by in means else methods[0]],
                       dtype=np.float64).ravel()
    order = importance_order(first)[:top_k]
    shown = [feature_labels(names, first.size)[i] for i in order]
    fig = make_subplots(rows=1, cols=len(methods), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[escape(labels.get(m, m)) for m in methods])
    for col, method in enumerate(methods, start=1):
        values = np.asarray(means[method], dtype=np.float64).ravel()
        fig.add_trace(go.Bar(x=values[order], y=shown, orientation="h", name=method,
                             marker_color=SHAP_COLOR, customdata=order,
                             hovertemplate="%{y}<br>mean |value| %{x:.4g}<extra></extra>"),
                      row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=1)
    return fig.update_layout(showlegend=False, height=max(260, 24 * len(order) + 110),
                             margin={"l": 10, "r": 10, "t": 50, "b": 30})


# ---------------------------------------------------------------- beeswarm


def beeswarm(values: np.ndarray, features: np.ndarray, names: Sequence[str] | None, *,
             max_display: int = 20, rows: np.ndarray | None = None,
             title: str = "") -> go.Figure:
    """shap's summary plot: one point per row and feature, x = its SHAP value.

    Features top-down by mean |SHAP| (the first ``max_display``); points of a feature are
    spread vertically where they pile up (shap's binning: 100 bins over the x range, rows of
    a bin alternating above and below the line). Colour: the feature's value, clipped to its
    5th..95th percentile and scaled to 0..1 per feature (a constant feature is 0.5, a
    missing value grey). ``rows`` (R,) names each point's dataset row in the hover text.
    """
    values = np.asarray(values, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    if values.shape != features.shape or values.ndim != 2:
        raise ValueError(f"values {values.shape} and feature values {features.shape} must "
                         f"both be (rows, features)")
    if max_display < 1:
        raise ValueError(f"max_display must be a positive integer, not {max_display!r}")
    n_rows, n = values.shape
    rows = np.arange(n_rows) if rows is None else np.asarray(rows)
    order = importance_order(np.abs(values).mean(axis=0) if n_rows else np.zeros(n))
    order = order[:max_display]
    labels = feature_labels(names, n)
    xs, ys, colors, hover = [], [], [], []
    for position, j in enumerate(order):
        xs.append(values[:, j])
        ys.append(position + swarm_offsets(values[:, j]))
        colors.append(scaled_values(features[:, j]))
        hover += [f"{labels[j]}<br>SHAP {v:.4g}<br>value {f:.4g}<br>row {r}"
                  for v, f, r in zip(values[:, j], features[:, j], rows, strict=True)]
    x, y = np.concatenate(xs or [[]]), np.concatenate(ys or [[]])
    color = np.concatenate(colors or [[]])
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers", hovertext=hover, hoverinfo="text", name="rows",
        marker={"size": 5, "color": np.nan_to_num(color, nan=0.5), "colorscale": VALUE_SCALE,
                "cmin": 0.0, "cmax": 1.0, "opacity": 0.8,
                "colorbar": {"title": {"text": "feature value"}, "tickvals": [0, 1],
                             "ticktext": ["low", "high"], "thickness": 12}}))
    fig.add_vline(x=0, line=ZERO_LINE)
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=[labels[j] for j in order],
                     autorange="reversed", zeroline=False, showgrid=False)
    return fig.update_layout(
        title=escape(title), xaxis_title="SHAP value (positive: pushes the output up)",
        height=max(280, 34 * len(order) + 120), showlegend=False,
        margin={"l": 10, "r": 10, "t": 50, "b": 40})


def swarm_offsets(x: np.ndarray, bins: int = 100, width: float = 0.4) -> np.ndarray:
    """Vertical offsets in [-width, width] that stack points sharing an x bin: 0, +1, -1,
    +2, -2, ... in row order within each bin, scaled by the fullest bin (shap's layout)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0)
    finite = np.nan_to_num(x, nan=0.0)
    low, high = float(finite.min()), float(finite.max())
    span = high - low if high > low else 1.0
    quantised = np.round((bins - 1) * (finite - low) / span).astype(np.int64)
    order = np.lexsort((np.arange(x.size), quantised))
    sorted_bins = quantised[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_bins)) + 1]
    layer = np.arange(x.size) - np.repeat(starts, np.diff(np.r_[starts, x.size]))
    offset = np.ceil(layer / 2) * np.where(layer % 2 == 1, 1.0, -1.0)
    out = np.zeros(x.size)
    out[order] = offset
    top = np.abs(out).max()
    return out * (width / top) if top > 0 else out


def scaled_values(column: np.ndarray) -> np.ndarray:
    """A feature's values clipped to their 5th..95th percentile, scaled to 0..1 (shap's
    colouring); a constant column is 0.5; NaN stays NaN."""
    column = np.asarray(column, dtype=np.float64)
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return np.full(column.shape, np.nan)
    low, high = np.percentile(finite, [5, 95])
    if high <= low:
        low, high = finite.min(), finite.max()
    if high <= low:
        return np.where(np.isfinite(column), 0.5, np.nan)
    return np.clip((column - low) / (high - low), 0.0, 1.0)


# ---------------------------------------------------------------- dependence, PDP, ICE


def dependence_plot(feature_values: np.ndarray, shap_values: np.ndarray,
                    color_values: np.ndarray | None = None, *, feature: str,
                    color_feature: str | None = None, rows: np.ndarray | None = None
                    ) -> go.Figure:
    """A feature's value (x) against its SHAP value (y), one point per row, coloured by
    another feature's value (its own units on the colour bar)."""
    x = np.asarray(feature_values, dtype=np.float64).ravel()
    y = np.asarray(shap_values, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"{x.size} feature values but {y.size} SHAP values")
    rows = np.arange(x.size) if rows is None else np.asarray(rows)
    marker: dict = {"size": 7, "opacity": 0.85, "color": SHAP_COLOR}
    hover = [f"{escape(feature)} {a:.4g}<br>SHAP {b:.4g}<br>row {r}"
             for a, b, r in zip(x, y, rows, strict=True)]
    if color_values is not None:
        c = np.asarray(color_values, dtype=np.float64).ravel()
        if c.size != x.size:
            raise ValueError(f"{c.size} colour values for {x.size} points")
        marker |= {"color": c, "colorscale": VALUE_SCALE,
                   "colorbar": {"title": {"text": escape(color_feature or "")},
                                "thickness": 12}}
        hover = [f"{h}<br>{escape(color_feature or '')} {v:.4g}" for h, v in
                 zip(hover, c, strict=True)]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="markers", marker=marker, hovertext=hover,
                               hoverinfo="text", name="rows"))
    fig.add_hline(y=0, line=ZERO_LINE)
    title = f"Dependence: {escape(feature)}"
    if color_feature:
        title += f", coloured by {escape(color_feature)}"
    return fig.update_layout(title=title, xaxis_title=escape(feature),
                             yaxis_title=f"SHAP value of {escape(feature)}", height=380,
                             showlegend=False, margin={"l": 10, "r": 10, "t": 50, "b": 40})


def pdp_ice_plot(grid: np.ndarray, ice: np.ndarray, pdp: np.ndarray, *, feature: str,
                 output: str = "output", centered: bool = False,
                 max_lines: int = 200) -> go.Figure:
    """ICE curves (thin grey, one per row, at most ``max_lines`` evenly spaced rows) and the
    partial dependence (their mean, thick) over the grid of one feature.

    ``centered`` subtracts each curve's value at the first grid point (c-ICE), so the
    curves start at 0 and show how much the feature moves each row's output.
    """
    grid = np.asarray(grid, dtype=np.float64).ravel()
    ice = np.asarray(ice, dtype=np.float64)
    pdp = np.asarray(pdp, dtype=np.float64).ravel()
    if ice.ndim != 2 or ice.shape[1] != grid.size or pdp.size != grid.size:
        raise ValueError(f"ICE {ice.shape} and PDP {pdp.shape} must match the grid "
                         f"({grid.size} points)")
    if centered and grid.size:
        ice, pdp = ice - ice[:, :1], pdp - pdp[0]
    picks = np.unique(np.linspace(0, len(ice) - 1, min(len(ice), max_lines)).astype(int)) \
        if len(ice) else np.zeros(0, int)
    xs = np.concatenate([np.r_[grid, np.nan] for _ in picks]) if len(picks) else []
    ys = np.concatenate([np.r_[ice[i], np.nan] for i in picks]) if len(picks) else []
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"ICE ({len(picks)} rows)",
                             line={"color": ICE_COLOR, "width": 1}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=grid, y=pdp, mode="lines+markers", name="partial dependence",
                             line={"color": PDP_COLOR, "width": 3},
                             hovertemplate="%{x:.4g}: %{y:.4g}<extra>PDP</extra>"))
    label = escape(output) + (" (change from the first grid value)" if centered else "")
    return fig.update_layout(title=f"Partial dependence and ICE: {escape(feature)}",
                             xaxis_title=escape(feature), yaxis_title=label, height=380,
                             legend={"orientation": "h", "y": -0.25},
                             margin={"l": 10, "r": 10, "t": 50, "b": 40})


# ---------------------------------------------------------------- images


def class_maps_grid(maps: np.ndarray, counts: np.ndarray, class_names: Sequence[str], *,
                    mode: str = "signed", shared_scale: bool = False, per_row: int = 5,
                    title: str = "") -> go.Figure:
    """One heatmap per class (``maps`` (C, h, w), NaN for a class without rows).

    Signed maps on "RdBu_r" from -m to m, absolute ones (|maps|) from 0 to m. With
    ``shared_scale`` m is the largest |value| over every map, in the attribution's units,
    so classes compare in strength; otherwise each map is divided by its own largest
    |value| (m = 1), so each class's shape shows, as on the explain page. Subplot titles
    give the class and its rows; ``customdata`` holds the unscaled values.
    """
    if mode not in MAP_MODES:
        raise ValueError(f"mode must be one of {', '.join(MAP_MODES)}, not {mode!r}")
    maps = np.asarray(maps, dtype=np.float64)
    counts = np.asarray(counts).ravel()
    if maps.ndim != 3 or len(maps) != len(counts) or len(class_names) != len(maps):
        raise ValueError(f"need maps (C, h, w) with C counts and C names, got {maps.shape}, "
                         f"{counts.size} counts, {len(class_names)} names")
    if mode == "absolute":
        maps = np.abs(maps)
    raw = maps
    if shared_scale:
        top = _largest(maps)
        bar = "mean attribution"
    else:
        maps = np.stack([grid / _largest(grid) for grid in maps]) if len(maps) else maps
        top, bar = 1.0, "±1 = the map's max" if mode == "signed" else "1 = the map's max"
    cols = max(1, min(per_row, len(maps)))
    n_rows = max(1, -(-len(maps) // cols))
    titles = [escape(f"{name} · {int(c)} rows") if c else escape(f"{name} · no rows")
              for name, c in zip(class_names, counts, strict=True)]
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    zmin, scale = (-top, DIVERGING) if mode == "signed" else (0.0, "Inferno")
    for k, grid in enumerate(maps):
        fig.add_trace(go.Heatmap(
            z=grid, zmin=zmin, zmax=top, colorscale=scale, showscale=k == 0,
            name=escape(class_names[k]), hoverongaps=False, customdata=raw[k],
            colorbar={"title": {"text": bar}, "thickness": 10},
            hovertemplate="row %{y}, col %{x}<br>%{customdata:.4g}<extra></extra>"),
            row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     autorange="reversed", constrain="domain")
    for k in range(len(maps)):  # square pixels in every panel
        axis = "" if k == 0 else str(k + 1)
        fig.layout[f"yaxis{axis}"].update(scaleanchor=f"x{axis}", scaleratio=1)
    return fig.update_layout(title=escape(title), height=190 * n_rows + 70,
                             plot_bgcolor="white", margin={"l": 4, "r": 4, "t": 70, "b": 4})


def _largest(maps: np.ndarray) -> float:
    """The largest finite |value| (1.0 when there is none or it is 0): a colour scale's end."""
    finite = np.abs(maps[np.isfinite(maps)])
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else 1.0


# ---------------------------------------------------------------- texts


def token_bars(table: pd.DataFrame, class_names: Sequence[str], *,
               per_row: int = 3) -> go.Figure:
    """The top tokens of each class as horizontal bars (largest on top), one panel per
    class; ``table`` is `components.explain.global_importance.top_tokens`'s frame. Red bars
    push towards the class, blue ones away."""
    missing = {"class", "token", "mean attribution", "occurrences"} - set(table.columns)
    if missing:
        raise ValueError(f"the token table lacks column(s) {', '.join(sorted(missing))}")
    names = list(class_names)
    cols = max(1, min(per_row, len(names)))
    n_rows = max(1, -(-len(names) // cols))
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=[escape(n) for n in names],
                        horizontal_spacing=0.12, vertical_spacing=0.1)
    tallest = 1
    for k, name in enumerate(names):
        part = table[table["class"] == name]
        tallest = max(tallest, len(part))
        values = part["mean attribution"].to_numpy(dtype=np.float64)
        tokens = [escape(t) for t in part["token"]]
        fig.add_trace(go.Bar(
            x=values, y=tokens, orientation="h", name=escape(name),
            marker_color=[POSITIVE_COLOR if v > 0 else NEGATIVE_COLOR for v in values],
            customdata=part["occurrences"].to_numpy(),
            hovertemplate="%{y}<br>mean attribution %{x:.4g}<br>%{customdata} "
                          "occurrences<extra></extra>"), row=k // cols + 1, col=k % cols + 1)
        fig.update_yaxes(autorange="reversed", type="category", row=k // cols + 1,
                         col=k % cols + 1)
    return fig.update_layout(showlegend=False, height=n_rows * (22 * tallest + 80) + 40,
                             margin={"l": 10, "r": 10, "t": 50, "b": 30})
