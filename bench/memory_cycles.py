"""Memory over upload -> explain -> replace cycles: does the server's resident memory level off?

    .venv/bin/python bench/memory_cycles.py [--cycles 50] [--every 5] [--threshold 10]

Starts the app (`streamlit run` on a free loopback port) and opens it in one headless
Chromium page, so one session does every cycle. A cycle uploads a freshly built small model
(its own name ``cycle_NNN`` and random weights, so different bytes every time) and its CSV
through the sidebar's uploaders, opens the explain page and waits until every method's panel
is done ("Row 0: N of N methods" and the charts), then the next cycle's upload replaces both.
After each cycle the resident memory (VmRSS, /proc) of the server process and of all its
descendants (the model worker processes, the spare worker) is summed.

Prints every --every-th cycle, then the growth after the last cycle relative to after the
first, PASS if within --threshold percent, else FAIL (exit status 1). Also prints the growth
against the level after cycle 2. A session keeps one uploaded model: replacing it stops the
old model's worker, so the set of processes (server, current worker, warm spare) is steady
from cycle 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (HERE, ROOT / "tests", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from proc_tree import server_pid, tree_rss_kib  # noqa: E402
from streamlit_client import require_loopback  # noqa: E402

from components.data.session import readable  # noqa: E402

MAX_CYCLES = 500
WAIT = 180_000  # ms: a cycle step on a loaded machine (worker start, six methods)
WIDTH, CLASSES = 6, 3


def build_cycle(index: int, folder: Path) -> tuple[Path, bytes, int, str]:
    """(model file, CSV bytes, row count, model name) for cycle ``index``: new weights each."""
    import keras
    import numpy as np
    import pandas as pd

    keras.utils.set_random_seed(1000 + index)
    name = f"cycle_{index:03d}"
    model = keras.Sequential([keras.Input((WIDTH,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(CLASSES, activation="softmax")], name=name)
    path = folder / f"{name}.keras"
    model.save(path)
    n_rows = 40 + index % 25
    rng = np.random.default_rng(index)
    frame = pd.DataFrame(rng.normal(size=(n_rows, WIDTH)).round(4),
                         columns=[f"x{j}" for j in range(WIDTH)])
    frame["label"] = rng.integers(0, CLASSES, size=n_rows)
    return path, frame.to_csv(index=False).encode(), n_rows, name


def _uploader(page, label: str):
    return page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader").filter(
        has_text=label)


def _nav(page, label: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label).click()


def one_cycle(page, index: int, folder: Path) -> None:
    """Upload cycle ``index``'s model and data, explain row 0, wait for every panel."""
    path, csv, n_rows, name = build_cycle(index, folder)
    if index > 1:
        _nav(page, "Model & data")
    _uploader(page, "Keras model").locator("input[type=file]").set_input_files(str(path))
    # the page is headed by the model's name made readable: "cycle_001" -> "Cycle 001"
    page.get_by_role("heading", name=readable(name), exact=True).wait_for(timeout=WAIT)
    _uploader(page, "Dataset").locator("input[type=file]").set_input_files(
        {"name": f"data_{index:03d}.csv", "mimeType": "text/csv", "buffer": csv})
    page.get_by_test_id("stMetricValue").filter(
        has_text=re.compile(rf"^{n_rows}$")).first.wait_for(timeout=WAIT)
    page.get_by_text(f"data_{index:03d}.csv").first.wait_for(timeout=WAIT)
    _nav(page, "Explain")
    status = page.get_by_text(re.compile(r"^Row 0: (\d+) of \1 methods"))
    status.wait_for(timeout=WAIT)
    methods = int(re.match(r"Row 0: (\d+)", status.inner_text()).group(1))
    page.locator(".js-plotly-plot").nth(1 + methods).wait_for(timeout=WAIT)
    if page.get_by_test_id("stException").count():
        raise RuntimeError(f"cycle {index}: the page shows an exception")


def measure(pid: int, settle: float) -> tuple[int, int, int]:
    """(total KiB, server KiB, number of descendant processes) after ``settle`` seconds."""
    time.sleep(settle)
    total, sizes = tree_rss_kib(pid)
    return total, sizes.get(pid, 0), len(sizes) - 1


def run(cycles: int, every: int, settle: float) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM, CHROMIUM_ARGS, running_app

    series: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url, \
            sync_playwright() as pw:
        pid = server_pid(require_loopback(url)[1])
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(url)
        page.get_by_role("heading", name="Wine cultivar classifier").wait_for(timeout=WAIT)
        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="Upload my own model…").click()
        _uploader(page, "Keras model").wait_for(timeout=WAIT)
        print(f"server {url} (pid {pid}); cycles: {cycles}", flush=True)
        print(f"{'cycle':>5} {'total MiB':>10} {'server MiB':>11} {'children':>8} "
              f"{'cycle s':>8}", flush=True)
        for index in range(1, cycles + 1):
            started = time.perf_counter()
            one_cycle(page, index, Path(tmp))
            seconds = time.perf_counter() - started
            total, server, children = measure(pid, settle)
            series.append({"cycle": index, "total_kib": total, "server_kib": server,
                           "children": children, "seconds": seconds})
            if index == 1 or index % every == 0 or index == cycles:
                print(f"{index:>5} {total / 1024:>10,.0f} {server / 1024:>11,.0f} "
                      f"{children:>8} {seconds:>8.1f}", flush=True)
        browser.close()
    return series


def verdict(series: list[dict], threshold: float) -> dict:
    first, last = series[0]["total_kib"], series[-1]["total_kib"]
    out = {"cycles": len(series), "after_first_mib": first / 1024, "after_last_mib": last / 1024,
           "growth_pct": 100 * (last - first) / first,
           "max_mib": max(s["total_kib"] for s in series) / 1024,
           "server_growth_pct": 100 * (series[-1]["server_kib"] - series[0]["server_kib"])
           / series[0]["server_kib"]}
    if len(series) >= 2:
        second = series[1]["total_kib"]
        out["growth_vs_cycle2_pct"] = 100 * (last - second) / second
    out["passed"] = out["growth_pct"] <= threshold
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--every", type=int, default=5, help="print every n-th cycle")
    parser.add_argument("--threshold", type=float, default=10.0, help="allowed growth, %%")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to wait after a cycle before reading memory")
    parser.add_argument("--json", action="store_true", help="also print the series as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.cycles <= MAX_CYCLES:
        parser.error(f"--cycles must be 1..{MAX_CYCLES}")
    started = time.perf_counter()
    series = run(args.cycles, max(1, args.every), args.settle)
    result = verdict(series, args.threshold)
    print(f"after cycle 1: {result['after_first_mib']:,.0f} MiB; after cycle {len(series)}: "
          f"{result['after_last_mib']:,.0f} MiB; growth {result['growth_pct']:+.1f} % "
          f"(server process alone {result['server_growth_pct']:+.1f} %); "
          f"peak {result['max_mib']:,.0f} MiB")
    if "growth_vs_cycle2_pct" in result:
        print(f"growth after cycle {len(series)} against cycle 2: "
              f"{result['growth_vs_cycle2_pct']:+.1f} %")
    print(f"{'PASS' if result['passed'] else 'FAIL'}: growth {result['growth_pct']:+.1f} % "
          f"against a limit of {args.threshold:g} % ({time.perf_counter() - started:.0f} s)")
    if args.json:
        print(json.dumps({"result": result, "series": series}))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
