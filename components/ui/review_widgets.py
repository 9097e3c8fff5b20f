"""The review's widgets: the sidebar's pin button, the verdict forms, the trail, the report.

Every review action goes through `Store.record` with the session's `Principal`: the store
appends to the audit trail under the provider's identity (or ``unauthenticated``) and refuses
what the principal's role does not allow; the widgets only leave out what it would refuse.
Nothing here edits or deletes a stored event. Notes and names are user text: shown through
Streamlit's text elements and escaped Markdown only.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from components.data.session import Workspace
from components.errors import GlassboxError
from components.review.access import Principal
from components.review.csv_export import to_csv, trail_frame
from components.review.store import VERDICTS, Pin, Review, Store
from components.text_safety import escape_markdown
from components.ui.selection import PIN_VIEW, held_row, scope_of
from components.ui.stored import principal, settings_for, workspace_store

if TYPE_CHECKING:  # deferred like the imports below: the report modules load on first use
    from components.review.report import Report

VERDICT_ICONS = {"ok": ":material/check_circle:", "concern": ":material/warning:",
                 "needs follow-up": ":material/replay:", None: ":material/push_pin:"}


def current_review(ws: Workspace) -> Review | None:
    """The review of the open (model, dataset) pair; None without a checked dataset."""
    if ws.bundle is None or ws.dataset is None or ws.dataset.x is None or not ws.data_sha256:
        return None
    return workspace_store().review_for(ws.bundle.loaded.sha256, ws.data_sha256, principal())


def sidebar_review_ui(ws: Workspace) -> None:
    """A pin button for the selected sample, on every page (for reviewers)."""
    review = current_review(ws)
    if review is None:
        return
    with st.sidebar:
        st.subheader("Review")
        _pin_ui(review, ws.dataset.n_rows)
        st.page_link("views/review.py", label="Open the review", icon=":material/rate_review:")


@st.fragment(key=PIN_VIEW)  # a pick on the Explain page reruns this, not the page
def _pin_ui(review: Review, n_rows: int) -> None:
    """The selected row's pin (or unpin) button, with the row in a box to pin another."""
    store, who = workspace_store(), principal()
    scope = scope_of(review.model_sha256, review.data_sha256)
    row = held_row(scope)
    pins = {pin.row: pin for pin in store.pins(review.id, who)}
    if not who.has(review.team, "reviewer"):
        st.caption(f"{len(pins)} pinned · review #{review.id} · pinning needs the reviewer "
                   "role")
        return
    # The row selected on any page (the explain page's pick, a link's ?row=), else 0;
    # the key follows the selection, so picking another sample moves this too.
    row = int(st.number_input("Sample row", 0, max(0, n_rows - 1), row or 0,
                              key=f"pin_row_{scope}_{row}"))
    pinned = row in pins
    label = f"Unpin row {row}" if pinned else f"Pin row {row}"
    # Material icons, not emoji: they render in every browser (headless Chromium has none)
    if st.button(label, key="pin_toggle", icon=":material/push_pin:"):
        _record(store, review, who, "unpin" if pinned else "pin", row, scope)
        st.rerun()
    st.caption(f"{len(pins)} pinned · review #{review.id}")


def _record(store: Store, review: Review, actor: Principal, action: str, row: int | None,
            scope: str, **payload) -> None:
    """Append one action, with the explanation settings last used on that row if any."""
    used = settings_for(scope, row) if row is not None else None
    if used is not None:
        payload["explain_settings"] = used
    try:
        store.record(review.id, actor, action, row, payload)
    except GlassboxError as err:
        st.error(escape_markdown(str(err)))


def _exported(store: Store, review: Review, actor: Principal, fmt: str,
              text: str) -> Callable[[], str]:
    """The download's data: on the click, record the export in the trail, then give
    ``text`` (the trail as shown). Runs off the script thread: no Streamlit calls."""
    def give() -> str:
        # a trail that refuses the event shows it on the next run; the file still goes
        with contextlib.suppress(GlassboxError):
            store.record(review.id, actor, "export", None, {"format": fmt})
        return text
    return give


def pins_ui(ws: Workspace, review: Review) -> list[Pin]:
    """One form per pinned sample: verdict, note, save (an `assess` event)."""
    store, who = workspace_store(), principal()
    pins = store.pins(review.id, who)
    if not pins:
        st.info("No pinned samples yet: select a sample on any page and press Pin under "
                "Review in the sidebar.")
        return pins
    can_assess = who.has(review.team, "reviewer")
    if not can_assess:
        st.info("Verdicts and notes need the reviewer role: you can read them here.",
                icon=":material/visibility:")
    scope = scope_of(review.model_sha256, review.data_sha256)
    for pin in pins:
        title = f"Row {pin.row} · {pin.verdict or 'no verdict yet'}"
        with st.expander(title, expanded=pin.verdict is None,
                         icon=VERDICT_ICONS.get(pin.verdict, VERDICT_ICONS[None])):
            if pin.verdict is not None:
                st.text(f"Last verdict by {pin.reviewer} at {pin.updated_at}")
            if can_assess:
                _assess_form(store, review, who, pin, scope)
            else:
                st.text(pin.note or "(no note)")
            st.page_link("views/explain.py", label=f"Explain row {pin.row}",
                         icon=":material/lightbulb:", query_params={"row": str(pin.row)})
    return pins


def _assess_form(store: Store, review: Review, who: Principal, pin: Pin, scope: str) -> None:
    """Verdict, note, save: an `assess` event (the store checks the reviewer role)."""
    with st.form(f"assess_{review.id}_{pin.row}"):
        verdict = st.radio("Verdict", VERDICTS, horizontal=True,
                           index=VERDICTS.index(pin.verdict) if pin.verdict in VERDICTS
                           else 0, key=f"verdict_{review.id}_{pin.row}")
        note = st.text_area("Note", value=pin.note, max_chars=10_000,
                            key=f"note_{review.id}_{pin.row}")
        saved = st.form_submit_button("Save verdict")
    if saved:
        _record(store, review, who, "assess", pin.row, scope, verdict=verdict, note=note)
        st.rerun()


