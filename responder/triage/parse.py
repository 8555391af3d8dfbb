"""Bytes or a webhook form in, an Inbound out: the only place that knows MIME.

Real mail is messy (wrong or missing charsets, raw 8-bit headers, broken boundaries, HTML only).
Parsing never raises for such mail: it does its best and notes the defects. The compat32 policy is
used on purpose: ``policy.default`` parses headers lazily and can raise long after parsing
"succeeded", when a malformed address header is first read.
"""

from __future__ import annotations

import codecs
import email
import hashlib
import json
import re
from collections.abc import Mapping
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses
from pathlib import Path

from ..model import Channel, Inbound
from .text import fresh_text, html_to_text

_MSGID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")  # printable ASCII: safe to put back in a header
# An address a reply can go to; anything stranger in an address header is not one.
_ADDR_SPEC = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
_CHARSET_ALIASES = {"unicode-1-1-utf-7": "utf-7", "x-unknown": "latin-1", "unknown-8bit": "latin-1", "ks_c_5601-1987": "cp949"}


def parse_email(raw: bytes) -> Inbound:
    """Read one RFC 5322 message. Raises ValueError only for bytes that are not mail at all."""
    if not raw.strip():
        raise ValueError("empty message")
    message = _with_boundary(email.message_from_bytes(raw))
    headers = {name.lower(): _header_text(message, name) for name in dict.fromkeys(message.keys())}
    sender_name, sender = _first_address(headers.get("from", ""))
    reply_to = tuple(address for _, address in _addresses(headers.get("reply-to", "")) if address)
    recipients = tuple(a for _, a in _addresses(", ".join(filter(None, (headers.get("to"), headers.get("cc"))))) if a)
    text = _body_text(message)
    message_id = _first_msgid(headers.get("message-id", ""))
    return Inbound(
        channel=Channel.EMAIL,
        key=message_id or "sha256:" + hashlib.sha256(header_block(raw)).hexdigest(),
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        recipients=recipients,
        subject=_one_line(headers.get("subject", "")),
        text=text,
        fresh_text=fresh_text(text),
        headers=headers,
        content_type=message.get_content_type(),
        part_types=tuple(dict.fromkeys(part.get_content_type() for part in message.walk())),
        message_id=message_id,
        references=tuple(_MSGID.findall(headers.get("references", "")))[-20:],
        defects=tuple(sorted({type(d).__name__ for part in message.walk() for d in part.defects})),
    )


def parse_file(path: Path) -> Inbound:
    """A saved message: ``.eml`` (RFC 5322) or ``.sms.json`` (Twilio's webhook form as JSON)."""
    if path.name.endswith(".json"):
        return parse_sms(json.loads(path.read_text(encoding="utf-8")))
    return parse_email(path.read_bytes())


def _with_boundary(message: Message) -> Message:
    """A multipart message whose boundary parameter was lost (seen in real spam and broken
    mailers) is read again with the boundary its body actually uses."""
    payload = message.get_payload()
    if message.get_content_maintype() != "multipart" or not isinstance(payload, str):
        return message
    found = re.search(r"^--([^\s]{1,200}?)\s*$", payload, re.MULTILINE)
    if not found:
        return message
    message.set_param("boundary", found.group(1))
    return email.message_from_bytes(message.as_bytes())


def parse_sms(form: Mapping[str, str]) -> Inbound:
    """Read the form Twilio posts for an inbound text (or the same saved as .sms.json)."""
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    sender = str(form.get("From", "")).strip()
    if not sid or not sender:
        raise ValueError("an SMS needs MessageSid and From")
    body = str(form.get("Body", ""))
    return Inbound(channel=Channel.SMS, key=sid, sender=sender, recipients=(str(form.get("To", "")),), text=body, fresh_text=body)


def _header_text(message: Message, name: str) -> str:
    """Decode encoded words and stray 8-bit bytes; never raise."""
    value = message.get(name, "")
    try:
        chunks = decode_header(value)
        text = "".join(_decode(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks)
    except Exception:  # noqa: BLE001 - a header we cannot decode is still worth its raw text
        text = str(value)
    return _unsurrogate(text)


def _unsurrogate(text: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates; read them as UTF-8, else cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return _decode(text.encode("utf-8", "surrogateescape"), None)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _addresses(value: str) -> list[tuple[str, str]]:
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001 - malformed address headers are common in real mail
        return []
    return [(_one_line(name), address.strip().lower()) for name, address in pairs if _ADDR_SPEC.match(address.strip())]


def _first_address(value: str) -> tuple[str, str]:
    for name, address in _addresses(value):
        if address:
            return name, address
    return "", ""


def _first_msgid(value: str) -> str | None:
    found = _MSGID.search(value)
    return found.group(0) if found else None


def header_block(raw: bytes) -> bytes:
    """The header lines of a raw message, without the blank line and body."""
    end = re.search(rb"\r?\n\r?\n", raw)
    return raw[: end.start()] if end else raw


def _codec(charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def _decode(payload: bytes, charset: str | None) -> str:
    codec = _codec(charset)
    try:
        return payload.decode(codec)
    except (UnicodeDecodeError, LookupError):
        pass
    for fallback in ("utf-8", "cp1252"):
        try:
            return payload.decode(fallback)
        except UnicodeDecodeError:
            continue
    return payload.decode("latin-1")


def _body_text(message: Message) -> str:
    """The readable text a person wrote: plain parts, else HTML turned to text. Attachments and
    enclosed messages (forwarded mail, bounce copies) are not what this sender wrote."""
    plain: list[str] = []
    html: list[str] = []
    for part in _readable_parts(message):
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - a broken transfer encoding still leaves other parts
            continue
        if not isinstance(payload, bytes):
            continue
        content = _decode(payload, part.get_content_charset())
        (html if part.get_content_type() == "text/html" else plain).append(content)
    if any(p.strip() for p in plain):
        text = "\n\n".join(plain)
    else:
        text = "\n\n".join(html_to_text(h) for h in html)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _readable_parts(part: Message) -> list[Message]:
    if part.is_multipart():
        payload = part.get_payload()
        if not isinstance(payload, list):
            return []
        subtype = part.get_content_subtype()
        found: list[Message] = []
        for child in payload:
            if not isinstance(child, Message) or child.get_content_maintype() == "message":
                continue
            found.extend(_readable_parts(child))
            if subtype == "report":
                break  # the human-readable first part; the rest is machine data and the returned mail
        return found
    if part.get_content_type() in ("text/plain", "text/html") and not _is_attachment(part):
        return [part]
    return []


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    return disposition == "attachment"


def parse_stored(raw: bytes, channel: Channel) -> Inbound:
    """A message read again from what the store kept: an email's bytes, a text's form as JSON."""
    return parse_sms(json.loads(raw)) if channel == Channel.SMS else parse_email(raw)


def parse_recorded(raw: bytes | None, channel: Channel, key: str, sender: str) -> Inbound:
    """A recorded message read again for a notice or a timeline: once retention purged its words
    (or they no longer parse), still who sent it and by which route."""
    if raw:
        try:
            return parse_stored(raw, channel)
        except ValueError:
            pass
    return Inbound(channel=channel, key=key, sender=sender)

