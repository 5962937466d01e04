"""Allow policies: senders to trust or accept, and recipients exempt from detections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.kit.db import Base
from email_security.kit.fields import Comments, PatternText, QueryBool
from email_security.kit.resource import (
    AliasedInput,
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


class AllowPolicy(SettingsRow, Base):
    __tablename__ = "allow_policies"
    __table_args__ = account_indexes("allow_policies", "created_at", "pattern")

    pattern: Mapped[str] = mapped_column(String(1024))
    pattern_type: Mapped[str] = mapped_column(String(16))
    is_regex: Mapped[bool] = mapped_column(Boolean)
    is_acceptable_sender: Mapped[bool] = mapped_column(Boolean)
    is_exempt_recipient: Mapped[bool] = mapped_column(Boolean)
    is_trusted_sender: Mapped[bool] = mapped_column(Boolean)
    verify_sender: Mapped[bool] = mapped_column(Boolean)
    comments: Mapped[str | None] = mapped_column(Text)


DEPRECATED_ALIASES = {
    "is_sender": "is_trusted_sender",
    "is_spoof": "is_acceptable_sender",
    "is_recipient": "is_exempt_recipient",
}


class AllowPolicyCreate(AliasedInput):
    deprecated_aliases = DEPRECATED_ALIASES

    pattern: PatternText
    pattern_type: InputPatternType
    is_regex: bool
    is_acceptable_sender: bool = Field(
        description="Exempt from SPAM, SPOOF and BULK only; MALICIOUS and SUSPICIOUS still apply"
    )
    is_exempt_recipient: bool = Field(description="Messages to this recipient bypass detections")
    is_trusted_sender: bool = Field(description="Messages from this sender bypass detections")
    verify_sender: bool = Field(description="Honour only when DMARC, SPF or DKIM passes aligned")
    comments: Comments = None
    is_sender: bool | None = Field(None, deprecated=True, description="Use is_trusted_sender")
    is_spoof: bool | None = Field(None, deprecated=True, description="Use is_acceptable_sender")
    is_recipient: bool | None = Field(None, deprecated=True, description="Use is_exempt_recipient")


class AllowPolicyOut(BaseModel):
    id: str
    created_at: datetime
    modified_at: datetime
    last_modified: datetime = Field(deprecated=True, description="Use modified_at")
    pattern: str
    pattern_type: PatternType
    is_regex: bool
    is_acceptable_sender: bool
    is_exempt_recipient: bool
    is_trusted_sender: bool
    verify_sender: bool
    comments: str | None
    is_sender: bool = Field(deprecated=True)
    is_spoof: bool = Field(deprecated=True)
    is_recipient: bool = Field(deprecated=True)


resource = Resource(
    name="allow_policies",
    title="allow policy",
    id_param="policy_id",
    model=AllowPolicy,
    create=AllowPolicyCreate,
    output=AllowPolicyOut,
    sorts={"pattern": AllowPolicy.pattern, "created_at": AllowPolicy.created_at},
    search=(AllowPolicy.pattern, AllowPolicy.comments),
    filters={
        "is_acceptable_sender": Filter(QueryBool, equals(AllowPolicy.is_acceptable_sender)),
        "is_exempt_recipient": Filter(QueryBool, equals(AllowPolicy.is_exempt_recipient)),
        "is_trusted_sender": Filter(QueryBool, equals(AllowPolicy.is_trusted_sender)),
        "verify_sender": Filter(QueryBool, equals(AllowPolicy.verify_sender)),
        "pattern_type": Filter(PatternType, equals(AllowPolicy.pattern_type)),
        "pattern": exact_match(AllowPolicy.pattern),
    },
    normalise=normalise_sender_pattern,
)
