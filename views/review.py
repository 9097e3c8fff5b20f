"""Review: pinned samples with verdicts and notes, the audit trail, the report."""

import streamlit as st

from components.text_safety import escape_markdown
from components.ui import review_widgets as ui
from components.ui.state import require_model
from components.ui.stored import workspace_store
from components.ui.widgets import refusal

workspace = require_model()
st.title("Compliance review")
if workspace.data_error:
    refusal("Dataset", workspace.data_error)
    st.stop()
review = ui.current_review(workspace)
if review is None:
    st.info("Load a dataset that passes its checks (sidebar) to review this model on it.")
    st.stop()
st.caption(f"Review #{review.id} of {escape_markdown(workspace.bundle.loaded.filename)} "
           f"(SHA-256 {review.model_sha256[:16]}…) on data {review.data_sha256[:16]}… · "
           f"workspace {escape_markdown(workspace_store().url)}")

st.subheader("Pinned samples")
pins = ui.pins_ui(workspace, review)

st.subheader("Report")
ui.report_ui(workspace, review, pins)

st.subheader("Audit trail")
ui.trail_ui(review)
