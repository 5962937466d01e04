"""The evaluate request (a message as JSON) and the verdict, as the API documents them."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from email_security import engine
from email_security.kit.fields import (
    ONE_LINE,
    WHOLE_FLOATS,
    PatternText,
    StrictInput,
    Text,
    checked_by_server,
)

AuthResultValue = Literal[
    "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"
]
Detection = Literal["MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS", "SPOOF", "SPAM", "BULK"]
MAX_RECIPIENTS = 1000
# `recipient` query parameters: as many as fit a request line (at most 64 KiB) at the longest.
MAX_QUERY_RECIPIENTS = 100
MAX_SUBJECT = 16 * 1024


def _address(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("must be an address like name@example.com")
    return value


def _ip(value: str) -> str:
    ipaddress.ip_address(value)  # raises ValueError with a clear message
    return value


# RFC 5321 §4.5.3.1.3: a path is at most 256 octets, its angle brackets included.
MAX_ADDRESS = 254
Address = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ADDRESS),
    *ONE_LINE,
    AfterValidator(_address),
    checked_by_server("an address like name@example.com"),
]
IpAddress = Annotated[PatternText, AfterValidator(_ip), checked_by_server("an IP address")]
# A subject is one line once unfolded; a long one is still a subject.
SubjectText = Annotated[str, StringConstraints(max_length=MAX_SUBJECT)]


class AuthCheck(StrictInput):
    result: AuthResultValue
    domain: PatternText | None = None


class AuthInput(StrictInput):
    spf: AuthCheck | None = None
    dkim: list[AuthCheck] = Field(default_factory=list, max_length=100)
    dmarc: AuthCheck | None = None


class EvaluateRequest(StrictInput):
    """One message; only `recipients` and one of `envelope_from` / `header_from` are required."""

    envelope_from: Address | None = Field(None, description="MAIL FROM")
    header_from: Address | None = Field(None, description="The From: address")
    header_from_name: Text | None = Field(None, description="The From: display name")
    reply_to: Address | None = None
    recipients: list[Address] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    client_ip: IpAddress | None = None
    helo: PatternText | None = None
    tls: bool | None = Field(None, description="null: unknown")
    auth: AuthInput = Field(default_factory=AuthInput)
    detections: list[Detection] = Field(default_factory=list, max_length=20)
    sender_domain_age_days: Annotated[int, Field(ge=0, le=1_000_000), WHOLE_FLOATS] | None = None
    subject: SubjectText | None = Field(None, description="The decoded Subject")
    body: str | None = Field(None, description="The plain-text body")
    body_html: str | None = Field(None, description="The HTML body, as sent")

    @model_validator(mode="after")
    def _needs_a_sender(self) -> EvaluateRequest:
        if self.envelope_from is None and self.header_from is None:
            raise ValueError("one of envelope_from and header_from is required")
        return self

    def to_message(self) -> engine.Message:
        auth = self.auth

        def check(value: AuthCheck | None) -> engine.AuthResult | None:
            return engine.AuthResult(value.result, value.domain) if value else None

        return engine.Message(
            recipients=tuple(self.recipients),
            envelope_from=self.envelope_from,
            header_from=self.header_from,
            header_from_name=self.header_from_name,
            reply_to=self.reply_to,
            client_ip=self.client_ip,
            helo=self.helo,
            tls=self.tls,
            auth=engine.AuthResults(
                spf=check(auth.spf),
                dkim=tuple(engine.AuthResult(d.result, d.domain) for d in auth.dkim),
                dmarc=check(auth.dmarc),
            ),
            detections=tuple(self.detections),
            sender_domain_age_days=self.sender_domain_age_days,
            subject=self.subject,
            body=self.body,
            body_html=self.body_html,
        )


def verdict_json(verdict: engine.Verdict) -> dict[str, Any]:
    return dataclasses.asdict(verdict)
