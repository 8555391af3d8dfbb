"""X-Twilio-Signature checking with the twilio library's RequestValidator.

Form posts (every inbound-text webhook) are signed over the URL plus the sorted parameters, every
value of a repeated key included, so the form goes to the validator as a multi-dict. A JSON body
is signed through a bodySHA256 parameter of the URL instead; without one it cannot be genuine
(the library would fail on it rather than answer no).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

# Characters a URL parser percent-encodes in the query of an http(s) URL (WHATWG's special-query
# set): Twilio signs the URL as its HTTP stack sends it, so "It's" in a configured URL is signed
# as "It%27s".
_QUERY_ESCAPES = {" ": "%20", '"': "%22", "'": "%27", "<": "%3C", ">": "%3E"}


def is_genuine(validator: RequestValidator, url: str, signature: str, form: Any = None, body: str | None = None) -> bool:
    """``form``: the posted parameters (a multi-dict with getlist, or a plain mapping);
    ``body``: the raw body of a non-form request instead."""
    if not signature:
        return False
    for candidate in dict.fromkeys((url, _as_sent(url))):
        if body is not None:
            if "bodySHA256=" in candidate and validator.validate(candidate, body, signature):
                return True
        elif validator.validate(candidate, form if form is not None else {}, signature):
            return True
    return False


def _as_sent(url: str) -> str:
    parts = urlsplit(url)
    query = "".join(_QUERY_ESCAPES.get(ch, ch) for ch in parts.query)
    return urlunsplit(parts._replace(query=query))
