"""Sign-in attempts limited per user name and per address (web/ratelimit.py): minutes, never forever."""

from __future__ import annotations

from datetime import datetime, timedelta

from responder.web.ratelimit import SignInLimit

START = datetime(2026, 12, 7, 9, 0)


def test_five_failures_for_a_name_make_it_wait_until_the_oldest_leaves_the_window() -> None:
    limit = SignInLimit(per_user=5, per_address=20, window=timedelta(minutes=15))
    for minute in range(5):
        assert limit.wait("Priya", "10.0.0.1", START + timedelta(minutes=minute)) is None
        limit.failed("Priya", "10.0.0.1", START + timedelta(minutes=minute))
    assert limit.wait("priya", "10.0.0.2", START + timedelta(minutes=5)) == timedelta(minutes=10), "the name, from anywhere, any case"
    assert limit.wait("jordan", "10.0.0.1", START + timedelta(minutes=5)) is None, "another name from the same address"
    assert limit.wait("priya", "10.0.0.1", START + timedelta(minutes=15)) is None, "the first failure has left the window"


def test_twenty_failures_from_one_address_make_every_name_wait_there() -> None:
    limit = SignInLimit(per_user=5, per_address=20, window=timedelta(minutes=15))
    for n in range(20):
        limit.failed(f"guess{n}", "10.0.0.9", START)
    assert limit.wait("priya", "10.0.0.9", START + timedelta(minutes=1)) == timedelta(minutes=14)
    assert limit.wait("priya", "10.0.0.1", START + timedelta(minutes=1)) is None


def test_a_success_clears_the_names_failures() -> None:
    limit = SignInLimit(per_user=5)
    for _ in range(4):
        limit.failed("priya", "10.0.0.1", START)
    limit.succeeded("priya")
    limit.failed("priya", "10.0.0.1", START)
    assert limit.wait("priya", "10.0.0.1", START) is None


def test_a_flood_of_names_tried_once_stays_bounded_in_memory() -> None:
    limit = SignInLimit()
    for n in range(30_000):
        limit.failed(f"name{n}", f"10.{n // 62500}.{n // 250 % 250}.{n % 250}", START)
    assert len(limit._failures) <= 10_001
    assert limit.wait("name29999", "10.0.0.1", START + timedelta(minutes=15)) is None and ("user", "name29999") not in limit._failures
