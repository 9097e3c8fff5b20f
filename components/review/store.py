"""The persistent workspace: stored uploads, review sessions and their append-only audit trail.

Uploaded models and datasets are kept content-addressed: the bytes go to
``root/blobs/<sha[:2]>/<sha>`` (the path comes from the SHA-256 alone, never from a file
name) and their metadata to a SQL database through SQLAlchemy 2 Core, SQLite by default
(``root/glassbox.db``) or any PostgreSQL URL. Reopening the app lists what was stored before.

A review belongs to one (model, dataset) pair. Every review action is an `Event` in an
append-only trail: nothing is ever updated or deleted, by this module (it has no method for
it) or through the database (triggers refuse UPDATE and DELETE on the events table). Each
event stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical JSON of its content)``,
so an edit or removal made behind Glassbox's back shows up in `Store.verify`. The head of the
chain is signed at each append with the server's Ed25519 key (`components.review.signing`):
one row per event in the append-only ``signatures`` table, which `Store.verify` checks for
the last event and `Store.signed_review` hands to the report.

The pinned samples of a review are not stored: `fold_pins` derives them by replaying the
trail in order (``pin``, ``unpin``, ``assess``). An ``assess`` of a row that is not pinned pins
it; a later ``assess`` replaces the current verdict while the earlier one stays in the trail.

Streamlit-free and TensorFlow-free: the UI and the CLI both use it.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    delete,
    event,
    exists,
    insert,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateTable

from components.errors import GlassboxError, excerpt, first_line, quote_names
from components.review import signing
from components.review.access import (
    LOCAL_TEAM,
    AccessError,
    Principal,
    TeamsFile,
    check_role,
    check_team,
    member_key,
)

VERDICTS: tuple[str, ...] = ("ok", "concern", "needs follow-up")
ACTIONS = ("pin", "unpin", "assess", "explain", "report", "export")
KINDS = ("model", "dataset")
ROW_ACTIONS = ("pin", "unpin", "assess")  # these name a sample row; the others may
GENESIS_HASH = "0" * 64  # the prev_hash of a review's first event
ADVISORY_BASE = 0x61756469740000  # PostgreSQL advisory-lock keys of review trails ("audit")
MAX_ACTOR_CHARS = 100
MAX_NOTE_CHARS = 10_000
MAX_NAME_CHARS = 255
MAX_PAYLOAD_CHARS = 100_000  # parameters and seeds, not results: keeps the trail small
APPEND_ONLY_MESSAGE = "audit events are append-only"
WORKSPACE_ENV = "GLASSBOX_WORKSPACE"
DATABASE_ENV = "GLASSBOX_DATABASE_URL"
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
UNAUTHENTICATED = "unauthenticated"  # the actor of what nobody signed in did (the CLI)
APPEND_ONLY_TABLES = ("events", "signatures")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StoreError(GlassboxError):
    """The workspace or the audit trail refused a request, or found stored data damaged."""


@dataclass(frozen=True)
class Artifact:
    """A stored upload: ``kind`` is ``"model"`` or ``"dataset"``; ``name`` is the first name
    it was uploaded under (display only); ``created_at`` is ISO-8601 UTC to the second."""

    sha256: str
    kind: str
    name: str
    size: int
    created_at: str


@dataclass(frozen=True)
class Review:
    """The review session of one (model, dataset) pair in one team's workspace."""

    id: int
    model_sha256: str
    data_sha256: str
    created_at: str
    team: str = LOCAL_TEAM


@dataclass(frozen=True)
class Member:
    """A member an admin added to a team in the app (the teams file and the provider's
    groups claim name others: `components.review.access`)."""

    team: str
    member: str
    role: str
    added_by: str
    created_at: str


@dataclass(frozen=True)
class Event:
    """One entry of a review's audit trail: who (``actor``) did what, when, to which row."""

    id: int
    review_id: int
    at: str
    actor: str
    action: str
    row: int | None
    payload: dict
    prev_hash: str
    hash: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HeadSignature:
    """The server's signature of a trail's head (`signing.head_message` of these fields):
    ``event_id`` and ``hash`` name the last event (0 and `GENESIS_HASH` for an empty trail);
    ``signature`` is 128 hex digits, ``public_key`` PEM, ``fingerprint`` its SHA-256."""

    review_id: int
    model_sha256: str
    data_sha256: str
    event_id: int
    hash: str
    algorithm: str
    fingerprint: str
    signature: str
    public_key: str

    def message(self) -> bytes:
        return signing.head_message(self.review_id, self.model_sha256, self.data_sha256,
                                    self.event_id, self.hash)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Pin:
    """A pinned sample as the trail leaves it: ``verdict`` is None until it is assessed;
    ``reviewer`` made the latest change (pin or assessment)."""

    row: int
    verdict: str | None
    note: str
    reviewer: str
    pinned_at: str
    updated_at: str

    def to_json(self) -> dict:
        return asdict(self)


# Explicit constraint names: the same schema, and the same error texts, on every database.
METADATA = MetaData(naming_convention={
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
})

ARTIFACTS = Table(
    "artifacts", METADATA,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(MAX_NAME_CHARS), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", String(20), nullable=False),
    UniqueConstraint("sha256", "kind"),
    CheckConstraint("kind IN ('model', 'dataset')", name="kind"),
)

