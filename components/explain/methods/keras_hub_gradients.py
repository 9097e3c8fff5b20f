"""Gradients of a KerasHub text classifier at its token embeddings, summed per word.

The string-input model of `components.model.keras_hub_text.as_text_model` runs text ->
preprocessor -> classifier (backbone -> head) -> probabilities. Its gradients are taken where
LIT's Keras salience takes them: at the output of the backbone's ``token_embedding`` layer
(N, L, D), with the token ids (and the padding mask and segment ids made from them) given
alongside. A word's value is the sum over its word pieces and the embedding dimension; the
start and end tokens and the padding belong to no word (`WordPieceSpace.padding_sum`).
Words past the preprocessor's sequence length were cut before the model saw them: they get 0.
The words are those LIME and SHAP mask (`text_tokens.tokens_of`: the text split on
whitespace), so every method reports one value per word, in the same order.

Saliency and SmoothGrad read a word the way every text model's are read
(`gradients.token_values`): by default the dot product of the gradient with the token
embeddings, summed over the word's pieces (signed); with ``token_reduce="norm"`` the L2 norm
over the pieces and the embedding dimension, as LIT's "Grad L2 Norm" does. The raw gradient's
plain sum over the dimension is no reading at all here: these encoders add the token,
position and segment embeddings and normalise the sum (LayerNorm), which makes the output
invariant to shifting all of a token's embedding dimensions together, so that sum is zero for
every word. Gradient x input and Integrated Gradients multiply by the embedding first and
keep the signed sum.

`gradients.gradient_unavailable`, `gradients.gradient_space`, `gradients.input_gradients`
and `global_importance.token_rows` hand KerasHub models here (this module imports neither:
no import cycle); one compiled plan per model, cached like the other plans.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from components.explain.methods.base import Subject
from components.explain.methods.embedding_output import EmbeddingOutput
from components.explain.methods.text_tokens import tokens_of
from components.model import heartbeat
from components.model.keras_hub_text import task_model
from components.model.predict import GraphSafeNames, first_output

PROBE = ["the film was good", ""]
CHUNK = 256  # rows per compiled call, as `gradients.CHUNK`
_PLANS: weakref.WeakKeyDictionary[Any, KerasHubPlan] = weakref.WeakKeyDictionary()


def is_keras_hub_text(model: Any) -> bool:
    """Whether ``model`` is a KerasHub text classifier made readable by `as_text_model`."""
    return task_model(model) is not None


def unavailable(model: Any, label: str) -> str | None:
    """None if ``label`` can take gradients at this KerasHub model's token embeddings."""
    task = task_model(model)
    if getattr(task.backbone, "token_embedding", None) is None:
        return f"{label}: this KerasHub backbone has no token_embedding layer"
    try:
        plan_of(model)
    except Exception as exc:  # noqa: BLE001 - any build failure is a reason, on one line
        reason = " ".join(str(exc).split())[:200]
        return f"{label} cannot take gradients at this KerasHub model's token embeddings: " \
               f"{reason}"
    return None


def plan_of(model: Any) -> KerasHubPlan:
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = KerasHubPlan(model)
    return plan


