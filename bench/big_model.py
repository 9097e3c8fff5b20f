"""A model file over the old 256 MiB cap, end to end: scanned, loaded in a worker, predicting.

Builds a Dense model whose kernel alone holds ``--mib`` MiB of float32 (default 300: above
the old 256 MiB upload cap, ResNet152-sized), saves it as `.keras` into a fresh model folder
(``GLASSBOX_MODELS_DIR``), then times what the app does with a folder model: read it
(`components.model.models_dir.read_model`), the bounded static scan, the worker's load and
summary (`open_model(..., isolate=True)`), and one prediction through the worker. Also shows
that a small file declaring the same size is still refused as a bomb.

    .venv/bin/python bench/big_model.py [--mib 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(path: Path, mib: int) -> None:
    """Input (n,) -> Dense(2048) -> Dense(3, softmax): n chosen so the kernel is ``mib``."""
    import keras
    import numpy as np

    n = mib * 2**20 // (4 * 2048)
    model = keras.Sequential([keras.Input((n,)), keras.layers.Dense(2048, name="wide"),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    rng = np.random.default_rng(0)
    wide = model.get_layer("wide")
    wide.set_weights([rng.standard_normal((n, 2048), dtype="float32") * 0.01,
                      np.zeros(2048, "float32")])
    model.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="glassbox-models-"))
    os.environ["GLASSBOX_MODELS_DIR"] = str(folder)
    path = folder / "wide.keras"
    start = time.perf_counter()
    build(path, args.mib)
    print(f"built {path.name}: {path.stat().st_size / 2**20:,.0f} MiB in "
          f"{time.perf_counter() - start:.1f} s", flush=True)

    import numpy as np

    from components.model import bounded, worker
    from components.model.bundle import open_model
    from components.model.load import check_model_bytes
    from components.model.models_dir import list_models, read_model
    from components.model.predict import scores_of

    print(f"listed: {[m.name for m in list_models()]}")
    start = time.perf_counter()
    data, _ = read_model("wide.keras")
    print(f"read from the folder: {time.perf_counter() - start:.1f} s")
    limits = bounded.Limits.for_input(len(data))
    print(f"parse bound: {limits.seconds:.0f} s, {limits.memory_mb:,} MiB; worker memory cap "
          f"{worker.Limits.for_model(len(data)).memory_mb:,} MiB")
    start = time.perf_counter()
    bounded.run_bounded(check_model_bytes, data, "wide.keras", what="the model file")
    print(f"bounded static scan: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    bundle = open_model(data, "wide.keras", isolate=True)
    print(f"scan + worker load + summary: {time.perf_counter() - start:.1f} s "
          f"({bundle.summary.total_params:,} parameters)")
    n = bundle.summary.inputs[0][1]
    start = time.perf_counter()
    out = bundle.runner.run(scores_of, np.zeros((4, n), "float32"))
    print(f"predict 4 rows in the worker: {time.perf_counter() - start:.2f} s -> {out.shape}")
    bundle.runner.close()
    bounded.shutdown()


if __name__ == "__main__":
    main()
