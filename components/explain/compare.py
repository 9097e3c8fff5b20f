"""What the compare page computes: two models on the same data, side by side. No Streamlit.

Model A is the sidebar's model, model B the second one. Everything here takes plain values
(`Predictions`, `Evaluation`, `Attribution`, arrays) and returns frames, numbers or one-line
reasons; `explain_rows` is the one function that runs where a model lives (``runner.run``).

Explanation similarity is measured on the vectors the explain page's agreement compares
(`components.explain.agreement.comparable_vectors`): one value per feature or token, images pooled
to about 8 x 8 regions. Cosine similarity compares directions (signs and proportions, not
scale); Spearman's rank correlation compares the order of importance (of |values| for
Grad-CAM, whose maps are unsigned).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from components.data.checks import Dataset
from components.data.evaluation import Evaluation, class_probabilities
from components.data.predictions import Predictions
from components.errors import GlassboxError, first_line, quote_names
from components.explain.agreement import (
    UNSIGNED_METHODS,
    comparable_vectors,
    method_label,
    ordered_methods,
    spearman_rho,
)
from components.explain.local import bound, explain_one, subject_for
from components.explain.methods.base import Attribution, Subject
from components.explain.methods.targets import default_target
from components.model.bundle import InputSpec
from components.model.worker import ModelRunner

CHEAP_METHODS: tuple[str, ...] = ("saliency", "gradxinput", "ig")  # the summary's default
# Rows explained per call into a model's worker: each call must finish within the worker's
# timeout (30 s by default), and the progress bar moves once per call.
ROWS_PER_CALL: dict[str, int] = {"saliency": 25, "gradxinput": 25, "gradcam": 25, "ig": 10,
                                 "smoothgrad": 5, "lime": 2, "shap": 2}
DEFAULT_ROWS_PER_CALL = 5
SUMMARY_ROWS = 50  # the dataset summary's default number of rows

# Headline metrics: key in the table, label, whether higher is better.
CLASSIFICATION_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("accuracy", "accuracy", True), ("f1_macro", "macro F1", True),
    ("log_loss", "log loss", False), ("roc_auc", "ROC AUC (macro)", True))
REGRESSION_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("mae", "MAE", False), ("rmse", "RMSE", False), ("r2", "R²", True))
LOG_LOSS_EPS = 1e-15  # probabilities are clipped to [eps, 1 - eps] (log 0 is -inf)


# ---------------------------------------------------------------- does B read this data?


def input_mismatch(spec_b: InputSpec, n_inputs_b: int, dataset: Dataset) -> str | None:
    """Why model B cannot read ``dataset`` (as fitted to model A), or None if it can.

    The check is on what B's first input takes (kind, shape, feature names) against the
    dataset's model-ready rows ``dataset.x``; e.g. "the second model reads 16×16×1 images;
    this dataset has 13 features".
    """
    if n_inputs_b != 1:
        return f"the second model has {n_inputs_b} inputs; Glassbox compares single-input models"
    if dataset.x is None:
        return "the dataset did not pass its checks; see the Model & data page"
    reads, has = describe_input(spec_b), describe_rows(dataset)
    if spec_b.kind != dataset.kind or not _shape_fits(spec_b.shape, dataset.x.shape[1:]):
        return f"the second model reads {reads}; this dataset has {has}"
    if dataset.kind == "tabular" and spec_b.feature_names and dataset.feature_names:
        return _column_mismatch(list(spec_b.feature_names), list(dataset.feature_names))
    return None


def describe_input(spec: InputSpec) -> str:
    """What one sample of a model input is, in words: "13 features", "16×16×1 images"."""
    if spec.kind == "text":
        return "text"
    if spec.kind == "image":
        return f"{_dims(spec.shape)} images"
    width = spec.shape[-1] if spec.shape else None
    return "a variable number of features" if width is None else _count(width, "feature")


def describe_rows(dataset: Dataset) -> str:
    """What the dataset's rows are, in the words of `describe_input`."""
    if dataset.kind == "text":
        return "text"
    shape = tuple(dataset.x.shape[1:]) if dataset.x is not None else ()
    if dataset.kind == "image":
        return f"{_dims(shape)} images"
    return _count(shape[-1] if shape else 0, "feature")


