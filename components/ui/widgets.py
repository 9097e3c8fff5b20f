"""Small display helpers shared by pages."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from components.data.checks import Check
from components.text_safety import escape_markdown

_SHOW = {"ok": st.success, "warning": st.warning, "error": st.error}
# Material icons, not emoji: they render in every browser (headless Chromium has no emoji font)
_ICON = {"ok": ":material/check_circle:", "warning": ":material/warning:",
         "error": ":material/block:"}


def facts_row(facts: dict[str, str]) -> None:
    """Headline facts as metrics, one column each."""
    for column, (label, value) in zip(st.columns(len(facts)), facts.items(), strict=True):
        column.metric(label, value)


def details_line(details: dict[str, str]) -> None:
    """Longer facts on one caption line, as plain text (values may quote user data)."""
    st.text("   ·   ".join(f"{label}: {value}" for label, value in details.items()))


def checks_list(checks: Iterable[Check]) -> None:
    """One coloured line per check, as plain text (messages quote user data)."""
    for check in checks:
        _SHOW[check.level](escape_markdown(check.message), icon=_ICON[check.level])


def link_note(message: str) -> None:
    """What a link asked for and did not get, in one inert line (the URL is user text)."""
    st.warning(escape_markdown(message), icon=":material/link_off:")


def refusal(what: str, message: str) -> None:
    """A refused input: one red line, the message shown literally."""
    st.error(f"{what} refused: {escape_markdown(message)}", icon=_ICON["error"])