def trail_ui(review: Review) -> None:
    """The audit trail, newest last, its integrity check, and CSV / JSON exports."""
    store, who = workspace_store(), principal()
    try:
        store.verify(review.id, who)
        rows = store.export_rows(review.id, who)
    except GlassboxError as err:  # a tampered trail is reported, never shown as if intact
        st.error(escape_markdown(str(err)), icon=":material/block:")
        return
    st.success(f"{len(rows)} events · the hash chain is intact", icon=":material/link:")
    if not rows:
        return
    frame = trail_frame(rows)
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"prev_hash": None, "hash": st.column_config.TextColumn(
                     "hash", width="small")})
    cols = st.columns(2)
    # The click itself records the "export" event, in the callable that hands over the
    # file (`_exported`), with no rerun: a rerun that changed the trail could drop the file
    # before a busy browser fetched it (a cancelled download).
    csv_text, json_text = to_csv(frame), json.dumps(rows, indent=1)
    cols[0].download_button("Export the trail (CSV)", _exported(store, review, who, "csv",
                                                                csv_text),
                            file_name=f"review-{review.id}-audit.csv", mime="text/csv",
                            on_click="ignore")
    cols[1].download_button("Export the trail (JSON)", _exported(store, review, who, "json",
                                                                 json_text),
                            file_name=f"review-{review.id}-audit.json",
                            mime="application/json", on_click="ignore")


def report_ui(ws: Workspace, review: Review, pins: list[Pin]) -> None:
    """Choose rows, methods and seed; build the HTML report, then optionally its PDF."""
    from components.explain.methods import REGISTRY
    from components.ui.loaders import report_for

    if not principal().has(review.team, "reviewer"):
        st.info("Building a report needs the reviewer role.", icon=":material/visibility:")
        return
    n_rows = ws.dataset.n_rows
    default_rows = [pin.row for pin in pins] or [held_row(scope_of(
        review.model_sha256, review.data_sha256)) or 0]
    offered = _applicable_methods(ws, default_rows[0]) or list(REGISTRY)
    cols = st.columns([3, 3, 1])
    rows = cols[0].multiselect("Samples", list(range(n_rows)), default=default_rows,
                               key=f"report_rows_{review.id}")
    methods = cols[1].multiselect("Methods", offered, default=offered,
                                  format_func=lambda n: REGISTRY[n].label,
                                  key=f"report_methods_{review.id}")
    seed = int(cols[2].number_input("Seed", 0, 2**31 - 1, 0, key=f"report_seed_{review.id}"))
    if not rows or not methods:
        st.info("Choose at least one sample and one method.")
        return
    key = f"report_{review.id}"
    if st.button("Build the report", type="primary"):
        store = workspace_store()
        trail = store.events(review.id, principal())
        result = report_for(ws.bundle.loaded.sha256, ws.data_sha256, tuple(sorted(rows)),
                            tuple(methods), seed, ws.task, trail[-1].hash if trail else "",
                            review.id, _names(ws), _ws=ws)
        report, error = result
        if error:
            st.error(f"Report refused: {escape_markdown(error)}", icon=":material/block:")
            return
        st.session_state[key] = report
        _record(store, review, principal(), "report", None,
                scope_of(review.model_sha256, review.data_sha256), rows=sorted(rows),
                methods=list(methods), seed=seed, numeric_sha256=report.numeric_sha256)
    built = st.session_state.get(key)
    if built is None:
        return
    st.text(f"Report ready · numeric SHA-256 {built.numeric_sha256}")
    html = built_html(built)
    cols = st.columns(2)
    cols[0].download_button("Download the report (HTML)", html,
                            file_name=f"glassbox-review-{review.id}.html", mime="text/html")
    if cols[1].button("Make the PDF"):
        pdf, error = _pdf(html)
        if error:
            st.error(f"PDF failed: {escape_markdown(error)}", icon=":material/block:")
        else:
            st.session_state[f"{key}_pdf"] = pdf
    pdf = st.session_state.get(f"{key}_pdf")
    if pdf is not None:
        st.download_button("Download the report (PDF)", pdf,
                           file_name=f"glassbox-review-{review.id}.pdf",
                           mime="application/pdf")


def _applicable_methods(ws: Workspace, row: int) -> list[str]:
    """The methods that apply to this model and data (Grad-CAM needs a conv layer, ...), so
    the report does not list one only to call it not applicable; [] if that is unknown."""
    from components.explain.local import subject_for
    from components.ui.loaders import facts_for

    subject = subject_for(ws.dataset, row, ws.task)
    facts, _ = facts_for(ws.bundle.loaded.sha256, ws.data_sha256, row, ws.task,
                         ws.bundle.runner, subject)
    return [] if facts is None else [m for m, why in facts.status.items() if why is None]


def _names(ws: Workspace) -> tuple[str, str, str]:
    """(model file, data file, the model's human-readable title) for the report."""
    data_name = ws.data_name or "dataset"
    return ws.bundle.loaded.filename, data_name, ws.heading


def built_html(report: Report) -> str:
    from components.review.report_html import render_html

    return render_html(report)


def _pdf(html: str) -> tuple[bytes | None, str | None]:
    from components.review.pdf import html_to_pdf

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.pdf"
        try:
            html_to_pdf(html, out)
        except GlassboxError as err:
            return None, str(err)
        return out.read_bytes(), None
