"""Bulk import: entries from JSON Lines into one account, all or nothing.

Each line is a create body, validated and normalised exactly as `POST /<resource>` does.
Rows go in a few thousand at a time (COPY on PostgreSQL, executemany on SQLite) inside one
settings write transaction (which moves the settings version once): any bad line rolls the whole
import back and is reported by its line number. Memory stays flat whatever the size of the
input. The table's planner statistics are refreshed afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from email_security.audit.records import Actor, trail_of
from email_security.core.resource import Resource
from email_security.core.service import ResourceService, SettingsWriter
from email_security.core.tables import as_row, column_default
from email_security.kit.db import Database
from email_security.kit.errors import ApiError
from email_security.kit.requests import parse_json

CHUNK = 2_000


class ImportFailed(Exception):
    """A line that cannot be imported; nothing was."""


def import_entries(
    database: Database,
    write: SettingsWriter,
    resource: Resource,
    account_id: str,
    lines: Iterable[bytes],
    actor: Actor,
) -> int:
    """Import every non-blank line (the account is created if new); returns how many
    entries were added, each with its audit record."""
    service = ResourceService(resource, database)
    imported = 0
    with write(account_id, actor, create_account=True) as session:
        chunk: list[tuple[str, dict[str, Any]]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            location = f"line {number}"
            chunk.append((location, _entry(service, account_id, line, location)))
            if len(chunk) == CHUNK:
                imported += _insert(session, service, account_id, chunk)
                chunk = []
        imported += _insert(session, service, account_id, chunk)
    _refresh_statistics(database, service.model.__tablename__)
    return imported


def _refresh_statistics(database: Database, table: str) -> None:
    """A big import changes what the query planner should assume about the table. On
    PostgreSQL, VACUUM also marks the new rows all-visible, so that counts can read the
    indexes alone rather than wait for autovacuum."""
    if database.is_sqlite:
        with database.engine.connect() as connection:
            connection.exec_driver_sql(f"ANALYZE {table}")
            connection.commit()
        return
    engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:  # VACUUM runs outside a transaction only
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def _entry(service: ResourceService, account_id: str, line: bytes, location: str) -> dict[str, Any]:
    try:
        # Parsed and validated the way a request body is, strictness included.
        body = service.resource.create.model_validate(parse_json(line))
        return service.new_values(account_id, body, location)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{location}: malformed JSON ({exc.msg})") from None
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        where = f"{location}: {field}" if field else location
        raise ImportFailed(f"{where}: {error['msg']}") from None
    except ApiError as exc:
        raise ImportFailed(exc.details[0].message) from None


def _insert(
    session: Session,
    service: ResourceService,
    account_id: str,
    chunk: list[tuple[str, dict[str, Any]]],
) -> int:
    if not chunk:
        return 0
    if service.resource.unique:
        # Earlier chunks are stored already, so a value repeated across chunks is caught
        # as a clash with "another entry"; within a chunk, as a repeat.
        try:
            service.check_unique(
                session, account_id, [(location, None, values) for location, values in chunk]
            )
        except ApiError as exc:
            raise ImportFailed(exc.details[0].message) from None
    rows = [values for _, values in chunk]
    table = service.model.__table__
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, table, rows)
    else:
        session.execute(insert(table), rows)
    resource = service.resource
    entries = [resource.serialise(as_row(values, table.columns)) for values in rows]
    trail_of(session).record_created(session, resource, entries)
    return len(chunk)


def _copy(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's bulk path: one COPY per chunk (an INSERT per row would also fire the
    entry-count trigger per row). Values pass SQLAlchemy's own converters first, so JSON
    columns arrive as JSON text."""
    dialect = session.get_bind().dialect
    columns = list(table.columns)
    converters = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    names = ", ".join(f'"{column.name}"' for column in columns)
    cursor = session.connection().connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = []
            for column, convert in zip(columns, converters, strict=True):
                value = row[column.name] if column.name in row else column_default(column)
                values.append(value if convert is None or value is None else convert(value))
            copy.write_row(values)
