"""Kept counts per value of the flag and enum filters, so that a list filtered by one of
them answers its `total_count` without counting (email_security.core.counts).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from email_security.migrations.columns import add_value_counts, drop_value_counts

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> counted column -> whether it is boolean
COUNTED = {
    "allow_policies": {
        "is_acceptable_sender": True,
        "is_exempt_recipient": True,
        "is_trusted_sender": True,
        "verify_sender": True,
        "pattern_type": False,
    },
    "block_senders": {"pattern_type": False},
    "trusted_domains": {"is_recent": True, "is_similarity": True},
    "impersonation_registry": {"provenance": False},
    "content_policies": {"enabled": True},
}


def upgrade() -> None:
    for table, columns in COUNTED.items():
        add_value_counts(table, columns)


def downgrade() -> None:
    for table, columns in COUNTED.items():
        drop_value_counts(table, columns)
