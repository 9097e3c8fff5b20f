"""The Quality page's widgets and cached loaders: faithfulness, stability, sanity.

Each `*_ui` function draws one section and returns plain values. Attributions come from the
explain page's own cache (`loaders.attribution_for`, keyed on model, data, row, method,
target, seed and settings), so a sample already explained there is not explained again;
curves and sanity checks are cached here on the same kind of key. Every call on the model
goes through the bundle's runner (``_runner``): in the worker process for an upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components.data.checks import Dataset
from components.data.numbers import output_text
from components.data.predictions import Predictions
from components.errors import GlassboxError, first_line
from components.explain import quality as q
from components.explain.local import SubjectFacts, subject_for
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution, Subject
from components.explain.methods.targets import default_target, target_choices
from components.model.worker import ModelRunner
from components.plots import quality as plots
from components.plots.explain import image_overlay
from components.text_safety import escape_markdown
from components.ui.loaders import attribution_for
from components.ui.selection import select_row
from components.ui.widgets import refusal

NO_PARAMS = "{}"  # every method with its default settings, as the explain page keys them
MAX_AVERAGE_ROWS = 200
MAX_SEEDS = 20
MAX_BARS = 30  # tabular and text stability: at most this many features, by mean |value|
MAX_LISTED = 10  # sign flips named in the warning


@dataclass(frozen=True)
class Context:
    """What every section needs: where the model runs, the contents' digests, the sample."""

    runner: ModelRunner
    model_sha: str
    data_sha: str
    dataset: Dataset
    task: str
    subject: Subject
    facts: SubjectFacts
    pred: Predictions
    row: int
    scope: str
    class_names: tuple[str, ...] | None

    @property
    def kind(self) -> str:
        return self.subject.kind

    @property
    def offered(self) -> list[str]:
        """The methods that apply to this model and sample, registry order."""
        return [name for name, reason in self.facts.status.items() if reason is None]


@dataclass(frozen=True)
class Settings:
    """The page-wide choices: the explained output, the methods' seed, the image fill."""

    target: int
    seed: int
    fill: str


# ---------------------------------------------------------------- cached loaders


@st.cache_data(max_entries=16, show_spinner=False)
def baseline_for(data_sha256: str, kind: str, fill: str, _dataset: Dataset) -> np.ndarray | None:
    """What a removed unit becomes (`quality.removal_baseline`), once per dataset and fill."""
    return q.removal_baseline(kind, _dataset.x, fill)


@st.cache_data(max_entries=4096, show_spinner=False)
def curves_for(model_sha256: str, data_sha256: str, row: int, method: str, target: int,
               seed: int, params_json: str, fill: str, task: str, _runner: ModelRunner,
               _subject: Subject, _baseline: np.ndarray | None) -> tuple[dict | None, str | None]:
    """Deletion and insertion curves of one method's attribution of one row.

    The attribution comes from the explain page's cache (`loaders.attribution_for`), and is
    asked for only when these curves are not cached yet. ``method`` `quality.REFERENCE` is
    the random order drawn with ``seed``. The removal order (one entry per unit: 50,176 for
    a 224 x 224 image) is not kept.
    """
    if method == q.REFERENCE:
        curves, error = _attempt(_runner.run, q.reference_curves_of, _subject, target,
                                 _baseline, seed)
    else:
        attr, error = attribution_for(model_sha256, data_sha256, row, method, target, seed,
                                      params_json, task, _runner, _subject)
        curves = None
        if attr is not None:
            curves, error = _attempt(_runner.run, q.curves_of, _subject, attr.values, target,
                                     _baseline)
    if curves is not None:
        curves = {k: v for k, v in curves.items() if k != "order"}
    return curves, error


@st.cache_data(max_entries=64, show_spinner=False)
def sanity_for(model_sha256: str, data_sha256: str, row: int, methods: tuple[str, ...],
               target: int, seed: int, task: str, _runner: ModelRunner, _subject: Subject
               ) -> tuple[dict | None, str | None]:
    """The gradient methods on the model and on its randomised copy (seeded)."""
    return _attempt(_runner.run, q.sanity_of, _subject, list(methods), target, seed)


