"""An account's access tokens: refreshed before they expire and once more after a refusal, the
refresh token kept sealed in the store as the provider rotates it.

IMAP's watcher, the Drafts folder and SMTP's delivery each ask for a token from their own
threads, so one lock guards the refresh. A refresh the provider refuses (``invalid_grant``: the
token revoked, expired, or rotated away) is no passing fault: only a new sign-in (``responder
connect``) or a new ``refresh_token`` in the configuration mends it, so it is tried again with
backoff up to a minute, and the store is read again each time, so a token stored by ``connect``
in another process is picked up without a restart.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol
from urllib.parse import urlsplit

from ...config import OAuth2
from ...model import OAuthFlow, OAuthProvider
from ...storage.store import Store

# A token is refreshed once this much of its life is left (a quarter of it, for short-lived ones).
_MARGIN = timedelta(seconds=60)
_FIRST_RETRY, _LAST_RETRY = 1.0, 60.0  # seconds between refreshes once the provider refuses


class SignInNeeded(Exception):
    """The provider will not give a token for what responder holds: run `responder connect`."""


class TokenUnavailable(Exception):
    """The token endpoint could not be reached or failed: try again later."""


@dataclass(frozen=True)
class Granted:
    access_token: str
    expires_at: datetime  # aware, UTC
    refresh_token: str | None = None  # a new one, when the provider rotated it


class Refresher(Protocol):
    """A new access token: from ``refresh_token`` (delegated), or from the app's own credential (app-only: None)."""

    def __call__(self, refresh_token: str | None) -> Granted: ...


class Tokens:
    """One mail account's access tokens (``account`` is its username)."""

    def __init__(self, account: str, settings: OAuth2, store: Store, refresher: Refresher,
                 on_refused: Callable[[str], None] = lambda why: None, on_recovered: Callable[[], None] = lambda: None) -> None:
        """``on_refused`` hears why, each time the provider refuses the refresh token;
        ``on_recovered``, when a token is had again after that."""
        self.account = account
        self.on_refused = on_refused
        self.on_recovered = on_recovered
        self.settings = settings
        self.store = store
        self.refresher = refresher
        self._lock = threading.Lock()
        self._current: Granted | None = None
        self._renew_at = datetime.min.replace(tzinfo=timezone.utc)
        self._refused_at: float | None = None
        self._wait = _FIRST_RETRY
        self.failure: str | None = None  # why no token can be had, said again while the wait lasts
        self._source = "nowhere yet"  # where the refresh token in use came from

    def access_token(self) -> str:
        """A token with some life left, refreshed first if it has little."""
        with self._lock:
            if self._current is None or datetime.now(timezone.utc) >= self._renew_at:
                self._refresh()
            assert self._current is not None
            return self._current.access_token

    def check(self) -> str:
        """For `responder check`: which flow and scopes, whose refresh token, and that a token could be had."""
        with self._lock:
            self._current = None
            self._refresh()
        settings = self.settings
        client = "confidential client" if settings.client_secret else "public client"
        where = urlsplit(settings.token_url).netloc if settings.token_url else f"{settings.provider}'s token endpoint"
        scopes = " ".join(settings.scope_list) or "(none asked)"
        if settings.flow == OAuthFlow.APP_ONLY:
            return f"OAuth2 {settings.provider} for {self.account}: app-only flow at {where}; scopes {scopes}; an access token was had"
        return (f"OAuth2 {settings.provider} for {self.account}: refresh-token flow, {client}, at {where}; scopes {scopes};"
                f" refresh token from {self._source}; an access token was had")

    def refused(self, token: str) -> None:
        """The server refused ``token`` (revoked, expired early): the next call refreshes."""
        with self._lock:
            if self._current is not None and self._current.access_token == token:
                self._current = None

    def _refresh(self) -> None:
        if self._refused_at is not None and time.monotonic() - self._refused_at < self._wait:
            raise SignInNeeded(self.failure or "the provider refused the refresh token")
        refresh_token, seeded_from = self._refresh_token() if self.settings.flow == OAuthFlow.DELEGATED else (None, None)
        try:
            try:
                granted = self.refresher(refresh_token)
            except SignInNeeded:
                # Another process (serve beside a cron poll) may have just rotated it: its successor is in the store.
                if refresh_token is None or (newer := self._refresh_token())[0] == refresh_token:
                    raise
                refresh_token, seeded_from = newer
                granted = self.refresher(refresh_token)
        except SignInNeeded as error:
            self._wait = _FIRST_RETRY if self._refused_at is None else min(self._wait * 2, _LAST_RETRY)
            self._refused_at = time.monotonic()
            self.failure = (f"{self.settings.provider} refused the refresh token ({error}): run `responder connect`"
                            if refresh_token is not None else f"{self.settings.provider} refused the app's credential ({error})")
            self.on_refused(self.failure)
            raise SignInNeeded(self.failure) from None
        if refresh_token is not None and granted.refresh_token and granted.refresh_token != refresh_token:
            self.store.keep_refresh_token(self.account, granted.refresh_token, seeded_from)
        life = max(granted.expires_at - datetime.now(timezone.utc), timedelta(0))
        self._renew_at = granted.expires_at - min(_MARGIN, life / 4)
        recovered = self._refused_at is not None
        self._current, self._refused_at, self._wait, self.failure = granted, None, _FIRST_RETRY, None
        if recovered:
            self.on_recovered()

    def _refresh_token(self) -> tuple[str, str | None]:
        """The store's token, unless the configuration names a newer one; and the configured token
        (as a digest) that the store's descends from."""
        configured, seed = self.settings.refresh_token, _seed(self.settings)
        stored = self.store.refresh_token(self.account)
        if stored is not None and (seed is None or stored.seeded_from == seed):
            self._source = "the store (`responder connect`, or the provider's rotation)"
            return stored.refresh_token, stored.seeded_from
        if configured:
            self._source = "the configuration"
            return configured, seed
        self.failure = "no refresh token yet: run `responder connect`"
        raise SignInNeeded(self.failure)


def signed_in(store: Store, account: str, settings: OAuth2, refresh_token: str) -> None:
    """Keep the refresh token a sign-in (`responder connect`) gave: it is used from the next
    refresh on, by every process, over the configured one it replaces."""
    store.keep_refresh_token(account, refresh_token, _seed(settings))


def _seed(settings: OAuth2) -> str | None:
    """The configured refresh token, as a digest: what the stored one descends from."""
    return hashlib.sha256(settings.refresh_token.encode()).hexdigest() if settings.refresh_token else None


def tokens_for(account: str, settings: OAuth2, store: Store, **hooks: Callable[..., None]) -> Tokens:
    """The account's tokens, refreshed by its provider's library (imported only when used);
    ``hooks`` are Tokens' on_refused and on_recovered."""
    if settings.provider == OAuthProvider.MICROSOFT:
        from . import microsoft
        refresh = microsoft.refresher(settings)
    elif settings.provider == OAuthProvider.GOOGLE:
        from . import google
        refresh = google.refresher(settings, account)
    else:
        from . import generic
        refresh = generic.refresher(settings)
    return Tokens(account, settings, store, refresh, **hooks)
