"""Mail accounts that take no password (Microsoft 365, Google Workspace): responder signs in to a
real Dovecot (its oauth2 passdb) and an SMTP server that takes only AUTH XOAUTH2, with access
tokens from a stand-in token endpoint that lives a few seconds, so every test crosses expiries."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
from imapclient import IMAPClient
from servers.dovecot import Dovecot
from servers.oauth import TokenServer
from servers.smtp import SmtpSink
from servers.tls import TlsFiles
from sqlalchemy import update
from support import eventually, inquiry, migrated, responder, write_config

from responder.config import OAuth2, load
from responder.integrations.imap.drafts import ImapDrafts
from responder.integrations.imap.session import connect, logout
from responder.integrations.imap.source import ImapSource
from responder.integrations.oauth2.generic import refresher
from responder.integrations.oauth2.tokens import SignInNeeded, Tokens, TokenUnavailable, signed_in, tokens_for
from responder.service import Service
from responder.storage import migrate
from responder.storage.schema import outbox
from responder.storage.seal import new_key
from responder.storage.store import Store, utcnow

LIFETIME = 3.0  # seconds an access token lives at the stand-in


@pytest.fixture
def tokens(oauth_tokens: TokenServer) -> TokenServer:
    oauth_tokens.lifetime = LIFETIME
    return oauth_tokens


@pytest.fixture
def mailbox(tokens: TokenServer, oauth_dovecot: Dovecot) -> Dovecot:
    return oauth_dovecot


@pytest.fixture
def outgoing(tokens: TokenServer) -> Iterator[SmtpSink]:
    with SmtpSink(oauth=tokens.valid) as sink:
        yield sink


@pytest.fixture(autouse=True)
def trusted(tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """responder, run in this process, trusts the test servers' certificate."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))


def new_store(folder: Path) -> Store:
    url = f"sqlite:///{folder / 'tokens.db'}"
    migrate.upgrade(url)
    return Store(url)


def oauth2_of(service: Service) -> OAuth2:
    assert service.config.email is not None and service.config.email.oauth2 is not None
    return service.config.email.oauth2


@contextmanager
def watching(source: ImapSource) -> Iterator[tuple[list[float], list[str | None]]]:
    """``source``'s IDLE bell in a thread, as serve runs it: when it rang and what it reported, as
    they come; stopped on leaving, and seen to stop."""
    stop = threading.Event()
    rings: list[float] = []
    reports: list[str | None] = []
    bell = threading.Thread(target=source.watch, args=(stop, lambda: rings.append(time.monotonic()), reports.append), daemon=True)
    bell.start()
    try:
        yield rings, reports
    finally:
        stop.set()
        bell.join(timeout=10)
    assert not bell.is_alive(), "the bell stops when told"


def oauth_config(folder: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer, **oauth2: Any) -> Path:
    return write_config(folder, email={
        "imap": {"host": mailbox.host, "port": mailbox.ssl_port, "username": mailbox.user, "auth": "oauth2"},
        "smtp": {"host": outgoing.host, "port": outgoing.port, "security": "none", "username": mailbox.user, "auth": "oauth2"},
        "oauth2": {"provider": "generic", "client_id": "responder-test", "client_secret": "s3cret",
                   "token_url": tokens.token_url, **oauth2},
    })


def test_replies_flow_across_token_expiries_and_a_rotated_refresh_token_is_kept(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    first_refresh_token = tokens.refresh_token_for(mailbox.user)
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=first_refresh_token)
    service = Service(migrated(load(config)))
    try:
        for n in range(3):
            mailbox.deliver(inquiry(sender=f"person{n}@example.org"))
            round_ = service.run_once()
            assert round_.source_errors == {} and round_.delivery.sent == 1, round_
            time.sleep(LIFETIME + 0.5)  # the token dies before the next round
    finally:
        service.close()
    assert sorted(m.rcpt_tos[0] for m in outgoing.wait_for(3)) == [f"person{n}@example.org" for n in range(3)]
    assert tokens.refreshes == 3 and tokens.refusals == 0
    assert outgoing.auth_attempts == [(mailbox.user, True)] * 3
    # Each refresh rotated the refresh token: the store holds the live one, the configured one is dead.
    stored = Store(load(config).storage.url).refresh_token(mailbox.user)
    assert stored is not None and tokens.active_refresh_tokens() == [stored.refresh_token] != [first_refresh_token]


