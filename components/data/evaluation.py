"""Score a model's outputs against labels; every number comes from scikit-learn.

`evaluate` takes the model output (N, k) as `make_predict_fn` returns it and the labels as the
dataset holds them (class indices, class names, 0/1 rows for multi-label, numbers for
regression), and returns one `Evaluation` the metrics page draws from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from components.data.checks import Dataset
from components.errors import DataError, quote_names
from components.model.predict import PredictFn
from components.model.task import TASKS

THRESHOLD = 0.5  # sigmoid outputs at or above this count as the positive class
CALIBRATION_BINS = 10
# Scoring a dataset goes in chunks of about this much input (100,000 wine rows: 1 chunk;
# 10,000 16x16 images: 1; 10,000 224x224x3 float images: 1,800 MiB in 113 chunks).
CHUNK_BYTES = 16 * 2**20
MIN_CHUNK_ROWS = 16


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields have no single truth value
class RocCurve:
    """One class against the rest: false/true positive rates (0..1) and the area under."""

    label: str
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float


@dataclass(frozen=True, eq=False)
class PrCurve:
    """One class against the rest: recall and precision (0..1) and average precision."""

    label: str
    recall: np.ndarray
    precision: np.ndarray
    average_precision: float


@dataclass(frozen=True, eq=False)
class CalibrationCurve:
    """Per non-empty bin of 10 uniform bins: mean predicted probability, observed frequency.

    ``label`` says what is calibrated: the positive class, or "top class" for multi-class
    (is the most probable class right, against its probability).
    """

    label: str
    prob_pred: np.ndarray
    prob_true: np.ndarray


@dataclass(frozen=True, eq=False)
class Curves:
    """ROC and PR per class (binary: the positive class only), calibration if it applies."""

    roc: tuple[RocCurve, ...]
    pr: tuple[PrCurve, ...]
    calibration: CalibrationCurve | None


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What the metrics page shows, for one task.

    ``y_true``/``y_pred``: class indices (N,) for binary/multiclass, 0/1 (N, k) for
    multilabel, numbers (N,) for regression. ``confidence`` (N,): probability of the predicted
    class; multilabel: mean over labels of the probability of the predicted side; None for
    regression. ``confusion``: counts, rows = true class, columns = predicted class.
    ``residuals`` (N,) = y_pred - y_true, regression only.
    """

    task: str
    summary: dict[str, float]
    y_true: np.ndarray
    y_pred: np.ndarray
    confidence: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    per_class: pd.DataFrame | None = None
    confusion: np.ndarray | None = None
    curves: Curves | None = None
    residuals: np.ndarray | None = None


