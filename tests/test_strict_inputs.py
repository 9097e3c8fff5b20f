"""Issue 14: an "image" upload is a PNG or JPEG by its bytes, decoded under a bound.

Every hostile file is built here: EPS (Pillow would hand it to Ghostscript), other formats
renamed ``.png``, a JPEG with thousands of progressive scans, truncated and garbage files.
"""

from __future__ import annotations

import io
import subprocess
import time

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from components.data import read
from components.data.read import read_data_bytes
from components.errors import DataError

EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
       b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n")
RNG = np.random.default_rng(14)
GREY = RNG.integers(0, 256, (12, 9), dtype=np.uint8)
RGB = RNG.integers(0, 256, (12, 9, 3), dtype=np.uint8)


def saved(array_or_image, fmt: str, **kwargs) -> bytes:
    img = (array_or_image if isinstance(array_or_image, Image.Image)
           else Image.fromarray(array_or_image))
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def refused(data: bytes, name: str) -> str:
    """The one-line message `read_data_bytes` refuses ``data`` with."""
    with pytest.raises(DataError) as err:
        read_data_bytes(data, name)
    message = str(err.value)
    assert "\n" not in message and len(message) < 300, message
    return message


@pytest.fixture
def no_external_programs(monkeypatch):
    """Record (and block) every way Pillow's EPS plugin could start Ghostscript."""
    calls = []

    def flag(what):
        def call(*args, **kwargs):
            calls.append(what)
            raise AssertionError(f"{what} was called")
        return call

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", flag("Ghostscript"))
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", flag("has_ghostscript"))
    monkeypatch.setattr(subprocess, "Popen", flag("subprocess.Popen"))
    return calls


# ---------------------------------------------------------------- not PNG, not JPEG


def test_the_ghostscript_guard_is_not_vacuous(no_external_programs):
    """Plain Pillow does reach Ghostscript with this EPS: the guard would see it."""
    with pytest.raises(AssertionError), Image.open(io.BytesIO(EPS)) as img:
        img.load()
    assert no_external_programs


@pytest.mark.parametrize("name", ["x.png", "x.jpg", "x.jpeg", "X.PNG"])
def test_eps_is_refused_by_name_and_ghostscript_never_runs(no_external_programs, name):
    assert refused(EPS, name) == f"{name} is a PostScript/EPS file, not a PNG or JPEG image"
    assert no_external_programs == []


def test_dos_eps_binary_header_is_refused(no_external_programs):
    dos_eps = b"\xc5\xd0\xd3\xc6" + (30).to_bytes(4, "little") + bytes(22) + EPS
    assert refused(dos_eps, "x.png") == "x.png is a PostScript/EPS file, not a PNG or JPEG image"
    assert no_external_programs == []


@pytest.mark.parametrize(("fmt", "kwargs", "what"), [
    ("TIFF", {}, "a TIFF image"),
    ("TIFF", {"compression": "tiff_lzw"}, "a TIFF image"),
    ("GIF", {}, "a GIF image"),
    ("BMP", {}, "a BMP image"),
    ("WEBP", {"lossless": True}, "a WebP image"),
    ("PDF", {}, "a PDF document"),
    ("ICO", {}, "an ICO icon"),
    ("PPM", {}, None),
    ("TGA", {}, None),
])
@pytest.mark.parametrize("name", ["x.png", "x.jpg"])
def test_other_formats_renamed_are_refused_by_what_they_are(no_external_programs, fmt, kwargs,
                                                            what, name):
    data = saved(RGB, fmt, **kwargs)
    if fmt != "PDF":  # Pillow only writes PDF; the others it would have decoded
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    if what is None:
        assert refused(data, name) == (f"{name} is not a readable PNG/JPEG image: its first "
                                       "bytes are neither a PNG nor a JPEG signature")
    else:
        assert refused(data, name) == f"{name} is {what}, not a PNG or JPEG image"
    assert no_external_programs == []


