"""The store's schema, brought up to this release: alembic, with the migrations in migrations/.

`responder migrate` runs ``upgrade``, and so do ``serve`` and ``poll`` at start. The other commands
that open the store use it as it is: ``problem`` tells them first, changing nothing, whether it is
missing or behind (then they say to run `responder migrate` and stop).

The whole upgrade is one transaction: it is all done or not at all. Workers starting together
migrate once: on PostgreSQL the transaction first takes an advisory lock, so the others wait and
then find the store current; on SQLite the transaction begins IMMEDIATE (store.make_engine), which
lets one writer in at a time anyway. A store made before migrations has no alembic_version table:
the first revision recognises its shape by inspection (see versions/0001_before_migrations.py).

A change to schema.py ships with a revision, written from alembic's template by
    python -c 'from alembic import command; from responder.storage.migrate import alembic_config;
               command.revision(alembic_config(), "what changes", rev_id="0003")'
and filled in by hand; tests/test_migrations.py then checks that a migrated store equals schema.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, func, inspect, make_url, select
from sqlalchemy.engine import Connection

from .store import StoreError, make_engine, writing

log = logging.getLogger(__name__)

SCRIPTS = Path(__file__).with_name("migrations")
# The advisory lock the upgrade holds on PostgreSQL: "respondr" in ASCII, a bigint outside the
# int4 range of the per-address locks the throttle takes (hashtext).
_LOCK = int.from_bytes(b"respondr", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for responder's migrations, run on ``connection`` (migrations/env.py
    takes it from here; there is no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this release needs."""
    revision = _scripts().get_current_head()
    assert revision is not None, "responder ships at least one migration"
    return revision


def upgrade(url: str, lock_timeout: float = 30) -> tuple[str | None, str]:
    """Bring the store at ``url`` to this release's schema, creating it if it is new. Returns the
    revision it was at (None: new, or made before migrations) and the one it is at now."""
    database = _sqlite_file(url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, lock_timeout)
    if engine.dialect.name == "sqlite":
        # A table rebuilt in batch mode is dropped and replaced while other tables still refer
        # to it; SQLite would refuse that with foreign keys on. The pragma only takes effect
        # outside a transaction, hence on connecting (after make_engine's own, which sets it on).
        event.listen(engine, "connect", _foreign_keys_off)
    try:
        with writing(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_LOCK)))  # held until this transaction ends
            before = _revision(conn)
            _refuse_newer(before, url)
            if before != head():
                command.upgrade(alembic_config(conn), "head")
                log.info("store %s migrated from revision %s to %s", _shown(url), before or "none", head())
            return before, head()
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Problem:
    """Why this release cannot use a store as it is, with what to do."""

    why: str
    nothing_recorded: bool = False  # the store is missing or has no tables: nothing was ever recorded there

    def __str__(self) -> str:
        return self.why


def problem(url: str) -> Problem | None:
    """Why this release cannot use the store at ``url`` as it is, missing or behind, with what to
    do; None when it can. Raises StoreError for a store a newer release migrated. Never creates
    or changes anything."""
    database = _sqlite_file(url)
    if database is not None and not database.exists():
        return Problem(f"there is no store at {_shown(url)} yet: run `responder migrate` (serve and poll create it at start)", True)
    engine = make_engine(url, 30)
    try:
        with engine.connect() as conn:
            revision = _revision(conn)
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if revision == head():
        return None
    if revision is None and not tables:
        return Problem(f"the store at {_shown(url)} is empty: run `responder migrate` (serve and poll do it at start)", True)
    if revision is None:
        return Problem(f"the store at {_shown(url)} was made by a release before migrations: run `responder migrate` to bring it up to this one")
    _refuse_newer(revision, url)
    return Problem(f"the store at {_shown(url)} is at revision {revision}, this release needs {head()}: run `responder migrate`")


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _refuse_newer(revision: str | None, url: str) -> None:
    """A store migrated by a newer release: this one cannot know what that changed."""
    if revision is not None and revision not in {script.revision for script in _scripts().walk_revisions()}:
        raise StoreError(f"the store at {_shown(url)} is at revision {revision}, which this release does not know: "
                         f"a newer responder migrated it; run that release or a later one")


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store; None for an in-memory one or another database."""
    where = make_url(url)
    return Path(where.database) if where.get_backend_name() == "sqlite" and where.database not in (None, "", ":memory:") else None


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _foreign_keys_off(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")