def test_a_token_the_server_refuses_is_refreshed_and_tried_once_more(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    tokens.lifetime = 3600
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user))
    mailbox.deliver(inquiry(sender="first@example.org"))
    service = Service(migrated(load(config)))
    try:
        assert service.run_once().delivery.sent == 1
        tokens.forget_access_tokens()  # revoked early, as a conditional-access policy does
        mailbox.deliver(inquiry(sender="second@example.org"))
        round_ = service.run_once()
    finally:
        service.close()
    assert round_.source_errors == {} and round_.delivery.sent == 1
    assert tokens.refreshes == 2, "one refresh at the start, one after the refusal: IMAP and SMTP share the token"


def test_a_revoked_refresh_token_fails_the_mailbox_until_a_new_one_is_stored(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user))
    service = Service(migrated(load(config)))
    try:
        assert service.run_once().source_errors == {}
        tokens.revoke()  # a password change: every token of the account is gone
        mailbox.stop()  # an open session outlives its token (Dovecot checks a token at login only)
        mailbox.start()
        time.sleep(LIFETIME + 0.5)
        mailbox.deliver(inquiry(sender="waiting@example.org"))
        assert "socket error" in "".join(service.run_once().source_errors.values())  # the old session is gone
        failed = service.run_once()
        [why] = failed.source_errors.values()
        assert "refused the refresh token (invalid_grant)" in why and "responder connect" in why
        assert tokens.refusals == 1
        assert outgoing.messages == [], "nothing is sent, nothing is lost: the mail waits in the mailbox"
        # A new sign-in is stored (as `responder connect` does, from its own process): no restart needed.
        signed_in(Store(service.config.storage.url), mailbox.user, oauth2_of(service), tokens.refresh_token_for(mailbox.user))
        time.sleep(1.1)  # the first wait after a refusal
        recovered = service.run_once()
    finally:
        service.close()
    assert recovered.source_errors == {} and recovered.new_messages == 1 and recovered.delivery.sent == 1
    assert [m.rcpt_tos for m in outgoing.wait_for(1)] == [["waiting@example.org"]]


def test_a_reply_owed_while_the_sign_in_was_refused_goes_as_soon_as_it_works_again(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    """Refused, SMTP keeps the reply in the outbox (it waits, it does not fail); signed in
    again, it goes at once, not at its next retry."""
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user))
    service = Service(migrated(load(config)))
    try:
        assert service.run_once().source_errors == {}  # IMAP's session outlives its token
        tokens.revoke()
        time.sleep(LIFETIME + 0.5)
        mailbox.deliver(inquiry(sender="owed@example.org"))
        refused = service.run_once()
        assert refused.new_messages == 1 and refused.delivery.retrying == 1 and refused.delivery.failed == 0
        assert "responder connect" in refused.delivery.errors[0] and outgoing.messages == []
        assert "responder connect" in service.health.snapshot()[f"OAuth2 sign-in for {mailbox.user}"], "on /healthz, SMTP's too"
        with service.store.engine.begin() as conn:  # it has waited a few tries: the next is ten minutes off
            conn.execute(update(outbox).values(next_attempt_at=utcnow() + timedelta(minutes=10)))
        signed_in(Store(service.config.storage.url), mailbox.user, oauth2_of(service), tokens.refresh_token_for(mailbox.user))
        mailbox.restart()  # a password change ends the sessions too: IMAP signs in again, with the new token
        service.run_once()  # the old session is gone
        time.sleep(1.1)  # the first wait after a refusal
        recovered = service.run_once()
    finally:
        service.close()
    assert recovered.source_errors == {} and recovered.delivery.sent == 1 and service.health.snapshot() == {}
    assert [m.rcpt_tos for m in outgoing.messages] == [["owed@example.org"]]


def test_idle_outlives_its_token_and_a_refresh_that_fails_mid_idle_mends_by_itself(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    """IDLE signs in once and outlives its token (Dovecot checks a token at login only). When the
    server then drops the session while the token endpoint is down, the bell says why and signs in
    afresh by itself once the endpoint answers; the mail that came meanwhile rings."""
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user))
    service = Service(migrated(load(config)))
    [source] = service.sources
    assert isinstance(source, ImapSource)
    try:
        with watching(source) as (rings, reports):
            eventually(lambda: rings, message="the ring as IDLE starts")
            time.sleep(LIFETIME + 0.5)  # the token IDLE signed in with dies; the session lives on
            mailbox.deliver(inquiry(sender="late@example.org"))
            eventually(lambda: len(rings) >= 2, message="news in IDLE after its token died")
            assert reports == [] and tokens.refreshes == 1
            tokens.down = True
            mailbox.restart()  # the session ends: signing in again needs a new token, and none can be had
            eventually(lambda: any("token endpoint answered 503" in str(report) for report in reports), message="the failed sign-in reported")
            mailbox.deliver(inquiry(sender="meanwhile@example.org"))
            rung = len(rings)
            tokens.down = False
            eventually(lambda: reports[-1] is None, timeout=20, message="IDLE back, without a restart")
            eventually(lambda: len(rings) > rung, message="the ring that fetches what came meanwhile")
    finally:
        service.close()
    assert tokens.refreshes == 2