# Which model each stored dataset passed its checks against, and that model's input
# signature (`components.data.session.input_signature`, e.g. "tabular:13"): the sidebar
# offers a model only the datasets that fit it. A dataset gets a row per model it fitted.
DATASET_FITS = Table(
    "dataset_fits", METADATA,
    Column("id", Integer, primary_key=True),
    Column("data_sha256", String(64), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("signature", String(MAX_NAME_CHARS), nullable=False),
    Column("created_at", String(20), nullable=False),
    UniqueConstraint("data_sha256", "model_sha256"),
)

REVIEWS = Table(
    "reviews", METADATA,
    Column("id", Integer, primary_key=True),
    Column("model_sha256", String(64), nullable=False),
    Column("data_sha256", String(64), nullable=False),
    Column("created_at", String(20), nullable=False),
    # No UNIQUE (model, data): each team has its own review of a pair (REVIEW_TEAMS holds
    # that uniqueness). A database made before teams loses it in `_create_schema`.
)

# --- team workspaces (`components.review.access`). New tables, never new columns: an
# existing database gains them on open. An item or review with no row here was stored
# before teams and belongs to the single-user team (`access.LOCAL_TEAM`).

# Which teams hold a stored file: one row per (kind, digest, team). The same bytes uploaded
# by two teams are one blob with two rows; each team sees it only through its own row.
ITEM_TEAMS = Table(
    "item_teams", METADATA,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("team", String(64), nullable=False),
    Column("created_at", String(20), nullable=False),
    UniqueConstraint("kind", "sha256", "team"),
)

# The team a review belongs to: one review per (team, model, dataset).
REVIEW_TEAMS = Table(
    "review_teams", METADATA,
    Column("review_id", Integer, ForeignKey("reviews.id"), primary_key=True),
    Column("team", String(64), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("data_sha256", String(64), nullable=False),
    UniqueConstraint("team", "model_sha256", "data_sha256"),
)

# The team that started a batch job (`BATCH_RUNS`): only its members see the job. A job with
# no row here was started before teams and is the single-user team's.
BATCH_RUN_TEAMS = Table(
    "batch_run_teams", METADATA,
    Column("run_id", Integer, ForeignKey("batch_runs.id"), primary_key=True),
    Column("team", String(64), nullable=False),
)

# Members an admin added in the app; ``member`` is an e-mail (lowercase) or a subject.
MEMBERSHIPS = Table(
    "memberships", METADATA,
    Column("id", Integer, primary_key=True),
    Column("team", String(64), nullable=False),
    Column("member", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("added_by", String(100), nullable=False),
    Column("created_at", String(20), nullable=False),
    UniqueConstraint("team", "member"),
    CheckConstraint("role IN ('viewer', 'reviewer', 'admin')", name="role"),
)

# The role each action needs in the review's team, and how a refusal names the action.
ACTION_ROLES = {"pin": "reviewer", "unpin": "reviewer", "assess": "reviewer",
                "report": "reviewer", "explain": "viewer", "export": "viewer"}
ACTION_WORDS = {"pin": "pinning a sample", "unpin": "unpinning a sample",
                "assess": "recording a verdict or note", "report": "building a report",
                "explain": "recording an explanation", "export": "exporting the trail"}

EVENTS = Table(
    "events", METADATA,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False),
    Column("at", String(20), nullable=False),
    Column("actor", String(MAX_ACTOR_CHARS), nullable=False),
    Column("action", String(16), nullable=False),
    Column("row", Integer, nullable=True),
    Column("payload", Text, nullable=False),  # canonical JSON, as hashed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # One successor per event: two writers that read the same last hash cannot both append.
    UniqueConstraint("review_id", "prev_hash"),
    CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")", name="action"),
    sqlite_autoincrement=True,  # ids are never reused (ignored by other dialects)
)

# The signature of the chain's head at each append: one row per event, written in the same
# transaction. A table of its own (existing databases gain it; `create_all` adds no column),
# and no foreign key, so the events table's own refusals stay the first to answer.
SIGNATURES = Table(
    "signatures", METADATA,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, nullable=False),
    Column("review_id", Integer, nullable=False),
    Column("hash", String(64), nullable=False),  # the event's hash, as signed
    Column("algorithm", String(16), nullable=False),
    Column("key_fingerprint", String(64), nullable=False),
    Column("signature", String(128), nullable=False),  # hex
    UniqueConstraint("event_id"),
    sqlite_autoincrement=True,
)

# Batch jobs started from the app (`components.review.batch_runs`): what was asked, where the
# result goes, the process running it, and how it ended. A job outlives the browser tab.
BATCH_STATES = ("running", "done", "failed", "stopped")
BATCH_RUNS = Table(
    "batch_runs", METADATA,
    Column("id", Integer, primary_key=True),
    Column("model_sha256", String(64), nullable=False),
    Column("data_sha256", String(64), nullable=False),
    Column("request", Text, nullable=False),  # JSON: methods, target, rows, seed
    Column("pid", Integer, nullable=True),
    Column("state", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", String(20), nullable=False),
    Column("finished_at", String(20), nullable=True),
    CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in BATCH_STATES) + ")",
                    name="state"),
)

_SQLITE_APPEND_ONLY = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table}
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""
    for table in APPEND_ONLY_TABLES for verb in ("UPDATE", "DELETE")
]

_POSTGRES_APPEND_ONLY = [
    f"""CREATE OR REPLACE FUNCTION glassbox_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$ BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $fn$""",
    # CREATE TRIGGER has no IF NOT EXISTS before PostgreSQL 14 (OR REPLACE): check the catalog.
    *(f"""DO $do$ BEGIN
IF NOT EXISTS (SELECT 1 FROM pg_trigger
               WHERE tgname = '{table}_append_only' AND tgrelid = '{table}'::regclass) THEN
  CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION glassbox_events_append_only();
END IF;
IF NOT EXISTS (SELECT 1 FROM pg_trigger
               WHERE tgname = '{table}_no_truncate' AND tgrelid = '{table}'::regclass) THEN
  CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION glassbox_events_append_only();
END IF;
END $do$""" for table in APPEND_ONLY_TABLES),
]


def append_only_ddl(dialect: str) -> list[str]:
    """The statements that make the events and signatures tables refuse UPDATE and DELETE
    on ``dialect``."""
    if dialect == "sqlite":
        return list(_SQLITE_APPEND_ONLY)
    if dialect == "postgresql":
        return list(_POSTGRES_APPEND_ONLY)
    raise StoreError(f"the database '{dialect}' is not supported (use SQLite or PostgreSQL)")


# --- plain helpers ------------------------------------------------------------------------


