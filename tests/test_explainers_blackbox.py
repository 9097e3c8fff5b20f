"""LIME and SHAP through ``predict_fn`` only: exact where the method guarantees it.

Kernel SHAP is additive by construction (its regression is solved under that constraint), so
additivity is checked to 1 % on a tabular model, a digit and a review; its base value is the
output on the fully masked input. LIME is a fit, so it is checked for what a fit must get
right: the sign and ranking of a linear model's weights x feature std, the word that decides
a review, and that the same seed gives the same values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.explain.methods import masking
from components.explain.methods.base import Subject
from components.explain.methods.lime_explainer import EXPLAINER as LIME
from components.explain.methods.lime_explainer import text_neighbourhood
from components.explain.methods.shap_explainer import EXPLAINER as SHAP
from components.explain.methods.text_tokens import masked_texts, tokens_of
from components.model.predict import make_predict_fn

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
REVIEW = "the film was excellent"
# A linear model's weights and its background's per-feature std: LIME's tabular weights are
# per background std, so they should follow WEIGHTS * STDS = [2, -3, 0.5, 0] in sign and rank.
WEIGHTS = np.array([2.0, -1.0, 0.25, 0.0])
STDS = np.array([1.0, 3.0, 2.0, 1.0])


def _load(name: str):
    import keras

    return keras.saving.load_model(SAMPLES / name / "model.keras", safe_mode=True,
                                   compile=False)


def _linear_model(activation: str | None):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation=activation)])
    model.layers[-1].set_weights([WEIGHTS[:, None].astype("float32"),
                                  np.array([0.1], dtype="float32")])
    return model


@pytest.fixture(scope="module")
def linear_background() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.normal(size=(120, 4)) * STDS + np.array([1.0, -2.0, 0.5, 3.0])).astype(
        "float32")


@pytest.fixture(scope="module")
def regression_subject(linear_background) -> Subject:
    model = _linear_model(None)
    return Subject(x=np.array([[0.5, 1.0, -1.0, 2.0]], dtype="float32"), kind="tabular",
                   predict_fn=make_predict_fn(model), model=model,
                   background=linear_background, feature_names=("a", "b", "c", "d"),
                   task="regression")


@pytest.fixture(scope="module")
def binary_subject(linear_background) -> Subject:
    model = _linear_model("sigmoid")
    return Subject(x=np.array([[0.2, -1.0, 0.3, 2.0]], dtype="float32"), kind="tabular",
                   predict_fn=make_predict_fn(model), model=model,
                   background=linear_background, feature_names=("a", "b", "c", "d"),
                   task="binary")


@pytest.fixture(scope="module")
def multiclass_subject() -> Subject:
    """A tiny softmax model on 12 features: too many for Kernel SHAP to enumerate all
    coalitions with its default budget, so its sampling (and seeding) is exercised."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(3)
    background = rng.normal(size=(60, 12)).astype("float32")
    return Subject(x=rng.normal(size=(1, 12)).astype("float32"), kind="tabular",
                   predict_fn=make_predict_fn(model), model=model, background=background,
                   feature_names=tuple(f"f{i}" for i in range(12)), task="multiclass")


@pytest.fixture(scope="module")
def digit_subject() -> Subject:
    model = _load("digits_cnn")
    with np.load(SAMPLES / "digits_cnn" / "data.npz", allow_pickle=False) as data:
        x = data["x"].astype("float32")
    return Subject(x=x[:1], kind="image", predict_fn=make_predict_fn(model), model=model,
                   background=x[:100], task="multiclass")


@pytest.fixture(scope="module")
def review_subject() -> Subject:
    model = _load("sentiment_text")
    texts = pd.read_csv(SAMPLES / "sentiment_text" / "data.csv")["text"].to_numpy(object)
    return Subject(x=np.array([REVIEW], dtype=object), kind="text",
                   predict_fn=make_predict_fn(model), model=model, background=texts[:50],
                   task="binary")


def _output(subject: Subject, target: int) -> float:
    return float(subject.predict_fn(subject.x)[0, target])


def _predicted(subject: Subject) -> int:
    return int(np.argmax(subject.predict_fn(subject.x)[0]))


def _assert_additive(attribution, output: float) -> None:
    total = attribution.base_value + float(np.sum(attribution.values))
    assert total == pytest.approx(output, rel=0.01, abs=1e-6)
    assert attribution.extras["additivity_error"] < 0.01


# --- SHAP: additivity and base values ---------------------------------------------------


