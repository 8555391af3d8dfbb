"""Stores written by earlier releases (tests/fixtures/stores, made by those releases' own code; see
the README there), and what a store holds, read past responder's own types."""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from servers.postgres import Postgres
from sqlalchemy import MetaData, create_engine, select

FIXTURES = Path(__file__).parent / "fixtures" / "stores"
MADE = json.loads((FIXTURES / "made.json").read_text())


def ae602ba_store(tmp_path: Path, backend: str, postgres: Postgres | None) -> str:
    """A copy of the store release ae602ba wrote, on SQLite or restored from its dump into a new
    PostgreSQL database; returns its URL."""
    if postgres is None:
        assert backend == "sqlite"
        shutil.copyfile(FIXTURES / "ae602ba.sqlite3", tmp_path / "responder.db")
        return f"sqlite:///{tmp_path / 'responder.db'}"
    url = postgres.new_database()
    subprocess.run([postgres.binary("psql"), "-v", "ON_ERROR_STOP=1", "-q", "-d", libpq(url), "-f", str(FIXTURES / "ae602ba.postgresql.sql")],
                   check=True, capture_output=True)
    return url


def libpq(url: str) -> str:
    """The SQLAlchemy URL of a PostgreSQL database as PostgreSQL's own programs take it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def postgres(request: pytest.FixtureRequest, backend: str) -> Postgres | None:
    """The session's PostgreSQL for the postgresql runs (started only when one needs it)."""
    return request.getfixturevalue("postgres_server") if backend == "postgresql" else None


def rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as the database holds it (sealed values sealed), in key order."""
    engine = create_engine(url)
    try:
        reflected = MetaData()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
            reflected.reflect(engine)
        with engine.connect() as conn:
            return {name: [dict(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()]
                    for name, table in sorted(reflected.tables.items())}
    finally:
        engine.dispose()
