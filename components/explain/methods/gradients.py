"""The tape code every gradient method shares: one compiled gradient function per model.

`gradient_space(subject)` gives the point a method differentiates at and a batched gradient
function there: the input itself for tabular and image models; for text models, the output of
the `Embedding` layer (the token ids are integers, which have no gradient). A method builds
its batch (IG's path, SmoothGrad's noisy copies), calls `space.gradients(batch, target)` once
and reduces the result with `space.values(...)`: a float64 array shaped like the sample, or
for text one value per token (summed over the embedding dimension, padding dropped).

Text, one value per token: a token's gradient is a vector over the embedding dimension D, and
summing it is its derivative along the all-ones direction, which the embedding axes make
arbitrary (a model that averages its tokens gives every position the same gradient, so that
sum is the same for every token). What means something per token is the gradient's dot
product with the token's own embedding, g_t · e_t: the derivative of the output with respect
to a weight α_t on the token's embedding (e_t → α_t e_t) at α_t = 1, which is also Gradient ×
input summed over D. Saliency and SmoothGrad report that by default (``token_reduce="dot"``,
signed) or, on request, the gradient's L2 norm ||g_t|| (``"norm"``, a size only: >= 0).
Gradient × input and Integrated Gradients are always the dot product (a norm would break
IG's completeness).

Compiled functions are cached per model in a `weakref.WeakKeyDictionary` and only hold the
model through a weak reference, so a model that the app drops is freed with its functions.
TensorFlow and Keras are imported inside functions: importing this module stays cheap.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from components.explain.methods.base import Attribution, Stopwatch, Subject, merged_params
from components.explain.methods.budget import row_seconds
from components.explain.methods.embedding_output import EmbeddingOutput
from components.explain.methods.targets import check_target
from components.explain.methods.text_tokens import tokens_of, vectorizer_of
from components.model import heartbeat
from components.model.keras_hub_text import task_model
from components.model.predict import GraphSafeNames, first_output
from components.model.token_input import TokenInput, token_input_of

CHUNK = 256  # at most this many rows per compiled call
# ... and at most ~this many bytes of input: a 224x224x3 image goes 6 at a time, which keeps
# a MobileNet's backward pass within a few hundred MB (65 at once took ~6 GB and 5x longer).
CHUNK_BYTES = 4 * 2**20
CONV_LAYERS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")
TOKEN_REDUCES = ("dot", "norm")  # a text token's value from its gradient (module docstring)

# model -> _Plan (gradient functions) and model -> {conv layer name -> Grad-CAM function}.
_PLANS: weakref.WeakKeyDictionary[Any, _Plan] = weakref.WeakKeyDictionary()
_CAMS: weakref.WeakKeyDictionary[Any, dict[str, Callable]] = weakref.WeakKeyDictionary()


# ---------------------------------------------------------------------------------------------
# Which subjects the gradient methods can explain


def gradient_unavailable(subject: Subject, label: str, float_input: bool = True) -> str | None:
    """None if ``label``'s gradients can be taken for ``subject``, else one line why not.

    ``float_input``: the method differentiates w.r.t. the input itself (Grad-CAM does not).
    """
    model = subject.model
    if model is None:
        return (f"{label} needs the Keras model itself: gradient methods cannot work from "
                f"predictions alone")
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        return f"{label} needs a model with exactly one input; this one has {len(inputs)}"
    dtype = str(inputs[0].dtype)
    if subject.kind == "text" and getattr(subject, "codec", None) is not None:
        return _token_unavailable(model, label)
    if subject.kind == "text" and task_model(model) is not None:  # KerasHub: its own module
        from components.explain.methods import keras_hub_gradients

        return keras_hub_gradients.unavailable(model, label)
    if subject.kind == "text":
        return _text_unavailable(model, label)
    if "string" in dtype:
        return f"{label}: this model reads strings, but the sample is not text"
    if float_input and "float" not in dtype:
        return (f"{label} needs a float input to differentiate; this model's input is "
                f"{dtype}")
    return None


def _text_unavailable(model: Any, label: str) -> str | None:
    if "string" not in str(model.inputs[0].dtype):
        return (f"{label} on text needs the tokenizer inside the model (a string input "
                f"followed by TextVectorization and Embedding)")
    if vectorizer_of(model) is None:
        return f"{label} on text needs a TextVectorization layer inside the model"
    config = vectorizer_of(model).get_config()
    if config.get("output_mode", "int") != "int":
        return (f"{label} on text needs TextVectorization(output_mode='int') feeding an "
                f"Embedding layer")
    if config.get("ngrams"):
        return (f"{label} on text needs one embedding position per token; this "
                f"TextVectorization also emits n-grams")
    embedding = _embedding_of(model)
    if embedding is None:
        return (f"{label} on text needs an Embedding layer after the TextVectorization; "
                f"this model has none")
    if getattr(embedding, "mask_zero", False):
        return (f"{label} on text cannot use Embedding(mask_zero=True): gradients taken at "
                f"the embedding output would lose the padding mask")
    try:
        _plan(model)
    except Exception as exc:  # noqa: BLE001 - any build failure is a reason, on one line
        reason = " ".join(str(exc).split())[:200]
        return f"{label} cannot split this text model at its Embedding layer: {reason}"
    return None


def _token_unavailable(model: Any, label: str) -> str | None:
    if token_input_of(model) is None:
        return (f"{label} on token ids needs an integer input (N, L) feeding an Embedding "
                f"layer")
    try:
        _plan(model)
    except Exception as exc:  # noqa: BLE001 - any build failure is a reason, on one line
        reason = " ".join(str(exc).split())[:200]
        return f"{label} cannot take gradients at this model's Embedding output: {reason}"
    return None


def _embedding_of(model: Any) -> Any | None:
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ == "Embedding":
            return layer
    return None


def n_outputs(model: Any) -> int:
    """How many target indices the model's first output has (its trailing dims flattened)."""
    shape = tuple(model.outputs[0].shape[1:])
    if not shape:
        return 1
    if any(d is None for d in shape):
        raise ValueError(f"the model's output shape {tuple(model.outputs[0].shape)} is not "
                         f"fully known, so its targets cannot be counted")
    return int(np.prod(shape))


