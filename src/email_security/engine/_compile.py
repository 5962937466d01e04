"""compile_settings: an account's settings turned into indexes that answer in O(1)-ish time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

import re2
from rapidfuzz.distance import DamerauLevenshtein

from email_security.engine._index import LayeredIndex, PatternIndex, RegexSet
from email_security.engine._model import (
    AllowPolicy,
    BlockedSender,
    ContentPolicy,
    ImpersonationEntry,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    UrlIgnorePattern,
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
from email_security.patterns import parse_network

__all__ = ["CompiledSettings", "compile_settings"]

# Answers remembered per compiled settings: mail repeats its senders, domains, IPs and
# recipients. Each memo is an lru_cache of a function of the tables alone: one of a method
# of the compiled settings would be a reference cycle, keeping a replaced index alive until
# a full collection.
MEMO_SIZE = 16_384
# The names' own caches, called from within a remembered look-up, would only add misses.
_address_key = address_key.__wrapped__
_organisational_domain = organisational_domain.__wrapped__
_skeleton = skeleton.__wrapped__
_unicode_domain = unicode_domain.__wrapped__


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


class Identities:
    """Registry entries by display-name key. Made by apply_changes, over a base's: those
    less the `hidden` ids, then its own (the entries changed since)."""

    def __init__(
        self,
        by_name: dict[str, list[Identity]],
        base: Identities | None = None,
        hidden: frozenset[str] = frozenset(),
    ) -> None:
        self._by_name = by_name
        self._base = base
        self._hidden = hidden

    def get(self, key: str, default: Sequence[Identity] = ()) -> Sequence[Identity]:
        """The entries of the name `key`, in settings order; `default` when none."""
        found = self._by_name.get(key)
        base = self._base
        if base is None:
            return default if found is None else found
        hidden = self._hidden
        theirs = [i for i in base.get(key) if i.entry.id not in hidden]
        if found:
            theirs += found
        return theirs or default


@dataclass(frozen=True)
class Protected:
    entry: ProtectedDomain
    domain: str
    # ip_restrictions, each as (IP version, network address, netmask) in integers
    networks: tuple[tuple[int, int, int], ...]

    def allows(self, version: int, value: int) -> bool:
        """Whether ip_restrictions hold the address `value` of IP `version`."""
        return any(
            version == network_version and value & netmask == network
            for network_version, network, netmask in self.networks
        )


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
        organisations: set[str] = set()
        skeletons: dict[str, list[Protected]] = defaultdict(list)
        labels: dict[int, list[tuple[str, int, Protected]]] = defaultdict(list)
        for item in protected:
            organisation = organisational_domain(item.domain)
            organisations.add(organisation)
            skeletons[skeleton(unicode_domain(organisation))].append(item)
            label = _registrable_label(organisation)
            labels[len(label)].append((label, 2 if len(label) >= 9 else 1, item))
        # Candidates for a label of each length: those at most 2 longer or shorter, shortest
        # first (a look-alike is at most 2 edits away).
        near = {
            length: [c for other in range(length - 2, length + 3) for c in labels.get(other, ())]
            for length in range(1, max(labels, default=0) + 3)
        }
        self.match: Callable[[str], Lookalike | None] = lru_cache(MEMO_SIZE)(
            partial(_lookalike, organisations, skeletons, near)
        )


def _lookalike(
    organisations: set[str],
    skeletons: dict[str, list[Protected]],
    near: dict[int, list[tuple[str, int, Protected]]],
    domain: str,
) -> Lookalike | None:
    organisation = _organisational_domain(domain)
    if organisation in organisations:
        return None  # the account's own organisation, not a look-alike of it
    for item in skeletons.get(_skeleton(_unicode_domain(organisation)), ()):
        return Lookalike(item, "looks the same (confusable characters)")
    label = _registrable_label(organisation)
    for candidate, limit, item in near.get(len(label), ()):
        distance = DamerauLevenshtein.distance(label, candidate, score_cutoff=limit)
        if distance <= limit:
            edits = "same name, other suffix" if distance == 0 else f"{distance} edit(s)"
            return Lookalike(item, f"close to {item.domain} ({edits})")
    return None


def _registrable_label(organisation: str) -> str:
    return _unicode_domain(organisation).split(".", 1)[0]


Entry = BlockedSender | AllowPolicy | TrustedDomain


# What the settings say of a sender's domain and address. Plain tuples, not classes: when
# nothing matched they hold only strings and empty tuples, which the garbage collector stops
# tracking, so the caches' churn never brings on full collections over a big index.
SenderDomain = tuple[
    str,  # the domain
    tuple[Entry, ...],  # DOMAIN patterns matching it
    tuple[Restriction, ...],  # sending domain restrictions of it or of a parent
    "Protected | None",  # the account's protected domain it lies in
]
SenderAddress = tuple[
    str,  # the normalised address
    SenderDomain,
    tuple[Entry, ...],  # EMAIL patterns matching it, then its domain's
]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient address with what the settings say of it alone."""

    address: str  # normalised
    protected: Protected | None
    exempt: tuple[AllowPolicy, ...]  # the exempt-recipient policies it matches
    exempt_key: tuple[int, ...]  # the same, as a cheap dictionary key


