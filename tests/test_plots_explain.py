"""Explanation figures: bar order and colours, overlay scales, escaped token text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from components.explain.methods.base import Attribution
from components.plots.explain import (
    AXIS_LINE_CHARS,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    agreement_heatmap,
    attribution_bars,
    feature_order,
    image_overlay,
    panel_title,
    timing_bars,
    token_heatmap,
)


def attr(method: str, values, **kw) -> Attribution:
    return Attribution(values=np.asarray(values, dtype="float64"), method=method, target=0,
                       params={}, seconds=0.1, **kw)


NAMES = ("alcohol", "ash", "hue", "proline", "magnesium")


def test_feature_order_is_shared_and_scale_free():
    # lime in tiny units, shap in big ones: normalising by each max lets both count
    lime = attr("lime", [0.01, 0.0, 0.002, 0.0, -0.009])
    shap = attr("shap", [0.0, 40.0, 0.0, -35.0, 30.0])
    order = feature_order({"lime": lime, "shap": shap}, top_k=3)
    # mean normalised |v|: f0 .5, f1 .5, f2 .1, f3 .4375, f4 .825 -> f4, f0, f1
    assert order == [4, 0, 1]
    assert feature_order({"lime": lime, "shap": shap}, top_k=10) == [4, 0, 1, 3, 2]
    assert feature_order({}, 3) == []
    with pytest.raises(ValueError, match="top_k"):
        feature_order({"lime": lime}, 0)
    with pytest.raises(ValueError, match="differ in size"):
        feature_order({"lime": lime, "ig": attr("ig", [1.0])}, 2)


def test_feature_order_only_picks_someones_top_k():
    # f2 is middling everywhere (mean .6) but in nobody's top 1; f0/f1 are each one's top
    a = attr("lime", [1.0, 0.0, 0.6])
    b = attr("shap", [0.0, 1.0, 0.6])
    assert feature_order({"lime": a, "shap": b}, top_k=1) == [0]
    # top 2 each: {0, 2} and {1, 2}; f2 is in both and has the highest mean
    assert feature_order({"lime": a, "shap": b}, top_k=2) == [2, 0]


def test_attribution_bars_order_colours_and_hover():
    values = [0.5, -0.2, 0.0, 0.9, -0.4]
    order = [3, 0, 4, 1, 2]
    fig = attribution_bars(attr("lime", values, feature_names=NAMES), order,
                           np.array([13.2, 2.4, 5.0, 1065.0, 101.0]), "LIME: class <b>1</b>")
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.y) == ["proline", "alcohol", "magnesium", "ash", "hue"]
    assert list(bar.customdata) == order
    assert list(bar.x) == [0.9, 0.5, -0.4, -0.2, 0.0]
    assert list(bar.marker.color)[:4] == [POSITIVE_COLOR, POSITIVE_COLOR, NEGATIVE_COLOR,
                                          NEGATIVE_COLOR]
    assert fig.layout.yaxis.autorange == "reversed"  # first of order on top
    assert "value in this sample 1065" in bar.hovertext[0]
    assert [(s.type, s.x0, s.x1) for s in fig.layout.shapes] == [("line", 0, 0)]
    assert fig.layout.title.text == "LIME: class &lt;b&gt;1&lt;/b&gt;"


def test_attribution_bars_shap_base_value_and_repeated_tokens():
    fig = attribution_bars(attr("shap", [0.25, -0.5, 0.75], base_value=0.2,
                                feature_names=("good", "<i>", "good")), [2, 1, 0], None,
                           "SHAP")
    assert "base value 0.2" in fig.layout.title.text
    assert "= 0.7" in fig.layout.title.text  # 0.2 + 0.25 - 0.5 + 0.75
    assert list(fig.data[0].y) == ["good [2]", "&lt;i&gt;", "good [0]"]
    assert "value in this sample" not in fig.data[0].hovertext[0]
    with pytest.raises(ValueError, match="outside"):
        attribution_bars(attr("ig", [1.0, 2.0]), [0, 2], None, "IG")
    with pytest.raises(ValueError, match="3 feature values for 2"):
        attribution_bars(attr("ig", [1.0, 2.0]), [0, 1], np.ones(3), "IG")


IMAGE = np.linspace(0, 255, 6 * 5).reshape(6, 5, 1)
MAP = np.zeros((6, 5, 1))
MAP[1, 1, 0], MAP[4, 3, 0], MAP[2, 2, 0] = 3.0, -6.0, 1.5


def test_image_overlay_signed_is_symmetric_and_normalised():
    fig = image_overlay(IMAGE, MAP, opacity=0.6, mode="signed", title="IG")
    base, heat = fig.data
    assert base.type == "heatmap" and base.colorscale[0][1] == "rgb(0, 0, 0)"  # grey
    assert np.nanmin(base.z) == 0.0 and np.nanmax(base.z) == 1.0
    z = np.asarray(heat.z)
    assert z.min() == -1.0 and z.max() == 0.5 and np.all(np.abs(z) <= 1)
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)
    assert heat.opacity == 0.6
    assert "±1" in heat.colorbar.title.text
    assert np.asarray(heat.customdata)[4, 3] == -6.0  # raw value on hover
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.xaxis.showticklabels is False
    # an image has no axis: no tick marks either (Streamlit's theme would draw them)
    assert fig.layout.xaxis.ticks == "" and fig.layout.yaxis.ticks == ""


def test_image_overlay_absolute_rgb_and_zero_map():
    rgb = np.random.default_rng(0).uniform(-1, 1, size=(6, 5, 3))
    values = np.repeat(MAP, 3, axis=2)  # summed over channels: 3x
    fig = image_overlay(rgb, values, opacity=0.4, mode="absolute", title="")
    base, heat = fig.data
    assert base.type == "image"
    z = np.asarray(heat.z)
    assert z.min() == 0.0 and z.max() == 1.0 and z[1, 1] == 0.5
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    zero = image_overlay(IMAGE, np.zeros((6, 5, 1)), opacity=0.5, mode="signed", title="")
    assert np.all(np.asarray(zero.data[1].z) == 0)


def test_image_overlay_rejects_bad_options():
    with pytest.raises(ValueError, match="signed, absolute"):
        image_overlay(IMAGE, MAP, opacity=0.5, mode="relative", title="")
    with pytest.raises(ValueError, match="opacity"):
        image_overlay(IMAGE, MAP, opacity=1.5, mode="signed", title="")
    with pytest.raises(ValueError, match="differ"):
        image_overlay(IMAGE, np.zeros((5, 5, 1)), opacity=0.5, mode="signed", title="")


def test_token_heatmap_grid_text_is_escaped():
    tokens = ["<b>", "great", "film", "&", "<script>", "not", "bad", "at", "all", "x", "y"]
    values = np.array([0.5, 2.0, 0.1, 0.0, -1.0, -0.5, 0.3, 0.0, 0.2, 0.0, 0.1])
    fig = token_heatmap(tokens, values, per_line=4, title="tokens")
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype="float64")
    assert z.shape == (math.ceil(11 / 4), 4)
    assert heat.text[0][0] == "&lt;b&gt;"
    assert heat.text[0][3] == "&amp;" and heat.text[1][0] == "&lt;script&gt;"
    assert heat.text[2][3] == ""  # padding
    assert np.isnan(z[2, 3]) and z[0, 1] == 1.0 and z[1, 0] == -0.5
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0) and heat.colorscale[0][1] != heat.colorscale[
        -1][1]
    assert np.asarray(heat.customdata, dtype="float64")[0, 1] == 2.0
    assert heat.texttemplate == "%{text}" and heat.hoverongaps is False
    assert fig.layout.yaxis.autorange == "reversed"
    assert np.asarray(token_heatmap(tokens[:3], values[:3]).data[0].z).shape == (1, 8)
    with pytest.raises(ValueError, match="per_line"):
        token_heatmap(tokens, values, per_line=0)
    with pytest.raises(ValueError, match="11 tokens but 3 values"):
        token_heatmap(tokens, values[:3])
    assert len(token_heatmap([], np.array([])).data) == 0


def test_timing_bars_in_registry_order():
    fig = timing_bars({"gradcam": 0.05, "shap": 2.5, "lime": 1.25})
    assert list(fig.data[0].x) == ["LIME", "SHAP", "Grad-CAM"]
    assert list(fig.data[0].y) == [1.25, 2.5, 0.05]
    assert list(fig.data[0].text) == ["1.25 s", "2.50 s", "0.05 s"]


def test_agreement_heatmap_annotated():
    methods = ["lime", "shap", "gradxinput"]
    matrix = pd.DataFrame([[1.0, 0.5, np.nan], [0.5, 1.0, -0.62], [np.nan, -0.62, 1.0]],
                          index=methods, columns=methods)
    heat = agreement_heatmap(matrix, "Spearman").data[0]
    assert list(heat.x) == ["LIME", "SHAP", "Gradient × input"]
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)
    assert heat.text[0] == ["1.00", "0.50", "n/a"]
    assert heat.text[1][2] == "\u22120.62"
    with pytest.raises(ValueError, match="square"):
        agreement_heatmap(matrix.iloc[:2], "")


# ---------------------------------------------------------------- what the panels say


def _lines(text: str) -> list[str]:
    """A Plotly title's visible lines: split at <br>, tags dropped."""
    import re

    return [re.sub(r"<[^>]+>", "", line) for line in text.split("<br>")]


