"""Static inspection of an uploaded model file, before Keras ever sees it.

Nothing here imports Keras or TensorFlow: a refused file costs milliseconds and runs nothing.
Accepts a `.keras` zip (config.json + metadata.json + model.weights.h5 + assets/) or a legacy
HDF5 `.h5` with a `model_config` attribute, and walks the model config recursively against
the allowlist in `allowlist`.
"""

from __future__ import annotations

import io
import json
import lzma
import math
import posixpath
import re
import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import h5py

from components.errors import BadModelFileError, GlassboxError, UnsafeModelError
from components.model import allowlist as allow
from components.model import keras_hub_classes

MiB = 1024 * 1024
MAX_FILE_BYTES = 256 * MiB  # other uploads (a zipped TensorBoard run); see read.MAX_DATA_BYTES
# A model file: ResNet152 (230 MB, 460 MB with its optimizer state) and DistilBERT-size
# KerasHub models (~260 MB) fit; matches maxUploadSize in .streamlit/config.toml.
MAX_MODEL_BYTES = 1024 * MiB
MAX_MEMBERS = 64  # a .keras file has 3 members plus a few vocabulary assets
# Declared sizes are judged against the bytes actually sent: what a file may declare (the
# archive's unpacked total, the HDF5 datasets' sizes) is `declared_limit(len(data))`, at least
# the fixed floor below and at most `DECLARED_RATIO` times the file. Keras stores its weights
# uncompressed, so a real model declares about its own size; a bomb declares far more.
MAX_UNPACKED_BYTES = 1024 * MiB  # floor: declared uncompressed size of all members together
DECLARED_RATIO = 2
MAX_RATIO = 100  # compression ratio above which a member (> 1 MiB) counts as a bomb
MAX_CONFIG_BYTES = 8 * MiB
MAX_DEPTH = 100  # nesting of the config JSON; real models stay far below
MAX_WEIGHT_BYTES = 1024 * MiB  # floor: declared size of all HDF5 datasets together
MAX_WEIGHT_ELEMENTS = MAX_WEIGHT_BYTES // 4  # float32 values one declared weight may hold
# Cheap bounds on the HDF5 walk, checked link by link while iterating. Measured on Keras'
# own files: MobileNetV2 576 links (.keras; 525 in .h5), 156 in its largest group;
# NASNetLarge, the most layers in keras.applications, 4,624 links (.h5), 1,042 in one group;
# Keras writes at most 4 attributes on an object (a compiled .h5's root). Opening 50,000
# distinct datasets takes the walk ~5 s; links to objects already seen cost ~2 µs each.
MAX_H5_OBJECTS = 50_000  # links listed in the whole file, hard links to one object included
MAX_H5_GROUP_MEMBERS = 10_000  # links in one group
MAX_H5_ATTRIBUTES = 64  # attributes on one object

ZIP_MAGIC = b"PK\x03\x04"
# What zipfile and h5py raise on corrupt input (found by fuzzing: bench/fuzz.py): every one
# becomes a one-line refusal. UnicodeDecodeError is a ValueError; a corrupt member raises
# zlib's, bz2's (OSError) or lzma's own error (an LZMA member with bad filter properties).
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
              RuntimeError, zlib.error, lzma.LZMAError)
