"""The metrics page's pure helpers: scoring a dataset and reading a confusion-cell click."""

import numpy as np
import pytest

from components.data.checks import Dataset
from components.data.evaluation import evaluate_dataset
from components.errors import DataError
from components.plots.metrics import clicked_cell


@pytest.mark.parametrize(("points", "cell"), [
    ([{"customdata": [2, 1]}], (2, 1)),
    ([{"customdata": ["2", "1"]}], (2, 1)),
    ([{"customdata": {"0": 2, "1": 1}}], (2, 1)),  # a typed array, as the browser sends it
    ([{"customdata": [0.0, 2.0]}], (0, 2)),
    ([{"customdata": "x"}, {"customdata": [1, 1]}], (1, 1)),
    ([{"customdata": ["a", "b"]}], None),
    ([], None),
    (None, None),
])
def test_clicked_cell(points, cell):
    assert clicked_cell(points) == cell


def _dataset(x, labels) -> Dataset:
    return Dataset(filename="t.csv", kind="tabular", n_rows=4, x=x, labels=labels,
                   label_name="label", feature_names=["a"], preview=None)


def test_evaluate_dataset_uses_the_given_predict_function():
    x = np.array([[0.0], [1.0], [2.0], [3.0]], dtype="float32")
    # a "model" that is right on three rows out of four
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    seen = []

    def predict(batch):
        seen.append(batch)
        return scores

    result = evaluate_dataset(predict, _dataset(x, np.array([0, 1, 1, 1])), "multiclass")
    assert seen[0] is x and result.summary["accuracy"] == 0.75
    # a 2-way softmax scored as multiclass: AUC from the positive column (was a crash)
    assert result.summary["roc_auc"] == 1.0  # the one negative (0.1) ranks below all positives


def test_evaluate_dataset_needs_usable_labelled_data():
    with pytest.raises(DataError, match="did not pass its checks"):
        evaluate_dataset(lambda b: b, _dataset(None, np.array([0])), "multiclass")
    with pytest.raises(DataError, match="no label column"):
        evaluate_dataset(lambda b: b, _dataset(np.zeros((1, 1)), None), "multiclass")