def _shape_fits(expected: Sequence[int | None], actual: Sequence[int]) -> bool:
    return len(expected) == len(actual) and all(
        e is None or e == a for e, a in zip(expected, actual, strict=True))


def _column_mismatch(wanted: list[str], have: list[str]) -> str | None:
    if wanted == have:
        return None
    missing = [n for n in wanted if n not in have]
    extra = [n for n in have if n not in wanted]
    if not missing and not extra:
        return ("the second model reads the same columns in another order; Glassbox compares "
                "models that read them in the same order")
    parts = [f"missing {quote_names(missing)}"] if missing else []
    parts += [f"unexpected {quote_names(extra)}"] if extra else []
    return f"the second model reads other columns than this dataset has: {'; '.join(parts)}"


def _dims(shape: Sequence[int | None]) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- metrics side by side


def headline_metrics(evaluation: Evaluation, scores: np.ndarray) -> dict[str, float]:
    """The figures the compare page puts side by side, for one model.

    Binary / multiclass: accuracy, macro F1, log loss (natural log, probabilities clipped
    to [1e-15, 1 - 1e-15]) and ROC AUC when every class occurs; multilabel: accuracy (exact
    match) and macro F1; regression: MAE, RMSE, R². ``scores`` is the model output (N, k)
    the evaluation was computed from.
    """
    summary = evaluation.summary
    if evaluation.task == "regression":
        return {key: summary[key] for key, _, _ in REGRESSION_METRICS}
    out = {"accuracy": summary["accuracy"], "f1_macro": summary["f1_macro"]}
    if evaluation.task in ("binary", "multiclass"):
        probs = np.clip(class_probabilities(scores, evaluation.task), LOG_LOSS_EPS,
                        1 - LOG_LOSS_EPS)
        probs = probs / probs.sum(axis=1, keepdims=True)
        out["log_loss"] = float(skm.log_loss(evaluation.y_true, probs,
                                             labels=list(range(probs.shape[1]))))
    if "roc_auc" in summary:
        out["roc_auc"] = summary["roc_auc"]
    return out


def metrics_table(a: Mapping[str, float], b: Mapping[str, float], task: str) -> pd.DataFrame:
    """One row per headline metric both models have, in a fixed order.

    Columns: "metric" (label), "model A", "model B", "B − A", "better" ("A", "B" or "same":
    higher is better for accuracy, F1, AUC and R², lower for log loss, MAE and RMSE).
    """
    spec = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    rows = []
    for key, label, higher in spec:
        if key not in a or key not in b:
            continue
        va, vb = float(a[key]), float(b[key])
        if math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-12):
            better = "same"
        else:
            better = "B" if (vb > va) == higher else "A"
        rows.append({"metric": label, "model A": va, "model B": vb, "B − A": vb - va,
                     "better": better})
    return pd.DataFrame(rows, columns=["metric", "model A", "model B", "B − A", "better"])


# ---------------------------------------------------------------- where they disagree

WHO = ("any", "A right, B wrong", "B right, A wrong", "both wrong")


def disagreement_table(pred_a: Predictions, pred_b: Predictions,
                       threshold: float = 0.0) -> pd.DataFrame:
    """Every row of the dataset, index "row", with both predictions and whether they differ.

    Classification: columns "A predicted", "A confidence", "B predicted", "B confidence"
    (class names; multilabel: the top label), "label" if there are labels, "A right" and "B
    right" (bool, with labels) and "disagree" (the predicted classes differ). Regression:
    "A predicted", "B predicted", "|A − B|", "label", "A error", "B error" (absolute) and
    "disagree" (|A − B| > ``threshold``).
    """
    if len(pred_a) != len(pred_b):
        raise ValueError(f"the predictions cover {len(pred_a)} and {len(pred_b)} rows; "
                         "expected the same dataset")
    if (pred_a.task == "regression") != (pred_b.task == "regression"):
        raise ValueError("one prediction set is a regression and the other is not")
    index = pd.RangeIndex(len(pred_a), name="row")
    if pred_a.task == "regression":
        return _regression_table(pred_a, pred_b, threshold, index)
    frame = pd.DataFrame({
        "A predicted": _class_column(pred_a, pred_a.predicted),
        "A confidence": pred_a.confidence.astype("float64"),
        "B predicted": _class_column(pred_b, pred_b.predicted),
        "B confidence": pred_b.confidence.astype("float64"),
    }, index=index)
    if pred_a.truth is not None and pred_a.correct is not None:
        frame["label"] = _label_column(pred_a)
        frame["A right"] = pred_a.correct.astype(bool)
        frame["B right"] = _correct(pred_b, pred_a)
    frame["disagree"] = np.asarray(pred_a.predicted) != np.asarray(pred_b.predicted)
    return frame


