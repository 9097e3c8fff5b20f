"""Every message a user sees is one short, inert line, whatever the input quotes; and a model
whose layers have non-ASCII names (accented, CJK) is explained like any other.

Security issue 14: a 65,598-character message listing a huge header's columns, a
52-million-character one quoting a 50 MB cell, ANSI escapes in a file name rewriting the
terminal line the CLI prints, bidi overrides in a column name reordering the message.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from components.data.checks import Check, fit_dataset
from components.data.read import RawData, read_data_bytes
from components.errors import (
    MAX_MESSAGE,
    BadModelFileError,
    DataError,
    GlassboxError,
    UnsafeModelError,
    excerpt,
    first_line,
    quote_names,
    quote_value,
)
from components.model.bundle import InputSpec
from components.text_safety import escape_markdown

EVIL = "\x1b[2K\rok: dataset accepted"
# Characters that must never reach a terminal or a page as themselves.
CONTROLS = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))]
INVISIBLE = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                              0x2028, 0x2029, 0x200B, 0x200C, 0x200D, 0xFEFF)]
WINE_NAMES = ("alcohol", "malic_acid", "ash")


def assert_inert(message: str, limit: int = MAX_MESSAGE) -> None:
    """One line, no control/bidi/zero-width character, at most ``limit`` characters."""
    assert len(message) <= limit, len(message)
    bad = [ch for ch in message if ch in CONTROLS or ch in INVISIBLE]
    assert not bad, (bad, message[:200])
    assert message.splitlines() == [message]


# ---------------------------------------------------------------- GlassboxError itself


@pytest.mark.parametrize("message", [
    "data.csv has no data rows",
    "expected 13 feature columns, got 12: missing 'magnesium'",
    "the model needed more than 2,048 MiB of memory (a 10×10 grid, ‘é’, 出力, …)",
    r"C:\data\wine.csv is empty",
])
@pytest.mark.parametrize("cls", [GlassboxError, UnsafeModelError, BadModelFileError, DataError])
def test_ordinary_messages_are_byte_identical(cls, message):
    err = cls(message)
    assert str(err) == message
    assert err.args == (message,)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("ch", CONTROLS)
def test_control_characters_are_escaped_visibly(ch):
    text = str(DataError(f"file 'a{ch}b.csv' is empty"))
    assert text == f"file 'a\\x{ord(ch):02x}b.csv' is empty"
    assert_inert(text)


@pytest.mark.parametrize("ch", INVISIBLE)
def test_bidi_and_zero_width_characters_are_escaped_visibly(ch):
    text = str(DataError(f"column 'ab{ch}cd' is empty"))
    assert text == f"column 'ab\\u{ord(ch):04x}cd' is empty"
    assert_inert(text)


def test_ansi_sequence_cannot_rewrite_the_line():
    text = str(DataError(f"{EVIL}.csv is not UTF-8 text"))
    assert text == "\\x1b[2K\\x0dok: dataset accepted.csv is not UTF-8 text"
    assert "\x1b" not in text and "\r" not in text


def test_a_huge_message_is_capped_fast():
    started = time.perf_counter()
    err = DataError("column 'a': first " + "x" * 52_000_000)
    text = str(err)
    assert time.perf_counter() - started < 2
    assert len(text) == MAX_MESSAGE and text.endswith("…")
    assert text.startswith("column 'a': first xxx")
    assert_inert(text)


def test_escaping_is_idempotent_when_messages_are_wrapped():
    """A message quoting another error's text (history.py, the worker) is escaped once."""
    inner = str(UnsafeModelError(f"archive member '{EVIL}' is a symbolic link"))
    outer = str(DataError(f"logs.zip: {DataError(inner)}"))
    assert outer == f"logs.zip: {inner}"
    assert_inert(outer)


# ---------------------------------------------------------------- the helpers


def test_excerpt_of_a_50_mb_value():
    cell = "=" + "A" * 50_000_000
    started = time.perf_counter()
    short = excerpt(cell)
    quoted = quote_value(cell)
    assert time.perf_counter() - started < 1
    assert short == "=" + "A" * 58 + "…" and len(short) == 60
    assert quoted.startswith("'=AAA") and quoted.endswith("…") and len(quoted) == 60
    assert excerpt(cell, 10) == "=AAAAAAAA…"


