"""Is an explanation faithful, stable, sane? What the Quality page computes, without Streamlit.

Faithfulness (deletion and insertion curves). The sample's units (tabular: features; images:
pixels, ranked by their attribution summed over the channels; text: tokens) are ranked by
their signed attribution, descending: the unit that pushes the target output up most comes
first, the ones that push it down come last. (Ranking by |value| would remove strong
negative evidence early, which raises the output and blurs the curve.) Deletion removes the
units in that order and records the target output after each step; insertion starts from the
all-removed input and adds them back in the same order. "Removed" means:

* tabular: the feature takes the dataset's mean (`removal_baseline`, over every row);
* images: the pixel (all its channels) takes the fill, zero or the dataset's mean image;
  pixels go in chunks so a curve has at most `MAX_STEPS` steps;
* text: the token is dropped and the text rebuilt from the remaining tokens (`masked_texts`).

Both curves of one attribution go through ONE batched predict call. The x axis is the
fraction of units removed (deletion) or added (insertion), in [0, 1]; the area under each
curve is the trapezoid rule over it, in the units of the output. A faithful attribution has a
low deletion area (the output falls fast) and a high insertion area (it rises fast); a
random removal order (`reference_curves_of`) is the reference to beat.

Stability: the same method run with k seeds; per feature the mean and standard deviation of
its value over the seeds, and whether its sign flips (`sign_flips`). Images are summarised
per pixel block (`stability_units`), texts per token.

Sanity (Adebayo et al. 2018, model randomisation): a copy of the model whose learned weights
are re-drawn from the layers' initialisers (`randomised_model`), and each gradient method's
attribution of the same sample on both models, compared by Spearman rank correlation
(images over pixel blocks, as the Explain page's agreement compares them). An
explanation that stays the same when the model's weights are random does not explain the
model. Functions that take ``model`` first run through ``bundle.runner.run`` and return
plain dicts of arrays, numbers and strings (they cross the worker's reply filter).
"""

from __future__ import annotations

import math
import random
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from components.explain.agreement import (
    UNSIGNED_METHODS,
    comparable_vectors,
    image_block,
    method_label,
    pool_image,
    spearman_rho,
)
from components.explain.local import bound, encoded, explain_one
from components.explain.methods import REGISTRY
from components.explain.methods.base import Subject
from components.explain.methods.masking import sample_tokens
from components.explain.methods.targets import check_target
from components.explain.methods.text_tokens import masked_texts
from components.model.keras_hub_text import rebuilt, task_model
from components.model.predict import predict_fn_of

MAX_STEPS = 50           # at most this many removal steps per curve
FILLS = ("zero", "mean")  # what a removed pixel becomes
MODES = ("deletion", "insertion")
UNITS = {"tabular": "features", "image": "pixels", "text": "tokens"}
STOCHASTIC = ("lime", "shap", "smoothgrad")  # methods whose result depends on the seed
GRADIENT_METHODS = tuple(name for name, e in REGISTRY.items() if e.family == "gradient")
CHANGED_BELOW = 0.5      # |Spearman| below this: the randomised model's attribution changed
CURVE_GRID = 101         # points of the common x grid the mean curves are drawn on
TOP_BLOCKS = 20          # image stability: the blocks shown, by mean |value|
FLIP_TOLERANCE = 0.01    # |value| under 1 % of the largest is "no sign" for sign flips
REFERENCE = "random"     # the random-order reference, listed with the methods


def method_name(method: str) -> str:
    """What the page calls a method; the random order is "Random order (reference)"."""
    return "Random order (reference)" if method == REFERENCE else method_label(method)


# ---------------------------------------------------------------- removing units


