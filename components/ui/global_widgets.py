"""The global page's widgets and cached loaders.

The work is split in chunks of rows, one ``runner.run`` per chunk, each cached on
(model, data, rows asked for, seed, target, method, budget, chunk): the progress bar moves
chunk by chunk, and a rerun, a page switch or another chart choice recomputes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components.data.checks import Dataset
from components.data.predictions import Predictions
from components.errors import GlassboxError, first_line
from components.explain import global_importance as ge
from components.explain.methods.targets import target_choices
from components.model.worker import ModelRunner
from components.plots import global_importance as plots
from components.text_safety import escape_markdown
from components.ui.widgets import refusal

CHUNK_ROWS = {"tabular": 50, "image": 50, "text": 100}
BUDGETS = {ge.GLOBAL_EXTRA_COALITIONS: "2 × features + 512 (fast)",
           2048: "2 × features + 2048 (as the Explain page)"}
PERMUTATION_REPEATS = 5
PDP_RESOLUTION = 20


@dataclass(frozen=True)
class GlobalSettings:
    """What to compute: how many rows (drawn with ``seed``), the explained output (tables),
    the SHAP budget's extra coalitions (tables) and the attribution method (images, texts)."""

    n_rows: int
    seed: int
    target: int = 0
    extra: int = ge.GLOBAL_EXTRA_COALITIONS
    method: str = "gradxinput"


@dataclass(frozen=True, eq=False)
class TabularResult:
    """SHAP of the sampled rows and permutation importance, with what they were run on."""

    rows: np.ndarray
    x: np.ndarray
    shap: dict[str, Any]
    permutation: dict[str, Any] | None
    permutation_error: str | None
    y_source: str
    seconds: float


# ---------------------------------------------------------------- cached loaders


def _timed(fn, *args) -> tuple[Any, str | None]:
    """``fn(*args)`` with its wall time in the result dict, or the error in one line."""
    start = time.perf_counter()
    try:
        out = fn(*args)
    except GlassboxError as err:
        return None, str(err)
    except Exception as err:  # one failed chunk must not take the page down
        return None, f"could not compute ({type(err).__name__}: {first_line(err)})"
    out["seconds"] = time.perf_counter() - start
    return out, None


@st.cache_data(max_entries=1024, show_spinner=False)
def shap_chunk_for(model_sha256: str, data_sha256: str, n_rows: int, seed: int, target: int,
                   extra: int, start: int, stop: int, _runner: ModelRunner, _x: np.ndarray,
                   _background: np.ndarray) -> tuple[dict | None, str | None]:
    """SHAP of rows start..stop of the sample (R, F), for one target and budget."""
    return _timed(_runner.run, ge.shap_rows, _x, _background, target, None, seed, extra)


@st.cache_data(max_entries=64, show_spinner=False)
def permutation_for(model_sha256: str, data_sha256: str, n_rows: int, seed: int, task: str,
                    label: str | None, _runner: ModelRunner, _x: np.ndarray, _y: np.ndarray
                    ) -> tuple[dict | None, str | None]:
    """Permutation importance of the sample's columns, keyed like the SHAP chunks."""
    return _timed(_runner.run, ge.permutation_rows, _x, _y, task, PERMUTATION_REPEATS, seed)


@st.cache_data(max_entries=256, show_spinner="Computing partial dependence…")
def pdp_for(model_sha256: str, data_sha256: str, n_rows: int, seed: int, target: int,
            feature: int, _runner: ModelRunner, _x: np.ndarray
            ) -> tuple[dict | None, str | None]:
    """ICE and PDP of one feature over the sampled rows (a 20-point grid)."""
    grid = ge.pdp_grid(_x[:, feature], PDP_RESOLUTION)
    return _timed(_runner.run, ge.pdp_rows, _x, feature, target, grid)


@st.cache_data(max_entries=1024, show_spinner=False)
def maps_chunk_for(model_sha256: str, data_sha256: str, n_rows: int, seed: int, method: str,
                   task: str, n_classes: int, start: int, stop: int, _runner: ModelRunner,
                   _x: np.ndarray, _classes: np.ndarray) -> tuple[dict | None, str | None]:
    """Per-class sums of the attribution maps of rows start..stop of the sample."""
    return _timed(_runner.run, ge.class_map_sums, _x, _classes, n_classes, task, method)


