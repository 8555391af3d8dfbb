"""The first name a reply may greet the person by, when the message gives it.

A web form or a directory's relay puts it in a name field ("Name: Jordan Lee"); a person may say
it ("my name is Sam", "me llamo Ana"); otherwise an email's From carries it ("Jordan Lee
<jlee@...>", "LEE, JORDAN"), unless the message was relayed, when From names the service. A name
must look like one: a capital, letters, not a title or a word a mailbox is named for ("Info",
"Front Desk"). Better no name than a wrong one: "Hello," is never unkind.
"""

from __future__ import annotations

import re

from ...model import Channel, Inbound
from ..rules import RuleKind, rule

_FIELD = rule("name_field", RuleKind.NAME, "a form's name field", r"""
    ^\s*(?:your\s+)?(?:full\s+|first\s+)?(?:name|nombre(?:\s+completo)?)\s*[:=]\s*(.+?)\s*$
""", flags=re.I | re.M)
_SAID = rule("name_said", RuleKind.NAME, "the person says their name", r"""
    \b(?:[Mm]y\ name\ is|[Mm]y\ name's|[Tt]his\ is|[Mm]e\ llamo|[Mm]i\ nombre\ es)\ ([A-ZÀ-Ý][\w'’-]+)
""", flags=0)
_WORD = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ'’-]+$")
# Words a sender's display name may start with that name nobody: titles, mailboxes, services.
_NOT_NAMES = frozenset("""
    dr mr mrs ms mx miss prof rev the a an info contact team office admin support intake front desk hello hi hey website web
    form forms new noreply no reply customer service billing patient client mom dad parent psychology today referrals
    referral scheduling appointments notifications notification mailer daemon postmaster alert alerts lead leads inquiry
    counseling therapy clinic center health care family
""".split())


def first_name(message: Inbound, relayed: bool) -> str | None:
    """The person's first name, or None. ``relayed``: a form or relay sent it, so From is not theirs."""
    text = message.fresh_text or message.text
    field = _FIELD.pattern.search(text)
    if field:
        typed = field.group(1)
        return _given(typed.title() if typed.islower() else typed)  # "jordan lee", as typed into a form
    said = _SAID.pattern.search(text)
    if said:
        return _given(said.group(1))
    if message.channel == Channel.EMAIL and not relayed and message.sender_name:
        shown = message.sender_name.strip().strip('"')
        if "," in shown:  # "LEE, JORDAN": family name first
            shown = shown.split(",", 1)[1]
        return _given(shown)
    return None


def _given(shown: str) -> str | None:
    words = [w for w in re.split(r"\s+", shown.strip()) if w]
    while words and words[0].rstrip(".").lower() in ("dr", "mr", "mrs", "ms", "mx", "miss", "prof", "rev"):
        words = words[1:]
    if not words or len(words) > 4 or "@" in shown or any(ch.isdigit() for ch in shown):
        return None
    first = words[0].strip(".,;:")
    first = first.capitalize() if first.isupper() and len(first) > 1 else first
    if not _WORD.match(first) or first.lower() in _NOT_NAMES or len(first) > 20:
        return None
    return first
