"""The shared sidebar: pick a sample, a stored model or upload one; a dataset; the task.

Rendered by app.py on every page, so its widgets (and the session's uploads) persist across
pages. Returns a `Workspace`; nothing here computes beyond calling the cached loaders.

Accepted uploads are kept in the workspace store (content-addressed), so they are listed
again after the browser closes or the server restarts. The URL names what is open:
``?sample=KEY`` for a bundled sample, ``?model=SHA256`` for a stored model, ``?data=SHA256``
for a stored dataset, so a link reopens the same model and data.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from components.data.checks import Dataset
from components.data.links import model_note, row_note
from components.data.read import ARRAY_SUFFIXES, IMAGE_SUFFIXES, TABLE_SUFFIXES
from components.data.session import Workspace, model_title
from components.errors import GlassboxError
from components.model.bundle import ModelBundle
from components.model.samples import Sample, get_sample
from components.model.task import TASK_LABELS, TASKS, resolve_task
from components.ui.loaders import dataset_for, sample_data, vocabulary_for
from components.ui.model_picker import (
    FOLDER,
    STORED,
    UPLOAD,
    folder_model,
    model_options,
    sample_model,
    stored_model,
    upload_digest,
    uploaded_bundle,
    uploaded_model,
)
from components.ui.selection import keep_in_url
from components.ui.stored import artifact_label, fitting_datasets, keep_dataset, read_stored
from components.ui.widgets import link_note

SAMPLE_DATA = "__default_data__"
AUTO = "auto"
DATA_TYPES = [s.lstrip(".") for s in TABLE_SUFFIXES + ARRAY_SUFFIXES + IMAGE_SUFFIXES]


def sidebar_ui() -> Workspace:
    """Draw the sidebar and return what the session has open.

    What a link named but could not be opened is said above the page, once (the URL is
    then rewritten to what was opened).
    """
    notes: list[str] = []
    with st.sidebar:
        st.subheader("Model")
        choice = _model_choice(notes)
        if choice == UPLOAD:
            workspace = _uploaded_model()
        elif choice.startswith(STORED):
            workspace = _stored_model(choice.removeprefix(STORED))
        elif choice.startswith(FOLDER):
            workspace = _folder_model(choice.removeprefix(FOLDER))
        else:
            workspace = _sample_model(get_sample(choice))
        if workspace.bundle is not None:
            workspace = replace(workspace, title=model_title(
                workspace.sample, workspace.source, workspace.bundle.summary.name))
            workspace = _with_data(workspace)
            workspace = _with_task(workspace)
            notes += _row_in_range(workspace)
    keep_in_url()
    for note in notes:
        link_note(note)
    return workspace


def _row_in_range(ws: Workspace) -> list[str]:
    """The link's ``?row=`` when the dataset has no such row: say so and show row 0."""
    if ws.dataset is None or ws.dataset.x is None:
        return []
    note = row_note(st.query_params.get("row"), ws.dataset.n_rows)
    if note is not None:
        st.query_params["row"] = "0"
    return [] if note is None else [note]


def _model_choice(notes: list[str]) -> str:
    keys, titles = model_options(sample_prefix="", upload_title="Upload my own model…")
    wanted = _wanted_model(keys)
    index = keys.index(wanted) if wanted in keys else 0
    choice = st.selectbox("Model", keys, index=index, format_func=titles.__getitem__,
                          key="model_choice")
    notes += _missing_models(keys, choice, titles)
    _name_in_url(choice)
    return choice


def _missing_models(keys: list[str], choice: str, titles: dict[str, str]) -> list[str]:
    """The models the URL names that are not on offer (before `_name_in_url` drops them)."""
    opened = "the default sample" if choice == keys[0] else titles[choice]
    notes = []
    for param, prefix in (("model", STORED), (FILE_PARAM, FOLDER), ("sample", "")):
        value = st.query_params.get(param)
        if value is not None and f"{prefix}{value}" not in keys and \
                not (param == "model" and choice == UPLOAD):
            notes.append(model_note(param, value, opened))
    return notes


