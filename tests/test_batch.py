"""`python -m components batch`: every row explained into one Parquet file.

Three layers, on tiny models built here:

* `explain_rows` (the per-part compute) against the one-row path (`explain_one` inside
  `fixed_counts`, as the batch job runs it): the batched saliency, Gradient x input and IG
  give each row's own numbers, IG keeps completeness, LIME, SHAP and SmoothGrad go row by
  row with the same seed;
* the commands themselves, in-process (`components.cli.main`) with the model loaded in
  this process instead of a worker (`open_model(isolate=False)`, cached): the file, its
  metadata, ``explain --row N``'s numbers, ranges, resuming an interrupted job, refusals;
  everything after the loading is the commands' own code;
* one real ``python -m components batch`` (worker processes, two of them), started first
  so that it runs while the rest does: the same numbers as the in-process run.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.explain import batch_job, batch_local
from components.explain.batch import BatchSpec, explain_rows
from components.explain.batch_job import Progress, default_part_rows, parts_of, read_meta
from components.explain.local import bound, explain_one
from components.explain.methods.base import Subject
from components.explain.methods.budget import fixed_counts

FEATURES = tuple(f"f{i}" for i in range(6))
N_ROWS = 300
SEED = 3
# Explicit counts: `explain` (not a report) sizes "auto" counts from the measured cost of a
# gradient; the batch job never does. With them given, both compute the very same thing.
PARAMS = {"ig": {"steps": 64}, "smoothgrad": {"samples": 32}}
METHODS = "saliency,gradxinput,ig,smoothgrad"
BATCHED = ("saliency", "gradxinput", "ig")
FULL_ARGS = ["--methods", METHODS, "--seed", SEED, "--params", json.dumps(PARAMS)]
TOL = {"rtol": 1e-5, "atol": 1e-7}  # float32: one row's gradient in a batch or alone
# What the command's env defaults and the local engine set: kept from leaking out of a test.
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "GLASSBOX_SPARE_WORKER": "0",
       "GLASSBOX_SPARE_PARSER": "0", "TF_NUM_INTRAOP_THREADS": "1",
       "TF_NUM_INTEROP_THREADS": "1"}


def command(*args) -> list[str]:
    return [sys.executable, "-m", "components", *map(str, args)]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- tiny models and files


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _mlp(keras, activation: str):
    """6 features -> Dense(12) -> 3-class softmax, seeded."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    hidden = keras.layers.Dense(12, activation=activation)(inp)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(hidden))


@pytest.fixture(scope="module")
def mlp(keras):
    return _mlp(keras, "tanh")


@pytest.fixture(scope="module")
def relu_mlp(keras):
    """Piecewise linear: IG's 64 intervals miss 1 % on some rows, which are refined."""
    return _mlp(keras, "relu")


