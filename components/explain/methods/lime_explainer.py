"""LIME: a weighted linear model fitted to the model's answers around one sample.

Black-box: only ``subject.predict_fn`` is called, once per explanation for the whole batch
of perturbed samples (plus once on the sample itself). For text, ``tokens_of`` reads the
model's tokenizer settings to split the text; the model is never run directly.

What the values mean, per kind:

* tabular — lime's local linear model with ``discretize_continuous=False`` and
  ``sample_around_instance=True``: perturbed rows are drawn from a normal centred on the row
  itself with the background's standard deviation per feature (not around the background's
  mean, lime's default, which explains the dataset's centre rather than this row), and the
  linear model is fitted on features standardised by the background's mean and standard
  deviation. Its weight for a feature is a slope: the change in the target output per one
  background standard deviation of that feature. ``values="contribution"`` (the default)
  reports weight x the row's standardised offset from the reference, the background mean,
  (x - mean) / std: each feature's share of f(x) - f(mean) as the local linear model sees
  it, so for a near-linear model the values sum roughly to f(x) - f(mean), as SHAP's sum to
  f(x) - E[f]. ``values="slope"`` reports the raw weights, a sensitivity (the Attribution's
  ``output_kind`` says which). A one-unit sigmoid or a multi-label output is explained as
  the two-class problem [1 - p, p]; a regression head in LIME's regression mode.
* image — the image is cut into segments (`masking.segment_image`); a perturbation switches
  segments off by painting them with the fill (``"zero"``, ``"mean"`` of the background, or
  a number). Each segment's weight is spread over its pixels and channels, divided by
  (pixels x channels), so ``values.sum()`` is the sum of the segment weights, the same
  convention as SHAP's image values.
* text — one feature per token of ``tokens_of(model, text)``, position by position (the
  same word twice is two features); a perturbation drops tokens, as SHAP does. The
  neighbourhood is lime_text's (`text_neighbourhood`, drawn with numpy) and the fit is
  lime's own `LimeBase`.

Images and texts need no offset: their interpretable features are presence (1 = the segment
or token as it is, 0 = removed), the sample is all ones and the reference all zeros, so a
weight x (1 - 0) is already the feature's contribution; ``values`` changes nothing there (it
is not recorded in their ``params``) and the result is always a contribution.

Same seed, same values: lime gets ``random_state=seed`` (text: a numpy ``RandomState(seed)``)
and nothing else is random.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from components.explain.methods import masking
from components.explain.methods.base import Attribution, Stopwatch, Subject
from components.explain.methods.targets import check_target

AUTO = masking.AUTO
AUTO_SAMPLES = {"tabular": 1000, "image": 500, "text": 500}
# Images: "auto" is what the model's measured cost affords in `budget.BLACKBOX_S`, from 100
# to 500 (`masking.image_samples`), with fewer segments when there are fewer samples.
IMAGE_SAMPLES = (100, 500)
# lime's own defaults: sqrt(features) * 0.75 for tabular, 0.25 (cosine) for images, 25
# (cosine x 100) for text.
AUTO_KERNEL_WIDTH = {"image": 0.25, "text": 25.0}
# What a tabular value is: the weight x standardised offset, or the weight itself.
VALUES = ("contribution", "slope")


class LimeExplainer(masking.BlackboxExplainer):
    """LIME for tabular rows, images and texts; see the module docstring for the values."""

    name = "lime"
    label = "LIME"
    output = "contribution"  # with values="slope" (tabular) a result is a sensitivity
    defaults: dict[str, Any] = {
        "num_samples": AUTO,        # perturbed samples: 1000 tabular, 500 text, image timed
        "kernel_width": AUTO,       # lime's default width for the kind
        "sample_around_instance": True,  # tabular: draw around the row (False: the mean)
        "values": "contribution",   # tabular: weight x standardised offset, or "slope"
        "n_segments": AUTO,         # images: about one segment per 16 pixels, 8..64
        "compactness": masking.DEFAULT_COMPACTNESS,  # images: SLIC compactness
        "fill": "zero",             # images: what a switched-off segment becomes
    }

    def choices(self, subject: Subject) -> dict[str, list]:
        """The picker's options: the image fill and what a tabular value is (none for images
        and texts, where both are the same numbers)."""
        return {**super().choices(subject),
                "values": list(VALUES) if subject.kind == "tabular" else []}

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution:
        settings, seed = self.prepare(subject, params, seed)
        if settings["values"] not in VALUES:
            raise ValueError(f"values must be one of {', '.join(VALUES)}, not "
                             f"{settings['values']!r}")
        slope = subject.kind == "tabular" and settings["values"] == "slope"
        num_samples = settings["num_samples"]
        chosen: dict[str, float] = {}
        if subject.kind != "image":
            num_samples = AUTO_SAMPLES[subject.kind] if masking.is_auto(num_samples) else \
                masking.check_count("num_samples", num_samples, 10)
        with Stopwatch() as watch:
            n_outputs = np.asarray(subject.predict_fn(subject.x)).reshape(1, -1).shape[1]
            target = check_target(target, n_outputs)
            if subject.kind == "image":  # a big image model cannot afford 500: it is timed
                num_samples, chosen = masking.image_samples(
                    subject, "num_samples", num_samples, IMAGE_SAMPLES[0], IMAGE_SAMPLES[1],
                    step=50)
            explain_kind = {"tabular": _tabular, "image": _image, "text": _text}[subject.kind]
            values, names, used, extras = explain_kind(subject, target, seed, num_samples,
                                                       settings)
            extras = {**extras, **({"chosen_from": chosen} if chosen else {})}
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError("the model returned non-finite scores for perturbed samples")
        return Attribution(values=values, method=self.name, target=target,
                           params={"seed": seed, "num_samples": num_samples, **used},
                           seconds=watch.seconds, feature_names=names, extras=extras,
                           output_kind="sensitivity" if slope else "contribution")


def _kernel_width(value: Any, auto: float) -> float:
    if masking.is_auto(value):
        return float(auto)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not math.isfinite(value) or value <= 0:
        raise ValueError(f"kernel_width must be 'auto' or a positive number, got {value!r}")
    return float(value)


def _fit_extras(explanation: Any, label: int) -> dict[str, float]:
    """The local model's intercept, its weighted R^2 and its prediction at the sample."""
    return {"intercept": float(explanation.intercept[label]),
            "score": float(explanation.score),
            "local_prediction": float(np.ravel(explanation.local_pred)[0])}


