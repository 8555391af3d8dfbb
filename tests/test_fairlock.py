"""The writers' lock on SQLite: first come, first in; and a nested write fails loudly instead of
waiting for itself forever."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from responder.storage.fairlock import FairLock


def test_waiters_enter_in_the_order_they_came() -> None:
    lock = FairLock()
    entered: list[int] = []

    def writer(n: int) -> None:
        with lock:
            entered.append(n)

    threads = []
    with lock:
        for n in range(8):
            thread = threading.Thread(target=writer, args=(n,))
            thread.start()
            threads.append(thread)
            deadline = time.monotonic() + 5
            while len(lock._queue) < n + 1:  # this one is waiting before the next comes
                assert time.monotonic() < deadline
                time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=5)
    assert entered == list(range(8))


def test_a_write_inside_another_on_the_same_thread_is_refused() -> None:
    lock = FairLock()
    with lock, pytest.raises(RuntimeError, match="inside another"), lock:
        pass
    with lock:  # released properly after the refusal
        pass


def test_a_page_being_read_holds_no_write_back(tmp_path: Path) -> None:
    """Reads begin deferred, writes IMMEDIATE: a long read (a page, /metrics) never makes the
    pipeline wait for the write lock, or fail with 'database is locked'."""
    from sqlalchemy import select

    from responder.storage import migrate
    from responder.storage.schema import messages
    from responder.storage.store import Store

    url = f"sqlite:///{tmp_path / 'responder.db'}"
    migrate.upgrade(url)
    reader, writer = Store(url, lock_timeout=1), Store(url, lock_timeout=1)
    with reader.engine.connect() as reading:
        reading.execute(select(messages.c.id)).all()  # the read transaction stays open
        started = time.monotonic()
        writer.set_opted_out("+15550100001", True)
        assert time.monotonic() - started < 0.5
        assert reading.in_transaction()
    assert writer.opted_out("+15550100001")
