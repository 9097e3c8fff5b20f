"""The compliance report as one self-contained HTML file: nothing loaded from the network
(plotly.js inlined once, CSS inline), every text from the user's files escaped, printed to
A4 with one sample per page. Its content comes from `components.review.report`; a signed
review's trail is also embedded as the `components.review.audit` block that
``python -m components verify`` checks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from components.data.numbers import percent
from components.errors import GlassboxError
from components.explain.agreement import method_label
from components.explain.methods.base import Attribution
from components.inspect.graph import LayerGraph
from components.review.audit import AUDIT_ID, REPORT_ID, audit_block
from components.review.report import SIGNIFICANT_DIGITS, Report, graph_from_json

BAR_FEATURES = 20  # tabular bar charts show at most this many features, in one shared order
OVERLAY_OPACITY = 0.6  # the explain page's default
LIST_SHOWN = 16  # longer lists in the parameter tables are cut (the JSON keeps them whole)
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
/* The audit trail: fixed columns (a long payload or name wraps inside its own), and each
   event's two 64-hex hashes on a line of their own below it, whole, small enough for A4. */
table.audit { table-layout: fixed; }
table.audit td { overflow-wrap: anywhere; word-break: break-word; }
table.audit td.hashes { font-size: 9.5px; white-space: nowrap; overflow-wrap: normal;
                        word-break: normal; color: var(--muted); }
table.audit td.hashes code { font-size: 9.5px; word-break: normal; overflow-wrap: normal; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
                   font-size: 11px; overflow-wrap: anywhere; word-break: break-all; }
pre { background: var(--soft); border: 1px solid var(--line); padding: 8px;
      white-space: pre-wrap; }
.muted { color: var(--muted); }
code.whole { white-space: nowrap; word-break: normal; overflow-wrap: normal; }
.panels { display: flex; flex-wrap: wrap; gap: 8px 8px; }
.figure { break-inside: avoid; page-break-inside: avoid; }
.graph svg { display: block; max-width: 100%; height: auto; margin: 8px auto; }
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
        f"<h1>Glassbox model report: {_e(_title(model))}</h1>",
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
    parts += [_sample_html(s, data["kind"], fig, c["task"]) for s in c["samples"]]
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
        f"<title>Glassbox report: {_e(_title(model))}</title>",
        f"<style>{CSS}</style>",
    ]
    if figures:
        head.append(f"<script>{_plotly_js()}</script>")
    body = "\n".join(parts)
    blocks = [_json_script(REPORT_ID, c)]
    audit = audit_block(c["review"]) if c.get("review") is not None else None
    if audit is not None:
        blocks.append(_json_script(AUDIT_ID, audit))
    return "\n".join([*head, "</head><body>", body, *blocks, "</body></html>", ""])


def _json_script(block_id: str, value: Any) -> str:
    """``value`` as an inert JSON block. ``<``, ``>`` and ``&`` are written as \\u escapes,
    so no text inside (a note holding ``</script>`` or ``<!--``) can end or alter the
    block; `JSON.parse` reads them back as the characters."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{_e(block_id)}">{text}</script>'


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
        ["model", _e(_title(model))],
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
        rows.insert(11, ["review", _e(f"#{review['id']}: {len(review['pins'])} pinned rows, "
                                      f"{len(review['events'])} audit events")])
    if review is not None and review.get("signature"):
        rows.insert(12, ["audit trail signed by", "Ed25519 key, SHA-256 fingerprint "
                         f"<code>{_e(review['signature']['fingerprint'])}</code>"])
    return _table(["", ""], rows, escape=False, header=False)


def _architecture(model: Mapping[str, Any], fig: _Figures) -> str:
    s = model["summary"]
    overview = _table(["inputs", "outputs", "parameters", "trainable", "layers", "task"], [[
        _fmt(s["inputs"]), _fmt(s["outputs"]), f"{s['total_params']:,}",
        f"{s['trainable_params']:,}", str(len(s["layers"])), s["task"]]])
    layers = _table(["layer", "type", "output shape", "parameters", "inside"],
                    [[("\u2003" if r["parent"] else "") + str(r["name"]), r["class_name"],
                      _fmt(r["output_shape"]), f"{r['params']:,}", _fmt(r["parent"])]
                     for r in s["layers"]])
    parts = ["<h2>Architecture</h2>", overview, layers]
    if fig.enabled:
        parts.append(_graph_svg(graph_from_json(model["graph"])))
    return "\n".join(parts)


def _graph_svg(graph: LayerGraph) -> str:
    """The layer graph as the Architecture page draws it (Graphviz, the same DOT source, boxes
    coloured by type), inline SVG re-serialised by `safe_svg` so every label from the file is
    escaped text; a one-line note instead when dot is missing or fails."""
    from components.inspect.dot_layout import safe_svg
    from components.plots.model import architecture_image

    try:
        svg = safe_svg(architecture_image(graph, "svg"))
    except GlassboxError as err:
        return f'<p class="muted">The layer graph is not drawn: {_e(str(err))}</p>'
    return f'<div class="graph">{svg}</div>'


def _evaluation_html(ev: Mapping[str, Any], fig: _Figures) -> str:
    from components.plots import metrics as plots_metrics

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


def _sample_html(s: Mapping[str, Any], kind: str, fig: _Figures, task: str) -> str:
    from components.plots import explain as plots_explain

    row, target = s["row"], s["target"]
    out = [f'<section class="sample" id="row-{int(row)}">', f"<h2>Row {int(row)}</h2>"]
    target_text = f"output {target}" + (f" ({s['target_name']})" if s["target_name"] else "")
    facts = [["explained output", _e(target_text)],
             ["model output", _e(_outputs(s["prediction"], task))],
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
    for attr in attributions.values():
        title = plots_explain.panel_title(attr)
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
    if s["skipped"]:  # one short line: they were asked for, but do not fit this model
        out.append('<p class="muted">Not applicable here: ' + _e("; ".join(
            f"{method_label(k)} ({v})" for k, v in s["skipped"].items())) + ".</p>")
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
                       extras=m["extras"], output_kind=m.get("output_kind"))


