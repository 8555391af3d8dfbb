"""Twilio's own signature test vectors, accepted or refused as they say."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.datastructures import FormData
from support import CORPUS
from twilio.request_validator import RequestValidator

from responder.integrations.twilio.signature import is_genuine

VECTORS = json.loads((CORPUS / "real" / "twilio" / "twilio_signature_vectors.json").read_text())["vectors"]


def form_of(params: Any) -> FormData:
    if isinstance(params, list):
        return FormData([tuple(pair) for pair in params])
    return FormData([(key, value) for key, values in params.items() for value in (values if isinstance(values, list) else [values])])


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_twilio_signature_vectors(vector: dict[str, Any]) -> None:
    validator = RequestValidator(vector["auth_token"])
    if vector["kind"] == "form":
        result = is_genuine(validator, vector["url"], vector["x_twilio_signature"], form=form_of(vector["params"]))
    else:
        result = is_genuine(validator, vector["url"], vector["x_twilio_signature"], body=vector["body"])
    assert result is vector["expected_valid"]


def test_a_missing_signature_is_never_genuine() -> None:
    assert not is_genuine(RequestValidator("12345"), "https://mycompany.com/myapp.php", "", form=FormData([]))
