"""The bundled demo models: one folder each under ``sample_models/`` with a ``meta.json``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from components.errors import GlassboxError

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "sample_models"
DEFAULT_SAMPLE = "wine_classifier"


@dataclass(frozen=True)
class Sample:
    """A demo model with its dataset, training history and what the files mean."""

    key: str
    title: str
    description: str
    kind: str  # "tabular" | "image" | "text"
    task: str
    label: str | None
    class_names: tuple[str, ...] | None
    feature_names: tuple[str, ...] | None
    folder: Path
    data_file: str

    @property
    def model_path(self) -> Path:
        return self.folder / "model.keras"

    @property
    def data_path(self) -> Path:
        return self.folder / self.data_file

    @property
    def history_path(self) -> Path:
        return self.folder / "history.json"


@cache
def list_samples() -> tuple[Sample, ...]:
    """All samples, the default first, then by key."""
    found = [_read(meta) for meta in sorted(SAMPLES_DIR.glob("*/meta.json"))]
    return tuple(sorted(found, key=lambda s: (s.key != DEFAULT_SAMPLE, s.key)))


def get_sample(key: str) -> Sample:
    """The sample named ``key``; a `GlassboxError` lists the known ones otherwise."""
    for sample in list_samples():
        if sample.key == key:
            return sample
    known = ", ".join(s.key for s in list_samples())
    raise GlassboxError(f"no sample model '{key}'; known samples: {known}")


def sample_for_digest(sha256: str) -> Sample | None:
    """The bundled sample whose model file has this SHA-256, if any (content, not file name)."""
    return _by_digest().get(sha256)


@cache
def _by_digest() -> dict[str, Sample]:
    return {hashlib.sha256(s.model_path.read_bytes()).hexdigest(): s for s in list_samples()}


def _read(meta_path: Path) -> Sample:
    meta = json.loads(meta_path.read_text())
    names = meta.get("feature_names")
    classes = meta.get("class_names")
    return Sample(
        key=meta_path.parent.name,
        title=meta["title"],
        description=meta["description"],
        kind=meta["kind"],
        task=meta["task"],
        label=meta.get("label"),
        class_names=tuple(classes) if classes else None,
        feature_names=tuple(names) if names else None,
        folder=meta_path.parent,
        data_file=meta["data"],
    )