def _wanted_model(keys: list[str]) -> str | None:
    """The model the URL names: ``?model=SHA256`` (stored), ``?file=NAME`` (the server's
    model folder) or ``?sample=KEY``."""
    sha = st.query_params.get("model")
    if sha and f"{STORED}{sha}" in keys:
        return f"{STORED}{sha}"
    if (name := st.query_params.get(FILE_PARAM)) and f"{FOLDER}{name}" in keys:
        return f"{FOLDER}{name}"
    return st.query_params.get("sample")


VIEW_PARAMS = ("methods", "target", "seed", "params")  # the explain page's settings
FILE_PARAM = "file"  # ?file=NAME: a model in the server's model folder


def _name_in_url(choice: str) -> None:
    """Put the chosen model in the URL (an upload in progress has no name yet).

    Another model than the URL names drops the explain settings the URL carried: they were
    for the other model (its methods, its classes).
    """
    named = f"{STORED}{st.query_params['model']}" if "model" in st.query_params else \
        f"{FOLDER}{st.query_params[FILE_PARAM]}" if FILE_PARAM in st.query_params else \
        st.query_params.get("sample")
    # (An upload names its own model once accepted: `_uploaded_model` sets ?model=.)
    if named is not None and named != choice and choice != UPLOAD:
        for param in VIEW_PARAMS:
            st.query_params.pop(param, None)
    if not choice.startswith(FOLDER):
        st.query_params.pop(FILE_PARAM, None)
    if choice.startswith(FOLDER):
        st.query_params.pop("sample", None)
        st.query_params.pop("model", None)
        if st.query_params.get(FILE_PARAM) != choice.removeprefix(FOLDER):
            st.query_params[FILE_PARAM] = choice.removeprefix(FOLDER)
    elif choice.startswith(STORED):
        st.query_params.pop("sample", None)
        if st.query_params.get("model") != choice.removeprefix(STORED):
            st.query_params["model"] = choice.removeprefix(STORED)
    elif choice == UPLOAD:
        st.query_params.pop("sample", None)
    else:
        st.query_params.pop("model", None)
        if st.query_params.get("sample") != choice:
            st.query_params["sample"] = choice


def _sample_model(sample: Sample) -> Workspace:
    st.caption(sample.description)
    picked = sample_model(sample.key)
    return Workspace(source=sample.key, bundle=picked.bundle, model_error=picked.error,
                     sample=sample)


def _uploaded_model() -> Workspace:
    picked = uploaded_model("Keras model", "model_file",
                            "Checked statically, then loaded in Keras' safe mode. Lambda layers "
                            "and custom classes are refused. Accepted models are kept in the "
                            "workspace.", uploaded_bundle)
    if picked is None:
        st.query_params.pop("model", None)
        return Workspace(source=UPLOAD)
    if picked.bundle is not None:
        st.query_params["model"] = picked.sha256
    return Workspace(source=picked.name, bundle=picked.bundle, model_error=picked.error)


def _folder_model(name: str) -> Workspace:
    picked = folder_model(name, uploaded_bundle)
    if picked.note:
        st.caption(picked.note)
    return Workspace(source=picked.name, bundle=picked.bundle, model_error=picked.error)


def _stored_model(sha256: str) -> Workspace:
    picked = stored_model(sha256, uploaded_bundle)
    if picked.note:
        st.caption(picked.note)
    return Workspace(source=picked.name, bundle=picked.bundle, model_error=picked.error)


