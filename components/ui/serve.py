"""Serve the app: ``python -m components.ui.serve [streamlit options]``.

`streamlit run app.py` with the same options, plus one check before the server starts: bound
to an address other machines can reach (``--server.address 0.0.0.0``, or no address at all)
with no sign-in configured, it prints a warning on the console (`access.exposure_warning`).
The check reads the address and the secrets as Streamlit resolves them (flags, environment,
config.toml) at the moment Streamlit checks its own credentials, just before it binds. The
app also prints the warning on its first run, for a server started with plain
``streamlit run``.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def main(argv: list[str]) -> int:
    from streamlit.web import cli

    from components.ui.identity import warn_if_exposed

    check_credentials = cli.check_credentials

    def check_then_warn() -> None:  # runs once the config options are loaded
        check_credentials()
        warn_if_exposed()  # once per process: the app's first run will not repeat it

    cli.check_credentials = check_then_warn
    sys.argv = ["streamlit", "run", str(APP), *argv]
    try:
        cli.main(prog_name="streamlit")
    except SystemExit as done:
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
