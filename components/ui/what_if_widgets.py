"""The what-if page's widgets and cached loaders: edit one sample, predict and explain it.

The edit widgets' keys start with `edit_prefix` (scope and row), so "Reset to the sample"
drops exactly them and another row starts from its own values. Every model call goes
through a loader keyed on content digests (the edited input's included): moving a slider
back to an earlier value reuses the earlier prediction and explanations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import streamlit as st

from components.errors import GlassboxError
from components.explain.local import SubjectFacts, subject_facts
from components.explain.methods import REGISTRY
from components.explain.methods.base import Attribution, Subject
from components.explain.methods.targets import target_choices
from components.explain.what_if import (
    FILLS,
    MAX_TEXT_CHARS,
    Comparison,
    FeatureSpec,
    ImageEdit,
    Number,
    PixelRange,
    attribution_changes,
    changed_features,
    default_values,
    edit_image,
    edited_input,
    feature_specs,
    pixel_range,
    text_input,
)
from components.model.worker import ModelRunner
from components.plots import explain as plots
from components.plots.what_if import change_bars
from components.text_safety import escape_markdown
from components.ui.explain_widgets import Settings
from components.ui.loaders import attribution_for, explained, facts_for
from components.ui.selection import select_row
from components.ui.widgets import refusal

AUTO_TARGET = -1  # "the edited input's predicted class", whichever it is
ALL_SHOWN = 16    # up to this many features all get a slider in view; more: the top ones
TOP_SHOWN = 12
MAX_DRAWN = 60    # widgets drawn at once; the others are found by name
SLIDER_COLUMNS = 2
FILL_LABELS = {"min": "the darkest pixel", "mean": "the mean pixel", "max": "the brightest pixel"}


class Keys(NamedTuple):
    """What the cached loaders are keyed on besides the input, and where the model runs."""

    model_sha256: str
    data_sha256: str
    row: int
    runner: ModelRunner


def edit_prefix(scope: str, row: int) -> str:
    return f"whatif_edit_{scope}_{row}_"


# ---------------------------------------------------------------- cached loaders


@st.cache_data(max_entries=8, show_spinner=False)
def specs_for(data_sha256: str, names: tuple[str, ...] | None, _x: np.ndarray
              ) -> list[FeatureSpec]:
    """Each column's slider or pick list, once per dataset content."""
    return feature_specs(_x, names)


@st.cache_data(max_entries=8, show_spinner=False)
def pixels_for(data_sha256: str, _x: np.ndarray) -> PixelRange:
    return pixel_range(_x)


@st.cache_data(max_entries=256, show_spinner=False)
def edited_facts_for(model_sha256: str, data_sha256: str, row: int, digest: str, task: str,
                     _runner: ModelRunner, _subject: Subject
                     ) -> tuple[SubjectFacts | None, str | None]:
    """The edited input's prediction, default target and applicable methods."""
    try:
        return _runner.run(subject_facts, _subject), None
    except GlassboxError as err:
        return None, str(err)


@st.cache_data(max_entries=1024, show_spinner=False)
def edited_attribution_for(model_sha256: str, data_sha256: str, row: int, digest: str,
                           method: str, target: int, seed: int, params_json: str, task: str,
                           _runner: ModelRunner, _subject: Subject
                           ) -> tuple[Attribution | None, str | None]:
    """One method on one edited input, keyed on (model, data, row, input digest, method,
    target, seed, settings)."""
    return explained(_runner, _subject, method, target, seed, params_json)


# ---------------------------------------------------------------- the sample


def row_ui(scope: str, row: int, n_rows: int) -> int:
    """A row number box (the Explain page's selection by default); another row selects it."""
    picked = int(st.number_input("Row", 0, max(0, n_rows - 1), row, step=1,
                                 help="the sample selected on the Explain page; `?row=` in "
                                      "the address"))
    if picked != row:
        select_row(scope, picked)
    return picked


def reset_button(prefix: str) -> None:
    """Drops every edit widget's state: the next run draws them at the sample's values."""
    def reset() -> None:
        for key in [k for k in st.session_state if str(k).startswith(prefix)]:
            del st.session_state[key]

    st.button("Reset to the sample", on_click=reset, key="whatif_reset", icon="↩️")


# ---------------------------------------------------------------- editing


