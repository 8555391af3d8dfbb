"""The prefilter may only ever skip a rule that could not have matched: a skipped crisis rule is a
missed crisis. Checked from three sides: the needles of known patterns, every rule against every
labelled message, and the case folding over all of Unicode."""

from __future__ import annotations

import json
import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import CORPUS

from responder.config import Config
from responder.triage import classify, risk
from responder.triage.facts import insurance, services
from responder.triage.parse import parse_email, parse_sms
from responder.triage.prefilter import fold, needles
from responder.triage.rules import Rule

RULES: tuple[Rule, ...] = (*risk._CRISIS, *classify._SCAM, *classify._SOLICITATION, *classify._REFERRAL,
                           *classify._EXISTING, *services._SERVICE_RULES)


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"\bkill (?:my ?self|it all)\b", {"kill "}),  # the longest run wins
    (r"\b(?:my ?self|it all)\b", {"self", "it all"}),
    (r"colou?r", {"colo"}),
    (r"(?:ab)*c", {"c"}),
    (r"[ab]x", {"x"}),
    (r"(?:ab)+", {"ab"}),
    (r"ab|cd", {"ab", "cd"}),
    (r"\bA\b", {"a"}),  # casefolded
    (r"a|\w+", None),  # a branch with no literal: nothing is certain
    (r"\w+@\w+", {"@"}),
    (r"x?", None),
])
def test_the_needles_of_a_pattern(pattern: str, expected: set[str] | None) -> None:
    found = needles(re.compile(pattern, re.I))
    assert (set(found) if found is not None else None) == expected


def _corpus_texts() -> list[str]:
    texts = []
    for path in sorted(CORPUS.rglob("*")):
        try:
            message = parse_sms(json.loads(path.read_text())) if path.name.endswith(".sms.json") else \
                parse_email(path.read_bytes()) if path.suffix == ".eml" else None
        except Exception:  # noqa: BLE001 - unreadable files are the parser's tests, not these
            continue
        if message is not None:
            texts.append(message.reading)
    return texts


def test_no_rule_is_skipped_where_it_matches(config: Config) -> None:
    """Every rule against every sentence and every whole message of the labelled sets."""
    texts = _corpus_texts()
    assert len(texts) > 1000
    plan_names = insurance._plan_names(tuple((p.id, p.name, tuple(p.aliases)) for p in config.practice.insurance.plans), ())
    skipped = 0
    for text in texts:
        for piece in (text, *risk.SENTENCE.findall(text)):
            folded = fold(piece)
            for rule in RULES:
                if not rule.may_match(folded):
                    skipped += 1
                    assert rule.pattern.search(piece) is None, (rule.reason, piece)
        lowered = text.lower()
        for name in plan_names:
            if not name.words.may_match(fold(lowered)):
                assert name.words.pattern.search(lowered) is None, (name.words.reason, text)
    assert skipped > 10 * len(texts)  # the prefilter does skip most rules


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted({n for r in RULES if r.needles for n in r.needles})), max_size=6),
       st.lists(st.text(max_size=8), max_size=6))
def test_mangled_text_built_from_the_needles_themselves(words: list[str], noise: list[str]) -> None:
    """Texts made of the rules' own words, mixed case and odd characters between: wherever a
    rule matches, the prefilter lets it run."""
    text = "".join(w.upper() if i % 2 else w for i, w in enumerate(words + noise))
    folded = fold(text)
    for rule in RULES:
        if rule.pattern.search(text):
            assert rule.may_match(folded), (rule.reason, text)


def test_case_folding_keeps_every_character_ignorecase_matches() -> None:
    """For each character a needle uses, every character in Unicode that re.IGNORECASE matches to
    it folds to it too (the Turkish dotted and dotless I do not, without fold's own table)."""
    letters = {ch for r in RULES if r.needles for needle in r.needles for ch in needle}
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    for letter in letters:
        for found in re.findall(re.escape(letter), everything, re.I):
            assert fold(found) == fold(letter), (letter, found)
