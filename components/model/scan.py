"""Static inspection of an uploaded model file, before Keras ever sees it.

Nothing here imports Keras or TensorFlow: a refused file costs milliseconds and runs nothing.
Accepts a `.keras` zip (config.json + metadata.json + model.weights.h5 + assets/) or a legacy
HDF5 `.h5` with a `model_config` attribute, and walks the model config recursively against
the allowlist in `allowlist`.
"""

from __future__ import annotations

import io
import json
import posixpath
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import h5py

from components.errors import BadModelFileError, GlassboxError, UnsafeModelError
from components.model import allowlist as allow

MiB = 1024 * 1024
MAX_FILE_BYTES = 256 * MiB  # the upload cap; matches .streamlit/config.toml
MAX_MEMBERS = 64  # a .keras file has 3 members plus a few vocabulary assets
MAX_UNPACKED_BYTES = 1024 * MiB  # declared uncompressed size of all members together
MAX_RATIO = 100  # compression ratio above which a member (> 1 MiB) counts as a bomb
MAX_CONFIG_BYTES = 8 * MiB
MAX_DEPTH = 100  # nesting of the config JSON; real models stay far below
MAX_WEIGHT_BYTES = 1024 * MiB  # declared size of all HDF5 datasets together

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_MEMBERS = frozenset({"config.json", "metadata.json", "model.weights.h5"})


@dataclass(frozen=True)
class ScanReport:
    """What the static pass learned: the file format, its parsed config, classes it names."""

    fmt: str  # "keras" or "h5"
    config: dict[str, Any]
    classes: Counter = field(default_factory=Counter)


def scan_model_bytes(data: bytes, filename: str = "model") -> ScanReport:
    """Inspect ``data`` statically; raise `UnsafeModelError` / `BadModelFileError` if refused."""
    filename = shown(filename)
    if not data:
        raise BadModelFileError(f"{filename} is empty")
    if len(data) > MAX_FILE_BYTES:
        raise UnsafeModelError(
            f"{filename} is {len(data) / MiB:.0f} MiB; the limit is {MAX_FILE_BYTES // MiB} MiB"
        )
    if data.startswith(ZIP_MAGIC):
        config = _scan_keras_zip(data)
        fmt = "keras"
    elif data.startswith(HDF5_MAGIC):
        config = _scan_h5_model(data)
        fmt = "h5"
    else:
        raise BadModelFileError(f"{filename} is {_describe(data)}, not a Keras model "
                                "(expected a .keras zip archive or a legacy .h5 HDF5 file)")
    return ScanReport(fmt=fmt, config=config, classes=check_config(config))


