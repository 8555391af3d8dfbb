"""Drafted replies in the mailbox's Drafts folder, against a real Dovecot.

What a mail program does is done here with a second, plain IMAP connection: sending files a
copy in Sent (same Message-ID) and deletes the draft; discarding deletes the draft only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from imapclient import IMAPClient
from servers.dovecot import Dovecot
from servers.tls import TlsFiles

from responder.config import Imap
from responder.integrations.imap.drafts import ImapDrafts, _list_return_special_use


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch: pytest.MonkeyPatch, tls_files: TlsFiles) -> None:
    """ssl.create_default_context() reads SSL_CERT_FILE, as it will a practice's own CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))


def settings(server: Dovecot, *, ssl: bool = True) -> Imap:
    return Imap(host="127.0.0.1", port=server.ssl_port if ssl else server.port, ssl=ssl,
                username=server.user, password=server.password)


@pytest.fixture
def drafts(dovecot: Dovecot) -> Iterator[ImapDrafts]:
    store = ImapDrafts(settings(dovecot))
    yield store
    store.close()


@pytest.fixture(params=["", "INBOX."], ids=["top-level", "under-INBOX"])
def plain_dovecot(request: pytest.FixtureRequest, tls_files: TlsFiles) -> Iterator[Dovecot]:
    """A server that flags no special-use folder (Dovecot then drops SPECIAL-USE from its
    CAPABILITY too) and has no Drafts or Sent: top-level folders, or Courier-style under
    INBOX. Its own instance: starting one takes ~50 ms."""
    server = Dovecot(tls_files, special_use=False, prefix=request.param)
    server.start()
    try:
        yield server
    finally:
        server.close()


def draft(body: str = "We have openings on Tuesday.", message_id: str | None = None) -> tuple[bytes, str]:
    """A drafted reply and its Message-ID."""
    message = EmailMessage()
    message["From"] = "Harbor Light Counseling <intake@practice.test>"
    message["To"] = "ana@example.org"
    message["Subject"] = "Re: First appointment?"
    message["Message-ID"] = message_id or make_msgid(domain="practice.test")
    message["In-Reply-To"] = "<m1@example.org>"
    message.set_content(body + "\n")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n")), message["Message-ID"]


def in_folder(server: Dovecot, folder: str, message_id: str) -> dict[int, dict[bytes, object]]:
    """UID -> FLAGS and body of the folder's messages with that Message-ID (read-only)."""
    with server.client() as client:
        client.select_folder(folder, readonly=True)
        uids = client.search(["HEADER", "Message-ID", message_id])
        return client.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}


def delete_draft(server: Dovecot, message_id: str, *, folder: str = "Drafts", expunge: bool = True) -> None:
    """A mail program deleting the draft (or only flagging it \\Deleted, as some do)."""
    with server.client() as client:
        client.select_folder(folder)
        client.delete_messages(client.search(["HEADER", "Message-ID", message_id]))
        if expunge:
            client.expunge()


def send_from_mail_program(server: Dovecot, message_id: str, *, drafts: str = "Drafts", sent: str = "Sent") -> None:
    """What a mail program does on Send: file the (edited) message in Sent, drop the draft."""
    edited, _ = draft("Edited by the clinician: Tuesday at 3 pm works.", message_id)
    with server.client() as client:
        client.append(sent, edited, flags=(b"\\Seen",))
    delete_draft(server, message_id, folder=drafts)


# -- the special-use folders -----------------------------------------------------------------


@pytest.mark.parametrize("ssl", [True, False], ids=["implicit-TLS", "STARTTLS"])
def test_place_files_a_seen_draft_in_drafts(dovecot: Dovecot, ssl: bool) -> None:
    raw, message_id = draft()
    store = ImapDrafts(settings(dovecot, ssl=ssl))
    try:
        store.place(raw)
        assert store.where(message_id) == "drafts"
    finally:
        store.close()
    [item] = in_folder(dovecot, "Drafts", message_id).values()
    assert item[b"BODY[]"] == raw
    assert {b"\\Draft", b"\\Seen"} <= set(item[b"FLAGS"])
    assert dovecot.messages("INBOX") == [] and dovecot.messages("Sent") == []


