"""The schema's one Alembic history, for SQLite and PostgreSQL; `upgrade` applies it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply every pending migration (`db upgrade`); a new SQLite file's folder is made."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (None: no schema at all)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_problem(engine: Engine) -> str | None:
    """What is wrong with the database's schema for this version, in one line, or None."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return None
    if current is None:
        return "the database has no schema yet: run `email-security db upgrade`"
    return (
        f"the database schema is at revision {current} and this version needs {head}: "
        "run `email-security db upgrade`"
    )


def declared(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Whether a schema object is the models' to compare (Alembic's `include_object`):
    search tables (SQLite) and trigram indexes (PostgreSQL) exist only in migrations."""
    if reflected and compare_to is None and name is not None:
        return not ("_search" in name or name.endswith("_trigram"))
    return True


def models_metadata() -> MetaData:
    """Every table the models declare: what the history must build."""
    import email_security.audit.records
    import email_security.auth.tokens
    import email_security.core.counts
    import email_security.resources  # noqa: F401  (each module registers its tables)
    from email_security.kit.db import Base

    return Base.metadata