def removal_baseline(kind: str, x: np.ndarray, fill: str = "mean") -> np.ndarray | None:
    """What a removed unit becomes, shaped like one sample; None for text (tokens drop).

    ``x`` is the whole dataset (N, ...). Tabular: the mean of each feature over the rows
    (NaN ignored) whatever ``fill``. Images: zeros (``fill="zero"``) or the mean image.
    """
    if kind == "text":
        return None
    if kind not in UNITS:
        raise ValueError(f"kind must be one of {', '.join(UNITS)}, got {kind!r}")
    x = np.asarray(x, dtype=np.float64)
    if kind == "image" and fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if kind == "image" and fill == "zero":
        return np.zeros(x.shape[1:])
    mean = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1:])
    return np.nan_to_num(mean)


def unit_scores(values: np.ndarray, kind: str) -> np.ndarray:
    """One score per removable unit (n,): features and tokens as they are, an image's
    pixels as their values summed over the channels (row-major). NaN counts as 0."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if kind == "image":
        if values.ndim != 3:
            raise ValueError(f"image attributions are (h, w, c), got {values.shape}")
        values = values.sum(axis=-1)
    return values.ravel()


def removal_steps(scores: np.ndarray, max_steps: int = MAX_STEPS) -> list[np.ndarray]:
    """The units by descending score (ties: lower index first), cut into at most
    ``max_steps`` consecutive groups of near-equal size: step k removes group k."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise ValueError("there is nothing to remove: the sample has no features or tokens")
    order = np.argsort(-scores, kind="stable")
    return np.array_split(order, min(scores.size, max(1, int(max_steps))))


def presence(steps: Sequence[np.ndarray], n_units: int, mode: str) -> np.ndarray:
    """(len(steps) + 1, n_units) bool, row k = which units are present after k steps.

    Deletion starts with every unit present and removes ``steps[k - 1]`` at step k;
    insertion starts with none and adds them in the same order.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    done = np.zeros((len(steps) + 1, n_units), dtype=bool)
    for k, group in enumerate(steps, start=1):
        done[k:, group] = True
    return ~done if mode == "deletion" else done


def perturbed_inputs(sample: Any, present: np.ndarray, kind: str,
                     baseline: np.ndarray | None = None,
                     tokens: Sequence[str] | None = None, codec: Any = None) -> np.ndarray:
    """One model input per row of ``present``: absent units take the baseline (tabular,
    images; (N, f) or (N, h, w, c) float32) or are dropped (text; (N,) object of str)."""
    present = np.asarray(present, dtype=bool)
    if kind == "text":
        if tokens is None:
            raise ValueError("text needs its tokens to drop them")
        if codec is not None:  # token ids: a removed token becomes the mask id, in place
            return codec.fill(tuple(tokens), present)
        return masked_texts(tuple(tokens), present)
    sample = np.asarray(sample, dtype=np.float32)
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float32), sample.shape)
    if kind == "image":
        present = present.reshape(len(present), *sample.shape[:2], 1)
    return np.where(present, sample[None], base[None]).astype(np.float32)


def area_under_curve(fractions: np.ndarray, outputs: np.ndarray) -> float:
    """The trapezoid rule: sum of (x[i+1] - x[i]) * (y[i] + y[i+1]) / 2."""
    x, y = np.asarray(fractions, dtype=np.float64), np.asarray(outputs, dtype=np.float64)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def faithfulness_curves(predict_fn: Any, sample: Any, values: np.ndarray, target: int,
                        kind: str, *, baseline: np.ndarray | None = None,
                        tokens: Sequence[str] | None = None, codec: Any = None,
                        max_steps: int = MAX_STEPS) -> dict[str, Any]:
    """Deletion and insertion curves of one attribution, from one batched predict call.

    Returns {"fraction" (S+1,), "deletion" (S+1,), "insertion" (S+1,), "deletion_auc",
    "insertion_auc", "units" n, "steps" S, "order" (n,) the units in removal order}.
    ``fraction[k]`` is the share of units removed (deletion) or added (insertion) after k
    steps; the curves hold the model's output ``target`` there.
    """
    scores = unit_scores(values, kind)
    if tokens is not None and len(tokens) != scores.size:
        raise ValueError(f"{scores.size} attribution values for {len(tokens)} tokens")
    steps = removal_steps(scores, max_steps)
    n = scores.size
    masks = np.vstack([presence(steps, n, "deletion"), presence(steps, n, "insertion")])
    batch = perturbed_inputs(sample, masks, kind, baseline, tokens, codec)
    out = np.asarray(predict_fn(batch), dtype=np.float64).reshape(len(masks), -1)
    target = check_target(target, out.shape[1])
    half = len(steps) + 1
    deletion, insertion = out[:half, target], out[half:, target]
    fraction = np.concatenate([[0], np.cumsum([len(g) for g in steps])]) / n
    return {"fraction": fraction, "deletion": deletion, "insertion": insertion,
            "deletion_auc": area_under_curve(fraction, deletion),
            "insertion_auc": area_under_curve(fraction, insertion),
            "units": int(n), "steps": len(steps), "order": np.concatenate(steps)}


def curves_of(model: Any, subject: Subject, values: np.ndarray, target: int,
              baseline: np.ndarray | None) -> dict[str, Any]:
    """`faithfulness_curves` for one subject on ``model`` (a runner function)."""
    tokens = None
    if subject.kind == "text":
        if subject.codec is None and "string" not in str(model.inputs[0].dtype):
            raise ValueError("dropping tokens needs a model that reads text")
        tokens = sample_tokens(replace(subject, model=model))
    predict_fn = encoded(predict_fn_of(model), subject.codec)
    return faithfulness_curves(predict_fn, subject.sample, values, target, subject.kind,
                               baseline=baseline, tokens=tokens, codec=subject.codec)


def reference_curves_of(model: Any, subject: Subject, target: int,
                        baseline: np.ndarray | None, seed: int) -> dict[str, Any]:
    """The curves of a random removal order (`random_values`): the reference to beat
    (a runner function; a text's token count comes from the model's tokenizer)."""
    if subject.kind == "text":
        shape: tuple[int, ...] = (len(sample_tokens(replace(subject, model=model))),)
    else:
        shape = np.shape(subject.sample)
    return curves_of(model, subject, random_values(shape, seed), target, baseline)


def random_values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Uniform random "attributions" shaped like ``shape``: a random removal order, the
    reference any method should beat (seeded: the same seed, the same order)."""
    return np.random.default_rng(seed).random(shape)


