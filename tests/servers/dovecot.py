"""A real Dovecot IMAP server on loopback, for tests that must see real IMAP behaviour.

responder talks to whatever IMAP server a practice uses, so its tests run against Debian's
Dovecot (dovecot-imapd) rather than a mock: STARTTLS, implicit TLS, APPENDUID, IDLE, a
dropped connection and a changed UIDVALIDITY all behave exactly as they do in production.

Each instance lives wholly inside its own temporary folder (config, base_dir with its
sockets, state, logs, pid and the Maildir), listens on 127.0.0.1 only, on free ports, so it
never collides with a system Dovecot or with another instance.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from imapclient import IMAPClient

from .tls import TlsFiles

NOT_INSTALLED = (
    "Dovecot is not installed: run scripts/test (it installs dovecot-imapd with apt-get)"
)

# Unprivileged owner of the Maildir: imap processes drop to it after login. `nobody` exists
# everywhere; Dovecot's default first_valid_uid (500) lets it through.
_MAIL_UID = 65534
_MAIL_GID = 65534

# Files in a Maildir folder that hold the UIDs and UIDVALIDITY; messages themselves are in cur/
# and new/, which change_uidvalidity() leaves alone.
_UID_STATE_FILES = ("dovecot-uidlist", "dovecot.index", "dovecot.index.log",
                    "dovecot.index.log.2", "dovecot.index.cache")
_LIST_INDEX_FILES = ("dovecot.list.index", "dovecot.list.index.log", "dovecot.list.index.log.2")

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")

# The user's folders, declared the way a real provider does: Drafts and Sent carry their
# RFC 6154 special-use flags and exist from the first login (auto = subscribe creates them
# lazily, so reset() needs do nothing for them). `{special}` is empty for a server that
# flags nothing, whose clients must find the folders by name; `{prefix}` is "" or, like
# Courier and old Cyrus, "INBOX." (every folder then lives under INBOX).
_NAMESPACE = """\
namespace inbox {{
  inbox = yes
  separator = .
  prefix = {prefix}
{special}}}
"""
_SPECIAL_USE = """\
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
"""

_CONFIG = """\
# Written by tests/servers/dovecot.py: a self-contained test instance.
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot

# Tests log in with plaintext passwords over loopback, with and without TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechanisms}
# A failed login would otherwise answer after 2 s, and anvil's per-IP penalty doubles that
# up to 15 s on each further failure: tests of wrong passwords must stay fast. (Dovecot
# still flushes failures on a 0.5 s timer, so a wrong password takes up to 0.5 s.)
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

ssl = yes
ssl_cert = <{cert_file}
ssl_key = <{key_file}

mail_location = maildir:~/Maildir
{namespace}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%n
}}

protocol imap {{
  # The default of 10 per user+IP is easily reached by a test plus the code under test.
  mail_max_userip_connections = 1000
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
"""


# OAuth2 logins (XOAUTH2, OAUTHBEARER): each token is checked at the token server's RFC 7662
# introspection endpoint, on every login (auth_cache_size stays 0, so a revoked token is refused
# at once). Dovecot never checks a session again once it is in: IDLE outlives its token.
_OAUTH_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {root}/dovecot-oauth2.conf.ext
}}
"""
_OAUTH_ARGS = """\
introspection_url = {introspection_url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""


class Dovecot:
    """One Dovecot instance with one mailbox user; start()/stop() it at will, ports stay fixed."""

    host = "127.0.0.1"

    def __init__(self, tls: TlsFiles, *, user: str = "intake@practice.test",
                 password: str = "intake-password", root: Path | str | None = None,
                 start_timeout: float = 10.0, special_use: bool = True,
                 prefix: str = "", introspection_url: str | None = None,
                 oauth_mechanisms: str = "xoauth2 oauthbearer") -> None:
        """`special_use=False` makes a server that flags no folder (and creates none but
        INBOX); `prefix="INBOX."` puts every other folder under INBOX, as Courier does;
        `introspection_url` lets the user in with OAuth2 tokens that endpoint says are active,
        by `oauth_mechanisms`."""
        self.introspection_url = introspection_url
        self.oauth_mechanisms = oauth_mechanisms
        self.binary = _find_dovecot()
        self.special_use = special_use
        self.prefix = prefix
        self.user = user
        self.password = password
        self.ca_file = Path(tls.ca_file)
        self.start_timeout = start_timeout
        # A short path: Dovecot's unix sockets live under base_dir and sun_path is 108 bytes.
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.port, self.ssl_port = _free_ports(2)
        self._process: subprocess.Popen[bytes] | None = None
        self._write_files(tls)

    # -- attributes ----------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The mailbox's email address; it is also the IMAP login name."""
        return self.user

