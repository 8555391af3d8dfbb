"""Sign-in attempts, limited per user name and per address, so a password cannot be guessed at speed.

Only failures count, in a sliding window: once a name (or an address) has failed too often, more
attempts are refused until the oldest failure leaves the window, which is minutes, so the real
user is never locked out for long. A success clears the name's failures. Kept in memory: one
``serve`` answers the page, and a restart forgetting the count costs an attacker a restart.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

_MOST = 10_000  # names and addresses remembered before the stale ones are dropped


class SignInLimit:
    def __init__(self, per_user: int = 5, per_address: int = 20, window: timedelta = timedelta(minutes=15)) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    def wait(self, username: str, address: str, now: datetime) -> timedelta | None:
        """How long until this name, from this address, may try again; None: now."""
        with self._lock:
            waits = [self._wait(("user", username.lower()), self.per_user, now), self._wait(("address", address), self.per_address, now)]
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def failed(self, username: str, address: str, now: datetime) -> None:
        with self._lock:
            if len(self._failures) > _MOST:
                self._forget(now)
            for key in (("user", username.lower()), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username.lower()), None)

    def _forget(self, now: datetime) -> None:
        """Many names tried once each must not fill the memory: drop the stale, then, if that is
        not enough, the older half (a flood forgets its own first guesses, at half the cost each)."""
        fresh = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}
        if len(fresh) > _MOST // 2:
            fresh = dict(list(fresh.items())[len(fresh) - _MOST // 2:])
        self._failures = fresh

    def _wait(self, key: tuple[str, str], limit: int, now: datetime) -> timedelta | None:
        failures = self._failures.get(key)
        if not failures:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures[0] + self.window - now if len(failures) >= limit else None
