"""Drafts for categories in approve mode: held, approved (with edits) or rejected, sent exactly
once; notices, reminders and the fallback acknowledgement."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import yaml
from servers.smtp import SmtpSink
from sqlalchemy import update
from support import inquiry, migrated, responder, write_config

from responder.config import load
from responder.service import Service
from responder.storage.schema import drafts as drafts_table
from responder.storage.store import utcnow

REFERRAL = dict(sender="Dr. Jane Roe <jane.roe@clinic.example.org>", subject="Referral: a patient with panic attacks",
                body="Hello, I'm a physician at Riverside Clinic and I'd like to refer a patient of mine, age 34, for panic attacks. "
                     "She has Aetna. Jane Roe, MD")


def approve_config(folder: Path, smtp: SmtpSink, **approval: object) -> Path:
    path = write_config(folder, email={"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}},
                        approval=approval or {"remind_after_minutes": 60})
    data = yaml.safe_load(path.read_text())
    data["replies"] = {"new_inquiry": {"mode": "approve"}, "professional_referral": {"mode": "approve"}}
    data["web"] = {"public_url": "https://responder.example.org"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_draft_waits_and_the_clinician_is_told_where(tmp_path: Path, smtp: SmtpSink) -> None:
    service = Service(migrated(load(approve_config(tmp_path, smtp))))
    assert service.pipeline.ingest_email("test", inquiry(**REFERRAL)).status == "held"
    service.delivery.run()
    received = smtp.wait_for(2)  # the notice, and the task to reach the referred client
    notice = next(m for m in received if "waiting for your approval" in m.message["Subject"])
    assert notice.rcpt_tos == ["clinician@practice.test"]
    assert "https://responder.example.org/drafts/1" in notice.message.get_content()
    [draft] = service.approvals.waiting()
    assert (draft.category, draft.to, draft.channel) == ("professional_referral", "jane.roe@clinic.example.org", "email")
    assert "panic attacks" in draft.message_text and draft.reasons and "Thank you" in draft.body
    time.sleep(0.3)
    assert all(m.rcpt_tos == ["clinician@practice.test"] for m in smtp.messages), "the reply itself waits"


def test_approved_with_edits_the_reply_is_sent_once_as_edited(tmp_path: Path, smtp: SmtpSink) -> None:
    service = Service(migrated(load(approve_config(tmp_path, smtp))))
    service.pipeline.ingest_email("test", inquiry(**REFERRAL))
    [draft] = service.approvals.waiting()
    assert service.approvals.approve(draft.id, "priya", "Dear Dr. Roe,\n\nThank you! I will call her today.\n\nPriya")
    assert not service.approvals.approve(draft.id, "sam"), "a draft is decided once"
    service.delivery.run()
    service.delivery.run()
    smtp.wait_for(3)
    time.sleep(0.3)
    replies = [m for m in smtp.messages if m.rcpt_tos == ["jane.roe@clinic.example.org"]]
    assert len(replies) == 1 and len(smtp.messages) == 3
    reply = replies[0].message
    assert reply.get_content().strip() == "Dear Dr. Roe,\n\nThank you! I will call her today.\n\nPriya"
    assert reply["Subject"] == "Re: Referral: a patient with panic attacks" and reply["Auto-Submitted"] == "auto-replied"
    assert reply["Message-ID"] == service.store.draft(draft.id)["msgid"]
    assert service.store.draft(draft.id)["state"] == "sent"
    actions = [(e["action"], e["actor"]) for e in service.approvals.history()]
    assert actions == [("sent", "responder"), ("edited", "priya"), ("created", "responder")]


def test_a_rejected_draft_is_never_sent(tmp_path: Path, smtp: SmtpSink) -> None:
    service = Service(migrated(load(approve_config(tmp_path, smtp))))
    service.pipeline.ingest_email("test", inquiry(**REFERRAL))
    [draft] = service.approvals.waiting()
    assert service.approvals.reject(draft.id, "priya")
    assert not service.approvals.approve(draft.id, "priya")
    service.delivery.run()
    smtp.wait_for(2)  # the notice and the task
    time.sleep(0.3)
    assert [m.rcpt_tos for m in smtp.messages] == [["clinician@practice.test"]] * 2
    assert service.approvals.waiting() == []


def test_reminders_then_the_fallback_acknowledgement(tmp_path: Path, smtp: SmtpSink) -> None:
    service = Service(migrated(load(approve_config(tmp_path, smtp, remind_after_minutes=30, fallback_after_minutes=120))))
    service.pipeline.ingest_email("test", inquiry(**REFERRAL))
    assert service.approvals.remind_and_fall_back() == 0, "too early"
    with service.store.transaction() as conn:  # the draft has waited 45 minutes
        conn.execute(update(drafts_table).values(created_at=utcnow() - timedelta(minutes=45)))
    assert service.approvals.remind_and_fall_back() == 1
    assert service.approvals.remind_and_fall_back() == 0, "one reminder per draft"
    with service.store.transaction() as conn:
        conn.execute(update(drafts_table).values(created_at=utcnow() - timedelta(minutes=125)))
    assert service.approvals.remind_and_fall_back() == 1
    service.delivery.run()
    received = smtp.wait_for(4)
    assert "Reminder" in [m.message["Subject"] for m in received if m.rcpt_tos == ["clinician@practice.test"]][-1]
    fallback = next(m for m in received if m.rcpt_tos == ["jane.roe@clinic.example.org"]).message
    assert "get back to you soon" in fallback.get_content() and fallback["Auto-Submitted"] == "auto-replied"
    [draft] = service.approvals.waiting()
    assert service.approvals.approve(draft.id, "priya"), "the clinician can still answer properly"


def test_the_fallback_is_written_in_the_persons_language(tmp_path: Path, smtp: SmtpSink) -> None:
    service = Service(migrated(load(approve_config(tmp_path, smtp, fallback_after_minutes=120))))
    spanish = inquiry(sender="lucia@example.org", subject="Terapia", body="Hola, busco terapia para mi ansiedad. ¿Tienen citas por la tarde? Gracias.")
    assert service.pipeline.ingest_email("test", spanish).status == "held"
    with service.store.transaction() as conn:
        conn.execute(update(drafts_table).values(created_at=utcnow() - timedelta(minutes=125)))
    assert service.approvals.remind_and_fall_back() == 2  # the reminder, and the fallback
    service.delivery.run()
    fallback = next(m for m in smtp.wait_for(3) if m.rcpt_tos == ["lucia@example.org"]).message
    assert "Gracias por su mensaje" in fallback.get_content()


def test_the_command_line_lists_shows_approves_and_rejects(tmp_path: Path, smtp: SmtpSink) -> None:
    config = approve_config(tmp_path, smtp)
    service = Service(migrated(load(config)))
    service.pipeline.ingest_email("test", inquiry(**REFERRAL))
    service.pipeline.ingest_email("test", inquiry(sender="sam@example.net", body="Hi, I'd like to start therapy for grief."))
    service.close()
    listed = json.loads(responder(config, "drafts", "list", "--json", check=True).stdout)
    assert [d["id"] for d in listed] == [2, 1], "newest first"
    assert set(listed[0]) >= {"id", "category", "channel", "to", "subject", "body", "created_at"}
    assert listed[0]["to"] == "sam@example.net" and listed[1]["category"] == "professional_referral"
    shown = responder(config, "drafts", "show", "1", check=True).stdout
    assert "panic attacks" in shown and "Why:" in shown and "jane.roe@clinic.example.org" in shown
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'w').write('Edited on the command line.')\n")
    approved = responder(config, "drafts", "approve", "1", "--edit", env={"EDITOR": f"{sys.executable} {editor}"}, check=True)
    assert "sent" in approved.stdout
    assert responder(config, "drafts", "approve", "1").returncode == 1
    assert responder(config, "drafts", "reject", "2", check=True).returncode == 0
    assert responder(config, "drafts", "reject", "2").returncode == 1
    assert responder(config, "drafts", "approve", "99").returncode == 1
    assert json.loads(responder(config, "drafts", "list", "--json", check=True).stdout) == []
    replies = [m for m in smtp.wait_for(1) if m.rcpt_tos == ["jane.roe@clinic.example.org"]]
    assert [m.message.get_content().strip() for m in replies] == ["Edited on the command line."]


def test_hash_password_makes_an_argon2_hash(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "responder", "hash-password"], input="correct horse battery\n",
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("$argon2id$")
