"""Bulk import: entries from JSON Lines or CSV into one account, all or nothing.

Each line (a CSV row: its cells read by the field types, `csv_rows`) is a create body,
validated and normalised exactly as `POST /<resource>` does; the read-only fields an export
holds (id, timestamps, counters...) are ignored, any other unknown field is refused.
Rows go in a few thousand at a time (COPY on PostgreSQL, executemany on SQLite) inside one
settings write transaction (which moves the settings version once): any bad line rolls the whole
import back and is reported by its line number. Memory stays flat whatever the size of the
input. After a large import the table's planner statistics are refreshed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

from psycopg import postgres
from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.orm import Session

from email_security.audit.records import Actor, AuditRecord, trail_of
from email_security.core.csv_rows import (
    CsvError,
    FieldCellError,
    cell_readers,
    csv_records,
    entry_body,
)
from email_security.core.export import Format
from email_security.core.resource import Resource
from email_security.core.service import ResourceService, SettingsWriter
from email_security.core.tables import column_default
from email_security.kit.db import Database
from email_security.kit.errors import ApiError, Conflict
from email_security.kit.requests import parse_json

CHUNK = 2_000
SQLITE_CACHE_KIB = 128 * 1024
BOM = b"\xef\xbb\xbf"


class ImportFailed(Exception):
    """A line that cannot be imported; nothing was. `conflict`: it clashes with another
    entry (a unique value), as a 409 would say."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


def import_entries(
    database: Database,
    write: SettingsWriter,
    resource: Resource,
    account_id: str,
    lines: Iterable[bytes],
    actor: Actor,
    source_format: Format = "jsonl",
) -> int:
    """Import every non-blank line (the account is created if new); returns how many
    entries were added, each with its audit record."""
    service = ResourceService(resource, database)
    read = _csv_bodies if source_format == "csv" else _json_bodies
    imported = 0
    with write(account_id, actor, create_account=True) as session, _sqlite_cache(session):
        chunk: list[tuple[str, dict[str, Any]]] = []
        for number, body in read(resource, _without_bom(lines)):
            location = f"line {number}"
            chunk.append((location, _entry(service, account_id, body, location)))
            if len(chunk) == CHUNK:
                imported += _insert(session, service, account_id, chunk)
                chunk = []
        imported += _insert(session, service, account_id, chunk)
    if imported >= CHUNK:  # a few entries more do not change what the planner should assume
        _refresh_statistics(database, service.model.__tablename__)
    return imported


@contextmanager
def _sqlite_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache of SQLITE_CACHE_KIB for the import, then the connection's own
    again. The random keys (entry ids, audit record ids) spread the rows of each chunk over
    the whole of their indexes; with SQLite's default 2 MB, most of those pages are read
    and spilled to the WAL again and again once the tables outgrow it."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or 0)}")