def _attempt(fn, *args) -> tuple[Any, str | None]:
    try:
        return fn(*args), None
    except GlassboxError as err:
        return None, str(err)
    except Exception as err:  # one failing part must not take the page down
        return None, f"could not compute ({type(err).__name__}: {first_line(err)})"


def _attribution(ctx: Context, subject: Subject, row: int, method: str, target: int,
                 seed: int) -> tuple[Attribution | None, str | None]:
    return attribution_for(ctx.model_sha, ctx.data_sha, row, method, target, seed, NO_PARAMS,
                           ctx.task, ctx.runner, subject)


def _row_curves(ctx: Context, subject: Subject, row: int, methods: list[str], target: int,
                seed: int, fill: str) -> tuple[dict[str, dict], dict[str, str]]:
    """Curves of each method on one row, then the random-order reference (seeded per row);
    the errors by method."""
    baseline = baseline_for(ctx.data_sha, ctx.kind, fill, ctx.dataset)
    done: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for method in [*methods, q.REFERENCE]:
        method_seed = seed + row if method == q.REFERENCE else seed
        curves, error = curves_for(ctx.model_sha, ctx.data_sha, row, method, target,
                                   method_seed, NO_PARAMS, fill, ctx.task, ctx.runner,
                                   subject, baseline)
        if error:
            errors[method] = error
        else:
            done[method] = curves
    return done, errors


# ---------------------------------------------------------------- shared settings


def row_ui(ctx: Context) -> None:
    """Another row by number (the Explain page's table and map pick one too)."""
    picked = st.number_input("Row", 0, ctx.dataset.n_rows - 1, ctx.row, step=1,
                             help="The sample checked here; the Explain page's table and map "
                                  "select one too.")
    if int(picked) != ctx.row:
        select_row(ctx.scope, int(picked))
        st.rerun()


def settings_ui(ctx: Context) -> Settings:
    """Target, seed and (images) the fill a removed pixel takes."""
    prediction, default = ctx.facts.prediction, ctx.facts.default_target
    choices = target_choices(len(prediction), ctx.task, ctx.class_names)
    cols = st.columns([3, 1, 2])
    target = cols[0].selectbox(
        "Explain the output", list(choices), index=default, key=f"q_target_{ctx.scope}",
        format_func=lambda t: f"{choices[t]} ({output_text(prediction[t], ctx.task)})" +
        (" · predicted" if t == default and len(choices) > 1 else ""))
    seed = int(cols[1].number_input("Seed", 0, 2**31 - 1 - MAX_SEEDS, 0, key="q_seed",
                                    help="The methods' seed (LIME, SHAP, SmoothGrad)."))
    fill = "mean"
    if ctx.kind == "image":
        fill = cols[2].radio("A removed pixel becomes", list(q.FILLS), index=1,
                             horizontal=True, key="q_fill",
                             format_func={"zero": "zero", "mean": "the mean image"}.__getitem__)
    return Settings(target=int(target), seed=seed, fill=fill)


def _output_label(ctx: Context, target: int) -> str:
    choices = target_choices(len(ctx.facts.prediction), ctx.task, ctx.class_names)
    return f"output: {choices[target]}"


def _removal_note(kind: str, fill: str) -> str:
    if kind == "tabular":
        return ("A removed feature takes the dataset's mean (over every row); features go "
                "one by one.")
    if kind == "image":
        what = "zero" if fill == "zero" else "the dataset's mean image"
        return (f"A removed pixel takes {what} in every channel; pixels are ranked by their "
                f"attribution summed over the channels and go in chunks, at most "
                f"{q.MAX_STEPS} steps.")
    return "A removed token is dropped and the text rebuilt from the tokens left."


# ---------------------------------------------------------------- faithfulness


