"""Uploaded models run in a worker process: memory-capped, timed out, and replaceable.

An uploaded model passed the static scan and loads in Keras' safe mode, yet it can still ask
for more memory than the machine has (a huge layer behind an innocent input) or take hours
to predict. So the Streamlit server never loads one itself: each uploaded model lives in its
own process, with

* a fork of a server process that has imported TensorFlow and Keras and nothing else
  (`components.model.forks`), talking over a socket pair: nothing of the server's state
  is shared or re-run, and a worker starts in a fraction of a second instead of
  TensorFlow's ~5 s import;
* an address-space limit (``RLIMIT_AS``) and a resident-memory watchdog in the parent: a
  model that outgrows ``GLASSBOX_WORKER_MEMORY_MB`` (default 4096) is killed;
* a time limit per call (``GLASSBOX_WORKER_TIMEOUT_S``, default 30 s) counted from the
  call's last sign of progress: long work beats once per batch (`components.model.heartbeat`),
  so a slow model that keeps finishing batches goes on, while one batch (or a load) that
  takes longer than the limit is stopped and the worker killed; no call runs longer than
  ``GLASSBOX_WORKER_MAX_CALL_S`` (default 600 s) in all;
  loading gets 1 s more per 16 MiB past 64 MiB, and a
  model file over ~512 MiB raises the memory cap to 2 GiB plus 4x its size
  (`Limits.for_model`);
* replies that are not trusted: they are unpickled with an allowlist of the data classes
  Glassbox's results are made of (`components.model.safe_pickle`), never with plain `pickle`;
* a private temporary directory (its ``TMPDIR``) that the parent removes once the worker is
  gone: a worker killed mid-load (memory, timeout) never runs its own clean-up, and the copy
  of the upload Keras reads (and anything Keras extracts) must not outlive it.

Every failure becomes a one-line `WorkerError`; the next call starts a fresh worker. At most
``GLASSBOX_MAX_WORKERS`` (default 10) run at once: the least recently used is stopped (and
restarted from the model's bytes if it is needed again). One spare worker with TensorFlow
ready waits for the next upload, so an upload costs the model's load time alone.

`LocalRunner` gives the bundled sample models (the app's own files) the same interface,
in-process: ``runner.run(fn, *args)`` calls ``fn(model, *args)`` wherever the model lives.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any, Protocol

from components.errors import GlassboxError, first_line
from components.model import forks, heartbeat

MIB = 2**20
BEAT = b"beat"  # the worker's "one more batch done" (`components.model.heartbeat`)


class WorkerError(GlassboxError):
    """The worker holding an uploaded model failed: out of memory, too slow, or crashed."""


def _env(name: str, default: str) -> Callable[[], Any]:
    """A dataclass default read from the environment when the object is made."""
    kind = float if "." in default else int
    return lambda: kind(os.environ.get(name, default))


BIG_MODEL_BASE_MB, BIG_MODEL_PER_MB = 2048, 4  # see Limits.for_model
# The load's time limit grows 1 s per 16 MiB of model file past the first 64 MiB.
LOAD_FREE_BYTES, LOAD_BYTES_PER_S = 64 * 2**20, 16 * 2**20


@dataclass(frozen=True)
class Limits:
    """What one worker may use: resident memory (MiB) and seconds per call."""

    memory_mb: int = field(default_factory=_env("GLASSBOX_WORKER_MEMORY_MB", "4096"))
    timeout_s: float = field(default_factory=_env("GLASSBOX_WORKER_TIMEOUT_S", "30.0"))
    startup_s: float = 180.0  # importing TensorFlow in a fresh process: our cost, not the model's
    # Address space TensorFlow reserves without using it (~2 GiB virtual for ~0.7 GiB resident).
    address_slack_mb: int = 3072
    # However often it beats, no call runs longer than this (the worker never reads it).
    max_call_s: float = field(default_factory=_env("GLASSBOX_WORKER_MAX_CALL_S", "600.0"))

    @classmethod
    def for_model(cls, n_bytes: int) -> Limits:
        """The limits for a model file of ``n_bytes``: the memory cap grows to 2 GiB plus 4x
        the file for a big model (its bytes, the loaded weights and Keras' copies while
        loading: a 1 GiB ResNet-class file gets 6 GiB), never below the configured cap."""
        limits = cls()
        grown = BIG_MODEL_BASE_MB + BIG_MODEL_PER_MB * n_bytes // 2**20
        return replace(limits, memory_mb=max(limits.memory_mb, grown))


class ModelRunner(Protocol):
    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(model, *args, **kwargs)``, wherever the model lives."""


