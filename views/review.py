"""Review: pinned samples with verdicts and notes, the audit trail, the report."""

import streamlit as st

from components.text_safety import escape_markdown
from components.ui import review_widgets as ui
from components.ui.state import require_dataset, require_model
from components.ui.stored import workspace_store

workspace = require_model()
st.title("Compliance review")
require_dataset(workspace, "review this model on it")
review = ui.current_review(workspace)
st.caption(f"Review #{review.id} of {escape_markdown(workspace.heading)} "
           f"(SHA-256 {review.model_sha256[:16]}…) on data {review.data_sha256[:16]}… · "
           f"workspace {escape_markdown(workspace_store().url)}")

st.subheader("Pinned samples")
pins = ui.pins_ui(workspace, review)

st.subheader("Report")
ui.report_ui(workspace, review, pins)

st.subheader("Audit trail")
ui.trail_ui(review)
