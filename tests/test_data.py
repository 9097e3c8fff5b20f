"""Reading datasets and fitting them to a model's input; every problem named exactly."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import hostile
from components.data.checks import fit_dataset
from components.data.read import MAX_DATA_BYTES, MAX_IMAGE_PIXELS, read_data_bytes
from components.data.session import open_dataset
from components.errors import DataError
from components.model.bundle import InputSpec

IMAGE_SPEC = InputSpec(shape=(16, 16, 1), dtype="float32")


@pytest.fixture(scope="module")
def wine_spec(sample_bundles) -> InputSpec:
    """The wine model's input as the app derives it: (13,) float32 with the sample's names."""
    return sample_bundles["wine_classifier"].input_spec


@pytest.fixture
def wine(samples) -> pd.DataFrame:
    return pd.read_csv(samples["wine_classifier"].data_path)


def csv_bytes(frame: pd.DataFrame, **kwargs) -> bytes:
    return frame.to_csv(index=False, **kwargs).encode()


def fit(frame: pd.DataFrame, spec: InputSpec, label: str | None = None):
    return fit_dataset(read_data_bytes(csv_bytes(frame), "data.csv"), spec, label)


def errors(ds) -> list[str]:
    return [c.message for c in ds.checks if c.level == "error"]


def warnings_of(ds) -> list[str]:
    return [c.message for c in ds.checks if c.level == "warning"]


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def png(size: tuple[int, int], mode: str = "L", color: int | tuple = 0) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color=color).save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- the samples' own data


def test_wine_csv_fits(sample_bundles, samples, wine, wine_spec):
    path = samples["wine_classifier"].data_path
    ds = open_dataset(path.read_bytes(), "wine.csv", sample_bundles["wine_classifier"])
    assert ds.ok and errors(ds) == []
    assert (ds.kind, ds.n_rows, ds.label_name) == ("tabular", 178, "label")
    assert ds.x.dtype == np.float32 and ds.x.shape == (178, 13)
    assert ds.feature_names == list(wine_spec.feature_names)
    np.testing.assert_array_equal(ds.x, wine[list(wine_spec.feature_names)].to_numpy("float32"))
    assert sorted(set(ds.labels)) == [0, 1, 2]


def test_digits_npz_fits(sample_bundles, samples):
    path = samples["digits_cnn"].data_path
    ds = open_dataset(path.read_bytes(), "digits.npz", sample_bundles["digits_cnn"])
    assert ds.ok and ds.kind == "image"
    assert ds.x.shape == (800, 16, 16, 1) and ds.x.dtype == np.float32
    assert ds.labels.shape == (800,) and ds.label_name == "y"
    with np.load(path) as arrays:
        assert arrays["x"].dtype == np.uint8
        np.testing.assert_array_equal(ds.x, arrays["x"].reshape(800, 16, 16, 1))
        np.testing.assert_array_equal(ds.labels, arrays["y"])


def test_sentiment_csv_fits(sample_bundles, samples):
    path = samples["sentiment_text"].data_path
    ds = open_dataset(path.read_bytes(), "reviews.csv", sample_bundles["sentiment_text"])
    frame = pd.read_csv(path)
    assert ds.ok and ds.kind == "text" and ds.feature_names == ["text"]
    assert ds.x.shape == (len(frame),) and list(ds.x) == list(frame["text"])
    assert ds.label_name == "label"


def test_diabetes_csv_fits(sample_bundles, samples):
    path = samples["diabetes_regression"].data_path
    ds = open_dataset(path.read_bytes(), "d.csv", sample_bundles["diabetes_regression"])
    assert ds.ok and ds.label_name == "target"
    assert ds.x.shape == (len(pd.read_csv(path)), 10)


# ---------------------------------------------------------------- columns


def test_missing_column_is_named(wine, wine_spec):
    ds = fit(wine.drop(columns=["magnesium"]), wine_spec)
    assert not ds.ok and ds.x is None
    assert errors(ds) == ["expected 13 feature columns, got 12: missing 'magnesium'"]


def test_extra_column_is_named(wine, wine_spec):
    wine["vintage"] = 1999
    assert errors(fit(wine, wine_spec)) == [
        "expected 13 feature columns, got 14: unexpected 'vintage'"]


def test_renamed_column_is_both_missing_and_unexpected(wine, wine_spec):
    ds = fit(wine.rename(columns={"hue": "Hue"}), wine_spec)
    assert errors(ds) == ["expected 13 feature columns, got 13: missing 'hue'; unexpected 'Hue'"]


def test_reordered_columns_warn_and_are_put_back(wine, wine_spec):
    names = list(wine_spec.feature_names)
    ds = fit(wine[["label", *reversed(names)]], wine_spec)
    assert ds.ok and ds.feature_names == names
    assert warnings_of(ds) == ["feature columns were in a different order; reordered to the "
                               "model's order"]
    np.testing.assert_array_equal(ds.x, wine[names].to_numpy("float32"))


def test_without_feature_names_only_the_count_is_checked(wine):
    spec = InputSpec(shape=(13,), dtype="float32")
    assert fit(wine, spec).ok
    ds = fit(wine.drop(columns=["ash"]), spec)
    assert errors(ds)[0].startswith("the model expects 13 feature columns, the file has 12: "
                                    "'alcohol', 'malic_acid', 'alcalinity_of_ash'")


# ---------------------------------------------------------------- cells


def test_nan_names_column_and_row(wine, wine_spec):
    wine.loc[4, "ash"] = np.nan
    ds = fit(wine, wine_spec)
    assert errors(ds) == ["column 'ash': missing values at row 5"]
    assert ds.x is None


def test_inf_names_column_and_rows(wine, wine_spec):
    wine.loc[[0, 9], "hue"] = np.inf
    assert errors(fit(wine, wine_spec)) == ["column 'hue': infinite values at row 1, 10"]


def test_formula_cells_are_read_as_text_never_evaluated(wine_spec):
    """Spreadsheet formulas are plain strings to Glassbox; the fit names the first one."""
    names = wine_spec.feature_names
    formulas = ['"=HYPERLINK(""http://127.0.0.1:9/""&A1)"', "+cmd|' /C calc'!A0",
                "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)"]
    rows = [",".join([cell] + ["1"] * 12) for cell in formulas] + [",".join(["-1"] * 13)]
    raw = read_data_bytes("\n".join([",".join(names), *rows]).encode(), "formulas.csv")
    assert raw.table["alcohol"].tolist() == ['=HYPERLINK("http://127.0.0.1:9/"&A1)',
                                             "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
                                             "@SUM(1+1)", "-1"]
    assert raw.table["ash"].tolist() == [1, 1, 1, 1, -1]  # numbers stay numbers
    assert errors(fit_dataset(raw, wine_spec)) == [
        "column 'alcohol': 4 non-numeric cells, first '=HYPERLINK(\"http://127.0.0.1:9/\"&A1)' "
        "at row 1, 2, 3, 4"]


def test_string_in_numeric_column_names_column_row_and_value(wine, wine_spec):
    wine = wine.astype({"proline": object})
    wine.loc[2, "proline"] = "n/a?"
    assert errors(fit(wine, wine_spec)) == [
        "column 'proline': 1 non-numeric cells, first 'n/a?' at row 3"]


def test_many_bad_rows_are_listed_then_counted(wine, wine_spec):
    wine.loc[:7, "ash"] = np.nan
    assert errors(fit(wine, wine_spec)) == [
        "column 'ash': missing values at row 1, 2, 3, 4, 5 (and 3 more)"]


def test_value_beyond_float32_is_infinite_for_the_model(wine, wine_spec):
    """1e39 is finite in float64 but inf in the float32 the model reads."""
    wine.loc[1, "magnesium"] = 1e39
    assert errors(fit(wine, wine_spec)) == ["column 'magnesium': infinite values at row 2"]


def test_integer_beyond_float_range_is_an_error_not_a_crash(wine_spec):
    names = wine_spec.feature_names
    text = ",".join(names) + "\n" + ",".join(["9" * 400] + ["1"] * 12) + "\n"
    ds = fit_dataset(read_data_bytes(text.encode(), "big.csv"), wine_spec)
    assert errors(ds) == ["column 'alcohol': infinite values at row 1"]


# ---------------------------------------------------------------- file formats


def test_semicolon_csv_reads(wine, wine_spec):
    ds = fit_dataset(read_data_bytes(csv_bytes(wine, sep=";"), "excel.csv"), wine_spec)
    assert ds.ok and ds.x.shape == (178, 13)


def test_tab_separated_csv_reads(wine, wine_spec):
    ds = fit_dataset(read_data_bytes(csv_bytes(wine, sep="\t"), "tabs.csv"), wine_spec)
    assert ds.ok and ds.x.shape == (178, 13)


def test_bom_csv_reads(wine, wine_spec):
    raw = read_data_bytes(b"\xef\xbb\xbf" + csv_bytes(wine), "bom.csv")
    assert raw.table.columns[0] == "alcohol"  # not '\ufeffalcohol'
    ds = fit_dataset(raw, wine_spec)
    assert ds.ok and ds.x.shape == (178, 13)


def test_parquet_reads(wine, wine_spec):
    buf = io.BytesIO()
    wine.to_parquet(buf)
    ds = fit_dataset(read_data_bytes(buf.getvalue(), "wine.parquet"), wine_spec)
    assert ds.ok and ds.x.shape == (178, 13)


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"", "data.csv", "data.csv is empty"),
    (b"\n\n", "data.csv", "data.csv has no rows or columns"),
    (b"a,b\n", "data.csv", "data.csv has no data rows"),
    ("caf\u00e9,b\n1,2\n".encode("latin-1"), "latin.csv",
     "latin.csv is not UTF-8 text (byte 3); save it as UTF-8 CSV"),
    (b"ash,hue,ash\n1,2,3\n", "dup.csv", "dup.csv has duplicate column names: 'ash'"),
    (b"a;b;a;b;c\n1;2;3;4;5\n", "dups.csv", "dups.csv has duplicate column names: 'a', 'b'"),
    ("a,b\n1,2\n".encode("utf-16"), "utf16.csv",
     "utf16.csv is not UTF-8 text (byte 0); save it as UTF-8 CSV"),
    (b"a,b,c\n1,2,3,4,5\n6,7,8,9,10\n", "ragged.csv",
     "ragged.csv: the data rows have more fields than the header's 3 columns"),
    (b"x", "data.xlsx", "data.xlsx: unsupported file type '.xlsx'; expected one of .csv, "
                        ".parquet, .pq, .npz, .npy, .png, .jpg, .jpeg"),
    (b"PAR1 not really", "data.parquet", "data.parquet is not a readable Parquet file"),
    (b"not an image", "pic.png", "pic.png is not a readable PNG/JPEG image"),
    (b"PK\x03\x04broken", "arrays.npz", "arrays.npz is not a valid .npz archive"),
])
def test_unreadable_files_raise_one_line(content, name, message):
    with pytest.raises(DataError) as err:
        read_data_bytes(content, name)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_object_npy_is_refused():
    data = npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"objects\.npy holds Python objects \(dtype object\)"):
        read_data_bytes(data, "objects.npy")


def test_object_array_inside_npz_is_refused():
    buf = io.BytesIO()
    np.savez(buf, x=np.array([None, 1], dtype=object))
    with pytest.raises(DataError, match=r"in\.npz:x\.npy holds Python objects"):
        read_data_bytes(buf.getvalue(), "in.npz")


def test_npy_header_declaring_a_huge_shape_is_refused():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    with pytest.raises(DataError) as err:
        read_data_bytes(buf.getvalue() + bytes(64), "huge.npy")
    assert str(err.value) == ("huge.npy declares shape (1000000, 1000000) (3,814,697 MiB) but "
                              "holds 0.0 MiB")


def test_npz_whose_arrays_together_unpack_too_far_is_refused():
    """Each member is under the per-array limit; the archive's total is not."""
    data = npz(x=np.zeros((2, 16, 16, 1), "f4"), y=np.zeros(2), z=np.zeros(2))
    for member in ("x.npy", "y.npy", "z.npy"):
        data = hostile.patch_central_directory(data, member, size=400 * 2**20)
    with pytest.raises(DataError, match="the arrays unpack to 1,200 MiB together; the limit is "
                                        "1024 MiB"):
        read_data_bytes(data, "big.npz")


