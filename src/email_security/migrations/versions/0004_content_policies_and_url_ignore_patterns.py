"""Content policies and URL ignore patterns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from email_security.migrations.columns import (
    add_entry_counts,
    add_search,
    drop_entry_counts_and_search,
    filter_index,
    settings_columns,
    sort_index,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEARCHED = {
    "content_policies": ("name", "pattern", "notes"),
    "url_ignore_patterns": ("pattern", "comments"),
}


def upgrade() -> None:
    op.create_table(
        "content_policies",
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("pattern", sa.String(length=1024), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        *settings_columns("content_policies"),
    )
    sort_index("content_policies", "created_at")
    sort_index("content_policies", "name")
    filter_index("content_policies", "enabled")

    op.create_table(
        "url_ignore_patterns",
        sa.Column("pattern", sa.String(length=1024), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        *settings_columns("url_ignore_patterns"),
    )
    sort_index("url_ignore_patterns", "created_at")
    sort_index("url_ignore_patterns", "pattern")

    for table, columns in SEARCHED.items():
        add_entry_counts(table)
        add_search(table, columns)


def downgrade() -> None:
    for table, columns in SEARCHED.items():
        drop_entry_counts_and_search(table, columns)
        op.drop_table(table)