def _agreement_html(agreement: Mapping[str, Any] | None, fig: _Figures) -> str:
    """The flags, a table of every pair (Spearman, top-k overlap) and the Spearman matrix."""
    from components.plots.explain import agreement_heatmap

    if agreement is None:
        return ""
    methods, k = agreement["methods"], agreement["top_k"]
    flags = '<ul class="flags">' + "".join(f"<li>{_e(f)}</li>" for f in agreement["flags"])
    parts = ["<h3>Do the methods agree?</h3>", flags + "</ul>"]
    kinds = agreement.get("kinds") or {}
    if agreement.get("note"):
        parts.append(f'<p class="muted">{_e(agreement["note"])}</p>')
    # A contribution and a sensitivity are not compared: no row for such a pair.
    pairs = [(i, j) for i, j in combinations(range(len(methods)), 2)
             if kinds.get(methods[i]) == kinds.get(methods[j])]
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
    figure = agreement_heatmap(matrix, kinds={SHORT_LABELS.get(m, m): kind
                                              for m, kind in kinds.items()})
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


AUDIT_COLUMNS = (("#", 5), ("at (UTC)", 22), ("actor", 13), ("action", 9), ("row", 6),
                 ("payload", 45))  # (title, width in %): the widths add up to 100


def _audit_table(events: Sequence[Mapping[str, Any]]) -> str:
    """One row per event, then its hash and the previous one, each whole on its own line
    (a 64-hex hash cut at the page edge cannot be checked by hand)."""
    cols = "".join(f'<col style="width:{w}%">' for _, w in AUDIT_COLUMNS)
    head = "".join(f"<th>{_e(c)}</th>" for c, _ in AUDIT_COLUMNS)
    body = []
    for e in events:
        cells = [_fmt(e.get("id")), _fmt(e.get("at")), _fmt(e.get("actor")),
                 _fmt(e.get("action")), _fmt(e.get("row")), payload_text(e.get("payload"))]
        body.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in cells) + "</tr>")
        body.append(f'<tr><td class="hashes" colspan="{len(AUDIT_COLUMNS)}">'
                    f'hash <code class="hash">{_e(_fmt(e.get("hash")))}</code><br>'
                    f'previous <code class="prev-hash">{_e(_fmt(e.get("prev_hash")))}</code>'
                    "</td></tr>")
    return (f'<table class="audit"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _audit(review: Mapping[str, Any]) -> str:
    events = review["events"]
    table = _audit_table(events) if events else "<p>No events recorded.</p>"
    return "\n".join([f'<section class="audit"><h2>Audit trail of review #{_e(review["id"])}'
                      "</h2>", "<p>Each event's hash covers the previous one, so a removed or "
                      "altered event breaks the chain. "
                      + ("The chain was verified when this report was built."
                         if review.get("verified") else "The chain was not verified here.")
                      + "</p>", _signature_html(review.get("signature")), table,
                      "</section>"])


def _signature_html(sig: Mapping[str, Any] | None) -> str:
    """The head's signature in words, with everything needed to check it by hand (the PDF
    keeps this text; the HTML also embeds it for ``python -m components verify``)."""
    if not sig:
        return '<p class="muted">This trail is not signed.</p>'
    value = str(sig["signature"])
    head = (f"event #{_e(sig['event_id'])}" if sig["event_id"] else "the empty trail")
    rows = [["signed head", f"{head}, hash <code>{_e(sig['hash'])}</code>"],
            ["key fingerprint (SHA-256)", f'<code id="key-fingerprint">'
                                          f'{_e(sig["fingerprint"])}</code>'],
            ["Ed25519 signature", f"<code>{_e(value[:64])}<br>{_e(value[64:])}</code>"],
            ["public key", f'<pre class="mono">{_e(sig["public_key"]).strip()}</pre>']]
    return (f"<p>The server signed the trail's last state ({head}) with its Ed25519 key, "
            "whose fingerprint is below. Check this file offline: <code class=\"whole\">"
            "python -m components verify REPORT.html --key KEY.pem</code>.</p>"
            + _table(["", ""], rows, escape=False, header=False))


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
        return payload_text(value)
    return str(value)


def payload_text(value: Any) -> str:
    """An audit payload (or any JSON value) in words: ``key=value`` pairs, a nested mapping
    in parentheses, an empty one as "defaults" (a method run with its default settings):
    ``explain_settings=(methods=[ig, lime], params=(ig=defaults, lime=(num_samples=2000)))``.
    """
    if isinstance(value, Mapping):
        if not value:
            return "defaults"
        return ", ".join(f"{k}=" + (f"({payload_text(v)})" if isinstance(v, Mapping) and v
                                    else payload_text(v)) for k, v in value.items())
    return _fmt(value)


def _title(model: Mapping[str, Any]) -> str:
    """The model's human-readable title (older report contents have only the file name)."""
    return str(model.get("title") or model["name"])


def _outputs(prediction: Sequence[float], task: str) -> str:
    """A row's outputs: class probabilities as percentages, other outputs as numbers."""
    values = [float(v) for v in prediction]
    if task != "regression" and all(0.0 <= v <= 1.0 for v in values):
        return "[" + ", ".join(percent(v) for v in values) + "]"
    return _fmt(values)


def _kv(mapping: Mapping[str, Any]) -> str:
    return "; ".join(f"{k} = {_fmt(v)}" for k, v in mapping.items()) or "\u2014"
