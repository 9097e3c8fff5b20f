"""Browser test: the global page in Debian's headless chromium, through the real server."""

from __future__ import annotations

import os

import pytest

from browser_support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]


def test_the_global_page_computes_and_draws_its_charts(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 3200})
    page.goto(f"{server}/global_view?sample=wine_classifier")
    page.get_by_role("heading", name="Global explanations").wait_for(timeout=120_000)
    page.get_by_text("Computed on 178 rows").wait_for(timeout=120_000)  # the default run
    rows = page.get_by_label("Rows to explain")
    rows.fill("60")
    page.get_by_role("button", name="Compute").click()
    page.get_by_text("Computed on 60 rows of 178").wait_for(timeout=120_000)
    # importance, beeswarm, dependence and two PDP/ICE charts
    charts = page.locator(".js-plotly-plot")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5",
                           timeout=60_000)
    assert charts.count() == 5
    beeswarm = charts.nth(1)
    # one point per row and feature: 60 rows x 13 features
    assert beeswarm.locator(".scatterlayer .trace path.point").count() == 60 * 13
    assert page.get_by_text("Permutation importance: scikit-learn's").is_visible()
    page.screenshot(path=str(tmp_path / "global.png"), full_page=True)
    page.close()
