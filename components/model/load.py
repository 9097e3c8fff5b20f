"""Load an uploaded model: static scan first, then Keras in safe mode, keyed by content.

Keras is imported lazily so that refusing a hostile file, or starting the CLI, never pays
TensorFlow's import cost.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.errors import BadModelFileError, GlassboxError, first_line
from components.model.scan import ScanReport, scan_model_bytes, shown

SUFFIX = {"keras": ".keras", "h5": ".h5"}
ALLOWED_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class LoadedModel:
    """A Keras model with its identity: ``sha256`` of the uploaded bytes names it everywhere."""

    sha256: str
    filename: str
    fmt: str
    model: Any  # keras.Model; typed loosely to keep keras off the import path


def sha256_hex(data: bytes) -> str:
    """The content address of an upload (64 lowercase hex digits)."""
    return hashlib.sha256(data).hexdigest()


def load_model_bytes(data: bytes, filename: str = "model.keras") -> LoadedModel:
    """Scan ``data``, then load it with ``safe_mode=True, compile=False``.

    Raises `GlassboxError` (one-line message) for anything refused or unreadable.
    """
    report = check_model_bytes(data, filename)
    model = _keras_load(data, report)
    return LoadedModel(sha256=sha256_hex(data), filename=filename, fmt=report.fmt, model=model)


def check_model_bytes(data: bytes, filename: str) -> ScanReport:
    """The static checks alone (name, then `scan_model_bytes`): no TensorFlow, no Keras."""
    _check_suffix(filename)
    return scan_model_bytes(data, filename)


def load_model_path(path: str | os.PathLike[str]) -> LoadedModel:
    """Read a model file from disk and load it as `load_model_bytes` does."""
    p = Path(path)
    if not p.is_file():
        raise GlassboxError(f"no such model file: {p}")
    return load_model_bytes(p.read_bytes(), p.name)


def _check_suffix(filename: str) -> None:
    if not filename.lower().endswith(ALLOWED_SUFFIXES):
        raise BadModelFileError(f"'{shown(filename)}' is not a .keras or .h5 file")


def _load_failure(err: Exception) -> str:
    """One sentence for a failed load; TensorFlow's out-of-memory text is long and cryptic."""
    if (oom := re.search(r"OOM when allocating tensor with shape\[([\d,]+)\]", str(err))):
        shape = " x ".join(f"{int(d):,}" for d in oom.group(1).split(","))
        return (f"the model ran out of memory while loading: a weight of {shape} values "
                "does not fit in the memory a model may use")
    return f"Keras could not load the model: {first_line(err)}"


def _keras_load(data: bytes, report: ScanReport) -> Any:
    import keras  # deferred: ~4 s of TensorFlow import, only once the file passed the scan

    # Keras reads from a path; the file lives in a private directory that is removed at once.
    with tempfile.TemporaryDirectory(prefix="glassbox-") as tmp:
        path = Path(tmp) / f"upload{SUFFIX[report.fmt]}"
        path.write_bytes(data)
        try:
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as err:  # Keras raises many types; the user needs one sentence.
            raise BadModelFileError(_load_failure(err)) from None
    if not isinstance(model, keras.Model):
        raise BadModelFileError(f"the file holds a {type(model).__name__}, not a Keras model")
    return model
