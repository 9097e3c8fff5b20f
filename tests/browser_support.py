"""Start the real app (`streamlit run`) on a free loopback port, for browser tests and benches."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    """Poll Streamlit's health endpoint until it answers 200, the process dies, or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("streamlit did not become healthy")


@contextlib.contextmanager
def running_app(log_path: Path, env: dict[str, str] | None = None,
                args: Sequence[str] = ()) -> Iterator[str]:
    """Serve app.py on 127.0.0.1:<free port>; yields the base URL; stops the server after.

    ``env`` adds to (or overrides) this process's environment for the server; ``args`` are
    more `streamlit run` options (e.g. ``--secrets.files``).
    """
    port = free_port()
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", *args],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# The Explain page, read in the browser (tests/test_browser_picks.py, bench/click_latency.py).

# Each row's point on the map (the first chart) with the distance in pixels to the nearest
# point of another row (the ring on the selected row included): Plotly takes a click to the
# nearest point, so only a point that stands apart is sure to be the one clicked.
MAP_POINTS = """() => {
  const plot = document.querySelectorAll('.js-plotly-plot')[0];
  const points = [];
  plot.querySelectorAll('.scatterlayer .trace').forEach((trace, t) => {
    const data = plot.data[t];
    trace.querySelectorAll('path.point').forEach((path, i) => {
      const box = path.getBoundingClientRect(), cd = data.customdata[i];
      points.push({row: Number(Array.isArray(cd) ? cd[0] : cd), trace: t, index: i,
                   ring: (data.name || '').startsWith('row '),
                   x: box.x + box.width / 2, y: box.y + box.height / 2});
    });
  });
  return points.filter((p) => !p.ring).map((p) => [p.row, p.trace, p.index, Math.min(
    ...points.filter((q) => q.row !== p.row).map((q) => Math.hypot(p.x - q.x, p.y - q.y)))]);
}"""

# Row N's panels are shown: the bar over them reads "Row N: k of k methods" (the page writes it
# after the last panel is drawn) and k Plotly charts under it are drawn (the panels are kept
# charts, `components.ui.kept_chart`: a `.glassbox-chart` in the element), none of these stale
# (Streamlit marks what the current run has not redrawn yet). Returns the page's clock (ms).
PANELS_SHOWN = """(row) => {
  const fresh = (e) => e.closest('[data-stale="true"]') === null;
  const bar = [...document.querySelectorAll('[data-testid="stProgress"]')]
    .find((e) => /^Row \\d+: \\d+ of \\d+ methods/.test(e.innerText));
  const m = bar && bar.innerText.match(/^Row (\\d+): (\\d+) of (\\d+) methods/);
  if (!m || Number(m[1]) !== row || m[2] !== m[3] || !fresh(bar)) return false;
  const drawn = [...document.querySelectorAll('[data-testid="stPlotlyChart"], .glassbox-chart')]
    .filter((c) => bar.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING)
    .filter((c) => fresh(c) && c.querySelector('.main-svg'));
  return drawn.length >= Number(m[2]) ? performance.now() : false;
}"""


# Where node ``id``'s box of the Architecture graph is on screen (px): its click marker's
# data position through the chart's axes.
BOX_CENTRE = """(id) => {
  const plot = document.querySelector('.js-plotly-plot');
  const layers = plot.data.find((t) => t.name === 'layers');
  const i = layers.customdata.indexOf(id);
  const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
  const frame = plot.getBoundingClientRect();
  return [frame.left + xa._offset + xa.l2p(layers.x[i]),
          frame.top + ya._offset + ya.l2p(layers.y[i])];
}"""


def whole_page_screenshot(page, path: Path, max_height: int) -> Path:
    """The whole page: the app scrolls inside its main area, not the document, so the
    viewport is made as tall as that area's content (at most ``max_height`` px) for the
    picture, then put back."""
    viewport = page.viewport_size
    height = page.evaluate(
        "() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": viewport["width"],
                            "height": max(viewport["height"], min(int(height), max_height))})
    page.screenshot(path=str(path))
    page.set_viewport_size(viewport)
    return path
