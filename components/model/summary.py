"""A model's summary as plain values: the layer table, shapes and parameter counts.

Public Keras API only (`layers`, `count_params`, `inputs`/`outputs`); nested models are
flattened with ``parent`` naming the enclosing submodel, as in Keras' own summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from components.model.task import detect_task
from components.model.token_input import TokenInput, token_input_of

Shape = list[int | None]


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table; ``parent`` is the enclosing submodel's name or None."""

    name: str
    class_name: str
    output_shape: Shape | list[Shape] | None
    params: int
    trainable_params: int
    parent: str | None
    depth: int


@dataclass(frozen=True)
class ModelSummary:
    """Everything the overview page and ``inspect`` report, without the model object."""

    sha256: str
    name: str
    task: str
    inputs: list[Shape]
    input_dtypes: list[str]
    outputs: list[Shape]
    total_params: int
    trainable_params: int
    layers: list[LayerRow]
    token_input: TokenInput | None = None  # set when the input is token ids (N, L)

    def to_json(self) -> dict[str, Any]:
        """The CLI's contract: sha256, name, task, inputs, outputs, total_params, layers."""
        return {
            "sha256": self.sha256,
            "name": self.name,
            "task": self.task,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "token_input": None if self.token_input is None else asdict(self.token_input),
            "layers": [
                {k: v for k, v in asdict(row).items() if k not in ("trainable_params", "depth")}
                for row in self.layers
            ],
        }


def summarize(model: Any, sha256: str) -> ModelSummary:
    """Describe ``model``: shapes use None for the batch (and other free) dimensions."""
    return ModelSummary(
        sha256=sha256,
        name=model.name,
        task=detect_task(model),
        inputs=[_shape(t) for t in model.inputs],
        input_dtypes=[str(t.dtype) for t in model.inputs],
        outputs=[_shape(t) for t in model.outputs],
        total_params=int(model.count_params()),
        trainable_params=_trainable(model),
        layers=list(_rows(model, parent=None, depth=0)),
        token_input=token_input_of(model),
    )


def _rows(model: Any, parent: str | None, depth: int):
    for layer in model.layers:
        yield LayerRow(
            name=layer.name,
            class_name=type(layer).__name__,
            output_shape=_output_shape(layer),
            params=int(layer.count_params()) if layer.built else 0,
            trainable_params=_trainable(layer),
            parent=parent,
            depth=depth,
        )
        if _is_submodel(layer):
            yield from _rows(layer, parent=layer.name, depth=depth + 1)


def _is_submodel(layer: Any) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "inputs") and bool(layer.layers)


def _trainable(layer: Any) -> int:
    return int(sum(_size(w.shape) for w in layer.trainable_weights))


def _size(shape: Any) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _shape(tensor: Any) -> Shape:
    return [None if d is None else int(d) for d in tensor.shape]


def _output_shape(layer: Any) -> Shape | list[Shape] | None:
    """Shape of the layer's output; a list for multi-output layers, None if ambiguous (shared)."""
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return None
    if isinstance(out, dict):  # a KerasHub backbone returns named outputs
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [_shape(t) for t in out]
    return _shape(out)


def summary_of(model: Any, sha256: str) -> ModelSummary:
    """`summarize` with the model first, as `runner.run(summary_of, sha256)` calls it."""
    return summarize(model, sha256)
