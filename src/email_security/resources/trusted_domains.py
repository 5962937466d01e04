"""Trusted domains: partner look-alikes (is_similarity) and young domains (is_recent)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field
from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.listing import exact_match, flag
from email_security.core.resource import Change, Resource, SettingsOut, normalised
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.kit.fields import Comments, StrictInput
from email_security.patterns import check_regex, normalise_domain
from email_security.resources.values import DomainOrRegex


class TrustedDomain(SettingsRow, Base):
    __tablename__ = "trusted_domains"

    pattern: Mapped[str] = mapped_column(String(1024))
    is_regex: Mapped[bool] = mapped_column(Boolean)
    is_recent: Mapped[bool] = mapped_column(Boolean)
    is_similarity: Mapped[bool] = mapped_column(Boolean)
    comments: Mapped[str | None] = mapped_column(Text)


class TrustedDomainCreate(StrictInput):
    pattern: DomainOrRegex = Field(description="A domain, e.g. example.com, or an RE2 regex")
    is_regex: bool
    is_recent: bool = Field(
        description="Recently registered: never SUSPICIOUS or MALICIOUS for its age"
    )
    is_similarity: bool = Field(description="Look-alike partner domain: never SPOOF for it")
    comments: Comments = None


class TrustedDomainOut(SettingsOut):
    pattern: str
    is_regex: bool
    is_recent: bool
    is_similarity: bool
    comments: str | None


def _normalise(change: Change) -> Mapping[str, Any]:
    if not change.touches("pattern", "is_regex"):
        return {}
    state = change.state
    normalise = check_regex if state["is_regex"] else normalise_domain
    return {"pattern": normalised("pattern", state["pattern"], normalise)}


resource = Resource(
    title="trusted domain",
    label="Trusted domains",
    id_param="trusted_domain_id",
    model=TrustedDomain,
    create=TrustedDomainCreate,
    output=TrustedDomainOut,
    sorts={"pattern": TrustedDomain.pattern},
    search=(TrustedDomain.pattern, TrustedDomain.comments),
    filters={
        "is_recent": flag(TrustedDomain.is_recent),
        "is_similarity": flag(TrustedDomain.is_similarity),
        "pattern": exact_match(TrustedDomain.pattern),
    },
    normalise=_normalise,
    create_accepts_list=True,
)