def sample_rows(n_rows: int, count: int, seed: int) -> list[int]:
    """``count`` distinct row indices of ``n_rows`` (all if fewer), drawn with ``seed``,
    in increasing order."""
    if n_rows < 1:
        raise ValueError("the dataset has no rows")
    count = max(1, min(int(count), n_rows))
    picks = np.random.default_rng(seed).choice(n_rows, size=count, replace=False)
    return sorted(int(r) for r in picks)


# ---------------------------------------------------------------- averaging over rows


def mean_curves(curves: Sequence[Mapping[str, Any]],
                grid: int = CURVE_GRID) -> dict[str, np.ndarray]:
    """The curves of several rows on one x grid (linear between steps, as the trapezoid
    rule reads them): {"fraction" (G,), "deletion"/"insertion" mean (G,), and
    "deletion_std"/"insertion_std" (G,)}. Rows may have different step counts (texts)."""
    if not curves:
        raise ValueError("no curves to average")
    x = np.linspace(0.0, 1.0, grid)
    out: dict[str, np.ndarray] = {"fraction": x}
    for mode in MODES:
        stack = np.vstack([np.interp(x, c["fraction"], c[mode]) for c in curves])
        out[mode], out[f"{mode}_std"] = stack.mean(axis=0), stack.std(axis=0)
    return out


