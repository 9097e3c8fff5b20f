"""Fit token-id data to a model that reads token ids (see `components.data.tokens`).

Three shapes of data are accepted: a table of id columns (as many as the model's sequence
length), an NPY/NPZ integer array (N, L), or one text column whose words are looked up in an
uploaded vocabulary. The result is token text (N,) plus the `TokenCodec` that encodes it back
to ids; every id is checked against the Embedding's range first, by column and row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.data.tokens import TokenCodec, oov_of, padding_side, unpadded
from components.errors import excerpt, quote_value
from components.model.token_input import TokenInput

MAX_LISTED = 5


def fit_token_ids(ids: np.ndarray, names: list[str], spec: TokenInput,
                  vocab: tuple[str, ...] | None, mask_id: int | None
                  ) -> tuple[np.ndarray | None, TokenCodec | None, list[tuple[str, str]]]:
    """Id rows (N, L) as token text (N,) and their codec, or None and the failed checks.

    ``names`` are the L column names used in messages. Checks are (level, message) pairs.
    """
    checks: list[tuple[str, str]] = []
    length = spec.length
    if length is not None and ids.shape[1] != length:
        return None, None, [("error", f"the model reads {length} token ids per row, the data "
                                      f"has {ids.shape[1]} columns")]
    bad = _out_of_range(ids, names, spec.vocab_size)
    if bad:
        return None, None, [("error", bad)]
    codec = _codec(spec, vocab, mask_id, padding_side(ids))
    shown = np.array(codec.shown, dtype=object)
    texts = np.empty(len(ids), dtype=object)
    for i, row in enumerate(ids):
        keep = unpadded(row, codec.pad_id, codec.side)
        texts[i] = " ".join(shown[row[keep]])
    pad = "padding at the start" if codec.side == "pre" else "padding at the end"
    checks.append(("ok", f"{len(ids)} sequences of {ids.shape[1]} token ids in "
                         f"0..{spec.vocab_size - 1}, {pad} (id {codec.pad_id})"
                         + ("" if vocab else "; no vocabulary: tokens are shown as #id")))
    return texts, codec, checks


def fit_token_texts(texts: pd.Series, column: str, spec: TokenInput,
                    vocab: tuple[str, ...] | None, mask_id: int | None
                    ) -> tuple[np.ndarray | None, TokenCodec | None, list[tuple[str, str]]]:
    """Raw texts (N,) looked up word by word in ``vocab``: token text and its codec."""
    if not vocab:
        return None, None, [("error", f"text column '{excerpt(column)}': this model reads token "
                                      "ids; upload its vocabulary (one token per line, or "
                                      "JSON) beside the data, or the ids as columns")]
    codec = _codec(spec, vocab, mask_id, "post")
    ids = codec.ids_by_token
    lowered = {token.lower(): i for token, i in reversed(ids.items())}
    out = np.empty(len(texts), dtype=object)
    unknown: list[tuple[int, str]] = []
    for row, text in enumerate(texts.fillna("").astype(str)):
        words = []
        for word in text.split():
            found = ids.get(word, lowered.get(word.lower(), codec.oov_id))
            if found is None:
                unknown.append((row, word))
                continue
            words.append(codec.shown[found])
        out[row] = " ".join(words)
    if unknown:
        row, word = unknown[0]
        return None, None, [("error", f"text column '{excerpt(column)}': {len(unknown)} words "
                                      f"are not in the vocabulary and it has no [UNK] entry, "
                                      f"first {quote_value(word)} at row {row + 1}")]
    return out, codec, [("ok", f"text column '{excerpt(column)}': {len(out)} texts, looked "
                               f"up in a vocabulary of {len(vocab):,} tokens")]


def _codec(spec: TokenInput, vocab: tuple[str, ...] | None, mask_id: int | None,
           side: str) -> TokenCodec:
    return TokenCodec(spec=spec, vocab=vocab, pad_id=0, mask_id=0 if mask_id is None
                      else int(mask_id), side=side, oov_id=oov_of(vocab))


def _out_of_range(ids: np.ndarray, names: list[str], vocab_size: int) -> str | None:
    """The first id outside 0..vocab_size-1, by column and row, or None."""
    bad = (ids < 0) | (ids >= vocab_size)
    if not bad.any():
        return None
    row, col = (int(v) for v in np.argwhere(bad)[0])
    count = int(bad.sum())
    return (f"column '{excerpt(names[col])}': id {int(ids[row, col])} at row {row + 1} is "
            f"outside the Embedding's range 0..{vocab_size - 1}"
            + (f" ({count - 1} more ids out of range)" if count > 1 else ""))


def ids_from_table(frame: pd.DataFrame) -> tuple[np.ndarray | None, str | None]:
    """Integer id columns as (N, L) int64, or None and the first reason they are not ids."""
    values = frame.apply(pd.to_numeric, errors="coerce")
    nan = values.isna().to_numpy()
    if nan.any():
        row, col = (int(v) for v in np.argwhere(nan)[0])
        return None, (f"column '{excerpt(frame.columns[col])}': {quote_value(frame.iat[row, col])}"
                      f" at row {row + 1} is not a token id")
    arr = values.to_numpy(dtype="float64")
    frac = arr != np.round(arr)
    if frac.any():
        row, col = (int(v) for v in np.argwhere(frac)[0])
        return None, (f"column '{excerpt(frame.columns[col])}': {arr[row, col]:g} at row "
                      f"{row + 1} is not a whole number, so not a token id")
    big = np.abs(arr) > 2**31
    arr = np.where(big, -1, arr)  # reported as out of range, by column and row
    return arr.astype(np.int64), None
