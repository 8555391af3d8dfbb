"""Any OAuth2 server: the refresh_token grant of RFC 6749 (section 6), posted to token_url."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

from ...config import OAuth2
from .tokens import REFUSALS, TIMEOUT_SECONDS, Granted, Refresher, SignInNeeded, TokenUnavailable


def refresher(settings: OAuth2) -> Refresher:
    assert settings.token_url is not None  # config requires it for generic

    def refresh(refresh_token: str | None) -> Granted:
        assert refresh_token is not None  # a generic provider has no app-only flow (config)
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": settings.client_id}
        if settings.client_secret:
            form["client_secret"] = settings.client_secret
        if settings.scope_list:
            form["scope"] = " ".join(settings.scope_list)
        try:
            response = requests.post(settings.token_url, data=form, headers={"Accept": "application/json"}, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise TokenUnavailable(f"token endpoint unreachable: {type(error).__name__}") from None
        return granted(response.status_code, _json(response))
    return refresh


def granted(status: int, body: dict[str, object]) -> Granted:
    """A token response (RFC 6749 5.1) or its error (5.2), as responder takes it."""
    error = str(body.get("error") or "")
    if error in REFUSALS:
        raise SignInNeeded(error)
    token = body.get("access_token")
    if status != 200 or not isinstance(token, str) or not token:
        raise TokenUnavailable(f"token endpoint answered {status}{' ' + error if error else ''}")
    try:
        lifetime = float(str(body.get("expires_in", 3600)))
    except ValueError:
        raise TokenUnavailable("token endpoint answered an expires_in that is no number") from None
    rotated = body.get("refresh_token")
    return Granted(token, datetime.now(timezone.utc) + timedelta(seconds=lifetime), rotated if isinstance(rotated, str) else None)


def _json(response: requests.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
