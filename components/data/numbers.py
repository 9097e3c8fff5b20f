"""Numbers as people read them: probabilities as percentages, other values in fixed decimals.

Python's ``:.3g`` writes a tiny probability as ``3.2e-06``, which reads as noise on a page;
these helpers never write an exponent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from components.text_safety import escape_markdown

TINY_PERCENT = 0.01  # below this many percent a probability reads "<0.01 %"


def percent(p: float) -> str:
    """A probability in [0, 1] as a percentage: ``"97.3 %"``, ``"0.42 %"``, ``"<0.01 %"``.

    One decimal from 1 % up, two below (so 0.4 % and 0.04 % stay apart); a probability that
    rounds to 100 % but is not 1 reads ``">99.99 %"`` (a softmax never quite reaches 1).
    """
    if p is None or not math.isfinite(float(p)):
        return "n/a"
    pct = 100.0 * float(p)
    if pct <= 0.0:
        return "0 %"
    if pct < TINY_PERCENT:
        return f"<{TINY_PERCENT:g} %"
    if pct >= 100.0:
        return "100 %"
    if pct > 100.0 - TINY_PERCENT:
        return f">{100 - TINY_PERCENT:g} %"
    # two decimals below 1 % and from 99.95 % (which one decimal would round up to 100 %)
    return f"{pct:.2f} %" if pct < 1.0 or pct >= 99.95 else f"{pct:.1f} %"


def decimal(value: float, digits: int = 4) -> str:
    """A value in fixed decimals with about ``digits`` significant digits and no exponent:
    ``152.3``, ``0.004213``, ``-1,234,568``; 0 and values under 1e-6 in size read ``0``."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    v = float(value)
    if abs(v) < 1e-6:
        return "0"
    magnitude = math.floor(math.log10(abs(v)))
    places = max(0, digits - 1 - magnitude)
    return f"{v:,.{places}f}"


def output_text(value: float, task: str) -> str:
    """A model output as shown beside a class or a target: a percentage for a classifier's
    probability (a value in [0, 1]), fixed decimals otherwise (regression, logits)."""
    if task != "regression" and value is not None and 0.0 <= float(value) <= 1.0:
        return percent(value)
    return decimal(value)


def feature_line(names: Sequence[str], values: np.ndarray,
                 most: int = 60) -> str:
    """The sample's features as one wrapping line of markdown, "name **value**" joined by
    " · ", the first ``most`` of them. Not a table: one row of 13 features ran past the
    page's width (cut at the right), and a data grid per pick cost the browser ~20 ms."""
    pairs = [f"{escape_markdown(str(n))} **{decimal(float(v))}**"
             for n, v in zip(names[:most], np.ravel(values)[:most], strict=False)]
    more = len(names) - most
    return " · ".join(pairs) + (f" · … {more:,} more in the table above" if more > 0 else "")
