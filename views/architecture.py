"""Architecture: the layer graph laid out by Graphviz. Click a box for the layer's details."""

import streamlit as st

from components.inspect.blocks import collapse_blocks, find_drawn, is_block, repeated_blocks
from components.inspect.overview import layer_table, shape_text
from components.plots.model import COLOR_BY
from components.plots.model_views import architecture_view, clicked_node
from components.review.csv_export import to_csv
from components.text_safety import escape_markdown
from components.ui.loaders import graph_for, graph_image_for, layer_details_for, layout_for
from components.ui.state import require_model
from components.ui.widgets import details_line, facts_row

ZOOMS = {"Fit whole graph": None, "50%": 0.5, "75%": 0.75, "100%": 1.0, "150%": 1.5}
MAX_LISTED = 200  # search matches offered in the "go to" picker

workspace = require_model()
bundle = workspace.bundle
runner, sha = bundle.runner, bundle.loaded.sha256
tag = sha[:16]
graph_key, blocks_key, click_key = f"graph_{tag}", f"blocks_{tag}", f"click_{tag}"

st.title("Architecture")
st.caption(f"{escape_markdown(workspace.heading)} · {len(bundle.summary.layers)} layers · "
           f"{bundle.summary.total_params:,} parameters. Drag to pan; Zoom redraws the "
           "labels at each size; click a box for the layer's details.")
base = graph_for(sha, (), runner)
left, middle, right = st.columns([4, 4, 3], vertical_alignment="bottom")
query = left.text_input("Go to layer", placeholder="name or type, e.g. add")
color_by = middle.segmented_control("Colour by", COLOR_BY, default="type",
                                    required=True) or "type"
collapse_at = right.empty()  # filled once the graph says whether it has repeated blocks
left, right = st.columns([6, 5])
zoom_name = left.segmented_control("Zoom", list(ZOOMS), default="100%",
                                   required=True) or "100%"
expanded: tuple[str, ...] = ()
if base.submodels:
    expanded = tuple(right.multiselect(
        "Expanded submodels", base.submodels, key=f"expand_{tag}",
        default=list(base.submodels) if len(base.nodes) <= 150 else []))
full = graph_for(sha, expanded, runner)
blocks = repeated_blocks(full)
collapse = collapse_at.toggle(
    "Collapse repeated blocks", key=f"collapse_{tag}", disabled=not blocks,
    help="One box per block (layers named block_3_…, conv2_block1_…); click a block to "
         "open it.")

# A click on a collapsed block opens it (once per click: the selection persists over reruns).
clicked = clicked_node(st.session_state.get(graph_key))
kept = [b for b in st.session_state.get(blocks_key, []) if b in blocks]
if collapse and clicked in blocks and st.session_state.get(click_key) != clicked:
    kept.append(clicked)
st.session_state[blocks_key] = list(dict.fromkeys(kept))  # before its widget: allowed
st.session_state[click_key] = clicked
if collapse:
    open_blocks = tuple(st.multiselect(
        "Open blocks", list(blocks), key=blocks_key,
        format_func=lambda b: f"{b.rsplit('/', 1)[-1]} ({len(blocks[b])} layers)"))
    graph = collapse_blocks(full, open_blocks)
else:
    open_blocks, graph = None, full

layout, failure = layout_for(sha, expanded, open_blocks, graph)
focus = None
if query:
    matches = find_drawn(full, graph, query)
    if len(matches) > 1:
        focus = st.selectbox(f"{len(matches)} boxes match: centre on", matches[:MAX_LISTED])
    else:
        st.caption("One box matches." if matches else "No layer matches.")
    focus = focus or (matches[0] if matches else None)
if failure:
    st.error(escape_markdown(failure), icon=":material/block:")
else:
    selected = clicked if clicked in graph.nodes else None
    view = architecture_view(graph, layout, query=query, color_by=color_by, selected=selected,
                             zoom=ZOOMS[zoom_name], focus=focus, full=full)
    st.plotly_chart(view.figure, on_select="rerun", selection_mode="points", key=graph_key,
                    width="stretch", config={
                        "displaylogo": False, "scrollZoom": False,
                        # zooming is the Zoom control's, which resizes the labels with it
                        "modeBarButtonsToRemove": ["zoom2d", "zoomIn2d", "zoomOut2d",
                                                   "autoScale2d", "select2d", "lasso2d",
                                                   "toImage"]})
    name = bundle.summary.name
    svg = graph_image_for(sha, expanded, open_blocks, color_by, "svg", graph, full)
    left, right, _ = st.columns([2, 2, 5])
    left.download_button("Download the graph (SVG)", svg, file_name=f"{name}-graph.svg",
                         mime="image/svg+xml", on_click="ignore")
    right.download_button(
        "Download the graph (PNG)", lambda: graph_image_for(sha, expanded, open_blocks,
                                                            color_by, "png", graph, full),
        file_name=f"{name}-graph.png", mime="image/png", on_click="ignore")

ids = list(graph.nodes)
default = clicked if clicked in graph.nodes else focus
chosen = st.selectbox("Layer details", ids, index=ids.index(default) if default in ids else 0)
node = graph.nodes[chosen]
st.subheader(escape_markdown(f"{node.name if is_block(chosen) else chosen} · "
                             f"{node.class_name}"))
details = None
if is_block(chosen):
    st.info(f"A repeated block of {len(blocks.get(chosen, ()))} layers, "
            f"{node.params:,} parameters, output {shape_text(node.output_shape)}: open it "
            "by clicking its box, or under *Open blocks*.")
elif node.is_group:
    st.info("A nested model: expand it above to see its layers.")
else:
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
st.download_button("Download the layer table (CSV)", to_csv(table),
                   file_name=f"{bundle.summary.name}-layers.csv", mime="text/csv")
