"""Browser test: an image's panels stream in, gradients first; Stop, then Continue."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse

import pytest

from browser_support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

# LIME given many samples (150,000 took ~4 s on the 16x16 digits alone; longer beside the
# other pytest process), ample to see it running and press Stop, while the gradient methods
# take milliseconds. SHAP keeps its default: once Stop is pressed during LIME or SHAP, SHAP is
# "stopped before it ran" either way (its panel is not done in the stopped run).
SLOW = {"lime": {"num_samples": 300000}}


def states(page) -> list[str]:
    """The progress bar's text and each waiting, running or stopped panel's caption."""
    return [text for text in page.locator("p").all_inner_texts()
            if re.search(r"^Row 4: \d of 7 methods|: (waiting|computing…|stopped)", text)]


def test_image_panels_stream_in_gradients_first_then_stop_and_continue(server, browser, tmp_path):
    from playwright.sync_api import expect

    params = urllib.parse.quote(json.dumps(SLOW, separators=(",", ":")))
    page = browser.new_page(viewport={"width": 1500, "height": 1600})
    page.goto(f"{server}/explain?sample=digits_cnn&row=4&seed=11&params={params}")
    page.get_by_role("heading", name="Explain a prediction").wait_for(timeout=120_000)
    seen, deadline = [], time.monotonic() + 180
    # the gradient panels are done while LIME runs. Both texts are awaited together: a
    # rerun redraws the bar first while the last run's captions still show for a moment
    while time.monotonic() < deadline:
        seen.append(states(page))
        if "LIME: computing…" in seen[-1] and any(
                text.startswith("Row 4: 5 of 7 methods") for text in seen[-1]):
            break
        time.sleep(0.2)
    assert "LIME: computing…" in seen[-1], seen[-5:]
    assert "SHAP: waiting" in seen[-1] and "Saliency: waiting" not in seen[-1], seen[-1]
    assert any(text.startswith("Row 4: 5 of 7 methods") for text in seen[-1]), seen[-1]
    # Stop at once, while LIME still runs (a Stop that lands during SHAP, the last method,
    # ends a run with nothing left to continue); the page shows LIME running until it ends
    page.get_by_role("button", name="Stop").click()
    page.screenshot(path=str(tmp_path / "streaming.png"))
    page.get_by_role("button", name="Continue").wait_for(timeout=120_000)
    expect(page.get_by_text("SHAP: stopped before it ran")).to_be_visible()
    charts = page.locator(".glassbox-chart")  # the panels: components.ui.kept_chart
    expect(charts.filter(has_text="Saliency").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "stopped.png"))

    page.get_by_role("button", name="Continue").click()
    page.get_by_text(re.compile(r"^Row 4: 7 of 7 methods")).wait_for(timeout=180_000)
    for label in ("LIME", "SHAP", "Saliency", "Integrated Gradients", "Grad-CAM"):
        expect(charts.filter(has_text=label).first).to_be_visible()
    page.screenshot(path=str(tmp_path / "done.png"))
    page.close()
