"""Coverage-guided fuzzing (atheris / libFuzzer) of the parsers of untrusted upload bytes.

    .venv/bin/python bench/fuzz.py --make-corpus          # (re)write the seeds, once
    .venv/bin/python bench/fuzz.py --target all --seconds 60
    .venv/bin/python bench/fuzz.py --target csv --seconds 30 --corpus tests/fuzz_corpus

The contract of every target: any input either returns normally or raises `GlassboxError`
whose text is one line of at most 300 characters. Anything else is a finding:
- another exception: the child crashes; libFuzzer writes ``crash-<sha1>`` and the traceback
  is saved beside it as ``crash-<sha1>.txt``;
- one input taking over `SLOW_SECONDS` (``slow-<sha1>``; libFuzzer's own ``-timeout=5``
  kills the child on a hang and writes ``timeout-<sha1>``);
- RSS over ``-rss_limit_mb`` (``oom-<sha1>``); RSS growth is printed per target;
- a `GlassboxError` whose text has a newline or is over 300 characters (``msg-<sha1>``):
  reported, and fatal only with ``--strict-messages`` (or GLASSBOX_FUZZ_MESSAGES=strict).

Each target runs in its own child process (``atheris.Fuzz()`` never returns):
``fuzz.py --one TARGET <libFuzzer flags> WORK_CORPUS SEED_CORPUS``. New inputs go to the
work corpus (``--work``), never to the seeds; findings to ``--findings/<target>/``. After a
crash the child is restarted for the rest of its time, told to pass over the crashes it
already found (same exception type and raising line), so one bug does not hide the next.

Seeds: ``tests/fuzz_corpus/<target>/``, written by ``--make-corpus`` (tiny valid files plus
the cheap cases of tests/hostile.py, each under 50 KB); fixed findings are added there as
regression inputs, and tests/test_fuzz.py replays every file through its target.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

CORPUS = ROOT / "tests" / "fuzz_corpus"
SLOW_SECONDS = 2.0  # one input taking longer is a finding
MAX_MESSAGE = 300  # characters of str(GlassboxError)
MAX_SEED_BYTES = 50 * 1024
TIMEOUT_SECONDS = 5  # libFuzzer -timeout: a hang kills the child
RSS_LIMIT_MB = 4096
MAX_RESTARTS = 8  # per target, after crashes
KNOWN_ENV = "GLASSBOX_FUZZ_KNOWN"  # crash signatures a restarted child passes over
MESSAGES_ENV = "GLASSBOX_FUZZ_MESSAGES"  # "strict": a bad message is a crash; else reported
# Findings of one kind the harness saves per child run (the first of each raise site).
MAX_SAVED_PER_KIND = 20


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One parser: the public function, the upload names it is called with, and what else
    to instrument (pure-Python parts of the libraries it drives) or import up front."""

    module: str
    function: str
    filenames: tuple[str, ...]
    instrument: tuple[str, ...] = ()  # already-imported modules whose functions get coverage
    preload: tuple[str, ...] = ()  # imported before fuzzing: a lazy import is not a slow input

    def resolve(self) -> Callable:
        import importlib

        return getattr(importlib.import_module(self.module), self.function)

    def filename_for(self, data: bytes) -> str:
        """Alternate the upload names by input length (replay tries every name)."""
        return self.filenames[len(data) % len(self.filenames)]


# What gets coverage besides components/: the pure-Python parts of the parsers the targets
# drive ("module" for all its functions, "module:attr.path" for one function or method).
# Instrumenting costs ~10 ms a function at start-up, so big modules are named piecemeal.
_PANDAS_CSV = ("csv", "pandas.io.parsers.readers", "pandas.io.parsers.base_parser",
               "pandas.io.parsers.c_parser_wrapper")
_NPY = ("numpy.lib._format_impl", "numpy.lib._utils_impl", "ast:literal_eval")
_PIL = ("PIL.ImageFile", "PIL.PngImagePlugin", "PIL.JpegImagePlugin", "PIL.Image:open",
        "PIL.Image:Image.convert", "PIL.Image:Image.load", "PIL.Image:_decompression_bomb_check")

