"""Training history readers: Keras History JSON, CSVLogger CSV, zipped TensorBoard logs.

Each returns a `TrainingHistory`: one row per epoch, one column per series (``loss``,
``val_loss``, ``accuracy``, ...), named as Keras names them in ``History.history``.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from components.errors import (
    DataError,
    GlassboxError,
    excerpt,
    first_line,
    quote_names,
    quote_value,
)
from components.model.scan import (
    MAX_FILE_BYTES,
    ZIP_ERRORS,
    MiB,
    check_archive_members,
    read_archive_member,
)

SUFFIXES = (".json", ".csv", ".zip")
EVENTS_MARK = "tfevents"  # TensorBoard event files are named events.out.tfevents.<...>
MAX_EVENT_FILE_BYTES = 256 * MiB
# Names where lower is better; anything else (accuracy, auc, precision...) is maximised.
LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "mape", "msle", "crossentropy", "hinge")


@dataclass(frozen=True)
class TrainingHistory:
    """``frame``: index = epoch (int, from 0), columns = series; ``source`` = the file name."""

    frame: pd.DataFrame
    source: str


def read_history_bytes(data: bytes, filename: str) -> TrainingHistory:
    """Read a history file by its suffix; a `DataError` names what is wrong with it."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix not in SUFFIXES:
        raise DataError(f"{filename}: a training history is a {', '.join(SUFFIXES)} file "
                        "(History.history as JSON, a CSVLogger file, or a zipped TensorBoard "
                        "log folder)")
    if not data:
        raise DataError(f"{filename} is empty")
    reader = {".json": _from_json, ".csv": _from_csv, ".zip": _from_tensorboard_zip}[suffix]
    frame = reader(data, filename)
    if frame.empty or not len(frame.columns):
        raise DataError(f"{filename} holds no epochs")
    frame.index.name = "epoch"
    return TrainingHistory(frame=frame, source=filename)


def best_epoch(history: TrainingHistory, metric: str = "val_loss") -> int | None:
    """The epoch with the best ``metric`` (min for losses/errors, max otherwise).

    None when the history has no such column or it holds no numbers (e.g. no validation).
    """
    if metric not in history.frame.columns:
        return None
    values = history.frame[metric].astype("float64")
    if values.isna().all():
        return None
    best = values.idxmin() if lower_is_better(metric) else values.idxmax()
    return int(best)


def lower_is_better(metric: str) -> bool:
    """True for loss-like series: 'val_loss', 'mae', 'mean_squared_error'..."""
    name = metric.lower()
    return any(part in name for part in LOWER_IS_BETTER)


# ---------------------------------------------------------------- JSON


def _from_json(data: bytes, filename: str) -> pd.DataFrame:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"{filename} is not valid JSON ({first_line(err)})") from None
    if not isinstance(value, dict) or not value:
        raise DataError(f"{filename}: expected a JSON object of series, e.g. "
                        '{"loss": [...], "val_loss": [...]} (Keras History.history)')
    lengths = {}
    for key, series in value.items():
        if not isinstance(series, list) or not all(_is_number(v) for v in series):
            raise DataError(f"{filename}: '{key}' is not a list of numbers")
        lengths[key] = len(series)
    first = next(iter(lengths))
    for key, n in lengths.items():
        if n != lengths[first]:
            raise DataError(f"{filename}: '{key}' has {n} values, '{first}' has "
                            f"{lengths[first]}; every series needs one value per epoch")
    return pd.DataFrame({k: np.asarray(v, dtype="float64") for k, v in value.items()})


def _is_number(v: object) -> bool:
    # bool is an int in Python, but True is not a loss value.
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------- CSV (CSVLogger)


