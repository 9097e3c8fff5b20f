"""Loading models, summarising them and detecting their task: samples and tiny models."""

from __future__ import annotations

import hashlib
import json

import keras
import pytest

from components.data.session import open_dataset
from components.errors import BadModelFileError, GlassboxError
from components.model.bundle import InputSpec, open_model
from components.model.load import load_model_bytes, load_model_path, sha256_hex
from components.model.summary import summarize
from components.model.task import TASKS, detect_task, resolve_task

# Parameter counts worked out by hand from each architecture (sample_models/build.py).
EXPECTED_PARAMS = {
    # Normalization 13 mean + 13 variance + count; Dense 13->16, 16->8 (in 'encoder'), 8->3
    "wine_classifier": (27 + (13 * 16 + 16) + (16 * 8 + 8) + (8 * 3 + 3), 27),
    # Conv 3x3x1x8 + 8, Conv 3x3x8x16 + 16, Dense 256->10
    "digits_cnn": ((9 * 8 + 8) + (9 * 8 * 16 + 16) + (256 * 10 + 10), 0),
    # Embedding 200x8, Dense 8->1 (TextVectorization holds no weights)
    "sentiment_text": (200 * 8 + (8 + 1), 0),
    # Normalization 10 + 10 + 1; Dense 10->32, 32->16, 16->1
    "diabetes_regression": (21 + (10 * 32 + 32) + (32 * 16 + 16) + (16 + 1), 21),
}
EXPECTED_SHAPES = {
    "wine_classifier": ([[None, 13]], [[None, 3]], "float32"),
    "digits_cnn": ([[None, 16, 16, 1]], [[None, 10]], "float32"),
    "sentiment_text": ([[None]], [[None, 1]], "string"),
    "diabetes_regression": ([[None, 10]], [[None, 1]], "float32"),
}
KEYS = sorted(EXPECTED_PARAMS)


@pytest.mark.parametrize("key", KEYS)
def test_sample_loads_with_its_identity(loaded_samples, samples, key):
    loaded = loaded_samples[key]
    raw = samples[key].model_path.read_bytes()
    assert loaded.sha256 == hashlib.sha256(raw).hexdigest()
    assert len(loaded.sha256) == 64
    assert (loaded.fmt, loaded.filename) == ("keras", "model.keras")
    assert isinstance(loaded.model, keras.Model)


@pytest.mark.parametrize("key", KEYS)
def test_sample_parameter_counts(loaded_samples, key):
    loaded = loaded_samples[key]
    summary = summarize(loaded.model, loaded.sha256)
    total, non_trainable = EXPECTED_PARAMS[key]
    assert summary.total_params == loaded.model.count_params() == total
    assert summary.trainable_params == total - non_trainable
    assert sum(r.params for r in summary.layers if r.parent is None) == total
    assert summary.sha256 == loaded.sha256 and summary.name == key


@pytest.mark.parametrize("key", KEYS)
def test_sample_shapes_and_task(loaded_samples, samples, key):
    loaded = loaded_samples[key]
    summary = summarize(loaded.model, loaded.sha256)
    inputs, outputs, dtype = EXPECTED_SHAPES[key]
    assert (summary.inputs, summary.outputs, summary.input_dtypes) == (inputs, outputs, [dtype])
    assert detect_task(loaded.model) == summary.task == samples[key].task


def test_wine_encoder_layers_name_their_parent(loaded_samples):
    loaded = loaded_samples["wine_classifier"]
    rows = summarize(loaded.model, loaded.sha256).layers
    assert [(r.name, r.class_name, r.parent, r.depth) for r in rows] == [
        ("features", "InputLayer", None, 0),
        ("standardize", "Normalization", None, 0),
        ("encoder", "Sequential", None, 0),
        ("dense", "Dense", "encoder", 1),
        ("dense_1", "Dense", "encoder", 1),
        ("cultivar", "Dense", None, 0),
    ]
    by_name = {r.name: r for r in rows}
    assert by_name["encoder"].params == by_name["dense"].params + by_name["dense_1"].params
    assert by_name["dense"].output_shape == [None, 16]
    assert by_name["standardize"].trainable_params == 0


def test_summary_json_is_the_cli_contract(loaded_samples):
    loaded = loaded_samples["wine_classifier"]
    payload = summarize(loaded.model, loaded.sha256).to_json()
    assert list(payload) == ["sha256", "name", "task", "inputs", "outputs", "total_params",
                             "trainable_params", "token_input", "layers"]
    assert all(list(row) == ["name", "class_name", "output_shape", "params", "parent"]
               for row in payload["layers"])
    assert json.loads(json.dumps(payload)) == payload  # plain JSON values only
    assert payload["token_input"] is None  # set only for a model over token ids


def test_sha256_hex():
    assert sha256_hex(b"") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_missing_model_path(tmp_path):
    with pytest.raises(GlassboxError, match="no such model file: .*absent.keras"):
        load_model_path(tmp_path / "absent.keras")


# ---------------------------------------------------------------- tiny models


def tiny(head: keras.layers.Layer, *extra: keras.layers.Layer, width: int = 6) -> keras.Model:
    return keras.Sequential([keras.Input((width,)), keras.layers.Dense(5, name="hidden"),
                             head, *extra])


