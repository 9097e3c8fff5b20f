"""Reading datasets and checking them against a model's input: every problem named exactly."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from components.data_checks import InputSpec, fit_dataset
from components.data_io import read_data_bytes
from components.errors import DataError
from components.samples import get_sample

WINE = get_sample("wine_classifier")
WINE_SPEC = InputSpec(shape=(13,), dtype="float32", feature_names=WINE.feature_names)
IMAGE_SPEC = InputSpec(shape=(16, 16, 1), dtype="float32")
TEXT_SPEC = InputSpec(shape=(), dtype="string", feature_names=("text",))


def wine_frame() -> pd.DataFrame:
    return pd.read_csv(WINE.data_path)


def check(frame: pd.DataFrame, spec: InputSpec = WINE_SPEC, label: str | None = None):
    raw = read_data_bytes(frame.to_csv(index=False).encode(), "data.csv")
    return fit_dataset(raw, spec, label)


def errors(ds) -> list[str]:
    return [c.message for c in ds.checks if c.level == "error"]


def test_good_wine_csv():
    ds = check(wine_frame())
    assert ds.ok and ds.kind == "tabular" and ds.label_name == "label"
    assert ds.x.shape == (178, 13) and ds.x.dtype == np.float32
    assert ds.feature_names == list(WINE.feature_names)
    assert errors(ds) == []


def test_good_digits_npz():
    sample = get_sample("digits_cnn")
    ds = fit_dataset(read_data_bytes(sample.data_path.read_bytes(), "data.npz"), IMAGE_SPEC)
    assert ds.ok and ds.x.shape == (800, 16, 16, 1) and ds.labels.shape == (800,)


def test_good_text_csv():
    sample = get_sample("sentiment_text")
    ds = fit_dataset(read_data_bytes(sample.data_path.read_bytes(), "data.csv"), TEXT_SPEC)
    assert ds.ok and ds.kind == "text" and ds.x.shape == (600,) and isinstance(ds.x[0], str)


def test_missing_column_is_named():
    ds = check(wine_frame().drop(columns=["magnesium"]))
    assert not ds.ok and ds.x is None
    assert errors(ds) == ["expected 13 feature columns, got 12: missing 'magnesium'"]


def test_extra_column_is_named():
    frame = wine_frame()
    frame["vintage"] = 1999
    assert errors(check(frame)) == ["expected 13 feature columns, got 14: unexpected 'vintage'"]


def test_reordered_columns_are_put_back_in_order():
    frame = wine_frame()
    shuffled = frame[["label", *reversed(WINE.feature_names)]]
    ds = check(shuffled)
    assert ds.ok
    assert any("reordered to the model's order" in c.message for c in ds.checks)
    np.testing.assert_array_equal(ds.x, check(frame).x)


def test_count_only_when_names_unknown():
    spec = InputSpec(shape=(13,), dtype="float32")
    ds = check(wine_frame().drop(columns=["ash"]), spec)
    assert errors(ds)[0].startswith("the model expects 13 feature columns, the file has 12")


def test_nan_names_column_and_row():
    frame = wine_frame()
    frame.loc[4, "ash"] = np.nan
    assert errors(check(frame)) == ["column 'ash': missing values at row 5"]


def test_inf_names_column_and_row():
    frame = wine_frame()
    frame.loc[[0, 9], "hue"] = np.inf
    assert errors(check(frame)) == ["column 'hue': infinite values at row 1, 10"]


def test_string_in_numeric_column():
    frame = wine_frame().astype({"proline": object})
    frame.loc[2, "proline"] = "n/a?"
    assert errors(check(frame)) == [
        "column 'proline': 1 non-numeric cells, first 'n/a?' at row 3"]


def test_many_bad_rows_are_counted():
    frame = wine_frame()
    frame.loc[:9, "ash"] = np.nan
    assert errors(check(frame)) == [
        "column 'ash': missing values at row 1, 2, 3, 4, 5 (and 5 more)"]


@pytest.mark.parametrize(("content", "name", "text"), [
    (b"", "data.csv", "data.csv is empty"),
    (b"\n\n", "data.csv", "has no rows or columns"),
    (b"a,b\n", "data.csv", "has no data rows"),
    (b"a,a,b\n1,2,3\n", "dup.csv", "duplicate column names: 'a'"),
    ("caf\u00e9,b\n1,2\n".encode("latin-1"), "latin.csv", "is not UTF-8 text"),
    (b"x", "data.xlsx", "unsupported file type '.xlsx'"),
    (b"PAR1garbage", "data.parquet", "is not a readable Parquet file"),
    (b"not an image", "pic.png", "is not a readable PNG/JPEG image"),
    (b"PK\x03\x04broken", "arrays.npz", "is not a valid .npz archive"),
])
def test_unreadable_files_raise_one_line(content, name, text):
    with pytest.raises(DataError) as err:
        read_data_bytes(content, name)
    assert text in str(err.value) and "\n" not in str(err.value)


def test_semicolon_and_bom_csv_read():
    frame = wine_frame()
    text = "\ufeff" + frame.to_csv(index=False, sep=";")
    ds = fit_dataset(read_data_bytes(text.encode("utf-8"), "excel.csv"), WINE_SPEC)
    assert ds.ok and ds.x.shape == (178, 13)


def test_parquet_reads():
    buf = io.BytesIO()
    wine_frame().to_parquet(buf)
    ds = fit_dataset(read_data_bytes(buf.getvalue(), "wine.parquet"), WINE_SPEC)
    assert ds.ok and ds.x.shape == (178, 13)


def test_path_in_file_name_is_stripped():
    raw = read_data_bytes(wine_frame().to_csv(index=False).encode(), "../../etc/evil\x00.csv")
    assert raw.filename == "evil.csv"


@pytest.mark.parametrize(("header", "expected"), [
    ("target", "target"), ("y", "y"), ("Class", "Class"), ("label", "label")])
def test_label_auto_detected(header, expected):
    frame = wine_frame().rename(columns={"label": header})
    assert check(frame).label_name == expected


def test_explicit_label_must_exist():
    with pytest.raises(DataError, match="label column 'grade' not found"):
        check(wine_frame(), label="grade")


def test_no_label_is_a_warning_not_an_error():
    ds = check(wine_frame().drop(columns=["label"]))
    assert ds.ok and ds.labels is None
    assert any(c.level == "warning" and "no label column" in c.message for c in ds.checks)


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_wrong_image_shape():
    raw = read_data_bytes(npz(x=np.zeros((5, 28, 28, 1), "uint8")), "big.npz")
    ds = fit_dataset(raw, IMAGE_SPEC)
    assert errors(ds) == ["images are 28x28x1, the model expects 16x16x1"]


def test_missing_channel_axis_is_added():
    raw = read_data_bytes(npz(x=np.zeros((5, 16, 16), "uint8"), y=np.arange(5)), "grey.npz")
    ds = fit_dataset(raw, IMAGE_SPEC)
    assert ds.ok and ds.x.shape == (5, 16, 16, 1)


def test_labels_must_match_images():
    raw = read_data_bytes(npz(x=np.zeros((5, 16, 16, 1)), y=np.arange(4)), "short.npz")
    assert errors(fit_dataset(raw, IMAGE_SPEC)) == ["4 labels for 5 images"]


def test_nan_pixels_are_named():
    x = np.zeros((4, 16, 16, 1), "float32")
    x[2, 3, 3, 0] = np.nan
    raw = read_data_bytes(npz(x=x), "nan.npz")
    assert errors(fit_dataset(raw, IMAGE_SPEC)) == [
        "images at index 2 contain NaN or infinite pixels"]


def test_object_npy_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects"):
        read_data_bytes(buf.getvalue(), "objects.npy")


def test_npy_header_declaring_a_huge_shape_is_refused():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                               "shape": (10**6, 10**6)})
    with pytest.raises(DataError, match=r"declares shape \(1000000, 1000000\)"):
        read_data_bytes(buf.getvalue() + bytes(64), "huge.npy")


def test_npz_without_known_keys():
    with pytest.raises(DataError, match="name the inputs one of 'x'"):
        read_data_bytes(npz(pixels=np.zeros((2, 2))), "odd.npz")


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color=0).save(buf, format="PNG")
    return buf.getvalue()


def test_single_png_is_resized_and_greyed_for_the_model():
    ds = fit_dataset(read_data_bytes(png((32, 24)), "photo.png"), IMAGE_SPEC)
    assert ds.ok and ds.x.shape == (1, 16, 16, 1)
    warnings = [c.message for c in ds.checks if c.level == "warning"]
    assert "RGB images were converted to greyscale" in warnings
    assert "the image was resized to 16x16 for the model" in warnings


def test_decompression_bomb_png_is_refused():
    with pytest.raises(DataError, match="decompression bomb"):
        read_data_bytes(png((9000, 9000), mode="1"), "bomb.png")


def test_table_for_an_image_model_is_refused():
    with pytest.raises(DataError, match="this model takes images 16x16x1"):
        check(wine_frame(), IMAGE_SPEC)


def test_text_column_must_be_identifiable():
    frame = pd.DataFrame({"title": ["a", "b"], "body": ["c", "d"], "label": [0, 1]})
    ds = check(frame, InputSpec(shape=(), dtype="string"))
    assert errors(ds)[0].startswith("cannot tell which column holds the text")


def test_empty_text_cells_are_a_warning():
    frame = pd.DataFrame({"text": ["good film", None, "bad"], "label": [1, 0, 0]})
    ds = check(frame, TEXT_SPEC)
    assert ds.ok and list(ds.x) == ["good film", "", "bad"]
    assert any("empty cells at row 2" in c.message for c in ds.checks)
