"""`responder serve` as a practice runs it: the embedded default, IMAP IDLE, servers that go away,
and SIGKILL at any moment."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from servers.dovecot import Dovecot
from servers.smtp import SmtpSink
from support import CORPUS, ROOT, eventually, free_port, inquiry, responder, start_responder, write_config


@pytest.fixture
def env(tls_files) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"SSL_CERT_FILE": str(tls_files.ca_file), "IMAP_PASSWORD": "intake-password"}


def health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics, parsed by prometheus-client's own parser: {(sample name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=15)


def test_the_shipped_example_answers_an_eml_dropped_into_the_inbox(tmp_path: Path) -> None:
    port = free_port()
    text = (ROOT / "config.example.yaml").read_text().replace("port: 8000", f"port: {port}")
    (tmp_path / "config.yaml").write_text(text)
    process = start_responder(tmp_path / "config.yaml", "serve", log=tmp_path / "serve.log")
    try:
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        inbox = tmp_path / "mail" / "inbox"
        shutil.copy(CORPUS / "training" / "dev" / "094-anxious-grad-student.eml", inbox / "question.eml")
        outbox = tmp_path / "mail" / "outbox" / "new"
        replies = eventually(lambda: list(outbox.glob("*")) if outbox.exists() else [], timeout=8, message="a reply in the outbox")
        reply = replies[0].read_text()
        assert "Auto-Submitted: auto-replied" in reply and "Subject: Re: " in reply
        assert list((inbox / "cur").iterdir()), "the message is filed as read by responder"
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()
    log = (tmp_path / "serve.log").read_text()
    assert "@example.org" not in log.replace("r***@example.org", ""), "no full address in the log"


def serve_mail(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str], **imap: object) -> tuple[subprocess.Popen[bytes], int]:
    settings = {"host": "127.0.0.1", "port": dovecot.ssl_port, "ssl": True, "username": dovecot.user,
                "password": "${IMAP_PASSWORD}", "idle": True, "poll_seconds": 60, **imap}
    config = write_config(tmp_path, email={"imap": settings, "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
    port = yaml.safe_load(config.read_text())["server"]["port"]
    process = start_responder(config, "serve", env=env, log=tmp_path / "serve.log")
    eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
    return process, port


def test_with_idle_new_mail_is_answered_without_waiting_for_the_poll(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    """...and /metrics counts what happened."""
    process, port = serve_mail(tmp_path, dovecot, smtp, env)
    try:
        time.sleep(1.5)  # let the first poll and the IDLE bell settle
        for n in range(3):
            started = time.monotonic()
            dovecot.deliver(inquiry(sender=f"idle{n}@example.org"))
            smtp.wait_for(n + 1, timeout=10)
            assert time.monotonic() - started < 5, "answered by IDLE, not by the 60-second poll"
        seen = metrics(port)
        email = (("category", "new_inquiry"), ("channel", "email"))
        assert seen[("responder_messages_received_total", email)] == 3
        assert seen[("responder_messages_total", (*email[:1], *email[1:], ("outcome", "replied")))] == 3
        assert seen[("responder_reply_latency_seconds_count", (("channel", "email"), ("kind", "reply")))] == 3
        assert seen[("responder_reply_latency_seconds_bucket", (("channel", "email"), ("kind", "reply"), ("le", "5.0")))] == 3
        assert seen[("responder_outbox_depth", (("state", "pending"),))] == 0
    finally:
        assert stop(process) == 0


def test_serve_survives_the_mailbox_server_restarting(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    process, port = serve_mail(tmp_path, dovecot, smtp, env, poll_seconds=5)
    try:
        dovecot.deliver(inquiry(sender="before@example.org"))
        smtp.wait_for(1, timeout=10)
        dovecot.stop()
        eventually(lambda: health(port)[0] == 503, timeout=15, message="/healthz reporting the failing mailbox")
        eventually(lambda: any(name.endswith("(IDLE)") for name in health(port)[1].get("failing", {})), timeout=15,
                   message="/healthz naming the failing IDLE connection")
        assert any(name == "responder_source_errors_total" and value >= 1 for (name, _), value in metrics(port).items())
        time.sleep(2)
        dovecot.start()
        dovecot.deliver(inquiry(sender="after@example.org"))
        received = smtp.wait_for(2, timeout=40)
        assert [m.rcpt_tos[0] for m in received] == ["before@example.org", "after@example.org"]
        assert process.poll() is None, "serve kept running"
        eventually(lambda: health(port)[0] == 200, timeout=10, message="/healthz recovering")
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]


def test_sigkill_at_random_moments_leaves_everyone_answered_exactly_once(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    senders = [f"person{n}@example.org" for n in range(40)]
    for sender in senders:
        dovecot.deliver(inquiry(sender=sender))
    config = write_config(tmp_path, email={
        "imap": {"host": "127.0.0.1", "port": dovecot.ssl_port, "username": dovecot.user, "password": "${IMAP_PASSWORD}"},
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
    chance = random.Random(7)
    for _ in range(8):
        process = start_responder(config, "poll", "--once", env=env)
        time.sleep(chance.uniform(0.3, 1.2))
        process.kill()
        process.wait()
    responder(config, "poll", "--once", env=env, check=True)
    eventually(lambda: len({m.rcpt_tos[0] for m in smtp.messages}) == len(senders), timeout=10, message="every sender answered")
    ids: dict[str, set[str]] = defaultdict(set)
    for message in smtp.messages:
        ids[message.rcpt_tos[0]].add(message.message["Message-ID"])
    assert sorted(ids) == sorted(senders)
    assert all(len(found) == 1 for found in ids.values()), {k: v for k, v in ids.items() if len(v) > 1}


def test_sigterm_mid_batch_stops_cleanly_and_sends_nothing_twice(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink, env: dict[str, str]) -> None:
    """A graceful stop lets the send in flight finish and be marked, so unlike SIGKILL it never
    causes a resend: every sender gets exactly one message, not merely one Message-ID."""
    senders = [f"calm{n}@example.org" for n in range(30)]
    for sender in senders:
        dovecot.deliver(inquiry(sender=sender))
    process, _ = serve_mail(tmp_path, dovecot, smtp, env)
    chance = random.Random(11)
    for round_ in range(3):
        time.sleep(chance.uniform(0.2, 0.8))
        started = time.monotonic()
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]
        assert time.monotonic() - started < 10, "SIGTERM stops within seconds"
        if round_ < 2:
            process, _ = serve_mail(tmp_path, dovecot, smtp, env)
    responder(tmp_path / "config.yaml", "poll", "--once", env=env, check=True)
    eventually(lambda: len(smtp.messages) >= len(senders), timeout=10, message="every sender answered")
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(senders), "one message each, none twice"


def test_a_file_over_the_size_limit_in_the_maildir_is_recorded_not_read(tmp_path: Path) -> None:
    """The embedded default's inbox keeps the same limit as IMAP: the header is read, the rest is not."""
    import sqlite3

    text = (ROOT / "config.example.yaml").read_text()
    config = yaml.safe_load(text)
    config["email"]["max_message_bytes"] = 10_000
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    inbox = tmp_path / "mail" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "big.eml").write_bytes(inquiry(sender="big@example.org", body="Looking for a therapist. " + "x" * 20_000))
    (inbox / "small.eml").write_bytes(inquiry(sender="small@example.org"))
    result = responder(tmp_path / "config.yaml", "poll", "--once", check=True)
    assert "2 new message(s); 1 sent" in result.stdout
    replies = list((tmp_path / "mail" / "outbox" / "new").iterdir())
    assert len(replies) == 1 and "To: small@example.org" in replies[0].read_text()
    database = next((tmp_path / "var").glob("*.db"))
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT status FROM messages WHERE sender = 'big@example.org'").fetchone() == ("too_large",)


