"""Settings versions are pushed to instances: a warm evaluation asks the database nothing,
and every instance on one database still sees every write."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from email_security.app import create_app
from email_security.config import Settings
from email_security.evaluation.versions import WATCHER_NAME, SettingsVersions
from email_security.kit.db import Database
from tests.support import Api
from tests.test_evaluate_api import block, message, only_verdict

# Pushed versions arrive within milliseconds; the deadline only guards against hangs.
DEADLINE_SECONDS = 15.0


@contextmanager
def counting_statements(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        assert time.monotonic() < deadline, "not seen before the deadline"
        time.sleep(0.01)


def evaluates_without_a_query(api: Api, database: Database) -> bool:
    with counting_statements(database) as statements:
        only_verdict(api, message())
    return not statements


@contextmanager
def second_instance(database_url: str, api: Api, *, watching: bool = True) -> Iterator[Api]:
    """Another server instance on the same database, with its own connections and cache."""
    database = Database(database_url)
    app = create_app(Settings(database_url=database_url), database=database)
    client = TestClient(app)
    try:
        if watching:
            with client:  # runs the lifespan, which starts the version watcher
                yield Api(client, api.account, api.token)
        else:
            yield Api(client, api.account, api.token)
    finally:
        database.dispose()


class TestWarmEvaluations:
    def test_make_no_query(self, api: Api, database: Database) -> None:
        def twenty_without_a_query() -> bool:
            with counting_statements(database) as statements:
                for _ in range(20):
                    only_verdict(api, message())
            return not statements

        # Background work of the app (the expiry sweeper, the hit flusher) may commit, and
        # every instance then reads versions once again: one clean run of 20 is the proof.
        eventually(twenty_without_a_query)

    def test_see_this_instances_writes_at_once(self, api: Api, database: Database) -> None:
        eventually(lambda: evaluates_without_a_query(api, database))
        block(api)
        assert only_verdict(api, message())["disposition"] == "MALICIOUS"


class TestOtherInstances:
    def test_see_writes_without_asking_per_evaluation(self, api: Api, database_url: str) -> None:
        with second_instance(database_url, api) as other:
            other_database = other.client.app.state.database  # type: ignore[attr-defined]
            eventually(lambda: evaluates_without_a_query(other, other_database))
            block(api)  # written through the first instance
            eventually(lambda: only_verdict(other, message())["disposition"] == "MALICIOUS")
            eventually(lambda: evaluates_without_a_query(other, other_database))

    def test_without_a_watcher_read_the_version_every_time(
        self, api: Api, database_url: str
    ) -> None:
        with second_instance(database_url, api, watching=False) as other:
            assert only_verdict(other, message())["disposition"] == "NONE"
            block(api)
            assert only_verdict(other, message())["disposition"] == "MALICIOUS"

    @pytest.mark.parametrize(
        "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    )
    def test_see_writes_after_the_watcher_loses_its_connection(
        self, api: Api, database_url: str, database: Database
    ) -> None:
        with second_instance(database_url, api) as other:
            assert only_verdict(other, message())["disposition"] == "NONE"
            with database.engine.connect() as connection:
                killed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": WATCHER_NAME},
                ).scalar()
            assert killed
            block(api)  # while the watchers may not have noticed, or are reconnecting
            eventually(lambda: only_verdict(other, message())["disposition"] == "MALICIOUS")
            other_database = other.client.app.state.database  # type: ignore[attr-defined]
            eventually(lambda: evaluates_without_a_query(other, other_database))


class TestTheBoard:
    def test_knows_nothing_until_live(self) -> None:
        versions = SettingsVersions()
        versions.learn("a", 3, versions.epoch)
        versions.advance("a", 4)
        assert versions.current("a") is None
        versions.reset(live=True)
        versions.learn("a", 3, versions.epoch)
        assert versions.current("a") == 3

    def test_a_version_read_before_a_reset_is_not_learned(self) -> None:
        versions = SettingsVersions()
        versions.reset(live=True)
        epoch = versions.epoch
        versions.reset(live=True)  # another connection committed meanwhile
        versions.learn("a", 3, epoch)
        assert versions.current("a") is None

    def test_versions_only_move_forward(self) -> None:
        versions = SettingsVersions()
        versions.reset(live=True)
        versions.advance("a", 5)
        versions.learn("a", 4, versions.epoch)
        versions.advance("a", 3)
        assert versions.current("a") == 5