@st.cache_data(max_entries=1024, show_spinner=False)
def tokens_chunk_for(model_sha256: str, data_sha256: str, n_rows: int, seed: int, method: str,
                     task: str, start: int, stop: int, _runner: ModelRunner, _texts: np.ndarray,
                     _classes: np.ndarray, _codec: Any = None) -> tuple[dict | None, str | None]:
    """Token values of texts start..stop of the sample, towards each row's class."""
    return _timed(_runner.run, ge.token_rows, _texts, _classes, task, method, ge.IG_STEPS,
                  _codec)


@st.cache_data(max_entries=64, show_spinner=False)
def unavailable_for(model_sha256: str, kind: str, method: str, _runner: ModelRunner,
                    _sample: np.ndarray, _codec: Any = None) -> str | None:
    """Why ``method`` does not apply to this model (None if it does)."""
    try:
        return _runner.run(ge.global_unavailable, kind, _sample, method, _codec)
    except GlassboxError as err:
        return str(err)


# ---------------------------------------------------------------- settings


def settings_ui(dataset: Dataset, pred: Predictions, n_outputs: int, scope: str
                ) -> GlobalSettings:
    """The form: rows and seed; the explained output and SHAP budget (tables) or the
    attribution method (images, texts). Nothing recomputes until "Compute" is pressed."""
    total = dataset.n_rows
    with st.form(f"global_form_{scope}", border=False):
        cols = st.columns([1, 1, 2, 2])
        n_rows = int(cols[0].number_input("Rows to explain", 1, total, min(ge.DEFAULT_ROWS,
                                          total), key=f"global_rows_{scope}"))
        seed = int(cols[1].number_input("Seed", 0, 2**31 - 1, 0, key=f"global_seed_{scope}"))
        if dataset.kind == "tabular":
            target, extra = _tabular_choices(cols[2], cols[3], pred, n_outputs, scope)
            settings = GlobalSettings(n_rows, seed, target=target, extra=extra)
        else:
            method = cols[2].selectbox("Attribution", list(ge.IMAGE_METHODS),
                                       format_func=ge.IMAGE_METHODS.__getitem__,
                                       index=0 if dataset.kind == "image" else 1,
                                       key=f"global_method_{scope}")
            settings = GlobalSettings(n_rows, seed, method=method)
        st.form_submit_button("Compute", type="primary")
    return settings


def _tabular_choices(left, right, pred: Predictions, n_outputs: int,
                     scope: str) -> tuple[int, int]:
    choices = target_choices(n_outputs, pred.task, pred.class_names or None)
    default = ge.most_frequent(pred.predicted, n_outputs) if n_outputs > 1 else 0
    target = left.selectbox("Explain the output", list(choices), index=default,
                            format_func=choices.__getitem__, key=f"global_target_{scope}")
    extra = right.selectbox("SHAP coalitions per row", list(BUDGETS),
                            format_func=BUDGETS.__getitem__, key=f"global_budget_{scope}")
    return int(target), int(extra)


# ---------------------------------------------------------------- tables


def tabular_ui(settings: GlobalSettings, dataset: Dataset, pred: Predictions, model_sha: str,
               data_sha: str, runner: ModelRunner) -> TabularResult | None:
    """SHAP chunk by chunk, then permutation importance, under one progress bar."""
    rows = ge.sample_rows(dataset.n_rows, settings.n_rows, settings.seed)
    x = np.asarray(dataset.x[rows], dtype=np.float32)
    background = ge.background_of(dataset.x)
    parts = ge.chunks(len(rows), CHUNK_ROWS["tabular"])
    bar = st.progress(0.0, text=f"SHAP on {len(rows):,} rows…")
    done = []
    for i, (start, stop) in enumerate(parts):
        part, error = shap_chunk_for(model_sha, data_sha, settings.n_rows, settings.seed,
                                     settings.target, settings.extra, start, stop, runner,
                                     x[start:stop], background)
        if error:
            bar.empty()
            refusal("SHAP", error)
            return None
        done.append(part)
        bar.progress((i + 1) / (len(parts) + 1), text=f"SHAP: {stop:,} of {len(rows):,} rows")
    bar.progress(len(parts) / (len(parts) + 1), text="Permutation importance…")
    perm, perm_error, source = _permutation(settings, dataset, pred, rows, x, model_sha,
                                            data_sha, runner)
    bar.empty()
    shap = _joined(done)
    seconds = sum(p["seconds"] for p in done) + (perm["seconds"] if perm else 0.0)
    return TabularResult(rows=rows, x=x, shap=shap, permutation=perm,
                         permutation_error=perm_error, y_source=source, seconds=seconds)


