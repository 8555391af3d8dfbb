"""The first classifier: right on plain cases, and a crisis never gets the routine reply."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from support import CORPUS, ROOT, inquiry

from responder.config import Config
from responder.replying.policy import decide
from responder.triage.classify import classify
from responder.triage.parse import parse_email, parse_sms

DEV = CORPUS / "training" / "dev"
LABELS = yaml.safe_load((DEV / "labels.yaml").read_text())
CRISIS = sorted(name for name, label in LABELS.items() if label["category"] == "crisis")


def read(name: str):  # type: ignore[no-untyped-def]
    path = DEV / name
    return parse_sms(json.loads(path.read_text())) if name.endswith(".json") else parse_email(path.read_bytes())


def text(body: str, subject: str = "Question", config: Config | None = None, **headers: str):  # type: ignore[no-untyped-def]
    assert config is not None
    return classify(parse_email(inquiry(subject=subject, body=body, **headers)), config)


@pytest.mark.parametrize("name", CRISIS)
def test_every_crisis_in_the_development_set_gets_the_crisis_action(name: str, config: Config) -> None:
    result = classify(read(name), config)
    assert result.category == "crisis", result.reasons
    decision = decide(result, config)
    assert decision.action == "crisis" and decision.alert


@pytest.mark.parametrize("body", [
    "I don't want to be alive anymore. I'm not sure therapy can help.",
    "I have been cutting myself again and I'm scared. Do you take Aetna?",
    "My son (15) left a goodbye note on his bed tonight and isn't answering his phone.",
    "Honestly everyone would be better off without me.",
    "I think about ending my life most nights. I have Blue Cross.",
    "I want to kill myself tonight.",
    "I can't stop thinking about killing myself.",
    "I don't know why but I want to die.",
    "I'm not sure I want to be alive anymore.",
])
def test_plain_risk_is_crisis(body: str, config: Config) -> None:
    assert text(body, config=config).category == "crisis"


@pytest.mark.parametrize("body", [
    "This job is killing me, I need someone to talk to about burnout. I have Cigna.",
    "My husband and I need couples counseling before we kill each other lol. Do you take Aetna?",
    "My brother died by suicide six years ago and I want help with the grief. I'm safe and not having thoughts of hurting myself.",
    "I'm not suicidal, but I'm exhausted and I need someone to talk to.",
    "I would never hurt myself, I just feel stuck.",
])
def test_figures_of_speech_and_the_past_are_not_crisis(body: str, config: Config) -> None:
    assert text(body, config=config).category == "new_inquiry"


def test_a_plain_inquiry_and_its_facts(config: Config) -> None:
    result = text("Hi, I'm looking for a therapist for my anxiety. I have Aetna and would prefer video sessions.", config=config)
    assert result.category == "new_inquiry"
    assert (result.facts.insurance, result.facts.services, result.facts.modality) == ("aetna", ("individual",), "telehealth")
    assert result.facts.reply_to == "jordan.lee@example.org"
    assert result.reasons


@pytest.mark.parametrize(("body", "insurance"), [
    ("We have Blue Cross through my job.", "bcbs"),
    ("My plan is Optum behavioral health.", "uhc"),
    ("I have Kaiser, do you take it?", "other"),
    ("I don't have insurance, what is your self-pay rate?", "self_pay"),
    ("What are your hours?", "unknown"),
    ("I used to have Aetna but I switched to Cigna in January.", "cigna"),
])
def test_insurance_is_read_from_the_configured_aliases(body: str, insurance: str, config: Config) -> None:
    assert text("I'm looking for a therapist. " + body, config=config).facts.insurance == insurance


def test_the_reply_goes_where_the_person_asks(config: Config) -> None:
    asked = text("Hi, I need a counselor. Please reply to my personal address, sam.w@example.net, not this work one.", config=config)
    assert asked.facts.reply_to == "sam.w@example.net"
    form = text("Name: Sam\nEmail: sam.form@example.net\nMessage: I'd like to start therapy.", config=config,
                Reply_To="other@example.net")
    assert form.facts.reply_to == "sam.form@example.net"
    reply_to = text("I'd like to start therapy.", config=config, Reply_To="Sam <Sam.Home@Example.net>, b@example.net")
    assert reply_to.facts.reply_to == "sam.home@example.net"


def test_the_main_categories_on_plain_cases(config: Config) -> None:
    assert text("Hi Dr. Holloway, I need to reschedule my appointment on Thursday.", config=config).category == "existing_client"
    assert text("I'm a pediatrician and I'd like to refer a patient, age 15, for anxiety. Dr. Jane Roe, MD", config=config).category == "professional_referral"
    assert text("We help therapists rank #1 on Google with our SEO package. Book a quick call?", config=config).category == "solicitation"


def test_a_directory_relay_with_an_unsubscribe_footer_is_the_persons_inquiry(config: Config) -> None:
    """One unsubscribe line is a pitch only where nobody asks for care; a couple asking through a
    directory does, in its own words."""
    body = ('Morgan Ellis sent you a message on FindAShrink: "Hi - my wife and I are looking for a couples therapist. '
            'We have Aetna and would prefer video. Do you have openings in the evening?"\n'
            "Reply to this email to respond directly to Morgan.\n"
            "Unsubscribe from inquiry notifications: https://findashrink.example.net/u/7f3a")
    reading = text(body, subject="Morgan Ellis sent you a message", config=config)
    assert reading.category == "new_inquiry" and reading.facts.services == ("couples",)


def test_a_practice_adds_its_own_words(config: Config, tmp_path: Path) -> None:
    """A practice's words decide, whatever the rules or the model would have said."""
    words = {"crisis": ["red card"], "existing_client": ["blue card"], "solicitation": ["green card"]}
    custom = config.model_copy(update={"classification": config.classification.model_copy(update=words)})
    for card, category in (("red", "crisis"), ("blue", "existing_client"), ("green", "solicitation")):
        body = f"Hello, I am looking for a therapist for my anxiety. I have Aetna. I hold a {card} card."
        assert text(body, config=config).category == "new_inquiry"
        assert text(body, config=custom).category == category


