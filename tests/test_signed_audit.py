"""Signed audit records: the server's Ed25519 key, a signature at every append, the chain and
its signed head embedded in the report, and ``python -m components verify`` refusing every
edited copy with its reason.

The store tests use no model; the report tests build one small report in-process (wine,
two rows, Saliency only, no figures) and one through the CLI, then edit copies of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select, text

from components.review import signing
from components.review.store import (
    GENESIS_HASH,
    SIGNATURES,
    Store,
    StoreError,
    event_content,
    event_hash,
)

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


def test_processes_creating_the_key_at_once_end_with_one(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "keys" / "signing_key.pem"
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: signing.load_or_create(path).fingerprint, range(16)))
    assert len(set(made)) == 1 and signing.load_or_create(path).fingerprint == made[0]


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


# ---------------------------------------------------------------- the report and `verify`

BREAKOUT = "</script><script>alert(1)</script><!--<script>"
AUDIT_BLOCK = re.compile(r'<script type="application/json" id="glassbox-audit">(.*?)</script>',
                         re.S)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A store whose review of the wine files has two pins and two verdicts (one note tries
    to close the script block), and that review's report built in-process: Saliency on rows
    1 and 5, no figures. (store root, review id, report path, signer)."""
    from components.data.session import open_dataset
    from components.model.bundle import open_model
    from components.model.samples import get_sample
    from components.review.report import build_report
    from components.review.report_html import render_html

    root = tmp_path_factory.mktemp("audit-ws")
    sample = get_sample("wine_classifier")
    model, data = sample.model_path.read_bytes(), sample.data_path.read_bytes()
    store = Store(root, signing_key=root / "signing_key.pem")
    review = store.review_for(hashlib.sha256(model).hexdigest(),
                              hashlib.sha256(data).hexdigest())
    store.record(review.id, "alice", "pin", 5)
    store.record(review.id, "alice", "assess", 5, {"verdict": "concern", "note": BREAKOUT})
    store.record(review.id, "bob", "pin", 1)
    store.record(review.id, "bob", "assess", 1, {"verdict": "ok", "note": "fine"})
    bundle = open_model(model, "model.keras")
    dataset = open_dataset(data, sample.data_path.name, bundle)
    report = build_report(bundle, dataset, model_name="model.keras", data_name="data.csv",
                          data_sha256=hashlib.sha256(data).hexdigest(), task=sample.task,
                          rows=[1, 5], methods=["saliency"], class_names=sample.class_names,
                          review=store.signed_review(review.id))
    path = root / "report.html"
    path.write_text(render_html(report, figures=False), encoding="utf-8")
    signer = store.signing_key()
    store.dispose()
    return root, review.id, path, signer


def run_cli(capsys, *args) -> tuple[int, str, str]:
    from components.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *args) -> str:
    code, out, err = run_cli(capsys, "verify", *args)
    lines = err.strip().splitlines()
    assert (code, out, len(lines)) == (2, "", 1), (code, out, err)
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def accepted(capsys, *args) -> dict:
    code, out, err = run_cli(capsys, "verify", *args)
    assert code == 0, err
    return json.loads(out)


def blocks(page: str) -> tuple[dict, dict]:
    from components.review.audit import embedded_json

    return embedded_json(page, "glassbox-audit"), embedded_json(page, "glassbox-report")


def edited(tmp_path, page: str, change, name: str = "edited.html", content=None):
    """A copy of the report whose audit block (and, with ``content``, its content block)
    went through ``change``, re-escaped as the report writes it."""
    from components.review.report_html import _json_script

    audit, report = blocks(page)
    change(audit)
    page = AUDIT_BLOCK.sub(lambda _: _json_script("glassbox-audit", audit), page)
    if content is not None:
        content(report)
        page = re.sub(r'<script type="application/json" id="glassbox-report">.*?</script>',
                      lambda _: _json_script("glassbox-report", report), page, flags=re.S)
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


def resign(audit: dict, key: Ed25519PrivateKey, *, embed: bool = True) -> None:
    """Sign the block's last event again with ``key`` (a forger's), embedding its key."""
    review, events = audit["review"], audit["events"]
    head = (events[-1]["id"], events[-1]["hash"]) if events else (0, GENESIS_HASH)
    message = signing.head_message(review["id"], review["model_sha256"],
                                   review["data_sha256"], *head)
    sig = audit["signature"]
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig.update(event_id=head[0], hash=head[1], message=message.decode(),
               value=key.sign(message).hex())
    if embed:
        sig.update(public_key=signing.public_pem(raw), fingerprint=signing.fingerprint(raw))


def rehash(audit: dict) -> None:
    """Recompute every hash and link, as a forger without the key would."""
    prev = GENESIS_HASH
    for ev in audit["events"]:
        ev["prev_hash"] = prev
        ev["hash"] = prev = event_hash(prev, event_content(
            ev["review_id"], ev["at"], ev["actor"], ev["action"], ev["row"], ev["payload"]))


def assess(audit: dict, row: int) -> dict:
    return next(e for e in audit["events"] if e["action"] == "assess" and e["row"] == row)