@dataclass(frozen=True)
class Layers:
    """How a result of apply_changes stands to the compile_settings result it was made
    from: that one's indexes, shared and unchanged, less the entries `hidden` (removed,
    replaced or expired since), plus `delta`'s allow policies, blocked senders, trusted
    domains and registry entries, indexed on their own."""

    base: CompiledSettings
    hidden: frozenset[str]
    delta: Settings

    @property
    def size(self) -> int:
        """The ids changed or expired since the base: every entry of the delta has its id
        hidden in the base (whether the base held it or not)."""
        return len(self.hidden)


@dataclass
class CompiledSettings:
    version: int
    thresholds: Thresholds
    # Blocked senders, sender-side allow policies and trusted domains in one index: one
    # look-up of a sender's address, domain or IP serves all three.
    senders: PatternIndex[Entry]
    recipient_policies: PatternIndex[AllowPolicy]
    identities: Identities
    protected: dict[str, Protected]
    lookalikes: LookalikeIndex
    # Enabled content policies searched in the subject, and in the body text; URL ignore
    # patterns. Each is empty when the settings have none, and then costs nothing.
    subject_policies: RegexSet[ContentPolicy]
    body_policies: RegexSet[ContentPolicy]
    url_ignore_patterns: RegexSet[UrlIgnorePattern]
    restrictions: dict[str, list[Restriction]] = field(default_factory=dict)
    # Expiry: the settings as given, and the first instant an entry indexed here expires
    # (None: none does). From then on `in_force` compiles them again, once.
    source: Settings | None = None
    valid_until: datetime | None = None
    _successor: CompiledSettings | None = field(default=None, repr=False)
    # The groups that apply_changes compiles again whole when one of their entries changes,
    # as compiled here (in force): protected domains, sending domain restrictions, content
    # policies and URL ignore patterns. Accounts have tens or hundreds of them, where they
    # may have a million sender patterns.
    small_groups: Settings = field(default_factory=Settings, repr=False)
    # (expires_at, id) of every entry indexed here that expires, soonest first (of a
    # compile_settings result; apply_changes reads its base's).
    expiring: tuple[tuple[datetime, str], ...] = field(default=(), repr=False)
    # A result of apply_changes: its base and what changed since (None: compile_settings').
    layers: Layers | None = field(default=None, repr=False)

    # Remembered look-ups, made in __post_init__.
    sender_domain: Callable[[str], SenderDomain] = field(init=False, repr=False)
    sender_address: Callable[[str], SenderAddress] = field(init=False, repr=False)
    match_ip: Callable[[str], tuple[Entry, ...]] = field(init=False, repr=False)
    recipient: Callable[[str], Recipient] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        remember = lru_cache(MEMO_SIZE)
        self.sender_domain = remember(
            partial(_sender_domain, self.senders, self.restrictions, self.protected)
        )
        self.sender_address = remember(partial(_sender_address, self.senders, self.sender_domain))
        self.match_ip = remember(self.senders.match_ip)
        self.recipient = remember(partial(_recipient, self.recipient_policies, self.protected))

    @property
    def delta_size(self) -> int:
        """How much apply_changes has layered over a full compilation: the entries of the
        big groups created, updated, deleted or expired since (0 for a compile_settings
        result). Applying changes costs more with it, and look-ups slightly: compile the
        settings afresh once it reaches a few thousand."""
        layers = self.layers
        return 0 if layers is None else layers.size

    def in_force(self, now: datetime) -> CompiledSettings:
        """These settings as they are at `now`: self, until an entry expires; then the
        settings compiled again without it (once, and remembered: no rebuild per message).
        A result of apply_changes is not compiled again: the expired entries are applied
        as changes (removals) instead."""
        valid_until = self.valid_until
        if valid_until is None or now < valid_until:
            return self
        if self.source is None and self.layers is None:
            return self
        successor = self._successor
        if successor is None or not (successor.valid_until is None or now < successor.valid_until):
            if self.layers is not None:
                from email_security.engine._changes import apply_changes

                successor = apply_changes(self, self.version, Settings(), frozenset(), now)
            else:
                assert self.source is not None
                successor = compile_settings(self.source, self.thresholds, now)
            self._successor = successor
        return successor


