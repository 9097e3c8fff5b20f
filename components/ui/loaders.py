"""Cached loaders keyed on content digests, never on objects.

Failures are cached too (as their message), so a rerun never re-parses a refused file.
Uploaded models live in a session-scoped cache: another session never receives them, and
in a worker process (`components.model.worker`): every call on a model goes through
``bundle.runner``, which a page passes here as ``_runner``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from components.data.checks import Dataset, model_input
from components.data.evaluation import Evaluation, evaluate_scores, score_in_chunks
from components.data.predictions import Predictions, predictions, sample_table
from components.data.read import safe_name
from components.data.session import Workspace, open_dataset
from components.data.tokens import read_vocabulary
from components.errors import GlassboxError, first_line
from components.explain.agreement import Agreement, agreement
from components.explain.local import SubjectFacts, explain_subject, subject_facts
from components.explain.methods.base import Attribution, Subject
from components.inspect.dot_layout import GraphLayout, graph_layout
from components.inspect.graph import LayerGraph, build_graph
from components.inspect.history import TrainingHistory, read_history_bytes
from components.inspect.layer_details import LayerDetails, layer_details
from components.inspect.sample_map import map_coordinates
from components.inspect.weights import all_layers_table, weighted_layers
from components.model.bounded import run_bounded
from components.model.bundle import ModelBundle
from components.model.load import sha256_hex
from components.model.predict import scores_of
from components.model.samples import get_sample
from components.model.worker import ModelRunner
from components.plots.model import architecture_image
from components.plots.model_views import WeightsView, weights_view

T = TypeVar("T")

if TYPE_CHECKING:  # the report modules load on first use (`report_for`)
    from components.review.report import Report

def attempt(fn: Callable[..., T], *args: Any) -> tuple[T | None, str | None]:
    """``fn(*args)`` and no error, or None and a `GlassboxError`'s one line: what the caches
    keep, so a refused input is not tried again on the next rerun."""
    try:
        return fn(*args), None
    except GlassboxError as err:
        return None, str(err)


# Entries are bounded everywhere; the ones holding whole datasets (each upload is at most
# 256 MiB, .streamlit/config.toml) keep few, so the caches stay within a few GiB in all.
@st.cache_data(max_entries=4, show_spinner="Reading and checking the dataset…")
def dataset_for(data_sha256: str, filename: str, model_sha256: str,
                feature_names: tuple[str, ...] | None, label: str | None,
                _data: bytes, _bundle: ModelBundle, isolate: bool = True,
                vocab_sha256: str | None = None, mask_id: int | None = None,
                _vocab: tuple[str, ...] | None = None) -> tuple[Dataset | None, str | None]:
    """The dataset checked against the model; keyed on both digests and the label choice
    (and, for a token-id model, the vocabulary's digest and the mask id). Parsed in a
    bounded child process unless ``isolate`` is False (a sample's own data)."""
    return attempt(lambda: open_dataset(_data, filename, _bundle, label, isolate=isolate,
                                        vocab=_vocab, mask_id=mask_id))


@st.cache_data(max_entries=8, show_spinner=False)
def vocabulary_for(vocab_sha256: str, filename: str, _data: bytes
                   ) -> tuple[tuple[str, ...] | None, str | None]:
    """A vocabulary file's tokens (id order), parsed in a bounded child process."""
    return attempt(lambda: run_bounded(read_vocabulary, _data, filename,
                                       what="the vocabulary"))


@st.cache_data(max_entries=8, show_spinner=False)
def sample_data(key: str) -> tuple[bytes, str, str]:
    """A sample's dataset: (bytes, file name, SHA-256), read from disk once."""
    path = get_sample(key).data_path
    data = path.read_bytes()
    return data, path.name, sha256_hex(data)


@st.cache_data(max_entries=32, show_spinner="Reading the layer graph…")
def graph_for(model_sha256: str, expanded: tuple[str, ...], _runner: ModelRunner) -> LayerGraph:
    """The layer graph (pure data), read where the model lives; nested models in
    ``expanded`` drawn layer by layer."""
    return _runner.run(build_graph, expanded)


@st.cache_data(max_entries=32, show_spinner="Laying out the layer graph…")
def layout_for(model_sha256: str, expanded: tuple[str, ...], open_blocks: tuple[str, ...] | None,
               _graph: LayerGraph) -> tuple[GraphLayout | None, str | None]:
    """Graphviz's layout of ``_graph``, in this (the server's) process, keyed on the model,
    the expanded submodels and the blocks left open (None: no block collapsed), which
    determine the graph; a failure is kept as its one line."""
    return attempt(graph_layout, _graph)


@st.cache_data(max_entries=16, show_spinner="Drawing the graph for export…")
def graph_image_for(model_sha256: str, expanded: tuple[str, ...],
                    open_blocks: tuple[str, ...] | None, color_by: str, fmt: str,
                    _graph: LayerGraph, _full: LayerGraph | None = None) -> bytes:
    """The whole graph as an SVG or PNG file, coloured like the page (``_full``: the graph
    before its blocks were collapsed); raises the one-line `GlassboxError` of a failed dot
    run (a download shows it in place of the file)."""
    return architecture_image(_graph, fmt, color_by, _full)


@st.cache_data(max_entries=64, show_spinner=False)
def layer_details_for(model_sha256: str, node_id: str,
                      _runner: ModelRunner) -> LayerDetails | None:
    """One layer's configuration, shapes and counts; None for an input placeholder."""
    try:
        return _runner.run(layer_details, node_id)
    except ValueError:
        return None


@st.cache_data(max_entries=64, show_spinner="Reading the weights…")
def weights_for(model_sha256: str, node_id: str, feature_names: tuple[str, ...] | None,
                channel: str | int, _runner: ModelRunner) -> WeightsView:
    return _runner.run(weights_view, node_id, feature_names=feature_names, channel=channel)


@st.cache_data(max_entries=16, show_spinner="Summarising every layer's weights…")
def weight_table_for(model_sha256: str, _runner: ModelRunner) -> pd.DataFrame:
    return _runner.run(all_layers_table)


@st.cache_data(max_entries=16, show_spinner=False)
def weighted_layers_for(model_sha256: str, _runner: ModelRunner) -> list[str]:
    return _runner.run(weighted_layers)


@st.cache_data(max_entries=8, show_spinner="Scoring every row of the dataset…")
def scores_for(model_sha256: str, data_sha256: str, _runner: ModelRunner,
               _dataset: Dataset) -> np.ndarray:
    """The model's output (N, k) for every row, once per (model, data) content pair, in
    chunks (one worker call each: each stays within the call's time and memory limits)."""
    return score_in_chunks(lambda x: _runner.run(scores_of, x), model_input(_dataset))


@st.cache_data(max_entries=16, show_spinner="Scoring the model on every row of the dataset…")
def evaluation_for(model_sha256: str, data_sha256: str, task: str, label: str | None,
                   class_names: tuple[str, ...] | None, _runner: ModelRunner,
                   _dataset: Dataset) -> tuple[Evaluation | None, str | None]:
    """Run once per (model, data, task, label) content: reruns and page switches reuse it."""
    try:
        scores = scores_for(model_sha256, data_sha256, _runner, _dataset)
    except GlassboxError as err:
        return None, str(err)
    return attempt(evaluate_scores, scores, _dataset, task, class_names)


@st.cache_data(max_entries=16, show_spinner=False)
def history_for(digest: str, filename: str, _data: bytes, isolate: bool = True
                ) -> tuple[TrainingHistory | None, str | None]:
    """A training history file, parsed in a bounded child process unless ``isolate`` is
    False (a sample's own history)."""
    if not isolate:
        return attempt(read_history_bytes, _data, filename)
    return attempt(lambda: run_bounded(read_history_bytes, _data, filename,
                                       what=safe_name(filename)))


@st.cache_data(max_entries=16, show_spinner="Predicting every row…")
def predictions_for(model_sha256: str, data_sha256: str, task: str, label: str | None,
                    class_names: tuple[str, ...] | None, _runner: ModelRunner,
                    _dataset: Dataset) -> tuple[Predictions | None, str | None]:
    """Each row's prediction, confidence and correctness, once per content and task."""
    try:
        scores = scores_for(model_sha256, data_sha256, _runner, _dataset)
    except GlassboxError as err:
        return None, str(err)
    return attempt(predictions, scores, _dataset.labels, task, class_names)


@st.cache_data(max_entries=16, show_spinner="Projecting the dataset to 2-D…")
def map_for(model_sha256: str, data_sha256: str, space: str, _runner: ModelRunner,
            _dataset: Dataset) -> tuple[np.ndarray | None, str | None]:
    """The 2-D map of the dataset (PCA of inputs or of penultimate activations)."""
    try:
        return _runner.run(map_coordinates, _dataset, space, 0), None
    except ValueError as err:  # GlassboxError included: e.g. a model with no hidden layer
        return None, first_line(err)


@st.cache_data(max_entries=64, show_spinner=False)
def facts_for(model_sha256: str, data_sha256: str, row: int, task: str, _runner: ModelRunner,
              _subject: Subject) -> tuple[SubjectFacts | None, str | None]:
    """The sample's prediction, default target, applicable methods and their choices."""
    return attempt(_runner.run, subject_facts, _subject)


@st.cache_data(max_entries=512, show_spinner=False)
def attribution_for(model_sha256: str, data_sha256: str, row: int, method: str, target: int,
                    seed: int, params_json: str, task: str, _runner: ModelRunner,
                    _subject: Subject) -> tuple[Attribution | None, str | None]:
    """One method on one sample, keyed on (model, data, row, method, target, seed, params)."""
    return explained(_runner, _subject, method, target, seed, params_json)


def explained(runner: ModelRunner, subject: Subject, method: str, target: int, seed: int,
              params_json: str) -> tuple[Attribution | None, str | None]:
    """One method through the model's runner, or the one line saying why it failed."""
    try:
        return runner.run(explain_subject, subject, method, target, seed,
                          json.loads(params_json)), None
    except GlassboxError as err:
        return None, str(err)
    except Exception as err:  # one method failing must not take the other panels down
        return None, f"could not compute ({type(err).__name__}: {first_line(err)})"


@st.cache_data(max_entries=16, show_spinner=False)
def sample_table_for(model_sha256: str, data_sha256: str, task: str, label: str | None,
                     _pred: Predictions, _dataset: Dataset) -> pd.DataFrame:
    """The picker's table, without thumbnails (the page shown makes its own)."""
    return sample_table(_pred, _dataset, thumbnails=False)


@st.cache_data(max_entries=4, show_spinner="Building the report: scoring, explaining, drawing…")
def report_for(model_sha256: str, data_sha256: str, rows: tuple[int, ...],
               methods: tuple[str, ...], seed: int, task: str, trail_hash: str,
               review_id: int, names: tuple[str, str, str],
               _ws: Workspace) -> tuple[Report | None, str | None]:
    """The compliance report, keyed on the contents, the choices and the trail's last hash
    (a new verdict or note makes a new report; the same ones reuse it)."""
    from components.review.report import build_report
    from components.ui.stored import workspace_store

    try:  # verified, with its head's signature: the page embeds both for `verify`
        review = workspace_store().signed_review(review_id)
    except GlassboxError as err:
        return None, str(err)
    class_names = _ws.sample.class_names if _ws.sample is not None else None
    return attempt(lambda: build_report(
        _ws.bundle, _ws.dataset, model_name=names[0], data_name=names[1], model_title=names[2],
        data_sha256=data_sha256, task=task, rows=list(rows), methods=list(methods), seed=seed,
        class_names=class_names, review=review))


@st.cache_resource(max_entries=256, show_spinner=False)
def agreement_for(key: str, _attributions: dict[str, Attribution], top_k: int) -> Agreement:
    """`agreement` of ``_attributions`` at ``top_k``, once per ``key`` (the run, its methods
    and ``top_k``): a row picked again is not ranked again. Shared, not copied: no page
    changes an `Agreement`."""
    return agreement(_attributions, top_k)
