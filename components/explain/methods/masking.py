"""What LIME and SHAP switch on and off: image segments and text tokens.

Both black-box methods explain a sample through a vector of 0/1 "present" flags, one per
interpretable part: a segment of an image, a token of a text. This module turns an image
into segments, a batch of flag vectors into model inputs (images with the absent segments
filled in, texts without the absent tokens), and per-segment values back into per-pixel
values. scikit-image is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from components.explain.methods.base import merged_params
from components.explain.methods.budget import (
    BLACKBOX_S,
    affordable,
    counts_fixed,
    predict_row_seconds,
    segments_for,
)
from components.explain.methods.text_tokens import masked_texts

PredictFn = Callable[[np.ndarray], np.ndarray]

AUTO = "auto"
MIN_SEGMENTS, MAX_SEGMENTS = 8, 64
DEFAULT_COMPACTNESS = 0.3  # SLIC on an image scaled to [0, 1]: follows strokes, stays blobby
FILLS = ("zero", "mean")
# Perturbed images are built and predicted in chunks of at most this many bytes, so a
# 224x224x3 image with 2,000 perturbations does not need a 1 GB array at once.
CHUNK_BYTES = 64 * 2**20

# ---------------------------------------------------------------------------------------
# Parameters shared by both methods


def is_auto(value: Any) -> bool:
    """Whether a parameter is left to the method (the string ``"auto"``)."""
    return isinstance(value, str) and value == AUTO


def resolve_n_segments(value: Any, height: int, width: int,
                       samples: int | None = None) -> int:
    """``"auto"`` -> about one segment per 16 pixels, clipped to [8, 64] (and to the pixel
    count), and no more than ``samples`` perturbations can weigh (`budget.segments_for`);
    an int is checked and returned."""
    pixels = height * width
    if is_auto(value):
        auto = np.clip(round(pixels / 16), MIN_SEGMENTS, MAX_SEGMENTS)
        if samples is not None:
            auto = min(auto, segments_for(samples, MIN_SEGMENTS, MAX_SEGMENTS))
        return int(min(pixels, auto))
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
        raise ValueError(f"n_segments must be 'auto' or an int >= 2, got {value!r}")
    return int(min(value, pixels))


def check_compactness(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not math.isfinite(value) or value <= 0:
        raise ValueError(f"compactness must be a positive number, got {value!r}")
    return float(value)


def check_fill(value: Any) -> str | float:
    """``"zero"``, ``"mean"`` or a finite number (the value every masked pixel gets)."""
    if isinstance(value, str):
        if value not in FILLS:
            raise ValueError(f"fill must be one of {', '.join(FILLS)} or a number, "
                             f"got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not math.isfinite(value):
        raise ValueError(f"fill must be one of {', '.join(FILLS)} or a number, got {value!r}")
    return float(value)


def check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------
# Images


def image_samples(subject: Any, name: str, value: Any, low: int, high: int, step: int
                  ) -> tuple[int, dict[str, float]]:
    """Perturbations for an image: ``"auto"`` -> as many as `BLACKBOX_S` seconds of the
    model's measured cost per image allow, in [low, high]; an int is checked. Also returns
    what the choice was made from (``seconds_per_image``, ``budget_s``), empty for an int."""
    if not is_auto(value):
        return check_count(name, value, 10), {}
    if counts_fixed():
        return high, {}
    cost = predict_row_seconds(subject.predict_fn, np.asarray(subject.x, dtype=np.float32))
    return affordable(cost, BLACKBOX_S, low, high, step), \
        {"seconds_per_image": round(cost, 6), "budget_s": BLACKBOX_S}


def segment_image(image: np.ndarray, n_segments: int,
                  compactness: float = DEFAULT_COMPACTNESS) -> np.ndarray:
    """Segment labels (h, w) int, numbered 0..S-1, for one image (h, w, c).

    SLIC superpixels on the image rescaled to [0, 1] (greyscale with ``channel_axis=None``);
    if SLIC returns fewer than half the requested segments (a flat or tiny image), a grid of
    square patches instead. Deterministic: the same image and settings give the same labels.
    """
    from skimage.segmentation import slic  # deferred: scikit-image is only for images

    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3:
        raise ValueError(f"an image must be (height, width, channels), got {image.shape}")
    h, w, c = image.shape
    low, high = float(np.min(image)), float(np.max(image))
    scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    labels = None
    if h >= 2 and w >= 2 and np.isfinite(scaled).all():
        labels = slic(scaled[..., 0] if c == 1 else scaled, n_segments=n_segments,
                      compactness=compactness, channel_axis=None if c == 1 else -1,
                      convert2lab=False, start_label=0, enforce_connectivity=True)
    if labels is None or len(np.unique(labels)) < max(2, n_segments // 2):
        labels = grid_segments(h, w, n_segments)
    return _relabel(labels)


def grid_segments(height: int, width: int, n_segments: int) -> np.ndarray:
    """Square patches of about (h * w / n_segments) pixels each, labels (h, w) row-major."""
    side = max(1, round(math.sqrt(height * width / max(1, n_segments))))
    per_row = math.ceil(width / side)
    rows = np.arange(height)[:, None] // side
    cols = np.arange(width)[None, :] // side
    return _relabel(rows * per_row + cols)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..S-1 in order of first appearance (row-major)."""
    _, first, inverse = np.unique(labels.ravel(), return_index=True,
                                    return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse.reshape(labels.shape)].astype(np.int64)


