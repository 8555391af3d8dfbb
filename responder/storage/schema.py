"""The tables, as SQLAlchemy Core metadata: what every migration upgrades a store to.

A change here is a change of schema: it ships with a migration in migrations/versions/, and the
migration test compares a migrated store with this metadata.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, func, text

from .seal import SealedBytes, SealedJSON, SealedText

metadata = MetaData()

messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(300), nullable=False),  # which mailbox or number it came through
    Column("key", String(500), nullable=False),  # Message-ID, header hash or MessageSid
    Column("channel", String(10), nullable=False),
    Column("sender", String(320), nullable=False, default=""),
    Column("reply_to", String(320)),
    Column("subject", SealedText, nullable=False, default=""),
    Column("received_at", DateTime),  # the server's arrival time
    Column("recorded_at", DateTime, nullable=False),
    Column("raw", SealedBytes),
    # What the person wrote this time, as read when it came: the timeline shows it without
    # parsing the raw form again; purged with it (migration 0005; None for rows from before).
    Column("text", SealedText),
    Column("category", String(40)),
    Column("action", String(20)),
    Column("status", String(20), nullable=False),  # answered, held, skipped, unreadable, too_large, ...
    Column("reasons", JSON, nullable=False, default=list),  # why, in words that quote nothing the person wrote
    # The learned model's reading, which quotes the person's words: purged with them (migration 0002).
    Column("evidence", SealedJSON, nullable=False, default=list, server_default="[]"),  # the model's reading: quotes the person
    Column("facts", JSON, nullable=False, default=dict),
    # The person's conversation (migration 0003); None for a machine's, a vendor's or an unread message.
    Column("conversation_id", Integer, ForeignKey("conversations.id", name="fk_messages_conversation_id")),
    UniqueConstraint("source", "key", name="uq_messages_source_key"),
)

# One person's conversation, across every address and number they use (conversations/identify.py).
conversations = Table(
    "conversations", metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String(10), nullable=False),  # ConversationStatus: open, closed
    Column("waiting_on_us", Boolean, nullable=False, default=False),  # the person wrote again and no one here has answered
    Column("clinician", String(100)),  # the assigned clinician's id (practice.clinicians), if any
    Column("outcome", String(30)),  # ConversationOutcome, once recorded
    Column("referral_source", String(320)),  # the referring professional's address, for a referral
    Column("created_at", DateTime, nullable=False),
    Column("last_activity_at", DateTime, nullable=False),
    Column("last_notice_at", DateTime),  # when practice.notify was last told of new messages here
    Column("waitlist_since", DateTime),  # told the clinicians who fit are full: on the waitlist since (migration 0006)
)

# The addresses and numbers a person is known by: each belongs to one conversation.
identities = Table(
    "identities", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", Integer, ForeignKey("conversations.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # IdentityKind: email, phone
    Column("value", String(320), nullable=False),  # an address in lower case, a number in E.164
    UniqueConstraint("kind", "value", name="uq_identities_kind_value"),
)
Index("ix_messages_conversation_id", messages.c.conversation_id)
# The page lists those waiting on us first, then by last activity; the CLI by last activity (0004).
Index("ix_conversations_waiting", conversations.c.waiting_on_us, conversations.c.last_activity_at)
Index("ix_conversations_activity", conversations.c.last_activity_at)
Index("ix_conversations_clinician", conversations.c.clinician)
Index("ix_conversations_waitlist_since", conversations.c.waitlist_since)
# One conversation's identities, and its messages' replies, are looked up on every view (0005).
Index("ix_identities_conversation_id", identities.c.conversation_id)

# Who saw or changed which conversation, and when (migration 0004): an admin reads it on the page.
access_log = Table(
    "access_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(100), nullable=False),  # a user name, or "cli:NAME"
    Column("conversation_id", Integer, ForeignKey("conversations.id"), nullable=False),
    Column("action", String(20), nullable=False),  # Access: viewed, replied, marked, assigned
    Column("detail", String(200), nullable=False, default="", server_default=""),  # e.g. the outcome recorded; never what anyone wrote
)
Index("ix_access_log_at", access_log.c.at)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # reply, alert, help (one of each per channel)
    Column("channel", String(10), nullable=False),
    Column("to_addr", String(320), nullable=False),
    Column("msgid", String(300), nullable=False),  # the Message-ID it carries (for a text, our own id): the same on every attempt
    Column("subject", SealedText, nullable=False, default=""),
    Column("body", SealedText, nullable=False),
    Column("raw", SealedBytes, nullable=False),
    Column("state", String(20), nullable=False),  # held, pending, sending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_until", DateTime),
    Column("claimed_by", String(100)),  # host:pid of the worker sending it, to spot one that died
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("author", String(100)),  # who sent a clinician's reply (a user name, or "cli:NAME"); None for responder's own
)
# One of each kind per message, channel and recipient, so the pipeline never owes a message
# twice; a clinician may answer one message as often as they like, each reply once: its form
# chooses its Message-ID (migration 0004).
_AUTOMATIC = text("kind != 'human_reply'")
_HUMAN = text("kind = 'human_reply'")
Index("uq_outbox_automatic", outbox.c.message_id, outbox.c.kind, outbox.c.channel, outbox.c.to_addr, unique=True,
      sqlite_where=_AUTOMATIC, postgresql_where=_AUTOMATIC)
Index("uq_outbox_human", outbox.c.msgid, unique=True, sqlite_where=_HUMAN, postgresql_where=_HUMAN)

# Texts waiting to be settled are found by their status, among every message ever recorded; and
# /metrics counts every message by status, channel and category at each scrape, from this index
# alone rather than the rows (past their sealed bodies). So does it count the outbox by state and
# kind (migration 0008).
Index("ix_messages_status_channel_category", messages.c.status, messages.c.channel, messages.c.category)
Index("ix_outbox_state_kind_message", outbox.c.state, outbox.c.kind, outbox.c.message_id)
# Who was answered lately (the throttle, a first text's opt-out line): looked up for every
# message, so indexed; without it each lookup read the whole outbox, bodies and all.
Index("ix_outbox_to_lower", func.lower(outbox.c.to_addr), outbox.c.created_at)
Index("ix_outbox_to", outbox.c.to_addr)
# A thread reply names one of our Message-IDs: its conversation is found by it (migration 0003).
Index("ix_outbox_msgid", outbox.c.msgid)
Index("ix_outbox_message_id", outbox.c.message_id)

drafts = Table(
    "drafts", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False, unique=True),  # the held reply
    # waiting -> approved -> sent; or rejected; or taken_over (sent or discarded from a mail program)
    Column("state", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("reminded_at", DateTime),
    Column("fallback_at", DateTime),
    Column("mail_copy", String(20)),  # None, "wanted" (to go to the IMAP Drafts folder), "placed", "removed"
)

draft_events = Table(
    "draft_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("draft_id", Integer, ForeignKey("drafts.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(100), nullable=False),  # a clinician's user name, "cli:NAME" or "responder"
    Column("action", String(30), nullable=False),  # created, approved, edited, rejected, sent, reminded, fallback, taken_over
    Column("detail", Text, nullable=False, default=""),
)

referrals = Table(
    "referrals", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False, unique=True),
    Column("address", String(320), nullable=False),  # the referring professional's address or number
    Column("name", String(200), nullable=False),
    Column("organization", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
)

cursors = Table(
    "cursors", metadata,
    Column("source", String(300), primary_key=True),
    Column("uidvalidity", BigInteger),
    Column("position", BigInteger, nullable=False, default=0),  # IMAP: the last UID; Twilio: the last date_sent, epoch seconds
    Column("first_run_at", DateTime, nullable=False),
)

# A mail account's OAuth2 refresh token (issue 14): from `responder connect`, or the one in the
# configuration, and each one the provider rotated it to since (migration 0007).
oauth_tokens = Table(
    "oauth_tokens", metadata,
    Column("id", Integer, primary_key=True),  # `responder reseal` walks sealed tables by id
    Column("account", String(320), nullable=False),  # the mailbox's username
    Column("refresh_token", SealedText, nullable=False),
    # sha256 of the configuration's refresh_token this row started from: a new one there wins
    Column("seeded_from", String(64)),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("account", name="uq_oauth_tokens_account"),
)

# Notices about responder itself sent once while a fault lasts, by name ("oauth2-refused:<account>"),
# so a restart or the next refusal does not send them again (migration 0007).
notices_sent = Table(
    "notices_sent", metadata,
    Column("name", String(400), primary_key=True),
    Column("sent_at", DateTime, nullable=False),
)

optouts = Table(
    "optouts", metadata,
    Column("number", String(32), primary_key=True),  # a phone number that texted STOP (or that Twilio reports unsubscribed)
    Column("since", DateTime, nullable=False),
)
