"""CSV exports neutralise spreadsheet formulas in text, and leave numbers alone."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from components.review.csv_export import neutralise, to_csv


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://127.0.0.1:9/?"&A1)', "'=HYPERLINK(\"http://127.0.0.1:9/?\"&A1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-1", "'-1"),  # text that looks like a number is still text
    ("=", "'="),
    ("plain", "plain"),
    ("", ""),
    ("a=b", "a=b"),
    (" =1", "' =1"),  # issue 14: spreadsheets may trim the space, so blanks are looked past
    ("'=1", "'=1"),  # already neutral: not quoted twice
])
def test_neutralise_text(cell, written):
    assert neutralise(cell) == written


@pytest.mark.parametrize("value", [-1, -2.5, 0, True, None, np.float64(-3.0), np.int64(-7),
                                   float("-inf"), b"=bytes"])
def test_neutralise_leaves_non_text_alone(value):
    assert neutralise(value) is value


def test_text_cells_and_column_names_are_neutralised_numbers_are_not():
    frame = pd.DataFrame({
        "=label": ["=1+1", "+x", "-y", "@z", "ok", None],
        "score": [-1.5, -2.0, 3.0, 0.0, np.nan, -np.inf],
        "count": [-4, -3, -2, -1, 0, 1],
        "mixed": [-1, "-1", True, 2.5, None, "@"],
    })
    before = frame.copy()
    assert to_csv(frame) == (
        "'=label,score,count,mixed\r\n"
        "'=1+1,-1.5,-4,-1\r\n"
        "'+x,-2.0,-3,'-1\r\n"
        "'-y,3.0,-2,True\r\n"
        "'@z,0.0,-1,2.5\r\n"
        "ok,,0,\r\n"
        ",-inf,1,'@\r\n"
    )
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not changed


def test_string_and_category_dtypes():
    frame = pd.DataFrame({"s": pd.array(["=a", "b"], dtype="string"),
                          "c": pd.Categorical(["@c", "d"]),
                          "t": pd.Series(["+e", "f"], dtype="str")})
    assert to_csv(frame) == "s,c,t\r\n'=a,'@c,'+e\r\nb,d,f\r\n"


def test_index_labels_and_names_are_neutralised():
    frame = pd.DataFrame({"value": [1, -2]},
                         index=pd.Index(["=row", "-row"], name="@name"))
    assert to_csv(frame, index=True) == "'@name,value\r\n'=row,1\r\n'-row,-2\r\n"
    assert to_csv(frame) == "value\r\n1\r\n-2\r\n"  # index=False: no index at all


def test_numeric_index_is_untouched():
    frame = pd.DataFrame({"x": ["=a"]}, index=pd.Index([-5], name="id"))
    assert to_csv(frame, index=True) == "id,x\r\n-5,'=a\r\n"


def test_multiindex_columns_and_rows():
    columns = pd.MultiIndex.from_tuples([("=g", "-h"), ("a", "b")], names=["=level", None])
    frame = pd.DataFrame([[1, "=cell"]], columns=columns,
                         index=pd.MultiIndex.from_tuples([("+i", -1)], names=["@i", "n"]))
    assert to_csv(frame, index=True) == (
        "'=level,,'=g,a\r\n"
        ",,'-h,b\r\n"
        "'@i,n,,\r\n"
        "'+i,-1,1,'=cell\r\n"
    )


def test_duplicate_column_names_are_each_neutralised():
    frame = pd.DataFrame([["=a", "=b"]], columns=["=x", "=x"])
    assert to_csv(frame) == "'=x,'=x\r\n'=a,'=b\r\n"


def test_a_carriage_return_cannot_start_a_new_row():
    """With CRLF endings a cell holding a CR is quoted, so '=…' after it stays inside it."""
    frame = pd.DataFrame({"note": ["x\r=1+1", "y\n@SUM(1)"]})
    text = to_csv(frame)
    assert text == 'note\r\n"x\r=1+1"\r\n"y\n@SUM(1)"\r\n'
    assert pd.read_csv(io.StringIO(text))["note"].tolist() == ["x\r=1+1", "y\n@SUM(1)"]


def test_round_trip_keeps_numbers_numeric():
    frame = pd.DataFrame({"a": [-1.25, 2.0], "b": [-3, 4], "flag": [True, False]})
    back = pd.read_csv(io.StringIO(to_csv(frame)))
    pd.testing.assert_frame_equal(back, frame)


def test_empty_frames():
    assert to_csv(pd.DataFrame()) == "\r\n"
    assert to_csv(pd.DataFrame(columns=["=a", "b"])) == "'=a,b\r\n"


# ---------------------------------------------------------------- issue 14: look-alike prefixes


@pytest.mark.parametrize("cell", [
    '\uff1dHYPERLINK("http://127.0.0.1:9/?"&A1)',  # full-width =
    "\uff0b1",  # full-width +
    "\uff0d1",  # full-width -
    "\uff20SUM(A1)",  # full-width @
    "\ufe66cmd|' /C calc'!A0",  # small form =
    "\u207c1",  # superscript =
    "\u3000=1+1",  # ideographic space before =
    " =1",
    "   +1",
    "\n=1",
    "\r\n=1",
    "\t=1",
    "\xa0=1",  # no-break space
    "\u2003@x",  # em space
    "\ufeff=1",  # a byte-order mark inside the cell
    "\u200b-1",  # zero-width space
    " \u3000\uff1d1",  # blanks and a full-width sign together
    "-1",
    "@SUM(A1)",
    "\0=1",
])
def test_look_alike_and_indented_formulas_are_quoted(cell):
    assert neutralise(cell) == "'" + cell  # the original text is written, not the NFKC one


@pytest.mark.parametrize("cell", ["hello", "a=b", "\uff11\uff12\uff13", "1-2", "x@y.z",
                                  " hello", "\u3000text", "\n", " ", "\u00e9=1", "'\uff1d1",
                                  "\u2212" "1", "\u30001+1"])
def test_ordinary_text_is_not_quoted(cell):
    assert neutralise(cell) is cell


def test_long_cell_is_checked_by_its_head_only():
    cell = "\u3000" * 10 + "\uff1d" + "x" * 1_000_000
    assert neutralise(cell) == "'" + cell
    assert neutralise("x" + "\uff1d" * 1_000_000) == "x" + "\uff1d" * 1_000_000


def test_look_alikes_in_cells_and_column_names_through_to_csv():
    frame = pd.DataFrame({
        "\uff1dname": ["\uff0bx", " =1", "\u3000@y", "ok", "\uff11"],
        " -col": [-1.5, -2.0, 0.0, 1.0, np.nan],
        "n": [-1, -2, -3, 4, 5],
    })
    before = frame.copy()
    assert to_csv(frame) == (
        "'\uff1dname,' -col,n\r\n"
        "'\uff0bx,-1.5,-1\r\n"
        "' =1,-2.0,-2\r\n"
        "'\u3000@y,0.0,-3\r\n"
        "ok,1.0,4\r\n"
        "\uff11,,5\r\n"
    )
    pd.testing.assert_frame_equal(frame, before)


def test_newline_before_a_formula_is_quoted_inside_the_cell():
    frame = pd.DataFrame({"note": ["\n=1+1", "\r\n@SUM(1)"]})
    text = to_csv(frame)
    assert text == 'note\r\n"\'\n=1+1"\r\n"\'\r\n@SUM(1)"\r\n'
    assert pd.read_csv(io.StringIO(text))["note"].tolist() == ["'\n=1+1", "'\r\n@SUM(1)"]


def test_trail_rows_are_integers_in_the_csv():
    from components.review.csv_export import trail_frame

    rows = [{"id": 1, "action": "pin", "row": 3, "payload": "{}"},
            {"id": 2, "action": "report", "row": None, "payload": "{}"},
            {"id": 3, "action": "assess", "row": 12, "payload": "{}"}]
    text = to_csv(trail_frame(rows))
    lines = text.split("\r\n")
    assert lines[1] == "1,pin,3,{}" and lines[2] == "2,report,,{}" and lines[3] == "3,assess,12,{}"
    assert "3.0" not in text and "12.0" not in text
