"""Replies rendered from the practice's Jinja2 templates, as whole messages ready to send.

Templates run in a sandbox with StrictUndefined: a typo in a practice's template fails loudly at
``check`` rather than sending a reply with a hole in it. What a person wrote is passed as data and
never becomes template source; the reply does not quote it back.

Each template holds two blocks, ``subject`` and ``body``, so one file is one kind of message.
"""

from __future__ import annotations

import email
import logging
import re
import uuid
from datetime import datetime, timezone
from functools import cache
from email.message import EmailMessage
from email.policy import SMTP
from email.headerregistry import BaseHeader
from email.utils import formataddr, make_msgid
from importlib.resources import files
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from . import segments
from ..config import DAYS, Config
from ..model import Classification, Decision, Facts, Inbound, Outgoing
from .policy import unserved_services
from ..redact import mask

log = logging.getLogger(__name__)

DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
# The reply each category gets, by template name; the folder is the channel (email/, sms/).
REPLY_TEMPLATES = {
    "new_inquiry": "first_reply",
    "professional_referral": "referral_thanks",
    "existing_client": "acknowledgement",
    "crisis": "crisis",
}
TEMPLATES = {
    "email": ("first_reply", "refer_out", "referral_thanks", "acknowledgement", "crisis", "crisis_alert", "draft_notice", "fallback",
              "task_client_message", "task_referral"),
    "sms": ("first_reply", "refer_out", "referral_thanks", "acknowledgement", "crisis", "crisis_alert", "help", "draft_notice", "fallback", "task"),
}
# How a reply names a service the practice does not offer.
SERVICE_NAMES = {
    "individual": "individual therapy", "couples": "couples therapy", "family": "family therapy",
    "child": "therapy for children under 13", "teen": "therapy for teens", "group": "group therapy", "emdr": "EMDR",
    "medication": "medication management", "assessment": "psychological testing and assessment",
    "court": "court-ordered evaluations and custody work",
}
MAX_SMS_SEGMENTS = 3
_ES_DAYS = {"Monday": "Lunes", "Tuesday": "Martes", "Wednesday": "Miércoles", "Thursday": "Jueves", "Friday": "Viernes",
            "Saturday": "Sábado", "Sunday": "Domingo"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


class Composer:
    def __init__(self, config: Config) -> None:
        self.config = config
        loaders = [FileSystemLoader(str(files("responder.templates")))]
        if config.templates is not None:
            loaders.insert(0, FileSystemLoader(str(config.templates)))
        self.env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True,
        )
        self.env.filters["money"] = _money
        self.env.filters["time"] = _clock
        self.env.filters["phone"] = _phone
        self.env.filters["es_day"] = lambda day: _ES_DAYS.get(day, day)
        self.practice = _practice_view(config)
        self._names = frozenset(self.env.list_templates(extensions=["j2"]))

    def outgoing(self, inbound: Inbound, classification: Classification, decision: Decision, first_text: bool = True) -> list[Outgoing]:
        """Every message a decision calls for: the clinicians' alerts first, then the reply.
        ``first_text``: no text has gone to this number before (it then says how to opt out)."""
        found: list[Outgoing] = []
        if decision.alert:
            found += self.crisis_alerts(inbound, classification, decision.action)
        if decision.task:
            found += self.tasks(inbound, classification, decision.task)
        if decision.replies:
            found.append(self.reply(inbound, classification, first_text, decision.template))
        return found

    def reply(self, inbound: Inbound, classification: Classification, first_text: bool = True, template: str | None = None) -> Outgoing:
        """The reply to a person: an email threaded under theirs, or a text."""
        return self._to_person("reply", template or REPLY_TEMPLATES[classification.category], inbound, classification, first_text)

    def tasks(self, inbound: Inbound, classification: Classification, task: str) -> list[Outgoing]:
        """Something for a clinician to do ("client_message": a current client wrote; "referral":
        reach the client a professional referred). By email with the message, by text without."""
        notify = self.config.practice.notify
        context = self._context(inbound, classification) | {"task": task, "message_text": inbound.fresh_text or inbound.text}
        found: list[Outgoing] = []
        if notify.email and self.config.sends_email:
            subject, body = self._render(f"email/task_{task}.j2", context)
            found.append(self._email("task", notify.email, subject, body, {}, auto_submitted="auto-generated"))
        if notify.sms and self.config.sms is not None:
            found.append(self._text("task", notify.sms, self._render("sms/task.j2", context)[1]))
        return found

    def fallback(self, inbound: Inbound, classification: Classification) -> Outgoing:
        """The neutral acknowledgement sent when no clinician approved a draft in time."""
        return self._to_person("fallback", "fallback", inbound, classification, first_text=False)

    def draft_notices(self, draft_id: int, inbound: Inbound, classification: Classification, reminder: bool = False) -> list[Outgoing]:
        """Tell practice.notify that a reply waits for approval (or still does), with a link to it.
        A text says only that and where: no client message travels by SMS."""
        notify = self.config.practice.notify
        kind = "reminder" if reminder else "notice"
        context = self._context(inbound, classification) | {"link": f"{self.config.page_url}/drafts/{draft_id}", "reminder": reminder}
        notices: list[Outgoing] = []
        if notify.email and self.config.sends_email:
            subject, body = self._render("email/draft_notice.j2", context)
            notices.append(self._email(kind, notify.email, subject, body, {}, auto_submitted="auto-generated"))
        if notify.sms and self.config.sms is not None:
            notices.append(self._text(kind, notify.sms, self._render("sms/draft_notice.j2", context)[1]))
        return notices

    def rebody(self, raw: bytes, channel: str, body: str) -> bytes:
        """The same message with a clinician's edited body: headers and Message-ID unchanged."""
        if channel == "sms":
            return " ".join(body.split()).encode("utf-8")
        message = email.message_from_bytes(raw, policy=SMTP)
        message.set_content(body.replace("\r\n", "\n").strip() + "\n")
        return message.as_bytes()

    def _to_person(self, kind: str, name: str, inbound: Inbound, classification: Classification, first_text: bool) -> Outgoing:
        to = classification.facts.reply_to
        if to is None:
            raise ValueError("no address to reply to")
        context = self._context(inbound, classification) | {"first_text": first_text}
        if inbound.channel == "sms":
            return self._text(kind, to, self._render(self._localized("sms", name, classification.facts.language), context)[1])
        subject, body = self._render(self._localized("email", name, classification.facts.language), context)
        headers = {"In-Reply-To": inbound.message_id, "References": " ".join((*inbound.references, inbound.message_id or ""))}
        return self._email(kind, to, subject, body, headers, auto_submitted="auto-replied")

    def help_reply(self, inbound: Inbound, first_text: bool) -> Outgoing:
        """The answer to a bare HELP by text."""
        context = {"practice": self.practice, "first_text": first_text}
        return self._text("help", inbound.sender, self._render("sms/help.j2", context)[1])

    def crisis_alerts(self, inbound: Inbound, classification: Classification, action: str) -> list[Outgoing]:
        """What tells the clinicians, at once and on every configured route, that someone wrote in
        crisis. A route whose channel is not configured is skipped with a warning."""
        notify = self.config.practice.notify
        context = self._context(inbound, classification) | {"action": action, "message_text": inbound.fresh_text or inbound.text}
        alerts: list[Outgoing] = []
        if notify.email and self.config.sends_email:
            subject, body = self._render("email/crisis_alert.j2", context)
            alerts.append(self._email("alert", notify.email, subject, body, {}, auto_submitted="auto-generated"))
        if notify.sms and self.config.sms is not None:
            alerts.append(self._text("alert", notify.sms, self._render("sms/crisis_alert.j2", context)[1]))
        if not alerts:
            log.warning("crisis message from %s: no configured route to alert a clinician (practice.notify)", mask(inbound.sender))
        return alerts

    def validate(self) -> list[str]:
        """Render every template with sample facts; the problems found, for ``check``."""
        return [problem for problem in self._render_samples() if not problem.startswith("warning: ")]

    def warnings(self) -> list[str]:
        """Texts that would cost more than MAX_SMS_SEGMENTS segments, for ``check``."""
        return [problem.removeprefix("warning: ") for problem in self._render_samples() if problem.startswith("warning: ")]

    def _render_samples(self) -> list[str]:
        """Every shipped template and every translation found, rendered with sample facts for each
        insurance case; a line per problem ("warning: " for texts too long)."""
        found = []
        paths = [f"{channel}/{name}.j2" for channel, names in TEMPLATES.items() for name in names]
        paths += [path for path in sorted(self._names) if path.count("/") == 2]  # es/email/..., es/sms/...
        for path in paths:
            channel = "sms" if "sms/" in path else "email"
            for insurance in ("aetna", "other", "self_pay", "unknown"):
                sample = Classification("new_inquiry", Facts(insurance, ("individual", "medication"), "telehealth", "person@example.org"), ())
                inbound = Inbound(channel=channel, key="<sample@example.org>", sender="person@example.org", subject="Looking for a therapist")
                context = self._context(inbound, sample) | {"action": "crisis", "message_text": "sample", "first_text": True,
                                                            "link": f"{self.config.page_url}/drafts/1", "reminder": False, "task": "referral"}
                try:
                    body = self._render(path, context)[1]
                except Exception as error:  # noqa: BLE001 - every template problem is reported, not raised
                    found.append(f"{path}: {error}")
                    break
                if channel == "sms" and (n := segments.count(body.strip())) > MAX_SMS_SEGMENTS:
                    found.append(f"warning: {path} renders to {n} SMS segments (insurance {insurance}); keep texts to {MAX_SMS_SEGMENTS}")
                    break
        return found

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
            "reasons": list(classification.reasons),
            "insurance": _insurance_view(facts.insurance, self.config),
            "services": list(facts.services),
            "modality": facts.modality,
            "original_subject": _safe(inbound.subject),
            "sender_name": _safe(inbound.sender_name),
            "sender": inbound.sender,
            "reply_to": facts.reply_to,
            "channel": inbound.channel,
            "language": facts.language,
        }

    def _localized(self, channel: str, name: str, language: str) -> str:
        """The template in the person's language where there is one (templates/es/...), else English."""
        if language != "en":
            localized = f"{language}/{channel}/{name}.j2"
            if localized in self._names:
                return localized
        return f"{channel}/{name}.j2"

    def _render(self, name: str, context: dict[str, Any]) -> tuple[str, str]:
        """The subject and body blocks of a template (a text's template needs only a body)."""
        template: Template = self.env.get_template(name)
        blocks = template.blocks
        needed = ("body",) if "sms/" in name else ("subject", "body")
        for block in needed:
            if block not in blocks:
                raise ValueError(f"{name}: the template needs a {{% block {block} %}}")
        ctx = template.new_context(context)
        subject = _safe("".join(blocks["subject"](ctx))) if "subject" in blocks else ""
        body = "".join(blocks["body"](ctx)).strip() + "\n"
        return subject, body

    def _text(self, kind: str, to: str, body: str) -> Outgoing:
        text = " ".join(body.split())  # one paragraph, however the template is laid out
        return Outgoing(kind=kind, channel="sms", to=to, message_id=f"sms-{uuid.uuid4().hex}", subject="", body=text, raw=text.encode("utf-8"))

    def _email(self, kind: str, to: str, subject: str, body: str, thread: dict[str, str | None], auto_submitted: str) -> Outgoing:
        practice = self.config.practice
        message = EmailMessage(policy=SMTP)
        message["From"] = _header("From", formataddr((practice.name, practice.email)))
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = datetime.now(timezone.utc)
        message_id = make_msgid(domain=self.config.domain)
        message["Message-ID"] = message_id
        for name, value in thread.items():
            if value and value.strip():
                message[name] = value.strip()
        message["Auto-Submitted"] = _header("Auto-Submitted", auto_submitted)
        # Ask Exchange and friends not to send their own auto-replies back to an auto-reply.
        message["X-Auto-Response-Suppress"] = _header("X-Auto-Response-Suppress", "All")
        message.set_content(body)
        return Outgoing(kind=kind, channel="email", to=to, message_id=message_id, subject=subject, body=body, raw=message.as_bytes())


@cache
def _header(name: str, value: str) -> BaseHeader:
    """A header every reply carries, parsed once: the email package's parsing of each header
    was a fifth of the time spent composing."""
    return SMTP.header_factory(name, value)


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
