"""Shared set-up: quiet TensorFlow, an importable repo root, and the samples loaded once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports TensorFlow (collection imports the test modules).
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
# The workspace store of every app, server and CLI the tests start: a fresh folder per run,
# never the repo's own workspace/ (servers and subprocesses inherit the environment).
if "GLASSBOX_TEST_KEEP_WORKSPACE" not in os.environ:
    import tempfile as _tempfile

    os.environ["GLASSBOX_WORKSPACE"] = _tempfile.mkdtemp(prefix="glassbox-test-workspace-")
    os.environ.pop("GLASSBOX_DATABASE_URL", None)

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
for _path in (ROOT, TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import pytest  # noqa: E402

from components.model.samples import get_sample, list_samples  # noqa: E402

SAMPLE_KEYS = ("wine_classifier", "digits_cnn", "sentiment_text", "diabetes_regression")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def samples() -> dict:
    """key -> Sample, for the four bundled samples."""
    return {s.key: s for s in list_samples()}


@pytest.fixture(scope="session")
def loaded_samples() -> dict:
    """key -> LoadedModel: each sample loaded once per session (importing TF on first use)."""
    from components.model.load import load_model_path

    return {key: load_model_path(get_sample(key).model_path) for key in SAMPLE_KEYS}


@pytest.fixture(scope="session")
def sample_bundles() -> dict:
    """key -> ModelBundle as the app builds it (feature names found by the file's digest)."""
    from components.model.bundle import open_model

    return {key: open_model(get_sample(key).model_path.read_bytes(), "upload.keras")
            for key in SAMPLE_KEYS}


@pytest.fixture(scope="session")
def sample_subjects(sample_bundles) -> dict:
    """key -> (Subject of the sample's row 3, ModelBundle): what the explain page builds."""
    from components.data.session import open_dataset
    from components.explain.local import subject_for
    from components.model.predict import make_predict_fn

    out = {}
    for key, bundle in sample_bundles.items():
        sample = get_sample(key)
        dataset = open_dataset(sample.data_path.read_bytes(), sample.data_path.name, bundle)
        model = bundle.loaded.model
        subject = subject_for(dataset, 3, sample.task, model=model,
                              predict_fn=make_predict_fn(model))
        out[key] = (subject, bundle)
    return out


@pytest.fixture(scope="module")
def server_workspace(tmp_path_factory) -> Path:
    """The workspace folder of this module's `server`: its own, so that what other modules
    stored (e.g. a finished batch job, which the Global page would then draw) does not
    change what this module sees; a test that stores something for the server writes here."""
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_workspace):
    """The real app (`streamlit run`) on a free loopback port, one per test module."""
    from browser_support import running_app

    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_app(log, env={"GLASSBOX_WORKSPACE": str(server_workspace)}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for this test process (tests/pg_support.py); each test
    takes a database of its own with ``postgres.new_database()``."""
    import pg_support

    if not pg_support.available():
        pytest.fail("PostgreSQL is not installed (make test installs Debian's postgresql)")
    server = pg_support.PostgresServer()
    yield server
    server.stop()
