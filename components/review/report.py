"""A reproducible compliance report's content: which model, which data, what it scores, and
why it decided as it did on chosen rows, with every parameter, seed and library version
needed to redo it.

`build_report` gathers everything into `Report.content`, a JSON-ready dict, and hashes the
part that must come out the same on every run (`numeric_sha256`: digests, parameters, every
number; not timestamps, timings, versions or the review's notes).
`components.review.report_html` turns the content into one HTML file, and
`components.review.pdf` that file into a PDF.

No Streamlit. The model is only touched through ``bundle.runner`` (in-process for samples and
tests, a worker process for the CLI), so TensorFlow is never imported here for an upload.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import platform
import shlex
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.data.checks import Dataset, model_input
from components.data.evaluation import evaluate_scores
from components.errors import DataError, GlassboxError
from components.explain.agreement import ordered_methods
from components.explain.local import check_methods, check_row, explain_all, subject_for
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution
from components.inspect.graph import LayerGraph, Node, build_graph
from components.model.bundle import ModelBundle
from components.model.predict import scores_of
from components.model.task import TASKS

REPORT_FORMAT = "glassbox-report/1"
SIGNIFICANT_DIGITS = 10  # floats are rounded to this many before hashing
AGREEMENT_TOP_K = 5  # what `explain_sample` compares by default, as the CLI's `explain`
BACKGROUND_SEED = 0  # `subject_for`'s background draw, the same as the app and `explain`
# Library -> the distributions that provide it (TensorFlow is pinned as tensorflow-cpu).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"),
    **{name: (name,) for name in ("keras", "numpy", "pandas", "shap", "lime", "scikit-learn",
                                  "plotly", "streamlit")}}
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Report:
    """``content``: everything the report says, JSON-ready. ``numeric_sha256``: SHA-256 (hex)
    of the canonical JSON of its reproducible part (`numeric_part`)."""

    content: dict
    numeric_sha256: str


# ---------------------------------------------------------------- building


def build_report(bundle: ModelBundle, dataset: Dataset, *, model_name: str, data_name: str,
                 data_sha256: str, task: str, rows: Sequence[int],
                 methods: Sequence[str] | None = None, seed: int = 0,
                 target: int | None = None, class_names: Sequence[str] | None = None,
                 review: dict | None = None, command: str | None = None,
                 model_title: str | None = None) -> Report:
    """Score the model on ``dataset``, explain each of ``rows`` with each of ``methods``
    (default: every registered method; those that do not apply are listed as skipped), and
    assemble the report.

    ``rows`` are 0-based dataset rows; ``target`` the output index explained (default: each
    row's predicted class); ``class_names`` name the outputs (else "0".."k-1"); ``review``
    is ``{"id", "pins": [...], "events": [...]}`` as plain dicts (`Store.signed_review`
    adds the files' digests and the head's signature, which the page then embeds), or None.
    ``command`` is the command line that reproduces the report (default: one built from
    the arguments).
    ``model_title`` is the human-readable name the report is headed with (default: the file
    name); like the file names it is not part of the numeric hash.
    Raises `GlassboxError` (one line) for a dataset that failed its checks, a bad row or an
    unknown method, before the model is asked anything.
    """
    started = time.perf_counter()
    rows = _check_rows(dataset, rows)
    methods = _check_method_names(methods)
    if task not in TASKS:
        raise GlassboxError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise GlassboxError(f"the seed must be an integer, not {seed!r}")
    names = None if class_names is None else [str(c) for c in class_names]
    runner = bundle.runner
    graph = runner.run(expanded_graph)
    scores = np.asarray(runner.run(scores_of, model_input(dataset)))  # once, for every row
    evaluation = _evaluation(scores, dataset, task, names)
    pins = _pins_by_row(review)
    samples = []
    for row in rows:
        subject = subject_for(dataset, row, task, seed=BACKGROUND_SEED)
        # fixed counts: the same command on the same files gives the same numbers anywhere
        explanation, features = runner.run(explain_all, subject, methods, target, int(seed),
                                           fixed=True)
        samples.append(_sample(dataset, row, explanation, features, names,
                               pins.get(row, []) if review is not None else None))
    parameters = {
        "rows": rows, "methods": methods, "seed": int(seed), "target": target, "task": task,
        "label": dataset.label_name, "class_names": names, "agreement_top_k": AGREEMENT_TOP_K,
        "background_seed": BACKGROUND_SEED,
    }
    content = {
        "format": REPORT_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "command": command or reproduce_command(model_name, data_name, rows=rows,
                                                methods=methods, seed=int(seed), task=task,
                                                target=target),
        "parameters": parameters,
        "model": {"name": model_name, "title": model_title or model_name,
                  "sha256": bundle.loaded.sha256,
                  "format": bundle.loaded.fmt, "summary": bundle.summary.to_json(),
                  "graph": _graph_json(graph)},
        "dataset": _dataset_json(dataset, data_name, data_sha256),
        "task": task,
        "evaluation": evaluation,
        "samples": samples,
        "review": _review_json(review),
        "timing": {"build_seconds": round(time.perf_counter() - started, 3)},
    }
    content = _jsonable(content)
    return Report(content=content, numeric_sha256=numeric_sha256(content))


def _check_rows(dataset: Dataset, rows: Sequence[int]) -> list[int]:
    """``rows`` as a list of valid, distinct row indices, else a one-line `GlassboxError`."""
    errors = [c.message for c in dataset.checks if c.level == "error"]
    if errors or dataset.x is None:
        raise DataError(errors[0] if errors else "the dataset did not pass its checks")
    rows = list(rows)
    if not rows:
        raise DataError("no rows to report on; give at least one row number")
    for row in rows:
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
            raise DataError(f"row {row!r} is not a row number")
    checked = [check_row(dataset, row) for row in rows]
    repeated = sorted({r for r in checked if checked.count(r) > 1})
    if repeated:
        raise DataError(f"row {repeated[0]} is listed more than once")
    return checked


def _check_method_names(methods: Sequence[str] | None) -> list[str]:
    names = check_methods(REGISTRY if methods is None else methods)
    if not names:
        raise DataError("no methods to run; give at least one method name")
    if len(set(names)) != len(names):
        raise DataError("a method is listed more than once")
    return names


def expanded_graph(model: Any) -> LayerGraph:
    """The layer graph with every nested model drawn layer by layer (runs where the model
    lives: ``runner.run(expanded_graph)``). Expanding can reveal deeper submodels, so it
    repeats until no new one appears."""
    expanded: tuple[str, ...] = ()
    graph = build_graph(model, expanded)
    while set(graph.submodels) - set(expanded):
        expanded = tuple(graph.submodels)
        graph = build_graph(model, expanded)
    return graph


def _graph_json(graph: LayerGraph) -> dict[str, Any]:
    return {"nodes": [asdict(node) for node in graph.nodes.values()],
            "edges": [list(edge) for edge in graph.edges],
            "groups": {k: list(v) for k, v in graph.groups.items()},
            "submodels": list(graph.submodels)}


def graph_from_json(data: Mapping[str, Any]) -> LayerGraph:
    """The `LayerGraph` `_graph_json` wrote (shapes back as tuples, for the hover text)."""
    def shape(value: Any) -> Any:
        return tuple(shape(v) for v in value) if isinstance(value, list) else value

    nodes = {n["id"]: Node(**{**n, "output_shape": shape(n["output_shape"])})
             for n in data["nodes"]}
    return LayerGraph(nodes=nodes, edges=tuple(tuple(e) for e in data["edges"]),
                      groups={k: tuple(v) for k, v in data["groups"].items()},
                      submodels=tuple(data["submodels"]))


def _dataset_json(dataset: Dataset, name: str, sha256: str) -> dict[str, Any]:
    return {"name": name, "sha256": sha256, "kind": dataset.kind, "rows": dataset.n_rows,
            "shape": list(np.shape(dataset.x)), "label": dataset.label_name,
            "features": dataset.feature_names if dataset.kind == "tabular" else None,
            "checks": [{"level": c.level, "message": c.message} for c in dataset.checks
                       if c.level != "ok"]}


def _evaluation(scores: np.ndarray, dataset: Dataset, task: str,
                class_names: list[str] | None) -> dict[str, Any]:
    """The metrics page's numbers; ``available`` False with the reason when the data cannot
    be scored (no labels, labels the model cannot predict)."""
    try:
        ev = evaluate_scores(scores, dataset, task,
                             None if class_names is None else tuple(class_names))
    except GlassboxError as err:
        return {"available": False, "reason": str(err), "task": task}
    out: dict[str, Any] = {"available": True, "task": task, "rows": int(len(ev.y_true)),
                           "summary": dict(ev.summary),
                           "class_names": None if ev.class_names is None
                           else list(ev.class_names)}
    if ev.per_class is not None:
        table = ev.per_class.reset_index()
        out["per_class"] = [{"class": str(r[0]), "precision": r[1], "recall": r[2],
                             "f1": r[3], "support": int(r[4])}
                            for r in table.itertuples(index=False)]
    if ev.confusion is not None:
        out["confusion"] = np.asarray(ev.confusion).tolist()
    if ev.residuals is not None:
        out["residuals"] = np.asarray(ev.residuals, dtype=float).tolist()
    return out


def _sample(dataset: Dataset, row: int, explanation: Any, features: list[str] | None,
            class_names: list[str] | None, pins: list[dict] | None) -> dict[str, Any]:
    """One explained row: its input, label, output, each method's answer and the agreement."""
    x = dataset.x[row]
    labels = dataset.labels
    methods = {}
    for name in ordered_methods(explanation.attributions):
        attr: Attribution = explanation.attributions[name]
        methods[name] = {"values": np.asarray(attr.values, dtype=float),
                         "base_value": attr.base_value, "params": dict(attr.params),
                         "extras": dict(attr.extras), "seconds": round(float(attr.seconds), 4),
                         "output_kind": attr.output_kind}
    agreed = explanation.agreement
    agreement = None if agreed is None else {
        "methods": list(agreed.spearman.index), "top_k": agreed.top_k,
        "spearman": agreed.spearman.to_numpy(dtype=float),
        "overlap": agreed.overlap.to_numpy(dtype=float), "flags": list(agreed.flags),
        "kinds": dict(agreed.kinds), "note": agreed.note}
    target = int(explanation.target)
    prediction = np.asarray(explanation.prediction, dtype=float).ravel()
    named = class_names is not None and len(class_names) == prediction.size
    return {
        "row": row,
        "input": str(x) if dataset.kind == "text" else np.asarray(x, dtype=float),
        "label": None if labels is None else labels[row],
        "prediction": prediction,
        "target": target,
        "target_name": class_names[target] if named else None,
        "features": features,
        "methods": methods,
        "skipped": dict(explanation.skipped),
        "agreement": agreement,
        "review": pins,
    }


def _pins_by_row(review: dict | None) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for pin in (review or {}).get("pins", []):
        out.setdefault(int(pin["row"]), []).append(dict(pin))
    return out


def _review_json(review: dict | None) -> dict[str, Any] | None:
    """The review as the report keeps it; ``model_sha256``, ``data_sha256`` and
    ``signature`` (the head's, `Store.signed_review`) only when given."""
    if review is None:
        return None
    out = {"id": review.get("id"), "pins": [dict(p) for p in review.get("pins", [])],
           "events": [dict(e) for e in review.get("events", [])],
           "verified": bool(review.get("verified", False))}
    for key in ("model_sha256", "data_sha256", "signature"):
        if review.get(key) is not None:
            out[key] = review[key]
    return out


def reproduce_command(model: str, data: str, *, rows: Sequence[int], methods: Sequence[str],
                      seed: int, task: str, target: int | None = None,
                      label: str | None = None, review: int | None = None,
                      workspace: str | None = None, out: str = "report.html",
                      pdf: str | None = None, vocab: str | None = None,
                      mask_id: int | None = None) -> str:
    """The shell command that rebuilds the report; methods, seed and task are spelled out so
    a later default cannot change what it computes."""
    args = ["python", "-m", "components", "report", model, data,
            "--rows", ",".join(str(r) for r in rows), "--methods", ",".join(methods),
            "--seed", str(seed), "--task", task]
    for flag, value in (("--target", target), ("--label", label), ("--review", review),
                        ("--workspace", workspace), ("--vocab", vocab), ("--mask-id", mask_id)):
        if value is not None:
            args += [flag, str(value)]
    args += ["--out", out] + (["--pdf", pdf] if pdf else [])
    return shlex.join(args)


def library_versions() -> dict[str, str | None]:
    """Python, Glassbox and each library's installed version (None if not installed), read
    from package metadata: nothing is imported, TensorFlow least of all."""
    versions: dict[str, str | None] = {"python": platform.python_version(),
                                       "glassbox": _glassbox_version()}
    for name, distributions in LIBRARIES.items():
        versions[name] = next(filter(None, map(_version, distributions)), None)
    return versions


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _glassbox_version() -> str | None:
    try:
        return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


# ---------------------------------------------------------------- hashing


def numeric_part(content: Mapping[str, Any]) -> dict[str, Any]:
    """What must come out the same on every run with the same files and arguments: digests,
    shapes, parameters, the evaluation and every explained number. Left out: file names, the
    time, timings, library versions, the command line, flag sentences and the review."""
    model, data = content["model"], content["dataset"]
    samples = []
    for s in content["samples"]:
        agreement = s["agreement"]
        samples.append({
            **{k: s[k] for k in ("row", "input", "label", "prediction", "target", "features")},
            "methods": {name: {k: v for k, v in m.items() if k != "seconds"}
                        for name, m in s["methods"].items()},
            "skipped": sorted(s["skipped"]),
            "agreement": None if agreement is None else {
                k: agreement[k] for k in ("methods", "top_k", "spearman", "overlap")},
        })
    return {
        "format": content["format"],
        "model": {k: model[k] for k in ("sha256", "format", "summary", "graph")},
        "dataset": {k: data[k] for k in ("sha256", "kind", "rows", "shape", "label",
                                         "features")},
        "task": content["task"],
        "parameters": content["parameters"],
        "evaluation": content["evaluation"],
        "samples": samples,
    }


def numeric_sha256(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of `numeric_part` as canonical JSON (sorted keys, no spaces, floats
    rounded to `SIGNIFICANT_DIGITS`), so last-bit float noise does not change it."""
    canonical = json.dumps(_rounded(numeric_part(content)), sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy arrays and scalars unpacked, tuples as lists, keys as str,
    NaN and infinities as None (JSON has no such numbers)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value)
