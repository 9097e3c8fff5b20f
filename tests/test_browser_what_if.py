"""Browser test: the what-if page in Debian's headless chromium, one slider moved by keyboard."""

from __future__ import annotations

import os
import re

import pytest

from browser_support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]


def test_a_slider_moved_by_keyboard_changes_the_edited_prediction(server, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(f"{server}/what_if?sample=wine_classifier&row=164")  # 98 %: an edit shows
    page.get_by_role("heading", name="What if?").wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"^Edited input: 6 of 6 methods")).wait_for(timeout=120_000)
    # the per-class scores under "Original:" and "Edited:" read the same before any edit
    share = r"[<>]?[\d.]+ %"  # a probability as the page writes it: "70.0 %", "<0.01 %"
    scores = page.get_by_text(re.compile(rf"^class_0 {share} · class_1 {share} · class_2 {share}$"))
    expect(scores).to_have_count(2)
    before = scores.nth(1).inner_text()
    assert scores.nth(0).inner_text() == before
    page.get_by_text("No edits yet").wait_for()

    proline = page.get_by_test_id("stSlider").filter(has_text="proline")
    thumb = proline.get_by_role("slider")
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowRight")
    page.get_by_text(re.compile(r"^Edited: proline 985 → \d{3,4}$")).wait_for(timeout=60_000)
    expect(scores.nth(1)).not_to_have_text(before, timeout=60_000)
    assert scores.nth(0).inner_text() == before  # the original stays as it was
    assert "row=164" in page.url
    page.screenshot(path=str(tmp_path / "what_if.png"), full_page=True)
    page.close()
