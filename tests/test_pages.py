"""Page tests: the whole app (router, sidebar, overview page) driven through AppTest."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from apptest_support import new_app
from components.model.load import load_model_path
from components.model.samples import get_sample, list_samples
from components.text_safety import escape_markdown

SAMPLES = [s.key for s in list_samples()]


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _errors(at) -> list[str]:
    """Error lines as the user reads them (the app escapes Markdown in user data)."""
    return [e.value.replace("\\", "") for e in at.error]


def _title(at) -> str:
    return at.title[0].value


@pytest.fixture(scope="module")
def expected():
    """Each sample's name and parameter count straight from Keras, independent of the app."""
    out = {}
    for sample in list_samples():
        model = load_model_path(sample.model_path).model
        out[sample.key] = (model.name, model.count_params(), len(model.layers))
    return out


@pytest.fixture(scope="module")
def session():
    """One simulated session reused across the sample tests (TF loads once)."""
    at = new_app()
    at.run()
    return at


def test_default_page_shows_a_sample_at_once(session):
    assert not session.exception
    assert session.selectbox(key="model_choice").value == SAMPLES[0] == "wine_classifier"
    assert _title(session) == "Wine cultivar classifier"  # the sample's title, not a file name


@pytest.mark.parametrize("key", SAMPLES)
def test_every_sample_renders_summary_and_data(session, expected, key):
    session.selectbox(key="model_choice").select(key).run()
    assert not session.exception
    name, params, _ = expected[key]
    assert _title(session) == escape_markdown(get_sample(key).title)
    metrics = _metrics(session)
    assert metrics["Parameters"] == f"{params:,}"
    assert metrics["Usable"] == "yes"
    assert _errors(session) == []
    layer_table = session.dataframe[0].value
    assert layer_table["Params"][layer_table["Inside"] == ""].sum() == params
    assert len(session.success) >= 2  # label and feature checks passed


def test_image_sample_shows_thumbnails(session):
    session.selectbox(key="model_choice").select("digits_cnn").run()
    assert not session.exception
    images = session.get("image")
    assert len(images) == 1 and len(images[0].value) == 24
    assert images[0].captions[0].startswith(r"\#0 · label ")


def test_task_override_changes_the_shown_task(session):
    session.selectbox(key="model_choice").select("diabetes_regression").run()
    assert "Task: Regression (linear output)" in session.text[0].value
    task_box = next(s for s in session.selectbox if s.label == "Task")
    task_box.select("binary").run()
    assert "Task: Binary classification (one sigmoid unit)" in session.text[0].value


def test_upload_a_good_model_then_a_mismatched_dataset():
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    sample = next(s for s in list_samples() if s.key == "wine_classifier")
    at.file_uploader(key="model_file").upload("mine.keras", sample.model_path.read_bytes()).run()
    assert not at.exception
    assert _title(at) == "Wine classifier"  # the model's own name, readable
    csv = sample.data_path.read_text().splitlines()
    dropped = "\n".join(",".join(line.split(",")[1:]) for line in csv)  # without 'alcohol'
    at.file_uploader(key="data_file").upload("short.csv", dropped.encode()).run()
    assert not at.exception
    assert _metrics(at)["Usable"] == "no: see the checks"
    # the uploaded bytes are the bundled sample's, so its column names are known
    assert "expected 13 feature columns, got 12: missing 'alcohol'" in _errors(at)


def _lambda_archive() -> bytes:
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "evil", "layers": [
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"name": "payload", "function": {"class_name": "__lambda__", "config": {
             "code": "ZXZpbA==", "defaults": None, "closure": None}}}}]}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", "{}")
    return buf.getvalue()


@pytest.mark.parametrize(("filename", "content", "expected_text"), [
    ("evil.keras", _lambda_archive(), "Lambda layer holds Python code"),
    ("notes.keras", b"just some notes, not a model\n", "is a text file, not a Keras model"),
    ("noise.h5", bytes(range(256)) * 8, "not a Keras model"),
])
def test_hostile_upload_shows_one_line_and_app_lives_on(filename, content, expected_text):
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload(filename, content).run()
    assert not at.exception
    errors = _errors(at)
    assert errors and all("\n" not in e for e in errors)
    assert any(expected_text in e for e in errors), errors
    # the session goes on: pick a sample again and it renders
    at.selectbox(key="model_choice").select("digits_cnn").run()
    assert not at.exception and _title(at) == "Handwritten digits CNN"


def test_uploads_are_isolated_between_sessions():
    alice, bob = new_app(), new_app()
    alice.run()
    bob.run()
    alice.selectbox(key="model_choice").select("__upload__").run()
    digits = next(s for s in list_samples() if s.key == "digits_cnn")
    alice.file_uploader(key="model_file").upload("alice.keras",
                                                 digits.model_path.read_bytes()).run()
    assert _title(alice) == "Digits cnn"
    bob.selectbox(key="model_choice").select("__upload__").run()
    assert _title(bob) == "Glassbox"  # nothing uploaded in Bob's session
    assert not any("digits" in t.value for t in bob.title)


def test_selection_persists_across_page_runs():
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("sentiment_text").run()
    at.switch_page("views/overview.py").run()
    assert not at.exception
    assert _title(at) == escape_markdown("Review sentiment (text)")


