"""Pattern indexes: hash sets for exact addresses and domain suffixes, a per-prefix-length
table for CIDRs, and one RE2 set per kind of field for regexes."""

from __future__ import annotations

import contextlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, TypeVar

import re2

from email_security.engine._names import address_key, domain_key, ip_key, parent_domains
from email_security.patterns import IPAddress, parse_network

E = TypeVar("E")

# RE2 sets of tens of thousands of patterns need more than the default 8 MiB.
_REGEX_MEMORY = 1 << 30


class RegexSet(Generic[E]):
    """Full-match, case-insensitive RE2 set: one pass over the text, whatever the count."""

    def __init__(self) -> None:
        options = re2.Options()
        options.case_sensitive = False
        options.max_mem = _REGEX_MEMORY
        self._set = re2.Set.FullMatchSet(options)
        self._entries: list[E] = []

    def add(self, pattern: str, entry: E) -> bool:
        try:
            self._set.Add(pattern)
        except re2.error:
            return False  # refused when written; an imported oddity must not break the rest
        self._entries.append(entry)
        return True

    def compile(self) -> None:
        if self._entries:
            self._set.Compile()

    def match(self, text: str) -> list[E]:
        if not self._entries:
            return []
        return [self._entries[i] for i in self._set.Match(text) or ()]


class NetworkTable(Generic[E]):
    """Addresses and CIDRs, looked up by masking the address once per prefix length in use."""

    def __init__(self) -> None:
        self._by_prefix: dict[tuple[int, int], dict[int, list[E]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def add(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, entry: E) -> None:
        table = self._by_prefix[(network.version, network.prefixlen)]
        table[int(network.network_address)].append(entry)

    def match(self, address: IPAddress) -> list[E]:
        found: list[E] = []
        bits = 32 if address.version == 4 else 128
        value = int(address)
        for (version, prefix), table in self._by_prefix.items():
            if version != address.version:
                continue
            masked = value >> (bits - prefix) << (bits - prefix) if prefix else 0
            found.extend(table.get(masked, ()))
        return found


class PatternIndex(Generic[E]):
    """Entries keyed by an EMAIL, DOMAIN or IP pattern, literal or regex."""

    def __init__(self, entries: Iterable[tuple[E, str, str, bool]]) -> None:
        self._addresses: dict[str, list[E]] = defaultdict(list)
        self._domains: dict[str, list[E]] = defaultdict(list)
        self._networks: NetworkTable[E] = NetworkTable()
        self._regexes: dict[str, RegexSet[E]] = {
            "EMAIL": RegexSet(),
            "DOMAIN": RegexSet(),
            "IP": RegexSet(),
        }
        for entry, pattern, pattern_type, is_regex in entries:
            self._add(entry, pattern, pattern_type, is_regex)
        for regexes in self._regexes.values():
            regexes.compile()

    def _add(self, entry: E, pattern: str, pattern_type: str, is_regex: bool) -> None:
        if pattern_type not in self._regexes:
            return  # UNKNOWN: a legacy type with no defined meaning
        if is_regex:
            self._regexes[pattern_type].add(pattern, entry)
        elif pattern_type == "EMAIL":
            self._addresses[address_key(pattern)].append(entry)
        elif pattern_type == "DOMAIN":
            self._domains[domain_key(pattern)].append(entry)
        else:
            with contextlib.suppress(ValueError):  # refused when written
                self._networks.add(parse_network(pattern), entry)

    def match_address(self, address: str) -> list[E]:
        """Entries matching a normalised address: EMAIL patterns, then DOMAIN patterns."""
        found = list(self._addresses.get(address, ()))
        found += self._regexes["EMAIL"].match(address)
        found += self.match_domain(address.rpartition("@")[2])
        return found

    def match_domain(self, domain: str) -> list[E]:
        """DOMAIN patterns equal to the domain or a parent of it, and DOMAIN regexes."""
        found: list[E] = []
        if self._domains:
            for name in parent_domains(domain):
                found += self._domains.get(name, ())
        found += self._regexes["DOMAIN"].match(domain)
        return found

    def match_ip(self, text: str) -> list[E]:
        address = ip_key(text)
        if address is None:
            return []
        return self._networks.match(address) + self._regexes["IP"].match(str(address))
