"""Read an uploaded dataset into plain values: a table (CSV/Parquet) or an image array.

Reading only; fitting the data to a model's input is `checks`. Every failure is a
`DataError` whose message names the file and what was wrong.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import pandas as pd

from components.errors import DataError, first_line, quote_names

MiB = 1024 * 1024
MAX_DATA_BYTES = 256 * MiB
MAX_ARRAY_BYTES = 1024 * MiB  # what an NPY/NPZ may declare once unpacked
MAX_IMAGE_PIXELS = 4096 * 4096
LABEL_NAMES = ("label", "target", "y", "class")
IMAGE_KEYS = ("x", "X", "images", "image", "inputs", "data", "arr_0")
LABEL_KEYS = ("y", "Y", "labels", "label", "target", "targets", "arr_1")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
ARRAY_SUFFIXES = (".npz", ".npy")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class RawData:
    """A file as read: either ``table`` (rows × columns) or ``array`` (samples first)."""

    filename: str
    table: pd.DataFrame | None = None
    array: np.ndarray | None = None
    labels: np.ndarray | None = None


def read_data_bytes(data: bytes, filename: str) -> RawData:
    """Parse ``data`` by its file suffix; raise `DataError` for anything unreadable."""
    name = _safe_name(filename)
    if not data:
        raise DataError(f"{name} is empty")
    if len(data) > MAX_DATA_BYTES:
        raise DataError(f"{name} is {len(data) / MiB:.0f} MiB; the limit is "
                        f"{MAX_DATA_BYTES // MiB} MiB")
    suffix = PurePath(name).suffix.lower()
    readers = {".csv": _read_csv, ".parquet": _read_parquet, ".pq": _read_parquet,
               ".npz": _read_npz, ".npy": _read_npy, ".png": _read_image,
               ".jpg": _read_image, ".jpeg": _read_image}
    if suffix not in readers:
        allowed = ", ".join(TABLE_SUFFIXES + ARRAY_SUFFIXES + IMAGE_SUFFIXES)
        raise DataError(f"{name}: unsupported file type '{suffix}'; expected one of {allowed}")
    return readers[suffix](data, name)


def _safe_name(filename: str) -> str:
    """Only the base name, printable: never a path the file could escape to."""
    base = PurePath(filename.replace("\\", "/")).name
    return "".join(ch for ch in base if ch.isprintable()) or "upload"


# ---------------------------------------------------------------- tables


def _read_csv(data: bytes, name: str) -> RawData:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{name} is not UTF-8 text (byte {err.start}); save it as UTF-8 "
                        "CSV") from None
    sep = _sniff_delimiter(text)
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=sep), [])
    _check_unique(header, name)
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} has no rows or columns") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise DataError(f"{name} is not a well-formed CSV: {first_line(err)}") from None
    if not isinstance(table.index, pd.RangeIndex):  # pandas made the surplus fields an index
        raise DataError(f"{name}: the data rows have more fields than the header's "
                        f"{len(table.columns)} columns")
    return _checked_table(table, name)


def _sniff_delimiter(text: str) -> str:
    """Comma unless the header line is clearly split by ';' or tabs (European Excel)."""
    try:
        return csv.Sniffer().sniff(text[:65536].split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _read_parquet(data: bytes, name: str) -> RawData:
    try:
        table = pd.read_parquet(io.BytesIO(data))
    except Exception as err:  # pyarrow raises many types; the user needs one sentence
        raise DataError(f"{name} is not a readable Parquet file: {first_line(err)}") from None
    return _checked_table(table, name)


def _checked_table(table: pd.DataFrame, name: str) -> RawData:
    if table.shape[1] == 0 or table.shape[0] == 0:
        raise DataError(f"{name} has no data rows")
    table.columns = [str(c) for c in table.columns]
    _check_unique(list(table.columns), name)
    return RawData(filename=name, table=table)


def _check_unique(columns: list[str], name: str) -> None:
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DataError(f"{name} has duplicate column names: {quote_names(dupes)}")


# ---------------------------------------------------------------- arrays


def _read_npy(data: bytes, name: str) -> RawData:
    return RawData(filename=name, array=_load_npy(io.BytesIO(data), name, len(data)))


def _load_npy(fh: io.BufferedIOBase, name: str, available: int) -> np.ndarray:
    """Check the header before numpy allocates: a header can declare a terabyte."""
    try:
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(fh)
    except (ValueError, OSError, SyntaxError) as err:
        raise DataError(f"{name} is not a valid .npy array: {first_line(err)}") from None
    if dtype.hasobject:
        raise DataError(f"{name} holds Python objects (dtype {dtype}); only numeric arrays "
                        "are accepted, since loading objects could run code")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if declared > MAX_ARRAY_BYTES or declared > available:
        raise DataError(f"{name} declares shape {tuple(shape)} ({declared / MiB:,.0f} MiB) but "
                        f"holds {available / MiB:,.1f} MiB")
    fh.seek(0)
    try:
        return np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{name} is truncated or corrupt: {first_line(err)}") from None


def _read_npz(data: bytes, name: str) -> RawData:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(f"{name} is not a valid .npz archive (truncated or corrupt)") from None
    if len(infos) > 16:
        raise DataError(f"{name} has {len(infos)} arrays; at most 16 are accepted")
    for info in infos:
        if info.file_size > MAX_ARRAY_BYTES:
            raise DataError(f"{name}: array '{info.filename}' unpacks to "
                            f"{info.file_size / MiB:,.0f} MiB; the limit is "
                            f"{MAX_ARRAY_BYTES // MiB} MiB")
    total = sum(info.file_size for info in infos)
    if total > MAX_ARRAY_BYTES:
        raise DataError(f"{name}: the arrays unpack to {total / MiB:,.0f} MiB together; the "
                        f"limit is {MAX_ARRAY_BYTES // MiB} MiB")
    arrays = {}
    for info in infos:
        with zf.open(info) as fh:
            blob = io.BytesIO(fh.read(MAX_ARRAY_BYTES + 1))
        arrays[info.filename.removesuffix(".npy")] = _load_npy(blob, f"{name}:{info.filename}",
                                                               len(blob.getvalue()))
    return _split_npz(arrays, name)


def _split_npz(arrays: dict[str, np.ndarray], name: str) -> RawData:
    x_key = next((k for k in IMAGE_KEYS if k in arrays), None)
    if x_key is None:
        raise DataError(f"{name} has arrays {quote_names(sorted(arrays))}; name the inputs "
                        f"one of {quote_names(IMAGE_KEYS[:4])}")
    y_key = next((k for k in LABEL_KEYS if k in arrays and k != x_key), None)
    return RawData(filename=name, array=arrays[x_key],
                   labels=None if y_key is None else arrays[y_key])


# ---------------------------------------------------------------- single images


def _read_image(data: bytes, name: str) -> RawData:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # bigger raises DecompressionBombError
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:  # Pillow only warns up to 2x
                raise Image.DecompressionBombError(name)
            img.load()
            # Greyscale stays one channel; everything else (palette, alpha, CMYK) becomes RGB.
            pixels = np.asarray(img.convert("L" if img.mode in ("1", "L", "I", "F") else "RGB"))
    except Image.DecompressionBombError:
        raise DataError(f"{name} declares over {MAX_IMAGE_PIXELS:,} pixels (a decompression "
                        "bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DataError(f"{name} is not a readable PNG/JPEG image: {first_line(err)}") from None
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return RawData(filename=name, array=pixels[None, ...])
