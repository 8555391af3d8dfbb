"""Hostile and broken input, generated: whatever arrives, the loop records it and goes on.

Property-based (hypothesis): random bytes, real messages mangled byte by byte (truncated, spliced,
boundaries cut, headers doubled, bytes flipped), MIME trees built with odd charsets and encodings,
and subjects full of line breaks. The whole pipeline runs on a real SQLite store; nothing may
raise, every message ends recorded, and no reply carries a header the person did not cause.
"""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CORPUS, inquiry

from responder.calendars.keeper import Calendars
from responder.config import Config
from responder.pipeline import Pipeline
from responder.replying.compose import Composer
from responder.replying.policy import decide
from responder.storage import migrate
from responder.storage.store import Store
from responder.triage.classify import classify
from responder.triage.guard import automatic_signs
from responder.triage.parse import parse_email

REAL = sorted((CORPUS / "real").glob("*/*.eml"))
SEEDS = [path.read_bytes() for path in REAL] + [inquiry(), (CORPUS / "training" / "dev" / "094-anxious-grad-student.eml").read_bytes()]
LINE = st.characters(blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", blacklist_categories=("Cs",))
RECORDED = {"answered", "held", "alerted", "notified", "skipped", "unreadable", "error", "duplicate"}
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A real message with a few edits at random places: what a broken client, a relay or an
    attacker sends."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(raw)))
        edit = draw(st.sampled_from(["cut", "insert", "flip", "truncate", "double-header", "drop-boundary"]))
        if edit == "cut":
            del raw[at:at + draw(st.integers(1, 200))]
        elif edit == "insert":
            raw[at:at] = draw(st.sampled_from([b"\r\n", b"\n\n", b"\x00", b"=?utf-8?b?", b"=?x-unknown?q?=FF?=", b"--", b"\xff\xfe",
                                               b"Content-Type: multipart/mixed; boundary=\"\"\r\n", b"Content-Transfer-Encoding: base64\r\n",
                                               draw(st.binary(max_size=40))]))
        elif edit == "flip" and raw:
            raw[min(at, len(raw) - 1)] ^= draw(st.integers(1, 255))
        elif edit == "truncate":
            del raw[at:]
        elif edit == "double-header":
            raw[0:0] = b"From: =?utf-8?q?Someone=0D=0AX-Injected:_yes?= <a@example.org>\r\nSubject: again\r\n"
        elif edit == "drop-boundary":
            raw = bytearray(bytes(raw).replace(b"boundary=", b"boundery=", 1))
    return bytes(raw)


@st.composite
def built(draw: st.DrawFn) -> bytes:
    """A MIME tree put together from odd but legal parts."""
    message = email.message.EmailMessage(policy=default_policy)
    message["From"] = draw(st.sampled_from(["a@example.org", "Ünïcode Näme <u@example.org>", "no-reply@example.com", "<>", "broken"]))
    message["To"] = "intake@practice.test"
    message["Subject"] = draw(st.text(alphabet=LINE, max_size=80))
    body = draw(st.text(max_size=400))
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "utf-16", "koi8-r"]))
    try:
        message.set_content(body, charset=charset, cte=draw(st.sampled_from(["quoted-printable", "base64", "8bit"])))
    except (UnicodeError, ValueError):
        message.set_content(body)
    if draw(st.booleans()):
        message.add_alternative(f"<html><body><p>{body}</p><script>x</script></body></html>", subtype="html")
    if draw(st.booleans()):
        message.add_attachment(draw(st.binary(max_size=300)), maintype="application", subtype="octet-stream", filename=draw(st.text(alphabet=LINE, max_size=20)) or "f")
    return message.as_bytes()


hostile = st.one_of(st.binary(max_size=3000), mangled(), built())
# The email package picks MIME boundaries with `random`; hypothesis warns about that, harmlessly.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


@pytest.fixture(scope="module")
def pipeline(config: Config, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'responder.db'}"
    migrate.upgrade(url)
    store = Store(url)
    return Pipeline(config, store, Composer(config), Calendars(config))


@EXAMPLES
@given(raw=hostile)
def test_nothing_that_arrives_stops_the_pipeline(pipeline: Pipeline, raw: bytes) -> None:
    outcome = pipeline.ingest_email("imap:fuzz", raw)
    assert outcome.status in RECORDED


@EXAMPLES
@given(raw=hostile)
def test_what_parses_is_classified_and_answered_without_error_or_injected_headers(config: Config, raw: bytes) -> None:
    try:
        message = parse_email(raw)
    except Exception:  # noqa: BLE001 - recorded as unreadable by the pipeline (the test above)
        return
    automatic_signs(message)
    classification = classify(message, config)
    for item in Composer(config).outgoing(message, classification, decide(classification, config)):
        if item.channel != "email":
            continue
        head = item.raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in item.raw else item.raw.split(b"\n\n", 1)[0]
        names = [line.split(b":", 1)[0].lower() for line in head.splitlines() if line and not line[:1].isspace()]
        assert b"x-injected" not in names and names.count(b"subject") == 1 and names.count(b"to") == 1, head


@given(subject=st.text(alphabet=st.sampled_from("ab \r\n\t:=?\u2028\u0085"), max_size=60))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_subject_can_add_a_header_to_the_reply(config: Config, subject: str) -> None:
    raw = inquiry(subject="placeholder").replace(b"Subject: placeholder", b"Subject: " + subject.encode("utf-8", "surrogatepass"))
    try:
        message = parse_email(raw)
    except Exception:  # noqa: BLE001 - the pipeline records what cannot be read
        return
    classification = classify(message, config)
    for item in Composer(config).outgoing(message, classification, decide(classification, config)):
        parsed = email.message_from_bytes(item.raw, policy=default_policy)
        assert len(parsed.get_all("Subject") or []) <= 1 and "\n" not in (parsed["Subject"] or "")


def test_every_real_message_is_processed_without_error(pipeline: Pipeline) -> None:
    assert len(REAL) >= 90
    for path in REAL:
        assert pipeline.ingest_email("imap:real", path.read_bytes()).status in RECORDED - {"error"}, path.name
