"""Every row's prediction, and the table a sample is picked from, without Streamlit.

`predictions` turns the model output (N, k) and the dataset's labels into per-row predicted
class, confidence and correctness, read exactly as the metrics page reads them (the pieces
come from `components.data.evaluation`). `sample_table` and `filter_table` make the browsable
table; `map_colors` colours the 2-D map (`components.inspect.sample_map` places the rows);
`row_from_query` turns a ``?row=`` query parameter into a row number.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from components.data.checks import Dataset
from components.data.evaluation import (
    THRESHOLD,
    class_indices,
    class_probabilities,
    multilabel_targets,
    resolve_class_names,
)
from components.errors import DataError, quote_names
from components.model.task import TASKS

COLOR_BY: tuple[str, ...] = ("prediction", "error", "confidence")
THUMBNAIL_PX = 48
NO_LABEL = -1  # truth of a row whose label cell is empty (binary / multiclass)


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields have no single truth value
class Predictions:
    """Every row's prediction, in the same order as the dataset.

    ``scores`` (N, k) float32: the model output as is. ``predicted`` (N,): class index for
    binary/multiclass (binary: positive when its probability >= 0.5), the top-scoring label's
    index for multilabel (argmax: a multilabel model may predict several labels; the table
    and the map show the most probable one), the value (float) for regression.
    ``confidence`` (N,): probability of the predicted class (binary: max(p, 1 - p)); NaN for
    regression. ``truth``: class indices (N,) with -1 for an empty label cell, 0/1 rows (N, k)
    for multilabel, values (N,) float with NaN for empty cells for regression; None without
    labels. ``correct`` (N,) bool: predicted == truth (multilabel: the top label is one of
    the true labels; an empty label is never correct); None without labels and for
    regression, which has ``abs_error`` |predicted - truth| instead.
    """

    scores: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    truth: np.ndarray | None
    correct: np.ndarray | None
    class_names: tuple[str, ...]
    task: str = "multiclass"
    abs_error: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.predicted)

    @property
    def has_labels(self) -> bool:
        return self.truth is not None


def predictions(scores: ArrayLike, labels: ArrayLike | None, task: str,
                class_names: Sequence[str] | None = None) -> Predictions:
    """Read the model output ``scores`` (N, k) for ``task`` against ``labels`` (or None).

    Labels are read as `evaluate` reads them (class names or indices; 0/1 rows for
    multilabel; numbers for regression); one the model cannot predict raises `DataError`.
    Empty label cells are allowed here (the row has no truth) so the picker still works on a
    partly labelled file.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    scores = np.asarray(scores, dtype=np.float32)
    scores = scores.reshape(len(scores), -1) if scores.ndim != 2 else scores
    n = len(scores)
    y = None if labels is None else np.asarray(labels)
    if y is not None and len(y) != n:
        raise DataError(f"{len(y)} labels for {n} predictions")
    if y is not None and task != "multilabel" and y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if task == "regression":
        return _regression(scores, y)
    probs = class_probabilities(scores, task)
    names = resolve_class_names(class_names, probs.shape[1])
    if task == "binary":
        predicted = (probs[:, 1] >= THRESHOLD).astype(np.int64)
    else:
        predicted = probs.argmax(axis=1).astype(np.int64) if n else np.zeros(0, np.int64)
    confidence = probs[np.arange(n), predicted]
    truth = correct = None
    if y is not None and task == "multilabel":
        if y.shape != scores.shape:
            raise DataError(f"multi-label needs one 0/1 column per model output: labels are "
                            f"{y.shape}, outputs are {scores.shape}")
        truth = multilabel_targets(y)
        correct = truth[np.arange(n), predicted] == 1
    elif y is not None:
        missing = np.asarray(pd.isna(y), dtype=bool)
        truth = np.full(n, NO_LABEL, dtype=np.int64)
        if (~missing).any():
            truth[~missing] = class_indices(y[~missing], names)
        correct = truth == predicted
    return Predictions(scores=scores, predicted=predicted, confidence=confidence,
                       truth=truth, correct=correct, class_names=names, task=task)


def _regression(scores: np.ndarray, y: np.ndarray | None) -> Predictions:
    if scores.shape[1] != 1:
        raise DataError(f"regression needs one model output, the model gives {scores.shape[1]}")
    predicted = scores[:, 0].astype(np.float64)
    truth = abs_error = None
    if y is not None:
        if y.ndim != 1:
            raise DataError(f"regression needs one target per row, got labels of shape "
                            f"{y.shape}")
        truth = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(truth) & ~np.asarray(pd.isna(y), dtype=bool))
        if len(bad):
            raise DataError(f"regression targets must be numbers; row {bad[0] + 1} holds "
                            f"'{y[bad[0]]}'")
        abs_error = np.abs(predicted - truth)
    return Predictions(scores=scores, predicted=predicted,
                       confidence=np.full(len(scores), np.nan), truth=truth, correct=None,
                       class_names=(), task="regression", abs_error=abs_error)


