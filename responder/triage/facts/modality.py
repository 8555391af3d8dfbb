"""Telehealth or in person, when the person states or prefers one."""

from __future__ import annotations

import re

from ..rules import SENTENCE, RuleKind, rule

_TELEHEALTH = rule("telehealth", RuleKind.MODALITY, "telehealth", r"""
    \btele-?health\b | \btele-?therapy\b | \btelemedicine\b | \bvideo\b | \bvirtual(?:ly)?\b | \bzoom\b | \bremote(?:ly)?\b
  | \bdoxy\b | \bfacetime\b
  | \bonline\ (?:sessions?|therapy|counsel\w*|appointments?|visits?|only)\b | \b(?:sessions?|meet|therapy)\ online\b
  | \bon\ (?:the|my|a)\ (?:computer|screen|laptop)\b
  | \bteleterapia\b | \ben\ l[ií]nea\b | \bpor\ video\b | \bvideollamada\b     # Spanish
""")
_IN_PERSON = rule("in_person", RuleKind.MODALITY, "in person", r"""
    \bin[- ]person\b | \bin[- ]office\b | \bin\ (?:the\ |an\ |your\ )?office\b | \bface[- ]to[- ]face\b
  | \bcome\ (?:in)?to\ (?:the\ |an\ |your\ )?office\b | \bcome\ (?:in|by)\ (?:to\ )?(?:the\ |your\ )?office\b
  | \b(?:come|coming|go|get)\ (?:in)?to\ your\ (?:office|clinic|location)\b | \bsit\ down\ with\b
  | \ben\ persona\b | \bpresencial\b | \ben\ (?:la|su)\ oficina\b     # Spanish
""")
# "the Beaverton office": a place's office, named with a capital (case matters).
_PLACE_OFFICE = rule("place_office", RuleKind.MODALITY, "in person at a named office", r"""
    \b(?!(?:His|Her|My|Our|Their|Your|The|This|That|An?|Home|Work)\b)[A-Z][a-z]+\ office\b
""", flags=0)
# Both named and either will do ("in person or video").
_EITHER = rule("either", RuleKind.CONTEXT, "either will do", r"""
    \b(?:or|either|open\ to|whatever|whichever|both|any|vs|versus|no\ preference|flexible|doesn'?t\ matter|fine\ with)\b
""")
# One named, and left open ("video or coming in, whichever").
_UNDECIDED = rule("undecided", RuleKind.CONTEXT, "undecided", r"""
    \b(?:whichever|either|no\ preference|flexible|doesn'?t\ matter|don'?t\ mind|don'?t\ know\ (?:yet\ )?whether)\b
""")
# Just before one named: declined ("I'd prefer not to do video"), so the other is preferred.
_DECLINED = rule("declined", RuleKind.DISCOUNT, "declined", r"""
    \b(?:not|no|never|don'?t|do\ not|can'?t|rather\ not|prefer\ not\ to) \s+ (?:\w+\s+){0,2} $
""")


def modality(text: str) -> str:
    """Telehealth or in person when the person states or prefers one; unknown when they name none
    or leave both open ("in person or video")."""
    preferred: list[str] = []
    text = re.sub(r"\b(vs|Dr|Mr|Mrs|Ms|St|e\.g|i\.e)\.", r"\1", text)  # abbreviations do not end a sentence
    for sentence in SENTENCE.findall(text):
        tele = [m.start() for m in _TELEHEALTH.pattern.finditer(sentence)]
        person = [m.start() for m in _IN_PERSON.pattern.finditer(sentence)] + [m.start() for m in _PLACE_OFFICE.pattern.finditer(sentence)]
        if not tele and not person:
            continue
        if tele and person:
            than = sentence.lower().find(" than ")
            if than > 0:
                before_than = [p for p in tele + person if p < than]
                if before_than:
                    preferred.append("telehealth" if max(before_than) in tele else "in_person")
                continue
            if _EITHER.pattern.search(sentence):
                continue
            preferred.append("telehealth" if min(tele) < min(person) else "in_person")
            continue
        kind, first = ("telehealth", min(tele)) if tele else ("in_person", min(person))
        if re.search(r"\bor\s+(?:\w+\s+){0,2}$", sentence[:first], re.I) or _UNDECIDED.pattern.search(sentence):
            continue  # "after 5 or on video", "video or coming in, whichever": options, not a preference
        if _DECLINED.pattern.search(sentence[:first]):
            kind = "in_person" if kind == "telehealth" else "telehealth"  # "I'd prefer not to do video"
        preferred.append(kind)
    return preferred[0] if preferred else "unknown"

