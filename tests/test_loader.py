"""Loading, introspection and task detection, on the samples and on tiny models built here."""

from __future__ import annotations

import hashlib

import keras
import pytest

from components.introspection import summarize
from components.model_io import load_model_bytes, load_model_path
from components.samples import get_sample, list_samples
from components.task import detect_task, resolve_task


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.key)
def test_every_sample_loads_with_keras_own_counts(sample):
    loaded = load_model_path(sample.model_path)
    summary = summarize(loaded.model, loaded.sha256)
    assert loaded.sha256 == hashlib.sha256(sample.model_path.read_bytes()).hexdigest()
    assert summary.total_params == loaded.model.count_params()
    assert sum(r.params for r in summary.layers if r.parent is None) == summary.total_params
    assert summary.task == sample.task
    assert summary.name == sample.key


def test_sample_catalogue():
    keys = [s.key for s in list_samples()]
    assert keys[0] == "wine_classifier"
    assert set(keys) == {"wine_classifier", "digits_cnn", "sentiment_text", "diabetes_regression"}
    assert {s.kind for s in list_samples()} == {"tabular", "image", "text"}
    assert sum(f.stat().st_size for s in list_samples() for f in s.folder.iterdir()) < 5 * 2**20


def test_nested_submodel_layers_name_their_parent():
    summary = summarize(*_load("wine_classifier"))
    rows = {r.name: r for r in summary.layers}
    assert rows["encoder"].parent is None and rows["encoder"].class_name == "Sequential"
    inner = [r for r in summary.layers if r.parent == "encoder"]
    assert [(r.class_name, r.output_shape, r.params) for r in inner] == [
        ("Dense", [None, 16], 13 * 16 + 16), ("Dense", [None, 8], 16 * 8 + 8)]
    assert rows["encoder"].params == sum(r.params for r in inner)
    # Normalization keeps mean, variance and count as non-trainable weights: 13 + 13 + 1
    assert rows["standardize"].params == 27 and rows["standardize"].trainable_params == 0


def _load(key: str):
    loaded = load_model_path(get_sample(key).model_path)
    return loaded.model, loaded.sha256


def test_tiny_h5_and_keras_give_exact_counts(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")], name="tiny")
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"tiny{suffix}"
        model.save(path)
        loaded = load_model_bytes(path.read_bytes(), path.name)
        summary = summarize(loaded.model, loaded.sha256)
        assert loaded.fmt == suffix.lstrip(".")
        assert summary.total_params == 4 * 3 + 3 == 15
        assert summary.inputs == [[None, 4]] and summary.outputs == [[None, 3]]
        assert summary.task == "regression"


def test_branches_and_shared_layers_are_summarised():
    a, b = keras.Input((5,), name="a"), keras.Input((5,), name="b")
    shared = keras.layers.Dense(4, name="shared")
    merged = keras.layers.Concatenate(name="merge")([shared(a), shared(b)])
    model = keras.Model([a, b], keras.layers.Dense(1, activation="sigmoid", name="out")(merged))
    summary = summarize(model, "0" * 64)
    rows = {r.name: r for r in summary.layers}
    assert summary.inputs == [[None, 5], [None, 5]]
    assert rows["shared"].params == 24 and rows["shared"].output_shape == [None, 4]  # used twice
    assert rows["merge"].output_shape == [None, 8]
    assert summary.total_params == 24 + 9
    assert summary.task == "binary"


@pytest.mark.parametrize(("head", "task"), [
    (lambda: keras.layers.Dense(3, activation="softmax"), "multiclass"),
    (lambda: keras.layers.Dense(1, activation="sigmoid"), "binary"),
    (lambda: keras.layers.Dense(4, activation="sigmoid"), "multilabel"),
    (lambda: keras.layers.Dense(1), "regression"),
    (lambda: keras.layers.Softmax(), "multiclass"),
])
def test_task_from_the_output_layer(head, task):
    inp = keras.Input((6,))
    x = keras.layers.Dense(3)(inp)
    assert detect_task(keras.Model(inp, head()(x))) == task


def test_task_from_a_separate_activation_layer():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(5),
                              keras.layers.Activation("softmax")])
    assert detect_task(model) == "multiclass"


def test_task_override():
    assert resolve_task("multiclass", None) == "multiclass"
    assert resolve_task("multiclass", "auto") == "multiclass"
    assert resolve_task("multiclass", "regression") == "regression"
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        resolve_task("multiclass", "ranking")


def test_inspect_json_contract():
    summary = summarize(*_load("wine_classifier"))
    payload = summary.to_json()
    assert set(payload) == {"sha256", "name", "task", "inputs", "outputs", "total_params",
                            "trainable_params", "layers"}
    assert set(payload["layers"][0]) == {"name", "class_name", "output_shape", "params",
                                         "parent"}
