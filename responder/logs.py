"""How serve and poll log: one line per event, as text for a person or JSON for a log shipper.

What goes into a line is decided where it is logged: counts, ids, categories, masked addresses
(redact.mask), never a subject or a word of a message. Here the same lines are only shaped, and an
exception is reduced to its type and a scrubbed one-line summary, because a traceback can carry
the data a handler was holding.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from .redact import scrub

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = f"{type(record.exc_info[1]).__name__}: {scrub(str(record.exc_info[1]))[:300]}"
        return json.dumps(entry, ensure_ascii=False)


def configure(verbose: bool, form: str = "text") -> None:
    """Route every logger to stderr in the given form; quiet the libraries that talk too much."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if form == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run drowns what matters
    logging.getLogger("twilio").setLevel(logging.WARNING)  # it logs every request, numbers and texts included
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugins and contexts; storage.migrate logs what changed
