"""Sending domain restrictions: mail from the domain (or below it) must arrive over TLS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.batch import DELETES_ONLY
from email_security.core.resource import Change, FieldError, Resource, SettingsOut, normalised
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.kit.fields import Comments, StrictInput
from email_security.patterns import is_subdomain, normalise_domain
from email_security.resources.values import DomainName

MAX_EXCLUDES = 1000


class SendingDomainRestriction(SettingsRow, Base):
    __tablename__ = "sending_domain_restrictions"

    domain: Mapped[str] = mapped_column(String(1024))
    exclude: Mapped[list[str]] = mapped_column(JSON)
    comments: Mapped[str | None] = mapped_column(Text)


class SendingDomainRestrictionCreate(StrictInput):
    domain: DomainName = Field(description="Mail from this domain or below must use TLS")
    exclude: Annotated[list[DomainName], Field(max_length=MAX_EXCLUDES)] = Field(
        description="Subdomains of `domain` exempt from the TLS requirement"
    )
    comments: Comments = None


class SendingDomainRestrictionOut(SettingsOut):
    domain: str
    exclude: list[str]
    comments: str | None


def _normalise(change: Change) -> Mapping[str, Any]:
    if not change.touches("domain", "exclude"):
        return {}
    state = change.state
    domain = normalised("domain", state["domain"], normalise_domain)
    excludes: list[str] = []
    for index, text in enumerate(state["exclude"]):
        exclude = normalised(f"exclude.{index}", text, normalise_domain)
        if not is_subdomain(exclude, domain):
            raise FieldError(f"exclude.{index}", f"{text!r} is not a subdomain of {domain!r}")
        if exclude not in excludes:
            excludes.append(exclude)
    return {"domain": domain, "exclude": excludes}


resource = Resource(
    title="sending domain restriction",
    label="Sending domain restrictions",
    id_param="sending_domain_restriction_id",
    model=SendingDomainRestriction,
    create=SendingDomainRestrictionCreate,
    output=SendingDomainRestrictionOut,
    sorts={"domain": SendingDomainRestriction.domain},
    search=(SendingDomainRestriction.domain, SendingDomainRestriction.comments),
    normalise=_normalise,
    batch_operations=DELETES_ONLY,
)
