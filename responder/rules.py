"""What every rule table shares: a pattern with the reason it reports."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    reason: str


def rules(*pairs: tuple[str, str]) -> tuple[Rule, ...]:
    return tuple(Rule(re.compile(p, re.I), r) for p, r in pairs)


def word_rule(word: str, reason: str) -> Rule:
    """A practice's own word or phrase, matched case-insensitively as a whole word."""
    return Rule(re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.I), reason)


def matches(table: Iterable[Rule], text: str) -> list[str]:
    """The reasons of the rules that match, each once, in table order."""
    return list(dict.fromkeys(rule.reason for rule in table if rule.pattern.search(text)))
