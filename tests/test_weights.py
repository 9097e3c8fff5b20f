"""Weights: exact statistics and figures on tiny models whose weights are set in the test."""

from __future__ import annotations

from itertools import combinations, pairwise

import keras
import numpy as np
import pytest

from components.inspect.weights import (
    all_layers_table,
    dead_inputs,
    input_reader,
    per_column_layer,
    vocabulary,
    weight_summary,
)
from components.model.load import load_model_path
from components.model.samples import get_sample
from components.plots import model as plots
from components.plots.model_views import weights_view


@pytest.fixture(scope="module")
def tiny():
    """Dense 3 -> 2 with known weights (first input ignored), then BatchNorm."""
    model = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(2, name="d"),
                              keras.layers.BatchNormalization(name="bn")], name="tiny")
    kernel = np.array([[0.0, 0.0], [1.0, -2.0], [3.0, 0.0005]], dtype="float32")
    model.get_layer("d").set_weights([kernel, np.array([0.5, -0.5], dtype="float32")])
    return model, kernel


def test_summary_statistics_are_exact(tiny):
    model, kernel = tiny
    table = weight_summary(model)
    row = table[(table.layer == "d") & (table.weight == "kernel")].iloc[0]
    assert row["shape"] == "3x2" and row["count"] == 6
    assert row["mean"] == pytest.approx(kernel.mean())
    assert row["std"] == pytest.approx(kernel.std())
    assert (row["min"], row["max"]) == (-2.0, 3.0)
    assert row["l2_norm"] == pytest.approx(np.sqrt(1 + 4 + 9 + 0.0005**2))
    # near zero: |w| < 0.1 % of max |w| = 0.003 -> the two zeros and 0.0005
    assert row["near_zero_share"] == pytest.approx(3 / 6)
    assert row["dead_inputs"] == 1  # input 0's outgoing weights are all zero
    assert set(table.weight[table.layer == "bn"]) == {"gamma", "beta", "moving_mean",
                                                      "moving_variance"}


def test_dead_inputs_of_conv_kernels():
    kernel = np.ones((3, 3, 4, 5))
    kernel[:, :, 2, :] = 0
    assert dead_inputs(kernel) == 1
    assert dead_inputs(np.ones(4)) is None


def test_heatmap_has_the_kernel_shape_and_centres_at_zero(tiny):
    _, kernel = tiny
    fig = plots.weight_heatmap(kernel, layer="d", row_labels=["a", "b", "c"])
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == kernel.shape == (3, 2)
    assert heat.zmid == 0 and heat.zmin == -3.0 and heat.zmax == 3.0
    assert list(heat.y) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="needs a 2-D array"):
        plots.weight_heatmap(np.ones(3), layer="d")


def test_every_feature_name_of_a_kernel_has_its_own_line():
    """13 named rows got 14 px of a 320 px figure's plot area and Plotly showed every other
    name; now each row has 18 px and one tick per row."""
    names = [f"feature_{i}" for i in range(13)]
    fig = plots.weight_heatmap(np.ones((13, 16)), layer="d", row_labels=names)
    assert fig.layout.yaxis.dtick == 1
    assert _plot_px(fig) / 13 >= 18
    unnamed = plots.weight_heatmap(np.ones((200, 16)), layer="d")
    assert unnamed.layout.yaxis.dtick is None and unnamed.layout.height <= 900


def test_large_kernels_are_block_averaged_with_a_note():
    matrix = np.arange(400 * 10, dtype="float64").reshape(400, 10)
    shown, note = plots.downsample(matrix, max_side=200)
    assert shown.shape == (200, 10)
    np.testing.assert_allclose(shown[0], matrix[:2].mean(axis=0))
    assert note == "400x10 shown as 200x10: each cell is the mean of a 2x1 block"
    fig = plots.weight_heatmap(matrix, layer="big", row_labels=[str(i) for i in range(400)])
    assert "each cell is the mean" in fig.layout.title.text
    assert fig.data[0].y is None  # labels dropped once rows are merged


