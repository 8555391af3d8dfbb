"""Replies written to a local Maildir instead of sent: the embedded default, no account needed."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..base import TransientError


class MaildirTransport:
    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def session(self) -> Iterator[MaildirTransport]:
        yield self

    def send(self, to: str, raw: bytes, since: datetime | None = None) -> None:
        try:
            mailbox.Maildir(self.path, create=True).add(raw)
        except OSError as error:
            raise TransientError(f"cannot write to the outbox folder: {error.strerror}") from None

    def check(self) -> str:
        mailbox.Maildir(self.path, create=True)
        return f"replies are written to the Maildir {self.path}"
