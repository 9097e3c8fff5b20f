"""Model & data: the loaded model's summary and the dataset with its checks."""

import streamlit as st

from components.inspect.overview import build_overview
from components.review.csv_export import to_csv
from components.text_safety import escape_markdown
from components.ui.state import require_model
from components.ui.widgets import checks_list, details_line, facts_row, refusal

workspace = require_model()
bundle = workspace.bundle
view = build_overview(bundle.summary, workspace.task, workspace.dataset)

st.title(escape_markdown(workspace.heading))
st.caption(f"Keras model {escape_markdown(bundle.summary.name)} · file "
           f"{escape_markdown(bundle.loaded.filename)} · SHA-256 {bundle.loaded.sha256}")
details_line(view.details)
facts_row(view.facts)

st.subheader("Layers")
st.dataframe(view.layers, hide_index=True, width="stretch")
st.download_button("Download the layer table (CSV)", to_csv(view.layers),
                   file_name=f"{bundle.summary.name}-layers.csv", mime="text/csv")

st.subheader("Dataset")
if workspace.data_error:
    refusal("Dataset", workspace.data_error)
elif workspace.dataset is None:
    st.info("Upload a dataset in the sidebar to check it against the model.")
else:
    details_line(view.data_details)
    facts_row(view.data_facts)
    checks_list(workspace.dataset.checks)
    if view.thumbnails is not None:
        st.image(list(view.thumbnails), width=72,
                 caption=[escape_markdown(c) for c in view.captions])
    elif view.table is not None:
        st.dataframe(view.table, width="stretch")
