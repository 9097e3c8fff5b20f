"""The Team page's widgets: who is in the open team, and (for its admins) adding, changing
and removing members. The store checks the admin role again on every change."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.errors import GlassboxError
from components.review.access import ROLES, Principal
from components.text_safety import escape_markdown
from components.ui.stored import workspace_store


def roles_ui(who: Principal) -> None:
    """The signed-in user's teams and roles (or the single-user mode)."""
    if not who.authenticated:
        st.info("Single-user mode: no sign-in is configured, so there are no teams. Configure "
                "an OpenID Connect provider ([auth] in .streamlit/secrets.toml) to share a "
                "server between teams.", icon=":material/person:")
        return
    st.dataframe(pd.DataFrame(who.roles, columns=["team", "role"]), hide_index=True)


def members_ui(who: Principal) -> None:
    """The members admins added to the open team; a form for its admins."""
    store = workspace_store()
    try:
        members = store.members(who.team, who)
    except GlassboxError as err:
        st.error(escape_markdown(str(err)), icon=":material/block:")
        return
    st.caption("Members added here, besides those of the teams file and the provider's "
               "groups claim (those are changed where they are written).")
    if members:
        st.dataframe(pd.DataFrame([(m.member, m.role, m.added_by, m.created_at)
                                   for m in members],
                                  columns=["member", "role", "added by", "at"]),
                     hide_index=True)
    if not who.has(who.team, "admin"):
        st.caption("Managing members needs the admin role.")
        return
    _grant_form(who)
    if members:
        _revoke_form(who, [m.member for m in members])


def _grant_form(who: Principal) -> None:
    with st.form("grant_member"):
        cols = st.columns([3, 1])
        member = cols[0].text_input("E-mail or subject", max_chars=255)
        role = cols[1].selectbox("Role", ROLES)
        if st.form_submit_button("Add or change", icon=":material/person_add:"):
            _apply(lambda: workspace_store().grant_member(who, who.team, member, role))


def _revoke_form(who: Principal, members: list[str]) -> None:
    with st.form("revoke_member"):
        member = st.selectbox("Member", members)
        if st.form_submit_button("Remove", icon=":material/person_remove:"):
            _apply(lambda: workspace_store().revoke_member(who, who.team, member))


def _apply(change) -> None:
    try:
        change()
    except GlassboxError as err:
        st.error(escape_markdown(str(err)), icon=":material/block:")
        return
    st.rerun()
