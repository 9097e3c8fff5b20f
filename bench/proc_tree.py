"""Resident memory of a process tree, from /proc (Linux only): the server and its workers."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _status_field(pid: int, name: str) -> str | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except (OSError, ValueError):
        return None
    return None


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 if it is gone)."""
    value = _status_field(pid, "VmRSS")
    return int(value.split()[0]) if value else 0


def _parents() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            ppid = _status_field(int(entry.name), "PPid")
            if ppid is not None:
                out[int(entry.name)] = int(ppid)
    return out


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, their children, ...)."""
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


def tree_rss_kib(pid: int) -> tuple[int, dict[int, int]]:
    """(total KiB, {pid: KiB}) over ``pid`` and all its descendants."""
    sizes = {p: rss_kib(p) for p in [pid, *descendants(pid)]}
    return sum(sizes.values()), sizes


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def server_pid(port: int, parent: int | None = None) -> int:
    """The `streamlit run` child of ``parent`` (default: this process) serving ``port``."""
    parent = os.getpid() if parent is None else parent
    for pid in descendants(parent):
        line = cmdline(pid)
        if "streamlit" in line and f"--server.port {port}" in line:
            return pid
    raise LookupError(f"no streamlit process for port {port} under pid {parent}")
