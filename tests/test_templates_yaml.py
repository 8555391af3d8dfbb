"""Templates a practice writes in YAML: a kind written there replaces the shipped one whole, the
export of the shipped ones reads back to the very same replies, a file responder cannot use stops
check, serve and poll naming the file, the key and why, and a template that fails as a message is
answered never loses it: a clinician is told."""

from __future__ import annotations

import mailbox
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, inquiry, responder

from responder.config import Config, load
from responder.model import Category, Channel, Classification, Facts, Inbound
from responder.replying import templates
from responder.replying.compose import Composer
from responder.replying.templates import ENGLISH, KEYS, Key, Name, TemplateError
from responder.triage.classify import classify
from responder.triage.parse import parse_email

# The contract's sample (../shared/contract/practice-templates.yaml), as a practice writes it.
PRACTICE_TEMPLATES = """\
sms:
  first_reply:
    body: >-
      Hi, this is {{ practice.name }}. Thank you for reaching out. A free
      {{ practice.consultation.minutes }}-minute consultation is a good first step:
      {{ practice.consultation.booking_url }}. If you are in crisis, call or text 988 now.
"""


def with_templates(config: Config, path: Path, text: str) -> Composer:
    path.write_text(text, encoding="utf-8")
    return Composer(config.model_copy(update={"templates": path}))


def sample(composer: Composer, key: Key, category: Category, insurance: str) -> tuple[str, str]:
    """A template rendered for a message of ``category``, with every variable any template uses."""
    sender = "person@example.org" if key.channel == Channel.EMAIL else "+15555550123"
    facts = Facts(insurance, ("individual", "medication", "court"), "telehealth", sender, key.language)
    inbound = Inbound(channel=key.channel, key="<s@example.org>", sender=sender, sender_name="Sam Q", subject="Hello there")
    context = composer._context(inbound, Classification(category, facts, ("a reason",))) | {
        "action": "crisis", "message_text": "sample", "first_text": True, "link": "http://x/drafts/1", "reminder": True, "task": "referral",
        "new": [{"channel": "email", "category": category}]}
    return composer._render(key, context)


def test_the_shipped_templates_cover_every_kind_in_english_and_only_known_ones() -> None:
    shipped = templates.shipped()
    assert {key for key in KEYS if key.language == ENGLISH} <= set(shipped)
    assert set(shipped) <= set(KEYS)
    assert {key.language for key in shipped} == set(templates.LANGUAGES)


def test_a_kind_written_in_yaml_replaces_the_shipped_one_and_the_rest_stay(config: Config, tmp_path: Path) -> None:
    shipped = Composer(config)
    mine = with_templates(config, tmp_path / "mine.yaml", PRACTICE_TEMPLATES)
    text = Inbound(channel=Channel.SMS, key="SM1", sender="+15555550123", text="Hi, do you take Aetna?")
    reading = Classification(Category.NEW_INQUIRY, Facts("aetna", (), "unknown", "+15555550123"), ())
    assert mine.reply(text, reading).body == ("Hi, this is Harbor Light Counseling. Thank you for reaching out. A free 15-minute consultation is a "
                                              "good first step: https://harborlight.example.org/book. If you are in crisis, call or text 988 now.")
    assert mine.reply(text, reading).body != shipped.reply(text, reading).body
    for key in KEYS:
        if key in shipped.templates and key != Key(ENGLISH, Channel.SMS, Name.FIRST_REPLY):
            assert sample(mine, key, Category.NEW_INQUIRY, "aetna") == sample(shipped, key, Category.NEW_INQUIRY, "aetna"), key
    assert mine.validate() == []


def test_a_language_key_replaces_that_language_only(config: Config, tmp_path: Path) -> None:
    mine = with_templates(config, tmp_path / "mine.yaml", """\
es:
  email:
    first_reply:
      subject: "Re: {{ original_subject }}"
      body: |
        Hola desde {{ practice.name }}.
    referral_thanks: {subject: "Gracias", body: "Gracias por la referencia."}
""")
    message = parse_email(inquiry(body="Hola, busco terapia para mi hija. Tengo seguro de Aetna. Gracias, usted es muy amable."))
    reading = classify(message, config)
    assert reading.facts.language == "es"
    reply = mine.reply(message, reading)
    assert (reply.subject, reply.body) == ("Re: Looking for a therapist", "Hola desde Harbor Light Counseling.\n")
    assert mine.reply(message, reading, template=Name.REFERRAL_THANKS).body == "Gracias por la referencia.\n", "a kind es had not shipped"
    english = parse_email(inquiry())
    assert mine.reply(english, classify(english, config)).body == Composer(config).reply(english, classify(english, config)).body