def test_conv_grid_one_heatmap_per_filter_and_channel_choice():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 5))
    grid = plots.conv_filter_grid(kernel, layer="c")
    assert len(grid.data) == 5
    np.testing.assert_allclose(grid.data[4].z, kernel[:, :, :, 4].mean(axis=2))
    one = plots.conv_filter_grid(kernel, layer="c", channel=1)
    np.testing.assert_allclose(one.data[0].z, kernel[:, :, 1, 0])
    capped = plots.conv_filter_grid(np.ones((3, 3, 1, 70)), layer="c")
    assert len(capped.data) == 64 and "first 64 of 70" in capped.layout.title.text
    with pytest.raises(ValueError, match="channel must be 'mean' or 0..1"):
        plots.conv_filter_grid(kernel, layer="c", channel=7)


def test_histogram_samples_huge_tensors_and_says_so():
    fig = plots.weight_histogram(np.zeros(1_500_000, "float32"), title="big")
    assert len(fig.data[0].x) == 1_000_000
    assert "random sample of 1,000,000 of 1,500,000" in fig.layout.title.text


def test_batchnorm_vectors_become_bars(tiny):
    model, _ = tiny
    view = weights_view(model, "bn")
    bars = view.figures[0]
    assert [a.text for a in bars.layout.annotations] == ["gamma", "beta", "moving_mean",
                                                         "moving_variance"]
    assert len(bars.data) == 4 and all(len(t.y) == 2 for t in bars.data)


@pytest.fixture(scope="module")
def samples():
    return {key: load_model_path(get_sample(key).model_path).model
            for key in ("wine_classifier", "digits_cnn", "sentiment_text")}


def test_first_dense_reading_the_columns_gets_feature_names(samples):
    wine = samples["wine_classifier"]
    names = get_sample("wine_classifier").feature_names
    assert input_reader(wine, len(names)) == "encoder/dense"
    view = weights_view(wine, "encoder/dense", feature_names=names)
    assert list(view.figures[0].data[0].y) == list(names)
    later = weights_view(wine, "cultivar", feature_names=names)
    assert later.figures[0].data[0].y is None


def test_embedding_projection_uses_the_vocabulary(samples):
    text = samples["sentiment_text"]
    vocab = vocabulary(text)
    assert vocab[:2] == ["", "[UNK]"] and len(vocab) <= 200
    view = weights_view(text, "embed")
    heat, projection = view.figures[0], view.figures[1]
    assert np.asarray(heat.data[0].z).shape == (200, 8)
    assert len(projection.data[0].x) == 200
    assert list(projection.data[0].hovertext[:3]) == vocab[:3]


def test_conv_layer_view_offers_its_channels(samples):
    view = weights_view(samples["digits_cnn"], "conv2")
    assert view.in_channels == 8 and len(view.figures[0].data) == 16


def test_conv_grid_draws_square_filters_with_room_for_them():
    """Each filter's y scale is pinned to its x scale, and each row of filters gets a
    filter's height in pixels: the grid was squashed into strips (the default 100 px top
    and 80 px bottom margins took most of a 300 px figure)."""
    grid = plots.conv_filter_grid(np.ones((3, 3, 2, 16)), layer="c")
    rows = 2
    for i in range(1, 17):
        suffix = "" if i == 1 else str(i)
        assert grid.layout[f"yaxis{suffix}"].scaleanchor == f"x{suffix}", i
        assert grid.layout[f"yaxis{suffix}"].scaleratio == 1
    assert _plot_px(grid) / rows >= 100  # one 3x3 filter: about as tall as it is wide (1/8 of ~900)
    wide = plots.conv_filter_grid(np.ones((1, 5, 1, 8)), layer="c")  # 1x5 kernels: low rows
    assert wide.layout.height < grid.layout.height
    one_row = plots.conv_filter_grid(np.ones((3, 3, 1, 8)), layer="c")
    assert _plot_px(one_row) >= 130  # the colour bar is as tall: room for its three ticks


def _plot_px(fig) -> float:
    margin = fig.layout.margin
    return fig.layout.height - (margin.t if margin.t is not None else 100) - (
        margin.b if margin.b is not None else 80)


