"""Global explanations: what the model does over a sample of the dataset's rows.

* Tables: SHAP values of every sampled row (Kernel SHAP as `methods.shap_explainer`
  computes it for one row, the coalitions of many rows sent to the model together), their
  mean |value| per feature; permutation importance (scikit-learn's
  `permutation_importance` on `ModelClassifier` / `ModelRegressor`, thin estimators around
  the compiled predict function); partial dependence and ICE curves.
* Images: class-average attribution maps (Saliency, Gradient x input or Integrated
  Gradients of each row's predicted class, averaged per class).
* Texts: one value per token (the gradient methods' token values: gradient at the
  Embedding output, summed over the embedding dimension), then the tokens with the largest
  mean attribution per class.

The functions ``*_rows(model, ...)`` and `class_map_sums` / `global_unavailable` take the
Keras model first so that ``bundle.runner.run`` can call them where the model lives (in
process for the samples, in the worker for uploads); they return arrays and dicts only. The
others work on a predict function or plain arrays: the tests hold those to exact numbers.
No Streamlit here.

Global SHAP budget: per row, ``2 * players + 512`` coalitions by default (the single-row
explainer uses shap's ``2 * players + 2048``), which keeps 1,000 rows of a 13-feature table
within seconds on two cores. With 9 players or fewer every coalition is still enumerated
(exact Shapley values). The constraint of Kernel SHAP's regression holds either way:
``base_value + values.sum() == f(x)[target]`` for every row, to float rounding. With the
same ``nsamples`` and seed, a row's values equal the single-row explainer's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from components.data.evaluation import THRESHOLD, class_probabilities
from components.explain.local import MAX_BACKGROUND
from components.explain.methods import REGISTRY
from components.explain.methods.base import Subject
from components.explain.methods.gradients import embed_ids, embed_texts, input_gradients
from components.explain.methods.gradients import n_outputs as outputs_of
from components.explain.methods.kernel_shap import background_summary, coalitions, max_coalitions
from components.explain.methods.text_tokens import tokens_of
from components.model.keras_hub_text import task_model
from components.model.predict import auto_batch_size, make_predict_fn, predict_fn_of

PredictFn = Callable[[np.ndarray], np.ndarray]

DEFAULT_ROWS = 200
GLOBAL_EXTRA_COALITIONS = 512  # per row: 2 x players + this many (see the module docstring)
BACKGROUND_SIZE = 10  # k of the k-means background summary, as the single-row SHAP
CHUNK_BYTES = 64 * 2**20  # synthetic rows built and predicted at most this many bytes at once
PREDICT_BYTES = 16 * 2**20  # input bytes per compiled call for the global predict function
MAX_PREDICT_BATCH = 65_536
SCORERS = {"binary": "accuracy", "multiclass": "accuracy", "multilabel": "accuracy",
           "regression": "r2"}
IMAGE_METHODS = {name: REGISTRY[name].label for name in ("saliency", "gradxinput", "ig")}
TEXT_METHODS = IMAGE_METHODS
IG_STEPS = 32
GRADIENT_BYTES = 32 * 2**20  # one batch of IG path points holds at most this many bytes


# ---------------------------------------------------------------- which rows


def sample_rows(n_total: int, n: int, seed: int) -> np.ndarray:
    """``min(n, n_total)`` distinct row indices of 0..n_total-1 drawn with ``seed``, sorted.

    Every row when ``n >= n_total`` (no draw at all, so the seed does not matter then).
    """
    if n_total < 0 or n < 1:
        raise ValueError(f"need n >= 1 rows of a dataset of n_total >= 0, got n={n}, "
                         f"n_total={n_total}")
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def background_of(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """The rows SHAP's background is drawn from: as `local.subject_for` draws them
    (up to 200, seed 0), so a row's global values match its single-row SHAP values."""
    n = len(x)
    picks = np.sort(np.random.default_rng(seed).choice(n, size=min(n, MAX_BACKGROUND),
                                                        replace=False))
    return x[picks]


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """(start, stop) pairs covering 0..n in steps of ``size``: how the page splits its work."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def class_target(cls: int, n_outputs: int, task: str) -> tuple[int, float]:
    """The output index and sign whose attribution is "towards class ``cls``".

    A softmax (or multi-unit) head: output ``cls``, sign +1. A one-unit sigmoid (binary):
    output 0 for both classes, sign +1 for the positive class and -1 for the negative one
    (p(negative) = 1 - p, so its attributions are the positive class's, negated).
    Regression: output 0, sign +1 (the one "class" is the output itself).
    """
    if n_outputs == 1:
        return 0, (-1.0 if task == "binary" and cls == 0 else 1.0)
    if not 0 <= cls < n_outputs:
        raise ValueError(f"class {cls} is out of range for {n_outputs} outputs")
    return int(cls), 1.0


def most_frequent(classes: np.ndarray, n_classes: int) -> int:
    """The most frequent class index (the lowest on ties; 0 for no rows)."""
    classes = np.asarray(classes).astype(np.int64).ravel()
    classes = classes[(classes >= 0) & (classes < n_classes)]
    return int(np.bincount(classes, minlength=n_classes).argmax()) if len(classes) else 0


# ---------------------------------------------------------------- the predict path


_BIG_PREDICT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def global_predict_fn(model: Any) -> PredictFn:
    """The model's compiled predict function, with large batches for table rows.

    A table's rows are small: ~16 MiB of input per call instead of 4 MiB, up to 65,536
    rows, is ~1.5-2x faster on the hundreds of thousands of synthetic rows global SHAP
    sends. Other inputs (images, strings) keep the automatic batch. Made once per model.
    """
    fn = _BIG_PREDICT.get(model)
    if fn is None:
        batch = auto_batch_size(model)
        shape = tuple(model.inputs[0].shape[1:])
        if len(shape) == 1 and shape[0] is not None and "string" not in str(
                model.inputs[0].dtype):
            batch = max(batch, min(MAX_PREDICT_BATCH, PREDICT_BYTES // (4 * int(shape[0]))))
        fn = _BIG_PREDICT[model] = make_predict_fn(model, batch_size=int(batch))
    return fn


# ---------------------------------------------------------------- SHAP over many rows


def global_nsamples(players: int, extra: int = GLOBAL_EXTRA_COALITIONS) -> int:
    """Coalitions per row: 2 x players + ``extra`` (512 by default on the global page;
    2,048 is the single-row explainer's budget, shap's ``"auto"``)."""
    return 2 * players + extra


def tabular_shap(predict_fn: PredictFn, x: np.ndarray, background: np.ndarray, target: int,
                 *, nsamples: int | None = None, extra: int = GLOBAL_EXTRA_COALITIONS,
                 seed: int = 0, background_size: int = BACKGROUND_SIZE) -> dict[str, Any]:
    """Kernel SHAP values of output ``target`` for every row of ``x`` (R, F).

    The game per row is the single-row explainer's: absent features take the values of
    shap's k-means summary of ``background`` (k = ``background_size``), weighted; a feature
    equal to every summary row's value is not a player (value 0). Rows with the same
    players share one draw of coalitions (seeded), their synthetic rows go to the model in
    ~64 MiB chunks and one weighted least-squares solve gives all their values.

    ``nsamples``: coalitions per row; None: `global_nsamples` of each row's players with
    ``extra`` (``extra=2048`` is the single-row explainer's default). Returns ``values`` (R, F),
    ``base_values`` (R,), ``outputs`` (R,) (f(x)[target] as the game sees it), ``exact``
    (R,) bool (every coalition enumerated), ``coalitions`` (R,), ``background_rows``.
    """

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"tabular SHAP needs rows (R, features), got shape {x.shape}")
    background = np.asarray(background, dtype=np.float64)
    summary = background_summary(background, min(background_size, len(background)))
    rows, weights = summary.data, summary.weights / summary.weights.sum()
    varying = ~np.isclose(rows[None], x[:, None], equal_nan=True).all(axis=1)  # (R, F)
    n, features = x.shape
    out = {"values": np.zeros((n, features)), "base_values": np.zeros(n),
           "outputs": np.zeros(n), "exact": np.zeros(n, bool),
           "coalitions": np.zeros(n, np.int64), "background_rows": len(rows)}
    if n == 0:
        return out
    patterns, inverse = np.unique(varying, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        members = np.flatnonzero(inverse.reshape(-1) == p)
        players = np.flatnonzero(pattern)
        budget = global_nsamples(len(players), extra) if nsamples is None else int(nsamples)
        group = _shap_group(predict_fn, x[members], players, rows, weights, target, budget,
                            seed)
        out["values"][np.ix_(members, players)] = group["values"]
        for key in ("base_values", "outputs", "exact", "coalitions"):
            out[key][members] = group[key]
    return out


def _shap_group(predict_fn: PredictFn, x: np.ndarray, players: np.ndarray, rows: np.ndarray,
                weights: np.ndarray, target: int, nsamples: int, seed: int) -> dict[str, Any]:
    """Kernel SHAP for rows that share their players: one coalition draw, one solve."""
    budget = min(nsamples, max_coalitions(len(players)))
    masks, kernel = coalitions(len(players), budget, np.random.default_rng(seed))
    # Row 0 the empty coalition, row 1 the full one (every player), then the drawn ones;
    # a feature that is not a player always takes the background's values.
    present = np.zeros((len(masks) + 2, x.shape[1]), bool)
    present[1, players] = True
    present[np.ix_(np.arange(2, len(masks) + 2), players)] = masks
    scores = coalition_values(predict_fn, x, present, rows, weights, target)
    base, output = scores[:, 0], scores[:, 1]
    if len(players) <= 1:
        values = np.repeat((output - base)[:, None], len(players), axis=1)
    else:
        values = solve_many(masks, kernel, scores[:, 2:] - base[:, None], output - base)
    return {"values": values, "base_values": base, "outputs": output,
            "exact": budget == max_coalitions(len(players)), "coalitions": len(masks)}


def coalition_values(predict_fn: PredictFn, x: np.ndarray, present: np.ndarray,
                     rows: np.ndarray, weights: np.ndarray, target: int) -> np.ndarray:
    """v(row, coalition): output ``target`` with the absent features taken from each
    background row, weighted: (R, C) for ``x`` (R, F) and ``present`` (C, F) bool."""
    n, features = x.shape
    per_row = len(present) * len(rows) * features * 4
    step = max(1, CHUNK_BYTES // max(per_row, 1))
    x32, rows32 = x.astype(np.float32), rows.astype(np.float32)
    out = []
    for start in range(0, n, step):
        part = x32[start:start + step]
        synthetic = np.where(present[None, :, None, :], part[:, None, None, :],
                             rows32[None, None, :, :])
        scores = np.asarray(predict_fn(synthetic.reshape(-1, features)), dtype=np.float64)
        scores = scores.reshape(len(part), len(present), len(rows), -1)[..., target]
        out.append(scores @ weights)
    return np.concatenate(out) if out else np.zeros((0, len(present)))


def solve_many(masks: np.ndarray, weights: np.ndarray, gains: np.ndarray,
               totals: np.ndarray) -> np.ndarray:
    """`kernel_shap.solve` for many rows at once: values (R, players) summing to ``totals``.

    ``masks`` (K, players) and ``weights`` (K,) are shared; ``gains`` (R, K) are each row's
    v(coalition) - v(empty), ``totals`` (R,) its v(full) - v(empty). The last player's value
    is the total minus the others' (the constraint), the rest one weighted least squares
    with R right-hand sides.
    """
    m = masks.astype(np.float64)
    design = m[:, :-1] - m[:, -1:]
    targets = gains.T - m[:, -1:] * totals[None, :]  # (K, R)
    weighted = weights[:, None] * design
    try:
        head = np.linalg.solve(design.T @ weighted, weighted.T @ targets)
    except np.linalg.LinAlgError:  # too few coalitions: the least-squares solution
        root = np.sqrt(weights)[:, None]
        head = np.linalg.lstsq(root * design, root * targets, rcond=None)[0]
    values = np.vstack([head, totals[None, :] - head.sum(axis=0)]).T
    values[np.abs(values) < 1e-10] = 0.0  # as shap does
    return values


def shap_rows(model: Any, x: np.ndarray, background: np.ndarray, target: int,
              nsamples: int | None = None, seed: int = 0,
              extra: int = GLOBAL_EXTRA_COALITIONS) -> dict[str, Any]:
    """`tabular_shap` through the model's global predict function (a runner's ``fn``)."""
    return tabular_shap(global_predict_fn(model), x, background, target, nsamples=nsamples,
                        extra=extra, seed=seed)


def mean_abs(values: np.ndarray) -> np.ndarray:
    """Mean |value| per feature over rows: (R, F) -> (F,)."""
    values = np.asarray(values, dtype=np.float64)
    return np.abs(values).mean(axis=0) if len(values) else np.zeros(values.shape[1:])


def additivity_gap(shap: dict[str, Any]) -> float:
    """The largest |base + sum(values) - output| over the rows (0 for no rows)."""
    gaps = np.abs(shap["base_values"] + shap["values"].sum(axis=1) - shap["outputs"])
    return float(gaps.max(initial=0.0))


# ---------------------------------------------------------------- permutation importance


class ModelEstimator(BaseEstimator):
    """A compiled predict function as a fitted scikit-learn estimator; ``fit`` does nothing.

    ``predict_fn`` maps (N, F) to the model output (N, k); ``task`` says how to read it
    (`components.data.evaluation.class_probabilities`).
    """

    def __init__(self, predict_fn: PredictFn | None = None, task: str = "multiclass",
                 n_outputs: int = 1) -> None:
        self.predict_fn = predict_fn
        self.task = task
        self.n_outputs = n_outputs

    def fit(self, X: Any, y: Any = None) -> ModelEstimator:  # noqa: N803 - sklearn's names
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def scores(self, X: Any) -> np.ndarray:  # noqa: N803
        """The model output (N, k) as float64."""
        out = np.asarray(self.predict_fn(np.asarray(X, dtype=np.float32)), dtype=np.float64)
        return out.reshape(len(out), -1)


class ModelClassifier(ClassifierMixin, ModelEstimator):
    """Classes as the metrics page reads them: argmax, or p >= 0.5 for a sigmoid."""

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(2 if self.task == "binary" else self.n_outputs)

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        return class_probabilities(self.scores(X), self.task)

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        probs = self.predict_proba(X)
        if self.task == "multilabel":
            return (probs >= THRESHOLD).astype(np.int64)
        if self.task == "binary":
            return (probs[:, 1] >= THRESHOLD).astype(np.int64)
        return probs.argmax(axis=1)


class ModelRegressor(RegressorMixin, ModelEstimator):
    """The model's (first) output as the prediction."""

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.scores(X)[:, 0]


def estimator_for(predict_fn: PredictFn, task: str, n_outputs: int) -> ModelEstimator:
    """`ModelRegressor` for regression, else `ModelClassifier`."""
    if task not in SCORERS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(SCORERS)}")
    kind = ModelRegressor if task == "regression" else ModelClassifier
    return kind(predict_fn=predict_fn, task=task, n_outputs=n_outputs)