def test_npz_needs_a_known_array_name():
    with pytest.raises(DataError, match="odd.npz has arrays 'pixels'; name the inputs one of "
                                        "'x', 'X', 'images', 'image'"):
        read_data_bytes(npz(pixels=np.zeros((2, 2))), "odd.npz")


def test_npz_with_a_non_array_member():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.npy", b"hello")
    with pytest.raises(DataError, match=r"a\.npz:x\.npy is not a valid \.npy array"):
        read_data_bytes(buf.getvalue(), "a.npz")


# ---------------------------------------------------------------- images


def test_wrong_image_shape_names_both_shapes():
    raw = read_data_bytes(npz(x=np.zeros((5, 28, 28, 1), "uint8")), "big.npz")
    assert errors(fit_dataset(raw, IMAGE_SPEC)) == [
        "images are 28x28x1, the model expects 16x16x1"]


def test_missing_channel_axis_is_added():
    ds = fit_dataset(read_data_bytes(npz(x=np.ones((5, 16, 16), "uint8")), "g.npz"), IMAGE_SPEC)
    assert ds.ok and ds.x.shape == (5, 16, 16, 1) and ds.x.dtype == np.float32


def test_label_count_must_match_image_count():
    raw = read_data_bytes(npz(x=np.zeros((5, 16, 16, 1)), y=np.arange(4)), "short.npz")
    ds = fit_dataset(raw, IMAGE_SPEC)
    assert errors(ds) == ["4 labels for 5 images"] and ds.x is None


