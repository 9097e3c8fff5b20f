"""The one compiled predict path: a model's forward pass, batched, as float32 numpy.

Every page that needs predictions goes through `make_predict_fn`, so evaluation, explanations
and plots all see the same numbers. TensorFlow is imported inside the function: importing
this module stays cheap.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

from components.model import heartbeat

PredictFn = Callable[[np.ndarray], np.ndarray]

# The automatic batch holds about this many bytes of input, within MIN..MAX rows. Each call
# into TensorFlow costs ~0.5 ms however small the batch, so LIME and SHAP's thousands of
# tiny rows go in big batches (a 13-feature row: 4,096 per call, 8x faster than 256), while
# a 224x224x3 image goes 8 at a time: MobileNetV2 predicts 24 ms an image at 8, 44 at 32
# (its activations no longer fit the CPU's caches), and each batch is a heartbeat.
BATCH_INPUT_BYTES = 4 * 2**20
MIN_BATCH, MAX_BATCH = 8, 4096
TEXT_BATCH = 1024  # a string's size is unknown until it is tokenized
UNKNOWN_DIM = 64   # a None axis other than the batch (e.g. a variable sequence length)

_PREDICT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_fn_of(model: Any) -> PredictFn:
    """The model's one compiled, batched predict function, made once per model object."""
    fn = _PREDICT.get(model)
    if fn is None:
        fn = _PREDICT[model] = make_predict_fn(model)
    return fn


def scores_of(model: Any, x: np.ndarray) -> np.ndarray:
    """The model's first output for every row: (N, ...) in, (N, k) float32 out."""
    return predict_fn_of(model)(x)


