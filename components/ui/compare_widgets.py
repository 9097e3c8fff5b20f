"""The compare page's widgets and cached loaders: the second model, then each block.

Model A is the sidebar's model; model B is picked on the page: a bundled sample, a model
kept in the workspace, or an upload. Uploads and stored files run in a worker like the
sidebar's, but in a cache of their own (one entry per session): the sidebar's upload cache
holds one model per session, and putting B there would evict A and stop its worker.

Each ``*_ui`` function draws one block and returns plain values; computing goes through
content-keyed caches (the loaders' for predictions, evaluations and attributions, which are
keyed on the model's SHA-256, so model B shares them), so reruns recompute nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components.data.checks import Dataset
from components.data.numbers import output_text
from components.data.predictions import Predictions, page_count, page_slice
from components.explain import compare
from components.explain.agreement import method_label
from components.explain.local import SubjectFacts, subject_for
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution, Subject
from components.explain.methods.targets import target_choices
from components.model.bundle import ModelBundle
from components.model.worker import ModelRunner
from components.plots import compare as plots
from components.plots import explain as explain_plots
from components.text_safety import escape_markdown
from components.ui.explain_widgets import Settings, display_ui
from components.ui.loaders import (
    attribution_for,
    evaluation_for,
    facts_for,
    predictions_for,
)
from components.ui.model_picker import (
    FOLDER,
    STORED,
    UPLOAD,
    PickedModel,
    folder_model,
    model_options,
    sample_model,
    second_bundle,
    stored_model,
    uploaded_model,
)
from components.ui.selection import select_row
from components.ui.widgets import facts_row, refusal

SAMPLE = "sample:"  # + sample key
URL_PARAM = "vs"  # ?vs=KEY (a sample), SHA256 (a stored model) or NAME (the model folder)
PANEL_COLUMNS = {"tabular": 2, "image": 2, "text": 1}
PAGE_ROWS = 1000  # the rows table, a page at a time (no thumbnails here: 1,000 are cheap)


# ---------------------------------------------------------------- the second model


def second_model_ui() -> PickedModel | None:
    """The picker for model B; None until one is chosen (or an upload is pending)."""
    keys, titles = model_options(sample_prefix=SAMPLE, upload_title="Upload a model…")
    wanted = _wanted(keys)
    choice = st.selectbox("Second model (B)", keys, format_func=titles.__getitem__,
                          index=keys.index(wanted) if wanted else None,
                          placeholder="Choose the model to compare with",
                          key="compare_model_choice")
    if choice is None:
        st.query_params.pop(URL_PARAM, None)
        return None
    if choice == UPLOAD:
        return _uploaded()
    _put_in_url(choice.split(":", 1)[1])
    if choice.startswith(SAMPLE):
        return sample_model(choice.removeprefix(SAMPLE))
    if choice.startswith(FOLDER):
        return folder_model(choice.removeprefix(FOLDER), second_bundle)
    return stored_model(choice.removeprefix(STORED), second_bundle)


def _wanted(keys: list[str]) -> str | None:
    named = st.query_params.get(URL_PARAM)
    for key in (f"{STORED}{named}", f"{SAMPLE}{named}", f"{FOLDER}{named}"):
        if named and key in keys:
            return key
    return None


def _put_in_url(value: str) -> None:
    if st.query_params.get(URL_PARAM) != value:
        st.query_params[URL_PARAM] = value


def _uploaded() -> PickedModel | None:
    picked = uploaded_model("Second model (.keras / .h5)", "compare_model_file",
                            "Checked statically, then loaded in Keras' safe mode in a worker "
                            "process, like the sidebar's uploads.", second_bundle)
    if picked is None:
        st.query_params.pop(URL_PARAM, None)
        return None
    if picked.bundle is not None:
        _put_in_url(picked.sha256)
    return picked


def outputs_of(bundle: ModelBundle) -> int:
    """The width of a model's first output (1 for a single unit)."""
    shape = bundle.summary.outputs[0]
    return int(shape[-1]) if len(shape) > 1 and shape[-1] is not None else 1


