"""Image CNNs of real shape: a tiny MobileNet-style model, every method, and the budgets.

The 224x224 MobileNetV2 itself is measured by ``bench/image_models.py``; here a 32x32 model
with the same building blocks (strided conv, depthwise conv, batch norm, ReLU6, 1x1
projection, residual add) runs every method, and the counts LIME, SHAP, IG and SmoothGrad
choose from a model's cost are checked against fake costs.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest

from components.explain import local
from components.explain.methods import REGISTRY, budget, integrated_gradients, smoothgrad
from components.explain.methods.base import Subject
from components.model.predict import make_predict_fn

SHAPE = (32, 32, 3)


def mobilenet_style(classes: int = 4) -> keras.Model:
    """Conv stem, one inverted-residual block with a skip, a second block, GAP, softmax."""
    keras.utils.set_random_seed(3)
    layers = keras.layers
    inp = keras.Input(SHAPE)
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="stem")(inp)
    x = layers.ReLU(6.0)(layers.BatchNormalization()(x))

    def block(x, expand: int, out: int, stride: int, name: str):
        y = layers.Conv2D(expand, 1, use_bias=False, name=f"{name}_expand")(x)
        y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
        y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                                   name=f"{name}_dw")(y)
        y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
        y = layers.BatchNormalization()(layers.Conv2D(out, 1, use_bias=False,
                                                      name=f"{name}_project")(y))
        return layers.Add()([x, y]) if stride == 1 and out == x.shape[-1] else y

    x = block(x, 16, 8, 1, "b1")
    x = block(x, 24, 12, 2, "b2")
    x = layers.ReLU(6.0)(layers.Conv2D(32, 1, name="head_conv")(x))
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inp, out, name="tiny_mobilenet")


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return mobilenet_style()


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    low = rng.random((6, 8, 8, 3)).astype(np.float32)  # blocky images: SLIC finds segments
    return np.repeat(np.repeat(low, 4, axis=1), 4, axis=2) * 2 - 1


def subject_of(model, images, predict_fn=None) -> Subject:
    return Subject(x=images[:1], kind="image", predict_fn=predict_fn or make_predict_fn(model),
                   model=model, background=images[1:], task="multiclass")


class CountingPredict:
    """A predict_fn that counts the rows (images) it is asked about, optionally slow."""

    def __init__(self, predict_fn, seconds_per_row: float = 0.0) -> None:
        self.predict_fn, self.seconds_per_row, self.rows = predict_fn, seconds_per_row, 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.rows += len(x)
        if self.seconds_per_row:
            time.sleep(self.seconds_per_row * len(x))
        return self.predict_fn(x)


def test_every_method_runs_on_a_mobilenet_style_cnn(model, images):
    subject = subject_of(model, images)
    assert all(reason is None for reason in local.method_status(subject).values())
    explanation = local.explain_sample(subject, list(REGISTRY), seed=0)
    assert explanation.skipped == {}
    assert set(explanation.attributions) == set(REGISTRY)
    for name, attr in explanation.attributions.items():
        assert attr.values.shape == SHAPE, name
        assert np.isfinite(attr.values).all(), name
        assert np.abs(attr.values).sum() > 0, name  # not a blank map
    cam = explanation.attributions["gradcam"]
    assert cam.params["layer"] == "head_conv" and (cam.values >= 0).all()


def test_the_default_gradcam_shares_the_gradient_trace(model, images):
    """Saliency's compiled function also yields the last conv layer's Grad-CAM: the default
    Grad-CAM equals the one from its own function, and needs no trace of its own."""
    from components.explain.methods import gradients

    subject = subject_of(model, images)
    target = 1
    REGISTRY["saliency"].explain(subject, target)
    plan = gradients._plan(model)
    assert plan.cam_layer == "head_conv"
    traces = plan.grads.experimental_get_tracing_count()
    shared = REGISTRY["gradcam"].explain(subject, target).values[..., 0]
    assert plan.grads.experimental_get_tracing_count() == traces
    own = gradients._build_cam_fn(model, "head_conv")
    import tensorflow as tf

    alone = np.asarray(own(tf.constant(images[:1]), tf.constant(target, tf.int32)))[0]
    np.testing.assert_allclose(shared, alone, rtol=1e-4, atol=1e-6)


def test_shap_on_an_image_stays_within_500_model_rows_and_adds_up(model, images):
    counting = CountingPredict(make_predict_fn(model))
    subject = subject_of(model, images, counting)
    attr = REGISTRY["shap"].explain(subject, 2, seed=0)
    assert counting.rows <= 500, counting.rows
    assert attr.params["nsamples"] <= 464
    assert attr.extras["model_rows"] == attr.params["nsamples"] + 2
    assert attr.values.shape == SHAPE
    f_x = float(make_predict_fn(model)(images[:1])[0, 2])
    # Kernel SHAP is constrained to add up: base + sum(values) = f(x), to float rounding
    assert abs(attr.base_value + attr.values.sum() - f_x) <= 1e-5 * max(1.0, abs(f_x))


def test_lime_and_shap_take_fewer_samples_and_segments_from_a_slow_model(model, images):
    fast = CountingPredict(make_predict_fn(model))
    slow = CountingPredict(make_predict_fn(model), seconds_per_row=0.03)  # 30 ms an image
    for name, key in (("lime", "num_samples"), ("shap", "nsamples")):
        quick = REGISTRY[name].explain(subject_of(model, images, fast), 0, seed=0)
        costly = REGISTRY[name].explain(subject_of(model, images, slow), 0, seed=0)
        assert quick.params[key] >= 250, (name, quick.params)  # ~500 unless very busy
        assert costly.params[key] == 100, (name, costly.params)  # 2.5 s / 30 ms: the floor
        assert costly.params["n_segments"] == 20 < quick.params["n_segments"]
        assert costly.extras["chosen_from"]["seconds_per_image"] >= 0.03
        assert costly.extras["chosen_from"]["budget_s"] == budget.BLACKBOX_S
    explicit = REGISTRY["lime"].explain(subject_of(model, images, slow), 0, num_samples=60)
    assert explicit.params["num_samples"] == 60 and "chosen_from" not in explicit.extras


def test_ig_and_smoothgrad_take_fewer_rows_when_gradients_are_expensive(model, images,
                                                                        monkeypatch):
    subject = subject_of(model, images)
    assert REGISTRY["ig"].explain(subject, 0).params["steps"] == 64
    assert REGISTRY["smoothgrad"].explain(subject, 0).params["samples"] == 32
    # The same model against a budget it cannot meet: the floors, 8 each
    monkeypatch.setattr(integrated_gradients, "GRADIENT_S", 1e-9)
    monkeypatch.setattr(smoothgrad, "GRADIENT_S", 1e-9)
    ig = REGISTRY["ig"].explain(subject, 0)
    assert ig.params["steps"] == 8 and ig.extras["steps_used"] == 8  # no refinement either
    assert ig.extras["chosen_from"]["seconds_per_row"] > 0
    assert REGISTRY["smoothgrad"].explain(subject, 0).params["samples"] == 8
    assert REGISTRY["ig"].explain(subject, 0, steps=32).params["steps"] == 32


@pytest.mark.parametrize(("cost", "low", "high", "step", "expected"), [
    (0.025, 100, 500, 50, 100),    # MobileNetV2 forward on 2 busy cores: the floor
    (0.008, 100, 500, 50, 300),    # 312 affordable, down to a multiple of 50
    (0.0001, 100, 500, 50, 500),   # a toy model: the usual default
    (0.06, 8, 64, 0, 16),          # 1.2 s of 60 ms gradients: 20, down to a power of two
    (0.5, 8, 64, 0, 8),            # far over budget: the floor
    (0.0, 8, 64, 0, None),         # a cost must be positive
])
def test_affordable_counts_follow_the_cost(cost, low, high, step, expected):
    budget_s = 1.2 if step == 0 else 2.5
    if expected is None:
        with pytest.raises(ValueError, match="seconds_per_row"):
            budget.affordable(cost, budget_s, low, high, step)
        return
    assert budget.affordable(cost, budget_s, low, high, step) == expected


def test_segments_follow_the_samples():
    assert budget.segments_for(100) == 20
    assert budget.segments_for(30) == 8
    assert budget.segments_for(500) == 64


def test_row_seconds_times_a_warm_call_once_per_key_and_shape():
    calls = []

    def slow(x):
        calls.append(len(x))
        time.sleep(0.3 if len(calls) == 1 else 0.01)  # the first call "traces"

    class Key:
        pass

    key, x = Key(), np.zeros((1, 4))
    cost = budget.row_seconds(key, slow, x)
    assert 0.005 < cost < 0.2  # the warm call, not the tracing one
    timed = 1 + budget.TIMINGS  # one untimed call, then the fastest of TIMINGS
    assert budget.row_seconds(key, slow, x) == cost and calls == [1] * timed  # cached
    budget.row_seconds(key, slow, np.zeros((1, 5)))
    assert calls == [1] * (2 * timed)  # another shape is measured anew
