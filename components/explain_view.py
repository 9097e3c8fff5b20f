"""What the explanation page and `python -m components explain` compute for one sample.

A `Subject` is built from the workspace's model and dataset; each method in the registry
then explains it, or says in one line why it does not apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from components.agreement import Agreement, agreement
from components.data_checks import Dataset
from components.errors import DataError
from components.explainers import REGISTRY
from components.explainers.base import Attribution, PredictFn, Subject
from components.explainers.targets import check_target, default_target
from components.explainers.text_tokens import tokens_of

MAX_BACKGROUND = 200  # rows LIME's statistics and SHAP's background are drawn from


@dataclass(frozen=True)
class Explanation:
    """Every requested method's answer for one sample and target.

    ``prediction`` is the model's output row (k,); ``skipped`` maps a method that does not
    apply to the one-line reason.
    """

    prediction: np.ndarray
    target: int
    attributions: dict[str, Attribution]
    skipped: dict[str, str]
    agreement: Agreement | None


def check_row(dataset: Dataset, row: int) -> int:
    """``row`` as a valid index into the dataset, else `DataError` naming the range."""
    if dataset.x is None:
        raise DataError("the dataset did not pass its checks; see the Model & data page")
    n = len(dataset.x)
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not 0 <= row < n:
        raise DataError(f"row {row} is out of range: the dataset has {n} rows (0..{n - 1})")
    return int(row)


def subject_for(model: Any, dataset: Dataset, row: int, predict_fn: PredictFn, task: str,
                *, seed: int = 0) -> Subject:
    """One dataset row as a `Subject`.

    The background is up to 200 rows drawn with ``seed`` (0 in the app and the CLI, so both
    see the same background; the methods' own seed is separate).
    """
    row = check_row(dataset, row)
    x = dataset.x
    n = len(x)
    picks = np.sort(np.random.default_rng(seed).choice(n, size=min(n, MAX_BACKGROUND),
                                                        replace=False))
    names = tuple(dataset.feature_names) if dataset.kind == "tabular" and \
        dataset.feature_names else None
    return Subject(x=x[row:row + 1], kind=dataset.kind, predict_fn=predict_fn, model=model,
                   background=x[picks], feature_names=names, task=task)


def method_status(subject: Subject, names: Iterable[str] | None = None) -> dict[str, str | None]:
    """Method name -> None if it applies to ``subject``, else the reason it does not."""
    return {name: REGISTRY[name].unavailable(subject) for name in (names or REGISTRY)}


def check_methods(names: Iterable[str]) -> list[str]:
    """The names, each a registry key; an unknown one is a `DataError` listing the known."""
    names = list(names)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise DataError(f"unknown method {', '.join(unknown)}; expected any of "
                        f"{', '.join(REGISTRY)}")
    return names


def resolve_target(subject: Subject, target: int | None) -> tuple[np.ndarray, int]:
    """The sample's output row (k,) and the target: ``target`` checked, or the default."""
    prediction = subject.predict_fn(subject.x)[0]
    if target is None:
        return prediction, default_target(prediction, subject.task)
    try:
        return prediction, check_target(target, len(prediction))
    except ValueError as err:
        raise DataError(str(err)) from None


def explain_one(subject: Subject, method: str, target: int, seed: int,
                params: Mapping[str, Any] | None = None) -> Attribution:
    """One method's attribution; a bad parameter becomes a one-line `DataError`."""
    try:
        return REGISTRY[method].explain(subject, target, seed=seed, **dict(params or {}))
    except ValueError as err:
        raise DataError(f"{REGISTRY[method].label}: {err}") from None


def explain_sample(subject: Subject, methods: Iterable[str], target: int | None = None,
                   seed: int = 0, params: Mapping[str, Mapping[str, Any]] | None = None,
                   top_k: int = 5) -> Explanation:
    """Run each applicable method in ``methods`` on ``subject``; the rest go to ``skipped``."""
    methods = check_methods(methods)
    prediction, target = resolve_target(subject, target)
    status = method_status(subject, methods)
    done = {name: explain_one(subject, name, target, seed, (params or {}).get(name))
            for name in methods if status[name] is None}
    skipped = {name: reason for name, reason in status.items() if reason is not None}
    return Explanation(prediction=prediction, target=target, attributions=done,
                       skipped=skipped, agreement=agreement(done, top_k) if done else None)


def sample_features(subject: Subject) -> list[str] | None:
    """What the values are per: feature names (tabular), tokens (text), None (images)."""
    if subject.kind == "text":
        return list(tokens_of(subject.model, str(subject.sample)))
    return None if subject.feature_names is None else list(subject.feature_names)


def explanation_json(sha256: str, row: int, features: list[str] | None,
                     explanation: Explanation) -> dict[str, Any]:
    """The CLI's JSON contract for one explained row (see README, "Headless").

    ``features`` is `sample_features` of the subject: names, tokens, or None for images.
    """
    methods = {}
    for name, attr in explanation.attributions.items():
        entry = attr.to_json()
        for key in ("method", "target", "feature_names"):
            entry.pop(key, None)
        methods[name] = entry
    return {
        "sha256": sha256,
        "row": row,
        "prediction": np.asarray(explanation.prediction, dtype=float).tolist(),
        "target": explanation.target,
        "features": features,
        "methods": methods,
        "skipped": explanation.skipped,
        "agreement": explanation.agreement.pairs() if explanation.agreement else {},
    }
