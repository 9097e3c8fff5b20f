"""Do the explanation methods agree on this sample? Rank correlations, top-k overlaps, and
plain-language flags where they do not.

Like is compared with like: each attribution is a contribution (a share of the output's
move from a reference: SHAP, Integrated Gradients, Gradient x input, LIME) or a sensitivity
(how the output would react to a change: Saliency, SmoothGrad, Grad-CAM, LIME's slopes), its
``output_kind``. A contribution and a sensitivity answer different questions (a feature the
output is very sensitive to may sit at its reference and contribute nothing), so they are
never ranked against each other: their cells are NaN, their pairs not flagged, and the
`Agreement.note` says so.

Each method's values are flattened to one vector per method: tabular (f,) and text
(n_tokens,) as they are; images (h, w, c) are first summed over channels and pooled into
blocks (`pool_image`), so single-pixel noise does not decide the ranking. Two methods are
then compared by

* Spearman's rank correlation of their values, signed; but when either method is unsigned
  (Grad-CAM) the pair is compared on |values|, since an unsigned map says nothing of
  direction. A method that gives every feature the same value has no ranking: NaN.
* the top-k overlap: the share of their k largest |values| they have in common,
  k = min(top_k, number of features). NaN when a method's |values| are all equal (it has
  no top k).

Pure: no Streamlit, no TensorFlow. Method names, order and labels come from
`components.explain.methods.REGISTRY`; unknown method names still work, shown under their
own name after the known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from components.explain.methods import REGISTRY
from components.explain.methods.base import OUTPUTS, Attribution

# The registry is the one source of method names, order, labels and signedness (it imports
# no TensorFlow, lime or shap, so this module stays cheap to import).
METHOD_ORDER: tuple[str, ...] = tuple(REGISTRY)
METHOD_LABELS: dict[str, str] = {name: e.label for name, e in REGISTRY.items()}
UNSIGNED_METHODS: frozenset[str] = frozenset(n for n, e in REGISTRY.items() if not e.signed)

# Spearman thresholds for the flags. At or above DISAGREE_BELOW a pair "broadly agrees";
# between the two the rankings are unrelated; below OPPOSITE_BELOW they are reversed.
DISAGREE_BELOW = 0.3
OPPOSITE_BELOW = -0.3
GRID_SIDE = 8  # images are pooled to about GRID_SIDE x GRID_SIDE regions
PAIR_SEP = "|"
PAIR_STATS = ("spearman", "overlap")
# Plural nouns of the output kinds, for the sentences.
KIND_NOUNS = {"contribution": "contributions", "sensitivity": "sensitivities"}
NOT_COMPARED = "not compared"  # what a cell of a contribution x sensitivity pair says
# What a contribution is measured from, by the word its result records (LIME's "reference",
# IG's "baseline"), for the flags: two contributions from different references can rank the
# features differently and both be right.
REFERENCES = {"background mean": "the data's mean", "mean": "the data's mean",
              "zeros": "an all-zero input", "blur": "a blurred copy"}


def method_label(name: str) -> str:
    """What the page calls a method ("ig" -> "Integrated Gradients"); unknown: the name."""
    return METHOD_LABELS.get(name, name)


def ordered_methods(names: Sequence[str] | Mapping[str, object]) -> list[str]:
    """Method names in registry order; unknown names after, in their given order."""
    names = list(names)
    known = [m for m in METHOD_ORDER if m in names]
    return known + [m for m in names if m not in METHOD_ORDER]


@dataclass(frozen=True)
class Agreement:
    """Pairwise comparison of the methods run on one sample.

    ``spearman`` and ``overlap`` are square frames indexed by method name (registry order)
    on both axes, NaN where undefined and for pairs not compared (a contribution with a
    sensitivity); ``flags`` are sentences for the page, at least one. ``kinds`` maps each
    method to its output kind; ``note`` says how the kinds were kept apart ("" when every
    method is of one kind).
    """

    spearman: pd.DataFrame
    overlap: pd.DataFrame
    top_k: int
    flags: tuple[str, ...]
    kinds: Mapping[str, str] = field(default_factory=dict)
    note: str = ""

    def compared(self, a: str, b: str) -> bool:
        """Whether methods ``a`` and ``b`` were ranked against each other (same kind)."""
        return self.kinds.get(a) == self.kinds.get(b)

    def pairs(self, of: str = "spearman") -> dict[str, float | None]:
        """{"lime|shap": value, ...} for each unordered pair, in registry order; JSON-ready
        (plain floats, None for NaN). ``of`` is "spearman" or "overlap"."""
        if of not in PAIR_STATS:
            raise ValueError(f"of must be one of {', '.join(PAIR_STATS)}, not {of!r}")
        frame = self.spearman if of == "spearman" else self.overlap
        out: dict[str, float | None] = {}
        # A pair of different kinds is not compared: None, like an undefined one.
        for a, b in combinations(list(frame.index), 2):
            value = float(frame.at[a, b])
            out[f"{a}{PAIR_SEP}{b}"] = None if math.isnan(value) else value
        return out


def pair_table(result: Agreement) -> pd.DataFrame:
    """The compared pairs as a table for the page: columns "pair" ("LIME / SHAP"),
    "Spearman" and "top-k overlap", values as text with two decimals and "n/a" where
    undefined (the heatmap's words). Pairs of different output kinds are left out: they
    were not compared; the contributions' pairs come first. No pair: an empty frame with
    those columns."""
    methods = list(result.spearman.index)
    groups = kind_groups({m: result.kinds.get(m, "contribution") for m in methods})
    rows = []
    for group in groups.values():
        for a, b in combinations(group, 2):
            rows.append([f"{method_label(a)} / {method_label(b)}",
                         _cell(result.spearman.at[a, b]), _cell(result.overlap.at[a, b])])
    return pd.DataFrame(rows, columns=["pair", "Spearman", f"top-{result.top_k} overlap"])


def _cell(value: float) -> str:
    return "n/a" if math.isnan(float(value)) else _fmt(float(value))


def agreement(attributions: Mapping[str, Attribution], top_k: int = 5) -> Agreement:
    """Compare every pair of ``attributions`` (method name -> Attribution, one sample, one
    target) of the same output kind; pairs of different kinds stay NaN. Raises ValueError
    when top_k < 1 or the methods' values differ in shape."""
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, not {top_k!r}")
    top_k = int(top_k)
    methods = ordered_methods(attributions)
    vectors = comparable_vectors(attributions)
    n = len(next(iter(vectors.values()))) if vectors else 0
    k = min(top_k, n)
    kinds = {m: attributions[m].output_kind for m in methods}
    spearman = pd.DataFrame(np.nan, index=methods, columns=methods, dtype="float64")
    overlap = spearman.copy()
    for a in methods:
        for b in methods:
            if kinds[a] != kinds[b]:
                continue
            unsigned = a in UNSIGNED_METHODS or b in UNSIGNED_METHODS
            spearman.at[a, b] = spearman_rho(vectors[a], vectors[b], absolute=unsigned)
            overlap.at[a, b] = top_k_overlap(vectors[a], vectors[b], k)
    unit = _unit(attributions)
    groups = kind_groups(kinds)
    references = {m: reference_of(attributions[m]) for m in methods}
    flags = _flags(groups, spearman, overlap, k, vectors, unit, references)
    return Agreement(spearman=spearman, overlap=overlap, top_k=k, flags=tuple(flags),
                     kinds=kinds, note=_note(groups))


def reference_of(attribution: Attribution) -> str | None:
    """What a contribution is measured from, in words, where its result says so: tabular
    LIME and SHAP the data's mean, Gradient x input an all-zero input, IG its baseline;
    None for a sensitivity or where the result does not say (images, texts)."""
    if attribution.output_kind != "contribution":
        return None
    if attribution.method == "gradxinput":
        return REFERENCES["zeros"]
    if attribution.method == "shap" and "background_size" in attribution.params:
        return REFERENCES["mean"]  # tabular: the expected output over the data's summary
    word = attribution.extras.get("reference", attribution.extras.get("baseline"))
    return REFERENCES.get(word) if isinstance(word, str) else None


def kind_groups(kinds: Mapping[str, str]) -> dict[str, list[str]]:
    """Methods by output kind, kinds in `OUTPUTS` order, methods in the given order; only
    kinds that occur."""
    return {kind: [m for m, k in kinds.items() if k == kind] for kind in OUTPUTS
            if kind in kinds.values()}


def comparable_vectors(attributions: Mapping[str, Attribution],
                       block: int | None = None) -> dict[str, np.ndarray]:
    """One flat float vector per method, images pooled (see `pool_image`); NaN/inf -> 0.
    Raises ValueError when the methods' values differ in shape."""
    shapes = {name: np.shape(a.values) for name, a in attributions.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"attributions differ in shape and cannot be compared: {listed}")
    out = {}
    for name, attr in attributions.items():
        values = np.nan_to_num(np.asarray(attr.values, dtype="float64"), posinf=0.0,
                               neginf=0.0)
        if values.ndim == 3:
            side = block or image_block(values.shape[0], values.shape[1])
            values = pool_image(values, side)
        out[name] = values.ravel()
    return out


def image_block(height: int, width: int, grid_side: int = GRID_SIDE) -> int:
    """Block side in pixels that pools an image to about ``grid_side`` regions per side:
    16x16 -> 2 (8x8 regions), 28x28 -> 4 (7x7), 224x224 -> 28 (8x8); 1 for tiny images."""
    return max(1, math.ceil(max(height, width) / grid_side))


def pool_image(values: np.ndarray, block: int) -> np.ndarray:
    """An (h, w, c) or (h, w) map summed over channels, then over ``block`` x ``block``
    pixel blocks: (ceil(h / block), ceil(w / block)). Edge blocks are partial (zero-padded).
    Sum, not mean, so a partial block is not inflated."""
    if block < 1:
        raise ValueError(f"block must be a positive number of pixels, not {block!r}")
    plane = np.asarray(values, dtype="float64")
    if plane.ndim == 3:
        plane = plane.sum(axis=-1)
    if plane.ndim != 2:
        raise ValueError(f"pool_image needs an (h, w, c) or (h, w) map, got {np.shape(values)}")
    h, w = plane.shape
    rows, cols = -(-h // block), -(-w // block)
    padded = np.zeros((rows * block, cols * block))
    padded[:h, :w] = plane
    return padded.reshape(rows, block, cols, block).sum(axis=(1, 3))


def spearman_rho(a: np.ndarray, b: np.ndarray, *, absolute: bool = False) -> float:
    """Spearman's rank correlation of two equal-length vectors (of |values| when
    ``absolute``); NaN when either is constant or shorter than 2, without warnings."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    if absolute:
        a, b = np.abs(a), np.abs(b)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    # Pearson's r of the average ranks, which is what scipy's spearmanr computes; done here
    # in numpy because spearmanr's generic path took ~2 ms a pair, 60 ms a pick for 7 methods
    rho = float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])
    return rho if math.isfinite(rho) else math.nan


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, ties given their average rank (scipy's "average")."""
    _, where, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[where.ravel()]


def top_k_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest |values|; ties go to the lower index."""
    return np.argsort(-np.abs(np.asarray(values, dtype="float64")), kind="stable")[:k]


def top_k_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """|topk(a) ∩ topk(b)| / k by |value|; NaN when k < 1 or either has all |values| equal
    (its "top k" would be an arbitrary pick)."""
    if k < 1 or np.ptp(np.abs(a)) == 0 or np.ptp(np.abs(b)) == 0:
        return math.nan
    shared = np.intersect1d(top_k_indices(a, k), top_k_indices(b, k))
    return len(shared) / k


def attributions_frame(attributions: Mapping[str, Attribution],
                       feature_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The raw values for a CSV download: one row per feature, token or pixel-channel, one
    column per method (registry order, named by method name).

    Tabular and text: columns "index" and "feature" first; the names are ``feature_names``,
    else the first attribution's own ``feature_names`` (text: its tokens), else
    "feature 0".... Images: columns "row", "col", "channel" first, in C order.
    """
    methods = ordered_methods(attributions)
    if not methods:
        return pd.DataFrame()
    shapes = {np.shape(attributions[m].values) for m in methods}
    if len(shapes) > 1:
        raise ValueError(f"attributions differ in shape: {sorted(shapes)}")
    shape = shapes.pop()
    columns = {m: np.asarray(attributions[m].values, dtype="float64").ravel() for m in methods}
    if len(shape) == 3:
        row, col, channel = (a.ravel() for a in np.indices(shape))
        return pd.DataFrame({"row": row, "col": col, "channel": channel, **columns})
    if len(shape) != 1:
        raise ValueError(f"values must be (f,) or (h, w, c), got shape {shape}")
    n = shape[0]
    names = feature_names
    if names is None:
        names = next((attributions[m].feature_names for m in methods
                      if attributions[m].feature_names is not None), None)
    if names is None:
        names = [f"feature {i}" for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} feature names for {n} attribution values")
    return pd.DataFrame({"index": np.arange(n), "feature": [str(x) for x in names],
                         **columns})


# ---------------------------------------------------------------- flags


def _unit(attributions: Mapping[str, Attribution]) -> tuple[str, str]:
    """(plural, singular) noun for what is compared, for the flag sentences."""
    first = next(iter(attributions.values()), None)
    if first is not None and np.ndim(first.values) == 3:
        return "regions", "region"
    return "features", "feature"


def _fmt(x: float) -> str:
    """Two decimals with a real minus sign; no "-0.00"."""
    return f"{x + 0.0:.2f}".replace("-0.00", "0.00").replace("-", "\u2212")


def _flags(groups: Mapping[str, list[str]], spearman: pd.DataFrame, overlap: pd.DataFrame,
           k: int, vectors: Mapping[str, np.ndarray], unit: tuple[str, str],
           references: Mapping[str, str | None] | None = None) -> list[str]:
    """Sentences on each group of one output kind; a lone method of a kind is not flagged."""
    methods = [m for group in groups.values() for m in group]
    if len(methods) < 2:
        ran = f"only {method_label(methods[0])} was run" if methods else "none was run"
        return [f"Agreement needs at least two methods; {ran}."]
    ranked = {kind: group for kind, group in groups.items() if len(group) >= 2}
    if not ranked:
        listed = " and ".join(f"{method_label(group[0])} a {kind}"
                              for kind, group in groups.items())
        return [f"Agreement needs at least two methods of the same kind; {listed}."]
    flags: list[str] = []
    for kind, group in ranked.items():
        noun = None if len(groups) == 1 else KIND_NOUNS[kind]
        flags += _group_flags(group, noun, spearman, overlap, k, vectors, unit,
                              references or {})
    return flags


def _group_flags(methods: list[str], noun: str | None, spearman: pd.DataFrame,
                 overlap: pd.DataFrame, k: int, vectors: Mapping[str, np.ndarray],
                 unit: tuple[str, str], references: Mapping[str, str | None]) -> list[str]:
    """Flags on every pair of ``methods`` (one output kind, named ``noun`` when the page
    holds more than one kind, else None); a pair that disagrees from different
    ``references`` says so."""
    plural, singular = unit
    flags: list[str] = []
    defined: list[float] = []
    disagreeing = 0
    for a, b in combinations(methods, 2):
        la, lb = method_label(a), method_label(b)
        rho, share = float(spearman.at[a, b]), float(overlap.at[a, b])
        if math.isnan(rho):
            unsigned = a in UNSIGNED_METHODS or b in UNSIGNED_METHODS
            flat = [method_label(m) for m in (a, b)
                    if np.ptp(np.abs(vectors[m]) if unsigned else vectors[m]) == 0]
            who = " and ".join(flat) or f"{la} or {lb}"
            same = "a value of the same size" if unsigned else "the same value"
            flags.append(f"{la} and {lb} cannot be compared: {who} "
                         f"give{'' if len(flat) > 1 else 's'} every {singular} {same}.")
            continue
        defined.append(rho)
        if rho >= DISAGREE_BELOW:
            continue
        disagreeing += 1
        if rho < OPPOSITE_BELOW and (a in UNSIGNED_METHODS or b in UNSIGNED_METHODS):
            flags.append(f"{la} and {lb} rank the {plural} in nearly opposite order of "
                         f"importance (Spearman of |values| {_fmt(rho)}).")
        elif rho < OPPOSITE_BELOW:
            flags.append(f"{la} and {lb} point in opposite directions (Spearman {_fmt(rho)}).")
        else:
            shared = "" if math.isnan(share) else (
                f" and they share {round(share * k)} of their top {k} {plural}")
            flags.append(f"{la} and {lb} disagree: their {singular} rankings are unrelated "
                         f"(Spearman {_fmt(rho)}){shared}.")
        ra, rb = references.get(a), references.get(b)
        if ra and rb and ra != rb:
            flags[-1] = (f"{flags[-1][:-1]}; they measure from different references "
                         f"({la}: {ra}, {lb}: {rb}).")
    if disagreeing or not defined:
        return flags
    lowest = _fmt(min(defined))
    if flags:  # only pairs that could not be compared were flagged; say how the rest did
        pairs = "pairs" if noun is None else f"pairs of {noun}"
        return [*flags, f"The other {pairs} broadly agree (lowest Spearman {lowest})."]
    if len(methods) == 2:
        return [f"{method_label(methods[0])} and {method_label(methods[1])} broadly agree "
                f"(Spearman {lowest})."]
    return [f"All {len(methods)} {noun or 'methods'} broadly agree (lowest Spearman {lowest})."]


def _note(groups: Mapping[str, list[str]]) -> str:
    """How the kinds were kept apart, for the page; "" when all methods are of one kind."""
    if len(groups) < 2:
        return ""
    listed = "; ".join(f"{KIND_NOUNS[kind]}: {', '.join(method_label(m) for m in group)}"
                       for kind, group in groups.items())
    alone = [f"{method_label(group[0])} is the only {kind}, so it is compared with none."
             for kind, group in groups.items() if len(group) == 1]
    return " ".join([f"Contributions are ranked only against contributions and sensitivities "
                     f"against sensitivities ({listed}): a contribution is a feature's share "
                     f"of the output, a sensitivity how strongly the output would react if "
                     f"the feature changed, so their rankings need not match.", *alone])
