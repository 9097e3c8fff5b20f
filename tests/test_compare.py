"""The compare page: exact similarity figures, disagreements of tiny linear models with known
predictions, two copies of one model agreeing everywhere, and the page through AppTest (wine
against an uploaded second model, a mismatched model, a hostile file, the upload cache)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import hostile
from apptest_support import new_app
from components.data.checks import Dataset
from components.data.predictions import predictions
from components.explain import compare
from components.explain.local import bound
from components.explain.methods.base import Attribution
from components.model.bundle import InputSpec
from components.model.predict import scores_of
from components.model.samples import get_sample
from components.plots import compare as plots

PAGE = "views/compare.py"


def attr(method: str, values, names=None) -> Attribution:
    return Attribution(values=np.asarray(values, dtype="float64"), method=method, target=0,
                       params={}, seconds=0.0, feature_names=names)


# ---------------------------------------------------------------- cosine and Spearman


def test_cosine_of_identical_negated_and_known_vectors():
    v = np.array([0.9, -0.5, 0.3, -0.1, 0.05])
    assert compare.cosine(v, v) == pytest.approx(1.0, abs=1e-15)
    assert compare.cosine(v, -v) == pytest.approx(-1.0, abs=1e-15)
    assert compare.cosine(v, 3 * v) == pytest.approx(1.0, abs=1e-15)  # scale does not count
    assert compare.cosine([1, 0], [1, 1]) == pytest.approx(1 / math.sqrt(2), abs=1e-15)
    assert compare.cosine([1, 2, 3], [4, 5, 6]) == pytest.approx(
        32 / math.sqrt(14 * 77), abs=1e-15)
    assert compare.cosine([1, 0], [0, 2]) == 0.0
    assert math.isnan(compare.cosine([0, 0], [1, 2]))  # no direction
    assert math.isnan(compare.cosine([np.nan, 1], [1, 2]))
    with pytest.raises(ValueError, match="one size"):
        compare.cosine([1, 2], [1, 2, 3])


def test_similarity_of_identical_negated_and_known_attributions():
    v = [0.9, -0.5, 0.3, -0.1, 0.05]
    same = compare.similarity(attr("saliency", v), attr("saliency", v))
    assert (same.cosine, same.spearman) == (pytest.approx(1.0, abs=1e-12),
                                            pytest.approx(1.0, abs=1e-12))
    assert same.reason is None
    flipped = compare.similarity(attr("saliency", v), attr("saliency", -np.asarray(v)))
    assert flipped.cosine == pytest.approx(-1.0, abs=1e-12)
    assert flipped.spearman == pytest.approx(-1.0, abs=1e-12)
    # ranks [1, 2, 3, 4] against [1, 3, 2, 4]: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    known = compare.similarity(attr("ig", [1, 2, 3, 4]), attr("ig", [1, 3, 2, 4]))
    assert known.spearman == pytest.approx(0.8, abs=1e-12)
    assert known.cosine == pytest.approx(29 / 30, abs=1e-12)


def test_grad_cam_is_ranked_by_magnitude_and_images_are_pooled():
    # Grad-CAM is unsigned: Spearman of |values|, so a sign flip changes only the cosine
    a, b = attr("gradcam", [3.0, -1, 2, 0.5]), attr("gradcam", [-3.0, 1, -2, -0.5])
    s = compare.similarity(a, b)
    assert s.spearman == pytest.approx(1.0) and s.cosine == pytest.approx(-1.0)
    # 16x16 maps pool to 8x8 blocks of 2x2: noise inside each block does not count
    rng = np.random.default_rng(0)
    coarse = np.kron(rng.normal(size=(8, 8)), np.ones((2, 2)))[..., None]
    wiggle = np.tile([[1.0, -1.0], [-1.0, 1.0]], (8, 8))[..., None] * 0.1
    pooled = compare.similarity(attr("saliency", coarse), attr("saliency", coarse + wiggle))
    assert pooled.cosine == pytest.approx(1.0, abs=1e-12)


def test_attributions_that_cannot_be_paired_say_why():
    shape = compare.similarity(attr("lime", [1, 2, 3]), attr("lime", [1, 2]))
    assert math.isnan(shape.cosine) and "differ in shape" in shape.reason
    tokens = compare.similarity(attr("lime", [1, 2], ("good", "film")),
                                attr("lime", [1, 2], ("good", "[UNK]")))
    assert math.isnan(tokens.spearman) and "different tokens" in tokens.reason
    flat = compare.similarity(attr("saliency", [1, 2, 3]), attr("saliency", [0, 0, 0]))
    assert math.isnan(flat.cosine) and flat.reason.startswith("model B gives every value")


# ---------------------------------------------------------------- disagreements

# Three features; model A's logits are (x0, -x0), model B's (x1, -x1): A predicts class 0
# exactly when x0 > 0, B when x1 > 0. Their probabilities are softmax of those logits.
X = np.array([[1.0, 2.0, 0.0], [1.0, -1.0, 5.0], [-2.0, -1.0, 1.0], [-0.5, 3.0, 0.0],
              [2.0, 0.5, -1.0], [-1.0, -2.0, 2.0]], dtype="float32")
LABELS = np.array([0, 0, 1, 0, 0, 1])


def linear_classifier(feature: int, name: str):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")],
                             name=name)
    kernel = np.zeros((3, 2), dtype="float32")
    kernel[feature] = (1.0, -1.0)
    model.layers[-1].set_weights([kernel, np.zeros(2, "float32")])
    return model


@pytest.fixture(scope="module")
def two_linear():
    a, b = linear_classifier(0, "lin_a"), linear_classifier(1, "lin_b")
    scores = [scores_of(m, X) for m in (a, b)]
    preds = [predictions(s, LABELS, "multiclass", ("yes", "no")) for s in scores]
    return (a, b), scores, preds


def test_disagreement_rows_of_two_linear_models(two_linear):
    _, _, (pred_a, pred_b) = two_linear
    assert pred_a.predicted.tolist() == [0, 0, 1, 1, 0, 1]  # x0 > 0
    assert pred_b.predicted.tolist() == [0, 1, 1, 0, 0, 1]  # x1 > 0
    table = compare.disagreement_table(pred_a, pred_b)
    assert table.index.name == "row"
    assert table.index[table["disagree"]].tolist() == [1, 3]
    row1 = table.loc[1]
    assert (row1["A predicted"], row1["B predicted"], row1["label"]) == ("yes", "no", "yes")
    softmax_of = 1 / (1 + math.exp(-2.0))  # softmax([t, -t]) at |t| = 1
    assert row1["A confidence"] == pytest.approx(softmax_of, abs=1e-6)
    assert row1["B confidence"] == pytest.approx(softmax_of, abs=1e-6)
    assert table["A right"].tolist() == [True, True, True, False, True, True]
    assert table["B right"].tolist() == [True, False, True, True, True, True]
    assert compare.disagreement_counts(table) == {
        "rows": 6, "disagree": 2, "A right, B wrong": 1, "B right, A wrong": 1,
        "both wrong": 0, "both right": 4}
    shown = compare.filter_disagreements(table, who="A right, B wrong")
    assert shown.index.tolist() == [1]
    assert compare.filter_disagreements(table, only_disagree=False).index.tolist() == \
        list(range(6))
    with pytest.raises(ValueError, match="who must be one of"):
        compare.filter_disagreements(table, who="nobody")
    cross = compare.prediction_crosstab(pred_a, pred_b)
    assert cross.to_numpy().tolist() == [[2, 1], [1, 2]]  # rows A, columns B


def test_regression_disagreement_is_a_gap_above_the_threshold():
    a = np.array([[1.0], [2.0], [3.0], [4.0]])
    b = np.array([[1.05], [2.5], [1.0], [4.0]])
    truth = np.array([1.0, 2.0, 1.5, 5.0])  # row 1: A is closer; row 2: B is
    pred_a, pred_b = (predictions(s, truth, "regression") for s in (a, b))
    table = compare.disagreement_table(pred_a, pred_b, threshold=0.1)
    assert table["|A − B|"].tolist() == pytest.approx([0.05, 0.5, 2.0, 0.0])
    assert table.index[table["disagree"]].tolist() == [1, 2]
    assert compare.disagreement_counts(table) == {"rows": 4, "disagree": 2, "A closer": 1,
                                                  "B closer": 1}
    assert compare.disagreement_table(pred_a, pred_b, threshold=1.0)["disagree"].sum() == 1
    assert compare.default_threshold(pred_a) == pytest.approx(0.11)  # std 1.118 / 10
    with pytest.raises(ValueError, match="threshold"):
        compare.disagreement_table(pred_a, pred_b, threshold=-1.0)


def test_metrics_side_by_side_with_the_difference(two_linear):
    from sklearn.metrics import log_loss

    from components.data.evaluation import evaluate

    _, scores, _ = two_linear
    figures = [compare.headline_metrics(evaluate(LABELS, s, "multiclass"), s) for s in scores]
    assert figures[0]["accuracy"] == pytest.approx(5 / 6)
    assert figures[0]["log_loss"] == pytest.approx(log_loss(LABELS, scores[0]), abs=1e-6)
    table = compare.metrics_table(*figures, task="multiclass")
    assert table["metric"].tolist() == ["accuracy", "macro F1", "log loss", "ROC AUC (macro)"]
    assert table["B − A"].tolist() == pytest.approx(
        (table["model B"] - table["model A"]).tolist())
    assert table.set_index("metric").at["accuracy", "better"] == "same"  # both 5/6
    lower_loss = "A" if figures[0]["log_loss"] < figures[1]["log_loss"] else "B"
    assert table.set_index("metric").at["log loss", "better"] == lower_loss
    reg = compare.metrics_table({"mae": 1.0, "rmse": 2.0, "r2": 0.5},
                                {"mae": 0.5, "rmse": 2.5, "r2": 0.5}, "regression")
    assert reg["better"].tolist() == ["B", "A", "same"]


# ---------------------------------------------------------------- the same model twice


@pytest.fixture(scope="module")
def wine_twice():
    """The wine sample loaded twice (two model objects), and its dataset."""
    from components.data.session import open_dataset
    from components.model.bundle import open_model

    sample = get_sample("wine_classifier")
    data = sample.model_path.read_bytes()
    a, b = open_model(data, "a.keras"), open_model(data, "b.keras")
    assert a.loaded.model is not b.loaded.model
    dataset = open_dataset(sample.data_path.read_bytes(), "data.csv", a)
    return a, b, dataset


def test_two_copies_of_one_model_agree_everywhere(wine_twice):
    from components.explain.local import method_status, subject_for

    a, b, dataset = wine_twice
    scores = [bundle.runner.run(scores_of, dataset.x) for bundle in (a, b)]
    pred_a, pred_b = (predictions(s, dataset.labels, "multiclass") for s in scores)
    assert compare.disagreement_table(pred_a, pred_b)["disagree"].sum() == 0
    rows = compare.sample_rows(len(dataset.x), 6, seed=1)
    targets = compare.row_targets(scores[0], rows, "multiclass", 3)
    template = subject_for(dataset, int(rows[0]), "multiclass")
    status = method_status(bound(a.loaded.model, template))
    methods = [m for m, why in status.items() if why is None]
    assert set(compare.CHEAP_METHODS) | {"lime", "shap"} <= set(methods)
    per_method = {}
    for method in methods:
        attrs = [bundle.runner.run(compare.explain_rows, template, dataset.x[rows], method,
                                   targets, 0) for bundle in (a, b)]
        assert all(isinstance(x, Attribution) for x in attrs[0] + attrs[1]), method
        per_method[method] = compare.pair_similarities(*attrs)
        assert per_method[method] == pytest.approx(np.ones((6, 2)), abs=1e-9), method
    summary = compare.similarity_summary(per_method)
    assert summary["rows"].tolist() == [6] * len(methods)
    assert summary[["mean cosine", "median Spearman"]].to_numpy() == pytest.approx(1.0)


def test_explain_rows_reports_a_failing_row_in_one_line(wine_twice):
    from components.explain.local import subject_for

    a, _, dataset = wine_twice
    template = subject_for(dataset, 0, "multiclass")
    out = a.runner.run(compare.explain_rows, template, dataset.x[:2], "saliency", [0, 7], 0)
    assert isinstance(out[0], Attribution)
    assert isinstance(out[1], str) and "target 7 is out of range" in out[1]


# ---------------------------------------------------------------- does B fit the data?


def tabular(n_features: int, names=None) -> Dataset:
    x = np.zeros((4, n_features), "float32")
    return Dataset(filename="d.csv", kind="tabular", n_rows=4, x=x, labels=None,
                   label_name=None, feature_names=names, preview=None)


def test_a_model_that_reads_other_inputs_is_refused_with_the_reason():
    wine = tabular(13)
    digits = InputSpec(shape=(16, 16, 1), dtype="float32")
    assert compare.input_mismatch(digits, 1, wine) == \
        "the second model reads 16×16×1 images; this dataset has 13 features"
    assert compare.input_mismatch(InputSpec((64,), "float32"), 1, wine) == \
        "the second model reads 64 features; this dataset has 13 features"
    assert compare.input_mismatch(InputSpec((), "string"), 1, wine) == \
        "the second model reads text; this dataset has 13 features"
    assert compare.input_mismatch(InputSpec((13,), "float32"), 2, wine).startswith(
        "the second model has 2 inputs")
    assert compare.input_mismatch(InputSpec((13,), "float32"), 1, wine) is None
    assert compare.input_mismatch(InputSpec((None,), "float32"), 1, wine) is None
    named = tabular(2, ["a", "b"])
    assert compare.input_mismatch(InputSpec((2,), "float32", ("a", "b")), 1, named) is None
    assert "another order" in compare.input_mismatch(InputSpec((2,), "float32", ("b", "a")),
                                                     1, named)
    assert compare.input_mismatch(InputSpec((2,), "float32", ("a", "c")), 1, named) == \
        "the second model reads other columns than this dataset has: missing 'c'; " \
        "unexpected 'b'"


# ---------------------------------------------------------------- the dataset summary


def test_rows_are_a_seeded_prefix_stable_draw():
    fifty, sixty = compare.sample_rows(178, 50, 0), compare.sample_rows(178, 60, 0)
    assert len(set(fifty)) == 50 and sixty[:50].tolist() == fifty.tolist()
    assert compare.sample_rows(178, 50, 1).tolist() != fifty.tolist()
    assert len(compare.sample_rows(10, 50)) == 10
    assert compare.chunks(list(range(12)), "ig") == [tuple(range(10)), (10, 11)]
    with pytest.raises(ValueError, match="positive number of rows"):
        compare.sample_rows(10, 0)


def test_row_targets_follow_model_a_and_skip_outputs_b_lacks():
    scores = np.array([[0.1, 0.9, 0.0], [0.2, 0.1, 0.7], [0.8, 0.1, 0.1]])
    assert compare.row_targets(scores, [0, 1, 2], "multiclass", 3) == [1, 2, 0]
    assert compare.row_targets(scores, [0, 1, 2], "multiclass", 2) == [1, None, 0]
    assert compare.row_targets(np.array([[3.0], [1.0]]), [0, 1], "regression", 1) == [0, 0]


def test_summary_means_medians_and_the_least_similar_rows():
    per_method = {"saliency": np.array([[1.0, 0.5], [0.0, np.nan], [0.5, 1.0]]),
                  "lime": np.array([[0.2, 0.2], [0.9, 0.9], [np.nan, np.nan]])}
    summary = compare.similarity_summary(per_method).set_index("method")
    assert summary.index.tolist() == ["LIME", "Saliency"]  # registry order
    assert summary.at["Saliency", "rows"] == 3 and summary.at["LIME", "rows"] == 2
    assert summary.at["Saliency", "mean cosine"] == pytest.approx(0.5)
    assert summary.at["Saliency", "median Spearman"] == pytest.approx(0.75)
    assert summary.at["LIME", "mean Spearman"] == pytest.approx(0.55)
    least = compare.least_similar([7, 3, 9], per_method, k=2)
    assert least.index.tolist() == [3, 7]  # lowest cosines: 0.0 (row 3), 0.2 (row 7)
    assert list(least.columns) == ["LIME cosine", "Saliency cosine"]
    assert compare.fmt_similarity(-0.5) == "\u22120.50" and compare.fmt_similarity(math.nan) \
        == "n/a"


# ---------------------------------------------------------------- figures


LINK = '<a href="https://evil.example">x</a>'


def test_crosstab_heatmap_counts_and_escaped_class_names(two_linear):
    _, _, (pred_a, pred_b) = two_linear
    fig = plots.crosstab_heatmap(compare.prediction_crosstab(pred_a, pred_b), LINK)
    assert fig.data[0].z.tolist() == [[2, 1], [1, 2]]
    assert list(fig.data[0].x) == ["yes", "no"]
    table = pd.DataFrame([[1, 0], [0, 3]], index=[LINK, "b"], columns=[LINK, "b"])
    text = plots.crosstab_heatmap(table).to_json()
    assert "<a" not in text and "\\u003ca" not in text
    with pytest.raises(ValueError, match="non-empty 2-D"):
        plots.crosstab_heatmap(pd.DataFrame())


def test_similarity_box_and_scatter_figures():
    per_method = {"ig": np.array([[1.0, 0.5], [np.nan, np.nan]]),
                  "saliency": np.array([[0.2, 0.1], [0.4, 0.3]])}
    fig = plots.similarity_box(per_method, [4, 8], "cosine")
    assert [t.name for t in fig.data] == ["Saliency", "Integrated Gradients"]
    assert fig.data[1].y.tolist() == [1.0] and fig.data[1].customdata.tolist() == [4]
    assert plots.similarity_box(per_method, [4, 8], "spearman").data[0].y.tolist() == [0.1, 0.3]
    with pytest.raises(ValueError, match="of must be one of"):
        plots.similarity_box(per_method, [4, 8], "pearson")
    scatter = plots.prediction_scatter([1.0, 2.0], [1.0, 3.0], 0.5)
    assert scatter.data[0].marker.color.tolist() == [plots.AGREE_COLOR, plots.DISAGREE_COLOR]


# ---------------------------------------------------------------- the page (AppTest)


def _wine_frame() -> pd.DataFrame:
    return pd.read_csv(get_sample("wine_classifier").data_path)


@pytest.fixture(scope="module")
def other_wine(tmp_path_factory):
    """A second wine model with the same 13 inputs: standardised inputs, then small random
    weights (so it disagrees with the sample on many rows), saved to bytes."""
    import keras

    frame = _wine_frame()
    x = frame.drop(columns=["label"]).to_numpy("float32")
    keras.utils.set_random_seed(7)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([keras.Input((13,)), norm,
                              keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")], name="other_wine")
    path = tmp_path_factory.mktemp("other") / "other_wine.keras"
    model.save(path)
    return path.read_bytes(), model


@pytest.fixture(scope="module", autouse=True)
def stop_workers():
    """Uploads run in worker processes: stop them after this module."""
    yield
    from components.model import worker

    worker.shutdown()


def _scope(sha_a: str, sha_b: str, data_sha: str) -> str:
    return f"{sha_a[:12]}_{sha_b[:12]}_{data_sha[:12]}"


def _sha(data: bytes) -> str:
    from components.model.load import sha256_hex

    return sha256_hex(data)


def _wine_shas() -> tuple[str, str]:
    sample = get_sample("wine_classifier")
    return _sha(sample.model_path.read_bytes()), _sha(sample.data_path.read_bytes())


def _open_compare(query: dict | None = None):
    at = new_app(timeout=300)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _texts(at, kind: str) -> list[str]:
    return [e.value.replace("\\", "") for e in getattr(at, kind)]


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _frame(at, first_column: str) -> pd.DataFrame:
    for frame in at.dataframe:
        value = frame.value
        if first_column in [value.index.name, *value.columns[:1]]:
            return value
    raise AssertionError(f"no table starting with {first_column!r}")


def _summary(at) -> pd.DataFrame:
    return next(f.value for f in at.dataframe if "mean cosine" in f.value.columns)


def test_the_page_waits_for_a_second_model():
    at = _open_compare()
    assert at.title[0].value == "Compare two models"
    assert _texts(at, "info") == ["Pick the second model (B): a sample, a saved model or an "
                                  "upload."]
    assert not at.error and not at.get("plotly_chart")


def test_wine_against_an_uploaded_second_model(other_wine):
    data, model = other_wine
    sha_a, data_sha = _wine_shas()
    sha_b = _sha(data)
    at = _open_compare({"sample": "wine_classifier"})
    scope = _scope(sha_a, sha_b, data_sha)
    at.session_state[f"cmp_methods_{scope}"] = ["saliency", "gradxinput", "ig"]
    at.session_state[f"cmp_summary_rows_{scope}"] = 20
    at.selectbox(key="compare_model_choice").select("__upload__").run()
    at.file_uploader(key="compare_model_file").upload("other_wine.keras", data).run()
    assert not at.exception, at.exception
    assert not at.error, _texts(at, "error")
    assert at.query_params["vs"] in (sha_b, [sha_b])  # kept, and linkable

    # what the two models predict, computed here
    frame = _wine_frame()
    x = frame.drop(columns=["label"]).to_numpy("float32")
    sample_model = __import__("keras").saving.load_model(
        get_sample("wine_classifier").model_path)
    pred_a = np.asarray(sample_model(x)).argmax(1)
    pred_b = np.asarray(model(x)).argmax(1)
    disagree = np.flatnonzero(pred_a != pred_b)
    assert 0 < len(disagree) < len(x)

    metrics = _frame(at, "metric").set_index("metric")
    assert metrics.index.tolist() == ["accuracy", "macro F1", "log loss", "ROC AUC (macro)"]
    truth = frame["label"].map({"class_0": 0, "class_1": 1, "class_2": 2}).fillna(
        frame["label"]).astype(int).to_numpy()
    assert metrics.at["accuracy", "model A"] == pytest.approx((pred_a == truth).mean())
    assert metrics.at["accuracy", "model B"] == pytest.approx((pred_b == truth).mean())
    assert metrics.at["accuracy", "B − A"] == pytest.approx(
        (pred_b == truth).mean() - (pred_a == truth).mean())

    shown = _metrics(at)
    assert shown["Rows"] == f"{len(x):,}"
    assert shown["They disagree"] == f"{len(disagree):,}"
    assert shown["Share"] == f"{100 * len(disagree) / len(x):.1f} %"
    rows = _frame(at, "A predicted")
    assert rows.index.tolist() == disagree.tolist()
    assert {"A confidence", "B predicted", "B confidence", "label"} <= set(rows.columns)

    # the selected sample: a row where they disagree, through the URL as a link would
    row = int(disagree[0])
    at.query_params["row"] = str(row)
    at.run()
    assert not at.exception and not at.error
    line = next(m for m in _texts(at, "markdown") if m.startswith(f"**Row {row}**"))
    names = ("class_0", "class_1", "class_2")
    assert f"A predicts {names[pred_a[row]]} " in line and f"B predicts {names[pred_b[row]]} " \
        in line
    similar = _frame(at, "method")
    assert similar["method"].tolist() == ["Saliency", "Gradient × input",
                                          "Integrated Gradients"]
    assert similar[["cosine", "Spearman"]].abs().le(1 + 1e-9).all().all()
    panels = [m for m in _texts(at, "markdown") if "cosine" in m and "Spearman" in m]
    assert len(panels) == 3 and panels[0].startswith("**Saliency** · cosine ")
    charts = at.get("plotly_chart")
    assert len(charts) == 1 + 2 * 3 + 2  # crosstab, A and B per method, two summary boxes
    assert "B: Other wine" in charts[2].proto.spec  # model B's panel: its readable name

    summary = _summary(at)
    assert summary["rows"].tolist() == [20, 20, 20]
    assert summary["mean cosine"].between(-1, 1).all()
    captions = _texts(at, "caption")
    assert any(c.startswith("Grad-CAM is not offered: ") for c in captions), captions


def test_the_same_sample_twice_agrees_everywhere():
    sha_a, data_sha = _wine_shas()
    scope = _scope(sha_a, sha_a, data_sha)
    at = new_app(timeout=300)
    at.query_params["sample"] = "wine_classifier"
    at.query_params["vs"] = "wine_classifier"  # a link names model B
    at.session_state[f"cmp_methods_{scope}"] = ["saliency", "ig"]
    at.session_state[f"cmp_summary_rows_{scope}"] = 10
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="compare_model_choice").value == "sample:wine_classifier"
    assert _metrics(at)["They disagree"] == "0"
    assert (_frame(at, "metric")["B − A"] == 0).all()
    assert any("No row matches" in s for s in _texts(at, "success"))
    similar = _frame(at, "method")
    assert similar[["cosine", "Spearman"]].to_numpy() == pytest.approx(1.0, abs=1e-9)
    summary = _summary(at)
    assert summary[["mean cosine", "median cosine", "mean Spearman",
                    "median Spearman"]].to_numpy() == pytest.approx(1.0, abs=1e-9)


def test_a_model_that_reads_other_inputs_gives_the_one_line_reason():
    at = _open_compare({"sample": "wine_classifier"})
    at.selectbox(key="compare_model_choice").select("sample:digits_cnn").run()
    assert not at.exception
    assert _texts(at, "error") == ["Model B cannot be compared on this dataset: the second "
                                   "model reads 16×16×1 images; this dataset has 13 features."]
    assert not at.get("plotly_chart") and not at.metric


def test_a_hostile_second_model_is_one_line_and_the_page_goes_on(tmp_path):
    canary = tmp_path / "canary"
    data = hostile.save(hostile.lambda_model(canary), tmp_path)
    canary.unlink(missing_ok=True)
    at = _open_compare({"sample": "wine_classifier"})
    at.selectbox(key="compare_model_choice").select("__upload__").run()
    at.file_uploader(key="compare_model_file").upload("evil.keras", data).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Second model refused: ")
    assert "a Lambda layer holds Python code" in errors[0]
    assert not canary.exists()
    sha_a, data_sha = _wine_shas()
    at.session_state[f"cmp_methods_{_scope(sha_a, sha_a, data_sha)}"] = ["saliency"]
    at.session_state[f"cmp_summary_methods_{_scope(sha_a, sha_a, data_sha)}"] = ["saliency"]
    at.selectbox(key="compare_model_choice").select("sample:wine_classifier").run()
    assert not at.exception and not at.error
    assert _metrics(at)["They disagree"] == "0"


def test_the_second_upload_never_evicts_the_sidebars_upload(other_wine, monkeypatch):
    """Model A is an upload (its worker in the sidebar's one-entry session cache); uploading
    model B on the page must leave A's worker running."""
    from components.model import worker

    closed: list[str] = []
    real_close = worker.WorkerRunner.close

    def spy(self):
        closed.append(self.sha256)
        real_close(self)

    monkeypatch.setattr(worker.WorkerRunner, "close", spy)
    data_b, _ = other_wine
    sample = get_sample("wine_classifier")
    data_a = sample.model_path.read_bytes()
    sha_a, data_sha = _wine_shas()
    at = new_app(timeout=300)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("wine_upload.keras", data_a).run()
    at.file_uploader(key="data_file").upload("data.csv", sample.data_path.read_bytes()).run()
    at.switch_page(PAGE).run()
    # AppTests share one session id: A's upload may close a runner an earlier test left in
    # that session's cache. What counts is what B's upload closes.
    closed.clear()
    scope = _scope(sha_a, _sha(data_b), data_sha)
    at.session_state[f"cmp_methods_{scope}"] = ["saliency"]
    at.session_state[f"cmp_summary_methods_{scope}"] = ["saliency"]
    at.selectbox(key="compare_model_choice").select("__upload__").run()
    at.file_uploader(key="compare_model_file").upload("other_wine.keras", data_b).run()
    assert not at.exception and not at.error, _texts(at, "error")
    assert sha_a not in closed
    live = [r for r in worker._POOL._live.values() if r.alive]
    assert {sha_a, _sha(data_b)} <= {r.sha256 for r in live}  # both models have a worker
    assert _frame(at, "metric")["metric"].iloc[0] == "accuracy"
    assert at.query_params["vs"] in (_sha(data_b), [_sha(data_b)])


def test_regression_compares_mae_rmse_r2_and_uses_a_threshold():
    key = "diabetes_regression"
    sample = get_sample(key)
    sha, data_sha = _sha(sample.model_path.read_bytes()), _sha(sample.data_path.read_bytes())
    scope = _scope(sha, sha, data_sha)
    at = new_app(timeout=300)
    at.query_params["sample"] = key
    at.query_params["vs"] = key
    at.session_state[f"cmp_methods_{scope}"] = ["saliency"]
    at.session_state[f"cmp_summary_methods_{scope}"] = ["saliency"]
    at.session_state[f"cmp_summary_rows_{scope}"] = 5
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error
    assert _frame(at, "metric")["metric"].tolist() == ["MAE", "RMSE", "R²"]
    assert any(n.label == "Disagree when |A − B| is above" for n in at.number_input)
    assert _metrics(at)["They disagree"] == "0"
