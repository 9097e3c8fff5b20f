"""The one session-state slot pages read: the sidebar's current `Workspace`."""

from __future__ import annotations

import streamlit as st

from components.workspace import Workspace

_KEY = "glassbox.workspace"


def publish(workspace: Workspace) -> None:
    st.session_state[_KEY] = workspace


def current_workspace() -> Workspace | None:
    return st.session_state.get(_KEY)
