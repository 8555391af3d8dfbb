"""Encryption of what people wrote, at rest: ``storage.encryption_key``.

The message as received, its subject, and the text of every reply are sealed with Fernet
(AES-128-CBC with HMAC-SHA256, from the cryptography project) before they reach the database,
and opened as they are read. The key lives in the environment (``${RESPONDER_STORAGE_KEY}``),
never in the database, so a copied database file or backup reads as noise. Several keys may be
given, comma-separated: the first seals, all open, so a key can be rotated without a migration.
Rows written before a key was set stay readable as they are, and so do rows sealed under an older
key, until `responder reseal` seals them all under the newest (``reseal`` below, Store.reseal).

The key belongs to the engine (its dialect), not to the process: two stores with two keys in one
process never mix them up.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import LargeBinary, Text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

_TOKEN = b"gAAAAA"  # how every Fernet token begins (version byte and timestamp, base64)


class SealError(Exception):
    """A sealed value that this key cannot open."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def check_keys(value: str) -> str:
    """The configured key list, or ValueError saying what is wrong with it."""
    try:
        _Keys(value)
    except (ValueError, TypeError):
        raise ValueError("expected one or more Fernet keys, comma-separated (make one with `responder new-key`)") from None
    return value


def attach(engine: Engine, keys: str | None) -> None:
    """Seal what this engine writes with ``keys`` (or leave it plain when None)."""
    engine.dialect.responder_seal = _Keys(keys) if keys else None  # type: ignore[attr-defined]


def reseal(dialect: Dialect, stored: bytes) -> bytes | None:
    """What a sealed column's value, as the database holds it, becomes under the newest key; None
    when it is sealed under that key already. Plaintext (a row from before a key was set) is
    sealed; a token sealed under an older key is sealed again under the newest (rotation)."""
    keys = _seal_of(dialect)
    if keys is None:
        raise SealError("storage.encryption_key is not set: there is no key to seal with")
    if not stored.startswith(_TOKEN):
        return keys.all.encrypt(stored)
    try:
        keys.newest.extract_timestamp(stored)  # checks the token's signature: is it the newest key's?
        return None
    except InvalidToken:
        pass
    try:
        return keys.all.rotate(stored)
    except InvalidToken:
        raise SealError("a stored message cannot be opened with storage.encryption_key: not a key it was sealed with") from None


class _Keys:
    """Comma-separated Fernet keys: the first (the newest) seals, all open."""

    def __init__(self, value: str) -> None:
        fernets = [Fernet(key.strip()) for key in value.split(",") if key.strip()]
        self.all = MultiFernet(fernets)  # ValueError when there are none
        self.newest = fernets[0]


def _seal_of(dialect: Dialect) -> _Keys | None:
    return getattr(dialect, "responder_seal", None)


def _open(seal: _Keys | None, token: bytes) -> bytes:
    if seal is None:
        raise SealError("a stored message is encrypted, but storage.encryption_key is not set")
    try:
        return seal.all.decrypt(token)
    except InvalidToken:
        raise SealError("a stored message cannot be opened with storage.encryption_key: not the key it was sealed with") from None


class SealedBytes(TypeDecorator[bytes]):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        seal = _seal_of(dialect)
        return value if value is None or seal is None else seal.all.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        value = bytes(value)
        return _open(_seal_of(dialect), value) if value.startswith(_TOKEN) else value


class SealedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        seal = _seal_of(dialect)
        return value if value is None or seal is None else seal.all.encrypt(value.encode("utf-8")).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(_TOKEN.decode()):
            return value
        return _open(_seal_of(dialect), value.encode("ascii")).decode("utf-8")


class SealedJSON(SealedText):
    """A list or mapping of what people wrote (the model's evidence), stored as JSON text and
    sealed like SealedText: a JSON column could not hold a sealed token."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:  # type: ignore[override]
        return None if value is None else super().process_bind_param(json.dumps(value, ensure_ascii=False), dialect)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:  # type: ignore[override]
        text = super().process_result_value(value, dialect)
        return None if text is None else json.loads(text)
