"""Google Workspace: Google's own libraries sign in with the loopback browser flow
(google-auth-oauthlib; Google refuses the device flow for mail) and refresh the token (google-auth)."""

from __future__ import annotations

from datetime import timezone

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials

from ...config import OAuth2
from .tokens import Granted, Refresher, SignInNeeded, TokenUnavailable

TOKEN_URL = "https://oauth2.googleapis.com/token"
AUTH_URL = "https://accounts.google.com/o/oauth2/auth"


def refresher(settings: OAuth2) -> Refresher:
    request = google.auth.transport.requests.Request()

    def refresh(refresh_token: str) -> Granted:
        credentials = google.oauth2.credentials.Credentials(
            token=None, refresh_token=refresh_token, token_uri=settings.token_url or TOKEN_URL,
            client_id=settings.client_id, client_secret=settings.client_secret, scopes=list(settings.scope_list))
        try:
            credentials.refresh(request)
        except google.auth.exceptions.RefreshError as error:
            details = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
            if not error.retryable:
                raise SignInNeeded(str(details.get("error", "refused"))) from None
            raise TokenUnavailable("Google's token endpoint failed") from None
        except google.auth.exceptions.GoogleAuthError as error:
            raise TokenUnavailable(f"Google's token endpoint failed: {type(error).__name__}") from None
        assert credentials.token is not None and credentials.expiry is not None
        rotated = credentials.refresh_token if credentials.refresh_token != refresh_token else None
        return Granted(credentials.token, credentials.expiry.replace(tzinfo=timezone.utc), rotated)
    return refresh


def sign_in(settings: OAuth2) -> str:
    """The loopback flow: it prints the address to open in a browser; Google then sends the
    browser back to a port on this machine (forward it over SSH when responder runs elsewhere)."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    client = {"installed": {"client_id": settings.client_id, "client_secret": settings.client_secret or "",
                            "auth_uri": AUTH_URL, "token_uri": settings.token_url or TOKEN_URL,
                            "redirect_uris": ["http://localhost"]}}
    flow = InstalledAppFlow.from_client_config(client, scopes=list(settings.scope_list))
    credentials = flow.run_local_server(host="localhost", port=0, open_browser=False, access_type="offline", prompt="consent",
                                        authorization_prompt_message="Open this address in a browser and sign in as the practice's mailbox:\n{url}",
                                        success_message="responder is signed in: you may close this window.")
    if not credentials.refresh_token:
        raise SignInNeeded("Google gave no refresh token")
    return str(credentials.refresh_token)
