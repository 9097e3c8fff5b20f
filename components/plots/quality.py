"""Pure figure builders for the Quality page: curves, spreads and maps in, Plotly figures out.

No Streamlit. Each method keeps one colour on every figure (`METHOD_COLORS`); the random
order reference is a dashed grey line. Feature names and tokens come from the user and are
escaped (`text.escape`), so Plotly's label markup never applies to them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.explain.agreement import method_label, ordered_methods
from components.explain.quality import REFERENCE, method_name
from components.plots.explain import NEGATIVE_COLOR, POSITIVE_COLOR, ZERO_COLOR, ZERO_LINE
from components.plots.text import escape

UNITS = ("features", "pixels", "tokens")
METHOD_COLORS = {
    "lime": "#1b9e77", "shap": "#d95f02", "saliency": "#7570b3", "gradxinput": "#e7298a",
    "ig": "#66a61e", "smoothgrad": "#e6ab02", "gradcam": "#a6761d", REFERENCE: "#888888"}
FLIP_COLOR = "#ff7f00"
SEED_COLOR = "#9e9e9e"


def _color(method: str, index: int) -> str:
    fallback = ("#17becf", "#bcbd22", "#8c564b", "#e377c2")
    return METHOD_COLORS.get(method, fallback[index % len(fallback)])


# ---------------------------------------------------------------- deletion / insertion


def curves_figure(curves: Mapping[str, Mapping[str, np.ndarray]], *, unit: str = "features",
                  output: str = "output", bands: bool = False, title: str = "") -> go.Figure:
    """Deletion (left) and insertion (right) curves, one line per method in both panels.

    ``curves[method]`` holds "fraction" (x in [0, 1]), "deletion" and "insertion" (the
    target output after each step); with ``bands``, also "deletion_std"/"insertion_std",
    drawn as a shaded mean ± std band. ``unit`` ("features", "pixels" or "tokens") names
    the x axes; ``output`` the y axis. Each line's ``customdata`` is its method name.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("Deletion: a lower area is more faithful",
                                        "Insertion: a higher area is more faithful"))
    for index, method in enumerate(ordered_methods(curves)):
        curve = curves[method]
        for col, mode in enumerate(("deletion", "insertion"), start=1):
            _add_curve(fig, method, index, curve, mode, col, unit, bands)
    verb = {1: "removed", 2: "added back"}
    for col in (1, 2):
        fig.update_xaxes(title_text=f"share of the {unit} {verb[col]}", range=[0, 1],
                         tickformat=".0%", row=1, col=col)
    fig.update_yaxes(title_text=escape(output), row=1, col=1)
    return fig.update_layout(title=escape(title), height=380, hovermode="closest",
                             legend={"orientation": "h", "y": -0.25},
                             margin={"l": 10, "r": 10, "t": 70, "b": 10})


def _add_curve(fig: go.Figure, method: str, index: int, curve: Mapping[str, np.ndarray],
               mode: str, col: int, unit: str, bands: bool) -> None:
    x = np.asarray(curve["fraction"], dtype=np.float64)
    y = np.asarray(curve[mode], dtype=np.float64)
    color, label = _color(method, index), escape(method_name(method))
    if bands and f"{mode}_std" in curve:
        std = np.asarray(curve[f"{mode}_std"], dtype=np.float64)
        fig.add_trace(go.Scatter(
            x=np.concatenate([x, x[::-1]]), y=np.concatenate([y + std, (y - std)[::-1]]),
            fill="toself", fillcolor=color, opacity=0.15, line={"width": 0},
            hoverinfo="skip", showlegend=False, legendgroup=method), row=1, col=col)
    verb = "removed" if mode == "deletion" else "added back"
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="lines+markers" if len(x) <= 60 else "lines", name=label,
        legendgroup=method, showlegend=col == 1, customdata=[method] * len(x),
        line={"color": color, "dash": "dash" if method == REFERENCE else "solid", "width": 2},
        marker={"size": 4},
        hovertemplate=(f"{label}<br>%{{x:.0%}} of the {unit} {verb}<br>output %{{y:.4g}}"
                       "<extra></extra>")), row=1, col=col)


# ---------------------------------------------------------------- stability


