"""Pattern indexes: hash sets for exact addresses and domain suffixes, a per-prefix-length
table for CIDRs, and one RE2 set per kind of field for regexes."""

from __future__ import annotations

import contextlib
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

import re2

from email_security.engine._names import address_key, domain_key, ip_value, parent_domains
from email_security.patterns import parse_network

E = TypeVar("E")

# RE2 sets of tens of thousands of patterns need more than the default 8 MiB.
_REGEX_MEMORY = 1 << 30
# The Python binding of FilteredRE2 matches atoms with an RE2 set of the default 8 MiB, which
# tens of thousands of patterns outgrow: prefilters take this many patterns at most (a shard
# that still fails to compile is halved).
_PREFILTER_SHARD = 4096
# A text with more candidates than this goes to the set as it is, rather than checking each.
_CHECK_AT_MOST = 8
# The binding's Python wrappers cost more than the matching itself on short texts (a
# generator and span decoding per fullmatch): the hot path calls the C++ objects beneath them.
_FULL = re2._Anchor.ANCHOR_BOTH
_NO_MATCH = (-1, -1)


class RegexSet(Generic[E]):
    """Case-insensitive RE2 set: one pass over the text, whatever the count. Its patterns
    must full-match the text or, with `search`, be found anywhere in it (unanchored).

    RE2 builds a set's DFA lazily, and with thousands of patterns each text it has not seen
    before costs tens of µs to milliseconds of DFA construction. Most texts match no pattern
    and most of the rest match one, so a prefilter answers those; the set runs only when it
    cannot tell, or when several patterns match. A searching set has none: its texts are
    long (subjects, bodies) and its patterns few (content policies), so one pass of the set
    costs less than finding the atoms and then running each candidate over the text again.
    """

    def __init__(self, search: bool = False) -> None:
        options = re2.Options()
        options.case_sensitive = False
        options.max_mem = _REGEX_MEMORY
        self._options = options
        self._search = search
        self._set = re2.Set.SearchSet(options) if search else re2.Set.FullMatchSet(options)
        self._entries: list[E] = []
        self._patterns: list[str] = []  # until compiled
        self._prefilter: _Prefilter | None = None

    def add(self, pattern: str, entry: E) -> bool:
        try:
            self._set.Add(pattern)
        except re2.error:
            return False  # refused when written; an imported oddity must not break the rest
        self._entries.append(entry)
        self._patterns.append(pattern)
        return True

    def compile(self) -> None:
        if self._entries:
            self._set.Compile()
            if not self._search:
                self._prefilter = _Prefilter.build(self._patterns, self._options)
        self._patterns = []

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, text: str) -> list[E]:
        """The entries whose pattern matches, in the order they were added."""
        if not self._entries:
            return []
        found = self._prefilter.matches(text) if self._prefilter is not None else None
        if found is None or len(found) > 1:
            found = self._set.Match(text) or []
            if len(found) > 1:
                found.sort()  # the set answers in no particular order
        return [self._entries[i] for i in found]


class _Prefilter:
    """Which patterns of a set full-match a text, without the set's DFA.

    FilteredRE2 picks the patterns whose required literals (atoms) occur in the text, and each
    of those candidates is checked with its own RE2, the same engine and options as the set,
    so the answer is exact. Only ASCII texts are prefiltered: atoms are matched
    case-insensitively, and only there does that surely agree with the patterns' case folding.
    """

    def __init__(self, shards: list[tuple[int, re2.Filter, list[re2._Regexp]]]) -> None:
        # (index of the shard's first pattern, its C++ filter, the C++ RE2 of each pattern)
        self._shards = [
            (start, prefilter._filter, [regex._regexp for regex in regexes])
            for start, prefilter, regexes in shards
        ]

    @classmethod
    def build(cls, patterns: list[str], options: re2.Options) -> _Prefilter | None:
        """The prefilter, or None when RE2 cannot build one (the set then answers alone)."""
        shards = []
        pending = [
            (start, patterns[start : start + _PREFILTER_SHARD])
            for start in range(0, len(patterns), _PREFILTER_SHARD)
        ]
        while pending:
            start, chunk = pending.pop()
            prefilter = re2.Filter()
            try:
                for pattern in chunk:
                    prefilter.Add(pattern, options)
                prefilter.Compile()
            except re2.error:
                if len(chunk) == 1:
                    return None
                half = len(chunk) // 2
                pending += [(start, chunk[:half]), (start + half, chunk[half:])]
                continue
            shards.append((start, prefilter, [prefilter.re(i) for i in range(len(chunk))]))
        return cls(shards)

    def matches(self, text: str) -> list[int] | None:
        """Indexes of the patterns that full-match the text; None when it cannot tell."""
        if not text.isascii():
            return None
        data = text.encode("ascii")
        end = len(data)
        found = []
        for start, prefilter, regexes in self._shards:
            candidates = prefilter.Match(data, True)  # potential matches: atoms only
            if not candidates:
                continue
            if len(candidates) > _CHECK_AT_MOST:
                return None
            found += [
                start + i
                for i in candidates
                if regexes[i].Match(_FULL, data, 0, end)[0] != _NO_MATCH
            ]
        return found


