"""The layer graph of a Keras model, read from its public config (laid out by
`components.inspect.dot_layout`).

Nodes are layers, keyed by a path id (``encoder/dense`` for a layer inside submodel
``encoder``). Edges follow the real connectivity recorded in each layer's ``inbound_nodes``
(branches, merges, several inputs/outputs, shared layers). A nested model is one node when
collapsed; expanded, its inner layers replace it and the edges are rewired to its entry and
exit layers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

CONTAINERS = frozenset({"Functional", "Sequential", "Model"})


@dataclass(frozen=True)
class Node:
    """One drawn layer (or one collapsed submodel)."""

    id: str
    name: str
    class_name: str
    parent: str | None  # id of the expanded submodel that holds it
    output_shape: tuple | None
    params: int
    is_group: bool = False  # a collapsed submodel


@dataclass(frozen=True)
class LayerGraph:
    nodes: dict[str, Node]
    edges: tuple[tuple[str, str], ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # expanded id -> members
    submodels: tuple[str, ...] = ()  # every nested model's id, expanded or not


@dataclass
class _Part:
    nodes: dict[str, Node]
    edges: list[tuple[str, str]]
    groups: dict[str, tuple[str, ...]]
    submodels: list[str]
    entries: list[str]
    exits: list[str]


def build_graph(model: Any, expanded: Collection[str] = ()) -> LayerGraph:
    """The DAG of ``model``; submodels whose ids are in ``expanded`` are drawn layer by layer."""
    part = _container(model, prefix="", parent=None, expanded=set(expanded))
    return LayerGraph(nodes=part.nodes, edges=tuple(dict.fromkeys(part.edges)),
                      groups=part.groups, submodels=tuple(part.submodels))


def _container(model: Any, prefix: str, parent: str | None, expanded: set[str]) -> _Part:
    config = model.get_config()
    objects = {layer.name: layer for layer in model.layers}
    part = _Part({}, [], {}, [], [], [])
    rewire: dict[str, tuple[list[str], list[str]]] = {}
    for cfg in config["layers"]:
        node_id = prefix + _name(cfg)
        layer = objects.get(node_id[len(prefix):])
        if _is_container(cfg):
            part.submodels.append(node_id)
        if _is_container(cfg) and node_id in expanded and layer is not None:
            inner = _container(layer, node_id + "/", node_id, expanded)
            _absorb(part, inner, node_id)
            rewire[node_id] = (inner.entries, inner.exits)
        else:
            part.nodes[node_id] = _node(node_id, cfg, layer, parent)
    part.edges += _edges(config, prefix)
    part.edges = _rewired(part.edges, rewire)
    part.entries, part.exits = _ends(config, prefix, rewire)
    return part


def _absorb(part: _Part, inner: _Part, group_id: str) -> None:
    part.nodes.update(inner.nodes)
    part.edges += inner.edges
    part.groups.update(inner.groups)
    part.groups[group_id] = tuple(inner.nodes)
    part.submodels += inner.submodels


def _name(cfg: dict) -> str:
    """Functional layer entries carry ``name``; Sequential ones only ``config.name``."""
    return cfg.get("name") or cfg["config"]["name"]


def _is_container(cfg: dict) -> bool:
    return cfg.get("class_name") in CONTAINERS and "layers" in cfg.get("config", {})


def _node(node_id: str, cfg: dict, layer: Any, parent: str | None) -> Node:
    name = node_id.rsplit("/", 1)[-1]
    return Node(id=node_id, name=name, class_name=cfg["class_name"], parent=parent,
                output_shape=_output_shape(layer, cfg), params=_params(layer),
                is_group=_is_container(cfg))


def _params(layer: Any) -> int:
    return int(layer.count_params()) if layer is not None and layer.built else 0


def _output_shape(layer: Any, cfg: dict) -> tuple | None:
    if layer is None:  # a Sequential's InputLayer exists only in the config
        shape = cfg.get("config", {}).get("batch_shape")
        return tuple(shape) if shape else None
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return None
    if isinstance(out, (list, tuple)):
        return tuple(tuple(t.shape) for t in out)
    return tuple(out.shape)


def _edges(config: dict, prefix: str) -> list[tuple[str, str]]:
    """Functional: sources named in each layer's inbound nodes. Sequential: a chain."""
    layers = config["layers"]
    if not any(cfg.get("inbound_nodes") for cfg in layers):
        names = [prefix + _name(cfg) for cfg in layers]
        return list(zip(names, names[1:], strict=False))
    edges = []
    for cfg in layers:
        for src in _history_names(cfg.get("inbound_nodes", [])):
            edges.append((prefix + src, prefix + _name(cfg)))
    return edges


def _history_names(obj: Any) -> Iterator[str]:
    """Every layer name referenced by a ``keras_history`` inside inbound-node arguments."""
    if isinstance(obj, dict):
        history = obj.get("config", {}).get("keras_history") if isinstance(
            obj.get("config"), dict) else None
        if history:
            yield history[0]
        for value in obj.values():
            yield from _history_names(value)
    elif isinstance(obj, (list, tuple)):  # get_config() holds tuples, saved JSON lists
        for value in obj:
            yield from _history_names(value)


def _rewired(edges: list[tuple[str, str]],
             rewire: dict[str, tuple[list[str], list[str]]]) -> list[tuple[str, str]]:
    """Edges into an expanded submodel go to its entries; edges out leave from its exits."""
    out = []
    for src, dst in edges:
        sources = rewire[src][1] if src in rewire else [src]
        targets = rewire[dst][0] if dst in rewire else [dst]
        out += [(s, t) for s in sources for t in targets]
    return out


def _ends(config: dict, prefix: str,
          rewire: dict[str, tuple[list[str], list[str]]]) -> tuple[list[str], list[str]]:
    names = [_name(cfg) for cfg in config["layers"]]
    entries = _refs(config.get("input_layers")) or names[:1]
    exits = _refs(config.get("output_layers")) or names[-1:]
    entry_ids = [e for n in entries for e in rewire.get(prefix + n, ([prefix + n], []))[0]]
    exit_ids = [e for n in exits for e in rewire.get(prefix + n, ([], [prefix + n]))[1]]
    return entry_ids, exit_ids


def _refs(value: Any) -> list[str]:
    """Names in ``input_layers``/``output_layers``: [name, i, j] or a list of them."""
    if not value:
        return []
    if isinstance(value[0], str):
        return [value[0]]
    return [v[0] for v in value]


def find_nodes(graph: LayerGraph, query: str) -> list[str]:
    """Ids of nodes whose name or class contains ``query`` (case-insensitive)."""
    q = query.strip().lower()
    if not q:
        return []
    return [n.id for n in graph.nodes.values() if q in n.name.lower() or q in n.class_name.lower()]
