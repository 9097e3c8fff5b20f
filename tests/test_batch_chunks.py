"""`batch` over a Parquet file reads it in chunks: the row groups of each part, where the
part is computed, never the whole table.

On a tiny model built here and a 2,300-row file in row groups of 256 rows (more rows than
the 2,000 the dataset checks see, `PREFIX_ROWS`):

* `components.data.parquet_rows` alone: the layout from the footer, rows read from the
  overlapping row groups only, equal to the whole table's; a changed file, absurd footers;
* the command in-process (`components.cli.main`, the model in this process as in
  tests/test_batch.py): the same output file, byte for byte, as the in-memory path over
  the same file, and the same numbers as over the same data as CSV, ``--rows`` crossing row
  groups; the whole table never read in this process, each part reading only its row
  groups; a NaN or a text beyond the checked rows stops the job at its part in one line,
  the finished parts kept; absurd footers refused in one line;
* one real ``python -m components batch`` (the model and the reads in its worker process),
  started first so that it runs while the rest does.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_batch import ENV, Result, command

from components.data import parquet_rows
from components.data.parquet_rows import ParquetSource, read_layout, read_picks, read_rows
from components.errors import DataError
from components.explain.local import background_rows

FEATURES = tuple(f"f{i}" for i in range(6))
N_ROWS, GROUP = 2_300, 256
OFFSETS = (*range(0, N_ROWS, GROUP), N_ROWS)  # 9 groups, the last of 252 rows
# IG from the mean of the background rows: a different draw would change every value.
JOB = ["--methods", "saliency,gradxinput,ig", "--params", json.dumps({"ig": {
    "baseline": "mean", "steps": 32}}), "--seed", "3", "--workers", "1"]
RANGE = ["--rows", "70:2250", "--batch-size", "300"]  # parts cross the groups' boundaries
# A row past the checked prefix, not among the background rows, in part 2100..2199.
BAD = next(r for r in range(2150, N_ROWS) if r not in set(background_rows(N_ROWS)))


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    """(2300, 6) float32, three decimals (a CSV holds them exactly)."""
    rng = np.random.default_rng(0)
    return np.round(rng.normal(size=(N_ROWS, 6)) * 1.5, 3).astype("float32")


@dataclass(frozen=True)
class Files:
    folder: Path
    model: Path
    csv: Path
    parquet: Path


def _frame(table: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(table, columns=list(FEATURES))
    frame["label"] = np.arange(N_ROWS) % 3
    return frame


def _write(frame: pd.DataFrame | pa.Table, path: Path) -> Path:
    table = frame if isinstance(frame, pa.Table) else \
        pa.Table.from_pandas(frame, preserve_index=False)  # NaN becomes null
    pq.write_table(table, path, row_group_size=GROUP)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory, table) -> Files:
    import keras

    folder = tmp_path_factory.mktemp("chunks")
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    hidden = keras.layers.Dense(12, activation="tanh")(inp)
    keras.Model(inp, keras.layers.Dense(3, activation="softmax")(hidden)).save(
        folder / "tiny.keras")
    frame = _frame(table)
    frame.to_csv(folder / "data.csv", index=False)
    return Files(folder, folder / "tiny.keras", folder / "data.csv",
                 _write(frame, folder / "data.parquet"))


@pytest.fixture(scope="module")
def real_run(files, repo_root):
    """The real command, its model and reads in a worker process, started first."""
    out = files.folder / "real.parquet"
    proc = subprocess.Popen(command("batch", files.model, files.parquet, *JOB, "--rows",
                                    "1900:2300", "--batch-size", 150, "--out", out),
                            cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module", autouse=True)
def _start_real_run_first(real_run):
    """The real run goes on in the background while the in-process tests run."""


# ---------------------------------------------------------------- the module alone


@pytest.fixture
def row_group_reads(monkeypatch) -> list[tuple[int, ...]]:
    """The row groups of each `read_row_groups` call, the last read's cache emptied."""
    calls: list[tuple[int, ...]] = []
    original = pq.ParquetFile.read_row_groups

    def counted(self, row_groups, *args, **kwargs):
        calls.append(tuple(row_groups))
        return original(self, row_groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", counted)
    parquet_rows._LAST.clear()
    yield calls
    parquet_rows._LAST.clear()


def test_the_layout_comes_from_the_footer(files):
    layout = read_layout(str(files.parquet), "data.parquet")
    assert (layout.n_rows, layout.offsets) == (N_ROWS, OFFSETS)
    assert layout.columns == (*FEATURES, "label")
    assert layout.groups(0, 1) == (0,) and layout.groups(255, 257) == (0, 1)
    assert layout.groups(70, 2250) == tuple(range(9)) and layout.groups(2299, 2300) == (8,)
    assert read_layout(files.parquet.read_bytes(), "data.parquet") == layout


@pytest.mark.parametrize("source", ["path", "bytes"])
def test_rows_come_from_their_row_groups_only(source, files, table, row_group_reads):
    where = str(files.parquet) if source == "path" else files.parquet.read_bytes()
    for start, stop, groups in ((0, 10, (0,)), (250, 520, (0, 1, 2)), (2200, 2300, (8,))):
        got = read_rows(where, FEATURES, start, stop)
        assert got.dtype == np.float32 and got.shape == (stop - start, 6)
        np.testing.assert_array_equal(got, table[start:stop])
        assert row_group_reads[-1] == groups
    # the next part inside the groups already decoded decodes nothing
    before = len(row_group_reads)
    np.testing.assert_array_equal(read_rows(where, FEATURES, 2250, 2260), table[2250:2260])
    assert len(row_group_reads) == before
    picks = np.array([2299, 3, 700, 4, 1500])
    np.testing.assert_array_equal(read_picks(where, FEATURES[::-1], picks),
                                  table[picks][:, ::-1])


def test_a_file_changed_after_the_job_began_is_refused(files, tmp_path):
    path = tmp_path / "data.parquet"
    path.write_bytes(files.parquet.read_bytes())
    source = ParquetSource(name="data.parquet", columns=FEATURES, n_rows=N_ROWS,
                           path=str(path), stamp=parquet_rows.file_stamp(str(path), "x"))
    assert source.rows(0, 3).shape == (3, 6)
    path.write_bytes(path.read_bytes()[:-1] + b"1")
    with pytest.raises(DataError, match=r"^data.parquet changed while the job ran; run the "
                                        r"command again$"):
        source.rows(0, 3)
    assert "data=" not in repr(ParquetSource("d", FEATURES, 1, data=b"x" * 10_000))


def _footer(data: bytes) -> tuple[int, bytes]:
    length = int.from_bytes(data[-8:-4], "little")
    return len(data) - 8 - length, data[len(data) - 8 - length:-8]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def declaring_rows(data: bytes, rows: int) -> bytes:
    """The file with its footer's row count (Thrift compact: field 3, i64, zigzag) set to
    ``rows``: nothing else changes, the row groups still hold the real rows."""
    start, footer = _footer(data)
    old = b"\x16" + _varint(2 * N_ROWS)
    assert footer.count(old) == 1
    footer = footer.replace(old, b"\x16" + _varint(2 * rows))
    return data[:start] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


@pytest.mark.parametrize("limit, value, message", [
    ("MAX_ROW_GROUPS", 8, "data.parquet declares 9 row groups; the limit is 8"),
    ("MAX_ROW_GROUP_BYTES", 1000, "data.parquet: row group 0 declares {group} bytes once "
                                  "unpacked; the limit is 1,000 bytes per row group (write it "
                                  "with smaller row groups)"),
    ("MAX_FOOTER_BYTES", 100, "data.parquet declares a footer of {footer} bytes; the limit "
                              "is 100 bytes"),
])
def test_row_groups_and_footers_past_the_limits_are_refused(limit, value, message, files,
                                                            monkeypatch):
    data = files.parquet.read_bytes()
    sizes = {"group": f"{pq.ParquetFile(files.parquet).metadata.row_group(0).total_byte_size:,}",
             "footer": f"{len(_footer(data)[1]):,}"}
    monkeypatch.setattr(parquet_rows, limit, value)
    with pytest.raises(DataError) as err:
        read_layout(str(files.parquet), "data.parquet")
    assert str(err.value) == message.format(**sizes)


def test_a_footer_declaring_more_rows_than_its_groups_hold_is_refused(files):
    data = declaring_rows(files.parquet.read_bytes(), N_ROWS + 1)
    with pytest.raises(DataError, match=r"^d.parquet: its row groups hold 2,300 rows, its "
                                        r"footer declares 2,301$"):
        read_layout(data, "d.parquet")


# ---------------------------------------------------------------- the command, in-process


@pytest.fixture(scope="module")
def cli():
    """``cli("batch", ...)``: `components.cli.main` in this process, the model loaded here
    once (not in a worker); the Parquet's footer and first rows are still parsed in the
    bounded child, unless ``cli(..., child=False)``."""
    import components.data.session as session
    import components.model.bounded as bounded
    import components.model.bundle as bundle_module
    from components.cli import main

    open_model, open_dataset = bundle_module.open_model, session.open_dataset
    bundles: dict[str, object] = {}

    def here(data: bytes, filename: str, feature_names=None, **_: object):
        if filename not in bundles:
            bundles[filename] = open_model(data, filename, feature_names)
        return bundles[filename]

    def run(*args, child: bool = True) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            if not child:
                mp.setattr(bounded, "run_bounded", lambda fn, *a, **_: fn(*a))
            with redirect_stdout(out), redirect_stderr(err):
                code = main([str(a) for a in args])
        return Result(code, json.loads(out.getvalue()) if code == 0 else None,
                      err.getvalue())

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bundle_module, "open_model", here)
        mp.setattr(session, "open_dataset", lambda *a, isolate=False, **k: open_dataset(*a, **k))
        for name, value in ENV.items():
            mp.setenv(name, value)
        yield run


