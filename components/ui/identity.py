"""Who is using the app: sign-in through OpenID Connect, or the one local user.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` (Streamlit's own `st.login` /
`st.user` / `st.logout`; README "Sign-in and teams"), nothing but a sign-in page is shown
until the provider has named the user; their teams and roles come from the teams file, the
provider's ``groups`` claim and the members admins added (`components.review.access`).
Without it the app is for one person: `Principal.local`, admin of the local team, recorded as
``unauthenticated``; a server that others can reach that way is warned about on the console.

Light on purpose (the router imports it before the first paint): the store is imported only
when a signed-in user's roles are looked up.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from components.errors import GlassboxError
from components.review.access import (
    Principal,
    TeamsFile,
    exposure_warning,
    load_teams,
    principal_from_claims,
    teams_path,
)
from components.text_safety import escape_markdown
from components.ui.who import PRINCIPAL_KEY, auth_section

TEAM_KEY = "glassbox.team"  # the sidebar's team picker
_WARNED = threading.Event()  # the console warning, once per server process


def providers(section: Mapping) -> list[str | None]:
    """The providers to offer: None for the unnamed one (``[auth]`` holds its client_id),
    else each ``[auth.NAME]`` section's name."""
    if "client_id" in section or "server_metadata_url" in section:
        return [None]
    return [name for name, value in section.items() if isinstance(value, Mapping)] or [None]


def warn_if_exposed() -> None:
    """Print the console warning for a server bound beyond this machine without sign-in
    (once per process; `components.ui.serve` prints it before the server starts)."""
    if _WARNED.is_set():
        return
    _WARNED.set()
    warning = exposure_warning(st.get_option("server.address"), auth_section() is not None)
    if warning:
        print(warning, file=sys.stderr, flush=True)


def require_principal() -> Principal:
    """The session's principal, published for the widgets; without sign-in configured, the
    local user. With it: the sign-in page (and the page stops) until the user has signed in,
    and a one-line refusal for a user in no team."""
    section = auth_section()
    who = Principal.local() if section is None else _signed_in(section)
    st.session_state[PRINCIPAL_KEY] = who
    return who


def _signed_in(section: Mapping) -> Principal:
    if not st.user.is_logged_in:
        _sign_in_page(section)
        st.stop()
    from components.ui.stored import workspace_store

    try:
        who = principal_from_claims(st.user.to_dict(),
                                    [_teams_file(), workspace_store().stored_teams()])
    except GlassboxError as err:
        _stop_with(str(err))
    if not who.roles:
        _stop_with(f"You are signed in as {who.actor}, but you belong to no team: ask a "
                   "team's admin to add you.")
    chosen = st.session_state.get(TEAM_KEY)
    return who.in_team(chosen) if chosen in who.teams else who


def _sign_in_page(section: Mapping) -> None:
    st.title(":material/search: Glassbox")
    st.write("Sign in with your organisation's account to open your team's workspace.")
    for provider in providers(section):
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        if st.button(label, key=f"sign_in_{provider}", type="primary",
                     icon=":material/login:"):
            st.login(provider)


def _stop_with(message: str) -> None:
    st.title(":material/search: Glassbox")
    st.error(escape_markdown(message), icon=":material/block:")
    if st.button("Sign out", icon=":material/logout:"):
        st.logout()
    st.stop()


def _teams_file() -> TeamsFile:
    from components.ui.stored import workspace_store

    path = teams_path(workspace_store().root)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = 0
    return _read_teams(str(path), stamp)


@functools.lru_cache(maxsize=4)
def _read_teams(path: str, _stamp: int) -> TeamsFile:
    """The teams file, read again whenever it changes (its modification time)."""
    return load_teams(Path(path))


def identity_sidebar(principal: Principal) -> None:
    """Who is signed in, the team whose workspace is open (a picker for several), sign out."""
    with st.sidebar:
        if not principal.authenticated:
            st.caption(":material/person: Single-user mode (no sign-in configured): events "
                       "are recorded as 'unauthenticated'.")
            return
        if len(principal.teams) > 1:
            st.selectbox("Team", principal.teams, key=TEAM_KEY,
                         index=principal.teams.index(principal.team))
        who = principal.email or principal.sub
        st.caption(f":material/person: Signed in as {escape_markdown(who)} · "
                   f"{principal.role_in(principal.team)} in "
                   f"{escape_markdown(principal.team)}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.logout()
