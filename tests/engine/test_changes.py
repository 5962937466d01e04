"""apply_changes: compiled settings with a change applied evaluate every message exactly as
the changed settings compiled afresh do.

The property draws settings and messages from the vocabulary of test_properties, then
several rounds of creates, updates and deletes across every group (with expiries, and the
clock moving on), each applied to the previous round's result.
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from email_security.engine import (
    AllowPolicy,
    BlockedSender,
    CompiledSettings,
    ContentPolicy,
    ImpersonationEntry,
    Message,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    UrlIgnorePattern,
    apply_changes,
    compile_settings,
    evaluate,
)
from tests.engine.test_properties import (
    NAMES,
    NETWORKS,
    OUR_DOMAINS,
    PROPERTY,
    SENDER_DOMAINS,
    accounts,
    any_drop_dispositions,
    content_patterns,
    content_policy_lists,
    content_texts,
    link_urls,
    messages,
    patterns,
    recipient_addresses,
    sender_addresses,
    url_pattern_lists,
)

NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
SOON = NOW + timedelta(hours=1)
LATER = NOW + timedelta(hours=2)
LAST = NOW + timedelta(hours=3)
# The instants each round may move the clock to (never back).
CLOCK = (NOW, NOW + timedelta(minutes=30), SOON, SOON + timedelta(minutes=30), LATER, LAST)
GROUPS = tuple(group.name for group in fields(Settings) if group.name != "version")

expiries = st.sampled_from((None, None, None, SOON, LATER, LAST))

# --- one entry of each group, its id still to be given ---------------------------------------

exempt_patterns = st.one_of(
    st.tuples(recipient_addresses, st.just("EMAIL")),
    st.tuples(st.sampled_from((*OUR_DOMAINS, "elsewhere.example")), st.just("DOMAIN")),
)
allow_policies = st.one_of(
    st.builds(
        lambda pattern, role, verify, expires_at: AllowPolicy(
            "",
            pattern[0],
            pattern[1],
            is_regex=pattern[2],
            is_trusted_sender=role == "trusted",
            is_acceptable_sender=role == "acceptable",
            verify_sender=verify,
            expires_at=expires_at,
        ),
        patterns,
        st.sampled_from(("trusted", "acceptable", "none")),
        st.booleans(),
        expiries,
    ),
    st.builds(
        lambda pattern, trusted, expires_at: AllowPolicy(
            "",
            *pattern,
            is_exempt_recipient=True,
            is_trusted_sender=trusted,
            expires_at=expires_at,
        ),
        exempt_patterns,
        st.booleans(),
        expiries,
    ),
)
blocked_senders = st.builds(
    lambda pattern, expires_at: BlockedSender(
        "", pattern[0], pattern[1], is_regex=pattern[2], expires_at=expires_at
    ),
    patterns,
    expiries,
)
trusted_domains = st.builds(
    lambda domain, recent, similarity, expires_at: TrustedDomain(
        "", domain, is_recent=recent, is_similarity=similarity, expires_at=expires_at
    ),
    st.sampled_from(SENDER_DOMAINS) | st.just(r"(.+\.)?partner\.example"),
    st.booleans(),
    st.booleans(),
    expiries,
).map(lambda entry: replace(entry, is_regex="\\" in entry.pattern))
impersonation_entries = st.one_of(
    st.builds(
        lambda name, addresses, expires_at: ImpersonationEntry(
            "", name, ", ".join(addresses), expires_at=expires_at
        ),
        st.sampled_from(NAMES),
        st.lists(sender_addresses, min_size=1, max_size=2),
        expiries,
    ),
    st.builds(
        lambda name, expires_at: ImpersonationEntry(
            "", name, r"ann@.*\.example", is_email_regex=True, expires_at=expires_at
        ),
        st.sampled_from(NAMES),
        expiries,
    ),
)
protected_domains = st.builds(
    lambda domain, networks, hops, drops, expires_at: ProtectedDomain(
        "",
        domain,
        ip_restrictions=tuple(networks),
        lookback_hops=hops,
        drop_dispositions=drops,
        expires_at=expires_at,
    ),
    st.sampled_from((*OUR_DOMAINS, "contoso.com")),
    st.lists(st.sampled_from(NETWORKS), unique=True, max_size=2),
    st.integers(1, 3),
    any_drop_dispositions,
    expiries,
)
sending_domain_restrictions = st.builds(
    lambda domain, exclude, expires_at: SendingDomainRestriction(
        "", domain, exclude=tuple(exclude), expires_at=expires_at
    ),
    st.sampled_from(SENDER_DOMAINS),
    st.lists(st.sampled_from(SENDER_DOMAINS), max_size=2),
    expiries,
)
content_policies = st.builds(
    lambda pattern, targets, enabled, expires_at: ContentPolicy(
        "", "policy", pattern, targets, enabled, expires_at=expires_at
    ),
    content_patterns,
    st.sampled_from((("SUBJECT",), ("BODY",), ("SUBJECT", "BODY"))),
    st.booleans(),
    expiries,
)
url_ignore_patterns = st.builds(
    lambda entries, expires_at: replace(entries[0], id="", expires_at=expires_at),
    url_pattern_lists,
    expiries,
)
ENTRIES: dict[str, st.SearchStrategy[Any]] = {
    "allow_policies": allow_policies,
    "block_senders": blocked_senders,
    "trusted_domains": trusted_domains,
    "impersonation_registry": impersonation_entries,
    "domains": protected_domains,
    "sending_domain_restrictions": sending_domain_restrictions,
    "content_policies": content_policies,
    "url_ignore_patterns": url_ignore_patterns,
}

# Settings of test_properties with content policies, URL ignore patterns and expiries added.
initial_settings = st.builds(
    lambda account, policies, ignores: replace(
        account, content_policies=policies, url_ignore_patterns=ignores
    ),
    accounts(any_drop_dispositions),
    st.just(()) | content_policy_lists,
    st.just(()) | url_pattern_lists,
)
mail = st.builds(
    lambda message, subject, body, urls: replace(
        message,
        subject=subject,
        body=body,
        body_html="".join(f'<a href="{url}">x</a>' for url in urls) or None,
    ),
    messages,
    st.none() | content_texts,
    st.none() | content_texts,
    st.lists(link_urls, max_size=2),
)


def with_expiries(settings: Settings, data: st.DataObject) -> Settings:
    return replace(
        settings,
        **{
            group: tuple(
                replace(entry, expires_at=data.draw(expiries, label="expiry"))
                for entry in getattr(settings, group)
            )
            for group in GROUPS
        },
    )


def changed(settings: Settings, upserts: Settings, removed: frozenset[str]) -> Settings:
    """The definition apply_changes follows: ids removed or upserted taken out of each
    group, then the group's upserts appended."""
    gone = removed | {entry.id for group in GROUPS for entry in getattr(upserts, group)}
    return replace(
        settings,
        **{
            group: tuple(e for e in getattr(settings, group) if e.id not in gone)
            + getattr(upserts, group)
            for group in GROUPS
        },
    )


