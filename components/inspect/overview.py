"""What the overview page shows, computed from a model summary and a dataset.

Plain values in, plain values out: the page only lays these out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.data.checks import Dataset
from components.model.summary import ModelSummary
from components.model.task import TASK_LABELS

PREVIEW_ROWS = 200
THUMBNAILS = 24


@dataclass(frozen=True)
class Overview:
    """Headline figures, the layer table, and a preview of the data with its checks."""

    facts: dict[str, str]  # short figures, shown as metrics
    details: dict[str, str]  # longer text: task, shapes
    layers: pd.DataFrame
    data_facts: dict[str, str] | None
    data_details: dict[str, str] | None
    table: pd.DataFrame | None  # tabular and text data, first rows
    thumbnails: np.ndarray | None  # images scaled to uint8, (n, H, W, C)
    captions: list[str] | None


def build_overview(summary: ModelSummary, task: str, dataset: Dataset | None) -> Overview:
    """Assemble the page's content; ``task`` is the detected or user-chosen task."""
    return Overview(
        facts=model_facts(summary),
        details=model_details(summary, task),
        layers=layer_table(summary),
        data_facts=None if dataset is None else data_facts(dataset),
        data_details=None if dataset is None else {"File": dataset.filename},
        table=None if dataset is None or dataset.preview is None
        else dataset.preview.head(PREVIEW_ROWS),
        thumbnails=None if dataset is None else thumbnails(dataset),
        captions=None if dataset is None else captions(dataset),
    )


def model_facts(summary: ModelSummary) -> dict[str, str]:
    return {
        "Parameters": f"{summary.total_params:,}",
        "Trainable": f"{summary.trainable_params:,}",
        "Non-trainable": f"{summary.total_params - summary.trainable_params:,}",
        "Layers": str(len(summary.layers)),
    }


def model_details(summary: ModelSummary, task: str) -> dict[str, str]:
    return {
        "Task": TASK_LABELS.get(task, task),
        "Inputs": "; ".join(f"{shape_text(s)} {d}" for s, d in zip(summary.inputs,
                                                             summary.input_dtypes, strict=True)),
        "Outputs": "; ".join(shape_text(s) for s in summary.outputs),
    }


def layer_table(summary: ModelSummary) -> pd.DataFrame:
    """One row per layer, nested layers indented under their submodel (as in Keras' summary)."""
    rows = [{
        "Layer": "    " * row.depth + row.name,
        "Type": row.class_name,
        "Output shape": shape_text(row.output_shape),
        "Params": row.params,
        "Trainable params": row.trainable_params,
        "Inside": row.parent or "",
    } for row in summary.layers]
    return pd.DataFrame(rows, columns=["Layer", "Type", "Output shape", "Params",
                                       "Trainable params", "Inside"])


def data_facts(dataset: Dataset) -> dict[str, str]:
    return {
        "Kind": dataset.kind,
        "Samples": f"{dataset.n_rows:,}",
        "Label": dataset.label_name or "none",
        "Usable": "yes" if dataset.ok else "no: see the checks",
    }


def thumbnails(dataset: Dataset, limit: int = THUMBNAILS) -> np.ndarray | None:
    """The first images scaled to 0..255 uint8 over the whole shown batch, (n, H, W, C)."""
    if dataset.kind != "image" or dataset.x is None:
        return None
    imgs = dataset.x[:limit].astype("float32")
    lo, hi = float(imgs.min()), float(imgs.max())
    scaled = (imgs - lo) / (hi - lo) if hi > lo else np.zeros_like(imgs)
    return (scaled * 255).round().astype("uint8")


def captions(dataset: Dataset, limit: int = THUMBNAILS) -> list[str] | None:
    if dataset.kind != "image" or dataset.x is None:
        return None
    n = min(limit, len(dataset.x))
    if dataset.labels is None:
        return [f"#{i}" for i in range(n)]
    return [f"#{i} · label {dataset.labels[i]}" for i in range(n)]


def shape_text(shape: Any) -> str:
    """A Keras shape for people: ``[None, 13]`` reads "(batch, 13)" (the leading None is the
    batch axis), another None "any" (a free length); a list of shapes is joined; None is a
    layer shared at several shapes; [] (an input layer reads no tensor) is a dash."""
    if shape is None:
        return "shared (several)"
    if isinstance(shape, (list, tuple)) and not shape:
        return "—"
    if isinstance(shape[0], (list, tuple)):
        return ", ".join(shape_text(s) for s in shape)
    dims = ["batch" if d is None and i == 0 else "any" if d is None else str(d)
            for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
