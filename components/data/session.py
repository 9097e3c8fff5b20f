"""A dataset opened against a model, and what one session has open (`Workspace`).

`components/ui` caches these functions on content digests; the CLI calls them directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath

from components.data.checks import Check, Dataset, fit_dataset
from components.data.read import read_data_bytes, safe_name
from components.model.bounded import run_bounded
from components.model.bundle import ModelBundle
from components.model.samples import Sample


def open_dataset(data: bytes, filename: str, bundle: ModelBundle,
                 label: str | None = None, *, isolate: bool = False,
                 vocab: tuple[str, ...] | None = None, mask_id: int | None = None) -> Dataset:
    """Read a data file and check it against the model's (first) input.

    ``isolate`` parses it in a bounded child process (`components.model.bounded`): what the
    app does with uploaded and stored files, and the CLI with every file. ``vocab`` and
    ``mask_id`` are for models over token ids (see `components.data.tokens`).
    """
    raw = run_bounded(read_data_bytes, data, filename, what=safe_name(filename)) if isolate \
        else read_data_bytes(data, filename)
    dataset = fit_dataset(raw, bundle.input_spec, label, vocab, mask_id)
    n_inputs = len(bundle.summary.inputs)
    if n_inputs > 1:
        note = Check("error", f"the model has {n_inputs} inputs; Glassbox reads data for "
                              "single-input models only")
        return replace(dataset, x=None, checks=(*dataset.checks, note))
    return dataset


def input_signature(bundle: ModelBundle) -> str:
    """What a dataset must fit to feed this model's (first) input, as a short string:
    ``tabular:13``, ``image:28x28x1``, ``text`` or ``tokens:64``. Two models with the same
    signature read the same datasets (their checks pass or fail alike)."""
    spec = bundle.input_spec
    dims = "x".join("any" if d is None else str(d) for d in spec.shape)
    if spec.tokens is not None:
        return f"tokens:{dims}"
    return spec.kind if spec.kind == "text" else f"{spec.kind}:{dims}"


@dataclass(frozen=True)
class Workspace:
    """What one session has open: a model (or why not), a dataset (or why not), the task.

    Errors are one-line messages for the UI; ``source`` is a sample key or a file name;
    ``sample`` is set when the model is a bundled sample.
    """

    source: str
    bundle: ModelBundle | None = None
    model_error: str | None = None
    dataset: Dataset | None = None
    data_error: str | None = None
    data_sha256: str | None = None
    data_name: str | None = None
    task: str | None = None
    sample: Sample | None = None
    title: str = ""  # the model's human-readable title (`model_title`), for headings

    @property
    def heading(self) -> str:
        """The title pages and reports are headed with (never empty)."""
        return self.title or self.source


# Names Keras gives a model nobody named: "sequential", "functional_3", "model_1".
_KERAS_DEFAULT_NAME = re.compile(r"(sequential|functional|model)(_\d+)?", re.I)


def model_title(sample: Sample | None, file_name: str | None, model_name: str | None) -> str:
    """A human-readable title: a sample's own title; else the model's own name if someone
    gave it one, else the file's name without its extension, either made readable
    ("wine_classifier" and "wine-classifier.keras" both read "Wine classifier")."""
    if sample is not None:
        return sample.title
    own = (model_name or "").strip()
    if own and not _KERAS_DEFAULT_NAME.fullmatch(own):
        return readable(own)
    stem = PurePath(file_name or "").stem if file_name else ""
    return readable(stem or own or "Uploaded model")


def readable(name: str) -> str:
    """``snake_case``/``kebab-case`` as words, the first one capitalised if all lower case."""
    words = " ".join(re.split(r"[_\-\s]+", name.strip())).strip() or name.strip()
    return words[:1].upper() + words[1:] if words.islower() else words