def class_names_for(bundle_b: ModelBundle, bundle_a: ModelBundle,
                    class_names: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The sample's class names for B too when B has as many outputs as A; else none."""
    return class_names if outputs_of(bundle_b) == outputs_of(bundle_a) else None


# ---------------------------------------------------------------- the two models


@dataclass(frozen=True)
class Pair:
    """Both models on one dataset: what every block needs to reach their caches."""

    a: ModelBundle
    b: ModelBundle
    dataset: Dataset
    data_sha: str
    task: str
    class_names_a: tuple[str, ...] | None
    class_names_b: tuple[str, ...] | None

    @property
    def scope(self) -> str:
        """Widget keys: per (model A, model B, data) contents."""
        return f"{self.a.loaded.sha256[:12]}_{self.b.loaded.sha256[:12]}_{self.data_sha[:12]}"


def predictions_ui(pair: Pair) -> tuple[Predictions, Predictions] | None:
    """Both models' predictions for every row; a failure is one line and None."""
    out = []
    for who, bundle, names in (("A", pair.a, pair.class_names_a),
                               ("B", pair.b, pair.class_names_b)):
        pred, error = predictions_for(bundle.loaded.sha256, pair.data_sha, pair.task,
                                      pair.dataset.label_name, names, bundle.runner,
                                      pair.dataset)
        if error:
            refusal(f"Model {who}'s predictions", error)
            return None
        out.append(pred)
    return out[0], out[1]


def metrics_ui(pair: Pair, pred_a: Predictions, pred_b: Predictions) -> None:
    """Both models' headline metrics side by side, with the difference."""
    figures = []
    for bundle, names, pred in ((pair.a, pair.class_names_a, pred_a),
                                (pair.b, pair.class_names_b, pred_b)):
        evaluation, error = evaluation_for(bundle.loaded.sha256, pair.data_sha, pair.task,
                                           pair.dataset.label_name, names, bundle.runner,
                                           pair.dataset)
        if error:
            st.info(f"No metrics: {escape_markdown(error)}")
            return
        figures.append(compare.headline_metrics(evaluation, pred.scores))
    table = compare.metrics_table(figures[0], figures[1], pair.task)
    st.dataframe(table, hide_index=True, width="stretch", key=f"cmp_metrics_{pair.scope}",
                 column_config={c: st.column_config.NumberColumn(c, format="%.4f")
                                for c in ("model A", "model B", "B − A")})
    st.caption(f"{len(pred_a):,} rows, task {pair.task}; “better” reads higher as better for "
               "accuracy, F1, AUC and R², lower for log loss, MAE and RMSE.")


# ---------------------------------------------------------------- where they disagree


def disagreement_ui(pair: Pair, pred_a: Predictions, pred_b: Predictions,
                    row_scope: str) -> pd.DataFrame:
    """Counts, filters and the table of rows where the predictions differ; selecting a row
    selects that sample (for this page's explanations and the explain page's). Returns the
    whole `disagreement_table`."""
    regression = pred_a.task == "regression"
    threshold = 0.0
    if regression:
        threshold = float(st.number_input(
            "Disagree when |A − B| is above", min_value=0.0,
            value=compare.default_threshold(pred_a), format="%.4g",
            key=f"cmp_threshold_{pair.scope}"))
    table = compare.disagreement_table(pred_a, pred_b, threshold)
    counts = compare.disagreement_counts(table)
    share = counts["disagree"] / max(counts["rows"], 1)
    facts_row({"Rows": f"{counts['rows']:,}", "They disagree": f"{counts['disagree']:,}",
               "Share": f"{100 * share:.1f} %"}
              | {k: f"{v:,}" for k, v in counts.items() if k not in ("rows", "disagree")})
    left, right = st.columns([3, 2])
    with left:
        shown = _filtered(table, pair.scope)
        _rows_table(shown, table, pair, row_scope)
    with right:
        if regression:
            figure = plots.prediction_scatter(pred_a.predicted, pred_b.predicted, threshold,
                                              "B against A, red: they disagree")
        else:
            figure = plots.crosstab_heatmap(compare.prediction_crosstab(pred_a, pred_b),
                                            "Predicted classes: A against B")
        st.plotly_chart(figure, width="stretch", key=f"cmp_cross_{pair.scope}")
    return table


def _filtered(table: pd.DataFrame, scope: str) -> pd.DataFrame:
    cols = st.columns(2)
    only = cols[0].toggle("Only rows where they disagree", value=True,
                          key=f"cmp_only_{scope}")
    who = "any"
    if "A right" in table:
        who = cols[1].selectbox("Who is right", compare.WHO, key=f"cmp_who_{scope}")
    shown = compare.filter_disagreements(table, only_disagree=only, who=who)
    return shown.drop(columns=["disagree"]) if only else shown


def _rows_table(shown: pd.DataFrame, table: pd.DataFrame, pair: Pair, row_scope: str) -> None:
    if shown.empty:
        st.success("No row matches: the models agree there." if len(table) else "No rows.")
        return
    pages = page_count(len(shown), PAGE_ROWS)  # 100,000 rows: 100 pages
    page = 1 if pages == 1 else int(st.number_input(
        f"Page (of {pages:,}, {PAGE_ROWS} rows each)", min_value=1, max_value=pages, step=1,
        key=f"cmp_page_{pair.scope}_{len(shown)}"))  # a new filter starts at page 1
    at = page_slice(len(shown), page, PAGE_ROWS)
    whole, shown = shown, shown.iloc[at]
    key = f"cmp_rows_{pair.scope}_{at.start}"

    def picked() -> None:
        rows = st.session_state[key].selection.rows
        if rows:
            select_row(row_scope, int(shown.index[rows[0]]))

    config: dict[str, Any] = {
        c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="%.3f")
        for c in ("A confidence", "B confidence") if c in shown}
    st.dataframe(shown, key=key, on_select=picked, selection_mode="single-row", height=300,
                 width="stretch", column_config=config)
    where = f"rows {at.start + 1:,}–{at.stop:,} of " if pages > 1 else ""
    st.caption(f"{where}{len(whole):,} of {len(table):,} rows · select a row to compare the "
               "models' explanations of it")


