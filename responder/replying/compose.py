"""Replies rendered from the practice's Jinja2 templates, as whole messages ready to send.

Templates run in a sandbox with StrictUndefined: a typo in a practice's template fails loudly at
``check`` rather than sending a reply with a hole in it. What a person wrote is passed as data and
never becomes template source; the reply does not quote it back.

Each kind of message has a ``subject`` and a ``body`` (a text, only a body): the shipped templates,
with a practice's own in their place, as ``templates`` reads them.
"""

from __future__ import annotations

import email
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import formataddr, make_msgid
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from ..calendars.slots import Slot
from ..config import DAYS, Config, PracticeClinician
from ..model import Action, Category, Channel, Classification, Decision, Facts, Inbound, Kind, Outgoing, Task
from ..redact import mask
from . import segments, templates
from .offers import EN_DAYS, ES_DAYS, NO_OFFERS, Offer, Offers
from .policy import unserved_services
from .templates import ENGLISH, PARTS, Key, Name, Part

log = logging.getLogger(__name__)

DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
# The reply each category gets.
REPLY_TEMPLATES = {
    Category.NEW_INQUIRY: Name.FIRST_REPLY,
    Category.PROFESSIONAL_REFERRAL: Name.REFERRAL_THANKS,
    Category.EXISTING_CLIENT: Name.ACKNOWLEDGEMENT,
    Category.CRISIS: Name.CRISIS,
}
# A task by email has a template of its own; by text, one says either.
TASK_TEMPLATES = {Task.CLIENT_MESSAGE: Name.TASK_CLIENT_MESSAGE, Task.REFERRAL: Name.TASK_REFERRAL, Task.CHECK_PERSON: Name.TASK_CHECK_PERSON,
                  Task.REACH_OUT: Name.TASK_REACH_OUT}
# The sample message each template is tried on by ``check`` and shown with on the clinicians'
# page: one of the category it answers.
SAMPLE_CATEGORY = {
    Name.FIRST_REPLY: Category.NEW_INQUIRY, Name.REFER_OUT: Category.NEW_INQUIRY, Name.HELP: Category.NEW_INQUIRY,
    Name.DRAFT_NOTICE: Category.NEW_INQUIRY, Name.FALLBACK: Category.NEW_INQUIRY,
    Name.REFERRAL_THANKS: Category.PROFESSIONAL_REFERRAL, Name.TASK_REFERRAL: Category.PROFESSIONAL_REFERRAL,
    Name.TASK_CHECK_PERSON: Category.AUTOMATED, Name.TASK_REACH_OUT: Category.NEW_INQUIRY,
    Name.ACKNOWLEDGEMENT: Category.EXISTING_CLIENT, Name.TASK_CLIENT_MESSAGE: Category.EXISTING_CLIENT, Name.TASK: Category.EXISTING_CLIENT,
    Name.CRISIS: Category.CRISIS, Name.CRISIS_ALERT: Category.CRISIS, Name.CONVERSATION_NOTICE: Category.NEW_INQUIRY,
}
SAMPLE_SENDER = {Channel.EMAIL: "person@example.org", Channel.SMS: "+15555550123"}
SAMPLE_TEXT = {
    Category.NEW_INQUIRY: "Hello, I am looking for a therapist for anxiety, and maybe medication. Do you take my insurance?",
    Category.PROFESSIONAL_REFERRAL: "I am referring a patient of mine who is looking for individual therapy; she has agreed to be contacted.",
    Category.EXISTING_CLIENT: "Hi, it's me again: could we move next Tuesday's session to the afternoon?",
    Category.CRISIS: "I don't see the point of going on anymore.",
    # Mail with a machine's headers that reads as a person's (task_check_person).
    Category.AUTOMATED: "Hello, I found you through the directory and I am looking for a therapist for my depression.",
}
# How a reply names a service the practice does not offer.
SERVICE_NAMES = {
    "individual": "individual therapy", "couples": "couples therapy", "family": "family therapy",
    "child": "therapy for children under 13", "teen": "therapy for teens", "group": "group therapy", "emdr": "EMDR",
    "medication": "medication management", "assessment": "psychological testing and assessment",
    "court": "court-ordered evaluations and custody work",
}
MAX_SMS_SEGMENTS = 3
# Subjects a form or a directory's relay writes, which the person never saw.
_FORM_SUBJECT = re.compile(r"""\b(?:form\ submission|new\ (?:form\ )?submission|contact\ (?:us|form)\b|website\ (?:inquiry|enquiry|form|contact)
    |new\ (?:message|inquiry|lead|contact|submission)\ from|you\ have\ (?:a\ )?new\ (?:message|lead|inquiry|submission)|new\ lead\b
    |psychology\ today)""", re.I | re.X)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


