"""Hostile and broken model files: each refused with its own message, and none runs code.

The files are built at test time by `hostile`. Models that carry code write a canary file
when that code runs; `test_the_canary_fires_when_code_runs` shows the canary works.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import zipfile

import h5py
import keras
import numpy as np
import pytest
from PIL import Image

import hostile
from components.errors import BadModelFileError, GlassboxError, UnsafeModelError
from components.model.load import load_model_bytes
from components.model.samples import list_samples
from components.model.scan import scan_model_bytes

U, B = UnsafeModelError, BadModelFileError

# name -> (exception type, a distinctive part of its one-line message)
EXPECTED: dict[str, tuple[type[GlassboxError], str]] = {
    # code
    "lambda_keras": (U, "layer 'canary_lambda' is refused: a Lambda layer holds Python code"),
    "lambda_h5": (U, "layer 'canary_lambda' is refused: a Lambda layer holds Python code"),
    "lambda_nested": (U, "layer 'nested_lambda' is refused: a Lambda layer"),
    "lambda_time_distributed": (U, "layer 'wrapped_lambda' is refused: a Lambda layer"),
    "h5_crafted_lambda": (U, "layer 'crafted' is refused: a Lambda layer"),
    "lambda_activation": (U, "'activation' holds serialised Python code (a lambda)"),
    "lambda_standardize": (U, "class '__lambda__' is not a built-in Keras layer"),
    "custom_registered": (U, "CanaryLayer 'custom' comes from module 'hostile', which is not "
                             "keras"),
    "custom_registered_keras_module": (
        U, "CanaryLayer 'custom' is registered as custom object 'glassbox_test>CanaryLayer'"),
    "module_os": (U, "system 'head' comes from module 'os', which is not keras"),
    "module_builtins": (U, "eval 'head' comes from module 'builtins', which is not keras"),
    "module_subprocess": (U, "Popen 'head' comes from module 'subprocess', which is not keras"),
    "lambda_keras_function": (U, "layer 'fetch' is refused: a Lambda layer holds Python code"),
    "keras_function_as_layer": (U, "class 'plot_image_gallery' 'head' is not a built-in Keras "
                                   "layer on the allowlist"),
    "keras_function_as_activation": (U, "the config references function 'get_file' from "
                                        "'keras.utils', which is not a built-in Keras activation"),
    "class_name_control": (U, "class 'Dense\\nerror: all good' 'head' is not a built-in Keras "
                              "layer"),
    "unknown_class": (U, "class 'Sneaky' 'head' is not a built-in Keras layer on the allowlist"),
    "tfsm_layer": (U, "layer 'saved' is refused: a TFSMLayer loads a TensorFlow SavedModel"),
    "torch_wrapper": (U, "layer 'torch' is refused: a TorchModuleWrapper holds a pickled"),
    "jax_layer": (U, "layer 'head' is refused: a JaxLayer wraps arbitrary JAX code"),
    "custom_activation": (U, "activation 'evil_pkg>run' is not a built-in Keras activation"),
    "function_from_builtins": (U, "function comes from module 'builtins'"),
    "function_unhashable": (U, "references function ['relu'] from 'keras.activations'"),
    "class_name_not_string": (U, "a class_name that is not a string: ['Dense']"),
    "safe_mode_key": (U, "the config tries to set 'safe_mode'"),
    "enable_unsafe_key": (U, "the config tries to set 'enable_unsafe_deserialization'"),
    # names that become paths
    "layer_name_dotdot": (U, "layer '..' is refused: its name contains '..'"),
    "layer_name_path": (U, "layer '../../etc/cron.d/x' is refused: its name contains a path "
                           "separator"),
    "layer_name_backslash": (U, "layer '..\\..\\evil' is refused: its name contains a path "
                                "separator"),
    "layer_name_nul": (U, "layer 'head\\x00.h5' is refused: its name contains a NUL, control or "
                          "other non-printable character"),
    "layer_name_newline": (U, "layer 'head\\nerror: spoofed' is refused: its name contains a "
                              "NUL, control"),
    "functional_name_dotdot": (U, "layer '../weights' is refused: its name contains a path "
                                  "separator"),
    # files and resources
    "vocabulary_path": (U, "reads its vocabulary from path '/etc/passwd'"),
    "huge_units": (U, "'units': 1,000,000,000 is over the limit of 1,000,000"),
    "huge_embedding": (U, "an embedding of 20,000 x 20,000 would take 1,526 MiB"),
    "deep_json": (U, "config.json is nested too deeply"),
    "deep_config": (U, "the model config is nested over 100 levels deep"),
    "big_config": (U, "archive member 'config.json' is over 8 MiB"),
    "zip_bomb_config": (U, "member 'config.json' expands 1029x (limit 100x): this looks like a "
                           "zip bomb"),
    "zip_bomb_asset": (U, "member 'assets/padding.bin' expands 1029x"),
    "declared_total": (U, "the archive unpacks to 1200 MiB; the limit is 1024 MiB"),
    "weights_external_link": (U, "HDF5 entry 'leak' is a link to another file"),
    "h5_external_link": (U, "HDF5 entry 'leak' is a link to another file"),
    "h5_soft_link": (U, "HDF5 entry 'alias' is a soft link"),
    "h5_external_storage": (U, "HDF5 dataset '/outside' stores its data in an external file"),
    "h5_virtual": (U, "HDF5 dataset '/mapped' is virtual"),
    "h5_huge_dataset": (U, "HDF5 dataset '/huge' declares 3,814,697 MiB; the limit is 1024 MiB"),
    "h5_few_gib_dataset": (U, "HDF5 dataset '/big' declares 3,072 MiB; the limit is 1024 MiB"),
    "weights_few_gib_dataset": (U, "HDF5 dataset '/big' declares 3,072 MiB; the limit is "
                                   "1024 MiB"),
    "h5_total_too_big": (U, "the weights declare 1,200 MiB; the limit is 1024 MiB"),
    # archive tricks
    "dotdot_member": (U, "archive member '../evil' points outside the archive"),
    "dotdot_inside": (U, "archive member 'assets/../../evil' points outside the archive"),
    "absolute_member": (U, "archive member '/etc/x' has an absolute path"),
    "symlink_member": (U, "archive member 'assets/link' is a symbolic link"),
    "encrypted_member": (U, "archive member 'assets/secret' is encrypted"),
    "duplicate_member": (U, "the archive lists member 'config.json' twice"),
    "too_many_members": (U, "the archive has 65 members; at most 64"),
    "ten_thousand_members": (U, "the archive has 10001 members; at most 64 are allowed in a "
                                ".keras file"),
    "member_name_control": (U, "archive member 'assets/\\x1b[2J\\x1b[31mred\\nline' has a "
                               "control character in its name"),
    "unexpected_member": (U, "unexpected archive member 'evil.py'"),
    "saved_model": (U, "this is a zipped TensorFlow SavedModel, not a .keras file"),
    "saved_model_dir": (U, "this is a zipped TensorFlow SavedModel, not a .keras file"),
    # polyglots: a working model behind another format's header
    "polyglot_png": (B, "model.keras is a polyglot file (a zip archive hidden after 69 bytes of "
                        "other data), not a Keras model"),
    "polyglot_html": (B, "model.keras is a polyglot file (a zip archive hidden after 88 bytes "
                         "of other data)"),
    "polyglot_shell": (B, "model.keras is a polyglot file (a zip archive hidden after 100 bytes "
                          "of other data)"),
    "polyglot_png_h5": (B, "model.h5 is a polyglot file (an HDF5 file hidden after 512 bytes "
                           "of other data)"),
    # not a model, or a broken one
    "bad_json": (B, "config.json is not valid JSON"),
    "config_not_object": (B, "config.json is not a JSON object"),
    "no_config": (B, "the archive has no config.json"),
    "truncated": (B, "the .keras archive is truncated or corrupt"),
    "weights_truncated": (B, "the HDF5 data is truncated or corrupt"),
    "h5_truncated": (B, "the HDF5 data is truncated or corrupt"),
    "random_bytes": (B, "model.keras is binary data of an unknown format, not a Keras model"),
    "text_file": (B, "model.keras is a text file, not a Keras model"),
    "empty": (B, "model.keras is empty"),
    "empty_zip": (B, "model.keras is an empty zip archive, not a Keras model"),
    "h5_weights_only": (B, "the HDF5 file has no model_config: it holds weights only"),
    "h5_config_not_text": (B, "the HDF5 model_config attribute is not text"),
    "wrong_suffix": (B, "'model.pkl' is not a .keras or .h5 file"),
}

# A representative subset for the CLI (one subprocess each, no TensorFlow import).
CLI_CASES = ("lambda_keras", "lambda_h5", "custom_registered_keras_module", "module_os",
             "zip_bomb_config", "dotdot_member", "truncated", "text_file", "empty",
             "h5_external_link", "layer_name_newline", "member_name_control", "polyglot_shell",
             "ten_thousand_members")




def limited_memory() -> None:
    """Cap a child's address space: were a refusal to regress, the child fails, not the host."""
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


