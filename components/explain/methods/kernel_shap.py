"""Kernel SHAP over coalition masks, vectorised: shap's `KernelExplainer` estimator in numpy.

shap's `KernelExplainer` builds its coalitions one at a time in Python (``addsample``, a
copy of the background per coalition) and spends ~20-30 ms on that bookkeeping for the
default 2 x players + 2,048 coalitions, more than Glassbox's compiled model takes to score
them. This module runs the same estimator with arrays:

1. the same coalition budget and kernel weights: subset sizes whose every coalition (and its
   complement) fits in the budget are enumerated with the Shapley kernel weight, the rest
   are sampled by size and deduplicated, repeats adding weight (shap's
   ``KernelExplainer.explain``);
2. one call of ``value_fn`` on all coalitions, plus the empty and the full one;
3. shap's constrained weighted least squares (``KernelExplainer.solve`` with
   ``l1_reg=False``): the values add up to ``value(full) - value(empty)`` exactly.

With every coalition enumerated (players <= 11 at the default budget) the result is the
exact Shapley values, equal to shap's to float rounding; sampled, it is the same estimator
drawn from a seeded numpy ``Generator`` instead of numpy's global state. The tests hold it to
shap's `KernelExplainer` and to brute-force Shapley values.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ValueFn = Callable[[np.ndarray], np.ndarray]
"""Coalition masks (N, players) of bool -> the target output of each coalition, (N,)."""


@dataclass(frozen=True)
class KernelShapResult:
    """Values (players,), value(empty) as the base, value(full), whether exact."""

    values: np.ndarray
    base_value: float
    output: float
    exact: bool
    coalitions: int


def default_nsamples(players: int) -> int:
    """shap's ``nsamples="auto"``: 2 x players + 2,048."""
    return 2 * players + 2048


def kernel_shap(value_fn: ValueFn, players: int, nsamples: int, seed: int) -> KernelShapResult:
    """Kernel SHAP values of ``value_fn``'s game with ``players`` players, one model call."""
    if players < 0:
        raise ValueError(f"players must be >= 0, got {players}")
    budget = min(nsamples, max_coalitions(players))
    masks, weights = coalitions(players, budget, np.random.default_rng(seed))
    ends = np.vstack([np.zeros((1, players), bool), np.ones((1, players), bool)])
    scores = np.asarray(value_fn(np.vstack([ends, masks])), dtype=np.float64).reshape(-1)
    base, output, coalition_values = scores[0], scores[1], scores[2:]
    if players <= 1:  # no player, or one that takes the whole gain
        values = np.full(players, output - base)
    else:
        values = solve(masks, weights, coalition_values - base, output - base)
    return KernelShapResult(values=values, base_value=float(base), output=float(output),
                            exact=budget == max_coalitions(players),
                            coalitions=len(masks))


def max_coalitions(players: int) -> int:
    """Coalitions other than the empty and the full one: 2^players - 2 (capped at 2^30)."""
    return max(0, 2**players - 2) if players <= 30 else 2**30


