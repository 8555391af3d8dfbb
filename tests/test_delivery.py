"""The store and the outbox against a real SMTP server: once per message, retried when it may
work later, recorded when it will not."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from servers.fixtures import SMTP_PASSWORD, SMTP_USER
from servers.smtp import SmtpSink
from support import inquiry, migrated, write_config

from responder.config import load
from responder.delivery import RETRY_DELAYS, retry_delay
from responder.service import Service
from responder.storage.store import utcnow


def service_for(tmp_path: Path, smtp: SmtpSink, **smtp_settings: object) -> Service:
    settings = {"host": smtp.host, "port": smtp.port, "security": "none", **smtp_settings}
    return Service(migrated(load(write_config(tmp_path, email={"smtp": settings}))))


def test_a_message_seen_twice_is_answered_once(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    raw = inquiry()
    assert service.pipeline.ingest_email("test", raw).status == "answered"
    assert service.pipeline.ingest_email("test", raw).status == "duplicate"
    assert service.delivery.run().sent == 1
    assert service.delivery.run().sent == 0
    assert len(smtp.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(smtp.messages) == 1
    assert smtp.messages[0].rcpt_tos == ["jordan.lee@example.org"]
    assert smtp.messages[0].mail_from == "intake@practice.test"


def test_one_reply_per_address_within_the_throttle(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    first = service.pipeline.ingest_email("test", inquiry(subject="First"))
    second = service.pipeline.ingest_email("test", inquiry(subject="Second"))
    # The second is a person writing again in their conversation: no second reply, a notice instead (issue 12).
    assert (first.status, second.status) == ("answered", "notified")
    assert any("no automatic reply" in r for r in service.store.message(second.message_id)["reasons"])
    crisis = service.pipeline.ingest_email("test", inquiry(subject="Third", body="I want to kill myself tonight."))
    assert crisis.status == "answered", "crisis resources are never throttled"


def test_transient_failures_are_retried_with_the_same_message(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    smtp.fail_next(1, 451, "4.7.1 Greylisted, try again later")
    first = service.delivery.run()
    assert (first.sent, first.retrying) == (0, 1)
    row = service.store.outgoing()[0]
    assert row["state"] == "pending" and "451" in row["last_error"]
    assert 4 <= (row["next_attempt_at"] - utcnow()).total_seconds() <= 5.5
    assert service.delivery.run().sent == 0, "not due yet"
    time.sleep((row["next_attempt_at"] - utcnow()).total_seconds() + 0.1)
    assert service.delivery.run().sent == 1
    received = smtp.wait_for(1)
    assert received[0].message["Message-ID"] == row["msgid"]


def test_permanent_failures_are_recorded_and_not_retried(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    smtp.fail_next(1, 550, "5.1.1 No such user")
    assert service.delivery.run().failed == 1
    row = service.store.outgoing()[0]
    assert row["state"] == "failed" and "550" in row["last_error"]
    assert service.delivery.run().sent == 0
    assert smtp.messages == []


def test_the_retry_schedule_starts_fast_and_is_capped() -> None:
    assert retry_delay(1).total_seconds() + retry_delay(2).total_seconds() <= 30
    delays = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert delays == sorted(delays) and max(delays) == RETRY_DELAYS[-1] <= 600


def test_an_unreachable_server_keeps_the_reply_waiting(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    smtp.stop()
    summary = service.delivery.run()
    assert summary.retrying == 1 and "connection" in summary.errors[0]
    assert service.store.outgoing()[0]["state"] == "pending"


def test_a_claim_abandoned_by_a_dead_worker_is_sent_again_with_the_same_message_id(tmp_path: Path, smtp: SmtpSink) -> None:
    from datetime import timedelta

    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    claimed = service.store.claim_due(["email"], lease=timedelta(seconds=-1))  # the worker "dies" holding it
    assert len(claimed) == 1
    assert service.delivery.run().sent == 1
    assert smtp.wait_for(1)[0].message["Message-ID"] == claimed[0].msgid


def test_two_workers_never_send_the_same_reply(tmp_path: Path, smtp: SmtpSink) -> None:
    config_path = write_config(tmp_path, email={"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
    first, second = Service(migrated(load(config_path))), Service(load(config_path))
    for n in range(30):
        first.pipeline.ingest_email("test", inquiry(sender=f"person{n}@example.org"))
    threads = [threading.Thread(target=s.delivery.run) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = smtp.wait_for(30)
    time.sleep(0.3)
    assert len(smtp.messages) == 30
    assert len({m.message["Message-ID"] for m in received}) == 30


@pytest.mark.parametrize("variant", ["starttls", "ssl"])
def test_tls_and_login_are_used_as_configured(tmp_path: Path, variant: str, smtp_tls: SmtpSink, smtp_ssl: SmtpSink,
                                              tls_files, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))
    sink = smtp_tls if variant == "starttls" else smtp_ssl
    service = service_for(tmp_path, sink, security=variant, username=SMTP_USER, password=SMTP_PASSWORD)
    service.pipeline.ingest_email("test", inquiry())
    assert service.delivery.run().sent == 1
    assert sink.wait_for(1) and sink.auth_attempts == [(SMTP_USER, True)]


def test_no_login_is_tried_without_credentials(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    service.delivery.run()
    assert smtp.wait_for(1) and smtp.auth_attempts == []


def test_unreadable_and_headerless_mail_is_recorded_and_skipped(tmp_path: Path, smtp: SmtpSink) -> None:
    service = service_for(tmp_path, smtp)
    assert service.pipeline.ingest_email("test", b"").status == "unreadable"
    garbage = service.pipeline.ingest_email("test", b"\xff\xfe\x00 not mail at all \x00\r\n\r\n\x80")
    assert garbage.status == "skipped" and garbage.category == "automated"
    odd = inquiry().replace(b"From: jordan.lee@example.org", b'From: "x" <a b@@example..org>, <"evil\r\nBcc: x"@example.org>')
    # No address to answer, but a person's words: not answered, and a clinician is asked to look.
    assert service.pipeline.ingest_email("test", odd).status == "notified"
    assert service.pipeline.ingest_email("test", inquiry()).status == "answered", "the loop goes on"
    assert service.delivery.run().sent == 2
    assert not any("Bcc" in str(m.message.keys()) for m in smtp.wait_for(2)), "nothing the sender wrote became a header"


def test_a_claim_left_by_a_killed_process_here_is_taken_over_at_once(tmp_path: Path, smtp: SmtpSink) -> None:
    import socket

    from sqlalchemy import update

    from responder.storage.schema import outbox

    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    [claimed] = service.store.claim_due(["email"])  # a lease of minutes, held by...
    with service.store.transaction() as conn:  # ...a process of this machine that no longer exists
        conn.execute(update(outbox).values(claimed_by=f"{socket.gethostname()}:{2**22 + 12345}"))
    assert service.delivery.run().sent == 1
    assert smtp.wait_for(1)[0].message["Message-ID"] == claimed.msgid


def test_a_421_closing_the_connection_mid_batch_loses_and_repeats_nothing(tmp_path: Path, smtp: SmtpSink) -> None:
    """421: the server is going away. smtplib closes the connection; the reply it refused and
    every one after it in the batch wait for the next attempt, and each is then sent once."""
    service = service_for(tmp_path, smtp)
    for n in range(3):
        service.pipeline.ingest_email("test", inquiry(sender=f"p{n}@example.org"))
    smtp.fail_next(1, 421, "4.3.2 Service shutting down")
    first = service.delivery.run()
    assert (first.sent, first.retrying) == (0, 3) and "421" in first.errors[0]
    rows = service.store.outgoing()
    time.sleep(max((row["next_attempt_at"] - utcnow()).total_seconds() for row in rows) + 0.1)
    assert service.delivery.run().sent == 3
    received = smtp.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in received) == ["p0@example.org", "p1@example.org", "p2@example.org"]
    assert sorted(m.message["Message-ID"] for m in received) == sorted(row["msgid"] for row in rows)