def evaluate(y_true: ArrayLike, scores: ArrayLike, task: str,
             class_names: Sequence[str] | None = None) -> Evaluation:
    """Score ``scores`` (N, k) from the model against ``y_true`` for ``task``.

    ``task`` is one of multiclass, binary, multilabel, regression. ``class_names`` name the
    model's classes (labels that are names map through them; numeric labels are indices).
    A label the model cannot predict raises `DataError` naming the value.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    scores = np.asarray(scores, dtype="float64")
    scores = scores.reshape(len(scores), -1) if scores.ndim != 2 else scores
    y = np.asarray(y_true)
    if len(y) != len(scores):
        raise DataError(f"{len(y)} labels for {len(scores)} predictions")
    if len(y) == 0:
        raise DataError("there are no labelled rows to evaluate")
    if task == "regression":
        return _regression(y, scores)
    if task == "multilabel":
        return _multilabel(y, scores, class_names)
    return _single_label(y, scores, task, class_names)


def evaluate_dataset(predict: PredictFn, dataset: Dataset, task: str,
                     class_names: tuple[str, ...] | None = None) -> Evaluation:
    """Predict every row through the model's compiled, batched path, in streamed chunks
    (`score_in_chunks`); score against labels."""
    _check_scorable(dataset)
    return evaluate(dataset.labels, score_in_chunks(predict, dataset.x), task, class_names)


def evaluate_scores(scores: ArrayLike, dataset: Dataset, task: str,
                    class_names: tuple[str, ...] | None = None) -> Evaluation:
    """`evaluate_dataset` for scores already computed (N, k), one row per dataset row."""
    _check_scorable(dataset)
    return evaluate(dataset.labels, scores, task, class_names)


def _check_scorable(dataset: Dataset) -> None:
    if dataset.x is None:
        raise DataError("the dataset did not pass its checks; see the Model & data page")
    if dataset.labels is None:
        raise DataError("the dataset has no label column, so there is nothing to score against")


def chunk_rows(x: np.ndarray, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Rows per chunk: about ``chunk_bytes`` of input, at least `MIN_CHUNK_ROWS`."""
    row_bytes = max(1, int(np.asarray(x[:1]).nbytes)) if len(x) else 1
    return max(MIN_CHUNK_ROWS, chunk_bytes // row_bytes)


def score_in_chunks(predict: PredictFn, x: np.ndarray, *, rows: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """``predict`` over ``x`` in chunks of ``rows`` (`chunk_rows` by default): every call
    stays small (a worker call's time and memory limits hold for each, and 10,000 images
    never travel to a worker in one message); ``progress(done, total)`` after each chunk.
    Returns the chunks' outputs concatenated (N, k)."""
    n = len(x)
    rows = rows or chunk_rows(x)
    if n <= rows:  # one chunk: the array itself, not a copy or view of it
        scores = np.asarray(predict(x))
        if progress is not None:
            progress(n, n)
        return scores
    parts = []
    for start in range(0, n, rows):
        parts.append(np.asarray(predict(x[start:start + rows])))
        if progress is not None:
            progress(min(start + rows, n), n)
    return np.concatenate(parts, axis=0)


def cell_samples(evaluation: Evaluation, true_class: int, pred_class: int) -> pd.DataFrame:
    """The samples in one confusion cell: columns row (0-based), true, predicted, confidence.

    Class columns hold class names; rows are sorted by confidence, most confident first.
    """
    if evaluation.confusion is None or evaluation.class_names is None:
        raise ValueError(f"a {evaluation.task} evaluation has no confusion matrix; expected "
                         "binary or multiclass")
    names = evaluation.class_names
    for which, idx in (("true_class", true_class), ("pred_class", pred_class)):
        if not 0 <= idx < len(names):
            raise ValueError(f"{which} {idx} is not a class index; expected 0..{len(names) - 1}")
    rows = np.flatnonzero((evaluation.y_true == true_class) & (evaluation.y_pred == pred_class))
    table = pd.DataFrame({
        "row": rows,
        "true": [names[true_class]] * len(rows),
        "predicted": [names[pred_class]] * len(rows),
        "confidence": evaluation.confidence[rows],
    })
    return table.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- shared with other pages
# Thin public names for the pieces `evaluate` uses, so the sample picker reads scores and
# labels exactly as the metrics page does.


def class_probabilities(scores: ArrayLike, task: str) -> np.ndarray:
    """Class probabilities (N, k) float64, as `evaluate` reads the model output ``scores``.

    binary: (N, 2) [negative, positive] from one sigmoid unit or a 2-way softmax; multiclass:
    rows summing to 1 (logits go through softmax); multilabel: one probability per label
    (logits go through a sigmoid). Regression has no classes: ValueError.
    """
    scores = np.asarray(scores, dtype="float64")
    scores = scores.reshape(len(scores), -1) if scores.ndim != 2 else scores
    if task == "binary":
        return _binary_probs(scores)
    if task == "multiclass":
        return _multiclass_probs(scores)
    if task == "multilabel":
        return _as_probability(scores)
    raise ValueError(f"task {task!r} has no class probabilities; expected binary, multiclass "
                     "or multilabel")


def resolve_class_names(class_names: Sequence[str] | None, n: int) -> tuple[str, ...]:
    """``class_names`` as n strings; "0".."n-1" when None. A count mismatch is a DataError."""
    return _names(class_names, n)


def class_indices(labels: ArrayLike, class_names: tuple[str, ...]) -> np.ndarray:
    """Labels (N,) as class indices: names map through ``class_names``, numbers are indices.

    An empty label or one the model cannot predict raises `DataError` naming it.
    """
    return _class_indices(np.asarray(labels), tuple(class_names))


def multilabel_targets(labels: ArrayLike) -> np.ndarray:
    """0/1 label rows (N, k) as ints; anything else raises `DataError` naming the value."""
    return _zero_one(np.asarray(labels))


# ---------------------------------------------------------------- binary / multiclass


def _single_label(y: np.ndarray, scores: np.ndarray, task: str, class_names) -> Evaluation:
    probs = _binary_probs(scores) if task == "binary" else _multiclass_probs(scores)
    n = probs.shape[1]
    names = _names(class_names, n)
    y_true = _class_indices(y, names)
    y_pred = (probs[:, 1] >= THRESHOLD).astype(int) if task == "binary" else probs.argmax(1)
    confidence = probs[np.arange(len(probs)), y_pred]
    labels = list(range(n))
    p, r, f, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                           zero_division=0)
    per_class = pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": support},
                             index=pd.Index(names, name="class"))
    summary = _classification_summary(y_true, y_pred)
    if len(np.unique(y_true)) == n:  # AUC needs every class among the labels
        # two classes (a sigmoid, or a 2-way softmax): scikit-learn wants the positive column
        summary["roc_auc"] = float(
            skm.roc_auc_score(y_true, probs[:, 1]) if n == 2
            else skm.roc_auc_score(y_true, probs, multi_class="ovr", average="macro"))
    # The binary view draws the positive class only; its negative is the same curve mirrored.
    curve_classes = [1] if task == "binary" else labels
    onehot = np.eye(n, dtype=int)[y_true]
    roc, pr = _curves(onehot[:, curve_classes], probs[:, curve_classes],
                      [names[c] for c in curve_classes])
    if task == "binary":
        calibration = _calibration(y_true, probs[:, 1], names[1])
    else:
        calibration = _calibration((y_pred == y_true).astype(int), confidence, "top class")
    return Evaluation(
        task=task, summary=summary, y_true=y_true, y_pred=y_pred, confidence=confidence,
        class_names=names, per_class=per_class,
        confusion=skm.confusion_matrix(y_true, y_pred, labels=labels),
        curves=Curves(roc=roc, pr=pr, calibration=calibration))


