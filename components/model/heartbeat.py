"""Long work says it is still going: one beat per batch of model calls.

The compiled paths (`components.model.predict`'s batches, the gradient methods' chunks)
call `beat()` after each batch. In the app's process nothing listens and a beat costs a
global read. In a model's worker process (`components.model.worker`) the listener sends a
short message to the parent, which then counts the per-call time limit from the last beat:
a slow model that keeps finishing batches is not stopped, a model that hangs inside one
batch still is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_INTERVAL_S = 0.25  # at most four messages a second, however small the batches

_listener: Callable[[], None] | None = None
_last = 0.0


def beat() -> None:
    """One batch is done: tell the listener, if there is one (at most every 0.25 s)."""
    global _last
    if _listener is None:
        return
    now = time.monotonic()
    if now - _last >= MIN_INTERVAL_S:
        _last = now
        _listener()


def listen(listener: Callable[[], None] | None) -> None:
    """Send every beat to ``listener`` from now on (None: nobody listens)."""
    global _listener, _last
    _listener, _last = listener, 0.0