H5_ERRORS = (OSError, ValueError, KeyError, TypeError, RuntimeError, OverflowError)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_HUB_PREFIX = "keras_hub>"  # how keras_hub registers its classes with Keras
KERAS_HUB_CLASS_NAMES = frozenset(cls for cls, _ in keras_hub_classes.CLASSES.values())
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
    if len(data) > MAX_MODEL_BYTES:
        raise UnsafeModelError(
            f"{filename} is {len(data) / MiB:.0f} MiB; the limit is {MAX_MODEL_BYTES // MiB} MiB"
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


def declared_limit(n_bytes: int, floor: int = MAX_WEIGHT_BYTES) -> int:
    """What a file of ``n_bytes`` may declare it unpacks to: ``floor`` or `DECLARED_RATIO`
    times its size, whichever is larger (proportional, so a big model is not a bomb)."""
    return max(floor, DECLARED_RATIO * n_bytes)


def shown(value: object, limit: int = 80) -> str:
    """User-controlled text as it may appear in a one-line message.

    Control and other non-printable characters are escaped (a newline, NUL, ANSI escape or
    line separator can neither split the message nor reach a terminal); long text is cut.
    """
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text[:limit + 1])  # cut first: escaping all of a huge value is slow
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
    except ZIP_ERRORS as err:
        raise BadModelFileError(
            f"the .keras archive is truncated or corrupt ({shown(str(err), 160)})") from None
    names = {i.filename for i in infos}
    if "saved_model.pb" in {posixpath.basename(n) for n in names}:
        raise UnsafeModelError("this is a zipped TensorFlow SavedModel, not a .keras file; "
                               "SavedModels can hold arbitrary graph ops and are not accepted")
    unpacked = declared_limit(len(data), MAX_UNPACKED_BYTES)
    _check_members(infos, unpacked=unpacked)
    if "config.json" not in names:
        raise BadModelFileError("the archive has no config.json, so it is not a .keras model")
    config = _parse_json(_read_member(zf, "config.json", MAX_CONFIG_BYTES), "config.json")
    if "model.weights.h5" in names:
        weights = _read_member(zf, "model.weights.h5", unpacked)
        _check_h5_structure(weights, declared_limit(len(data)))
    return config


def check_archive_members(infos: list[zipfile.ZipInfo]) -> None:
    """The .keras archive rules minus its member-name list, for other zipped uploads.

    Count cap, no absolute/'..'/symlinked/encrypted/duplicate members, bomb ratio, total size.
    """
    _check_members(infos, keras_names=False)


