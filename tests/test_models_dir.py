"""The server's model folder (GLASSBOX_MODELS_DIR): listed, read safely, loaded like uploads."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import pytest

from apptest_support import new_app
from components.errors import BadModelFileError, UnsafeModelError
from components.model import models_dir, scan
from components.model.models_dir import list_models, read_model
from components.model.samples import get_sample

WINE = get_sample("wine_classifier").model_path


def _lambda_archive() -> bytes:
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "evil", "layers": [
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"name": "payload", "function": {"class_name": "__lambda__", "config": {
             "code": "ZXZpbA==", "defaults": None, "closure": None}}}}]}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", "{}")
    return buf.getvalue()


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    """models/ with a good model, a hostile one, a link inside, and things never listed:
    a link out of the folder, a link to a subfolder's file, a FIFO, a folder, a text file."""
    root, outside = tmp_path / "models", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "wine_copy.keras").write_bytes(WINE.read_bytes())
    (root / "evil.keras").write_bytes(_lambda_archive())
    (root / "alias.keras").symlink_to("wine_copy.keras")
    (outside / "secret.keras").write_bytes(WINE.read_bytes())
    (root / "escape.keras").symlink_to(outside / "secret.keras")
    (root / "sub").mkdir()
    (root / "sub" / "inner.keras").write_bytes(WINE.read_bytes())
    (root / "deep.keras").symlink_to(root / "sub" / "inner.keras")
    os.mkfifo(root / "pipe.keras")
    (root / "folder.keras").mkdir()
    (root / "notes.txt").write_text("not a model")
    (root / ".hidden.keras").write_bytes(WINE.read_bytes())
    monkeypatch.setenv(models_dir.ENV, str(root))
    return root


def test_only_model_files_inside_the_folder_are_listed(folder):
    names = [m.name for m in list_models()]
    assert names == ["alias.keras", "evil.keras", "wine_copy.keras"]
    listed = {m.name: m for m in list_models()}
    assert listed["wine_copy.keras"].size == WINE.stat().st_size


def test_no_folder_lists_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv(models_dir.ENV, raising=False)
    assert list_models() == []
    monkeypatch.setenv(models_dir.ENV, str(tmp_path / "missing"))
    assert list_models() == []
    with pytest.raises(BadModelFileError, match="no model folder is configured"):
        read_model("wine_copy.keras")


def test_a_listed_file_reads_whole(folder):
    data, found = read_model("wine_copy.keras")
    assert data == WINE.read_bytes() and found.size == len(data)
    assert read_model("alias.keras")[0] == data  # a link to a file in the same folder


@pytest.mark.parametrize(("name", "error", "message"), [
    ("escape.keras", UnsafeModelError, "is a link to a file outside the model folder"),
    ("deep.keras", UnsafeModelError, "is a link to a file outside the model folder"),
    ("../elsewhere/secret.keras", UnsafeModelError, "is not a plain file name"),
    ("..", UnsafeModelError, "is not a plain file name"),
    ("sub/inner.keras", UnsafeModelError, "is not a plain file name"),
    (".hidden.keras", UnsafeModelError, "is not a plain file name"),
    ("pipe.keras", UnsafeModelError, "is not a regular file"),  # never blocks on the FIFO
    ("folder.keras", UnsafeModelError, "is not a regular file"),
    ("notes.txt", BadModelFileError, "is not a .keras or .h5 file"),
    ("gone.keras", BadModelFileError, "is not in the model folder"),
])
def test_names_that_leave_the_folder_or_are_not_files_are_refused(folder, name, error, message):
    with pytest.raises(error, match=message):
        read_model(name)


def test_an_absolute_path_is_refused(folder):
    with pytest.raises(UnsafeModelError, match="is not a plain file name"):
        read_model(str(folder.parent / "elsewhere" / "secret.keras"))


def test_a_file_over_the_cap_is_neither_listed_nor_read(folder, monkeypatch):
    monkeypatch.setattr(models_dir, "MAX_MODEL_BYTES", 1000)
    assert "wine_copy.keras" not in [m.name for m in list_models()]
    with pytest.raises(UnsafeModelError, match="the limit is 0 MiB"):
        read_model("wine_copy.keras")


def test_the_caps_admit_a_resnet152_size_model_and_still_refuse_bombs():
    """A 460 MB file is under the model cap and may declare its own size; a small file
    declaring as much is still a bomb (the limits are proportional, with a floor)."""
    big = 460 * 10**6
    assert big < scan.MAX_MODEL_BYTES
    assert scan.declared_limit(big) >= big  # its weights, declared at their real size
    assert scan.declared_limit(30_000) == scan.MAX_WEIGHT_BYTES  # a tiny file: the 1 GiB floor
    assert scan.declared_limit(scan.MAX_MODEL_BYTES) == 2 * scan.MAX_MODEL_BYTES
    with pytest.raises(UnsafeModelError, match=r"^huge\.keras is 1024 MiB; the limit is 1024 MiB$"):
        scan.scan_model_bytes(b"PK\x03\x04" + bytes(scan.MAX_MODEL_BYTES), "huge.keras")


def test_the_upload_cap_matches_streamlits(repo_root):
    config = (repo_root / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {scan.MAX_MODEL_BYTES // 2**20}" in config


def test_the_sidebar_lists_the_folder_and_loads_its_model_like_an_upload(folder):
    at = new_app()
    at.run()
    options = at.selectbox(key="model_choice").options
    served = [o for o in options if o.startswith("Server: ")]
    assert served == ["Server: alias.keras · 0 MiB", "Server: evil.keras · 0 MiB",
                      "Server: wine_copy.keras · 0 MiB"]
    at.selectbox(key="model_choice").select("folder:wine_copy.keras").run()
    assert not at.exception
    assert at.title[0].value == "Wine classifier"
    assert at.query_params["file"] in ("wine_copy.keras", ["wine_copy.keras"])
    digest = hashlib.sha256(WINE.read_bytes()).hexdigest()
    assert any(f"Server folder · 0.0 MiB · SHA-256 {digest[:16]}" in c.value
               for c in at.sidebar.caption)
    assert not at.error
    at.selectbox(key="model_choice").select("folder:evil.keras").run()
    assert not at.exception
    assert any("Lambda layer holds Python code" in e.value for e in at.error)


def test_a_link_naming_a_file_outside_the_folder_opens_nothing_of_it(folder):
    at = new_app()
    at.query_params["file"] = "escape.keras"
    at.run()
    assert not at.exception
    assert at.selectbox(key="model_choice").value == "wine_classifier"  # the default
    at = new_app()
    at.query_params["file"] = "wine_copy.keras"
    at.run()
    assert at.selectbox(key="model_choice").value == "folder:wine_copy.keras"
