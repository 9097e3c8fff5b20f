"""Browser test: the real server (`streamlit run`) in Debian's headless chromium via Playwright."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from browser_support import BOX_CENTRE, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]


def test_app_opens_with_the_sample_model_and_layer_table(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=90_000)
    table = page.get_by_test_id("stDataFrame").first
    table.wait_for(timeout=30_000)
    assert table.is_visible()
    assert page.get_by_text("Parameters").first.is_visible()
    assert page.get_by_test_id("stMetricValue").filter(has_text="414").count() == 1
    shot = tmp_path / "overview.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_clicking_a_graph_node_shows_that_layers_details(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/architecture?sample=digits_cnn")
    page.get_by_role("heading", name="Architecture").wait_for(timeout=90_000)
    page.locator(".js-plotly-plot g.textpoint").first.wait_for(timeout=30_000)
    # a box's click target is an invisible marker over it: click the middle of conv2's box
    x, y = page.evaluate(BOX_CENTRE, "conv2")
    page.mouse.click(x, y)
    page.get_by_role("heading", name="conv2 · Conv2D").wait_for(timeout=30_000)
    # conv2: 3x3 kernel, 8 input channels, 16 filters, plus 16 biases = 1,168 parameters
    page.get_by_test_id("stMetricValue").filter(has_text="1,168").first.wait_for(timeout=30_000)
    page.get_by_role("link", name="See this layer's weights →").wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "architecture.png"), full_page=True)
    page.close()


def test_clicking_a_confusion_cell_lists_its_rows(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.goto(f"{server}/metrics?sample=wine_classifier")
    page.get_by_role("heading", name="Evaluation on the dataset").wait_for(timeout=90_000)
    page.get_by_text("Click a cell to list its rows.").wait_for(timeout=60_000)
    # the confusion matrix is the second chart; its 3x3 cells are points, row-major from
    # (true 0, predicted 0): the first point is the diagonal cell of class_0
    chart = page.locator(".js-plotly-plot").nth(1)
    listed = page.get_by_text("Rows with true class_0, predicted class_0")
    for _ in range(3):  # a click that lands while Plotly still draws the chart is lost
        chart.locator(".scatterlayer .trace .points path.point").first.click(force=True)
        try:
            listed.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            continue
    listed.wait_for(timeout=30_000)
    page.get_by_test_id("stDataFrame").last.wait_for(timeout=30_000)
    page.close()


def test_clicking_a_map_point_explains_that_sample(server, browser, tmp_path):
    import re

    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.goto(f"{server}/explain?sample=wine_classifier")
    page.get_by_role("heading", name="Explain a prediction").wait_for(timeout=120_000)
    page.get_by_text("Row 0:").first.wait_for(timeout=120_000)  # the status: panels are done
    # the map is the first chart; its first trace holds the samples predicted class_0
    chart = page.locator(".js-plotly-plot").first
    chart.locator(".scatterlayer .trace").first.locator("path.point").nth(7).click(force=True)
    status = page.get_by_text(re.compile(r"^Row [1-9]\d*: 6 of 6 methods"))
    status.wait_for(timeout=120_000)
    row = int(re.match(r"Row (\d+)", status.inner_text()).group(1))
    assert f"row={row}" in page.url
    page.get_by_text(f"Row {row}", exact=False).first.wait_for()
    assert page.locator(".js-plotly-plot").count() >= 1 + 6 + 1
    page.screenshot(path=str(tmp_path / "explain.png"), full_page=True)
    page.close()
