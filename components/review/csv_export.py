"""CSV downloads that a spreadsheet opens as data, never as formulas (CSV injection).

A cell such as ``=HYPERLINK("http://…")`` or ``+cmd|' /C calc'!A0`` in an uploaded file's
column name or text cell would run as a formula when a user opens the exported CSV in Excel
or LibreOffice. Following OWASP's advice, text that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return (and, per ASVS 1.2.10, a NUL) gets a leading single quote.

Spreadsheets are more lenient than that list: they may trim leading spaces and read
full-width or other look-alike signs (``＝``, ``＋``, ``－``, ``＠``, ``﹦``, ``⁼``) as the ASCII
ones. So the test looks past leading whitespace of any kind (spaces, newlines, tabs, no-break
and ideographic spaces) and zero-width characters, at the NFKC-normalised text:
``"\u3000=1+1"``, ``" =1"`` and ``"＝HYPERLINK(…)"`` are all quoted. Only the test is
normalised; the cell is written as the original text behind the ``'``. Numbers stay numbers:
only ``str`` values are touched, so a negative float or int in a numeric column is written as
is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
FORMULA_SIGNS = ("=", "+", "-", "@")  # what may follow leading blanks, after NFKC
# Leading characters a spreadsheet may drop before it looks for a formula: any Unicode
# whitespace (space, \n, \r, \t, \xa0, \u3000, ...) and the zero-width ones (\ufeff is a BOM).
_LEADING_BLANKS = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*")
_HEAD_CHARS = 32  # normalise only this much of a long cell; one sign is all that is checked


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and _looks_like_formula(value):
        return "'" + value
    return value


def _looks_like_formula(text: str) -> bool:
    """Starts with a formula character, also after blanks or as a full-width look-alike."""
    if text.startswith(FORMULA_STARTS):
        return True
    head = text[_LEADING_BLANKS.match(text).end():][:_HEAD_CHARS]
    head = unicodedata.normalize("NFKC", head)
    return head[_LEADING_BLANKS.match(head).end():].startswith(FORMULA_SIGNS)


def to_csv(frame: pd.DataFrame, *, index: bool = False) -> str:
    """``frame.to_csv(index=index)`` with formulas neutralised in text cells and labels.

    Column names, index labels and level names are neutralised too (an uploaded file names
    the columns); numeric, boolean and date columns are left alone. Lines end in ``\\r\\n``
    (RFC 4180): then a cell holding a CR or LF is always quoted, so ``"x\\r=1+1"`` cannot
    start a new row whose first cell is a formula (with ``\\n`` endings a lone CR is not
    quoted).
    """
    out = frame.copy(deep=False)
    out.columns = _labels(out.columns)
    if index:
        out.index = _labels(out.index)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if _holds_text(column.dtype):
            out.isetitem(position, column.map(neutralise, na_action="ignore"))
    return out.to_csv(index=index, lineterminator="\r\n")


def _holds_text(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or isinstance(
        dtype, pd.StringDtype | pd.CategoricalDtype)


def _labels(labels: pd.Index) -> pd.Index:
    """An index (columns or rows) with its text labels and level names neutralised."""
    names = [neutralise(n) for n in labels.names]
    if isinstance(labels, pd.MultiIndex) and len(labels):
        tuples = [tuple(neutralise(v) for v in item) for item in labels]
        return pd.MultiIndex.from_tuples(tuples, names=names)
    if _holds_text(labels.dtype) and not isinstance(labels, pd.MultiIndex):
        return pd.Index([neutralise(v) for v in labels], dtype=object, name=names[0])
    return labels.set_names(names)


def trail_frame(rows: list[dict]) -> pd.DataFrame:
    """An audit trail's rows (`Store.export_rows`) as a table whose ``row`` column holds
    integers: pandas makes a column with a missing value float, and the CSV then said
    "3.0"; events without a row (report, export) stay empty cells."""
    frame = pd.DataFrame(rows)
    if "row" in frame.columns:
        frame["row"] = frame["row"].astype("Int64")
    return frame
