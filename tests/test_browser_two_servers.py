"""Two Glassbox servers on one PostgreSQL database: reviewers on both pin samples of the
same review at the same time, and the trail stays one unbroken, signed chain."""

from __future__ import annotations

import os

import pytest

from browser_support import CHROMIUM, running_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

ROWS = {0: (1, 3, 5), 1: (2, 4, 6)}  # server -> the rows its reviewer pins


def _explain(page, url: str, row: int) -> None:
    page.goto(f"{url}/explain?sample=wine_classifier&row={row}")
    page.get_by_role("button", name=f"Pin row {row}").wait_for(timeout=120_000)


def test_two_servers_pinning_at_once_keep_one_signed_chain(browser, postgres, tmp_path):
    database = postgres.new_database()
    env = {"GLASSBOX_WORKSPACE": str(tmp_path / "workspace"),
           "GLASSBOX_DATABASE_URL": database}
    with running_app(tmp_path / "a.log", env) as first, \
            running_app(tmp_path / "b.log", env) as second:
        pages = [browser.new_page(viewport={"width": 1500, "height": 1200})
                 for _ in (first, second)]
        for step in range(3):  # each step: both pages ready, then both clicks at once
            for server, (page, url) in enumerate(zip(pages, (first, second), strict=True)):
                _explain(page, url, ROWS[server][step])
            for server, page in enumerate(pages):
                page.get_by_role("button", name=f"Pin row {ROWS[server][step]}").click()
            for server, page in enumerate(pages):  # each server took its reviewer's pin
                page.get_by_role("button", name=f"Unpin row {ROWS[server][step]}") \
                    .wait_for(timeout=60_000)
        for page in pages:
            page.close()

    from components.review.store import Store

    store = Store(tmp_path / "workspace", database)
    try:
        reviews = [r for r in store.reviews() if store.events(r.id)]
        assert len(reviews) == 1  # one review of the sample, written by both servers
        events = store.events(reviews[0].id)
        assert sorted(e.row for e in events) == [1, 2, 3, 4, 5, 6]
        assert all(e.action == "pin" for e in events)
        assert len({e.prev_hash for e in events}) == 6  # no fork
        store.verify(reviews[0].id)  # every link and the head's signature
        assert sorted(p.row for p in store.pins(reviews[0].id)) == [1, 2, 3, 4, 5, 6]
    finally:
        store.dispose()
