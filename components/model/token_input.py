"""Whether a model reads token ids: an integer input (N, L) that feeds an `Embedding`.

Read from the model's structure only (public Keras API: `inputs`, `layers`, each layer's
`input` and config), whatever comes after the Embedding (LSTM, GRU, Bidirectional, Conv1D,
attention, transformer blocks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Layers that only reshape or pass ids through on their way to the Embedding.
PASS_THROUGH = ("InputLayer", "Reshape", "Masking", "Identity", "Activation")


@dataclass(frozen=True)
class TokenInput:
    """What the model says about its token input: ``length`` ids per row (None: free),
    ids in 0..``vocab_size``-1, whether its Embedding masks id 0 (``mask_zero``), and the
    Embedding layer's name."""

    length: int | None
    vocab_size: int
    mask_zero: bool = False
    embedding: str = ""


def token_input_of(model: Any) -> TokenInput | None:
    """The model's `TokenInput`, or None when its (single) input is not token ids."""
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        return None
    tensor = inputs[0]
    dtype = str(tensor.dtype)
    if "int" not in dtype or len(tensor.shape) != 2:
        return None
    embedding = _embedding_after(model, tensor)
    if embedding is None:
        return None
    config = embedding.get_config()
    length = tensor.shape[1]
    return TokenInput(length=None if length is None else int(length),
                      vocab_size=int(config["input_dim"]),
                      mask_zero=bool(config.get("mask_zero", False)), embedding=embedding.name)


def _embedding_after(model: Any, tensor: Any) -> Any | None:
    """The Embedding that reads ``tensor``, directly or through `PASS_THROUGH` layers."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if any(cls.__name__ == "Sequential" for cls in type(model).__mro__):
        for layer in layers:
            name = type(layer).__name__
            if name == "Embedding":
                return layer
            if name not in PASS_THROUGH:
                return None
        return None
    frontier = {id(tensor)}
    for layer in layers:
        try:
            fed = layer.input
        except (AttributeError, ValueError):  # shared layers have no single input
            continue
        if isinstance(fed, (list, tuple, dict)) or id(fed) not in frontier:
            continue
        name = type(layer).__name__
        if name == "Embedding":
            return layer
        if name in PASS_THROUGH:
            frontier.add(id(layer.output))
    return None
