"""Pure figure builders for the metrics page: arrays in, a plotly Figure out, no Streamlit.

Curves come from `components.data.evaluation`, histories from
`components.inspect.history`. Class names, curve labels and history column names are user
text: they reach Plotly (which reads HTML in labels) through `components.plots.text.escape`;
click data stays indices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from plotly.subplots import make_subplots

from components.data.evaluation import CalibrationCurve, PrCurve, RocCurve
from components.inspect.history import TrainingHistory, best_epoch
from components.plots.text import escape

TRAIN_COLOR, VAL_COLOR, BEST_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"
GUIDE = {"color": "#999999", "dash": "dash", "width": 1}  # chance / ideal reference lines


def training_curves(history: TrainingHistory, best_metric: str | None = "val_loss") -> go.Figure:
    """One subplot per base metric (loss first), train solid and validation dashed.

    A star and a dotted vertical line mark the best epoch of ``best_metric``; no mark when
    ``best_metric`` is None or the history lacks it (e.g. trained without validation).
    """
    frame = history.frame
    bases = list(dict.fromkeys(c.removeprefix("val_") for c in frame.columns))
    bases.sort(key=lambda b: b != "loss")  # stable: loss first, the rest in file order
    cols = min(len(bases), 2)
    rows = math.ceil(len(bases) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[escape(b) for b in bases])
    x = frame.index.to_numpy()
    for i, base in enumerate(bases):
        cell = {"row": i // cols + 1, "col": i % cols + 1}
        for name, color, dash in ((base, TRAIN_COLOR, "solid"),
                                  (f"val_{base}", VAL_COLOR, "dash")):
            if name in frame.columns:
                fig.add_trace(go.Scatter(x=x, y=frame[name].to_numpy(), name=escape(name),
                                         mode="lines+markers",
                                         line={"color": color, "dash": dash}), **cell)
        fig.update_xaxes(title_text="epoch", **cell)
    best = None if best_metric is None else best_epoch(history, best_metric)
    if best is not None:
        i = bases.index(best_metric.removeprefix("val_"))
        cell = {"row": i // cols + 1, "col": i % cols + 1}
        fig.add_trace(go.Scatter(
            x=[best], y=[float(frame.at[best, best_metric])], mode="markers",
            name=f"best {escape(best_metric)}: epoch {best}",
            marker={"symbol": "star", "size": 14, "color": BEST_COLOR}), **cell)
        for j in range(len(bases)):
            fig.add_vline(x=best, line={"color": BEST_COLOR, "dash": "dot", "width": 1},
                          row=j // cols + 1, col=j % cols + 1)
    return fig.update_layout(height=320 * rows, hovermode="x unified")


def confusion_matrix_figure(counts: ArrayLike, class_names: Sequence[str],
                            normalize: bool) -> go.Figure:
    """Counts (k, k), rows = true, columns = predicted, as a grid of square scatter markers.

    A scatter, not a heatmap: Streamlit's on_select reports clicked scatter points. Point
    order is row-major (true 0: predicted 0..k-1, true 1: ...); each point's ``customdata``
    is [true_idx, pred_idx]. ``normalize`` shows each row as fractions of its true class.
    """
    if not isinstance(normalize, bool):
        raise ValueError(f"normalize must be True or False, got {normalize!r}")
    counts = np.asarray(counts)
    k = len(class_names)
    if counts.shape != (k, k):
        raise ValueError(f"counts of shape {counts.shape} for {k} class names; expected ({k}, {k})")
    row_sums = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, row_sums, out=np.zeros(counts.shape), where=row_sums > 0)
    values = fractions if normalize else counts
    true_idx, pred_idx = (a.ravel() for a in np.indices((k, k)))
    flat, top = values.ravel(), (1.0 if normalize else max(int(counts.max()), 1))
    cell = max(24, min(80, 480 // max(k, 1)))  # px per class: readable for 2..20 classes
    names = [escape(n) for n in class_names]  # tick and hover text; clicks carry indices
    fig = go.Figure(go.Scatter(
        x=pred_idx, y=true_idx, mode="markers+text",
        # plain lists: a numpy array travels as a typed array and comes back from a click
        # as {"0": t, "1": p}
        customdata=np.column_stack([true_idx, pred_idx]).tolist(),
        text=[f"{v:.2f}" if normalize else f"{int(v)}" for v in flat],
        textfont={"color": ["white" if v > top / 2 else "black" for v in flat]},
        hovertext=[f"true {names[t]}, predicted {names[p]}: {counts[t, p]} "
                   f"({fractions[t, p]:.1%} of true {names[t]})"
                   for t, p in zip(true_idx, pred_idx, strict=True)],
        hoverinfo="text",
        marker={"symbol": "square", "size": cell * 0.92, "color": flat, "cmin": 0,
                "cmax": top, "colorscale": "Blues", "showscale": True},
    ))
    axis = {"tickmode": "array", "tickvals": list(range(k)), "ticktext": names,
            "range": [-0.5, k - 0.5], "showgrid": False, "zeroline": False}
    fig.update_xaxes(title_text="predicted", side="top", **axis)
    fig.update_yaxes(title_text="true", autorange=False, **{**axis, "range": [k - 0.5, -0.5]},
                     scaleanchor="x")
    return fig.update_layout(height=cell * k + 160, clickmode="event+select")


def roc_figure(curves: Sequence[RocCurve]) -> go.Figure:
    """One ROC line per curve (false positive rate vs true positive rate), then chance."""
    fig = go.Figure([go.Scatter(x=c.fpr, y=c.tpr, mode="lines",
                                name=f"{escape(c.label)} (AUC {c.auc:.3f})") for c in curves])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=GUIDE))
    return _unit_axes(fig, "false positive rate", "true positive rate")


def pr_figure(curves: Sequence[PrCurve]) -> go.Figure:
    """One precision-recall line per curve (recall on x)."""
    fig = go.Figure([go.Scatter(x=c.recall, y=c.precision, mode="lines",
                                name=f"{escape(c.label)} (AP {c.average_precision:.3f})")
                     for c in curves])
    return _unit_axes(fig, "recall", "precision")


def calibration_figure(curve: CalibrationCurve) -> go.Figure:
    """Observed frequency against mean predicted probability per bin, then the diagonal."""
    fig = go.Figure(go.Scatter(x=curve.prob_pred, y=curve.prob_true, mode="lines+markers",
                               name=escape(curve.label)))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                             line=GUIDE))
    return _unit_axes(fig, "mean predicted probability", "observed frequency")


def pred_vs_true_figure(y_true: ArrayLike, y_pred: ArrayLike) -> go.Figure:
    """Regression: one point per sample (true on x, predicted on y) and the y = x line."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    fig = go.Figure(go.Scatter(x=y_true, y=y_pred, mode="markers", name="samples",
                               marker={"opacity": 0.6}))
    if y_true.size:
        lo = float(min(y_true.min(), y_pred.min()))
        hi = float(max(y_true.max(), y_pred.max()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                                 line=GUIDE))
    return fig.update_layout(xaxis_title="true", yaxis_title="predicted")