class RenderError(Exception):
    """A template that failed as it was rendered: where it is written, and why."""

    def __init__(self, place: str, reason: str) -> None:
        super().__init__(f"{place}: {reason}")
        self.place = place


@dataclass(frozen=True)
class Shown:
    """One template rendered for its sample message, as its reader gets it (or why it could not be)."""

    key: Key
    category: Category
    subject: str
    body: str
    error: str | None = None


class Composer:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.practice = _practice_view(config)
        self.env, self.templates = _compiled(config.templates)

    def outgoing(self, inbound: Inbound, classification: Classification, decision: Decision, first_text: bool = True,
                 offers: Offers = NO_OFFERS) -> list[Outgoing]:
        """Every message a decision calls for: the clinicians' alerts first, then the reply.
        ``first_text``: no text has gone to this number before (it then says how to opt out).
        ``offers``: who a first reply names, and when they are free (offers.py).

        A template that fails to render holds none of the others back: in place of what it
        would have written, the clinicians are told what failed, so that a person answers. With
        no route to tell them, the error is raised, and the message is recorded as one."""
        failures: list[RenderError] = []

        def attempt(make: Callable[[], list[Outgoing]]) -> list[Outgoing]:
            try:
                return make()
            except RenderError as error:
                failures.append(error)
                return []

        replies = attempt(lambda: [self.reply(inbound, classification, first_text, decision.template, offers)]) if decision.replies else []
        # An alert says what the person was sent: nothing, when their reply could not be written.
        action = Action.OFF if failures else decision.action
        alerts = attempt(partial(self.crisis_alerts, inbound, classification, action)) if decision.alert else []
        clinician = offers.named[0].clinician if offers.named else None  # the one who fits best is told too
        tasks = attempt(partial(self.tasks, inbound, classification, decision.task, clinician)) if decision.task else []
        found = alerts + tasks + replies
        if failures:
            log.error("message from %s: could not render %s", mask(inbound.sender), "; ".join(failure.place for failure in failures))
            told = self._failed(inbound, classification, failures)
            if not told:
                raise failures[0]
            found += told
        return found

    def reply(self, inbound: Inbound, classification: Classification, first_text: bool = True, template: str | None = None,
              offers: Offers = NO_OFFERS) -> Outgoing:
        """The reply to a person: an email threaded under theirs, or a text."""
        name = Name(template) if template else REPLY_TEMPLATES[classification.category]
        return self._to_person(Kind.REPLY, name, inbound, classification, first_text, offers)

    def tasks(self, inbound: Inbound, classification: Classification, task: Task, clinician: PracticeClinician | None = None) -> list[Outgoing]:
        """Something for a clinician to do (model.Task: a current client wrote, reach a referred
        client, look at mail that may be a person's, reach someone who left no address), to
        practice.notify and to ``clinician`` (the one who fits). By email with the message, by
        text without."""
        context = self._context(inbound, classification) | {"task": task, "message_text": inbound.fresh_text or inbound.text}
        emails, numbers = self._routes(clinician)
        found: list[Outgoing] = []
        if emails:
            subject, body = self._render(Key(ENGLISH, Channel.EMAIL, TASK_TEMPLATES[task]), context)
            found += [self._email(Kind.TASK, to, subject, body, {}, auto_submitted="auto-generated") for to in emails]
        if numbers:
            body = self._render(Key(ENGLISH, Channel.SMS, Name.TASK), context)[1]
            found += [self._text(Kind.TASK, to, body) for to in numbers]
        return found

    def sign_in_notices(self, account: str, why: str, by_email: bool, by_text: bool) -> list[Outgoing]:
        """Tell practice.notify that the mailbox can no longer sign in, what to do, and that
        nothing is lost; by the routes that still work (the caller knows which)."""
        notify = self.config.practice.notify
        text = (f"responder cannot sign in to the mailbox {account}: {why}. New mail waits in the mailbox and replies "
                "owed wait in responder's outbox: nothing is lost. Run `responder connect` on the server to sign in again; "
                "responder picks the new sign-in up by itself.")
        found: list[Outgoing] = []
        if by_email and notify.email:
            found.append(self._email(Kind.NOTICE, notify.email, f"responder cannot sign in to {account}", text, {}, auto_submitted="auto-generated"))
        if by_text and notify.sms:
            found.append(self._text(Kind.NOTICE, notify.sms, f"responder cannot sign in to the mailbox {account}. Run `responder connect` on the server."))
        return found

    def fallback(self, inbound: Inbound, classification: Classification) -> Outgoing:
        """The neutral acknowledgement sent when no clinician approved a draft in time."""
        return self._to_person(Kind.FALLBACK, Name.FALLBACK, inbound, classification, first_text=False)

    def draft_notices(self, draft_id: int, inbound: Inbound, classification: Classification, reminder: bool = False,
                      clinician: PracticeClinician | None = None) -> list[Outgoing]:
        """Tell practice.notify, and ``clinician`` (the one who fits, or the conversation's), that a
        reply waits for approval (or still does), with a link to it. A text says only that and
        where: no client message travels by SMS."""
        kind = Kind.REMINDER if reminder else Kind.NOTICE
        context = self._context(inbound, classification) | {"link": f"{self.config.page_url}/drafts/{draft_id}", "reminder": reminder}
        emails, numbers = self._routes(clinician)
        notices: list[Outgoing] = []
        try:
            if emails:
                subject, body = self._render(Key(ENGLISH, Channel.EMAIL, Name.DRAFT_NOTICE), context)
                notices += [self._email(kind, to, subject, body, {}, auto_submitted="auto-generated") for to in emails]
            if numbers:
                body = self._render(Key(ENGLISH, Channel.SMS, Name.DRAFT_NOTICE), context)[1]
                notices += [self._text(kind, to, body) for to in numbers]
        except RenderError as error:
            # The draft waits either way; its notice must still reach someone, in words no template can break.
            log.error("draft %s: the notice template failed (%s): a plain notice goes instead", draft_id, error.place)
            notices = self._plain_notices(kind, "A reply waits for your approval", Name.DRAFT_NOTICE, error,
                                          f"A reply from {self.config.practice.name} waits for a clinician's approval: {context['link']}",
                                          clinician)
        return notices

    def conversation_notices(self, inbound: Inbound, classification: Classification, new: list[dict[str, str | None]],
                             clinician: PracticeClinician | None = None) -> list[Outgoing]:
        """Tell practice.notify, and the clinician the conversation is assigned to, that a person
        wrote again in a conversation waiting on us, listing what is new (each message's channel
        and category). A text never carries what they wrote; an email does only with
        conversations.notice_includes_text."""
        quoted = inbound.fresh_text or inbound.text if self.config.conversations.notice_includes_text else ""
        context = self._context(inbound, classification) | {"new": new, "message_text": quoted}
        emails, numbers = self._routes(clinician)
        notices: list[Outgoing] = []
        try:
            if emails:
                subject, body = self._render(Key(ENGLISH, Channel.EMAIL, Name.CONVERSATION_NOTICE), context)
                notices += [self._email(Kind.CONVERSATION_NOTICE, to, subject, body, {}, auto_submitted="auto-generated") for to in emails]
            if numbers:
                body = self._render(Key(ENGLISH, Channel.SMS, Name.CONVERSATION_NOTICE), context)[1]
                notices += [self._text(Kind.CONVERSATION_NOTICE, to, body) for to in numbers]
        except RenderError as error:
            # The person wrote and nobody answers them automatically: the notice must reach someone, in words no template breaks.
            log.error("message from %s: the conversation_notice template failed (%s): a plain notice goes instead", mask(inbound.sender), error.place)
            notices = self._plain_notices(Kind.CONVERSATION_NOTICE, "A conversation is waiting on you", Name.CONVERSATION_NOTICE, error,
                                          f"{self.config.practice.name}: a person wrote again in a conversation waiting on you ({len(new)} new).",
                                          clinician)
        return notices

    def _routes(self, clinician: PracticeClinician | None = None, practice: bool = True) -> tuple[list[str], list[str]]:
        """Where the practice is told (practice.notify, unless ``practice`` is False), and the
        clinician too when one is named: the addresses and the numbers, each once, those of a
        channel not configured left out."""
        notify = self.config.practice.notify
        emails = [notify.email if practice else None, clinician.email if clinician else None]
        numbers = [notify.sms if practice else None, clinician.phone if clinician else None]
        return ([a for a in dict.fromkeys(emails) if a] if self.config.sends_email else [],
                [n for n in dict.fromkeys(numbers) if n] if self.config.sms is not None else [])

    def human_reply(self, channel: Channel, to: str, body: str, token: str, answering: Inbound | None) -> Outgoing:
        """A clinician's own words to the person: by email from the practice address, threaded
        under ``answering`` (their latest email) when there is one, with no Auto-Submitted header
        (a person wrote it, and the person's own auto-reply may answer); or by text, line breaks
        kept. ``token`` makes its Message-ID, so that a form sent twice is one reply."""
        text = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").strip().splitlines())
        if channel == Channel.SMS:
            return Outgoing(kind=Kind.HUMAN_REPLY, channel=Channel.SMS, to=to, message_id=f"sms-human-{token}", subject="",
                            body=text, raw=text.encode("utf-8"))
        subject = f"Message from {self.config.practice.name}"
        thread: dict[str, str | None] = {}
        if answering is not None:
            theirs = answering.subject.strip()
            subject = theirs if theirs.lower().startswith("re:") else f"Re: {theirs}" if theirs else subject
            thread = {"In-Reply-To": answering.message_id,
                      "References": " ".join((*answering.references, answering.message_id or ""))}
        return self._email(Kind.HUMAN_REPLY, to, _safe(subject), text + "\n", thread, auto_submitted=None,
                           message_id=f"<human.{token}@{self.config.domain}>")

    def _plain_notices(self, kind: Kind, subject: str, name: Name, error: RenderError, plain: str,
                       clinician: PracticeClinician | None = None) -> list[Outgoing]:
        """A notice whose template failed, said plainly on every route: by email with what
        failed, by text in the one line."""
        emails, numbers = self._routes(clinician)
        body = f"{plain}\n\n(The {name} template failed: {error}.)\n"
        return ([self._email(kind, to, subject, body, {}, auto_submitted="auto-generated") for to in emails]
                + [self._text(kind, to, plain) for to in numbers])

    def rebody(self, raw: bytes, channel: Channel, body: str) -> bytes:
        """The same message with a clinician's edited body: headers and Message-ID unchanged."""
        if channel == Channel.SMS:
            return _paragraph(body).encode("utf-8")
        message = email.message_from_bytes(raw, policy=SMTP)
        message.set_content(body.replace("\r\n", "\n").strip() + "\n")
        return message.as_bytes()

    def _to_person(self, kind: Kind, name: Name, inbound: Inbound, classification: Classification, first_text: bool,
                   offers: Offers = NO_OFFERS) -> Outgoing:
        to = classification.facts.reply_to
        if to is None:
            raise ValueError("no address to reply to")
        # To the person, a subject a form or a directory wrote is not theirs to be answered under.
        context = (self._context(inbound, classification) | {"first_text": first_text, "original_subject": _echoed(inbound.subject)}
                   | offers.view(self.config, classification.facts.language, classification.facts.zone))
        key = self._localized(inbound.channel, name, classification.facts.language)
        if inbound.channel == Channel.SMS:
            return self._text(kind, to, self._render(key, context)[1])
        subject, body = self._render(key, context)
        headers = {"In-Reply-To": inbound.message_id, "References": " ".join((*inbound.references, inbound.message_id or ""))}
        return self._email(kind, to, subject, body, headers, auto_submitted="auto-replied")

    def help_reply(self, inbound: Inbound, first_text: bool) -> Outgoing:
        """The answer to a bare HELP by text."""
        context = {"practice": self.practice, "first_text": first_text}
        return self._text(Kind.HELP, inbound.sender, self._render(Key(ENGLISH, Channel.SMS, Name.HELP), context)[1])

    def crisis_alerts(self, inbound: Inbound, classification: Classification, action: Action,
                      clinician: PracticeClinician | None = None, practice: bool = True) -> list[Outgoing]:
        """What tells the clinicians, at once and on every configured route, that someone wrote in
        crisis: practice.notify (unless ``practice`` is False) and ``clinician`` (the one the
        person's conversation is assigned to). A route whose channel is not configured is skipped."""
        context = self._context(inbound, classification) | {"action": action, "message_text": inbound.fresh_text or inbound.text}
        emails, numbers = self._routes(clinician, practice)
        alerts: list[Outgoing] = []
        if emails:
            subject, body = self._render(Key(ENGLISH, Channel.EMAIL, Name.CRISIS_ALERT), context)
            alerts += [self._email(Kind.ALERT, to, subject, body, {}, auto_submitted="auto-generated") for to in emails]
        if numbers:
            body = self._render(Key(ENGLISH, Channel.SMS, Name.CRISIS_ALERT), context)[1]
            alerts += [self._text(Kind.ALERT, to, body) for to in numbers]
        if not alerts and practice:
            log.warning("crisis message from %s: no configured route to alert a clinician (practice.notify)", mask(inbound.sender))
        return alerts

    def validate(self) -> list[str]:
        """Render every template with sample facts; the problems found, for ``check``."""
        return self._samples[0]

    def warnings(self) -> list[str]:
        """Texts that would cost more than MAX_SMS_SEGMENTS segments, for ``check``."""
        return self._samples[1]

    def showcase(self) -> list[Shown]:
        """Every template in use, rendered for a sample message of the category it answers, as
        its reader gets it: for the clinicians' page."""
        shown: list[Shown] = []
        for key in self._keys():
            category = SAMPLE_CATEGORY[key.name]
            try:
                subject, body = self._render(key, self._sample(key, "unknown"))
            except RenderError as error:
                shown.append(Shown(key, category, "", "", str(error)))
                continue
            shown.append(Shown(key, category, subject, _paragraph(body) if key.channel == Channel.SMS else body))
        return shown

    def _keys(self) -> list[Key]:
        return [key for key in templates.KEYS if key in self.templates]

    @cached_property
    def _samples(self) -> tuple[list[str], list[str]]:
        """Every template in use rendered for its sample message, for each insurance case: the
        problems (a template that fails) and the warnings (a text too long), a line each."""
        plans = self.config.practice.insurance.plans
        problems: list[str] = []
        warnings: list[str] = []
        for key in self._keys():
            origin = self.templates[key].written.origin
            for insurance in (plans[0].id if plans else "unknown", "other", "self_pay", "unknown"):
                try:
                    body = self._render(key, self._sample(key, insurance))[1]
                except RenderError as error:
                    problems.append(str(error))
                    break
                if key.channel == Channel.SMS and (n := segments.count(body.strip())) > MAX_SMS_SEGMENTS:
                    warnings.append(f"{origin} renders to {n} SMS segments (insurance {insurance}); keep texts to {MAX_SMS_SEGMENTS}")
                    break
        return problems, warnings

    def _sample(self, key: Key, insurance: str) -> dict[str, Any]:
        """What a template sees for a sample message of the category it answers."""
        category = SAMPLE_CATEGORY[key.name]
        sender = SAMPLE_SENDER[key.channel]
        classification = Classification(category, Facts(insurance, ("individual", "medication"), "telehealth", sender, key.language,
                                                         name="Jordan"), ())
        inbound = Inbound(channel=key.channel, key="<sample@example.org>", sender=sender, subject="Looking for a therapist")
        return self._context(inbound, classification) | {
            "action": Action.CRISIS if category == Category.CRISIS else Action.AUTO, "message_text": SAMPLE_TEXT[category],
            "task": {Category.PROFESSIONAL_REFERRAL: Task.REFERRAL, Category.AUTOMATED: Task.CHECK_PERSON}.get(category, Task.CLIENT_MESSAGE),
            "first_text": True, "link": f"{self.config.page_url}/drafts/1", "reminder": False,
            "new": [{"channel": Channel.EMAIL, "category": category}, {"channel": Channel.SMS, "category": category}],
        } | self._sample_offers(key.language)

    def _sample_offers(self, language: str) -> dict[str, Any]:
        """A group practice's samples name its first clinician with three openings a week ahead."""
        clinicians = self.config.practice.clinicians
        if not clinicians:
            return {}
        zone = ZoneInfo(self.config.practice.timezone)
        monday = datetime.combine(date.today() + timedelta(days=7 - date.today().weekday()), time(10), zone)
        slots = tuple(Slot(monday + timedelta(days=d), monday + timedelta(days=d, minutes=15)) for d in (1, 3, 7))
        return Offers((Offer(clinicians[0], slots),)).view(self.config, language)

    def _context(self, inbound: Inbound, classification: Classification) -> dict[str, Any]:
        facts = classification.facts
        unserved = unserved_services(facts.services, self.config)
        partners = [
            {"name": p.name, "phone": _phone(p.phone), "email": p.email, "website": p.website,
             "serves": [SERVICE_NAMES[s] for s in p.serves if s in unserved]}
            for p in self.config.practice.services.referral_partners if set(p.serves) & set(unserved)
        ]
        return {
            "unserved": [SERVICE_NAMES[s] for s in unserved],
            "partners": partners,
            "practice": self.practice,
            "category": classification.category,
            "reasons": [*classification.reasons, *classification.evidence],  # evidence last: it quotes the person
            "insurance": _insurance_view(facts.insurance, self.config),
            "services": list(facts.services),
            "modality": facts.modality,
            "original_subject": _safe(inbound.subject),
            "sender_name": _safe(inbound.sender_name),
            "first_name": facts.name,
            "sender": inbound.sender,
            "reply_to": facts.reply_to,
            "channel": inbound.channel,
            "language": facts.language,
            "matches": [], "full": False, "asked_for": None,  # who a first reply names (offers.py): only the reply is given any
        }

    def _localized(self, channel: Channel, name: Name, language: str) -> Key:
        """The template in the person's language where there is one (es.email...), else English."""
        key = Key(language, channel, name)
        return key if key in self.templates else Key(ENGLISH, channel, name)

    def _render(self, key: Key, context: dict[str, Any]) -> tuple[str, str]:
        """The subject and body of a message (a text has only a body)."""
        kind = self.templates[key]
        rendered: dict[Part, str] = {}
        for part in PARTS[key.channel]:
            place = kind.written.places[part]
            if part not in kind.templates:
                raise RenderError(place, "required, but missing")
            try:
                rendered[part] = kind.templates[part].render(context)
            except Exception as error:  # noqa: BLE001 - whatever a template raises, the caller learns where and why
                raise RenderError(place, str(error) or type(error).__name__) from error
        return _safe(rendered.get(Part.SUBJECT, "")), rendered[Part.BODY].strip() + "\n"

    def _failed(self, inbound: Inbound, classification: Classification, failures: list[RenderError]) -> list[Outgoing]:
        """What tells the clinicians, on every route of practice.notify, that messages for this
        one could not be written and why: in words of its own, which no template can break."""
        notify = self.config.practice.notify
        category = classification.category.replace("_", " ")
        medium = "text" if inbound.channel == Channel.SMS else "email"
        address = classification.facts.reply_to or inbound.sender
        urgent = "URGENT: " if classification.category == Category.CRISIS else ""
        found: list[Outgoing] = []
        if notify.email and self.config.sends_email:
            lines = [f"responder could not write all it should have for this {medium} ({category}): what failed was not sent. "
                     "Please answer them yourself, and have the template fixed (responder check names the problem).", "",
                     *(f"What failed: {failure}" for failure in failures), "",
                     f"From: {_safe(inbound.sender_name) + ' ' if inbound.sender_name else ''}<{inbound.sender}>",
                     f"Reply to: {classification.facts.reply_to or '(no address)'}"]
            if inbound.subject:
                lines.append(f"Subject: {_safe(inbound.subject)}")
            lines += ["", "Their message:", inbound.fresh_text or inbound.text]
            subject = _safe(f"{urgent}A {category} {medium} from {address} could not be answered: please answer it yourself")
            found.append(self._email(Kind.RENDER_FAILED, notify.email, subject, "\n".join(lines).strip() + "\n", {}, auto_submitted="auto-generated"))
        if notify.sms and self.config.sms is not None:
            details = " Details are in your email." if found else ""
            found.append(self._text(Kind.RENDER_FAILED, notify.sms, f"{urgent}{self.config.practice.name}: a {category} {medium} from {address} "
                                                           f"could not be answered; please answer it yourself.{details}"))
        return found

    def _text(self, kind: Kind, to: str, body: str) -> Outgoing:
        text = _paragraph(body)
        return Outgoing(kind=kind, channel=Channel.SMS, to=to, message_id=f"sms-{uuid.uuid4().hex}", subject="", body=text, raw=text.encode("utf-8"))

    def _email(self, kind: Kind, to: str, subject: str, body: str, thread: dict[str, str | None], auto_submitted: str | None,
               message_id: str | None = None) -> Outgoing:
        practice = self.config.practice
        message = EmailMessage(policy=_POLICY)
        message["From"] = formataddr((practice.name, practice.email))
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = _date(datetime.now(timezone.utc).replace(microsecond=0))
        message_id = message_id or make_msgid(domain=self.config.domain)
        message["Message-ID"] = message_id
        for name, value in thread.items():
            if value and value.strip():
                message[name] = value.strip()
        if auto_submitted is not None:  # None: a person wrote it
            message["Auto-Submitted"] = auto_submitted
            # Ask Exchange and friends not to send their own auto-replies back to an auto-reply.
            message["X-Auto-Response-Suppress"] = "All"
        message.set_content(body)
        return Outgoing(kind=kind, channel=Channel.EMAIL, to=to, message_id=message_id, subject=subject, body=body, raw=message.as_bytes())