def _protected_domain_of(protected: dict[str, Protected], domain: str) -> Protected | None:
    for name in parent_domains(domain):
        found = protected.get(name)
        if found is not None:
            return found
    return None


def _sender_domain(
    senders: PatternIndex[Entry],
    restrictions: dict[str, list[Restriction]],
    protected: dict[str, Protected],
    domain: str,
) -> SenderDomain:
    found: list[Restriction] = []
    for name in parent_domains(domain):
        found += restrictions.get(name, ())
    return (
        domain,
        senders.match_domain(domain),
        tuple(found),
        _protected_domain_of(protected, domain),
    )


def _sender_address(
    senders: PatternIndex[Entry], sender_domain: Callable[[str], SenderDomain], text: str
) -> SenderAddress:
    address = _address_key(text)
    domain = sender_domain(address.rpartition("@")[2])
    return address, domain, senders.match_email(address) + domain[1]


def _recipient(
    policies: PatternIndex[AllowPolicy], protected: dict[str, Protected], text: str
) -> Recipient:
    address = _address_key(text)
    domain_protected = _protected_domain_of(protected, address.rpartition("@")[2])
    exempt = policies.match_address(address)
    return Recipient(address, domain_protected, exempt, tuple(map(id, exempt)))


def compile_settings(
    settings: Settings, thresholds: Thresholds | None = None, now: datetime | None = None
) -> CompiledSettings:
    """Index every entry of the settings in force at `now` (default: the present); the
    result is immutable and safe to share."""
    source = settings
    settings, expiring = _in_force(settings, now or datetime.now(UTC))
    valid_until = expiring[0][0] if expiring else None
    protected = protected_domains(settings.domains)
    subject_policies, body_policies = _content_policies(settings.content_policies)
    return CompiledSettings(
        version=settings.version,
        thresholds=thresholds or Thresholds(),
        senders=PatternIndex(_sender_patterns(settings)),
        recipient_policies=PatternIndex(_recipient_patterns(settings.allow_policies)),
        identities=Identities(_identities(settings.impersonation_registry)),
        protected=protected,
        lookalikes=LookalikeIndex(protected.values()),
        subject_policies=subject_policies,
        body_policies=body_policies,
        url_ignore_patterns=_url_ignore_patterns(settings.url_ignore_patterns),
        restrictions=_restrictions_of(settings.sending_domain_restrictions),
        source=source if valid_until is not None else None,
        valid_until=valid_until,
        small_groups=Settings(
            domains=settings.domains,
            sending_domain_restrictions=settings.sending_domain_restrictions,
            content_policies=settings.content_policies,
            url_ignore_patterns=settings.url_ignore_patterns,
        ),
        expiring=expiring,
    )


def _in_force(
    settings: Settings, now: datetime
) -> tuple[Settings, tuple[tuple[datetime, str], ...]]:
    """The settings without the entries expired at `now`, and (expires_at, id) of those of
    the rest that expire, soonest first. Without any expiry (most settings) they come back
    as they are."""
    changes: dict[str, Any] = {}
    pending: list[tuple[datetime, str]] = []
    for group in fields(Settings):
        entries = getattr(settings, group.name)
        if not isinstance(entries, tuple):
            continue  # the version
        expiring = [entry for entry in entries if entry.expires_at is not None]
        if not expiring:
            continue
        kept = tuple(
            entry for entry in entries if entry.expires_at is None or now < entry.expires_at
        )
        pending += [(e.expires_at, e.id) for e in expiring if now < e.expires_at]
        if len(kept) != len(entries):
            changes[group.name] = kept
    pending.sort()
    return (replace(settings, **changes) if changes else settings), tuple(pending)


def in_force(entry: Any, now: datetime) -> bool:
    """Whether a settings entry is in force at `now` (its expires_at not passed)."""
    expires_at: datetime | None = entry.expires_at
    return expires_at is None or now < expires_at


def protected_domains(domains: Iterable[ProtectedDomain]) -> dict[str, Protected]:
    protected = {}
    for domain in domains:
        networks = []
        for text in domain.ip_restrictions:
            try:
                network = parse_network(text)
            except ValueError:
                continue
            networks.append((network.version, int(network.network_address), int(network.netmask)))
        item = Protected(domain, domain_key(domain.domain), tuple(networks))
        protected[item.domain] = item
    return protected


def _restrictions_of(
    entries: Iterable[SendingDomainRestriction],
) -> dict[str, list[Restriction]]:
    restrictions: dict[str, list[Restriction]] = defaultdict(list)
    for restriction in entries:
        name = domain_key(restriction.domain)
        excludes = tuple(domain_key(exclude) for exclude in restriction.exclude)
        restrictions[name].append(Restriction(restriction, name, excludes))
    return dict(restrictions)


