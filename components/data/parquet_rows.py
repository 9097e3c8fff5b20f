"""A Parquet file's rows read a few row groups at a time, never the whole table at once.

A Parquet file says in its footer how many rows it holds and how many each row group has,
so rows A..B-1 need only the row groups that overlap them, and only the feature columns:

* `read_layout`: the row count, each row group's first row and the column names, from the
  footer alone. A file bigger than the readers accept, a footer over `MAX_FOOTER_BYTES`, or
  one declaring more columns, cells, unpacked bytes (`components.data.read`'s limits), row
  groups (`MAX_ROW_GROUPS`) or bytes in one row group (`MAX_ROW_GROUP_BYTES`) is refused
  before anything is decoded.
* `open_prefix`: the layout and the first rows (at most `PREFIX_ROWS`) as the ordinary
  reader reads them (`read_data_bytes`), for the dataset checks (`fit_dataset`).
* `read_rows` / `read_picks`: rows [start, stop), or chosen rows, of the given columns as
  (n, features) float32, each value checked: a missing, non-numeric or infinite value is a
  one-line `DataError` naming the column and the row (counted from 0).
* `ParquetSource`: the file (its path, or its bytes) and the feature columns; it travels to
  where a part is computed and is read there.

The bytes are untrusted: these functions run in a bounded child (`run_bounded`) or in the
model's worker process (its memory cap and time limit), never in the server or the CLI.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from components.data.read import (
    MAX_DATA_BYTES,
    RawData,
    check_parquet_metadata,
    read_data_bytes,
)
from components.errors import DataError, excerpt, first_line, quote_value
from components.model import heartbeat

MiB = 2**20
PREFIX_ROWS = 2_000  # the rows the dataset checks see; the rest is checked as it is read
MAX_FOOTER_BYTES = 64 * MiB  # the footer's own length, read from the file's last 8 bytes
MAX_ROW_GROUPS = 10_000  # real writers put 10^4..10^6 rows in a group
MAX_ROW_GROUP_BYTES = 1024 * MiB  # declared unpacked bytes of one group: what one read decodes
MAGIC = b"PAR1"

Source = str | bytes  # a file's path, or its bytes


@dataclass(frozen=True)
class ParquetLayout:
    """What the footer says: ``n_rows``; ``offsets`` (groups + 1,), group g holding rows
    ``offsets[g]`` .. ``offsets[g + 1] - 1``; the top-level ``columns`` in file order."""

    n_rows: int
    offsets: tuple[int, ...]
    columns: tuple[str, ...]

    def groups(self, start: int, stop: int) -> tuple[int, ...]:
        """The row groups holding any of rows [start, stop), in order."""
        ends = np.asarray(self.offsets[1:])
        first = int(np.searchsorted(ends, start, side="right"))
        last = int(np.searchsorted(ends, stop - 1, side="right"))
        return tuple(g for g in range(first, last + 1) if self.offsets[g + 1] > self.offsets[g])


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file's feature ``columns`` (in the model's order), read where used.

    ``path`` is read by the local engine's workers, ``data`` (the file's bytes) travels to a
    Ray cluster's object store; ``stamp`` is the file's (size, mtime_ns) when the job began,
    so a file changed since is refused, never read; ``n_rows`` is the footer's.
    """

    name: str
    columns: tuple[str, ...]
    n_rows: int
    path: str | None = None
    data: bytes | None = field(default=None, repr=False)
    stamp: tuple[int, int] | None = None

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as (stop - start, features) float32."""
        return read_rows(self._file(), self.columns, start, stop, name=self.name)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (n,), any order, as (n, features) float32."""
        return read_picks(self._file(), self.columns, rows, name=self.name)

    def _file(self) -> Source:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise DataError(f"{self.name}: neither a path nor the file's bytes")
        if self.stamp is not None and file_stamp(self.path, self.name) != self.stamp:
            raise DataError(f"{self.name} changed while the job ran; run the command again")
        return self.path


def file_stamp(path: str, name: str) -> tuple[int, int]:
    """(size, mtime_ns) of the file at ``path``; a `DataError` if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise DataError(f"cannot read {name}: {err.strerror}") from None
    return st.st_size, st.st_mtime_ns


# ---------------------------------------------------------------- the footer


def read_layout(source: Source, name: str) -> ParquetLayout:
    """The file's layout from its footer alone (nothing decoded); `DataError` if refused."""
    with _opened(source, name) as (_, layout):
        return layout


