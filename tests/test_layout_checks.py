"""The browser layout check's rules, on hand-made page facts: each one can fail."""

from __future__ import annotations

from layout_checks import chart_problems, heading_problems, overlap, problems, raw_values


def _box(left: float, top: float, right: float, bottom: float) -> dict[str, float]:
    return {"left": left, "top": top, "right": right, "bottom": bottom,
            "width": right - left, "height": bottom - top}


def _facts(**over) -> dict:
    facts = {"viewport": {"width": 1600, "height": 1000}, "scrollWidth": 1600,
             "mainScroll": {"scrollWidth": 1200, "clientWidth": 1200}, "wide": [],
             "charts": [], "text": "Weights\nlayer · Dense", "heading": "Weights"}
    return facts | over


def test_boxes_overlap_only_beyond_a_pixel():
    assert overlap(_box(0, 0, 10, 10), _box(5, 5, 15, 15))
    assert not overlap(_box(0, 0, 10, 10), _box(10, 0, 20, 10))  # touching edges
    assert not overlap(_box(0, 0, 10, 10), _box(9.5, 0, 20, 10))  # sub-pixel rounding
    assert not overlap(_box(0, 0, 10, 10), _box(0, 20, 10, 30))


def test_text_lines_set_flush_do_not_overlap_but_half_a_line_does():
    """20 px lines: a title whose box ends 4 px into the next line's box (its descender
    room on the other's ascender room) is apart; one 8 px in is on it."""
    title = _box(0, 0, 100, 20)
    assert not overlap(title, _box(0, 16, 30, 36))
    assert overlap(title, _box(0, 12, 30, 32))


def test_overlapping_titles_and_cut_text_are_named():
    chart = {"index": 2, "title": "Agreement", "box": _box(0, 0, 500, 400), "texts": [
        {"kind": "title", "text": "Agreement", "box": _box(10, 5, 200, 25)},
        {"kind": "tick", "text": "LIME", "box": _box(150, 12, 190, 27)},
        {"kind": "tick", "text": "SHAP", "box": _box(170, 12, 210, 27)},  # ticks may touch
        {"kind": "axis title", "text": "pushes the output up", "box": _box(300, 380, 520, 398)},
    ]}
    found = chart_problems(chart)
    assert found == ["chart 2 'Agreement': title 'Agreement' overlaps tick 'LIME'",
                     "chart 2 'Agreement': title 'Agreement' overlaps tick 'SHAP'",
                     "chart 2 'Agreement': axis title 'pushes the output up' is cut by the "
                     "chart's edge"]
    clipped = {**chart, "texts": [{"kind": "label", "text": "tanh_branch",
                                   "box": _box(400, 100, 470, 115),
                                   "clip": _box(50, 50, 450, 350)}]}
    assert chart_problems(clipped) == [
        "chart 2 'Agreement': label 'tanh_branch' is cut by the chart's edge"]
    clean = {**chart, "texts": chart["texts"][1:3]}
    assert chart_problems(clean) == []
    # a feature name cut at the left edge (a margin sized too small) is named too
    cut_tick = {**chart, "texts": [{"kind": "tick", "text": "flavanoids",
                                    "box": _box(-12, 100, 50, 115)}]}
    assert chart_problems(cut_tick) == [
        "chart 2 'Agreement': tick 'flavanoids' is cut by the chart's edge"]


def test_raw_values_are_found_and_prose_is_not():
    bad = ["top-k\tNone", "p = 3.2e-06", "mean NaN", "1E+07 rows", "value: undefined",
           "x (nan)", "None"]
    assert raw_values("\n".join(bad)) == bad
    fine = ["None of the rows disagree", "None: upload below", "Nonetheless it works",
            "nano", "SHA-256 3e45fa07b1…", "resnet50e2", "v1.2e3x", "0.000003", "12e"]
    assert raw_values("\n".join(fine)) == []


def test_a_heading_must_be_a_title():
    assert heading_problems("Wine cultivar classifier") == []
    assert heading_problems("Weights") == []
    assert heading_problems("model.keras") == ["the heading 'model.keras' is a file name"]
    assert heading_problems("wine_classifier") == [
        "the heading 'wine_classifier' shows an identifier, not a title"]
    assert heading_problems(None) == ["the page has no heading (h1)"]


def test_page_rules_together():
    assert problems(_facts()) == []
    wide = problems(_facts(scrollWidth=1900, wide=[
        {"element": "div[stTable]", "right": 1900, "text": "hash"}]))
    assert wide == ["the page is 1900 px wide in a 1600 px viewport",
                    "div[stTable] reaches 1900 px > 1600 px: 'hash'"]
    cells = problems(_facts(cells=[{"table": 1, "text": "None"}, {"table": 1, "text": "n/a"},
                                   {"table": 0, "text": "Nonetheless"}]))
    assert cells == ["table 1 shows a cell 'None'"]
    named = problems(_facts(headings=["Weights", "A: wine_classifier"], charts=[
        {"index": 0, "title": "model.keras: loss", "box": _box(0, 0, 10, 10), "texts": []}]),
        identifiers=("wine_classifier", "model.keras"))
    assert named == ["the title 'A: wine_classifier' names the model as 'wine_classifier'",
                     "the title 'model.keras: loss' names the model as 'model.keras'"]
    assert problems(_facts(truncated=["Misclassified only"])) == [
        "the label 'Misclassified only' is cut short"]
    sideways = problems(_facts(mainScroll={"scrollWidth": 1500, "clientWidth": 1200}))
    assert sideways == ["the main area scrolls sideways (1500 px in 1200 px)"]
