"""The whole email route on real servers: Dovecot in, responder in between, SMTP out."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from servers.dovecot import Dovecot
from servers.smtp import SmtpSink
from support import CORPUS, eventually, inquiry, responder, write_config


@pytest.fixture
def env(tls_files) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment under which responder trusts the test servers' certificate."""
    return {"SSL_CERT_FILE": str(tls_files.ca_file), "IMAP_PASSWORD": "intake-password"}


def mail_config(folder: Path, dovecot: Dovecot, smtp: SmtpSink, *, ssl: bool = True, **imap: object) -> Path:
    settings = {"host": "127.0.0.1", "port": dovecot.ssl_port if ssl else dovecot.port, "ssl": ssl,
                "username": dovecot.user, "password": "${IMAP_PASSWORD}", "folder": "INBOX", **imap}
    return write_config(folder, email={"imap": settings, "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})


def poll(config: Path, env: dict[str, str]) -> str:
    return responder(config, "poll", "--once", env=env, check=True).stdout


def test_a_new_inquiry_is_answered_once_with_the_right_headers(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    raw = inquiry(sender="Jordan Lee <jordan.lee@example.org>", subject="Therapy for anxiety",
                  body="Hello, I'm looking for a therapist for my anxiety. I have Cigna. Is telehealth possible?")
    dovecot.deliver(raw)
    assert "1 new message(s); 1 sent" in poll(config, env)
    assert "0 new message(s); 0 sent" in poll(config, env)
    [sent] = smtp.wait_for(1)
    reply = sent.message
    assert sent.rcpt_tos == ["jordan.lee@example.org"]
    assert reply["From"] == "Harbor Light Counseling <intake@practice.test>"
    assert reply["Subject"] == "Re: Therapy for anxiety"
    original_id = [line for line in raw.decode().splitlines() if line.startswith("Message-ID:")][0].split(" ", 1)[1]
    assert reply["In-Reply-To"] == original_id and original_id in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert "in network with Cigna" in reply.get_content()
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search("ALL"))
    assert all(b"\\Seen" not in f for f in flags.values()), "fetching must not mark mail read"


def test_what_must_not_be_answered_is_not(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    dovecot.deliver((CORPUS / "real" / "auto" / "sisimai_lhost-postfix-01.eml").read_bytes())  # a bounce
    dovecot.deliver((CORPUS / "real" / "auto" / "bounceparser_aol-vacation.eml").read_bytes())  # a vacation notice
    dovecot.deliver(inquiry(sender="hello@practice.test", body="Forwarding to intake: looking for a therapist."))
    dovecot.deliver(inquiry(sender="sam@example.net", subject="First"))
    dovecot.deliver(inquiry(sender="sam@example.net", subject="Second, same person"))
    # Sam is answered once; Sam's second message is a person's, and goes to practice.notify (a notice).
    assert "5 new message(s); 2 sent" in poll(config, env)
    assert sorted(m.rcpt_tos for m in smtp.wait_for(2)) == [["clinician@practice.test"], ["sam@example.net"]]


def test_a_crisis_gets_the_crisis_reply_and_the_clinician_is_alerted(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    dovecot.deliver(inquiry(sender="Riley <riley@example.org>", body="I have Aetna. I have the pills counted out and I want to die tonight."))
    poll(config, env)
    alert, reply = smtp.wait_for(2)
    assert alert.rcpt_tos == ["clinician@practice.test"] and "riley@example.org" in alert.message.get_content()
    assert reply.rcpt_tos == ["riley@example.org"]
    body = reply.message.get_content()
    assert "988" in body and "$" not in body and "Aetna" not in body and "consultation" not in body


def test_the_first_run_does_not_answer_old_mail(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    dovecot.deliver(inquiry(sender="old@example.org"), when=datetime.now(timezone.utc) - timedelta(days=3))
    dovecot.deliver(inquiry(sender="recent@example.org"), when=datetime.now(timezone.utc) - timedelta(hours=2))
    assert "2 new message(s); 1 sent" in poll(config, env)
    assert [m.rcpt_tos for m in smtp.wait_for(1)] == [["recent@example.org"]]


def test_a_new_uidvalidity_rescans_without_answering_anyone_twice(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    dovecot.deliver(inquiry(sender="a@example.org"))
    dovecot.deliver(inquiry(sender="b@example.org"))
    poll(config, env)
    dovecot.change_uidvalidity()
    dovecot.deliver(inquiry(sender="c@example.org"))
    assert "1 new message(s); 1 sent" in poll(config, env)
    assert sorted(m.rcpt_tos[0] for m in smtp.wait_for(3)) == ["a@example.org", "b@example.org", "c@example.org"]


def test_plain_imap_is_upgraded_with_starttls(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp, ssl=False)
    dovecot.deliver(inquiry())
    assert "1 sent" in poll(config, env)
    untrusted = responder(config, "poll", "--once", env={**env, "SSL_CERT_FILE": "/dev/null"})
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, "STARTTLS must really be used"


def test_check_reports_each_connection(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    result = responder(config, "check", env=env)
    assert result.returncode == 0, result.stdout
    assert "ok   IMAP 127.0.0.1" in result.stdout and "ok   SMTP" in result.stdout
    wrong = responder(config, "check", env={**env, "IMAP_PASSWORD": "wrong"})
    assert wrong.returncode == 1 and "FAIL imap:" in wrong.stdout


def test_poll_says_clearly_when_the_mailbox_is_unreachable(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    config = mail_config(tmp_path, dovecot, smtp)
    dovecot.stop()
    result = responder(config, "poll", "--once", env=env)
    assert result.returncode == 1 and "source imap:" in result.stderr and "Traceback" not in result.stderr


def test_a_message_over_the_size_limit_is_recorded_from_its_header_and_not_read(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink,
                                                                               env: dict[str, str]) -> None:
    import base64
    import sqlite3

    config = mail_config(tmp_path, dovecot, smtp)
    config.write_text(config.read_text().replace("email:\n", "email:\n  max_message_bytes: 20000\n", 1))
    attachment = base64.encodebytes(bytes(range(256)) * 200).decode()  # ~70 KB once encoded
    large = (f"From: Big Sender <big@example.org>\r\nTo: intake@practice.test\r\nSubject: Scans of my forms\r\n"
             f"Message-ID: <large-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
             f"--b\r\nContent-Type: text/plain\r\n\r\nLooking for a therapist, forms attached.\r\n"
             f"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n").encode()
    dovecot.deliver(large)
    dovecot.deliver(inquiry(sender="small@example.org"))
    assert "2 new message(s); 1 sent" in poll(config, env)
    [sent] = smtp.wait_for(1)
    assert sent.rcpt_tos == ["small@example.org"]
    with sqlite3.connect(tmp_path / "responder.db") as db:
        status, reasons, raw = db.execute("SELECT status, reasons, raw FROM messages WHERE key = '<large-1@example.org>'").fetchone()
    assert status == "too_large" and "max_message_bytes" in reasons
    assert len(raw) < 1000 and b"Subject: Scans of my forms" in raw, "only the header was fetched and kept"


def test_the_idle_bell_rings_each_time_it_waits_for_what_came_before(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """IDLE tells only of mail that arrives once it waits; Dovecot does not even tell of mail that
    came since the connection's last command. So the bell rings (a fetch) as soon as IDLE waits:
    a message that came between serve's first poll and the bell's connection, or between a
    fetch and the next IDLE, would otherwise wait for the next poll (a minute)."""
    import threading

    from responder.config import load
    from responder.integrations.imap.source import ImapSource

    monkeypatch.setenv("SSL_CERT_FILE", env["SSL_CERT_FILE"])
    monkeypatch.setenv("IMAP_PASSWORD", env["IMAP_PASSWORD"])
    settings = load(mail_config(tmp_path, dovecot, smtp)).email
    assert settings is not None and settings.imap is not None
    source = ImapSource(settings.imap, None, None, timedelta(hours=24), 1 << 20)  # type: ignore[arg-type]  # the bell fetches nothing
    rings: list[float] = []

    def ring() -> None:
        rings.append(time.monotonic())
        if len(rings) == 1:  # mail comes just after the first fetch: only a fetch once IDLE waits sees it
            dovecot.deliver(inquiry(sender="just-after@example.org"))

    stop = threading.Event()
    bell = threading.Thread(target=source.watch, args=(stop, ring))
    bell.start()
    try:
        eventually(lambda: rings, timeout=10, message="a ring as soon as IDLE waits")
        eventually(lambda: len(rings) >= 2, timeout=10, message="a ring for the mail that came just after it")
    finally:
        stop.set()
        bell.join(timeout=10)
