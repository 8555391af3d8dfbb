"""The plan a person will pay with: a plan the practice is in network with (by id), ``other``
(a named plan it is not), ``self_pay`` or ``unknown``, with the reason it was read so.

To add a plan the practice is not in network with, add its name to OTHER_PLANS (or, when the name
is also a place or a common word, to OTHER_PLANS_BESIDE_INSURANCE_WORDS); an affiliate that
administers an in-network carrier's plans goes in AFFILIATES. A practice adds its own under
``practice.insurance.other_aliases`` and the aliases of its in-network plans under
``practice.insurance.plans[].aliases``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ...config import Config
from ..prefilter import fold
from ..rules import Rule, RuleKind, rule

# Named plans the practice is not in network with, matched as words (the practice adds more under
# practice.insurance.other_aliases). Blue Cross affiliates (Regence, Premera, Highmark, Wellmark)
# are not here: they read as Blue Cross through the practice's own aliases.
OTHER_PLANS = (
    "kaiser", "kaiser permanente", "tricare", "medicaid", "humana", "oscar", "ohp", "oregon health plan", "ambetter",
    "molina", "centene", "wellcare", "careoregon", "medi-cal", "chip", "champva", "va benefits", "bright health",
    "harvard pilgrim", "carelon", "moda",
    "pacificsource", "caresource", "amerigroup", "healthnet", "health net", "geha", "aspirus",
    "apple health", "masshealth", "husky health", "badgercare", "soonercare", "tenncare", "umpqua health",
    "jackson care connect", "medical assistance", "state medicaid", "medicaid plan",
    "husky", "ahcccs", "connecticare", "indian health service", "ihs", "tribal health", "mainecare", "nj familycare",
    "kancare", "peachcare", "priority health", "sentara", "geisinger", "upmc", "fidelis", "healthfirst", "caloptima",
    "l.a. care", "medicaid managed care",
)
# Plan names that are also places or words ("the Providence office"): a plan only beside words
# about insurance (_INSURANCE_CONTEXT).
OTHER_PLANS_BESIDE_INSURANCE_WORDS = ("providence", "oxford", "trillium", "beacon", "magellan", "emblem", "tufts", "presbyterian")
# Companies that administer plans for a carrier, on its network: a practice in network with the
# carrier (a configured plan whose names include the key) is reached through them too.
AFFILIATES = {
    "unitedhealthcare": ("umr", "surest", "all savers", "golden rule"), "uhc": ("umr", "surest", "all savers", "golden rule"),
    "aetna": ("meritain", "meritain health"), "cigna": ("allegiance benefit", "evernorth"),
    "blue cross": ("premera", "regence", "highmark", "wellmark", "carefirst", "excellus", "horizon bcbs"),
}
# Words that are never a plan's short name, however a plan is spelled.
_GENERIC = {"blue", "health", "first", "care", "plan", "medical", "mutual", "national", "community", "state", "united states"}

# Choosing to pay oneself, whatever plan one has ("I'd rather pay out of pocket so it stays private").
_PAYS_ANYWAY = rule("pays_anyway", RuleKind.PLAN, "chooses to pay themselves", r"""
    \b(?:would|'d)\ rather\ pay\b
  | \bprefer(?:s|red)?\ to\ pay\b
  | \b(?:want|wants|going|plan|planning|prepared)\ to\ pay\ (?:\w+\ )?
        (?:out\ of\ pocket|privately|cash|myself|ourselves|themselves|the\ \w+\ fees?)\b
  | \b(?:do\s*n[o']?t|won'?t|will\ not|would\s*n[o']?t)\ (?:want\ to\ )?(?:use|bill|go\ through|run\ it\ through)
        \ (?:my\ |our\ |his\ |her\ |their\ |the\ )?(?:insurance|plan)\b
    # "pay cash so it doesn't go through my insurance"
  | \bpay\ (?:cash|privately|out\ of\ pocket)\ so\ (?:it|that\ it|nothing)\ (?:does\s*n[o']?t|won'?t|doesn'?t|never)\ (?:go|goes|show|shows)\b
  | \bso\ (?:it|nothing)\ (?:does\s*n[o']?t|won'?t)\ (?:go\ through|show\ up\ on)\ (?:my\ |the\ |our\ )?(?:insurance|\w+)\b
  | \bwill\ (?:be\ )?pay(?:ing)?\ (?:cash|privately|out\ of\ pocket|for\ it\ ourselves|for\ it\ myself)\b
  | \bpaying\ (?:on\ (?:my|our|their)\ own|privately|cash)\b
  | \bpay\ (?:the\ \w+'?s?\ )?fees?\ privately\b
  | \bpay\ (?:\w+\ ){0,2}privately\b     # "will pay for services privately"
  | \b(?:i'?ll|we'?ll|i\ will|we\ will)\ (?:just\ )?pay\ (?:\w+\ )?(?:out\ of\ pocket|cash|privately|myself|ourselves)\b
  | \bpaying\ for\ (?:it|this|them|these|services|sessions|the\ sessions)\ (?:myself|ourselves|himself|herself|privately|out\ of\ pocket)\b
""")
# Paying oneself, when no plan is named.
_SELF_PAY = rule("self_pay", RuleKind.PLAN, "paying themselves", r"""
    \bself[- ]?pay\b
  | \bprivate(?:ly)?[- ]pay\b
  | \bout[- ]of[- ]pocket\b
  | \bcash\ (?:rate|price|pay)\b
  | \bpay(?:ing)?\ (?:in\ )?cash\b
  | \bpay\ (?:for\ it\ )?(?:myself|ourselves)\b
  | \b(?:no|don'?t\ have|do\ not\ have|without|not\ using|not\ use|don'?t\ use|lost\ (?:my|our))\ (?:any\ |health\ |medical\ )?insurance\b
  | \bif\ i\ (?:do\s*n[o']?t|don'?t)\ use\ (?:my\ )?insurance\b
  | \bsliding[- ]scale\b
  | \breduced\ (?:fee|rate)\b
  | \bbetween\ (?:jobs|insurance)\b .{0,40} \binsurance\b
    # Spanish
  | \bsin\ (?:seguro|aseguranza)\b
  | \bno\ (?:tenemos|tengo)\ (?:seguro|aseguranza)\b
  | \bpagar\w*\ (?:en\ efectivo|de\ (?:mi|nuestro)\ bolsillo|nosotros|yo\ misma?)\b
  | \bescala\ m[oó]vil\b
""")
# Words just before a plan's name that make it the plan they had, not the one they have.
_OLD_PLAN = rule("old_plan", RuleKind.DISCOUNT, "a plan they no longer have", r"""
    \b(?:instead\ of | used\ to\ have | used\ to\ be\ on | old | previous | former | no\ longer\ (?:have|on) | from
       | lost\ (?:my|our|his|her)) \s+ (?:\w+\s+)? $
""")
# Words just before a plan's name that make it the current one.
_NEW_PLAN = rule("new_plan", RuleKind.CONTEXT, "the plan they have now", r"""
    \b(?:now|new|switched\ to|changed\ to|moved\ to|switching\ to|changing\ to|now\ have|now\ on|starting)\b
""")
# A plan's name followed by "now" or "as of": the current one too.
_NOW_AFTER = rule("now_after", RuleKind.CONTEXT, "the plan they have now", r"""
    ^\S+(?:\s\S+)?\s+(?:now|as\ of|going\ forward|from\ now\ on)\b
""", flags=0)
# Words about insurance: an ambiguous plan name or a short name counts only beside one of these.
_INSURANCE_CONTEXT = rule("insurance_words", RuleKind.CONTEXT, "words about insurance", r"""
    \b(?:insurance|insured|plan|coverage|cover|covered|through|thru|cobra|member|policy|eob|card|seguro|aseguranza
       |i\ have|we\ have|we\ got|i\ got|i'?m\ on|we'?re\ on|heathcare|healthcare)\b
""")


def insurance(text: str, config: Config, reasons: list[str]) -> str:
    """A plan id, ``other`` (a plan not in network), ``self_pay`` or ``unknown``. A plan named
    counts over a self-pay question asked as a fallback; the current plan counts over an old one;
    choosing to pay oneself counts over any plan."""
    lowered = text.lower()
    if _PAYS_ANYWAY.pattern.search(text):
        reasons.append(f"insurance: {_PAYS_ANYWAY.reason}")
        return "self_pay"
    folded = fold(lowered)
    settings = config.practice.insurance
    table = _plan_names(tuple((p.id, p.name, tuple(p.aliases)) for p in settings.plans), tuple(settings.other_aliases))
    mentions = [(m.start(), name.plan, name.words.reason) for name in table if name.words.may_match(folded)
                for m in name.words.pattern.finditer(lowered)
                if not name.needs_context or _INSURANCE_CONTEXT.pattern.search(lowered[max(0, m.start() - 40): m.end() + 40])]
    if mentions:
        mentions.sort()
        chosen = mentions[0]
        for mention in mentions:
            before, after = lowered[max(0, mention[0] - 30): mention[0]], lowered[mention[0]: mention[0] + 40]
            if _OLD_PLAN.pattern.search(before):
                continue
            if _NEW_PLAN.pattern.search(before) or _NOW_AFTER.pattern.search(after):
                chosen = mention
        if _OLD_PLAN.pattern.search(lowered[max(0, chosen[0] - 30): chosen[0]]):
            chosen = next((m for m in mentions if not _OLD_PLAN.pattern.search(lowered[max(0, m[0] - 30): m[0]])), chosen)
        if chosen[1] == "medicare" and re.search(r"\badvantage\b", lowered):  # the company on the card counts
            chosen = next((m for m in mentions if m[1] != "medicare"), chosen)
        reasons.append(f"insurance: {chosen[2]} named" + (" (in network)" if chosen[1] != "other" else " (not in network)"))
        return chosen[1]
    if _SELF_PAY.pattern.search(text):
        reasons.append(f"insurance: {_SELF_PAY.reason}")
        return "self_pay"
    return "unknown"


@dataclass(frozen=True)
class _PlanName:
    """One way of naming a plan, as ``insurance`` looks for it."""

    words: Rule  # its reason is the name the reason gives
    plan: str  # the plan's id, or "other"
    needs_context: bool  # counts only beside words about insurance ("the Providence office")


@cache
def _plan_names(plans: tuple[tuple[str, str, tuple[str, ...]], ...], other_aliases: tuple[str, ...]) -> tuple[_PlanName, ...]:
    """Every name to look for, compiled once per configuration: the practice's plans by id, name,
    aliases and affiliates (and, beside insurance words, the first word of a long name), then the
    plans it is not in network with."""
    found: list[_PlanName] = []

    def add(alias: str, plan: str, label: str, needs_context: bool) -> None:
        # As words, spaces optional between them ("BlueCross BlueShield" is "blue cross blue shield").
        pattern = r"(?<!\w)" + r"[\s-]*".join(re.escape(word) for word in alias.lower().split()) + r"(?!\w)"
        found.append(_PlanName(rule(plan, RuleKind.PLAN, label, pattern), plan, needs_context))

    for plan_id, name, aliases in plans:
        names = {plan_id, name, *aliases}
        names |= {affiliate for key, affiliates in AFFILIATES.items() if any(key in n.lower() for n in names) for affiliate in affiliates}
        for alias in names:
            add(alias, plan_id, name, False)
        for short in _short_names(names) - {n.lower() for n in names}:
            add(short, plan_id, name, True)
    for alias in (*OTHER_PLANS, *OTHER_PLANS_BESIDE_INSURANCE_WORDS, *other_aliases):
        add(alias, "other", alias, alias in OTHER_PLANS_BESIDE_INSURANCE_WORDS)
    return tuple(found)


def _short_names(names: set[str]) -> set[str]:
    """"United" for "United Healthcare": the first word of a many-word name, when it is no
    generic word. Matched only next to words about insurance."""
    shorts = set()
    for name in names:
        words = name.lower().split()
        if len(words) > 1 and len(words[0]) >= 5 and words[0] not in _GENERIC:
            shorts.add(words[0])
    return shorts

