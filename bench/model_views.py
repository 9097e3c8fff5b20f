"""Server-side render times of the model views on large generated models.

    .venv/bin/python bench/model_views.py [--repeats 5]

- a 300-layer functional model (100 branch-and-merge blocks, one nested submodel): build the
  graph, lay it out, draw the figure and serialise it as Streamlit does (`to_json`);
- a 10-million-parameter Dense layer: its weights view (block-averaged heatmap, histogram of a
  1M sample, statistics) and the all-layers statistics table.
Prints the median of each over the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from components.inspect.weights import all_layers_table  # noqa: E402
from components.plots.model_views import architecture_view, weights_view  # noqa: E402


def deep_model(blocks: int = 100) -> keras.Model:
    inner = keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, name="inner_a"),
                              keras.layers.Dense(16, name="inner_b")], name="nested")
    inp = keras.Input((16,), name="x")
    x = inner(inp)
    for i in range(blocks):
        left = keras.layers.Dense(16, name=f"left{i}")(x)
        right = keras.layers.Dense(16, name=f"right{i}")(x)
        x = keras.layers.Add(name=f"merge{i}")([left, right])
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="out")(x))


def wide_model() -> keras.Model:
    return keras.Sequential([keras.Input((3200,)), keras.layers.Dense(3125, name="wide")])


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    deep = deep_model()
    n_layers = len(architecture_view(deep).graph.nodes)
    for label, expanded in (("collapsed", ()), ("nested expanded", ("nested",))):
        secs = median_seconds(lambda e=expanded: architecture_view(deep, expanded=e).figure
                              .to_json(), repeats)
        print(f"architecture, {n_layers} layers, {label}: median {secs:.3f} s "
              "(graph + layout + figure + to_json)")
    wide = wide_model()
    params = wide.count_params()
    secs = median_seconds(lambda: [f.to_json() for f in weights_view(wide, "wide").figures],
                          repeats)
    print(f"weights view, {params:,}-parameter Dense layer: median {secs:.3f} s "
          "(heatmap 200x200 of block means, 1M-value histogram sample, statistics, to_json)")
    secs = median_seconds(lambda: all_layers_table(wide), repeats)
    print(f"all-layers statistics table, {params:,} parameters: median {secs:.3f} s")


if __name__ == "__main__":
    main()
