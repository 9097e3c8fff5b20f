"""The Quality page: deletion/insertion curves, stability over seeds, the randomisation
sanity check, their figures, and the page itself through AppTest."""

from __future__ import annotations

import base64
import json

import keras
import numpy as np
import pandas as pd
import pytest

from apptest_support import new_app
from components.data.session import open_dataset
from components.explain import quality
from components.explain.local import bound, explain_subject, subject_for
from components.explain.methods import REGISTRY
from components.explain.methods.base import Subject
from components.explain.methods.text_tokens import tokens_of
from components.model.bundle import open_model
from components.model.predict import make_predict_fn
from components.model.samples import get_sample
from components.plots import quality as plots_quality

PAGE = "views/quality.py"


def linear_model(weights, bias: float) -> keras.Model:
    """y = weights . x + bias, one Dense(1) unit with the weights set."""
    weights = np.asarray(weights, dtype="float32")
    model = keras.Sequential([keras.Input((len(weights),)), keras.layers.Dense(1)])
    model.layers[0].set_weights([weights[:, None], np.array([bias], dtype="float32")])
    return model


def tabular_subject(model, x) -> Subject:
    x = np.asarray(x, dtype="float32")[None]
    return Subject(x=x, kind="tabular", predict_fn=make_predict_fn(model), model=model,
                   task="regression")


# ---------------------------------------------------------------- deletion and insertion


def test_deletion_of_a_linear_model_drops_by_each_features_contribution():
    w, x, b = np.array([2.0, -1.0, 0.5]), np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 2.0])
    model = linear_model(w, 0.5)
    values = w * (x - b)  # [2, -1, 1]: each feature's exact share of f(x) - f(b)
    curves = quality.curves_of(model, tabular_subject(model, x), values, 0, b)
    assert curves["order"].tolist() == [0, 2, 1]  # signed, descending
    np.testing.assert_allclose(curves["fraction"], [0, 1 / 3, 2 / 3, 1])
    # f(x) = 2 - 2 + 2 + 0.5 = 2.5; then minus 2, minus 1, plus 1 (removing a negative share)
    np.testing.assert_allclose(curves["deletion"], [2.5, 0.5, -0.5, 0.5], atol=1e-5)
    np.testing.assert_allclose(-np.diff(curves["deletion"]), values[curves["order"]],
                               atol=1e-5)
    # insertion is the mirror: from f(b) = 0.5, plus 2, plus 1, minus 1
    np.testing.assert_allclose(curves["insertion"], [0.5, 2.5, 3.5, 2.5], atol=1e-5)
    np.testing.assert_allclose(np.diff(curves["insertion"]), values[curves["order"]],
                               atol=1e-5)
    # trapezoid by hand: 1/3 * ((2.5 + 0.5) / 2 + (0.5 - 0.5) / 2 + (-0.5 + 0.5) / 2) = 0.5
    assert curves["deletion_auc"] == pytest.approx(0.5, abs=1e-5)
    # 1/3 * ((0.5 + 2.5) / 2 + (2.5 + 3.5) / 2 + (3.5 + 2.5) / 2) = 2.5
    assert curves["insertion_auc"] == pytest.approx(2.5, abs=1e-5)


def test_positive_contributions_give_a_monotone_deletion_and_insertion():
    rng = np.random.default_rng(3)
    w = rng.uniform(0.5, 2.0, size=6) * rng.choice([-1, 1], size=6)
    b = rng.normal(size=6)
    x = b + np.sign(w) * rng.uniform(0.5, 2.0, size=6)  # every w_j (x_j - b_j) > 0
    model = linear_model(w, -0.25)
    values = w * (x - b)
    assert (values > 0).all()
    curves = quality.curves_of(model, tabular_subject(model, x), values, 0, b)
    assert (np.diff(curves["deletion"]) <= 1e-6).all()
    assert (np.diff(curves["insertion"]) >= -1e-6).all()
    order = np.argsort(-np.abs(values))  # here the same as by signed value
    assert curves["order"].tolist() == order.tolist()
    np.testing.assert_allclose(-np.diff(curves["deletion"]), np.abs(values)[order], atol=1e-5)
    assert curves["deletion"][0] == pytest.approx(float(w @ x - 0.25), abs=1e-5)
    assert curves["deletion"][-1] == pytest.approx(float(w @ b - 0.25), abs=1e-5)


