"""End-to-end throughput of ``python -m components batch`` on a 40-feature MLP, per engine
and worker count.

    .venv/bin/python bench/batch.py [--repeats 3] [--blackbox-repeats 1] [--rows 100000]
                                    [--blackbox-rows 2000] [--engines local,ray]

Builds (fixed seeds) in a temporary folder a 40-feature MLP (Dense 64 relu -> Dense 32 relu
-> Dense 3 softmax) saved as ``.keras``, a ``--rows``-row Parquet file of float32 features
f0..f39 and a ``--blackbox-rows``-row one. Then runs the CLI as a subprocess (repository root
as working folder and ``PYTHONPATH``) for each configuration:

- saliency,gradxinput,ig on the big file, ``--workers 1`` and ``--workers 2``;
- lime,shap on the small file, ``--workers 1`` and ``--workers 2``;
- in this process, ``explain_rows`` of LIME and of SHAP on ``--stacking-rows`` rows with
  their rows' model calls stacked (the default, `components.explain.stacked`) and one row
  at a time: rows/s of each and the ratio;

each on the local engine, and on the Ray engine when ``import ray`` works and
``components/explain/batch_ray.py`` exists (a Ray run that fails skips the remaining Ray
configurations with a note). Every run writes to a fresh output path (the command resumes a
job whose parts it finds) and deletes it afterwards.

End to end is the wall clock from launching the process until it exits (interpreter start,
model and data loaded and checked, workers started, parts written and joined); the engine's
figure is the summary's ``rows_per_second`` (parts computed and joined only). Prints each
configuration's medians over its repeats, the speed-up of 2 workers over 1, and for the
gradient job the end-to-end ratio to the budget of 1,000 rows/s (at least 1 is good).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FEATURES = 40
GRADIENT, BLACKBOX = "saliency,gradxinput,ig", "lime,shap"
BUDGET_ROWS_PER_S = 1_000  # end to end, the gradient job on the big file
WORKERS = (1, 2)


@dataclass(frozen=True)
class Run:
    """One finished CLI run: end-to-end seconds and its JSON summary."""

    seconds: float
    summary: dict


class RunFailed(Exception):
    """The command exited non-zero, printed no JSON, or ran out of time."""


def build_model(path: Path, seed: int = 0) -> None:
    """The 40 -> 64 -> 32 -> 3 softmax MLP, weights from ``seed``, saved at ``path``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((FEATURES,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.save(path)


def build_data(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` rows of standard-normal float32 features f0..f39 as Parquet."""
    import numpy as np
    import pandas as pd

    x = np.random.default_rng(seed).standard_normal((rows, FEATURES), dtype=np.float32)
    pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)]).to_parquet(path, index=False)


def run_cli(model: Path, data: Path, methods: str, engine: str, workers: int, out: Path,
            timeout_s: float) -> Run:
    """One ``batch`` run into ``out`` (removed afterwards, with any parts folder)."""
    command = [sys.executable, "-m", "components", "batch", str(model), str(data),
               "--methods", methods, "--engine", engine, "--workers", str(workers),
               "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
        seconds = time.perf_counter() - start
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # its own session: workers go too
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RunFailed(f"no exit after {timeout_s:g} s") from None
    finally:
        out.unlink(missing_ok=True)
        shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)
    if proc.returncode != 0:
        tail = (stderr.strip() or stdout.strip()).splitlines()[-1:] or ["no output"]
        raise RunFailed(f"exit {proc.returncode}: {tail[0]}")
    try:
        summary = json.loads(stdout)
    except json.JSONDecodeError:
        raise RunFailed(f"no JSON summary on stdout: {stdout[:200]!r}") from None
    if not isinstance(summary, dict) or not summary.get("rows_computed"):
        raise RunFailed(f"no rows computed: {stdout[:200]!r}")
    return Run(seconds, summary)


def ray_note() -> str | None:
    """Why the Ray rows are left out, or None when the engine can be tried."""
    if not (ROOT / "components" / "explain" / "batch_ray.py").is_file():
        return "components/explain/batch_ray.py does not exist yet"
    if importlib.util.find_spec("ray") is None:
        return "ray is not installed"
    try:
        import ray  # noqa: F401
    except Exception as err:  # a broken install fails in many ways
        return f"import ray fails: {err}"
    return None


def measure(folder: Path, data: Path, methods: str, engine: str, workers: int,
            repeats: int, timeout_s: float) -> tuple[list[float], list[float]]:
    """End-to-end and engine rows/s of ``repeats`` runs, each into a fresh output path."""
    e2e, engine_rates = [], []
    for i in range(repeats):
        out = folder / f"out-{engine}-{workers}-{methods.replace(',', '-')}-{i}.parquet"
        run = run_cli(folder / "mlp.keras", data, methods, engine, workers, out, timeout_s)
        rows = run.summary["rows_computed"]
        e2e.append(rows / run.seconds)
        engine_rates.append(run.summary.get("rows_per_second") or float("nan"))
    return e2e, engine_rates


def report(label: str, e2e: list[float], engine_rates: list[float],
           budget: float | None = None) -> None:
    median = statistics.median(e2e)
    ratio = f" = {median / budget:.1f} x the {budget:,.0f} rows/s budget" if budget else ""
    shown = ", ".join(f"{v:,.1f}" for v in e2e)
    print(f"  {label:<10} end to end median {median:9,.1f} rows/s{ratio}   ({shown}); "
          f"engine {statistics.median(engine_rates):9,.1f} rows/s")


def speed_up(medians: dict[int, tuple[float, float]]) -> None:
    (e2e1, eng1), (e2e2, eng2) = medians[1], medians[2]
    print(f"  2 workers over 1: end to end {e2e2 / e2e1:.2f} x, engine {eng2 / eng1:.2f} x")


def stacking(folder: Path, rows: int, repeats: int = 3) -> None:
    """LIME and SHAP over ``rows`` rows in this process, stacked and one row at a time."""
    from dataclasses import replace

    import keras
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from components.explain.batch import BatchSpec, explain_rows

    model = keras.saving.load_model(folder / "mlp.keras", compile=False, safe_mode=True)
    x = np.random.default_rng(1).standard_normal((rows, FEATURES), dtype=np.float32)
    print(f"stacked model calls, explain_rows on {rows:,} rows in one process "
          f"(median of {repeats}):", flush=True)
    for method in ("lime", "shap"):
        spec = BatchSpec(methods=(method,), target=None, seed=0, params={}, task="multiclass",
                         kind="tabular", background=x[:200])
        explain_rows(model, x[:8], np.arange(8), spec)  # warm: compiled paths, k-means
        rates = {}
        for label, one in (("stacked", spec), ("row by row", replace(spec, stacked=()))):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                explain_rows(model, x, np.arange(rows), one)
                times.append(time.perf_counter() - start)
            rates[label] = rows / statistics.median(times)
        print(f"  {method:<5} stacked {rates['stacked']:7,.1f} rows/s, row by row "
              f"{rates['row by row']:7,.1f} rows/s = {rates['stacked'] / rates['row by row']:.2f}"
              " x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each gradient job")
    parser.add_argument("--blackbox-repeats", type=int, default=1,
                        help="runs of each lime,shap job")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the gradient job")
    parser.add_argument("--blackbox-rows", type=int, default=2_000,
                        help="rows of the lime,shap job")
    parser.add_argument("--stacking-rows", type=int, default=256,
                        help="rows of the in-process stacked vs row-by-row comparison")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    args = parser.parse_args()
    engines = args.engines.split(",")
    if "ray" in engines and (note := ray_note()):
        print(f"Ray engine skipped: {note}")
        engines.remove("ray")
    with tempfile.TemporaryDirectory(prefix="glassbox-bench-batch-") as tmp:
        folder = Path(tmp)
        build_model(folder / "mlp.keras")
        big, small = folder / f"x{args.rows}.parquet", folder / f"x{args.blackbox_rows}.parquet"
        build_data(big, args.rows)
        build_data(small, args.blackbox_rows)
        stacking(folder, args.stacking_rows)
        jobs = ((GRADIENT, big, args.rows, args.repeats, BUDGET_ROWS_PER_S),
                (BLACKBOX, small, args.blackbox_rows, args.blackbox_repeats, None))
        for engine in engines:
            try:
                for methods, data, rows, repeats, budget in jobs:
                    print(f"{engine} engine, {methods} on {rows:,} rows "
                          f"({repeats} run(s) each):", flush=True)
                    medians = {}
                    for workers in WORKERS:
                        e2e, rates = measure(folder, data, methods, engine, workers, repeats,
                                             args.timeout)
                        report(f"{workers} worker{'s' if workers > 1 else ''}", e2e, rates,
                               budget)
                        medians[workers] = statistics.median(e2e), statistics.median(rates)
                    speed_up(medians)
            except RunFailed as err:
                if engine != "ray":
                    raise SystemExit(f"{engine} engine failed: {err}") from None
                print(f"  Ray engine failed, its remaining rows skipped: {err}")


if __name__ == "__main__":
    main()
