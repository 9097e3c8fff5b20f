"""SHAP: Shapley values of the target output, estimated by Kernel SHAP.

Black-box: only ``subject.predict_fn`` is called, once on the sample and once for the whole
batch of coalitions (the empty and full ones included). The estimator is shap's
`KernelExplainer` algorithm run with arrays (`kernel_shap`); the tabular background summary
is shap's own k-means. For text, ``tokens_of`` reads the model's
tokenizer settings to split the text; the model is never run directly.

Kernel SHAP solves its weighted regression under the constraint that the values add up:
``base_value + values.sum() == f(x)[target]`` (up to float rounding; ``extras`` reports the
relative ``additivity_error``). With few enough players every coalition is evaluated and
the values are the exact Shapley values (``extras["exact"]``).

What the players and the base value are, per kind:

* tabular — the features; absent features take the values of a k-means summary of the
  background (k = ``background_size``, at most the number of rows), so ``base_value`` is
  the summary's weighted mean output. Values are in the model's output units.
* image — the segments of `masking.segment_image`; an absent segment is painted with the
  fill (``"zero"``, ``"mean"`` of the background, or a number). The background is the fully
  masked image, so ``base_value = f(all segments filled)[target]``. Each segment's value is
  spread over its pixels and channels, divided by (pixels x channels), so ``values.sum()``
  is the sum of the segment values and additivity holds over the whole array.
* text — the tokens of ``tokens_of(model, text)``, position by position; an absent token is
  dropped, so ``base_value = f("")[target]``.

Same seed, same values: the coalitions are drawn from ``numpy.random.default_rng(seed)``;
numpy's global random state is never touched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from components.explain.methods import masking
from components.explain.methods.base import Attribution, Stopwatch, Subject
from components.explain.methods.kernel_shap import (
    background_summary,
    default_nsamples,
    kernel_shap,
)
from components.explain.methods.targets import check_target

AUTO = masking.AUTO
# Image coalitions on "auto", from the model's measured cost: 100..464, so with the ends (2),
# the sample (1) and the timing calls (32: `budget.TIMED_ROWS` copies, once untimed and
# `budget.TIMINGS` times, once per model) an image takes fewer than 500 model rows.
IMAGE_NSAMPLES = (100, 464)


class ShapExplainer(masking.BlackboxExplainer):
    """Kernel SHAP for tabular rows, images and texts; see the module docstring."""

    name = "shap"
    label = "SHAP"
    output = "contribution"  # base value + sum of values = the output
    defaults: dict[str, Any] = {
        "nsamples": AUTO,           # coalitions: 2 * players + 2048; images: timed, <= 464
        "background_size": 10,      # tabular: k of the k-means background summary
        "n_segments": AUTO,         # images: about one segment per 16 pixels, 8..64
        "compactness": masking.DEFAULT_COMPACTNESS,  # images: SLIC compactness
        "fill": "zero",             # images: what an absent segment becomes
    }

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        settings, seed = self.prepare(subject, params, seed)
        with Stopwatch() as watch:
            prediction = np.asarray(subject.predict_fn(subject.x), dtype=np.float64)
            prediction = prediction.reshape(1, -1)[0]
            target = check_target(target, len(prediction))
            explain_kind = {"tabular": _tabular, "image": _image, "text": _text}[subject.kind]
            values, base_value, names, used, extras = explain_kind(subject, target, seed,
                                                                   settings)
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all() or not np.isfinite(base_value):
            raise ValueError("the model returned non-finite scores for masked samples")
        extras["additivity_error"] = additivity_error(values, base_value, prediction[target])
        return Attribution(values=values, method=self.name, target=target,
                           params={"seed": seed, **used}, seconds=watch.seconds,
                           base_value=float(base_value), feature_names=names, extras=extras)


def additivity_error(values: np.ndarray, base_value: float, output: float) -> float:
    """|base + sum(values) - f(x)| relative to |f(x) - base| (absolute if that is ~0)."""
    gap = abs(float(base_value) + float(np.sum(values)) - float(output))
    scale = abs(float(output) - float(base_value))
    return gap / scale if scale > 1e-9 else gap


def _nsamples(value: Any, players: int) -> int:
    if masking.is_auto(value):
        return default_nsamples(players)
    return masking.check_count("nsamples", value, 10)


def _tabular(subject: Subject, target: int, seed: int,
             settings: dict[str, Any]) -> tuple[np.ndarray, float, Any, dict, dict]:
    row = np.asarray(subject.x[0], dtype=np.float64)
    background = np.asarray(subject.background, dtype=np.float64)
    size = masking.check_count("background_size", settings["background_size"], 1)
    k = min(size, len(background))
    summary = background_summary(background, k)
    rows, row_weights = summary.data, summary.weights / summary.weights.sum()
    # As shap: a feature equal to every background row's value cannot change the output,
    # so it is not a player and its value is 0.
    varying = np.flatnonzero(~np.isclose(rows, row, equal_nan=True).all(axis=0))
    nsamples = _nsamples(settings["nsamples"], len(varying))
    predict_fn = subject.predict_fn
    per_coalition = max(1, masking.CHUNK_BYTES // (rows.size * 4))

    def value(masks: np.ndarray) -> np.ndarray:
        """Each coalition's output averaged over the background rows, (N,)."""
        out = []
        for start in range(0, len(masks), per_coalition):
            chunk = masks[start:start + per_coalition]
            synthetic = np.repeat(rows[None], len(chunk), axis=0)  # (n, k, features)
            present = np.zeros((len(chunk), 1, row.shape[0]), bool)
            present[:, 0, varying] = chunk
            synthetic = np.where(present, row, synthetic).reshape(-1, row.shape[0])
            scores = np.asarray(predict_fn(synthetic.astype(np.float32)), dtype=np.float64)
            out.append(scores.reshape(len(chunk), len(rows), -1)[:, :, target] @ row_weights)
        return np.concatenate(out) if out else np.zeros(0)

    result = kernel_shap(value, len(varying), nsamples, seed)
    values = np.zeros(row.shape[0])
    values[varying] = result.values
    used = {"nsamples": nsamples, "background_size": size}
    return values, result.base_value, subject.feature_names, used, \
        {"exact": result.exact, "background_rows": k, "players": int(len(varying))}