TARGETS: dict[str, Target] = {
    "scan": Target("components.model.scan", "scan_model_bytes", ("m.keras", "m.h5"),
                   ("zipfile", "json", "json.decoder", "h5py._hl.files", "h5py._hl.group",
                    "h5py._hl.dataset", "h5py._hl.base", "h5py._hl.attrs")),
    "csv": Target("components.data.read", "read_data_bytes", ("data.csv",), _PANDAS_CSV),
    "parquet": Target("components.data.read", "read_data_bytes", ("data.parquet",),
                      ("pandas.io.parquet", "pyarrow.parquet.core", "pyarrow.pandas_compat"),
                      ("pyarrow.parquet", "pandas.io.parquet")),
    "npz": Target("components.data.read", "read_data_bytes", ("data.npz",),
                  ("zipfile",) + _NPY),
    "npy": Target("components.data.read", "read_data_bytes", ("data.npy",), _NPY),
    "png": Target("components.data.read", "read_data_bytes", ("image.png",), _PIL,
                  ("PIL.Image", "PIL.PngImagePlugin")),
    "jpg": Target("components.data.read", "read_data_bytes", ("image.jpg",), _PIL,
                  ("PIL.Image", "PIL.JpegImagePlugin")),
    "history-json": Target("components.inspect.history", "read_history_bytes",
                           ("history.json",), ("json", "json.decoder")),
    "history-csv": Target("components.inspect.history", "read_history_bytes",
                          ("history.csv",), _PANDAS_CSV),
    "history-zip": Target("components.inspect.history", "read_history_bytes", ("logs.zip",),
                          ("zipfile",), ("tensorflow",)),
}


# ---------------------------------------------------------------- the contract


def message_problems(err: BaseException) -> list[str]:
    """What is wrong with a GlassboxError's text, as the UI and CLI would show it."""
    text = str(err)
    problems = []
    if "\n" in text or "\r" in text:
        problems.append("has a line break")
    if len(text) > MAX_MESSAGE:
        problems.append(f"is {len(text)} characters (limit {MAX_MESSAGE})")
    return problems


def call_target(name: str, data: bytes, filename: str | None = None) -> BaseException | None:
    """Call a target as an upload would: None if it returned, the GlassboxError if it refused.

    Any other exception propagates: that is the finding.
    """
    from components.errors import GlassboxError

    target = TARGETS[name]
    try:
        target.resolve()(data, filename or target.filename_for(data))
    except GlassboxError as err:
        return err
    return None


class MessageFinding(AssertionError):
    """A GlassboxError whose text breaks the one-line contract (with --strict-messages)."""

    def __init__(self, detail: str, site: str):
        super().__init__(f"GlassboxError message {detail}")
        self.site = site


def signature(err: BaseException) -> str:
    """Exception type and the project line it came through: one bug (one missing ``except``)
    has one, wherever inside the library it was raised."""
    if isinstance(err, MessageFinding):
        return f"message@{err.site}"
    return f"{type(err).__name__}@{raise_site(err)}"


