"""Token-id sequences as text: how a model over integer token ids reads and shows its data.

A model whose integer input (N, L) feeds an `Embedding` reads token ids. Glassbox keeps
such data as *token text*: the tokens of one row, decoded through the vocabulary (or as
``#id`` without one), joined by single spaces, padding left out. Every text path (panels,
LIME's and SHAP's masks, the what-if editor, the report) then works on words, and
`TokenCodec.encode` turns token text back into the exact ids, padded on the data's side.

Masking a token replaces it by ``mask_id`` (the padding id unless the user picks another)
at the same position; no id is ever drawn that the data or the user did not give.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from components.errors import DataError, excerpt
from components.model.token_input import TokenInput

MAX_VOCAB = 1_000_000      # entries in a vocabulary file
MAX_VOCAB_BYTES = 64 * 2**20
MAX_TOKEN_CHARS = 200      # one vocabulary entry
_ID_TOKEN = re.compile(r"#(\d{1,9})")
_OOV_NAMES = ("[UNK]", "<unk>", "<UNK>", "[OOV]", "<oov>", "<OOV>", "UNK")


@dataclass(frozen=True)
class TokenCodec:
    """Token text <-> ids for one model and dataset.

    ``vocab`` maps id -> token (None: tokens are shown as ``#id``); ``pad_id`` fills short
    rows on ``side`` ("post" or "pre"); ``mask_id`` is what a masked token becomes.
    """

    spec: TokenInput
    vocab: tuple[str, ...] | None = None
    pad_id: int = 0
    mask_id: int = 0
    side: str = "post"
    oov_id: int | None = field(default=None)

    def __post_init__(self) -> None:
        if self.side not in ("post", "pre"):
            raise ValueError(f"side must be 'post' or 'pre', got {self.side!r}")
        for name in ("pad_id", "mask_id"):
            value = getattr(self, name)
            if not 0 <= value < self.spec.vocab_size:
                raise DataError(f"the {name.replace('_id', '')} id {value} is outside the "
                                f"Embedding's range 0..{self.spec.vocab_size - 1}")

    # ------------------------------------------------------------------ id <-> token

    @cached_property
    def shown(self) -> tuple[str, ...]:
        """id -> shown token; an entry that is empty, holds whitespace or repeats an earlier
        one is shown as ``#id`` so that every token reads back to exactly one id."""
        vocab = self.vocab or ()
        seen: set[str] = set()
        names = []
        for i in range(self.spec.vocab_size):
            token = vocab[i] if i < len(vocab) else ""
            clean = bool(token) and not any(c.isspace() for c in token) \
                and token not in seen and not _ID_TOKEN.fullmatch(token)
            names.append(token if clean else f"#{i}")
            seen.add(token)
        return tuple(names)

    @cached_property
    def ids_by_token(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.shown)}

    def token(self, token_id: int) -> str:
        """The shown token of one id."""
        return self.shown[int(token_id)]

    @property
    def mask_token(self) -> str:
        """The token a masked position becomes (the mask id's shown token)."""
        return self.token(self.mask_id)

    def id_of(self, token: str) -> int:
        """The id of one shown token; an unknown word is the OOV id, if the vocabulary has
        one, else `DataError`."""
        found = self.ids_by_token.get(token)
        if found is not None:
            return found
        if (m := _ID_TOKEN.fullmatch(token)) and int(m.group(1)) < self.spec.vocab_size:
            return int(m.group(1))
        if self.oov_id is not None:
            return self.oov_id
        raise DataError(f"the token {excerpt(token, 40)!r} is not in the vocabulary, which "
                        "has no out-of-vocabulary entry")

    # ------------------------------------------------------------------ rows

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """One row of ids (L,) as token text: padding on ``side`` dropped."""
        ids = np.asarray(ids).reshape(-1)
        keep = unpadded(ids, self.pad_id, self.side)
        return " ".join(self.shown[int(i)] for i in ids[keep])

    def tokens(self, text: str) -> tuple[str, ...]:
        """The tokens of one token text that the model reads (cut to its length)."""
        tokens = str(text).split()
        length = self.spec.length
        if length is not None and len(tokens) > length:
            tokens = tokens[:length] if self.side == "post" else tokens[-length:]
        return tuple(tokens)

    def positions(self, text: str) -> np.ndarray:
        """Where the tokens of ``text`` sit in the encoded row: (n_tokens,) int indices."""
        n = len(self.tokens(text))
        if self.side == "pre" and self.spec.length is not None:
            return np.arange(self.spec.length - n, self.spec.length)
        return np.arange(n)

    def encode(self, texts: Sequence[str] | np.ndarray) -> np.ndarray:
        """Token texts (N,) as ids (N, L) int32, padded with ``pad_id`` on ``side``."""
        texts = np.asarray(texts, dtype=object).reshape(-1)
        rows = [[self.id_of(t) for t in self.tokens(str(text))] for text in texts]
        length = self.spec.length or max((len(r) for r in rows), default=1) or 1
        out = np.full((len(rows), length), self.pad_id, dtype=np.int32)
        for i, row in enumerate(rows):
            if row:
                if self.side == "post":
                    out[i, :len(row)] = row
                else:
                    out[i, length - len(row):] = row
        return out

    def fill(self, tokens: tuple[str, ...], masks: np.ndarray) -> np.ndarray:
        """Token texts with the tokens flagged 0 in ``masks`` (N, n_tokens) replaced by the
        mask token, every other token in place: an object array (N,) of str."""
        masks = np.asarray(masks).astype(bool)
        out = np.empty(len(masks), dtype=object)
        if not tokens:
            out[:] = ""
            return out
        spaced = np.array([t + " " for t in tokens], dtype=object)
        summed = np.where(masks, spaced[None, :], self.mask_token + " ").sum(axis=1)
        out[:] = [text[:-1] for text in summed]
        return out


