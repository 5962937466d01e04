"""Engine, portable column types and the one-transaction-per-request unit of work."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Stable constraint names make migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "email_security_write"
_SINGLE_STATEMENT_OPTION = "email_security_single_statement"
# Session.info key: what to run once a write transaction has committed.
_AFTER_COMMIT = "email_security_after_commit"


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both dialects (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy_timeout and foreign keys on every connection; we issue BEGIN ourselves.

    pysqlite's implicit transactions start lazily and upgrade a read lock to a write lock
    mid-transaction, which fails with SQLITE_BUSY under concurrency. Write transactions
    begin IMMEDIATE so they take the write lock up front and wait in busy_timeout instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: an acknowledged commit survives power loss too. NORMAL would be durable
        # across process crashes only (in WAL mode power loss can drop the last commits).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()
        # SQLite's lower() folds ASCII only; case-insensitive search must fold "Ü" too,
        # as it does on PostgreSQL.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(_SINGLE_STATEMENT_OPTION, False):
            return  # pysqlite runs it in autocommit mode: its own implicit transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE_OPTION, False) else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=8, max_overflow=16, pool_timeout=60)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """Owns the engine and hands out read or write transactions.

    A write transaction commits when its block ends without error, before the caller
    builds its response, so an acknowledged write is always durable.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Setting an isolation level costs a statement per use on SQLite, where leaving out
        # our own BEGIN does the same; on PostgreSQL it saves the BEGIN and ROLLBACK.
        self._single_statement = (
            self.engine.execution_options(**{_SINGLE_STATEMENT_OPTION: True})
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # One writer at a time inside this process: SQLite allows only one anyway, and
        # queueing here is fairer than many threads sleeping in busy_timeout.
        self._sqlite_write_lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction on a plain connection: reads select rows, not ORM objects,
        and skipping the session saves a good share of a small request's time."""
        with self.engine.connect() as connection:
            try:
                yield connection
            finally:
                connection.rollback()

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """For a single statement, which is a consistent snapshot by itself: no BEGIN and
        ROLLBACK, two round trips fewer on PostgreSQL."""
        with self._single_statement.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self.is_sqlite:
            with self._sqlite_write_lock, self._write_session() as session:
                yield session
        else:
            with self._write_session() as session:
                yield session

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        with self._sessions(execution_options={_WRITE_OPTION: True}) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            for callback in session.info.pop(_AFTER_COMMIT, ()):
                callback()

    @staticmethod
    def after_commit(session: Session, callback: Callable[[], None]) -> None:
        """Run `callback` once the write transaction of `session` has committed (never if
        it rolls back)."""
        session.info.setdefault(_AFTER_COMMIT, []).append(callback)

    def dispose(self) -> None:
        self.engine.dispose()
