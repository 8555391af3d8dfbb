"""A real Radicale 3 CalDAV server on loopback, for the calendar tests.

Clinicians' calendars may live on any CalDAV server (Nextcloud, Fastmail, iCloud, a Radicale of
their own), so responder's CalDAV reader is tested against a genuine server rather than a mock of
the `caldav` library: real REPORT time-range queries, real 401/403/404 answers, real CTags and
sync-tokens.

Each instance lives wholly inside its own temporary folder (config, htpasswd file, collections),
listens on 127.0.0.1 only, on a free port. Radicale is a Python package (the `test` extra of
pyproject.toml), run as `python -m radicale` with the suite's own interpreter. Users log in with
HTTP Basic against an htpasswd file in plain text: Radicale 3.9 verifies bcrypt only when the
`bcrypt` package is installed, and a test password needs no hashing. Rights are `owner_only`:
a user sees their own collections and nobody else's.
"""

from __future__ import annotations

import base64
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from .dovecot import _accepts, _die_with_parent, _free_ports

NOT_INSTALLED = "Radicale is not installed: run scripts/test (it installs the `test` extra, radicale>=3.1)"

# Radicale logs each answer at level info: "PROPFIND response status for '/marco/cal/' ... : 207 Multi-Status".
_ANSWERED = re.compile(r"\] ([A-Z]+) response status for '([^']*)'.*: (\d{3}) ")

USERS = {"marco": "marco-caldav-password", "priya": "priya-caldav-password"}

_CONFIG = """\
# Written by tests/servers/radicale.py: a self-contained test instance.
[server]
hosts = 127.0.0.1:{port}
max_connections = 20

[auth]
type = htpasswd
htpasswd_filename = {root}/users
htpasswd_encryption = plain
# A wrong password would otherwise answer after ~1 s; tests of wrong passwords must stay fast.
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {root}/collections

[web]
type = none

[logging]
# info: one line per request and answer, which answered() counts.
level = info
mask_passwords = True
"""

_MKCALENDAR = """\
<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>
"""

_MKADDRESSBOOK = """\
<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
  </D:prop></D:set>
</D:mkcol>
"""


class Radicale:
    """One Radicale instance with the users of USERS; start()/stop() it at will, the port stays fixed."""

    host = "127.0.0.1"

    def __init__(self, users: dict[str, str] | None = None, start_timeout: float = 20.0) -> None:
        try:
            import radicale  # noqa: F401  (only to fail loudly, here, when it is missing)
        except ImportError as error:
            raise RuntimeError(NOT_INSTALLED) from error
        self.users = dict(users or USERS)
        self.start_timeout = start_timeout
        self.root = Path(tempfile.mkdtemp(prefix="radicale-"))
        self.port = _free_ports(1)[0]
        self._process: subprocess.Popen[bytes] | None = None
        (self.root / "collections").mkdir()
        self.config_file.write_text(_CONFIG.format(port=self.port, root=self.root))
        (self.root / "users").write_text("".join(f"{user}:{password}\n" for user, password in self.users.items()))

    # -- attributes ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root, with a trailing slash: http://127.0.0.1:PORT/"""
        return f"http://{self.host}:{self.port}/"

    @property
    def config_file(self) -> Path:
        return self.root / "radicale.conf"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start Radicale and return once it answers HTTP; starting a running server does nothing."""
        if self.running:
            return
        console = open(self.root / "console.log", "ab")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(self.config_file)],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        finally:
            console.close()
        self._wait_until_ready()

    def stop(self) -> None:
        """SIGTERM (Radicale's clean shutdown), SIGKILL if it lingers; returns once the port refuses."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        deadline = time.monotonic() + 10
        while _accepts(self.host, self.port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Radicale's port {self.port} still accepts after stop.\n{self.log_tail()}")
            time.sleep(0.02)

    def close(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- CalDAV helpers ------------------------------------------------------------------

    def make_calendar(self, user: str, name: str | None = None) -> str:
        """A new, empty VEVENT calendar of `user` (a fresh unique name unless given); returns its URL."""
        url = f"{self.url}{user}/{name or 'cal-' + uuid.uuid4().hex[:10]}/"
        self.request("MKCALENDAR", url, user, _MKCALENDAR.format(name=name or "Consultations").encode(),
                     "application/xml; charset=utf-8")
        return url

    def make_addressbook(self, user: str) -> str:
        """A CardDAV address book of `user`: a collection that is not a calendar; returns its URL."""
        url = f"{self.url}{user}/book-{uuid.uuid4().hex[:10]}/"
        self.request("MKCOL", url, user, _MKADDRESSBOOK.encode(), "application/xml; charset=utf-8")
        return url

    def put_event(self, calendar_url: str, user: str, ics: str | bytes, name: str | None = None) -> str:
        """PUT one calendar object (a VCALENDAR with one UID: a master and its overrides); returns its URL."""
        url = f"{calendar_url}{name or uuid.uuid4().hex}.ics"
        body = ics.encode() if isinstance(ics, str) else ics
        self.request("PUT", url, user, body, "text/calendar; charset=utf-8")
        return url

    def delete(self, url: str, user: str) -> None:
        self.request("DELETE", url, user)

    def request(self, method: str, url: str, user: str, body: bytes | None = None,
                content_type: str | None = None, headers: dict[str, str] | None = None) -> bytes:
        """One authenticated request as `user`; raises RuntimeError (with the server's answer) unless 2xx."""
        token = base64.b64encode(f"{user}:{self.users[user]}".encode()).decode()
        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"Authorization": f"Basic {token}", **(headers or {})})
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"Radicale answered {method} {url} with {error.code}: "
                               f"{error.read()[:500]!r}\n{self.log_tail()}") from error

    def answered(self, under: str = "/") -> list[tuple[str, int]]:
        """(method, status) of every request answered so far for a path under ``under`` (a path or a
        URL), in order, read from Radicale's log: how tests count what a client asked."""
        prefix = under.removeprefix(self.url[:-1])
        path = self.root / "console.log"
        return [(method, int(status)) for method, where, status in _ANSWERED.findall(path.read_text(errors="replace"))
                if where.startswith(prefix)]

    # -- internals -----------------------------------------------------------------------

    def _wait_until_ready(self) -> None:
        """Poll until an HTTP request gets an answer (any status: the app is up, not just the socket)."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"Radicale exited with code {self._process.returncode} while starting.\n"
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"Radicale did not answer on {self.url} within {self.start_timeout} s.\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url, method="OPTIONS"), timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        """The end of Radicale's console output, for error messages worth reading."""
        path = self.root / "console.log"
        if not path.exists():
            return "(Radicale wrote no log)"
        return f"--- {path} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
