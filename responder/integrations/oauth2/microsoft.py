"""Microsoft 365: Microsoft's own library (msal) signs a person in (a device code at a terminal,
or a browser for an app registered with a secret) and refreshes the token for the delegated
scopes; or, for an administrator's app-only setup, gets tokens with the app's own secret
(client credentials).

msal remembers a refused request for a minute by its exact body (its throttling cache), which
would hide a token restored at the provider, and keeps the tokens it had: responder keeps its own
tokens and neither of those caches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import msal
import requests
from msal.oauth2cli.authcode import AuthCodeReceiver

from ...config import OAuth2
from .tokens import REFUSALS, SIGN_IN_SECONDS, TIMEOUT_SECONDS, Granted, Refresher, SignInNeeded, TokenUnavailable

_AUTHORITY = "https://login.microsoftonline.com/"
_TOKEN_PATH = "/oauth2/v2.0/token"


class _NoHttpCache(dict[Any, Any]):
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def application(settings: OAuth2) -> msal.ClientApplication:
    """A confidential client when a secret is configured, else a public one (device code)."""
    # token_url, when set, names the token endpoint; msal wants the authority it belongs to.
    authority = settings.token_url.removesuffix(_TOKEN_PATH) if settings.token_url else _AUTHORITY + settings.tenant
    own_authority = settings.token_url is not None  # not Microsoft's: no instance discovery
    common: dict[str, Any] = {"authority": authority, "http_cache": _NoHttpCache(), "instance_discovery": not own_authority,
                              "timeout": TIMEOUT_SECONDS}
    if settings.client_secret:
        return msal.ConfidentialClientApplication(settings.client_id, client_credential=settings.client_secret, **common)
    return msal.PublicClientApplication(settings.client_id, **common)


def refresher(settings: OAuth2) -> Refresher:
    app: msal.ClientApplication | None = None

    def refresh(refresh_token: str | None) -> Granted:
        nonlocal app
        try:
            app = app or application(settings)
            if refresh_token is None:  # app-only: the client credentials grant, with the app's secret
                assert isinstance(app, msal.ConfidentialClientApplication)
                # msal would hand back the token it keeps, even one a server has just refused.
                for cached in list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    app.token_cache.remove_at(cached)
                result = app.acquire_token_for_client(scopes=list(settings.scope_list))
            else:
                result = app.acquire_token_by_refresh_token(refresh_token, scopes=list(settings.scope_list))
        except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as error:
            raise TokenUnavailable(f"Microsoft's token endpoint failed: {type(error).__name__}") from None
        if "access_token" not in result:
            error = str(result.get("error", "no token"))
            if error in REFUSALS:
                raise SignInNeeded(error)
            raise TokenUnavailable(f"Microsoft's token endpoint answered {error}")
        lifetime = float(result.get("expires_in", 3600))
        return Granted(result["access_token"], datetime.now(timezone.utc) + timedelta(seconds=lifetime), result.get("refresh_token"))
    return refresh


def sign_in(settings: OAuth2, say: Callable[[str], None]) -> str:
    """A person signs in as the mailbox; ``say`` tells them where. Returns the refresh token once
    they have (or raises SignInNeeded). A public client (no secret) shows a device code; a
    confidential one (a web app with a secret: device codes are not for it) gets the browser
    flow, sent back to this machine."""
    app = application(settings)
    if isinstance(app, msal.ConfidentialClientApplication):
        result = _in_a_browser(app, settings, say)
    else:
        flow = app.initiate_device_flow(scopes=list(settings.scope_list))
        if "user_code" not in flow:
            raise SignInNeeded(str(flow.get("error_description") or flow.get("error") or "no device code"))
        say(flow["message"])
        result = app.acquire_token_by_device_flow(flow)
    if "refresh_token" not in result:
        raise SignInNeeded(str(result.get("error_description") or result.get("error") or "no refresh token"))
    return str(result["refresh_token"])


def _in_a_browser(app: msal.ConfidentialClientApplication, settings: OAuth2, say: Callable[[str], None]) -> dict[str, Any]:
    """The authorization code flow: Microsoft posts the code back (form_post) to msal's own
    receiver on a loopback port; Microsoft ignores the port of a localhost redirect address, so
    the app registers just ``http://localhost``."""
    with AuthCodeReceiver(port=0) as receiver:
        flow = app.initiate_auth_code_flow(list(settings.scope_list), redirect_uri=f"http://localhost:{receiver.get_port()}",
                                           response_mode="form_post", prompt="select_account")
        say(f"Open this address in a browser and sign in as the practice's mailbox:\n{flow['auth_uri']}")
        response = receiver.get_auth_response(timeout=SIGN_IN_SECONDS, state=flow["state"])
    if not response:
        raise SignInNeeded(f"nobody signed in within {SIGN_IN_SECONDS // 60} minutes")
    try:
        return dict(app.acquire_token_by_auth_code_flow(flow, response))
    except ValueError as error:  # msal's check of the state and the flow
        raise SignInNeeded(str(error)) from None