class LocalRunner:
    """A model in this process: the bundled samples, and tests."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(self.model, *args, **kwargs)


class WorkerRunner:
    """An uploaded model in its own process; see the module docstring."""

    def __init__(self, data: bytes, filename: str, sha256: str,
                 limits: Limits | None = None) -> None:
        self._data, self._filename, self.sha256 = data, filename, sha256
        self.limits = limits or Limits.for_model(len(data))
        self._process: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if not self.alive:
                self._start()
            _POOL.touch(self)
            return self._ask(("run", fn, args, kwargs), self.limits.timeout_s)

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def tmpdir(self) -> str | None:
        """The live worker's private temporary directory (its ``TMPDIR``), if any."""
        return getattr(self._process, "tmpdir", None)

    def close(self) -> None:
        """Stop the worker (it restarts from the model's bytes on the next call)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        _POOL.forget(self)
        if conn is not None:
            conn.close()
        if process is not None:
            _reap(process)

    def _start(self) -> None:
        self._process, self._conn = _take_spare(self.limits)
        _POOL.add(self)
        # Sending, writing and loading a big file: 1 s more per 16 MiB past the first 64 MiB.
        extra = max(0, len(self._data) - LOAD_FREE_BYTES) / LOAD_BYTES_PER_S
        load_s = self.limits.timeout_s + round(extra)
        self._ask(("load", self._data, self._filename), load_s)

    def _ask(self, message: tuple, timeout_s: float) -> Any:
        try:
            self._conn.send(message)
        except (OSError, ValueError):
            self.close()
            raise WorkerError("the model's worker process had stopped; try again") from None
        status, value = self._reply(timeout_s)
        if status == "error":
            raise GlassboxError(value)
        return value

    def _reply(self, timeout_s: float) -> tuple[str, Any]:
        """Wait for the answer, watching time and memory; kill the worker past either.

        ``timeout_s`` counts from the call's last beat (`components.model.heartbeat`: one
        per batch of model calls), and no call runs longer than ``max_call_s`` in all.
        """
        start = time.monotonic()
        deadline = start + timeout_s
        while True:
            if self._conn.poll(0.05):
                data = self._receive()
                if data != BEAT:
                    return self._parse(data)
                # no `continue`: a worker flooding beats still meets the checks below
                deadline = min(time.monotonic() + timeout_s, start + self.limits.max_call_s)
            if self._process.poll() is not None:
                code = self._process.returncode
                self.close()
                raise WorkerError(f"the model's worker process died (exit code {code}); it "
                                  "may have run out of memory")
            if (rss := resident_mb(self._process.pid)) > self.limits.memory_mb:
                self.close()
                raise WorkerError(f"the model needed more than {self.limits.memory_mb} MiB of "
                                  f"memory ({rss:,} MiB resident), so it was stopped")
            if time.monotonic() > deadline:
                self.close()
                if deadline >= start + self.limits.max_call_s:
                    raise WorkerError(f"the model ran longer than {self.limits.max_call_s:g} s "
                                      "in all, so it was stopped")
                raise WorkerError(f"the model took longer than {timeout_s:g} s, so it was "
                                  "stopped")

    def _receive(self) -> bytes:
        try:
            return self._conn.recv_bytes()
        except (EOFError, OSError):
            self.close()
            raise WorkerError("the model's worker process closed its connection") from None

    def _parse(self, data: bytes) -> tuple[str, Any]:
        reply = safe_loads(data)
        if not (isinstance(reply, tuple) and len(reply) == 2 and reply[0] in ("ok", "error")):
            self.close()
            raise WorkerError("the model's worker process sent a malformed reply")
        return reply


def safe_loads(data: bytes) -> Any:
    from components.model.safe_pickle import loads  # deferred: only the parent reads replies

    try:
        return loads(data)
    except pickle.UnpicklingError as err:
        raise WorkerError(f"the worker's reply was refused: {first_line(err)}") from None


def resident_mb(pid: int | None) -> int:
    """Resident memory of a process in MiB (0 if it is gone), from /proc."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