def faithfulness_ui(ctx: Context, settings: Settings) -> list[str]:
    """The selected sample's deletion and insertion curves per method; returns the methods."""
    methods = st.multiselect("Methods", ctx.offered, default=ctx.offered,
                             key=f"q_methods_{ctx.scope}",
                             format_func=lambda n: REGISTRY[n].label)
    unit = q.UNITS[ctx.kind]
    st.caption(f"The {unit} are removed (deletion) or added back to the all-removed input "
               f"(insertion) in the order of the attribution, largest signed value first: "
               f"what pushes the explained output up goes first. "
               f"{_removal_note(ctx.kind, settings.fill)} A faithful explanation makes the "
               "output fall fast (a low deletion area) and rise fast (a high insertion "
               "area); the dashed random order is the reference to beat.")
    if not methods:
        st.info("Choose at least one method.")
        return methods
    curves, errors = _row_curves(ctx, ctx.subject, ctx.row, methods, settings.target,
                                 settings.seed, settings.fill)
    for method, error in errors.items():
        refusal(q.method_name(method), error)
    if not curves:
        return methods
    st.plotly_chart(plots.curves_figure(curves, unit=unit,
                                        output=_output_label(ctx, settings.target),
                                        title=f"Row {ctx.row}"),
                    width="stretch", key="q_curves")
    st.markdown(f"**Area under the curves, row {ctx.row}** (x from 0 to 1, in the units of "
                "the output)")
    st.dataframe(q.sample_auc_frame(curves), hide_index=True, width="stretch",
                 column_config=_auc_columns())
    return methods


def _auc_columns() -> dict[str, Any]:
    number = st.column_config.NumberColumn
    return {"deletion AUC": number("deletion AUC (lower is better)", format="%.4g"),
            "insertion AUC": number("insertion AUC (higher is better)", format="%.4g")}


def average_ui(ctx: Context, settings: Settings, methods: list[str]) -> None:
    """The same curves over a seeded sample of rows: mean ± std areas and mean curves."""
    st.subheader("Averaged over rows")
    top = min(MAX_AVERAGE_ROWS, ctx.dataset.n_rows)
    _clamp("q_rows", top)
    cols = st.columns([2, 2, 1])
    count = int(cols[0].number_input("Rows", 1, top, min(20, top), key="q_rows",
                                     help="How many rows, drawn at random (seeded)."))
    draw = int(cols[1].number_input("Row draw seed", 0, 2**31 - 1, 0, key="q_rows_seed"))
    bands = cols[2].toggle("± std bands", key="q_bands",
                           help="Shade one standard deviation over the rows around each "
                                "mean curve.")
    if not methods:
        return
    rows = q.sample_rows(ctx.dataset.n_rows, count, draw)
    per_method = _curves_over_rows(ctx, settings, methods, rows, draw)
    if not per_method:
        return
    st.caption("Each row explains its own predicted class (the output itself for a single "
               "output); mean ± standard deviation over the rows.")
    st.dataframe(q.auc_display(q.auc_table(per_method)), hide_index=True, width="stretch")
    means = {m: q.mean_curves(c) for m, c in per_method.items()}
    st.plotly_chart(plots.curves_figure(means, unit=q.UNITS[ctx.kind], bands=bands,
                                        output="mean output",
                                        title=f"Mean curves over {len(rows)} rows"),
                    width="stretch", key="q_mean_curves")


def _curves_over_rows(ctx: Context, settings: Settings, methods: list[str], rows: list[int],
                      draw: int) -> dict[str, list[dict]]:
    """Each row's curves per method, with a progress bar; failures said once per method."""
    per_method: dict[str, list[dict]] = {}
    failed: dict[str, list[str]] = {}
    bar = st.progress(0.0, text=f"Curves for {len(rows)} rows…")
    for i, row in enumerate(rows):
        subject = subject_for(ctx.dataset, row, ctx.task)
        target = default_target(ctx.pred.scores[row], ctx.task)
        curves, errors = _row_curves(ctx, subject, row, methods, target, settings.seed,
                                     settings.fill)
        for method, curve in curves.items():
            per_method.setdefault(method, []).append(curve)
        for method, error in errors.items():
            failed.setdefault(method, []).append(error)
        bar.progress((i + 1) / len(rows), text=f"Curves: row {i + 1} of {len(rows)}")
    bar.progress(1.0, text=f"Done: {len(rows)} rows (draw seed {draw}).")
    for method, errors in failed.items():
        refusal(q.method_name(method), f"failed on {len(errors)} of {len(rows)} rows: "
                                        f"{errors[0]}")
    return per_method


