"""Fast lists at a million entries: filter indexes, kept entry counts, indexed search.

- One index per equality filter: (account_id, <filter>, created_at, id).
- entry_counts: entries per account and table, kept by triggers in the writing
  transaction (statement-level on PostgreSQL, row-level on SQLite), filled from the tables.
- Search: trigram GIN indexes (pg_trgm) on PostgreSQL; FTS5 trigram tables kept by
  triggers on SQLite (see email_security.core.search).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from email_security.migrations.columns import (
    add_entry_counts,
    add_search,
    drop_entry_counts_and_search,
    filter_index,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FILTERS = {
    "allow_policies": (
        "is_acceptable_sender",
        "is_exempt_recipient",
        "is_trusted_sender",
        "verify_sender",
        "pattern_type",
    ),
    "block_senders": ("pattern_type",),
    "trusted_domains": ("is_recent", "is_similarity"),
    "impersonation_registry": ("provenance",),
    "domains": ("integration_id",),
}

SEARCHED = {
    "allow_policies": ("pattern", "comments"),
    "block_senders": ("pattern", "comments"),
    "trusted_domains": ("pattern", "comments"),
    "impersonation_registry": ("name", "email"),
    "sending_domain_restrictions": ("domain", "comments"),
    "domains": ("domain",),
}

TABLES = tuple(SEARCHED)


def upgrade() -> None:
    for table, columns in FILTERS.items():
        for column in columns:
            filter_index(table, column)
    op.create_table(
        "entry_counts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_entry_counts_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "resource", name="pk_entry_counts"),
    )
    for table in TABLES:
        op.execute(
            f"INSERT INTO entry_counts (account_id, resource, total) "
            f"SELECT account_id, '{table}', count(*) FROM {table} GROUP BY account_id"
        )
    if op.get_bind().dialect.name == "postgresql":
        _count_functions()
        # Trusted since PostgreSQL 13: a database owner may create it without superuser.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in SEARCHED.items():
        add_entry_counts(table)
        add_search(table, columns)


def _count_functions() -> None:
    """What the PostgreSQL triggers of `add_entry_counts` run, for every table."""
    op.execute("""
        CREATE FUNCTION entry_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO entry_counts (account_id, resource, total)
            SELECT account_id, TG_TABLE_NAME, count(*) FROM added GROUP BY account_id
            ON CONFLICT (account_id, resource)
            DO UPDATE SET total = entry_counts.total + EXCLUDED.total;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE FUNCTION entry_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE entry_counts AS counts SET total = counts.total - removed_here.total
            FROM (SELECT account_id, count(*) AS total FROM removed GROUP BY account_id)
                AS removed_here
            WHERE counts.account_id = removed_here.account_id
              AND counts.resource = TG_TABLE_NAME;
            RETURN NULL;
        END $$
    """)


def downgrade() -> None:
    for table, columns in SEARCHED.items():
        drop_entry_counts_and_search(table, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION entry_counts_add()")
        op.execute("DROP FUNCTION entry_counts_remove()")
    op.drop_table("entry_counts")
    for table, columns in FILTERS.items():
        for column in columns:
            op.drop_index(f"ix_{table}_account_{column}_created_at", table_name=table)