def test_the_development_set_meets_the_goals(config: Config) -> None:
    from responder.triage.evaluate import evaluate

    report = evaluate(DEV, config)
    figures = report.as_json()
    assert figures["files"] == 150
    assert figures["crisis"]["recall"] == 1.0, report.text()
    assert figures["crisis"]["precision"] >= 0.8, report.text()
    for name in ("category", "insurance", "reply_to", "services", "modality"):
        assert figures["accuracy"][name] >= 0.95, report.text()


BLIND_TRAINING_SETS = sorted(p.parent.name for p in (CORPUS / "training").glob("blind*/labels.yaml"))


@pytest.mark.parametrize("folder", BLIND_TRAINING_SETS)
def test_the_blind_training_sets_keep_their_figures(config: Config, folder: str) -> None:
    """Each written blind by a helper who never saw responder nor the other sets (see each
    README), and measured once at first sight (figures in the README). Rules were tuned on them and
    the model learns from them, so they are training data now: they guard against regressions, at
    the issue's goals for unseen messages, and say nothing about unseen messages any more."""
    from responder.triage.evaluate import evaluate

    report = evaluate(CORPUS / "training" / folder, config)
    figures = report.as_json()
    assert figures["crisis"]["recall"] == 1.0 and figures["crisis"]["precision"] >= 0.75, report.text()
    # Services: older sets label a current client's ongoing service ("teen" for a parent's reschedule),
    # where responder, and the sets written for issue 13, read nothing new asked for (blind12: 0.75).
    for name, goal in (("category", 0.9), ("insurance", 0.9), ("reply_to", 0.95), ("services", 0.75)):
        assert figures["accuracy"][name] >= goal, report.text()
    if "age" in figures["accuracy"]:  # labelled in blind14-20
        assert figures["accuracy"]["age"] >= 0.9, report.text()


def test_a_current_clients_farewell_asks_for_no_new_service(config: Config) -> None:
    """A crisis hidden in a cancellation: beneath its risk it is a client's message, so nothing is
    read as asked for, though "appointments" would be an opening asked for in an inquiry."""
    reading = text("Could you please cancel my standing Monday appointments going forward, and pass this on to "
                   "Dr. Esposito. I've found a good home for my dog and my sister has everything she'll need. "
                   "Thank you for trying with me. None of this is your fault.", config=config)
    assert reading.category == "crisis"
    assert reading.facts.services == ()


