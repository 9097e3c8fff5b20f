"""The signed audit trail a report carries, and its offline check.

`audit_block` is the JSON a report embeds in ``<script type="application/json"
id="glassbox-audit">``: the review's id and files, every event (the fields its hash covers,
``prev_hash`` and ``hash``), and the server's signature of the last event with the public
key (PEM) and its fingerprint. `verify_report` checks a report file without the server:
the block is found and parsed bounded (the file is untrusted), every hash is recomputed
from its event's content, every link followed, the head's signature checked with the
embedded key and, if one is given, that key compared with the auditor's own; the report's
own review section must then equal the signed trail. Each refusal is one `AuditError` line
naming the reason.

No Streamlit, no database: ``python -m components verify`` runs on an auditor's machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.errors import GlassboxError, excerpt, first_line
from components.review import signing
from components.review.store import (
    GENESIS_HASH,
    Event,
    event_content,
    event_hash,
    fold_pins,
)

AUDIT_FORMAT = "glassbox-audit/1"
AUDIT_ID = "glassbox-audit"
REPORT_ID = "glassbox-report"  # the report's full content (`report_html._json_script`)
MAX_REPORT_BYTES = 256 * 2**20  # a report with plotly.js and many image rows is tens of MiB
EVENT_KEYS = ("id", "review_id", "at", "actor", "action", "row", "payload", "prev_hash",
              "hash")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


class AuditError(GlassboxError):
    """A report's signed audit trail is missing, malformed or does not verify."""


def audit_block(review: Mapping[str, Any]) -> dict[str, Any] | None:
    """The block a report embeds for a review from `Store.signed_review`; None for a review
    without a signature (built by hand, or by an older Glassbox)."""
    signature = review.get("signature")
    if not signature:
        return None
    message = signing.head_message(review["id"], review["model_sha256"],
                                   review["data_sha256"], signature["event_id"],
                                   signature["hash"])
    return {
        "format": AUDIT_FORMAT,
        "review": {"id": review["id"], "model_sha256": review["model_sha256"],
                   "data_sha256": review["data_sha256"]},
        "events": [{k: e[k] for k in EVENT_KEYS} for e in review["events"]],
        "signature": {"algorithm": signature["algorithm"], "event_id": signature["event_id"],
                      "hash": signature["hash"], "message": message.decode("utf-8"),
                      "value": signature["signature"], "public_key": signature["public_key"],
                      "fingerprint": signature["fingerprint"]},
    }


# ---------------------------------------------------------------- reading a report


def verify_report(path: Path, key_pem: bytes | None = None,
                  fingerprint: str | None = None) -> dict[str, Any]:
    """Check the report at ``path``; with ``key_pem`` (or ``fingerprint``) also that it is
    signed by that key. The summary ``{"ok": True, "review", "model_sha256",
    "data_sha256", "events", "head", "signed_event", "fingerprint", "key_checked"}``, or
    `AuditError` naming the reason."""
    expected = None if key_pem is None else signing.public_raw_from_pem(key_pem, "--key")
    page = read_page(path)
    block = embedded_json(page, AUDIT_ID)
    if block is None:
        raise AuditError(f"{path.name} holds no signed audit trail (a report built with a "
                         "review has a 'glassbox-audit' block)")
    summary = check_block(block, expected, fingerprint)
    content = embedded_json(page, REPORT_ID)
    if content is not None:
        check_content(content, block)
    return summary


