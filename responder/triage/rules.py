"""What every rule table shares: a pattern with an id, a kind, and the reason it reports.

A rule is written with ``re.VERBOSE``: one alternative or idea a line, commented where it helps.
In that mode spaces and ``#`` are syntax, so a phrase escapes them (``kill\\ myself``, ``\\#1``);
inside ``[...]`` they stay literal. Code that acts on a match asks the rule's ``kind``, never the
words of its ``reason``: reasons are for people, and may be reworded freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from .prefilter import Needles, fold, may_match, needles

SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class RuleKind(StrEnum):
    """What a rule reads."""

    RISK = "risk"  # something said about someone's safety now: raises a crisis on its own
    RISK_TOPIC = "risk_topic"  # a risk named as a topic (suicide, self-harm, a gun): needs the model's support
    DISCOUNT = "discount"  # puts what another rule found in the past or someone else's story, or negates it
    CONTEXT = "context"  # words around another rule's match that qualify it (now, insurance words, laughter)
    SCAM = "scam"  # a scam or phishing: solicitation on its own, however the message dresses
    CATEGORY = "category"  # a sign of one category: a pitch, a referral, a current client, a person asking for care
    PRACTICE_WORD = "practice_word"  # a word the practice configured (``classification:``): decides over the model
    AUTOMATIC = "automatic"  # a sign of machine mail or a machine's text
    RELAY = "relay"  # where a directory's or web form's relay puts a person's words and address
    DISAGREEMENT = "disagreement"  # the headers say machine, the model reads a person: a human decides
    PLAN = "plan"  # how a person will pay: a plan named, or paying themselves
    SERVICE = "service"  # a service asked for, or who the therapy is for
    AGE = "age"  # the age in years of the person the therapy is for
    NAME = "name"  # the first name a reply greets the person by
    ZONE = "zone"  # the time zone the person writes from
    MODALITY = "modality"  # telehealth or in person
    REPLY_ADDRESS = "reply_address"  # an address the person asks to be answered at
    REFERRER = "referrer"  # who referred a client, and from where


@dataclass(frozen=True)
class Rule:
    id: str  # short, stable, snake_case: what tests and readers call it
    kind: RuleKind
    reason: str  # why, for a person; several ways of saying one thing may share a reason
    pattern: re.Pattern[str]
    needles: Needles | None  # see prefilter.py: without one of these in the text, no match

    def may_match(self, folded: str) -> bool:
        return may_match(self.needles, folded)


def rule(id: str, kind: RuleKind, reason: str, pattern: str, flags: int = re.I) -> Rule:
    """A rule from a pattern written for ``re.VERBOSE``, case-insensitive unless ``flags`` say otherwise."""
    compiled = re.compile(pattern, flags | re.X)
    return Rule(id, kind, reason, compiled, needles(compiled))


@cache  # a practice's words are ruled on for every message: compiled once
def word_rule(word: str, reason: str) -> Rule:
    """A practice's own word or phrase, matched case-insensitively as a whole word."""
    return rule("practice_word", RuleKind.PRACTICE_WORD, reason, r"(?<!\w)" + re.escape(word) + r"(?!\w)")


def candidates(table: Iterable[Rule], text: str) -> list[Rule]:
    """The rules that may match somewhere in ``text``: the others cannot."""
    folded = fold(text)
    return [r for r in table if r.may_match(folded)]


def matching(table: Iterable[Rule], text: str) -> list[Rule]:
    """The rules that match somewhere in ``text``, in table order."""
    return [r for r in candidates(table, text) if r.pattern.search(text)]


def reasons(found: Iterable[Rule]) -> list[str]:
    """The reasons of ``found``, each once, in order."""
    return list(dict.fromkeys(r.reason for r in found))