def test_excerpt_keeps_short_values_and_reprs_non_text():
    assert excerpt("alcohol") == "alcohol"
    assert excerpt(3.5) == "3.5"
    assert excerpt(None) == "None"
    assert excerpt("x" * 60) == "x" * 60
    assert excerpt("x" * 61) == "x" * 59 + "…"
    assert excerpt(f"a{EVIL}") == "a\\x1b[2K\\x0dok: dataset accepted"
    assert excerpt("ab\u202ecd") == "ab\\u202ecd"


def test_quote_value_matches_repr_for_short_values():
    for value in ("n/a?", "=HYPERLINK(\"http://127.0.0.1:9/\"&A1)", "it's", 3, 2.5, None):
        assert quote_value(value) == repr(value)
    assert quote_value("a\x1bb") == repr("a\x1bb") == "'a\\x1bb'"


def test_quote_names_lists_eight_then_counts():
    assert quote_names(["a", "b"]) == "'a', 'b'"
    assert quote_names([]) == ""
    many = quote_names(f"c{i}" for i in range(1_000_000))
    assert many == "'c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7' and 999992 more"


def test_quote_names_escapes_and_cuts_each_name():
    names = quote_names([f"a{EVIL}", "b\u202eevil", "x" * 5000])
    assert names == ("'a\\x1b[2K\\x0dok: dataset accepted', 'b\\u202eevil', "
                     f"'{'x' * 59}…'")
    assert_inert(names, 300)


def test_first_line_escapes_and_cuts_library_text():
    assert first_line(ValueError("Expected 3 fields in line 5, saw 4")) == \
        "Expected 3 fields in line 5, saw 4"
    assert first_line(ValueError("bad token \x1b[31mred\x07\nsecond line")) == \
        "bad token \\x1b[31mred\\x07"
    assert first_line(ValueError(f"bad token {EVIL}")) == "bad token \\x1b[2K"  # CR ends it
    assert first_line(ValueError("a\u2028b\u202ec")) == "a"  # U+2028 ends the line
    assert first_line(ValueError("p\u202eq")) == "p\\u202eq"
    assert first_line(ValueError("")) == "ValueError"
    long = first_line(ValueError("y" * 10_000))
    assert len(long) == 300 and long.endswith("…")


# ---------------------------------------------------------------- real messages


def test_a_million_column_header_gives_a_short_error():
    header = b",".join(b"c%d" % i for i in range(1_000_000))
    started = time.perf_counter()
    with pytest.raises(DataError) as info:
        read_data_bytes(header + b"\n" + b",".join([b"1"] * 1_000_000) + b"\n", "wide.csv")
    assert time.perf_counter() - started < 30
    assert_inert(str(info.value))
    assert str(info.value).startswith("wide.csv")


def test_duplicate_columns_of_a_wide_header_are_listed_then_counted():
    header = b",".join(b"d%d,d%d" % (i, i) for i in range(3000))
    with pytest.raises(DataError) as info:
        read_data_bytes(header + b"\n" + b",".join([b"1"] * 6000) + b"\n", "dup.csv")
    text = str(info.value)
    assert text.startswith("dup.csv has duplicate column names: 'd0', 'd1', ")
    assert text.endswith(" and 2992 more")
    assert_inert(text)


def test_too_many_columns_for_the_model_is_one_short_check():
    table = pd.DataFrame(np.ones((2, 5000), dtype="float32"),
                         columns=[f"c{i}" for i in range(5000)])
    ds = fit_dataset(RawData("wide.csv", table=table), InputSpec((13,), "float32"))
    [error] = [c.message for c in ds.checks if c.level == "error"]
    assert error == ("the model expects 13 feature columns, the file has 5000: 'c0', 'c1', "
                     "'c2', 'c3', 'c4', 'c5', 'c6', 'c7' and 4992 more")


def test_a_50_mb_cell_is_quoted_as_an_excerpt():
    table = pd.DataFrame({"alcohol": ["=" + "A" * 50_000_000, "1"], "malic_acid": [1.0, 2.0],
                          "ash": [1.0, 2.0]})
    started = time.perf_counter()
    ds = fit_dataset(RawData("big.csv", table=table), InputSpec((3,), "float32", WINE_NAMES))
    assert time.perf_counter() - started < 10
    [error] = [c.message for c in ds.checks if c.level == "error"]
    assert error.startswith("column 'alcohol': 1 non-numeric cells, first '=AAAA")
    assert error.endswith("… at row 1")
    assert_inert(error, 200)