def test_json_logs_carry_no_subject_body_or_full_address(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    config["logging"] = {"format": "json"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    inbox = tmp_path / "mail" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "one.eml").write_bytes(inquiry(sender="jordan.lee@example.org", subject="Private subject line",
                                            body="Looking for a therapist; my secret worry is a private word."))
    (inbox / "broken.eml").write_bytes(b"\xff\xfe not a message at all")
    result = responder(tmp_path / "config.yaml", "poll", "--once", check=True)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    assert any("j***@example.org" in entry["message"] for entry in lines)
    for secret in ("jordan.lee@", "Private subject", "secret worry", "private word"):
        assert secret not in result.stderr


def test_retention_purges_the_words_and_keeps_the_audit(tmp_path: Path) -> None:
    import sqlite3

    config = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    config["storage"]["retention_days"] = 0  # purge as soon as a message's replies are done
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    inbox = tmp_path / "mail" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "one.eml").write_bytes(inquiry(sender="jordan.lee@example.org", subject="Private subject line", body="Looking for a therapist."))
    responder(tmp_path / "config.yaml", "poll", "--once", check=True)
    assert len(list((tmp_path / "mail" / "outbox" / "new").iterdir())) == 1, "the reply went out before the purge"
    database = next((tmp_path / "var").glob("*.db"))
    with sqlite3.connect(database) as db:
        raw, subject, category, status, reasons = db.execute("SELECT raw, subject, category, status, reasons FROM messages").fetchone()
        body, out_raw, state = db.execute("SELECT body, raw, state FROM outbox WHERE kind = 'reply'").fetchone()
    assert raw is None and subject == "" and body == "" and out_raw == b""
    assert (category, status, state) == ("new_inquiry", "answered", "sent") and "model:" not in reasons


def test_retention_keeps_a_waiting_draft_whole(tmp_path: Path) -> None:
    import sqlite3

    config = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    config["storage"]["retention_days"] = 0
    config["replies"]["new_inquiry"] = {"mode": "approve"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    inbox = tmp_path / "mail" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "one.eml").write_bytes(inquiry(sender="jordan.lee@example.org", body="Looking for a therapist."))
    responder(tmp_path / "config.yaml", "poll", "--once", check=True)
    with sqlite3.connect(next((tmp_path / "var").glob("*.db"))) as db:
        assert db.execute("SELECT raw IS NOT NULL FROM messages").fetchone() == (1,)
        assert db.execute("SELECT length(body) > 0 FROM outbox WHERE kind = 'reply'").fetchone() == (1,)
