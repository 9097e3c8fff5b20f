"""Issue 16 through AppTest: refused data is never stored, the Data list fits the model, a
bad link says what it ignored, titles are readable, probabilities are percentages, and a
regression's sample table has no classifier filters."""

from __future__ import annotations

import hashlib

import pytest

from apptest_support import new_app
from components.model.samples import get_sample
from components.review.store import Store

EXPLAIN = "views/explain.py"


def _warnings(at) -> list[str]:
    """Warning lines as the user reads them (the app escapes Markdown in link text)."""
    return [w.value.replace("\\", "") for w in at.warning]


def _data_options(at) -> list[str]:
    box = next((s for s in at.selectbox if s.label == "Data"), None)
    return [] if box is None else list(box.options)


@pytest.fixture(scope="module")
def session():
    at = new_app(timeout=300)
    at.run()
    return at


def test_a_dataset_refused_by_its_checks_is_not_stored_nor_offered():
    at = new_app()
    at.run()
    lines = get_sample("wine_classifier").data_path.read_text().splitlines()
    refused = "\n".join(",".join(line.split(",")[1:]) for line in lines).encode()  # 12 columns
    at.file_uploader(key="data_file").upload("refused_wine.csv", refused).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Usable"] == "no: see the checks"
    digest = hashlib.sha256(refused).hexdigest()
    store = Store.from_env()  # the app's own workspace (GLASSBOX_WORKSPACE, tests/conftest.py)
    assert store.artifact(digest) is None and not store.has(digest)
    assert not (store.root / "blobs" / digest[:2] / digest).exists()
    assert not any("refused_wine.csv" in o for o in _data_options(at.run()))
    assert "data" not in at.query_params


def test_the_data_list_offers_only_datasets_that_fit_the_model():
    at = new_app()
    at.run()
    good = get_sample("wine_classifier").data_path.read_bytes() + b"\n"
    at.file_uploader(key="data_file").upload("wine_copy.csv", good).run()
    assert Store.from_env().has(hashlib.sha256(good).hexdigest())
    assert any("wine_copy.csv" in o for o in _data_options(at.run()))
    at.selectbox(key="model_choice").select("digits_cnn").run()
    assert not at.exception
    assert not any("wine_copy.csv" in o for o in _data_options(at))  # an image model
    at.selectbox(key="model_choice").select("wine_classifier").run()
    assert any("wine_copy.csv" in o for o in _data_options(at))


def test_a_link_to_a_missing_sample_says_what_it_opened():
    at = new_app()
    at.query_params["sample"] = "nosuch"
    at.query_params["row"] = "99999"
    at.run()
    assert not at.exception
    warnings = _warnings(at)
    assert "no sample named 'nosuch': opened the default sample" in warnings
    assert "row 99999 is past the last row (177): showing row 0" in warnings
    assert at.selectbox(key="model_choice").value == "wine_classifier"
    assert at.title[0].value == "Wine cultivar classifier"
    at.run()  # said once: the address now names what is open
    assert _warnings(at) == []


def test_a_link_with_bad_methods_and_target_explains_what_it_can():
    at = new_app(timeout=300)
    link = {"sample": "wine_classifier", "row": "500", "methods": "gradxinput,nosuch,gradcam",
            "target": "7"}
    for key, value in link.items():
        at.query_params[key] = value
    at.switch_page(EXPLAIN).run()  # the link opens the explain page itself
    assert not at.exception, at.exception
    warnings = _warnings(at)
    assert "row 500 is past the last row (177): showing row 0" in warnings
    assert ("no method 'nosuch'; gradcam does not apply to this model: using the rest"
            in warnings), warnings
    assert ("target 7 is not an output of this model (0\u20132): explaining the predicted "
            "output") in warnings
    assert at.markdown[0].value.startswith("**Row 0**")
    assert next(m for m in at.multiselect if m.label == "Methods").value == ["gradxinput"]


def test_titles_are_readable_on_pages_and_for_uploads(session):
    session.selectbox(key="model_choice").select("digits_cnn").run()
    assert session.title[0].value == "Handwritten digits CNN"
    session.switch_page("views/review.py").run()
    assert not session.exception
    assert any("of Handwritten digits CNN" in c.value for c in session.caption)
    session.switch_page("views/architecture.py").run()
    assert session.caption[0].value.startswith("Handwritten digits CNN")
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    model = get_sample("wine_classifier").model_path.read_bytes()
    at.file_uploader(key="model_file").upload("mine.keras", model).run()
    assert not at.exception
    assert at.title[0].value == "Wine classifier"  # the model's own name, readable


def test_probabilities_are_percentages(session):
    session.selectbox(key="model_choice").select("wine_classifier").run()
    session.switch_page(EXPLAIN).run()
    assert not session.exception
    target = next(s for s in session.selectbox if s.label == "Explain the output")
    assert all(o.count("%") == 1 and "e-" not in o for o in target.options), target.options
    header = session.markdown[0].value  # "**Row 0** · predicted … (confidence 97.3 %) · …"
    assert "confidence " in header and "%" in header and "e-0" not in header


def test_regression_has_no_classifier_filters(session):
    session.selectbox(key="model_choice").select("diabetes_regression").run()
    session.switch_page(EXPLAIN).run()
    assert not session.exception
    assert not [t for t in session.toggle if t.label == "Misclassified only"]
    assert not [s for s in session.slider if s.label == "Confidence"]
    session.selectbox(key="model_choice").select("wine_classifier").run()
    assert [t for t in session.toggle if t.label == "Misclassified only"]


def test_the_report_offers_only_the_methods_that_apply(session):
    session.selectbox(key="model_choice").select("wine_classifier").run()
    session.switch_page("views/review.py").run()
    assert not session.exception
    methods = next(m for m in session.multiselect if m.label == "Methods")
    assert "Grad-CAM" not in methods.options and "SHAP" in methods.options  # wine is tabular
    assert "Grad-CAM" not in methods.value
