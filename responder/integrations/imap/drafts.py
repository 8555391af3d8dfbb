"""Drafted replies as real drafts in the practice mailbox, over IMAP with imapclient.

A clinician who would rather edit and send a reply from their own mail program finds it in
the mailbox's Drafts folder, already threaded. responder then needs to know what became of
it: still a draft, sent (its Message-ID shows up in Sent, where mail programs file what they
send), or discarded (gone from both). The drafts copy carries the same Message-ID as the
reply responder would send itself, so that header is the one key for all three questions.

Folders are found the way mail programs find them: by their RFC 6154 special-use flags
(\\Drafts, \\Sent) in LIST, or with LIST ... RETURN (SPECIAL-USE) or XLIST when plain LIST
leaves them out; a server that flags nothing gets the usual names, inside the user's personal
namespace (``INBOX.Drafts`` on Courier-style servers).

One connection stays open between calls, as responder may look up many drafts in a row; it
is reopened once when the server has dropped it. Connection and login are responder's one way
(session.py). Errors (imapclient's and OSError) go to the caller, which decides about retrying
later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from typing import Literal, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError

from ...config import Imap
from ..oauth2.tokens import Tokens
from .session import connect, logout

DRAFT_FLAGS = (b"\\Draft", b"\\Seen")  # \Seen: a draft is the practice's own, never "unread"
DRAFTS_FLAG = b"\\Drafts"
SENT_FLAG = b"\\Sent"
DRAFTS_NAMES = ("Drafts",)
SENT_NAMES = ("Sent", "Sent Messages", "Sent Items")
# What a dead connection looks like: imaplib's abort (EOF, broken pipe) or a socket error.
DROPPED = (IMAPClientAbortError, OSError)

Listing = list[tuple[tuple[bytes, ...], bytes | None, str]]  # LIST: (flags, delimiter, name)
T = TypeVar("T")


@dataclass(frozen=True)
class Folders:
    """Where drafts go and where sent mail is filed, as found on one connection."""

    drafts: str
    drafts_exists: bool  # False when no folder is flagged \Drafts and none is named so yet
    sent: str | None


class ImapDrafts:
    """Copies of drafted replies in the mailbox's Drafts folder."""

    def __init__(self, settings: Imap, tokens: Tokens | None = None) -> None:
        self.settings = settings
        self.tokens = tokens  # auth: oauth2
        self._client: IMAPClient | None = None
        self._folders: Folders | None = None
        self._lock = threading.Lock()

    def place(self, raw: bytes) -> None:
        """APPEND the message to Drafts as a draft (\\Draft, \\Seen), creating a Drafts
        folder only when the server has none."""
        def first(client: IMAPClient) -> None:
            _append(client, self._drafts_folder(client, create=True), raw)

        def again(client: IMAPClient) -> None:
            # The dropped APPEND may have landed before the line went: don't file it twice.
            message_id = _message_id_of(raw)
            folder = self._drafts_folder(client, create=True)
            if message_id is None or not _find(client, folder, message_id):
                _append(client, folder, raw)

        self._run(first, again)

    def where(self, message_id: str) -> Literal["drafts", "sent"] | None:
        """"sent" once the message is in the Sent folder, else "drafts" while it is in
        Drafts, else None (discarded, or never placed). Sent wins when it is in both: a mail
        program files the sent copy first and deletes the draft after. A copy flagged
        \\Deleted but not yet expunged counts as gone. Folders are only EXAMINEd."""
        wanted = _normal_id(message_id)

        def look(client: IMAPClient) -> Literal["drafts", "sent"] | None:
            folders = self._discover(client)
            if folders.sent is not None and _find(client, folders.sent, wanted):
                return "sent"
            if folders.drafts_exists and _find(client, folders.drafts, wanted):
                return "drafts"
            return None

        return self._run(look)

    def remove(self, message_id: str) -> bool:
        """Delete the Drafts copy (every copy with that Message-ID); True if one was there.

        With UIDPLUS only those copies are expunged; without it a plain EXPUNGE also
        removes whatever else in Drafts was already flagged \\Deleted."""
        wanted = _normal_id(message_id)

        def delete(client: IMAPClient) -> bool:
            folders = self._discover(client)
            if not folders.drafts_exists:
                return False
            uids = _find(client, folders.drafts, wanted, readonly=False, include_deleted=True)
            if uids:
                _expunge(client, uids)
            return bool(uids)

        return self._run(delete)

    def check(self) -> str:
        """Log in on a connection of its own, find both folders, and say which they are."""
        client = connect(self.settings, self.tokens)
        try:
            return describe(_discover_folders(client))
        finally:
            logout(client)

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- the connection ------------------------------------------------------------------

    def _run(self, operation: Callable[[IMAPClient], T],
             again: Callable[[IMAPClient], T] | None = None) -> T:
        """Run ``operation`` under the lock on the kept connection. If that connection turns
        out to be dead, connect afresh and run ``again`` (default: the same) once more; a
        failure on a fresh connection is the caller's. Any failure drops the connection,
        since after an error its state (selected folder, half-read response) is unknown."""
        with self._lock:
            reused = self._client is not None
            try:
                return operation(self._session())
            except DROPPED:
                self._drop()
                if not reused:
                    raise
            except BaseException:
                self._drop()
                raise
            try:
                return (again or operation)(self._session())
            except BaseException:
                self._drop()
                raise

    def _session(self) -> IMAPClient:
        if self._client is None:
            self._client = connect(self.settings, self.tokens)
        return self._client

    def _drop(self) -> None:
        client, self._client, self._folders = self._client, None, None
        if client is not None:
            logout(client)

    # -- the folders ---------------------------------------------------------------------

    def _discover(self, client: IMAPClient) -> Folders:
        """The folders, looked up once per connection: they are not renamed in passing."""
        if self._folders is None:
            self._folders = _discover_folders(client)
        return self._folders

    def _drafts_folder(self, client: IMAPClient, *, create: bool) -> str:
        folders = self._discover(client)
        if create and not folders.drafts_exists:
            client.create_folder(folders.drafts)
            client.subscribe_folder(folders.drafts)  # so mail programs show it
            self._folders = replace(folders, drafts_exists=True)
        return folders.drafts


