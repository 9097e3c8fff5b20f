"""What the metrics page computes: the model scored on the loaded dataset."""

from __future__ import annotations

from components.data_checks import Dataset
from components.errors import DataError
from components.evaluation import Evaluation, evaluate
from components.predict import PredictFn


def evaluate_dataset(predict: PredictFn, dataset: Dataset, task: str,
                     class_names: tuple[str, ...] | None = None) -> Evaluation:
    """Predict every row through the model's compiled, batched path; score against labels."""
    if dataset.x is None:
        raise DataError("the dataset did not pass its checks; see the Model & data page")
    if dataset.labels is None:
        raise DataError("the dataset has no label column, so there is nothing to score against")
    scores = predict(dataset.x)
    return evaluate(dataset.labels, scores, task, class_names)


def clicked_cell(points: list[dict] | None) -> tuple[int, int] | None:
    """(true, predicted) class indices of the first clicked confusion cell, or None.

    A point's ``customdata`` comes back as a list, or, where Plotly sent a typed array, as
    an object keyed "0", "1"; values may be numbers or strings. All come back here as ints.
    """
    for point in points or []:
        custom = point.get("customdata")
        if isinstance(custom, dict):
            custom = [custom.get("0"), custom.get("1")]
        if isinstance(custom, (list, tuple)) and len(custom) == 2:
            try:
                return int(float(custom[0])), int(float(custom[1]))
            except (TypeError, ValueError):
                continue
    return None
