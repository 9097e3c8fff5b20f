"""Do the methods agree on the bundled samples? Median Spearman of each compared pair.

    .venv/bin/python bench/agreement.py [--rows 20] [--samples wine_classifier,...]

For each sample it explains its first ``--rows`` rows (the predicted class, seed 0, every
method that applies, default settings, the fixed counts the report uses so the figures do
not depend on the machine's speed) and prints, per pair of methods of the same output kind
(contribution with contribution, sensitivity with sensitivity: the pairs the Explain page
ranks), the median Spearman rank correlation over the rows. For tables it also prints LIME
as it was before it explained the row (perturbations around the data's mean, slopes
reported) against SHAP, and Integrated Gradients from the data's mean (the reference LIME
and SHAP use; its default baseline is zeros) against SHAP, for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
from itertools import combinations
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from components.data.session import open_dataset  # noqa: E402
from components.explain.agreement import (  # noqa: E402
    comparable_vectors,
    method_label,
    spearman_rho,
)
from components.explain.local import explain_sample, subject_for  # noqa: E402
from components.explain.methods import REGISTRY  # noqa: E402
from components.explain.methods.budget import fixed_counts  # noqa: E402
from components.model.bundle import open_model  # noqa: E402
from components.model.predict import make_predict_fn  # noqa: E402
from components.model.samples import get_sample  # noqa: E402

SAMPLES = ("wine_classifier", "diabetes_regression", "digits_cnn", "sentiment_text")
OLD_LIME = {"sample_around_instance": False, "values": "slope"}


def row_rhos(subject, seed: int = 0) -> dict[str, float]:
    """Spearman of every same-kind pair on one row, plus "old LIME|SHAP" for tables."""
    explanation = explain_sample(subject, list(REGISTRY), seed=seed)
    done = explanation.attributions
    rhos = {f"{a}|{b}": explanation.agreement.spearman.at[a, b]
            for a, b in combinations(list(explanation.agreement.spearman.index), 2)
            if explanation.agreement.compared(a, b)}
    if subject.kind == "tabular" and "shap" in done:
        old = REGISTRY["lime"].explain(subject, explanation.target, seed=seed, **OLD_LIME)
        vectors = comparable_vectors({"old": old, "shap": done["shap"]})
        rhos["old LIME (mean, slopes)|shap"] = spearman_rho(vectors["old"], vectors["shap"])
    if subject.kind == "tabular" and "shap" in done and "ig" in done:
        # IG from the data's mean, the reference LIME and SHAP use, instead of zeros
        ig = REGISTRY["ig"].explain(subject, explanation.target, seed=seed, baseline="mean")
        rhos["IG (baseline mean)|shap"] = spearman_rho(ig.values, done["shap"].values)
    return rhos


def bench(key: str, rows: int) -> dict[str, list[float]]:
    sample = get_sample(key)
    bundle = open_model(sample.model_path.read_bytes(), sample.model_path.name)
    dataset = open_dataset(sample.data_path.read_bytes(), sample.data_path.name, bundle)
    model = bundle.loaded.model
    predict_fn = make_predict_fn(model)
    out: dict[str, list[float]] = {}
    for row in range(min(rows, dataset.n_rows)):
        subject = subject_for(dataset, row, sample.task, model=model, predict_fn=predict_fn)
        for pair, rho in row_rhos(subject).items():
            out.setdefault(pair, []).append(rho)
    return out


def _label(pair: str) -> str:
    return " / ".join(method_label(m) for m in pair.split("|"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--samples", default=",".join(SAMPLES))
    args = parser.parse_args()
    with fixed_counts():
        for key in args.samples.split(","):
            print(f"{key} ({args.rows} rows; median Spearman, NaN rows left out)")
            for pair, rhos in bench(key, args.rows).items():
                defined = [r for r in rhos if np.isfinite(r)]
                median = f"{np.median(defined):+.2f}" if defined else "n/a"
                print(f"  {_label(pair):45s} {median}   ({len(defined)} of {len(rhos)} rows)")


if __name__ == "__main__":
    main()
