"""The writers' lock on SQLite: first come, first in; and a nested write fails loudly instead of
waiting for itself forever."""

from __future__ import annotations

import threading
import time

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
