"""Explanations of many rows at once: what one part of a batch job computes where the model
lives (a local worker process or a Ray actor), and the columns it returns.

`explain_rows` is the one per-part function every engine calls. For tabular and image models
the three single-gradient methods run over the whole part in a few compiled calls:

* saliency: d output[target] / d x, one gradient per row;
* Gradient x input: that gradient times x;
* Integrated Gradients: the path points of every row stacked into one batch (trapezoid rule
  on ``steps`` intervals); rows whose completeness gap is above 1 % get the midpoints of
  their intervals added, as the one-row method does (`integrated_gradients.integrate`), so a
  row's values are the ones ``explain --row N`` gives with the same steps.

Every other method (LIME, SHAP, SmoothGrad, Grad-CAM) and every text model goes row by row
through the same `explain_one` as the app and the CLI: the same values for the same seed.
LIME and SHAP explain `STACK_ROWS` rows at once, each row in a thread, the perturbations of
all of them stacked into one model call at each step (`components.explain.stacked`).
Counts left on "auto" take their fixed values (`fixed_counts`), as in the report, so a job's
numbers do not depend on the machine's speed.

The rows come from a row source (`RowSource`): the dataset in memory, of which a part's
rows travel to it (`part_input`), or a Parquet file (`ParquetSource`), of which only the
reference travels and the part's row groups are read here, where the part is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from components.data.parquet_rows import ParquetSource
from components.errors import first_line
from components.explain.local import bound, explain_one
from components.explain.methods.base import Subject
from components.explain.methods.budget import fixed_counts
from components.explain.methods.targets import check_target, default_target
from components.explain.stacked import run_stacked, waves
from components.model import heartbeat

BATCHED = ("saliency", "gradxinput", "ig")  # computed over a whole part (tabular, image)
STACKED = ("lime", "shap")  # rows' model calls stacked into one (`stacked`), any kind
STACK_ROWS = 8  # LIME or SHAP rows explained together, a thread each (8 beat 32: bench)
GRADIENT_CHUNK = 16_384  # rows per compiled gradient call (capped at 4 MiB of input)
MAX_ERROR = 200  # characters of a row's failure reason
IG_AUTO_STEPS, IG_REFINE, IG_MAX_STEPS = 64, 8, 2048
IG_TOLERANCE, IG_ROUNDING = 0.01, 1e-6

RowSource = np.ndarray | ParquetSource  # a job's rows: in memory (N, ...), or a file's


@dataclass(frozen=True)
class BatchSpec:
    """What a job explains: methods in order, the target (None: each row's predicted
    class, 0 for one-output heads), the methods' seed and settings, and what the data is.

    ``background`` (M, ...) is what LIME's statistics and SHAP's background come from: the
    rows `subject_for` draws (seed 0), the same for every part and as in the app.
    """

    methods: tuple[str, ...]
    target: int | None
    seed: int
    params: Mapping[str, Mapping[str, Any]]
    task: str
    kind: str
    background: np.ndarray
    feature_names: tuple[str, ...] | None = None
    codec: Any = None
    batched: tuple[str, ...] = field(default=BATCHED)
    stacked: tuple[str, ...] = field(default=STACKED)


def part_input(source: RowSource, rows: np.ndarray) -> RowSource:
    """What travels to where the part of dataset rows ``rows`` (n,) is computed: those rows
    (n, ...) of data in memory, or the Parquet file's reference (they are read there)."""
    if not isinstance(source, np.ndarray):
        return source
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):  # consecutive: a view, no copy
        return source[rows[0]:rows[-1] + 1]
    return source[rows]


def source_rows(model: Any, source: RowSource, rows: np.ndarray) -> np.ndarray:
    """Dataset rows ``rows`` (n,) of ``source`` as (n, ...): run where the model lives
    (``runner.run(source_rows, ...)``), so a file is read under the worker's bounds."""
    del model  # the runner's calling convention: the model first
    if isinstance(source, np.ndarray):
        return source[np.asarray(rows, dtype=np.int64)]
    return source.take(rows)


