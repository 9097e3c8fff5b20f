"""Image CNNs of real size: every method on a 224x224x3 MobileNetV2, cold and warm.

    .venv/bin/python bench/image_models.py [--repeats 3] [--cold-repeats 1]

Builds ``keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3),
classes=5)`` (seeded), saves it as .keras with a few 224x224 images as NPZ, and prints
medians:

* cold, per method: a fresh process loads the model, predicts the sample once (as the page
  and the CLI do before explaining), then times that one method's first call — tracing and
  the cost measurement included;
* cold, all seven methods in one fresh process, the same way (the issue's "≤ 20 s");
* warm, per method and all seven: in this process, after one call of each.

It also prints what the "auto" counts came to (IG steps, SmoothGrad samples, LIME/SHAP
samples and segments) and the machine's load average: two busy cores make everything slower,
so read the figures with the load beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

METHODS = ("saliency", "gradxinput", "gradcam", "smoothgrad", "ig", "lime", "shap")
SHOWN = ("steps", "samples", "num_samples", "nsamples", "n_segments")


def build(folder: Path) -> tuple[Path, Path]:
    """The MobileNetV2 model and 4 blocky 224x224 images (SLIC finds real segments)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=5)
    model_path, data_path = folder / "mobilenetv2.keras", folder / "images.npz"
    model.save(model_path)
    low = np.random.default_rng(0).random((4, 14, 14, 3)).astype(np.float32)
    x = np.repeat(np.repeat(low, 16, axis=1), 16, axis=2) * 2 - 1
    np.savez(data_path, x=x, y=np.arange(4) % 5)
    return model_path, data_path


def subject(model_path: Path, data_path: Path):
    """The bound subject (row 0) and the model's load time, loaded as the CLI loads a file
    it was given (in this process: the worker adds its own start-up, not measured here)."""
    from components.data.session import open_dataset
    from components.explain.local import bound, subject_for
    from components.model.bundle import open_model

    start = time.perf_counter()
    bundle = open_model(model_path.read_bytes(), model_path.name, isolate=False)
    dataset = open_dataset(data_path.read_bytes(), data_path.name, bundle)
    loaded = time.perf_counter() - start
    return bound(bundle.loaded.model, subject_for(dataset, 0, "multiclass")), loaded


def child(what: str, model_path: Path, data_path: Path) -> None:
    """One cold run in this fresh process: JSON with the seconds and the counts chosen."""
    from components.explain.local import explain_one, explain_sample, resolve_target

    sub, loaded = subject(model_path, data_path)
    start = time.perf_counter()
    _, target = resolve_target(sub, None)
    first_predict = time.perf_counter() - start
    start = time.perf_counter()
    if what == "all":
        explanation = explain_sample(sub, list(METHODS), target, seed=0)
        params = {n: a.params for n, a in explanation.attributions.items()}
        failed = explanation.skipped
    else:
        params, failed = {what: explain_one(sub, what, target, 0).params}, {}
    seconds = time.perf_counter() - start
    print(json.dumps({"load": loaded, "first_predict": first_predict, "seconds": seconds,
                      "params": params, "failed": failed}, default=str))


def cold(what: str, paths: tuple[Path, Path], repeats: int) -> tuple[float, float, dict]:
    """Median seconds of ``what`` in fresh processes (with and without the first predict)."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, __file__, "--child", what, *map(str, paths)],
                             capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if runs[-1]["failed"]:
        print(f"  {what}: failed {runs[-1]['failed']}")
    seconds = statistics.median(r["seconds"] for r in runs)
    with_predict = statistics.median(r["seconds"] + r["first_predict"] for r in runs)
    return seconds, with_predict, runs[-1]


def warm(paths: tuple[Path, Path], repeats: int) -> dict[str, float]:
    from timing import median_seconds

    from components.explain.local import explain_one, explain_sample, resolve_target

    sub, _ = subject(*paths)
    _, target = resolve_target(sub, None)
    out = {m: median_seconds(lambda m=m: explain_one(sub, m, target, 0), repeats)
           for m in METHODS}
    out["all"] = median_seconds(lambda: explain_sample(sub, list(METHODS), target, seed=0),
                                repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-repeats", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "MODEL", "DATA"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        paths = build(Path(folder))
        print("MobileNetV2 224x224x3, 5 classes; seconds (median); cold = fresh process, "
              "after load and one predict (the predict's trace in brackets with it)")
        for method in METHODS:
            seconds, with_predict, run = cold(method, paths, args.cold_repeats)
            counts = {k: v for k, v in run["params"][method].items() if k in SHOWN}
            print(f"  cold {method:<11} {seconds:6.2f}  [{with_predict:6.2f}]  {counts}")
        seconds, with_predict, run = cold("all", paths, args.cold_repeats)
        print(f"  cold all seven  {seconds:6.2f}  [{with_predict:6.2f}]  (model load "
              f"{run['load']:.2f} s, not included)")
        for method, seconds in warm(paths, args.repeats).items():
            print(f"  warm {method:<11} {seconds:6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