def test_the_export_reads_back_as_the_very_same_templates_and_replies(config: Config, tmp_path: Path) -> None:
    exported = responder(ROOT / "config.example.yaml", "templates", "export", check=True).stdout
    assert exported.startswith("# responder's reply templates") and "\nes:\n  email:\n    first_reply:\n" in exported
    assert "    body: |\n      {#- The first reply" in exported, "literal blocks, readable as written"
    path = tmp_path / "exported.yaml"
    path.write_text(exported, encoding="utf-8")
    shipped, read_back = Composer(config), Composer(config.model_copy(update={"templates": path}))
    assert {key: kind.written.parts for key, kind in read_back.templates.items()} == {key: kind.parts for key, kind in templates.shipped().items()}
    plans = [plan.id for plan in config.practice.insurance.plans]
    renders = 0
    for key in read_back.templates:
        for category in (Category.NEW_INQUIRY, Category.PROFESSIONAL_REFERRAL, Category.EXISTING_CLIENT, Category.CRISIS):
            for insurance in (*plans, "other", "self_pay", "unknown"):
                assert sample(read_back, key, category, insurance) == sample(shipped, key, category, insurance), (key, category, insurance)
                renders += 1
    assert renders == 34 * 4 * 8


# Any text, and text made of what is hard for YAML: indentation, line ends, comments, quotes, other breaks.
TEXTS = st.one_of(st.text(), st.text(alphabet=st.sampled_from(list(" \t\n#-:|>'\"{}%ab\r\x85\u2028\ufeffé"))))


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.sampled_from(["subject", "body"]), TEXTS, min_size=1))
def test_any_text_survives_the_export_exactly(parts: dict[str, str]) -> None:
    assert yaml.safe_load(templates.dump({"email": {"first_reply": parts}})) == {"email": {"first_reply": parts}}


@pytest.mark.parametrize("text", [
    "trailing spaces   \nand a tab\t\n", "no newline at the end\nat all", "two newlines\n\n", "\nstarts with a newline\n",
    "  starts indented\nthen not\n", "a line of spaces\n   \nbetween\n", "# not a comment\n---\n...\n", "ends in spaces\nfin   ",
])
def test_templates_with_edges_are_literal_blocks_that_read_back_exactly(text: str) -> None:
    written = templates.dump({"body": text})
    assert written.startswith("body: |"), written
    assert yaml.safe_load(written) == {"body": text}


def test_a_folder_of_j2_files_is_read_into_the_same_form(config: Config, tmp_path: Path) -> None:
    (tmp_path / "es" / "sms").mkdir(parents=True)
    (tmp_path / "es" / "sms" / "crisis.j2").write_text("{# comment {% block body %} #}{% block body %}\n{% include 'footer.txt' %}{% endblock %}")
    (tmp_path / "footer.txt").write_text("Llame al 988.")
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "crisis.j2").write_text("{% extends 'email/first_reply.j2' %}{% block subject %}x{% endblock %}")
    with pytest.raises(TemplateError, match=r"email/crisis\.j2: \{% extends %\} is not read"):
        Composer(config.model_copy(update={"templates": tmp_path}))
    (tmp_path / "email" / "crisis.j2").unlink()
    composer = Composer(config.model_copy(update={"templates": tmp_path}))
    assert composer.templates[Key("es", Channel.SMS, Name.CRISIS)].written.parts == {templates.Part.BODY: "\n{% include 'footer.txt' %}"}
    assert sample(composer, Key("es", Channel.SMS, Name.CRISIS), Category.CRISIS, "unknown") == ("", "Llame al 988.\n")
    assert composer.validate() == []


@pytest.mark.parametrize("text, where, reason", [
    ("email:\n  first_reply: [unclosed\n", "", "not valid YAML"),
    ("email:\n  first_reply: {subject: x}\n  frist_reply: {subject: x, body: y}\n", "email.frist_reply", "not a kind responder sends by email"),
    ("email:\n  first_reply: {subject: x, body: y, footer: z}\n", "email.first_reply.footer", "not a part of an email template"),
    ("sms:\n  first_reply: {subject: x, body: y}\n", "sms.first_reply.subject", "not a part of an sms template (one of: body)"),
    ("fr:\n  email:\n    first_reply: {subject: x, body: y}\n", "fr", "not a channel (email, sms) or a language replies are written in (es)"),
    ("fax:\n  first_reply: {body: y}\n", "fax", "not a channel"),
    ("en:\n  email:\n    first_reply: {subject: x, body: y}\n", "en", "English templates are written at the top level"),
    ("es:\n  email:\n    crisis_alert: {subject: x, body: y}\n", "es.email.crisis_alert", "not a kind responder sends by email in es"),
    ("es:\n  email:\n    first_reply: {subject: '{{ x ', body: y}\n", "es.email.first_reply.subject", "does not compile"),
    ("email:\n  first_reply:\n    subject: x\n    body: |\n      ok\n      {% if %}\n", "email.first_reply.body", "does not compile: Expected an expression"),
    ("email:\n  first_reply:\n    subject: x\n    body: '{{ x | no_such_filter }}'\n", "email.first_reply.body", "No filter named 'no_such_filter'"),
    ("sms:\n  help: {body: 3}\n", "sms.help.body", "expected Jinja2 source as text"),
    ("sms:\n  help:\n", "sms.help", "expected a mapping, got nothing"),
])
def test_a_file_responder_cannot_use_is_refused_naming_the_file_the_key_and_why(config: Config, tmp_path: Path, text: str, where: str,
                                                                                reason: str) -> None:
    path = tmp_path / "mine.yaml"
    with pytest.raises(TemplateError) as refused:
        with_templates(config, path, text)
    assert str(refused.value).startswith(f"{path}: {where}" if where else f"{path}: ") and reason in str(refused.value), str(refused.value)


