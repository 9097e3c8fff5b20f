"""The Batch page through AppTest: a job started from the page runs in the background, its
state is in the workspace database (a fresh session sees it), it can be stopped and resumed,
and the Global page then shows importance over every row."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq
import pytest

from apptest_support import new_app
from components.review import batch_runs
from components.ui.stored import workspace_store

PAGE = "views/batch.py"


@pytest.fixture(scope="module")
def wine():
    at = new_app(timeout=300)
    at.query_params["sample"] = "wine_classifier"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _statuses(at) -> list:
    ws = at.session_state["glassbox.workspace"]
    return batch_runs.statuses(workspace_store(), ws.bundle.loaded.sha256, ws.data_sha256)


def _wait(at, state: str, timeout: float = 240) -> batch_runs.BatchStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        newest = _statuses(at)[0]
        if newest.state == state:
            return newest
        time.sleep(0.5)
    raise AssertionError(f"the job is {newest.state}, not {state}: {newest.message}")


def test_a_job_started_on_the_page_writes_every_row(wine):
    form_methods = next(m for m in wine.multiselect if m.label == "Methods")
    assert form_methods.value == ["saliency", "gradxinput", "ig"]
    before = len(_statuses(wine))
    wine.button[0].click().run()  # the form's Start button
    assert not wine.exception, wine.exception
    assert len(_statuses(wine)) == before + 1
    done = _wait(wine, "done")
    table = pq.read_table(done.out)
    assert table.num_rows == 178 and table.column("row").to_pylist() == list(range(178))
    assert "ig.alcohol" in table.column_names
    fresh = new_app(timeout=300)  # another session (a reload) lists the same job, finished
    fresh.query_params["sample"] = "wine_classifier"
    fresh.run()
    fresh.switch_page(PAGE).run()
    assert not fresh.exception, fresh.exception
    assert any(f"Job {done.run_id}" in m.value for m in fresh.markdown)
    assert any(d.label == "Download Parquet" for d in fresh.get("download_button"))


def test_the_global_page_reads_a_finished_job(wine):
    _wait(wine, "done")
    wine.switch_page("views/global_view.py").run()
    assert not wine.exception, wine.exception
    charts = [c for c in wine.get("plotly_chart") if c.proto.id and
              "global_batch_importance" in (c.key or "")]
    assert charts
    assert any("From batch job" in c.value for c in wine.caption)
    wine.switch_page(PAGE).run()


def test_a_failed_job_says_why_in_one_line(wine, monkeypatch):
    ws = wine.session_state["glassbox.workspace"]
    store = workspace_store()
    request = batch_runs.BatchRequest(("gradcam",), None, (0, 10))  # not for tables
    from components.ui.batch_widgets import inputs_of

    run_id = batch_runs.start(store, *inputs_of(ws), request)
    status = _wait(wine, "failed")
    assert status.run_id == run_id
    assert "gradcam does not apply" in status.message and "\n" not in status.message


def test_a_stopped_job_resumes_without_redoing_its_parts(wine):
    from components.ui.batch_widgets import inputs_of

    ws = wine.session_state["glassbox.workspace"]
    store = workspace_store()
    request = batch_runs.BatchRequest(("lime",), None, (0, 178), seed=1)  # 64 rows a part
    run_id = batch_runs.start(store, *inputs_of(ws), request)
    deadline = time.monotonic() + 240
    while _statuses(wine)[0].rows_done < 64:
        assert time.monotonic() < deadline and _statuses(wine)[0].state == "running"
        time.sleep(0.2)
    batch_runs.stop(store, run_id)
    status = _wait(wine, "stopped")
    parts = sorted((store.root / "batch" / str(run_id) / "out.parquet.parts")
                   .glob("rows-*.parquet"))
    assert status.rows_done < 178 and parts
    wine.run()
    assert any(b.label == "Resume" for b in wine.button)
    batch_runs.resume(store, run_id)
    done = _wait(wine, "done")
    assert pq.read_table(done.out).column("row").to_pylist() == list(range(178))
    summary = json.loads((store.root / "batch" / str(run_id) / "stdout.json").read_text())
    # the parts finished before the stop were not computed again
    assert summary["rows_computed"] == 178 - status.rows_done
    assert summary["parts_computed"] == 3 - len(parts)


def test_a_job_over_the_filtered_rows_explains_just_those(wine):
    """The Explain page's filters on the Batch page: a job over the rows they keep."""
    classes = next(m for m in wine.multiselect if m.label == "Predicted class")
    first_class = classes.options[0]
    classes.set_value([first_class]).run()
    assert not wine.exception, wine.exception
    shown = [c.value.replace("\\", "") for c in wine.caption]  # markdown escapes dropped
    caption = next(c for c in shown if "rows: predicted" in c)
    count = int(caption.split(" of ")[0].replace(",", ""))
    assert 0 < count < 178 and caption.endswith(f"predicted {first_class}")
    start = next(b for b in wine.button if "Start" in b.label)
    start.click().run()
    assert not wine.exception, wine.exception
    done = _wait(wine, "done")
    rows = pq.read_table(done.out).column("row").to_pylist()
    assert len(rows) == count and rows == sorted(rows)
    targets = pq.read_table(done.out).column("target").to_pylist()
    assert set(targets) == {0}  # each row's predicted class: the filtered one
    assert done.request["subset"] == {"count": count, "note": f"predicted {first_class}"}
    assert any(f"{count} rows (predicted {first_class}) of rows 0–177" in
               m.value.replace("\\", "") for m in wine.markdown)
    classes = next(m for m in wine.multiselect if m.label == "Predicted class")
    classes.set_value([]).run()