# ---------------------------------------------------------------------------------------------
# Compiled gradient functions, one plan per model


class _Plan:
    """A model's compiled functions: gradients of output[:, target], and (text) embedding.

    For an image model with conv layers the same function also returns the Grad-CAM map of
    the last one (``cam_layer``): one trace serves saliency, IG, SmoothGrad and the default
    Grad-CAM (tracing a 155-layer MobileNet's backward pass costs seconds; the map is free
    once the tape has run through the layer).
    """

    def __init__(self, model: Any) -> None:
        import tensorflow as tf

        ref = weakref.ref(model)
        self.text = "string" in str(model.inputs[0].dtype)
        if self.text:
            embedding = _embedding_of(model)
            if embedding is None:
                raise ValueError("the text model has no Embedding layer")
            prefix, suffix = split_at(model, embedding)
            _check_split(model, prefix, suffix)
            point = embedding.output

            def embed(s: Any) -> Any:
                with GraphSafeNames():
                    return prefix(s)

            self.embed = tf.function(embed, input_signature=[tf.TensorSpec([None], tf.string)],
                                     reduce_retracing=True)
            call = lambda a: (None, suffix(a))  # noqa: E731
            self.cam_layer = None
        else:
            point = model.inputs[0]
            self.embed = None
            names = conv_layers(model) if len(point.shape) == 4 else []
            self.cam_layer = names[-1] if names else None
            call = maps_and_output(model, self.cam_layer) if self.cam_layer else \
                (lambda x: (None, ref()(x, training=False)))
        self.dtype = tf.as_dtype(point.dtype)
        spec = tf.TensorSpec([None, *point.shape[1:]], self.dtype)

        def grads(x: Any, target: Any) -> tuple[Any, ...]:
            # GraphSafeNames: a layer named "sortie_é" or "出力" is not a valid TF scope name
            with GraphSafeNames(), tf.GradientTape() as tape:
                tape.watch(x)
                maps, out = call(x)
                y = tf.gather(_flat(first_output(out)), target, axis=1)
                total = tf.reduce_sum(y)  # rows are independent: d total / d x_n = d y_n / d x_n
            if maps is None:
                return y, tape.gradient(total, x)
            dx, dmaps = tape.gradient(total, [x, maps])
            return y, dx, cam_of(maps, dmaps, tf.shape(x)[1:3])

        self.grads = tf.function(grads, reduce_retracing=True,
                                 input_signature=[spec, tf.TensorSpec([], tf.int32)])

    def gradients(self, x: np.ndarray, target: int, chunk: int = CHUNK
                  ) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        x = np.asarray(x, dtype=self.dtype.as_numpy_dtype)
        t = tf.constant(target, tf.int32)
        ys, gs = [], []
        step = chunk_rows(x, chunk)
        for i in range(0, len(x), step):
            y, g = self.grads(tf.constant(x[i:i + step]), t)[:2]
            ys.append(np.asarray(y, dtype=np.float64))
            gs.append(np.asarray(g, dtype=np.float64))
            heartbeat.beat()
        return np.concatenate(ys), np.concatenate(gs)


