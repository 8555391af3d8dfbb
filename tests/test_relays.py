"""Directory and website-form relays carry a person's message: read by what the person wrote and
answered at their address, whatever the relay's headers say; machine mail beside them stays
automated (tests/corpus/relays/README.md)."""

from __future__ import annotations

import pytest
import yaml
from support import CORPUS, inquiry

from responder.config import Config
from responder.model import Category
from responder.triage.classify import classify
from responder.triage.parse import parse_email, parse_file
from responder.triage.relay import relayed

RELAYS = CORPUS / "relays"
LABELS = yaml.safe_load((RELAYS / "labels.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(LABELS))
def test_each_relay_reads_as_labelled(name: str, config: Config) -> None:
    label = LABELS[name]
    result = classify(parse_file(RELAYS / name), config)
    assert (result.category, result.facts.reply_to) == (label["category"], label["reply_to"]), result.reasons
    if label["category"] == Category.AUTOMATED:
        return
    assert result.facts.insurance == label["insurance"]
    assert result.facts.language == label.get("language", "en")
    assert not result.unsure_if_person


def test_the_relay_fixtures_are_the_files_in_the_folder() -> None:
    assert sorted(LABELS) == sorted(p.name for p in RELAYS.glob("*.eml"))


@pytest.mark.parametrize("name", [n for n, label in LABELS.items() if label["category"] != Category.AUTOMATED])
def test_what_the_person_wrote_is_read_without_the_relays_boilerplate(name: str, config: Config) -> None:
    relay = relayed(parse_file(RELAYS / name), config.practice.own_addresses)
    assert relay is not None and relay.address == LABELS[name]["reply_to"]
    read = relay.message.fresh_text.lower()
    assert "do not reply" not in read and "no responda" not in read and "unsubscribe" not in read


@pytest.mark.parametrize("name", ["08-directory-own-newsletter.eml", "09-directory-receipt.eml"])
def test_a_directorys_own_mail_relays_nobody(name: str, config: Config) -> None:
    assert relayed(parse_file(RELAYS / name), config.practice.own_addresses) is None


def test_a_relayed_crisis_gets_the_crisis_reply_at_the_persons_address(config: Config) -> None:
    from responder.replying.policy import decide

    result = classify(parse_file(RELAYS / "05-directory-crisis.eml"), config)
    decision = decide(result, config)
    assert decision.alert and decision.replies
    assert result.facts.reply_to == "dkessler.nights@example.com"


def test_a_relay_from_a_no_reply_address_without_bulk_headers_is_the_persons(config: Config) -> None:
    raw = inquiry(sender="PsychFinder <no-reply@psychfinder.example>", subject="New message from your profile",
                  body="Sam Rivera sent you a message:\n\nI'm looking for a counselor for my depression. I have Cigna.\n\n"
                       "Reply to them at sam.rivera@example.net\n\nPlease do not reply to this email.")
    result = classify(parse_email(raw), config)
    assert (result.category, result.facts.reply_to, result.facts.insurance) == ("new_inquiry", "sam.rivera@example.net", "cigna")