class KerasHubPlan:
    """Compiled functions of one KerasHub text classifier: token ids of texts, their token
    embeddings, and d output[:, target] / d embeddings with the ids alongside."""

    def __init__(self, model: Any) -> None:
        import tensorflow as tf

        task = task_model(model)
        self.preprocessor = task.preprocessor
        layer = task.backbone.token_embedding
        tail = _layers_after(model, task)
        probe = self.preprocessor(tf.constant(PROBE))
        keys, self.length = set(probe), int(probe["token_ids"].shape[1])
        pad = getattr(self.preprocessor.tokenizer, "pad_token_id", 0) or 0

        def features(ids: Any) -> dict[str, Any]:
            # a single text: one segment (ids 0), padding wherever the pad id is
            made = {"token_ids": ids, "padding_mask": tf.not_equal(ids, pad),
                    "segment_ids": tf.zeros_like(ids)}
            return {key: made[key] for key in keys}

        def scores(feats: dict[str, Any]) -> Any:
            out = task(feats, training=False)
            for item in tail:
                out = item(out, training=False)
            return out

        ids_spec = tf.TensorSpec([None, self.length], tf.int32)
        self.embed = tf.function(lambda ids: layer(ids), input_signature=[ids_spec])
        self.dtype = tf.as_dtype(layer.compute_dtype)
        dim = int(layer.output_dim if hasattr(layer, "output_dim") else layer.embeddings.shape[1])
        point_spec = tf.TensorSpec([None, self.length, dim], self.dtype)

        def grads(point: Any, ids: Any, target: Any) -> tuple[Any, Any]:
            with GraphSafeNames(), tf.GradientTape() as tape:
                tape.watch(point)
                with EmbeddingOutput(layer, point):
                    out = _flat(first_output(scores(features(ids))))
                y = tf.gather(out, target, axis=1)
                total = tf.reduce_sum(y)
            return y, tape.gradient(total, point)

        self.grads = tf.function(grads, input_signature=[point_spec, ids_spec,
                                                         tf.TensorSpec([], tf.int32)])
        self._check(model)

    def _check(self, model: Any) -> None:
        """ValueError unless the model run on its own token embeddings gives its output."""
        import tensorflow as tf

        direct = np.asarray(_flat(first_output(model(tf.constant(PROBE), training=False))))
        ids = self.token_ids(PROBE)
        y, _ = self.grads(self.embed(tf.constant(ids)), tf.constant(ids),
                          tf.constant(0, tf.int32))
        if not np.allclose(direct[:, 0], np.asarray(y), rtol=1e-4, atol=1e-5):
            raise ValueError("the classifier does not reproduce its output from the token "
                             "embeddings and ids alone")

    def token_ids(self, texts: list[str]) -> np.ndarray:
        """The preprocessor's token ids of ``texts``: (N, L) int32."""
        import tensorflow as tf

        ids = self.preprocessor(tf.constant(list(texts), tf.string))["token_ids"]
        return np.asarray(ids, dtype=np.int32)

    def embed_ids(self, ids: np.ndarray) -> np.ndarray:
        """The token embeddings of ids (N, L): (N, L, D) float32, `CHUNK` rows a call."""
        import tensorflow as tf

        return np.concatenate([np.asarray(self.embed(tf.constant(ids[i:i + CHUNK])),
                                          dtype=np.float32) for i in range(0, len(ids), CHUNK)])

    def piece_counts(self, words: tuple[str, ...]) -> list[int]:
        """How many tokens the tokenizer makes of each word where it stands in the text:
        the growth of the token count over the text's prefixes (a BPE or SentencePiece
        token carries the space before it, so a word alone may split differently)."""
        import tensorflow as tf

        if not words:
            return []
        prefixes = [" ".join(words[:i + 1]) for i in range(len(words))]
        pieces = self.preprocessor.tokenizer(tf.constant(prefixes))
        # eager KerasHub tokenizers hand back lists of ids, in a graph a ragged tensor
        counts = [len(row) for row in pieces] if isinstance(pieces, list) else \
            np.asarray(pieces.row_lengths())
        return np.diff(np.concatenate([[0], np.asarray(counts)])).astype(int).tolist()

    def gradients(self, x: np.ndarray, target: int, ids: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        x = np.asarray(x, dtype=self.dtype.as_numpy_dtype)
        ids = np.broadcast_to(np.asarray(ids, dtype=np.int32), x.shape[:2])
        t = tf.constant(target, tf.int32)
        ys, gs = [], []
        for i in range(0, len(x), CHUNK):
            y, g = self.grads(tf.constant(x[i:i + CHUNK]), tf.constant(ids[i:i + CHUNK]), t)
            ys.append(np.asarray(y, dtype=np.float64))
            gs.append(np.asarray(g, dtype=np.float64))
            heartbeat.beat()
        return np.concatenate(ys), np.concatenate(gs)


def _layers_after(model: Any, task: Any) -> list[Any]:
    """The layers `as_text_model` put after the classifier (the probabilities), in order."""
    layers = list(model.layers)
    return layers[next(i for i, item in enumerate(layers) if item is task) + 1:]


def _flat(out: Any) -> Any:
    """The output as (N, k) float32."""
    import tensorflow as tf

    out = tf.cast(out, tf.float32)
    return out[:, None] if out.shape.rank == 1 else out


@dataclass(frozen=True)
class WordPieceSpace:
    """`gradients.GradientSpace`'s interface at a KerasHub model's token embeddings:
    ``point`` (1, L, D), ``ids`` (1, L) beside it, and ``pieces`` listing, for each word,
    the positions of its word pieces (empty for a word cut by the sequence length)."""

    model: Any
    point: np.ndarray
    kind: str
    tokens: tuple[str, ...] | None
    feature_names: tuple[str, ...] | None
    ids: np.ndarray | None = None
    positions: np.ndarray | None = None
    pieces: tuple[tuple[int, ...], ...] = ()

    @property
    def n_outputs(self) -> int:
        return int(np.prod(self.model.outputs[0].shape[1:]))

    def gradients(self, batch: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
        return plan_of(self.model).gradients(batch, target, self.ids)

    def values(self, per_element: np.ndarray, norm: bool = False) -> np.ndarray:
        """One value per word: the sum over its pieces and the embedding dimension, or with
        ``norm`` the L2 norm over both."""
        per_element = np.asarray(per_element, dtype=np.float64)
        if norm:
            squares = (per_element ** 2).sum(axis=-1)
            return np.sqrt([squares[list(at)].sum() if at else 0.0 for at in self.pieces])
        per_token = per_element.sum(axis=-1)
        return np.array([per_token[list(at)].sum() if at else 0.0 for at in self.pieces])

    def padding_sum(self, per_element: np.ndarray) -> float:
        """The part on no word (start/end tokens and padding) of a signed attribution."""
        per_element = np.asarray(per_element, dtype=np.float64)
        words = [p for at in self.pieces for p in at]
        return float(per_element.sum() - per_element[..., words, :].sum())


def word_space(subject: Subject, label: str = "") -> WordPieceSpace:
    """The `WordPieceSpace` of a text sample for a KerasHub text classifier (``label``, the
    method's, is kept for the callers' symmetry with `gradients.gradient_space`)."""
    model, sample = subject.model, subject.sample
    text = sample.decode("utf-8", "replace") if isinstance(sample, bytes) else str(sample)
    plan = plan_of(model)
    ids = plan.token_ids([text, ""])
    words = tokens_of(model, text)
    pieces = word_positions(ids[0], ids[1], plan.piece_counts(words))
    # ``positions``: the words' pieces; IG's baseline keeps the start/end tokens and padding
    return WordPieceSpace(model, np.asarray(plan.embed(ids[:1]), dtype=np.float32), "text",
                          words, words, ids=ids[:1], pieces=pieces,
                          positions=np.array([p for at in pieces for p in at], dtype=np.int64))


def word_positions(ids: np.ndarray, empty: np.ndarray, counts: list[int]
                   ) -> tuple[tuple[int, ...], ...]:
    """Each word's token positions in ``ids`` (one packed text), given the packed ids of the
    empty text (``empty``: where the start tokens end, how many end tokens follow) and each
    word's piece count. Positions past the text's last piece (cut by the sequence length,
    or the end tokens) are dropped."""
    differs = np.flatnonzero(ids != empty)
    start = int(differs[0]) if len(differs) else 1  # start tokens: [CLS], <s>...
    pad = empty[-1]
    end_tokens = int((empty != pad).sum()) - start
    last = int((ids != pad).sum()) - end_tokens  # one past the text's last piece
    out, at = [], start
    for count in counts:
        out.append(tuple(p for p in range(at, at + count) if p < last))
        at += count
    return tuple(out)


def token_rows(model: Any, texts: np.ndarray, groups: Any, method: str,
               attributions: Any) -> dict[str, Any]:
    """`global_importance.token_rows` for a KerasHub classifier: one value per word of each
    text, towards the row's class (Saliency as the gradient's dot product with the token
    embeddings, as on the explain page's default).

    ``groups`` are (target, sign, rows) as `global_importance._by_target` makes them;
    ``attributions(points, target, ids)`` gives the per-element attributions (N, L, D) of
    the method at the token embeddings. Returns ``tokens`` (R tuples of words) and
    ``values`` (R, most words) float64, NaN past each text's words.
    """
    plan = plan_of(model)
    texts = [str(t) for t in np.asarray(texts, dtype=object).reshape(-1)]
    packed = plan.token_ids([*texts, ""])
    ids, empty = packed[:-1], packed[-1]
    points = plan.embed_ids(ids)
    words = [tokens_of(model, text) for text in texts]
    values = np.full((len(texts), max([len(w) for w in words] + [1])), np.nan)
    for target, sign, rows in groups:
        attr = attributions(points[rows], target, ids[rows])
        for row, per_element in zip(rows, attr, strict=True):
            space = WordPieceSpace(model, points[row:row + 1], "text", words[row], words[row],
                                   ids=ids[row:row + 1],
                                   pieces=word_positions(ids[row], empty,
                                                         plan.piece_counts(words[row])))
            if method == "saliency":  # a raw gradient: read as g · e, the page's default
                per_element = per_element * points[row]
            per_word = space.values(per_element)
            values[row, :len(per_word)] = sign * per_word
    return {"tokens": words, "values": values}
