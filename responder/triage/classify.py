"""Category and reasons for one message: rules and a learned model over its text and headers.

The order of the questions is the order of what matters: is it a machine (never answered, decided
by headers), does it show risk (crisis beats everything else a person asks), and otherwise which
of vendor, referring professional, current client or person asking about therapy it is. Risk is
read twice, by the rules in risk.py and by the model in learned.py, and either can raise it; the
model settles the other categories, because on messages nobody here had seen it was right far
more often than the rules (scripts/train-model prints the figures). The rules still speak: every
rule that agrees with the decision is in the reasons, and the words that moved the model are the
classification's evidence (apart, because they quote the person), so a clinician can see why.

The practice adds words per category through ``classification:`` in the configuration; those,
and the unmistakable signs of a scam, decide whatever the model says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ..config import Classification as ExtraWords
from ..config import Config
from ..model import Category, Classification, Facts, Inbound
from . import learned
from .facts.age import all_ages, sent_on, settled_age
from .facts.clinician import named_clinician
from .facts.insurance import insurance
from .facts.language import language
from .facts.modality import modality
from .facts.name import first_name
from .facts.reply_address import form_address, reply_address
from .facts.services import services
from .facts.zone import zone
from .guard import automatic_signs, hard_automatic_signs, is_no_reply
from .relay import relayed
from .risk import read_risk
from .rules import Rule, RuleKind, matching, reasons, rule, word_rule
from .text import unwrap

# Vendors, marketers and recruiters. Two of these, or one where nobody asks for care, is a pitch.
_SOLICITATION = (
    rule("search_engine_pitch", RuleKind.CATEGORY, "search-engine marketing pitch", r"""
        \bseo\b | search\ engine
      | google\ (?:ranking|maps|business\ profile|reviews)
      | first\ page\ of\ google | page\ (?:one|two|three|\d)\ of\ google
      | \brank(?:ing|s)?\ (?:higher|\#?1|first)
    """),
    rule("marketing_pitch", RuleKind.CATEGORY, "marketing pitch", r"""
        \b(?:marketing|advertising|lead\ generation|web\ design|website\ redesign|digital\ agency)\b .{0,80}
        \b(?:services?|agency|package|clients?|practices?)\b
    """),
    rule("grow_the_practice", RuleKind.CATEGORY, "pitch to grow the practice", r"""
        \bgrow\ (?:your|the)\ (?:practice|caseload|business)
      | \bfill\ your\ (?:calendar|caseload|schedule)
      | more\ (?:new\ )?(?:clients|patients|leads)\ (?:for|to)\ your
    """),
    rule("sales_call", RuleKind.CATEGORY, "asks for a sales call", r"""
        \b(?:book|schedule)\ a\ (?:quick\ |short\ |free\ |\d+[- ]minute\ )?(?:call|demo|chat)\b
      | \bfree\ (?:audit|trial|demo|analysis)\b
    """),
    rule("vendor_service", RuleKind.CATEGORY, "vendor service", r"""
        \bcredentialing\b
      | \bbilling\ (?:services|company|partner)\b
      | \b(?:virtual|ai)\ (?:receptionist|assistant)\b
      | \bcall\ answering\b
    """),
    rule("recruiting", RuleKind.CATEGORY, "recruiting", r"""
        \b(?:we(?:'re|\ are)\ hiring | recruit(?:er|ing) | join\ our\ (?:team|network|platform) | now\ hiring
           | per[- ]session\ rate | 1099 | w-?2\ position)\b
    """),
    rule("financing_offer", RuleKind.CATEGORY, "financing offer", r"""
        \b(?:business|working\ capital)\ (?:loan|funding|line\ of\ credit)
      | pre-?approved
      | merchant\ cash
      | \bfunding\ offer
    """),
    rule("buy_the_practice", RuleKind.CATEGORY, "offer to buy the practice", r"""
        \b(?:acquire|acquisition\ of|buy|purchase)\ (?:your|a)\ practice
      | practice\ (?:acquisition|sale)\b
    """),
    rule("directory_upsell", RuleKind.CATEGORY, "directory upsell", r"""
        \b(?:listing|profile)\ (?:will\ be\ |has\ been\ |is\ )?(?:removed|suspended|deactivated|expir\w+)
      | (?:upgrade|boost|premium)\ (?:your\ )?(?:listing|profile)
    """),
    rule("sales_outreach", RuleKind.CATEGORY, "sales outreach", r"""
        \bwe\ help\ (?:therapists|practices|clinicians|counselors)\b
      | \bnew\ clients?/mo
      | \bworth\ a\ (?:quick\ |short\ |\d+[- ]min(?:ute)?\ )?(?:chat|call)\b
      | \b(?:would|does|do)\ [\w\s]{0,20}\ work\ for\ a\ (?:quick\ |short\ )?call\b
    """),
    rule("platform_pitch", RuleKind.CATEGORY, "platform pitch", r"""
        \bpractices\ (?:on|using|like\ yours)\ \w+\ (?:get|see|convert|grow)
      | \binvit\w+\ (?:a\ small\ group\ of\ )?(?:\w+\ )?practices\ to\ join\b
      | \bconvert\ (?:about\ )?\d+%\ more\b
    """),
    rule("recapitalization", RuleKind.CATEGORY, "offer to buy the practice", r"""
        \brecapitaliz\w+
      | \bconsidering\ a\ sale\b
    """),
    rule("payment_demand", RuleKind.CATEGORY, "payment demand", r"""
        \bpast\ due\b | \bsent\ to\ collections\b | \bfinal\ notice\b
    """),
    rule("hiring", RuleKind.CATEGORY, "recruiting", r"""
        \bhiring\b | \bset\ your\ own\ hours\b | \$\d+\ ?/\ ?session\b
    """),
    rule("billing_vendor", RuleKind.CATEGORY, "billing vendor pitch", r"""
        \brevenue(?:\ cycle)?\b
      | \byour\ billing\ team\b
      | \boutsourc\w+\ (?:your\ )?billing\b
      | \bdenial\ management\b
      | \bclean\ claims?\ rate\b
    """),
    rule("promotion", RuleKind.CATEGORY, "promotion", r"""
        \bwebinar\b | \bce\ credits?\b | \bcontinuing\ education\b | \bsponsor(?:ed|ship)\b | \bpartnership\ opportunit
    """),
    rule("content_marketing", RuleKind.CATEGORY, "content marketing pitch", r"""
        \bguest\ (?:post|article|blog)\b
      | \bbacklinks?\b
      | \bsponsored\ (?:post|content|article)\b
      | \bcontribute\ (?:a|an)\ (?:\w+[- ])*(?:article|post)\b
      | \blink\ (?:placement|insertion|exchange)\b
    """),
    rule("sales_pitch", RuleKind.CATEGORY, "sales pitch", r"""
        \b(?:processing|card|merchant|transaction)\ (?:fees|rates)\b
      | \boverpaying\b
      | \bfree\ (?:\w+\ )?(?:review|quote|assessment|consultation\ for\ your)\b
      | \breply\ (?-i:[A-Z]{3,})\b     # "reply YES", "reply INFO"
    """),
    rule("marketing_text", RuleKind.CATEGORY, "marketing text", r"""
        \bmsg\ ?(?:&|and)\ ?data\ rates\b
      | \b(?:reply|txt|text)\ stop\ to\ (?:end|opt[- ]?out|unsubscribe|cancel)\b
    """),
    rule("unsubscribe_line", RuleKind.CATEGORY, "carries an unsubscribe line", r"""
        \bunsubscribe\b
      | \bopt\ out\ of\ (?:these|future)\ (?:emails|messages)
    """),
    rule("spam_test_string", RuleKind.CATEGORY, "spam test string", r"""
        \bgtube\b | XJS\*C4JDBQADN1
    """),
    rule("newsletter_layout", RuleKind.CATEGORY, "newsletter or advertising layout", r"""
        \b(?:having\ )?(?:trouble|problems?)\ viewing\b
      | \bview\ (?:this\ (?:e-?mail|message)\ )?(?:online|in\ (?:your|a)\ browser)\b
      | \bproblemas\ para\ visualizar\b | \bver\ on-?line\b | \bclick\ aqu[ií]\b     # Spanish
    """),
    rule("advertising", RuleKind.CATEGORY, "advertising", r"""
        \b(?:limited[- ]time|special)\ offer\b
      | \bfree\ shipping\b
      | \b\d+%\ off\b
      | \bnuevo\ producto\b | \boferta\b | \bdescuento\b     # Spanish
    """),
    rule("personal_spam", RuleKind.CATEGORY, "unsolicited personal approach (spam)", r"""
        \bserious\ relationship\b | \bpictures\ of\ me\b | \bhello\ dear\b | \bdear\ friend\b | \bget\ to\ know\ you\b
    """),
)
# Scams and phishing: enough on their own, however much the message dresses as a person asking for care.
_SCAM = (
    rule("document_link_phishing", RuleKind.SCAM, "document-link phishing", r"""
        \b(?:uploaded|shared|put)\ (?:\w+\ ){0,4}(?:to|in|on)\ a\ (?:secure\ )?(?:folder|portal|link|drive)\b
      | \bsign\ in\ with\ your\ (?:work\ |business\ |office\ )?email\b
      | \bview\ documents?:
    """),
    rule("phishing", RuleKind.SCAM, "phishing", r"""
        \bverify\ your\ (?:account|mailbox|email|identity)
      | mailbox\ (?:is\ )?(?:full|quota)
      | password\ (?:expires?|reset\ required)
      | click\ (?:here|below|the\ link)\ to\ (?:verify|confirm|restore|avoid|view|sign)
    """),
    rule("payment_scam", RuleKind.SCAM, "payment scam", r"""
        \binvoice\ (?:is\ )?(?:overdue|past\ due|attached)
      | wire\ transfer
      | gift\ cards?
      | overpa(?:id|yment)
      | refund\ the\ (?:difference|balance)
    """),
    rule("delivery_scam", RuleKind.SCAM, "delivery scam", r"""
        \b(?:package|parcel|shipment|delivery)\ (?:is\ )?(?:on\ hold|held|could\ not\ be\ delivered|pending)
      | \busps\b | \bfedex\b | \bdhl\b
    """),
    rule("toll_scam", RuleKind.SCAM, "toll or fee scam", r"""
        \bunpaid\ toll\b
      | \btoll\ (?:balance|bill|notice)\b
      | \bto\ avoid\ an?\ \$?\d+\ (?:late\ )?fee\b
      | \breply\ (?-i:Y)\ then\b
      | \bactivate\ the\ link\b
    """),
    rule("listing_scam", RuleKind.SCAM, "listing scam", r"""
        \bgoogle\ business\b | \bverify\ (?:your\ )?ownership\b | \bmarked\ (?:permanently\ )?closed\b
    """),
    rule("document_phishing", RuleKind.SCAM, "document phishing", r"""
        \breview\ and\ sign\b | \bsent\ you\ a\ document\b | \bshared\ a\ (?:file|document)\ with\ you\b
    """),
    rule("overpayment_scam", RuleKind.SCAM, "overpayment scam", r"""
        \bpay(?:ing)?\ (?:\w+\ ){0,5}(?:upfront|up\ front|in\ advance)\b
      | \badvance\ payment\b
      | \bunable\ to\ (?:make|take)\ (?:phone\ )?calls\b
      | \boffshore\b
      | \bcashier'?s\ check\b | \bcertified\ check\b
    """),
    rule("urgent_document_phishing", RuleKind.SCAM, "urgent-document phishing", r"""
        \baction\ required\b
      | \bawaiting\ (?:your\ )?signature\b
      | \bsuspension\ of\ (?:claims|payments?|your)\b
      | \bfailure\ to\ (?:complete|comply|verify)\b
      | \brecredentialing\b
    """),
)
# A professional writing about someone in their care. Counted only from someone who signs as a
# professional (_PROFESSIONAL), or when two of these agree.
_REFERRAL = (
    rule("refers_someone", RuleKind.CATEGORY, "refers someone", r"""
        \b(?:i(?:'m|\ am|\ would\ like\ to|\ want\ to|'d\ like\ to) | we(?:'re|\ are|\ would\ like\ to|'d\ like\ to)
           | writing\ to | hoping\ to) \s+ (?:\w+\s+){0,2} refer(?:ring)?\b
    """),
    rule("refers_a_client", RuleKind.CATEGORY, "refers someone", r"""
        \brefer(?:ring|red)? \s+ (?:a|an|one\ of\ (?:my|our)|my|our|this|the) \s+ (?:\w+\s+)?
        (?:patient|client|student|parishioner|member|congregant|employee|couple|family|teen|mom|mother|father|veteran)\b
    """),
    rule("a_referral", RuleKind.CATEGORY, "a referral", r"""
        \breferral\ (?:for|of|regarding|request\ for|from)\b
      | \bnew\ referral\b
      | \breferral:\s
      | \b(?:accept|this\ is)\ (?:this\ |a\ )?referral\b
    """),
    rule("their_client", RuleKind.CATEGORY, "writes about their client", r"""
        \b(?:our|my)\ client\b .{0,200} \b(?:looking\ for|needs|would\ benefit|has\ been\ ordered|referred)\b
    """),
    rule("professional_writing", RuleKind.CATEGORY, "a professional writing about someone in their care", r"""
        \bi(?:'m|\ am)\ (?:a|an|the)\ (?:\w+\ )?
            (?:psychologist|therapist|counselor|physician|doctor|pediatrician|psychiatrist|social\ worker|case\ manager
               |pastor|chaplain|nurse|paralegal|attorney|promotora)\b
        .{0,300}
        \b(?:i\ see|i'm\ seeing|i\ work\ with|i've\ been\ seeing|who\ would\ like|would\ benefit|needs)\b
    """),
    rule("their_patient", RuleKind.CATEGORY, "writes about their patient", r"""
        \b(?:my|our|a)\ (?:patient|patients|parishioner|congregant|student|caseworker's\ client)\b .{0,120}
        \b(?:would\ benefit|needs|is\ looking|is\ interested|could\ use|recommended|asked\ me)\b
    """),
    rule("referral_form", RuleKind.CATEGORY, "names the client on a referral form", r"""
        ^\s*(?:patient|member(?:\ name)?|client(?:\ name)?|student|paciente|participant|referred\ (?:person|client))\s*:
    """, flags=re.I | re.M),
    rule("on_behalf_of_a_client", RuleKind.CATEGORY, "asks on behalf of a client", r"""
        \b(?:requesting|request)\ an\ appointment\ for\b
      | \bfor\ one\ of\ our\ (?:members|patients|clients|students|participants)\b
      | \bis\ referring\b
      | \breferir\ a\ mi\ paciente\b | \bmi\ paciente\b     # Spanish
    """),
    rule("helps_find_care", RuleKind.CATEGORY, "helps someone find care", r"""
        \b(?:asked|asking)\ (?:me|us)\ to\ help\ (?:them|him|her)\ find\b
      | \bhelp\ (?:them|him|her)\ find\ (?:a\ |an\ )?(?:\w+\ )?(?:counsel\w*|therap\w*)\b
    """),
    rule("discharge", RuleKind.CATEGORY, "a discharge from care", r"""
        \b(?:discharging|discharge|stepping\ down)\ (?:a\ |this\ |our\ )?(?:patient|client|participant)\b
      | \bdischarge\ planner\b
    """),
    rule("speaks_for_someone", RuleKind.CATEGORY, "speaks for someone in their care", r"""
        \bi\ (?:supervise|work\ with|am\ working\ with|counsel)\ (?:a|an)\ (?:\d+[- ]year[- ]old|young|teen|youth|student|client|patient)\b
      | \bi\ have\ a\ (?:young\ |new\ )?(?:couple|family|teen|student|parishioner|congregant|member|patient|client)\b
      | \bok\ if\ i\ (?:pass\ along|give\ (?:them|him|her))\ your\ (?:number|info)\b
      | \bwith\ the\ parents'?\ (?:written\ )?(?:consent|permission)\b
    """),
    rule("on_behalf_of_someone", RuleKind.CATEGORY, "asks on behalf of a client", r"""
        \bon\ behalf\ of\ (?:a|one\ of\ (?:our|my)|my|our)\ (?:client|patient|member|student|participant|resident)\b
      | \b(?:have|got)\ a\ (?:pt|patient|client)\b
      | \btake\ referrals\b
      | \bgive\ (?:him|her|them)\ your\ (?:number|info)\b
    """),
    rule("release_of_information", RuleKind.CATEGORY, "mentions a release of information", r"""
        \bsigned\ (?:a\ |the\ |our\ )?release\b
      | \brelease\ of\ information\b
      | \b(?-i:ROI)\b
    """),
    rule("family_permission", RuleKind.CATEGORY, "writes with the family's permission", r"""
        \bwith\ (?:his|her|their|a|the)\ (?:\w+'?s?\ )?(?:permission|consent)\b
      | \b(?:mom|dad|parents?|mother|father|guardian)\ said\ i\ could\ (?:reach\ out|contact\ you|write)\b
    """),
    rule("someone_in_their_care", RuleKind.CATEGORY, "writes about someone in their care", r"""
        \b(?:i'?m|i\ am)\ writing,?\ (?:\w+,?\ ){0,6}about\ (?:a|an|my|our)
            \ (?:\d+[- ]year[- ]old|\d+(?:st|nd|rd|th)[- ]grader|student|patient|client|young\ (?:person|man|woman)
               |member|parishioner|kid|teen|boy|girl)\b
      | \bi\ have\ an?\ (?:\w+\ ){0,3}(?:student|patient|client|parishioner|congregant)\b
    """),
)
# Someone who signs as a professional: credentials, roles, clinics (case matters: "Dr. K", "MD").
_PROFESSIONAL = rule("signs_as_professional", RuleKind.CATEGORY, "signs as a professional", r"""
    \b(?:
        M\.?D\.? | D\.?O\.? | NP | PA-C | FNP | PMHNP | LCSW | LICSW | LPC | LPCC | LMFT | LMHC | Psy\.?D\.? | Ph\.?D\.? | M\.?Ed\.? | RN
      | school\ counselor | case\ manager | care\ coordinator | pastor | chaplain | reverend | rev\. | pediatrician | physician
      | psychiatrist | nurse\ practitioner | social\ worker | EAP | promotora | attorney | paralegal | counseling\ center
      | Dr\.?\ [A-Z] | (?:counselor|therapist|nurse|coordinator|planner)\ at
      | Pediatrics | Clinic | Hospital | Medical | Program | Family\ Medicine | Medical\ Center
      | rabbi | imam | priest | clergy | Congregation | Pastor | probation\ officer | Juvenile\ Department
      | Rabbi | Chaplain | Reverend | Imam | Father\ [A-Z] | discharge\ planner | case\ worker | caseworker | I\ serve\ as
      | [Cc]l[ií]nica | [Dd]octora? | Dra?\. | [Pp]ediatra | [Mm][eé]dic[oa] | [Pp]romotora     # Spanish
    )\b
""", flags=0)
# A current client writing about their care here.
_EXISTING = (
    rule("change_appointment", RuleKind.CATEGORY, "asks to change an appointment", r"""
        \breschedul\w*
      | \bmove\ (?:my|our|the)\ (?:appointment|session)
      | \bswitch\ (?:my|our|the)?\ ?(?:session|appointment)
      | \bcancel(?:l?ing)?\ (?:my|our|the|today|tomorrow|this)
      | \bcancel\ (?:my\ |our\ |the\ )?(?:mon|tue|wed|thu|fri|sat|sun)\w*\b
      | \bneed\ to\ cancel\b
    """),
    rule("own_appointments", RuleKind.CATEGORY, "refers to their own appointments", r"""
        \b(?:my|our)\b [\w\s]{0,25} \b(?:appointment|session|appt)s?\b
    """),
    rule("running_late", RuleKind.CATEGORY, "running late", r"""
        \b(?:running|be|i'?m) \s+ (?:\w+\s+){0,3} (?:late|behind)\b
      | \bon\ my\ way\b
      | \bbe\ there\ (?:soon|in)\b
    """),
    rule("session_of_theirs", RuleKind.CATEGORY, "about a session of theirs", r"""
        \b(?:the|my|our|this|that)\ session\ on\b
      | \bsession\ on\ \d{1,2}/\d{1,2}\b
        # a payment for it
      | \b(?:card|payment)\ (?:was\ |got\ )?declined\b
      | \bcharged\ (?:me\ )?(?:twice|double|two\ times)\b
      | \b(?:copay|card|visa|payment)\ (?:\w+\ ){0,3}(?:twice|two\ times|double)\b
      | \b(?:went\ through|charged|billed)\ twice\b
      | \btwo\ \$?\d+\ charges\b
      | \bdouble[- ]charged\b
        # "my 3/14 session", "my 4pm with"
      | \bmy\ \d{1,2}/\d{1,2}\ (?:session|appt|appointment)\b
      | \bmy\ \d{1,2}(?::\d\d)?\s?(?:am|pm)?\ (?:with|appt|appointment|session)\b
      | \b(?:in|through|on|via)\ the\ portal\b
    """),
    rule("care_here", RuleKind.CATEGORY, "about their care here", r"""
        \b(?:could|can)\ (?:my|our|the|this|\w+'s) \s+ (?:\w+\s+)? (?:\d{1,2}(?::\d\d)?\s?(?:am|pm)?|session|appt|appointment) \s+
            be\ (?:on\ )?(?:video|virtual|telehealth|in\ person)\b
      | \b(?:keep|continue)\ seeing\ (?:you|[A-Z][a-z]+)\b
      | \bhas\ been\ seeing\ (?:Mr|Ms|Mrs|Dr)\.?\ [A-Z]\w*
      | \bwrite\ (?:a\ |me\ a\ )?(?:short\ )?letter\b
    """),
    rule("their_appointment", RuleKind.CATEGORY, "about their appointment", r"""
        \bcan\ we\ do\ (?:tomorrow|today|tonight|\w+day)(?:'s)?\ (?:session\ |appt\ |appointment\ )?(?:on\ |by\ |over\ )?
            (?:video|phone|zoom|in\ person)\b
      | \b\d{1,2}(?::\d\d)?\s?(?:am|pm)\ (?:w|w/|with)\ (?-i:[A-Z][a-z]+)\b     # "4pm with Dana"
    """),
    rule("current_client_spanish", RuleKind.CATEGORY, "a current client (Spanish)", r"""
        \bsoy\ (?:cliente|paciente)\ de\b
      | \bmis\ sesiones\b
      | \bmi\ pr[oó]xima\ cita\b
      | \bla\ cita\ del\b
      | \bpodemos\ (?:cambiar|mover|hacer|pasar)\ la\ cita\b
      | \bmi\ terapeuta\b
    """),
    rule("thanks_for_session", RuleKind.CATEGORY, "thanks their clinician for a session", r"""
        \bthank(?:s|\ you)\ for
        \ (?:today|tonight|this\ morning|yesterday|our\ session|the\ session|last\ (?:week|session|night))\b
    """),
    rule("move_appointment", RuleKind.CATEGORY, "asks to move their appointment", r"""
        \b(?:can|could)\ we\ (?:move|switch|change|push|bump|do)
        \ (?:my\ |our\ |the\ |tomorrow'?s?\ |today'?s?\ )?(?:\w+\ )?(?:\d{1,2}(?::\d\d)?\s?(?:am|pm)?\ )?
        to\ (?:mon|tue|wed|thu|fri|sat|sun|next|another|a\ different|later|earlier)\w*
    """),
    rule("appointment_they_have", RuleKind.CATEGORY, "about an appointment they have", r"""
        \bappointment\ reminder\b
      | \breminder:?\ (?:of\ )?(?:your\ )?appointment\b
      | \bmy\ regular\ (?:slot|time|session)\b
      | \bcould\ (?-i:[A-Z][a-z]+)\ see\ me\b
      | \b\w+'s\ (?:\w+\ )?(?:appt|appointment|session)\b
      | \bfor\ my\ \d{1,2}(?::\d\d|\s?[ap]m)\b
      | \bmiss\ (?:her|his|my)\ \d{1,2}(?::\d\d|\s?[ap]m)
      | \b(?:tonight|today|tomorrow|this\ week)'s\ (?:\w+\ )?session\b
      | \bmi\ cita\b
    """),
    rule("cannot_make_it", RuleKind.CATEGORY, "cannot make an appointment", r"""
        \bcan'?t\ make\ (?:it|\w+day|today|tomorrow|tonight)\b
      | \bswitch\ (?:tomorrow|today|\w+day)\ to\ (?:video|telehealth|in\ person)\b
      | \bno\ voy\ a\ poder\ ir\b
    """),
    rule("confirms_appointment", RuleKind.CATEGORY, "confirms an appointment", r"""
        \b(?:see|seeing)\ you\ (?:on|tomorrow|next|this|then|at|mon|tue|wed|thu|fri|sat|sun)\w*\b
      | \bconfirm(?:ed|ing)?\b .{0,40} \b(?:appointment|session|at\ \d|\d\ ?[ap]m|mon|tue|wed|thu|fri|sat|sun)
      | ^\s*(?:c|y|yes|confirm(?:ed)?)\s*[.!]?\s*$     # a reply to a reminder: the whole message
    """),
    rule("ongoing_relationship", RuleKind.CATEGORY, "an ongoing relationship", r"""
        \bmy\ (?:therapist|counselor|clinician)\ (?:here|at\ (?:your|harbor))\b
      | \bour\ (?:work|sessions)\ together\b
      | \b(?:last|previous|since\ our)\ session\b
      | \bas\ we\ discussed\b
      | \bhomework\b | \bthought\ record\b
    """),
    rule("own_bill", RuleKind.CATEGORY, "about their own bill", r"""
        \b(?:my|the|a|this)\ (?:\w+\ )?(?:balance|statement|bill|invoice|copay|superbill|receipt|eob)s?\b .{0,80}
            \b(?:session|sessions|last|march|april|may|june|july|paid|charged|charging|billed|no-show)\b
      | \bclient\ portal\b | \bpatient\ portal\b
      | \breceipts?\ for\ (?:his|her|my|our)\ (?:last\ )?(?:\w+\ )?sessions\b
    """),
    rule("continuing_sessions", RuleKind.CATEGORY, "about continuing sessions", r"""
        \b(?:pause|hold|continue|resume)\ (?:his|her|my|their|our)\ (?:sessions|therapy|slot|appointments?)\b
      | \bhold\ (?:his|her|my|their|our)\ (?:\w+\ )?(?:\d{1,2}:\d\d\ )?slot\b
      | \bpick\ back\ up\b
    """),
    rule("session_link", RuleKind.CATEGORY, "about a session of theirs", r"""
        \b(?:video|zoom|session)\ link\b .{0,40} \b(?:not\ working|isn't\ working|doesn't\ work|broken|won't)\b
      | \bswitch\ (?:to|over\ to)\ (?:video|telehealth|virtual)\b
    """),
    rule("continuing_therapy", RuleKind.CATEGORY, "about continuing therapy", r"""
        \b(?:pause|pausing|stop|stopping|end|ending|take\ a\ break\ from)\ (?:therapy|our\ sessions|sessions|counseling)\b
      | \bno\ more\ \w+days\b
    """),
    rule("insurance_update", RuleKind.CATEGORY, "updates their insurance", r"""
        \bmy\ (?:insurance|plan)\ (?:changed|is\ changing|switched)
      | \bnew\ insurance\ (?:card|plan)\b
    """),
)
# "who sees Marisol on Thursdays": a clinician named as someone's own (names are capitalised).
_SEES_CLINICIAN = rule("sees_clinician", RuleKind.CATEGORY, "names their clinician here", r"""
    \b(?:sees|is\ seeing|has\ been\ seeing|see|been\ seeing)\ (?:Dr\.?\ )?[A-Z][a-z]+\ (?:on|every|each|weekly|for)\b
""", flags=0)
# "Hi Priya," at the top: people who already have a clinician greet them by name; people asking
# for the first time greet the practice. (Vendors and referrers are told apart before this.)
_GREETS_SOMEONE = rule("greets_clinician", RuleKind.CATEGORY, "greets a clinician by name", r"""
    ^\s*(?i:hi|hello|hey|dear|good\ (?:morning|afternoon|evening)|hola)[ ,]+ (?:(?i:dr|mr|ms|mrs)\.?\ )?
    (?!(?:Provider|Practice|Team|All|There|Everyone|Staff|Friends|Folks|Sir|Madam|Doctor|Colleagues|Intake|Whoever|Again
         |Front|Office)\b)
    ([A-Z][a-z]+)\b     # the name
""", flags=0)
# A person asking for care for themselves or someone close: a vendor's pitch rarely does.
_ASKS_FOR_CARE = rule("asks_for_care", RuleKind.CATEGORY, "asks for care", r"""
    \bi(?:'m|\ am|'ve\ been)?\ (?:looking|searching|hoping|trying)\ (?:for|to\ find|to\ start|to\ get)\b
  | \bi\ (?:need|want|would\ like)\ (?:to\ (?:talk|see|start)|a\ therapist|a\ counselor|someone|help|therapy)
  | \bmy\ (?:anxiety|depression|grief|panic|trauma|ptsd|ocd|stress|burnout|mental\ health|drinking|adhd)\b
  | \b(?:i'?ve|i\ have)\ been\ (?:struggling|feeling|dealing|having)
  | \bdo\ you\ (?:take|accept)\ (?:my\ |\w+\ )?(?:insurance|aetna|cigna|medicare|medicaid|\w+)\b
  | \bmy\ (?:insurance|plan)\b
  | \bbusco\ (?:un|una)\ (?:terapeuta|psic[oó]log)
  | \bopenings?\b .{0,30} \b(?:me|myself)\b
  | \b(?:we\ are|we're|are)\ (?:looking|searching|hoping)\ for\ (?:a\ |an\ )?(?:[\w-]+\ ){0,2}(?:therapist|counse?lor|psychologist)\b
  | \bdo\ you\ have\ (?:any\ )?openings\b
""")


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
# Machine mail the model reads this surely as a person's inquiry, or as a crisis at its own
# threshold, goes to a human. (Of the 241 labelled and real messages with machine signs, none
# reaches either: the closest bounce and list mail read 0.84 inquiry, an autoreply 0.22 crisis.)
_PERSON_IN_MACHINE_MAIL = 0.9
_GUARD_AND_MODEL_DISAGREE = rule("guard_model_disagree", RuleKind.DISAGREEMENT,
                                 "the headers say machine mail but the model reads a person: for a human to check", r"""
    (?!)     # decided from the model's reading, not from words: a rule for its id, kind and reason
""")


def _person_in_machine_mail(reading: learned.Reading) -> Category | None:
    """The person's category the model reads in machine mail, when it is sure of one."""
    if reading.crisis >= reading.model.crisis_threshold:
        return Category.CRISIS
    if reading.probabilities[Category.NEW_INQUIRY] >= _PERSON_IN_MACHINE_MAIL:
        return Category.NEW_INQUIRY
    return None


def classify(message: Inbound, config: Config) -> Classification:
    """The category, facts, reasons and the model's evidence for one message (no I/O)."""
    reasons: list[str] = []
    signs = automatic_signs(message)
    reply_to = reply_address(message, config, reasons)
    # What looks like machine mail may be a relay: its headers and boilerplate are its own, and
    # judged without them, is anything machine left?
    looks_machine = bool(signs) or (reply_to is not None and is_no_reply(reply_to))
    relay = relayed(message, config.practice.own_addresses) if looks_machine else None
    if relay and not hard_automatic_signs(relay.message):
        message, signs, reply_to = relay.message, [], relay.address
        reasons = list(relay.reasons)
    text = message.reading
    if not signs and reply_to and is_no_reply(reply_to):
        signs = [f"the reply would go to a no-reply address ({reply_to.partition('@')[0]}@...)"]
    if signs:
        # Machine mail is never answered, but it can carry a person's words: a voicemail
        # transcript, a form a relay mangled. Risk in them still reaches a clinician at once.
        reading = learned.shipped().read(text, message.channel)
        if reading.crisis >= _CRISIS_IN_MACHINE_MAIL:
            return Classification(Category.CRISIS, Facts(), (*reasons, *signs, "machine mail: no reply, a clinician is alerted"),
                                  (reading.explain(Category.CRISIS),))
        person = _person_in_machine_mail(reading)
        if person:
            # The headers say machine, the model a person: neither is sure enough to decide
            # alone, so the message is marked for a human (Classification.unsure_if_person).
            return Classification(Category.AUTOMATED, Facts(), (*reasons, *signs, _GUARD_AND_MODEL_DISAGREE.reason),
                                  (reading.explain(person),), unsure_if_person=True)
        return Classification(Category.AUTOMATED, Facts(), tuple(reasons + signs))

    extra = config.classification
    category, why, evidence, apart_from_risk, reading = _category(text, message, extra, {w.lower() for w in config.practice.name.split()})
    if category == Category.SOLICITATION:
        return Classification(category, Facts(), tuple(reasons + why), evidence)
    prose = unwrap(text)  # ages and services are read in whole sentences
    on = sent_on(message)
    ages = all_ages(prose, on)
    facts = Facts(
        insurance=insurance(text, config, reasons),
        services=services(prose, category, reasons, config.practice.name, apart_from_risk, ages, reading),
        modality=modality(text),
        reply_to=reply_to,
        language=language(text),
        age=settled_age(ages, prose, on, message.channel, reading.model),
        clinician=named_clinician(text, config.practice.clinicians),
        name=first_name(message, relayed=relay is not None or form_address(message, config) is not None),
        zone=zone(text),
    )
    return Classification(category, facts, tuple(reasons + why), evidence)


@dataclass(frozen=True)
class _Findings:
    """What the hand-written rules see for each category a person or vendor can be in."""

    reasons: dict[Category, list[str]]
    named: frozenset[Category]  # the practice's own words name these: not for the model to overrule
    selling: bool  # a scam, or plain selling: not for the model to overrule either


class _Verdict(NamedTuple):
    category: Category
    why: list[str]
    evidence: tuple[str, ...]
    apart_from_risk: Category  # what a crisis would be without its risk: a current client's, an inquiry
    reading: learned.Reading  # the model's, for the facts it reads too


def _category(text: str, message: Inbound, extra: ExtraWords, practice_words: set[str]) -> _Verdict:
    """Rules and the learned model each read the message; risk from either side wins, the model
    settles the rest (it generalises better: scripts/train-model), and the rules that agree with
    it, or the practice's own words, say why. The model's own reading comes back apart, as
    evidence: it quotes the person's words."""
    model = learned.shipped()
    reading = model.read(text, message.channel)
    risk = read_risk(text, extra.crisis)
    findings = _rule_findings(text, message, extra, practice_words)
    p_crisis = reading.crisis
    if risk.present and not risk.only_mentioned:
        needed = 0.0
    elif risk.present:
        needed = _CRISIS_FLOOR_FOR_A_TOPIC
    elif (risk.discounted or findings.selling) and not risk.laughed_off:  # laughter can mask the real thing
        needed = max(model.crisis_threshold, _CRISIS_FLOOR_AGAINST_RULES)
    else:
        needed = model.crisis_threshold
    chosen = (findings.named | {Category.SOLICITATION}) if findings.selling else findings.named
    otherwise = next((c for c in (Category.SOLICITATION, Category.PROFESSIONAL_REFERRAL, Category.EXISTING_CLIENT) if c in chosen),
                     Category(reading.best_except_crisis()))
    if p_crisis >= needed or risk.named_by_practice:
        evidence = (reading.explain(Category.CRISIS),) if p_crisis >= model.crisis_threshold else ()
        return _Verdict(Category.CRISIS, risk.reasons, evidence, otherwise, reading)
    if chosen:
        return _Verdict(otherwise, findings.reasons[otherwise], (), otherwise, reading)
    notes = [f"risk mentioned but not present: {reason}" for reason in reasons(risk.discounted)]
    notes += [f"risk mentioned with laughter: {reason}" for reason in reasons(risk.laughed_off)]
    return _Verdict(otherwise, findings.reasons.get(otherwise, []) + notes, (reading.explain(otherwise),), otherwise, reading)


def _rule_findings(text: str, message: Inbound, extra: ExtraWords, practice_words: set[str]) -> _Findings:
    """What the hand-written rules see for each category a person or vendor can be in."""
    scams = matching(_SCAM, text)
    pitch = [*scams, *matching(_SOLICITATION, text), *_words(extra.solicitation, text, "practice's solicitation word")]
    referral = [*matching(_REFERRAL, text), *_words(extra.professional_referral, text, "practice's referral word")]
    if not (_PROFESSIONAL.pattern.search(message.text) or len(reasons(referral)) >= 2 or _names(referral)):
        referral = []
    existing = [*matching(_EXISTING, text), *_words(extra.existing_client, text, "practice's existing-client word"),
                *matching((_SEES_CLINICIAN,), text)]
    greeted = _GREETS_SOMEONE.pattern.search((message.fresh_text or message.text)[:200])
    greeting = [f"{_GREETS_SOMEONE.reason} ({greeted.group(1)})"] if greeted and greeted.group(1).lower() not in practice_words else []
    found = {Category.SOLICITATION: pitch, Category.PROFESSIONAL_REFERRAL: referral, Category.EXISTING_CLIENT: existing,
             Category.NEW_INQUIRY: matching((_ASKS_FOR_CARE,), text)}
    shown = {category: reasons(rules) for category, rules in found.items()}
    shown[Category.EXISTING_CLIENT] += greeting
    selling = bool(scams) or len(shown[Category.SOLICITATION]) >= 2 or bool(pitch and not found[Category.NEW_INQUIRY])
    return _Findings(shown, frozenset(category for category, rules in found.items() if _names(rules)), selling)


def _names(found: Iterable[Rule]) -> bool:
    """The practice's own words are among ``found``."""
    return any(each.kind is RuleKind.PRACTICE_WORD for each in found)


def _words(words: Iterable[str], text: str, label: str) -> list[Rule]:
    return matching((word_rule(w, f'{label} "{w}"') for w in words), text)
