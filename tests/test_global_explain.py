"""The global page: SHAP over many rows, permutation importance, PDP/ICE, class maps and
top tokens, held to exact numbers on tiny models; its figures; the page through AppTest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from apptest_support import new_app
from components.explain import global_importance as ge
from components.explain.methods import REGISTRY
from components.explain.methods.base import Subject
from components.explain.methods.kernel_shap import default_nsamples
from components.model.predict import make_predict_fn
from components.plots import global_importance as plots

LINEAR_WEIGHTS = np.array([2.0, 0.0, -1.0, 0.5], dtype=np.float32)  # feature 1 is ignored
LINEAR_BIAS = 0.25


# ---------------------------------------------------------------- tiny models


def _linear_regression():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)], name="linear")
    model.layers[0].set_weights([LINEAR_WEIGHTS[:, None], np.array([LINEAR_BIAS], "float32")])
    return model


@pytest.fixture(scope="module")
def linear():
    """(predict_fn, rows (60, 4)) of a linear regression that ignores feature 1."""
    model = _linear_regression()
    x = np.random.default_rng(0).normal(size=(60, 4)).astype("float32")
    return make_predict_fn(model), x


@pytest.fixture(scope="module")
def mlp():
    """(predict_fn, rows (40, 12), model) of a small softmax MLP with 12 features: too many
    players for the global budget to enumerate, so its coalitions are sampled."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")], name="mlp")
    x = np.random.default_rng(1).normal(size=(40, 12)).astype("float32")
    return make_predict_fn(model), x, model


def _step_classifier():
    """Two classes, decided by feature 0 alone: softmax([0, 20 * x0])."""
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    kernel = np.zeros((3, 2), "float32")
    kernel[0, 1] = 20.0
    model.layers[0].set_weights([kernel, np.zeros(2, "float32")])
    return model


# ---------------------------------------------------------------- rows


def test_sample_rows_are_distinct_sorted_and_seeded():
    rows = ge.sample_rows(178, 50, seed=4)
    assert len(rows) == 50 and len(set(rows.tolist())) == 50
    assert np.all(np.diff(rows) > 0) and rows.min() >= 0 and rows.max() < 178
    np.testing.assert_array_equal(rows, ge.sample_rows(178, 50, seed=4))
    assert not np.array_equal(rows, ge.sample_rows(178, 50, seed=5))
    np.testing.assert_array_equal(ge.sample_rows(178, 500, seed=4), np.arange(178))
    with pytest.raises(ValueError):
        ge.sample_rows(10, 0, seed=0)


def test_the_background_is_the_explain_pages(sample_subjects):
    subject, bundle = sample_subjects["wine_classifier"]
    from components.data.session import open_dataset
    from components.model.samples import get_sample

    sample = get_sample("wine_classifier")
    dataset = open_dataset(sample.data_path.read_bytes(), sample.data_path.name, bundle)
    np.testing.assert_array_equal(ge.background_of(dataset.x), subject.background)


