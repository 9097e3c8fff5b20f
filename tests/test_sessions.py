"""Ten concurrent sessions, each with its own uploaded model and dataset, never see each other.

Each session uploads a different tiny Dense model (its own name, input width, unit count, so
its own parameter count) and its own CSV (its own column names ``t<i>_x<j>`` and row count),
and selects its own row on the explain page. The sessions advance round-robin and staggered:
while one session uploads, another is already on the explain page and a third has just
picked "upload" with nothing uploaded yet. After every run the session's page is checked
for its own model name, parameter count, row count, selected row, prediction and feature
names, and for no trace of any other session's names.

AppTest gives every `AppTest` the same hard-coded session id ("test session id"), so
session-scoped caches (`st.cache_resource(scope="session")`, the upload cache) would be
shared by all simulated sessions. The `own_session_ids` fixture gives each AppTest its own
id, as the real server does for each browser tab; otherwise this file could not tell a
session-scoped cache from a global one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import page_charts
import pandas as pd
import pytest

from apptest_support import new_app
from components.data.session import readable

pytestmark = pytest.mark.slow  # a minute or more: see pyproject's markers

EXPLAIN, OVERVIEW = "views/explain.py", "views/overview.py"
N_SESSIONS = 10
METHODS = ["saliency", "gradxinput"]  # the cheap ones: the point here is whose model, not how
TOKEN = re.compile(r"t(\d+)_x(\d+)")  # a tenant's feature name, wherever it is printed


@dataclass(frozen=True)
class Tenant:
    """One session's model and data, and what its pages must show."""

    index: int
    name: str
    params: int
    features: tuple[str, ...]
    n_rows: int
    row: int  # the row this session selects on the explain page
    predicted: int  # the model's own prediction for that row, computed here
    confidence: float
    model_bytes: bytes
    csv_bytes: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.model_bytes).hexdigest()

    @property
    def data_sha256(self) -> str:
        return hashlib.sha256(self.csv_bytes).hexdigest()


def _tenant(index: int, folder) -> Tenant:
    import keras

    width, units, classes, n_rows = 3 + index, 4 + 2 * index, 2 + index % 3, 24 + 5 * index
    features = tuple(f"t{index}_x{j}" for j in range(width))
    rng = np.random.default_rng(index)
    x = rng.normal(size=(n_rows, width)).astype("float32")
    frame = pd.DataFrame(x, columns=list(features))
    frame["label"] = rng.integers(0, classes, size=n_rows)
    keras.utils.set_random_seed(index)
    model = keras.Sequential([keras.Input((width,)),
                              keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(classes, activation="softmax")],
                             name=f"tenant_{index:02d}")
    path = folder / f"tenant_{index:02d}.keras"
    model.save(path)
    row = 3 + 2 * index
    scores = np.asarray(model(x[row:row + 1], training=False))[0]
    return Tenant(index=index, name=model.name, params=model.count_params(), features=features,
                  n_rows=n_rows, row=row, predicted=int(scores.argmax()),
                  confidence=float(scores.max()), model_bytes=path.read_bytes(),
                  csv_bytes=frame.to_csv(index=False).encode())


@pytest.fixture(scope="module")
def tenants(tmp_path_factory) -> list[Tenant]:
    folder = tmp_path_factory.mktemp("tenants")
    built = [_tenant(i, folder) for i in range(N_SESSIONS)]
    assert len({t.params for t in built}) == len({t.name for t in built}) == N_SESSIONS
    return built


