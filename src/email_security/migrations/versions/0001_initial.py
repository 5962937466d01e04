"""Accounts, API tokens and allow policies.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from email_security.migrations.columns import settings_columns, sort_index, timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("settings_version", sa.BigInteger(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_api_tokens_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])

    op.create_table(
        "allow_policies",
        sa.Column("pattern", sa.String(length=1024), nullable=False),
        sa.Column("pattern_type", sa.String(length=16), nullable=False),
        sa.Column("is_regex", sa.Boolean(), nullable=False),
        sa.Column("is_acceptable_sender", sa.Boolean(), nullable=False),
        sa.Column("is_exempt_recipient", sa.Boolean(), nullable=False),
        sa.Column("is_trusted_sender", sa.Boolean(), nullable=False),
        sa.Column("verify_sender", sa.Boolean(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        *settings_columns("allow_policies"),
    )
    sort_index("allow_policies", "created_at")
    sort_index("allow_policies", "pattern")


def downgrade() -> None:
    op.drop_table("allow_policies")
    op.drop_table("api_tokens")
    op.drop_table("accounts")
