"""The one error type users see: a single plain sentence, never a traceback."""


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