def _regression_table(pred_a: Predictions, pred_b: Predictions, threshold: float,
                      index: pd.Index) -> pd.DataFrame:
    if not (isinstance(threshold, (int, float)) and threshold >= 0):
        raise ValueError(f"threshold must be a number >= 0, not {threshold!r}")
    a, b = pred_a.predicted.astype("float64"), pred_b.predicted.astype("float64")
    gap = np.abs(a - b)
    frame = pd.DataFrame({"A predicted": a, "B predicted": b, "|A − B|": gap}, index=index)
    if pred_a.truth is not None:
        truth = np.asarray(pred_a.truth, dtype="float64")
        frame["label"] = truth
        frame["A error"] = np.abs(a - truth)
        frame["B error"] = np.abs(b - truth)
    frame["disagree"] = gap > threshold
    return frame


def _class_column(pred: Predictions, values: np.ndarray) -> list[str]:
    names = pred.class_names
    return [names[int(v)] if 0 <= int(v) < len(names) else str(int(v)) for v in values]


def _label_column(pred: Predictions) -> list[str]:
    truth = np.asarray(pred.truth)
    names = pred.class_names
    if truth.ndim == 2:  # multilabel: the true labels, joined
        return [", ".join(n for n, v in zip(names, row, strict=False) if v) or "none"
                for row in truth]
    return ["" if t < 0 else names[int(t)] if int(t) < len(names) else str(int(t))
            for t in truth]


def _correct(pred_b: Predictions, pred_a: Predictions) -> np.ndarray:
    """B's correctness against the labels as A read them (B may name classes otherwise)."""
    truth = np.asarray(pred_a.truth)
    predicted = np.asarray(pred_b.predicted)
    if truth.ndim == 2:
        inside = predicted < truth.shape[1]
        hit = np.zeros(len(predicted), dtype=bool)
        hit[inside] = truth[np.flatnonzero(inside), predicted[inside]] == 1
        return hit
    return (truth >= 0) & (truth == predicted)


def disagreement_counts(table: pd.DataFrame) -> dict[str, int]:
    """Counts for the page: rows, rows where they disagree, and, with labels, who was right.

    Keys: "rows", "disagree"; classification with labels adds "A right, B wrong", "B right,
    A wrong", "both wrong" (among all rows) and "both right"; regression with labels adds
    "A closer" and "B closer" (among the rows where they disagree).
    """
    out = {"rows": len(table), "disagree": int(table["disagree"].sum())}
    if "A right" in table:
        a, b = table["A right"].to_numpy(bool), table["B right"].to_numpy(bool)
        out |= {"A right, B wrong": int((a & ~b).sum()), "B right, A wrong": int((b & ~a).sum()),
                "both wrong": int((~a & ~b).sum()), "both right": int((a & b).sum())}
    elif "A error" in table:
        split = table[table["disagree"]]
        out |= {"A closer": int((split["A error"] < split["B error"]).sum()),
                "B closer": int((split["B error"] < split["A error"]).sum())}
    return out


