"""Reading one iCalendar feed: over http(s) with a conditional request, or from a file.

What Google Calendar's secret address, Microsoft 365's published calendar and the practice
management systems' subscriptions give is an iCalendar document at a URL; asking with the
ETag and Last-Modified of the copy kept lets the server answer 304 with nothing, which is most
refreshes. A file is read again only when its modification time changed. A secret address
carries its secret in the URL, so a failure names the host alone, never the address.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .busy import CalendarError

MAX_BYTES = 20 * 1024 * 1024  # a year of a busy practice is a few hundred kB; more is not a calendar
USER_AGENT = "responder (calendar reader)"


@dataclass(frozen=True)
class Fetched:
    """What a read gave: the document, or None when it has not changed since the copy kept."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def fetch(source: str, etag: str | None = None, last_modified: str | None = None, timeout: float = 10) -> Fetched:
    """The feed at ``source`` (http, https, webcal or a file path), asked for only if it changed
    since ``etag`` / ``last_modified``. Raises CalendarError saying why, without the address."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https", "webcal"):
        return _http("https" + source[len("webcal"):] if scheme == "webcal" else source, etag, last_modified, timeout)
    return _file(Path(source[len("file://"):] if scheme == "file" else source), last_modified)


def describe(source: str) -> str:
    """A feed as logs and pages may name it: its host, or its file name."""
    parts = urlsplit(source)
    return parts.hostname or Path(parts.path or source).name


def _http(url: str, etag: str | None, last_modified: str | None, timeout: float) -> Fetched:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"})
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the practice's own calendar address
            body = response.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise CalendarError(f"the feed at {describe(url)} is larger than {MAX_BYTES // (1024 * 1024)} MB")
            return Fetched(body, response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(None, error.headers.get("ETag") or etag, error.headers.get("Last-Modified") or last_modified)
        raise CalendarError(f"the feed at {describe(url)} answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CalendarError(f"the feed at {describe(url)} could not be read: {type(reason).__name__}") from None


def _file(path: Path, last_modified: str | None) -> Fetched:
    try:
        stamp = str(path.stat().st_mtime_ns)
        if stamp == last_modified:
            return Fetched(None, None, stamp)
        if path.stat().st_size > MAX_BYTES:
            raise CalendarError(f"the file {path.name} is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return Fetched(path.read_bytes(), None, stamp)
    except OSError as error:
        raise CalendarError(f"the file {path.name} could not be read: {error.strerror or type(error).__name__}") from None
