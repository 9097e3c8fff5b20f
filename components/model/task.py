"""What the model predicts, read from its output layer: the task decides metrics and targets."""

from __future__ import annotations

from typing import Any

TASKS: tuple[str, ...] = ("multiclass", "binary", "multilabel", "regression")
TASK_LABELS: dict[str, str] = {
    "multiclass": "Multi-class classification (softmax)",
    "binary": "Binary classification (one sigmoid unit)",
    "multilabel": "Multi-label classification (several sigmoid units)",
    "regression": "Regression (linear output)",
}


def detect_task(model: Any) -> str:
    """Guess the task from the first output: its activation and its width."""
    units = _output_units(model)
    activation = _output_activation(model)
    if activation == "softmax":
        return "multiclass"
    if activation == "sigmoid":
        return "binary" if units == 1 else "multilabel"
    return "regression"


def resolve_task(detected: str, override: str | None) -> str:
    """The user's choice wins over detection; an unknown name is an error, not ignored."""
    if override in (None, "", "auto"):
        return detected
    if override not in TASKS:
        raise ValueError(f"unknown task {override!r}; expected one of {', '.join(TASKS)}")
    return override


def _output_units(model: Any) -> int | None:
    shape = tuple(model.outputs[0].shape)
    return shape[-1] if len(shape) > 1 else 1


def _output_activation(model: Any) -> str | None:
    """The activation applied last: a layer's `activation` config or a Softmax/Activation layer."""
    layer = _output_layer(model)
    cls = type(layer).__name__
    if cls == "Softmax":
        return "softmax"
    cfg = layer.get_config()
    act = cfg.get("activation")
    if isinstance(act, dict):  # serialised form {"class_name": "function", "config": name}
        act = act.get("config")
    if isinstance(act, str) and act != "linear":
        return act
    if _is_container(layer):
        return _output_activation(layer)
    return None


def _output_layer(model: Any) -> Any:
    """The layer that produces the model's first output (public API: compare `.output`)."""
    target = model.outputs[0]
    for layer in reversed(model.layers):
        try:
            if layer.output is target:
                return layer
        except (AttributeError, ValueError):  # shared layers have no single output
            continue
    return model.layers[-1]


def _is_container(layer: Any) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "outputs") and bool(layer.layers)