def ids_of(settings: Settings) -> list[str]:
    return [entry.id for group in GROUPS for entry in getattr(settings, group)]


def group_of(settings: Settings, entry_id: str) -> str:
    return next(g for g in GROUPS if any(e.id == entry_id for e in getattr(settings, g)))


@PROPERTY
@given(initial=initial_settings, letters=st.lists(mail, min_size=1, max_size=3), data=st.data())
def test_applied_changes_evaluate_as_the_changed_settings_compiled_afresh(
    initial: Settings, letters: list[Message], data: st.DataObject
) -> None:
    thresholds = Thresholds(malicious_days=5, suspicious_days=20)
    settings = with_expiries(initial, data)
    current = compile_settings(settings, thresholds, NOW)
    now = NOW
    for round_ in range(data.draw(st.integers(1, 4), label="rounds")):
        now = data.draw(st.sampled_from([t for t in CLOCK if t >= now]), label="now")
        existing = ids_of(settings)
        upserts: dict[str, list[Any]] = {group: [] for group in GROUPS}
        for i in range(data.draw(st.integers(0, 3), label="creates")):
            group = data.draw(st.sampled_from(GROUPS), label="created in")
            entry = data.draw(ENTRIES[group], label="created")
            upserts[group].append(replace(entry, id=f"new-{round_}-{i}"))
        updated = data.draw(
            st.lists(st.sampled_from(existing), unique=True, max_size=2)
            if existing
            else st.just([]),
            label="updated",
        )
        for entry_id in updated:
            group = group_of(settings, entry_id)
            upserts[group].append(replace(data.draw(ENTRIES[group], label="update"), id=entry_id))
        removed = set(
            data.draw(
                st.lists(st.sampled_from([*existing, "unknown"]), max_size=3),
                label="removed",
            )
        )
        if updated and data.draw(st.booleans(), label="an updated id removed too"):
            removed.add(updated[0])
        change = Settings(**{group: tuple(entries) for group, entries in upserts.items()})
        version = settings.version + 1
        settings = replace(changed(settings, change, frozenset(removed)), version=version)

        current = apply_changes(current, version, change, frozenset(removed), now)
        fresh = compile_settings(settings, thresholds, now)

        assert current.version == version
        assert current.valid_until == fresh.valid_until
        later = data.draw(st.sampled_from([t for t in CLOCK if t >= now]), label="evaluated at")
        for message in letters:
            for at in (now, later):
                assert evaluate(message, current, at) == evaluate(message, fresh, at)
            same_look_ups(message, current, fresh)