def default_root() -> Path:
    """``$GLASSBOX_WORKSPACE``, else ``<repo root>/workspace``."""
    configured = os.environ.get(WORKSPACE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(__file__).resolve().parents[2] / "workspace"


def default_database_url(root: Path) -> str:
    """``$GLASSBOX_DATABASE_URL``, else a SQLite file ``glassbox.db`` inside ``root``."""
    configured = os.environ.get(DATABASE_ENV, "").strip()
    return configured or f"sqlite:///{Path(root) / 'glassbox.db'}"


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, fit to show or log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        # Unparseable: any part of it could be a secret.
        return "<unreadable database URL>"


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value`` that is hashed and stored: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def event_hash(prev_hash: str, content: dict) -> str:
    """sha256 over the previous event's hash followed by this event's canonical content."""
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def event_content(review_id: int, at: str, actor: str, action: str, row: int | None,
                  payload: dict) -> dict:
    """What an event's hash covers: everything but its id and the hashes themselves."""
    return {"review_id": review_id, "at": at, "actor": actor, "action": action, "row": row,
            "payload": payload}


def fold_pins(events: Iterable[Event]) -> list[Pin]:
    """The pinned samples after replaying ``events`` in order, sorted by row."""
    pins: dict[int, Pin] = {}
    for ev in events:
        if ev.row is None:
            continue
        current = pins.get(ev.row)
        if ev.action == "pin" and current is None:
            pins[ev.row] = Pin(ev.row, None, "", ev.actor, ev.at, ev.at)
        elif ev.action == "unpin":
            pins.pop(ev.row, None)
        elif ev.action == "assess":
            pinned_at = current.pinned_at if current is not None else ev.at
            pins[ev.row] = Pin(ev.row, ev.payload.get("verdict"), ev.payload.get("note", ""),
                               ev.actor, pinned_at, ev.at)
    return [pins[row] for row in sorted(pins)]


def _now() -> str:
    """UTC now, ISO-8601 to the second (a module function so tests can set the clock)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown(value: Any, limit: int = 40) -> str:
    """A user-supplied value quoted for a one-line message (repr escapes newlines)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- validation (each raises StoreError with one line) ------------------------------------


def _check_sha(sha256: Any, what: str = "digest") -> str:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise StoreError(f"the {what} {_shown(sha256)} is not a SHA-256 (64 lowercase hex digits)")
    return sha256


def _check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise StoreError(f"unknown kind {_shown(kind)} (expected one of: {quote_names(KINDS)})")
    return kind


def _check_text(value: Any, what: str, limit: int) -> str:
    """A stripped, non-empty, single-line name of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise StoreError(f"{what} must be text, not {type(value).__name__}")
    value = value.strip()
    if not value:
        raise StoreError(f"{what} is empty")
    if len(value) > limit:
        raise StoreError(f"{what} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise StoreError(f"{what} contains control characters")
    return value


def _check_int(value: Any, what: str) -> int:
    # numbers.Integral takes numpy integers (dataframe indices); bool is refused on purpose.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise StoreError(f"{what} must be an integer, not {type(value).__name__}")
    return int(value)


def _check_row(action: str, row: Any) -> int | None:
    if row is None:
        if action in ROW_ACTIONS:
            raise StoreError(f"the action '{action}' needs a row")
        return None
    row = _check_int(row, "row")
    if row < 0:
        raise StoreError(f"row must be 0 or more, not {row}")
    return row


def _check_payload(action: str, payload: Any) -> tuple[dict, str]:
    """``payload`` as stored (after a JSON round trip) and its canonical text."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise StoreError(f"payload must be a dict, not {type(payload).__name__}")
    if action == "assess":
        if payload.get("verdict") not in VERDICTS:
            raise StoreError(f"verdict must be one of {quote_names(VERDICTS)}, "
                             f"not {_shown(payload.get('verdict'))}")
        note = payload.get("note", "")
        if not isinstance(note, str):
            raise StoreError(f"note must be text, not {type(note).__name__}")
        if len(note) > MAX_NOTE_CHARS:
            raise StoreError(f"note is longer than {MAX_NOTE_CHARS} characters")
    try:
        text = canonical_json(payload)
        text.encode("utf-8")  # lone surrogates cannot be hashed or stored
    except (TypeError, ValueError) as err:
        raise StoreError(f"payload is not JSON-serialisable: {first_line(err, 120)}") from None
    if len(text) > MAX_PAYLOAD_CHARS:
        raise StoreError(f"payload is longer than {MAX_PAYLOAD_CHARS} characters as JSON")
    # What is returned is what a later read gives back (tuples become lists, and so on).
    return json.loads(text), text


# --- engine -------------------------------------------------------------------------------

_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _writer_lock(url: str) -> threading.Lock:
    """One lock per database URL in this process, shared by every Store opened on it.

    Streamlit sessions are threads of one process: they must not read the same last hash and
    both append after it. Other processes are stopped by the unique (review_id, prev_hash).
    """
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(url, threading.Lock())


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work while a writer appends; SQLite enforces foreign keys on request."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _open_engine(url: str) -> Engine:
    """An engine for ``url``; errors name the URL with its password masked."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        # Not chained: SQLAlchemy's message quotes the whole URL, password included.
        raise StoreError(f"the database URL {mask_url(url)} is not valid") from None
    options: dict[str, Any] = {"future": True}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        # Sessions are threads; a writer may hold the file briefly, so wait rather than fail.
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool  # one in-memory database, not one per thread
    try:
        engine = create_engine(parsed, **options)
    except (SQLAlchemyError, ImportError) as err:
        raise StoreError(f"cannot open the database {mask_url(url)}: {first_line(err)}") from None
    if sqlite:
        event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- the store ----------------------------------------------------------------------------


class Store:
    """Stored uploads, reviews and their audit trails under ``root`` and in one database.

    ``url`` is the database URL with any password masked; ``key_path`` the signing key's
    file (`signing.key_path`: ``signing_key``, ``$GLASSBOX_SIGNING_KEY`` or
    ``root/signing_key.pem``), read or created on first use. Safe to share between threads.
    """

    root: Path
    url: str
    key_path: Path

    def __init__(self, root: Path | str | None = None, database_url: str | None = None,
                 signing_key: Path | str | None = None) -> None:
        self.root = Path(root if root is not None else default_root()).expanduser().resolve()
        raw_url = database_url or default_database_url(self.root)
        self.url = mask_url(raw_url)
        self.key_path = signing.key_path(self.root, signing_key)
        self._signer: signing.Signer | None = None
        self._blobs = self.root / "blobs"
        self._lock = _writer_lock(raw_url)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._blobs.mkdir(mode=0o700, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the workspace folder {self.root}: "
                             f"{err.strerror or first_line(err)}") from err
        self._engine = _open_engine(raw_url)  # once per Store: dispose() releases it
        self._create_schema()

    @classmethod
    def from_env(cls) -> Store:
        """The store that ``$GLASSBOX_WORKSPACE`` and ``$GLASSBOX_DATABASE_URL`` name."""
        return cls()

    def __repr__(self) -> str:
        return f"Store(root={str(self.root)!r}, url={self.url!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for maintenance and tests; the API never edits events)."""
        return self._engine

    def dispose(self) -> None:
        """Close the pooled connections (the store reconnects if used again)."""
        self._engine.dispose()

    def signing_key(self) -> signing.Signer:
        """The server's signing key, loaded once (created on first use)."""
        if self._signer is None:
            self._signer = signing.load_or_create(self.key_path)
        return self._signer

    # --- files ----------------------------------------------------------------------------

    def put(self, kind: str, name: str, data: bytes,
            principal: Principal | None = None) -> Artifact:
        """Store ``data`` (once per content) and return its metadata; with a ``principal``,
        the file joins their open team's workspace.

        The blob is written before its row, so a listed artifact always has its bytes. The
        same bytes stored again keep the first name; as the other ``kind`` they get a row of
        their own and share the blob.
        """
        kind = _check_kind(kind)
        name = _check_text(name, "the file name", MAX_NAME_CHARS)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StoreError(f"file contents must be bytes, not {type(data).__name__}")
        data = bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        self._write_blob(sha256, data)
        with self._lock, self._database("saving the file's details"):
            if (found := self.artifact(sha256, kind)) is not None:
                self._own(kind, sha256, principal, existed=True)
                return found
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(ARTIFACTS).values(
                        sha256=sha256, kind=kind, name=name, size=len(data),
                        created_at=_now()))
            except IntegrityError:
                pass  # another process stored it first: its row (and name) stands
            found = self.artifact(sha256, kind)
        if found is None:  # pragma: no cover - the row was just written
            raise StoreError(f"stored file {sha256[:12]}… has no details in the database")
        self._own(kind, sha256, principal, existed=False)
        return found

    def put_dataset(self, name: str, data: bytes, *, model_sha256: str,
                    signature: str, principal: Principal | None = None) -> Artifact:
        """Store a dataset that PASSED its checks against the model ``model_sha256`` (the
        caller checked it: see `components.review.keeping`), and remember that it fits
        that model and any model whose input has the same ``signature``."""
        model_sha256 = _check_sha(model_sha256, "model digest")
        signature = _check_text(signature, "the input signature", MAX_NAME_CHARS)
        artifact = self.put("dataset", name, data, principal)
        with self._lock, self._database("saving which model the dataset fits"):
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(DATASET_FITS).values(
                        data_sha256=artifact.sha256, model_sha256=model_sha256,
                        signature=signature, created_at=_now()))
            except IntegrityError:
                pass  # already recorded for this model
        return artifact

    def datasets_for(self, model_sha256: str, signature: str,
                     principal: Principal | None = None) -> list[Artifact]:
        """Stored datasets that fit a model, newest first: those that passed their checks
        against this very model, or against a model whose input has the same signature
        (only the ``principal``'s teams' datasets when given)."""
        fits = select(DATASET_FITS.c.data_sha256).where(
            (DATASET_FITS.c.model_sha256 == model_sha256)
            | (DATASET_FITS.c.signature == signature))
        query = (select(ARTIFACTS).where(ARTIFACTS.c.kind == "dataset",
                                         ARTIFACTS.c.sha256.in_(fits),
                                         _item_visible(principal))
                 .order_by(ARTIFACTS.c.created_at.desc(), ARTIFACTS.c.id.desc()))
        with self._database("listing stored datasets"), self._engine.connect() as conn:
            return [_artifact(row) for row in conn.execute(query)]

    def has(self, sha256: str) -> bool:
        """Whether bytes with this digest are stored (False for anything not a digest)."""
        return (isinstance(sha256, str) and bool(_SHA256.fullmatch(sha256))
                and self._blob_path(sha256).is_file())

    def read(self, sha256: str, principal: Principal | None = None) -> bytes:
        """The stored bytes, re-hashed so damage on disk is reported, never returned. A file
        none of the ``principal``'s teams holds reads as missing."""
        sha256 = _check_sha(sha256)
        if principal is not None and self.artifact(sha256, principal=principal) is None:
            raise StoreError(f"stored file {sha256[:12]}… is missing")
        try:
            data = self._blob_path(sha256).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"stored file {sha256[:12]}… is missing") from None
        except OSError as err:
            raise StoreError(f"stored file {sha256[:12]}… cannot be read: "
                             f"{err.strerror or first_line(err)}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"stored file {sha256[:12]}… is corrupted "
                             "(its SHA-256 no longer matches)")
        return data

    def artifacts(self, kind: str | None = None,
                  principal: Principal | None = None) -> list[Artifact]:
        """Stored uploads, newest first (of one ``kind`` if given; of the ``principal``'s
        teams if given)."""
        query = select(ARTIFACTS).where(_item_visible(principal)).order_by(
            ARTIFACTS.c.created_at.desc(), ARTIFACTS.c.id.desc())
        if kind is not None:
            query = query.where(ARTIFACTS.c.kind == _check_kind(kind))
        with self._database("listing stored files"), self._engine.connect() as conn:
            return [_artifact(row) for row in conn.execute(query)]

    def artifact(self, sha256: str, kind: str | None = None,
                 principal: Principal | None = None) -> Artifact | None:
        """The metadata of one upload; without ``kind``, the first stored of either kind.
        None when the ``principal``'s teams hold no such file (as if it did not exist)."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            return None
        query = select(ARTIFACTS).where(ARTIFACTS.c.sha256 == sha256,
                                        _item_visible(principal)).order_by(ARTIFACTS.c.id)
        if kind is not None:
            query = query.where(ARTIFACTS.c.kind == _check_kind(kind))
        with self._database("reading a stored file's details"), self._engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        return None if row is None else _artifact(row)

    # --- batch jobs -----------------------------------------------------------------------

    def add_batch_run(self, model_sha256: str, data_sha256: str, request: dict,
                      principal: Principal | None = None) -> int:
        """Record a batch job about to start, in the ``principal``'s open team; its id."""
        model_sha256 = _check_sha(model_sha256, "model digest")
        data_sha256 = _check_sha(data_sha256, "data digest")
        team = LOCAL_TEAM if principal is None else _open_team(principal)
        with self._lock, self._database("recording the batch job"), \
                self._engine.begin() as conn:
            result = conn.execute(insert(BATCH_RUNS).values(
                model_sha256=model_sha256, data_sha256=data_sha256,
                request=canonical_json(request), pid=None,
                state="running", message="", created_at=_now()))
            run_id = int(result.inserted_primary_key[0])
            conn.execute(insert(BATCH_RUN_TEAMS).values(run_id=run_id, team=team))
            return run_id

    def mark_batch_run(self, run_id: int, *, state: str | None = None, pid: int | None = None,
                      message: str | None = None) -> None:
        """Update a batch job's process, state or message (finished_at set on an end)."""
        values: dict[str, Any] = {}
        if state is not None:
            if state not in BATCH_STATES:
                raise StoreError(f"unknown batch state {state!r}")
            values["state"] = state
            values["finished_at"] = None if state == "running" else _now()
        if pid is not None:
            values["pid"] = int(pid)
        if message is not None:
            values["message"] = excerpt(message, 500) if message else ""
        with self._lock, self._database("updating the batch job"), \
                self._engine.begin() as conn:
            conn.execute(BATCH_RUNS.update().where(
                BATCH_RUNS.c.id == _check_int(run_id, "batch job id")).values(**values))

    def batch_run(self, run_id: int, principal: Principal | None = None
                  ) -> dict[str, Any] | None:
        """One batch job as a plain dict (``request`` parsed), or None (also when it is
        another team's than the ``principal``'s)."""
        query = select(BATCH_RUNS).where(
            BATCH_RUNS.c.id == _check_int(run_id, "batch job id"), _run_visible(principal))
        with self._database("reading a batch job"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else {**row._asdict(), "request": json.loads(row.request)}

    def batch_runs(self, model_sha256: str, data_sha256: str,
                   principal: Principal | None = None) -> list[dict[str, Any]]:
        """The batch jobs of this (model, dataset) pair, newest first, as plain dicts (of
        the ``principal``'s teams when given)."""
        query = select(BATCH_RUNS).where(
            BATCH_RUNS.c.model_sha256 == _check_sha(model_sha256, "model digest"),
            BATCH_RUNS.c.data_sha256 == _check_sha(data_sha256, "data digest"),
            _run_visible(principal),
        ).order_by(BATCH_RUNS.c.id.desc())
        with self._database("listing batch jobs"), self._engine.connect() as conn:
            return [{**row._asdict(), "request": json.loads(row.request)}
                    for row in conn.execute(query)]

    # --- reviews --------------------------------------------------------------------------

    def review_for(self, model_sha256: str, data_sha256: str,
                   principal: Principal | None = None) -> Review:
        """The review of this (model, dataset) pair in the ``principal``'s open team (the
        local team without one), created on first use: each team reviews on its own."""
        model_sha256 = _check_sha(model_sha256, "model digest")
        data_sha256 = _check_sha(data_sha256, "dataset digest")
        team = LOCAL_TEAM if principal is None else _open_team(principal)
        query = _reviews_query().where(REVIEWS.c.model_sha256 == model_sha256,
                                       REVIEWS.c.data_sha256 == data_sha256,
                                       _review_in(team)).order_by(REVIEWS.c.id).limit(1)
        with self._lock, self._database("opening a review"):
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
            if row is None:
                try:
                    with self._engine.begin() as conn:
                        new = conn.execute(insert(REVIEWS).values(
                            model_sha256=model_sha256, data_sha256=data_sha256,
                            created_at=_now())).inserted_primary_key[0]
                        conn.execute(insert(REVIEW_TEAMS).values(
                            review_id=new, team=team, model_sha256=model_sha256,
                            data_sha256=data_sha256))
                except IntegrityError:
                    pass  # another process opened it first: use that one
                with self._engine.connect() as conn:
                    row = conn.execute(query).one()
        return _review(row)

    def review(self, review_id: int, principal: Principal | None = None) -> Review | None:
        """The review with this id, or None (also when it is another team's)."""
        if isinstance(review_id, bool) or not isinstance(review_id, numbers.Integral):
            return None
        query = _reviews_query().where(REVIEWS.c.id == int(review_id),
                                       _review_visible(principal))
        with self._database("reading a review"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _review(row)

    def reviews(self, principal: Principal | None = None) -> list[Review]:
        """All reviews (of the ``principal``'s teams if given), newest first."""
        query = _reviews_query().where(_review_visible(principal)).order_by(
            REVIEWS.c.created_at.desc(), REVIEWS.c.id.desc())
        with self._database("listing reviews"), self._engine.connect() as conn:
            return [_review(row) for row in conn.execute(query)]

    # --- members --------------------------------------------------------------------------

    def stored_teams(self) -> TeamsFile:
        """The members admins added in the app, shaped like a teams file (team -> member ->
        role), for `access.principal_from_claims`."""
        out: TeamsFile = {}
        with self._database("reading the team members"), self._engine.connect() as conn:
            for row in conn.execute(select(MEMBERSHIPS)):
                out.setdefault(row.team, {})[row.member] = row.role
        return out

    def members(self, team: str, principal: Principal | None = None) -> list[Member]:
        """The members added to ``team`` in the app, by name; the team's own members only."""
        if principal is not None and principal.role_in(team) is None:
            raise StoreError(f"there is no team '{excerpt(team, 40)}' of yours")
        query = select(MEMBERSHIPS).where(MEMBERSHIPS.c.team == team).order_by(
            MEMBERSHIPS.c.member)
        with self._database("reading the team members"), self._engine.connect() as conn:
            return [Member(r.team, r.member, r.role, r.added_by, r.created_at)
                    for r in conn.execute(query)]

    def grant_member(self, principal: Principal, team: str, member: str, role: str) -> Member:
        """Add ``member`` (an e-mail or a subject) to ``team`` with ``role``, or change their
        role. Needs the admin role in that team."""
        team, member, role = _checked_member(principal, team, member, role)
        values = {"role": role, "added_by": principal.actor, "created_at": _now()}
        with self._lock, self._database("saving a team member"), self._engine.begin() as conn:
            conn.execute(delete(MEMBERSHIPS).where(MEMBERSHIPS.c.team == team,
                                                   MEMBERSHIPS.c.member == member))
            conn.execute(insert(MEMBERSHIPS).values(team=team, member=member, **values))
        return Member(team, member, role, values["added_by"], values["created_at"])

    def revoke_member(self, principal: Principal, team: str, member: str) -> bool:
        """Take ``member`` out of ``team`` (an admin's act); False if they were not added in
        the app (members from the teams file or the groups claim stay)."""
        team, member, _ = _checked_member(principal, team, member, "viewer")
        with self._lock, self._database("removing a team member"), \
                self._engine.begin() as conn:
            return bool(conn.execute(delete(MEMBERSHIPS).where(
                MEMBERSHIPS.c.team == team, MEMBERSHIPS.c.member == member)).rowcount)

    # --- the audit trail ------------------------------------------------------------------

    def record(self, review_id: int, actor: str | Principal, action: str,
               row: int | None = None, payload: dict | None = None) -> Event:
        """Append one event to the review's trail and return it, chained to the last one.

        ``actor`` is a `Principal` (the app): the action needs its role in the review's team
        (`ACTION_ROLES`), the actor column says who they are (``email (sub)``, or
        ``unauthenticated``) and a signed-in principal's whole identity goes in the payload
        as ``identity``. A plain string is the host's operator (the CLI, maintenance).
        ``pin``, ``unpin`` and ``assess`` need a ``row``; ``assess`` needs
        ``payload={"verdict": one of VERDICTS, "note": text}``. The time is the server's.
        """
        review_id = _check_int(review_id, "review id")
        principal = actor if isinstance(actor, Principal) else None
        if principal is not None:
            actor = principal.actor
        actor = _check_text(actor, "the reviewer's name", MAX_ACTOR_CHARS)
        if action not in ACTIONS:
            raise StoreError(f"unknown action {_shown(action)} "
                             f"(expected one of: {quote_names(ACTIONS)})")
        row = _check_row(action, row)
        if principal is not None:
            self._require(review_id, principal, ACTION_ROLES[action], ACTION_WORDS[action])
            payload = _with_identity(payload, principal)
        payload, payload_text = _check_payload(action, payload)
        self.signing_key()  # a key that cannot be read refuses the event before it is written
        with self._database("recording a review action"):
            for _attempt in range(5):
                try:
                    with self._lock, self._engine.begin() as conn:
                        return self._append(conn, review_id, actor, action, row, payload,
                                            payload_text)
                except IntegrityError:
                    continue  # another process appended after the hash we read: read again
        raise StoreError(f"the audit trail of review {review_id} is busy; try again")

    def events(self, review_id: int, principal: Principal | None = None) -> list[Event]:
        """The review's trail, oldest first (another team's review: "there is no review")."""
        self._require(review_id, principal, "viewer", "reading the trail")
        return [_event(row) for row in self._event_rows(review_id)]

    def pins(self, review_id: int, principal: Principal | None = None) -> list[Pin]:
        """The review's pinned samples now, sorted by row (derived from the trail)."""
        return fold_pins(self.events(review_id, principal))

    def verify(self, review_id: int, principal: Principal | None = None) -> None:
        """Check every hash and link of the review's trail, and the signature of its last
        event (this server's key); raise naming the first bad event."""
        self._require(review_id, principal, "viewer", "reading the trail")
        review, rows, signatures = self._trail(review_id)
        _check_chain(review_id, rows)
        self._check_head(review, rows, signatures)

    def signed_review(self, review_id: int, principal: Principal | None = None) -> dict:
        """The review as a report embeds it, from one read of the trail, verified first:
        ``{"id", "model_sha256", "data_sha256", "pins", "events", "verified": True,
        "signature"}`` as plain dicts. A head left unsigned by an older Glassbox is signed
        now; an empty trail's genesis is signed without being stored."""
        self._require(review_id, principal, "viewer", "reading the trail")
        review, rows, signatures = self._trail(review_id)
        _check_chain(review_id, rows)
        self._check_head(review, rows, signatures)
        head = self._head_signature(review, rows, signatures)
        events = [_event(row) for row in rows]
        return {"id": review.id, "model_sha256": review.model_sha256,
                "data_sha256": review.data_sha256,
                "pins": [pin.to_json() for pin in fold_pins(events)],
                "events": [ev.to_json() for ev in events], "verified": True,
                "signature": head.to_json()}

    def _check_head(self, review: Row, rows: list[Row], signatures: dict[int, Row]) -> None:
        """The last event's signature: of its hash, by this server's key, valid. A trail
        with no signature at all (written before signing) passes; one whose earlier events
        are signed but not its last does not."""
        if not rows or not signatures:
            return
        head = rows[-1]
        stored = signatures.get(head.id)
        problem = None
        if stored is None:
            problem = "it is not signed, though earlier events are"
        elif stored.hash != head.hash:
            problem = "its signature is of another hash"
        elif stored.key_fingerprint != self.signing_key().fingerprint:
            problem = (f"it is signed by another key (fingerprint {stored.key_fingerprint[:16]}…"
                       f", this server's is {self.signing_key().fingerprint[:16]}…)")
        elif not _signature_ok(self.signing_key(), review, head.id, head.hash,
                               stored.signature):
            problem = "its signature does not verify"
        if problem is not None:
            raise StoreError(f"the audit trail of review {review.id} fails verification "
                             f"at event {head.id}: {problem}")

    def _head_signature(self, review: Row, rows: list[Row],
                        signatures: dict[int, Row]) -> HeadSignature:
        """The stored signature of the last event (written now if it has none yet)."""
        signer = self.signing_key()
        event_id, digest = (rows[-1].id, rows[-1].hash) if rows else (0, GENESIS_HASH)
        stored = signatures.get(event_id)
        if stored is None:
            values = _signature_values(signer, review, event_id, digest)
            if rows:
                with self._lock, self._database("signing the audit trail"):
                    try:
                        with self._engine.begin() as conn:
                            conn.execute(insert(SIGNATURES).values(**values))
                    except IntegrityError:
                        pass  # signed meanwhile by another process: that row stands
                    return self._head_signature(review, rows, self._trail(review.id)[2])
            signature = values["signature"]
        else:
            signature = stored.signature
        return HeadSignature(review.id, review.model_sha256, review.data_sha256, event_id,
                             digest, signing.ALGORITHM, signer.fingerprint, signature,
                             signer.public_pem)
    def export_rows(self, review_id: int, principal: Principal | None = None) -> list[dict]:
        """The trail as flat dicts (for CSV): the payload as its canonical JSON text."""
        return [{"id": ev.id, "at": ev.at, "actor": ev.actor, "action": ev.action,
                 "row": ev.row, "payload": canonical_json(ev.payload),
                 "prev_hash": ev.prev_hash, "hash": ev.hash}
                for ev in self.events(review_id, principal)]

    # --- internals ------------------------------------------------------------------------

    def _blob_path(self, sha256: str) -> Path:
        """Where bytes with this (already validated) digest live."""
        return self._blobs / sha256[:2] / sha256

    def _write_blob(self, sha256: str, data: bytes) -> None:
        """Write the blob unless present: temp file in the same folder, fsync, then rename,
        so a reader or a crash never sees a half-written file under the final name."""
        path = self._blob_path(sha256)
        if path.exists():
            return
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0o600
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise StoreError(f"cannot save the file in {self._blobs}: "
                             f"{err.strerror or first_line(err)}") from err
        _fsync_dir(path.parent)

    def _create_schema(self) -> None:
        """Create missing tables and the append-only triggers (idempotent)."""
        statements = append_only_ddl(self._engine.dialect.name)  # refuses other databases
        with self._lock, self._database("creating the tables"), self._engine.begin() as conn:
            METADATA.create_all(conn)
            for statement in statements:
                conn.exec_driver_sql(statement)
        with self._lock, self._database("opening reviews to teams"):
            self._drop_pair_uniqueness()

    def _drop_pair_uniqueness(self) -> None:
        """A database made before team workspaces has UNIQUE (model, data) on reviews, which
        would stop a second team reviewing a pair: drop it (PostgreSQL) or rebuild the table
        without it, ids and rows kept (SQLite cannot drop a constraint)."""
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Looked up first: ALTER TABLE locks the table even when there is nothing to do.
                if conn.exec_driver_sql("SELECT 1 FROM pg_constraint WHERE conname = "
                                        "'uq_reviews_model_sha256'").first() is not None:
                    conn.exec_driver_sql("ALTER TABLE reviews DROP CONSTRAINT IF EXISTS "
                                         "uq_reviews_model_sha256")
                conn.commit()
                return
            made = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                        "AND name = 'reviews'").scalar() or ""
            if "UNIQUE" not in made.upper():
                return
            create = str(CreateTable(REVIEWS).compile(dialect=conn.dialect)).strip()
            create = create.replace("CREATE TABLE reviews ", "CREATE TABLE reviews_new ", 1)
            conn.connection.driver_connection.executescript(
                "PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE; "
                f"{create}; INSERT INTO reviews_new (id, model_sha256, data_sha256, created_at) "
                "SELECT id, model_sha256, data_sha256, created_at FROM reviews; "
                "DROP TABLE reviews; ALTER TABLE reviews_new RENAME TO reviews; COMMIT; "
                "PRAGMA foreign_keys=ON;")

    def _own(self, kind: str, sha256: str, principal: Principal | None, existed: bool) -> None:
        """Put a stored file in the principal's open team. A file stored before teams (no
        team row yet) first gets the local team's row, so it stays where it was."""
        if principal is None:
            return
        team = _open_team(principal)
        held = select(ITEM_TEAMS.c.id).where(ITEM_TEAMS.c.kind == kind,
                                             ITEM_TEAMS.c.sha256 == sha256)
        with self._engine.connect() as conn:
            unowned = conn.execute(held.limit(1)).first() is None
        owners = [LOCAL_TEAM, team] if existed and unowned and team != LOCAL_TEAM else [team]
        for owner in owners:
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(ITEM_TEAMS).values(kind=kind, sha256=sha256,
                                                           team=owner, created_at=_now()))
            except IntegrityError:
                pass  # the team holds it already

    def _require(self, review_id: int, principal: Principal | None, role: str,
                 doing: str) -> None:
        """Refuse unless ``principal`` holds ``role`` in the review's team; another team's
        review is refused exactly as a missing one. No principal: the host's operator."""
        if principal is None:
            return
        review = self.review(review_id, principal)
        if review is None:
            raise StoreError(f"there is no review with id {review_id}")
        if not principal.has(review.team, role):
            held = principal.role_in(review.team)
            raise StoreError(f"{doing} needs the {role} role; you are a {held} in the team "
                             f"'{review.team}'")

    def _append(self, conn: Connection, review_id: int, actor: str, action: str,
                row: int | None, payload: dict, payload_text: str) -> Event:
        """Insert the next event of the review's chain (inside the caller's transaction)."""
        if conn.dialect.name == "postgresql":
            # Writers of one review take turns across servers (released at commit): each
            # reads the head the previous one wrote, instead of colliding and retrying.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": ADVISORY_BASE + review_id})
        review = conn.execute(select(REVIEWS).where(REVIEWS.c.id == review_id)).first()
        if review is None:
            raise StoreError(f"there is no review with id {review_id}")
        prev_hash = conn.execute(
            select(EVENTS.c.hash).where(EVENTS.c.review_id == review_id)
            .order_by(EVENTS.c.id.desc()).limit(1)).scalar_one_or_none() or GENESIS_HASH
        at = _now()
        digest = event_hash(prev_hash, event_content(review_id, at, actor, action, row, payload))
        result = conn.execute(insert(EVENTS).values(
            review_id=review_id, at=at, actor=actor, action=action, row=row,
            payload=payload_text, prev_hash=prev_hash, hash=digest))
        event_id = int(result.inserted_primary_key[0])
        conn.execute(insert(SIGNATURES).values(
            **_signature_values(self.signing_key(), review, event_id, digest)))
        return Event(event_id, review_id, at, actor, action, row, payload, prev_hash, digest)

    def _trail(self, review_id: int) -> tuple[Row, list[Row], dict[int, Row]]:
        """The review's row, its events in id order and their signatures by event id, read
        in one transaction; StoreError if there is no review."""
        review_id = _check_int(review_id, "review id")
        with self._database("reading the audit trail"), self._engine.begin() as conn:
            review = conn.execute(select(REVIEWS).where(REVIEWS.c.id == review_id)).first()
            if review is None:
                raise StoreError(f"there is no review with id {review_id}")
            rows = list(conn.execute(select(EVENTS).where(EVENTS.c.review_id == review_id)
                                     .order_by(EVENTS.c.id)))
            signed = conn.execute(select(SIGNATURES).where(SIGNATURES.c.review_id == review_id))
            return review, rows, {row.event_id: row for row in signed}

    def _event_rows(self, review_id: int) -> list[Row]:
        """The raw rows of a review's trail in id order; StoreError if there is no review."""
        review_id = _check_int(review_id, "review id")
        with self._database("reading the audit trail"), self._engine.connect() as conn:
            if conn.execute(select(REVIEWS.c.id).where(REVIEWS.c.id == review_id)).first() is None:
                raise StoreError(f"there is no review with id {review_id}")
            query = select(EVENTS).where(EVENTS.c.review_id == review_id).order_by(EVENTS.c.id)
            return list(conn.execute(query))

    @contextmanager
    def _database(self, doing: str) -> Iterator[None]:
        """Turn a database failure (locked, unreachable, ...) into a one-line StoreError."""
        try:
            yield
        except SQLAlchemyError as err:
            raise StoreError(f"database error while {doing}: {first_line(err)}") from err


