"""Hostile and broken model files: each refused with its own message, and no code runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import hostile_files as H
from components.errors import BadModelFileError, UnsafeModelError
from components.model_io import load_model_bytes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """name -> (bytes, filename); the canary path is shared and removed after building."""
    tmp = tmp_path_factory.mktemp("hostile")
    canary = tmp / "canary.txt"
    plain = H.plain_model(tmp)
    files = {
        "lambda_keras": (H.lambda_model(canary, tmp), "m.keras"),
        "lambda_h5": (H.lambda_model(canary, tmp, ".h5"), "m.h5"),
        "lambda_nested": (H.nested_lambda_model(canary, tmp), "m.keras"),
        "lambda_time_distributed": (H.time_distributed_lambda_model(canary, tmp), "m.keras"),
        "module_os": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            module="os", class_name="system")), "m.keras"),
        "module_builtins": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            module="builtins", class_name="eval")), "m.keras"),
        "custom_registered": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            class_name="Sneaky", registered_name="my_pkg>Sneaky")), "m.keras"),
        "unknown_class": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            class_name="Sneaky")), "m.keras"),
        "tfsm_layer": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            class_name="TFSMLayer")), "m.keras"),
        "torch_wrapper": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            class_name="TorchModuleWrapper")), "m.keras"),
        "vocabulary_path": (H.rewrite_zip(plain, lambda c: H.first_layer(c).update(
            class_name="StringLookup", config={"name": "lookup",
                                               "vocabulary": "/etc/passwd"})), "m.keras"),
        "huge_units": (H.rewrite_zip(plain, lambda c: H.first_layer(c)["config"].update(
            units=10**9)), "m.keras"),
        "custom_activation": (H.rewrite_zip(plain, lambda c: H.first_layer(c)["config"].update(
            activation="my_pkg>evil")), "m.keras"),
        "unsafe_switch": (H.rewrite_zip(plain, lambda c: c["config"].update(
            enable_unsafe_deserialization=True)), "m.keras"),
        "deep_json": (H.zip_with({"config.json": H.deep_json()}), "m.keras"),
        "bad_json": (H.zip_with({"config.json": b"{not json"}), "m.keras"),
        "no_config": (H.zip_with({"metadata.json": b"{}"}), "m.keras"),
        "zip_bomb": (H.zip_bomb(), "m.keras"),
        "dotdot_member": (H.zip_with({"config.json": b"{}", "../evil.sh": b"x"}), "m.keras"),
        "absolute_member": (H.zip_with({"config.json": b"{}", "/etc/cron.d/x": b"x"}), "m.keras"),
        "symlink_member": (H.zip_with({"config.json": b"{}", "assets/link": b"/etc/passwd"},
                                      symlink="assets/link"), "m.keras"),
        "duplicate_member": (H.duplicate_members(b"{}"), "m.keras"),
        "too_many_members": (H.zip_with({"config.json": b"{}"} | {
            f"assets/{i}": b"" for i in range(100)}), "m.keras"),
        "unexpected_member": (H.zip_with({"config.json": b"{}", "evil.py": b"x"}), "m.keras"),
        "saved_model": (H.zip_with({"saved_model.pb": b"x", "variables/x": b"y"}), "m.keras"),
        "truncated": (plain[: len(plain) // 2], "m.keras"),
        "random_bytes": (os.urandom(4096), "m.keras"),
        "text_file": (b"name,value\nalpha,1\n", "m.keras"),
        "empty": (b"", "m.keras"),
        "empty_zip": (H.zip_with({}), "m.keras"),
        "h5_weights_only": (H.h5_file(tmp, lambda f: f.create_dataset("w", data=[1.0])), "m.h5"),
        "h5_external_link": (H.h5_file(tmp, H.with_external_link, H.plain_config(tmp)), "m.h5"),
        "h5_soft_link": (H.h5_file(tmp, H.with_soft_link, H.plain_config(tmp)), "m.h5"),
        "h5_external_storage": (H.h5_file(tmp, H.with_external_storage(tmp),
                                          H.plain_config(tmp)), "m.h5"),
        "h5_virtual": (H.h5_file(tmp, H.with_virtual_dataset(tmp), H.plain_config(tmp)), "m.h5"),
        "h5_terabyte": (H.h5_file(tmp, H.with_huge_declared(300_000), H.plain_config(tmp)),
                        "m.h5"),
        "h5_gigabytes": (H.h5_file(tmp, H.with_huge_declared(1_000), H.plain_config(tmp)),
                         "m.h5"),
        "wrong_suffix": (plain, "m.pkl"),
    }
    canary.unlink(missing_ok=True)  # building a Lambda model calls it once
    return files, canary


# name -> (exception type, distinctive part of the one-line message)
EXPECTED = {
    "lambda_keras": (UnsafeModelError, "Lambda layer holds Python code"),
    "lambda_h5": (UnsafeModelError, "Lambda layer holds Python code"),
    "lambda_nested": (UnsafeModelError, "Lambda layer holds Python code"),
    "lambda_time_distributed": (UnsafeModelError, "Lambda layer holds Python code"),
    "module_os": (UnsafeModelError, "comes from module 'os', which is not keras"),
    "module_builtins": (UnsafeModelError, "comes from module 'builtins'"),
    "custom_registered": (UnsafeModelError, "registered as custom object 'my_pkg>Sneaky'"),
    "unknown_class": (UnsafeModelError, "class 'Sneaky' 'head' is not a built-in Keras layer"),
    "tfsm_layer": (UnsafeModelError, "TFSMLayer loads a TensorFlow SavedModel"),
    "torch_wrapper": (UnsafeModelError, "TorchModuleWrapper holds a pickled PyTorch module"),
    "vocabulary_path": (UnsafeModelError, "reads its vocabulary from path '/etc/passwd'"),
    "huge_units": (UnsafeModelError, "'units': 1,000,000,000 is over the limit"),
    "custom_activation": (UnsafeModelError, "activation 'my_pkg>evil' is not a built-in"),
    "unsafe_switch": (UnsafeModelError, "tries to set 'enable_unsafe_deserialization'"),
    "deep_json": (UnsafeModelError, "nested too deeply"),
    "bad_json": (BadModelFileError, "config.json is not valid JSON"),
    "no_config": (BadModelFileError, "has no config.json"),
    "zip_bomb": (UnsafeModelError, "looks like a zip bomb"),
    "dotdot_member": (UnsafeModelError, "'../evil.sh' points outside the archive"),
    "absolute_member": (UnsafeModelError, "'/etc/cron.d/x' has an absolute path"),
    "symlink_member": (UnsafeModelError, "'assets/link' is a symbolic link"),
    "duplicate_member": (UnsafeModelError, "lists member 'config.json' twice"),
    "too_many_members": (UnsafeModelError, "101 members; at most 64"),
    "unexpected_member": (UnsafeModelError, "unexpected archive member 'evil.py'"),
    "saved_model": (UnsafeModelError, "zipped TensorFlow SavedModel"),
    "truncated": (BadModelFileError, "truncated or corrupt"),
    "random_bytes": (BadModelFileError, "not a Keras model"),
    "text_file": (BadModelFileError, "is a text file, not a Keras model"),
    "empty": (BadModelFileError, "is empty"),
    "empty_zip": (BadModelFileError, "an empty zip archive"),
    "h5_weights_only": (BadModelFileError, "holds weights only"),
    "h5_external_link": (UnsafeModelError, "'leak' is a link to another file"),
    "h5_soft_link": (UnsafeModelError, "'alias' is a soft link"),
    "h5_external_storage": (UnsafeModelError, "stores its data in an external file"),
    "h5_virtual": (UnsafeModelError, "is virtual"),
    "h5_terabyte": (UnsafeModelError, "declares 1,144,409 MiB"),
    "h5_gigabytes": (UnsafeModelError, "declares 3,815 MiB"),
    "wrong_suffix": (BadModelFileError, "is not a .keras or .h5 file"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_refused_with_its_own_message_and_nothing_runs(corpus, name):
    files, canary = corpus
    data, filename = files[name]
    kind, text = EXPECTED[name]
    with pytest.raises(kind) as err:
        load_model_bytes(data, filename)
    message = str(err.value)
    assert text in message
    assert "\n" not in message and len(message) < 300
    assert not canary.exists()


def test_every_hostile_file_has_an_expectation(corpus):
    files, _ = corpus
    assert set(files) == set(EXPECTED)


def test_messages_are_distinct_per_class():
    """Each class of problem says something of its own (the messages are not one catch-all)."""
    texts = [text for _, text in EXPECTED.values()]
    assert len(set(texts)) >= len(texts) - 8  # lambdas share a reason, by design


def test_the_canary_can_fire(corpus, tmp_path):
    """Proof the absence checks can fail: with safe mode off (tests only) the Lambda runs."""
    files, canary = corpus
    path = tmp_path / "m.keras"
    path.write_bytes(files["lambda_keras"][0])
    keras.saving.load_model(path, safe_mode=False, compile=False)
    assert canary.exists()
    canary.unlink()


def test_refusals_do_not_import_tensorflow(corpus):
    """The static pass decides alone: refusing costs no TF import and so runs no TF code."""
    files, _ = corpus
    probe = ("import sys; from components.model_io import load_model_bytes\n"
             "try:\n    load_model_bytes(open(sys.argv[1],'rb').read(), 'm.keras')\n"
             "except Exception as e: print(type(e).__name__)\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    path = ROOT / ".pytest-probe.keras"
    try:
        path.write_bytes(files["lambda_keras"][0])
        out = subprocess.run([sys.executable, "-c", probe, str(path)], cwd=ROOT, text=True,
                             capture_output=True, timeout=60).stdout.split()
    finally:
        path.unlink(missing_ok=True)
    assert out == ["UnsafeModelError", "False", "False"]


CLI_CASES = ["lambda_keras", "lambda_h5", "module_os", "zip_bomb", "dotdot_member",
             "truncated", "text_file", "h5_external_link"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_refuses_with_one_error_line(corpus, tmp_path, name):
    files, canary = corpus
    data, filename = files[name]
    path = tmp_path / filename
    path.write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "components", "inspect", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert EXPECTED[name][1] in lines[0]
    assert "Traceback" not in proc.stderr
    assert not canary.exists()