def _binary_probs(scores: np.ndarray) -> np.ndarray:
    """(N, 2) probabilities [negative, positive] from one sigmoid unit or a 2-way softmax."""
    if scores.shape[1] == 1:
        p = _as_probability(scores[:, 0])
        return np.column_stack([1.0 - p, p])
    if scores.shape[1] == 2:
        return _multiclass_probs(scores)
    raise DataError(f"binary evaluation needs 1 or 2 model outputs, the model gives "
                    f"{scores.shape[1]}")


def _multiclass_probs(scores: np.ndarray) -> np.ndarray:
    """Rows that sum to 1; a logits output (no softmax layer) goes through softmax here."""
    if scores.shape[1] < 2:
        raise DataError(f"multiclass evaluation needs 2 or more model outputs, the model gives "
                        f"{scores.shape[1]}")
    sums = scores.sum(axis=1, keepdims=True)
    if scores.min() >= 0 and np.allclose(sums, 1.0, atol=1e-3):
        # Kept as is when sklearn's AUC accepts the sums (float32 softmax: ~1e-7 off): dividing
        # would shift ties by an ulp and change the curves. Low-precision sums are rescaled.
        return scores if np.allclose(sums, 1.0) else scores / sums
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _as_probability(p: np.ndarray) -> np.ndarray:
    """Sigmoid outputs as is; values outside 0..1 are logits and go through a sigmoid."""
    if p.size and (p.min() < 0 or p.max() > 1):
        return 1.0 / (1.0 + np.exp(-p))
    return p


def _names(class_names, n: int) -> tuple[str, ...]:
    if class_names is None:
        return tuple(str(i) for i in range(n))
    names = tuple(str(c) for c in class_names)
    if len(names) != n:
        raise DataError(f"{len(names)} class names for a model with {n} classes")
    return names


