"""The selected sample: one row per (model, dataset), kept in the session and in the URL.

A link with ``?sample=digits_cnn&row=17`` reopens the same sample; the sidebar calls
`keep_in_url` on every page, so the row stays in the address bar while the user browses.
"""

from __future__ import annotations

import streamlit as st

from components.picker import row_from_query

_KEY = "glassbox.selected_row"  # (scope, row); scope names the model and dataset contents


def scope_of(model_sha256: str, data_sha256: str) -> str:
    return f"{model_sha256[:16]}:{data_sha256[:16]}"


def selected_row(scope: str, n_rows: int) -> int:
    """The row selected for ``scope``: the session's, else the URL's on a first visit, else 0.

    A different model or dataset starts again at row 0 rather than carrying a row number
    that means another sample there.
    """
    held = st.session_state.get(_KEY)
    if held is not None and held[0] == scope and 0 <= held[1] < n_rows:
        return held[1]
    from_url = row_from_query(st.query_params.get("row"), n_rows) if held is None else None
    row = from_url if from_url is not None else 0
    select_row(scope, row)
    return row


def select_row(scope: str, row: int) -> None:
    st.session_state[_KEY] = (scope, int(row))
    st.query_params["row"] = str(int(row))


def keep_in_url() -> None:
    """Write the session's selection back to the URL (page switches drop query params)."""
    held = st.session_state.get(_KEY)
    if held is not None and st.query_params.get("row") != str(held[1]):
        st.query_params["row"] = str(held[1])
