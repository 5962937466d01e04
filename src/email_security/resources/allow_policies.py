"""Allow policies: senders to trust or accept, and recipients exempt from detections."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import Boolean
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.listing import flag
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

FLAGS = ("is_acceptable_sender", "is_exempt_recipient", "is_trusted_sender", "verify_sender")


class AllowPolicy(SenderPatternColumns, SettingsRow, Base):
    __tablename__ = "allow_policies"

    is_acceptable_sender: Mapped[bool] = mapped_column(Boolean)
    is_exempt_recipient: Mapped[bool] = mapped_column(Boolean)
    is_trusted_sender: Mapped[bool] = mapped_column(Boolean)
    verify_sender: Mapped[bool] = mapped_column(Boolean)


DEPRECATED_ALIASES = {
    "is_sender": "is_trusted_sender",
    "is_spoof": "is_acceptable_sender",
    "is_recipient": "is_exempt_recipient",
}


class AllowPolicyCreate(SenderPatternInput):
    deprecated_aliases = DEPRECATED_ALIASES

    is_acceptable_sender: bool = Field(
        description="Exempt from SPAM, SPOOF and BULK only; MALICIOUS and SUSPICIOUS still apply"
    )
    is_exempt_recipient: bool = Field(description="Messages to this recipient bypass detections")
    is_trusted_sender: bool = Field(description="Messages from this sender bypass detections")
    verify_sender: bool = Field(description="Honour only when DMARC, SPF or DKIM passes aligned")
    is_sender: bool | None = Field(None, deprecated=True, description="Use is_trusted_sender")
    is_spoof: bool | None = Field(None, deprecated=True, description="Use is_acceptable_sender")
    is_recipient: bool | None = Field(None, deprecated=True, description="Use is_exempt_recipient")


class AllowPolicyOut(SenderPatternOut):
    read_from = {**SenderPatternOut.read_from, **DEPRECATED_ALIASES}

    is_acceptable_sender: bool
    is_exempt_recipient: bool
    is_trusted_sender: bool
    verify_sender: bool
    is_sender: bool = Field(deprecated=True)
    is_spoof: bool = Field(deprecated=True)
    is_recipient: bool = Field(deprecated=True)


resource = Resource(
    title="allow policy",
    label="Allow policies",
    id_param="policy_id",
    model=AllowPolicy,
    create=AllowPolicyCreate,
    output=AllowPolicyOut,
    sorts={"pattern": AllowPolicy.pattern},
    search=(AllowPolicy.pattern, AllowPolicy.comments),
    filters={
        **{name: flag(getattr(AllowPolicy, name)) for name in FLAGS},
        **sender_pattern_filters(AllowPolicy),
    },
    normalise=normalise_sender_pattern,
)