def explain_rows(model: Any, x: RowSource, rows: np.ndarray, spec: BatchSpec
                 ) -> dict[str, Any]:
    """Every method of ``spec`` on every row of ``x`` (n, ...), dataset rows ``rows`` (n,).

    ``x`` may be a `ParquetSource` instead: rows ``rows`` are then read from it here, only
    the row groups holding them.

    Returns plain arrays (what a worker's reply may hold): ``row`` (n,) int64,
    ``prediction`` (n, k) float32, ``target`` (n,) int64, per method ``values:M`` (n, ...)
    float32 (NaN where it failed) and ``error:M`` (n,) object (None, or one line), and for
    Integrated Gradients ``ig_completeness_error`` and ``ig_steps``; text: ``tokens`` (n,)
    object (each row's tuple of tokens) and per method a list of (n_tokens,) arrays.
    """
    x = _read_part(x, rows)
    template = Subject(x=x[:1], kind=spec.kind, predict_fn=lambda b: b, model=model,
                       background=spec.background, feature_names=spec.feature_names,
                       task=spec.task, codec=spec.codec)
    subject = bound(model, template)
    prediction = np.asarray(subject.predict_fn(x), dtype=np.float32)
    targets = _targets(prediction, spec)
    out: dict[str, Any] = {"row": np.asarray(rows, dtype=np.int64), "prediction": prediction,
                           "target": targets}
    fast = spec.kind in ("tabular", "image") and spec.codec is None
    for method in spec.methods:
        if fast and method in spec.batched:
            out.update(_batched(model, x, targets, method, spec))
        else:
            out.update(_row_by_row(subject, x, targets, method, spec))
    return out


def _read_part(x: RowSource, rows: np.ndarray) -> np.ndarray:
    """``x`` itself if in memory; else its rows ``rows`` read from the file (consecutive
    rows by row group, a subset's rows picked)."""
    if not isinstance(x, ParquetSource):
        return x
    start, stop = int(rows[0]), int(rows[-1]) + 1
    part = x.rows(start, stop) if stop - start == len(rows) else x.take(np.asarray(rows))
    heartbeat.beat()
    return part


def _targets(prediction: np.ndarray, spec: BatchSpec) -> np.ndarray:
    if spec.target is None:
        return np.array([default_target(p, spec.task) for p in prediction], dtype=np.int64)
    target = check_target(spec.target, prediction.shape[1])
    return np.full(len(prediction), target, dtype=np.int64)


# ---------------------------------------------------------------- the whole part at once


def _batched(model: Any, x: np.ndarray, targets: np.ndarray, method: str,
             spec: BatchSpec) -> dict[str, Any]:
    """A single-gradient method over the part, one group of compiled calls per target."""
    x = np.asarray(x, dtype=np.float32)
    values = np.full(x.shape, np.nan, dtype=np.float32)
    extra: dict[str, np.ndarray] = {}
    if method == "ig":
        extra = {"ig_completeness_error": np.full(len(x), np.nan),
                 "ig_steps": np.zeros(len(x), dtype=np.int64)}
    for target in np.unique(targets):
        at = np.flatnonzero(targets == target)
        if method == "ig":
            attr, error, steps = _ig(model, x[at], int(target), spec)
            values[at] = attr
            extra["ig_completeness_error"][at] = error
            extra["ig_steps"][at] = steps
        else:
            _, grads = _gradients(model, x[at], int(target))
            values[at] = grads * x[at] if method == "gradxinput" else grads
    bad = ~np.isfinite(values.reshape(len(x), -1)).all(axis=1)
    errors = np.array([f"{method}: the model's gradients are not finite for this sample"
                       if b else None for b in bad], dtype=object)
    values[bad] = np.nan
    return {f"values:{method}": values, f"error:{method}": errors, **extra}


