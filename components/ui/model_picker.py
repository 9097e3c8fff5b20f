"""Picking a model: a bundled sample, one kept in the workspace, one in the server's model
folder (``GLASSBOX_MODELS_DIR``), or an upload.

The sidebar picks the session's model (A); the compare page picks a second one (B). Both
offer the same choices, check uploads and stored files the same way (static scan, then a
worker process), and keep only accepted uploads in the workspace. Each has its own
session-scoped cache of one entry (`uploaded_bundle`, `second_bundle`): putting B in A's
cache would evict A and stop its worker. The scan comes first, cached on its own
(`scanned_model`): a file it refuses never enters those caches, so it does not stop the
model already loaded there (going back to it costs nothing). The bundled samples, the
app's own files, load in-process once per server (`sample_bundle`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from components.errors import GlassboxError
from components.model.bundle import ModelBundle, open_model, scan_isolated
from components.model.load import sha256_hex
from components.model.models_dir import FolderModel, list_models, read_model
from components.model.samples import get_sample, list_samples
from components.model.scan import ScanReport, shown
from components.model.worker import prewarm
from components.ui.loaders import attempt
from components.ui.stored import artifact_label, keep, read_stored, stored, stored_artifact

STORED = "stored:"  # + SHA-256: a model kept in the workspace
FOLDER = "folder:"  # + file name: a model in the server's model folder
UPLOAD = "__upload__"
MODEL_TYPES = ["keras", "h5", "hdf5"]

Outcome = tuple[ModelBundle | None, str | None]  # the bundle, or the one-line refusal
Opener = Callable[[str, str, bytes], Outcome]  # (sha256, file name, bytes) -> Outcome


@dataclass(frozen=True)
class PickedModel:
    """A chosen model: its bundle or the one-line reason it was refused.

    ``name`` is the sample key or the file name; ``sha256`` is set for uploads and stored
    files (the digest of their bytes); ``note`` is a line to show under the picker.
    """

    name: str
    bundle: ModelBundle | None = None
    error: str | None = None
    sha256: str | None = None
    note: str | None = None


def _close_worker(outcome: Outcome) -> None:
    """An uploaded model leaving its cache (replaced, or the session ended) stops its worker."""
    bundle, _ = outcome
    if bundle is not None and hasattr(bundle.runner, "close"):
        bundle.runner.close()


def _open_isolated(sha256: str, data: bytes, filename: str) -> ModelBundle:
    report, _ = scanned_model(sha256, filename, data)
    return open_model(data, filename, isolate=True, scanned=report)


@st.cache_data(max_entries=64, show_spinner="Checking the file…")
def scanned_model(sha256: str, filename: str, _data: bytes) -> tuple[ScanReport | None,
                                                                     str | None]:
    """The bounded static scan of a file: its report, or the one-line refusal; shared by
    sessions (it depends on the bytes and the name only)."""
    return attempt(scan_isolated, _data, filename)


def _screened(opener: Opener, sha256: str, filename: str, data: bytes) -> Outcome:
    """``opener``'s outcome for an accepted file; a refusal without calling it."""
    _, refusal = scanned_model(sha256, filename, data)
    return (None, refusal) if refusal else opener(sha256, filename, data)


@st.cache_resource(max_entries=8, show_spinner="Loading the sample model…")
def sample_bundle(key: str) -> Outcome:
    """A bundled sample, shared by all sessions (the files are the app's own)."""
    sample = get_sample(key)
    return attempt(open_model, sample.model_path.read_bytes(), sample.model_path.name,
                    sample.feature_names)


@st.cache_resource(max_entries=1, scope="session", on_release=_close_worker,
                   show_spinner="Checking the file, then loading it in safe mode…")
def uploaded_bundle(sha256: str, filename: str, _data: bytes) -> Outcome:
    """The sidebar's uploaded or stored model, keyed by the SHA-256 of its bytes, private to
    this session, in its own worker process."""
    return attempt(_open_isolated, sha256, _data, filename)


@st.cache_resource(max_entries=1, scope="session", on_release=_close_worker,
                   show_spinner="Checking the second model, then loading it in safe mode…")
