"""The values that flow through the pipeline: plain, immutable, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["email", "sms"]


@dataclass(frozen=True)
class Inbound:
    """One message as a person (or a machine) sent it, normalised across channels."""

    channel: Channel
    key: str  # what makes it the same message on a second sight: Message-ID, header hash or MessageSid
    sender: str  # From: an address (lowercase) or a phone number
    sender_name: str = ""
    reply_to: tuple[str, ...] = ()  # the Reply-To addresses, in order
    recipients: tuple[str, ...] = ()  # To and Cc
    subject: str = ""
    text: str = ""  # the whole readable text
    fresh_text: str = ""  # what the person wrote this time: quoted replies and signatures removed
    headers: dict[str, str] = field(default_factory=dict)  # lowercase name -> first value, decoded
    content_type: str = "text/plain"
    part_types: tuple[str, ...] = ()  # the content types of every part, to spot invitations and reports
    message_id: str | None = None  # as written, with angle brackets
    references: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()

    @property
    def reading(self) -> str:
        """The subject and what the person wrote this time: what the classifiers read."""
        return "\n".join(filter(None, (self.subject, self.fresh_text or self.text)))


@dataclass(frozen=True)
class Facts:
    insurance: str = "unknown"  # a plan id, self_pay, other or unknown
    services: tuple[str, ...] = ()
    modality: str = "unknown"  # telehealth, in_person or unknown
    reply_to: str | None = None  # where a personal reply goes; None for machines and vendors
    language: str = "en"  # the reply's language: "es" for a message written in Spanish


@dataclass(frozen=True)
class Classification:
    category: str
    facts: Facts
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """What to do with a classified message."""

    action: str  # auto, approve, off, refer_out or crisis
    reasons: tuple[str, ...]
    alert: bool = False  # tell a clinician at once: risk
    task: str | None = None  # give a clinician something to do: "client_message", "referral"
    template: str | None = None  # the reply's template name when it is not the category's own

    @property
    def replies(self) -> bool:
        return self.action != "off"


@dataclass(frozen=True)
class Outgoing:
    """A message ready for a transport: rendered once, so a resend is byte for byte the same."""

    kind: str  # reply, alert
    channel: Channel
    to: str
    message_id: str  # chosen when rendered: a resend after a crash is the same message
    subject: str
    body: str
    raw: bytes  # the whole message as the transport sends it (RFC 5322 for email)