def run_limited(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          preexec_fn=limited_memory)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(name -> (bytes, filename), canary path); the canary is removed after building."""
    tmp = tmp_path_factory.mktemp("hostile")
    canary = tmp / "canary.txt"
    files = hostile.build_corpus(tmp, canary)
    assert canary.exists()  # building a model with code ran that code once
    canary.unlink()
    return files, canary


def test_every_case_has_an_expectation(corpus):
    files, _ = corpus
    assert sorted(files) == sorted(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_refused_with_its_own_message_and_no_code_runs(corpus, name):
    files, canary = corpus
    data, filename = files[name]
    kind, text = EXPECTED[name]
    if name != "wrong_suffix":  # refused by name, before the scan
        # The static pass alone must refuse (no Keras), and must do so before the loader
        # gets the file: a regression here would otherwise hand Keras e.g. 10^9 units.
        with pytest.raises(kind, match="."):
            scan_model_bytes(data, filename)
    with pytest.raises(GlassboxError) as err:
        load_model_bytes(data, filename)
    message = str(err.value)
    assert type(err.value) is kind, message
    assert text in message
    assert "\n" not in message and len(message) < 300
    assert not canary.exists()


def test_refusals_never_import_tensorflow(corpus, tmp_path, repo_root):
    """One fresh interpreter refuses every file; neither keras nor tensorflow gets imported."""
    files, canary = corpus
    for name, (data, filename) in files.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / filename).write_bytes(data)
    probe = (
        "import json, sys; from pathlib import Path\n"
        "from components.model.load import load_model_bytes\n"
        "out = {}\n"
        "for case in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    path = next(case.iterdir())\n"
        "    try:\n"
        "        load_model_bytes(path.read_bytes(), path.name)\n"
        "        verdict = 'loaded'\n"
        "    except Exception as err:\n"
        "        verdict = type(err).__name__\n"
        "    out[case.name] = [verdict, 'keras' in sys.modules or 'tensorflow' in sys.modules]\n"
        "print(json.dumps(out))\n"
    )
    proc = run_limited([sys.executable, "-c", probe, str(tmp_path)], repo_root)
    assert proc.returncode == 0, proc.stderr
    verdicts = json.loads(proc.stdout)
    assert verdicts == {name: [kind.__name__, False] for name, (kind, _) in EXPECTED.items()}
    assert not canary.exists()


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_refuses_with_exactly_one_error_line(corpus, tmp_path, repo_root, name):
    files, canary = corpus
    data, filename = files[name]
    path = tmp_path / filename
    path.write_bytes(data)
    proc = run_limited([sys.executable, "-m", "components", "inspect", str(path)], repo_root)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.endswith("\n") and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: ")
    assert EXPECTED[name][1] in proc.stderr
    assert not canary.exists()


def test_the_canary_fires_when_code_runs(corpus, tmp_path):
    """Proof the absence checks can fail: with safe mode off (tests only) the Lambda runs."""
    files, canary = corpus
    path = tmp_path / "lambda.keras"
    path.write_bytes(files["lambda_keras"][0])
    try:
        model = keras.saving.load_model(path, safe_mode=False, compile=False)
        model(np.zeros((1, 4), "float32"))
        assert canary.read_text() == "code ran"
    finally:
        canary.unlink(missing_ok=True)


def test_safe_mode_alone_would_run_a_registered_class(corpus, tmp_path):
    """Why the scan matters: Keras' safe mode loads a registered custom class, and runs it."""
    files, canary = corpus
    path = tmp_path / "custom.keras"
    path.write_bytes(files["custom_registered_keras_module"][0])
    try:
        keras.saving.load_model(path, compile=False)  # safe_mode=True is Keras' default
        assert canary.read_text() == "custom code ran"
    finally:
        canary.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def accepted(tmp_path_factory):
    return hostile.build_accepted(tmp_path_factory.mktemp("accepted"))


