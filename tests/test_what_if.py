"""The what-if page: editable feature specs, the edited input, digests, exact numbers on a
linear model, and the page through AppTest (wine, sentiment, diabetes, digits, an upload)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import page_charts
import pandas as pd
import pytest
import streamlit as st

from apptest_support import new_app
from components.errors import DataError
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution, Subject
from components.explain.what_if import (
    MAX_TEXT_CHARS,
    ImageEdit,
    PixelRange,
    attribution_changes,
    changed_features,
    compare_predictions,
    default_values,
    edit_image,
    edited_input,
    feature_specs,
    input_digest,
    pixel_range,
    plain_value,
    text_input,
)
from components.plots.what_if import change_bars

PAGE = "views/what_if.py"


# ---------------------------------------------------------------- feature specs


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame({
        "price": np.round(rng.uniform(1.0, 11.0, n), 2),    # 2 decimals, range 10
        "rooms": rng.integers(1, 40, n).astype(float),      # integer-valued, many values
        "area": rng.integers(0, 5001, n).astype(float),     # integer-valued, range 5000
        "zone": rng.integers(0, 3, n).astype(float),        # integer-coded category
        "ratio": rng.choice([0.25, 0.5, 0.75], n),           # few float values
        "const": np.full(n, 7.5),                            # one value
        "tenths": np.round(rng.uniform(0.0, 1.0, n), 1),    # coarser than range / 100
        "noise": np.clip(rng.normal(size=n), -2.4, 2.4),     # continuous, range 5
    })
    # the ends of each range, so the expected steps are exact
    table.loc[0, ["price", "rooms", "area", "tenths", "noise"]] = [1.0, 1, 0, 0.0, -2.5]
    table.loc[1, ["price", "rooms", "area", "tenths", "noise"]] = [11.0, 39, 5000, 1.0, 2.5]
    return table


@pytest.fixture(scope="module")
def specs(frame):
    return {s.name: s for s in feature_specs(frame.to_numpy("float32"), list(frame.columns))}


def test_sliders_span_the_columns_range(frame, specs):
    x = frame.to_numpy("float32")
    for i, name in enumerate(frame.columns):
        spec = specs[name]
        assert spec.index == i
        assert np.float32(spec.low) == x[:, i].min() and np.float32(spec.high) == x[:, i].max()
    assert specs["price"].widget == specs["noise"].widget == "slider"


def test_float_steps_are_about_a_hundredth_of_the_range_never_finer_than_the_data(specs):
    assert specs["price"].step == 0.1 and specs["price"].format == "%.2f"  # ~10 / 100
    assert specs["tenths"].step == 0.1  # range / 100 is 0.01, but the data has 1 decimal
    assert specs["noise"].step == 0.05 and specs["noise"].format == "%.3f"  # range ~5
    assert not specs["price"].integer and isinstance(specs["price"].low, float)


def test_integer_valued_columns_get_integer_steps(specs):
    rooms, area = specs["rooms"], specs["area"]
    assert rooms.integer and rooms.step == 1 and rooms.format == "%d"
    assert area.integer and area.step == 50  # 1-2-5 steps: ~5000 / 100
    assert all(isinstance(v, int) for v in (rooms.low, rooms.high, area.low, area.step))


def test_few_distinct_values_become_a_pick_list(specs):
    assert specs["zone"].widget == "select" and specs["zone"].options == (0, 1, 2)
    assert all(isinstance(v, int) for v in specs["zone"].options)
    assert specs["ratio"].options == (0.25, 0.5, 0.75)
    assert specs["const"].options == (7.5,)  # a constant column cannot be a slider
    assert specs["rooms"].options is None  # more than 10 distinct values


def test_pick_list_threshold_and_default_names():
    x = np.tile(np.arange(12, dtype="float32"), 2)[:, None]
    assert feature_specs(x)[0].options is None and feature_specs(x)[0].name == "f0"
    assert feature_specs(x, max_categories=12)[0].options == tuple(range(12))
    assert feature_specs(x, names=["a", "b"])[0].name == "f0"  # wrong count: default names


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((0, 3)), np.array([[1.0, np.nan]]),
                                 np.array([["a", "b"]])])
def test_specs_refuse_what_is_not_a_finite_table(bad):
    with pytest.raises(ValueError):
        feature_specs(bad)


# ---------------------------------------------------------------- the edited input


def test_unedited_values_give_back_the_samples_exact_bytes(frame, specs):
    x = frame.to_numpy("float32")
    ordered = sorted(specs.values(), key=lambda s: s.index)
    for row in range(len(x)):
        values = default_values(ordered, x[row])
        rebuilt = edited_input(ordered, values)
        assert rebuilt.dtype == np.float32 and rebuilt.shape == (1, x.shape[1])
        assert rebuilt.tobytes() == x[row:row + 1].tobytes()
        assert input_digest(rebuilt) == input_digest(x[row:row + 1])
        assert changed_features(x[row], rebuilt) == []


def test_defaults_are_what_the_widgets_show(frame, specs):
    ordered = sorted(specs.values(), key=lambda s: s.index)
    values = default_values(ordered, frame.to_numpy("float32")[0])
    assert values[0] == frame["price"][0] and isinstance(values[0], float)
    assert isinstance(values[1], int) and values[1] == frame["rooms"][0]
    assert plain_value(np.float32(13.52)) == 13.52


def test_an_edit_changes_that_feature_only(frame, specs):
    x = frame.to_numpy("float32")
    ordered = sorted(specs.values(), key=lambda s: s.index)
    values = default_values(ordered, x[0])
    values[1] = specs["rooms"].high
    values[3] = 2 if values[3] != 2 else 0
    edited = edited_input(ordered, values)
    assert changed_features(x[0], edited) == [1, 3]
    assert edited[0, 1] == x[:, 1].max()
    assert input_digest(edited) != input_digest(x[0:1])


def test_values_outside_the_spec_are_refused(frame, specs):
    ordered = sorted(specs.values(), key=lambda s: s.index)
    values = default_values(ordered, frame.to_numpy("float32")[0])
    for index, bad, word in [(0, specs["price"].high + 1, "price"), (3, 5, "zone"),
                             (0, float("nan"), "price"), (0, "3", "price")]:
        wrong = list(values)
        wrong[index] = bad
        with pytest.raises(ValueError, match=word):
            edited_input(ordered, wrong)
    with pytest.raises(ValueError, match="values for"):
        edited_input(ordered, values[:-1])


def test_digests_are_stable_and_content_bound():
    a = np.arange(6, dtype="float32").reshape(1, 6)
    assert input_digest(a) == input_digest(a.copy()) == input_digest(np.asfortranarray(a))
    nudged = a.copy()
    nudged[0, 2] = np.nextafter(nudged[0, 2], np.float32(9))
    assert input_digest(nudged) != input_digest(a)
    assert input_digest(a.astype("float64")) != input_digest(a)  # dtype is part of it
    assert input_digest(a.reshape(2, 3)) != input_digest(a)      # and the shape
    text = text_input("a fine film")
    assert input_digest(text) == input_digest(text_input("a fine film"))
    assert input_digest(text) == input_digest(np.array(["a fine film"]))
    assert input_digest(text) != input_digest(text_input("a fine film!"))


def test_digest_is_a_sha256_of_the_declared_payload():
    import hashlib

    a = np.array([[1.5, 2.5]], dtype="float32")
    expected = hashlib.sha256(b"<f4(1, 2)\x00" + a.tobytes()).hexdigest()
    assert input_digest(a) == expected
    assert input_digest(text_input("héllo")) == hashlib.sha256(
        b"text\x00" + "héllo".encode()).hexdigest()


def test_text_input_refuses_empty_and_overlong_texts():
    out = text_input("  great movie ")
    assert out.dtype == object and out.shape == (1,) and out[0] == "  great movie "
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(DataError, match="empty"):
            text_input(empty)
    with pytest.raises(DataError, match="at most"):
        text_input("a" * (MAX_TEXT_CHARS + 1))
    assert text_input("a" * (MAX_TEXT_CHARS + 1), MAX_TEXT_CHARS + 1).shape == (1,)


# ---------------------------------------------------------------- images


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(3).uniform(0.0, 1.0, (8, 6, 1)).astype("float32")


PIXELS = PixelRange(low=0.0, high=1.0, mean=0.4)


def test_the_identity_edit_changes_nothing(image):
    out = edit_image(image, ImageEdit(), PIXELS)
    assert out.tobytes() == image.tobytes() and out is not image


def test_brightness_adds_a_share_of_the_range_and_clips(image):
    out = edit_image(image, ImageEdit(brightness=0.2), PixelRange(0.0, 2.0, 0.5))
    np.testing.assert_allclose(out, np.clip(image + 0.4, 0, 2), rtol=1e-6)
    assert edit_image(image, ImageEdit(brightness=1.0), PIXELS).min() == 1.0


def test_noise_is_reproducible_by_seed(image):
    a = edit_image(image, ImageEdit(noise=0.1, seed=4), PIXELS)
    assert a.tobytes() == edit_image(image, ImageEdit(noise=0.1, seed=4), PIXELS).tobytes()
    assert a.tobytes() != edit_image(image, ImageEdit(noise=0.1, seed=5), PIXELS).tobytes()
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert 0.03 < float(np.std(a - image)) < 0.12


def test_occlusion_fills_exactly_the_rectangle(image):
    out = edit_image(image, ImageEdit(occlude=(2, 1, 3, 2), fill="mean"), PIXELS)
    mask = np.zeros(image.shape, bool)
    mask[2:5, 1:3] = True
    assert np.all(out[mask] == np.float32(0.4))
    assert np.array_equal(out[~mask], image[~mask])
    edge = edit_image(image, ImageEdit(occlude=(6, 4, 10, 10), fill="max"), PIXELS)
    assert np.all(edge[6:, 4:] == 1.0) and np.array_equal(edge[:6], image[:6])


def test_bad_image_edits_are_refused(image):
    with pytest.raises(ValueError, match="fill"):
        edit_image(image, ImageEdit(occlude=(0, 0, 1, 1), fill="white"), PIXELS)
    with pytest.raises(ValueError, match="image"):
        edit_image(image[..., 0], ImageEdit(), PIXELS)
    assert pixel_range(np.array([[[[0.0]], [[2.0]]]])) == PixelRange(0.0, 2.0, 1.0)


# ---------------------------------------------------------------- comparing predictions


def test_multiclass_comparison_has_each_class_and_its_change():
    result = compare_predictions(np.array([0.7, 0.2, 0.1]), np.array([0.3, 0.6, 0.1]),
                                 "multiclass", ("a", "b", "c"))
    assert list(result.table.index) == ["a", "b", "c"]
    np.testing.assert_allclose(result.table["change"], [-0.4, 0.4, 0.0], atol=1e-6)
    assert result.original == "predicted a (70.0 %)" and result.edited == "predicted b (60.0 %)"
    assert result.moved and result.edited_scores.startswith("a 30.0 % · b 60.0 %")
    tiny = compare_predictions(np.array([1 - 3.2e-6, 3.2e-6, 0.0]), np.array([0.7, 0.2, 0.1]),
                               "multiclass", ("a", "b", "c"))
    assert tiny.original_scores == "a >99.99 % · b <0.01 % · c 0 %"  # never "3.2e-06"


def test_a_sigmoid_reads_as_negative_and_positive():
    result = compare_predictions(np.array([0.2]), np.array([0.9]), "binary",
                                 ("negative", "positive"))
    np.testing.assert_allclose(result.table.loc["positive"], [0.2, 0.9, 0.7], atol=1e-6)
    assert result.edited == "predicted positive (90.0 %)" and result.moved


def test_regression_compares_the_value():
    result = compare_predictions(np.array([150.0]), np.array([162.5]), "regression")
    assert list(result.table.index) == ["predicted value"]
    assert result.table.loc["predicted value", "change"] == pytest.approx(12.5)
    assert result.edited == "predicted value 162.5" and result.edited_scores == ""


# ---------------------------------------------------------------- attribution changes


def _attr(method: str, values) -> Attribution:
    return Attribution(values=np.asarray(values, float), method=method, target=0, params={},
                       seconds=0.0, feature_names=("a", "<b>", "c"))


def test_changes_are_edited_minus_original_per_common_method():
    before = {"lime": _attr("lime", [1, 2, 3]), "shap": _attr("shap", [0, 0, 0])}
    after = {"lime": _attr("lime", [1, 5, 2]), "saliency": _attr("saliency", [1, 1, 1])}
    changes = attribution_changes(before, after)
    assert list(changes) == ["lime"]
    np.testing.assert_array_equal(changes["lime"].values, [0, 3, -1])


def test_change_bars_one_panel_per_method_in_the_given_order():
    changes = {"lime": _attr("lime", [0.0, 3.0, -1.0]), "shap": _attr("shap", [2.0, 0.0, 1.0])}
    fig = change_bars(changes, [1, 2, 0], ["a", "<b>", "c"], edited=[1])
    assert len(fig.data) == 2
    assert list(fig.data[0].x) == [3.0, -1.0, 0.0] and list(fig.data[1].x) == [0.0, 1.0, 2.0]
    assert list(fig.data[0].y) == ["&lt;b&gt; (edited)", "c", "a"]  # user text escaped
    assert fig.data[0].marker.color[0] != fig.data[0].marker.color[1]  # red vs blue
    with pytest.raises(ValueError):
        change_bars({}, [])


# ---------------------------------------------------------------- exact: a linear model


@pytest.fixture(scope="module")
def linear():
    import keras

    from components.model.predict import make_predict_fn

    w, b = np.array([0.5, -2.0, 3.0], dtype="float32"), np.float32(0.25)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.layers[-1].set_weights([w[:, None], np.array([b])])
    data = np.random.default_rng(0).uniform(-1, 1, (40, 3)).astype("float32")
    subject = Subject(x=data[3:4], kind="tabular", predict_fn=make_predict_fn(model),
                      model=model, background=data, feature_names=("a", "b", "c"),
                      task="regression")
    return model, w, b, data, subject


def test_moving_one_feature_by_d_moves_the_output_by_w_d(linear):
    from components.explain.local import explain_subject

    model, w, _, data, subject = linear
    specs = feature_specs(data, ["a", "b", "c"])
    values = default_values(specs, subject.sample)
    for j, d in [(0, 0.3), (1, -0.4), (2, 0.1)]:
        moved = list(values)
        moved[j] = float(np.clip(values[j] + d, specs[j].low, specs[j].high))
        x_new = edited_input(specs, moved)
        real_d = float(x_new[0, j] - subject.x[0, j])
        assert changed_features(subject.x, x_new) == [j]
        edited = replace(subject, x=x_new)
        change = subject.predict_fn(x_new)[0, 0] - subject.predict_fn(subject.x)[0, 0]
        assert change == pytest.approx(w[j] * real_d, abs=1e-5)
        attr = explain_subject(model, edited, "gradxinput", 0, 0)
        np.testing.assert_allclose(attr.values, w * x_new[0], rtol=1e-5, atol=1e-6)
        assert attr.values[j] == pytest.approx(w[j] * x_new[0, j], rel=1e-5)
        before = explain_subject(model, subject, "gradxinput", 0, 0)
        delta = attribution_changes({"gradxinput": before}, {"gradxinput": attr})
        expected = np.zeros(3)
        expected[j] = w[j] * real_d
        np.testing.assert_allclose(delta["gradxinput"].values, expected, atol=1e-5)


# ---------------------------------------------------------------- the page (AppTest)


@pytest.fixture(scope="module")
def session():
    at = new_app(timeout=300)
    at.run()
    return at


def _open(at, key: str, row: int = 3):
    at.selectbox(key="model_choice").select(key).run()
    at.query_params["row"] = str(row)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "What if?"
    return at


def _slider(at, name: str):
    """The edit slider of feature ``name`` (labels are Markdown-escaped names)."""
    return next(s for s in at.slider if s.key and s.key.startswith("whatif_edit_")
                and s.label.replace("\\", "") == name)


def _verdicts(at) -> tuple[str, str]:
    lines = [m.value.replace("\\", "") for m in at.markdown]
    original = next(x for x in lines if x.startswith("**Original:**"))
    return original, next(x for x in lines if x.startswith("**Edited:**"))


def _scores(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "edited" in getattr(d.value, "columns", []))


def _charts(at) -> list[str]:
    return [c.spec for c in page_charts.charts(at)]


def test_wine_a_slider_moves_the_prediction_and_the_panels_and_reset_restores(session):
    at = _open(session, "wine_classifier")
    assert len(_charts(at)) == 6  # one panel per applicable method; no edit, no change chart
    scores, panels = _scores(at), _charts(at)
    assert np.allclose(scores["original"], scores["edited"])
    proline = _slider(at, "proline")
    start = proline.value
    assert isinstance(start, int) and proline.min == 278 and proline.max == 1680
    proline.set_value(1600).run()
    assert not at.exception and not at.error
    moved = _scores(at)
    assert not np.allclose(moved["original"], moved["edited"], rtol=0, atol=1e-9)
    assert np.allclose(moved["original"], scores["original"])
    after = _charts(at)
    assert len(after) == 6 + 1  # the panels and the change chart
    assert all(a != b for a, b in zip(after[:6], panels, strict=True))
    change = json.loads(after[-1])
    assert len(change["data"]) == 6
    assert any("proline (edited)" in y for y in change["data"][0]["y"])
    assert any(c.value.replace("\\", "") == f"Edited: proline {start} → 1600" for c in at.caption)
    at.button(key="whatif_reset").click().run()
    assert _slider(at, "proline").value == start
    assert np.allclose(_scores(at)["edited"], scores["original"])
    assert _charts(at) == panels
    assert any(c.value.startswith("No edits yet") for c in at.caption)


def test_an_edit_out_of_view_or_across_pages_is_kept_until_reset(session):
    at = _open(session, "wine_classifier")
    _slider(at, "proline").set_value(1500).run()
    at.text_input(key="whatif_find").set_value("alc").run()  # proline is out of view
    drawn = {s.label.replace("\\", "") for s in at.slider
             if s.key and s.key.startswith("whatif_edit_")}
    assert drawn == {"alcohol", "alcalinity_of_ash"}
    assert any("proline 1050 → 1500" in c.value for c in at.caption)
    at.text_input(key="whatif_find").set_value("").run()
    assert _slider(at, "proline").value == 1500
    at.switch_page("views/explain.py").run()
    at.switch_page(PAGE).run()
    assert _slider(at, "proline").value == 1500
    at.button(key="whatif_reset").click().run()
    assert _slider(at, "proline").value == 1050
    assert any(c.value.startswith("No edits yet") for c in at.caption)


def test_moving_a_slider_back_reuses_the_cached_results(session, monkeypatch):
    at = _open(session, "wine_classifier")
    calls = []
    original = REGISTRY["lime"].explain
    monkeypatch.setattr(REGISTRY["lime"], "explain",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    st.cache_data.clear()
    at.run()
    first = len(calls)
    assert first == 1  # the sample's own LIME: slider order and panel share one entry
    _slider(at, "alcohol").set_value(12.0).run()
    _slider(at, "alcohol").set_value(14.0).run()
    assert len(calls) == first + 2
    _slider(at, "alcohol").set_value(12.0).run()  # seen before: from the cache
    at.button(key="whatif_reset").click().run()   # the sample itself: cached too
    assert len(calls) == first + 2
    assert not at.exception


def test_another_target_and_fewer_methods(session):
    at = _open(session, "wine_classifier")
    methods = next(m for m in at.multiselect if m.label == "Methods")
    methods.set_value(["lime", "gradxinput"]).run()
    assert len(_charts(at)) == 2
    target = next(s for s in at.selectbox if s.label == "Explain the output")
    assert target.value == -1 and "edited input's prediction" in target.format_func(-1)
    target.set_value(2).run()
    assert not at.exception and not at.error and len(_charts(at)) == 2
    target.set_value(-1).run()
    methods.set_value(list(methods.options)).run()


def _sentiment(text: str) -> float:
    from components.model.load import load_model_path
    from components.model.predict import make_predict_fn
    from components.model.samples import get_sample

    model = load_model_path(get_sample("sentiment_text").model_path).model
    return float(make_predict_fn(model)(np.array([text], dtype=object))[0, 0])


@pytest.mark.parametrize("row_text, words, direction", [
    ("negative", " superb great superb wonderful", +1),
    ("positive", " awful boring awful terrible", -1)])
def test_sentiment_a_strong_word_moves_the_prediction_its_way(session, row_text, words,
                                                               direction):
    data = pd.read_csv("sample_models/sentiment_text/data.csv")
    row = int(np.flatnonzero(data["label"] == (1 if row_text == "positive" else 0))[0])
    at = _open(session, "sentiment_text", row)
    box = at.text_area[0]
    assert box.value == data["text"][row]
    before = _scores(at).loc["positive", "edited"]
    box.set_value(data["text"][row] + words).run()
    assert not at.exception and not at.error
    after = _scores(at)
    assert direction * (after.loc["positive", "edited"] - before) > 0.01
    assert after.loc["positive", "edited"] == pytest.approx(
        _sentiment(data["text"][row] + words), abs=1e-5)
    assert len(_charts(at)) == 6  # every panel, over the edited text's tokens
    at.button(key="whatif_reset").click().run()
    assert at.text_area[0].value == data["text"][row]


def test_an_empty_text_is_one_line_not_a_crash(session):
    at = _open(session, "sentiment_text")
    at.text_area[0].set_value("   ").run()
    assert not at.exception
    assert [w.value.replace("\\", "") for w in at.warning] == [
        "the text is empty: type a few words to see the prediction"]
    assert _charts(at) == []
    at.button(key="whatif_reset").click().run()
    assert not at.warning and len(_charts(at)) == 6


def test_diabetes_regression_renders_with_a_pick_list_for_sex(session):
    at = _open(session, "diabetes_regression")
    sex = next(s for s in at.selectbox if s.label == "sex")
    assert sex.options == ["1", "2"]
    assert len(_charts(at)) == 6
    original, edited = _verdicts(at)
    assert original.startswith("**Original:** predicted value ")
    assert original.removeprefix("**Original:**") == edited.removeprefix("**Edited:**")
    _slider(at, "bmi").set_value(40.0).run()
    assert not at.exception and not at.error
    assert _verdicts(at)[1] != edited
    assert list(_scores(at).index) == ["predicted value"]
    at.button(key="whatif_reset").click().run()


def test_digits_an_occluded_rectangle_changes_the_prediction(session):
    at = _open(session, "digits_cnn")
    assert len(at.get("image")) == 2  # original and edited side by side
    before = _scores(at)["edited"].to_numpy()
    at.toggle[0].set_value(True).run()
    assert not at.exception and not at.error
    assert not np.allclose(_scores(at)["edited"].to_numpy(), before)
    assert len(_charts(at)) == 7
    at.button(key="whatif_reset").click().run()
    assert at.toggle[0].value is False
    assert np.allclose(_scores(at)["edited"].to_numpy(), before)


def test_an_uploaded_tabular_model_is_edited_through_its_worker(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype("float32")
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["label"] = (x[:, 0] > 0).astype(int)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")], name="mine")
    path = tmp_path / "mine.keras"
    model.save(path)
    at = new_app(timeout=300)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("mine.keras", path.read_bytes()).run()
    at.file_uploader(key="data_file").upload("mine.csv",
                                             frame.to_csv(index=False).encode()).run()
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    before = _scores(at)["edited"].to_numpy()
    _slider(at, "a").set_value(float(_slider(at, "a").max)).run()
    assert not at.exception and not at.error
    assert not np.allclose(_scores(at)["edited"].to_numpy(), before)
    assert len(_charts(at)) == 6 + 1
