"""The workspace store: content-addressed files, reviews and the append-only audit trail."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from components.errors import GlassboxError
from components.review import store as store_module
from components.review.store import (
    ACTIONS,
    GENESIS_HASH,
    METADATA,
    VERDICTS,
    Artifact,
    Event,
    Pin,
    Store,
    StoreError,
    append_only_ddl,
    default_database_url,
    default_root,
    mask_url,
)

MODEL = b"model bytes \x00\x01"
DATA = b"a,b\n1,2\n"
MODEL_SHA = hashlib.sha256(MODEL).hexdigest()
DATA_SHA = hashlib.sha256(DATA).hexdigest()
ISO_SECONDS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The store on each database it supports: SQLite (the default) and a real PostgreSQL."""
    url = request.getfixturevalue("postgres").new_database() \
        if request.param == "postgresql" else None
    opened = Store(tmp_path / "ws", url)
    yield opened
    opened.dispose()


@pytest.fixture
def clock(monkeypatch):
    """Set the store's clock: each call returns the next of the given times."""
    def set_times(*times: str) -> None:
        monkeypatch.setattr(store_module, "_now", iter(times).__next__)
    return set_times


def _review(store: Store):
    store.put("model", "m.keras", MODEL)
    store.put("dataset", "d.csv", DATA)
    return store.review_for(MODEL_SHA, DATA_SHA)


def _expected_hash(prev_hash: str, event: Event) -> str:
    """The hash as the brief defines it, computed here without the module's helpers."""
    content = {"review_id": event.review_id, "at": event.at, "actor": event.actor,
               "action": event.action, "row": event.row, "payload": event.payload}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


# --- files --------------------------------------------------------------------------------


def test_put_and_read_round_trip_under_the_digest_never_the_name(store, tmp_path):
    artifact = store.put("model", "../../evil.keras", MODEL)
    assert (artifact.sha256, artifact.kind, artifact.name, artifact.size) == (
        MODEL_SHA, "model", "../../evil.keras", len(MODEL))
    assert artifact.created_at == store.artifact(MODEL_SHA).created_at
    blob = store.root / "blobs" / MODEL_SHA[:2] / MODEL_SHA
    assert blob.read_bytes() == MODEL
    assert store.read(MODEL_SHA) == MODEL
    assert store.has(MODEL_SHA) and not store.has(DATA_SHA) and not store.has("../x")
    assert not [p for p in tmp_path.rglob("*") if "evil" in p.name]
    assert [p.name for p in blob.parent.iterdir()] == [MODEL_SHA]  # no temp file left
    assert blob.stat().st_mode & 0o777 == 0o600
    assert blob.parent.stat().st_mode & 0o777 == 0o700
    assert (store.root / "blobs").stat().st_mode & 0o777 == 0o700


def test_created_at_is_iso_utc_to_the_second(store):
    import re

    assert re.fullmatch(ISO_SECONDS, store.put("model", "m.keras", MODEL).created_at)
    assert re.fullmatch(ISO_SECONDS, store.review_for(MODEL_SHA, DATA_SHA).created_at)


def test_the_same_bytes_twice_make_one_blob_and_one_row_with_the_first_name(store):
    first = store.put("model", "first.keras", MODEL)
    again = store.put("model", "second.keras", MODEL)
    assert again == first and again.name == "first.keras"
    assert store.artifacts() == [first]
    assert list((store.root / "blobs").rglob("*")) == [
        store.root / "blobs" / MODEL_SHA[:2], store.root / "blobs" / MODEL_SHA[:2] / MODEL_SHA]


def test_the_same_bytes_as_the_other_kind_get_their_own_row(store, clock):
    clock("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z")
    model = store.put("model", "x.bin", MODEL)
    dataset = store.put("dataset", "x.npy", MODEL)
    assert store.artifacts() == [dataset, model]
    assert store.artifact(MODEL_SHA, "dataset") == dataset
    assert store.artifact(MODEL_SHA, "model") == model
    assert store.artifact(MODEL_SHA) == model  # without a kind: the first stored
    assert len(list((store.root / "blobs").rglob(MODEL_SHA))) == 1


