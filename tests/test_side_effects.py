"""Refusing hostile files has no side effects: no write outside the sandbox, no network, no
process, no code run.

One child interpreter (so the audit hook never leaks into pytest) opens every hostile model
through `components.model.bundle.open_model` (in-process, and with ``isolate=True`` as the app
opens uploads: a refusal must not start a worker process; it runs the static scan in the
bounded parser child, the one process allowed) and every hostile data file through
`components.data.read.read_data_bytes`, then loads a real sample model and checks every data
file against it, all under a `sys.addaudithook` hook that records, and blocks:

* writes (``open`` in a write/append/create mode, ``os.open`` with write flags, mkdir,
  rename, remove, chmod...) whose path is outside the sandbox directory. The sandbox is the
  child's working directory, ``TMPDIR`` (Python's and hence `model.load`'s temporary files),
  ``KERAS_HOME`` (Keras writes ``keras.json`` there on first import) and ``MPLCONFIGDIR``
  (matplotlib's font cache, warmed before the run as on a deployed host);
* network: ``socket.connect``/``getaddrinfo``/``gethostbyname``/``bind``/``sendto``,
  ``urllib.Request``;
* processes: ``subprocess.Popen``, ``os.system``, ``os.exec*``, ``os.posix_spawn``,
  ``os.spawn*``, ``os.fork``, ``pty.spawn``;
* unpickling a global (``pickle.find_class``).

A second child run, the control, attempts each kind of violation and must see all of them
reported (and blocked). Limits: the hook sees Python-level events only; a C library opening a
file itself (HDF5, TensorFlow) is not audited. Python's own bytecode cache is switched off in
the child (``PYTHONDONTWRITEBYTECODE``): writing ``__pycache__`` is the interpreter's doing.

Run as a script, this file is the child: ``python test_side_effects.py run|control MANIFEST``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

RESULT = "SIDE-EFFECTS-RESULT "
HARMLESS = ("/dev/null",)
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork", "os.forkpty", "pty.spawn", "os.startfile")
NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                  "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.bind",
                  "socket.sendto", "socket.sendmsg", "urllib.Request")
# event -> (position of a path it changes, position of the dir_fd that path is relative to)
PATH_EVENTS = {"os.mkdir": ((0, 2),), "os.rename": ((0, 2), (1, 3)), "os.remove": ((0, 1),),
               "os.rmdir": ((0, 1),), "os.symlink": ((1, 2),), "os.link": ((1, 3),),
               "os.truncate": ((0, None),), "os.chmod": ((0, 2),), "os.chown": ((0, 3),),
               "os.utime": ((0, 3),), "os.chflags": ((0, None),), "os.lchflags": ((0, None),),
               "shutil.rmtree": ((0, 1),), "shutil.copyfile": ((1, None),),
               "shutil.copytree": ((1, None),), "shutil.move": ((1, None),),
               "shutil.make_archive": ((0, None),), "shutil.unpack_archive": ((1, None),)}
# What libraries do on import whatever the input, allowed by exact arguments (and reported):
# h5py's h5t calls platform.uname(), whose processor field Python 3.11 reads by running
# `uname -p`; urllib3 (imported by TensorFlow's bundled tf.keras through `requests`) probes
# IPv6 support by binding a socket to ::1, port 0, which sends nothing.
# And Glassbox's own bounded parser (`components.model.bounded`): an isolated open scans the
# upload in that child process, by design; the same parsers run in-process, under this hook,
# on the same files in the in-process opens.
BOUNDED = [sys.executable, "-m", "components.model.bounded"]
ALLOWED = (("subprocess.Popen", lambda args: list(args[1]) == ["uname", "-p"]),
           ("subprocess.Popen", lambda args: list(args[1]) == BOUNDED),
           ("socket.bind", lambda args: tuple(args[1])[:2] in (("::1", 0), ("127.0.0.1", 0))))


# ---------------------------------------------------------------- the child


def install_hook(sandbox: str, violations: list[dict], inside: list[str],
                 allowed: list[str]) -> None:
    """Record (and block) every side effect outside ``sandbox``; list the writes inside it."""
    root = os.path.realpath(sandbox)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    busy = []  # re-entrancy guard: resolving a path must not audit itself

    def outside(event: str, path, dir_fd=None) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # an already open descriptor: its opening was audited
        base = os.getcwd()
        if isinstance(dir_fd, int) and dir_fd >= 0:  # not AT_FDCWD: e.g. shutil.rmtree
            base = os.readlink(f"/proc/self/fd/{dir_fd}")  # removes relative to a dir_fd
        full = os.path.realpath(os.path.join(base, os.fsdecode(path)))
        if full == root or full.startswith(root + os.sep):
            inside.append(f"{event} {full}")
            return None
        return None if full in HARMLESS else full

    def block(kind: str, event: str, detail) -> None:
        violations.append({"kind": kind, "event": event, "detail": repr(detail)[:300]})
        raise PermissionError(f"blocked by the side-effect test: {event}")

    def is_allowed(event: str, args: tuple) -> bool:
        if any(event == name and ok(args) for name, ok in ALLOWED):
            allowed.append(f"{event} {args[1]!r}")
            return True
        return False

    def hook(event: str, args: tuple) -> None:
        if busy:
            return
        busy.append(1)
        try:
            if event == "open":
                path, mode, flags = args
                writes = (set(mode) & set("wax+")) if isinstance(mode, str) else (
                    isinstance(flags, int) and flags & write_flags)
                if writes and (where := outside(event, path)):
                    block("write", event, (where, mode, flags))
            elif event in PATH_EVENTS:
                for at, fd_at in PATH_EVENTS[event]:
                    dir_fd = args[fd_at] if fd_at is not None and fd_at < len(args) else None
                    if at < len(args) and (where := outside(event, args[at], dir_fd)):
                        block("write", event, where)
            elif event.startswith(NETWORK_EVENTS) and not is_allowed(event, args):
                block("network", event, args[1:] if event.startswith("socket.") else args)
            elif event.startswith(PROCESS_EVENTS) and not is_allowed(event, args):
                block("process", event, args)
            elif event == "pickle.find_class":
                block("code", event, args)
        finally:
            busy.pop()

    sys.addaudithook(hook)


def child(mode: str, manifest_path: str) -> int:
    manifest = json.loads(Path(manifest_path).read_text())
    violations: list[dict] = []
    inside: list[str] = []
    allowed: list[str] = []
    install_hook(manifest["sandbox"], violations, inside, allowed)
    out: dict = {"verdicts": {}}
    if mode == "control":
        out["attempts"] = _attempt_violations(manifest["outside"])
    else:
        out["verdicts"] = _open_everything(manifest)
    out["violations"] = violations
    out["inside_writes"] = sorted(set(inside))
    out["allowed"] = sorted(set(allowed))
    print(RESULT + json.dumps(out))
    return 0


def _verdict(fn, *args) -> str:
    try:
        fn(*args)
    except Exception as err:  # the verdict is the exception's type, whatever it is
        return type(err).__name__
    return "ok"


def _open_everything(manifest: dict) -> dict[str, str]:
    from components.data.read import read_data_bytes
    from components.data.session import open_dataset
    from components.model.bundle import open_model

    verdicts = {}
    for case in manifest["models"]:
        data, filename = Path(case["path"]).read_bytes(), case["filename"]
        verdicts[f"model:{case['name']}"] = _verdict(open_model, data, filename)
        # as the app opens uploads: a refusal must come before any worker process starts
        verdicts[f"isolated:{case['name']}"] = _verdict(
            lambda d, f: open_model(d, f, isolate=True), data, filename)
    data_cases = [(c["name"], Path(c["path"]).read_bytes(), c["filename"])
                  for c in manifest["data"]]
    data_cases.append(("oversize", bytes(257 * 2**20), "big.csv"))
    for name, data, filename in data_cases:
        verdicts[f"data:{name}"] = _verdict(read_data_bytes, data, filename)
    # a real model: Keras and TensorFlow are imported under the hook, the upload is written
    # to a temporary file, and every data file is checked against the model
    good = manifest["good_model"]
    bundle = open_model(Path(good).read_bytes(), Path(good).name)
    verdicts["good_model"] = "ok"
    for name, data, filename in data_cases:
        verdicts[f"fit:{name}"] = _verdict(open_dataset, data, filename, bundle)
    return verdicts


def _attempt_violations(outside: str) -> dict[str, str]:
    """The control: each kind of side effect, attempted once; each must be reported."""
    import socket

    target = Path(outside)
    attempts = {
        "open_write": lambda: target.joinpath("written.txt").write_text("x"),
        "os_open_create": lambda: os.open(target / "created.txt", os.O_CREAT | os.O_WRONLY),
        "mkdir": lambda: os.mkdir(target / "made"),
        "getaddrinfo": lambda: socket.getaddrinfo("localhost", 9),
        "connect": lambda: socket.socket().connect(("127.0.0.1", 9)),  # no name lookup
        "subprocess": lambda: subprocess.run(["true"], check=False),
        "os_system": lambda: os.system("true"),
        "unpickle_global": lambda: __import__("pickle").loads(
            b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06getcwd\x93."),
    }
    return {name: _verdict(fn) for name, fn in attempts.items()}


# ---------------------------------------------------------------- the tests

if __name__ != "__main__":
    import pytest

    pytestmark = pytest.mark.slow  # a minute or more: see pyproject's markers

    ROOT = Path(__file__).resolve().parent.parent

    @pytest.fixture(scope="module")
    def setup(tmp_path_factory):
        """The manifest: hostile models and data files on disk, a sandbox, a canary."""
        import hostile
        from components.model.samples import get_sample

        tmp = tmp_path_factory.mktemp("side_effects")
        canary = tmp / "canary.txt"
        models = hostile.build_corpus(tmp_path_factory.mktemp("build"), canary)
        canary.unlink()
        wine = get_sample("wine_classifier")
        data = hostile.build_data_corpus(wine.data_path.read_bytes())
        manifest = {"models": [], "data": [], "good_model": str(wine.model_path)}
        for kind, corpus in (("models", models), ("data", data)):
            for name, (blob, filename) in corpus.items():
                path = tmp / "cases" / kind / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob)
                manifest[kind].append({"name": name, "path": str(path), "filename": filename})
        sandbox = tmp / "sandbox"
        for sub in ("tmp", "keras", "mpl"):
            (sandbox / sub).mkdir(parents=True)
        (tmp / "outside").mkdir()
        manifest |= {"sandbox": str(sandbox), "outside": str(tmp / "outside")}
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        # A deployed app has a warm matplotlib font cache; a cold one makes `import keras`
        # (keras.visualization imports pyplot) run `fc-list` and write the cache.
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True,
                       cwd=sandbox, env=child_env(sandbox), timeout=120)
        return tmp, canary, manifest

    def child_env(sandbox: Path) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(sandbox / "tmp"),
                "KERAS_HOME": str(sandbox / "keras"), "MPLCONFIGDIR": str(sandbox / "mpl"),
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT),
                "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run_child(tmp: Path, mode: str) -> dict:
        sandbox = tmp / "sandbox"
        proc = subprocess.run([sys.executable, __file__, mode, str(tmp / "manifest.json")],
                              cwd=sandbox, env=child_env(sandbox), capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        line = next(x for x in proc.stdout.splitlines() if x.startswith(RESULT))
        return json.loads(line.removeprefix(RESULT))

    @pytest.fixture(scope="module")
    def main_run(setup):
        tmp, _, _ = setup
        return run_child(tmp, "run")

    def test_no_side_effects_while_refusing_everything(setup, main_run):
        tmp, canary, manifest = setup
        assert main_run["violations"] == []
        assert not canary.exists()
        assert list((tmp / "outside").iterdir()) == []

    def test_every_hostile_file_was_tried_and_refused_by_name(setup, main_run):
        _, _, manifest = setup
        verdicts = main_run["verdicts"]
        models = {k: v for k, v in verdicts.items() if k.startswith("model:")}
        assert len(models) == len(manifest["models"]) >= 75
        assert set(models.values()) == {"UnsafeModelError", "BadModelFileError"}, models
        isolated = {k.replace("isolated:", "model:"): v for k, v in verdicts.items()
                    if k.startswith("isolated:")}
        assert isolated == models
        data = {k.removeprefix("data:"): v for k, v in verdicts.items() if k.startswith("data:")}
        assert data.pop("bom_semicolon") == "ok"  # a legitimate Excel export
        refused_on_read = {k for k, v in data.items() if v == "DataError"}
        read_then_checked = {k for k, v in data.items() if v == "ok"}
        assert read_then_checked == {"formula_cells", "nan_inf_strings", "missing_column",
                                     "markup_column"}, data
        assert refused_on_read | read_then_checked == set(data)
        # checked against the real model: named refusals or checks, never a crash
        fits = {k: v for k, v in verdicts.items() if k.startswith("fit:")}
        assert set(fits.values()) <= {"ok", "DataError"}, fits
        assert verdicts["good_model"] == "ok"

    def test_the_hook_saw_the_legitimate_writes(setup, main_run):
        """The good model's upload went to a temporary file under TMPDIR and was removed."""
        tmp, _, _ = setup
        temp = re.escape(str((tmp / "sandbox" / "tmp").resolve()))
        seen = "\n".join(main_run["inside_writes"])
        assert re.search(rf"^open {temp}/glassbox-\w+/upload\.keras$", seen, re.M), seen
        assert re.search(rf"^os\.remove {temp}/glassbox-\w+/upload\.keras$", seen, re.M), seen
        assert list((tmp / "sandbox" / "tmp").iterdir()) == []  # nothing left behind

    def test_only_the_known_import_time_events_were_allowed(main_run):
        assert set(main_run["allowed"]) <= {"subprocess.Popen ['uname', '-p']",
                                            f"subprocess.Popen {BOUNDED!r}",
                                            "socket.bind ('::1', 0)",
                                            "socket.bind ('127.0.0.1', 0)"}

    def test_the_control_reports_every_kind_of_violation(setup):
        tmp, _, _ = setup
        control = run_child(tmp, "control")
        assert set(control["attempts"].values()) == {"PermissionError"}, control["attempts"]
        kinds = {}
        for v in control["violations"]:
            kinds.setdefault(v["kind"], set()).add(v["event"])
        assert kinds["write"] >= {"open", "os.mkdir"}
        assert kinds["network"] >= {"socket.getaddrinfo", "socket.connect"}
        assert kinds["process"] >= {"subprocess.Popen", "os.system"}
        assert kinds["code"] == {"pickle.find_class"}
        assert list((tmp / "outside").iterdir()) == []  # blocked, not only reported

else:
    sys.exit(child(sys.argv[1], sys.argv[2]))