def _joined(parts: list[dict]) -> dict[str, Any]:
    keys = ("values", "base_values", "outputs", "exact", "coalitions")
    out = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    out["background_rows"] = parts[0]["background_rows"] if parts else 0
    return out


def _permutation(settings: GlobalSettings, dataset: Dataset, pred: Predictions,
                 rows: np.ndarray, x: np.ndarray, model_sha: str, data_sha: str,
                 runner: ModelRunner) -> tuple[dict | None, str | None, str]:
    truth = None if pred.truth is None else pred.truth[rows]
    try:
        y, used, source = ge.permutation_labels(truth, pred.predicted[rows], pred.task)
    except ValueError as err:
        return None, str(err), "none"
    perm, error = permutation_for(model_sha, data_sha, settings.n_rows, settings.seed,
                                  pred.task, dataset.label_name, runner, x[used], y)
    return perm, error, source


def output_label(pred: Predictions, n_outputs: int, target: int) -> str:
    """What the explained output is, in words: "the probability of class_1" etc."""
    name = target_choices(n_outputs, pred.task, pred.class_names or None)[target]
    if pred.task == "regression":
        return "the predicted value"
    if pred.task == "binary" and n_outputs == 1:
        return f"the sigmoid output (the probability of {name.split(' (')[0]})"
    return f"the model's output for {name}"


def shap_caption(result: TabularResult, settings: GlobalSettings, what: str,
                 total: int) -> str:
    shap = result.shap
    n = len(result.rows)
    exact = " (every coalition: exact Shapley values)" if shap["exact"].all() else ""
    coalitions = int(shap["coalitions"].max(initial=0))
    return (f"Computed on **{n:,} rows** of {total:,} (drawn with seed {settings.seed}) in "
            f"{result.seconds:.2f} s. SHAP explains {escape_markdown(what)}: "
            f"{coalitions:,} coalitions per row{exact}, absent features from a k-means "
            f"background of {shap['background_rows']} rows; base value + sum of a row's "
            f"values = its output to within {ge.additivity_gap(shap):.1e}.")


def importance_ui(result: TabularResult, names: list[str] | None, task: str) -> None:
    """Mean |SHAP| beside permutation importance, in one feature order."""
    perm = result.permutation
    if perm is None:
        refusal("Permutation importance", result.permutation_error or "not computed")
        perm_mean = np.full(result.x.shape[1], np.nan)
        perm_std, scorer = None, "not computed"
    else:
        perm_mean, perm_std, scorer = perm["mean"], perm["std"], perm["scorer"]
    figure = plots.importance_bars(names, ge.mean_abs(result.shap["values"]), perm_mean,
                                   perm_std, permutation_label=f"drop in {scorer}")
    st.plotly_chart(figure, width="stretch", key="global_importance")
    if perm is not None:
        against = "the dataset's labels" if result.y_source == "labels" else \
            "the model's own predictions (the rows have no labels)"
        st.caption(f"Permutation importance: scikit-learn's, {PERMUTATION_REPEATS} shuffles "
                   f"per feature (seeded), scored by {scorer} against {against}; "
                   f"unshuffled {scorer} {perm['baseline']:.4f}. Error bars: ±1 std. "
                   f"It measures the whole model's {'fit' if task == 'regression' else 'accuracy'}"
                   ", not one class.")


def beeswarm_ui(result: TabularResult, names: list[str] | None) -> None:
    figure = plots.beeswarm(result.shap["values"], result.x, names, rows=result.rows,
                            title="SHAP values of every row")
    st.plotly_chart(figure, width="stretch", key="global_beeswarm")