def shown(value: object, limit: int = 80) -> str:
    """User-controlled text as it may appear in a one-line message.

    Control and other non-printable characters are escaped (a newline, NUL, ANSI escape or
    line separator can neither split the message nor reach a terminal); long text is cut.
    """
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _describe(data: bytes) -> str:
    """Name what a non-model file looks like, for the error message."""
    if data.startswith(b"PK\x05\x06"):
        return "an empty zip archive"
    hidden = _hidden_container(data)
    if hidden:
        return hidden
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown format"
    printable = all(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return "a text file" if printable else "unknown data"


def _hidden_container(data: bytes) -> str | None:
    """A zip archive or HDF5 file that starts after other data: a polyglot file.

    Zip readers (Keras' included) find an archive from its end, and HDF5 finds its superblock
    at 512, 1024... bytes too, so a PNG or a shell script with a model appended would load.
    Such a file is refused by its first bytes; this names it for what it is.
    """
    found = [(at, kind) for magic, kind in ((ZIP_MAGIC, "a zip archive"),
                                            (HDF5_MAGIC, "an HDF5 file"))
             if (at := data.find(magic, 1)) > 0]
    if not found:
        return None
    at, kind = min(found)
    return f"a polyglot file ({kind} hidden after {at:,} bytes of other data)"


# ---------------------------------------------------------------- .keras (zip)


def _scan_keras_zip(data: bytes) -> dict[str, Any]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise BadModelFileError(
            f"the .keras archive is truncated or corrupt ({shown(str(err), 160)})") from None
    names = {i.filename for i in infos}
    if "saved_model.pb" in {posixpath.basename(n) for n in names}:
        raise UnsafeModelError("this is a zipped TensorFlow SavedModel, not a .keras file; "
                               "SavedModels can hold arbitrary graph ops and are not accepted")
    _check_members(infos)
    if "config.json" not in names:
        raise BadModelFileError("the archive has no config.json, so it is not a .keras model")
    config = _parse_json(_read_member(zf, "config.json", MAX_CONFIG_BYTES), "config.json")
    if "model.weights.h5" in names:
        _check_h5_structure(_read_member(zf, "model.weights.h5", MAX_FILE_BYTES))
    return config


def check_archive_members(infos: list[zipfile.ZipInfo]) -> None:
    """The .keras archive rules minus its member-name list, for other zipped uploads.

    Count cap, no absolute/'..'/symlinked/encrypted/duplicate members, bomb ratio, total size.
    """
    _check_members(infos, keras_names=False)


def read_archive_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read one member, at most ``limit`` bytes whatever its header claims."""
    return _read_member(zf, name, limit)


def _check_members(infos: list[zipfile.ZipInfo], keras_names: bool = True) -> None:
    if len(infos) > MAX_MEMBERS:
        where = "a .keras file" if keras_names else "an uploaded archive"
        raise UnsafeModelError(f"the archive has {len(infos)} members; at most {MAX_MEMBERS} "
                               f"are allowed in {where}")
    seen: set[str] = set()
    for info in infos:
        _check_member_name(info, keras_names)
        if info.filename in seen:
            raise UnsafeModelError(f"the archive lists member '{shown(info.filename)}' twice")
        seen.add(info.filename)
        _check_member_size(info)
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise UnsafeModelError(f"the archive unpacks to {total / MiB:.0f} MiB; the limit is "
                               f"{MAX_UNPACKED_BYTES // MiB} MiB")


def _check_member_name(info: zipfile.ZipInfo, keras_names: bool = True) -> None:
    raw = info.filename
    name = shown(raw)
    if not raw.isprintable():
        raise UnsafeModelError(f"archive member '{name}' has a control character in its name")
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeModelError(f"archive member '{name}' has an absolute path")
    if ".." in raw.replace("\\", "/").split("/") or "\\" in raw:
        raise UnsafeModelError(f"archive member '{name}' points outside the archive ('..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeModelError(f"archive member '{name}' is a symbolic link")
    if info.flag_bits & 0x1:
        raise UnsafeModelError(f"archive member '{name}' is encrypted")
    if keras_names and raw not in KERAS_MEMBERS and not raw.startswith("assets/") \
            and raw != "assets":
        raise UnsafeModelError(f"unexpected archive member '{name}': a .keras file holds only "
                               "config.json, metadata.json, model.weights.h5 and assets/")


def _check_member_size(info: zipfile.ZipInfo) -> None:
    if info.file_size > MiB and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        raise UnsafeModelError(f"archive member '{shown(info.filename)}' expands {ratio:.0f}x "
                               f"(limit {MAX_RATIO}x): this looks like a zip bomb")


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read at most ``limit`` bytes, whatever the header claims (headers can lie)."""
    try:
        with zf.open(name) as fh:
            blob = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise BadModelFileError(
            f"archive member '{shown(name)}' is truncated or corrupt ({shown(str(err), 160)})"
        ) from None
    if len(blob) > limit:
        raise UnsafeModelError(f"archive member '{shown(name)}' is over {limit // MiB} MiB")
    return blob


def _parse_json(blob: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(blob)
    except RecursionError:
        raise UnsafeModelError(f"{what} is nested too deeply to be a model config") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise BadModelFileError(f"{what} is not valid JSON ({shown(str(err), 160)})") from None
    if not isinstance(value, dict):
        raise BadModelFileError(f"{what} is not a JSON object")
    return value


# ---------------------------------------------------------------- HDF5


def _scan_h5_model(data: bytes) -> dict[str, Any]:
    with _open_h5(data) as f:
        _check_h5_tree(f)
        raw = f.attrs.get("model_config")
    if raw is None:
        raise BadModelFileError("the HDF5 file has no model_config: it holds weights only, "
                                "not a whole model")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        raise BadModelFileError("the HDF5 model_config attribute is not text")
    if len(raw) > MAX_CONFIG_BYTES:
        raise UnsafeModelError(f"model_config is over {MAX_CONFIG_BYTES // MiB} MiB")
    return _parse_json(raw, "model_config")


def _check_h5_structure(data: bytes) -> None:
    with _open_h5(data) as f:
        _check_h5_tree(f)


def _open_h5(data: bytes) -> h5py.File:
    try:
        return h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as err:
        raise BadModelFileError(
            f"the HDF5 data is truncated or corrupt ({shown(str(err), 160)})") from None


def _check_h5_tree(root: h5py.Group) -> None:
    """Refuse links and external/virtual storage; cap the declared size of all datasets."""
    total = 0
    stack, seen = [root], set()
    try:
        while stack:
            group = stack.pop()
            for name in group:
                obj = _hard_member(group, name)
                if obj.id in seen:
                    continue
                seen.add(obj.id)
                if isinstance(obj, h5py.Group):
                    stack.append(obj)
                elif isinstance(obj, h5py.Dataset):
                    total += _dataset_bytes(obj)
                # anything else is a committed (named) datatype: it holds no data
    except GlassboxError:
        raise  # our own verdicts are ValueErrors too; keep their message
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise BadModelFileError(
            f"the HDF5 data is truncated or corrupt ({shown(str(err), 160)})") from None
    if total > MAX_WEIGHT_BYTES:
        raise UnsafeModelError(f"the weights declare {total / MiB:,.0f} MiB; the limit is "
                               f"{MAX_WEIGHT_BYTES // MiB} MiB")


def _hard_member(group: h5py.Group, name: str) -> h5py.Group | h5py.Dataset:
    link = group.get(name, getlink=True)
    if isinstance(link, h5py.ExternalLink):
        raise UnsafeModelError(f"HDF5 entry '{shown(name)}' is a link to another file")
    if isinstance(link, h5py.SoftLink):
        raise UnsafeModelError(f"HDF5 entry '{shown(name)}' is a soft link")
    return group[name]


def _dataset_bytes(dset: h5py.Dataset) -> int:
    if dset.is_virtual:
        raise UnsafeModelError(f"HDF5 dataset '{shown(dset.name)}' is virtual (maps other "
                               "files)")
    if dset.external:
        raise UnsafeModelError(f"HDF5 dataset '{shown(dset.name)}' stores its data in an "
                               "external file")
    size = int(dset.dtype.itemsize)
    for dim in dset.shape or ():
        size *= int(dim)
    if size > MAX_WEIGHT_BYTES:
        raise UnsafeModelError(f"HDF5 dataset '{shown(dset.name)}' declares "
                               f"{size / MiB:,.0f} MiB; "
                               f"the limit is {MAX_WEIGHT_BYTES // MiB} MiB")
    return size


# ---------------------------------------------------------------- the config


def check_config(config: dict[str, Any]) -> Counter:
    """Walk a model config; return class-name counts or raise `UnsafeModelError`.

    ``compile_config`` is skipped: with ``compile=False`` Keras never deserialises it.
    """
    counts: Counter = Counter()
    stack: list[tuple[Any, str | None, int]] = [(config, None, 0)]
    while stack:
        node, key, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeModelError(f"the model config is nested over {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            if "class_name" in node:
                counts[_check_object(node)] += 1
            stack.extend((v, k, depth + 1) for k, v in node.items() if k != "compile_config")
            _check_values(node)
        elif isinstance(node, list):
            stack.extend((v, key, depth + 1) for v in node)
    return counts


def _check_object(node: dict[str, Any]) -> str:
    cls = node.get("class_name")
    if not isinstance(cls, str):
        raise UnsafeModelError(f"the config has a class_name that is not a string: "
                               f"{shown(cls)}")
    _check_layer_names(node)
    name, shown_cls = _layer_name(node), shown(cls)
    module = node.get("module")
    if module is not None and not (module == "keras" or str(module).startswith("keras.")):
        raise UnsafeModelError(f"{shown_cls}{name} comes from module '{shown(module)}', which "
                               "is not keras")
    registered = node.get("registered_name")
    if registered not in (None, cls):
        raise UnsafeModelError(f"{shown_cls}{name} is registered as custom object "
                               f"'{shown(registered)}'")
    if cls in allow.REFUSED_LAYERS:
        raise UnsafeModelError(f"layer{name} is refused: {allow.REFUSED_LAYERS[cls]}")
    if cls == "function":
        _check_function(node)
    elif cls not in allow.ALLOWED_CLASSES:
        raise UnsafeModelError(
            f"class '{shown_cls}'{name} is not a built-in Keras layer on the allowlist")
    return cls


def _layer_name(node: dict[str, Any]) -> str:
    cfg = node.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    return f" '{shown(name)}'" if isinstance(name, str) else ""


def _check_layer_names(node: dict[str, Any]) -> None:
    """A layer's name becomes a path (weights groups, asset folders): no path tricks in it.

    Keras itself refuses '/' in names; '\\', '..' and control characters are refused here.
    """
    cfg = node.get("config")
    for name in (cfg.get("name") if isinstance(cfg, dict) else None, node.get("name")):
        if not isinstance(name, str):
            continue
        if not name.isprintable():
            problem = "a NUL, control or other non-printable character"
        elif "/" in name or "\\" in name:
            problem = "a path separator"
        elif ".." in name:
            problem = "'..'"
        else:
            continue
        raise UnsafeModelError(f"layer '{shown(name)}' is refused: its name contains {problem}")


def _check_function(node: dict[str, Any]) -> None:
    """Built-in activations may be serialised as {"class_name": "function", "config": name}."""
    module, fn = node.get("module"), node.get("config")
    if module != "keras.activations" or not isinstance(fn, str) or fn not in allow.ACTIVATIONS:
        raise UnsafeModelError(f"the config references function {shown(repr(fn))} from "
                               f"{shown(repr(module))}, which is not a built-in Keras activation")


def _check_values(cfg: dict[str, Any]) -> None:
    """Values that Keras resolves by name, reads from disk, or allocates by size."""
    for key, value in cfg.items():
        if key in allow.ACTIVATION_KEYS and isinstance(value, str):
            if value not in allow.ACTIVATIONS:
                raise UnsafeModelError(f"activation '{shown(value)}' is not a built-in Keras "
                                       "activation")
        elif key in allow.ACTIVATION_KEYS and isinstance(value, dict) and "class_name" not in value:
            # Keras writes a lambda activation as its bare bytecode: {"value": [...]}
            raise UnsafeModelError(f"'{key}' holds serialised Python code (a lambda), not a "
                                   "built-in Keras activation")
        elif key == "vocabulary" and isinstance(value, str):
            raise UnsafeModelError(f"a lookup layer reads its vocabulary from path "
                                   f"'{shown(value)}'; only inline vocabularies are accepted")
        elif key == "input_dim" and _embedding_elements(cfg) > MAX_WEIGHT_BYTES // 4:
            rows, cols = cfg["input_dim"], cfg["output_dim"]
            raise UnsafeModelError(f"an embedding of {rows:,} x {cols:,} would take "
                                   f"{rows * cols * 4 / MiB:,.0f} MiB; the limit is "
                                   f"{MAX_WEIGHT_BYTES // MiB} MiB")
        elif key in allow.SIZE_KEYS and isinstance(value, int) and value > allow.MAX_SIZE_VALUE:
            raise UnsafeModelError(f"'{key}': {value:,} is over the limit of "
                                   f"{allow.MAX_SIZE_VALUE:,} for one layer dimension")
        elif key == "safe_mode" or key.startswith("enable_unsafe"):
            raise UnsafeModelError(f"the config tries to set '{shown(key)}'")


def _embedding_elements(cfg: dict[str, Any]) -> int:
    """Cells of the table an Embedding-like config declares (input_dim x output_dim), else 0.

    Keras allocates it while building, before any weight is read, so the HDF5 size check
    alone cannot stop it. Other layers' sizes depend on their inputs' shapes.
    """
    rows, cols = cfg.get("input_dim"), cfg.get("output_dim")
    if isinstance(rows, int) and isinstance(cols, int):
        return rows * cols
    return 0
