"""Picking a sample on the Explain page (AppTest): a click reruns what shows the row, not the
page, and every view follows the pick: the panels, the table's tick, the map's ring, the row
box and the sidebar's pin."""

from __future__ import annotations

import json

import page_charts
import pytest

import components.ui.explain_widgets as widgets
from apptest_support import clicked, new_app, selected
from components.ui.kept_chart import chart_spec_for

PAGE = "views/explain.py"


@pytest.fixture(scope="module")
def wine():
    at = new_app(timeout=300)
    at.query_params["sample"] = "wine_classifier"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def built(monkeypatch) -> dict[str, int]:
    """How often the table (its filtering) and the map (its figure) were built; the
    figures' cache starts empty (it is the server's, shared by the tests in this process)."""
    counts = {"table": 0, "map": 0}
    chart_spec_for.clear()

    def counted(name, real):
        def call(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(widgets, "filter_table", counted("table", widgets.filter_table))
    monkeypatch.setattr(widgets, "sample_map", counted("map", widgets.sample_map))
    return counts


def _keyed(elements, prefix: str):
    return next(e for e in elements if (e.key or "").startswith(prefix))


def _header(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Row "))


def _ticked(at) -> list[int]:
    """The table rows (positions on its page) the last run ticked."""
    state = _keyed(at.dataframe, "table_").proto.selection_state
    return json.loads(state)["selection"]["rows"] if state else []


def _ring(at) -> str:
    """The label of the ring drawn over the map, "row N" for the selected row."""
    shapes = page_charts.kept_data(page_charts.kept(at, "map_"))["layout"]["shapes"]
    assert len(shapes) == 1 and shapes[0]["type"] == "circle", shapes
    return shapes[0]["label"]["text"].replace("<b>", "").replace("</b>", "")


def _row_box(at) -> int:
    return next(n for n in at.number_input if n.label == "Row").value


def _pin_row(at) -> int:
    return next(n for n in at.number_input if n.label == "Sample row").value


def _click_map(at, row: int):
    point = {"customdata": [row], "curve_number": 0, "point_number": 0}
    return clicked(at, page_charts.kept(at, "map_"), {"points": [point]})


def test_the_first_run_ticks_the_selected_row(wine):
    assert _header(wine).startswith("**Row 0**")
    assert _ticked(wine) == [0]
    assert _ring(wine) == "row 0"


def test_a_map_click_moves_the_tick_in_the_table(wine, built):
    """The bug: after a click on the map, the table kept the old row ticked."""
    at = _click_map(wine, 42)
    assert not at.exception, at.exception
    assert _header(at).startswith("**Row 42**")
    assert _ticked(at) == [42]  # row 42 is the 43rd of the first page
    assert _ring(at) == "row 42" and _row_box(at) == 42 and _pin_row(at) == 42
    assert at.query_params["row"] in ("42", ["42"])
    # the views of the row reran, not the page: the table and the map once each
    assert built == {"table": 1, "map": 1}


def test_a_table_click_reruns_the_panels_not_the_table(wine, built):
    at = selected(wine, _keyed(wine.dataframe, "table_"),
                  {"rows": [5], "columns": [], "cells": []})
    assert not at.exception, at.exception
    assert _header(at).startswith("**Row 5**")
    assert _ring(at) == "row 5" and _row_box(at) == 5 and _pin_row(at) == 5
    assert built == {"table": 0, "map": 1}  # the table already shows its own tick


def test_the_row_box_picks_a_row(wine, built):
    box = next(n for n in wine.number_input if n.label == "Row")
    at = box.set_value(17).run()
    assert not at.exception, at.exception
    assert _header(at).startswith("**Row 17**")
    assert _ticked(at) == [17] and _ring(at) == "row 17" and _pin_row(at) == 17
    assert built == {"table": 1, "map": 1}


def test_a_row_picked_again_is_drawn_without_building_its_figures(wine, built, monkeypatch):
    """A cached pick's server time was mostly Plotly building the same figures again."""
    bars = []
    real = widgets.plots.attribution_bars
    monkeypatch.setattr(widgets.plots, "attribution_bars",
                        lambda *a, **k: bars.append(1) or real(*a, **k))
    _click_map(wine, 30)
    _click_map(wine, 31)
    assert len(bars) == 2 * 6 and built["map"] == 1  # a pick moves the ring, not the map
    at = _click_map(wine, 30)
    assert not at.exception, at.exception
    assert _header(at).startswith("**Row 30**") and _ring(at) == "row 30"
    assert len(bars) == 2 * 6 and built["map"] == 1  # the same figures, from the cache
    assert len([c for c in page_charts.charts(at) if (c.key or "").startswith("panel_")]) == 6


def _panel_specs(at) -> list[dict]:
    return [json.loads(c.spec) for c in page_charts.charts(at)
            if (c.key or "").startswith("panel_")]


def test_a_row_computed_before_is_drawn_in_one_pass(wine, monkeypatch):
    """A row this session explained already skips the "waiting" and "computing" states
    (each a redraw in the browser) and draws what the first pick drew: the same panels, the
    finished bar, the same header and agreement table."""
    passes = []
    real = widgets._drawn_at_once
    monkeypatch.setattr(widgets, "_drawn_at_once",
                        lambda *a, **k: passes.append(a[2]) or real(*a, **k))
    first = _click_map(wine, 50)
    specs, tables = _panel_specs(first), [t.value for t in first.table]
    assert passes == [] and len(specs) == 6
    _click_map(wine, 51)
    again = _click_map(wine, 50)
    assert not again.exception, again.exception
    assert passes == [50]
    assert _panel_specs(again) == specs
    assert all(a.equals(b) for a, b in zip([t.value for t in again.table], tables,
                                            strict=True))
    bars = [p.value for p in again.get("progress")]
    assert bars == [100] and again.get("progress")[0].proto.text.startswith("Row 50: 6 of 6")
    assert not [c.value for c in again.caption if c.value.endswith(("waiting", "computing…"))]


def test_the_sample_is_one_wrapping_line_of_its_features(wine):
    """The sample's values as text that wraps (a one-row table of 13 features ran past the
    page's width), every feature named, numbers without exponents."""
    at = _click_map(wine, 3)
    line = next(m.value for m in at.markdown if m.value.startswith("alcohol **"))
    assert line.count(" · ") == 12 and "od280/od315\\_of\\_diluted\\_wines **" in line
    assert "e-" not in line and "e+" not in line


def _target(at):
    return next(s for s in at.selectbox if s.label == "Explain the output")


def _predicted_rows(at) -> dict[str, int]:
    """The first row predicted as each class."""
    table = _keyed(at.dataframe, "table_").value
    pairs = zip(table.index, table["prediction"], strict=True)
    return {str(p): int(i) for i, p in reversed(list(pairs))}


def _shown_target(at) -> str:
    box = _target(at)
    return box.options[box.index]


def test_the_target_follows_each_rows_prediction_until_one_is_chosen(wine):
    """The bug: the target box kept the first row's class, so a row predicted as another
    class was explained for the old one. A target the user chooses stays across picks."""
    (_, a), (_, b) = sorted(_predicted_rows(wine).items())[:2]
    at = _click_map(wine, a)
    assert _shown_target(at).endswith("· predicted"), _shown_target(at)
    class_a = _target(at).value
    at = _click_map(at, b)
    assert _shown_target(at).endswith("· predicted") and _target(at).value != class_a
    class_b = _target(at).value
    at = _target(at).set_value(class_a).run()  # the user asks for row a's class on row b
    assert at.get("progress")[0].proto.text.startswith(f"Row {b}:")
    at = _click_map(_click_map(at, a), b)
    assert _target(at).value == class_a and not _shown_target(at).endswith("· predicted")
    at = _target(at).set_value(class_b).run()  # back on row b's own prediction: it follows
    at = _click_map(at, a)
    assert _target(at).value == class_a and _shown_target(at).endswith("· predicted")


def test_a_row_hidden_by_the_filters_is_ticked_nowhere(wine):
    """Last in this module: the filter leaves one page, and AppTest then keeps the pager of
    the table's previous run in its tree (the browser drops it), so no run can follow."""
    at = _click_map(wine, 0)
    classes = next(m for m in at.multiselect if m.label == "Predicted class")
    wanted = _keyed(at.dataframe, "table_").value["prediction"].iloc[0]
    at = classes.set_value([c for c in classes.options if c != wanted]).run()
    assert not at.exception, at.exception
    assert _header(at).startswith("**Row 0**")  # the row stays selected, only not listed
    assert 0 not in _keyed(at.dataframe, "table_").value.index
    assert _ticked(at) == []