def test_nan_pixels_name_the_image():
    x = np.zeros((4, 16, 16, 1), "float32")
    x[2, 3, 3, 0] = np.nan
    ds = fit_dataset(read_data_bytes(npz(x=x), "nan.npz"), IMAGE_SPEC)
    assert errors(ds) == ["images at index 2 contain NaN or infinite pixels"]


@pytest.mark.parametrize("array", [np.zeros((0, 16, 16, 1), "f4"), np.float32(3.0)],
                         ids=["no_images", "scalar"])
def test_an_array_without_images_is_a_data_error(array):
    raw = read_data_bytes(npy(array), "none.npy")
    with pytest.raises(DataError, match=r"none\.npy holds no images \(array shape "):
        fit_dataset(raw, IMAGE_SPEC)


def test_single_png_is_read_resized_and_greyed():
    ds = fit_dataset(read_data_bytes(png((32, 24), "RGB", (90, 90, 90)), "photo.png"),
                     IMAGE_SPEC)
    assert ds.ok and ds.x.shape == (1, 16, 16, 1)
    assert warnings_of(ds) == [
        "no labels array (y): predictions can be explained, not scored",
        "RGB images were converted to greyscale",
        "the image was resized to 16x16 for the model",
    ]
    np.testing.assert_allclose(ds.x, 90.0, atol=1e-3)


