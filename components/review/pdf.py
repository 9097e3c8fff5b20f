"""HTML to PDF through headless Chromium's print-to-PDF (Debian's ``chromium``, never a
downloaded browser).

The page is written to a private temporary folder and opened as a ``file://`` URL, so the
report's inline plotly.js draws every figure before Chromium prints; the report's own CSS
sets A4 and the page breaks. Chromium gets a throwaway profile and no network services.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from components.errors import GlassboxError, first_line

CHROMIUM_ENV = "GLASSBOX_CHROMIUM"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
MISSING = "PDF export needs Chromium: apt-get install chromium"
VIRTUAL_TIME_MS = 20_000  # JavaScript time Chromium grants the page before printing


def find_chromium() -> str:
    """The Chromium binary: $GLASSBOX_CHROMIUM, else /usr/bin/chromium, else the first of
    chromium, chromium-browser, google-chrome on PATH; `GlassboxError` if there is none."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise GlassboxError(f"{CHROMIUM_ENV} is {configured!r}, which is not an executable "
                            "file; " + MISSING)
    if DEFAULT_CHROMIUM.is_file() and os.access(DEFAULT_CHROMIUM, os.X_OK):
        return str(DEFAULT_CHROMIUM)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise GlassboxError(MISSING)


def html_to_pdf(html: str, out: Path, *, timeout_s: float = 60) -> None:
    """Print ``html`` (one self-contained page) to the PDF file ``out``, overwriting it.

    Raises `GlassboxError` in one line when Chromium is missing, fails, times out after
    ``timeout_s`` seconds or writes no PDF.
    """
    out = Path(out).resolve()
    if not out.parent.is_dir():
        raise GlassboxError(f"cannot write {out}: no such folder {out.parent}")
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="glassbox-pdf-") as tmp:  # mode 0700: private
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        printed = Path(tmp) / "report.pdf"  # moved into place only once it is complete
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                "--run-all-compositor-stages-before-draw",
                f"--virtual-time-budget={VIRTUAL_TIME_MS}", f"--user-data-dir={tmp}/profile",
                f"--print-to-pdf={printed}", page.as_uri()]
        try:
            proc = subprocess.run(args, timeout=timeout_s, capture_output=True,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise GlassboxError(f"Chromium took longer than {timeout_s:g} s to print the "
                                "PDF, so it was stopped") from None
        except OSError as err:
            raise GlassboxError(f"could not start Chromium ({first_line(err)})") from None
        if proc.returncode != 0 or not _is_pdf(printed):
            detail = _last_line(proc.stderr) or f"exit code {proc.returncode}"
            raise GlassboxError(f"Chromium could not print the PDF ({detail})")
        shutil.move(printed, out)


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError:
        return False


def _last_line(stderr: bytes) -> str:
    """Chromium's last stderr line, for the one-line error (it logs a lot before failing)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()
             if line.strip()]
    return lines[-1][:200] if lines else ""
