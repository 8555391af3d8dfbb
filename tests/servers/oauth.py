"""A stand-in for a provider's OAuth2 token endpoint, on loopback: Microsoft's and Google's are
unreachable from here, and they speak the same RFC 6749 refresh (and RFC 7662 introspection,
which Dovecot's oauth2 passdb asks). The access tokens it issues are what the test Dovecot and
the test SMTP server accept, for as long as the tokens live (short, so tests cross expiries).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from .tls import TlsFiles


@dataclass
class _Access:
    user: str
    expires: float


class TokenServer:
    """POST /token (grant_type=refresh_token) and POST /introspect, on 127.0.0.1."""

    host = "127.0.0.1"

    def __init__(self, lifetime: float = 20.0, rotate: bool = False, tls: TlsFiles | None = None) -> None:
        self.lifetime = lifetime  # seconds each access token lives
        self.rotate = rotate  # each refresh replaces the refresh token with a new one
        self.refreshes = 0  # successful refresh grants
        self.refusals = 0  # refused ones (invalid_grant)
        self.down = False  # while set, the token endpoint answers 503, as in an outage (introspection still answers)
        self.while_granting: Callable[[], None] = lambda: None  # what happens elsewhere while a grant is being answered
        self.forms: list[dict[str, str]] = []  # every token and device-code request's form, in order
        self._refresh: dict[str, str] = {}  # refresh token -> user
        self._codes: dict[str, str] = {}  # authorization code -> user
        self._devices: dict[str, str] = {}  # device code -> user
        self._signing_in: list[str] = []  # who signs in at the device page, in turn (the last one stays)
        self._apps: dict[tuple[str, str], str] = {}  # (client id, secret) -> the mailbox it may act for
        self._service_accounts: set[str] = set()
        self.assertions: list[dict[str, object]] = []  # the claims of each service account's JWT
        self._access: dict[str, _Access] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((self.host, 0), self._handler())
        if tls is not None:  # msal takes only an https authority
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://{self.host}:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def microsoft_token_url(self, tenant: str) -> str:
        """Where Microsoft's token endpoint sits for a tenant: msal finds it from the tenant's
        OpenID configuration, which this server serves beside it."""
        return f"{self.base_url}/{tenant}/oauth2/v2.0/token"

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what tests use ------------------------------------------------------------------

    def refresh_token_for(self, user: str) -> str:
        """A new refresh token for ``user``, as a sign-in gives."""
        token = "rt-" + secrets.token_urlsafe(16)
        with self._lock:
            self._refresh[token] = user
        return token

    def revoke(self, refresh_token: str | None = None) -> None:
        """Revoke one refresh token, or every one (a password change), with the access tokens."""
        with self._lock:
            for token in [refresh_token] if refresh_token else list(self._refresh):
                self._refresh.pop(token, None)
            if refresh_token is None:
                self._access.clear()

    def forget_access_tokens(self) -> None:
        """Refuse every access token issued so far, as a provider does that revokes them early."""
        with self._lock:
            self._access.clear()

    def valid(self, user: str, token: str) -> bool:
        with self._lock:
            access = self._access.get(token)
            return access is not None and access.user.lower() == user.lower() and access.expires > time.time()

    def active_refresh_tokens(self) -> list[str]:
        with self._lock:
            return list(self._refresh)

    # -- internals -----------------------------------------------------------------------

    def grant_app(self, client_id: str, secret: str, mailbox: str) -> None:
        """An administrator's app-only registration, allowed into ``mailbox``."""
        with self._lock:
            self._apps[client_id, secret] = mailbox

    def trust_service_account(self, email: str) -> None:
        """A service account with domain-wide delegation (its JWT's signature is not checked here)."""
        with self._lock:
            self._service_accounts.add(email)

    def sign_in_as(self, user: str) -> str:
        """The person who signs in next, at the device page or in the browser: returns the code
        the browser brings back (a device code needs none: it is approved as it is asked, for
        the people told here in turn)."""
        code = "code-" + secrets.token_urlsafe(8)
        with self._lock:
            self._signing_in.append(user)
            self._codes[code] = user
        return code

    def _grant(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.forms.append(form)
            if self.down:
                return 503, {"error": "temporarily_unavailable"}
            self.while_granting()
            grant = form.get("grant_type")
            if grant == "refresh_token":
                user = self._refresh.get(form.get("refresh_token", ""))
                if user is None:
                    self.refusals += 1
                    return 400, {"error": "invalid_grant", "error_description": "the refresh token is revoked or expired"}
                self.refreshes += 1
                if not self.rotate:
                    return 200, self._tokens(user, with_refresh=False)
                del self._refresh[form["refresh_token"]]
            elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                user = self._devices.pop(form.get("device_code", ""), None)
                if user is None:
                    return 400, {"error": "expired_token"}
            elif grant == "client_credentials":  # an app's own credential: its tokens act for the mailboxes it was granted
                user = self._apps.get((form.get("client_id", ""), form.get("client_secret", "")))
                if user is None:
                    self.refusals += 1
                    return 401, {"error": "invalid_client"}
                return 200, self._tokens(user, with_refresh=False)
            elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":  # a Google service account, for its subject
                claims = json.loads(base64.urlsafe_b64decode(form.get("assertion", "..").split(".")[1] + "=="))
                if claims.get("iss") not in self._service_accounts:
                    self.refusals += 1
                    return 400, {"error": "invalid_grant"}
                self.assertions.append(claims)
                return 200, self._tokens(claims["sub"], with_refresh=False)
            elif grant == "authorization_code":
                user = self._codes.pop(form.get("code", ""), None)
                if user is None:
                    return 400, {"error": "invalid_grant"}
            else:
                return 400, {"error": "unsupported_grant_type"}
            return 200, self._tokens(user, with_refresh=True, scope=form.get("scope"))

    def _tokens(self, user: str, with_refresh: bool, scope: str | None = None) -> dict[str, object]:
        """A new access token (and refresh token) for ``user``; the caller holds the lock."""
        access = "at-" + secrets.token_urlsafe(16)
        self._access[access] = _Access(user, time.time() + self.lifetime)
        body: dict[str, object] = {"access_token": access, "token_type": "Bearer", "expires_in": self.lifetime}
        if scope:
            body["scope"] = scope
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(16)
            self._refresh[refresh] = user
            body["refresh_token"] = refresh
        return body

    def _device(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """RFC 8628's device authorization, approved at once for the person signing in."""
        with self._lock:
            self.forms.append(form)
            if not self._signing_in:
                return 400, {"error": "invalid_request", "error_description": "nobody is signing in"}
            device = "dc-" + secrets.token_urlsafe(16)
            self._devices[device] = self._signing_in.pop(0) if len(self._signing_in) > 1 else self._signing_in[0]
        page = f"{self.base_url}/device"
        return 200, {"device_code": device, "user_code": "RSPD-0001", "verification_uri": page, "expires_in": 900, "interval": 1,
                     "message": f"To sign in, use a web browser to open the page {page} and enter the code RSPD-0001 to authenticate."}

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            access = self._access.get(form.get("token", ""))
            if access is None or access.expires <= time.time():
                return 200, {"active": False}
            return 200, {"active": True, "username": access.user, "token_type": "Bearer", "exp": int(access.expires)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # Dovecot keeps its connection alive

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/token" or self.path.endswith("/oauth2/v2.0/token"):
                    self._answer(*server._grant(form))
                elif self.path.endswith("/oauth2/v2.0/devicecode"):
                    self._answer(*server._device(form))
                elif self.path == "/introspect":
                    self._answer(*server._introspect(form))
                else:
                    self._answer(404, {"error": "not_found"})

            def do_GET(self) -> None:  # noqa: N802 - msal reads the tenant's OpenID configuration
                tenant, _, rest = self.path.strip("/").partition("/")
                if rest != "v2.0/.well-known/openid-configuration":
                    return self._answer(404, {"error": "not_found"})
                base = f"{server.base_url}/{tenant}"
                self._answer(200, {"authorization_endpoint": f"{base}/oauth2/v2.0/authorize", "token_endpoint": f"{base}/oauth2/v2.0/token",
                                   "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode", "issuer": f"{base}/v2.0"})

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

        return Handler