def test_panels_say_contribution_or_sensitivity():
    assert panel_title(attr("shap", [1.0])) == "SHAP \u00b7 contribution"
    assert panel_title(attr("saliency", [1.0])) == "Saliency \u00b7 sensitivity"
    assert panel_title(attr("gradcam", [1.0])) == "Grad-CAM \u00b7 sensitivity"
    assert panel_title(attr("lime", [1.0], output_kind="sensitivity")) == \
        "LIME \u00b7 sensitivity"
    bars = attribution_bars(attr("smoothgrad", [0.5, -0.2]), [0, 1], title="x")
    assert _lines(bars.layout.xaxis.title.text)[0] == "sensitivity"


@pytest.mark.parametrize("method", ["lime", "saliency"])
def test_bar_axis_title_fits_a_narrow_panel(method):
    # A tabular panel is a third of the page: ~220 px of plot beside the feature names at
    # 1600 px. The old one-line title (40 characters, ~260 px) was cut at the figure's edge
    # ("pushes the output u"); each line now fits and the bottom margin grows to hold both.
    fig = attribution_bars(attr(method, [0.5, -0.2, 0.1], feature_names=NAMES[:3]),
                           [0, 1, 2], title="LIME")
    lines = _lines(fig.layout.xaxis.title.text)
    assert len(lines) == 2 and all(0 < len(line) <= AXIS_LINE_CHARS for line in lines)
    assert "red" in lines[1]
    # no automargin (a second draw on every pick): the bottom margin holds the tick
    # numbers, the standoff and both lines of the title
    assert fig.layout.xaxis.automargin is False
    assert fig.layout.margin.b >= 8 + 15 + 12 + 17 + 13


