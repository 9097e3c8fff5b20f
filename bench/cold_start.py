"""Cold start: seconds from `streamlit run` until a browser shows the sample model's layer table.

    .venv/bin/python bench/cold_start.py [--runs 3]

Each run starts a fresh server process (so TensorFlow is imported anew) and a fresh page.
Prints each run and the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402


def one_run(browser) -> tuple[float, float]:
    """(seconds until the server is healthy, seconds until the layer table is visible)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "log") as url:
        healthy = time.perf_counter() - start
        page = browser.new_page()
        page.goto(url)
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=120_000)
        shown = time.perf_counter() - start
        page.close()
    return healthy, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        results = [one_run(browser) for _ in range(runs)]
        browser.close()
    for i, (healthy, shown) in enumerate(results, 1):
        print(f"run {i}: server healthy {healthy:.2f} s, layer table shown {shown:.2f} s")
    print(f"median: server healthy {statistics.median(r[0] for r in results):.2f} s, "
          f"layer table shown {statistics.median(r[1] for r in results):.2f} s")


if __name__ == "__main__":
    main()