def test_check_serve_and_poll_refuse_a_broken_file(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text() + "templates: mine.yaml\n")
    (tmp_path / "mine.yaml").write_text("es:\n  email:\n    first_reply:\n      subject: '{% if %}'\n      body: hola\n")
    for command in (["check"], ["poll", "--once"], ["serve"]):
        result = responder(config, *command, timeout=30)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"{tmp_path / 'mine.yaml'}: es.email.first_reply.subject: does not compile" in result.stderr, (command, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "var" / "responder.db").exists(), "refused before anything ran"
    (tmp_path / "mine.yaml").write_text("email: [\n")
    result = responder(config, "check")
    assert result.returncode == 2 and f"{tmp_path / 'mine.yaml'}: not valid YAML" in result.stderr


def test_a_kind_missing_a_part_is_refused_by_check_serve_and_poll(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text() + "templates: mine.yaml\n")
    (tmp_path / "mine.yaml").write_text("email:\n  first_reply:\n    body: Hello.\n")
    check = responder(config, "check")
    assert check.returncode == 1 and f"FAIL template {tmp_path / 'mine.yaml'}: email.first_reply.subject: required, but missing" in check.stdout
    poll = responder(config, "poll", "--once")
    assert poll.returncode == 2 and "email.first_reply.subject: required, but missing" in poll.stderr


def test_a_template_that_fails_on_a_real_message_loses_nothing_and_a_clinician_is_told(tmp_path: Path) -> None:
    """check renders every template for sample messages; one that fails only for some real
    message (here: when the sender gives a name) must still not lose it."""
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    config = tmp_path / "config.yaml"
    # A current client's message is acknowledged here, so that it owes a task and a reply.
    config.write_text(config.read_text().replace("existing_client: {mode: off}", "existing_client: {mode: auto}") + "templates: mine.yaml\n")
    fails_with_a_name = "{% if sender_name %}{{ greetings[sender_name] }}{% endif %}Hello."
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"email": {
        "first_reply": {"subject": "Re: {{ original_subject }}", "body": fails_with_a_name},
        "crisis": {"subject": "Re: {{ original_subject }}", "body": fails_with_a_name},
        "acknowledgement": {"subject": "Re: {{ original_subject }}", "body": fails_with_a_name}}}))
    assert responder(config, "check").returncode == 0
    inbox = tmp_path / "mail" / "inbox" / "new"
    inbox.mkdir(parents=True)
    (inbox / "1.eml").write_bytes(inquiry(sender="Jordan Lee <jordan.lee@example.org>"))
    (inbox / "2.eml").write_bytes(inquiry(sender="Alex Doe <alex@example.org>", subject="tonight", body="I don't want to be alive anymore. I have pills."))
    (inbox / "3.eml").write_bytes(inquiry(sender="casey@example.org"))  # no name: answered as usual
    # A current client's message owes a task as well as the reply that fails: both reach the clinician.
    (inbox / "4.eml").write_bytes(inquiry(sender="Sam Roe <sam.roe@example.org>", subject="Thursday",
                                          body="Hi Priya, I need to move my Thursday session to next week. Thanks, Sam"))
    result = responder(config, "poll", "--once", check=True)
    assert "4 new message(s)" in result.stdout
    sent = [(m["To"], " ".join(m["Subject"].split()), m.get_payload(decode=True).decode()) for m in mailbox.Maildir(tmp_path / "mail" / "outbox").values()]  # type: ignore[union-attr]
    to_people = sorted(to for to, _, _ in sent if to != "clinician@practice.test")
    assert to_people == ["casey@example.org"], sent
    told = [(subject, body) for to, subject, body in sent if to == "clinician@practice.test"]
    failures = [(subject, body) for subject, body in told if "could not be answered" in subject]
    assert len(failures) == 3, told
    assert any("existing client" in subject and "sam.roe@example.org" in subject for subject, _ in failures), failures
    assert any("move my Thursday session" in body for subject, body in told if "could not be answered" not in subject), "the task went too"
    crisis = next(body for subject, body in failures if subject.startswith("URGENT:"))
    assert f"{tmp_path / 'mine.yaml'}: email.crisis.body: 'greetings' is undefined" in crisis and "I don't want to be alive" in crisis
    inquiry_failure = next(body for subject, body in failures if "new inquiry" in subject)
    assert "email.first_reply.body: 'greetings' is undefined" in inquiry_failure and "jordan.lee@example.org" in inquiry_failure
    alert = next(body for subject, body in told if subject.startswith("URGENT: a message showing risk from Alex Doe"))
    assert "What responder did: sent nothing." in alert, "the crisis alert still went, and says that their reply did not"
    with sqlite3.connect(tmp_path / "var" / "responder.db") as db:
        assert sorted(status for (status,) in db.execute("SELECT status FROM messages")) == ["alerted", "answered", "notified", "notified"]
    assert "Jordan" not in result.stderr and "jordan.lee@example.org" not in result.stderr