# The prefix length of the blocks NetworkTable files longer prefixes by, per IP version.
_BLOCK_BITS = {4: 16, 6: 32}


class NetworkTable(Generic[E]):
    """Addresses and CIDRs, looked up by masking the address once per prefix length in use.

    Most addresses lie in no listed network: a set of the /16 (IPv4) or /32 (IPv6) blocks
    that hold a longer-prefix entry answers those with one probe instead of one per length.
    Matches come longest prefix first, then in the order added: an order that depends on
    the entries alone, not on which prefix length came first (a LayeredIndex relies on it).
    """

    def __init__(self) -> None:
        # version -> host bits (32 or 128 less the prefix length) -> network address -> entries
        self._by_version: dict[int, dict[int, dict[int, list[E]]]] = {4: {}, 6: {}}
        # version -> (mask, table) per prefix length in use, in the order first used; and
        # the same for the lengths shorter than a block only
        self._all: dict[int, list[tuple[int, dict[int, list[E]]]]] = {4: [], 6: []}
        self._wide: dict[int, list[tuple[int, dict[int, list[E]]]]] = {4: [], 6: []}
        # version -> (shift to an address's block, the blocks holding narrow entries)
        self._blocks: dict[int, tuple[int, set[int]]] = {
            version: (bits - _BLOCK_BITS[version], set()) for version, bits in ((4, 32), (6, 128))
        }

    def add(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, entry: E) -> None:
        version = network.version
        host_bits = network.max_prefixlen - network.prefixlen
        tables = self._by_version[version]
        narrow = network.prefixlen >= _BLOCK_BITS[version]
        if host_bits not in tables:
            tables[host_bits] = defaultdict(list)
            _insert(self._all[version], int(network.netmask), tables[host_bits])
            if not narrow:
                _insert(self._wide[version], int(network.netmask), tables[host_bits])
        value = int(network.network_address)
        tables[host_bits][value].append(entry)
        if narrow:
            shift, blocks = self._blocks[version]
            blocks.add(value >> shift)

    def match(self, version: int, value: int) -> list[E]:
        """Entries whose network holds the address `value` of IP `version`."""
        found: list[E] = []
        shift, blocks = self._blocks[version]
        tables = self._all if value >> shift in blocks else self._wide
        for mask, table in tables[version]:
            hit = table.get(value & mask)
            if hit:
                found += hit
        return found

    def match_by_length(self, version: int, value: int) -> list[tuple[int, list[E]]]:
        """The same as match, as (netmask, entries) per prefix length, longest first."""
        found: list[tuple[int, list[E]]] = []
        shift, blocks = self._blocks[version]
        tables = self._all if value >> shift in blocks else self._wide
        for mask, table in tables[version]:
            hit = table.get(value & mask)
            if hit:
                found.append((mask, hit))
        return found


def _insert(
    lengths: list[tuple[int, dict[int, list[E]]]], mask: int, table: dict[int, list[E]]
) -> None:
    """Adds a prefix length's table to a list of them, keeping the longest prefix first."""
    at = 0
    while at < len(lengths) and lengths[at][0] > mask:
        at += 1
    lengths.insert(at, (mask, table))


