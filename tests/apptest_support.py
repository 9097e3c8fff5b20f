"""AppTest for an `st.navigation` app that keeps its pages in a `pages/` folder.

AppTest resets `PagesManager.uses_pages_directory` before every run; the PagesManager it then
creates sees our `pages/` folder and turns the flag back on, so every rerun after the first
takes Streamlit's legacy (v1) path and executes the page file alone, skipping app.py and its
sidebar. The real server sets the flag once per process and `st.navigation` clears it, so
only tests are affected. This shim keeps the flag off for AppTest runs.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.runtime import pages_manager
from streamlit.testing.v1 import AppTest, app_test

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


class _NavigationPagesManager(pages_manager.PagesManager):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False


app_test.PagesManager = _NavigationPagesManager


def new_app(timeout: float = 120) -> AppTest:
    """A fresh simulated session of the whole app (router, sidebar, default page)."""
    return AppTest.from_file(APP, default_timeout=timeout)
