"""The batch job's Ray engine: Ray Data over the same per-part function, on a local Ray or
a cluster.

The parts still to compute become a Ray dataset of (start, stop) rows; ``map_batches`` runs
them, one part per call, on a pool of actors (`PartExplainer`), each of which scans the model
file and loads it in Keras' safe mode (`load_model_bytes`, the app's path) once, then answers
parts with `explain_rows`, returned as Parquet bytes. The driver writes each part's file as it
arrives (`Job.write_table`, which checks the part's rows), so the job resumes and joins
exactly as with the local engine. Ray Data retries the parts of an actor or node that died;
a part written twice would be the same file, so no row is lost or doubled.

The model and the data go to the object store once (``ray.put``): the job's rows, or for a
Parquet file the file's bytes, of which each actor reads only the row groups of its parts
(a cluster's nodes need not share this machine's filesystem); the `components` package
is shipped to the workers as a ``py_modules`` runtime environment, so a cluster's nodes need
only the same Python packages, not a copy of Glassbox.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from components.errors import GlassboxError
from components.explain.batch import BatchSpec, RowSource, part_input
from components.explain.batch_job import Job, JobSpec, Progress

PACKAGE = Path(__file__).resolve().parents[1]  # the `components` folder, shipped to workers


class PartExplainer:
    """A Ray Data actor: the model loaded once, then one part per call."""

    def __init__(self, model: Any, x: Any, spec: BatchSpec, job: JobSpec,
                 threads: int) -> None:
        import ray

        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from components.model.load import load_model_bytes

        data, filename, sha = _got(model, ray)
        loaded = load_model_bytes(data, filename)  # the static scan, then safe_mode=True
        if loaded.sha256 != sha:
            raise GlassboxError("the model's bytes changed on their way to a Ray worker")
        self.model, self.x, self.spec, self.job = loaded.model, _got(x, ray), spec, job

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        import pyarrow.parquet as pq
        import ray

        from components.explain.batch import explain_rows
        from components.explain.batch_job import part_table

        out: dict[str, list] = {"start": [], "stop": [], "table": [], "node": []}
        node = ray.get_runtime_context().get_node_id()
        for a, b, first, rows in zip(batch["start"], batch["stop"], batch["first"],
                                     batch["rows"], strict=True):
            a, b, first = int(a), int(b), int(first)
            # in memory: the job's rows were shipped, in order, the part's at its keys
            x = self.x[a - first:b - first] if isinstance(self.x, np.ndarray) else self.x
            result = explain_rows(self.model, x, np.asarray(rows, dtype=np.int64), self.spec)
            sink = io.BytesIO()
            pq.write_table(part_table(result, self.job), sink)
            out["start"].append(a)
            out["stop"].append(b)
            out["table"].append(sink.getvalue())
            out["node"].append(node)
        return out


def _got(value: Any, ray: Any) -> Any:
    return ray.get(value) if isinstance(value, ray.ObjectRef) else value


def run_ray(job: Job, todo: list[tuple[int, int]], x: RowSource, spec: BatchSpec,
            model: tuple[bytes, str, str], workers: int, progress: Progress,
            address: str | None = None) -> dict[tuple[int, int], str]:
    """Compute the parts ``todo`` of ``job`` with Ray Data on ``workers`` actors; returns
    the Ray node each part was computed on (the last one, if Ray retried it elsewhere).
    ``x`` is the dataset in memory (N, ...) or a `ParquetSource` holding the file's bytes.

    ``address`` is a running cluster's ("ray://host:10001" or "host:6379"); None starts a
    local Ray in this process for the job and stops it after. A part that fails for good
    (after Ray's retries) stops the job with one line; the parts written stay.
    """
    import ray

    started = _connect(ray, address, workers)
    try:
        return _run(ray, job, todo, x, spec, model, workers, progress)
    except (ray.exceptions.RayError, RuntimeError) as err:
        raise GlassboxError(f"the Ray job failed: {_reason(err)}") from None
    finally:
        if started:
            ray.shutdown()


def _connect(ray: Any, address: str | None, workers: int) -> bool:
    """Join ``address``, or start a local Ray; True if this call started it."""
    if ray.is_initialized():
        return False
    env = {"py_modules": [str(PACKAGE)],
           "env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3", "GLASSBOX_SPARE_WORKER": "0"}}
    try:
        if address is None:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, runtime_env=env)
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR,
                     runtime_env=env)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise GlassboxError(f"cannot reach the Ray cluster at {address}: {_reason(err)}"
                            if address else f"cannot start Ray: {_reason(err)}") from None
    return True


def _run(ray: Any, job: Job, todo: list[tuple[int, int]], x: RowSource, spec: BatchSpec,
         model: tuple[bytes, str, str], workers: int, progress: Progress
         ) -> dict[tuple[int, int], str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    context = ray.data.DataContext.get_current()
    # stderr is for the progress line and the one error line: Ray's notes go to its logs
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    # only the job's rows travel (a file travels whole: its parts are read by row group)
    shipped = part_input(x, job.rows_of(job.keys)) if isinstance(x, np.ndarray) else x
    cores = int(ray.cluster_resources().get("CPU", 1))
    threads = max(1, cores // max(1, workers))
    parts = ray.data.from_items([{"start": a, "stop": b, "first": job.keys[0],
                                  "rows": job.rows_of((a, b)).tolist()} for a, b in todo],
                                override_num_blocks=len(todo))
    results = parts.map_batches(
        PartExplainer, batch_size=1, num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        fn_constructor_kwargs={"model": ray.put(model), "x": ray.put(shipped), "spec": spec,
                               "job": job.spec, "threads": threads})
    nodes: dict[tuple[int, int], str] = {}
    for row in results.iter_rows():
        part = (int(row["start"]), int(row["stop"]))
        table = pq.read_table(pa.BufferReader(row["table"]))
        progress.add(job.write_table(part, table))
        nodes[part] = str(row["node"])
    return nodes


def _reason(err: BaseException) -> str:
    from components.errors import first_line

    lines = [ln for ln in str(err).splitlines() if ln.strip()]
    glassbox = [ln for ln in lines if "GlassboxError" in ln or "error:" in ln]
    return first_line(Exception((glassbox or lines or [type(err).__name__])[-1]))