def permutation(predict_fn: PredictFn, x: np.ndarray, y: np.ndarray, task: str, *,
                n_repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """scikit-learn's permutation importance of every column of ``x`` (R, F).

    Scorer: accuracy for classifiers (binary, multiclass; subset accuracy for multilabel),
    R² for regression, against ``y``. Returns ``mean`` and ``std`` (F,) of the score drop
    over ``n_repeats`` shuffles (seeded), ``scorer`` and ``baseline`` (the unshuffled
    score).
    """
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import get_scorer

    x = np.asarray(x, dtype=np.float32)
    n_outputs = int(np.asarray(predict_fn(x[:1])).reshape(1, -1).shape[1])
    estimator = estimator_for(predict_fn, task, n_outputs)
    scoring = SCORERS[task]
    result = permutation_importance(estimator, x, y, scoring=scoring, n_repeats=n_repeats,
                                    random_state=seed)
    baseline = float(get_scorer(scoring)(estimator, x, y))
    return {"mean": np.asarray(result.importances_mean, dtype=np.float64),
            "std": np.asarray(result.importances_std, dtype=np.float64),
            "scorer": scoring, "baseline": baseline}


def permutation_rows(model: Any, x: np.ndarray, y: np.ndarray, task: str,
                     n_repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """`permutation` through the model's predict function (a runner's ``fn``)."""
    return permutation(predict_fn_of(model), x, y, task, n_repeats=n_repeats, seed=seed)


def permutation_labels(truth: np.ndarray | None, predicted: np.ndarray, task: str
                       ) -> tuple[np.ndarray, np.ndarray, str]:
    """What permutation importance scores against, for the sampled rows.

    The dataset's labels where every sampled row has one (``truth``: class indices with -1
    for an empty cell, 0/1 rows for multilabel, values with NaN for regression); otherwise
    the model's own predictions of the unshuffled rows (``predicted``: the picker's classes
    or values), which measures how much each feature moves the model's answers. Returns
    (y, a bool mask of the rows used, "labels" or "predictions").
    """
    predicted = np.asarray(predicted)
    if truth is not None:
        truth = np.asarray(truth)
        if task == "regression":
            known = ~np.isnan(truth.astype(np.float64))
        elif truth.ndim == 2:
            known = np.ones(len(truth), bool)
        else:
            known = truth >= 0
        if known.sum() >= 2:
            return truth[known], known, "labels"
    if task == "multilabel":  # the picker keeps one label per row; score every output
        raise ValueError("multi-label models need labels for permutation importance")
    return predicted, np.ones(len(predicted), bool), "predictions"


# ---------------------------------------------------------------- partial dependence, ICE


def pdp_grid(column: np.ndarray, resolution: int = 20,
             percentiles: tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
    """Grid values for one feature, as scikit-learn's `partial_dependence` makes them.

    The column's distinct values when there are fewer than ``resolution``; otherwise
    ``resolution`` equally spaced values between its ``percentiles`` (scipy's
    ``mquantiles``, as scikit-learn computes them; min..max where those coincide, which
    scikit-learn refuses).
    """
    from scipy.stats.mstats import mquantiles

    column = np.asarray(column, dtype=np.float64)
    column = column[np.isfinite(column)]
    if resolution < 2:
        raise ValueError(f"grid resolution must be >= 2, got {resolution}")
    unique = np.unique(column)
    if len(unique) < resolution:
        return unique
    low, high = np.asarray(mquantiles(column, prob=percentiles), dtype=np.float64)
    if np.isclose(low, high):
        low, high = unique[0], unique[-1]
    return np.linspace(low, high, resolution)


def partial_dependence(predict_fn: PredictFn, x: np.ndarray, feature: int, target: int,
                       grid: np.ndarray) -> dict[str, np.ndarray]:
    """ICE and PDP of output ``target`` over ``grid`` values of column ``feature``.

    Every row of ``x`` (R, F) with the feature set to each grid value, all R x G rows in one
    batched predict (chunked at ~64 MiB). Returns ``grid`` (G,), ``ice`` (R, G) and ``pdp``
    (G,) = the mean ICE curve; what scikit-learn's ``partial_dependence(kind="both")``
    computes with ``method="brute"``.
    """
    x = np.asarray(x, dtype=np.float32)
    grid = np.asarray(grid, dtype=np.float64)
    if not 0 <= feature < x.shape[1]:
        raise ValueError(f"feature {feature} is out of range: the rows have {x.shape[1]}")
    n, features = x.shape
    step = max(1, CHUNK_BYTES // max(1, len(grid) * features * 4))
    ice = []
    for start in range(0, n, step):
        part = np.repeat(x[start:start + step, None, :], len(grid), axis=1)
        part[:, :, feature] = grid[None, :]
        scores = np.asarray(predict_fn(part.reshape(-1, features)), dtype=np.float64)
        ice.append(scores.reshape(len(part), len(grid), -1)[..., target])
    curves = np.concatenate(ice) if ice else np.zeros((0, len(grid)))
    return {"grid": grid, "ice": curves, "pdp": curves.mean(axis=0) if n else
            np.zeros(len(grid))}


def pdp_rows(model: Any, x: np.ndarray, feature: int, target: int,
             grid: np.ndarray) -> dict[str, np.ndarray]:
    """`partial_dependence` through the model's global predict function (a runner's ``fn``)."""
    return partial_dependence(global_predict_fn(model), x, feature, target, grid)


# ---------------------------------------------------------------- images and texts


def global_unavailable(model: Any, kind: str, sample: np.ndarray, method: str,
                       codec: Any = None) -> str | None:
    """None if ``method``'s gradients apply to this model and kind, else why not (a runner's
    ``fn``; ``sample`` is one row with its batch axis; ``codec`` a token-id model's)."""

    if method not in IMAGE_METHODS:
        raise ValueError(f"method must be one of {', '.join(IMAGE_METHODS)}, got {method!r}")
    subject = Subject(x=np.asarray(sample)[:1], kind=kind, predict_fn=lambda v: v,
                      model=model, codec=codec)
    return REGISTRY[method].unavailable(subject)


def _attributions(model: Any, point: np.ndarray, target: int, method: str,
                  steps: int, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-element attributions of output ``target`` at each row of ``point`` (N, ...),
    and each row's completeness gap (IG; zeros otherwise), relative to |f(x) - f(0)|.
    ``ids`` (N, L): a token-id model's ids beside its Embedding output ``point``."""

    point = np.asarray(point, dtype=np.float32)
    if method != "ig":
        _, grads = input_gradients(model, point, target, ids=ids)
        attr = grads * point if method == "gradxinput" else grads
        return attr, np.zeros(len(point))
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    rule = np.full(steps + 1, 1.0 / steps)
    rule[[0, -1]] /= 2  # the trapezoid rule on [0, 1], baseline zeros
    size = max(1, int(np.prod(point.shape[1:])))
    per_batch = max(1, GRADIENT_BYTES // (size * 4 * (steps + 1)))
    attrs, gaps = [], []
    for start in range(0, len(point), per_batch):
        rows = point[start:start + per_batch]
        path = alphas.reshape(1, -1, *([1] * (rows.ndim - 1))) * rows[:, None]
        row_ids = None if ids is None else np.repeat(ids[start:start + per_batch], steps + 1,
                                                     axis=0)
        outputs, grads = input_gradients(model, path.reshape(-1, *rows.shape[1:]), target,
                                         ids=row_ids)
        grads = grads.reshape(len(rows), steps + 1, *rows.shape[1:])
        attr = np.tensordot(rule, grads, axes=([0], [1])) * rows
        outputs = outputs.reshape(len(rows), steps + 1)
        moved = outputs[:, -1] - outputs[:, 0]
        total = attr.reshape(len(rows), -1).sum(axis=1)
        gaps.append(np.abs(total - moved) / np.maximum(np.abs(moved), 1e-12))
        attrs.append(attr)
    return np.concatenate(attrs), np.concatenate(gaps)


def _by_target(classes: np.ndarray, n_outputs: int, task: str):
    """(target, sign, row indices) for each group of rows explained the same way."""
    groups: dict[tuple[int, float], list[int]] = {}
    for i, cls in enumerate(np.asarray(classes, dtype=np.int64)):
        groups.setdefault(class_target(int(cls), n_outputs, task), []).append(i)
    return [(t, s, np.asarray(rows)) for (t, s), rows in groups.items()]


def class_map_sums(model: Any, x: np.ndarray, classes: np.ndarray, n_classes: int,
                   task: str, method: str = "saliency", steps: int = IG_STEPS
                   ) -> dict[str, np.ndarray]:
    """Sums of each row's attribution map towards its class (a runner's ``fn``).

    ``x`` (R, h, w, c) images, ``classes`` (R,) the class each row is explained for (the
    predicted one). Maps are summed over channels. Returns ``sums`` and ``abs_sums``
    (n_classes, h, w), ``counts`` (n_classes,) and ``gaps`` (R,) (IG's relative
    completeness gap per row, zeros for the single-pass methods): chunk sums add up, the
    page divides by the counts at the end.
    """

    x = np.asarray(x, dtype=np.float32)
    sums = np.zeros((n_classes, *x.shape[1:3]))
    abs_sums = np.zeros_like(sums)
    counts = np.zeros(n_classes, np.int64)
    gaps = np.zeros(len(x))
    classes = np.asarray(classes, dtype=np.int64)
    for target, sign, rows in _by_target(classes, outputs_of(model), task):
        attr, gap = _attributions(model, x[rows], target, method, steps)
        maps = sign * attr.reshape(*attr.shape[:3], -1).sum(axis=-1)
        np.add.at(sums, classes[rows], maps)
        np.add.at(abs_sums, classes[rows], np.abs(maps))
        np.add.at(counts, classes[rows], 1)
        gaps[rows] = gap
    return {"sums": sums, "abs_sums": abs_sums, "counts": counts, "gaps": gaps}


def class_means(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums (C, ...) divided by counts (C,); a class without rows is all NaN."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1, *([1] * (sums.ndim - 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)


def token_rows(model: Any, texts: np.ndarray, classes: np.ndarray, task: str,
               method: str = "gradxinput", steps: int = IG_STEPS,
               codec: Any = None) -> dict[str, Any]:
    """One value per token of each text, towards the row's class (a runner's ``fn``).

    The gradient methods' token values: taken at the Embedding output and summed over the
    embedding dimension (`components.explain.methods.gradients`); Saliency is the gradient's
    dot product with the token's embedding (the explain page's default ``token_reduce``,
    which makes it Gradient x input here), IG integrates from an all-zero embedding.
    Returns ``tokens`` (a list of R tuples of str, `text_tokens.tokens_of` cut to the
    model's sequence length) and ``values`` (R, L) float64, NaN past each text's tokens.
    """

    if task_model(model) is not None:  # KerasHub: per word, at the token embeddings
        from components.explain.methods import keras_hub_gradients

        return keras_hub_gradients.token_rows(
            model, texts, _by_target(classes, outputs_of(model), task), method,
            lambda points, target, ids: _attributions(model, points, target, method, steps,
                                                      ids)[0])
    texts = np.asarray(texts, dtype=object).reshape(-1)
    ids = None if codec is None else codec.encode(texts)
    points = embed_texts(model, texts) if ids is None else embed_ids(model, ids)  # (R, L, D)
    per_token = np.zeros(points.shape[:2])
    for target, sign, rows in _by_target(classes, outputs_of(model), task):
        attr, _ = _attributions(model, points[rows], target, method, steps,
                                None if ids is None else ids[rows])
        if method == "saliency":  # the raw gradient's plain sum means nothing per token
            attr = attr * points[rows]
        per_token[rows] = sign * attr.sum(axis=-1)
    if codec is None:
        tokens = [tokens_of(model, str(text))[:points.shape[1]] for text in texts]
        where = [np.arange(len(row)) for row in tokens]
    else:
        tokens = [codec.tokens(str(text)) for text in texts]
        where = [codec.positions(str(text)) for text in texts]
    values = np.full(per_token.shape, np.nan)
    for i, at in enumerate(where):
        values[i, :len(at)] = per_token[i, at]
    return {"tokens": tokens, "values": values}


def top_tokens(tokens: Sequence[Sequence[str]], values: np.ndarray, classes: np.ndarray,
               class_names: Sequence[str], *, top_k: int = 10,
               min_count: int = 2) -> pd.DataFrame:
    """The ``top_k`` tokens with the largest mean attribution towards each class.

    Over the rows of that class (``classes`` (R,)), every occurrence of a token counts
    once; tokens seen fewer than ``min_count`` times in the class are left out (one
    occurrence is an anecdote). Columns: class, token, mean attribution, occurrences,
    rows (texts of the class holding it); sorted by class, then mean attribution.
    """
    records = []
    classes = np.asarray(classes, dtype=np.int64)
    for i, row in enumerate(tokens):
        for j, token in enumerate(row):
            if np.isfinite(values[i, j]):
                records.append((int(classes[i]), str(token), float(values[i, j]), i))
    frame = pd.DataFrame(records, columns=["cls", "token", "value", "row"])
    columns = ["class", "token", "mean attribution", "occurrences", "rows"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    stats = frame.groupby(["cls", "token"], sort=False).agg(
        mean=("value", "mean"), occurrences=("value", "size"), rows=("row", "nunique"))
    stats = stats[stats["occurrences"] >= min_count].reset_index()
    stats = stats.sort_values(["cls", "mean", "token"], ascending=[True, False, True])
    stats = stats.groupby("cls", sort=True).head(top_k)
    names = list(class_names)
    stats["class"] = [names[c] if 0 <= c < len(names) else str(c) for c in stats["cls"]]
    stats = stats.rename(columns={"mean": "mean attribution"})
    return stats[columns].reset_index(drop=True)