def test_png_of_the_right_size_is_used_as_is():
    pixels = np.arange(256, dtype="uint8").reshape(16, 16)
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG")
    ds = fit_dataset(read_data_bytes(buf.getvalue(), "digit.png"), IMAGE_SPEC)
    assert ds.ok and "the image was resized to 16x16 for the model" not in warnings_of(ds)
    np.testing.assert_array_equal(ds.x[0, :, :, 0], pixels.astype("float32"))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_png_is_refused():
    data = png((5000, 5000), mode="1")
    assert len(data) < 10_000  # tiny on disk, 25 megapixels once decoded
    with pytest.raises(DataError, match=r"bomb\.png declares over 16,777,216 pixels"):
        read_data_bytes(data, "bomb.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_limit_is_exact():
    side = int(MAX_IMAGE_PIXELS ** 0.5)
    assert read_data_bytes(png((side, side), mode="1"), "edge.png").array.shape == (
        1, side, side, 1)
    with pytest.raises(DataError, match="decompression bomb"):
        read_data_bytes(png((side + 1, side), mode="1"), "over.png")


def test_table_for_an_image_model_is_refused(wine):
    with pytest.raises(DataError, match="data.csv: this model takes images 16x16x1; upload "
                                        ".npz, .npy, .png or .jpg"):
        fit(wine, IMAGE_SPEC)


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize("header", ["label", "target", "y", "class", "Class", "TARGET"])
def test_label_column_is_auto_detected(wine, wine_spec, header):
    ds = fit(wine.rename(columns={"label": header}), wine_spec)
    assert ds.ok and ds.label_name == header
    assert ds.labels.tolist() == wine["label"].tolist()


def test_explicit_label_column(wine, wine_spec):
    ds = fit(wine.rename(columns={"label": "cultivar"}), wine_spec, label="cultivar")
    assert ds.ok and ds.label_name == "cultivar" and len(ds.labels) == 178


def test_explicit_label_that_is_missing(wine, wine_spec):
    with pytest.raises(DataError, match="data.csv: label column 'grade' not found; columns are "
                                        "'alcohol', 'malic_acid'"):
        fit(wine, wine_spec, label="grade")


def test_no_label_column_is_a_warning(wine, wine_spec):
    ds = fit(wine.drop(columns=["label"]), wine_spec)
    assert ds.ok and ds.labels is None and ds.label_name is None
    assert warnings_of(ds) == ["no label column (label, target, y, class): predictions can be "
                               "explained, but not scored"]


def test_file_name_is_reduced_to_its_base_name(wine):
    raw = read_data_bytes(csv_bytes(wine), "../../etc/evil\x00.csv")
    assert raw.filename == "evil.csv"


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("evil.png\x00.csv", png((4, 4)),  # a NUL cannot truncate the name to '.png'
     "evil.png.csv is not UTF-8 text (byte 0); save it as UTF-8 CSV"),
    ("\x00", b"a,b\n1,2\n", "upload: unsupported file type ''"),
    ("../../etc/passwd", b"root:x:0:0\n", "passwd: unsupported file type ''"),
    ("..\\..\\boot.ini\x00", b"x", "boot.ini: unsupported file type '.ini'"),
    ("data\n.csv\r\u2028", b"", "data.csv is empty"),
])
def test_hostile_file_names_become_one_clean_line(filename, content, message):
    """Path parts and control characters never reach a message; the problem is named."""
    with pytest.raises(DataError) as err:
        read_data_bytes(content, filename)
    text = str(err.value)
    assert text.startswith(message)
    assert text.isprintable() and "/" not in text and ".." not in text


