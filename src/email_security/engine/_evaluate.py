"""evaluate: the decision for each recipient, step by step as docs/ENGINE.md states it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from email_security.engine._compile import CompiledSettings, Protected
from email_security.engine._model import (
    DISPOSITIONS,
    AllowPolicy,
    AuthResults,
    Match,
    Message,
    RecipientVerdict,
    Verdict,
)
from email_security.engine._names import (
    address_key,
    display_name_key,
    domain_key,
    domain_of,
    ip_key,
    organisational_domain,
)

__all__ = ["evaluate"]

_SEVERITY = {disposition: rank for rank, disposition in enumerate(DISPOSITIONS)}
_SEVERITY["MALICIOUS-BEC"] = _SEVERITY["MALICIOUS"]
_LIFTED_BY_ACCEPTABLE = frozenset({"SPAM", "SPOOF", "BULK"})
_SENDER_FIELDS = ("envelope_from", "header_from")

T = TypeVar("T")


@dataclass
class _Hit:
    """A settings entry that matched, before the decision says whether it took effect."""

    resource: str
    entry: Any
    pattern: str
    field: str
    honored: bool = True
    reason: str = ""

    def done(self) -> Match:
        return Match(
            self.resource, self.entry.id, self.pattern, self.field, self.honored, self.reason
        )


@dataclass
class _Finding:
    """A detection: from upstream, or the engine's own (with the entry behind it)."""

    disposition: str
    attribute: str | None
    hit: _Hit | None = None
    lifted_by: str | None = None


@dataclass
class _Sender:
    addresses: dict[str, str]  # field -> normalised address
    domain: str | None  # the sender's domain: header From, else envelope from
    domain_field: str
    # Look-ups that depend on the message alone, done once for all of its recipients.
    found: dict[tuple[Callable[[str], Any], str], Any] = field(default_factory=dict)

    def look_up(self, how: Callable[[str], T], value: str) -> T:
        """`how(value)`, remembered: an index gives the same answer for the same value."""
        key = (how, value)
        if key not in self.found:
            self.found[key] = how(value)
        return self.found[key]

    @classmethod
    def of(cls, message: Message) -> _Sender:
        addresses = {
            name: address_key(value)
            for name in ("envelope_from", "header_from", "reply_to")
            if (value := getattr(message, name))
        }
        for name in ("header_from", "envelope_from"):
            if name in addresses:
                return cls(addresses, domain_of(addresses[name]), name)
        return cls(addresses, None, "header_from")


def evaluate(message: Message, compiled: CompiledSettings) -> Verdict:
    """The verdict for every recipient of the message."""
    sender = _Sender.of(message)
    verdicts = tuple(
        _Decision(message, compiled, sender, recipient).decide() for recipient in message.recipients
    )
    return Verdict(settings_version=compiled.version, recipients=verdicts)