def _url_ignore_patterns(entries: Iterable[UrlIgnorePattern]) -> RegexSet[UrlIgnorePattern]:
    url_ignore_patterns: RegexSet[UrlIgnorePattern] = RegexSet()
    for ignore in entries:
        url_ignore_patterns.add(ignore.pattern, ignore)
    url_ignore_patterns.compile()
    return url_ignore_patterns


def layered(
    compiled: CompiledSettings,
    version: int,
    base: CompiledSettings,
    hidden: frozenset[str],
    delta: Settings,
    small_groups: Settings,
    valid_until: datetime | None,
) -> CompiledSettings:
    """`base` less the `hidden` ids plus `delta`'s entries of the big groups, and the small
    groups as given: those equal to `compiled`'s (the same tuple) keep its structures."""
    senders: PatternIndex[Entry] = base.senders
    recipient_policies: PatternIndex[AllowPolicy] = base.recipient_policies
    identities = base.identities
    if hidden or delta.block_senders or delta.allow_policies or delta.trusted_domains:
        senders = LayeredIndex(
            base.senders, hidden, _sender_patterns(delta), _entry_id, _sender_rank
        )
    if hidden or delta.allow_policies:
        recipient_policies = LayeredIndex(
            base.recipient_policies,
            hidden,
            _recipient_patterns(delta.allow_policies),
            _entry_id,
        )
    if hidden or delta.impersonation_registry:
        identities = Identities(_identities(delta.impersonation_registry), base.identities, hidden)
    old = compiled.small_groups
    protected, lookalikes = compiled.protected, compiled.lookalikes
    if small_groups.domains is not old.domains:
        protected = protected_domains(small_groups.domains)
        lookalikes = LookalikeIndex(protected.values())
    restrictions = compiled.restrictions
    if small_groups.sending_domain_restrictions is not old.sending_domain_restrictions:
        restrictions = _restrictions_of(small_groups.sending_domain_restrictions)
    subject_policies, body_policies = compiled.subject_policies, compiled.body_policies
    if small_groups.content_policies is not old.content_policies:
        subject_policies, body_policies = _content_policies(small_groups.content_policies)
    url_ignore_patterns = compiled.url_ignore_patterns
    if small_groups.url_ignore_patterns is not old.url_ignore_patterns:
        url_ignore_patterns = _url_ignore_patterns(small_groups.url_ignore_patterns)
    return CompiledSettings(
        version=version,
        thresholds=compiled.thresholds,
        senders=senders,
        recipient_policies=recipient_policies,
        identities=identities,
        protected=protected,
        lookalikes=lookalikes,
        subject_policies=subject_policies,
        body_policies=body_policies,
        url_ignore_patterns=url_ignore_patterns,
        restrictions=restrictions,
        valid_until=valid_until,
        small_groups=small_groups,
        layers=Layers(base, hidden, delta),
    )


def _entry_id(entry: Any) -> str:
    entry_id: str = entry.id
    return entry_id


def _sender_rank(entry: Entry) -> int:
    """The order of the groups in the senders index, as _sender_patterns adds them."""
    if isinstance(entry, BlockedSender):
        return 0
    if isinstance(entry, AllowPolicy):
        return 1
    return 2


def _content_policies(
    policies: Iterable[ContentPolicy],
) -> tuple[RegexSet[ContentPolicy], RegexSet[ContentPolicy]]:
    """The enabled policies searching the subject, and those searching the body."""
    subject: RegexSet[ContentPolicy] = RegexSet(search=True)
    body: RegexSet[ContentPolicy] = RegexSet(search=True)
    for policy in policies:
        if not policy.enabled:
            continue  # off: neither applied nor reported
        if "SUBJECT" in policy.targets:
            subject.add(policy.pattern, policy)
        if "BODY" in policy.targets:
            body.add(policy.pattern, policy)
    subject.compile()
    body.compile()
    return subject, body


# Generator functions rather than expressions: compiled, an expression passed to a call
# becomes a list, a million entries long for a big account.
def _sender_patterns(settings: Settings) -> Iterator[tuple[Entry, str, str, bool]]:
    for blocked in settings.block_senders:
        yield blocked, blocked.pattern, blocked.pattern_type, blocked.is_regex
    for p in settings.allow_policies:
        if p.is_trusted_sender or p.is_acceptable_sender or not p.is_exempt_recipient:
            yield p, p.pattern, p.pattern_type, p.is_regex
    for trusted in settings.trusted_domains:
        yield trusted, trusted.pattern, "DOMAIN", trusted.is_regex


def _recipient_patterns(
    policies: Iterable[AllowPolicy],
) -> Iterator[tuple[AllowPolicy, str, str, bool]]:
    for p in policies:
        if p.is_exempt_recipient:
            yield p, p.pattern, p.pattern_type, p.is_regex


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
