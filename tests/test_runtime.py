"""No full garbage collection after a run: the server stays responsive between clicks.

Each full collection walks TensorFlow's objects (0.6-0.7 s here, holding the GIL): Streamlit
would run two after every run, one of them through `keras.backend.clear_session`.
"""

from __future__ import annotations

import gc
import tomllib
from pathlib import Path

import keras

from apptest_support import new_app

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


def test_the_server_runs_no_collection_after_each_run():
    assert tomllib.loads(CONFIG.read_text())["runner"]["postScriptGC"] is False


def test_a_run_neither_resets_keras_nor_walks_the_libraries(monkeypatch):
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(a))
    at = new_app()
    at.run()
    at.run()  # a rerun, as after a click
    assert not at.exception, at.exception
    assert calls == []  # Streamlit's after-run cleanup would call it once per run
    assert gc.get_freeze_count() > 100_000  # TensorFlow's objects, out of the collector's way