def _image(subject: Subject, target: int, seed: int,
           settings: dict[str, Any]) -> tuple[np.ndarray, float, Any, dict, dict]:
    image = np.asarray(subject.x[0], dtype=np.float32)
    height, width, channels = image.shape
    # Images: "auto" coalitions are what the model's measured cost affords, at most
    # `IMAGE_NSAMPLES[1]`, so the whole explanation stays under 500 model calls.
    nsamples, chosen = masking.image_samples(subject, "nsamples", settings["nsamples"],
                                             *IMAGE_NSAMPLES, step=16)
    n_segments = masking.resolve_n_segments(settings["n_segments"], height, width,
                                            samples=nsamples)
    compactness = masking.check_compactness(settings["compactness"])
    fill = masking.check_fill(settings["fill"])
    segments = masking.segment_image(image, n_segments, compactness)
    count = int(segments.max()) + 1
    fill_image = masking.fill_image(image, fill, subject.background)
    predict_fn = subject.predict_fn

    def value(masks: np.ndarray) -> np.ndarray:
        return masking.predict_masked_images(predict_fn, image, segments, masks,
                                              fill_image)[:, target]

    result = kernel_shap(value, count, nsamples, seed)
    values = masking.paint_segments(segments, result.values, channels)
    used = {"nsamples": nsamples, "n_segments": n_segments, "compactness": compactness,
            "fill": fill}
    extras = {"exact": result.exact, "segments": count, "model_rows": result.coalitions + 2}
    return values, result.base_value, None, used, \
        {**extras, **({"chosen_from": chosen} if chosen else {})}


def _text(subject: Subject, target: int, seed: int,
          settings: dict[str, Any]) -> tuple[np.ndarray, float, Any, dict, dict]:
    tokens = masking.sample_tokens(subject)
    nsamples = _nsamples(settings["nsamples"], len(tokens))
    predict_fn = subject.predict_fn

    def value(masks: np.ndarray) -> np.ndarray:
        return masking.predict_masked_texts(predict_fn, tokens, masks,
                                            codec=subject.codec)[:, target]

    result = kernel_shap(value, len(tokens), nsamples, seed)
    return result.values, result.base_value, tokens, {"nsamples": nsamples}, \
        {"exact": result.exact}


EXPLAINER = ShapExplainer()