# ---------------------------------------------------------------- the pool of workers


class _Pool:
    """Live workers, least recently used first; at most ``max_workers`` at once."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._live: OrderedDict[int, WorkerRunner] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, runner: WorkerRunner) -> None:
        with self._lock:
            self._live[id(runner)] = runner
            evict = list(self._live.values())[: max(0, len(self._live) - self.max_workers)]
        for old in evict:
            old.close()

    def touch(self, runner: WorkerRunner) -> None:
        with self._lock:
            if id(runner) in self._live:
                self._live.move_to_end(id(runner))

    def forget(self, runner: WorkerRunner) -> None:
        with self._lock:
            self._live.pop(id(runner), None)

    def pids(self) -> list[int]:
        with self._lock:
            return [r.pid for r in self._live.values() if r.pid is not None]


_POOL = _Pool(int(os.environ.get("GLASSBOX_MAX_WORKERS", "10")))
_SPARE: list[tuple[Any, Any]] = []
_SPARE_LOCK = threading.Lock()


class _Process:
    """A forked worker, with the `subprocess.Popen` calls `_reap` and `WorkerRunner` make, and
    the temporary directory it was given (removed by `_reap`)."""

    def __init__(self, process: Any, tmpdir: str, memory_mb: int) -> None:
        self._process, self.tmpdir = process, tmpdir
        self.memory_mb = memory_mb  # its address-space limit was set from this

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if (code := self._process.exitcode) is None:
            raise subprocess.TimeoutExpired("components.model.worker", timeout or 0.0)
        return code


def _spawn(limits: Limits) -> tuple[_Process, Connection]:
    """A fresh worker and the parent's end of the socket pair to it.

    The worker's ``TMPDIR`` is a directory the parent made for it alone: Python's `tempfile`
    (hence `components.model.load`'s copy of the upload) and Keras' own extraction write
    there, and `_reap` removes it once the worker is gone, however it died. A worker whose
    parent went away without stopping it removes it itself as it exits (`_forked`).
    """
    ours, theirs = multiprocessing.Pipe()
    tmpdir = tempfile.mkdtemp(prefix="glassbox-worker-")
    env = {**os.environ, "TMPDIR": tmpdir, "TEMP": tmpdir, "TMP": tmpdir,
           "GLASSBOX_WORKER_TMPDIR": tmpdir}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # daemon: a parent that exits ends its workers (after `shutdown`, which reaps them)
    process = forks.WorkerProcess(target=_forked, args=(theirs, limits, env), daemon=True,
                                  name="glassbox-model-worker")
    try:
        process.start()
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        ours.close()
        raise
    finally:
        theirs.close()
    return _Process(process, tmpdir, limits.memory_mb), ours


def _reap(process: _Process) -> None:
    """Kill a worker if it still runs, wait for it, then remove its temporary directory.

    The directory goes only once the process is gone, so nothing can write to it after.
    """
    if process.poll() is None:
        process.kill()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        return  # not gone (SIGKILL pending in the kernel): leave the directory to it
    if tmpdir := getattr(process, "tmpdir", None):
        shutil.rmtree(tmpdir, ignore_errors=True)


def _take_spare(limits: Limits) -> tuple[Any, Any]:
    """A worker: the spare if one is ready, else a new one; then start the next spare in the
    background."""
    with _SPARE_LOCK:
        # A big model's grown memory cap (`Limits.for_model`) needs a worker started with it.
        fits = _SPARE and getattr(_SPARE[-1][0], "memory_mb", 0) >= limits.memory_mb
        spare = _SPARE.pop() if fits else None
    if spare is None or spare[0].poll() is not None:
        if spare is not None:
            _reap(spare[0])  # a spare that died waiting
        spare = _spawn(limits)
    process, conn = spare
    try:
        ready = conn.poll(limits.startup_s) and conn.recv_bytes() == b"ready"
    except (EOFError, OSError):
        ready = False  # it died before it was ready
    if not ready:
        _reap(process)
        raise WorkerError("the model worker did not start (TensorFlow failed to import)")
    if _keep_spare():
        threading.Thread(target=prewarm, args=(limits,), daemon=True).start()
    return process, conn


def _keep_spare() -> bool:
    return os.environ.get("GLASSBOX_SPARE_WORKER", "1") != "0"


def prewarm(limits: Limits | None = None) -> None:
    """Start the spare worker now if there is none (the sidebar calls this as soon as the
    user chooses to upload, so TensorFlow imports while they pick the file)."""
    if not _keep_spare():
        return
    with _SPARE_LOCK:
        if not any(process.poll() is None for process, _ in _SPARE):
            for process, _ in _SPARE:
                _reap(process)  # spares that died waiting
            _SPARE[:] = [_spawn(limits or Limits())]


@atexit.register  # before multiprocessing's own exit handler, which would only SIGTERM them
def shutdown() -> None:
    """Stop every worker and the spare (tests, benchmarks and the process's exit call this)."""
    with _SPARE_LOCK:
        spares, _SPARE[:] = list(_SPARE), []
    for process, _ in spares:
        _reap(process)
    for pid_runner in list(_POOL._live.values()):
        pid_runner.close()


def worker_pids() -> list[int]:
    """PIDs of the live workers and the spare, for memory measurements."""
    with _SPARE_LOCK:
        spare = [p.pid for p, _ in _SPARE if p.poll() is None]
    return _POOL.pids() + spare


# ---------------------------------------------------------------- the child process


def _serve(conn: Any, limits: Limits) -> None:
    """The worker's loop: cap its memory, say ready, load one model, then run calls."""
    import resource

    cap = (limits.memory_mb + limits.address_slack_mb) * MIB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import components.model.worker_preload  # noqa: F401  # imported already by the fork server

    conn.send_bytes(b"ready")
    heartbeat.listen(lambda: conn.send_bytes(BEAT))
    model = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        reply, model = _answer(message, model, limits)
        try:
            data = pickle.dumps(reply)
        except Exception as err:  # a result that cannot travel is a bug, said in one line
            data = pickle.dumps(("error", f"could not send the result ({first_line(err)})"))
        conn.send_bytes(data)


def _answer(message: tuple, model: Any, limits: Limits) -> tuple[tuple[str, Any], Any]:
    """(the reply, the model afterwards) for one message from the parent."""
    try:
        if message[0] == "load":
            from components.model.load import load_model_bytes

            return ("ok", None), load_model_bytes(message[1], message[2]).model
        _, fn, args, kwargs = message
        if model is None:
            return ("error", "no model is loaded in this worker"), model
        return ("ok", fn(model, *args, **kwargs)), model
    except GlassboxError as err:
        return ("error", str(err)), model
    except MemoryError:
        return ("error", "the model ran out of memory (the worker's limit is "
                         f"{limits.memory_mb} MiB)"), model
    except Exception as err:  # one line for the user; the worker stays usable
        if type(err).__name__ == "ResourceExhaustedError" or "OOM when allocating" in str(err):
            return ("error", "the model ran out of memory (the worker's limit is "
                             f"{limits.memory_mb} MiB)"), model
        return ("error", f"could not compute ({type(err).__name__}: {first_line(err)})"), model


def _forked(conn: Connection, limits: Limits, env: dict[str, str]) -> None:
    """The worker's entry point in the fork: its own session, no terminal output, the
    environment and ``TMPDIR`` the parent gave it; serve, then remove that directory when the
    parent closes the connection (or exits) instead of killing it."""
    os.setsid()  # a Ctrl-C at the server's terminal is the server's, not the worker's
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # the fork server's choice, cached: read TMPDIR again
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `finally` runs
    try:
        _serve(conn, limits)
    finally:
        shutil.rmtree(env["GLASSBOX_WORKER_TMPDIR"], ignore_errors=True)
