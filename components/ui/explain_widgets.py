"""The explanation page's widgets: pick a sample, choose methods, show the panels.

Each function draws one block and returns plain values; computing goes through the cached
loaders, so a rerun or a page switch never recomputes an attribution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from components.data.checks import Dataset
from components.data.links import methods_note, target_note
from components.data.numbers import feature_line, output_text, percent
from components.data.predictions import (
    Predictions,
    filter_table,
    map_colors,
    page_count,
    page_showing,
    page_slice,
    with_thumbnails,
)
from components.explain.agreement import (
    Agreement,
    attributions_frame,
    pair_table,
)
from components.explain.local import Explanation, SubjectFacts, explanation_json
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution, Subject
from components.explain.methods.targets import target_choices
from components.model.worker import ModelRunner
from components.plots import explain as plots
from components.plots.sample_map import clicked_row, ring, sample_map
from components.review.csv_export import to_csv
from components.text_safety import escape_markdown
from components.ui.kept_chart import clicked_points, kept_chart
from components.ui.loaders import agreement_for, attribution_for, map_for, sample_table_for
from components.ui.selection import (
    MAP_VIEW,
    PANELS_VIEW,
    PIN_VIEW,
    TABLE_VIEW,
    held_row,
    rerun_views,
    select_row,
)
from components.ui.widgets import link_note, refusal

PANELS_PER_ROW = {"tabular": 3, "image": 4, "text": 1}
PAGE_ROWS = 100  # the sample table shows one page of rows: 100,000 rows stay one quick page


@dataclass(frozen=True)
class Settings:
    """What the user asked for: methods, target, seed and each method's parameters."""

    methods: list[str]
    target: int
    seed: int
    top_k: int = 8
    opacity: float = 0.6
    mode: str = "signed"
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


# ---------------------------------------------------------------- picking a sample


def table_picker(pred: Predictions, dataset: Dataset, model_sha: str, data_sha: str,
                 task: str, scope: str) -> None:
    """Filters, then the sample table; selecting a row selects that sample."""
    classify = pred.truth is not None and pred.correct is not None
    # The toggle's column holds "Misclassified only" whole (at [1, 2, 2, 1] it read "Misclas…")
    cols = st.columns([1.6, 1.8, 1.8, 1])
    # Regression has no classes, so no "misclassified" and no confidence: neither is offered.
    wrong = cols[0].toggle("Misclassified only", disabled=not classify, key=f"wrong_{scope}") \
        if pred.class_names else False
    classes = cols[1].multiselect("Predicted class", list(pred.class_names),
                                  key=f"classes_{scope}") if pred.class_names else None
    conf = cols[2].slider("Confidence", 0.0, 1.0, (0.0, 1.0), step=0.01,
                          key=f"conf_{scope}") if pred.class_names else None
    table = sample_table_for(model_sha, data_sha, task, dataset.label_name, pred, dataset)
    sort_options = ["row", *[c for c in ("confidence", "abs error") if c in table.columns]]
    sort_by = cols[3].selectbox("Sort by", sort_options, key=f"sort_{scope}")
    shown = filter_table(table, misclassified_only=wrong, classes=classes or None,
                         confidence=conf,
                         sort_by=None if sort_by == "row" else sort_by)
    at = page_slice(len(shown), _page_ui(shown.index, scope), PAGE_ROWS)
    page = with_thumbnails(shown.iloc[at], dataset)
    key = f"table_{scope}_{at.start}"  # each page its own selection
    _tick(key, page.index, held_row(scope))

    def picked() -> None:
        rows = st.session_state[key].selection.rows
        if rows:
            select_row(scope, int(page.index[rows[0]]))
            rerun_views((PANELS_VIEW, MAP_VIEW, PIN_VIEW))  # the table shows its own tick

    st.dataframe(page, key=key, on_select=picked, selection_mode="single-row", height=300,
                 width="stretch", column_config=_column_config(page))
    where = f" · rows {at.start + 1:,}–{at.stop:,} on this page" if len(shown) > PAGE_ROWS \
        else ""
    st.caption(f"{len(shown):,} of {len(table):,} rows{where} · select a row to explain it")