def test_the_area_is_the_trapezoid_rule():
    assert quality.area_under_curve([0, 0.5, 1], [1, 0, 1]) == pytest.approx(0.5)
    assert quality.area_under_curve([0, 0.25, 1], [4, 2, 0]) == pytest.approx(0.75 + 0.75)


def test_removal_baseline_is_the_dataset_mean_or_the_fill():
    x = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 30.0]])
    np.testing.assert_allclose(quality.removal_baseline("tabular", x), [3.0, 20.0])
    images = np.stack([np.full((2, 2, 1), v) for v in (1.0, 3.0)])
    np.testing.assert_allclose(quality.removal_baseline("image", images, "mean"), 2.0)
    np.testing.assert_allclose(quality.removal_baseline("image", images, "zero"), 0.0)
    assert quality.removal_baseline("text", np.array(["a b"], dtype=object)) is None
    with pytest.raises(ValueError, match="fill must be one of zero, mean"):
        quality.removal_baseline("image", images, "blur")


def test_pixels_go_in_at_most_fifty_chunks_ranked_over_the_channels():
    values = np.zeros((16, 16, 3))
    values[0, 0] = [1, 1, 1]      # sum 3: first
    values[5, 5] = [-1, 4, 0]     # sum 3: ties go to the lower index, so second
    values[2, 2, 0] = 10          # sum 10: before both
    scores = quality.unit_scores(values, "image")
    steps = quality.removal_steps(scores)
    assert len(steps) == quality.MAX_STEPS
    order = np.concatenate(steps)
    assert sorted(order.tolist()) == list(range(256))
    assert order[:3].tolist() == [2 * 16 + 2, 0, 5 * 16 + 5]
    present = quality.presence(steps, 256, "deletion")
    assert present.shape == (51, 256) and present[0].all() and not present[-1].any()
    assert (quality.presence(steps, 256, "insertion") == ~present).all()


def test_an_image_curve_removes_each_chunk_to_the_fill_in_one_predict_call():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 8, 2)).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.layers[-1].set_weights([w.reshape(-1, 1), np.zeros(1, "float32")])
    image = rng.uniform(0, 1, size=(8, 8, 2)).astype("float32")
    fill = np.full((8, 8, 2), 0.5)
    calls = []
    predict = make_predict_fn(model)

    def counted(batch):
        calls.append(len(batch))
        return predict(batch)

    values = w * (image - fill)
    curves = quality.faithfulness_curves(counted, image, values, 0, "image", baseline=fill)
    assert calls == [2 * (curves["steps"] + 1)]  # both curves, every step: one call
    assert curves["steps"] == 50 and curves["units"] == 64
    per_pixel = (w * (image - fill)).sum(axis=-1).ravel()
    steps = quality.removal_steps(quality.unit_scores(values, "image"))
    drops = [per_pixel[group].sum() for group in steps]
    np.testing.assert_allclose(-np.diff(curves["deletion"]), drops, atol=1e-4)
    np.testing.assert_allclose(np.diff(curves["insertion"]), drops, atol=1e-4)


def tiny_text_model() -> keras.Model:
    texts = ["good fine great", "bad awful poor", "fine and good", "poor and bad"]
    vec = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6,
                                         name="tokenize")
    vec.adapt(texts)
    inp = keras.Input((), dtype="string")
    embedded = keras.layers.Embedding(20, 4, name="embed")(vec(inp))
    hidden = keras.layers.GlobalAveragePooling1D(name="pool")(embedded)
    return keras.Model(inp, keras.layers.Dense(1, activation="sigmoid", name="head")(hidden))


