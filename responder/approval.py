"""Drafts a clinician approves, edits or rejects: the one place the page and the command line
share, and the reminders and fallbacks for drafts nobody has answered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from .config import Config
from .model import Category, Channel, Classification, DraftEvent, DraftState, Facts, Inbound, MailCopy
from .redact import mask
from .replying.compose import Composer, RenderError
from .storage.store import Store, utcnow
from .triage.parse import parse_stored

log = logging.getLogger(__name__)


class MailDrafts(Protocol):
    """The mailbox's Drafts folder (transports.imap_drafts.ImapDrafts)."""

    def place(self, raw: bytes) -> None: ...
    def where(self, message_id: str) -> str | None: ...
    def remove(self, message_id: str) -> bool: ...


@dataclass(frozen=True)
class DraftView:
    """What a clinician needs to decide: who wrote what, why responder read it so, the reply."""

    id: int
    state: str
    category: str
    channel: str
    to: str
    subject: str
    body: str
    created_at: datetime
    sender: str
    message_subject: str
    message_text: str
    reasons: tuple[str, ...]  # why it was read so: the reasons, then the model's evidence
    clinician: str | None = None  # the clinician its conversation is assigned to: a clinician user sees only theirs

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "category": self.category, "channel": self.channel, "to": self.to,
                "subject": self.subject, "body": self.body, "created_at": self.created_at.isoformat() + "Z",
                "from": self.sender, "reasons": list(self.reasons)}


class Approvals:
    def __init__(self, config: Config, store: Store, composer: Composer) -> None:
        self.config = config
        self.store = store
        self.composer = composer

    def waiting(self) -> list[DraftView]:
        return [self._view(row) for row in self.store.drafts((DraftState.WAITING,))]

    def get(self, draft_id: int) -> DraftView | None:
        row = self.store.draft(draft_id)
        return self._view(row) if row else None

    def approve(self, draft_id: int, actor: str, body: str | None = None) -> bool:
        """Release a waiting draft, with the clinician's edits if the body changed. False when it
        is not waiting any more (decided meanwhile by someone else, or from a mail program)."""
        row = self.store.draft(draft_id)
        if row is None or row["state"] != DraftState.WAITING:
            return False
        if body is not None and _same(body, row["body"]):
            body = None
        raw = None if body is None else self.composer.rebody(row["raw"], row["channel"], body)
        if body is not None and row["channel"] == Channel.SMS:
            body = raw.decode("utf-8") if raw else body
        done = self.store.approve_draft(draft_id, actor, body, raw)
        if done:
            log.info("draft %s approved%s by %s", draft_id, " with edits" if body is not None else "", actor)
        return done

    def reject(self, draft_id: int, actor: str) -> bool:
        done = self.store.reject_draft(draft_id, actor)
        if done:
            log.info("draft %s rejected by %s", draft_id, actor)
        return done

    def history(self, limit: int = 200, clinician: str | None = None) -> list[dict[str, Any]]:
        return self.store.draft_events(limit, clinician)

    def remind_and_fall_back(self) -> int:
        """Remind practice.notify of drafts waiting too long; past the fallback time, send the
        person a neutral acknowledgement. Each happens once per draft. The number of messages owed."""
        count = 0
        settings = self.config.approval
        if settings.remind_after_minutes is not None:
            for row in self.store.drafts_waiting_since(utcnow() - timedelta(minutes=settings.remind_after_minutes), "reminded_at"):
                inbound, classification = _reread(row)
                clinician = self.config.practice.clinician(row["clinician"])  # the conversation's, reminded too
                count += self._owe(row, "reminded_at", DraftEvent.REMINDED,
                                   self.composer.draft_notices(row["id"], inbound, classification, reminder=True, clinician=clinician))
        if settings.fallback_after_minutes is not None:
            for row in self.store.drafts_waiting_since(utcnow() - timedelta(minutes=settings.fallback_after_minutes), "fallback_at"):
                inbound, classification = _reread(row)
                try:
                    fallback = self.composer.fallback(inbound, classification)
                except RenderError as error:  # one draft's broken template holds back no other draft; this one still waits
                    log.error("draft %s: no fallback sent, its template failed (%s)", row["id"], error.place)
                    continue
                count += self._owe(row, "fallback_at", DraftEvent.FALLBACK, [fallback])
        return count

    def sync_mail_copies(self, mailbox: MailDrafts) -> None:
        """Keep the Drafts-folder copies and the drafts here in step: a waiting draft gets its copy;
        a copy sent from a mail program (it shows in Sent) or gone from Drafts means the clinician
        handled it there, so it is never sent from here; a draft decided here loses its copy, so
        nobody sends it again from a mail program."""
        for row in self.store.drafts_with_mail_copy((MailCopy.WANTED, MailCopy.PLACED)):
            waiting = row["state"] == DraftState.WAITING
            if row["mail_copy"] == MailCopy.WANTED:
                if waiting:
                    mailbox.place(row["raw"])
                self.store.set_mail_copy(row["id"], MailCopy.PLACED if waiting else MailCopy.REMOVED)
            elif not waiting:
                mailbox.remove(row["msgid"])
                self.store.set_mail_copy(row["id"], MailCopy.REMOVED)
            elif (found := mailbox.where(row["msgid"])) != "drafts":
                how = "sent from a mail program" if found == "sent" else "left the Drafts folder in a mail program"
                if self.store.take_over_draft(row["id"], how):
                    log.info("draft %s %s: it will not be sent from here", row["id"], how)
                self.store.set_mail_copy(row["id"], MailCopy.REMOVED)

    def _owe(self, row: dict[str, Any], column: str, action: DraftEvent, outgoing: list[Any]) -> int:
        with self.store.transaction() as conn:
            if not self.store.mark_draft(conn, row["id"], column, action):
                return 0
            for item in outgoing:
                self.store.add_outgoing(conn, row["message_id"], item.kind, item.channel, item.to, item.message_id, item.subject, item.body, item.raw)
        log.info("draft %s: %s (to %s)", row["id"], action, ", ".join(mask(item.to) for item in outgoing) or "nobody")
        return len(outgoing)

    def _view(self, row: dict[str, Any]) -> DraftView:
        inbound, _ = _reread(row)
        return DraftView(
            id=row["id"], state=row["state"], category=row["category"], channel=row["channel"], to=row["to_addr"],
            subject=row["subject"], body=row["body"], created_at=row["created_at"], sender=row["sender"],
            message_subject=row["message_subject"], message_text=inbound.fresh_text or inbound.text,
            reasons=(*(row["reasons"] or ()), *(row["evidence"] or ())), clinician=row["clinician"],
        )


def _reread(row: dict[str, Any]) -> tuple[Inbound, Classification]:
    """The message and its classification again, from what the store kept."""
    raw = row["message_raw"] or b""
    inbound = parse_stored(raw, Channel(row["channel"]))
    facts = row["facts"] or {}
    classification = Classification(
        Category(row["category"]),
        # A draft's reminders and fallback are written in the person's language ("en" for rows
        # recorded before the language was kept).
        Facts(facts.get("insurance", "unknown"), tuple(facts.get("services", ())), facts.get("modality", "unknown"), row["to_addr"],
              facts.get("language", "en")),
        tuple(row["reasons"] or ()),
        tuple(row["evidence"] or ()),
    )
    return inbound, classification


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())
