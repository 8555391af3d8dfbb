"""Risk in a message: suicide, self-harm, harm to others, violence happening now.

Rules over sentences, each reporting why. A mention is discounted only when the sentence clearly
puts it in the past or someone else's story, negates it ("not suicidal", "denies ideation"), or
marks it as a figure of speech; anything else that reads as risk counts. The crisis path errs
toward a human: a clinician reading a calm message costs little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .rules import SENTENCE, rules, word_rule

_CRISIS = rules(
    (r"\b(?:kill|killing|end|ending|take|taking)\s+(?:my ?self|herself|himself|themselves|my (?:own )?life|(?:his|her|their) (?:own )?life|it all)\b", "talks of ending a life"),
    (r"\b(?:has|have|had|made|making|got)\s+a\s+plan\s+(?:to|for)\b", "has a plan"),
    (r"\b(?:do\s*n[o']?t|can'?t)\s+see\s+(?:the|any|much)\s+point\b|\bwhat'?s the point\b|\bno point (?:anymore|in anything|in trying)\b", "sees no point in going on"),
    (r"\bmade (?:my )?peace with (?:it|everything|things)\b", "has made peace with dying"),
    (r"\bsuicid(?:e|al)\b|\bsuicidio\b|\bsuicidarme\b", "mentions suicide"),
    (r"\b(?:want|wants|wanted|wanna|wish|wishes)\s+(?:to\s+)?(?:die|be dead|not wake up|disappear forever)\b", "wishes to die"),
    (r"\bwish(?:es)?\s+(?:i|she|he|they)\s+(?:was|were)(?:n'?t|\s+not)?\s+(?:dead|alive|here|born|around)\b", "wishes to be dead or gone"),
    (r"\b(?:do\s*n[o']?t|did\s*n[o']?t|not)\s+want\s+to\s+(?:be\s+(?:here|alive|around)|live|exist|wake up|go on)\b", "does not want to be alive"),
    (r"\b(?:no|any|much)\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|keep going|going on|go on|be here)\b", "sees no reason to live"),
    (r"\bcan'?t\s+(?:do this|go on|keep going|take (?:it|this))\s+(?:any ?more|much longer)\b", "cannot go on"),
    (r"\bbetter\s+off\s+(?:without\s+me|if\s+i\s+(?:was|were)(?:n'?t|\s+not|\s+gone|\s+dead))", "believes others better off without them"),
    (r"\b(?:goodbye|good-bye|farewell)\s+(?:note|letter|message|post|text|video)s?\b", "goodbye messages"),
    (r"\bgiv(?:e|ing|en)\s+(?:away\s+)?(?:my|all my|her|his|their)\s+(?:things|stuff|belongings|possessions|pets?)(?:\s+away)?\b", "giving possessions away"),
    (r"\b(?:sav(?:e|ed|ing)|stockpil\w+|hoard\w*|count(?:ed|ing)?(?:\s+out)?|collect\w*)\s+(?:up\s+)?(?:my\s+|the\s+|all\s+(?:my\s+|the\s+)?)?(?:sleeping\s+)?(?:pills|meds|medications?|tablets)\b", "gathering pills"),
    (r"\b(?:pills|meds|tablets)\s+(?:are\s+)?(?:counted|saved|ready|lined up)\b", "gathering pills"),
    (r"\b(?:took|take|taken|swallowed)\s+(?:a (?:bunch|handful|lot) of|all|too many|the whole|a whole|\d+)\s+(?:of\s+)?(?:my\s+|the\s+|his\s+|her\s+)?(?:pills|meds|tablets|bottle)", "has taken an overdose"),
    (r"\boverdos(?:e|ed|ing)\b", "mentions an overdose"),
    (r"\b(?:hurt|hurting|harm|harming|cut|cutting|burn|burning)\s+(?:my ?self|herself|himself|themselves)\b", "self-harm"),
    (r"\bself[- ]?harm(?:ing)?\b", "self-harm"),
    (r"\bcut(?:ting)?\s+(?:deeper|again)\b", "self-harm"),
    (r"\b(?:at|on|near)\s+the\s+(?:bridge|edge|tracks|roof)\b", "at a dangerous place"),
    (r"\b(?:a|the|my|his|her)\s+(?:gun|rope|noose)\b.{0,60}\b(?:myself|end|tonight|ready|loaded)\b", "has a means of harm"),
    (r"\b(?:thoughts?|urges?|images?|thinking|think|thought)\s+(?:of|about)\s+(?:hurting|harming|killing|drowning|smothering|stabbing|shooting)\b", "thoughts of harming someone"),
    (r"\b(?:want|wanted|going|gonna|afraid i(?:'ll| will| might)|scared i(?:'ll| will| might))\s+(?:to\s+)?(?:hurt|harm|kill|stab|shoot|strangle)\s+(?:him|her|them|someone|somebody|people|my\s+\w+|the baby|a coworker)\b", "may harm someone"),
    (r"\b(?:hits?|hitting|beats?|beating|chok(?:es|ing)|punch(?:es|ing)|hurts|hurting)\s+(?:me|us|my mom|my kids?|the kids)\b", "violence against them"),
    (r"\b(?:is|'s|was)\s+(?:hitting|beating|choking|hurting|attacking)\b", "violence happening"),
    (r"\b(?:not sure|do\s*n[o']?t know if|unsure (?:if|whether))\s+i\s+(?:still\s+)?(?:want|wanna)\s+to\s+(?:be alive|live|be here|keep going|go on)\b", "unsure they want to live"),
    (r"\bno\s+quiero\s+(?:vivir|seguir|estar aqu[ií])\b|\bquitarme\s+la\s+vida\b|\bmatarme\b|\bhacerme\s+da[ñn]o\b|\bquiero\s+morir(?:me)?\b", "expresses wanting to die (Spanish)"),
    (r"\bdriv(?:e|ing) (?:off|into) (?:the|a) (?:road|bridge|wall|tree|river)\b|\bhow many (?:of (?:my|the) )?(?:\w+ )?(?:pills|tablets)\b", "thinks about how to die"),
    (r"\bnot\s+(?:going to|gonna)\s+be\s+(?:around|here)\s+(?:much longer|for long|anymore)\b", "says they will not be around"),
)
# What makes a mention of risk about the past or about someone else's story, not about now.
_PAST = re.compile(
    r"\b(?:years? ago|months ago|last (?:year|spring|summer|fall|autumn|winter)|(?:in|since) (?:(?:january|february|march|april|may|june|july|august|september|october|november|december) )?(?:19|20)\d\d|when (?:i|he|she) was|"
    r"used to|history of|in the past|had a period of|back in|died by|lost (?:\w+ )?(?:to|by)|passed away|anniversary|"
    r"survivors? of|prevention|awareness|training|since then|suicide loss|loss to suicide)\b",
    re.I,
)
_NOW = re.compile(r"\b(?:now|tonight|today|again|lately|these days|this week|right now|currently|anymore|keep|started)\b", re.I)
# A negation that governs the risk itself ("not suicidal", "no thoughts of hurting myself",
# "denies suicidal ideation"), ending right where the risk phrase begins. Deliberately narrow:
# "can't stop thinking about killing myself" must stay a crisis.
_NEGATED = re.compile(
    r"(?:\b(?:not|no|never|nor|without|deny|denies|denied)\s+(?:\w+\s+)?(?:any\s+)?(?:thoughts?|plans?|intent(?:ions?)?|urges?|history|desire|wish)\s+(?:of|about|to|for)\s+(?:\w+\s+)?"
    r"|\bnot\s+(?:going|planning|trying|wanting)\s+to\s+|\b(?:deny|denies|denied)\s+(?:any\s+)?(?:current\s+)?"
    r"|\b(?:not|never)\s+(?:having|had|have|feeling|felt|experiencing|experienced)\s+(?:any\s+)?|\bno\s+(?:current\s+|active\s+|recent\s+)?"
    r"|\b(?:would|will|could)\s*n[o']?t\s+(?:ever\s+)?|\bnot\s+(?:currently\s+)?|\bnever\s+)$",
    re.I,
)
_FIGURE = re.compile(r"\b(?:lol|lmao|haha|jk|kidding|figure of speech|metaphorically)\b", re.I)



def risk_reasons(text: str, extra_words: Iterable[str] = ()) -> list[str]:
    """Why the text shows present risk, one reason a line; empty when it does not."""
    found: list[str] = []
    table = _CRISIS + tuple(word_rule(w, f'practice\'s crisis word "{w}"') for w in extra_words)
    for sentence in SENTENCE.findall(text):
        for rule in table:
            match = rule.pattern.search(sentence)
            if match and not _discounted(sentence, match.start()):
                found.append(rule.reason)
    return ["risk: " + reason for reason in dict.fromkeys(found)]


def _discounted(sentence: str, start: int) -> bool:
    """Negated, a figure of speech, or only in the past or someone else's story."""
    return bool(_NEGATED.search(sentence[:start]) or _FIGURE.search(sentence) or (_PAST.search(sentence) and not _NOW.search(sentence)))
