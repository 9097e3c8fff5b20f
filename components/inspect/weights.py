"""Weights as plain arrays and statistics, addressed by the graph's path ids (``encoder/dense``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.inspect.layer_details import find_layer

NEAR_ZERO = 1e-3  # a weight is near zero below this share of its tensor's largest |w|
STAT_COLUMNS = ["layer", "weight", "shape", "count", "mean", "std", "min", "max", "l2_norm",
                "near_zero_share", "dead_inputs"]
VOCAB_LAYERS = frozenset({"TextVectorization", "StringLookup", "IntegerLookup"})


@dataclass(frozen=True)
class WeightTensor:
    """One variable: ``name`` is its short name (kernel, bias, gamma, …), values float32."""

    path: str
    name: str
    values: np.ndarray
    trainable: bool


def walk_layers(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path id, layer) for every leaf layer, descending into nested models."""
    for layer in model.layers:
        node_id = prefix + layer.name
        if hasattr(layer, "layers") and hasattr(layer, "inputs") and layer.layers:
            yield from walk_layers(layer, node_id + "/")
        else:
            yield node_id, layer


def weighted_layers(model: Any) -> list[str]:
    """Path ids of the layers that hold at least one weight, in model order."""
    return [node_id for node_id, layer in walk_layers(model) if layer.weights]


def layer_weights(model: Any, node_id: str) -> list[WeightTensor]:
    layer = find_layer(model, node_id)
    return [WeightTensor(path=w.path, name=w.path.rsplit("/", 1)[-1],
                         values=np.asarray(w.numpy(), dtype="float32"), trainable=w.trainable)
            for w in layer.weights if np.issubdtype(np.dtype(w.dtype), np.number)]


def weight_summary(model: Any) -> pd.DataFrame:
    """One row per numeric weight tensor: size, mean, std, min, max, L2 norm, share of
    near-zero weights (|w| < 0.1 % of the tensor's max |w|) and dead inputs (kernel rows, or
    conv input channels, whose outgoing weights are all exactly zero)."""
    rows = [tensor_stats(node_id, w) for node_id in weighted_layers(model)
            for w in layer_weights(model, node_id)]
    return pd.DataFrame(rows, columns=STAT_COLUMNS)


def tensor_stats(node_id: str, w: WeightTensor) -> dict[str, Any]:
    """One `weight_summary` row for tensor ``w`` of layer ``node_id``."""
    v = w.values.astype("float64")
    flat = np.abs(v).ravel()
    peak = flat.max() if flat.size else 0.0
    return {
        "layer": node_id, "weight": w.name, "shape": "x".join(map(str, v.shape)) or "scalar",
        "count": int(v.size), "mean": float(v.mean()) if v.size else 0.0,
        "std": float(v.std()) if v.size else 0.0, "min": float(v.min()) if v.size else 0.0,
        "max": float(v.max()) if v.size else 0.0, "l2_norm": float(np.sqrt((v * v).sum())),
        "near_zero_share": float((flat < NEAR_ZERO * peak).mean()) if peak > 0 else 1.0,
        "dead_inputs": dead_inputs(v) if w.name == "kernel" else None,
    }


def dead_inputs(kernel: np.ndarray) -> int | None:
    """Inputs of a kernel whose outgoing weights are all zero: rows of a Dense (in, out)
    kernel, input channels of a Conv (…, in, out) kernel."""
    if kernel.ndim < 2:
        return None
    per_input = np.moveaxis(kernel, -2, 0).reshape(kernel.shape[-2], -1)
    return int((np.abs(per_input).max(axis=1) == 0).sum())


def input_reader(model: Any, n_features: int) -> str | None:
    """The first layer with a 2-D kernel of ``n_features`` rows: it reads the input columns."""
    for node_id, layer in walk_layers(model):
        kernels = [w for w in layer.weights if w.path.endswith("kernel") and len(w.shape) == 2]
        if kernels:
            return node_id if int(kernels[0].shape[0]) == n_features else None
    return None


def per_column_layer(model: Any, node_id: str, n_features: int) -> bool:
    """Whether layer ``node_id`` holds one weight per input column: a layer before the first
    kernel (a Normalization or BatchNorm on the raw input) whose 1-D weights have
    ``n_features`` entries each."""
    for walked, layer in walk_layers(model):
        if walked == node_id:
            sizes = {int(np.prod(w.shape)) for w in layer.weights if len(w.shape) == 1}
            return sizes == {n_features}
        if any(w.path.endswith("kernel") for w in layer.weights):
            return False
    return False


def vocabulary(model: Any) -> list[str] | None:
    """The token list of the model's first vocabulary layer (TextVectorization, lookups)."""
    for _, layer in walk_layers(model):
        if type(layer).__name__ in VOCAB_LAYERS:
            return [str(t) for t in layer.get_vocabulary()]
    return None


def all_layers_table(model: Any) -> pd.DataFrame:
    """The summary over every weight of the model, rounded for display."""
    return for_display(weight_summary(model).round({"mean": 5, "std": 5, "min": 5, "max": 5,
                                                    "l2_norm": 4, "near_zero_share": 4}))


def for_display(table: pd.DataFrame) -> pd.DataFrame:
    """``dead_inputs`` as text, blank where it does not apply (a bias, a gamma): a table
    shows a missing number as "None", and a CSV writes the blank as an empty cell either way."""
    return table.assign(dead_inputs=[
        "" if v is None or pd.isna(v) else str(int(v)) for v in table["dead_inputs"]])