def test_agreement_heatmap_title_sits_above_the_labels():
    methods = ["lime", "ig", "gradxinput"]
    matrix = pd.DataFrame(np.eye(3), index=methods, columns=methods)
    fig = agreement_heatmap(matrix, "Spearman rank correlation")
    title = fig.layout.title
    # the labels under the matrix, the title above it (labels on top, rotated, ran into the
    # title placed in a fixed top margin); the labels lean left, away from the colour bar
    assert fig.layout.xaxis.side == "bottom" and fig.layout.xaxis.tickangle < 0
    assert title.yref == "paper" and (title.y, title.yanchor) == (1, "bottom")
    # margins sized from the labels, not by automargin (200 ms a draw in the browser)
    assert fig.layout.xaxis.automargin is False and title.automargin is False
    assert fig.layout.margin.t >= 16 * 1.25 + 8  # the title's line and its pad


def test_agreement_heatmap_margins_grow_with_its_labels():
    short = ["lime", "shap"]
    heat = agreement_heatmap(pd.DataFrame(np.eye(2), index=short, columns=short))
    methods = ["gradxinput", "smoothgrad"]  # "Gradient × input", "SmoothGrad"
    wide = agreement_heatmap(pd.DataFrame(np.eye(2), index=methods, columns=methods))
    assert wide.layout.margin.l > heat.layout.margin.l + 30
    assert wide.layout.margin.b > heat.layout.margin.b + 20


def test_agreement_heatmap_marks_pairs_not_compared():
    methods = ["lime", "shap", "saliency"]
    matrix = pd.DataFrame([[1.0, 0.8, np.nan], [0.8, 1.0, np.nan], [np.nan, np.nan, 1.0]],
                          index=methods, columns=methods)
    kinds = {"lime": "contribution", "shap": "contribution", "saliency": "sensitivity"}
    heat = agreement_heatmap(matrix, "", kinds).data[0]
    assert list(heat.text[0]) == ["1.00", "0.80", "not<br>compared"]
    assert list(heat.text[2]) == ["not<br>compared", "not<br>compared", "1.00"]
    assert heat.customdata[0][2] == "not compared: contribution vs sensitivity"
    assert heat.customdata[2][0] == "not compared: sensitivity vs contribution"
    # grouped by kind: each kind one block on the diagonal
    mixed = matrix.loc[["saliency", "lime", "shap"], ["saliency", "lime", "shap"]]
    assert list(agreement_heatmap(mixed, "", kinds).data[0].x) == ["LIME", "SHAP", "Saliency"]
    # without kinds a NaN is just undefined
    assert agreement_heatmap(matrix, "").data[0].text[0][2] == "n/a"
