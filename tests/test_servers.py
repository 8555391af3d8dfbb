"""The loopback test servers behave like the real thing the rest of the suite relies on."""

from __future__ import annotations

import smtplib
import ssl
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from servers.dovecot import Dovecot
from servers.fixtures import SMTP_PASSWORD, SMTP_USER
from servers.smtp import SmtpSink
from servers.tls import TlsFiles

RAW = (b"From: Ana Client <ana@example.org>\r\n"
       b"To: intake@practice.test\r\n"
       b"Subject: First appointment?\r\n"
       b"Message-ID: <m1@example.org>\r\n"
       b"\r\n"
       b"Hello, do you have openings next week?\r\n")


def _client_context(tls_files: TlsFiles) -> ssl.SSLContext:
    """What responder does: trust the practice's CA, verify the hostname (here an IP)."""
    context = ssl.create_default_context(cafile=str(tls_files.ca_file))
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    return context


def _email(subject: str = "Thanks for reaching out") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "intake@practice.test"
    message["To"] = "ana@example.org"
    message["Subject"] = subject
    message.set_content("We will call you back today.\n")
    return message


# -- Dovecot -------------------------------------------------------------------------------


def test_imap_login_over_starttls(dovecot: Dovecot, tls_files: TlsFiles) -> None:
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    assert b"STARTTLS" in client.capabilities()
    client.starttls(_client_context(tls_files))
    client.login(dovecot.address, dovecot.password)
    assert client.select_folder("INBOX")[b"EXISTS"] == 0
    client.logout()


def test_imap_login_over_implicit_tls(dovecot: Dovecot, tls_files: TlsFiles) -> None:
    client = IMAPClient(dovecot.host, dovecot.ssl_port, ssl=True,
                        ssl_context=_client_context(tls_files), timeout=10)
    client.login(dovecot.address, dovecot.password)
    assert b"IDLE" in client.capabilities()
    client.logout()


def test_wrong_password_is_refused_without_delay(dovecot: Dovecot) -> None:
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    started = time.monotonic()
    with pytest.raises(IMAPClient.Error):
        client.login(dovecot.address, "wrong")
    assert time.monotonic() - started < 1.5  # Dovecot's default is 2 s, then 4, 8, 15
    client.shutdown()


def test_deliver_keeps_bytes_and_internaldate(dovecot: Dovecot) -> None:
    when = datetime(2024, 3, 5, 14, 30, 15, tzinfo=timezone(timedelta(hours=-5)))
    uid = dovecot.deliver(RAW, when=when)
    client = dovecot.client()
    client.normalise_times = False
    client.select_folder("INBOX", readonly=True)
    fetched = client.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])[uid]
    client.logout()
    assert fetched[b"BODY[]"] == RAW
    assert fetched[b"INTERNALDATE"] == when
    assert b"\\Seen" not in fetched[b"FLAGS"]  # PEEK left it unread
    assert dovecot.messages() == [RAW]


def test_deliver_creates_missing_folder(dovecot: Dovecot) -> None:
    assert dovecot.messages("Processed") == []
    first = dovecot.deliver(RAW, folder="Processed")
    second = dovecot.deliver(RAW, folder="Processed")
    assert second == first + 1
    assert "Processed" in dovecot.folders()
    assert dovecot.messages("Processed") == [RAW, RAW]
    assert dovecot.messages() == []


def test_each_test_starts_with_an_empty_mailbox(dovecot: Dovecot) -> None:
    assert sorted(dovecot.folders()) == ["Drafts", "INBOX", "Sent"]
    assert dovecot.messages() == []
    assert dovecot.deliver(RAW) == 1


def test_idle_reports_a_message_appended_elsewhere(dovecot: Dovecot) -> None:
    watcher = dovecot.client()
    watcher.select_folder("INBOX")
    watcher.idle()
    dovecot.deliver(RAW)  # from a second connection
    responses: list[tuple] = []
    deadline = time.monotonic() + 5
    while (1, b"EXISTS") not in responses and time.monotonic() < deadline:
        responses += watcher.idle_check(timeout=1)
    watcher.idle_done()
    watcher.logout()
    assert (1, b"EXISTS") in responses


