"""Replies rendered from the practice's Jinja2 templates, as whole messages ready to send.

Templates run in a sandbox with StrictUndefined: a typo in a practice's template fails loudly at
``check`` rather than sending a reply with a hole in it. What a person wrote is passed as data and
never becomes template source; the reply does not quote it back.

Each template holds two blocks, ``subject`` and ``body``, so one file is one kind of message.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from importlib.resources import files
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from .config import DAYS, Config
from .model import Classification, Decision, Facts, Inbound, Outgoing
from .redact import mask

log = logging.getLogger(__name__)

DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
REPLY_TEMPLATES = {
    "new_inquiry": "email/first_reply.j2",
    "professional_referral": "email/referral_thanks.j2",
    "existing_client": "email/acknowledgement.j2",
    "crisis": "email/crisis.j2",
}
EMAIL_TEMPLATES = ("email/first_reply.j2", "email/referral_thanks.j2", "email/acknowledgement.j2", "email/crisis.j2", "email/crisis_alert.j2")
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
        self.practice = _practice_view(config)

    def outgoing(self, inbound: Inbound, classification: Classification, decision: Decision) -> list[Outgoing]:
        """Every message a decision calls for: the clinician's alert first, then the reply."""
        found: list[Outgoing] = []
        if decision.alert:
            alert = self.crisis_alert(inbound, classification, decision.action)
            if alert is None:
                log.warning("crisis message from %s: no practice.notify.email to alert", mask(inbound.sender))
            else:
                found.append(alert)
        if decision.replies:
            found.append(self.reply(inbound, classification))
        return found

    def reply(self, inbound: Inbound, classification: Classification) -> Outgoing:
        """The reply to a person, threaded under their message."""
        to = classification.facts.reply_to
        if to is None:
            raise ValueError("no address to reply to")
        context = self._context(inbound, classification)
        subject, body = self._render(REPLY_TEMPLATES[classification.category], context)
        headers = {"In-Reply-To": inbound.message_id, "References": " ".join((*inbound.references, inbound.message_id or ""))}
        return self._email("reply", to, subject, body, headers, auto_submitted="auto-replied")

    def crisis_alert(self, inbound: Inbound, classification: Classification, action: str) -> Outgoing | None:
        """The message that tells a clinician, at once, that someone wrote in crisis."""
        to = self.config.practice.notify.email
        if to is None:
            return None
        context = self._context(inbound, classification) | {"action": action, "message_text": inbound.fresh_text or inbound.text}
        subject, body = self._render("email/crisis_alert.j2", context)
        return self._email("alert", to, subject, body, {}, auto_submitted="auto-generated")

    def validate(self) -> list[str]:
        """Render every template with sample facts; the problems found, for ``check``."""
        sample = Classification("new_inquiry", Facts("other", ("individual",), "telehealth", "person@example.org"), ())
        inbound = Inbound(channel="email", key="<sample@example.org>", sender="person@example.org", subject="Looking for a therapist")
        problems = []
        for name in EMAIL_TEMPLATES:
            try:
                self._render(name, self._context(inbound, sample) | {"action": "crisis", "message_text": "sample"})
            except Exception as error:  # noqa: BLE001 - every template problem is reported, not raised
                problems.append(f"{name}: {error}")
        return problems

    def _context(self, inbound: Inbound, classification: Classification) -> dict[str, Any]:
        facts = classification.facts
        return {
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
        }

    def _render(self, name: str, context: dict[str, Any]) -> tuple[str, str]:
        template: Template = self.env.get_template(name)
        blocks = template.blocks
        for block in ("subject", "body"):
            if block not in blocks:
                raise ValueError(f"{name}: the template needs a {{% block {block} %}}")
        ctx = template.new_context(context)
        subject = _safe("".join(blocks["subject"](ctx)))
        body = "".join(blocks["body"](ctx)).strip() + "\n"
        return subject, body

    def _email(self, kind: str, to: str, subject: str, body: str, thread: dict[str, str | None], auto_submitted: str) -> Outgoing:
        practice = self.config.practice
        message = EmailMessage(policy=SMTP)
        message["From"] = formataddr((practice.name, practice.email))
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(timezone.utc))
        message_id = make_msgid(domain=self.config.domain)
        message["Message-ID"] = message_id
        for name, value in thread.items():
            if value and value.strip():
                message[name] = value.strip()
        message["Auto-Submitted"] = auto_submitted
        # Ask Exchange and friends not to send their own auto-replies back to an auto-reply.
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(body)
        return Outgoing(kind=kind, channel="email", to=to, message_id=message_id, subject=subject, body=body, raw=message.as_bytes())


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
