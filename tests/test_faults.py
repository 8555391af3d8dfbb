"""The store failing under responder: locked by another process, or its disk full. Each round
fails loudly, nothing waiting is lost, and once the store recovers everyone is answered once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support import ROOT, inquiry, responder


def embedded(tmp_path: Path, database: Path) -> Path:
    config = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    config["storage"] = {"url": f"sqlite:///{database}", "lock_timeout_seconds": 1}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "mail" / "inbox").mkdir(parents=True, exist_ok=True)
    return path


def drop(tmp_path: Path, *senders: str) -> None:
    for sender in senders:
        (tmp_path / "mail" / "inbox" / f"{sender}.eml").write_bytes(inquiry(sender=sender))


def answered(tmp_path: Path) -> list[str]:
    outbox = tmp_path / "mail" / "outbox" / "new"
    return sorted(line.split(" ", 1)[1] for reply in outbox.iterdir() for line in reply.read_text().splitlines() if line.startswith("To: "))


def test_a_locked_store_fails_the_round_and_loses_nothing(tmp_path: Path) -> None:
    config = embedded(tmp_path, tmp_path / "responder.db")
    drop(tmp_path, "first@example.org")
    responder(config, "poll", "--once", check=True)
    drop(tmp_path, "second@example.org", "third@example.org")
    holder = sqlite3.connect(tmp_path / "responder.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        locked = responder(config, "poll", "--once")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.returncode == 1 and "locked" in locked.stdout + locked.stderr and "Traceback" not in locked.stderr, locked.stderr
    assert len(list((tmp_path / "mail" / "inbox").glob("*.eml"))) == 2, "the waiting mail stays where it was"
    assert "2 new message(s); 2 sent" in responder(config, "poll", "--once", check=True).stdout
    assert answered(tmp_path) == ["first@example.org", "second@example.org", "third@example.org"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs for the store: a real filesystem that fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_fails_the_round_and_loses_nothing(tmp_path: Path, small_disk: Path) -> None:
    config = embedded(tmp_path, small_disk / "responder.db")
    drop(tmp_path, "first@example.org")
    responder(config, "poll", "--once", check=True)
    filler = small_disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:  # every free block
            os.write(descriptor, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(descriptor)
    drop(tmp_path, *(f"person{n}@example.org" for n in range(5)))
    full = responder(config, "poll", "--once")
    assert full.returncode == 1 and "responder: the store failed" in full.stderr and "Traceback" not in full.stderr, full.stderr
    assert len(list((tmp_path / "mail" / "inbox").glob("*.eml"))) == 5, "the waiting mail stays where it was"
    filler.unlink()
    assert "5 new message(s); 5 sent" in responder(config, "poll", "--once", check=True).stdout
    assert answered(tmp_path) == ["first@example.org", *(f"person{n}@example.org" for n in range(5))]
