"""Signed audit records: the server's Ed25519 key, a signature at every append, the chain and
its signed head embedded in the report, and ``python -m components verify`` refusing every
edited copy with its reason.

The store tests use no model; the report tests build one small report in-process (wine,
two rows, Saliency only, no figures) and one through the CLI, then edit copies of it.
"""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from sqlalchemy import select, text

from components.review import signing
from components.review.store import GENESIS_HASH, SIGNATURES, Store, StoreError

MODEL_SHA = hashlib.sha256(b"model").hexdigest()
DATA_SHA = hashlib.sha256(b"data").hexdigest()


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv(signing.KEY_ENV, raising=False)
    opened = Store(tmp_path / "ws")
    yield opened
    opened.dispose()


def _trail(store: Store, n: int = 3) -> int:
    review = store.review_for(MODEL_SHA, DATA_SHA)
    store.record(review.id, "alice", "pin", 1)
    for i in range(n - 1):
        store.record(review.id, "alice", "assess", 1, {"verdict": "ok", "note": f"n{i}"})
    return review.id


# ---------------------------------------------------------------- the key


def test_the_key_is_created_once_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv(signing.KEY_ENV, raising=False)
    first = Store(tmp_path / "ws")
    path = tmp_path / "ws" / "signing_key.pem"
    assert not path.exists()  # created on first use, not on open
    fingerprint = first.signing_key().fingerprint
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = Store(tmp_path / "ws")
    assert again.signing_key().fingerprint == fingerprint and path.read_bytes() == pem
    assert fingerprint == hashlib.sha256(again.signing_key().public_raw).hexdigest()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".tmp")] == []
    first.dispose()
    again.dispose()


def test_the_key_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, str(tmp_path / "keys" / "audit.pem"))
    opened = Store(tmp_path / "ws")
    try:
        _trail(opened, 1)
        assert opened.key_path == tmp_path / "keys" / "audit.pem"
        assert (tmp_path / "keys" / "audit.pem").is_file()
        assert not (tmp_path / "ws" / "signing_key.pem").exists()
    finally:
        opened.dispose()


@pytest.mark.parametrize("content, mode, message", [
    (None, 0o644, r"may be read by others \(mode 0644\): chmod 600 it"),
    (b"not a key", 0o600, "is not an unencrypted Ed25519 private key in PEM"),
    (b"x" * 5000, 0o600, "is over 4096 bytes"),
])
def test_a_bad_key_file_refuses_the_event_in_one_line(store, content, mode, message):
    review = store.review_for(MODEL_SHA, DATA_SHA)
    if content is None:
        store.signing_key()
        store._signer = None  # read it again, as a new process would
    else:
        store.key_path.write_bytes(content)
    os.chmod(store.key_path, mode)
    with pytest.raises(signing.SigningError, match=message):
        store.record(review.id, "alice", "pin", 1)
    assert store.events(review.id) == []


# ---------------------------------------------------------------- signing at each append


def test_every_recorded_event_is_signed_with_the_servers_key(store):
    review_id = _trail(store, 4)
    signer = store.signing_key()
    with store.engine.connect() as conn:
        rows = {r.event_id: r for r in conn.execute(select(SIGNATURES))}
    events = store.events(review_id)
    assert sorted(rows) == [e.id for e in events]
    for ev in events:
        row = rows[ev.id]
        assert (row.hash, row.algorithm, row.key_fingerprint) == (ev.hash, "ed25519",
                                                                  signer.fingerprint)
        message = f"glassbox-audit-v1|{review_id}|{MODEL_SHA}|{DATA_SHA}|{ev.id}|{ev.hash}"
        assert signing.signature_valid(signer.public_raw, message.encode(),
                                       bytes.fromhex(row.signature))
    store.verify(review_id)


def test_the_signed_review_carries_the_heads_signature(store):
    review_id = _trail(store, 2)
    signed = store.signed_review(review_id)
    head = signed["events"][-1]
    sig = signed["signature"]
    assert (sig["event_id"], sig["hash"], sig["review_id"]) == (head["id"], head["hash"],
                                                                review_id)
    assert sig["public_key"] == store.signing_key().public_pem
    assert sig["fingerprint"] == store.signing_key().fingerprint
    assert signed["pins"][0]["note"] == "n0" and signed["verified"] is True
    assert (signed["model_sha256"], signed["data_sha256"]) == (MODEL_SHA, DATA_SHA)


def test_an_empty_trail_signs_its_genesis(store):
    review = store.review_for(MODEL_SHA, DATA_SHA)
    sig = store.signed_review(review.id)["signature"]
    assert (sig["event_id"], sig["hash"]) == (0, GENESIS_HASH)
    message = f"glassbox-audit-v1|{review.id}|{MODEL_SHA}|{DATA_SHA}|0|{GENESIS_HASH}"
    assert signing.signature_valid(store.signing_key().public_raw, message.encode(),
                                   bytes.fromhex(sig["signature"]))


def test_the_database_refuses_to_change_or_remove_signatures(store):
    import sqlalchemy

    _trail(store, 1)
    for statement in ("UPDATE signatures SET signature = 'x'", "DELETE FROM signatures"):
        with pytest.raises(sqlalchemy.exc.IntegrityError, match="append-only"), \
                store.engine.begin() as conn:
            conn.execute(text(statement))


def _without_signature_triggers(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER signatures_no_update"))
        conn.execute(text("DROP TRIGGER signatures_no_delete"))


def test_verify_checks_the_heads_signature(store, tmp_path):
    review_id = _trail(store, 3)
    head = store.events(review_id)[-1]
    _without_signature_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE signatures SET signature = :s WHERE event_id = :e"),
                     {"s": "00" * 64, "e": head.id})
    with pytest.raises(StoreError, match=f"at event {head.id}: its signature does not verify"):
        store.verify(review_id)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM signatures WHERE event_id = :e"), {"e": head.id})
    with pytest.raises(StoreError, match="it is not signed, though earlier events are"):
        store.verify(review_id)


def test_a_head_signed_by_another_key_is_named(store, tmp_path):
    review_id = _trail(store, 2)
    other = Store(store.root, signing_key=tmp_path / "other.pem")
    try:
        with pytest.raises(StoreError, match=r"it is signed by another key \(fingerprint "
                                             f"{store.signing_key().fingerprint[:16]}"):
            other.verify(review_id)
        other.record(review_id, "bob", "pin", 2)  # the next event is signed with its key
        other.verify(review_id)
    finally:
        other.dispose()


def test_a_trail_written_before_signing_is_signed_when_reported(store):
    review_id = _trail(store, 2)
    _without_signature_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM signatures"))
    store.verify(review_id)  # no signature at all: an older Glassbox wrote it
    signed = store.signed_review(review_id)
    assert signed["signature"]["event_id"] == signed["events"][-1]["id"]
    store.verify(review_id)  # the head is signed now, and checked
    assert store.signed_review(review_id)["signature"] == signed["signature"]
