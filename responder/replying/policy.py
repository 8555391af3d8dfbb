"""What to do with a classified message: the practice's modes applied to the category, the way a
good practice would act on each: a crisis reaches a human at once; a need the practice does not
serve is referred out kindly; a referring professional is thanked and a clinician told to reach
the client; a current client's message goes to their clinician, not to an auto-reply."""

from __future__ import annotations

from ..config import Config
from ..model import Action, Category, Classification, Decision, Task

NEVER_ANSWERED = (Category.AUTOMATED, Category.SOLICITATION)


def decide(classification: Classification, config: Config) -> Decision:
    """The action for one message. Crisis always alerts a clinician, whatever its mode; machines and
    vendors are never answered, whatever the configuration says."""
    category = classification.category
    mode = config.replies.mode(category)
    reply_to = classification.facts.reply_to
    if category in NEVER_ANSWERED and classification.unsure_if_person:
        # Nothing a person wrote goes nowhere: unanswered, but a clinician looks at it.
        return Decision(Action.OFF, (f"{category}: never answered; it may be a person's, so a clinician is asked to look",),
                        task=Task.CHECK_PERSON)
    if category in NEVER_ANSWERED:
        return Decision(Action.OFF, (f"{category}: never answered",))
    if reply_to is None:
        if category == Category.CRISIS:
            return Decision(Action.OFF, ("no address to reply to",), alert=True)
        # A person wrote (a web form that gave only a phone number, say): nobody can be answered
        # from here, so a clinician is asked to reach them rather than nobody knowing.
        return Decision(Action.OFF, ("no address to reply to: a clinician is asked to reach them",), task=Task.REACH_OUT)
    if config.practice.is_own(reply_to):  # the practice's own staff, forwarding or testing
        return Decision(Action.OFF, ("the reply would go to the practice itself",), alert=category == Category.CRISIS)
    if category == Category.CRISIS:
        action = Action.CRISIS if mode == Action.AUTO else mode
        return Decision(action, (f"crisis: resources {'at once' if mode == Action.AUTO else 'per mode ' + mode}, clinician alerted",), alert=True)
    if category == Category.EXISTING_CLIENT:
        return Decision(mode, (f"existing client: mode {mode}, their clinician is told",), task=Task.CLIENT_MESSAGE)
    if category == Category.PROFESSIONAL_REFERRAL:
        return Decision(mode, (f"professional referral: thank-you note (mode {mode}), a clinician is asked to reach the client",), task=Task.REFERRAL)
    offered = set(config.practice.services.offered)
    unserved = unserved_services(classification.facts.services, config)
    if offered and unserved and not set(classification.facts.services) & offered:
        reason = f"asks for what the practice does not offer ({', '.join(unserved)}): referred out"
        return Decision(Action.REFER_OUT if mode == Action.AUTO else mode, (reason,), template="refer_out")
    return Decision(mode, (f"{category}: mode {mode}",))


def unserved_services(services: tuple[str, ...], config: Config) -> list[str]:
    """What was asked for that the practice does not offer (nothing, when it lists no services)."""
    offered = config.practice.services.offered
    return [s for s in services if offered and s not in offered]