def _check_chain(review_id: int, rows: list[Row]) -> None:
    """Every event follows the one before it and matches its hash; raise naming the first
    that does not."""
    expected_prev = GENESIS_HASH
    for row in rows:
        problem = None
        try:
            payload = json.loads(row.payload)
        except ValueError:
            payload, problem = None, "its payload is not JSON"
        if problem is None and row.prev_hash != expected_prev:
            problem = "it does not follow the event before it"
        if problem is None:
            content = event_content(row.review_id, row.at, row.actor, row.action, row.row,
                                    payload)
            if event_hash(row.prev_hash, content) != row.hash:
                problem = "its content no longer matches its hash"
        if problem is not None:
            raise StoreError(f"the audit trail of review {review_id} fails verification "
                             f"at event {row.id}: {problem}")
        expected_prev = row.hash


def _signature_values(signer: signing.Signer, review: Row, event_id: int,
                      digest: str) -> dict[str, Any]:
    """The ``signatures`` row for the head ``(event_id, digest)`` of ``review``'s trail."""
    message = signing.head_message(review.id, review.model_sha256, review.data_sha256,
                                   event_id, digest)
    return {"event_id": event_id, "review_id": review.id, "hash": digest,
            "algorithm": signing.ALGORITHM, "key_fingerprint": signer.fingerprint,
            "signature": signer.sign(message).hex()}


