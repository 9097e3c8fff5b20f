"""Models the operator put on the server: the `.keras`/`.h5` files in ``GLASSBOX_MODELS_DIR``.

A model too big to upload comfortably (ResNet152, a DistilBERT-size KerasHub model) can be
copied into one folder on the server; the pickers list its files, and a chosen one is read
from there (never through Streamlit's upload path) and then checked and loaded exactly like
an upload: the same bounded static scan, a worker process, Keras' safe mode.

The folder is the operator's, its files are not trusted, and a name from a URL is not
either: only the folder's own entries are listed, a name with a path in it is refused, a
symbolic link is followed only to a file in the same folder (never out of it), and only a
regular file is read (a FIFO or device would block or never end), at most `MAX_MODEL_BYTES`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from components.errors import BadModelFileError, UnsafeModelError
from components.model.scan import MAX_MODEL_BYTES, MiB, shown

ENV = "GLASSBOX_MODELS_DIR"
SUFFIXES = (".keras", ".h5")
MAX_LISTED = 500  # a folder holding more lists its first 500 names (sorted)


@dataclass(frozen=True)
class FolderModel:
    """One listed file: its name in the folder and what identifies this version of it."""

    name: str
    size: int  # bytes
    mtime_ns: int
    inode: int

    @property
    def version(self) -> tuple[str, int, int, int]:
        """Changes when the file is replaced or rewritten: a cache key for its bytes."""
        return (self.name, self.size, self.mtime_ns, self.inode)


def models_dir() -> Path | None:
    """The configured folder, or None when ``GLASSBOX_MODELS_DIR`` is unset or not a folder."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


def list_models(root: Path | None = None) -> list[FolderModel]:
    """The folder's model files that may be read, sorted by name (none without a folder).

    Entries that would be refused by `read_model` (links out of the folder, directories,
    FIFOs, files over the size cap, names that are not plain) are not listed at all.
    """
    root = models_dir() if root is None else root
    if root is None:
        return []
    try:
        names = sorted(entry.name for entry in os.scandir(root))
    except OSError:
        return []
    found = []
    for name in names:
        if len(found) >= MAX_LISTED:
            break
        try:
            found.append(_stat(root, name))
        except (BadModelFileError, UnsafeModelError):
            continue
    return found


def read_model(name: str, root: Path | None = None) -> tuple[bytes, FolderModel]:
    """The bytes of the folder's file ``name`` and its identity; raises a `GlassboxError`
    naming the reason for anything but a regular model file inside the folder."""
    root = models_dir() if root is None else root
    if root is None:
        raise BadModelFileError(f"no model folder is configured ({ENV} is not set)")
    real = _resolve(root, name)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise BadModelFileError(f"{shown(name)} cannot be opened "
                                f"({err.strerror or type(err).__name__})") from None
    try:
        info = _regular(os.fstat(fd), name)  # what was opened, not what the path names now
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb", buffering=0) as fh:
        data = fh.read(info.st_size + 1)  # the size read above, plus one to see growth
    if len(data) != info.st_size:
        raise BadModelFileError(f"{shown(name)} changed while it was read; try again")
    return data, FolderModel(name, info.st_size, info.st_mtime_ns, info.st_ino)


def _stat(root: Path, name: str) -> FolderModel:
    info = _regular(os.stat(_resolve(root, name)), name)
    return FolderModel(name, info.st_size, info.st_mtime_ns, info.st_ino)


def _resolve(root: Path, name: str) -> Path:
    """The real path of ``root/name``, refused unless it is a model file directly inside
    the folder (a link to a file in the same folder is followed; one leading out is not)."""
    if not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".") \
            or "/" in name or "\\" in name or "\0" in name or not name.isprintable():
        raise UnsafeModelError(f"'{shown(name)}' is not a plain file name in the model folder")
    if not name.lower().endswith(SUFFIXES):
        raise BadModelFileError(f"{shown(name)} is not a .keras or .h5 file")
    try:
        real_root = root.resolve(strict=True)
        real = (real_root / name).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of links
        raise BadModelFileError(f"{shown(name)} is not in the model folder") from None
    if real.parent != real_root:
        raise UnsafeModelError(f"{shown(name)} is a link to a file outside the model folder")
    return real


def _regular(info: os.stat_result, name: str) -> os.stat_result:
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeModelError(f"{shown(name)} is not a regular file")
    if info.st_size > MAX_MODEL_BYTES:
        raise UnsafeModelError(f"{shown(name)} is {info.st_size / MiB:.0f} MiB; the limit is "
                               f"{MAX_MODEL_BYTES // MiB} MiB")
    return info
