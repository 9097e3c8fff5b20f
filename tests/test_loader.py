"""The sample catalogue and summaries of branched models (loading is in test_model_io.py)."""

from __future__ import annotations

import keras

from components.model.samples import list_samples
from components.model.summary import summarize


def test_sample_catalogue():
    keys = [s.key for s in list_samples()]
    assert keys[0] == "wine_classifier"
    assert set(keys) == {"wine_classifier", "digits_cnn", "sentiment_text", "diabetes_regression"}
    assert {s.kind for s in list_samples()} == {"tabular", "image", "text"}
    assert sum(f.stat().st_size for s in list_samples() for f in s.folder.iterdir()) < 5 * 2**20


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
