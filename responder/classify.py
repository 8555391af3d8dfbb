"""Category, facts and reasons for one message: pure rules over its text and headers.

The order of the questions is the order of what matters: is it a machine (never answered), does it
show risk (crisis beats everything else a person asks), is it a vendor, a professional referring
someone, a current client, and otherwise a person asking about therapy. Every rule that fires says
so in the reasons, so a clinician can see why.

The practice adds words per category through ``classification:`` in the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .config import SERVICES, Config
from .guard import automatic_signs, is_no_reply
from .model import Classification, Facts, Inbound

# Named plans the practice is not in network with (matched as words; the practice adds more).
OTHER_PLANS = (
    "kaiser", "tricare", "medicaid", "humana", "oscar", "ohp", "oregon health plan", "ambetter", "molina",
    "centene", "wellcare", "careoregon", "medi-cal", "chip", "champva", "va benefits", "bright health",
    "harvard pilgrim", "tufts", "emblem", "oxford", "magellan", "beacon", "carelon", "moda", "providence",
    "pacificsource", "regence", "premera", "highmark", "caresource", "amerigroup", "healthnet", "health net",
)

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    reason: str


def _rules(*pairs: tuple[str, str]) -> tuple[_Rule, ...]:
    return tuple(_Rule(re.compile(p, re.I), r) for p, r in pairs)


_CRISIS = _rules(
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

_SOLICITATION = _rules(
    (r"\bseo\b|search engine|google (?:ranking|maps|business profile|reviews)|first page of google|page (?:one|two|three|\d) of google|\brank(?:ing|s)? (?:higher|#?1|first)", "search-engine marketing pitch"),
    (r"\b(?:marketing|advertising|lead generation|web design|website redesign|digital agency)\b.{0,80}\b(?:services?|agency|package|clients?|practices?)\b", "marketing pitch"),
    (r"\bgrow (?:your|the) (?:practice|caseload|business)|\bfill your (?:calendar|caseload|schedule)|more (?:new )?(?:clients|patients|leads) (?:for|to) your", "pitch to grow the practice"),
    (r"\b(?:book|schedule) a (?:quick |short |free |\d+[- ]minute )?(?:call|demo|chat)\b|\bfree (?:audit|trial|demo|analysis)\b", "asks for a sales call"),
    (r"\bcredentialing\b|\bbilling (?:services|company|partner)\b|\b(?:virtual|ai) (?:receptionist|assistant)\b|\bcall answering\b", "vendor service"),
    (r"\b(?:we(?:'re| are) hiring|recruit(?:er|ing)|join our (?:team|network|platform)|now hiring|per[- ]session rate|1099|w-?2 position)\b", "recruiting"),
    (r"\b(?:business|working capital) (?:loan|funding|line of credit)|pre-?approved|merchant cash|\bfunding offer", "financing offer"),
    (r"\b(?:acquire|acquisition of|buy|purchase) (?:your|a) practice|practice (?:acquisition|sale)\b", "offer to buy the practice"),
    (r"\bverify your (?:account|mailbox|email|identity)|mailbox (?:is )?(?:full|quota)|password (?:expires?|reset required)|click (?:here|below|the link) to (?:verify|confirm|restore|avoid|view|sign)", "phishing"),
    (r"\binvoice (?:is )?(?:overdue|past due|attached)|wire transfer|gift cards?|overpa(?:id|yment)|refund the (?:difference|balance)", "payment scam"),
    (r"\b(?:package|parcel|shipment|delivery) (?:is )?(?:on hold|held|could not be delivered|pending)|\busps\b|\bfedex\b|\bdhl\b", "delivery scam"),
    (r"\b(?:listing|profile) (?:will be |has been |is )?(?:removed|suspended|deactivated|expir\w+)|(?:upgrade|boost|premium) (?:your )?(?:listing|profile)", "directory upsell"),
        (r"\bwe help (?:therapists|practices|clinicians|counselors)\b|\bnew clients?/mo|\bworth a (?:quick |short |\d+[- ]min(?:ute)? )?(?:chat|call)\b|\b(?:would|does|do) [\w\s]{0,20} work for a (?:quick |short )?call\b", "sales outreach"),
    (r"\bgoogle business\b|\bverify (?:your )?ownership\b|\bmarked (?:permanently )?closed\b", "listing scam"),
    (r"\bpractices (?:on|using|like yours) \w+ (?:get|see|convert|grow)|\binvit\w+ (?:a small group of )?(?:\w+ )?practices to join\b|\bconvert (?:about )?\d+% more\b", "platform pitch"),
    (r"\brecapitaliz\w+|\bconsidering a sale\b", "offer to buy the practice"),
    (r"\bpast due\b|\bsent to collections\b|\bfinal notice\b", "payment demand"),
    (r"\bhiring\b|\bset your own hours\b|\$\d+ ?/ ?session\b", "recruiting"),
    (r"\breview and sign\b|\bsent you a document\b|\bshared a (?:file|document) with you\b", "document phishing"),
    (r"\badvance payment\b|\bunable to (?:make|take) (?:phone )?calls\b|\boffshore\b|\bcashier'?s check\b|\bcertified check\b", "overpayment scam"),
    (r"\brevenue\b|\bbilling team\b|\bdenied claims\b|\bdenials\b", "billing vendor pitch"),
    (r"\bwebinar\b|\bce credits?\b|\bcontinuing education\b|\bsponsor(?:ed|ship)?\b|\bpartnership opportunit", "promotion"),
    (r"\bunsubscribe\b|\bopt out of (?:these|future) (?:emails|messages)", "carries an unsubscribe line"),
    (r"\bgtube\b|XJS\*C4JDBQADN1", "spam test string"),
    (r"\b(?:having )?(?:trouble|problems?) viewing\b|\bview (?:this (?:e-?mail|message) )?(?:online|in (?:your|a) browser)\b|\bproblemas para visualizar\b|\bver on-?line\b|\bclick aqu[ií]\b", "newsletter or advertising layout"),
    (r"\b(?:limited[- ]time|special) offer\b|\bfree shipping\b|\b\d+% off\b|\bnuevo producto\b|\boferta\b|\bdescuento\b", "advertising"),
    (r"\bserious relationship\b|\bpictures of me\b|\bhello dear\b|\bdear friend\b|\bget to know you\b", "unsolicited personal approach (spam)"),
)
_REFERRAL = _rules(
    (r"\b(?:i(?:'m| am| would like to| want to|'d like to)|we(?:'re| are| would like to|'d like to)|writing to|hoping to)\s+(?:\w+\s+){0,2}refer(?:ring)?\b", "refers someone"),
    (r"\brefer(?:ring|red)?\s+(?:a|an|one of (?:my|our)|my|our|this|the)\s+(?:\w+\s+)?(?:patient|client|student|parishioner|member|congregant|employee|couple|family|teen|mom|mother|father|veteran)\b", "refers someone"),
    (r"\breferral (?:for|of|regarding|request for|from)\b|\bnew referral\b|\breferral:\s|\b(?:accept|this is) (?:this |a )?referral\b", "a referral"),
    (r"\b(?:our|my) client\b.{0,200}\b(?:looking for|needs|would benefit|has been ordered|referred)\b", "writes about their client"),
    (r"\bi(?:'m| am) (?:a|an|the) (?:\w+ )?(?:psychologist|therapist|counselor|physician|doctor|pediatrician|psychiatrist|social worker|case manager|pastor|chaplain|nurse|paralegal|attorney|promotora)\b.{0,300}\b(?:i see|i'm seeing|i work with|i've been seeing|who would like|would benefit|needs)\b", "a professional writing about someone in their care"),
    (r"\b(?:my|our|a) (?:patient|patients|parishioner|congregant|student|caseworker's client)\b.{0,120}\b(?:would benefit|needs|is looking|is interested|could use|recommended|asked me)\b", "writes about their patient"),
    (r"\b(?:signed|a) release(?: of information)?\b|\bROI\b", "mentions a release of information"),
)
_PROFESSIONAL = re.compile(
    r"\b(?:M\.?D\.?|D\.?O\.?|NP|PA-C|FNP|PMHNP|LCSW|LICSW|LPC|LPCC|LMFT|LMHC|Psy\.?D\.?|Ph\.?D\.?|M\.?Ed\.?|RN|"
    r"school counselor|case manager|care coordinator|pastor|chaplain|reverend|rev\.|pediatrician|physician|"
    r"psychiatrist|nurse practitioner|social worker|EAP|promotora|attorney|paralegal|counseling center|"
    r"Dr\.? [A-Z]|(?:counselor|therapist|nurse|coordinator) at|Pediatrics|Clinic|Hospital|Medical|Program)\b"
)
_EXISTING = _rules(
    (r"\breschedul\w*|\bmove (?:my|our|the) (?:appointment|session)|\bswitch (?:my|our|the)? ?(?:session|appointment)|\bcancel(?:l?ing)? (?:my|our|the|today|tomorrow|this)|\bneed to cancel\b", "asks to change an appointment"),
    (r"\b(?:my|our)\b[\w\s]{0,25}\b(?:appointment|session|appt)s?\b", "refers to their own appointments"),
    (r"\b(?:running|be|i'?m)\s+(?:\w+\s+){0,3}late\b|\bon my way\b|\bbe there (?:soon|in)\b", "running late"),
    (r"\bappointment reminder\b|\b\w+'s (?:\w+ )?(?:appt|appointment|session)\b|\bfor my \d{1,2}(?::\d\d|\s?[ap]m)\b|\bmiss (?:her|his|my) \d{1,2}(?::\d\d|\s?[ap]m)|\b(?:tonight|today|tomorrow|this week)'s (?:\w+ )?session\b|\bmi cita\b", "about an appointment they have"),
    (r"\bcan'?t make (?:it|\w+day|today|tomorrow|tonight)\b|\bswitch (?:tomorrow|today|\w+day) to (?:video|telehealth|in person)\b|\bno voy a poder ir\b", "cannot make an appointment"),
    (r"\b(?:see|seeing) you (?:on|tomorrow|next|this|then|at|mon|tue|wed|thu|fri|sat|sun)\w*\b|\bconfirm(?:ed|ing)?\b.{0,40}\b(?:appointment|session|at \d|\d ?[ap]m|mon|tue|wed|thu|fri|sat|sun)|^\s*(?:c|y|yes|confirm(?:ed)?)\s*[.!]?\s*$", "confirms an appointment"),
    (r"\bmy (?:therapist|counselor|clinician)\b|\bour (?:work|sessions) together\b|\b(?:last|previous|since our) session\b|\bas we discussed\b|\bhomework\b|\bthought record\b", "an ongoing relationship"),
    (r"\b(?:my|the) (?:balance|statement|bill|invoice|copay|superbill|receipt)s?\b.{0,60}\b(?:session|sessions|last|march|april|may|june|july|paid|charged)\b|\bclient portal\b|\bpatient portal\b", "about their own bill"),
    (r"\b(?:video|zoom|session) link\b.{0,40}\b(?:not working|isn't working|doesn't work|broken|won't)\b|\bswitch (?:to|over to) (?:video|telehealth|virtual)\b", "about a session of theirs"),
    (r"\b(?:pause|pausing|stop|stopping|end|ending|take a break from) (?:therapy|our sessions|sessions|counseling)\b|\bno more \w+days\b", "about continuing therapy"),
    (r"\bmy (?:insurance|plan) (?:changed|is changing|switched)|\bnew insurance (?:card|plan)\b", "updates their insurance"),
)
_SELF_PAY = re.compile(r"\bself[- ]?pay\b|\bprivate(?:ly)?[- ]pay\b|\bout of pocket\b|\bcash (?:rate|price|pay)\b|\bpay (?:cash|myself|ourselves|out of pocket)\b|\b(?:no|don'?t have|without|not using|not use) (?:any )?insurance\b|\bsin seguro\b|\bpagar? (?:en efectivo|de mi bolsillo)\b", re.I)
_NEW_PLAN = re.compile(r"\b(?:now|new|switched to|changed to|moved to|switching to|changing to|now have|now on)\b", re.I)

_SERVICES = (
    ("couples", r"\bcouples?\b|\bmarriage\b|\bmarital\b|\bpremarital\b|\b(?:my|our) (?:husband|wife|partner|spouse|fianc[eé]e?|boyfriend|girlfriend) and i\b|\brelationship (?:counsel|therap)|\bterapia de pareja\b|\bpareja\b"),
    ("family", r"\bfamily (?:therapy|counsel\w*|sessions?)\b|\bwhole family\b|\bterapia familiar\b"),
    ("group", r"\bgroups?\b|\bgrupo\b"),
    ("emdr", r"\bemdr\b"),
    ("medication", r"\bmedication management\b|\bprescri\w+|\bpsychiatri(?:st|c (?:eval|care|med))|\bmeds? (?:management|refill|manager)|\b(?:adderall|zoloft|lexapro|prozac|wellbutrin|ritalin|vyvanse|xanax)\b|\bmedicat\w+ (?:for|to)\b"),
    ("assessment", r"\btesting\b|\bpsychological (?:eval\w*|assessment)|\b(?:adhd|autism|learning) (?:eval\w*|assessment|test)|\bneuropsych\w*|\bevaluat(?:ed|ion) for\b"),
    ("court", r"\bcourt\b|\bcustody\b|\bforensic\b|\bguardian ad litem\b|\blegal (?:case|proceedings)\b|\bjudge\b|\bprobation\b"),
)
_AGE = re.compile(r"\b(\d{1,2})[- ]?(?:years?[- ]old|yr[- ]?olds?|yo|y/o|año)s?\b|\b(?:age|aged|edad)\s*:?\s*(\d{1,2})\b|\b(?:son|daughter|child|kid|boy|girl|stepson|stepdaughter|hijo|hija)\b,?\s*(?:is\s+|who is\s+|who's\s+|de\s+)?(\d{1,2})\b|\bi'?m (\d{1,2})\b", re.I)
_CHILD = re.compile(r"\b(?:child therapy|play therapy|my (?:little|young) (?:one|son|daughter|boy|girl)|kindergarten|elementary school|(?:first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th) grade)\b", re.I)
_TEEN = re.compile(r"\bteens?\b|\bteenager\b|\badolescen\w+|\bhigh school(?:er)?\b|\bmiddle school(?:er)?\b|\b(?:6th|7th|8th|9th|10th|11th|12th|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth) grade\b|\badolescente\b", re.I)
_INDIVIDUAL = re.compile(
    r"\bindividual\b|\bfor (?:my ?self|me)\b|\bi(?:'m| am|'ve been)? (?:looking|searching|hoping|trying) (?:for|to find|to start|to get)\b|\bi (?:need|want|would like) (?:to (?:talk|see|start)|a therapist|a counselor|someone|help|therapy)"
    r"|\bmy (?:anxiety|depression|grief|panic|trauma|ptsd|ocd|stress|burnout|mental health|drinking|adhd)\b|\b(?:i'?ve|i have) been (?:struggling|feeling|dealing|having)|\bbusco (?:un|una) (?:terapeuta|psic[oó]log)|\bpara m[ií]\b|\bopenings?\b.{0,30}\b(?:me|myself)\b",
    re.I,
)
_TELEHEALTH = re.compile(r"\btele-?health\b|\btelemedicine\b|\bvideo\b|\bvirtual(?:ly)?\b|\bonline\b|\bzoom\b|\bremote(?:ly)?\b|\bdoxy\b|\bteleterapia\b|\ben l[ií]nea\b|\bpor video\b", re.I)
_IN_PERSON = re.compile(r"\bin[- ]person\b|\bin (?:the |your )?office\b|\bface[- ]to[- ]face\b|\bcome in\b|\bcome to (?:your|the) office\b|\bin-office\b|\ben persona\b|\bpresencial\b", re.I)
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_FORM_FIELD = re.compile(r"^\s*(?:your\s+)?(?:e-?mail(?:\s+address)?|correo(?:\s+electr[oó]nico)?|reply[- ]to)\s*[:=]\s*(\S+@\S+)", re.I | re.M)
_FORM_NAME = re.compile(r"^\s*(?:your\s+)?(?:full\s+)?(?:name|nombre)\s*:", re.I | re.M)
# The person asks, in the first person, to be answered at an address written in the message.
_ASKS_REPLY = re.compile(
    r"(?:\b(?:reply|respond|write|email|e-mail|contact|reach|answer|get back|send|escrib\w*|cont[aá]ct\w*|responder\w*)\b(?:\s+\w+){0,3}\s+(?:me|us|to me|a m[ií])\b"
    r"|\bmy\s+(?:\w+\s+){0,2}(?:e-?mail|address|inbox|correo)\b|\bmi\s+(?:\w+\s+){0,2}correo\b)[^.?!]{0,80}$",
    re.I,
)


def classify(message: Inbound, config: Config) -> Classification:
    """The category, facts and reasons for one message (no I/O)."""
    reasons: list[str] = []
    reply_to = _reply_address(message, config, reasons)
    text = "\n".join(filter(None, (message.subject, message.fresh_text or message.text)))

    signs = automatic_signs(message)
    if not signs and reply_to and is_no_reply(reply_to):
        signs = [f"the reply would go to a no-reply address ({reply_to.partition('@')[0]}@...)"]
    if signs:
        return Classification("automated", Facts(), tuple(reasons + signs))

    facts = Facts(
        insurance=_insurance(text, config, reasons),
        services=_services(text, reasons),
        modality=_modality(text),
        reply_to=reply_to,
    )
    crisis = _crisis(text, config)
    if crisis:
        return Classification("crisis", facts, tuple(reasons + crisis))

    extra = config.classification
    solicitation = _matches(_SOLICITATION, text) + _words(extra.solicitation, text, "practice's solicitation word")
    asks_for_care = _INDIVIDUAL.search(text) or facts.insurance != "unknown"
    if len(solicitation) >= 2 or (solicitation and not asks_for_care):
        return Classification("solicitation", Facts(), tuple(reasons + solicitation))

    referral = _matches(_REFERRAL, text) + _words(extra.professional_referral, text, "practice's referral word")
    if referral and (_PROFESSIONAL.search(message.text) or len(referral) >= 2):
        return Classification("professional_referral", facts, tuple(reasons + referral))

    existing = _matches(_EXISTING, text) + _words(extra.existing_client, text, "practice's existing-client word")
    if existing:
        return Classification("existing_client", facts, tuple(reasons + existing))

    return Classification("new_inquiry", facts, tuple(reasons + ["a person asking about therapy"]))


def _matches(rules: Iterable[_Rule], text: str) -> list[str]:
    return list(dict.fromkeys(rule.reason for rule in rules if rule.pattern.search(text)))


def _words(words: Iterable[str], text: str, label: str) -> list[str]:
    lowered = text.lower()
    return [f'{label} "{w}"' for w in words if re.search(r"(?<!\w)" + re.escape(w.lower()) + r"(?!\w)", lowered)]


def _crisis(text: str, config: Config) -> list[str]:
    """Reasons the message shows present risk; empty when every mention is past, negated or a
    figure of speech. When in doubt it reports: a clinician reading a calm message costs little."""
    found: list[str] = []
    discounted: list[str] = []
    rules = _CRISIS + tuple(_Rule(re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", re.I), f'practice\'s crisis word "{w}"') for w in config.classification.crisis)
    for sentence in _SENTENCE.findall(text):
        for rule in rules:
            match = rule.pattern.search(sentence)
            if not match:
                continue
            before = sentence[: match.start()]
            if _NEGATED.search(before):
                discounted.append(f"{rule.reason} (negated)")
            elif _FIGURE.search(sentence):
                discounted.append(f"{rule.reason} (figure of speech)")
            elif _PAST.search(sentence) and not _NOW.search(sentence):
                discounted.append(f"{rule.reason} (in the past or someone else's story)")
            else:
                found.append(rule.reason)
    if found:
        return ["risk: " + reason for reason in dict.fromkeys(found)]
    return []


def _insurance(text: str, config: Config, reasons: list[str]) -> str:
    lowered = text.lower()
    mentions: list[tuple[int, str, str]] = []
    for plan in config.practice.insurance.plans:
        for alias in [plan.id, plan.name, *plan.aliases]:
            for match in re.finditer(r"(?<!\w)" + re.escape(alias.lower()) + r"(?!\w)", lowered):
                mentions.append((match.start(), plan.id, plan.name))
    for alias in (*OTHER_PLANS, *config.practice.insurance.other_aliases):
        for match in re.finditer(r"(?<!\w)" + re.escape(alias.lower()) + r"(?!\w)", lowered):
            mentions.append((match.start(), "other", alias))
    if mentions:
        mentions.sort()
        chosen = mentions[0]
        for mention in mentions:
            if _NEW_PLAN.search(lowered[max(0, mention[0] - 30): mention[0]]):
                chosen = mention
        reasons.append(f"insurance: {chosen[2]} named" + (" (in network)" if chosen[1] != "other" else " (not in network)"))
        return chosen[1]
    if _SELF_PAY.search(text):
        reasons.append("insurance: paying themselves")
        return "self_pay"
    return "unknown"


def _services(text: str, reasons: list[str]) -> tuple[str, ...]:
    found = [name for name, pattern in _SERVICES if re.search(pattern, text, re.I)]
    ages = [int(a) for m in _AGE.finditer(text) for a in m.groups() if a]
    if any(a < 13 for a in ages) or _CHILD.search(text):
        found.append("child")
    if any(13 <= a <= 17 for a in ages) or _TEEN.search(text):
        found.append("teen")
    if not set(found) & {"couples", "family", "child", "teen", "group"} and _INDIVIDUAL.search(text):
        found.append("individual")
    ordered = tuple(s for s in SERVICES if s in found)
    if ordered:
        reasons.append("services: " + ", ".join(ordered))
    return ordered


def _modality(text: str) -> str:
    tele = _TELEHEALTH.search(text)
    person = _IN_PERSON.search(text)
    if tele and person:
        return "telehealth" if tele.start() < person.start() else "in_person"
    return "telehealth" if tele else "in_person" if person else "unknown"


def _reply_address(message: Inbound, config: Config, reasons: list[str]) -> str | None:
    """Where a personal reply goes: an address the person asks for in the message itself, else the
    first Reply-To, else From; for a text, the sender's number."""
    if message.channel == "sms":
        return message.sender or None
    own = config.practice.own_addresses
    body = message.fresh_text or message.text
    for match in _FORM_FIELD.finditer(body) if _FORM_NAME.search(body) else ():
        address = _ADDRESS.search(match.group(1))
        if address and address.group(0).lower() not in own:
            reasons.append("reply address: the email field of a form")
            return address.group(0).lower()
    for match in _ADDRESS.finditer(body):
        address = match.group(0).lower().rstrip(".")
        sentence_start = max(body.rfind(".", 0, match.start()), body.rfind("\n\n", 0, match.start()), 0)
        if address not in own and address != message.sender and _ASKS_REPLY.search(body[sentence_start: match.start()]):
            reasons.append("reply address: the one the message asks to be answered at")
            return address
    if message.reply_to:
        return message.reply_to[0]
    return message.sender or None
