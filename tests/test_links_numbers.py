"""Numbers without exponents, and the one-line notes a link that names something missing gets."""

from __future__ import annotations

import numpy as np
import pytest

from components.data.links import methods_note, model_note, row_note, target_note
from components.data.numbers import decimal, feature_line, output_text, percent
from components.data.session import model_title, readable


@pytest.mark.parametrize(("p", "shown"), [
    (3.2e-06, "<0.01 %"), (0.0, "0 %"), (0.0042, "0.42 %"), (0.973, "97.3 %"),
    (1.0, "100 %"), (0.99999999, ">99.99 %"), (0.9996, "99.96 %"), (0.5, "50.0 %"),
    (float("nan"), "n/a"),
])
def test_percent(p, shown):
    assert percent(p) == shown


@pytest.mark.parametrize(("v", "shown"), [
    (152.3, "152.3"), (0.004213, "0.004213"), (-1234567.8, "-1,234,568"), (3e-9, "0"),
    (12.5, "12.50"),
])
def test_decimal_never_writes_an_exponent(v, shown):
    assert decimal(v) == shown and "e" not in decimal(v)


def test_output_text_reads_probabilities_as_percentages():
    assert output_text(3.2e-06, "multiclass") == "<0.01 %"
    assert output_text(3.2e-06, "regression") == "0.000003200"
    assert output_text(7.5, "multiclass") == "7.500"  # a logit, not a probability


def test_feature_line_names_each_value_inertly_and_caps_its_length():
    line = feature_line(["alcohol", "*bold*", "tiny"], np.array([13.52, -2.0, 3e-7]))
    assert line == "alcohol **13.52** · \\*bold\\* **-2.000** · tiny **0**"
    long = feature_line([f"f{i}" for i in range(100)], np.arange(100.0), most=3)
    assert long == "f0 **0** · f1 **1.000** · f2 **2.000** · … 97 more in the table above"


def test_link_notes_say_what_was_ignored():
    assert model_note("sample", "nosuch", "the default sample") == \
        "no sample named 'nosuch': opened the default sample"
    assert row_note("99999", 178) == "row 99999 is past the last row (177): showing row 0"
    assert row_note("abc", 178) == "'abc' is not a row number: showing row 0"
    assert row_note("177", 178) is None and row_note(None, 178) is None
    offered, known = ["lime", "shap"], ["lime", "shap", "gradcam"]
    assert methods_note("lime,shap", offered, known) is None
    assert methods_note("lime,nosuch,gradcam", offered, known) == \
        "no method 'nosuch'; gradcam does not apply to this model: using the rest"
    assert methods_note("zzz", offered, known) == \
        "no method 'zzz': using every method that applies"
    assert target_note("7", 3) == \
        "target 7 is not an output of this model (0\u20132): explaining the predicted output"
    assert target_note("x", 3).startswith("target 'x' is not an output number")
    assert target_note("2", 3) is None


def test_a_link_note_quotes_the_address_inertly():
    note = model_note("sample", "\x1b[31m" + "a" * 100, "the default sample")
    assert "\x1b" not in note and len(note) < 120


@pytest.mark.parametrize(("file", "name", "title"), [
    ("wine_classifier.keras", "sequential", "Wine classifier"),
    ("mine.keras", "wine_classifier", "Wine classifier"),
    ("my-model.h5", "functional_3", "My model"),
    ("model.keras", "ResNet50", "ResNet50"),
])
def test_upload_titles_are_readable(file, name, title):
    assert model_title(None, file, name) == title


def test_readable():
    assert readable("diabetes_regression") == "Diabetes regression"