def _gradients(model: Any, x: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    from components.explain.methods.gradients import input_gradients

    return input_gradients(model, x, target, chunk=GRADIENT_CHUNK)


def _ig_settings(spec: BatchSpec, shape: tuple[int, ...]) -> tuple[int, np.ndarray | None]:
    """IG's steps (auto: `IG_AUTO_STEPS`) and its baseline (None: each row blurred)."""
    from components.explain.methods.integrated_gradients import EXPLAINER, _steps

    p = {**EXPLAINER.defaults, **dict(spec.params.get("ig", {}))}
    steps = IG_AUTO_STEPS if p["steps"] == "auto" else _steps(p["steps"])
    baseline = p["baseline"]
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return steps, np.full(shape, float(baseline))
    if baseline == "zeros":
        return steps, np.zeros(shape)
    if baseline == "mean":
        return steps, np.asarray(spec.background, dtype=np.float64).mean(axis=0)
    if baseline == "blur" and spec.kind == "image":
        return steps, None
    raise ValueError(f"ig: baseline {baseline!r} does not apply to {spec.kind} data")


def _ig(model: Any, x: np.ndarray, target: int, spec: BatchSpec
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IG of rows ``x`` (n, ...) for one target: values, completeness errors, steps used."""
    from components.explain.methods.integrated_gradients import blur

    steps, base = _ig_settings(spec, x.shape[1:])
    x64 = x.astype(np.float64)
    if base is None:
        bases = np.stack([blur(r, sigma=min(r.shape[:2]) / 8) for r in x64])
    else:
        bases = np.broadcast_to(base, x64.shape)
    diff = x64 - bases
    outputs, grads = _path(model, bases, diff, np.linspace(0.0, 1.0, steps + 1), target)
    f_base, f_x = outputs[:, 0], outputs[:, -1]
    total = grads.sum(axis=1) - (grads[:, 0] + grads[:, -1]) / 2
    n = np.full(len(x), steps)
    limit = min(IG_REFINE * steps, IG_MAX_STEPS)
    size = int(np.prod(x.shape[1:]))
    while True:
        attr = diff * total / n.reshape(-1, *([1] * (x.ndim - 1)))
        delta = f_x - f_base
        gap = np.abs(attr.reshape(len(x), -1).sum(axis=1) - delta)
        done = (gap <= IG_TOLERANCE * np.abs(delta)) | \
            (gap <= IG_ROUNDING * np.maximum(np.abs(f_x), np.abs(f_base)))
        more = np.flatnonzero(~done & (2 * n <= limit) & (n * size <= 1 << 22))
        if not more.size:
            break
        for steps_now in np.unique(n[more]):  # rows refined together share their steps
            group = more[n[more] == steps_now]
            _, mids = _path(model, bases[group], diff[group],
                            (np.arange(steps_now) + 0.5) / steps_now, target)
            total[group] = total[group] + mids.sum(axis=1)
            n[group] = 2 * steps_now
    error = gap / np.maximum(np.abs(f_x - f_base), 1e-12)
    return attr.astype(np.float32), error, n


def _path(model: Any, bases: np.ndarray, diff: np.ndarray, alphas: np.ndarray, target: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Outputs (n, a) and gradients (n, a, ...) at ``bases + alpha * diff`` for each alpha."""
    shape = (1, len(alphas), *([1] * (diff.ndim - 1)))
    path = bases[:, None] + alphas.reshape(shape) * diff[:, None]
    flat = path.reshape(-1, *diff.shape[1:]).astype(np.float32)
    outputs, grads = _gradients(model, flat, target)
    return outputs.reshape(len(diff), len(alphas)), \
        grads.reshape(len(diff), len(alphas), *diff.shape[1:])


# ---------------------------------------------------------------- one row at a time


def _row_by_row(subject: Subject, x: np.ndarray, targets: np.ndarray, method: str,
                spec: BatchSpec) -> dict[str, Any]:
    """``method`` on each row through `explain_one`: values, errors, and text's tokens.

    LIME and SHAP (``spec.stacked``) run `STACK_ROWS` rows at a time, their model calls
    stacked into one (`components.explain.stacked`); the other methods one row after the
    other."""
    from dataclasses import replace

    def explain(i: int, predict_fn: Any) -> Any:
        one = replace(subject, x=x[i:i + 1], predict_fn=predict_fn)
        attr = explain_one(one, method, int(targets[i]), spec.seed, spec.params.get(method))
        heartbeat.beat()
        return attr

    results: list[Any] = []
    with fixed_counts():
        if method in spec.stacked:
            for wave in waves(len(x), STACK_ROWS):
                done, _ = run_stacked(subject.predict_fn, len(wave),
                                      lambda j, fn, wave=wave: explain(wave[j], fn))
                results += done
        else:
            for i in range(len(x)):
                try:
                    results.append(explain(i, subject.predict_fn))
                except Exception as err:  # one row failing never costs the others
                    results.append(err)
    return _columns(results, method, spec, x.shape[1:])


def _columns(results: list[Any], method: str, spec: BatchSpec,
             shape: tuple[int, ...]) -> dict[str, Any]:
    """Each row's `Attribution` or exception as the part's columns for ``method``."""
    values: list[np.ndarray | None] = []
    errors: list[str | None] = []
    tokens: list[tuple[str, ...] | None] = []
    for result in results:
        if isinstance(result, Exception):
            values.append(None)
            tokens.append(None)
            errors.append(f"{type(result).__name__}: {first_line(result, MAX_ERROR)}")
        else:
            values.append(np.asarray(result.values, dtype=np.float32))
            tokens.append(result.feature_names if spec.kind == "text" else None)
            errors.append(None)
    out: dict[str, Any] = {f"error:{method}": np.array(errors, dtype=object)}
    if spec.kind == "text":
        out[f"values:{method}"] = values
        out[f"tokens:{method}"] = tokens
        return out
    filled = np.full((len(results), *shape), np.nan, dtype=np.float32)
    for i, v in enumerate(values):
        if v is not None and v.shape == shape:
            filled[i] = v
    out[f"values:{method}"] = filled
    return out
