"""Sign-in through a real OpenID Connect provider, in headless Chromium.

`oidc-provider-mock` serves a real provider on a free localhost port, in a thread of this
process; the app is started with ``[auth]`` pointing at it (a secrets file given with
``--secrets.files``) and a teams file. Three users sign in through the provider's own form:

- alice (``groups: ["red:reviewer"]``) pins a sample of her team's stored model; the trail
  names her by the provider's subject;
- carol (``groups: ["red:viewer"]``) sees the same model but gets no pin button, and the
  store refuses her pin when called directly;
- bob (blue reviewer, from the teams file) opens alice's link: the model reads as not found,
  exactly like a missing one, and he sees his own team's review, not red's;
- dana (``groups: ["blue:admin"]``) adds a member on the Team page.
"""

from __future__ import annotations

import os
import secrets

import pytest

from browser_support import CHROMIUM, running_app
from components.model.samples import get_sample
from components.review.access import principal_from_claims
from components.review.store import Store, StoreError

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

USERS = {
    "sub-alice": {"email": "alice@example.org", "groups": ["red:reviewer"]},
    "sub-carol": {"email": "carol@example.org", "groups": ["red:viewer", "unrelated-group"]},
    "sub-bob": {"email": "bob@example.org"},
    "sub-dana": {"email": "dana@example.org", "groups": ["blue:admin"]},
}
TEAMS_FILE = '[teams.blue]\n"bob@example.org" = "reviewer"\n'


def _claims(sub: str) -> dict:
    return {"sub": sub, **USERS[sub]}


@pytest.fixture(scope="module")
def provider():
    """The OpenID Connect provider, on localhost; yields its base URL."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def site(provider, tmp_path_factory):
    """The app with [auth] on the provider, and red's model and dataset already stored."""
    folder = tmp_path_factory.mktemp("login")
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "glassbox-tests"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    (folder / "teams.toml").write_text(TEAMS_FILE)
    wine = get_sample("wine_classifier")
    alice = principal_from_claims(_claims("sub-alice"), [])
    store = Store(folder / "ws")
    model = store.put("model", "red-wine.keras", wine.model_path.read_bytes(), alice)
    data = store.put_dataset("red-wine.csv", wine.data_path.read_bytes(),
                             model_sha256=model.sha256, signature="tabular:13",
                             principal=alice)
    store.dispose()
    env = {"GLASSBOX_WORKSPACE": str(folder / "ws"), "GLASSBOX_TEAMS": str(folder / "teams.toml")}
    with running_app(folder / "server.log", env,
                     ["--secrets.files", str(folder / "secrets.toml")]) as url:
        yield {"url": url, "root": folder / "ws", "link": f"?model={model.sha256}&data="
               f"{data.sha256}", "model": model.sha256, "data": data.sha256}


def _signed_in(browser, site, sub: str):
    """A fresh browser context (its own cookies) signed in as ``sub`` through the
    provider's form; returns its page on the app's home."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(site["url"])
    page.get_by_role("button", name="Sign in").click(timeout=60_000)
    page.locator("input[name=sub]").fill(sub, timeout=30_000)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in as {USERS[sub]['email']}").wait_for(timeout=90_000)
    return page


def _sidebar(page):
    return page.get_by_test_id("stSidebar")


def test_nothing_but_the_sign_in_page_before_signing_in(browser, site):
    page = browser.new_page()
    page.goto(f"{site['url']}/review{site['link']}")
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert page.get_by_text("Compliance review").count() == 0
    assert page.get_by_role("link", name="Review").count() == 0
    page.close()


def test_teams_roles_and_the_trail_through_a_real_provider(browser, site):
    # alice, red reviewer: her team's stored model; she pins row 0 from the sidebar
    alice = _signed_in(browser, site, "sub-alice")
    _sidebar(alice).get_by_text("reviewer in red").wait_for()
    assert _sidebar(alice).get_by_role("textbox", name="Reviewer").count() == 0
    alice.goto(f"{site['url']}/{site['link']}")
    _sidebar(alice).get_by_role("button", name="Pin row 0").click(timeout=120_000)
    _sidebar(alice).get_by_text("1 pinned").wait_for(timeout=30_000)

    store = Store(site["root"])
    try:
        review = next(r for r in store.reviews() if store.events(r.id))
        events = store.events(review.id)
        assert review.team == "red" and [e.action for e in events] == ["pin"]
        assert events[0].actor == "alice@example.org (sub-alice)"  # the provider's subject
        assert events[0].payload["identity"] == {"sub": "sub-alice",
                                                 "email": "alice@example.org"}

        # carol, red viewer: the same model and review, and no pin button
        carol = _signed_in(browser, site, "sub-carol")
        carol.goto(f"{site['url']}/{site['link']}")
        _sidebar(carol).get_by_text("pinning needs the reviewer role").wait_for(
            timeout=120_000)
        _sidebar(carol).get_by_text("1 pinned").wait_for()
        assert _sidebar(carol).get_by_role("button", name="Pin row 0").count() == 0
        carol.goto(f"{site['url']}/review{site['link']}")  # reads the pin, cannot judge it
        carol.get_by_text("Verdicts and notes need the reviewer role").wait_for(timeout=90_000)
        carol.get_by_text("Building a report needs the reviewer role").wait_for()
        carol.get_by_text("Row 0 · no verdict yet").first.wait_for()
        assert carol.get_by_role("button", name="Save verdict").count() == 0
        # ... and the store refuses her pin even when called directly
        with pytest.raises(StoreError, match="pinning a sample needs the reviewer role"):
            store.record(review.id, principal_from_claims(_claims("sub-carol"), []), "pin", 1)

        # bob, blue reviewer (teams file): alice's link reads as not found
        bob = _signed_in(browser, site, "sub-bob")
        _sidebar(bob).get_by_text("reviewer in blue").wait_for()
        bob.goto(f"{site['url']}/review{site['link']}")
        bob.get_by_text(f"no stored model named '{site['model'][:37]}").wait_for(
            timeout=90_000)
        bob.get_by_role("heading", name="Compliance review").wait_for(timeout=90_000)
        bob.get_by_text("No pinned samples yet").wait_for(timeout=60_000)
        assert bob.get_by_text("red-wine.keras").count() == 0
        assert [e.action for e in store.events(review.id)] == ["pin"]
        assert store.review(review.id, principal_from_claims(_claims("sub-bob"),
                                                             [_blue_file()])) is None
    finally:
        store.dispose()
    for page in (alice, carol, bob):
        page.context.close()


def _blue_file() -> dict:
    from components.review.access import parse_teams

    return parse_teams(TEAMS_FILE)


def test_an_admin_adds_a_member_on_the_team_page(browser, site):
    dana = _signed_in(browser, site, "sub-dana")
    dana.goto(f"{site['url']}/team")
    dana.get_by_role("heading", name="Members of blue").wait_for(timeout=60_000)
    dana.get_by_label("E-mail or subject").fill("Erin@Example.org")
    dana.get_by_role("button", name="Add or change").click()
    dana.get_by_role("button", name="Remove").wait_for(timeout=30_000)  # erin is listed
    store = Store(site["root"])
    try:
        assert [(m.member, m.role, m.added_by) for m in store.members("blue")] == [
            ("erin@example.org", "viewer", "dana@example.org (sub-dana)")]
    finally:
        store.dispose()
    dana.context.close()
