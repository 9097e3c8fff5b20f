"""The gradient methods on tiny models with known answers, and on two bundled samples."""

from __future__ import annotations

import numpy as np
import pytest

from components.explain.methods import (
    grad_x_input,
    gradcam,
    gradients,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from components.explain.methods.base import Subject
from components.explain.methods.text_tokens import tokens_of
from components.model.predict import make_predict_fn
from components.model.samples import get_sample

SAL, GXI, IG, SG, CAM = (m.EXPLAINER for m in (saliency, grad_x_input, integrated_gradients,
                                               smoothgrad, gradcam))
INPUT_METHODS = (SAL, GXI, IG, SG)
NAMES = ("a", "b", "c", "d")


def _tabular(model, row, background=None) -> Subject:
    return Subject(x=np.array([row], dtype="float32"), kind="tabular",
                   predict_fn=make_predict_fn(model), model=model, background=background,
                   feature_names=NAMES, task="multiclass")


def _text(model, text: str) -> Subject:
    return Subject(x=np.array([text], dtype=object), kind="text",
                   predict_fn=make_predict_fn(model), model=model, task="binary")


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def linear(keras):
    """Dense(3) on 4 inputs with known weights."""
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(4, 3)).astype("float32")
    bias = rng.normal(size=3).astype("float32")
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(3)(inp))
    model.layers[-1].set_weights([kernel, bias])
    return model, kernel


@pytest.fixture(scope="module")
def mlp(keras):
    keras.utils.set_random_seed(3)
    inp = keras.Input((4,))
    hidden = keras.layers.Dense(16, activation="tanh")(inp)
    hidden = keras.layers.Dense(8, activation="relu")(hidden)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(hidden))


@pytest.fixture(scope="module")
def patch_cnn(keras):
    """Conv (positive 3x3 kernel, relu) -> global average -> Dense(2) with weights +1 / -1:
    class 0 rises with the image's brightness, class 1 falls."""
    inp = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="bright")
    pooled = keras.layers.GlobalAveragePooling2D()(conv(inp))
    dense = keras.layers.Dense(2)
    model = keras.Model(inp, dense(pooled))
    conv.set_weights([np.full((3, 3, 3, 2), 1 / 27, "float32"), np.zeros(2, "float32")])
    dense.set_weights([np.array([[1.0, -1.0], [1.0, -1.0]], "float32"), np.zeros(2, "float32")])
    return model


@pytest.fixture(scope="module")
def digits(keras):
    sample = get_sample("digits_cnn")
    model = keras.saving.load_model(sample.model_path, safe_mode=True, compile=False)
    images = np.load(sample.data_path)["x"][:20].astype("float32")
    return model, images


@pytest.fixture(scope="module")
def sentiment(keras):
    path = get_sample("sentiment_text").model_path
    return keras.saving.load_model(path, safe_mode=True, compile=False)


# --- exact answers on linear models -----------------------------------------------------------


@pytest.mark.parametrize("target", [0, 2])
def test_saliency_of_a_linear_model_is_its_kernel_column(linear, target):
    model, kernel = linear
    row = [0.5, -1.0, 2.0, 3.0]
    out = SAL.explain(_tabular(model, row), target)
    assert out.values.dtype == np.float64 and out.values.shape == (4,)
    np.testing.assert_allclose(out.values, kernel[:, target], rtol=1e-5)
    assert out.feature_names == NAMES and out.method == "saliency" and out.target == target
    gxi = GXI.explain(_tabular(model, row), target)
    np.testing.assert_allclose(gxi.values, kernel[:, target] * np.array(row), rtol=1e-5)


