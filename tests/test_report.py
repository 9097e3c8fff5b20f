"""The compliance report: reproducible hash, complete content, one safe self-contained page,
and its PDF. Models run in-process (`open_model` without isolation) to keep this fast."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from components.data.checks import Check
from components.data.session import open_dataset
from components.errors import GlassboxError
from components.model.bundle import open_model
from components.model.samples import get_sample
from components.review.pdf import html_to_pdf
from components.review.report import Report, build_report, numeric_part, numeric_sha256
from components.review.report_html import render_html

HOSTILE = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(1)</script><!--<script>"
WINE_METHODS = {"lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad"}
JSON_BLOCK = re.compile(r'<script type="application/json" id="glassbox-report">(.*?)</script>',
                        re.S)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def opened(key: str):
    """(bundle, dataset, model bytes, data bytes, sample) for a sample, in-process."""
    sample = get_sample(key)
    model, data = sample.model_path.read_bytes(), sample.data_path.read_bytes()
    bundle = open_model(model, "model.keras")
    return bundle, open_dataset(data, sample.data_path.name, bundle), model, data, sample


def report_of(key: str, rows, **kwargs):
    bundle, dataset, _, data, sample = opened(key)
    kwargs = {"model_name": "model.keras", "data_name": sample.data_path.name,
              "data_sha256": sha(data), "task": sample.task, "rows": rows,
              "class_names": sample.class_names, **kwargs}
    return build_report(bundle, dataset, **kwargs)


REVIEW = {"id": 7,
          "pins": [{"row": 5, "verdict": "concern", "note": BREAKOUT, "reviewer": HOSTILE,
                    "pinned_at": "2026-01-02T03:04:05+00:00",
                    "updated_at": "2026-01-02T03:05:00+00:00"}],
          "events": [{"id": 1, "at": "2026-01-02T03:04:05+00:00", "actor": HOSTILE,
                      "action": "assess", "row": 5,
                      "payload": {"verdict": "concern", "note": BREAKOUT},
                      "prev_hash": "0" * 64, "hash": "a" * 64}]}


@pytest.fixture(scope="module")
def wine():
    """Wine rows 1 and 5: twice with seed 0, once with seed 1, and one with hostile names,
    feature names and a review whose note tries to close the script block."""
    bundle, dataset, model, data, sample = opened("wine_classifier")
    common = {"data_sha256": sha(data), "task": sample.task, "rows": [1, 5],
              "class_names": sample.class_names}
    first = build_report(bundle, dataset, model_name="model.keras", data_name="data.csv",
                         **common)
    again = build_report(bundle, dataset, model_name="renamed.keras", data_name="other.csv",
                         model_title="Wine cultivar classifier", **common)
    seed1 = build_report(bundle, dataset, model_name="model.keras", data_name="data.csv",
                         seed=1, **common)
    names = [f"{HOSTILE}{i}" for i in range(13)]
    hostile = build_report(bundle, replace(dataset, feature_names=names), model_name=HOSTILE,
                           data_name=BREAKOUT, review=REVIEW,
                           **{**common, "class_names": [HOSTILE, "b", "c"]})
    return {"first": first, "again": again, "seed1": seed1, "hostile": hostile,
            "model_sha": sha(model), "data_sha": sha(data)}


# ---------------------------------------------------------------- reproducibility


def test_same_files_give_the_same_numbers_and_hash(wine):
    first, again = wine["first"], wine["again"]
    assert numeric_part(first.content) == numeric_part(again.content)
    assert first.numeric_sha256 == again.numeric_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", first.numeric_sha256)
    assert first.content["model"]["name"] != again.content["model"]["name"]  # names excluded


def test_another_seed_gives_other_values_and_another_hash(wine):
    first, seed1 = wine["first"], wine["seed1"]
    assert seed1.numeric_sha256 != first.numeric_sha256
    lime0 = first.content["samples"][0]["methods"]["lime"]["values"]
    lime1 = seed1.content["samples"][0]["methods"]["lime"]["values"]
    assert lime0 != lime1  # the seed reached the method, not only the parameter list


def test_hash_ignores_time_timings_versions_command_and_review(wine):
    content = copy.deepcopy(wine["first"].content)
    content["generated_at"] = "1999-01-01T00:00:00+00:00"
    content["versions"]["numpy"] = "0.0"
    content["command"] = "something else"
    content["timing"]["build_seconds"] = 123.0
    content["review"] = REVIEW
    for sample in content["samples"]:
        sample["review"] = REVIEW["pins"]
        for method in sample["methods"].values():
            method["seconds"] = 99.0
    assert numeric_sha256(content) == wine["first"].numeric_sha256
    # ...but any number it reports changes it, even in the 9th significant digit
    values = content["samples"][0]["methods"]["shap"]["values"]
    values[int(np.argmax(np.abs(values)))] *= 1 + 1e-8
    assert numeric_sha256(content) != wine["first"].numeric_sha256


# ---------------------------------------------------------------- content


def test_content_names_files_versions_metrics_and_every_method(wine):
    c = wine["first"].content
    assert c["model"]["sha256"] == wine["model_sha"]
    assert c["dataset"]["sha256"] == wine["data_sha"]
    assert c["dataset"]["shape"] == [178, 13] and c["dataset"]["label"] == "label"
    assert c["model"]["summary"]["total_params"] == 414
    assert c["versions"]["numpy"] == np.__version__
    for name in ("python", "tensorflow", "keras", "shap", "lime", "scikit-learn", "plotly"):
        assert c["versions"][name], name
    ev = c["evaluation"]
    assert ev["available"] and 0.9 < ev["summary"]["accuracy"] <= 1
    assert np.array(ev["confusion"]).shape == (3, 3) and np.sum(ev["confusion"]) == 178
    assert c["parameters"]["seed"] == 0 and c["parameters"]["rows"] == [1, 5]
    assert "--rows 1,5" in c["command"] and "--seed 0" in c["command"]
    assert [s["row"] for s in c["samples"]] == [1, 5]
    for s in c["samples"]:
        assert set(s["methods"]) == WINE_METHODS and "gradcam" in s["skipped"]
        assert len(s["prediction"]) == 3 and s["target"] == int(np.argmax(s["prediction"]))
        for name, m in s["methods"].items():
            assert np.array(m["values"]).shape == (13,), name
            assert m["params"]["seed"] == 0 and m["seconds"] >= 0
        assert m["base_value"] is None
        assert s["methods"]["shap"]["base_value"] is not None
        assert s["methods"]["ig"]["extras"]["completeness_error"] < 0.01
        agreement = s["agreement"]
        assert np.array(agreement["spearman"]).shape == (6, 6) and agreement["flags"]
        assert s["review"] is None  # no review given
    json.dumps(c, allow_nan=False)  # plain JSON throughout


def test_review_verdicts_go_with_their_rows(wine):
    c = wine["hostile"].content
    assert c["review"]["id"] == 7 and len(c["review"]["events"]) == 1
    by_row = {s["row"]: s["review"] for s in c["samples"]}
    assert by_row[1] == [] and by_row[5][0]["verdict"] == "concern"
    assert by_row[5][0]["note"] == BREAKOUT


# ---------------------------------------------------------------- the page


class Tags(HTMLParser):
    """Start tags with their attributes, and each <script>'s attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
            self.in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


