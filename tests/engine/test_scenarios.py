"""The policy engine, rule by rule and step by step, as docs/ENGINE.md states it.

Each table row is one behaviour: the settings, one message for bob@ours.example, and the
verdict expected for him: disposition, action, attributes and every match reported, as
(resource, id, field, honored). Tests after the tables cover what a row cannot: several
recipients in one message, the protected domain chosen, and the details of each match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

from email_security.engine import (
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    ImpersonationEntry,
    Message,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    compile_settings,
    evaluate,
)
from email_security.engine import RecipientVerdict as Verdict

RECIPIENT = "bob@ours.example"

# --- settings entries used across the tables ------------------------------------------------------

OURS = ProtectedDomain("dom-ours", "ours.example")
OURS_WITH_IP_RESTRICTIONS = ProtectedDomain(
    "dom-ours", "ours.example", ip_restrictions=("192.0.2.0/24", "2001:db8::/32")
)
CONTOSO = ProtectedDomain("dom-contoso", "contoso.com")  # a 7-character label
NORTHWIND = ProtectedDomain("dom-northwind", "northwind.com")  # a 9-character label
LOOKALIKE_TARGETS = (OURS, CONTOSO, NORTHWIND)

EXEMPT_BOB = AllowPolicy("allow-exempt-bob", RECIPIENT, "EMAIL", is_exempt_recipient=True)
TRUST_PARTNER = AllowPolicy(
    "allow-trust-partner", "partner.example", "DOMAIN", is_trusted_sender=True
)
ACCEPT_PARTNER = AllowPolicy(
    "allow-accept-partner", "partner.example", "DOMAIN", is_acceptable_sender=True
)
TRUST_PARTNER_CO_UK_VERIFIED = AllowPolicy(
    "allow-trust-partner-co-uk",
    "partner.co.uk",
    "DOMAIN",
    is_trusted_sender=True,
    verify_sender=True,
)
BLOCK_EVIL = BlockedSender("block-evil", "evil.example", "DOMAIN")
ANN = ImpersonationEntry("imp-ann", "Ann Lee", "ann@ours.example, Ann.Lee@Gmail.com")
ANN_AT_PARTNER = ImpersonationEntry("imp-ann-partner", "Ann Lee", "ann@partner.example")
CARL = ImpersonationEntry("imp-carl", "Carl Ho", r"carl(\.ho)?@ours\.example", is_email_regex=True)
RESTRICT_PARTNER = SendingDomainRestriction(
    "sdr-partner", "partner.example", exclude=("legacy.partner.example",)
)


# --- the table machinery --------------------------------------------------------------------------


class Hit(NamedTuple):
    """A match as the tables expect it: which entry, on which field, and whether it counted."""

    resource: str
    id: str
    field: str
    honored: bool


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    message: Message
    disposition: str
    action: str
    attributes: frozenset[str]
    matches: frozenset[Hit] | None  # None: not asserted
    thresholds: Thresholds | None


def account(**resources: Any) -> Settings:
    """Settings with ours.example protected unless the row says otherwise."""
    resources.setdefault("domains", (OURS,))
    return Settings(**resources)


def mail(**fields: Any) -> Message:
    """A message to bob@ours.example unless the row says otherwise."""
    fields.setdefault("recipients", (RECIPIENT,))
    return Message(**fields)


def case(
    id_: str,
    settings: Settings,
    message: Message,
    disposition: str,
    action: str = "deliver",
    *,
    attributes: tuple[str, ...] = (),
    matches: tuple[Hit, ...] | None = (),
    thresholds: Thresholds | None = None,
    marks: Any = (),
) -> Any:
    scenario = Scenario(
        settings=settings,
        message=message,
        disposition=disposition,
        action=action,
        attributes=frozenset(attributes),
        matches=None if matches is None else frozenset(matches),
        thresholds=thresholds,
    )
    return pytest.param(scenario, id=id_, marks=marks)


def verdict_for(
    settings: Settings, message: Message, thresholds: Thresholds | None = None
) -> Verdict:
    verdict = evaluate(message, compile_settings(settings, thresholds))
    assert len(verdict.recipients) == 1
    return verdict.recipients[0]


def check(scenario: Scenario) -> None:
    verdict = verdict_for(scenario.settings, scenario.message, scenario.thresholds)
    assert (verdict.disposition, verdict.action) == (scenario.disposition, scenario.action)
    assert set(verdict.attributes) == scenario.attributes
    if scenario.matches is not None:
        reported = {Hit(m.resource, m.id, m.field, m.honored) for m in verdict.matches}
        assert reported == scenario.matches
        assert len(verdict.matches) == len(reported), "a match is reported twice"


def exempt(policy_id: str = EXEMPT_BOB.id, honored: bool = True) -> Hit:
    return Hit("allow_policies", policy_id, "recipient", honored)


def allow(policy_id: str, field: str = "header_from", honored: bool = True) -> Hit:
    return Hit("allow_policies", policy_id, field, honored)


def block(entry_id: str, field: str = "header_from", honored: bool = True) -> Hit:
    return Hit("block_senders", entry_id, field, honored)


def impersonation(entry_id: str = ANN.id, honored: bool = True) -> Hit:
    return Hit("impersonation_registry", entry_id, "header_from_name", honored)


def lookalike_of(domain_id: str, field: str = "header_from", honored: bool = True) -> Hit:
    return Hit("domains", domain_id, field, honored)


def trusted_domain(entry_id: str, honored: bool = True) -> Hit:
    return Hit("trusted_domains", entry_id, "header_from", honored)


def restriction(field: str = "header_from", honored: bool = True) -> Hit:
    return Hit("sending_domain_restrictions", RESTRICT_PARTNER.id, field, honored)


def ip_restriction(honored: bool = True) -> Hit:
    return Hit("domains", OURS.id, "client_ip", honored)


def passes(
    *, spf: str | None = None, dkim: tuple[str, ...] = (), dmarc: str | None = None
) -> AuthResults:
    """Authentication results where every method named passed for the domain given."""
    return AuthResults(
        spf=AuthResult("pass", spf) if spf else None,
        dkim=tuple(AuthResult("pass", domain) for domain in dkim),
        dmarc=AuthResult("pass", dmarc) if dmarc else None,
    )


# --- steps 3 to 5: exempt recipient, blocked sender, trusted sender -------------------------------

PRECEDENCE = [
    case(
        "exempt-recipient-beats-blocked-sender",
        account(allow_policies=(EXEMPT_BOB,), block_senders=(BLOCK_EVIL,)),
        mail(header_from="ann@evil.example"),
        "NONE",
        matches=(exempt(), block(BLOCK_EVIL.id, honored=False)),
    ),
    case(
        "exempt-recipient-bypasses-upstream-detections",
        account(allow_policies=(EXEMPT_BOB,)),
        mail(header_from="ann@partner.example", detections=("MALICIOUS", "SPAM")),
        "NONE",
        matches=(exempt(),),
    ),
    case(
        "exempt-recipient-bypasses-impersonation",
        account(allow_policies=(EXEMPT_BOB,), impersonation_registry=(ANN,)),
        mail(header_from="ann@evil.example", header_from_name="Ann Lee"),
        "NONE",
        matches=(exempt(), impersonation(honored=False)),
    ),
    case(
        "exempt-recipient-bypasses-new-domain-detection",
        account(allow_policies=(EXEMPT_BOB,)),
        mail(header_from="ann@fresh.example", sender_domain_age_days=1),
        "NONE",
        matches=(exempt(),),
    ),
    case(
        "exempt-recipient-ignores-verify-sender",
        account(
            allow_policies=(
                AllowPolicy(
                    "allow-exempt-bob-verified",
                    RECIPIENT,
                    "EMAIL",
                    is_exempt_recipient=True,
                    verify_sender=True,
                ),
            )
        ),
        mail(header_from="ann@partner.example", detections=("SPAM",)),
        "NONE",
        matches=(exempt("allow-exempt-bob-verified"),),
    ),
    case(
        "exempt-recipient-by-domain-pattern",
        account(
            allow_policies=(
                AllowPolicy(
                    "allow-exempt-ours", "ours.example", "DOMAIN", is_exempt_recipient=True
                ),
            )
        ),
        mail(header_from="ann@partner.example", detections=("SPAM",)),
        "NONE",
        matches=(exempt("allow-exempt-ours"),),
    ),
    case(
        "exempt-recipient-policy-does-not-match-the-sender",
        account(allow_policies=(EXEMPT_BOB,)),
        mail(recipients=("carol@ours.example",), header_from=RECIPIENT, detections=("SPAM",)),
        "SPAM",
    ),
    case(
        "exempt-recipient-keeps-the-sending-domain-restriction-drop",
        account(allow_policies=(EXEMPT_BOB,), sending_domain_restrictions=(RESTRICT_PARTNER,)),
        mail(header_from="ann@partner.example", tls=False, detections=("SPAM",)),
        "NONE",
        "drop",
        attributes=("SENDING_DOMAIN_RESTRICTION",),
        matches=(exempt(), restriction()),
    ),
    case(
        "exempt-recipient-keeps-the-ip-restriction-drop",
        account(domains=(OURS_WITH_IP_RESTRICTIONS,), allow_policies=(EXEMPT_BOB,)),
        mail(header_from="ann@partner.example", client_ip="198.51.100.9"),
        "NONE",
        "drop",
        attributes=("IP_RESTRICTION",),
        matches=(exempt(), ip_restriction()),
    ),
    case(
        "blocked-sender-beats-trusted-sender",
        account(
            block_senders=(BLOCK_EVIL,),
            allow_policies=(
                AllowPolicy("allow-trust-evil", "evil.example", "DOMAIN", is_trusted_sender=True),
            ),
        ),
        mail(header_from="ann@evil.example"),
        "MALICIOUS",
        "quarantine",
        attributes=("CUSTOM_BLOCK_LIST",),
        matches=(block(BLOCK_EVIL.id), allow("allow-trust-evil", honored=False)),
    ),
    case(
        "blocked-sender-beats-acceptable-sender",
        account(
            block_senders=(BLOCK_EVIL,),
            allow_policies=(
                AllowPolicy(
                    "allow-accept-evil", "evil.example", "DOMAIN", is_acceptable_sender=True
                ),
            ),
        ),
        mail(header_from="ann@evil.example"),
        "MALICIOUS",
        "quarantine",
        attributes=("CUSTOM_BLOCK_LIST",),
        matches=(block(BLOCK_EVIL.id), allow("allow-accept-evil", honored=False)),
    ),
    case(
        "blocked-sender-on-reply-to-beats-trusted-sender-on-from",
        account(block_senders=(BLOCK_EVIL,), allow_policies=(TRUST_PARTNER,)),
        mail(header_from="ann@partner.example", reply_to="pay@evil.example"),
        "MALICIOUS",
        "quarantine",
        attributes=("CUSTOM_BLOCK_LIST",),
        matches=(block(BLOCK_EVIL.id, "reply_to"), allow(TRUST_PARTNER.id, honored=False)),
    ),
    case(
        "trusted-sender-bypasses-every-detection",
        account(allow_policies=(TRUST_PARTNER,)),
        mail(
            header_from="ann@partner.example",
            detections=("MALICIOUS", "SPAM"),
            sender_domain_age_days=1,
        ),
        "NONE",
        matches=(allow(TRUST_PARTNER.id),),
    ),
    case(
        "trusted-sender-bypasses-impersonation",
        account(allow_policies=(TRUST_PARTNER,), impersonation_registry=(ANN,)),
        mail(header_from="ann@partner.example", header_from_name="Ann Lee"),
        "NONE",
        matches=(allow(TRUST_PARTNER.id), impersonation(honored=False)),
    ),
    case(
        "allow-policy-with-no-action-is-reported-not-honoured",
        account(allow_policies=(AllowPolicy("allow-no-action", "partner.example", "DOMAIN"),)),
        mail(header_from="ann@partner.example", detections=("SPAM",)),
        "SPAM",
        matches=(allow("allow-no-action", honored=False),),
    ),
]


@pytest.mark.parametrize("scenario", PRECEDENCE)
def test_precedence_of_exempt_blocked_and_trusted(scenario: Scenario) -> None:
    check(scenario)


# --- verify_sender --------------------------------------------------------------------------------


def verified_partner(auth: AuthResults, **fields: Any) -> Message:
    fields.setdefault("header_from", "ann@partner.co.uk")
    return mail(auth=auth, detections=("SPAM",), **fields)


VERIFY_ACCOUNT = account(allow_policies=(TRUST_PARTNER_CO_UK_VERIFIED,))
VERIFIED = (allow(TRUST_PARTNER_CO_UK_VERIFIED.id),)
NOT_VERIFIED = (allow(TRUST_PARTNER_CO_UK_VERIFIED.id, honored=False),)

VERIFY_SENDER = [
    case(
        "dmarc-pass-for-the-from-domain",
        VERIFY_ACCOUNT,
        verified_partner(passes(dmarc="partner.co.uk")),
        "NONE",
        matches=VERIFIED,
    ),
    case(
        "dmarc-fail",
        VERIFY_ACCOUNT,
        verified_partner(AuthResults(dmarc=AuthResult("fail", "partner.co.uk"))),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "spf-pass-for-the-domain",
        VERIFY_ACCOUNT,
        verified_partner(passes(spf="partner.co.uk")),
        "NONE",
        matches=VERIFIED,
    ),
    case(
        "spf-pass-for-a-subdomain-relaxed-alignment",
        VERIFY_ACCOUNT,
        verified_partner(passes(spf="bounce.partner.co.uk")),
        "NONE",
        matches=VERIFIED,
    ),
    case(
        "spf-softfail",
        VERIFY_ACCOUNT,
        verified_partner(AuthResults(spf=AuthResult("softfail", "partner.co.uk"))),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "spf-pass-for-another-domain",
        VERIFY_ACCOUNT,
        verified_partner(passes(spf="bulkmailer.example")),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "dkim-pass-signed-by-the-domain",
        VERIFY_ACCOUNT,
        verified_partner(passes(dkim=("partner.co.uk",))),
        "NONE",
        matches=VERIFIED,
    ),
    case(
        "dkim-pass-by-a-subdomain-same-organisation",
        VERIFY_ACCOUNT,
        verified_partner(passes(dkim=("mail.partner.co.uk",))),
        "NONE",
        matches=VERIFIED,
    ),
    case(
        "dkim-pass-by-another-organisation-under-the-same-suffix",
        VERIFY_ACCOUNT,
        verified_partner(passes(dkim=("other.co.uk",))),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "dkim-pass-by-the-public-suffix-itself",
        VERIFY_ACCOUNT,
        verified_partner(passes(dkim=("co.uk",))),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "dkim-fail",
        VERIFY_ACCOUNT,
        verified_partner(AuthResults(dkim=(AuthResult("fail", "partner.co.uk"),))),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "one-aligned-dkim-pass-among-other-signatures",
        VERIFY_ACCOUNT,
        verified_partner(
            AuthResults(
                dkim=(
                    AuthResult("pass", "esp.example"),
                    AuthResult("fail", "partner.co.uk"),
                    AuthResult("pass", "partner.co.uk"),
                )
            )
        ),
        "NONE",
        matches=VERIFIED,
    ),
    case(
        "no-authentication-results",
        VERIFY_ACCOUNT,
        verified_partner(AuthResults()),
        "SPAM",
        matches=NOT_VERIFIED,
    ),
    case(
        "envelope-match-verified-by-spf-for-the-envelope-domain",
        VERIFY_ACCOUNT,
        verified_partner(
            passes(spf="partner.co.uk"),
            envelope_from="bounce@partner.co.uk",
            header_from="news@esp.example",
        ),
        "NONE",
        matches=(allow(TRUST_PARTNER_CO_UK_VERIFIED.id, "envelope_from"),),
    ),
    case(
        "envelope-match-not-verified-by-dmarc-for-another-from-domain",
        VERIFY_ACCOUNT,
        verified_partner(
            passes(dmarc="esp.example"),
            envelope_from="bounce@partner.co.uk",
            header_from="news@esp.example",
        ),
        "SPAM",
        matches=(allow(TRUST_PARTNER_CO_UK_VERIFIED.id, "envelope_from", honored=False),),
    ),
    case(
        "ip-pattern-ignores-verify-sender",
        account(
            allow_policies=(
                AllowPolicy(
                    "allow-trust-partner-ip",
                    "192.0.2.0/24",
                    "IP",
                    is_trusted_sender=True,
                    verify_sender=True,
                ),
            )
        ),
        mail(header_from="ann@partner.example", client_ip="192.0.2.7", detections=("SPAM",)),
        "NONE",
        matches=(allow("allow-trust-partner-ip", "client_ip"),),
    ),
    case(
        "unverified-acceptable-sender-keeps-spam",
        account(
            allow_policies=(
                AllowPolicy(
                    "allow-accept-partner-co-uk",
                    "partner.co.uk",
                    "DOMAIN",
                    is_acceptable_sender=True,
                    verify_sender=True,
                ),
            )
        ),
        verified_partner(passes(dkim=("other.co.uk",))),
        "SPAM",
        matches=(allow("allow-accept-partner-co-uk", honored=False),),
    ),
]


@pytest.mark.parametrize("scenario", VERIFY_SENDER)
def test_verify_sender_needs_aligned_authentication(scenario: Scenario) -> None:
    check(scenario)


# --- step 6: acceptable sender --------------------------------------------------------------------

ACCEPTED = (allow(ACCEPT_PARTNER.id),)

ACCEPTABLE_SENDER = [
    *(
        case(
            f"removes-{detection.lower()}",
            account(allow_policies=(ACCEPT_PARTNER,)),
            mail(header_from="ann@partner.example", detections=(detection,)),
            "NONE",
            matches=ACCEPTED,
        )
        for detection in ("SPAM", "SPOOF", "BULK")
    ),
    case(
        "keeps-malicious-while-removing-spam",
        account(allow_policies=(ACCEPT_PARTNER,)),
        mail(header_from="ann@partner.example", detections=("SPAM", "MALICIOUS")),
        "MALICIOUS",
        "quarantine",
        matches=ACCEPTED,
    ),
    case(
        "keeps-suspicious",
        account(allow_policies=(ACCEPT_PARTNER,)),
        mail(header_from="ann@partner.example", detections=("SUSPICIOUS", "BULK")),
        "SUSPICIOUS",
        matches=ACCEPTED,
    ),
    case(
        "keeps-malicious-bec",
        account(allow_policies=(ACCEPT_PARTNER,), impersonation_registry=(ANN,)),
        mail(header_from="ann@partner.example", header_from_name="Ann Lee"),
        "MALICIOUS-BEC",
        "quarantine",
        attributes=("BEC",),
        matches=(*ACCEPTED, impersonation()),
    ),
    case(
        "keeps-the-new-domain-detection",
        account(allow_policies=(ACCEPT_PARTNER,)),
        mail(header_from="ann@partner.example", sender_domain_age_days=10),
        "SUSPICIOUS",
        attributes=("NEW_DOMAIN_SENDER",),
        matches=ACCEPTED,
    ),
    case(
        "removes-the-look-alike-spoof",
        account(
            domains=LOOKALIKE_TARGETS,
            allow_policies=(
                AllowPolicy(
                    "allow-accept-contoso-net", "contoso.net", "DOMAIN", is_acceptable_sender=True
                ),
            ),
        ),
        mail(header_from="ann@contoso.net"),
        "NONE",
        matches=(allow("allow-accept-contoso-net"), lookalike_of(CONTOSO.id, honored=False)),
    ),
]


@pytest.mark.parametrize("scenario", ACCEPTABLE_SENDER)
def test_acceptable_sender_removes_spam_spoof_and_bulk_only(scenario: Scenario) -> None:
    check(scenario)


# --- matching: EMAIL, DOMAIN and IP patterns, regexes, and which fields ---------------------------


def blocked_by(entry: BlockedSender, **fields: Any) -> tuple[Settings, Message]:
    """The account blocks this one entry; the message carries the given fields."""
    return account(block_senders=(entry,)), mail(**fields)


def blocked_verdict(entry_id: str, field: str = "header_from") -> dict[str, Any]:
    """What a matching blocked sender makes of the message, and the one match it reports."""
    return {
        "disposition": "MALICIOUS",
        "action": "quarantine",
        "attributes": ("CUSTOM_BLOCK_LIST",),
        "matches": (block(entry_id, field),),
    }


BLOCK_EXAMPLE_COM = BlockedSender("block-example-com", "example.com", "DOMAIN")
BLOCK_ANN_AT_EVIL = BlockedSender("block-ann-at-evil", "ann@evil.example", "EMAIL")
BLOCK_BUECHER = BlockedSender("block-buecher", "xn--bcher-kva.example", "DOMAIN")
BLOCK_V4_NET = BlockedSender("block-v4-net", "198.51.100.0/24", "IP")
BLOCK_V4_HOST = BlockedSender("block-v4-host", "203.0.113.7", "IP")
BLOCK_V6_NET = BlockedSender("block-v6-net", "2001:db8:bad::/48", "IP")
BLOCK_V6_HOST = BlockedSender("block-v6-host", "2001:db8::7", "IP")
BLOCK_EMAIL_REGEX = BlockedSender("block-email-regex", r"spammer@.*", "EMAIL", is_regex=True)
BLOCK_SEARCH_ONLY_REGEX = BlockedSender("block-search-only", r"spam", "EMAIL", is_regex=True)
BLOCK_UPPER_CASE_REGEX = BlockedSender(
    "block-upper-case", r"SPAMMER@BULK\.EXAMPLE", "EMAIL", is_regex=True
)
BLOCK_DOMAIN_REGEX = BlockedSender(
    "block-domain-regex", r"(.+\.)?bad\.example", "DOMAIN", is_regex=True
)
BLOCK_IP_REGEX = BlockedSender("block-ip-regex", r"203\.0\.113\.\d", "IP", is_regex=True)

MATCHING = [
    case(
        "domain-pattern-matches-the-domain",
        *blocked_by(BLOCK_EXAMPLE_COM, header_from="ann@example.com"),
        **blocked_verdict(BLOCK_EXAMPLE_COM.id),
    ),
    case(
        "domain-pattern-matches-a-subdomain",
        *blocked_by(BLOCK_EXAMPLE_COM, header_from="ann@mail.eu.example.com"),
        **blocked_verdict(BLOCK_EXAMPLE_COM.id),
    ),
    case(
        "domain-pattern-does-not-match-a-name-ending-in-it",
        *blocked_by(BLOCK_EXAMPLE_COM, header_from="ann@badexample.com"),
        "NONE",
    ),
    case(
        "domain-pattern-does-not-match-its-parent",
        *blocked_by(
            BlockedSender("block-mail-example-com", "mail.example.com", "DOMAIN"),
            header_from="ann@example.com",
        ),
        "NONE",
    ),
    case(
        "domain-pattern-ignores-case-and-trailing-dot",
        *blocked_by(BLOCK_EXAMPLE_COM, header_from="Ann@Mail.EXAMPLE.com."),
        **blocked_verdict(BLOCK_EXAMPLE_COM.id),
    ),
    case(
        "a-label-domain-pattern-matches-a-unicode-address",
        *blocked_by(BLOCK_BUECHER, header_from="ann@BÜCHER.example"),
        **blocked_verdict(BLOCK_BUECHER.id),
    ),
    case(
        "email-pattern-matches-the-address",
        *blocked_by(BLOCK_ANN_AT_EVIL, header_from="ann@evil.example"),
        **blocked_verdict(BLOCK_ANN_AT_EVIL.id),
    ),
    case(
        "email-pattern-ignores-case",
        *blocked_by(BLOCK_ANN_AT_EVIL, header_from="ANN@Evil.Example"),
        **blocked_verdict(BLOCK_ANN_AT_EVIL.id),
    ),
    case(
        "email-pattern-does-not-match-another-address-of-the-domain",
        *blocked_by(BLOCK_ANN_AT_EVIL, header_from="bob@evil.example"),
        "NONE",
    ),
    case(
        "email-pattern-does-not-match-a-subdomain-address",
        *blocked_by(BLOCK_ANN_AT_EVIL, header_from="ann@mail.evil.example"),
        "NONE",
    ),
    case(
        "ipv4-cidr-contains-the-client-ip",
        *blocked_by(BLOCK_V4_NET, header_from="ann@partner.example", client_ip="198.51.100.20"),
        **blocked_verdict(BLOCK_V4_NET.id, "client_ip"),
    ),
    case(
        "ipv4-cidr-does-not-contain-the-client-ip",
        *blocked_by(BLOCK_V4_NET, header_from="ann@partner.example", client_ip="198.51.101.20"),
        "NONE",
    ),
    case(
        "ipv4-exact-address",
        *blocked_by(BLOCK_V4_HOST, header_from="ann@partner.example", client_ip="203.0.113.7"),
        **blocked_verdict(BLOCK_V4_HOST.id, "client_ip"),
    ),
    case(
        "ipv4-exact-address-not-its-neighbour",
        *blocked_by(BLOCK_V4_HOST, header_from="ann@partner.example", client_ip="203.0.113.8"),
        "NONE",
    ),
    case(
        "ipv6-cidr-contains-the-client-ip",
        *blocked_by(BLOCK_V6_NET, header_from="ann@partner.example", client_ip="2001:db8:bad::1"),
        **blocked_verdict(BLOCK_V6_NET.id, "client_ip"),
    ),
    case(
        "ipv6-cidr-does-not-contain-the-client-ip",
        *blocked_by(BLOCK_V6_NET, header_from="ann@partner.example", client_ip="2001:db8:bae::1"),
        "NONE",
    ),
    case(
        "ipv6-exact-address-in-another-textual-form",
        *blocked_by(
            BLOCK_V6_HOST, header_from="ann@partner.example", client_ip="2001:0DB8:0:0::0007"
        ),
        **blocked_verdict(BLOCK_V6_HOST.id, "client_ip"),
    ),
    case(
        "ipv4-mapped-ipv6-client-ip-in-an-ipv4-cidr",
        *blocked_by(
            BLOCK_V4_NET, header_from="ann@partner.example", client_ip="::ffff:198.51.100.20"
        ),
        **blocked_verdict(BLOCK_V4_NET.id, "client_ip"),
    ),
    case(
        "email-regex-full-match",
        *blocked_by(BLOCK_EMAIL_REGEX, header_from="spammer@bulk.example"),
        **blocked_verdict(BLOCK_EMAIL_REGEX.id),
    ),
    case(
        "email-regex-matching-only-as-a-search-does-not-match",
        *blocked_by(BLOCK_SEARCH_ONLY_REGEX, header_from="spammer@bulk.example"),
        "NONE",
    ),
    case(
        "email-regex-is-case-insensitive",
        *blocked_by(BLOCK_UPPER_CASE_REGEX, header_from="spammer@bulk.example"),
        **blocked_verdict(BLOCK_UPPER_CASE_REGEX.id),
    ),
    case(
        "domain-regex-full-match-on-the-domain",
        *blocked_by(BLOCK_DOMAIN_REGEX, header_from="ann@mail.bad.example"),
        **blocked_verdict(BLOCK_DOMAIN_REGEX.id),
    ),
    case(
        "domain-regex-matching-only-as-a-search-does-not-match",
        *blocked_by(BLOCK_DOMAIN_REGEX, header_from="ann@bad.example.com"),
        "NONE",
    ),
    case(
        "ip-regex-full-match-on-the-textual-ip",
        *blocked_by(BLOCK_IP_REGEX, header_from="ann@partner.example", client_ip="203.0.113.9"),
        **blocked_verdict(BLOCK_IP_REGEX.id, "client_ip"),
    ),
    case(
        "ip-regex-matching-only-as-a-search-does-not-match",
        *blocked_by(BLOCK_IP_REGEX, header_from="ann@partner.example", client_ip="203.0.113.99"),
        "NONE",
    ),
    case(
        "ip-regex-sees-an-ipv4-mapped-client-ip-as-ipv4",
        *blocked_by(
            BLOCK_IP_REGEX, header_from="ann@partner.example", client_ip="::ffff:203.0.113.9"
        ),
        **blocked_verdict(BLOCK_IP_REGEX.id, "client_ip"),
    ),
    case(
        "blocked-sender-matches-envelope-from",
        *blocked_by(
            BLOCK_EVIL, envelope_from="bounce@evil.example", header_from="ann@partner.example"
        ),
        **blocked_verdict(BLOCK_EVIL.id, "envelope_from"),
    ),
    case(
        "blocked-sender-matches-reply-to",
        *blocked_by(BLOCK_EVIL, header_from="ann@partner.example", reply_to="pay@evil.example"),
        **blocked_verdict(BLOCK_EVIL.id, "reply_to"),
    ),
    case(
        "trusted-sender-never-matches-reply-to",
        account(allow_policies=(TRUST_PARTNER,)),
        mail(
            header_from="ann@elsewhere.example",
            reply_to="ann@partner.example",
            detections=("SPAM",),
        ),
        "SPAM",
    ),
    case(
        "acceptable-sender-never-matches-reply-to",
        account(allow_policies=(ACCEPT_PARTNER,)),
        mail(
            header_from="ann@elsewhere.example",
            reply_to="ann@partner.example",
            detections=("SPAM",),
        ),
        "SPAM",
    ),
    case(
        "trusted-sender-matches-envelope-from",
        account(allow_policies=(TRUST_PARTNER,)),
        mail(
            envelope_from="bounce@partner.example",
            header_from="news@elsewhere.example",
            detections=("SPAM",),
        ),
        "NONE",
        matches=(allow(TRUST_PARTNER.id, "envelope_from"),),
    ),
]


@pytest.mark.parametrize("scenario", MATCHING)
def test_pattern_matching(scenario: Scenario) -> None:
    check(scenario)


# --- impersonation (BEC) --------------------------------------------------------------------------

REGISTRY = account(impersonation_registry=(ANN, CARL))
BEC: dict[str, Any] = {"attributes": ("BEC",), "matches": (impersonation(),)}


def named(name: str | None, address: str) -> Message:
    return mail(header_from=address, header_from_name=name)


IMPERSONATION = [
    case(
        "display-name-of-a-registered-person",
        REGISTRY,
        named("Ann Lee", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        **BEC,
    ),
    case(
        "reordered-name-with-comma",
        REGISTRY,
        named("Lee, Ann", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        **BEC,
    ),
    case(
        "other-case-and-whitespace",
        REGISTRY,
        named("  aNN \t  LEE ", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        **BEC,
    ),
    case(
        "cyrillic-capital-a-for-latin-a",
        REGISTRY,
        named("\u0410nn Lee", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        **BEC,
    ),
    case(
        "cyrillic-small-e-in-the-surname",
        REGISTRY,
        named("Ann L\u0435\u0435", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        **BEC,
    ),
    case(
        "fullwidth-letters-nfkc",
        REGISTRY,
        named("\uff21nn Lee", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        **BEC,
    ),
    case(
        "legit-first-address-of-the-list",
        REGISTRY,
        named("Ann Lee", "ann@ours.example"),
        "NONE",
    ),
    case(
        "legit-second-address-of-the-list-any-case",
        REGISTRY,
        named("Ann Lee", "ANN.LEE@gmail.COM"),
        "NONE",
    ),
    case(
        "legit-address-matching-the-regex",
        REGISTRY,
        named("Carl Ho", "carl.ho@ours.example"),
        "NONE",
    ),
    case(
        "legit-address-matching-the-regex-any-case",
        REGISTRY,
        named("Carl Ho", "CARL@ours.example"),
        "NONE",
    ),
    case(
        "address-matching-the-regex-only-as-a-search",
        REGISTRY,
        named("Carl Ho", "carl.ho@ours.example.evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        attributes=("BEC",),
        matches=(impersonation(CARL.id),),
    ),
    case(
        "another-name",
        REGISTRY,
        named("Ann Leigh", "ann@evil.example"),
        "NONE",
    ),
    case(
        "no-display-name",
        REGISTRY,
        named(None, "ann@evil.example"),
        "NONE",
    ),
    case(
        "shared-name-address-of-either-person-is-legit",
        account(impersonation_registry=(ANN, ANN_AT_PARTNER)),
        named("Ann Lee", "ann@partner.example"),
        "NONE",
    ),
    case(
        "shared-name-impersonation-reports-each-entry",
        account(impersonation_registry=(ANN, ANN_AT_PARTNER)),
        named("Ann Lee", "ann@evil.example"),
        "MALICIOUS-BEC",
        "quarantine",
        attributes=("BEC",),
        matches=(impersonation(), impersonation(ANN_AT_PARTNER.id)),
    ),
]


@pytest.mark.parametrize("scenario", IMPERSONATION)
def test_impersonation(scenario: Scenario) -> None:
    check(scenario)


# --- look-alike domains ---------------------------------------------------------------------------

PROTECTED = account(domains=LOOKALIKE_TARGETS)


def spoofs(domain: ProtectedDomain, field: str = "header_from") -> dict[str, Any]:
    return {
        "attributes": (f"LOOKALIKE={domain.domain}",),
        "matches": (lookalike_of(domain.id, field),),
    }


LOOKALIKE = [
    case(
        "cyrillic-homoglyph",
        PROTECTED,
        mail(header_from="ann@c\u043entoso.com"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "cyrillic-homoglyph-as-a-labels",
        PROTECTED,
        mail(header_from="ann@xn--cntoso-wqf.com"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "one-edit-transposition",
        PROTECTED,
        mail(header_from="ann@cotnoso.com"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "one-edit-insertion",
        PROTECTED,
        mail(header_from="ann@contosso.com"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "two-edits-of-a-short-label-is-not-a-look-alike",
        PROTECTED,
        mail(header_from="ann@cntso.com"),
        "NONE",
    ),
    case(
        "two-edits-of-a-nine-character-label",
        PROTECTED,
        mail(header_from="ann@nrthwnd.com"),
        "SPOOF",
        **spoofs(NORTHWIND),
    ),
    case(
        "three-edits-of-a-nine-character-label-is-not-a-look-alike",
        PROTECTED,
        mail(header_from="ann@nrthwd.com"),
        "NONE",
    ),
    case(
        "same-label-other-suffix",
        PROTECTED,
        mail(header_from="ann@contoso.net"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "subdomain-of-a-look-alike",
        PROTECTED,
        mail(header_from="ann@mail.cotnoso.com"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "the-protected-domain-itself",
        PROTECTED,
        mail(header_from="ann@contoso.com"),
        "NONE",
    ),
    case(
        "subdomain-of-a-protected-domain",
        PROTECTED,
        mail(header_from="ann@mail.contoso.com"),
        "NONE",
    ),
    case(
        "same-organisation-as-a-protected-subdomain",
        account(domains=(OURS, ProtectedDomain("dom-mail-fabrikam", "mail.fabrikam.com"))),
        mail(header_from="ann@shop.fabrikam.com"),
        "NONE",
    ),
    case(
        "envelope-from-when-there-is-no-header-from",
        PROTECTED,
        mail(envelope_from="bounce@contoso.net"),
        "SPOOF",
        **spoofs(CONTOSO, "envelope_from"),
    ),
    case(
        "header-from-is-the-sender-domain-not-envelope-from",
        PROTECTED,
        mail(envelope_from="bounce@contoso.net", header_from="ann@partner.example"),
        "NONE",
    ),
]


@pytest.mark.parametrize("scenario", LOOKALIKE)
def test_lookalike_domain(scenario: Scenario) -> None:
    check(scenario)


# --- step 7: trusted domains, and the new-domain detection ----------------------------------------

SIMILAR_CONTOSO_NET = TrustedDomain("td-contoso-net-similar", "contoso.net", is_similarity=True)
RECENT_CONTOSO_NET = TrustedDomain("td-contoso-net-recent", "contoso.net", is_recent=True)
RECENT_FRESH = TrustedDomain("td-fresh-recent", "fresh.example", is_recent=True)

TRUSTED_DOMAINS = [
    case(
        "is-similarity-lifts-the-look-alike-spoof",
        account(domains=LOOKALIKE_TARGETS, trusted_domains=(SIMILAR_CONTOSO_NET,)),
        mail(header_from="ann@contoso.net"),
        "NONE",
        matches=(
            lookalike_of(CONTOSO.id, honored=False),
            trusted_domain(SIMILAR_CONTOSO_NET.id),
        ),
    ),
    case(
        "is-similarity-covers-subdomains",
        account(domains=LOOKALIKE_TARGETS, trusted_domains=(SIMILAR_CONTOSO_NET,)),
        mail(header_from="ann@mail.contoso.net"),
        "NONE",
        matches=(
            lookalike_of(CONTOSO.id, honored=False),
            trusted_domain(SIMILAR_CONTOSO_NET.id),
        ),
    ),
    case(
        "is-similarity-by-regex",
        account(
            domains=LOOKALIKE_TARGETS,
            trusted_domains=(
                TrustedDomain(
                    "td-regex-similar", r"contoso\.(net|org)", is_regex=True, is_similarity=True
                ),
            ),
        ),
        mail(header_from="ann@contoso.org"),
        "NONE",
        matches=(lookalike_of(CONTOSO.id, honored=False), trusted_domain("td-regex-similar")),
    ),
    case(
        "is-similarity-keeps-an-upstream-spoof",
        account(domains=LOOKALIKE_TARGETS, trusted_domains=(SIMILAR_CONTOSO_NET,)),
        mail(header_from="ann@contoso.net", detections=("SPOOF",)),
        "SPOOF",
        matches=(
            lookalike_of(CONTOSO.id, honored=False),
            trusted_domain(SIMILAR_CONTOSO_NET.id),
        ),
    ),
    case(
        "is-similarity-keeps-the-new-domain-detection",
        account(domains=LOOKALIKE_TARGETS, trusted_domains=(SIMILAR_CONTOSO_NET,)),
        mail(header_from="ann@contoso.net", sender_domain_age_days=10),
        "SUSPICIOUS",
        attributes=("NEW_DOMAIN_SENDER",),
        matches=(
            lookalike_of(CONTOSO.id, honored=False),
            trusted_domain(SIMILAR_CONTOSO_NET.id),
        ),
    ),
    case(
        "is-similarity-for-another-domain-lifts-nothing",
        account(
            domains=LOOKALIKE_TARGETS,
            trusted_domains=(
                TrustedDomain("td-contoso-org-similar", "contoso.org", is_similarity=True),
            ),
        ),
        mail(header_from="ann@contoso.net"),
        "SPOOF",
        **spoofs(CONTOSO),
    ),
    case(
        "is-recent-lifts-the-new-domain-detection",
        account(trusted_domains=(RECENT_FRESH,)),
        mail(header_from="ann@fresh.example", sender_domain_age_days=3),
        "NONE",
        matches=(trusted_domain(RECENT_FRESH.id),),
    ),
    case(
        "is-recent-keeps-the-look-alike-spoof",
        account(domains=LOOKALIKE_TARGETS, trusted_domains=(RECENT_CONTOSO_NET,)),
        mail(header_from="ann@contoso.net"),
        "SPOOF",
        attributes=("LOOKALIKE=contoso.com",),
        matches=(lookalike_of(CONTOSO.id), trusted_domain(RECENT_CONTOSO_NET.id, honored=False)),
    ),
    case(
        "is-recent-keeps-upstream-detections",
        account(trusted_domains=(RECENT_FRESH,)),
        mail(header_from="ann@fresh.example", sender_domain_age_days=3, detections=("SPAM",)),
        "SPAM",
        matches=(trusted_domain(RECENT_FRESH.id),),
    ),
    case(
        "trusted-domain-with-nothing-to-lift-is-not-honoured",
        account(trusted_domains=(RECENT_FRESH,)),
        mail(header_from="ann@fresh.example"),
        "NONE",
        matches=(trusted_domain(RECENT_FRESH.id, honored=False),),
    ),
]


@pytest.mark.parametrize("scenario", TRUSTED_DOMAINS)
def test_trusted_domains(scenario: Scenario) -> None:
    check(scenario)


def aged(days: int | None) -> Message:
    return mail(header_from="ann@fresh.example", sender_domain_age_days=days)


NEW = ("NEW_DOMAIN_SENDER",)
CUSTOM_THRESHOLDS = Thresholds(malicious_days=3, suspicious_days=10)

NEW_DOMAIN = [
    case("age-0-is-malicious", account(), aged(0), "MALICIOUS", "quarantine", attributes=NEW),
    case("age-6-is-malicious", account(), aged(6), "MALICIOUS", "quarantine", attributes=NEW),
    case("age-7-is-suspicious", account(), aged(7), "SUSPICIOUS", attributes=NEW),
    case("age-29-is-suspicious", account(), aged(29), "SUSPICIOUS", attributes=NEW),
    case("age-30-is-not-new", account(), aged(30), "NONE"),
    case("unknown-age-is-not-new", account(), aged(None), "NONE"),
    *(
        case(
            f"custom-thresholds-age-{days}",
            account(),
            aged(days),
            disposition,
            "quarantine" if disposition == "MALICIOUS" else "deliver",
            attributes=NEW if disposition != "NONE" else (),
            thresholds=CUSTOM_THRESHOLDS,
        )
        for days, disposition in (
            (2, "MALICIOUS"),
            (3, "SUSPICIOUS"),
            (5, "SUSPICIOUS"),
            (9, "SUSPICIOUS"),
            (10, "NONE"),
            (25, "NONE"),
        )
    ),
]


@pytest.mark.parametrize("scenario", NEW_DOMAIN)
def test_new_domain_detection(scenario: Scenario) -> None:
    check(scenario)


# --- steps 1 and 2: sending domain restrictions and IP restrictions -------------------------------

RESTRICTED = account(sending_domain_restrictions=(RESTRICT_PARTNER,))
DROPPED_BY_RESTRICTION = ("SENDING_DOMAIN_RESTRICTION",)

SENDING_DOMAIN_RESTRICTIONS = [
    case(
        "without-tls-is-dropped",
        RESTRICTED,
        mail(header_from="ann@partner.example", tls=False),
        "NONE",
        "drop",
        attributes=DROPPED_BY_RESTRICTION,
        matches=(restriction(),),
    ),
    case(
        "subdomain-without-tls-is-dropped",
        RESTRICTED,
        mail(header_from="ann@mail.partner.example", tls=False),
        "NONE",
        "drop",
        attributes=DROPPED_BY_RESTRICTION,
        matches=(restriction(),),
    ),
    case(
        "envelope-from-without-tls-is-dropped",
        RESTRICTED,
        mail(envelope_from="bounce@partner.example", tls=False),
        "NONE",
        "drop",
        attributes=DROPPED_BY_RESTRICTION,
        matches=(restriction("envelope_from"),),
    ),
    case(
        "tls-unknown-is-reported-not-enforced",
        RESTRICTED,
        mail(header_from="ann@partner.example", tls=None),
        "NONE",
        matches=(restriction(honored=False),),
    ),
    case(
        "with-tls-is-delivered",
        RESTRICTED,
        mail(header_from="ann@partner.example", tls=True),
        "NONE",
        matches=(restriction(),),
    ),
    case(
        "excluded-subdomain-without-tls-is-delivered",
        RESTRICTED,
        mail(header_from="ann@legacy.partner.example", tls=False),
        "NONE",
        matches=(restriction(honored=False),),
    ),
    case(
        "below-an-excluded-subdomain-without-tls-is-delivered",
        RESTRICTED,
        mail(header_from="ann@eu.legacy.partner.example", tls=False),
        "NONE",
        matches=(restriction(honored=False),),
    ),
    case(
        "name-ending-in-the-domain-is-not-restricted",
        RESTRICTED,
        mail(header_from="ann@otherpartner.example", tls=False),
        "NONE",
    ),
    case(
        "tls-false-from-the-received-chain",
        RESTRICTED,
        mail(header_from="ann@partner.example", received_tls=(False,)),
        "NONE",
        "drop",
        attributes=DROPPED_BY_RESTRICTION,
        matches=(restriction(),),
    ),
    case(
        "tls-true-from-the-received-chain",
        RESTRICTED,
        mail(header_from="ann@partner.example", received_tls=(True,)),
        "NONE",
        matches=(restriction(),),
    ),
    case(
        "drop-keeps-the-disposition",
        RESTRICTED,
        mail(header_from="ann@partner.example", tls=False, detections=("SPAM",)),
        "SPAM",
        "drop",
        attributes=DROPPED_BY_RESTRICTION,
        matches=(restriction(),),
    ),
    case(
        "restricted-header-from-dropped-though-envelope-from-is-excluded",
        RESTRICTED,
        mail(
            envelope_from="bounce@legacy.partner.example",
            header_from="ann@partner.example",
            tls=False,
        ),
        "NONE",
        "drop",
        attributes=DROPPED_BY_RESTRICTION,
        matches=None,
    ),
]


@pytest.mark.parametrize("scenario", SENDING_DOMAIN_RESTRICTIONS)
def test_sending_domain_restriction(scenario: Scenario) -> None:
    check(scenario)


IP_RESTRICTED = account(domains=(OURS_WITH_IP_RESTRICTIONS,))
DROPPED_BY_IP = ("IP_RESTRICTION",)

IP_RESTRICTIONS = [
    case(
        "ipv4-outside-is-dropped",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", client_ip="198.51.100.9"),
        "NONE",
        "drop",
        attributes=DROPPED_BY_IP,
        matches=(ip_restriction(),),
    ),
    case(
        "ipv4-inside-is-delivered",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", client_ip="192.0.2.7"),
        "NONE",
        matches=(ip_restriction(),),
    ),
    case(
        "ipv6-inside-is-delivered",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", client_ip="2001:db8::25"),
        "NONE",
        matches=(ip_restriction(),),
    ),
    case(
        "ipv6-outside-is-dropped",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", client_ip="2001:db9::25"),
        "NONE",
        "drop",
        attributes=DROPPED_BY_IP,
        matches=(ip_restriction(),),
    ),
    case(
        "ipv4-mapped-ipv6-inside-is-delivered",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", client_ip="::ffff:192.0.2.7"),
        "NONE",
        matches=(ip_restriction(),),
    ),
    case(
        "unknown-client-ip-is-reported-not-enforced",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example"),
        "NONE",
        matches=(ip_restriction(honored=False),),
    ),
    case(
        "client-ip-from-the-received-chain",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", received_ips=("198.51.100.9", "192.0.2.7")),
        "NONE",
        "drop",
        attributes=DROPPED_BY_IP,
        matches=(ip_restriction(),),
    ),
    case(
        "drop-keeps-the-disposition",
        IP_RESTRICTED,
        mail(header_from="ann@partner.example", client_ip="198.51.100.9", detections=("SPAM",)),
        "SPAM",
        "drop",
        attributes=DROPPED_BY_IP,
        matches=(ip_restriction(),),
    ),
    case(
        "recipient-outside-the-protected-domain-is-not-restricted",
        IP_RESTRICTED,
        mail(
            recipients=("bob@elsewhere.example",),
            header_from="ann@partner.example",
            client_ip="198.51.100.9",
        ),
        "NONE",
    ),
]


@pytest.mark.parametrize("scenario", IP_RESTRICTIONS)
def test_ip_restriction(scenario: Scenario) -> None:
    check(scenario)


# --- steps 8 and 9: disposition ranking and action ------------------------------------------------


def dropping(*dispositions: str) -> Settings:
    return account(
        domains=(ProtectedDomain("dom-ours", "ours.example", drop_dispositions=dispositions),)
    )


def detected(*detections: str, **fields: Any) -> Message:
    fields.setdefault("header_from", "ann@partner.example")
    return mail(detections=detections, **fields)


ACTIONS = [
    case("malicious-is-quarantined", account(), detected("MALICIOUS"), "MALICIOUS", "quarantine"),
    case(
        "malicious-bec-is-quarantined",
        account(),
        detected("MALICIOUS-BEC"),
        "MALICIOUS-BEC",
        "quarantine",
    ),
    case("suspicious-is-delivered", account(), detected("SUSPICIOUS"), "SUSPICIOUS"),
    case("spoof-is-delivered", account(), detected("SPOOF"), "SPOOF"),
    case("spam-is-delivered", account(), detected("SPAM"), "SPAM"),
    case("bulk-is-delivered", account(), detected("BULK"), "BULK"),
    case("nothing-detected-is-delivered", account(), detected(), "NONE"),
    case("drop-dispositions-drops-spam", dropping("SPAM"), detected("SPAM"), "SPAM", "drop"),
    case("drop-dispositions-spam-delivers-bulk", dropping("SPAM"), detected("BULK"), "BULK"),
    case(
        "drop-dispositions-drops-malicious-instead-of-quarantine",
        dropping("MALICIOUS"),
        detected("MALICIOUS"),
        "MALICIOUS",
        "drop",
    ),
    case(
        "drop-dispositions-malicious-bec-quarantines-malicious",
        dropping("MALICIOUS-BEC"),
        detected("MALICIOUS"),
        "MALICIOUS",
        "quarantine",
    ),
    case(
        "drop-dispositions-drops-a-blocked-sender",
        account(
            domains=(
                ProtectedDomain("dom-ours", "ours.example", drop_dispositions=("MALICIOUS",)),
            ),
            block_senders=(BLOCK_EVIL,),
        ),
        detected(header_from="ann@evil.example"),
        "MALICIOUS",
        "drop",
        attributes=("CUSTOM_BLOCK_LIST",),
        matches=(block(BLOCK_EVIL.id),),
    ),
    case(
        "drop-dispositions-of-no-protected-domain-do-not-apply",
        dropping("SPAM"),
        detected("SPAM", recipients=("bob@elsewhere.example",)),
        "SPAM",
    ),
]


@pytest.mark.parametrize("scenario", ACTIONS)
def test_action(scenario: Scenario) -> None:
    check(scenario)


RANKING = [
    case("spam-over-bulk", account(), detected("BULK", "SPAM"), "SPAM"),
    case("spoof-over-spam", account(), detected("SPAM", "SPOOF", "BULK"), "SPOOF"),
    case("suspicious-over-spoof", account(), detected("SPOOF", "SUSPICIOUS"), "SUSPICIOUS"),
    case(
        "malicious-over-suspicious",
        account(),
        detected("SUSPICIOUS", "MALICIOUS", "SPAM"),
        "MALICIOUS",
        "quarantine",
    ),
    case(
        "blocked-sender-over-upstream-spam",
        account(block_senders=(BLOCK_EVIL,)),
        detected("SPAM", header_from="ann@evil.example"),
        "MALICIOUS",
        "quarantine",
        attributes=("CUSTOM_BLOCK_LIST",),
        matches=(block(BLOCK_EVIL.id),),
    ),
    case(
        "impersonation-found-before-the-new-domain-detection",
        account(impersonation_registry=(ANN,)),
        detected(
            header_from="ann@fresh.example", header_from_name="Ann Lee", sender_domain_age_days=1
        ),
        "MALICIOUS-BEC",
        "quarantine",
        attributes=("BEC", "NEW_DOMAIN_SENDER"),
        matches=(impersonation(),),
    ),
    case(
        "impersonation-found-before-the-blocked-sender",
        account(impersonation_registry=(ANN,), block_senders=(BLOCK_EVIL,)),
        detected(header_from="ann@evil.example", header_from_name="Ann Lee"),
        "MALICIOUS-BEC",
        "quarantine",
        attributes=("BEC", "CUSTOM_BLOCK_LIST"),
        matches=(impersonation(), block(BLOCK_EVIL.id)),
    ),
]


@pytest.mark.parametrize("scenario", RANKING)
def test_disposition_is_the_most_severe_remaining(scenario: Scenario) -> None:
    check(scenario)


# --- the recipient's protected domain, and several recipients in one message ----------------------

NESTED_DOMAINS = (
    OURS,
    ProtectedDomain("dom-eu", "eu.ours.example"),
    ProtectedDomain("dom-other", "other.example"),
)


@pytest.mark.parametrize(
    ("recipient", "protected_domain_id"),
    [
        pytest.param("bob@ours.example", "dom-ours", id="the-domain-itself"),
        pytest.param("bob@sales.ours.example", "dom-ours", id="below-the-domain"),
        pytest.param("bob@eu.ours.example", "dom-eu", id="more-specific-domain"),
        pytest.param("bob@mail.eu.ours.example", "dom-eu", id="below-the-more-specific-domain"),
        pytest.param("Bob@EU.Ours.Example.", "dom-eu", id="any-case-and-trailing-dot"),
        pytest.param("bob@notours.example", None, id="name-ending-in-a-domain"),
        pytest.param("bob@elsewhere.example", None, id="unprotected"),
    ],
)
def test_recipient_protected_domain_is_the_most_specific(
    recipient: str, protected_domain_id: str | None
) -> None:
    message = Message(recipients=(recipient,), header_from="ann@partner.example")
    verdict = verdict_for(Settings(domains=NESTED_DOMAINS), message)
    assert verdict.protected_domain == protected_domain_id


def test_each_recipient_gets_its_own_verdict() -> None:
    settings = Settings(
        domains=(
            OURS,
            ProtectedDomain("dom-eu", "eu.ours.example", drop_dispositions=("MALICIOUS",)),
        ),
        allow_policies=(
            AllowPolicy("allow-exempt-ceo", "ceo@ours.example", "EMAIL", is_exempt_recipient=True),
        ),
        block_senders=(BLOCK_EVIL,),
    )
    message = Message(
        recipients=("ceo@ours.example", RECIPIENT, "ann@eu.ours.example"),
        header_from="ann@evil.example",
    )
    verdicts = evaluate(message, compile_settings(settings)).recipients

    assert [(v.disposition, v.action) for v in verdicts] == [
        ("NONE", "deliver"),
        ("MALICIOUS", "quarantine"),
        ("MALICIOUS", "drop"),
    ]
    assert [v.protected_domain for v in verdicts] == ["dom-ours", "dom-ours", "dom-eu"]
    ceo, bob, _ = verdicts
    assert Hit("allow_policies", "allow-exempt-ceo", "recipient", True) in {
        Hit(m.resource, m.id, m.field, m.honored) for m in ceo.matches
    }
    assert all(m.resource != "allow_policies" for m in bob.matches)


def test_each_recipient_reads_the_received_chain_at_its_own_lookback_hops() -> None:
    settings = Settings(
        domains=(
            ProtectedDomain("dom-ours", "ours.example", ip_restrictions=("192.0.2.0/24",)),
            ProtectedDomain(
                "dom-eu", "eu.ours.example", ip_restrictions=("192.0.2.0/24",), lookback_hops=2
            ),
        )
    )
    message = Message(
        recipients=(RECIPIENT, "ann@eu.ours.example"),
        header_from="ann@partner.example",
        received_ips=("198.51.100.9", "192.0.2.7"),  # nearest hop first
    )
    bob, ann = evaluate(message, compile_settings(settings)).recipients

    assert (bob.client_ip, bob.action, bob.attributes) == (
        "198.51.100.9",
        "drop",
        ("IP_RESTRICTION",),
    )
    assert (ann.client_ip, ann.action, ann.attributes) == ("192.0.2.7", "deliver", ())


def test_given_client_ip_wins_over_the_received_chain() -> None:
    message = mail(
        header_from="ann@partner.example", client_ip="192.0.2.7", received_ips=("198.51.100.9",)
    )
    verdict = verdict_for(IP_RESTRICTED, message)
    assert (verdict.client_ip, verdict.action) == ("192.0.2.7", "deliver")


def test_verdict_carries_the_settings_version() -> None:
    verdict = evaluate(
        mail(header_from="ann@partner.example"), compile_settings(Settings(version=42))
    )
    assert verdict.settings_version == 42


# --- what every match reports ---------------------------------------------------------------------


def test_every_match_names_resource_id_pattern_field_honored_and_reason() -> None:
    settings = Settings(
        domains=(OURS_WITH_IP_RESTRICTIONS,),
        allow_policies=(EXEMPT_BOB, TRUST_PARTNER),
        block_senders=(BLOCK_EVIL,),
        impersonation_registry=(ANN,),
        sending_domain_restrictions=(RESTRICT_PARTNER,),
    )
    message = mail(
        envelope_from="bounce@partner.example",
        header_from="ann@partner.example",
        header_from_name="Ann Lee",
        reply_to="pay@evil.example",
        client_ip="192.0.2.7",
        tls=True,
    )
    matches = verdict_for(settings, message).matches

    reported = {(m.resource, m.id, m.pattern, m.field, m.honored) for m in matches}
    assert reported == {
        ("sending_domain_restrictions", "sdr-partner", "partner.example", "envelope_from", True),
        ("domains", "dom-ours", "192.0.2.0/24,2001:db8::/32", "client_ip", True),
        ("impersonation_registry", "imp-ann", "Ann Lee", "header_from_name", False),
        ("allow_policies", "allow-exempt-bob", RECIPIENT, "recipient", True),
        ("block_senders", "block-evil", "evil.example", "reply_to", False),
        ("allow_policies", "allow-trust-partner", "partner.example", "envelope_from", False),
        ("allow_policies", "allow-trust-partner", "partner.example", "header_from", False),
    }
    assert {m.field for m in matches} == {
        "envelope_from",
        "header_from",
        "header_from_name",
        "reply_to",
        "recipient",
        "client_ip",
    }
    assert all(m.reason for m in matches)


def test_lifted_detection_stays_listed_with_why_it_was_lifted() -> None:
    settings = account(allow_policies=(EXEMPT_BOB,), block_senders=(BLOCK_EVIL,))
    verdict = verdict_for(settings, mail(header_from="ann@evil.example"))

    (blocked,) = [m for m in verdict.matches if m.resource == "block_senders"]
    assert blocked.honored is False
    assert "lifted by" in blocked.reason
    assert "exempt recipient" in blocked.reason
    assert verdict.attributes == ()


def test_look_alike_lifted_by_a_trusted_domain_says_so() -> None:
    settings = account(domains=LOOKALIKE_TARGETS, trusted_domains=(SIMILAR_CONTOSO_NET,))
    verdict = verdict_for(settings, mail(header_from="ann@contoso.net"))

    (lookalike,) = [m for m in verdict.matches if m.resource == "domains"]
    assert (lookalike.id, lookalike.pattern, lookalike.honored) == (
        CONTOSO.id,
        "contoso.com",
        False,
    )
    assert "lifted by trusted domain contoso.net" in lookalike.reason
    assert "LOOKALIKE=contoso.com" not in verdict.attributes


def test_unverified_match_says_why() -> None:
    verdict = verdict_for(VERIFY_ACCOUNT, verified_partner(passes(dkim=("other.co.uk",))))
    (policy,) = verdict.matches
    assert (policy.pattern, policy.honored) == ("partner.co.uk", False)
    assert "not verified" in policy.reason


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(
            AllowPolicy("allow-exempt-bob", RECIPIENT, "EMAIL", is_exempt_recipient=True),
            id="exempt-recipient",
        ),
        pytest.param(
            AllowPolicy("allow-trust-contoso-net", "contoso.net", "DOMAIN", is_trusted_sender=True),
            id="trusted-sender",
        ),
    ],
)
def test_matching_trusted_domain_is_listed_when_an_allow_policy_decided(
    policy: AllowPolicy,
) -> None:
    settings = account(
        domains=LOOKALIKE_TARGETS,
        allow_policies=(policy,),
        trusted_domains=(SIMILAR_CONTOSO_NET,),
    )
    verdict = verdict_for(settings, mail(header_from="ann@contoso.net"))
    assert verdict.disposition == "NONE"
    assert SIMILAR_CONTOSO_NET.id in {m.id for m in verdict.matches}


@pytest.mark.parametrize(
    "display_name",
    ["Ann Lee", "ANN LEE", "Ann\u200b Lee", "Lee, Ann", "Ann L\u0435e"],
    ids=["plain", "upper-case", "zero-width-space", "reordered", "cyrillic-e"],
)
def test_impersonation_sees_through_display_name_disguises(display_name: str) -> None:
    result = verdict_for(
        account(impersonation_registry=(ANN,)),
        mail(header_from="ann.lee@elsewhere.example", header_from_name=display_name),
    )
    assert result.disposition == "MALICIOUS-BEC"


def test_capital_i_standing_for_a_lower_case_l_is_an_impersonation() -> None:
    alice = ImpersonationEntry("imp-alice", "Alice Wong", "alice@ours.example")
    result = verdict_for(
        account(impersonation_registry=(alice,)),
        mail(header_from="alice@elsewhere.example", header_from_name="AIice Wong"),
    )
    assert result.disposition == "MALICIOUS-BEC"


def test_ip_restrictions_report_each_recipients_own_protected_domain() -> None:
    settings = Settings(
        domains=(
            ProtectedDomain("dom-ours", "ours.example", ip_restrictions=("192.0.2.0/24",)),
            ProtectedDomain("dom-eu", "eu.ours.example", ip_restrictions=("198.51.100.0/24",)),
        )
    )
    message = mail(
        recipients=(RECIPIENT, "ann@eu.ours.example", "carl@ours.example"),
        client_ip="192.0.2.7",
    )
    bob, ann, carl = evaluate(message, compile_settings(settings)).recipients

    assert [(m.id, m.honored) for m in bob.matches] == [("dom-ours", True)]
    assert [(m.id, m.honored) for m in ann.matches] == [("dom-eu", True)]
    assert (bob.action, ann.action, ann.attributes) == ("deliver", "drop", ("IP_RESTRICTION",))
    assert carl.matches == bob.matches