def test_first_output_and_vector_outputs(keras, linear):
    _, kernel = linear
    inp = keras.Input((4,))
    first = keras.layers.Dense(3, name="first")
    second = keras.layers.Dense(1, name="second")
    two = keras.Model(inp, [first(inp), second(inp)])
    first.set_weights([kernel, np.zeros(3, "float32")])
    np.testing.assert_allclose(SAL.explain(_tabular(two, [1, 2, 3, 4]), 1).values,
                               kernel[:, 1], rtol=1e-5)
    # a (N,) output: one target, 0
    flat = keras.Model(inp, keras.ops.squeeze(first(inp)[:, 2:], axis=-1))
    np.testing.assert_allclose(SAL.explain(_tabular(flat, [1, 2, 3, 4]), 0).values,
                               kernel[:, 2], rtol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        SAL.explain(_tabular(flat, [1, 2, 3, 4]), 1)


# --- Integrated Gradients ----------------------------------------------------------------------


def test_ig_completeness_on_a_nonlinear_mlp(mlp):
    rng = np.random.default_rng(0)
    background = rng.normal(size=(50, 4)).astype("float32")
    rows = rng.normal(size=(12, 4)).astype("float32") * 2
    predict = make_predict_fn(mlp)
    f_0 = predict(np.zeros((1, 4), "float32"))[0, 1]
    # rows whose output moves: when f(x) ~ f(0) the relative gap measures nothing
    rows = [row for row in rows if abs(predict(row[None])[0, 1] - f_0) > 0.02][:3]
    assert len(rows) == 3
    for row in rows:
        subject = _tabular(mlp, row, background)
        out = IG.explain(subject, 1)
        f_x = subject.predict_fn(subject.x)[0, 1]
        assert out.values.sum() == pytest.approx(f_x - f_0, rel=0.01, abs=1e-6)
        assert out.extras["completeness_error"] < 0.01
        assert out.extras["baseline"] == "zeros" and out.params["steps"] == 64
        mean = IG.explain(subject, 1, baseline="mean", steps=32)
        f_m = subject.predict_fn(background.mean(axis=0, keepdims=True))[0, 1]
        assert mean.values.sum() == pytest.approx(f_x - f_m, rel=0.01, abs=1e-6)
        assert mean.extras["baseline"] == "mean"


def test_ig_on_the_digits_cnn(digits):
    model, images = digits
    subject = Subject(x=images[:1], kind="image", predict_fn=make_predict_fn(model),
                      model=model, background=images)
    target = int(np.argmax(subject.predict_fn(subject.x)[0]))
    out = IG.explain(subject, target)
    assert out.values.shape == (16, 16, 1) and out.feature_names is None
    assert np.all(np.isfinite(out.values))
    assert out.extras["completeness_error"] < 0.01
    delta = out.extras["output"] - out.extras["baseline_output"]
    assert out.values.sum() == pytest.approx(delta, rel=0.01)
    blurred = IG.explain(subject, target, baseline="blur", steps=16)
    assert blurred.extras["baseline"] == "blur" and np.all(np.isfinite(blurred.values))
    assert IG.explain(subject, target, baseline=0.5, steps=8).extras["baseline"] == 0.5


def test_ig_rejects_bad_parameters(mlp):
    subject = _tabular(mlp, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="blur"):
        IG.explain(subject, 0, baseline="blur")
    with pytest.raises(ValueError, match="background"):
        IG.explain(subject, 0, baseline="mean")
    with pytest.raises(ValueError, match="steps"):
        IG.explain(subject, 0, steps=0)
    with pytest.raises(ValueError, match="unknown parameter"):
        IG.explain(subject, 0, stepz=3)


# --- SmoothGrad --------------------------------------------------------------------------------


def test_smoothgrad_is_seeded(mlp):
    subject = _tabular(mlp, [0.3, -0.2, 1.0, 0.5], np.eye(4, dtype="float32"))
    first = SG.explain(subject, 0, seed=7, samples=16)
    again = SG.explain(subject, 0, seed=7, samples=16)
    other = SG.explain(subject, 0, seed=8, samples=16)
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other.values)
    assert first.params == {"samples": 16, "noise": 0.1, "seed": 7}
    # no noise: the mean of identical gradients is the saliency
    plain = SG.explain(subject, 0, noise=0.0, samples=4)
    np.testing.assert_allclose(plain.values, SAL.explain(subject, 0).values, rtol=1e-6)


# --- Grad-CAM ----------------------------------------------------------------------------------


@pytest.mark.parametrize("quadrant", [(0, 0), (1, 1), (0, 1)])
def test_gradcam_finds_the_bright_patch(patch_cnn, quadrant):
    image = np.zeros((1, 8, 8, 3), "float32")
    r, c = 4 * quadrant[0] + 1, 4 * quadrant[1] + 1
    image[0, r:r + 2, c:c + 2, :] = 1.0
    subject = Subject(x=image, kind="image", predict_fn=make_predict_fn(patch_cnn),
                      model=patch_cnn)
    assert CAM.unavailable(subject) is None
    out = CAM.explain(subject, 0)
    assert out.values.shape == (8, 8, 3) and out.params["layer"] == "bright"
    np.testing.assert_array_equal(out.values[..., 0], out.values[..., 2])
    row, col = np.unravel_index(np.argmax(out.values[..., 0]), (8, 8))
    assert (row // 4, col // 4) == quadrant
    assert out.values.min() >= 0
    # class 1 falls with brightness: every weight is negative, relu leaves nothing
    assert np.all(CAM.explain(subject, 1).values == 0)
    with pytest.raises(ValueError, match="bright"):
        CAM.explain(subject, 0, layer="nope")


def test_gradcam_on_the_digits_sample(digits):
    model, images = digits
    subject = Subject(x=images[:1], kind="image", predict_fn=make_predict_fn(model),
                      model=model)
    out = CAM.explain(subject, 3)
    assert out.params["layer"] == "conv2" and out.values.shape == (16, 16, 1)
    assert np.all(np.isfinite(out.values)) and out.values.min() >= 0
    assert CAM.explain(subject, 3, layer="conv1").extras["layer"] == "conv1"
    with pytest.raises(ValueError, match="conv1, conv2"):
        CAM.explain(subject, 3, layer="digit")


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, word, sign", [("the film was excellent", "excellent", 1),
                                              ("the plot was awful", "awful", -1)])
