"""What the pages ask of a model, as functions ``fn(model, ...)`` a runner can call anywhere.

`components.worker` sends these (by reference) to the process that holds an uploaded model;
`LocalRunner` calls them in-process for the bundled samples. Arguments and results are plain
data (arrays, frames, figures, dataclasses), so they can travel between processes.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from components.explain_view import explain_one, method_status, resolve_target, sample_features
from components.explainers import REGISTRY
from components.explainers.base import Attribution, Subject
from components.introspection import summary_of  # noqa: F401  # re-exported for runners
from components.predict import PredictFn, make_predict_fn

_PREDICT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_fn_of(model: Any) -> PredictFn:
    """The model's one compiled, batched predict function, made once per model object."""
    fn = _PREDICT.get(model)
    if fn is None:
        fn = _PREDICT[model] = make_predict_fn(model)
    return fn


def scores_of(model: Any, x: np.ndarray) -> np.ndarray:
    """The model's first output for every row: (N, ...) in, (N, k) float32 out."""
    return predict_fn_of(model)(x)


@dataclass(frozen=True)
class SubjectFacts:
    """What the explain page needs to know before explaining: output row (k,), default
    target, which methods apply (None) or why not, each method's parameter choices, and
    what the values are per (feature names, tokens, or None for images)."""

    prediction: np.ndarray
    default_target: int
    status: dict[str, str | None]
    choices: dict[str, dict[str, list]]
    features: list[str] | None


def bound(model: Any, subject: Subject) -> Subject:
    """``subject`` with this model and its predict function attached."""
    return replace(subject, model=model, predict_fn=predict_fn_of(model))


def subject_facts(model: Any, subject: Subject) -> SubjectFacts:
    subject = bound(model, subject)
    prediction, target = resolve_target(subject, None)
    status = method_status(subject)
    choices = {name: e.choices(subject) for name, e in REGISTRY.items()
               if status[name] is None and hasattr(e, "choices")}
    return SubjectFacts(prediction=np.asarray(prediction), default_target=target,
                        status=status, choices=choices, features=sample_features(subject))


def explain_subject(model: Any, subject: Subject, method: str, target: int, seed: int,
                    params: dict[str, Any] | None = None) -> Attribution:
    return explain_one(bound(model, subject), method, target, seed, params)


def explain_all(model: Any, subject: Subject, methods: list[str], target: int | None,
                seed: int) -> tuple[Any, list[str] | None]:
    """Every requested method on one subject (the CLI's `explain`): (Explanation, features)."""
    from components.explain_view import explain_sample

    subject = bound(model, subject)
    return explain_sample(subject, methods, target, seed), sample_features(subject)
