"""A batch job: rows cut into parts, each part's explanations written as it finishes, the
parts joined into one Parquet file at the end.

    OUT.parquet            the result, written last (one row per input row, in row order)
    OUT.parquet.parts/     while the job runs: job.json (what the job is) and one
                           rows-A-B.parquet per finished part (rows A..B-1; for a job
                           over a subset of rows, the subset's entries A..B-1)

A part is written to a temporary name and renamed once complete, so an interrupted job
(Ctrl-C, a killed machine) leaves only whole parts; the same command run again finds
job.json equal to its own and computes only the missing parts. A parts folder of another
job (another model, data, method list, seed...) is refused, never mixed in.

The engines (`batch_local`, `batch_ray`) only run `components.explain.batch.explain_rows`
on parts and hand each result back to `Job.write_part`; everything else is here, so both
engines write the same file for the same job.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from components.errors import GlassboxError

FORMAT = "glassbox-batch/1"
META_KEY = b"glassbox"  # the Parquet file's key-value metadata holding the job, as JSON
PART_INPUT_BYTES = 64 * 2**20  # a part's input rows stay under this (224x224 images: ~330)
GRADIENT_PART_ROWS, BLACKBOX_PART_ROWS = 4096, 64  # default rows per part
VERSIONED = ("keras", "tensorflow-cpu", "numpy", "shap", "lime", "ray", "pyarrow")


@dataclass(frozen=True)
class JobSpec:
    """Everything that decides a job's numbers; two runs with equal specs write equal files.

    ``rows`` is the half-open range [start, stop) of dataset rows; ``target`` None means each
    row's predicted class; ``sample_shape`` is one row's shape as the model reads it.
    ``subset``, when the job explains only some rows of the range (a filtered selection),
    says which: ``{"sha256": digest of the sorted rows as little-endian int64, "count": n,
    "filter": what selected them}``; the rows themselves go with the `Job`.
    """

    model_sha256: str
    data_sha256: str
    model_name: str
    data_name: str
    methods: tuple[str, ...]
    params: Mapping[str, Mapping[str, Any]]
    seed: int
    target: int | None
    task: str
    kind: str
    rows: tuple[int, int]
    part_rows: int
    feature_names: tuple[str, ...] | None
    sample_shape: tuple[int, ...]
    class_names: tuple[str, ...] | None = None
    subset: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = {k: dict(v) for k, v in self.params.items()}
        if self.subset is None:
            del out["subset"]  # a job over a whole range reads as before subsets existed
        return json.loads(json.dumps(out))  # tuples as lists: what job.json reads back


def default_part_rows(methods: Sequence[str], row_bytes: int) -> int:
    """Rows per part: many for the batched gradient methods, few once a method goes row by
    row (each part is one worker call, bounded in time), and under `PART_INPUT_BYTES`."""
    from components.explain.batch import BATCHED

    rows = GRADIENT_PART_ROWS if set(methods) <= set(BATCHED) else BLACKBOX_PART_ROWS
    return int(max(1, min(rows, PART_INPUT_BYTES // max(1, row_bytes))))


def subset_digest(rows: np.ndarray) -> str:
    """The SHA-256 of sorted dataset rows as little-endian int64 (a subset's identity)."""
    import hashlib

    return hashlib.sha256(np.asarray(rows, dtype="<i8").tobytes()).hexdigest()


def parts_of(rows: tuple[int, int], part_rows: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of at most ``part_rows`` rows covering ``rows``."""
    start, stop = rows
    return [(a, min(a + part_rows, stop)) for a in range(start, stop, part_rows)]


@dataclass
class Job:
    """One job's files: ``out`` and its parts folder; ``subset`` the sorted dataset rows
    of a job over a subset (``spec.subset`` names them), else None.

    A part is a half-open range of keys: dataset rows for a job over a range, positions
    in ``subset`` for a job over a subset; `rows_of` turns it into dataset rows.
    """

    spec: JobSpec
    out: Path
    subset: np.ndarray | None = None
    parts_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.parts_dir = self.out.with_name(self.out.name + ".parts")
        if (self.subset is None) != (self.spec.subset is None) or (
                self.subset is not None and
                subset_digest(self.subset) != self.spec.subset["sha256"]):
            raise ValueError("a job's subset rows and its spec's subset disagree")

    @property
    def keys(self) -> tuple[int, int]:
        """The range the parts cover: the rows, or the subset's positions."""
        return self.spec.rows if self.subset is None else (0, len(self.subset))

    @property
    def total(self) -> int:
        return self.keys[1] - self.keys[0]

    def parts(self) -> list[tuple[int, int]]:
        return parts_of(self.keys, self.spec.part_rows)

    def rows_of(self, part: tuple[int, int]) -> np.ndarray:
        """The dataset rows (n,) int64 of ``part``."""
        if self.subset is None:
            return np.arange(part[0], part[1], dtype=np.int64)
        return np.asarray(self.subset[part[0]:part[1]], dtype=np.int64)

    def open(self) -> list[tuple[int, int]]:
        """Make or reuse the parts folder; the parts still to compute. A finished ``out``
        of this very job leaves nothing to do; any other job's files are refused."""
        if self.out.exists():
            if read_meta(self.out).get("job") == self.spec.to_json():
                return []
            raise GlassboxError(f"{self.out} exists and holds another job's results; remove "
                                f"it or choose another --out")
        job_file = self.parts_dir / "job.json"
        if self.parts_dir.exists():
            try:
                theirs = json.loads(job_file.read_text())
            except (OSError, ValueError):
                theirs = None
            if theirs != self.spec.to_json():
                raise GlassboxError(f"{self.parts_dir} holds the parts of another job "
                                    f"(other model, data, methods, rows or settings); remove "
                                    f"it or choose another --out")
        else:
            self.parts_dir.mkdir()
            job_file.write_text(json.dumps(self.spec.to_json(), indent=1))
        for stale in self.parts_dir.glob(".tmp-*"):  # a part cut off mid-write
            stale.unlink()
        done = set(self.done_parts())
        return [p for p in self.parts() if p not in done]

    def done_parts(self) -> list[tuple[int, int]]:
        parts = []
        for path in self.parts_dir.glob("rows-*.parquet"):
            start, stop = path.stem.split("-")[1:3]
            parts.append((int(start), int(stop)))
        return sorted(parts)

    def part_path(self, part: tuple[int, int]) -> Path:
        return self.parts_dir / f"rows-{part[0]:010d}-{part[1]:010d}.parquet"

    def write_part(self, part: tuple[int, int], result: Mapping[str, Any]) -> int:
        """One part's result (`explain_rows`' columns) as its file; the rows written."""
        return self.write_table(part, part_table(result, self.spec))

    def write_table(self, part: tuple[int, int], table: Any) -> int:
        """One part's Arrow table as its file, checked against the part; the rows written."""
        import pyarrow.parquet as pq

        rows = self.rows_of(part)
        if table.num_rows != len(rows) or (
                table.num_rows and (table.column("row")[0].as_py() != rows[0]
                                    or table.column("row")[-1].as_py() != rows[-1])):
            raise GlassboxError(f"{self.named(part)}: {table.num_rows} results for "
                                f"{len(rows)} rows")
        tmp = self.parts_dir / f".tmp-{part[0]}-{os.getpid()}"
        pq.write_table(table, tmp)
        os.replace(tmp, self.part_path(part))
        return table.num_rows

    def finish(self) -> int:
        """Join the parts, in row order, into ``out`` (one part in memory at a time), with
        the job in its metadata; remove the parts folder. The rows written."""
        import pyarrow.parquet as pq

        parts = self.parts()
        missing = [p for p in parts if not self.part_path(p).exists()]
        if missing:
            raise GlassboxError(f"{len(missing)} part(s) missing, the first "
                                f"{self.named(missing[0])}; run the command again")
        tmp = self.out.with_name(f".tmp-{self.out.name}")
        writer, rows = None, 0
        try:
            for part in parts:
                table = pq.read_table(self.part_path(part))
                if writer is None:
                    schema = table.schema.with_metadata({META_KEY: json.dumps(self._meta())})
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(table.cast(writer.schema))
                rows += table.num_rows
        finally:
            if writer is not None:
                writer.close()
        os.replace(tmp, self.out)
        shutil.rmtree(self.parts_dir)
        return rows

    def named(self, part: tuple[int, int]) -> str:
        """A part as a message names it: "rows 40..59" (its first and last dataset rows)."""
        rows = self.rows_of(part)
        return f"rows {rows[0]}..{rows[-1]}" if len(rows) else f"part {part[0]}"

    def _meta(self) -> dict[str, Any]:
        return {"format": FORMAT, "job": self.spec.to_json(), "versions": versions()}


def versions() -> dict[str, str | None]:
    """The installed versions of what the numbers depend on (without importing them)."""
    out: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def read_meta(path: Path) -> dict[str, Any]:
    """A batch file's metadata (``format``, ``job``, ``versions``); {} if it has none."""
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
        return json.loads(raw) if raw else {}
    except (OSError, ValueError) as err:
        raise GlassboxError(f"{path} is not a readable Parquet file ({err})") from None


# ---------------------------------------------------------------- the table


def part_table(result: Mapping[str, Any], spec: JobSpec) -> Any:
    """`explain_rows`' columns as an Arrow table.

    Columns: ``row``, ``prediction`` (list of k floats), ``target``, ``target_output``;
    then per method: tabular one float column per feature, ``<method>.<feature>``; image
    ``<method>`` a list of floats (the map flattened, ``sample_shape`` in the metadata);
    text ``<method>`` a list of floats and ``<method>.tokens``; and ``<method>.error`` (null,
    or why the row failed). Integrated Gradients adds ``ig.completeness_error`` and
    ``ig.steps``.
    """
    import pyarrow as pa

    prediction = np.asarray(result["prediction"], dtype=np.float32)
    target = np.asarray(result["target"], dtype=np.int64)
    columns: dict[str, Any] = {
        "row": pa.array(np.asarray(result["row"], dtype=np.int64)),
        "prediction": pa.array(list(prediction), type=pa.list_(pa.float32())),
        "target": pa.array(target),
        "target_output": pa.array(prediction[np.arange(len(target)), target]),
    }
    for method in spec.methods:
        values = result[f"values:{method}"]
        if spec.kind == "tabular":
            values = np.asarray(values, dtype=np.float32)
            for j, name in enumerate(spec.feature_names or ()):
                columns[f"{method}.{name}"] = pa.array(values[:, j])
        elif spec.kind == "image":
            flat = np.asarray(values, dtype=np.float32).reshape(len(target), -1)
            columns[method] = pa.array(list(flat), type=pa.list_(pa.float32()))
        else:
            columns[method] = pa.array([None if v is None else np.asarray(v, np.float32)
                                        for v in values], type=pa.list_(pa.float32()))
            columns[f"{method}.tokens"] = pa.array(
                [None if t is None else list(t) for t in result[f"tokens:{method}"]],
                type=pa.list_(pa.string()))
        columns[f"{method}.error"] = pa.array(list(result[f"error:{method}"]), type=pa.string())
        if method == "ig" and "ig_completeness_error" in result:
            columns["ig.completeness_error"] = pa.array(
                np.asarray(result["ig_completeness_error"], dtype=np.float64))
            columns["ig.steps"] = pa.array(np.asarray(result["ig_steps"], dtype=np.int64))
    return pa.table(columns)


# ---------------------------------------------------------------- progress on stderr


class Progress:
    """"rows 12,288 / 100,000 (12 %) · 1,530 rows/s · ETA 57 s" on stderr: redrawn in place
    on a terminal, a line at most every 5 s otherwise (a log file stays short)."""

    def __init__(self, total: int, done: int, stream: TextIO | None = None) -> None:
        self.total, self.done, self.start_done = total, done, done
        self.stream = stream or sys.stderr
        self.started = self._last = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def add(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if self.tty or now - self._last >= 5 or self.done >= self.total:
            self._last = now
            end = "\n" if not self.tty or self.done >= self.total else ""
            self.stream.write(("\r" if self.tty else "") + self.line() + end)
            self.stream.flush()

    def line(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-9)
        rate = (self.done - self.start_done) / seconds
        left = self.total - self.done
        eta = f"{left / rate:,.0f} s" if rate > 0 else "?"
        share = 100 * self.done / max(self.total, 1)
        return (f"rows {self.done:,} / {self.total:,} ({share:.0f} %) · {rate:,.0f} rows/s · "
                f"ETA {eta}")

    @property
    def rate(self) -> float:
        return (self.done - self.start_done) / max(time.monotonic() - self.started, 1e-9)
