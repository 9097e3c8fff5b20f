"""Read an uploaded dataset into plain values: a table (CSV/Parquet) or an image array.

Reading only; fitting the data to a model's input is `checks`. Every failure is a
`DataError` whose message names the file and what was wrong.
"""

from __future__ import annotations

import csv
import io
import tokenize
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from components.errors import DataError, GlassboxError, first_line, quote_names
from components.model.scan import ZIP_ERRORS

MiB = 1024 * 1024
# What numpy's header parser raises on a crafted header (found by fuzzing: bench/fuzz.py).
NPY_HEADER_ERRORS = (ValueError, OSError, SyntaxError, EOFError, TypeError, KeyError,
                     RecursionError, tokenize.TokenError)
MAX_DATA_BYTES = 256 * MiB
MAX_ARRAY_BYTES = 1024 * MiB  # what an NPY/NPZ may declare once unpacked
MAX_IMAGE_PIXELS = 4096 * 4096
# Cheap bounds checked before a parser sees the bytes. Real tables and token-id sequences
# stay far below 20,000 columns (images come as NPZ or PNG/JPEG); a 200,000-column header
# alone costs pandas ~20 s to parse.
MAX_COLUMNS = 20_000
MAX_HEADER_BYTES = 8 * MiB
MAX_CELL_CHARS = 1_000_000  # one text cell; a longer one is not a document but an attack
MAX_PARQUET_CELLS = 2_000_000_000  # rows x columns the footer may declare
MAX_PARQUET_UNPACKED = 4 * 1024 * MiB  # uncompressed bytes the footer may declare
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
    name = safe_name(filename)
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


def safe_name(filename: str) -> str:
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
    first = text.split("\n", 1)[0]
    if len(first) > MAX_HEADER_BYTES:
        raise DataError(f"{name}: the header line is {len(first) / MiB:,.0f} MiB long; the "
                        f"limit is {MAX_HEADER_BYTES // MiB} MiB")
    sep = _sniff_delimiter(first)
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=sep), [])
    except csv.Error as err:
        raise DataError(f"{name} is not a well-formed CSV: {first_line(err)}") from None
    if len(header) > MAX_COLUMNS:
        raise DataError(f"{name} has {len(header):,} columns; the limit is {MAX_COLUMNS:,}")
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


def _sniff_delimiter(header: str) -> str:
    """Comma unless the header line is clearly split by ';' or tabs (European Excel).

    Counted outside double quotes in one linear pass: `csv.Sniffer`'s regular expressions
    backtrack on a crafted line (25 s of CPU for one header).
    """
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max((";", "\t"), key=counts.__getitem__)
    return best if counts[best] > counts[","] else ","


def _read_parquet(data: bytes, name: str) -> RawData:
    _check_parquet_footer(data, name)
    try:
        # checked first: with a duplicated name, table[column] is a frame, not a column
        raw = _checked_table(pd.read_parquet(io.BytesIO(data)), name)
        for column in raw.table.columns:  # time zones are kept as UTC instants: plain values
            if isinstance(raw.table[column].dtype, pd.DatetimeTZDtype):
                raw.table[column] = raw.table[column].dt.tz_convert(None)
        return raw
    except (GlassboxError, MemoryError):
        raise
    # pyarrow raises many types, while reading and while converting its columns (invalid
    # UTF-8 in a string column: found by bench/fuzz.py); the user needs one sentence
    except Exception as err:
        raise DataError(f"{name} is not a readable Parquet file: {first_line(err)}") from None


