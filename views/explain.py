"""Explain: pick a sample, then LIME, SHAP and the gradient methods side by side."""

import streamlit as st

from components.explain_view import (
    Explanation,
    method_status,
    resolve_target,
    sample_features,
    subject_for,
)
from components.ui import explain_widgets as ui
from components.ui.loaders import predictions_for, predictor
from components.ui.selection import scope_of, selected_row
from components.ui.state import require_model
from components.ui.widgets import refusal

workspace = require_model()
bundle, dataset, sample = workspace.bundle, workspace.dataset, workspace.sample
model, sha, data_sha = bundle.loaded.model, bundle.loaded.sha256, workspace.data_sha256

st.title("Explain a prediction")
if dataset is None or dataset.x is None or data_sha is None:
    st.info("Load a dataset that passes its checks (sidebar) to pick samples to explain.")
    st.stop()

class_names = sample.class_names if sample is not None else None
pred, error = predictions_for(sha, data_sha, workspace.task, dataset.label_name, class_names,
                              model, dataset)
if error:
    refusal("Predictions", error)
    st.stop()
scope = scope_of(sha, data_sha)
row = selected_row(scope, dataset.n_rows)

st.subheader("Pick a sample")
left, right = st.columns([3, 2])
with left:
    ui.table_picker(pred, dataset, sha, data_sha, workspace.task, scope)
with right:
    ui.map_picker(pred, dataset, model, sha, data_sha, scope, row)

subject = subject_for(model, dataset, row, predictor(sha, model), workspace.task)
prediction, default_target = resolve_target(subject, None)
ui.sample_header(subject, pred, row)

st.subheader("Explanations")
settings = ui.settings_ui(subject, method_status(subject), prediction, default_target,
                          pred.class_names or class_names, scope)
if not settings.methods:
    st.info("Choose at least one method.")
    st.stop()
attributions = ui.compute_ui(subject, settings, sha, data_sha, row)
ui.panels_ui(subject, attributions, settings)
if attributions:
    agreed = ui.agreement_ui(attributions, settings.top_k)
    explanation = Explanation(prediction=prediction, target=settings.target,
                              attributions=attributions, skipped={}, agreement=agreed)
    ui.downloads_ui(sha, row, subject, explanation, sample_features(subject))
