"""Gradients at an Embedding's output, whatever the model around it.

``with EmbeddingOutput(layer, value): model(ids)`` — while the block runs (a `tf.function`
tracing), ``layer`` returns ``value`` instead of looking the ids up; its padding mask is
still computed from the ids. The rest of the model, Sequential or Functional, with branches,
position embeddings or a KerasHub backbone, then runs on a tensor the tape watches. Shared by
the token-id path (`gradients`) and the KerasHub one (`keras_hub_gradients`).
"""

from __future__ import annotations

from typing import Any


class EmbeddingOutput:
    """Make ``layer`` return ``value`` inside the block (an instance attribute over the
    class's own ``call``, removed on the way out)."""

    def __init__(self, layer: Any, value: Any) -> None:
        self.layer, self.value = layer, value

    def __enter__(self) -> None:
        self.layer.call = lambda *args, **kwargs: self.value

    def __exit__(self, *exc: object) -> None:
        del self.layer.call  # the class's own `call` again