def test_chunks_cover_every_row_once():
    assert ge.chunks(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert ge.chunks(0, 3) == []


def test_class_targets_flip_the_sign_for_a_sigmoids_negative_class():
    assert ge.class_target(0, 1, "binary") == (0, -1.0)
    assert ge.class_target(1, 1, "binary") == (0, 1.0)
    assert ge.class_target(0, 1, "regression") == (0, 1.0)
    assert ge.class_target(2, 3, "multiclass") == (2, 1.0)
    with pytest.raises(ValueError):
        ge.class_target(3, 3, "multiclass")
    assert ge.most_frequent(np.array([2, 1, 2, 0]), 3) == 2
    assert ge.most_frequent(np.array([1, 0]), 3) == 0  # ties: the lowest


# ---------------------------------------------------------------- SHAP


def test_an_ignored_feature_has_zero_mean_abs_shap(linear):
    predict_fn, x = linear
    shap = ge.tabular_shap(predict_fn, x, x, target=0)
    importance = ge.mean_abs(shap["values"])
    assert importance[1] == 0.0
    assert (importance[[0, 2, 3]] > 0.1).all()
    assert shap["exact"].all()  # 4 players: every coalition is enumerated


def test_linear_shap_values_are_weight_times_distance_to_the_background_mean(linear):
    from components.explain.methods.kernel_shap import background_summary

    predict_fn, x = linear
    shap = ge.tabular_shap(predict_fn, x, x, target=0)
    summary = background_summary(np.asarray(x, np.float64), ge.BACKGROUND_SIZE)
    mean = summary.weights @ summary.data / summary.weights.sum()
    expected = LINEAR_WEIGHTS * (x - mean)
    np.testing.assert_allclose(shap["values"], expected, atol=2e-6)


def test_shap_adds_up_on_every_row_with_sampled_coalitions(mlp):
    predict_fn, x, _ = mlp
    shap = ge.tabular_shap(predict_fn, x, x, target=2, seed=7)
    assert not shap["exact"].any()
    assert (shap["coalitions"] == ge.global_nsamples(12)).all()
    total = shap["base_values"] + shap["values"].sum(axis=1)
    np.testing.assert_allclose(total, shap["outputs"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(shap["outputs"], predict_fn(x)[:, 2], atol=1e-6)
    assert ge.additivity_gap(shap) < 1e-12


def test_each_row_equals_the_single_row_explainer(mlp):
    predict_fn, x, model = mlp
    shap = ge.tabular_shap(predict_fn, x[:6], x, target=1, extra=2048, seed=5)
    assert (shap["coalitions"] == default_nsamples(12)).all()
    for i in range(6):
        subject = Subject(x=x[i:i + 1], kind="tabular", predict_fn=predict_fn, model=model,
                          background=x)
        one = REGISTRY["shap"].explain(subject, 1, seed=5)
        # the same coalitions and outputs; the two solves round apart by the BLAS kernels
        # the CPU picks (1e-8 relative seen on one machine, 0 on another)
        np.testing.assert_allclose(shap["values"][i], one.values, rtol=1e-7, atol=1e-11)
        assert shap["base_values"][i] == pytest.approx(one.base_value, abs=1e-12)


def test_rows_with_different_players_are_explained_apart(mlp):
    predict_fn, x, model = mlp
    background = x.copy()
    background[:, 4] = 1.5  # constant: a row with 1.5 there has one player less
    rows = x[:3].copy()
    rows[0, 4] = 1.5
    shap = ge.tabular_shap(predict_fn, rows, background, target=0, nsamples=600, seed=2)
    assert shap["values"][0, 4] == 0.0 and shap["values"][1, 4] != 0.0
    for i in range(3):
        subject = Subject(x=rows[i:i + 1], kind="tabular", predict_fn=predict_fn, model=model,
                          background=background)
        one = REGISTRY["shap"].explain(subject, 0, seed=2, nsamples=600)
        np.testing.assert_allclose(shap["values"][i], one.values, rtol=1e-7, atol=1e-11)
    assert ge.additivity_gap(shap) < 1e-12


def test_solve_many_is_the_single_row_solve():
    from components.explain.methods.kernel_shap import coalitions, solve

    rng = np.random.default_rng(0)
    masks, weights = coalitions(6, 40, rng)
    gains = rng.normal(size=(5, len(masks)))
    totals = rng.normal(size=5)
    many = ge.solve_many(masks, weights, gains, totals)
    for i in range(5):
        np.testing.assert_allclose(many[i], solve(masks, weights, gains[i], totals[i]),
                                   rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- permutation importance


def test_an_ignored_feature_has_zero_permutation_importance(linear):
    predict_fn, x = linear
    y = x.astype(np.float64) @ LINEAR_WEIGHTS + LINEAR_BIAS
    result = ge.permutation(predict_fn, x, y, "regression", n_repeats=4, seed=0)
    assert result["scorer"] == "r2"
    assert result["mean"][1] == 0.0 and result["std"][1] == 0.0
    assert (result["mean"][[0, 2]] > 0.5).all()
    assert result["baseline"] == pytest.approx(1.0, abs=1e-6)


def test_a_classifier_is_scored_by_accuracy_of_its_predicted_classes():
    from sklearn.base import is_classifier, is_regressor
    from sklearn.metrics import accuracy_score

    predict_fn = make_predict_fn(_step_classifier())
    x = np.random.default_rng(2).normal(size=(50, 3)).astype("float32")
    y = (x[:, 0] > 0).astype(int)
    y[:5] = 1 - y[:5]  # five wrong answers: the unshuffled accuracy is 0.9
    estimator = ge.estimator_for(predict_fn, "multiclass", 2)
    assert is_classifier(estimator) and not is_regressor(estimator)
    np.testing.assert_array_equal(estimator.classes_, [0, 1])
    result = ge.permutation(predict_fn, x, y, "multiclass", n_repeats=5, seed=1)
    assert result["scorer"] == "accuracy"
    assert result["baseline"] == pytest.approx(accuracy_score(y, estimator.predict(x)))
    assert result["baseline"] == pytest.approx(0.9)
    # accuracy on 50 rows moves in steps of 1/50: 5 repeats average to multiples of 1/250
    steps = result["mean"] * 250
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert result["mean"][0] > 0.2
    assert result["mean"][1] == 0.0 and result["mean"][2] == 0.0


def test_a_sigmoid_classifier_thresholds_at_one_half():
    from sklearn.base import is_regressor

    scores = np.array([[0.2], [0.5], [0.9]], dtype="float32")
    estimator = ge.estimator_for(lambda x: scores[: len(x)], "binary", 1)
    np.testing.assert_array_equal(estimator.predict(np.zeros((3, 2))), [0, 1, 1])
    np.testing.assert_allclose(estimator.predict_proba(np.zeros((3, 2)))[:, 1], [0.2, 0.5, 0.9])
    regressor = ge.estimator_for(lambda x: scores[: len(x)], "regression", 1)
    assert is_regressor(regressor)
    np.testing.assert_allclose(regressor.predict(np.zeros((3, 2))), [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="unknown task"):
        ge.estimator_for(lambda x: x, "ranking", 1)


def test_permutation_scores_against_labels_else_the_models_predictions():
    y, used, source = ge.permutation_labels(np.array([1, -1, 0, 2]), np.array([1, 1, 0, 0]),
                                            "multiclass")
    assert source == "labels" and used.tolist() == [True, False, True, True]
    assert y.tolist() == [1, 0, 2]
    y, used, source = ge.permutation_labels(None, np.array([1, 1, 0]), "multiclass")
    assert source == "predictions" and used.all() and y.tolist() == [1, 1, 0]
    y, used, source = ge.permutation_labels(np.array([1.5, np.nan, 2.0]),
                                            np.array([1.0, 1.0, 1.0]), "regression")
    assert source == "labels" and y.tolist() == [1.5, 2.0]


# ---------------------------------------------------------------- PDP and ICE


def test_an_ignored_feature_has_flat_pdp_and_ice(linear):
    predict_fn, x = linear
    curves = ge.partial_dependence(predict_fn, x, 1, 0, ge.pdp_grid(x[:, 1]))
    assert curves["ice"].shape == (60, 20)
    assert np.ptp(curves["ice"], axis=1).max() == 0.0
    assert np.ptp(curves["pdp"]) == 0.0


def test_a_linear_regressions_pdp_slope_is_its_weight(linear):
    predict_fn, x = linear
    for feature in (0, 2, 3):
        curves = ge.partial_dependence(predict_fn, x, feature, 0, ge.pdp_grid(x[:, feature]))
        slopes = np.diff(curves["pdp"]) / np.diff(curves["grid"])
        np.testing.assert_allclose(slopes, LINEAR_WEIGHTS[feature], rtol=1e-4)
        ice_slopes = np.diff(curves["ice"], axis=1) / np.diff(curves["grid"])
        np.testing.assert_allclose(ice_slopes, LINEAR_WEIGHTS[feature], rtol=1e-3)


def test_pdp_and_ice_equal_scikit_learns_on_the_wrapper(linear):
    from sklearn.inspection import partial_dependence

    predict_fn, x = linear
    estimator = ge.estimator_for(predict_fn, "regression", 1)
    theirs = partial_dependence(estimator, x, [2], kind="both", grid_resolution=20)
    ours = ge.partial_dependence(predict_fn, x, 2, 0, ge.pdp_grid(x[:, 2]))
    np.testing.assert_allclose(ours["grid"], theirs["grid_values"][0], rtol=1e-6)
    np.testing.assert_allclose(ours["pdp"], theirs["average"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["ice"], theirs["individual"][0], rtol=1e-5, atol=1e-6)


def test_the_grid_is_the_distinct_values_when_few():
    np.testing.assert_array_equal(ge.pdp_grid(np.array([3.0, 1.0, 3.0, 2.0])), [1, 2, 3])
    column = np.random.default_rng(3).normal(size=200)
    grid = ge.pdp_grid(column, resolution=11)
    from scipy.stats.mstats import mquantiles

    np.testing.assert_allclose(grid, np.linspace(*mquantiles(column, [0.05, 0.95]), 11))
    np.testing.assert_array_equal(ge.pdp_grid(np.r_[np.zeros(98), 1.0, 2.0], 2), [0.0, 2.0])
    with pytest.raises(ValueError):
        ge.pdp_grid(np.arange(5.0), resolution=1)


# ---------------------------------------------------------------- images and texts


def _linear_image_model():
    """Flatten -> Dense(3), no bias: class c's saliency is kernel[:, c] everywhere."""
    import keras

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, use_bias=False)], name="pixels")
    kernel = np.random.default_rng(5).normal(size=(16, 3)).astype("float32")
    model.layers[-1].set_weights([kernel])
    return model, kernel


def test_class_maps_of_a_linear_model_are_its_weights():
    model, kernel = _linear_image_model()
    x = np.random.default_rng(6).random((9, 4, 4, 1)).astype("float32")
    classes = np.array([0, 0, 1, 1, 1, 0, 1, 0, 0])  # no row of class 2
    out = ge.class_map_sums(model, x, classes, 3, "multiclass", "saliency")
    np.testing.assert_array_equal(out["counts"], [5, 4, 0])
    means = ge.class_means(out["sums"], out["counts"])
    for c in (0, 1):
        np.testing.assert_allclose(means[c], kernel[:, c].reshape(4, 4), rtol=1e-5)
    assert np.isnan(means[2]).all()
    gxi = ge.class_map_sums(model, x, classes, 3, "multiclass", "gradxinput")
    expected = (x[classes == 1, ..., 0] * kernel[:, 1].reshape(4, 4)).mean(axis=0)
    np.testing.assert_allclose(gxi["sums"][1] / 4, expected, rtol=1e-5)
    ig = ge.class_map_sums(model, x, classes, 3, "multiclass", "ig", steps=8)
    np.testing.assert_allclose(ig["sums"], gxi["sums"], rtol=1e-4, atol=1e-6)
    assert ig["gaps"].max() < 1e-4  # linear: the trapezoid rule is exact


def test_class_maps_flip_a_sigmoids_negative_class():
    import keras

    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, use_bias=False)])
    model.layers[-1].set_weights([np.array([[1.0], [2.0], [3.0], [4.0]], "float32")])
    x = np.ones((2, 2, 2, 1), "float32")
    out = ge.class_map_sums(model, x, np.array([0, 1]), 2, "binary", "saliency")
    np.testing.assert_allclose(out["sums"][1], [[1, 2], [3, 4]])
    np.testing.assert_allclose(out["sums"][0], -out["sums"][1])