def test_bidi_override_in_a_column_name_is_escaped():
    evil = "alcohol\u202elove\u2066"
    table = pd.DataFrame({evil: ["x"], "malic_acid": [1.0], "ash": [1.0]})
    ds = fit_dataset(RawData("bidi.csv", table=table),
                     InputSpec((3,), "float32", (evil, "malic_acid", "ash")))
    [error] = [c.message for c in ds.checks if c.level == "error"]
    assert error == "column 'alcohol\\u202elove\\u2066': 1 non-numeric cells, first 'x' at row 1"
    missing = fit_dataset(RawData("bidi.csv", table=table), InputSpec((3,), "float32",
                                                                      WINE_NAMES))
    [error] = [c.message for c in missing.checks if c.level == "error"]
    assert "unexpected 'alcohol\\u202elove\\u2066'" in error
    assert_inert(error)
    with pytest.raises(DataError) as info:
        fit_dataset(RawData("bidi.csv", table=table), InputSpec((3,), "float32"),
                    label="label\u202e")
    assert "'label\\u202e' not found" in str(info.value)
    assert_inert(str(info.value))


@pytest.mark.parametrize("value", [EVIL, "a\nb", "a\u2028b", "\u202eabc", "x" * 100_000])
def test_check_messages_are_single_line_and_inert(value):
    """A `Check` is shown without passing through `GlassboxError`: it is inert by itself."""
    check = Check("error", f"column '{value}': missing values at row 1")
    assert_inert(check.message)
    assert Check("ok", "13 numeric feature columns").message == "13 numeric feature columns"


def test_history_quotes_a_huge_cell_as_an_excerpt():
    from components.inspect.history import read_history_bytes

    data = b"epoch,loss\n0,0.5\n1," + b"Z" * 5_000_000 + b"\n"
    with pytest.raises(DataError) as info:
        read_history_bytes(data, "log.csv")
    text = str(info.value)
    assert text.startswith("log.csv: column 'loss' holds non-numbers, first 'ZZZ")
    assert_inert(text)


@pytest.mark.parametrize("ch", INVISIBLE + ["\x1b", "\x00", "\x85", "\x7f"])
def test_escape_markdown_neutralises_bidi_zero_width_and_controls(ch):
    assert escape_markdown(f"a{ch}b") == "a\ufffdb"


def test_escape_markdown_keeps_text_newlines_and_tabs():
    assert escape_markdown("é 出力\tx\ny") == "é 出力\tx\ny"


# ---------------------------------------------------------------- the CLI


def _cli(repo_root, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "components", *map(str, args)],
                            cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _one_inert_error_line(proc: subprocess.Popen) -> str:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert b"\x1b" not in err and b"\r" not in err and b"\xe2\x80\xae" not in err, err
    text = err.decode("utf-8")
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("error: ")
    assert len(lines[0]) < 300
    return lines[0]


def test_cli_error_lines_are_inert(samples, tmp_path, repo_root):
    model = samples["wine_classifier"].model_path
    named = tmp_path / f"wine{EVIL}.csv"
    named.write_text("a,b\n1,2\n")
    no_suffix = tmp_path / f"wine{EVIL}"
    no_suffix.write_text("a,b\n1,2\n")
    columns = tmp_path / "columns.csv"
    columns.write_text("\x1b[2Kok: dataset accepted,b\u202eevil\n1,2\n", encoding="utf-8")
    missing = tmp_path / f"missing{EVIL}.csv"
    procs = {name: _cli(repo_root, "check", model, path)
             for name, path in (("named", named), ("no suffix", no_suffix),
                                ("columns", columns), ("missing", missing))}
    procs["argv"] = _cli(repo_root, "inspect", model, f"extra{EVIL}")
    lines = {name: _one_inert_error_line(proc) for name, proc in procs.items()
             if name != "argv"}
    assert lines["named"].startswith("error: expected 13 feature columns, got 2")
    assert "unsupported file type" in lines["no suffix"]
    assert "unexpected '\\x1b[2Kok: dataset accepted', 'b\\u202eevil'" in lines["columns"]
    assert lines["missing"] == f"error: no such file: {excerpt(str(missing), 300)}"
    # argparse's own refusal repeats argv: also escaped
    _, err = procs["argv"].communicate(timeout=300)
    assert procs["argv"].returncode == 2
    assert b"\x1b" not in err and b"\r" not in err
    assert "unrecognized arguments: extra\\x1b[2K\\x0dok: dataset accepted" in err.decode()


