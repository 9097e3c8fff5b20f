"""One layer's details for the side panel: config, shapes, parameter counts, weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.errors import GlassboxError

# Config entries that describe how a layer was serialised rather than what it computes.
_NOISE = frozenset({"dtype", "trainable", "name"})


@dataclass(frozen=True)
class LayerDetails:
    id: str
    name: str
    class_name: str
    config: dict[str, Any]
    input_shape: Any
    output_shape: Any
    params: int
    trainable_params: int
    non_trainable_params: int
    weights: list[tuple[str, tuple[int, ...], bool]]  # (path, shape, trainable)


def find_layer(model: Any, node_id: str) -> Any:
    """The layer at a path id (``encoder/dense``), through nested models' ``get_layer``."""
    layer = model
    for part in node_id.split("/"):
        try:
            layer = layer.get_layer(part)
        except (ValueError, AttributeError):
            raise GlassboxError(f"no layer '{node_id}' in this model") from None
    return layer


def layer_details(model: Any, node_id: str) -> LayerDetails:
    """Details of the layer at ``node_id``; shapes are None where a shared layer has several."""
    layer = find_layer(model, node_id)
    trainable = _count(layer.trainable_weights)
    total = int(layer.count_params()) if layer.built else 0
    return LayerDetails(
        id=node_id, name=layer.name, class_name=type(layer).__name__,
        config={k: v for k, v in layer.get_config().items() if k not in _NOISE},
        input_shape=_shape_of(layer, "input"), output_shape=_shape_of(layer, "output"),
        params=total, trainable_params=trainable, non_trainable_params=total - trainable,
        weights=[(w.path, tuple(int(d) for d in w.shape), bool(w.trainable))
                 for w in layer.weights])


def _count(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def _shape_of(layer: Any, which: str) -> Any:
    try:
        tensor = getattr(layer, which)
    except (AttributeError, ValueError):
        return None
    if isinstance(tensor, (list, tuple)):
        return [list(t.shape) for t in tensor]
    return list(tensor.shape)
