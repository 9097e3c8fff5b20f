"""Many rows' black-box explanations with their model calls stacked into one.

LIME and SHAP each call ``predict_fn`` with a batch of perturbed copies of one row (LIME:
``num_samples`` rows; SHAP: coalitions x background rows, in chunks). Explaining a part of a
batch job row by row makes one model call per row and chunk. Here each row's explanation
runs, unchanged, in a thread of its own whose ``predict_fn`` hands its batch to a shared
`StackedPredict`; when every row still running has handed one in (or finished), the batches
are stacked into one call of the real predict function, the answer is split back, and each
row goes on. So a wave of ``n`` rows costs as many model calls as one row does, each ``n``
times bigger (a bigger batch is what a compiled predict path runs best).

A row's values do not depend on which rows it was stacked with: each thread draws from its
own seeded generator and gets back exactly the outputs of its own batch. (The model's
outputs for a row can differ in the last bits between batch sizes, as BLAS kernels change
with the shape; the tests compare stacked and one-by-one values to 1e-5.)
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

STACK_BYTES = 256 * 2**20  # pending input above this is predicted without waiting for more


class StackedPredict:
    """A ``predict_fn`` shared by ``callers`` threads, each with a key (see `caller`): a
    call blocks until every caller still running has called or finished (or ``max_bytes``
    of input wait), then one call of ``predict_fn`` answers them all."""

    def __init__(self, predict_fn: Callable[[np.ndarray], Any], callers: int,
                 max_bytes: int = STACK_BYTES) -> None:
        self._predict = predict_fn
        self._live = callers
        self._max_bytes = max_bytes
        self._pending: dict[int, np.ndarray] = {}
        self._results: dict[int, Any] = {}
        self._cond = threading.Condition()
        self.calls = 0  # calls of the real predict function
        self.rows = 0  # model rows they held

    def caller(self, key: int) -> Callable[[np.ndarray], np.ndarray]:
        """The ``predict_fn`` of the thread ``key``: (n, ...) in, (n, outputs) out."""
        return functools.partial(self._call, key)

    def done(self, key: int) -> None:
        """Thread ``key`` will call no more (call it even when the thread failed)."""
        del key
        with self._cond:
            self._live -= 1
            self._flush_if_ready()

    def _call(self, key: int, batch: np.ndarray) -> np.ndarray:
        with self._cond:
            self._pending[key] = np.asarray(batch)
            self._flush_if_ready()
            while key not in self._results:
                self._cond.wait()
            out = self._results.pop(key)
        if isinstance(out, BaseException):
            raise out
        return out

    def _flush_if_ready(self) -> None:
        """Under the lock: predict what waits, if every live caller waits or it is big."""
        waiting = sum(b.nbytes for b in self._pending.values())
        if not self._pending or (len(self._pending) < self._live
                                 and waiting < self._max_bytes):
            return
        keys, batches = list(self._pending), list(self._pending.values())
        self._pending.clear()
        for key, out in zip(keys, self._predict_all(batches), strict=True):
            self._results[key] = out
        self._cond.notify_all()

    def _predict_all(self, batches: list[np.ndarray]) -> list[Any]:
        """Each batch's outputs from one model call (one per batch if they cannot stack);
        an error is every batch's answer."""
        try:
            stacked = np.concatenate(batches)
        except ValueError:  # shapes differ: each its own call
            return [self._guarded([b])[0] for b in batches]
        return self._guarded(batches, stacked)

    def _guarded(self, batches: list[np.ndarray], stacked: np.ndarray | None = None
                 ) -> list[Any]:
        try:
            data = batches[0] if stacked is None else stacked
            out = np.asarray(self._predict(data))
            self.calls += 1
            self.rows += len(data)
        except Exception as err:  # the callers raise it, each in its own thread
            return [err] * len(batches)
        return np.split(out, np.cumsum([len(b) for b in batches])[:-1])


def run_stacked(predict_fn: Callable[[np.ndarray], Any], count: int,
                work: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]
                ) -> tuple[list[Any], StackedPredict]:
    """``work(i, predict_fn_i)`` for i in 0..count-1, each in a thread, their model calls
    stacked; returns each one's result (or the exception it raised) and the stack.

    Context variables (e.g. `budget.fixed_counts`) are the caller's in every thread.
    """
    stack = StackedPredict(predict_fn, count)
    results: list[Any] = [None] * count

    def one(i: int) -> None:
        try:
            results[i] = work(i, stack.caller(i))
        except Exception as err:  # one row failing never costs the others
            results[i] = err
        finally:
            stack.done(i)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(one, i),
                                daemon=True, name=f"stacked-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, stack


def waves(count: int, size: int) -> Sequence[range]:
    """Row positions 0..count-1 in consecutive waves of at most ``size``."""
    return [range(start, min(count, start + size)) for start in range(0, count, size)]