def _tick(key: str, index, row: int | None) -> None:
    """Tick ``row`` in the table ``key`` showing dataset rows ``index`` (none if not shown).

    Set through the table's state before it is drawn: a row picked elsewhere (the map, the
    row box, a link) is ticked here, and the row ticked before is not.
    """
    wanted = [int(index.get_loc(row))] if row is not None and row in index else []
    held = st.session_state.get(key)
    if held is None or list(held["selection"]["rows"]) != wanted:
        st.session_state[key] = {"selection": {"rows": wanted, "columns": [], "cells": []}}


def _page_ui(shown, scope: str) -> int:
    """The pager under the filters: the 1-based page (clipped when a filter shrank it).

    A row selected elsewhere (the map, a link) turns the pager to the page showing it.
    """
    pages = page_count(len(shown), PAGE_ROWS)
    key, seen = f"page_{scope}", f"paged_row_{scope}"
    row = held_row(scope)
    if row is not None and row != st.session_state.get(seen):
        st.session_state[seen] = row
        if (page := page_showing(shown, row, PAGE_ROWS)) is not None:
            st.session_state[key] = page
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = pages
    if pages == 1:
        return 1
    return int(st.number_input(f"Page (of {pages:,}, {PAGE_ROWS} rows each)", min_value=1,
                               max_value=pages, step=1, key=key))



def _column_config(table) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if "thumbnail" in table.columns:
        config["thumbnail"] = st.column_config.ImageColumn("image", width="small")
    if "confidence" in table.columns:
        config["confidence"] = st.column_config.ProgressColumn("confidence", min_value=0.0,
                                                               max_value=1.0, format="percent")
    return config


def map_picker(pred: Predictions, dataset: Dataset, runner: ModelRunner, model_sha: str,
               data_sha: str, scope: str) -> None:
    """The 2-D map of the dataset, a ring on the selected sample; clicking a point selects
    that sample."""
    cols = st.columns(2)
    spaces = ["activations"] if dataset.kind == "text" else ["inputs", "activations"]
    space = cols[0].radio("Map of", spaces, horizontal=True, key=f"space_{scope}",
                          format_func={"inputs": "inputs (PCA)",
                                       "activations": "penultimate layer (PCA)"}.__getitem__)
    color_options = ["prediction"]
    if pred.task != "regression":
        color_options.append("confidence")
    if pred.has_labels:
        color_options.insert(1, "error")
    color_by = cols[1].radio("Colour by", color_options, horizontal=True, key=f"color_{scope}")
    coords, error = map_for(model_sha, data_sha, space, runner, dataset)
    if error:
        refusal("Map", error)
        return
    key = f"map_{scope}"

    def clicked() -> None:
        picked = clicked_row(clicked_points(key))
        if picked is not None:
            select_row(scope, picked)
            rerun_views((PANELS_VIEW, TABLE_VIEW, MAP_VIEW, PIN_VIEW))

    def build() -> Any:
        table = sample_table_for(model_sha, data_sha, pred.task, dataset.label_name, pred,
                                 dataset)
        return sample_map(coords, rows=np.arange(len(coords)),
                          color=map_colors(pred, color_by), color_by=color_by,
                          class_names=pred.class_names or (),
                          title=f"{len(coords):,} samples · click one to explain it",
                          space=space, prediction=table["prediction"].to_numpy(),
                          label=table["label"].to_numpy() if "label" in table else None)

    # The map is kept in the browser: a pick moves its ring (a layout update), not its points.
    kept_chart(build, place=key, on_click=clicked,
               key=json.dumps(["map", model_sha, data_sha, space, color_by, pred.class_names]),
               layout=ring(coords, np.arange(len(coords)), held_row(scope)))


def row_picker(scope: str, n_rows: int) -> int:
    """The selected row, in a box that selects another (typed or stepped)."""
    key, row = f"row_{scope}", held_row(scope) or 0
    if st.session_state.get(key) != row:  # picked elsewhere: the box follows
        st.session_state[key] = row

    def typed() -> None:
        select_row(scope, st.session_state[key])
        rerun_views((PANELS_VIEW, TABLE_VIEW, MAP_VIEW, PIN_VIEW))

    st.columns([1, 5])[0].number_input(
        "Row", 0, max(0, n_rows - 1), step=1, key=key, on_change=typed,
        help="the sample to explain; or pick one in the table or on the map")
    return row


