"""Tokens of a text sample, as the model's own `TextVectorization` layer sees them.

Every text method reports one value per token of `tokens_of(model, text)`, so LIME, SHAP and
the gradients line up position by position. The split is re-done in Python from the layer's
config (standardize, split, sequence length), which is how Keras documents them; a model
without such a layer is split on whitespace.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

# keras.layers.TextVectorization's documented default punctuation pattern.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')


def vectorizer_of(model: Any) -> Any | None:
    """The model's top-level `TextVectorization` layer, or None."""
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ == "TextVectorization":
            return layer
    return None


def tokens_of(model: Any, text: str) -> tuple[str, ...]:
    """The tokens the model reads from ``text``, truncated to its sequence length."""
    layer = vectorizer_of(model)
    config = layer.get_config() if layer is not None else {}
    standardize = config.get("standardize", None if layer is not None else "none")
    text = _standardize(str(text), standardize)
    if config.get("split", "whitespace") == "character":
        tokens = [c for c in text if not c.isspace()]
    else:
        tokens = text.split()
    length = config.get("output_sequence_length")
    return tuple(tokens[:length] if length else tokens)


def join_tokens(tokens: tuple[str, ...] | list[str], keep: np.ndarray | None = None) -> str:
    """The text again from its tokens; ``keep`` (n_tokens,) of bool drops the False ones."""
    if keep is None:
        return " ".join(tokens)
    return " ".join(t for t, k in zip(tokens, keep, strict=True) if k)


def masked_texts(tokens: tuple[str, ...], masks: np.ndarray) -> np.ndarray:
    """One text per row of ``masks`` (N, n_tokens) of 0/1: an object array (N,) of str,
    each equal to ``join_tokens(tokens, row)``.

    Built column-wise (each kept token plus a space, summed along the row as Python str,
    then the last space cut), which is ~5x faster than one join per row for the thousands
    of masks LIME and SHAP send.
    """
    masks = np.asarray(masks).astype(bool)
    out = np.empty(len(masks), dtype=object)
    if not tokens or len(masks) == 0:
        out[:] = ""
        return out
    spaced = np.array([t + " " for t in tokens], dtype=object)
    summed = np.where(masks, spaced[None, :], "").sum(axis=1)
    out[:] = [text[:-1] for text in summed]
    return out


def _standardize(text: str, how: str | None) -> str:
    if how in ("lower_and_strip_punctuation", "lower"):
        text = text.lower()
    if how in ("lower_and_strip_punctuation", "strip_punctuation"):
        text = _PUNCTUATION.sub("", text)
    return text