def test_an_outage_of_the_token_endpoint_is_waited_out_with_the_token_in_hand(tmp_path: Path, tokens: TokenServer) -> None:
    """The refresh due before expiry fails: the token that still lives is used to its end; then
    the failure is said, with backoff rather than a request (and its timeout) per caller; once
    the endpoint answers, a token again, and the recovery is told."""
    tokens.lifetime = 6.0  # renewed at 4.5 s
    store = new_store(tmp_path)
    settings = oauth2_settings(tmp_path, provider="generic", client_id="c", token_url=tokens.token_url,
                               refresh_token=tokens.refresh_token_for("intake@practice.test"))
    recovered: list[bool] = []
    keeper = tokens_for("intake@practice.test", settings, store, on_recovered=lambda: recovered.append(True))
    first = keeper.access_token()
    assert recovered == [True], "the first token in a process is news too: a notice left from before is cleared"
    tokens.down = True
    time.sleep(5.0)  # past the time to renew, short of expiry
    assert keeper.access_token() == first, "used to its end"
    asked = len(tokens.forms)
    time.sleep(1.2)  # now dead
    with pytest.raises(TokenUnavailable, match="token endpoint answered 503"):
        keeper.access_token()
    for _ in range(5):
        with pytest.raises(TokenUnavailable):
            keeper.access_token()
    assert len(tokens.forms) - asked <= 1, "callers within the wait do not each ask"
    tokens.down = False
    time.sleep(2.1)  # the waits so far: 1 s, then 2 s
    assert tokens.valid("intake@practice.test", keeper.access_token()) and recovered == [True, True]


def test_a_rotated_refresh_token_the_store_cannot_take_is_kept_until_it_can(tmp_path: Path, tokens: TokenServer) -> None:
    """The provider rotated the token, so the one before is dead: losing the new one because the
    store was busy would lock the account out until someone signs in again."""
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    migrate.upgrade(url)
    store = Store(url, lock_timeout=0.2)
    settings = oauth2_settings(tmp_path, provider="generic", client_id="c", token_url=tokens.token_url,
                               refresh_token=tokens.refresh_token_for("intake@practice.test"))
    keeper = tokens_for("intake@practice.test", settings, store)
    writer = sqlite3.connect(tmp_path / "tokens.db", isolation_level=None, check_same_thread=False)
    tokens.while_granting = lambda: writer.execute("BEGIN IMMEDIATE")  # another process takes the store meanwhile
    try:
        first = keeper.access_token()
    finally:
        tokens.while_granting = lambda: None
        writer.execute("ROLLBACK")
        writer.close()
    assert tokens.valid("intake@practice.test", first) and store.refresh_token("intake@practice.test") is None
    tokens.forget_access_tokens()
    keeper.refused(first)
    assert tokens.valid("intake@practice.test", keeper.access_token()), "refreshed with the token kept in memory"
    stored = store.refresh_token("intake@practice.test")
    assert stored is not None and tokens.active_refresh_tokens() == [stored.refresh_token] and tokens.refusals == 0


def test_a_notice_left_by_an_earlier_run_is_cleared_once_a_token_is_had(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    """Refused, told, then signed in again and restarted: the next refusal must be told too."""
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user))
    service = Service(migrated(load(config)))
    try:
        assert service.store.claim_notice("oauth2-refused:" + mailbox.user)  # as the earlier run left it
        assert service.run_once().source_errors == {}
        assert service.store.claim_notice("oauth2-refused:" + mailbox.user), "cleared"
    finally:
        service.close()


def test_the_idle_bell_outlives_a_failure_nobody_foresaw(tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer) -> None:
    """The bell is serve's fast path: whatever fails as it signs in (here a refresher that
    breaks once) is reported and retried, never the end of it."""
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user))
    settings = load(config).email
    assert settings is not None and settings.imap is not None and settings.oauth2 is not None
    calls: list[None] = []
    honest = refresher(settings.oauth2)

    def breaks_once(refresh_token: str | None) -> Any:
        calls.append(None)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return honest(refresh_token)

    keeper = Tokens(mailbox.user, settings.oauth2, new_store(tmp_path), breaks_once)
    source = ImapSource(settings.imap, None, None, timedelta(hours=24), 1 << 20, keeper)  # type: ignore[arg-type]  # the bell fetches nothing
    with watching(source) as (rings, reports):
        eventually(lambda: rings, timeout=15, message="IDLE after the failure")
    assert reports == ["IDLE: RuntimeError: a bug", None]


