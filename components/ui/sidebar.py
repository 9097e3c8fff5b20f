"""The shared sidebar: pick a sample or upload a model, optionally a dataset; choose the task.

Rendered by app.py on every page, so its widgets (and the session's uploads) persist across
pages. Returns a `Workspace`; nothing here computes beyond calling the cached loaders.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from components.data_checks import Dataset
from components.data_io import ARRAY_SUFFIXES, IMAGE_SUFFIXES, TABLE_SUFFIXES
from components.samples import Sample, get_sample, list_samples
from components.task import TASK_LABELS, TASKS, resolve_task
from components.ui.loaders import (
    dataset_for,
    sample_bundle,
    sample_data,
    upload_digest,
    uploaded_bundle,
)
from components.ui.selection import keep_in_url
from components.worker import prewarm
from components.workspace import ModelBundle, Workspace

UPLOAD = "__upload__"
AUTO = "auto"
DATA_TYPES = [s.lstrip(".") for s in TABLE_SUFFIXES + ARRAY_SUFFIXES + IMAGE_SUFFIXES]


def sidebar_ui() -> Workspace:
    """Draw the sidebar and return what the session has open."""
    with st.sidebar:
        st.subheader("Model")
        choice = _model_choice()
        workspace = _uploaded_model() if choice == UPLOAD else _sample_model(get_sample(choice))
        if workspace.bundle is not None:
            workspace = _with_data(workspace)
            workspace = _with_task(workspace)
    keep_in_url()
    return workspace


def _model_choice() -> str:
    samples = list_samples()
    keys = [s.key for s in samples] + [UPLOAD]
    titles = {s.key: f"Sample: {s.title}" for s in samples} | {UPLOAD: "Upload my own model…"}
    wanted = st.query_params.get("sample")
    index = keys.index(wanted) if wanted in keys else 0
    choice = st.selectbox("Model", keys, index=index, format_func=titles.__getitem__,
                          key="model_choice")
    # The URL names the sample (an upload cannot be linked to), so a link reopens it.
    if choice == UPLOAD:
        st.query_params.pop("sample", None)
    elif wanted != choice:
        st.query_params["sample"] = choice
    return choice


def _sample_model(sample: Sample) -> Workspace:
    st.caption(sample.description)
    bundle, error = sample_bundle(sample.key)
    return Workspace(source=sample.key, bundle=bundle, model_error=error, sample=sample)


def _uploaded_model() -> Workspace:
    prewarm()  # a worker imports TensorFlow while the user picks a file
    upload = st.file_uploader("Keras model", type=["keras", "h5", "hdf5"], key="model_file",
                              help="Checked statically, then loaded in Keras' safe mode. "
                                   "Lambda layers and custom classes are refused.")
    if upload is None:
        return Workspace(source=UPLOAD)
    data = upload.getvalue()
    bundle, error = uploaded_bundle(upload_digest(data), upload.name, data)
    return Workspace(source=upload.name, bundle=bundle, model_error=error)


def _with_data(ws: Workspace) -> Workspace:
    st.subheader("Dataset")
    upload = st.file_uploader("Dataset (replaces the sample's)" if ws.sample else "Dataset",
                              type=DATA_TYPES, key="data_file")
    if upload is not None:
        data, name = upload.getvalue(), upload.name
        digest = upload_digest(data)
    elif ws.sample is not None:
        data, name, digest = sample_data(ws.sample.key)
    else:
        return ws
    dataset, error = _checked(digest, data, name, ws.bundle, label=None)
    label = _label_choice(dataset, key=f"label_{digest[:16]}")
    if label is not None and dataset is not None and label != dataset.label_name:
        dataset, error = _checked(digest, data, name, ws.bundle, label=label)
    return replace(ws, dataset=dataset, data_error=error, data_sha256=digest)


def _checked(digest: str, data: bytes, name: str, bundle: ModelBundle, label: str | None):
    return dataset_for(digest, name, bundle.loaded.sha256, bundle.feature_names, label, data,
                       bundle)


def _label_choice(dataset: Dataset | None, key: str) -> str | None:
    """Offer the table's columns as label; None keeps auto-detection."""
    if dataset is None or dataset.preview is None:
        return None
    detected = dataset.label_name or "none found"
    picked = st.selectbox("Label column", [AUTO, *dataset.preview.columns], key=key,
                          format_func=lambda c: f"Auto ({detected})" if c == AUTO else c)
    return None if picked == AUTO else picked


def _with_task(ws: Workspace) -> Workspace:
    detected = ws.bundle.summary.task
    options = [AUTO, *TASKS]
    picked = st.selectbox(
        "Task", options, key=f"task_{ws.bundle.loaded.sha256[:16]}",
        format_func=lambda t: f"Auto: {TASK_LABELS[detected]}" if t == AUTO else TASK_LABELS[t],
        help="Detected from the output layer; override it if the guess is wrong.")
    return replace(ws, task=resolve_task(detected, picked))
