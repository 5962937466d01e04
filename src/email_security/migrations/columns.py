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