def describe(folders: Folders) -> str:
    """The line for ``check``."""
    drafts = folders.drafts if folders.drafts_exists else f"{folders.drafts} (made with the first draft)"
    sent = folders.sent or "none found (a reply sent from a mail program will not be noticed)"
    return f"IMAP Drafts folder: {drafts}, Sent folder: {sent}"


# -- finding the folders -------------------------------------------------------------------


def _discover_folders(client: IMAPClient) -> Folders:
    listing = _listing(client)
    prefix = _personal_prefix(client, listing)
    drafts = _flagged(listing, DRAFTS_FLAG) or _named(listing, prefix, DRAFTS_NAMES)
    sent = _flagged(listing, SENT_FLAG) or _named(listing, prefix, SENT_NAMES)
    return Folders(drafts=drafts or prefix + DRAFTS_NAMES[0], drafts_exists=drafts is not None, sent=sent)


def _listing(client: IMAPClient) -> Listing:
    """Every folder with its flags. Plain LIST carries special-use flags on most servers
    (Dovecot, Gmail, Fastmail); RFC 6154 only promises them for LIST ... RETURN
    (SPECIAL-USE), and old Gmail-style servers only for XLIST, so those are asked when
    plain LIST shows no special-use flag at all."""
    listing: Listing = client.list_folders()
    if _has_special_use(listing):
        return listing
    if client.has_capability("SPECIAL-USE"):
        return _list_return_special_use(client)
    if client.has_capability("XLIST"):
        return client.xlist_folders()
    return listing


