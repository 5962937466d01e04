"""Protected domains: the account's own mail domains and how their mail is handled."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from starlette.responses import Response

from email_security.auth.access import ReadAccess
from email_security.core.listing import Filter, contains, equals
from email_security.core.resource import Change, FieldError, Resource, SettingsOut, normalised
from email_security.core.service import ResourceService
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.kit.envelope import Envelope, envelope_response
from email_security.kit.fields import PRINTABLE, WHOLE_FLOATS, QueryText, StrictInput, Text
from email_security.kit.openapi import ERROR_RESPONSES
from email_security.patterns import PatternError, normalise_domain, parse_network
from email_security.resources.values import DomainName, NetworkText

DeliveryMode = Literal["DIRECT", "BCC", "JOURNAL", "API", "RETRO_SCAN"]
Disposition = Literal[
    "MALICIOUS",
    "MALICIOUS-BEC",
    "SUSPICIOUS",
    "SPOOF",
    "SPAM",
    "BULK",
    "ENCRYPTED",
    "EXTERNAL",
    "UNKNOWN",
    "NONE",
]
Region = Literal["GLOBAL", "AU", "DE", "IN", "US"]
Folder = Literal["AllItems", "Inbox"]
Status = Literal["PENDING", "ACTIVE", "FAILED", "TIMEOUT"]
# Older documents spell statuses in lower case; the filter accepts both.
StatusQuery = Status | Literal["pending", "active", "failed", "timeout"]
LookbackHops = Annotated[int, Field(ge=1, le=20), WHOLE_FLOATS]
MAX_IP_RESTRICTIONS = 1000
DEFAULTS = {"lookback_hops": 1, "require_tls_inbound": False, "require_tls_outbound": False}


class Domain(SettingsRow, Base):
    __tablename__ = "domains"
    __table_args__ = (UniqueConstraint("account_id", "domain", name="uq_domains_account_domain"),)

    domain: Mapped[str] = mapped_column(String(253))
    allowed_delivery_modes: Mapped[list[str]] = mapped_column(JSON)
    drop_dispositions: Mapped[list[str]] = mapped_column(JSON)
    ip_restrictions: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)
    folder: Mapped[str | None] = mapped_column(String(16))
    integration_id: Mapped[str | None] = mapped_column(String(1024))
    lookback_hops: Mapped[int] = mapped_column(Integer)
    require_tls_inbound: Mapped[bool] = mapped_column(Boolean)
    require_tls_outbound: Mapped[bool] = mapped_column(Boolean)
    transport: Mapped[str | None] = mapped_column(String(253))
    # Read-only state, reported by mail flow rather than written through the API.
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    dmarc_status: Mapped[str | None] = mapped_column(String(16))
    spf_status: Mapped[str | None] = mapped_column(String(16))
    inbox_provider: Mapped[str | None] = mapped_column(String(16))
    o365_tenant_id: Mapped[str | None] = mapped_column(String(64))
    emails_processed_total: Mapped[int] = mapped_column(BigInteger, default=0)
    emails_processed_previous: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def emails_processed(self) -> dict[str, Any]:
        return {
            "timestamp": self.modified_at,
            "total_emails_processed": self.emails_processed_total,
            "total_emails_processed_previous": self.emails_processed_previous,
        }

    @property
    def authorization(self) -> None:
        return None  # no CASB integration to authorise against in a self-hosted service


class DomainPut(StrictInput):
    """A full replacement; the domain name itself never changes."""

    allowed_delivery_modes: Annotated[list[DeliveryMode], Field(min_length=1)]
    drop_dispositions: list[Disposition] = Field(
        description="Dispositions to drop instead of delivering"
    )
    ip_restrictions: Annotated[list[NetworkText], Field(max_length=MAX_IP_RESTRICTIONS)] = Field(
        description="Source IPs or CIDRs mail is accepted from; empty means any"
    )
    regions: Annotated[list[Region], Field(min_length=1)]
    folder: Folder | None = None
    integration_id: Text | None = None
    lookback_hops: LookbackHops | None = Field(None, description="Received hops to trace, 1-20")
    require_tls_inbound: bool | None = None
    require_tls_outbound: bool | None = None
    transport: DomainName | None = Field(None, description="Hostname mail is delivered to")


class DomainCreate(DomainPut):
    domain: DomainName = Field(description="The mail domain to protect")


class Authorization(BaseModel):
    authorized: bool
    timestamp: datetime
    status_message: str | None = None


class EmailsProcessed(BaseModel):
    timestamp: datetime
    total_emails_processed: int
    total_emails_processed_previous: int


class DomainOut(SettingsOut):
    domain: str
    allowed_delivery_modes: list[DeliveryMode]
    drop_dispositions: list[Disposition]
    ip_restrictions: list[str]
    regions: list[Region]
    folder: Folder | None
    integration_id: str | None
    lookback_hops: int
    require_tls_inbound: bool
    require_tls_outbound: bool
    transport: str | None
    status: Status
    authorization: Authorization | None
    emails_processed: EmailsProcessed
    dmarc_status: Literal["none", "good", "invalid"] | None
    spf_status: Literal["none", "good", "neutral", "open", "invalid"] | None
    inbox_provider: Literal["Microsoft", "Google"] | None
    o365_tenant_id: str | None


def _normalise(change: Change) -> Mapping[str, Any]:
    sent = change.sent
    updates: dict[str, Any] = {}
    if "domain" in sent:
        updates["domain"] = normalised("domain", sent["domain"], normalise_domain)
    if sent.get("transport") is not None:
        updates["transport"] = normalised("transport", sent["transport"], normalise_domain)
    for name in ("allowed_delivery_modes", "drop_dispositions", "regions"):
        if name in sent:
            updates[name] = list(dict.fromkeys(sent[name]))
    if "ip_restrictions" in sent:
        updates["ip_restrictions"] = list(
            dict.fromkeys(
                _network(text, index) for index, text in enumerate(sent["ip_restrictions"])
            )
        )
    for name, default in DEFAULTS.items():
        if name in sent and sent[name] is None:  # null, or left out of a create or put
            updates[name] = default
    return updates


def _network(text: str, index: int) -> str:
    try:
        network = parse_network(text)
    except ValueError:
        raise FieldError(
            f"ip_restrictions.{index}", f"{text!r} is not an IP address or CIDR"
        ) from None
    return str(network.network_address) if network.num_addresses == 1 else str(network)


# As many names as fit a request line (at most 64 KiB) even at the longest (RFC 1035: 253).
DomainNames = Annotated[
    list[Annotated[str, StringConstraints(max_length=253), *PRINTABLE]], Field(max_length=100)
]


def _domain_names(values: list[str]) -> ColumnElement[bool]:
    names = []
    for value in values:
        try:
            names.append(normalise_domain(value))
        except PatternError:
            names.append(value.lower())
    return Domain.domain.in_(names)


def _status(value: str) -> ColumnElement[bool]:
    return Domain.status == value.upper()


class Verification(BaseModel):
    last_checked_at: datetime
    status: Literal["pending", "verified", "failed"]
    txt_record_name: str
    txt_record_value: str


# Like every item route's id: any text, and an id that is no UUID of this account is a 404.
DomainId = Annotated[str, Path(description="The protected domain id")]


def _add_verification(router: APIRouter, service: ResourceService) -> None:
    @router.get(
        "/{domain_id}/verification",
        summary="DNS TXT record that proves ownership of a protected domain",
        response_model=Envelope[Verification],
        responses=ERROR_RESPONSES,
    )
    def verification(principal: ReadAccess, domain_id: DomainId) -> Response:
        domain = service.read(principal.account_id, domain_id)
        token = hashlib.sha256(f"{principal.account_id}:{domain['id']}".encode()).hexdigest()
        result = {
            "last_checked_at": domain["modified_at"],
            "status": "verified" if domain["status"] == "ACTIVE" else "pending",
            "txt_record_name": f"_email-security.{domain['domain']}",
            "txt_record_value": f"email-security-verification={token[:32]}",
        }
        return envelope_response(result)


resource = Resource(
    title="protected domain",
    label="Protected domains",
    id_param="domain_id",
    model=Domain,
    create=DomainCreate,
    put=DomainPut,
    output=DomainOut,
    sorts={"domain": Domain.domain},
    search=(Domain.domain,),
    filters={
        "domain": Filter(DomainNames, _domain_names, "Domain names (repeat the parameter)"),
        "allowed_delivery_mode": contains(Domain.allowed_delivery_modes, DeliveryMode),
        "active_delivery_mode": contains(
            Domain.allowed_delivery_modes,
            DeliveryMode,
            "Every allowed delivery mode is active here, so this matches allowed_delivery_mode",
        ),
        "integration_id": equals(Domain.integration_id, QueryText),
        "status": Filter(StatusQuery, _status),
    },
    normalise=_normalise,
    unique=("domain",),
    bulk_delete=True,
    extra_routes=_add_verification,
)
