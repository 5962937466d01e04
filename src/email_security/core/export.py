"""Export: every entry of one account, as JSON Lines or CSV, in constant memory.

Entries are read in keyset pages, (created_at, id) after the last one seen, each page a
single statement of its own: no transaction is held while the output is written, so an
export of a million entries neither blocks writers nor holds back SQLite's checkpoints. An
entry changed meanwhile appears once, as its page read it. Entries already expired count as
absent (the sweeper is about to delete them) and are left out, so that an export can always
be imported again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import orjson
from sqlalchemy import or_, tuple_

from email_security.core.csv_rows import cell, csv_text
from email_security.core.resource import Resource
from email_security.kit.db import Database, utcnow

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")
MEDIA_TYPES: dict[Format, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
PAGE = 1_000


def format_of_file(name: str) -> Format:
    """A file's format by its name: `.csv` is CSV, anything else JSON Lines."""
    return "csv" if name.lower().endswith(".csv") else "jsonl"


def csv_header(resource: Resource) -> list[str]:
    return list(resource.output.model_fields)


def export_pages(
    database: Database, resource: Resource, account_id: str, output: Format
) -> Iterator[tuple[int, bytes]]:
    """The export's text, a page at a time: (entries in it, bytes). CSV starts with its
    header, so even an account with no entries has one."""
    model = resource.model
    header = csv_header(resource)
    now = utcnow()
    query = (
        resource.select_columns.where(
            model.account_id == account_id,
            or_(model.expires_at.is_(None), model.expires_at > now),
        )
        .order_by(model.created_at, model.id)
        .limit(PAGE)
    )
    after: tuple[Any, Any] | None = None
    first = True
    while True:
        page = query if after is None else query.where(tuple_(model.created_at, model.id) > after)
        with database.read_one() as connection:
            rows = list(connection.execute(page))
        entries = [resource.serialise_row(row) for row in rows]
        if output == "csv":
            cells = [[cell(entry[name]) for name in header] for entry in entries]
            text = csv_text([header, *cells] if first else cells)
        else:
            text = b"".join(
                orjson.dumps(entry, option=orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE)
                for entry in entries
            )
        if text or first:
            yield len(entries), text
        if len(rows) < PAGE:
            return
        first = False
        after = (rows[-1].created_at, rows[-1].id)
