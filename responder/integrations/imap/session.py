"""Opening and closing an IMAP connection the one way responder does, for the mailbox watcher and
the Drafts folder alike: implicit TLS, or STARTTLS when the plain port offers it; the system's
trust store (SSL_CERT_FILE applies)."""

from __future__ import annotations

import ssl

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from ...config import Imap
from ..oauth2.tokens import Tokens

TIMEOUT_SECONDS = 30


def connect(settings: Imap, tokens: Tokens | None = None) -> IMAPClient:
    """A signed-in connection: with the password, or with an access token from ``tokens``
    (auth: oauth2), refreshed and tried once more if the server refuses the first."""
    context = ssl.create_default_context()
    client = IMAPClient(settings.host, port=settings.port, ssl=settings.ssl,
                        ssl_context=context if settings.ssl else None, timeout=TIMEOUT_SECONDS)
    try:
        if not settings.ssl and b"STARTTLS" in client.capabilities():
            client.starttls(context)
        if tokens is None:
            client.login(settings.username, settings.password)
        else:
            _token_login(client, settings.username, tokens)
    except BaseException:
        logout(client)
        raise
    client.normalise_times = False  # INTERNALDATE with its zone, not as naive local time
    return client


def _token_login(client: IMAPClient, username: str, tokens: Tokens) -> None:
    """XOAUTH2 (Microsoft's and Google's), or OAUTHBEARER (RFC 7628) where only that is offered."""
    bearer_only = b"AUTH=XOAUTH2" not in client.capabilities() and b"AUTH=OAUTHBEARER" in client.capabilities()
    login = client.oauthbearer_login if bearer_only else client.oauth2_login
    token = tokens.access_token()
    try:
        login(username, token)
    except LoginError:  # Exchange Online says only "AUTHENTICATE failed", with no response code
        tokens.refused(token)
        login(username, tokens.access_token())


def logout(client: IMAPClient) -> None:
    """Say goodbye if the connection still listens; a connection already gone needs none."""
    try:
        client.logout()
    except Exception:  # noqa: BLE001
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