@dataclass(frozen=True)
class Edit:
    """The edited input (1, ...) as the model takes it, what changed in words, and for
    tables the indices of the edited features."""

    x: np.ndarray
    changed: list[str] = field(default_factory=list)
    features: list[int] = field(default_factory=list)


def edit_ui(subject: Subject, data_sha: str, x_all: np.ndarray, prefix: str,
            importance: Sequence[int] | None) -> Edit:
    """The edit widgets for the sample's kind; `DataError`/`ValueError` for an input the
    model cannot take (an empty text)."""
    if subject.kind == "text":
        original = str(subject.sample)
        limit = max(MAX_TEXT_CHARS, len(original))  # a long sample may still be edited
        text = text_edit_ui(original, prefix, limit)
        return Edit(text_input(text, limit), ["the text"] if text != original else [])
    if subject.kind == "image":
        st.caption("Images are edited as a whole: brightness, noise, or a blanked rectangle.")
        pixels = pixels_for(data_sha, x_all)
        edit = image_edit_ui(subject.sample.shape, prefix)
        x = edit_image(subject.sample, edit, pixels)[None, ...]
        images_ui(subject.sample, x[0], pixels)
        return Edit(x, [] if edit.is_identity else ["the image"])
    specs = specs_for(data_sha, subject.feature_names, x_all)
    defaults = default_values(specs, subject.sample)
    values = tabular_edit_ui(specs, defaults, prefix, importance)
    x = edited_input(specs, values)
    edits = changed_features(subject.x, x)
    return Edit(x, [f"{specs[i].name} {defaults[i]} → {values[i]}" for i in edits], edits)


def tabular_edit_ui(specs: Sequence[FeatureSpec], defaults: Sequence[Number], prefix: str,
                    importance: Sequence[int] | None) -> list[Number]:
    """A slider or pick list per feature; the values in feature order.

    The features most important in this sample (or those matching the search) come first;
    beyond `ALL_SHOWN` the next ones wait in an expander and past `MAX_DRAWN` they are found
    by name. Edits are held in the session, so a feature out of view, or the page left and
    opened again, keeps its edited value until "Reset to the sample".
    """
    cols = st.columns(2)
    orders = ["importance", "data"] if importance is not None else ["data"]
    how = cols[0].radio("Order", orders, horizontal=True, key="whatif_order",
                        format_func={"importance": "by importance in this sample",
                                     "data": "as in the data"}.__getitem__)
    query = cols[1].text_input("Find a feature", key="whatif_find").strip().lower()
    order = list(importance) if how == "importance" and importance else list(range(len(specs)))
    if query:
        first, rest = [i for i in order if query in specs[i].name.lower()][:MAX_DRAWN], []
    elif len(order) <= ALL_SHOWN:
        first, rest = order, []
    else:
        first, rest = order[:TOP_SHOWN], order[TOP_SHOWN:MAX_DRAWN]
    held = st.session_state.get(f"{prefix}held", {})
    values = {i: held.get(i, defaults[i]) for i in range(len(specs))}
    _slider_grid(specs, values, prefix, first)
    if rest:
        with st.expander(f"{len(rest)} more feature{'s' if len(rest) != 1 else ''}"):
            _slider_grid(specs, values, prefix, rest)
    out_of_view = len(specs) - len(first) - len(rest)
    if query and not first:
        st.caption("No feature name contains that text.")
    elif out_of_view:
        st.caption(f"{out_of_view} more features keep their values; find one by name to edit "
                   "it.")
    st.session_state[f"{prefix}held"] = {i: v for i, v in values.items() if v != defaults[i]}
    return [values[i] for i in range(len(specs))]


def _slider_grid(specs, values: dict[int, Number], prefix: str, indices) -> None:
    """Draws the widgets of ``indices``; each starts at ``values[i]`` and writes back."""
    columns = st.columns(SLIDER_COLUMNS)
    for n, i in enumerate(indices):
        with columns[n % SLIDER_COLUMNS]:
            values[i] = _feature_widget(specs[i], values[i], f"{prefix}f{i}")


def _feature_widget(spec: FeatureSpec, start: Number, key: str) -> Number:
    label = escape_markdown(spec.name)
    if spec.options is not None:
        return st.selectbox(label, spec.options, index=spec.options.index(start), key=key,
                            help=f"{len(spec.options)} values seen in the data")
    return st.slider(label, spec.low, spec.high, start, spec.step, format=spec.format,
                     key=key, help=f"the data's range, {spec.low} to {spec.high}")


