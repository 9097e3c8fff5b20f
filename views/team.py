"""Team: who you are signed in as, your teams and roles, the open team's members."""

import streamlit as st

from components.text_safety import escape_markdown
from components.ui import team_widgets as ui
from components.ui.who import principal

who = principal()
st.title("Team")
if who.authenticated:
    st.caption(f"Signed in as {escape_markdown(who.actor)} · workspace of the team "
               f"{escape_markdown(who.team)}")
ui.roles_ui(who)
if who.authenticated:
    st.subheader(f"Members of {escape_markdown(who.team)}")
    ui.members_ui(who)
