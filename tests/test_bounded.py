"""Untrusted bytes are parsed in a bounded child process: same results, refusals, bounds."""

from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

from components.data.read import read_data_bytes
from components.data.session import open_dataset
from components.errors import BadModelFileError, DataError, GlassboxError
from components.model import bounded
from components.model.bounded import Limits, run_bounded
from components.model.load import check_model_bytes
from components.model.samples import get_sample


@pytest.fixture(scope="module", autouse=True)
def _stop_the_spare():
    yield
    bounded.shutdown()


def _sample_bytes(key: str) -> tuple[bytes, str]:
    path = get_sample(key).data_path
    return path.read_bytes(), path.name


@pytest.mark.parametrize("key", ["wine_classifier", "digits_cnn", "sentiment_text"])
def test_a_file_reads_the_same_in_the_child(key):
    data, name = _sample_bytes(key)
    here, there = read_data_bytes(data, name), run_bounded(read_data_bytes, data, name)
    assert there.filename == here.filename
    if here.table is not None:
        pd.testing.assert_frame_equal(there.table, here.table)
    else:
        np.testing.assert_array_equal(there.array, here.array)
        np.testing.assert_array_equal(there.labels, here.labels)


def test_parquet_types_come_back_as_plain_values():
    frame = pd.DataFrame({
        "x": [1.5, 2.5], "n": pd.array([1, None], dtype="Int64"),
        "when": pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC"),
        "kind": pd.Categorical(["a", "b"]), "text": ["é", "出力"]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    table = run_bounded(read_data_bytes, buf.getvalue(), "t.parquet").table
    assert table["x"].tolist() == [1.5, 2.5] and table["n"].isna().tolist() == [False, True]
    assert str(table["when"].dtype).startswith("datetime64") and table["when"].dt.tz is None
    assert table["text"].tolist() == ["é", "出力"]


def test_a_refusal_keeps_its_class_and_message():
    with pytest.raises(DataError) as here:
        read_data_bytes(b"a,a\n1,2\n", "d.csv")
    with pytest.raises(DataError) as there:
        run_bounded(read_data_bytes, b"a,a\n1,2\n", "d.csv")
    assert str(there.value) == str(here.value)
    with pytest.raises(BadModelFileError):
        run_bounded(check_model_bytes, b"not a model at all", "m.keras")


def test_the_model_scan_runs_in_the_child():
    path = get_sample("wine_classifier").model_path
    report = run_bounded(check_model_bytes, path.read_bytes(), path.name)
    assert report.fmt == "keras" and report.classes["Dense"] >= 1


def test_a_parse_that_hangs_is_stopped_at_its_bound():
    start = time.monotonic()
    with pytest.raises(GlassboxError, match=r"^x\.csv took longer than 2 s to read"):
        run_bounded(time.sleep, 60, what="x.csv", limits=Limits(seconds=2, memory_mb=512))
    assert time.monotonic() - start < 10


def test_a_parse_that_eats_memory_is_stopped_at_its_bound():
    with pytest.raises(GlassboxError, match=r"needed more than 300 MiB|more time or memory"):
        run_bounded(np.ones, 600 * 2**20 // 8, what="big.npy",
                    limits=Limits(seconds=20, memory_mb=300))


def test_a_deflate_bomb_in_an_npz_is_stopped(tmp_path):
    """1 GiB of zeros in a ~1 MiB .npz: refused by its declared size."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("x.npy", "w") as fh:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (2**28,)})
        fh.write(header.getvalue())
        chunk = bytes(2**24)
        for _ in range(64):
            fh.write(chunk)
    assert len(buf.getvalue()) < 4 * 2**20
    start = time.monotonic()
    with pytest.raises(DataError, match="unpacks to 1,024 MiB"):
        run_bounded(read_data_bytes, buf.getvalue(), "bomb.npz")
    assert time.monotonic() - start < 10


def test_open_dataset_isolated_equals_in_process(sample_bundles):
    data, name = _sample_bytes("wine_classifier")
    bundle = sample_bundles["wine_classifier"]
    here = open_dataset(data, name, bundle)
    there = open_dataset(data, name, bundle, isolate=True)
    np.testing.assert_array_equal(there.x, here.x)
    assert there.checks == here.checks and there.feature_names == here.feature_names


def test_a_bomb_just_under_the_declared_cap_is_stopped_by_memory():
    """Just under 1 GiB declared, ~1 MiB packed: the reader outgrows its memory bound."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("x.npy", "w") as fh:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (2**28 - 1024,)})
        fh.write(header.getvalue())
        for _ in range(63):
            fh.write(bytes(2**24))
        fh.write(bytes(2**24 - 4096))
    # The file's own memory bound, and time to spare: inflating ~1 GiB takes ~8 s here, as
    # long as the default time bound, and the memory bound is the one under test
    limits = Limits(seconds=60, memory_mb=Limits.for_input(len(buf.getvalue())).memory_mb)
    start = time.monotonic()
    with pytest.raises(GlassboxError, match="needed more"):
        run_bounded(read_data_bytes, buf.getvalue(), "bomb.npz", limits=limits)
    assert time.monotonic() - start < 30  # stopped as it outgrows the bound, not at the end


def test_limits_grow_with_the_input():
    small, big = Limits.for_input(30_000), Limits.for_input(256 * 2**20)
    assert small.seconds <= 8.1 and big.seconds > small.seconds
    assert small.memory_mb < big.memory_mb <= bounded.MAX_MEMORY_MB


def test_a_parquet_whose_dictionary_unpacks_to_gigabytes_is_stopped():
    """50 KB on disk: one 1 MiB string, referenced by 3,000 rows, decodes to 3 GiB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.DictionaryArray.from_arrays(pa.array([0] * 3000, pa.int32()),
                                          pa.array(["x" * 2**20]))
    buf = io.BytesIO()
    pq.write_table(pa.table({"text": text, "label": pa.array([0] * 3000)}), buf,
                   store_schema=False)  # read back as plain strings, not a categorical
    assert len(buf.getvalue()) < 100_000
    start = time.monotonic()
    with pytest.raises(GlassboxError, match=r"^bomb\.parquet (needed more|took longer) than"):
        run_bounded(read_data_bytes, buf.getvalue(), "bomb.parquet", what="bomb.parquet")
    assert time.monotonic() - start < 10


def test_delimiter_detection_is_linear_on_a_crafted_header():
    """A header of quotes and delimiters that makes `csv.Sniffer` backtrack for seconds."""
    header = ('"a;b\t,' * 40_000 + "\n").encode()
    start = time.monotonic()
    with pytest.raises(DataError):
        read_data_bytes(header + b"1\n", "crafted.csv")
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(("header", "sep"), [("a,b;c,d", ","), ("a;b;c", ";"),
                                            ("a\tb\tc", "\t"), ('"x;y",b,c', ","),
                                            ("single", ",")])
def test_delimiter_detection_reads_the_header_outside_quotes(header, sep):
    from components.data.read import _sniff_delimiter

    assert _sniff_delimiter(header) == sep
