"""The sample picker: predictions, the table and its filters, the 2-D map, clicks and queries.

Hand-made arrays with known answers; Keras only for the penultimate-activation checks.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from components.data.checks import Dataset
from components.data.predictions import (
    filter_table,
    map_colors,
    predictions,
    row_from_query,
    sample_table,
    thumbnail_uri,
)
from components.errors import DataError
from components.inspect.sample_map import map_coordinates, penultimate_activations, projection
from components.model.samples import get_sample
from components.plots.sample_map import clicked_row, ring, sample_map

# 8 samples, 3 classes; argmax 0 0 1 1 1 2 2 0: rows 2, 5, 7 are wrong.
Y3 = np.array(["a", "a", "a", "b", "b", "b", "c", "c"], dtype=object)
P3 = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.1, 0.7, 0.2],
               [0.2, 0.6, 0.2], [0.1, 0.3, 0.6], [0.1, 0.2, 0.7], [0.5, 0.1, 0.4]],
              dtype=np.float32)
NAMES3 = ("a", "b", "c")
X3 = np.arange(8 * 8, dtype=np.float32).reshape(8, 8)
FEATURES = [f"feat{i}" for i in range(8)]


def _dataset(kind: str, x, labels=None, names=None) -> Dataset:
    return Dataset(filename="t", kind=kind, n_rows=len(x), x=x, labels=labels,
                   label_name=None if labels is None else "label", feature_names=names,
                   preview=None)


@pytest.fixture(scope="module")
def three():
    return predictions(P3, Y3, "multiclass", NAMES3)


@pytest.fixture(scope="module")
def table3(three):
    return sample_table(three, _dataset("tabular", X3, Y3, FEATURES))


# ---------------------------------------------------------------- predictions


def test_multiclass_predictions(three):
    np.testing.assert_array_equal(three.predicted, [0, 0, 1, 1, 1, 2, 2, 0])
    np.testing.assert_allclose(three.confidence, [0.8, 0.6, 0.5, 0.7, 0.6, 0.6, 0.7, 0.5],
                               rtol=1e-6)
    np.testing.assert_array_equal(three.truth, [0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(three.correct, [1, 1, 0, 1, 1, 0, 1, 0])
    assert three.correct.dtype == bool and three.class_names == NAMES3
    assert three.scores.dtype == np.float32 and three.scores.shape == (8, 3)
    # integer labels are class indices, and give the same truth
    by_index = predictions(P3, np.array([0, 0, 0, 1, 1, 1, 2, 2]), "multiclass", NAMES3)
    np.testing.assert_array_equal(by_index.truth, three.truth)


def test_multiclass_logits_and_no_labels():
    logits = np.log(P3)  # softmax(log p) == p
    pred = predictions(logits, None, "multiclass", None)
    np.testing.assert_allclose(pred.confidence, [0.8, 0.6, 0.5, 0.7, 0.6, 0.6, 0.7, 0.5],
                               rtol=1e-5)
    assert pred.truth is None and pred.correct is None and pred.class_names == ("0", "1", "2")


def test_binary_one_sigmoid_unit():
    scores = np.array([[0.9], [0.2], [0.5], [0.4], [0.7]], dtype=np.float32)
    pred = predictions(scores, ["positive", "negative", "negative", 1, 0], "binary",
                       ("negative", "positive"))
    np.testing.assert_array_equal(pred.predicted, [1, 0, 1, 0, 1])  # 0.5 is positive
    np.testing.assert_allclose(pred.confidence, [0.9, 0.8, 0.5, 0.6, 0.7], rtol=1e-6)
    np.testing.assert_array_equal(pred.correct, [True, True, False, False, False])


def test_regression_abs_error():
    pred = predictions(np.array([[1.0], [2.5], [3.0]]), np.array([1.5, 2.5, 1.0]),
                       "regression", None)
    np.testing.assert_allclose(pred.predicted, [1.0, 2.5, 3.0])
    np.testing.assert_allclose(pred.abs_error, [0.5, 0.0, 2.0])
    assert pred.correct is None and np.isnan(pred.confidence).all()
    with pytest.raises(DataError, match="one model output"):
        predictions(np.zeros((3, 2)), None, "regression", None)


def test_multilabel_top_label():
    scores = np.array([[0.9, 0.8, 0.1], [0.2, 0.3, 0.6], [0.7, 0.1, 0.2]])
    truth = np.array([[0, 1, 0], [0, 0, 1], [0, 1, 1]])
    pred = predictions(scores, truth, "multilabel", ("x", "y", "z"))
    np.testing.assert_array_equal(pred.predicted, [0, 2, 0])
    np.testing.assert_allclose(pred.confidence, [0.9, 0.6, 0.7])
    np.testing.assert_array_equal(pred.correct, [False, True, False])
    table = sample_table(pred, _dataset("tabular", np.zeros((3, 2), np.float32)))
    assert table["label"].tolist() == ["y", "z", "y, z"]


def test_empty_and_bad_labels():
    labels = np.array(["a", None, "c"], dtype=object)
    pred = predictions(P3[[0, 1, 6]], labels, "multiclass", NAMES3)
    np.testing.assert_array_equal(pred.truth, [0, -1, 2])
    np.testing.assert_array_equal(pred.correct, [True, False, True])
    table = sample_table(pred, _dataset("tabular", X3[:3], labels))
    assert pd.isna(table.at[1, "label"])
    assert filter_table(table, misclassified_only=True).empty  # no label: not "wrong"
    with pytest.raises(DataError, match="'d'"):
        predictions(P3[:2], ["a", "d"], "multiclass", NAMES3)
    with pytest.raises(DataError, match="2 labels for 8"):
        predictions(P3, ["a", "b"], "multiclass", NAMES3)
    with pytest.raises(ValueError, match="unknown task"):
        predictions(P3, None, "ranking", NAMES3)


# ---------------------------------------------------------------- the table


def test_tabular_table(table3):
    assert table3.index.name == "row" and table3.index.tolist() == list(range(8))
    assert list(table3.columns) == ["prediction", "label", "confidence", "correct",
                                    *FEATURES[:6]]
    assert table3["prediction"].tolist() == ["a", "a", "b", "b", "b", "c", "c", "a"]
    assert table3["label"].tolist() == list(Y3)
    assert table3["correct"].dtype == bool
    np.testing.assert_array_equal(table3["feat1"], X3[:, 1])
    narrow = sample_table(predictions(P3, None, "multiclass", NAMES3),
                          _dataset("tabular", X3, names=None), max_feature_columns=2)
    assert list(narrow.columns) == ["prediction", "confidence", "f0", "f1"]


def test_feature_named_like_a_column_is_renamed():
    pred = predictions(P3[:2], None, "multiclass", NAMES3)
    table = sample_table(pred, _dataset("tabular", X3[:2, :2], names=["confidence", "x"]))
    assert list(table.columns) == ["prediction", "confidence", "confidence (feature)", "x"]


def test_regression_table():
    pred = predictions(np.array([[1.0], [4.0]]), np.array([2.0, 4.0]), "regression", None)
    table = sample_table(pred, _dataset("tabular", X3[:2, :1], names=["bmi"]))
    assert list(table.columns) == ["prediction", "label", "abs error", "bmi"]
    assert table["abs error"].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="correct"):
        filter_table(table, misclassified_only=True)
    with pytest.raises(ValueError, match="not classes"):
        filter_table(table, classes=["a"])
    assert filter_table(table, sort_by="abs error").index.tolist() == [0, 1]


def test_text_table():
    texts = np.array(["good film", "bad <b>film</b>"], dtype=object)
    pred = predictions(np.array([[0.8], [0.3]]), [1, 1], "binary", ("neg", "pos"))
    table = sample_table(pred, _dataset("text", texts, [1, 1], ["text"]))
    assert list(table.columns) == ["prediction", "label", "confidence", "correct", "text"]
    assert table["text"].tolist() == ["good film", "bad <b>film</b>"]
    assert table["correct"].tolist() == [True, False]


def _decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_image_table_thumbnails():
    images = np.zeros((2, 16, 16, 1), dtype=np.float32)
    images[0, :8] = 10.0  # top half bright, bottom half dark
    images[1] += 3.0  # constant: black
    pred = predictions(np.array([[0.9, 0.1], [0.4, 0.6]]), None, "multiclass", ("0", "1"))
    table = sample_table(pred, _dataset("image", images))
    assert list(table.columns) == ["prediction", "confidence", "thumbnail"]
    first = _decode(table.at[0, "thumbnail"])
    assert first.size == (48, 48) and first.mode == "L"
    pixels = np.asarray(first)
    assert pixels[:24].min() == 255 and pixels[24:].max() == 0  # nearest: 3x, crisp edge
    assert np.asarray(_decode(table.at[1, "thumbnail"])).max() == 0


def test_thumbnail_rgb_and_sizes():
    rgb = np.random.default_rng(0).random((8, 6, 3))
    picture = _decode(thumbnail_uri(rgb))
    assert picture.mode == "RGB" and picture.size == (36, 48)  # factor 6 on the long side
    assert _decode(thumbnail_uri(np.ones((28, 28)))).size == (56, 56)
    assert _decode(thumbnail_uri(np.ones((96, 64, 1)))).size == (32, 48)  # shrinks
    with pytest.raises(ValueError, match="image"):
        thumbnail_uri(np.ones(5))


# ---------------------------------------------------------------- filters


def test_filters(table3):
    assert filter_table(table3, misclassified_only=True).index.tolist() == [2, 5, 7]
    assert filter_table(table3, classes=["b"]).index.tolist() == [2, 3, 4]
    assert filter_table(table3, classes=[]).index.tolist() == list(range(8))
    assert filter_table(table3, confidence=(0.6, 0.7)).index.tolist() == [1, 3, 4, 5, 6]
    both = filter_table(table3, misclassified_only=True, classes=["a", "c"])
    assert both.index.tolist() == [5, 7]
    ordered = filter_table(table3, sort_by="confidence")
    assert ordered.index.tolist() == [0, 3, 6, 1, 4, 5, 2, 7]  # stable among ties
    assert filter_table(table3, sort_by="confidence", descending=False).index.tolist() == \
        [2, 7, 1, 4, 5, 3, 6, 0]
    assert filter_table(table3, sort_by="row").index.tolist() == list(range(7, -1, -1))
    with pytest.raises(ValueError, match="'prediction'.*'feat0'"):
        filter_table(table3, sort_by="nope")
    with pytest.raises(ValueError, match="empty"):
        filter_table(table3, confidence=(0.9, 0.1))


# ---------------------------------------------------------------- projection


def test_projection_shape_determinism_and_clusters():
    rng = np.random.default_rng(1)
    left = rng.normal(0, 0.1, (30, 5))
    right = rng.normal(0, 0.1, (30, 5)) + 10.0
    x = np.vstack([left, right]).astype(np.float32)
    coords = projection(x, seed=3)
    assert coords.shape == (60, 2)
    np.testing.assert_array_equal(coords, projection(x, seed=3))
    pc1 = coords[:, 0]
    assert pc1[:30].max() < pc1[30:].min() or pc1[30:].max() < pc1[:30].min()
    assert np.ptp(pc1) > 10 * np.ptp(coords[:, 1])
    # fitted on a seeded subset: same seed, same map
    subset = projection(x, seed=5, max_rows=20)
    np.testing.assert_array_equal(subset, projection(x, seed=5, max_rows=20))
    assert projection(np.zeros((4, 16, 16, 1)), seed=0).shape == (4, 2)  # images, no variance
    assert projection(np.ones((1, 3))).tolist() == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="activations"):
        projection(np.array(["a", "b"], dtype=object))


# ---------------------------------------------------------------- penultimate activations


@pytest.fixture(scope="module")
def keras():
    import keras

    keras.utils.set_random_seed(0)
    return keras


def test_penultimate_sequential(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3), keras.layers.Softmax()])
    x = np.random.default_rng(0).random((10, 4)).astype(np.float32)
    acts = penultimate_activations(model, x, batch_size=4)
    assert acts.shape == (10, 5) and acts.dtype == np.float32
    np.testing.assert_allclose(acts, model.layers[0](x).numpy(), atol=1e-6)


def test_penultimate_functional_and_nested_head(keras):
    inp = keras.Input((4,))
    hidden = keras.layers.Dense(7, activation="tanh", name="hidden")(inp)
    model = keras.Model(inp, keras.layers.Dense(2, activation="sigmoid")(hidden))
    x = np.random.default_rng(1).random((6, 4)).astype(np.float32)
    acts = penultimate_activations(model, x)
    assert acts.shape == (6, 7)
    np.testing.assert_allclose(acts, model.get_layer("hidden")(x).numpy(), atol=1e-6)
    # the output layer is itself a model: the activations feeding *its* last layer
    head_in = keras.Input((5,))
    head = keras.Model(head_in, keras.layers.Dense(3)(keras.layers.Dense(6)(head_in)),
                       name="head")
    inp2 = keras.Input((4,))
    nested = keras.Model(inp2, head(keras.layers.Dense(5)(inp2)))
    assert penultimate_activations(nested, x).shape == (6, 6)


def test_penultimate_sentiment_sample(keras):
    sample = get_sample("sentiment_text")
    model = keras.saving.load_model(sample.model_path, safe_mode=True, compile=False)
    texts = pd.read_csv(sample.data_path)["text"].to_numpy(dtype=object)[:40]
    acts = penultimate_activations(model, texts)
    assert acts.shape == (40, 8)  # the mean-pooled embedding feeding the sigmoid unit
    dataset = _dataset("text", texts, None, ["text"])
    coords = map_coordinates(model, dataset, "activations", seed=0)
    assert coords.shape == (40, 2) and np.isfinite(coords).all()
    with pytest.raises(ValueError, match="activations"):
        map_coordinates(model, dataset, "inputs")
    with pytest.raises(ValueError, match="inputs, activations"):
        map_coordinates(model, dataset, "pixels")


def test_penultimate_wine_nested_encoder(keras):
    sample = get_sample("wine_classifier")
    model = keras.saving.load_model(sample.model_path, safe_mode=True, compile=False)
    x = pd.read_csv(sample.data_path).drop(columns=["label"]).to_numpy("float32")[:20]
    assert penultimate_activations(model, x).shape == (20, 8)  # the encoder's last Dense
    dataset = _dataset("tabular", x)
    assert map_coordinates(model, dataset, "inputs").shape == (20, 2)


# ---------------------------------------------------------------- clicks and queries


def test_clicked_row():
    assert clicked_row(None) is None and clicked_row([]) is None
    assert clicked_row([{"customdata": [17]}]) == 17
    assert clicked_row([{"customdata": {"0": "17"}}]) == 17
    assert clicked_row([{"customdata": "4.0"}]) == 4
    assert clicked_row([{"x": 1}, {"customdata": ["x"]}, {"customdata": [3]}]) == 3
    assert clicked_row([{"customdata": [-1]}, {"customdata": [1.5]}]) is None


def test_row_from_query():
    assert row_from_query("17", 20) == 17
    assert row_from_query(" 3 ", 20) == 3
    assert row_from_query(["1", "2"], 20) == 2
    for bad in (None, "", "20", "-1", "1e3", "x", "٣"):
        assert row_from_query(bad, 20) is None, bad


# ---------------------------------------------------------------- the figure


def test_sample_map_by_prediction(three, table3):
    coords = np.arange(16, dtype=float).reshape(8, 2)
    fig = sample_map(coords, rows=np.arange(8), color=map_colors(three, "prediction"),
                     color_by="prediction", class_names=NAMES3, title="map",
                     prediction=table3["prediction"], label=table3["label"])
    names = [t.name for t in fig.data]
    assert names == ["a", "b", "c"]  # no ring trace: the page draws `ring` over the map
    assert all(isinstance(t, go.Scatter) for t in fig.data)
    assert [list(t.customdata) for t in fig.data[:3]] == [[[0], [1], [7]], [[2], [3], [4]],
                                                         [[5], [6]]]
    assert fig.data[1].hovertext[0] == "row 2<br>prediction: b<br>label: a"
    assert fig.layout.clickmode == "event"  # a click picks; no selection dims the rest
    assert fig.layout.xaxis.title.text == "PC 1" and fig.layout.yaxis.title.text == "PC 2"
    fig = sample_map(coords[2:], rows=np.arange(2, 8), color=three.predicted[2:],
                     color_by="prediction", class_names=NAMES3, title="",
                     space="activations")
    assert len(fig.data) == 3 and fig.layout.xaxis.title.text == "activation PC 1"


def test_sample_map_error_confidence_and_bad_color(three):
    coords = np.zeros((8, 2))
    fig = sample_map(coords, rows=np.arange(8), color=map_colors(three, "error"),
                     color_by="error", class_names=NAMES3, title="")
    assert [t.name for t in fig.data] == ["correct", "misclassified"]
    assert [c[0] for c in fig.data[1].customdata] == [2, 5, 7]
    fig = sample_map(coords, rows=np.arange(8), color=three.confidence,
                     color_by="confidence", class_names=NAMES3, title="")
    assert len(fig.data) == 1 and fig.data[0].marker.showscale
    regression = predictions(np.array([[1.0], [3.0]]), [1.0, 1.0], "regression", None)
    fig = sample_map(np.zeros((2, 2)), rows=[0, 1], color=map_colors(regression, "error"),
                     color_by="error", class_names=(), title="")
    assert list(fig.data[0].marker.color) == [0.0, 2.0]
    big = sample_map(np.zeros((2001, 2)), rows=np.arange(2001), color=np.zeros(2001, int),
                     color_by="prediction", class_names=("x",), title="")
    assert isinstance(big.data[0], go.Scattergl)
    with pytest.raises(ValueError, match="prediction, error, confidence"):
        sample_map(coords, rows=np.arange(8), color=three.confidence, color_by="size",
                   class_names=NAMES3, title="")
    with pytest.raises(ValueError, match="needs labels"):
        map_colors(predictions(P3, None, "multiclass", NAMES3), "error")


def test_the_ring_is_one_pixel_sized_circle_on_the_selected_row():
    """The selected row's ring is a layout update over the map (one shape), not a trace: a
    pick redraws the ring, not the map's points."""
    coords = np.arange(16, dtype=float).reshape(8, 2)
    rows = np.arange(10, 18)
    update = ring(coords, rows, 15)
    (shape,) = update["shapes"]
    assert shape["type"] == "circle" and (shape["xanchor"], shape["yanchor"]) == (10.0, 11.0)
    assert shape["xsizemode"] == shape["ysizemode"] == "pixel"
    assert (shape["x0"], shape["x1"]) == (-9, 9) and shape["label"]["text"] == "<b>row 15</b>"
    assert ring(coords, rows, 3) == {"shapes": []}  # not on the map (filtered out)
    assert ring(coords, rows, None) == {"shapes": []}
    json.dumps(update)  # sent to the browser as JSON


def test_a_subset_note_names_the_filters_set():
    from components.data.predictions import subset_note

    assert subset_note() == ""
    assert subset_note(confidence=(0.0, 1.0)) == ""  # the full range filters nothing
    assert subset_note(misclassified_only=True, classes=["class_0", "class_2"],
                       confidence=(0.5, 0.955)) == \
        "misclassified only \u00b7 predicted class_0 or class_2 \u00b7 confidence 50\u201396 %"
