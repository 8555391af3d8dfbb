"""Drafts in the clinician's own mail program: the copy in the mailbox's Drafts folder, and no
second send once it was sent (or taken) from there."""

from __future__ import annotations

import json
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import yaml
from servers.dovecot import Dovecot
from servers.smtp import SmtpSink
from support import inquiry, responder, write_config

REFERRAL = dict(sender="Dr. Jane Roe <jane.roe@clinic.example.org>", subject="Referral: a patient with panic attacks",
                body="Hello, I'm a physician at Riverside Clinic and I'd like to refer a patient of mine for panic attacks. Jane Roe, MD")


@pytest.fixture
def env(tls_files) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"SSL_CERT_FILE": str(tls_files.ca_file), "IMAP_PASSWORD": "intake-password"}


def config_for(folder: Path, dovecot: Dovecot, smtp: SmtpSink) -> Path:
    path = write_config(folder, email={
        "imap": {"host": "127.0.0.1", "port": dovecot.ssl_port, "username": dovecot.user, "password": "${IMAP_PASSWORD}"},
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}}, approval={"imap_drafts": True})
    return path


def drafts_folder(dovecot: Dovecot) -> list[tuple[bytes, tuple[bytes, ...]]]:
    with dovecot.client() as client:
        client.select_folder("Drafts", readonly=True)
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]", "FLAGS"])
    return [(item[b"BODY[]"], item[b"FLAGS"]) for item in fetched.values()]


def test_a_draft_sent_from_the_mail_program_is_not_sent_again(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = config_for(tmp_path, dovecot, smtp)
    dovecot.deliver(inquiry(**REFERRAL))
    responder(config, "poll", "--once", env=env, check=True)
    [(raw, flags)] = drafts_folder(dovecot)
    assert b"\\Draft" in flags
    copy = message_from_bytes(raw, policy=default_policy)
    assert copy["To"] == "jane.roe@clinic.example.org" and "Thank you" in copy.get_content()
    with dovecot.client() as client:  # the clinician sends it from their mail program
        client.append("Sent", raw, flags=(b"\\Seen",))
        client.select_folder("Drafts")
        client.delete_messages(client.search("ALL"))
        client.expunge()
    responder(config, "poll", "--once", env=env, check=True)
    assert json.loads(responder(config, "drafts", "list", "--json", env=env, check=True).stdout) == []
    assert responder(config, "drafts", "approve", "1", env=env).returncode == 1
    responder(config, "poll", "--once", env=env, check=True)
    time.sleep(0.3)
    assert all(m.rcpt_tos == ["clinician@practice.test"] for m in smtp.messages), "only notices; the reply went from the mail program"


def test_a_draft_approved_here_leaves_the_drafts_folder(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = config_for(tmp_path, dovecot, smtp)
    dovecot.deliver(inquiry(**REFERRAL))
    responder(config, "poll", "--once", env=env, check=True)
    assert len(drafts_folder(dovecot)) == 1
    responder(config, "drafts", "approve", "1", env=env, check=True)
    responder(config, "poll", "--once", env=env, check=True)
    assert drafts_folder(dovecot) == []
    replies = [m for m in smtp.messages if m.rcpt_tos == ["jane.roe@clinic.example.org"]]
    assert len(replies) == 1


def test_the_setting_needs_a_mailbox(tmp_path: Path) -> None:
    path = write_config(tmp_path, approval={"imap_drafts": True})
    result = responder(path, "check")
    assert result.returncode == 2 and "approval.imap_drafts needs email.imap" in result.stderr
    assert yaml.safe_load(path.read_text())["approval"] == {"imap_drafts": True}
