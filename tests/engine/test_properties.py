"""Properties of the policy engine over generated settings and messages (hypothesis).

Addresses, domains and IPs are drawn from a small vocabulary, so that generated entries
actually match generated messages; the robustness properties draw arbitrary text instead.
Runs are derandomized: CI sees the same examples every time.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

import re2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from email_security.engine import (
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    ContentPolicy,
    ImpersonationEntry,
    Message,
    MessageError,
    ProtectedDomain,
    RecipientVerdict,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    UrlIgnorePattern,
    compile_settings,
    evaluate,
    parse_message,
)

PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Severity as docs/ENGINE.md ranks it (step 8), written out here rather than taken from the
# engine, so that a change of the engine's ranking fails these properties.
SEVERITY = {
    "NONE": 0,
    "BULK": 1,
    "SPAM": 2,
    "SPOOF": 3,
    "SUSPICIOUS": 4,
    "MALICIOUS": 5,
    "MALICIOUS-BEC": 5,
}
ACTION_SEVERITY = {"deliver": 0, "quarantine": 1, "drop": 2}
RESTRICTION_ATTRIBUTES = frozenset({"SENDING_DOMAIN_RESTRICTION", "IP_RESTRICTION"})
FIELDS = frozenset(
    {
        "envelope_from",
        "header_from",
        "header_from_name",
        "reply_to",
        "recipient",
        "client_ip",
        "subject",
        "body",
    }
)
RESOURCES = frozenset(
    {
        "allow_policies",
        "block_senders",
        "trusted_domains",
        "impersonation_registry",
        "domains",
        "sending_domain_restrictions",
        "content_policies",
    }
)

# --- a vocabulary that makes entries and messages meet --------------------------------------------

OUR_DOMAINS = ("ours.example", "eu.ours.example")
SENDER_DOMAINS = (
    "partner.example",
    "mail.partner.example",
    "partner.co.uk",
    "evil.example",
    "badexample.com",
    "example.com",
    "contoso.com",
    "contoso.net",
    "c\u043entoso.com",
    "cotnoso.com",
    "fresh.example",
)
LOCAL_PARTS = ("ann", "bob", "ceo")
CLIENT_IPS = ("192.0.2.7", "198.51.100.9", "203.0.113.7", "2001:db8::25", "::ffff:192.0.2.7")
NETWORKS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.7", "2001:db8::/32")
DETECTIONS = ("MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS", "SPOOF", "SPAM", "BULK")
NAMES = ("Ann Lee", "Lee, Ann", "\u0410nn Lee", "Carl Ho", "Bob")
REGEXES = ((r"ann@.*", "EMAIL"), (r"(.+\.)?partner\.example", "DOMAIN"), (r"192\.0\.2\.\d+", "IP"))

sender_addresses = st.builds(
    "{}@{}".format, st.sampled_from(LOCAL_PARTS), st.sampled_from(SENDER_DOMAINS + OUR_DOMAINS)
)
recipient_addresses = st.builds(
    "{}@{}".format,
    st.sampled_from(LOCAL_PARTS),
    st.sampled_from((*OUR_DOMAINS, "elsewhere.example")),
)

# (pattern, pattern_type, is_regex) of an allow policy or a blocked sender
patterns = st.one_of(
    st.tuples(sender_addresses, st.just("EMAIL"), st.just(False)),
    st.tuples(st.sampled_from(SENDER_DOMAINS), st.just("DOMAIN"), st.just(False)),
    st.tuples(st.sampled_from(NETWORKS), st.just("IP"), st.just(False)),
    st.sampled_from([(regex, pattern_type, True) for regex, pattern_type in REGEXES]),
)


T = TypeVar("T", AllowPolicy, BlockedSender, TrustedDomain)


def numbered(entries: list[T], make_id: str) -> tuple[T, ...]:
    """The entries with unique ids, `make_id` formatted with their position."""
    return tuple(replace(entry, id=make_id.format(i)) for i, entry in enumerate(entries))


allow_policy_lists = st.lists(
    st.builds(
        lambda pattern, role, verify: AllowPolicy(
            "",
            pattern[0],
            pattern[1],
            is_regex=pattern[2],
            is_trusted_sender=role == "trusted",
            is_acceptable_sender=role == "acceptable",
            verify_sender=verify,
        ),
        patterns,
        st.sampled_from(("trusted", "acceptable", "none")),
        st.booleans(),
    ),
    max_size=3,
).map(lambda policies: numbered(policies, "allow-{}"))
blocked_sender_lists = st.lists(
    patterns.map(lambda pattern: BlockedSender("", *pattern[:2], is_regex=pattern[2])),
    max_size=2,
).map(lambda entries: numbered(entries, "block-{}"))
trusted_domain_lists = st.lists(
    st.builds(
        lambda domain, recent, similarity: TrustedDomain(
            "", domain, is_recent=recent, is_similarity=similarity
        ),
        st.sampled_from(SENDER_DOMAINS),
        st.booleans(),
        st.booleans(),
    ),
    max_size=2,
).map(lambda entries: numbered(entries, "trusted-{}"))

any_drop_dispositions = st.lists(st.sampled_from(DETECTIONS), unique=True, max_size=3).map(tuple)
# Drop everything at least as severe as some disposition, or nothing: the action then grows
# with the disposition, so a more severe disposition never gets a milder action.
upward_closed_drop_dispositions = st.sampled_from((None, *DETECTIONS)).map(
    lambda least: (
        () if least is None else tuple(d for d in DETECTIONS if SEVERITY[d] >= SEVERITY[least])
    )
)
REGISTRY = (
    ImpersonationEntry("imp-ann", "Ann Lee", "ann@ours.example, ann@partner.example"),
    ImpersonationEntry("imp-carl", "Carl Ho", r"carl@.*\.example", is_email_regex=True),
)
RESTRICTION = SendingDomainRestriction(
    "sdr-partner", "partner.example", exclude=("mail.partner.example",)
)


def accounts(drop_dispositions: st.SearchStrategy[tuple[str, ...]]) -> st.SearchStrategy[Settings]:
    ours = st.builds(
        lambda networks, hops, drops: ProtectedDomain(
            "dom-ours",
            "ours.example",
            ip_restrictions=tuple(networks),
            lookback_hops=hops,
            drop_dispositions=drops,
        ),
        st.lists(st.sampled_from(NETWORKS), unique=True, max_size=2),
        st.integers(1, 3),
        drop_dispositions,
    )
    eu = drop_dispositions.map(
        lambda drops: ProtectedDomain(
            "dom-eu", "eu.ours.example", lookback_hops=2, drop_dispositions=drops
        )
    )
    contoso = st.just(ProtectedDomain("dom-contoso", "contoso.com"))
    return st.builds(
        lambda ours, others, allow, blocked, trusted, restricted: Settings(
            domains=(ours, *others),
            allow_policies=allow,
            block_senders=blocked,
            trusted_domains=trusted,
            impersonation_registry=REGISTRY,
            sending_domain_restrictions=(RESTRICTION,) if restricted else (),
        ),
        ours,
        st.lists(eu | contoso, max_size=2, unique_by=lambda domain: domain.id),
        allow_policy_lists,
        blocked_sender_lists,
        trusted_domain_lists,
        st.booleans(),
    )


auth_results = st.builds(
    AuthResult,
    st.sampled_from(("pass", "fail", "none", "softfail")),
    st.none() | st.sampled_from((*SENDER_DOMAINS, "other.co.uk")),
)
optional_sender = st.none() | sender_addresses
messages = st.builds(
    Message,
    recipients=st.lists(recipient_addresses, min_size=1, max_size=3, unique=True).map(tuple),
    envelope_from=optional_sender,
    header_from=optional_sender,
    header_from_name=st.none() | st.sampled_from(NAMES),
    reply_to=optional_sender,
    client_ip=st.none() | st.sampled_from(CLIENT_IPS),
    tls=st.none() | st.booleans(),
    auth=st.builds(
        AuthResults,
        spf=st.none() | auth_results,
        dkim=st.lists(auth_results, max_size=2).map(tuple),
        dmarc=st.none() | auth_results,
    ),
    detections=st.lists(st.sampled_from(DETECTIONS), max_size=3).map(tuple),
    sender_domain_age_days=st.none() | st.integers(0, 60),
    received_ips=st.lists(st.sampled_from(CLIENT_IPS), max_size=3).map(tuple),
    received_tls=st.lists(st.none() | st.booleans(), max_size=3).map(tuple),
)


def verdicts(settings_: Settings, message: Message) -> tuple[RecipientVerdict, ...]:
    return evaluate(message, compile_settings(settings_)).recipients


def restriction_drops(verdict: RecipientVerdict) -> frozenset[str]:
    return RESTRICTION_ATTRIBUTES & frozenset(verdict.attributes)


def is_exempt(verdict: RecipientVerdict) -> bool:
    return any(m.field == "recipient" and m.honored for m in verdict.matches)


# --- monotonicity ---------------------------------------------------------------------------------


@PROPERTY
@given(
    account=accounts(any_drop_dispositions),
    message=messages,
    data=st.data(),
)
def test_exempting_a_recipient_never_makes_its_verdict_more_severe(
    account: Settings, message: Message, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(message.recipients) - 1), label="recipient index")
    recipient = message.recipients[index]
    pattern, pattern_type = data.draw(
        st.sampled_from(((recipient, "EMAIL"), (recipient.rpartition("@")[2], "DOMAIN"))),
        label="exempt pattern",
    )
    exempt = AllowPolicy("allow-exempt", pattern, pattern_type, is_exempt_recipient=True)
    with_exempt = replace(account, allow_policies=(*account.allow_policies, exempt))

    before = verdicts(account, message)[index]
    after = verdicts(with_exempt, message)[index]

    assert SEVERITY[after.disposition] <= SEVERITY[before.disposition]
    assert after.disposition == "NONE"
    assert restriction_drops(after) == restriction_drops(before)
    if restriction_drops(before):
        assert after.action == "drop"
    else:
        assert ACTION_SEVERITY[after.action] <= ACTION_SEVERITY[before.action]
        assert after.action == "deliver"


@PROPERTY
@given(
    account=accounts(upward_closed_drop_dispositions),
    message=messages,
    data=st.data(),
)
def test_blocking_a_sender_never_makes_a_verdict_less_severe_unless_exempt(
    account: Settings, message: Message, data: st.DataObject
) -> None:
    senders = [
        value
        for value in (message.envelope_from, message.header_from, message.reply_to)
        if value is not None
    ]
    own_sender = data.draw(st.booleans(), label="block one of the message's own senders")
    if senders and own_sender:
        address = data.draw(st.sampled_from(senders), label="blocked address")
        blocked = BlockedSender("block-added", address, "EMAIL")
    else:
        pattern, pattern_type, is_regex = data.draw(patterns, label="blocked pattern")
        blocked = BlockedSender("block-added", pattern, pattern_type, is_regex=is_regex)
    with_block = replace(account, block_senders=(*account.block_senders, blocked))

    for before, after in zip(
        verdicts(account, message), verdicts(with_block, message), strict=True
    ):
        assert restriction_drops(after) == restriction_drops(before)
        if is_exempt(after):
            assert after.disposition == before.disposition == "NONE"
            continue
        assert SEVERITY[after.disposition] >= SEVERITY[before.disposition]
        assert ACTION_SEVERITY[after.action] >= ACTION_SEVERITY[before.action]
        if any(m.id == blocked.id and m.honored for m in after.matches):
            assert SEVERITY[after.disposition] == SEVERITY["MALICIOUS"]
            assert "CUSTOM_BLOCK_LIST" in after.attributes


# --- regexes: the engine's indexes agree with RE2 ------------------------------------------------

# Enough patterns share literals ("ann", "example") that a text often has many candidates.
REGEX_PIECES = (
    "ann", "BOB", "evil", "@", r"\.", "example", ".*", ".+", "[a-z]+", "(ann|bob)", r"\d+",
    "x?", "[^@]+", r"(mail\.)?", "E",
)  # fmt: skip
TEXT_PIECES = ("ann", "bob", "Bob", "evil", "mail.", "x", "42", ".", "example", "e")
regexes = st.lists(st.sampled_from(REGEX_PIECES), min_size=1, max_size=5).map("".join)
local_parts = st.lists(st.sampled_from(TEXT_PIECES), min_size=1, max_size=5).map("".join)
domains = st.lists(st.sampled_from(TEXT_PIECES), max_size=4).map(
    lambda parts: "".join(parts) + ".example"
)


def ignoring_case(pattern: str) -> re2._Regexp | None:
    """The pattern compiled as the engine compiles it; None when RE2 refuses it."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error:
        return None


