"""Training histories from History JSON, CSVLogger and zipped TensorBoard logs."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tensorflow.summary as tf_summary

from components.errors import DataError
from components.inspect.history import TrainingHistory, best_epoch, read_history_bytes
from components.model.samples import list_samples

EPOCHS = {"wine_classifier": 60, "digits_cnn": 4, "sentiment_text": 30,
          "diabetes_regression": 80}


def _tensorboard_scalar(name, data, step=None, description=None):
    """What tensorboard's tf.summary.scalar writes: a float32 tensor, "scalars" plugin.

    TF 2.21 leaves tf.summary.scalar to the tensorboard package, which the pinned stack does
    not install; everything else the TensorBoard callback writes (folders, tags, steps, the
    model graph) is Keras' own.
    """
    meta = tf.compat.v1.SummaryMetadata()
    meta.plugin_data.plugin_name = "scalars"
    return tf_summary.write(tag=name, tensor=tf.cast(data, tf.float32), step=step,
                            metadata=meta)


@pytest.fixture(scope="module")
def fit(tmp_path_factory):
    """A 3-epoch fit of a 3-parameter model that logs to CSVLogger and TensorBoard."""
    tmp = tmp_path_factory.mktemp("fit")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    x = np.arange(8, dtype="float32").reshape(4, 2) / 8
    y = np.arange(4, dtype="float32")
    callbacks = [keras.callbacks.CSVLogger(str(tmp / "log.csv")),
                 keras.callbacks.TensorBoard(str(tmp / "logs"))]
    with pytest.MonkeyPatch.context() as mp:
        # the module itself: the first `tf.summary` lookup may hand back a lazy loader
        mp.setattr(tf_summary, "scalar", _tensorboard_scalar)
        history = model.fit(x, y, validation_data=(x, y), epochs=3, batch_size=2, verbose=0,
                            callbacks=callbacks)
    return history.history, tmp


def zip_dir(folder: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, prefix + path.relative_to(folder).as_posix())
    return buf.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return buf.getvalue()


def json_history(series: dict) -> TrainingHistory:
    return read_history_bytes(json.dumps(series).encode(), "history.json")


# ---------------------------------------------------------------- JSON


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.key)
def test_sample_histories(sample):
    raw = json.loads(sample.history_path.read_text())
    hist = read_history_bytes(sample.history_path.read_bytes(), "history.json")
    assert hist.source == "history.json"
    assert list(hist.frame.index) == list(range(EPOCHS[sample.key]))
    assert hist.frame.index.name == "epoch"
    assert list(hist.frame.columns) == list(raw)
    for key, values in raw.items():
        np.testing.assert_array_equal(hist.frame[key].to_numpy(), values)


def test_json_unequal_lengths_name_the_key():
    with pytest.raises(DataError) as err:
        json_history({"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7]})
    assert str(err.value) == ("history.json: 'val_loss' has 2 values, 'loss' has 3; every "
                              "series needs one value per epoch")


def test_json_non_numbers_name_the_key():
    with pytest.raises(DataError, match="^history.json: 'acc' is not a list of numbers$"):
        json_history({"loss": [1.0], "acc": ["high"]})


def test_not_json():
    with pytest.raises(DataError, match=r"^h.json is not valid JSON \(Expecting value"):
        read_history_bytes(b"loss: 1, 2, 3", "h.json")


def test_json_of_the_wrong_shape():
    with pytest.raises(DataError, match=r"^h.json: expected a JSON object of series"):
        read_history_bytes(b"[1, 2, 3]", "h.json")


def test_empty_file_and_no_epochs():
    with pytest.raises(DataError, match="^history.json is empty$"):
        read_history_bytes(b"", "history.json")
    with pytest.raises(DataError, match="^history.json holds no epochs$"):
        json_history({"loss": [], "val_loss": []})


def test_unknown_suffix_lists_the_known_ones():
    with pytest.raises(DataError, match=r"^h.txt: a training history is a .json, .csv, .zip"):
        read_history_bytes(b"x", "h.txt")


# ---------------------------------------------------------------- CSVLogger


def test_csvlogger_file_matches_history(fit):
    history, tmp = fit
    hist = read_history_bytes((tmp / "log.csv").read_bytes(), "log.csv")
    assert list(hist.frame.index) == [0, 1, 2]
    assert sorted(hist.frame.columns) == sorted(history)
    for key, values in history.items():
        np.testing.assert_allclose(hist.frame[key].to_numpy(), values, rtol=1e-12)


def test_csv_restarted_run_keeps_the_last_rows():
    csv = b"epoch,loss\n0,9.0\n1,8.0\n0,3.0\n1,2.0\n2,1.0\n"
    hist = read_history_bytes(csv, "log.csv")
    assert hist.frame["loss"].to_dict() == {0: 3.0, 1: 2.0, 2: 1.0}


def test_csv_without_epoch_column():
    with pytest.raises(DataError, match=r"^log.csv: a CSVLogger file has an 'epoch' column; "
                                        r"columns are 'step', 'loss'$"):
        read_history_bytes(b"step,loss\n0,1.0\n", "log.csv")


def test_csv_non_numeric_metric_is_named():
    with pytest.raises(DataError, match=r"^log.csv: column 'loss' holds non-numbers, first 'x'$"):
        read_history_bytes(b"epoch,loss\n0,1.0\n1,x\n", "log.csv")


# ---------------------------------------------------------------- TensorBoard


def test_tensorboard_zip_matches_history(fit):
    history, tmp = fit
    assert {p.parent.name for p in (tmp / "logs").rglob("*tfevents*")} == {"train",
                                                                          "validation"}
    hist = read_history_bytes(zip_dir(tmp / "logs", prefix="logs/"), "logs.zip")
    assert list(hist.frame.index) == [0, 1, 2]
    for key in ("loss", "val_loss", "mae", "val_mae"):
        np.testing.assert_allclose(hist.frame[key].to_numpy(), history[key], atol=1e-6)
    # the callback also logs the optimizer's learning rate each epoch
    np.testing.assert_allclose(hist.frame["learning_rate"].to_numpy(), [0.01] * 3, rtol=1e-6)
    assert best_epoch(hist) == int(np.argmin(history["val_loss"]))


def test_tensorboard_simple_value_scalars(tmp_path):
    """Older writers store a float in simple_value instead of a tensor."""
    path = tmp_path / "run" / "events.out.tfevents.1.host"
    path.parent.mkdir()
    with tf.io.TFRecordWriter(str(path)) as writer:
        for step, (loss, acc) in enumerate([(0.9, 0.5), (0.6, 0.75)]):
            values = [tf.compat.v1.Summary.Value(tag="epoch_loss", simple_value=loss),
                      tf.compat.v1.Summary.Value(tag="epoch_accuracy", simple_value=acc),
                      tf.compat.v1.Summary.Value(tag="batch_loss", simple_value=99.0)]
            event = tf.compat.v1.Event(step=step, summary=tf.compat.v1.Summary(value=values))
            writer.write(event.SerializeToString())
    hist = read_history_bytes(zip_dir(tmp_path), "old.zip")
    expected = pd.DataFrame({"loss": [0.9, 0.6], "accuracy": [0.5, 0.75]})
    pd.testing.assert_frame_equal(hist.frame, expected, check_names=False, atol=1e-7)


def test_zip_with_parent_path_is_refused():
    data = zip_of({"../x/events.out.tfevents.1": b"x"})
    with pytest.raises(DataError) as err:
        read_history_bytes(data, "logs.zip")
    assert str(err.value) == ("logs.zip: archive member '../x/events.out.tfevents.1' points "
                              "outside the archive ('..')")


def test_zip_without_event_files():
    with pytest.raises(DataError, match=r"^logs.zip holds no TensorBoard event files"):
        read_history_bytes(zip_of({"train/readme.txt": b"hello"}), "logs.zip")


def test_zip_of_two_runs_asks_for_one(fit):
    _, tmp = fit
    logs = zip_dir(tmp / "logs")
    with zipfile.ZipFile(io.BytesIO(logs)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    both = zip_of({f"{run}/{name}": blob for run in ("a", "b") for name, blob in members.items()})
    with pytest.raises(DataError, match="^logs.zip holds 2 TensorBoard runs: 'a', 'b'; zip the "
                                        "folder of one run$"):
        read_history_bytes(both, "logs.zip")


def test_not_a_zip_and_corrupt_event_file():
    with pytest.raises(DataError, match="^logs.zip is not a zip archive$"):
        read_history_bytes(b"hello", "logs.zip")
    with pytest.raises(DataError, match=r"^logs.zip: event file 'events.out.tfevents.1' is "
                                        r"truncated or corrupt"):
        read_history_bytes(zip_of({"events.out.tfevents.1": b"\x01" * 40}), "logs.zip")


# ---------------------------------------------------------------- best epoch


def test_best_epoch_minimises_losses_and_maximises_the_rest():
    hist = json_history({"loss": [3.0, 1.0, 2.0], "val_loss": [3.0, 2.0, 1.5],
                         "val_accuracy": [0.2, 0.9, 0.8], "val_mae": [5.0, 4.0, 6.0],
                         "val_mean_squared_error": [1.0, 0.5, 0.7]})
    assert best_epoch(hist) == 2
    assert best_epoch(hist, "val_accuracy") == 1
    assert best_epoch(hist, "val_mae") == 1
    assert best_epoch(hist, "val_mean_squared_error") == 1
    assert best_epoch(hist, "val_auc") is None  # no such series


def test_best_epoch_of_a_sample():
    sample = next(s for s in list_samples() if s.key == "diabetes_regression")
    raw = json.loads(sample.history_path.read_text())
    hist = read_history_bytes(sample.history_path.read_bytes(), "history.json")
    assert best_epoch(hist, "val_mae") == int(np.argmin(raw["val_mae"]))
