"""Opening and closing an IMAP connection the one way responder does, for the mailbox watcher and
the Drafts folder alike: implicit TLS, or STARTTLS when the plain port offers it; the system's
trust store (SSL_CERT_FILE applies)."""

from __future__ import annotations

import ssl

from imapclient import IMAPClient

from ...config import Imap

TIMEOUT_SECONDS = 30


def connect(settings: Imap) -> IMAPClient:
    context = ssl.create_default_context()
    client = IMAPClient(settings.host, port=settings.port, ssl=settings.ssl,
                        ssl_context=context if settings.ssl else None, timeout=TIMEOUT_SECONDS)
    try:
        if not settings.ssl and b"STARTTLS" in client.capabilities():
            client.starttls(context)
        client.login(settings.username, settings.password)
    except BaseException:
        logout(client)
        raise
    client.normalise_times = False  # INTERNALDATE with its zone, not as naive local time
    return client


def logout(client: IMAPClient) -> None:
    """Say goodbye if the connection still listens; a connection already gone needs none."""
    try:
        client.logout()
    except Exception:  # noqa: BLE001
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
