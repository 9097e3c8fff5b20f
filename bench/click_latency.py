"""Click → panels on the Explain page in a real browser, and a fresh server's first paint.

    .venv/bin/python bench/click_latency.py [--repeats 5] [--starts 3] [--samples KEY,...]

One server (`streamlit run app.py`) and headless Chromium at 1600x1000. For each sample a
fresh page opens ``/explain?sample=KEY&row=0`` (a fresh session: seconds until row 0's
panels are shown), then clicks points of the sample map: ``--repeats`` rows never explained
before on this server ("new"), then ``--repeats`` clicks back and forth between two rows
explained already ("cached"). Each time is from the click (the page's own ``click`` event,
when the mouse button is released) until the panels of the clicked row are shown.
"dispatch" is what Playwright takes before that event (its mouse move, press and release
over the DevTools protocol, ~15-35 ms here): a person's click has none of it.

**Panels shown** for row N: the progress bar over the panels reads "Row N: k of k methods"
(the page writes it after the last panel is drawn) and k charts under it are drawn (Plotly
charts with their SVG), none of these stale (Streamlit marks what the current run has not
redrawn yet as stale: the previous row's panels until they are replaced).

**First paint**: ``--starts`` fresh servers, each with a fresh page on ``/``: seconds from
the server's start until the page frame is visible (the sidebar's navigation and the
Glassbox title) and until the model is ready (the default page's layer table).

Prints each figure's median and its ratio to the budget (cached row 0.3 s, new row 1 s,
first paint 3 s): a ratio above 1 is over budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_POINTS,
    PANELS_SHOWN,
    running_app,
)

SAMPLES = ("wine_classifier", "diabetes_regression", "digits_cnn", "sentiment_text")
BUDGETS = {"cached row": 0.3, "new row": 1.0, "first paint": 3.0}
VIEWPORT = {"width": 1600, "height": 1000}
WAIT_MS = 180_000

APART_PX = 12


def panels_shown(page, row: int) -> float:
    """Wait until row ``row``'s panels are shown; the page's clock (ms) at that moment."""
    return page.wait_for_function(PANELS_SHOWN, arg=row, polling="raf",
                                  timeout=WAIT_MS).json_value()


def apart_points(page) -> dict[int, tuple[int, int]]:
    """Rows whose map point stands apart (see `MAP_POINTS`): row -> (trace, point)."""
    return {row: (trace, index) for row, trace, index, gap in page.evaluate(MAP_POINTS)
            if gap >= APART_PX}


def settle(page) -> None:
    """Wait until the app is idle (no run in progress, nothing stale), then a moment for
    Plotly to finish drawing: a click that lands while the map is redrawn is lost."""
    page.wait_for_function("""() => !document.querySelector('[data-stale="true"]')
        && !document.querySelector('[data-testid="stStatusWidget"]')""", polling=100,
                           timeout=WAIT_MS)
    page.wait_for_timeout(300)


# The page's clock at the last click it received (the `click` event, at the mouse button's
# release), recorded before any of the page's own handlers run.
CLICK_CLOCK = """() => { window.__benchClick = null; if (!window.__benchListening) {
  window.__benchListening = true;
  document.addEventListener('click', () => { window.__benchClick = performance.now(); },
                            true); } }"""


def click_row(page, row: int, where: tuple[int, int]) -> tuple[float, float]:
    """Click row ``row``'s point (``where``: trace, point) on the map: seconds from the
    page's click event until the row's panels are shown, and seconds Playwright took to
    deliver the click (its mouse moves, press and release, before the event)."""
    settle(page)
    point = page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace") \
        .nth(where[0]).locator("path.point").nth(where[1])
    point.scroll_into_view_if_needed()
    page.evaluate(CLICK_CLOCK)
    start = page.evaluate("performance.now()")
    point.click(force=True)
    shown = panels_shown(page, row)
    clicked = page.evaluate("window.__benchClick")
    return (shown - clicked) / 1000, (clicked - start) / 1000


def sample_run(browser, url: str, key: str, repeats: int) -> dict[str, list[float]]:
    """A fresh session on ``key``'s Explain page: its open time, new and cached clicks."""
    page = browser.new_page(viewport=VIEWPORT)
    start = time.perf_counter()
    page.goto(f"{url}/explain?sample={key}&row=0")
    panels_shown(page, 0)
    times = {"fresh session": [time.perf_counter() - start], "new row": [], "cached row": [],
             "dispatch": []}
    settle(page)
    points = apart_points(page)
    rows = [row for row in sorted(points) if row != 0][:repeats]  # none explained yet
    picks = [("new row", row) for row in rows]
    # back and forth: each click names another computed row
    picks += [("cached row", rows[i % 2]) for i in range(repeats)]
    for kind, row in picks:
        shown, dispatch = click_row(page, row, points[row])
        times[kind].append(shown)
        times["dispatch"].append(dispatch)
    page.close()
    return times


def first_paint(browser) -> tuple[float, float, float]:
    """A fresh server and page: seconds from its start until healthy, the frame, the model."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "log") as url:
        healthy = time.perf_counter() - start
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        page.get_by_test_id("stSidebarNav").wait_for(timeout=WAIT_MS)
        page.get_by_test_id("stSidebar").get_by_text("Glassbox").first.wait_for(timeout=WAIT_MS)
        frame = time.perf_counter() - start
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=WAIT_MS)
        ready = time.perf_counter() - start
        page.close()
    return healthy, frame, ready


def report(name: str, values: list[float], budget: float | None = None) -> None:
    median = statistics.median(values)
    ratio = f" = {median / budget:.2f} x the {budget:g} s budget" if budget else ""
    shown = ", ".join(f"{v:.2f}" for v in values)
    print(f"  {name:<14} median {median:6.2f} s{ratio}   ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--samples", default=",".join(SAMPLES))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        paints = [first_paint(browser) for _ in range(args.starts)]
        print("first paint of a fresh server (seconds from its start):")
        report("healthy", [p[0] for p in paints])
        report("page frame", [p[1] for p in paints], BUDGETS["first paint"])
        report("model ready", [p[2] for p in paints])
        with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "log") as url:
            for key in args.samples.split(","):
                times = sample_run(browser, url, key, args.repeats)
                print(f"{key} (click on the map → the row's panels shown):")
                report("fresh session", times["fresh session"])
                report("new row", times["new row"], BUDGETS["new row"])
                report("cached row", times["cached row"], BUDGETS["cached row"])
                report("dispatch", times["dispatch"])
        browser.close()


if __name__ == "__main__":
    main()
