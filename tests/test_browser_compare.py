"""The compare page in a real Chromium: wine against a second model uploaded from a file."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from browser_support import CHROMIUM
from components.model.samples import get_sample

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]


def _second_wine_model(path) -> None:
    """13 standardised inputs, small random weights: a model that often disagrees."""
    import keras

    frame = pd.read_csv(get_sample("wine_classifier").data_path)
    x = frame.drop(columns=["label"]).to_numpy(np.float32)
    keras.utils.set_random_seed(11)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    keras.Sequential([keras.Input((13,)), norm, keras.layers.Dense(8, activation="tanh"),
                      keras.layers.Dense(3, activation="softmax")],
                     name="second_wine").save(path)


def test_compare_wine_with_an_uploaded_model(server, browser, tmp_path):
    model = tmp_path / "second_wine.keras"
    _second_wine_model(model)
    page = browser.new_page(viewport={"width": 1500, "height": 2200})
    page.goto(f"{server}/compare?sample=wine_classifier")
    page.get_by_role("heading", name="Compare two models").wait_for(timeout=120_000)
    main = page.get_by_test_id("stMain")
    main.get_by_test_id("stSelectbox").filter(has_text="Second model (B)").click()
    page.get_by_role("option", name="Upload a model…").click()
    uploader = main.get_by_test_id("stFileUploader").filter(has_text="Second model")
    uploader.wait_for(timeout=60_000)
    uploader.locator("input[type=file]").set_input_files(str(model))

    page.get_by_role("heading", name="Metrics side by side").wait_for(timeout=120_000)
    page.get_by_text("They disagree").first.wait_for(timeout=60_000)
    # each method's panels carry the similarity figures between the two models
    page.get_by_text("Saliency · cosine", exact=False).first.wait_for(timeout=120_000)
    page.get_by_text("Integrated Gradients · cosine", exact=False).first.wait_for(
        timeout=120_000)
    page.get_by_text("Compared 50 rows with 3 methods").wait_for(timeout=180_000)
    # crosstab, A and B per method, summary boxes: each drawn when Plotly gets to it (a
    # count taken at once missed the last two on a loaded machine)
    page.wait_for_function("n => document.querySelectorAll("
                           "'[data-testid=stMain] .js-plotly-plot').length >= n",
                           arg=1 + 2 * 6 + 2, timeout=120_000)
    assert "vs=" in page.url  # the accepted upload names model B in the address
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    page.close()
