"""Repeated blocks of a layer graph (``block_3_expand``, ``block_3_depthwise``… or
``conv2_block1_1_conv``…), each collapsible into one group node.

Networks built from a repeated unit name its layers after the unit (Keras applications do:
MobileNetV2 ``block_N_*``, ResNet and DenseNet ``convS_blockN_*``, EfficientNet ``blockNa_*``,
VGG and Xception ``blockN_*``). Collapsing each unit into one node turns a 150-layer chain into
a 20-node overview; a collapsed block is expanded again by its id.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

import networkx as nx

from components.inspect.graph import LayerGraph, Node, find_nodes

# The unit's name: everything up to the first "block" (or stage, unit…) and its number,
# followed by "_" or the end. Lazy, so "conv2_block1_1_conv" gives "conv2_block1".
BLOCK_NAME = re.compile(
    r"^(.*?(?:block|stage|unit|cell|module|stack|encoder|decoder|transformer)_?\d+[a-z]?)"
    r"(?:_|$)", re.IGNORECASE)
BLOCK_PREFIX = "/block/"  # no layer id starts with "/": Keras forbids "/" in layer names
BLOCK_CLASS = "Block"
MIN_MEMBERS = 2  # a "block" of one layer is just that layer
MIN_BLOCKS = 2  # a pattern seen once is not a repetition


def block_id(parent: str | None, key: str) -> str:
    """The group node's id for block ``key`` inside submodel ``parent`` (None: top level)."""
    return BLOCK_PREFIX + (f"{parent}/" if parent else "") + key


def is_block(node_id: str) -> bool:
    return node_id.startswith(BLOCK_PREFIX)


def repeated_blocks(graph: LayerGraph) -> dict[str, tuple[str, ...]]:
    """Block id -> its members' node ids, in graph order: layers whose names share a block
    prefix and a parent, when at least `MIN_BLOCKS` such blocks of `MIN_MEMBERS` exist."""
    found: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        if node.is_group:  # a collapsed submodel stays itself
            continue
        match = BLOCK_NAME.match(node.name)
        if match:
            found.setdefault(block_id(node.parent, match.group(1)), []).append(node.id)
    blocks = {key: tuple(ids) for key, ids in found.items() if len(ids) >= MIN_MEMBERS}
    return blocks if len(blocks) >= MIN_BLOCKS else {}


def collapse_blocks(graph: LayerGraph, keep_open: Collection[str] = ()) -> LayerGraph:
    """``graph`` with each repeated block (except those in ``keep_open``) as one group node.

    The group node is named "<block> (N layers)" and carries the members' summed parameters
    and the output shape of the layer the block's outgoing edges leave from. A block whose
    collapse would close a cycle (a path leaving it and coming back) stays open: the drawing
    is a layered DAG.
    """
    blocks = {k: v for k, v in repeated_blocks(graph).items() if k not in set(keep_open)}
    owner: dict[str, str] = {}
    dag = nx.DiGraph(graph.edges)
    for key, members in blocks.items():
        trial = {**owner, **dict.fromkeys(members, key)}
        merged = nx.DiGraph((trial.get(s, s), trial.get(d, d)) for s, d in dag.edges
                            if trial.get(s, s) != trial.get(d, d))
        if nx.is_directed_acyclic_graph(merged):
            owner = trial
    if not owner:
        return graph
    return _rebuild(graph, owner)


def _rebuild(graph: LayerGraph, owner: dict[str, str]) -> LayerGraph:
    members: dict[str, list[str]] = {}
    for node_id, key in owner.items():
        members.setdefault(key, []).append(node_id)
    nodes: dict[str, Node] = {}
    for node in graph.nodes.values():
        key = owner.get(node.id)
        if key is None:
            nodes[node.id] = node
        elif key not in nodes:  # the block takes its first member's place in the order
            nodes[key] = _block_node(graph, key, members[key])
    edges = tuple(dict.fromkeys((owner.get(s, s), owner.get(d, d)) for s, d in graph.edges
                                if owner.get(s, s) != owner.get(d, d)))
    groups = {g: tuple(dict.fromkeys(owner.get(m, m) for m in ids))
              for g, ids in graph.groups.items()}
    return replace(graph, nodes=nodes, edges=edges, groups=groups)


def _block_node(graph: LayerGraph, key: str, members: list[str]) -> Node:
    inside = set(members)
    exits = [s for s, d in graph.edges if s in inside and d not in inside]
    last = graph.nodes[exits[-1] if exits else members[-1]]
    first = graph.nodes[members[0]]
    name = f"{key.rsplit('/', 1)[-1]} ({len(members)} layers)"
    return Node(id=key, name=name, class_name=BLOCK_CLASS,
                parent=first.parent, output_shape=last.output_shape,
                params=sum(graph.nodes[m].params for m in members), is_group=True)


def find_drawn(full: LayerGraph, drawn: LayerGraph, query: str) -> list[str]:
    """Search ``drawn`` (``full`` with some blocks collapsed) as if nothing were collapsed:
    drawn nodes whose name or type contains ``query``, and each collapsed block that holds a
    matching layer; in ``drawn``'s order."""
    hits = set(find_nodes(drawn, query))
    inside = {member: block for block, members in repeated_blocks(full).items()
              if block in drawn.nodes for member in members}
    hits |= {inside[node_id] for node_id in find_nodes(full, query) if node_id in inside}
    return [node_id for node_id in drawn.nodes if node_id in hits]
