"""Margins sized from text (`components.plots.margins`): the estimates the pick-path
figures use instead of Plotly's automargin."""

import plotly.graph_objects as go
import pytest

from components.plots import margins


def test_text_width_follows_the_characters():
    assert margins.text_px("") == 0
    assert margins.text_px("iiii") < margins.text_px("abcd") < margins.text_px("MMMM")
    assert margins.text_px("abcd", 24) == pytest.approx(2 * margins.text_px("abcd", 12))
    # full-width characters (CJK) are about one font size each
    assert margins.text_px("图像分类") >= 4 * 12


def test_text_width_reads_markup_as_the_browser_shows_it():
    assert margins.text_px("a&lt;b") == pytest.approx(margins.text_px("a<b"))
    assert margins.text_px("<b>bold</b>") == pytest.approx(margins.text_px("bold"))
    # lines: the widest counts
    assert margins.text_px("short<br>a much longer line") == \
        pytest.approx(margins.text_px("a much longer line"))


def test_rotated_labels_reach_down_by_their_width():
    across, down = margins.tick_labels_px(["Integrated Gradients"], angle=40)
    flat_across, flat_down = margins.tick_labels_px(["Integrated Gradients"], angle=0)
    assert flat_down == pytest.approx(12 * margins.LINE)
    assert down > 5 * flat_down and across < flat_across


def test_number_labels_cover_the_range_with_the_step_decimals():
    labels = margins.number_labels(-4.3, 4.9)
    assert "\u22124" in labels and "4" in labels
    small = margins.number_labels(0.0012, 0.0057)
    assert all(len(label) >= 5 for label in small)  # 0.001..0.005
    assert margins.number_labels(1.0, 1.0) == ["0"]


def test_fixed_margins_turn_automargin_off_everywhere():
    fig = go.Figure(go.Bar(x=[1], y=["a"])).update_layout(title="t", xaxis2={"anchor": "y"})
    margins.fixed_margins(fig, left=100, right=0, top=40, bottom=5)
    assert fig.layout.xaxis.automargin is False and fig.layout.yaxis.automargin is False
    assert fig.layout.xaxis2.automargin is False and fig.layout.title.automargin is False
    assert (fig.layout.margin.l, fig.layout.margin.r, fig.layout.margin.t,
            fig.layout.margin.b) == (106, 0, 46, 5)
