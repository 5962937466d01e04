"""Blocked senders: every message from a matching sender is MALICIOUS."""

from __future__ import annotations

from email_security.core.resource import Resource
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.resources.sender_patterns import (
    SenderPatternColumns,
    SenderPatternInput,
    SenderPatternOut,
    normalise_sender_pattern,
    sender_pattern_filters,
)


class BlockedSender(SenderPatternColumns, SettingsRow, Base):
    __tablename__ = "block_senders"


class BlockedSenderCreate(SenderPatternInput):
    pass


class BlockedSenderOut(SenderPatternOut):
    pass


resource = Resource(
    title="blocked sender",
    label="Blocked senders",
    id_param="pattern_id",
    model=BlockedSender,
    create=BlockedSenderCreate,
    output=BlockedSenderOut,
    sorts={"pattern": BlockedSender.pattern},
    search=(BlockedSender.pattern, BlockedSender.comments),
    filters=sender_pattern_filters(BlockedSender),
    normalise=normalise_sender_pattern,
)
