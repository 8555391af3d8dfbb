"""The practice mailbox over IMAP, with imapclient.

Two connections, each with one job: the fetching one (used by ``poll``, from the scheduler's
safety-net poll and whenever the bell rings) and the bell, which sits in IDLE and rings each time
it starts waiting, news ending a wait.
Keeping IDLE off the fetching connection means a ring is never lost while a fetch is running:
the ring just waits for the lock and fetches again.

Messages are fetched with BODY.PEEK[] so the clinicians' unread marks stay theirs. The cursor
(UIDVALIDITY, last UID) advances only after the messages below it are recorded; a new
UIDVALIDITY rescans the folder, and the store's (source, Message-ID) key keeps anyone from
being answered twice.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ...config import Imap
from ...model import Status
from ...pipeline import Pipeline
from ...storage.store import Store
from ...triage.parse import header_block
from ..oauth2.tokens import SignInNeeded, Tokens, TokenUnavailable
from .session import connect, logout

log = logging.getLogger(__name__)

FETCH_BATCH = 50
IDLE_RENEW_SECONDS = 300  # re-issue IDLE well inside the 29 minutes after which servers may drop it
# What the server or the token endpoint may do to a connection: each is tried again, with backoff.
NETWORK_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, SignInNeeded, TokenUnavailable)


class ImapSource:
    def __init__(self, settings: Imap, pipeline: Pipeline, store: Store, window: timedelta, max_bytes: int,
                 tokens: Tokens | None = None) -> None:
        self.settings = settings
        self.tokens = tokens  # auth: oauth2
        self.max_bytes = max_bytes
        self.pipeline = pipeline
        self.store = store
        self.window = window
        self.poll_seconds = settings.poll_seconds
        self.name = f"imap:{settings.username}@{settings.host}:{settings.port}/{settings.folder}"
        self._client: IMAPClient | None = None
        self._lock = threading.Lock()

    def poll(self) -> int:
        with self._lock:
            try:
                if self._client is None:
                    self._client = connect(self.settings, self.tokens)
                return self._fetch_new(self._client)
            except NETWORK_ERRORS:
                self._drop()
                raise

    def check(self) -> str:
        client = connect(self.settings, self.tokens)
        try:
            info = client.select_folder(self.settings.folder, readonly=True)
            idle = "offers IDLE" if b"IDLE" in client.capabilities() else "no IDLE: polling"
            return f"IMAP {self.settings.host}:{self.settings.port} login ok, {self.settings.folder} has {info.get(b'EXISTS', 0)} messages, {idle}"
        finally:
            logout(client)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def watch(self, stop: threading.Event, ring: Callable[[], None], report: Callable[[str | None], None] = lambda failure: None) -> None:
        """The bell: until ``stop``, wait in IDLE and call ``ring`` when mail may have come. Reconnects
        with backoff (capped at 30 seconds) when the server goes away or anything else fails;
        returns only for a server without IDLE.
        ``report`` hears each failure, and None once IDLE is back."""
        failures = 0
        while not stop.is_set():
            client = None
            try:
                client = connect(self.settings, self.tokens)
                if b"IDLE" not in client.capabilities():
                    log.info("%s offers no IDLE: polling every %ss", self.settings.host, self.poll_seconds)
                    return
                client.select_folder(self.settings.folder, readonly=True)
                if failures:
                    report(None)
                failures = 0
                self._idle(client, stop, ring)
            except Exception as error:  # noqa: BLE001 - the bell never dies, whatever failed (the server, the store)
                failures += 1
                report(f"IDLE: {type(error).__name__}: {error}"[:300])  # a refused sign-in says what to do
                delay = backoff(failures)
                log.warning("IMAP IDLE on %s lost (%s); reconnecting in %ss", self.settings.host, type(error).__name__, delay,
                            exc_info=not isinstance(error, NETWORK_ERRORS))
                stop.wait(delay)
            finally:
                if client is not None:
                    logout(client)

    def _idle(self, client: IMAPClient, stop: threading.Event, ring: Callable[[], None]) -> None:
        while not stop.is_set():
            client.idle()
            # IDLE tells only of mail that arrives once it waits (Dovecot does not even tell of
            # mail that came since this connection's last command): each time it waits, what came
            # before is fetched, so news only ends the wait and the next one fetches it.
            ring()
            renew_at = time.monotonic() + IDLE_RENEW_SECONDS
            news = False
            while not stop.is_set() and time.monotonic() < renew_at and not news:
                asked = time.monotonic()
                responses = client.idle_check(timeout=1)
                if not responses and time.monotonic() - asked < 0.5:
                    # imapclient reports a closed connection as "no news", at once; a wait that
                    # ends early with nothing to show is the server gone.
                    raise IMAPClientError("connection closed during IDLE")
                news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
                if any(r and r[0] == b"BYE" for r in responses):
                    raise IMAPClientError("server said BYE")
            client.idle_done()

    def _fetch_new(self, client: IMAPClient) -> int:
        folder = client.select_folder(self.settings.folder, readonly=True)
        uidvalidity = int(folder[b"UIDVALIDITY"])
        cursor = self.store.cursor(self.name)
        last_uid = cursor.position
        if cursor.uidvalidity is not None and cursor.uidvalidity != uidvalidity:
            log.warning("%s: UIDVALIDITY changed; rescanning the folder (no one is answered twice)", self.settings.folder)
            last_uid = 0
        elif cursor.uidvalidity is None:
            last_uid = 0
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        answer_from = cursor.first_run_at - self.window
        count = 0
        for start in range(0, len(uids), FETCH_BATCH):
            chunk = uids[start:start + FETCH_BATCH]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            large = [uid for uid in chunk if sizes.get(uid, {}).get(b"RFC822.SIZE", 0) > self.max_bytes]
            small = [uid for uid in chunk if uid not in large]
            fetched = client.fetch(small, ["BODY.PEEK[]", "INTERNALDATE"]) if small else {}
            headers = client.fetch(large, ["BODY.PEEK[HEADER]", "INTERNALDATE"]) if large else {}
            for uid in chunk:
                item = fetched.get(uid) or headers.get(uid)
                if not item or not ({b"BODY[]", b"BODY[HEADER]"} & set(item)):
                    log.warning("%s: message UID %s vanished before it could be read", self.settings.folder, uid)
                    continue
                if uid in large:
                    outcome = self.pipeline.ingest_oversized(self.name, header_block(item[b"BODY[HEADER]"]), sizes[uid][b"RFC822.SIZE"],
                                                             item.get(b"INTERNALDATE"))
                else:
                    outcome = self.pipeline.ingest_email(self.name, item[b"BODY[]"], item.get(b"INTERNALDATE"), answer_from)
                count += outcome.status != Status.DUPLICATE
            self.store.advance(self.name, chunk[-1], uidvalidity)
        if not uids and cursor.uidvalidity != uidvalidity:
            self.store.advance(self.name, last_uid, uidvalidity)
        return count

    def _drop(self) -> None:
        if self._client is not None:
            logout(self._client)
            self._client = None


def backoff(failures: int) -> float:
    """1, 2, 4, ... seconds, capped at 30."""
    return float(min(30, 2 ** max(0, failures - 1)))
