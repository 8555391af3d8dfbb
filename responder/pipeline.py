"""One inbound message from bytes to recorded decision and outbox rows.

The pure steps (parse, guard, classify, decide, compose) run first; then one transaction records
the message and the replies it is owed, so a crash leaves either both or neither. A message that
cannot be read, or that breaks a rule or a template, is recorded as such and skipped: it never
stops the loop and is never lost. A text from the webhook may take two steps: recorded as
received while Twilio waits, then settled (read, decided, owed its replies) off the request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Connection

from .calendars.keeper import Calendars
from .calendars.openings import offers_for
from .config import Config
from .conversations.identify import message_keys, own_identities
from .model import Action, Category, Channel, Classification, Decision, Facts, Inbound, Kind, Outgoing, Status
from .redact import mask
from .replying.compose import Composer, RenderError
from .replying.policy import decide
from .storage import conversations
from .storage.store import Recorded, Store, naive_utc, utcnow
from .triage.classify import classify
from .triage.facts.referrer import referral_source
from .triage.guard import sms_keyword
from .triage.parse import parse_email, parse_recorded, parse_sms, parse_stored

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    message_id: int | None  # the store's row; None only for a message already recorded
    status: Status
    category: Category | None = None
    action: Action | None = None


class Pipeline:
    def __init__(self, config: Config, store: Store, composer: Composer, calendars: Calendars) -> None:
        self.config = config
        self.store = store
        self.composer = composer
        self.calendars = calendars  # read in the background: a reply only looks at what is kept
        self._settling = threading.Lock()  # one settling run at a time here; other processes race by row
        practice = config.practice
        self._own = own_identities(practice.own_addresses | {practice.notify.email or ""},
                                   (practice.phone, practice.notify.sms, config.sms.twilio.from_number if config.sms else None))
        self._close_after = timedelta(days=config.conversations.close_after_days)

    def ingest_email(self, source: str, raw: bytes, arrived_at: datetime | None = None,
                     answer_from: datetime | None = None) -> Outcome:
        """Record one email from ``source`` once and owe it its replies. Mail that arrived before
        ``answer_from`` (the first-run window) is recorded but not answered."""
        inbound = self._read_email(source, raw, arrived_at)
        if isinstance(inbound, Outcome):
            return inbound
        return self._process(source, inbound, raw, naive_utc(arrived_at), naive_utc(answer_from))

    def ingest_oversized(self, source: str, header: bytes, size: int, arrived_at: datetime | None = None) -> Outcome:
        """Record, from its header alone, an email over ``email.max_message_bytes``: kept for a
        person to open in the mailbox, never read or answered here."""
        inbound = self._read_email(source, header, arrived_at)
        if isinstance(inbound, Outcome):
            return inbound
        log.warning("message from %s is %s bytes, over email.max_message_bytes: recorded, not read", mask(inbound.sender), size)
        reason = f"too large to read ({size} bytes, limit email.max_message_bytes): recorded, not answered"
        return self._record(source, inbound, header, naive_utc(arrived_at), None, None, Status.TOO_LARGE, [reason])

    def _read_email(self, source: str, raw: bytes, arrived_at: datetime | None) -> Inbound | Outcome:
        """The parsed email, or the outcome already reached: recorded as unreadable, or seen before."""
        try:
            inbound = parse_email(raw)
        except Exception as error:  # noqa: BLE001 - unreadable mail is recorded, never fatal
            return self._record_unreadable(source, raw, arrived_at, error)
        if self.store.seen(source, inbound.key):
            return Outcome(None, Status.DUPLICATE)
        return inbound

    def ingest_sms(self, source: str, form: Mapping[str, str], arrived_at: datetime | None = None,
                   answer_from: datetime | None = None, defer: bool = False) -> Outcome:
        """Record one text (the form Twilio posts, or the same fetched by polling) once and owe it
        its replies. STOP and START take effect in the same transaction that records them, so a
        text that follows a STOP is never answered; responder adds no reply of its own to either
        (Twilio confirms opt-outs itself). HELP gets the help text.

        With ``defer`` (the webhook, which owes Twilio a quick answer) a text that must be read
        is only recorded, as received: ``settle`` reads it and owes its replies, in the order the
        texts came. The keywords, and texts from a number that opted out, are cheap to settle
        and are settled at once, so that every text is read against the opt-out it came under."""
        raw = json.dumps(dict(form), sort_keys=True, ensure_ascii=False).encode("utf-8")
        try:
            inbound = parse_sms(form)
        except ValueError as error:
            return self._record_unreadable(source, raw, arrived_at, error, Channel.SMS)
        arrived, window = naive_utc(arrived_at), naive_utc(answer_from)
        keyword = sms_keyword(inbound.text)
        if defer and keyword is None and (received := self._receive(source, inbound, raw, arrived)):
            return received
        if self.store.seen(source, inbound.key):
            return Outcome(None, Status.DUPLICATE)
        opted_out = self.store.opted_out(inbound.sender)
        if keyword in ("stop", "start") and (keyword == "stop" or opted_out):
            return self._opt(source, inbound, raw, arrived, opted_in=keyword == "start")
        if keyword == "help" and not opted_out:
            try:
                help_reply = self.composer.help_reply(inbound, first_text=not self.store.texted_before(inbound.sender))
            except RenderError as error:  # recorded, never lost: the text stays in the store for a person
                log.error("message %s: the help template failed (%s)", _short(inbound.key), error.place)
                return self._record(source, inbound, raw, arrived, None, None, Status.ERROR, [f"HELP: the help template failed ({error.place})"])
            return self._record(source, inbound, raw, arrived, None, None, Status.ANSWERED, ["HELP: the help text"], [help_reply])
        return self._process(source, inbound, raw, arrived, window)

    def _receive(self, source: str, inbound: Inbound, raw: bytes, arrived_at: datetime | None) -> Outcome | None:
        """Record a text as received, in one short transaction. None, recording nothing, when the
        number has opted out: that text is settled at once, against its opt-out."""
        with self.store.transaction() as conn:
            if self.store.opted_out(inbound.sender, conn):
                return None
            recorded = self.store.record(conn, _row(source, inbound, raw, arrived_at, None, None, Status.RECEIVED, []))
        return Outcome(None, Status.DUPLICATE) if recorded.duplicate else Outcome(recorded.id, Status.RECEIVED)

    def settle(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Read and owe the replies of the texts recorded as received, oldest first, until none
        is left or ``stopping()``; returns how many were settled here. A received text survives
        any crash: whoever runs next settles it, and a text two workers both read is settled by
        the first to write, once."""
        settled = 0
        with self._settling:
            while not stopping() and (batch := self.store.received()):
                for row in batch:
                    if stopping():
                        break
                    try:
                        inbound = parse_stored(row.raw, Channel.SMS)
                    except ValueError as error:  # it parsed when received; a store edited since is not to stop the loop
                        outcome = self._record(row.source, Inbound(channel=Channel.SMS, key=row.key, sender=""), row.raw, row.received_at,
                                               None, None, Status.UNREADABLE, [f"unreadable: {error}"], settling=row.id)
                    else:
                        outcome = self._process(row.source, inbound, row.raw, row.received_at, None, settling=row.id)
                    settled += outcome.message_id is not None
        return settled

    def _process(self, source: str, inbound: Inbound, raw: bytes, arrived_at: datetime | None,
                 answer_from: datetime | None, settling: int | None = None) -> Outcome:
        try:
            classification = classify(inbound, self.config)
            decision = decide(classification, self.config)
            first_text = inbound.channel == Channel.SMS and not self.store.texted_before(inbound.sender)
            offers = offers_for(self.config, self.calendars, classification, datetime.now(timezone.utc))
            outgoing = self.composer.outgoing(inbound, classification, decision, first_text, offers)
        except Exception as error:  # noqa: BLE001 - a rule or template that breaks must not stop the loop
            log.error("message %s from %s could not be processed: %s", _short(inbound.key), mask(inbound.sender), type(error).__name__)
            return self._record(source, inbound, raw, arrived_at, None, None, Status.ERROR, [f"processing failed: {type(error).__name__}"],
                                settling=settling)

        reasons = [*classification.reasons, *decision.reasons]
        with self.store.transaction() as conn:
            now = utcnow()
            keyed = message_keys(inbound, classification.category, classification.facts.reply_to, self._own)
            joined = conversations.join(conn, keyed, now, self._close_after) if keyed is not None else None
            # A person writing again after our first reply is answered by a person, never a second
            # automatic reply: the conversation waits on us and practice.notify is told. A crisis
            # still gets its reply and alert at once.
            assigned = self.config.practice.clinician(joined.clinician) if joined is not None and joined.clinician else None
            if assigned is not None and decision.alert:
                # The clinician the person's conversation is assigned to is alerted too, at once
                # (practice.notify's alerts were written above, and stand if hers cannot be).
                try:
                    outgoing = [*outgoing, *self.composer.crisis_alerts(inbound, classification, decision.action, assigned, practice=False)]
                except RenderError as error:
                    log.error("message from %s: the assigned clinician's crisis alert could not be written (%s)", mask(inbound.sender), error.place)
            early = answer_from is not None and arrived_at is not None and arrived_at < answer_from
            # The referrer writing again about their client (a reply to our thank-you, more about
            # them) is for a person too: the thank-you already went, and no first reply fits.
            referrer = joined is not None and joined.referral_source is not None and inbound.sender.lower() == joined.referral_source
            follows = joined is not None and joined.going_on and (joined.answered or referrer) and not early
            if early:
                reasons.append("arrived before the first run's window: recorded, not answered")
                outgoing = []
            elif follows and classification.category != Category.CRISIS:
                reasons.append("writes again in a conversation already answered: no automatic reply, it waits on a person")
                outgoing = [o for o in outgoing if o.kind not in (Kind.REPLY, Kind.TASK)]
            reply = next((o for o in outgoing if o.kind == Kind.REPLY), None)
            if reply is not None and reply.channel == Channel.SMS and self.store.opted_out(reply.to, conn):
                reasons.append("the number opted out (STOP): nothing is sent to it")
                outgoing = [o for o in outgoing if o.kind != Kind.REPLY]
            elif reply is not None and decision.action != Action.CRISIS:
                since = utcnow() - timedelta(days=self.config.replies.throttle_days)
                if self.store.replied_recently(conn, reply.to, since):
                    reasons.append(f"already answered this address within {self.config.replies.throttle_days:g} days")
                    outgoing = [o for o in outgoing if o.kind != Kind.REPLY]
            notice_due = follows and not any(o.kind == Kind.ALERT for o in outgoing) and self._notice_due(joined, now)
            if follows and not notice_due:
                reasons.append(f"practice.notify was told of this conversation within {self.config.conversations.notice_every_minutes:g} minutes: "
                               "the next notice lists it")
            if notice_due:
                outgoing = [*outgoing, *self._notices(inbound, classification, conn, joined)]
            status = _status(decision, outgoing)
            row = _row(source, inbound, raw, arrived_at, classification, decision, status, reasons)
            if joined is not None:
                row["conversation_id"] = joined.id
            recorded = self._write(conn, row, settling)
            if recorded.duplicate:
                # Another worker recorded it first: the transaction holds nothing but this
                # message's work, so rolling it back undoes what was joined for it (no savepoint).
                conn.rollback()
                return Outcome(None, Status.DUPLICATE)
            # A new person's conversation is the best fitting clinician's: their notices follow it.
            matched = offers.named[0].clinician if offers.named else None
            assign = matched.id if joined is not None and joined.new and matched is not None else None
            waitlisted = offers.full and any(o.kind == Kind.REPLY for o in outgoing)
            # A conversation made for this message is open already, its activity now: only a
            # clinician or the waitlist is news to it.
            if joined is not None and (not joined.new or assign is not None or waitlisted):
                conversations.moved_on(conn, joined.id, now, waiting_on_us=True if follows else None,
                                       noticed_at=utcnow() if notice_due else None, clinician=assign, waitlisted=waitlisted)
            clinician = assigned or matched
            if classification.category == Category.PROFESSIONAL_REFERRAL:
                name, organization = referral_source(inbound)
                self.store.add_referral(conn, recorded.id, inbound.sender, name, organization)
            for item in outgoing:
                held = item.kind == Kind.REPLY and decision.action == Action.APPROVE
                outbox_id = self.store.add_outgoing(conn, recorded.id, item.kind, item.channel, item.to, item.message_id,
                                                    item.subject, item.body, item.raw, held=held)
                if held:
                    mail_copy = self.config.approval.imap_drafts and item.channel == Channel.EMAIL
                    draft_id = self.store.add_draft(conn, recorded.id, outbox_id, mail_copy)
                    for notice in self.composer.draft_notices(draft_id, inbound, classification, clinician=clinician):
                        self.store.add_outgoing(conn, recorded.id, notice.kind, notice.channel, notice.to, notice.message_id,
                                                notice.subject, notice.body, notice.raw)
        log.info("message %s from %s: %s, %s, %s", recorded.id, mask(inbound.sender), classification.category, decision.action, status)
        return Outcome(recorded.id, status, classification.category, decision.action)

    def notify_waiting(self) -> int:
        """Tell practice.notify of what a person wrote within notice_every_minutes of the last
        notice, once that time has passed: a message held back by the interval reaches a person
        even when nothing follows it. Returns how many notices are owed."""
        every = timedelta(minutes=self.config.conversations.notice_every_minutes)
        owed = 0
        with self.store.engine.connect() as conn:
            waiting = conversations.notices_owed(conn, utcnow() - every)
        for conversation_id, message_id, last_notice_at, clinician in waiting:
            row = self.store.message(message_id)
            if row is None:
                continue
            inbound = parse_recorded(row["raw"], Channel(row["channel"]), row["key"], row["sender"])
            classification = Classification(Category(row["category"]) if row["category"] else Category.NEW_INQUIRY,
                                            Facts(reply_to=row["reply_to"]), ())
            with self.store.transaction() as conn:
                if not conversations.claim_notice(conn, conversation_id, last_notice_at, utcnow()):
                    continue  # another worker told them
                new = [{"channel": r.channel, "category": r.category} for r in conversations.news(conn, conversation_id, last_notice_at)]
                for notice in self.composer.conversation_notices(inbound, classification, new, self.config.practice.clinician(clinician)):
                    self.store.add_outgoing(conn, message_id, notice.kind, notice.channel, notice.to, notice.message_id,
                                            notice.subject, notice.body, notice.raw)
                    owed += 1
            log.info("conversation %s: practice.notify told of %s message(s) held back by the notice interval", conversation_id, len(new))
        return owed

    def _notice_due(self, joined: conversations.Joined, now: datetime) -> bool:
        """A new message is told at once; more wait until notice_every_minutes after the last notice."""
        every = timedelta(minutes=self.config.conversations.notice_every_minutes)
        return joined.last_notice_at is None or now - joined.last_notice_at >= every

    def _notices(self, inbound: Inbound, classification: Classification, conn: Connection, joined: conversations.Joined) -> list[Outgoing]:
        """The notice to practice.notify: every message of the conversation since the last notice, and this one."""
        new = [{"channel": row.channel, "category": row.category} for row in conversations.news(conn, joined.id, joined.last_notice_at)]
        new.append({"channel": inbound.channel, "category": classification.category})
        notices = self.composer.conversation_notices(inbound, classification, new, self.config.practice.clinician(joined.clinician))
        if not notices:
            log.warning("message from %s waits on a person, and practice.notify has no route to tell anyone", mask(inbound.sender))
        return notices

    def _record_unreadable(self, source: str, raw: bytes, arrived_at: datetime | None, error: Exception,
                           channel: Channel = Channel.EMAIL) -> Outcome:
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
        if self.store.seen(source, key):
            return Outcome(None, Status.DUPLICATE)
        log.warning("unreadable message %s skipped: %s", key[:19], type(error).__name__)
        inbound = Inbound(channel=channel, key=key, sender="")
        return self._record(source, inbound, raw, naive_utc(arrived_at), None, None, Status.UNREADABLE, [f"unreadable: {error}"])

    def _opt(self, source: str, inbound: Inbound, raw: bytes, arrived_at: datetime | None, opted_in: bool) -> Outcome:
        status, reason = (Status.OPTED_IN, "START: the number opted back in") if opted_in else (Status.OPTED_OUT, "STOP: the number opted out")
        with self.store.transaction() as conn:
            recorded = self.store.record(conn, _row(source, inbound, raw, arrived_at, None, None, status, [reason]))
            if recorded.duplicate:
                return Outcome(None, Status.DUPLICATE)
            self.store.set_opted_out(inbound.sender, not opted_in, conn)
        log.info("message %s from %s: %s", recorded.id, mask(inbound.sender), status)
        return Outcome(recorded.id, status)

    def _record(self, source: str, inbound: Inbound, raw: bytes, arrived_at: datetime | None,
                classification: Classification | None, decision: Decision | None, status: Status, reasons: list[str],
                outgoing: Sequence[Outgoing] = (), settling: int | None = None) -> Outcome:
        with self.store.transaction() as conn:
            recorded = self._write(conn, _row(source, inbound, raw, arrived_at, classification, decision, status, reasons), settling)
            if recorded.duplicate:
                return Outcome(None, Status.DUPLICATE)
            for item in outgoing:
                self.store.add_outgoing(conn, recorded.id, item.kind, item.channel, item.to, item.message_id, item.subject, item.body, item.raw)
        return Outcome(recorded.id, status)

    def _write(self, conn: Connection, row: dict[str, object], settling: int | None) -> Recorded:
        """The message's row: a new one, or the received one being settled."""
        return self.store.record(conn, row) if settling is None else self.store.settle(conn, settling, row)


