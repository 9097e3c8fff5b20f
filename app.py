"""Glassbox: open up a Keras model in the browser. Router only: config, pages, sidebar.

The page files live in views/, not pages/: a folder named pages/ beside the entry script
switches Streamlit into its legacy multipage mode, in which a first request to a deep link
(/architecture) runs that page alone, without this router and its sidebar.
"""

import streamlit as st

from components.errors import GlassboxError
from components.ui.review_widgets import sidebar_review_ui
from components.ui.sidebar import sidebar_ui
from components.ui.state import publish
from components.ui.widgets import refusal

st.set_page_config(page_title="Glassbox", page_icon="🔍", layout="wide")

# Sections follow the data's path: the model and its data, then explanations, then review.
PAGES = {
    "Model": [
        st.Page("views/overview.py", title="Model & data", icon="📋", default=True),
        st.Page("views/architecture.py", title="Architecture", icon="🕸️"),
        st.Page("views/weights.py", title="Weights", icon="🎚️"),
        st.Page("views/metrics.py", title="Metrics", icon="📈"),
    ],
    "Explain": [
        st.Page("views/explain.py", title="Explain", icon="💡"),
        st.Page("views/global_view.py", title="Global", icon="🌐"),
        st.Page("views/what_if.py", title="What-if", icon="🎛️"),
        st.Page("views/compare.py", title="Compare", icon="⚖️"),
        st.Page("views/quality.py", title="Quality", icon="🧪"),
    ],
    "Review": [
        st.Page("views/review.py", title="Review", icon="📝"),
    ],
}

navigation = st.navigation(PAGES)
st.sidebar.title("🔍 Glassbox")
workspace = sidebar_ui()
publish(workspace)
try:
    navigation.run()
except GlassboxError as err:  # e.g. an uploaded model's worker ran out of time or memory
    refusal("Model", str(err))
# After the page: the pin button then names the row the page has just selected.
sidebar_review_ui(workspace)
