"""Clinicians answering conversations, from the page or the command line alike.

Who may see what is decided here, once, for both faces: an admin or intake user sees every
conversation, a clinician only those assigned to them. Every view and every change is written
to the access log. A clinician's reply goes out through the outbox like every other message (so
it is sent once, across crashes); the SQL is storage/inbox.py's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from .approval import DraftView
from .config import Config
from .conversations.identify import e164
from .model import Access, Category, Channel, Classification, ConversationOutcome, ConversationStatus, Facts, Kind, Role
from .replying.compose import Composer
from .replying.templates import Name
from .storage import inbox
from .storage.inbox import Listed
from .storage.store import Store, utcnow
from .triage.parse import parse_recorded

# A referral that became this is a reason to thank the referrer, if nobody has yet.
CONVERSIONS = (ConversationOutcome.CONSULTATION_BOOKED, ConversationOutcome.BECAME_CLIENT)


class Forbidden(Exception):
    """The user may not see this conversation: nothing of it is shown or changed."""


class Refused(Exception):
    """A reply that cannot go: no address or number on that channel, an opted-out number, an empty body."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a user of the page, or a person at the command line (an admin)."""

    username: str
    role: Role
    clinician: str | None = None

    def may_see(self, conversation: Listed | DraftView) -> bool:
        """A conversation, or a draft in one: a clinician sees only what is assigned to them."""
        return self.role != Role.CLINICIAN or (self.clinician is not None and conversation.clinician == self.clinician)

    @property
    def only(self) -> str | None:
        """The clinician whose conversations alone this viewer sees; None: everyone's."""
        return self.clinician if self.role == Role.CLINICIAN else None


@dataclass(frozen=True)
class Entry:
    """One message in a conversation's timeline, in or out."""

    at: datetime
    incoming: bool
    channel: str
    kind: str  # a category for a message in, outbox.kind for one out
    who: str  # the sender of one in, the recipient of one out
    subject: str
    text: str
    state: str  # messages.status in, outbox.state out
    author: str | None = None  # the clinician who sent it

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat() + "Z", "direction": "in" if self.incoming else "out", "channel": self.channel, "kind": self.kind,
                "who": self.who, "subject": self.subject, "text": self.text, "state": self.state, "author": self.author}


@dataclass(frozen=True)
class Targets:
    """Where a reply to the person goes on each channel, and what an email threads under."""

    email: str | None
    phone: str | None
    phone_opted_out: bool
    answering: int | None  # the person's latest email: a reply by email threads under it
    latest: int  # the person's latest message of any kind: a reply hangs on it in the outbox


@dataclass(frozen=True)
class View:
    conversation: Listed
    entries: list[Entry]
    targets: Targets

    def as_json(self) -> dict[str, Any]:
        return listed_json(self.conversation) | {
            "reply_to": {"email": self.targets.email, "sms": None if self.targets.phone_opted_out else self.targets.phone},
            "messages": [entry.as_json() for entry in self.entries]}


def listed_json(conversation: Listed) -> dict[str, Any]:
    return {"id": conversation.id, "status": conversation.status, "waiting_on_us": conversation.waiting_on_us,
            "clinician": conversation.clinician, "outcome": conversation.outcome, "referral_source": conversation.referral_source,
            "known_as": list(conversation.known_as), "message_count": conversation.messages,
            "waitlist_since": conversation.waitlist_since.isoformat() + "Z" if conversation.waitlist_since else None,
            "created_at": conversation.created_at.isoformat() + "Z", "last_activity_at": conversation.last_activity_at.isoformat() + "Z"}


