"""Column sets the migrations share. Frozen: a later change needs a new helper, since
editing these would rewrite history already applied."""

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