# Templates compiled, by where they are read from and what they say: ``poll`` and ``serve`` check
# the templates with a Composer of their own before the service makes its own, and compiling them
# is most of starting a Composer. A few sets are kept (a practice editing its templates makes more).
_COMPILED: dict[tuple[Any, ...], tuple[SandboxedEnvironment, dict[Key, templates.Compiled]]] = {}
_KEEP_COMPILED = 4


def _compiled(source: Path | None) -> tuple[SandboxedEnvironment, dict[Key, templates.Compiled]]:
    """The environment and the compiled templates for the templates at ``source`` (None: those shipped)."""
    written = templates.load(source)
    # A practice's .j2 folder may include files of its own, as it always could.
    folder = source if source is not None and source.is_dir() else None
    key = (folder, tuple((k, w.origin, tuple(w.parts.items()), tuple(w.places.items())) for k, w in written.items()))
    if (found := _COMPILED.get(key)) is not None:
        return found
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(folder)) if folder else None, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["time"] = _clock
    env.filters["phone"] = _phone
    env.filters["es_day"] = _es_day
    found = env, templates.compile_all(env, written)
    while len(_COMPILED) >= _KEEP_COMPILED:
        del _COMPILED[next(iter(_COMPILED))]
    _COMPILED[key] = found
    return found


