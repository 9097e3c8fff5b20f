"""The Batch page's widgets: start a job over the dataset, follow it, download its result.

A job is the CLI's ``batch`` in a background process (`components.review.batch_runs`); its
state lives in the workspace database and its progress in its files, so the list below is
the same after a reload, in another tab, or after a server restart. While a job runs, the
list redraws itself every second (a fragment), not the page.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from components.data.checks import Dataset
from components.data.predictions import Predictions, filter_table, subset_note
from components.data.session import Workspace
from components.errors import GlassboxError
from components.explain.local import subject_for
from components.explain.methods import REGISTRY
from components.explain.methods.targets import target_choices
from components.model.load import sha256_hex
from components.plots import global_importance as plots
from components.review import batch_runs as runs
from components.text_safety import escape_markdown
from components.ui.loaders import facts_for, sample_table_for
from components.ui.stored import workspace_store
from components.ui.who import principal
from components.ui.widgets import refusal

DEFAULT_METHODS = ("saliency", "gradxinput", "ig")
MAX_DOWNLOAD_BYTES = 512 * 2**20  # bigger results are read from the workspace folder


def inputs_of(workspace: Workspace) -> tuple[tuple[bytes, str, str], tuple[bytes, str, str]]:
    """(bytes, name, SHA-256) of the model and the dataset: a sample's files, or the
    uploads the workspace kept."""
    store, who = workspace_store(), principal()
    sha, data_sha = workspace.bundle.loaded.sha256, workspace.data_sha256
    sample = workspace.sample
    if sample is not None and sha256_hex(model := sample.model_path.read_bytes()) == sha:
        model_in = (model, sample.model_path.name, sha)
    else:
        model_in = (store.read(sha, who),
                    (store.artifact(sha, "model", principal=who) or _named("model")).name, sha)
    if sample is not None and sample.data_path.exists() and \
            sha256_hex(data := sample.data_path.read_bytes()) == data_sha:
        data_in = (data, sample.data_path.name, data_sha)
    else:
        data_in = (store.read(data_sha, who),
                   (store.artifact(data_sha, "dataset", principal=who) or _named("dataset")).name,
                   data_sha)
    return model_in, data_in


def _named(kind: str):
    raise GlassboxError(f"the {kind} is not kept in the workspace; upload it again")


def subset_ui(workspace: Workspace, dataset: Dataset, pred: Predictions
              ) -> tuple[np.ndarray | None, str]:
    """The Explain page's filters over the whole dataset: the rows (sorted) a job would
    explain, None when no filter is set, and a note saying what selected them."""
    if not pred.class_names:  # regression: no classes, no confidence, nothing to filter
        return None, ""
    sha, data_sha = workspace.bundle.loaded.sha256, workspace.data_sha256
    classify = pred.truth is not None and pred.correct is not None
    cols = st.columns([1.6, 1.8, 1.8])
    wrong = cols[0].toggle("Misclassified only", disabled=not classify, key="batch_wrong")
    classes = cols[1].multiselect("Predicted class", list(pred.class_names),
                                  key="batch_classes")
    conf = cols[2].slider("Confidence", 0.0, 1.0, (0.0, 1.0), step=0.01, key="batch_conf")
    note = subset_note(misclassified_only=wrong, classes=classes, confidence=conf)
    if not note:
        st.caption(f"Every row of the dataset ({dataset.n_rows:,}); the filters above pick "
                   f"a subset, as on the Explain page.")
        return None, ""
    table = sample_table_for(sha, data_sha, workspace.task, dataset.label_name, pred, dataset)
    shown = filter_table(table, misclassified_only=wrong, classes=classes or None,
                         confidence=conf)
    rows = np.sort(shown.index.to_numpy(dtype=np.int64))
    st.caption(escape_markdown(f"{len(rows):,} of {dataset.n_rows:,} rows: {note}"))
    if len(rows) == dataset.n_rows:  # filters that keep every row: a plain range job
        return None, ""
    return rows, note


def start_ui(workspace: Workspace, dataset: Dataset, pred: Predictions) -> None:
    """The job's settings and its Start button."""
    sha, data_sha = workspace.bundle.loaded.sha256, workspace.data_sha256
    subset, note = subset_ui(workspace, dataset, pred)
    subject = subject_for(dataset, 0, workspace.task)
    facts, error = facts_for(sha, data_sha, 0, workspace.task, workspace.bundle.runner,
                             subject)
    if error:
        refusal("Batch", error)
        return
    usable = [m for m in REGISTRY if facts.status.get(m) is None]
    with st.form("batch_start", border=True):
        methods = st.multiselect(
            "Methods", usable, default=[m for m in DEFAULT_METHODS if m in usable],
            format_func=lambda m: REGISTRY[m].label,
            help="saliency, Gradient × input and Integrated Gradients run over whole batches "
                 "(thousands of rows a second); the others go row by row")
        left, middle, right = st.columns(3)
        choices = target_choices(len(facts.prediction), workspace.task,
                                 tuple(pred.class_names or ()) or None)
        options = ["predicted", *choices]
        target = left.selectbox("Explained output", options,
                                format_func=lambda t: "each row's prediction"
                                if t == "predicted" else choices[t])
        first, last = middle.slider("Rows", 0, dataset.n_rows, (0, dataset.n_rows),
                                    help="rows from the first to before the last")
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, step=1)
        started = st.form_submit_button("Start the batch job", icon=":material/play_arrow:")
    if started:
        picked = None if subset is None else subset[(subset >= first) & (subset < last)]
        if not methods or first >= last or (picked is not None and not len(picked)):
            st.warning("Choose at least one method and at least one row (the filters and "
                       "the range leave none).")
            return
        request = runs.BatchRequest(
            tuple(methods), None if target == "predicted" else int(target),
            (int(first), int(last)), int(seed),
            subset=None if picked is None else tuple(int(r) for r in picked), note=note)
        try:
            run_id = runs.start(workspace_store(), *inputs_of(workspace), request,
                                principal())
        except (GlassboxError, OSError) as err:
            refusal("Batch", str(err))
            return
        st.toast(f"Batch job {run_id} started", icon=":material/play_arrow:")


