"""Global page speed: mean |SHAP| and permutation importance on 1,000 tabular rows.

    .venv/bin/python bench/global_importance.py [--repeats 3] [--rows 1000]

The wine sample's 178 rows are resampled with replacement (seed 0) to ``--rows`` rows and
explained as the Global page does it, in-process (`LocalRunner`, as for a bundled sample):
SHAP for class_1 in chunks of 50 rows (one ``runner.run`` each), then scikit-learn's
permutation importance (5 shuffles, accuracy against the labels), then both together. It
prints the median wall time of each over the repeats, warm (a first call that traces the
compiled functions is not counted), against the 10 s target, for the page's default SHAP
budget (2 x features + 512 coalitions per row) and the Explain page's (2 x features +
2,048). Last, how far the default budget's mean |SHAP| is from the exact Shapley values
(all 8,190 coalitions of 13 features) on the 178 original rows.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from timing import median_seconds  # noqa: E402

from components.data.predictions import predictions  # noqa: E402
from components.data.session import open_dataset  # noqa: E402
from components.explain import global_importance as ge  # noqa: E402
from components.model.bundle import open_model  # noqa: E402
from components.model.samples import get_sample  # noqa: E402
from components.model.worker import LocalRunner  # noqa: E402

TARGET_S = 10.0
CHUNK_ROWS = 50
CLASS = 1



def wine(rows: int):
    """(runner, rows (rows, 13), their labels, the 178 rows, the SHAP background)."""
    sample = get_sample("wine_classifier")
    bundle = open_model(sample.model_path.read_bytes(), sample.model_path.name)
    dataset = open_dataset(sample.data_path.read_bytes(), sample.data_path.name, bundle)
    scores = ge.global_predict_fn(bundle.loaded.model)(dataset.x)
    truth = predictions(scores, dataset.labels, sample.task, sample.class_names).truth
    picks = np.random.default_rng(0).integers(0, len(dataset.x), rows)
    return (LocalRunner(bundle.loaded.model), dataset.x[picks], truth[picks], dataset.x,
            ge.background_of(dataset.x))


def shap_all(runner, x, background, extra: int) -> np.ndarray:
    """The page's SHAP loop: one runner call per chunk of rows; mean |SHAP| (13,)."""
    parts = [runner.run(ge.shap_rows, x[a:b], background, CLASS, None, 0, extra)["values"]
             for a, b in ge.chunks(len(x), CHUNK_ROWS)]
    return ge.mean_abs(np.concatenate(parts))


def permutation(runner, x, y) -> dict:
    return runner.run(ge.permutation_rows, x, y, "multiclass", 5, 0)


def line(label: str, seconds: float) -> str:
    verdict = "ok" if seconds <= TARGET_S else "OVER"
    return f"  {label:<56} {seconds:6.2f} s   (target {TARGET_S:.0f} s: {verdict})"


def accuracy(runner, rows: np.ndarray, background: np.ndarray) -> str:
    exact = runner.run(ge.shap_rows, rows, background, CLASS, 10**6, 0)
    budget = runner.run(ge.shap_rows, rows, background, CLASS, None, 0)
    top = ge.mean_abs(exact["values"])
    gap = np.abs(ge.mean_abs(budget["values"]) - top).max() / top.max()
    per_row = np.abs(budget["values"] - exact["values"]).sum(axis=1) / \
        np.abs(exact["values"]).sum(axis=1)
    return (f"  default budget vs exact Shapley values ({len(rows)} rows, "
            f"{int(exact['coalitions'][0]):,} coalitions): mean |SHAP| within "
            f"{100 * gap:.1f} % of the largest; per row, median L1 error "
            f"{100 * np.median(per_row):.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    runner, x, y, original, background = wine(args.rows)
    print(f"wine_classifier, {len(x):,} rows (178 resampled, seed 0), class_1, "
          f"median of {args.repeats} warm runs, {os.cpu_count()} CPUs")
    for extra, name in ((ge.GLOBAL_EXTRA_COALITIONS, "page default"),
                        (2048, "as the Explain page")):
        coalitions = 2 * x.shape[1] + extra
        shap_s = median_seconds(lambda e=extra: shap_all(runner, x, background, e),
                                args.repeats)
        print(line(f"mean |SHAP|, {coalitions:,} coalitions/row ({name})", shap_s))
    perm_s = median_seconds(lambda: permutation(runner, x, y), args.repeats)
    print(line("permutation importance (5 shuffles)", perm_s))
    both_s = median_seconds(lambda: (shap_all(runner, x, background,
                                              ge.GLOBAL_EXTRA_COALITIONS),
                                     permutation(runner, x, y)), args.repeats)
    print(line("both (page default)", both_s))
    print(accuracy(runner, original, background))


if __name__ == "__main__":
    main()