def stability_figure(labels: Sequence[str], runs: np.ndarray, flips: np.ndarray, *,
                     title: str = "") -> go.Figure:
    """Each feature's value over the seeds: every seed as a grey dot, the mean as a marker
    with ± std error bars (red: positive mean, blue: negative), and a ring around the
    features whose sign flips between seeds. ``runs`` is (seeds, features), ``labels`` and
    ``flips`` (bool) one per feature, shown top-down in the given order."""
    runs = np.asarray(runs, dtype=np.float64)
    flips = np.asarray(flips, dtype=bool).ravel()
    if runs.ndim != 2 or runs.shape[1] != len(labels) or flips.size != len(labels):
        raise ValueError(f"runs {runs.shape}, {len(labels)} labels and {flips.size} flags "
                         f"do not line up")
    names = _unique(labels)
    mean, std = runs.mean(axis=0), runs.std(axis=0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=runs.ravel(), y=np.tile(names, len(runs)), mode="markers", name="each seed",
        marker={"color": SEED_COLOR, "size": 5, "opacity": 0.6},
        hovertemplate="%{y}<br>one seed: %{x:.4g}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=mean, y=names, mode="markers", name="mean ± std over the seeds",
        error_x={"type": "data", "array": std, "visible": True, "color": "#444444"},
        marker={"color": [_sign(v) for v in mean], "size": 9},
        hovertemplate="%{y}<br>mean %{x:.4g} ± %{error_x.array:.3g}<extra></extra>"))
    if flips.any():
        fig.add_trace(go.Scatter(
            x=mean[flips], y=[n for n, f in zip(names, flips, strict=True) if f],
            mode="markers", name="sign flips across seeds",
            marker={"symbol": "circle-open", "size": 18, "color": FLIP_COLOR,
                    "line": {"width": 3}},
            hovertemplate="%{y}<br>the sign flips between seeds<extra></extra>"))
    fig.add_vline(x=0, line=ZERO_LINE)
    fig.update_yaxes(autorange="reversed", type="category")
    return fig.update_layout(title=escape(title), xaxis_title="attribution",
                             height=max(240, 24 * len(names) + 140),
                             legend={"orientation": "h", "y": -0.15},
                             margin={"l": 10, "r": 10, "t": 50, "b": 10})


def _sign(value: float) -> str:
    return POSITIVE_COLOR if value > 0 else NEGATIVE_COLOR if value < 0 else ZERO_COLOR


def _unique(labels: Sequence[str]) -> list[str]:
    """Escaped labels; a repeated one (a token twice) gets " [position]"."""
    raw = [str(x) for x in labels]
    counts: dict[str, int] = {}
    for name in raw:
        counts[name] = counts.get(name, 0) + 1
    return [escape(n if counts[n] == 1 else f"{n} [{i}]") for i, n in enumerate(raw)]


def std_heatmap(plane: np.ndarray, *, title: str = "") -> go.Figure:
    """An image-shaped (h, w) map of the standard deviation over the seeds."""
    plane = np.asarray(plane, dtype=np.float64)
    if plane.ndim != 2:
        raise ValueError(f"std_heatmap needs an (h, w) map, got {plane.shape}")
    fig = go.Figure(go.Heatmap(
        z=plane, colorscale="Inferno", zmin=0.0, colorbar={"title": {"text": "std"},
                                                           "thickness": 10},
        hovertemplate="row %{y}, col %{x}<br>std %{z:.4g}<extra></extra>"))
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     autorange="reversed", scaleanchor="x", scaleratio=1, constrain="domain")
    return fig.update_layout(title=escape(title), height=300, plot_bgcolor="white",
                             margin={"l": 4, "r": 4, "t": 40, "b": 4})


# ---------------------------------------------------------------- sanity


def sanity_figure(results: Mapping[str, Mapping[str, object]]) -> go.Figure:
    """One panel per method: each feature (images: each pixel block) at (its value on the
    original model, its value on the randomised model), each axis divided by its largest
    |value|. Points on a line mean the attribution did not change."""
    methods = ordered_methods(results)
    if not methods:
        raise ValueError("no methods to show")
    cols = min(len(methods), 3)
    rows = -(-len(methods) // cols)
    titles = [f"{escape(method_label(m))}: Spearman {_rho(results[m]['spearman'])}"
              for m in methods]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.08, vertical_spacing=0.18)
    for i, method in enumerate(methods):
        a = _unit_scale(results[method]["original_vector"])
        b = _unit_scale(results[method]["randomised_vector"])
        fig.add_trace(go.Scatter(
            x=a, y=b, mode="markers", name=escape(method_label(method)), showlegend=False,
            marker={"color": _color(method, i), "size": 6, "opacity": 0.8},
            hovertemplate="original %{x:.2f}<br>randomised %{y:.2f}<extra></extra>"),
            row=i // cols + 1, col=i % cols + 1)
        fig.update_xaxes(title_text="original model", range=[-1.1, 1.1],
                         row=i // cols + 1, col=i % cols + 1)
        fig.update_yaxes(title_text="randomised", range=[-1.1, 1.1],
                         row=i // cols + 1, col=i % cols + 1)
    return fig.update_layout(height=300 * rows + 40, margin={"l": 10, "r": 10, "t": 50, "b": 10})


def _unit_scale(values: object) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).ravel())
    top = float(np.max(np.abs(v), initial=0.0))
    return v / top if top > 0 else v


def _rho(value: object) -> str:
    number = float(value)
    return "n/a" if math.isnan(number) else f"{number:.2f}".replace("-", "\u2212")