def filter_disagreements(table: pd.DataFrame, *, only_disagree: bool = True,
                         who: str = "any") -> pd.DataFrame:
    """The rows the page lists: where they disagree (or all), narrowed by who was right.

    ``who`` is one of `WHO`; anything but "any" needs the "A right"/"B right" columns.
    """
    if who not in WHO:
        raise ValueError(f"who must be one of {', '.join(WHO)}, not {who!r}")
    shown = table[table["disagree"]] if only_disagree else table
    if who == "any":
        return shown
    if "A right" not in shown:
        raise ValueError("filtering by who was right needs labels")
    a, b = shown["A right"].to_numpy(bool), shown["B right"].to_numpy(bool)
    keep = {"A right, B wrong": a & ~b, "B right, A wrong": b & ~a, "both wrong": ~a & ~b}[who]
    return shown[keep]


def default_threshold(pred_a: Predictions) -> float:
    """A starting regression threshold: a tenth of the spread (std) of A's predictions,
    rounded to 2 significant digits; 0 when A predicts one value."""
    spread = float(np.std(np.asarray(pred_a.predicted, dtype="float64")))
    if not (spread > 0 and math.isfinite(spread)):
        return 0.0
    value = spread / 10
    return float(f"{value:.2g}")


def prediction_crosstab(pred_a: Predictions, pred_b: Predictions) -> pd.DataFrame:
    """Counts of (A's predicted class, B's predicted class): rows A's classes, columns B's,
    every class of each model listed (zeros included)."""
    a = pd.Categorical(_class_column(pred_a, pred_a.predicted),
                       categories=list(dict.fromkeys(pred_a.class_names)))
    b = pd.Categorical(_class_column(pred_b, pred_b.predicted),
                       categories=list(dict.fromkeys(pred_b.class_names)))
    table = pd.crosstab(a, b, dropna=False)
    table.index.name, table.columns.name = "A predicts", "B predicts"
    return table


# ---------------------------------------------------------------- explanation similarity


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two equal-size vectors (flattened), in [-1, 1]; NaN when either
    is all zeros or holds NaN/inf (there is no direction to compare)."""
    a = np.asarray(a, dtype="float64").ravel()
    b = np.asarray(b, dtype="float64").ravel()
    if a.shape != b.shape:
        raise ValueError(f"cosine needs vectors of one size, got {a.size} and {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.nan
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a == 0 or norm_b == 0:
        return math.nan
    return float(np.clip(np.dot(a / norm_a, b / norm_b), -1.0, 1.0))


@dataclass(frozen=True)
class Similarity:
    """How alike two attributions are: cosine and Spearman (NaN where undefined), and
    ``reason``, one line, when they could not be compared at all."""

    cosine: float
    spearman: float
    reason: str | None = None


def similarity(a: Attribution, b: Attribution) -> Similarity:
    """Cosine and Spearman between model A's and model B's attribution of one method.

    Both must be shaped alike; text attributions must be over the same tokens (two models
    may split a text differently). Otherwise the figures are NaN and ``reason`` says why.
    """
    nan = math.nan
    if np.shape(a.values) != np.shape(b.values):
        return Similarity(nan, nan, f"the attributions differ in shape: {np.shape(a.values)} "
                                    f"and {np.shape(b.values)}")
    if a.feature_names is not None and b.feature_names is not None \
            and tuple(a.feature_names) != tuple(b.feature_names):
        return Similarity(nan, nan, "the models split the sample into different tokens or "
                                    "features, so values cannot be paired")
    vectors = comparable_vectors({"a": a, "b": b})
    va, vb = vectors["a"], vectors["b"]
    unsigned = a.method in UNSIGNED_METHODS or b.method in UNSIGNED_METHODS
    result = Similarity(cosine(va, vb), spearman_rho(va, vb, absolute=unsigned))
    if math.isnan(result.cosine) and math.isnan(result.spearman):
        flat = [who for who, v in (("A", va), ("B", vb)) if not np.any(v)]
        said = f"model {' and '.join(flat)} gives" if flat else "the models give"
        return replace(result, reason=f"{said} every value the same (zero), so there is "
                                      "nothing to compare")
    return result


def sample_rows(n_rows: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct row indices of ``n_rows``, drawn with ``seed``.

    Prefix-stable: the first 50 rows of a draw of 60 are the draw of 50 (one permutation,
    cut), so asking for more rows reuses what was computed for fewer.
    """
    if n_rows < 1:
        raise ValueError("the dataset has no rows")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of rows, not {n!r}")
    return np.random.default_rng(seed).permutation(n_rows)[:min(int(n), n_rows)]