def read_page(path: Path) -> str:
    """The report's text, refused past `MAX_REPORT_BYTES` or when it is not UTF-8."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as err:
        raise AuditError(f"cannot read {path}: {err.strerror or first_line(err)}") from None
    if len(data) > MAX_REPORT_BYTES:
        raise AuditError(f"{path.name} is over {MAX_REPORT_BYTES // 2**20} MiB: not a report")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditError(f"{path.name} is not UTF-8 text: not a report") from None


def embedded_json(page: str, block_id: str) -> Any:
    """The JSON of the one ``<script type="application/json" id=block_id>`` in ``page``
    (None when there is none). The block is located by its exact opening tag and the first
    ``</script>`` after it; a genuine block escapes every ``<``, so one holding a ``<`` (text
    a browser might read differently) is refused, as are two blocks, duplicate keys, NaN."""
    opening = f'<script type="application/json" id="{block_id}">'
    count = page.count(opening)
    if count == 0:
        return None
    if count > 1:
        raise AuditError(f"the report holds {count} '{block_id}' blocks; a report has one")
    start = page.index(opening) + len(opening)
    end = page.find("</script>", start)
    if end < 0:
        raise AuditError(f"the '{block_id}' block is not closed: the file is truncated")
    text = page[start:end]
    if "<" in text:
        raise AuditError(f"the '{block_id}' block holds a raw '<' (a report escapes every "
                         "one): it was edited")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise AuditError(f"the '{block_id}' block is not valid JSON "
                         f"({first_line(err, 80)})") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key is repeated")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------- checking the block


def check_block(block: Any, expected_key: bytes | None = None,
                fingerprint: str | None = None) -> dict[str, Any]:
    """Check a parsed audit block (see `verify_report`); the summary, or `AuditError`."""
    review = _review_part(block)
    events = _events_part(block, review["id"])
    head = _check_chain(events)
    sig = _signature_part(block)
    public_raw = signing.public_raw_from_pem(sig["public_key"], "the embedded public key")
    if signing.fingerprint(public_raw) != sig["fingerprint"]:
        raise AuditError("the embedded fingerprint is not the embedded public key's")
    _check_signed_head(sig, head)
    message = signing.head_message(review["id"], review["model_sha256"],
                                   review["data_sha256"], *head)
    if sig["message"] != message.decode("utf-8") or not signing.signature_valid(
            public_raw, message, bytes.fromhex(sig["value"])):
        raise AuditError(f"the signature of event {head[0]} does not verify with the embedded "
                         "key: the trail, its files or the key were changed after signing")
    _check_expected_key(public_raw, expected_key, fingerprint)
    return {"ok": True, "review": review["id"], "model_sha256": review["model_sha256"],
            "data_sha256": review["data_sha256"], "events": len(events), "head": head[1],
            "signed_event": head[0], "fingerprint": sig["fingerprint"],
            "key_checked": expected_key is not None or fingerprint is not None}


def _review_part(block: Any) -> dict[str, Any]:
    if not isinstance(block, dict) or block.get("format") != AUDIT_FORMAT:
        raise AuditError(f"the audit block is not in the format {AUDIT_FORMAT}")
    review = block.get("review")
    if not isinstance(review, dict) or not _is_int(review.get("id")) or not all(
            _is_hex64(review.get(k)) for k in ("model_sha256", "data_sha256")):
        raise AuditError("the audit block's review lacks its id or its files' SHA-256")
    return review


def _events_part(block: dict, review_id: int) -> list[dict[str, Any]]:
    events = block.get("events")
    if not isinstance(events, list):
        raise AuditError("the audit block has no list of events")
    for position, ev in enumerate(events, 1):
        if not isinstance(ev, dict) or set(ev) != set(EVENT_KEYS):
            raise AuditError(f"the audit block's event {position} does not have the fields "
                             f"{', '.join(EVENT_KEYS)}")
        if not (_is_int(ev["id"]) and _is_int(ev["review_id"])
                and all(isinstance(ev[k], str) for k in ("at", "actor", "action"))
                and (ev["row"] is None or _is_int(ev["row"])) and isinstance(ev["payload"], dict)
                and _is_hex64(ev["prev_hash"]) and _is_hex64(ev["hash"])):
            raise AuditError(f"the audit block's event {position} has a field of the wrong type")
        if ev["review_id"] != review_id:
            raise AuditError(f"event {ev['id']} belongs to review {ev['review_id']}, not to "
                             f"review {review_id}")
    return events


def _check_chain(events: list[dict[str, Any]]) -> tuple[int, str]:
    """Every hash recomputed and every link followed; the head ``(event id, hash)``."""
    prev = GENESIS_HASH
    for ev in events:
        if ev["prev_hash"] != prev:
            raise AuditError(f"the audit trail fails at event {ev['id']}: it does not follow "
                             "the event before it (an event was removed, added or reordered)")
        content = event_content(ev["review_id"], ev["at"], ev["actor"], ev["action"], ev["row"],
                                ev["payload"])
        try:
            recomputed = event_hash(prev, content)
        except (TypeError, ValueError, RecursionError):
            recomputed = None  # a payload no Glassbox could have hashed
        if recomputed != ev["hash"]:
            raise AuditError(f"the audit trail fails at event {ev['id']}: its content no longer "
                             "matches its hash (a verdict, note, name, time or row was changed)")
        prev = ev["hash"]
    return (events[-1]["id"], prev) if events else (0, GENESIS_HASH)


def _signature_part(block: dict) -> dict[str, Any]:
    sig = block.get("signature")
    if not isinstance(sig, dict) or sig.get("algorithm") != signing.ALGORITHM:
        raise AuditError("the audit block has no Ed25519 signature")
    if not (_is_int(sig.get("event_id")) and _is_hex64(sig.get("hash"))
            and isinstance(sig.get("value"), str) and _HEX128.fullmatch(sig["value"])
            and isinstance(sig.get("public_key"), str) and isinstance(sig.get("message"), str)
            and _is_hex64(sig.get("fingerprint"))):
        raise AuditError("the audit block's signature lacks a field or has a malformed one")
    return sig


def _check_signed_head(sig: dict[str, Any], head: tuple[int, str]) -> None:
    """The signature must be of the trail's last event, as it stands."""
    event_id, digest = head
    if sig["event_id"] != event_id:
        raise AuditError(f"the signed head is event {sig['event_id']}, but the trail ends at "
                         f"event {event_id}: events were removed or added after signing")
    if sig["hash"] != digest:
        raise AuditError(f"the signed hash of event {event_id} is {sig['hash'][:16]}…, the "
                         f"trail's is {digest[:16]}…: the trail was changed after signing")


