"""Content policies ("Blocked content"): an RE2 pattern found in the subject or body of a
message marks it MALICIOUS."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.listing import exact_match, flag
from email_security.core.resource import Resource, SettingsOut, normalising
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.kit.fields import Comments, Distinct, NameText, StrictInput
from email_security.patterns import check_regex
from email_security.resources.values import Re2Expression

Target = Literal["SUBJECT", "BODY"]


class ContentPolicy(SettingsRow, Base):
    __tablename__ = "content_policies"

    name: Mapped[str] = mapped_column(String(1024))
    pattern: Mapped[str] = mapped_column(String(1024))
    targets: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)


class ContentPolicyCreate(StrictInput):
    name: NameText = Field(description="A name for people, e.g. Invoice fraud")
    pattern: Re2Expression = Field(
        description="RE2 regular expression, searched for anywhere in the targets, ignoring case"
    )
    targets: Annotated[list[Target], Field(min_length=1), *Distinct] = Field(
        description="Where to look: SUBJECT, BODY or both"
    )
    enabled: bool = Field(description="A disabled policy is kept but never applied")
    notes: Comments = None


class ContentPolicyOut(SettingsOut):
    name: str
    pattern: str
    targets: list[Target]
    enabled: bool
    notes: str | None


resource = Resource(
    title="content policy",
    label="Blocked content",
    id_param="policy_id",
    model=ContentPolicy,
    create=ContentPolicyCreate,
    output=ContentPolicyOut,
    sorts={"name": ContentPolicy.name},
    search=(ContentPolicy.name, ContentPolicy.pattern, ContentPolicy.notes),
    filters={"enabled": flag(ContentPolicy.enabled), "name": exact_match(ContentPolicy.name)},
    normalise=normalising("pattern", check_regex),
)
