"""The one session-state slot pages read: the sidebar's current `Workspace`."""

from __future__ import annotations

import streamlit as st

from components.ui.widgets import refusal
from components.workspace import Workspace

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