def auto_batch_size(model: Any) -> int:
    """Rows per call for ``model``: `BATCH_INPUT_BYTES` of its first input, clipped to
    [`MIN_BATCH`, `MAX_BATCH`]; `TEXT_BATCH` for a string input."""
    if _is_string_input(model):
        return TEXT_BATCH
    dims = [UNKNOWN_DIM if d is None else int(d) for d in model.inputs[0].shape[1:]]
    row_bytes = max(1, int(np.prod(dims))) * np.dtype(str(model.inputs[0].dtype)).itemsize
    return int(np.clip(BATCH_INPUT_BYTES // row_bytes, MIN_BATCH, MAX_BATCH))


def make_predict_fn(model: Any, batch_size: int | None = None) -> PredictFn:
    """Wrap ``model`` in one `tf.function`; the returned fn maps inputs (N, ...) to (N, k).

    Inputs are float arrays (tabular (N, f), images (N, h, w, c)) or, for a model whose input
    is a string tensor, an object array of N str. The output is the model's first output as
    float32, at least 2-D: a (N,) output comes back as (N, 1). N=0 gives (0, k) without
    running the model. ``batch_size`` rows go through per call (None: `auto_batch_size`).
    """
    if batch_size is None:
        batch_size = auto_batch_size(model)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    import tensorflow as tf  # deferred: ~4 s; only once a page actually predicts

    # Built once per returned fn. reduce_retracing generalises the batch axis after the first
    # new shape, so a short last batch costs one retrace, not one per distinct N.
    def call(x: Any) -> Any:
        with GraphSafeNames():  # layer names such as "sortie_é" or "出力" trace too
            return model(x, training=False)

    forward = tf.function(call, reduce_retracing=True)
    # One input dtype for every call: float64 or uint8 arrays would otherwise trace anew.
    in_dtype = tf.string if _is_string_input(model) else tf.as_dtype(model.inputs[0].dtype)
    np_dtype = object if in_dtype == tf.string else in_dtype.as_numpy_dtype
    out_shape = _output_shape(model)

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np_dtype)
        if len(x) == 0:
            return np.zeros((0, *out_shape), dtype=np.float32)
        parts = []
        for i in range(0, len(x), batch_size):
            out = first_output(forward(tf.constant(x[i:i + batch_size], dtype=in_dtype)))
            parts.append(np.asarray(out, dtype=np.float32))
            heartbeat.beat()  # a worker's time limit counts from the last finished batch
        out = np.concatenate(parts)
        return out.reshape(len(out), 1) if out.ndim == 1 else out

    predict.tf_function = forward  # type: ignore[attr-defined]  # lets tests count traces
    return predict


def _is_string_input(model: Any) -> bool:
    return "string" in str(model.inputs[0].dtype)


def _output_shape(model: Any) -> tuple[int, ...]:
    """The first output without the batch axis; unknown dims count as 0 (only N=0 uses it)."""
    shape = tuple(model.outputs[0].shape[1:]) or (1,)
    return tuple(0 if d is None else int(d) for d in shape)


def first_output(out: Any) -> Any:
    """A multi-output model returns a list or dict; Glassbox reads its first output."""
    if isinstance(out, dict):
        return next(iter(out.values()))
    if isinstance(out, (list, tuple)):
        return out[0]
    return out


# ---------------------------------------------------------------------------------------------
# Layer names that TensorFlow graphs refuse
#
# Keras 3 (TensorFlow backend) opens ``tf.name_scope(layer.name)`` around every layer call. In
# eager mode the name is not checked, but while a `tf.function` traces, `tf.Graph.name_scope`
# insists on ``^[A-Za-z0-9_.\\/>-]*$`` (``^[A-Za-z0-9.]...`` at the root): a layer or model
# named "sortie_é", "出力" or "my layer" loads and runs eagerly, yet every compiled call
# (predictions, gradients, Keras's own ``model.predict``) fails with "'…' is not a valid scope
# name". While a `GraphSafeNames` block is active, such names are mapped to valid ASCII scope
# names (only the graph's internal op names change; the model and its layers keep theirs).

_SCOPE_CHARS = re.compile(r"[^A-Za-z0-9_.\\/>-]")
_SCOPE_START = re.compile(r"[A-Za-z0-9.]")
_SAFE_NAMES: ContextVar[bool] = ContextVar("glassbox_safe_scope_names", default=False)
_INSTALL_LOCK = threading.Lock()


def graph_scope_name(name: Any) -> Any:
    """``name`` as a name scope TensorFlow accepts in a graph: unchanged when it already
    uses only the allowed characters, else each other character becomes "_" (and a leading
    "x" keeps the first character valid at the root)."""
    if not isinstance(name, str) or not _SCOPE_CHARS.search(name):
        return name
    safe = _SCOPE_CHARS.sub("_", name)
    return safe if _SCOPE_START.match(safe) else "x" + safe


class GraphSafeNames:
    """``with GraphSafeNames(): model(x)`` inside a `tf.function`'s body: while it traces,
    the graph accepts any layer name (see `graph_scope_name`). Outside such a block, and in
    eager mode, TensorFlow behaves exactly as before."""

    def __enter__(self) -> GraphSafeNames:
        _install_safe_name_scope()
        self._token = _SAFE_NAMES.set(True)
        return self

    def __exit__(self, *exc: object) -> None:
        _SAFE_NAMES.reset(self._token)


def _install_safe_name_scope() -> None:
    """Wrap `tf.Graph.name_scope` once per process; the wrapper renames only while a
    `GraphSafeNames` block is active in this thread/context, so other code is unaffected."""
    import tensorflow as tf

    with _INSTALL_LOCK:
        original = tf.Graph.name_scope
        if getattr(original, "_glassbox_safe_names", False):
            return

        def name_scope(self: Any, name: Any) -> Any:
            if _SAFE_NAMES.get():
                name = graph_scope_name(name)
            return original(self, name)

        name_scope._glassbox_safe_names = True  # type: ignore[attr-defined]
        name_scope.__doc__ = original.__doc__
        tf.Graph.name_scope = name_scope
