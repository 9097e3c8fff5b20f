"""A dataset opened against a model, and what one session has open (`Workspace`).

`components/ui` caches these functions on content digests; the CLI calls them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
