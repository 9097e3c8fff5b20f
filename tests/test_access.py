"""Roles and team workspaces, enforced by the store itself (no UI, no browser).

Two teams share one server: each sees only its own stored files and reviews, a link to the
other team's item is answered exactly like a missing one, a viewer's pin is refused by the
store even when called directly, and every event names the provider's subject. Without
sign-in, the one local user is admin of the implicit local team and events say
"unauthenticated". A database made before teams keeps working.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.review.access import (
    LOCAL_TEAM,
    UNAUTHENTICATED,
    AccessError,
    Principal,
    actor_label,
    exposure_warning,
    is_local_address,
    parse_teams,
    principal_from_claims,
    roles_from_groups,
)
from components.review.store import Store, StoreError

MODEL, DATA = b"model bytes", b"a,b\n1,2\n"
MODEL_SHA, DATA_SHA = (hashlib.sha256(b).hexdigest() for b in (MODEL, DATA))

TEAMS = parse_teams("""
[teams.red]
"alice@example.org" = "reviewer"
"sub-carol" = "viewer"
[teams.blue]
"bob@example.org" = "admin"
""")


def _user(sub: str, email: str, groups: list[str] | None = None, **extra) -> Principal:
    claims = {"sub": sub, "email": email, **extra}
    if groups is not None:
        claims["groups"] = groups
    return principal_from_claims(claims, [TEAMS])


ALICE = _user("sub-alice", "Alice@Example.org")  # red reviewer (e-mail matched, any case)
CAROL = _user("sub-carol", "carol@example.org")  # red viewer (subject matched)
BOB = _user("sub-bob", "bob@example.org")  # blue admin


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The store on SQLite and on a real PostgreSQL (the team queries differ by dialect)."""
    url = request.getfixturevalue("postgres").new_database() \
        if request.param == "postgresql" else None
    opened = Store(tmp_path / "ws", url)
    yield opened
    opened.dispose()


def _red_review(store: Store):
    store.put("model", "m.keras", MODEL, ALICE)
    store.put("dataset", "d.csv", DATA, ALICE)
    return store.review_for(MODEL_SHA, DATA_SHA, ALICE)


# --- principals ---------------------------------------------------------------------------


def test_roles_come_from_the_teams_file_and_the_groups_claim():
    assert ALICE.roles == (("red", "reviewer"),) and ALICE.team == "red"
    assert CAROL.roles == (("red", "viewer"),)
    # the groups claim adds teams and can raise a role; unknown entries are ignored
    dana = _user("sub-dana", "dana@example.org", ["red:admin", "blue:viewer", "staff",
                                                  "green:owner", ":viewer"])
    assert dana.roles == (("blue", "viewer"), ("red", "admin"))
    assert roles_from_groups("red:reviewer") == {"red": "reviewer"}
    # an e-mail the provider says is unverified matches nothing
    assert _user("sub-x", "alice@example.org", email_verified=False).roles == ()


def test_a_teams_file_with_a_bad_role_or_team_is_refused_in_one_line():
    with pytest.raises(AccessError, match="'owner' is not a role"):
        parse_teams('[teams.red]\n"a@b.c" = "owner"\n')
    with pytest.raises(AccessError, match="is not a team name"):
        parse_teams('[teams."red team"]\n"a@b.c" = "viewer"\n')
    with pytest.raises(AccessError, match="not valid TOML"):
        parse_teams("[teams.red\n")


def test_the_actor_is_email_and_subject_within_the_trail_limit():
    assert ALICE.actor == "Alice@Example.org (sub-alice)"
    assert Principal.local().actor == UNAUTHENTICATED
    long = actor_label("x" * 200 + "@example.org", "s" * 60)
    assert len(long) <= 100 and long.endswith("(" + "s" * 60 + ")")
    assert len(actor_label("a@b.c", "s" * 300)) == 100


def test_a_server_reachable_from_elsewhere_without_sign_in_is_warned_about():
    for address in ("localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.2"):
        assert is_local_address(address) and exposure_warning(address, False) is None
    assert "every network interface" in exposure_warning(None, False)
    warning = exposure_warning("0.0.0.0", False)
    assert warning.startswith("WARNING:") and "'0.0.0.0'" in warning and "[auth]" in warning
    assert exposure_warning("0.0.0.0", True) is None


