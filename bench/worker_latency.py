"""What isolating uploaded models in a worker process costs, in latency.

    .venv/bin/python bench/worker_latency.py [--repeats 5]

Prints medians of: opening a model in a cold worker (TensorFlow imports first) and in the
warm spare; one small call's round trip; and every explanation method on one sample of each
kind, in-process against through the worker (the click-to-explanation path of the app).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.data.session import open_dataset  # noqa: E402
from components.explain.local import explain_subject, subject_facts, subject_for  # noqa: E402
from components.model import worker  # noqa: E402
from components.model.bundle import open_model  # noqa: E402
from components.model.predict import scores_of  # noqa: E402
from components.model.samples import get_sample  # noqa: E402

KINDS = {"tabular": "wine_classifier", "image": "digits_cnn", "text": "sentiment_text"}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(fn, repeats: int) -> float:
    fn()  # warm
    return statistics.median(timed(fn) for _ in range(repeats))


def open_cold_and_warm(data: bytes) -> tuple[float, float]:
    os.environ["GLASSBOX_SPARE_WORKER"] = "0"
    cold = timed(lambda: open_model(data, "m.keras", isolate=True).runner.close())
    os.environ["GLASSBOX_SPARE_WORKER"] = "1"
    worker.prewarm()
    time.sleep(12)  # let the spare finish importing TensorFlow
    bundle = None

    def open_warm() -> None:
        nonlocal bundle
        bundle = open_model(data, "m.keras", isolate=True)
    warm = timed(open_warm)
    bundle.runner.close()
    return cold, warm


def all_methods(run, subject) -> None:
    facts = run(subject_facts, subject)
    for name, reason in facts.status.items():
        if reason is None:
            run(explain_subject, subject, name, facts.default_target, 0, {})


def report(kind: str, key: str, repeats: int) -> None:
    sample = get_sample(key)
    data = sample.model_path.read_bytes()
    local = open_model(data, "m.keras")
    remote = open_model(data, "m.keras", isolate=True)
    dataset = open_dataset(sample.data_path.read_bytes(), sample.data_path.name, local)
    subject = subject_for(dataset, 5, sample.task)
    if kind == "tabular":
        one = dataset.x[:1]
        trip = median(lambda: remote.runner.run(scores_of, one), repeats * 10)
        print(f"one call's round trip (1 row): {1000 * trip:.1f} ms")
    inside = median(lambda: all_methods(local.runner.run, subject), repeats)
    through = median(lambda: all_methods(remote.runner.run, subject), repeats)
    print(f"{kind:8s} all methods: in-process {inside:.3f} s, through the worker "
          f"{through:.3f} s (+{1000 * (through - inside):.0f} ms)")
    remote.runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    wine = get_sample("wine_classifier").model_path.read_bytes()
    cold, warm = open_cold_and_warm(wine)
    print(f"open an uploaded model: cold worker {cold:.2f} s, warm spare {warm:.2f} s")
    for kind, key in KINDS.items():
        report(kind, key, repeats)
    worker.shutdown()


if __name__ == "__main__":
    main()
