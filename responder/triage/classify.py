"""Category and reasons for one message: rules and a learned model over its text and headers.

The order of the questions is the order of what matters: is it a machine (never answered, decided
by headers), does it show risk (crisis beats everything else a person asks), and otherwise which
of vendor, referring professional, current client or person asking about therapy it is. Risk is
read twice, by the rules in risk.py and by the model in learned.py, and either can raise it; the
model settles the other categories, because on messages nobody here had seen it was right far
more often than the rules (scripts/train-model prints the figures). The rules still speak: every
rule that agrees with the decision is in the reasons, beside the words that moved the model, so a
clinician can see why.

The practice adds words per category through ``classification:`` in the configuration; those,
and the unmistakable signs of a scam, decide whatever the model says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .facts.insurance import insurance
from .facts.language import language
from .facts.modality import modality
from .facts.reply_address import form_address, reply_address
from .facts.services import services
from . import learned
from ..config import Classification as ExtraWords
from ..config import Config
from .guard import automatic_signs, hard_automatic_signs, is_no_reply
from ..model import Classification, Facts, Inbound
from .risk import read_risk
from .rules import matches, rules, word_rule

_SOLICITATION = rules(
    (r"\bseo\b|search engine|google (?:ranking|maps|business profile|reviews)|first page of google|page (?:one|two|three|\d) of google|\brank(?:ing|s)? (?:higher|#?1|first)", "search-engine marketing pitch"),
    (r"\b(?:marketing|advertising|lead generation|web design|website redesign|digital agency)\b.{0,80}\b(?:services?|agency|package|clients?|practices?)\b", "marketing pitch"),
    (r"\bgrow (?:your|the) (?:practice|caseload|business)|\bfill your (?:calendar|caseload|schedule)|more (?:new )?(?:clients|patients|leads) (?:for|to) your", "pitch to grow the practice"),
    (r"\b(?:book|schedule) a (?:quick |short |free |\d+[- ]minute )?(?:call|demo|chat)\b|\bfree (?:audit|trial|demo|analysis)\b", "asks for a sales call"),
    (r"\bcredentialing\b|\bbilling (?:services|company|partner)\b|\b(?:virtual|ai) (?:receptionist|assistant)\b|\bcall answering\b", "vendor service"),
    (r"\b(?:we(?:'re| are) hiring|recruit(?:er|ing)|join our (?:team|network|platform)|now hiring|per[- ]session rate|1099|w-?2 position)\b", "recruiting"),
    (r"\b(?:business|working capital) (?:loan|funding|line of credit)|pre-?approved|merchant cash|\bfunding offer", "financing offer"),
    (r"\b(?:acquire|acquisition of|buy|purchase) (?:your|a) practice|practice (?:acquisition|sale)\b", "offer to buy the practice"),
    (r"\b(?:listing|profile) (?:will be |has been |is )?(?:removed|suspended|deactivated|expir\w+)|(?:upgrade|boost|premium) (?:your )?(?:listing|profile)", "directory upsell"),
        (r"\bwe help (?:therapists|practices|clinicians|counselors)\b|\bnew clients?/mo|\bworth a (?:quick |short |\d+[- ]min(?:ute)? )?(?:chat|call)\b|\b(?:would|does|do) [\w\s]{0,20} work for a (?:quick |short )?call\b", "sales outreach"),
    (r"\bpractices (?:on|using|like yours) \w+ (?:get|see|convert|grow)|\binvit\w+ (?:a small group of )?(?:\w+ )?practices to join\b|\bconvert (?:about )?\d+% more\b", "platform pitch"),
    (r"\brecapitaliz\w+|\bconsidering a sale\b", "offer to buy the practice"),
    (r"\bpast due\b|\bsent to collections\b|\bfinal notice\b", "payment demand"),
    (r"\bhiring\b|\bset your own hours\b|\$\d+ ?/ ?session\b", "recruiting"),
    (r"\brevenue(?: cycle)?\b|\byour billing team\b|\boutsourc\w+ (?:your )?billing\b|\bdenial management\b|\bclean claims? rate\b", "billing vendor pitch"),
    (r"\bwebinar\b|\bce credits?\b|\bcontinuing education\b|\bsponsor(?:ed|ship)\b|\bpartnership opportunit", "promotion"),
    (r"\bguest (?:post|article|blog)\b|\bbacklinks?\b|\bsponsored (?:post|content|article)\b|\bcontribute (?:a|an) (?:\w+[- ])*(?:article|post)\b|\blink (?:placement|insertion|exchange)\b", "content marketing pitch"),
    (r"\b(?:processing|card|merchant|transaction) (?:fees|rates)\b|\boverpaying\b|\bfree (?:\w+ )?(?:review|quote|assessment|consultation for your)\b|\breply (?-i:[A-Z]{3,})\b", "sales pitch"),
    (r"\bmsg ?(?:&|and) ?data rates\b|\b(?:reply|txt|text) stop to (?:end|opt[- ]?out|unsubscribe|cancel)\b", "marketing text"),
    (r"\bunsubscribe\b|\bopt out of (?:these|future) (?:emails|messages)", "carries an unsubscribe line"),
    (r"\bgtube\b|XJS\*C4JDBQADN1", "spam test string"),
    (r"\b(?:having )?(?:trouble|problems?) viewing\b|\bview (?:this (?:e-?mail|message) )?(?:online|in (?:your|a) browser)\b|\bproblemas para visualizar\b|\bver on-?line\b|\bclick aqu[ií]\b", "newsletter or advertising layout"),
    (r"\b(?:limited[- ]time|special) offer\b|\bfree shipping\b|\b\d+% off\b|\bnuevo producto\b|\boferta\b|\bdescuento\b", "advertising"),
    (r"\bserious relationship\b|\bpictures of me\b|\bhello dear\b|\bdear friend\b|\bget to know you\b", "unsolicited personal approach (spam)"),
)
# Scams and phishing: enough on their own, however much the message dresses as a person asking for care.
_SCAM = rules(
    (r"\b(?:uploaded|shared|put) (?:\w+ ){0,4}(?:to|in|on) a (?:secure )?(?:folder|portal|link|drive)\b|\bsign in with your (?:work |business |office )?email\b|\bview documents?:", "document-link phishing"),
    (r"\bverify your (?:account|mailbox|email|identity)|mailbox (?:is )?(?:full|quota)|password (?:expires?|reset required)|click (?:here|below|the link) to (?:verify|confirm|restore|avoid|view|sign)", "phishing"),
    (r"\binvoice (?:is )?(?:overdue|past due|attached)|wire transfer|gift cards?|overpa(?:id|yment)|refund the (?:difference|balance)", "payment scam"),
    (r"\b(?:package|parcel|shipment|delivery) (?:is )?(?:on hold|held|could not be delivered|pending)|\busps\b|\bfedex\b|\bdhl\b", "delivery scam"),
    (r"\bunpaid toll\b|\btoll (?:balance|bill|notice)\b|\bto avoid an? \$?\d+ (?:late )?fee\b|\breply (?-i:Y) then\b|\bactivate the link\b", "toll or fee scam"),
    (r"\bgoogle business\b|\bverify (?:your )?ownership\b|\bmarked (?:permanently )?closed\b", "listing scam"),
    (r"\breview and sign\b|\bsent you a document\b|\bshared a (?:file|document) with you\b", "document phishing"),
    (r"\bpay(?:ing)? (?:\w+ ){0,5}(?:upfront|up front|in advance)\b|\badvance payment\b|\bunable to (?:make|take) (?:phone )?calls\b|\boffshore\b|\bcashier'?s check\b|\bcertified check\b", "overpayment scam"),
    (r"\baction required\b|\bawaiting (?:your )?signature\b|\bsuspension of (?:claims|payments?|your)\b|\bfailure to (?:complete|comply|verify)\b|\brecredentialing\b", "urgent-document phishing"),
)
_SCAM_REASONS = frozenset(rule.reason for rule in _SCAM)
_REFERRAL = rules(
    (r"\b(?:i(?:'m| am| would like to| want to|'d like to)|we(?:'re| are| would like to|'d like to)|writing to|hoping to)\s+(?:\w+\s+){0,2}refer(?:ring)?\b", "refers someone"),
    (r"\brefer(?:ring|red)?\s+(?:a|an|one of (?:my|our)|my|our|this|the)\s+(?:\w+\s+)?(?:patient|client|student|parishioner|member|congregant|employee|couple|family|teen|mom|mother|father|veteran)\b", "refers someone"),
    (r"\breferral (?:for|of|regarding|request for|from)\b|\bnew referral\b|\breferral:\s|\b(?:accept|this is) (?:this |a )?referral\b", "a referral"),
    (r"\b(?:our|my) client\b.{0,200}\b(?:looking for|needs|would benefit|has been ordered|referred)\b", "writes about their client"),
    (r"\bi(?:'m| am) (?:a|an|the) (?:\w+ )?(?:psychologist|therapist|counselor|physician|doctor|pediatrician|psychiatrist|social worker|case manager|pastor|chaplain|nurse|paralegal|attorney|promotora)\b.{0,300}\b(?:i see|i'm seeing|i work with|i've been seeing|who would like|would benefit|needs)\b", "a professional writing about someone in their care"),
    (r"\b(?:my|our|a) (?:patient|patients|parishioner|congregant|student|caseworker's client)\b.{0,120}\b(?:would benefit|needs|is looking|is interested|could use|recommended|asked me)\b", "writes about their patient"),
    (r"(?m)^\s*(?:patient|member(?: name)?|client(?: name)?|student|paciente|participant|referred (?:person|client))\s*:", "names the client on a referral form"),
    (r"\b(?:requesting|request) an appointment for\b|\bfor one of our (?:members|patients|clients|students|participants)\b|\bis referring\b|\breferir a mi paciente\b|\bmi paciente\b", "asks on behalf of a client"),
    (r"\b(?:asked|asking) (?:me|us) to help (?:them|him|her) find\b|\bhelp (?:them|him|her) find (?:a |an )?(?:\w+ )?(?:counsel\w*|therap\w*)\b", "helps someone find care"),
    (r"\b(?:discharging|discharge|stepping down) (?:a |this |our )?(?:patient|client|participant)\b|\bdischarge planner\b", "a discharge from care"),
    (r"\bi (?:supervise|work with|am working with|counsel) (?:a|an) (?:\d+[- ]year[- ]old|young|teen|youth|student|client|patient)\b|\bi have a (?:young |new )?(?:couple|family|teen|student|parishioner|congregant|member|patient|client)\b|\bok if i (?:pass along|give (?:them|him|her)) your (?:number|info)\b|\bwith the parents'? (?:written )?(?:consent|permission)\b", "speaks for someone in their care"),
    (r"\bon behalf of (?:a|one of (?:our|my)|my|our) (?:client|patient|member|student|participant|resident)\b|\b(?:have|got) a (?:pt|patient|client)\b|\btake referrals\b|\bgive (?:him|her|them) your (?:number|info)\b", "asks on behalf of a client"),
    (r"\bsigned (?:a |the |our )?release\b|\brelease of information\b|\b(?-i:ROI)\b", "mentions a release of information"),
    (r"\bwith (?:his|her|their|a|the) (?:\w+'?s? )?(?:permission|consent)\b|\b(?:mom|dad|parents?|mother|father|guardian) said i could (?:reach out|contact you|write)\b", "writes with the family's permission"),
    (r"\b(?:i'?m|i am) writing,? (?:\w+,? ){0,6}about (?:a|an|my|our) (?:\d+[- ]year[- ]old|\d+(?:st|nd|rd|th)[- ]grader|student|patient|client|young (?:person|man|woman)|member|parishioner|kid|teen|boy|girl)\b|\bi have an? (?:\w+ ){0,3}(?:student|patient|client|parishioner|congregant)\b", "writes about someone in their care"),
)
_PROFESSIONAL = re.compile(
    r"\b(?:M\.?D\.?|D\.?O\.?|NP|PA-C|FNP|PMHNP|LCSW|LICSW|LPC|LPCC|LMFT|LMHC|Psy\.?D\.?|Ph\.?D\.?|M\.?Ed\.?|RN|"
    r"school counselor|case manager|care coordinator|pastor|chaplain|reverend|rev\.|pediatrician|physician|"
    r"psychiatrist|nurse practitioner|social worker|EAP|promotora|attorney|paralegal|counseling center|"
    r"Dr\.? [A-Z]|(?:counselor|therapist|nurse|coordinator|planner) at|Pediatrics|Clinic|Hospital|Medical|Program|Family Medicine|Medical Center|"
    r"rabbi|imam|priest|clergy|Congregation|Pastor|probation officer|Juvenile Department|Rabbi|Chaplain|Reverend|Imam|Father [A-Z]|discharge planner|case worker|caseworker|I serve as|[Cc]l[ií]nica|[Dd]octora?|Dra?\.|[Pp]ediatra|[Mm][eé]dic[oa]|[Pp]romotora)\b"
)
_EXISTING = rules(
    (r"\breschedul\w*|\bmove (?:my|our|the) (?:appointment|session)|\bswitch (?:my|our|the)? ?(?:session|appointment)|\bcancel(?:l?ing)? (?:my|our|the|today|tomorrow|this)|\bcancel (?:my |our |the )?(?:mon|tue|wed|thu|fri|sat|sun)\w*\b|\bneed to cancel\b", "asks to change an appointment"),
    (r"\b(?:my|our)\b[\w\s]{0,25}\b(?:appointment|session|appt)s?\b", "refers to their own appointments"),
    (r"\b(?:running|be|i'?m)\s+(?:\w+\s+){0,3}(?:late|behind)\b|\bon my way\b|\bbe there (?:soon|in)\b", "running late"),
    (r"\b(?:the|my|our|this|that) session on\b|\bsession on \d{1,2}/\d{1,2}\b|\b(?:card|payment) (?:was |got )?declined\b|\bcharged (?:me )?(?:twice|double|two times)\b|\b(?:copay|card|visa|payment) (?:\w+ ){0,3}(?:twice|two times|double)\b|\b(?:went through|charged|billed) twice\b|\btwo \$?\d+ charges\b|\bdouble[- ]charged\b|\bmy \d{1,2}/\d{1,2} (?:session|appt|appointment)\b|\bmy \d{1,2}(?::\d\d)?\s?(?:am|pm)? (?:with|appt|appointment|session)\b|\b(?:in|through|on|via) the portal\b", "about a session of theirs"),
    (r"\b(?:could|can) (?:my|our|the|this|\w+'s)\s+(?:\w+\s+)?(?:\d{1,2}(?::\d\d)?\s?(?:am|pm)?|session|appt|appointment)\s+be (?:on )?(?:video|virtual|telehealth|in person)\b|\b(?:keep|continue) seeing (?:you|[A-Z][a-z]+)\b|\bhas been seeing (?:Mr|Ms|Mrs|Dr)\.? [A-Z]\w*|\bwrite (?:a |me a )?(?:short )?letter\b", "about their care here"),
    (r"\bcan we do (?:tomorrow|today|tonight|\w+day)(?:'s)? (?:session |appt |appointment )?(?:on |by |over )?(?:video|phone|zoom|in person)\b|\b\d{1,2}(?::\d\d)?\s?(?:am|pm) (?:w|w/|with) (?-i:[A-Z][a-z]+)\b", "about their appointment"),
    (r"\bsoy (?:cliente|paciente) de\b|\bmis sesiones\b|\bmi pr[oó]xima cita\b|\bla cita del\b|\bpodemos (?:cambiar|mover|hacer|pasar) la cita\b|\bmi terapeuta\b", "a current client (Spanish)"),
    (r"\bthank(?:s| you) for (?:today|tonight|this morning|yesterday|our session|the session|last (?:week|session|night))\b", "thanks their clinician for a session"),
    (r"\b(?:can|could) we (?:move|switch|change|push|bump|do) (?:my |our |the |tomorrow'?s? |today'?s? )?(?:\w+ )?(?:\d{1,2}(?::\d\d)?\s?(?:am|pm)? )?to (?:mon|tue|wed|thu|fri|sat|sun|next|another|a different|later|earlier)\w*", "asks to move their appointment"),
    (r"\bappointment reminder\b|\breminder:? (?:of )?(?:your )?appointment\b|\bmy regular (?:slot|time|session)\b|\bcould (?-i:[A-Z][a-z]+) see me\b|\b\w+'s (?:\w+ )?(?:appt|appointment|session)\b|\bfor my \d{1,2}(?::\d\d|\s?[ap]m)\b|\bmiss (?:her|his|my) \d{1,2}(?::\d\d|\s?[ap]m)|\b(?:tonight|today|tomorrow|this week)'s (?:\w+ )?session\b|\bmi cita\b", "about an appointment they have"),
    (r"\bcan'?t make (?:it|\w+day|today|tomorrow|tonight)\b|\bswitch (?:tomorrow|today|\w+day) to (?:video|telehealth|in person)\b|\bno voy a poder ir\b", "cannot make an appointment"),
    (r"\b(?:see|seeing) you (?:on|tomorrow|next|this|then|at|mon|tue|wed|thu|fri|sat|sun)\w*\b|\bconfirm(?:ed|ing)?\b.{0,40}\b(?:appointment|session|at \d|\d ?[ap]m|mon|tue|wed|thu|fri|sat|sun)|^\s*(?:c|y|yes|confirm(?:ed)?)\s*[.!]?\s*$", "confirms an appointment"),
    (r"\bmy (?:therapist|counselor|clinician) (?:here|at (?:your|harbor))\b|\bour (?:work|sessions) together\b|\b(?:last|previous|since our) session\b|\bas we discussed\b|\bhomework\b|\bthought record\b", "an ongoing relationship"),
    (r"\b(?:my|the|a|this) (?:\w+ )?(?:balance|statement|bill|invoice|copay|superbill|receipt|eob)s?\b.{0,80}\b(?:session|sessions|last|march|april|may|june|july|paid|charged|charging|billed|no-show)\b|\bclient portal\b|\bpatient portal\b|\breceipts? for (?:his|her|my|our) (?:last )?(?:\w+ )?sessions\b", "about their own bill"),
    (r"\b(?:pause|hold|continue|resume) (?:his|her|my|their|our) (?:sessions|therapy|slot|appointments?)\b|\bhold (?:his|her|my|their|our) (?:\w+ )?(?:\d{1,2}:\d\d )?slot\b|\bpick back up\b", "about continuing sessions"),
    (r"\b(?:video|zoom|session) link\b.{0,40}\b(?:not working|isn't working|doesn't work|broken|won't)\b|\bswitch (?:to|over to) (?:video|telehealth|virtual)\b", "about a session of theirs"),
    (r"\b(?:pause|pausing|stop|stopping|end|ending|take a break from) (?:therapy|our sessions|sessions|counseling)\b|\bno more \w+days\b", "about continuing therapy"),
    (r"\bmy (?:insurance|plan) (?:changed|is changing|switched)|\bnew insurance (?:card|plan)\b", "updates their insurance"),
)
# "who sees Marisol on Thursdays": a clinician named as someone's own (names are capitalised).
_SEES_CLINICIAN = re.compile(r"\b(?:sees|is seeing|has been seeing|see|been seeing) (?:Dr\.? )?[A-Z][a-z]+ (?:on|every|each|weekly|for)\b")
# "Hi Priya," at the top: people who already have a clinician greet them by name; people asking
# for the first time greet the practice. (Vendors and referrers are told apart before this.)
_GREETS_SOMEONE = re.compile(
    r"^\s*(?i:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hola)[ ,]+(?:(?i:dr|mr|ms|mrs)\.? )?"
    r"(?!(?:Provider|Practice|Team|All|There|Everyone|Staff|Friends|Folks|Sir|Madam|Doctor|Colleagues|Intake|Whoever|Again|Front|Office)\b)([A-Z][a-z]+)\b"
)
# A person asking for care for themselves or someone close: a vendor's pitch rarely does.
_ASKS_FOR_CARE = re.compile(
    r"\bi(?:'m| am|'ve been)? (?:looking|searching|hoping|trying) (?:for|to find|to start|to get)\b|\bi (?:need|want|would like) (?:to (?:talk|see|start)|a therapist|a counselor|someone|help|therapy)"
    r"|\bmy (?:anxiety|depression|grief|panic|trauma|ptsd|ocd|stress|burnout|mental health|drinking|adhd)\b|\b(?:i'?ve|i have) been (?:struggling|feeling|dealing|having)"
    r"|\bdo you (?:take|accept) (?:my |\w+ )?(?:insurance|aetna|cigna|medicare|medicaid|\w+)\b|\bmy (?:insurance|plan)\b|\bbusco (?:un|una) (?:terapeuta|psic[oó]log)|\bopenings?\b.{0,30}\b(?:me|myself)\b",
    re.I,
)


# How sure the model must be to call a crisis, by what the rules read. A rule that reads present
# risk ("I think about ending my life") needs nothing more: the model, trained on whole messages,
# can be talked down by the insurance question around it. A topic merely named (suicide,
# self-harm, a gun) needs the model to see some risk too: "parent education on self-harm" is not
# a crisis. Where the rules read every mention as negated, past or someone else's ("I'm not
# suicidal"), or the whole message as a pitch or an advertisement, the model, which cannot read
# negation and leans on a language's common words, must be sure to overrule them.
_CRISIS_FLOOR_FOR_A_TOPIC = 0.1
_CRISIS_FLOOR_AGAINST_RULES = 0.5
# Newsletters and notices that mention 988 read far below this; a caller's words do not.
_CRISIS_IN_MACHINE_MAIL = 0.5


def classify(message: Inbound, config: Config) -> Classification:
    """The category, facts and reasons for one message (no I/O)."""
    reasons: list[str] = []
    reply_to = reply_address(message, config, reasons)
    text = message.reading

    signs = automatic_signs(message)
    if signs and form_address(message, config) and not hard_automatic_signs(message):
        reasons.append("a web form relaying a person's message, whatever its headers say")
        signs = []
    if not signs and reply_to and is_no_reply(reply_to):
        signs = [f"the reply would go to a no-reply address ({reply_to.partition('@')[0]}@...)"]
    if signs:
        # Machine mail is never answered, but it can carry a person's words: a voicemail
        # transcript, a form a relay mangled. Risk in them still reaches a clinician at once.
        reading = learned.shipped().read(text, message.channel)
        if reading.crisis >= _CRISIS_IN_MACHINE_MAIL:
            return Classification("crisis", Facts(), tuple(reasons + signs + [reading.explain("crisis"), "machine mail: no reply, a clinician is alerted"]))
        return Classification("automated", Facts(), tuple(reasons + signs))

    extra = config.classification
    category, why = _category(text, message, extra, {w.lower() for w in config.practice.name.split()})
    if category == "solicitation":
        return Classification("solicitation", Facts(), tuple(reasons + why))
    facts = Facts(
        insurance=insurance(text, config, reasons),
        services=services(text, category, reasons, config.practice.name),
        modality=modality(text),
        reply_to=reply_to,
        language=language(text),
    )
    return Classification(category, facts, tuple(reasons + why))


def _category(text: str, message: Inbound, extra: ExtraWords, practice_words: set[str]) -> tuple[str, list[str]]:
    """Rules and the learned model each read the message; risk from either side wins, the model
    settles the rest (it generalises better: scripts/train-model), and the rules that agree with
    it, or the practice's own words, say why."""
    model = learned.shipped()
    reading = model.read(text, message.channel)
    risk = read_risk(text, extra.crisis)
    evidence = _rule_evidence(text, message, extra, practice_words)
    pitch = evidence["solicitation"]
    selling = any(r in _SCAM_REASONS for r in pitch) or len(pitch) >= 2 or bool(pitch and not evidence["new_inquiry"])
    p_crisis = reading.crisis
    if risk.present and not risk.only_mentioned:
        needed = 0.0
    elif risk.present:
        needed = _CRISIS_FLOOR_FOR_A_TOPIC
    elif (risk.discounted or selling) and not risk.laughed_off:  # laughter can mask the real thing
        needed = max(model.crisis_threshold, _CRISIS_FLOOR_AGAINST_RULES)
    else:
        needed = model.crisis_threshold
    if p_crisis >= needed or any(reason.startswith("risk: practice's") for reason in risk.present):
        return "crisis", [*risk.present] + ([reading.explain("crisis")] if p_crisis >= model.crisis_threshold else [])
    chosen = {c for c, why in evidence.items() if any(reason.startswith("practice's ") for reason in why)}
    if selling:
        chosen.add("solicitation")
    if chosen:  # the practice's own words, and plain selling, are not for the model to overrule
        category = next(c for c in ("solicitation", "professional_referral", "existing_client") if c in chosen)
        return category, evidence[category]
    category = reading.best_except_crisis()
    notes = [f"risk mentioned but not present: {reason}" for reason in risk.discounted]
    notes += [f"risk mentioned with laughter: {reason}" for reason in risk.laughed_off]
    return category, evidence.get(category, []) + [reading.explain(category)] + notes


