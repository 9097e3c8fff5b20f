"""`python -m components explain`: the JSON contract, and one `error:` line for bad input.

The calls that load a model run side by side in one fixture (each imports TensorFlow).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

RUNS = {
    "wine": ("wine_classifier", ["--row", "5"]),
    "digits": ("digits_cnn", ["--row", "2", "--methods", "saliency,ig,gradcam,shap",
                              "--target", "4", "--seed", "3"]),
    "text": ("sentiment_text", ["--row", "0", "--methods", "lime,saliency,ig",
                                "--params", '{"saliency": {"token_reduce": "norm"}}']),
    "regression": ("diabetes_regression", ["--row", "1", "--methods", "shap,gradxinput"]),
    "bad row": ("wine_classifier", ["--row", "5000"]),
    "bad target": ("wine_classifier", ["--row", "0", "--target", "7"]),
}


def command(*args) -> list[str]:
    return [sys.executable, "-m", "components", *map(str, args)]


@pytest.fixture(scope="module")
def runs(samples, tmp_path_factory, repo_root) -> dict:
    """name -> (finished process, parsed JSON or None)."""
    out_dir = tmp_path_factory.mktemp("explain")
    procs = {}
    for name, (key, extra) in RUNS.items():
        sample = samples[key]
        out = out_dir / f"{name.replace(' ', '_')}.json"
        args = command("explain", sample.model_path, sample.data_path, *extra, "--out", out)
        procs[name] = (subprocess.Popen(args, cwd=repo_root, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True), out)
    done = {}
    for name, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        payload = json.loads(out.read_text()) if out.exists() else None
        done[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr),
                      payload)
    return done


def _ok(runs, name) -> dict:
    proc, payload = runs[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    return payload


def test_tabular_json_contract(runs, samples):
    payload = _ok(runs, "wine")
    sample = samples["wine_classifier"]
    assert payload["sha256"] == hashlib.sha256(sample.model_path.read_bytes()).hexdigest()
    assert payload["row"] == 5
    assert len(payload["prediction"]) == 3
    assert payload["target"] == int(np.argmax(payload["prediction"]))  # predicted by default
    assert payload["features"] == list(sample.feature_names)
    assert set(payload["methods"]) == {"lime", "shap", "saliency", "gradxinput", "ig",
                                       "smoothgrad"}
    assert "gradcam" in payload["skipped"] and payload["skipped"]["gradcam"]
    for name, entry in payload["methods"].items():
        assert np.array(entry["values"]).shape == (13,), name
        assert entry["seconds"] >= 0 and entry["params"]["seed"] == 0
    assert "base_value" in payload["methods"]["shap"]
    ig = payload["methods"]["ig"]
    assert "baseline" in ig and ig["completeness_error"] < 0.01
    assert len(payload["agreement"]) == 15  # every pair of six methods
    assert all("|" in pair for pair in payload["agreement"])
    # what each method's values are; a contribution and a sensitivity are not compared
    kinds = {name: entry["output_kind"] for name, entry in payload["methods"].items()}
    assert kinds == {"lime": "contribution", "shap": "contribution", "ig": "contribution",
                     "gradxinput": "contribution", "saliency": "sensitivity",
                     "smoothgrad": "sensitivity"}
    assert payload["agreement"]["lime|saliency"] is None
    assert payload["agreement"]["saliency|smoothgrad"] is not None


def test_image_json_honours_methods_target_and_seed(runs):
    payload = _ok(runs, "digits")
    assert payload["target"] == 4 and payload["features"] is None
    assert set(payload["methods"]) == {"saliency", "ig", "gradcam", "shap"}
    for entry in payload["methods"].values():
        assert np.array(entry["values"]).shape == (16, 16, 1)
        assert entry["params"]["seed"] == 3
    assert payload["skipped"] == {}


def test_text_values_are_one_per_token(runs):
    payload = _ok(runs, "text")
    tokens = payload["features"]
    assert tokens and all(isinstance(t, str) for t in tokens)
    for entry in payload["methods"].values():
        assert len(entry["values"]) == len(tokens)
    # --params reached the method, and the result says what it was given
    saliency = payload["methods"]["saliency"]
    assert saliency["params"] == {"token_reduce": "norm", "seed": 0}
    assert min(saliency["values"]) >= 0  # a norm: sizes only


def test_regression_has_a_single_target(runs):
    payload = _ok(runs, "regression")
    assert payload["target"] == 0 and len(payload["prediction"]) == 1
    shap = payload["methods"]["shap"]
    # Additivity: the base value plus the attributions is the prediction.
    total = shap["base_value"] + sum(shap["values"])
    assert total == pytest.approx(payload["prediction"][0], rel=0.01, abs=1e-3)


@pytest.mark.parametrize("name, message", [("bad row", "row 5000 is out of range"),
                                           ("bad target", "target 7 is out of range")])
def test_bad_input_is_one_error_line(runs, name, message):
    proc, payload = runs[name]
    assert proc.returncode == 2 and payload is None
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]


def test_params_that_are_not_an_object_of_methods_are_refused(samples, repo_root, tmp_path):
    wine = samples["wine_classifier"]
    proc = subprocess.run(command("explain", wine.model_path, wine.data_path, "--row", "0",
                                  "--params", '{"saliency": "norm"}', "--out",
                                  tmp_path / "x.json"),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: --params must be a JSON object of method -> settings")


def test_unknown_method_is_refused_before_loading(samples, repo_root, tmp_path):
    wine = samples["wine_classifier"]
    proc = subprocess.run(command("explain", wine.model_path, wine.data_path, "--row", "0",
                                  "--methods", "lime,deeplift", "--out", tmp_path / "x.json"),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown method deeplift")
