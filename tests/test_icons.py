"""Icons are Material icons, never emoji: a browser without an emoji font (headless
Chromium, many Linux desktops) draws an emoji as an empty box."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B06\u2934\u2935]")
PAGES = [ROOT / "app.py", *(ROOT / "views").glob("*.py"),
         *(ROOT / "components" / "ui").glob("*.py")]


def test_no_page_or_widget_draws_an_emoji():
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in PAGES
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if EMOJI.search(line) and not line.lstrip().startswith("#")]
    assert found == []
