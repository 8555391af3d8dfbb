"""A directory or website-form relay: a machine's envelope around a person's own words.

Therapist directories and practice-website form services deliver a prospective client's message
from a no-reply address, marked bulk or auto-generated (Precedence, Auto-Submitted,
X-Auto-Response-Suppress, List-Unsubscribe) and wrapped in "please do not reply" boilerplate:
every header says machine. The body says otherwise: the person's address (a form's email field,
"reply to them at ...", a From: line) beside their words (a message field, or "... sent you a
message:"). Such a message is that person's: it is read by what they wrote, with the envelope's
lines set aside, and answered at their address. A directory's own newsletter or a receipt carries
no one's words in that shape, and stays machine mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..model import Inbound
from .guard import is_no_reply
from .rules import Rule, RuleKind, rule

_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

# Where a relay puts the person's address: a field of its own, a From: line, or a sentence.
_EMAIL_FIELD = rule("relay_email_field", RuleKind.RELAY, "the email field of a form", r"""
    ^[ \t]*[*_]*
    (?:your\ |contact\ |client\ |sender(?:'s)?\ |visitor\ |patient\ |(?:referring\ )?(?:provider|physician|clinician|doctor)(?:'s)?\ )?
    (?:e-?mail(?:\ address)? | correo(?:\ electr[oó]nico)? | reply[- ]to | from | de | contact(?:\ info(?:rmation)?)?)     # an EHR's "Referring provider contact:"
    [*_]*[ \t]*[:=]
""", flags=re.I | re.M)
_REPLY_THEM = rule("relay_reply_to_them", RuleKind.RELAY, "the address the relay says to answer the person at", r"""
    \b(?:reply|respond|write\ back|get\ back|answer)\ (?:to\ )?(?:them|him|her|this\ (?:person|client|sender))
        (?:\ directly)?\ (?:at|by\ email\ at|via)\b
  | \b(?:reach|contact|email|e-mail)\ (?:them|him|her)(?:\ directly)?\ at\b
  | \bresp[oó]nd\w*\ (?:directamente\ )?a\ (?:esta\ persona|[eé]l|ella)\ (?:en|a)\b     # Spanish
  | \bescr[ií]b\w*\ (?:directamente\ )?a\ (?:esta\ persona|[eé]l|ella)\ (?:en|a)\b
""")
# A referral network's notice says nothing of an address in its body: its Reply-To is the office.
_REPLY_TO_HEADER = rule("relay_reply_to_header", RuleKind.RELAY, "the Reply-To the relay sets for the sender", r"""
    (?!)     # read from the header, not from words: a rule for its id, kind and reason
""")
# Where it puts their words: a message field, or a line saying someone sent a message.
_WORDS = rule("relay_person_words", RuleKind.RELAY, "a web form relaying a person's message, whatever its headers say", r"""
    ^[ \t]*[*_]*(?:your\ |client's\ |visitor's\ )?
        (?:message(?:\ body)? | comments? | inquiry | enquiry | questions? | mensaje | comentarios?
         | how\ can\ we\ help(?:\ you)?\?? | (?:tell\ us\ (?:a\ little\ )?about\ )?what\ brings\ you\ (?:in|here|to\ (?:us|therapy|counseling))(?:\ today)?\??
         | clinical\ notes
         | reason\ for\ (?:contact|reaching\ out|visit|seeking\ (?:therapy|help|counseling|services|care)|referral))[*_]*[ \t]*:
  | \b(?:has\ )?sent\ you\ a\ (?:new\ )?(?:message|referral)\b
  | \byou\ have\ (?:a|received\ a)\ new\ message\ from\b | \byou\ have\ received\ a\ new\ (?:electronic\ )?referral\b
  | \b(?:te|le)\ (?:ha\ )?envi[oó]\ un\ mensaje\b | \bha\ enviado\ un\ mensaje\b | \btienes?\ un\ (?:nuevo\ )?mensaje\ de\b
