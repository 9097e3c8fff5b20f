"""Metric figures: trace counts, values and click data on tiny inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.data.evaluation import CalibrationCurve, PrCurve, RocCurve
from components.inspect.history import TrainingHistory
from components.plots.metrics import (
    calibration_figure,
    confusion_matrix_figure,
    pr_figure,
    pred_vs_true_figure,
    residual_histogram,
    roc_figure,
    training_curves,
)

HISTORY = TrainingHistory(
    frame=pd.DataFrame({"accuracy": [0.5, 0.7, 0.9], "loss": [1.0, 0.6, 0.3],
                        "val_accuracy": [0.4, 0.8, 0.7], "val_loss": [1.1, 0.5, 0.6]}),
    source="history.json")


def test_training_curves_one_subplot_per_metric_with_best_epoch():
    fig = training_curves(HISTORY)
    names = [t.name for t in fig.data]
    assert names == ["loss", "val_loss", "accuracy", "val_accuracy", "best val_loss: epoch 1"]
    assert [a.text for a in fig.layout.annotations] == ["loss", "accuracy"]  # subplot titles
    loss, val_loss, acc = fig.data[0], fig.data[1], fig.data[2]
    assert list(loss.x) == [0, 1, 2] and list(loss.y) == [1.0, 0.6, 0.3]
    assert list(val_loss.y) == [1.1, 0.5, 0.6] and val_loss.line.dash == "dash"
    assert (loss.xaxis, acc.xaxis) == ("x", "x2")  # side by side
    best = fig.data[4]
    assert (list(best.x), list(best.y), best.xaxis) == ([1], [0.5], "x")
    assert [(s.type, s.x0, s.xref) for s in fig.layout.shapes] == [("line", 1, "x"),
                                                                  ("line", 1, "x2")]


def test_training_curves_best_accuracy_and_none():
    fig = training_curves(HISTORY, best_metric="val_accuracy")
    best = fig.data[-1]
    assert (best.name, list(best.x), list(best.y), best.xaxis) == (
        "best val_accuracy: epoch 1", [1], [0.8], "x2")
    plain = training_curves(HISTORY, best_metric=None)
    assert len(plain.data) == 4 and not plain.layout.shapes


def test_training_curves_without_validation_has_no_marker():
    train_only = TrainingHistory(HISTORY.frame[["loss", "accuracy"]], "h.json")
    fig = training_curves(train_only)
    assert [t.name for t in fig.data] == ["loss", "accuracy"] and not fig.layout.shapes


def test_training_curves_three_metrics_wrap_to_two_rows():
    frame = HISTORY.frame.assign(mae=[3.0, 2.0, 1.0])
    fig = training_curves(TrainingHistory(frame, "h.json"), best_metric=None)
    assert [(t.name, t.xaxis) for t in fig.data] == [
        ("loss", "x"), ("val_loss", "x"), ("accuracy", "x2"), ("val_accuracy", "x2"),
        ("mae", "x3")]


COUNTS = np.array([[2, 1, 0], [0, 2, 1], [1, 0, 1]])


def test_confusion_matrix_points_and_customdata():
    fig = confusion_matrix_figure(COUNTS, ["a", "b", "c"], normalize=False)
    assert len(fig.data) == 1 and fig.data[0].type == "scatter"
    pts = fig.data[0]
    assert list(pts.x) == [0, 1, 2, 0, 1, 2, 0, 1, 2]  # predicted
    assert list(pts.y) == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # true
    assert np.asarray(pts.customdata).tolist() == [[t, p] for t in range(3) for p in range(3)]
    assert list(pts.text) == ["2", "1", "0", "0", "2", "1", "1", "0", "1"]
    assert list(pts.marker.color) == [2, 1, 0, 0, 2, 1, 1, 0, 1]
    assert pts.marker.symbol == "square" and pts.marker.cmax == 2
    assert pts.hovertext[1] == "true a, predicted b: 1 (33.3% of true a)"
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "c"]
    assert list(fig.layout.yaxis.range) == [2.5, -0.5]  # true class 0 on top


def test_confusion_matrix_normalized_rows():
    fig = confusion_matrix_figure(np.array([[3, 1], [0, 0]]), ["n", "p"], normalize=True)
    pts = fig.data[0]
    assert list(pts.text) == ["0.75", "0.25", "0.00", "0.00"]  # an empty row stays 0
    np.testing.assert_allclose(pts.marker.color, [0.75, 0.25, 0.0, 0.0])
    assert pts.marker.cmax == 1.0


def test_confusion_matrix_bad_options():
    with pytest.raises(ValueError, match="normalize must be True or False, got 'rows'"):
        confusion_matrix_figure(COUNTS, ["a", "b", "c"], normalize="rows")
    with pytest.raises(ValueError, match=r"counts of shape \(3, 3\) for 2 class names"):
        confusion_matrix_figure(COUNTS, ["a", "b"], normalize=False)


def test_roc_and_pr_figures():
    roc = [RocCurve("a", np.array([0, 0.5, 1]), np.array([0, 1, 1]), 0.75),
           RocCurve("b", np.array([0, 1]), np.array([0, 1]), 0.5)]
    fig = roc_figure(roc)
    assert [t.name for t in fig.data] == ["a (AUC 0.750)", "b (AUC 0.500)", "chance"]
    assert list(fig.data[0].x) == [0, 0.5, 1] and list(fig.data[0].y) == [0, 1, 1]
    assert list(fig.data[2].x) == [0, 1] and list(fig.data[2].y) == [0, 1]
    pr = pr_figure([PrCurve("pos", np.array([1, 0.5, 0]), np.array([0.5, 1, 1]), 0.8125)])
    assert [t.name for t in pr.data] == ["pos (AP 0.812)"]
    assert list(pr.data[0].x) == [1, 0.5, 0] and list(pr.data[0].y) == [0.5, 1, 1]
    assert pr.layout.xaxis.title.text == "recall"


def test_calibration_figure():
    curve = CalibrationCurve("positive", np.array([0.15, 0.85]), np.array([0.0, 1.0]))
    fig = calibration_figure(curve)
    assert [t.name for t in fig.data] == ["positive", "perfectly calibrated"]
    assert list(fig.data[0].x) == [0.15, 0.85] and list(fig.data[0].y) == [0.0, 1.0]


def test_regression_figures():
    fig = pred_vs_true_figure([1, 2, 3, 4], [1.5, 2, 2, 5])
    assert [t.name for t in fig.data] == ["samples", "y = x"]
    assert list(fig.data[0].x) == [1, 2, 3, 4] and list(fig.data[0].y) == [1.5, 2, 2, 5]
    assert list(fig.data[1].x) == [1, 5] and list(fig.data[1].y) == [1, 5]
    with pytest.raises(ValueError, match=r"y_true \(2,\) and y_pred \(3,\) differ in shape"):
        pred_vs_true_figure([1, 2], [1, 2, 3])
    hist = residual_histogram([0.5, 0.0, -1.0, 1.0])
    assert len(hist.data) == 1 and hist.data[0].type == "histogram"
    assert list(hist.data[0].x) == [0.5, 0.0, -1.0, 1.0]
    assert [(s.type, s.x0) for s in hist.layout.shapes] == [("line", 0)]
