"""Parse untrusted bytes in a short-lived child process, bounded in time and memory.

The static model scan and the dataset readers run parsers (zipfile, h5py, pandas, pyarrow,
Pillow) over bytes an attacker wrote. One that loops for ever or allocates without end would
stall the server: a stuck C loop holds the GIL, so every session freezes. `run_bounded(fn,
*args)` calls ``fn(*args)`` in a fresh interpreter (``python -m components.model.bounded``)
instead:

* wall time: the parent waits at most `Limits.seconds` (8 s plus 1 s per 16 MiB of input)
  and kills the child after that; the child also caps its own CPU time (``RLIMIT_CPU``);
* memory: the parent polls the child's resident memory and kills it over
  `Limits.memory_mb` (1 GiB plus 8x the input, at most `MAX_MEMORY_MB`, or 1 GiB plus 4x
  the input for a model of several hundred MiB, so a big file is not taken for a bomb;
  the inputs are capped by size); an address-space
  cap (``RLIMIT_AS``, 4x that) stops a single huge allocation first;
* the reply is read with the allowlisted unpickler (`components.model.safe_pickle`); a
  `GlassboxError` raised in the child comes back as the same class and message.

A spare child with the parsers already imported waits for the next call, so a parse costs
the parse, not Python's start-up. The caller's stderr is the child's: nothing is printed
there except by the libraries themselves.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from components import errors
from components.errors import GlassboxError

T = TypeVar("T")
MIB = 2**20
BASE_SECONDS = 8.0  # a small hostile file is refused within this (and the 10 s promised)
SECONDS_PER_16_MIB = 1.0
BASE_MEMORY_MB = 1024
MEMORY_PER_INPUT = 8  # pandas holds a table in several times its CSV's bytes
MAX_MEMORY_MB = int(os.environ.get("GLASSBOX_PARSE_MEMORY_MB", "4096"))
# What a parse may always have per MiB of input, even past MAX_MEMORY_MB: the child holds the
# bytes, the reply's copy freed, and the weights member it reads (a 1 GiB .keras: 5 GiB).
MIN_MEMORY_PER_INPUT = 4
POLL_S = 0.02
STARTUP_S = 120.0  # importing pandas and pyarrow in a fresh process: our cost, not the file's
READY = b"R"  # the child's first byte: its parsers are imported
ROOT = Path(__file__).resolve().parents[2]
# What a spare child imports before it waits: the readers' libraries (~1-2 s on 2 cores).
PRELOAD = ("components.data.read", "components.model.scan", "components.inspect.history")


@dataclass(frozen=True)
class Limits:
    """Wall-clock seconds and resident MiB one parse may take."""

    seconds: float
    memory_mb: int

    @classmethod
    def for_input(cls, n_bytes: int) -> Limits:
        seconds = BASE_SECONDS + SECONDS_PER_16_MIB * n_bytes / (16 * MIB)
        cap = max(MAX_MEMORY_MB, BASE_MEMORY_MB + MIN_MEMORY_PER_INPUT * n_bytes // MIB)
        memory = min(cap, BASE_MEMORY_MB + MEMORY_PER_INPUT * n_bytes // MIB)
        return cls(seconds=seconds, memory_mb=max(memory, 256))


def run_bounded(fn: Callable[..., T], *args: Any, what: str = "the file",
                limits: Limits | None = None) -> T:
    """``fn(*args)`` in a bounded child process; ``fn`` must be a module-level function.

    Raises the child's `GlassboxError`, or a `GlassboxError` naming the bound ``what``
    crossed ("… took longer than 8 s to read, so it was stopped").
    """
    if limits is None:
        limits = Limits.for_input(sum(len(a) for a in args if isinstance(a, bytes)))
    payload = pickle.dumps((fn, args, limits), protocol=pickle.HIGHEST_PROTOCOL)
    proc = _take_spare()
    try:
        status, value = _exchange(proc, payload, limits, what)
    finally:
        _stop(proc)
        _refill()
    if status == "ok":
        return value
    raise _error(status, value)


def _exchange(proc: subprocess.Popen, payload: bytes, limits: Limits,
              what: str) -> tuple[str, Any]:
    """Wait until the child has imported its parsers, send the call, wait within the limits,
    read the reply (or say which bound broke). The bounds count from the call: a machine
    busy starting Python does not make a file look hostile."""
    ready, _, _ = select.select([proc.stdout], [], [], STARTUP_S)
    if not ready or proc.stdout.read(1) != READY:
        return "GlassboxError", f"could not read {what}: the reader process did not start"
    reply: list[bytes] = []
    reader = threading.Thread(target=lambda: reply.append(proc.stdout.read()), daemon=True)
    reader.start()
    with contextlib.suppress(OSError):  # a child that died at once: its exit says why
        proc.stdin.write(payload)
        proc.stdin.close()
    deadline = time.monotonic() + limits.seconds
    while reader.is_alive():
        if time.monotonic() > deadline:
            return "GlassboxError", (f"{what} took longer than {limits.seconds:.0f} s to read, "
                                     "so it was stopped")
        if _resident_mb(proc.pid) > limits.memory_mb:
            return "GlassboxError", (f"{what} needed more than {limits.memory_mb:,} MiB to "
                                     "read, so it was stopped")
        reader.join(POLL_S)
    data = b"".join(reply)
    if not data:  # no reply: how the child ended says which bound it hit
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    return _reply(data, proc.returncode, limits, what)


def _reply(data: bytes, returncode: int | None, limits: Limits,
           what: str) -> tuple[str, Any]:
    from components.model.safe_pickle import loads

    if not data:
        if returncode in (-9, -24, 137, 152):  # SIGKILL / SIGXCPU: a cap the child hit
            return "GlassboxError", (f"{what} needed more time or memory than its bounds "
                                     f"({limits.seconds:.0f} s, {limits.memory_mb:,} MiB) to "
                                     "read, so it was stopped")
        return "GlassboxError", f"could not read {what} (the reader stopped, code {returncode})"
    try:
        return loads(data)
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as err:
        return "GlassboxError", f"could not read {what}: {errors.first_line(err)}"


def _error(name: str, message: str) -> GlassboxError:
    kinds = {cls.__name__: cls for cls in (GlassboxError, errors.UnsafeModelError,
                                           errors.BadModelFileError, errors.DataError)}
    return kinds.get(name, GlassboxError)(message)


def _resident_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // MIB
    except (OSError, IndexError, ValueError):
        return 0


# ---------------------------------------------------------------- the spare child

_SPARE: subprocess.Popen | None = None
_LOCK = threading.Lock()


def _spawn() -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.Popen([sys.executable, "-m", "components.model.bounded"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env)


def _take_spare() -> subprocess.Popen:
    global _SPARE
    with _LOCK:
        proc, _SPARE = _SPARE, None
    if proc is None or proc.poll() is not None:
        proc = _spawn()
    return proc


def _refill() -> None:
    """Start the next spare now, so its imports overlap the user's next move."""
    global _SPARE
    if os.environ.get("GLASSBOX_SPARE_PARSER", "1") == "0":  # the CLI: a few parses, then exit
        return
    with _LOCK:
        if _SPARE is None or _SPARE.poll() is not None:
            _SPARE = _spawn()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def shutdown() -> None:
    """Stop the spare (tests and the CLI call this before they exit)."""
    global _SPARE
    with _LOCK:
        proc, _SPARE = _SPARE, None
    if proc is not None:
        _stop(proc)


