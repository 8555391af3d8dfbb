"""The two small protocols every integration implements, and the errors a transport speaks in.

A source fetches what is new and hands it to the pipeline. A transport opens a session (one SMTP
connection for a whole batch) and sends raw messages through it; it says whether a failure is
worth retrying by the exception it raises. Each integration (imap/, smtp/, maildir/, twilio/)
keeps its sources, transports, sessions and signatures in its own folder.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol


class Source(Protocol):
    name: str  # identifies the mailbox in the store and in /healthz
    poll_seconds: float

    def poll(self) -> int:
        """Fetch and ingest everything new; the number of new messages. Raises when unreachable."""
        ...

    def check(self) -> str:
        """Try the connection (and login); a line for ``check``. Raises on failure."""
        ...

    def close(self) -> None: ...


class TransientError(Exception):
    """Try again later: the server is busy, away or asked us to wait (SMTP 4xx, timeouts)."""


class ConnectionLost(TransientError):
    """The connection broke mid-batch: the rest of the batch waits for the next run."""


class PermanentError(Exception):
    """Trying again will not help (SMTP 5xx for this recipient): record it and alert."""


class Session(Protocol):
    def send(self, to: str, raw: bytes, since: datetime | None = None) -> None:
        """Send one message. ``since`` is set on a later attempt: when the message was first
        owed, so a transport without message ids can look for an earlier attempt that got
        through before a crash (email needs no such look: its Message-ID makes a resend one)."""
        ...


class Transport(Protocol):
    name: str

    def session(self) -> AbstractContextManager[Session]: ...

    def check(self) -> str:
        """Try the connection (and login) without sending; a line for ``check``. Raises on failure."""
        ...