def test_a_new_refresh_token_in_the_configuration_wins_over_the_stored_one(tmp_path: Path, tokens: TokenServer) -> None:
    """The store keeps the rotations of the configured token; a different configured token is a
    new sign-in, written there by hand, and is used instead."""
    store = new_store(tmp_path)
    settings = load(write_config(tmp_path, email={"oauth2": {"provider": "generic", "client_id": "c", "token_url": tokens.token_url,
                                                             "refresh_token": tokens.refresh_token_for("u@x.test")}})).email.oauth2
    assert settings is not None
    keeper = Tokens("u@x.test", settings, store, refresher(settings))
    keeper.access_token()
    rotated = store.refresh_token("u@x.test")
    assert rotated is not None and rotated.refresh_token != settings.refresh_token

    newer = settings.model_copy(update={"refresh_token": tokens.refresh_token_for("u@x.test")})
    Tokens("u@x.test", newer, store, refresher(newer)).access_token()
    kept = store.refresh_token("u@x.test")
    assert kept is not None and kept.refresh_token not in (rotated.refresh_token, newer.refresh_token)
    assert tokens.active_refresh_tokens() == [rotated.refresh_token, kept.refresh_token]


def test_no_refresh_token_anywhere_says_to_run_connect(tmp_path: Path, tokens: TokenServer) -> None:
    store = new_store(tmp_path)
    settings = load(write_config(tmp_path, email={"oauth2": {"provider": "generic", "client_id": "c", "token_url": tokens.token_url}})).email.oauth2
    assert settings is not None
    with pytest.raises(SignInNeeded, match="responder connect"):
        Tokens("u@x.test", settings, store, refresher(settings)).access_token()


@pytest.mark.parametrize(("email", "error"), [
    ({"imap": {"host": "h", "username": "u", "auth": "oauth2"}}, "email.imap.auth is oauth2 but email.oauth2 is not set"),
    ({"imap": {"host": "h", "username": "u", "password": "p", "auth": "oauth2"},
      "oauth2": {"provider": "google", "client_id": "c"}}, "password: not used with auth: oauth2"),
    ({"imap": {"host": "h", "username": "u"}}, "password: required with auth: password"),
    ({"smtp": {"host": "h", "auth": "oauth2"}, "oauth2": {"provider": "google", "client_id": "c"}}, "username: required with auth: oauth2"),
    ({"oauth2": {"provider": "generic", "client_id": "c"}}, "token_url: required with provider: generic"),
    ({"oauth2": {"provider": "yahoo", "client_id": "c"}}, "email.oauth2.provider"),
    ({"oauth2": {"provider": "microsoft", "client_id": "c", "tenant": "x.onmicrosoft.com", "flow": "app_only"}},
     "client_secret: required with flow: app_only"),
    ({"oauth2": {"provider": "microsoft", "client_id": "c", "client_secret": "s", "flow": "app_only"}},
     "tenant: flow app_only needs the practice's own directory"),
    ({"oauth2": {"provider": "google", "client_id": "c", "flow": "app_only"}}, "service_account_file: required with flow: app_only"),
    ({"oauth2": {"provider": "generic", "client_id": "c", "token_url": "https://x", "flow": "app_only"}}, "flow: app_only is for microsoft and google"),
    ({"oauth2": {"provider": "microsoft", "client_id": "c", "scopes": ["https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"]}},
     "scopes: offline_access is asked by msal itself"),
    ({"imap": {"host": "h", "username": "intake@p.test", "auth": "oauth2"}, "smtp": {"host": "h", "username": "send@p.test", "auth": "oauth2"},
      "oauth2": {"provider": "google", "client_id": "c", "refresh_token": "r"}},
     "email.oauth2.refresh_token is one account's, but email.imap and email.smtp sign in as intake@p.test and send@p.test"),
])
def test_a_broken_oauth2_configuration_names_the_key(tmp_path: Path, email: dict[str, Any], error: str) -> None:
    result = responder(write_config(tmp_path, email=email), "check")
    assert result.returncode == 2 and error in result.stderr, result.stderr


# -- each provider's own library, against a stand-in of its token endpoint ---------------------