def test_shap_tabular_is_additive_and_based_on_the_kmeans_background(multiclass_subject):
    import shap

    subject, target = multiclass_subject, 2
    attribution = SHAP.explain(subject, target, seed=0)
    assert attribution.values.shape == (12,)
    assert attribution.feature_names == subject.feature_names
    _assert_additive(attribution, _output(subject, target))
    summary = shap.kmeans(subject.background.astype(np.float64), 10)
    expected = np.average(subject.predict_fn(summary.data)[:, target], weights=summary.weights)
    assert attribution.base_value == pytest.approx(float(expected), abs=1e-6)
    assert attribution.params == {"seed": 0, "nsamples": 2 * 12 + 2048,
                                  "background_size": 10}
    json.dumps(attribution.to_json())


def test_shap_on_a_linear_regression_is_weight_times_distance_to_the_background(
        regression_subject):
    """Four features: every coalition is evaluated, so the values are exact Shapley values,
    which for a linear model are w_j * (x_j - background mean_j)."""
    import shap

    attribution = SHAP.explain(regression_subject, 0, seed=0)
    assert attribution.extras["exact"] is True
    summary = shap.kmeans(regression_subject.background.astype(np.float64), 10)
    mean = np.average(summary.data, axis=0, weights=summary.weights)
    expected = WEIGHTS * (regression_subject.x[0] - mean)
    np.testing.assert_allclose(attribution.values, expected, atol=1e-4)
    _assert_additive(attribution, _output(regression_subject, 0))


def test_shap_tabular_equals_shaps_kernel_explainer_and_skips_fixed_features(
        linear_background):
    """Four features, every coalition evaluated: the values equal shap's KernelExplainer's.
    A feature the sample shares with every background row is not a player and gets 0."""
    import shap

    model = _linear_model(None)
    background = linear_background.copy()
    background[:, 3] = 3.0  # the sample's value below: feature 3 cannot move the output
    x = np.array([[0.5, 1.0, -1.0, 3.0]], dtype="float32")
    predict_fn = make_predict_fn(model)
    subject = Subject(x=x, kind="tabular", predict_fn=predict_fn, model=model,
                      background=background, task="regression")
    attribution = SHAP.explain(subject, 0, seed=0)
    assert attribution.values[3] == 0.0 and attribution.extras["players"] == 3
    summary = shap.kmeans(background.astype(np.float64), 10)
    theirs = shap.KernelExplainer(lambda rows: predict_fn(rows)[:, 0], summary).shap_values(
        x[0].astype(np.float64), l1_reg=False, silent=True)
    np.testing.assert_allclose(attribution.values, theirs, atol=1e-5)


def test_shap_digit_is_additive_over_the_whole_image(digit_subject):
    target = _predicted(digit_subject)
    attribution = SHAP.explain(digit_subject, target, seed=0)
    assert attribution.values.shape == (16, 16, 1)
    assert attribution.feature_names is None
    assert np.isfinite(attribution.values).all()
    _assert_additive(attribution, _output(digit_subject, target))
    # The background is the fully masked image: every segment painted with the fill (0).
    blank = digit_subject.predict_fn(np.zeros((1, 16, 16, 1), dtype="float32"))[0, target]
    assert attribution.base_value == pytest.approx(float(blank), abs=1e-5)
    segments = masking.segment_image(digit_subject.x[0], 16)
    assert attribution.extras["segments"] == segments.max() + 1
    assert 8 <= attribution.extras["segments"] <= 64


def test_shap_text_is_additive_with_the_empty_text_as_base(review_subject):
    attribution = SHAP.explain(review_subject, 0, seed=0)
    tokens = tokens_of(review_subject.model, REVIEW)
    assert attribution.feature_names == tokens == ("the", "film", "was", "excellent")
    assert attribution.values.shape == (4,)
    assert attribution.extras["exact"] is True
    _assert_additive(attribution, _output(review_subject, 0))
    empty = review_subject.predict_fn(np.array([""], dtype=object))[0, 0]
    assert attribution.base_value == pytest.approx(float(empty), abs=1e-6)
    assert tokens[int(np.argmax(attribution.values))] == "excellent"


def test_shap_is_seeded_and_leaves_numpys_random_state_alone(multiclass_subject):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = SHAP.explain(multiclass_subject, 0, seed=5)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    again = SHAP.explain(multiclass_subject, 0, seed=5)
    np.testing.assert_array_equal(first.values, again.values)


# --- LIME -------------------------------------------------------------------------------


def test_lime_slopes_recover_a_linear_models_signs_and_ranking(regression_subject):
    attribution = LIME.explain(regression_subject, 0, seed=0, values="slope")
    assert attribution.output_kind == "sensitivity"
    assert attribution.params["values"] == "slope"
    expected = WEIGHTS * STDS  # [2, -3, 0.5, 0]
    assert attribution.values.shape == (4,)
    assert attribution.feature_names == ("a", "b", "c", "d")
    assert attribution.base_value is None
    np.testing.assert_array_equal(np.sign(attribution.values[:3]), np.sign(expected[:3]))
    assert list(np.argsort(-np.abs(attribution.values))) == [1, 0, 2, 3]
    # A linear model is its own best local fit: LIME's weight is the model's weight times
    # the background's std (its perturbation scale), up to its ridge penalty.
    per_std = WEIGHTS * regression_subject.background.std(axis=0)
    np.testing.assert_allclose(attribution.values, per_std, rtol=0.05, atol=0.01)