ACCEPTED = ("plain_keras", "plain_h5", "plain_rezipped", "h5_committed_datatype",
            "keras_weights_committed_datatype", "unusual_layer_names", "unusual_layer_names_h5",
            "functional")


def test_every_control_is_tried(accepted):
    assert sorted(accepted) == sorted(ACCEPTED)


@pytest.mark.parametrize("name", ACCEPTED)
def test_controls_load(accepted, name):
    """The builders' untouched output loads: each refusal above is due to its edit alone."""
    data, filename = accepted[name]
    loaded = load_model_bytes(data, filename)
    assert loaded.model.count_params() == 4 * 3 + 3
    assert loaded.fmt == ("h5" if filename.endswith(".h5") else "keras")


@pytest.mark.parametrize("key", [s.key for s in list_samples()])
def test_every_sample_model_passes_the_scan_and_loads(samples, key):
    """Zero false rejections on the bundled models: scan, then a safe-mode load."""
    assert len(samples) == 4
    path = samples[key].model_path
    data = path.read_bytes()
    report = scan_model_bytes(data, path.name)
    assert report.fmt == "keras" and report.classes
    loaded = load_model_bytes(data, path.name)
    assert loaded.model.count_params() > 0


@pytest.mark.parametrize("name", ["polyglot_png", "polyglot_html", "polyglot_shell"])
def test_polyglot_tails_are_working_archives(corpus, name):
    """Why polyglots are refused by their first bytes: `zipfile` opens them as a .keras."""
    data, _ = corpus[0][name]
    members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "config.json" in members and "model.weights.h5" in members


def test_polyglot_png_h5_is_both_an_image_and_a_model(corpus):
    data, _ = corpus[0]["polyglot_png_h5"]
    with Image.open(io.BytesIO(data)) as img:
        img.load()
    with h5py.File(io.BytesIO(data), "r") as f:
        assert "model_config" in f.attrs
