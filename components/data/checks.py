"""Fit a read dataset to a model's input and say, by name, everything that does not fit.

The result is a `Dataset`: model-ready inputs ``x`` (only when no check failed), labels, a
preview table and the list of `Check` results the overview page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from components.data.read import LABEL_NAMES, RawData
from components.data.token_data import fit_token_ids, fit_token_texts, ids_from_table
from components.data.tokens import TokenCodec
from components.errors import MAX_MESSAGE, DataError, excerpt, quote_names, quote_value
from components.model.bundle import InputSpec

TEXT_NAMES = ("text", "review", "sentence", "document", "content", "message")
MAX_LISTED = 5  # rows named in one message; the rest are counted


@dataclass(frozen=True)
class Check:
    """One check's result. Its message is shown as is (UI) or as ``error: …`` (CLI) without
    passing through `GlassboxError`, so it is made inert and short here the same way."""

    level: str  # "ok" | "warning" | "error"
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", excerpt(str(self.message), MAX_MESSAGE))


@dataclass(frozen=True)
class Dataset:
    """The data as the model sees it. ``x`` is None when any check is an error."""

    filename: str
    kind: str
    n_rows: int
    x: np.ndarray | None
    labels: np.ndarray | None
    label_name: str | None
    feature_names: list[str] | None
    preview: pd.DataFrame | None
    checks: tuple[Check, ...] = field(default_factory=tuple)
    codec: TokenCodec | None = None  # token-id models: ``x`` is token text, see data.tokens

    @property
    def ok(self) -> bool:
        return not any(c.level == "error" for c in self.checks)


def model_input(dataset: Dataset) -> np.ndarray:
    """What the model reads for every row: ``x`` itself, or for a token-id model the ids
    (N, L) int32 its token text encodes to."""
    if dataset.x is None:
        raise DataError("the dataset did not pass its checks; see the Model & data page")
    return dataset.codec.encode(dataset.x) if dataset.codec is not None else dataset.x


def fit_dataset(raw: RawData, spec: InputSpec, label: str | None = None,
                vocab: tuple[str, ...] | None = None, mask_id: int | None = None) -> Dataset:
    """Check ``raw`` against ``spec``; ``label`` names the label column (auto if None).

    For a model over token ids, ``vocab`` (id -> token) decodes the ids and ``mask_id`` is
    what LIME and SHAP mask tokens to (the padding id 0 when None).
    """
    kind = spec.kind
    if spec.tokens is not None:
        return _fit_tokens(raw, spec, label, vocab, mask_id)
    if kind == "image":
        if raw.array is None:
            raise DataError(f"{raw.filename}: this model takes images {_fmt(spec.shape)}; "
                            "upload .npz, .npy, .png or .jpg")
        return _fit_images(raw, spec)
    table = raw.table if raw.table is not None else _table_from_array(raw, spec)
    label_name = _label_column(table, label, raw.filename)
    labels = None if label_name is None else table[label_name].to_numpy()
    features = table.drop(columns=[label_name]) if label_name else table
    fit = _fit_text if kind == "text" else _fit_tabular
    x, names, checks = fit(features, spec)
    checks = _label_checks(labels, label_name) + checks
    return Dataset(filename=raw.filename, kind=kind, n_rows=len(table),
                   x=x if not _has_error(checks) else None, labels=labels,
                   label_name=label_name, feature_names=names, preview=table,
                   checks=tuple(checks))


def _table_from_array(raw: RawData, spec: InputSpec) -> pd.DataFrame:
    arr = raw.array
    if arr is None or arr.ndim != 2:
        shape = None if arr is None else arr.shape
        raise DataError(f"{raw.filename}: a table model needs rows × columns, got shape {shape}")
    names = list(spec.feature_names or [f"f{i}" for i in range(arr.shape[1])])
    table = pd.DataFrame(arr, columns=names[: arr.shape[1]] + [f"f{i}" for i in
                                                               range(len(names), arr.shape[1])])
    if raw.labels is not None and len(raw.labels) == len(table):
        table["label"] = raw.labels
    return table


def _label_column(table: pd.DataFrame, label: str | None, filename: str) -> str | None:
    if label:
        if label not in table.columns:
            raise DataError(f"{filename}: label column '{excerpt(label)}' not found; columns are "
                            f"{quote_names(table.columns)}")
        return label
    lowered = {c.lower(): c for c in table.columns}
    return next((lowered[n] for n in LABEL_NAMES if n in lowered), None)


def _label_checks(labels: np.ndarray | None, name: str | None) -> list[Check]:
    if labels is None:
        return [Check("warning", "no label column (label, target, y, class): predictions can "
                                 "be explained, but not scored")]
    missing = int(pd.isna(labels).sum())
    if missing:
        return [Check("warning", f"label column '{excerpt(name)}' has {missing} empty cells")]
    return [Check("ok", f"label column '{excerpt(name)}': {len(pd.unique(labels))} distinct "
                        "values")]


# ---------------------------------------------------------------- tabular


def _fit_tabular(features: pd.DataFrame, spec: InputSpec):
    expected = spec.shape[-1]
    cols, checks = _order_columns(features, spec, expected)
    if cols is None:
        return None, list(features.columns), checks
    frame = features[cols]
    checks += _numeric_checks(frame)
    if _has_error(checks):
        return None, cols, checks
    checks.append(Check("ok", f"{len(cols)} numeric feature columns, no missing or infinite "
                              "values"))
    return frame.to_numpy(dtype="float32"), cols, checks


def _order_columns(features: pd.DataFrame, spec: InputSpec, expected: int | None):
    have = list(features.columns)
    names = list(spec.feature_names or [])
    if not names:
        if expected is not None and len(have) != expected:
            return None, [Check("error", f"the model expects {expected} feature columns, the "
                                         f"file has {len(have)}: {quote_names(have)}")]
        return have, []
    missing = [n for n in names if n not in have]
    extra = [c for c in have if c not in names]
    if missing or extra:
        parts = [f"missing {quote_names(missing)}"] if missing else []
        parts += [f"unexpected {quote_names(extra)}"] if extra else []
        return None, [Check("error", f"expected {len(names)} feature columns, got {len(have)}: "
                                     + "; ".join(parts))]
    if have != names:
        return names, [Check("warning", "feature columns were in a different order; "
                                        "reordered to the model's order")]
    return names, []


def _numeric_checks(frame: pd.DataFrame) -> list[Check]:
    checks = []
    for col in frame.columns:
        values = _to_numeric(frame[col])
        bad = values.isna() & frame[col].notna()
        if bad.any():
            first = frame[col][bad].iloc[0]
            checks.append(Check("error", f"column '{excerpt(col)}': {int(bad.sum())} "
                                         f"non-numeric cells, first {quote_value(first)} at row "
                                         f"{_rows(bad)}"))
        if frame[col].isna().any():
            checks.append(Check("error", f"column '{excerpt(col)}': missing values at row "
                                         f"{_rows(frame[col].isna())}"))
        with np.errstate(over="ignore"):  # the model reads float32: 1e39 is inf there
            inf = np.isinf(values.to_numpy(dtype="float64", na_value=0.0).astype("float32"))
        if inf.any():
            checks.append(Check("error", f"column '{excerpt(col)}': infinite values at row "
                                         f"{_rows(pd.Series(inf))}"))
    return checks


def _to_numeric(column: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(column, errors="coerce")
    except OverflowError:  # a Python int beyond float range; read as text it becomes inf
        return pd.to_numeric(column.astype(str), errors="coerce")


# ---------------------------------------------------------------- text


def _fit_text(features: pd.DataFrame, spec: InputSpec):
    col = _text_column(features, spec)
    if col is None:
        return None, list(features.columns), [Check(
            "error", "cannot tell which column holds the text; expected one text column named "
                     f"{quote_names(TEXT_NAMES[:3])}, found {quote_names(features.columns)}")]
    texts = features[col]
    checks = []
    if texts.isna().any():
        checks.append(Check("warning", f"text column '{excerpt(col)}': empty cells at row "
                                       f"{_rows(texts.isna())} are read as empty text"))
    checks.append(Check("ok", f"text column '{excerpt(col)}': {len(texts)} texts"))
    return texts.fillna("").astype(str).to_numpy(dtype=object), [col], checks


def _text_column(features: pd.DataFrame, spec: InputSpec) -> str | None:
    names = [n for n in (spec.feature_names or ()) if n in features.columns]
    if names:
        return names[0]
    lowered = {c.lower(): c for c in features.columns}
    named = next((lowered[n] for n in TEXT_NAMES if n in lowered), None)
    if named:
        return named
    strings = [c for c in features.columns if features[c].dtype == object
               or pd.api.types.is_string_dtype(features[c])]
    return strings[0] if len(strings) == 1 else None


# ---------------------------------------------------------------- token ids


def _fit_tokens(raw: RawData, spec: InputSpec, label: str | None,
                vocab: tuple[str, ...] | None, mask_id: int | None) -> Dataset:
    tokens = spec.tokens
    if raw.array is not None:
        labels, label_name = raw.labels, "y" if raw.labels is not None else None
        ids = raw.array
        if ids.ndim != 2 or ids.dtype.kind not in "biuf":
            raise DataError(f"{raw.filename}: a token-id model needs an integer array of rows x "
                            f"positions, got {ids.dtype} {tuple(ids.shape)}")
        ids, reason = ids_from_table(pd.DataFrame(ids))
        names = [f"position {i}" for i in range(raw.array.shape[1])]
        fitted = (None, None, [("error", reason)]) if reason else \
            fit_token_ids(ids, names, tokens, vocab, mask_id)
    else:
        table = raw.table
        label_name = _label_column(table, label, raw.filename)
        labels = None if label_name is None else table[label_name].to_numpy()
        features = table.drop(columns=[label_name]) if label_name else table
        fitted = _fit_token_table(features, spec, vocab, mask_id)
    x, codec, found = fitted
    checks = _label_checks(labels, label_name) + [Check(level, msg) for level, msg in found]
    preview = None if x is None else pd.DataFrame({"tokens": x})
    if preview is not None and labels is not None:
        preview[label_name or "label"] = labels
    n = len(raw.array) if raw.array is not None else len(raw.table)
    return Dataset(filename=raw.filename, kind="text", n_rows=n,
                   x=None if _has_error(checks) else x, labels=labels, label_name=label_name,
                   feature_names=["tokens"], preview=preview, checks=tuple(checks), codec=codec)


def _fit_token_table(features: pd.DataFrame, spec: InputSpec,
                     vocab: tuple[str, ...] | None, mask_id: int | None):
    strings = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if len(features.columns) == 1 and strings:
        col = strings[0]
        return fit_token_texts(features[col], str(col), spec.tokens, vocab, mask_id)
    ids, reason = ids_from_table(features)
    if reason:
        return None, None, [("error", reason)]
    return fit_token_ids(ids, [str(c) for c in features.columns], spec.tokens, vocab, mask_id)


# ---------------------------------------------------------------- images


def _fit_images(raw: RawData, spec: InputSpec) -> Dataset:
    if raw.array.ndim == 0 or raw.array.shape[0] == 0:
        raise DataError(f"{raw.filename} holds no images (array shape {raw.array.shape})")
    arr, checks = _conform_image_shape(raw.array, spec)
    labels = raw.labels
    if labels is not None and len(labels) != len(arr):
        checks.append(Check("error", f"{len(labels)} labels for {len(arr)} images"))
    if arr.dtype.kind not in "biuf":
        checks.append(Check("error", f"image array has dtype {arr.dtype}; expected numbers"))
    elif arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))
        checks.append(Check("error", f"images at index {_list(bad)} contain NaN or infinite "
                                     "pixels"))
    if not _has_error(checks):
        checks.append(Check("ok", f"{len(arr)} images of {_fmt(arr.shape[1:])}, pixel range "
                                  f"{arr.min():g}..{arr.max():g}"))
    checks = (_label_checks(labels, "y") if labels is not None else [
        Check("warning", "no labels array (y): predictions can be explained, not scored")]) + checks
    return Dataset(filename=raw.filename, kind="image", n_rows=len(arr),
                   x=None if _has_error(checks) else arr.astype("float32"), labels=labels,
                   label_name=None if labels is None else "y", feature_names=None,
                   preview=None, checks=tuple(checks))


def _conform_image_shape(arr: np.ndarray, spec: InputSpec):
    """Add a missing channel axis, adapt grey/RGB, resize single images; else an error."""
    want = tuple(spec.shape)
    checks: list[Check] = []
    if arr.ndim == len(want) and len(want) == 3 and want[-1] == 1:
        arr = arr[..., None]
    if arr.ndim == len(want) + 1 and len(want) == 3 and arr.shape[-1] != want[-1]:
        arr, note = _adapt_channels(arr, want[-1])
        if note:
            checks.append(Check("warning", note))
    if arr.shape[0] == 1 and arr.ndim == len(want) + 1 and arr.shape[1:3] != want[:2]:
        arr = _resize(arr, want)
        checks.append(Check("warning", f"the image was resized to {_fmt(want[:2])} for the "
                                       "model"))
    if arr.ndim != len(want) + 1 or any(w is not None and a != w
                                        for a, w in zip(arr.shape[1:], want, strict=False)):
        checks.append(Check("error", f"images are {_fmt(arr.shape[1:])}, the model expects "
                                     f"{_fmt(want)}"))
    return arr, checks


def _adapt_channels(arr: np.ndarray, channels: int | None):
    if channels == 1 and arr.shape[-1] == 3:
        return arr.mean(axis=-1, keepdims=True), "RGB images were converted to greyscale"
    if channels == 3 and arr.shape[-1] == 1:
        return np.repeat(arr, 3, axis=-1), "greyscale images were repeated to 3 channels"
    return arr, None


def _resize(arr: np.ndarray, want: tuple) -> np.ndarray:
    from PIL import Image

    h, w = int(want[0]), int(want[1])
    img = arr[0]
    channels = [np.asarray(Image.fromarray(img[..., c].astype("float32")).resize(
        (w, h), Image.Resampling.BILINEAR)) for c in range(img.shape[-1])]
    return np.stack(channels, axis=-1)[None, ...]


# ---------------------------------------------------------------- helpers


def _has_error(checks: list[Check]) -> bool:
    return any(c.level == "error" for c in checks)


def _rows(mask: pd.Series) -> str:
    """1-based data row numbers (the header is not a row), first few, then a count."""
    idx = np.flatnonzero(np.asarray(mask)) + 1
    return _list(idx)


def _list(idx) -> str:
    shown = ", ".join(str(i) for i in idx[:MAX_LISTED])
    return shown + (f" (and {len(idx) - MAX_LISTED} more)" if len(idx) > MAX_LISTED else "")


def _fmt(shape) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)