def raise_site(err: BaseException) -> str:
    """The innermost line of project code in the traceback (else the innermost line)."""
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if f.filename.startswith(str(ROOT / "components"))]
    frame = (ours or frames or [None])[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"


# ---------------------------------------------------------------- the child (one target)


def _instrument_loaded(atheris, names: tuple[str, ...]) -> int:
    """Instrument the functions named: every one of a module ("zipfile"), or one function or
    method ("PIL.Image:Image.convert"). They are imported already, so `instrument_imports`
    would miss them; `instrument_all` would take minutes on pandas."""
    import gc
    import importlib
    import types

    whole, funcs = set(), []
    for name in names:
        module, _, attr = name.partition(":")
        try:
            obj = importlib.import_module(module)
            for part in filter(None, attr.split(".")):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            print(f"FUZZ-NOTE: cannot instrument {name}: not found", file=sys.stderr)
            continue
        if attr:
            funcs.append(obj)
        else:
            whole.add(module)
    funcs += [o for o in gc.get_objects()
              if isinstance(o, types.FunctionType) and o.__module__ in whole]
    for func in funcs:
        try:
            atheris.instrument_func(func)
        except Exception as err:  # a function atheris cannot patch just stays uncovered
            print(f"FUZZ-NOTE: cannot instrument {func.__qualname__}: {err}", file=sys.stderr)
    return len(funcs)


def _flag(argv: list[str], name: str) -> str | None:
    prefix = f"-{name}="
    return next((a[len(prefix):] for a in argv if a.startswith(prefix)), None)


def run_child(name: str, argv: list[str]) -> None:
    """Fuzz one target until libFuzzer stops (time, crash, timeout, OOM). Never returns."""
    import importlib
    import warnings

    import atheris

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.simplefilter("ignore")  # pandas/PIL warn per input; millions of lines otherwise
    target = TARGETS[name]
    for module in target.preload:
        importlib.import_module(module)
    with atheris.instrument_imports(include=["components"]):
        func = target.resolve()
        from components.errors import GlassboxError
    count = _instrument_loaded(atheris, target.instrument)
    print(f"FUZZ-NOTE: {name}: instrumented components + {count} library functions",
          file=sys.stderr)

    findings = _flag(argv, "artifact_prefix") or "./"  # a prefix: "dir/" or "dir/name-"
    strict = os.environ.get(MESSAGES_ENV) == "strict"
    known = set(filter(None, os.environ.get(KNOWN_ENV, "").split("|")))
    saved: dict[str, set[str]] = {"slow": set(), "msg": set()}

    def save(kind: str, key: str, data: bytes, detail: str) -> None:
        if key in saved[kind] or len(saved[kind]) >= MAX_SAVED_PER_KIND:
            return
        saved[kind].add(key)
        path = Path(f"{findings}{kind}-{hashlib.sha1(data).hexdigest()}")
        path.write_bytes(data)
        Path(f"{path}.txt").write_text(detail + "\n")
        print(f"FUZZ-FINDING: {kind} {path} {detail}", file=sys.stderr, flush=True)

    def test_one_input(data: bytes) -> None:
        start = time.perf_counter()
        try:
            try:
                func(data, target.filename_for(data))
            except GlassboxError as err:
                problems = message_problems(err)
                if problems:
                    detail = (f"{type(err).__name__} at {raise_site(err)} "
                              f"{'; '.join(problems)}: {str(err)[:400]!r}")
                    if strict:
                        raise MessageFinding(detail, raise_site(err)) from err
                    save("msg", raise_site(err), data, detail)
        except BaseException as err:
            sig = signature(err)
            if sig in known:
                return  # found before this restart; let the fuzzer look for the next bug
            # Saved here too: a child that hangs on its way out (TensorFlow's or Arrow's
            # threads) never reaches libFuzzer's own crash writer.
            path = Path(f"{findings}crash-{hashlib.sha1(data).hexdigest()}")
            path.write_bytes(data)
            Path(f"{path}.txt").write_text(traceback.format_exc())
            print(f"FUZZ-SIGNATURE: {sig} {path}", file=sys.stderr, flush=True)
            raise
        finally:
            elapsed = time.perf_counter() - start
            if elapsed > SLOW_SECONDS:
                save("slow", hashlib.sha1(data).hexdigest(), data,
                     f"{elapsed:.2f} s for {len(data)} bytes ({target.filename_for(data)})")

    atheris.Setup([sys.argv[0], *argv], test_one_input)
    atheris.Fuzz()


# ---------------------------------------------------------------- the parent


@dataclass
class Result:
    target: str
    seconds: float = 0.0  # wall time of the children, start-up included
    fuzz_seconds: float = 0.0  # libFuzzer's units / exec-per-second, summed over runs
    execs: int = 0
    exec_per_sec: float = 0.0
    cov: int = 0
    features: int = 0
    corpus: int = 0
    rss_start_mb: int = 0
    rss_peak_mb: int = 0
    slowest_s: int = 0
    runs: int = 0
    exit_codes: list[int] = field(default_factory=list)
    crashes: list[tuple[str, str]] = field(default_factory=list)  # (artifact, traceback)
    reports: list[str] = field(default_factory=list)  # slow / msg lines
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.crashes and all(code == 0 for code in self.exit_codes)


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/.*?"
                     r"exec/s: (\d+) rss: (\d+)Mb", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_PY_STACK = re.compile(r"^ === (?:Timeout|Uncaught).*?(?=^==\d+==|\Z)", re.S | re.M)
_ERROR = re.compile(r"==\d+== ERROR: libFuzzer: (.*)")
_SIG = re.compile(r"^FUZZ-SIGNATURE: (\S+) (\S+)", re.M)
STARTUP_GRACE = 180  # seconds a child may take to import and instrument before fuzzing
EXIT_GRACE = 5  # seconds a child may take to exit once libFuzzer is done or has crashed


def _child_command(name: str, seconds: int, work: Path, seeds: Path, findings: Path,
                   seed: int | None) -> list[str]:
    flags = [f"-max_total_time={seconds}", f"-timeout={TIMEOUT_SECONDS}",
             f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={findings}/",
             "-print_final_stats=1"]
    if seed is not None:
        flags.append(f"-seed={seed}")
    dirs = [str(work)] + ([str(seeds)] if seeds.is_dir() else [])
    return [sys.executable, str(Path(__file__).resolve()), "--one", name, *flags, *dirs]


def _tail(path: Path, size: int = 32768) -> str:
    with open(path, "rb") as fh:
        fh.seek(max(fh.seek(0, os.SEEK_END) - size, 0))
        return fh.read().decode(errors="replace")


def _run_child(cmd: list[str], env: dict, log_path: Path, seconds: int) -> tuple[int, str]:
    """Run one child to its end; (exit code, how it ended).

    A child whose libFuzzer is done (final stats printed) or whose target raised, but which
    does not exit (TensorFlow's and Arrow's threads can deadlock C exit()), is killed after
    `EXIT_GRACE` s; so is one still running long past its time.
    """
    deadline = time.monotonic() + seconds + STARTUP_GRACE + 2 * TIMEOUT_SECONDS
    done_at = None
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
        while proc.poll() is None:
            time.sleep(0.25)
            now = time.monotonic()
            if done_at is None:
                tail = _tail(log_path)
                if "stat::peak_rss_mb" in tail or "=== Uncaught Python exception" in tail:
                    done_at = now
            if (done_at is not None and now - done_at > EXIT_GRACE) or now > deadline:
                os.killpg(proc.pid, 9)  # its own session: only this child and its threads
                proc.wait()
                return proc.returncode, ("hung on exit; killed" if done_at is not None
                                         else "still running past its time; killed")
    return proc.returncode, "exited"


def fuzz_target(name: str, seconds: int, *, corpus: Path = CORPUS, work: Path,
                findings: Path, seed: int | None = None, restarts: int = MAX_RESTARTS,
                strict_messages: bool = False, log=None) -> Result:
    """Fuzz ``name`` for ``seconds`` in child processes; parse their output into a Result."""
    result = Result(name)
    work, findings = work / name, findings / name
    shutil.rmtree(findings, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    findings.mkdir(parents=True, exist_ok=True)
    seeds = corpus / name
    if not seeds.is_dir() or not any(seeds.iterdir()):
        result.notes.append(f"no seeds in {seeds}: run --make-corpus")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]).rstrip(os.pathsep), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env[MESSAGES_ENV] = "strict" if strict_messages else env.get(MESSAGES_ENV, "report")
    known: list[str] = []
    started = time.monotonic()
    while True:
        left = seconds - int(time.monotonic() - started)
        if result.runs and (left < 2 or result.runs > restarts):
            break
        env[KNOWN_ENV] = "|".join(known)
        cmd = _child_command(name, max(left, 1), work, seeds, findings, seed)
        log_path = findings / f"run{result.runs}.log"
        code, ended = _run_child(cmd, env, log_path, max(left, 1))
        result.runs += 1
        text = log_path.read_text(errors="replace")
        new_sig = _parse_run(text, result, ended)
        if ended == "hung on exit; killed" and new_sig is None and _ERROR.search(text) is None:
            code = 0  # it had finished its time cleanly: the hang is the library's, at exit
        result.exit_codes.append(code)
        if log:
            log(f"  {name}: run {result.runs} {ended} (code {code}), "
                f"{result.execs} execs so far")
        if code == 0 or new_sig is None or new_sig in known:
            break  # finished its time, or died in a way a restart would only repeat
        known.append(new_sig)
    result.seconds = time.monotonic() - started
    result.exec_per_sec = result.execs / (result.fuzz_seconds or result.seconds or 1)
    return result


