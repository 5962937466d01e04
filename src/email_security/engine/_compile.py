"""compile_settings: an account's settings turned into indexes that answer in O(1)-ish time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import re2
from rapidfuzz.distance import DamerauLevenshtein

from email_security.engine._index import PatternIndex
from email_security.engine._model import (
    AllowPolicy,
    BlockedSender,
    ImpersonationEntry,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
)
from email_security.engine._names import (
    address_key,
    display_name_key,
    domain_key,
    organisational_domain,
    parent_domains,
    skeleton,
    unicode_domain,
)
from email_security.patterns import IPNetwork, parse_network

__all__ = ["CompiledSettings", "compile_settings"]


@dataclass(frozen=True)
class Identity:
    """A registry entry with its addresses ready to compare."""

    entry: ImpersonationEntry
    addresses: frozenset[str]
    regex: re2._Regexp | None

    def uses(self, address: str | None) -> bool:
        if address is None:
            return False
        if self.regex is not None:
            return self.regex.fullmatch(address) is not None
        return address in self.addresses


@dataclass(frozen=True)
class Protected:
    entry: ProtectedDomain
    domain: str
    networks: tuple[IPNetwork, ...]


@dataclass(frozen=True)
class Restriction:
    entry: SendingDomainRestriction
    domain: str
    excludes: tuple[str, ...]


@dataclass(frozen=True)
class Lookalike:
    protected: Protected
    how: str


class LookalikeIndex:
    """Protected domains by confusable skeleton and by registrable-label length."""

    def __init__(self, protected: Iterable[Protected]) -> None:
        self._organisations: set[str] = set()
        self._skeletons: dict[str, list[Protected]] = defaultdict(list)
        self._labels: dict[int, list[tuple[str, Protected]]] = defaultdict(list)
        for item in protected:
            organisation = organisational_domain(item.domain)
            self._organisations.add(organisation)
            self._skeletons[skeleton(unicode_domain(organisation))].append(item)
            label = _registrable_label(organisation)
            self._labels[len(label)].append((label, item))

    def match(self, domain: str) -> Lookalike | None:
        organisation = organisational_domain(domain)
        if organisation in self._organisations:
            return None  # the account's own organisation, not a look-alike of it
        for item in self._skeletons.get(skeleton(unicode_domain(organisation)), ()):
            return Lookalike(item, "looks the same (confusable characters)")
        label = _registrable_label(organisation)
        for length in range(len(label) - 2, len(label) + 3):
            for candidate, item in self._labels.get(length, ()):
                limit = 2 if len(candidate) >= 9 else 1
                distance = DamerauLevenshtein.distance(label, candidate, score_cutoff=limit)
                if distance <= limit:
                    edits = "same name, other suffix" if distance == 0 else f"{distance} edit(s)"
                    return Lookalike(item, f"close to {item.domain} ({edits})")
        return None


def _registrable_label(organisation: str) -> str:
    return unicode_domain(organisation).split(".", 1)[0]


@dataclass
class CompiledSettings:
    version: int
    thresholds: Thresholds
    sender_policies: PatternIndex[AllowPolicy]
    recipient_policies: PatternIndex[AllowPolicy]
    blocked: PatternIndex[BlockedSender]
    trusted_domains: PatternIndex[TrustedDomain]
    identities: dict[str, list[Identity]]
    protected: dict[str, Protected]
    lookalikes: LookalikeIndex
    restrictions: dict[str, list[Restriction]] = field(default_factory=dict)

    def protected_domain_of(self, domain: str) -> Protected | None:
        for name in parent_domains(domain):
            found = self.protected.get(name)
            if found is not None:
                return found
        return None

    def is_protected(self, domain: str) -> bool:
        return self.protected_domain_of(domain) is not None

    def restrictions_of(self, domain: str) -> list[Restriction]:
        """Sending domain restrictions of the domain or of a parent of it."""
        found: list[Restriction] = []
        for name in parent_domains(domain):
            found += self.restrictions.get(name, ())
        return found


def compile_settings(settings: Settings, thresholds: Thresholds | None = None) -> CompiledSettings:
    """Index every entry of the settings; the result is immutable and safe to share."""
    policies = settings.allow_policies
    protected = {}
    for domain in settings.domains:
        networks = []
        for text in domain.ip_restrictions:
            try:
                networks.append(parse_network(text))
            except ValueError:
                continue
        item = Protected(domain, domain_key(domain.domain), tuple(networks))
        protected[item.domain] = item
    restrictions: dict[str, list[Restriction]] = defaultdict(list)
    for restriction in settings.sending_domain_restrictions:
        name = domain_key(restriction.domain)
        excludes = tuple(domain_key(exclude) for exclude in restriction.exclude)
        restrictions[name].append(Restriction(restriction, name, excludes))
    return CompiledSettings(
        version=settings.version,
        thresholds=thresholds or Thresholds(),
        sender_policies=PatternIndex(
            (p, p.pattern, p.pattern_type, p.is_regex)
            for p in policies
            if p.is_trusted_sender or p.is_acceptable_sender or not p.is_exempt_recipient
        ),
        recipient_policies=PatternIndex(
            (p, p.pattern, p.pattern_type, p.is_regex) for p in policies if p.is_exempt_recipient
        ),
        blocked=PatternIndex(
            (b, b.pattern, b.pattern_type, b.is_regex) for b in settings.block_senders
        ),
        trusted_domains=PatternIndex(
            (t, t.pattern, "DOMAIN", t.is_regex) for t in settings.trusted_domains
        ),
        identities=_identities(settings.impersonation_registry),
        protected=protected,
        lookalikes=LookalikeIndex(protected.values()),
        restrictions=dict(restrictions),
    )


def _identities(entries: Iterable[ImpersonationEntry]) -> dict[str, list[Identity]]:
    identities: dict[str, list[Identity]] = defaultdict(list)
    options = re2.Options()
    options.case_sensitive = False
    for entry in entries:
        regex = None
        addresses: frozenset[str] = frozenset()
        if entry.is_email_regex:
            try:
                regex = re2.compile(entry.email, options)
            except re2.error:
                continue
        else:
            addresses = frozenset(address_key(a) for a in entry.email.split(",") if a.strip())
        identities[display_name_key(entry.name)].append(Identity(entry, addresses, regex))
    return dict(identities)
