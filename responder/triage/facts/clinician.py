"""A clinician of the practice the person asks for by name ("Is Jen taking new couples?").

Names come from ``practice.clinicians``: the full name as configured, less its credentials
("Priya Raman, LCSW" is asked for as "Priya Raman", "Priya" or "Ms. Raman"), and the short form
of a first name a person may use (Jennifer as Jen). A name is matched as a whole word with a
capital, so "mark" the verb or "will" the word is never a clinician; the first named wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ...config import PracticeClinician

# Short forms people write for a clinician's first name: the name as configured -> what is also said.
_SHORT = {"jennifer": ("jen", "jenny"), "jonathan": ("jon",), "katherine": ("kate", "katie"), "catherine": ("cate", "cathy"),
          "elizabeth": ("liz", "beth"), "michael": ("mike",), "christopher": ("chris",), "christina": ("chris", "tina"),
          "margaret": ("maggie", "meg"), "rebecca": ("becky", "becca"), "samantha": ("sam",), "samuel": ("sam",),
          "alexander": ("alex",), "alexandra": ("alex",), "daniel": ("dan",), "danielle": ("dani",), "nicholas": ("nick",),
          "matthew": ("matt",), "stephanie": ("steph",), "william": ("bill", "will"), "robert": ("rob", "bob"), "james": ("jim",),
          "patricia": ("pat", "trish"), "victoria": ("tori",), "benjamin": ("ben",), "joseph": ("joe",), "anthony": ("tony",)}


def named_clinician(text: str, clinicians: Sequence[PracticeClinician]) -> str | None:
    """The id of the first clinician the text names, or None."""
    found: list[tuple[int, str]] = []
    for clinician in clinicians:
        match = _pattern(clinician).search(text)
        if match:
            found.append((match.start(), clinician.id))
    return min(found)[1] if found else None


def _pattern(clinician: PracticeClinician) -> re.Pattern[str]:
    name = clinician.name.split(",")[0].strip()  # credentials after the comma are not said
    parts = [p for p in name.split() if p.rstrip(".").lower() not in ("dr", "mr", "mrs", "ms", "mx")]
    first, last = parts[0], parts[-1] if len(parts) > 1 else ""
    firsts = [first, *(short.capitalize() for short in _SHORT.get(first.lower(), ()))]
    said = [re.escape(name), *(re.escape(f) for f in firsts)]
    if last:
        said.append(rf"(?:Dr|Mr|Mrs|Ms|Mx)\.?\s+{re.escape(last)}")
    return re.compile(r"(?<![\w'])(?:" + "|".join(said) + r")(?![\w'])")
