"""`python -m components`: JSON on stdout and exit 0, or exit 2 with one `error:` line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.samples import get_sample, list_samples

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "components", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


def error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.key)
def test_inspect_each_sample(sample):
    proc = cli("inspect", str(sample.model_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["sha256"] == hashlib.sha256(sample.model_path.read_bytes()).hexdigest()
    assert out["name"] == sample.key and out["task"] == sample.task
    assert {"inputs", "outputs", "total_params", "layers"} <= set(out)
    assert sum(r["params"] for r in out["layers"] if r["parent"] is None) == out["total_params"]
    for row in out["layers"]:
        assert set(row) == {"name", "class_name", "output_shape", "params", "parent"}
    if sample.key == "wine_classifier":
        assert [r["name"] for r in out["layers"] if r["parent"] == "encoder"] == ["dense",
                                                                                  "dense_1"]
        assert out["inputs"] == [[None, 13]] and out["total_params"] == 414


def test_check_good_and_bad_data(tmp_path):
    wine = get_sample("wine_classifier")
    good = cli("check", str(wine.model_path), str(wine.data_path))
    assert good.returncode == 0, good.stderr
    report = json.loads(good.stdout)
    assert report["rows"] == 178 and report["errors"] == [] and report["label"] == "label"
    short = tmp_path / "short.csv"
    lines = wine.data_path.read_text().splitlines()
    short.write_text("\n".join(",".join(ln.split(",")[1:]) for ln in lines))
    bad = cli("check", str(wine.model_path), str(short))
    assert error_line(bad) == "error: expected 13 feature columns, got 12: missing 'alcohol'"


def test_missing_file_and_bad_usage(tmp_path):
    assert error_line(cli("inspect", str(tmp_path / "nope.keras"))) == (
        f"error: no such file: {tmp_path / 'nope.keras'}")
    assert cli("frobnicate").returncode == 2  # argparse usage error