def test_artifacts_are_listed_newest_first_and_by_kind(store, clock):
    clock("2026-03-01T10:00:00Z", "2026-03-01T09:00:00Z", "2026-03-01T11:00:00Z")
    a = store.put("model", "a.keras", b"a")
    b = store.put("dataset", "b.csv", b"b")
    c = store.put("model", "c.keras", b"c")
    assert store.artifacts() == [c, a, b]
    assert store.artifacts("model") == [c, a]
    assert store.artifacts("dataset") == [b]
    assert store.artifact("0" * 64) is None and store.artifact("not a digest") is None


def test_a_tampered_blob_reads_as_corrupted(store):
    store.put("model", "m.keras", MODEL)
    (store.root / "blobs" / MODEL_SHA[:2] / MODEL_SHA).write_bytes(MODEL + b"!")
    with pytest.raises(StoreError, match=r"^stored file [0-9a-f]{12}… is corrupted \(its SHA-256 "
                                         r"no longer matches\)$"):
        store.read(MODEL_SHA)


def test_a_missing_blob_reads_as_missing(store):
    store.put("model", "m.keras", MODEL)
    (store.root / "blobs" / MODEL_SHA[:2] / MODEL_SHA).unlink()
    with pytest.raises(StoreError, match=f"^stored file {MODEL_SHA[:12]}… is missing$"):
        store.read(MODEL_SHA)
    assert not store.has(MODEL_SHA)
    with pytest.raises(StoreError, match="is not a SHA-256"):
        store.read("../../etc/passwd")


def test_put_refuses_a_bad_kind_or_name(store):
    with pytest.raises(StoreError, match="unknown kind 'weights'"):
        store.put("weights", "w.h5", MODEL)
    with pytest.raises(StoreError, match="the file name is empty"):
        store.put("model", "  ", MODEL)
    with pytest.raises(StoreError, match="the file name contains control characters"):
        store.put("model", "a\nb.keras", MODEL)
    assert store.artifacts() == [] and not (store.root / "blobs" / MODEL_SHA[:2]).exists()


# --- persistence --------------------------------------------------------------------------


def test_a_new_store_on_the_same_root_sees_everything(tmp_path):
    first = Store(tmp_path / "ws")
    review = _review(first)
    first.record(review.id, "alice", "pin", 4)
    first.record(review.id, "alice", "assess", 7, {"verdict": "concern", "note": "odd"})
    before = (first.artifacts(), first.reviews(), first.events(review.id), first.pins(review.id))
    first.dispose()

    reopened = Store(tmp_path / "ws")  # a new engine, as after a server restart
    try:
        after = (reopened.artifacts(), reopened.reviews(), reopened.events(review.id),
                 reopened.pins(review.id))
        assert after == before
        assert [a.kind for a in after[0]] == ["dataset", "model"]
        assert len(after[2]) == 2 and [p.row for p in after[3]] == [4, 7]
        assert reopened.read(MODEL_SHA) == MODEL
        reopened.verify(review.id)
        assert reopened.review_for(MODEL_SHA, DATA_SHA) == review
    finally:
        reopened.dispose()


# --- append-only --------------------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE events SET actor = 'mallory' WHERE id = 1",
    "UPDATE events SET payload = '{\"verdict\":\"ok\"}'",
    "DELETE FROM events WHERE id = 1",
    "DELETE FROM events",
])
def test_the_database_refuses_update_and_delete_of_events(store, statement):
    review = _review(store)
    store.record(review.id, "alice", "assess", 1, {"verdict": "concern", "note": "n"})
    before = store.events(review.id)
    # SQLite's RAISE(ABORT) arrives as an IntegrityError, PostgreSQL's RAISE EXCEPTION as a
    # ProgrammingError: both are the database refusing.
    refused = pytest.raises(sqlalchemy.exc.DatabaseError, match="audit events are append-only")
    with refused, store.engine.begin() as conn:
        conn.execute(text(statement))
    assert store.events(review.id) == before
    store.verify(review.id)


