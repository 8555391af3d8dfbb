"""The Twilio stand-in, exercised through the real twilio library exactly as responder uses it.

These tests pin two things at once: that the stand-in answers the way Twilio does (field names,
formats, error codes, paging), and that the library, once `client.api.base_url` is set, sends
every call responder makes (send, list with filters and paging, account fetch) to it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from servers.twilio import TwilioStandIn
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

PATIENT = "+15550100001"


def client_for(api: TwilioStandIn, auth_token: str | None = None, timeout: float = 5) -> Client:
    """A real Client aimed at the stand-in, the way responder builds one.

    The library's default HTTP client has no timeout at all; a test must never hang on one.
    """
    client = Client(api.account_sid, auth_token or api.auth_token, http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = api.base_url
    return client


def test_send_records_exact_form_and_answers_a_queued_message(twilio_api: TwilioStandIn) -> None:
    body = "Thanks for reaching out — we'll call you back today."
    message = client_for(twilio_api).messages.create(to=PATIENT, from_=twilio_api.from_number, body=body)

    [sent] = twilio_api.wait_for(1)
    assert (sent["To"], sent["From"], sent["Body"]) == (PATIENT, twilio_api.from_number, body)
    assert sent["sid"] == message.sid and message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.to, message.from_, message.body) == (PATIENT, twilio_api.from_number, body)
    assert (message.status, message.direction, message.account_sid) == ("queued", "outbound-api", twilio_api.account_sid)
    assert message.num_segments == "1"  # a string, as Twilio sends it (UCS-2 for the dash: 52 of 70)
    assert message.date_created is not None and message.date_created.tzinfo is not None
    assert message.date_sent is None  # as Twilio: nothing has gone out at the moment of the 201
    assert message.error_code is None and message.price is None
    request = twilio_api.requests[-1]
    assert (request.method, request.path, request.auth_ok, request.status) == (
        "POST", f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages.json", True, 201)


def test_wrong_token_is_401_with_code_20003_and_sends_nothing(twilio_api: TwilioStandIn) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client_for(twilio_api, auth_token="wrong").messages.create(to=PATIENT, from_=twilio_api.from_number, body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert twilio_api.sent == [] and twilio_api.requests[-1].auth_ok is False


def test_rate_limit_once_then_success(twilio_api: TwilioStandIn) -> None:
    client = client_for(twilio_api)
    twilio_api.fail_next(1, 429)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PATIENT, from_=twilio_api.from_number, body="first try")
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert "Too Many Requests" in caught.value.msg
    assert twilio_api.sent == []  # the library does not retry by itself; a refused send is not a message

    message = client.messages.create(to=PATIENT, from_=twilio_api.from_number, body="second try")
    assert [s["sid"] for s in twilio_api.wait_for(1)] == [message.sid]


@pytest.mark.parametrize(("status", "code", "expected_code", "words"), [
    (400, 21610, 21610, "unsubscribed"),
    (400, 21211, 21211, PATIENT),
    (500, None, 20500, "internal server error"),
    (503, None, 20503, "unavailable"),
])
def test_injected_failures_carry_twilio_codes(twilio_api: TwilioStandIn, status: int, code: int | None,
                                              expected_code: int, words: str) -> None:
    twilio_api.fail_next(1, status, code=code)
    with pytest.raises(TwilioRestException) as caught:
        client_for(twilio_api).messages.create(to=PATIENT, from_=twilio_api.from_number, body="hello")
    assert (caught.value.status, caught.value.code) == (status, expected_code)
    assert words in caught.value.msg


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"to": PATIENT}, 21602),                       # no Body
    ({"to": "not-a-number", "body": "x"}, 21211),   # invalid To
    ({"to": PATIENT, "body": "x", "from_": "+15559999999"}, 21606),  # not the account's number
])
def test_twilio_validation_errors(twilio_api: TwilioStandIn, kwargs: dict[str, str], code: int) -> None:
    kwargs = {"from_": twilio_api.from_number, **kwargs}
    with pytest.raises(TwilioRestException) as caught:
        client_for(twilio_api).messages.create(**kwargs)
    assert (caught.value.status, caught.value.code) == (400, code)


def test_list_inbound_after_a_moment_pages_through_all_newest_first(twilio_api: TwilioStandIn) -> None:
    cutoff = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    twilio_api.add_inbound("+15550100002", "too early", date_sent=cutoff - timedelta(seconds=1))
    twilio_api.add_inbound("+15550100002", "to another number", to="+15550100777", date_sent=cutoff + timedelta(hours=1))
    expected = [twilio_api.add_inbound(f"+1555010001{i}", f"inbound {i}", date_sent=cutoff + timedelta(minutes=i))
                for i in range(5)]  # the first is exactly at the cutoff: DateSent> is inclusive
    client = client_for(twilio_api)
    client.messages.create(to=PATIENT, from_=twilio_api.from_number, body="outbound, not to us")

    found = client.messages.list(to=twilio_api.from_number, date_sent_after=cutoff, page_size=2)

    assert [m.sid for m in found] == expected[::-1]
    assert [m.body for m in found] == [f"inbound {i}" for i in (4, 3, 2, 1, 0)]
    assert {(m.direction, m.status, m.num_segments) for m in found} == {("inbound", "received", "1")}
    assert found[0].date_sent == cutoff + timedelta(minutes=4)
    gets = [r for r in twilio_api.requests if r.method == "GET"]
    assert len(gets) == 3  # 2 + 2 + 1, following next_page_uri
    assert gets[0].query == {"To": twilio_api.from_number, "DateSent>": "2024-05-01T12:00:00Z", "PageSize": "2"}
    assert gets[1].query["PageToken"] == "PA" + expected[3] and gets[1].query["DateSent>"] == "2024-05-01T12:00:00Z"

    # stream() with a limit stops asking once it has enough
    assert [m.sid for m in client.messages.stream(to=twilio_api.from_number, limit=3, page_size=2)] == expected[:1:-1]


def test_date_only_filters_mean_whole_gmt_days(twilio_api: TwilioStandIn) -> None:
    def at(day: int, hour: int) -> datetime:
        return datetime(2024, 5, day, hour, tzinfo=timezone.utc)

    sids = {(day, hour): twilio_api.add_inbound("+15550100002", f"{day} {hour}", date_sent=at(day, hour))
            for day, hour in [(1, 23), (2, 0), (2, 23), (3, 0)]}
    messages = client_for(twilio_api).messages

    def found(**filters: str) -> set[tuple[int, int]]:
        by_sid = {sid: key for key, sid in sids.items()}
        return {by_sid[m.sid] for m in messages.list(**filters)}

    # Strings pass through the library untouched; date objects would become "...T00:00:00Z".
    assert found(date_sent="2024-05-02") == {(2, 0), (2, 23)}
    assert found(date_sent_after="2024-05-02") == {(2, 0), (2, 23), (3, 0)}
    assert found(date_sent_before="2024-05-02") == {(1, 23), (2, 0), (2, 23)}


def test_account_fetch_checks_credentials(twilio_api: TwilioStandIn) -> None:
    account = client_for(twilio_api).api.v2010.account.fetch()
    assert (account.sid, account.status) == (twilio_api.account_sid, "active")
    with pytest.raises(TwilioRestException) as caught:
        client_for(twilio_api, auth_token="wrong").api.v2010.account.fetch()
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_list_errors_are_not_rest_exceptions(twilio_api: TwilioStandIn) -> None:
    """A library quirk responder must handle: a failed list page raises plain TwilioException."""
    with pytest.raises(TwilioException) as caught:
        client_for(twilio_api, auth_token="wrong").messages.list(limit=1)
    assert not isinstance(caught.value, TwilioRestException)
    assert caught.value.args[1].status_code == 401  # the Response rides along as the second arg


def test_delayed_send_times_out_but_still_sends(twilio_api: TwilioStandIn) -> None:
    twilio_api.delay_next(1, 0.4)
    with pytest.raises(requests.exceptions.Timeout):  # not a TwilioException: requests' own
        client_for(twilio_api, timeout=0.1).messages.create(to=PATIENT, from_=twilio_api.from_number, body="slow")
    assert [s["Body"] for s in twilio_api.wait_for(1, timeout=2)] == ["slow"]


def test_unknown_route_is_twilio_404(twilio_api: TwilioStandIn) -> None:
    response = client_for(twilio_api).request("GET", f"{twilio_api.base_url}/2010-04-01/Accounts/{twilio_api.account_sid}/Calls.json")
    assert response.status_code == 404
    assert json.loads(response.text)["code"] == 20404


def test_restart_keeps_the_url_and_wait_for_explains_a_timeout(twilio_api: TwilioStandIn) -> None:
    client = client_for(twilio_api)
    twilio_api.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.messages.create(to=PATIENT, from_=twilio_api.from_number, body="down")
    twilio_api.start()
    client.messages.create(to=PATIENT, from_=twilio_api.from_number, body="up")
    with pytest.raises(AssertionError, match="expected 2 accepted send"):
        twilio_api.wait_for(2, timeout=0.05)
