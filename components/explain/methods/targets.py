"""Which output an explanation is about: the predicted class by default, any on demand.

A target is an index into the model's output row (N, k). A one-unit sigmoid (binary) or a
regression head has a single target, 0: its attributions explain the output going up (the
positive class, the predicted value).
"""

from __future__ import annotations

import numpy as np


def default_target(scores: np.ndarray, task: str) -> int:
    """The predicted class for softmax/multi-unit outputs; 0 for single-output heads.

    ``scores`` is one output row (k,).
    """
    scores = np.asarray(scores, dtype=float).reshape(-1)
    if task in ("multiclass", "multilabel") and scores.size > 1:
        return int(np.argmax(scores))
    return 0


def target_choices(n_outputs: int, task: str,
                   class_names: tuple[str, ...] | None = None) -> dict[int, str]:
    """Target index -> label for the picker, e.g. {0: "class_0", 1: "class_1"}."""
    if n_outputs == 1:
        if task == "binary":
            positive = class_names[-1] if class_names else "positive"
            return {0: f"{positive} (the sigmoid output)"}
        return {0: "the predicted value" if task == "regression" else "output 0"}
    names = class_names if class_names and len(class_names) == n_outputs else None
    return {i: (names[i] if names else f"class {i}") for i in range(n_outputs)}


def check_target(target: int, n_outputs: int) -> int:
    """``target`` as an int in 0..n_outputs-1, or ValueError naming the allowed range."""
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"target must be an output index, got {target!r}")
    if not 0 <= int(target) < n_outputs:
        raise ValueError(f"target {target} is out of range: the model has {n_outputs} "
                         f"output(s), so targets are 0..{n_outputs - 1}")
    return int(target)
