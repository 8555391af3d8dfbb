"""Texts fetched from Twilio's REST API, for practices without a public URL for the webhook.

The webhook and this poll record under the same source name, so a text seen both ways is one
message. The position is the newest date_sent seen; each poll asks from a minute before it, since
Twilio's clock and ours may differ, and the store's MessageSid key makes the overlap harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ...config import Sms
from ...model import Status
from ...pipeline import Pipeline
from ...storage.store import Store
from .client import rest_client

OVERLAP = timedelta(minutes=1)


def source_name(settings: Sms) -> str:
    return f"twilio:{settings.twilio.from_number}"


class TwilioSource:
    def __init__(self, settings: Sms, pipeline: Pipeline, store: Store, window: timedelta) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.window = window
        self.poll_seconds = settings.poll_seconds
        self.name = source_name(settings)
        self.client = rest_client(settings.twilio)

    def poll(self) -> int:
        cursor = self.store.cursor(self.name)
        answer_from = cursor.first_run_at - self.window
        if cursor.position:
            since = datetime.fromtimestamp(cursor.position, timezone.utc) - OVERLAP
        else:
            since = answer_from.replace(tzinfo=timezone.utc) - OVERLAP
        found = [m for m in self.client.messages.list(to=self.settings.twilio.from_number, date_sent_after=since)
                 if (m.direction or "").startswith("inbound")]
        found.sort(key=lambda m: m.date_sent or m.date_created)
        count = 0
        newest = cursor.position
        for message in found:
            sent = message.date_sent or message.date_created
            form = {"MessageSid": message.sid, "AccountSid": message.account_sid or "", "From": message.from_ or "",
                    "To": message.to or "", "Body": message.body or "", "NumMedia": str(message.num_media or "0"),
                    "NumSegments": str(message.num_segments or "1")}
            outcome = self.pipeline.ingest_sms(self.name, form, sent, answer_from)
            count += outcome.status != Status.DUPLICATE
            newest = max(newest, int(sent.timestamp()))
        if newest != cursor.position:
            self.store.advance(self.name, newest)
        return count

    def check(self) -> str:
        self.client.messages.list(to=self.settings.twilio.from_number, limit=1)
        return f"Twilio lists the texts to {self.settings.twilio.from_number}"

    def close(self) -> None:
        pass
