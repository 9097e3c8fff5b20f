"""The session's principal (who is using the app), as every widget reads it.

`components.ui.identity` works it out on each run (sign-in, teams) and puts it here; the
widgets and `components.ui.stored` only read it. Kept apart so that reading it imports
neither the sign-in code nor the store.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from components.review.access import Principal

PRINCIPAL_KEY = "glassbox.principal"  # who this session is, set by the router on every run


def auth_section() -> Mapping | None:
    """The ``[auth]`` section of the secrets, or None when sign-in is not configured."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets file at all (StreamlitSecretNotFoundError)
        return None
    return section if isinstance(section, Mapping) and section else None


def principal() -> Principal:
    """Who this session is. The router sets it on every run before any page; a run that has
    none (a page tested alone) is the local single-user mode, unless sign-in is configured,
    in which case nothing is shown."""
    held = st.session_state.get(PRINCIPAL_KEY)
    if held is None and auth_section() is not None:
        st.stop()
    return held or Principal.local()
