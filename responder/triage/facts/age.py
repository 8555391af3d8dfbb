"""The age of the person the therapy is for, when the message gives one in years.

A parent writes "my son, 16" or "our daughter (14)", a form says "Age: 15", an adult "I'm 42".
Several ages (a couple, a family, siblings) mean the youngest person to be seen, who decides
which clinicians can see them. Months and weeks are babies, not clients; "20 years ago" is no age.
"""

from __future__ import annotations

import re

from ..rules import RuleKind, rule

# Ages in years of someone the therapy would be for (months and weeks are babies, not clients).
_AGE = rule("age", RuleKind.AGE, "an age in years", r"""
    \b(\d{1,2})[- ]?(?:years?[- ]olds?|yrs?[- ]?olds?|yo|y/o|y\.o\.)\b(?!\ (?:ago|later))     # "15-year-old", "15yo"
  | \b(?:age|aged|edad|(?:who\ )?just\ turned)\s*:?\s*(\d{1,2})\b(?!\s*(?:years?\ ago|minutes|percent|%))
  | \b(?:patient|student|client|member)\ is\ [A-Z][\w'-]+(?:\ [A-Z][\w'-]+){0,2},?\ (?:age\ |aged\ )?(\d{1,2})\b
    # "my son Leo, 9", "daughter (14)"
  | \b(?:son|daughter|child|kid|boy|girl|stepson|stepdaughter|grandson|granddaughter|nephew|niece|hijo|hija)\b
        (?:\s+[A-Z][a-z]+)?,?\s*(?:is\s+|who\ is\s+|who's\s+|\()?(\d{1,2})\b
        (?!\s*(?:months?|weeks?|days?|mo\b|:|am|pm|th|st|nd|rd))
  | \b(?:tiene|de)\s+(\d{1,2})\s+años\b
  | \bi'?m\ (\d{1,2})\b(?![:.]\d|\s*(?:weeks?|months?|days?|minutes?|mins?|hours?|hrs?|am\b|pm\b|%|percent|th\b|st\b|nd\b|rd\b))
  | ^\s*(?:student|patient|client|member|paciente|child|youth)(?:\ name)?\s*:[^\n]*?,\s*(\d{1,2})\b     # a form's "Student: Ana, 9"
""", flags=re.I | re.M)


def all_ages(text: str) -> list[int]:
    """Every age in years the message gives, in order."""
    return [int(age) for m in _AGE.pattern.finditer(text) for age in m.groups() if age]


def age(text: str) -> int | None:
    """The youngest age the message gives, or None."""
    return min(all_ages(text), default=None)
