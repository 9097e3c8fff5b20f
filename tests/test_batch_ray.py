"""The batch job on Ray: the same numbers as the local engine, and a real multi-node cluster
that loses a worker node mid-job without losing or doubling a row. The data is a Parquet
file in several row groups, which each actor reads a part at a time (from its bytes in the
object store).

Each Ray run happens in its own process (the CLI, or tests/ray_cluster_job.py): Ray's
state never enters the pytest worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from components.explain.batch_job import read_meta

pytestmark = pytest.mark.slow  # a minute or more: see pyproject's markers

HERE = Path(__file__).resolve().parent
FEATURES = list("abcdef")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    import keras

    folder = tmp_path_factory.mktemp("ray")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    model.save(folder / "model.keras")
    rng = np.random.default_rng(0)
    # row groups of 48 rows: the parts (40 rows) are read across their boundaries
    pd.DataFrame(rng.normal(size=(200, 6)).astype("float32"), columns=FEATURES) \
        .to_parquet(folder / "data.parquet", row_group_size=48)
    return {"model": folder / "model.keras", "data": folder / "data.parquet",
            "folder": folder}


def batch(files: dict[str, Path], out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "components", "batch", str(files["model"]),
                           str(files["data"]), "--methods", "saliency,gradxinput,ig,shap",
                           "--rows", "0:120", "--batch-size", "40", "--seed", "3",
                           "--out", str(out), *extra], cwd=HERE.parent, capture_output=True,
                          text=True, timeout=600)


def values(path: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(path)
    return {name: np.asarray(table.column(name).to_pylist(), dtype=object)
            if name.endswith(".error") or name == "prediction"
            else table.column(name).to_numpy() for name in table.column_names}


@pytest.fixture(scope="module")
def local(files) -> Path:
    """Rows 0:120 by two local workers: what both Ray runs below are compared with."""
    out = files["folder"] / "local.parquet"
    done = batch(files, out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    return out


def test_ray_gives_the_local_engines_numbers(files, local):
    """Ray Data on a local Ray, two actors: the same file as two local workers."""
    ray_out = files["folder"] / "ray.parquet"
    done = batch(files, ray_out, "--engine", "ray", "--workers", "2")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["engine"] == "ray" and summary["rows"] == 120
    assert summary["parts_computed"] == 3
    assert "Traceback" not in done.stderr
    a, b = values(local), values(ray_out)
    assert list(a) == list(b)
    assert (b["row"] == np.arange(120)).all()
    for name in a:
        if name.endswith(".error"):
            assert (a[name] == b[name]).all()
        elif name == "prediction":
            np.testing.assert_allclose(np.array(list(a[name]), dtype=float),
                                       np.array(list(b[name]), dtype=float), atol=1e-6)
        else:
            np.testing.assert_allclose(a[name], b[name], atol=1e-6, err_msg=name)
    assert read_meta(local)["job"] == read_meta(ray_out)["job"]
    assert read_meta(ray_out)["versions"]["ray"]


def test_a_cluster_spreads_the_job_and_survives_losing_a_node(files):
    """Two one-CPU worker nodes (and a head with none): parts run on both; one node is
    killed after the third part, Ray retries its work elsewhere, and every row is written
    once, with the values a single process computes."""
    out = files["folder"] / "cluster.parquet"
    done = subprocess.run([sys.executable, str(HERE / "ray_cluster_job.py"),
                           str(files["model"]), str(files["data"]), str(out)],
                          cwd=HERE.parent, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["before"]) == 2
    used = set(report["nodes"].values())
    assert set(report["before"]) <= used | {report["killed"]}  # both nodes took parts
    assert len(used) >= 2 and report["killed"] in report["before"]
    assert report["rows"] == 200 and len(report["nodes"]) == 20
    table = pq.read_table(out)
    assert table.column("row").to_pylist() == list(range(200))  # none lost, none doubled
    expected = _in_process(files)
    for method in ("saliency", "lime"):
        got = np.stack([table.column(f"{method}.{f}").to_numpy() for f in FEATURES], axis=1)
        np.testing.assert_allclose(got, expected[f"values:{method}"], atol=1e-6)


def _in_process(files: dict[str, Path]) -> dict:
    from components.data.session import open_dataset
    from components.explain.batch import BatchSpec, explain_rows
    from components.explain.local import subject_for
    from components.model.bundle import open_model

    bundle = open_model(files["model"].read_bytes(), "model.keras")
    dataset = open_dataset(files["data"].read_bytes(), "data.parquet", bundle)
    from ray_cluster_job import PARAMS

    spec = BatchSpec(methods=("saliency", "lime"), target=None, seed=0,
                     params=PARAMS, task="multiclass",
                     kind="tabular", background=subject_for(dataset, 0, "multiclass")
                     .background, feature_names=tuple(FEATURES))
    return explain_rows(bundle.loaded.model, dataset.x, np.arange(200), spec)


def test_ray_explains_a_subset_of_rows_as_the_local_engine_does(files, local):
    """A filtered subset (`--rows-file`) on a local Ray, in parts of 3 rows: the actors
    read the picked rows of the file's bytes, and each row has the numbers the local engine
    gave it in the whole run (a row's values depend on its seed, not on its part)."""
    picked = files["folder"] / "picked.txt"
    picked.write_text("# predicted class 2\n5 7\n100:104\n110\n")
    out = files["folder"] / "subset-ray.parquet"
    done = subprocess.run(
        [sys.executable, "-m", "components", "batch", str(files["model"]),
         str(files["data"]), "--methods", "saliency,shap", "--rows-file", str(picked),
         "--batch-size", "3", "--seed", "3", "--engine", "ray", "--workers", "1",
         "--out", str(out)], cwd=HERE.parent, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["parts"] == 3
    whole, subset = values(local), values(out)
    rows = [5, 7, 100, 101, 102, 103, 110]
    assert subset["row"].tolist() == rows
    compared = [name for name in subset if name.startswith(("saliency.", "shap."))
                and not name.endswith(".error")]
    assert compared
    for name in compared:
        np.testing.assert_allclose(subset[name], whole[name][rows], atol=1e-6, err_msg=name)
    assert read_meta(out)["job"]["subset"]["filter"] == "predicted class 2"
