"""Reading a clinician's CalDAV calendar (Nextcloud, Fastmail, iCloud, Radicale, ...) as one iCalendar document.

The `caldav` library speaks the protocol; what is ours is the shape of the answer and of a failure.
The answer is what busy.py reads for a feed: one VCALENDAR holding the calendar's VTIMEZONEs and
every VEVENT of the events that may fall in the window, each recurring master with its overrides
(RECURRENCE-ID), unexpanded, so busy.py applies one set of rules to feeds and CalDAV alike.

A read is one PROPFIND, which checks that the address is a calendar at all (an address book or a
user's home answers a time-range REPORT with nothing, which would read as a week of free time),
then one REPORT, a server-side time-range query. The library answers the server's first 401 with
the scheme it asks for (Basic or Digest), which costs one more round trip per client.
`caldav_tag` is the cheap check between reads: one PROPFIND of the collection's CTag or sync-token,
which change whenever an event in the calendar does.

A failure is a CalendarError with one line that names the server's host, never the address (a
path may carry a user's name or a token) nor the password.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import icalendar
from caldav import DAVClient
from caldav.calendarobjectresource import CalendarObjectResource
from caldav.collection import Calendar
from caldav.elements import dav
from caldav.elements.base import BaseElement
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http

from .busy import CalendarError
from .feeds import describe

PRODID = "-//responder//CalDAV reader//EN"

# The library warns with whole events quoted (a diff of each one it repairs, a missing DTSTAMP is
# enough), and titles name clients. Its import sets its logger to WARNING, so this comes after it,
# wherever logs.configure() runs; its errors name no event.
logging.getLogger("caldav").setLevel(logging.ERROR)

# All-day events and floating times have no zone; a server matches them against the query in UTC
# (or the calendar's own zone). A day either side makes the answer a superset whatever the practice's
# zone (no zone is more than 14 hours from UTC); busy.py cuts the window exactly.
_MARGIN = timedelta(days=1)

T = TypeVar("T")

_CALENDAR = "{urn:ietf:params:xml:ns:caldav}calendar"

# What a parsed answer raises when the server sends something that is not CalDAV (an HTML page,
# malformed XML or iCalendar): lxml's and icalendar's errors are ValueErrors, the library's own
# reading of odd XML ends in the others.
_MALFORMED = (ValueError, LookupError, TypeError, AttributeError, SyntaxError)


class _GetCTag(BaseElement):
    """Apple's CalendarServer collection tag (not in the library): changes with any event."""

    tag = "{http://calendarserver.org/ns/}getctag"


def read_caldav(url: str, username: str | None, password: str | None, start: datetime, end: datetime,
                timeout: float = 10) -> bytes:
    """The calendar at ``url`` as one iCalendar document: its VTIMEZONEs and every VEVENT of the
    events that may fall in [start, end) (aware datetimes), recurring masters with their moved and
    cancelled instances, not expanded. It may hold events a little outside the window: busy.py
    reads the window exactly. Raises CalendarError on any failure: unreachable, no answer within
    ``timeout`` seconds (per request), credentials refused, no such collection, not a calendar."""
    with _client(url, username, password, timeout) as client:
        calendar = client.calendar(url=url)
        _properties(calendar, url, timeout)
        found = _guarded(lambda: calendar.search(start=start - _MARGIN, end=end + _MARGIN, event=True,
                                                 expand=False, post_filter=False), url, timeout)
        return _document(found, url)


def caldav_tag(url: str, username: str | None, password: str | None, timeout: float = 10) -> str | None:
    """The calendar's CTag, else its sync-token (RFC 6578), else None (the server keeps neither):
    a value that changes whenever an event does, so an unchanged one spares a read. One PROPFIND.
    Raises CalendarError like read_caldav, a collection that is not a calendar included."""
    with _client(url, username, password, timeout) as client:
        found = _properties(client.calendar(url=url), url, timeout)
    tag = found.get(_GetCTag.tag) or found.get(dav.SyncToken.tag)
    return str(tag) if tag else None


def _client(url: str, username: str | None, password: str | None, timeout: float) -> DAVClient:
    """A client for exactly ``url``: no RFC 6764 discovery (the address is the calendar's own)."""
    return DAVClient(url=url, username=username, password=password, timeout=timeout, enable_rfc6764=False)


def _properties(calendar: Calendar, url: str, timeout: float) -> dict[str, object]:
    """The collection's resource type and change tags, after checking that it is a calendar."""
    found = _guarded(lambda: calendar.get_properties([dav.ResourceType(), _GetCTag(), dav.SyncToken()]),
                     url, timeout)
    kinds = found.get(dav.ResourceType.tag) or []
    if _CALENDAR not in (kinds if isinstance(kinds, list) else [kinds]):
        raise CalendarError(f"the address on the CalDAV server {describe(url)} is not a calendar")
    return found


def _guarded(call: Callable[[], T], url: str, timeout: float) -> T:
    """``call()``, with whatever the library or the network raises turned into a CalendarError.
    `from None`: the library's messages quote the address, and its chained errors the server's body."""
    host = describe(url)
    try:
        return call()
    except dav_error.AuthorizationError as error:
        if error.status == 403:
            raise CalendarError(f"the CalDAV server {host} does not let this user read the calendar (HTTP 403)") from None
        raise CalendarError(f"the CalDAV server {host} refused the username or password (HTTP 401)") from None
    except dav_error.NotFoundError:
        raise CalendarError(f"the CalDAV server {host} has no calendar at that address (HTTP 404)") from None
    except dav_error.DAVError as error:
        answer = f"HTTP {error.status}" if error.status else type(error).__name__
        raise CalendarError(f"the CalDAV server {host} answered {answer}") from None
    except http.exceptions.Timeout:
        raise CalendarError(f"the CalDAV server {host} did not answer within {timeout:g} s") from None
    except OSError as error:  # the HTTP library's errors (refused, unknown host, TLS, reset) are OSErrors
        raise CalendarError(f"the CalDAV server {host} could not be reached ({_reason(error)})") from None
    except _MALFORMED as error:
        raise CalendarError(f"the CalDAV server {host} gave an answer that is not CalDAV ({type(error).__name__})") from None


def _reason(error: BaseException) -> str:
    """What the system said, from the bottom of the HTTP library's chain of wrappers ("Connection
    refused", "Connection reset by peer"), else the innermost error's type: it quotes no address."""
    while (inner := error.__cause__ or error.__context__) is not None:
        error = inner
    if isinstance(error, socket.gaierror):  # the resolver's own words vary and may be missing
        return "its name does not resolve"
    return error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__


def _document(found: Sequence[CalendarObjectResource], url: str) -> bytes:
    """One VCALENDAR of every VEVENT found, the time zones first and each once (the first definition
    of a TZID wins: a server stores a zone with every object that uses it, and they agree)."""
    zones: dict[str, icalendar.Timezone] = {}
    events: list[icalendar.Event] = []
    try:
        for resource in found:
            for component in icalendar.Calendar.from_ical(resource.data).subcomponents:
                if isinstance(component, icalendar.Timezone):
                    zones.setdefault(str(component.get("tzid")), component)
                elif isinstance(component, icalendar.Event):
                    events.append(component)
    except _MALFORMED as error:
        raise CalendarError(f"an event on the CalDAV server {describe(url)} cannot be read ({type(error).__name__})") from None
    merged = icalendar.Calendar()
    merged.add("prodid", PRODID)
    merged.add("version", "2.0")
    for component in [*zones.values(), *events]:
        merged.add_component(component)
    return merged.to_ical()
