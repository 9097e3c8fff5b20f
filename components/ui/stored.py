"""The workspace store as the app sees it: one `Store` per server, and what to keep in it.

Only files that passed their checks are kept: a refused model or dataset never reaches the
workspace directory. The store's location comes from the environment
(``GLASSBOX_WORKSPACE``, ``GLASSBOX_DATABASE_URL``; see `components.review.store`).

Every call names the session's `Principal` (set by `components.ui.identity` on each run):
the store shows and keeps only what belongs to their teams.
"""

from __future__ import annotations

import streamlit as st

from components.data.checks import Dataset
from components.data.session import input_signature
from components.model.bundle import ModelBundle
from components.review.keeping import keep_checked_dataset
from components.review.store import Artifact, Store
from components.ui.who import principal

SETTINGS_KEY = "glassbox.explain_settings"  # (scope, row, settings dict): the last explained


@st.cache_resource(show_spinner=False)
def workspace_store() -> Store:
    """The server's one store (its engine and connection pool are shared by sessions)."""
    return Store.from_env()


def keep(kind: str, name: str, data: bytes) -> Artifact:
    """Store an accepted upload in the open team's workspace (the same bytes once)."""
    return workspace_store().put(kind, name, data, principal())


def keep_dataset(name: str, data: bytes, dataset: Dataset | None,
                 bundle: ModelBundle) -> Artifact | None:
    """Store an uploaded dataset only if it passed its checks against ``bundle``'s model."""
    return keep_checked_dataset(workspace_store(), name, data, dataset,
                                model_sha256=bundle.loaded.sha256,
                                signature=input_signature(bundle),
                                principal=principal())


def fitting_datasets(bundle: ModelBundle) -> list[Artifact]:
    """The stored datasets to offer with ``bundle``'s model: those that fit it."""
    return workspace_store().datasets_for(bundle.loaded.sha256, input_signature(bundle),
                                          principal())


def stored(kind: str) -> list[Artifact]:
    """The stored files of this kind that the session's teams hold, newest first."""
    return workspace_store().artifacts(kind, principal())


def stored_artifact(sha256: str, kind: str) -> Artifact | None:
    """One stored file's details; None if missing or another team's."""
    return workspace_store().artifact(sha256, kind, principal())


def read_stored(sha256: str) -> bytes:
    """A stored file's bytes (another team's file reads as missing)."""
    return workspace_store().read(sha256, principal())


def artifact_label(artifact: Artifact) -> str:
    """``name · 1a2b3c4d · 2026-11-23`` for pickers (shown as plain text by Streamlit)."""
    return f"{artifact.name} · {artifact.sha256[:8]} · {artifact.created_at[:10]}"


def remember_settings(scope: str, row: int, settings: dict) -> None:
    """The explain page's last methods, target, seed and parameters, for the audit trail."""
    st.session_state[SETTINGS_KEY] = (scope, int(row), settings)


def settings_for(scope: str, row: int) -> dict | None:
    """The settings last used to explain ``row`` in ``scope``, if it was explained."""
    held = st.session_state.get(SETTINGS_KEY)
    if held is not None and held[0] == scope and held[1] == row:
        return held[2]
    return None
