"""Black-box rows explained together, their model calls stacked (`explain.stacked`)."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from components.explain.methods.budget import counts_fixed, fixed_counts
from components.explain.stacked import StackedPredict, run_stacked, waves


class Model:
    """A fake predict function: rows summed, and a record of every call's size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            self.sizes.append(len(batch))
        return np.asarray(batch, dtype=float).reshape(len(batch), -1).sum(axis=1,
                                                                          keepdims=True)


def _work(steps: int):
    """Each row calls the model ``steps`` times, with batches of its own sizes."""
    def work(i: int, predict_fn) -> list[np.ndarray]:
        rng = np.random.default_rng(i)
        return [(b, predict_fn(b)) for b in
                (rng.normal(size=(1 + i + 3 * s, 4)) for s in range(steps))]
    return work


def test_every_step_of_every_row_is_one_model_call():
    model = Model()
    results, stack = run_stacked(model, 6, _work(steps=3))
    assert model.sizes == [sum(1 + i + 3 * s for i in range(6)) for s in range(3)]
    assert stack.calls == 3 and stack.rows == sum(model.sizes)
    for calls in results:  # each row got its own batch's answers back
        for batch, out in calls:
            np.testing.assert_allclose(out[:, 0], batch.sum(axis=1))


def test_rows_that_call_fewer_times_or_fail_do_not_hold_the_others():
    model = Model()

    def work(i: int, predict_fn):
        if i == 1:
            raise ValueError("row 1 is broken")
        steps = 1 if i == 2 else 3
        return [predict_fn(np.full((2, 3), i)) for _ in range(steps)]

    results, stack = run_stacked(model, 4, work)
    assert isinstance(results[1], ValueError)
    assert len(results[2]) == 1 and len(results[3]) == 3
    assert model.sizes == [6, 4, 4]  # rows 0, 2, 3; then 0 and 3 alone
    np.testing.assert_array_equal(results[3][2], np.full((2, 1), 9.0))


def test_a_model_error_reaches_every_row_of_that_call():
    def broken(batch):
        raise RuntimeError("the model ran out of memory")

    results, _ = run_stacked(broken, 3, _work(steps=1))
    assert all(isinstance(r, RuntimeError) for r in results)


def test_batches_that_cannot_stack_are_predicted_one_by_one():
    model = Model()

    def work(i: int, predict_fn):
        return predict_fn(np.ones((2, 3 + i)))  # different widths

    results, stack = run_stacked(model, 3, work)
    assert sorted(model.sizes) == [2, 2, 2] and stack.calls == 3
    assert [float(r[0, 0]) for r in results] == [3.0, 4.0, 5.0]


def test_a_byte_cap_predicts_before_every_row_has_asked():
    model = Model()
    stack = StackedPredict(model, callers=2, max_bytes=1)
    out = stack.caller(0)(np.ones((3, 2)))  # would wait for caller 1 without the cap
    np.testing.assert_array_equal(out, np.full((3, 1), 2.0))
    assert model.sizes == [3]


def test_threads_keep_the_callers_context():
    with fixed_counts():
        results, _ = run_stacked(Model(), 2, lambda i, fn: counts_fixed())
    assert results == [True, True]
    results, _ = run_stacked(Model(), 2, lambda i, fn: counts_fixed())
    assert results == [False, False]


def test_waves_cover_the_rows_in_order():
    assert waves(5, 2) == [range(0, 2), range(2, 4), range(4, 5)]
    assert waves(0, 3) == []


# ---------------------------------------------------------------- in a batch job's part


@pytest.fixture(scope="module")
def mlp():
    import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    return model


@pytest.mark.parametrize("method", ["lime", "shap"])
def test_stacked_rows_give_the_one_by_one_values_in_fewer_model_calls(method, mlp,
                                                                     monkeypatch):
    from components.explain import batch

    table = np.random.default_rng(0).normal(size=(300, 6)).astype("float32")
    spec = batch.BatchSpec(methods=(method,), target=None, seed=3, params={},
                           task="multiclass", kind="tabular", background=table[:200],
                           feature_names=tuple(f"f{i}" for i in range(6)))
    calls: list[int] = []
    bound = batch.bound

    def counted(model, subject):
        bound_subject = bound(model, subject)
        inner = bound_subject.predict_fn

        def predict_fn(x):
            calls.append(len(x))
            return inner(x)
        return replace(bound_subject, predict_fn=predict_fn)

    monkeypatch.setattr(batch, "bound", counted)
    rows = np.arange(20)
    stacked = batch.explain_rows(mlp, table[rows], rows, spec)
    stacked_calls, calls[:] = len(calls), []
    alone = batch.explain_rows(mlp, table[rows], rows, replace(spec, stacked=()))
    # one call per row and step, or one per step of each wave of `STACK_ROWS` rows
    assert len(calls) > (batch.STACK_ROWS / 2) * stacked_calls
    assert list(stacked[f"error:{method}"]) == [None] * 20
    np.testing.assert_allclose(stacked[f"values:{method}"], alone[f"values:{method}"],
                               rtol=1e-4, atol=1e-6)
