"""Substring search that does not read the whole table.

PostgreSQL: trigram GIN indexes (pg_trgm) serve `ILIKE '%text%'` directly. SQLite: an FTS5
table with the trigram tokenizer per resource, `<table>_search`, kept by triggers over the
table's rowid (migration 0003); it finds candidate rows, and SQLite's LIKE (which folds
ASCII case) decides. Text shorter than a trigram reads the account's rows with that LIKE;
text that is not ASCII, whose case folding neither FTS5 nor LIKE do as Python does, reads
them comparing Python-lowered text (the `lower` function `kit.db` installs).

A manual VACUUM may renumber SQLite rowids; rebuild the search tables afterwards with
`INSERT INTO <table>_search(<table>_search) VALUES ('rebuild')`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, literal_column, or_, select, table, text
from sqlalchemy.sql.elements import ColumnElement

TRIGRAM = 3


def search_table(table_name: str) -> str:
    return f"{table_name}_search"


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(
    dialect: str, table_name: str, columns: Sequence[Any], needle: str
) -> ColumnElement[bool]:
    pattern = _like_pattern(needle)
    if dialect != "sqlite" or not needle.isascii():
        return or_(*(column.ilike(pattern, escape="\\") for column in columns))
    # SQLite's own LIKE folds ASCII case: for ASCII text it needs no Python lower() per row.
    matches = or_(*(column.like(pattern, escape="\\") for column in columns))
    if len(needle) < TRIGRAM:
        return matches
    phrase = '"' + needle.replace('"', '""') + '"'
    fts = search_table(table_name)
    candidates: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(table(fts))
        .where(text(f"{fts} MATCH :phrase").bindparams(phrase=phrase))
    )
    rowid: ColumnElement[Any] = literal_column(f"{table_name}.rowid")
    return rowid.in_(candidates) & matches