def _parse_run(text: str, result: Result, ended: str) -> str | None:
    """Add one child run's numbers and findings to ``result``; the new crash's signature."""
    stats = {k: int(v) for k, v in _STAT.findall(text)}
    status = _STATUS.findall(text)
    units = stats.get("number_of_executed_units") or (int(status[-1][0]) if status else 0)
    result.execs += units
    # libFuzzer's own clock (fuzzing, not start-up); a killed child's last status line
    rate = stats.get("average_exec_per_sec") or (int(status[-1][5]) if status else 0)
    if rate:
        result.fuzz_seconds += units / rate
    result.rss_peak_mb = max(result.rss_peak_mb, stats.get("peak_rss_mb", 0),
                             *(int(s[6]) for s in status))
    result.slowest_s = max(result.slowest_s, stats.get("slowest_unit_time_sec", 0))
    if status:
        result.cov = max(result.cov, int(status[-1][2]))
        result.features = max(result.features, int(status[-1][3]))
        result.corpus = max(result.corpus, int(status[-1][4]))
        inited = [s for s in status if s[1] == "INITED"]
        if inited and not result.rss_start_mb:
            result.rss_start_mb = int(inited[0][6])
    for line in text.splitlines():
        if line.startswith("FUZZ-FINDING: "):
            result.reports.append(line.removeprefix("FUZZ-FINDING: "))
        elif line.startswith("FUZZ-NOTE: cannot"):
            result.notes.append(line)
    if ended != "exited":
        result.notes.append(f"run {result.runs}: {ended}")
    sigs = _SIG.findall(text)
    error = _ERROR.search(text)
    if sigs:  # the target raised: the harness saved the input and its traceback
        sig, artifact = sigs[-1]
        detail = Path(f"{artifact}.txt").read_text() if Path(f"{artifact}.txt").exists() \
            else sig
        result.crashes.append((artifact, detail.strip()))
        return sig
    if error:  # a timeout, out-of-memory, or anything else libFuzzer caught
        artifacts = _ARTIFACT.findall(text)
        artifact = artifacts[-1] if artifacts else "(no artifact)"
        stack = _PY_STACK.search(text)
        detail = error.group(1) + ("\n" + stack.group(0).strip() if stack else "")
        if artifacts:
            Path(f"{artifact}.txt").write_text(detail + "\n")
        result.crashes.append((artifact, detail))
        # Restart once after a hang or OOM (a mutation may find it again: then stop).
        return error.group(1).split()[0]
    if "stat::peak_rss_mb" not in text:
        tail = "\n".join(text.splitlines()[-20:])
        result.crashes.append(("(no artifact)", f"child {ended} without finishing:\n{tail}"))
    return None


