"""Entry lifecycle: expiry and hit statistics on every settings table, and the audit log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SETTINGS_TABLES = (
    "allow_policies",
    "block_senders",
    "trusted_domains",
    "impersonation_registry",
    "domains",
    "sending_domain_restrictions",
    "content_policies",
    "url_ignore_patterns",
)


def upgrade() -> None:
    for table in SETTINGS_TABLES:
        # Plain ADD COLUMN on both databases: no table rebuild, so its triggers stay.
        op.add_column(table, sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(
            table, sa.Column("hit_count", sa.BigInteger(), server_default="0", nullable=False)
        )
        op.add_column(table, sa.Column("last_hit_at", sa.DateTime(timezone=True), nullable=True))
        op.create_index(f"ix_{table}_expires_at", table, ["expires_at"])
        op.create_index(
            f"ix_{table}_account_last_hit_at", table, ["account_id", "last_hit_at", "id"]
        )

    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=8), nullable=False),
        sa.Column("actor_token_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_audit_log_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("id", name="uq_audit_log_id"),
    )
    op.create_index("ix_audit_log_account_seq", "audit_log", ["account_id", "seq"])
    op.create_index(
        "ix_audit_log_account_entry_seq", "audit_log", ["account_id", "entry_id", "seq"]
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    for table in SETTINGS_TABLES:
        op.drop_index(f"ix_{table}_account_last_hit_at", table)
        op.drop_index(f"ix_{table}_expires_at", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("last_hit_at")
            batch.drop_column("hit_count")
            batch.drop_column("expires_at")
