"""Quality: is an explanation faithful (deletion/insertion), stable (seeds), sane (a model
with random weights)?"""

import streamlit as st

from components.explain.local import subject_for
from components.ui import quality_widgets as ui
from components.ui.explain_widgets import sample_header
from components.ui.loaders import facts_for
from components.ui.selection import scope_of, selected_row
from components.ui.state import require_dataset, require_model, require_predictions
from components.ui.widgets import refusal

workspace = require_model()
bundle, sample = workspace.bundle, workspace.sample
runner, sha, data_sha = bundle.runner, bundle.loaded.sha256, workspace.data_sha256

st.title("Explanation quality")
dataset = require_dataset(workspace, "check explanations on it")
class_names = sample.class_names if sample is not None else None
pred = require_predictions(workspace)
scope = scope_of(sha, data_sha)
row = selected_row(scope, dataset.n_rows)
subject = subject_for(dataset, row, workspace.task)
facts, error = facts_for(sha, data_sha, row, workspace.task, runner, subject)
if error:
    refusal("Explanation", error)
    st.stop()

st.caption("Three checks of the explanations of one sample: are they **faithful** (removing "
           "what they rank first changes the output most), **stable** (the same answer "
           "with another seed) and **sane** (a model with random weights gets a different "
           "explanation)?")
ctx = ui.Context(runner=runner, model_sha=sha, data_sha=data_sha, dataset=dataset,
                 task=workspace.task, subject=subject, facts=facts, pred=pred, row=row,
                 scope=scope, class_names=pred.class_names or class_names)
left, right = st.columns([1, 3])
with left:
    ui.row_ui(ctx)
with right:
    sample_header(subject, pred, row)
settings = ui.settings_ui(ctx)

st.header("Faithfulness: deletion and insertion")
methods = ui.faithfulness_ui(ctx, settings)
ui.average_ui(ctx, settings, methods)

st.header("Stability across seeds")
ui.stability_ui(ctx, settings)

st.header("Sanity check: a model with random weights")
ui.sanity_ui(ctx, settings)
