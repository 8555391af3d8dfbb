"""A local Maildir watched like a mailbox: the embedded default, and a way to try responder.

New mail is what sits in ``new/`` (as a delivery agent leaves it) or, for convenience, a plain
file dropped straight into the folder. Once recorded it moves to ``cur/``, as a mail program
would move it; a crash between the two only means it is seen again, and the store knows it.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ...model import Status
from ...pipeline import Pipeline
from ...storage.store import Store
from ...triage.parse import header_block

log = logging.getLogger(__name__)

HEADER_BYTES = 256 * 1024  # read this much of an oversized file to find its header


class MaildirSource:
    def __init__(self, path: Path, pipeline: Pipeline, store: Store, poll_seconds: float, window: timedelta,
                 max_bytes: int) -> None:
        self.path = path
        self.pipeline = pipeline
        self.store = store
        self.poll_seconds = poll_seconds
        self.window = window
        self.max_bytes = max_bytes
        self.name = f"maildir:{path}"

    def poll(self) -> int:
        for sub in ("new", "cur", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        answer_from = self.store.cursor(self.name).first_run_at - self.window
        count = 0
        for file in self._waiting():
            try:
                stat = file.stat()
                arrived = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
                if stat.st_size > self.max_bytes:
                    with file.open("rb") as opened:
                        outcome = self.pipeline.ingest_oversized(self.name, header_block(opened.read(HEADER_BYTES)), stat.st_size, arrived)
                else:
                    outcome = self.pipeline.ingest_email(self.name, file.read_bytes(), arrived, answer_from)
            except OSError:
                continue  # moved away or still being written; the next poll sees it
            count += outcome.status != Status.DUPLICATE
            self._file_away(file)
        return count

    def check(self) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        return f"watching the Maildir {self.path}"

    def close(self) -> None:
        pass

    def _waiting(self) -> list[Path]:
        """Files waiting, oldest first; one written this instant may still be growing."""
        recent = time.time() - 0.2
        found: list[tuple[float, Path]] = []
        for folder in (self.path / "new", self.path):
            for entry in os.scandir(folder):
                try:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    mtime = entry.stat().st_mtime
                except OSError:
                    continue  # moved away meanwhile
                if mtime < recent:
                    found.append((mtime, Path(entry.path)))
        return [path for _, path in sorted(found)]

    def _file_away(self, file: Path) -> None:
        name = file.name if ":2," in file.name else f"{file.name}:2,"
        try:
            os.replace(file, self.path / "cur" / name)
        except OSError as error:
            log.warning("could not move a message to cur/: %s", error.strerror)