@pytest.fixture(scope="module")
def own_session_ids():
    """Give each AppTest its own session id (AppTest hard-codes one for all of them).

    The script runner is built anew for every run from the AppTest's own session state; the
    id is attached to that state object, so every run of one AppTest uses one id.
    """
    from streamlit.testing.v1 import app_test
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    ids: dict[int, str] = {}
    keep: list[object] = []  # keep the states alive so id() is never reused

    class OwnSessionRunner(LocalScriptRunner):
        def __init__(self, script_path, session_state, *args, **kwargs):
            super().__init__(script_path, session_state, *args, **kwargs)
            if id(session_state) not in ids:
                keep.append(session_state)
                ids[id(session_state)] = f"glassbox-test-session-{len(ids)}"
            self._session_id = ids[id(session_state)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_test, "LocalScriptRunner", OwnSessionRunner)
        yield ids
    # What the server does when a tab closes: release the session's caches (stopping the
    # workers of its uploads).
    from streamlit.runtime.caching.cache_resource_api import clear_session_cache

    for session_id in ids.values():
        clear_session_cache(session_id)


@pytest.fixture(scope="module", autouse=True)
def worker_processes():
    """Uploaded models may live in worker processes (components.model.worker): let all ten live
    at once (the default pool would restart a worker on nearly every round-robin step, which
    tests the pool, not isolation, and costs a TensorFlow import each time), and stop them
    after this module."""
    try:
        from components.model import worker
    except ImportError:
        yield
        return
    pool = getattr(worker, "_POOL", None)
    with pytest.MonkeyPatch.context() as patch:
        if pool is not None and hasattr(pool, "max_workers"):
            patch.setattr(pool, "max_workers", max(pool.max_workers, N_SESSIONS + 2))
        yield
    if hasattr(worker, "shutdown"):
        worker.shutdown()


# ---------------------------------------------------------------- what a session shows


def _plain(text: str) -> str:
    """Text as the user reads it (the app escapes Markdown in user data)."""
    return text.replace("\\", "")


def _tenants_named(at) -> set[int]:
    """Every tenant whose feature names appear anywhere in the page (text, tables, charts)."""
    seen: set[int] = set()
    for text in _all_text(at):
        seen |= {int(m.group(1)) for m in TOKEN.finditer(text)}
    return seen


def _all_text(at) -> list[str]:
    texts = [e.value for kind in ("title", "markdown", "caption", "text", "info", "warning",
                                  "success", "error", "subheader") for e in getattr(at, kind)]
    texts += [s.label for s in at.status] + [p.proto.text for p in at.get("progress")]
    for frame in at.dataframe:
        value = frame.value
        texts += [str(c) for c in value.columns] + [value.to_csv()]
    texts += [chart.spec for chart in page_charts.charts(at)]
    return texts


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _no_failure(at, t: Tenant | None, step: str) -> None:
    where = f"session {t.index if t else '-'} at {step}"
    assert not at.exception, (where, [e.value for e in at.exception])
    assert not at.error, (where, [e.value for e in at.error])


def check_empty(at, step: str) -> None:
    """A session that picked "upload" and uploaded nothing: no model, nobody's names."""
    _no_failure(at, None, step)
    assert [t.value for t in at.main.title] == ["Glassbox"], step
    assert not at.metric and not page_charts.charts(at), step
    assert _tenants_named(at) == set(), step
    assert not any("tenant" in text for text in _all_text(at)), step


def check_overview(at, t: Tenant, step: str, with_data: bool = True) -> None:
    _no_failure(at, t, step)
    assert at.title[0].value == readable(t.name), (t.index, step)  # "Tenant 03"
    assert not any(name in text for text in _all_text(at) for i in range(N_SESSIONS)
                   if i != t.index for name in (f"tenant_{i:02d}", f"Tenant {i:02d}")), \
        (t.index, step)
    metrics = _metrics(at)
    assert metrics["Parameters"] == f"{t.params:,}", (t.index, step, metrics)
    assert metrics["Layers"] == "2"
    assert any(t.sha256 in c.value for c in at.caption), (t.index, step)
    layers = at.dataframe[0].value
    assert layers["Params"].sum() == t.params
    if not with_data:
        assert "Samples" not in metrics
        assert _tenants_named(at) == set(), (t.index, step)
        return
    assert metrics["Samples"] == f"{t.n_rows:,}", (t.index, step, metrics)
    assert metrics["Usable"] == "yes" and metrics["Label"] == "label"
    preview = at.dataframe[-1].value
    assert tuple(preview.columns) == (*t.features, "label"), (t.index, step)
    assert _tenants_named(at) == {t.index}, (t.index, step)