def test_the_api_has_no_way_to_change_or_remove_events():
    verbs = ("update", "delete", "remove", "edit", "set", "drop", "clear", "truncate",
             "replace", "rewrite", "purge")
    public = [name for name in dir(Store) if not name.startswith("_")]
    assert [n for n in public if n.startswith(verbs)] == []
    assert "record" in public and "events" in public


# --- event sourcing -----------------------------------------------------------------------


def test_a_new_assessment_changes_the_pin_and_keeps_the_old_one_in_the_trail(store, clock):
    review = _review(store)
    clock("2026-05-01T08:00:00Z", "2026-05-01T09:30:00Z")
    first = store.record(review.id, "alice", "assess", 3, {"verdict": "ok", "note": "fine"})
    second = store.record(review.id, "bob", "assess", 3, {"verdict": "concern", "note": "no"})
    assert store.pins(review.id) == [
        Pin(3, "concern", "no", "bob", "2026-05-01T08:00:00Z", "2026-05-01T09:30:00Z")]
    assert store.events(review.id) == [first, second]
    assert [(e.actor, e.payload["verdict"], e.payload["note"]) for e in store.events(review.id)] \
        == [("alice", "ok", "fine"), ("bob", "concern", "no")]


def test_pin_then_unpin_removes_the_pin_but_not_the_events(store):
    review = _review(store)
    store.record(review.id, "alice", "pin", 2)
    store.record(review.id, "alice", "pin", 5)
    store.record(review.id, "alice", "pin", 2)  # already pinned: no change
    assert [(p.row, p.verdict, p.note) for p in store.pins(review.id)] == [
        (2, None, ""), (5, None, "")]
    store.record(review.id, "bob", "unpin", 2)
    assert [p.row for p in store.pins(review.id)] == [5]
    assert [(e.action, e.row) for e in store.events(review.id)] == [
        ("pin", 2), ("pin", 5), ("pin", 2), ("unpin", 2)]
    store.record(review.id, "bob", "explain", None, {"method": "shap", "seed": 0})
    assert [p.row for p in store.pins(review.id)] == [5]  # row-less actions change no pin


def test_events_are_kept_per_review(store):
    first = _review(store)
    other = store.review_for(DATA_SHA, MODEL_SHA)
    assert other.id != first.id and len(store.reviews()) == 2
    assert store.review_for(MODEL_SHA, DATA_SHA) == first  # get, not create
    store.record(first.id, "alice", "pin", 1)
    store.record(other.id, "alice", "pin", 9)
    assert [p.row for p in store.pins(first.id)] == [1]
    assert [p.row for p in store.pins(other.id)] == [9]
    assert store.events(other.id)[0].prev_hash == GENESIS_HASH  # each review its own chain
    assert store.review(first.id) == first and store.review(12345) is None


# --- hash chain ---------------------------------------------------------------------------


def test_the_chain_links_each_event_to_the_one_before(store):
    review = _review(store)
    recorded = [
        store.record(review.id, "alice", "pin", 0),
        store.record(review.id, "alice", "assess", 0, {"verdict": "needs follow-up",
                                                        "note": "Ünïcode ✓"}),
        store.record(review.id, "bob", "report", None, {"seed": 42, "params": [1, 2.5]}),
    ]
    events = store.events(review.id)
    assert events == recorded
    prev = GENESIS_HASH
    for ev in events:
        assert ev.prev_hash == prev and ev.hash == _expected_hash(prev, ev)
        prev = ev.hash
    store.verify(review.id)
    assert events[2].to_json() == {
        "id": events[2].id, "review_id": review.id, "at": events[2].at, "actor": "bob",
        "action": "report", "row": None, "payload": {"seed": 42, "params": [1, 2.5]},
        "prev_hash": events[1].hash, "hash": events[2].hash}