""", flags=re.I | re.M)
# The relay's own lines around the person's words: instructions, footers, legal text.
_ENVELOPE = rule("relay_envelope", RuleKind.RELAY, "a relay's own boilerplate", r"""
    \bdo\ not\ reply\b | \bdon'?t\ reply\b | \bno\ (?:responda|conteste)\w*\b | \bunmonitored\b
  | \bunsubscribe\b | \bdarse\ de\ baja\b | \bcancelar\ (?:la\ )?suscripci
  | \byou(?:'re|\ are)?\ receiv\w+\ this\b | \brecib\w+\ este\ (?:mensaje|correo)
  | \bthis\ (?:message|email|e-mail|notification)\ was\ (?:sent|generated|delivered)\b
  | \b(?:este\ (?:mensaje|correo))\ (?:fue|ha\ sido)\ (?:enviado|generado)
  | \bautomated\ (?:message|notification|email)\b | \bmensaje\ autom[aá]tico\b
  | \bpowered\ by\b | \bmanage\ (?:your\ )?(?:notifications?|email|preferences|settings|account)\b
  | \bprivacy\ policy\b | \bterms\ of\ (?:use|service)\b | \bpol[ií]tica\ de\ privacidad\b
  | ©
""")


@dataclass(frozen=True)
class Relay:
    """The person a relay speaks for."""

    address: str  # where they asked to be answered
    found_by: Rule  # which rule found that address
    message: Inbound  # the relay with its own boilerplate lines set aside: what the person wrote

    @property
    def reasons(self) -> tuple[str, ...]:
        return (f"reply address: {self.found_by.reason}", _WORDS.reason)


def relayed(message: Inbound, own_addresses: frozenset[str] | set[str]) -> Relay | None:
    """The person whose words a relay carries, or None when no one's words and address are in it.

    The address must be someone else's than the relay's and the practice's: a directory's
    footer names its own support address, and a no-reply address answers nobody."""
    body = message.text
    if not _WORDS.pattern.search(body):
        return None
    found = _address(body, message.sender, own_addresses) or _reply_to(message, own_addresses)
    if not found:
        return None
    source = message.fresh_text if _WORDS.pattern.search(message.fresh_text) else body
    words = "\n".join(line for line in source.splitlines() if not _ENVELOPE.pattern.search(line)).strip()
    return Relay(found[0], found[1], replace(message, fresh_text=words))


def _reply_to(message: Inbound, own_addresses: frozenset[str] | set[str]) -> tuple[str, Rule] | None:
    """The Reply-To a relay sets, when it is someone else's than the relay's, the practice's or nobody's."""
    relay_domain = message.sender.partition("@")[2]
    for address in message.reply_to:
        address = address.lower()
        if _someone_elses(address, relay_domain, own_addresses):
            return address, _REPLY_TO_HEADER
    return None


def _someone_elses(address: str, relay_domain: str, own_addresses: frozenset[str] | set[str]) -> bool:
    """Neither the practice's, nor nobody's (no-reply), nor the relay's own."""
    return address not in own_addresses and not is_no_reply(address) and not (relay_domain and address.endswith("@" + relay_domain))


def _address(body: str, sender: str, own_addresses: frozenset[str] | set[str]) -> tuple[str, Rule] | None:
    """The first address the relay gives for the person, and the rule that found it."""
    relay_domain = sender.partition("@")[2]
    places = [(m.end(), _EMAIL_FIELD) for m in _EMAIL_FIELD.pattern.finditer(body)]
    places += [(m.end(), _REPLY_THEM) for m in _REPLY_THEM.pattern.finditer(body)]
    for end, found_by in sorted(places, key=lambda place: place[0]):
        line = body[end:].split("\n", 1)[0] if found_by is _EMAIL_FIELD else body[end: end + 120]
        match = _ADDRESS.search(line)
        if not match:
            continue
        address = match.group(0).lower().rstrip(".")
        if _someone_elses(address, relay_domain, own_addresses):
            return address, found_by
    return None