def report(results: list[Result]) -> str:
    lines = [f"{'target':<13} {'time':>6} {'execs':>9} {'exec/s':>8} {'cov':>6} {'ft':>7} "
             f"{'corpus':>6} {'rss MB':>11} {'slowest':>7} findings"]
    for r in results:
        found = len(r.crashes) + len(r.reports)
        lines.append(f"{r.target:<13} {r.seconds:>5.0f}s {r.execs:>9} {r.exec_per_sec:>8.0f} "
                     f"{r.cov:>6} {r.features:>7} {r.corpus:>6} "
                     f"{f'{r.rss_start_mb}->{r.rss_peak_mb}':>11} {r.slowest_s:>6}s "
                     f"{found} ({len(r.crashes)} crash, {len(r.reports)} report)")
    for r in results:
        for artifact, detail in r.crashes:
            lines += ["", f"== {r.target}: crash {artifact}", detail]
        for line in r.reports:
            lines += [f"== {r.target}: {line}"]
        for note in dict.fromkeys(r.notes):
            lines += [f"-- {r.target}: {note}"]
    return "\n".join(lines)


def fuzz_all(names: list[str], seconds: int, *, jobs: int = 1, **kwargs) -> list[Result]:
    """Fuzz each target, ``jobs`` at once; results in the order of ``names``."""
    # The child that imports TensorFlow (~10 s) starts first, so the others overlap it.
    order = sorted(names, key=lambda n: "tensorflow" not in TARGETS[n].preload)
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        done = dict(zip(order, pool.map(lambda n: fuzz_target(n, seconds, **kwargs), order),
                        strict=True))
    return [done[n] for n in names]


# ---------------------------------------------------------------- seeds


def replay_names(name: str) -> tuple[str, ...]:
    """The upload names a regression input is replayed under: every one of its target's."""
    return TARGETS[name].filenames


def corpus_files(corpus: Path = CORPUS) -> list[tuple[str, Path]]:
    """(target, file) for every input under ``corpus/<target>/``."""
    return [(d.name, f) for d in sorted(corpus.iterdir()) if d.is_dir()
            for f in sorted(d.iterdir()) if f.is_file()]


