"""Text datasets and row reporting (the rest of data reading is in test_data.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.data.checks import fit_dataset
from components.data.read import read_data_bytes
from components.model.bundle import InputSpec
from components.model.samples import get_sample

WINE = get_sample("wine_classifier")
WINE_SPEC = InputSpec(shape=(13,), dtype="float32", feature_names=WINE.feature_names)
TEXT_SPEC = InputSpec(shape=(), dtype="string", feature_names=("text",))


def wine_frame() -> pd.DataFrame:
    return pd.read_csv(WINE.data_path)


def check(frame: pd.DataFrame, spec: InputSpec = WINE_SPEC, label: str | None = None):
    raw = read_data_bytes(frame.to_csv(index=False).encode(), "data.csv")
    return fit_dataset(raw, spec, label)


def errors(ds) -> list[str]:
    return [c.message for c in ds.checks if c.level == "error"]


def test_good_text_csv():
    sample = get_sample("sentiment_text")
    ds = fit_dataset(read_data_bytes(sample.data_path.read_bytes(), "data.csv"), TEXT_SPEC)
    assert ds.ok and ds.kind == "text" and ds.x.shape == (600,) and isinstance(ds.x[0], str)


def test_many_bad_rows_are_counted():
    frame = wine_frame()
    frame.loc[:9, "ash"] = np.nan
    assert errors(check(frame)) == [
        "column 'ash': missing values at row 1, 2, 3, 4, 5 (and 5 more)"]


def test_text_column_must_be_identifiable():
    frame = pd.DataFrame({"title": ["a", "b"], "body": ["c", "d"], "label": [0, 1]})
    ds = check(frame, InputSpec(shape=(), dtype="string"))
    assert errors(ds)[0].startswith("cannot tell which column holds the text")


def test_empty_text_cells_are_a_warning():
    frame = pd.DataFrame({"text": ["good film", None, "bad"], "label": [1, 0, 0]})
    ds = check(frame, TEXT_SPEC)
    assert ds.ok and list(ds.x) == ["good film", "", "bad"]
    assert any("empty cells at row 2" in c.message for c in ds.checks)
