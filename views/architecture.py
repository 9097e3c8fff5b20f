"""Architecture: the layer graph. Click a layer (or pick it) to see its details."""

import streamlit as st

from components.inspect.overview import layer_table, shape_text
from components.plots.model_views import clicked_node
from components.review.csv_export import to_csv
from components.text_safety import escape_markdown
from components.ui.loaders import architecture_for, layer_details_for
from components.ui.state import require_model
from components.ui.widgets import details_line, facts_row

workspace = require_model()
bundle = workspace.bundle
runner, sha = bundle.runner, bundle.loaded.sha256
graph_key = f"graph_{sha[:16]}"

st.title("Architecture")
st.caption(f"{escape_markdown(workspace.heading)} · {len(bundle.summary.layers)} layers · "
           f"{bundle.summary.total_params:,} parameters. Drag to pan, scroll to zoom, click a "
           "layer for its details.")
base = architecture_for(sha, (), "", "type", None, runner)
left, middle, right = st.columns([3, 3, 2])
query = left.text_input("Find a layer", placeholder="name or type, e.g. conv")
expanded = middle.multiselect(
    "Expanded submodels", base.graph.submodels, key=f"expand_{sha[:16]}",
    default=list(base.graph.submodels) if len(base.graph.nodes) <= 150 else [])
color_by = right.radio("Colour by", ["type", "params"], horizontal=True)

clicked = clicked_node(st.session_state.get(graph_key))
view = architecture_for(sha, tuple(expanded), query, color_by, clicked, runner)
if query:
    st.caption(f"{len(view.matches)} layers match: "
               + escape_markdown(", ".join(view.matches[:20]))
               + (" …" if len(view.matches) > 20 else ""))
fmt = st.session_state.get("graph_export", "svg")
st.plotly_chart(view.figure, on_select="rerun", selection_mode="points", key=graph_key,
                width="stretch", config={"displaylogo": False, "toImageButtonOptions": {
                    "format": fmt, "filename": f"{bundle.summary.name}-graph", "scale": 2}})

ids = list(view.graph.nodes)
default = clicked or (view.matches[0] if view.matches else None)
chosen = st.selectbox("Layer details", ids, index=ids.index(default) if default in ids else 0)
node = view.graph.nodes[chosen]
st.subheader(escape_markdown(f"{chosen} · {node.class_name}"))
if node.is_group:
    st.info("A nested model: expand it above to see its layers.")
details = layer_details_for(sha, chosen, runner)
if details is None:
    st.info("An input placeholder: it holds no weights and no configuration.")
if details is not None:
    details_line({"Input shape": shape_text(details.input_shape),
                  "Output shape": shape_text(details.output_shape)})
    facts_row({"Parameters": f"{details.params:,}",
               "Trainable": f"{details.trainable_params:,}",
               "Non-trainable": f"{details.non_trainable_params:,}"})
    st.json(details.config, expanded=2)
    if details.weights:
        st.dataframe([{"weight": p, "shape": str(s), "trainable": t}
                      for p, s, t in details.weights], hide_index=True)
        st.page_link("views/weights.py", label="See this layer's weights →",
                     query_params={"layer": chosen})

st.divider()
table = layer_table(bundle.summary)
left, right = st.columns(2)
left.download_button("Download the layer table (CSV)", to_csv(table),
                     file_name=f"{bundle.summary.name}-layers.csv", mime="text/csv")
right.radio("Graph export format (camera icon on the chart)", ["svg", "png"],
            key="graph_export", horizontal=True)
