"""Metrics: training curves from a history file; the model scored on the loaded dataset."""

import streamlit as st

from components.data.evaluation import cell_samples
from components.model.load import sha256_hex
from components.plots import metrics as plots
from components.plots.metrics import clicked_cell
from components.text_safety import escape_markdown
from components.ui.loaders import evaluation_for, history_for
from components.ui.state import require_model
from components.ui.widgets import facts_row, refusal

workspace = require_model()
bundle, dataset, sample = workspace.bundle, workspace.dataset, workspace.sample
runner, sha = bundle.runner, bundle.loaded.sha256

st.title("Metrics")
st.subheader("Training curves")
upload = st.file_uploader("Training history: Keras History JSON, CSVLogger CSV, or a zipped "
                          "TensorBoard log folder", type=["json", "csv", "zip"],
                          key=f"history_{sha[:16]}")
if upload is not None:
    data, name = upload.getvalue(), upload.name
elif sample is not None:
    data, name = sample.history_path.read_bytes(), sample.history_path.name
else:
    data, name = None, None
if data is None:
    st.info("Upload the training history to see loss and metric curves.")
else:
    history, error = history_for(sha256_hex(data), name, data, isolate=upload is not None)
    if error:
        refusal("History", error)
    else:
        st.plotly_chart(plots.training_curves(history), width="stretch")
        st.caption(f"{len(history.frame)} epochs from {escape_markdown(history.source)}")

st.subheader("Evaluation on the dataset")
if workspace.data_error:
    refusal("Dataset", workspace.data_error)
    st.stop()
if dataset is None or workspace.data_sha256 is None:
    st.info("Load a dataset with labels in the sidebar to score the model.")
    st.stop()
class_names = sample.class_names if sample is not None else None
evaluation, error = evaluation_for(sha, workspace.data_sha256, workspace.task,
                                   dataset.label_name, class_names, runner, dataset)
if error:
    refusal("Evaluation", error)
    st.stop()

st.caption(f"{len(evaluation.y_true):,} rows of {escape_markdown(dataset.filename)}, task: "
           f"{workspace.task}")
facts_row({k.replace("_", " "): f"{v:.4g}" for k, v in evaluation.summary.items()})
if evaluation.task == "regression":
    left, right = st.columns(2)
    left.plotly_chart(plots.pred_vs_true_figure(evaluation.y_true, evaluation.y_pred),
                      width="stretch")
    right.plotly_chart(plots.residual_histogram(evaluation.residuals), width="stretch")
    st.stop()

if evaluation.per_class is not None:
    st.dataframe(evaluation.per_class.round(4), width="stretch")
if evaluation.confusion is not None:
    normalise = st.toggle("Normalise the confusion matrix by true class")
    cm_key = f"confusion_{sha[:12]}_{workspace.data_sha256[:12]}"
    event = st.plotly_chart(
        plots.confusion_matrix_figure(evaluation.confusion, evaluation.class_names, normalise),
        on_select="rerun", selection_mode="points", key=cm_key)
    cell = clicked_cell(event.selection.points if event else None)
    if cell is not None:
        true_idx, pred_idx = cell
        names = evaluation.class_names
        st.markdown(f"**Rows with true {escape_markdown(names[true_idx])}, predicted "
                    f"{escape_markdown(names[pred_idx])}**: select one to explain it")
        rows = cell_samples(evaluation, true_idx, pred_idx)
        picked = st.dataframe(rows, hide_index=True, on_select="rerun",
                              selection_mode="single-row", key=f"cell_rows_{cm_key}")
        if picked.selection.rows:
            row = int(rows["row"].iloc[picked.selection.rows[0]])
            st.page_link("views/explain.py", label=f"Explain row {row} →",
                         query_params={"row": str(row)})
    else:
        st.caption("Click a cell to list its rows.")
if evaluation.curves is not None:
    left, middle, right = st.columns(3)
    left.plotly_chart(plots.roc_figure(evaluation.curves.roc), width="stretch")
    middle.plotly_chart(plots.pr_figure(evaluation.curves.pr), width="stretch")
    if evaluation.curves.calibration is not None:
        right.plotly_chart(plots.calibration_figure(evaluation.curves.calibration),
                           width="stretch")
