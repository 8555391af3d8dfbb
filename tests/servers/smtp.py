"""A real SMTP server on loopback that records what responder sends.

aiosmtpd speaks genuine SMTP (EHLO, STARTTLS, AUTH, DATA with dot-stuffing), so the code
under test uses smtplib exactly as against a practice's mail provider; the sink only keeps
what it accepted and can be told to refuse, to test retries (4xx) and give-ups (5xx).
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: the SMTP envelope plus the exact bytes of DATA."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> ReceivedMessage:
        raw = envelope.original_content or b""
        # SMTP lines end in CRLF by definition; parse them as Python's '\n' so that
        # get_content() compares equal to the text that was sent. `raw` stays untouched.
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"),
                                          policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return cls(str(envelope.mail_from), list(envelope.rcpt_tos), raw, parsed)


class _Handler:
    """aiosmtpd handler: records DATA, or refuses it while failures are queued."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.sink._take_failure()
        if refusal is not None:
            return refusal
        if self.sink.data_delay:  # a slow server: a client killed meanwhile leaves the message half-sent
            await asyncio.sleep(self.sink.data_delay)
        self.sink._record(ReceivedMessage.from_envelope(envelope))
        return "250 2.0.0 OK: queued"


class _OAuthHandler(_Handler):
    """The same, for a server that takes only AUTH XOAUTH2 (Microsoft's and Google's SMTP):
    a token the sink's validator refuses gets XOAUTH2's error challenge, then 535."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802 - aiosmtpd finds it by name
        if len(args) == 2:
            blob = base64.b64decode(args[1])
        else:
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return AuthResult(success=False, handled=True)
            blob = bytes(answer)
        fields = dict(part.split("=", 1) for part in blob.decode(errors="replace").split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        ok = self.sink.oauth is not None and self.sink.oauth(user, token)
        with self.sink._changed:
            self.sink.auth_attempts.append((user, ok))
        if ok:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        if await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"})) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


class _Controller(Controller):
    """Controller bound to port 0: the kernel picks a free port, so parallel sinks never clash.

    aiosmtpd's stock start() probes `self.port`, so learn the real port before that probe.
    """

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def factory(self) -> SMTP:
        # AUTH without TLS is what the tests ask for on loopback; aiosmtpd warns about it.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return super().factory()


class SmtpSink:
    """A recording SMTP server on 127.0.0.1, running in a background thread.

    tls=(cert_file, key_file) offers STARTTLS; with implicit_tls=True the same certificate
    is used for TLS from the first byte instead (SMTPS, port-465 style). auth=(user,
    password) requires AUTH PLAIN/LOGIN before MAIL FROM, also allowed without TLS;
    oauth=validator requires AUTH XOAUTH2 instead, with a token validator(user, token) accepts.
    """

    host = "127.0.0.1"

    def __init__(self, *, tls: tuple[Path | str, Path | str] | None = None,
                 implicit_tls: bool = False, auth: tuple[str, str] | None = None,
                 require_starttls: bool = False, oauth: Callable[[str, str], bool] | None = None) -> None:
        if implicit_tls and tls is None:
            raise ValueError("implicit_tls needs tls=(cert_file, key_file)")
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.oauth = oauth
        self.require_starttls = require_starttls
        self.messages: list[ReceivedMessage] = []
        self.auth_attempts: list[tuple[str, bool]] = []
        self._failures: list[str] = []
        self.data_delay = 0.0  # seconds each DATA waits before it is accepted
        self._changed = threading.Condition()
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("SmtpSink is not started")
        return self._controller.port

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Listen on a free port; returns once the server answers."""
        if self._controller is not None:
            return
        # server_hostname names the server in its greeting; without it aiosmtpd calls
        # socket.getfqdn(), a DNS lookup that can hang on a machine without a resolver.
        controller = _Controller((_OAuthHandler if self.oauth else _Handler)(self), hostname=self.host, port=0,
                                 server_hostname="localhost", **self._controller_options())
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------------

    def clear(self) -> None:
        """Forget received messages and queued failures."""
        with self._changed:
            self.messages.clear()
            self.auth_attempts.clear()
            self._failures.clear()

    def fail_next(self, n: int = 1, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer the next `n` DATA commands with `code text` (451: retry later; 550: never)."""
        with self._changed:
            self._failures.extend([f"{code} {text}"] * n)

    def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived; returns them all.

        Code under test often sends from its own thread or scheduler, so a test must wait
        rather than look once.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_message(count, timeout))
                self._changed.wait(remaining)
            return list(self.messages)

    # -- internals -----------------------------------------------------------------------

    def _controller_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            if self.implicit_tls:
                options["ssl_context"] = context
            else:
                options["tls_context"] = context
                options["require_starttls"] = self.require_starttls
        if self.auth is not None:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=False)
        if self.oauth is not None:
            options.update(auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"])
        return options

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        """Accept only the configured user/password, via PLAIN or LOGIN."""
        assert self.auth is not None
        ok = False
        login = ""
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode(errors="replace")
            password = auth_data.password.decode(errors="replace")
            ok = (login, password) == self.auth
        with self._changed:
            self.auth_attempts.append((login, ok))
        return AuthResult(success=ok, handled=False)

    def _take_failure(self) -> str | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else None

    def _record(self, message: ReceivedMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def _timeout_message(self, count: int, timeout: float) -> str:
        got = [f"{m.mail_from} -> {m.rcpt_tos}: {m.message.get('Subject')!r}"
               for m in self.messages]
        return (f"expected {count} message(s) at smtp://{self.host}:{self.port} within "
                f"{timeout} s, got {len(self.messages)}: {got}")