def _with_data(ws: Workspace) -> Workspace:
    st.subheader("Dataset")
    saved = _saved_data_choice(ws)
    label = "Upload a dataset" + (" (replaces the sample's)" if ws.sample is not None else "")
    upload = st.file_uploader(label, type=DATA_TYPES, key="data_file")
    if upload is not None:
        data, name = upload.getvalue(), upload.name
        digest = upload_digest(data)
    elif saved is not None:
        digest, name = saved
        try:
            data = read_stored(digest)
        except GlassboxError as err:
            return replace(ws, data_error=str(err))
    elif ws.sample is not None:
        data, name, digest = sample_data(ws.sample.key)
    else:
        return ws
    own = upload is None and saved is None  # the sample's own file: the app's, not a user's
    tokens, token_error = _token_options(ws.bundle)
    if token_error:
        return replace(ws, data_error=token_error, data_sha256=digest, data_name=name)
    dataset, error = _checked(digest, data, name, ws.bundle, label=None, isolate=not own,
                              tokens=tokens)
    label = _label_choice(dataset, key=f"label_{digest[:16]}")
    if label is not None and dataset is not None and label != dataset.label_name:
        dataset, error = _checked(digest, data, name, ws.bundle, label=label, isolate=not own,
                                  tokens=tokens)
    # Only a dataset that passed every check is kept, and then linkable (README: refused
    # files are never stored; a dataset whose checks failed comes back with no error but
    # with ``x`` None).
    kept = upload is not None and error is None and \
        keep_dataset(name, data, dataset, ws.bundle) is not None
    _data_in_url(digest if kept or (upload is None and saved is not None) else None)
    return replace(ws, dataset=dataset, data_error=error, data_sha256=digest, data_name=name)


def _saved_data_choice(ws: Workspace) -> tuple[str, str] | None:
    """A stored dataset picked (its SHA-256 and name), or None for the default.

    Offered only once the workspace holds datasets that fit this model (kept after passing
    their checks against it, or against a model with the same input); the URL's ``?data=``
    preselects one.
    """
    datasets = {a.sha256: a for a in fitting_datasets(ws.bundle)}
    if not datasets:
        return None
    keys = [SAMPLE_DATA, *datasets]
    default = "The sample's own data" if ws.sample is not None else "None: upload below"
    titles = {SAMPLE_DATA: default} | {k: f"Saved: {artifact_label(a)}"
                                       for k, a in datasets.items()}
    wanted = st.query_params.get("data")
    choice = st.selectbox("Data", keys, index=keys.index(wanted) if wanted in keys else 0,
                          format_func=titles.__getitem__, key="data_choice")
    return None if choice == SAMPLE_DATA else (choice, datasets[choice].name)


def _data_in_url(sha256: str | None) -> None:
    if st.query_params.get("data") != sha256:  # other data: the settings were for that
        for param in VIEW_PARAMS:
            st.query_params.pop(param, None)
    if sha256 is None:
        st.query_params.pop("data", None)
    elif st.query_params.get("data") != sha256:
        st.query_params["data"] = sha256


def _checked(digest: str, data: bytes, name: str, bundle: ModelBundle, label: str | None,
             isolate: bool, tokens: dict[str, Any] | None = None
             ) -> tuple[Dataset | None, str | None]:
    return dataset_for(digest, name, bundle.loaded.sha256, bundle.feature_names, label, data,
                       bundle, isolate, **(tokens or {}))


def _token_options(bundle: ModelBundle) -> tuple[dict[str, Any] | None, str | None]:
    """For a model over token ids: its vocabulary (optional upload) and the id LIME and SHAP
    mask tokens to, as `dataset_for`'s keywords; (None, None) for any other model."""
    spec = bundle.input_spec.tokens
    if spec is None:
        return None, None
    upload = st.file_uploader("Vocabulary (one token per line, or .json)", type=["txt", "json"],
                              key="vocab_file",
                              help="This model reads token ids: a vocabulary shows them as "
                                   "words and lets a text column be read.")
    mask_id = st.number_input("Mask id for LIME and SHAP", min_value=0,
                              max_value=spec.vocab_size - 1, value=0, step=1, key="mask_id",
                              help="A masked token becomes this id (0: the padding id; pick "
                                   "your vocabulary's [MASK] or [UNK] id to mask with it).")
    options: dict[str, Any] = {"mask_id": int(mask_id)}
    if upload is None:
        return options, None
    data = upload.getvalue()
    digest = upload_digest(data)
    vocab, error = vocabulary_for(digest, upload.name, data)
    if error:
        return None, error
    return options | {"vocab_sha256": digest, "_vocab": vocab}, None


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
