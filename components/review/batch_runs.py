"""Batch jobs started from the app: the CLI's ``batch`` in a background process, its state
in the workspace database, so a job outlives the browser tab (and the server).

Each job gets a folder under the workspace (``batch/<id>/``) holding copies of the model and
the data under their own suffixes (the CLI reads the kind from it), a subset's rows
(``rows.txt``, for ``--rows-file``), the job's ``out.parquet``
(its parts folder while it runs) and the process's ``stdout.json`` / ``stderr.log``. The
process runs in its own session: a page reload or a server restart does not stop it. Its
progress is read from the files (rows in the finished parts), never from the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.errors import excerpt
from components.review.access import Principal
from components.review.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]  # the repository: where `python -m components` runs
GRADIENT_METHODS = ("saliency", "gradxinput", "ig")


@dataclass(frozen=True)
class BatchRequest:
    """What to explain: methods, target (None: each row's predicted class), rows [a, b),
    seed; ``subset`` the sorted rows of a filtered selection within [a, b) (None: all of
    them) and ``note`` what selected them ("misclassified only · predicted class 1")."""

    methods: tuple[str, ...]
    target: int | None
    rows: tuple[int, int]
    seed: int = 0
    subset: tuple[int, ...] | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """What the database keeps: a subset by its count and note (its rows are in the
        job's folder, `ROWS_FILE`)."""
        out: dict[str, Any] = {"methods": list(self.methods), "target": self.target,
                               "rows": list(self.rows), "seed": self.seed}
        if self.subset is not None:
            out["subset"] = {"count": len(self.subset), "note": self.note}
        return out


ROWS_FILE = "rows.txt"  # a subset job's rows, as the CLI's --rows-file reads them


def rows_total(request: dict[str, Any]) -> int:
    """How many rows a stored request explains."""
    if request.get("subset"):
        return int(request["subset"]["count"])
    a, b = request["rows"]
    return b - a


def _write_rows(folder: Path, request: BatchRequest) -> None:
    """A subset's rows as ``--rows-file`` reads them: its note as the first comment."""
    note = " ".join(request.note.split())  # one line
    body = "\n".join(str(r) for r in request.subset or ())
    (folder / ROWS_FILE).write_text((f"# {note}\n" if note else "") + body + "\n")


@dataclass(frozen=True)
class BatchStatus:
    """A job as the page shows it: ``state`` one of running/done/failed/stopped, rows done of
    the total, the one-line message (why it failed), and the result once done."""

    run_id: int
    state: str
    rows_done: int
    rows_total: int
    message: str
    request: dict[str, Any]
    created_at: str
    out: Path | None

    @property
    def share(self) -> float:
        return self.rows_done / self.rows_total if self.rows_total else 0.0


def start(store: Store, model: tuple[bytes, str, str], data: tuple[bytes, str, str],
          request: BatchRequest, principal: Principal | None = None) -> int:
    """Start a job on (bytes, name, SHA-256) of the model and the data, in the
    ``principal``'s open team; its id."""
    run_id = store.add_batch_run(model[2], data[2], request.to_json(), principal)
    folder = store.root / "batch" / str(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / f"model{Path(model[1]).suffix.lower()}"
    data_path = folder / f"data{Path(data[1]).suffix.lower()}"
    model_path.write_bytes(model[0])
    data_path.write_bytes(data[0])
    if request.subset is not None:
        _write_rows(folder, request)
    _launch(store, run_id, folder, model_path, data_path, request)
    return run_id


def _command(folder: Path, model_path: Path, data_path: Path, request: BatchRequest
             ) -> list[str]:
    target = "predicted" if request.target is None else str(request.target)
    rows = ["--rows-file", str(folder / ROWS_FILE)] if (folder / ROWS_FILE).exists() \
        else ["--rows", f"{request.rows[0]}:{request.rows[1]}"]
    return [sys.executable, "-m", "components", "batch", str(model_path), str(data_path),
            "--methods", ",".join(request.methods), "--target", target, *rows,
            "--seed", str(request.seed), "--out", str(folder / "out.parquet")]


def _launch(store: Store, run_id: int, folder: Path, model_path: Path, data_path: Path,
            request: BatchRequest) -> None:
    with open(folder / "stdout.json", "wb") as out, open(folder / "stderr.log", "wb") as err:
        process = subprocess.Popen(_command(folder, model_path, data_path, request),
                                   cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    store.mark_batch_run(run_id, state="running", pid=process.pid)
    _CHILDREN[run_id] = process


# The processes this server started, so they are reaped (no zombies) and their exit seen.
_CHILDREN: dict[int, subprocess.Popen] = {}


def resume(store: Store, run_id: int, principal: Principal | None = None) -> None:
    """Start a stopped or failed job again: the finished parts are kept, the rest computed."""
    row = _row(store, run_id, principal)
    folder = Path(store.root / "batch" / str(run_id))
    request = BatchRequest(tuple(row["request"]["methods"]), row["request"]["target"],
                           tuple(row["request"]["rows"]), row["request"]["seed"])
    model_path = next(folder.glob("model.*"))
    data_path = next(folder.glob("data.*"))
    store.mark_batch_run(run_id, message="")
    _launch(store, run_id, folder, model_path, data_path, request)


def stop(store: Store, run_id: int, principal: Principal | None = None) -> None:
    """Interrupt a running job (as Ctrl-C would: its finished parts stay)."""
    row = _row(store, run_id, principal)
    if row["pid"] and _alive(row["pid"]):
        with contextlib.suppress(ProcessLookupError, PermissionError):  # it just ended
            os.killpg(row["pid"], signal.SIGINT)
    store.mark_batch_run(run_id, state="stopped", message="stopped; Resume computes the rest")


def statuses(store: Store, model_sha256: str, data_sha256: str,
             principal: Principal | None = None) -> list[BatchStatus]:
    """Every job of this pair (of the ``principal``'s teams), newest first, its state brought
    up to date from its files."""
    return [status(store, row)
            for row in store.batch_runs(model_sha256, data_sha256, principal)]


def status(store: Store, row: dict[str, Any]) -> BatchStatus:
    folder = store.root / "batch" / str(row["id"])
    out = folder / "out.parquet"
    total = rows_total(row["request"])
    state, message = row["state"], row["message"]
    done_rows = _rows_done(out, total)
    if state == "running" and not _running(row["id"], row["pid"]):
        if out.exists():
            state, message = "done", ""
        else:
            state, message = "failed", _error_line(folder / "stderr.log")
        store.mark_batch_run(row["id"], state=state, message=message)
    return BatchStatus(run_id=row["id"], state=state, rows_done=done_rows, rows_total=total,
                       message=message, request=row["request"],
                       created_at=row["created_at"], out=out if out.exists() else None)


def _rows_done(out: Path, total: int) -> int:
    if out.exists():
        return total
    parts = out.with_name(out.name + ".parts")
    done = 0
    for path in parts.glob("rows-*.parquet") if parts.exists() else ():
        start, stop_ = path.stem.split("-")[1:3]
        done += int(stop_) - int(start)
    return done


def _running(run_id: int, pid: int | None) -> bool:
    child = _CHILDREN.get(run_id)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[run_id]
        return False
    return bool(pid) and _alive(pid)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live `python -m components batch` (a reused pid is not)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return b"components" in cmdline and b"batch" in cmdline and ") Z " not in stat


def _error_line(log: Path) -> str:
    """The job's ``error: …`` line (the CLI writes one on any refusal), else a plain note."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [ln for ln in lines if ln.startswith("error: ")]
    if errors:
        return excerpt(errors[-1][len("error: "):], 300)
    if any(ln.startswith("interrupted") for ln in lines):
        return "stopped; Resume computes the rest"
    return "the job ended without a result"


def _row(store: Store, run_id: int, principal: Principal | None = None) -> dict[str, Any]:
    found = store.batch_run(run_id, principal)
    if found is None:  # missing, or another team's: the same answer
        raise StoreError(f"there is no batch job {run_id}")
    return found


def summary(out: Path) -> dict[str, Any]:
    """A finished job's numbers for the Global page: mean |value| per method and feature
    (tabular), from the file's columns, one column at a time."""
    import numpy as np
    import pyarrow.parquet as pq

    from components.explain.batch_job import read_meta

    meta = read_meta(out)
    job = meta.get("job", {})
    features = job.get("feature_names") or []
    result: dict[str, Any] = {"job": job, "mean_abs": {}}
    handle = pq.ParquetFile(out)
    for method in job.get("methods", []):
        means = []
        for name in features:
            column = handle.read(columns=[f"{method}.{name}"]).column(0).to_numpy()
            means.append(float(np.nanmean(np.abs(column))) if len(column) else float("nan"))
        result["mean_abs"][method] = means
    return result
