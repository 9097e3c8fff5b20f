"""Every row of a dataset on a 2-D map: PCA of the inputs, or of the activations feeding the
model's output layer. Keras is imported only inside the functions that run the model, so
importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from components.data.checks import Dataset, model_input
from components.errors import DataError

SPACES: tuple[str, ...] = ("inputs", "activations")
# Parameter-free layers that only squash the logits: the "output layer" is the one before.
_ACTIVATION_LAYERS = ("Activation", "Softmax")


def projection(x: ArrayLike, *, seed: int = 0, max_rows: int = 5000,
               standardize: bool | None = None) -> np.ndarray:
    """Numeric inputs (N, ...) flattened and projected to 2-D by PCA: (N, 2) float64.

    ``standardize`` scales each feature to unit variance first; None does so for 2-D
    (tabular) inputs only. PCA is fitted on at most ``max_rows`` rows drawn with ``seed``,
    then applied to all; the same inputs and seed give the same map. Fewer than 2 rows or
    no variance give zeros. Strings (text inputs) raise ValueError: use `map_coordinates`
    with "activations".
    """
    from sklearn.decomposition import PCA

    x = np.asarray(x)
    if x.dtype.kind in "OUSV":
        raise ValueError("text inputs are strings and have no numeric projection; map them "
                         "by their activations (space='activations')")
    if x.ndim == 0:
        raise ValueError("projection needs rows of inputs, got a scalar")
    n = len(x)
    # float32 inputs stay float32 and unflattened copies are avoided: image sets can be large
    flat = x.reshape(n, -1).astype(np.float32 if x.dtype == np.float32 else np.float64,
                                   copy=False)
    if not np.isfinite(flat).all():
        flat = np.nan_to_num(flat, nan=0.0, posinf=0.0, neginf=0.0)
    out = np.zeros((n, 2))
    if n < 2 or flat.shape[1] == 0:
        return out
    if standardize if standardize is not None else x.ndim == 2:
        std = flat.std(axis=0)
        flat = (flat - flat.mean(axis=0)) / np.where(std > 0, std, 1.0)
    fit = flat
    if n > max_rows:
        rng = np.random.default_rng(seed)
        fit = flat[np.sort(rng.choice(n, size=max_rows, replace=False))]
    if not (fit.max(axis=0) > fit.min(axis=0)).any():
        return out
    k = min(2, len(fit), flat.shape[1])
    solver = "full" if flat.shape[1] <= 2000 else "randomized"
    pca = PCA(n_components=k, svd_solver=solver, random_state=seed).fit(fit)
    out[:, :k] = pca.transform(flat)
    return out


def penultimate_model(model: Any) -> Any:
    """A Keras model from ``model``'s input to the activations feeding its output layer.

    The output layer is the one producing the first output; trailing Activation/Softmax
    layers are skipped (the layer before them counts). When the output layer is itself a
    nested model, the activations feeding *its* output layer are taken. Sequential models are
    rebuilt on a fresh Input; Functional ones are cloned with their own layers (shared
    weights) through `keras.models.clone_model`'s ``call_function``. Public Keras API only.
    """
    import keras  # deferred: ~4 s of TensorFlow import

    if isinstance(model, keras.Sequential):
        return _sequential_penultimate(model, keras)
    return _functional_penultimate(model, keras)


def _sequential_penultimate(model: Any, keras: Any) -> Any:
    layers = list(model.layers)
    i = len(layers) - 1
    while i > 0 and type(layers[i]).__name__ in _ACTIVATION_LAYERS:
        i -= 1
    head = layers[i] if layers else None
    if head is None or (i == 0 and not _is_container(head)):
        raise ValueError(f"model '{model.name}' has no hidden layer before its output layer")
    try:
        spec = model.inputs[0]
    except (AttributeError, IndexError):
        raise ValueError(f"model '{model.name}' has no defined input shape") from None
    inputs = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype)
    h = inputs
    for layer in layers[:i]:
        h = layer(h)
    if _is_container(head):
        h = penultimate_model(head)(h)
    return keras.Model(inputs, _single(h, keras), name=f"{model.name}_penultimate")


def _functional_penultimate(model: Any, keras: Any) -> Any:
    calls: dict[int, tuple[Any, Any]] = {}  # id(output tensor) -> (layer, input)

    def record(layer: Any, *args: Any, **kwargs: Any) -> Any:
        out = layer(*args, **kwargs)
        for tensor in _flat(out):
            calls[id(tensor)] = (layer, args[0] if args else next(iter(kwargs.values()), None))
        return out

    clone = keras.models.clone_model(model, clone_function=lambda layer: layer,
                                     call_function=record)
    found = calls.get(id(_flat(clone.outputs)[0]))
    while found is not None and type(found[0]).__name__ in _ACTIVATION_LAYERS:
        previous = calls.get(id(found[1])) if not isinstance(found[1], (list, tuple)) else None
        if previous is None:
            break
        found = previous
    if found is None:
        raise ValueError(f"could not find the layer producing the output of model "
                         f"'{model.name}'")
    layer, feeding = found
    if _is_container(layer):
        feeding = penultimate_model(layer)(feeding)
    inputs = clone.inputs[0] if len(clone.inputs) == 1 else clone.inputs
    if any(feeding is t for t in clone.inputs):
        raise ValueError(f"model '{model.name}' has no hidden layer before its output layer")
    return keras.Model(inputs, _single(feeding, keras), name=f"{model.name}_penultimate")


def _single(tensor: Any, keras: Any) -> Any:
    """One tensor: several (an output layer with many inputs) are flattened and joined."""
    parts = _flat(tensor)
    if len(parts) == 1:
        return parts[0]
    return keras.layers.Concatenate()([keras.layers.Flatten()(t) for t in parts])


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flat(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    return [value]


def _is_container(layer: Any) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "inputs") and bool(layer.layers)


def penultimate_activations(model: Any, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """The activations feeding ``model``'s output layer for ``x``, flattened: (N, d) float32.

    Batched through one `tf.function` (the `make_predict_fn` path); ``x`` is what the model
    takes (floats, or an object array of str for a text model).
    """
    from components.model.predict import make_predict_fn

    out = make_predict_fn(penultimate_model(model), batch_size=batch_size)(x)
    return out.reshape(len(out), -1)


def map_coordinates(model: Any, dataset: Dataset, space: str = "inputs",
                    seed: int = 0) -> np.ndarray:
    """(N, 2) map of the dataset: PCA of the inputs, or of the penultimate activations.

    Text datasets only have "activations" (ValueError for "inputs").
    """
    if space not in SPACES:
        raise ValueError(f"unknown map space {space!r}; expected one of {', '.join(SPACES)}")
    if dataset.x is None:
        raise DataError("the dataset did not pass its checks; see the Model & data page")
    if space == "inputs":
        if dataset.kind == "text":
            raise ValueError("text inputs are strings and cannot be mapped directly; use "
                             "space='activations' (the model's own representation)")
        return projection(dataset.x, seed=seed)
    return projection(penultimate_activations(model, model_input(dataset)), seed=seed,
                      standardize=False)
