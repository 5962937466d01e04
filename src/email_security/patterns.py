"""Validation and normalisation of EMAIL, DOMAIN and IP patterns and RE2 regexes.

Pure Python: shared by the API (when a pattern is written) and the policy engine (when a
message is evaluated), so both agree on what a pattern means.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

import email_validator
import idna
import re2
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import ATEXT, CASE_INSENSITIVE_MAILBOX_NAMES

PatternType = Literal["EMAIL", "DOMAIN", "IP", "UNKNOWN"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Address blocks that are never a public mail source (IANA special-purpose registries).
# A CIDR overlapping any of them is refused, not only one inside them. The documentation
# ranges (192.0.2.0/24, 2001:db8::/32, ...) stay allowed so that documented examples work.
_NON_GLOBAL_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


class PatternError(ValueError):
    """A pattern that is not valid for its type; the message is safe to show users."""


# Fast paths. email-validator and idna check every character against Unicode tables (about
# 100 µs an address, 30 µs a host name), and `ipaddress` builds objects to compare with
# each block; most patterns are plain ASCII host names, addresses and IPv4 addresses, for
# which the outcome is known from their shape alone (a few µs). A text of the shapes below
# gets the answer the full validators would give (tests/test_patterns_fast_path.py holds
# the two equal); anything else, and everything refused, goes to them, so that they word
# the refusal.
#
# A host name: letter-digit-hyphen labels of 1 to 63 characters, not starting or ending
# with a hyphen. "--" anywhere (an A-label "xn--", or the hyphens in 3rd and 4th place
# that IDNA refuses) takes the full path.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_FAST_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")
# An address: an unquoted dot-atom local part (RFC 5322, as email-validator's own
# DOT_ATOM_TEXT), one "@", and a host name of two labels or more ending with a letter.
_FAST_ADDRESS = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@((?:{_LABEL}\.)+{_LABEL})")
_CASE_INSENSITIVE_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
# Top-level labels of the special-use names email-validator refuses (it reads the list when
# it runs; a name under any of these takes the full path).
_SPECIAL_USE_TOPS = frozenset(
    name.rsplit(".", 1)[-1].lower() for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_FAST_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_NON_GLOBAL_IPV4_RANGES = tuple(
    (int(block.network_address), int(block.broadcast_address))
    for block in _NON_GLOBAL_NETWORKS
    if block.version == 4
)


def _fast_ip(text: str) -> str | None:
    """`text` (stripped) if it is a dotted-quad IPv4 address without leading zeros outside
    every non-global block (its canonical form is itself); None: ask `ipaddress`."""
    if _FAST_IPV4.fullmatch(text) is None:
        return None
    a, b, c, d = map(int, text.split("."))
    value = a << 24 | b << 16 | c << 8 | d
    for start, end in _NON_GLOBAL_IPV4_RANGES:
        if start <= value <= end:
            return None
    return text


def _fast_domain(name: str) -> str | None:
    """`name` (stripped, without its trailing dot) in normalised form if it is a plain
    ASCII host name that IDNA accepts unchanged but for case; None: ask IDNA."""
    if (
        len(name) > 253
        or not name.isascii()
        or "--" in name
        or _FAST_HOST.fullmatch(name) is None
        or name.rsplit(".", 1)[-1].isdigit()
    ):
        return None
    return name.lower()


def _fast_email(address: str) -> str | None:
    """`address` (stripped) in normalised form if it is a plain ASCII address that
    email-validator accepts; None: ask email-validator."""
    if len(address) > 254 or not address.isascii():
        return None
    match = _FAST_ADDRESS.fullmatch(address)
    if match is None:
        return None
    local, domain = match.groups()
    if len(domain) > 253 or "--" in domain:
        return None
    domain = domain.lower()
    top = domain.rsplit(".", 1)[-1]
    if not top[-1].isalpha() or top in _SPECIAL_USE_TOPS:
        return None
    if local.lower() in _CASE_INSENSITIVE_MAILBOXES:  # RFC 2142 names: case folded
        local = local.lower()
    return f"{local}@{domain}"


def normalise_domain(text: str) -> str:
    """A hostname in lower-case A-label form (UTS 46), without a trailing dot."""
    name = text.strip()
    if name.endswith("."):
        name = name[:-1]
    fast = _fast_domain(name)
    return fast if fast is not None else _library_domain(name)


def _library_domain(name: str) -> str:
    """normalise_domain the long way (IDNA), for a name stripped of its trailing dot."""
    if not name:
        raise PatternError("must be a domain name")
    try:
        ascii_name = idna.encode(name, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise PatternError(f"is not a valid domain name ({exc})") from None
    if len(ascii_name) > 253:
        raise PatternError("is not a valid domain name (longer than 253 characters)")
    if ascii_name.rsplit(".", 1)[-1].isdigit():
        raise PatternError("is not a valid domain name (looks like an IP address)")
    return ascii_name


def normalise_email(text: str) -> str:
    """An address with its domain in lower-case A-label form; the local part is kept."""
    address = text.strip()
    fast = _fast_email(address)
    return fast if fast is not None else _library_email(address)


def _library_email(address: str) -> str:
    """normalise_email the long way (email-validator), for a stripped address."""
    try:
        parsed = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PatternError(f"is not a valid email address ({exc})") from None
    return f"{parsed.local_part}@{parsed.ascii_domain}"


def parse_ip(text: str) -> IPAddress:
    """An IP address; IPv4-mapped IPv6 addresses become plain IPv4."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_network(text: str) -> IPNetwork:
    """An address or CIDR as a network; an IPv4-mapped IPv6 network becomes IPv4."""
    network = ipaddress.ip_network(text.strip(), strict=False)
    if isinstance(network, ipaddress.IPv6Network):
        mapped = network.network_address.ipv4_mapped
        if mapped is not None and network.prefixlen >= 96:
            return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
    return network


def normalise_ip(text: str) -> str:
    """A globally routable address or CIDR in canonical form (host bits cleared)."""
    fast = _fast_ip(text.strip())
    return fast if fast is not None else _library_ip(text)


def _library_ip(text: str) -> str:
    """normalise_ip the long way (ipaddress)."""
    try:
        network = parse_network(text)
    except ValueError:
        raise PatternError("is not a valid IP address or CIDR") from None
    for block in _NON_GLOBAL_NETWORKS:
        if block.version == network.version and network.overlaps(block):
            raise PatternError(
                f"is not a globally routable address (it overlaps {block}: private, "
                "loopback, link-local, unspecified, multicast, broadcast or reserved)"
            )
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


_CHECK_OPTIONS = re2.Options()
_CHECK_OPTIONS.log_errors = False  # refusing a pattern is not an error of the service


def check_regex(text: str) -> str:
    """The pattern unchanged, if RE2 compiles it."""
    try:
        re2.compile(text, _CHECK_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"is not a valid RE2 regular expression ({reason})") from None
    return text


def normalise_pattern(pattern: str, pattern_type: str, is_regex: bool) -> str:
    """The stored form of a pattern of the given type, or PatternError."""
    if is_regex:
        return check_regex(pattern)
    if pattern_type == "EMAIL":
        return normalise_email(pattern)
    if pattern_type == "DOMAIN":
        return normalise_domain(pattern)
    if pattern_type == "IP":
        return normalise_ip(pattern)
    raise PatternError(f"pattern_type {pattern_type} cannot be used for new patterns")


def is_subdomain(name: str, parent: str) -> bool:
    """True when `name` lies strictly below `parent` on a label boundary (both normalised)."""
    return name.endswith("." + parent)
