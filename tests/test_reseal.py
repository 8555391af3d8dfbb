"""`responder reseal`: turning storage.encryption_key on later seals the rows written before it, and
a new key (rotation) seals every row again under it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from servers.postgres import Postgres
from stores import ae602ba_store, backend, postgres, rows
from support import inquiry, responder, write_config

from responder.config import load
from responder.service import Service
from responder.storage import migrate

__all__ = ["backend", "postgres"]  # fixtures, used by name
SEALED = {"messages": ("subject", "raw", "evidence"), "outbox": ("subject", "body", "raw")}  # seal.py's columns
SECRET = "the secret worry of the new person"


def stored(url: str) -> dict[tuple[str, int, str], bytes]:
    """Every value of a sealed column, as the database holds it."""
    found = {}
    for table, columns in SEALED.items():
        for row in rows(url)[table]:
            for column in columns:
                if row[column] is not None:
                    value = row[column]
                    found[(table, row["id"], column)] = value.encode() if isinstance(value, str) else bytes(value)
    return found


def opened(values: dict[tuple[str, int, str], bytes], key: str | None) -> dict[tuple[str, int, str], bytes]:
    """The values in the clear: each token opened with ``key`` (InvalidToken if it cannot)."""
    return {where: Fernet(key).decrypt(value) if value.startswith(b"gAAAAA") and key else value for where, value in values.items()}


def drafts(config: Path, key: str) -> list[dict[str, Any]]:
    return json.loads(responder(config, "drafts", "list", "--json", env={"RESPONDER_STORAGE_KEY": key}, check=True).stdout)


def test_reseal_seals_old_rows_then_rotates_them_to_a_new_key(tmp_path: Path, backend: str, postgres: Postgres | None) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = ae602ba_store(tmp_path, backend, postgres)  # every row in the clear: the release had no key set
    migrate.upgrade(url)
    config = write_config(tmp_path, storage={"url": url, "encryption_key": "${RESPONDER_STORAGE_KEY}"})
    with Service(load(config, environ={"RESPONDER_STORAGE_KEY": first})) as service:  # the key is turned on; a new message comes
        assert service.pipeline.ingest_email("test", inquiry(sender="new.person@example.org", body=f"Hello, {SECRET}.")).status == "answered"

    before = stored(url)
    plain = {where for where, value in before.items() if not value.startswith(b"gAAAAA")}
    assert len(plain) == 3 * 19 + 3 * 27 and len(before) - len(plain) == 3 + 3  # the release's rows, the new message and its reply
    assert not any(SECRET.encode() in value for value in before.values())
    clear = opened(before, first)
    waiting = drafts(config, first)  # the service reads both kinds, side by side
    assert len(waiting) == 2 and all(draft["body"] for draft in waiting)

    result = responder(config, "reseal", env={"RESPONDER_STORAGE_KEY": first}, check=True)
    assert result.stdout.startswith(f"{19 + 27} row(s) sealed")  # the model's quoted evidence among them
    after = stored(url)
    assert set(after) == set(before) and all(value.startswith(b"gAAAAA") for value in after.values())
    assert opened(after, first) == clear
    assert after[min(set(before) - plain)] == before[min(set(before) - plain)]  # already under the newest key: left as it was
    assert drafts(config, first) == waiting
    assert responder(config, "reseal", env={"RESPONDER_STORAGE_KEY": first}, check=True).stdout.startswith("0 row(s)")

    # Rotation: the new key first, the old one still opening; after reseal the new key alone opens everything.
    responder(config, "reseal", env={"RESPONDER_STORAGE_KEY": f"{second},{first}"}, check=True)
    rotated = stored(url)
    assert opened(rotated, second) == clear
    with pytest.raises(InvalidToken):
        opened(rotated, first)
    assert drafts(config, second) == waiting


def test_reseal_needs_a_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'responder.db'}"
    migrate.upgrade(url)
    result = responder(write_config(tmp_path, storage={"url": url}), "reseal")
    assert result.returncode == 1 and "storage.encryption_key is not set" in result.stderr
