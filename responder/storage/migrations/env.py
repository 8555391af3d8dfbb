"""How alembic runs responder's migrations: on the connection, already in its transaction, that
storage/migrate.py hands over (there is no alembic.ini and no URL here). The whole upgrade is that
one transaction, DDL included, on PostgreSQL and on SQLite alike (store.make_engine leaves SQLite's
transactions to SQLAlchemy, so its DDL is transactional too)."""

from alembic import context

from responder.storage.schema import metadata

context.configure(connection=context.config.attributes["connection"], target_metadata=metadata,
                  transactional_ddl=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