@pytest.mark.parametrize(("data", "what"), [
    (b"%PDF-1.7\n%\xe2\xe3\n", "a PDF document"),
    (b"II*\x00" + bytes(16), "a TIFF image"),
    (b"MM\x00*" + bytes(16), "a TIFF image"),
    (b"GIF89a" + bytes(16), "a GIF image"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8L", "a WebP image"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "a RIFF file"),
    (b"PK\x03\x04" + bytes(26), "a ZIP archive"),
    (b"\x89HDF\r\n\x1a\n" + bytes(8), "an HDF5 file"),
    (b"\x00\x00\x00\x1cftypavif" + bytes(8), "an AVIF image"),
    (b"\x00\x00\x00\x18ftypheic" + bytes(8), "a HEIC image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "an SVG drawing"),
])
def test_magic_bytes_name_the_format(data, what):
    assert refused(data, "x.png") == f"x.png is {what}, not a PNG or JPEG image"


@pytest.mark.parametrize("data", [b"not an image", b"\x89PN", b"\xff\xd8", b"\x00" * 64,
                                  b"#!/bin/sh\necho hi\n"])
def test_unknown_bytes_are_not_a_png_or_jpeg(data):
    assert refused(data, "x.png").startswith("x.png is not a readable PNG/JPEG image: its "
                                             "first bytes are neither")


# ---------------------------------------------------------------- PNG and JPEG still read


@pytest.mark.parametrize(("image", "shape"), [
    (Image.fromarray(GREY), (1, 12, 9, 1)),
    (Image.fromarray(RGB), (1, 12, 9, 3)),
    (Image.fromarray(GREY).convert("1"), (1, 12, 9, 1)),
    (Image.fromarray(RGB).convert("P"), (1, 12, 9, 3)),
    (Image.fromarray(RGB).convert("RGBA"), (1, 12, 9, 3)),
    (Image.fromarray(GREY).convert("LA"), (1, 12, 9, 3)),
], ids=["L", "RGB", "1", "P", "RGBA", "LA"])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_good_png_and_jpeg_read_exactly_as_before(image, shape, fmt):
    if fmt == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB" if len(shape) and shape[-1] == 3 else "L")
    data = saved(image, fmt)
    with Image.open(io.BytesIO(data)) as img:  # the unrestricted decode of before
        img.load()
        expected = np.asarray(img.convert("L" if img.mode in ("1", "L", "I", "F") else "RGB"))
    raw = read_data_bytes(data, f"pic.{fmt.lower()}")
    assert raw.array.shape == shape and raw.array.dtype == np.uint8
    np.testing.assert_array_equal(raw.array.reshape(expected.shape), expected)
    if fmt == "PNG" and image.mode in ("L", "RGB"):
        np.testing.assert_array_equal(raw.array[0].reshape(np.asarray(image).shape),
                                      np.asarray(image))


def test_progressive_jpeg_with_its_normal_scans_reads():
    data = saved(RGB, "JPEG", progressive=True)
    assert jpeg_scans(data) >= 5
    assert read_data_bytes(data, "p.jpg").array.shape == (1, 12, 9, 3)


def test_content_decides_not_the_suffix():
    jpeg, png = saved(RGB, "JPEG"), saved(RGB, "PNG")
    np.testing.assert_array_equal(read_data_bytes(jpeg, "photo.png").array,
                                  read_data_bytes(jpeg, "photo.jpg").array)
    np.testing.assert_array_equal(read_data_bytes(png, "photo.jpeg").array[0], RGB)


def test_pillow_is_only_asked_for_the_format_the_bytes_show(monkeypatch):
    opened = []
    real_open = Image.open

    def spy(fp, mode="r", formats=None):
        opened.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spy)
    read_data_bytes(saved(GREY, "PNG"), "a.jpg")
    read_data_bytes(saved(GREY, "JPEG"), "b.png")
    assert opened == [["PNG"], ["JPEG"]]


# ---------------------------------------------------------------- truncated and corrupt


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_image_is_one_line(fmt, keep):
    data = saved(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8), fmt)
    message = refused(data[:int(len(data) * keep)], "cut.png")
    assert message.startswith(f"cut.png is not a readable {fmt} image (truncated or corrupt)")


@pytest.mark.parametrize("data", [
    read.PNG_MAGIC,
    read.PNG_MAGIC + b"garbage" * 20,
    read.JPEG_MAGIC,
    read.JPEG_MAGIC + b"garbage" * 20,
    read.JPEG_MAGIC + b"\xff" * 10_000,  # fill bytes only
    read.JPEG_MAGIC + b"\xe0\x00\x00" * 1000,  # zero lengths: still moves on
    read.JPEG_MAGIC + b"\xfe\xff\xff",  # a length past the end
    read.JPEG_MAGIC + b"\xda\x00\x02" + bytes(range(256)) * 64,  # a scan with no frame
    read.JPEG_MAGIC + RNG.integers(0, 256, 100_000, dtype=np.uint8).tobytes(),
], ids=["png_magic", "png_garbage", "jpeg_magic", "jpeg_garbage", "jpeg_fill",
        "zero_lengths", "long_length", "scan_only", "jpeg_random"])
