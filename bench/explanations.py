"""Explanation speed: every method on one sample of each kind, against the plain recipe.

    .venv/bin/python bench/explanations.py [--repeats 5]

For the wine row (tabular), one digits image (16x16) and one review (text) it prints the
median wall time of each method over the repeats, warm (the first call, which traces the
compiled functions, is not counted), and the total of all methods. In the same run it times
the straightforward recipe — lime and KernelSHAP handed ``model.predict``, with the same
sample counts, segments and background size — and prints how many times slower it is than
Glassbox's LIME + SHAP (which call the model through one compiled, batched predict path,
build their perturbations with numpy, and run Kernel SHAP vectorised).
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

from components.data.session import open_dataset  # noqa: E402
from components.explain.local import subject_for  # noqa: E402
from components.explain.methods import REGISTRY, masking  # noqa: E402
from components.explain.methods.lime_explainer import AUTO_SAMPLES  # noqa: E402
from components.explain.methods.text_tokens import masked_texts, tokens_of  # noqa: E402
from components.model.bundle import open_model  # noqa: E402
from components.model.predict import make_predict_fn  # noqa: E402
from components.model.samples import get_sample  # noqa: E402

CASES = {"tabular": ("wine_classifier", 5), "image": ("digits_cnn", 5),
         "text": ("sentiment_text", 5)}
TARGETS_S = {"tabular": 1.0, "image": 3.0, "text": 2.0}



def subject(kind: str):
    key, row = CASES[kind]
    sample = get_sample(key)
    bundle = open_model(sample.model_path.read_bytes(), sample.model_path.name)
    dataset = open_dataset(sample.data_path.read_bytes(), sample.data_path.name, bundle)
    model = bundle.loaded.model
    return subject_for(dataset, row, sample.task, model=model, predict_fn=make_predict_fn(model))


def _segments(image: np.ndarray) -> np.ndarray:
    """The same segments Glassbox's LIME and SHAP use for this image."""
    n = masking.resolve_n_segments("auto", *image.shape[:2])
    return masking.segment_image(image, n)


def naive_predict(model):
    """The recipe most tutorials give: ``model.predict`` (batch size 32, no progress bar)."""
    return lambda x: model.predict(np.asarray(x), verbose=0)


def naive_lime(subj, target: int) -> None:
    import lime.lime_image
    import lime.lime_tabular
    import lime.lime_text

    predict, n = naive_predict(subj.model), AUTO_SAMPLES[subj.kind]
    if subj.kind == "tabular":
        explainer = lime.lime_tabular.LimeTabularExplainer(
            subj.background, discretize_continuous=False, random_state=0)
        explainer.explain_instance(subj.sample, predict, labels=(target,), num_samples=n)
    elif subj.kind == "image":
        image = subj.sample
        segments = _segments(image)
        lime.lime_image.LimeImageExplainer(random_state=0).explain_instance(
            image, predict, labels=(target,), hide_color=0, num_samples=n,
            segmentation_fn=lambda _: segments)
    else:
        texts = lambda t: predict(np.array(t, dtype=object))  # noqa: E731
        lime.lime_text.LimeTextExplainer(bow=False, random_state=0).explain_instance(
            str(subj.sample), texts, labels=(target,), num_samples=n)


def naive_kernel_shap(subj, target: int) -> None:
    import shap

    predict = naive_predict(subj.model)
    if subj.kind == "tabular":
        background = shap.kmeans(subj.background, 10)
        shap.KernelExplainer(predict, background).shap_values(subj.x, silent=True)
        return
    if subj.kind == "image":
        image = subj.sample
        segments = _segments(image)
        n = int(segments.max()) + 1

        def f(masks):
            return predict(masking.masked_images(image, segments, masks,
                                                 masking.fill_image(image, "zero")))
    else:
        tokens = tokens_of(subj.model, str(subj.sample))
        n = len(tokens)

        def f(masks):
            return predict(masked_texts(tokens, masks))
    shap.KernelExplainer(f, np.zeros((1, n))).shap_values(np.ones((1, n)),
                                                          nsamples=2 * n + 2048, silent=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    print(f"median of {repeats} warm runs, seconds")
    for kind in CASES:
        report(kind, repeats)


def report(kind: str, repeats: int) -> None:
    subj = subject(kind)
    target = int(np.argmax(subj.predict_fn(subj.x)[0]))
    times = {name: median_seconds(lambda e=e: e.explain(subj, target, seed=0), repeats)
             for name, e in REGISTRY.items() if e.unavailable(subj) is None}
    total = sum(times.values())
    ours = times["lime"] + times["shap"]
    naive = median_seconds(lambda: (naive_lime(subj, target), naive_kernel_shap(subj, target)),
                           max(1, repeats // 2))
    line = "  ".join(f"{name} {t:.3f}" for name, t in times.items())
    print(f"{kind:8s} {CASES[kind][0]}: {line}")
    print(f"{'':8s} all methods {total:.3f} s (target <= {TARGETS_S[kind]:.0f} s) · "
          f"LIME+SHAP {ours:.3f} s vs model.predict recipe {naive:.3f} s: "
          f"{naive / ours:.1f}x faster")

if __name__ == "__main__":
    main()