def dependence_ui(result: TabularResult, names: list[str], scope: str) -> None:
    """A feature's value against its SHAP value, coloured by a second feature."""
    order = plots.importance_order(ge.mean_abs(result.shap["values"]))
    cols = st.columns(2)
    feature = cols[0].selectbox("Feature", order, format_func=names.__getitem__,
                                key=f"global_dep_{scope}")
    others = [None, *[j for j in order if j != feature]]
    colour = cols[1].selectbox("Colour by", others, index=min(1, len(others) - 1),
                               format_func=lambda j: "nothing" if j is None else names[j],
                               key=f"global_dep_colour_{scope}")
    figure = plots.dependence_plot(
        result.x[:, feature], result.shap["values"][:, feature],
        None if colour is None else result.x[:, colour], feature=names[feature],
        color_feature=None if colour is None else names[colour], rows=result.rows)
    st.plotly_chart(figure, width="stretch", key="global_dependence")


def pdp_ui(result: TabularResult, names: list[str], settings: GlobalSettings, what: str,
           model_sha: str, data_sha: str, runner: ModelRunner, scope: str) -> None:
    """Partial dependence and ICE curves of the chosen features, two charts per row."""
    order = plots.importance_order(ge.mean_abs(result.shap["values"]))
    cols = st.columns([3, 1])
    chosen = cols[0].multiselect("Features", order, default=order[:2],
                                 format_func=names.__getitem__, key=f"global_pdp_{scope}")
    centred = cols[1].toggle("Centre the ICE curves", key=f"global_centre_{scope}")
    for start in range(0, len(chosen), 2):
        for column, feature in zip(st.columns(2), chosen[start:start + 2], strict=False):
            curves, error = pdp_for(model_sha, data_sha, settings.n_rows, settings.seed,
                                    settings.target, int(feature), runner, result.x)
            if error:
                column.error(f"Partial dependence refused: {escape_markdown(error)}")
                continue
            figure = plots.pdp_ice_plot(curves["grid"], curves["ice"], curves["pdp"],
                                        feature=names[feature], output=what, centered=centred)
            column.plotly_chart(figure, width="stretch", key=f"global_pdp_chart_{feature}")
    if chosen:
        st.caption(f"Each grey line is one row with only this feature moved over a "
                   f"{PDP_RESOLUTION}-point grid (its distinct values, or its 5th..95th "
                   f"percentile); the red line is their mean, the partial dependence.")


# ---------------------------------------------------------------- images and texts


