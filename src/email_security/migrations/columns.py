"""What the migrations share: column sets, list indexes, kept counts and search.

Frozen: a later change needs a new helper, since editing these would rewrite history
already applied. A new settings table needs `settings_columns`, a `sort_index` per sorted
column, a `filter_index` per indexed filter, `add_entry_counts` and `add_search`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def timestamp(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def settings_columns(table: str) -> list[sa.schema.SchemaItem]:
    """id, account_id, created_at, modified_at: what every settings table starts with."""
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        timestamp("created_at"),
        timestamp("modified_at"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=f"fk_{table}_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def sort_index(table: str, column: str) -> None:
    """The index a list sorted by `column` inside one account reads in order."""
    op.create_index(f"ix_{table}_account_{column}", table, ["account_id", column, "id"])


def filter_index(table: str, column: str) -> None:
    """The index an equality filter reads: its entries of one account in creation order."""
    op.create_index(
        f"ix_{table}_account_{column}_created_at", table, ["account_id", column, "created_at", "id"]
    )


def add_entry_counts(table: str) -> None:
    """Keep `entry_counts` of the table in every writing transaction (statement-level
    triggers on PostgreSQL, over the functions of migration 0003; row-level on SQLite)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_count_add AFTER INSERT ON {table} "
            f"REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
            f"EXECUTE FUNCTION entry_counts_add()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_count_remove AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
            f"EXECUTE FUNCTION entry_counts_remove()"
        )
        return
    op.execute(f"""
        CREATE TRIGGER {table}_count_add AFTER INSERT ON {table} BEGIN
            INSERT INTO entry_counts (account_id, resource, total)
            VALUES (new.account_id, '{table}', 1)
            ON CONFLICT (account_id, resource) DO UPDATE SET total = total + 1;
        END
    """)
    op.execute(f"""
        CREATE TRIGGER {table}_count_remove AFTER DELETE ON {table} BEGIN
            UPDATE entry_counts SET total = total - 1
            WHERE account_id = old.account_id AND resource = '{table}';
        END
    """)


