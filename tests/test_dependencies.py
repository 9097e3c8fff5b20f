"""Dependencies and dangerous calls: pinned past known advisories, pickle never enabled."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = [p for folder in ("components", "views", "bench", "sample_models")
        for p in (ROOT / folder).rglob("*.py")] + [ROOT / "app.py"]


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location("audit_deps", ROOT / ".ci" / "audit_deps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)==([\w.]+)", line.strip()):
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_every_requirement_is_pinned_exactly():
    for path in (ROOT / "requirements.txt", ROOT / "requirements-dev.txt"):
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{path.name}: '{line}' is not an exact pin"


def test_pins_are_at_or_above_the_advisory_floors(audit):
    pins = _pins(ROOT / "requirements.txt") | _pins(ROOT / "requirements-dev.txt")
    for name in ("keras", "streamlit", "pillow", "numpy", "setuptools"):
        safe, _ = audit.FLOORS[name]
        assert audit.version_tuple(pins[name]) >= audit.version_tuple(safe), name


def test_the_floor_check_flags_an_old_release(audit, monkeypatch):
    class Old:
        metadata = {"Name": "Keras"}
        version = "3.8.0"

    monkeypatch.setattr(audit.metadata, "distributions", lambda: [Old()])
    findings = audit.floor_findings()
    assert len(findings) == 1 and findings[0].startswith("keras 3.8.0 is below 3.15.1")


def _calls(path: Path, name: str):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                yield node


def test_numpy_never_unpickles():
    loads = 0
    for path in CODE:
        for call in _calls(path, "load"):
            source = ast.unparse(call)
            if not re.match(r"(np|numpy)\.load\(", source):
                continue
            loads += 1
            flags = {k.arg: ast.unparse(k.value) for k in call.keywords}
            assert flags.get("allow_pickle") == "False", f"{path.name}: {source}"
    assert loads >= 1  # data_io reads .npy/.npz: the check saw it
    for path in CODE:
        assert "allow_pickle=True" not in path.read_text(), path


def test_no_raw_html_from_pages():
    for path in CODE:
        assert "unsafe_allow_html" not in path.read_text(), path
