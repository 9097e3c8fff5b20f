"""The review workflow in AppTest: pin, verdict, trail, report; the workspace; deep links.

Every test gets its own workspace folder (``GLASSBOX_WORKSPACE``) and a cleared store
cache, as a server started on that folder would have.
"""

from __future__ import annotations

import json

import pytest

from apptest_support import new_app
from components.model.load import sha256_hex
from components.model.samples import get_sample
from components.review.store import Store


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Store:
    from components.ui.stored import workspace_store

    monkeypatch.setenv("GLASSBOX_WORKSPACE", str(tmp_path / "ws"))
    workspace_store.clear()
    yield Store(tmp_path / "ws")
    workspace_store.clear()


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_pin_assess_trail_and_report(workspace):
    at = new_app()
    at.query_params.update({"sample": "wine_classifier", "row": "4"})
    at.switch_page("views/explain.py").run()
    _ok(at)
    # no sign-in configured: no name to type; every event says "unauthenticated"
    assert not [t for t in at.sidebar.text_input if t.label == "Reviewer"]
    pin = at.sidebar.button(key="pin_toggle")
    assert pin.label == "Pin row 4"  # the row the explain page selected
    pin.click().run()
    _ok(at)
    at.switch_page("views/review.py").run()
    _ok(at)
    assert [e.label for e in at.expander] == ["Row 4 · no verdict yet"]
    at.radio[0].set_value("needs follow-up")
    at.text_area[0].input("Alcohol dominates; check the =cmd| cell")
    _button(at, "Save verdict").click().run()
    _ok(at)
    assert [e.label for e in at.expander] == ["Row 4 · needs follow-up"]
    at.radio[0].set_value("ok")
    _button(at, "Save verdict").click().run()
    assert [e.label for e in at.expander] == ["Row 4 · ok"]
    # material icons, not emoji (headless Chromium has no emoji font)
    assert at.expander[0].proto.icon == ":material/check_circle:"

    review = workspace.reviews()[0]
    events = workspace.events(review.id)
    assert [e.action for e in events] == ["pin", "assess", "assess"]
    assert {e.actor for e in events} == {"unauthenticated"}
    assert review.team == "local" and "identity" not in events[0].payload
    # The pin carries the settings the row was explained with (methods and seed).
    used = events[0].payload["explain_settings"]
    assert used["seed"] == 0 and "shap" in used["methods"]
    # Edits never overwrite: the first verdict is still in the trail.
    assert [e.payload["verdict"] for e in events[1:]] == ["needs follow-up", "ok"]
    assert any("hash chain is intact" in s.value for s in at.success)
    trail = at.dataframe[-1].value
    assert list(trail["action"]) == ["pin", "assess", "assess"]

    _button(at, "Build the report").click().run()
    _ok(at)
    ready = [t.value for t in at.text if t.value.startswith("Report ready")]
    assert len(ready) == 1
    events = workspace.events(review.id)
    assert events[-1].action == "report"
    assert events[-1].payload["rows"] == [4]
    assert ready[0].endswith(events[-1].payload["numeric_sha256"])
    # The report embeds the trail as it was, its head signed: `verify` accepts its page.
    from components.review.audit import verify_report
    from components.review.report_html import render_html

    built = at.session_state[f"report_{review.id}"]
    page = workspace.root / "report.html"
    page.write_text(render_html(built, figures=False), encoding="utf-8")
    checked = verify_report(page)
    assert (checked["signed_event"], checked["head"]) == (events[-2].id, events[-2].hash)
    assert checked["fingerprint"] == workspace.signing_key().fingerprint
    _button(at, "Make the PDF").click().run()
    _ok(at)
    downloads = [d.proto.label for d in at.get("download_button")]
    assert "Download the report (HTML)" in downloads
    assert "Download the report (PDF)" in downloads


def test_uploads_are_kept_listed_and_reopened_by_link(workspace):
    sample = get_sample("wine_classifier")
    model_bytes, data_bytes = sample.model_path.read_bytes(), sample.data_path.read_bytes()
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("my model.keras", model_bytes).run()
    at.file_uploader(key="data_file").upload("my data.csv", data_bytes).run()
    _ok(at)
    model_sha, data_sha = sha256_hex(model_bytes), sha256_hex(data_bytes)
    assert [(a.kind, a.name, a.sha256) for a in workspace.artifacts()] == [
        ("dataset", "my data.csv", data_sha), ("model", "my model.keras", model_sha)]
    assert at.query_params["model"] in (model_sha, [model_sha])
    assert at.query_params["data"] in (data_sha, [data_sha])

    # A new session (a closed browser, a restarted server): listed, and the link reopens it.
    again = new_app()
    again.query_params.update({"model": model_sha, "data": data_sha})
    again.run()
    _ok(again)
    choice = again.selectbox(key="model_choice")
    assert choice.value == f"stored:{model_sha}"
    assert any(option.startswith("Saved: my model.keras") for option in choice.options)
    assert again.selectbox(key="data_choice").value == data_sha
    assert any(model_sha in c.value for c in again.caption)
    assert {m.label: m.value for m in again.metric}["Samples"] == "178"


def test_a_refused_upload_is_not_kept(workspace, tmp_path):
    from hostile import lambda_model, save

    canary = tmp_path / "canary"
    hostile = save(lambda_model(canary), tmp_path)
    canary.unlink(missing_ok=True)  # building the model ran the lambda once, here
    at = new_app()
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("evil.keras", hostile).run()
    assert not at.exception
    assert any("Lambda" in e.value for e in at.error)
    assert workspace.artifacts() == []
    assert "model" not in at.query_params
    assert not canary.exists()


def test_explain_view_round_trips_through_its_link(workspace):
    at = new_app()
    at.query_params.update({"sample": "wine_classifier", "row": "9"})
    at.switch_page("views/explain.py").run()
    _ok(at)
    from components.ui.selection import scope_of

    sample = get_sample("wine_classifier")
    scope = scope_of(sha256_hex(sample.model_path.read_bytes()),
                     sha256_hex(sample.data_path.read_bytes()))
    at.multiselect(key=f"methods_{scope}").set_value(["lime", "ig"]).run()
    at.number_input(key=f"seed_{scope}").set_value(5).run()
    at.text_input(key=f"param_{scope}_lime_num_samples").input("300").run()
    _ok(at)
    link = {k: at.query_params[k] for k in at.query_params}
    assert link["methods"] in ("lime,ig", ["lime,ig"]) and link["seed"] in ("5", ["5"])
    status = [s.label for s in at.status]

    reopened = new_app()
    reopened.query_params.update({k: v if isinstance(v, str) else v[0]
                                  for k, v in link.items()})
    reopened.switch_page("views/explain.py").run()
    _ok(reopened)
    assert reopened.multiselect(key=f"methods_{scope}").value == ["lime", "ig"]
    assert reopened.number_input(key=f"seed_{scope}").value == 5
    assert reopened.text_input(key=f"param_{scope}_lime_num_samples").value == "300"
    assert [s.label.split(",")[0] for s in reopened.status] == [s.split(",")[0]
                                                                 for s in status]
    assert json.loads(_first(reopened.query_params["params"])) == {"lime": {"num_samples": 300}}
    # Same settings, same numbers: the panels' figures are identical.
    assert [c.proto.spec for c in reopened.get("plotly_chart")][1:] == \
        [c.proto.spec for c in at.get("plotly_chart")][1:]


def _first(value):
    return value if isinstance(value, str) else value[0]
