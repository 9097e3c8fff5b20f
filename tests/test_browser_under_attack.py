"""A server under attack keeps serving: while one session uploads a file built to stall its
reader, another keeps clicking, and its clicks answer as fast as before.

The attacker's file is a deflate bomb: a 1 MiB ``.npz`` whose one array unpacks to 1 GiB of
zeros. Its reader runs in a bounded child process (`components.model.bounded`), so the
server's own process only waits, and the upload ends with its one-line refusal. The victim
switches between two pages five times before the attack and while it runs; the median
switch may take at most twice its usual time (plus half a second for a loaded CI machine's
noise on a sub-second figure).
"""

from __future__ import annotations

import io
import os
import statistics
import time
import zipfile

import numpy as np
import pytest

from browser_support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

WAIT = 120_000
CLICKS = 5


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A ~1 MiB .npz whose one float32 array unpacks to just under the 1 GiB it may declare:
    all zeros, so its reader needs more memory than the file's bound allows."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("x.npy", "w") as fh:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (2**28 - 1024, 1, 1, 1)})
        fh.write(header.getvalue())
        for _ in range(63):
            fh.write(bytes(2**24))
        fh.write(bytes(2**24 - 4096))
    path = tmp_path_factory.mktemp("attack") / "bomb.npz"
    path.write_bytes(buf.getvalue())
    return path


def _switch(page) -> float:
    """Seconds for one round trip: to the Weights page and back to Model & data."""
    nav = page.get_by_test_id("stSidebarNav")
    start = time.monotonic()
    nav.get_by_role("link", name="Weights").click()
    page.get_by_role("heading", name="Weights").wait_for(timeout=WAIT)
    nav.get_by_role("link", name="Model & data").click()
    page.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=WAIT)
    return time.monotonic() - start


def _open_attacker(page, url: str) -> None:
    page.goto(f"{url}/?sample=digits_cnn")
    page.get_by_role("heading", name="Handwritten digits CNN").wait_for(timeout=WAIT)
    uploader = page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader").filter(
        has_text="Upload a dataset")
    uploader.wait_for(timeout=WAIT)


def test_a_stalling_upload_does_not_slow_another_session(server, browser, bomb):
    victim = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    attacker = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    victim.goto(f"{server}/?sample=wine_classifier")
    victim.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=WAIT)
    _open_attacker(attacker, server)
    _switch(victim)  # warm: both pages' caches filled
    normal = statistics.median(_switch(victim) for _ in range(CLICKS))

    uploader = attacker.get_by_test_id("stSidebar").get_by_test_id("stFileUploader").filter(
        has_text="Upload a dataset")
    uploader.locator("input[type=file]").set_input_files(str(bomb))
    refused = attacker.get_by_text("bomb.npz", exact=False).filter(has_text="refused")
    during = []
    for _ in range(CLICKS):
        during.append(_switch(victim))
    under_attack = statistics.median(during)
    print(f"page switch: {normal:.2f} s normally, {under_attack:.2f} s under attack "
          f"({', '.join(f'{d:.2f}' for d in during)})")

    refused.first.wait_for(timeout=WAIT)  # the upload ends with its one line
    message = refused.first.inner_text()
    assert "\n" not in message.strip() and len(message) < 400, message
    assert "so it was stopped" in message, message  # at a bound, in its own process
    assert attacker.get_by_test_id("stException").count() == 0
    assert victim.get_by_test_id("stException").count() == 0
    assert under_attack <= 2 * normal + 0.5, (normal, during)
