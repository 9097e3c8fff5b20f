"""The explain page through AppTest: every sample, the URL's row, caching, an upload."""

from __future__ import annotations

import json

import numpy as np
import page_charts
import pandas as pd
import pytest
import streamlit as st

from apptest_support import new_app
from components.explain.methods import REGISTRY

PAGE = "views/explain.py"
APPLICABLE = {
    "wine_classifier": 6, "digits_cnn": 7, "sentiment_text": 6, "diabetes_regression": 6,
}


@pytest.fixture(scope="module")
def session():
    at = new_app(timeout=300)
    at.run()
    return at


def _open(at, key: str):
    at.selectbox(key="model_choice").select(key).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _methods(at):
    return next(m for m in at.multiselect if m.label == "Methods")


@pytest.mark.parametrize("key", list(APPLICABLE))
def test_every_sample_shows_every_applicable_panel(session, key):
    at = _open(session, key)
    assert at.title[0].value == "Explain a prediction"
    assert len(_methods(at).value) == APPLICABLE[key]
    assert not at.error, [e.value for e in at.error]
    # the map, one panel per method, the agreement heatmap
    assert len(page_charts.charts(at)) == 1 + APPLICABLE[key] + 1
    assert at.markdown[0].value.startswith("**Row 0**")
    assert len(at.get("download_button")) == 2


def test_a_method_that_does_not_apply_says_why(session):
    at = _open(session, "wine_classifier")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Grad-CAM is not offered:") for c in captions), captions


def test_the_url_row_opens_that_sample():
    at = new_app(timeout=300)
    at.query_params["sample"] = "sentiment_text"
    at.query_params["row"] = "17"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.markdown[0].value.startswith("**Row 17**")
    text = pd.read_csv("sample_models/sentiment_text/data.csv")["text"][17]
    assert any(t.value == text for t in at.text)
    assert at.query_params["row"] == ["17"] or at.query_params["row"] == "17"
    at.switch_page("views/metrics.py").run()  # the row stays with the session and the URL
    at.switch_page(PAGE).run()
    assert at.markdown[0].value.startswith("**Row 17**")


def test_a_link_with_another_row_selects_it(session):
    at = _open(session, "wine_classifier")
    at.query_params["row"] = "42"  # what "Explain row 42 →" on the metrics page does
    at.run()
    assert not at.exception
    assert at.markdown[0].value.startswith("**Row 42**")
    at.query_params["row"] = "0"
    at.run()


def test_fewer_methods_fewer_panels_and_no_recomputation(session, monkeypatch):
    at = _open(session, "digits_cnn")
    calls = []
    original = REGISTRY["saliency"].explain
    monkeypatch.setattr(REGISTRY["saliency"], "explain",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    st.cache_data.clear()
    _methods(at).set_value(["saliency", "gradcam"]).run()
    assert not at.exception
    assert len(page_charts.charts(at)) == 1 + 2 + 1
    at.switch_page("views/overview.py").run()
    at.switch_page(PAGE).run()  # a page switch and back, then a plain rerun
    at.run()
    assert len(calls) == 1
    _methods(at).set_value(list(_methods(at).options)).run()


def test_another_target_is_explained_on_demand(session):
    at = _open(session, "wine_classifier")
    box = next(s for s in at.selectbox if s.label == "Explain the output")
    predicted = box.value
    assert "predicted" in box.options[predicted]
    box.set_value((predicted + 1) % 3).run()
    assert not at.exception and not at.error
    assert len(page_charts.charts(at)) == 1 + 6 + 1
    box.set_value(predicted).run()


def _tiny_tabular(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["label"] = (x[:, 0] > 0).astype(int)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")], name="mine")
    return model, "mine.csv", frame.to_csv(index=False).encode()


def _tiny_image(tmp_path):
    import io

    import keras

    rng = np.random.default_rng(1)
    x = rng.random((40, 12, 12, 1)).astype("float32")
    y = rng.integers(0, 3, size=40)
    model = keras.Sequential([keras.Input((12, 12, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")], name="tiny_cnn")
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    return model, "images.npz", buffer.getvalue()


def _tiny_text(tmp_path):
    import keras

    texts = ["good fine great", "bad awful poor", "fine and good", "poor and bad"] * 10
    vec = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vec.adapt(texts)
    inp = keras.Input((), dtype="string", name="text")
    hidden = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 4)(vec(inp)))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(hidden), name="tiny_text")
    frame = pd.DataFrame({"text": texts, "label": [1, 0, 1, 0] * 10})
    return model, "reviews.csv", frame.to_csv(index=False).encode()


@pytest.mark.parametrize("build, methods", [(_tiny_tabular, 6), (_tiny_image, 7),
                                            (_tiny_text, 6)])
def test_an_uploaded_model_and_dataset_are_explained(tmp_path, build, methods):
    model, data_name, data = build(tmp_path)
    path = tmp_path / "upload.keras"
    model.save(path)
    at = new_app(timeout=300)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("upload.keras", path.read_bytes()).run()
    at.file_uploader(key="data_file").upload(data_name, data).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(_methods(at).value) == methods
    assert len(page_charts.charts(at)) == 1 + methods + 1


def test_agreement_compares_like_with_like_in_words(session):
    at = _open(session, "wine_classifier")
    # static tables (st.table): the pair table and the sample's header row
    tables = [t.value for t in at.table]
    pairs = next(t for t in tables if list(t.columns)[:2] == ["pair", "Spearman"])
    # three columns, all shown (a 6 x 6 overlap matrix lost its last one), in words
    assert list(pairs.columns) == ["pair", "Spearman", "top-8 overlap"]  # the top_k slider
    assert not pairs.isin(["None", "nan"]).any().any()
    sensitivities = {"Saliency", "SmoothGrad"}
    for pair in pairs["pair"]:  # never a contribution against a sensitivity
        a, b = pair.split(" / ")
        assert (a in sensitivities) == (b in sensitivities), pair
    assert len(pairs) == 6 + 1  # 4 contributions: 6 pairs; 2 sensitivities: 1
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Contributions are ranked only against contributions")
               for c in captions), captions
    # each panel says what its values are (SHAP's title goes on with its base value)
    titles = [json.loads(c.spec)["layout"].get("title", {}).get("text", "")
              for c in page_charts.charts(at)]
    for title in ("LIME \u00b7 contribution", "SHAP \u00b7 contribution",
                  "Saliency \u00b7 sensitivity", "SmoothGrad \u00b7 sensitivity"):
        assert any(t.startswith(title) for t in titles), (title, titles)


def test_lime_slopes_are_a_setting_and_ranked_as_sensitivities():
    at = new_app(timeout=300)
    at.run()
    at = _open(at, "wine_classifier")
    values = next(s for s in at.selectbox if s.label == "LIME: values")
    assert list(values.options) == ["contribution", "slope"] and values.value == "contribution"
    values.select("slope").run()
    assert not at.exception, at.exception
    titles = [json.loads(c.spec)["layout"].get("title", {}).get("text", "")
              for c in page_charts.charts(at)]
    assert "LIME \u00b7 sensitivity" in titles, titles
    pairs = next(t.value for t in at.table if list(t.value.columns)[:1] == ["pair"])
    assert "LIME / Saliency" in set(pairs["pair"]) and "LIME / SHAP" not in set(pairs["pair"])
    assert json.loads(at.query_params["params"][0] if isinstance(at.query_params["params"], list)
                      else at.query_params["params"]) == {"lime": {"values": "slope"}}
