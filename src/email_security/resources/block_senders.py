"""Blocked senders: every message from a matching sender is MALICIOUS."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.kit.db import Base
from email_security.kit.fields import Comments, PatternText, StrictInput
from email_security.kit.resource import (
    Filter,
    Resource,
    SettingsRow,
    account_indexes,
    equals,
    exact_match,
)
from email_security.resources.sender_patterns import (
    InputPatternType,
    PatternType,
    normalise_sender_pattern,
)


class BlockSender(SettingsRow, Base):
    __tablename__ = "block_senders"
    __table_args__ = account_indexes("block_senders", "created_at", "pattern")

    pattern: Mapped[str] = mapped_column(String(1024))
    pattern_type: Mapped[str] = mapped_column(String(16))
    is_regex: Mapped[bool] = mapped_column(Boolean)
    comments: Mapped[str | None] = mapped_column(Text)


class BlockSenderCreate(StrictInput):
    pattern: PatternText
    pattern_type: InputPatternType
    is_regex: bool
    comments: Comments = None


class BlockSenderOut(BaseModel):
    id: str
    created_at: datetime
    modified_at: datetime
    last_modified: datetime = Field(deprecated=True, description="Use modified_at")
    pattern: str
    pattern_type: PatternType
    is_regex: bool
    comments: str | None


resource = Resource(
    name="block_senders",
    title="blocked sender",
    id_param="pattern_id",
    model=BlockSender,
    create=BlockSenderCreate,
    output=BlockSenderOut,
    sorts={"pattern": BlockSender.pattern, "created_at": BlockSender.created_at},
    search=(BlockSender.pattern, BlockSender.comments),
    filters={
        "pattern_type": Filter(PatternType, equals(BlockSender.pattern_type)),
        "pattern": exact_match(BlockSender.pattern),
    },
    normalise=normalise_sender_pattern,
)