def _paragraph(body: str) -> str:
    """A text is one paragraph, however its template is laid out."""
    return " ".join(body.split())


class _Headers(HeaderRegistry):
    """The email package's header factory, remembering what repeats: parsing headers is most of
    composing (figures in bench/README-load.md). Each header's class is made once per name, not
    once per header, and a header of the same value in every message (From, Auto-Submitted,
    MIME-Version, the Content-* ones: a few values each) is parsed once. Headers are immutable,
    so one object serves every message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._kept: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if (found := self._classes.get(key)) is None:
            found = self._classes[key] = super().__getitem__(name)
        return found

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if name.lower() not in _SAME_IN_EVERY_MESSAGE or not isinstance(value, str):
            return self[name](name, value)
        if (found := self._kept.get((name, value))) is None:
            found = self._kept[name, value] = self[name](name, value)
        return found


_SAME_IN_EVERY_MESSAGE = frozenset({"from", "auto-submitted", "x-auto-response-suppress", "mime-version", "content-type",
                                    "content-transfer-encoding"})
_POLICY = EmailPolicy(linesep="\r\n", header_factory=_Headers())  # the SMTP policy (CRLF line ends), with the factory above


@lru_cache(maxsize=1)
def _date(moment: datetime) -> BaseHeader:
    """The Date header of this second, parsed once for every message composed in it."""
    return _POLICY.header_factory("Date", moment)


def _es_day(day: str) -> str:
    """An English day name in Spanish, as a heading writes it ("Monday" -> "Lunes")."""
    return ES_DAYS[EN_DAYS.index(day)].capitalize() if day in EN_DAYS else day


def _echoed(subject: str) -> str:
    """The person's subject, to answer under; none when a web form or a directory wrote it ("Form
    Submission - Contact Us", "New message from a potential client"): the person never saw it."""
    return "" if _FORM_SUBJECT.search(subject) else _safe(subject)


