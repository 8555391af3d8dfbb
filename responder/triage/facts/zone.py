"""The time zone a person writes from, when they name one ("I'm on Pacific time", "after 6 EST").

Only a zone named as one is read: an abbreviation that is nothing else (EST, PDT), or a region's
name with "time" ("Eastern time", "hora del Pacífico"). "PT" and "CT" are physical therapy and a
scan as often as a zone, so they are never read. A first reply then gives each opening in the
person's time too.
"""

from __future__ import annotations

from ..rules import RuleKind, rule

_ZONES = {"eastern": "America/New_York", "central": "America/Chicago", "mountain": "America/Denver", "pacific": "America/Los_Angeles",
          "alaska": "America/Anchorage", "hawaii": "Pacific/Honolulu", "este": "America/New_York", "centro": "America/Chicago",
          "montaña": "America/Denver", "pacífico": "America/Los_Angeles", "pacifico": "America/Los_Angeles"}
_ABBREVIATIONS = {"est": "eastern", "edt": "eastern", "cst": "central", "cdt": "central", "mst": "mountain", "mdt": "mountain",
                  "pst": "pacific", "pdt": "pacific", "akst": "alaska", "akdt": "alaska", "hst": "hawaii"}

# Abbreviations in capitals only ("est" is Spanish for nothing, but "CST" is a zone); names in any case.
_NAMED = rule("zone", RuleKind.ZONE, "a time zone named", r"""
    \b(EST|EDT|CST|CDT|MST|MDT|PST|PDT|AKST|AKDT|HST)\b
  | (?i:\b(eastern|central|mountain|pacific|alaska|hawaii)\ (?:standard\ |daylight\ )?time\b)
  | (?i:\bhora\ del?\ (este|centro|monta[ñn]a|pac[ií]fico)\b)
""", flags=0)


def zone(text: str) -> str | None:
    """The IANA name of the zone the person names, or None."""
    match = _NAMED.pattern.search(text)
    if match is None:
        return None
    named = next(group for group in match.groups() if group).lower()
    return _ZONES.get(_ABBREVIATIONS.get(named, named))
