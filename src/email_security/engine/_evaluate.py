"""evaluate: the decision for each recipient, step by step as docs/ENGINE.md states it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from email_security.engine._body import read_body
from email_security.engine._compile import (
    CompiledSettings,
    Identity,
    Lookalike,
    Protected,
    Restriction,
    SenderAddress,
)
from email_security.engine._model import (
    DISPOSITIONS,
    AllowPolicy,
    AuthResults,
    BlockedSender,
    ContentPolicy,
    Link,
    LinkIgnoredBy,
    Match,
    Message,
    RecipientVerdict,
    TrustedDomain,
    UrlIgnorePattern,
    Verdict,
)
from email_security.engine._names import (
    display_name_key,
    domain_key,
    domain_of,
    ip_value,
    organisational_domain,
)

__all__ = ["evaluate"]

_SEVERITY = {disposition: rank for rank, disposition in enumerate(DISPOSITIONS)}
_SEVERITY["MALICIOUS-BEC"] = _SEVERITY["MALICIOUS"]
_LIFTED_BY_ACCEPTABLE = frozenset({"SPAM", "SPOOF", "BULK"})
_SENDER_FIELDS = ("envelope_from", "header_from")
_MATCHED_FIELDS = (*_SENDER_FIELDS, "reply_to")  # then client_ip
_Entries = tuple[BlockedSender | AllowPolicy | TrustedDomain, ...]
_FieldMatches = list[tuple[str, _Entries]]
_ContentFound = tuple[tuple[ContentPolicy, str], ...]  # (policy, "subject" or "body")


@dataclass(slots=True)
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


@dataclass(slots=True)
class _Finding:
    """A detection: from upstream, or the engine's own (with the entry behind it)."""

    disposition: str
    attribute: str | None
    hit: _Hit | None = None
    lifted_by: str | None = None


@dataclass(slots=True)
class _Sender:
    """What the settings say of the message's senders: the same for every recipient."""

    addresses: dict[str, str]  # field -> normalised address
    domain: str | None  # the sender's domain: header From, else envelope from
    domain_field: str
    restrictions: list[tuple[str, str, Restriction]]  # (field, its domain, restriction)
    impersonated: tuple[Identity, ...]  # registry people whose name is used by another
    lookalike: Lookalike | None
    # Blocked senders, allow policies and trusted domains per address field, in field order.
    matches: list[tuple[str, _Entries]]
    detections: tuple[str, ...]  # upstream detections the engine knows
    new_domain: str | None  # the disposition of a young sender domain
    trusted: tuple[TrustedDomain, ...]  # matching the sender's domain
    quiet: bool  # nothing above matched or was found

    @classmethod
    def of(cls, message: Message, compiled: CompiledSettings) -> _Sender:
        found = {
            name: compiled.sender_address(value)
            for name in _MATCHED_FIELDS
            if (value := getattr(message, name))
        }
        addresses = {name: address for name, (address, _, _) in found.items()}
        domain_field = next((f for f in ("header_from", "envelope_from") if f in found), None)
        domain = found[domain_field][1] if domain_field else None
        lookalike = None
        if domain is not None and domain[3] is None:  # not in a protected domain
            lookalike = compiled.lookalikes.match(domain[0])
        age = message.sender_domain_age_days
        thresholds = compiled.thresholds
        new_domain = None
        if age is not None and age < thresholds.suspicious_days:
            new_domain = "MALICIOUS" if age < thresholds.malicious_days else "SUSPICIOUS"
        matches = [(name, entries) for name, (_, _, entries) in found.items()]
        restrictions = _restrictions(found)
        impersonated = _impersonated(message.header_from_name, addresses, compiled)
        detections = tuple(d for d in message.detections if d in _SEVERITY and d != "NONE")
        # A trusted domain matches the domain part of its field's address.
        trusted: tuple[TrustedDomain, ...] = ()
        if domain_field is not None:
            trusted = tuple(e for e in found[domain_field][2] if isinstance(e, TrustedDomain))
        quiet = not (
            restrictions
            or impersonated
            or lookalike
            or detections
            or new_domain
            or any(entries for _, entries in matches)
        )
        return cls(
            addresses=addresses,
            domain=domain[0] if domain else None,
            domain_field=domain_field or "header_from",
            restrictions=restrictions,
            impersonated=impersonated,
            lookalike=lookalike,
            matches=matches,
            detections=detections,
            new_domain=new_domain,
            trusted=trusted,
            quiet=quiet,
        )