@pytest.fixture(scope="module")
def pages(wine) -> dict[str, str]:
    return {name: render_html(wine[name]) for name in ("first", "hostile")}


def test_page_is_self_contained(wine, pages):
    page = pages["first"]
    tags = parsed(page)
    assert "<script src" not in page.lower()
    assert not [t for t, a in tags.tags if t in ("link", "iframe", "object", "embed", "img")]
    assert not [a for _, a in tags.tags if "src" in a or "href" in a]
    scripts = [text for attrs, text in tags.scripts if not attrs]
    bundles = [s for s in scripts if len(s) > 1_000_000]
    assert len(bundles) == 1 and "Plotly" in bundles[0]  # plotly.js, inlined once
    # Outside plotly.js (whose code mentions URLs it never fetches here) nothing names one.
    ours = page.replace(bundles[0], "")
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:)?//""", ours, re.I)
    assert "@import" not in ours and "http://" not in ours and "https://" not in ours
    figures = [s for s in scripts if "Plotly.newPlot" in s and len(s) < 1_000_000]
    # confusion matrix + per row: 6 bar charts and the agreement matrix (the architecture is
    # Graphviz's SVG, inline)
    assert len(figures) == 1 + 2 * (6 + 1)
    (graph,) = re.findall(r'<div class="graph"><svg .*?</svg></div>', page, re.S)
    assert graph.count('class="node"') == len(wine["first"].content["model"]["graph"]["nodes"])
    assert wine["model_sha"] in page and wine["data_sha"] in page
    assert wine["first"].numeric_sha256 in page
    assert page.count('class="sample"') == 2