def auc_table(per_method: Mapping[str, Sequence[Mapping[str, Any]]]) -> pd.DataFrame:
    """One row per method: "rows", and the mean and standard deviation (over rows,
    ddof=0) of the deletion and insertion areas. Indexed by method name, in the given
    order; a method without curves is left out."""
    records = {}
    for method, curves in per_method.items():
        if not curves:
            continue
        deletion = np.array([c["deletion_auc"] for c in curves], dtype=np.float64)
        insertion = np.array([c["insertion_auc"] for c in curves], dtype=np.float64)
        records[method] = {"rows": len(curves),
                           "deletion_auc_mean": deletion.mean(),
                           "deletion_auc_std": deletion.std(),
                           "insertion_auc_mean": insertion.mean(),
                           "insertion_auc_std": insertion.std()}
    columns = ["rows", "deletion_auc_mean", "deletion_auc_std", "insertion_auc_mean",
               "insertion_auc_std"]
    return pd.DataFrame.from_dict(records, orient="index", columns=columns)


def sample_auc_frame(curves: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One sample's areas, a row per method (in the given order): "method" (its label),
    "deletion AUC", "insertion AUC" and "steps"."""
    return pd.DataFrame({
        "method": [method_name(m) for m in curves],
        "deletion AUC": [float(c["deletion_auc"]) for c in curves.values()],
        "insertion AUC": [float(c["insertion_auc"]) for c in curves.values()],
        "steps": [int(c["steps"]) for c in curves.values()]})


def auc_display(table: pd.DataFrame) -> pd.DataFrame:
    """`auc_table` as the page shows it: "method", "rows", and "mean ± std" text for the
    deletion and insertion areas (4 significant digits)."""
    def both(mean: float, std: float) -> str:
        return f"{mean:.4g} ± {std:.2g}"

    return pd.DataFrame({
        "method": [method_name(m) for m in table.index],
        "rows": table["rows"].astype(int).to_numpy(),
        "deletion AUC (lower is better)": [
            both(m, s) for m, s in zip(table["deletion_auc_mean"], table["deletion_auc_std"],
                                       strict=True)],
        "insertion AUC (higher is better)": [
            both(m, s) for m, s in zip(table["insertion_auc_mean"],
                                       table["insertion_auc_std"], strict=True)]})


# ---------------------------------------------------------------- stability


def sign_flips(runs: np.ndarray, rel_tol: float = FLIP_TOLERANCE) -> np.ndarray:
    """(n,) bool: the feature is clearly positive in one run and clearly negative in
    another. ``runs`` is (k, n), one row per seed; values within ``rel_tol`` (1 %) x the
    largest |value| of all runs count as zero, without a sign: a feature the method deems
    negligible wobbling around 0 is noise, not a flip."""
    runs = np.asarray(runs, dtype=np.float64)
    if runs.ndim != 2:
        raise ValueError(f"runs must be (seeds, features), got shape {runs.shape}")
    eps = rel_tol * float(np.max(np.abs(runs), initial=0.0))
    return (runs > eps).any(axis=0) & (runs < -eps).any(axis=0)


def spread(runs: np.ndarray) -> dict[str, np.ndarray]:
    """Per feature over the seeds: "mean", "std" (ddof=0) and "flips" (`sign_flips`)."""
    runs = np.asarray(runs, dtype=np.float64)
    return {"mean": runs.mean(axis=0), "std": runs.std(axis=0), "flips": sign_flips(runs)}


def stability_units(runs: Sequence[np.ndarray], kind: str,
                    names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The runs as (k, n) with a label per unit. Tabular and text: as they are, labelled
    by ``names`` (features, tokens). Images: summed over channels and over pixel blocks
    (`agreement.pool_image`, about 8 x 8 blocks), labelled by their pixel rows and cols."""
    arrays = [np.nan_to_num(np.asarray(r, dtype=np.float64)) for r in runs]
    if not arrays:
        raise ValueError("no runs to compare")
    if kind != "image":
        stack = np.vstack([a.ravel() for a in arrays])
        n = stack.shape[1]
        labels = [str(x) for x in names] if names is not None and len(names) == n else \
            [f"feature {i}" for i in range(n)]
        return stack, labels
    h, w = arrays[0].shape[:2]
    side = image_block(h, w)
    stack = np.vstack([pool_image(a, side).ravel() for a in arrays])
    cols = -(-w // side)
    labels = [_block_label(i // cols, i % cols, side, h, w) for i in range(stack.shape[1])]
    return stack, labels


def _block_label(r: int, c: int, side: int, h: int, w: int) -> str:
    rows = f"{r * side}–{min(h, (r + 1) * side) - 1}"
    cols = f"{c * side}–{min(w, (c + 1) * side) - 1}"
    return f"rows {rows}, cols {cols}"


def std_map(runs: Sequence[np.ndarray]) -> np.ndarray:
    """Images: the standard deviation over the seeds of each pixel's value summed over the
    channels, (h, w)."""
    planes = np.stack([np.asarray(r, dtype=np.float64).sum(axis=-1) for r in runs])
    return planes.std(axis=0)


def top_units(mean: np.ndarray, top: int = TOP_BLOCKS) -> np.ndarray:
    """Indices of the ``top`` largest |mean| (ties: lower index first)."""
    return np.argsort(-np.abs(np.asarray(mean, dtype=np.float64)), kind="stable")[:top]


# ---------------------------------------------------------------- sanity: a randomised model

# model -> {seed: (randomised copy, report)}; the copies die with their model.
_RANDOMISED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KEEP_COPIES = 2  # seeds kept per model
# The global seeds are process-wide and sessions share a sample's model: one copy at a time.
_SEEDING = threading.RLock()


def randomised_model(model: Any, seed: int) -> tuple[Any, dict[str, list[str]]]:
    """A copy of ``model`` with its learned weights re-initialised, and what was done:
    {"randomised": layer names, "kept": layer names}. Made once per (model, seed).

    `keras.models.clone_model` rebuilds every layer from its config, so each weight is
    drawn anew from its layer's initialiser (seeded with `keras.utils.set_random_seed`;
    Python's and NumPy's global random states are restored afterwards). Then the state of
    the preprocessing layers is copied back from the original (`_is_preprocessing`:
    Normalization's mean and variance, TextVectorization's vocabulary, ...), so only what
    training learned is random: Dense/Conv kernels and biases, embeddings, BatchNormalization
    (its moving statistics too), frozen layers included.
    """
    with _SEEDING:
        copies = _RANDOMISED.get(model)
        if copies is None:
            copies = _RANDOMISED[model] = {}
        if seed not in copies:
            while len(copies) >= _KEEP_COPIES:
                copies.pop(next(iter(copies)))
            copies[seed] = _randomise(model, seed)
        return copies[seed]


def _randomise(model: Any, seed: int) -> tuple[Any, dict[str, list[str]]]:
    import keras

    with _SEEDING:
        states = random.getstate(), np.random.get_state()
        try:
            keras.utils.set_random_seed(int(seed))
            copy = rebuilt(model) if task_model(model) is not None else \
                keras.models.clone_model(model)
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
    kept, randomised = [], []
    for original, fresh in zip(_leaf_layers(model), _leaf_layers(copy), strict=True):
        if _is_preprocessing(original):
            _copy_state(original, fresh)
            kept.append(original.name)
        elif original.weights:
            randomised.append(original.name)
    if not randomised:
        raise ValueError("the model has no learned weights to randomise")
    return copy, {"randomised": randomised, "kept": kept}


def _leaf_layers(model: Any) -> list[Any]:
    """Every layer that is not itself a model, nested models walked in order."""
    out = []
    for layer in model.layers:
        inner = getattr(layer, "layers", None)
        out.extend(_leaf_layers(layer) if inner else [layer])
    return out


def _is_preprocessing(layer: Any) -> bool:
    """Keras' preprocessing layers, and any trainable layer whose weights are all
    non-trainable by design (state computed from data, not learned by training)."""
    if ".preprocessing." in type(layer).__module__:
        return True
    return bool(layer.weights) and bool(layer.trainable) and not layer.trainable_weights


def _copy_state(original: Any, fresh: Any) -> None:
    if original.weights:
        fresh.set_weights(original.get_weights())
        finalize = getattr(fresh, "finalize_state", None)
        if callable(finalize):  # Normalization reads its mean and variance from here
            finalize()
    if hasattr(original, "get_vocabulary") and hasattr(fresh, "set_vocabulary"):
        fresh.set_vocabulary(original.get_vocabulary())


def sanity_verdict(rho: float, *, original_flat: bool = False,
                   randomised_flat: bool = False) -> tuple[bool | None, str]:
    """(changed, a plain sentence) for the Spearman correlation between the original
    model's attribution and the randomised model's; changed is None when there is nothing
    to compare (the original attribution gives every feature the same value)."""
    if original_flat:
        return None, ("cannot tell: on the original model this method gives every feature "
                      "the same value, so there is no ranking to compare")
    if randomised_flat or math.isnan(rho):
        return True, "changed: on the randomised model every feature gets the same value"
    if abs(rho) < CHANGED_BELOW:
        return True, f"changed (Spearman {rho:.2f}): the method depends on the learned weights"
    kept = ", the ranking reversed but kept" if rho < 0 else ""
    return False, (f"did NOT change (Spearman {rho:.2f}{kept}) — this method may not "
                   "reflect the model")


def sanity_of(model: Any, subject: Subject, methods: Sequence[str], target: int,
              seed: int = 0) -> dict[str, Any]:
    """Each gradient method on ``subject`` for ``model`` and its randomised copy.

    Returns {"methods": {name: {"original", "randomised" (values shaped like the sample),
    "original_vector", "randomised_vector" (flat; images pooled into blocks), "spearman"
    (signed; of |values| for Grad-CAM), "spearman_abs", "changed", "verdict"}},
    "skipped": {name: reason}, "randomised_layers", "kept_layers"}. Both models use the
    method's seed 0, so SmoothGrad's noise is the same draw on both.
    """
    copy, report = randomised_model(model, seed)
    original, shuffled = bound(model, subject), bound(copy, subject)
    done, skipped = {}, {}
    for name in methods:
        if name not in GRADIENT_METHODS:
            skipped[name] = "not a gradient method: the sanity check reruns gradients"
            continue
        reason = REGISTRY[name].unavailable(original)
        if reason is not None:
            skipped[name] = reason
            continue
        try:
            done[name] = _compare(name, original, shuffled, target)
        except ValueError as err:
            skipped[name] = str(err)
    return {"methods": done, "skipped": skipped, "randomised_layers": report["randomised"],
            "kept_layers": report["kept"]}


def _compare(name: str, original: Subject, shuffled: Subject, target: int) -> dict[str, Any]:
    first = explain_one(original, name, target, 0)
    second = explain_one(shuffled, name, target, 0)
    vectors = comparable_vectors({"original": first, "randomised": second})
    a, b = vectors["original"], vectors["randomised"]
    unsigned = name in UNSIGNED_METHODS
    rho = spearman_rho(a, b, absolute=unsigned)
    changed, verdict = sanity_verdict(rho, original_flat=_flat(a, unsigned),
                                      randomised_flat=_flat(b, unsigned))
    return {"original": np.asarray(first.values), "randomised": np.asarray(second.values),
            "original_vector": a, "randomised_vector": b, "spearman": float(rho),
            "spearman_abs": float(spearman_rho(a, b, absolute=True)), "changed": changed,
            "verdict": verdict}


def _flat(vector: np.ndarray, unsigned: bool) -> bool:
    """Every entry the same (|entry| for an unsigned method): no ranking."""
    vector = np.abs(vector) if unsigned else np.asarray(vector)
    return vector.size < 2 or float(np.ptp(vector)) == 0.0