def test_token_values_are_the_gradient_explainers(sample_subjects):
    subject, bundle = sample_subjects["sentiment_text"]
    model = bundle.loaded.model
    texts = np.array(["a superb and moving film", "dull , tedious and awful",
                      "the cast was fine"], dtype=object)
    classes = np.array([1, 0, 1])
    out = ge.token_rows(model, texts, classes, "binary", "gradxinput")
    for i in range(len(texts)):
        one = REGISTRY["gradxinput"].explain(
            Subject(x=texts[i:i + 1], kind="text", predict_fn=subject.predict_fn, model=model,
                    task="binary"), 0)
        assert out["tokens"][i] == one.feature_names
        sign = 1.0 if classes[i] == 1 else -1.0
        n = len(one.feature_names)
        np.testing.assert_allclose(out["values"][i, :n], sign * one.values, rtol=1e-5,
                                   atol=1e-7)
        assert np.isnan(out["values"][i, n:]).all()


def test_top_tokens_are_means_over_occurrences_per_class():
    tokens = [("good", "film"), ("good", "good"), ("bad", "film"), ("bad",)]
    values = np.array([[1.0, 0.1], [3.0, 2.0], [0.5, -0.2], [1.5, np.nan]])
    classes = np.array([1, 1, 0, 0])
    table = ge.top_tokens(tokens, values, classes, ("neg", "pos"), top_k=5, min_count=1)
    pos = table[table["class"] == "pos"]
    assert pos["token"].tolist() == ["good", "film"]
    assert pos["mean attribution"].tolist() == pytest.approx([2.0, 0.1])
    assert pos["occurrences"].tolist() == [3, 1] and pos["rows"].tolist() == [2, 1]
    neg = table[table["class"] == "neg"]
    assert neg["token"].tolist() == ["bad", "film"]
    assert neg["mean attribution"].tolist() == pytest.approx([1.0, -0.2])
    strict = ge.top_tokens(tokens, values, classes, ("neg", "pos"), top_k=5, min_count=2)
    assert strict["token"].tolist() == ["bad", "good"]
    assert ge.top_tokens([], np.zeros((0, 0)), np.zeros(0), ("a",)).empty