def sample_header(subject: Subject, pred: Predictions, row: int) -> None:
    """The selected sample as the model sees it, with its prediction and label."""
    st.markdown(f"**Row {row}** · {escape_markdown(_verdict(pred, row))}")
    if subject.kind == "image":
        image = np.asarray(subject.sample, dtype=float)
        image = (image - image.min()) / (np.ptp(image) or 1.0)
        scale = max(1, 160 // max(image.shape[:2]))
        big = np.kron(image, np.ones((scale, scale, 1)))
        st.image(big if big.shape[-1] != 1 else big[..., 0], clamp=True)
    elif subject.kind == "text":
        st.text(str(subject.sample))
    else:
        names = subject.feature_names or [f"f{i}" for i in range(subject.sample.size)]
        st.markdown(feature_line(names, subject.sample))


def _verdict(pred: Predictions, row: int) -> str:
    text = f"predicted {_shown(pred, pred.predicted[row])}"
    if not np.isnan(pred.confidence[row]):
        text += f" (confidence {percent(pred.confidence[row])})"
    if pred.truth is not None:
        text += f" · label {_shown(pred, pred.truth[row])}"
        if pred.correct is not None:
            text += " · correct" if pred.correct[row] else " · WRONG"
    return text


def _shown(pred: Predictions, value) -> str:
    """A class name, a multi-label set of names, or a number; -1/NaN is a missing label."""
    value = np.asarray(value)
    if value.ndim:  # multi-label truth: a 0/1 row
        names = pred.class_names or tuple(str(i) for i in range(value.size))
        return ", ".join(n for n, v in zip(names, value, strict=False) if v) or "none"
    number = float(value)
    if np.isnan(number) or (pred.task != "regression" and number < 0):
        return "missing"
    if pred.class_names and number.is_integer() and int(number) < len(pred.class_names):
        return pred.class_names[int(number)]
    return f"{number:.4g}"


# ---------------------------------------------------------------- choosing methods


def settings_ui(subject: Subject, facts: SubjectFacts, class_names: tuple[str, ...] | None,
                scope: str) -> Settings:
    """Methods (only those that apply), target, seed, display and per-method parameters."""
    status, prediction, default = facts.status, facts.prediction, facts.default_target
    offered = [name for name, reason in status.items() if reason is None]
    choices = target_choices(len(prediction), subject.task, class_names)
    _settings_from_url(scope, offered, list(choices), facts)
    _follow_prediction(f"target_{scope}", default)
    cols = st.columns([3, 2, 1])
    methods = cols[0].multiselect("Methods", offered, default=offered, key=f"methods_{scope}",
                                  format_func=lambda n: REGISTRY[n].label)
    target = cols[1].selectbox("Explain the output", list(choices), index=default,
                               key=f"target_{scope}", on_change=_chose_target,
                               args=(f"target_{scope}",), format_func=lambda t: _target_label(
                                   choices[t], output_text(prediction[t], subject.task),
                                   t == default and len(choices) > 1))
    seed = int(cols[2].number_input("Seed", 0, 2**31 - 1, 0, key=f"seed_{scope}"))
    for name, reason in status.items():
        if reason is not None:
            st.caption(f"{REGISTRY[name].label} is not offered: {escape_markdown(reason)}")
    extra = display_ui(subject, scope)
    settings = Settings(methods=methods, target=target, seed=seed,
                        params=_params_ui(methods, facts.choices, scope), **extra)
    _settings_to_url(settings)
    return settings


# The URL carries the explanation settings (?methods=lime,shap&target=1&seed=3&params={...}),
# so a link reopens the same view. The URL seeds a widget only when the session has not set
# it yet; after that the widgets write their values back.


def _settings_from_url(scope: str, offered: list[str], targets: list[int],
                       facts: SubjectFacts) -> None:
    query = st.query_params
    for note in (methods_note(query.get("methods"), offered, list(REGISTRY)),
                 target_note(query.get("target"), len(targets))):
        if note is not None:  # a link asked for what is not here: say what was ignored
            link_note(note)
    methods = [m for m in query.get("methods", "").split(",") if m in offered]
    _seed_widget(f"methods_{scope}", methods or None)
    target = _int_or_none(query.get("target"))
    _seed_widget(f"target_{scope}", target if target in targets else None)
    seed = _int_or_none(query.get("seed"))
    _seed_widget(f"seed_{scope}", seed if seed is not None and 0 <= seed < 2**31 else None)
    for method, values in _params_from_url(query.get("params")).items():
        explainer = REGISTRY.get(method)
        if explainer is None or method not in offered:
            continue
        options = facts.choices.get(method, {})
        for name, value in values.items():
            if name in explainer.defaults:
                typed = _typed(explainer.defaults[name], value, options.get(name))
                _seed_widget(f"param_{scope}_{method}_{name}", typed)


def _follow_prediction(key: str, default: int) -> None:
    """Keep the target box ``key`` on the sample's predicted output across picks (it stayed
    on class 2 for a row predicted class 1, and explained that), unless the user chose
    another output (`_chose_target`) or a link named one: that stays until the user picks
    a row's predicted output again."""
    chosen = f"{key}__chosen"
    if key not in st.session_state:  # a new box: it opens on the prediction
        st.session_state[chosen] = False
    elif chosen not in st.session_state:  # seeded by a link before its first draw
        st.session_state[chosen] = st.session_state[key] != default
    elif not st.session_state[chosen] and st.session_state[key] != default:
        st.session_state[key] = default
    st.session_state[f"{key}__default"] = default


def _chose_target(key: str) -> None:
    """The user set the target box: a choice when it is not the shown row's prediction."""
    st.session_state[f"{key}__chosen"] = \
        st.session_state[key] != st.session_state.get(f"{key}__default")


def _seed_widget(key: str, value: Any) -> None:
    if value is not None and key not in st.session_state:
        st.session_state[key] = value


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _params_from_url(text: str | None) -> dict[str, dict[str, Any]]:
    """``{"lime": {"num_samples": 2000}}`` from the URL; anything malformed is ignored."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, dict)}


def _typed(default: Any, value: Any, options: list | None) -> Any:
    """``value`` as the parameter's widget holds it, or None if it cannot be one."""
    if options:
        return value if value in options else None
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(default, float):
        return float(value) if isinstance(value, (int, float)) and \
            not isinstance(value, bool) else None
    if default is None:
        return None
    return str(value) if isinstance(value, (str, int, float)) else None


def _settings_to_url(settings: Settings) -> None:
    wanted = {"methods": ",".join(settings.methods), "target": str(settings.target),
              "seed": str(settings.seed)}
    params = {m: p for m, p in settings.params.items() if p}
    if params:
        wanted["params"] = json.dumps(params, separators=(",", ":"), sort_keys=True)
    elif "params" in st.query_params:
        del st.query_params["params"]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def _target_label(name: str, score: str, predicted: bool) -> str:
    return f"{name} ({score})" + (" · predicted" if predicted else "")


def display_ui(subject: Subject, scope: str, *, prefix: str = "",
               text_top_k: bool = True) -> dict[str, Any]:
    """How the panels are drawn: heatmap opacity and mode (images), how many features
    (tabular; texts too when ``text_top_k``). Widget keys are ``prefix`` + name + scope."""
    if subject.kind == "image":
        cols = st.columns(2)
        return {"opacity": cols[0].slider("Heatmap opacity", 0.0, 1.0, 0.6, 0.05,
                                          key=f"{prefix}opacity_{scope}"),
                "mode": cols[1].radio("Heatmap", ["signed", "absolute"], horizontal=True,
                                      key=f"{prefix}mode_{scope}")}
    if subject.kind == "text" and not text_top_k:
        return {}
    n = subject.sample.size if subject.kind == "tabular" else 20
    return {"top_k": st.slider("Top features", 1, max(2, min(n, 30)), min(8, n),
                               key=f"{prefix}topk_{scope}")}


def _params_ui(methods: list[str], choices: dict[str, dict[str, list]],
               scope: str) -> dict[str, dict[str, Any]]:
    """A widget per parameter of each chosen method, typed from its default."""
    params: dict[str, dict[str, Any]] = {}
    with st.expander("Method settings"):
        for name in methods:
            explainer = REGISTRY[name]
            options = choices.get(name, {})
            # an empty list of choices: the parameter does not apply to this sample's kind
            values = {p: _param_widget(explainer.label, p, d, options.get(p), f"{scope}_{name}")
                      for p, d in explainer.defaults.items() if options.get(p) != []}
            params[name] = {p: v for p, v in values.items() if v != explainer.defaults[p]}
    return params


def _param_widget(label: str, name: str, default: Any, options: list | None, scope: str) -> Any:
    text = f"{label}: {name}"
    key = f"param_{scope}_{name}"
    if options:
        # a None default means the method's own pick, which is the last option (Grad-CAM)
        index = options.index(default) if default in options else len(options) - 1
        return st.selectbox(text, options, index=index, key=key)
    if isinstance(default, bool):
        return st.checkbox(text, value=default, key=key)
    if isinstance(default, int):
        return int(st.number_input(text, value=default, step=1, key=key))
    if isinstance(default, float):
        return float(st.number_input(text, value=default, format="%.4g", key=key))
    if default is None:
        return default
    return _coerce(st.text_input(text, value=str(default), key=key,
                                 help="a number, or one of the words the method knows"))


def _coerce(text: str) -> Any:
    """A typed-in setting as a number where it is one ("1000" -> 1000), else the text."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


# ---------------------------------------------------------------- computing and showing


# Cheapest first: the gradient panels are on screen while LIME and SHAP still run.
COST_ORDER = ("saliency", "gradxinput", "gradcam", "smoothgrad", "ig", "lime", "shap")
# Session keys: the run stopped, the run in progress, the (run, method) pairs computed.
_STOPPED, _RUNNING, _DONE = "explain_stopped", "explain_running", "explain_done"
MAX_DONE = 512


def explanations_header() -> None:
    """The "Explanations" heading with the Stop button beside it.

    Drawn outside the panels' fragment on purpose: a click on a widget inside a fragment
    waits for the run in progress to end, while this one interrupts it (after the method
    running now). Stop then reruns the page, which draws the stopped panels' state.
    """
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.subheader("Explanations")
    right.button("Stop", key="explain_stop", on_click=_stop,
                 help="stop after the method running now; finished panels stay, and "
                      "Continue (by the progress bar) computes the rest")


def _stop() -> None:
    if (running := st.session_state.get(_RUNNING)) is not None:
        st.session_state[_STOPPED] = running


def run_key(settings: Settings, model_sha: str, data_sha: str, row: int) -> str:
    """What one explanation run depends on: digests, row, target, seed and parameters."""
    return "|".join([model_sha, data_sha, str(row), str(settings.target), str(settings.seed),
                     json.dumps(settings.params, sort_keys=True)])


def stream_ui(subject: Subject, settings: Settings, model_sha: str, data_sha: str, row: int,
              runner: ModelRunner) -> dict[str, Attribution]:
    """Each chosen method through the cache, cheapest first, each panel drawn as soon as
    its method finishes, under a progress bar (Stop, by the heading, stops after the method
    running now; the panels already computed stay, Continue computes the rest).

    The bar reads "Row N: k of k methods" only once every panel is drawn. Tables wait for
    every method: their bars share one feature order. A run this session has computed
    whole already (a row picked again) is drawn at once, without the "waiting" and
    "computing" states: each state is one more redraw of the page in the browser."""
    run = run_key(settings, model_sha, data_sha, row)
    st.session_state[_RUNNING] = run
    stopped = st.session_state.get(_STOPPED) == run
    order = sorted(settings.methods, key=lambda n: COST_ORDER.index(n)
                   if n in COST_ORDER else len(COST_ORDER))

    def fetch(name: str) -> tuple[Attribution | None, str | None]:
        found = attribution_for(model_sha, data_sha, row, name, settings.target,
                                settings.seed, json.dumps(settings.params.get(name, {}),
                                                          sort_keys=True),
                                subject.task, runner, subject)
        _remember_done(f"{run}|{name}")
        return found

    computed = st.session_state.get(_DONE, ())
    if all(f"{run}|{name}" in computed for name in order):
        return _drawn_at_once(subject, settings, row, run, {n: fetch(n) for n in order})
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    bar = left.progress(0.0, text=f"Explaining: 0 of {len(order)} methods")
    slots = _slots(subject, order)
    done: dict[str, Attribution] = {}
    skipped, seconds = 0, 0.0
    for count, name in enumerate(order, start=1):
        label = REGISTRY[name].label
        if stopped and f"{run}|{name}" not in st.session_state.get(_DONE, ()):
            slots[name].caption(f"{label}: stopped before it ran")
            skipped += 1
            continue
        slots[name].caption(f"{label}: computing…")
        attr, error = fetch(name)
        if error:
            with slots[name].container():
                refusal(label, error)
        else:
            done[name], seconds = attr, seconds + attr.seconds
            if subject.kind != "tabular":
                with slots[name].container():
                    _panel(subject, attr, settings, None, run)
        if count < len(order) or subject.kind != "tabular":
            bar.progress(count / len(order), text=_progress(row, len(done), len(order),
                                                            seconds))
    if subject.kind == "tabular" and done:
        shared = plots.feature_order(done, settings.top_k)
        for name, attr in done.items():
            with slots[name].container():
                _panel(subject, attr, settings, shared, run)
    if subject.kind == "tabular":
        bar.progress(1.0, text=_progress(row, len(done), len(order), seconds))
    if skipped:
        right.button("Continue", key="explain_continue", on_click=_continue,
                     help="compute the methods that were stopped")
    return done


def _drawn_at_once(subject: Subject, settings: Settings, row: int, run: str,
                   found: dict[str, tuple[Attribution | None, str | None]]
                   ) -> dict[str, Attribution]:
    """The panels of a run computed before (``found``: method -> its cached answer), drawn
    in one pass: the finished bar, then every panel or refusal in its place."""
    done = {name: attr for name, (attr, error) in found.items() if not error}
    seconds = sum(attr.seconds for attr in done.values())
    left, _ = st.columns([5, 1], vertical_alignment="bottom")
    left.progress(1.0, text=_progress(row, len(done), len(found), seconds))
    shared = plots.feature_order(done, settings.top_k) \
        if subject.kind == "tabular" and done else None
    for name, slot in _slots(subject, list(found), waiting=False).items():
        with slot.container():
            if name in done:
                _panel(subject, done[name], settings, shared, run)
            else:
                refusal(REGISTRY[name].label, found[name][1])
    return done


def _progress(row: int, done: int, n: int, seconds: float) -> str:
    return f"Row {row}: {done} of {n} methods, {seconds:.2f} s of compute"


def _continue() -> None:
    st.session_state.pop(_STOPPED, None)


def _slots(subject: Subject, order: list[str], *, waiting: bool = True) -> dict[str, Any]:
    """One placeholder per method, side by side in rows, in computing order; each reads
    "waiting" until its method runs, when ``waiting``."""
    if subject.kind == "image":
        st.caption("Each map is scaled to its own largest |value|, so shapes compare across "
                   "methods: red raises the explained output, blue lowers it.")
    per_row = PANELS_PER_ROW[subject.kind]
    slots: dict[str, Any] = {}
    for start in range(0, len(order), per_row):
        for column, name in zip(st.columns(per_row), order[start:start + per_row],
                                strict=False):
            slots[name] = column.empty()
            if waiting:
                slots[name].caption(f"{REGISTRY[name].label}: waiting")
    return slots


def _remember_done(key: str) -> None:
    done = st.session_state.setdefault(_DONE, [])
    if key not in done:
        done.append(key)
        del done[:-MAX_DONE]


def panels_ui(subject: Subject, attributions: dict[str, Attribution],
              settings: Settings) -> None:
    """One panel per method, side by side, with the same scale semantics in each."""
    order = plots.feature_order(attributions, settings.top_k) \
        if subject.kind == "tabular" else None
    per_row = PANELS_PER_ROW[subject.kind]
    names = list(attributions)
    if subject.kind == "image":
        st.caption("Each map is scaled to its own largest |value|, so shapes compare across "
                   "methods: red raises the explained output, blue lowers it.")
    for start in range(0, len(names), per_row):
        for column, name in zip(st.columns(per_row), names[start:start + per_row],
                                strict=False):
            with column:
                _panel(subject, attributions[name], settings, order)


def _panel(subject: Subject, attr: Attribution, settings: Settings, order,
           run: str | None = None) -> None:
    """One method's panel; with ``run`` (the digests, row and settings of the explanation)
    its figure is built once per run, method, feature order and drawing settings."""
    def build() -> Any:
        return plots.panel_figure(subject.kind, subject.sample, attr, order,
                                  plots.panel_title(attr), opacity=settings.opacity,
                                  mode=settings.mode)

    key = None if run is None else json.dumps(
        [run, attr.method, subject.kind, order, settings.opacity, settings.mode])
    kept_chart(build, place=f"panel_{attr.method}", key=key)
    st.caption(escape_markdown(_panel_caption(attr)))


def _panel_caption(attr: Attribution) -> str:
    parts = [f"{attr.seconds:.2f} s"]
    if attr.base_value is not None:
        parts.append(f"base value {attr.base_value:.4g}")
    extras = attr.extras
    if "completeness_error" in extras:
        # When f(x) and f(baseline) nearly coincide the relative error divides by ~0.
        moved = abs(extras.get("output", 1.0) - extras.get("baseline_output", 0.0))
        parts.append(f"completeness error {100 * extras['completeness_error']:.2f} %"
                     if moved > 1e-3 else f"completeness gap {extras['completeness_gap']:.2g}")
    shown = {k: v for k, v in attr.params.items() if k != "seed"}
    parts += [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
              for k, v in shown.items()]
    return " · ".join(parts)


def agreement_ui(attributions: dict[str, Attribution], top_k: int, run: str) -> Agreement:
    """Pairwise rank correlation and top-k overlap, and a plain sentence on (dis)agreement;
    computed once per ``run`` (`run_key`), methods and ``top_k``."""
    st.subheader("Do the methods agree?")
    result = agreement_for(json.dumps([run, list(attributions), top_k]), attributions, top_k)
    for flag in result.flags[:2]:
        _flag(flag)
    if len(result.flags) > 2:  # the rest behind one click: a wall of warnings reads as noise
        with st.expander(f"{len(result.flags) - 2} more notes on pairs of methods"):
            for flag in result.flags[2:]:
                _flag(flag)
    if result.note:
        st.caption(escape_markdown(result.note))
    if len(attributions) < 2:
        return result
    left, right = st.columns(2)
    with left:
        kept_chart(lambda: plots.agreement_heatmap(result.spearman, "Spearman rank correlation",
                                                   result.kinds),
                   place="agreement_heatmap",
                   key=json.dumps(["agreement", result.spearman.to_dict(), dict(result.kinds)]))
    right.markdown(f"**Each compared pair**: Spearman rank correlation and top-{result.top_k} "
                   f"overlap (share of their top {result.top_k} features in common)")
    # One row per pair, three columns: a method x method matrix of overlaps ran wider than
    # half the page and hid its last column behind a scroll bar; text cells say "n/a" as
    # the heatmap does (a float column showed NaN as "None").
    right.table(pair_table(result), hide_index=True, border="horizontal")
    return result


def _flag(flag: str) -> None:
    worrying = any(word in flag for word in ("disagree", "opposite", "cannot", "needs"))
    (st.warning if worrying else st.success)(escape_markdown(flag))


def downloads_ui(sha: str, row: int, subject: Subject, explanation: Explanation,
                 features: list[str] | None) -> None:
    """CSV and JSON of the panels' values, written when a button is clicked, not on every
    pick (writing both took ~35 ms of each pick's run)."""
    def csv() -> str:
        return to_csv(attributions_frame(explanation.attributions, features))

    def payload() -> str:
        return json.dumps(explanation_json(sha, row, features, explanation), indent=1)

    cols = st.columns(2)
    cols[0].download_button("Download attributions (CSV)", csv,
                            file_name=f"row{row}-attributions.csv", mime="text/csv",
                            on_click="ignore")
    cols[1].download_button("Download attributions (JSON)", payload,
                            on_click="ignore",
                            file_name=f"row{row}-attributions.json", mime="application/json")