def check_explain(at, t: Tenant, step: str) -> None:
    _no_failure(at, t, step)
    assert at.title[0].value == "Explain a prediction"
    header = _plain(at.markdown[0].value)
    assert header.startswith(f"**Row {t.row}** · predicted {t.predicted} "), (t.index, step,
                                                                               header)
    # a percentage, one decimal (two near 0 % and 100 %; "<" or ">" past 0.01 % of either)
    shown = float(re.search(r"confidence [<>]?([0-9.]+) %", header).group(1)) / 100
    assert shown == pytest.approx(t.confidence, abs=2e-3), (t.index, step, header)
    row_param = at.query_params.get("row")
    assert row_param in (str(t.row), [str(t.row)]), (t.index, step, at.query_params)
    table = at.dataframe[0].value
    assert len(table) == t.n_rows, (t.index, step)
    in_table = [str(c) for c in table.columns if TOKEN.fullmatch(str(c))]
    assert in_table and in_table == list(t.features[:len(in_table)]), (t.index, step)
    # the selected row, as fed: one line of "name **value**" under the header
    sample = _plain(at.markdown[1].value).split(" · ")
    assert tuple(part.rsplit(" **", 1)[0] for part in sample) == t.features, (t.index, step)
    assert any(c.value.startswith(f"{t.n_rows:,} of {t.n_rows:,} rows") for c in at.caption)
    bars = [p.proto.text.split(",")[0] for p in at.get("progress")]  # the panels' progress
    assert bars == [f"Row {t.row}: {len(METHODS)} of {len(METHODS)} methods"], (t.index, step)
    charts = [c.spec for c in page_charts.charts(at)]
    assert len(charts) == 1 + len(METHODS) + 1, (t.index, step)  # map, panels, agreement
    for spec in charts[1:1 + len(METHODS)]:  # each panel: this tenant's features only
        named = {m.group(0) for m in TOKEN.finditer(spec)}
        assert named and named <= set(t.features), (t.index, step, named)
    assert _tenants_named(at) == {t.index}, (t.index, step)


# ---------------------------------------------------------------- the steps of one session


def _preselect_methods(at, t: Tenant) -> None:
    """Ask for the cheap methods before the page first draws (its widget key is per scope);
    if the key ever changes, the page just computes all methods and the count check says so."""
    from components.ui.selection import scope_of

    at.session_state[f"methods_{scope_of(t.sha256, t.data_sha256)}"] = METHODS


def step_open(at, t: Tenant) -> None:
    at.run()
    _no_failure(at, t, "open")  # a fresh session shows the default sample, shared by design


def step_pick_upload(at, t: Tenant) -> None:
    at.selectbox(key="model_choice").select("__upload__").run()
    check_empty(at, f"pick upload (session {t.index})")


def step_upload_model(at, t: Tenant) -> None:
    at.file_uploader(key="model_file").upload(f"{t.name}.keras", t.model_bytes).run()
    check_overview(at, t, "upload model", with_data=False)


def step_upload_data(at, t: Tenant) -> None:
    at.file_uploader(key="data_file").upload(f"data_{t.index}.csv", t.csv_bytes).run()
    check_overview(at, t, "upload data")


def step_explain(at, t: Tenant) -> None:
    _preselect_methods(at, t)
    at.query_params["row"] = str(t.row)  # what a link ?row=N does
    at.switch_page(EXPLAIN).run()
    check_explain(at, t, "explain")


def step_back_to_overview(at, t: Tenant) -> None:
    at.switch_page(OVERVIEW).run()
    check_overview(at, t, "back to overview")
    assert at.query_params.get("row") in (str(t.row), [str(t.row)])  # the row stays in the URL


def step_explain_again(at, t: Tenant) -> None:
    at.switch_page(EXPLAIN).run()
    check_explain(at, t, "explain again")