def _restrictions(found: dict[str, SenderAddress]) -> list[tuple[str, str, Restriction]]:
    restrictions = []
    seen: set[tuple[str, str]] = set()
    for field_name in _SENDER_FIELDS:
        if field_name not in found:
            continue
        domain, _, domain_restrictions, _ = found[field_name][1]
        for restriction in domain_restrictions:
            # Each sender field counts on its own: an excluded envelope sender does not
            # excuse a From: in the restricted domain.
            if (restriction.entry.id, domain) not in seen:
                seen.add((restriction.entry.id, domain))
                restrictions.append((field_name, domain, restriction))
    return restrictions


def _impersonated(
    name: str | None, addresses: dict[str, str], compiled: CompiledSettings
) -> tuple[Identity, ...]:
    if not name:
        return ()
    identities = compiled.identities.get(display_name_key(name), ())
    address = addresses.get("header_from")
    if any(identity.uses(address) for identity in identities):
        return ()
    return tuple(identities)


def evaluate(message: Message, compiled: CompiledSettings, now: datetime | None = None) -> Verdict:
    """The verdict for every recipient of the message, with the entries in force at `now`
    (default: the present)."""
    if compiled.valid_until is not None:
        compiled = compiled.in_force(now or datetime.now(UTC))
    sender = _Sender.of(message, compiled)
    content: _ContentFound = ()
    links: tuple[Link, ...] = ()
    body_truncated = False
    if message.subject is not None or message.body is not None or message.body_html is not None:
        content, links, body_truncated = _read_content(message, compiled)
    # A recipient changes the decision only through the exempt-recipient policies it matches
    # and, by its protected domain, the client IP and TLS hop and the ip_restrictions:
    # recipients alike in these share one decision. drop_dispositions apply to each.
    decisions: dict[tuple[Any, ...], _Decided] = {}
    verdicts = []
    for text in message.recipients:
        recipient = compiled.recipient(text)
        protected = recipient.protected
        client_ip = _client_ip(message, protected)
        tls = _tls(message, protected)
        restricted = protected if protected is not None and protected.networks else None
        key = (recipient.exempt_key, client_ip, tls, id(restricted))
        decided = decisions.get(key)
        if decided is None:
            ip_matches = compiled.match_ip(client_ip) if client_ip else ()
            if (
                sender.quiet
                and not content
                and not ip_matches
                and not recipient.exempt
                and restricted is None
            ):
                decided = _NOTHING  # most mail: no step has anything to say
            else:
                decision = _Decision(
                    message, sender, content, recipient.exempt, client_ip, ip_matches, tls
                )
                decided = decision.decide(restricted)
            decisions[key] = decided
        verdicts.append(
            _recipient_verdict(
                recipient.address,
                protected.entry.id if protected else None,
                decided.disposition,
                decided.action(protected),
                decided.attributes,
                decided.matches,
                client_ip,
                decided.rewrite_links,
            )
        )
    verdict = Verdict.__new__(Verdict)  # as in _recipient_verdict
    verdict.settings_version = compiled.version
    verdict.recipients = tuple(verdicts)
    verdict.links = links
    verdict.body_truncated = body_truncated
    return verdict


def _read_content(
    message: Message, compiled: CompiledSettings
) -> tuple[_ContentFound, tuple[Link, ...], bool]:
    """Content policies found in the subject and body, the body's links, and whether the
    body text was cut: the same for every recipient."""
    found: list[tuple[ContentPolicy, str]] = []
    subject = message.subject
    if subject is not None and compiled.subject_policies:
        found += [(policy, "subject") for policy in compiled.subject_policies.match(subject)]
    if message.body is None and message.body_html is None:
        return tuple(found), (), False
    body_policies = compiled.body_policies
    body = read_body(
        message.body, message.body_html, compiled.thresholds.body_text_limit, bool(body_policies)
    )
    if body.text is not None and body_policies:
        found += [(policy, "body") for policy in body_policies.match(body.text)]
    ignores = compiled.url_ignore_patterns
    links = [_link(url, ignores.match(url) if ignores else []) for url in body.urls]
    return tuple(found), tuple(links), body.truncated