def _check_expected_key(public_raw: bytes, expected: bytes | None,
                        fingerprint: str | None) -> None:
    ours = signing.fingerprint(public_raw)
    if expected is not None and expected != public_raw:
        raise AuditError(f"the report is signed by the key {ours[:16]}…, not by the given key "
                         f"{signing.fingerprint(expected)[:16]}…")
    if fingerprint is not None and fingerprint.strip().lower() != ours:
        raise AuditError(f"the report is signed by the key {ours[:16]}…, not by the key "
                         f"{excerpt(fingerprint.strip(), 20)}")


def check_content(content: Any, block: dict[str, Any]) -> None:
    """The report's own review section (what its page shows) must be the signed trail."""
    review = content.get("review") if isinstance(content, dict) else None
    if not isinstance(review, dict):
        raise AuditError("the report's content has no review, yet it carries a signed trail")
    signed = block["review"]
    files = (_field(content, "model", "sha256"), _field(content, "dataset", "sha256"))
    if review.get("id") != signed["id"] or files != (signed["model_sha256"],
                                                     signed["data_sha256"]):
        raise AuditError("the report's review or files are not the signed trail's")
    shown = review.get("events")
    if shown != block["events"]:
        raise AuditError("the report's audit table differs from its signed trail "
                         + _first_difference(shown, block["events"]))
    pins = [p.to_json() for p in fold_pins(Event(**e) for e in block["events"])]
    if review.get("pins") != pins or _sample_pins(content) != _sample_pins_of(content, pins):
        raise AuditError("the report's verdicts and notes differ from its signed trail")


def _first_difference(shown: Any, signed: list[dict[str, Any]]) -> str:
    """Where two event lists part: "at event N", or "after event N" for extra events."""
    shown = shown if isinstance(shown, list) else []
    for i, theirs in enumerate(signed):
        if i >= len(shown) or shown[i] != theirs:
            return f"at event {theirs['id']}"
    return f"after event {signed[-1]['id']}" if signed else "(it lists events; none is signed)"


def _field(content: dict, part: str, key: str) -> Any:
    value = content.get(part)
    return value.get(key) if isinstance(value, dict) else None


def _sample_pins(content: dict) -> list[Any]:
    return [s.get("review") for s in content.get("samples") or [] if isinstance(s, dict)]


def _sample_pins_of(content: dict, pins: list[dict]) -> list[Any]:
    """Each explained row's pins as `report.build_report` puts them beside the row."""
    return [[p for p in pins if p["row"] == s.get("row")]
            for s in content.get("samples") or [] if isinstance(s, dict)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None
