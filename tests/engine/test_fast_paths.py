"""The engine's shortcuts agree with the long way round, and compiled settings free cleanly.

Each shortcut here skips a library call for the common case (IPv4 text, ASCII text, a body
that fits in the limit, plain header fields), does its work in compiled code (the Public
Suffix List look-up) or finds with str.find what a regex would (bare URLs); the long way is
written out in the test or is the library itself, so that a shortcut accepting or mapping
anything differently fails.
"""

from __future__ import annotations

import gc
import ipaddress
import re
import unicodedata
import weakref
from email import policy
from email.utils import getaddresses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from email_security.engine import (
    AllowPolicy,
    BlockedSender,
    Message,
    ProtectedDomain,
    Settings,
    TrustedDomain,
    compile_settings,
    evaluate,
)
from email_security.engine._body import MAX_LINKS, read_body
from email_security.engine._eml import plain_address, plain_text
from email_security.engine._names import (
    _PROTOTYPES,
    _PSL,
    ip_key,
    ip_value,
    private_suffix,
    skeleton,
)

MANY = settings(max_examples=2000, derandomize=True, deadline=None)

octets = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(("00", "01", "010", "0x1", "1a", " 1", "", "٣", "１")),
)
ip_texts = st.one_of(
    st.lists(octets, min_size=3, max_size=5).map(".".join),
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
    st.ip_addresses().map(lambda a: f"[{a}]"),
    st.ip_addresses(v=6).map(lambda a: a.exploded.upper()),
    st.ip_addresses(v=6).map(lambda a: f"{a}%eth0"),
    # IPv4-compatible and mapped values, which C and ipaddress write differently
    st.integers(0, 2**48).map(lambda value: str(ipaddress.IPv6Address(value))),
    st.text(alphabet="0123456789abcdef.:[] %", max_size=24),
    st.text(max_size=12),
)


def ip_the_long_way(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@MANY
@given(text=ip_texts)
def test_ip_key_reads_what_ipaddress_reads(text: str) -> None:
    expected = ip_the_long_way(text)
    assert ip_key.__wrapped__(text) == expected
    value = ip_value(text)
    if expected is None:
        assert value is None
    else:
        assert value == (expected.version, int(expected), str(expected))


def skeleton_the_long_way(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(_PROTOTYPES.get(char, char) for char in decomposed)
    return unicodedata.normalize("NFD", mapped)


@MANY
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(max_size=16))
def test_skeleton_of_ascii_text_is_the_tr39_skeleton(text: str) -> None:
    assert skeleton.__wrapped__(text) == skeleton_the_long_way(text)


# Names built around the list's own rules (exceptions, wildcards, multi-label suffixes),
# in any case, with empty labels and trailing dots.
RULES = sorted(_PSL._publicsuffix)
labels = st.sampled_from(("www", "city", "mail", "kobe", "jp", "co", "uk", "ck", "x", "Ab-c"))
suffixes = st.sampled_from(RULES).map(lambda rule: rule.lstrip("!").removeprefix("*."))
domain_names = st.builds(
    lambda prefix, suffix, end: ".".join([*prefix, suffix]) + end,
    st.lists(labels | st.text(alphabet="abcXYZ-", max_size=4), max_size=3),
    suffixes | labels | st.text(alphabet="abc.", max_size=8),
    st.sampled_from(("", "", ".", "..")),
)


@MANY
@given(domain=domain_names)
def test_private_suffix_is_the_public_suffix_lists(domain: str) -> None:
    assert private_suffix(domain) == _PSL.privatesuffix(domain)


def test_replaced_settings_are_freed_without_a_garbage_collection() -> None:
    """Compiled settings hold caches of their look-ups: none may refer back to them, or a
    replaced index (hundreds of MB for a big account) would live until a full collection.

    Compiled classes take no weak reference: one to a cache that only the compiled settings
    hold tells when they are freed."""
    compiled = compile_settings(
        Settings(
            domains=(ProtectedDomain("dom-ours", "ours.example"),),
            allow_policies=(AllowPolicy("a", "partner.example", "DOMAIN", is_trusted_sender=True),),
            block_senders=(BlockedSender("b", r".*@evil\.example", "EMAIL", is_regex=True),),
            trusted_domains=(TrustedDomain("t", "partner.example"),),
        )
    )
    evaluate(
        Message(
            recipients=("bob@ours.example",),
            header_from="Ann <ann@evil.example>",
            reply_to="ann@partner.example",
            client_ip="192.0.2.7",
        ),
        compiled,
    )
    freed = weakref.ref(compiled.sender_address)
    gc.disable()
    try:
        del compiled
        assert freed() is None
    finally:
        gc.enable()


# Networks and addresses in a few small neighbourhoods, so that they often meet; prefix
# lengths on both sides of the /16 (IPv4) and /32 (IPv6) blocks the table files them by.
v4_networks = st.builds(
    lambda base, offset, prefix: ipaddress.IPv4Network((base + offset, prefix), strict=False),
    st.sampled_from((0xC0000200, 0xC6336400, 0x0A000000)),
    st.integers(0, 0x1FFFF),
    st.integers(8, 32),
)
v6_networks = st.builds(
    lambda offset, prefix: ipaddress.IPv6Network((0x20010DB8 << 96 | offset, prefix), strict=False),
    st.integers(0, 1 << 80),
    st.integers(16, 128),
)


@MANY
@given(
    networks=st.lists(v4_networks | v6_networks, min_size=1, max_size=8),
    probe=st.integers(0, 7),
    offset=st.integers(-(1 << 12), 1 << 12),
)
def test_ip_entries_match_exactly_the_networks_holding_the_address(
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], probe: int, offset: int
) -> None:
    near = networks[probe % len(networks)]
    value = int(near.network_address) + offset
    address = ipaddress.ip_address(max(0, min(value, 2**near.max_prefixlen - 1)))
    if address.version != near.version:
        address = near.network_address
    blocked = tuple(
        BlockedSender(f"block-{i}", str(network), "IP") for i, network in enumerate(networks)
    )
    message = Message(recipients=("bob@ours.example",), client_ip=str(address))
    (verdict,) = evaluate(message, compile_settings(Settings(block_senders=blocked))).recipients

    expected = {
        entry.id
        for entry, network in zip(blocked, networks, strict=True)
        if network.version == address.version and address in network
    }
    assert {m.id for m in verdict.matches} == expected


