"""One contract over the whole registry, for every data kind the samples cover.

Each method either applies and returns finite values shaped like the sample, reproducible
for a seed, or says in one line why it does not apply.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.explain.methods import REGISTRY
from components.explain.methods.base import FAMILIES, OUTPUTS, Attribution
from components.explain.methods.text_tokens import tokens_of

KEYS = ("wine_classifier", "digits_cnn", "sentiment_text", "diabetes_regression")
# Which methods must apply to which sample: a method silently going missing is a failure.
EXPECTED = {
    "wine_classifier": {"lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad"},
    "digits_cnn": set(REGISTRY),
    "sentiment_text": {"lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad"},
    "diabetes_regression": {"lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad"},
}


@pytest.fixture(scope="module")
def results(sample_subjects) -> dict:
    """(key, method) -> (first run, second run with the same seed) or the reason skipped."""
    out = {}
    for key in KEYS:
        subject, _ = sample_subjects[key]
        for name, explainer in REGISTRY.items():
            reason = explainer.unavailable(subject)
            out[key, name] = reason if reason else tuple(
                explainer.explain(subject, 0, seed=7) for _ in range(2))
    return out


def test_registry_entries_follow_the_protocol():
    assert list(REGISTRY) == ["lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad",
                              "gradcam"]
    for name, explainer in REGISTRY.items():
        assert explainer.name == name
        assert explainer.label and explainer.family in FAMILIES
        assert isinstance(dict(explainer.defaults), dict)
        assert getattr(explainer, "output", None) in OUTPUTS, f"{name} declares no output"


def test_each_method_says_whether_it_returns_contributions_or_sensitivities():
    declared = {name: explainer.output for name, explainer in REGISTRY.items()}
    assert declared == {"lime": "contribution", "shap": "contribution", "ig": "contribution",
                        "gradxinput": "contribution", "saliency": "sensitivity",
                        "smoothgrad": "sensitivity", "gradcam": "sensitivity"}


@pytest.mark.parametrize("key", KEYS)
def test_the_expected_methods_apply(results, key):
    applied = {name for (k, name), r in results.items() if k == key and not isinstance(r, str)}
    assert applied == EXPECTED[key]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("name", list(REGISTRY))
def test_method_contract(results, sample_subjects, key, name):
    result = results[key, name]
    subject, _ = sample_subjects[key]
    if isinstance(result, str):  # does not apply: one line that says why
        assert result.strip() and "\n" not in result
        return
    first, second = result
    assert isinstance(first, Attribution)
    assert first.method == name and first.target == 0
    assert first.params["seed"] == 7
    assert first.seconds > 0
    expected_shape = ((len(tokens_of(subject.model, subject.sample)),)
                      if subject.kind == "text" else np.shape(subject.sample))
    assert first.values.shape == expected_shape
    assert np.all(np.isfinite(first.values))
    assert np.any(first.values != 0), "an all-zero attribution explains nothing"
    np.testing.assert_array_equal(first.values, second.values)  # same seed, same result
    if subject.kind == "text":
        assert first.feature_names == tokens_of(subject.model, subject.sample)
    elif subject.kind == "tabular":
        assert first.feature_names == subject.feature_names
    encoded = json.loads(json.dumps(first.to_json()))
    assert np.array(encoded["values"]).shape == expected_shape
    # what the values are, on the result and in its JSON; at the defaults a table or an
    # image gets what the method declares (a text's gradients may be read as contributions)
    assert first.output_kind in OUTPUTS and encoded["output_kind"] == first.output_kind
    if subject.kind != "text":
        assert first.output_kind == REGISTRY[name].output


def test_a_different_seed_changes_the_sampling_methods(sample_subjects):
    subject, _ = sample_subjects["wine_classifier"]
    for name in ("lime", "smoothgrad"):
        a = REGISTRY[name].explain(subject, 0, seed=1).values
        b = REGISTRY[name].explain(subject, 0, seed=2).values
        assert not np.array_equal(a, b), name


def test_a_gradient_method_without_the_model_says_why(sample_subjects):
    from dataclasses import replace

    subject, _ = sample_subjects["wine_classifier"]
    blind = replace(subject, model=None)
    for name, explainer in REGISTRY.items():
        reason = explainer.unavailable(blind)
        assert (reason is not None) == (explainer.family == "gradient"), name


@pytest.mark.parametrize("name", list(REGISTRY))
def test_unknown_parameters_are_refused(sample_subjects, name):
    subject, _ = sample_subjects["digits_cnn"]
    with pytest.raises(ValueError, match="unknown parameter"):
        REGISTRY[name].explain(subject, 0, seed=0, no_such_option=1)