def test_a_fresh_report_verifies(reviewed, capsys, tmp_path):
    root, review_id, path, signer = reviewed
    page = path.read_text()
    summary = accepted(capsys, path)
    audit, _ = blocks(page)
    assert summary == {"ok": True, "review": review_id,
                       "model_sha256": audit["review"]["model_sha256"],
                       "data_sha256": audit["review"]["data_sha256"], "events": 4,
                       "head": audit["events"][-1]["hash"],
                       "signed_event": audit["events"][-1]["id"],
                       "fingerprint": signer.fingerprint, "key_checked": False}
    key = tmp_path / "server.pem"
    key.write_text(signer.public_pem)
    assert accepted(capsys, path, "--key", key)["key_checked"] is True
    assert accepted(capsys, path, "--fingerprint", signer.fingerprint.upper())["ok"]
    # The human-readable line, and the key in full for a check by hand (and in the PDF).
    assert f'<code id="key-fingerprint">{signer.fingerprint}</code>' in page
    assert signer.public_pem.splitlines()[1] in page


def test_a_note_holding_script_tags_stays_inside_its_block(reviewed):
    page = reviewed[2].read_text()
    (raw,) = AUDIT_BLOCK.findall(page)
    assert "<" not in raw and page.count('id="glassbox-audit"') == 1
    assert assess(json.loads(raw), 5)["payload"]["note"] == BREAKOUT
    assert "<script>alert(1)" not in page


def test_a_changed_verdict_is_refused_at_its_event(reviewed, capsys, tmp_path):
    page = reviewed[2].read_text()
    event_id = assess(blocks(page)[0], 5)["id"]

    def to_ok(audit):
        assess(audit, 5)["payload"]["verdict"] = "ok"

    line = refused(capsys, edited(tmp_path, page, to_ok))
    assert line == (f"error: the audit trail fails at event {event_id}: its content no longer "
                    "matches its hash (a verdict, note, name, time or row was changed)")


def test_a_changed_note_is_refused_even_with_the_hashes_recomputed(reviewed, capsys,
                                                                     tmp_path):
    page = reviewed[2].read_text()

    def note(audit):
        assess(audit, 1)["payload"]["note"] = "fine, checked twice"

    event_id = assess(blocks(page)[0], 1)["id"]
    assert f"fails at event {event_id}: its content no longer matches its hash" in refused(
        capsys, edited(tmp_path, page, note))
    head = blocks(page)[0]["events"][-1]["id"]
    line = refused(capsys, edited(tmp_path, page, lambda a: (note(a), rehash(a))))
    assert f"the signed hash of event {head} is " in line
    assert "the trail was changed after signing" in line


def test_a_removed_last_event_is_refused(reviewed, capsys, tmp_path):
    page = reviewed[2].read_text()
    ids = [e["id"] for e in blocks(page)[0]["events"]]

    def drop(audit):
        audit["events"].pop()

    line = refused(capsys, edited(tmp_path, page, drop))
    assert line == (f"error: the signed head is event {ids[-1]}, but the trail ends at event "
                    f"{ids[-2]}: events were removed or added after signing")

    def drop_and_move(audit):  # the signature's head moved to the new last event
        drop(audit)
        audit["signature"].update(event_id=ids[-2], hash=audit["events"][-1]["hash"])

    assert f"the signature of event {ids[-2]} does not verify with the embedded key" in \
        refused(capsys, edited(tmp_path, page, drop_and_move))


def test_a_swapped_key_is_refused(reviewed, capsys, tmp_path):
    page = reviewed[2].read_text()
    forger = Ed25519PrivateKey.generate()
    raw = forger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def swap(audit):  # the key alone, the signature left as the server made it
        audit["signature"].update(public_key=signing.public_pem(raw),
                                  fingerprint=signing.fingerprint(raw))

    assert "does not verify with the embedded key" in refused(
        capsys, edited(tmp_path, page, swap))

    def forge(audit):  # a verdict changed, everything re-hashed and re-signed by the forger
        assess(audit, 5)["payload"]["verdict"] = "ok"
        rehash(audit)
        resign(audit, forger)
        forged_events.extend(audit["events"])

    def forge_content(content):  # and the report's own copy of the trail to match
        content["review"]["events"] = forged_events
        content["review"]["pins"][1]["verdict"] = "ok"
        content["samples"][1]["review"][0]["verdict"] = "ok"

    forged_events: list[dict] = []
    forged = edited(tmp_path, page, forge, "forged.html", content=forge_content)
    # Consistent in itself: only the server's key (or its fingerprint) tells it apart.
    alone = accepted(capsys, forged)
    assert (alone["fingerprint"], alone["key_checked"]) == (signing.fingerprint(raw), False)
    server = tmp_path / "server.pem"
    server.write_text(reviewed[3].public_pem)
    line = refused(capsys, forged, "--key", server)
    assert line == (f"error: the report is signed by the key {signing.fingerprint(raw)[:16]}…, "
                    f"not by the given key {reviewed[3].fingerprint[:16]}…")
    assert "not by the key" in refused(capsys, forged, "--fingerprint",
                                       reviewed[3].fingerprint)


