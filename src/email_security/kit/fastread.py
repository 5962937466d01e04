"""Reads on the driver's own connection, for the hottest requests.

Executing through SQLAlchemy costs about 100 µs of Python per statement on top of the
query (events, contexts, result objects): several times a primary-key look-up itself.
`PreparedRead` compiles its SELECT once for the dialect, keeps SQLAlchemy's own bind and
result converters for its columns, and runs on a pooled driver connection in autocommit
mode: one round trip, the statement being a consistent snapshot by itself. Several reads
that must agree (a list page and its count) share one `driver_cursor(..., consistent=True)`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError

from email_security.kit.db import Database

Converter = Callable[[Any], Any]


@contextmanager
def driver_cursor(database: Database, *, consistent: bool = False) -> Iterator[Any]:
    """A cursor on a pooled driver connection in autocommit mode; `consistent`: its reads
    see one state of the database.

    That takes a read transaction on SQLite (BEGIN is local, no round trip). PostgreSQL
    stays in autocommit: at READ COMMITTED, the level its transactions here use, each
    statement has a snapshot of its own anyway, and a transaction would add two round trips.
    Driver errors are raised as SQLAlchemy's (an outage is then a 503 like anywhere else),
    and a connection the database dropped leaves the pool.
    """
    dialect = database.engine.dialect
    driver_error = dialect.loaded_dbapi.Error
    try:
        connection = database.engine.raw_connection()
    except driver_error as error:
        raise DBAPIError.instance(None, None, error, driver_error, dialect=dialect) from error
    try:
        with _cursor(connection, database.is_sqlite, consistent) as cursor:
            yield cursor
    except driver_error as error:
        dropped = dialect.is_disconnect(error, connection.dbapi_connection, None)
        if dropped:
            connection.invalidate(error)
        raise DBAPIError.instance(
            None, None, error, driver_error, connection_invalidated=dropped, dialect=dialect
        ) from error
    finally:
        connection.close()


@contextmanager
def _cursor(connection: Any, sqlite: bool, consistent: bool) -> Iterator[Any]:
    cursor = connection.cursor()
    try:
        if sqlite:
            if consistent:
                cursor.execute("BEGIN")
                try:
                    yield cursor
                finally:
                    cursor.execute("ROLLBACK")
            else:
                yield cursor
            return
        driver = connection.driver_connection
        autocommit = driver.autocommit
        if not autocommit:
            driver.autocommit = True  # psycopg: client-side, no round trip
        try:
            yield cursor
        finally:
            if not autocommit:
                driver.autocommit = False
    finally:
        cursor.close()


class PreparedRead:
    def __init__(self, database: Database, statement: Select[Any]) -> None:
        self._database = database
        dialect = database.engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        self._positional = compiled.positiontup is not None
        self._names: list[str] = list(compiled.positiontup or compiled.binds)
        self._binders: dict[str, Converter | None] = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self._names
        }
        # (position, converter) of the columns whose driver values need converting
        self._readers: list[tuple[int, Converter]] = [
            (position, reader)
            for position, column in enumerate(statement.selected_columns)
            if (reader := column.type.dialect_impl(dialect).result_processor(dialect, None))
        ]
        # Rows read by position and by column name, like SQLAlchemy's.
        keys = [str(column.key) for column in statement.selected_columns]
        self._row: Any = namedtuple("Row", keys)  # type: ignore[misc]  # names known at run time

    def first(self, params: Mapping[str, Any]) -> Any:
        """The first row, or None, in a statement of its own."""
        with driver_cursor(self._database) as cursor:
            rows = self.rows(cursor, params)
        return rows[0] if rows else None

    def rows(self, cursor: Any, params: Mapping[str, Any]) -> list[Any]:
        """Every row, read with a cursor of `driver_cursor`."""
        values = {
            name: value if (bind := self._binders[name]) is None else bind(value)
            for name, value in params.items()
        }
        arguments: Any = [values[name] for name in self._names] if self._positional else values
        cursor.execute(self._sql, arguments)
        fetched = cursor.fetchall()
        make = self._row._make
        readers = self._readers
        if not readers:
            return [make(row) for row in fetched]
        rows = []
        for row in fetched:
            converted = list(row)
            for position, read in readers:
                value = converted[position]
                if value is not None:
                    converted[position] = read(value)
            rows.append(make(converted))
        return rows
