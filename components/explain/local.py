"""The one local-explanation service: what the explain page, the CLI's `explain` and the
report compute for one sample.

A `Subject` is built from a dataset row (`subject_for`); `bound` attaches a model and its
predict function; each method in the registry then explains it, or says in one line why it
does not apply. The ``fn(model, ...)`` functions at the end (`subject_facts`,
`explain_subject`, `explain_all`) are what a `ModelRunner` sends to wherever the model lives
(`components.model.worker`); their arguments and results are plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from components.data.checks import Dataset
from components.errors import DataError, first_line
from components.explain.agreement import Agreement, agreement
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution, PredictFn, Subject
from components.explain.methods.budget import fixed_counts
from components.explain.methods.masking import sample_tokens as text_tokens
from components.explain.methods.targets import check_target, default_target
from components.model.predict import predict_fn_of

MAX_BACKGROUND = 200  # rows LIME's statistics and SHAP's background are drawn from
MAX_REASON = 200  # characters of a failed method's reason in ``skipped``


@dataclass(frozen=True)
class Explanation:
    """Every requested method's answer for one sample and target.

    ``prediction`` is the model's output row (k,); ``skipped`` maps a method that does not
    apply, or that failed on this sample ("failed: ..."), to the one-line reason.
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


def subject_for(dataset: Dataset, row: int, task: str, *, model: Any = None,
                predict_fn: PredictFn | None = None, seed: int = 0) -> Subject:
    """One dataset row as a `Subject`.

    Without ``model`` and ``predict_fn`` it is a template: `bound` attaches them where the
    model lives. The background is up to 200 rows drawn with ``seed`` (0 in the app and the
    CLI, so both see the same background; the methods' own seed is separate).
    """
    row = check_row(dataset, row)
    x = dataset.x
    picks = background_rows(len(x), seed)
    names = tuple(dataset.feature_names) if dataset.kind == "tabular" and \
        dataset.feature_names else None
    return Subject(x=x[row:row + 1], kind=dataset.kind, predict_fn=predict_fn, model=model,
                   background=x[picks], feature_names=names, task=task, codec=dataset.codec)


def background_rows(n: int, seed: int = 0) -> np.ndarray:
    """The rows (up to `MAX_BACKGROUND`, sorted) of an ``n``-row dataset that a subject's
    background is made of: drawn with ``seed``, the same wherever the data is read."""
    return np.sort(np.random.default_rng(seed).choice(n, size=min(n, MAX_BACKGROUND),
                                                      replace=False))


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
    """Run each applicable method in ``methods`` on ``subject``; the rest go to ``skipped``.

    One method failing never costs the others: its one-line reason goes to ``skipped`` as
    "failed: ...". A bad parameter the caller gave a method stays a `DataError` (the
    caller's mistake, not the method's): a `ValueError` from a method given parameters.
    """
    methods = check_methods(methods)
    prediction, target = resolve_target(subject, target)
    status = method_status(subject, methods)
    done: dict[str, Attribution] = {}
    failed: dict[str, str] = {}
    for name in methods:
        if status[name] is not None:
            continue
        given = (params or {}).get(name)
        try:
            done[name] = explain_one(subject, name, target, seed, given)
        except DataError as err:
            if given:
                raise
            failed[name] = f"failed: {first_line(err, MAX_REASON)}"
        except Exception as err:  # whatever else a method raises, the others still run
            failed[name] = f"failed: {type(err).__name__}: {first_line(err, MAX_REASON)}"
    skipped = {name: reason for name, reason in status.items() if reason is not None}
    skipped.update(failed)
    return Explanation(prediction=prediction, target=target, attributions=done,
                       skipped=skipped, agreement=agreement(done, top_k) if done else None)


def sample_features(subject: Subject) -> list[str] | None:
    """What the values are per: feature names (tabular), tokens (text), None (images)."""
    if subject.kind == "text":
        return list(text_tokens(subject))
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


# ---------------------------------------------------------------- run where the model lives


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
    """``subject`` with this model and its predict function attached (which, for a token-id
    model, reads token text through the subject's codec)."""
    return replace(subject, model=model, predict_fn=encoded(predict_fn_of(model), subject.codec))


def encoded(predict_fn: PredictFn, codec: Any) -> PredictFn:
    """``predict_fn`` taking token text when ``codec`` is set (ids go to the model)."""
    if codec is None:
        return predict_fn
    return lambda texts: predict_fn(codec.encode(texts))


def subject_facts(model: Any, subject: Subject) -> SubjectFacts:
    """What the page shows before explaining ``subject`` with ``model``."""
    subject = bound(model, subject)
    prediction, target = resolve_target(subject, None)
    status = method_status(subject)
    choices = {name: e.choices(subject) for name, e in REGISTRY.items()
               if status[name] is None and hasattr(e, "choices")}
    return SubjectFacts(prediction=np.asarray(prediction), default_target=target,
                        status=status, choices=choices, features=sample_features(subject))


def explain_subject(model: Any, subject: Subject, method: str, target: int, seed: int,
                    params: dict[str, Any] | None = None) -> Attribution:
    """One method on ``subject`` with ``model`` (a bad parameter: one-line `DataError`)."""
    return explain_one(bound(model, subject), method, target, seed, params)


def explain_all(model: Any, subject: Subject, methods: list[str], target: int | None,
                seed: int, fixed: bool = False,
                params: Mapping[str, Mapping[str, Any]] | None = None
                ) -> tuple[Explanation, list[str] | None]:
    """Every requested method on one subject (the CLI's `explain`): (Explanation, features).

    ``fixed`` (the report): counts left on "auto" take their usual values instead of what
    the model's measured cost affords, so the numbers do not depend on the machine's speed.
    ``params``: method name -> its settings (the CLI's ``--params``).
    """
    subject = bound(model, subject)
    with fixed_counts() if fixed else nullcontext():
        return explain_sample(subject, methods, target, seed, params), \
            sample_features(subject)