def _clamp(key: str, top: int) -> None:
    """A held widget value above a new maximum (a smaller dataset) comes down to it."""
    held = st.session_state.get(key)
    if isinstance(held, (int, float)) and held > top:
        st.session_state[key] = top


# ---------------------------------------------------------------- stability


def stability_ui(ctx: Context, settings: Settings) -> None:
    """Each chosen method rerun with k seeds: spread per feature and sign flips."""
    default = [m for m in ctx.offered if m in q.STOCHASTIC]
    cols = st.columns([3, 2])
    methods = cols[0].multiselect("Methods to rerun", ctx.offered, default=default,
                                  key=f"q_stable_{ctx.scope}",
                                  format_func=lambda n: REGISTRY[n].label)
    k = int(cols[1].slider("Seeds", 2, MAX_SEEDS, 5, key="q_k"))
    seeds = [settings.seed + i for i in range(k)]
    st.caption(f"Seeds {seeds[0]}–{seeds[-1]}. Error bars: mean ± standard deviation over "
               "the seeds; grey dots: each seed; an orange ring: the sign flips between "
               "seeds (ignoring values under 1 % of the largest), so even the direction of that "
               "feature's effect is not settled. "
               "Deterministic methods (the gradients but SmoothGrad) have no spread.")
    if not methods:
        st.info("Choose at least one method to rerun.")
        return
    for method in methods:
        _stability_panel(ctx, method, settings.target, seeds)


def _stability_panel(ctx: Context, method: str, target: int, seeds: list[int]) -> None:
    label = REGISTRY[method].label
    runs = []
    for seed in seeds:
        attr, error = _attribution(ctx, ctx.subject, ctx.row, method, target, seed)
        if error:
            refusal(label, error)
            return
        runs.append(np.asarray(attr.values))
    stack, labels = q.stability_units(runs, ctx.kind, ctx.facts.features)
    summary = q.spread(stack)
    shown = _shown_units(ctx.kind, summary["mean"])
    figure = plots.stability_figure([labels[i] for i in shown], stack[:, shown],
                                    summary["flips"][shown],
                                    title=f"{label}: {len(seeds)} seeds")
    if ctx.kind == "image":
        left, right = st.columns([3, 2])
        left.plotly_chart(figure, width="stretch", key=f"q_stable_{method}")
        right.plotly_chart(plots.std_heatmap(q.std_map(runs), title="std per pixel"),
                           width="stretch", key=f"q_std_{method}")
        st.caption(f"The {len(shown)} pixel blocks with the largest mean |value| "
                   "(values summed over each block and the channels).")
    else:
        st.plotly_chart(figure, width="stretch", key=f"q_stable_{method}")
    noun = "pixel blocks" if ctx.kind == "image" else q.UNITS[ctx.kind]
    _flips_note(label, labels, summary, len(seeds), noun)


def _shown_units(kind: str, mean: np.ndarray) -> np.ndarray:
    """Images: the top blocks by mean |value|; text: the tokens in reading order (up to
    the limit); tabular: the features by mean |value|."""
    if kind == "image":
        return q.top_units(mean, q.TOP_BLOCKS)
    if kind == "text":
        return np.arange(min(len(mean), MAX_BARS * 2))
    return q.top_units(mean, MAX_BARS)