def _drop_triggers(store: Store) -> None:
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":  # what a database owner could do
            conn.execute(text("DROP TRIGGER events_append_only ON events"))
            conn.execute(text("DROP TRIGGER events_no_truncate ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))


@pytest.mark.parametrize(("tamper", "bad_event"), [
    ("UPDATE events SET payload = '{\"note\":\"fine\",\"verdict\":\"ok\"}' WHERE id = 2", 2),
    ("UPDATE events SET actor = 'mallory' WHERE id = 3", 3),
    ("UPDATE events SET at = '2020-01-01T00:00:00Z' WHERE id = 1", 1),
    ("UPDATE events SET row = 8 WHERE id = 2", 2),
    ("UPDATE events SET hash = prev_hash WHERE id = 2", 2),
    ("DELETE FROM events WHERE id = 2", 3),  # a removed event breaks the next link
    ("UPDATE events SET payload = 'not json' WHERE id = 3", 3),
])
def test_verify_names_the_first_event_changed_behind_its_back(store, tamper, bad_event):
    review = _review(store)
    store.record(review.id, "alice", "pin", 3)
    store.record(review.id, "alice", "assess", 3, {"verdict": "concern", "note": "fine"})
    store.record(review.id, "bob", "export", None, {"format": "csv"})
    store.verify(review.id)
    _drop_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(text(tamper))
    with pytest.raises(StoreError, match=f"review {review.id} fails verification at event "
                                         f"{bad_event}: "):
        store.verify(review.id)


def test_reopening_the_store_restores_the_triggers(tmp_path):
    first = Store(tmp_path / "ws")
    review = _review(first)
    first.record(review.id, "alice", "pin", 1)
    _drop_triggers(first)
    first.dispose()
    reopened = Store(tmp_path / "ws")
    try:
        refused = pytest.raises(sqlalchemy.exc.IntegrityError, match="append-only")
        with refused, reopened.engine.begin() as conn:
            conn.execute(text("DELETE FROM events"))
        assert len(reopened.events(review.id)) == 1
    finally:
        reopened.dispose()


def test_export_rows_are_flat_with_canonical_payloads(store):
    review = _review(store)
    pin = store.record(review.id, "alice", "pin", 4)
    assess = store.record(review.id, "alice", "assess", 4, {"verdict": "ok", "note": "a, b"})
    assert store.export_rows(review.id) == [
        {"id": pin.id, "at": pin.at, "actor": "alice", "action": "pin", "row": 4,
         "payload": "{}", "prev_hash": GENESIS_HASH, "hash": pin.hash},
        {"id": assess.id, "at": assess.at, "actor": "alice", "action": "assess", "row": 4,
         "payload": '{"note":"a, b","verdict":"ok"}', "prev_hash": pin.hash,
         "hash": assess.hash},
    ]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "message"), [
    (dict(actor="alice", action="assess", row=1, payload={"verdict": "fine"}),
     "verdict must be one of 'ok', 'concern', 'needs follow-up', not 'fine'"),
    (dict(actor="alice", action="assess", row=1, payload={"note": "x"}),
     "verdict must be one of 'ok', 'concern', 'needs follow-up', not None"),
    (dict(actor="alice", action="assess", row=1, payload={"verdict": "ok", "note": 3}),
     "note must be text, not int"),
    (dict(actor="alice", action="assess", row=1,
          payload={"verdict": "ok", "note": "x" * 10_001}),
     "note is longer than 10000 characters"),
    (dict(actor="   ", action="pin", row=1), "the reviewer's name is empty"),
    (dict(actor="", action="pin", row=1), "the reviewer's name is empty"),
    (dict(actor="a" * 101, action="pin", row=1),
     "the reviewer's name is longer than 100 characters"),
    (dict(actor="al\nice", action="pin", row=1),
     "the reviewer's name contains control characters"),
    (dict(actor="alice", action="approve", row=1),
     "unknown action 'approve' (expected one of: 'pin', 'unpin', 'assess', 'explain', "
     "'report', 'export')"),
    (dict(actor="alice", action="pin"), "the action 'pin' needs a row"),
    (dict(actor="alice", action="pin", row=-1), "row must be 0 or more, not -1"),
    (dict(actor="alice", action="pin", row=True), "row must be an integer, not bool"),
    (dict(actor="alice", action="explain", payload={"x": {1, 2}}),
     "payload is not JSON-serialisable: Object of type set is not JSON serializable"),
    (dict(actor="alice", action="explain", payload={"x": float("nan")}),
     "payload is not JSON-serialisable: Out of range float values are not JSON compliant"),
    (dict(actor="alice", action="explain", payload=["seed", 1]),
     "payload must be a dict, not list"),
])
def test_bad_records_are_refused_in_one_line(store, call, message):
    review = _review(store)
    with pytest.raises(StoreError) as caught:
        store.record(review.id, **call)
    assert str(caught.value) == message
    assert isinstance(caught.value, GlassboxError) and "\n" not in str(caught.value)
    assert store.events(review.id) == []