class _Decision:
    def __init__(
        self, message: Message, compiled: CompiledSettings, sender: _Sender, recipient: str
    ) -> None:
        self.message = message
        self.compiled = compiled
        self.sender = sender
        self.recipient = address_key(recipient)
        self.protected = compiled.protected_domain_of(domain_of(self.recipient))
        self.client_ip = _client_ip(message, self.protected)
        self.hits: list[_Hit] = []
        self.attributes: list[str] = []
        self.drop = False

    def decide(self) -> RecipientVerdict:
        self._sending_domain_restrictions()
        self._ip_restrictions()
        findings = self._findings()
        exempt = self._exempt_recipient()
        blocked = self._blocked_senders(findings)
        trusted, acceptable = self._sender_policies(blocked, exempt)
        if exempt is not None:
            _lift(findings, f"exempt recipient ({exempt.pattern})")
        elif trusted is not None:
            _lift(findings, f"trusted sender ({trusted.pattern})")
        elif acceptable is not None:
            _lift(findings, f"acceptable sender ({acceptable.pattern})", _LIFTED_BY_ACCEPTABLE)
        self._trusted_domains(findings)  # reported even when an earlier step decided
        remaining = [f for f in findings if f.lifted_by is None]
        disposition = min(
            (f.disposition for f in remaining), key=_SEVERITY.__getitem__, default="NONE"
        )
        for finding in findings:
            if finding.hit is not None and finding.lifted_by is not None:
                finding.hit.honored = False
                finding.hit.reason += f"; lifted by {finding.lifted_by}"
        self.attributes += [f.attribute for f in remaining if f.attribute]
        return RecipientVerdict(
            recipient=self.recipient,
            protected_domain=self.protected.entry.id if self.protected else None,
            disposition=disposition,
            action=self._action(disposition),
            attributes=tuple(dict.fromkeys(self.attributes)),
            matches=tuple(hit.done() for hit in self.hits),
            client_ip=self.client_ip,
        )

    # --- 1 and 2: delivery restrictions ----------------------------------------------------

    def _sending_domain_restrictions(self) -> None:
        tls = _tls(self.message, self.protected)
        seen: set[tuple[str, str]] = set()
        for field_name in _SENDER_FIELDS:
            address = self.sender.addresses.get(field_name)
            if address is None:
                continue
            domain = domain_of(address)
            for restriction in self.sender.look_up(self.compiled.restrictions_of, domain):
                # Each sender field counts on its own: an excluded envelope sender does not
                # excuse a From: in the restricted domain.
                if (restriction.entry.id, domain) in seen:
                    continue
                seen.add((restriction.entry.id, domain))
                hit = _Hit(
                    "sending_domain_restrictions", restriction.entry, restriction.domain, field_name
                )
                excluded = next(
                    (e for e in restriction.excludes if domain == e or domain.endswith("." + e)),
                    None,
                )
                if excluded is not None:
                    hit.honored, hit.reason = False, f"{domain} is excluded ({excluded})"
                elif tls is False:
                    hit.reason = f"mail from {domain} must use TLS and did not: dropped"
                    self.drop = True
                    self.attributes.append("SENDING_DOMAIN_RESTRICTION")
                elif tls is None:
                    hit.honored, hit.reason = False, "TLS use unknown: not enforced"
                else:
                    hit.reason = "arrived over TLS, as required"
                self.hits.append(hit)

    def _ip_restrictions(self) -> None:
        protected = self.protected
        if protected is None or not protected.networks:
            return
        pattern = ",".join(protected.entry.ip_restrictions)
        hit = _Hit("domains", protected.entry, pattern, "client_ip")
        address = ip_key(self.client_ip) if self.client_ip else None
        if address is None:
            hit.honored, hit.reason = False, "client IP unknown: ip_restrictions not enforced"
        elif any(address.version == n.version and address in n for n in protected.networks):
            hit.reason = f"{address} is inside ip_restrictions"
        else:
            hit.reason = f"{address} is outside ip_restrictions: dropped"
            self.drop = True
            self.attributes.append("IP_RESTRICTION")
        self.hits.append(hit)

    # --- detections --------------------------------------------------------------------------

    def _findings(self) -> list[_Finding]:
        findings = [
            _Finding(d, None) for d in self.message.detections if d in _SEVERITY and d != "NONE"
        ]
        findings += self._impersonation()
        domain = self.sender.domain
        if domain is not None and not self.sender.look_up(self.compiled.is_protected, domain):
            lookalike = self.sender.look_up(self.compiled.lookalikes.match, domain)
            if lookalike is not None:
                target = lookalike.protected
                hit = _Hit("domains", target.entry, target.domain, self.sender.domain_field)
                hit.reason = f"{domain} is a look-alike of {target.domain}: {lookalike.how}"
                self.hits.append(hit)
                findings.append(_Finding("SPOOF", f"LOOKALIKE={target.domain}", hit))
        age = self.message.sender_domain_age_days
        thresholds = self.compiled.thresholds
        if age is not None and age < thresholds.suspicious_days:
            disposition = "MALICIOUS" if age < thresholds.malicious_days else "SUSPICIOUS"
            findings.append(_Finding(disposition, "NEW_DOMAIN_SENDER"))
        return findings

    def _impersonation(self) -> list[_Finding]:
        name = self.message.header_from_name
        if not name:
            return []
        identities = self.compiled.identities.get(display_name_key(name), [])
        address = self.sender.addresses.get("header_from")
        if not identities or any(identity.uses(address) for identity in identities):
            return []
        findings = []
        for identity in identities:
            hit = _Hit(
                "impersonation_registry", identity.entry, identity.entry.name, "header_from_name"
            )
            hit.reason = (
                f"display name of {identity.entry.name} from {address}, not an address of theirs"
            )
            self.hits.append(hit)
            findings.append(_Finding("MALICIOUS-BEC", "BEC", hit))
        return findings

    # --- 3 to 7: policies ------------------------------------------------------------------

    def _exempt_recipient(self) -> AllowPolicy | None:
        exempt = None
        for policy in self.compiled.recipient_policies.match_address(self.recipient):
            hit = _Hit("allow_policies", policy, policy.pattern, "recipient")
            hit.reason = "exempt recipient: every detection bypassed"
            self.hits.append(hit)
            exempt = exempt or policy
        return exempt

    def _blocked_senders(self, findings: list[_Finding]) -> bool:
        blocked = False
        index = self.compiled.blocked
        for field_name, entries in self._sender_matches(index, ("reply_to",)):
            for entry in entries:
                hit = _Hit("block_senders", entry, entry.pattern, field_name)
                hit.reason = "blocked sender: MALICIOUS"
                self.hits.append(hit)
                findings.append(_Finding("MALICIOUS", "CUSTOM_BLOCK_LIST", hit))
                blocked = True
        return blocked

    def _sender_policies(
        self, blocked: bool, exempt: AllowPolicy | None
    ) -> tuple[AllowPolicy | None, AllowPolicy | None]:
        trusted = acceptable = None
        for field_name, policies in self._sender_matches(self.compiled.sender_policies, ()):
            for policy in policies:
                hit = _Hit("allow_policies", policy, policy.pattern, field_name)
                self.hits.append(hit)
                verified, why = _verified(policy, field_name, self.sender, self.message.auth)
                role = "trusted sender" if policy.is_trusted_sender else "acceptable sender"
                if not (policy.is_trusted_sender or policy.is_acceptable_sender):
                    hit.honored, hit.reason = False, "no action set on this policy"
                elif not verified:
                    hit.honored, hit.reason = False, why
                elif blocked:
                    hit.honored, hit.reason = (
                        False,
                        f"{role}, but a blocked sender matched too: block beats allow",
                    )
                elif exempt is not None:
                    hit.reason = f"{role} ({why}); the recipient is exempt anyway"
                else:
                    hit.reason = f"{role} ({why})"
                    if policy.is_trusted_sender:
                        trusted = trusted or policy
                    else:
                        acceptable = acceptable or policy
        return trusted, acceptable

    def _trusted_domains(self, findings: list[_Finding]) -> None:
        domain = self.sender.domain
        if domain is None:
            return
        for entry in self.sender.look_up(self.compiled.trusted_domains.match_domain, domain):
            hit = _Hit("trusted_domains", entry, entry.pattern, self.sender.domain_field)
            lifted = []
            for finding in findings:
                if finding.lifted_by is not None:
                    continue
                if entry.is_similarity and (finding.attribute or "").startswith("LOOKALIKE="):
                    finding.lifted_by = f"trusted domain {entry.pattern} (is_similarity)"
                    lifted.append("look-alike SPOOF")
                if entry.is_recent and finding.attribute == "NEW_DOMAIN_SENDER":
                    finding.lifted_by = f"trusted domain {entry.pattern} (is_recent)"
                    lifted.append("new-domain detection")
            hit.honored = bool(lifted)
            hit.reason = f"lifted {' and '.join(lifted)}" if lifted else "nothing to lift"
            self.hits.append(hit)

    def _sender_matches(
        self, index: Any, extra_fields: tuple[str, ...]
    ) -> list[tuple[str, list[Any]]]:
        matches = []
        for field_name in (*_SENDER_FIELDS, *extra_fields):
            address = self.sender.addresses.get(field_name)
            if address is not None:
                matches.append((field_name, self.sender.look_up(index.match_address, address)))
        if self.client_ip:
            matches.append(("client_ip", self.sender.look_up(index.match_ip, self.client_ip)))
        return matches

    # --- 9: action ---------------------------------------------------------------------------

    def _action(self, disposition: str) -> str:
        if self.drop:
            return "drop"
        if self.protected is not None and disposition in self.protected.entry.drop_dispositions:
            return "drop"
        if disposition in ("MALICIOUS", "MALICIOUS-BEC"):
            return "quarantine"
        return "deliver"


