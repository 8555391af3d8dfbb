"""A lock that lets its waiters in in the order they came.

SQLite admits one writer at a time. The writers of one process (the webhook's threads, the worker
settling texts, delivery) queue on this lock before they begin: none then sleeps in SQLite's busy
handler, which retries in steps of up to 100 ms, and none is overtaken again and again, as
Python's own Lock allows a newcomer to do (what each cost under load: bench/README-load.md).
"""

from __future__ import annotations

import threading
from collections import deque


class FairLock:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: deque[tuple[int, threading.Lock]] = deque()
        self._owner: int | None = None

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:  # would wait for itself forever
                raise RuntimeError("a write transaction was begun inside another on the same thread")
            if self._owner is None:
                self._owner = me
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append((me, turn))
        turn.acquire()  # released by the thread before this one, as it hands the lock over

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            if self._queue:
                self._owner, turn = self._queue.popleft()
                turn.release()
            else:
                self._owner = None