def fill_image(image: np.ndarray, fill: str | float,
               background: np.ndarray | None = None) -> np.ndarray:
    """What a masked pixel becomes, as an array shaped like ``image`` (h, w, c).

    ``"zero"``: 0 everywhere. ``"mean"``: the background's mean image when a background of
    the same shape is given, else the image's own mean per channel. A number: that value.
    """
    image = np.asarray(image, dtype=np.float32)
    if fill == "zero":
        return np.zeros_like(image)
    if fill == "mean":
        if background is not None and len(background) and \
                np.shape(background)[1:] == image.shape:
            mean = np.mean(np.asarray(background, dtype=np.float64), axis=0)
            if np.isfinite(mean).all():
                return mean.astype(np.float32)
        return np.broadcast_to(image.mean(axis=(0, 1), keepdims=True),
                               image.shape).astype(np.float32)
    return np.full_like(image, float(fill))


def masked_images(image: np.ndarray, segments: np.ndarray, masks: np.ndarray,
                  fill: np.ndarray) -> np.ndarray:
    """One image per row of ``masks`` (N, S) of 0/1: segments flagged 0 take ``fill``'s
    pixels. Returns (N, h, w, c) float32."""
    keep = np.asarray(masks, dtype=bool)[:, segments]  # (N, h, w)
    return np.where(keep[..., None], np.asarray(image, dtype=np.float32)[None],
                    np.asarray(fill, dtype=np.float32)[None])


def predict_masked_images(predict_fn: PredictFn, image: np.ndarray, segments: np.ndarray,
                          masks: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``predict_fn`` on the masked images, (N, k) float64; one call per chunk of at most
    `CHUNK_BYTES` of images (one call in all for small images)."""
    masks = np.asarray(masks)
    per_image = max(1, np.asarray(image).size * 4)
    step = max(1, CHUNK_BYTES // per_image)
    parts = [np.asarray(predict_fn(masked_images(image, segments, masks[i:i + step], fill)),
                        dtype=np.float64)
             for i in range(0, len(masks), step)]
    return np.concatenate(parts) if parts else np.zeros((0, 1))


def paint_segments(segments: np.ndarray, segment_values: np.ndarray,
                   channels: int) -> np.ndarray:
    """Per-pixel values (h, w, c) from per-segment values (S,).

    Each pixel of a segment gets the segment's value divided by (pixels in the segment x
    channels), so ``values.sum()`` equals ``segment_values.sum()``.
    """
    segment_values = np.asarray(segment_values, dtype=np.float64)
    counts = np.bincount(segments.ravel(), minlength=len(segment_values)).astype(np.float64)
    per_pixel = segment_values / np.maximum(counts * channels, 1.0)
    return np.repeat(per_pixel[segments][..., None], channels, axis=-1)


# ---------------------------------------------------------------------------------------
# Texts


def predict_masked_texts(predict_fn: PredictFn, tokens: tuple[str, ...],
                         masks: np.ndarray, codec: Any = None) -> np.ndarray:
    """``predict_fn`` on the texts without the tokens flagged 0, (N, k) float64, one call.

    With a token-id ``codec`` a token flagged 0 is not dropped but replaced by the mask id
    at its own position (`TokenCodec.fill`), so no other token moves and no new id appears.
    """
    masks = np.asarray(masks)
    texts = codec.fill(tokens, masks) if codec is not None else masked_texts(tokens, masks)
    if len(texts) == 0:
        return np.zeros((0, 1))
    return np.asarray(predict_fn(texts), dtype=np.float64)


# ---------------------------------------------------------------------------------------
# What both black-box methods check first


def check_seed(seed: Any) -> int:
    """``seed`` as an int usable by numpy's RandomState (0..2**32-1)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or \
            not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in 0..2**32-1, got {seed!r}")
    return int(seed)


