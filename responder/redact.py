"""What may appear in logs about a person: never a body, a subject or a full address."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[\w.%+'-]+@[\w.-]+\.\w+")


def mask(address: str | None) -> str:
    """'jordan.lee@example.org' -> 'j***@example.org'; '+15550101234' -> '+1555***34'."""
    if not address:
        return "-"
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:5]}***{address[-2:]}" if len(address) > 7 else "***"


def scrub(text: str) -> str:
    """A server's error text with any address in it masked (servers often echo the recipient)."""
    return _ADDRESS.sub(lambda m: mask(m.group(0)), text)