def same_look_ups(message: Message, layered: CompiledSettings, fresh: CompiledSettings) -> None:
    """The layered indexes answer what the fresh ones do, in the same order (more than a
    verdict shows: it reads each group of a look-up's answer on its own)."""
    for address in (message.envelope_from, message.header_from, message.reply_to):
        if address is not None:
            assert layered.sender_address(address) == fresh.sender_address(address)
    for ip in (message.client_ip, *message.received_ips):
        if ip is not None:
            assert layered.match_ip(ip) == fresh.match_ip(ip)
    for recipient in message.recipients:
        ours, theirs = layered.recipient(recipient), fresh.recipient(recipient)
        assert (ours.exempt, ours.protected) == (theirs.exempt, theirs.protected)


# --- focused ------------------------------------------------------------------------------------

OURS = ProtectedDomain("dom-ours", "ours.example")
BLOCK_EVIL = BlockedSender("block-evil", "evil.example", "DOMAIN")
TRUST_PARTNER = AllowPolicy("allow-partner", "partner.example", "DOMAIN", is_trusted_sender=True)
BASE = Settings(domains=(OURS,), block_senders=(BLOCK_EVIL,), allow_policies=(TRUST_PARTNER,))


def letter(sender: str, **more: Any) -> Message:
    return Message(recipients=("bob@ours.example",), header_from=sender, **more)


def judged(compiled: CompiledSettings, sender: str, **more: Any) -> tuple[str, str, list[str]]:
    (verdict,) = evaluate(letter(sender, **more), compiled, NOW).recipients
    return verdict.disposition, verdict.action, [m.id for m in verdict.matches]


def test_a_removed_blocked_sender_no_longer_matches() -> None:
    compiled = compile_settings(BASE, now=NOW)
    assert judged(compiled, "eve@evil.example")[2] == ["block-evil"]

    after = apply_changes(compiled, 2, Settings(), frozenset({"block-evil"}), NOW)

    assert judged(after, "eve@evil.example") == ("NONE", "deliver", [])
    assert judged(compiled, "eve@evil.example")[2] == ["block-evil"]  # the base is unchanged
    assert evaluate(letter("eve@evil.example"), after, NOW).settings_version == 2


def test_an_updated_pattern_matches_by_its_new_value_only() -> None:
    compiled = compile_settings(BASE, now=NOW)
    moved = replace(BLOCK_EVIL, pattern="worse.example")

    after = apply_changes(compiled, 2, Settings(block_senders=(moved,)), frozenset(), NOW)

    assert judged(after, "eve@evil.example") == ("NONE", "deliver", [])
    assert judged(after, "eve@worse.example") == ("MALICIOUS", "quarantine", ["block-evil"])


def test_a_protected_domains_drop_dispositions_change_applies() -> None:
    compiled = compile_settings(BASE, now=NOW)
    assert judged(compiled, "eve@evil.example")[:2] == ("MALICIOUS", "quarantine")
    dropping = replace(OURS, drop_dispositions=("MALICIOUS",))

    after = apply_changes(compiled, 2, Settings(domains=(dropping,)), frozenset(), NOW)

    assert judged(after, "eve@evil.example")[:2] == ("MALICIOUS", "drop")
    assert after.senders is compiled.senders  # no sender pattern changed: nothing layered
    assert after.delta_size == 0


