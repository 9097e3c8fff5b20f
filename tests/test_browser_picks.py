"""Browser test: a click in the sample table, then one on the map, each shows that row's
panels, and the table's tick follows the map's pick."""

from __future__ import annotations

import os

import pytest

from browser_support import CHROMIUM, MAP_POINTS, PANELS_SHOWN

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

WAIT_MS = 120_000
ROW_PX, HEADER_PX, MARKER_PX = 35, 35, 15  # the grid's row and header height, tick column
# The sample table's ticked rows near position ``at`` of its page: the grid mirrors the rows
# it draws in an accessible table (first data row: aria-rowindex 2), so it is scrolled there.
SCROLL_TO = """(at) => { document.querySelector('[data-testid="stDataFrame"] .dvn-scroller')
  .scrollTop = Math.max(0, at - 2) * 35; }"""
TICKED = """() => [...document.querySelector('[data-testid="stDataFrame"]')
  .querySelectorAll('tbody tr[aria-selected="true"]')]
  .map((tr) => Number(tr.getAttribute('aria-rowindex')) - 2)"""
# The Plotly charts on screen (map, panels, agreement: kept charts, `components.ui.kept_chart`)
# as [tag, ring label]: a tag set on a chart's node stays with that node, so a node found
# again was kept, not drawn again; the ring label is the map's "row N".
CHARTS = r"""(tag) => [...document.querySelectorAll('.glassbox-chart')].map((c, i) => {
  const seen = c.__testTag || null;
  if (tag) c.__testTag = tag + i;
  const shape = (c._fullLayout.shapes || [])[0];
  return [seen, shape && shape.label ? shape.label.text.replace(/<\/?b>/g, '') : null]; })"""
# Each kept chart's drawn width and its column's width (px).
WIDTHS = """() => [...document.querySelectorAll('.glassbox-chart')]
  .map((c) => [Math.round(c._fullLayout.width), c.parentElement.clientWidth])"""
IDLE = """() => !document.querySelector('[data-stale="true"]')
  && !document.querySelector('[data-testid="stStatusWidget"]')"""


def _panels(page, row: int) -> None:
    """Wait until row ``row``'s panels are shown (see `PANELS_SHOWN`) and the app is idle."""
    page.wait_for_function(PANELS_SHOWN, arg=row, polling=100, timeout=WAIT_MS)
    page.wait_for_function(IDLE, polling=100, timeout=WAIT_MS)
    page.wait_for_timeout(300)  # Plotly finishes drawing the map: a click before is lost
    page.get_by_text(f"Row {row} ·").first.wait_for(timeout=WAIT_MS)  # the sample's header


def _ticked(page, near: int) -> list[int]:
    page.evaluate(SCROLL_TO, near)
    page.wait_for_timeout(300)
    return page.evaluate(TICKED)


def test_table_and_map_clicks_explain_their_row_and_the_tick_follows(server, browser,
                                                                     tmp_path):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{server}/explain?sample=wine_classifier&row=0")
    _panels(page, 0)
    assert _ticked(page, 0) == [0]

    box = page.get_by_test_id("stDataFrame").first.bounding_box()  # the sample table
    page.mouse.click(box["x"] + MARKER_PX, box["y"] + HEADER_PX + 3 * ROW_PX + ROW_PX / 2)
    _panels(page, 3)
    assert "row=3" in page.url and _ticked(page, 3) == [3]

    points = page.evaluate(MAP_POINTS)  # [row, trace, point, px to the nearest other]
    row, trace, point, _ = next(p for p in points if p[3] >= 12 and 3 < p[0] < 100)
    page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").nth(trace) \
        .locator("path.point").nth(point).click(force=True)
    _panels(page, row)
    assert f"row={row}" in page.url
    assert _ticked(page, row) == [row]  # the bug: the table kept row 3 ticked
    page.screenshot(path=str(tmp_path / "picked.png"))
    page.close()


def _type_row(page, row: int) -> None:
    box = page.get_by_label("Row", exact=True)
    box.fill(str(row))
    box.press("Enter")
    _panels(page, row)


def test_a_row_picked_again_is_drawn_in_one_pass_and_its_values_download(server, browser,
                                                                          tmp_path):
    """Row 5, row 6, then row 5 again in one session: row 5's panels come back with no
    "waiting" or "computing" state drawn in between, as the very charts drawn the first time
    (kept by the page, not drawn again); the map is never redrawn, only its ring moves; the
    CSV download is written on the click."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{server}/explain?sample=wine_classifier&row=5")
    _panels(page, 5)
    first = page.evaluate(CHARTS, "row5-")
    assert len(first) == 1 + 6 + 1 and first[0][1] == "row 5", first  # map, panels, agreement
    _type_row(page, 6)
    six = page.evaluate(CHARTS, None)
    assert six[0] == ["row5-0", "row 6"], six  # the same map, its ring on row 6
    assert not [tag for tag, _ in six[1:] if tag], six  # row 6's panels: drawn for it
    # Every caption the page shows while row 5 is drawn again, seen by the page itself.
    page.evaluate("""() => { window.__states = [];
      new MutationObserver(() => document.querySelectorAll('[data-testid="stCaptionContainer"]')
        .forEach((c) => window.__states.push(c.innerText))).observe(document.body,
        {subtree: true, childList: true, characterData: true}); }""")
    _type_row(page, 5)
    states = page.evaluate("window.__states")
    assert states and not [s for s in states if s.endswith(("computing…", "waiting"))], states
    again = page.evaluate(CHARTS, None)
    assert [tag for tag, _ in again] == [f"row5-{i}" for i in range(len(first))], again
    assert again[0][1] == "row 5", again
    # a narrower window: every chart, kept or not, follows its column's width
    page.set_viewport_size({"width": 1100, "height": 1000})
    page.wait_for_function(f"() => ({WIDTHS})().every(([w, c]) => Math.abs(w - c) <= 1)",
                           timeout=WAIT_MS)
    page.set_viewport_size({"width": 1600, "height": 1000})
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download attributions (CSV)").click()
    path = tmp_path / "row5.csv"
    download.value.save_as(path)
    header = path.read_text().splitlines()[0]
    assert download.value.suggested_filename == "row5-attributions.csv"
    for method in ("lime", "shap", "ig", "saliency"):
        assert method in header, header
    page.close()