# ---------------------------------------------------------------- uploaded models


def _results(sample_bundles) -> dict:
    """One result of every runner function the page calls, from the samples in-process."""
    from components.data.session import open_dataset
    from components.model.samples import get_sample

    out = {}
    for key in ("wine_classifier", "digits_cnn", "sentiment_text"):
        sample = get_sample(key)
        bundle = sample_bundles[key]
        out[key] = (bundle, open_dataset(sample.data_path.read_bytes(), sample.data_path.name,
                                         bundle).x[:6])
    (wine, x), (digits, images), (text, texts) = out.values()
    run = {"wine": wine.runner.run, "digits": digits.runner.run, "text": text.runner.run}
    return {
        "shap": run["wine"](ge.shap_rows, x, x, 1, None, 0),
        "permutation": run["wine"](ge.permutation_rows, x, np.array([0, 1, 2, 0, 1, 2]),
                                   "multiclass", 2, 0),
        "pdp": run["wine"](ge.pdp_rows, x, 3, 1, ge.pdp_grid(x[:, 3])),
        "maps": run["digits"](ge.class_map_sums, images, np.arange(6), 10, "multiclass",
                              "ig"),
        "tokens": run["text"](ge.token_rows, texts, np.array([0, 1] * 3), "binary",
                              "saliency"),
        "unavailable": run["digits"](ge.global_unavailable, "image", images[:1], "ig"),
    }