@pytest.mark.parametrize(("build", "task"), [
    (lambda: tiny(keras.layers.Dense(3, activation="softmax")), "multiclass"),
    (lambda: tiny(keras.layers.Dense(1, activation="sigmoid")), "binary"),
    (lambda: tiny(keras.layers.Dense(4, activation="sigmoid")), "multilabel"),
    (lambda: tiny(keras.layers.Dense(1)), "regression"),
    (lambda: tiny(keras.layers.Dense(3, activation="linear")), "regression"),
    (lambda: tiny(keras.layers.Dense(2, activation="relu")), "regression"),
    (lambda: tiny(keras.layers.Dense(3), keras.layers.Activation("softmax")), "multiclass"),
    (lambda: tiny(keras.layers.Dense(1), keras.layers.Activation("sigmoid")), "binary"),
    (lambda: tiny(keras.layers.Dense(3), keras.layers.Softmax()), "multiclass"),
], ids=["softmax3", "sigmoid1", "sigmoid4", "linear1", "linear3", "relu", "activation_softmax",
        "activation_sigmoid", "softmax_layer"])
def test_task_detection(build, task):
    assert detect_task(build()) == task


def test_task_of_a_model_ending_in_a_submodel():
    head = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="softmax")],
                            name="head")
    inp = keras.Input((6,))
    assert detect_task(keras.Model(inp, head(keras.layers.Dense(5)(inp)))) == "multiclass"


def test_resolve_task():
    for empty in (None, "", "auto"):
        assert resolve_task("binary", empty) == "binary"
    for task in TASKS:
        assert resolve_task("binary", task) == task
    with pytest.raises(ValueError, match="unknown task 'ranking'; expected one of multiclass, "
                                         "binary, multilabel, regression"):
        resolve_task("binary", "ranking")


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    """A Dense(3) on 4 inputs (4*3 + 3 = 15 parameters), saved as .keras and as .h5."""
    tmp = tmp_path_factory.mktemp("tiny")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="only")],
                             name="tiny")
    files = {}
    for suffix in (".keras", ".h5"):
        path = tmp / f"tiny{suffix}"
        model.save(path)
        files[suffix] = path.read_bytes()
    return files


@pytest.mark.parametrize(("suffix", "upload_name", "fmt"), [
    (".keras", "tiny.keras", "keras"), (".h5", "tiny.h5", "h5"), (".h5", "TINY.H5", "h5"),
    (".h5", "tiny.hdf5", "h5")])
def test_tiny_model_loads_with_exact_counts(tiny_files, suffix, upload_name, fmt):
    loaded = load_model_bytes(tiny_files[suffix], upload_name)
    summary = summarize(loaded.model, loaded.sha256)
    assert loaded.fmt == fmt and loaded.filename == upload_name
    assert summary.total_params == summary.trainable_params == 15
    assert [(r.name, r.class_name, r.output_shape, r.params) for r in summary.layers] == [
        ("only", "Dense", [None, 3], 15)]
    assert summary.inputs == [[None, 4]] and summary.task == "regression"


def test_h5_bytes_under_a_keras_name_still_load_as_h5(tiny_files):
    """The format is read from the bytes, not trusted from the file name."""
    assert load_model_bytes(tiny_files[".h5"], "tiny.keras").fmt == "h5"


def test_renamed_suffix_is_refused(tiny_files):
    with pytest.raises(BadModelFileError, match="'tiny.zip' is not a .keras or .h5 file"):
        load_model_bytes(tiny_files[".keras"], "tiny.zip")


# ---------------------------------------------------------------- workspace


def test_sample_bytes_bring_their_feature_names(sample_bundles, samples):
    wine = sample_bundles["wine_classifier"]
    assert wine.feature_names == samples["wine_classifier"].feature_names
    assert wine.feature_names[4] == "magnesium" and len(wine.feature_names) == 13
    assert wine.input_spec == InputSpec(shape=(13,), dtype="float32",
                                        feature_names=wine.feature_names)
    assert sample_bundles["digits_cnn"].input_spec.shape == (16, 16, 1)
    assert sample_bundles["digits_cnn"].input_spec.kind == "image"
    assert sample_bundles["sentiment_text"].input_spec.kind == "text"


def test_unknown_model_has_no_feature_names(tiny_files):
    bundle = open_model(tiny_files[".keras"], "tiny.keras")
    assert bundle.feature_names is None
    assert bundle.input_spec == InputSpec(shape=(4,), dtype="float32")
    named = open_model(tiny_files[".keras"], "tiny.keras", ("a", "b", "c", "d"))
    assert named.input_spec.feature_names == ("a", "b", "c", "d")


def test_multi_input_model_gets_a_data_error(tmp_path):
    a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    model.save(tmp_path / "two.keras")
    bundle = open_model((tmp_path / "two.keras").read_bytes(), "two.keras")
    ds = open_dataset(b"p,q\n1,2\n3,4\n", "d.csv", bundle)
    assert ds.x is None and not ds.ok
    assert ds.checks[-1].message == ("the model has 2 inputs; Glassbox reads data for "
                                     "single-input models only")


def test_a_file_name_with_a_newline_stays_on_one_line():
    from components.errors import BadModelFileError
    from components.model.load import check_model_bytes

    with pytest.raises(BadModelFileError) as caught:
        check_model_bytes(b"x", "evil\nerror: fake.txt")
    assert "\n" not in str(caught.value)
    assert str(caught.value) == "'evil\\nerror: fake.txt' is not a .keras or .h5 file"
