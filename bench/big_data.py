"""Every page on datasets of real size: 100,000 table rows (wine) and 10,000 images (digits).

Builds a 100,000-row CSV from the wine sample's rows (resampled, with a little seeded noise)
and a 10,000-image NPZ from the digits sample's images, stores both in a fresh workspace,
then opens each page in an AppTest session with ``?sample=KEY&data=SHA256``: the first run
(cold: predictions, evaluation, map, caches) and the median of warm reruns. Prints seconds.

    .venv/bin/python bench/big_data.py [--repeats 3] [--pages explain,metrics]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLASSBOX_WORKSPACE", tempfile.mkdtemp(prefix="glassbox-bench-"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PAGES = ("overview", "architecture", "weights", "metrics", "explain", "global_view",
         "what_if", "compare", "quality", "review")


def wine_rows(n: int, seed: int = 0) -> bytes:
    """``n`` rows resampled from the wine sample's table, numeric columns jittered by 1 %."""
    from components.model.samples import get_sample

    table = pd.read_csv(get_sample("wine_classifier").data_path)
    rng = np.random.default_rng(seed)
    big = table.iloc[rng.integers(0, len(table), n)].reset_index(drop=True)
    features = [c for c in big.columns if c != "label"]
    big[features] = big[features] * (1 + 0.01 * rng.standard_normal((n, len(features))))
    return big.round(4).to_csv(index=False).encode()


def digit_images(n: int, seed: int = 0) -> bytes:
    """``n`` images resampled from the digits sample's, as an NPZ (x uint8, y int64)."""
    from components.model.samples import get_sample

    with np.load(get_sample("digits_cnn").data_path, allow_pickle=False) as npz:
        x, y = npz["x"], npz["y"]
    pick = np.random.default_rng(seed).integers(0, len(x), n)
    buf = io.BytesIO()
    np.savez(buf, x=x[pick], y=y[pick])
    return buf.getvalue()


def stored(kind: str, name: str, data: bytes) -> str:
    from components.review.store import Store

    return Store.from_env().put(kind, name, data).sha256


def time_page(sample: str, data_sha: str, page: str, repeats: int) -> tuple[float, float]:
    """(cold seconds, median warm seconds) of one page in a fresh session."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.query_params["sample"] = sample
    at.query_params["data"] = data_sha
    at.run()
    start = time.perf_counter()
    at.switch_page(f"views/{page}.py").run()
    cold = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].value}")
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--kinds", default="table,images")
    args = parser.parse_args()
    pages = args.pages.split(",")
    cases = {"table": ("wine_classifier", f"{args.rows:,} table rows",
                       lambda: stored("dataset", "wine_big.csv", wine_rows(args.rows))),
             "images": ("digits_cnn", f"{args.images:,} images",
                        lambda: stored("dataset", "digits_big.npz", digit_images(args.images)))}
    for kind in args.kinds.split(","):
        sample, title, make = cases[kind]
        sha = make()
        print(f"{title} ({sample}): cold / warm median of {args.repeats}, seconds", flush=True)
        for page in pages:
            cold, warm = time_page(sample, sha, page, args.repeats)
            print(f"  {page:<13} {cold:7.2f}  {warm:6.2f}", flush=True)


if __name__ == "__main__":
    main()