def residual_histogram(residuals: ArrayLike) -> go.Figure:
    """Regression residuals (predicted - true) as a histogram, with a line at 0."""
    fig = go.Figure(go.Histogram(x=np.asarray(residuals, dtype=float), name="residuals"))
    fig.add_vline(x=0, line=GUIDE)
    return fig.update_layout(xaxis_title="predicted - true", yaxis_title="samples",
                             showlegend=False)


def _unit_axes(fig: go.Figure, x_title: str, y_title: str) -> go.Figure:
    fig.update_xaxes(title_text=x_title, range=[0, 1.01])
    fig.update_yaxes(title_text=y_title, range=[0, 1.01])
    return fig


def clicked_cell(points: list[dict] | None) -> tuple[int, int] | None:
    """(true, predicted) class indices of the first clicked confusion cell, or None.

    A point's ``customdata`` comes back as a list, or, where Plotly sent a typed array, as
    an object keyed "0", "1"; values may be numbers or strings. All come back here as ints.
    """
    for point in points or []:
        custom = point.get("customdata")
        if isinstance(custom, dict):
            custom = [custom.get("0"), custom.get("1")]
        if isinstance(custom, (list, tuple)) and len(custom) == 2:
            try:
                return int(float(custom[0])), int(float(custom[1]))
            except (TypeError, ValueError):
                continue
    return None