def unpadded(ids: np.ndarray, pad_id: int, side: str) -> np.ndarray:
    """A bool mask (L,) of the positions that are not padding on ``side``."""
    keep = np.ones(len(ids), dtype=bool)
    real = np.flatnonzero(ids != pad_id)
    if len(real) == 0:
        keep[:] = False
    elif side == "post":
        keep[real[-1] + 1:] = False
    else:
        keep[:real[0]] = False
    return keep


def padding_side(ids: np.ndarray, pad_id: int = 0) -> str:
    """"pre" when more rows of ``ids`` (N, L) start with padding than end with it."""
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] == 0:
        return "post"
    starts = int((ids[:, 0] == pad_id).sum())
    ends = int((ids[:, -1] == pad_id).sum())
    return "pre" if starts > ends else "post"


def oov_of(vocab: tuple[str, ...] | None) -> int | None:
    """The id of the vocabulary's out-of-vocabulary entry ("[UNK]", "<unk>", ...), if any."""
    for i, token in enumerate(vocab or ()):
        if token in _OOV_NAMES:
            return i
    return None


def read_vocabulary(data: bytes, filename: str) -> tuple[str, ...]:
    """A vocabulary file: one token per line (line i is id i), or a ``.json`` file (a list, or
    an object token -> id). Raises `DataError` with a one-line reason."""
    name = excerpt(filename, 60)
    if len(data) > MAX_VOCAB_BYTES:
        raise DataError(f"{name}: a vocabulary file is at most {MAX_VOCAB_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name}: a vocabulary file must be UTF-8 text") from None
    if filename.lower().endswith(".json"):
        vocab = _json_vocab(text, name)
    else:  # one token per line ("[PAD]" on the first line is a token, not JSON)
        vocab = text.split("\n")
        if vocab and vocab[-1] == "":
            vocab.pop()
        vocab = [v.rstrip("\r") for v in vocab]
    if not vocab:
        raise DataError(f"{name}: the vocabulary is empty")
    if len(vocab) > MAX_VOCAB:
        raise DataError(f"{name}: the vocabulary has more than {MAX_VOCAB:,} entries")
    long = next((i for i, v in enumerate(vocab) if len(v) > MAX_TOKEN_CHARS), None)
    if long is not None:
        raise DataError(f"{name}: entry {long} is longer than {MAX_TOKEN_CHARS} characters")
    return tuple(vocab)


def _json_vocab(text: str, name: str) -> list[str]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise DataError(f"{name}: not valid JSON") from None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, int)
                                       and not isinstance(v, bool) for k, v in value.items()):
        if not value:
            return []
        top = max(value.values())
        if min(value.values()) < 0 or top >= MAX_VOCAB:
            raise DataError(f"{name}: token ids must be in 0..{MAX_VOCAB - 1}")
        vocab = [""] * (top + 1)
        for token, i in value.items():
            vocab[i] = token
        return vocab
    raise DataError(f"{name}: a JSON vocabulary is a list of tokens or an object token -> id")
