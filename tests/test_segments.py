"""SMS segments counted as carriers count them."""

from __future__ import annotations

import pytest

from responder.replying.segments import count, is_gsm


@pytest.mark.parametrize(("text", "segments"), [
    ("", 0),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("€" * 80, 1),  # extension characters take two septets: 160
    ("€" * 81, 2),
    ("a" * 152 + "€", 1),  # 154 septets still fit one segment
    ("a" * 159 + "€", 2),  # 161 septets
    ("a" * 152 + "€" + "a" * 10, 2),  # the escape is not split: 152 + (2 + 10)
    ("é" * 160, 1),  # é is in the basic alphabet
    ("ó" * 70, 1),  # ó is not: UCS-2
    ("ó" * 71, 2),
    ("ó" * 134, 2),
    ("ó" * 135, 3),
    ("😀" * 35, 1),  # two UTF-16 units each
    ("😀" * 36, 2),
    ("a" * 66 + "😀", 1),
    ("a" * 66 + "😀" + "a" * 4, 2),  # 72 units; the pair stays in one segment: 66 + (2 + 4)
])
def test_segments(text: str, segments: int) -> None:
    assert count(text) == segments


def test_a_curly_quote_or_an_emoji_leaves_the_gsm_alphabet() -> None:
    assert is_gsm("Reply STOP to opt out. It's 988.")
    assert not is_gsm("It’s fine")
    assert not is_gsm("thanks 🙂")
