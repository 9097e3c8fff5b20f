"""The one explainer protocol: a `Subject` in, an `Attribution` out.

Every method lives in its own module of this package and exports ``EXPLAINER``, an object
with this shape:

    name: str                 registry key and CLI name ("lime", "ig", ...)
    label: str                what the picker shows ("Integrated Gradients")
    family: str               "gradient" (gets the Keras model) or "blackbox" (predict_fn only)
    signed: bool              False when values are magnitudes only (>= 0, Grad-CAM)
    output: str               what the values are by default, one of OUTPUTS:
                              "contribution": each value is the feature's share of the
                              target output's move away from a reference, so the values sum
                              roughly to f(x) - f(reference) (SHAP, Integrated Gradients,
                              Gradient x input, LIME's weight x offset);
                              "sensitivity": how much the output would change if the feature
                              moved (a derivative, or a localisation as Grad-CAM), whatever
                              the feature's own value (Saliency, SmoothGrad, Grad-CAM,
                              LIME's raw slopes). A method whose settings change this sets
                              `Attribution.output_kind` on each result.
    defaults: dict            every parameter the method takes, with its default
    unavailable(subject)      None if the method applies, else one line saying why not
    explain(subject, target, seed, **params) -> Attribution
    choices(subject) -> dict  (optional) the allowed values of a parameter, for the picker

Nothing here imports TensorFlow, lime or shap: the registry must stay cheap to import.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]
KINDS: tuple[str, ...] = ("tabular", "image", "text")
FAMILIES: tuple[str, ...] = ("gradient", "blackbox")
# What a method's values are (see the module docstring); agreement compares only within one.
OUTPUTS: tuple[str, ...] = ("contribution", "sensitivity")


@dataclass(frozen=True)
class Subject:
    """One sample to explain and what the methods may use to explain it.

    ``x`` keeps the batch axis: tabular (1, f) float32, image (1, h, w, c) float32, text (1,)
    object array holding one str. ``predict_fn`` maps a batch (N, ...) to scores (N, k)
    float32 through the model's one compiled path. ``background`` holds other samples of the
    same kind, (M, ...), for LIME's statistics and SHAP's background. ``model`` is the Keras
    model; only gradient methods may touch it. ``codec`` is set for a model over token
    ids (`components.data.tokens.TokenCodec`): ``x`` then holds token text, which
    ``codec.encode`` turns into the model's ids and ``predict_fn`` already accepts.
    """

    x: np.ndarray
    kind: str
    predict_fn: PredictFn
    model: Any = None
    background: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None
    task: str = "multiclass"
    codec: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if len(self.x) != 1:
            raise ValueError(f"x must hold exactly one sample with its batch axis, got "
                             f"shape {np.shape(self.x)}")

    @property
    def sample(self) -> Any:
        """The sample without its batch axis: (f,), (h, w, c) or a str."""
        return self.x[0]


@dataclass(frozen=True)
class Attribution:
    """What one method says about one sample and one target output.

    ``values`` is shaped like one sample: tabular (f,), image (h, w, c); for text, one value
    per token, (n_tokens,), with the tokens in ``feature_names``. Positive values push the
    target output up. ``params`` holds everything needed to reproduce the result, the seed
    included. ``base_value`` is the model's expected output for SHAP (None elsewhere);
    ``extras`` holds method-specific figures, e.g. IG's "baseline" and
    "completeness_error" (|sum(values) - (f(x) - f(baseline))| / |f(x) - f(baseline)|).
    ``output_kind`` is "contribution" or "sensitivity" (`OUTPUTS`; JSON key "output_kind",
    since IG's extras already use "output" for f(x)); left None, it is the method's
    declared ``output`` in the registry (a method unknown to it: "contribution").
    """

    values: np.ndarray
    method: str
    target: int
    params: Mapping[str, Any]
    seconds: float
    base_value: float | None = None
    feature_names: tuple[str, ...] | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    output_kind: str | None = None

    def __post_init__(self) -> None:
        kind = declared_output(self.method) if self.output_kind is None else self.output_kind
        if kind not in OUTPUTS:
            raise ValueError(f"output_kind must be one of {', '.join(OUTPUTS)}, not {kind!r}")
        object.__setattr__(self, "output_kind", kind)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: values as a nested list, numbers as plain floats."""
        out: dict[str, Any] = {
            "method": self.method,
            "target": int(self.target),
            "values": np.asarray(self.values, dtype=float).tolist(),
            "seconds": round(float(self.seconds), 4),
            "params": _plain(dict(self.params)),
            "feature_names": None if self.feature_names is None else list(self.feature_names),
            "output_kind": self.output_kind,
        }
        if self.base_value is not None:
            out["base_value"] = float(self.base_value)
        out.update(_plain(dict(self.extras)))
        return out


class Explainer(Protocol):
    name: str
    label: str
    family: str
    signed: bool
    output: str
    defaults: Mapping[str, Any]

    def unavailable(self, subject: Subject) -> str | None: ...

    def explain(self, subject: Subject, target: int, seed: int = 0,
                **params: Any) -> Attribution: ...


# Each registered method's declared ``output``, filled in by the registry (the package's
# __init__) as it imports the methods: this module must not import the registry back.
DECLARED_OUTPUTS: dict[str, str] = {}


def declared_output(method: str) -> str:
    """The registry's ``output`` for ``method``; "contribution" for a name it does not know."""
    return DECLARED_OUTPUTS.get(method, "contribution")


def merged_params(defaults: Mapping[str, Any], params: Mapping[str, Any],
                  method: str) -> dict[str, Any]:
    """``defaults`` overridden by ``params``; an unknown parameter name is an error."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{method}: unknown parameter(s) {', '.join(unknown)}; expected "
                         f"{', '.join(defaults) or 'none'}")
    return {**defaults, **params}


class Stopwatch:
    """``with Stopwatch() as sw: ...; sw.seconds`` — wall time of a block, in seconds."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def _plain(value: Any) -> Any:
    """numpy scalars and arrays inside dicts/lists as JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
