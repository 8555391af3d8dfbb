"""Schema migrations: stores written by earlier releases (tests/fixtures/stores, made by those
releases' own code; see the README there) brought up to this one on SQLite and PostgreSQL, with
nothing lost and nobody answered twice; workers starting together migrate once; commands that
only read the store never change its schema."""

from __future__ import annotations

import fcntl
import json
import shutil
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from servers.postgres import Postgres
from servers.smtp import SmtpSink
from sqlalchemy import create_engine, text
from stores import FIXTURES, MADE, ae602ba_store, backend, libpq, postgres, rows
from support import eventually, inquiry, responder, start_responder, write_config

from responder.storage import migrate
from responder.storage.schema import metadata
from responder.storage.store import Store, utcnow

__all__ = ["backend", "postgres"]  # fixtures, used by name
HEAD = "0008"


def config_for(folder: Path, url: str, **sections: Any) -> Path:
    folder.mkdir(exist_ok=True)
    return write_config(folder, storage={"url": url}, **sections)


@pytest.fixture
def fixture_maildir() -> Iterator[Path]:
    """The Maildir the fixtures were made over: a Maildir source is named by its path, so polling
    it again means the same path (held under a lock, for runs that overlap)."""
    path = Path(MADE["maildir"])
    with open(path.parent.with_name(path.parent.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(path.parent, ignore_errors=True)
        try:
            yield path
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)


# -- what a store holds ----------------------------------------------------------------------------

def schema(url: str, postgres: Postgres | None) -> str:
    """The whole schema, as the database itself writes it out."""
    if postgres is not None:
        dump = subprocess.run([postgres.binary("pg_dump"), "--schema-only", libpq(url)], check=True, capture_output=True, text=True).stdout
        return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))  # a random key each time
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return "\n".join(f"{kind} {name}: {sql}" for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name"))


def differences(url: str) -> list[Any]:
    """What alembic's autogenerate finds between the store and schema.py: empty when they agree."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*expression-based index")
            return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata))
    finally:
        engine.dispose()


def model_reading(reason: str) -> bool:
    return reason.startswith("model:")


# -- the release before migrations (ae602ba) -----------------------------------------------------

def test_a_store_made_by_ae602ba_migrates_with_nothing_lost(tmp_path: Path, backend: str, postgres: Postgres | None) -> None:
    url = ae602ba_store(tmp_path, backend, postgres)
    config = config_for(tmp_path / "c", url)
    before = rows(url)
    assert "alembic_version" not in before

    result = responder(config, "migrate", check=True)
    assert f"the store is at revision {HEAD} (was unversioned or new)" in result.stdout

    after = rows(url)
    assert after.pop("alembic_version") == [{"version_num": HEAD}]
    conversations, identities = after.pop("conversations"), after.pop("identities")
    joined = {row["id"]: row.pop("conversation_id") for row in after["messages"]}
    assert after.pop("access_log") == [] and {row.pop("author") for row in after["outbox"]} == {None}
    assert after.pop("oauth_tokens") == [] and after.pop("notices_sent") == []  # 0007: no account has signed in with OAuth2 yet
    assert {row.pop("text") for row in after["messages"]} == {None}  # kept from 0005 on; older rows are read from raw
    # Every table, row and value as it was; the changes: the model's reading moved out of the
    # reasons into evidence, in order, the other reasons kept in order (0002); each person's
    # message joined to a conversation (0003); clinicians' replies and the access log (0004).
    for row in before["messages"]:
        reasons = row["reasons"]
        row["reasons"] = [r for r in reasons if not model_reading(r)]
        row["evidence"] = json.dumps([r for r in reasons if model_reading(r)], ensure_ascii=False)  # JSON text, sealed by reseal
    assert after == before
    # Conversations backfilled by the pipeline's rules: each person's message in one; the
    # solicitation, the bounce and the STOP in none; nothing waits on us for history.
    senders = {row["id"]: row["sender"] for row in after["messages"]}
    assert [senders[id] for id, conversation in joined.items() if conversation is None] == [
        "chad.renwick@rankrocket.test", "mailer-daemon@mx1.practice.test", "+15550107777"]
    assert len(conversations) == 16 and not any(c["waiting_on_us"] for c in conversations)
    known = {(i["kind"], i["value"]): i["conversation_id"] for i in identities}
    by_message = {senders[id]: conversation for id, conversation in joined.items()}
    # A directory relay is the person's, never its no-reply sender's; a number given in the text is theirs too.
    assert ("email", "no-reply@therapyfinder.test") not in known
    assert known["email", "bettany.rourke@example.org"] == known["phone", "+15550116043"] == by_message["no-reply@therapyfinder.test"]
    # A referral is about the client it names, the referrer its source; the referrer's own numbers name nobody.
    referred = next(c for c in conversations if c["id"] == by_message["tgreenleaf@aldercreekmed.test"])
    assert referred["referral_source"] == "tgreenleaf@aldercreekmed.test"
    assert [value for (kind, value), c in known.items() if c == referred["id"]] == ["+15550148823"]
    assert ("phone", "+15550148810") not in known and ("phone", "+15550148800") not in known
    assert sum(row["evidence"] != "[]" for row in after["messages"]) == 16
    assert not any(model_reading(reason) for row in after["messages"] for reason in row["reasons"])
    # What the practice had, by name: drafts waiting, sent and rejected; referral sources; replies
    # owed and sent; the opt-out; both cursors.
    assert sorted(d["state"] for d in after["drafts"]) == ["rejected", "sent", "waiting", "waiting"]
    assert len(after["referrals"]) == 4 and len(after["draft_events"]) == 7
    assert sum(o["state"] == "pending" for o in after["outbox"]) == 6 and sum(o["state"] == "sent" for o in after["outbox"]) == 18
    assert [o["number"] for o in after["optouts"]] == ["+15550107777"]
    assert sorted(c["source"] for c in after["cursors"]) == [f"maildir:{MADE['maildir']}", f"twilio:{MADE['twilio_number']}"]

    assert differences(url) == []
    shape = schema(url, postgres)
    again = responder(config, "migrate", check=True)
    assert f"the store is at revision {HEAD}: nothing to do" in again.stdout
    again_rows = rows(url)
    assert again_rows.pop("conversations") == conversations and again_rows.pop("identities") == identities
    assert {row["id"]: row.pop("conversation_id") for row in again_rows["messages"]} == joined
    assert again_rows.pop("access_log") == [] and {row.pop("author") for row in again_rows["outbox"]} == {None}
    assert again_rows.pop("oauth_tokens") == [] and again_rows.pop("notices_sent") == []
    assert {row.pop("text") for row in again_rows["messages"]} == {None}
    assert schema(url, postgres) == shape and again_rows == {**after, "alembic_version": [{"version_num": HEAD}]}


def test_a_migrated_store_answers_nobody_again_and_sends_what_was_owed_once(tmp_path: Path, backend: str, smtp: SmtpSink,
                                                                         postgres: Postgres | None, fixture_maildir: Path) -> None:
    url = ae602ba_store(tmp_path, backend, postgres)
    owed = {row["msgid"] for row in rows(url)["outbox"] if row["state"] == "pending"}
    config = config_for(tmp_path / "c", url, email={"maildir": {"inbox": str(fixture_maildir)},
                                                    "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
    (fixture_maildir / "new").mkdir(parents=True)
    for name in (*MADE["ae602ba"]["round1"], *MADE["ae602ba"]["round2"]):  # every message the store has seen, back in the Maildir
        shutil.copyfile(FIXTURES / "inbox" / name, fixture_maildir / "new" / name)
    before = rows(url)

    first = responder(config, "poll", "--once", check=True)  # migrates at start
    assert "0 new message(s); 6 sent" in first.stdout, first.stdout + first.stderr
    assert {message.message["Message-ID"] for message in smtp.wait_for(6)} == owed
    after = rows(url)
    assert len(after["messages"]) == len(before["messages"]) and len(after["outbox"]) == len(before["outbox"])
    assert [o["id"] for o in after["outbox"] if o["state"] == "held"] == [o["id"] for o in before["outbox"] if o["state"] == "held"]
    assert {o["msgid"] for o in after["outbox"] if o["state"] == "sent"} == {o["msgid"] for o in before["outbox"] if o["state"] == "sent"} | owed

    assert "0 new message(s); 0 sent" in responder(config, "poll", "--once", check=True).stdout
    assert len(smtp.messages) == 6
    # The drafts still wait, and a clinician reads them as before, with the model's reading.
    waiting = json.loads(responder(config, "drafts", "list", "--json", check=True).stdout)
    assert sorted(d["id"] for d in waiting) == [3, 4]
    shown = responder(config, "drafts", "show", "3", check=True).stdout
    assert "professional_referral" in shown and "model: " in shown


def test_workers_starting_together_migrate_once(tmp_path: Path, backend: str, postgres: Postgres | None) -> None:
    url = ae602ba_store(tmp_path, backend, postgres)
    config = config_for(tmp_path / "c", url)
    workers = [subprocess.Popen([sys.executable, "-m", "responder", "--config", str(config), "migrate"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    said = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, said
    assert sorted(out.strip() for out, _ in said) == sorted([f"the store is at revision {HEAD} (was unversioned or new)"]
                                                            + [f"the store is at revision {HEAD}: nothing to do"] * 3)
    assert len(rows(url)["drafts"]) == 4 and differences(url) == []


# -- the first release (4a3e759): the oldest shapes ------------------------------------------------

def test_a_store_made_by_the_first_release_migrates(tmp_path: Path) -> None:
    shutil.copyfile(FIXTURES / "4a3e759.sqlite3", tmp_path / "responder.db")
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    config = config_for(tmp_path / "c", url)
    before = rows(url)
    assert set(before) == {"cursors", "messages", "outbox"}

    responder(config, "migrate", check=True)

    after = rows(url)
    assert differences(url) == []
    # cursors.last_uid is now position, the outbox has claimed_by: every value kept.
    assert after["cursors"] == [{**{k: v for k, v in c.items() if k != "last_uid"}, "position": c["last_uid"]} for c in before["cursors"]]
    assert after["outbox"] == [{**o, "claimed_by": None, "author": None} for o in before["outbox"]]
    joined = [m.pop("conversation_id") for m in after["messages"]]
    assert after["messages"] == [{**m, "evidence": "[]", "text": None} for m in before["messages"]]  # the first release had no model
    assert joined == [1, 2, 3, None, 4] and len(after["conversations"]) == 4  # each person's in one; the bounce in none
    with sqlite3.connect(tmp_path / "responder.db") as conn:
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
        outbox_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    assert indexes == {"ix_messages_status_channel_category", "ix_outbox_state_kind_message", "ix_outbox_to", "ix_outbox_to_lower",
                       "ix_messages_conversation_id", "ix_outbox_msgid",
                       "uq_outbox_automatic", "uq_outbox_human", "ix_access_log_at", "ix_conversations_waiting", "ix_conversations_activity",
                       "ix_conversations_clinician", "ix_outbox_message_id", "ix_identities_conversation_id", "ix_conversations_waitlist_since"}
    assert "UNIQUE" not in outbox_sql  # one of each kind per message and channel is now uq_outbox_automatic's, but for human replies
    # The reply the first release held for approval, where no page showed it, now waits as a draft.
    [held] = [o for o in before["outbox"] if o["state"] == "held"]
    [draft] = json.loads(responder(config, "drafts", "list", "--json", check=True).stdout)
    assert draft["to"] == held["to_addr"] and draft["body"] == held["body"] and draft["category"] == "professional_referral"
    # Written long ago: neither a reminder burst nor a late acknowledgement to the person is owed for it.
    [made] = rows(url)["drafts"]
    assert made["reminded_at"] is not None and made["fallback_at"] is not None


def test_a_store_of_mixed_shapes_migrates(tmp_path: Path) -> None:
    """Tables created by different releases: made at 94540ff (no outbox.claimed_by yet) and last run
    by a635241 (its create_all added the outbox indexes on open, not ix_messages_status)."""
    shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
    with sqlite3.connect(tmp_path / "responder.db") as conn:
        conn.execute("DROP INDEX ix_messages_status")
        conn.execute("ALTER TABLE outbox DROP COLUMN claimed_by")
    conn.close()
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    before = rows(url)
    assert migrate.upgrade(url) == (None, HEAD)
    after = rows(url)
    assert differences(url) == []
    assert after["outbox"] == [{**row, "claimed_by": None, "author": None} for row in before["outbox"]]
    assert after["drafts"] == before["drafts"] and after["referrals"] == before["referrals"]
    with sqlite3.connect(tmp_path / "responder.db") as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'ix_messages_status_channel_category'").fetchone() == (1,)
    conn.close()


def test_a_person_who_wrote_twice_before_conversations_migrates_into_one(tmp_path: Path) -> None:
    """Migration 0003 joins old messages with today's joining code, so that code reads only what
    0003 made (not 0006's waitlist_since), and 0003 never closes a conversation (timedelta.max)."""
    shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
    with sqlite3.connect(tmp_path / "responder.db") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
        first = dict(zip(columns, conn.execute("SELECT * FROM messages WHERE category = 'new_inquiry' ORDER BY id").fetchone(), strict=True))
        again = {**{k: v for k, v in first.items() if k != "id"}, "key": first["key"] + "-again"}
        conn.execute(f"INSERT INTO messages ({', '.join(again)}) VALUES ({', '.join('?' * len(again))})", list(again.values()))
    conn.close()
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    assert migrate.upgrade(url) == (None, HEAD)
    with sqlite3.connect(tmp_path / "responder.db") as conn:
        assert conn.execute("SELECT count(DISTINCT conversation_id), count(*) FROM messages WHERE sender = ?",
                            (first["sender"],)).fetchone() == (1, 2)
    conn.close()


# -- a new store, and going back -------------------------------------------------------------------

def test_a_new_store_is_made_by_the_migrations_as_schema_py_declares(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'responder.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    assert migrate.upgrade(url) == (None, HEAD)
    assert migrate.upgrade(url) == (HEAD, HEAD)
    assert differences(url) == []
    assert migrate.problem(url) is None


def test_evidence_goes_back_into_the_reasons_on_downgrade_and_out_again(tmp_path: Path) -> None:
    shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    original = {row["id"]: row["reasons"] for row in rows(url)["messages"]}
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0001")
    engine.dispose()
    downgraded = rows(url)["messages"]
    assert "evidence" not in downgraded[0]
    # The reasons hold the same lines; the model's reading comes last, where the pipeline wrote it.
    assert {row["id"]: sorted(row["reasons"]) for row in downgraded} == {id: sorted(reasons) for id, reasons in original.items()}
    assert migrate.upgrade(url) == ("0001", HEAD)
    assert all(not any(model_reading(r) for r in row["reasons"]) for row in rows(url)["messages"])


def test_retention_clears_the_evidence_and_keeps_the_reasons(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    migrate.upgrade(url)
    store = Store(url)
    with store.transaction() as conn:
        row = store.record(conn, {"source": "test", "key": "k", "channel": "email", "sender": "a@example.org", "subject": "Hello",
                                  "raw": b"words", "status": "answered", "reasons": ["rule: asks about therapy"],
                                  "evidence": ['model: reads as new_inquiry (0.91; "therapist")'], "facts": {}})
    assert store.purge_before(utcnow()) == 1
    purged = store.message(row.id)
    assert purged is not None and purged["reasons"] == ["rule: asks about therapy"] and purged["evidence"] == []
    assert purged["raw"] is None and purged["subject"] == ""
    store.engine.dispose()


# -- commands that only read the store --------------------------------------------------------------

# The commands that use the store as it is (serve and poll migrate it first; the rest never open it).
AS_IT_IS = [["drafts", "list"], ["drafts", "show", "1"], ["drafts", "approve", "1"], ["report", "referrals"], ["reseal"]]
# The lists among them: before anything is recorded they list nothing, with exit 0 as the contract says.
LISTS = [(["drafts", "list", "--json"], "[]"), (["drafts", "list"], "no drafts waiting"), (["conversations", "list", "--json"], "[]"),
         (["conversations", "list"], "no conversations"), (["report", "referrals", "--json"], "[]")]


def test_commands_that_only_read_the_store_leave_a_missing_one_missing(tmp_path: Path) -> None:
    config = config_for(tmp_path, "sqlite:///var/responder.db")
    for args in AS_IT_IS:
        if args[:2] in [listed[:2] for listed, _ in LISTS]:
            continue
        result = responder(config, *args)
        assert result.returncode == 1, args
        assert "there is no store at" in result.stderr and "run `responder migrate`" in result.stderr, (args, result.stderr)
    for args, nothing in LISTS:
        result = responder(config, *args)
        assert result.returncode == 0 and result.stdout.strip() == nothing, (args, result.stdout, result.stderr)
        assert "there is no store at" in result.stderr, "said, beside the empty list"
    checked = responder(config, "check")
    assert checked.returncode == 0 and "warn store: there is no store at" in checked.stdout
    assert not (tmp_path / "var").exists()


def test_the_lists_list_nothing_from_an_empty_store_and_refuse_one_behind(tmp_path: Path) -> None:
    """An empty database (a new PostgreSQL one, say) holds nothing yet; a store behind holds what
    this release cannot read until it is migrated."""
    (tmp_path / "responder.db").touch()
    config = config_for(tmp_path, "sqlite:///responder.db")
    for args, nothing in LISTS:
        result = responder(config, *args)
        assert result.returncode == 0 and result.stdout.strip() == nothing, (args, result.stderr)
    shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
    for args, _ in LISTS:
        result = responder(config, *args)
        assert result.returncode == 1 and "run `responder migrate`" in result.stderr, args


def test_commands_that_only_read_the_store_leave_an_old_one_as_it_was(tmp_path: Path) -> None:
    shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    config = config_for(tmp_path / "c", url)
    shape = schema(url, None)
    for args in AS_IT_IS:
        result = responder(config, *args)
        assert result.returncode == 1 and "was made by a release before migrations: run `responder migrate`" in result.stderr, args
    checked = responder(config, "check")
    assert checked.returncode == 0 and "warn store: the store at" in checked.stdout
    assert schema(url, None) == shape


def test_a_store_a_newer_release_migrated_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    config = config_for(tmp_path / "c", url)
    for args in (["migrate"], ["poll", "--once"], ["drafts", "list"]):
        result = responder(config, *args)
        assert result.returncode == 1 and "revision 0099, which this release does not know" in result.stderr, args
    assert "FAIL store: " in responder(config, "check").stdout


@pytest.mark.parametrize("started", ["poll", "serve"])
def test_serve_and_poll_migrate_at_start(tmp_path: Path, started: str) -> None:
    shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    outbox = tmp_path / "outbox"
    # The fixture's drafts grow older than any reminder interval as the fixture ages: serve would
    # remind of them, and the count below would depend on the day. Reminders are not what is tested.
    config = config_for(tmp_path / "c", url, email={"maildir": {"inbox": str(tmp_path / "inbox"), "outbox": str(outbox)}},
                        approval={"remind_after_minutes": None})
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "one.eml").write_bytes(inquiry(sender="new.person@example.org"))
    if started == "serve":
        process = start_responder(config, "serve", log=tmp_path / "serve.log")
        try:
            eventually(lambda: (outbox / "new").exists() and len(list((outbox / "new").iterdir())) == 7, timeout=30,
                       message="the new reply and the six owed, sent")
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0
    else:
        assert "1 new message(s); 7 sent" in responder(config, "poll", "--once", check=True).stdout
    assert migrate.problem(url) is None
    [new] = [row for row in rows(url)["messages"] if row["sender"] == "new.person@example.org"]
    assert isinstance(json.loads(new["evidence"]), list) and not any(model_reading(r) for r in new["reasons"])
