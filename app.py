"""Glassbox: open up a Keras model in the browser. Router only: config, pages, sidebar."""

import streamlit as st

from components.ui.sidebar import sidebar_ui
from components.ui.state import publish

st.set_page_config(page_title="Glassbox", page_icon="🔍", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Model & data", icon="📋", default=True),
]

navigation = st.navigation(PAGES)
st.sidebar.title("🔍 Glassbox")
publish(sidebar_ui())
navigation.run()
