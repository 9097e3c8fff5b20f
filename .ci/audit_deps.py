"""Dependency audit: fail on an installed package with a known advisory.

    .venv/bin/python .ci/audit_deps.py

Two checks over the packages installed in this interpreter's environment:
1. `pip-audit` against PyPI's advisory data (the `vulnerabilities` of each release). It fails
   the run on any advisory it finds. Releases PyPI's JSON API does not describe (a private
   mirror, or releases newer than the advisory data) are reported as not audited.
2. A committed floor of known advisories (`FLOORS` below, with their IDs): every package
   named there must be at or above the first fixed version. This check never needs the
   network, so it holds even where (1) cannot reach advisory data.
Exit 1 on any finding, 0 otherwise.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

# package -> (first safe version, why). Raise a floor when an advisory lands; never lower it.
FLOORS: dict[str, tuple[str, str]] = {
    "keras": ("3.15.1", "safe_mode bypasses and file access on load: CVE-2025-1550, "
                        "CVE-2025-8747, CVE-2025-9905, CVE-2025-9906, CVE-2025-12058, "
                        "CVE-2025-12060; the project's floor is 3.15.1"),
    "streamlit": ("1.54.0", "CVE-2024-42474 (path traversal, fixed 1.37.0); project floor 1.54"),
    "pillow": ("12.3.0", "CVE-2023-50447, CVE-2024-28219, CVE-2025-48379; project floor 12.3"),
    "numpy": ("1.16.0", "CVE-2019-6446: np.load unpickled by default before 1.16"),
    "jinja2": ("3.1.6", "CVE-2024-56201, CVE-2024-56326, CVE-2025-27516 (sandbox escapes)"),
    "requests": ("2.32.4", "CVE-2024-35195, CVE-2024-47081 (credential leaks)"),
    "urllib3": ("2.5.0", "CVE-2025-50181, CVE-2025-50182 (redirect handling)"),
    "protobuf": ("5.29.5", "CVE-2025-4565 (recursion DoS in the pure-Python parser)"),
    "setuptools": ("78.1.1", "CVE-2024-6345, CVE-2025-47273 (code run / path traversal)"),
    "tornado": ("6.5.0", "CVE-2025-47287 (multipart DoS)"),
    "h5py": ("3.0.0", "project floor: HDF5 link and external-storage inspection APIs"),
    "pyarrow": ("14.0.1", "CVE-2023-47248 (deserialisation of untrusted IPC data)"),
    "authlib": ("1.6.5", "CVE-2024-37568 (JWS algorithm confusion), CVE-2025-59420 (critical "
                         "header bypass), CVE-2025-61920, CVE-2025-62706 (header and JWE "
                         "decompression DoS): the sign-in's token checks"),
}


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:4])


def floor_findings() -> list[str]:
    found = []
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name in FLOORS and version_tuple(dist.version) < version_tuple(FLOORS[name][0]):
            safe, why = FLOORS[name]
            found.append(f"{name} {dist.version} is below {safe}: {why}")
    return found


def pip_audit() -> tuple[int, str]:
    """(exit code, summary line) of pip-audit over this environment; 0 if it is missing."""
    tool = shutil.which("pip-audit", path=str(Path(sys.executable).parent))
    if tool is None:
        return 0, "pip-audit is not installed here: only the floors were checked"
    proc = subprocess.run([tool, "--local", "-s", "pypi", "--progress-spinner", "off"],
                          capture_output=True, text=True, timeout=600)
    skipped = sum("could not be audited" in line for line in proc.stdout.splitlines())
    verdict = next((line for line in proc.stdout.splitlines() + proc.stderr.splitlines()
                    if "vulnerabilit" in line.lower()), "no verdict")
    if proc.returncode:
        print(proc.stdout)
    return proc.returncode, f"pip-audit: {verdict.strip()} ({skipped} packages not audited)"


def main() -> int:
    code, summary = pip_audit()
    print(summary)
    findings = floor_findings()
    for line in findings:
        print(f"advisory: {line}")
    print(f"floors: {len(FLOORS)} packages checked, {len(findings)} below their safe version")
    return 1 if code or findings else 0


if __name__ == "__main__":
    sys.exit(main())