def test_every_result_passes_the_workers_allowlist(sample_bundles):
    import pickle

    from components.model import safe_pickle

    for name, result in _results(sample_bundles).items():
        back = safe_pickle.loads(pickle.dumps(result))
        assert pickle.dumps(back) == pickle.dumps(result), name


# ---------------------------------------------------------------- figures


def test_importance_bars_share_one_feature_order():
    fig = plots.importance_bars(["a", "<b>b</b>", "c"], np.array([0.1, 0.5, 0.3]),
                                np.array([0.2, 0.0, 0.4]), np.array([0.01, 0.0, 0.02]))
    shap, perm = fig.data
    assert list(shap.y) == list(perm.y) == ["&lt;b&gt;b&lt;/b&gt;", "c", "a"]
    assert list(shap.customdata) == [1, 2, 0]
    np.testing.assert_allclose(perm.x, [0.0, 0.4, 0.2])
    np.testing.assert_allclose(perm.error_x.array, [0.0, 0.02, 0.01])
    assert len(plots.importance_bars(None, np.ones(5), np.ones(5), top_k=2).data[0].y) == 2
    with pytest.raises(ValueError):
        plots.importance_bars(None, np.ones(3), np.ones(2))


def test_the_beeswarm_has_a_point_per_row_and_feature_sorted_by_importance():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 3)) * np.array([0.1, 2.0, 1.0])
    features = rng.normal(size=(30, 3))
    fig = plots.beeswarm(values, features, ["a", "b", "c"])
    (trace,) = fig.data
    assert len(trace.x) == 90
    assert list(fig.layout.yaxis.ticktext) == ["b", "c", "a"]
    np.testing.assert_allclose(np.sort(trace.x[:30]), np.sort(values[:, 1]))
    assert np.all(np.abs(np.asarray(trace.y[:30])) <= 0.4 + 1e-12)  # the top lane, at 0
    assert min(trace.marker.color) >= 0.0 and max(trace.marker.color) <= 1.0
    assert len(plots.beeswarm(values, features, None, max_display=2).data[0].x) == 60
    with pytest.raises(ValueError):
        plots.beeswarm(values, features[:, :2], None)