def _numbers(path: Path) -> pa.Table:
    return pq.read_table(path).replace_schema_metadata(None)


@pytest.fixture(scope="module")
def chunked(cli, files):
    """The job over the Parquet file read in chunks, with this process guarded: reading
    the data file whole fails; each `read_row_groups` call and each part's ``runner.run``
    arguments are recorded."""
    import components.model.worker as worker

    out = files.folder / "chunked.parquet"
    reads: list[tuple[int, ...]] = []
    sent: list[tuple[str, object, int]] = []
    read_row_groups, run, read_table = (pq.ParquetFile.read_row_groups, worker.LocalRunner.run,
                                        pq.read_table)

    def whole(*_: object, **__: object):
        raise AssertionError("the whole table was read in the CLI process")

    def table_of(source, *args, **kwargs):  # the parts' own files only, when joined
        if ".parts" not in str(source):
            whole()
        return read_table(source, *args, **kwargs)

    def counted(self, row_groups, *args, **kwargs):
        reads.append(tuple(row_groups))
        return read_row_groups(self, row_groups, *args, **kwargs)

    def spied(self, fn, *args, **kwargs):
        sent.append((fn.__name__, args[0], len(pickle.dumps(args[0]))))
        return run(self, fn, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        for owner, name in ((pq, "read_table"), (pq.ParquetFile, "read"),
                            (pq.ParquetFile, "iter_batches"), (pd, "read_parquet")):
            mp.setattr(owner, name, table_of if name == "read_table" else whole)
        mp.setattr(pq.ParquetFile, "read_row_groups", counted)
        mp.setattr(worker.LocalRunner, "run", spied)
        parquet_rows._LAST.clear()
        result = cli("batch", files.model, files.parquet, *JOB, *RANGE, "--out", out)
    return result, out, reads, sent


def test_the_chunked_file_equals_the_in_memory_one(chunked, cli, files, monkeypatch):
    import components.cli_batch as cli_batch

    result, out, _, _ = chunked
    assert result.code == 0, result.stderr
    assert (result.summary["rows"], result.summary["parts"]) == (2180, 8)
    monkeypatch.setattr(cli_batch, "CHUNKED_SUFFIXES", ())  # the same file, read whole
    whole = files.folder / "whole.parquet"
    assert cli("batch", files.model, files.parquet, *JOB, *RANGE, "--out", whole).code == 0
    assert out.read_bytes() == whole.read_bytes()
    from_csv = files.folder / "csv.parquet"
    assert cli("batch", files.model, files.csv, *JOB, *RANGE, "--out", from_csv).code == 0
    assert _numbers(out).equals(_numbers(from_csv))
    frame = pd.read_parquet(out)
    assert frame["row"].tolist() == list(range(70, 2250))
    assert frame[[f"{m}.error" for m in ("saliency", "gradxinput", "ig")]].isna().all().all()


def test_the_cli_process_reads_only_row_groups(chunked, files):
    result, _, reads, sent = chunked
    assert result.code == 0, result.stderr
    layout = read_layout(str(files.parquet), "data.parquet")
    parts = [(a, min(a + 300, 2250)) for a in range(70, 2250, 300)]
    background = [(g,) for g in range(9)]  # 200 rows drawn over all rows: every group once
    assert reads[:9] == background
    assert reads[9:] == [layout.groups(a, b) for a, b in parts]  # each part its own groups
    calls = [(name, type(arg).__name__, size) for name, arg, size in sent]
    explained = [c for c in calls if c[0] == "explain_rows"]
    assert [c[:2] for c in explained] == [("explain_rows", "ParquetSource")] * len(parts)
    assert max(size for *_, size in explained) < 1000  # the file's reference, not rows
    assert ("source_rows", "ParquetSource") in [c[:2] for c in calls]


@pytest.fixture(scope="module")
def bad_files(files, table) -> dict[str, Path]:
    """A null, a NaN, and a text, in row `BAD` (past the checked rows, not a background
    row)."""
    null = _frame(table)
    null.loc[BAD, "f3"] = np.nan  # pandas' NaN is Arrow's null
    nan = pa.Table.from_pandas(_frame(table), preserve_index=False)
    values = table[:, 4].astype(np.float64)
    values[BAD] = np.nan
    nan = nan.set_column(4, "f4", pa.array(values))  # a float NaN, not a null
    text = _frame(table)
    text["f2"] = text["f2"].map(lambda v: f"{v:.3f}")
    text.loc[BAD, "f2"] = "n/a"
    return {"null": _write(null, files.folder / "null.parquet"),
            "nan": _write(nan, files.folder / "nan.parquet"),
            "text": _write(text, files.folder / "text.parquet")}


@pytest.mark.parametrize("kind, says", [
    ("null", "column 'f3' has a missing value at row {row} (counted from 0)"),
    ("nan", "column 'f4' has a missing value (NaN) at row {row} (counted from 0)"),
    ("text", "column 'f2' holds 'n/a' at row {row} (counted from 0), not a number"),
])
def test_a_bad_value_past_the_checked_rows_stops_the_job_at_its_part(kind, says, cli, files,
                                                                     bad_files):
    out = files.folder / f"bad-{kind}.parquet"
    result = cli("batch", files.model, bad_files[kind], *JOB, "--rows", "1800:2300",
                 "--batch-size", 100, "--out", out, child=False)
    assert result.code == 2 and result.summary is None
    assert result.errors == [f"error: rows 2100..2199: {kind}.parquet: "
                             + says.format(row=BAD)]
    assert len(result.stderr.splitlines()) <= 2  # a progress line, the error
    kept = sorted(p.name for p in (files.folder / f"bad-{kind}.parquet.parts").glob("*.parquet"))
    assert kept == [f"rows-{a:010d}-{a + 100:010d}.parquet" for a in (1800, 1900, 2000)]
    assert not out.exists()


def test_a_bad_background_row_is_refused_before_any_part(cli, files, table):
    row = int(background_rows(N_ROWS)[-1])
    assert row >= 2000
    frame = _frame(table)
    frame.loc[row, "f0"] = np.inf
    data = _write(frame, files.folder / "inf.parquet")
    out = files.folder / "inf-out.parquet"
    result = cli("batch", files.model, data, *JOB, "--out", out, child=False)
    assert result.errors == [f"error: inf.parquet: column 'f0' has an infinite value (or "
                             f"one beyond float32's range) at row {row} (counted from 0)"]
    assert result.code == 2 and not out.with_name(out.name + ".parts").exists()


@pytest.mark.parametrize("name, says", [
    ("rows", "rows.parquet declares 10,000,000,000,000 rows of 7 columns; the limit is "
             "2,000,000,000 cells"),
    ("footer", "footer.parquet declares a footer of 2,048 MiB; the limit is 64 MiB"),
])
def test_an_absurd_footer_is_refused_in_one_line(name, says, cli, files):
    data = files.parquet.read_bytes()
    if name == "rows":
        data = declaring_rows(data, 10**13)
    else:
        data = data[:-8] + (2**31 - 1).to_bytes(4, "little") + b"PAR1"
    path = files.folder / f"{name}.parquet"
    path.write_bytes(data)
    out = files.folder / f"absurd-{name}.parquet"
    result = cli("batch", files.model, path, "--methods", "saliency", "--out", out)
    assert (result.code, result.errors) == (2, [f"error: {says}"])
    assert result.stderr.count("\n") == 1
    assert not out.with_name(out.name + ".parts").exists()


# ---------------------------------------------------------------- the real command


def test_the_real_command_reads_its_parts_in_its_worker(real_run, chunked):
    proc, out = real_run
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr and "error:" not in stderr
    assert json.loads(stdout)["parts"] == 3
    mine = pd.read_parquet(out)
    theirs = pd.read_parquet(chunked[1]).set_index("row").loc[1900:2249].reset_index()
    assert mine["row"].tolist() == list(range(1900, 2300))
    mine = mine.iloc[:350]
    assert list(mine.columns) == list(theirs.columns)
    numbers = [c for c in mine.columns if c != "prediction" and not c.endswith(".error")]
    # other parts, so LIME/SHAP rows stacked with other rows into one model call: the
    # model's outputs may round differently in their last bits
    np.testing.assert_allclose(mine[numbers].to_numpy(float), theirs[numbers].to_numpy(float),
                               rtol=1e-4, atol=1e-6)
