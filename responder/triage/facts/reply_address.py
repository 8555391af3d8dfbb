"""Where a personal reply goes: an address the message asks to be answered at, a web form's email
field, Reply-To, or From; for a text, the sender's number."""

from __future__ import annotations

import re

from ...config import Config
from ...model import Channel, Inbound
from ..rules import RuleKind, rule

_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A web form's email field ("Email: ..."), read only in a message that has a name field too.
_FORM_FIELD = rule("form_email_field", RuleKind.REPLY_ADDRESS, "the email field of a form", r"""
    ^\s*(?:your\s+)?(?:e-?mail(?:\s+address)?|correo(?:\s+electr[oó]nico)?|reply[- ]to)\s*[:=]\s*(\S+@\S+)
""", flags=re.I | re.M)
_FORM_NAME = rule("form_name_field", RuleKind.REPLY_ADDRESS, "a form's name field", r"""
    ^\s*(?:your\s+|parent(?:/guardian)?(?:['’]s)?\s+|guardian(?:['’]s)?\s+|client(?:['’]s)?\s+)?(?:full\s+|first\s+)?(?:name|nombre)\s*:
""", flags=re.I | re.M)
# The person asks, in the first person, to be answered at an address written in the message
# (searched for in the sentence before the address).
_ASKS_REPLY = rule("asks_reply_to", RuleKind.REPLY_ADDRESS, "the one the message asks to be answered at", r"""
    (?:
        # "please write to me at", "contact us", "escríbame a mí"
        \b(?:reply|respond|write|email|e-mail|contact|reach|answer|get\ back|send|escrib\w*|cont[aá]ct\w*|responder\w*)\b
            (?:\s+\w+){0,3} \s+ (?:me|us|to\ me|a\ m[ií])\b
        # "send any forms directly to her at": the one written for, asked to be answered
      | \b(?:send|reply|respond|write|email|e-mail)\b (?:\s+\w+){0,4} \s+ (?:directly\s+)?to\s+(?:her|him|them)\b
        # "my personal email", "mi correo"
      | \bmy\s+(?:\w+\s+){0,2}(?:e-?mail|address|inbox|correo)\b | \bmi\s+(?:\w+\s+){0,2}correo\b
      | \bmy\s+(?:personal|home|private|other|own)\s+(?:one|account)\b
        # "send replies to my work address at"
      | \b(?:write|reply|respond|email|e-mail|reach|contact|send\ (?:it|replies|anything|everything)) \s+
            (?:back\s+)?(?:to\s+)?(?:my|our) \s+ (?:\w+\s+){0,3} (?:at|on|via)\b
    )
    (?:(?!\bcc\b)[^.?!]){0,80}$     # not the one to copy: "reply to me and cc him (x@y)"
""")


def reply_address(message: Inbound, config: Config, reasons: list[str]) -> str | None:
    """Where a personal reply goes: an address the person asks for in the message itself (a web
    form's email field, "please write to my personal address"), else the first Reply-To, else
    From, unless that is the practice's own website's mailer; for a text, the sender's number."""
    if message.channel == Channel.SMS:
        return message.sender or None
    own = config.practice.own_addresses
    body = message.fresh_text or message.text
    form = form_address(message, config)
    if form:
        reasons.append(f"reply address: {_FORM_FIELD.reason}")
        return form
    for match in _ADDRESS.finditer(body):
        address = match.group(0).lower().rstrip(".")
        sentence_start = max(body.rfind(".", 0, match.start()), body.rfind("\n\n", 0, match.start()), 0)
        if address not in own and address != message.sender and _ASKS_REPLY.pattern.search(body[sentence_start: match.start()]):
            reasons.append(f"reply address: {_ASKS_REPLY.reason}")
            return address
    fallback = message.reply_to[0] if message.reply_to else message.sender
    if fallback and fallback not in own and config.practice.is_own(fallback):
        reasons.append("reply address: none, the message came from the practice's own website")
        return None  # a form mailer ("wordpress@" the practice's domain) whose form gave no email
    return fallback or None


def form_address(message: Inbound, config: Config) -> str | None:
    """The email a person typed into a web form or directory relay ("Name: ... Email: ...")."""
    body = message.fresh_text or message.text
    for match in _FORM_FIELD.pattern.finditer(body) if _FORM_NAME.pattern.search(body) else ():
        address = _ADDRESS.search(match.group(1))
        if address and address.group(0).lower() not in config.practice.own_addresses:
            return address.group(0).lower()
    return None