def test_microsoft_tokens_come_through_msal_with_the_mail_scopes(tmp_path: Path, tls_files: TlsFiles,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca_file))  # msal (requests) trusts the stand-in
    microsoft = TokenServer(lifetime=3600, rotate=True, tls=tls_files).start()
    try:
        first = microsoft.refresh_token_for("intake@practice.test")
        settings = oauth2_settings(tmp_path, provider="microsoft", client_id="app-1", tenant="harborlight.onmicrosoft.com",
                                   token_url=microsoft.microsoft_token_url("harborlight.onmicrosoft.com"), refresh_token=first)
        store = new_store(tmp_path)
        keeper = tokens_for("intake@practice.test", settings, store)
        assert microsoft.valid("intake@practice.test", keeper.access_token())
        [form] = microsoft.forms
        assert form["grant_type"] == "refresh_token" and form["client_id"] == "app-1" and "client_secret" not in form  # a public client
        assert set(form["scope"].split()) >= {"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send",
                                              "offline_access"}
        rotated = store.refresh_token("intake@practice.test")
        assert rotated is not None and microsoft.active_refresh_tokens() == [rotated.refresh_token]
        # Refused, then a new sign-in: the next try goes out at once (no msal throttling cache).
        microsoft.revoke()
        keeper.refused(keeper.access_token())
        with pytest.raises(SignInNeeded, match="invalid_grant"):
            keeper.access_token()
        signed_in(store, "intake@practice.test", settings, microsoft.refresh_token_for("intake@practice.test"))
        time.sleep(1.1)
        assert microsoft.valid("intake@practice.test", keeper.access_token())
    finally:
        microsoft.stop()


def test_google_tokens_come_through_google_auth_with_the_mail_scope(tmp_path: Path) -> None:
    google = TokenServer(lifetime=3600).start()
    try:
        settings = oauth2_settings(tmp_path, provider="google", client_id="cid.apps.googleusercontent.com", client_secret="g-secret",
                                   token_url=google.token_url, refresh_token=google.refresh_token_for("intake@practice.test"))
        keeper = tokens_for("intake@practice.test", settings, new_store(tmp_path))
        assert google.valid("intake@practice.test", keeper.access_token())
        [form] = google.forms
        assert form["scope"] == "https://mail.google.com/" and form["client_secret"] == "g-secret"
        google.down = True  # a 503 is an outage, not a refusal: nobody is told to sign in again
        keeper.refused(keeper.access_token())
        with pytest.raises(TokenUnavailable):
            keeper.access_token()
        google.down = False
        google.revoke()
        time.sleep(1.1)  # the first wait after a failure
        with pytest.raises(SignInNeeded, match="invalid_grant"):
            keeper.access_token()
    finally:
        google.stop()


def oauth2_settings(folder: Path, **oauth2: Any) -> OAuth2:
    settings = load(write_config(folder, email={"oauth2": oauth2})).email
    assert settings is not None and settings.oauth2 is not None
    return settings.oauth2


# -- responder connect: the interactive sign-in --------------------------------------------------

