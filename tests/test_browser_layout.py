"""Every page, with each sample and an uploaded model, laid out cleanly in a real Chromium.

At 1600x1000, each of the ten pages is opened (the samples by deep link, the upload by the
sidebar's navigation in the session that uploaded it), left to finish computing and
screenshotted; then `layout_checks.problems` reads the rendered page: nothing wider than
the viewport, no text boxes of a Plotly chart (titles, axis titles, legends, colour bars,
annotations, point labels) on top of each other or cut by the chart's edge, no raw
None/NaN/undefined or e-notation in the visible text or a table cell, and headings and chart
titles that are titles: no file name, no snake_case, not the model's identifier.

One server and one browser serve the module; each (model, page) is its own test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from browser_support import CHROMIUM, whole_page_screenshot
from layout_checks import PAGE_FACTS, problems

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

VIEWPORT = {"width": 1600, "height": 1000}
# (URL path, the navigation's label), in the router's order (app.py)
PAGES = [("", "Model & data"), ("architecture", "Architecture"), ("weights", "Weights"),
         ("metrics", "Metrics"), ("explain", "Explain"), ("global_view", "Global"),
         ("batch", "Batch"),
         ("what_if", "What-if"), ("compare", "Compare"), ("quality", "Quality"),
         ("review", "Review")]
SAMPLES = ["wine_classifier", "diabetes_regression", "digits_cnn", "sentiment_text"]
UPLOAD = "upload"
WAIT_S = 120
BUSY = ('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stSpinner"], '
        '[data-testid="stSkeleton"], [data-stale="true"]')
# How the files and Keras name each model: no heading or chart title may show these.
IDENTIFIERS = {**{key: (key, "model.keras") for key in SAMPLES},
               UPLOAD: ("two_branch_tabular", "two_branch_tabular.keras")}
# Six named columns: the upload's weights page names its Normalization bars by them.
COLUMNS = ["alcohol_pct", "acidity", "sugar_g_l", "density", "ph", "sulphates"]


def _two_branch_model(path: Path, data: Path) -> None:
    """A functional model the app has never seen: standardised inputs split into a ReLU
    and a tanh branch, merged, three classes; fitted briefly on a table with a label."""
    import keras

    rng = np.random.default_rng(5)
    x = rng.normal(size=(150, len(COLUMNS))).astype("float32") * [1, 2, 5, 0.1, 0.3, 1]
    y = (x[:, 0] + x[:, 1] / 2 > 0).astype(int) + (x[:, 2] > 2).astype(int)
    keras.utils.set_random_seed(5)
    inp = keras.Input((len(COLUMNS),), name="measurements")
    norm = keras.layers.Normalization(name="standardise")
    norm.adapt(x)
    scaled = norm(inp)
    left = keras.layers.Dense(8, activation="relu", name="relu_branch")(scaled)
    right = keras.layers.Dense(4, activation="tanh", name="tanh_branch")(scaled)
    merged = keras.layers.Concatenate(name="merge")([left, right])
    out = keras.layers.Dense(3, activation="softmax", name="quality")(merged)
    model = keras.Model(inp, out, name="two_branch_tabular")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=15, verbose=0)
    model.save(path)
    pd.DataFrame(x, columns=COLUMNS).assign(label=y).to_csv(data, index=False)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("layout")


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory):
    """The upload's model and table, built in a child process while the server starts
    (both import Keras: side by side rather than one after the other). Call it for them."""
    folder = tmp_path_factory.mktemp("upload")
    model, data = folder / "two_branch_tabular.keras", folder / "measurements.csv"
    build = subprocess.Popen(
        [sys.executable, "-c", "import sys; from test_browser_layout import _two_branch_model;"
         " _two_branch_model(*map(__import__('pathlib').Path, sys.argv[1:]))",
         str(model), str(data)], cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})

    def ready() -> tuple[Path, Path]:
        assert build.wait(timeout=WAIT_S) == 0, "building the upload's model failed"
        return model, data

    yield ready
    build.kill()


def settle(page, what: str) -> None:
    """Wait until the page has stopped computing: no running indicator, spinner, skeleton
    or stale element, no panel saying "computing…" or "waiting", every chart drawn; the
    same three polls in a row (a rerun may start just after the last one ended)."""
    deadline, calm = time.monotonic() + WAIT_S, 0
    # first the page itself: a fresh session draws nothing until its script has started
    page.locator('[data-testid="stMain"] h1, [data-testid="stException"]').first.wait_for(
        timeout=WAIT_S * 1000)
    while calm < 3:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still computing after {WAIT_S} s")
        busy = page.locator(BUSY).count() or page.get_by_text(
            re.compile(r"computing…|: waiting$")).count()
        # Streamlit's charts and kept charts (components.ui.kept_chart, a custom component)
        charts = page.locator('[data-testid="stPlotlyChart"], .stBidiComponent').count()
        drawn = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                              ".filter((p) => p.querySelector('.main-svg')).length")
        calm = calm + 1 if not busy and drawn >= charts else 0
        time.sleep(0.25)




def check(page, shots: Path, model: str, path: str) -> list[str]:
    """Screenshot the settled page and list every rule it breaks."""
    what = f"{model}/{path or 'overview'}"
    settle(page, what)
    facts = page.evaluate(PAGE_FACTS)
    whole_page_screenshot(page, shots / f"{model}-{path or 'overview'}.png", 12_000)
    if page.get_by_test_id("stException").count():
        return [f"{what}: an exception is shown"]
    return [f"{what}: {p}" for p in problems(facts, IDENTIFIERS[model])]


MODELS = [*SAMPLES, UPLOAD]


class Tabs:
    """One browser tab per model. All of them are sent to a page at once, so the server
    computes the five side by side while the first is being checked; then each in turn."""

    def __init__(self, browser, server: str) -> None:
        self.server = server
        self.contexts = [browser.new_context(viewport=VIEWPORT) for _ in MODELS]
        self.pages = {m: c.new_page() for m, c in zip(MODELS, self.contexts, strict=True)}
        self.at: str | None = None

    def open(self, path: str, label: str) -> None:
        """Send every tab to page ``path``: the samples by deep link, the upload by the
        sidebar's navigation (its session holds the upload)."""
        if self.at == path:
            return
        for model in MODELS:
            self.open_one(model, path, label)
        self.at = path

    def open_one(self, model: str, path: str, label: str) -> None:
        if model == UPLOAD:
            self.pages[UPLOAD].get_by_test_id("stSidebarNav").get_by_role(
                "link", name=label).click()
        else:
            self.pages[model].goto(f"{self.server}/{path}?sample={model}", wait_until="commit")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def upload(page, server: str, model: Path, data: Path) -> None:
    """Upload the model, then its table, through the sidebar, as a user does."""
    page.goto(server)
    sidebar = page.get_by_test_id("stSidebar")
    settle(page, "the first page")
    sidebar.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Upload my own model…").click()
    sidebar.get_by_test_id("stFileUploader").filter(has_text="Keras model").locator(
        "input[type=file]").set_input_files(str(model))
    page.wait_for_url(re.compile(r"model=[0-9a-f]{64}"), timeout=WAIT_S * 1000)
    uploader = sidebar.get_by_test_id("stFileUploader").filter(has_text="Upload a dataset")
    uploader.wait_for(timeout=WAIT_S * 1000)
    uploader.locator("input[type=file]").set_input_files(str(data))
    page.wait_for_url(re.compile(r"data=[0-9a-f]{64}"), timeout=WAIT_S * 1000)


