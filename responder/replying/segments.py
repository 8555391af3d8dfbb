"""How many SMS segments a text costs, counted as the network counts them.

A text that fits the GSM 03.38 alphabet travels in 7-bit septets: 160 in one segment, 153 per
segment once it is split (the rest of each carries the concatenation header). The characters of
the extension table take two septets and an escape is never split across segments. Anything
outside the alphabet (an emoji, a curly quote) sends the whole text as UCS-2: 70 code units in one
segment, 67 once split, and a character beyond the Basic Multilingual Plane takes two units that
stay together.
"""

from __future__ import annotations

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def count(text: str) -> int:
    """The number of segments ``text`` is sent in (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm(text):
        sizes = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        single, multi = 160, 153
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi = 70, 67
    if sum(sizes) <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments
