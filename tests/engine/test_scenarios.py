"""The policy engine, rule by rule and step by step, as docs/ENGINE.md states it.

Each table row is one behaviour: the settings, one message for bob@ours.example, and the
verdict expected for him: disposition, action, attributes and every match reported, as
(resource, id, field, honored). Tests after the tables cover what a row cannot: several
recipients in one message, the protected domain chosen, and the details of each match.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import pytest

from email_security.engine import (
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    ContentPolicy,
    ImpersonationEntry,
    Message,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    UrlIgnorePattern,
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
GIFT_CARDS = ContentPolicy("cp-gift-cards", "Gift cards", r"gift\s*cards?", ("SUBJECT", "BODY"))
OVERDUE_IN_SUBJECT = ContentPolicy(
    "cp-overdue", "Overdue invoice", r"invoice\s+overdue", ("SUBJECT",)
)
WIRE_IN_BODY = ContentPolicy("cp-wire", "Wire transfer", r"wire\s+transfer", ("BODY",))


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


def content(policy_id: str = GIFT_CARDS.id, field: str = "subject", honored: bool = True) -> Hit:
    return Hit("content_policies", policy_id, field, honored)


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


# --- step 4: content policies ---------------------------------------------------------------------

FOUND = ("CONTENT_POLICY",)
GIFT_CARD_ACCOUNT = account(content_policies=(GIFT_CARDS,))


def written(**fields: Any) -> Message:
    """A message from an unknown sender with the subject and body given."""
    fields.setdefault("header_from", "ann@partner.example")
    return mail(**fields)


CONTENT_POLICIES = [
    case(
        "found-in-the-subject",
        GIFT_CARD_ACCOUNT,
        written(subject="Please buy gift cards"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(),),
    ),
    case(
        "found-in-the-plain-body",
        GIFT_CARD_ACCOUNT,
        written(subject="Errand", body="Hi,\nplease buy three gift cards today.\n"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(field="body"),),
    ),
    case(
        "found-in-the-text-of-the-html",
        GIFT_CARD_ACCOUNT,
        written(body_html="<p>Please buy <b>gift</b> <i>cards</i></p>"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(field="body"),),
    ),
    case(
        "inline-markup-inside-a-word-is-no-gap",
        account(content_policies=(replace(GIFT_CARDS, pattern="giftcard"),)),
        written(body_html="<p>gift<span style='x'>card</span></p>"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(field="body"),),
    ),
    case(
        "blocks-do-not-run-into-each-other",
        account(content_policies=(replace(GIFT_CARDS, pattern="giftcard"),)),
        written(body_html="<div>gift</div><div>card</div><p>gift</p>card<br>gift<br>card"),
        "NONE",
    ),
    case(
        "html-markup-is-not-text",
        GIFT_CARD_ACCOUNT,
        written(
            body_html='<p title="gift cards"><a href="https://x.example/gift-cards">Hi</a></p>'
        ),
        "NONE",
    ),
    case(
        "html-scripts-and-styles-are-not-text",
        GIFT_CARD_ACCOUNT,
        written(
            body_html="<style>.gift cards{color:red}</style><p>Hi</p>"
            "<script>var note = 'gift cards';</script>"
        ),
        "NONE",
    ),
    case(
        "html-entities-are-decoded",
        account(content_policies=(replace(GIFT_CARDS, pattern=r"AT&T gift card"),)),
        written(body_html="<p>Your AT&amp;T&#32;gift&#x20;card</p>"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(field="body"),),
    ),
    case(
        "case-insensitive",
        GIFT_CARD_ACCOUNT,
        written(subject="BUY GIFT CARDS", body="Gift Cards, please."),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(), content(field="body")),
    ),
    case(
        "found-anywhere-not-a-full-match",
        account(content_policies=(replace(GIFT_CARDS, pattern="card"),)),
        written(subject="Re: your giftcards order #42"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(),),
    ),
    case(
        "one-match-per-field-it-was-found-in",
        GIFT_CARD_ACCOUNT,
        written(subject="gift cards", body="gift cards and more gift cards", body_html="giftcard"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(), content(field="body")),
    ),
    case(
        "not-found",
        GIFT_CARD_ACCOUNT,
        written(subject="Lunch?", body="Shall we meet at noon?"),
        "NONE",
    ),
    case(
        "disabled-policy-is-neither-applied-nor-reported",
        account(content_policies=(replace(GIFT_CARDS, enabled=False),)),
        written(subject="gift cards", body="gift cards"),
        "NONE",
    ),
    case(
        "subject-only-policy-does-not-read-the-body",
        account(content_policies=(OVERDUE_IN_SUBJECT,)),
        written(subject="Hello", body="Your invoice overdue notice", body_html="invoice overdue"),
        "NONE",
    ),
    case(
        "subject-only-policy-reads-the-subject",
        account(content_policies=(OVERDUE_IN_SUBJECT,)),
        written(subject="Invoice overdue"),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(OVERDUE_IN_SUBJECT.id),),
    ),
    case(
        "body-only-policy-does-not-read-the-subject",
        account(content_policies=(WIRE_IN_BODY,)),
        written(subject="Wire transfer", body="Details inside."),
        "NONE",
    ),
    case(
        "without-a-body-a-body-policy-finds-nothing",
        account(content_policies=(replace(WIRE_IN_BODY, pattern=".*"),)),
        written(subject="anything"),
        "NONE",
    ),
    case(
        "beats-a-trusted-sender",
        account(allow_policies=(TRUST_PARTNER,), content_policies=(GIFT_CARDS,)),
        written(subject="gift cards", detections=("SPAM",)),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(), allow(TRUST_PARTNER.id, honored=False)),
    ),
    case(
        "beats-an-acceptable-sender",
        account(allow_policies=(ACCEPT_PARTNER,), content_policies=(GIFT_CARDS,)),
        written(body="gift cards", detections=("SPAM",)),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(field="body"), allow(ACCEPT_PARTNER.id, honored=False)),
    ),
    case(
        "exempt-recipient-still-wins",
        account(allow_policies=(EXEMPT_BOB,), content_policies=(GIFT_CARDS,)),
        written(subject="gift cards"),
        "NONE",
        matches=(exempt(), content(honored=False)),
    ),
    case(
        "with-a-blocked-sender-both-are-reported",
        account(block_senders=(BLOCK_EVIL,), content_policies=(GIFT_CARDS,)),
        written(header_from="ann@evil.example", subject="gift cards"),
        "MALICIOUS",
        "quarantine",
        attributes=("CUSTOM_BLOCK_LIST", "CONTENT_POLICY"),
        matches=(block(BLOCK_EVIL.id), content()),
    ),
    case(
        "invalid-regex-is-skipped-the-rest-still-count",
        account(
            content_policies=(replace(GIFT_CARDS, id="cp-broken", pattern="gift("), GIFT_CARDS)
        ),
        written(subject="gift cards, gift("),
        "MALICIOUS",
        "quarantine",
        attributes=FOUND,
        matches=(content(),),
    ),
    case(
        "invalid-regex-alone-finds-nothing",
        account(content_policies=(replace(GIFT_CARDS, id="cp-broken", pattern="gift("),)),
        written(subject="gift( cards", body="gift("),
        "NONE",
    ),
    case(
        "drop-dispositions-drop-it",
        account(
            domains=(
                ProtectedDomain("dom-ours", "ours.example", drop_dispositions=("MALICIOUS",)),
            ),
            content_policies=(GIFT_CARDS,),
        ),
        written(subject="gift cards"),
        "MALICIOUS",
        "drop",
        attributes=FOUND,
        matches=(content(),),
    ),
]


@pytest.mark.parametrize("scenario", CONTENT_POLICIES)
def test_content_policies(scenario: Scenario) -> None:
    check(scenario)


def test_content_policy_match_names_the_policy_and_the_field() -> None:
    verdict = verdict_for(GIFT_CARD_ACCOUNT, written(body="buy gift cards"))
    (found,) = verdict.matches
    assert (found.resource, found.id, found.pattern, found.field, found.honored) == (
        "content_policies",
        GIFT_CARDS.id,
        GIFT_CARDS.pattern,
        "body",
        True,
    )
    assert '"Gift cards"' in found.reason
    assert "body" in found.reason


@pytest.mark.parametrize(
    ("block_senders", "named"),
    [
        pytest.param((), 'content policy "Gift cards"', id="content-policy"),
        pytest.param(
            (BlockedSender("block-partner", "partner.example", "DOMAIN"),),
            'a blocked sender and content policy "Gift cards"',
            id="blocked-sender-and-content-policy",
        ),
    ],
)
def test_allow_policy_not_honoured_says_what_blocked(
    block_senders: tuple[BlockedSender, ...], named: str
) -> None:
    settings = account(
        allow_policies=(TRUST_PARTNER,),
        block_senders=block_senders,
        content_policies=(GIFT_CARDS,),
    )
    verdict = verdict_for(settings, written(subject="gift cards"))
    (trusted,) = [m for m in verdict.matches if m.resource == "allow_policies"]
    assert trusted.honored is False
    assert trusted.reason == f"trusted sender, but {named} matched too: block beats allow"


def test_content_policy_lifted_for_an_exempt_recipient_only() -> None:
    settings = account(allow_policies=(EXEMPT_BOB,), content_policies=(GIFT_CARDS,))
    message = written(recipients=(RECIPIENT, "carol@ours.example"), subject="gift cards")
    bob, carol = evaluate(message, compile_settings(settings)).recipients

    (lifted,) = [m for m in bob.matches if m.resource == "content_policies"]
    assert (bob.disposition, lifted.honored) == ("NONE", False)
    assert "lifted by exempt recipient" in lifted.reason
    assert (carol.disposition, carol.action, carol.attributes) == (
        "MALICIOUS",
        "quarantine",
        ("CONTENT_POLICY",),
    )


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


# --- links and URL ignore patterns ----------------------------------------------------------------

TRUSTED_LINKS = UrlIgnorePattern("url-trusted", r"https://trusted\.example/.*")
ANY_TRUSTED_PATH = UrlIgnorePattern("url-trusted-any", r"https?://(www\.)?trusted\.example/.*")
THE_LINK = "https://trusted.example/x"


class LinkSeen(NamedTuple):
    """A link as the tables expect it: the URL, and the id of the entry ignoring it."""

    url: str
    ignored_by: str | None = None


def link_case(id_: str, message: Message, links: list[LinkSeen], *ignores: UrlIgnorePattern) -> Any:
    return pytest.param(Settings(url_ignore_patterns=ignores), message, links, id=id_)


def ignored(url: str, entry: UrlIgnorePattern = TRUSTED_LINKS) -> LinkSeen:
    return LinkSeen(url, entry.id)


def urls(count: int, host: str = "x.example") -> list[str]:
    return [f"https://{host}/{n}" for n in range(count)]


LINKS = [
    link_case(
        "bare-urls-in-the-plain-text",
        written(body="See https://a.example/x and http://b.example/y\nor HTTP://C.example/Z"),
        [
            LinkSeen("https://a.example/x"),
            LinkSeen("http://b.example/y"),
            LinkSeen("HTTP://C.example/Z"),
        ],
    ),
    link_case(
        "hrefs-of-a-and-area-elements",
        written(
            body_html='<a href="https://a.example/">a</a><img src="https://img.example/i.png">'
            '<map><area href="https://b.example/map"></map><link href="https://css.example/">'
            '<form action="https://form.example/"></form>'
        ),
        [LinkSeen("https://a.example/"), LinkSeen("https://b.example/map")],
    ),
    link_case(
        "href-entities-decoded-whitespace-and-newlines-dropped",
        written(
            body_html='<a href=" https://a.example/?x=1&amp;y=2 ">a</a><a href="ht\ntps://b.exa\tmple/">'
        ),
        [LinkSeen("https://a.example/?x=1&y=2"), LinkSeen("https://b.example/")],
    ),
    link_case(
        "plain-text-first-then-the-html",
        written(
            body="Text: https://p.example/1",
            body_html='<a href="https://h.example/1">1</a> https://h.example/text',
        ),
        [LinkSeen("https://p.example/1"), LinkSeen("https://h.example/1")],
    ),
    link_case(
        "each-url-once-in-order-of-first-appearance",
        written(
            body="https://b.example/ https://a.example/ https://b.example/",
            body_html='<a href="https://a.example/">a</a><a href="https://c.example/">c</a>',
        ),
        [
            LinkSeen("https://b.example/"),
            LinkSeen("https://a.example/"),
            LinkSeen("https://c.example/"),
        ],
    ),
    link_case(
        "the-first-100",
        written(
            body=" ".join(urls(80)),
            body_html="".join(f'<a href="{u}">' for u in urls(40, "h.example")),
        ),
        [LinkSeen(url) for url in urls(80) + urls(20, "h.example")],
    ),
    link_case(
        "trailing-punctuation-left-off",
        written(
            body="Go to https://a.example/x.html, then https://b.example/?q=1! (see https://c.example/y)"
            " 'https://d.example/' \"https://e.example/\"; https://f.example/wiki/Foo_(bar)."
            " <https://g.example/> [https://h.example/]: https://i.example/a?b:c;"
        ),
        [
            LinkSeen("https://a.example/x.html"),
            LinkSeen("https://b.example/?q=1"),
            LinkSeen("https://c.example/y"),
            LinkSeen("https://d.example/"),
            LinkSeen("https://e.example/"),
            LinkSeen("https://f.example/wiki/Foo_(bar)"),
            LinkSeen("https://g.example/"),
            LinkSeen("https://h.example/"),
            LinkSeen("https://i.example/a?b:c"),
        ],
    ),
    link_case(
        "other-schemes-and-relative-urls-are-not-links",
        written(
            body="ftp://f.example/ mailto:ann@x.example file:///etc/passwd xhttps://glued.example/"
            " https:// http://.",
            body_html='<a href="mailto:a@x.example">m</a><a href="javascript:alert(1)">j</a>'
            '<a href="/relative">r</a><a href="//scheme-relative.example/">s</a>'
            '<a href="ftp://f.example/">f</a><a href="tel:+15551234">t</a>'
            '<a href="https:">e</a><a href="http://">e</a><a>n</a>',
        ),
        [],
    ),
    link_case("no-body-no-links", written(subject="https://s.example/ in the subject"), []),
    link_case(
        "ignore-pattern-full-match-only",
        written(body=f"{THE_LINK} https://evil.example/?u=https://trusted.example/x"),
        [ignored(THE_LINK), LinkSeen("https://evil.example/?u=https://trusted.example/x")],
        TRUSTED_LINKS,
    ),
    link_case(
        "ignore-pattern-does-not-exempt-a-longer-host",
        written(body="https://trusted.example.evil.example/x https://nottrusted.example/x"),
        [
            LinkSeen("https://trusted.example.evil.example/x"),
            LinkSeen("https://nottrusted.example/x"),
        ],
        TRUSTED_LINKS,
    ),
    link_case(
        "ignore-pattern-ignores-case",
        written(body="HTTPS://TRUSTED.EXAMPLE/X", body_html='<a href="https://Trusted.Example/y">'),
        [ignored("HTTPS://TRUSTED.EXAMPLE/X"), ignored("https://Trusted.Example/y")],
        TRUSTED_LINKS,
    ),
    link_case(
        "ignored-by-names-the-first-matching-entry-in-settings-order",
        written(body=f"{THE_LINK} http://www.trusted.example/y"),
        [
            ignored(THE_LINK, ANY_TRUSTED_PATH),
            ignored("http://www.trusted.example/y", ANY_TRUSTED_PATH),
        ],
        UrlIgnorePattern("url-other", r"https://other\.example/.*"),
        ANY_TRUSTED_PATH,
        TRUSTED_LINKS,
    ),
    link_case(
        "invalid-ignore-pattern-is-skipped",
        written(body=THE_LINK),
        [ignored(THE_LINK)],
        UrlIgnorePattern("url-broken", "https://(trusted"),
        TRUSTED_LINKS,
    ),
]


@pytest.mark.parametrize(("settings", "message", "links"), LINKS)
def test_links(settings: Settings, message: Message, links: list[LinkSeen]) -> None:
    verdict = evaluate(message, compile_settings(settings))
    assert [
        LinkSeen(link.url, link.ignored_by and link.ignored_by.id) for link in verdict.links
    ] == links
    patterns = {entry.id: entry.pattern for entry in settings.url_ignore_patterns}
    for link in verdict.links:
        assert link.rewrite is (link.ignored_by is None)
        if link.ignored_by is not None:
            assert link.ignored_by.pattern == patterns[link.ignored_by.id]


@pytest.mark.parametrize(
    ("settings", "sender", "rewrite_links"),
    [
        pytest.param(account(), "ann@partner.example", True, id="no-policy"),
        pytest.param(
            account(allow_policies=(TRUST_PARTNER,)),
            "ann@partner.example",
            False,
            id="trusted-sender",
        ),
        pytest.param(
            account(allow_policies=(EXEMPT_BOB,)),
            "ann@partner.example",
            False,
            id="exempt-recipient",
        ),
        pytest.param(
            account(allow_policies=(ACCEPT_PARTNER,)),
            "ann@partner.example",
            True,
            id="acceptable-sender",
        ),
        pytest.param(
            account(allow_policies=(TRUST_PARTNER_CO_UK_VERIFIED,)),
            "ann@partner.co.uk",
            True,
            id="trusted-sender-not-verified",
        ),
        pytest.param(
            account(allow_policies=(TRUST_PARTNER,), block_senders=(BLOCK_EVIL,)),
            "ann@partner.example",
            False,
            id="trusted-sender-with-an-unrelated-block",
        ),
        pytest.param(
            account(allow_policies=(TRUST_PARTNER,), content_policies=(GIFT_CARDS,)),
            "ann@partner.example",
            True,
            id="trusted-sender-beaten-by-a-content-policy",
        ),
        pytest.param(
            account(block_senders=(BlockedSender("block-partner", "partner.example", "DOMAIN"),)),
            "ann@partner.example",
            True,
            id="blocked-sender",
        ),
    ],
)
def test_rewrite_links_is_false_when_a_trusted_sender_or_an_exempt_recipient_decided(
    settings: Settings, sender: str, rewrite_links: bool
) -> None:
    message = written(
        header_from=sender, subject="gift cards?" if settings.content_policies else None
    )
    verdict = verdict_for(settings, replace(message, body="https://x.example/"))
    assert verdict.rewrite_links is rewrite_links


def test_rewrite_links_is_per_recipient() -> None:
    settings = account(allow_policies=(EXEMPT_BOB,))
    message = written(recipients=(RECIPIENT, "carol@ours.example"), body="https://x.example/")
    bob, carol = evaluate(message, compile_settings(settings)).recipients
    assert (bob.rewrite_links, carol.rewrite_links) == (False, True)


def test_links_and_the_new_verdict_fields_as_the_wire_format_renders_them() -> None:
    settings = account(url_ignore_patterns=(TRUSTED_LINKS,))
    message = written(body=f"{THE_LINK} https://x.example/")
    rendered = dataclasses.asdict(evaluate(message, compile_settings(settings)))
    assert list(rendered["links"]) == [
        {
            "url": THE_LINK,
            "rewrite": False,
            "ignored_by": {"id": TRUSTED_LINKS.id, "pattern": TRUSTED_LINKS.pattern},
        },
        {"url": "https://x.example/", "rewrite": True, "ignored_by": None},
    ]
    assert rendered["body_truncated"] is False
    assert rendered["recipients"][0]["rewrite_links"] is True


def test_a_message_without_subject_or_body_has_no_links_and_nothing_cut() -> None:
    settings = account(content_policies=(GIFT_CARDS,), url_ignore_patterns=(TRUSTED_LINKS,))
    verdict = evaluate(written(), compile_settings(settings))
    assert (verdict.links, verdict.body_truncated) == ((), False)
    assert verdict.recipients[0].rewrite_links is True


# --- the body text and its limit ------------------------------------------------------------------

LIMIT = Thresholds(body_text_limit=100)
AT_THE_END = ContentPolicy("cp-end", "At the end", "needle", ("BODY",))
PLAIN_THEN_HTML = ContentPolicy(
    "cp-joined", "Across the parts", r"plain end\nhtml start", ("BODY",)
)


def body_verdict(message: Message, *policies: ContentPolicy) -> tuple[bool, set[str]]:
    """Whether the body was cut, and the content policies found, with a 100-character limit."""
    verdict = evaluate(message, compile_settings(Settings(content_policies=policies), LIMIT))
    found = {m.id for m in verdict.recipients[0].matches}
    return verdict.body_truncated, found


@pytest.mark.parametrize(
    ("message", "truncated", "found"),
    [
        pytest.param(
            written(body="x" * 94 + "needle"), False, {AT_THE_END.id}, id="plain-at-the-limit"
        ),
        pytest.param(written(body="x" * 95 + "needle"), True, set(), id="plain-one-over"),
        pytest.param(
            written(body="x" * 40, body_html="<p>" + "y" * 53 + "needle</p>"),
            False,
            {AT_THE_END.id},
            id="plain-newline-html-at-the-limit",
        ),
        pytest.param(
            written(body="x" * 40, body_html="<p>" + "y" * 54 + "needle</p>"),
            True,
            set(),
            id="plain-newline-html-one-over",
        ),
        pytest.param(
            written(body_html="<div style='" + "z" * 500 + "'>" + "y" * 94 + "needle</div>"),
            False,
            {AT_THE_END.id},
            id="only-text-counts-not-markup",
        ),
        pytest.param(
            written(body_html="<p>needle</p><!--" + "z" * 800 + "-->"),
            True,
            {AT_THE_END.id},
            id="raw-html-over-eight-times-the-limit-is-cut-before-parsing",
        ),
        pytest.param(
            written(body="plain end", body_html="<p>html start</p>"),
            False,
            {PLAIN_THEN_HTML.id},
            id="plain-then-a-newline-then-the-html-text",
        ),
    ],
)
def test_body_text_limit(message: Message, truncated: bool, found: set[str]) -> None:
    assert body_verdict(message, AT_THE_END, PLAIN_THEN_HTML) == (truncated, found)


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(written(body="x" * 101), id="plain"),
        pytest.param(written(body_html="<p>" + "y" * 101 + "</p>"), id="html"),
        pytest.param(written(body="x" * 50, body_html="<p>" + "y" * 50 + "</p>"), id="both"),
    ],
)
def test_body_truncated_whether_or_not_a_policy_reads_the_body(message: Message) -> None:
    assert body_verdict(message)[0] is True
    assert body_verdict(message, AT_THE_END)[0] is True


def test_links_beyond_the_limit_of_the_plain_text_are_not_read() -> None:
    message = written(body="https://a.example/ " + "x" * 100 + " https://b.example/")
    verdict = evaluate(message, compile_settings(Settings(), LIMIT))
    assert [link.url for link in verdict.links] == ["https://a.example/"]
