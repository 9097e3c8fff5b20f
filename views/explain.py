"""Explain: pick a sample, then LIME, SHAP and the gradient methods side by side.

A pick (a table row, a map point, the row box) reruns only the fragments that show the row:
the panels first, then the table's tick, the map's ring and the sidebar's pin
(`components.ui.selection.rerun_views`). The page itself, its table and map, are not rebuilt.
"""

import streamlit as st

from components.explain.local import Explanation, subject_for
from components.ui import explain_widgets as ui
from components.ui.loaders import facts_for
from components.ui.selection import MAP_VIEW, PANELS_VIEW, TABLE_VIEW, scope_of, selected_row
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
selected_row(scope, dataset.n_rows)  # a link's ?row= is followed here, on a full run


@st.fragment(key=TABLE_VIEW)
def sample_table() -> None:
    ui.table_picker(pred, dataset, sha, data_sha, workspace.task, scope)


@st.fragment(key=MAP_VIEW)
def sample_map() -> None:
    ui.map_picker(pred, dataset, runner, sha, data_sha, scope)


@st.fragment(key=PANELS_VIEW)
def explanations() -> None:
    row = ui.row_picker(scope, dataset.n_rows)
    # The subject carries the row and its background; the model stays with its runner.
    subject = subject_for(dataset, row, workspace.task)
    facts, error = facts_for(sha, data_sha, row, workspace.task, runner, subject)
    if error:
        refusal("Explanation", error)
        return  # not st.stop(): the sidebar's pin, drawn after the page, must still draw
    ui.sample_header(subject, pred, row)
    settings = ui.settings_ui(subject, facts, pred.class_names or class_names, scope)
    if not settings.methods:
        st.info("Choose at least one method.")
        return
    remember_settings(scope, row, {"methods": settings.methods, "target": settings.target,
                                   "seed": settings.seed, "params": settings.params})
    attributions = ui.stream_ui(subject, settings, sha, data_sha, row, runner)
    if attributions:
        run = ui.run_key(settings, sha, data_sha, row)
        agreed = ui.agreement_ui(attributions, settings.top_k, run)
        explanation = Explanation(prediction=facts.prediction, target=settings.target,
                                  attributions=attributions, skipped={}, agreement=agreed)
        ui.downloads_ui(sha, row, subject, explanation, facts.features)


st.subheader("Pick a sample")
left, right = st.columns([3, 2])
with left:
    sample_table()
with right:
    sample_map()
ui.explanations_header()  # with the Stop button: outside the fragment, so a click stops a run
explanations()
