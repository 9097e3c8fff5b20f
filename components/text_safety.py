"""Show user-controlled text (file, model, column names, cell values) as text, never markup."""

from __future__ import annotations

import re

# Every character Streamlit's Markdown gives a meaning to, including `!`, `[`, `(` for images
# and links (a remote image is a network request made by the viewer's browser) and `$`/`~`/`:`
# for maths, strike-through and emoji shortcodes.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=])")

# Bidi embeddings/overrides/isolates/marks (which reorder how text displays), line and
# paragraph separators, zero-width characters and the BOM (which hide text). Python already
# counts these as non-printable; listed so the rule does not hang on that alone.
_INVISIBLE = frozenset("\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c"
                       "\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown so ``text`` renders literally; control, bidi and zero-width
    characters become U+FFFD."""
    visible = "".join(ch if (ch.isprintable() or ch in "\n\t") and ch not in _INVISIBLE
                      else "\ufffd" for ch in str(text))
    return _MARKDOWN.sub(r"\\\1", visible)
