"""Google Workspace: Google's own libraries sign in with the loopback browser flow
(google-auth-oauthlib; Google refuses the device flow for mail) and refresh the token (google-auth);
or, for a Workspace administrator, a service account acts for the mailbox (domain-wide delegation)."""

from __future__ import annotations

import json
from datetime import timezone
from functools import partial

import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import google.oauth2.service_account

from ...config import OAuth2
from .tokens import REFUSALS, SIGN_IN_SECONDS, TIMEOUT_SECONDS, Granted, Refresher, SignInNeeded, TokenUnavailable

TOKEN_URL = "https://oauth2.googleapis.com/token"
AUTH_URL = "https://accounts.google.com/o/oauth2/auth"


def refresher(settings: OAuth2, account: str) -> Refresher:
    request = partial(google.auth.transport.requests.Request(), timeout=TIMEOUT_SECONDS)

    def refresh(refresh_token: str | None) -> Granted:
        credentials: google.auth.credentials.Credentials
        if refresh_token is None:  # app-only: the service account, acting for the mailbox (domain-wide delegation)
            credentials = _service_account(settings, account)
        else:
            credentials = google.oauth2.credentials.Credentials(
                token=None, refresh_token=refresh_token, token_uri=settings.token_url or TOKEN_URL,
                client_id=settings.client_id, client_secret=settings.client_secret, scopes=list(settings.scope_list))
        try:
            credentials.refresh(request)
        except google.auth.exceptions.RefreshError as error:
            details = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
            if details.get("error") in REFUSALS:
                raise SignInNeeded(str(details["error"])) from None
            raise TokenUnavailable("Google's token endpoint failed") from None
        except google.auth.exceptions.GoogleAuthError as error:
            raise TokenUnavailable(f"Google's token endpoint failed: {type(error).__name__}") from None
        assert credentials.token is not None and credentials.expiry is not None
        rotated = getattr(credentials, "refresh_token", None)
        rotated = rotated if rotated != refresh_token else None
        return Granted(credentials.token, credentials.expiry.replace(tzinfo=timezone.utc), rotated)
    return refresh


def _service_account(settings: OAuth2, account: str) -> google.auth.credentials.Credentials:
    assert settings.service_account_file is not None  # config requires it for app_only
    try:
        info = json.loads(settings.service_account_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SignInNeeded(f"email.oauth2.service_account_file cannot be read: {type(error).__name__}") from None
    if settings.token_url:
        info["token_uri"] = settings.token_url
    try:
        return google.oauth2.service_account.Credentials.from_service_account_info(info, scopes=list(settings.scope_list), subject=account)
    except (ValueError, KeyError) as error:
        raise SignInNeeded(f"email.oauth2.service_account_file is not a service account key: {error}") from None


def sign_in(settings: OAuth2) -> str:
    """The loopback flow: it prints the address to open in a browser; Google then sends the
    browser back to a port on this machine (forward it over SSH when responder runs elsewhere)."""
    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    client = {"installed": {"client_id": settings.client_id, "client_secret": settings.client_secret or "",
                            "auth_uri": AUTH_URL, "token_uri": settings.token_url or TOKEN_URL,
                            "redirect_uris": ["http://localhost"]}}
    flow = InstalledAppFlow.from_client_config(client, scopes=list(settings.scope_list))
    try:
        credentials = flow.run_local_server(host="localhost", port=0, open_browser=False, access_type="offline", prompt="consent",
                                            authorization_prompt_message="Open this address in a browser and sign in as the practice's mailbox:\n{url}",
                                            success_message="responder is signed in: you may close this window.", timeout_seconds=SIGN_IN_SECONDS)
    except WSGITimeoutError:
        raise SignInNeeded(f"nobody signed in within {SIGN_IN_SECONDS // 60} minutes") from None
    except OAuth2Error as error:  # Google's refusal, or a return whose state is not this sign-in's
        raise SignInNeeded(error.error or type(error).__name__) from None
    if not credentials.refresh_token:
        raise SignInNeeded("Google gave no refresh token")
    return str(credentials.refresh_token)