def test_vector_bars_leave_room_for_each_row_title():
    """A subplot title sits in the gap above its row: the gap must hold it (16 px text),
    and the top margin the figure's title and the first row's title. Before, the gap was
    6 % of a 240 px plot area (14 px) and the second title overlapped the first plot."""
    rng = np.random.default_rng(0)
    fig = plots.vector_bars({"mean": rng.normal(size=13), "variance": rng.random(13),
                             "third": rng.random(13)}, layer="standardize")
    plot_px = _plot_px(fig)
    domains = [fig.layout[f"yaxis{'' if i == 1 else i}"].domain for i in (1, 2, 3)]
    for upper, lower in pairwise(domains):
        assert (upper[0] - lower[1]) * plot_px >= 30, (upper, lower, plot_px)
    assert all((top - bottom) * plot_px >= 100 for bottom, top in domains)
    assert fig.layout.margin.t >= 70


def test_normalization_axis_names_the_columns(samples):
    """Normalization reads the input columns: its bars are named by them, not indexed."""
    wine = samples["wine_classifier"]
    names = get_sample("wine_classifier").feature_names
    bars = weights_view(wine, "standardize", feature_names=names).figures[0]
    assert [a.text for a in bars.layout.annotations] == ["mean", "variance"]
    assert all(list(trace.x) == list(names) for trace in bars.data)
    assert bars.layout.xaxis2.title.text == "feature"
    unnamed = weights_view(wine, "standardize").figures[0]
    assert list(unnamed.data[0].x) == list(range(len(names)))
    assert unnamed.layout.xaxis2.title.text == "index"


def test_only_layers_before_the_first_kernel_are_per_column(tiny):
    """A BatchNorm after a Dense has as many entries as there are units, not columns."""
    model, _ = tiny
    assert per_column_layer(model, "bn", 2) is False
    bars = weights_view(model, "bn", feature_names=("u", "v")).figures[0]
    assert list(bars.data[0].x) == [0, 1]
    norm = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(name="bn0"),
                             keras.layers.Dense(2, name="d")])
    assert per_column_layer(norm, "bn0", 3) is True
    assert per_column_layer(norm, "bn0", 4) is False


def test_dead_inputs_are_blank_where_they_do_not_apply(tiny):
    """A missing number is drawn as "None" in a Streamlit table: a bias has no inputs to be
    dead, so its cell is blank text, and the kernel's count stays a count."""
    model, _ = tiny
    stats = weights_view(model, "d").stats
    assert list(stats["weight"]) == ["kernel", "bias"]
    assert list(stats["dead_inputs"]) == ["1", ""]
    table = all_layers_table(model)
    assert set(table["dead_inputs"][table.weight != "kernel"]) == {""}


def test_projection_labels_do_not_land_on_each_other():
    """Sixty labels on 200 points overlapped into a blot: a name is placed only where its
    box clears those placed before, ids no token maps to carry no label, and the limit holds."""
    same = np.zeros((4, 2))
    assert plots.label_spots(same, ["a", "b", "c", "d"], 60) == {0}  # one spot, one name
    apart = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert plots.label_spots(apart, ["a", "", "c", "d"], 60) == {0, 2, 3}
    assert plots.label_spots(apart, ["a", "b", "c", "d"], 2) == {0, 1}
    rng = np.random.default_rng(1)
    fig = plots.embedding_projection(rng.normal(size=(200, 8)), layer="e",
                                     tokens=[f"word{i}" for i in range(40)])
    text = list(fig.data[0].text)
    assert 0 < sum(bool(t) for t in text) <= 40 and not any(t.startswith("#") for t in text)
    assert list(fig.data[0].hovertext[40:42]) == ["#40", "#41"]
    coords = np.column_stack([fig.data[0].x, fig.data[0].y])
    px = (coords - coords.min(axis=0)) / np.ptp(coords, axis=0) * plots.PROJECTION_PX
    boxes = [(px[i, 0] - (7 * len(t) + 4) / 2, px[i, 0] + (7 * len(t) + 4) / 2, px[i, 1] + 4,
              px[i, 1] + 20) for i, t in enumerate(text) if t]
    for a, b in combinations(boxes, 2):
        assert a[1] <= b[0] or a[0] >= b[1] or a[3] <= b[2] or a[2] >= b[3], (a, b)
