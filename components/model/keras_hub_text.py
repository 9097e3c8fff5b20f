"""A KerasHub text classifier as a Keras model that reads raw strings.

A KerasHub task such as `BertTextClassifier` takes the dict its preprocessor makes
(``token_ids``, ``padding_mask``, ``segment_ids``) and returns logits; the preprocessor, a
layer kept on ``model.preprocessor``, turns strings into that dict. `as_text_model` joins the
two into one functional model, string in and scores out, so the summary, the one predict path
and LIME/SHAP (which mask words of the raw text) see it like any string-input text model.

The scores are probabilities: a classifier whose head is linear (KerasHub's default: logits)
gets a last layer named ``probabilities``, a softmax over two or more classes or a sigmoid
on one unit, so its task is detected as multi-class (or binary) and the confidence shown is
a probability. A head that already applies softmax or sigmoid is left as it is.

keras_hub is never imported here: Keras imports it while loading a file that names its
classes, and only such a model reaches the code below.
"""

from __future__ import annotations

from typing import Any

PROBABILITIES = "probabilities"  # the name of the appended softmax/sigmoid layer
TEXT_INPUT = "text"


def is_keras_hub_model(model: Any) -> bool:
    """Whether ``model``'s class is one of KerasHub's (it was loaded from keras_hub)."""
    return type(model).__module__.split(".")[0] == "keras_hub"


def is_text_classifier(model: Any) -> bool:
    """A KerasHub task that classifies text and carries its preprocessor."""
    import sys

    keras_hub = sys.modules.get("keras_hub")
    if keras_hub is None or not is_keras_hub_model(model):
        return False
    return isinstance(model, keras_hub.models.TextClassifier) \
        and getattr(model, "preprocessor", None) is not None


def as_text_model(model: Any) -> Any:
    """``model`` itself, or for a KerasHub text classifier a string-input model around it:
    (N,) str -> preprocessor -> the classifier -> (N, k) probabilities (see the module)."""
    if not is_text_classifier(model):
        return model
    import keras  # deferred; already imported by whoever loaded the model

    text = keras.Input(shape=(), dtype="string", name=TEXT_INPUT)
    scores = model(model.preprocessor(text))
    activation = _head_activation(model)
    if activation not in ("softmax", "sigmoid"):
        units = int(scores.shape[-1])
        last = keras.layers.Softmax(name=PROBABILITIES) if units > 1 else \
            keras.layers.Activation("sigmoid", name=PROBABILITIES)
        scores = last(scores)
    return keras.Model(text, scores, name=model.name)


def _head_activation(model: Any) -> str | None:
    """The classifier's output activation by name ("linear" for logits), from its config."""
    act = model.get_config().get("activation")
    if isinstance(act, dict):  # serialised form {"class_name": "function", "config": name}
        act = act.get("config")
    return act if isinstance(act, str) else None


def task_model(model: Any) -> Any | None:
    """The KerasHub classifier inside a model made by `as_text_model`, else None."""
    for layer in getattr(model, "layers", ()):
        if is_text_classifier(layer):
            return layer
    return None


def rebuilt(model: Any) -> Any:
    """A copy of a model made by `as_text_model` whose classifier (backbone and head) is
    built anew from its config, so every learned weight is drawn from its initialiser
    (under Keras' global seed); the preprocessor is the same object: its vocabulary is data,
    not something training learned. Keras' `clone_model` cannot do this: it rebuilds the
    tokenizer from a config whose vocabulary lives in the file's assets."""
    task = task_model(model)
    backbone = type(task.backbone).from_config(task.backbone.get_config())
    fresh = type(task).from_config({**task.get_config(), "backbone": backbone,
                                    "preprocessor": task.preprocessor})
    return as_text_model(fresh)