# ---------------------------------------------------------------- the table


def sample_table(pred: Predictions, dataset: Dataset, *,
                 max_feature_columns: int = 6, thumbnails: bool = True) -> pd.DataFrame:
    """One row per sample, index ``row`` (0-based dataset row).

    Columns: "prediction" (class name, or the value for regression), "label" (if labels:
    class name, value, or the true labels joined by ", " for multilabel; empty cells stay
    empty), "confidence" (not for regression), "correct" (bool, if labels) or "abs error"
    (regression with labels); then the first ``max_feature_columns`` feature values for
    tabular data, "text" (the raw string) for text, "thumbnail" (PNG data URI) for images
    (``thumbnails=False`` leaves them out: `with_thumbnails` adds them to one page of rows).
    """
    if dataset.x is None:
        raise DataError("the dataset did not pass its checks; see the Model & data page")
    n = len(pred)
    if len(dataset.x) != n:
        raise DataError(f"{n} predictions for {len(dataset.x)} dataset rows")
    names = np.asarray((*pred.class_names, None), dtype=object)  # truth -1 (no label) -> None
    regression = pred.task == "regression"
    columns: dict[str, Any] = {"prediction": pred.predicted if regression
                               else names[pred.predicted]}
    if pred.truth is not None:
        columns["label"] = (pred.truth if regression else _label_text(pred.truth, names))
    if not regression:
        columns["confidence"] = pred.confidence
    if pred.correct is not None:
        columns["correct"] = pred.correct
    if pred.abs_error is not None:
        columns["abs error"] = pred.abs_error
    columns |= _data_columns(dataset, max_feature_columns, set(columns), thumbnails)
    return pd.DataFrame(columns, index=pd.RangeIndex(n, name="row"))