def open_prefix(source: Source, name: str, limit: int = PREFIX_ROWS
                ) -> tuple[tuple[int, tuple[int, ...], tuple[str, ...]], RawData]:
    """(the layout's fields, the first ``limit`` rows read as `read_data_bytes` reads the
    whole file). What `run_bounded` calls: its reply is plain data and a `RawData`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _opened(source, name) as (pf, layout):
        batches, got = [], 0
        try:
            for batch in pf.iter_batches(batch_size=max(1, limit)):
                batches.append(batch)
                got += batch.num_rows
                if got >= limit:
                    break
            table = pa.Table.from_batches(batches, schema=pf.schema_arrow).slice(0, limit)
        except (MemoryError, DataError):
            raise
        except Exception as err:  # pyarrow raises many types; the user needs one sentence
            raise DataError(f"{name} is not a readable Parquet file: {first_line(err)}") \
                from None
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)  # the schema's pandas metadata (index, dtypes) goes along
    raw = read_data_bytes(sink.getvalue().to_pybytes(), name)
    return (layout.n_rows, layout.offsets, layout.columns), raw


@contextmanager
def _opened(source: Source, name: str) -> Iterator[tuple[Any, ParquetLayout]]:
    """The open `pyarrow.parquet.ParquetFile` and its checked layout."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_tail(source, name)
    try:
        pf = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes)
                            else str(source))
    except Exception as err:  # pyarrow raises many types; the user needs one sentence
        raise DataError(f"{name} is not a readable Parquet file: {first_line(err)}") from None
    with pf:
        yield pf, _layout(pf, name)


def _check_tail(source: Source, name: str) -> None:
    """The file's size and its last 8 bytes (footer length, magic), before pyarrow reads."""
    if isinstance(source, bytes):
        size, tail = len(source), source[-8:]
    else:
        try:
            with open(source, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - 8))
                tail = fh.read(8)
        except OSError as err:
            raise DataError(f"cannot read {name}: {err.strerror}") from None
    if size == 0:
        raise DataError(f"{name} is empty")
    if size > MAX_DATA_BYTES:
        raise DataError(f"{name} is {size / MiB:.0f} MiB; the limit is "
                        f"{MAX_DATA_BYTES // MiB} MiB")
    if size < 12 or tail[4:] != MAGIC:
        raise DataError(f"{name} is not a readable Parquet file: it does not end with "
                        "Parquet's magic bytes")
    footer = int.from_bytes(tail[:4], "little")
    if footer > MAX_FOOTER_BYTES:
        raise DataError(f"{name} declares a footer of {_size(footer)}; the limit is "
                        f"{_size(MAX_FOOTER_BYTES)}")
    if footer + 12 > size:
        raise DataError(f"{name} is not a readable Parquet file: its footer of {footer:,} "
                        f"bytes is longer than the file")


def _size(n_bytes: int) -> str:
    return f"{n_bytes / MiB:,.0f} MiB" if n_bytes >= MiB else f"{n_bytes:,} bytes"


def _layout(pf: Any, name: str) -> ParquetLayout:
    meta = pf.metadata
    if meta.num_row_groups > MAX_ROW_GROUPS:
        raise DataError(f"{name} declares {meta.num_row_groups:,} row groups; the limit is "
                        f"{MAX_ROW_GROUPS:,}")
    check_parquet_metadata(meta, name)
    counts = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_rows < 0 or group.total_byte_size < 0:
            raise DataError(f"{name}: row group {g} declares a negative size")
        if group.total_byte_size > MAX_ROW_GROUP_BYTES:
            raise DataError(f"{name}: row group {g} declares {_size(group.total_byte_size)} "
                            f"once unpacked; the limit is {_size(MAX_ROW_GROUP_BYTES)} per "
                            "row group (write it with smaller row groups)")
        counts.append(group.num_rows)
    offsets = (0, *(int(v) for v in np.cumsum(counts, dtype=np.int64)))
    if offsets[-1] != meta.num_rows:
        raise DataError(f"{name}: its row groups hold {offsets[-1]:,} rows, its footer "
                        f"declares {meta.num_rows:,}")
    return ParquetLayout(n_rows=int(meta.num_rows), offsets=offsets,
                         columns=tuple(str(c) for c in pf.schema_arrow.names))


# ---------------------------------------------------------------- rows


def read_rows(source: Source, columns: tuple[str, ...], start: int, stop: int, *,
              name: str = "the Parquet file") -> np.ndarray:
    """Rows [start, stop) of ``columns`` as (stop - start, len(columns)) float32, read from
    the row groups overlapping them only; every value checked (see `read_picks`)."""
    with _opened(source, name) as (pf, layout):
        _check_request(layout, columns, start, stop, name)
        groups = layout.groups(start, stop)
        table = _groups(pf, source, groups, columns, name)
        first = layout.offsets[groups[0]]
        part = table.slice(start - first, stop - start)
        return _numbers(part, columns, np.arange(start, stop), name)


