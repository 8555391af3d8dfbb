"""pytest fixtures for the real loopback servers (loaded by tests/conftest.py).

Dovecot starts once per session (it is the slow part) and is wiped before every test;
SMTP sinks are cheap, so each test gets its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .dovecot import Dovecot
from .oauth import TokenServer
from .postgres import Postgres
from .radicale import Radicale
from .smtp import SmtpSink
from .tls import TlsFiles, make_tls_files
from .twilio import TwilioStandIn

SMTP_USER = "outbound@practice.test"
SMTP_PASSWORD = "smtp-password"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1 / localhost, made once."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def dovecot_server(tls_files: TlsFiles) -> Iterator[Dovecot]:
    """The session's Dovecot; tests should normally use `dovecot`, which is wiped first."""
    server = Dovecot(tls_files)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The session's Dovecot, running (even if a previous test stopped it) with no mail."""
    dovecot_server.reset()
    return dovecot_server


@pytest.fixture
def oauth_tokens() -> Iterator[TokenServer]:
    """A stand-in token endpoint of its own: 20-second access tokens, the refresh token rotated
    at each refresh (a test may shorten `lifetime`)."""
    server = TokenServer(lifetime=20.0, rotate=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oauth_dovecot(tls_files: TlsFiles, oauth_tokens: TokenServer) -> Iterator[Dovecot]:
    """A Dovecot of its own that lets its user in with the tokens `oauth_tokens` says are active."""
    server = Dovecot(tls_files, introspection_url=oauth_tokens.introspection_url)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A plain SMTP sink: no TLS, no AUTH."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def smtp_tls(tls_files: TlsFiles) -> Iterator[SmtpSink]:
    """A sink offering STARTTLS and requiring AUTH as SMTP_USER / SMTP_PASSWORD."""
    with SmtpSink(tls=(tls_files.cert_file, tls_files.key_file),
                  auth=(SMTP_USER, SMTP_PASSWORD)) as sink:
        yield sink


@pytest.fixture
def smtp_ssl(tls_files: TlsFiles) -> Iterator[SmtpSink]:
    """A sink speaking TLS from the first byte (SMTPS) and requiring the same AUTH."""
    with SmtpSink(tls=(tls_files.cert_file, tls_files.key_file), implicit_tls=True,
                  auth=(SMTP_USER, SMTP_PASSWORD)) as sink:
        yield sink


@pytest.fixture
def twilio_api() -> Iterator[TwilioStandIn]:
    """A running Twilio Messages API stand-in of its own; point the client with
    `client.api.base_url = twilio_api.base_url`."""
    with TwilioStandIn() as standin:
        yield standin


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """The session's PostgreSQL; tests use `postgres_url`, a fresh database each."""
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    return postgres_server.new_database()


@pytest.fixture(scope="session")
def radicale() -> Iterator[Radicale]:
    """The session's Radicale CalDAV server (users in servers.radicale.USERS); tests make calendars
    of their own with `make_calendar`, so nothing needs wiping between them."""
    server = Radicale()
    server.start()
    try:
        yield server
    finally:
        server.close()
