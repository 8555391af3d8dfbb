"""The store on PostgreSQL, as a practice runs it with several workers: the same guarantees as on
SQLite (once per message, once per reply), with workers racing for the same rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from support import inquiry, migrated, write_config

from responder.config import load
from responder.service import Service
from responder.storage.store import utcnow


def worker(tmp_path: Path, smtp: SmtpSink, url: str, **storage: object) -> Service:
    folder = tmp_path / f"w{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    return Service(migrated(load(write_config(folder, email={"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}},
                                              storage={"url": url, **storage}), environ={})))


def test_each_message_is_recorded_and_answered_once(tmp_path: Path, smtp: SmtpSink, postgres_url: str) -> None:
    with worker(tmp_path, smtp, postgres_url) as service:
        raw = inquiry()
        assert service.pipeline.ingest_email("imap:pg", raw).status == "answered"
        assert service.pipeline.ingest_email("imap:pg", raw).status == "duplicate"
        assert service.delivery.run().sent == 1 and service.delivery.run().sent == 0
        [received] = smtp.wait_for(1)
        assert received.rcpt_tos == ["jordan.lee@example.org"]


def test_workers_racing_for_the_outbox_send_every_reply_exactly_once(tmp_path: Path, smtp: SmtpSink, postgres_url: str) -> None:
    workers = [worker(tmp_path, smtp, postgres_url) for _ in range(4)]
    try:
        for n in range(60):
            workers[n % 4].pipeline.ingest_email("imap:pg", inquiry(sender=f"p{n}@example.org"))
        threads = [threading.Thread(target=w.delivery.run) for w in workers for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        received = smtp.wait_for(60)
        assert sorted(m.rcpt_tos[0] for m in received) == sorted(f"p{n}@example.org" for n in range(60))
        assert len({m.message["Message-ID"] for m in received}) == 60
    finally:
        for w in workers:
            w.close()


def test_metrics_retention_and_sealing_work_on_postgresql(tmp_path: Path, smtp: SmtpSink, postgres_url: str) -> None:
    key = "ZfbqOXY8WTekDyMe7t9CJEvpR8_mGFBbWmY6VLcX4Z0="
    with worker(tmp_path, smtp, postgres_url, encryption_key=key, retention_days=0) as service:
        service.pipeline.ingest_email("imap:pg", inquiry(sender="a@example.org", body="Looking for a therapist, secret words."))
        service.delivery.run()
        text = service.metrics.render().decode()
        assert 'responder_messages_total{category="new_inquiry",channel="email",outcome="replied"} 1.0' in text
        with service.store.engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT raw FROM messages").scalar_one()
        assert bytes(raw).startswith(b"gAAAAA"), "sealed in the database"
        assert service.purge() == 1
        assert service.store.tallies().received == [("email", "new_inquiry", 1)], "the audit stays"
        assert service.store.purge_before(utcnow()) == 0


def test_two_workers_reading_two_messages_from_one_person_answer_once(tmp_path: Path, smtp: SmtpSink, postgres_url: str) -> None:
    """The throttle holds across workers: each round, two workers take two different messages
    from the same person at the same moment; only one reply may be owed."""
    first, second = worker(tmp_path, smtp, postgres_url), worker(tmp_path, smtp, postgres_url)
    try:
        for round_ in range(10):
            sender = f"same{round_}@example.org"
            start = threading.Barrier(2)
            outcomes: list[str] = []

            def ingest(service: Service, subject: str, sender: str = sender, start: threading.Barrier = start,
                       outcomes: list[str] = outcomes) -> None:
                start.wait()
                outcomes.append(service.pipeline.ingest_email("imap:pg", inquiry(sender=sender, subject=subject)).status)

            threads = [threading.Thread(target=ingest, args=(first, "One")), threading.Thread(target=ingest, args=(second, "Two"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(outcomes) == ["answered", "notified"], (round_, outcomes)  # the later one waits on a person
    finally:
        first.close()
        second.close()


def test_workers_racing_to_settle_received_texts_answer_each_once(tmp_path: Path, smtp: SmtpSink, twilio_api: TwilioStandIn,
                                                                 postgres_url: str) -> None:
    """Texts the webhook recorded as received, settled by four workers at once."""
    def texting_worker(n: int) -> Service:
        folder = tmp_path / f"t{n}"
        folder.mkdir()
        sms = {"twilio": {"account_sid": twilio_api.account_sid, "auth_token": twilio_api.auth_token,
                          "from_number": twilio_api.from_number, "api_base_url": twilio_api.base_url},
               "webhook_url": "https://responder.example.org/sms/inbound"}
        return Service(migrated(load(write_config(folder, sms=sms, storage={"url": postgres_url}), environ={})))

    workers = [texting_worker(n) for n in range(4)]
    try:
        for n in range(40):
            form = {"MessageSid": f"SM{n:032x}", "From": f"+1555013{n:04d}", "To": twilio_api.from_number, "Body": "Hi, I'm looking for a therapist for anxiety. Any openings?"}
            assert workers[n % 4].pipeline.ingest_sms("twilio:pg", form, defer=True).status == "received"
        with ThreadPoolExecutor(len(workers)) as pool:
            settled = [future.result() for future in [pool.submit(w.pipeline.settle) for w in workers]]
        assert sum(settled) == 40, settled
        assert sorted(row["to_addr"] for row in workers[0].store.outgoing()) == sorted(f"+1555013{n:04d}" for n in range(40))
    finally:
        for w in workers:
            w.close()
