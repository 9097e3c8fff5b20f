"""What the what-if page computes: editable features, the edited input, and what changed.

No Streamlit. A tabular column becomes a `FeatureSpec` (a slider over the data's range, or a
pick list of the values seen when there are few); `edited_input` turns the widgets' values
back into the model's (1, f) float32 row, refusing values outside the spec. Texts are edited
as strings (the model tokenises them itself); images get a few meaningful edits
(`ImageEdit`: brightness, noise with a seed, an occluded rectangle). `input_digest` names an
input by its content, so results are cached per edit and moving a slider back reuses them.
`compare_predictions` puts the two predictions side by side; `attribution_changes` says how
each method's attribution of each feature moved (`components.plots.what_if` draws it).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from components.data.evaluation import class_probabilities
from components.data.numbers import percent
from components.data.predictions import predictions
from components.errors import DataError
from components.explain.methods.base import Attribution

MAX_CATEGORIES = 10    # a column with at most this many distinct values gets a pick list
SLIDER_POSITIONS = 100  # a float slider moves in about range / 100 (never finer than the data)
MAX_DECIMALS = 6       # data written with more decimals than this counts as continuous
SHOWN_DECIMALS = 4     # a slider's label shows at most this many (finer data: 4 + rounding)
MAX_TEXT_CHARS = 5_000
FILLS = ("min", "mean", "max")  # what an occluded rectangle is filled with

Number = int | float


# ---------------------------------------------------------------- tabular features


@dataclass(frozen=True)
class FeatureSpec:
    """How one input column may be edited.

    ``low``..``high`` is the column's range in the data (a slider cannot leave it), moved in
    ``step``; integer-valued columns hold ints with an integer step. ``decimals`` is how
    many the data is written with (at least the step's), for the labels. ``options``
    (sorted) is set when the column has few distinct values: the widget is then a pick list.
    """

    index: int
    name: str
    low: Number
    high: Number
    step: Number
    integer: bool
    decimals: int = 0
    options: tuple[Number, ...] | None = None

    @property
    def widget(self) -> str:
        return "select" if self.options is not None else "slider"

    @property
    def format(self) -> str:
        """printf-style format for the slider's labels."""
        return "%d" if self.integer else f"%.{self.decimals}f"

    def value_of(self, raw: float) -> Number:
        """A data value as this widget holds it (int, or the float32's shortest float)."""
        value = plain_value(raw)
        return int(value) if self.integer else value


def feature_specs(x: np.ndarray, names: Sequence[str] | None = None,
                  max_categories: int = MAX_CATEGORIES) -> list[FeatureSpec]:
    """One `FeatureSpec` per column of ``x`` (N, f); a constant column is a one-value list.

    ``names`` default to "f0".."f{f-1}". Raises ValueError for anything but a non-empty 2-D
    array of finite numbers.
    """
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0 or x.dtype.kind not in "biuf":
        raise ValueError(f"feature_specs needs rows x columns of numbers, got {x.dtype} "
                         f"{x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("feature_specs needs finite values")
    names = list(names) if names is not None and len(names) == x.shape[1] else \
        [f"f{i}" for i in range(x.shape[1])]
    return [_spec(i, str(names[i]), x[:, i], max_categories) for i in range(x.shape[1])]


def _spec(index: int, name: str, column: np.ndarray, max_categories: int) -> FeatureSpec:
    distinct = np.unique(column)
    # integers beyond 2**24 are not exact in float32 (nor safe in a browser's slider)
    integer = bool(np.all(distinct == np.round(distinct)) and np.abs(distinct).max() < 2**24)
    low, high = float(distinct[0]), float(distinct[-1])
    step = _integer_step(high - low) if integer else _float_step(distinct)
    spec = FeatureSpec(index=index, name=name, low=low, high=high, step=step, integer=integer,
                       decimals=0 if integer else _decimals(distinct, step))
    if len(distinct) <= max_categories or low == high:
        spec = replace(spec, options=tuple(spec.value_of(v) for v in distinct))
    return replace(spec, low=spec.value_of(low), high=spec.value_of(high))


def _integer_step(span: float) -> int:
    """1, or a 1-2-5 integer step on wide ranges so the slider has ~100 positions."""
    return max(1, int(_nice(span / SLIDER_POSITIONS))) if span > SLIDER_POSITIONS else 1


def _float_step(distinct: np.ndarray) -> float:
    """About range / 100 on a 1-2-5 scale, but never finer than the data's decimals."""
    span = float(distinct[-1] - distinct[0])
    step = _nice(span / SLIDER_POSITIONS) if span > 0 else 1.0
    resolution = _resolution(distinct)
    return plain_value(max(step, resolution) if resolution is not None else step)


def _decimals(distinct: np.ndarray, step: float) -> int:
    """Decimals to show: the data's own (at most `SHOWN_DECIMALS`), never fewer than the
    step's; continuous data gets one more than the step's."""
    of_step = max(0, -math.floor(math.log10(step) + 1e-9))
    resolution = _resolution(distinct)
    if resolution is None:
        return of_step + 1
    return max(of_step, min(SHOWN_DECIMALS, round(-math.log10(resolution))))


def _nice(value: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``value`` (> 0)."""
    exponent = math.floor(math.log10(value))
    mantissa = value / 10**exponent
    digit = 5 if mantissa >= 5 else 2 if mantissa >= 2 else 1
    return digit * 10.0**exponent


def _resolution(values: np.ndarray) -> float | None:
    """10^-d for the fewest decimals d that write every value; None beyond `MAX_DECIMALS`.

    Values are float32 in the dataset: 13.52 is 13.520000457..., so "written with d
    decimals" allows float32's relative error.
    """
    values = np.asarray(values, dtype="float64")
    for decimals in range(MAX_DECIMALS + 1):
        scaled = values * 10.0**decimals
        tolerance = 1e-6 * np.maximum(np.abs(scaled), 1.0)
        if np.all(np.abs(scaled - np.round(scaled)) <= tolerance):
            return 10.0**-decimals
    return None


def plain_value(raw: float) -> float:
    """A float32 as the shortest Python float that reads back as the same float32.

    ``13.520000457763672`` -> ``13.52``: what a widget shows, and ``np.float32`` of it is
    the original value, so an unedited feature gives back the dataset's exact bytes.
    """
    return float(str(np.float32(raw)))


def default_values(specs: Sequence[FeatureSpec], sample: np.ndarray) -> list[Number]:
    """The sample's (f,) values as the widgets hold them: what "Reset" goes back to."""
    sample = np.asarray(sample).ravel()
    if sample.size != len(specs):
        raise ValueError(f"{sample.size} values for {len(specs)} features")
    return [spec.value_of(v) for spec, v in zip(specs, sample, strict=True)]


def edited_input(specs: Sequence[FeatureSpec], values: Sequence[Number]) -> np.ndarray:
    """The edited row as the model takes it: (1, f) float32.

    Each value must lie in its spec's ``low``..``high`` (a pick list: be one of its options);
    otherwise ValueError names the feature and its range.
    """
    if len(values) != len(specs):
        raise ValueError(f"{len(values)} values for {len(specs)} features")
    for spec, value in zip(specs, values, strict=True):
        _check_value(spec, value)
    return np.asarray([values], dtype="float32")


def _check_value(spec: FeatureSpec, value: Number) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ValueError(f"{spec.name}: {value!r} is not a number")
    if spec.options is not None:
        if not any(np.float32(value) == np.float32(o) for o in spec.options):
            raise ValueError(f"{spec.name}: {value!r} is not one of the values seen in the "
                             f"data ({', '.join(str(o) for o in spec.options)})")
    elif not np.float32(spec.low) <= np.float32(value) <= np.float32(spec.high):
        raise ValueError(f"{spec.name}: {value!r} is outside the data's range "
                         f"{spec.low}..{spec.high}")


def changed_features(original: np.ndarray, edited: np.ndarray) -> list[int]:
    """Indices of the features whose value differs between two rows of the same size."""
    original, edited = np.asarray(original).ravel(), np.asarray(edited).ravel()
    if original.shape != edited.shape:
        raise ValueError(f"rows differ in size: {original.size} and {edited.size}")
    return [int(i) for i in np.flatnonzero(original != edited)]


# ---------------------------------------------------------------- text


def text_input(text: str, max_chars: int = MAX_TEXT_CHARS) -> np.ndarray:
    """An edited text as the model takes it: an object array (1,) holding the str.

    An empty or blank text, or one over ``max_chars``, is a one-line `DataError`.
    """
    text = str(text)
    if not text.strip():
        raise DataError("the text is empty: type a few words to see the prediction")
    if len(text) > max_chars:
        raise DataError(f"the text has {len(text):,} characters; what-if takes at most "
                        f"{max_chars:,}")
    out = np.empty(1, dtype=object)
    out[0] = text
    return out


# ---------------------------------------------------------------- images


@dataclass(frozen=True)
class PixelRange:
    """The dataset's pixel values: edits stay within ``low``..``high``."""

    low: float
    high: float
    mean: float

    @property
    def span(self) -> float:
        return self.high - self.low


def pixel_range(x: np.ndarray) -> PixelRange:
    """Lowest, highest and mean pixel of a batch of images (N, h, w, c)."""
    x = np.asarray(x)
    return PixelRange(low=float(x.min()), high=float(x.max()), mean=float(x.mean()))


@dataclass(frozen=True)
class ImageEdit:
    """Edits applied in this order: ``brightness`` (added, as a share of the pixel range),
    Gaussian ``noise`` (standard deviation as a share of the range, drawn with ``seed``),
    then ``occlude`` = (top, left, height, width) in pixels, filled with the data's
    ``fill`` ("min", "mean" or "max") pixel. Results are clipped to the data's range."""

    brightness: float = 0.0
    noise: float = 0.0
    seed: int = 0
    occlude: tuple[int, int, int, int] | None = None
    fill: str = "min"

    @property
    def is_identity(self) -> bool:
        return self.brightness == 0 and self.noise == 0 and self.occlude is None


def edit_image(image: np.ndarray, edit: ImageEdit, pixels: PixelRange) -> np.ndarray:
    """``image`` (h, w, c) with ``edit`` applied, as float32 (h, w, c); the identity edit
    returns the image's values unchanged. A rectangle is cut to the image's bounds."""
    if edit.fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, not {edit.fill!r}")
    image = np.asarray(image, dtype="float32")
    if image.ndim != 3:
        raise ValueError(f"edit_image needs an (h, w, c) image, got shape {image.shape}")
    if edit.is_identity:
        return image.copy()
    out = image.astype("float64") + edit.brightness * pixels.span
    if edit.noise > 0:
        rng = np.random.default_rng(edit.seed)
        out = out + rng.normal(0.0, edit.noise * pixels.span, size=out.shape)
    if edit.occlude is not None:
        top, left, height, width = (max(0, int(v)) for v in edit.occlude)
        fill = {"min": pixels.low, "mean": pixels.mean, "max": pixels.high}[edit.fill]
        out[top:top + height, left:left + width, :] = fill
    return np.clip(out, pixels.low, pixels.high).astype("float32")


# ---------------------------------------------------------------- content digests


def input_digest(x: np.ndarray) -> str:
    """SHA-256 naming an input by its content: the UTF-8 text for a text input, else the
    array's dtype, shape and bytes. The same edit always gives the same digest."""
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind in "US":
        payload = b"text\x00" + "\x00".join(str(v) for v in arr.ravel()).encode("utf-8")
    else:
        header = f"{arr.dtype.str}{arr.shape}\x00".encode()
        payload = header + np.ascontiguousarray(arr).tobytes()
    return hashlib.sha256(payload).hexdigest()


# ---------------------------------------------------------------- predictions side by side


@dataclass(frozen=True)
class Comparison:
    """The original and edited predictions: per-output ``table`` (index: class names or
    "predicted value"; columns original, edited, change), one-line verdicts and each
    output's score as text with 4 significant digits (a 0.99999 -> 0.99998 move shows in
    the small classes: 7.1e-06 -> 1.6e-05)."""

    table: pd.DataFrame
    original: str
    edited: str
    moved: bool  # the predicted class changed (regression: the value changed)
    original_scores: str = ""
    edited_scores: str = ""


def compare_predictions(original: np.ndarray, edited: np.ndarray, task: str,
                        class_names: Sequence[str] | None = None) -> Comparison:
    """Two output rows (k,) read for ``task``: class probabilities for classification
    (a sigmoid gives [negative, positive]), the value for regression."""
    scores = np.vstack([np.ravel(original), np.ravel(edited)]).astype("float32")
    pred = predictions(scores, None, task, class_names)
    if task == "regression":
        values, index = scores[:, :1].astype("float64"), ["predicted value"]
        verdicts = [f"predicted value {v:.5g}" for v in values[:, 0]]
    else:
        values, index = class_probabilities(scores, task), list(pred.class_names)
        verdicts = [f"predicted {pred.class_names[p]} ({percent(c)})"
                    for p, c in zip(pred.predicted, pred.confidence, strict=True)]
    table = pd.DataFrame({"original": values[0], "edited": values[1],
                          "change": values[1] - values[0]}, index=pd.Index(index, name="output"))
    lines = ["" if task == "regression" else
             " · ".join(f"{name} {percent(v)}" for name, v in zip(index, row, strict=True))
             for row in values]
    return Comparison(table=table, original=verdicts[0], edited=verdicts[1],
                      moved=bool(pred.predicted[0] != pred.predicted[1]),
                      original_scores=lines[0], edited_scores=lines[1])


# ---------------------------------------------------------------- attributions before/after


def attribution_changes(original: Mapping[str, Attribution],
                        edited: Mapping[str, Attribution]) -> dict[str, Attribution]:
    """Per method explained both times (same size): the edited attribution with ``values``
    replaced by edited - original, so `components.plots.explain.feature_order` can rank
    the changes."""
    out = {}
    for name, after in edited.items():
        before = original.get(name)
        if before is None or np.size(before.values) != np.size(after.values):
            continue
        delta = np.asarray(after.values, dtype="float64") - np.asarray(before.values,
                                                                       dtype="float64")
        out[name] = replace(after, values=delta, base_value=None)
    return out
