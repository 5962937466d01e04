"""Blocked senders, protected domains, impersonation registry, sending domain restrictions
and trusted domains.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from email_security.migrations.columns import settings_columns, sort_index

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "block_senders",
        sa.Column("pattern", sa.String(length=1024), nullable=False),
        sa.Column("pattern_type", sa.String(length=16), nullable=False),
        sa.Column("is_regex", sa.Boolean(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        *settings_columns("block_senders"),
    )
    sort_index("block_senders", "created_at")
    sort_index("block_senders", "pattern")

    op.create_table(
        "trusted_domains",
        sa.Column("pattern", sa.String(length=1024), nullable=False),
        sa.Column("is_regex", sa.Boolean(), nullable=False),
        sa.Column("is_recent", sa.Boolean(), nullable=False),
        sa.Column("is_similarity", sa.Boolean(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        *settings_columns("trusted_domains"),
    )
    sort_index("trusted_domains", "created_at")
    sort_index("trusted_domains", "pattern")

    op.create_table(
        "impersonation_registry",
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("email", sa.String(length=1024), nullable=False),
        sa.Column("is_email_regex", sa.Boolean(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("provenance", sa.String(length=32), nullable=True),
        sa.Column("directory_id", sa.BigInteger(), nullable=True),
        sa.Column("directory_node_id", sa.BigInteger(), nullable=True),
        sa.Column("external_directory_node_id", sa.String(length=1024), nullable=True),
        *settings_columns("impersonation_registry"),
    )
    sort_index("impersonation_registry", "created_at")
    sort_index("impersonation_registry", "name")
    sort_index("impersonation_registry", "email")

    op.create_table(
        "sending_domain_restrictions",
        sa.Column("domain", sa.String(length=1024), nullable=False),
        sa.Column("exclude", sa.JSON(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        *settings_columns("sending_domain_restrictions"),
    )
    sort_index("sending_domain_restrictions", "created_at")
    sort_index("sending_domain_restrictions", "domain")

    op.create_table(
        "domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("allowed_delivery_modes", sa.JSON(), nullable=False),
        sa.Column("drop_dispositions", sa.JSON(), nullable=False),
        sa.Column("ip_restrictions", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("folder", sa.String(length=16), nullable=True),
        sa.Column("integration_id", sa.String(length=1024), nullable=True),
        sa.Column("lookback_hops", sa.Integer(), nullable=False),
        sa.Column("require_tls_inbound", sa.Boolean(), nullable=False),
        sa.Column("require_tls_outbound", sa.Boolean(), nullable=False),
        sa.Column("transport", sa.String(length=253), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dmarc_status", sa.String(length=16), nullable=True),
        sa.Column("spf_status", sa.String(length=16), nullable=True),
        sa.Column("inbox_provider", sa.String(length=16), nullable=True),
        sa.Column("o365_tenant_id", sa.String(length=64), nullable=True),
        sa.Column("emails_processed_total", sa.BigInteger(), nullable=False),
        sa.Column("emails_processed_previous", sa.BigInteger(), nullable=False),
        *settings_columns("domains"),
        sa.UniqueConstraint("account_id", "domain", name="uq_domains_account_domain"),
    )
    sort_index("domains", "created_at")
    sort_index("domains", "domain")


def downgrade() -> None:
    for table in (
        "domains",
        "sending_domain_restrictions",
        "impersonation_registry",
        "trusted_domains",
        "block_senders",
    ):
        op.drop_table(table)
