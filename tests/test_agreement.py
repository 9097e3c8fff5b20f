"""Agreement between methods: exact Spearman and top-k values on hand-made attributions."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from components.explain.agreement import (
    Agreement,
    agreement,
    attributions_frame,
    comparable_vectors,
    image_block,
    pool_image,
    spearman_rho,
    top_k_overlap,
)
from components.explain.methods.base import Attribution


def attr(method: str, values, **kw) -> Attribution:
    return Attribution(values=np.asarray(values, dtype="float64"), method=method, target=0,
                       params={}, seconds=0.1, **kw)


BASE = [0.9, -0.5, 0.3, -0.1, 0.05, 0.02, -0.7, 0.0]


def test_spearman_is_scipys_with_ties_and_constants():
    """The numpy ranks give scipy's Spearman (average ranks for ties) to 1e-12."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    for n in (2, 3, 8, 64, 3072):
        for trial in range(12):
            a, b = rng.normal(size=n), rng.normal(size=n)
            if trial % 3 == 0:
                a, b = np.round(a, 1), np.round(b)
            if trial % 4 == 0:
                a[: n // 2] = 0.0
            expected = spearmanr(a, b).statistic if np.ptp(a) and np.ptp(b) else math.nan
            got = spearman_rho(a, b)
            assert (math.isnan(got) and math.isnan(expected)) or abs(got - expected) < 1e-12


def test_identical_methods_agree_fully():
    result = agreement({"shap": attr("shap", BASE), "lime": attr("lime", BASE)}, top_k=3)
    assert isinstance(result, Agreement)
    assert list(result.spearman.index) == ["lime", "shap"]  # registry order, not given order
    assert result.spearman.at["lime", "shap"] == pytest.approx(1.0)
    assert result.overlap.at["lime", "shap"] == 1.0
    assert result.top_k == 3
    assert result.flags == ("LIME and SHAP broadly agree (Spearman 1.00).",)
    assert result.pairs() == {"lime|shap": pytest.approx(1.0)}


def test_reversed_methods_point_in_opposite_directions():
    result = agreement({"shap": attr("shap", BASE),
                        "gradxinput": attr("gradxinput", -np.asarray(BASE))})
    assert result.spearman.at["shap", "gradxinput"] == pytest.approx(-1.0)
    # same magnitudes, so the same top 5 by |value|
    assert result.overlap.at["shap", "gradxinput"] == 1.0
    assert result.flags == (
        "SHAP and Gradient × input point in opposite directions (Spearman \u22121.00).",)


def test_unrelated_rankings_disagree_with_overlap_count():
    a = [5.0, 4, 3, 2, 1, 0.5]
    b = [6.0, 3, 2, 1, 4, 5]  # rho(a, b) = 3/35; top 3: {0,1,2} vs {0,4,5}
    result = agreement({"lime": attr("lime", a), "ig": attr("ig", b)}, top_k=3)
    rho = result.spearman.at["lime", "ig"]
    assert rho == pytest.approx(3 / 35)
    assert result.overlap.at["lime", "ig"] == pytest.approx(1 / 3)
    assert result.flags == (
        "LIME and Integrated Gradients disagree: their feature rankings are unrelated "
        "(Spearman 0.09) and they share 1 of their top 3 features.",)


def test_known_top_k_overlaps():
    a = np.array([10.0, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    b = np.array([10.0, 9, 1, 2, 8, 3, 4, 5, 6, 7])
    assert top_k_overlap(a, b, 1) == 1.0
    assert top_k_overlap(a, b, 3) == pytest.approx(2 / 3)  # {0,1,2} vs {0,1,4}
    assert top_k_overlap(a, b, 5) == pytest.approx(3 / 5)  # {0..4} vs {0,1,4,9,8}
    assert top_k_overlap(a, -a, 4) == 1.0  # by |value|
    # k is capped by the number of features
    result = agreement({"lime": attr("lime", [3.0, 2, 1]), "shap": attr("shap", [1.0, 2, 3])},
                       top_k=5)
    assert result.top_k == 3 and result.overlap.at["lime", "shap"] == 1.0


def test_gradcam_pair_uses_absolute_values():
    signed = np.array([-4.0, 3, -2, 1, 0.5])
    cam = np.abs(signed)
    assert spearman_rho(signed, cam) < 0.5  # signed comparison would see a mismatch
    result = agreement({"saliency": attr("saliency", signed), "gradcam": attr("gradcam", cam)})
    assert result.spearman.at["saliency", "gradcam"] == pytest.approx(1.0)
    assert result.flags == ("Saliency and Grad-CAM broadly agree (Spearman 1.00).",)
    # and a reversed order of importance is not called "opposite directions"
    flipped = agreement({"saliency": attr("saliency", signed),
                         "gradcam": attr("gradcam", 5 - cam)})
    assert flipped.spearman.at["saliency", "gradcam"] == pytest.approx(-1.0)
    assert "opposite order of importance" in flipped.flags[0]
    assert "directions" not in flipped.flags[0]


def test_constant_values_give_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = agreement({"lime": attr("lime", [0.0, 0, 0, 0]),
                            "shap": attr("shap", [1.0, 2, 3, 4])})
        assert math.isnan(spearman_rho(np.ones(4), np.arange(4.0)))
    assert math.isnan(result.spearman.at["lime", "shap"])
    assert math.isnan(result.spearman.at["lime", "lime"])
    assert result.spearman.at["shap", "shap"] == pytest.approx(1.0)
    assert math.isnan(result.overlap.at["lime", "shap"])
    assert result.pairs() == {"lime|shap": None}
    assert result.flags == (
        "LIME and SHAP cannot be compared: LIME gives every feature the same value.",)


def test_three_methods_all_agree_and_pairs_in_registry_order():
    values = {"ig": [5.0, 4, 3, 2, 1], "lime": [5.0, 4, 3, 1, 2],
              "shap": [5.0, 4, 3, 2, 1]}
    result = agreement({m: attr(m, v) for m, v in values.items()})
    pairs = result.pairs()
    assert list(pairs) == ["lime|shap", "lime|ig", "shap|ig"]
    assert pairs["lime|shap"] == pytest.approx(0.9)
    assert pairs["shap|ig"] == pytest.approx(1.0)
    assert all(type(v) is float for v in pairs.values())
    json.dumps(pairs)
    assert result.pairs("overlap") == {"lime|shap": 1.0, "lime|ig": 1.0, "shap|ig": 1.0}
    assert result.note == ""  # one kind: nothing kept apart
    assert result.flags == ("All 3 methods broadly agree (lowest Spearman 0.90).",)
    with pytest.raises(ValueError, match="spearman, overlap"):
        result.pairs("kendall")


def test_undefined_pair_plus_agreeing_rest():
    result = agreement({"lime": attr("lime", [1.0, 2, 3]), "shap": attr("shap", [1.0, 2, 3]),
                        "ig": attr("ig", [2.0, 2, 2])})
    assert result.flags[-1] == "The other pairs broadly agree (lowest Spearman 1.00)."
    assert len(result.flags) == 3  # lime|ig and shap|ig cannot be compared


def test_fewer_than_two_methods():
    one = agreement({"lime": attr("lime", BASE)})
    assert one.pairs() == {}
    assert one.flags == ("Agreement needs at least two methods; only LIME was run.",)
    none = agreement({})
    assert none.pairs() == {} and none.spearman.empty
    assert "at least two methods" in none.flags[0]


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="top_k"):
        agreement({"lime": attr("lime", BASE)}, top_k=0)
    with pytest.raises(ValueError, match="differ in shape"):
        agreement({"lime": attr("lime", [1.0, 2]), "shap": attr("shap", [1.0, 2, 3])})


def test_pool_image_shapes_and_sums():
    values = np.arange(16 * 16 * 3, dtype="float64").reshape(16, 16, 3)
    pooled = pool_image(values, 4)
    assert pooled.shape == (4, 4)
    assert pooled[0, 0] == pytest.approx(values[:4, :4].sum())
    assert pool_image(np.ones((10, 10, 1)), 4).shape == (3, 3)
    assert pool_image(np.ones((10, 10, 1)), 4)[2, 2] == 4.0  # a partial 2x2 corner block
    assert pool_image(np.ones((5, 7)), 1).shape == (5, 7)
    assert [image_block(s, s) for s in (8, 16, 28, 224)] == [1, 2, 4, 28]
    with pytest.raises(ValueError):
        pool_image(np.ones(5), 2)


def test_images_are_pooled_before_comparing():
    rng = np.random.default_rng(0)
    smooth = np.repeat(np.repeat(rng.normal(size=(8, 8)), 2, 0), 2, 1)[..., None]
    noisy = smooth + rng.normal(scale=1e-3, size=smooth.shape)
    atts = {"gradxinput": attr("gradxinput", noisy), "ig": attr("ig", smooth)}
    vectors = comparable_vectors(atts)
    assert {v.shape for v in vectors.values()} == {(64,)}  # 16x16 -> 8x8 regions
    result = agreement(atts)
    assert result.spearman.at["gradxinput", "ig"] > 0.99
    assert "regions" not in result.flags[0]  # they agree
    reversed_ = agreement({"gradxinput": attr("gradxinput", smooth),
                           "ig": attr("ig", -smooth)}, top_k=3)
    assert reversed_.spearman.at["gradxinput", "ig"] == pytest.approx(-1.0)


def test_attributions_frame_tabular_and_text():
    atts = {"shap": attr("shap", [0.1, -0.2, 0.3]), "lime": attr("lime", [1.0, 2, 3])}
    frame = attributions_frame(atts, ["alcohol", "ash", "hue"])
    assert list(frame.columns) == ["index", "feature", "lime", "shap"]
    assert frame.shape == (3, 4)
    assert frame["feature"].tolist() == ["alcohol", "ash", "hue"]
    assert frame["shap"].tolist() == [0.1, -0.2, 0.3]
    tokens = ("the", "film", "the")
    text = attributions_frame({"ig": attr("ig", [0.1, 0.5, -0.1], feature_names=tokens)})
    assert text["feature"].tolist() == ["the", "film", "the"]
    assert attributions_frame({"ig": attr("ig", [1.0, 2])})["feature"].tolist() == [
        "feature 0", "feature 1"]
    with pytest.raises(ValueError, match="2 feature names for 3"):
        attributions_frame(atts, ["a", "b"])
    assert attributions_frame({}).empty


def test_attributions_frame_image():
    values = np.arange(4 * 5 * 3, dtype="float64").reshape(4, 5, 3)
    frame = attributions_frame({"gradcam": attr("gradcam", values),
                                "saliency": attr("saliency", -values)})
    assert frame.shape == (60, 5)
    assert list(frame.columns) == ["row", "col", "channel", "saliency", "gradcam"]
    row = frame.iloc[3 * 5 * 3 + 2 * 3 + 1]  # pixel (3, 2), channel 1
    assert (row["row"], row["col"], row["channel"]) == (3, 2, 1)
    assert row["gradcam"] == values[3, 2, 1] and row["saliency"] == -values[3, 2, 1]
    assert isinstance(frame, pd.DataFrame)
    frame.to_csv(index=False)  # CSV-ready


def test_names_and_labels_mirror_the_registry():
    from components.explain.agreement import METHOD_LABELS, METHOD_ORDER
    from components.explain.methods import REGISTRY

    assert tuple(REGISTRY) == METHOD_ORDER
    assert {name: e.label for name, e in REGISTRY.items()} == METHOD_LABELS


# ---------------------------------------------------------------- like with like


def test_contributions_and_sensitivities_are_never_ranked_together():
    # saliency is the exact reverse of the contributions: compared, it would be flagged as
    # pointing the opposite way; it is a sensitivity, so it is not compared at all
    atts = {"lime": attr("lime", BASE), "shap": attr("shap", BASE),
            "saliency": attr("saliency", -np.asarray(BASE)),
            "smoothgrad": attr("smoothgrad", -np.asarray(BASE))}
    result = agreement(atts)
    assert dict(result.kinds) == {"lime": "contribution", "shap": "contribution",
                                  "saliency": "sensitivity", "smoothgrad": "sensitivity"}
    for a in ("lime", "shap"):
        for b in ("saliency", "smoothgrad"):
            assert not result.compared(a, b)
            for frame in (result.spearman, result.overlap):
                assert math.isnan(frame.at[a, b]) and math.isnan(frame.at[b, a])
    assert result.spearman.at["saliency", "smoothgrad"] == pytest.approx(1.0)
    assert result.flags == ("LIME and SHAP broadly agree (Spearman 1.00).",
                            "Saliency and SmoothGrad broadly agree (Spearman 1.00).")
    assert not any("opposite" in f for f in result.flags)
    assert result.note.startswith("Contributions are ranked only against contributions and "
                                  "sensitivities against sensitivities (contributions: LIME, "
                                  "SHAP; sensitivities: Saliency, SmoothGrad)")
    assert result.pairs()["lime|saliency"] is None
    assert result.pairs()["lime|shap"] == pytest.approx(1.0)


def test_a_group_flags_its_own_disagreement_by_kind():
    atts = {"lime": attr("lime", BASE), "shap": attr("shap", BASE),
            "ig": attr("ig", BASE), "saliency": attr("saliency", BASE),
            "smoothgrad": attr("smoothgrad", -np.asarray(BASE))}
    result = agreement(atts)
    assert result.flags == (
        "All 3 contributions broadly agree (lowest Spearman 1.00).",
        "Saliency and SmoothGrad point in opposite directions (Spearman \u22121.00).")


def test_a_lone_method_of_its_kind_is_compared_with_none():
    result = agreement({"shap": attr("shap", BASE), "saliency": attr("saliency", BASE)})
    assert math.isnan(result.spearman.at["shap", "saliency"])
    assert result.flags == ("Agreement needs at least two methods of the same kind; SHAP a "
                            "contribution and Saliency a sensitivity.",)
    three = agreement({"shap": attr("shap", BASE), "ig": attr("ig", BASE),
                       "gradcam": attr("gradcam", np.abs(BASE))})
    assert three.flags == ("SHAP and Integrated Gradients broadly agree (Spearman 1.00).",)
    assert three.note.endswith("Grad-CAM is the only sensitivity, so it is compared with none.")


def test_lime_slopes_are_sensitivities_and_ranked_as_such():
    slopes = attr("lime", BASE, output_kind="sensitivity")
    result = agreement({"lime": slopes, "shap": attr("shap", BASE),
                        "saliency": attr("saliency", BASE)})
    assert result.kinds["lime"] == "sensitivity"
    assert result.compared("lime", "saliency") and not result.compared("lime", "shap")
    assert result.spearman.at["lime", "saliency"] == pytest.approx(1.0)
    assert math.isnan(result.spearman.at["lime", "shap"])
    assert slopes.to_json()["output_kind"] == "sensitivity"
    with pytest.raises(ValueError, match="contribution, sensitivity"):
        attr("lime", BASE, output_kind="slope")


def test_pair_table_lists_compared_pairs_in_words():
    from components.explain.agreement import pair_table

    atts = {"lime": attr("lime", [0.0, 0, 0, 0]), "shap": attr("shap", [1.0, 2, 3, 4]),
            "ig": attr("ig", [1.0, 2, 4, 3]), "saliency": attr("saliency", [1.0, 2, 3, 4])}
    table = pair_table(agreement(atts, top_k=2))
    assert list(table.columns) == ["pair", "Spearman", "top-2 overlap"]
    assert table["pair"].tolist() == ["LIME / SHAP", "LIME / Integrated Gradients",
                                      "SHAP / Integrated Gradients"]  # no saliency pair
    assert table.iloc[0].tolist() == ["LIME / SHAP", "n/a", "n/a"]
    assert table.iloc[2].tolist() == ["SHAP / Integrated Gradients", "0.80", "1.00"]
    assert "None" not in table.to_string()
    assert pair_table(agreement({"lime": attr("lime", BASE)})).empty


def test_contributions_from_different_references_say_so_when_they_disagree():
    a = [5.0, 4, 3, 2, 1, 0.5]
    b = [6.0, 3, 2, 1, 4, 5]  # unrelated rankings (Spearman 3/35)
    lime = attr("lime", a, extras={"reference": "background mean"})
    shap = Attribution(values=np.asarray(b), method="shap", target=0, seconds=0.1,
                       params={"background_size": 10})  # tabular SHAP: from the data's mean
    ig_zeros = attr("ig", b, extras={"baseline": "zeros"})
    result = agreement({"lime": lime, "ig": ig_zeros, "gradxinput": attr("gradxinput", a)},
                       top_k=3)
    assert result.flags == (
        "LIME and Integrated Gradients disagree: their feature rankings are unrelated "
        "(Spearman 0.09) and they share 1 of their top 3 features; they measure from "
        "different references (LIME: the data's mean, Integrated Gradients: an all-zero "
        "input).",
        # both from zeros: no such words
        "Gradient × input and Integrated Gradients disagree: their feature rankings are "
        "unrelated (Spearman 0.09) and they share 1 of their top 3 features.")
    same = agreement({"lime": lime, "shap": shap}, top_k=3)
    assert "references" not in same.flags[0] and "disagree" in same.flags[0]
    ig_mean = attr("ig", b, extras={"baseline": "mean"})
    assert "references" not in agreement({"lime": lime, "ig": ig_mean}).flags[0]
    slopes = attr("lime", a, output_kind="sensitivity", extras={"reference": "background mean"})
    assert "references" not in agreement({"lime": slopes, "saliency": attr("saliency", b)}
                                         ).flags[0]