def test_page_carries_the_full_content_as_json(wine, pages):
    (block,) = JSON_BLOCK.findall(pages["first"])
    assert json.loads(block) == wine["first"].content


def test_hostile_text_is_escaped_everywhere(wine, pages):
    page = pages["hostile"]
    tags = parsed(page)
    assert "<img" not in page  # not in the markup, not in any script
    assert not [a for _, a in tags.tags if any(k.startswith("on") for k in a)]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, as text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the note, as text
    # Every script is ours: the bundle, the figures, and the one JSON block, which holds the
    # note intact (it did not end the block early).
    kinds = [attrs.get("type", "js") for attrs, _ in tags.scripts]
    assert kinds.count("application/json") == 1
    assert all(k in ("js", "application/json") for k in kinds)
    assert all("Plotly" in text for attrs, text in tags.scripts if not attrs)
    # Plotly reads some tags in its labels (<a href>, <b>): user text reaches the figures as
    # entities, never as "<" (which the figure JSON would carry as \u003c).
    figures = [text for attrs, text in tags.scripts if "Plotly.newPlot" in text]
    assert figures and not [f for f in figures if "\\u003cimg" in f]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in f for f in figures)
    (block,) = JSON_BLOCK.findall(page)
    assert "<" not in block and json.loads(block) == wine["hostile"].content
    assert json.loads(block)["samples"][1]["review"][0]["note"] == BREAKOUT
    assert "Audit trail of review #7" in page


def test_layer_names_from_the_file_are_text_in_the_graph_and_tables(wine):
    content = copy.deepcopy(wine["first"].content)
    link = '<a href="https://evil.example/">click</a>'
    content["model"]["graph"]["nodes"][0]["name"] = link
    content["model"]["summary"]["layers"][0]["name"] = link
    page = render_html(Report(content, wine["first"].numeric_sha256))
    scripts = parsed(page).scripts
    ours = page.replace(max((text for _, text in scripts), key=len), "")  # less plotly.js
    assert "<a href" not in ours and "&lt;a href=&quot;https://evil.example/&quot;&gt;" in ours
    (graph,) = re.findall(r'<div class="graph"><svg .*?</svg></div>', page, re.S)
    assert "<a " not in graph and "&lt;a href=\"https:" in graph  # a text, cut at 40 characters
    assert not [t for t, _ in parsed(graph).tags if t not in ("div", "svg", "g", "path",
                                                               "polygon", "text")]


def test_without_figures_the_page_is_tables_only(wine):
    page = render_html(wine["first"], figures=False)
    assert "Plotly" not in page and len(page) < 200_000
    assert wine["model_sha"] in page