def text_edit_ui(text: str, prefix: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The sample's text to edit; the edit is held in the session like the sliders'."""
    start = st.session_state.get(f"{prefix}held_text", text)
    edited = st.text_area("Text", value=start, max_chars=limit, height=140,
                          key=f"{prefix}text", help="the model tokenises the edited text itself")
    st.session_state[f"{prefix}held_text"] = edited
    return edited


def image_edit_ui(shape: tuple[int, ...], prefix: str) -> ImageEdit:
    """Brightness, noise with a seed, and an occluded rectangle chosen with two range
    sliders (rows, columns)."""
    h, w = int(shape[0]), int(shape[1])
    left, right = st.columns(2)
    brightness = left.slider("Brightness (share of the pixel range)", -0.5, 0.5, 0.0, 0.05,
                             key=f"{prefix}brightness")
    noise = left.slider("Noise (standard deviation, share of the pixel range)", 0.0, 0.5, 0.0,
                        0.01, key=f"{prefix}noise")
    seed = int(left.number_input("Noise seed", 0, 2**31 - 1, 0, key=f"{prefix}noise_seed"))
    rectangle = None
    fill = "min"
    if right.toggle("Occlude a rectangle", key=f"{prefix}occlude"):
        rows = right.slider("Rows", 0, h, (h // 4, h // 2), key=f"{prefix}rows")
        cols = right.slider("Columns", 0, w, (w // 4, w // 2), key=f"{prefix}cols")
        fill = right.radio("Fill with", FILLS, horizontal=True, key=f"{prefix}fill",
                           format_func=FILL_LABELS.__getitem__)
        rectangle = (rows[0], cols[0], rows[1] - rows[0], cols[1] - cols[0])
    return ImageEdit(brightness=brightness, noise=noise, seed=seed, occlude=rectangle,
                     fill=fill)


def images_ui(original: np.ndarray, edited: np.ndarray, pixels: PixelRange) -> None:
    """The original and edited image side by side, on the data's pixel scale (so a change
    of brightness shows)."""
    cols = st.columns(2)
    for column, image, caption in ((cols[0], original, "original"), (cols[1], edited, "edited")):
        scaled = (np.asarray(image, dtype=float) - pixels.low) / (pixels.span or 1.0)
        scale = max(1, 160 // max(scaled.shape[:2]))
        if scaled.shape[-1] not in (1, 3, 4):  # not grey, RGB or RGBA: show the mean
            scaled = scaled.mean(axis=-1, keepdims=True)
        big = np.kron(np.clip(scaled, 0, 1), np.ones((scale, scale, 1)))
        column.image(big if big.shape[-1] != 1 else big[..., 0], caption=caption, clamp=True)


# ---------------------------------------------------------------- the prediction


def prediction_ui(comparison: Comparison, changed: list[str]) -> None:
    """The original and the edited prediction, each output's score and its change."""
    st.markdown(f"**Original:** {escape_markdown(comparison.original)}")
    if comparison.original_scores:
        st.caption(escape_markdown(comparison.original_scores))
    note = " · the prediction changed" if comparison.moved else ""
    st.markdown(f"**Edited:** {escape_markdown(comparison.edited)}{note}")
    if comparison.edited_scores:
        st.caption(escape_markdown(comparison.edited_scores))
    table = comparison.table
    st.dataframe(table, width="stretch", column_config={
        "original": st.column_config.NumberColumn(format="%.4f"),
        "edited": st.column_config.NumberColumn(format="%.4f"),
        "change": st.column_config.NumberColumn(format="%+.4f")})
    if changed:
        st.caption("Edited: " + escape_markdown("; ".join(changed)))
    else:
        st.caption("No edits yet: the edited input is the sample itself.")


# ---------------------------------------------------------------- explaining


