"""The clinicians' calendars, read in the background and kept, so that a reply never waits for one.

Each calendar (a clinician's, and the practice-wide ``availability.calendar_ics``) is read every
``calendar_refresh_minutes``: a feed with a conditional request, CalDAV when its collection tag
changed. What is kept is its busy time, expanded from a day ago to past the horizon, and the
document it came from, to expand again as the days move on while the source answers "not
modified". A calendar that fails keeps its last good copy for ``STALE_AFTER``; after that, or
when it was never read, its clinician has no known busy time and the reply says what it said
before calendars (the static availability text). Which calendar fails, and why, is kept for
/healthz, /metrics and `responder availability`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..config import CalDav, Config
from ..model import CalendarState
from . import caldav, feeds
from .busy import Busy, CalendarError, busy_times, merge

log = logging.getLogger(__name__)

PRACTICE = "practice"  # the name of availability.calendar_ics among the calendars
STALE_AFTER = timedelta(hours=6)  # how long a failing calendar's last good copy is still believed
BEHIND = timedelta(days=1)  # busy time kept from this long ago (a slot's buffer may reach back)
BEYOND = timedelta(days=2)  # and this long past the horizon (the last day's windows)
READ_AHEAD = timedelta(days=7)  # a CalDAV read asks this much further, to serve the next days unchanged
READERS = 8  # calendars read at once


@dataclass
class _Kept:
    """One calendar as last read."""

    busy: list[Busy] = field(default_factory=list)
    document: bytes = b""
    tag: str | None = None  # the ETag, or CalDAV's collection tag
    last_modified: str | None = None
    read_at: datetime | None = None  # the last read that worked (a "not modified" included)
    error: str | None = None
    failing_since: datetime | None = None
    covers: datetime | None = None  # CalDAV: the document holds the events until then (a feed holds them all)


@dataclass(frozen=True)
class Status:
    state: CalendarState
    error: str | None = None


class Calendars:
    def __init__(self, config: Config) -> None:
        availability = config.practice.availability
        self.zone = ZoneInfo(config.practice.timezone)
        self.horizon = timedelta(days=availability.slots.horizon_days)
        self.sources: dict[str, str | CalDav] = {c.id: c.calendar for c in config.practice.clinicians if c.calendar is not None}
        if availability.calendar_ics:
            self.sources[PRACTICE] = availability.calendar_ics
        self._kept: dict[str, _Kept] = {name: _Kept() for name in self.sources}
        self._lock = threading.Lock()  # one refresh at a time; readers see whole copies

    def refresh(self, now: datetime) -> dict[str, str]:
        """Read every calendar at once, each kept as soon as it is read, so that one that hangs
        until its timeout holds back no other; returns the ones that failed, with why."""
        failed = {}
        with self._lock, ThreadPoolExecutor(max_workers=min(READERS, len(self.sources)) or 1, thread_name_prefix="calendar") as pool:
            reads = {pool.submit(self._read, self._kept[name], source, now): name for name, source in self.sources.items()}
            for read in as_completed(reads):
                name = reads[read]
                try:
                    self._kept[name] = read.result()
                except CalendarError as error:
                    old = self._kept[name]
                    self._kept[name] = replace(old, error=str(error), failing_since=old.failing_since or now)
                    failed[name] = str(error)
                    log.warning("calendar %s failed: %s", name, error)
        return failed

    def status(self, name: str) -> Status:
        kept = self._kept.get(name)
        if kept is None:
            return Status(CalendarState.NONE)
        return Status(CalendarState.FAILED, kept.error) if kept.error else Status(CalendarState.OK)

    def failing(self) -> dict[str, str]:
        return {name: kept.error for name, kept in self._kept.items() if kept.error}

    def busy(self, clinician: str | None, now: datetime) -> list[Busy] | None:
        """The busy time of a clinician (None: the practice alone) and of the practice-wide feed,
        or None when one of them has no copy to believe: never read, or failing too long."""
        found: list[Busy] = []
        for name in (clinician, PRACTICE):
            kept = self._kept.get(name) if name is not None else None
            if kept is None:
                continue
            if kept.read_at is None or kept.failing_since is not None and now - kept.failing_since > STALE_AFTER:
                return None
            found += kept.busy
        return merge(found)

    def _read(self, kept: _Kept, source: str | CalDav, now: datetime) -> _Kept:
        start, end = now - BEHIND, now + self.horizon + BEYOND
        if isinstance(source, CalDav):
            tag = caldav.caldav_tag(source.caldav, source.username, source.password)
            if tag is None or tag != kept.tag or kept.covers is None or kept.covers < end:
                kept = _Kept(document=caldav.read_caldav(source.caldav, source.username, source.password, start, end + READ_AHEAD),
                             tag=tag, covers=end + READ_AHEAD)
            return _Kept(busy_times(kept.document, start, end, self.zone), kept.document, kept.tag, None, now, covers=kept.covers)
        fetched = feeds.fetch(source, kept.tag if kept.document else None, kept.last_modified if kept.document else None)
        document = fetched.body if fetched.body is not None else kept.document
        return _Kept(busy_times(document, start, end, self.zone), document, fetched.etag, fetched.last_modified, now)