def test_lime_contributions_of_a_linear_model_are_weight_times_offset(regression_subject):
    # The default: each weight times the row's offset from the background mean, so a linear
    # model's values are w * (x - mean) and sum to f(x) - f(mean), as SHAP's sum to
    # f(x) - E[f] (the same thing for a linear model).
    attribution = LIME.explain(regression_subject, 0, seed=0)
    assert attribution.output_kind == "contribution"
    assert attribution.params["values"] == "contribution"
    assert attribution.params["sample_around_instance"] is True
    mean = regression_subject.background.astype("float64").mean(axis=0)
    offset = regression_subject.x[0] - mean
    np.testing.assert_allclose(attribution.values, WEIGHTS * offset, rtol=0.05, atol=0.02)
    moved = _output(regression_subject, 0) - float(
        regression_subject.predict_fn(mean[None].astype("float32"))[0, 0])
    assert float(attribution.values.sum()) == pytest.approx(moved, rel=0.05)
    shap_attr = SHAP.explain(regression_subject, 0, seed=0)
    np.testing.assert_allclose(attribution.values, shap_attr.values, rtol=0.1, atol=0.05)
    with pytest.raises(ValueError, match="values must be one of contribution, slope"):
        LIME.explain(regression_subject, 0, values="weights")


def test_lime_explains_a_one_unit_sigmoid_as_the_positive_class(binary_subject):
    attribution = LIME.explain(binary_subject, 0, seed=0, values="slope")
    assert np.sign(attribution.values[0]) == 1 and np.sign(attribution.values[1]) == -1
    assert int(np.argmax(np.abs(attribution.values))) in (0, 1)
    with pytest.raises(ValueError, match="out of range"):
        LIME.explain(binary_subject, 1)
    shap_attr = SHAP.explain(binary_subject, 0, seed=0)
    _assert_additive(shap_attr, _output(binary_subject, 0))


def test_lime_text_finds_the_word_that_decides_the_review(review_subject):
    attribution = LIME.explain(review_subject, 0, seed=0)
    assert attribution.feature_names == ("the", "film", "was", "excellent")
    assert attribution.values.shape == (4,)
    assert attribution.feature_names[int(np.argmax(np.abs(attribution.values)))] == "excellent"
    assert attribution.values[3] > 0


def test_lime_image_paints_one_value_per_segment(digit_subject):
    target = _predicted(digit_subject)
    attribution = LIME.explain(digit_subject, target, seed=0, num_samples=200)
    values = attribution.values
    assert values.shape == (16, 16, 1) and np.isfinite(values).all()
    assert attribution.feature_names is None
    segments = masking.segment_image(digit_subject.x[0], attribution.params["n_segments"],
                                      attribution.params["compactness"])
    for label in range(segments.max() + 1):
        assert np.ptp(values[segments == label]) == 0
    assert np.abs(values).max() > 0
    assert attribution.params == {"seed": 0, "num_samples": 200, "kernel_width": 0.25,
                                  "n_segments": 16, "compactness": 0.3, "fill": "zero"}


def test_lime_same_seed_same_values_other_seed_other_values(multiclass_subject,
                                                            review_subject):
    first = LIME.explain(multiclass_subject, 1, seed=0, num_samples=300)
    again = LIME.explain(multiclass_subject, 1, **first.params)
    other = LIME.explain(multiclass_subject, 1, seed=1, num_samples=300)
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other.values)
    text_a = LIME.explain(review_subject, 0, seed=3, num_samples=100)
    text_b = LIME.explain(review_subject, 0, seed=3, num_samples=100)
    text_c = LIME.explain(review_subject, 0, seed=4, num_samples=100)
    np.testing.assert_array_equal(text_a.values, text_b.values)
    assert not np.array_equal(text_a.values, text_c.values)


# --- availability and parameters --------------------------------------------------------


def test_unavailable_reasons(regression_subject, review_subject, digit_subject):
    for explainer in (LIME, SHAP):
        assert explainer.family == "blackbox"
        assert explainer.unavailable(regression_subject) is None
        assert explainer.unavailable(digit_subject) is None
        assert explainer.unavailable(review_subject) is None
        for background in (None, regression_subject.background[:1]):
            subject = Subject(x=regression_subject.x, kind="tabular",
                              predict_fn=regression_subject.predict_fn,
                              background=background, task="regression")
            reason = explainer.unavailable(subject)
            assert reason.startswith(f"{explainer.label} needs background rows")
            with pytest.raises(ValueError, match="background rows"):
                explainer.explain(subject, 0)
        empty = Subject(x=np.array(["?!"], dtype=object), kind="text",
                        predict_fn=review_subject.predict_fn, model=review_subject.model,
                        task="binary")
        assert "at least one token" in explainer.unavailable(empty)
    assert {LIME.name, LIME.label, SHAP.name, SHAP.label} == {"lime", "LIME", "shap", "SHAP"}