def test_cached_look_ups_of_unknown_senders_are_left_to_reference_counting() -> None:
    """The caches turn over with every new sender: what they keep for one that matched
    nothing must not be tracked by the collector, or the churn would bring on full
    collections, each walking every object of a big index."""
    compiled = compile_settings(
        Settings(
            domains=(ProtectedDomain("dom-ours", "ours.example"),),
            block_senders=(BlockedSender("b", "evil.example", "DOMAIN"),),
        )
    )
    message = Message(
        recipients=("bob@ours.example",), header_from="ann@nowhere.example", client_ip="192.0.2.7"
    )
    evaluate(message, compiled)
    # A tuple holding only untracked objects is untracked during a collection; one that
    # holds such a tuple may have to wait for the next.
    gc.collect()
    gc.collect()

    assert not gc.is_tracked(compiled.sender_address("ann@nowhere.example"))
    assert not gc.is_tracked(compiled.match_ip("192.0.2.7"))
    assert gc.is_tracked(compiled.sender_address("eve@evil.example"))  # holds an entry


# --- the body: bare URLs and the cut --------------------------------------------------------------

# The long way round: a regex search with a look-behind for the scheme's start, and a trim
# that counts brackets afresh at every step.
BARE_URL_THE_LONG_WAY = re.compile(r"(?<![\w+.-])[hH][tT][tT][pP][sS]?://[^\s<>\"\x00-\x1f\x7f]+")
OPENERS = {")": "(", "]": "[", "}": "{"}


def bare_urls_the_long_way(text: str) -> list[str]:
    found: dict[str, None] = {}
    for match in BARE_URL_THE_LONG_WAY.finditer(text):
        url = match.group()
        while url and (
            url[-1] in ".,;:!?'\""
            or (url[-1] in OPENERS and url.count(url[-1]) > url.count(OPENERS[url[-1]]))
        ):
            url = url[:-1]
        if url.partition("://")[2]:
            found[url] = None
    return list(found)[:MAX_LINKS]


url_texts = st.lists(
    st.sampled_from(
        ("http", "HTTPS", "hTtp", "s", "://", "x", "é", "_", "-", ".", ",", "!", "'", '"', "(",
         ")", "[", "]", "}", "<", ">", " ", "\n", "\x00", "\u00a0", "/", "?q=1", "a.example"),
    ),
    max_size=40,
).map("".join)  # fmt: skip