def _weights(explanation: Any, label: int, n: int) -> np.ndarray:
    """lime's (feature, weight) pairs for ``label`` as a dense (n,) vector."""
    values = np.zeros(n)
    for index, weight in explanation.local_exp[label]:
        values[int(index)] = weight
    return values


def _tabular(subject: Subject, target: int, seed: int, num_samples: int,
             settings: dict[str, Any]) -> tuple[np.ndarray, Any, dict, dict]:
    from lime.lime_tabular import LimeTabularExplainer  # deferred: lime pulls in sklearn

    row = np.asarray(subject.x[0], dtype=np.float64)
    background = np.asarray(subject.background, dtype=np.float64)
    n_features = row.shape[0]
    kernel_width = _kernel_width(settings["kernel_width"], math.sqrt(n_features) * 0.75)
    around = settings["sample_around_instance"]
    if not isinstance(around, (bool, np.bool_)):
        raise ValueError(f"sample_around_instance must be true or false, got {around!r}")
    regression = subject.task == "regression"
    predict_fn = subject.predict_fn

    def scores(rows: np.ndarray) -> np.ndarray:
        out = np.asarray(predict_fn(np.asarray(rows, dtype=np.float32)), dtype=np.float64)
        column = out.reshape(len(out), -1)[:, target]
        # One column for regression; [1 - p, p] otherwise, so lime's label 1 is the target
        # whatever the head (softmax, one sigmoid, several sigmoids).
        return column if regression else np.column_stack([1.0 - column, column])

    names = [str(n) for n in subject.feature_names] \
        if subject.feature_names and len(subject.feature_names) == n_features \
        else [f"feature {i}" for i in range(n_features)]
    explainer = LimeTabularExplainer(
        background, mode="regression" if regression else "classification",
        feature_names=names, discretize_continuous=False, kernel_width=kernel_width,
        feature_selection="none", sample_around_instance=bool(around), random_state=seed)
    explanation = explainer.explain_instance(row, scores, labels=(1,), num_features=n_features,
                                             num_samples=num_samples)
    # Regression mode stores the weights under label 1 too (label 0 holds them negated).
    slopes = _weights(explanation, 1, n_features)
    # lime fitted on (x - mean) / scale; the row's own standardised offset from the mean.
    offset = (row - explainer.scaler.mean_) / explainer.scaler.scale_
    values = slopes if settings["values"] == "slope" else slopes * offset
    used = {"kernel_width": kernel_width, "sample_around_instance": bool(around),
            "values": settings["values"]}
    return values, subject.feature_names, used, \
        {**_fit_extras(explanation, 1), "reference": "background mean"}


