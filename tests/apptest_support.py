"""AppTest on the whole app: the router, its sidebar and the default page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def new_app(timeout: float = 120) -> AppTest:
    """A fresh simulated session of the whole app (router, sidebar, default page)."""
    return AppTest.from_file(APP, default_timeout=timeout)