# ---------------------------------------------------------------- non-ASCII layer names


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def unicode_mlp(keras):
    keras.utils.set_random_seed(7)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="dénse_ü"),
                             keras.layers.Dense(3, activation="softmax", name="出力")],
                            name="modèle")


@pytest.fixture(scope="module")
def unicode_cnn(keras):
    keras.utils.set_random_seed(7)
    inp = keras.Input((8, 8, 1), name="entrée")
    maps = keras.layers.Conv2D(4, 3, activation="relu", name="畳み込み")(inp)
    flat = keras.layers.Flatten(name="à plat")(maps)
    out = keras.layers.Dense(2, activation="softmax", name="sortie_é")(flat)
    return keras.Model(inp, out, name="モデル")


def _subject(model, x, background, kind):
    from components.explain.methods.base import Subject
    from components.model.predict import make_predict_fn

    return Subject(x=x, kind=kind, predict_fn=make_predict_fn(model), model=model,
                   background=background,
                   feature_names=("a", "b", "c", "d") if kind == "tabular" else None)


def test_graph_scope_name_only_touches_names_tensorflow_refuses():
    from components.model.predict import graph_scope_name

    assert graph_scope_name("dense_1") == "dense_1"
    assert graph_scope_name("sequential/dense/") == "sequential/dense/"
    assert graph_scope_name("dénse_ü") == "d_nse__"
    assert graph_scope_name("出力") == "x__"
    assert graph_scope_name("my layer") == "my_layer"
    assert graph_scope_name(None) is None


def test_tensorflow_is_unchanged_outside_the_safe_block(unicode_mlp):
    import tensorflow as tf

    from components.model.predict import GraphSafeNames, make_predict_fn

    make_predict_fn(unicode_mlp)(np.zeros((1, 4), "float32"))  # installs the wrapper
    graph = tf.Graph()
    with pytest.raises(ValueError, match="not a valid"), graph.name_scope("出力"):
        pass
    with GraphSafeNames(), graph.name_scope("出力") as scope:
        assert scope == "x__/"


def test_unicode_layer_names_predict(unicode_mlp):
    from components.model.predict import make_predict_fn

    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    scores = make_predict_fn(unicode_mlp)(x)
    assert scores.shape == (5, 3)
    np.testing.assert_allclose(scores, np.asarray(unicode_mlp(x)), rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in unicode_mlp.layers] == ["dénse_ü", "出力"]


def test_every_method_explains_a_model_with_unicode_layer_names(unicode_mlp):
    from components.explain.methods import REGISTRY

    background = np.random.default_rng(1).normal(size=(30, 4)).astype("float32")
    subject = _subject(unicode_mlp, background[:1], background, "tabular")
    explained = []
    for name, method in REGISTRY.items():
        reason = method.unavailable(subject)
        if name == "gradcam":
            assert reason and "images only" in reason
            continue
        assert reason is None, (name, reason)
        attribution = method.explain(subject, 1, seed=0)
        assert attribution.values.shape == (4,), name
        assert np.all(np.isfinite(attribution.values)), name
        explained.append(name)
    assert {"lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad"} <= set(explained)


def test_gradients_match_eager_gradients_with_unicode_names(unicode_mlp):
    import tensorflow as tf

    from components.explain.methods.gradients import input_gradients

    x = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    _, grads = input_gradients(unicode_mlp, x, 2)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        total = tf.reduce_sum(unicode_mlp(tx)[:, 2])
    np.testing.assert_allclose(grads, np.asarray(tape.gradient(total, tx)), rtol=1e-4,
                               atol=1e-6)


def test_image_methods_and_gradcam_with_unicode_names(unicode_cnn):
    from components.explain.methods import REGISTRY

    images = np.random.default_rng(3).random((12, 8, 8, 1)).astype("float32")
    subject = _subject(unicode_cnn, images[:1], images, "image")
    for name, method in REGISTRY.items():
        assert method.unavailable(subject) is None, name
        attribution = method.explain(subject, 0, seed=0)
        assert attribution.values.shape == (8, 8, 1), name
        assert np.all(np.isfinite(attribution.values)), name


def test_sample_map_activations_with_unicode_names(unicode_mlp, unicode_cnn):
    from components.inspect.sample_map import penultimate_activations

    x = np.random.default_rng(4).normal(size=(6, 4)).astype("float32")
    assert penultimate_activations(unicode_mlp, x).shape == (6, 8)
    images = np.random.default_rng(5).random((3, 8, 8, 1)).astype("float32")
    assert penultimate_activations(unicode_cnn, images).shape == (3, 144)
