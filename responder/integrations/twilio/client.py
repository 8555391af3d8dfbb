"""The twilio library's REST client, pointed at ``sms.twilio.api_base_url``."""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ...config import Twilio


def rest_client(settings: Twilio) -> Client:
    client = Client(settings.account_sid, settings.auth_token, http_client=TwilioHttpClient(timeout=settings.timeout_seconds))
    # The library builds every Messages and Accounts URL from this domain's base URL; a practice
    # (or a test) may point it elsewhere, e.g. a regional edge or a stand-in.
    client.api.base_url = settings.api_base_url.rstrip("/")
    client.region = client.edge = None  # else TWILIO_REGION/TWILIO_EDGE would rewrite the host above
    return client