def chunk_rows(x: np.ndarray, chunk: int = CHUNK) -> int:
    """Rows of ``x`` per compiled call: ``chunk`` (`CHUNK`), fewer for big samples
    (`CHUNK_BYTES`)."""
    row_bytes = max(1, int(np.prod(np.shape(x)[1:], dtype=np.int64)) * 4)
    return int(max(1, min(chunk, CHUNK_BYTES // row_bytes)))


def _is_sequential(model: Any) -> bool:
    return any(cls.__name__ == "Sequential" for cls in type(model).__mro__)


def split_at(model: Any, layer: Any) -> tuple[Callable, Callable]:
    """``model`` as head(x) -> ``layer``'s output and tail(that output) -> first output.

    A Sequential model is a chain: its layers are applied in order (a loaded Sequential's
    layers carry one graph node per rebuild, so ``layer.output`` may belong to a stale graph).
    A Functional model is cut with Keras 3's intermediate-tensor models; a graph where the
    output also depends on something other than ``layer``'s output raises ValueError.
    """
    import keras

    if _is_sequential(model):
        layers = list(model.layers)
        k = next(i for i, item in enumerate(layers) if item is layer)
        head_layers, tail_layers = layers[:k + 1], layers[k + 1:]

        def chain(items: list) -> Callable:
            def run(x: Any) -> Any:
                for item in items:
                    x = item(x, training=False)
                return x
            return run

        return chain(head_layers), chain(tail_layers)
    head = keras.Model(model.inputs, layer.output)
    tail = keras.Model(layer.output, first_output(model.outputs))
    return (lambda x: head(x, training=False)), (lambda a: tail(a, training=False))


def _check_split(model: Any, head: Callable, tail: Callable) -> None:
    """ValueError unless tail(head(text)) gives the model's own output on a probe text."""
    import tensorflow as tf

    probe = tf.constant(["the film was good", ""], tf.string)
    direct = np.asarray(_flat(first_output(model(probe, training=False))))
    split = np.asarray(_flat(first_output(tail(head(probe)))))
    if direct.shape != split.shape or not np.allclose(direct, split, rtol=1e-4, atol=1e-5):
        raise ValueError("the layers after the Embedding do not reproduce the model's output "
                         "from the embedding alone")


def _plan(model: Any) -> _Plan | _TokenPlan:
    plan = _PLANS.get(model)
    if plan is None:
        tokens = token_input_of(model)
        plan = _PLANS[model] = _TokenPlan(model, tokens) if tokens else _Plan(model)
    return plan


class _TokenPlan:
    """A token-id model's compiled functions: the Embedding output of ids (N, L), and the
    gradients of output[:, target] with respect to that output, the ids given alongside."""

    text = False

    def __init__(self, model: Any, tokens: TokenInput) -> None:
        import tensorflow as tf

        layer = model.get_layer(tokens.embedding)
        ids_spec = tf.TensorSpec([None, tokens.length], tf.int32)
        self.embed = tf.function(lambda ids: layer(ids), input_signature=[ids_spec])
        self.dtype = tf.as_dtype(layer.compute_dtype)
        point_spec = tf.TensorSpec([None, tokens.length, layer.output_dim], self.dtype)

        def grads(point: Any, ids: Any, target: Any) -> tuple[Any, Any]:
            with GraphSafeNames(), tf.GradientTape() as tape:
                tape.watch(point)
                with EmbeddingOutput(layer, point):
                    out = _flat(first_output(model(ids, training=False)))
                y = tf.gather(out, target, axis=1)
                total = tf.reduce_sum(y)
            return y, tape.gradient(total, point)

        self.grads = tf.function(grads, input_signature=[point_spec, ids_spec,
                                                         tf.TensorSpec([], tf.int32)])
        self._check(model, tokens)

    def _check(self, model: Any, tokens: TokenInput) -> None:
        """ValueError unless the model run on its own Embedding output gives its output."""
        import tensorflow as tf

        length = tokens.length or 8
        probe = np.zeros((2, length), dtype=np.int32)
        probe[0, :min(3, length)] = np.arange(1, min(3, length) + 1) % tokens.vocab_size
        direct = np.asarray(_flat(first_output(model(probe, training=False))))
        y, _ = self.grads(self.embed(tf.constant(probe)), tf.constant(probe),
                          tf.constant(0, tf.int32))
        if not np.allclose(direct[:, 0], np.asarray(y), rtol=1e-4, atol=1e-5):
            raise ValueError("the layers after the Embedding do not reproduce the model's "
                             "output from the embedding alone")

    def embed_ids(self, ids: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        ids = np.asarray(ids, dtype=np.int32)
        return np.concatenate([np.asarray(self.embed(tf.constant(ids[i:i + CHUNK])),
                                          dtype=np.float32)
                               for i in range(0, len(ids), CHUNK)]) if len(ids) else \
            np.zeros((0, *self.grads.input_signature[0].shape[1:]), np.float32)

    def gradients(self, x: np.ndarray, target: int, ids: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        if ids is None:
            raise ValueError("a token-id model's gradients need the ids beside the embedding")
        x = np.asarray(x, dtype=self.dtype.as_numpy_dtype)
        ids = np.broadcast_to(np.asarray(ids, dtype=np.int32), x.shape[:2])
        t = tf.constant(target, tf.int32)
        ys, gs = [], []
        for i in range(0, len(x), CHUNK):
            y, g = self.grads(tf.constant(x[i:i + CHUNK]), tf.constant(ids[i:i + CHUNK]), t)
            ys.append(np.asarray(y, dtype=np.float64))
            gs.append(np.asarray(g, dtype=np.float64))
        return np.concatenate(ys), np.concatenate(gs)


def _flat(out: Any) -> Any:
    """The output as (N, k): a (N,) output is one column, trailing dims are flattened."""
    import tensorflow as tf

    out = tf.cast(out, tf.float32)
    if out.shape.rank == 1:
        return out[:, None]
    if out.shape.rank > 2:
        return tf.reshape(out, [tf.shape(out)[0], -1])
    return out


def input_gradients(model: Any, x: np.ndarray, target: int, ids: np.ndarray | None = None,
                    chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Output[:, target] (N,) and its gradient w.r.t. ``x`` (N, ...), float64, chunked.

    For a token-id model ``x`` is the Embedding output (N, L, D) and ``ids`` (N, L) or (1, L)
    the ids it came from (they carry the padding mask). ``chunk``: at most this many rows
    per compiled call of a tabular or image model (the batch job passes more than the
    one-sample methods' `CHUNK`: its rows are many and small)."""
    if task_model(model) is not None:  # KerasHub: its token embeddings, ids alongside
        from components.explain.methods import keras_hub_gradients

        return keras_hub_gradients.plan_of(model).gradients(x, target, ids)
    plan = _plan(model)
    if isinstance(plan, _TokenPlan):
        return plan.gradients(x, target, ids)
    return plan.gradients(x, target, chunk)


def embed_ids(model: Any, ids: np.ndarray) -> np.ndarray:
    """A token-id model's Embedding output for ids (N, L): (N, L, D) float32."""
    plan = _plan(model)
    if not isinstance(plan, _TokenPlan):
        raise ValueError("the model does not read token ids")
    return plan.embed_ids(ids)


def embed_texts(model: Any, texts: np.ndarray) -> np.ndarray:
    """A text model's Embedding output for an object array of str: (N, length, dim)."""
    import tensorflow as tf

    plan = _plan(model)
    if not getattr(plan, "text", False):
        raise ValueError("the model does not read text")
    strings = np.asarray(texts, dtype=object).reshape(-1)
    return np.asarray(plan.embed(tf.constant(strings, tf.string)), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The space a method differentiates in


@dataclass(frozen=True)
class GradientSpace:
    """Where a method differentiates for one subject, and how to report the result.

    ``point`` is (1, ...) float32: the input for tabular and image models, the Embedding
    output (1, length, dim) for text. ``tokens`` (text only) are the tokens of the sample as
    `tokens_of` splits them; position i of the embedding is token i, unless ``positions``
    (token-id models: (n_tokens,) int) says where each token sits. ``ids`` (1, L) are a
    token-id model's ids, which its gradients need beside the embedding.
    """

    model: Any
    point: np.ndarray
    kind: str
    tokens: tuple[str, ...] | None
    feature_names: tuple[str, ...] | None
    ids: np.ndarray | None = None
    positions: np.ndarray | None = None

    @property
    def n_outputs(self) -> int:
        return n_outputs(self.model)

    def gradients(self, batch: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
        """Output[:, target] (N,) and d output / d point (N, ...) at every row of ``batch``."""
        return input_gradients(self.model, batch, target, ids=self.ids)

    def values(self, per_element: np.ndarray, norm: bool = False) -> np.ndarray:
        """One sample's attribution (shaped like ``point[0]``) in the shape of the sample:
        text sums over the embedding dimension (``norm``: the L2 norm over it) and keeps the
        real tokens' positions."""
        per_element = np.asarray(per_element, dtype=np.float64)
        if self.kind == "text":
            per_token = np.sqrt((per_element ** 2).sum(axis=-1)) if norm else \
                per_element.sum(axis=-1)
            if self.positions is not None:
                return np.ascontiguousarray(per_token[self.positions])
            return np.ascontiguousarray(per_token[:len(self.tokens or ())])
        return per_element.reshape(self.point.shape[1:])

    def padding_sum(self, per_element: np.ndarray) -> float:
        """Text: the part of the attribution that falls on padding positions (else 0)."""
        if self.kind != "text":
            return 0.0
        per_token = np.asarray(per_element, dtype=np.float64).sum(axis=-1)
        if self.positions is not None:
            return float(per_token.sum() - per_token[self.positions].sum())
        return float(per_token[len(self.tokens or ()):].sum())


def gradient_space(subject: Subject, label: str) -> GradientSpace:
    """The `GradientSpace` for ``subject``; ValueError with the `unavailable` reason if none."""
    reason = gradient_unavailable(subject, label)
    if reason:
        raise ValueError(reason)
    model = subject.model
    codec = getattr(subject, "codec", None)
    if subject.kind == "text" and codec is not None:
        text = str(subject.sample)
        ids = codec.encode([text])
        tokens = codec.tokens(text)
        return GradientSpace(model, embed_ids(model, ids), "text", tokens, tokens, ids=ids,
                             positions=codec.positions(text))
    if subject.kind == "text" and task_model(model) is not None:
        from components.explain.methods import keras_hub_gradients

        return keras_hub_gradients.word_space(subject, label)  # per word, at token embeddings
    if subject.kind == "text":
        sample = subject.sample
        text = sample.decode("utf-8", "replace") if isinstance(sample, bytes) else str(sample)
        point = embed_texts(model, np.array([text], dtype=object))
        tokens = tokens_of(model, text)[:point.shape[1]]
        return GradientSpace(model, point, "text", tokens, tokens)
    point = np.asarray(subject.x, dtype=np.float32)
    names = subject.feature_names if subject.kind == "tabular" else None
    return GradientSpace(model, point, subject.kind, None, names)


def gradient_cost(space: GradientSpace, target: int, budget_s: float) -> dict[str, float]:
    """What a gradient row of ``space`` costs (measured once per model and shape) and the
    budget a count is chosen for: ``{"seconds_per_row", "budget_s"}``."""
    cost = row_seconds(space.model, lambda b: space.gradients(b, target), space.point)
    return {"seconds_per_row": round(cost, 9), "budget_s": budget_s}


def value_range(point: np.ndarray) -> float:
    """max - min of one sample (1.0 if it is constant), the scale for noise."""
    span = float(np.max(point) - np.min(point)) if point.size else 0.0
    return span if span > 0 and np.isfinite(span) else 1.0


def finite(values: np.ndarray, method: str) -> np.ndarray:
    """``values`` as float64, or ValueError if the gradients came out NaN or infinite."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{method}: the model's gradients are not finite for this sample")
    return values


# ---------------------------------------------------------------------------------------------
# Grad-CAM


def conv_layers(model: Any) -> list[str]:
    """Names of the model's top-level convolution layers with a 4-D output, in order."""
    names = []
    for layer in getattr(model, "layers", []):
        if not any(cls.__name__ in CONV_LAYERS for cls in type(layer).__mro__):
            continue
        try:
            rank = len(layer.output.shape)
        except (AttributeError, ValueError):  # never called, or called more than once
            continue
        if rank == 4:
            names.append(layer.name)
    return names


def gradcam_maps(model: Any, x: np.ndarray, target: int, layer: str) -> np.ndarray:
    """Grad-CAM of ``layer`` for each image of ``x`` (N, h, w, c): (N, h, w) float64, >= 0.

    weights = mean over space of d output[target] / d A; cam = relu(sum_c w_c A_c), resized
    bilinearly to the input's h x w.
    """
    import tensorflow as tf

    fn = _cam_fn(model, layer)
    dtype = tf.as_dtype(model.inputs[0].dtype)
    x = np.asarray(x, dtype=dtype.as_numpy_dtype)
    t = tf.constant(target, tf.int32)
    maps, step = [], chunk_rows(x)
    for i in range(0, len(x), step):
        maps.append(np.asarray(fn(tf.constant(x[i:i + step]), t), dtype=np.float64))
        heartbeat.beat()
    return np.concatenate(maps)


def _cam_fn(model: Any, layer: str) -> Callable:
    plan = _plan(model)
    if getattr(plan, "cam_layer", None) == layer:  # the gradient plan's own trace
        return lambda x, t: plan.grads(x, t)[2]
    per_model = _CAMS.get(model)
    if per_model is None:
        per_model = _CAMS[model] = {}
    if layer not in per_model:
        per_model[layer] = _build_cam_fn(model, layer)
    return per_model[layer]


def maps_and_output(model: Any, layer: str) -> Callable:
    """x -> (``layer``'s output, the model's output), in one forward pass."""
    import keras

    conv = model.get_layer(layer)
    if _is_sequential(model):
        head, tail = split_at(model, conv)
        return lambda x: (lambda a: (a, tail(a)))(head(x))
    # intermediate outputs keep any branches around the layer intact
    both = keras.Model(model.inputs, [conv.output, first_output(model.outputs)])
    return lambda x: both(x, training=False)


def cam_of(maps: Any, grads: Any, size: Any) -> Any:
    """Grad-CAM from a conv layer's maps (N, h', w', C) and d output / d maps, resized to
    ``size`` (h, w): (N, h, w). NaN if the output does not depend on the maps."""
    import tensorflow as tf

    maps = tf.cast(maps, tf.float32)
    if grads is None:  # caught by `finite`, named by the Grad-CAM explainer
        return tf.fill([tf.shape(maps)[0], size[0], size[1]], float("nan"))
    weights = tf.reduce_mean(tf.cast(grads, tf.float32), axis=(1, 2), keepdims=True)
    heat = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
    return tf.image.resize(heat, size, method="bilinear")[..., 0]


def _build_cam_fn(model: Any, layer: str) -> Callable:
    import tensorflow as tf

    forward = maps_and_output(model, layer)
    inp = model.inputs[0]
    spec = tf.TensorSpec([None, *inp.shape[1:]], tf.as_dtype(inp.dtype))

    def cam(x: Any, target: Any) -> Any:
        with GraphSafeNames(), tf.GradientTape() as tape:
            maps, out = forward(x)
            total = tf.reduce_sum(tf.gather(_flat(first_output(out)), target, axis=1))
        grads = tape.gradient(total, maps)
        if grads is None:
            raise ValueError(f"gradcam: the output does not depend on layer {layer!r}")
        return cam_of(maps, grads, tf.shape(x)[1:3])

    return tf.function(cam, reduce_retracing=True,
                       input_signature=[spec, tf.TensorSpec([], tf.int32)])


# ---------------------------------------------------------------------------------------------
# What the gradient explainers share


class GradientExplainer:
    """Base of the gradient methods: subclasses set name, label, defaults and `explain`."""

    name = ""
    label = ""
    family = "gradient"
    signed = True
    defaults: dict[str, Any] = {}

    def unavailable(self, subject: Subject) -> str | None:
        return gradient_unavailable(subject, self.label)

    def choices(self, subject: Subject) -> dict[str, list]:
        """The picker's options: ``token_reduce`` for text; ``[]`` (not offered) otherwise."""
        if "token_reduce" not in self.defaults:
            return {}
        return {"token_reduce": list(TOKEN_REDUCES) if subject.kind == "text" else []}

    def __repr__(self) -> str:
        return f"<{self.label} explainer>"

    def single_pass(self, subject: Subject, target: int, seed: int, params: dict[str, Any],
                    times_input: bool) -> Attribution:
        """One gradient at the sample: the gradient itself (saliency; for text reduced per
        token as ``token_reduce`` says) or, with ``times_input``, the gradient times the
        input (gradient x input)."""
        p = merged_params(self.defaults, params, self.name)
        reduce = token_reduce(p, subject, self.name)
        with Stopwatch() as sw:
            space = gradient_space(subject, self.label)
            target = check_target(target, space.n_outputs)
            _, grads = space.gradients(space.point, target)
            values = finite(token_values(space, grads[0], "dot" if times_input else reduce),
                            self.name)
        return Attribution(values=values, method=self.name, target=target,
                           params={**applicable(p, subject), "seed": seed},
                           seconds=sw.seconds, feature_names=space.feature_names)


def token_reduce(params: dict[str, Any], subject: Subject, method: str) -> str | None:
    """``params["token_reduce"]`` checked, for a text subject; None for other kinds (or a
    method without the parameter): their gradients are reported element by element."""
    if subject.kind != "text" or "token_reduce" not in params:
        return None
    value = params["token_reduce"]
    if value not in TOKEN_REDUCES:
        raise ValueError(f"{method}: token_reduce must be one of {', '.join(TOKEN_REDUCES)}, "
                         f"got {value!r}")
    return str(value)


def applicable(params: dict[str, Any], subject: Subject) -> dict[str, Any]:
    """The parameters that shaped the result: ``token_reduce`` only for text (elsewhere it
    is ignored, and a tabular or image result should not claim it)."""
    if subject.kind == "text":
        return dict(params)
    return {k: v for k, v in params.items() if k != "token_reduce"}


def token_values(space: Any, gradient: np.ndarray, reduce: str | None) -> np.ndarray:
    """One sample's values from its gradient (shaped like ``space.point[0]``).

    "dot": the gradient times the input (text: times the embedding and summed over its
    dimension, g_t · e_t per token); "norm" (text): ||g_t||_2 per token; None: the gradient
    itself (tabular and image saliency).
    """
    if reduce == "norm":
        return space.values(gradient, norm=True)
    if reduce == "dot":
        return space.values(gradient * space.point[0])
    return space.values(gradient)