def test_an_upserted_entry_expires() -> None:
    compiled = compile_settings(BASE, now=NOW)
    blocked = BlockedSender("block-bad", "bad.example", "DOMAIN", expires_at=SOON)

    after = apply_changes(compiled, 2, Settings(block_senders=(blocked,)), frozenset(), NOW)

    assert after.valid_until == SOON
    (verdict,) = evaluate(letter("eve@bad.example"), after, NOW).recipients
    assert [m.id for m in verdict.matches] == ["block-bad"]
    (verdict,) = evaluate(letter("eve@bad.example"), after, SOON).recipients
    assert verdict.matches == ()
    assert after.in_force(SOON).valid_until is None
    assert after.in_force(SOON) is after.in_force(SOON + timedelta(seconds=1))  # remembered
    # Applied after it expired, it never counts.
    late = apply_changes(compiled, 3, Settings(block_senders=(blocked,)), frozenset(), SOON)
    assert late.valid_until is None
    assert judged(late, "eve@bad.example") == ("NONE", "deliver", [])


def test_a_base_entry_expiring_after_a_change_expires_in_the_result() -> None:
    expiring = replace(BLOCK_EVIL, expires_at=SOON)
    compiled = compile_settings(replace(BASE, block_senders=(expiring,)), now=NOW)
    added = BlockedSender("block-bad", "bad.example", "DOMAIN", expires_at=LATER)

    after = apply_changes(compiled, 2, Settings(block_senders=(added,)), frozenset(), NOW)

    assert after.valid_until == SOON
    (verdict,) = evaluate(letter("eve@evil.example"), after, SOON).recipients
    assert verdict.matches == ()
    assert after.in_force(SOON).valid_until == LATER
    assert after.in_force(SOON).layers.base is compiled  # type: ignore[union-attr]


def test_changes_applied_twice_merge_into_one_delta_over_the_same_base() -> None:
    compiled = compile_settings(BASE, now=NOW)
    first = BlockedSender("block-1", "one.example", "DOMAIN")
    second = BlockedSender("block-2", "two.example", "DOMAIN")

    once = apply_changes(compiled, 2, Settings(block_senders=(first,)), frozenset(), NOW)
    twice = apply_changes(
        once, 3, Settings(block_senders=(second,)), frozenset({"block-evil"}), NOW
    )

    assert once.delta_size == 1
    assert twice.layers is not None
    assert twice.layers.base is compiled
    assert twice.delta_size == 3  # two entries created, one deleted
    assert judged(twice, "eve@one.example")[2] == ["block-1"]
    assert judged(twice, "eve@two.example")[2] == ["block-2"]
    assert judged(twice, "eve@evil.example")[2] == []
    thrice = apply_changes(twice, 4, Settings(), frozenset({"block-1"}), NOW)
    assert judged(thrice, "eve@one.example")[2] == []
    assert judged(thrice, "eve@two.example")[2] == ["block-2"]


def test_an_updated_entry_comes_after_the_others_of_its_group() -> None:
    """Settings order decides which trusted sender is named: an update moves the entry to
    the end of its group, as the changed settings compiled afresh put it."""
    other = AllowPolicy("allow-other", "partner.example", "DOMAIN", is_trusted_sender=True)
    settings = replace(BASE, allow_policies=(TRUST_PARTNER, other))
    compiled = compile_settings(settings, now=NOW)
    assert judged(compiled, "ann@partner.example")[2] == ["allow-partner", "allow-other"]
    update = replace(TRUST_PARTNER, is_acceptable_sender=True)

    after = apply_changes(compiled, 2, Settings(allow_policies=(update,)), frozenset(), NOW)

    fresh = compile_settings(replace(settings, allow_policies=(other, update)), now=NOW)
    assert judged(after, "ann@partner.example")[2] == ["allow-other", "allow-partner"]
    message = letter("ann@partner.example")
    assert evaluate(message, after, NOW).recipients == evaluate(message, fresh, NOW).recipients


def test_ip_matches_come_longest_prefix_first_whichever_came_first() -> None:
    wide = BlockedSender("block-wide", "192.0.2.0/24", "IP")
    narrow = BlockedSender("block-narrow", "192.0.2.7", "IP")
    message = letter("ann@partner.example", client_ip="192.0.2.7")
    for order in ((wide, narrow), (narrow, wide)):
        (verdict,) = evaluate(message, compile_settings(Settings(block_senders=order))).recipients
        assert [m.id for m in verdict.matches if m.field == "client_ip"] == [
            "block-narrow",
            "block-wide",
        ]
    compiled = compile_settings(Settings(block_senders=(wide,)), now=NOW)
    after = apply_changes(compiled, 2, Settings(block_senders=(narrow,)), frozenset(), NOW)
    (verdict,) = evaluate(message, after, NOW).recipients
    assert [m.id for m in verdict.matches if m.field == "client_ip"] == [
        "block-narrow",
        "block-wide",
    ]