def full_match_ignoring_case(pattern: str, text: str) -> bool:
    regex = ignoring_case(pattern)
    return regex is not None and regex.fullmatch(text) is not None


def found_ignoring_case(pattern: str, text: str) -> bool:
    regex = ignoring_case(pattern)
    return regex is not None and regex.search(text) is not None


@PROPERTY
@given(
    pattern_list=st.lists(regexes, min_size=1, max_size=12),
    local=local_parts,
    domain=domains,
)
def test_email_regexes_match_exactly_when_re2_full_matches_ignoring_case(
    pattern_list: list[str], local: str, domain: str
) -> None:
    address = f"{local}@{domain}"
    blocked = tuple(
        BlockedSender(f"block-{i}", pattern, "EMAIL", is_regex=True)
        for i, pattern in enumerate(pattern_list)
    )
    message = Message(recipients=("bob@ours.example",), header_from=address)
    (verdict,) = evaluate(message, compile_settings(Settings(block_senders=blocked))).recipients

    expected = {entry.id for entry in blocked if full_match_ignoring_case(entry.pattern, address)}
    assert {m.id for m in verdict.matches} == expected


# Text and patterns over a few words, in both cases, so that policies often find something.
CONTENT_PIECES = ("gift", "Card", "cards", " ", "\n", "wire", "é", "É", "ß", "$", "5", ".", "x")
CONTENT_REGEX_PIECES = (
    "gift", "CARD", r"\s+", r"\s*", "s?", ".", ".*", "[0-9]+", r"\$", "^", "$", "(wire|gift)",
    "é", "É", "x+", r"\bcard", "(",
)  # fmt: skip
content_texts = st.lists(st.sampled_from(CONTENT_PIECES), max_size=12).map("".join)
content_patterns = st.lists(st.sampled_from(CONTENT_REGEX_PIECES), min_size=1, max_size=4).map(
    "".join
)
content_policy_lists = st.lists(
    st.builds(
        lambda pattern, targets, enabled: ContentPolicy("", "policy", pattern, targets, enabled),
        content_patterns,
        st.sampled_from((("SUBJECT",), ("BODY",), ("SUBJECT", "BODY"), ())),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
).map(lambda policies: tuple(replace(p, id=f"cp-{i}") for i, p in enumerate(policies)))


@PROPERTY
@given(
    policies=content_policy_lists,
    subject=st.none() | content_texts,
    body=st.none() | content_texts,
)
def test_content_policies_are_found_exactly_where_re2_searching_ignoring_case_finds_them(
    policies: tuple[ContentPolicy, ...], subject: str | None, body: str | None
) -> None:
    message = Message(recipients=("bob@ours.example",), subject=subject, body=body)
    (verdict,) = verdicts(Settings(content_policies=policies), message)

    expected = {
        (policy.id, field)
        for policy in policies
        if policy.enabled
        for field, target, text in (("subject", "SUBJECT", subject), ("body", "BODY", body))
        if text is not None
        and target in policy.targets
        and found_ignoring_case(policy.pattern, text)
    }
    assert {(m.id, m.field) for m in verdict.matches} == expected
    assert (verdict.disposition == "MALICIOUS") is bool(expected)


URL_PIECES = ("trusted", "Trusted", "evil", ".example", "/", "x", "?u=", "https://", "www.", "-")
URL_REGEX_PIECES = (
    "https?://", "HTTPS://", r"(www\.)?", r"trusted\.example", r"evil\.example", "/", ".*",
    "[a-z]+", r"\?u=", "x", "(", ".+",
)  # fmt: skip
link_urls = st.builds(
    "{}{}".format,
    st.sampled_from(("https://", "http://", "HTTPS://")),
    st.lists(st.sampled_from(URL_PIECES), min_size=1, max_size=8).map("".join),
).filter(lambda url: url.partition(":")[2].strip("/"))  # a scheme alone is not a link
url_pattern_lists = st.lists(
    st.lists(st.sampled_from(URL_REGEX_PIECES), min_size=1, max_size=5).map("".join),
    min_size=1,
    max_size=6,
).map(lambda patterns: tuple(UrlIgnorePattern(f"url-{i}", p) for i, p in enumerate(patterns)))


@PROPERTY
@given(patterns=url_pattern_lists, urls=st.lists(link_urls, min_size=1, max_size=5, unique=True))
def test_links_are_ignored_exactly_when_re2_full_matches_ignoring_case(
    patterns: tuple[UrlIgnorePattern, ...], urls: list[str]
) -> None:
    html = "".join(f'<a href="{url}">link</a>' for url in urls)
    message = Message(recipients=("bob@ours.example",), body_html=html)
    verdict = evaluate(message, compile_settings(Settings(url_ignore_patterns=patterns)))

    assert [link.url for link in verdict.links] == urls
    for link in verdict.links:
        first = next((p for p in patterns if full_match_ignoring_case(p.pattern, link.url)), None)
        assert link.rewrite is (first is None)
        assert (link.ignored_by and (link.ignored_by.id, link.ignored_by.pattern)) == (
            first and (first.id, first.pattern)
        )


# --- robustness -----------------------------------------------------------------------------------

RICH_ACCOUNT = Settings(
    domains=(
        ProtectedDomain(
            "dom-ours",
            "ours.example",
            ip_restrictions=NETWORKS,
            lookback_hops=2,
            drop_dispositions=("SPAM",),
        ),
        ProtectedDomain("dom-northwind", "northwind.com"),
    ),
    allow_policies=(
        AllowPolicy("allow-exempt", "ceo@ours.example", "EMAIL", is_exempt_recipient=True),
        AllowPolicy(
            "allow-trust", "partner.co.uk", "DOMAIN", is_trusted_sender=True, verify_sender=True
        ),
        AllowPolicy("allow-accept-ip", "2001:db8::/32", "IP", is_acceptable_sender=True),
        AllowPolicy(
            "allow-regex", r".*@news\..*", "EMAIL", is_regex=True, is_acceptable_sender=True
        ),
    ),
    block_senders=(
        BlockedSender("block-domain", "evil.example", "DOMAIN"),
        BlockedSender("block-ip-regex", r"203\..*", "IP", is_regex=True),
        BlockedSender("block-domain-regex", r".*\.xn--.*", "DOMAIN", is_regex=True),
    ),
    trusted_domains=(
        TrustedDomain("trusted", "northwind.net", is_recent=True, is_similarity=True),
    ),
    impersonation_registry=(ImpersonationEntry("imp-ann", "Ann Lee", "ann@ours.example"),),
    sending_domain_restrictions=(
        SendingDomainRestriction("sdr", "partner.co.uk", ("old.partner.co.uk",)),
    ),
)
RICH_COMPILED = compile_settings(RICH_ACCOUNT)

arbitrary_text = st.text(max_size=40)
address_like = (
    arbitrary_text
    | st.builds("{}@{}".format, arbitrary_text, arbitrary_text)
    | st.builds("{}@{}".format, st.sampled_from(LOCAL_PARTS), st.sampled_from(SENDER_DOMAINS))
)
ip_like = (
    arbitrary_text
    | st.ip_addresses().map(str)
    | st.ip_addresses(v=6).map("[IPv6:{}]".format)
    | st.sampled_from(CLIENT_IPS)
)


@PROPERTY
@given(
    recipients=st.lists(address_like, min_size=1, max_size=3),
    envelope_from=st.none() | address_like,
    header_from=st.none() | address_like,
    header_from_name=st.none() | arbitrary_text | st.sampled_from(NAMES),
    reply_to=st.none() | address_like,
    client_ip=st.none() | ip_like,
    received_ips=st.lists(st.none() | ip_like, max_size=3),
    auth_domain=st.none() | arbitrary_text,
    detections=st.lists(arbitrary_text | st.sampled_from(DETECTIONS), max_size=3),
    age=st.none() | st.integers(),
)
def test_evaluation_never_raises_on_arbitrary_addresses_names_and_ips(
    recipients: list[str],
    envelope_from: str | None,
    header_from: str | None,
    header_from_name: str | None,
    reply_to: str | None,
    client_ip: str | None,
    received_ips: list[str | None],
    auth_domain: str | None,
    detections: list[str],
    age: int | None,
) -> None:
    message = Message(
        recipients=tuple(recipients),
        envelope_from=envelope_from,
        header_from=header_from,
        header_from_name=header_from_name,
        reply_to=reply_to,
        client_ip=client_ip,
        auth=AuthResults(
            spf=AuthResult("pass", auth_domain),
            dkim=(AuthResult("pass", auth_domain),),
            dmarc=AuthResult("pass", auth_domain),
        ),
        detections=tuple(detections),
        sender_domain_age_days=age,
        received_ips=tuple(received_ips),
    )
    verdict = evaluate(message, RICH_COMPILED)

    assert len(verdict.recipients) == len(recipients)
    for recipient in verdict.recipients:
        assert recipient.disposition in SEVERITY
        assert recipient.action in ACTION_SEVERITY
        assert all(m.resource in RESOURCES and m.field in FIELDS for m in recipient.matches)


header_names = st.sampled_from(
    ("From", "To", "Cc", "Reply-To", "Return-Path", "Delivered-To", "Received", "Subject")
)
header_values = arbitrary_text | st.text(alphabet='<>@"(),:;[]=?\\ ab.Q\t', max_size=30)


@PROPERTY
@given(headers=st.lists(st.tuples(header_names, header_values), min_size=1, max_size=6))
@example(headers=[("From", '"'), ("To", "bob@ours.example")])
def test_parse_message_raises_nothing_but_message_error(headers: list[tuple[str, str]]) -> None:
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\nbody\r\n"
    try:
        message = parse_message(raw.encode("utf-8"))
    except MessageError:
        return
    assert message.recipients
    assert message.header_from is not None or message.envelope_from is not None


RICH_CONTENT_COMPILED = compile_settings(
    replace(
        RICH_ACCOUNT,
        content_policies=(
            ContentPolicy("cp-any", "Anything", ".", ("SUBJECT", "BODY")),
            ContentPolicy("cp-words", "Words", r"\bgift\s+cards?\b", ("BODY",)),
            ContentPolicy("cp-off", "Off", ".*", ("SUBJECT", "BODY"), enabled=False),
        ),
        url_ignore_patterns=(UrlIgnorePattern("url-any", r"https?://[^/]*\.example/.*"),),
    ),
    Thresholds(body_text_limit=50),
)
body_like = (
    arbitrary_text
    | st.text(alphabet="<>/&;#\"'= abhtps:.", max_size=60)
    | st.lists(
        st.sampled_from(("https://a.example/", "http://", "(", ")", ".", " ")), max_size=8
    ).map("".join)
)
html_like = body_like | st.lists(
    st.sampled_from(
        (
            "<a href='https://x.example/'>",
            "<area href=",
            "<p>",
            "</p>",
            "<script>",
            "<style>",
            "&amp;",
        )
    ),
    max_size=10,
).map("".join)


@PROPERTY
@given(
    subject=st.none() | arbitrary_text,
    body=st.none() | body_like,
    body_html=st.none() | html_like,
    recipients=st.lists(
        st.sampled_from(("bob@ours.example", "ceo@ours.example")), min_size=1, max_size=2
    ),
)
def test_evaluation_never_raises_on_arbitrary_subjects_and_bodies(
    subject: str | None, body: str | None, body_html: str | None, recipients: list[str]
) -> None:
    message = Message(
        recipients=tuple(recipients),
        header_from="ann@partner.example",
        subject=subject,
        body=body,
        body_html=body_html,
    )
    verdict = evaluate(message, RICH_CONTENT_COMPILED)

    assert len(verdict.links) <= 100
    assert all(link.url.lower().startswith(("http:", "https:")) for link in verdict.links)
    assert len({link.url for link in verdict.links}) == len(verdict.links)
    for recipient in verdict.recipients:
        assert all(m.resource in RESOURCES and m.field in FIELDS for m in recipient.matches)
        assert recipient.rewrite_links is (recipient.recipient != "ceo@ours.example")


mime_headers = st.lists(
    st.sampled_from(
        (
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/plain; charset=x-unknown",
            "Content-Type: text/plain; charset=rot13",
            'Content-Type: text/plain; charset="',
            "Content-Type: text/html; charset=iso-2022-jp",
            'Content-Type: multipart/alternative; boundary="b"',
            "Content-Type: multipart/mixed",
            "Content-Type: message/rfc822",
            "Content-Transfer-Encoding: base64",
            "Content-Transfer-Encoding: quoted-printable",
            "Content-Transfer-Encoding: x-uuencode",
            "Content-Disposition: attachment",
            "Content-Disposition: inline; filename*=utf-8''%FF",
            "Subject: =?x-unknown?q?=FF?=",
            "Subject: =?utf-8?b?broken",
        )
    ),
    max_size=4,
)
mime_bodies = st.binary(max_size=80) | st.lists(
    st.sampled_from(
        (
            b"--b\r\n",
            b"--b--\r\n",
            b"Content-Type: text/html\r\n\r\n",
            b"<p>x</p>",
            b"=FF=\r\n",
            b"SGk=",
            b"\r\n",
        )
    ),
    max_size=10,
).map(b"".join)


@PROPERTY
@given(headers=mime_headers, body=mime_bodies)
def test_parse_message_reads_any_body_without_raising(headers: list[str], body: bytes) -> None:
    head = "\r\n".join(("From: ann@partner.example", "To: bob@ours.example", *headers))
    message = parse_message(head.encode() + b"\r\n\r\n" + body)
    assert message.body is None or isinstance(message.body, str)
    assert message.body_html is None or isinstance(message.body_html, str)
    assert message.subject is None or isinstance(message.subject, str)
    evaluate(message, RICH_CONTENT_COMPILED)
