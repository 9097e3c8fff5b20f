"""The batch job's local engine: a pool of the model's worker processes on this machine.

Each worker is a `WorkerRunner` (its own interpreter, memory cap, time limit per call, the
model scanned and loaded in safe mode); one thread per worker takes the next part, sends its
rows (or, for a Parquet file, the file's reference: the worker reads the part's row groups
itself, under its own bounds), and writes the part's file when the answer comes. No
service to start: this is the default engine. Each worker gets ``cores / workers``
TensorFlow threads, so two workers on two cores do not fight over them.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

from components.errors import GlassboxError
from components.explain.batch import BatchSpec, RowSource, explain_rows, part_input
from components.explain.batch_job import Job, Progress
from components.model.worker import ModelRunner, WorkerRunner


def run_local(job: Job, todo: list[tuple[int, int]], x: RowSource, spec: BatchSpec,
              model: tuple[bytes, str, str], workers: int, progress: Progress,
              first: ModelRunner | None = None) -> None:
    """Compute the parts ``todo`` of ``job`` on ``workers`` local worker processes.

    ``x`` is the whole dataset as the model reads it (a part's rows: ``job.rows_of``), or a
    `ParquetSource` the workers read each part's rows from; ``model``
    the file's (bytes, name, SHA-256); ``first``, a runner already holding the model, is
    used as one of the workers. A failed part stops the job with its rows named (the parts
    done stay); Ctrl-C stops the workers and leaves only whole parts.
    """
    threads_each = max(1, (os.cpu_count() or 1) // max(1, workers))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads_each))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    runners: list[ModelRunner] = [first] if first is not None else []
    runners += [WorkerRunner(*model) for _ in range(max(1, workers) - len(runners))]
    parts: queue.Queue[tuple[int, int]] = queue.Queue()
    for part in todo:
        parts.put(part)
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(runner: ModelRunner) -> None:
        while not stop.is_set():
            try:
                a, b = parts.get_nowait()
            except queue.Empty:
                return
            try:
                rows = job.rows_of((a, b))
                result = runner.run(explain_rows, part_input(x, rows), rows, spec)
                with lock:
                    progress.add(job.write_part((a, b), result))
            except Exception as err:  # the first failure stops the job, named by its rows
                with lock:
                    failures.append(f"{job.named((a, b))}: {err}")
                stop.set()
                return

    _run_threads([lambda r=r: work(r) for r in runners], stop, runners)
    if failures:
        raise GlassboxError(failures[0])


def _run_threads(bodies: list[Callable[[], None]], stop: threading.Event,
                 runners: list[ModelRunner]) -> None:
    """Run ``bodies`` in threads; on Ctrl-C set ``stop``, kill the workers, re-raise."""
    threads = [threading.Thread(target=body, daemon=True) for body in bodies]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)  # short joins: the main thread still gets Ctrl-C
    except KeyboardInterrupt:
        stop.set()
        for runner in runners:
            close = getattr(runner, "close", None)
            if close is not None:
                close()
        raise
