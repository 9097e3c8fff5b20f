"""The selected sample: one row per (model, dataset), kept in the session and in the URL.

A link with ``?sample=digits_cnn&row=17`` reopens the same sample; the sidebar calls
`keep_in_url` on every page, so the row stays in the address bar while the user browses.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitAPIException

from components.data.predictions import row_from_query

_KEY = "glassbox.selected_row"  # (scope, row); scope names the model and dataset contents

# The fragments that show the selected row (`st.fragment(key=...)`): a pick reruns these,
# never the whole page, so the table and the map are not rebuilt before the panels show.
# The panels come first: the other three only move a tick, a ring and the pin's row.
PANELS_VIEW, TABLE_VIEW, MAP_VIEW, PIN_VIEW = ("explain_panels", "explain_table",
                                               "explain_map", "review_pin")


def scope_of(model_sha256: str, data_sha256: str) -> str:
    return f"{model_sha256[:16]}:{data_sha256[:16]}"


def selected_row(scope: str, n_rows: int) -> int:
    """The row selected for ``scope``, else row 0.

    The URL's row wins when it differs from the session's (a link was followed: another
    page's "Explain row N" or an address typed in); otherwise the session's row holds. A
    different model or dataset starts again at row 0 rather than carrying over a row number
    that means another sample there.
    """
    held = st.session_state.get(_KEY)
    from_url = row_from_query(st.query_params.get("row"), n_rows)
    if held is not None and held[0] != scope:
        row = 0
    elif from_url is not None:
        row = from_url
    elif held is not None and 0 <= held[1] < n_rows:
        row = held[1]
    else:
        row = 0
    if held != (scope, row):
        select_row(scope, row)
    return row


def held_row(scope: str) -> int | None:
    """The row this session selected in ``scope``, or None if it selected none there."""
    held = st.session_state.get(_KEY)
    return held[1] if held is not None and held[0] == scope else None


def select_row(scope: str, row: int) -> None:
    st.session_state[_KEY] = (scope, int(row))
    st.query_params["row"] = str(int(row))


def rerun_views(views: tuple[str, ...]) -> NoReturn:
    """From a pick's callback: rerun only ``views`` (fragment keys), in that order.

    A view that did not draw on the last run (the page stopped before it) cannot be named,
    and a call from outside a callback cannot name any: then the whole page reruns.
    """
    try:
        st.rerun(list(views))
    except StreamlitAPIException:
        st.rerun()


def keep_in_url() -> None:
    """Put the session's row back in the URL when a page switch dropped it.

    A row already in the URL is left alone: it may come from a link the explain page has
    yet to follow.
    """
    held = st.session_state.get(_KEY)
    if held is not None and "row" not in st.query_params:
        st.query_params["row"] = str(held[1])