def test_a_record_for_an_unknown_review_is_refused(store):
    with pytest.raises(StoreError) as caught:
        store.record(99, "alice", "pin", 1)
    assert str(caught.value) == "there is no review with id 99"
    for read in (store.events, store.pins, store.verify, store.export_rows):
        with pytest.raises(StoreError, match="^there is no review with id 99$"):
            read(99)


def test_actor_is_stored_stripped_and_numpy_rows_are_accepted(store):
    np = pytest.importorskip("numpy")
    review = _review(store)
    ev = store.record(review.id, "  alice  ", "pin", np.int64(6))
    assert (ev.actor, ev.row, type(ev.row)) == ("alice", 6, int)
    assert VERDICTS == ("ok", "concern", "needs follow-up")
    assert ACTIONS == ("pin", "unpin", "assess", "explain", "report", "export")


def test_review_for_refuses_what_is_not_a_digest(store):
    with pytest.raises(StoreError, match="^the model digest 'model.keras' is not a SHA-256"):
        store.review_for("model.keras", DATA_SHA)
    assert store.reviews() == []


# --- concurrency --------------------------------------------------------------------------


def test_concurrent_writers_keep_one_unbroken_chain(store):
    review = _review(store)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(25):
                store.record(review.id, f"reviewer-{worker}", "pin", worker * 100 + i)
        except BaseException as err:  # reported below: a thread's exception is otherwise lost
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = store.events(review.id)
    assert len(events) == 200 and len({e.id for e in events}) == 200
    assert len({e.prev_hash for e in events}) == 200  # no two events share a predecessor
    store.verify(review.id)
    assert len(store.pins(review.id)) == 200


# --- configuration ------------------------------------------------------------------------