def _serve_output(tmp_path: Path, secrets: str) -> str:
    """What `python -m components.ui.serve` prints until the server has started, bound to
    every interface (``browser.serverAddress`` set, so Streamlit looks up no address)."""
    from browser_support import ROOT, free_port

    (tmp_path / "secrets.toml").write_text(secrets)
    proc = subprocess.Popen(
        [sys.executable, "-m", "components.ui.serve", "--server.address", "0.0.0.0",
         "--server.port", str(free_port()), "--browser.serverAddress", "localhost",
         "--secrets.files", str(tmp_path / "secrets.toml")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, deadline = [], time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not any("view your Streamlit app" in line
                                                       for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return "".join(lines)


def test_serving_beyond_localhost_without_sign_in_warns_on_the_console_at_start(tmp_path):
    printed = _serve_output(tmp_path, "")
    assert "WARNING: Glassbox is listening on '0.0.0.0' without sign-in" in printed
    assert printed.index("WARNING: Glassbox") < printed.index("view your Streamlit app")
    quiet = _serve_output(tmp_path, '[auth]\nredirect_uri = "http://localhost:8501/'
                                    'oauth2callback"\ncookie_secret = "x"\n')
    assert "view your Streamlit app" in quiet and "WARNING: Glassbox" not in quiet


# --- team workspaces in the store ---------------------------------------------------------


def test_each_team_sees_only_its_own_files_and_a_link_to_the_other_reads_as_missing(store):
    store.put("model", "red.keras", MODEL, ALICE)
    assert [a.sha256 for a in store.artifacts("model", ALICE)] == [MODEL_SHA]
    assert store.artifacts("model", BOB) == []
    assert store.artifact(MODEL_SHA, "model", BOB) is None
    with pytest.raises(StoreError, match=r"stored file .* is missing"):
        store.read(MODEL_SHA, BOB)
    assert store.read(MODEL_SHA, ALICE) == MODEL
    # the same bytes uploaded by blue: one blob, and now blue holds it too
    store.put("model", "blue.keras", MODEL, BOB)
    assert [a.sha256 for a in store.artifacts("model", BOB)] == [MODEL_SHA]
    # the single-user local team sees neither team's files
    assert store.artifacts(principal=Principal.local()) == []


def test_datasets_offered_with_a_model_are_the_teams_own(store):
    store.put_dataset("d.csv", DATA, model_sha256=MODEL_SHA, signature="tabular:2",
                      principal=ALICE)
    assert [a.sha256 for a in store.datasets_for(MODEL_SHA, "tabular:2", ALICE)] == [DATA_SHA]
    assert store.datasets_for(MODEL_SHA, "tabular:2", BOB) == []


def test_each_team_has_its_own_review_of_a_pair_and_cannot_open_the_others(store):
    red = _red_review(store)
    blue = store.review_for(MODEL_SHA, DATA_SHA, BOB)
    assert (red.team, blue.team) == ("red", "blue") and red.id != blue.id
    assert store.review_for(MODEL_SHA, DATA_SHA, CAROL) == red  # get, not create
    store.record(red.id, ALICE, "pin", 3)
    assert store.review(red.id, BOB) is None  # exactly like a review that does not exist
    assert store.review(10_000, BOB) is None
    for read in (store.events, store.pins, store.verify, store.export_rows):
        with pytest.raises(StoreError, match=f"^there is no review with id {red.id}$"):
            read(red.id, BOB)
    with pytest.raises(StoreError, match=f"^there is no review with id {red.id}$"):
        store.record(red.id, BOB, "pin", 4)
    assert [r.id for r in store.reviews(BOB)] == [blue.id]
    assert [p.row for p in store.pins(red.id, CAROL)] == [3]  # a viewer reads the trail


def test_a_viewer_cannot_pin_assess_or_report_even_calling_the_store(store):
    review = _red_review(store)
    for action, row, payload, doing in (
            ("pin", 1, None, "pinning a sample"),
            ("unpin", 1, None, "unpinning a sample"),
            ("assess", 1, {"verdict": "ok", "note": ""}, "recording a verdict or note"),
            ("report", None, {"seed": 0}, "building a report")):
        with pytest.raises(StoreError) as refused:
            store.record(review.id, CAROL, action, row, payload)
        assert str(refused.value) == (f"{doing} needs the reviewer role; you are a viewer "
                                      "in the team 'red'")
    assert store.events(review.id) == []
    exported = store.record(review.id, CAROL, "export", None, {"format": "csv"})
    assert exported.actor == "carol@example.org (sub-carol)"


def test_every_event_names_the_providers_subject_and_email(store):
    review = _red_review(store)
    event = store.record(review.id, ALICE, "assess", 2, {"verdict": "concern", "note": "n"})
    assert event.actor == "Alice@Example.org (sub-alice)"
    assert event.payload["identity"] == {"sub": "sub-alice", "email": "Alice@Example.org"}
    # a caller cannot pass another identity through the payload
    forged = store.record(review.id, ALICE, "pin", 5, {"identity": {"sub": "sub-bob"}})
    assert forged.payload["identity"]["sub"] == "sub-alice"
    store.verify(review.id, ALICE)


def test_without_sign_in_the_local_user_is_admin_and_unauthenticated(store):
    local = Principal.local()
    store.put("model", "m.keras", MODEL, local)
    review = store.review_for(MODEL_SHA, DATA_SHA, local)
    event = store.record(review.id, local, "pin", 0)
    assert (event.actor, review.team) == (UNAUTHENTICATED, LOCAL_TEAM)
    assert "identity" not in event.payload
    # the operator (CLI, no principal) sees the same review
    assert store.review_for(MODEL_SHA, DATA_SHA) == review
    assert store.review(review.id, ALICE) is None


def test_files_stored_before_teams_stay_with_the_local_team(store):
    store.put("model", "old.keras", MODEL)  # no principal: as before teams
    assert [a.name for a in store.artifacts("model", Principal.local())] == ["old.keras"]
    assert store.artifacts("model", ALICE) == []
    store.put("model", "again.keras", MODEL, ALICE)  # red uploads the same bytes
    assert store.artifact(MODEL_SHA, "model", ALICE) is not None
    assert store.artifact(MODEL_SHA, "model", Principal.local()) is not None
    assert store.artifact(MODEL_SHA, "model", BOB) is None


def test_a_user_with_no_team_can_open_nothing(store):
    nobody = _user("sub-zed", "zed@example.org")
    assert nobody.roles == () and store.artifacts(principal=nobody) == []
    with pytest.raises(StoreError, match="you belong to no team yet"):
        store.review_for(MODEL_SHA, DATA_SHA, nobody)


# --- members ------------------------------------------------------------------------------


def test_only_an_admin_manages_members_and_added_members_get_their_role(store):
    with pytest.raises(StoreError, match="managing the members of 'red' needs the admin role"):
        store.grant_member(ALICE, "red", "erin@example.org", "reviewer")
    with pytest.raises(StoreError, match="needs the admin role"):
        store.grant_member(BOB, "red", "erin@example.org", "reviewer")  # blue's admin
    store.grant_member(BOB, "blue", "Erin@Example.org", "reviewer")
    store.grant_member(BOB, "blue", "erin@example.org", "viewer")  # a new role replaces
    assert [(m.member, m.role, m.added_by) for m in store.members("blue", BOB)] == [
        ("erin@example.org", "viewer", "bob@example.org (sub-bob)")]
    erin = principal_from_claims({"sub": "sub-erin", "email": "erin@example.org"},
                                 [TEAMS, store.stored_teams()])
    assert erin.roles == (("blue", "viewer"),)
    with pytest.raises(StoreError, match="no team 'blue' of yours"):
        store.members("blue", ALICE)
    with pytest.raises(StoreError, match="is not a role"):
        store.grant_member(BOB, "blue", "x@example.org", "owner")
    assert store.revoke_member(BOB, "blue", "erin@example.org") is True
    assert store.members("blue", BOB) == []


# --- a database made before teams ---------------------------------------------------------

# The reviews and events tables as Glassbox created them before team workspaces.
OLD_SCHEMA = """
CREATE TABLE reviews (id INTEGER NOT NULL, model_sha256 VARCHAR(64) NOT NULL,
  data_sha256 VARCHAR(64) NOT NULL, created_at VARCHAR(20) NOT NULL,
  CONSTRAINT pk_reviews PRIMARY KEY (id),
  CONSTRAINT uq_reviews_model_sha256 UNIQUE (model_sha256, data_sha256));
INSERT INTO reviews VALUES (7, '{m}', '{d}', '2026-01-01T00:00:00Z');
"""


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_database_made_before_teams_keeps_its_reviews_and_opens_to_teams(tmp_path, request,
                                                                           dialect):
    root = tmp_path / "ws"
    root.mkdir()
    url = None
    if dialect == "sqlite":
        with sqlite3.connect(root / "glassbox.db") as conn:
            conn.executescript(OLD_SCHEMA.format(m=MODEL_SHA, d=DATA_SHA))
    else:
        import sqlalchemy

        url = request.getfixturevalue("postgres").new_database()
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            old = OLD_SCHEMA.replace("id INTEGER NOT NULL", "id SERIAL NOT NULL")
            for statement in old.format(m=MODEL_SHA, d=DATA_SHA).split(";")[:2]:
                conn.exec_driver_sql(statement)
        engine.dispose()
    store = Store(root, url)
    try:
        old = store.review_for(MODEL_SHA, DATA_SHA)
        assert (old.id, old.team) == (7, LOCAL_TEAM)
        store.record(old.id, "operator", "pin", 1)
        assert store.review_for(MODEL_SHA, DATA_SHA, Principal.local()).id == 7
        red = store.review_for(MODEL_SHA, DATA_SHA, ALICE)  # the old UNIQUE would refuse it
        assert red.id != 7 and red.team == "red"
        store.verify(7)
    finally:
        store.dispose()
    reopened = Store(root, url)  # opening again changes nothing
    try:
        assert {r.id for r in reopened.reviews()} == {7, red.id}
        assert [e.row for e in reopened.events(7)] == [1]
    finally:
        reopened.dispose()