def test_oversize_file_is_refused_before_it_is_parsed():
    """The reader's own 256 MiB cap, under Streamlit's upload cap (the 1 GiB model cap in
    .streamlit/config.toml): a 300 MiB table passes the browser and is refused here."""
    config = (Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text()
    assert "maxUploadSize = 1024" in config
    assert MAX_DATA_BYTES == 256 * 2**20
    data = b"a,b\n" + b"1,2\n" * (MAX_DATA_BYTES // 4)  # one line over the cap
    assert len(data) > MAX_DATA_BYTES
    with pytest.raises(DataError) as err:
        read_data_bytes(data, "big.csv")
    assert str(err.value) == "big.csv is 256 MiB; the limit is 256 MiB"
    with pytest.raises(DataError, match=r"^huge\.npy is 257 MiB; the limit is 256 MiB$"):
        read_data_bytes(bytes(257 * 2**20), "huge.npy")


def test_cli_names_a_refused_data_file_in_one_line(samples, tmp_path, repo_root):
    """The headless path: a data file holding Python objects, refused with exit 2."""
    bad = tmp_path / "objects.npy"
    bad.write_bytes(npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True))
    proc = subprocess.run([sys.executable, "-m", "components", "check",
                           str(samples["wine_classifier"].model_path), str(bad)],
                          cwd=repo_root, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("error: objects.npy holds Python objects (dtype object); only numeric "
                           "arrays are accepted, since loading objects could run code\n")
