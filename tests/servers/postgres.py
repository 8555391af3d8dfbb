"""A real PostgreSQL server on loopback, for the store's tests on the database practices run with
several workers.

Debian's postgresql (scripts/test installs it): initdb into a temporary folder owned by an
unprivileged user (PostgreSQL refuses to run as root), trust authentication on 127.0.0.1 only, a
free port, and a fresh database per test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

NOT_INSTALLED = "PostgreSQL is not installed: run scripts/test (it installs postgresql with apt-get)"


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(NOT_INSTALLED)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="responder-pg-"))
        self.port = _free_port()
        self.user = "postgres" if _has_user("postgres") else "nobody"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        account = pwd.getpwnam(self.user)
        os.chmod(self.folder, 0o755)
        data = self.folder / "data"
        data.mkdir()
        os.chown(data, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if os.getuid() == 0 else {}
        subprocess.run([_binary("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, **as_user)
        self._process = subprocess.Popen(
            [_binary("postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port), "-k", str(data),
             "-c", "fsync=off", "-c", "max_connections=50"],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "postgres.log", "wb"), **as_user)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start: " + (self.folder / "postgres.log").read_text()[-2000:])

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = "t" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def binary(self, name: str) -> str:
        """One of this PostgreSQL's programs (pg_dump, psql), for tests that dump or restore a database."""
        return _binary(name)

    def stop(self) -> None:
        if self._process is not None:
            # SIGINT, PostgreSQL's fast shutdown: a test that left a connection open must not
            # hold the suite's end (SIGTERM would wait for every client to leave).
            self._process.send_signal(signal.SIGINT)
            self._process.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
