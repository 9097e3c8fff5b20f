"""A model opened from its bytes: scanned, loaded (here or in a worker) and summarised.

`open_model` is the one door for model files: the sidebar, the compare page, the CLI and the
report all come through it. ``isolate=True`` (uploads and every CLI file) never lets this
process load the model: the static scan runs here, then the model lives in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.model.bounded import run_bounded
from components.model.load import LoadedModel, check_model_bytes, load_model_bytes, sha256_hex
from components.model.samples import sample_for_digest
from components.model.scan import ScanReport
from components.model.summary import ModelSummary, summarize, summary_of
from components.model.token_input import TokenInput
from components.model.worker import LocalRunner, ModelRunner, WorkerRunner


@dataclass(frozen=True)
class InputSpec:
    """A model input without the batch axis: (13,) tabular, (16, 16, 1) image, () text;
    (64,) int token ids feeding an Embedding are text too (``tokens`` says so)."""

    shape: tuple[int | None, ...]
    dtype: str
    feature_names: tuple[str, ...] | None = None
    tokens: TokenInput | None = None

    @property
    def kind(self) -> str:
        if "string" in self.dtype or self.tokens is not None:
            return "text"
        if len(self.shape) >= 2:
            return "image"
        return "tabular"


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
    runner: ModelRunner = field(default=None, compare=False)  # None: in-process, below

    def __post_init__(self) -> None:
        if self.runner is None:
            object.__setattr__(self, "runner", LocalRunner(self.loaded.model))

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec(shape=tuple(self.summary.inputs[0][1:]),
                         dtype=self.summary.input_dtypes[0],
                         feature_names=self.feature_names,
                         tokens=self.summary.token_input)


def open_model(data: bytes, filename: str, feature_names: tuple[str, ...] | None = None,
               *, isolate: bool = False, scanned: ScanReport | None = None) -> ModelBundle:
    """Scan, load and summarise a model file (raises `GlassboxError` if refused).

    ``isolate`` loads it in a worker process (`components.model.worker`) instead of this one: what
    the app does with uploads, and the CLI with every file; ``scanned`` is `scan_isolated`'s
    report on these bytes, when the caller has it (the worker scans again before Keras
    loads). A file whose bytes are a bundled sample's gets that sample's feature names.
    """
    if isolate:
        loaded, summary, runner = _open_in_worker(data, filename, scanned)
    else:
        loaded = load_model_bytes(data, filename)
        summary, runner = summarize(loaded.model, loaded.sha256), None
    if feature_names is None and (known := sample_for_digest(loaded.sha256)) is not None:
        feature_names = known.feature_names
    return ModelBundle(loaded, summary, feature_names, runner)


def scan_isolated(data: bytes, filename: str) -> ScanReport:
    """The static scan alone, bounded in time and memory (raises `GlassboxError` if refused)."""
    return run_bounded(check_model_bytes, data, filename, what="the model file")


def _open_in_worker(data: bytes, filename: str, scanned: ScanReport | None
                    ) -> tuple[LoadedModel, ModelSummary, WorkerRunner]:
    # A refusal never starts a worker.
    report = scanned if scanned is not None else scan_isolated(data, filename)
    sha = sha256_hex(data)
    runner = WorkerRunner(data, filename, sha)
    try:
        summary = runner.run(summary_of, sha)
    except Exception:
        runner.close()
        raise
    return LoadedModel(sha, filename, report.fmt, None), summary, runner