def _without_bom(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The lines, the first without the byte order mark some editors write."""
    iterator = iter(lines)
    for line in iterator:
        yield line.removeprefix(BOM)
        break
    yield from iterator


def _read_only_fields(resource: Resource) -> frozenset[str]:
    """Output fields that are no input: an export holds them, an import ignores them."""
    return frozenset(resource.output.model_fields) - frozenset(resource.create.model_fields)


def _json_bodies(resource: Resource, lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    ignored = _read_only_fields(resource)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            # Parsed the way a request body is, strictness included.
            body = parse_json(line)
        except json.JSONDecodeError as exc:
            raise ImportFailed(f"line {number}: malformed JSON ({exc.msg})") from None
        if isinstance(body, dict):
            body = {name: value for name, value in body.items() if name not in ignored}
        yield number, body


def _csv_bodies(resource: Resource, lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    records = csv_records(_decoded(lines))
    try:
        header_line, header = next(((n, cells) for n, cells in records if cells), (0, []))
        if not header:
            return  # nothing at all: no entries
        columns = _columns(resource, header, header_line)
        readers = cell_readers(resource.create)
        for number, cells in records:
            if not cells:
                continue  # a blank line
            if len(cells) != len(columns):
                raise ImportFailed(
                    f"line {number}: {len(cells)} cells, where the header has {len(columns)}"
                )
            try:
                body = entry_body(cells, columns, readers)
            except FieldCellError as exc:
                raise ImportFailed(f"line {number}: {exc}") from None
            yield number, body
    except CsvError as exc:
        raise ImportFailed(f"line {exc.line}: not CSV ({exc})") from None


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFailed(f"line {number}: not valid UTF-8") from None


def _columns(resource: Resource, header: list[str], number: int) -> list[str | None]:
    """The field of each header column: None for the read-only ones, which are ignored."""
    ignored = _read_only_fields(resource)
    columns: list[str | None] = []
    for index, name in enumerate(header):
        if name in header[:index]:
            raise ImportFailed(f"line {number}: {name}: the column is repeated")
        if name not in ignored and name not in resource.create.model_fields:
            raise ImportFailed(f"line {number}: {name}: unknown column")
        columns.append(None if name in ignored else name)
    return columns


def _entry(service: ResourceService, account_id: str, body: Any, location: str) -> dict[str, Any]:
    try:
        # Validated the way a request body is, strictness included.
        entry = service.resource.create.model_validate(body)
        return service.new_values(account_id, entry)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        where = f"{location}: {field}" if field else location
        raise ImportFailed(f"{where}: {error['msg']}") from None
    except ApiError as exc:
        raise _failed(exc, location) from None


# Errors of the core name a field of an entry at a location: "line 7.domain: ...".
_LOCATED = re.compile(r"^(line \d+)\.")


def _failed(exc: ApiError, location: str = "") -> ImportFailed:
    message = exc.details[0].message
    message = _LOCATED.sub(r"\1: ", message) if _LOCATED.match(message) else message
    if location:
        message = f"{location}: {message}"
    return ImportFailed(message, conflict=isinstance(exc, Conflict))


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
            raise _failed(exc) from None
    table = service.model.__table__
    rows = _with_defaults(table, [values for _, values in chunk])
    _write_rows(session, table, rows)
    resource = service.resource
    entries = [resource.serialise(SimpleNamespace(**row)) for row in rows]
    _record_created(session, resource, entries)
    return len(chunk)


def _with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every column of each row (by key), what an INSERT leaving it out would give it filled
    in (as `as_row` does, but computing only the defaults the row lacks)."""
    columns = list(table.columns)
    keys = frozenset(column.key for column in columns)
    for row in rows:
        if not keys <= row.keys():
            for column in columns:
                if column.key not in row:
                    row[column.key] = column_default(column)
    return rows


def _record_created(session: Session, resource: Resource, entries: list[dict[str, Any]]) -> None:
    """The audit records of the entries, written by the same bulk path as the entries
    (COPY, or one executemany of the driver)."""
    _write_rows(session, _AUDIT_TABLE, trail_of(session).created_records(resource, entries))


def _write_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that hold a value for every column they set (the others: the table's
    own, e.g. an autoincrement key), straight through the driver. Values pass
    SQLAlchemy's own converters first, so they are stored as an ORM insert stores them
    (UUIDs as hex on SQLite, timestamps in its text form, JSON as JSON text). On
    PostgreSQL, one COPY: an INSERT per row would also fire the entry-count trigger per
    row."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    columns = [column for column in table.columns if column.key in rows[0]]
    keys = [column.key for column in columns]
    converters = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    plain = all(convert is None for convert in converters)

    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        if plain:
            return tuple([row[key] for key in keys])
        return tuple(
            [
                value if convert is None or value is None else convert(value)
                for value, convert in zip([row[key] for key in keys], converters, strict=True)
            ]
        )

    names = ", ".join(f'"{column.name}"' for column in columns)
    cursor = session.connection().connection.cursor()
    try:
        if dialect.name == "postgresql":
            oids = _column_types(session, cursor, table.name, [column.name for column in columns])
            # Binary COPY (5x less client time than text) for the types whose binary form
            # psycopg writes from the same Python values; text COPY for any other (JSON,
            # which the converters have made JSON text already).
            binary = all(oid in _BINARY_COPY_TYPES for oid in oids)
            options = " (FORMAT BINARY)" if binary else ""
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN{options}') as copy:
                if binary:
                    copy.set_types(oids)
                for row in rows:
                    copy.write_row(values(row))
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                [values(row) for row in rows],
            )
    finally:
        cursor.close()


_AUDIT_TABLE = cast(Table, AuditRecord.__table__)
_BINARY_COPY_TYPES = frozenset(
    postgres.types[name].oid
    for name in ("bool", "int2", "int4", "int8", "text", "varchar", "uuid", "timestamptz")
)
_COLUMN_TYPES = "email_security_import_column_types"  # Session.info key


def _column_types(session: Session, cursor: Any, table: str, names: list[str]) -> list[int]:
    """The PostgreSQL type (oid) of each named column of `table`, read once a transaction."""
    known: dict[str, dict[str, int]] = session.info.setdefault(_COLUMN_TYPES, {})
    if table not in known:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (f'"{table}"',),
        )
        known[table] = {name: oid for name, oid in cursor.fetchall()}
    return [known[table][name] for name in names]
