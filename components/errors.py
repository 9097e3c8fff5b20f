"""The one error type users see: a single plain sentence, never a traceback."""

from collections.abc import Iterable


class GlassboxError(ValueError):
    """A problem with user input, stated in one line that names what was wrong.

    The UI shows ``str(err)`` as is and the CLI prints ``error: {err}`` with exit 2.
    """


class UnsafeModelError(GlassboxError):
    """The model file could run code or exhaust resources if Keras loaded it."""


class BadModelFileError(GlassboxError):
    """The file is not a readable Keras model (wrong format, truncated, corrupt)."""


class DataError(GlassboxError):
    """The dataset cannot be read or does not fit the model."""


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of a library's exception text, for quoting inside our one-liners."""
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__)[:limit]


def quote_names(names: Iterable[object]) -> str:
    """'a', 'b', 'c': how messages list column, member or array names."""
    return ", ".join(f"'{n}'" for n in names)
