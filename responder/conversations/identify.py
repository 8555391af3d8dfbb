"""Who a message is from, as the keys that join it to a person's conversation.

A person is known by every address and number they use: the From and Reply-To addresses (a web
form's email field arrives as the reply address), a number they give in an email ("text me at
555-013-2231"), the number a text comes from. A thread reply names one of our Message-IDs and
joins that conversation whatever address it comes from. A professional referral is about the
client it names: the client's addresses and numbers are its keys, never the referrer's, who is
recorded as the conversation's source instead. Pure: the store does the joining
(storage/conversations.py), and migration 0003 backfills by these same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Category, Channel, IdentityKind, Inbound
from ..triage.guard import is_no_reply

# The practice's country calling code: numbers written without one are taken as North American.
COUNTRY_CODE = "1"
# A message of these categories is nobody's conversation: machines and vendors notify nobody.
NOBODYS = frozenset({Category.AUTOMATED, Category.SOLICITATION})

_PHONE = re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_FAX = re.compile(r"\bfax\b", re.IGNORECASE)


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    value: str  # normalised: an address in lower case, a number in E.164


@dataclass(frozen=True)
class Keys:
    """What a message may join by: the Message-IDs it answers, then the person's identities."""

    threads: tuple[str, ...]
    identities: tuple[Identity, ...]
    referrer: str | None = None  # who referred, for a professional referral: the conversation's source


def e164(number: str, country_code: str = COUNTRY_CODE) -> str | None:
    """A phone number as E.164 (+15550132231), or None when it is not one."""
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if country_code == "1" and len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return f"+{country_code}{digits}" if len(digits) == 10 else None


def email_identity(address: str | None) -> Identity | None:
    address = (address or "").strip().lower()
    return Identity(IdentityKind.EMAIL, address) if "@" in address else None


def phone_identity(number: str | None) -> Identity | None:
    normal = e164(number or "")
    return Identity(IdentityKind.PHONE, normal) if normal else None


def message_ids(value: str) -> tuple[str, ...]:
    """The Message-IDs an In-Reply-To or References header names, as written (with brackets)."""
    return tuple(_MESSAGE_ID.findall(value or ""))


def keys(channel: Channel, category: Category | None, sender: str, reply_to: tuple[str, ...], answer_to: str | None,
         text: str, in_reply_to: str, references: tuple[str, ...], own: frozenset[Identity] = frozenset()) -> Keys | None:
    """The keys of one message; None for a message that is nobody's (a machine's, a vendor's, or
    one never read). ``reply_to`` is the Reply-To header's addresses, ``answer_to`` the address a
    reply goes to (Facts.reply_to: a web form's or a directory relay's is read from the body, and
    then From is the form's or relay's, nobody's own). ``text`` is what the person wrote this time
    (quotes and signature removed, so that our own reply quoted back, or a referrer's signature,
    names nobody); ``own`` is the practice's addresses and numbers, never a person's."""
    if category is None or category in NOBODYS:
        return None
    threads = tuple(dict.fromkeys((*message_ids(in_reply_to), *references))) if channel == Channel.EMAIL else ()
    referrer = None
    if channel == Channel.SMS:
        found = [phone_identity(sender)]
    elif category == Category.PROFESSIONAL_REFERRAL:
        # The client's own addresses and numbers in the referral, never the referrer's; a reply
        # to our thank-you joins the client's conversation by its thread.
        referrer = sender.lower() or None
        theirs = {sender.lower(), *(a.lower() for a in reply_to), (answer_to or "").lower()}
        about = _without_signature(text)
        found = [email_identity(a) for a in _EMAIL.findall(about) if a.lower() not in theirs]
        found += [phone_identity(n) for n in _PHONE.findall(about)]
    else:
        # From is the person's unless it is a no-reply address or the reply address was read from
        # the body (a web form's or a directory's relay, which sends for many people).
        relayed = answer_to is not None and answer_to.lower() not in {sender.lower(), *(a.lower() for a in reply_to)}
        theirs = not relayed and not is_no_reply(sender)
        found = [email_identity(sender) if theirs else None, *(email_identity(a) for a in reply_to), email_identity(answer_to)]
        found += [phone_identity(n) for n in _PHONE.findall(text)]
    return Keys(threads, tuple(i for i in _unique(found) if i not in own), referrer)


def message_keys(inbound: Inbound, category: Category | None, answer_to: str | None,
                 own: frozenset[Identity] = frozenset()) -> Keys | None:
    """The keys of a parsed message, as ``keys`` reads them."""
    return keys(inbound.channel, category, inbound.sender, inbound.reply_to, answer_to, inbound.fresh_text,
                inbound.headers.get("in-reply-to", ""), inbound.references, own)


def own_identities(addresses: frozenset[str], numbers: tuple[str | None, ...]) -> frozenset[Identity]:
    """The practice's own addresses and numbers, as identities: never a person's."""
    found = [email_identity(a) for a in addresses] + [phone_identity(n) for n in numbers]
    return frozenset(i for i in found if i is not None)


def _without_signature(text: str) -> str:
    """A referral's text without the referrer's own numbers: the closing paragraph (their
    signature) and any line giving a fax number."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    kept = paragraphs[:-1] if len(paragraphs) > 1 else paragraphs
    return "\n".join(line for line in "\n\n".join(kept).splitlines() if not _FAX.search(line))


def _unique(found: list[Identity | None]) -> tuple[Identity, ...]:
    return tuple(dict.fromkeys(i for i in found if i is not None))