def sample_tokens(subject: Any) -> tuple[str, ...]:
    """The text sample's tokens as its model reads them (`tokens_of`, or the token-id
    model's codec)."""
    from components.explain.methods.text_tokens import tokens_of

    if getattr(subject, "codec", None) is not None:
        return subject.codec.tokens(str(subject.sample))
    return tokens_of(subject.model, str(subject.sample))


def blackbox_unavailable(subject: Any, label: str) -> str | None:
    """None if LIME/SHAP can explain ``subject``, else one line saying why not."""
    x = np.asarray(subject.x) if subject.kind != "text" else subject.x
    if subject.kind == "tabular":
        if x.ndim != 2:
            return f"{label} explains tabular rows shaped (1, features); got {x.shape}"
        if not _finite(x):
            return f"{label} needs a sample without missing values"
        background = subject.background
        if background is None or len(background) < 2:
            return (f"{label} needs background rows: load a dataset with more than one row")
        background = np.asarray(background)
        if background.ndim != 2 or background.shape[1] != x.shape[1]:
            return (f"{label} needs background rows with the sample's {x.shape[1]} features; "
                    f"got shape {background.shape}")
        if not _finite(background):
            return f"{label} needs numeric background rows without missing values"
        return None
    if subject.kind == "image":
        if x.ndim != 4 or min(x.shape[1:3]) < 1 or x.shape[1] * x.shape[2] < 2:
            return (f"{label} explains images shaped (height, width, channels); "
                    f"got {x.shape[1:]}")
        if not _finite(x):
            return f"{label} needs an image without missing (NaN or infinite) pixels"
        return None
    if not sample_tokens(subject):
        return f"{label} needs a text with at least one token"
    return None


def _finite(array: np.ndarray) -> bool:
    array = np.asarray(array)
    return bool(np.issubdtype(array.dtype, np.number) and np.isfinite(array).all())


class BlackboxExplainer:
    """Base of LIME and SHAP: subclasses set name, label, defaults and `explain`, and start
    `explain` with `prepare`. Both see only ``subject.predict_fn`` (and the tokenizer)."""

    name = ""
    label = ""
    family = "blackbox"
    signed = True
    defaults: dict[str, Any] = {}

    def choices(self, subject: Any) -> dict[str, list]:
        """The picker's options for the image fill."""
        return {"fill": list(FILLS)}

    def unavailable(self, subject: Any) -> str | None:
        return blackbox_unavailable(subject, self.label)

    def prepare(self, subject: Any, params: dict[str, Any], seed: Any
                ) -> tuple[dict[str, Any], int]:
        """(every setting, the seed), checked; ValueError if the method does not apply."""
        settings = merged_params(self.defaults, params, self.name)
        seed = check_seed(seed)
        reason = self.unavailable(subject)
        if reason is not None:
            raise ValueError(reason)
        return settings, seed

    def __repr__(self) -> str:
        return f"<{self.label} explainer>"