def test_text_gives_one_value_per_token(sentiment, text, word, sign):
    subject = _text(sentiment, text)
    tokens = tokens_of(sentiment, text)
    for method in INPUT_METHODS:
        out = method.explain(subject, 0)
        assert out.feature_names == tokens
        assert out.values.shape == (len(tokens),) and np.all(np.isfinite(out.values))
    ig = IG.explain(subject, 0)
    strongest = int(np.argmax(np.abs(ig.values)))
    assert tokens[strongest] == word and np.sign(ig.values[strongest]) == sign
    # completeness holds over every position, padding included; padding's share is reported
    assert ig.extras["completeness_error"] < 0.01
    padding = ig.extras["padding_attribution"]
    delta = ig.extras["output"] - ig.extras["baseline_output"]
    assert ig.values.sum() + padding == pytest.approx(delta, rel=0.01)
    with pytest.raises(ValueError, match="text"):
        IG.explain(subject, 0, baseline="mean")


def test_text_model_without_embedding(keras):
    vec = keras.layers.TextVectorization(max_tokens=10, output_mode="count")
    vec.adapt(["good film", "bad film"])
    inp = keras.Input((), dtype="string")
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(vec(inp)))
    subject = _text(model, "good film")
    for method in INPUT_METHODS:
        reason = method.unavailable(subject)
        assert reason and "\n" not in reason
    with pytest.raises(ValueError, match="Embedding"):
        SAL.explain(subject, 0)


# --- availability, determinism, caching, JSON ------------------------------------------------


def test_unavailable_reasons(keras, linear):
    model, _ = linear
    tabular = _tabular(model, [1, 2, 3, 4])
    for method in INPUT_METHODS:
        assert method.unavailable(tabular) is None
    assert "images only" in CAM.unavailable(tabular)
    no_model = Subject(x=tabular.x, kind="tabular", predict_fn=tabular.predict_fn)
    no_model_image = Subject(x=np.zeros((1, 4, 4, 1), "float32"), kind="image",
                             predict_fn=tabular.predict_fn)
    for method in (*INPUT_METHODS, CAM):
        subject = no_model_image if method is CAM else no_model
        reason = method.unavailable(subject)
        assert reason and "model" in reason and "\n" not in reason
        assert method.family == "gradient"
        with pytest.raises(ValueError, match="model"):
            method.explain(subject, 0)
    inp = keras.Input((4, 4, 1))
    dense = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(inp)))
    image = Subject(x=np.zeros((1, 4, 4, 1), "float32"), kind="image",
                    predict_fn=make_predict_fn(dense), model=dense)
    assert "no Conv2D layer" in CAM.unavailable(image)
    assert SAL.unavailable(image) is None


def test_deterministic_and_compiled_once(mlp):
    subject = _tabular(mlp, [0.2, 0.4, -0.6, 0.8], np.eye(4, dtype="float32"))
    first = [m.explain(subject, 2).values for m in INPUT_METHODS]
    second = [m.explain(subject, 2).values for m in INPUT_METHODS]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    # batches of 1, 33 and 65 rows and another target: still one trace
    assert gradients._plan(mlp).grads.experimental_get_tracing_count() == 1
    IG.explain(subject, 0, steps=300)
    assert gradients._plan(mlp).grads.experimental_get_tracing_count() == 1


def test_attribution_to_json(mlp):
    out = IG.explain(_tabular(mlp, [0.2, 0.4, -0.6, 0.8]), 0, seed=5)
    data = out.to_json()
    assert data["method"] == "ig" and len(data["values"]) == 4
    assert data["params"] == {"steps": 64, "baseline": "zeros", "seed": 5}
    assert isinstance(data["completeness_error"], float)
    assert data["feature_names"] == list(NAMES)