def test_the_batch_importance_figure_orders_features_by_the_chosen_method():
    import numpy as np

    from components.plots.global_importance import batch_importance

    means = {"saliency": np.array([3.0, 1.0, 2.0]), "ig": np.array([0.1, 0.9, 0.5])}
    labels = {"saliency": "Saliency", "ig": "IG"}
    figure = batch_importance(["a", "b", "c"], means, labels, order_by="ig", top_k=2)
    assert [list(t.y) for t in figure.data] == [["b", "c"], ["b", "c"]]
    assert list(figure.data[0].x) == [1.0, 2.0] and list(figure.data[1].x) == [0.9, 0.5]
    assert [a.text for a in figure.layout.annotations] == ["Saliency", "IG"]
    first = batch_importance(["a", "b", "c"], means, labels)
    assert list(first.data[0].y) == ["a", "c", "b"]
    with pytest.raises(ValueError, match="no method"):
        batch_importance(["a"], {}, {})


def test_a_teams_batch_jobs_are_its_own(tmp_path):
    """Another team sees no trace of a job (listing, reading, stopping), as for reviews."""
    from components.review.access import Principal
    from components.review.store import Store, StoreError

    store = Store(tmp_path / "ws")
    red = Principal("sub-r", "r@x", (("red", "viewer"),), "red")
    blue = Principal("sub-b", "b@x", (("blue", "admin"),), "blue")
    try:
        run_id = store.add_batch_run("a" * 64, "b" * 64, {"methods": ["ig"]}, red)
        assert [r["id"] for r in store.batch_runs("a" * 64, "b" * 64, red)] == [run_id]
        assert store.batch_runs("a" * 64, "b" * 64, blue) == []
        assert store.batch_run(run_id, blue) is None and store.batch_run(run_id, red)
        with pytest.raises(StoreError, match=f"^there is no batch job {run_id}$"):
            batch_runs.stop(store, run_id, blue)
        assert store.batch_run(run_id)["state"] == "running"  # untouched by blue
        assert len(store.batch_runs("a" * 64, "b" * 64)) == 1  # the operator sees all
    finally:
        store.dispose()
