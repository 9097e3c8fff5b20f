"""Global: explanations over a sample of the dataset's rows.

Tables: mean |SHAP| beside permutation importance, the SHAP beeswarm, dependence plots,
partial dependence and ICE curves. Images: class-average attribution maps. Texts: the
tokens with the largest mean attribution per class.
"""

import streamlit as st

from components.ui import batch_widgets as batch_ui
from components.ui import global_widgets as ui
from components.ui.selection import scope_of
from components.ui.state import require_dataset, require_model, require_predictions

workspace = require_model()
bundle, sample = workspace.bundle, workspace.sample
runner, sha, data_sha = bundle.runner, bundle.loaded.sha256, workspace.data_sha256

st.title("Global explanations")
dataset = require_dataset(workspace, "explain the model over it")
pred = require_predictions(workspace)
scope = scope_of(sha, data_sha)
n_outputs = int(pred.scores.shape[1])
settings = ui.settings_ui(dataset, pred, n_outputs, scope)

if dataset.kind == "image":
    st.subheader("Class-average attribution maps")
    ui.image_ui(settings, dataset, pred, sha, data_sha, runner, scope)
    st.stop()
if dataset.kind == "text":
    st.subheader("Top tokens per class")
    ui.text_ui(settings, dataset, pred, sha, data_sha, runner, scope)
    st.stop()

result = ui.tabular_ui(settings, dataset, pred, sha, data_sha, runner)
if result is None:
    st.stop()
names = list(dataset.feature_names or [f"feature {i}" for i in range(result.x.shape[1])])
what = ui.output_label(pred, n_outputs, settings.target)
st.caption(ui.shap_caption(result, settings, what, dataset.n_rows))
st.subheader("Feature importance")
ui.importance_ui(result, names, pred.task)
if (finished := batch_ui.latest_done(workspace)) is not None:
    st.subheader("Feature importance over every row (batch job)")
    batch_ui.batch_importance_ui(finished, names)
st.subheader("SHAP summary")
ui.beeswarm_ui(result, names)
st.subheader("Dependence")
ui.dependence_ui(result, names, scope)
st.subheader("Partial dependence and ICE")
ui.pdp_ui(result, names, settings, what, sha, data_sha, runner, scope)
