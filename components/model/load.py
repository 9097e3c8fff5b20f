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
from components.model.keras_hub_text import as_text_model
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


# Keras' wrappers around the real reason: their first line says only that something failed.
GENERIC = re.compile(r"could not be deserialized properly|^Error when deserializing class|"
                     r"^Exception encountered when calling|objects? could not be loaded")
# Where Keras puts the wrapped reason inside a generic message.
ENCOUNTERED = "Exception encountered: "
# What a generic first line names: "when calling Reshape.call()", "for object <Dense name=x".
CALLING = re.compile(r"when calling (?:layer )?['\"]?(\w+)")
OBJECT = re.compile(r"for object <(\w+) name=([^,>]+)")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Dumps Keras appends to a reason: a whole config, or a variable with its values.
NOISE = re.compile(r"\s*(?:Full object config:|Target variable:|Received: config=|config=\{).*$")
MAX_REASON = 240  # characters of the reason; with the prefix the message stays under 300
MAX_CHAIN = 16  # exceptions followed through __cause__ / __context__


def _load_failure(err: Exception) -> str:
    """One sentence for a failed load; TensorFlow's out-of-memory text is long and cryptic,
    and Keras' own first line is often a wrapper ("... could not be deserialized properly")
    whose cause is further down (`_load_reason`)."""
    if (oom := re.search(r"OOM when allocating tensor with shape\[([\d,]+)\]", str(err))):
        shape = " x ".join(f"{int(d):,}" for d in oom.group(1).split(","))
        return (f"the model ran out of memory while loading: a weight of {shape} values "
                "does not fit in the memory a model may use")
    return f"Keras could not load the model: {_load_reason(err)}"


def _load_reason(err: BaseException) -> str:
    """The specific reason of a failed load, in one line of at most `MAX_REASON` characters.

    Follows the chain of ``__cause__`` / ``__context__`` and, within each exception, the
    later lines of a generic message (Keras' "Exception encountered: ..." and the bold line
    after "Exception encountered when calling X.call()"); the first specific line wins.
    """
    seen: set[int] = set()
    exc: BaseException | None = err
    while exc is not None and id(exc) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(exc))
        if reason := _specific_line(exc):
            return shown(reason, MAX_REASON)
        exc = exc.__cause__ or exc.__context__
    return first_line(err, MAX_REASON)


def _specific_line(exc: BaseException) -> str | None:
    """The line of ``exc``'s message that says what went wrong, or None if it only wraps."""
    lines = [line.strip() for line in ANSI.sub("", str(exc)).splitlines() if line.strip()]
    if not lines:
        return None
    if not GENERIC.search(lines[0]):
        return _clean(lines[0])
    inner = [line[line.rindex(ENCOUNTERED) + len(ENCOUNTERED):] for line in lines
             if ENCOUNTERED in line]
    if inner and inner[-1].strip() and not GENERIC.search(inner[-1]):
        return _clean(inner[-1])
    if calling := CALLING.search(lines[0]):
        where = f"{calling.group(1)}: "
    elif found := OBJECT.search(lines[0]):
        where = f"{found.group(1)} '{found.group(2)}': "
    else:
        where = ""
    for line in lines[1:]:
        if line.startswith(("Arguments received", "\u2022", "List of objects", "config=")) \
                or GENERIC.search(line) or ENCOUNTERED in line:
            continue
        return where + _clean(line)
    return None


def _clean(line: str) -> str:
    return NOISE.sub("", line).strip() or line.strip()


def _keras_load(data: bytes, report: ScanReport) -> Any:
    import keras  # deferred: ~4 s of TensorFlow import, only once the file passed the scan

    # Keras reads from a path; the file lives in a private directory that is removed at once.
    # In a worker that directory is under the worker's own TMPDIR, which the parent removes
    # when the worker dies, so a kill mid-load (memory, timeout) leaves no copy behind either.
    with tempfile.TemporaryDirectory(prefix="glassbox-") as tmp:
        path = Path(tmp) / f"upload{SUFFIX[report.fmt]}"
        path.write_bytes(data)
        try:
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as err:  # Keras raises many types; the user needs one sentence.
            raise BadModelFileError(_load_failure(err)) from None
    if not isinstance(model, keras.Model):
        raise BadModelFileError(f"the file holds a {type(model).__name__}, not a Keras model")
    # A KerasHub text classifier reads raw strings through its preprocessor from here on.
    return as_text_model(model)