def _lift(findings: list[_Finding], by: str, only: frozenset[str] | None = None) -> None:
    for finding in findings:
        if finding.lifted_by is None and (only is None or finding.disposition in only):
            finding.lifted_by = by


def _verified(
    policy: AllowPolicy, field_name: str, sender: _Sender, auth: AuthResults
) -> tuple[bool, str]:
    """verify_sender: authentication must pass aligned with the matched address's domain."""
    if not policy.verify_sender:
        return True, "verify_sender off"
    if field_name == "client_ip" or policy.pattern_type == "IP":
        return True, "IP pattern: verify_sender does not apply"
    domain = domain_of(sender.addresses[field_name])
    organisation = organisational_domain(domain)
    header_from = sender.addresses.get("header_from")
    envelope_from = sender.addresses.get("envelope_from")

    def aligned(other: str | None) -> bool:
        return other is not None and organisational_domain(domain_key(other)) == organisation

    dmarc, spf = auth.dmarc, auth.spf
    from_domain = domain_of(header_from) if header_from else None
    if dmarc and dmarc.result == "pass" and aligned(dmarc.domain or from_domain):
        return True, "verified by DMARC"
    mail_from_domain = domain_of(envelope_from) if envelope_from else None
    if spf and spf.result == "pass" and aligned(spf.domain or mail_from_domain):
        return True, "verified by SPF"
    for dkim in auth.dkim:
        if dkim.result == "pass" and aligned(dkim.domain):
            return True, f"verified by DKIM (d={dkim.domain})"
    return False, f"not verified: no DMARC, SPF or DKIM pass aligned with {domain}"


def _client_ip(message: Message, protected: Protected | None) -> str | None:
    if message.client_ip:
        return message.client_ip
    return _hop(message.received_ips, protected)


def _tls(message: Message, protected: Protected | None) -> bool | None:
    if message.tls is not None:
        return message.tls
    return _hop(message.received_tls, protected)


def _hop(values: tuple[Any, ...], protected: Protected | None) -> Any:
    """The value `lookback_hops` deep in the Received chain (1 = the nearest hop)."""
    if not values:
        return None
    hops = protected.entry.lookback_hops if protected else 1
    return values[min(max(hops, 1), len(values)) - 1]