def _status(decision: Decision, outgoing: list[Outgoing]) -> Status:
    kinds = {o.kind for o in outgoing}
    if Kind.REPLY in kinds:
        return Status.HELD if decision.action == Action.APPROVE else Status.ANSWERED
    if Kind.ALERT in kinds:
        return Status.ALERTED
    return Status.NOTIFIED if kinds & {Kind.TASK, Kind.RENDER_FAILED, Kind.CONVERSATION_NOTICE} else Status.SKIPPED


def _row(source: str, inbound: Inbound, raw: bytes, arrived_at: datetime | None, classification: Classification | None,
         decision: Decision | None, status: Status, reasons: list[str]) -> dict[str, object]:
    facts = classification.facts if classification else None
    return {
        "source": source, "key": inbound.key[:500], "channel": inbound.channel, "sender": inbound.sender[:320],
        "reply_to": facts.reply_to if facts else None, "subject": inbound.subject, "received_at": arrived_at, "raw": raw,
        "text": inbound.fresh_text or inbound.text,
        "category": classification.category if classification else None,
        "action": decision.action if decision else None, "status": status, "reasons": reasons,
        "evidence": list(classification.evidence) if classification else [],
        "facts": {"insurance": facts.insurance, "services": list(facts.services), "modality": facts.modality,
                  "language": facts.language} if facts else {},
    }


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]