@pytest.fixture(scope="module")
def cnn(keras):
    """8x8x1 images -> Conv2D(4, relu) -> global average -> 3-class softmax."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    pooled = keras.layers.GlobalAveragePooling2D()(conv)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(pooled))


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    """(300, 6) float32, three decimals (a CSV holds them exactly)."""
    rng = np.random.default_rng(0)
    return np.round(rng.normal(size=(N_ROWS, 6)) * 1.5, 3).astype("float32")


@dataclass(frozen=True)
class Files:
    folder: Path
    model: Path
    csv: Path
    parquet: Path
    narrow: Path  # one feature column short


@pytest.fixture(scope="module")
def files(tmp_path_factory, mlp, table) -> Files:
    folder = tmp_path_factory.mktemp("batch")
    model = folder / "tiny.keras"
    mlp.save(model)
    frame = pd.DataFrame(table, columns=list(FEATURES))
    frame["label"] = np.arange(N_ROWS) % 3
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_parquet(folder / "data.parquet", index=False)
    frame.drop(columns=["f5"]).to_csv(folder / "narrow.csv", index=False)
    return Files(folder, model, folder / "data.csv", folder / "data.parquet",
                 folder / "narrow.csv")


@pytest.fixture(scope="module")
def real_run(files, repo_root):
    """The real command (its model in worker processes), started once the files exist."""
    out = files.folder / "real.parquet"
    args = command("batch", files.model, files.parquet, "--methods", METHODS, "--seed", SEED,
                   "--params", json.dumps(PARAMS), "--workers", 2, "--batch-size", 100,
                   "--out", out)
    proc = subprocess.Popen(args, cwd=repo_root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module", autouse=True)
def _start_real_run_first(real_run):
    """The real run goes on in the background while the in-process tests run."""


@pytest.fixture(scope="module")
def real(real_run) -> tuple[subprocess.CompletedProcess, Path]:
    proc, out = real_run
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out


# ---------------------------------------------------------------- explain_rows, unit


def _spec(methods, x, *, target=None, params=None, kind="tabular") -> BatchSpec:
    return BatchSpec(methods=tuple(methods), target=target, seed=SEED, params=params or {},
                     task="multiclass", kind=kind, background=x[:200],
                     feature_names=FEATURES if kind == "tabular" else None)


def _one(model, x, row, method, target, spec: BatchSpec):
    """The one-row path for dataset row ``row``: what `explain --row` (fixed counts) gives."""
    subject = Subject(x=x[row:row + 1], kind=spec.kind, predict_fn=None,
                      background=spec.background, feature_names=spec.feature_names,
                      task=spec.task)
    with fixed_counts():
        return explain_one(bound(model, subject), method, int(target), spec.seed,
                           spec.params.get(method))


@pytest.fixture(scope="module")
def batched(mlp, relu_mlp, table) -> dict:
    """model name -> explain_rows of every row with the three batched methods (rows are
    numbered from 1000, as a part further into the data would be)."""
    models = {"tanh": mlp, "relu": relu_mlp}
    return {name: explain_rows(model, table, np.arange(1000, 1000 + N_ROWS),
                               _spec(BATCHED, table)) for name, model in models.items()}


@pytest.mark.parametrize("name", ["tanh", "relu"])
def test_batched_methods_equal_the_one_row_path(name, batched, mlp, relu_mlp, table):
    model = {"tanh": mlp, "relu": relu_mlp}[name]
    out = batched[name]
    refined = np.flatnonzero(out["ig_steps"] > 64)
    if name == "relu":  # the refinement is exercised, and on few rows only
        assert 0 < len(refined) < N_ROWS // 2
    else:
        assert not len(refined)
    spec = _spec(BATCHED, table)
    for row in sorted({*range(0, N_ROWS, 25), *refined[:4].tolist()}):
        for method in BATCHED:
            one = _one(model, table, row, method, out["target"][row], spec)
            np.testing.assert_allclose(out[f"values:{method}"][row], one.values, **TOL,
                                       err_msg=f"{method} row {row}")
            assert out[f"error:{method}"][row] is None
        ig = _one(model, table, row, "ig", out["target"][row], spec)
        assert out["ig_steps"][row] == ig.extras["steps_used"]
        assert out["ig_completeness_error"][row] == pytest.approx(
            ig.extras["completeness_error"], rel=1e-3, abs=1e-6)


def test_gradient_x_input_is_saliency_times_the_row(batched, table):
    out = batched["tanh"]
    np.testing.assert_array_equal(out["values:gradxinput"], out["values:saliency"] * table)
    assert out["values:saliency"].shape == (N_ROWS, 6)
    assert out["values:saliency"].dtype == np.float32


@pytest.mark.parametrize("name", ["tanh", "relu"])
def test_batched_ig_is_complete_on_every_row(name, batched, mlp, relu_mlp, table):
    """sum(values) = f(x) - f(0) for the row's target, within 1 %: checked against the
    model's own outputs, not the job's."""
    model = {"tanh": mlp, "relu": relu_mlp}[name]
    out = batched[name]
    rows = np.arange(N_ROWS)
    f_x = model.predict(table, verbose=0)[rows, out["target"]]
    f_0 = model.predict(np.zeros((1, 6), "float32"), verbose=0)[0][out["target"]]
    delta = f_x - f_0
    total = out["values:ig"].astype(np.float64).sum(axis=1)
    assert np.all(np.abs(total - delta) <= 0.01 * np.abs(delta) + 1e-6)
    assert np.all(out["ig_completeness_error"] <= 0.01)
    np.testing.assert_allclose(out["ig_completeness_error"],
                               np.abs(total - delta) / np.abs(delta), atol=2e-4)


def test_predicted_targets_are_each_rows_argmax(batched, mlp, table):
    out = batched["tanh"]
    prediction = mlp.predict(table, verbose=0)
    np.testing.assert_allclose(out["prediction"], prediction, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(out["target"], prediction.argmax(axis=1))
    assert len(np.unique(out["target"])) == 3  # every class is some row's target
    np.testing.assert_array_equal(out["row"], np.arange(1000, 1000 + N_ROWS))
    assert out["row"].dtype == np.int64 and out["target"].dtype == np.int64


def test_a_given_target_is_used_for_every_row(mlp, table, batched):
    spec = _spec(BATCHED, table, target=2)
    x = table[:40]
    out = explain_rows(mlp, x, np.arange(40), spec)
    np.testing.assert_array_equal(out["target"], np.full(40, 2))
    others = np.flatnonzero(batched["tanh"]["target"][:40] != 2)
    assert len(others) >= 5  # rows whose own class is not 2
    for row in others[:3]:
        for method in BATCHED:
            one = _one(mlp, x, row, method, 2, spec)
            np.testing.assert_allclose(out[f"values:{method}"][row], one.values, **TOL)
            # ... and not the predicted class's numbers
            own = batched["tanh"][f"values:{method}"][row]
            assert np.abs(out[f"values:{method}"][row] - own).max() > 1e-3


@pytest.mark.parametrize("method", ["lime", "shap", "smoothgrad"])
def test_other_methods_go_row_by_row_with_the_seed(method, mlp, table):
    rows = np.array([11, 12])
    spec = _spec((method,), table)
    out = explain_rows(mlp, table[rows], rows, spec)
    for i, row in enumerate(rows):
        one = _one(mlp, table, row, method, out["target"][i], spec)
        # LIME and SHAP rows are stacked into one model call: a bigger batch may round the
        # model's outputs differently in their last bits
        np.testing.assert_allclose(out[f"values:{method}"][i], one.values.astype(np.float32),
                                   rtol=1e-4, atol=1e-6)
        assert out[f"error:{method}"][i] is None
    if method != "shap":  # 6 features: SHAP enumerates every coalition, no sampling
        other = explain_rows(mlp, table[rows], rows, replace(spec, seed=SEED + 1))
        assert not np.array_equal(other[f"values:{method}"], out[f"values:{method}"])


def test_a_failing_method_costs_its_rows_not_the_part(mlp, table):
    spec = _spec(("saliency", "lime"), table, params={"lime": {"values": "bogus"}})
    out = explain_rows(mlp, table[:3], np.arange(3), spec)
    assert np.isnan(out["values:lime"]).all()
    assert list(out["error:lime"]) == [
        "DataError: LIME: values must be one of contribution, slope, not 'bogus'"] * 3
    assert np.isfinite(out["values:saliency"]).all()
    assert list(out["error:saliency"]) == [None] * 3


@pytest.mark.parametrize("params", [{}, {"ig": {"baseline": "blur"}}], ids=["zeros", "blur"])
def test_images_saliency_and_ig_equal_the_one_row_path(params, cnn):
    images = np.random.default_rng(2).uniform(size=(12, 8, 8, 1)).astype("float32")
    spec = _spec(("saliency", "ig"), images, params=params, kind="image")
    out = explain_rows(cnn, images, np.arange(12), spec)
    assert out["values:saliency"].shape == out["values:ig"].shape == (12, 8, 8, 1)
    np.testing.assert_array_equal(out["target"], cnn.predict(images, verbose=0).argmax(1))
    for row in (0, 5, 11):
        for method in ("saliency", "ig"):
            one = _one(cnn, images, row, method, out["target"][row], spec)
            np.testing.assert_allclose(out[f"values:{method}"][row], one.values, **TOL,
                                       err_msg=f"{method} row {row}")
        ig = _one(cnn, images, row, "ig", out["target"][row], spec)
        assert out["ig_steps"][row] == ig.extras["steps_used"]


def test_parts_cover_the_rows_and_their_default_size():
    assert parts_of((40, 95), 20) == [(40, 60), (60, 80), (80, 95)]
    assert parts_of((0, 3), 4096) == [(0, 3)]
    assert default_part_rows(BATCHED, 24) == 4096
    assert default_part_rows(("saliency", "lime"), 24) == 64
    assert default_part_rows(("ig",), 224 * 224 * 3 * 4) == 111  # under 64 MiB of input


# ---------------------------------------------------------------- Progress


def _clock(monkeypatch, start: float = 1000.0) -> list[float]:
    now = [start]
    monkeypatch.setattr(batch_job.time, "monotonic", lambda: now[0])
    return now


def test_progress_writes_rate_and_eta_lines_to_a_log(monkeypatch):
    now = _clock(monkeypatch)
    stream = io.StringIO()
    progress = Progress(100, 0, stream)
    now[0] += 2
    progress.add(10)
    assert stream.getvalue() == ""  # at most a line every 5 s off a terminal
    now[0] += 8
    progress.add(40)
    assert stream.getvalue() == "rows 50 / 100 (50 %) · 5 rows/s · ETA 10 s\n"
    now[0] += 1
    progress.add(50)  # the last rows: always a line
    assert stream.getvalue().splitlines()[-1] == "rows 100 / 100 (100 %) · 9 rows/s · ETA 0 s"


def test_progress_of_a_resumed_job_counts_only_new_rows(monkeypatch):
    now = _clock(monkeypatch)
    stream = io.StringIO()
    progress = Progress(1000, 600, stream)
    now[0] += 10
    progress.add(200)
    assert stream.getvalue() == "rows 800 / 1,000 (80 %) · 20 rows/s · ETA 10 s\n"
    assert progress.rate == 20


def test_progress_redraws_in_place_on_a_terminal(monkeypatch):
    now = _clock(monkeypatch)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress(10, 0, stream)
    now[0] += 1
    progress.add(4)
    now[0] += 1
    progress.add(6)
    assert stream.getvalue() == ("\rrows 4 / 10 (40 %) · 4 rows/s · ETA 2 s"
                                 "\rrows 10 / 10 (100 %) · 5 rows/s · ETA 0 s\n")


# ---------------------------------------------------------------- the command, in-process


@dataclass(frozen=True)
class Result:
    code: int
    summary: dict | None
    stderr: str

    @property
    def errors(self) -> list[str]:
        assert "Traceback" not in self.stderr
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def cli():
    """``cli("batch", ...)``: `components.cli.main` in this process, each model file loaded
    here once (not in a worker), the data read here (not in a bounded child)."""
    import components.data.session as session
    import components.model.bundle as bundle_module
    from components.cli import main

    open_model, open_dataset = bundle_module.open_model, session.open_dataset
    bundles: dict[str, object] = {}

    def here(data: bytes, filename: str, feature_names=None, **_: object):
        key = hashlib.sha256(data).hexdigest()
        if key not in bundles:
            bundles[key] = open_model(data, filename, feature_names)
        return bundles[key]

    def run(*args) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main([str(a) for a in args])
        return Result(code, json.loads(out.getvalue()) if code == 0 else None,
                      err.getvalue())

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bundle_module, "open_model", here)
        mp.setattr(session, "open_dataset", lambda *a, isolate=False, **k: open_dataset(*a, **k))
        for name, value in ENV.items():
            mp.setenv(name, value)
        yield run


def _batch(cli, files: Files, out: Path, *extra, data: Path | None = None) -> Result:
    return cli("batch", files.model, data or files.csv, "--workers", 1, "--out", out, *extra)


def _numbers(frame: pd.DataFrame) -> np.ndarray:
    """Every number column but the completeness error (a small gap's own rounding)."""
    return frame[[c for c in frame.columns if c not in ("prediction", "ig.completeness_error")
                  and not c.endswith(".error")]].to_numpy(float)


def _same_numbers(mine: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(mine.columns) == list(theirs.columns)
    np.testing.assert_array_equal(mine["target"], theirs["target"])
    np.testing.assert_allclose(_numbers(mine), _numbers(theirs), **TOL)
    np.testing.assert_allclose(mine["ig.completeness_error"], theirs["ig.completeness_error"],
                               atol=1e-5)


@pytest.fixture(scope="module")
def full(cli, files) -> tuple[Result, Path]:
    """The real run's job in-process (CSV data, one worker): its result and file."""
    out = files.folder / "full.parquet"
    return _batch(cli, files, out, *FULL_ARGS), out


def test_the_command_writes_every_row_in_order(full, files):
    result, out = full
    assert result.code == 0, result.stderr
    assert result.errors == []
    summary = result.summary
    assert {k: summary[k] for k in ("rows", "rows_computed", "parts", "parts_computed",
                                    "engine", "workers", "methods")} == {
        "rows": N_ROWS, "rows_computed": N_ROWS, "parts": 5, "parts_computed": 5,
        "engine": "local", "workers": 1, "methods": METHODS.split(",")}
    assert summary["out"] == str(out) and summary["rows_per_second"] > 0
    assert "rows 300 / 300 (100 %)" in result.stderr
    assert not (files.folder / "full.parquet.parts").exists()  # joined, then removed
    frame = pd.read_parquet(out)
    columns = ["row", "prediction", "target", "target_output"]
    for method in METHODS.split(","):
        columns += [f"{method}.{f}" for f in FEATURES] + [f"{method}.error"]
        columns += ["ig.completeness_error", "ig.steps"] if method == "ig" else []
    assert list(frame.columns) == columns
    assert frame["row"].tolist() == list(range(N_ROWS))
    assert frame["ig.steps"].eq(64).all() and frame["ig.completeness_error"].le(0.01).all()
    assert frame[[f"{m}.error" for m in METHODS.split(",")]].isna().all().all()
    prediction = np.stack(frame["prediction"].to_numpy())
    np.testing.assert_array_equal(frame["target"], prediction.argmax(axis=1))
    np.testing.assert_array_equal(frame["target_output"],
                                  prediction[np.arange(N_ROWS), frame["target"]])


def test_the_file_says_what_made_it(files, full):
    meta = read_meta(full[1])
    assert meta["format"] == "glassbox-batch/1"
    job = meta["job"]
    assert job["model_sha256"] == sha(files.model)
    assert job["data_sha256"] == sha(files.csv)
    assert (job["model_name"], job["data_name"]) == ("tiny.keras", "data.csv")
    assert job["methods"] == METHODS.split(",") and job["seed"] == SEED
    assert job["params"] == {"saliency": {}, "gradxinput": {}, **PARAMS}
    assert (job["target"], job["task"], job["kind"]) == (None, "multiclass", "tabular")
    assert job["rows"] == [0, N_ROWS] and job["part_rows"] == 64
    assert job["feature_names"] == list(FEATURES) and job["sample_shape"] == [6]
    for name in ("keras", "numpy", "pyarrow", "shap", "lime"):
        assert meta["versions"][name] == metadata.version(name)


@pytest.mark.parametrize("row", [7, 123])
def test_values_equal_explain_row_n(row, cli, files, full):
    frame = pd.read_parquet(full[1])
    out = files.folder / f"explain-{row}.json"
    result = cli("explain", files.model, files.csv, "--row", row, "--methods", METHODS,
                 "--seed", SEED, "--params", json.dumps(PARAMS), "--out", out)
    assert result.code == 0, result.stderr
    payload = json.loads(out.read_text())
    assert payload["target"] == frame["target"][row]
    np.testing.assert_allclose(frame["prediction"][row], payload["prediction"], **TOL)
    assert set(payload["methods"]) == set(METHODS.split(","))
    for method, entry in payload["methods"].items():
        mine = frame[[f"{method}.{f}" for f in FEATURES]].to_numpy()[row]
        np.testing.assert_allclose(mine, entry["values"], **TOL, err_msg=method)
    ig = payload["methods"]["ig"]
    assert frame["ig.steps"][row] == ig["steps_used"]
    assert frame["ig.completeness_error"][row] == pytest.approx(ig["completeness_error"],
                                                                abs=1e-5)


def test_rows_a_to_b_writes_just_those_rows(cli, files, full):
    out = files.folder / "range.parquet"
    result = _batch(cli, files, out, *FULL_ARGS, "--rows", "40:95", "--batch-size", 20)
    assert result.code == 0, result.stderr
    assert (result.summary["rows"], result.summary["parts"]) == (55, 3)
    frame = pd.read_parquet(out)
    assert frame["row"].tolist() == list(range(40, 95))
    assert read_meta(out)["job"]["rows"] == [40, 95]
    whole = pd.read_parquet(full[1]).iloc[40:95].reset_index(drop=True)
    _same_numbers(frame, whole)


def test_a_range_past_the_end_is_clipped(cli, files):
    out = files.folder / "tail.parquet"
    result = _batch(cli, files, out, "--methods", "saliency", "--rows", "290:1000")
    assert result.code == 0, result.stderr
    assert pd.read_parquet(out)["row"].tolist() == list(range(290, N_ROWS))
    assert read_meta(out)["job"]["rows"] == [290, N_ROWS]


def test_a_rows_file_explains_just_those_rows(cli, files, full):
    # what the Batch page writes for a filtered subset: a note, numbers and ranges
    picked = files.folder / "picked.txt"
    picked.write_text("# misclassified only \u00b7 predicted class 1\n3, 7\n10:13\n250 7\n")
    out = files.folder / "subset.parquet"
    result = _batch(cli, files, out, *FULL_ARGS, "--rows-file", picked, "--batch-size", 2)
    assert result.code == 0, result.stderr
    rows = [3, 7, 10, 11, 12, 250]
    assert (result.summary["rows"], result.summary["parts"]) == (6, 3)
    assert "rows 6 / 6 (100 %)" in result.stderr
    frame = pd.read_parquet(out)
    assert frame["row"].tolist() == rows
    job = read_meta(out)["job"]
    assert job["rows"] == [3, 251]
    assert job["subset"] == {
        "sha256": hashlib.sha256(np.array(rows, dtype="<i8").tobytes()).hexdigest(),
        "count": 6, "filter": "misclassified only \u00b7 predicted class 1"}
    whole = pd.read_parquet(full[1]).iloc[rows].reset_index(drop=True)
    _same_numbers(frame, whole)
    again = _batch(cli, files, out, *FULL_ARGS, "--rows-file", picked, "--batch-size", 2)
    assert again.summary["rows_computed"] == 0
    # another subset into the same file is another job: refused, never mixed in
    picked.write_text("3 7 10\n")
    other = _batch(cli, files, out, *FULL_ARGS, "--rows-file", picked, "--batch-size", 2)
    assert other.code == 2 and "holds another job's results" in other.errors[0]


def test_a_rows_file_of_a_parquet_file_reads_only_its_rows(cli, files, full):
    picked = files.folder / "picked-parquet.txt"
    picked.write_text("299\n0:2\n150\n")
    out = files.folder / "subset-parquet.parquet"
    result = _batch(cli, files, out, *FULL_ARGS, "--rows-file", picked, data=files.parquet)
    assert result.code == 0, result.stderr
    frame = pd.read_parquet(out)
    assert frame["row"].tolist() == [0, 1, 150, 299]
    whole = pd.read_parquet(full[1]).iloc[[0, 1, 150, 299]].reset_index(drop=True)
    _same_numbers(frame, whole)


ROWS_FILE_REFUSALS = {
    "3\nx7\n": "error: --rows-file: 'x7' is not a row number or a range A:B",
    "# nothing\n": "error: --rows-file holds no row",
    "5 300\n": "error: --rows-file: row 300 is past the end: the dataset has 300 rows "
               "(0..299)",
    "\x1b[2J3": "error: --rows-file: '\\x1b[2J3' is not a row number or a range A:B",
}


@pytest.mark.parametrize("text", list(ROWS_FILE_REFUSALS), ids=range(len(ROWS_FILE_REFUSALS)))
def test_a_bad_rows_file_is_one_error_line(text, cli, files):
    picked = files.folder / "bad-rows.txt"
    picked.write_text(text)
    out = files.folder / "bad-subset.parquet"
    result = _batch(cli, files, out, "--methods", "saliency", "--rows-file", picked)
    assert (result.code, result.errors) == (2, [ROWS_FILE_REFUSALS[text]])
    assert not out.with_name(out.name + ".parts").exists()
    both = _batch(cli, files, out, "--methods", "saliency", "--rows-file", picked,
                  "--rows", "0:5")
    assert both.errors == ["error: give --rows or --rows-file, not both"]


# ---------------------------------------------------------------- resuming


@pytest.fixture
def counted(monkeypatch):
    """Each part the local engine computes, as (start, stop); ``fail_at`` makes the part
    starting there fail as a lost worker would; ``on_call`` runs before each part."""
    state = {"calls": [], "fail_at": None, "on_call": None}

    def explain(model, x, rows, spec):
        part = (int(rows[0]), int(rows[-1]) + 1)
        state["calls"].append(part)
        if state["on_call"]:
            state["on_call"]()
        if part[0] == state["fail_at"]:
            raise RuntimeError("the worker was lost")
        return explain_rows(model, x, rows, spec)

    monkeypatch.setattr(batch_local, "explain_rows", explain)
    return state


def test_an_interrupted_job_resumes_with_only_the_missing_parts(cli, files, counted):
    job = ["--methods", "saliency,ig", "--batch-size", 50]
    reference = files.folder / "uninterrupted.parquet"
    assert _batch(cli, files, reference, *job).code == 0
    out = files.folder / "resumed.parquet"
    parts = files.folder / "resumed.parquet.parts"
    counted.update(calls=[], fail_at=150)
    first = _batch(cli, files, out, *job)
    assert first.code == 2 and first.errors == ["error: rows 150..199: the worker was lost"]
    assert not out.exists()
    kept = sorted(p.name for p in parts.glob("rows-*.parquet"))
    assert kept == [f"rows-{a:010d}-{a + 50:010d}.parquet" for a in (0, 50, 100)]
    assert json.loads((parts / "job.json").read_text())["seed"] == 0
    # a part lost too, and one cut off mid-write
    (parts / kept[1]).unlink()
    stale = parts / ".tmp-150-99999"
    stale.write_bytes(b"PAR1 half a part")
    stale_seen = []
    counted.update(calls=[], fail_at=None, on_call=lambda: stale_seen.append(stale.exists()))
    again = _batch(cli, files, out, *job)
    assert again.code == 0, again.stderr
    assert counted["calls"] == [(50, 100), (150, 200), (200, 250), (250, 300)]
    assert stale_seen == [False] * 4  # removed before any part was computed
    assert {k: again.summary[k] for k in ("rows", "rows_computed", "parts",
                                          "parts_computed")} == {
        "rows": 300, "rows_computed": 200, "parts": 6, "parts_computed": 4}
    assert not parts.exists()
    assert pd.read_parquet(out).equals(pd.read_parquet(reference))
    assert read_meta(out) == read_meta(reference)


def test_parts_of_another_job_are_refused(cli, files, counted):
    out = files.folder / "other.parquet"
    parts = files.folder / "other.parquet.parts"
    counted.update(fail_at=100)
    assert _batch(cli, files, out, "--methods", "saliency", "--batch-size", 50).code == 2
    before = sorted(p.name for p in parts.iterdir())
    counted.update(calls=[], fail_at=None)
    other = _batch(cli, files, out, "--methods", "saliency", "--batch-size", 50,
                   "--seed", 1)
    assert other.code == 2 and counted["calls"] == []
    assert other.errors == [f"error: {parts} holds the parts of another job (other model, "
                            f"data, methods, rows or settings); remove it or choose another "
                            f"--out"]
    assert sorted(p.name for p in parts.iterdir()) == before  # nothing mixed in or removed


def test_rerunning_a_finished_job_computes_nothing(cli, files, counted):
    out = files.folder / "done.parquet"
    job = ["--methods", "gradxinput", "--batch-size", 100]
    assert _batch(cli, files, out, *job).code == 0
    assert len(counted["calls"]) == 3
    content, stamp = out.read_bytes(), out.stat().st_mtime_ns
    counted.update(calls=[])
    again = _batch(cli, files, out, *job)
    assert again.code == 0, again.stderr
    assert counted["calls"] == []
    assert (again.summary["rows"], again.summary["rows_computed"],
            again.summary["parts_computed"], again.summary["rows_per_second"]) == (
        300, 0, 0, None)
    assert out.read_bytes() == content and out.stat().st_mtime_ns == stamp
    other = _batch(cli, files, out, *job, "--seed", 5)  # another job over a finished file
    assert other.code == 2 and counted["calls"] == []
    assert other.errors == [f"error: {out} exists and holds another job's results; remove it "
                            f"or choose another --out"]
    assert out.read_bytes() == content


# ---------------------------------------------------------------- refusals

# name -> (arguments, the start of the one error line); {folder} is the files' folder, and
# a "--data" argument replaces the data file.
REFUSALS = {
    "unknown method": (["--methods", "saliency,deeplift"],
                       "error: unknown method deeplift; expected any of "),
    "gradcam on a table": (["--methods", "gradcam"],
                           "error: gradcam does not apply to this model: "),
    "rows reversed": (["--rows", "5:2"],
                      "error: --rows 5:2 holds no row: the dataset has 300 rows (0..299)"),
    "rows past the end": (["--rows", "300:400"], "error: --rows 300:400 holds no row: the "
                                                 "dataset has 300 rows (0..299)"),
    "rows not a range": (["--rows", "x"], "error: --rows takes a range A:B of row numbers "
                                          "such as 0:1000, not 'x'"),
    "target out of range": (["--target", "7"],
                            "error: --target 7 is out of range: the model has 3 output(s)"),
    "target not a number": (["--target", "abc"], "error: --target takes an output index or "
                                                 "'predicted', not 'abc'"),
    "no workers": (["--workers", "0"], "error: --workers must be at least 1, not 0"),
    "negative batch": (["--batch-size", "-4"],
                       "error: --batch-size must be at least 1, not -4"),
    "out not parquet": (["--out", "{folder}/x.json"],
                        "error: --out must name a .parquet file, not x.json"),
    "out in no folder": (["--out", "{folder}/nowhere/x.parquet"],
                         "error: cannot write --out {folder}/nowhere/x.parquet: no such "
                         "folder {folder}/nowhere"),
    "address without ray": (["--address", "10.0.0.1:6379"],
                            "error: --address needs --engine ray"),
    "columns do not fit": (["--data", "{folder}/narrow.csv"], "error: the model expects 6 "
                                                              "feature columns, the file has 5: "),
    "params not settings": (["--params", '{"ig": 64}'], "error: --params must be a JSON "
                                                        "object of method -> settings"),
    # Settings are checked as `explain` checks them, before any part runs or the parts
    # folder is made: an unknown name is not ignored, a bad value fails no row.
    "unknown ig setting": (["--methods", "ig", "--params", '{"ig": {"step": 16}}'],
                           "error: Integrated Gradients: ig: unknown parameter(s) step; "
                           "expected steps, baseline"),
    "unknown saliency setting": (["--params", '{"saliency": {"bogus": 1}}'],
                                 "error: Saliency: saliency: unknown parameter(s) bogus"),
    "bad ig steps": (["--methods", "saliency,ig", "--params", '{"ig": {"steps": 0}}'],
                     "error: Integrated Gradients: ig: steps must be an integer from 1 to "
                     "2048, got 0"),
    "bad ig baseline": (["--methods", "ig", "--params", '{"ig": {"baseline": "blur"}}'],
                        "error: Integrated Gradients: ig: the 'blur' baseline applies to "
                        "images only"),
    "bad lime setting": (["--methods", "lime", "--params", '{"lime": {"values": "odd"}}'],
                         "error: LIME: values must be one of contribution, slope, not 'odd'"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_bad_input_is_one_error_line(name, cli, files):
    args, message = REFUSALS[name]
    args = [a.replace("{folder}", str(files.folder)) for a in args]
    message = message.replace("{folder}", str(files.folder))
    data = files.csv
    if args[0] == "--data":
        data, args = Path(args[1]), []
    out = files.folder / f"refused-{name.replace(' ', '-')}.parquet"
    defaults = {"--methods": "saliency", "--workers": "1", "--out": str(out)}
    args += [x for flag, value in defaults.items() if flag not in args for x in (flag, value)]
    result = cli("batch", files.model, data, *args)
    assert result.code == 2 and result.summary is None
    assert len(result.errors) == 1 and result.errors[0].startswith(message), result.errors
    assert not out.exists() and not out.with_name(out.name + ".parts").exists()


def test_a_real_refusal_is_exactly_one_line(files, repo_root):
    proc = subprocess.run(command("batch", files.model, files.csv, "--methods", "saliency",
                                  "--target", "abc", "--out", files.folder / "r.parquet"),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "error: --target takes an output index or 'predicted', not 'abc'\n"


# ---------------------------------------------------------------- the real command


def test_the_real_command_with_two_workers(real, files, full):
    proc, out = real
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "error:" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert {k: summary[k] for k in ("rows", "rows_computed", "parts", "parts_computed",
                                    "workers")} == {
        "rows": N_ROWS, "rows_computed": N_ROWS, "parts": 3, "parts_computed": 3,
        "workers": 2}
    frame = pd.read_parquet(out)
    assert frame["row"].tolist() == list(range(N_ROWS))
    job = read_meta(out)["job"]
    assert (job["data_sha256"], job["data_name"], job["part_rows"]) == (
        sha(files.parquet), "data.parquet", 100)
    # the numbers of the in-process run over the CSV, cut into parts of 64 rows
    _same_numbers(frame, pd.read_parquet(full[1]))
