"""The package reads as the data's path: model → data → inspect → explain → plots → review.

Read from the source (every import, deferred ones included): no stage imports a later one,
nothing imports in a cycle, only `components/ui` touches Streamlit, and the top level stays
small. A failure names the offending import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "components"
STAGES = ("model", "data", "inspect", "explain", "plots", "review")
BASE = ("components.errors", "components.text_safety")  # importable from every stage
MAX_TOP_MODULES = 8


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``components...`` module ``path`` imports; ``from components.x import y``
    counts ``components.x.y`` when that is a module, else ``components.x``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("components")}
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("components"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return {name for name in found if name in MODULES}


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}
GRAPH = nx.DiGraph([(m, i) for m, p in MODULES.items() for i in _imports(p) if i != m])


def _rank(module: str) -> float:
    """A stage's place on the path; the shared base first, the UI and the CLI last."""
    if module in BASE:
        return -1
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1])
    return len(STAGES) + (0 if len(parts) > 1 and parts[1] == "ui" else 1)


def test_the_top_level_holds_few_modules_and_one_folder_per_stage():
    top = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    assert {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} == \
        {*STAGES, "ui"}


def test_no_stage_imports_a_later_one():
    upward = [f"{a} imports {b}" for a, b in GRAPH.edges if _rank(b) > _rank(a)]
    assert not upward, upward


def test_plots_are_reached_only_from_plots_review_ui_and_cli():
    wrong = [f"{a} imports {b}" for a, b in GRAPH.edges
             if b.startswith("components.plots") and _rank(a) < STAGES.index("plots")]
    assert not wrong, wrong


def test_no_import_cycle():
    assert list(nx.simple_cycles(GRAPH)) == []


def test_only_the_ui_touches_streamlit():
    touching = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if any(n == "streamlit" or n.startswith("streamlit.") for n in names) and \
                not module.startswith("components.ui"):
            touching.append(module)
    assert touching == []


def test_the_ranking_sees_every_stage():
    """Guards the test itself: a renamed folder would otherwise rank as the UI."""
    assert {_rank(m) for m in MODULES} >= {-1, *range(len(STAGES) + 2)}
