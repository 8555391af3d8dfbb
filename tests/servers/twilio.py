"""A loopback stand-in for Twilio's Messages API (REST API 2010-04-01), driven by the real library.

Twilio's REST API cannot be reached from the test machine, and a mock of the `twilio` package
would test our idea of the library rather than the library. So responder's tests keep the real
`twilio.rest.Client` and point it here with

    client = Client(account_sid, auth_token)
    client.api.base_url = standin.base_url      # "http://127.0.0.1:PORT"

and the library then does its own form encoding, Basic auth, JSON parsing, error mapping
(TwilioRestException with .status and .code) and paging (next_page_uri), exactly as in
production. The stand-in answers the few routes responder uses, with Twilio's field names,
formats and error codes (checked against twilio 9.13's generated MessageInstance, Page and
Version classes), and records what it was asked so a test can assert on it.

What it serves:
  POST /2010-04-01/Accounts/{sid}/Messages.json     send: 201 and a "queued" message resource
  GET  /2010-04-01/Accounts/{sid}/Messages.json     list: To, From, DateSent, DateSent<, DateSent>,
                                                    PageSize, Page, PageToken; newest first
  GET  /2010-04-01/Accounts/{sid}/Messages/{SM}.json  fetch one message
  GET  /2010-04-01/Accounts/{sid}.json              the account (how credentials are checked)
Anything else is 404 with Twilio's error JSON; wrong credentials are 401 with code 20003.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API_VERSION = "2010-04-01"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_BODY_CHARS = 1600

# The `message` Twilio gives for the codes tests inject or the stand-in produces itself.
ERROR_MESSAGES: dict[int, str] = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21211: "The 'To' number {to} is not a valid phone number.",
    21266: "'To' and 'From' number cannot be the same: {to}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The From phone number {from_} is not a valid, SMS-capable inbound phone number or short code for your account.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
# The Twilio code that goes with an HTTP status when a test injects a failure without one.
DEFAULT_CODES: dict[int, int] = {401: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}

# E.164 ("+" and up to 15 digits) or a channel address such as "whatsapp:+15551234567".
_ADDRESS = re.compile(r"^(?:[a-z]+:)?\+[1-9]\d{1,14}$")
_ACCOUNT_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)\.json$")
_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# GSM 03.38: the alphabet an SMS can carry in 7-bit septets (extension characters cost two).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's timestamp format, e.g. 'Wed, 01 May 2024 08:00:00 +0000' (always GMT)."""
    return None if moment is None else format_datetime(moment.astimezone(timezone.utc))


def segments(body: str) -> int:
    """How many SMS segments Twilio would bill `body` as (GSM-7 160/153, else UCS-2 70/67).

    Computed independently of responder.replying.segments on purpose, so the two can check each other.
    """
    if not body:
        return 0
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in body):
        units = [2 if ch in _GSM_EXTENSION else 1 for ch in body]
        single, multi = 160, 153
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
        single, multi = 70, 67
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:  # a two-unit character is never split across segments
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return count


