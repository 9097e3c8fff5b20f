"""`python -m components report`: an HTML and PDF report with a reproducible hash, and one
`error:` line for anything refused.

The three calls that load a model (each imports TensorFlow in a worker, ~6 s) run side by
side in one fixture; refusals that need no model run one by one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

import hostile
from components.review.store import Store

NOTE = "</script><script>alert(1)</script> looks off"
REVIEWER = "<b>auditor</b>"
SUMMARY_KEYS = {"out", "pdf", "numeric_sha256", "rows", "methods"}


def command(*args) -> list[str]:
    return [sys.executable, "-m", "components", "report", *map(str, args)]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def wine(samples):
    return samples["wine_classifier"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, wine):
    """A store holding a review of the wine files (row 5 assessed with a hostile note) and
    one of the wine model with other data: (folder, good review id, other review id)."""
    root = tmp_path_factory.mktemp("workspace")
    store = Store(root)
    review = store.review_for(sha(wine.model_path), sha(wine.data_path))
    store.record(review.id, REVIEWER, "pin", row=5)
    store.record(review.id, REVIEWER, "assess", row=5,
                 payload={"verdict": "concern", "note": NOTE})
    other = store.review_for(sha(wine.model_path), "0" * 64)
    store.dispose()
    return root, review.id, other.id


@pytest.fixture(scope="module")
def runs(wine, workspace, tmp_path_factory, repo_root) -> dict:
    """name -> (finished process, output folder). "first" and "reviewed" ask for the same
    numbers (the review is not part of the hash); "far row" fails after loading."""
    root, review_id, _ = workspace
    out = tmp_path_factory.mktemp("reports")
    model, data = wine.model_path, wine.data_path
    jobs = {
        "first": command(model, data, "--rows", "1,5", "--out", out / "first.html",
                         "--pdf", out / "first.pdf"),
        "reviewed": command(model, data, "--rows", "1,5", "--review", review_id,
                            "--workspace", root, "--out", out / "reviewed.html"),
        "far row": command(model, data, "--rows", "1,500", "--out", out / "far.html"),
    }
    procs = {name: subprocess.Popen(args, cwd=repo_root, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in jobs.items()}
    done = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        done[name] = subprocess.CompletedProcess(jobs[name], proc.returncode, stdout, stderr)
    return done, out


def summary(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert set(out) == SUMMARY_KEYS
    return out


def one_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout[-500:]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_report_writes_html_and_pdf(runs, wine):
    done, out = runs
    first = summary(done["first"])
    assert first["out"] == str(out / "first.html") and first["pdf"] == str(out / "first.pdf")
    assert first["rows"] == [1, 5]
    assert first["methods"] == ["lime", "shap", "saliency", "gradxinput", "ig", "smoothgrad",
                                "gradcam"]
    page = (out / "first.html").read_text()
    assert sha(wine.model_path) in page and first["numeric_sha256"] in page
    assert (out / "first.pdf").read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", out / "first.pdf", "-"], capture_output=True,
                          text=True, check=True).stdout
    assert sha(wine.model_path) in text


def test_two_runs_give_the_same_numeric_hash(runs):
    done, _ = runs
    first, reviewed = summary(done["first"]), summary(done["reviewed"])
    assert first["numeric_sha256"] == reviewed["numeric_sha256"]


def test_the_review_notes_appear_escaped(runs, workspace):
    done, out = runs
    summary(done["reviewed"])
    page = (out / "reviewed.html").read_text()
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; looks off" in page
    assert "&lt;b&gt;auditor&lt;/b&gt;" in page and "<b>auditor" not in page
    assert "<script>alert(1)" not in page
    assert f"Audit trail of review #{workspace[1]}" in page
    content = page.split('id="glassbox-report">', 1)[1].split("</script>", 1)[0]
    review = json.loads(content)["review"]
    assert [e["action"] for e in review["events"]] == ["pin", "assess"]
    assert review["pins"][0]["note"] == NOTE and review["verified"] is True
    assert f"--review {workspace[1]}" in json.loads(content)["command"]


def test_a_row_out_of_range_is_one_error_line(runs):
    done, out = runs
    line = one_error(done["far row"])
    assert "row 500 is out of range: the dataset has 178 rows" in line
    assert not (out / "far.html").exists()


@pytest.mark.parametrize("rows, message", [
    ("1,x", "'x' is not a row number"),
    ("1,,5", "an empty entry is not a row number"),
    ("", "an empty entry is not a row number"),
    ("-1", "'-1' is not a row number"),
    ("1.5", "'1.5' is not a row number"),
    ("5,1,5", "--rows lists row 5 more than once"),
])
def test_bad_rows_are_refused_before_loading(wine, repo_root, tmp_path, rows, message):
    proc = subprocess.run(command(wine.model_path, wine.data_path, "--rows", rows,
                                  "--out", tmp_path / "x.html"),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert message in one_error(proc)


def test_a_hostile_model_is_refused(wine, repo_root, tmp_path):
    canary = tmp_path / "canary"
    data = hostile.save(hostile.lambda_model(canary), tmp_path)
    canary.unlink(missing_ok=True)  # building the model ran its code once
    model = tmp_path / "evil.keras"
    model.write_bytes(data)
    proc = subprocess.run(command(model, wine.data_path, "--rows", "0",
                                  "--out", tmp_path / "x.html"),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert "a Lambda layer holds Python code" in one_error(proc)
    assert not canary.exists() and not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("which, message", [("unknown", "there is no review 999"),
                                            ("other data", "is of another data file")])
def test_a_review_of_other_files_is_refused(wine, workspace, repo_root, tmp_path, which,
                                            message):
    root, _, other_id = workspace
    review = 999 if which == "unknown" else other_id
    proc = subprocess.run(command(wine.model_path, wine.data_path, "--rows", "1",
                                  "--review", review, "--workspace", root,
                                  "--out", tmp_path / "x.html"),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert message in one_error(proc)
    assert not (tmp_path / "x.html").exists()


def test_report_review_records_a_report_event_and_the_report_verifies(runs, workspace,
                                                                       repo_root):
    """As the Review page's button: a `report` event by nobody signed in, after the trail
    the report embeds; `verify` accepts the file, checked against the workspace's key."""
    done, out = runs
    made = summary(done["reviewed"])
    root, review_id, _ = workspace
    store = Store(root)
    try:
        events = store.events(review_id)
        store.verify(review_id)
        fingerprint = store.signing_key().fingerprint
    finally:
        store.dispose()
    assert [e.action for e in events] == ["pin", "assess", "report"]
    assert (events[-1].actor, events[-1].row, events[-1].payload) == (
        "unauthenticated", None, {"rows": [1, 5], "methods": made["methods"], "seed": 0,
                                  "numeric_sha256": made["numeric_sha256"]})
    proc = subprocess.run([sys.executable, "-m", "components", "verify",
                           out / "reviewed.html", "--fingerprint", fingerprint],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    verified = json.loads(proc.stdout)
    assert (verified["ok"], verified["review"], verified["events"]) == (True, review_id, 2)
    assert verified["head"] == events[1].hash and verified["key_checked"] is True