def with_thumbnails(page: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """``page`` (rows of `sample_table`, index = dataset row) with its "thumbnail" column:
    an image dataset's thumbnails made for these rows only (10,000 took seconds)."""
    if dataset.kind != "image" or "thumbnail" in page.columns:
        return page
    return page.assign(thumbnail=[thumbnail_uri(dataset.x[int(r)]) for r in page.index])


def page_count(n_rows: int, page_rows: int) -> int:
    """Pages of ``page_rows`` needed for ``n_rows`` (at least 1, an empty table's page)."""
    return max(1, -(-n_rows // page_rows))


def page_showing(index: pd.Index, row: int, page_rows: int) -> int | None:
    """The 1-based page of a table whose ``index`` (dataset rows, in shown order) holds
    ``row``; None when the filters hide it."""
    if row not in index:
        return None
    return int(index.get_loc(row)) // page_rows + 1


def page_slice(n_rows: int, page: int, page_rows: int) -> slice:
    """Positions of 1-based ``page`` (clipped to the pages there are) in a table of
    ``n_rows``."""
    page = min(max(int(page), 1), page_count(n_rows, page_rows))
    start = (page - 1) * page_rows
    return slice(start, min(start + page_rows, n_rows))


def _label_text(truth: np.ndarray, names: np.ndarray) -> np.ndarray:
    if truth.ndim == 2:  # multilabel: the names of every true label
        return np.array([", ".join(names[np.flatnonzero(row)]) for row in truth], dtype=object)
    return names[truth]


def _data_columns(dataset: Dataset, max_features: int, taken: set[str],
                  thumbnails: bool = True) -> dict[str, Any]:
    x = dataset.x
    if dataset.kind == "text":
        return {"text": np.asarray(x, dtype=object)}
    if dataset.kind == "image":
        return {"thumbnail": [thumbnail_uri(image) for image in x]} if thumbnails else {}
    flat = np.asarray(x).reshape(len(x), -1)
    names = list(dataset.feature_names or [])
    out = {}
    for j in range(min(max(max_features, 0), flat.shape[1])):
        name = str(names[j]) if j < len(names) else f"f{j}"
        out[f"{name} (feature)" if name in taken else name] = flat[:, j]
    return out


def thumbnail_uri(image: ArrayLike, size: int = THUMBNAIL_PX) -> str:
    """A PNG data URI of ``image`` (h, w), (h, w, 1), (h, w, 3) or (h, w, 4) for a table cell.

    Values are scaled from the image's own min..max to 0..255 (a constant image is black).
    Small images grow by a whole factor, nearest-neighbour, to about ``size`` px on the long
    side (16 -> 48); large ones shrink to ``size``. One or other channel counts give a
    greyscale picture (the channel mean); 3 or 4 give RGB.
    """
    from PIL import Image  # deferred: only image datasets need it

    arr = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if arr.ndim == 3:
        arr = arr[..., :3] if arr.shape[-1] in (3, 4) else arr.mean(axis=-1)
    if arr.ndim != 2 and not (arr.ndim == 3 and arr.shape[-1] == 3):
        raise ValueError(f"an image must be (h, w) or (h, w, c), got shape {np.shape(image)}")
    lo, hi = float(arr.min()), float(arr.max())
    scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
    picture = Image.fromarray(np.round(scaled).astype(np.uint8))
    w, h = picture.size
    longest = max(w, h)
    if longest < size:
        factor = max(1, round(size / longest))
        picture = picture.resize((w * factor, h * factor), Image.Resampling.NEAREST)
    elif longest > size:
        scale = size / longest
        picture = picture.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                 Image.Resampling.BOX)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def subset_note(*, misclassified_only: bool = False, classes: Sequence[str] | None = None,
                confidence: tuple[float, float] | None = None) -> str:
    """The filters of `filter_table` in words, "" when none is set: "misclassified only ·
    predicted class_0 or class_2 · confidence 50–100 %"."""
    parts = ["misclassified only"] if misclassified_only else []
    if classes:
        parts.append("predicted " + " or ".join(str(c) for c in classes))
    if confidence is not None and tuple(confidence) != (0.0, 1.0):
        low, high = (round(100 * float(v)) for v in confidence)
        parts.append(f"confidence {low}\u2013{high} %")
    return " \u00b7 ".join(parts)


def filter_table(table: pd.DataFrame, *, misclassified_only: bool = False,
                 classes: Sequence[str] | None = None,
                 confidence: tuple[float, float] | None = None,
                 sort_by: str | None = None, descending: bool = True) -> pd.DataFrame:
    """The rows of a `sample_table` that pass every filter, optionally sorted.

    ``misclassified_only``: rows with a label that the model got wrong (needs "correct").
    ``classes``: predicted class names to keep; None or empty keeps every class.
    ``confidence``: inclusive (low, high). ``sort_by``: any column but "thumbnail", or "row";
    a stable sort, empty cells last. A filter the table cannot apply raises ValueError.
    """
    mask = np.ones(len(table), dtype=bool)
    if misclassified_only:
        if "correct" not in table:
            raise ValueError("misclassified_only needs labels and a classification task; this "
                             "table has no 'correct' column")
        labelled = table["label"].notna().to_numpy() if "label" in table else True
        mask &= ~table["correct"].to_numpy(dtype=bool) & labelled
    if classes:
        if pd.api.types.is_numeric_dtype(table["prediction"]):
            raise ValueError("predictions are values (regression), not classes; filter by "
                             "class does not apply")
        mask &= table["prediction"].astype(str).isin([str(c) for c in classes]).to_numpy()
    if confidence is not None:
        if "confidence" not in table:
            raise ValueError("this table has no 'confidence' column (regression)")
        low, high = (float(v) for v in confidence)
        if low > high:
            raise ValueError(f"confidence range ({low}, {high}) is empty: low > high")
        values = table["confidence"].to_numpy(dtype=float)
        mask &= (values >= low) & (values <= high)
    out = table[mask]
    if sort_by is None:
        return out
    allowed = ["row", *(c for c in table.columns if c != "thumbnail")]
    if sort_by not in allowed:
        raise ValueError(f"cannot sort by {sort_by!r}; expected one of {quote_names(allowed)}")
    if sort_by == "row":
        return out.sort_index(ascending=not descending, kind="stable")
    return out.sort_values(sort_by, ascending=not descending, kind="stable",
                           na_position="last")


def map_colors(pred: Predictions, color_by: str) -> np.ndarray:
    """The ``color`` array `components.plots.sample_map.sample_map` takes for ``color_by``.

    prediction: predicted class indices (the value for regression); error: ``correct`` (bool)
    or the absolute error for regression; confidence: the confidence. "error" without labels
    raises ValueError.
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"unknown color_by {color_by!r}; expected one of {', '.join(COLOR_BY)}")
    if color_by == "prediction":
        return pred.predicted
    if color_by == "confidence":
        if pred.task == "regression":
            raise ValueError("regression predictions have no confidence")
        return pred.confidence
    error = pred.abs_error if pred.task == "regression" else pred.correct
    if error is None:
        raise ValueError("colouring by error needs labels; the dataset has none")
    return error


# ---------------------------------------------------------------- picking a row


def row_from_query(value: str | Sequence[str] | None, n_rows: int) -> int | None:
    """A ``?row=17`` query value as a row number in 0..n_rows-1; None if missing or invalid."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        return None
    row = int(text)
    return row if row < n_rows else None