def _link(url: str, ignored_by: list[UrlIgnorePattern]) -> Link:
    """Link(...) without its __init__, as in _recipient_verdict; the first ignore pattern
    that full-matches the URL, in settings order, is named."""
    link = Link.__new__(Link)
    link.url = url
    link.rewrite = not ignored_by
    link.ignored_by = None
    if ignored_by:
        entry = ignored_by[0]
        named = LinkIgnoredBy.__new__(LinkIgnoredBy)
        named.id = entry.id
        named.pattern = entry.pattern
        link.ignored_by = named
    return link


def _recipient_verdict(
    recipient: str,
    protected_domain: str | None,
    disposition: str,
    action: str,
    attributes: tuple[str, ...],
    matches: tuple[Match, ...],
    client_ip: str | None,
    rewrite_links: bool,
) -> RecipientVerdict:
    """RecipientVerdict(...) without its __init__, which the dataclass module writes in
    Python even for a compiled class: set here, each field is a compiled store."""
    verdict = RecipientVerdict.__new__(RecipientVerdict)
    verdict.recipient = recipient
    verdict.protected_domain = protected_domain
    verdict.disposition = disposition
    verdict.action = action
    verdict.attributes = attributes
    verdict.matches = matches
    verdict.client_ip = client_ip
    verdict.rewrite_links = rewrite_links
    return verdict


@dataclass(slots=True)
class _Decided:
    disposition: str
    drop: bool  # a delivery restriction drops the message
    attributes: tuple[str, ...]
    matches: tuple[Match, ...]
    rewrite_links: bool  # false when a trusted sender or an exempt recipient decided

    def action(self, protected: Protected | None) -> str:
        """Step 9: what happens to the message for a recipient in this protected domain."""
        if self.drop:
            return "drop"
        if protected is not None and self.disposition in protected.entry.drop_dispositions:
            return "drop"
        if self.disposition in ("MALICIOUS", "MALICIOUS-BEC"):
            return "quarantine"
        return "deliver"


_NOTHING = _Decided("NONE", False, (), (), True)


