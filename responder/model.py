"""The values that flow through the pipeline: plain, immutable, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


# The names below are what the store, the JSON output and the configuration hold: each enum is a
# str, so a value read back from the database or written to JSON is the same word.
class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Category(StrEnum):
    """What a message is (the contract's categories)."""

    NEW_INQUIRY = "new_inquiry"
    PROFESSIONAL_REFERRAL = "professional_referral"
    EXISTING_CLIENT = "existing_client"
    CRISIS = "crisis"
    AUTOMATED = "automated"
    SOLICITATION = "solicitation"


class Action(StrEnum):
    """What is done with a message: the practice's modes (auto, approve, off) and the two the
    policy chooses itself."""

    AUTO = "auto"
    APPROVE = "approve"
    OFF = "off"
    REFER_OUT = "refer_out"
    CRISIS = "crisis"


class Task(StrEnum):
    """Something for a clinician to do about a message."""

    CLIENT_MESSAGE = "client_message"  # a current client wrote
    REFERRAL = "referral"  # reach the client a professional referred
    CHECK_PERSON = "check_person"  # the headers say machine mail, the model a person: look at it
    REACH_OUT = "reach_out"  # a person wrote but left no address to answer by (a web form with a phone number only)


class Status(StrEnum):
    """What became of a recorded message (messages.status)."""

    RECEIVED = "received"  # a text recorded by the webhook, not yet settled
    ANSWERED = "answered"
    HELD = "held"  # its reply waits as a draft
    ALERTED = "alerted"
    NOTIFIED = "notified"
    SKIPPED = "skipped"
    UNREADABLE = "unreadable"
    TOO_LARGE = "too_large"
    ERROR = "error"  # a rule or a template broke on it: recorded, a person reads it in the mailbox
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    DUPLICATE = "duplicate"  # never stored: what a second sight of a message is told


class Kind(StrEnum):
    """What an outgoing message is (outbox.kind): one of each per message, channel and recipient,
    but for a clinician's own replies."""

    REPLY = "reply"
    ALERT = "alert"
    HELP = "help"
    TASK = "task"
    NOTICE = "notice"
    REMINDER = "reminder"
    FALLBACK = "fallback"
    RENDER_FAILED = "render_failed"  # tells practice.notify that a template failed for this message
    CONVERSATION_NOTICE = "conversation_notice"  # tells practice.notify that a person wrote again in a conversation
    HUMAN_REPLY = "human_reply"  # a clinician's own reply to the person, from the page or the CLI (any number per message)
    THANKS = "thanks"  # the thank-you to a referrer drafted when their referral becomes a client


class ConversationStatus(StrEnum):
    """Whether a person's conversation is going on: closed by an outcome, or after
    ``conversations.close_after_days`` with nothing new; a new message reopens it."""

    OPEN = "open"
    CLOSED = "closed"


class ConversationOutcome(StrEnum):
    """What became of a conversation, as a clinician records it."""

    CONSULTATION_BOOKED = "consultation_booked"
    BECAME_CLIENT = "became_client"
    REFERRED_OUT = "referred_out"
    CLOSED = "closed"


class MailAuth(StrEnum):
    """How responder signs in to IMAP and SMTP (email.imap.auth, email.smtp.auth)."""

    PASSWORD = "password"
    OAUTH2 = "oauth2"  # an access token from email.oauth2: Microsoft 365, Google Workspace


class OAuthProvider(StrEnum):
    """Whose tokens email.oauth2 holds: each is refreshed by its own library (integrations/oauth2)."""

    MICROSOFT = "microsoft"  # msal
    GOOGLE = "google"  # google-auth
    GENERIC = "generic"  # RFC 6749 refresh to email.oauth2.token_url


class OAuthFlow(StrEnum):
    """Whose authority the token carries (email.oauth2.flow)."""

    DELEGATED = "delegated"  # the mailbox's own sign-in (`responder connect`), kept as a refresh token
    APP_ONLY = "app_only"  # an administrator's app: Microsoft's client credentials, Google's service account


class Role(StrEnum):
    """What a clinician signed in to the page may see (web.clinicians[].role)."""

    ADMIN = "admin"  # everything, and the access log
    INTAKE = "intake"  # every conversation
    CLINICIAN = "clinician"  # the conversations assigned to them


class Access(StrEnum):
    """What a clinician did with a conversation (access_log.action): who saw which, when."""

    VIEWED = "viewed"
    REPLIED = "replied"
    MARKED = "marked"
    ASSIGNED = "assigned"


class CalendarState(StrEnum):
    """How a clinician's calendar was read (`responder availability`'s ``calendar``)."""

    OK = "ok"
    NONE = "none"  # no calendar configured
    FAILED = "failed"


class IdentityKind(StrEnum):
    """What a person is known by: an address or a phone number (E.164)."""

    EMAIL = "email"
    PHONE = "phone"


class ReplyState(StrEnum):
    """Where an outgoing message is on its way out (outbox.state)."""

    HELD = "held"  # waits for a clinician's approval
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"
    REJECTED = "rejected"  # a clinician rejected the draft
    WITHDRAWN = "withdrawn"  # sent or discarded from a mail program instead


class DraftState(StrEnum):
    """A held reply's life: waiting -> approved -> sent; or rejected; or taken_over (sent or
    discarded from a mail program)."""

    WAITING = "waiting"
    APPROVED = "approved"
    SENT = "sent"
    REJECTED = "rejected"
    TAKEN_OVER = "taken_over"


class DraftEvent(StrEnum):
    """What happened to a draft, for its history (draft_events.action)."""

    CREATED = "created"
    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    SENT = "sent"
    REMINDED = "reminded"
    FALLBACK = "fallback"
    TAKEN_OVER = "taken_over"


class MailCopy(StrEnum):
    """A draft's copy in the IMAP Drafts folder (drafts.mail_copy; none when not wanted)."""

    WANTED = "wanted"  # to be placed there
    PLACED = "placed"
    REMOVED = "removed"


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
    age: int | None = None  # the age in years of the person the therapy is for (the youngest, of several)
    clinician: str | None = None  # the id of a clinician of the practice the person asks for by name
    name: str | None = None  # the person's first name, to greet them by
    zone: str | None = None  # the time zone the person names (IANA), for their own time beside the practice's


@dataclass(frozen=True)
class Classification:
    category: Category
    facts: Facts
    reasons: tuple[str, ...]  # why, in words that quote nothing the person wrote
    # The learned model's reading, which quotes the words that moved it: shown beside the
    # reasons, and purged with the message's words (storage.retention_days).
    evidence: tuple[str, ...] = ()
    # The headers say machine mail but the model reads a person's inquiry or crisis: not to be
    # answered automatically, nor dropped: for a human to look at.
    unsure_if_person: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do with a classified message."""

    action: Action
    reasons: tuple[str, ...]
    alert: bool = False  # tell a clinician at once: risk
    task: Task | None = None  # give a clinician something to do
    template: str | None = None  # the reply's template name when it is not the category's own

    @property
    def replies(self) -> bool:
        return self.action != Action.OFF


@dataclass(frozen=True)
class Outgoing:
    """A message ready for a transport: rendered once, so a resend is byte for byte the same."""

    kind: Kind
    channel: Channel
    to: str
    message_id: str  # chosen when rendered: a resend after a crash is the same message
    subject: str
    body: str
    raw: bytes  # the whole message as the transport sends it (RFC 5322 for email)