def _class_indices(y: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Labels as class indices 0..n-1: names map through ``names``, numbers are indices."""
    if y.ndim != 1:
        raise DataError(f"expected one label per row, got labels of shape {y.shape}")
    missing = np.flatnonzero(pd.isna(y))
    if len(missing):
        raise DataError(f"{len(missing)} labels are empty, first at row {missing[0] + 1}")
    codes, uniques = pd.factorize(y)
    lookup = np.array([_class_index(v, names) for v in uniques], dtype=int)
    return lookup[codes]


def _class_index(value, names: tuple[str, ...]) -> int:
    if isinstance(value, str) and value in names:
        return names.index(value)
    number = _as_number(value)
    if number is not None and number.is_integer() and 0 <= number < len(names):
        return int(number)
    raise DataError(f"label {_show(value)} is not one of the model's {len(names)} classes "
                    f"({quote_names(names)}, or their indices 0..{len(names) - 1})")


def _show(value) -> str:
    """A label as users typed it: 'text' quoted, numbers bare (no numpy type names)."""
    value = value.item() if isinstance(value, np.generic) else value
    return f"'{value}'" if isinstance(value, str) else f"{value}"


def _as_number(value) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return float(value)
    return None


def _classification_summary(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro/weighted precision, recall, F1 (over the classes present)."""
    summary = {"accuracy": float(skm.accuracy_score(y_true, y_pred))}
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average,
                                                         zero_division=0)
        summary |= {f"precision_{average}": float(p), f"recall_{average}": float(r),
                    f"f1_{average}": float(f)}
    return summary


def _curves(truth: np.ndarray, probs: np.ndarray, names: list[str]):
    """ROC and PR per column of 0/1 ``truth`` (N, c); columns of one value have no curve."""
    roc, pr = [], []
    for j, name in enumerate(names):
        t, p = truth[:, j], probs[:, j]
        if t.min() == t.max():
            continue  # all positive or all negative: the rates are undefined
        fpr, tpr, _ = skm.roc_curve(t, p)
        roc.append(RocCurve(name, fpr, tpr, float(skm.roc_auc_score(t, p))))
        precision, recall, _ = skm.precision_recall_curve(t, p)
        pr.append(PrCurve(name, recall, precision, float(skm.average_precision_score(t, p))))
    return tuple(roc), tuple(pr)


def _calibration(truth: np.ndarray, prob: np.ndarray, label: str) -> CalibrationCurve | None:
    if len(truth) == 0:
        return None
    prob_true, prob_pred = calibration_curve(truth, prob, n_bins=CALIBRATION_BINS,
                                             strategy="uniform")
    return CalibrationCurve(label, prob_pred, prob_true)


# ---------------------------------------------------------------- multilabel


def _multilabel(y: np.ndarray, scores: np.ndarray, class_names) -> Evaluation:
    if y.shape != scores.shape:
        raise DataError(f"multi-label needs one 0/1 column per model output: labels are "
                        f"{y.shape}, outputs are {scores.shape}")
    y_true = _zero_one(y)
    probs = _as_probability(scores)
    names = _names(class_names, scores.shape[1])
    y_pred = (probs >= THRESHOLD).astype(int)
    p, r, f, support = skm.precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    per_class = pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": support},
                             index=pd.Index(names, name="label"))
    roc, pr = _curves(y_true, probs, list(names))
    confidence = np.where(y_pred == 1, probs, 1.0 - probs).mean(axis=1)
    return Evaluation(task="multilabel", summary=_classification_summary(y_true, y_pred),
                      y_true=y_true, y_pred=y_pred, confidence=confidence, class_names=names,
                      per_class=per_class, curves=Curves(roc=roc, pr=pr, calibration=None))


def _zero_one(y: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(pd.Series(y.ravel()), errors="coerce").to_numpy()
    bad = ~np.isin(values, (0, 1))
    if bad.any():
        raise DataError(f"multi-label targets must be 0 or 1; found {_show(y.ravel()[bad][0])}")
    return values.reshape(y.shape).astype(int)


# ---------------------------------------------------------------- regression


def _regression(y: np.ndarray, scores: np.ndarray) -> Evaluation:
    if scores.shape[1] != 1:
        raise DataError(f"regression evaluation needs one model output, the model gives "
                        f"{scores.shape[1]}")
    if y.size != len(y):
        raise DataError(f"regression needs one target per row, got labels of shape {y.shape}")
    y_true = pd.to_numeric(pd.Series(y.ravel()), errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(np.isnan(y_true))
    if len(bad):
        raise DataError(f"regression targets must be numbers; row {bad[0] + 1} holds "
                        f"{_show(y.ravel()[bad[0]])}")
    y_pred = scores[:, 0]
    summary = {
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": float(skm.root_mean_squared_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)),
    }
    return Evaluation(task="regression", summary=summary, y_true=y_true, y_pred=y_pred,
                      residuals=y_pred - y_true)