def _check_parquet_footer(data: bytes, name: str) -> None:
    """Refuse from the footer alone a file that declares more than a reader should build."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as err:  # pyarrow raises many types; the user needs one sentence
        raise DataError(f"{name} is not a readable Parquet file: {first_line(err)}") from None
    check_parquet_metadata(meta, name)


def check_parquet_metadata(meta: Any, name: str) -> None:
    """Refuse a footer (`pyarrow.parquet.FileMetaData`) declaring more columns, cells or
    unpacked bytes than a reader should build (also `components.data.parquet_rows`)."""
    if meta.num_columns > MAX_COLUMNS:
        raise DataError(f"{name} has {meta.num_columns:,} columns; the limit is "
                        f"{MAX_COLUMNS:,}")
    if meta.num_rows * meta.num_columns > MAX_PARQUET_CELLS:
        raise DataError(f"{name} declares {meta.num_rows:,} rows of {meta.num_columns:,} "
                        f"columns; the limit is {MAX_PARQUET_CELLS:,} cells")
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > MAX_PARQUET_UNPACKED:
        raise DataError(f"{name} declares {unpacked / MiB:,.0f} MiB once unpacked; the limit "
                        f"is {MAX_PARQUET_UNPACKED // MiB:,} MiB")


def _checked_table(table: pd.DataFrame, name: str) -> RawData:
    if table.shape[1] == 0 or table.shape[0] == 0:
        raise DataError(f"{name} has no data rows")
    table.columns = [str(c) for c in table.columns]
    _check_unique(list(table.columns), name)
    _check_cells(table, name)
    return RawData(filename=name, table=table)


def _check_cells(table: pd.DataFrame, name: str) -> None:
    """No text cell over `MAX_CELL_CHARS` (one long cell would be quoted, drawn, tokenised)."""
    for column in table.columns:
        values = table[column]
        if values.dtype.kind in "biufcmM":
            continue
        lengths = values.map(lambda v: len(v) if isinstance(v, (str, bytes)) else 0)
        if len(lengths) and int(lengths.max()) > MAX_CELL_CHARS:
            row = int(lengths.to_numpy().argmax()) + 1
            raise DataError(f"{name}: a cell of column '{column}' (row {row}) holds "
                            f"{int(lengths.max()):,} characters; the limit is "
                            f"{MAX_CELL_CHARS:,}")


def _check_unique(columns: list[str], name: str) -> None:
    seen: set[str] = set()
    dupes = sorted({c for c in columns if c in seen or seen.add(c)})  # linear, not n²
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
    except NPY_HEADER_ERRORS as err:
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
    except ZIP_ERRORS:
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
        try:
            with zf.open(info) as fh:
                blob = io.BytesIO(fh.read(MAX_ARRAY_BYTES + 1))
        except ZIP_ERRORS as err:
            raise DataError(f"{name}: array '{info.filename}' is truncated or corrupt "
                            f"({first_line(err)})") from None
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
    """Decode a PNG or JPEG, chosen by its first bytes; nothing else reaches Pillow.

    The content decides, not the suffix: a JPEG named ``.png`` is read as the JPEG it is,
    and a file that is neither (EPS, TIFF, GIF, PDF, … renamed ``.png``) is refused by
    what it is before Pillow sees it. ``Image.open`` is restricted to that one format, so no
    other Pillow plugin can run (EPS would hand the bytes to Ghostscript, an external
    program). A JPEG's scans are counted first: each one re-decodes the whole picture, so a
    few thousand near-empty scans would cost minutes of CPU.
    """
    from PIL import Image, UnidentifiedImageError

    kind = _image_kind(data, name)
    if kind == "JPEG":
        _check_jpeg_segments(data, name)
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # bigger raises DecompressionBombError
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:  # Pillow only warns up to 2x
                raise Image.DecompressionBombError(name)
            img.load()
            # Greyscale stays one channel; everything else (palette, alpha, CMYK) becomes RGB.
            pixels = np.asarray(img.convert("L" if img.mode in ("1", "L", "I", "F") else "RGB"))
    except Image.DecompressionBombError:
        raise DataError(f"{name} declares over {MAX_IMAGE_PIXELS:,} pixels (a decompression "
                        "bomb?)") from None
    except UnidentifiedImageError:  # its text names a BytesIO object, useless to a user
        raise DataError(f"{name} is not a readable {kind} image (truncated or corrupt)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise DataError(f"{name} is not a readable {kind} image (truncated or corrupt): "
                        f"{first_line(err)}") from None
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return RawData(filename=name, array=pixels[None, ...])


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_JPEG_SCANS = 100  # a progressive photo has about 10; each scan re-decodes every block
MAX_JPEG_SEGMENTS = 4096  # markers before EOI; real files have tens (an ICC profile <= 255)
# What an "image" upload may really be, by its first bytes: (offset, magic, what it is).
_OTHER_FORMATS = (
    (0, b"%!PS", "a PostScript/EPS file"),
    (0, b"\xc5\xd0\xd3\xc6", "a PostScript/EPS file"),  # DOS EPS binary header
    (0, b"%PDF-", "a PDF document"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (0, b"II+\x00", "a TIFF image"),  # BigTIFF
    (0, b"MM\x00+", "a TIFF image"),
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (8, b"WEBP", "a WebP image"),  # after b"RIFF" and a length
    (0, b"BM", "a BMP image"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (0, b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (4, b"ftypavi", "an AVIF image"),
    (4, b"ftyphei", "a HEIC image"),
    (4, b"ftypmif1", "a HEIC image"),
    (0, b"8BPS", "a Photoshop (PSD) image"),
    (0, b"\x00\x00\x01\x00", "an ICO icon"),
    (0, b"\x76\x2f\x31\x01", "an OpenEXR image"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (0, b"\x93NUMPY", "a NumPy .npy array"),
    (0, b"<svg", "an SVG drawing"),
    (0, b"<?xml", "an XML document"),
)


def _image_kind(data: bytes, name: str) -> str:
    """'PNG' or 'JPEG' by the first bytes; anything else is refused, by name when known."""
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] != b"WEBP":
        raise DataError(f"{name} is a RIFF file, not a PNG or JPEG image")
    for offset, magic, what in _OTHER_FORMATS:
        if data.startswith(magic, offset):
            raise DataError(f"{name} is {what}, not a PNG or JPEG image")
    raise DataError(f"{name} is not a readable PNG/JPEG image: its first bytes are neither a "
                    "PNG nor a JPEG signature")


def _check_jpeg_segments(data: bytes, name: str) -> None:
    """Count a JPEG's scans (SOS markers) up to EOI without decoding; refuse too many.

    Walks the markers as libjpeg finds them: a segment's length skips its payload (so a scan
    inside an EXIF thumbnail is not counted), and between segments or inside a scan's
    entropy-coded data the next marker is the next 0xFF followed by a byte that is not a
    stuffed 0x00, a restart marker (0xD0-0xD7) or more 0xFF fill. Every step moves forward by
    at least two bytes and at most ``MAX_JPEG_SEGMENTS`` steps are taken, so the walk ends
    after one linear pass at worst.
    """
    import re

    next_marker = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
    scans = segments = 0
    pos = len(JPEG_MAGIC) - 1  # just after SOI (0xFFD8)
    while segments <= MAX_JPEG_SEGMENTS:
        found = next_marker.search(data, pos)
        if found is None:
            break
        pos, marker = found.start(), data[found.start() + 1]
        if marker == 0xD9:  # EOI: libjpeg reads no further
            break
        segments += 1
        if marker in (0x01, 0xD8):  # TEM, a stray SOI: no length field
            pos += 2
            continue
        if pos + 4 > len(data):
            break
        scans += marker == 0xDA
        pos += 2 + max(int.from_bytes(data[pos + 2:pos + 4], "big"), 2)
    if scans > MAX_JPEG_SCANS:
        over = "over " if segments > MAX_JPEG_SEGMENTS else ""
        raise DataError(f"{name} has {over}{scans:,} progressive scans; the limit is "
                        f"{MAX_JPEG_SCANS}")
    if segments > MAX_JPEG_SEGMENTS:
        raise DataError(f"{name} has over {MAX_JPEG_SEGMENTS:,} JPEG segments; a photo has "
                        "a few dozen")
