"""Rebuild the bundled demo models, their data and training histories (``make samples``).

Everything comes from datasets that ship inside scikit-learn or is generated here, with fixed
seeds, so the build needs no network. Each sample is a folder:
``model.keras``, ``data.csv`` or ``data.npz``, ``history.json`` (Keras ``History.history``)
and ``meta.json`` (title, kind, label column, class and feature names).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn import datasets  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20261123


def _reset() -> None:
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()


def _save(name: str, model: keras.Model, history: keras.callbacks.History, meta: dict) -> Path:
    out = HERE / name
    out.mkdir(exist_ok=True)
    model.save(out / "model.keras")
    hist = {k: [round(float(v), 6) for v in vals] for k, vals in history.history.items()}
    (out / "history.json").write_text(json.dumps(hist, indent=1) + "\n")
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return out


def _fit(model: keras.Model, x, y, loss: str, metrics: list[str], epochs: int):
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=metrics)
    return model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.2, shuffle=True,
                     verbose=0)


def build_wine() -> None:
    """Tabular multi-class: 13 named chemistry features, 3 cultivars; a nested encoder."""
    _reset()
    ds = datasets.load_wine(as_frame=True)
    frame = ds.frame.rename(columns={"target": "label"}).sample(frac=1.0, random_state=SEED)
    x = frame[ds.feature_names].to_numpy("float32")
    norm = keras.layers.Normalization(name="standardize")
    norm.adapt(x)
    encoder = keras.Sequential(
        [keras.Input((13,)), keras.layers.Dense(16, activation="relu"),
         keras.layers.Dense(8, activation="relu")], name="encoder")
    inp = keras.Input((13,), name="features")
    out = keras.layers.Dense(3, activation="softmax", name="cultivar")(encoder(norm(inp)))
    model = keras.Model(inp, out, name="wine_classifier")
    hist = _fit(model, x, frame["label"].to_numpy(), "sparse_categorical_crossentropy",
                ["accuracy"], 60)
    out_dir = _save("wine_classifier", model, hist, {
        "title": "Wine cultivar classifier", "kind": "tabular", "task": "multiclass",
        "description": "13 chemical measurements of Italian wines -> one of 3 cultivars.",
        "label": "label", "class_names": [str(c) for c in ds.target_names],
        "feature_names": list(ds.feature_names), "data": "data.csv"})
    frame.round(4).to_csv(out_dir / "data.csv", index=False)


def build_digits() -> None:
    """Images: sklearn's 8x8 digits upscaled to 16x16 grey uint8, a small CNN."""
    _reset()
    ds = datasets.load_digits()
    rng = np.random.default_rng(SEED)
    idx = rng.permutation(len(ds.images))[:800]
    images = np.kron(ds.images[idx], np.ones((2, 2)))  # 16x16, values 0..16
    x = np.clip(images * 16, 0, 255).astype("uint8")[..., None]
    y = ds.target[idx].astype("int64")
    model = keras.Sequential([
        keras.Input((16, 16, 1), name="image"),
        keras.layers.Rescaling(1 / 255, name="scale"),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv2"),
        keras.layers.MaxPooling2D(name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="digit"),
    ], name="digits_cnn")
    hist = _fit(model, x.astype("float32"), y, "sparse_categorical_crossentropy",
                ["accuracy"], 4)
    out_dir = _save("digits_cnn", model, hist, {
        "title": "Handwritten digits CNN", "kind": "image", "task": "multiclass",
        "description": "16x16 greyscale digits (sklearn's digits, upscaled) -> 0-9.",
        "label": "y", "class_names": [str(d) for d in range(10)], "feature_names": None,
        "data": "data.npz"})
    np.savez_compressed(out_dir / "data.npz", x=x, y=y)


POSITIVE = "great excellent wonderful loved superb delightful charming brilliant fun moving".split()
NEGATIVE = "awful boring terrible hated dull weak clumsy tedious bland painful".split()
NEUTRAL = ("the film movie plot acting story cast ending music was a and it with of "
           "this that really quite very").split()


def _review(rng: np.random.Generator, positive: bool) -> str:
    """A short synthetic review: neutral filler plus 1-3 words of the true sentiment and,
    sometimes, one word of the other, so the model has to weigh evidence."""
    own, other = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
    words = list(rng.choice(NEUTRAL, size=rng.integers(5, 10)))
    words += list(rng.choice(own, size=rng.integers(1, 4)))
    if rng.random() < 0.3:
        words.append(str(rng.choice(other)))
    rng.shuffle(words)
    return " ".join(words)


def build_sentiment() -> None:
    """Text binary: raw strings in, TextVectorization inside the model, one sigmoid out."""
    _reset()
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, 2, size=600)
    texts = [_review(rng, bool(lab)) for lab in labels]
    vec = keras.layers.TextVectorization(max_tokens=200, output_sequence_length=16,
                                         name="tokenize")
    vec.adapt(texts)
    inp = keras.Input((), dtype="string", name="text")
    emb = keras.layers.Embedding(200, 8, name="embed")(vec(inp))
    pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(emb)
    out = keras.layers.Dense(1, activation="sigmoid", name="positive")(pooled)
    model = keras.Model(inp, out, name="sentiment_text")
    hist = _fit(model, np.array(texts, dtype=object), labels.astype("float32"),
                "binary_crossentropy", ["accuracy"], 30)
    out_dir = _save("sentiment_text", model, hist, {
        "title": "Review sentiment (text)", "kind": "text", "task": "binary",
        "description": "Short synthetic movie reviews -> probability the review is positive.",
        "label": "label", "class_names": ["negative", "positive"], "feature_names": ["text"],
        "data": "data.csv"})
    pd.DataFrame({"text": texts, "label": labels}).to_csv(out_dir / "data.csv", index=False)


def build_diabetes() -> None:
    """Tabular regression: 10 baseline measurements -> disease progression after a year."""
    _reset()
    ds = datasets.load_diabetes(as_frame=True, scaled=False)
    frame = ds.frame.sample(frac=1.0, random_state=SEED)
    x = frame[ds.feature_names].to_numpy("float32")
    norm = keras.layers.Normalization(name="standardize")
    norm.adapt(x)
    model = keras.Sequential([
        keras.Input((10,), name="features"), norm,
        keras.layers.Dense(32, activation="relu", name="hidden1"),
        keras.layers.Dense(16, activation="relu", name="hidden2"),
        keras.layers.Dense(1, name="progression"),
    ], name="diabetes_regression")
    hist = _fit(model, x, frame["target"].to_numpy("float32"), "mse", ["mae"], 80)
    out_dir = _save("diabetes_regression", model, hist, {
        "title": "Diabetes progression (regression)", "kind": "tabular", "task": "regression",
        "description": "10 baseline measurements -> disease progression one year later.",
        "label": "target", "class_names": None, "feature_names": list(ds.feature_names),
        "data": "data.csv"})
    frame.round(4).to_csv(out_dir / "data.csv", index=False)


def main() -> None:
    for build in (build_wine, build_digits, build_sentiment, build_diabetes):
        build()
        print(f"built {build.__name__.removeprefix('build_')}")


if __name__ == "__main__":
    main()