@pytest.mark.parametrize("key, rows, shape", [("digits_cnn", [2, 7], (16, 16, 1)),
                                              ("sentiment_text", [0], None)])
def test_image_and_text_reports_render(key, rows, shape):
    report = report_of(key, rows)
    page = render_html(report)
    c = report.content
    assert [s["row"] for s in c["samples"]] == rows
    for s in c["samples"]:
        assert s["methods"], s["skipped"]
        for name, m in s["methods"].items():
            if shape:
                assert np.array(m["values"]).shape == shape, name
            else:  # one value per token
                assert len(m["values"]) == len(s["features"]) > 0, name
    if shape:
        assert "gradcam" in c["samples"][0]["methods"]
        assert np.array(c["samples"][0]["input"]).shape == shape
    else:
        text = c["samples"][0]["input"]
        assert isinstance(text, str) and text.split()[0] in page
    assert page.count("Plotly.newPlot") >= 1 + len(rows) * 2
    assert c["model"]["sha256"] in page


def test_the_regression_report_has_residuals():
    c = report_of("diabetes_regression", [1], methods=["shap", "ig"]).content
    assert set(c["evaluation"]["summary"]) >= {"mae", "rmse", "r2"}
    assert len(c["evaluation"]["residuals"]) == c["dataset"]["rows"]
    assert c["samples"][0]["target"] == 0


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("rows, message", [
    ([178], "row 178 is out of range: the dataset has 178 rows"),
    ([-1], "row -1 is out of range"),
    ([], "no rows to report on"),
    ([3, 3], "row 3 is listed more than once"),
    (["1"], "row '1' is not a row number"),
    ([True], "row True is not a row number"),
])
def test_bad_rows_are_one_line_errors(rows, message):
    with pytest.raises(GlassboxError) as err:
        report_of("wine_classifier", rows)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_methods_and_bad_tasks_are_refused():
    with pytest.raises(GlassboxError, match="unknown method deeplift"):
        report_of("wine_classifier", [1], methods=["lime", "deeplift"])
    with pytest.raises(GlassboxError, match="unknown task 'ranking'"):
        report_of("wine_classifier", [1], task="ranking")
    with pytest.raises(GlassboxError, match="target 9 is out of range"):
        report_of("wine_classifier", [1], target=9)


def test_a_dataset_that_failed_its_checks_is_refused():
    bundle, dataset, _, data, _ = opened("wine_classifier")
    broken = replace(dataset, x=None, checks=(Check("error", "column 'ash' is missing"),))
    with pytest.raises(GlassboxError, match="^column 'ash' is missing$"):
        build_report(bundle, broken, model_name="m", data_name="d", data_sha256=sha(data),
                     task="multiclass", rows=[1])


# ---------------------------------------------------------------- PDF


def test_pdf_has_a_page_per_sample_and_the_model_digest(wine, pages, tmp_path):
    out = tmp_path / "report.pdf"
    html_to_pdf(pages["first"], out)
    assert out.read_bytes()[:5] == b"%PDF-"
    info = subprocess.run(["pdfinfo", out], capture_output=True, text=True, check=True).stdout
    pages_count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages_count >= 1 + 2  # the front matter, then each sample from a new page
    assert "A4" in info
    text = subprocess.run(["pdftotext", out, "-"], capture_output=True, text=True,
                          check=True).stdout
    assert wine["model_sha"] in text and wine["first"].numeric_sha256 in text
    assert "Row 1" in text and "Row 5" in text
    # the figures were drawn before printing: the bar charts' axis titles are in the PDF
    assert text.count("red raises the output") >= 2 * 6


def test_pdf_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(GlassboxError, match="PDF export needs Chromium: apt-get install"):
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf")
    monkeypatch.setenv("GLASSBOX_CHROMIUM", "/bin/false")
    with pytest.raises(GlassboxError, match="^Chromium could not print the PDF"):
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
    with pytest.raises(GlassboxError, match="no such folder"):
        html_to_pdf("<p>x</p>", Path(tmp_path / "missing" / "x.pdf"))


