"""Issue 14's acceptance check, from outside: `responder serve` against a Dovecot that takes only
OAuth2 tokens it checks at a token server's introspection endpoint, an SMTP server that takes only
AUTH XOAUTH2, and that token server issuing 20-second tokens. Replies flow across several
expiries; a revoked refresh token gives a 503 /healthz and exactly one notice (a text: email would
go out through the refused account); a new sign-in recovers the running service, no restart."""

from __future__ import annotations

import re
import time
from pathlib import Path

import yaml
from servers.dovecot import Dovecot
from servers.oauth import TokenServer
from servers.smtp import SmtpSink
from servers.tls import TlsFiles
from servers.twilio import TwilioStandIn
from support import eventually, free_port, inquiry, start_responder, write_config
from test_serve import health, stop

from responder.config import load
from responder.integrations.oauth2.tokens import signed_in
from responder.storage.store import Store

LIFETIME = 20.0
NOTIFY_PHONE = "+15550100099"


def test_serve_signs_in_with_short_lived_tokens_and_recovers_from_a_revoked_one(
        tmp_path: Path, oauth_dovecot: Dovecot, oauth_tokens: TokenServer, twilio_api: TwilioStandIn, tls_files: TlsFiles) -> None:
    mailbox, tokens = oauth_dovecot, oauth_tokens
    assert tokens.lifetime == LIFETIME
    port = free_port()
    with SmtpSink(oauth=tokens.valid) as outgoing:
        config = write_config(tmp_path, server={"host": "127.0.0.1", "port": port}, email={
            "imap": {"host": mailbox.host, "port": mailbox.ssl_port, "username": mailbox.user, "auth": "oauth2", "poll_seconds": 2},
            "smtp": {"host": outgoing.host, "port": outgoing.port, "security": "none", "username": mailbox.user, "auth": "oauth2"},
            "oauth2": {"provider": "generic", "client_id": "responder", "token_url": tokens.token_url,
                       "refresh_token": tokens.refresh_token_for(mailbox.user)},
        }, sms={"twilio": {"account_sid": twilio_api.account_sid, "auth_token": twilio_api.auth_token,
                           "from_number": twilio_api.from_number, "api_base_url": twilio_api.base_url},
                "webhook_url": "https://responder.example.org/sms/inbound"})
        data = yaml.safe_load(config.read_text())
        data["practice"]["notify"]["sms"] = NOTIFY_PHONE
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        process = start_responder(config, "serve", env={"SSL_CERT_FILE": str(tls_files.ca_file)}, log=tmp_path / "serve.log")
        try:
            # Replies across three expiries of the 20-second tokens.
            for n in range(3):
                mailbox.deliver(inquiry(sender=f"person{n}@example.org"))
                eventually(lambda n=n: len(outgoing.messages) > n, timeout=15, message=f"reply {n}")
                time.sleep(LIFETIME + 1 if n < 2 else 0)
            assert tokens.refreshes >= 3 and tokens.refusals == 0
            assert eventually(lambda: health(port)[0] == 200, timeout=10)

            # Revoked: the sessions it had end (Dovecot checks a token at login only).
            tokens.revoke()
            mailbox.stop()
            mailbox.start()
            mailbox.deliver(inquiry(sender="waiting@example.org"))
            eventually(lambda: (lambda h: h[0] == 503 and "run `responder connect`" in str(h[1]))(health(port)), timeout=30,
                       message="a 503 naming the mailbox and responder connect")
            [notice] = twilio_api.wait_for(1, timeout=30)
            assert notice["To"] == NOTIFY_PHONE and "responder connect" in notice["Body"]
            time.sleep(5)  # more refusals, with backoff: still one notice
            assert len(twilio_api.sent) == 1 and tokens.refusals >= 2
            assert [m.rcpt_tos for m in outgoing.messages if m.rcpt_tos == ["waiting@example.org"]] == []

            # A new sign-in, stored from another process as `responder connect` does: no restart.
            settings = load(config).email
            assert settings is not None and settings.oauth2 is not None
            signed_in(Store(load(config).storage.url), mailbox.user, settings.oauth2, tokens.refresh_token_for(mailbox.user))
            eventually(lambda: any(m.rcpt_tos == ["waiting@example.org"] for m in outgoing.messages), timeout=90, message="recovered")
            assert eventually(lambda: health(port)[0] == 200, timeout=30)
            assert len(twilio_api.sent) == 1
        finally:
            assert stop(process) == 0
    log = (tmp_path / "serve.log").read_text()
    assert not re.search(r"\b(?:rt|at)-[\w-]{16,}", log), "no token in the log"