# ---------------------------------------------------------------- one sample


def sample_facts_ui(pair: Pair, row: int) -> tuple[Subject, SubjectFacts, SubjectFacts] | None:
    """The row as a subject and what each model says about it; a failure is one line."""
    subject = subject_for(pair.dataset, row, pair.task)
    out = []
    for who, bundle in (("A", pair.a), ("B", pair.b)):
        facts, error = facts_for(bundle.loaded.sha256, pair.data_sha, row, pair.task,
                                 bundle.runner, subject)
        if error:
            refusal(f"Model {who}", error)
            return None
        out.append(facts)
    return subject, out[0], out[1]


def sample_line(row: int, table: pd.DataFrame) -> None:
    """Row N · A predicts … · B predicts … · label … (``table``: `disagreement_table`)."""
    line = table.loc[row]
    if "A confidence" in table:
        text = (f"**Row {row}** · A predicts {escape_markdown(line['A predicted'])} "
                f"({line['A confidence']:.3f}) · B predicts "
                f"{escape_markdown(line['B predicted'])} ({line['B confidence']:.3f})")
        if "label" in table:
            text += f" · label {escape_markdown(line['label'] or 'missing')}"
    else:
        text = (f"**Row {row}** · A predicts {line['A predicted']:.4g} · B predicts "
                f"{line['B predicted']:.4g}")
        if "label" in table:
            text += f" · label {line['label']:.4g}"
    st.markdown(text)


def common_methods(facts_a: SubjectFacts, facts_b: SubjectFacts) -> tuple[list[str], list[str]]:
    """(methods that apply to both models, one line per method that does not, saying which
    model it does not apply to and why)."""
    both, notes = [], []
    for name in REGISTRY:
        why_a, why_b = facts_a.status.get(name), facts_b.status.get(name)
        label = REGISTRY[name].label
        if why_a is None and why_b is None:
            both.append(name)
        elif why_a is None:
            notes.append(f"{label} applies to model A only; model B: {why_b}")
        elif why_b is None:
            notes.append(f"{label} applies to model B only; model A: {why_a}")
        elif why_a == why_b:
            notes.append(f"{label} is not offered: {why_a}")
        else:
            notes.append(f"{label} is not offered: model A: {why_a}; model B: {why_b}")
    return both, notes