@MANY
@given(text=url_texts | st.text(max_size=60))
def test_bare_urls_are_those_the_regex_finds(text: str) -> None:
    assert read_body(text, None, 10_000, False).urls == bare_urls_the_long_way(text)


HTML_TAGS = ("p", "div", "br", "td", "tr", "table", "li", "b", "span", "script", "style",
             "template", "select", "option", "pre", "textarea", "html", "body")  # fmt: skip
HTML_ODDITIES = ("&amp;", "&nvlt;", "&NotEqualTilde;", "&#x1F600;", "\r\n", "\x00", "<!--c-->")
html_soups = st.lists(
    st.one_of(
        st.sampled_from(HTML_TAGS).flatmap(lambda t: st.sampled_from((f"<{t}>", f"</{t}>"))),
        st.sampled_from(HTML_ODDITIES),
        st.text(alphabet="ab <&\n", max_size=4),
    ),
    max_size=30,
).map("".join)


@MANY
@given(
    plain=st.none() | st.text(alphabet="ab\n", max_size=30),
    html=html_soups,
    limit=st.integers(0, 60),
)
def test_body_truncated_is_the_same_whether_the_text_is_read_or_not(
    plain: str | None, html: str, limit: int
) -> None:
    """Without a policy reading the body, the HTML's text is worked out only when the HTML
    alone could overflow the limit: it must never be longer than the HTML."""
    with_text = read_body(plain, html, limit, True)
    assert read_body(plain, html, limit, False).truncated == with_text.truncated
    assert with_text.text is not None
    assert len(with_text.text) <= limit


# Pieces of header sources: plain words and addresses, and everything that makes a source
# other than plain (folding, encoded words, 8-bit and control characters, quoting,
# comments, groups, lists).
HEADER_PIECES = (
    "Jane", "Doe", "o'neil", "x+y", "J.R.", "a@b.example", "jane.doe@mail.example",
    "<a@b.example>", "<", ">", "@", ".", "..", ",", ";", ":", '"', '"Doe, J"', "\\",
    "(comment)", "(", ")", "[1.2.3.4]", " ", "  ", "\t", "\r\n ", "\r\n\t", "\n", "\r",
    "=?utf-8?q?caf=C3=A9?=", "=?", "?=", "\u00e9", "\x00", "\x7f", "\x0b", "\udce9",
)  # fmt: skip
header_sources = st.lists(st.sampled_from(HEADER_PIECES), max_size=12).map("".join) | st.text(
    max_size=20
)
plain_sources = st.lists(
    st.sampled_from(("Jane", "Doe", "x+y", "a@b.example", "<c.d@e.example>", " ", "\t", "\r\n ")),
    max_size=8,
).map("".join)


def registry(name: str, raw: str) -> Any:
    """The header registry's object for a field's source, as EmailMessage.get gives it."""
    return policy.default.header_fetch_parse(name, raw)


@MANY
@given(raw=header_sources | plain_sources)
def test_plain_text_is_the_registrys_text(raw: str) -> None:
    text = plain_text(raw)
    if text is not None:
        for name in ("Subject", "Received", "Authentication-Results", "Return-Path"):
            assert text == str(registry(name, raw))


@MANY
@given(raw=header_sources | plain_sources)
def test_plain_address_is_the_registrys_first_address(raw: str) -> None:
    text = plain_text(raw)
    address = plain_address(text) if text is not None else None
    if address is not None:
        for name in ("From", "Reply-To"):
            first = next(a for a in registry(name, raw).addresses if "@" in a.addr_spec)
            assert address == (first.display_name, first.addr_spec)
        assert address[1] == getaddresses([text])[0][1]  # as Return-Path is read


def test_plain_sources_take_the_plain_paths() -> None:
    assert plain_text("Quarterly\r\n figures") == "Quarterly figures"
    assert plain_address("Jane \t Doe <jane@mail.example>") == ("Jane Doe", "jane@mail.example")
    assert plain_address("<jane@mail.example>") == ("", "jane@mail.example")
    assert plain_text("caf\u00e9") is None
    assert plain_text("=?utf-8?q?caf=C3=A9?=") is None
    assert plain_address('"Doe, J" <jane@mail.example>') is None
