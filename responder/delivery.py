"""Delivery of due replies: claim, send, mark; retry what may work later, record what will not."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from .integrations.base import ConnectionLost, PermanentError, TransientError, Transport
from .model import Channel
from .redact import mask, scrub
from .storage.store import Due, Store, utcnow

log = logging.getLogger(__name__)

# Seconds to wait before each retry: the first two within 30 seconds in all (a greylisting server
# or a brief outage), then growing to a cap, for up to GIVE_UP_AFTER.
RETRY_DELAYS = (5, 20, 60, 180, 600)
GIVE_UP_AFTER = timedelta(days=2)


def retry_delay(attempts: int) -> timedelta:
    """The wait after the given number of failed attempts."""
    return timedelta(seconds=RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1])


@dataclass
class Summary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Delivery:
    """Sends what the outbox owes, through one transport per channel."""

    def __init__(self, store: Store, transports: dict[str, Transport], on_sent: Callable[[Due], None] = lambda row: None) -> None:
        self.store = store
        self.transports = transports
        self.on_sent = on_sent
        self._lock = threading.Lock()  # one run at a time in this process; other processes are kept apart by claims

    def run(self, stopping: Callable[[], bool] = lambda: False) -> Summary:
        """Send what is due, batch by batch, until nothing is or ``stopping()``."""
        summary = Summary()
        if not self.transports:
            return summary
        with self._lock:
            while not stopping() and (batch := self.store.claim_due(list(self.transports))):
                for channel, transport in self.transports.items():
                    rows = [row for row in batch if row.channel == channel]
                    if rows:
                        self._send(transport, rows, summary)
        return summary

    def _send(self, transport: Transport, rows: list[Due], summary: Summary) -> None:
        try:
            with transport.session() as session:
                for index, row in enumerate(rows):
                    if row.channel == Channel.SMS and self.store.opted_out(row.to_addr):
                        self._failed(row, "the number opted out (STOP)", summary)
                        continue
                    try:
                        session.send(row.to_addr, row.raw, since=row.created_at if row.attempts > 1 else None)
                    except PermanentError as error:
                        self._failed(row, str(error), summary)
                    except TransientError as error:
                        self._retry(row, str(error), summary)
                        if isinstance(error, ConnectionLost):
                            for rest in rows[index + 1:]:
                                self._retry(rest, str(error), summary)
                            return
                    else:
                        self.store.mark_sent(row.id)
                        self.on_sent(row)
                        summary.sent += 1
                        log.info("%s %s sent to %s by %s", row.kind, row.id, mask(row.to_addr), transport.name)
        except TransientError as error:  # the connection itself failed: every row waits
            for row in rows:
                self._retry(row, str(error), summary)

    def _retry(self, row: Due, error: str, summary: Summary) -> None:
        if utcnow() - row.created_at > GIVE_UP_AFTER:
            self._failed(row, f"gave up after {row.attempts} attempts: {error}", summary)
            return
        at = utcnow() + retry_delay(row.attempts)
        self.store.retry_later(row.id, error, at)
        summary.retrying += 1
        summary.errors.append(error)
        log.warning("%s %s to %s will be retried (attempt %s): %s", row.kind, row.id, mask(row.to_addr), row.attempts, scrub(error))

    def _failed(self, row: Due, error: str, summary: Summary) -> None:
        self.store.mark_failed(row.id, error)
        summary.failed += 1
        summary.errors.append(error)
        log.error("%s %s to %s failed for good: %s", row.kind, row.id, mask(row.to_addr), scrub(error))