def test_a_draft_whose_notice_template_fails_still_waits_and_a_plain_notice_goes(tmp_path: Path) -> None:
    """The notice is rendered in the transaction that records the draft: a failure there must not
    undo the recording (the message would be fetched and fail again, forever, unseen)."""
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text() + "templates: mine.yaml\n")
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"email": {"draft_notice": {
        "subject": "A draft waits", "body": "{% if sender_name %}{{ greetings[sender_name] }}{% endif %}{{ link }}"}}}))
    assert responder(config, "check").returncode == 0
    inbox = tmp_path / "mail" / "inbox" / "new"
    inbox.mkdir(parents=True)
    referral = (ROOT / "tests" / "corpus" / "training" / "dev" / "002-pastor-couple-referral.eml").read_bytes()
    (inbox / "1.eml").write_bytes(referral)  # a professional referral: held for approval (config.example.yaml)
    assert "1 new message(s)" in responder(config, "poll", "--once", check=True).stdout
    told = [(m["Subject"], m.get_payload(decode=True).decode()) for m in mailbox.Maildir(tmp_path / "mail" / "outbox").values()  # type: ignore[union-attr]
            if m["To"] == "clinician@practice.test"]
    notice = next(body for subject, body in told if subject == "A reply waits for your approval")
    assert "/drafts/1" in notice and "email.draft_notice.body: 'greetings' is undefined" in notice
    with sqlite3.connect(tmp_path / "var" / "responder.db") as db:
        assert db.execute("SELECT status FROM messages").fetchall() == [("held",)]
        assert db.execute("SELECT state FROM drafts").fetchall() == [("waiting",)]


def test_with_no_one_to_tell_the_message_is_recorded_as_an_error(config: Config, tmp_path: Path) -> None:
    silent = config.model_copy(update={"practice": config.practice.model_copy(update={"notify": config.practice.notify.model_copy(update={"email": None})})})
    composer = with_templates(silent, tmp_path / "mine.yaml", "email:\n  first_reply: {subject: x, body: '{{ greetings[sender_name] }}'}\n")
    message = parse_email(inquiry(sender="Jordan Lee <jordan.lee@example.org>"))
    reading = classify(message, silent)
    from responder.replying.compose import RenderError
    from responder.replying.policy import decide

    with pytest.raises(RenderError, match=r"email\.first_reply\.body: 'greetings' is undefined"):
        composer.outgoing(message, reading, decide(reading, silent))


def test_load_errors_are_configuration_errors(config: Config, tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read the templates"):
        Composer(config.model_copy(update={"templates": tmp_path / "missing.yaml"}))
    (tmp_path / "config.yaml").write_text((ROOT / "config.example.yaml").read_text() + "templates: empty.yaml\n")
    (tmp_path / "empty.yaml").write_text("# nothing of our own yet\n")
    assert Composer(load(tmp_path / "config.yaml", environ={})).templates.keys() == Composer(config).templates.keys()


def test_every_kind_of_template_has_its_sample_and_its_line_on_the_page() -> None:
    """A new Name needs a channel, a sample category (check renders it) and a line on /templates:
    this names the one that was forgotten, instead of a KeyError at start."""
    from responder.replying.compose import SAMPLE_CATEGORY
    from responder.web.pages import _WHEN

    for name in Name:
        assert any(name in kinds for kinds in templates.KINDS.values()), name
        assert name in SAMPLE_CATEGORY and name in _WHEN, name
