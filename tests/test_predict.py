"""The compiled predict path: same numbers as Keras' own predict, in batches of any size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.model.load import load_model_path
from components.model.predict import make_predict_fn
from components.model.samples import get_sample


@pytest.fixture(scope="module")
def wine():
    sample = get_sample("wine_classifier")
    x = pd.read_csv(sample.data_path).drop(columns=["label"]).to_numpy("float32")
    return load_model_path(sample.model_path).model, x


@pytest.fixture(scope="module")
def text():
    sample = get_sample("sentiment_text")
    texts = pd.read_csv(sample.data_path)["text"].to_numpy(dtype=object)
    return load_model_path(sample.model_path).model, texts


def test_wine_matches_keras_predict(wine):
    model, x = wine
    out = make_predict_fn(model)(x)
    assert out.shape == (178, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-5)


def test_text_matches_keras_predict(text):
    model, texts = text
    out = make_predict_fn(model, batch_size=128)(texts[:300])
    assert out.shape == (300, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out, model.predict(texts[:300], verbose=0), atol=1e-5)


def test_text_accepts_a_plain_list_of_str(text):
    model, texts = text
    out = make_predict_fn(model)(list(texts[:3]))
    np.testing.assert_allclose(out, model.predict(texts[:3], verbose=0), atol=1e-5)


def test_batches_that_do_not_divide_n_give_the_same_rows(wine):
    model, x = wine
    whole = make_predict_fn(model, batch_size=256)(x)
    for batch_size in (1, 7, 177):
        np.testing.assert_allclose(make_predict_fn(model, batch_size)(x[:23]), whole[:23],
                                   atol=1e-6)


def test_float64_input_is_cast_not_refused(wine):
    model, x = wine
    np.testing.assert_allclose(make_predict_fn(model)(x[:5].astype("float64")),
                               model.predict(x[:5], verbose=0), atol=1e-5)


def test_empty_input_gives_zero_rows_of_k_outputs(wine, text):
    assert make_predict_fn(wine[0])(wine[1][:0]).shape == (0, 3)
    assert make_predict_fn(text[0])(np.array([], dtype=object)).shape == (0, 1)


def test_one_tf_function_per_predict_fn_and_few_traces(wine):
    model, x = wine
    predict = make_predict_fn(model, batch_size=10)
    for n in (10, 3, 7, 25, 4):
        predict(x[:n])
    # batch 10, then a short batch: the second shape generalises to (None, 13) and stays.
    assert predict.tf_function.experimental_get_tracing_count() == 2


def test_bad_batch_size_is_named(wine):
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        make_predict_fn(wine[0], batch_size=0)


def test_auto_batch_size_follows_the_input_bytes(wine, text):
    import keras

    from components.model.predict import MAX_BATCH, MIN_BATCH, TEXT_BATCH, auto_batch_size

    assert auto_batch_size(wine[0]) == MAX_BATCH  # 13 float32 features: 52 bytes a row
    assert auto_batch_size(text[0]) == TEXT_BATCH
    digits = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(2)])
    assert auto_batch_size(digits) == 4 * 2**20 // (16 * 16 * 4)  # 1,024 bytes: 4,096
    photo = keras.Sequential([keras.Input((224, 224, 3)), keras.layers.GlobalAveragePooling2D()])
    assert auto_batch_size(photo) == MIN_BATCH
    cifar = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D()])
    assert auto_batch_size(cifar) == 4 * 2**20 // (32 * 32 * 3 * 4)  # 341