@pytest.fixture(scope="module")
def tabs(upload_files, browser, server):
    """The five tabs on the first page (Model & data): the samples opened by link, the
    upload done in its tab meanwhile."""
    tabs = Tabs(browser, server)
    for key in SAMPLES:
        tabs.pages[key].goto(f"{server}/?sample={key}", wait_until="commit")
    upload(tabs.pages[UPLOAD], server, *upload_files())
    tabs.at = PAGES[0][0]
    yield tabs
    tabs.close()


@pytest.mark.parametrize(("path", "label", "model"),
                         [(p, label, m) for p, label in PAGES for m in MODELS],
                         ids=[f"{m}-{p or 'overview'}" for p, _ in PAGES for m in MODELS])
def test_page_is_laid_out_cleanly(path, label, model, tabs, shots):
    tabs.open(path, label)
    page = tabs.pages[model]
    if model == UPLOAD:
        page.wait_for_url(re.compile(rf"/{path}\?" if path else r"/\?"), timeout=30_000)
    found = check(page, shots, model, path)
    assert not found, "\n".join(found)


# A weights page per kind of figure beyond each model's first layer: a kernel heatmap with
# feature names, the second conv layer's two rows of filters, a branch of the upload.
LAYERS = {"wine_classifier": "encoder/dense", "digits_cnn": "conv2", "sentiment_text": "positive",
          UPLOAD: "relu_branch"}


@pytest.mark.parametrize("model", list(LAYERS))
def test_weights_of_other_layers_are_laid_out_cleanly(model, tabs, shots):
    page = tabs.pages[model]
    tabs.at = None  # this tab leaves the page all the tabs were on
    if model == UPLOAD:
        tabs.open_one(model, "weights", "Weights")
        page.wait_for_url(re.compile(r"/weights\?"), timeout=30_000)
        settle(page, "upload/weights")
        page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name=LAYERS[model], exact=True).click()
        page.get_by_role("heading", name=re.compile(f"^{LAYERS[model]} ·")).wait_for(
            timeout=WAIT_S * 1000)
    else:
        page.goto(f"{tabs.server}/weights?sample={model}&layer={LAYERS[model]}")
    found = check(page, shots, model, f"weights-{LAYERS[model].replace('/', '-')}")
    assert not found, "\n".join(found)


def test_compare_with_a_second_model_is_laid_out_cleanly(tabs, shots):
    """Compare with its second model chosen (the wine sample against itself: every figure
    of the page drawn, metrics, the rows table, the methods' panels and the summary)."""
    page = tabs.pages["wine_classifier"]
    tabs.at = None
    page.goto(f"{tabs.server}/compare?sample=wine_classifier&vs=wine_classifier")
    found = check(page, shots, "wine_classifier", "compare-vs")
    assert not found, "\n".join(found)
