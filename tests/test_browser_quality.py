"""Browser test of the Quality page: the real server in Debian's headless chromium."""

from __future__ import annotations

import os

import pytest

from browser_support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]


def test_a_link_opens_the_deletion_and_insertion_curves_of_that_row(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.goto(f"{server}/quality?sample=wine_classifier&row=2")
    page.get_by_role("heading", name="Explanation quality").wait_for(timeout=120_000)
    page.get_by_text("Row 2", exact=False).first.wait_for(timeout=120_000)
    # the curves: one chart with both panels, titled by what a faithful method does there
    figure = page.locator(".js-plotly-plot").filter(
        has_text="Deletion: a lower area is more faithful")
    figure.first.wait_for(timeout=120_000)
    assert figure.first.get_by_text("Insertion: a higher area is more faithful").is_visible()
    assert figure.first.get_by_text("Random order (reference)").first.is_visible()
    # the areas of row 2, as a table under its heading
    page.get_by_text("Area under the curves, row 2").wait_for(timeout=60_000)
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
    assert "row=2" in page.url
    page.screenshot(path=str(tmp_path / "quality.png"), full_page=True)
    page.close()
