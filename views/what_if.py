"""What if? Edit one sample's features (or text, or image) and watch the prediction and the
explanations move."""

from dataclasses import replace

import streamlit as st

from components.errors import DataError
from components.explain.local import subject_for
from components.explain.what_if import compare_predictions, input_digest
from components.plots.explain import feature_order
from components.text_safety import escape_markdown
from components.ui import explain_widgets as explain_ui
from components.ui import what_if_widgets as ui
from components.ui.selection import scope_of, selected_row
from components.ui.state import require_dataset, require_model, require_predictions
from components.ui.stored import settings_for
from components.ui.widgets import refusal

workspace = require_model()
bundle, sample = workspace.bundle, workspace.sample
runner, sha, data_sha, task = bundle.runner, bundle.loaded.sha256, workspace.data_sha256, \
    workspace.task

st.title("What if?")
st.caption("Change the sample's feature values, its text or its image, and see the prediction "
           "and every explanation follow.")
dataset = require_dataset(workspace, "pick a sample to edit")
pred = require_predictions(workspace)
class_names = pred.class_names or None
scope = scope_of(sha, data_sha)
top = st.columns([1, 3, 2], vertical_alignment="bottom")
with top[0]:
    row = ui.row_ui(scope, selected_row(scope, dataset.n_rows), dataset.n_rows)
top[1].page_link("views/explain.py", label="Pick a sample on the Explain page",
                 icon=":material/lightbulb:")
prefix = ui.edit_prefix(scope, row)
with top[2]:
    ui.reset_button(prefix)

subject = subject_for(dataset, row, task)
keys = ui.Keys(sha, data_sha, row, runner)
facts, error = ui.original_facts(subject, keys)
if error:
    refusal("Prediction", error)
    st.stop()
used = settings_for(scope, row) or {}  # the Explain page's settings for this row, if any
params, seed = used.get("params", {}), int(used.get("seed", 0))
offered = [name for name, reason in facts.status.items() if reason is None]

# ---- edit the sample
importance = None
if dataset.kind == "tabular":  # the sample's most important features get the first sliders
    ranked = ui.original_attributions(subject, ui.chosen_methods(scope, offered),
                                      facts.default_target, seed, params, keys)
    importance = feature_order(ranked, subject.sample.size) if ranked else None
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Edit the sample")
    try:
        edit = ui.edit_ui(subject, data_sha, dataset.x, prefix, importance)
    except (DataError, ValueError) as err:
        st.warning(escape_markdown(str(err)), icon=":material/edit:")
        st.stop()

digest = input_digest(edit.x)
if digest == input_digest(subject.x):  # the sample itself: the Explain page's results
    edited, digest, edited_facts = subject, None, facts
else:
    edited = replace(subject, x=edit.x)
    edited_facts, error = ui.edited_facts_for(sha, data_sha, row, digest, task, runner, edited)
    if error:
        refusal("Edited input", error)
        st.stop()
comparison = compare_predictions(facts.prediction, edited_facts.prediction, task, class_names)
with right:
    st.subheader("Prediction")
    ui.prediction_ui(comparison, edit.changed)

# ---- explain the edited input
st.subheader("Explanations of the edited input")
methods, target, seed = ui.settings_ui(offered, len(facts.prediction), task, class_names,
                                       edited_facts.default_target, scope, seed)
top_k = ui.top_k_ui(subject.sample.size) if dataset.kind == "tabular" else 8
if not methods:
    st.info("Choose at least one method.")
    st.stop()
after = ui.compute_ui(edited, digest, methods, target, seed, params, edited_facts.status, keys)
explain_ui.panels_ui(edited, after, ui.panel_settings(methods, target, seed, top_k, params))
if dataset.kind == "tabular" and after and edit.features:
    before = ui.original_attributions(subject, list(after), target, seed, params, keys)
    ui.change_ui(before, after, top_k, subject.feature_names, edit.features)
