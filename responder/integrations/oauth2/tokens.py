"""An account's access tokens: refreshed before they expire and once more after a refusal, the
refresh token kept sealed in the store as the provider rotates it.

IMAP's watcher, the Drafts folder and SMTP's delivery each ask for a token from their own
threads, so one lock guards the refresh. A refresh the provider refuses (``invalid_grant``: the
token revoked, expired, or rotated away) is no passing fault: only a new sign-in (``responder
connect``) or a new ``refresh_token`` in the configuration mends it, so it is tried again with
backoff up to a minute, and the store is read again each time, so a token stored by ``connect``
in another process is picked up without a restart. Any other failure (the endpoint down, the
store unreachable) gets the same backoff, so the threads that want a token do not each wait out
a timeout, and a token that still lives is used to its end meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from ...config import OAuth2
from ...model import OAuthFlow, OAuthProvider
from ...storage.seal import SealError
from ...storage.store import Store

# A token is refreshed once this much of its life is left (a quarter of it, for short-lived ones).
_MARGIN = timedelta(seconds=60)
_FIRST_RETRY, _LAST_RETRY = 1.0, 60.0  # seconds between refreshes once one fails
TIMEOUT_SECONDS = 15  # each provider library's wait for its token endpoint
SIGN_IN_SECONDS = 600  # how long `responder connect` waits for the person to finish signing in
# RFC 6749 5.2 (and Microsoft's interaction_required): what no retry mends, only a new sign-in.
REFUSALS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope",
                      "interaction_required"})
STORE_ERRORS = (SQLAlchemyError, SealError)
log = logging.getLogger(__name__)


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
        """``on_refused`` hears why, each time the provider refuses; ``on_recovered``, when a
        token is had for the first time in this process or again after any failure."""
        self.account = account
        self.on_refused = on_refused
        self.on_recovered = on_recovered
        self.settings = settings
        self.store = store
        self.refresher = refresher
        self._lock = threading.Lock()
        self._current: Granted | None = None
        self._renew_at = datetime.min.replace(tzinfo=timezone.utc)
        self._failed_at: float | None = None  # when the last refresh failed (monotonic), until one succeeds
        self._failure: SignInNeeded | TokenUnavailable | None = None  # why, said again while the wait lasts
        self._wait = _FIRST_RETRY
        self._had_one = False
        self._unsaved: tuple[str, str | None] | None = None  # a rotated refresh token the store could not take yet
        self._news: list[Callable[[], None]] = []  # hooks owed, called once the lock is let go
        self._source = "nowhere yet"  # where the refresh token in use came from

    def access_token(self) -> str:
        """A token with some life left, refreshed first if it has little."""
        try:
            with self._lock:
                if self._current is None or datetime.now(timezone.utc) >= self._renew_at:
                    self._refresh()
                assert self._current is not None
                return self._current.access_token
        finally:
            self._tell()

    def check(self) -> str:
        """For `responder check`: which flow and scopes, whose refresh token, and that a token could be had."""
        settings = self.settings
        client = "confidential client" if settings.client_secret else "public client"
        where = urlsplit(settings.token_url).netloc if settings.token_url else f"{settings.provider}'s token endpoint"
        scopes = " ".join(settings.scope_list) or "(none asked)"
        flow = "app-only flow" if settings.flow == OAuthFlow.APP_ONLY else f"refresh-token flow, {client},"
        said = f"OAuth2 {settings.provider} for {self.account}: {flow} at {where}; scopes {scopes}"
        try:
            with self._lock:
                self._current, self._failed_at = None, None
                self._refresh()
        except (SignInNeeded, TokenUnavailable) as error:
            raise type(error)(f"{said}; no token: {error}") from None
        finally:
            self._tell()
        if settings.flow == OAuthFlow.APP_ONLY:
            return f"{said}; an access token was had"
        return f"{said}; refresh token from {self._source}; an access token was had"

    def refused(self, token: str) -> None:
        """The server refused ``token`` (revoked, expired early): the next call refreshes."""
        with self._lock:
            if self._current is not None and self._current.access_token == token:
                self._current = None

    def _refresh(self) -> None:
        """A new token; or, while a failure's wait lasts, the same failure again without asking
        the provider. A token that still lives is used to its end whatever the refresh says."""
        if self._failed_at is None or time.monotonic() - self._failed_at >= self._wait:
            try:
                granted = self._ask()
            except (SignInNeeded, TokenUnavailable) as error:
                self._wait = _FIRST_RETRY if self._failed_at is None else min(self._wait * 2, _LAST_RETRY)
                self._failed_at, self._failure = time.monotonic(), error
                if isinstance(error, SignInNeeded):
                    self._news.append(partial(self.on_refused, str(error)))
            else:
                life = max(granted.expires_at - datetime.now(timezone.utc), timedelta(0))
                self._renew_at = granted.expires_at - min(_MARGIN, life / 4)
                if self._failed_at is not None or not self._had_one:
                    self._news.append(self.on_recovered)
                self._current, self._failed_at, self._failure, self._wait, self._had_one = granted, None, None, _FIRST_RETRY, True
                return
        if self._current is not None and self._current.expires_at > datetime.now(timezone.utc):
            return
        assert self._failure is not None
        raise type(self._failure)(str(self._failure))

    def _ask(self) -> Granted:
        """The provider's token for the refresh token in use, or for the app's own credential."""
        provider = self.settings.provider
        if self.settings.flow == OAuthFlow.APP_ONLY:
            try:
                return self.refresher(None)
            except SignInNeeded as error:
                raise SignInNeeded(f"{provider} refused the app's credential ({error})") from None
        refresh_token, seeded_from = self._refresh_token()
        try:
            try:
                granted = self.refresher(refresh_token)
            except SignInNeeded:
                # Another process (serve beside a cron poll) may have just rotated it: its successor is in the store.
                if (newer := self._refresh_token())[0] == refresh_token:
                    raise
                refresh_token, seeded_from = newer
                granted = self.refresher(refresh_token)
        except SignInNeeded as error:
            raise SignInNeeded(f"{provider} refused the refresh token ({error}): run `responder connect`") from None
        if granted.refresh_token and granted.refresh_token != refresh_token:
            self._keep(granted.refresh_token, seeded_from)
        return granted

    def _refresh_token(self) -> tuple[str, str | None]:
        """The store's token, unless the configuration names a newer one; and the configured token
        (as a digest) that the store's descends from. A rotated one the store could not take yet
        comes first: the one it replaced is dead at the provider."""
        if self._unsaved is not None:
            self._keep(*self._unsaved)
            if self._unsaved is not None:
                return self._unsaved
        configured, seed = self.settings.refresh_token, _seed(self.settings)
        try:
            stored = self.store.refresh_token(self.account)
        except STORE_ERRORS as error:
            raise TokenUnavailable(f"the store cannot be read: {type(error).__name__}") from None
        if stored is not None and (seed is None or stored.seeded_from == seed):
            self._source = "the store (`responder connect`, or the provider's rotation)"
            return stored.refresh_token, stored.seeded_from
        if configured:
            self._source = "the configuration"
            return configured, seed
        raise SignInNeeded("no refresh token yet: run `responder connect`")

    def _keep(self, refresh_token: str, seeded_from: str | None) -> None:
        try:
            self.store.keep_refresh_token(self.account, refresh_token, seeded_from)
        except STORE_ERRORS as error:
            log.warning("the rotated refresh token waits in memory: the store cannot take it (%s)", type(error).__name__)
            self._unsaved = (refresh_token, seeded_from)
        else:
            self._unsaved = None

    def _tell(self) -> None:
        """The hooks owed, outside the lock: telling practice.notify sends a message, which must
        not hold up every thread that wants a token."""
        with self._lock:
            news, self._news = self._news, []
        for hook in news:
            try:
                hook()
            except Exception:  # noqa: BLE001 - a hook that fails must not stop mail: the next refusal tells again
                log.exception("an OAuth2 notice hook failed")


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
