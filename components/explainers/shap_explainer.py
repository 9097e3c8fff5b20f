"""SHAP: Shapley values of the target output, estimated by Kernel SHAP.

Black-box: only ``subject.predict_fn`` is called, once for the background, once for the
sample and once for the whole batch of coalitions. For text, ``tokens_of`` reads the model's
tokenizer settings to split the text; the model is never run directly.

Kernel SHAP solves its weighted regression under the constraint that the values add up:
``base_value + values.sum() == f(x)[target]`` (up to float rounding; ``extras`` reports the
relative ``additivity_error``). With few enough players every coalition is evaluated and
the values are the exact Shapley values (``extras["exact"]``).

What the players and the base value are, per kind:

* tabular — the features; absent features take the values of a k-means summary of the
  background (k = ``background_size``, at most the number of rows), so ``base_value`` is
  the summary's weighted mean output. Values are in the model's output units.
* image — the segments of `_masking.segment_image`; an absent segment is painted with the
  fill (``"zero"``, ``"mean"`` of the background, or a number). The background is the fully
  masked image, so ``base_value = f(all segments filled)[target]``. Each segment's value is
  spread over its pixels and channels, divided by (pixels x channels), so ``values.sum()``
  is the sum of the segment values and additivity holds over the whole array.
* text — the tokens of ``tokens_of(model, text)``, position by position; an absent token is
  dropped, so ``base_value = f("")[target]``.

Same seed, same values: Kernel SHAP samples coalitions with numpy's global random state,
which is seeded for the call and restored afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from components.explainers import _masking
from components.explainers.base import Attribution, Stopwatch, Subject
from components.explainers.targets import check_target

AUTO = _masking.AUTO


class ShapExplainer(_masking.BlackboxExplainer):
    """Kernel SHAP for tabular rows, images and texts; see the module docstring."""

    name = "shap"
    label = "SHAP"
    defaults: dict[str, Any] = {
        "nsamples": AUTO,           # coalitions: 2 * players + 2048 (all of them if fewer)
        "background_size": 10,      # tabular: k of the k-means background summary
        "n_segments": AUTO,         # images: about one segment per 16 pixels, 8..64
        "compactness": _masking.DEFAULT_COMPACTNESS,  # images: SLIC compactness
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
    if _masking.is_auto(value):
        return 2 * players + 2048
    return _masking.check_count("nsamples", value, 10)


_GLOBAL_RNG = threading.Lock()  # app sessions are threads: one seeded block at a time


@contextlib.contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    """numpy's global random state seeded for a block, then put back as it was.

    Held under a lock, so two sessions explaining at once cannot reseed each other's draws.
    """
    with _GLOBAL_RNG:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def _kernel_shap(f: Callable[[np.ndarray], np.ndarray], background: Any, x: np.ndarray,
                 nsamples: int, seed: int) -> tuple[np.ndarray, float]:
    """Kernel SHAP values (players,) of the one-column ``f`` at ``x`` and the base value."""
    import shap  # deferred: shap takes seconds to import

    explainer = shap.KernelExplainer(f, background)
    with _numpy_seed(seed):
        phi = explainer.shap_values(np.asarray(x, dtype=np.float64), nsamples=nsamples,
                                    l1_reg=False, silent=True)
    base_value = float(np.ravel(explainer.expected_value)[0])
    return np.asarray(phi, dtype=np.float64).reshape(len(x), -1)[:, 0], base_value


def _exact(nsamples: int, players: int) -> bool:
    """Whether Kernel SHAP evaluates every coalition (then the values are exact)."""
    return players <= 1 or (players <= 30 and nsamples >= 2**players - 2)


_SUMMARIES: dict[tuple[str, tuple[int, ...], int], Any] = {}
_MAX_SUMMARIES = 8


def _background_summary(background: np.ndarray, k: int) -> Any:
    """shap's k-means summary of the background, cached by the rows' digest: the same
    background costs its k-means once (shap.kmeans is seeded, so the cache changes nothing)."""
    import shap  # deferred: shap takes seconds to import

    background = np.ascontiguousarray(background, dtype=np.float64)
    key = (hashlib.sha256(background.tobytes()).hexdigest(), background.shape, k)
    summary = _SUMMARIES.get(key)
    if summary is None:
        summary = shap.kmeans(background, k)
        while len(_SUMMARIES) >= _MAX_SUMMARIES:
            _SUMMARIES.pop(next(iter(_SUMMARIES)), None)
        _SUMMARIES[key] = summary
    return summary


def _tabular(subject: Subject, target: int, seed: int,
             settings: dict[str, Any]) -> tuple[np.ndarray, float, Any, dict, dict]:
    row = np.asarray(subject.x[0], dtype=np.float64)
    background = np.asarray(subject.background, dtype=np.float64)
    size = _masking.check_count("background_size", settings["background_size"], 1)
    k = min(size, len(background))
    nsamples = _nsamples(settings["nsamples"], row.shape[0])
    predict_fn = subject.predict_fn

    def f(rows: np.ndarray) -> np.ndarray:
        out = np.asarray(predict_fn(np.asarray(rows, dtype=np.float32)), dtype=np.float64)
        return out.reshape(len(out), -1)[:, [target]]

    values, base_value = _kernel_shap(f, _background_summary(background, k), row, nsamples,
                                      seed)
    used = {"nsamples": nsamples, "background_size": size}
    return values, base_value, subject.feature_names, used, \
        {"exact": _exact(nsamples, row.shape[0]), "background_rows": k}


def _image(subject: Subject, target: int, seed: int,
           settings: dict[str, Any]) -> tuple[np.ndarray, float, Any, dict, dict]:
    image = np.asarray(subject.x[0], dtype=np.float32)
    height, width, channels = image.shape
    n_segments = _masking.resolve_n_segments(settings["n_segments"], height, width)
    compactness = _masking.check_compactness(settings["compactness"])
    fill = _masking.check_fill(settings["fill"])
    segments = _masking.segment_image(image, n_segments, compactness)
    count = int(segments.max()) + 1
    fill_image = _masking.fill_image(image, fill, subject.background)
    nsamples = _nsamples(settings["nsamples"], count)
    predict_fn = subject.predict_fn

    def f(masks: np.ndarray) -> np.ndarray:
        return _masking.predict_masked_images(predict_fn, image, segments, masks,
                                              fill_image)[:, [target]]

    segment_values, base_value = _kernel_shap(f, np.zeros((1, count)), np.ones(count),
                                              nsamples, seed)
    values = _masking.paint_segments(segments, segment_values, channels)
    used = {"nsamples": nsamples, "n_segments": n_segments, "compactness": compactness,
            "fill": fill}
    return values, base_value, None, used, {"exact": _exact(nsamples, count),
                                            "segments": count}


def _text(subject: Subject, target: int, seed: int,
          settings: dict[str, Any]) -> tuple[np.ndarray, float, Any, dict, dict]:
    tokens = _masking.sample_tokens(subject)
    nsamples = _nsamples(settings["nsamples"], len(tokens))
    predict_fn = subject.predict_fn

    def f(masks: np.ndarray) -> np.ndarray:
        return _masking.predict_masked_texts(predict_fn, tokens, masks)[:, [target]]

    values, base_value = _kernel_shap(f, np.zeros((1, len(tokens))), np.ones(len(tokens)),
                                      nsamples, seed)
    return values, base_value, tokens, {"nsamples": nsamples}, \
        {"exact": _exact(nsamples, len(tokens))}


EXPLAINER = ShapExplainer()