def _from_csv(data: bytes, filename: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(io.BytesIO(data))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DataError(f"{filename} is not a readable CSV file ({first_line(err)})") from None
    if "epoch" not in table.columns:
        raise DataError(f"{filename}: a CSVLogger file has an 'epoch' column; columns are "
                        f"{quote_names(table.columns)}")
    epochs = pd.to_numeric(table["epoch"], errors="coerce")
    if epochs.isna().any() or (epochs % 1 != 0).any():
        raise DataError(f"{filename}: column 'epoch' holds values that are not whole numbers")
    metrics = table.drop(columns=["epoch"])
    for col in metrics.columns:
        values = pd.to_numeric(metrics[col], errors="coerce")
        bad = values.isna() & metrics[col].notna()
        if bad.any():
            raise DataError(f"{filename}: column '{excerpt(col)}' holds non-numbers, first "
                            f"{quote_value(metrics[col][bad].iloc[0])}")
        metrics[col] = values.astype("float64")
    metrics.index = epochs.astype(int).to_numpy()
    # CSVLogger(append=True) over a restarted run repeats epochs: the latest run wins.
    metrics = metrics[~metrics.index.duplicated(keep="last")]
    return metrics.sort_index()


# ---------------------------------------------------------------- TensorBoard (zip)


def _from_tensorboard_zip(data: bytes, filename: str) -> pd.DataFrame:
    """Unpack the event files of one run and collect its ``epoch_*`` scalars."""
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{filename} is {len(data) / MiB:.0f} MiB; the limit is "
                        f"{MAX_FILE_BYTES // MiB} MiB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf, \
                tempfile.TemporaryDirectory(prefix="glassbox-tb-") as tmp:
            paths = _extract_event_files(zf, Path(tmp), filename)
            return _read_event_files(paths, Path(tmp), filename)
    except DataError:
        raise
    except GlassboxError as err:  # the archive rules speak of models; the user sent a log
        raise DataError(f"{filename}: {err}") from None
    except ZIP_ERRORS:  # after our own verdicts: they are ValueErrors too
        raise DataError(f"{filename} is not a zip archive") from None


def _extract_event_files(zf: zipfile.ZipFile, root: Path, filename: str) -> list[Path]:
    infos = zf.infolist()
    check_archive_members(infos)  # same count, path, link and bomb rules as model uploads
    paths = []
    for info in infos:
        if info.is_dir() or EVENTS_MARK not in PurePosixPath(info.filename).name:
            continue  # profiler traces, projector files...: nothing we plot
        target = (root / info.filename).resolve()
        if not target.is_relative_to(root.resolve()):  # names were checked; belt and braces
            raise DataError(f"{filename}: archive member '{info.filename}' points outside")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read_archive_member(zf, info.filename, MAX_EVENT_FILE_BYTES))
        paths.append(target)
    if not paths:
        raise DataError(f"{filename} holds no TensorBoard event files (events.out.tfevents.*); "
                        "zip the log folder the TensorBoard callback wrote")
    return paths


def _read_event_files(paths: list[Path], root: Path, filename: str) -> pd.DataFrame:
    runs = sorted({_run_of(p, root) for p in paths})
    if len(runs) > 1:
        more = ", ..." if len(runs) > 3 else ""
        raise DataError(f"{filename} holds {len(runs)} TensorBoard runs: "
                        f"{quote_names(runs[:3])}{more}; zip the folder of one run")
    series: dict[str, dict[int, float]] = {}
    for path in sorted(paths):
        prefix = "val_" if path.parent.name == "validation" else ""
        for tag, step, value in _scalars(path, filename):
            if tag.startswith(("batch_", "evaluation_")):
                continue  # per-batch and per-evaluation points, not one per epoch
            name = tag.removeprefix("epoch_")
            name = name if name.startswith(prefix) else prefix + name
            series.setdefault(name, {})[step] = value  # a resumed run rewrites: last wins
    if not series:
        raise DataError(f"{filename}: the event files hold no scalar values")
    return pd.DataFrame(series).sort_index()


def _run_of(path: Path, root: Path) -> str:
    """The run folder: the parent of train/ and validation/, else the file's own folder."""
    folder = path.parent.parent if path.parent.name in ("train", "validation") else path.parent
    run = folder.relative_to(root).as_posix()
    return "(top level)" if run == "." else run


def _scalars(path: Path, filename: str):
    """Yield (tag, step, value) for every one-number summary in one event file.

    TF2 writes scalars as tensors (``tf.summary.scalar``); older writers use ``simple_value``.
    Graphs, model JSON, histograms and images are skipped.
    """
    import tensorflow as tf  # deferred: ~4 s; only once a log is actually read

    try:
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for v in event.summary.value:
                value = _one_number(v, tf)
                if value is not None:
                    yield v.tag, int(event.step), value
    except (tf.errors.OpError, ValueError) as err:  # DataLossError, a bad proto...
        raise DataError(f"{filename}: event file '{path.name}' is truncated or corrupt "
                        f"({first_line(err)})") from None


def _one_number(v, tf) -> float | None:
    kind = v.WhichOneof("value")
    if kind == "simple_value":
        return float(v.simple_value)
    if kind == "tensor":
        arr = tf.make_ndarray(v.tensor)
        if arr.size == 1 and arr.dtype.kind in "fiu":
            return float(arr.reshape(()))
    return None
