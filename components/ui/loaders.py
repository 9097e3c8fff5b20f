"""Cached loaders keyed on content digests, never on objects.

Failures are cached too (as their message), so a rerun never re-parses a refused file.
Uploaded models live in a session-scoped cache: another session never receives them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.architecture import ArchitectureView, architecture_view
from components.data_checks import Dataset
from components.errors import GlassboxError
from components.evaluation import Evaluation
from components.history import TrainingHistory, read_history_bytes
from components.metrics_view import evaluate_dataset
from components.model_io import sha256_hex
from components.predict import PredictFn, make_predict_fn
from components.samples import get_sample
from components.weights import weighted_layers
from components.weights_view import WeightsView, all_layers_table, weights_view
from components.workspace import ModelBundle, open_dataset, open_model

Outcome = tuple[ModelBundle | None, str | None]


def _attempt(fn, *args) -> tuple[object | None, str | None]:
    try:
        return fn(*args), None
    except GlassboxError as err:
        return None, str(err)


@st.cache_resource(max_entries=8, show_spinner="Loading the sample model…")
def sample_bundle(key: str) -> Outcome:
    """A bundled sample, shared by all sessions (the files are the app's own)."""
    sample = get_sample(key)
    return _attempt(open_model, sample.model_path.read_bytes(), sample.model_path.name,
                    sample.feature_names)


@st.cache_resource(max_entries=2, scope="session",
                   show_spinner="Checking the file, then loading it in safe mode…")
def uploaded_bundle(sha256: str, filename: str, _data: bytes) -> Outcome:
    """An uploaded model, keyed by the SHA-256 of its bytes, private to this session."""
    return _attempt(open_model, _data, filename)


@st.cache_data(max_entries=16, show_spinner="Reading and checking the dataset…")
def dataset_for(data_sha256: str, filename: str, model_sha256: str,
                feature_names: tuple[str, ...] | None, label: str | None,
                _data: bytes, _bundle: ModelBundle) -> tuple[Dataset | None, str | None]:
    """The dataset checked against the model; keyed on both digests and the label choice."""
    return _attempt(open_dataset, _data, filename, _bundle, label)


@st.cache_data(max_entries=32, show_spinner=False)
def upload_digest(file_id: str, _data: bytes) -> str:
    """SHA-256 of an upload, hashed once: ``file_id`` is unique to each upload in Streamlit."""
    return sha256_hex(_data)


@st.cache_data(max_entries=8, show_spinner=False)
def sample_data(key: str) -> tuple[bytes, str, str]:
    """A sample's dataset: (bytes, file name, SHA-256), read from disk once."""
    path = get_sample(key).data_path
    data = path.read_bytes()
    return data, path.name, sha256_hex(data)


@st.cache_data(max_entries=32, show_spinner="Drawing the layer graph…")
def architecture_for(model_sha256: str, expanded: tuple[str, ...], query: str, color_by: str,
                     selected: str | None, _model) -> ArchitectureView:
    """The architecture view for one model and one set of display choices."""
    return architecture_view(_model, expanded=expanded, query=query, color_by=color_by,
                             selected=selected)


@st.cache_data(max_entries=64, show_spinner="Reading the weights…")
def weights_for(model_sha256: str, node_id: str, feature_names: tuple[str, ...] | None,
                channel: str | int, _model) -> WeightsView:
    return weights_view(_model, node_id, feature_names=feature_names, channel=channel)


@st.cache_data(max_entries=16, show_spinner="Summarising every layer's weights…")
def weight_table_for(model_sha256: str, _model) -> pd.DataFrame:
    return all_layers_table(_model)


@st.cache_data(max_entries=16, show_spinner=False)
def weighted_layers_for(model_sha256: str, _model) -> list[str]:
    return weighted_layers(_model)


@st.cache_data(max_entries=16, show_spinner="Scoring the model on every row of the dataset…")
def evaluation_for(model_sha256: str, data_sha256: str, task: str, label: str | None,
                   class_names: tuple[str, ...] | None, _model, _dataset
                   ) -> tuple[Evaluation | None, str | None]:
    """Run once per (model, data, task, label) content: reruns and page switches reuse it."""
    return _attempt(evaluate_dataset, predictor(model_sha256, _model), _dataset, task,
                    class_names)


@st.cache_resource(max_entries=8, show_spinner=False)
def predictor(model_sha256: str, _model) -> PredictFn:
    """The model's one compiled, batched predict function, traced once per model."""
    return make_predict_fn(_model)


@st.cache_data(max_entries=16, show_spinner=False)
def history_for(digest: str, filename: str, _data: bytes
                ) -> tuple[TrainingHistory | None, str | None]:
    return _attempt(read_history_bytes, _data, filename)
