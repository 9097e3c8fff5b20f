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
from components.data.predictions import Predictions
from components.data.session import Workspace
from components.errors import GlassboxError
from components.explain.local import subject_for
from components.explain.methods import REGISTRY
from components.explain.methods.targets import target_choices
from components.model.load import sha256_hex
from components.plots import global_importance as plots
from components.review import batch_runs as runs
from components.text_safety import escape_markdown
from components.ui.loaders import facts_for
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


def start_ui(workspace: Workspace, dataset: Dataset, pred: Predictions) -> None:
    """The job's settings and its Start button."""
    sha, data_sha = workspace.bundle.loaded.sha256, workspace.data_sha256
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
        if not methods or first >= last:
            st.warning("Choose at least one method and a range of at least one row.")
            return
        request = runs.BatchRequest(tuple(methods), None if target == "predicted"
                                    else int(target), (int(first), int(last)), int(seed))
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

    @st.fragment(run_every=1.0 if running else None)
    def listing() -> None:
        current = runs.statuses(store, sha, data_sha, principal())
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
    a, b = request["rows"]
    with st.container(border=True):
        st.markdown(f"**Job {status.run_id}** · {escape_markdown(what)} · rows {a:,}–{b - 1:,}"
                    f" · seed {request['seed']} · started "
                    f"{status.created_at[:19].replace('T', ' ')} UTC")
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
    a, b = status.request["rows"]
    target = status.request.get("target")
    what = "each row's predicted class" if target is None else f"output {target}"
    st.caption(f"From batch job {status.run_id}: every row {a:,}–{b - 1:,} "
               f"({b - a:,} rows), not a sample, explaining {what}; mean |attribution| per "
               f"feature, each method on its own scale. The Batch page starts and lists "
               f"jobs.")


@st.cache_data(max_entries=8, show_spinner="Reading the batch job's result…")
def _summary(path: str, mtime: float) -> dict:
    from pathlib import Path

    return runs.summary(Path(path))