def train_model(*args: str) -> subprocess.CompletedProcess[str]:
    """scripts/train-model as a developer runs it; --check needs no scikit-learn."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train-model"), *args], capture_output=True, text=True, timeout=300)


def test_the_shipped_model_was_fitted_on_todays_training_sets_and_features() -> None:
    """learned.json records a sha256 of the training texts and labels and one of the feature code.
    A set added or changed, a parser that reads a text differently or new features, without a
    refit, and the shipped weights would no longer be what they say they are."""
    result = train_model("--check")
    assert result.returncode == 0, result.stderr


def test_the_held_out_set_is_never_trained_on(tmp_path: Path) -> None:
    """tests/corpus/heldout exists and no training reads it: the recorded training digest covers
    the training sets alone (the test above), and train-model refuses a training set that holds
    any held-out message. Its figures are in the README, measured once; no test guards them, since
    tuning to such a test would make it training data."""
    held_out = CORPUS / "heldout"
    labels = yaml.safe_load((held_out / "labels.yaml").read_text(encoding="utf-8"))
    assert len(labels) == 60 and sorted(labels) == sorted(p.name for p in held_out.iterdir() if p.name not in ("labels.yaml", "README.md"))
    trained_on = json.loads((ROOT / "responder" / "triage" / "learned.json").read_text(encoding="utf-8"))["trained_on"]
    assert "heldout" not in trained_on and not (CORPUS / "training" / "heldout").exists()

    corpus = tmp_path / "corpus"
    shutil.copytree(held_out, corpus / "heldout")
    leaked = next(iter(labels))
    (corpus / "training" / "mine").mkdir(parents=True)
    shutil.copy(held_out / leaked, corpus / "training" / "mine" / "001-copied.eml")
    (corpus / "training" / "mine" / "labels.yaml").write_text(yaml.safe_dump({"001-copied.eml": labels[leaked]}))
    refused = train_model("--check", "--corpus", str(corpus))
    assert refused.returncode != 0 and "001-copied.eml" in refused.stderr and "heldout" in refused.stderr, refused.stderr


def test_the_training_libraries_are_pinned_at_the_versions_that_fitted_the_model() -> None:
    """A refit with other versions may move weights in the last digit; pins make it repeatable."""
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]["train"]
    fitted_with = json.loads((ROOT / "responder" / "triage" / "learned.json").read_text(encoding="utf-8"))["fitted_with"]
    assert sorted(pins) == sorted(f"{name}=={version}" for name, version in fitted_with.items())


def test_the_model_reads_risk_that_no_rule_names(config: Config) -> None:
    """What the rules could not list: the model carries it, and says which words moved it."""
    result = text("i already gave my dog to my sister and wrote everyone a letter. tonight is the night", config=config)
    assert result.category == "crisis" and not any(reason.startswith("risk:") for reason in result.reasons)
    assert any(line.startswith("model: reads as crisis") for line in result.evidence)


def test_public_counselling_questions_flag_the_clear_risks_and_not_most_others(config: Config) -> None:
    """Real questions people posted (counselchat.com, MIT; tests/corpus/real/SOURCES.md), unlabelled."""
    import csv

    from responder.model import Inbound

    rows = list(csv.DictReader((CORPUS / "real" / "inquiries" / "counsel_chat_questions_sample.csv").open(encoding="utf-8")))
    flagged: dict[str, list[bool]] = {}
    for row in rows:
        text = row["questionText"] or ""
        message = Inbound(channel="email", key=row["questionID"], sender="person@example.org", subject=row["questionTitle"] or "", text=text, fresh_text=text)
        flagged.setdefault(row["questionTitle"], []).append(classify(message, config).category == "crisis")
    assert len(rows) == 298 and sum(sum(v) for v in flagged.values()) <= 0.12 * len(rows)
    for title in ("How can I resist the urge to cut?", "How can I stop thinking so negatively about myself?",
                  "I need help with my severe claustrophobia, motorphobia, and anxiety"):
        assert all(flagged[title]), title
