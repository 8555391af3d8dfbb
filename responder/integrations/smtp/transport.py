"""Sending over SMTP: STARTTLS, implicit TLS or plain; AUTH only when credentials are set: a
password, or an OAuth2 access token (AUTH XOAUTH2)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from ...config import Smtp
from ..base import ConnectionLost, PermanentError, TransientError
from ..oauth2.tokens import SignInNeeded, Tokens, TokenUnavailable


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Smtp, envelope_from: str, tokens: Tokens | None = None) -> None:
        self.settings = settings
        self.envelope_from = envelope_from
        self.tokens = tokens  # auth: oauth2

    @contextmanager
    def session(self) -> Iterator[_SmtpSession]:
        try:
            client = self._connect()
        except smtplib.SMTPAuthenticationError as error:
            # Wrong credentials are the operator's to fix; the replies wait rather than fail.
            # The server's reason says what to fix (Microsoft's 5.7.139: SMTP AUTH is off for the tenant).
            reason = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
            raise TransientError(f"SMTP login refused: {error.smtp_code} {reason}"[:300]) from None
        except (SignInNeeded, TokenUnavailable) as error:
            raise TransientError(f"SMTP sign-in: {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise TransientError(f"SMTP connection failed: {_describe(error)}") from None
        try:
            yield _SmtpSession(client, self.envelope_from)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def check(self) -> str:
        client = self._connect()
        client.quit()
        s = self.settings
        return f"SMTP {s.host}:{s.port} ({s.security}) accepted the connection" + (" and the login" if s.username else "")

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if s.security == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        try:
            client.ehlo()
            if s.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if self.tokens is not None and s.username:
                _token_login(client, s.username, self.tokens)
            elif s.username and s.password is not None:
                client.login(s.username, s.password)
        except BaseException:
            client.close()
            raise
        return client


def _token_login(client: smtplib.SMTP, username: str, tokens: Tokens) -> None:
    """AUTH XOAUTH2 with an access token; refreshed and tried once more if the server refuses it."""
    token = tokens.access_token()
    try:
        client.auth("XOAUTH2", _xoauth2(username, token))
    except smtplib.SMTPAuthenticationError:
        tokens.refused(token)
        client.auth("XOAUTH2", _xoauth2(username, tokens.access_token()))


def _xoauth2(username: str, token: str) -> Callable[[bytes | None], str]:
    """smtplib's authobject: the initial response first; to the server's error challenge (a 334
    with a JSON reason), the empty line XOAUTH2 wants before the server's 535."""
    def answer(challenge: bytes | None = None) -> str:
        return f"user={username}\x01auth=Bearer {token}\x01\x01" if challenge is None else ""
    return answer


class _SmtpSession:
    def __init__(self, client: smtplib.SMTP, envelope_from: str) -> None:
        self.client = client
        self.envelope_from = envelope_from

    def send(self, to: str, raw: bytes, since: datetime | None = None) -> None:
        try:
            refused = self.client.sendmail(self.envelope_from, [to], raw)
        except smtplib.SMTPRecipientsRefused as error:
            code, message = next(iter(error.recipients.values()))
            raise _by_code(code, message) from None
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, error.smtp_error) from None
        except (smtplib.SMTPServerDisconnected, OSError, socket.timeout) as error:
            raise ConnectionLost(f"SMTP connection lost: {_describe(error)}") from None
        if refused:
            code, message = next(iter(refused.values()))
            raise _by_code(code, message)


def _by_code(code: int, message: bytes | str) -> Exception:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    error_type = PermanentError if 500 <= code < 600 else TransientError
    return error_type(f"SMTP {code} {text}"[:500])


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]
