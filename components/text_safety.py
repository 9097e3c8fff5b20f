"""Show user-controlled text (file, model, column names, cell values) as text, never markup."""

from __future__ import annotations

import re

# Every character Streamlit's Markdown gives a meaning to, including `!`, `[`, `(` for images
# and links (a remote image is a network request made by the viewer's browser) and `$`/`~`/`:`
# for maths, strike-through and emoji shortcodes.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown so ``text`` renders literally; control characters dropped."""
    visible = "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in str(text))
    return _MARKDOWN.sub(r"\\\1", visible)