def make_corpus(corpus: Path = CORPUS) -> dict[str, int]:
    """Write the seeds: tiny valid files per target plus the cheap hostile cases, < 50 KB."""
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    written: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="glassbox-seeds-") as tmp:
        seeds = {**_model_seeds(Path(tmp)), **_data_seeds(), **_history_seeds(Path(tmp))}
    for (target, name), blob in sorted(seeds.items()):
        if len(blob) > MAX_SEED_BYTES:
            continue
        folder = corpus / target
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(blob)
        written[target] = written.get(target, 0) + 1
    return written


def _model_seeds(tmp: Path) -> dict[tuple[str, str], bytes]:
    import warnings

    import hostile

    seeds = {}
    canary = tmp / "canary"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = {**hostile.build_accepted(tmp), **hostile.build_corpus(tmp, canary)}
    canary.unlink(missing_ok=True)
    for case, (blob, filename) in cases.items():
        if filename.endswith((".keras", ".h5")) and blob:
            seeds[("scan", f"{case}{Path(filename).suffix}")] = blob
    # Small versions of the big hostile archives (the full ones are MBs).
    seeds[("scan", "zip_bomb_small.keras")] = hostile.zip_bomb("config.json", 2)
    seeds[("scan", "many_members.keras")] = hostile.zip_of_many(70)
    return seeds


def _data_seeds() -> dict[tuple[str, str], bytes]:
    import io
    import warnings

    import numpy as np
    import pandas as pd
    from PIL import Image

    import hostile
    from components.model.samples import get_sample

    seeds: dict[tuple[str, str], bytes] = {}
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, -1.0, 2.25], "label": [0, 1, 0]})
    seeds["csv", "tiny.csv"] = frame.to_csv(index=False).encode()
    seeds["csv", "semicolon_bom.csv"] = b"\xef\xbb\xbf" + frame.to_csv(index=False,
                                                                       sep=";").encode()
    seeds["csv", "tabs_quotes.csv"] = b'x\t"y, z"\n1\t"2"\n3\t\n'
    wine = get_sample("wine_classifier").data_path.read_bytes()
    seeds["csv", "wine_head.csv"] = b"\n".join(wine.split(b"\n")[:6]) + b"\n"

    mixed = pd.DataFrame({"i": np.arange(3, dtype="int64"), "f": [0.1, np.nan, 3.0],
                          "s": ["x", "y", None], "b": [True, False, True],
                          "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                          "c": pd.Categorical(["a", "b", "a"])})
    for key, table, kwargs in (("tiny", frame, {}), ("mixed", mixed, {}),
                               ("index", frame.set_index("a"), {"index": True}),
                               ("gzip", frame, {"compression": "gzip"})):
        buf = io.BytesIO()
        table.to_parquet(buf, **kwargs)
        seeds["parquet", f"{key}.parquet"] = buf.getvalue()

    x = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)
    y = np.array([0, 1], dtype="int64")
    for key, save, arrays in (("x_y", np.savez, {"x": x, "y": y}),
                              ("compressed", np.savez_compressed, {"images": x, "labels": y}),
                              ("arr0", np.savez, {"arr_0": x[:, :, :, 0]})):
        buf = io.BytesIO()
        save(buf, **arrays)
        seeds["npz", f"{key}.npz"] = buf.getvalue()
    for key, array, version in (("f4", np.ones((2, 4), "<f4"), None),
                                ("u1_image", np.zeros((1, 4, 4, 1), "u1"), None),
                                ("fortran_be", np.asfortranarray(np.ones((3, 2), ">f8")), None),
                                ("v2", np.arange(6, dtype="<i4"), (2, 0)),
                                ("scalar", np.array(3.5), None)):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, array, version=version)
        seeds["npy", f"{key}.npy"] = buf.getvalue()

    for fmt, target, modes in (("PNG", "png", ("L", "RGB", "RGBA", "P", "1", "I;16", "LA")),
                               ("JPEG", "jpg", ("L", "RGB", "CMYK"))):
        for mode in modes:
            img = Image.new(mode, (4, 4))
            img.putpixel((1, 2), 200 if mode in ("L", "P", "1", "I;16") else (200,) *
                         len(mode.replace(";16", "")))
            buf = io.BytesIO()
            img.save(buf, format=fmt)
            seeds[target, f"{mode.replace(';', '_')}.{target}"] = buf.getvalue()
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(buf, format="JPEG", progressive=True)
    seeds["jpg", "progressive.jpg"] = buf.getvalue()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hostile_data = hostile.build_data_corpus(wine)
    suffixes = {".csv": "csv", ".parquet": "parquet", ".npz": "npz", ".npy": "npy",
                ".png": "png", ".jpg": "jpg"}
    for case, (blob, filename) in hostile_data.items():
        target = suffixes.get(Path(filename.replace("\x00", "")).suffix.lower())
        if target == "csv" and case != "utf16":  # the first rows carry the trick; not 178
            blob = b"\n".join(blob.split(b"\n")[:12]) + b"\n"
        if target:
            seeds[target, f"hostile_{case}{Path(filename).suffix}"] = blob
    return seeds