# ---------------------------------------------------------------- the child's side


def _child() -> None:
    """Import the parsers, wait for one call, run it under the limits, write the reply."""
    import importlib
    import resource

    for module in PRELOAD:
        importlib.import_module(module)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the reply
    try:
        out.write(READY)
        out.flush()
    except BrokenPipeError:  # the parent exited while this spare started
        os._exit(0)
    request = sys.stdin.buffer.read()
    if not request:  # the parent exited while this spare waited
        os._exit(0)
    fn, args, limits = pickle.loads(request)  # from our own parent, never from a user
    del request  # a big model's bytes are held once, in ``args``
    cpu = int(resource.getrusage(resource.RUSAGE_SELF).ru_utime + limits.seconds) + 1
    _lower(resource.RLIMIT_CPU, cpu)
    _lower(resource.RLIMIT_AS, 4 * limits.memory_mb * MIB)
    try:
        reply = ("ok", fn(*args))
    except GlassboxError as err:
        reply = (type(err).__name__, str(err))
    except MemoryError:
        reply = ("GlassboxError", f"reading it needed more than {limits.memory_mb:,} MiB")
    except Exception as err:  # a parser's own bug: one line, never a traceback
        reply = ("GlassboxError", f"could not read it ({type(err).__name__}: "
                                  f"{errors.first_line(err)})")
    with contextlib.suppress(BrokenPipeError):
        out.write(pickle.dumps(reply))  # the protocol the allowlist was read from
        out.close()
    os._exit(0)  # skip the interpreter's teardown: the parent has what it needs


def _lower(limit: int, value: int) -> None:
    """Set ``limit`` to ``value`` unless a caller already set it lower (it cannot rise)."""
    import resource

    soft, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    if soft == resource.RLIM_INFINITY or value < soft:
        resource.setrlimit(limit, (value, hard))


if __name__ == "__main__":
    _child()