def test_sent_from_a_mail_program_is_sent(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    send_from_mail_program(dovecot, message_id)
    assert drafts.where(message_id) == "sent"
    assert drafts.remove(message_id) is False  # the draft is already gone
    assert drafts.where(message_id) == "sent"  # and the sent copy stays put


def test_sent_wins_while_the_draft_is_still_there(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    with dovecot.client() as client:
        client.append("Sent", raw, flags=(b"\\Seen",))
    assert drafts.where(message_id) == "sent"


def test_a_discarded_draft_is_nowhere(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    delete_draft(dovecot, message_id)
    assert drafts.where(message_id) is None
    assert drafts.remove(message_id) is False


def test_a_draft_flagged_deleted_but_not_expunged_counts_as_gone(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    delete_draft(dovecot, message_id, expunge=False)
    assert drafts.where(message_id) is None
    assert drafts.remove(message_id) is True  # it expunges the leftover copy
    assert in_folder(dovecot, "Drafts", message_id) == {}


def test_remove_deletes_only_that_draft(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    other, other_id = draft("Another reply.")
    drafts.place(raw)
    drafts.place(other)
    assert drafts.remove(message_id) is True
    assert drafts.where(message_id) is None
    assert drafts.where(other_id) == "drafts"
    assert dovecot.messages("Drafts") == [other]
    assert drafts.remove(message_id) is False


def test_message_id_must_match_exactly_brackets_optional(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, _ = draft(message_id="<reply-12@practice.test>")
    drafts.place(raw)
    assert drafts.where("reply-12@practice.test") == "drafts"
    assert drafts.where("<reply-1@practice.test>") is None
    # SEARCH HEADER is a case-blind substring match: it finds this one, the check after does not.
    assert drafts.where("<REPLY-12@practice.test>") is None
    assert drafts.remove("<REPLY-12@practice.test>") is False
    assert dovecot.messages("Drafts") == [raw]


def test_remove_without_uidplus_expunges_the_whole_folder(dovecot: Dovecot, drafts: ImapDrafts,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Dovecot always offers UIDPLUS, so the kept connection is told it does not."""
    raw, message_id = draft()
    other, other_id = draft("Deleted by the clinician, not yet expunged.")
    drafts.place(raw)
    drafts.place(other)
    delete_draft(dovecot, other_id, expunge=False)
    offered = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability",
                        lambda self, name: name.upper() != "UIDPLUS" and offered(self, name))
    assert drafts.remove(message_id) is True
    assert dovecot.messages("Drafts") == []


def test_an_unknown_message_is_nowhere(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    assert drafts.where("<never@practice.test>") is None
    assert drafts.remove("<never@practice.test>") is False


def test_where_leaves_the_clinicians_unread_marks_alone(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    with dovecot.client() as client:
        client.append("Sent", raw)  # unread, however unlikely in Sent
    assert drafts.where(message_id) == "sent"
    [item] = in_folder(dovecot, "Sent", message_id).values()
    assert b"\\Seen" not in item[b"FLAGS"]


def test_check_names_both_folders(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    assert drafts.check() == "IMAP Drafts folder: Drafts, Sent folder: Sent"


def test_list_return_special_use_sees_the_flags(dovecot: Dovecot) -> None:
    """The RFC 6154 extended LIST, for servers that flag folders only when asked to."""
    with dovecot.client() as client:
        listing = {name: flags for flags, _, name in _list_return_special_use(client)}
    assert b"\\Drafts" in listing["Drafts"] and b"\\Sent" in listing["Sent"]


def test_reset_leaves_drafts_and_sent_empty(dovecot: Dovecot) -> None:
    raw, _ = draft()
    dovecot.deliver(raw, folder="Drafts")
    dovecot.deliver(raw, folder="Sent")
    dovecot.reset()
    assert sorted(dovecot.folders()) == ["Drafts", "INBOX", "Sent"]
    assert dovecot.messages("Drafts") == [] and dovecot.messages("Sent") == []


# -- the connection ----------------------------------------------------------------------------


def test_one_connection_serves_many_calls(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    client = drafts._client
    drafts.where(message_id)
    drafts.remove(message_id)
    assert drafts._client is client is not None


def test_reconnects_after_the_server_restarts(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    dovecot.restart()
    assert drafts.where(message_id) == "drafts"
    dovecot.restart()
    other, other_id = draft("After the restart.")
    drafts.place(other)
    assert dovecot.messages("Drafts") == [raw, other]  # filed once, not twice
    dovecot.restart()
    assert drafts.remove(other_id) is True


def test_a_server_that_is_down_raises_and_later_works(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    raw, message_id = draft()
    drafts.place(raw)
    dovecot.stop()
    with pytest.raises((IMAPClient.Error, OSError)):
        drafts.where(message_id)
    with pytest.raises(OSError):  # connection refused, on a fresh connection
        drafts.where(message_id)
    dovecot.start()
    assert drafts.where(message_id) == "drafts"


def test_a_wrong_password_is_the_callers(dovecot: Dovecot) -> None:
    store = ImapDrafts(settings(dovecot).model_copy(update={"password": "wrong"}))
    with pytest.raises(IMAPClient.Error):
        store.place(draft()[0])
    with pytest.raises(IMAPClient.Error):
        store.check()
    store.close()


def test_threads_share_one_store(dovecot: Dovecot, drafts: ImapDrafts) -> None:
    made = [draft(f"Reply {n}.") for n in range(8)]
    errors: list[BaseException] = []

    def work(raw: bytes, message_id: str) -> None:
        try:
            drafts.place(raw)
            assert drafts.where(message_id) == "drafts"
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=pair) for pair in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(dovecot.messages("Drafts")) == sorted(raw for raw, _ in made)


# -- a server without special-use folders ------------------------------------------------------


def test_without_special_use_drafts_is_made_by_name(plain_dovecot: Dovecot) -> None:
    prefix = plain_dovecot.prefix
    store = ImapDrafts(settings(plain_dovecot))
    try:
        assert store.check() == (f"IMAP Drafts folder: {prefix}Drafts (made with the first draft), "
                                 "Sent folder: none found (a reply sent from a mail program will not be noticed)")
        raw, message_id = draft()
        assert store.where(message_id) is None  # looking creates nothing
        assert plain_dovecot.folders() == ["INBOX"]
        store.place(raw)
        assert store.where(message_id) == "drafts"
        assert f"{prefix}Drafts" in plain_dovecot.folders()
        [item] = in_folder(plain_dovecot, f"{prefix}Drafts", message_id).values()
        assert item[b"BODY[]"] == raw and b"\\Draft" in item[b"FLAGS"]
        with plain_dovecot.client() as client:
            assert f"{prefix}Drafts" in [name for _, _, name in client.list_sub_folders()]
        assert store.remove(message_id) is True
        assert store.where(message_id) is None
    finally:
        store.close()


@pytest.mark.parametrize("sent", ["Sent", "Sent Messages", "Sent Items", "sent items"])
def test_without_special_use_sent_is_found_by_name(plain_dovecot: Dovecot, sent: str) -> None:
    prefix = plain_dovecot.prefix
    with plain_dovecot.client() as client:
        for folder in ("Drafts", sent):
            client.create_folder(prefix + folder)
    store = ImapDrafts(settings(plain_dovecot))
    try:
        assert store.check() == f"IMAP Drafts folder: {prefix}Drafts, Sent folder: {prefix}{sent}"
        raw, message_id = draft()
        store.place(raw)
        assert plain_dovecot.folders().count(f"{prefix}Drafts") == 1
        send_from_mail_program(plain_dovecot, message_id, drafts=f"{prefix}Drafts", sent=prefix + sent)
        assert store.where(message_id) == "sent"
    finally:
        store.close()
