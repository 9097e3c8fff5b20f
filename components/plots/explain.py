"""Pure figure builders for the explanation page: attributions in, Plotly figures out.

No Streamlit. Colours mean the same thing on every figure: red pushes the target output up,
blue pushes it down (the bars' two colours are the ends of the maps' "RdBu_r" scale). Maps
and token grids are each normalised to their own largest |value|, so shapes compare across
methods whose units differ; the colour bar says so. Every text that comes from the user
(feature names, tokens, class names in titles) is shown as text: "&", "<" and ">" are
escaped so Plotly's HTML-ish label markup never applies.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.explain.agreement import NOT_COMPARED, method_label, ordered_methods
from components.explain.methods.base import OUTPUTS
from components.plots import margins
from components.plots.text import escape

if TYPE_CHECKING:
    from components.explain.methods.base import Attribution

POSITIVE_COLOR = "#d6604d"  # the red end of RdBu_r: pushes the target up
NEGATIVE_COLOR = "#4393c3"  # the blue end: pushes it down
ZERO_COLOR = "#bdbdbd"
DIVERGING = "RdBu_r"
SEQUENTIAL = "Inferno"
OVERLAY_MODES = ("signed", "absolute")
ZERO_LINE = {"color": "#555555", "width": 1}
# The bars' x-axis title, short lines: a tabular panel is a third of the page (369 px at
# 1600 px) and a long feature name leaves the plot ~130 px; a title wider than that is cut
# at the figure's edge (the old one read "attribution (red: pushes the output u").
AXIS_LINE_CHARS = 24
BAR_AXIS_NOTE = "red raises the output"
X_STANDOFF = 12  # px between a bar panel's x tick labels and its axis title


def panel_title(attribution: Attribution) -> str:
    """A panel's title: the method's label and what its values are, e.g.
    "SHAP · contribution", "Saliency · sensitivity" (its ``output_kind``)."""
    return f"{method_label(attribution.method)} \u00b7 {attribution.output_kind}"


# ---------------------------------------------------------------- bars


def feature_order(attributions: Mapping[str, Attribution], top_k: int) -> list[int]:
    """One order of feature indices for every method's bar chart, most important first.

    Rule: each method's |values| are divided by that method's largest |value| (so methods
    in different units mix; an all-zero method counts as all zeros). The candidates are
    the union of every method's own top ``top_k`` features by |value|, so each shown
    feature is in at least one method's top k. Candidates are ranked by their mean
    normalised |value| over all methods (ties: lower index first) and the first ``top_k``
    kept. Values are flattened, so image maps give flat pixel indices. Empty mapping: [].
    Raises ValueError for top_k < 1 or methods whose values differ in size.
    """
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, not {top_k!r}")
    if not attributions:
        return []
    sizes = {name: np.size(a.values) for name, a in attributions.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"attributions differ in size: {sizes}")
    normalised = []
    for attr in attributions.values():
        mag = np.abs(np.nan_to_num(np.asarray(attr.values, dtype="float64").ravel(),
                                   posinf=0.0, neginf=0.0))
        top = mag.max(initial=0.0)
        normalised.append(mag / top if top > 0 else mag)
    stack = np.vstack(normalised)
    candidates = set()
    for row in stack:
        candidates.update(np.argsort(-row, kind="stable")[:top_k].tolist())
    mean = stack.mean(axis=0)
    ranked = sorted(candidates, key=lambda i: (-mean[i], i))
    return [int(i) for i in ranked[:top_k]]


def attribution_bars(attribution: Attribution, order: Sequence[int],
                     feature_values: np.ndarray | None = None, title: str = "") -> go.Figure:
    """One method's values as horizontal bars, features in ``order`` top-down.

    Bars are red (positive), blue (negative) or grey (zero) with a line at 0; each bar's
    ``customdata`` is its feature index. Hover shows the feature's value in the sample
    when ``feature_values`` (same length as the attribution) is given. For SHAP (a
    ``base_value``) the subtitle gives the base value and base + sum of all values.
    Repeated names (a token twice in a text) get their position appended.
    """
    values = np.asarray(attribution.values, dtype="float64").ravel()
    n = values.size
    order = [int(i) for i in order]
    bad = [i for i in order if not 0 <= i < n]
    if bad:
        raise ValueError(f"order holds indices outside 0..{n - 1}: {bad[:5]}")
    names = _names(attribution.feature_names, n)
    if feature_values is not None:
        feature_values = np.asarray(feature_values).ravel()
        if feature_values.size != n:
            raise ValueError(f"{feature_values.size} feature values for {n} attributions")
    shown = values[order]
    labels = [names[i] for i in order]
    hover = []
    for i, label in zip(order, labels, strict=True):
        line = f"{label}<br>attribution {_num(values[i])}"
        if feature_values is not None:
            line += f"<br>value in this sample {_value(feature_values[i])}"
        hover.append(line)
    fig = go.Figure(go.Bar(
        x=shown, y=labels, orientation="h", customdata=order, hovertext=hover,
        hoverinfo="text", name=method_label(attribution.method),
        marker_color=[_sign_color(v) for v in shown]))
    fig.add_vline(x=0, line=ZERO_LINE)
    subtitle = ""
    if attribution.base_value is not None:
        base = float(attribution.base_value)
        subtitle = (f"base value {_num(base)}; base + all {n} values = "
                    f"{_num(base + float(np.nansum(values)))}")
    full_title = escape(title) + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    axis_title = bar_axis_title(attribution.output_kind)
    fig.update_layout(
        title=full_title, yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"title": {"text": axis_title, "standoff": X_STANDOFF}},
        showlegend=False, height=max(220, 26 * len(order) + 130))
    # margins from the labels (automargin redraws the figure: see `margins`); the x axis's
    # numbers are short, but the last one may be centred on the plot's right edge
    return margins.fixed_margins(
        fig, left=4 + margins.AXIS_PAD + margins.widest_px(labels), right=24, top=70,
        bottom=margins.AXIS_PAD + margins.TICK_PX * margins.LINE + X_STANDOFF
        + margins.title_lines_px(axis_title))


def bar_axis_title(output_kind: str) -> str:
    """The bars' x-axis title: what the values are, then the colours, on two short lines
    (each at most `AXIS_LINE_CHARS`)."""
    return f"{output_kind}<br><sup>{BAR_AXIS_NOTE}</sup>"


def _names(feature_names: Sequence[str] | None, n: int) -> list[str]:
    """Escaped, unique bar labels: repeats get " [position]" so bars do not merge."""
    if feature_names is None or len(feature_names) != n:
        raw = [f"feature {i}" for i in range(n)]
    else:
        raw = [str(x) for x in feature_names]
    counts: dict[str, int] = {}
    for name in raw:
        counts[name] = counts.get(name, 0) + 1
    return [escape(name if counts[name] == 1 else f"{name} [{i}]")
            for i, name in enumerate(raw)]


def _sign_color(value: float) -> str:
    if value > 0:
        return POSITIVE_COLOR
    if value < 0:
        return NEGATIVE_COLOR
    return ZERO_COLOR


def _num(value: float) -> str:
    return f"{value:.4g}".replace("-", "\u2212")


def _value(value: object) -> str:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _num(float(value))
    return escape(value)


# ---------------------------------------------------------------- images


def image_overlay(image: np.ndarray, values: np.ndarray, *, opacity: float = 0.5,
                  mode: str = "signed", title: str = "") -> go.Figure:
    """The image with one attribution map (summed over channels) laid over it.

    ``image`` (h, w, c) or (h, w) is rescaled to 0..1 over all its pixels for display:
    one channel as a grey heatmap, three (or four: alpha dropped) as an RGB ``go.Image``,
    any other count as the channels' mean in grey. The map is divided by its own largest
    |value| m: ``mode="signed"`` plots values/m in [-1, 1] on "RdBu_r" with zmin=-1,
    zmax=1 (0 is the middle); ``"absolute"`` plots |values|/m in [0, 1] on a sequential
    scale. An all-zero map stays 0. Hover shows the raw summed value.
    """
    if mode not in OVERLAY_MODES:
        raise ValueError(f"mode must be one of {', '.join(OVERLAY_MODES)}, not {mode!r}")
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must be between 0 and 1, not {opacity!r}")
    image = np.asarray(image, dtype="float64")
    values = np.asarray(values, dtype="float64")
    if image.ndim == 2:
        image = image[..., None]
    if values.ndim == 3:
        values = values.sum(axis=-1)
    if image.ndim != 3 or values.ndim != 2:
        raise ValueError(f"image_overlay needs (h, w, c) arrays, got image {image.shape} "
                         f"and values {np.shape(values)}")
    if image.shape[:2] != values.shape:
        raise ValueError(f"image {image.shape[:2]} and attribution {values.shape} differ "
                         f"in height and width")
    fig = go.Figure(_image_trace(_unit_range(image)))
    m = float(np.nanmax(np.abs(values), initial=0.0))
    scale = m if m > 0 and math.isfinite(m) else 1.0
    if mode == "signed":
        z, zmin, colorscale = values / scale, -1.0, DIVERGING
        bar_title, ticks = "±1 = max", [-1, 0, 1]
    else:
        z, zmin, colorscale = np.abs(values) / scale, 0.0, SEQUENTIAL
        bar_title, ticks = "1 = max", [0, 1]
    fig.add_trace(go.Heatmap(
        z=z, zmin=zmin, zmax=1.0,
        colorscale=colorscale, opacity=opacity, customdata=values,
        # a slim bar: the page explains the scale once, the image keeps the width
        colorbar={"title": {"text": bar_title, "side": "right"}, "thickness": 8,
                  "tickvals": ticks, "len": 0.9},
        hovertemplate=("row %{y}, col %{x}<br>relative %{z:.2f}<br>attribution "
                       "%{customdata:.4g}<extra></extra>")))
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     autorange="reversed", scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(title=escape(title), height=300, plot_bgcolor="white")
    return margins.fixed_margins(fig, left=4, right=4, top=40, bottom=4)


def _unit_range(image: np.ndarray) -> np.ndarray:
    """All pixels rescaled together to 0..1 (keeps colours); constant or empty -> 0."""
    clean = np.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0)
    if not clean.size:
        return clean
    lo, hi = float(clean.min()), float(clean.max())
    return (clean - lo) / (hi - lo) if hi > lo else np.zeros_like(clean)


def _image_trace(image: np.ndarray) -> go.Heatmap | go.Image:
    channels = image.shape[-1]
    if channels in (3, 4):
        rgb = np.round(image[..., :3] * 255).astype("uint8")
        return go.Image(z=rgb, hoverinfo="skip", name="image")
    grey = image[..., 0] if channels == 1 else image.mean(axis=-1)
    return go.Heatmap(z=grey, colorscale="gray", zmin=0.0, zmax=1.0, showscale=False,
                      hoverinfo="skip", name="image")


# ---------------------------------------------------------------- text


FONT_PX = 12  # the token map's tick, title and note font size
ROW_PX, FRAME_PX = 44, 110  # the token map's height: 44 px a row of tokens, + 110 px of frame
MARGIN_TOP, MARGIN_BOTTOM = 50, 10
NOTE_LINE_PX, NOTE_CHARS = 18, 90  # a note line's height; characters per line (~580 px)
COLORBAR_TICKS = (-1.0, 0.0, 1.0)
FLAT_TOLERANCE = 1e-3  # max - min under this share of max |value|: one colour to the eye


def flat_note(values: np.ndarray, method: str = "",
              params: Mapping[str, object] | None = None) -> str:
    """Why a token map is one colour, in one sentence; "" when its values differ.

    ``values`` (n_tokens,) are flat when (max - min) <= `FLAT_TOLERANCE` x max |value| (or
    all 0); fewer than two finite values are never flat. ``method`` and ``params`` (the
    attribution's) name the cause when it is the gradient's norm (``token_reduce="norm"``).
    """
    v = np.asarray(values, dtype="float64").ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return ""
    top = float(np.abs(v).max())
    if top == 0:
        return "Every token gets 0: the explained output does not move with any of them here."
    if float(v.max() - v.min()) > FLAT_TOLERANCE * top:
        return ""
    text = ("Every token gets the same value (they differ by under 0.1 % of the largest), "
            "so the colours cannot rank them")
    if (params or {}).get("token_reduce") == "norm":
        label = method_label(method) if method else "This method"
        return (f"{text}: {label} with token_reduce 'norm' shows only the gradient's size, "
                f"and a model that averages its tokens gives every position the same "
                f"gradient; token_reduce 'dot' or Gradient × input weigh it by each "
                f"token's embedding.")
    return f"{text}: this method finds no difference between these tokens here."


def panel_figure(kind: str, sample: Any, attribution: Attribution, order: Sequence[int] | None,
                 title: str, *, opacity: float = 0.6, mode: str = "signed") -> go.Figure:
    """One method's panel for a sample of ``kind``: bars with features in ``order``
    (tabular, ``sample`` (f,)), the map over the image (``sample`` (h, w, c)), or the tokens'
    tiles with the note a flat map needs (text)."""
    if kind == "tabular":
        return attribution_bars(attribution, order or [], np.asarray(sample), title)
    if kind == "image":
        return image_overlay(np.asarray(sample), attribution.values, opacity=opacity,
                             mode=mode, title=title)
    return token_heatmap(attribution.feature_names or (), attribution.values, title=title,
                         note=flat_note(attribution.values, attribution.method,
                                        attribution.params))


def _note_lines(note: str) -> list[str]:
    return textwrap.wrap(note, NOTE_CHARS) if note else []


def token_heatmap(tokens: Sequence[str], values: np.ndarray, *, per_line: int = 8,
                  title: str = "", note: str | None = None) -> go.Figure:
    """Tokens in reading order, ``per_line`` per row, each cell coloured by its value.

    A ``go.Heatmap`` of ceil(n / per_line) rows; padding cells are NaN with empty text and
    no hover. Colours: values / max |value| on "RdBu_r", zmin=-1, zmax=1; the colour bar
    has three ticks (-max |value|, 0, +max |value|) on a bar as tall as the grid (``len`` in
    pixels), so they never stack. Each cell shows its token (escaped); hover adds the raw
    value. ``note`` is written under the grid (None: `flat_note` of the values, "" none).
    No tokens: an empty figure saying so.
    """
    if not isinstance(per_line, (int, np.integer)) or isinstance(per_line, bool) \
            or per_line < 1:
        raise ValueError(f"per_line must be a positive integer, not {per_line!r}")
    values = np.asarray(values, dtype="float64").ravel()
    if len(tokens) != values.size:
        raise ValueError(f"{len(tokens)} tokens but {values.size} values")
    n = values.size
    fig = go.Figure()
    fig.update_layout(title=escape(title), plot_bgcolor="white",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    if n == 0:
        fig.add_annotation(text="no tokens to show", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
        return fig.update_layout(height=160)
    rows = -(-n // per_line)
    lines = _note_lines(flat_note(values) if note is None else note)
    m = float(np.nanmax(np.abs(values), initial=0.0))
    scale = m if m > 0 and math.isfinite(m) else 1.0
    z = np.full(rows * per_line, np.nan)
    z[:n] = values / scale
    raw = np.full(rows * per_line, np.nan)
    raw[:n] = values
    text = [escape(t) for t in tokens] + [""] * (rows * per_line - n)
    fig.add_trace(go.Heatmap(
        z=z.reshape(rows, per_line), customdata=raw.reshape(rows, per_line),
        text=np.array(text, dtype=object).reshape(rows, per_line).tolist(),
        texttemplate="%{text}", colorscale=DIVERGING, zmin=-1.0, zmax=1.0,
        xgap=3, ygap=3, hoverongaps=False,
        colorbar=_token_colorbar(ROW_PX * rows + FRAME_PX - MARGIN_TOP - MARGIN_BOTTOM),
        hovertemplate="%{text}<br>attribution %{customdata:.4g}<extra></extra>"))
    extra = NOTE_LINE_PX * len(lines) + 6 if lines else 0
    if lines:
        fig.add_annotation(text="<br>".join(escape(line) for line in lines), showarrow=False,
                           x=0, y=0, xref="paper", yref="paper", xanchor="left",
                           yanchor="top", yshift=-6, align="left",
                           font={"size": FONT_PX, "color": "#555555"})
    fig.update_layout(height=ROW_PX * rows + FRAME_PX + extra)
    # exact margins: the colour bar's length is the plot's height between them
    return margins.fixed_margins(fig, left=10, right=10, top=MARGIN_TOP,
                                 bottom=MARGIN_BOTTOM + extra, safety=0)


def _token_colorbar(plot_px: int) -> dict:
    """The token map's colour bar: the full height of the plot area (``plot_px``, no
    padding, no title taking a share of it), three ticks that say what the ends mean, so
    they stand ``plot_px`` / 2 apart (47 px for one row of tokens)."""
    return {"thickness": 12, "lenmode": "pixels", "len": plot_px, "ypad": 0,
            "tickmode": "array", "tickvals": list(COLORBAR_TICKS),
            "ticktext": ["\u2212max |value|", "0", "+max |value|"],
            "tickfont": {"size": FONT_PX}}


# ---------------------------------------------------------------- summaries


def timing_bars(seconds: Mapping[str, float]) -> go.Figure:
    """Wall time of each method (registry order), labelled in seconds."""
    methods = ordered_methods(seconds)
    times = [float(seconds[m]) for m in methods]
    fig = go.Figure(go.Bar(
        x=[escape(method_label(m)) for m in methods], y=times, marker_color="#4c78a8",
        text=[f"{t:.2f} s" for t in times], textposition="outside", customdata=methods,
        hovertemplate="%{x}: %{y:.3f} s<extra></extra>"))
    top = max(times, default=0.0)
    return fig.update_layout(yaxis_title="seconds", height=280, showlegend=False,
                             yaxis_range=[0, top * 1.2 if top > 0 else 1],
                             margin={"l": 10, "r": 10, "t": 30, "b": 10})


HEAT_ANGLE = 40  # the agreement heatmap's column labels, rotated (degrees)


def agreement_heatmap(matrix: pd.DataFrame, title: str = "",
                      kinds: Mapping[str, str] | None = None) -> go.Figure:
    """A square method x method matrix (e.g. `Agreement.spearman`) as an annotated heatmap
    on "RdBu_r" from -1 to 1; NaN cells read "n/a". Rows and columns named by label.

    ``kinds`` (method -> output kind, `Agreement.kinds`): the methods are grouped by kind
    (contributions first, each group in the matrix's order), so each kind is one block on
    the diagonal, and a cell whose two methods differ in kind reads "not compared" (hover:
    "not compared: sensitivity vs contribution") instead. The method labels sit under the
    matrix and the title above it: long (rotated) labels at the top ran into the title."""
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"agreement_heatmap needs a square matrix, got {matrix.shape}")
    kinds = kinds or {}
    if kinds:
        rank = {kind: i for i, kind in enumerate(OUTPUTS)}
        grouped = sorted(matrix.index, key=lambda m: rank.get(kinds.get(m), len(rank)))
        matrix = matrix.loc[grouped, grouped]
    z = matrix.to_numpy(dtype="float64")
    rows = [escape(method_label(str(m))) for m in matrix.index]
    cols = [escape(method_label(str(m))) for m in matrix.columns]
    text, hover = [], []
    for a, row in zip(matrix.index, z, strict=True):
        text.append([])
        hover.append([])
        for b, v in zip(matrix.columns, row, strict=True):
            ka, kb = kinds.get(a), kinds.get(b)
            apart = ka is not None and kb is not None and ka != kb
            text[-1].append("not<br>compared" if apart else "n/a" if math.isnan(v)
                            else _fmt2(v))
            hover[-1].append(f"{NOT_COMPARED}: {ka} vs {kb}" if apart else text[-1][-1])
    fig = go.Figure(go.Heatmap(
        z=z, x=cols, y=rows, text=text, customdata=hover, texttemplate="%{text}",
        colorscale=DIVERGING, zmin=-1.0, zmax=1.0, xgap=2, ygap=2, hoverongaps=False,
        colorbar={"title": {"text": "Spearman"}, "thickness": 12},
        hovertemplate="%{y} vs %{x}: %{customdata}<extra></extra>"))
    # constrain="domain": the square matrix shrinks its axes, so the labels stay beside it
    fig.update_xaxes(side="bottom", showgrid=False, constrain="domain", tickangle=-HEAT_ANGLE)
    fig.update_yaxes(autorange="reversed", showgrid=False, scaleanchor="x", scaleratio=1,
                     constrain="domain")
    fig.update_layout(
        title={"text": escape(title), "yref": "paper", "y": 1, "yanchor": "bottom",
               "pad": {"b": 8}}, plot_bgcolor="white")
    # margins from the labels, not automargin (200 ms a draw here: see `margins`)
    _, below = margins.tick_labels_px(cols, HEAT_ANGLE)
    bottom = margins.AXIS_PAD + below
    fig.update_layout(height=max(260, 70 * len(rows) + 50 + int(bottom)))
    return margins.fixed_margins(fig, left=margins.AXIS_PAD + margins.widest_px(rows),
                                 right=10, top=40, bottom=bottom)


def _fmt2(value: float) -> str:
    return f"{value + 0.0:.2f}".replace("-0.00", "0.00").replace("-", "\u2212")
