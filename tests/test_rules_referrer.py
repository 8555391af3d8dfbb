"""Who referred, and from where: the organisation a signature names, else the mail domain."""

from __future__ import annotations

import pytest
from support import inquiry

from responder.triage.facts.referrer import referral_source
from responder.triage.parse import parse_email


@pytest.mark.parametrize(("body", "expected"), [
    ("Thanks,\nDr. Jane Roe\nRiverside Pediatrics\n503-555-0101", "Riverside Pediatrics"),
    ("Best,\nPastor Tim\nGrace Church", "Grace Church"),
    ("Kind regards,\nJane Roe, LCSW\nWillamette Valley School District", "Willamette Valley School District"),
    # near-misses: the mail domain
    ("Thanks,\nJane", "riverside.example"),
    ("Best,\nJane Roe\njane@clinic.org", "riverside.example"),  # an address is no organisation
])
def test_where_a_referral_comes_from(body: str, expected: str) -> None:
    message = parse_email(inquiry(sender="Jane Roe <jane@riverside.example>", body=body))
    assert referral_source(message) == ("Jane Roe", expected)
