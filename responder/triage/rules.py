"""What every rule table shares: a pattern with the reason it reports."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from .prefilter import Needles, fold, may_match, needles

SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    reason: str
    needles: Needles | None  # see prefilter.py: without one of these in the text, no match

    def may_match(self, folded: str) -> bool:
        return may_match(self.needles, folded)


def rule(pattern: str, reason: str) -> Rule:
    compiled = re.compile(pattern, re.I)
    return Rule(compiled, reason, needles(compiled))


def rules(*pairs: tuple[str, str]) -> tuple[Rule, ...]:
    return tuple(rule(p, r) for p, r in pairs)


@cache  # a practice's words are ruled on for every message: compiled once
def word_rule(word: str, reason: str) -> Rule:
    """A practice's own word or phrase, matched case-insensitively as a whole word."""
    return rule(r"(?<!\w)" + re.escape(word) + r"(?!\w)", reason)


def candidates(table: Iterable[Rule], text: str) -> list[Rule]:
    """The rules that may match somewhere in ``text``: the others cannot."""
    folded = fold(text)
    return [r for r in table if r.may_match(folded)]


def matches(table: Iterable[Rule], text: str) -> list[str]:
    """The reasons of the rules that match, each once, in table order."""
    return list(dict.fromkeys(r.reason for r in candidates(table, text) if r.pattern.search(text)))