def test_connect_signs_in_to_microsoft_with_a_device_code_and_stores_the_token_sealed(tmp_path: Path, tls_files: TlsFiles) -> None:
    microsoft = TokenServer(lifetime=3600, tls=tls_files).start()
    try:
        microsoft.sign_in_as("intake@practice.test")
        config = write_config(tmp_path, storage={"url": "sqlite:///responder.db", "encryption_key": "${KEY}"}, email={
            "imap": {"host": "127.0.0.1", "username": "intake@practice.test", "auth": "oauth2"},
            "oauth2": {"provider": "microsoft", "client_id": "app-1", "tenant": "harborlight.onmicrosoft.com",
                       "token_url": microsoft.microsoft_token_url("harborlight.onmicrosoft.com")}})
        key = new_key()
        result = responder(config, "connect", env={"REQUESTS_CA_BUNDLE": str(tls_files.ca_file), "KEY": key})
        assert result.returncode == 0, result.stderr
        assert "enter the code RSPD-0001" in result.stdout
        assert "ok   signed in to microsoft for intake@practice.test; the refresh token is stored, sealed" in result.stdout
        asked, signed, refreshed = microsoft.forms  # the device code, the sign-in, the proof that the token works
        assert "https://outlook.office.com/IMAP.AccessAsUser.All" in asked["scope"].split() and asked["client_id"] == "app-1"
        assert signed["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code" and refreshed["grant_type"] == "refresh_token"
        with sqlite3.connect(tmp_path / "responder.db") as db:
            [(stored,)] = db.execute("SELECT refresh_token FROM oauth_tokens WHERE account = 'intake@practice.test'").fetchall()
        assert not stored.startswith("rt-"), "sealed, never in the clear"
        assert len(microsoft.active_refresh_tokens()) == 1 and "rt-" not in result.stdout + result.stderr
    finally:
        microsoft.stop()


def test_connect_signs_in_as_each_account_when_imap_and_smtp_are_two(tmp_path: Path, tls_files: TlsFiles) -> None:
    microsoft = TokenServer(lifetime=3600, tls=tls_files).start()
    try:
        microsoft.sign_in_as("intake@practice.test")
        microsoft.sign_in_as("replies@practice.test")
        config = write_config(tmp_path, email={
            "imap": {"host": "127.0.0.1", "username": "intake@practice.test", "auth": "oauth2"},
            "smtp": {"host": "127.0.0.1", "username": "replies@practice.test", "auth": "oauth2"},
            "oauth2": {"provider": "microsoft", "client_id": "app-1", "tenant": "harborlight.onmicrosoft.com",
                       "token_url": microsoft.microsoft_token_url("harborlight.onmicrosoft.com")}})
        result = responder(config, "connect", env={"REQUESTS_CA_BUNDLE": str(tls_files.ca_file)})
        assert result.returncode == 0, result.stderr
        said = result.stdout
        assert said.index("Now sign in as intake@practice.test:") < said.index("ok   signed in to microsoft for intake@practice.test") \
            < said.index("Now sign in as replies@practice.test:") < said.index("ok   signed in to microsoft for replies@practice.test")
        store = Store(load(config).storage.url)
        assert {store.refresh_token(user).refresh_token for user in ("intake@practice.test", "replies@practice.test")} \
            == set(microsoft.active_refresh_tokens()) and len(microsoft.active_refresh_tokens()) == 2  # type: ignore[union-attr]
    finally:
        microsoft.stop()


def test_connect_signs_in_to_microsoft_in_a_browser_when_the_app_has_a_secret(tmp_path: Path, tls_files: TlsFiles) -> None:
    """A web app registered with a secret (a confidential client) may not use a device code:
    Microsoft posts the code back to a loopback port instead, checked against the flow's state."""
    microsoft = TokenServer(lifetime=3600, tls=tls_files).start()
    try:
        config = write_config(tmp_path, email={
            "imap": {"host": "127.0.0.1", "username": "intake@practice.test", "auth": "oauth2"},
            "oauth2": {"provider": "microsoft", "client_id": "web-app-1", "client_secret": "ms-secret", "tenant": "harborlight.onmicrosoft.com",
                       "token_url": microsoft.microsoft_token_url("harborlight.onmicrosoft.com")}})
        process = subprocess.Popen([sys.executable, "-m", "responder", "--config", str(config), "connect"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "REQUESTS_CA_BUNDLE": str(tls_files.ca_file)})
        assert process.stdout is not None
        address = next(line.strip() for line in process.stdout if line.startswith("https://"))
        assert urlsplit(address).path == "/harborlight.onmicrosoft.com/oauth2/v2.0/authorize"
        asked = parse_qs(urlsplit(address).query)
        assert asked["response_mode"] == ["form_post"] and asked["client_id"] == ["web-app-1"]
        assert "https://outlook.office.com/IMAP.AccessAsUser.All" in asked["scope"][0].split()
        back = asked["redirect_uri"][0]
        assert urlsplit(back).hostname == "localhost", "Microsoft ignores the port of a localhost address: the app registers http://localhost"
        # The person signs in; Microsoft's page posts the code back. A post with another state is not taken.
        code = microsoft.sign_in_as("intake@practice.test")
        with pytest.raises(HTTPError):
            urlopen(Request(back, data=urlencode({"code": code, "state": "forged"}).encode()), timeout=10)
        assert b"Authentication complete" in urlopen(Request(back, data=urlencode({"code": code, "state": asked["state"][0]}).encode()),
                                                     timeout=10).read()
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "ok   signed in to microsoft for intake@practice.test" in out
        [signed] = [form for form in microsoft.forms if form["grant_type"] == "authorization_code"]
        assert signed["client_secret"] == "ms-secret" and signed["redirect_uri"] == back and signed["code_verifier"]
        assert len(microsoft.active_refresh_tokens()) == 1 and "rt-" not in out + err
    finally:
        microsoft.stop()


def test_connect_signs_in_to_google_in_a_browser_sent_back_to_this_machine(tmp_path: Path, tls_files: TlsFiles) -> None:
    google = TokenServer(lifetime=3600, tls=tls_files).start()
    try:
        config = write_config(tmp_path, email={
            "smtp": {"host": "127.0.0.1", "username": "intake@practice.test", "auth": "oauth2"},
            "oauth2": {"provider": "google", "client_id": "cid.apps.googleusercontent.com", "client_secret": "g-secret",
                       "token_url": google.token_url}})
        process = subprocess.Popen([sys.executable, "-m", "responder", "--config", str(config), "connect"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "REQUESTS_CA_BUNDLE": str(tls_files.ca_file)})
        assert process.stdout is not None
        address = next(line.strip() for line in process.stdout if line.startswith("https://"))
        asked = parse_qs(urlsplit(address).query)
        assert asked["scope"] == ["https://mail.google.com/"] and asked["access_type"] == ["offline"]
        # The person signs in; Google sends the browser back to the loopback address with a code.
        code = google.sign_in_as("intake@practice.test")
        back = f"{asked['redirect_uri'][0]}?state={asked['state'][0]}&code={code}&scope=https://mail.google.com/"
        assert b"you may close this window" in urlopen(back, timeout=10).read()
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "ok   signed in to google for intake@practice.test" in out
        assert len(google.active_refresh_tokens()) == 1
    finally:
        google.stop()


def test_connect_says_what_to_do_for_a_generic_provider(tmp_path: Path, tokens: TokenServer) -> None:
    config = write_config(tmp_path, email={"imap": {"host": "127.0.0.1", "username": "u@x.test", "auth": "oauth2"},
                                           "oauth2": {"provider": "generic", "client_id": "c", "token_url": tokens.token_url}})
    result = responder(config, "connect")
    assert result.returncode == 2 and "email.oauth2.refresh_token" in result.stderr


def test_check_reports_the_flow_the_scopes_and_whether_a_token_could_be_had(
        tmp_path: Path, mailbox: Dovecot, outgoing: SmtpSink, tokens: TokenServer, tls_files: TlsFiles) -> None:
    config = oauth_config(tmp_path, mailbox, outgoing, tokens, refresh_token=tokens.refresh_token_for(mailbox.user), scopes=["mail"])
    responder(config, "migrate", check=True)
    env = {"SSL_CERT_FILE": str(tls_files.ca_file)}
    result = responder(config, "check", env=env)
    assert result.returncode == 0, result.stdout
    assert (f"ok   OAuth2 generic for {mailbox.user}: refresh-token flow, confidential client, at 127.0.0.1:"
            in result.stdout) and "scopes mail; refresh token from the configuration; an access token was had" in result.stdout
    assert "ok   IMAP 127.0.0.1" in result.stdout and "ok   SMTP" in result.stdout
    tokens.revoke()
    refused = responder(config, "check", env=env)
    assert refused.returncode == 1
    [failed] = [line for line in refused.stdout.splitlines() if line.startswith("FAIL oauth2 intake@practice.test: SignInNeeded: ")]
    assert "refresh-token flow, confidential client, at 127.0.0.1:" in failed and "; scopes mail; no token: generic refused the refresh token" \
        " (invalid_grant): run `responder connect`" in failed, "a failure says the flow and scopes too"
    assert "rt-" not in result.stdout + refused.stdout, "no token is ever printed"


def test_a_refused_sign_in_is_told_to_practice_notify_once_by_a_route_that_still_works(
        tmp_path: Path, mailbox: Dovecot, smtp: SmtpSink, tokens: TokenServer) -> None:
    """IMAP signs in with tokens; replies and notices go out through another SMTP account."""
    config = write_config(tmp_path, email={
        "imap": {"host": mailbox.host, "port": mailbox.ssl_port, "username": mailbox.user, "auth": "oauth2"},
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"},
        "oauth2": {"provider": "generic", "client_id": "c", "token_url": tokens.token_url,
                   "refresh_token": tokens.refresh_token_for(mailbox.user)}})
    service = Service(migrated(load(config)))
    notify = service.config.practice.notify.email
    try:
        assert service.run_once().source_errors == {}
        tokens.revoke()
        mailbox.stop()
        mailbox.start()
        service.run_once()  # the old session is gone
        for _ in range(3):  # refused, then refused again after each wait
            assert "responder connect" in "".join(service.run_once().source_errors.values())
            time.sleep(1.1)
        [notice] = smtp.wait_for(1)
        assert tokens.refusals >= 2 and notice.rcpt_tos == [notify]
        assert notice.message["Subject"] == f"responder cannot sign in to {mailbox.user}"
        body = notice.message.get_content()
        assert "refused the refresh token (invalid_grant)" in body and "`responder connect`" in body and "nothing is lost" in body
        assert "rt-" not in body and "at-" not in body
        # Signed in again: no notice is owed any more, and a later refusal is told again.
        signed_in(Store(service.config.storage.url), mailbox.user, oauth2_of(service), tokens.refresh_token_for(mailbox.user))
        time.sleep(1.1)
        assert service.run_once().source_errors == {}
        assert service.store.claim_notice("oauth2-refused:" + mailbox.user), "recovery cleared it"
    finally:
        service.close()
    assert len(smtp.messages) == 1


# -- an administrator's app-only setup --------------------------------------------------------

def test_microsoft_app_only_gets_tokens_with_the_apps_own_secret(tmp_path: Path, tls_files: TlsFiles,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca_file))
    microsoft = TokenServer(lifetime=3600, tls=tls_files).start()
    try:
        microsoft.grant_app("app-2", "app-secret", "intake@practice.test")
        settings = oauth2_settings(tmp_path, provider="microsoft", client_id="app-2", client_secret="app-secret", flow="app_only",
                                   tenant="harborlight.onmicrosoft.com", token_url=microsoft.microsoft_token_url("harborlight.onmicrosoft.com"))
        store = new_store(tmp_path)
        keeper = tokens_for("intake@practice.test", settings, store)
        assert microsoft.valid("intake@practice.test", keeper.access_token())
        [form] = microsoft.forms
        assert form["grant_type"] == "client_credentials" and form["scope"] == "https://outlook.office365.com/.default"
        assert store.refresh_token("intake@practice.test") is None, "app-only keeps no refresh token"
        refused = keeper.access_token()
        microsoft.forget_access_tokens()  # revoked early: the server refuses it, and msal must not hand it back
        keeper.refused(refused)
        assert keeper.access_token() != refused and len(microsoft.forms) == 2
        assert "app-only flow" in keeper.check()
    finally:
        microsoft.stop()


