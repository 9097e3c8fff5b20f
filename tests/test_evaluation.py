"""Metrics on hand-made sets whose answers are known, and on the wine sample end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from components.data.evaluation import cell_samples, evaluate
from components.errors import DataError
from components.model.load import load_model_path
from components.model.predict import make_predict_fn
from components.model.samples import get_sample

# 8 samples, 3 classes; predictions (argmax) are 0 0 1 1 1 2 2 0: 5 of 8 right.
Y3 = np.array([0, 0, 0, 1, 1, 1, 2, 2])
P3 = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.1, 0.7, 0.2],
               [0.2, 0.6, 0.2], [0.1, 0.3, 0.6], [0.1, 0.2, 0.7], [0.5, 0.1, 0.4]])
NAMES3 = ("a", "b", "c")


@pytest.fixture(scope="module")
def three():
    return evaluate(Y3, P3, "multiclass", class_names=NAMES3)


def test_multiclass_summary_by_hand(three):
    s = three.summary
    assert s["accuracy"] == 0.625
    assert s["precision_macro"] == pytest.approx(11 / 18, abs=1e-12)
    assert s["recall_macro"] == pytest.approx(11 / 18, abs=1e-12)
    assert s["f1_macro"] == pytest.approx(11 / 18, abs=1e-12)
    assert s["precision_weighted"] == pytest.approx(5 / 8, abs=1e-12)
    assert s["roc_auc"] == pytest.approx(skm.roc_auc_score(Y3, P3, multi_class="ovr"),
                                         abs=1e-12)
    assert list(s) == ["accuracy", "precision_macro", "recall_macro", "f1_macro",
                       "precision_weighted", "recall_weighted", "f1_weighted", "roc_auc"]


def test_multiclass_confusion_and_per_class(three):
    np.testing.assert_array_equal(three.confusion, [[2, 1, 0], [0, 2, 1], [1, 0, 1]])
    np.testing.assert_array_equal(three.y_pred, [0, 0, 1, 1, 1, 2, 2, 0])
    np.testing.assert_allclose(three.confidence, [0.8, 0.6, 0.5, 0.7, 0.6, 0.6, 0.7, 0.5])
    expected = pd.DataFrame({"precision": [2 / 3, 2 / 3, 1 / 2], "recall": [2 / 3, 2 / 3, 1 / 2],
                             "f1": [2 / 3, 2 / 3, 1 / 2], "support": [3, 3, 2]},
                            index=pd.Index(["a", "b", "c"], name="class"))
    pd.testing.assert_frame_equal(three.per_class, expected, check_dtype=False)
    assert three.class_names == NAMES3


def test_multiclass_curves_are_sklearns(three):
    assert [c.label for c in three.curves.roc] == ["a", "b", "c"]
    for j, (roc, pr) in enumerate(zip(three.curves.roc, three.curves.pr, strict=True)):
        fpr, tpr, _ = skm.roc_curve(np.equal(Y3, j), P3[:, j])
        np.testing.assert_array_equal(roc.fpr, fpr)
        np.testing.assert_array_equal(roc.tpr, tpr)
        assert roc.auc == skm.roc_auc_score(np.equal(Y3, j), P3[:, j])
        precision, recall, _ = skm.precision_recall_curve(np.equal(Y3, j), P3[:, j])
        np.testing.assert_array_equal(pr.precision, precision)
        np.testing.assert_array_equal(pr.recall, recall)
        assert pr.average_precision == skm.average_precision_score(np.equal(Y3, j), P3[:, j])
    cal = three.curves.calibration
    prob_true, prob_pred = calibration_curve(np.equal(Y3, P3.argmax(1)), P3.max(1), n_bins=10)
    assert cal.label == "top class"
    np.testing.assert_allclose(cal.prob_true, prob_true)
    np.testing.assert_allclose(cal.prob_pred, prob_pred)


def test_class_name_labels_give_the_same_evaluation(three):
    named = evaluate(np.array(NAMES3, dtype=object)[Y3], P3, "multiclass", class_names=NAMES3)
    np.testing.assert_array_equal(named.y_true, Y3)
    assert named.summary == three.summary


def test_cell_samples_rows_sorted_by_confidence(three):
    cell = cell_samples(three, 1, 1)
    expected = pd.DataFrame({"row": [3, 4], "true": ["b", "b"], "predicted": ["b", "b"],
                             "confidence": [0.7, 0.6]})
    pd.testing.assert_frame_equal(cell, expected, check_dtype=False)
    assert cell_samples(three, 2, 0)["row"].tolist() == [7]
    assert cell_samples(three, 0, 0)["row"].tolist() == [0, 1]
    assert cell_samples(three, 0, 2).empty


def test_cell_samples_bad_index_and_task(three):
    with pytest.raises(ValueError, match=r"^pred_class 3 is not a class index; expected 0..2$"):
        cell_samples(three, 0, 3)
    reg = evaluate([1.0, 2.0], [[1.0], [2.0]], "regression")
    with pytest.raises(ValueError, match="a regression evaluation has no confusion matrix"):
        cell_samples(reg, 0, 0)


def test_logits_go_through_softmax():
    logits = np.log(P3) + 3.0  # softmax(log p + c) == p
    ev = evaluate(Y3, logits, "multiclass")
    np.testing.assert_allclose(ev.confidence, P3.max(1))
    assert ev.class_names == ("0", "1", "2")


def test_absent_class_has_no_auc_and_no_curve():
    ev = evaluate(Y3[:6], P3[:6], "multiclass", class_names=NAMES3)
    assert "roc_auc" not in ev.summary
    assert [c.label for c in ev.curves.roc] == ["a", "b"]
    assert ev.per_class.loc["c", "support"] == 0


# ---------------------------------------------------------------- binary

YB = np.array([0, 0, 1, 1, 1, 0])
PB = np.array([[0.1], [0.6], [0.8], [0.4], [0.9], [0.2]])


def test_binary_sigmoid_column():
    ev = evaluate(YB, PB, "binary", class_names=["negative", "positive"])
    np.testing.assert_array_equal(ev.y_pred, [0, 1, 1, 0, 1, 0])
    np.testing.assert_allclose(ev.confidence, [0.9, 0.6, 0.8, 0.6, 0.9, 0.8])
    assert ev.summary["accuracy"] == pytest.approx(4 / 6, abs=1e-12)
    assert ev.summary["roc_auc"] == pytest.approx(8 / 9, abs=1e-12)
    np.testing.assert_array_equal(ev.confusion, [[2, 1], [1, 2]])
    assert [c.label for c in ev.curves.roc] == ["positive"]
    fpr, tpr, _ = skm.roc_curve(YB, PB[:, 0])
    np.testing.assert_array_equal(ev.curves.roc[0].fpr, fpr)
    np.testing.assert_array_equal(ev.curves.roc[0].tpr, tpr)
    prob_true, prob_pred = calibration_curve(YB, PB[:, 0], n_bins=10, strategy="uniform")
    np.testing.assert_allclose(ev.curves.calibration.prob_true, prob_true)
    np.testing.assert_allclose(ev.curves.calibration.prob_pred, prob_pred)
    assert ev.curves.calibration.label == "positive"
    assert list(ev.per_class.index) == ["negative", "positive"]


def test_binary_two_column_softmax_and_logits_agree():
    two = evaluate(YB, np.column_stack([1 - PB[:, 0], PB[:, 0]]), "binary")
    logit = evaluate(YB, np.log(PB / (1 - PB)), "binary")
    for ev in (two, logit):
        np.testing.assert_array_equal(ev.y_pred, [0, 1, 1, 0, 1, 0])
        np.testing.assert_allclose(ev.confidence, [0.9, 0.6, 0.8, 0.6, 0.9, 0.8])


def test_threshold_one_half_is_positive():
    ev = evaluate([1, 0], [[0.5], [0.49]], "binary")
    np.testing.assert_array_equal(ev.y_pred, [1, 0])


# ---------------------------------------------------------------- regression & multilabel


def test_regression_exact():
    ev = evaluate(np.array([1, 2, 3, 4]), np.array([[1.5], [2.0], [2.0], [5.0]]), "regression")
    assert ev.summary == {"mae": 0.625, "rmse": 0.75, "r2": 0.55}
    np.testing.assert_array_equal(ev.residuals, [0.5, 0.0, -1.0, 1.0])
    assert ev.confusion is None and ev.confidence is None and ev.curves is None


def test_multilabel_small():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    p = np.array([[0.9, 0.2], [0.4, 0.7], [0.6, 0.3], [0.2, 0.6]])
    ev = evaluate(y, p, "multilabel", class_names=["cat", "dog"])
    np.testing.assert_array_equal(ev.y_pred, [[1, 0], [0, 1], [1, 0], [0, 1]])
    assert ev.summary["accuracy"] == 0.5  # exact-match (subset) accuracy
    assert ev.summary["f1_macro"] == 0.75
    assert ev.per_class["precision"].tolist() == [1.0, 0.5]
    assert ev.per_class["recall"].tolist() == [1.0, 0.5]
    assert ev.per_class["support"].tolist() == [2, 2]
    assert ev.confusion is None and "roc_auc" not in ev.summary
    assert [c.label for c in ev.curves.roc] == ["cat", "dog"]
    assert ev.curves.roc[1].auc == skm.roc_auc_score(y[:, 1], p[:, 1])
    np.testing.assert_allclose(ev.confidence, [0.85, 0.65, 0.65, 0.7])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("labels", "message"), [
    ([0, 1, 3], "label 3 is not one of the model's 3 classes ('a', 'b', 'c', or their "
                "indices 0..2)"),
    (["a", "d", "b"], "label 'd' is not one of the model's 3 classes"),
    ([0, 1.5, 2], "label 1.5 is not one of"),
    ([0, None, 2], "1 labels are empty, first at row 2"),
])
def test_bad_labels_are_named(labels, message):
    with pytest.raises(DataError) as err:
        evaluate(np.array(labels, dtype=object), P3[:3], "multiclass", class_names=NAMES3)
    assert str(err.value).startswith(message)


def test_bad_shapes_and_task():
    with pytest.raises(DataError, match="^7 labels for 8 predictions$"):
        evaluate(Y3[:7], P3, "multiclass")
    with pytest.raises(DataError, match="^2 class names for a model with 3 classes$"):
        evaluate(Y3, P3, "multiclass", class_names=["a", "b"])
    with pytest.raises(DataError, match="^multi-label targets must be 0 or 1; found 2$"):
        evaluate([[0, 2]], [[0.1, 0.9]], "multilabel")
    with pytest.raises(DataError, match="^regression targets must be numbers; row 2 holds 'x'$"):
        evaluate(np.array([1.0, "x"], dtype=object), [[1.0], [2.0]], "regression")
    with pytest.raises(DataError, match=r"^regression needs one target per row, got labels "
                                        r"of shape \(2, 2\)$"):
        evaluate([[1.0, 2.0], [3.0, 4.0]], [[1.0], [2.0]], "regression")
    with pytest.raises(ValueError, match="expected one of multiclass, binary, multilabel, "
                                         "regression"):
        evaluate(Y3, P3, "ranking")


# ---------------------------------------------------------------- end to end


def test_wine_sample_through_the_predict_path():
    sample = get_sample("wine_classifier")
    table = pd.read_csv(sample.data_path)
    labels = table["label"].to_numpy()
    x = table[list(sample.feature_names)].to_numpy("float32")
    scores = make_predict_fn(load_model_path(sample.model_path).model)(x)
    ev = evaluate(labels, scores, "multiclass", class_names=sample.class_names)
    assert ev.summary["accuracy"] == (scores.argmax(1) == labels).mean()
    assert ev.confusion.sum() == 178
    np.testing.assert_array_equal(ev.confusion.sum(axis=1), np.bincount(labels))
    assert ev.per_class["support"].tolist() == np.bincount(labels).tolist()
