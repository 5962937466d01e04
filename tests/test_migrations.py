"""The migrations build exactly what the models declare, and every resource's table gets
its kept counts (per value of each counted filter too) and the search index over the columns
its list searches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import text

from email_security.app import create_app
from email_security.config import Settings
from email_security.core.resource import Resource
from email_security.kit.db import Database
from email_security.migrations import alembic_config, declared, models_metadata, upgrade
from email_security.resources import RESOURCES
from tests.conftest import migrated_postgres_database
from tests.support import Api, new_account
from tests.test_counts_and_search import COUNTED_CASES, assert_counts_match_the_entries


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


def counted_columns(database: Database, table: str) -> set[str]:
    """The columns whose values the table's triggers count (their change triggers)."""
    with database.engine.connect() as connection:
        if database.is_sqlite:
            prefix = f"{table}_value_counts_change_"
            return {
                name.removeprefix(prefix)
                for name in triggers(database, table)
                if name.startswith(prefix)
            }
        query = (
            "SELECT event_object_column FROM information_schema.triggered_update_columns"
            " WHERE trigger_name = :n"
        )
        return set(connection.execute(text(query), {"n": f"{table}_value_counts_change"}).scalars())


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.name)
def test_every_counted_filter_has_its_value_counts(database: Database, resource: Resource) -> None:
    table = resource.model.__tablename__
    counted = {
        flt.column.key
        for flt in resource.filters.values()
        if flt.counted and flt.column is not None
    }
    assert counted_columns(database, table) == counted


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'email-security.db'}"
        upgrade(url)
        yield url
        return
    with migrated_postgres_database() as url:
        yield url


def test_the_value_counts_are_filled_from_existing_entries(fresh_database_url: str) -> None:
    """Migration 0006 counts the entries a database already holds when it is applied."""
    database = Database(fresh_database_url)
    try:
        account = new_account(database)
        with TestClient(
            create_app(Settings(database_url=fresh_database_url), database=database)
        ) as client:
            api = Api(client, account, account.token)
            for case in COUNTED_CASES:
                selected = case.filter[1] if case.filter else case.body
                for n in range(3):
                    api.ok(api.post(case.path, json=case.body(n)), 201)
                api.ok(api.post(case.path, json=selected(3)), 201)
            database.engine.dispose()
            command.downgrade(alembic_config(fresh_database_url), "0005")
            upgrade(fresh_database_url)
            for case in COUNTED_CASES:
                assert_counts_match_the_entries(api, case)
    finally:
        database.dispose()
