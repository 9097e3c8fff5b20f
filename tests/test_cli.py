"""`python -m components`: JSON on stdout and exit 0, or exit 2 and one `error:` line.

Every call that loads a model imports TensorFlow (~5 s), so those six run concurrently in
one fixture; refusals import nothing heavy and run one by one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest

TOTAL_PARAMS = {"wine_classifier": 414, "digits_cnn": 3818, "sentiment_text": 1609,
                "diabetes_regression": 918}
SUMMARY_KEYS = ["sha256", "name", "task", "inputs", "outputs", "total_params",
                "trainable_params", "token_input", "layers"]
LAYER_KEYS = ["name", "class_name", "output_shape", "params", "parent"]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "components", *map(str, args)]


@pytest.fixture(scope="module")
def runs(samples, tmp_path_factory, repo_root) -> dict[str, subprocess.CompletedProcess]:
    """The CLI calls that load a model, run side by side: name -> finished process."""
    wine = samples["wine_classifier"]
    missing = tmp_path_factory.mktemp("cli") / "no_magnesium.csv"
    pd.read_csv(wine.data_path).drop(columns=["magnesium"]).to_csv(missing, index=False)
    jobs = {f"inspect {key}": command("inspect", samples[key].model_path)
            for key in TOTAL_PARAMS}
    jobs["check good"] = command("check", wine.model_path, wine.data_path)
    jobs["check missing column"] = command("check", wine.model_path, missing)
    procs = {name: subprocess.Popen(args, cwd=repo_root, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in jobs.items()}
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(jobs[name], proc.returncode, out, err)
    return done


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("key", sorted(TOTAL_PARAMS))
def test_inspect_sample(runs, samples, key):
    proc = runs[f"inspect {key}"]
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc) == []
    out = json.loads(proc.stdout)
    assert list(out) == SUMMARY_KEYS
    assert out["sha256"] == hashlib.sha256(samples[key].model_path.read_bytes()).hexdigest()
    assert out["name"] == key and out["task"] == samples[key].task
    assert out["total_params"] == TOTAL_PARAMS[key]
    assert sum(row["params"] for row in out["layers"] if row["parent"] is None) == (
        out["total_params"])
    assert out["layers"] and all(list(row) == LAYER_KEYS for row in out["layers"])


def test_inspect_wine_shows_the_nested_encoder(runs):
    out = json.loads(runs["inspect wine_classifier"].stdout)
    assert out["inputs"] == [[None, 13]] and out["outputs"] == [[None, 3]]
    nested = [row for row in out["layers"] if row["parent"] == "encoder"]
    assert [(r["name"], r["class_name"], r["output_shape"], r["params"]) for r in nested] == [
        ("dense", "Dense", [None, 16], 224), ("dense_1", "Dense", [None, 8], 136)]
    encoder = next(row for row in out["layers"] if row["name"] == "encoder")
    assert encoder["parent"] is None and encoder["params"] == 360


def test_check_sample_data(runs, samples):
    wine = samples["wine_classifier"]
    proc = runs["check good"]
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc) == []
    report = json.loads(proc.stdout)
    assert report["model_sha256"] == hashlib.sha256(wine.model_path.read_bytes()).hexdigest()
    assert report["data_sha256"] == hashlib.sha256(wine.data_path.read_bytes()).hexdigest()
    assert (report["kind"], report["rows"], report["label"]) == ("tabular", 178, "label")
    assert report["features"] == list(wine.feature_names)
    assert report["errors"] == []
    assert {c["level"] for c in report["checks"]} == {"ok"}


def test_check_names_the_missing_column(runs):
    proc = runs["check missing column"]
    assert proc.returncode == 2
    assert error_lines(proc) == [
        "error: expected 13 feature columns, got 12: missing 'magnesium'"]
    assert json.loads(proc.stdout)["errors"] == [
        "expected 13 feature columns, got 12: missing 'magnesium'"]


def test_nonexistent_model_file(tmp_path, repo_root):
    absent = tmp_path / "absent.keras"
    proc = subprocess.run(command("inspect", absent), cwd=repo_root, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"error: no such file: {absent}\n"


def test_check_refuses_a_bad_model_before_reading_data(tmp_path, repo_root):
    model = tmp_path / "notes.keras"
    model.write_text("these are my notes\n")
    proc = subprocess.run(command("check", model, tmp_path / "absent.csv"), cwd=repo_root,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("error: notes.keras is a text file, not a Keras model (expected a "
                           ".keras zip archive or a legacy .h5 HDF5 file)\n")


def test_unknown_command_is_a_usage_error(repo_root):
    proc = subprocess.run(command("frobnicate"), cwd=repo_root, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "invalid choice: 'frobnicate'" in proc.stderr
