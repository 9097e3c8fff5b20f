"""The one error type users see: a single plain sentence, never a traceback.

Messages quote user-controlled text (file, column, member and layer names, cell values,
library exceptions), so every message is made inert and short centrally: `GlassboxError`'s
``str`` escapes control, bidi and invisible characters visibly and caps the length, and
`excerpt` / `quote_names` / `first_line` do the same for the pieces a message quotes.
"""

import re
from collections.abc import Iterable

MAX_MESSAGE = 280  # characters in one message, so that "error: " + message stays under 300
MAX_NAMES = 8  # names `quote_names` lists before "and N more"

# Characters that could split a line, drive a terminal or reorder/hide text: C0 (ESC, BEL,
# CR, LF, ...), DEL, C1, bidi embeddings/overrides/isolates/marks, line and paragraph
# separators, zero-width characters and the BOM.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                     r"\u2060-\u2069\ufeff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def excerpt(value: object, limit: int = 60) -> str:
    """``value`` as it may be quoted in a one-line message: text as is (anything else by its
    ``repr``), control/bidi/invisible characters escaped visibly (ESC -> ``\\x1b``, U+202E ->
    ``\\u202e``) and cut to ``limit`` characters with "…". No quotes are added.
    """
    text = value if isinstance(value, str) else repr(value)
    limit = max(int(limit), 1)
    shown = _UNSAFE.sub(_escape, text[:limit + 1])  # cut first: a value may be 50 MB
    return shown if len(shown) <= limit and len(text) <= limit else shown[:limit - 1] + "\u2026"


def quote_value(value: object, limit: int = 60) -> str:
    """A cell value quoted the way ``repr`` quotes it ('n/a?', 3.5), as an `excerpt`: a
    50 MB cell costs ``limit`` characters, never a copy of itself."""
    if isinstance(value, str):
        value = value[:limit + 1]  # repr of the cut value: the full one could be huge
    return excerpt(repr(value), limit)


class GlassboxError(ValueError):
    """A problem with user input, stated in one line that names what was wrong.

    The UI shows ``str(err)`` as is and the CLI prints ``error: {err}`` with exit 2.
    ``str(err)`` is always inert and short: whatever a message quotes, control and bidi
    characters come out escaped and the whole is capped at `MAX_MESSAGE` characters.
    """

    def __str__(self) -> str:
        return excerpt(super().__str__(), MAX_MESSAGE)


class UnsafeModelError(GlassboxError):
    """The model file could run code or exhaust resources if Keras loaded it."""


class BadModelFileError(GlassboxError):
    """The file is not a readable Keras model (wrong format, truncated, corrupt)."""


class DataError(GlassboxError):
    """The dataset cannot be read or does not fit the model."""


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of a library's exception text, for quoting inside our one-liners
    (escaped and cut like `excerpt`: library messages often quote the input)."""
    lines = str(err).strip().splitlines()
    return excerpt(lines[0] if lines else type(err).__name__, limit)


def quote_names(names: Iterable[object], limit: int = MAX_NAMES) -> str:
    """'a', 'b', 'c': how messages list column, member or array names; each name an
    `excerpt`, at most ``limit`` of them, then "and N more"."""
    listed, more = [], 0
    for name in names:
        if len(listed) < limit:
            listed.append(f"'{excerpt(str(name))}'")
        else:
            more += 1
    return ", ".join(listed) + (f" and {more} more" if more else "")