def add_search(table: str, columns: tuple[str, ...]) -> None:
    """Substring search over the columns (email_security.core.search): trigram GIN indexes
    on PostgreSQL; an FTS5 trigram table kept by triggers on SQLite, filled from the table."""
    if op.get_bind().dialect.name == "postgresql":
        for column in columns:
            op.execute(
                f"CREATE INDEX ix_{table}_{column}_trigram ON {table} "
                f"USING gin ({column} gin_trgm_ops)"
            )
        return
    search = f"{table}_search"
    names = ", ".join(columns)
    new_values = ", ".join(f"new.{column}" for column in columns)
    old_values = ", ".join(f"old.{column}" for column in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE {search} USING fts5({names}, content='{table}', "
        f"content_rowid='rowid', tokenize='trigram')"
    )
    insert_new = f"INSERT INTO {search} (rowid, {names}) VALUES (new.rowid, {new_values});"
    delete_old = (
        f"INSERT INTO {search} ({search}, rowid, {names}) "
        f"VALUES ('delete', old.rowid, {old_values});"
    )
    op.execute(f"CREATE TRIGGER {search}_add AFTER INSERT ON {table} BEGIN {insert_new} END")
    op.execute(f"CREATE TRIGGER {search}_remove AFTER DELETE ON {table} BEGIN {delete_old} END")
    op.execute(
        f"CREATE TRIGGER {search}_change AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {delete_old} {insert_new} END"
    )
    op.execute(f"INSERT INTO {search} ({search}) VALUES ('rebuild')")


def drop_entry_counts_and_search(table: str, columns: tuple[str, ...]) -> None:
    """Undo `add_entry_counts` and `add_search`."""
    if op.get_bind().dialect.name == "postgresql":
        for column in columns:
            op.execute(f"DROP INDEX ix_{table}_{column}_trigram")
        op.execute(f"DROP TRIGGER {table}_count_add ON {table}")
        op.execute(f"DROP TRIGGER {table}_count_remove ON {table}")
        return
    for suffix in ("add", "remove", "change"):
        op.execute(f"DROP TRIGGER {table}_search_{suffix}")
    op.execute(f"DROP TABLE {table}_search")
    op.execute(f"DROP TRIGGER {table}_count_add")
    op.execute(f"DROP TRIGGER {table}_count_remove")


def _value_key(table: str, column: str, row: str, boolean: bool) -> str:
    """SQL of `email_security.core.counts.value_count_key` for a column of `row`."""
    value = (
        f"CASE WHEN {row}.{column} THEN 'true' ELSE 'false' END" if boolean else f"{row}.{column}"
    )
    return f"'{table}:{column}=' || {value}"


def add_value_counts(table: str, columns: dict[str, bool]) -> None:
    """Keep `entry_counts` per value of each column (True: a boolean one) in every writing
    transaction, as `add_entry_counts` keeps the table's: under the keys of
    `value_count_key`, NULL values uncounted. Filled from the table."""
    keyed = " UNION ALL ".join(
        f"SELECT account_id, {_value_key(table, column, table, boolean)} AS resource "
        f"FROM {table} WHERE {column} IS NOT NULL"
        for column, boolean in columns.items()
    )
    op.execute(
        f"INSERT INTO entry_counts (account_id, resource, total) "
        f"SELECT account_id, resource, count(*) FROM ({keyed}) AS keyed "
        f"GROUP BY account_id, resource"
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_value_counts(table, columns)
    else:
        _sqlite_value_counts(table, columns)


def _postgresql_value_counts(table: str, columns: dict[str, bool]) -> None:
    """Inserts and deletes per statement, over their transition tables (an import or a
    cascade counts once); updates per row, only when a counted value changes."""

    def keyed(rows: str) -> str:
        return " UNION ALL ".join(
            f"SELECT account_id, {_value_key(table, column, rows, boolean)} AS resource "
            f"FROM {rows} WHERE {column} IS NOT NULL"
            for column, boolean in columns.items()
        )

    op.execute(f"""
        CREATE FUNCTION {table}_value_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO entry_counts (account_id, resource, total)
            SELECT account_id, resource, count(*) FROM ({keyed("added")}) AS keyed
            GROUP BY account_id, resource
            ON CONFLICT (account_id, resource)
            DO UPDATE SET total = entry_counts.total + EXCLUDED.total;
            RETURN NULL;
        END $$
    """)
    op.execute(f"""
        CREATE FUNCTION {table}_value_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE entry_counts AS counts SET total = counts.total - removed_here.total
            FROM (SELECT account_id, resource, count(*) AS total FROM ({keyed("removed")})
                  AS keyed GROUP BY account_id, resource) AS removed_here
            WHERE counts.account_id = removed_here.account_id
              AND counts.resource = removed_here.resource;
            RETURN NULL;
        END $$
    """)
    changes = "\n".join(
        f"""
            IF OLD.{column} IS DISTINCT FROM NEW.{column} THEN
                IF OLD.{column} IS NOT NULL THEN
                    UPDATE entry_counts SET total = total - 1
                    WHERE account_id = OLD.account_id
                      AND resource = {_value_key(table, column, "OLD", boolean)};
                END IF;
                IF NEW.{column} IS NOT NULL THEN
                    INSERT INTO entry_counts (account_id, resource, total)
                    VALUES (NEW.account_id, {_value_key(table, column, "NEW", boolean)}, 1)
                    ON CONFLICT (account_id, resource)
                    DO UPDATE SET total = entry_counts.total + 1;
                END IF;
            END IF;"""
        for column, boolean in columns.items()
    )
    op.execute(f"""
        CREATE FUNCTION {table}_value_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {changes}
            RETURN NULL;
        END $$
    """)
    op.execute(
        f"CREATE TRIGGER {table}_value_counts_add AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {table}_value_counts_add()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_value_counts_remove AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {table}_value_counts_remove()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_value_counts_change AFTER UPDATE OF {', '.join(columns)} "
        f"ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_value_counts_change()"
    )


def _sqlite_value_counts(table: str, columns: dict[str, bool]) -> None:
    """Row-level triggers, one statement each for an insert and a delete."""

    def add(row: str, column: str, boolean: bool) -> str:
        # WHERE before ON CONFLICT: SQLite's parser needs it after a SELECT.
        return (
            f"INSERT INTO entry_counts (account_id, resource, total) "
            f"SELECT {row}.account_id, {_value_key(table, column, row, boolean)}, 1 "
            f"WHERE {row}.{column} IS NOT NULL "
            f"ON CONFLICT (account_id, resource) DO UPDATE SET total = total + 1;"
        )

    def remove(keys: str) -> str:
        return (
            f"UPDATE entry_counts SET total = total - 1 "
            f"WHERE account_id = old.account_id AND resource IN ({keys});"
        )

    added = " UNION ALL ".join(
        f"SELECT {_value_key(table, column, 'new', boolean)} AS resource "
        f"WHERE new.{column} IS NOT NULL"
        for column, boolean in columns.items()
    )
    op.execute(f"""
        CREATE TRIGGER {table}_value_counts_add AFTER INSERT ON {table} BEGIN
            INSERT INTO entry_counts (account_id, resource, total)
            SELECT new.account_id, resource, 1 FROM ({added}) WHERE true
            ON CONFLICT (account_id, resource) DO UPDATE SET total = total + 1;
        END
    """)
    old_keys = ", ".join(_value_key(table, c, "old", b) for c, b in columns.items())
    op.execute(
        f"CREATE TRIGGER {table}_value_counts_remove AFTER DELETE ON {table} "
        f"BEGIN {remove(old_keys)} END"
    )
    for column, boolean in columns.items():
        op.execute(
            f"CREATE TRIGGER {table}_value_counts_change_{column} "
            f"AFTER UPDATE OF {column} ON {table} WHEN old.{column} IS NOT new.{column} "
            f"BEGIN {remove(_value_key(table, column, 'old', boolean))} "
            f"{add('new', column, boolean)} END"
        )


def drop_value_counts(table: str, columns: dict[str, bool]) -> None:
    """Undo `add_value_counts`."""
    if op.get_bind().dialect.name == "postgresql":
        for kind in ("add", "remove", "change"):
            op.execute(f"DROP TRIGGER {table}_value_counts_{kind} ON {table}")
            op.execute(f"DROP FUNCTION {table}_value_counts_{kind}()")
    else:
        op.execute(f"DROP TRIGGER {table}_value_counts_add")
        op.execute(f"DROP TRIGGER {table}_value_counts_remove")
        for column in columns:
            op.execute(f"DROP TRIGGER {table}_value_counts_change_{column}")
    op.execute(f"DELETE FROM entry_counts WHERE resource LIKE '{table}:%'")
