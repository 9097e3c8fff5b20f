"""The one session-state slot pages read: the sidebar's current `Workspace`."""

from __future__ import annotations

import streamlit as st

from components.data.checks import Dataset
from components.data.predictions import Predictions
from components.data.session import Workspace
from components.ui.widgets import refusal

_KEY = "glassbox.workspace"


def publish(workspace: Workspace) -> None:
    st.session_state[_KEY] = workspace


def current_workspace() -> Workspace | None:
    return st.session_state.get(_KEY)


def require_model() -> Workspace:
    """The session's workspace with a loaded model; otherwise say why and stop the page."""
    workspace = current_workspace()
    if workspace is None or workspace.bundle is None:
        st.title("Glassbox")
        if workspace is not None and workspace.model_error:
            refusal("Model", workspace.model_error)
        st.info("Pick a sample model in the sidebar, or upload your own .keras / .h5 file.")
        st.stop()
    return workspace


def require_dataset(workspace: Workspace, purpose: str) -> Dataset:
    """The workspace's checked dataset; otherwise say why in one line and stop the page.

    ``purpose`` ends the hint: "Load a dataset that passes its checks (sidebar) to …".
    """
    if workspace.data_error:
        refusal("Dataset", workspace.data_error)
        st.stop()
    dataset = workspace.dataset
    if dataset is None or dataset.x is None or workspace.data_sha256 is None or \
            not dataset.n_rows:
        st.info(f"Load a dataset that passes its checks (sidebar) to {purpose}.")
        st.stop()
    return dataset


def require_predictions(workspace: Workspace) -> Predictions:
    """Every row's prediction (cached on content), or the refusal and a stopped page."""
    from components.ui.loaders import predictions_for  # loaders import the heavier pages' deps

    bundle, dataset, sample = workspace.bundle, workspace.dataset, workspace.sample
    pred, error = predictions_for(bundle.loaded.sha256, workspace.data_sha256, workspace.task,
                                  dataset.label_name,
                                  sample.class_names if sample is not None else None,
                                  bundle.runner, dataset)
    if error:
        refusal("Predictions", error)
        st.stop()
    return pred
