"""Clinicians' sign-in: argon2 password hashes from the configuration, a signed HttpOnly session
cookie, and a CSRF token in the session that every form must carry back."""

from __future__ import annotations

import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from ..config import Web

_hasher = PasswordHasher()
# Verified when the user name is unknown too, so the time taken does not say which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def verify(web: Web, username: str, password: str) -> str | None:
    """The clinician's user name if the password is theirs, else None."""
    clinician = next((c for c in web.clinicians if hmac.compare_digest(c.username.encode(), username.encode())), None)
    try:
        _hasher.verify(clinician.password_hash if clinician else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return clinician.username if clinician else None


def signed_in(request: Request) -> str | None:
    user = request.session.get("user")
    return user if isinstance(user, str) else None


def sign_in(request: Request, username: str) -> None:
    """A fresh session for the clinician: nothing from before sign-in carries over."""
    request.session.clear()
    request.session["user"] = username
    request.session["csrf"] = secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return isinstance(expected, str) and isinstance(submitted, str) and hmac.compare_digest(expected, submitted)