def _safe(text: str) -> str:
    """One line, no control characters: nothing a sender wrote can start a new header."""
    return " ".join(_UNSAFE.sub(" ", text).split())[:200]


def _money(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"


def _clock(value: str) -> str:
    hour, minute = (int(p) for p in value.split(":"))
    suffix = "AM" if hour < 12 or hour == 24 else "PM"
    hour = hour % 12 or 12
    return f"{hour}:{minute:02d} {suffix}" if minute else f"{hour} {suffix}"


def _phone(value: str | None) -> str:
    """+15550100000 reads as (555) 010-0000; other numbers are shown as written."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return value or ""


def _practice_view(config: Config) -> dict[str, Any]:
    practice = config.practice.model_dump(mode="json")
    practice["hours"] = [
        {"day": DAY_NAMES[day], "opens": span.split("-")[0], "closes": span.split("-")[1]}
        for day in DAYS
        if (span := config.practice.availability.hours.get(day))  # type: ignore[call-overload]
    ]
    practice["modalities"] = [m.replace("_", " ") for m in config.practice.availability.modalities]
    return practice


def _insurance_view(insurance: str, config: Config) -> dict[str, Any]:
    plans = {plan.id: plan.name for plan in config.practice.insurance.plans}
    if insurance in plans:
        return {"status": "in_network", "plan": plans[insurance]}
    status = {"other": "out_of_network", "self_pay": "self_pay"}.get(insurance, "unknown")
    return {"status": status, "plan": None}
