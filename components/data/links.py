"""What a link asked for that cannot be opened, in one plain line each.

A link (``?sample=…&row=…&methods=…&target=…``) that names something missing is not
refused: the app opens what it can and says, once, what it ignored. These functions only
word that; the sidebar and the explain page decide what to open instead. Every quoted value
comes from the address bar, so it is an `excerpt` (short, control characters escaped) and
is shown as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.errors import excerpt

# ?model=, ?file=, ?sample=: what each names, for "no … named 'x'"
MODEL_PARAMS = {"model": "stored model", "file": "model in the server's folder",
                "sample": "sample"}


def model_note(param: str, value: str, opened: str) -> str:
    """``no sample named 'nosuch': opened the default sample`` (``opened`` says what was)."""
    what = MODEL_PARAMS.get(param, param)
    return f"no {what} named '{excerpt(value, 40)}': opened {opened}"


def row_note(value: str | None, n_rows: int) -> str | None:
    """Why the link's ``row`` cannot be shown, or None when it can (or names none)."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isascii() and text.isdigit():
        row = int(text)
        if row < n_rows:
            return None
        if n_rows == 0:
            return f"row {row} cannot be shown: the dataset has no rows"
        return f"row {row} is past the last row ({n_rows - 1}): showing row 0"
    return f"'{excerpt(text, 20)}' is not a row number: showing row 0"


def methods_note(value: str | None, offered: Sequence[str],
                 known: Sequence[str]) -> str | None:
    """The link's methods that were ignored (unknown names, or methods that do not apply to
    this model), or None when it names none or only usable ones."""
    if not value:
        return None
    names = [m for m in str(value).split(",") if m]
    unknown = [m for m in names if m not in known]
    unusable = [m for m in names if m in known and m not in offered]
    parts = []
    if unknown:
        parts.append("no method " + ", ".join(f"'{excerpt(m, 20)}'" for m in unknown[:4]))
    if unusable:
        parts.append(", ".join(unusable) + " do" + ("es" if len(unusable) == 1 else "")
                     + " not apply to this model")
    if not parts:
        return None
    usable = [m for m in names if m in offered]
    then = "using the rest" if usable else "using every method that applies"
    return f"{'; '.join(parts)}: {then}"


def target_note(value: str | None, n_targets: int) -> str | None:
    """Why the link's ``target`` was ignored, or None when it names a valid output."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lstrip("-").isascii() and text.lstrip("-").isdigit():
        target = int(text)
        if 0 <= target < n_targets:
            return None
        last = f"0\u2013{n_targets - 1}" if n_targets > 1 else "0"
        return (f"target {target} is not an output of this model ({last}): "
                "explaining the predicted output")
    return f"target '{excerpt(text, 20)}' is not an output number: explaining the predicted output"
