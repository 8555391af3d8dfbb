"""Words a regular expression cannot match without: a cheap test that skips most rules.

Python's ``re`` tries a case-insensitive pattern that begins with ``\\b`` or an alternation at
every position of the text; a hundred such rules over every sentence were most of the time spent
classifying a message. Most rules cannot match most messages, and a substring test says so
at C speed: a rule for "kill myself ... end my life" cannot match a text that has none of
"self", "life", "it all".

The needles come from the pattern's own parse tree, so they cannot drift from the rule: a
sequence must contain each of its literal runs, an alternation one of its branches' needles, a
repeat of at least once its body's. The test runs on the casefolded text, in which every character
that ``re.IGNORECASE`` matches to a needle's letter becomes that letter (tests/test_prefilter.py
checks this over all of Unicode for the letters the rules use).
"""

from __future__ import annotations

import re
from re import _constants as sre  # noqa: PLC2701 - the parser's own names; stable from 3.11 on
from re import _parser

Needles = frozenset[str]

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
# The two characters ``re.IGNORECASE`` matches to "i" that casefold() does not make "i".
_DOTTED_I = str.maketrans({"\u0130": "i", "\u0131": "i"})


def needles(pattern: re.Pattern[str]) -> Needles | None:
    """Casefolded strings of which every match contains at least one; None if no such set is
    known (the rule then always runs)."""
    return _needles(_parser.parse(pattern.pattern, pattern.flags))


def fold(text: str) -> str:
    """The text as needles are looked for in it."""
    return text.translate(_DOTTED_I).casefold()


def may_match(found: Needles | None, folded: str) -> bool:
    """False only when the pattern cannot match ``folded`` (a text passed through ``fold``)."""
    return found is None or any(map(folded.__contains__, found))


def _needles(items: _parser.SubPattern | list[tuple[object, object]]) -> Needles | None:
    """The most selective set this sequence offers: the one whose shortest needle is longest."""
    best: Needles | None = None

    def consider(candidate: Needles | None) -> None:
        nonlocal best
        if candidate and (best is None or _selectivity(candidate) > _selectivity(best)):
            best = candidate

    run: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av).casefold())  # type: ignore[arg-type]
            continue
        if op in _ZERO_WIDTH:  # consumes nothing: the literals on either side stay adjacent
            continue
        consider(frozenset({"".join(run)}) if run else None)
        run = []
        if op is sre.SUBPATTERN:
            consider(_needles(av[3]))  # type: ignore[index]
        elif op is sre.BRANCH:
            branches = [_needles(branch) for branch in av[1]]  # type: ignore[index]
            if all(branches):
                consider(frozenset().union(*branches))  # type: ignore[arg-type]
        elif op in _REPEATS and av[0] >= 1:  # type: ignore[index]
            consider(_needles(av[2]))  # type: ignore[index]
    consider(frozenset({"".join(run)}) if run else None)
    return best


def _selectivity(found: Needles) -> tuple[int, int]:
    return min(map(len, found)), -len(found)
