"""Glassbox: open up a Keras model in the browser. Router only: config, pages, sidebar.

The page files live in views/, not pages/: a folder named pages/ beside the entry script
switches Streamlit into its legacy multipage mode, in which a first request to a deep link
(/architecture) runs that page alone, without this router and its sidebar.
"""

import streamlit as st

from components.ui.identity import identity_sidebar, require_principal, warn_if_exposed
from components.ui.loading import model_loading

st.set_page_config(page_title="Glassbox", page_icon=":material/search:", layout="wide")
warn_if_exposed()  # once per server: bound beyond this machine without sign-in
# Before anything else: with [auth] configured, only the sign-in page until signed in.
principal = require_principal()

# Sections follow the data's path: the model and its data, then explanations, then review.
# Material icons, not emoji: they render in every browser (headless Chromium has no emoji font).
PAGES = {
    "Model": [
        st.Page("views/overview.py", title="Model & data", icon=":material/table_chart:",
                default=True),
        st.Page("views/architecture.py", title="Architecture", icon=":material/account_tree:"),
        st.Page("views/weights.py", title="Weights", icon=":material/grid_on:"),
        st.Page("views/metrics.py", title="Metrics", icon=":material/monitoring:"),
    ],
    "Explain": [
        st.Page("views/explain.py", title="Explain", icon=":material/lightbulb:"),
        st.Page("views/global_view.py", title="Global", icon=":material/public:"),
        st.Page("views/batch.py", title="Batch", icon=":material/dataset:"),
        st.Page("views/what_if.py", title="What-if", icon=":material/tune:"),
        st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("views/quality.py", title="Quality", icon=":material/verified:"),
    ],
    "Review": [
        st.Page("views/review.py", title="Review", icon=":material/rate_review:"),
        st.Page("views/team.py", title="Team", icon=":material/group:"),
    ],
}

navigation = st.navigation(PAGES)
st.sidebar.title(":material/search: Glassbox")
identity_sidebar(principal)
# The frame is on screen; what follows imports the app's libraries (pandas, scikit-learn,
# SQLAlchemy) and loads the model (TensorFlow): seconds on a fresh server, under a
# "Loading the model…" state instead of a blank page.
with model_loading(navigation.title):
    from components.errors import GlassboxError
    from components.ui.review_widgets import sidebar_review_ui
    from components.ui.runtime import keep_runs_light
    from components.ui.sidebar import sidebar_ui
    from components.ui.state import publish
    from components.ui.widgets import refusal

    workspace = sidebar_ui()
keep_runs_light()  # no full garbage collection after each run: see its module
publish(workspace)
try:
    navigation.run()
except GlassboxError as err:  # e.g. an uploaded model's worker ran out of time or memory
    refusal("Model", str(err))
# After the page: the pin button then names the row the page has just selected.
sidebar_review_ui(workspace)
