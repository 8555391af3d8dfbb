"""Everything one configuration builds: store, pipeline, sources, transports, health."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial

from .approval import Approvals
from .calendars.keeper import Calendars
from .config import Config, Imap, Smtp
from .delivery import Delivery, Summary
from .inbox import Inbox
from .integrations.base import Source, Transport
from .integrations.imap.drafts import ImapDrafts
from .integrations.imap.source import ImapSource
from .integrations.maildir.source import MaildirSource
from .integrations.maildir.transport import MaildirTransport
from .integrations.oauth2.tokens import Tokens, tokens_for
from .integrations.smtp.transport import SmtpTransport
from .integrations.twilio.source import TwilioSource
from .integrations.twilio.transport import TwilioTransport
from .metrics import Metrics
from .model import Channel, MailAuth
from .pipeline import Pipeline
from .replying.compose import Composer
from .storage.store import Store, utcnow

log = logging.getLogger(__name__)


@dataclass
class Health:
    """Which sources are failing right now, and why (for /healthz and ``poll``)."""

    failing: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, name: str) -> None:
        with self._lock:
            self.failing.pop(name, None)

    def fail(self, name: str, why: str) -> None:
        with self._lock:
            self.failing[name] = why

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self.failing)


@dataclass(frozen=True)
class Round:
    new_messages: int
    delivery: Summary
    source_errors: dict[str, str]


_REFUSED = "oauth2-refused:"  # the notice, once per account while the provider refuses its token


def _sign_in_of(account: str) -> str:
    """The name /healthz gives an OAuth2 account's sign-in."""
    return f"OAuth2 sign-in for {account}"


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.storage.url, config.storage.lock_timeout_seconds, config.storage.encryption_key)
        self.composer = Composer(config)
        self.calendars = Calendars(config)
        self.pipeline = Pipeline(config, self.store, self.composer, self.calendars)
        self.health = Health()
        self.tokens = self._tokens()
        self.sources = _sources(config, self.pipeline, self.store, self.tokens)
        self.metrics = Metrics(self.store, self.calendars)
        self.delivery = Delivery(self.store, _transports(config, self.store, self.tokens), on_sent=self.metrics.sent)
        self.approvals = Approvals(config, self.store, self.composer)
        self.inbox = Inbox(config, self.store, self.composer)
        imap = config.email.imap if config.email is not None else None
        self.mail_drafts = ImapDrafts(imap, _tokens_of(imap, self.tokens)) if config.approval.imap_drafts and imap is not None else None

    def _tokens(self) -> dict[str, Tokens]:
        """Each OAuth2 account's tokens, one keeper per username that IMAP and SMTP share."""
        email = self.config.email
        if email is None or email.oauth2 is None:
            return {}
        return {account: tokens_for(account, email.oauth2, self.store, on_refused=partial(self._sign_in_refused, account),
                                    on_recovered=partial(self._signed_in_again, account))
                for account in email.oauth2_accounts}

    def _mails_through(self, account: str) -> bool:
        """Whether email goes out through the SMTP account that signs in as ``account``."""
        mail = self.delivery.transports.get(Channel.EMAIL)
        return isinstance(mail, SmtpTransport) and mail.tokens is self.tokens.get(account)

    def _sign_in_refused(self, account: str, why: str) -> None:
        """Show it on /healthz (an account only SMTP signs in as is no source that would), and
        tell practice.notify once while it lasts, by the routes that still work: a text, and
        email unless it would go out through the refused account itself."""
        self.health.fail(_sign_in_of(account), why)
        if not self.store.claim_notice(_REFUSED + account):
            return
        transports = self.delivery.transports
        by_email = Channel.EMAIL in transports and not self._mails_through(account)
        notices = self.composer.sign_in_notices(account, why, by_email=by_email, by_text=Channel.SMS in transports)
        sent = 0
        for notice in notices:
            try:
                with transports[notice.channel].session() as session:
                    session.send(notice.to, notice.raw)
                sent += 1
            except Exception as error:  # noqa: BLE001 - the next refusal tries again
                log.warning("the sign-in notice by %s failed: %s", notice.channel, type(error).__name__)
        if not sent:
            log.warning("no route to tell practice.notify that %s cannot sign in; /healthz shows it", account.partition("@")[2] or "the mailbox")
            self.store.clear_notice(_REFUSED + account)

    def _signed_in_again(self, account: str) -> None:
        """A token is had (first in this process, or again after a failure): a later refusal is
        told anew, and the email that waited on the account goes now rather than at its next
        retry (up to ten minutes off)."""
        self.health.ok(_sign_in_of(account))
        self.store.clear_notice(_REFUSED + account)
        if self._mails_through(account) and self.store.retry_now(Channel.EMAIL):
            log.info("%s signs in: the email that waited on it is due now", account.partition("@")[2] or "the mailbox")

    def poll_source(self, source: Source) -> int:
        """Fetch from one source, keeping its health; raises what the source raised."""
        try:
            count = source.poll()
        except Exception as error:
            self.source_failed(source.name, f"{type(error).__name__}: {error}"[:300])
            raise
        self.health.ok(source.name)
        return count

    def source_failed(self, name: str, why: str) -> None:
        """A source (or its IDLE connection) failed: /healthz shows it, /metrics counts it."""
        self.health.fail(name, why)
        self.metrics.source_errors.labels(name).inc()

    def run_once(self) -> Round:
        """One full round: the calendars (when there are any), every source, texts a webhook left
        received, then every reply that is due."""
        count = 0
        errors: dict[str, str] = {}
        # Without serve's background job, a round reads the calendars first; one that fails only
        # costs the replies their openings (its error is reported with the sources').
        for name, why in self.calendars.refresh(datetime.now(timezone.utc)).items():
            errors[f"calendar {name}"] = why
        for source in self.sources:
            try:
                count += self.poll_source(source)
            except Exception as error:  # noqa: BLE001 - one failing source must not hide the others
                errors[source.name] = f"{type(error).__name__}: {error}"[:300]
        try:
            self.pipeline.settle()
        except Exception as error:  # noqa: BLE001 - reported like a failing source
            errors["received texts"] = f"{type(error).__name__}: {error}"[:300]
        try:
            self.sync_mail_drafts()
        except Exception as error:  # noqa: BLE001 - reported like a failing source
            errors["imap drafts"] = f"{type(error).__name__}: {error}"[:300]
        try:
            self.pipeline.notify_waiting()
            self.inbox.close_quiet()
        except Exception as error:  # noqa: BLE001 - reported like a failing source
            errors["conversations"] = f"{type(error).__name__}: {error}"[:300]
        delivered = self.delivery.run()
        self.purge()
        return Round(count, delivered, errors)

    def purge(self) -> int:
        """Apply ``storage.retention_days``: the words of older messages go, the audit stays."""
        days = self.config.storage.retention_days
        if days is None:
            return 0
        purged = self.store.purge_before(utcnow() - timedelta(days=days))
        if purged:
            log.info("purged the text of %s message(s) older than %g days", purged, days)
        return purged

    def sync_mail_drafts(self) -> None:
        """Copies of drafts in the mailbox's Drafts folder, when the practice wants them."""
        if self.mail_drafts is not None:
            self.approvals.sync_mail_copies(self.mail_drafts)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for source in self.sources:
            source.close()
        if self.mail_drafts is not None:
            self.mail_drafts.close()
        self.store.engine.dispose()