def test_a_text_curve_drops_tokens_and_rebuilds_the_text():
    model = tiny_text_model()
    text = "Good, fine and AWFUL"
    subject = Subject(x=np.array([text], dtype=object), kind="text",
                      predict_fn=make_predict_fn(model), model=model, task="binary")
    tokens = tokens_of(model, text)
    assert tokens == ("good", "fine", "and", "awful")
    values = np.array([0.3, -0.2, 0.0, 0.9])  # order: awful, good, and, fine
    curves = quality.curves_of(model, subject, values, 0, None)
    expected_deletion = ["good fine and awful", "good fine and", "fine and", "fine", ""]
    expected_insertion = ["", "awful", "good awful", "good and awful", "good fine and awful"]
    direct = make_predict_fn(model)(np.array(expected_deletion + expected_insertion,
                                             dtype=object))[:, 0]
    np.testing.assert_allclose(curves["deletion"], direct[:5], atol=1e-6)
    np.testing.assert_allclose(curves["insertion"], direct[5:], atol=1e-6)
    np.testing.assert_allclose(curves["fraction"], [0, 0.25, 0.5, 0.75, 1])
    with pytest.raises(ValueError, match="3 attribution values for 4 tokens"):
        quality.curves_of(model, subject, values[:3], 0, None)
    reference = quality.reference_curves_of(model, subject, 0, None, 5)  # a random order
    assert reference["units"] == 4 and sorted(reference["order"].tolist()) == [0, 1, 2, 3]
    again = quality.reference_curves_of(model, subject, 0, None, 5)
    np.testing.assert_array_equal(reference["order"], again["order"])


