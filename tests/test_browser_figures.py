"""The Explain page's tabular panel and agreement heatmap, drawn by plotly.js in Chromium at
the sizes the page gives them (1600 px window, wide layout: a tabular panel is a third of
the main area, 369 px; the heatmap half of it, 562 px, as measured on the page), their text
boxes measured.

No server: each figure is one static HTML page (plotly.js inlined), so this is quick.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from browser_support import CHROMIUM
from components.explain.agreement import agreement
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution
from components.plots.explain import agreement_heatmap, attribution_bars, panel_title

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

# The wine sample's top 8 features on its row 0, as the page shows them: the longest name
# leaves the bars ~130 px of a 369 px panel.
WINE = ("ash", "alcohol", "flavanoids", "hue", "od280/od315_of_diluted_wines",
        "nonflavanoid_phenols", "color_intensity", "alcalinity_of_ash")
BOXES = """
(selectors) => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const out = {};
  for (const [name, sel] of Object.entries(selectors)) {
    out[name] = [...document.querySelectorAll(sel)].map(box); }
  return out;
}
"""


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield context.new_page()
    context.close()


def _draw(page, fig, width: int) -> dict:
    """Render ``fig`` at ``width`` px; the boxes of its svg, titles and x tick labels."""
    fig.update_layout(width=width)
    page.set_content(fig.to_html(include_plotlyjs=True, full_html=True))
    page.wait_for_selector(".main-svg")
    return page.evaluate(BOXES, {"svg": ".main-svg", "title": ".gtitle",
                                 "xtitle": ".g-xtitle", "xticks": ".xtick text",
                                 "colorbar": ".colorbar"})


def _inside(inner: dict, outer: dict) -> bool:
    return (inner["left"] >= outer["left"] - 1 and inner["right"] <= outer["right"] + 1
            and inner["top"] >= outer["top"] - 1 and inner["bottom"] <= outer["bottom"] + 1)


def _overlap(a: dict, b: dict) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1)


@pytest.mark.parametrize("method", ["lime", "saliency"])
def test_tabular_panel_axis_title_fits_a_third_of_the_page(page, method):
    rng = np.random.default_rng(0)
    attr = Attribution(values=rng.normal(size=len(WINE)), method=method, target=0, params={},
                       seconds=0.1, feature_names=WINE)
    fig = attribution_bars(attr, list(range(len(WINE))), title=panel_title(attr))
    boxes = _draw(page, fig, 369)
    svg = boxes["svg"][0]
    assert boxes["xtitle"], "the x-axis title is drawn"
    for box in boxes["xtitle"]:  # was cut at the edge: "pushes the output u"
        assert _inside(box, svg), (box, svg)
    assert _inside(boxes["title"][0], svg)


def test_agreement_heatmap_title_clear_of_its_labels(page):
    rng = np.random.default_rng(1)
    methods = list(REGISTRY)  # digits: all seven, the longest row of labels
    base = rng.normal(size=13)
    result = agreement({m: Attribution(values=base + rng.normal(scale=0.5, size=13), method=m,
                                       target=0, params={}, seconds=0.1) for m in methods})
    fig = agreement_heatmap(result.spearman, "Spearman rank correlation", result.kinds)
    boxes = _draw(page, fig, 562)
    title = boxes["title"][0]
    assert len(boxes["xticks"]) == len(methods)
    for tick in boxes["xticks"]:
        assert not _overlap(title, tick), (title, tick)
        assert not _overlap(boxes["colorbar"][0], tick), (boxes["colorbar"][0], tick)
        assert _inside(tick, boxes["svg"][0])
    assert _inside(title, boxes["svg"][0])
    assert isinstance(result.spearman, pd.DataFrame)