def _list_return_special_use(client: IMAPClient) -> Listing:
    """LIST "" "*" RETURN (SPECIAL-USE) (RFC 5258 + 6154). imapclient has no public call for
    the extended form; these two internals are what its own list_folders() is made of."""
    data = client._raw_command_untagged(b"LIST", [b'""', b'"*"', b"RETURN", b"(SPECIAL-USE)"], uid=False)
    return client._proc_folder_list(data)


_SPECIAL_USE_FLAGS = {b"\\all", b"\\archive", b"\\drafts", b"\\flagged", b"\\junk", b"\\sent", b"\\trash"}
_UNSELECTABLE = {b"\\noselect", b"\\nonexistent"}


def _has_special_use(listing: Listing) -> bool:
    return any(flag.lower() in _SPECIAL_USE_FLAGS for flags, _, _ in listing for flag in flags)


def _flagged(listing: Listing, wanted: bytes) -> str | None:
    """The first selectable folder carrying the special-use flag (flags are case-blind)."""
    for flags, _, name in listing:
        lowered = {flag.lower() for flag in flags}
        if wanted.lower() in lowered and not lowered & _UNSELECTABLE:
            return name
    return None


def _named(listing: Listing, prefix: str, names: Iterable[str]) -> str | None:
    """The first of ``names`` that exists, inside the personal namespace or at the top,
    matched regardless of case ("Sent items") but returned as the server spells it."""
    existing = {name.lower(): name for flags, _, name in listing
                if not {flag.lower() for flag in flags} & _UNSELECTABLE}
    for name in names:
        for candidate in dict.fromkeys((prefix + name, name)):
            if candidate.lower() in existing:
                return existing[candidate.lower()]
    return None


def _personal_prefix(client: IMAPClient, listing: Listing) -> str:
    """Where the user's own folders live: "" on most servers, "INBOX." (or "INBOX/") on
    Courier-style ones, ending in the server's hierarchy delimiter so a name can follow."""
    if not client.has_capability("NAMESPACE"):
        return ""
    personal = client.namespace().personal
    if not personal:
        return ""
    prefix, delimiter = personal[0]
    delimiter = delimiter or _delimiter(listing)
    if prefix and delimiter and not prefix.endswith(delimiter):
        prefix += delimiter
    return prefix


def _delimiter(listing: Listing) -> str | None:
    for _, delimiter, _ in listing:
        if delimiter:
            return delimiter.decode() if isinstance(delimiter, bytes) else delimiter
    return None


# -- messages ------------------------------------------------------------------------------


def _append(client: IMAPClient, folder: str, raw: bytes) -> None:
    client.append(folder, raw, flags=DRAFT_FLAGS)


def _find(client: IMAPClient, folder: str, message_id: str, *, readonly: bool = True,
          include_deleted: bool = False) -> list[int]:
    """UIDs in ``folder`` whose Message-ID is exactly ``message_id``. SEARCH HEADER matches
    substrings, so each hit's header is fetched (PEEK: nothing is marked read) and compared."""
    client.select_folder(folder, readonly=readonly)
    criteria: list[str] = ["HEADER", "Message-ID", message_id]
    if not include_deleted:
        criteria = ["NOT", "DELETED", *criteria]
    uids = client.search(criteria)
    if not uids:
        return []
    fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    return [uid for uid in uids if _fetched_id(fetched.get(uid, {})) == message_id]


def _fetched_id(item: dict[bytes, object]) -> str | None:
    # The key's spelling varies by server (quotes, case), so take whichever BODY[...] came.
    header = next((value for key, value in item.items() if key.upper().startswith(b"BODY[")), None)
    return _message_id_of(header) if isinstance(header, bytes) else None


def _expunge(client: IMAPClient, uids: Sequence[int]) -> None:
    client.delete_messages(uids, silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def _message_id_of(raw: bytes) -> str | None:
    value = BytesHeaderParser().parsebytes(raw).get("Message-ID")
    return _normal_id(str(value)) if value else None


def _normal_id(message_id: str) -> str:
    """A Message-ID as compared here: unfolded, and in its angle brackets."""
    compact = "".join(message_id.split())
    return compact if compact.startswith("<") else f"<{compact}>"
