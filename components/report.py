"""A reproducible, self-contained compliance report: one HTML file (and, via `components.pdf`,
a PDF) that says which model, which data, what it scores, and why it decided as it did on
chosen rows, with every parameter, seed and library version needed to redo it.

`build_report` gathers everything into `Report.content`, a JSON-ready dict, and hashes the
part that must come out the same on every run (`numeric_sha256`: digests, parameters, every
number; not timestamps, timings, versions or the review's notes). `render_html` turns the
content into one HTML file that loads nothing from the network (plotly.js inlined once, CSS
inline) and prints to A4 with one sample per page.

No Streamlit. The model is only touched through ``bundle.runner`` (in-process for samples and
tests, a worker process for the CLI), so TensorFlow is never imported here for an upload.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import json
import math
import platform
import shlex
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.agreement import method_label, ordered_methods
from components.data_checks import Dataset
from components.errors import DataError, GlassboxError
from components.explain_view import check_methods, check_row, subject_for
from components.explainers import REGISTRY
from components.explainers.base import Attribution
from components.graph import LayerGraph, Node, build_graph
from components.metrics_view import evaluate_dataset
from components.model_ops import explain_all, scores_of
from components.task import TASKS
from components.workspace import ModelBundle

REPORT_FORMAT = "glassbox-report/1"
SIGNIFICANT_DIGITS = 10  # floats are rounded to this many before hashing
AGREEMENT_TOP_K = 5  # what `explain_sample` compares by default, as the CLI's `explain`
BACKGROUND_SEED = 0  # `subject_for`'s background draw, the same as the app and `explain`
BAR_FEATURES = 20  # tabular bar charts show at most this many features, in one shared order
OVERLAY_OPACITY = 0.6  # the explain page's default
LIST_SHOWN = 16  # longer lists in the parameter tables are cut (the JSON keeps them whole)
# Library -> the distributions that provide it (TensorFlow is pinned as tensorflow-cpu).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"),
    **{name: (name,) for name in ("keras", "numpy", "pandas", "shap", "lime", "scikit-learn",
                                  "plotly", "streamlit")}}
ROOT = Path(__file__).resolve().parent.parent


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
                 review: dict | None = None, command: str | None = None) -> Report:
    """Score the model on ``dataset``, explain each of ``rows`` with each of ``methods``
    (default: every registered method; those that do not apply are listed as skipped), and
    assemble the report.

    ``rows`` are 0-based dataset rows; ``target`` the output index explained (default: each
    row's predicted class); ``class_names`` name the outputs (else "0".."k-1"); ``review``
    is ``{"id", "pins": [...], "events": [...]}`` as plain dicts, or None. ``command`` is the
    command line that reproduces the report (default: one built from the arguments).
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
    scores = np.asarray(runner.run(scores_of, dataset.x))  # once, for every row
    evaluation = _evaluation(scores, dataset, task, names)
    pins = _pins_by_row(review)
    samples = []
    for row in rows:
        subject = subject_for(None, dataset, row, None, task, seed=BACKGROUND_SEED)
        explanation, features = runner.run(explain_all, subject, methods, target, int(seed))
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
        "model": {"name": model_name, "sha256": bundle.loaded.sha256,
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
        ev = evaluate_dataset(lambda _x: scores, dataset, task,
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
                         "extras": dict(attr.extras), "seconds": round(float(attr.seconds), 4)}
    agreed = explanation.agreement
    agreement = None if agreed is None else {
        "methods": list(agreed.spearman.index), "top_k": agreed.top_k,
        "spearman": agreed.spearman.to_numpy(dtype=float),
        "overlap": agreed.overlap.to_numpy(dtype=float), "flags": list(agreed.flags)}
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
    if review is None:
        return None
    return {"id": review.get("id"), "pins": [dict(p) for p in review.get("pins", [])],
            "events": [dict(e) for e in review.get("events", [])],
            "verified": bool(review.get("verified", False))}


def reproduce_command(model: str, data: str, *, rows: Sequence[int], methods: Sequence[str],
                      seed: int, task: str, target: int | None = None,
                      label: str | None = None, review: int | None = None,
                      workspace: str | None = None, out: str = "report.html",
                      pdf: str | None = None) -> str:
    """The shell command that rebuilds the report; methods, seed and task are spelled out so
    a later default cannot change what it computes."""
    args = ["python", "-m", "components", "report", model, data,
            "--rows", ",".join(str(r) for r in rows), "--methods", ",".join(methods),
            "--seed", str(seed), "--task", task]
    for flag, value in (("--target", target), ("--label", label), ("--review", review),
                        ("--workspace", workspace)):
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


# ---------------------------------------------------------------- rendering

A4_WIDTH_PX = 700  # 210 mm less 2 x 12 mm margins, at 96 px per inch (186 mm ~ 703 px)
PANEL_WIDTH = {"tabular": 345, "image": 168, "text": A4_WIDTH_PX}  # 2, 4 and 1 per line
AGREEMENT_SIDE = 345
SHORT_LABELS = {"lime": "LIME", "shap": "SHAP", "saliency": "Sal.", "gradxinput": "G×I",
                "ig": "IG", "smoothgrad": "SG", "gradcam": "CAM"}
FIGURE_CONFIG = {"staticPlot": True, "displayModeBar": False}

CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 760px; padding: 24px 28px; }
h1 { font-size: 22px; margin: 0 0 12px; word-break: break-all; }
h2 { font-size: 17px; border-bottom: 2px solid var(--ink); padding-bottom: 3px;
     margin: 28px 0 10px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 12px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left;
         vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
                   font-size: 11px; overflow-wrap: anywhere; word-break: break-all; }
pre { background: var(--soft); border: 1px solid var(--line); padding: 8px;
      white-space: pre-wrap; }
.muted { color: var(--muted); }
.panels { display: flex; flex-wrap: wrap; gap: 8px 8px; }
.figure { break-inside: avoid; page-break-inside: avoid; }
.review { border-left: 4px solid #0969da; background: #f1f8ff; padding: 6px 10px;
          margin: 8px 0; }
.review.none { border-color: var(--line); background: var(--soft); }
.flags li { margin: 2px 0; }
.sampletext { white-space: pre-wrap; border: 1px solid var(--line); padding: 6px 8px; }
footer { margin-top: 28px; border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  section.sample, section.audit { break-before: page; page-break-before: always; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, .review { break-inside: avoid; page-break-inside: avoid; }
  .figure { max-width: 100%; }
}
"""


def render_html(report: Report, figures: bool = True) -> str:
    """The report as ONE self-contained HTML page (no network fetch: plotly.js, CSS and the
    full content JSON are inline). ``figures`` False leaves out plotly.js and every figure
    (tables only, a much smaller file). Every text from the user's files is escaped."""
    c = report.content
    fig = _Figures(enabled=figures)
    model, data = c["model"], c["dataset"]
    parts = [
        f"<h1>Glassbox model report: {_e(model['name'])}</h1>",
        _identity(c, report.numeric_sha256),
        "<h2>Reproduce</h2>",
        "<p>This command, run on the same two files, rebuilds the report; the numeric "
        "SHA-256 at the end is then the same.</p>",
        f"<pre>{_e(c['command'])}</pre>",
        _table(["parameter", "value"], [[k, _fmt(v)] for k, v in c["parameters"].items()]),
        "<h2>Software</h2>",
        _table(["library", "version"], [[k, _fmt(v)] for k, v in c["versions"].items()]),
        _architecture(model, fig),
        _evaluation_html(c["evaluation"], fig),
    ]
    if data["checks"]:
        parts.insert(3, "<h3>Dataset notes</h3>" + _list(
            f"{ch['level']}: {ch['message']}" for ch in data["checks"]))
    parts += [_sample_html(s, data["kind"], fig) for s in c["samples"]]
    if c.get("review") is not None:
        parts.append(_audit(c["review"]))
    parts.append(f"<footer><p>Numeric SHA-256 (digests, parameters and every number in this "
                 f"report, floats to {SIGNIFICANT_DIGITS} significant digits): "
                 f"<code id=\"numeric-sha256\">{_e(report.numeric_sha256)}</code></p>"
                 f"<p class=\"muted\">Generated {_e(c['generated_at'])} by Glassbox "
                 f"{_e(c['versions'].get('glassbox') or '')}.</p></footer>")
    head = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        # Defence in depth: even were some text to slip through unescaped, this page may
        # fetch nothing and run only its own inline scripts.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
        "font-src data:; base-uri 'none'; form-action 'none'\">",
        f"<title>Glassbox report: {_e(model['name'])}</title>",
        f"<style>{CSS}</style>",
    ]
    if figures:
        head.append(f"<script>{_plotly_js()}</script>")
    body = "\n".join(parts)
    return "\n".join([*head, "</head><body>", body, _content_script(c), "</body></html>", ""])


def _content_script(content: Mapping[str, Any]) -> str:
    """The full content as a JSON block. ``<``, ``>`` and ``&`` are written as \\u escapes,
    so no text inside (a note holding ``</script>`` or ``<!--``) can end or alter the
    block; `JSON.parse` reads them back as the characters."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="glassbox-report">{text}</script>'


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # The bundle is inlined in a <script>; it holds no "</script" (checked to be sure).
    js = get_plotlyjs()
    return js.replace("</script", "<\\/script")


class _Figures:
    """Turns figures into HTML divs with stable ids (fig-1, fig-2, ...), static for print."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0

    def __call__(self, figure: Any, width: int, height: int | None = None) -> str:
        if not self.enabled:
            return ""
        import plotly.io as pio

        self.count += 1
        height = int(height or figure.layout.height or 300)
        figure.update_layout(width=width, height=height, autosize=False,
                             template="plotly_white")
        div = pio.to_html(figure, full_html=False, include_plotlyjs=False,
                          div_id=f"fig-{self.count}", config=FIGURE_CONFIG,
                          default_width=f"{width}px", default_height=f"{height}px")
        return f'<div class="figure" style="width:{width}px">{div}</div>'


def _identity(c: Mapping[str, Any], digest: str) -> str:
    model, data, review = c["model"], c["dataset"], c.get("review")
    summary = model["summary"]
    rows = [
        ["model file", _e(model["name"])],
        ["model SHA-256", f'<code id="model-sha256">{_e(model["sha256"])}</code>'],
        ["model format", _e(model["format"])],
        ["Keras model name", _e(summary["name"])],
        ["task", _e(c["task"])],
        ["data file", _e(data["name"])],
        ["data SHA-256", f'<code id="data-sha256">{_e(data["sha256"])}</code>'],
        ["data kind and shape", _e(f"{data['kind']}, {tuple(data['shape'])}")],
        ["label column", _e(_fmt(data["label"]))],
        ["rows explained", _e(", ".join(str(s["row"]) for s in c["samples"]))],
        ["generated (UTC)", _e(c["generated_at"])],
        ["numeric SHA-256", f"<code>{_e(digest)}</code>"],
    ]
    if review is not None:
        rows.insert(10, ["review", _e(f"#{review['id']}: {len(review['pins'])} pinned rows, "
                                      f"{len(review['events'])} audit events")])
    return _table(["", ""], rows, escape=False, header=False)


def _architecture(model: Mapping[str, Any], fig: _Figures) -> str:
    from components.graph import layout
    from components.plots_model import architecture_figure

    s = model["summary"]
    overview = _table(["inputs", "outputs", "parameters", "trainable", "layers", "task"], [[
        _fmt(s["inputs"]), _fmt(s["outputs"]), f"{s['total_params']:,}",
        f"{s['trainable_params']:,}", str(len(s["layers"])), s["task"]]])
    layers = _table(["layer", "type", "output shape", "parameters", "inside"],
                    [[("\u2003" if r["parent"] else "") + str(r["name"]), r["class_name"],
                      _fmt(r["output_shape"]), f"{r['params']:,}", _fmt(r["parent"])]
                     for r in s["layers"]])
    graph = graph_from_json(model["graph"])
    figure = architecture_figure(graph, layout(graph))  # escapes the file's layer names
    height = min(int(figure.layout.height or 400), 900)  # one A4 page at most
    return "\n".join(["<h2>Architecture</h2>", overview, layers,
                      fig(figure, A4_WIDTH_PX, height)])


def _evaluation_html(ev: Mapping[str, Any], fig: _Figures) -> str:
    from components import plots_metrics

    parts = ["<h2>Evaluation on the dataset</h2>"]
    if not ev["available"]:
        return parts[0] + f"<p>Not scored: {_e(ev['reason'])}</p>"
    parts.append(f"<p>{ev['rows']:,} labelled rows, task {_e(ev['task'])}.</p>")
    parts.append(_table(["metric", "value"], [[k.replace("_", " "), _num(v)]
                                              for k, v in ev["summary"].items()],
                        numeric=(1,)))
    if ev.get("per_class"):
        parts.append(_table(["class", "precision", "recall", "F1", "support"],
                            [[r["class"], _num(r["precision"]), _num(r["recall"]),
                              _num(r["f1"]), str(r["support"])] for r in ev["per_class"]],
                            numeric=(1, 2, 3, 4)))
    if ev.get("confusion") is not None:
        # the builder escapes the class names (Plotly reads HTML in labels)
        figure = plots_metrics.confusion_matrix_figure(ev["confusion"], ev["class_names"],
                                                       False)
        figure.update_layout(clickmode="none", title="Confusion matrix (rows: true class)")
        parts.append(fig(figure, min(A4_WIDTH_PX, int(figure.layout.height or 400) + 120)))
    if ev.get("residuals") is not None:
        figure = plots_metrics.residual_histogram(ev["residuals"])
        figure.update_layout(title="Residuals (predicted \u2212 true)")
        parts.append(fig(figure, A4_WIDTH_PX, 320))
    return "\n".join(parts)


def _sample_html(s: Mapping[str, Any], kind: str, fig: _Figures) -> str:
    from components import plots_explain

    row, target = s["row"], s["target"]
    out = [f'<section class="sample" id="row-{int(row)}">', f"<h2>Row {int(row)}</h2>"]
    target_text = f"output {target}" + (f" ({s['target_name']})" if s["target_name"] else "")
    facts = [["explained output", _e(target_text)],
             ["model output", _e(_fmt(s["prediction"]))],
             ["true label", _e(_fmt(s["label"]))]]
    if kind == "text":
        facts.insert(0, ["text", f'<div class="sampletext">{_e(s["input"])}</div>'])
    elif kind == "tabular" and s["features"]:
        shown = ", ".join(f"{name} = {_num(v)}"
                          for name, v in zip(s["features"], s["input"], strict=False))
        facts.insert(0, ["input", _e(shown)])
    out.append(_table(["", ""], facts, escape=False, header=False))
    out.append(_review_box(s["review"]))
    attributions = {name: _attribution(name, m, target, s["features"])
                    for name, m in s["methods"].items()}
    out.append("<h3>Explanations</h3>")
    if kind == "image":
        out.append('<p class="muted">Each map is scaled to its own largest |value|: red raises '
                   "the explained output, blue lowers it.</p>")
    panels = []
    order = (plots_explain.feature_order(attributions, min(BAR_FEATURES, _size(attributions)))
             if kind == "tabular" and attributions else None)
    for name, attr in attributions.items():
        title = method_label(name)
        if kind == "tabular":
            figure = plots_explain.attribution_bars(attr, order, np.asarray(s["input"]), title)
            height = 17 * len(order) + 120
        elif kind == "image":
            figure = plots_explain.image_overlay(np.asarray(s["input"]), attr.values,
                                                 opacity=OVERLAY_OPACITY, title=title)
            height = 200
        else:
            figure = plots_explain.token_heatmap(list(attr.feature_names or ()), attr.values,
                                                 title=title)
            height = None
        figure.update_layout(font_size=10, title_font_size=13)
        panels.append(fig(figure, PANEL_WIDTH[kind], height))
    out.append(f'<div class="panels">{"".join(panels)}</div>')
    if s["skipped"]:
        out.append("<p>Not applicable here:</p>" + _list(
            f"{method_label(k)}: {v}" for k, v in s["skipped"].items()))
    out.append(_agreement_html(s["agreement"], fig))
    out.append("<h3>Parameters, seeds and timings</h3>")
    out.append(_table(["method", "parameters", "base value", "details", "seconds"], [
        [method_label(name), _kv(m["params"]), _num(m["base_value"]), _kv(m["extras"]),
         f"{m['seconds']:.3f}"] for name, m in s["methods"].items()], numeric=(4,)))
    out.append("</section>")
    return "\n".join(out)


def _size(attributions: Mapping[str, Attribution]) -> int:
    return int(np.size(next(iter(attributions.values())).values))


def _attribution(name: str, m: Mapping[str, Any], target: int,
                 features: Sequence[str] | None) -> Attribution:
    return Attribution(values=np.asarray(m["values"], dtype=float), method=name,
                       target=target, params=m["params"], seconds=m["seconds"],
                       base_value=m["base_value"],
                       feature_names=None if features is None else tuple(features),
                       extras=m["extras"])


def _agreement_html(agreement: Mapping[str, Any] | None, fig: _Figures) -> str:
    """The flags, a table of every pair (Spearman, top-k overlap) and the Spearman matrix."""
    from components.plots_explain import agreement_heatmap

    if agreement is None:
        return ""
    methods, k = agreement["methods"], agreement["top_k"]
    flags = '<ul class="flags">' + "".join(f"<li>{_e(f)}</li>" for f in agreement["flags"])
    parts = ["<h3>Do the methods agree?</h3>", flags + "</ul>"]
    pairs = list(combinations(range(len(methods)), 2))
    if not pairs:
        return "\n".join(parts)
    rows = [[f"{method_label(methods[i])} / {method_label(methods[j])}",
             _num(agreement["spearman"][i][j], 3), _num(agreement["overlap"][i][j], 3)]
            for i, j in pairs]
    table = _table(["pair", "Spearman", f"top-{k} overlap"], rows, numeric=(1, 2))
    # Short names (unknown to `method_label`, so shown as given) keep the matrix legible at
    # half the page width.
    short = [SHORT_LABELS.get(m, m) for m in methods]
    legend = ", ".join(f"{a} = {method_label(m)}" for a, m in zip(short, methods, strict=True)
                       if a != m)
    matrix = pd.DataFrame(np.array(agreement["spearman"], dtype=float), index=short,
                          columns=short)
    figure = agreement_heatmap(matrix)
    figure.update_layout(font_size=10, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    parts += [f'<p class="muted">Spearman rank correlation of each pair\'s values and the share '
              f"of their top {k} in common. In the matrix: {_e(legend)}.</p>",
              f'<div class="panels"><div style="width:{AGREEMENT_SIDE}px">{table}</div>'
              f"{fig(figure, AGREEMENT_SIDE, AGREEMENT_SIDE)}</div>"]
    return "\n".join(parts)


def _review_box(pins: list[dict] | None) -> str:
    if pins is None:
        return ""
    if not pins:
        return '<div class="review none">Not pinned in this review.</div>'
    boxes = []
    for pin in pins:
        boxes.append(
            '<div class="review">'
            f"<strong>Verdict: {_e(_fmt(pin.get('verdict')))}</strong>"
            f" \u2014 {_e(_fmt(pin.get('reviewer')))}, pinned {_e(_fmt(pin.get('pinned_at')))}"
            f", updated {_e(_fmt(pin.get('updated_at')))}"
            f'<div class="note">{_e(_fmt(pin.get("note")))}</div></div>')
    return "".join(boxes)


def _audit(review: Mapping[str, Any]) -> str:
    rows = [[_fmt(e.get("id")), _fmt(e.get("at")), _fmt(e.get("actor")), _fmt(e.get("action")),
             _fmt(e.get("row")), _fmt(e.get("payload")), _fmt(e.get("prev_hash")),
             _fmt(e.get("hash"))] for e in review["events"]]
    table = _table(["#", "at", "actor", "action", "row", "payload", "previous hash", "hash"],
                   rows) if rows else "<p>No events recorded.</p>"
    return "\n".join([f'<section class="audit"><h2>Audit trail of review #{_e(review["id"])}'
                      "</h2>", "<p>Each event's hash covers the previous one, so a removed or "
                      "altered event breaks the chain. "
                      + ("The chain was verified when this report was built."
                         if review.get("verified") else "The chain was not verified here.")
                      + "</p>", table, "</section>"])


# ---------------------------------------------------------------- small HTML helpers


def _e(value: Any) -> str:
    """User text as HTML text (quotes too, so it is also safe inside attributes)."""
    return html.escape(str(value), quote=True)


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, escape: bool = True,
           header: bool = True, numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped unless ``escape`` is False (then the caller has
    escaped each one); columns listed in ``numeric`` are right-aligned."""
    body = []
    for row in rows:
        tds = []
        for i, value in enumerate(row):
            text = _e(value) if escape else str(value)
            tds.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    head = ("<thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr></thead>"
            if header else "")
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>"


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "\u2014"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.{digits}g}"


def _fmt(value: Any, inner: bool = False) -> str:
    """A JSON value as short plain text (lists cut after `LIST_SHOWN` items); None is a dash,
    or "None" inside a list (a shape's free batch axis)."""
    if value is None:
        return "None" if inner else "\u2014"
    if isinstance(value, float):
        return _num(value, 6)
    if isinstance(value, list):
        shown = ", ".join(_fmt(v, inner=True) for v in value[:LIST_SHOWN])
        more = f", \u2026 {len(value)} in all" if len(value) > LIST_SHOWN else ""
        return f"[{shown}{more}]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _kv(mapping: Mapping[str, Any]) -> str:
    return "; ".join(f"{k} = {_fmt(v)}" for k, v in mapping.items()) or "\u2014"
