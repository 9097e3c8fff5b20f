"""A real PostgreSQL server for the store's tests: Debian's binaries, a throwaway cluster.

`PostgresServer` runs ``initdb`` in a temporary folder and ``postgres`` on a free localhost
port (trust authentication, no password: it listens on 127.0.0.1 only and dies with the
tests). As root it runs as the ``postgres`` system user (PostgreSQL refuses to run as root).
`new_database` gives each test an empty database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "glassbox"


def find_bin(name: str) -> str | None:
    """A PostgreSQL program: Debian keeps them in /usr/lib/postgresql/<version>/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def available() -> bool:
    return find_bin("initdb") is not None and find_bin("postgres") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="glassbox-pg-"))
        self.port = _free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        subprocess.run([*self._as, find_bin("initdb"), "-D", str(data), "-U", USER,
                        "-A", "trust", "-E", "UTF8", "--no-sync"], check=True,
                       capture_output=True)
        self.process = subprocess.Popen(
            [*self._as, find_bin("postgres"), "-D", str(data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait()
        self._count = 0

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.process.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    self._ready()
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postgres did not start in time")

    def _ready(self) -> None:
        import sqlalchemy

        for _ in range(100):
            try:
                engine = sqlalchemy.create_engine(self.url("postgres"))
                with engine.connect():
                    engine.dispose()
                    return
            except sqlalchemy.exc.OperationalError:
                time.sleep(0.1)
        raise RuntimeError("postgres does not accept connections")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import sqlalchemy

        self._count += 1
        name = f"test_{os.getpid()}_{self._count}"
        engine = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
