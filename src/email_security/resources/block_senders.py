"""Blocked senders: every message from a matching sender is MALICIOUS."""

from __future__ import annotations

from email_security.kit.db import Base
from email_security.kit.resource import Resource, SettingsRow, account_indexes, filter_indexes
from email_security.resources.sender_patterns import (
    SenderPatternColumns,
    SenderPatternInput,
    SenderPatternOut,
    normalise_sender_pattern,
    sender_pattern_filters,
)


class BlockSender(SenderPatternColumns, SettingsRow, Base):
    __tablename__ = "block_senders"
    __table_args__ = (
        *account_indexes("block_senders", "created_at", "pattern"),
        *filter_indexes("block_senders", "pattern_type"),
    )


class BlockSenderCreate(SenderPatternInput):
    pass


class BlockSenderOut(SenderPatternOut):
    pass


resource = Resource(
    name="block_senders",
    title="blocked sender",
    id_param="pattern_id",
    model=BlockSender,
    create=BlockSenderCreate,
    output=BlockSenderOut,
    sorts={"pattern": BlockSender.pattern, "created_at": BlockSender.created_at},
    search=(BlockSender.pattern, BlockSender.comments),
    filters=sender_pattern_filters(BlockSender),
    normalise=normalise_sender_pattern,
)