def read_archive_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read one member, at most ``limit`` bytes whatever its header claims."""
    return _read_member(zf, name, limit)


def _check_members(infos: list[zipfile.ZipInfo], keras_names: bool = True,
                   unpacked: int = MAX_UNPACKED_BYTES) -> None:
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
    if total > unpacked:
        raise UnsafeModelError(f"the archive unpacks to {total / MiB:.0f} MiB; the limit is "
                               f"{unpacked // MiB} MiB")


def _check_member_name(info: zipfile.ZipInfo, keras_names: bool = True) -> None:
    raw = info.filename
    name = shown(raw)
    if not raw:
        raise UnsafeModelError("an archive member has an empty name")
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
    except ZIP_ERRORS as err:
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
        _check_h5_tree(f, declared_limit(len(data)))
        try:
            raw = f.attrs.get("model_config")
        except H5_ERRORS as err:
            raise BadModelFileError("the HDF5 model_config is truncated or corrupt "
                                    f"({shown(str(err), 160)})") from None
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


def _check_h5_structure(data: bytes, limit: int = MAX_WEIGHT_BYTES) -> None:
    with _open_h5(data) as f:
        _check_h5_tree(f, limit)


def _open_h5(data: bytes) -> h5py.File:
    try:
        return h5py.File(io.BytesIO(data), "r")
    except H5_ERRORS as err:
        raise BadModelFileError(
            f"the HDF5 data is truncated or corrupt ({shown(str(err), 160)})") from None


def _check_h5_tree(root: h5py.Group, limit: int = MAX_WEIGHT_BYTES) -> None:
    """Refuse links and external/virtual storage; cap the declared size of all datasets
    (and of each) at ``limit`` bytes.

    Cheap bounds first: links are counted as HDF5 lists them (`MAX_H5_OBJECTS` in the file,
    `MAX_H5_GROUP_MEMBERS` in one group), so a million hard links to one dataset stop after
    the first ten thousand; each object is opened once however many links reach it (by its
    address), and its attribute count is read before anything else of it.
    """
    total = 0
    visited = [0]  # links listed so far, in the whole file
    try:
        info = h5py.h5o.get_info(root.id)
        _check_h5_attributes(info.num_attrs, "/")
        seen = {info.addr}
        stack: list[tuple[Any, str]] = [(root.id, "/")]
        while stack:
            gid, path = stack.pop()
            for raw, kind, addr in _h5_links(gid, path, visited):
                name = raw.decode("utf-8", errors="replace")
                if kind == h5py.h5l.TYPE_EXTERNAL:
                    raise UnsafeModelError(f"HDF5 entry '{shown(name)}' is a link to another "
                                           "file")
                if kind == h5py.h5l.TYPE_SOFT:
                    raise UnsafeModelError(f"HDF5 entry '{shown(name)}' is a soft link")
                if kind != h5py.h5l.TYPE_HARD:
                    raise UnsafeModelError(f"HDF5 entry '{shown(name)}' is a user-defined link")
                if addr in seen:
                    continue  # another hard link to an object already checked
                seen.add(addr)
                info = h5py.h5o.get_info(gid, raw)
                _check_h5_attributes(info.num_attrs, posixpath.join(path, name))
                if info.type == h5py.h5o.TYPE_GROUP:
                    stack.append((h5py.h5o.open(gid, raw), posixpath.join(path, name)))
                elif info.type == h5py.h5o.TYPE_DATASET:
                    total += _dataset_bytes(h5py.Dataset(h5py.h5o.open(gid, raw)), limit)
                # anything else is a committed (named) datatype: it holds no data
    except GlassboxError:
        raise  # our own verdicts are ValueErrors too; keep their message
    except H5_ERRORS as err:
        raise BadModelFileError(
            f"the HDF5 data is truncated or corrupt ({shown(str(err), 160)})") from None
    if total > limit:
        raise UnsafeModelError(f"the weights declare {total / MiB:,.0f} MiB; the limit is "
                               f"{limit // MiB} MiB")


def _h5_links(gid: Any, path: str, visited: list[int]) -> list[tuple[bytes, int, int]]:
    """(name, link type, address) of each link in one group, counted while HDF5 lists them.

    The iteration stops at the first link over a bound (a corrupt group that lists its
    links again and again stops there too); ``visited[0]`` counts links file-wide.
    """
    found: list[tuple[bytes, int, int]] = []

    def collect(name: bytes, info: Any) -> bool | None:
        found.append((name, info.type, info.u))  # h5py reuses ``info`` for the next link
        visited[0] += 1
        return True if len(found) > MAX_H5_GROUP_MEMBERS or visited[0] > MAX_H5_OBJECTS \
            else None  # anything but None stops the iteration

    gid.links.iterate(collect, info=True)
    if visited[0] > MAX_H5_OBJECTS:
        raise UnsafeModelError(f"the HDF5 file holds over {MAX_H5_OBJECTS:,} objects; the "
                               f"limit is {MAX_H5_OBJECTS:,}")
    if len(found) > MAX_H5_GROUP_MEMBERS:
        raise UnsafeModelError(f"HDF5 group '{shown(path)}' holds over "
                               f"{MAX_H5_GROUP_MEMBERS:,} entries; the limit is "
                               f"{MAX_H5_GROUP_MEMBERS:,}")
    return found


def _check_h5_attributes(count: int, path: str) -> None:
    if count > MAX_H5_ATTRIBUTES:
        raise UnsafeModelError(f"HDF5 object '{shown(path)}' has {count:,} attributes; the "
                               f"limit is {MAX_H5_ATTRIBUTES}")


def _dataset_bytes(dset: h5py.Dataset, limit: int = MAX_WEIGHT_BYTES) -> int:
    if dset.is_virtual:
        raise UnsafeModelError(f"HDF5 dataset '{shown(dset.name)}' is virtual (maps other "
                               "files)")
    if dset.external:
        raise UnsafeModelError(f"HDF5 dataset '{shown(dset.name)}' stores its data in an "
                               "external file")
    size = int(dset.dtype.itemsize)
    for dim in dset.shape or ():
        size *= int(dim)
    if size > limit:
        raise UnsafeModelError(f"HDF5 dataset '{shown(dset.name)}' declares "
                               f"{size / MiB:,.0f} MiB; "
                               f"the limit is {limit // MiB} MiB")
    return size


# ---------------------------------------------------------------- the config


def check_config(config: dict[str, Any]) -> Counter:
    """Walk a model config; return class-name counts or raise `UnsafeModelError`.

    Every ``compile_config`` (the top-level one and each nested model's) is checked by
    `_check_compile_config`: ``compile=False`` only drops the top-level one, and Keras
    deserialises a nested model's while loading. Its classes are not counted.
    """
    counts: Counter = Counter()
    stack: list[tuple[Any, str | None, int]] = [(config, None, 0)]
    while stack:
        node, key, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeModelError(f"the model config is nested over {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            if "class_name" in node:
                cls = _check_object(node)
                _check_sizes(cls, node)
                counts[cls] += 1
            if node.get("compile_config") is not None:
                _check_compile_config(node["compile_config"], _layer_name(node), depth + 1)
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
    if _names_keras_hub(node):
        return _check_keras_hub_object(node, cls, name)
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
    elif module in allow.OPS:
        if cls not in allow.OPS[module]:
            raise UnsafeModelError(f"operation '{shown_cls}'{name} is not a Keras operation "
                                   "on the allowlist")
    elif cls not in allow.ALLOWED_CLASSES:
        raise UnsafeModelError(
            f"class '{shown_cls}'{name} is not a built-in Keras layer on the allowlist")
    return cls


def _names_keras_hub(node: dict[str, Any]) -> bool:
    """Whether ``node`` claims a KerasHub class, by its registered name or its module."""
    registered, module = node.get("registered_name"), node.get("module")
    return (isinstance(registered, str) and registered.startswith(KERAS_HUB_PREFIX)) or \
        (isinstance(module, str) and module.split(".")[0] == "keras_hub")


def _check_keras_hub_object(node: dict[str, Any], cls: str, name: str) -> str:
    """A KerasHub object: its registered name on `keras_hub_classes.CLASSES`, its class name
    and module exactly those of the class keras_hub registered under that name.

    Keras resolves ``registered_name`` in its registry first, and otherwise imports any
    module under ``keras_hub`` and takes ``class_name`` from it, so all three must agree.
    """
    registered, module, shown_cls = node.get("registered_name"), node.get("module"), shown(cls)
    if cls in allow.REFUSED_LAYERS:
        raise UnsafeModelError(f"layer{name} is refused: {allow.REFUSED_LAYERS[cls]}")
    if not (isinstance(registered, str) and registered.startswith(KERAS_HUB_PREFIX)):
        raise UnsafeModelError(f"{shown_cls}{name} comes from module '{shown(module)}' but is "
                               "not registered as a KerasHub class")
    entry = keras_hub_classes.CLASSES.get(registered)
    if entry is None:
        raise UnsafeModelError(f"class '{shown_cls}'{name} is registered as "
                               f"'{shown(registered)}', which is not a KerasHub class on the "
                               "allowlist (text classifiers, their backbones, preprocessors and "
                               "tokenizers)")
    real_cls, real_module = entry
    if cls != real_cls:
        raise UnsafeModelError(f"{shown_cls}{name} claims the registered name "
                               f"'{shown(registered)}', which is KerasHub's {real_cls}")
    if module != real_module:
        raise UnsafeModelError(f"{shown_cls}{name} names module '{shown(module)}', but "
                               f"KerasHub's {real_cls} is defined in '{real_module}'")
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
        elif key in allow.PATH_KEYS and isinstance(value, str):
            raise UnsafeModelError(f"a tokenizer reads its '{key}' from path '{shown(value)}'; "
                                   "only files under assets/ in the archive are accepted")
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


# ---------------------------------------------------------------- declared weight sizes


def _check_sizes(cls: str, node: dict[str, Any]) -> None:
    """Refuse an object whose config alone implies a weight over `MAX_WEIGHT_ELEMENTS` values.

    Each product is a lower bound of a tensor Keras allocates while building, before any
    weight is read (the inputs' sizes, unknown here, only multiply it): the one-key caps of
    `_check_values` let e.g. 100,000 heads x 100,000 dimensions through.
    """
    cfg = node.get("config")
    if not isinstance(cfg, dict):
        return
    where = f"{shown(cls)}{_layer_name(node)}"
    for what, factors in _size_products(cls, cfg, where):
        value = math.prod(factors)
        if value > MAX_WEIGHT_ELEMENTS:
            raise UnsafeModelError(
                f"{where}: {what} = {_count(value)} values; one weight may hold at most "
                f"{MAX_WEIGHT_ELEMENTS:,} ({MAX_WEIGHT_BYTES // MiB} MiB of float32)")


def _size_products(cls: str, cfg: dict[str, Any], where: str
                   ) -> list[tuple[str, list[int]]]:
    """(the product as text, its factors) for each weight ``cls`` sizes from its config."""
    def num(key: str) -> int | None:
        value = cfg.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
            else None

    def expr(names: list[str], factors: list[int]) -> tuple[str, list[int]]:
        return (f"{' x '.join(names)} = {' x '.join(_count(f) for f in factors)}", factors)

    out = []
    if cls == "EinsumDense" and (dims := _dims(cfg.get("output_shape"), 1, where)):
        out.append((f"output_shape {shown(cfg.get('output_shape'), 60)}", dims))
    if cls == "MultiHeadAttention" and (heads := num("num_heads")) and (key := num("key_dim")):
        out.append(expr(["num_heads", "key_dim"], [heads, key]))
        if value := num("value_dim"):
            out.append(expr(["num_heads", "value_dim"], [heads, value]))
    if cls == "GroupQueryAttention" and (head_dim := num("head_dim")):
        out.extend(expr([key, "head_dim"], [n, head_dim])
                   for key in ("num_query_heads", "num_key_value_heads") if (n := num(key)))
    if cls in allow.RNN_GATES and (units := num("units")):
        gates = allow.RNN_GATES[cls]
        out.append(expr(["gates", "units", "units"], [gates, units, units]))
    rank = re.search(r"([123])D", cls)
    kernel = _dims(cfg.get("kernel_size"), int(rank.group(1)), where) if rank else None
    if kernel:
        names = ["kernel_size"] * len(kernel)
        if filters := num("filters"):
            out.append(expr(["filters", *names], [filters, *kernel]))
            if cls.startswith("ConvLSTM"):  # recurrent kernel: 4 gates x filters x filters
                out.append(expr(["4 gates", "filters", "filters", *names],
                                [4, filters, filters, *kernel]))
        if multiplier := num("depth_multiplier"):
            out.append(expr(["depth_multiplier", *names], [multiplier, *kernel]))
    if cls in KERAS_HUB_CLASS_NAMES:
        out.extend(_keras_hub_products(num, expr))
    if cls in ("IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU") and (n := num("num_classes")):
        out.append(expr(["num_classes", "num_classes"], [n, n]))  # the confusion matrix
    if cls == "AUC" and (thresholds := num("num_thresholds")):
        out.append(expr(["num_thresholds", "num_labels"], [thresholds, num("num_labels") or 1]))
    return out


def _keras_hub_products(num: Any, expr: Any) -> list[tuple[str, list[int]]]:
    """A KerasHub backbone's weights from its constructor arguments: it builds its layers
    from these alone (its config lists none of them), before any weight is read."""
    out = []
    if width := num("hidden_dim") or num("embedding_dim"):
        out.extend(expr([key, "width"], [n, width])
                   for key in ("vocabulary_size", "max_sequence_length", "intermediate_dim")
                   if (n := num(key)))
        if layers := num("num_layers"):  # each layer: ~4 width x width + 2 width x intermediate
            block = 4 * width + 2 * (num("intermediate_dim") or width)
            out.append(expr(["num_layers", "width", "(4 width + 2 intermediate_dim)"],
                            [layers, width, block]))
    return out


def _dims(value: Any, rank: int, where: str) -> list[int] | None:
    """A declared shape as positive ints (None and nonsense count as 1), or None if absent.

    An int stands for ``rank`` equal sizes (``kernel_size=3`` in Conv2D is 3 x 3).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value] * rank
    if not isinstance(value, list):
        return None
    if len(value) > allow.MAX_RANK:
        raise UnsafeModelError(f"{where}: a declared shape lists {len(value):,} dimensions; "
                               f"at most {allow.MAX_RANK} are accepted")
    return [v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 1
            for v in value]


def _count(n: int) -> str:
    """A count for a message: 1,234,567, or its order of magnitude when it is huge."""
    return f"{n:,}" if n < 10**15 else f"about 10^{int(n.bit_length() * 0.30103)}"


# ---------------------------------------------------------------- compile_config

PLURAL = {"optimizer": "optimizers", "loss": "losses", "metric": "metrics"}
# Where Keras serialises each part's built-in classes from ("keras" holds the dtype policies).
COMPILE_MODULES = {
    "optimizer": ("keras", "keras.optimizers", "keras.optimizers.schedules"),
    "loss": ("keras", "keras.losses"),
    "metric": ("keras", "keras.metrics", "keras.losses"),
}
FUNCTION_MODULES = ("builtins", "keras.losses", "keras.metrics")  # how Keras writes functions


def _check_compile_config(cc: Any, model: str, depth: int) -> None:
    """A model's compile_config: built-in Keras optimizers, losses and metrics only.

    Keras deserialises all of it (building every object in it) before ``compile`` reads it,
    so all of it is checked: objects and names under ``optimizer``, ``loss``, ``metrics`` and
    ``weighted_metrics`` against that part's allowlist (no lambda, no custom or registered
    class or function, no class from outside Keras); any other key (``loss_weights``,
    ``jit_compile``...) may hold plain values only.
    """
    where = f"the compile config of{model}" if model else "the compile config"
    if not isinstance(cc, dict) or "class_name" in cc:
        raise UnsafeModelError(f"{where} is not a plain mapping of compile arguments")
    for key, value in cc.items():
        role = allow.COMPILE_ROLES.get(key)
        if role is None:
            _check_plain(value, f"{where}: '{shown(key)}'", depth + 1)
        else:
            _check_compile_part(value, role, where, depth + 1)


def _check_plain(value: Any, what: str, depth: int) -> None:
    stack = [(value, depth)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            raise UnsafeModelError(f"the model config is nested over {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            if "class_name" in node:
                raise UnsafeModelError(f"{what} holds an object ('{shown(node['class_name'])}'"
                                       "); only plain values are accepted there")
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)


def _check_compile_part(value: Any, role: str, where: str, depth: int) -> None:
    """One part (optimizer, loss or metrics) of a compile config, nested structures included.

    A string is a name Keras looks up where it stands for the part itself (alone, in a list,
    or per output in a mapping); inside an object's config it is plain data.
    """
    stack: list[tuple[Any, int, bool]] = [(value, depth, True)]
    while stack:
        node, level, named = stack.pop()
        if level > MAX_DEPTH:
            raise UnsafeModelError(f"the model config is nested over {MAX_DEPTH} levels deep")
        if isinstance(node, str) and named:
            _check_compile_name(node, role, where)
        elif isinstance(node, list):
            stack.extend((v, level + 1, named) for v in node)
        elif isinstance(node, dict) and "class_name" in node:
            cls = _check_compile_object(node, role, where)
            _check_sizes(cls, node)
            if cls != "function":  # a function's config is its (checked) name
                inner_named = named and cls == "__tuple__"  # a tuple of losses or metrics
                stack.extend((v, level + 1, inner_named) for k, v in node.items()
                             if k not in ("class_name", "module", "registered_name"))
        elif isinstance(node, dict):
            if not named:
                _check_values(node)
            stack.extend((v, level + 1, named) for v in node.values())


def _check_compile_name(name: str, role: str, where: str) -> None:
    if name in allow.COMPILE_NAMES[role] or name.lower() in allow.COMPILE_SHORTCUTS[role]:
        return
    raise UnsafeModelError(f"{where}: {role} '{shown(name)}' is not a built-in Keras {role}")


def _check_compile_object(node: dict[str, Any], role: str, where: str) -> str:
    cls = node.get("class_name")
    if not isinstance(cls, str):
        raise UnsafeModelError(f"{where}: its {role} has a class_name that is not a string: "
                               f"{shown(cls)}")
    _check_layer_names(node)
    shown_cls, module, registered = shown(cls), node.get("module"), node.get("registered_name")
    only = f"only built-in Keras {PLURAL[role]} are accepted"
    if cls == "__lambda__":
        raise UnsafeModelError(f"{where}: its {role} is Python code (a lambda); {only}")
    if cls in allow.REFUSED_LAYERS:
        raise UnsafeModelError(f"{where}: {role} {shown_cls} is refused: "
                               f"{allow.REFUSED_LAYERS[cls]}")
    if cls == "function":
        fn = node.get("config")
        if module not in (None, *FUNCTION_MODULES) or not isinstance(fn, str) \
                or fn not in allow.COMPILE_FUNCTIONS[role] \
                or registered not in (None, "function", fn):
            raise UnsafeModelError(f"{where}: {role} function {shown(repr(fn))} from "
                                   f"{shown(repr(module))} is not a built-in Keras {role}")
        return cls
    if module is not None and module not in COMPILE_MODULES[role]:
        raise UnsafeModelError(f"{where}: {role} '{shown_cls}' comes from module "
                               f"'{shown(module)}'; {only}")
    if registered not in (None, cls):
        raise UnsafeModelError(f"{where}: {role} '{shown_cls}' is registered as custom object "
                               f"'{shown(registered)}'; {only}")
    if cls not in allow.COMPILE_CLASSES[role]:
        raise UnsafeModelError(f"{where}: {role} '{shown_cls}' is not a built-in Keras {role}")
    return cls
