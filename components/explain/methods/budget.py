"""How many model calls a method can afford: counts chosen from the measured cost of a call.

On a toy model every method answers in milliseconds whatever its sample counts; on a
224x224 MobileNet one forward pass costs ~25 ms and one gradient ~60 ms on two cores, so
LIME's 500 perturbations or Integrated Gradients' 64 steps no longer fit a page's wait. A
method left on ``"auto"`` measures what one row costs (`row_seconds`, once per model and
input shape, the first call — which traces — not counted) and takes as many rows as fit
its share of the time budget (`affordable`), between a floor that keeps the estimate
meaningful and its usual default. The count chosen goes into the attribution's ``params``,
so passing it explicitly reproduces the result on any machine.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from components.explain.methods.base import PredictFn

# Seconds each method may spend, warm, when its counts are "auto": all seven methods on one
# 224x224 image stay within ~10 s on two cores, with room for the machine's other load.
BLACKBOX_S = 2.0       # LIME, SHAP (each)
GRADIENT_S = 1.2       # Integrated Gradients, SmoothGrad (each)

# Inside `fixed_counts()` every "auto" count is its usual default, whatever the cost: what a
# report uses, so that the same command on the same files gives the same numbers anywhere.
_FIXED: ContextVar[bool] = ContextVar("glassbox_fixed_counts", default=False)
TIMINGS = 3  # a cost is the fastest of this many timed calls: a busy moment is not the cost

# Cost per row, keyed on the function (a predict_fn, or a model for its gradients), then on
# the input's shape; the entries go with the function.
_COSTS: weakref.WeakKeyDictionary[Any, dict[tuple, float]] = weakref.WeakKeyDictionary()


def row_seconds(key: Any, call: Callable[[np.ndarray], Any], x: np.ndarray) -> float:
    """Seconds ``call`` takes per row of the batch ``x`` (N, ...).

    Measured once per ``key`` and input shape: ``call(x)`` runs once untimed (it may
    trace), then `TIMINGS` times, and the fastest counts (another process's burst of work
    would otherwise pick lower counts for good). A key that cannot be weakly referenced is
    not cached.
    """
    shape = tuple(np.shape(x))
    try:
        cached = _COSTS.setdefault(key, {})
    except TypeError:
        cached = {}
    if shape not in cached:
        call(x)
        best = math.inf
        for _ in range(TIMINGS):
            start = time.perf_counter()
            call(x)
            best = min(best, time.perf_counter() - start)
        cached[shape] = max(best, 1e-6) / max(1, len(x))
    return cached[shape]


@contextmanager
def fixed_counts() -> Iterator[None]:
    """``with fixed_counts(): ...`` — methods left on "auto" take their usual counts."""
    token = _FIXED.set(True)
    try:
        yield
    finally:
        _FIXED.reset(token)


def counts_fixed() -> bool:
    """Whether a `fixed_counts` block is active."""
    return _FIXED.get()


TIMED_ROWS = 8  # a black box is timed on this many copies of the sample: one predict batch


def predict_row_seconds(predict_fn: PredictFn, x: np.ndarray) -> float:
    """`row_seconds` of a black-box predict function on `TIMED_ROWS` copies of the sample
    ``x`` (1, ...): a batch as LIME and SHAP send them (one image alone costs ~2x more per
    row on a MobileNet). Costs 2 x `TIMED_ROWS` model rows, once per function."""
    return row_seconds(predict_fn, predict_fn, np.repeat(np.asarray(x), TIMED_ROWS, axis=0))


def affordable(seconds_per_row: float, budget_s: float, low: int, high: int,
               step: int = 1) -> int:
    """How many rows fit ``budget_s`` at ``seconds_per_row``: floor(budget / cost) rounded
    down to a multiple of ``step`` (``step=0``: to a power of two), within [low, high]."""
    if not (seconds_per_row > 0 and math.isfinite(seconds_per_row)):
        raise ValueError(f"seconds_per_row must be a positive number, got {seconds_per_row!r}")
    if not 1 <= low <= high:
        raise ValueError(f"need 1 <= low <= high, got low={low}, high={high}")
    rows = budget_s / seconds_per_row
    rows = int(min(rows, high))
    if step == 0:
        rows = 2 ** int(math.log2(rows)) if rows >= 1 else 0
    elif step > 1:
        rows -= rows % step
    return int(np.clip(rows, low, high))


def segments_for(samples: int, low: int = 8, high: int = 64) -> int:
    """Superpixels that ``samples`` perturbations can weigh: one per 5 samples, in
    [low, high] (LIME's ridge fit and Kernel SHAP's regression need several rows per
    feature; fewer, larger segments are read better than many noisy ones)."""
    return int(np.clip(samples // 5, low, high))
