"""storage.encryption_key: what people wrote is sealed in the database, open to responder."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support import ROOT, inquiry, responder

SECRET_WORDS = b"my secret worry about the panic"


def practice(tmp_path: Path, mode: str = "approve") -> Path:
    config = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    config["storage"] = {"url": "sqlite:///responder.db", "encryption_key": "${RESPONDER_STORAGE_KEY}"}
    config["replies"]["new_inquiry"] = {"mode": mode}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "mail" / "inbox").mkdir(parents=True)
    (tmp_path / "mail" / "inbox" / "one.eml").write_bytes(
        inquiry(sender="jordan.lee@example.org", subject="Private subject line", body=f"Looking for a therapist: {SECRET_WORDS.decode()}."))
    return path


def new_key() -> str:
    return responder(ROOT / "config.example.yaml", "new-key", check=True).stdout.strip()


def test_the_database_holds_no_word_of_the_message_and_responder_reads_it_all(tmp_path: Path) -> None:
    key = new_key()
    config = practice(tmp_path)
    responder(config, "poll", "--once", env={"RESPONDER_STORAGE_KEY": key}, check=True)
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("responder.db*"))
    for words in (SECRET_WORDS, b"Private subject line", b"Looking for a therapist", b"Harbor Light"):
        assert words not in stored, words
    [draft] = json.loads(responder(config, "drafts", "list", "--json", env={"RESPONDER_STORAGE_KEY": key}, check=True).stdout)
    assert draft["subject"] == "Re: Private subject line" and "Harbor Light" in draft["body"]


def test_a_wrong_key_is_refused_plainly_and_a_rotated_one_reads_old_rows(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    config = practice(tmp_path)
    responder(config, "poll", "--once", env={"RESPONDER_STORAGE_KEY": old}, check=True)
    wrong = responder(config, "drafts", "list", "--json", env={"RESPONDER_STORAGE_KEY": new})
    assert wrong.returncode == 2 and "not the key it was sealed with" in wrong.stderr and "Traceback" not in wrong.stderr
    rotated = responder(config, "drafts", "list", "--json", env={"RESPONDER_STORAGE_KEY": f"{new},{old}"}, check=True)
    assert json.loads(rotated.stdout)[0]["subject"] == "Re: Private subject line"


def test_a_malformed_key_names_the_setting(tmp_path: Path) -> None:
    result = responder(practice(tmp_path), "check", env={"RESPONDER_STORAGE_KEY": "not-a-key"})
    assert result.returncode == 2 and "storage.encryption_key" in result.stderr and "Fernet" in result.stderr


def test_replies_leave_readable_while_their_stored_copy_is_sealed(tmp_path: Path) -> None:
    key = new_key()
    config = practice(tmp_path, mode="auto")
    assert "1 sent" in responder(config, "poll", "--once", env={"RESPONDER_STORAGE_KEY": key}, check=True).stdout
    [reply] = (tmp_path / "mail" / "outbox" / "new").iterdir()
    assert "Harbor Light" in reply.read_text() and "Re: Private subject line" in reply.read_text()
    assert b"Harbor Light" not in b"".join(path.read_bytes() for path in tmp_path.glob("responder.db*"))
