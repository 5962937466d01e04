"""The migrations build exactly what the models declare, and every resource's table gets
its kept counts and the search index over the columns its list searches."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from email_security.core.resource import Resource
from email_security.kit.db import Database
from email_security.migrations import declared, models_metadata
from email_security.resources import RESOURCES


def test_the_schema_equals_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": declared}
        )
        assert compare_metadata(context, models_metadata()) == []


def searched_columns(database: Database, table: str) -> set[str]:
    with database.engine.connect() as connection:
        if database.is_sqlite:
            rows = connection.execute(text(f"PRAGMA table_info({table}_search)"))
            return {row.name for row in rows}
        definitions = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :t AND indexname LIKE :n"),
            {"t": table, "n": f"ix_{table}_%_trigram"},
        ).scalars()
        return {re.search(r"gin \((\w+) gin_trgm_ops\)", d).group(1) for d in definitions}  # type: ignore[union-attr]


def triggers(database: Database, table: str) -> set[str]:
    with database.engine.connect() as connection:
        if database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
        else:
            query = (
                "SELECT tgname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid"
                " WHERE relname = :t AND NOT tgisinternal"
            )
        return set(connection.execute(text(query), {"t": table}).scalars())


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.name)
def test_every_resource_has_its_search_index_and_counts(
    database: Database, resource: Resource
) -> None:
    table = resource.model.__tablename__
    assert searched_columns(database, table) == {column.key for column in resource.search}
    assert {f"{table}_count_add", f"{table}_count_remove"} <= triggers(database, table)
