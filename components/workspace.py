"""The loaded model and dataset of one session, assembled from plain values.

`components/ui` caches these functions on content digests; the CLI calls them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from components.data_checks import Check, Dataset, InputSpec, fit_dataset
from components.data_io import read_data_bytes
from components.introspection import ModelSummary, summarize, summary_of
from components.model_io import LoadedModel, check_model_bytes, load_model_bytes, sha256_hex
from components.samples import Sample, sample_for_digest
from components.worker import LocalRunner


@dataclass(frozen=True)
class ModelBundle:
    """A loaded model with its summary; ``feature_names`` come from the sample's metadata.

    ``runner`` is where the model lives: `runner.run(fn, ...)` calls ``fn(model, ...)``
    in-process (bundled samples: ``loaded.model`` is the model) or in the model's worker
    process (uploads: ``loaded.model`` is None and this process never holds the model).
    """

    loaded: LoadedModel
    summary: ModelSummary
    feature_names: tuple[str, ...] | None = None
    runner: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.runner is None:
            object.__setattr__(self, "runner", LocalRunner(self.loaded.model))

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec(shape=tuple(self.summary.inputs[0][1:]),
                         dtype=self.summary.input_dtypes[0],
                         feature_names=self.feature_names)


def open_model(data: bytes, filename: str, feature_names: tuple[str, ...] | None = None,
               *, isolate: bool = False) -> ModelBundle:
    """Scan, load and summarise a model file (raises `GlassboxError` if refused).

    ``isolate`` loads it in a worker process (`components.worker`) instead of this one: what
    the app does with uploads, and the CLI with every file. A file whose bytes are a bundled
    sample's gets that sample's feature names.
    """
    if isolate:
        loaded, summary, runner = _open_in_worker(data, filename)
    else:
        loaded = load_model_bytes(data, filename)
        summary, runner = summarize(loaded.model, loaded.sha256), None
    if feature_names is None and (known := sample_for_digest(loaded.sha256)) is not None:
        feature_names = known.feature_names
    return ModelBundle(loaded, summary, feature_names, runner)


def _open_in_worker(data: bytes, filename: str):
    report = check_model_bytes(data, filename)  # refusals never start a worker
    from components.worker import WorkerRunner

    sha = sha256_hex(data)
    runner = WorkerRunner(data, filename, sha)
    try:
        summary = runner.run(summary_of, sha)
    except Exception:
        runner.close()
        raise
    return LoadedModel(sha, filename, report.fmt, None), summary, runner


def open_dataset(data: bytes, filename: str, bundle: ModelBundle,
                 label: str | None = None) -> Dataset:
    """Read a data file and check it against the model's (first) input."""
    dataset = fit_dataset(read_data_bytes(data, filename), bundle.input_spec, label)
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