def _flips_note(label: str, labels: list[str], summary: dict, k: int, noun: str) -> None:
    flipped = [labels[i] for i in np.flatnonzero(summary["flips"])]
    scale = float(np.mean(np.abs(summary["mean"])))
    relative = float(np.mean(summary["std"])) / scale if scale > 0 else 0.0
    spread_text = f"mean std / mean |value| = {relative:.2f}"
    if flipped:
        listed = "; ".join(flipped[:MAX_LISTED]) + (
            f" and {len(flipped) - MAX_LISTED} more" if len(flipped) > MAX_LISTED else "")
        st.warning(escape_markdown(f"{label}: the sign flips across the {k} seeds for "
                                   f"{len(flipped)} of {len(labels)} {noun}: {listed} "
                                   f"({spread_text})."))
    else:
        st.success(escape_markdown(f"{label}: no sign flips across the {k} seeds "
                                   f"({spread_text})."))


# ---------------------------------------------------------------- sanity


def sanity_ui(ctx: Context, settings: Settings) -> None:
    """The gradient methods on the model and on a copy with randomised weights."""
    methods = [m for m in ctx.offered if m in q.GRADIENT_METHODS]
    st.caption("Model randomisation (Adebayo et al., 2018): the learned weights are "
               "re-drawn from the layers' initialisers; preprocessing state (a "
               "Normalization's mean and variance, a TextVectorization's vocabulary) is "
               "kept. An attribution that hardly changes when the weights are random "
               f"(|Spearman| ≥ {q.CHANGED_BELOW}) does not explain what the model learned.")
    if not methods:
        st.info("No gradient method applies to this model, so there is nothing to check.")
        return
    seed = int(st.columns(3)[0].number_input("Randomisation seed", 0, 2**31 - 1, 0,
                                             key="q_sanity_seed"))
    with st.spinner("Randomising a copy of the model and explaining the sample on both…"):
        result, error = sanity_for(ctx.model_sha, ctx.data_sha, ctx.row, tuple(methods),
                                   settings.target, seed, ctx.task, ctx.runner, ctx.subject)
    if error:
        refusal("Sanity check", error)
        return
    _sanity_result(ctx, result)


def _sanity_result(ctx: Context, result: dict) -> None:
    st.caption(escape_markdown(
        "Randomised: " + ", ".join(result["randomised_layers"]) + ". Kept as they are: " +
        (", ".join(result["kept_layers"]) or "none") + "."))
    for name, reason in result["skipped"].items():
        st.caption(escape_markdown(f"{REGISTRY[name].label} is not checked: {reason}"))
    checked = result["methods"]
    if not checked:
        return
    st.dataframe(_sanity_table(checked), hide_index=True, width="stretch")
    for name, entry in checked.items():
        show = {True: st.success, False: st.warning, None: st.info}[entry["changed"]]
        show(escape_markdown(f"{REGISTRY[name].label}: {entry['verdict']}"))
    st.plotly_chart(plots.sanity_figure(checked), width="stretch", key="q_sanity")
    if ctx.kind == "image":
        _sanity_maps(ctx, checked)


def _sanity_table(checked: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame({
        "method": [REGISTRY[m].label for m in checked],
        "Spearman": [e["spearman"] for e in checked.values()],
        "Spearman of |values|": [e["spearman_abs"] for e in checked.values()],
        "verdict": ["changed" if e["changed"] else "cannot tell" if e["changed"] is None
                    else "did NOT change" for e in checked.values()]})


def _sanity_maps(ctx: Context, checked: dict[str, dict]) -> None:
    with st.expander("The maps on both models"):
        image = np.asarray(ctx.subject.sample)
        for name, entry in checked.items():
            left, right = st.columns(2)
            label = REGISTRY[name].label
            left.plotly_chart(image_overlay(image, entry["original"], title=f"{label}: model"),
                              width="stretch", key=f"q_map_o_{name}")
            right.plotly_chart(image_overlay(image, entry["randomised"],
                                             title=f"{label}: randomised"),
                               width="stretch", key=f"q_map_r_{name}")
