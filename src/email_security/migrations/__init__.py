"""The schema's one Alembic history, for SQLite and PostgreSQL; `upgrade` applies it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

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
