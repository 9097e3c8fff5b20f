"""Compare: a second model on the same data, its metrics, disagreements and explanations."""

import streamlit as st

from components.data.session import model_title
from components.explain import compare
from components.model.samples import sample_for_digest
from components.text_safety import escape_markdown
from components.ui import compare_widgets as ui
from components.ui.selection import scope_of, selected_row
from components.ui.state import require_dataset, require_model
from components.ui.widgets import refusal

workspace = require_model()
bundle, sample = workspace.bundle, workspace.sample
data_sha = workspace.data_sha256

st.title("Compare two models")
dataset = require_dataset(workspace, "compare two models on it")
st.caption(f"Model A (sidebar): {escape_markdown(workspace.heading)} · dataset "
           f"{escape_markdown(dataset.filename)}, {dataset.n_rows:,} rows")

second = ui.second_model_ui()
if second is None:
    st.info("Pick the second model (B): a sample, a saved model or an upload.")
    st.stop()
if second.error:
    refusal("Second model", second.error)
    st.stop()
mismatch = compare.input_mismatch(second.bundle.input_spec, len(second.bundle.summary.inputs),
                                  dataset)
if mismatch:
    st.error(f"Model B cannot be compared on this dataset: {escape_markdown(mismatch)}.")
    st.stop()
class_names = sample.class_names if sample is not None else None
pair = ui.Pair(a=bundle, b=second.bundle, dataset=dataset, data_sha=data_sha,
               task=workspace.task, class_names_a=class_names,
               class_names_b=ui.class_names_for(second.bundle, bundle, class_names))
# Each model by its readable title (a sample's, else its own name or file's made readable)
names = (workspace.heading, model_title(sample_for_digest(second.bundle.loaded.sha256),
                                        second.name, second.bundle.summary.name))
st.caption(f"Model B: {escape_markdown(names[1])} ({escape_markdown(second.name)}, SHA-256 "
           f"{second.bundle.loaded.sha256[:16]}…)")
predicted = ui.predictions_ui(pair)
if predicted is None:
    st.stop()
pred_a, pred_b = predicted

st.subheader("Metrics side by side")
ui.metrics_ui(pair, pred_a, pred_b)

st.subheader("Where they disagree")
row_scope = scope_of(bundle.loaded.sha256, data_sha)
table = ui.disagreement_ui(pair, pred_a, pred_b, row_scope)

row = selected_row(row_scope, dataset.n_rows)
st.subheader("One sample, both models' explanations")
facts = ui.sample_facts_ui(pair, row)
if facts is None:
    st.stop()
subject, facts_a, facts_b = facts
ui.sample_line(row, table)
offered, notes = ui.common_methods(facts_a, facts_b)
for note in notes:
    st.caption(escape_markdown(note))
if not offered:
    st.info("No explanation method applies to both models.")
    st.stop()
settings = ui.sample_settings_ui(pair, subject, facts_a, facts_b, offered, row)
if settings.methods:
    done = ui.attributions_ui(pair, subject, settings, row)
    if done:
        scores = ui.similarity_table_ui(done)
        ui.panels_ui(subject, done, scores, settings, names)
else:
    st.info("Choose at least one method.")

st.subheader("Across the dataset: how alike are the explanations?")
n_rows, sample_seed, methods = ui.summary_settings_ui(pair, offered)
if not methods:
    st.info("Choose at least one method to summarise.")
    st.stop()
rows = compare.sample_rows(dataset.n_rows, n_rows, sample_seed)
n_outputs = min(len(facts_a.prediction), len(facts_b.prediction))
ui.summary_ui(pair, pred_a, n_outputs, rows, methods, row_scope)
st.caption("Each row is explained by both models for model A's predicted class (seed 0); "
           "cosine compares the attributions' directions, Spearman the order of importance. "
           "Images are compared over about 8 × 8 regions.")