def sample_settings_ui(pair: Pair, subject: Subject, facts_a: SubjectFacts,
                       facts_b: SubjectFacts, offered: list[str], row: int) -> Settings:
    """Methods (those that apply to both), the output both explain, seed and display."""
    n_out = min(len(facts_a.prediction), len(facts_b.prediction))
    names = pair.class_names_a if pair.class_names_a and len(pair.class_names_a) >= n_out \
        else None
    choices = target_choices(n_out, pair.task, names[:n_out] if names and n_out > 1 else names)
    default = facts_a.default_target if facts_a.default_target < n_out else 0

    def label(t: int) -> str:
        mark = " · A predicts" if t == facts_a.default_target and n_out > 1 else ""
        return (f"{choices[t]} (A {output_text(facts_a.prediction[t], pair.task)} · B "
                f"{output_text(facts_b.prediction[t], pair.task)}){mark}")

    cols = st.columns([3, 2, 1])
    methods = cols[0].multiselect("Methods", offered, default=offered,
                                  format_func=lambda n: REGISTRY[n].label,
                                  key=f"cmp_methods_{pair.scope}")
    target = cols[1].selectbox("Explain the output", list(choices), index=default,
                               format_func=label, key=f"cmp_target_{pair.scope}_{row}")
    seed = int(cols[2].number_input("Seed", 0, 2**31 - 1, 0, key=f"cmp_seed_{pair.scope}"))
    return Settings(methods=methods, target=int(target), seed=seed,
                    **display_ui(subject, pair.scope, prefix="cmp_", text_top_k=False))


def attributions_ui(pair: Pair, subject: Subject, settings: Settings, row: int
                    ) -> dict[str, tuple[Attribution, Attribution]]:
    """Each chosen method for both models through the attribution cache; a failure is one
    line naming the model."""
    done: dict[str, tuple[Attribution, Attribution]] = {}
    with st.status(f"Explaining row {row} with both models…", expanded=False) as status:
        for name in settings.methods:
            pair_of = []
            for who, bundle in (("A", pair.a), ("B", pair.b)):
                attr, error = attribution_for(bundle.loaded.sha256, pair.data_sha, row, name,
                                              settings.target, settings.seed, json.dumps({}),
                                              pair.task, bundle.runner, subject)
                if error:
                    refusal(f"{REGISTRY[name].label} for model {who}", error)
                    break
                pair_of.append(attr)
            if len(pair_of) == 2:
                done[name] = (pair_of[0], pair_of[1])
        status.update(label=f"Row {row}: {len(done)} of {len(settings.methods)} methods for "
                            "both models", state="complete")
    return done


def similarity_table_ui(done: dict[str, tuple[Attribution, Attribution]]
                        ) -> dict[str, compare.Similarity]:
    """Per method, cosine and Spearman between the models' attributions of this sample."""
    scores = {name: compare.similarity(a, b) for name, (a, b) in done.items()}
    frame = pd.DataFrame({
        "method": [method_label(n) for n in scores],
        "cosine": [s.cosine for s in scores.values()],
        "Spearman": [s.spearman for s in scores.values()]})
    st.dataframe(frame, hide_index=True, width="content",
                 column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                                for c in ("cosine", "Spearman")})
    return scores


def panels_ui(subject: Subject, done: dict[str, tuple[Attribution, Attribution]],
              scores: dict[str, compare.Similarity], settings: Settings,
              names: tuple[str, str]) -> None:
    """Per method: model A's panel beside model B's, the similarity figures above them."""
    for name, (a, b) in done.items():
        s = scores[name]
        line = (f"**{escape_markdown(method_label(name))}** · cosine "
                f"{compare.fmt_similarity(s.cosine)} · Spearman "
                f"{compare.fmt_similarity(s.spearman)}")
        if s.reason:
            line += f" · {escape_markdown(s.reason)}"
        st.markdown(line)
        order = explain_plots.feature_order({"A": a, "B": b}, settings.top_k) \
            if subject.kind == "tabular" else None
        columns = st.columns(2) if PANEL_COLUMNS[subject.kind] == 2 else [st.container()] * 2
        for column, who, attr, model in zip(columns, "AB", (a, b), names, strict=True):
            with column:
                figure = explain_plots.panel_figure(
                    subject.kind, subject.sample, attr, order, f"{who}: {model}",
                    opacity=settings.opacity, mode=settings.mode)
                st.plotly_chart(figure, width="stretch", key=f"cmp_panel_{name}_{who}")


# ---------------------------------------------------------------- across the dataset


@st.cache_data(max_entries=4096, show_spinner=False)
def similarity_chunk_for(model_a: str, model_b: str, data_sha256: str, task: str,
                         method: str, seed: int, rows: tuple[int, ...],
                         targets: tuple[int | None, ...], _runner_a: ModelRunner,
                         _runner_b: ModelRunner, _dataset: Dataset) -> compare.ChunkResult:
    """`compare.chunk_similarities`, keyed on both models' and the data's SHA-256, the
    method, seed, rows and targets."""
    return compare.chunk_similarities(_runner_a, _runner_b, _dataset, task, method, seed,
                                      rows, targets)