def test_swarm_offsets_stack_points_of_a_bin_and_stay_in_their_lane():
    offsets = plots.swarm_offsets(np.array([0.0, 0.0, 0.0, 1.0]))
    assert sorted(offsets[:3].tolist()) == pytest.approx([-0.4, 0.0, 0.4])
    assert offsets[3] == 0.0
    assert plots.swarm_offsets(np.zeros(0)).size == 0
    np.testing.assert_allclose(plots.scaled_values(np.array([1.0, 1.0])), [0.5, 0.5])


def test_dependence_and_pdp_figures():
    fig = plots.dependence_plot(np.arange(4.0), np.array([1.0, -1, 0, 2]), np.arange(4.0) * 2,
                                feature="x<1>", color_feature="z")
    assert list(fig.data[0].marker.color) == [0, 2, 4, 6]
    assert "x&lt;1&gt;" in fig.layout.title.text
    grid = np.array([0.0, 1.0, 2.0])
    ice = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]])
    fig = plots.pdp_ice_plot(grid, ice, ice.mean(axis=0), feature="f", centered=True)
    lines, pdp = fig.data
    np.testing.assert_allclose(pdp.y, [0.0, 0.5, 1.0])
    assert np.isnan(lines.y[3]) and lines.y[4] == 0.0  # curves apart, each starting at 0
    with pytest.raises(ValueError):
        plots.pdp_ice_plot(grid, ice[:, :2], ice.mean(axis=0), feature="f")


def test_class_maps_grid_scales_and_names_every_class():
    maps = np.stack([np.full((2, 2), 1.0), np.full((2, 2), -4.0), np.full((2, 2), np.nan)])
    fig = plots.class_maps_grid(maps, np.array([3, 1, 0]), ["a", "b", "<c>"],
                                shared_scale=True)
    assert len(fig.data) == 3
    assert {t.zmax for t in fig.data} == {4.0} and fig.data[0].zmin == -4.0
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["a · 3 rows", "b · 1 rows", "&lt;c&gt; · no rows"]
    own = plots.class_maps_grid(maps, np.array([3, 1, 0]), ["a", "b", "c"])
    np.testing.assert_allclose(own.data[1].z, -1.0)
    np.testing.assert_allclose(own.data[1].customdata, -4.0)
    with pytest.raises(ValueError, match="mode"):
        plots.class_maps_grid(maps, np.ones(3), ["a", "b", "c"], mode="loud")


def test_token_bars_one_panel_per_class():
    table = pd.DataFrame({"class": ["neg", "pos", "pos"], "token": ["bad", "good", "<i>"],
                          "mean attribution": [0.3, 0.5, -0.1], "occurrences": [2, 3, 4]})
    fig = plots.token_bars(table, ["neg", "pos"])
    assert len(fig.data) == 2
    assert list(fig.data[1].y) == ["good", "&lt;i&gt;"]
    assert fig.data[1].marker.color[1] == plots.NEGATIVE_COLOR
    with pytest.raises(ValueError):
        plots.token_bars(table.drop(columns="token"), ["neg"])


def test_user_text_reaches_every_figure_as_text():
    import json

    hostile = ['<a href="https://evil.example">x</a>', "<img src=x onerror=alert(1)>",
               "<b>bold</b>"]
    rng = np.random.default_rng(0)
    values, features = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    table = pd.DataFrame({"class": hostile[:2], "token": [hostile[2], hostile[0]],
                          "mean attribution": [0.1, 0.2], "occurrences": [2, 3]})
    figures = [
        plots.importance_bars(hostile, np.ones(3), np.ones(3), permutation_label=hostile[1]),
        plots.beeswarm(values, features, hostile, title=hostile[0]),
        plots.dependence_plot(features[:, 0], values[:, 0], features[:, 1],
                              feature=hostile[0], color_feature=hostile[1]),
        plots.pdp_ice_plot(np.arange(3.0), np.ones((2, 3)), np.ones(3), feature=hostile[2],
                           output=hostile[1]),
        plots.class_maps_grid(np.ones((3, 2, 2)), np.ones(3), hostile, title=hostile[0]),
        plots.token_bars(table, hostile[:2]),
    ]
    for fig in figures:
        data = json.loads(fig.to_json())
        for trace in data["data"]:  # numbers only: safe in a template
            custom = trace.pop("customdata", [])
            if not (isinstance(custom, dict) and "bdata" in custom):  # a typed numeric array
                np.asarray(custom, dtype=np.float64)  # raises on text
        text = json.dumps(data, ensure_ascii=False)
        for raw in ("<a", "<img", "<b>bold"):
            assert raw not in text, (raw, fig.layout.title.text)


