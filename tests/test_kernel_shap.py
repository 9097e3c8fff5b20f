"""The vectorised Kernel SHAP estimator against shap's `KernelExplainer` and brute force.

With every coalition enumerated it must give the exact Shapley values (and shap's, to float
rounding); sampled, it must be as close to them as shap's own estimate, add up exactly, and
be seeded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.explain.methods.kernel_shap import coalitions, default_nsamples, kernel_shap


def _game(players: int, seed: int = 0):
    """A non-additive game on masks (N, players): tanh of a quadratic form."""
    rng = np.random.default_rng(seed)
    linear, pairs = rng.normal(size=players), rng.normal(size=(players, players)) * 0.3

    def value(masks: np.ndarray) -> np.ndarray:
        m = np.asarray(masks, dtype=np.float64)
        return np.tanh(m @ linear + np.einsum("ni,ij,nj->n", m, pairs, m))

    return value


def _shapley(value, players: int) -> np.ndarray:
    """Exact Shapley values by the definition, every coalition scored at once."""
    every = (np.arange(2**players)[:, None] >> np.arange(players)[None, :]) & 1
    scores = value(every.astype(bool))
    sizes = every.sum(axis=1)
    phi = np.zeros(players)
    for i in range(players):
        without = every[:, i] == 0
        with_i = np.flatnonzero(without) | (1 << i)
        s = sizes[without]
        weight = np.array([math.factorial(k) * math.factorial(players - k - 1)
                           for k in s]) / math.factorial(players)
        phi[i] = np.sum(weight * (scores[with_i] - scores[without]))
    return phi


def _shap_library(value, players: int, nsamples: int, seed: int) -> np.ndarray:
    import shap

    explainer = shap.KernelExplainer(lambda m: value(m > 0.5), np.zeros((1, players)))
    np.random.seed(seed)
    return np.asarray(explainer.shap_values(np.ones(players), nsamples=nsamples,
                                            l1_reg=False, silent=True))


@pytest.mark.parametrize("players", [2, 3, 6, 9])
def test_enumerated_coalitions_give_exact_shapley_values_as_shap_does(players):
    value = _game(players)
    result = kernel_shap(value, players, default_nsamples(players), seed=0)
    assert result.exact and result.coalitions == 2**players - 2
    exact = _shapley(value, players)
    np.testing.assert_allclose(result.values, exact, atol=1e-12)
    np.testing.assert_allclose(result.values,
                               _shap_library(value, players, default_nsamples(players), 0),
                               atol=1e-12)
    assert result.base_value == pytest.approx(float(value(np.zeros((1, players), bool))[0]))
    assert result.output == pytest.approx(float(value(np.ones((1, players), bool))[0]))


def test_sampled_estimate_is_as_close_as_shaps_and_adds_up_exactly():
    players, budget = 13, default_nsamples(13)
    value = _game(players, seed=4)
    exact = _shapley(value, players)
    ours, theirs = [], []
    for seed in range(4):
        result = kernel_shap(value, players, budget, seed)
        assert not result.exact and result.coalitions == budget
        assert result.values.sum() == pytest.approx(result.output - result.base_value,
                                                    abs=1e-12)
        ours.append(np.abs(result.values - exact).max())
        theirs.append(np.abs(_shap_library(value, players, budget, seed) - exact).max())
    # Same estimator, other draws: errors of the same size as shap's, and small.
    assert max(ours) < 0.1
    assert np.mean(ours) < 2 * np.mean(theirs)


def test_sampled_coalitions_are_distinct_proper_and_weighted_like_shaps():
    masks, weights = coalitions(13, 2074, np.random.default_rng(0))
    assert masks.shape == (2074, 13) and weights.shape == (2074,)
    assert len(np.unique(masks, axis=0)) == 2074  # no duplicates: repeats add weight
    sizes = masks.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= 12  # neither empty nor full
    assert weights.sum() == pytest.approx(1.0) and (weights > 0).all()
    # Sizes 1 and 12 (and 2 and 11) are enumerated, each with its Shapley-kernel share.
    assert (sizes == 1).sum() == 13 and (sizes == 12).sum() == 13
    assert (sizes == 2).sum() == math.comb(13, 2) and (sizes == 11).sum() == math.comb(13, 2)
    share = np.array([12 / (s * (13 - s)) for s in range(1, 13)])
    share /= share.sum()
    assert weights[sizes == 1].sum() == pytest.approx(share[0])
    assert weights[sizes == 2].sum() == pytest.approx(share[1])


def test_same_seed_same_values_and_the_global_random_state_is_left_alone():
    value = _game(13)
    state = np.random.get_state()[1].copy()
    a, b = kernel_shap(value, 13, 500, seed=1), kernel_shap(value, 13, 500, seed=1)
    c = kernel_shap(value, 13, 500, seed=2)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_no_player_and_one_player():
    assert kernel_shap(lambda m: np.full(len(m), 3.0), 0, 100, 0).values.shape == (0,)
    one = kernel_shap(lambda m: m[:, 0] * 2.5 + 1.0, 1, 100, 0)
    assert one.values.tolist() == [2.5] and one.base_value == 1.0 and one.exact
    with pytest.raises(ValueError, match="players must be >= 0"):
        kernel_shap(lambda m: m[:, 0], -1, 100, 0)


def test_one_call_of_the_value_function():
    calls = []

    def value(masks):
        calls.append(len(masks))
        return masks.sum(axis=1).astype(float)

    result = kernel_shap(value, 13, 2074, 0)
    assert calls == [2 + 2074]
    np.testing.assert_allclose(result.values, np.ones(13), atol=1e-9)  # additive game