def summary_settings_ui(pair: Pair, offered: list[str]) -> tuple[int, int, list[str]]:
    """(rows, sampling seed, methods) for the dataset summary."""
    n_rows = len(pair.dataset.x)
    cols = st.columns([1, 1, 3])
    n = int(cols[0].number_input("Rows to compare", 1, n_rows,
                                 min(compare.SUMMARY_ROWS, n_rows),
                                 key=f"cmp_summary_rows_{pair.scope}"))
    seed = int(cols[1].number_input("Sampling seed", 0, 2**31 - 1, 0,
                                    key=f"cmp_summary_seed_{pair.scope}"))
    cheap = [m for m in offered if m in compare.CHEAP_METHODS]
    methods = cols[2].multiselect("Methods", offered, default=cheap,
                                  format_func=lambda m: REGISTRY[m].label,
                                  key=f"cmp_summary_methods_{pair.scope}",
                                  help="The gradient methods are quick; LIME, SHAP and "
                                       "SmoothGrad take longer per row.")
    return n, seed, methods


def summary_ui(pair: Pair, pred_a: Predictions, n_outputs: int, rows: np.ndarray,
               methods: list[str], row_scope: str) -> dict[str, np.ndarray]:
    """Each method over ``rows`` for both models (targets: A's predicted class), with a
    progress bar; then mean/median similarity per method and the spread."""
    targets = compare.row_targets(pred_a.scores, rows, pair.task, n_outputs)
    per_method = _similarities(pair, rows, targets, methods)
    if not per_method:
        return per_method
    st.dataframe(compare.similarity_summary(per_method), hide_index=True, width="stretch",
                 key=f"cmp_summary_{pair.scope}",
                 column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                                for c in ("mean cosine", "median cosine", "mean Spearman",
                                          "median Spearman")})
    left, right = st.columns(2)
    left.plotly_chart(plots.similarity_box(per_method, rows, "cosine"), width="stretch",
                      key=f"cmp_box_cos_{pair.scope}")
    right.plotly_chart(plots.similarity_box(per_method, rows, "spearman"), width="stretch",
                       key=f"cmp_box_rho_{pair.scope}")
    _least_similar_ui(pair, rows, per_method, row_scope)
    return per_method


def _similarities(pair: Pair, rows: np.ndarray, targets: list[int | None],
                  methods: list[str]) -> dict[str, np.ndarray]:
    bar = st.progress(0.0, text=f"Comparing {len(rows)} rows…")

    def chunk(method: str, piece: tuple[int, ...], wanted: tuple[int | None, ...]
              ) -> compare.ChunkResult:
        return similarity_chunk_for(pair.a.loaded.sha256, pair.b.loaded.sha256, pair.data_sha,
                                    pair.task, method, 0, piece, wanted, pair.a.runner,
                                    pair.b.runner, pair.dataset)

    def progress(step: int, steps: int, method: str, piece: tuple[int, ...]) -> None:
        bar.progress(step / steps, text=f"{REGISTRY[method].label}: rows {piece[0]}…"
                                        f"{piece[-1]} ({step} of {steps})")

    result = compare.dataset_similarities(rows, targets, methods, chunk, progress)
    bar.progress(1.0, text=f"Compared {len(rows)} rows with {len(methods)} methods")
    for method, error in result.broken.items():
        refusal(REGISTRY[method].label, error)
    for method, failed in result.failures.items():
        st.caption(f"{REGISTRY[method].label}: {len(failed)} explanations failed, first: "
                   f"{escape_markdown(failed[0])}")
    skipped = sum(t is None for t in targets)
    if skipped:
        st.caption(f"{skipped} rows skipped: model A's predicted class is not an output of "
                   "model B.")
    return result.per_method


def _least_similar_ui(pair: Pair, rows: np.ndarray, per_method: dict[str, np.ndarray],
                      row_scope: str) -> None:
    frame = compare.least_similar(rows, per_method, k=10)
    if frame.empty:
        return
    st.markdown("**The rows whose explanations differ most** (lowest cosine first); select "
                "one to compare it above")
    key = f"cmp_least_{pair.scope}"

    def picked() -> None:
        chosen = st.session_state[key].selection.rows
        if chosen:
            select_row(row_scope, int(frame.index[chosen[0]]))

    st.dataframe(frame, key=key, on_select=picked, selection_mode="single-row",
                 width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                                for c in frame.columns})
