"""Several real browser sessions on one server never see each other's model, data or row.

One `streamlit run` server; each of ten sessions is its own browser context (own cookies,
own websocket, so its own Streamlit session), each with a different model. Four open the
four samples on the explain page through a link (``/explain?sample=<key>&row=<n>``, a
different row each); six upload a different tiny model through the sidebar's uploader
(each then lives in its own worker process). All are under way before any is waited for,
so the server runs them at once. Once all are loaded, every page is checked again, then
each moves to another page and back inside its session (the row and the model must stay).
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from browser_support import CHROMIUM
from components.data.session import readable
from components.model.samples import get_sample

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

# sample key -> (row to open, number of methods that apply)
SAMPLE_ROWS = {"wine_classifier": (5, 6), "digits_cnn": (17, 7), "sentiment_text": (42, 6),
               "diabetes_regression": (99, 6)}
UPLOADS = {"upload_alpha": (3, 5), "upload_beta": (7, 2), "upload_gamma": (5, 9),
           "upload_delta": (11, 4), "upload_epsilon": (2, 13), "upload_zeta": (9, 6)}
# model name -> (inputs, units): every upload a different model with its own parameter count
WAIT = 120_000


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory) -> dict[str, tuple]:
    """name -> (path of the .keras file, parameter count), each model tiny and different."""
    import keras

    folder = tmp_path_factory.mktemp("uploads")
    out = {}
    for name, (inputs, units) in UPLOADS.items():
        model = keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(units),
                                  keras.layers.Dense(2, activation="softmax")], name=name)
        path = folder / f"{name}.keras"
        model.save(path)
        out[name] = (path, model.count_params())
    return out


def _descriptions() -> dict[str, str]:
    """Each sample's one-line description: the sidebar shows the chosen sample's."""
    from components.model.samples import list_samples

    return {s.key: s.description for s in list_samples()}


def _status(page, row: int, methods: int):
    return page.get_by_text(re.compile(rf"^Row {row}: {methods} of {methods} methods"))


def check_sample(page, key: str, when: str) -> None:
    """The explain page of sample ``key`` at its own row, and no other sample anywhere."""
    row, methods = SAMPLE_ROWS[key]
    _status(page, row, methods).wait_for(timeout=WAIT)
    page.get_by_role("heading", name="Explain a prediction").wait_for(timeout=WAIT)
    assert f"row={row}" in page.url and f"sample={key}" in page.url, (key, when, page.url)
    page.get_by_text(f"Row {row}", exact=False).first.wait_for(timeout=WAIT)
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    described = _descriptions()
    assert described[key].replace("->", "→") in sidebar, (key, when)
    others = [k for k, text in described.items()
              if k != key and text.replace("->", "→") in sidebar]
    assert not others, (key, when, others)
    assert not any(name in page.content() for name in UPLOADS), (key, when)
    assert page.get_by_test_id("stException").count() == 0, (key, when)
    # the map, one panel per method, the agreement heatmap (drawn after the status is done)
    page.locator(".js-plotly-plot").nth(1 + methods).wait_for(timeout=WAIT)


def check_upload(page, name: str, params: int, when: str) -> None:
    page.get_by_role("heading", name=readable(name)).wait_for(timeout=WAIT)
    page.get_by_test_id("stMetricValue").filter(
        has_text=re.compile(rf"^{params:,}$")).first.wait_for(timeout=WAIT)
    main = page.get_by_test_id("stMain").inner_text()
    others = [n for n in [*UPLOADS, *SAMPLE_ROWS] if n != name and n in main]
    assert not others, (name, when, others)
    assert page.get_by_test_id("stException").count() == 0, (name, when)


def _upload(page, url: str, path) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=WAIT)
    option = page.get_by_role("option", name="Upload my own model…")
    for _ in range(6):  # under load the first click can land before the box is live
        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        try:
            option.wait_for(timeout=WAIT // 6)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()
    uploader = page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader").filter(
        has_text="Keras model")  # not the dataset's uploader, which the rerun removes
    uploader.wait_for(timeout=WAIT)
    uploader.locator("input[type=file]").set_input_files(str(path))


def _nav(page, label: str) -> None:
    # WAIT, not Playwright's 30 s: with ten sessions busy on two cores a page can take
    # longer than that to draw its sidebar again (seen once in CI)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label).click(timeout=WAIT)


def test_ten_browser_sessions_keep_their_own_model_and_row(server, browser, upload_files):
    contexts, pages = [], {}
    try:
        # Uploads first, while the server is idle enough to draw the sidebar quickly; then
        # the samples. Nothing is waited for until all ten are under way.
        for name, (path, _) in upload_files.items():
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            contexts.append(context)
            pages[name] = context.new_page()
            pages[name].set_default_timeout(WAIT)
            _upload(pages[name], server, path)
        for key, (row, _) in SAMPLE_ROWS.items():
            context = browser.new_context(viewport={"width": 1400, "height": 1800})
            contexts.append(context)
            pages[key] = context.new_page()
            pages[key].goto(f"{server}/explain?sample={key}&row={row}")

        for round_ in ("loaded", "after all loaded"):  # then once more, nothing may change
            for key in SAMPLE_ROWS:
                check_sample(pages[key], key, round_)
            for name, (_, params) in upload_files.items():
                check_upload(pages[name], name, params, round_)

        # Each session moves inside itself: samples to their model page and back (the row
        # must come back with them), uploads to the weights page and back.
        for key in SAMPLE_ROWS:
            _nav(pages[key], "Model & data")
        for name in upload_files:
            _nav(pages[name], "Weights")
        for key in SAMPLE_ROWS:
            pages[key].get_by_role("heading", name=get_sample(key).title).wait_for(
                timeout=WAIT)
            assert f"row={SAMPLE_ROWS[key][0]}" in pages[key].url
            _nav(pages[key], "Explain")
        for name in upload_files:
            pages[name].get_by_role("heading", name="Weights").first.wait_for(timeout=WAIT)
            _nav(pages[name], "Model & data")
        for key in SAMPLE_ROWS:
            check_sample(pages[key], key, "after moving away and back")
        for name, (_, params) in upload_files.items():
            check_upload(pages[name], name, params, "after moving away and back")
    finally:
        for context in contexts:
            context.close()