def classes_of(pred: Predictions, rows: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each sampled row's class (its prediction) and the class names; regression has one
    "class", the output."""
    if pred.task == "regression":
        return np.zeros(len(rows), np.int64), ("the output",)
    return np.asarray(pred.predicted[rows], dtype=np.int64), tuple(pred.class_names)


def _chunked(loader, label: str, n: int, kind: str, *args) -> list[dict] | None:
    """Run ``loader(start, stop)`` chunk by chunk under a progress bar; None on error."""
    parts = ge.chunks(n, CHUNK_ROWS[kind])
    bar = st.progress(0.0, text=f"{label} on {n:,} rows…")
    done = []
    for i, (start, stop) in enumerate(parts):
        part, error = loader(start, stop)
        if error:
            bar.empty()
            refusal(label, error)
            return None
        done.append(part)
        bar.progress((i + 1) / len(parts), text=f"{label}: {stop:,} of {n:,} rows")
    bar.empty()
    return done


def image_ui(settings: GlobalSettings, dataset: Dataset, pred: Predictions, model_sha: str,
             data_sha: str, runner: ModelRunner, scope: str) -> None:
    """Class-average attribution maps of the sampled rows, one heatmap per class."""
    rows = ge.sample_rows(dataset.n_rows, settings.n_rows, settings.seed)
    classes, names = classes_of(pred, rows)
    reason = unavailable_for(model_sha, "image", settings.method, runner, dataset.x[:1])
    if reason:
        refusal(ge.IMAGE_METHODS[settings.method], reason)
        return
    x = dataset.x[rows]

    def load(start: int, stop: int) -> tuple[dict | None, str | None]:
        return maps_chunk_for(model_sha, data_sha, settings.n_rows, settings.seed,
                              settings.method, pred.task, len(names), start, stop, runner,
                              x[start:stop], classes[start:stop])

    parts = _chunked(load, ge.IMAGE_METHODS[settings.method], len(rows), "image")
    if parts is None:
        return
    cols = st.columns(2)
    mode = cols[0].radio("Maps", list(plots.MAP_MODES), horizontal=True,
                         key=f"global_mode_{scope}", format_func={
                             "signed": "signed mean", "absolute": "mean |attribution|"}
                         .__getitem__)
    shared = cols[1].toggle("One colour scale for every class", key=f"global_shared_{scope}")
    counts = sum(p["counts"] for p in parts)
    sums = sum(p["abs_sums" if mode == "absolute" else "sums"] for p in parts)
    figure = plots.class_maps_grid(ge.class_means(sums, counts), counts, names, mode=mode,
                                   shared_scale=shared,
                                   title="Mean attribution per predicted class")
    st.plotly_chart(figure, width="stretch", key="global_class_maps")
    st.caption(_maps_caption(settings, rows, dataset.n_rows, parts, shared))


def _maps_caption(settings: GlobalSettings, rows: np.ndarray, total: int,
                  parts: list[dict], shared: bool) -> str:
    seconds = sum(p["seconds"] for p in parts)
    scale = "one colour scale for every map, so classes compare in strength" if shared \
        else "each map scaled to its own largest |value|, so its shape shows"
    text = (f"Computed on **{len(rows):,} rows** of {total:,} (drawn with seed "
            f"{settings.seed}) in {seconds:.2f} s. Each row's "
            f"{ge.IMAGE_METHODS[settings.method]} map of its predicted class, summed over "
            f"channels, averaged per class; red raises the class's output, blue lowers it; "
            f"{scale}.")
    if settings.method == "ig":
        gaps = np.concatenate([p["gaps"] for p in parts])
        text += (f" Integrated Gradients: {ge.IG_STEPS} steps from a black image, median "
                 f"completeness gap {100 * float(np.median(gaps)):.2f} %.")
    return text


def text_ui(settings: GlobalSettings, dataset: Dataset, pred: Predictions, model_sha: str,
            data_sha: str, runner: ModelRunner, scope: str) -> None:
    """The tokens with the largest mean attribution towards each class: table and bars."""
    rows = ge.sample_rows(dataset.n_rows, settings.n_rows, settings.seed)
    classes, names = classes_of(pred, rows)
    reason = unavailable_for(model_sha, "text", settings.method, runner, dataset.x[:1],
                             dataset.codec)
    if reason:
        refusal(ge.TEXT_METHODS[settings.method], reason)
        return
    texts = np.asarray(dataset.x[rows], dtype=object)

    def load(start: int, stop: int) -> tuple[dict | None, str | None]:
        return tokens_chunk_for(model_sha, data_sha, settings.n_rows, settings.seed,
                                settings.method, pred.task, start, stop, runner,
                                texts[start:stop], classes[start:stop], dataset.codec)

    parts = _chunked(load, ge.TEXT_METHODS[settings.method], len(rows), "text")
    if parts is None:
        return
    cols = st.columns(2)
    top_k = cols[0].slider("Tokens per class", 3, 30, 10, key=f"global_topk_{scope}")
    least = int(cols[1].number_input("Seen at least (times)", 1, 100, 2,
                                     key=f"global_least_{scope}"))
    tokens = [t for p in parts for t in p["tokens"]]
    values = np.concatenate([p["values"] for p in parts])
    table = ge.top_tokens(tokens, values, classes, names, top_k=top_k, min_count=least)
    _tokens_out(table, names, settings, rows, dataset.n_rows, parts)


def _tokens_out(table: pd.DataFrame, names: tuple[str, ...], settings: GlobalSettings,
                rows: np.ndarray, total: int, parts: list[dict]) -> None:
    if table.empty:
        st.info("No token occurs often enough; lower “Seen at least” or explain more rows.")
        return
    st.plotly_chart(plots.token_bars(table, names), width="stretch", key="global_tokens")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"mean attribution": st.column_config.NumberColumn(
                     format="%.4f")})
    seconds = sum(p["seconds"] for p in parts)
    st.caption(f"Computed on **{len(rows):,} rows** of {total:,} (drawn with seed "
               f"{settings.seed}) in {seconds:.2f} s. Each text is explained towards its "
               f"predicted class with {ge.TEXT_METHODS[settings.method]} at the Embedding "
               f"output, one value per token (summed over the embedding dimension); a "
               f"token's figure is its mean over its occurrences in that class's texts.")
