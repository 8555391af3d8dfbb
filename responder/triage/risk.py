"""Risk in a message: suicide, self-harm, harm to others, violence happening now.

Rules over sentences, each reporting why. A mention is discounted only when the sentence clearly
puts it in the past or someone else's story, negates it ("not suicidal", "denies ideation"), or
marks it as a figure of speech; anything else that reads as risk counts. The crisis path errs
toward a human: a clinician reading a calm message costs little.

To add a crisis phrase, add an alternative to the rule in ``_CRISIS`` that says the same thing,
or a new rule there (an id, ``RuleKind.RISK``, the reason a clinician reads, the pattern); a
practice adds its own under ``classification.crisis``. tests/test_rules_risk.py has a row per
rule: add one beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .rules import SENTENCE, Rule, RuleKind, candidates, reasons, rule, word_rule
from .text import unwrap

# Parts of the patterns below, written for re.VERBOSE like them.
# The means of dying or of hurting someone.
_MEANS = r"""(?:
    pills? | tablets | meds | medications? | pastillas | pistola | cuchillo | puente
  | guns? | handguns? | pistols? | revolvers? | rifles? | shotguns? | firearms?
  | rope | noose | knife | razors? | blades? | lighter
  | bridge | overpass | viewpoint | cliff | ledge | balcony | railing | roof | rooftop | tracks | parking\ garage
)"""
# Sitting with them.
_DWELL = r"""(?:
    keep\ (?:thinking|picturing|imagining|looking) | thinking\ about | picturing | imagining | sit(?:ting)?\ with
  | take\ (?:it|them)\ out | looking\ (?:at|up) | stood\ (?:at|on)
  | counted | counting | saving | saved | stockpil\w* | hid(?:ing|den)? | enough
  | serían\ suficientes | conté
)"""
# Someone who could be harmed.
_PERSON = r"""(?:
    him | her | them | someone | somebody | people
  | my\ (?:\w+\ )?(?:ex|husband|wife|partner|boss|coworker|co-worker|neighbor|son|daughter|baby|kids?|mom|dad|brother|sister|roommate|family)
  | the\ (?:baby|kids?) | a\ coworker
)"""

# The order is the order reasons are shown in: keep a new rule's place at the end.
_CRISIS = (
    rule("ending_a_life", RuleKind.RISK, "talks of ending a life", r"""
        \b(?:kill|killing|end|ending|take|taking) \s+
        (?: my\ ?self | herself | himself | themselves
          | my\ (?:own\ )?life | (?:his|her|their)\ (?:own\ )?life
          | it\ all
        )\b
    """),
    rule("suicide_named", RuleKind.RISK_TOPIC, "mentions suicide", r"""
        (?<!non-)(?<!non\ )\bsuicid(?:e|al)\b
      | \bsuicidio\b | \bsuicidarme\b | \bsuicidar(?:se|me)\b
    """),
    rule("ending_a_life_slang", RuleKind.RISK, "talks of ending a life (slang)", r"""
        \bkms\b
      | \bunalive\ (?:my\ ?self|me)\b
      | \boff\ (?:my\ ?self)\b
      | \bkill\ me\ now\b(?!,?\ (?:lol|haha))     # "kill me now lol" is a joke
    """),
    rule("wishes_to_die", RuleKind.RISK, "wishes to die", r"""
        \b(?:want|wants|wanted|wanna|wish|wishes|wishing|ready|hoping|hope) \s+ (?:to\s+)?
        (?:die | be\ dead | not\ (?:to\ )?wake\ up | disappear\ forever | sleep\ forever | not\ be\ here)\b
    """),
    rule("hopes_not_to_wake", RuleKind.RISK, "hopes not to wake up", r"""
        \b(?:go(?:ing)?\ to\ (?:bed|sleep)|fall\ asleep) \s+ hoping \s+ (?:i|to) \s+
            (?:won'?t|don'?t|do\ not|will\ not|never) \s+ wake\b
      | \bhop(?:e|es|ing) \s+ (?:\w+\s+){0,3} (?:won'?t|don'?t|do\ not|will\ not|never|would\s*n[o']?t) \s+ wake\b
    """),
    rule("indifferent_to_living", RuleKind.RISK, "indifferent to living", r"""
        \b(?:do\s*n[o']?t|does\s*n[o']?t|no\ longer)\ (?:much\ |really\ |even\ )?care\ (?:whether|if)
            \ (?:i'?m|i\ am|i\ live|i\ wake|i'?m\ (?:here|alive))\b
      | \bdisappointed\b .{0,40} \bwhen\ i\ (?:do|wake)\b
    """),
    rule("wishes_dead_or_gone", RuleKind.RISK, "wishes to be dead or gone", r"""
        \bwish(?:es)? \s+ (?:i|she|he|they) \s+ (?:was|were|had)(?:n'?t|\s+not|\s+never)? \s+
        (?:dead|alive|here|born|around|been\ born)\b
    """),
    rule("not_want_to_be_alive", RuleKind.RISK, "does not want to be alive", r"""
        \b(?:do\s*n[o']?t|did\s*n[o']?t|does\s*n[o']?t|not) \s+ want \s+ to \s+
        (?:be\s+(?:here|alive|around) | live | exist | wake\ up | go\ on | be\ on\ this\ earth)\b
    """),
    rule("will_not_be_around", RuleKind.RISK, "says they will not be around", r"""
        \b(?:won'?t|will\ not|wouldn'?t|not\ going\ to|not\ gonna|do\s*n[o']?t\ think\ i'?ll|might\ not) \s+
        be \s+ (?:around|here|alive)\b
    """),
    rule("no_point_going_on", RuleKind.RISK, "sees no point in going on", r"""
        \b(?:no|any|much|the) \s+ (?:reason|point|sense) \s+ (?:to|in) \s+
            (?:live|living|keep\ going|going\ on|go\ on|be\ here|stretching\ things\ out|trying)\b
      | \bwhat'?s\ the\ point\b
      | \b(?:do\s*n[o']?t|can'?t) \s+ see \s+ (?:the|any|much) \s+ point\b
      | \bno\ point\ (?:anymore|in\ anything)\b
    """),
    rule("cannot_go_on", RuleKind.RISK, "cannot go on", r"""
        \bcan'?t \s+ (?:do\ this|go\ on|keep\ going|take\ (?:it|this)|keep\ doing\ this) \s+ (?:any\ ?more|much\ longer)\b
      | \bya\ no\ (?:aguanto|puedo\ m[aá]s)\b
    """),
    rule("better_off_without_me", RuleKind.RISK, "believes others better off without them", r"""
        \bbetter\s+off\s+(?:without\s+me|if\s+i\s+(?:was|were)(?:n'?t|\s+not|\s+gone|\s+dead))
      | \bbetter\ off\ dead\b
    """),
    rule("peace_with_dying", RuleKind.RISK, "has made peace with dying", r"""
        \bmade\ (?:my\ )?peace\ with\ (?:it|everything|things|dying)\b
    """),
    rule("has_a_plan", RuleKind.RISK, "has a plan", r"""
        \b(?:has|have|had|made|making|got) \s+ a \s+ plan \s+ (?:to|for)\b
      | \bhow\ i\ (?:would|will|'d)\ do\ it\b
    """),
    rule("goodbye_messages", RuleKind.RISK, "goodbye messages", r"""
        \b(?:goodbye|good-bye|farewell) \s+ (?:note|letter|message|post|text|video|snap)s?\b
      | \bsaying \s+ (?:bye|goodbye)\b
      | \b(?:sent|texted|posted) \s+ (?:me\s+)?(?:a\s+)? (?:snap|text|message|post) \s+ (?:saying|that\ said) \s+ (?:bye|goodbye)\b
    """),
    rule("farewell_letters", RuleKind.RISK, "farewell letters", r"""
        \b(?:wrote|writing|written|finished|left) \s+ (?:the\s+)?(?:\w+\s+)? (?:letters?|notes?)\b .{0,40}
            \b(?:one\ for\ everyone | to\ everyone | for\ everyone
               | to\ (?:my|her|his)\ (?:kids|family|mom|dad|brother|sister|little\ brother|little\ sister))\b
      | \bletters?\ (?:to|for)\ (?:my|her|his)\ (?:kids|family|children)\b
      | \bnote\ to\ (?:her|his|my)\ (?:little\ )?(?:brother|sister|mom|dad|kids|family)\b
    """),
    rule("giving_things_away", RuleKind.RISK, "giving possessions away", r"""
        \bgiv(?:e|ing|en) \s+ (?:away\s+)? (?:my|all\ my|her|his|their) \s+
        (?:things|stuff|belongings|possessions|pets?)(?:\s+away)?\b
    """),
    rule("gathering_pills", RuleKind.RISK, "gathering pills", r"""
        \b(?:sav(?:e|ed|ing)|stockpil\w+|hoard\w*|count(?:ed|ing)?(?:\s+out)?|collect\w*) \s+
            (?:up\s+)? (?:my\s+|the\s+|all\s+(?:my\s+|the\s+)?|\w+'?s?\s+)? (?:sleeping\s+)?
            (?:pills|meds|medications?|tablets)\b
      | \bconté\ las\ pastillas\b
    """),
    rule("pills_ready", RuleKind.RISK, "gathering pills", r"""
        \b(?:pills|meds|tablets) \s+ (?:are\s+)? (?:counted|saved|ready|lined\ up)\b
      | \b(?:pills|pastillas)\b .{0,60} \b(?:would\ be\ enough|serían\ suficientes|be\ enough)\b
    """),
    rule("overdose", RuleKind.RISK, "has taken an overdose", r"""
        \b(?:took|take|taken|swallowed|downed) \s+
            (?:a\ (?:bunch|handful|lot|bottle)\ of | all | too\ many | the\ whole | a\ whole | some\ of | \d+) \s+
            (?:of\s+)? (?:\w+\s+){0,2} (?:pills|meds|tablets|bottle|medication)
      | \b(?:took|taken|had)\ an\ overdose\b
      | \boverdosed\b
      | \boverdosing\b
    """),
    rule("stopped_medication", RuleKind.RISK, "stopped life-saving medication", r"""
        \bstopped\ taking\ (?:my\ |her\ |his\ )?
        (?:heart|blood\ pressure|insulin|diabetes|seizure|heart-?\w+)? \s*
        (?:pills|meds|medications?|insulin)\b
    """),
    rule("self_harm", RuleKind.RISK, "self-harm", r"""
        \b(?:hurt|hurting|harm|harming|cut|cutting|burn|burning) \s+ (?:my\ ?self|herself|himself|themselves)\b
      | \bhacerme\s+da[ñn]o\b
    """),
    rule("self_harm_named", RuleKind.RISK_TOPIC, "mentions self-harm", r"""
        \bself[- ]?harm(?:ing)?\b
    """),
    rule("self_harm_urge", RuleKind.RISK, "self-harm", r"""
        \bcut(?:ting)? \s+ (?:deeper|again)\b
      | \burges? \s+ to \s+ (?:cut|self[- ]?harm|hurt\ myself|burn\ myself)\b
    """),
    rule("rather_not_be_alive", RuleKind.RISK, "would rather not be alive", r"""
        \b(?:'d|would) \s+ rather \s+ (?:never\s+|not\s+)? (?:wake\ up|be\ dead|be\ here|exist|live)\b
    """),
    rule("dangerous_place", RuleKind.RISK, "at a dangerous place", r"""
        \b(?:at|on|near|top\ of|edge\ of|from) \s+ the \s+ (?:top\ of\ the\s+)?
        (?:bridge|edge|tracks|roof|rooftop|ledge|overpass|parking\ garage|garage)\b
    """),
    rule("dwells_on_means", RuleKind.RISK, "dwells on a means of dying", r"""
        \b""" + _DWELL + r"""\b .{0,60} \b""" + _MEANS + r"""\b
      | \b""" + _MEANS + r"""\b .{0,60} \b""" + _DWELL + r"""\b
    """),
    rule("thoughts_of_harming", RuleKind.RISK, "thoughts of harming someone", r"""
        \b(?:thoughts?|urges?|images?|thinking|think|thought|picturing|imagining|dreams?) \s+ (?:of|about\s+)?
        (?:hurting|harming|killing|drowning|smothering|stabbing|shooting|strangling)\b
    """),
    rule("may_harm_someone", RuleKind.RISK, "may harm someone", r"""
        \b(?:want | wanted | going | gonna | afraid\ i(?:'ll|\ will|\ might) | scared\ i(?:'ll|\ will|\ might)
           | could | might | urge\ to) \s+
        (?:to\s+)? (?:hurt|harm|kill|stab|shoot|strangle|snap\ and\ hurt) \s+ """ + _PERSON + r"""\b
    """),
    rule("violence_against_them", RuleKind.RISK, "violence against them", r"""
        \b(?:hits?|hitting|beats?|beating|beat|chok(?:es|ed|ing)|punch(?:es|ed|ing)|shov(?:es|ed|ing)
           |kick(?:s|ed|ing)|slap(?:s|ped|ping)|threw|throws|strangl\w+) \s+
            (?:me|us|my\ (?:mom|kids?|son|daughter|baby|sister|brother)|the\ kids)\b
            (?!\s+(?:out|off|up|around|to\ the\ point|away))     # "beat me to the point", "kicks me out"
      | \bpush(?:es|ed|ing) \s+ (?:me|us|her|him) \s+ (?:down|into|against|over|off|to\ the\ (?:ground|floor))\b
    """),
    rule("violence_happening", RuleKind.RISK, "violence happening", r"""
        \b(?:is|'s|was|keeps) \s+ (?:hitting|beating|choking|attacking|threatening)\b
      | \b(?:he|she|they) \s+ (?:is|'s|are) \s+ hurting \s+ (?:me|us|my|the)\b
      | \bme \s+ (?:est[aá]\s+)? (?:pegando|pega|golpea|golpeando|amenaza)\b
      | \bme\ (?:quiere|va\ a)\ matar\b
    """),
    rule("threatened", RuleKind.RISK, "is being threatened", r"""
        \b(?:said|says|threatened|swore) \s+ (?:that\s+)? (?:i|i'll|i\ will|we|we'll) \s+ (?:will\s+|would\s+)?
            (?:be\ sorry|regret\ it|pay\ for\ (?:it|this))\b
      | \bthreaten(?:ed|s|ing)\ to\ kill\b
      | \b(?:going|gonna)\ to\ kill\ (?:me|us)\b
    """),
    rule("unsure_want_to_live", RuleKind.RISK, "unsure they want to live", r"""
        \b(?:not\ sure|do\s*n[o']?t\ know\ if|unsure\ (?:if|whether)) \s+ i \s+ (?:still\s+)? (?:want|wanna) \s+ to \s+
        (?:be\ alive|live|be\ here|keep\ going|go\ on)\b
    """),
    rule("wants_to_die_spanish", RuleKind.RISK, "expresses wanting to die (Spanish)", r"""
        \b(?:ya\s+)? no \s+ (?:quiero|quiere|queremos) \s+ (?:vivir|seguir|estar\s+(?:aqu[ií]|viv[oa]))\b
      | \bquiere\s+morir(?:se)?\b
      | \bpastillas\b .{0,30} \bescondid[oa]s?\b
      | \bquitarme\s+la\s+vida\b
      | \bmatarme\b
      | \bquiero\s+morir(?:me)?\b
      | \bno\ vale\ la\ pena\ (?:vivir|seguir)\b
    """),
    rule("how_to_die", RuleKind.RISK, "thinks about how to die", r"""
        \bdriv(?:e|ing)\ (?:off|into)\ (?:the|a)\ (?:road|bridge|wall|tree|river|cliff|lake)\b
      | \bhow\ many\ (?:of\ (?:my|the)\ )?(?:\w+\ )?(?:pills|tablets)\b
      | \blooking\ up\ (?:how|ways|the\ same\ things)\b
    """),
    rule("wishes_not_woken", RuleKind.RISK, "wishes not to have woken", r"""
        \bwish(?:es)? \s+ (?:i|she|he) \s+ (?:just\s+)?
        (?:had\s*n[o']?t|had\ not|did\s*n[o']?t|would\s*n[o']?t|never) \s+ (?:woken|wake|woke)\b
    """),
    rule("affairs_in_order", RuleKind.RISK, "putting affairs in order", r"""
        \b(?:written|wrote|left|put|made|finished) \s+ (?:\w+\s+){0,3} (?:will|passwords|instructions|arrangements)\b
      | \beverything\ (?:written\ )?down\ for\ (?:my|her|his)\b
      | \b(?:it'?s|this\ is)\ my\ (?:choice|decision)\b
      | \baffairs\ in\ order\b
    """),
    rule("firearm_named", RuleKind.RISK_TOPIC, "a firearm is at hand", r"""
        \b(?:guns?|handguns?|pistols?|revolvers?|rifles?|shotguns?|firearms?)\b
    """),
    rule("means_shown", RuleKind.RISK, "a means of self-harm shown or held", r"""
        \b(?:razors?|blades?|noose)\b .{0,80} \b(?:sorry|love\ you|bye|photo|picture|pic|sent|arm|wrist|tonight|again)\b
      | \b(?:photo|picture|pic)\ of\ (?:a\ |her\ |his\ |my\ )?(?:razor|blade|pills|gun|noose|rope)\b
    """),
    rule("car_in_garage", RuleKind.RISK, "sits with a running car in a closed garage", r"""
        \b(?:car|engine)\ (?:running|on)\b .{0,60} \bgarage\b
      | \bgarage\b .{0,60} \b(?:car|engine)\ (?:running|on)\b
      | \bcarbon\ monoxide\b
    """),
    rule("high_place", RuleKind.RISK, "at or dwelling on a high place", r"""
        # stopping or standing at one
        \b(?:slow(?:s|ed)?\ down|stop(?:s|ped)?|stood|stand(?:ing)?|parked|sit(?:ting)?|sat|wait(?:ed|ing)?|look(?:ed|ing)?\ down) \s+
            (?:\w+\s+){0,4} (?:at|on|near|by|over|in) \s+ (?:the\s+)? (?:top\ of\ (?:the\ )?)? (?:[\w'-]+\s+){0,3}
            (?:bridge|overpass|viewpoint|cliff|ledge|balcony|roof|rooftop|edge|tracks)\b
        # going past one, and lingering
      | \b(?:drive|drives|drove|driven|driving|walk(?:ed|ing)?) \s+ (?:\w+\s+){0,3} (?:over|past|to|across) \s+
            (?:the\s+)? (?:[\w'-]+\s+){0,3} (?:bridge|overpass|viewpoint|cliff|ledge|tracks)\b .{0,80}
            \b(?:on\ purpose|a\ few\ times|again\ and\ again|slow(?:ed)?\ down|stop(?:ped)?|at\ the\ top|sat|parked
               |for\ an\ hour|looked\ down)\b
      | \b(?:high\ above|over\ the\ railing|off\ (?:the|our|a)\ balcony|off\ (?:the|a)\ (?:bridge|roof|cliff|overpass))\b
    """),
    rule("self_harm_body", RuleKind.RISK, "self-harm", r"""
        \b(?:burn(?:ed|t|ing)?|cut|cutting|scratch(?:ed|ing)?|carv(?:ed|ing)) \s+ (?:my|her|his) \s+
        (?:arms?|wrists?|legs?|thighs?|skin|stomach)\b
    """),
    rule("farewell_words", RuleKind.RISK, "farewell words", r"""
        \b(?:sorry\ for\ everything
           | you\ deserve\ better
           | tell\ (?:the\ (?:girls|boys|kids)|my\ (?:kids|mom|dad|family)|\w+)\ (?:i|that\ i)\ love\ (?:them|her|him|you)
           | sorry,?\ love\ you
           | take\ care\ of\ (?:the\ kids|my\ (?:dog|cat|kids))\ for\ me
        )\b
    """),
    rule("intrusive_thoughts", RuleKind.RISK, "intrusive thoughts of harming someone", r"""
        \b(?:pictures?|images?|thoughts?|visions?|flashes|flashbacks?|urges?)\ (?:in\ my\ head\ )?(?:of|about|to)\ (?:\w+\ ){0,2}
            (?:dropping|drowning|hurting|harming|shaking|shake|smothering|killing|hitting|hit|hurt|drop)\b
      | \b(?:did\s*n[o']?t|do\s*n[o']?t|can'?t|could\s*n[o']?t)\ trust\ (?:what\ )?(?:my\ hands|myself|my\ temper)\b
      | \bplaying\ it\ out\b .{0,80} \b(?:to\ (?:him|her|them)|detailed)\b
      | \bwhat\ i'?d\ do\ to\ (?:him|her|them)\b
      | \b(?:something|it)\ i\ might\ (?:actually\ )?do\b
    """),
    rule("threatened_to_harm", RuleKind.RISK, "is being threatened", r"""
        \b(?:going\ to|gonna|will)\ make\ (?:her|him|me|us|them)\ (?:sorry|pay)\b
      | \bput\ (?:his|her|a)\ (?:gun|knife)\b
      | \b(?:going\ to|gonna|will|would|wants?\ to|threatened\ to|threatening\ to)\ (?:kill|stab|shoot|hurt|beat|strangle)
            \ (?:all\ of\ |both\ of\ |every\ one\ of\ )?(?:us|me|her|him|them|everyone|my\ \w+|his\ \w+|her\ \w+)\b
    """),
    rule("holds_weapon", RuleKind.RISK, "someone holds a weapon", r"""
        \b(?:has|had|with|holding|grabbed|got|waving)\ (?:a\ |his\ |her\ |the\ )?(?:\w+\ )?
        (?:knife|knives|gun|weapon|bat|machete|hammer)\b
    """),
    rule("afraid_of_what_they_might_do", RuleKind.RISK, "afraid of what they might do", r"""
        \b(?:before\ i\ do\ something(?:\s+(?:stupid|bad|i(?:'ll|\ will)?\ regret))?
           | what\ i'?d\ do\ (?:to|if)\b
           | (?:scared|afraid|frightened|terrified)\ of\ what\ (?:i|i'?ll|i\ might|i\ could|he|she)(?:'ll|\ will|\ might|\ could)?\ do
        )\b
      | \brun\ (?:him|her|them)\ off\ the\ road\b
      | \b(?:put|held|pressed)\ (?:the\ |a\ )?pillow\ over\ (?:her|his|their|the\ baby'?s)\ face\b
    """),
    rule("giving_up", RuleKind.RISK, "giving up", r"""
        \b(?:done|tired\ of|can'?t\ keep)\ fighting\b
      | \bwon'?t\ be\ needing\ (?:it|them|my\ \w+)(?:\ anymore)?\b
      | \bgive\ my\ (?:\w+\ )?(?:slot|spot|appointment)\ (?:away|to\ someone\ else)\b
    """),
    rule("hiding_from_danger", RuleKind.RISK, "hiding from danger now", r"""
        \b(?:locked|hiding|hid|barricaded)\ (?:me\ |us\ |myself\ |herself\ |himself\ )?
            (?:and\ (?:my\ |her\ |his\ )?(?:\w+\ ){0,2})? (?:\w+\ ){0,3}
            in\ (?:the|a|my|her|his|our)\ (?:bathroom|closet|room|bedroom|car|basement)\b
      | \b(?:please|someone|can\ (?:you|someone)|should\ i) \s+ (?:\w+\s+){0,2} call\ (?:911|the\ police|an\ ambulance)\b
    """),
    rule("farewell_spanish", RuleKind.RISK, "farewell or means at hand (Spanish)", r"""
        \bme\ desped[ií]\ de\b
      | \bdespedirme\ de\b
      | \bperd[oó]n\ por\ todo\b
      | \b(?:tengo|aqu[ií]\ tengo|tengo\ aqu[ií]) \s+ (?:\w+\s+){0,2} (?:las\ |unas\ |mis\ )? (?:pastillas|pistola|arma|cuchillo)\b
      | \bcuiden\ a\ (?:mis|mi)\b
    """),
    rule("farewell_sorry", RuleKind.RISK, "farewell words", r"""
        \bsorry\b .{0,30} \bfor\ everything\b
      | \bnone\ of\ this\ is\ (?:on|your|her|his)\b
      | \b(?:it'?s|is)\ not\ (?:your|her|his)\ fault\b
      | \bthank(?:s|\ you)\ for\ trying\b
    """),
    rule("old_state_back", RuleKind.RISK, "the old state is back", r"""
        \b(?:feel|feels|feeling) \s+ (?:exactly\s+|just\s+)? (?:like|the\ way) \s+ (?:i|it) \s+ did \s+
            (?:then|before|back\ then|that\ (?:time|spring|summer|fall|autumn|winter|year|night))\b
      | \bcountdown\b
    """),
    rule("state_before_attempt", RuleKind.RISK, "the state before an attempt is back", r"""
        \bexactly\ like\ (?:the\ (?:months|weeks|days|time)\ )?before\ (?:it|i)\ (?:happened|did\ it|tried)\b
      | \bcount(?:ing|ed)? \s+ (?:what'?s\ in\s+)? (?:the\s+|my\s+)? medicine\ cabinet\b
    """),
    rule("deadline", RuleKind.RISK, "has set a deadline", r"""
        \bif\ (?:things|it|nothing|life)
            \ (?:are\s*n[o']?t|is\s*n[o']?t|does\s*n[o']?t\ get|do\s*n[o']?t\ get|don'?t\ get|isn'?t)\ (?:any\ )?better\ by\b
      | \bthat'?s\ my\ answer\b
    """),
    rule("high_place_spanish", RuleKind.RISK, "at a high place or cannot hold on (Spanish)", r"""
        \b(?:fui|estoy|estuve|voy) \s+ (?:otra\ vez\s+)? (?:al|en\ el) \s+ puente\b
      | \bno\ me\ avent[eé]\b
      | \bno\ s[eé]\ si\ (?:\w+\ )?(?:voy\ a\ poder|puedo)\ aguantar\b
      | \bpens[aá]ndolo\b
    """),
    rule("cannot_stop_urge", RuleKind.RISK, "cannot stop the urge", r"""
        \bcan'?t\ stop\ (?:wanting|thinking\ about|trying)\ to\ (?:do\ (?:it|more)|hurt|cut|burn|die)\b
      | \bwanting\ to\ do\ more\b
    """),
    rule("old_thoughts_back", RuleKind.RISK, "the old thoughts are back", r"""
        \b(?:same|those|the)\ (?:dark\ )?thoughts\b .{0,60} \b(?:back|again|louder|returning|stronger)\b
      | \b(?:the|those|these|my|dark|old|bad|suicidal)\ thoughts?\ (?:ha(?:s|ve)\ |are\ |is\ )?(?:come|coming)\ back\b
    """),
)

# What makes a mention of risk about the past or about someone else's story, not about now.
_PAST = rule("past_or_someone_elses", RuleKind.DISCOUNT, "in the past or someone else's story", r"""
    \b(?:
        # when
        years?\ ago | months\ ago
      | at\ (?:age\ )?\d{1,2}\b(?!:|\ ?(?:am|pm|tonight|today))              # "at 15", not "at 10pm"
      | last\ (?:year|spring|summer|fall|autumn|winter)
      | (?:in|since)\ (?:(?:january|february|march|april|may|june|july|august|september|october|november|december)\ )?(?:19|20)\d\d
      | when\ (?:i|he|she)\ was | used\ to | history\ of | in\ the\ past | had\ a\ period\ of | back\ in
        # a death or a loss
      | died\ by | lost\ (?:\w+\ ){0,2}(?:to|by) | passed\ away | anniversary
        # talk about risk, not risk: work, campaigns, grief
      | survivors? | prevention | awareness | training | since\ then | suicide[- ]loss | loss\ to\ suicide | bereave\w*
      | people\ (?:tell|told|say)\ me | callers | we\ couldn'?t\ (?:save|bring\ back) | in\ the\ (?:er|icu|hospital)\ (?:we|i)\ see
        # someone else's
      | committed\ suicide | found\ dead | was\ found | lost\ (?:\w+\ ){0,2}(?:to|by)\ suicide
      | (?:his|her|their|\w+'s)\ suicide\b(?!\ attempt)
      | (?:a\ |one\ |each\ )?(?:person|people|callers?|clients?|patients?|someone)\ who\ (?:is|are|was|were)
    )\b
""")
# Recovery said outright: "steady for well over a year now" keeps a past mention in the past.
_RECOVERED = rule("recovered", RuleKind.CONTEXT, "recovery said outright", r"""
    \b(?:been|is|are|has\ been|have\ been|stayed|staying) \s+ (?:\w+\s+)?
        (?:steady|stable|safe|sober|well|doing\ (?:well|better|great|ok|okay|fine))\b
  | \b(?:long|well)\ (?:since\ )?(?:passed|resolved|behind\ (?:him|her|me|them))\b
""")
# What brings a past mention back to now.
_NOW = rule("now", RuleKind.CONTEXT, "about now", r"""
    \b(?:now | tonight | today | again | lately | these\ days | this\ week | right\ now | currently | anymore | keep | started
       | come\ back | back(?!\s+(?:in|then|when)) | last\ night | yesterday | this\ morning)\b
""")
# A negation that governs the risk itself ("not suicidal", "no thoughts of hurting myself",
# "denies suicidal ideation"), ending right where the risk phrase begins (it is searched for in
# the sentence before the match). Deliberately narrow: "can't stop thinking about killing myself"
# must stay a crisis.
_NEGATED = rule("negated", RuleKind.DISCOUNT, "negated", r"""
    (?:
        # "no thoughts of", "denies any plans to", "without intent to"
        (?:\b(?:not|no|never|nor|without|deny|denies|denied)|n[o']t) \s+ (?:\w+\s+)? (?:any\s+)?
            (?:thoughts?|plans?|intent(?:ions?)?|urges?|history|desire|wish) \s+ (?:of|about|to|for) \s+ (?:\w+\s+)?
      | \bnot \s+ (?:going|planning|trying|wanting) \s+ to \s+ | \bnot \s+ gonna \s+
      | \bnot \s+ (?:in\s+)? (?:any\s+)? (?:danger|risk|at\ risk) \s+ (?:of\s+)?
        # a question: "asked whether he had ever had any"
      | \b(?:whether|if) \s+ (?:[\w'’]+\s+){1,6} (?:ever\s+)? (?:had\s+|has\s+|have\s+)? (?:any\s+)? $
      | n[o']t \s+ (?:had|have|having|got|felt|experienced) \s+ (?:any\s+)?
      | \b(?:deny|denies|denied) \s+ (?:any\s+)? (?:current\s+)?
      | \b(?:not|never) \s+
            (?:having|had|have|feeling|felt|experiencing|experienced|reported|reporting|endorsed|expressed|mentioned|shown|described) \s+
            (?:any\s+)?
        # a list under one negation: "no plan, intent or"
      | \b(?:not|no|never|denies|denied|without) \s+ (?:[\w-]+\s+){0,5} (?:or|nor) \s+
      | \bno \s+ (?:current\s+|active\s+|recent\s+)?
      | \b(?:would|will|could|do|does|did)\s*n[o']?t \s+ (?:ever\s+|really\s+)?
      | \bnot \s+ (?:currently\s+|really\s+)?
      | \bnever \s+ (?:\w+\s+(?:or\s+\w+\s+)?)?
      | \b(?:not|never) \s+ (?:\w+\s+){0,2} (?:about|of|to) \s+
      | \b(?:deny|denies|denied|negative\ for|no\ current)\b [^.]*
      | \b(?:no|without) \s+ (?:[\w-]+,?\s+){1,4} (?:or\s+)?
    )$
""")
# A clinician reporting a screening item that came back negative ("item 10 ... was 0").
_SCREENED_NEGATIVE = rule("screened_negative", RuleKind.DISCOUNT, "a screening came back negative", r"""
    \b(?:item\ \d+|epds|phq-?9|c-?ssrs|asq|screen(?:ed|ing)?)\b .{0,120}?
    (?:\b(?:was|were|scored?|came\ back) | = | \):? | :) \s* (?:0|zero|negative)\b
""")
_FIGURE = rule("figure_of_speech", RuleKind.DISCOUNT, "a figure of speech", r"""
    \b(?:
        (?:commute|traffic|drive|job|work|school|class|exam|test|boss|kids|this|that|it) \s+ (?:is|are|'s|'re) \s+
            (?:going\ to|gonna) \s+ kill\ me
      | jk | kidding | figure\ of\ speech | metaphorically
      | kill\ for | dying\ to | killing\ me | murder\ on
      | die\ of\ (?:embarrassment|shame|laughter|boredom) | dying\ of\ (?:embarrassment|laughter|boredom)
    )\b
""")
# Laughter beside a risk: a joke ("gonna kms lol") or a mask over the real thing ("wrote down my
# passwords so she's not stuck with it after lol"). Not a discount: the model decides as usual.
_LAUGH = rule("laughter", RuleKind.CONTEXT, "laughter", r"""
    \b(?:lol|lmao|haha+|omg)\b
  | [\U0001F480\U0001F602\U0001F923]     # skull, tears of joy, rolling on the floor
""")


@dataclass(frozen=True)
class Risk:
    """What the rules read: present risk, and mentions they discounted (shown to a clinician)."""

    present: tuple[Rule, ...]
    discounted: tuple[Rule, ...]
    laughed_off: tuple[Rule, ...] = ()  # present but for laughter beside it

    @property
    def reasons(self) -> list[str]:
        """Present risk as a clinician reads it, "risk: ..." each."""
        return ["risk: " + reason for reason in reasons(self.present)]

    @property
    def only_mentioned(self) -> bool:
        """Present risk rests only on a topic named (suicide, self-harm, a gun), not on anything
        said about oneself or someone: a parent asking about self-harm education, a gun season."""
        return all(found.kind is RuleKind.RISK_TOPIC for found in self.present)

    @property
    def named_by_practice(self) -> bool:
        """A crisis word of the practice's own is present: it decides, whatever the model says."""
        return any(found.kind is RuleKind.PRACTICE_WORD for found in self.present)


def read_risk(text: str, extra_words: Iterable[str] = ()) -> Risk:
    found: list[Rule] = []
    discounted: list[Rule] = []
    laughed: list[Rule] = []
    text = unwrap(text)
    table = candidates(_CRISIS + tuple(word_rule(w, f'practice\'s crisis word "{w}"') for w in extra_words), text)
    for sentence in SENTENCE.findall(text) if table else ():
        for each in table:
            match = each.pattern.search(sentence)
            if match:
                kept = discounted if _discounted(sentence, match.start()) else laughed if _LAUGH.pattern.search(sentence) else found
                kept.append(each)
    return Risk(tuple(dict.fromkeys(found)), tuple(dict.fromkeys(discounted)), tuple(dict.fromkeys(laughed)))


def _discounted(sentence: str, start: int) -> bool:
    """Negated, a figure of speech, a clinician's negative screen, or only in the past or someone
    else's story."""
    return bool(_NEGATED.pattern.search(sentence[:start]) or _FIGURE.pattern.search(sentence) or _SCREENED_NEGATIVE.pattern.search(sentence)
                or (_PAST.pattern.search(sentence) and (not _NOW.pattern.search(sentence) or _RECOVERED.pattern.search(sentence))))