def _utc_seconds(moment: datetime) -> datetime:
    """UTC, whole seconds: Twilio's timestamps carry no fraction, so filters compare at seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _single(values: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """parse_qs output with single values unwrapped; repeated keys (MediaUrl) stay lists."""
    return {key: items[0] if len(items) == 1 else items for key, items in values.items()}


class _Blank(dict[str, str]):
    """Format fields where a missing one reads as empty rather than raising KeyError."""

    def __missing__(self, key: str) -> str:
        return ""


class TwilioError(Exception):
    """An answer in Twilio's error format: {"code", "message", "more_info", "status"}."""

    def __init__(self, status: int, code: int, message: str | None = None, **fields: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        template = ERROR_MESSAGES.get(code, HTTPStatus(status).phrase)
        self.message = message if message is not None else template.format_map(_Blank(fields))

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it, whatever it answered.

    `query` and `form` are decoded; a key given once maps to its value, a repeated key to a list.
    """

    method: str
    path: str
    query: dict[str, str | list[str]]
    form: dict[str, str | list[str]]
    auth_ok: bool
    status: int = 0  # the HTTP status answered (written even if the client had gone away)


@dataclass
class StoredMessage:
    """A message in the account's log: one the code under test sent, or an inbound one a test added."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str  # "outbound-api" or "inbound"
    date_created: datetime
    date_sent: datetime
    seq: int  # arrival order: breaks ties between messages of the same second, newest first
    num_media: int = 0
    messaging_service_sid: str | None = None
    sender_pending: bool = False  # sent with MessagingServiceSid and no From: Twilio picks the number later
    status_callback: str | None = None

    def resource(self, *, just_created: bool = False) -> dict[str, Any]:
        """The JSON Twilio gives for this message.

        Right after a send Twilio answers status "queued" with date_sent null (nothing has gone
        out yet); later reads show the message as "sent" with its date_sent. Inbound messages
        are "received". Code that reads date_sent from the send response must cope with null.
        A send through a Messaging Service without From answers from null and num_segments "0"
        (Twilio has not picked the sender yet); later reads show the account's number.
        """
        if self.direction == "inbound":
            status = "received"
        else:
            status = "queued" if just_created else "sent"
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": None if just_created else rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_created),
            "direction": self.direction,
            "error_code": None,
            "error_message": None,
            "from": None if just_created and self.sender_pending else self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(self.num_media),
            "num_segments": "0" if just_created and self.sender_pending else str(segments(self.body)),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its stand-in and forgets clients that hang up.

    A client that times out (see delay_next) closes its socket before the answer is written;
    that is expected, not an error worth a traceback in the test output.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], standin: TwilioStandIn) -> None:
        self.standin = standin
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    """Parses one HTTP request and hands it to the stand-in; HTTP/1.1 keep-alive like Twilio."""

    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; with Nagle on, the client's delayed ACK costs
    # ~40 ms per response on loopback, which a paging test pays several times over.
    disable_nagle_algorithm = True
    server: _Server
    server_version = "twilio-standin"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.server.standin._connections.add(self.connection)

    def finish(self) -> None:
        self.server.standin._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test output is no place for an access log

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.standin._handle(self.command, self.path, self.headers.get("Authorization"), raw)
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Twilio-Request-Id", new_sid("RQ"))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class TwilioStandIn:
    """Twilio's Messages API for one account, on 127.0.0.1 at a free port, in a daemon thread.

    Point the real library at it with `client.api.base_url = standin.base_url`. Failures and
    slowness are injected per send (fail_next, delay_next) so retry and timeout paths can be
    tested; inbound texts for polling are added with add_inbound.
    """

    host = "127.0.0.1"

    def __init__(self, account_sid: str | None = None, auth_token: str = "standin-auth-token",
                 from_number: str = "+15550100000") -> None:
        self.account_sid = account_sid or new_sid("AC")
        if not re.fullmatch(r"AC[0-9a-f]{32}", self.account_sid):
            raise ValueError(f"an account SID is 'AC' and 32 lowercase hex digits, not {self.account_sid!r}")
        self.auth_token = auth_token
        # The number the account owns: sends From any other number are refused (21606), as Twilio does.
        self.from_number = from_number
        self.friendly_name = "responder test account"
        self.created = _utc_seconds(datetime.now(timezone.utc) - timedelta(days=365))
        # Each accepted send: its form (To, From, Body, ...; a repeated key such as MediaUrl is a
        # list) plus "sid", the SID it was given. Refused sends are only in `requests`.
        self.sent: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []
        self._messages: list[StoredMessage] = []
        self._failures: list[TwilioError] = []
        self._delays: list[float] = []
        self._seq = 0
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0  # kept across stop()/start() so a restarted stand-in keeps its base_url

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("TwilioStandIn is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """What to assign to `client.api.base_url`: scheme, host and port, no path."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Listen (on the previous port after a stop, else a free one); returns once accepting."""
        if self._server is not None:
            return
        self._stopping.clear()
        self._server = _Server((self.host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"twilio-standin-{self._port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and drop open connections: a client now sees connection refused."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes any delay_next sleeper, which then answers nothing
        server.shutdown()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> TwilioStandIn:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------------

    def clear(self) -> None:
        """Forget sent and inbound messages, recorded requests and queued failures and delays."""
        with self._changed:
            self.sent.clear()
            self.requests.clear()
            self._messages.clear()
            self._failures.clear()
            self._delays.clear()

    def fail_next(self, n: int = 1, status: int = 429, code: int | None = None, message: str | None = None) -> None:
        """Answer the next `n` authenticated sends with Twilio's error JSON and HTTP `status`.

        The code defaults to the one Twilio pairs with the status (429 -> 20429, 500 -> 20500,
        503 -> 20503); give it for 400s, e.g. 21610 (recipient replied STOP) or 21211 (invalid
        To). The message defaults to Twilio's wording for the code. A refused send is not
        recorded in `sent`, as Twilio creates no message for it.
        """
        if code is None:
            if status not in DEFAULT_CODES:
                raise ValueError(f"give the Twilio error code for HTTP {status}")
            code = DEFAULT_CODES[status]
        with self._changed:
            self._failures.extend(_InjectedFailure(status, code, message) for _ in range(n))

    def delay_next(self, n: int, seconds: float) -> None:
        """Make the next `n` sends wait `seconds` before they are processed and answered.

        The send still happens after the wait even if the client gave up: like real Twilio, a
        timed-out request may have sent the text, which is what duplicate-send tests need.
        """
        with self._changed:
            self._delays.extend([seconds] * n)

    def add_inbound(self, from_: str, body: str, to: str | None = None, date_sent: datetime | None = None) -> str:
        """Add a text someone sent to the practice (to defaults to from_number); returns its SID.

        date_sent defaults to now; a naive datetime is taken as UTC; fractions of a second are
        dropped, as Twilio's timestamps have none.
        """
        moment = _utc_seconds(date_sent or datetime.now(timezone.utc))
        with self._changed:
            message = StoredMessage(sid=new_sid("SM"), account_sid=self.account_sid, to=to or self.from_number,
                                    from_=from_, body=body, direction="inbound", date_created=moment,
                                    date_sent=moment, seq=self._next_seq())
            self._messages.append(message)
            self._changed.notify_all()
        return message.sid

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Block until at least `count` sends were accepted; returns them all (copies).

        responder sends from its own scheduler threads, so a test must wait rather than look once.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.sent) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_message(count, timeout))
                self._changed.wait(remaining)
            return [dict(item) for item in self.sent]

    # -- request handling (called on the server's threads) --------------------------------

    def _handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one request: (status, extra headers, JSON payload). Records it either way."""
        parts = urlsplit(target)
        path = parts.path
        query = _single(parse_qs(parts.query, keep_blank_values=True))
        form = _single(parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        auth_ok = self._authorized(authorization)
        is_send = method == "POST" and _MESSAGES_PATH.match(path) is not None
        if is_send:
            self._delay()
        status, headers, payload = 500, {}, {}
        try:
            if self._stopping.is_set():
                raise TwilioError(503, 20503)
            status, payload = self._route(method, path, query, form, auth_ok, parts.query)
        except TwilioError as error:
            status, payload = error.status, error.payload()
            if status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        with self._changed:
            self.requests.append(RecordedRequest(method, path, query, form, auth_ok, status))
            self._changed.notify_all()
        return status, headers, payload

    def _route(self, method: str, path: str, query: dict[str, str | list[str]], form: dict[str, str | list[str]],
               auth_ok: bool, raw_query: str) -> tuple[int, Any]:
        if not auth_ok:
            raise TwilioError(401, 20003)
        for pattern, allowed in ((_ACCOUNT_PATH, {"GET"}), (_MESSAGES_PATH, {"GET", "POST"}), (_MESSAGE_PATH, {"GET"})):
            match = pattern.match(path)
            if match is None:
                continue
            if match["account"] != self.account_sid:
                # Credentials of one account used on another account's URL: Twilio says Authenticate.
                raise TwilioError(401, 20003)
            if method not in allowed:
                raise TwilioError(405, 20004)
            if pattern is _ACCOUNT_PATH:
                return 200, self._account_resource()
            if pattern is _MESSAGE_PATH:
                return 200, self._fetch(match["sid"], path)
            if method == "POST":
                return 201, self._send(form)
            return 200, self._list(query, path, raw_query)
        raise TwilioError(404, 20404, f"The requested resource {path} was not found")

    def _authorized(self, authorization: str | None) -> bool:
        """HTTP Basic with account_sid:auth_token, compared in constant time like a real service."""
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    def _delay(self) -> None:
        with self._changed:
            seconds = self._delays.pop(0) if self._delays else 0.0
        if seconds:
            self._stopping.wait(seconds)

    def _send(self, form: dict[str, str | list[str]]) -> dict[str, Any]:
        """Validate a send in Twilio's order, apply an injected failure, else create the message."""
        with self._changed:
            injected = self._failures.pop(0) if self._failures else None
        to = _text(form.get("To"))
        from_ = _text(form.get("From"))
        service = _text(form.get("MessagingServiceSid"))
        body = _text(form.get("Body"))
        media = form.get("MediaUrl") or []
        media = [media] if isinstance(media, str) else media
        if injected is not None:
            raise injected.error(to=to, from_=from_)
        if not to:
            raise TwilioError(400, 21604)
        if not _ADDRESS.match(to):
            raise TwilioError(400, 21211, to=to)
        if not from_ and not service:
            raise TwilioError(400, 21603)
        if from_ and from_ != self.from_number:
            raise TwilioError(400, 21606, from_=from_)
        if from_ == to:
            raise TwilioError(400, 21266, to=to)
        if not body and not media and not form.get("ContentSid"):
            raise TwilioError(400, 21602)
        if len(body) > MAX_BODY_CHARS:
            raise TwilioError(400, 21617)
        now = _utc_seconds(datetime.now(timezone.utc))
        with self._changed:
            message = StoredMessage(sid=new_sid("SM"), account_sid=self.account_sid, to=to, from_=from_ or self.from_number,
                                    body=body, direction="outbound-api", date_created=now, date_sent=now,
                                    seq=self._next_seq(), num_media=len(media), messaging_service_sid=service or None,
                                    sender_pending=not from_,
                                    status_callback=_text(form.get("StatusCallback")) or None)
            self._messages.append(message)
            self.sent.append({**form, "sid": message.sid})
            self._changed.notify_all()
        return message.resource(just_created=True)

    def _fetch(self, sid: str, path: str) -> dict[str, Any]:
        with self._changed:
            for message in self._messages:
                if message.sid == sid:
                    return message.resource()
        raise TwilioError(404, 20404, f"The requested resource {path} was not found")

    def _list(self, query: dict[str, str | list[str]], path: str, raw_query: str) -> dict[str, Any]:
        """One page of the message log, newest first, in Twilio's page format.

        Filters: To and From match exactly; DateSent, DateSent< and DateSent> (the library's
        date_sent, date_sent_before, date_sent_after; on the wire `DateSent>=...`) take
        YYYY-MM-DD, meaning the whole GMT day, or an ISO 8601 datetime, compared to the second;
        both inequalities are inclusive. Paging is by cursor like Twilio's: next_page_uri
        carries PageToken=PA<last SID>, so messages arriving meanwhile do not shift the pages.
        """
        to, from_ = _text(query.get("To")), _text(query.get("From"))
        bounds = self._date_bounds(query)
        try:
            page_size = int(_text(query.get("PageSize")) or DEFAULT_PAGE_SIZE)
            page = int(_text(query.get("Page")) or 0)
        except ValueError:
            raise TwilioError(400, 20001, "Invalid PageSize or Page") from None
        if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
            raise TwilioError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
        with self._changed:
            matched = [m for m in self._messages
                       if (not to or m.to == to) and (not from_ or m.from_ == from_)
                       and all(low <= m.date_sent <= high for low, high in bounds)]
        matched.sort(key=lambda m: (m.date_sent, m.seq), reverse=True)
        token = _text(query.get("PageToken"))
        if token:
            sids = [m.sid for m in matched]
            if token[:2] not in ("PA", "PB") or token[2:] not in sids:
                raise TwilioError(400, 20001, f"Invalid PageToken: {token}")
            anchor = sids.index(token[2:])
            start = anchor + 1 if token.startswith("PA") else max(0, anchor - page_size)
            end = start + page_size if token.startswith("PA") else anchor
        else:
            start, end = page * page_size, page * page_size + page_size
        records = matched[start:end]

        filters = [(key, value) for key in ("To", "From", "DateSent", "DateSent<", "DateSent>", "DateSent<=", "DateSent>=")
                   if (value := _text(query.get(key)))]

        def page_uri(number: int, page_token: str | None = None) -> str:
            params = [*filters, ("PageSize", page_size), ("Page", number)]
            if page_token:
                params.append(("PageToken", page_token))
            return f"{path}?{urlencode(params)}"

        has_next = bool(records) and start + len(records) < len(matched)
        return {
            "messages": [m.resource() for m in records],
            "end": start + max(len(records) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, "PA" + records[-1].sid) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1, "PB" + records[0].sid) if records and start > 0 else None,
            "start": start,
            "uri": f"{path}?{raw_query}" if raw_query else path,
        }

    def _date_bounds(self, query: dict[str, str | list[str]]) -> list[tuple[datetime, datetime]]:
        """Each DateSent filter as an inclusive [low, high] range of whole-second UTC times."""
        earliest = datetime.min.replace(tzinfo=timezone.utc)
        latest = datetime.max.replace(tzinfo=timezone.utc, microsecond=0)
        bounds = []
        for key in ("DateSent", "DateSent<", "DateSent>", "DateSent<=", "DateSent>="):
            value = _text(query.get(key))
            if not value:
                continue
            day_start, day_end = _parse_date_sent(key, value)
            if key == "DateSent":
                bounds.append((day_start, day_end))
            elif key.startswith("DateSent<"):
                bounds.append((earliest, day_end))
            else:
                bounds.append((day_start, latest))
        return bounds

    def _account_resource(self) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}"
        return {
            "auth_token": self.auth_token,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.created),
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": "active",
            "subresource_uris": {"messages": f"{uri}/Messages.json", "balance": f"{uri}/Balance.json"},
            "type": "Full",
            "uri": f"{uri}.json",
        }

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _timeout_message(self, count: int, timeout: float) -> str:
        lines = [f"expected {count} accepted send(s) within {timeout}s, got {len(self.sent)}"]
        lines += [f"  sent: {item}" for item in self.sent]
        lines += [f"  request: {r.method} {r.path} -> {r.status} auth_ok={r.auth_ok} query={r.query} form={r.form}"
                  for r in self.requests[-10:]]
        if not self.requests:
            lines.append("  no request reached the stand-in: is client.api.base_url set to its base_url?")
        return "\n".join(lines)


@dataclass(frozen=True)
class _InjectedFailure:
    """A queued fail_next answer; its message may name the To of the send it refuses (21211)."""

    status: int
    code: int
    message: str | None

    def error(self, **fields: str) -> TwilioError:
        return TwilioError(self.status, self.code, self.message, **fields)


def _text(value: str | list[str] | None) -> str:
    """A form or query value as one string (the last one if the key was repeated)."""
    if value is None:
        return ""
    return value[-1] if isinstance(value, list) else value


def _parse_date_sent(key: str, value: str) -> tuple[datetime, datetime]:
    """The inclusive range a DateSent value names: a whole GMT day, or one second.

    twilio-python sends datetimes (and dates!) as 'YYYY-MM-DDTHH:MM:SSZ'; strings pass through
    unchanged, so 'YYYY-MM-DD' is how a caller asks for whole-day semantics.
    """
    try:
        if _DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return start, start + timedelta(days=1, seconds=-1)
        moment = _utc_seconds(datetime.fromisoformat(value.replace("Z", "+00:00")))
        return moment, moment
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid date value for {key}: {value}") from None