def test_applied_changes_are_freed_without_a_garbage_collection() -> None:
    """As compiled settings are (test_fast_paths): nothing of a result refers back to it,
    and the result keeps its base alive, not the other way round."""
    compiled = compile_settings(
        replace(
            BASE,
            impersonation_registry=(ImpersonationEntry("imp", "Ann Lee", "ann@ours.example"),),
            url_ignore_patterns=(UrlIgnorePattern("url", r"https://x\.example/.*"),),
        )
    )
    change = Settings(
        block_senders=(BlockedSender("b", r".*@bad\.example", "EMAIL", is_regex=True),),
        impersonation_registry=(ImpersonationEntry("imp-2", "Carl Ho", "carl@ours.example"),),
        content_policies=(ContentPolicy("cp", "gift", "gift", ("SUBJECT",)),),
    )
    after = apply_changes(compiled, 2, change, frozenset({"block-evil"}))
    again = apply_changes(after, 3, Settings(), frozenset({"b"}))
    message = letter(
        "Ann Lee <ann@bad.example>",
        reply_to="ann@partner.example",
        client_ip="192.0.2.7",
        subject="gift",
    )
    evaluate(message, compiled)
    evaluate(message, after)
    evaluate(message, again)
    freed = weakref.ref(again.sender_address)
    freed_after = weakref.ref(after.sender_address)
    freed_base = weakref.ref(compiled.sender_address)
    gc.disable()
    try:
        del again
        assert freed() is None
        del compiled
        assert freed_base() is not None  # the result still stands on it
        del after
        assert freed_after() is None
        assert freed_base() is None
    finally:
        gc.enable()


def test_upserts_for_every_group_apply() -> None:
    compiled = compile_settings(BASE, now=NOW)
    change = Settings(
        trusted_domains=(TrustedDomain("t", "fresh.example", is_recent=True),),
        impersonation_registry=(ImpersonationEntry("imp", "Ann Lee", "ann@ours.example"),),
        sending_domain_restrictions=(SendingDomainRestriction("sdr", "partner.example"),),
        content_policies=(ContentPolicy("cp", "gift", "gift", ("SUBJECT",)),),
        url_ignore_patterns=(UrlIgnorePattern("url", r"https://x\.example/.*"),),
        allow_policies=(
            AllowPolicy("exempt", "carl@ours.example", "EMAIL", is_exempt_recipient=True),
        ),
    )
    after = apply_changes(compiled, 2, change, frozenset(), NOW)
    fresh = compile_settings(changed(BASE, change, frozenset()), now=NOW)
    for message in (
        letter("eve@fresh.example", header_from_name="Ann Lee", sender_domain_age_days=1),
        letter("ann@partner.example", tls=False, subject="gift"),
        replace(letter("x@evil.example"), recipients=("carl@ours.example", "bob@ours.example")),
        letter("x@y.example", body_html='<a href="https://x.example/a">a</a>'),
    ):
        verdict = evaluate(message, after, NOW)
        assert verdict.recipients == evaluate(message, fresh, NOW).recipients
        assert verdict.links == evaluate(message, fresh, NOW).links
        assert any(r.matches for r in verdict.recipients) or any(
            not link.rewrite for link in verdict.links
        )


def test_look_ups_keep_the_groups_in_order_across_the_layers() -> None:
    """Blocked senders, allow policies, trusted domains, each in settings order: in a
    look-up's answer as in an index built afresh, whichever layer an entry is in."""
    regex = BlockedSender("block-re", r"(.+\.)?partner\.example", "DOMAIN", is_regex=True)
    compiled = compile_settings(replace(BASE, block_senders=(regex,)), now=NOW)
    change = Settings(
        block_senders=(BlockedSender("block-partner", "partner.example", "DOMAIN"),),
        trusted_domains=(TrustedDomain("t-re", r".*\.example", is_regex=True),),
        allow_policies=(
            AllowPolicy("allow-re", r"(.+\.)?partner\.example", "DOMAIN", is_regex=True),
        ),
    )
    after = apply_changes(compiled, 2, change, frozenset(), NOW)
    fresh = compile_settings(changed(replace(BASE, block_senders=(regex,)), change, frozenset()))

    found = after.sender_address("ann@mail.partner.example")[2]
    assert [entry.id for entry in found] == [
        "block-partner",
        "allow-partner",
        "block-re",
        "allow-re",
        "t-re",
    ]
    assert found == fresh.sender_address("ann@mail.partner.example")[2]