def row_targets(scores_a: np.ndarray, rows: Sequence[int], task: str,
                n_outputs: int) -> list[int | None]:
    """The output each row is explained for: model A's predicted class (the default
    target); None where that output does not exist in both models (``n_outputs`` is the
    smaller output count)."""
    scores_a = np.asarray(scores_a)
    targets: list[int | None] = []
    for row in rows:
        target = default_target(scores_a[int(row)], task)
        targets.append(target if target < n_outputs else None)
    return targets


def chunks(rows: Sequence[int], method: str) -> list[tuple[int, ...]]:
    """``rows`` in consecutive pieces of `ROWS_PER_CALL` for ``method`` (fixed boundaries,
    so a longer draw shares its first pieces with a shorter one)."""
    size = ROWS_PER_CALL.get(method, DEFAULT_ROWS_PER_CALL)
    rows = [int(r) for r in rows]
    return [tuple(rows[i:i + size]) for i in range(0, len(rows), size)]


def explain_rows(model: Any, template: Subject, xs: np.ndarray, method: str,
                 targets: Sequence[int], seed: int,
                 params: Mapping[str, Any] | None = None) -> list[Attribution | str]:
    """Runs where the model lives (``runner.run(explain_rows, ...)``): ``method`` on each
    row of ``xs`` (N, ...) for its target, with ``template``'s kind, background and feature
    names. One `Attribution` per row, or the one-line reason that row failed."""
    subject = bound(model, template)
    out: list[Attribution | str] = []
    for i, target in enumerate(targets):
        try:
            out.append(explain_one(replace(subject, x=xs[i:i + 1]), method, int(target), seed,
                                   params))
        except (GlassboxError, ValueError) as err:
            out.append(first_line(err))
    return out


def pair_similarities(attrs_a: Sequence[Attribution | str],
                      attrs_b: Sequence[Attribution | str]) -> np.ndarray:
    """(N, 2) [cosine, Spearman] per row of two `explain_rows` results; NaN where either
    failed or the pair cannot be compared."""
    out = np.full((len(attrs_a), 2), np.nan)
    for i, (a, b) in enumerate(zip(attrs_a, attrs_b, strict=True)):
        if isinstance(a, Attribution) and isinstance(b, Attribution):
            s = similarity(a, b)
            out[i] = (s.cosine, s.spearman)
    return out


ChunkResult = tuple[np.ndarray | None, list[str], str | None]


def chunk_similarities(runner_a: ModelRunner, runner_b: ModelRunner, dataset: Dataset,
                       task: str, method: str, seed: int, rows: Sequence[int],
                       targets: Sequence[int | None]) -> ChunkResult:
    """A few rows, each explained by both models for its target: (values, failures, error).

    ``values`` is (N, 2) [cosine, Spearman] (NaN for a row whose target is None: skipped);
    ``failures`` the one-line reasons rows failed; ``error`` the one line when the method
    failed as a whole (then ``values`` is None).
    """
    out = np.full((len(rows), 2), np.nan)
    kept = [i for i, t in enumerate(targets) if t is not None]
    if not kept:
        return out, [], None
    template = subject_for(dataset, rows[kept[0]], task)
    xs = dataset.x[[rows[i] for i in kept]]
    wanted = [targets[i] for i in kept]
    try:
        attrs_a = runner_a.run(explain_rows, template, xs, method, wanted, seed)
        attrs_b = runner_b.run(explain_rows, template, xs, method, wanted, seed)
    except GlassboxError as err:
        return None, [], str(err)
    except Exception as err:  # one method failing must not take the summary down
        return None, [], f"could not compute ({type(err).__name__}: {first_line(err)})"
    out[kept] = pair_similarities(attrs_a, attrs_b)
    return out, [a for a in (*attrs_a, *attrs_b) if isinstance(a, str)], None