class PatternIndex(Generic[E]):
    """Entries keyed by an EMAIL, DOMAIN or IP pattern, literal or regex.

    Look-ups answer tuples: callers may remember them and hand them out again.
    """

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

    def match_address(self, address: str) -> tuple[E, ...]:
        """Entries matching a normalised address: EMAIL patterns, then DOMAIN patterns."""
        return self.match_email(address) + self.match_domain(address.rpartition("@")[2])

    def match_email(self, address: str) -> tuple[E, ...]:
        """EMAIL patterns matching a normalised address."""
        found = list(self._addresses.get(address, ()))
        found += self._regexes["EMAIL"].match(address)
        return tuple(found)

    def match_domain(self, domain: str) -> tuple[E, ...]:
        """DOMAIN patterns equal to the domain or a parent of it, and DOMAIN regexes."""
        found: list[E] = []
        if self._domains:
            for name in parent_domains(domain):
                found += self._domains.get(name, ())
        found += self._regexes["DOMAIN"].match(domain)
        return tuple(found)

    def match_ip(self, text: str) -> tuple[E, ...]:
        parsed = ip_value(text)
        if parsed is None:
            return ()
        version, value, canonical = parsed
        found = self._networks.match(version, value)
        if self._regexes["IP"]:
            found += self._regexes["IP"].match(canonical)
        return tuple(found)


class LayeredIndex(PatternIndex[E]):
    """A PatternIndex answering as if built from another one's entries less some (`hidden`,
    by id) plus more (those it is built from, the delta): apply_changes's way of changing a
    big index at the cost of the change. The base is shared, never changed.

    Answers come in the order one index built from all of them would give: per bucket
    (an address, a domain, a prefix length, a regex set), by `rank` (the entry's group:
    blocked senders, allow policies, trusted domains), the base's before the delta's.
    """

    def __init__(
        self,
        base: PatternIndex[E],
        hidden: frozenset[str],
        entries: Iterable[tuple[E, str, str, bool]],
        entry_id: Callable[[E], str],
        rank: Callable[[E], int] | None = None,
    ) -> None:
        super().__init__(entries)
        self._base = base
        self._hidden = hidden
        self._entry_id = entry_id
        self._rank = rank

    def _merged(self, base: Sequence[E], delta: Sequence[E]) -> list[E]:
        hidden = self._hidden
        if hidden and base:
            entry_id = self._entry_id
            kept = [entry for entry in base if entry_id(entry) not in hidden]
        else:
            kept = list(base)
        if not delta:
            return kept
        if kept and self._rank is not None:
            kept += delta
            kept.sort(key=self._rank)  # stable: within a group, the base's entries first
            return kept
        kept += delta
        return kept

    def match_email(self, address: str) -> tuple[E, ...]:
        base = self._base
        found: list[E] = []
        theirs = base._addresses.get(address)
        ours = self._addresses.get(address)
        if theirs is not None or ours is not None:  # most addresses are in neither
            found = self._merged(theirs or (), ours or ())
        theirs = base._regexes["EMAIL"].match(address)
        ours = self._regexes["EMAIL"].match(address)
        if theirs or ours:
            found += self._merged(theirs, ours)
        return tuple(found)

    def match_domain(self, domain: str) -> tuple[E, ...]:
        base = self._base
        found: list[E] = []
        if base._domains or self._domains:
            for name in parent_domains(domain):
                theirs = base._domains.get(name)
                ours = self._domains.get(name)
                if theirs is not None or ours is not None:
                    found += self._merged(theirs or (), ours or ())
        regex_theirs = base._regexes["DOMAIN"].match(domain)
        regex_ours = self._regexes["DOMAIN"].match(domain)
        if regex_theirs or regex_ours:
            found += self._merged(regex_theirs, regex_ours)
        return tuple(found)

    def match_ip(self, text: str) -> tuple[E, ...]:
        parsed = ip_value(text)
        if parsed is None:
            return ()
        version, value, canonical = parsed
        base = self._base
        found: list[E] = []
        ours = self._networks.match_by_length(version, value)
        if not ours:
            found = self._merged(base._networks.match(version, value), ())
        else:
            theirs = base._networks.match_by_length(version, value)
            masks = sorted({mask for mask, _ in theirs} | {mask for mask, _ in ours}, reverse=True)
            base_hits = dict(theirs)
            delta_hits = dict(ours)
            for mask in masks:
                found += self._merged(base_hits.get(mask, []), delta_hits.get(mask, []))
        found += self._merged(
            base._regexes["IP"].match(canonical), self._regexes["IP"].match(canonical)
        )
        return tuple(found)