def test_bad_parameters_are_value_errors(regression_subject, digit_subject):
    with pytest.raises(ValueError, match="unknown parameter"):
        LIME.explain(regression_subject, 0, samples=10)
    with pytest.raises(ValueError, match="num_samples"):
        LIME.explain(regression_subject, 0, num_samples=0)
    with pytest.raises(ValueError, match="nsamples"):
        SHAP.explain(regression_subject, 0, nsamples="many")
    with pytest.raises(ValueError, match="fill"):
        SHAP.explain(digit_subject, 0, fill="blur(4,4)")
    with pytest.raises(ValueError, match="seed"):
        LIME.explain(regression_subject, 0, seed=-1)


# --- masking helpers --------------------------------------------------------------------


def test_segments_masks_and_painting():
    assert masking.resolve_n_segments("auto", 16, 16) == 16
    assert masking.resolve_n_segments("auto", 8, 8) == 8
    assert masking.resolve_n_segments("auto", 224, 224) == 64
    flat = masking.segment_image(np.zeros((16, 16, 1)), 16)  # nothing to follow: a grid
    assert flat.max() + 1 == 16 and set(np.unique(flat)) == set(range(16))
    rgb = masking.segment_image(np.random.default_rng(0).random((32, 32, 3)), 64)
    assert set(np.unique(rgb)) == set(range(rgb.max() + 1))
    image = np.arange(16, dtype="float32").reshape(4, 4, 1)
    segments = masking.grid_segments(4, 4, 4)
    masks = np.array([[1, 1, 1, 1], [0, 1, 1, 1], [0, 0, 0, 0]])
    out = masking.masked_images(image, segments, masks, np.full_like(image, -1))
    np.testing.assert_array_equal(out[0], image)
    assert (out[1][segments == 0] == -1).all() and (out[1][segments != 0] >= 0).all()
    assert (out[2] == -1).all()
    painted = masking.paint_segments(segments, np.array([4.0, -2.0, 1.0, 0.5]), 3)
    assert painted.shape == (4, 4, 3) and painted.sum() == pytest.approx(3.5)


def test_masked_texts_equal_one_join_per_row():
    tokens = ("the", "film", "was", "excellent", "!")
    masks = np.random.default_rng(3).integers(0, 2, (200, 5))
    masks[:2] = [[0] * 5, [1] * 5]
    expected = [" ".join(t for t, k in zip(tokens, row, strict=True) if k) for row in masks]
    assert list(masked_texts(tokens, masks)) == expected
    assert masked_texts(tokens, np.zeros((0, 5))).shape == (0,)


def test_lime_text_neighbourhood_is_lime_texts():
    from sklearn.metrics.pairwise import pairwise_distances

    masks, distances = text_neighbourhood(7, 400, seed=5)
    assert masks.shape == (400, 7) and set(np.unique(masks)) == {0.0, 1.0}
    assert (masks[0] == 1).all() and (masks[1:].sum(axis=1) <= 6).all()  # each drops >= 1
    # lime_text's weights: cosine distance to the full text, times 100.
    np.testing.assert_allclose(distances, pairwise_distances(masks, masks[:1],
                                                             metric="cosine").ravel() * 100,
                               atol=1e-9)
    # The number dropped is uniform on 1..7, so every count of kept tokens 0..6 occurs.
    assert set(masks[1:].sum(axis=1).astype(int)) == set(range(7))
    again, _ = text_neighbourhood(7, 400, seed=5)
    np.testing.assert_array_equal(masks, again)


def test_lime_text_recovers_an_additive_text_models_token_weights():
    # A black box whose output is the sum of the weights of the tokens it finds.
    weights = {"good": 2.0, "bad": -1.5, "film": 0.5}

    def predict(texts: np.ndarray) -> np.ndarray:
        return np.array([[sum(weights.get(t, 0.0) for t in str(text).split())]
                         for text in texts])

    subject = Subject(x=np.array(["a good film not bad"], dtype=object), kind="text",
                      predict_fn=predict, model=None, background=None, task="regression")
    attribution = LIME.explain(subject, 0, seed=0, num_samples=2000)
    assert attribution.feature_names == ("a", "good", "film", "not", "bad")
    np.testing.assert_allclose(attribution.values, [0.0, 2.0, 0.5, 0.0, -1.5], atol=0.05)