# ---------------------------------------------------------------- issue 16: read by a person


def test_the_report_is_headed_by_the_models_title_which_is_not_hashed(wine):
    again = wine["again"]
    assert again.content["model"]["title"] == "Wine cultivar classifier"
    assert wine["first"].content["model"]["title"] == "model.keras"  # no title: the file
    assert again.numeric_sha256 == wine["first"].numeric_sha256
    page = render_html(again, figures=False)
    assert "<h1>Glassbox model report: Wine cultivar classifier</h1>" in page
    assert "<title>Glassbox report: Wine cultivar classifier</title>" in page


def test_methods_that_do_not_apply_take_one_short_line(pages):
    page = pages["first"]  # wine is tabular: Grad-CAM, asked for, does not apply
    assert page.count('<p class="muted">Not applicable here: Grad-CAM (') == 2  # once a row
    assert "<p>Not applicable here:</p>" not in page


def test_model_outputs_read_as_percentages(pages):
    outputs = re.findall(r"<td>model output</td><td>(.*?)</td>", pages["first"])
    assert len(outputs) == 2
    for shown in outputs:
        assert shown.startswith("[") and shown.count("%") == 3, shown
        assert not re.search(r"\de-?\d", shown), shown


def test_audit_payloads_read_as_key_value_pairs():
    from components.review.report_html import payload_text

    payload = {"explain_settings": {"methods": ["gradxinput", "ig"], "seed": 0,
                                    "params": {"gradxinput": {}, "ig": {"steps": 64}}}}
    assert payload_text(payload) == ("explain_settings=(methods=[gradxinput, ig], seed=0, "
                                     "params=(gradxinput=defaults, ig=(steps=64)))")
    assert payload_text({}) == "defaults"


def test_audit_hashes_are_whole_on_lines_of_their_own(pages):
    page = pages["hostile"]
    assert '<code class="hash">' + "a" * 64 + "</code>" in page
    assert '<code class="prev-hash">' + "0" * 64 + "</code>" in page
    assert "table.audit { table-layout: fixed; }" in page
    assert re.search(r"table.audit td \{[^}]*overflow-wrap: anywhere", page)
    assert "verdict=concern" in page  # the payload in words


def test_the_report_fits_a_page_width(wine, browser):
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.set_content(render_html(wine["hostile"], figures=False))
        width = page.evaluate("document.documentElement.scrollWidth")
        audit = page.evaluate("document.querySelector('section.audit table')"
                              ".getBoundingClientRect().width")
        body = page.evaluate("document.body.getBoundingClientRect().width")
    finally:
        page.close()
    assert width <= 1000 and audit <= body <= 760


def test_pdf_keeps_every_audit_hash_whole(wine, tmp_path):
    out = tmp_path / "audit.pdf"
    html_to_pdf(render_html(wine["hostile"], figures=False), out)
    text = subprocess.run(["pdftotext", out, "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "a" * 64 in text and "0" * 64 in text


def test_the_reports_agreement_compares_like_with_like(wine, pages):
    sample = wine["first"].content["samples"][0]
    assert sample["methods"]["lime"]["output_kind"] == "contribution"
    assert sample["methods"]["saliency"]["output_kind"] == "sensitivity"
    assert sample["agreement"]["kinds"]["smoothgrad"] == "sensitivity"
    page = pages["first"]
    assert "Contributions are ranked only against contributions" in page
    # the pairs table: contributions with contributions, sensitivities with sensitivities
    assert "LIME / SHAP" in page and "Saliency / SmoothGrad" in page
    assert "LIME / Saliency" not in page and "SHAP / SmoothGrad" not in page
    # each panel says what its values are
    for title in ("LIME \\u00b7 contribution", "Saliency \\u00b7 sensitivity"):
        assert title in page or title.encode().decode("unicode_escape") in page, title
