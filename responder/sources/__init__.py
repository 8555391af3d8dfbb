"""Where messages come from: each source fetches what is new and hands it to the pipeline."""

from __future__ import annotations

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