class _Decision:
    def __init__(
        self,
        message: Message,
        sender: _Sender,
        content: _ContentFound,
        exempt: tuple[AllowPolicy, ...],
        client_ip: str | None,
        ip_matches: _Entries,
        tls: bool | None,
    ) -> None:
        self.message = message
        self.sender = sender
        self.content = content
        self.exempt = exempt
        self.client_ip = client_ip
        self.ip_matches = ip_matches
        self.tls = tls
        self.hits: list[_Hit] = []
        self.attributes: list[str] = []
        self.drop = False

    def decide(self, restricted: Protected | None) -> _Decided:
        """Steps 1 to 8; `restricted` is the protected domain when it has ip_restrictions."""
        self._sending_domain_restrictions()
        if restricted is not None:
            self._ip_restrictions(restricted)
        findings = self._findings()
        exempt = self._exempt_recipient()
        matches = self.sender.matches
        if self.client_ip:
            matches = [*matches, ("client_ip", self.ip_matches)]
        blocked = self._blocked_senders(matches, findings)
        content = self._content_policies(findings)
        blocked_by = _blocked_by(blocked, content)
        trusted, acceptable = self._sender_policies(matches, blocked_by, exempt)
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
        return _Decided(
            disposition,
            self.drop,
            tuple(dict.fromkeys(self.attributes)),
            tuple(hit.done() for hit in self.hits),
            exempt is None and trusted is None,
        )

    # --- 1 and 2: delivery restrictions ----------------------------------------------------

    def _sending_domain_restrictions(self) -> None:
        tls = self.tls
        for field_name, domain, restriction in self.sender.restrictions:
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

    def _ip_restrictions(self, protected: Protected) -> None:
        pattern = ",".join(protected.entry.ip_restrictions)
        hit = _Hit("domains", protected.entry, pattern, "client_ip")
        address = ip_value(self.client_ip) if self.client_ip else None  # (version, int, text)
        if address is None:
            hit.honored, hit.reason = False, "client IP unknown: ip_restrictions not enforced"
        elif protected.allows(address[0], address[1]):
            hit.reason = f"{address[2]} is inside ip_restrictions"
        else:
            hit.reason = f"{address[2]} is outside ip_restrictions: dropped"
            self.drop = True
            self.attributes.append("IP_RESTRICTION")
        self.hits.append(hit)

    # --- detections --------------------------------------------------------------------------

    def _findings(self) -> list[_Finding]:
        sender = self.sender
        findings = [_Finding(d, None) for d in sender.detections]
        address = sender.addresses.get("header_from")
        for identity in sender.impersonated:
            hit = _Hit(
                "impersonation_registry", identity.entry, identity.entry.name, "header_from_name"
            )
            hit.reason = (
                f"display name of {identity.entry.name} from {address}, not an address of theirs"
            )
            self.hits.append(hit)
            findings.append(_Finding("MALICIOUS-BEC", "BEC", hit))
        lookalike = sender.lookalike
        if lookalike is not None:
            target = lookalike.protected
            hit = _Hit("domains", target.entry, target.domain, sender.domain_field)
            hit.reason = f"{sender.domain} is a look-alike of {target.domain}: {lookalike.how}"
            self.hits.append(hit)
            findings.append(_Finding("SPOOF", f"LOOKALIKE={target.domain}", hit))
        if sender.new_domain is not None:
            findings.append(_Finding(sender.new_domain, "NEW_DOMAIN_SENDER"))
        return findings

    # --- 3 to 7: policies ------------------------------------------------------------------

    def _exempt_recipient(self) -> AllowPolicy | None:
        exempt = None
        for policy in self.exempt:
            hit = _Hit("allow_policies", policy, policy.pattern, "recipient")
            hit.reason = "exempt recipient: every detection bypassed"
            self.hits.append(hit)
            exempt = exempt or policy
        return exempt

    def _blocked_senders(self, matches: _FieldMatches, findings: list[_Finding]) -> bool:
        blocked = False
        for field_name, entries in matches:
            for entry in entries:
                if not isinstance(entry, BlockedSender):
                    continue
                hit = _Hit("block_senders", entry, entry.pattern, field_name)
                hit.reason = "blocked sender: MALICIOUS"
                self.hits.append(hit)
                findings.append(_Finding("MALICIOUS", "CUSTOM_BLOCK_LIST", hit))
                blocked = True
        return blocked

    def _content_policies(self, findings: list[_Finding]) -> ContentPolicy | None:
        """Step 4 too: the first content policy found, if any."""
        first = None
        for policy, field_name in self.content:
            hit = _Hit("content_policies", policy, policy.pattern, field_name)
            hit.reason = f'content policy "{policy.name}" found in the {field_name}: MALICIOUS'
            self.hits.append(hit)
            findings.append(_Finding("MALICIOUS", "CONTENT_POLICY", hit))
            first = first or policy
        return first

    def _sender_policies(
        self, matches: _FieldMatches, blocked_by: str | None, exempt: AllowPolicy | None
    ) -> tuple[AllowPolicy | None, AllowPolicy | None]:
        """`blocked_by` names what blocked the message at step 4, if anything did."""
        trusted = acceptable = None
        for field_name, policies in matches:
            if field_name == "reply_to":
                continue  # a Reply-To can be blocked, never allowed
            for policy in policies:
                if not isinstance(policy, AllowPolicy):
                    continue
                hit = _Hit("allow_policies", policy, policy.pattern, field_name)
                self.hits.append(hit)
                verified, why = _verified(policy, field_name, self.sender, self.message.auth)
                role = "trusted sender" if policy.is_trusted_sender else "acceptable sender"
                if not (policy.is_trusted_sender or policy.is_acceptable_sender):
                    hit.honored, hit.reason = False, "no action set on this policy"
                elif not verified:
                    hit.honored, hit.reason = False, why
                elif blocked_by is not None:
                    hit.honored, hit.reason = (
                        False,
                        f"{role}, but {blocked_by} matched too: block beats allow",
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
        for entry in self.sender.trusted:
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


def _blocked_by(blocked: bool, content: ContentPolicy | None) -> str | None:
    if content is None:
        return "a blocked sender" if blocked else None
    named = f'content policy "{content.name}"'
    return f"a blocked sender and {named}" if blocked else named


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