def _tokens_of(server: Imap | Smtp, tokens: dict[str, Tokens]) -> Tokens | None:
    return tokens[server.username] if server.auth == MailAuth.OAUTH2 and server.username else None


def _sources(config: Config, pipeline: Pipeline, store: Store, tokens: dict[str, Tokens]) -> list[Source]:
    window = timedelta(hours=config.replies.first_run_window_hours)
    email = config.email
    sources: list[Source] = []
    if email is not None and email.imap is not None:
        sources.append(ImapSource(email.imap, pipeline, store, window, email.max_message_bytes, _tokens_of(email.imap, tokens)))
    if email is not None and email.maildir is not None and email.maildir.inbox is not None:
        sources.append(MaildirSource(email.maildir.inbox, pipeline, store, email.maildir.poll_seconds, window, email.max_message_bytes))
    if config.sms is not None and config.sms.poll:
        sources.append(TwilioSource(config.sms, pipeline, store, window))
    return sources


def _transports(config: Config, store: Store, tokens: dict[str, Tokens]) -> dict[str, Transport]:
    transports: dict[str, Transport] = {}
    email = config.email
    if email is not None and email.maildir is not None and email.maildir.outbox is not None:
        transports[Channel.EMAIL] = MaildirTransport(email.maildir.outbox)
    elif email is not None and email.smtp is not None:
        transports[Channel.EMAIL] = SmtpTransport(email.smtp, config.practice.email, _tokens_of(email.smtp, tokens))
    elif email is not None:
        log.warning("no email.smtp and no email.maildir.outbox: email replies are recorded but not sent")
    if config.sms is not None:
        transports[Channel.SMS] = TwilioTransport(config.sms.twilio, on_unsubscribed=lambda number: store.set_opted_out(number, True))
    return transports
