"""The facts that shape a reply: insurance, services wanted, telehealth or in person, and where
the reply goes. Each is read from what the person wrote this time, with the reason it was read so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .config import SERVICES, Config
from .model import Inbound
from .prefilter import fold
from .rules import SENTENCE, Rule, candidates, rule

# Named plans the practice is not in network with (matched as words; the practice adds more under
# practice.insurance.other_aliases). Blue Cross affiliates (Regence, Premera, Highmark, Wellmark)
# are not here: they read as Blue Cross through the practice's own aliases.
OTHER_PLANS = (
    "kaiser", "kaiser permanente", "tricare", "medicaid", "humana", "oscar", "ohp", "oregon health plan", "ambetter",
    "molina", "centene", "wellcare", "careoregon", "medi-cal", "chip", "champva", "va benefits", "bright health",
    "harvard pilgrim", "tufts", "emblem", "oxford", "magellan", "beacon", "carelon", "moda", "providence", "presbyterian",
    "pacificsource", "caresource", "amerigroup", "healthnet", "health net", "geha", "aspirus",
    "apple health", "masshealth", "husky health", "badgercare", "soonercare", "tenncare", "trillium", "umpqua health",
    "jackson care connect", "medical assistance", "state medicaid", "medicaid plan",
    "husky", "ahcccs", "connecticare", "indian health service", "ihs", "tribal health", "mainecare", "nj familycare",
    "kancare", "peachcare", "priority health", "sentara", "geisinger", "upmc", "fidelis", "healthfirst", "caloptima",
    "l.a. care", "medicaid managed care",
)
# Plan names that are also places or words ("the Providence office"): a plan only beside insurance words.
AMBIGUOUS_PLANS = frozenset({"providence", "oxford", "trillium", "beacon", "magellan", "emblem", "tufts", "presbyterian"})
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
_PAYS_ANYWAY = re.compile(
    r"\b(?:would|'d) rather pay\b|\bprefer(?:s|red)? to pay\b|\b(?:want|wants|going|plan|planning|prepared) to pay (?:\w+ )?(?:out of pocket|privately|cash|myself|ourselves|themselves|the \w+ fees?)\b"
    r"|\b(?:do\s*n[o']?t|won'?t|will not|would\s*n[o']?t) (?:want to )?(?:use|bill|go through|run it through) (?:my |our |his |her |their |the )?(?:insurance|plan)\b"
    r"|\bpay (?:cash|privately|out of pocket) so (?:it|that it|nothing) (?:does\s*n[o']?t|won'?t|doesn'?t|never) (?:go|goes|show|shows)\b|\bso (?:it|nothing) (?:does\s*n[o']?t|won'?t) (?:go through|show up on) (?:my |the |our )?(?:insurance|\w+)\b"
    r"|\bwill (?:be )?pay(?:ing)? (?:cash|privately|out of pocket|for it ourselves|for it myself)\b|\bpaying (?:on (?:my|our|their) own|privately|cash)\b"
    r"|\bpay (?:the \w+'?s? )?fees? privately\b|\bpay (?:\w+ )?privately\b|\b(?:i'?ll|we'?ll|i will|we will) (?:just )?pay (?:\w+ )?(?:out of pocket|cash|privately|myself|ourselves)\b",
    re.I,
)
# Paying oneself, when no plan is named.
_SELF_PAY = re.compile(
    r"\bself[- ]?pay\b|\bprivate(?:ly)?[- ]pay\b|\bout[- ]of[- ]pocket\b|\bcash (?:rate|price|pay)\b|\bpay(?:ing)? (?:in )?cash\b"
    r"|\bpay (?:for it )?(?:myself|ourselves)\b|\b(?:no|don'?t have|do not have|without|not using|not use|don'?t use|lost (?:my|our)) (?:any |health |medical )?insurance\b"
    r"|\bif i (?:do\s*n[o']?t|don'?t) use (?:my )?insurance\b|\bsliding[- ]scale\b|\breduced (?:fee|rate)\b|\bbetween (?:jobs|insurance)\b.{0,40}\binsurance\b"
    r"|\bsin (?:seguro|aseguranza)\b|\bno (?:tenemos|tengo) (?:seguro|aseguranza)\b|\bpagar\w* (?:en efectivo|de (?:mi|nuestro) bolsillo|nosotros|yo misma?)\b|\bescala m[oó]vil\b",
    re.I,
)
_OLD_PLAN = re.compile(r"\b(?:instead of|used to have|used to be on|old|previous|former|no longer (?:have|on)|from|lost (?:my|our|his|her))\s+(?:\w+\s+)?$", re.I)
_NEW_PLAN = re.compile(r"\b(?:now|new|switched to|changed to|moved to|switching to|changing to|now have|now on|starting)\b", re.I)
_INSURANCE_CONTEXT = re.compile(r"\b(?:insurance|insured|plan|coverage|cover|covered|through|thru|cobra|member|policy|eob|card|seguro|aseguranza|i have|we have|we got|i got|i'?m on|we'?re on|heathcare|healthcare)\b", re.I)

_SERVICE_RULES = tuple(rule(pattern, service) for service, pattern in (
    ("couples", r"\bcouples?\b(?! of)|\b(?:me|myself) (?:and|n|&) my (?:wife|husband|partner|spouse|boyfriend|girlfriend|fianc[eé]e?)\b|\bmy (?:wife|husband|partner|spouse) and me\b|\bmarriage (?:counsel\w*|therap\w*|help|issues|problems)\b|\bmarital\b|\bpremarital\b"
                r"|\b(?:my|our) (?:husband|wife|partner|spouse|fianc[eé]e?|boyfriend|girlfriend) and i (?:need|want|would like) (?:help|counseling|therapy|to work on|someone)"
                r"|\b(?:my|our) (?:husband|wife|partner|spouse|fianc[eé]e?|boyfriend|girlfriend) and i (?:have been |keep |are always |can'?t stop )?(?:fighting|arguing|struggling|drifting)"
                r"|\brelationship (?:counsel|therap)\w*|\bterapia de pareja\b|\bpareja\b|\bfor (?:the two of us|both of us)\b"),
    ("family", r"\bfamily (?:therapy|counsel\w*|sessions?)\b|\bwhole family\b|\bterapia familiar\b|\bsee us (?:all )?together\b"),
    ("group", r"\bgroup (?:therapy|counsel\w*|sessions?|program|work)\b|\b(?:therapy|support|grief|process|skills|dbt) groups?\b(?! (?:practice|number))"
              r"|\b(?:join|joining|into) (?:a |the |your |one of your )?(?:\w+ )?groups?\b|\bgroups? (?:for|you (?:run|offer|have))\b|\bgrupo\b"),
    ("emdr", r"\bemdr\b"),
    ("medication", r"\bmed(?:ication)?s? (?:management|manager|refills?|eval\w*)\b|\b(?:someone|somebody|anyone|provider|prescriber|psychiatrist|nurse practitioner) (?:who|that) (?:can )?prescribes?\b"
                   r"|\bprescri(?:be|bes|bing|ption)s? (?:for|me|my|her|him|medication|meds)\b|\b(?:need|want|looking for|find|see) (?:a |an )?(?:psychiatrist|prescriber)\b"
                   r"|\b(?:start|get|try|restart|refill|need) (?:on )?(?:\w+ )?(?:medication|meds|adderall|zoloft|lexapro|prozac|wellbutrin|ritalin|vyvanse|xanax|adhd meds)\b|\bmedicamentos?\b"),
    ("assessment", r"\btesting\b|\b(?:psychological|psych|neuropsychological|psychoeducational|diagnostic) (?:eval\w*|assessment|test)\w*|\b(?:adhd|autism|asd|learning disabilit\w*|dyslexia) (?:eval\w*|assessment|test\w*|screening|diagnosis)\b|\bneuropsych\w*|\bget (?:evaluated|tested|assessed|diagnosed) for\b"),
    ("court", r"\bcourt\b|\bcustody\b|\bforensic\b|\bguardian ad litem\b|\blegal (?:case|proceedings|matter)\b|\b(?:the|a) judge\b|\bjudge (?:ordered|said|required|wants)\b|\bprobation\b|\bdiversion\b|\bparenting (?:plan )?evaluation\b"),
))
_INDIVIDUAL = re.compile(r"\bindividual(?:ly)? (?:therapy|counsel\w*|sessions?|work|appointments?)\b|\bone[- ]on[- ]one\b|\b1[:-]1\b|\bon my own\b|\bby myself\b", re.I)
# Ages in years of someone the therapy would be for (months and weeks are babies, not clients).
_AGE = re.compile(
    r"\b(\d{1,2})[- ]?(?:years?[- ]olds?|yrs?[- ]?olds?|yo|y/o|y\.o\.)\b(?! (?:ago|later))|\b(?:age|aged|edad|(?:who )?just turned)\s*:?\s*(\d{1,2})\b(?!\s*(?:years? ago|minutes|percent|%))"
    r"|\b(?:patient|student|client|member) is [A-Z][\w'-]+(?: [A-Z][\w'-]+){0,2},? (?:age |aged )?(\d{1,2})\b"
    r"|\b(?:son|daughter|child|kid|boy|girl|stepson|stepdaughter|grandson|granddaughter|nephew|niece|hijo|hija)\b(?:\s+[A-Z][a-z]+)?,?\s*(?:is\s+|who is\s+|who's\s+|\()?(\d{1,2})\b(?!\s*(?:months?|weeks?|days?|mo\b|:|am|pm|th|st|nd|rd))"
    r"|\b(?:tiene|de)\s+(\d{1,2})\s+años\b|\bi'?m (\d{1,2})\b(?!\s*(?:weeks?|months?))"
    r"|^\s*(?:student|patient|client|member|paciente|child|youth)(?: name)?\s*:[^\n]*?,\s*(\d{1,2})\b",
    re.I | re.M,
)
_CHILD = re.compile(
    r"\b(?:child therapy|play therapy|my (?:little|young) (?:one|son|daughter|boy|girl)|(?:kindergart(?:en|ner)|preschooler|elementary schooler|(?:first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th) grader))\b"
    r"|\b(?:son|daughter|kid|child|boy|girl|stepson|stepdaughter|grandson|granddaughter)\b[^.]{0,40}\b(?:in|at|starting) (?:kindergarten|preschool|elementary school|(?:the )?(?:first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th) grade)\b",
    re.I,
)
# A teen as the one the therapy is for ("our 15-year-old" is caught by _AGE; "a teenager we
# couldn't save" or "I teach high school" is not a client).
_TEEN = re.compile(
    r"\b(?:my|our|her|his|their) (?:\w+ )?(?:teen|teenager|adolescent)s?\b|\bteen(?:age)? (?:son|daughter|boy|girl|child|kid|stepson|stepdaughter)\b"
    r"|\b(?:therapy|counseling|therapist|counselor|group)s? for (?:a |my |our )?(?:teen|teenager|adolescent)s?\b|\b(?:work|works|working|see|sees|seeing) (?:with )?(?:young )?(?:teens|teenagers|adolescents)\b"
    r"|\b(?:son|daughter|kid|child|stepson|stepdaughter)\b[^.]{0,40}\b(?:in|starting) (?:the )?(?:6th|7th|8th|9th|10th|11th|12th|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth) grade\b"
    r"|\b(?:son|daughter|kid|child)\b[^.]{0,40}\b(?:a )?(?:freshman|sophomore|junior|senior) in high school\b|\b(?:hijo|hija) adolescente\b"
    r"|\b(?:6th|7th|8th|9th|10th|11th|12th|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth) grade(?:r)?\b|\b(?:high|middle) schooler\b"
    r"|\b(?:openings?|spots?|anyone|someone|therapists?) (?:who (?:sees|works with|see|work with) |for )teens\b",
    re.I,
)
# A need of the person the therapy is for: what they struggle with, or a request for a therapist
# for someone. Questions about logistics alone (rates, video, openings) name no service.
_NEED = re.compile(
    r"\banx\w*|\bpanic\b|\bdepress\w*|\bptsd\b|\btrauma\w*|\bgrie(?:f|ving)\b|\bstress\w*|\bburn(?:ed)?[- ]?out\b|\bdrinking\b|\balcohol\w*|\baddict\w*"
    r"|\bpostpartum\b|\bocd\b|\binsomnia\b|\bcan'?t sleep\b|\btransition\w*|\bself[- ]esteem\b|\banger\b|\blonel\w*|\bstruggl\w*|\bhard time\b|\bcoping\b|\bemdr\b"
    r"|\bfeel(?:ing|s)? (?:stuck|down|overwhelmed|lost|low|anxious|sad|numb|hopeless|empty|heavy|off)\b|\b(?:talk|speak) (?:to|with) (?:someone|somebody|a professional)\b"
    r"|\b(?:someone|somebody|a therapist|a counse?lou?r|therapy|counseling|help) (?:for|with) (?:my|me|myself|him|her|anxiety|depression|grief|trauma|panic)\b"
    r"|\blooking for (?:a )?(?:therapist|counse?l\w*|someone|somebody)\b|\bindividual (?:therapy|counsel\w*|sessions?)\b|\bfor myself\b|\b(?:it'?s|its|this is) for me\b|\b(?:opening|spot|room|space)s? for me\b"
    r"|\b(?:he|she|they)(?:'d| would| might| will)? (?:go|come|be willing)\b|\bwould benefit\b|\bissues?:\s*\w|\bpresenting (?:concern|problem)"
    r"|\bspeciali[sz]es? in\b|\b(?:deal with|work on|work through|untangle)\b|\bhard(?:er)? time\b|\bsee people for\b"
    r"|\bme siento\b|\btriste\b|\bhablar con\b|\bansiedad\b|\bdepresi[oó]n\b|\bestr[eé]s\b|\bduelo\b|\btrauma\b|\bbusco (?:un|una) (?:terapeuta|psic[oó]log\w*|consejer\w*)",
    re.I,
)
# In a crisis, individual therapy only when they ask for it.
_ASKS_TO_BE_SEEN = re.compile(r"\bopenings?\b|\bget (?:in|seen)\b|\bbe seen\b|\bseeking services\b|\bsomeone i can talk to\b|\bappointments?\b|\bstart(?:ing)? (?:therapy|counseling)\b|\bsee people for\b|\b(?:talk|speak) (?:to|with) me\b|\bsomeone to talk to\b|\bhablar conmigo\b|\bseeking:\s*individual\b|\bindividual counsel\w*|\btherapist for\b|\bneed (?:a )?therapist\b|\bsee (?:me|someone|somebody|her|him)\b|\b(?:talk|speak) (?:to|with) (?:someone|somebody)\b|\b(?:therapy|counseling|a therapist|a counselor) for\b", re.I)
_THERAPY_WANTED = re.compile(r"\b(?:therapy|therapist|counsel(?:ing|or))\b(?! (?:office|practice|center|centre|services))", re.I)
_NOT_WANTED = re.compile(r"\b(?:do\s*n[o']?t|not|no) (?:need|want|looking for|interested in)\b[^.]{0,20}$|\b(?:already have|i have|my|love my|with my) (?:a )?$", re.I)
_TELEHEALTH = re.compile(
    r"\btele-?health\b|\btele-?therapy\b|\btelemedicine\b|\bvideo\b|\bvirtual(?:ly)?\b|\bzoom\b|\bremote(?:ly)?\b|\bdoxy\b|\bfacetime\b"
    r"|\bonline (?:sessions?|therapy|counsel\w*|appointments?|visits?|only)\b|\b(?:sessions?|meet|therapy) online\b|\bon (?:the|my|a) (?:computer|screen|laptop)\b"
    r"|\bteleterapia\b|\ben l[ií]nea\b|\bpor video\b|\bvideollamada\b",
    re.I,
)
_IN_PERSON = re.compile(
    r"\bin[- ]person\b|\bin[- ]office\b|\bin (?:the |an |your )?office\b|\bface[- ]to[- ]face\b|\bcome (?:in)?to (?:the |an |your )?office\b|\bcome (?:in|by) (?:to )?(?:the |your )?office\b"
    r"|\b(?:come|coming|go|get) (?:in)?to your (?:office|clinic|location)\b|\bsit down with\b|\ben persona\b|\bpresencial\b|\ben (?:la|su) oficina\b",
    re.I,
)
_PLACE_OFFICE = re.compile(r"\b(?!(?:His|Her|My|Our|Their|Your|The|This|That|An?|Home|Work)\b)[A-Z][a-z]+ office\b")  # "the Beaverton office"
_EITHER = re.compile(r"\b(?:or|either|open to|whatever|whichever|both|any|vs|versus|no preference|flexible|doesn'?t matter|fine with)\b", re.I)
_UNDECIDED = re.compile(r"\b(?:whichever|either|no preference|flexible|doesn'?t matter|don'?t mind|don'?t know (?:yet )?whether)\b", re.I)
_DECLINED = re.compile(r"\b(?:not|no|never|don'?t|do not|can'?t|rather not|prefer not to)\s+(?:\w+\s+){0,2}$", re.I)

_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_FORM_FIELD = re.compile(r"^\s*(?:your\s+)?(?:e-?mail(?:\s+address)?|correo(?:\s+electr[oó]nico)?|reply[- ]to)\s*[:=]\s*(\S+@\S+)", re.I | re.M)
_FORM_NAME = re.compile(r"^\s*(?:your\s+)?(?:full\s+)?(?:name|nombre)\s*:", re.I | re.M)
# The person asks, in the first person, to be answered at an address written in the message.
_ASKS_REPLY = re.compile(
    r"(?:\b(?:reply|respond|write|email|e-mail|contact|reach|answer|get back|send|escrib\w*|cont[aá]ct\w*|responder\w*)\b(?:\s+\w+){0,3}\s+(?:me|us|to me|a m[ií])\b"
    r"|\bmy\s+(?:\w+\s+){0,2}(?:e-?mail|address|inbox|correo)\b|\bmi\s+(?:\w+\s+){0,2}correo\b|\bmy\s+(?:personal|home|private|other|own)\s+(?:one|account)\b"
    r"|\b(?:write|reply|respond|email|e-mail|reach|contact|send (?:it|replies|anything|everything))\s+(?:back\s+)?(?:to\s+)?(?:my|our)\s+(?:\w+\s+){0,3}(?:at|on|via)\b)[^.?!]{0,80}$",
    re.I,
)


def insurance(text: str, config: Config, reasons: list[str]) -> str:
    """A plan id, ``other`` (a plan not in network), ``self_pay`` or ``unknown``. A plan named
    counts over a self-pay question asked as a fallback; the current plan counts over an old one;
    choosing to pay oneself counts over any plan."""
    lowered = text.lower()
    if _PAYS_ANYWAY.search(text):
        reasons.append("insurance: chooses to pay themselves")
        return "self_pay"
    folded = fold(lowered)
    settings = config.practice.insurance
    table = _plan_names(tuple((p.id, p.name, tuple(p.aliases)) for p in settings.plans), tuple(settings.other_aliases))
    mentions = [(m.start(), name.plan, name.words.reason) for name in table if name.words.may_match(folded)
                for m in name.words.pattern.finditer(lowered)
                if not name.needs_context or _INSURANCE_CONTEXT.search(lowered[max(0, m.start() - 40): m.end() + 40])]
    if mentions:
        mentions.sort()
        chosen = mentions[0]
        for mention in mentions:
            before, after = lowered[max(0, mention[0] - 30): mention[0]], lowered[mention[0]: mention[0] + 40]
            if _OLD_PLAN.search(before):
                continue
            if _NEW_PLAN.search(before) or re.search(r"^\S+(?:\s\S+)?\s+(?:now|as of|going forward|from now on)\b", after):
                chosen = mention
        if _OLD_PLAN.search(lowered[max(0, chosen[0] - 30): chosen[0]]):
            chosen = next((m for m in mentions if not _OLD_PLAN.search(lowered[max(0, m[0] - 30): m[0]])), chosen)
        if chosen[1] == "medicare" and re.search(r"\badvantage\b", lowered):  # the company on the card counts
            chosen = next((m for m in mentions if m[1] != "medicare"), chosen)
        reasons.append(f"insurance: {chosen[2]} named" + (" (in network)" if chosen[1] != "other" else " (not in network)"))
        return chosen[1]
    if _SELF_PAY.search(text):
        reasons.append("insurance: paying themselves")
        return "self_pay"
    return "unknown"


def services(text: str, category: str, reasons: list[str], practice_name: str = "") -> tuple[str, ...]:
    """What is asked for, in the contract's words. Individual therapy is the default for an adult
    asking for therapy, not for a child, teen, couple, family or a request only for medication,
    testing or court work."""
    if practice_name:  # "Harbor Light Counseling" names the practice, not a wish for counseling
        text = re.sub(re.escape(practice_name), " ", text, flags=re.I)
    found = {rule.reason for rule in candidates(_SERVICE_RULES, text) if _present(rule, text)}
    ages = [int(age) for m in _AGE.finditer(text) for age in m.groups() if age]
    if any(age < 13 for age in ages) or _CHILD.search(text):
        found.add("child")
    if any(13 <= age <= 17 for age in ages) or _TEEN.search(text):
        found.add("teen")
    if "child" in found and "teen" in found and not any(13 <= age <= 17 for age in ages) and not _TEEN.search(text):
        found.discard("teen")
    if "family" in found and not re.search(r"\bcouples?\b(?! of)", text, re.I):
        found.discard("couples")
    if category == "crisis" and not _ASKS_TO_BE_SEEN.search(text):
        return ()  # someone in crisis who asks for no service is not sold one
    someone_else = found & {"couples", "family", "child", "teen"}
    # Someone asking to join a group asks for the group; individual sessions only when named.
    only_that = "group" in found and not _INDIVIDUAL.search(text)
    only_specialist = bool(found) and found <= {"medication", "assessment", "court"} and not _wants_therapy(text)
    asks = _ASKS_TO_BE_SEEN.search(text) if category == "crisis" else (_NEED.search(text) or _wants_therapy(text))
    if category in ("new_inquiry", "professional_referral", "crisis") and not someone_else and not only_specialist and not only_that and asks:
        found.add("individual")
    ordered = tuple(s for s in SERVICES if s in found)
    if ordered:
        reasons.append("services: " + ", ".join(ordered))
    return ordered


def _wants_therapy(text: str) -> bool:
    """Therapy itself is asked for ("court-ordered counseling"), not declined ("I don't need therapy")."""
    return any(not _NOT_WANTED.search(text[: m.start()]) for m in _THERAPY_WANTED.finditer(text))


def modality(text: str) -> str:
    """Telehealth or in person when the person states or prefers one; unknown when they name none
    or leave both open ("in person or video")."""
    preferred: list[str] = []
    text = re.sub(r"\b(vs|Dr|Mr|Mrs|Ms|St|e\.g|i\.e)\.", r"\1", text)  # abbreviations do not end a sentence
    for sentence in SENTENCE.findall(text):
        tele = [m.start() for m in _TELEHEALTH.finditer(sentence)]
        person = [m.start() for m in _IN_PERSON.finditer(sentence)] + [m.start() for m in _PLACE_OFFICE.finditer(sentence)]
        if not tele and not person:
            continue
        if tele and person:
            than = sentence.lower().find(" than ")
            if than > 0:
                before_than = [p for p in tele + person if p < than]
                if before_than:
                    preferred.append("telehealth" if max(before_than) in tele else "in_person")
                continue
            if _EITHER.search(sentence):
                continue
            preferred.append("telehealth" if min(tele) < min(person) else "in_person")
            continue
        kind, first = ("telehealth", min(tele)) if tele else ("in_person", min(person))
        if re.search(r"\bor\s+(?:\w+\s+){0,2}$", sentence[:first], re.I) or _UNDECIDED.search(sentence):
            continue  # "after 5 or on video", "video or coming in, whichever": options, not a preference
        if _DECLINED.search(sentence[:first]):
            kind = "in_person" if kind == "telehealth" else "telehealth"  # "I'd prefer not to do video"
        preferred.append(kind)
    return preferred[0] if preferred else "unknown"


def reply_address(message: Inbound, config: Config, reasons: list[str]) -> str | None:
    """Where a personal reply goes: an address the person asks for in the message itself (a web
    form's email field, "please write to my personal address"), else the first Reply-To, else
    From; for a text, the sender's number."""
    if message.channel == "sms":
        return message.sender or None
    own = config.practice.own_addresses
    body = message.fresh_text or message.text
    form = form_address(message, config)
    if form:
        reasons.append("reply address: the email field of a form")
        return form
    for match in _ADDRESS.finditer(body):
        address = match.group(0).lower().rstrip(".")
        sentence_start = max(body.rfind(".", 0, match.start()), body.rfind("\n\n", 0, match.start()), 0)
        if address not in own and address != message.sender and _ASKS_REPLY.search(body[sentence_start: match.start()]):
            reasons.append("reply address: the one the message asks to be answered at")
            return address
    if message.reply_to:
        return message.reply_to[0]
    return message.sender or None


def form_address(message: Inbound, config: Config) -> str | None:
    """The email a person typed into a web form or directory relay ("Name: ... Email: ...")."""
    body = message.fresh_text or message.text
    for match in _FORM_FIELD.finditer(body) if _FORM_NAME.search(body) else ():
        address = _ADDRESS.search(match.group(1))
        if address and address.group(0).lower() not in config.practice.own_addresses:
            return address.group(0).lower()
    return None


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
        found.append(_PlanName(rule(pattern, label), plan, needs_context))

    for plan_id, name, aliases in plans:
        names = {plan_id, name, *aliases}
        names |= {affiliate for key, affiliates in AFFILIATES.items() if any(key in n.lower() for n in names) for affiliate in affiliates}
        for alias in names:
            add(alias, plan_id, name, False)
        for short in _short_names(names) - {n.lower() for n in names}:
            add(short, plan_id, name, True)
    for alias in (*OTHER_PLANS, *other_aliases):
        add(alias, "other", alias, alias in AMBIGUOUS_PLANS)
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


def _present(rule: Rule, text: str) -> bool:
    """A service is asked for in some sentence that does not put it in the past."""
    for sentence in SENTENCE.findall(text):
        match = rule.pattern.search(sentence)
        if match and not _HAD_IT_BEFORE.search(sentence[: match.start()]) and not _HAS_ENDED.match(sentence, match.end(), match.end() + 25):
            return True
    return False


_HAD_IT_BEFORE = re.compile(
    r"\b(?:went to|used to|was in|were in|attended|tried|did|completed|finished)\b|\b(?:not looking for|no (?:further|more)|do\s*n[o']?t need|doesn'?t need|not)\s+(?:\w+\s+)?$", re.I
)
_HAS_ENDED = re.compile(r"\s*(?:is|was|has been|are) (?:complete|completed|done|finished)\b", re.I)

_ORGANIZATION = re.compile(
    r"\b(?:clinic|school|church|center|centre|hospital|pediatrics|program|practice|university|college|health|medical|counseling|"
    r"psychiatry|associates|group|llc|inc|pc|pllc|law|partners|department|services|eap|district|ministries|parish)\b",
    re.I,
)


def referral_source(message: Inbound) -> tuple[str, str]:
    """Who referred, and from where: the sender's name, and the organisation named in their
    signature (else their mail domain), for the practice's list of referral sources."""
    name = message.sender_name or message.sender
    lines = [line.strip() for line in (message.fresh_text or message.text).splitlines() if line.strip()]
    for line in reversed(lines[-8:]):
        if len(line) <= 80 and _ORGANIZATION.search(line) and "@" not in line:
            return name, line
    return name, message.sender.partition("@")[2] if "@" in message.sender else ""


# Short, frequent words that tell Spanish from English (the practice's two reply languages).
_SPANISH = frozenset(
    "que de la el en y los las para con por una un mi mis tengo es no me se su lo como pero más hola gracias usted ustedes "
    "estoy está están nosotros nuestro nuestra hijo hija tiene quiero puedo necesito ayuda buenas buenos días tardes seguro "
    "cita terapia terapeuta también muy sí porque cuando donde desde hace".split()
)
_ENGLISH = frozenset(
    "the and to of a in is it you that for my i have with on this be are not we can do your at me so if or but "
    "would like am was our looking thanks hi hello please".split()
)


def language(text: str) -> str:
    """"es" for a message written in Spanish, else "en"."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    spanish = sum(word in _SPANISH for word in words)
    english = sum(word in _ENGLISH for word in words)
    return "es" if spanish >= 3 and spanish > english else "en"