@dataclass(frozen=True)
class DatasetSimilarity:
    """Each method over many rows: ``per_method`` maps a method that ran to its (N, 2)
    [cosine, Spearman]; ``failures`` the rows' failure lines per method; ``broken`` the one
    line for a method that failed as a whole (left out of ``per_method``)."""

    per_method: dict[str, np.ndarray]
    failures: dict[str, list[str]]
    broken: dict[str, str]


def dataset_similarities(rows: Sequence[int], targets: Sequence[int | None],
                         methods: Sequence[str],
                         chunk: Callable[[str, tuple[int, ...], tuple[int | None, ...]],
                                         ChunkResult],
                         progress: Callable[[int, int, str, tuple[int, ...]], None]
                         | None = None) -> DatasetSimilarity:
    """Every method over ``rows`` (each row for its target), piece by piece (`chunks`):
    ``chunk(method, rows, targets)`` computes one piece (the page's cache over
    `chunk_similarities`); ``progress(step, steps, method, rows)`` follows along. A method
    whose piece fails as a whole is not tried again."""
    by_row = dict(zip((int(r) for r in rows), targets, strict=True))
    plan = [(m, c) for m in methods for c in chunks(rows, m)]
    per_method: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    failures: dict[str, list[str]] = {m: [] for m in methods}
    broken: dict[str, str] = {}
    for step, (method, piece) in enumerate(plan, 1):
        if method in broken:
            continue
        values, failed, error = chunk(method, piece, tuple(by_row[r] for r in piece))
        if error:
            broken[method] = error
            continue
        per_method[method].append(values)
        failures[method] += failed
        if progress is not None:
            progress(step, len(plan), method, piece)
    return DatasetSimilarity(
        per_method={m: np.vstack(v) for m, v in per_method.items() if m not in broken and v},
        failures={m: f for m, f in failures.items() if f}, broken=broken)


def similarity_summary(per_method: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per method (registry order): "method" (label), "rows" compared (both figures
    defined or at least one), mean and median cosine, mean and median Spearman (NaN rows
    left out; NaN when no row has the figure). ``per_method`` maps a method name to the
    (N, 2) [cosine, Spearman] of `pair_similarities`."""
    records = []
    for name in ordered_methods(per_method):
        values = np.asarray(per_method[name], dtype="float64").reshape(-1, 2)
        cos, rho = values[:, 0], values[:, 1]
        records.append({
            "method": method_label(name),
            "rows": int((~np.isnan(cos) | ~np.isnan(rho)).sum()),
            "mean cosine": _nan_stat(np.mean, cos), "median cosine": _nan_stat(np.median, cos),
            "mean Spearman": _nan_stat(np.mean, rho),
            "median Spearman": _nan_stat(np.median, rho)})
    columns = ["method", "rows", "mean cosine", "median cosine", "mean Spearman",
               "median Spearman"]
    return pd.DataFrame(records, columns=columns)


def _nan_stat(fn, values: np.ndarray) -> float:
    kept = values[~np.isnan(values)]
    return float(fn(kept)) if kept.size else math.nan


def least_similar(rows: Sequence[int], per_method: Mapping[str, np.ndarray],
                  k: int = 10) -> pd.DataFrame:
    """The ``k`` rows whose explanations differ most between the models: index "row", one
    cosine column per method (by label), sorted by the rows' lowest cosine, lowest first
    (rows with no defined cosine last)."""
    methods = ordered_methods(per_method)
    frame = pd.DataFrame({f"{method_label(m)} cosine": np.asarray(per_method[m])[:, 0]
                          for m in methods},
                         index=pd.Index([int(r) for r in rows], name="row"))
    if frame.empty:
        return frame
    lowest = frame.min(axis=1, skipna=True)
    order = np.lexsort((frame.index.to_numpy(), lowest.fillna(np.inf).to_numpy()))
    return frame.iloc[order[:k]]


def fmt_similarity(value: float) -> str:
    """Two decimals with a real minus sign; "n/a" for NaN."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value + 0.0:.2f}".replace("-0.00", "0.00").replace("-", "\u2212")