def test_stop_drops_clients_and_start_brings_mail_back(dovecot: Dovecot) -> None:
    dovecot.deliver(RAW)
    ports = (dovecot.port, dovecot.ssl_port)
    client = dovecot.client()
    client.select_folder("INBOX")
    dovecot.stop()
    assert not dovecot.running
    with pytest.raises((IMAPClient.AbortError, OSError)):
        client.noop()
    with pytest.raises(ConnectionRefusedError):
        dovecot.client()
    dovecot.start()
    assert (dovecot.port, dovecot.ssl_port) == ports
    assert dovecot.messages() == [RAW]


def test_restart_drops_clients_and_keeps_mail(dovecot: Dovecot) -> None:
    dovecot.deliver(RAW)
    client = dovecot.client()
    client.select_folder("INBOX")
    dovecot.restart()
    with pytest.raises((IMAPClient.AbortError, OSError)):
        client.noop()
    client = dovecot.client()
    assert client.select_folder("INBOX")[b"EXISTS"] == 1
    client.logout()


def test_change_uidvalidity_keeps_messages(dovecot: Dovecot) -> None:
    dovecot.deliver(RAW)
    dovecot.deliver(RAW.replace(b"m1@", b"m2@"))
    before = dovecot.uidvalidity()
    after = dovecot.change_uidvalidity()
    assert after != before
    client = dovecot.client()
    assert client.select_folder("INBOX")[b"UIDVALIDITY"] == after
    client.logout()
    assert dovecot.messages() == [RAW, RAW.replace(b"m1@", b"m2@")]


def test_change_uidvalidity_of_another_folder(dovecot: Dovecot) -> None:
    dovecot.deliver(RAW, folder="Processed")
    inbox = dovecot.uidvalidity()
    before = dovecot.uidvalidity("Processed")
    assert dovecot.change_uidvalidity("Processed") != before
    assert dovecot.uidvalidity() == inbox
    assert dovecot.messages("Processed") == [RAW]


# -- SMTP ----------------------------------------------------------------------------------


def test_smtp_plain(smtp: SmtpSink) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        client.send_message(_email())
    [received] = smtp.wait_for(1)
    assert received.mail_from == "intake@practice.test"
    assert received.rcpt_tos == ["ana@example.org"]
    assert received.message["Subject"] == "Thanks for reaching out"
    assert received.message.get_content() == "We will call you back today.\n"
    assert b"Subject: Thanks for reaching out\r\n" in received.raw


def test_smtp_starttls_with_auth(smtp_tls: SmtpSink, tls_files: TlsFiles) -> None:
    with smtplib.SMTP(smtp_tls.host, smtp_tls.port, timeout=10) as client:
        client.starttls(context=_client_context(tls_files))
        client.login(SMTP_USER, SMTP_PASSWORD)
        client.send_message(_email())
    assert len(smtp_tls.wait_for(1)) == 1
    assert smtp_tls.auth_attempts == [(SMTP_USER, True)]


def test_smtp_auth_is_required_and_checked(smtp_tls: SmtpSink) -> None:
    with smtplib.SMTP(smtp_tls.host, smtp_tls.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.send_message(_email())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(SMTP_USER, "wrong")
    assert smtp_tls.messages == []


def test_smtp_implicit_tls(smtp_ssl: SmtpSink, tls_files: TlsFiles) -> None:
    with smtplib.SMTP_SSL(smtp_ssl.host, smtp_ssl.port, timeout=10,
                          context=_client_context(tls_files)) as client:
        client.login(SMTP_USER, SMTP_PASSWORD)
        client.send_message(_email())
    assert len(smtp_ssl.wait_for(1)) == 1


@pytest.mark.parametrize("code", [451, 550])
def test_fail_next_refuses_then_accepts(smtp: SmtpSink, code: int) -> None:
    smtp.fail_next(1, code=code, text="5.0.0 No" if code >= 500 else "4.3.0 Try again later")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(_email("first try"))
        assert refused.value.smtp_code == code
        client.send_message(_email("second try"))
    [received] = smtp.wait_for(1)
    assert received.message["Subject"] == "second try"


def test_wait_for_explains_a_timeout(smtp: SmtpSink) -> None:
    with pytest.raises(AssertionError, match="expected 1 message.*got 0"):
        smtp.wait_for(1, timeout=0.1)
