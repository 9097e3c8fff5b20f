"""Uploaded models in worker processes: memory caps, timeouts, restarts, untrusted replies."""

from __future__ import annotations

import dataclasses
import io
import math
import os
import pickle
import subprocess
import time

import numpy as np
import pytest

import hostile
from apptest_support import new_app
from components.data.session import open_dataset
from components.errors import GlassboxError
from components.explain.local import explain_all, explain_subject, subject_facts, subject_for
from components.explain.methods import REGISTRY
from components.model import safe_pickle, worker
from components.model.bundle import open_model
from components.model.predict import scores_of

pytestmark = pytest.mark.slow  # a minute or more: see pyproject's markers

PLAIN_PARAMS = 4 * 3 + 3


@pytest.fixture(scope="module")
def plain_bytes(tmp_path_factory) -> bytes:
    return hostile.save(hostile.plain_model(), tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def memory_hog(plain_bytes) -> bytes:
    """Passes the static scan, but building it allocates a 40,000 x 40,000 kernel (6.4 GB)."""
    def widen(config: dict) -> None:
        head = hostile.layer(config, hostile.PLAIN_HEAD)
        head["config"]["units"] = 40_000
        head["build_config"] = {"input_shape": [None, 40_000]}
        first = config["config"]["layers"][0]["config"]
        first["batch_shape"] = [None, 40_000]
    return hostile.rewrite_zip(plain_bytes, widen)


def slow_model_bytes(tmp_path) -> bytes:
    import keras

    model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Conv2D(64, 3),
                              keras.layers.Conv2D(64, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")], name="slow")
    return hostile.save(model, tmp_path)


def test_an_uploaded_model_never_enters_this_process(plain_bytes):
    bundle = open_model(plain_bytes, "plain.keras", isolate=True)
    try:
        assert bundle.loaded.model is None
        assert bundle.summary.total_params == PLAIN_PARAMS
        scores = bundle.runner.run(scores_of, np.ones((5, 4), "float32"))
        assert scores.shape == (5, 3)
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    finally:
        bundle.runner.close()


def test_a_refused_file_never_starts_a_worker(plain_bytes):
    before = worker.worker_pids()
    with pytest.raises(GlassboxError, match="Lambda"):
        open_model(hostile.rewrite_zip(plain_bytes, hostile.replace_head(
            {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
             "config": {"name": "head", "function": "x"}})), "x.keras", isolate=True)
    assert worker.worker_pids() == before


def test_a_model_that_exhausts_memory_is_a_clear_error(memory_hog, monkeypatch):
    monkeypatch.setenv("GLASSBOX_WORKER_MEMORY_MB", "1024")
    start = time.monotonic()
    with pytest.raises(GlassboxError) as caught:
        open_model(memory_hog, "hog.keras", isolate=True)
    assert time.monotonic() - start < 30
    message = str(caught.value)
    assert "\n" not in message
    assert any(word in message for word in ("memory", "died")), message


def hung_model_bytes(tmp_path) -> bytes:
    """One batch of this model (21 images of 128x128: `auto_batch_size`) is ~560 GFLOP:
    seconds even on a fast machine (3.8 s here, in-process; 5 conv layers of 64, ~100
    GFLOP, took 0.9 s), and no heartbeat until it is done."""
    import keras

    convs = [keras.layers.Conv2D(96, 3, padding="same") for _ in range(10)]
    model = keras.Sequential([keras.Input((128, 128, 3)), *convs,
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")], name="hung")
    return hostile.save(model, tmp_path)


def test_a_batch_that_takes_too_long_is_stopped_and_the_next_call_restarts(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("GLASSBOX_WORKER_TIMEOUT_S", "1.0")
    bundle = open_model(hung_model_bytes(tmp_path), "hung.keras", isolate=True)
    try:
        pid = bundle.runner.pid
        images = np.random.default_rng(0).random((21, 128, 128, 3), dtype=np.float32)
        start = time.monotonic()
        with pytest.raises(GlassboxError, match=r"took longer than 1 s, so it was stopped"):
            bundle.runner.run(scores_of, images)
        assert time.monotonic() - start < 10
        assert not bundle.runner.alive
        # a fresh worker: its first call traces the model, which on a loaded machine alone
        # can pass 1 s, so the restart is checked under a limit that tracing cannot reach
        bundle.runner.limits = dataclasses.replace(bundle.runner.limits, timeout_s=120.0)
        scores = bundle.runner.run(scores_of, images[:1])
        assert scores.shape == (1, 2) and bundle.runner.pid != pid
    finally:
        bundle.runner.close()


def test_a_slow_call_that_keeps_finishing_batches_is_not_stopped(tmp_path, monkeypatch):
    """Each batch beats (`components.model.heartbeat`): the limit counts from the last one,
    so a call far longer than the limit goes on as long as its batches do not stall."""
    import keras

    model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Conv2D(32, 3),
                              keras.layers.Conv2D(32, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")], name="steady")
    bundle = open_model(hostile.save(model, tmp_path), "steady.keras", isolate=True)
    try:
        images = np.random.default_rng(0).random((85, 64, 64, 3), dtype=np.float32)
        bundle.runner.run(scores_of, images)  # traces
        batch_s = min(_timed(bundle, images) for _ in range(3))  # 85 rows: one batch
        # A limit 8x one batch (a loaded CI machine stalls a batch now and then), and a call
        # of enough batches to last 2.5x the limit, whatever the machine
        limit = max(1.0, 8 * batch_s)
        bundle.runner.limits = dataclasses.replace(bundle.runner.limits, timeout_s=limit)
        many = np.concatenate([images] * min(200, math.ceil(2.5 * limit / batch_s)))
        start = time.monotonic()
        scores = bundle.runner.run(scores_of, many)
        took = time.monotonic() - start
        assert scores.shape == (len(many), 2)
        assert took > limit, f"the call took {took:.1f} s, within the {limit:.1f} s limit"
    finally:
        bundle.runner.close()


def _timed(bundle, images: np.ndarray) -> float:
    """Seconds one call of the worker takes on ``images``."""
    start = time.monotonic()
    bundle.runner.run(scores_of, images)
    return time.monotonic() - start


def test_no_call_runs_past_the_overall_cap_even_when_it_beats(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_WORKER_TIMEOUT_S", "30")
    monkeypatch.setenv("GLASSBOX_WORKER_MAX_CALL_S", "2")
    bundle = open_model(slow_model_bytes(tmp_path), "slow.keras", isolate=True)
    try:
        images = np.random.default_rng(0).random((85 * 60, 64, 64, 3), dtype=np.float32)
        start = time.monotonic()
        with pytest.raises(GlassboxError, match=r"ran longer than 2 s in all"):
            bundle.runner.run(scores_of, images)
        assert time.monotonic() - start < 10 and not bundle.runner.alive
    finally:
        bundle.runner.close()


def test_the_pool_stops_the_least_recently_used_worker(plain_bytes, monkeypatch):
    monkeypatch.setattr(worker._POOL, "max_workers", 2)
    bundles = [open_model(plain_bytes, f"p{i}.keras", isolate=True) for i in range(3)]
    try:
        assert not bundles[0].runner.alive
        assert bundles[1].runner.alive and bundles[2].runner.alive
        assert bundles[0].runner.run(scores_of, np.ones((1, 4), "float32")).shape \
            == (1, 3)  # restarted from its bytes
        assert not bundles[1].runner.alive
    finally:
        for bundle in bundles:
            bundle.runner.close()


class _System:
    def __reduce__(self):
        return os.system, ("echo pwned",)


class _NumpyLoad:
    def __reduce__(self):
        return np.load, ("/tmp/evil.npy",)


@pytest.mark.parametrize("payload", [_System(), _NumpyLoad(), {"f": print},
                                     [subprocess.Popen]])
def test_replies_cannot_name_functions_or_modules(payload):
    with pytest.raises(pickle.UnpicklingError, match="is not an allowed data class"):
        safe_pickle.loads(pickle.dumps(("ok", payload)))


def test_every_result_the_pages_ask_for_passes_the_reply_filter(samples, sample_bundles):
    """Each op on each sample, pickled as the worker does and read back through the filter.

    The worker stores strings as Python objects (see `worker._serve`); so does this test.
    """
    import pandas as pd

    with pd.option_context("mode.string_storage", "python"):
        _every_result_passes(samples, sample_bundles)


def _every_result_passes(samples, sample_bundles):
    from components.inspect.graph import build_graph
    from components.inspect.layer_details import layer_details
    from components.inspect.sample_map import map_coordinates
    from components.inspect.weights import all_layers_table, weighted_layers
    from components.plots.model_views import weights_view

    for key, bundle in sample_bundles.items():
        run = bundle.runner.run
        dataset = open_dataset(samples[key].data_path.read_bytes(),
                               samples[key].data_path.name, bundle)
        subject = subject_for(dataset, 1, samples[key].task)
        results = [bundle.summary, run(build_graph, ()), run(all_layers_table),
                   run(layer_details, bundle.summary.layers[-1].name),
                   run(scores_of, dataset.x[:4]),
                   run(map_coordinates, dataset, "activations", 0),
                   run(subject_facts, subject),
                   run(explain_all, subject, ["lime", "saliency"], None, 0)]
        results += [run(weights_view, name) for name in run(weighted_layers)[:3]]
        facts = results[6]
        results += [run(explain_subject, subject, name, 0, 0, {})
                    for name in REGISTRY if facts.status[name] is None]
        for result in results:
            data = io.BytesIO()
            pickle.dump(("ok", result), data)
            safe_pickle.loads(data.getvalue())


def test_the_app_survives_a_model_that_exhausts_memory(memory_hog, samples, monkeypatch):
    monkeypatch.setenv("GLASSBOX_WORKER_MEMORY_MB", "1024")
    at = new_app(timeout=120)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("hog.keras", memory_hog).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Model refused:"), errors
    good = samples["wine_classifier"].model_path.read_bytes()
    at.file_uploader(key="model_file").upload("wine.keras", good).run()  # the session goes on
    assert not at.exception and not at.error
    assert at.title[0].value == "Wine classifier"  # the model's own name, readable
