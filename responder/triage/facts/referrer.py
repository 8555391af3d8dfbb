"""Who referred a client, and from where: for the practice's list of referral sources."""

from __future__ import annotations

from ...model import Inbound
from ..rules import RuleKind, rule

# A signature line that names an organisation.
_ORGANIZATION = rule("organization", RuleKind.REFERRER, "names an organisation", r"""
    \b(?:clinic|school|church|center|centre|hospital|pediatrics|program|practice|university|college|health|medical|counseling
       |psychiatry|associates|group|llc|inc|pc|pllc|law|partners|department|services|eap|district|ministries|parish)\b
""")


def referral_source(message: Inbound) -> tuple[str, str]:
    """Who referred, and from where: the sender's name, and the organisation named in their
    signature (else their mail domain), for the practice's list of referral sources."""
    name = message.sender_name or message.sender
    lines = [line.strip() for line in (message.fresh_text or message.text).splitlines() if line.strip()]
    for line in reversed(lines[-8:]):
        if len(line) <= 80 and _ORGANIZATION.pattern.search(line) and "@" not in line:
            return name, line
    return name, message.sender.partition("@")[2] if "@" in message.sender else ""

