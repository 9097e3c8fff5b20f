"""The models users bring: each method's cold and warm time, and all of them, per model kind.

    .venv/bin/python bench/real_models.py [--repeats 3] [--cases mobilenetv2,bilstm,...]

Cases (random weights, built offline with fixed seeds):
  mobilenetv2   keras.applications.MobileNetV2(weights=None, 224x224x3, 5 classes), 155 layers
  bilstm        Input((64,), int32) -> Embedding(2000, 64, mask_zero) -> BiLSTM(64) -> 3 classes
  transformer   Input((64,), int32) -> Embedding -> 2 encoder blocks (MultiHeadAttention,
                LayerNormalization, feed-forward) -> 2 classes
  kerashub_bert a 2-layer KerasHub BertTextClassifier with its preprocessor (if keras_hub is
                installed)

Each case runs in a fresh process: the model is saved, opened through Glassbox's own door
(`open_model`, scan included, in this process so that no IPC is timed), and row 0 of a
64-row dataset is explained. Printed per method: **cold** (its first call in the process,
tracing included; methods run in registry order, so a later gradient method reuses the
compiled gradient function of an earlier one), **warm** (median of ``--repeats`` calls), the
model rows it evaluated, and the ratio of warm time to the plain recipe: ``model.predict`` on
that many rows (the cost of the same model calls made the straightforward way). "all cold"
is every default method run once in another fresh process; "all warm" the median after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

CASES = ("mobilenetv2", "bilstm", "transformer", "kerashub_bert")
L, V = 64, 2000


# ------------------------------------------------------------------------------ the models


def build(case: str, folder: Path) -> tuple[Path, Path, dict]:
    """The model file, the data file and the `open_dataset` keywords of one case."""
    import keras
    import pandas as pd

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    extra: dict = {}
    if case == "mobilenetv2":
        model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3),
                                               classes=5)
        x = rng.random((64, 224, 224, 3), dtype=np.float32) * 2 - 1
        data = folder / "images.npz"
        np.savez(data, x=x, y=rng.integers(0, 5, 64))
    elif case in ("bilstm", "transformer"):
        model = bilstm() if case == "bilstm" else transformer()
        ids = np.zeros((64, L), dtype=np.int64)
        for r in range(64):
            n = int(rng.integers(16, L))
            ids[r, :n] = rng.integers(2, V, n)
        table = pd.DataFrame(ids, columns=[f"tok_{j}" for j in range(L)])
        table["label"] = rng.integers(0, 2, 64)
        data = folder / "ids.csv"
        table.to_csv(data, index=False)
    else:
        model, words = kerashub_bert()
        texts = [" ".join(rng.choice(words, int(rng.integers(6, 14)))) for _ in range(64)]
        data = folder / "texts.csv"
        pd.DataFrame({"text": texts, "label": rng.integers(0, 2, 64)}).to_csv(data,
                                                                               index=False)
    path = folder / f"{case}.keras"
    model.save(path)
    return path, data, extra


def bilstm():
    import keras

    i = keras.Input((L,), dtype="int32")
    e = keras.layers.Embedding(V, 64, mask_zero=True)(i)
    h = keras.layers.Bidirectional(keras.layers.LSTM(64))(e)
    return keras.Model(i, keras.layers.Dense(3, activation="softmax")(h), name="bilstm")


def transformer():
    import keras

    i = keras.Input((L,), dtype="int32")
    x = keras.layers.Embedding(V, 64)(i)
    for _ in range(2):
        a = keras.layers.MultiHeadAttention(num_heads=4, key_dim=16)(x, x)
        x = keras.layers.LayerNormalization()(keras.layers.Add()([x, a]))
        f = keras.layers.Dense(128, activation="relu")(x)
        x = keras.layers.LayerNormalization()(keras.layers.Add()([x, keras.layers.Dense(64)(f)]))
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(i, keras.layers.Dense(2, activation="softmax")(x), name="transformer")


def kerashub_bert():
    import keras_hub

    words = [f"word{i}" for i in range(200)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
    pre = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=32)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(vocab), num_layers=2,
                                             num_heads=2, hidden_dim=32, intermediate_dim=64,
                                             max_sequence_length=32)
    return keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=pre), words


# ------------------------------------------------------------------------------ one case


def run_case(case: str, repeats: int, all_only: bool) -> dict:
    """Time one case in this (fresh) process; returns the figures as a dict."""
    from timing import median_seconds

    from components.data.session import open_dataset
    from components.explain.local import bound, explain_one, explain_sample, subject_for
    from components.explain.methods import REGISTRY, gradients
    from components.explain.methods.targets import default_target
    from components.model.bundle import open_model

    folder = Path(tempfile.mkdtemp(prefix=f"glassbox-bench-{case}-"))
    model_path, data_path, extra = build(case, folder)
    bundle = open_model(model_path.read_bytes(), model_path.name)
    dataset = open_dataset(data_path.read_bytes(), data_path.name, bundle, **extra)
    errors = [c.message for c in dataset.checks if c.level == "error"]
    if errors:
        raise SystemExit(f"{case}: {errors[0]}")
    model = bundle.loaded.model
    subject = bound(model, subject_for(dataset, 0, bundle.summary.task))
    methods = [m for m in REGISTRY if REGISTRY[m].unavailable(subject) is None]
    target = default_target(subject.predict_fn(subject.x)[0], bundle.summary.task)
    if all_only:
        start = time.perf_counter()
        explanation = explain_sample(subject, methods, target, seed=0)
        cold = time.perf_counter() - start
        warm = median_seconds(lambda: explain_sample(subject, methods, target, seed=0), repeats)
        return {"all_cold": cold, "all_warm": warm, "failed": explanation.skipped}

    rows = {"n": 0}
    predict = subject.predict_fn

    def counting(x):
        rows["n"] += len(x)
        return predict(x)

    subject = subject.__class__(**{**subject.__dict__, "predict_fn": counting})
    original = gradients.GradientSpace.gradients

    def counted(self, batch, t):
        rows["n"] += len(batch)
        return original(self, batch, t)

    gradients.GradientSpace.gradients = counted
    from components.explain.methods import keras_hub_gradients as hub

    hub_original = hub.WordPieceSpace.gradients

    def hub_counted(self, batch, t):
        rows["n"] += len(batch)
        return hub_original(self, batch, t)

    hub.WordPieceSpace.gradients = hub_counted
    model_input = subject.codec.encode(subject.x) if subject.codec is not None else subject.x
    out = {"layers": len(model.layers), "params": int(model.count_params()), "methods": {}}
    for name in methods:
        start = time.perf_counter()
        explain_one(subject, name, target, 0)
        cold = time.perf_counter() - start
        rows["n"] = 0
        explain_one(subject, name, target, 0)
        n = max(1, rows["n"])
        warm = median_seconds(lambda name=name: explain_one(subject, name, target, 0), repeats)
        batch = np.repeat(np.asarray(model_input), n, axis=0)
        model.predict(batch[:2], verbose=0)  # its own tracing, not counted
        recipe = median_seconds(lambda batch=batch: model.predict(batch, verbose=0), 1)
        out["methods"][name] = {"cold": cold, "warm": warm, "rows": n,
                                "ratio": warm / recipe, "recipe": recipe}
    gradients.GradientSpace.gradients = original
    hub.WordPieceSpace.gradients = hub_original
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--all-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.repeats, args.all_only)))
        return
    for case in args.cases.split(","):
        if case == "kerashub_bert":
            try:
                import keras_hub  # noqa: F401
            except ImportError:
                print(f"\n{case}: skipped (keras_hub is not installed)")
                continue
        figures = {}
        for all_only in (False, True):
            cmd = [sys.executable, __file__, "--one", case, "--repeats", str(args.repeats)]
            proc = subprocess.run(cmd + (["--all-only"] if all_only else []), cwd=ROOT,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"\n{case}: failed\n{proc.stderr[-1500:]}")
                break
            figures.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        else:
            report(case, figures)


def report(case: str, f: dict) -> None:
    print(f"\n{case}: {f['layers']} layers, {f['params']:,} parameters")
    print(f"  {'method':<12}{'cold s':>9}{'warm s':>9}{'rows':>7}{'predict s':>11}{'x recipe':>10}")
    for name, m in f["methods"].items():
        print(f"  {name:<12}{m['cold']:>9.2f}{m['warm']:>9.2f}{m['rows']:>7}"
              f"{m['recipe']:>11.2f}{m['ratio']:>10.2f}")
    print(f"  all methods: cold {f['all_cold']:.2f} s (fresh process, tracing included), "
          f"warm {f['all_warm']:.2f} s" + (f"; failed {f['failed']}" if any(
              v.startswith("failed") for v in f["failed"].values()) else ""))


if __name__ == "__main__":
    main()
