"""Alembic environment: one history for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from email_security.migrations import declared, models_metadata

# Several instances may start at once against one PostgreSQL; one of them migrates.
_PG_MIGRATION_LOCK = 7_262_315_001


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            connection.commit()  # else the migration joins this transaction and never commits
        context.configure(
            connection=connection,
            target_metadata=models_metadata(),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=declared,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            context.run_migrations()
    engine.dispose()


run_migrations_online()
