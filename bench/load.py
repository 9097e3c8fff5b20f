"""Load: N browser-less sessions rerun the explain page against one server; latency and errors.

    .venv/bin/python bench/load.py                      # starts its own server
    .venv/bin/python bench/load.py --url http://127.0.0.1:8501 --sessions 10 \\
        --requests-per-session 10

Each session is one websocket (`bench/streamlit_client.py`), as one browser tab, and keeps
one sample (session k opens the k-th of the four samples, round-robin): in the app, the
sidebar's selectbox holds the sample for the session, and changing it is a widget
interaction, not a URL. Each request is a rerun of the explain page with
``?sample=<key>&row=<n>``, a different row each time (so most are computed, not cached).
All sessions run at once; each waits for its previous request. A request counts as an error
when the run does not finish successfully, raises (an exception delta), shows an error
alert, or shows another row or sample than it asked for.

Bounded: at most --max-sessions sessions (itself at most 50) and 200 requests per session;
the server must be on a loopback address. Prints p50/p90/p99/max latency, throughput and
the errors; with --json, one JSON object too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
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
from streamlit_client import RunResult, StreamlitSession, require_loopback  # noqa: E402

HARD_MAX_SESSIONS = 50
HARD_MAX_REQUESTS = 200
SAMPLES = ("wine_classifier", "digits_cnn", "sentiment_text", "diabetes_regression")
MIN_ROWS = 178  # the smallest sample dataset (wine)
STATUS = re.compile(r"^Row (\d+): (\d+) of (\d+) methods")


def plan(sessions: int, requests: int) -> list[list[tuple[str, int]]]:
    """Per session, its (sample, row) requests: one sample, distinct rows."""
    out = []
    for s in range(sessions):
        sample = SAMPLES[s % len(SAMPLES)]
        out.append([(sample, (13 * s + 7 * i + 1) % MIN_ROWS) for i in range(requests)])
    return out


def problems(result: RunResult, sample: str, row: int, description: str) -> list[str]:
    """Why this response is wrong, if it is."""
    found = []
    if result.status != "ok":
        found.append(f"run {result.status}")
    found += [f"exception {e[:120]}" for e in result.exceptions]
    found += [f"error alert {e[:120]}" for e in result.errors]
    if result.status == "ok" and not result.exceptions:
        rows = [int(m.group(1)) for label in result.labels if (m := STATUS.match(label))]
        if rows != [row]:
            found.append(f"asked for row {row}, the page explained {rows or 'nothing'}")
        if not any(description in md for md in result.markdown):
            found.append(f"the page does not show {sample}")
    return found


async def one_session(url: str, index: int, requests: list[tuple[str, int]],
                      descriptions: dict[str, str], timeout: float, page: str,
                      records: list[dict]) -> None:
    async with StreamlitSession(url) as session:
        for i, (sample, row) in enumerate(requests):
            result = await session.rerun(f"sample={sample}&row={row}", page=page,
                                         timeout=timeout)
            records.append({"session": index, "request": i, "sample": sample, "row": row,
                            "seconds": result.seconds, "bytes": result.bytes,
                            "problems": problems(result, sample, row, descriptions[sample])})


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summary(records: list[dict], wall: float) -> dict:
    times = [r["seconds"] for r in records]
    first = [r["seconds"] for r in records if r["request"] == 0]
    later = [r["seconds"] for r in records if r["request"] > 0]
    bad = [r for r in records if r["problems"]]
    per_sample = {s: statistics.median([r["seconds"] for r in records if r["sample"] == s])
                  for s in SAMPLES if any(r["sample"] == s for r in records)}
    return {
        "requests": len(records), "sessions": len({r["session"] for r in records}),
        "wall_s": wall, "throughput_rps": len(records) / wall if wall else 0.0,
        "p50_s": percentile(times, 50), "p90_s": percentile(times, 90),
        "p99_s": percentile(times, 99), "max_s": max(times), "mean_s": statistics.mean(times),
        "first_request_p50_s": statistics.median(first) if first else None,
        "later_requests_p50_s": statistics.median(later) if later else None,
        "median_by_sample_s": per_sample,
        "errors": len(bad),
        "error_examples": [f"session {r['session']} request {r['request']} "
                           f"({r['sample']} row {r['row']}): {'; '.join(r['problems'])}"
                           for r in bad[:10]],
    }


async def drive(url: str, args: argparse.Namespace) -> tuple[list[dict], float]:
    from components.model.samples import get_sample

    descriptions = {key: get_sample(key).description for key in SAMPLES}
    records: list[dict] = []
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(
        one_session(url, s, requests, descriptions, args.timeout, args.page, records)
        for s, requests in enumerate(plan(args.sessions, args.requests_per_session))),
        return_exceptions=True)
    for s, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):  # the session could not even connect
            records.append({"session": s, "request": -1, "sample": "-", "row": -1,
                            "seconds": 0.0, "bytes": 0,
                            "problems": [f"session failed: {type(outcome).__name__}: "
                                         f"{outcome}"]})
    return records, time.perf_counter() - started


def report(stats: dict, rss: str | None) -> None:
    print(f"{stats['sessions']} sessions, {stats['requests']} requests in "
          f"{stats['wall_s']:.1f} s: {stats['throughput_rps']:.2f} requests/s")
    print(f"latency p50 {stats['p50_s']:.2f} s, p90 {stats['p90_s']:.2f} s, "
          f"p99 {stats['p99_s']:.2f} s, max {stats['max_s']:.2f} s "
          f"(mean {stats['mean_s']:.2f} s)")
    if stats["first_request_p50_s"] is not None:
        later = stats["later_requests_p50_s"]
        print(f"median of each session's first request {stats['first_request_p50_s']:.2f} s"
              + (f", of the later ones {later:.2f} s" if later is not None else ""))
    print("median by sample: " + ", ".join(f"{k} {v:.2f} s"
                                            for k, v in stats["median_by_sample_s"].items()))
    if rss:
        print(rss)
    print(f"errors: {stats['errors']}")
    for line in stats["error_examples"]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (loopback only); default: start one")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--requests-per-session", type=int, default=10)
    parser.add_argument("--max-sessions", type=int, default=HARD_MAX_SESSIONS,
                        help=f"refuse more sessions than this (at most {HARD_MAX_SESSIONS})")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--page", default="explain", help="the page's URL path")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    cap = min(args.max_sessions, HARD_MAX_SESSIONS)
    if not 1 <= args.sessions <= cap:
        parser.error(f"--sessions must be 1..{cap}")
    if not 1 <= args.requests_per_session <= HARD_MAX_REQUESTS:
        parser.error(f"--requests-per-session must be 1..{HARD_MAX_REQUESTS}")
    if args.url:
        try:
            require_loopback(args.url)
        except ValueError as err:
            parser.error(str(err))
        records, wall = asyncio.run(drive(args.url, args))
        rss = None
    else:
        from browser_support import running_app

        with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "log") as url:
            print(f"server {url}")
            records, wall = asyncio.run(drive(url, args))
            total, sizes = tree_rss_kib(server_pid(require_loopback(url)[1]))
            rss = (f"server resident memory after the run: {total / 1024:,.0f} MiB in "
                   f"{len(sizes)} process(es)")
    stats = summary(records, wall)
    report(stats, rss)
    if args.json:
        print(json.dumps(stats))
    return 1 if stats["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
