"""Browser tests of the workspace and the review: a real server, restarted, and Chromium.

1. Persistence: start the app on a workspace folder, upload a model, stop the server, start
   a new one on the same folder: the model is listed and its link reopens it.
2. Pin -> note -> export: a reviewer pins the selected sample, records a verdict with a
   note, and downloads the audit trail as CSV, which holds both actions, escaped.
"""

from __future__ import annotations

import csv
import io
import os

import pytest

from browser_support import CHROMIUM, running_app
from components.model.load import sha256_hex
from components.model.samples import get_sample

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]


def _open_model_picker(page) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()


def test_an_upload_survives_a_server_restart(browser, tmp_path):
    sample = get_sample("digits_cnn")
    model = tmp_path / "restart-me.keras"
    model.write_bytes(sample.model_path.read_bytes())
    sha = sha256_hex(model.read_bytes())
    env = {"GLASSBOX_WORKSPACE": str(tmp_path / "workspace")}

    with running_app(tmp_path / "first.log", env) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=90_000)
        _open_model_picker(page)
        page.get_by_role("option", name="Upload my own model…").click()
        uploader = page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader").filter(
            has_text="Keras model")
        uploader.wait_for(timeout=60_000)
        uploader.locator("input[type=file]").set_input_files(str(model))
        page.get_by_text(f"SHA-256 {sha}").wait_for(timeout=90_000)
        assert f"model={sha}" in page.url
        page.close()

    with running_app(tmp_path / "second.log", env) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=90_000)
        _open_model_picker(page)
        listed = page.get_by_role("option", name="Saved: restart-me.keras", exact=False)
        listed.first.wait_for(timeout=30_000)
        page.keyboard.press("Escape")
        page.goto(f"{url}/?model={sha}")  # the link reopens the stored model
        page.get_by_text(f"SHA-256 {sha}").wait_for(timeout=90_000)
        page.close()


def test_pin_note_and_export_the_trail(browser, tmp_path):
    env = {"GLASSBOX_WORKSPACE": str(tmp_path / "workspace")}
    with running_app(tmp_path / "server.log", env) as url:
        page = browser.new_page(viewport={"width": 1500, "height": 2000},
                                accept_downloads=True)
        page.goto(f"{url}/explain?sample=wine_classifier&row=6")
        page.get_by_text("Row 6:").first.wait_for(timeout=120_000)
        page.get_by_role("button", name="Pin row 6").click()
        page.get_by_text("1 pinned").wait_for(timeout=30_000)
        page.get_by_role("link", name="Open the review").click()
        page.get_by_role("heading", name="Compliance review").wait_for(timeout=60_000)
        page.get_by_text("Row 6 · no verdict yet").first.wait_for(timeout=30_000)
        page.get_by_text("concern", exact=True).click()
        page.get_by_label("Note").fill("Flavanoids carry this; =SUM(A1) looks odd")
        page.get_by_role("button", name="Save verdict").click()
        page.get_by_text("Row 6 · concern").first.wait_for(timeout=30_000)
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name="Export the trail (CSV)").click()
        text = (tmp_path / "trail.csv")
        download.value.save_as(text)
        rows = list(csv.DictReader(io.StringIO(text.read_text())))
        assert [r["action"] for r in rows] == ["pin", "assess"]
        assert {r["actor"] for r in rows} == {"unauthenticated"}  # no sign-in configured
        assessed = rows[1]
        assert assessed["row"] == "6"
        assert "Flavanoids carry this" in assessed["payload"]
        assert "concern" in assessed["payload"]
        page.close()
    # the click recorded the export in the trail (after the file it gave, which holds the
    # trail as it was shown)
    from components.review.store import Store

    store = Store(tmp_path / "workspace")
    review = next(r for r in store.reviews() if store.events(r.id))
    assert [(e.action, e.payload.get("format")) for e in store.events(review.id)][-1] == \
        ("export", "csv")
