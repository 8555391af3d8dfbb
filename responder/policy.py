"""What to do with a classified message: the practice's modes applied to the category."""

from __future__ import annotations

from .config import Config
from .model import Classification, Decision

NEVER_ANSWERED = ("automated", "solicitation")


def decide(classification: Classification, config: Config) -> Decision:
    """The action for one message. Crisis always alerts a clinician, whatever its mode; machines and
    vendors are never answered, whatever the configuration says."""
    category = classification.category
    mode = config.replies.mode(category)
    reply_to = classification.facts.reply_to
    if category in NEVER_ANSWERED:
        return Decision("off", (f"{category}: never answered",))
    if reply_to is None:
        return Decision("off", ("no address to reply to",), alert=category == "crisis")
    if reply_to in config.practice.own_addresses:
        return Decision("off", ("the reply would go to the practice itself",), alert=category == "crisis")
    if category == "crisis":
        action = "crisis" if mode == "auto" else mode
        return Decision(action, (f"crisis: resources {'at once' if mode == 'auto' else 'per mode ' + mode}, clinician alerted",), alert=True)
    return Decision(mode, (f"{category}: mode {mode}",))