def settings_ui(offered: list[str], n_outputs: int, task: str,
                class_names: tuple[str, ...] | None, edited_target: int, scope: str,
                seed: int) -> tuple[list[str], int, int]:
    """Methods (default: all that apply), target (default: the edited input's predicted
    class) and seed; the target comes back resolved to an output index."""
    choices = target_choices(n_outputs, task, class_names)
    cols = st.columns([3, 2, 1])
    methods = cols[0].multiselect("Methods", offered, default=offered,
                                  key=f"whatif_methods_{scope}",
                                  format_func=lambda n: REGISTRY[n].label)
    options = [AUTO_TARGET, *choices] if len(choices) > 1 else list(choices)
    target = cols[1].selectbox(
        "Explain the output", options, key=f"whatif_target_{scope}",
        format_func=lambda t: f"the edited input's prediction ({choices[edited_target]})"
        if t == AUTO_TARGET else choices[t])
    seed = int(cols[2].number_input("Seed", 0, 2**31 - 1, seed, key=f"whatif_seed_{scope}"))
    return methods, edited_target if target == AUTO_TARGET else int(target), seed


def chosen_methods(scope: str, offered: list[str]) -> list[str]:
    """The methods chosen below (the last run's choice), for ordering the sliders above."""
    return list(st.session_state.get(f"whatif_methods_{scope}") or offered)


def top_k_ui(n_features: int) -> int:
    return st.slider("Top features", 1, max(2, min(n_features, 30)), min(10, n_features),
                     key="whatif_topk")


def original_attributions(subject: Subject, methods: Sequence[str], target: int, seed: int,
                          params: dict, keys: Keys) -> dict[str, Attribution]:
    """The sample's own attributions, through the Explain page's cache (same keys)."""
    model_sha, data_sha, row, runner = keys
    done = {}
    for name in methods:
        attr, _ = attribution_for(model_sha, data_sha, row, name, target, seed,
                                  json.dumps(params.get(name, {}), sort_keys=True),
                                  subject.task, runner, subject)
        if attr is not None:
            done[name] = attr
    return done


def original_facts(subject: Subject, keys: Keys) -> tuple[SubjectFacts | None, str | None]:
    model_sha, data_sha, row, runner = keys
    return facts_for(model_sha, data_sha, row, subject.task, runner, subject)


def compute_ui(subject: Subject, digest: str | None, methods: Sequence[str], target: int,
               seed: int, params: dict, status: dict[str, str | None], keys: Keys
               ) -> dict[str, Attribution]:
    """Each chosen method on the edited input, through the cache; a failure is one line.

    ``digest`` names the edited input; None when it is the sample itself, whose results
    are shared with the Explain page."""
    model_sha, data_sha, row, runner = keys
    done: dict[str, Attribution] = {}
    with st.status("Explaining the edited input…", expanded=False) as box:
        for name in methods:
            if status.get(name) is not None:
                st.caption(f"{REGISTRY[name].label} does not apply to the edited input: "
                           f"{escape_markdown(status[name])}")
                continue
            settings = json.dumps(params.get(name, {}), sort_keys=True)
            if digest is None:  # the sample itself: the Explain page's cache entry
                attr, error = attribution_for(model_sha, data_sha, row, name, target, seed,
                                              settings, subject.task, runner, subject)
            else:
                attr, error = edited_attribution_for(model_sha, data_sha, row, digest, name,
                                                     target, seed, settings, subject.task,
                                                     runner, subject)
            if error:
                refusal(REGISTRY[name].label, error)
            else:
                done[name] = attr
                st.write(f"{REGISTRY[name].label}: {attr.seconds:.2f} s")
        total = sum(a.seconds for a in done.values())
        box.update(label=f"Edited input: {len(done)} of {len(methods)} methods, {total:.2f} s "
                         "of compute", state="complete")
    return done


def change_ui(before: dict[str, Attribution], after: dict[str, Attribution], top_k: int,
              feature_names: Sequence[str] | None, edited: Sequence[int]) -> None:
    """Per method, how each feature's attribution moved from the sample to the edit."""
    changes = attribution_changes(before, after)
    if not changes:
        return
    st.subheader("What the edit changed in each explanation")
    order = plots.feature_order(changes, top_k)
    st.plotly_chart(change_bars(changes, order, feature_names, edited), width="stretch",
                    key="whatif_changes")
    st.caption("Each method in its own units, features ordered by how much their "
               "attribution moved; the same target and seed as the panels above.")


def panel_settings(methods: list[str], target: int, seed: int, top_k: int,
                   params: dict) -> Settings:
    """The Explain page's `Settings`, so its panel builders draw the what-if panels."""
    return Settings(methods=methods, target=target, seed=seed, top_k=top_k, params=params)