def test_the_key_of_another_server_is_refused(reviewed, capsys, tmp_path):
    other = tmp_path / "other.pem"
    other.write_text(signing.public_pem(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)))
    assert "not by the given key" in refused(capsys, reviewed[2], "--key", other)
    private = tmp_path / "private.pem"
    private.write_bytes(reviewed[3].path.read_bytes())
    assert "--key is not a PEM public key" in refused(capsys, reviewed[2], "--key", private)


def test_the_reports_own_review_section_must_be_the_signed_one(reviewed, capsys, tmp_path):
    page = reviewed[2].read_text()

    def verdict(content):
        assess_event = next(e for e in content["review"]["events"]
                            if e["action"] == "assess" and e["row"] == 5)
        assess_event["payload"]["verdict"] = "ok"

    event_id = assess(blocks(page)[0], 5)["id"]
    line = refused(capsys, edited(tmp_path, page, lambda a: None, content=verdict))
    assert line == f"error: the report's audit table differs from its signed trail at event " \
                   f"{event_id}"

    def pin_note(content):
        content["review"]["pins"][0]["note"] = "nothing to see"

    assert "verdicts and notes differ" in refused(
        capsys, edited(tmp_path, page, lambda a: None, content=pin_note))


def in_audit(page: str, old: str, new: str) -> str:
    """``page`` with the first ``old`` inside its audit block replaced by ``new``."""
    head, block = page.split('id="glassbox-audit">')
    assert old in block
    return head + 'id="glassbox-audit">' + block.replace(old, new, 1)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.split('id="glassbox-audit">')[0] + 'id="glassbox-audit">{"format": "gl',
     "the 'glassbox-audit' block is not closed: the file is truncated"),
    (lambda p: AUDIT_BLOCK.sub("", p), "holds no signed audit trail"),
    (lambda p: p.replace('id="glassbox-audit">{', 'id="glassbox-audit">{,'),
     "the 'glassbox-audit' block is not valid JSON"),
    (lambda p: in_audit(p, "\\u003c/script\\u003e", "</script>"),
     "the 'glassbox-audit' block is not valid JSON"),
    (lambda p: p.replace('id="glassbox-audit">{', 'id="glassbox-audit">{"<": 1, '),
     "holds a raw '<'"),
    (lambda p: p + AUDIT_BLOCK.search(p).group(0), "holds 2 'glassbox-audit' blocks"),
    (lambda p: p.replace('"format": "glassbox-audit/1"', '"format": "x", "format": "y"'),
     "is not valid JSON (a key is repeated"),
    (lambda p: in_audit(p, '"events": [', '"events": 3, "x": ['),
     "the audit block has no list of events"),
    (lambda p: p.replace('"algorithm": "ed25519"', '"algorithm": "rsa"'),
     "the audit block has no Ed25519 signature"),
])
def test_a_damaged_or_missing_block_is_one_error_line(reviewed, capsys, tmp_path, damage,
                                                      message):
    broken = tmp_path / "broken.html"
    broken.write_text(damage(reviewed[2].read_text()), encoding="utf-8")
    assert message in refused(capsys, broken)


def test_unreadable_reports_and_keys_are_one_error_line(reviewed, capsys, tmp_path,
                                                       monkeypatch):
    from components.review import audit

    assert "no such file" in refused(capsys, tmp_path / "nothing.html")
    binary = tmp_path / "binary.html"
    binary.write_bytes(b"\xff\xfe<html>")
    assert "is not UTF-8 text" in refused(capsys, binary)
    monkeypatch.setattr(audit, "MAX_REPORT_BYTES", 1000)
    assert "is over 0 MiB: not a report" in refused(capsys, reviewed[2])
    monkeypatch.undo()
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * 5000)
    assert "is over 4096 bytes" in refused(capsys, reviewed[2], "--key", big)


def test_public_key_prints_the_servers_key_and_never_makes_one(reviewed, capsys, tmp_path):
    root, _, path, signer = reviewed
    out = tmp_path / "pub.pem"
    code, stdout, err = run_cli(capsys, "public-key", "--workspace", root, "--out", out)
    assert code == 0, err
    assert json.loads(stdout)["fingerprint"] == signer.fingerprint
    assert out.read_text() == signer.public_pem
    assert accepted(capsys, path, "--key", out)["key_checked"] is True
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, "public-key", "--workspace", empty)
    assert code == 2 and err.startswith("error: there is no signing key at ")
    assert not (empty / "signing_key.pem").exists()


def test_the_pdf_shows_the_fingerprint_and_the_signature_whole(reviewed, tmp_path):
    import subprocess

    from components.review.pdf import html_to_pdf

    page = reviewed[2].read_text()
    signature = blocks(page)[0]["signature"]["value"]
    html_to_pdf(page, tmp_path / "report.pdf")
    shown = subprocess.run(["pdftotext", tmp_path / "report.pdf", "-"], capture_output=True,
                           text=True, check=True).stdout
    assert reviewed[3].fingerprint in shown
    assert signature[:64] in shown and signature[64:] in shown
