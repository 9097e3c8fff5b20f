"""Shapes as the pages print them: Keras' None batch axis in words, never a raw None."""

from __future__ import annotations

from components.inspect.overview import shape_text


def test_the_batch_axis_and_free_lengths_are_named():
    assert shape_text([None, 13]) == "(batch, 13)"
    assert shape_text((None, None, 8)) == "(batch, any, 8)"
    assert shape_text([None]) == "(batch,)"  # a string input: one text per row
    assert shape_text([2, 3]) == "(2, 3)"


def test_several_tensors_shared_layers_and_inputs():
    assert shape_text([[None, 4], [None, 6]]) == "(batch, 4), (batch, 6)"
    assert shape_text(None) == "shared (several)"
    assert shape_text([]) == "—"  # an input layer reads no tensor
    assert "None" not in shape_text([None, None])