@functools.cache
def _batched_image_explainer() -> type:
    """lime's `LimeImageExplainer` with ``data_labels`` batched: the perturbed images are
    built with numpy and predicted in one call (lime's own loop copies one image at a time
    and shows a progress bar). The random draws are lime's own, in the same order."""
    from lime.lime_image import LimeImageExplainer

    class BatchedLimeImageExplainer(LimeImageExplainer):
        def data_labels(self, image: np.ndarray, fudged_image: np.ndarray,
                        segments: np.ndarray, classifier_fn: masking.PredictFn,
                        num_samples: int, batch_size: int = 10,
                        ) -> tuple[np.ndarray, np.ndarray]:
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape(
                (num_samples, n_features))
            data[0, :] = 1
            labels = masking.predict_masked_images(classifier_fn, image, segments, data,
                                                    fudged_image)
            return data, labels

    return BatchedLimeImageExplainer


def _image(subject: Subject, target: int, seed: int, num_samples: int,
           settings: dict[str, Any]) -> tuple[np.ndarray, Any, dict, dict]:
    image = np.asarray(subject.x[0], dtype=np.float32)
    height, width, channels = image.shape
    n_segments = masking.resolve_n_segments(settings["n_segments"], height, width,
                                            samples=num_samples)
    compactness = masking.check_compactness(settings["compactness"])
    fill = masking.check_fill(settings["fill"])
    kernel_width = _kernel_width(settings["kernel_width"], AUTO_KERNEL_WIDTH["image"])
    segments = masking.segment_image(image, n_segments, compactness)
    count = int(segments.max()) + 1
    # A (h, w, c) image with an explicit hide colour goes through lime as it is: the
    # batched data_labels masks whole pixels, so a greyscale (h, w, 1) needs no RGB round
    # trip. hide_color is the full fill image (an array broadcasts into lime's copy).
    explainer = _batched_image_explainer()(kernel_width=kernel_width,
                                           feature_selection="none", random_state=seed)
    explanation = explainer.explain_instance(
        image, subject.predict_fn, labels=(target,), hide_color=masking.fill_image(
            image, fill, subject.background),
        top_labels=None, num_features=count, num_samples=num_samples,
        batch_size=num_samples, segmentation_fn=lambda _image: segments, random_seed=seed)
    values = masking.paint_segments(segments, _weights(explanation, target, count), channels)
    used = {"kernel_width": kernel_width, "n_segments": n_segments,
            "compactness": compactness, "fill": fill}
    return values, None, used, {"segments": count, **_fit_extras(explanation, target)}


def _text(subject: Subject, target: int, seed: int, num_samples: int,
          settings: dict[str, Any]) -> tuple[np.ndarray, Any, dict, dict]:
    from lime.lime_base import LimeBase  # deferred: lime pulls in sklearn

    tokens = masking.sample_tokens(subject)
    kernel_width = _kernel_width(settings["kernel_width"], AUTO_KERNEL_WIDTH["text"])
    masks, distances = text_neighbourhood(len(tokens), num_samples, seed)
    scores = masking.predict_masked_texts(subject.predict_fn, tokens, masks,
                                          codec=subject.codec)

    def kernel(d: np.ndarray) -> np.ndarray:  # lime_text's kernel
        return np.sqrt(np.exp(-(d ** 2) / kernel_width ** 2))

    intercept, pairs, score, local_pred = LimeBase(
        kernel, random_state=np.random.RandomState(seed)).explain_instance_with_data(
            masks, scores, distances, target, len(tokens), feature_selection="none")
    values = np.zeros(len(tokens))
    for index, weight in pairs:
        values[int(index)] = weight
    extras = {"intercept": float(intercept), "score": float(score),
              "local_prediction": float(np.ravel(local_pred)[0])}
    return values, tokens, {"kernel_width": kernel_width}, extras


def text_neighbourhood(n_tokens: int, num_samples: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """lime_text's neighbourhood of a text, drawn with numpy in one go.

    Returns the masks (num_samples, n_tokens) of 0/1 float (row 0 keeps every token; each
    other row drops a uniformly drawn number 1..n_tokens of tokens, chosen uniformly) and
    their cosine distances to row 0 times 100, as lime_text computes them: 1 - sqrt(kept /
    n_tokens). lime draws the same distribution one row at a time (and joins each text in
    Python), which is most of its time on a short text.
    """
    rng = np.random.RandomState(seed)
    drops = rng.randint(1, n_tokens + 1, num_samples - 1)
    # The first `drops` tokens of a random permutation per row: rank < drops.
    ranks = np.argsort(np.argsort(rng.random_sample((num_samples - 1, n_tokens)), axis=1),
                       axis=1)
    masks = np.ones((num_samples, n_tokens))
    masks[1:] = ranks >= drops[:, None]
    distances = (1.0 - np.sqrt(masks.sum(axis=1) / n_tokens)) * 100.0
    return masks, distances


EXPLAINER = LimeExplainer()