def test_an_explicit_database_url_is_used(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    database = tmp_path / "elsewhere" / "audit.db"
    url = f"sqlite:///{database}"
    opened = Store(tmp_path / "ws", url)
    try:
        opened.put("model", "m.keras", MODEL)
        assert opened.url == url
        assert database.is_file() and not (tmp_path / "ws" / "glassbox.db").exists()
        assert (tmp_path / "ws" / "blobs" / MODEL_SHA[:2] / MODEL_SHA).is_file()
    finally:
        opened.dispose()
    default = Store(tmp_path / "ws")
    try:
        assert default.artifacts() == []  # the default database is another one
        assert default.url == f"sqlite:///{tmp_path / 'ws' / 'glassbox.db'}"
    finally:
        default.dispose()


def test_an_in_memory_database_is_one_database_for_every_thread(tmp_path):
    opened = Store(tmp_path / "ws", "sqlite://")
    try:
        artifact = opened.put("model", "m.keras", MODEL)
        seen: list[list[Artifact]] = []
        thread = threading.Thread(target=lambda: seen.append(opened.artifacts()))
        thread.start()
        thread.join()
        assert seen == [[artifact]]
    finally:
        opened.dispose()


def test_passwords_are_masked_in_the_url_and_in_errors(tmp_path):
    assert mask_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql+psycopg://u:s3cr%40t@h:5433/db?sslmode=require") == (
        "postgresql+psycopg://u:***@h:5433/db?sslmode=require")
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("not a url secret") == "<unreadable database URL>"
    with pytest.raises(StoreError) as caught:
        Store(tmp_path / "ws", "nosuchdialect://u:secret@h/db")
    assert "secret" not in str(caught.value) and "u:***@h" in str(caught.value)
    with pytest.raises(StoreError) as caught:
        Store(tmp_path / "ws", "::secret::")
    assert str(caught.value) == "the database URL <unreadable database URL> is not valid"