def jobs_ui(workspace: Workspace) -> None:
    """Every job of this model and dataset, newest first; redrawn every second while one
    runs."""
    store = workspace_store()
    sha, data_sha = workspace.bundle.loaded.sha256, workspace.data_sha256
    statuses = runs.statuses(store, sha, data_sha, principal())
    running = any(s.state == "running" for s in statuses)
    unread = [statuses]  # the page's own read, drawn by the fragment's first pass

    @st.fragment(run_every=1.0 if running else None)
    def listing() -> None:
        # each later pass (the fragment's own rerun, every second) reads the jobs again
        current = unread.pop() if unread else runs.statuses(store, sha, data_sha, principal())
        if not current:
            st.caption("No batch job yet for this model and dataset.")
        for status in current:
            _job_ui(status)
        if running and not any(s.state == "running" for s in current):
            st.rerun()  # the last job ended: the page stops redrawing every second

    listing()


def _job_ui(status: runs.BatchStatus) -> None:
    request = status.request
    what = ", ".join(REGISTRY[m].label for m in request["methods"] if m in REGISTRY)
    with st.container(border=True):
        st.markdown(f"**Job {status.run_id}** · {escape_markdown(what)} · "
                    f"{escape_markdown(rows_text(request))} · seed {request['seed']} · "
                    f"started {status.created_at[:19].replace('T', ' ')} UTC")
        st.progress(status.share, text=f"{status.state}: {status.rows_done:,} of "
                                       f"{status.rows_total:,} rows")
        if status.state == "failed" and status.message:
            refusal("Batch job", status.message)
        buttons = iter(st.columns([1, 1, 4]))
        if status.state == "running":
            next(buttons).button("Stop", key=f"batch_stop_{status.run_id}",
                                 icon=":material/stop:", on_click=runs.stop,
                                 args=(workspace_store(), status.run_id, principal()))
        if status.state in ("stopped", "failed"):
            next(buttons).button("Resume", key=f"batch_resume_{status.run_id}",
                                 icon=":material/replay:", on_click=runs.resume,
                                 args=(workspace_store(), status.run_id, principal()))
        if status.out is not None:
            size = status.out.stat().st_size
            if size <= MAX_DOWNLOAD_BYTES:
                next(buttons).download_button(
                    "Download Parquet", data=lambda p=status.out: p.read_bytes(),
                    file_name=f"batch-{status.run_id}.parquet",
                    mime="application/vnd.apache.parquet", icon=":material/download:",
                    key=f"batch_download_{status.run_id}")
            else:
                next(buttons).caption(escape_markdown(f"{size / 2**20:,.0f} MiB: in "
                                                      f"{status.out}"))


def latest_done(workspace: Workspace) -> runs.BatchStatus | None:
    """The newest finished job of this model and dataset, if any."""
    sha, data_sha = workspace.bundle.loaded.sha256, workspace.data_sha256
    return next((s for s in runs.statuses(workspace_store(), sha, data_sha, principal())
                 if s.state == "done" and s.out is not None), None)


def batch_importance_ui(status: runs.BatchStatus, names: list[str] | None) -> None:
    """The Global page's importance from every row of a finished batch job."""
    result = _summary(str(status.out), status.out.stat().st_mtime)
    means = {m: np.asarray(v) for m, v in result["mean_abs"].items()}
    if not means:
        return
    labels = {m: f"{REGISTRY[m].label if m in REGISTRY else m}: mean |value|" for m in means}
    # Features in the order of the first contribution method (a sensitivity such as
    # saliency ranks by slope, whatever the feature's own values)
    order_by = next((m for m in means if m in REGISTRY and
                     REGISTRY[m].output == "contribution"), None)
    st.plotly_chart(plots.batch_importance(names, means, labels, order_by=order_by),
                    width="stretch", key="global_batch_importance")
    target = status.request.get("target")
    what = "each row's predicted class" if target is None else f"output {target}"
    st.caption(escape_markdown(
        f"From batch job {status.run_id}: {rows_text(status.request, every=True)}, not a "
        f"sample, explaining {what}; mean |attribution| per feature, each method on its own "
        f"scale. The Batch page starts and lists jobs."))


def rows_text(request: dict, every: bool = False) -> str:
    """A stored request's rows in words: "rows 0–177" (``every``: "every row 0–177 (178
    rows)"), or for a subset "41 rows (misclassified only) of rows 0–177"."""
    a, b = request["rows"]
    if request.get("subset"):
        subset = request["subset"]
        why = f" ({subset['note']})" if subset.get("note") else ""
        return f"{subset['count']:,} rows{why} of rows {a:,}–{b - 1:,}"
    return f"every row {a:,}–{b - 1:,} ({b - a:,} rows)" if every else \
        f"rows {a:,}–{b - 1:,}"


@st.cache_data(max_entries=8, show_spinner="Reading the batch job's result…")
def _summary(path: str, mtime: float) -> dict:
    from pathlib import Path

    return runs.summary(Path(path))