def _signature_ok(signer: signing.Signer, review: Row, event_id: int, digest: str,
                  signature_hex: str) -> bool:
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    message = signing.head_message(review.id, review.model_sha256, review.data_sha256,
                                   event_id, digest)
    return signing.signature_valid(signer.public_raw, message, signature)


def _artifact(row: Row) -> Artifact:
    return Artifact(row.sha256, row.kind, row.name, int(row.size), row.created_at)


def _review(row: Row) -> Review:
    return Review(row.id, row.model_sha256, row.data_sha256, row.created_at,
                  getattr(row, "team", None) or LOCAL_TEAM)


# --- team workspaces: what a principal sees ------------------------------------------------


def _open_team(principal: Principal) -> str:
    """The team whose workspace the principal has open (one of theirs)."""
    if principal.team not in principal.teams:
        raise StoreError("you belong to no team yet: ask a team's admin to add you")
    return principal.team


def _item_visible(principal: Principal | None):
    """SQL: the artifacts row is held by one of the principal's teams (a file with no team
    row, stored before teams, is the local team's). Everything for no principal."""
    if principal is None:
        return true()
    held = and_(ITEM_TEAMS.c.kind == ARTIFACTS.c.kind, ITEM_TEAMS.c.sha256 == ARTIFACTS.c.sha256)
    mine = exists().where(held, ITEM_TEAMS.c.team.in_(principal.teams))
    if LOCAL_TEAM not in principal.teams:
        return mine
    return or_(mine, ~exists().where(held))


