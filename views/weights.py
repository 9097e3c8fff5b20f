"""Weights: one layer's tensors as heatmaps, filters, projections and histograms; a table of
statistics over every layer."""

import streamlit as st

from components.review.csv_export import to_csv
from components.text_safety import escape_markdown
from components.ui.loaders import weight_table_for, weighted_layers_for, weights_for
from components.ui.state import require_model

workspace = require_model()
bundle = workspace.bundle
runner, sha = bundle.runner, bundle.loaded.sha256
# The columns' names: the sample's, else the loaded dataset's (an upload's table header)
dataset = workspace.dataset
names = bundle.feature_names or (tuple(dataset.feature_names) if dataset is not None
                                 and dataset.x is not None and dataset.feature_names else None)

st.title("Weights")
layers = weighted_layers_for(sha, runner)
if not layers:
    st.info("This model has no weights.")
    st.stop()
wanted = st.query_params.get("layer")
layer = st.selectbox("Layer", layers, index=layers.index(wanted) if wanted in layers else 0)
channel = "mean"
view = weights_for(sha, layer, names, channel, runner)
if view.in_channels and view.in_channels > 1:
    picked = st.select_slider("Input channel", ["mean", *range(view.in_channels)], value="mean")
    if picked != "mean":
        view = weights_for(sha, layer, names, int(picked), runner)

st.subheader(escape_markdown(f"{layer} · {view.class_name}"))
st.dataframe(view.stats, hide_index=True)
for figure in view.figures:
    st.plotly_chart(figure, width="stretch", config={"displaylogo": False})

st.subheader("All layers")
st.caption("near_zero_share: weights below 0.1 % of their tensor's largest magnitude. "
           "dead_inputs: inputs (kernel rows, conv input channels) whose weights are all zero.")
table = weight_table_for(sha, runner)
st.dataframe(table, hide_index=True, width="stretch")
st.download_button("Download the statistics (CSV)", to_csv(table),
                   file_name=f"{bundle.summary.name}-weights.csv", mime="text/csv")
