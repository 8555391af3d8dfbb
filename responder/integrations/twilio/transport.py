"""Sending texts through Twilio's Messages API with the twilio library.

429, 5xx and network trouble are worth retrying; any other refusal is final. Error 21610 means the
person replied STOP at the carrier: the number is marked opted out so nothing is tried again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException

from ...config import Twilio
from ...redact import mask
from ..base import PermanentError, TransientError
from .client import rest_client

UNSUBSCRIBED = 21610


class TwilioTransport:
    name = "twilio"

    def __init__(self, settings: Twilio, on_unsubscribed: Callable[[str], None]) -> None:
        self.settings = settings
        self.client = rest_client(settings)
        self.on_unsubscribed = on_unsubscribed

    @contextmanager
    def session(self) -> Iterator[TwilioTransport]:
        yield self

    def send(self, to: str, raw: bytes, since: datetime | None = None) -> None:
        body = raw.decode("utf-8")
        try:
            if since is not None and self._already_sent(to, body, since):
                return
            self.client.messages.create(to=to, from_=self.settings.from_number, body=body)
        except TwilioRestException as error:
            text = f"Twilio {error.status} error {error.code}: {error.msg}"[:300]
            if error.status == 429 or error.status >= 500:
                raise TransientError(text) from None
            if error.code == UNSUBSCRIBED:
                self.on_unsubscribed(to)
            raise PermanentError(text) from None
        except (RequestException, TwilioException, OSError) as error:
            raise TransientError(f"Twilio unreachable: {type(error).__name__}") from None

    def _already_sent(self, to: str, body: str, since: datetime) -> bool:
        """Whether an earlier attempt got through before its outcome was recorded (a crash, a
        timeout after Twilio accepted): a text has no Message-ID to make a resend harmless."""
        since = since.replace(tzinfo=timezone.utc) - timedelta(minutes=1)
        # Newest first; not filtered by date_sent, which a text still queued at Twilio lacks.
        earlier = self.client.messages.list(to=to, from_=self.settings.from_number, limit=20)
        return any(m.body == body and m.date_created is not None and m.date_created >= since for m in earlier)

    def check(self) -> str:
        account = self.client.api.v2010.accounts(self.settings.account_sid).fetch()
        return f"Twilio accepted the credentials of account {mask(self.settings.account_sid)} ({account.status})"