STEPS = [step_open, step_pick_upload, step_upload_model, step_upload_data, step_explain,
         step_back_to_overview, step_explain_again]


def test_ten_sessions_each_see_only_their_own_model_data_and_row(tenants, own_session_ids):
    sessions = [new_app(timeout=300) for _ in tenants]
    # Staggered round-robin: in round r session k runs step r - k, so at any moment the
    # sessions are at different steps (one picks "upload" while others already explain).
    for round_ in range(len(STEPS) + len(sessions) - 1):
        for k, (at, t) in enumerate(zip(sessions, tenants, strict=True)):
            if 0 <= round_ - k < len(STEPS):
                STEPS[round_ - k](at, t)
    assert len(set(own_session_ids.values())) >= N_SESSIONS  # each AppTest had its own id
    # Everyone once more, in reverse order: a plain rerun changes nobody's page.
    for at, t in reversed(list(zip(sessions, tenants, strict=True))):
        at.run()
        check_explain(at, t, "final rerun")


def test_the_upload_cache_is_session_scoped(tenants, own_session_ids):
    """A session that uploaded nothing sees no upload, whatever other sessions uploaded; the
    same bytes uploaded in a second session are loaded again, into that session's cache."""
    from streamlit.runtime.caching import cache_resource_api

    def has_session_cache(at) -> bool:
        caches = cache_resource_api._resource_caches._function_caches
        return own_session_ids[id(at._session_state)] in caches

    alice, bob = new_app(timeout=300), new_app(timeout=300)
    t = tenants[0]
    for at in (alice, bob):
        at.run()
        at.selectbox(key="model_choice").select("__upload__").run()
    step_upload_model(alice, t)
    step_upload_data(alice, t)
    bob.run()
    check_empty(bob, "bob, nothing uploaded")
    bob.switch_page(EXPLAIN).run()
    check_empty(bob, "bob, explain page")
    assert any("upload your own" in i.value for i in bob.info)
    alice.run()
    check_overview(alice, t, "alice after bob")
    # Alice's upload went into a cache of her session's; Bob has none until he uploads.
    assert has_session_cache(alice) and not has_session_cache(bob)
    bob.switch_page(OVERVIEW)
    step_upload_model(bob, t)
    assert has_session_cache(bob)


def test_a_reused_upload_id_cannot_poison_another_sessions_sample_data(own_session_ids):
    """A crafted client uploads the wine sample's own CSV as file id F, pushes that dataset
    out of the bounded dataset cache with other uploads, then uploads 10 rows under the same
    F: if the digest is taken from the id instead of the bytes, the 10 rows are stored as the
    sample's dataset and every new session opening the sample sees them."""
    import uuid
    from unittest import mock

    from components.model.samples import get_sample
    from components.ui.loaders import dataset_for

    wine = get_sample("wine_classifier").data_path.read_bytes()
    lines = wine.decode().splitlines()
    n_rows = len(lines) - 1
    reused = uuid.UUID("00000000-0000-4000-8000-00000000f00d")

    def samples(at) -> str | None:
        return _metrics(at).get("Samples")

    attacker = new_app(timeout=300)
    attacker.run()

    def upload(name: str, data: bytes) -> None:
        attacker.file_uploader(key="data_file").upload(name, data).run()

    try:
        with mock.patch("uuid.uuid4", return_value=reused):
            upload("data.csv", wine)
        entries = getattr(getattr(dataset_for, "_info", None), "max_entries", None) or 16
        for i in range(entries):  # fills the dataset cache: the sample's entry leaves it
            upload(f"other{i}.csv", ("\n".join(lines[:20 + i]) + "\n").encode())
        with mock.patch("uuid.uuid4", return_value=reused):
            upload("data.csv", ("\n".join(lines[:11]) + "\n").encode())  # 10 rows, same id
        victim = new_app(timeout=300)
        victim.run()  # opens the wine sample with its bundled dataset
        assert samples(victim) == f"{n_rows:,}"
    finally:  # never leave a poisoned sample behind for the test modules that run next
        dataset_for.clear()
