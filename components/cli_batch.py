"""``python -m components batch``: every row of a dataset explained into one Parquet file.

The arguments are checked before anything heavy is read; the model and the data are opened
as the other commands open them (scanned, bounded, checked); the methods must all apply to
the model; then the job (`components.explain.batch_job`) runs its missing parts on the
chosen engine and joins them. The JSON summary says what was computed and how fast.

A Parquet file for a tabular model is never read whole (`components.data.parquet_rows`):
the bounded child reads its footer and first rows, on which the dataset checks run; the
background rows and the first row are read in the model's worker; each part's rows are read
where the part is computed, from the file's path (local workers) or its bytes (Ray).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from components.cli_inputs import checked_task, method_params, read_file, token_options, writable
from components.errors import GlassboxError

RANGE = re.compile(r"([0-9]+):([0-9]+)")
MAX_ROWS_FILE = 64 * 2**20  # --rows-file: ten million row numbers fit
MAX_NOTE = 200  # characters of a subset's note
MAX_WORKERS = 8
CHUNKED_SUFFIXES = (".parquet", ".pq")  # read a few row groups at a time (tabular models)


@dataclass(frozen=True)
class Opened:
    """The model and the data as the job reads them.

    ``dataset`` is the checked dataset; for a Parquet file read in chunks it holds the
    file's first rows only (`PREFIX_ROWS`). ``source`` has every row: the model's inputs
    (N, ...) in memory, or a `ParquetSource`; ``n_rows`` counts them.
    """

    bundle: Any
    dataset: Any
    task: str
    source: Any
    n_rows: int
    data_sha256: str


def run_batch(args: argparse.Namespace) -> dict[str, Any]:

    target = parse_target(args.target)
    # Half the cores by default: TensorFlow already spreads one worker over two cores, so a
    # second worker on a 2-core machine gained nothing (bench/batch.py: 0.93x).
    workers = _positive(args.workers, "--workers") or \
        min(MAX_WORKERS, max(1, (os.cpu_count() or 1) // 2))
    part_rows = _positive(args.batch_size, "--batch-size")
    if args.address is not None and args.engine != "ray":
        raise GlassboxError("--address needs --engine ray")
    out = writable(args.out, "--out")
    if out.suffix.lower() != ".parquet":
        raise GlassboxError(f"--out must name a .parquet file, not {out.name}")
    from components.explain.local import check_methods

    methods = tuple(check_methods(args.methods.split(",")))
    params = method_params(args.params)
    model_bytes = read_file(args.model)
    opened = _open(args, model_bytes, token_options(args))
    if args.rows_file is not None and args.rows is not None:
        raise GlassboxError("give --rows or --rows-file, not both")
    subset = None
    if args.rows_file is not None:
        subset = read_subset(args.rows_file, opened.n_rows)
        rows = int(subset.rows[0]), int(subset.rows[-1]) + 1
    else:
        rows = parse_range(args.rows, opened.n_rows)
    job, spec = _job(args, opened, methods, params, target, rows, part_rows, subset)
    todo = job.open()
    return _run(args, job, spec, todo, opened, model_bytes, workers)


def parse_target(text: str) -> int | None:
    """``predicted`` -> None; a non-negative integer -> itself; else a `GlassboxError`."""
    if text == "predicted":
        return None
    if not re.fullmatch(r"[0-9]+", text or ""):
        raise GlassboxError(f"--target takes an output index or 'predicted', not {text!r}")
    return int(text)


def parse_range(text: str | None, n_rows: int) -> tuple[int, int]:
    """``A:B`` (B excluded, clipped to the data) -> (A, B); None -> every row."""
    if text is None:
        return 0, n_rows
    match = RANGE.fullmatch(text.strip())
    if not match:
        raise GlassboxError(f"--rows takes a range A:B of row numbers such as 0:1000, not "
                            f"{text!r}")
    start, stop = int(match[1]), min(int(match[2]), n_rows)
    if start >= stop:
        raise GlassboxError(f"--rows {text} holds no row: the dataset has {n_rows} rows "
                            f"(0..{n_rows - 1})")
    return start, stop


@dataclass(frozen=True)
class Subset:
    """The rows of ``--rows-file``: sorted, unique (n,) int64, and what selected them."""

    rows: np.ndarray
    note: str


def read_subset(path: str, n_rows: int) -> Subset:
    """``--rows-file``: row numbers and A:B ranges (B excluded) separated by commas,
    spaces or lines; ``#`` lines are comments, the first one the subset's note. Every row
    must be in the data; the file at most `MAX_ROWS_FILE` bytes."""
    from components.errors import excerpt

    source = Path(path)
    if not source.is_file():
        raise GlassboxError(f"no such file: {path}")
    if source.stat().st_size > MAX_ROWS_FILE:
        raise GlassboxError(f"--rows-file is over {MAX_ROWS_FILE // 2**20} MiB")
    text = source.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    notes = [ln.lstrip("#").strip() for ln in lines if ln.lstrip().startswith("#")]
    picked: list[np.ndarray] = []
    for token in re.split(r"[\s,]+", "\n".join(ln for ln in lines
                                              if not ln.lstrip().startswith("#"))):
        if not token:
            continue
        if re.fullmatch(r"[0-9]{1,12}", token):
            picked.append(np.array([int(token)], dtype=np.int64))
        elif (match := RANGE.fullmatch(token)) and len(token) <= 25:
            picked.append(np.arange(int(match[1]), min(int(match[2]), n_rows + 1),
                                    dtype=np.int64))
        else:
            raise GlassboxError(f"--rows-file: '{excerpt(token, 40)}' is not a row number "
                                f"or a range A:B")
    rows = np.unique(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    if not len(rows):
        raise GlassboxError("--rows-file holds no row")
    if rows[-1] >= n_rows:
        raise GlassboxError(f"--rows-file: row {rows[-1]} is past the end: the dataset has "
                            f"{n_rows} rows (0..{n_rows - 1})")
    return Subset(rows=rows, note=excerpt(notes[0], MAX_NOTE) if notes else "")


def _positive(value: int | None, flag: str) -> int | None:
    if value is not None and value < 1:
        raise GlassboxError(f"{flag} must be at least 1, not {value}")
    return value


def _open(args: argparse.Namespace, model_bytes: bytes, tokens: dict) -> Opened:
    """The model, opened; the data, opened whole, or (`read_in_chunks`) a Parquet file's
    first rows checked and the file kept as the source; each refused in one line."""
    from components.data.session import open_dataset
    from components.model.bundle import open_model
    from components.model.load import sha256_hex

    if not Path(args.data).is_file():
        raise GlassboxError(f"no such file: {args.data}")
    bundle = open_model(model_bytes, Path(args.model).name, isolate=True)
    if read_in_chunks(Path(args.data), bundle):
        dataset, source, n_rows, digest = _open_parquet(args, bundle, tokens)
    else:
        data_bytes = read_file(args.data)
        dataset = open_dataset(data_bytes, Path(args.data).name, bundle, args.label,
                               isolate=True, **tokens)
        source, n_rows, digest = dataset.x, dataset.n_rows, sha256_hex(data_bytes)
    task = checked_task(bundle.summary.task, args.task, dataset.checks)
    return Opened(bundle=bundle, dataset=dataset, task=task, source=source, n_rows=n_rows,
                  data_sha256=digest)


def read_in_chunks(path: Path, bundle: Any) -> bool:
    """True for a Parquet file fed to a single-input tabular model: read by row groups."""
    spec = bundle.input_spec
    return path.suffix.lower() in CHUNKED_SUFFIXES and spec.kind == "tabular" and \
        spec.tokens is None and len(bundle.summary.inputs) == 1


def _open_parquet(args: argparse.Namespace, bundle: Any, tokens: dict
                  ) -> tuple[Any, Any, int, str]:
    """(the dataset of the file's first rows, checked; the `ParquetSource`; the footer's
    row count; the file's SHA-256). The footer and the first rows are parsed in a bounded
    child; this process reads the file's bytes only to hash them (and, for Ray, to ship)."""
    from components.data.checks import fit_dataset
    from components.data.parquet_rows import (
        PREFIX_ROWS,
        ParquetLayout,
        ParquetSource,
        file_stamp,
        open_prefix,
    )
    from components.data.read import safe_name
    from components.model.bounded import Limits, run_bounded
    from components.model.load import sha256_hex

    path, name = os.path.abspath(args.data), safe_name(Path(args.data).name)
    stamp = file_stamp(path, name)
    plain, raw = run_bounded(open_prefix, path, name, PREFIX_ROWS, what=name,
                             limits=Limits.for_input(stamp[0]))
    layout = ParquetLayout(*plain)
    dataset = fit_dataset(raw, bundle.input_spec, args.label, **tokens)
    data = Path(path).read_bytes() if args.engine == "ray" else None  # Ray ships the bytes
    digest = sha256_hex(data) if data is not None else _sha256_file(path)
    if file_stamp(path, name) != stamp:
        raise GlassboxError(f"{name} changed while it was read; run the command again")
    if not dataset.ok:
        return dataset, None, layout.n_rows, digest
    columns = tuple(dataset.feature_names)
    source = ParquetSource(name=name, columns=columns, n_rows=layout.n_rows,
                           path=None if data is not None else path, data=data,
                           stamp=None if data is not None else stamp)
    return dataset, source, layout.n_rows, digest


def _sha256_file(path: str) -> str:
    """The file's SHA-256, read 1 MiB at a time."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(2**20):
            digest.update(block)
    return digest.hexdigest()


def _template(opened: Opened, row: int) -> Any:
    """Row ``row`` as the template `Subject` (`subject_for`'s: the same background rows,
    drawn over every row); a file's rows are read in the model's worker."""
    from components.explain.batch import source_rows
    from components.explain.local import background_rows, subject_for
    from components.explain.methods.base import Subject

    dataset = opened.dataset
    if isinstance(opened.source, np.ndarray):
        return subject_for(dataset, row, opened.task)
    picks = background_rows(opened.n_rows)
    read = opened.bundle.runner.run(source_rows, opened.source, np.append(picks, row))
    return Subject(x=read[-1:], kind=dataset.kind, predict_fn=None, background=read[:-1],
                   feature_names=tuple(dataset.feature_names), task=opened.task,
                   codec=dataset.codec)


def _job(args: argparse.Namespace, opened: Opened, methods: tuple[str, ...], params: dict,
         target: int | None, rows: tuple[int, int], part_rows: int | None,
         subset: Subset | None = None) -> tuple[Any, Any]:
    """The job and the per-part spec, once every method is known to apply."""
    from components.explain.batch import BatchSpec
    from components.explain.batch_job import Job, JobSpec, default_part_rows, subset_digest
    from components.explain.local import subject_facts
    from components.model.samples import sample_for_digest

    bundle, dataset, task = opened.bundle, opened.dataset, opened.task
    template = _template(opened, rows[0])
    facts = bundle.runner.run(subject_facts, template)
    refused = {m: facts.status[m] for m in methods if facts.status.get(m)}
    if refused:
        name, why = next(iter(refused.items()))
        raise GlassboxError(f"{name} does not apply to this model: {why}")
    if target is not None and target >= len(facts.prediction):
        raise GlassboxError(f"--target {target} is out of range: the model has "
                            f"{len(facts.prediction)} output(s)")
    _check_params(bundle, template, methods, params, target, args.seed)
    shape = tuple(int(d) for d in np.shape(template.x)[1:])
    row_bytes = int(np.prod(shape, dtype=np.int64)) * 4 if dataset.kind != "text" else 4096
    sample = sample_for_digest(bundle.loaded.sha256)
    spec = JobSpec(
        model_sha256=bundle.loaded.sha256, data_sha256=opened.data_sha256,
        model_name=Path(args.model).name, data_name=Path(args.data).name, methods=methods,
        params={m: params.get(m, {}) for m in methods}, seed=args.seed, target=target,
        task=task, kind=dataset.kind, rows=rows,
        part_rows=part_rows or default_part_rows(methods, row_bytes),
        feature_names=tuple(dataset.feature_names) if dataset.kind == "tabular" else None,
        sample_shape=shape, class_names=sample.class_names if sample else None,
        subset=None if subset is None else {"sha256": subset_digest(subset.rows),
                                            "count": len(subset.rows), "filter": subset.note})
    batch = BatchSpec(methods=methods, target=target, seed=args.seed, params=spec.params,
                      task=task, kind=dataset.kind, background=template.background,
                      feature_names=spec.feature_names, codec=dataset.codec)
    return Job(spec, Path(args.out), None if subset is None else subset.rows), batch


def _check_params(bundle: Any, template: Any, methods: tuple[str, ...], params: dict,
                  target: int | None, seed: int) -> None:
    """Refuse a bad ``--params`` setting as `explain` does, before the parts folder exists:
    each method given settings explains the first row once with them. (The batched methods
    would otherwise ignore an unknown name, and a bad value would fail every row or part.)
    """
    from components.explain.local import explain_all

    given = {m: params[m] for m in methods if params.get(m)}
    if given:
        bundle.runner.run(explain_all, template, list(given), target, seed, fixed=True,
                          params=given)


def _run(args: argparse.Namespace, job: Any, spec: Any, todo: list[tuple[int, int]],
         opened: Opened, model_bytes: bytes, workers: int) -> dict[str, Any]:
    from components.explain.batch_job import Progress

    bundle, source = opened.bundle, opened.source

    total = job.total
    left = sum(b - a for a, b in todo)
    progress = Progress(total, total - left)
    started = time.perf_counter()
    if todo and args.engine == "ray":
        from components.explain.batch_ray import run_ray

        run_ray(job, todo, source, spec, (model_bytes, Path(args.model).name,
                                          bundle.loaded.sha256), workers, progress,
                address=args.address)
    elif todo:
        from components.explain.batch_local import run_local

        run_local(job, todo, source, spec, (model_bytes, Path(args.model).name,
                                            bundle.loaded.sha256), workers, progress,
                  first=bundle.runner)
    rows = job.finish() if job.parts_dir.exists() else total
    seconds = time.perf_counter() - started
    return {"out": str(job.out), "rows": rows, "rows_computed": left,
            "parts": len(job.parts()),
            "parts_computed": len(todo), "engine": args.engine,
            "workers": workers, "seconds": round(seconds, 3),
            "rows_per_second": round(left / seconds, 1) if left and seconds > 0 else None,
            "methods": list(job.spec.methods)}
