"""Explain: pick a sample, then LIME, SHAP and the gradient methods side by side."""

import streamlit as st

from components.explain.local import Explanation, subject_for
from components.ui import explain_widgets as ui
from components.ui.loaders import facts_for
from components.ui.selection import scope_of, selected_row
from components.ui.state import require_dataset, require_model, require_predictions
from components.ui.stored import remember_settings
from components.ui.widgets import refusal

workspace = require_model()
bundle, sample = workspace.bundle, workspace.sample
runner, sha, data_sha = bundle.runner, bundle.loaded.sha256, workspace.data_sha256

st.title("Explain a prediction")
dataset = require_dataset(workspace, "pick samples to explain")
class_names = sample.class_names if sample is not None else None
pred = require_predictions(workspace)
scope = scope_of(sha, data_sha)
row = selected_row(scope, dataset.n_rows)

st.subheader("Pick a sample")
left, right = st.columns([3, 2])
with left:
    ui.table_picker(pred, dataset, sha, data_sha, workspace.task, scope)
with right:
    ui.map_picker(pred, dataset, runner, sha, data_sha, scope, row)

# The subject carries the row and its background; the model stays with its runner.
subject = subject_for(dataset, row, workspace.task)
facts, error = facts_for(sha, data_sha, row, workspace.task, runner, subject)
if error:
    refusal("Explanation", error)
    st.stop()
ui.sample_header(subject, pred, row)

st.subheader("Explanations")
settings = ui.settings_ui(subject, facts, pred.class_names or class_names, scope)
if not settings.methods:
    st.info("Choose at least one method.")
    st.stop()
remember_settings(scope, row, {"methods": settings.methods, "target": settings.target,
                               "seed": settings.seed, "params": settings.params})
attributions = ui.stream_ui(subject, settings, sha, data_sha, row, runner)
if attributions:
    agreed = ui.agreement_ui(attributions, settings.top_k)
    explanation = Explanation(prediction=facts.prediction, target=settings.target,
                              attributions=attributions, skipped={}, agreement=agreed)
    ui.downloads_ui(sha, row, subject, explanation, facts.features)
