"""The first run's loading state: drawn before the app's libraries and the model load.

Imports Streamlit and the standard library only: app.py draws the page frame (navigation,
sidebar title) and this state first, then imports the rest (pandas, scikit-learn,
SQLAlchemy) and loads the model (TensorFlow), seconds on a fresh server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st


@contextmanager
def model_loading(title: str) -> Iterator[None]:
    """The page's ``title`` and a "Loading the model…" status while the body runs, when
    TensorFlow's Keras is not imported yet (a fresh server); nothing otherwise, so a warm
    rerun does not flash it. The state is cleared once the body is done."""
    if "keras" in sys.modules:
        yield
        return
    slot = st.empty()
    with slot.container():
        st.title(title)
        # not `with st.status(...)`: leaving that block would mark it complete
        st.status("Loading the model…", state="running", expanded=True).caption(
            "The first visit after the server starts imports TensorFlow and the explanation "
            "libraries: a few seconds.")
    try:
        yield
    finally:
        slot.empty()