def read_picks(source: Source, columns: tuple[str, ...], rows: np.ndarray, *,
               name: str = "the Parquet file") -> np.ndarray:
    """Rows ``rows`` (n,) of ``columns`` as (n, len(columns)) float32, in the order given,
    one row group decoded at a time. A missing value (null or NaN), a value that is not a
    number, or one infinite as float32 is a `DataError` naming its column and row."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    out = np.empty((len(rows), len(columns)), dtype=np.float32)
    with _opened(source, name) as (pf, layout):
        if len(rows):
            _check_request(layout, columns, int(rows.min()), int(rows.max()) + 1, name)
        group_of = np.searchsorted(np.asarray(layout.offsets[1:]), rows, side="right")
        for g in np.unique(group_of):
            at = np.flatnonzero(group_of == g)
            table = _groups(pf, source, (int(g),), columns, name)
            taken = table.take(rows[at] - layout.offsets[g])
            out[at] = _numbers(taken, columns, rows[at], name)
            heartbeat.beat()  # a big file's groups, one by one: still going
    return out


def _check_request(layout: ParquetLayout, columns: tuple[str, ...], start: int, stop: int,
                   name: str) -> None:
    if not 0 <= start < stop <= layout.n_rows:
        raise DataError(f"{name}: rows {start}..{stop - 1} are outside its {layout.n_rows:,} "
                        "rows")
    missing = [c for c in columns if c not in layout.columns]
    if missing:
        raise DataError(f"{name} has no column '{excerpt(missing[0])}'")


# The row groups the last read decoded, kept for the next read: consecutive parts of a job
# mostly fall in the same group (a writer's default group is 10^5..10^6 rows), which is then
# decoded once per process, not once per part. One entry; it holds its source, so a key
# naming a bytes object by ``id`` cannot match another object later at the same address.
_LAST: dict[str, Any] = {}
_LAST_LOCK = threading.Lock()


def _groups(pf: Any, source: Source, groups: tuple[int, ...], columns: tuple[str, ...],
            name: str) -> Any:
    """Row groups ``groups`` of ``columns`` as one Arrow table (from `_LAST` if there)."""
    identity = ("bytes", id(source), len(source)) if isinstance(source, bytes) else \
        ("path", str(source), *file_stamp(str(source), name))
    key = (identity, groups, columns)
    with _LAST_LOCK:
        if _LAST.get("key") == key:
            return _LAST["table"]
        _LAST.clear()  # the old groups go before the new ones are decoded
        try:
            table = pf.read_row_groups(list(groups), columns=list(columns))
        except MemoryError:
            raise
        except Exception as err:  # a corrupt page: one sentence, naming where
            raise DataError(f"{name}: row group {groups[0]} is not readable: "
                            f"{first_line(err)}") from None
        _LAST.update(key=key, source=source, table=table)
        return table


def _numbers(table: Any, columns: tuple[str, ...], rows: np.ndarray, name: str
             ) -> np.ndarray:
    """``table``'s ``columns`` as (n, features) float32; ``rows`` (n,) number its rows."""
    out = np.empty((table.num_rows, len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        out[:, j] = _column(table.column(column), column, rows, name)
    return out


def _column(values: Any, column: str, rows: np.ndarray, name: str) -> np.ndarray:
    """One Arrow column as float32, each value cast directly (as pandas' ``to_numpy``
    does: int64 -> float32, not through float64); text and decimals through ``float``."""
    import pyarrow as pa

    where = f"{name}: column '{excerpt(column)}'"
    array = values.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if array.null_count:
        at = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{where} has a missing value at row {rows[at]} (counted from 0)")
    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        with np.errstate(over="ignore", invalid="ignore"):
            out = array.to_numpy(zero_copy_only=False).astype(np.float32)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            pa.types.is_decimal(kind):
        parsed = np.empty(len(array), dtype=np.float64)
        for i, value in enumerate(array.to_pylist()):
            try:
                parsed[i] = float(value)
            except (TypeError, ValueError, OverflowError):
                raise DataError(f"{where} holds {quote_value(value)} at row {rows[i]} "
                                "(counted from 0), not a number") from None
        with np.errstate(over="ignore"):
            out = parsed.astype(np.float32)
    else:
        raise DataError(f"{where} holds {excerpt(str(kind))} values, not numbers")
    bad = np.flatnonzero(~np.isfinite(out))
    if len(bad):
        at = int(bad[0])
        what = "a missing value (NaN)" if np.isnan(out[at]) else \
            "an infinite value (or one beyond float32's range)"
        raise DataError(f"{where} has {what} at row {rows[at]} (counted from 0)")
    return out