def coalitions(players: int, budget: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """shap's coalitions for ``budget`` evaluations: masks (K, players) bool, weights (K,).

    Shapley-kernel weight per subset size s (s and players - s counted together), sizes
    enumerated from the smallest while the budget covers them, the rest sampled.
    """
    if players < 2:
        return np.zeros((0, players), bool), np.zeros(0)
    sizes = math.ceil((players - 1) / 2)
    paired = (players - 1) // 2
    size_weight = np.array([(players - 1) / (s * (players - s)) for s in range(1, sizes + 1)])
    size_weight[:paired] *= 2
    size_weight /= size_weight.sum()

    masks: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    left, remaining, full = budget, size_weight.copy(), 0
    for size in range(1, sizes + 1):
        count = math.comb(players, size) * (2 if size <= paired else 1)
        if left * remaining[size - 1] / count < 1.0 - 1e-8:
            break
        full += 1
        left -= count
        if remaining[size - 1] < 1.0:
            remaining /= 1 - remaining[size - 1]
        chosen = _subsets(players, size)
        weight = size_weight[size - 1] / math.comb(players, size) / (2 if size <= paired
                                                                      else 1)
        if size <= paired:  # each subset followed by its complement, as shap adds them
            chosen = np.stack([chosen, ~chosen], axis=1).reshape(-1, players)
        masks.append(chosen)
        weights.append(np.full(len(chosen), weight))
    if full < sizes and left > 0:
        drawn, counts = _sampled(players, left, size_weight, full, paired, rng)
        if len(drawn):
            masks.append(drawn)
            weights.append(counts * size_weight[full:].sum() / counts.sum())
    if not masks:
        return np.zeros((0, players), bool), np.zeros(0)
    return np.vstack(masks), np.concatenate(weights)


def _subsets(players: int, size: int) -> np.ndarray:
    """Every subset of ``size`` players as masks (C(players, size), players) bool."""
    index = np.array(list(itertools.combinations(range(players), size)), dtype=np.int64)
    masks = np.zeros((len(index), players), bool)
    np.put_along_axis(masks, index, True, axis=1)
    return masks


def _sampled(players: int, left: int, size_weight: np.ndarray, full: int, paired: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """shap's random part: ``left`` coalitions of the sizes not enumerated, as masks and
    draw counts (a paired size brings its complement, with the same count)."""
    probabilities = size_weight.copy()
    probabilities[:paired] /= 2  # a paired draw fills two coalitions
    probabilities = probabilities[full:] / probabilities[full:].sum()
    draws = 4 * left
    sizes = rng.choice(len(probabilities), draws, p=probabilities) + full + 1
    # A uniformly random subset of each size: the first players of a random permutation.
    order = np.argsort(rng.random((draws, players)), axis=1)
    drawn = np.zeros((draws, players), bool)
    np.put_along_axis(drawn, order, np.arange(players)[None, :] < sizes[:, None], axis=1)
    _, first, inverse = np.unique(_keys(drawn), axis=0, return_index=True,
                                  return_inverse=True)
    inverse = inverse.reshape(-1)
    is_new = first[inverse] == np.arange(draws)
    cost = np.where(is_new, np.where(sizes <= paired, 2, 1), 0)
    spent = np.cumsum(cost)
    # shap stops drawing once the budget is spent; the last new pair may lose its complement.
    stop = int(np.searchsorted(spent, left)) + 1 if spent[-1] >= left else draws
    counts = np.bincount(inverse[:stop], minlength=len(first)).astype(np.float64)
    order = np.flatnonzero(is_new[:stop])  # new coalitions in the order they were drawn
    originals, n = drawn[order], counts[inverse[order]]
    # Each original followed by its complement when its size is paired, as shap adds them.
    keep = np.stack([np.ones(len(order), bool), sizes[order] <= paired], axis=1)
    masks = np.stack([originals, ~originals], axis=1)[keep]
    weights = np.stack([n, n], axis=1)[keep]
    return masks[:left], weights[:left]


def _keys(masks: np.ndarray) -> np.ndarray:
    """One comparable key per mask: an int64 up to 62 players (fast to sort), else bytes."""
    if masks.shape[1] <= 62:
        return masks.astype(np.int64) @ (np.int64(1) << np.arange(masks.shape[1],
                                                                   dtype=np.int64))
    return np.packbits(masks, axis=1)


def solve(masks: np.ndarray, weights: np.ndarray, gains: np.ndarray, total: float
          ) -> np.ndarray:
    """shap's constrained weighted least squares: values (players,) summing to ``total``.

    ``gains`` (K,) are value(coalition) - value(empty). The last player's value is
    ``total`` minus the others', which turns the constraint into an ordinary weighted fit.
    """
    masks = masks.astype(np.float64)
    y = gains - masks[:, -1] * total
    x = masks[:, :-1] - masks[:, -1:]
    wx = weights[:, None] * x
    try:
        head = np.linalg.solve(x.T @ wx, wx.T @ y)
    except np.linalg.LinAlgError:  # too few coalitions: the least-squares solution
        root = np.sqrt(weights)
        head = np.linalg.lstsq(root[:, None] * x, root * y, rcond=None)[0]
    values = np.append(head, total - head.sum())
    values[np.abs(values) < 1e-10] = 0.0  # as shap does
    return values


# ---------------------------------------------------------------- the background

_SUMMARIES: dict[tuple[str, tuple[int, ...], int], Any] = {}
_MAX_SUMMARIES = 8
_SUMMARIES_LOCK = threading.Lock()


def background_summary(background: np.ndarray, k: int) -> Any:
    """shap's k-means summary of ``background`` (M, f) into ``k`` weighted rows (shap's
    ``DenseData``: ``.data`` (k, f), ``.weights`` (k,)), cached by the rows' digest: the
    same background costs its k-means once (shap.kmeans is seeded, so the cache changes
    nothing). The single-row and the dataset-wide SHAP both summarise through here."""
    import shap  # deferred: shap takes seconds to import

    background = np.ascontiguousarray(background, dtype=np.float64)
    key = (hashlib.sha256(background.tobytes()).hexdigest(), background.shape, k)
    with _SUMMARIES_LOCK:  # a batch job's rows run in threads (`explain.stacked`)
        summary = _SUMMARIES.get(key)
        if summary is None:
            summary = shap.kmeans(background, k)
            while len(_SUMMARIES) >= _MAX_SUMMARIES:
                _SUMMARIES.pop(next(iter(_SUMMARIES)), None)
            _SUMMARIES[key] = summary
    return summary