def _history_seeds(tmp: Path) -> dict[tuple[str, str], bytes]:
    import io
    import json
    import zipfile

    import tensorflow as tf

    from components.model.samples import get_sample

    seeds = {
        ("history-json", "tiny.json"): json.dumps({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7],
                                                   "accuracy": [0.4, 0.8]}).encode(),
        ("history-json", "wine.json"): get_sample("wine_classifier").history_path.read_bytes(),
        ("history-csv", "tiny.csv"): b"epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,0.6\n",
        ("history-csv", "appended.csv"): b"epoch,accuracy,loss\n0,0.5,1.0\n1,0.6,0.8\n"
                                         b"epoch,accuracy,loss\n1,0.7,0.7\n",
    }
    def write_events(path: Path, events: list) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tf.io.TFRecordWriter(str(path)) as writer:
            for event in events:
                writer.write(event.SerializeToString())

    def event(step: int, **values) -> object:
        """One Event: a float is written as TF2 writes scalars (a tensor), an int as an old
        writer's ``simple_value``."""
        summary = [tf.compat.v1.Summary.Value(tag=tag, tensor=tf.make_tensor_proto(v))
                   if isinstance(v, float) else
                   tf.compat.v1.Summary.Value(tag=tag, simple_value=v)
                   for tag, v in values.items()]
        return tf.compat.v1.Event(step=step, summary=tf.compat.v1.Summary(value=summary))

    logs, legacy_dir = tmp / "logs", tmp / "legacy"
    for split, shift in (("train", 0.0), ("validation", 0.25)):
        write_events(logs / "run" / split / "events.out.tfevents.1.host.v2",
                     [tf.compat.v1.Event(step=0, file_version="brain.Event:2")]
                     + [event(step, epoch_loss=1.0 / (step + 1) + shift, batch_loss=2.0)
                        for step in range(2)])
    write_events(legacy_dir / "events.out.tfevents.1.legacy",
                 [event(0, epoch_accuracy=1), event(1, epoch_accuracy=0)])
    for key, root in (("run", logs), ("legacy", legacy_dir)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(root).as_posix())
        seeds["history-zip", f"{key}.zip"] = buf.getvalue()
    return seeds


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        run_child(argv[1], argv[2:])
        return 0  # not reached: libFuzzer exits
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="all", choices=[*TARGETS, "all"])
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="seed root: <DIR>/<target>/")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fuzz_work"),
                        help="where libFuzzer keeps the inputs it finds (kept across runs)")
    parser.add_argument("--findings", type=Path, default=Path("/tmp/fuzz_findings"))
    parser.add_argument("--jobs", type=int, default=1, help="targets fuzzed at once")
    parser.add_argument("--seed", type=int, default=None, help="libFuzzer -seed")
    parser.add_argument("--restarts", type=int, default=MAX_RESTARTS,
                        help="per target: restarts after crashes, passing over those found")
    parser.add_argument("--strict-messages", action="store_true",
                        help="a GlassboxError over 300 characters or with a newline crashes")
    parser.add_argument("--make-corpus", action="store_true",
                        help="write the seeds into --corpus and exit")
    args = parser.parse_args(argv)
    if args.make_corpus:
        for target, count in make_corpus(args.corpus).items():
            print(f"{target}: {count} seeds")
        return 0
    names = list(TARGETS) if args.target == "all" else [args.target]
    results = fuzz_all(names, args.seconds, jobs=args.jobs, corpus=args.corpus,
                       work=args.work, findings=args.findings, seed=args.seed,
                       restarts=args.restarts,
                       strict_messages=args.strict_messages,
                       log=lambda line: print(line, flush=True))
    print(report(results))
    return 0 if all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