def _rule_evidence(text: str, message: Inbound, extra: ExtraWords, practice_words: set[str]) -> dict[str, list[str]]:
    """What the hand-written rules see for each category a person or vendor can be in."""
    solicitation = matches(_SCAM, text) + matches(_SOLICITATION, text) + _words(extra.solicitation, text, "practice's solicitation word")
    referral = matches(_REFERRAL, text) + _words(extra.professional_referral, text, "practice's referral word")
    if not (_PROFESSIONAL.search(message.text) or len(referral) >= 2 or any(r.startswith("practice's") for r in referral)):
        referral = []
    existing = matches(_EXISTING, text) + _words(extra.existing_client, text, "practice's existing-client word")
    if _SEES_CLINICIAN.search(text):
        existing.append("names their clinician here")
    greeted = _GREETS_SOMEONE.search((message.fresh_text or message.text)[:200])
    if greeted and greeted.group(1).lower() not in practice_words:
        existing.append(f"greets a clinician by name ({greeted.group(1)})")
    asks_for_care = ["asks for care"] if _ASKS_FOR_CARE.search(text) else []
    return {"solicitation": solicitation, "professional_referral": referral, "existing_client": existing, "new_inquiry": asks_for_care}


def _words(words: Iterable[str], text: str, label: str) -> list[str]:
    return matches((word_rule(w, f'{label} "{w}"') for w in words), text)