def test_mean_curves_and_the_auc_table():
    a = {"fraction": np.array([0, 0.5, 1]), "deletion": np.array([1.0, 0.0, 0.0]),
         "insertion": np.array([0.0, 1.0, 1.0]), "deletion_auc": 0.25, "insertion_auc": 0.75}
    b = {"fraction": np.array([0, 1]), "deletion": np.array([1.0, 0.0]),
         "insertion": np.array([0.0, 1.0]), "deletion_auc": 0.5, "insertion_auc": 0.5}
    mean = quality.mean_curves([a, b], grid=5)
    np.testing.assert_allclose(mean["fraction"], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(mean["deletion"], [1, 0.625, 0.25, 0.125, 0])
    np.testing.assert_allclose(mean["deletion_std"], [0, 0.125, 0.25, 0.125, 0])
    table = quality.auc_table({"ig": [a, b], "lime": [], quality.REFERENCE: [b]})
    assert list(table.index) == ["ig", quality.REFERENCE]
    assert table.loc["ig", "rows"] == 2
    assert table.loc["ig", "deletion_auc_mean"] == pytest.approx(0.375)
    assert table.loc["ig", "deletion_auc_std"] == pytest.approx(0.125)
    shown = quality.auc_display(table)
    assert shown["method"].tolist() == ["Integrated Gradients", "Random order (reference)"]
    assert shown["deletion AUC (lower is better)"][0] == "0.375 ± 0.12"


def test_sample_rows_are_seeded_and_distinct():
    rows = quality.sample_rows(100, 20, 7)
    assert rows == quality.sample_rows(100, 20, 7) and rows != quality.sample_rows(100, 20, 8)
    assert len(set(rows)) == 20 and rows == sorted(rows)
    assert quality.sample_rows(5, 20, 0) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- stability


def test_sign_flip_detection_on_a_constructed_array():
    runs = np.array([[1.0, -1.0, 0.0, 2.0, 0.5, 0.02],
                     [2.0, 1.0, 0.0, -1e-9, 0.4, -0.02],
                     [0.5, 0.2, 0.0, 3.0, -0.1, 0.01]])
    # under 1 % of the largest |value| (3.0) counts as no sign: features 3 and 5 do not flip
    assert quality.sign_flips(runs).tolist() == [False, True, False, False, True, False]
    assert quality.sign_flips(runs, rel_tol=0).tolist() == [False, True, False, True, True,
                                                            True]
    summary = quality.spread(runs)
    np.testing.assert_allclose(summary["mean"], runs.mean(axis=0))
    np.testing.assert_allclose(summary["std"], runs.std(axis=0))
    with pytest.raises(ValueError, match="runs must be"):
        quality.sign_flips(runs[0])


@pytest.fixture(scope="module")
def wine(sample_subjects):
    """(Subject of wine row 3 with its model attached, ModelBundle)."""
    subject, bundle = sample_subjects["wine_classifier"]
    return subject, bundle


def test_a_deterministic_method_has_zero_spread_and_lime_has_some(wine):
    subject, bundle = wine
    model = bundle.loaded.model
    seeds = range(4)
    saliency = [explain_subject(model, subject, "saliency", 0, s).values for s in seeds]
    lime = [explain_subject(model, subject, "lime", 0, s, {"num_samples": 200}).values
            for s in seeds]
    still = quality.spread(quality.stability_units(saliency, "tabular")[0])
    assert (still["std"] == 0).all() and not still["flips"].any()
    moving = quality.spread(quality.stability_units(lime, "tabular")[0])
    assert (moving["std"] > 0).any()


def test_image_runs_are_summarised_per_pixel_block():
    rng = np.random.default_rng(0)
    runs = [rng.normal(size=(16, 16, 3)) for _ in range(3)]
    stack, labels = quality.stability_units(runs, "image")
    assert stack.shape == (3, 64) and len(labels) == 64  # 2 x 2 blocks on a 16 x 16 image
    assert labels[0] == "rows 0–1, cols 0–1" and labels[9] == "rows 2–3, cols 2–3"
    assert stack[0, 0] == pytest.approx(runs[0][:2, :2].sum())
    assert quality.std_map(runs).shape == (16, 16)
    assert len(quality.top_units(stack.mean(axis=0))) == quality.TOP_BLOCKS


# ---------------------------------------------------------------- sanity


def normalised_model() -> keras.Model:
    rng = np.random.default_rng(0)
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(rng.normal(5.0, 3.0, size=(200, 8)).astype("float32"))
    inp = keras.Input((8,))
    hidden = keras.layers.Dense(6, activation="tanh", name="hidden")(norm(inp))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax", name="head")(hidden))


def test_the_randomised_copy_has_new_weights_but_the_same_preprocessing():
    model = normalised_model()
    copy, report = quality.randomised_model(model, 3)
    assert report == {"randomised": ["hidden", "head"], "kept": ["norm"]}
    for name in ("hidden", "head"):
        assert not np.allclose(model.get_layer(name).get_weights()[0],
                               copy.get_layer(name).get_weights()[0])
    for ours, theirs in zip(model.get_layer("norm").get_weights(),
                            copy.get_layer("norm").get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    x = np.linspace(-2, 12, 16, dtype="float32").reshape(2, 8)
    np.testing.assert_allclose(np.asarray(copy.get_layer("norm")(x)),
                               np.asarray(model.get_layer("norm")(x)), rtol=1e-6)
    assert quality.randomised_model(model, 3)[0] is copy  # made once per (model, seed)
    again, _ = quality._randomise(model, 3)  # the same seed draws the same weights
    np.testing.assert_array_equal(again.get_layer("hidden").get_weights()[0],
                                  copy.get_layer("hidden").get_weights()[0])
    other, _ = quality._randomise(model, 4)
    assert not np.allclose(other.get_layer("hidden").get_weights()[0],
                           copy.get_layer("hidden").get_weights()[0])


def test_the_randomised_text_model_keeps_its_vocabulary():
    model = tiny_text_model()
    copy, report = quality.randomised_model(model, 0)
    assert report == {"randomised": ["embed", "head"], "kept": ["tokenize"]}
    ours, theirs = model.layers[1], copy.layers[1]
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert len(theirs.get_vocabulary()) > 2
    probe = np.array(["good and bad"], dtype=object)
    np.testing.assert_array_equal(np.asarray(ours(probe)), np.asarray(theirs(probe)))
    assert not np.allclose(model.layers[2].get_weights()[0], copy.layers[2].get_weights()[0])


def test_the_saliency_of_a_randomised_dense_model_differs():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.layers[0].set_weights([np.arange(1, 9, dtype="float32")[:, None] / 8,
                                 np.zeros(1, "float32")])
    subject = tabular_subject(model, np.linspace(-1, 1, 8))
    result = quality.sanity_of(model, subject, ["saliency", "lime"], 0, seed=0)
    entry = result["methods"]["saliency"]
    np.testing.assert_allclose(entry["original"], np.arange(1, 9) / 8, rtol=1e-6)
    assert not np.allclose(entry["original"], entry["randomised"])
    assert entry["spearman"] < 1
    assert result["skipped"] == {"lime": "not a gradient method: the sanity check reruns "
                                         "gradients"}
    assert result["randomised_layers"] == [model.layers[0].name]


def test_sanity_verdicts_in_plain_words():
    assert quality.sanity_verdict(0.2) == (True, "changed (Spearman 0.20): the method "
                                                 "depends on the learned weights")
    changed, text = quality.sanity_verdict(0.9)
    assert changed is False and "did NOT change" in text and "may not reflect the model" in text
    assert "reversed" in quality.sanity_verdict(-0.7)[1]
    assert quality.sanity_verdict(float("nan"), original_flat=True)[0] is None
    assert quality.sanity_verdict(float("nan"), randomised_flat=True)[0] is True


def test_the_wine_sanity_check_keeps_the_normalisation(wine):
    subject, bundle = wine
    result = bundle.runner.run(quality.sanity_of, subject, list(quality.GRADIENT_METHODS), 0, 0)
    assert result["kept_layers"] == ["standardize"]
    assert result["randomised_layers"] == ["dense", "dense_1", "cultivar"]
    assert set(result["methods"]) == {"saliency", "gradxinput", "ig", "smoothgrad"}
    assert "gradcam" in result["skipped"]
    for entry in result["methods"].values():
        assert -1 <= entry["spearman"] <= 1 and isinstance(entry["changed"], bool)


def test_runner_functions_work_in_a_worker_process(samples):
    """An upload's worker runs the page's functions; their replies pass the reply filter."""
    from components.model import worker

    sample = samples["wine_classifier"]
    bundle = open_model(sample.model_path.read_bytes(), "wine.keras", isolate=True)
    try:
        dataset = open_dataset(sample.data_path.read_bytes(), "data.csv", bundle)
        subject = subject_for(dataset, 2, sample.task)
        run = bundle.runner.run
        assert isinstance(bundle.runner, worker.WorkerRunner)
        attr = run(explain_subject, subject, "ig", 1, 0, {})
        baseline = quality.removal_baseline("tabular", dataset.x)
        curves = run(quality.curves_of, subject, attr.values, 1, baseline)
        assert curves["steps"] == 13 and curves["deletion"].shape == (14,)
        sanity = run(quality.sanity_of, subject, ["saliency", "ig"], 1, 0)
        assert set(sanity["methods"]) == {"saliency", "ig"}
    finally:
        bundle.runner.close()


# ---------------------------------------------------------------- figures


def _curve(n: int) -> dict:
    x = np.linspace(0, 1, n + 1)
    return {"fraction": x, "deletion": 1 - x, "insertion": x, "deletion_std": 0.1 + 0 * x,
            "insertion_std": 0.1 + 0 * x}


def test_the_curves_figure_has_both_panels_per_method():
    fig = plots_quality.curves_figure({quality.REFERENCE: _curve(4), "ig": _curve(4)},
                                      unit="pixels", output="P(<b>x</b>)")
    lines = [t for t in fig.data if t.hoverinfo != "skip"]
    assert [t.name for t in lines] == ["Integrated Gradients"] * 2 + \
        ["Random order (reference)"] * 2  # registry order, the reference last
    assert [t.showlegend for t in lines] == [True, False, True, False]
    assert lines[2].line.dash == "dash"
    np.testing.assert_allclose(lines[1].y, np.linspace(0, 1, 5))  # the insertion panel
    assert fig.layout.xaxis.title.text == "share of the pixels removed"
    assert fig.layout.xaxis2.title.text == "share of the pixels added back"
    assert fig.layout.yaxis.title.text == "P(&lt;b&gt;x&lt;/b&gt;)"
    banded = plots_quality.curves_figure({"ig": _curve(4)}, bands=True)
    assert len(banded.data) == 4 and banded.data[0].fill == "toself"
    with pytest.raises(ValueError, match="unit must be one of features, pixels, tokens"):
        plots_quality.curves_figure({"ig": _curve(4)}, unit="words")


def test_the_stability_figure_marks_sign_flips_and_escapes_names():
    runs = np.array([[1.0, -0.5, 2.0], [0.8, 0.5, 2.2]])
    flips = quality.sign_flips(runs)
    fig = plots_quality.stability_figure(["<a href=x>a</a>", "b", "b"], runs, flips)
    seeds, means, flipped = fig.data
    assert len(seeds.x) == 6
    np.testing.assert_allclose(means.x, [0.9, 0.0, 2.1])
    np.testing.assert_allclose(means.error_x.array, [0.1, 0.5, 0.1])
    assert list(flipped.y) == ["b [1]"]
    assert means.y[0] == "&lt;a href=x&gt;a&lt;/a&gt;" and "<a" not in fig.to_json()
    with pytest.raises(ValueError, match="do not line up"):
        plots_quality.stability_figure(["a"], runs, flips)


def test_the_sanity_figure_has_one_panel_per_method():
    entry = {"original_vector": np.array([1.0, 2.0, 3.0]),
             "randomised_vector": np.array([3.0, -2.0, 1.0]), "spearman": -1.0}
    fig = plots_quality.sanity_figure({"saliency": entry, "ig": entry})
    assert len(fig.data) == 2
    np.testing.assert_allclose(fig.data[0].x, [1 / 3, 2 / 3, 1])
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["Saliency: Spearman \u22121.00", "Integrated Gradients: Spearman "
                                                       "\u22121.00"]
    assert plots_quality.std_heatmap(np.ones((4, 4))).data[0].z.shape == (4, 4)


# ---------------------------------------------------------------- the page


def _open(key: str, rows: int = 3, seeds: int = 2):
    at = new_app(timeout=300)
    at.session_state["q_rows"] = rows
    at.session_state["q_k"] = seeds
    at.query_params["sample"] = key
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Explanation quality"
    return at


def _array(value) -> np.ndarray:
    """A figure array as the browser gets it: a list, or plotly's base64 {"bdata", "dtype"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape(value["shape"]) if "shape" in value else flat
    return np.asarray(value)


def _figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _curve_figures(at) -> list[dict]:
    return [f for f in _figures(at)
            if any(a.get("text", "").startswith("Deletion") for a in
                   f["layout"].get("annotations", []))]


def _stability_figures(at) -> list[dict]:
    return [f for f in _figures(at)
            if "seeds" in f["layout"].get("title", {}).get("text", "")]


def test_wine_shows_all_three_sections():
    at = _open("wine_classifier")
    assert [h.value for h in at.header] == ["Faithfulness: deletion and insertion",
                                            "Stability across seeds",
                                            "Sanity check: a model with random weights"]
    sample_curves, mean_curves = _curve_figures(at)
    names = {t["name"] for t in sample_curves["data"]}
    assert names == {"LIME", "SHAP", "Saliency", "Gradient × input", "Integrated Gradients",
                     "SmoothGrad", "Random order (reference)"}
    assert len(_array(sample_curves["data"][0]["x"])) == 14  # 13 features, one per step
    frames = [d.value for d in at.dataframe]
    sample_table = next(f for f in frames if "steps" in f.columns)
    assert len(sample_table) == 7 and (sample_table["steps"] == 13).all()
    average = next(f for f in frames if "rows" in f.columns)
    assert (average["rows"] == 3).all() and len(average) == 7
    assert average["deletion AUC (lower is better)"].str.contains("±").all()
    sanity = next(f for f in frames if "verdict" in f.columns)
    assert sanity["method"].tolist() == ["Saliency", "Gradient × input",
                                         "Integrated Gradients", "SmoothGrad"]
    stability = _stability_figures(at)
    assert len(stability) == 3  # LIME, SHAP and SmoothGrad by default
    assert len(_array(stability[0]["data"][0]["x"])) == 2 * 13  # each seed's dot
    assert any("Randomised" in c.value and "standardize" in c.value for c in at.caption)
    row = next(n for n in at.number_input if n.label == "Row")
    row.set_value(7).run()  # another row by number: selected, in the URL, and explained
    assert not at.exception and not at.error
    assert any(m.value.startswith("**Row 7**") for m in at.markdown)
    assert at.query_params["row"] in ("7", ["7"])


def test_a_rerun_recomputes_nothing_and_a_new_seed_only_its_section(monkeypatch):
    at = _open("wine_classifier", rows=2)
    calls = []
    original = REGISTRY["saliency"].explain
    monkeypatch.setattr(REGISTRY["saliency"], "explain",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    at.run()
    assert not at.exception and calls == []
    next(n for n in at.number_input if n.label == "Randomisation seed").set_value(5).run()
    assert not at.exception and not at.error
    assert len(calls) == 2  # saliency on the model and on the new randomised copy


def test_digits_deletion_and_insertion_run_over_pixels():
    at = _open("digits_cnn", rows=2)
    sample_curves = _curve_figures(at)[0]
    assert sample_curves["layout"]["xaxis"]["title"]["text"] == "share of the pixels removed"
    first = sample_curves["data"][0]
    assert len(_array(first["x"])) == quality.MAX_STEPS + 1  # 256 pixels in 50 chunks
    assert "Grad-CAM" in {t["name"] for t in sample_curves["data"]}
    assert any(f["data"][0]["type"] == "heatmap" for f in _figures(at))  # the std map


def test_sentiment_removes_tokens():
    at = _open("sentiment_text", rows=2)
    text = pd.read_csv(get_sample("sentiment_text").data_path)["text"][0]
    sample_curves = _curve_figures(at)[0]
    assert sample_curves["layout"]["xaxis"]["title"]["text"] == "share of the tokens removed"
    bundle = open_model(get_sample("sentiment_text").model_path.read_bytes(), "s.keras")
    n_tokens = len(tokens_of(bundle.loaded.model, text))
    assert len(_array(sample_curves["data"][0]["x"])) == n_tokens + 1
    stability = _stability_figures(at)
    assert list(stability[0]["data"][1]["y"])[:2] == list(tokens_of(bundle.loaded.model,
                                                                     text))[:2]


def test_every_method_applies_to_the_quality_checks(sample_subjects):
    """The curves accept every applicable method's values on every sample kind."""
    for key, (subject, bundle) in sample_subjects.items():
        model = bundle.loaded.model
        base_subject = bound(model, subject)
        x = np.asarray(subject.background) if subject.kind != "text" else None
        baseline = quality.removal_baseline(subject.kind, x) if x is not None else None
        for name, explainer in REGISTRY.items():
            if explainer.unavailable(base_subject) is not None:
                continue
            attr = explain_subject(model, subject, name, 0, 0, {})
            curves = quality.curves_of(model, subject, attr.values, 0, baseline)
            assert curves["steps"] <= quality.MAX_STEPS, (key, name)
            assert np.isfinite(curves["deletion_auc"]) and np.isfinite(curves["insertion_auc"])


def test_an_uploaded_model_is_checked_in_its_worker(tmp_path):
    """An upload lives in a worker process: every section still renders from it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["label"] = (x[:, 0] > 0).astype(int)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")], name="mine")
    path = tmp_path / "upload.keras"
    model.save(path)
    at = new_app(timeout=300)
    at.session_state["q_rows"] = 2
    at.session_state["q_k"] = 2
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("upload.keras", path.read_bytes()).run()
    at.file_uploader(key="data_file").upload("mine.csv",
                                             frame.to_csv(index=False).encode()).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(_curve_figures(at)) == 2
    sanity = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert len(sanity) == 4