class Inbox:
    def __init__(self, config: Config, store: Store, composer: Composer) -> None:
        self.config = config
        self.store = store
        self.composer = composer

    def viewer(self, username: str) -> Viewer:
        """The page's user by name: their role and clinician from web.clinicians."""
        user = next((u for u in self.config.web.clinicians if u.username == username), None)
        if user is None:
            return Viewer(username, Role.CLINICIAN)  # signed in under a name since removed: sees nothing
        return Viewer(username, user.role, user.clinician)

    def list(self, viewer: Viewer, status: ConversationStatus | None = None, waiting_first: bool = False,
             limit: int = 50, offset: int = 0) -> tuple[list[Listed], int]:
        """A page of the conversations the viewer may see, and how many there are in all."""
        with self.store.engine.connect() as conn:
            return (inbox.listed(conn, status, viewer.only, waiting_first, limit, offset), inbox.counted(conn, status, viewer.only))

    def waitlist(self, viewer: Viewer) -> list[Listed]:
        """Who was told the clinicians who fit are full, longest waiting first."""
        with self.store.engine.connect() as conn:
            return inbox.waitlist(conn, viewer.only)

    def show(self, conversation_id: int, viewer: Viewer) -> View | None:
        """One conversation with every message in and out, oldest first; the view is logged."""
        with self.store.transaction() as conn:
            conversation = self._visible(conn, conversation_id, viewer)
            if conversation is None:
                return None
            inbound, outbound = inbox.inbound(conn, conversation_id), inbox.outbound(conn, conversation_id)
            inbox.log_access(conn, viewer.username, conversation_id, Access.VIEWED, "", utcnow())
        entries = [_incoming(row) for row in inbound] + [_outgoing(row) for row in outbound]
        entries.sort(key=lambda entry: entry.at)
        return View(conversation, entries, self._targets(conversation, inbound))

    def reply(self, conversation_id: int, viewer: Viewer, channel: Channel, body: str, token: str | None = None) -> int | None:
        """Owe the person a clinician's reply; its outbox row's id (the one already owed when this
        form's ``token`` was sent before), or None when there is no such conversation. Raises
        Refused when it cannot go, Forbidden when the viewer may not see the conversation."""
        if not body.strip():
            raise Refused("the reply is empty")
        token = token or secrets.token_hex(16)
        with self.store.engine.connect() as conn:
            conversation = self._visible(conn, conversation_id, viewer)
            if conversation is None:
                return None
            rows = inbox.inbound(conn, conversation_id)
        targets = self._targets(conversation, rows)
        to = targets.email if channel == Channel.EMAIL else targets.phone
        if to is None:
            raise Refused(f"the person has no {'address' if channel == Channel.EMAIL else 'number'} to reply to by {channel}")
        if channel == Channel.SMS and targets.phone_opted_out:
            raise Refused("the person's number opted out (STOP): no text may go to it")
        if channel == Channel.EMAIL and not self.config.sends_email or channel == Channel.SMS and self.config.sms is None:
            raise Refused(f"this practice has no {channel} set up to send from")
        answering = next((row for row in rows if row["id"] == targets.answering), None)
        thread = None
        if answering is not None:
            with self.store.engine.connect() as conn:
                thread = parse_recorded(inbox.raw(conn, answering["id"]), Channel.EMAIL, answering["key"], answering["sender"])
        outgoing = self.composer.human_reply(channel, to, body, token, thread)
        try:
            with self.store.transaction() as conn:
                return inbox.add_reply(conn, conversation_id, targets.latest, viewer.username, channel, to, outgoing.message_id,
                                       outgoing.subject, outgoing.body, outgoing.raw, utcnow())
        except IntegrityError:  # this form was sent before: its reply is owed once
            with self.store.engine.connect() as conn:
                return inbox.owed_by_msgid(conn, outgoing.message_id)

    def mark(self, conversation_id: int, viewer: Viewer, outcome: ConversationOutcome) -> bool:
        """Record the outcome. A referred person's conversation marked booked or a client drafts
        the thank-you to the referrer then, if none went yet: it waits for approval like any draft."""
        with self.store.transaction() as conn:
            conversation = self._visible(conn, conversation_id, viewer)
            if conversation is None:
                return False
            inbox.mark(conn, conversation_id, outcome, viewer.username, utcnow())
            if outcome in CONVERSIONS and conversation.referral_source:
                self._draft_thanks(conn, conversation_id, conversation.referral_source)
        return True

    def assign(self, conversation_id: int, viewer: Viewer, clinician: str | None) -> bool:
        if clinician is not None and self.config.practice.clinician(clinician) is None:
            raise Refused(f"no clinician {clinician!r} in practice.clinicians")
        with self.store.transaction() as conn:
            if self._visible(conn, conversation_id, viewer) is None:
                return False
            inbox.assign(conn, conversation_id, clinician, viewer.username, utcnow())
        return True

    def access_log(self, limit: int | None = 500) -> list[dict[str, Any]]:
        with self.store.engine.connect() as conn:
            return inbox.access(conn, limit)

    def close_quiet(self) -> int:
        """Close the conversations with nothing new for conversations.close_after_days."""
        with self.store.transaction() as conn:
            return inbox.close_quiet(conn, utcnow() - timedelta(days=self.config.conversations.close_after_days))

    def _visible(self, conn: Any, conversation_id: int, viewer: Viewer) -> Listed | None:
        conversation = inbox.one(conn, conversation_id)
        if conversation is not None and not viewer.may_see(conversation):
            raise Forbidden(conversation_id)
        return conversation

    def _targets(self, conversation: Listed, rows: list[dict[str, Any]]) -> Targets:
        """From the person's own messages (not a referrer's): the latest email's reply address
        and the latest text's number, else an address or number they are known by."""
        theirs = [row for row in rows if (row["sender"] or "").lower() != (conversation.referral_source or "").lower()]
        emails = [row for row in theirs if row["channel"] == Channel.EMAIL]
        texts = [row for row in theirs if row["channel"] == Channel.SMS]
        # reply_to is where a personal reply goes as the message was read (a form's or a relay's
        # address for the person, never a no-reply sender's)
        email = (emails[-1]["reply_to"] if emails else None) or next((value for value in conversation.known_as if "@" in value), None)
        phone = texts[-1]["sender"] if texts else next((value for value in conversation.known_as if e164(value) == value), None)
        # Until the person writes themselves, a reply to them hangs on the referral that named them.
        return Targets(email, phone, phone is not None and self.store.opted_out(phone), emails[-1]["id"] if emails else None,
                       (theirs or rows)[-1]["id"])

    def _draft_thanks(self, conn: Any, conversation_id: int, referrer: str) -> None:
        message_id = inbox.thanks_owed(conn, conversation_id, referrer)
        if message_id is None:
            return
        row = self.store.message(message_id, conn)
        assert row is not None  # noqa: S101 - found in this transaction
        inbound = parse_recorded(row["raw"], Channel(row["channel"]), row["key"], row["sender"])
        facts = row["facts"] or {}
        classification = Classification(Category.PROFESSIONAL_REFERRAL, Facts(reply_to=row["reply_to"] or row["sender"],
                                                                              language=facts.get("language", "en")), ())
        thanks = replace(self.composer.reply(inbound, classification, template=Name.REFERRAL_THANKS), kind=Kind.THANKS)
        outbox_id = self.store.add_outgoing(conn, message_id, thanks.kind, thanks.channel, thanks.to, thanks.message_id,
                                            thanks.subject, thanks.body, thanks.raw, held=True)
        draft_id = self.store.add_draft(conn, message_id, outbox_id, mail_copy=False)
        for notice in self.composer.draft_notices(draft_id, inbound, classification):
            self.store.add_outgoing(conn, message_id, notice.kind, notice.channel, notice.to, notice.message_id,
                                    notice.subject, notice.body, notice.raw)


def _incoming(row: dict[str, Any]) -> Entry:
    if row["text"] is not None:
        text = row["text"]
    elif row["raw"]:  # recorded before the text was kept: read again
        read = parse_recorded(row["raw"], Channel(row["channel"]), row["key"], row["sender"])
        text = read.fresh_text or read.text
    else:
        text = "(removed under storage.retention_days)"
    return Entry(row["recorded_at"], True, row["channel"], row["category"] or "unread", row["sender"], row["subject"] or "", text,
                 row["status"])


def _outgoing(row: dict[str, Any]) -> Entry:
    return Entry(row["created_at"], False, row["channel"], row["kind"], row["to_addr"], row["subject"] or "", row["body"] or "",
                 row["state"], row["author"])


