"""Builders for hostile and broken model files, made at test time (nothing binary is committed).

Each builder returns the file's bytes. Files that carry code write a canary file when that
code runs, so a test can prove that loading them ran nothing.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import keras
import numpy as np


def _save(model: keras.Model, tmp: Path, suffix: str) -> bytes:
    path = tmp / f"built{suffix}"
    model.save(path)
    return path.read_bytes()


def canary_lambda(canary: Path) -> keras.layers.Lambda:
    """A Lambda whose code writes ``canary`` whenever Keras calls it (also while loading).

    It must be a ``lambda`` expression: Keras saves a lambda's bytecode (and closure), whereas
    a named function is saved by name only and would not travel with the file.
    """
    target = str(canary)
    return keras.layers.Lambda(lambda t: (open(target, "w").write("code ran"), t)[1],
                               name="payload")


def lambda_model(canary: Path, tmp: Path, suffix: str = ".keras") -> bytes:
    model = keras.Sequential([keras.Input((4,)), canary_lambda(canary), keras.layers.Dense(2)])
    return _save(model, tmp, suffix)


def nested_lambda_model(canary: Path, tmp: Path) -> bytes:
    """A Lambda inside a Sequential that is itself a layer of a Functional model."""
    inner = keras.Sequential([keras.Input((4,)), canary_lambda(canary)], name="inner")
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2)(inner(inp)), name="outer")
    return _save(model, tmp, ".keras")


def time_distributed_lambda_model(canary: Path, tmp: Path) -> bytes:
    inp = keras.Input((3, 4))
    out = keras.layers.TimeDistributed(canary_lambda(canary), name="td")(inp)
    return _save(keras.Model(inp, out), tmp, ".keras")


def plain_model(tmp: Path, suffix: str = ".keras") -> bytes:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax",
                                                                    name="head")],
                             name="plain")
    return _save(model, tmp, suffix)


def rewrite_zip(data: bytes, edit: Callable[[dict], object] | None = None,
                extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a .keras archive, editing config.json in place and adding members."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "config.json" and edit is not None:
                config = json.loads(blob)
                edit(config)
                blob = json.dumps(config).encode()
            dst.writestr(info.filename, blob)
        for name, blob in (extra or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def first_layer(config: dict) -> dict:
    """The first non-input layer dict of a Sequential config."""
    return config["config"]["layers"][1]


def zip_with(members: dict[str, bytes], symlink: str | None = None,
             compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of ``members``; ``symlink`` names one member to mark as a symbolic link."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, blob in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            if name == symlink:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, blob)
    return out.getvalue()


def duplicate_members(config: bytes) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)  # the duplicate is the point
        zf.writestr("config.json", config)
        zf.writestr("config.json", config)
    return out.getvalue()


def zip_bomb(mebibytes: int = 64) -> bytes:
    """A .keras-shaped zip whose asset inflates ``mebibytes`` MiB of zeros (~1000x)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b"{}")
        with zf.open("assets/padding.bin", "w") as fh:
            chunk = bytes(1024 * 1024)
            for _ in range(mebibytes):
                fh.write(chunk)
    return out.getvalue()


def deep_json(depth: int = 10_000) -> bytes:
    return ("[" * depth + "]" * depth).encode()


# ---------------------------------------------------------------- HDF5


def h5_file(tmp: Path, build: Callable[[h5py.File], None], config: dict | None = None) -> bytes:
    path = tmp / "crafted.h5"
    with h5py.File(path, "w") as f:
        if config is not None:
            f.attrs["model_config"] = json.dumps(config)
        build(f)
    return path.read_bytes()


def plain_config(tmp: Path) -> dict:
    with h5py.File(io.BytesIO(plain_model(tmp, ".h5")), "r") as f:
        return json.loads(f.attrs["model_config"])


def with_external_link(f: h5py.File) -> None:
    f["leak"] = h5py.ExternalLink("/etc/passwd", "/")


def with_soft_link(f: h5py.File) -> None:
    f.create_dataset("w", data=np.zeros(3))
    f["alias"] = h5py.SoftLink("/w")


def with_external_storage(tmp: Path) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        raw = tmp / "outside.bin"
        raw.write_bytes(bytes(64))
        f.create_dataset("w", shape=(16,), dtype="f4", external=[(str(raw), 0, 64)])
    return build


def with_virtual_dataset(tmp: Path) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        src = tmp / "source.h5"
        with h5py.File(src, "w") as s:
            s.create_dataset("data", data=np.arange(4.0))
        layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(src), "data", shape=(4,))
        f.create_virtual_dataset("w", layout)
    return build


def with_huge_declared(rows: int) -> Callable[[h5py.File], None]:
    """A dataset declaring rows × 1M float32 without writing any of it (chunks stay empty)."""
    def build(f: h5py.File) -> None:
        f.create_dataset("w", shape=(rows, 1_000_000), dtype="f4", chunks=(1, 1024))
    return build