def test_garbage_after_valid_magic_is_one_line(data):
    start = time.perf_counter()
    message = refused(data, "junk.png")
    assert time.perf_counter() - start < 1.0
    assert message.startswith(("junk.png is not a readable PNG image (truncated or corrupt)",
                               "junk.png is not a readable JPEG image (truncated or corrupt)"))


# ---------------------------------------------------------------- JPEG scan bound


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, bytes) of a well-formed JPEG after SOI, a scan with its entropy data."""
    out, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == 0xDA:  # entropy data runs to the next marker that is not RSTn/stuffing
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
        out.append((marker, data[pos:end]))
        pos = end
    return out


def jpeg_scans(data: bytes) -> int:
    return sum(marker == 0xDA for marker, _ in jpeg_segments(data))


def many_scans(size: int, total: int) -> bytes:
    """A progressive JPEG whose last scan (with the tables before it) repeats to ``total``."""
    image = Image.new("RGB", (size, size), (120, 60, 200))  # flat: nearly empty AC scans
    groups, pending = [], b""
    for marker, segment in jpeg_segments(saved(image, "JPEG", progressive=True)):
        pending += segment
        if marker == 0xDA:
            groups.append(pending)
            pending = b""
    return b"\xff\xd8" + b"".join(groups) + groups[-1] * (total - len(groups)) + b"\xff\xd9"


@pytest.mark.parametrize(("total", "message"), [
    (1500, "scans.jpg has 1,500 progressive scans; the limit is 100"),
    # each scan comes with its Huffman tables: the walk stops at 4,096 segments
    (5000, "scans.jpg has over 2,046 progressive scans; the limit is 100"),
])
def test_many_progressive_scans_are_refused_fast(total, message):
    """Pillow decodes 1,500 such scans of 1024x1024 in seconds; the count takes milliseconds."""
    data = many_scans(1024, total)
    assert jpeg_scans(data) == total
    start = time.perf_counter()
    assert refused(data, "scans.jpg") == message
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed


def test_scan_limit_is_exact():
    at_limit = many_scans(32, read.MAX_JPEG_SCANS)
    assert read_data_bytes(at_limit, "ok.jpg").array.shape == (1, 32, 32, 3)
    assert refused(many_scans(32, read.MAX_JPEG_SCANS + 1), "over.jpg") == (
        "over.jpg has 101 progressive scans; the limit is 100")


def test_scans_hidden_in_a_metadata_segment_are_not_counted():
    """An APP segment's length skips its payload, as libjpeg does (an EXIF thumbnail)."""
    good = saved(RGB, "JPEG", progressive=True)
    payload = b"\xff\xda\x00\x02" * 1000
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = good[:2] + app1 + good[2:]
    assert read_data_bytes(data, "exif.jpg").array.shape == (1, 12, 9, 3)


def test_scans_after_garbage_are_still_counted():
    """libjpeg skips junk between segments to the next marker; so does the count."""
    data = many_scans(32, 300)
    first_scan = data.index(b"\xff\xda")
    data = data[:first_scan] + b"junk" + data[first_scan:]
    assert refused(data, "junk.jpg") == "junk.jpg has 300 progressive scans; the limit is 100"


def test_too_many_segments_are_refused():
    good = saved(RGB, "JPEG")
    comments = b"\xff\xfe\x00\x03x" * (read.MAX_JPEG_SEGMENTS + 1)
    message = refused(good[:2] + comments + good[2:], "notes.jpg")
    assert message == "notes.jpg has over 4,096 JPEG segments; a photo has a few dozen"


def test_too_many_tiny_scans_name_the_scans_not_the_segments():
    scans = b"\xff\xda\x00\x02" * 200_000
    message = refused(read.JPEG_MAGIC[:2] + scans + b"\xff\xd9", "tiny.jpg")
    assert message.startswith("tiny.jpg has over 4,0")
    assert message.endswith("progressive scans; the limit is 100")