# ---------------------------------------------------------------- the page


PAGE = "views/global_view.py"


@pytest.fixture(scope="module")
def session():
    at = new_app(timeout=300)
    at.run()
    return at


def _open(at, key: str, rows: int):
    at.selectbox(key="model_choice").select(key).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    rows_box = next(n for n in at.number_input if n.label == "Rows to explain")
    rows_box.set_value(rows)
    next(b for b in at.button if b.label == "Compute").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _chart_title(at, index: int) -> str:
    import json

    return json.loads(at.get("plotly_chart")[index].proto.spec)["layout"]["title"]["text"]


def _caption(at, start: str) -> str:
    return next(c.value for c in at.caption if c.value.startswith(start))


def test_the_page_explains_wine_over_its_rows(session):
    at = _open(session, "wine_classifier", 40)
    assert at.title[0].value == "Global explanations"
    charts = at.get("plotly_chart")
    # importance, beeswarm, dependence, two PDP/ICE charts
    assert len(charts) == 5
    assert "**40 rows** of 178" in _caption(at, "Computed on")
    assert "coalitions per row" in _caption(at, "Computed on")
    assert "accuracy" in _caption(at, "Permutation importance")
    subheaders = [s.value for s in at.subheader]
    assert {"Feature importance", "SHAP summary", "Dependence",
            "Partial dependence and ICE"} <= set(subheaders)
    target = next(s for s in at.selectbox if s.label == "Explain the output")
    assert target.options == ["class_0", "class_1", "class_2"]


def test_another_colour_and_more_pdp_features_recompute_no_shap(session, monkeypatch):
    at = _open(session, "wine_classifier", 40)
    calls = []
    original = ge.shap_rows
    monkeypatch.setattr(ge, "shap_rows", lambda *a, **k: calls.append(1) or original(*a, **k))
    colour = next(s for s in at.selectbox if s.label == "Colour by")
    assert "coloured by" in _chart_title(at, 2)
    colour.select_index(0).run()  # "nothing"
    assert not at.exception
    assert _chart_title(at, 2) == "Dependence: proline"
    features = next(m for m in at.multiselect if m.label == "Features")
    features.set_value(features.value[:1]).run()
    assert len(at.get("plotly_chart")) == 4
    assert calls == []


def test_the_page_shows_class_average_maps_for_digits(session):
    at = _open(session, "digits_cnn", 30)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert "**30 rows** of" in _caption(at, "Computed on")
    assert "Saliency" in _caption(at, "Computed on")
    method = next(s for s in at.selectbox if s.label == "Attribution")
    method.set_value("ig")
    next(b for b in at.button if b.label == "Compute").click().run()
    assert not at.exception and not at.error
    assert "completeness gap" in _caption(at, "Computed on")


def test_the_page_lists_top_tokens_for_sentiment(session):
    at = _open(session, "sentiment_text", 60)
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert set(table["class"]) <= {"negative", "positive"}
    assert {"token", "mean attribution", "occurrences"} <= set(table.columns)
    assert "**60 rows** of 600" in _caption(at, "Computed on")


def test_an_uploaded_model_on_unlabelled_rows_is_scored_against_itself(tmp_path):
    import keras

    x = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")], name="mine")
    path = tmp_path / "upload.keras"
    model.save(path)
    data = pd.DataFrame(x, columns=["a", "b", "c", "d"]).to_csv(index=False).encode()
    at = new_app(timeout=300)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("upload.keras", path.read_bytes()).run()
    at.file_uploader(key="data_file").upload("rows.csv", data).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 5
    assert "**50 rows** of 50" in _caption(at, "Computed on")
    assert "the model's own predictions" in _caption(at, "Permutation importance")