def test_query_param_preselects_a_sample():
    at = new_app()
    at.query_params["sample"] = "digits_cnn"
    at.run()
    assert at.selectbox(key="model_choice").value == "digits_cnn"
    assert _title(at) == "Handwritten digits CNN"


def test_choosing_another_label_column_rechecks_the_data(session):
    session.selectbox(key="model_choice").select("diabetes_regression").run()
    label_box = next(s for s in session.selectbox if s.label == "Label column")
    assert label_box.value == "auto"
    label_box.select("s6").run()
    assert not session.exception
    assert _metrics(session)["Label"] == "s6"
    assert any("missing 's6'; unexpected 'target'" in e for e in _errors(session)), _errors(session)


def test_markup_in_user_data_is_shown_as_text(session):
    """A column named like a Markdown image must not make the browser fetch anything."""
    session.selectbox(key="model_choice").select("wine_classifier").run()
    sample = next(s for s in list_samples() if s.key == "wine_classifier")
    hostile = "![t](http://127.0.0.1:9/track.png)<script>x</script>"
    lines = sample.data_path.read_text().splitlines()
    lines[0] = lines[0].replace("magnesium", f'"{hostile}"')
    session.file_uploader(key="data_file").upload("x.csv", "\n".join(lines).encode()).run()
    assert not session.exception
    raw = [e.value for e in session.error]
    assert any(escape_markdown(hostile) in e for e in raw), raw
    assert not any("![t](" in e for e in raw)
    session.file_uploader(key="data_file").set_value(None).run()


MODEL_PAGES = ["views/architecture.py", "views/weights.py"]


@pytest.mark.parametrize("key", SAMPLES)
def test_model_view_pages_render_every_sample(session, key):
    session.selectbox(key="model_choice").select(key).run()
    for page in MODEL_PAGES:
        session.switch_page(page).run()
        assert not session.exception, (key, page)
        assert len(session.get("plotly_chart")) >= 1
    session.switch_page("views/overview.py").run()


def test_architecture_details_follow_the_layer_picker(session):
    session.selectbox(key="model_choice").select("wine_classifier").run()
    session.switch_page("views/architecture.py").run()
    picker = next(s for s in session.selectbox if s.label == "Layer details")
    picker.select("encoder/dense").run()
    assert not session.exception
    assert _metrics(session)["Parameters"] == "224"  # 13 x 16 + 16
    assert session.json[0].value  # the layer's config
    session.switch_page("views/overview.py").run()


def test_weights_page_opens_the_linked_layer(session):
    session.selectbox(key="model_choice").select("digits_cnn").run()
    session.query_params["layer"] = "conv2"
    session.switch_page("views/weights.py").run()
    assert not session.exception
    assert next(s for s in session.selectbox if s.label == "Layer").value == "conv2"
    assert len(session.dataframe) == 2  # this layer's statistics, then all layers
    del session.query_params["layer"]
    session.switch_page("views/overview.py").run()


def test_uploaded_branched_model_with_a_nested_submodel(tmp_path):
    import keras

    a, b = keras.Input((4,), name="a"), keras.Input((6,), name="b")
    block = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, name="inner_dense")],
                             name="block")
    merged = keras.layers.Concatenate(name="cat")([block(a), keras.layers.Dense(3, name="side")(b)])
    model = keras.Model([a, b], keras.layers.Dense(2, activation="softmax", name="out")(merged),
                        name="branchy")
    path = tmp_path / "branchy.keras"
    model.save(path)
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("branchy.keras", path.read_bytes()).run()
    assert _title(at) == "Branchy"
    at.switch_page("views/architecture.py").run()
    assert not at.exception
    layers = next(s for s in at.selectbox if s.label == "Layer details").options
    assert {"a", "b", "block/inner_dense", "side", "cat", "out"} <= set(layers)
    at.switch_page("views/weights.py").run()
    assert not at.exception
    assert "block/inner_dense" in next(s for s in at.selectbox if s.label == "Layer").options


@pytest.mark.parametrize("key", SAMPLES)
def test_metrics_page_scores_every_sample(session, key):
    session.selectbox(key="model_choice").select(key).run()
    session.switch_page("views/metrics.py").run()
    assert not session.exception
    metrics = _metrics(session)
    if key == "diabetes_regression":
        assert set(metrics) >= {"mae", "rmse", "r2"}
    else:
        assert 0.9 < float(metrics["accuracy"]) <= 1.0
        assert len(session.get("plotly_chart")) >= 4  # curves, confusion, ROC, PR
    session.switch_page("views/overview.py").run()


def test_metrics_page_reads_an_uploaded_history(session):
    session.selectbox(key="model_choice").select("wine_classifier").run()
    session.switch_page("views/metrics.py").run()
    history = json.dumps({"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.7]}).encode()
    uploader = next(u for u in session.file_uploader if u.key.startswith("history_"))
    uploader.upload("run.json", history).run()
    assert not session.exception
    assert any("3 epochs from" in c.value for c in session.caption)
    uploader = next(u for u in session.file_uploader if u.key.startswith("history_"))
    uploader.set_value(("bad.json", b"[1, 2", "application/json")).run()
    assert any(e.startswith("History refused:") for e in _errors(session))
    session.switch_page("views/overview.py").run()
