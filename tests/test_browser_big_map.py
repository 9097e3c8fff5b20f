"""Browser test: a 100,000-row table's sample map is drawn with WebGL and a click on a point
still selects that dataset row (its customdata travels as a typed array)."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from browser_support import CHROMIUM
from components.model.samples import get_sample

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (make browser-deps)"),
]

# Where the first WebGL trace's point 0 is on screen, and which row it carries.
POINT_JS = """() => {
  const gd = document.querySelectorAll('.js-plotly-plot')[0];
  const t = gd._fullData[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect();
  let best = 0, far = -1;
  for (let i = 0; i < Math.min(t.x.length, 5000); i++) {   // an outlying point: no neighbour
    const d = Math.abs(t.x[i]) + Math.abs(t.y[i]);
    if (d > far) { far = d; best = i; }
  }
  const row = t.customdata[best];
  return {type: t.type, n: t.x.length,
          x: box.left + xa._offset + xa.l2p(t.x[best]),
          y: box.top + ya._offset + ya.l2p(t.y[best]),
          row: Number(row.length !== undefined ? row[0] : row)};
}"""


# Where the point carrying dataset row ``row`` is drawn (any WebGL trace), or null.
WHERE_JS = """(row) => {
  const gd = document.querySelectorAll('.js-plotly-plot')[0];
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect();
  for (const t of gd._fullData) {
    if (t.type !== 'scattergl') continue;
    for (let i = 0; i < t.x.length; i++) {
      const c = t.customdata[i];
      if (Number(c.length !== undefined ? c[0] : c) === row)
        return {x: box.left + xa._offset + xa.l2p(t.x[i]),
                y: box.top + ya._offset + ya.l2p(t.y[i])};
    }
  }
  return null;
}"""


def _wine_rows(n: int) -> bytes:
    table = pd.read_csv(get_sample("wine_classifier").data_path)
    rng = np.random.default_rng(1)
    big = table.iloc[rng.integers(0, len(table), n)].reset_index(drop=True)
    features = [c for c in big.columns if c != "label"]
    big[features] = big[features] * (1 + 0.01 * rng.standard_normal((n, len(features))))
    return big.round(4).to_csv(index=False).encode()


def test_clicking_a_webgl_map_point_explains_that_row(server, server_workspace, browser):
    from components.model.load import sha256_hex
    from components.review.store import Store

    # stored as the sidebar keeps a dataset that passed its checks: the Data list (and a
    # ?data= link) offers only datasets that fit the model
    model = sha256_hex(get_sample("wine_classifier").model_path.read_bytes())
    store = Store(server_workspace)
    sha = store.put_dataset("wine_100k.csv", _wine_rows(100_000), model_sha256=model,
                            signature="tabular:13").sha256
    store.dispose()
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.goto(f"{server}/explain?sample=wine_classifier&data={sha}")
    page.get_by_text(re.compile(r"^Row 0: \d+ of \d+ methods")).wait_for(timeout=180_000)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData",
                           timeout=60_000)
    point = page.evaluate(POINT_JS)
    assert point["type"] == "scattergl" and point["n"] > 2000
    page.mouse.click(point["x"], point["y"])
    # Jittered copies of the same wine lie near the cursor: whichever point Plotly picks,
    # the selected row must be one drawn where the click was.
    status = page.get_by_text(re.compile(r"^Row [1-9]\d*: \d+ of \d+ methods"))
    status.wait_for(timeout=120_000)
    row = int(re.match(r"Row (\d+)", status.inner_text()).group(1))
    assert f"row={row}" in page.url
    where = page.evaluate(WHERE_JS, row)
    assert where is not None, f"row {row} is on no trace of the map"
    # within Plotly's pick distance (hoverdistance, 20 px); the map is ~600 px across
    assert abs(where["x"] - point["x"]) <= 20 and abs(where["y"] - point["y"]) <= 20, \
        (where, point)
    page.close()