def _reviews_query():
    """Reviews with their team (NULL for a review opened before teams: the local team's)."""
    return select(REVIEWS, REVIEW_TEAMS.c.team).outerjoin(
        REVIEW_TEAMS, REVIEW_TEAMS.c.review_id == REVIEWS.c.id)


def _review_in(team: str):
    """SQL, over `_reviews_query`: the review belongs to ``team``."""
    if team == LOCAL_TEAM:
        return or_(REVIEW_TEAMS.c.team == team, REVIEW_TEAMS.c.team.is_(None))
    return REVIEW_TEAMS.c.team == team


def _run_visible(principal: Principal | None):
    """SQL: the batch job was started in one of the principal's teams (a job with no team
    row is the local team's). Everything for no principal."""
    if principal is None:
        return true()
    held = BATCH_RUN_TEAMS.c.run_id == BATCH_RUNS.c.id
    mine = exists().where(held, BATCH_RUN_TEAMS.c.team.in_(principal.teams))
    if LOCAL_TEAM not in principal.teams:
        return mine
    return or_(mine, ~exists().where(held))


def _review_visible(principal: Principal | None):
    """SQL, over `_reviews_query`: the review belongs to one of the principal's teams."""
    if principal is None:
        return true()
    return or_(*(_review_in(team) for team in principal.teams)) if principal.teams \
        else REVIEWS.c.id.is_(None)


def _with_identity(payload: Any, principal: Principal) -> Any:
    """The payload with the signed-in principal's whole identity (``sub``, ``email``): the
    actor column is cut to 100 characters, the hashed payload is not."""
    identity = principal.identity()
    if identity is None or not (payload is None or isinstance(payload, dict)):
        return payload
    return {**(payload or {}), "identity": identity}


def _checked_member(principal: Principal, team: str, member: str,
                    role: str) -> tuple[str, str, str]:
    """An admin's request about a member, checked: (team, member key, role)."""
    try:
        team, key, role = check_team(team), member_key(member), check_role(role)
    except AccessError as err:
        raise StoreError(str(err)) from None
    if not principal.has(team, "admin"):
        raise StoreError(f"managing the members of '{team}' needs the admin role there")
    return team, key, role


def _event(row: Row) -> Event:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        raise StoreError(f"event {row.id} has an unreadable payload "
                         "(the audit trail was edited outside Glassbox)") from None
    return Event(row.id, row.review_id, row.at, row.actor, row.action, row.row, payload,
                 row.prev_hash, row.hash)