def second_bundle(sha256: str, filename: str, _data: bytes) -> Outcome:
    """The compare page's model B: like `uploaded_bundle`, in a cache of its own."""
    return attempt(_open_isolated, sha256, _data, filename)


def upload_digest(data: bytes) -> str:
    """SHA-256 of an upload's bytes, on every run (~0.3 s for the 256 MiB maximum).

    Never cached on Streamlit's file id: a client chooses its ids and may send new bytes
    under an old one, which would then key another file's cached results.
    """
    return sha256_hex(data)


def model_options(*, sample_prefix: str, upload_title: str) -> tuple[list[str], dict[str, str]]:
    """The picker's keys (samples, stored models, then the upload) and their titles.

    A sample's key is ``sample_prefix`` + its key; a stored model's ``stored:`` + SHA-256;
    a file of the server's model folder ``folder:`` + its name.
    """
    samples = {f"{sample_prefix}{s.key}": s for s in list_samples()}
    models = {f"{STORED}{a.sha256}": a for a in stored("model")}
    folder = {f"{FOLDER}{m.name}": m for m in list_models()}
    titles = {k: f"Sample: {s.title}" for k, s in samples.items()} | \
        {k: f"Server: {m.name} · {m.size / 2**20:,.0f} MiB" for k, m in folder.items()} | \
        {k: f"Saved: {artifact_label(a)}" for k, a in models.items()} | \
        {UPLOAD: upload_title}
    return list(titles), titles


def sample_model(key: str) -> PickedModel:
    bundle, error = sample_bundle(key)
    return PickedModel(name=key, bundle=bundle, error=error)


def uploaded_model(label: str, key: str, help_text: str, opener: Opener) -> PickedModel | None:
    """The upload widget; None until a file is chosen. The file is checked and loaded
    through ``opener`` (a worker per model) and, once accepted, kept in the workspace."""
    prewarm()  # a worker imports TensorFlow while the user picks the file
    upload = st.file_uploader(label, type=MODEL_TYPES, key=key, help=help_text)
    if upload is None:
        return None
    data = upload.getvalue()
    digest = upload_digest(data)
    bundle, error = _screened(opener, digest, upload.name, data)
    if bundle is not None:  # only an accepted model is kept, and then linkable
        keep("model", upload.name, data)
    return PickedModel(name=upload.name, bundle=bundle, error=error, sha256=digest)


def stored_model(sha256: str, opener: Opener) -> PickedModel:
    """A model kept in the workspace: stored files were uploads, so they are checked again
    and run in a worker like one."""
    artifact = stored_artifact(sha256, "model")
    name = artifact.name if artifact is not None else sha256[:12]
    try:
        data = read_stored(sha256)
    except GlassboxError as err:
        return PickedModel(name=name, error=str(err), sha256=sha256)
    bundle, error = _screened(opener, sha256, name, data)
    saved = artifact.created_at if artifact is not None else ""
    return PickedModel(name=name, bundle=bundle, error=error, sha256=sha256,
                       note=f"Saved {saved} · SHA-256 {sha256[:16]}…")


@st.cache_resource(max_entries=2, show_spinner="Reading the model from the server's folder…")
def _folder_bytes(version: tuple[str, int, int, int]) -> tuple[bytes, str, FolderModel]:
    """A folder file's bytes and SHA-256, read once per version of the file (its name, size,
    modification time and inode), shared by sessions: hashing 1 GiB takes seconds."""
    data, found = read_model(version[0])
    return data, sha256_hex(data), found


def folder_model(name: str, opener: Opener) -> PickedModel:
    """A model in the server's model folder, read from there (not uploaded), then checked
    and run in a worker exactly like an upload; never copied into the workspace."""
    listed = {m.name: m for m in list_models()}
    if name not in listed:
        return PickedModel(name=name, error=f"{shown(name)} is not in the server's model "
                                            "folder")
    try:
        data, digest, found = _folder_bytes(listed[name].version)
    except GlassboxError as err:
        return PickedModel(name=name, error=str(err))
    bundle, error = _screened(opener, digest, found.name, data)
    return PickedModel(name=found.name, bundle=bundle, error=error, sha256=digest,
                       note=f"Server folder · {found.size / 2**20:,.1f} MiB · "
                            f"SHA-256 {digest[:16]}…")