    @property
    def config_file(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def maildir(self) -> Path:
        """The user's Maildir root (INBOX; Maildir++ layout, so '.' separates folder levels)."""
        return self.root / "mail" / self.user.split("@")[0] / "Maildir"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start Dovecot in the foreground (-F) so we own the master process and its fate.

        Returns only once the plain port greets and the TLS port accepts, so a test never
        races the server's startup. Starting a running server does nothing.
        """
        if self.running:
            return
        console = open(self.root / "console.log", "ab")
        try:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        finally:
            console.close()
        self._wait_until_ready()

    def stop(self) -> None:
        """Kill the server and everything it spawned, so connected clients see the drop.

        The whole process group gets SIGKILL, like a crash or a pulled cable: instant and
        deterministic. A SIGTERM to Dovecot's master is no better: the master lingers ~1 s
        for its log process, then exits while logged-in imap processes live on, still
        serving their clients, and no BYE is sent. Mail is safe, because Dovecot makes a
        change durable before it answers OK. Returns once both ports refuse connections.
        """
        process, self._process = self._process, None
        if process is None:
            return
        _kill_group(process.pid)
        process.wait()
        self._wait_until_closed()

    def restart(self) -> None:
        """Stop (see stop()) and start again on the same ports with the same mail."""
        self.stop()
        self.start()

    def reset(self) -> None:
        """Wipe all mail and IMAP state (UIDs, folders, subscriptions) and run the server.

        Done with the server stopped, so no imap process holds a stale index of deleted
        mail (and any client a previous test left connected is cut off); it costs a few
        tens of milliseconds and leaves the server running. Drafts and Sent (when the server
        declares them special-use) are back, empty, at the next login: Dovecot recreates them.
        """
        self.stop()
        shutil.rmtree(self.root / "mail", ignore_errors=True)
        _make_owned_dir(self.root / "mail")
        self.start()

    def close(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- IMAP helpers --------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA, with hostname checks on."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self, *, starttls: bool = False, timeout: float = 10.0) -> IMAPClient:
        """An IMAPClient logged in over the plain port (optionally upgraded with STARTTLS)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        try:
            if starttls:
                client.starttls(self.ssl_context())
            client.login(self.user, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def ssl_client(self, *, timeout: float = 10.0) -> IMAPClient:
        """An IMAPClient logged in over the implicit-TLS port."""
        client = IMAPClient(self.host, self.ssl_port, ssl=True,
                            ssl_context=self.ssl_context(), timeout=timeout)
        try:
            client.login(self.user, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX", when: datetime | None = None,
                flags: tuple[bytes | str, ...] = ()) -> int:
        """APPEND a message as if it had just arrived; returns its UID (from APPENDUID).

        `when` becomes the INTERNALDATE (default now); a naive datetime is local time, as
        imapclient reads it. The folder is created if missing.
        """
        when = when or datetime.now(timezone.utc)
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, raw, flags=flags, msg_time=when)
        match = _APPENDUID.search(response)
        if match is None:
            raise RuntimeError(f"Dovecot's APPEND answer has no APPENDUID: {response!r}")
        return int(match.group(2))

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """Every message's raw bytes in UID order; [] for a folder that does not exist."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def folders(self) -> list[str]:
        """Names of every folder the user has."""
        with self.client() as client:
            return [name for _flags, _delimiter, name in client.list_folders()]

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The folder's current UIDVALIDITY, as a client sees it in STATUS."""
        with self.client() as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def change_uidvalidity(self, folder: str = "INBOX") -> int:
        """Make the server announce a new UIDVALIDITY for `folder`, keeping its messages.

        This is what happens when a mail server rebuilds its indexes: every UID a client
        remembered is void. Dovecot keeps UIDs in dovecot-uidlist and its index files; with
        them gone it renumbers the messages under a fresh UIDVALIDITY taken from the
        dovecot-uidvalidity counter, which only goes up. Returns the new value.
        """
        before = self.uidvalidity(folder)
        folder_dirs = self._folder_dirs(folder)
        self.stop()
        for folder_dir in folder_dirs:
            for name in _UID_STATE_FILES:
                (folder_dir / name).unlink(missing_ok=True)
        # The mailbox list index caches every folder's UIDVALIDITY too; Dovecot rebuilds it.
        for name in _LIST_INDEX_FILES:
            (self.maildir / name).unlink(missing_ok=True)
        self.start()
        after = self.uidvalidity(folder)
        if after == before:
            raise RuntimeError(f"UIDVALIDITY of {folder} stayed {before} after removing its index")
        return after

    # -- internals -----------------------------------------------------------------------

    def _write_files(self, tls: TlsFiles) -> None:
        """Config, password file and the folders Dovecot and the mail user need."""
        # Dovecot's login and mail processes run as other users and must traverse root.
        self.root.chmod(0o755)
        for name in ("run", "state"):
            (self.root / name).mkdir(exist_ok=True)
        _make_owned_dir(self.root / "mail")
        self.config_file.write_text(_CONFIG.format(
            instance=f"test-{self.port}", root=self.root, cert_file=tls.cert_file,
            key_file=tls.key_file, uid=_MAIL_UID, gid=_MAIL_GID,
            port=self.port, ssl_port=self.ssl_port,
            namespace=_NAMESPACE.format(prefix=self.prefix,
                                        special=_SPECIAL_USE if self.special_use else ""),
            oauth_mechanisms=f" {self.oauth_mechanisms}" if self.introspection_url else "",
            oauth_passdb=_OAUTH_PASSDB.format(root=self.root, mechanisms=self.oauth_mechanisms) if self.introspection_url else "",
        ))
        if self.introspection_url:
            oauth_args = self.root / "dovecot-oauth2.conf.ext"
            oauth_args.write_text(_OAUTH_ARGS.format(introspection_url=self.introspection_url))
            oauth_args.chmod(0o644)  # read by the auth process
        users = self.root / "users"
        users.write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        # The auth process reads it as the dovecot user; the password is a test throwaway.
        users.chmod(0o644)

    def _folder_dirs(self, folder: str) -> set[Path]:
        """Where Dovecot keeps the folder's index and uidlist, as Dovecot itself reports it.

        Asking doveadm (while the server runs: it looks the user up through the auth
        socket) spares us Maildir++ naming rules: '.' separators, modified UTF-7 names.
        """
        return {self._doveadm("mailbox", "path", "-u", self.user, "-t", kind, folder)
                for kind in ("index", "control")}

    def _doveadm(self, *args: str) -> Path:
        doveadm = shutil.which("doveadm") or shutil.which("doveadm", path="/usr/bin:/usr/sbin")
        if doveadm is None:
            raise RuntimeError(NOT_INSTALLED)
        result = subprocess.run([doveadm, "-c", str(self.config_file), *args],
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0 or not result.stdout.strip():
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return Path(result.stdout.strip())

    def _wait_until_ready(self) -> None:
        """Poll until the plain port sends its greeting and the TLS port accepts."""
        deadline = time.monotonic() + self.start_timeout
        pending = [self.port, self.ssl_port]
        while pending:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"Dovecot exited with code {self._process.returncode} "
                                   f"while starting.\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"Dovecot did not accept connections on 127.0.0.1:{pending} "
                                   f"within {self.start_timeout} s.\n{self.log_tail()}")
            if _greets(self.host, pending[0], plain=pending[0] == self.port):
                pending.pop(0)
            else:
                time.sleep(0.02)

    def _wait_until_closed(self) -> None:
        """Poll until nothing listens on our ports any more (login processes may linger)."""
        deadline = time.monotonic() + 10
        while any(_accepts(self.host, port) for port in (self.port, self.ssl_port)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Dovecot's ports still accept after stop.\n{self.log_tail()}")
            time.sleep(0.02)

    def log_tail(self, lines: int = 30) -> str:
        """The end of Dovecot's log and console output, for error messages worth reading."""
        parts = []
        for path in (self.root / "console.log", self.log_file):
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts) or "(Dovecot wrote no log)"


def _find_dovecot() -> str:
    """The dovecot binary; /usr/sbin is often not on a non-login PATH, so look there too."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(NOT_INSTALLED)
    return found


def _free_ports(count: int) -> list[int]:
    """Distinct ports the kernel considers free right now (bound together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _make_owned_dir(path: Path) -> None:
    """A folder the unprivileged mail user may write to."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, _MAIL_UID, _MAIL_GID)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _greets(host: str, port: int, *, plain: bool) -> bool:
    """True once the port accepts; on the plain port also once the IMAP greeting arrives."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            return not plain or sock.recv(1024).startswith(b"* OK")
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM Dovecot's master if pytest dies without stop().

    The master then ends its helper processes, so no listening Dovecot outlives the run.
    """
    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of the process group we started Dovecot in."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