def test_defaults_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GLASSBOX_WORKSPACE", raising=False)
    monkeypatch.delenv("GLASSBOX_DATABASE_URL", raising=False)
    assert default_root() == Path(store_module.__file__).resolve().parents[2] / "workspace"
    assert default_database_url(tmp_path) == f"sqlite:///{tmp_path / 'glassbox.db'}"
    monkeypatch.setenv("GLASSBOX_WORKSPACE", str(tmp_path / "env-ws"))
    monkeypatch.setenv("GLASSBOX_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert default_root() == tmp_path / "env-ws"
    assert default_database_url(tmp_path) == f"sqlite:///{tmp_path / 'env.db'}"
    opened = Store.from_env()
    try:
        assert opened.root == (tmp_path / "env-ws").resolve()
        assert opened.url == f"sqlite:///{tmp_path / 'env.db'}"
        assert (tmp_path / "env.db").is_file() and (tmp_path / "env-ws" / "blobs").is_dir()
    finally:
        opened.dispose()


def test_the_schema_and_triggers_are_written_for_postgresql():
    dialect = postgresql.dialect()
    ddl = "\n".join(str(CreateTable(table).compile(dialect=dialect))
                    for table in METADATA.sorted_tables)
    assert "CREATE TABLE events" in ddl and "UNIQUE (review_id, prev_hash)" in ddl
    triggers = "\n".join(append_only_ddl("postgresql"))
    assert "BEFORE UPDATE OR DELETE ON events" in triggers
    assert "BEFORE TRUNCATE ON events" in triggers
    assert "RAISE EXCEPTION 'audit events are append-only'" in triggers
    with pytest.raises(StoreError, match="^the database 'mysql' is not supported"):
        append_only_ddl("mysql")


def test_importing_the_store_loads_neither_streamlit_nor_tensorflow():
    code = ("import sys, components.review.store; "
            "print(sorted(m for m in ('streamlit', 'tensorflow', 'keras') if m in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, check=True, env={**os.environ, "PYTHONPATH": str(root)})
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------- only checked datasets


def _checked(csv: bytes, n_features: int = 2):
    """``csv`` read and checked against a table model of ``n_features`` inputs (no TF)."""
    from components.data.checks import fit_dataset
    from components.data.read import read_data_bytes
    from components.model.bundle import InputSpec

    spec = InputSpec(shape=(n_features,), dtype="float32")
    return fit_dataset(read_data_bytes(csv, "data.csv"), spec)


def _blobs(store: Store) -> list[Path]:
    return [p for p in (store.root / "blobs").rglob("*") if p.is_file()]


def test_a_dataset_refused_by_its_checks_never_reaches_the_workspace(store):
    from components.review.keeping import keep_checked_dataset

    refused = b"a,b,c\n1,2,x\n"  # three columns for a two-input model, one not a number
    dataset = _checked(refused)
    assert not dataset.ok and dataset.x is None
    kept = keep_checked_dataset(store, "bad.csv", refused, dataset, model_sha256=MODEL_SHA,
                                signature="tabular:2")
    assert kept is None
    assert store.artifacts("dataset") == [] and not store.has(hashlib.sha256(refused).hexdigest())
    assert _blobs(store) == []
    assert store.datasets_for(MODEL_SHA, "tabular:2") == []
    assert keep_checked_dataset(store, "none.csv", refused, None, model_sha256=MODEL_SHA,
                                signature="tabular:2") is None
    assert _blobs(store) == []


def test_a_checked_dataset_is_offered_to_models_it_fits_only(store):
    from components.review.keeping import keep_checked_dataset

    other_model = "b" * 64
    kept = keep_checked_dataset(store, "good.csv", DATA, _checked(DATA), model_sha256=MODEL_SHA,
                                signature="tabular:2")
    assert kept is not None and kept.sha256 == DATA_SHA and store.has(DATA_SHA)
    assert [a.sha256 for a in store.datasets_for(MODEL_SHA, "tabular:9")] == [DATA_SHA]
    assert [a.sha256 for a in store.datasets_for(other_model, "tabular:2")] == [DATA_SHA]
    assert store.datasets_for(other_model, "image:28x28x1") == []
    store.put("dataset", "legacy.csv", b"x\n1\n")  # stored with no model: offered to none
    assert [a.name for a in store.datasets_for(other_model, "tabular:2")] == ["good.csv"]
    again = keep_checked_dataset(store, "good.csv", DATA, _checked(DATA),
                                 model_sha256=MODEL_SHA, signature="tabular:2")
    assert again == kept  # idempotent


def _write_events(url: str, root: str, review_id: int, worker: int, n: int, ready: Any,
                  go: Any) -> None:
    """One process's share of the concurrent writes (a server writing reviews)."""
    opened = Store(root, url)
    try:
        opened.events(review_id)  # connected: then every process starts together
        ready.release()
        go.wait(60)
        for i in range(n):
            opened.record(review_id, f"server-{worker}", "pin", worker * 1000 + i)
    finally:
        opened.dispose()


def test_two_processes_on_one_postgresql_keep_one_unbroken_chain(postgres, tmp_path):
    """Two processes (two servers' stores) write one review at once, on a real PostgreSQL:
    every event is kept, in one chain with no fork, and verifies."""
    import multiprocessing

    url = postgres.new_database()
    store = Store(tmp_path / "ws", url)
    try:
        review = _review(store)
        # The servers share the workspace folder, so its signing key: one trail, one key.
        store.record(review.id, "server-main", "export", None, {"format": "csv"})
        context = multiprocessing.get_context("spawn")
        ready, go = context.Semaphore(0), context.Event()
        workers = [context.Process(target=_write_events,
                                   args=(url, str(tmp_path / "ws"), review.id, w, 60,
                                         ready, go))
                   for w in range(2)]
        for process in workers:
            process.start()
        for _ in workers:
            assert ready.acquire(timeout=600)  # a spawned interpreter, on a loaded machine
        go.set()
        for process in workers:
            process.join(timeout=240)
        assert [p.exitcode for p in workers] == [0, 0]
        events = store.events(review.id)
        assert len(events) == 121
        assert {e.actor for e in events} == {"server-main", "server-0", "server-1"}
        switches = sum(a.actor != b.actor for a, b in zip(events, events[1:], strict=False))
        assert switches > 2  # the two really wrote at the same time
        assert len({e.prev_hash for e in events}) == 121  # no fork
        assert events[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
        store.verify(review.id)
    finally:
        store.dispose()