def test_google_app_only_acts_for_the_mailbox_through_a_service_account(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    google = TokenServer(lifetime=3600).start()
    try:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        service_account = "responder@practice-mail.iam.gserviceaccount.com"
        (tmp_path / "sa.json").write_text(json.dumps({"type": "service_account", "client_email": service_account, "private_key": pem,
                                                      "private_key_id": "k1", "token_uri": "https://oauth2.googleapis.com/token"}))
        google.trust_service_account(service_account)
        settings = oauth2_settings(tmp_path, provider="google", client_id="1234567890", flow="app_only",
                                   service_account_file="sa.json", token_url=google.token_url)
        keeper = tokens_for("intake@practice.test", settings, new_store(tmp_path))
        assert google.valid("intake@practice.test", keeper.access_token())
        [claims] = google.assertions
        assert claims["sub"] == "intake@practice.test" and claims["scope"] == "https://mail.google.com/"
    finally:
        google.stop()


def test_a_refresh_token_another_process_just_rotated_is_followed_not_reported(tmp_path: Path, tokens: TokenServer) -> None:
    """serve and a cron poll share the account: one rotates the token while the other refreshes
    with the old one. The loser finds the successor in the store; nobody is told of a refusal."""
    store = new_store(tmp_path)
    settings = oauth2_settings(tmp_path, provider="generic", client_id="c", token_url=tokens.token_url,
                               refresh_token=tokens.refresh_token_for("u@x.test"))
    first = Tokens("u@x.test", settings, store, refresher(settings))
    real = refresher(settings)

    def racing(refresh_token: str | None) -> Any:
        first.access_token()  # the other process rotates the token meanwhile
        return real(refresh_token)

    refusals: list[str] = []
    second = Tokens("u@x.test", settings, store, racing, on_refused=refusals.append)
    assert tokens.valid("u@x.test", second.access_token())
    assert refusals == [] and tokens.refusals == 1
    stored = store.refresh_token("u@x.test")
    assert stored is not None and tokens.active_refresh_tokens() == [stored.refresh_token]



def test_a_server_that_offers_only_oauthbearer_is_signed_in_to_with_it_and_drafts_go_to_its_drafts_folder(
        tmp_path: Path, tls_files: TlsFiles, tokens: TokenServer) -> None:
    """RFC 7628's OAUTHBEARER where XOAUTH2 is not offered; and the Drafts folder (issue 4's
    drafts kept in the mailbox) signs in the same way."""
    server = Dovecot(tls_files, introspection_url=tokens.introspection_url, oauth_mechanisms="oauthbearer")
    server.start()
    try:
        settings = load(write_config(tmp_path, email={
            "imap": {"host": server.host, "port": server.ssl_port, "username": server.user, "auth": "oauth2"},
            "oauth2": {"provider": "generic", "client_id": "c", "token_url": tokens.token_url,
                       "refresh_token": tokens.refresh_token_for(server.user)}})).email
        assert settings is not None and settings.imap is not None and settings.oauth2 is not None
        anonymous = IMAPClient(server.host, server.port, ssl=False, timeout=10)
        offered = anonymous.capabilities()
        anonymous.shutdown()
        assert b"AUTH=OAUTHBEARER" in offered and b"AUTH=XOAUTH2" not in offered
        keeper = Tokens(server.user, settings.oauth2, new_store(tmp_path), refresher(settings.oauth2))
        logout(connect(settings.imap, keeper))  # signed in: by OAUTHBEARER, the one mechanism offered for tokens
        drafts = ImapDrafts(settings.imap, keeper)
        try:
            drafts.place(inquiry(sender="intake@practice.test", subject="Re: a draft reply"))
        finally:
            drafts.close()
        assert len(server.messages("Drafts")) == 1
        assert tokens.refreshes == 1, "one token served both connections"
    finally:
        server.close()
